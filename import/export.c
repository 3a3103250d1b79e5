/*
 * export.c: parcels from the store to GeoPackage, ESRI Shapefile and
 * GeoJSON (docs/export.md): the GeoPackage through gpkg_write.c (SQLite,
 * which says why), the others through GDAL/OGR.
 *
 * The survey coordinates are legal evidence (DESIGN.md): in the survey CRS
 * each parcel's stored source WKB goes into a GeoPackage byte for byte,
 * and to OGR as it is for the other formats, which writes its doubles
 * untouched (a Shapefile as binary doubles, GeoJSON with 17 significant
 * digits, which read back to the same double).
 * Nothing is reprojected unless --srs asks for another CRS; then the
 * engine's transformation (EPSG:6960 pinned) moves the points, never
 * GDAL's, and WGS 84 is the store's own WGS 84 geometry.
 *
 * The field names are those of the Vietnamese cadastral convention that
 * the importer's field map reads first (fieldmap.c), each at most 10
 * characters so that a DBF keeps them whole.
 */
#include "export.h"
#include "gpkg_write.h"
#include "imp.h"

#include <cpl_string.h>
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The WGS 84 the store keeps beside the survey geometry. */
#define EPSG_WGS84 4326
/* A DBF text field holds at most 254 bytes. */
#define DBF_TEXT_MAX 254
/* Parcels asked of the engine per page. */
#define PAGE_PARCELS 2000

/* The fields written, in order. width: a DBF's field width (0: none). */
enum {
    F_MAXA,
    F_MAXACU,
    F_SOTO,
    F_SOTHUA,
    F_LOAIDAT,
    F_DIENTICH,
    F_DIACHI,
    F_CHUSUDUNG,
    F_SOTOCU,
    F_SOTHUACU,
    F_SOHIEUGCN,
    F_TDBATDAU,
    F_TDKETTHUC,
    F_COUNT
};
static const struct {
    const char *name;  /* as in the file; <= 10 characters */
    OGRFieldType type; /* OGR's type */
    int width;         /* DBF width (Shapefile only) */
    int precision;     /* DBF decimals (Shapefile only) */
    int personal;      /* written only with --personal */
} fields[F_COUNT] = {
    [F_MAXA] = {"MaXa", OFTString, 5, 0},
    [F_MAXACU] = {"MaXaCu", OFTString, 5, 0},
    [F_SOTO] = {"SoTo", OFTString, 16, 0},
    [F_SOTHUA] = {"SoThua", OFTString, 16, 0},
    [F_LOAIDAT] = {"LoaiDat", OFTString, 64, 0},
    /* 24 characters with 15 decimals: GDAL's default for a real, and
     * enough digits to read back the same double for any area up to
     * 10^8 m^2 with two or more digits before the point. */
    [F_DIENTICH] = {"DienTich", OFTReal, 24, 15},
    [F_DIACHI] = {"DiaChi", OFTString, DBF_TEXT_MAX, 0},
    [F_CHUSUDUNG] = {"ChuSuDung", OFTString, DBF_TEXT_MAX, 0, 1},
    /* The national attribute set (docs/import.md): SoHieuGCN fits 10
     * characters and keeps its national name; the others are the short
     * forms the importer reads back (SoHieuToBanDoCu, SoThuTuThuaCu,
     * ThoiDiemBatDau and ThoiDiemKetThuc do not fit a DBF). Dates as text:
     * a DBF date holds no time of day. */
    [F_SOTOCU] = {"SoToCu", OFTString, 16, 0, 0},
    [F_SOTHUACU] = {"SoThuaCu", OFTString, 16, 0, 0},
    [F_SOHIEUGCN] = {"SoHieuGCN", OFTString, 64, 0, 1},
    [F_TDBATDAU] = {"TDBatDau", OFTString, 19, 0, 0},
    [F_TDKETTHUC] = {"TDKetThuc", OFTString, 19, 0, 0},
};

int pdbi_export_format_parse(const char *name)
{
    if (strcasecmp(name, "GPKG") == 0 || strcasecmp(name, "GeoPackage") == 0)
        return PDBI_EXPORT_GPKG;
    if (strcasecmp(name, "ESRI Shapefile") == 0 || strcasecmp(name, "shp") == 0 ||
        strcasecmp(name, "Shapefile") == 0)
        return PDBI_EXPORT_SHP;
    if (strcasecmp(name, "GeoJSON") == 0)
        return PDBI_EXPORT_GEOJSON;
    if (strcasecmp(name, "DXF") == 0)
        return PDBI_EXPORT_DXF;
    if (strcasecmp(name, "DGN") == 0)
        return PDBI_EXPORT_DGN;
    return -1;
}

const char *pdbi_export_format_name(pdbi_export_format f)
{
    switch (f) {
    case PDBI_EXPORT_GPKG:
        return "GPKG";
    case PDBI_EXPORT_SHP:
        return "ESRI Shapefile";
    case PDBI_EXPORT_GEOJSON:
        return "GeoJSON";
    case PDBI_EXPORT_DXF:
        return "DXF";
    case PDBI_EXPORT_DGN:
        return "DGN";
    }
    return "?";
}

/* One layer being written: the parcels of one commune in one CRS (GPKG,
 * Shapefile), or all of them (GeoJSON). */
typedef struct layer_slot {
    char commune[8]; /* its commune ("" for GeoJSON's one layer) */
    int srid;        /* the CRS of its geometries */
    OGRLayerH layer; /* owned by the dataset (NULL for a GeoPackage) */
    int gpkg_layer;  /* its number in the GeoPackage writer (GPKG only) */
} layer_slot;

/* A run's state. */
typedef struct export_run {
    pdbi_ctx *ic;                 /* errors go here */
    const pdbi_export_options *o; /* what was asked */
    GDALDatasetH ds;              /* the dataset under its temporary name (not GPKG) */
    pdbi_gpkg *gpkg;              /* the GeoPackage under its temporary name (GPKG) */
    layer_slot *slots;            /* layers created so far */
    size_t nslots, capslots;      /* used and allocated entries of slots */
    size_t last_slot;        /* the slot of the last parcel (parcels come commune by commune) */
    pdbi_export_result *res; /* ids written go here */
    size_t capids;           /* allocated entries of res->ids */
    double *xs, *ys, *zs;    /* a ring's points being transformed */
    size_t cappts;           /* allocated entries of each */
} export_run;

/* Normalises a date for pdb_page_query.at: a bare day means its end (the
 * parcels valid that day at closing time, as `extract --at` reads it); an
 * instant without milliseconds gets them. */
static pdb_status at_instant(pdbi_ctx *ic, const char *at, char out[32])
{
    int y, m, d, hh, mm, ss;
    size_t n = strlen(at);
    char tail[8];
    if (n == 10 && sscanf(at, "%4d-%2d-%2d", &y, &m, &d) == 3 && at[4] == '-' && at[7] == '-') {
        snprintf(out, 32, "%.10sT23:59:59.999Z", at);
        return PDB_OK;
    }
    if (n == 20 && sscanf(at, "%4d-%2d-%2dT%2d:%2d:%2d%1s", &y, &m, &d, &hh, &mm, &ss, tail) == 7 &&
        at[19] == 'Z') {
        snprintf(out, 32, "%.19s.000Z", at);
        return PDB_OK;
    }
    if (n == 24 && at[10] == 'T' && at[19] == '.' && at[23] == 'Z') {
        snprintf(out, 32, "%s", at);
        return PDB_OK;
    }
    return pdbi__fail(ic, PDB_EINVAL,
                      "--at %s: give a date YYYY-MM-DD or a UTC time YYYY-MM-DDTHH:MM:SSZ", at);
}

/* A new spatial reference for an EPSG code, in easting-first order (the
 * order the store keeps and the files get). */
static OGRSpatialReferenceH srs_for(pdbi_ctx *ic, int epsg, pdb_status *st)
{
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    if (OSRImportFromEPSG(srs, epsg) != OGRERR_NONE) {
        OSRDestroySpatialReference(srs);
        *st = pdbi__fail(ic, PDB_ECRS, "GDAL does not know EPSG:%d", epsg);
        return NULL;
    }
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
}

/* A GeoPackage layer through gpkg_write.c, with GDAL's own definition of
 * the CRS (what its driver wrote before) and the fields in their order. */
static int gpkg_layer_add(export_run *r, const char *name, int srid, pdb_status *st)
{
    OGRSpatialReferenceH srs = srs_for(r->ic, srid, st);
    if (srs == NULL)
        return -1;
    char *wkt = NULL;
    const char *columns[F_COUNT];
    pdbi_gpkg_type types[F_COUNT];
    int n = 0, layer = -1;
    for (int f = 0; f < F_COUNT; f++) {
        if (fields[f].personal && !r->o->personal)
            continue;
        columns[n] = fields[f].name;
        types[n++] = fields[f].type == OFTReal ? PDBI_GPKG_REAL : PDBI_GPKG_TEXT;
    }
    if (OSRExportToWkt(srs, &wkt) != OGRERR_NONE)
        *st = pdbi__fail(r->ic, PDB_ECRS, "GDAL cannot write EPSG:%d as WKT", srid);
    else
        *st = pdbi_gpkg_layer_add(r->gpkg, name, srid, OSRGetName(srs), wkt, columns, types, n,
                                  &layer);
    CPLFree(wkt);
    OSRDestroySpatialReference(srs);
    return *st == PDB_OK ? layer : -1;
}

/* The layer of (commune, srid), created on first use. */
static layer_slot *layer_for(export_run *r, const char *commune, int srid, pdb_status *st)
{
    const pdbi_export_options *o = r->o;
    int one_layer = o->format == PDBI_EXPORT_GEOJSON;
    int commune_seen = 0;
    layer_slot *last = r->nslots ? &r->slots[r->last_slot] : NULL;
    if (last != NULL && last->srid == srid && (one_layer || strcmp(last->commune, commune) == 0))
        return last;
    for (size_t i = 0; i < r->nslots; i++) {
        if (one_layer || strcmp(r->slots[i].commune, commune) == 0) {
            if (one_layer || r->slots[i].srid == srid) {
                r->last_slot = i;
                return &r->slots[i];
            }
            commune_seen = 1;
        }
    }
    char name[64];
    const char *prefix = o->format == PDBI_EXPORT_SHP ? "" : "ThuaDat_";
    if (one_layer)
        snprintf(name, sizeof name, "ThuaDat");
    else if (commune_seen) /* a commune whose parcels span two CRSs (history) */
        snprintf(name, sizeof name, "%s%s_%d", prefix, commune, srid);
    else
        snprintf(name, sizeof name, "%s%s", prefix, commune);

    OGRLayerH l = NULL;
    int gl = -1;
    if (o->format == PDBI_EXPORT_GPKG) {
        if ((gl = gpkg_layer_add(r, name, srid, st)) < 0)
            return NULL;
        goto add_slot;
    }
    OGRSpatialReferenceH srs = srs_for(r->ic, srid, st);
    if (srs == NULL)
        return NULL;
    char **lco = NULL;
    if (o->format == PDBI_EXPORT_SHP) {
        lco = CSLSetNameValue(lco, "ENCODING", "UTF-8"); /* and a .cpg that says so */
    } else if (o->format == PDBI_EXPORT_GEOJSON) {
        if (o->epsg == 0) {
            /* RFC 7946: WGS 84 lon/lat, exterior rings counter-clockwise;
             * 9 decimals of a degree are 0.1 mm. */
            lco = CSLSetNameValue(lco, "RFC7946", "YES");
            lco = CSLSetNameValue(lco, "COORDINATE_PRECISION", "9");
        } else {
            /* Any other CRS is named in the legacy "crs" member, and 17
             * significant digits read back to the very same doubles. */
            lco = CSLSetNameValue(lco, "SIGNIFICANT_FIGURES", "17");
        }
    }
    /* GPKG: "GEOMETRY", so that each parcel keeps the type it was surveyed
     * with (POLYGON or MULTIPOLYGON); the bytes are compared after a round
     * trip. A Shapefile's polygon type holds both. */
    OGRwkbGeometryType gt = o->format == PDBI_EXPORT_GPKG ? wkbUnknown : wkbPolygon;
    if (o->format == PDBI_EXPORT_GEOJSON)
        gt = wkbUnknown;
    l = GDALDatasetCreateLayer(r->ds, name, srs, gt, lco);
    CSLDestroy(lco);
    OSRDestroySpatialReference(srs);
    if (l == NULL) {
        *st = pdbi__fail(r->ic, PDB_EIO, "cannot create layer %s: %s", name, CPLGetLastErrorMsg());
        return NULL;
    }
    for (int f = 0; f < F_COUNT; f++) {
        if (fields[f].personal && !o->personal)
            continue;
        OGRFieldDefnH fd = OGR_Fld_Create(fields[f].name, fields[f].type);
        if (o->format == PDBI_EXPORT_SHP) {
            OGR_Fld_SetWidth(fd, fields[f].width);
            OGR_Fld_SetPrecision(fd, fields[f].precision);
        }
        OGRErr e = OGR_L_CreateField(l, fd, 0);
        OGR_Fld_Destroy(fd);
        if (e != OGRERR_NONE) {
            *st = pdbi__fail(r->ic, PDB_EIO, "cannot add field %s to layer %s: %s", fields[f].name,
                             name, CPLGetLastErrorMsg());
            return NULL;
        }
    }
add_slot:
    if (r->nslots == r->capslots) {
        size_t cap = r->capslots ? 2 * r->capslots : 16;
        layer_slot *s = realloc(r->slots, cap * sizeof *s);
        if (s == NULL) {
            *st = pdbi__fail(r->ic, PDB_ENOMEM, "out of memory");
            return NULL;
        }
        r->slots = s;
        r->capslots = cap;
    }
    layer_slot *s = &r->slots[r->nslots++];
    snprintf(s->commune, sizeof s->commune, "%s", one_layer ? "" : commune);
    s->srid = srid;
    s->layer = l;
    s->gpkg_layer = gl;
    r->last_slot = r->nslots - 1;
    r->res->nlayers++;
    return s;
}

/* Sets a text field; a Shapefile's DBF cannot hold more than the field's
 * width, and GDAL would cut it with a warning: refuse instead. */
static pdb_status set_text(export_run *r, OGRFeatureH ft, int f, const char *v, const pdb_parcel *p)
{
    if (v == NULL || v[0] == '\0')
        return PDB_OK;
    if (r->o->format == PDBI_EXPORT_SHP && strlen(v) > (size_t)fields[f].width)
        return pdbi__fail(
            r->ic, PDB_ELIMIT, "parcel %s/%s/%s: its %s is %zu bytes, more than a DBF field's %d",
            p->commune, p->sheet, p->parcel, fields[f].name, strlen(v), fields[f].width);
    OGR_F_SetFieldString(ft, OGR_F_GetFieldIndex(ft, fields[f].name), v);
    return PDB_OK;
}

/* Moves every point of a ring, polygon or multipolygon from one CRS to
 * another through the engine (EPSG:6960 between VN-2000 and WGS 84). */
static pdb_status transform_geom(export_run *r, OGRGeometryH g, int from, int to)
{
    int parts = OGR_G_GetGeometryCount(g);
    if (parts > 0) {
        for (int i = 0; i < parts; i++) {
            pdb_status st = transform_geom(r, OGR_G_GetGeometryRef(g, i), from, to);
            if (st != PDB_OK)
                return st;
        }
        return PDB_OK;
    }
    size_t n = (size_t)OGR_G_GetPointCount(g);
    if (n == 0)
        return PDB_OK;
    if (n > r->cappts) {
        double *x = realloc(r->xs, n * sizeof *x), *y = x ? realloc(r->ys, n * sizeof *y) : NULL,
               *z = y ? realloc(r->zs, n * sizeof *z) : NULL;
        if (x)
            r->xs = x;
        if (y)
            r->ys = y;
        if (z)
            r->zs = z;
        if (z == NULL)
            return pdbi__fail(r->ic, PDB_ENOMEM, "out of memory");
        r->cappts = n;
    }
    int is3d = OGR_G_Is3D(g);
    OGR_G_GetPoints(g, r->xs, sizeof(double), r->ys, sizeof(double), is3d ? r->zs : NULL,
                    sizeof(double));
    if (pdb_crs_transform(r->ic->db, from, to, r->xs, r->ys, n) != PDB_OK)
        return pdbi__fail_db(r->ic, "reprojecting");
    OGR_G_SetPoints(g, (int)n, r->xs, sizeof(double), r->ys, sizeof(double), is3d ? r->zs : NULL,
                    sizeof(double));
    return PDB_OK;
}

/* The geometry written for p, and its CRS. */
static pdb_status geometry_of(export_run *r, const pdb_parcel *p, OGRGeometryH *out, int *srid)
{
    int target = r->o->epsg;
    if (target == 0 && r->o->format == PDBI_EXPORT_GEOJSON)
        target = EPSG_WGS84;
    const unsigned char *wkb = p->source_wkb;
    size_t len = p->source_wkb_len;
    int from = p->source_srid;
    if (target == EPSG_WGS84) {
        wkb = p->wgs84_wkb; /* the store's own, as served */
        len = p->wgs84_wkb_len;
        from = EPSG_WGS84;
    }
    *out = NULL;
    if (wkb == NULL || len == 0)
        return pdbi__fail(r->ic, PDB_EGEOM, "parcel %s/%s/%s (id %lld) has no geometry", p->commune,
                          p->sheet, p->parcel, (long long)p->id);
    OGRGeometryH g = NULL;
    if (OGR_G_CreateFromWkb(wkb, NULL, &g, (int)len) != OGRERR_NONE)
        return pdbi__fail(r->ic, PDB_EGEOM,
                          "parcel %s/%s/%s (id %lld): GDAL cannot read its "
                          "geometry",
                          p->commune, p->sheet, p->parcel, (long long)p->id);
    *srid = from;
    if (target != 0 && target != from) {
        pdb_status st = transform_geom(r, g, from, target);
        if (st != PDB_OK) {
            OGR_G_DestroyGeometry(g);
            return st;
        }
        *srid = target;
    }
    *out = g;
    return PDB_OK;
}

pdb_status pdbi__export_add_id(pdbi_ctx *ic, pdbi_export_result *res, int64_t id)
{
    if (res->nids == res->capids) {
        size_t cap = res->capids ? 2 * res->capids : 4096;
        int64_t *ids = realloc(res->ids, cap * sizeof *ids);
        if (ids == NULL)
            return pdbi__fail(ic, PDB_ENOMEM, "out of memory");
        res->ids = ids;
        res->capids = cap;
    }
    res->ids[res->nids++] = id;
    return PDB_OK;
}

/* A parcel into the GeoPackage: in its survey CRS (or the store's WGS 84)
 * its stored WKB as it is, so the round trip stays bit-exact; in another
 * CRS the points moved by the engine (geometry_of), as ISO WKB. */
static pdb_status write_parcel_gpkg(export_run *r, const pdb_parcel *p)
{
    int target = r->o->epsg;
    const unsigned char *wkb = target == EPSG_WGS84 ? p->wgs84_wkb : p->source_wkb;
    size_t len = target == EPSG_WGS84 ? p->wgs84_wkb_len : p->source_wkb_len;
    int srid = target == EPSG_WGS84 ? EPSG_WGS84 : p->source_srid;
    unsigned char *moved = NULL;
    pdb_status st = PDB_OK;
    if (wkb == NULL || len == 0)
        return pdbi__fail(r->ic, PDB_EGEOM, "parcel %s/%s/%s (id %lld) has no geometry", p->commune,
                          p->sheet, p->parcel, (long long)p->id);
    if (target != 0 && target != srid) {
        OGRGeometryH g = NULL;
        if ((st = geometry_of(r, p, &g, &srid)) != PDB_OK)
            return st;
        len = (size_t)OGR_G_WkbSize(g);
        moved = malloc(len ? len : 1);
        if (moved == NULL || OGR_G_ExportToIsoWkb(g, wkbNDR, moved) != OGRERR_NONE)
            st = pdbi__fail(r->ic, PDB_ENOMEM, "parcel %s/%s/%s: cannot write its geometry",
                            p->commune, p->sheet, p->parcel);
        OGR_G_DestroyGeometry(g);
        wkb = moved;
    }
    layer_slot *l = st == PDB_OK ? layer_for(r, p->commune, srid, &st) : NULL;
    if (l != NULL) {
        const char *texts[F_COUNT] = {
            [F_MAXA] = p->commune,
            [F_MAXACU] = p->former_commune,
            [F_SOTO] = p->sheet,
            [F_SOTHUA] = p->parcel,
            [F_LOAIDAT] = p->landuse,
            [F_DIACHI] = p->address,
            [F_CHUSUDUNG] = p->owner,
            [F_SOTOCU] = p->prev_sheet,
            [F_SOTHUACU] = p->prev_parcel,
            [F_SOHIEUGCN] = p->certificate,
            [F_TDBATDAU] = p->record_start,
            [F_TDKETTHUC] = p->record_end,
        };
        pdbi_gpkg_value v[F_COUNT];
        int n = 0;
        for (int f = 0; f < F_COUNT; f++) {
            if (fields[f].personal && !r->o->personal)
                continue;
            /* An empty text is no value (null), as GDAL's driver wrote it. */
            v[n].text = texts[f] != NULL && texts[f][0] != '\0' ? texts[f] : NULL;
            /* No surveyed area stays no area (null, NaN here). */
            v[n++].real = f == F_DIENTICH ? p->area_surveyed_m2 : 0;
        }
        st = pdbi_gpkg_feature_add(r->gpkg, l->gpkg_layer, wkb, len, v);
        if (st == PDB_EGEOM)
            st = pdbi__fail(r->ic, PDB_EGEOM,
                            "parcel %s/%s/%s (id %lld): its geometry is not "
                            "well-formed WKB",
                            p->commune, p->sheet, p->parcel, (long long)p->id);
    }
    free(moved);
    if (st != PDB_OK)
        return st;
    return pdbi__export_add_id(r->ic, r->res, p->id);
}

static pdb_status write_parcel(export_run *r, const pdb_parcel *p)
{
    if (r->gpkg != NULL)
        return write_parcel_gpkg(r, p);
    OGRGeometryH g = NULL;
    int srid = 0;
    pdb_status st = geometry_of(r, p, &g, &srid);
    if (st != PDB_OK)
        return st;
    layer_slot *slot = layer_for(r, p->commune, srid, &st);
    if (slot == NULL) {
        OGR_G_DestroyGeometry(g);
        return st;
    }
    OGRLayerH l = slot->layer;
    OGRFeatureH ft = OGR_F_Create(OGR_L_GetLayerDefn(l));
    OGR_F_SetGeometryDirectly(ft, g);
    if ((st = set_text(r, ft, F_MAXA, p->commune, p)) != PDB_OK ||
        (st = set_text(r, ft, F_MAXACU, p->former_commune, p)) != PDB_OK ||
        (st = set_text(r, ft, F_SOTO, p->sheet, p)) != PDB_OK ||
        (st = set_text(r, ft, F_SOTHUA, p->parcel, p)) != PDB_OK ||
        (st = set_text(r, ft, F_LOAIDAT, p->landuse, p)) != PDB_OK ||
        (st = set_text(r, ft, F_DIACHI, p->address, p)) != PDB_OK ||
        (st = set_text(r, ft, F_SOTOCU, p->prev_sheet, p)) != PDB_OK ||
        (st = set_text(r, ft, F_SOTHUACU, p->prev_parcel, p)) != PDB_OK ||
        (st = set_text(r, ft, F_TDBATDAU, p->record_start, p)) != PDB_OK ||
        (st = set_text(r, ft, F_TDKETTHUC, p->record_end, p)) != PDB_OK ||
        (r->o->personal && (st = set_text(r, ft, F_CHUSUDUNG, p->owner, p)) != PDB_OK) ||
        (r->o->personal && (st = set_text(r, ft, F_SOHIEUGCN, p->certificate, p)) != PDB_OK))
        goto done;
    /* No surveyed area stays no area (null), as the survey gave it. */
    if (p->area_surveyed_m2 == p->area_surveyed_m2)
        OGR_F_SetFieldDouble(ft, OGR_F_GetFieldIndex(ft, fields[F_DIENTICH].name),
                             p->area_surveyed_m2);
    if (OGR_L_CreateFeature(l, ft) != OGRERR_NONE) {
        st = pdbi__fail(r->ic, PDB_EIO, "writing parcel %s/%s/%s: %s", p->commune, p->sheet,
                        p->parcel, CPLGetLastErrorMsg());
        goto done;
    }
    st = pdbi__export_add_id(r->ic, r->res, p->id);
done:
    OGR_F_Destroy(ft);
    return st;
}

/* What the engine reads for each parcel: only the geometry written (each
 * WKB read is a copy of a blob out of the store), and the owner only when
 * it is written. */
static unsigned read_flags(const pdbi_export_options *o)
{
    int wgs84 = o->epsg == EPSG_WGS84 || (o->epsg == 0 && o->format == PDBI_EXPORT_GEOJSON);
    return (wgs84 ? PDB_READ_WGS84 : PDB_READ_SOURCE) | (o->personal ? PDB_READ_PERSONAL : 0);
}

pdb_status pdbi__export_each(pdbi_ctx *ic, pdb_store *store, const pdbi_export_options *o,
                             const char *commune, const char *at, unsigned read_flags,
                             pdb_status (*fn)(void *arg, const pdb_parcel *p), void *arg)
{
    pdb_page_query q = {.limit = PAGE_PARCELS,
                        .commune = commune,
                        .sheet = o->sheet,
                        .at = at,
                        .has_bbox = o->has_bbox};
    memcpy(q.bbox, o->bbox, sizeof q.bbox);
    for (;;) {
        pdb_parcel_list *list = NULL;
        if (pdb_parcels_page(ic->db, store, &q, read_flags, &list) != PDB_OK)
            return pdbi__fail_db(ic, "reading the parcels");
        pdb_status st = PDB_OK;
        for (size_t i = 0; i < list->count && st == PDB_OK; i++)
            st = fn(arg, &list->items[i]);
        int more = list->truncated && list->count > 0;
        if (list->count > 0)
            q.after_id = list->items[list->count - 1].id;
        pdb_parcel_list_free(list);
        if (st != PDB_OK)
            return st;
        if (!more)
            return PDB_OK;
    }
}

static pdb_status write_one(void *arg, const pdb_parcel *p)
{
    return write_parcel(arg, p);
}

/* Removes a directory of plain files (a Shapefile set), or a file. */
static void remove_path(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (!S_ISDIR(sb.st_mode)) {
        unlink(path);
        return;
    }
    DIR *d = opendir(path);
    if (d != NULL) {
        struct dirent *e;
        char p[PATH_MAX];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(path);
}

/* The output's directory must exist: GDAL's message for it would not say
 * which directory is missing. */
static pdb_status check_parent(pdbi_ctx *ic, const char *out)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s", out) >= (int)sizeof dir)
        return pdbi__fail(ic, PDB_EINVAL, "-o: the path is too long");
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        return PDB_OK;
    if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return pdbi__fail(ic, PDB_EIO, "-o %s: the directory %s does not exist", out, dir);
    return PDB_OK;
}

/* The store's communes that o asks for, checked against the store. */
static pdb_status communes_of(pdbi_ctx *ic, pdb_store *store, const pdbi_export_options *o,
                              pdb_commune_list **list_out, const char ***codes, size_t *n)
{
    pdb_commune_list *list = NULL;
    *codes = NULL;
    *n = 0;
    if (pdb_communes_list(ic->db, store, &list) != PDB_OK)
        return pdbi__fail_db(ic, "reading the communes");
    size_t want = o->communes ? o->ncommunes : list->count;
    const char **c = calloc(want + 1, sizeof *c);
    if (c == NULL) {
        pdb_commune_list_free(list);
        return pdbi__fail(ic, PDB_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < want; i++) {
        if (o->communes == NULL) {
            c[i] = list->items[i].code;
            continue;
        }
        size_t k = 0;
        while (k < list->count && strcmp(list->items[k].code, o->communes[i]) != 0)
            k++;
        if (k == list->count) {
            free(c);
            pdb_commune_list_free(list);
            return pdbi__fail(ic, PDB_ENOTFOUND,
                              "commune %s is not in the store ('parceldb info' "
                              "lists its communes)",
                              o->communes[i]);
        }
        c[i] = list->items[k].code;
    }
    *list_out = list;
    *codes = c;
    *n = want;
    return PDB_OK;
}

pdb_status pdbi_export_write(pdbi_ctx *ic, pdb_store *store, const pdbi_export_options *o,
                             pdbi_export_result *res)
{
    pdb_status st;
    export_run r = {.ic = ic, .o = o, .res = res};
    pdb_commune_list *clist = NULL;
    const char **codes = NULL;
    size_t ncodes = 0;
    char at[32];

    memset(res, 0, sizeof *res);
    GDALAllRegister();
    /* GDAL's warnings would go to stderr as they come; failures are told
     * through the return codes, with CPLGetLastErrorMsg in the message. */
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
    pdb_crs_info info;
    if (o->at != NULL && (st = at_instant(ic, o->at, at)) != PDB_OK)
        goto done;
    if (o->epsg != 0 && o->epsg != EPSG_WGS84 &&
        pdb_crs_info_get(ic->db, o->epsg, &info) != PDB_OK) {
        st = pdbi__fail(ic, PDB_ECRS,
                        "--srs EPSG:%d: not a CRS the engine transforms to (VN-2000 TM-3, UTM or "
                        "geographic, or WGS 84)",
                        o->epsg);
        goto done;
    }
    if ((st = check_parent(ic, o->out_path)) != PDB_OK ||
        (st = communes_of(ic, store, o, &clist, &codes, &ncodes)) != PDB_OK)
        goto done;

    /* -o X.zip: the Shapefiles in one zip, which GDAL's driver writes
     * itself when the name ends in .shp.zip. */
    size_t olen = strlen(o->out_path);
    int zip =
        o->format == PDBI_EXPORT_SHP && olen > 4 && strcasecmp(o->out_path + olen - 4, ".zip") == 0;
    const char *ext = o->format == PDBI_EXPORT_GPKG      ? ".gpkg"
                      : o->format == PDBI_EXPORT_GEOJSON ? ".geojson"
                      : o->format == PDBI_EXPORT_DXF     ? ".dxf"
                      : o->format == PDBI_EXPORT_DGN     ? ".dgn"
                      : zip                              ? ".shp.zip"
                                                         : "";
    snprintf(res->out_path, sizeof res->out_path, "%s", o->out_path);
    if (snprintf(res->tmp_path, sizeof res->tmp_path, "%s.tmp%ld%s", o->out_path, (long)getpid(),
                 ext) >= (int)sizeof res->tmp_path) {
        st = pdbi__fail(ic, PDB_EINVAL, "-o: the path is too long");
        goto done;
    }
    res->is_dir = o->format == PDBI_EXPORT_SHP && !zip;
    remove_path(res->tmp_path); /* a run of the same pid that was killed */

    GDALDriverH drv = GDALGetDriverByName(pdbi_export_format_name(o->format));
    if (drv == NULL) {
        st = pdbi__fail(ic, PDB_EIO, "GDAL has no %s driver", pdbi_export_format_name(o->format));
        goto done;
    }
    if (o->format == PDBI_EXPORT_DXF || o->format == PDBI_EXPORT_DGN) {
        /* A sheet is one commune's drawing, in its survey coordinates. */
        if (ncodes != 1)
            st = pdbi__fail(ic, PDB_EINVAL, "a %s sheet holds one commune: give --commune",
                            pdbi_export_format_name(o->format));
        else if (o->epsg != 0)
            st =
                pdbi__fail(ic, PDB_EINVAL, "a %s sheet is drawn in the survey CRS: leave out --srs",
                           pdbi_export_format_name(o->format));
        else
            st = pdbi__export_sheets(ic, store, o, codes[0], o->at ? at : NULL, res);
        goto done;
    }
    if (res->is_dir && mkdir(res->tmp_path, 0777) != 0) {
        st = pdbi__fail(ic, PDB_EIO, "cannot create %s: %s", res->tmp_path, strerror(errno));
        goto done;
    }
    if (o->format == PDBI_EXPORT_GPKG) {
        /* Written straight with SQLite (gpkg_write.c says why). */
        if ((st = pdbi_gpkg_create(ic, res->tmp_path, &r.gpkg)) != PDB_OK)
            goto done;
    } else if ((r.ds = GDALCreate(drv, res->tmp_path, 0, 0, 0, GDT_Unknown, NULL)) == NULL) {
        st = pdbi__fail(ic, PDB_EIO, "cannot create %s: %s", o->out_path, CPLGetLastErrorMsg());
        goto done;
    }
    int in_tx = r.ds != NULL && GDALDatasetStartTransaction(r.ds, 0) == OGRERR_NONE;
    for (size_t i = 0; i < ncodes && st == PDB_OK; i++)
        st = pdbi__export_each(ic, store, o, codes[i], o->at ? at : NULL, read_flags(o), write_one,
                               &r);
    if (st == PDB_OK && res->nids == 0)
        st = pdbi__fail(ic, PDB_ENOTFOUND, "no parcels to export%s%s%s%s%s: nothing written",
                        o->communes && o->ncommunes == 1 ? " in commune " : "",
                        o->communes && o->ncommunes == 1 ? o->communes[0] : "",
                        o->sheet ? " on that sheet" : "", o->at ? " valid at " : "",
                        o->at ? o->at : "");
    if (r.gpkg != NULL) {
        if (st == PDB_OK)
            st = pdbi_gpkg_finish(r.gpkg);
        goto done;
    }
    if (st == PDB_OK && in_tx && GDALDatasetCommitTransaction(r.ds) != OGRERR_NONE)
        st = pdbi__fail(ic, PDB_EIO, "%s: %s", o->out_path, CPLGetLastErrorMsg());
    /* A Shapefile's headers are written at the close, which says nothing
     * (GDAL 3.6): its error is the sign. */
    CPLErrorReset();
    GDALClose(r.ds);
    r.ds = NULL;
    if (st == PDB_OK && CPLGetLastErrorType() >= CE_Failure)
        st = pdbi__fail(ic, PDB_EIO, "%s: %s", o->out_path, CPLGetLastErrorMsg());
done:
    CPLPopErrorHandler();
    pdbi_gpkg_free(r.gpkg);
    free(r.slots);
    free(r.xs);
    free(r.ys);
    free(r.zs);
    free(codes);
    pdb_commune_list_free(clist);
    if (st != PDB_OK) {
        remove_path(res->tmp_path);
        free(res->ids);
        memset(res, 0, sizeof *res);
    }
    return st;
}

pdb_status pdbi_export_finish(pdbi_ctx *ic, pdbi_export_result *res)
{
    struct stat sb;
    int exists = stat(res->out_path, &sb) == 0;
    if (!res->is_dir || !exists) {
        if (exists && res->is_dir != S_ISDIR(sb.st_mode)) {
            remove_path(res->tmp_path);
            return pdbi__fail(ic, PDB_EIO, "-o %s exists and is %s", res->out_path,
                              res->is_dir ? "not a directory" : "a directory");
        }
        if (rename(res->tmp_path, res->out_path) != 0) {
            int e = errno;
            remove_path(res->tmp_path);
            return pdbi__fail(ic, PDB_EIO, "cannot rename %s to %s: %s", res->tmp_path,
                              res->out_path, strerror(e));
        }
        res->finished = 1;
        return PDB_OK;
    }
    if (!S_ISDIR(sb.st_mode)) {
        remove_path(res->tmp_path);
        return pdbi__fail(ic, PDB_EIO, "-o %s exists and is not a directory", res->out_path);
    }
    /* Into an existing directory: each file set is whole when it appears,
     * file by file; those of other communes stay. */
    DIR *d = opendir(res->tmp_path);
    if (d == NULL) {
        remove_path(res->tmp_path);
        return pdbi__fail(ic, PDB_EIO, "%s: %s", res->tmp_path, strerror(errno));
    }
    struct dirent *e;
    char from[PATH_MAX + 512], to[PATH_MAX + 512]; /* a directory and a name */
    pdb_status st = PDB_OK;
    while ((e = readdir(d)) != NULL && st == PDB_OK) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(from, sizeof from, "%s/%s", res->tmp_path, e->d_name);
        snprintf(to, sizeof to, "%s/%s", res->out_path, e->d_name);
        if (rename(from, to) != 0)
            st = pdbi__fail(ic, PDB_EIO, "cannot rename %s to %s: %s", from, to, strerror(errno));
    }
    closedir(d);
    remove_path(res->tmp_path);
    res->finished = st == PDB_OK;
    return st;
}

void pdbi_export_discard(pdbi_export_result *res)
{
    if (!res->finished && res->tmp_path[0] != '\0')
        remove_path(res->tmp_path);
    free(res->ids);
    memset(res, 0, sizeof *res);
}
