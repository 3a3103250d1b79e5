/*
 * output.c: one commune's parcels written through GDAL/OGR in the chosen
 * format, with the per-file variants (field names, number and text
 * encodings, .cpg and .prj), then read back and checked (verify.c) and
 * described in <file>.manifest.json (manifest.c).
 */
#include "output.h"
#include "vnenc.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <ctype.h>
#include <errno.h>
#include <gdal.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Formats                                                                   */
/* ------------------------------------------------------------------------ */

static const struct {
    const char *name;   /* --format value */
    const char *driver; /* GDAL driver */
    const char *ext;    /* file extension */
} formats[FMT_COUNT] = {
    [FMT_SHP] = {"ESRI Shapefile", "ESRI Shapefile", "shp"},
    [FMT_GPKG] = {"GPKG", "GPKG", "gpkg"},
    [FMT_GEOJSON] = {"GeoJSON", "GeoJSON", "geojson"},
    [FMT_GEOJSON_LEGACY] = {"GeoJSON-legacy", "GeoJSON", "geojson"},
    [FMT_DXF] = {"DXF", "DXF", "dxf"},
    [FMT_DGN] = {"DGN", "DGN", "dgn"},
    [FMT_GML] = {"GML", "GML", "gml"},
    [FMT_KML] = {"KML", "KML", "kml"},
    [FMT_CSV] = {"CSV", "CSV", "csv"},
};

const char *synth_format_name(synth_format f)
{
    return formats[f].name;
}

const char *synth_format_ext(synth_format f)
{
    return formats[f].ext;
}

int synth_format_parse(const char *s, synth_format *out)
{
    for (int f = 0; f < FMT_COUNT; f++) {
        if (strcasecmp(s, formats[f].name) == 0 ||
            (f == FMT_SHP && (strcasecmp(s, "shp") == 0 || strcasecmp(s, "shapefile") == 0))) {
            *out = (synth_format)f;
            return 0;
        }
    }
    return -1;
}

static int is_cad(synth_format f)
{
    return f == FMT_DXF || f == FMT_DGN;
}

int synth_format_wgs84(synth_format f)
{
    return f == FMT_KML || f == FMT_GEOJSON;
}

/* ------------------------------------------------------------------------ */
/* Variants                                                                  */
/* ------------------------------------------------------------------------ */

static const char *const names_sheet[] = {"SoHieuToBanDo", "SHBANDO", "SHTOBD",
                                          "SoTo",          "ToBD",    "SoBanDo"};
static const char *const names_parcel[] = {"SoThuTuThua", "SHTHUA", "SoThua", "So_Thua", "Thua"};
static const char *const names_area[] = {"DienTich", "DienTichPL", "DTich", "Area", "Shape_Area"};
static const char *const names_landuse[] = {"KyHieuMucDichSuDung", "KHLoaiDat", "MaLoaiDat",
                                            "LoaiDat", "MDSD"};
static const char *const names_owner[] = {"TenChu", "HoTen", "Ho_Ten", "Chu"};
static const char *const names_address[] = {"DiaChi", "Dia_Chi"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

void synth_variant_choose(const synth_options *o, const synth_commune *c, synth_variant *v)
{
    synth_rng r;
    synth_rng_init(&r, o->seed, c->ref->code, 4);
    memset(v, 0, sizeof *v);

    const char *const *lists[FIELD_COUNT] = {NULL,       NULL,          names_sheet, names_parcel,
                                             names_area, names_landuse, names_owner, names_address};
    const size_t counts[FIELD_COUNT] = {0,
                                        0,
                                        N(names_sheet),
                                        N(names_parcel),
                                        N(names_area),
                                        N(names_landuse),
                                        N(names_owner),
                                        N(names_address)};
    int casing = 0; /* 0 as listed, 1 upper, 2 lower */
    if (o->names == NAMES_VARIANTS) {
        double u = synth_unif(&r);
        casing = u < 0.6 ? 0 : u < 0.9 ? 1 : 2;
    }
    for (int f = 0; f < FIELD_COUNT; f++) {
        const char *name = f == FIELD_COMMUNE ? "MaXa" : f == FIELD_FORMER ? "MaXaCu" : NULL;
        if (name == NULL) {
            size_t k = (o->names == NAMES_VARIANTS) ? synth_below(&r, counts[f]) : 0;
            name = lists[f][k];
        }
        snprintf(v->field[f], sizeof v->field[f], "%s", name);
        /* A DBF keeps 10 characters of a name; "truncated" writes those everywhere. */
        if (o->names == NAMES_TRUNCATED || o->format == FMT_SHP)
            v->field[f][10] = '\0';
        for (char *p = v->field[f]; *p && casing; p++)
            *p = (char)(casing == 1 ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
    }
    if (o->names == NAMES_VARIANTS) {
        v->numbers_as_text = synth_chance(&r, 0.3);
        double u = synth_unif(&r);
        v->area_text = u < 0.25 ? 1 : u < 0.35 ? 2 : 0;
    }

    /* Text encoding and .cpg: legacy bytes only in a DBF. */
    v->text_encoding = VNENC_UTF8;
    v->cpg[0] = '\0';
    if (o->format == FMT_SHP) {
        double u = synth_unif(&r);
        int enc = VNENC_UTF8, cpg_utf8 = 1;
        switch (o->encoding) {
        case ENC_OPT_UTF8:
            break;
        case ENC_OPT_TCVN3:
            enc = VNENC_TCVN3;
            break;
        case ENC_OPT_VNI:
            enc = VNENC_VNI;
            break;
        case ENC_OPT_MIXED:
            if (u < 0.40) {
                enc = VNENC_UTF8;
            } else if (u < 0.50) {
                enc = VNENC_UTF8;
                cpg_utf8 = 0; /* UTF-8 bytes, and nothing says so */
            } else {
                enc = (u < 0.75) ? VNENC_TCVN3 : VNENC_VNI;
            }
            break;
        }
        v->text_encoding = enc;
        if (enc == VNENC_UTF8 && cpg_utf8) {
            snprintf(v->cpg, sizeof v->cpg, "UTF-8");
        } else if (enc != VNENC_UTF8) {
            /* What such DBFs declare: Latin-1 one way or another, or nothing. */
            double w = synth_unif(&r);
            snprintf(v->cpg, sizeof v->cpg, "%s", w < 0.4 ? "1252" : w < 0.7 ? "LATIN1" : "");
        }
        if (o->no_cpg)
            v->cpg[0] = '\0';
        /* Without a .cpg, half the legacy DBFs still say "Windows ANSI" in
         * their language driver byte (0x57), which readers take as Latin-1. */
        if (enc != VNENC_UTF8 && v->cpg[0] == '\0' && synth_chance(&r, 0.5))
            v->ldid = 0x57;
    }
    v->has_crs = !o->no_prj && o->format != FMT_CSV && !is_cad(o->format);
    if (o->mixed_prj && synth_chance(&r, 0.2) && !synth_format_wgs84(o->format))
        v->has_crs = 0;
    if (synth_format_wgs84(o->format))
        v->has_crs = 1; /* KML and RFC 7946 GeoJSON are WGS 84 by definition */
    v->layer_crs_epsg = synth_format_wgs84(o->format) ? PDB_EPSG_WGS84 : c->epsg;
}

/* ------------------------------------------------------------------------ */
/* WKB                                                                       */
/* ------------------------------------------------------------------------ */

static int wkb_reserve(synth_wkb *w, size_t extra)
{
    if (w->n + extra <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : 1024;
    while (cap < w->n + extra)
        cap *= 2;
    unsigned char *p = realloc(w->p, cap);
    if (p == NULL)
        return -1;
    w->p = p;
    w->cap = cap;
    return 0;
}

static void wkb_u32(synth_wkb *w, uint32_t v)
{
    memcpy(w->p + w->n, &v, 4); /* little-endian hosts only (x86-64, arm64) */
    w->n += 4;
}

static void wkb_xy(synth_wkb *w, double x, double y)
{
    memcpy(w->p + w->n, &x, 8);
    memcpy(w->p + w->n + 8, &y, 8);
    w->n += 16;
}

static void wkb_header(synth_wkb *w, uint32_t type)
{
    w->p[w->n++] = 1; /* little-endian */
    wkb_u32(w, type);
}

void output_vertex(const output_ctx *oc, uint32_t k, double *x, double *y)
{
    const synth_commune *c = oc->c;
    if (oc->wx != NULL) {
        *x = oc->wx[k];
        *y = oc->wy[k];
    } else {
        *x = c->vx[k] + oc->nudge;
        *y = c->vy[k] + oc->nudge;
    }
}

/* Area centroid of a ring (falls back to the vertex mean when degenerate). */
static void ring_centroid(const output_ctx *oc, const synth_ring *r, double *cx, double *cy)
{
    const synth_commune *c = oc->c;
    const uint32_t *v = c->ring_vertices + r->off;
    double x0, y0, a = 0, sx = 0, sy = 0, mx = 0, my = 0;
    output_vertex(oc, v[0], &x0, &y0);
    for (uint32_t i = 0; i < r->n; i++) {
        double ax, ay, bx, by;
        output_vertex(oc, v[i], &ax, &ay);
        output_vertex(oc, v[(i + 1) % r->n], &bx, &by);
        ax -= x0, ay -= y0, bx -= x0, by -= y0;
        double cr = ax * by - bx * ay;
        a += cr;
        sx += (ax + bx) * cr;
        sy += (ay + by) * cr;
        mx += ax;
        my += ay;
    }
    if (fabs(a) < 1e-12) {
        *cx = x0 + mx / r->n;
        *cy = y0 + my / r->n;
    } else {
        *cx = x0 + sx / (3.0 * a);
        *cy = y0 + sy / (3.0 * a);
    }
}

int output_parcel_wkb(const output_ctx *oc, const synth_parcel *p, int force_multi, int geom_kind,
                      synth_wkb *w)
{
    const synth_commune *c = oc->c;
    w->n = 0;
    switch (geom_kind) {
    case DEF_NULL_GEOMETRY:
        return 0;
    case DEF_EMPTY_GEOMETRY:
        if (wkb_reserve(w, 9) != 0)
            return -1;
        wkb_header(w, 3);
        wkb_u32(w, 0);
        return 0;
    case DEF_POINT_GEOMETRY: {
        double x, y;
        if (wkb_reserve(w, 21) != 0)
            return -1;
        ring_centroid(oc, &c->rings[p->first_ring], &x, &y);
        wkb_header(w, 1);
        wkb_xy(w, x, y);
        return 0;
    }
    case DEF_LINE_GEOMETRY: {
        const synth_ring *r = &c->rings[p->first_ring];
        if (wkb_reserve(w, 9 + 16 * (size_t)r->n) != 0)
            return -1;
        wkb_header(w, 2);
        wkb_u32(w, r->n); /* the boundary, not closed */
        for (uint32_t i = 0; i < r->n; i++) {
            double x, y;
            output_vertex(oc, c->ring_vertices[r->off + i], &x, &y);
            wkb_xy(w, x, y);
        }
        return 0;
    }
    default:
        break;
    }
    size_t need = 9 + 9 * (size_t)p->nparts;
    for (uint16_t i = 0; i < p->nrings; i++)
        need += 4 + 16 * ((size_t)c->rings[p->first_ring + i].n + 1);
    if (wkb_reserve(w, need) != 0)
        return -1;
    int multi = force_multi || p->nparts > 1;
    if (multi) {
        wkb_header(w, 6);
        wkb_u32(w, p->nparts);
    }
    for (uint16_t part = 0; part < p->nparts; part++) {
        uint32_t nr = 0;
        for (uint16_t i = 0; i < p->nrings; i++)
            nr += c->rings[p->first_ring + i].part == part;
        wkb_header(w, 3);
        wkb_u32(w, nr);
        for (uint16_t i = 0; i < p->nrings; i++) {
            const synth_ring *r = &c->rings[p->first_ring + i];
            if (r->part != part)
                continue;
            wkb_u32(w, r->n + 1);
            for (uint32_t j = 0; j <= r->n; j++) {
                double x, y;
                output_vertex(oc, c->ring_vertices[r->off + j % r->n], &x, &y);
                wkb_xy(w, x, y);
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Attribute text                                                            */
/* ------------------------------------------------------------------------ */

/* "2159.6" as a Vietnamese number: "2.159,6". */
static void vn_decimal(double v, char *out, size_t cap)
{
    char digits[64];
    long long whole = (long long)floor(fabs(v) + 0.05);
    int tenth = (int)llround((fabs(v) - (double)whole) * 10.0);
    if (tenth >= 10) {
        whole++;
        tenth -= 10;
    }
    snprintf(digits, sizeof digits, "%lld", whole);
    size_t len = strlen(digits), k = 0;
    char buf[96];
    if (v < 0)
        buf[k++] = '-';
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[k++] = '.';
        buf[k++] = digits[i];
    }
    snprintf(buf + k, sizeof buf - k, ",%d", tenth);
    snprintf(out, cap, "%s", buf);
}

/* Sets a text field in the file's encoding; counts TCVN3 round-trip losses. */
static int set_text(output_ctx *oc, OGRFeatureH f, int idx, const char *utf8)
{
    if (oc->v->text_encoding == VNENC_UTF8) {
        OGR_F_SetFieldString(f, idx, utf8);
        return 0;
    }
    size_t len = 0;
    char *bytes = vnenc_from_utf8(utf8, (vnenc_kind)oc->v->text_encoding, &len);
    if (bytes == NULL)
        return -1;
    if (oc->v->text_encoding == VNENC_TCVN3) {
        char *back = vnenc_to_utf8(bytes, len, VNENC_TCVN3);
        if (back == NULL || strcmp(back, utf8) != 0)
            oc->lossy_this = 1;
        free(back);
    }
    OGR_F_SetFieldString(f, idx, bytes);
    free(bytes);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

static int fail(char *err, size_t errlen, const char *what, const char *path)
{
    const char *msg = CPLGetLastErrorMsg();
    snprintf(err, errlen, "%s %s: %s", what, path, (msg && *msg) ? msg : "GDAL failed");
    return -1;
}

static OGRSpatialReferenceH make_srs(int epsg)
{
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    if (srs == NULL)
        return NULL;
    if (OSRImportFromEPSG(srs, epsg) != OGRERR_NONE) {
        OSRDestroySpatialReference(srs);
        return NULL;
    }
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER); /* x = lon/easting */
    return srs;
}

/* Adds n fields at the end of the layer and records the names the driver
 * kept (a DBF launders and truncates) and their indices. */
static int add_fields(OGRLayerH layer, int n, const char *const *names, const OGRFieldType *types,
                      const int *widths, const int *precisions, char (*written)[32], int *index)
{
    for (int i = 0; i < n; i++) {
        OGRFieldDefnH fd = OGR_Fld_Create(names[i], types[i]);
        OGR_Fld_SetWidth(fd, widths[i]);
        OGR_Fld_SetPrecision(fd, precisions[i]);
        OGRErr e = OGR_L_CreateField(layer, fd, TRUE);
        OGR_Fld_Destroy(fd);
        if (e != OGRERR_NONE)
            return -1;
    }
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    int nf = OGR_FD_GetFieldCount(defn);
    for (int i = 0; i < n && i < nf; i++) {
        snprintf(written[i], sizeof written[i], "%s",
                 OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, nf - n + i)));
        index[i] = nf - n + i;
    }
    return 0;
}

/* --national: the national attribute set after the other fields. A DBF
 * gets the short forms (SoHieuToBanDoCu would be cut to the very
 * SoHieuToBa of the sheet field); the others the national names. */
static int create_national_fields(output_ctx *oc, OGRLayerH layer)
{
    static const char *const full[5] = {"SoHieuToBanDoCu", "SoThuTuThuaCu", "SoHieuGCN",
                                        "ThoiDiemBatDau", "ThoiDiemKetThuc"};
    static const char *const dbf[5] = {"SoToCu", "SoThuaCu", "SoHieuGCN", "TDBatDau", "TDKetThuc"};
    static const OGRFieldType types[5] = {OFTString, OFTString, OFTString, OFTString, OFTString};
    static const int widths[5] = {6, 6, 16, 19, 19}, precisions[5] = {0};
    return add_fields(layer, 5, oc->o->format == FMT_SHP ? dbf : full, types, widths, precisions,
                      oc->national_written, oc->national_index);
}

/* --national: a parcel's previous number (a re-survey's), its certificate
 * serial and the day its record began, from a stream of its own (the
 * other values keep their bytes); the start date written day first in
 * every other file's parcels, as Vietnamese documents write it. */
static void write_national(output_ctx *oc, OGRFeatureH f, const synth_parcel *p, size_t index)
{
    const int *ni = oc->national_index;
    char text[48];
    synth_rng r;
    synth_rng_init(&r, oc->o->seed, oc->c->ref->code, 3000000 + index);
    if (p->prev_number > 0) {
        snprintf(text, sizeof text, "%d", (int)p->prev_sheet);
        OGR_F_SetFieldString(f, ni[0], text);
        snprintf(text, sizeof text, "%d", (int)p->prev_number);
        OGR_F_SetFieldString(f, ni[1], text);
    }
    snprintf(text, sizeof text, "CS %06u", (unsigned)synth_below(&r, 1000000));
    OGR_F_SetFieldString(f, ni[2], text);
    int y = 2005 + (int)synth_below(&r, 18), m = 1 + (int)synth_below(&r, 12),
        d = 1 + (int)synth_below(&r, 28);
    if (index % 2)
        snprintf(text, sizeof text, "%02d/%02d/%04d", d, m, y);
    else
        snprintf(text, sizeof text, "%04d-%02d-%02d", y, m, d);
    OGR_F_SetFieldString(f, ni[3], text);
}

static int create_fields(output_ctx *oc, OGRLayerH layer)
{
    const synth_variant *v = oc->v;
    struct {
        int role;
        OGRFieldType type;
        int width, precision;
    } defs[FIELD_COUNT] = {
        {FIELD_COMMUNE, OFTString, 5, 0},
        {FIELD_FORMER, OFTString, 5, 0},
        {FIELD_SHEET, v->numbers_as_text ? OFTString : OFTInteger, v->numbers_as_text ? 6 : 4, 0},
        {FIELD_PARCEL, v->numbers_as_text ? OFTString : OFTInteger, v->numbers_as_text ? 6 : 5, 0},
        {FIELD_AREA, v->area_text ? OFTString : OFTReal, 12, v->area_text ? 0 : 1},
        {FIELD_LANDUSE, OFTString, 16, 0},
        {FIELD_OWNER, OFTString, 80, 0}, /* bytes: VNI needs up to twice the letters */
        {FIELD_ADDRESS, OFTString, 100, 0},
    };
    const char *names[FIELD_COUNT];
    OGRFieldType types[FIELD_COUNT];
    int widths[FIELD_COUNT], precisions[FIELD_COUNT];
    for (int i = 0; i < FIELD_COUNT; i++) {
        names[i] = v->field[defs[i].role];
        types[i] = defs[i].type;
        widths[i] = defs[i].width;
        precisions[i] = defs[i].precision;
    }
    if (add_fields(layer, FIELD_COUNT, names, types, widths, precisions, oc->field_written,
                   oc->field_index) != 0)
        return -1;
    return oc->o->national ? create_national_fields(oc, layer) : 0;
}

static int write_attributes(output_ctx *oc, OGRFeatureH f, const synth_parcel *p, size_t index)
{
    const synth_commune *c = oc->c;
    const synth_variant *v = oc->v;
    const int *fi = oc->field_index;
    char text[256];
    synth_rng r;

    synth_rng_init(&r, oc->o->seed, c->ref->code, 1000000 + index);
    OGR_F_SetFieldString(f, fi[FIELD_COMMUNE], c->ref->code);
    if (c->nformers > 1)
        OGR_F_SetFieldString(f, fi[FIELD_FORMER], c->formers[p->former]);
    else
        OGR_F_SetFieldNull(f, fi[FIELD_FORMER]);
    int nums[2] = {p->sheet, p->number};
    for (int k = 0; k < 2; k++) {
        int idx = fi[k == 0 ? FIELD_SHEET : FIELD_PARCEL];
        if (nums[k] <= 0) {
            if (v->numbers_as_text)
                OGR_F_SetFieldString(f, idx, "");
            else
                OGR_F_SetFieldNull(f, idx);
        } else if (v->numbers_as_text) {
            snprintf(text, sizeof text, "%d", nums[k]);
            OGR_F_SetFieldString(f, idx, text);
        } else {
            OGR_F_SetFieldInteger(f, idx, nums[k]);
        }
    }
    if (v->area_text == 1) {
        vn_decimal(p->surveyed_m2, text, sizeof text);
        OGR_F_SetFieldString(f, fi[FIELD_AREA], text);
    } else if (v->area_text == 2) {
        snprintf(text, sizeof text, "%.1f", p->surveyed_m2);
        OGR_F_SetFieldString(f, fi[FIELD_AREA], text);
    } else {
        OGR_F_SetFieldDouble(f, fi[FIELD_AREA], p->surveyed_m2);
    }
    OGR_F_SetFieldString(f, fi[FIELD_LANDUSE], p->landuse);
    synth_owner(&r, c, p, text, sizeof text);
    if (set_text(oc, f, fi[FIELD_OWNER], text) != 0)
        return -1;
    synth_address(c, p, text, sizeof text);
    if (set_text(oc, f, fi[FIELD_ADDRESS], text) != 0)
        return -1;
    oc->lossy_values += oc->lossy_this;
    oc->lossy_this = 0;
    if (oc->o->national)
        write_national(oc, f, p, index);
    return 0;
}

static int geom_kind_of(const synth_parcel *p)
{
    switch (p->defect) {
    case DEF_NULL_GEOMETRY:
    case DEF_EMPTY_GEOMETRY:
    case DEF_POINT_GEOMETRY:
    case DEF_LINE_GEOMETRY:
        return p->defect;
    default:
        return DEF_NONE;
    }
}

static int set_geometry(output_ctx *oc, OGRFeatureH f, const synth_parcel *p, int force_multi,
                        int kind)
{
    OGRGeometryH g = NULL;
    if (output_parcel_wkb(oc, p, force_multi, kind, &oc->wkb) != 0)
        return -1;
    if (oc->wkb.n == 0)
        return 0; /* null geometry */
    if (OGR_G_CreateFromWkbEx(oc->wkb.p, oc->srs, &g, oc->wkb.n) != OGRERR_NONE)
        return -1;
    OGR_F_SetGeometryDirectly(f, g);
    return 0;
}

/* The label CAD files carry: "sheet/parcel/land use/area" (empty fields
 * where the survey has none). */
static void cad_label(const synth_parcel *p, char *out, size_t cap)
{
    char sheet[16] = "", num[16] = "";
    if (p->sheet > 0)
        snprintf(sheet, sizeof sheet, "%d", p->sheet);
    if (p->number > 0)
        snprintf(num, sizeof num, "%d", p->number);
    snprintf(out, cap, "%s/%s/%s/%.1f", sheet, num, p->landuse, p->surveyed_m2);
}

static int write_cad(output_ctx *oc, OGRLayerH layer, const synth_parcel *p, size_t index)
{
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    const synth_commune *c = oc->c;
    int dgn = oc->o->format == FMT_DGN;
    char label[128];
    double lx, ly;
    int kind = geom_kind_of(p);

    cad_label(p, label, sizeof label);
    /* The boundary: one entity per part (the writers split multipolygons). */
    if (kind != DEF_POINT_GEOMETRY) {
        OGRFeatureH f = OGR_F_Create(defn);
        if (f == NULL || set_geometry(oc, f, p, 0, kind) != 0) {
            OGR_F_Destroy(f);
            return -1;
        }
        if (dgn) {
            OGR_F_SetFieldInteger(f, OGR_FD_GetFieldIndex(defn, "Level"), 10);
            OGR_F_SetFieldInteger(f, OGR_FD_GetFieldIndex(defn, "MSLink"), (int)index + 1);
        } else {
            OGR_F_SetFieldString(f, OGR_FD_GetFieldIndex(defn, "Layer"), "RANH_THUA");
        }
        OGRErr e = OGR_L_CreateFeature(layer, f);
        OGR_F_Destroy(f);
        if (e != OGRERR_NONE)
            return -1;
    }
    /* The label at the parcel's centroid (inside: the parcels are nearly convex). */
    ring_centroid(oc, &c->rings[p->first_ring], &lx, &ly);
    OGRFeatureH f = OGR_F_Create(defn);
    OGRGeometryH pt = OGR_G_CreateGeometry(wkbPoint);
    if (f == NULL || pt == NULL) {
        OGR_F_Destroy(f);
        OGR_G_DestroyGeometry(pt);
        return -1;
    }
    OGR_G_SetPoint_2D(pt, 0, lx, ly);
    OGR_F_SetGeometryDirectly(f, pt);
    char style[256];
    snprintf(style, sizeof style, "LABEL(f:\"Arial\",t:\"%s\",s:1.5g)", label);
    OGR_F_SetStyleString(f, style);
    if (dgn) {
        OGR_F_SetFieldInteger(f, OGR_FD_GetFieldIndex(defn, "Level"), 13);
        OGR_F_SetFieldInteger(f, OGR_FD_GetFieldIndex(defn, "MSLink"), (int)index + 1);
        OGR_F_SetFieldString(f, OGR_FD_GetFieldIndex(defn, "Text"), label);
    } else {
        OGR_F_SetFieldString(f, OGR_FD_GetFieldIndex(defn, "Layer"), "NHAN_THUA");
    }
    OGRErr e = OGR_L_CreateFeature(layer, f);
    OGR_F_Destroy(f);
    return e == OGRERR_NONE ? 0 : -1;
}

static int write_file(output_ctx *oc, char *err, size_t errlen)
{
    const synth_options *o = oc->o;
    const synth_commune *c = oc->c;
    const synth_variant *v = oc->v;
    GDALDriverH drv = GDALGetDriverByName(formats[o->format].driver);
    char **dsco = NULL, **lco = NULL;
    GDALDatasetH ds = NULL;
    OGRLayerH layer = NULL;
    int rc = -1, has_wrong_types = c->counts[DEF_POINT_GEOMETRY] + c->counts[DEF_LINE_GEOMETRY] > 0;
    const char *layer_name = "ThuaDat";
    OGRwkbGeometryType gtype = wkbUnknown;

    if (drv == NULL) {
        snprintf(err, errlen, "GDAL has no %s driver", formats[o->format].driver);
        return -1;
    }
    unlink(oc->path);
    switch (o->format) {
    case FMT_SHP:
        layer_name = c->ref->code;
        gtype = wkbPolygon;
        /* No recoding: the bytes given are the bytes written; the .cpg is ours. */
        lco = CSLSetNameValue(lco, "ENCODING", "");
        lco = CSLSetNameValue(lco, "DBF_DATE_LAST_UPDATE", "2025-07-01");
        break;
    case FMT_GPKG:
        gtype = has_wrong_types ? wkbUnknown : wkbMultiPolygon;
        break;
    case FMT_GEOJSON:
        layer_name = c->ref->code;
        lco = CSLSetNameValue(lco, "RFC7946", "YES");
        break;
    case FMT_GEOJSON_LEGACY:
        layer_name = c->ref->code;
        lco = CSLSetNameValue(lco, "RFC7946", "NO");
        lco = CSLSetNameValue(lco, "COORDINATE_PRECISION", "3"); /* survey millimetres */
        break;
    case FMT_GML:
        dsco = CSLSetNameValue(dsco, "FORMAT", "GML3.2");
        break;
    case FMT_CSV:
        layer_name = c->ref->code;
        lco = CSLSetNameValue(lco, "GEOMETRY", "AS_WKT");
        lco = CSLSetNameValue(lco, "CREATE_CSVT", "NO");
        break;
    case FMT_DGN: {
        /* Millimetre UORs: 32-bit integers then reach only 2,147 km from the
         * design origin, less than a northing, so the origin moves to the
         * commune's south-west corner. GDAL 3.6's DGN writer takes ORIGIN's y
         * with the opposite sign of what its reader applies, hence the minus;
         * and it truncates to whole UORs, hence the 0.4 mm nudge (vertex()).
         * verify.c reads a vertex back, so a change in either shows at once. */
        char origin[96];
        snprintf(origin, sizeof origin, "%.0f,%.0f,0", c->origin_e - 1000.0,
                 -(c->origin_n - c->height_m - 1000.0));
        oc->nudge = 0.0004;
        dsco = CSLSetNameValue(dsco, "3D", "NO");
        dsco = CSLSetNameValue(dsco, "MASTER_UNIT_NAME", "m");
        dsco = CSLSetNameValue(dsco, "SUB_UNIT_NAME", "mm");
        dsco = CSLSetNameValue(dsco, "SUB_UNITS_PER_MASTER_UNIT", "1000");
        dsco = CSLSetNameValue(dsco, "UOR_PER_SUB_UNIT", "1");
        dsco = CSLSetNameValue(dsco, "ORIGIN", origin);
        layer_name = "elements";
        break;
    }
    case FMT_DXF:
        layer_name = "entities";
        break;
    default:
        break;
    }
    ds = GDALCreate(drv, oc->path, 0, 0, 0, GDT_Unknown, dsco);
    if (ds == NULL) {
        fail(err, errlen, "cannot create", oc->path);
        goto done;
    }
    if (v->has_crs) {
        oc->srs = make_srs(v->layer_crs_epsg);
        if (oc->srs == NULL) {
            snprintf(err, errlen, "GDAL does not know EPSG:%d", v->layer_crs_epsg);
            goto done;
        }
    }
    layer = GDALDatasetCreateLayer(ds, layer_name, is_cad(o->format) ? NULL : oc->srs, gtype, lco);
    if (layer == NULL) {
        fail(err, errlen, "cannot create a layer in", oc->path);
        goto done;
    }
    if (!is_cad(o->format) && create_fields(oc, layer) != 0) {
        fail(err, errlen, "cannot create the fields of", oc->path);
        goto done;
    }
    snprintf(oc->layer_name, sizeof oc->layer_name, "%s", OGR_L_GetName(layer));
    if (GDALDatasetTestCapability(ds, ODsCTransactions))
        GDALDatasetStartTransaction(ds, FALSE);
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    if (o->sheets && synth_sheets_draw(oc, layer, err, errlen) != 0)
        goto done;
    for (size_t i = 0; !o->sheets && i < c->nparcels; i++) {
        const synth_parcel *p = &c->parcels[i];
        if (is_cad(o->format)) {
            if (write_cad(oc, layer, p, i) != 0) {
                fail(err, errlen, "cannot write a feature to", oc->path);
                goto done;
            }
            continue;
        }
        OGRFeatureH f = OGR_F_Create(defn);
        int bad = f == NULL ||
                  set_geometry(oc, f, p, o->format == FMT_GPKG && !has_wrong_types,
                               geom_kind_of(p)) != 0 ||
                  write_attributes(oc, f, p, i) != 0 ||
                  OGR_L_CreateFeature(layer, f) != OGRERR_NONE;
        OGR_F_Destroy(f);
        if (bad) {
            fail(err, errlen, "cannot write a feature to", oc->path);
            goto done;
        }
    }
    if (GDALDatasetTestCapability(ds, ODsCTransactions) &&
        GDALDatasetCommitTransaction(ds) != OGRERR_NONE) {
        fail(err, errlen, "cannot commit", oc->path);
        goto done;
    }
    rc = 0;
done:
    if (ds != NULL)
        GDALClose(ds);
    CSLDestroy(dsco);
    CSLDestroy(lco);
    return rc;
}

/* Sets the DBF's language driver byte (offset 29). */
static int write_ldid(const output_ctx *oc, char *err, size_t errlen)
{
    char path[1100];
    unsigned char b = (unsigned char)oc->v->ldid;
    snprintf(path, sizeof path, "%.*s.dbf", (int)(strlen(oc->path) - 4), oc->path);
    FILE *f = fopen(path, "r+b");
    int ok = f != NULL && fseek(f, 29, SEEK_SET) == 0 && fwrite(&b, 1, 1, f) == 1;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    if (!ok)
        snprintf(err, errlen, "cannot update %s: %s", path, strerror(errno));
    return ok ? 0 : -1;
}

/* The .cpg beside a DBF: written by us, so that its exact content is known. */
static int write_cpg(const output_ctx *oc, char *err, size_t errlen)
{
    char path[1100];
    snprintf(path, sizeof path, "%.*s.cpg", (int)(strlen(oc->path) - 4), oc->path);
    unlink(path);
    if (oc->v->cpg[0] == '\0')
        return 0;
    FILE *f = fopen(path, "w");
    int ok = f != NULL && fputs(oc->v->cpg, f) >= 0;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    if (!ok)
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    return ok ? 0 : -1;
}

int synth_output_write(pdb_ctx *ctx, GEOSContextHandle_t geos, const synth_options *o,
                       synth_commune *c, synth_file_result *res, char *err, size_t errlen)
{
    output_ctx oc;
    synth_variant v;
    int rc = -1;

    memset(&oc, 0, sizeof oc);
    oc.o = o;
    oc.c = c;
    oc.v = &v;
    oc.geos = geos;
    for (int i = 0; i < FIELD_COUNT; i++)
        oc.field_index[i] = -1;
    synth_variant_choose(o, c, &v);
    snprintf(oc.path, sizeof oc.path, "%s/%s.%s", o->out_dir, c->ref->code, formats[o->format].ext);
    snprintf(res->path, sizeof res->path, "%s", oc.path);

    if (synth_format_wgs84(o->format)) {
        /* Every vertex once through the project's one transformation. */
        oc.wx = malloc(c->nv * sizeof *oc.wx);
        oc.wy = malloc(c->nv * sizeof *oc.wy);
        if (oc.wx == NULL || oc.wy == NULL) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        memcpy(oc.wx, c->vx, c->nv * sizeof *oc.wx);
        memcpy(oc.wy, c->vy, c->nv * sizeof *oc.wy);
        if (pdb_crs_transform(ctx, c->epsg, PDB_EPSG_WGS84, oc.wx, oc.wy, c->nv) != PDB_OK) {
            snprintf(err, errlen, "commune %s: %s", c->ref->code, pdb_errmsg(ctx));
            goto done;
        }
    }
    if (write_file(&oc, err, errlen) != 0)
        goto done;
    if (o->format == FMT_SHP && write_cpg(&oc, err, errlen) != 0)
        goto done;
    if (o->format == FMT_SHP && write_ldid(&oc, err, errlen) != 0)
        goto done;
    if (o->format == FMT_SHP && !v.has_crs) {
        char prj[1100];
        snprintf(prj, sizeof prj, "%.*s.prj", (int)(strlen(oc.path) - 4), oc.path);
        unlink(prj);
    }
    if (!o->sheets && synth_verify_file(geos, &oc, err, errlen) != 0)
        goto done;
    if (!o->sheets && synth_manifest_write(&oc, err, errlen) != 0)
        goto done;
    res->features = oc.read.features;
    res->parcels = c->nparcels;
    rc = 0;
done:
    if (oc.srs)
        OSRDestroySpatialReference(oc.srs);
    free(oc.wx);
    free(oc.wy);
    free(oc.wkb.p);
    return rc;
}
