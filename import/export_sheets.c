/*
 * export_sheets.c: one commune as a line-and-label survey sheet in DGN v7
 * or DXF (docs/export.md), drawn as Vietnamese cadastral software draws
 * it and as import/sheets.c reads it back: every boundary once, as lines
 * on the boundary level (the parcels' rings noded by a GEOS unary union,
 * then merged into runs with GEOSLineMerge), the number, land-use code and
 * surveyed area of each parcel as texts on their levels at a point inside
 * each of its parts, and each sheet's outline on the frame level with
 * "Tờ số S" (and its former commune, "xã 08710") inside. The levels and
 * layers are the importer's default table (pdbi__sheet_default_level), not
 * a copy of it. Coordinates are the survey's (the file carries no CRS:
 * import it with --srs).
 */
#include "export.h"
#include "imp.h"
#include "imp_ogr.h"
#include "vnenc.h"

#include <cpl_string.h>
#include <gdal.h>
#include <geos_c.h>
#include <ogr_api.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A DGN v7 line string holds 101 vertices at most. */
#define DGN_MAX_POINTS 100

/* One parcel as drawn. */
typedef struct sheet_parcel {
    GEOSGeometry *geom; /* its source geometry (polygon or multipolygon), owned */
    char sheet[16];     /* its sheet number */
    char former[8];     /* its former commune, or "" */
    char number[16];    /* its parcel number */
    char landuse[64];   /* its land-use codes */
    double area_m2;     /* surveyed area, NAN when none */
} sheet_parcel;

/* A run's state. */
typedef struct sheet_run {
    pdbi_ctx *ic;            /* errors go here */
    GEOSContextHandle_t g;   /* GEOS, for this run */
    sheet_parcel *p;         /* the parcels */
    size_t n, cap;           /* used and allocated entries of p */
    int srid;                /* their survey CRS */
    int dgn;                 /* 1: DGN (levels, TCVN3 text), 0: DXF (layers, UTF-8) */
    OGRLayerH layer;         /* the one layer written */
    int level[5];            /* boundary, number, landuse, area, frame: DGN levels */
    char layer_name[5][32];  /* the same as DXF layers */
    double nudge_m;          /* DGN: half a unit of resolution (its writer truncates) */
    pdbi_export_result *res; /* ids written go here */
    GEOSWKBReader *reader;   /* the parcels' WKB into GEOS */
} sheet_run;

enum { R_BOUNDARY, R_NUMBER, R_LANDUSE, R_AREA, R_FRAME };
static const char *const roles[5] = {"boundary", "number", "landuse", "area", "frame"};

static void geos_quiet(const char *fmt, ...)
{
    (void)fmt; /* GEOS's notices: the failures are told by return values */
}

/* Writes one feature: geom (taken over) on a role's level or layer, with a
 * text when it is one. */
static pdb_status put(sheet_run *r, OGRGeometryH geom, int role, const char *text)
{
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(r->layer);
    OGRFeatureH f = OGR_F_Create(defn);
    OGR_F_SetGeometryDirectly(f, geom);
    if (text != NULL) {
        char style[256];
        snprintf(style, sizeof style, "LABEL(f:\"Arial\",t:\"%s\",s:1.5g)", text);
        OGR_F_SetStyleString(f, style);
    }
    if (r->dgn) {
        OGR_F_SetFieldInteger(f, OGR_FD_GetFieldIndex(defn, "Level"), r->level[role]);
        if (text != NULL)
            OGR_F_SetFieldString(f, OGR_FD_GetFieldIndex(defn, "Text"), text);
    } else {
        OGR_F_SetFieldString(f, OGR_FD_GetFieldIndex(defn, "Layer"), r->layer_name[role]);
    }
    OGRErr e = OGR_L_CreateFeature(r->layer, f);
    OGR_F_Destroy(f);
    if (e != OGRERR_NONE)
        return pdbi__fail(r->ic, PDB_EIO, "writing the sheet: %s", CPLGetLastErrorMsg());
    return PDB_OK;
}

static pdb_status put_text(sheet_run *r, double x, double y, int role, const char *text)
{
    OGRGeometryH pt = OGR_G_CreateGeometry(wkbPoint);
    OGR_G_SetPoint_2D(pt, 0, x + r->nudge_m, y + r->nudge_m);
    return put(r, pt, role, text);
}

/* A GEOS line string, in pieces a DGN line string holds. */
static pdb_status put_line(sheet_run *r, const GEOSGeometry *line, int role)
{
    const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(r->g, line);
    unsigned int n = 0;
    if (cs == NULL || GEOSCoordSeq_getSize_r(r->g, cs, &n) == 0)
        return pdbi__fail(r->ic, PDB_EGEOM, "GEOS cannot read a boundary line");
    for (unsigned int from = 0; from + 1 < n; from += DGN_MAX_POINTS - 1) {
        unsigned int to = from + DGN_MAX_POINTS - 1 < n - 1 ? from + DGN_MAX_POINTS - 1 : n - 1;
        OGRGeometryH ls = OGR_G_CreateGeometry(wkbLineString);
        for (unsigned int i = from; i <= to; i++) {
            double x, y;
            GEOSCoordSeq_getXY_r(r->g, cs, i, &x, &y);
            OGR_G_AddPoint_2D(ls, x + r->nudge_m, y + r->nudge_m);
        }
        pdb_status st = put(r, ls, role, NULL);
        if (st != PDB_OK)
            return st;
    }
    return PDB_OK;
}

/* Every line string of g (a line, a multi-line or a collection of them). */
static pdb_status put_lines(sheet_run *r, const GEOSGeometry *g, int role)
{
    int type = GEOSGeomTypeId_r(r->g, g);
    if (type == GEOS_LINESTRING || type == GEOS_LINEARRING)
        return put_line(r, g, role);
    int n = GEOSGetNumGeometries_r(r->g, g);
    for (int i = 0; i < n; i++) {
        pdb_status st = put_lines(r, GEOSGetGeometryN_r(r->g, g, i), role);
        if (st != PDB_OK)
            return st;
    }
    return PDB_OK;
}

/* The lines of geoms' boundaries, each shared stretch once, merged into
 * runs; NULL on failure. */
static GEOSGeometry *edges_of(sheet_run *r, GEOSGeometry *const *geoms, size_t n)
{
    GEOSGeometry **b = malloc((n ? n : 1) * sizeof *b);
    if (b == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if ((b[k] = GEOSBoundary_r(r->g, geoms[i])) != NULL)
            k++;
    GEOSGeometry *gc = GEOSGeom_createCollection_r(r->g, GEOS_GEOMETRYCOLLECTION, b, (unsigned)k);
    free(b); /* the collection owns the boundaries now */
    if (gc == NULL)
        return NULL;
    GEOSGeometry *noded = GEOSUnaryUnion_r(r->g, gc);
    GEOSGeom_destroy_r(r->g, gc);
    if (noded == NULL)
        return NULL;
    GEOSGeometry *merged = GEOSLineMerge_r(r->g, noded);
    GEOSGeom_destroy_r(r->g, noded);
    return merged;
}

/* A text in the file's encoding: DGN sheets carry TCVN3 bytes (.VnTime
 * fonts, as the software that makes them writes), DXF UTF-8. */
static pdb_status text_for(sheet_run *r, const char *utf8, char *out, size_t cap)
{
    if (!r->dgn) {
        snprintf(out, cap, "%s", utf8);
        return PDB_OK;
    }
    char *b = vnenc_from_utf8(utf8, VNENC_TCVN3, NULL);
    if (b == NULL)
        return pdbi__fail(r->ic, PDB_ELIMIT, "'%s' has no TCVN3 form", utf8);
    snprintf(out, cap, "%s", b);
    free(b);
    return PDB_OK;
}

/* The number, land use and area of parcel i, at a point inside each of its
 * parts (the importer joins the parts of one number into one parcel). */
static pdb_status draw_labels(sheet_run *r, const sheet_parcel *p)
{
    int parts = GEOSGetNumGeometries_r(r->g, p->geom);
    pdb_status st = PDB_OK;
    char area[40] = "";
    if (p->area_m2 == p->area_m2)
        snprintf(area, sizeof area, "%.10g", p->area_m2);
    for (int k = 0; k < parts && st == PDB_OK; k++) {
        GEOSGeometry *pos = GEOSPointOnSurface_r(r->g, GEOSGetGeometryN_r(r->g, p->geom, k));
        double x, y;
        if (pos == NULL || !GEOSGeomGetX_r(r->g, pos, &x) || !GEOSGeomGetY_r(r->g, pos, &y)) {
            GEOSGeom_destroy_r(r->g, pos);
            return pdbi__fail(r->ic, PDB_EGEOM, "parcel %s/%s: no point inside it", p->sheet,
                              p->number);
        }
        GEOSGeom_destroy_r(r->g, pos);
        st = put_text(r, x, y, R_NUMBER, p->number);
        if (st == PDB_OK && p->landuse[0])
            st = put_text(r, x, y, R_LANDUSE, p->landuse);
        if (st == PDB_OK && area[0])
            st = put_text(r, x, y, R_AREA, area);
    }
    return st;
}

/* Each sheet (of each former commune) outlined on the frame level, its
 * text "Tờ số S[ xã FORMER]" inside each piece of the outline. */
static pdb_status draw_frames(sheet_run *r)
{
    unsigned char *done = calloc(r->n ? r->n : 1, 1);
    GEOSGeometry **members = malloc((r->n ? r->n : 1) * sizeof *members);
    pdb_status st = PDB_OK;
    if (done == NULL || members == NULL) {
        free(done);
        free(members);
        return pdbi__fail(r->ic, PDB_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->n && st == PDB_OK; i++) {
        if (done[i])
            continue;
        unsigned int m = 0;
        for (size_t j = i; j < r->n; j++)
            if (!done[j] && strcmp(r->p[j].sheet, r->p[i].sheet) == 0 &&
                strcmp(r->p[j].former, r->p[i].former) == 0) {
                done[j] = 1;
                members[m++] = GEOSGeom_clone_r(r->g, r->p[j].geom);
            }
        GEOSGeometry *gc = GEOSGeom_createCollection_r(r->g, GEOS_GEOMETRYCOLLECTION, members, m);
        GEOSGeometry *u = gc ? GEOSUnaryUnion_r(r->g, gc) : NULL;
        GEOSGeometry *outline = u ? GEOSBoundary_r(r->g, u) : NULL;
        char utf8[96], text[96];
        /* "Tờ số 12 xã 08710" */
        snprintf(utf8, sizeof utf8, "T\xe1\xbb\x9d s\xe1\xbb\x91 %s%s%s", r->p[i].sheet,
                 r->p[i].former[0] ? " x\xc3\xa3 " : "", r->p[i].former);
        if (outline == NULL)
            st = pdbi__fail(r->ic, PDB_EGEOM, "sheet %s: GEOS cannot outline it", r->p[i].sheet);
        if (st == PDB_OK)
            st = text_for(r, utf8, text, sizeof text);
        if (st == PDB_OK)
            st = put_lines(r, outline, R_FRAME);
        for (int k = 0; st == PDB_OK && k < GEOSGetNumGeometries_r(r->g, u); k++) {
            GEOSGeometry *pos = GEOSPointOnSurface_r(r->g, GEOSGetGeometryN_r(r->g, u, k));
            double x = 0, y = 0;
            if (pos != NULL && GEOSGeomGetX_r(r->g, pos, &x) && GEOSGeomGetY_r(r->g, pos, &y))
                st = put_text(r, x, y, R_FRAME, text);
            GEOSGeom_destroy_r(r->g, pos);
        }
        GEOSGeom_destroy_r(r->g, gc);
        GEOSGeom_destroy_r(r->g, u);
        GEOSGeom_destroy_r(r->g, outline);
    }
    free(done);
    free(members);
    return st;
}

static pdb_status add_parcel(void *arg, const pdb_parcel *p)
{
    sheet_run *r = arg;
    if (r->srid == 0)
        r->srid = p->source_srid;
    if (p->source_srid != r->srid)
        return pdbi__fail(r->ic, PDB_EINVAL,
                          "the commune's parcels are in two CRSs (EPSG:%d and EPSG:%d); a sheet "
                          "has one: export them apart with --at",
                          r->srid, p->source_srid);
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 1024;
        sheet_parcel *np = realloc(r->p, cap * sizeof *np);
        if (np == NULL)
            return pdbi__fail(r->ic, PDB_ENOMEM, "out of memory");
        r->p = np;
        r->cap = cap;
    }
    sheet_parcel *s = &r->p[r->n];
    memset(s, 0, sizeof *s);
    s->geom = GEOSWKBReader_read_r(r->g, r->reader, p->source_wkb, p->source_wkb_len);
    if (s->geom == NULL)
        return pdbi__fail(r->ic, PDB_EGEOM, "parcel %s/%s/%s: GEOS cannot read its geometry",
                          p->commune, p->sheet, p->parcel);
    snprintf(s->sheet, sizeof s->sheet, "%s", p->sheet);
    snprintf(s->former, sizeof s->former, "%s", p->former_commune ? p->former_commune : "");
    snprintf(s->number, sizeof s->number, "%s", p->parcel);
    snprintf(s->landuse, sizeof s->landuse, "%s", p->landuse ? p->landuse : "");
    s->area_m2 = p->area_surveyed_m2;
    r->n++;
    return pdbi__export_add_id(r->ic, r->res, p->id);
}

/* Creates the file: DGN v7 in metres with millimetre units, every point
 * rounded to the millimetre (the design origin at the commune's south-west
 * corner: its 32-bit coordinates reach about 2,147 km in millimetres, less
 * than a northing); DXF as GDAL writes it, with full doubles. */
static GDALDatasetH create_file(sheet_run *r, const char *path)
{
    GDALDriverH drv = GDALGetDriverByName(r->dgn ? "DGN" : "DXF");
    if (drv == NULL) {
        pdbi__fail(r->ic, PDB_EIO, "GDAL has no %s driver", r->dgn ? "DGN" : "DXF");
        return NULL;
    }
    char **dsco = NULL;
    if (r->dgn) {
        double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
        for (size_t i = 0; i < r->n; i++) {
            double a, b, c, d;
            if (GEOSGeom_getXMin_r(r->g, r->p[i].geom, &a) &&
                GEOSGeom_getYMin_r(r->g, r->p[i].geom, &b) &&
                GEOSGeom_getXMax_r(r->g, r->p[i].geom, &c) &&
                GEOSGeom_getYMax_r(r->g, r->p[i].geom, &d)) {
                x0 = fmin(x0, a), y0 = fmin(y0, b), x1 = fmax(x1, c), y1 = fmax(y1, d);
            }
        }
        /* One unit of resolution per millimetre: GDAL 3.6's DGN writer
         * wraps the 32 bits of easting at any finer unit (found by writing
         * 2, 5, 10 and reading back). A commune must then fit in 2,147 km
         * around the origin, which every commune does. */
        double extent_mm = (fmax(x1 - x0, y1 - y0) + 2000.0) * 1000.0;
        int uor = 1;
        if (extent_mm > 2.0e9) {
            pdbi__fail(r->ic, PDB_ELIMIT,
                       "the commune spans %.0f km: too wide for one DGN v7 sheet", extent_mm / 1e6);
            return NULL;
        }
        /* GDAL 3.6's DGN writer truncates to whole units and takes
         * ORIGIN's y with the opposite sign of its reader's
         * (samples/synth/output.c found both): half a unit added to every
         * point rounds instead. */
        r->nudge_m = 0.5 / (uor * 1000.0);
        char origin[96], u[16];
        snprintf(origin, sizeof origin, "%.0f,%.0f,0", floor(x0) - 1000.0, -(floor(y0) - 1000.0));
        snprintf(u, sizeof u, "%d", uor);
        dsco = CSLSetNameValue(dsco, "3D", "NO");
        dsco = CSLSetNameValue(dsco, "MASTER_UNIT_NAME", "m");
        dsco = CSLSetNameValue(dsco, "SUB_UNIT_NAME", "mm");
        dsco = CSLSetNameValue(dsco, "SUB_UNITS_PER_MASTER_UNIT", "1000");
        dsco = CSLSetNameValue(dsco, "UOR_PER_SUB_UNIT", u);
        dsco = CSLSetNameValue(dsco, "ORIGIN", origin);
    }
    GDALDatasetH ds = GDALCreate(drv, path, 0, 0, 0, GDT_Unknown, dsco);
    CSLDestroy(dsco);
    if (ds == NULL) {
        pdbi__fail(r->ic, PDB_EIO, "cannot create %s: %s", path, CPLGetLastErrorMsg());
        return NULL;
    }
    r->layer = GDALDatasetCreateLayer(ds, r->dgn ? "elements" : "entities", NULL, wkbUnknown, NULL);
    if (r->layer == NULL) {
        pdbi__fail(r->ic, PDB_EIO, "%s: %s", path, CPLGetLastErrorMsg());
        GDALClose(ds);
        return NULL;
    }
    return ds;
}

pdb_status pdbi__export_sheets(pdbi_ctx *ic, pdb_store *store, const pdbi_export_options *o,
                               const char *commune, const char *at, pdbi_export_result *res)
{
    sheet_run r = {.ic = ic, .dgn = o->format == PDBI_EXPORT_DGN, .res = res};
    GDALDatasetH ds = NULL;
    pdb_status st = PDB_OK;

    for (int k = 0; k < 5; k++)
        if (pdbi__sheet_default_level(roles[k], &r.level[k], r.layer_name[k],
                                      sizeof r.layer_name[k]) != 0)
            return pdbi__fail(ic, PDB_EINVAL, "no default level for %s", roles[k]);
    if ((r.g = GEOS_init_r()) == NULL)
        return pdbi__fail(ic, PDB_ENOMEM, "GEOS failed to start");
    GEOSContext_setNoticeHandler_r(r.g, geos_quiet);
    GEOSContext_setErrorHandler_r(r.g, geos_quiet);
    if ((r.reader = GEOSWKBReader_create_r(r.g)) == NULL) {
        st = pdbi__fail(ic, PDB_ENOMEM, "out of memory");
        goto done;
    }
    if ((st = pdbi__export_each(ic, store, o, commune, at, PDB_READ_SOURCE, add_parcel, &r)) !=
        PDB_OK)
        goto done;
    if (r.n == 0) {
        st = pdbi__fail(
            ic, PDB_ENOTFOUND, "no parcels to export in commune %s%s%s%s: nothing written", commune,
            o->sheet ? " on that sheet" : "", o->at ? " valid at " : "", o->at ? o->at : "");
        goto done;
    }
    if ((ds = create_file(&r, res->tmp_path)) == NULL) {
        st = pdbi_errcode(ic);
        goto done;
    }
    GEOSGeometry **geoms = malloc(r.n * sizeof *geoms);
    if (geoms == NULL) {
        st = pdbi__fail(ic, PDB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < r.n; i++)
        geoms[i] = r.p[i].geom;
    GEOSGeometry *edges = edges_of(&r, geoms, r.n);
    free(geoms);
    if (edges == NULL) {
        st = pdbi__fail(ic, PDB_EGEOM, "GEOS cannot node the parcels' boundaries");
        goto done;
    }
    st = put_lines(&r, edges, R_BOUNDARY);
    GEOSGeom_destroy_r(r.g, edges);
    for (size_t i = 0; i < r.n && st == PDB_OK; i++)
        st = draw_labels(&r, &r.p[i]);
    if (st == PDB_OK)
        st = draw_frames(&r);
    res->nlayers = 1;
done:
    if (ds != NULL) {
        CPLErrorReset();
        GDALClose(ds); /* says nothing in GDAL 3.6: its error is the sign */
        if (st == PDB_OK && CPLGetLastErrorType() >= CE_Failure)
            st = pdbi__fail(ic, PDB_EIO, "%s: %s", res->tmp_path, CPLGetLastErrorMsg());
    }
    for (size_t i = 0; i < r.n; i++)
        GEOSGeom_destroy_r(r.g, r.p[i].geom);
    free(r.p);
    if (r.reader != NULL)
        GEOSWKBReader_destroy_r(r.g, r.reader);
    GEOS_finish_r(r.g);
    return st;
}
