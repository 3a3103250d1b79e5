/*
 * sheets.c: --sheets lines. A commune drawn the way cadastral software
 * (Famis, TMV.Map, ViLIS) draws a survey sheet: the parcels' boundaries as
 * lines, each shared edge once (the union of every ring's line work, merged
 * between nodes), the edges of road (DGT) and canal (DTL) parcels on the
 * road and water levels; per parcel three texts near its middle on their own
 * levels (DGN) or layers (DXF): number, land-use code, area; per sheet its
 * outline (the outline of its parcels, one a block) on the frame level with
 * a text "Tờ số N xã CODE" in each (CODE: the former commune, the commune
 * itself when it was not merged; TCVN3 bytes in DGN). Planted defects, one each, with their
 * ground truth in <file>.sheets.json: a 5 cm gap (a shared boundary line
 * shortened), a 0.5 m overshoot, a missing number, a doubled number, a
 * number split in two texts. The levels follow import/sheets.c's default.
 */
#include "output.h"
#include "vnenc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Levels (DGN) and layers (DXF): docs/import.md, "Line-and-label sheets". */
enum {
    LV_BOUNDARY = 10,
    LV_NUMBER = 13,
    LV_LANDUSE = 14,
    LV_AREA = 15,
    LV_ROAD = 23,
    LV_WATER = 28,
    LV_FRAME = 63
};

#define GAP_M 0.05         /* the planted gap */
#define OVERSHOOT_M 0.5    /* the planted overshoot */
#define DGN_MAX_POINTS 100 /* a DGN v7 line string holds 101 vertices at most */

static const char *layer_of(int level)
{
    switch (level) {
    case LV_BOUNDARY:
        return "RANH_THUA";
    case LV_NUMBER:
        return "SO_THUA";
    case LV_LANDUSE:
        return "LOAI_DAT";
    case LV_AREA:
        return "DIEN_TICH";
    case LV_ROAD:
        return "GIAO_THONG";
    case LV_WATER:
        return "THUY_HE";
    default:
        return "KHUNG";
    }
}

typedef struct sheet_ctx {
    output_ctx *oc;
    OGRLayerH layer;
    int dgn;
    GEOSContextHandle_t g;
    GEOSGeometry **poly; /* per parcel, NULL when not drawn */
    size_t lines;        /* boundary line features written */
    FILE *truth;         /* the .sheets.json being written */
    int ndefects;        /* entries written to it */
} sheet_ctx;

static int put_feature(sheet_ctx *s, OGRGeometryH geom, int level, const char *text)
{
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(s->layer);
    OGRFeatureH f = OGR_F_Create(defn);
    if (f == NULL) {
        OGR_G_DestroyGeometry(geom);
        return -1;
    }
    OGR_F_SetGeometryDirectly(f, geom);
    if (text != NULL) {
        char style[256];
        snprintf(style, sizeof style, "LABEL(f:\"Arial\",t:\"%s\",s:1.5g)", text);
        OGR_F_SetStyleString(f, style);
    }
    if (s->dgn) {
        OGR_F_SetFieldInteger(f, OGR_FD_GetFieldIndex(defn, "Level"), level);
        if (text != NULL)
            OGR_F_SetFieldString(f, OGR_FD_GetFieldIndex(defn, "Text"), text);
    } else {
        OGR_F_SetFieldString(f, OGR_FD_GetFieldIndex(defn, "Layer"), layer_of(level));
    }
    OGRErr e = OGR_L_CreateFeature(s->layer, f);
    OGR_F_Destroy(f);
    return e == OGRERR_NONE ? 0 : -1;
}

static int put_text(sheet_ctx *s, double x, double y, int level, const char *text)
{
    OGRGeometryH pt = OGR_G_CreateGeometry(wkbPoint);
    if (pt == NULL)
        return -1;
    OGR_G_SetPoint_2D(pt, 0, x, y);
    return put_feature(s, pt, level, text);
}

/* Writes a GEOS line string (in pieces of DGN_MAX_POINTS vertices). */
static int put_line(sheet_ctx *s, const GEOSGeometry *line, int level)
{
    const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(s->g, line);
    unsigned int n = 0;
    if (cs == NULL || GEOSCoordSeq_getSize_r(s->g, cs, &n) == 0)
        return -1;
    for (unsigned int from = 0; from + 1 < n; from += DGN_MAX_POINTS - 1) {
        unsigned int to = from + DGN_MAX_POINTS - 1 < n - 1 ? from + DGN_MAX_POINTS - 1 : n - 1;
        OGRGeometryH ls = OGR_G_CreateGeometry(wkbLineString);
        for (unsigned int i = from; i <= to; i++) {
            double x, y;
            GEOSCoordSeq_getXY_r(s->g, cs, i, &x, &y);
            OGR_G_AddPoint_2D(ls, x, y);
        }
        if (put_feature(s, ls, level, NULL) != 0)
            return -1;
        if (level != LV_FRAME)
            s->lines++;
    }
    return 0;
}

static int put_lines(sheet_ctx *s, const GEOSGeometry *g, int level)
{
    int n = GEOSGetNumGeometries_r(s->g, g);
    if (GEOSGeomTypeId_r(s->g, g) == GEOS_LINESTRING)
        return put_line(s, g, level);
    for (int i = 0; i < n; i++)
        if (put_lines(s, GEOSGetGeometryN_r(s->g, g, i), level) != 0)
            return -1;
    return 0;
}

static GEOSGeometry *ring_geom(sheet_ctx *s, const synth_ring *r, int as_line)
{
    const synth_commune *c = s->oc->c;
    GEOSCoordSequence *cs = GEOSCoordSeq_create_r(s->g, r->n + 1, 2);
    for (uint32_t i = 0; i <= r->n; i++) {
        double x, y;
        output_vertex(s->oc, c->ring_vertices[r->off + i % r->n], &x, &y);
        GEOSCoordSeq_setXY_r(s->g, cs, i, x, y);
    }
    return as_line ? GEOSGeom_createLineString_r(s->g, cs) : GEOSGeom_createLinearRing_r(s->g, cs);
}

/* The parcel's polygon (a multipolygon for two parts). */
static GEOSGeometry *parcel_geom(sheet_ctx *s, const synth_parcel *p)
{
    const synth_commune *c = s->oc->c;
    GEOSGeometry *parts[8];
    int nparts = 0;
    for (uint16_t part = 0; part < p->nparts && part < 8; part++) {
        GEOSGeometry *shell = NULL, *holes[64];
        unsigned int nholes = 0;
        for (uint16_t k = 0; k < p->nrings; k++) {
            const synth_ring *r = &c->rings[p->first_ring + k];
            if (r->part != part)
                continue;
            if (!r->hole)
                shell = ring_geom(s, r, 0);
            else if (nholes < 64)
                holes[nholes++] = ring_geom(s, r, 0);
        }
        if (shell != NULL)
            parts[nparts++] = GEOSGeom_createPolygon_r(s->g, shell, holes, nholes);
    }
    if (nparts == 0)
        return NULL;
    if (nparts == 1)
        return parts[0];
    return GEOSGeom_createCollection_r(s->g, GEOS_MULTIPOLYGON, parts, (unsigned int)nparts);
}

static int contains_xy(sheet_ctx *s, const GEOSGeometry *poly, double x, double y)
{
    GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(s->g, x, y);
    int in = pt != NULL && GEOSContains_r(s->g, poly, pt) == 1;
    GEOSGeom_destroy_r(s->g, pt);
    return in;
}

/* The parcel whose interior holds (x, y), or -1. */
static long parcel_at(sheet_ctx *s, double x, double y)
{
    for (size_t i = 0; i < s->oc->c->nparcels; i++)
        if (s->poly[i] != NULL && contains_xy(s, s->poly[i], x, y))
            return (long)i;
    return -1;
}

static void truth_parcel(sheet_ctx *s, long i, const char *sep)
{
    const synth_commune *c = s->oc->c;
    const synth_parcel *p = &c->parcels[i];
    fprintf(s->truth, "%s{\"former_commune\": \"%s\", \"sheet\": %d, \"parcel\": %d}", sep,
            c->formers[p->former], p->sheet, p->number);
}

/* Opens one ground-truth entry; the caller adds the parcels and closes it. */
static void truth_open(sheet_ctx *s, const char *kind, double x, double y, double metres)
{
    fprintf(s->truth, "%s\n    {\"kind\": \"%s\", \"x\": %.3f, \"y\": %.3f", s->ndefects ? "," : "",
            kind, x, y);
    if (metres > 0)
        fprintf(s->truth, ", \"metres\": %.2f", metres);
    fprintf(s->truth, ", \"parcels\": [");
    s->ndefects++;
}

/* Moves the end (at_end) or start of a line by d metres along its end
 * segment (negative: shortens). Picks an edge between two parcels (gap) or
 * whose moved end lies inside a parcel (overshoot); its parcels go to used.
 * Returns the line index or -1. */
static int plant_end(sheet_ctx *s, GEOSGeometry **lines, int n, int first, double d,
                     const char *kind, unsigned char *used)
{
    for (int k = 0; k < n; k++) {
        int li = (first + k) % n;
        const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(s->g, lines[li]);
        unsigned int np = 0;
        double ax, ay, bx, by;
        if (cs == NULL || !GEOSCoordSeq_getSize_r(s->g, cs, &np) || np < 2)
            continue;
        GEOSCoordSeq_getXY_r(s->g, cs, np - 2, &ax, &ay);
        GEOSCoordSeq_getXY_r(s->g, cs, np - 1, &bx, &by);
        double len = hypot(bx - ax, by - ay);
        if (len < 1.0)
            continue;
        double ux = (bx - ax) / len, uy = (by - ay) / len;
        double mx = (ax + bx) / 2, my = (ay + by) / 2;
        long left = parcel_at(s, mx - uy * 0.2, my + ux * 0.2);
        long right = parcel_at(s, mx + uy * 0.2, my - ux * 0.2);
        long inside = d > 0 ? parcel_at(s, bx + ux * d, by + uy * d) : -1;
        if (left < 0 || right < 0 || left == right || used[left] || used[right])
            continue;
        if (d > 0 && (inside < 0 || used[inside]))
            continue;
        /* A gap moves the end back; an overshoot goes on past the node. */
        unsigned int nn = d > 0 ? np + 1 : np;
        GEOSCoordSequence *moved = GEOSCoordSeq_create_r(s->g, nn, 2);
        for (unsigned int i = 0; i < np; i++) {
            double x, y;
            GEOSCoordSeq_getXY_r(s->g, cs, i, &x, &y);
            GEOSCoordSeq_setXY_r(s->g, moved, i, x, y);
        }
        GEOSCoordSeq_setXY_r(s->g, moved, nn - 1, bx + ux * d, by + uy * d);
        GEOSGeometry *nl = GEOSGeom_createLineString_r(s->g, moved);
        if (nl == NULL)
            return -1;
        GEOSGeom_destroy_r(s->g, lines[li]);
        lines[li] = nl;
        used[left] = used[right] = 1;
        truth_open(s, kind, bx, by, fabs(d));
        truth_parcel(s, left, "");
        truth_parcel(s, right, ", ");
        if (inside >= 0) {
            used[inside] = 1;
            if (inside != left && inside != right)
                truth_parcel(s, inside, ", ");
        }
        fprintf(s->truth, "]}");
        return li;
    }
    return -1;
}

/* The rings of the parcels of a land use (roads DGT, canals DTL), prepared
 * (p NULL when none). */
typedef struct edge_set {
    GEOSGeometry *g;
    const GEOSPreparedGeometry *p;
} edge_set;

static edge_set edges_of(sheet_ctx *s, const char *landuse)
{
    const synth_commune *c = s->oc->c;
    GEOSGeometry **rings = malloc((c->nrings ? c->nrings : 1) * sizeof *rings);
    edge_set e = {NULL, NULL};
    unsigned int n = 0;
    if (rings == NULL)
        return e;
    for (size_t i = 0; i < c->nparcels; i++)
        if (s->poly[i] != NULL && strncmp(c->parcels[i].landuse, landuse, 3) == 0)
            for (uint16_t k = 0; k < c->parcels[i].nrings; k++)
                rings[n++] = ring_geom(s, &c->rings[c->parcels[i].first_ring + k], 1);
    e.g = n ? GEOSGeom_createCollection_r(s->g, GEOS_MULTILINESTRING, rings, n) : NULL;
    free(rings);
    e.p = e.g ? GEOSPrepare_r(s->g, e.g) : NULL;
    return e;
}

static void edges_free(sheet_ctx *s, edge_set *e)
{
    if (e->p != NULL)
        GEOSPreparedGeom_destroy_r(s->g, e->p);
    GEOSGeom_destroy_r(s->g, e->g);
}

/* 1 when the middle of the line's first segment lies on those rings: the
 * edge of a road or canal parcel, drawn on its level as the sheets do. */
static int on_edges(sheet_ctx *s, const edge_set *e, const GEOSGeometry *line)
{
    const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(s->g, line);
    double ax, ay, bx, by, d = 1;
    if (e->p == NULL || cs == NULL || !GEOSCoordSeq_getXY_r(s->g, cs, 0, &ax, &ay) ||
        !GEOSCoordSeq_getXY_r(s->g, cs, 1, &bx, &by))
        return 0;
    GEOSGeometry *mid = GEOSGeom_createPointFromXY_r(s->g, (ax + bx) / 2, (ay + by) / 2);
    int ok = mid != NULL && GEOSPreparedDistance_r(s->g, e->p, mid, &d) == 1 && d < 1e-6;
    GEOSGeom_destroy_r(s->g, mid);
    return ok;
}

/* The boundary line work: every ring once, noded and merged between nodes;
 * with the gap and the overshoot planted. */
static int draw_boundaries(sheet_ctx *s, unsigned char *used)
{
    const synth_commune *c = s->oc->c;
    GEOSGeometry **rings = malloc((c->nrings ? c->nrings : 1) * sizeof *rings);
    size_t nr = 0;
    int rc = -1;
    if (rings == NULL)
        return -1;
    for (size_t i = 0; i < c->nparcels; i++) {
        const synth_parcel *p = &c->parcels[i];
        if (s->poly[i] == NULL)
            continue;
        for (uint16_t k = 0; k < p->nrings; k++)
            rings[nr++] = ring_geom(s, &c->rings[p->first_ring + k], 1);
    }
    GEOSGeometry *all =
        GEOSGeom_createCollection_r(s->g, GEOS_MULTILINESTRING, rings, (unsigned int)nr);
    free(rings);
    GEOSGeometry *noded = all ? GEOSUnaryUnion_r(s->g, all) : NULL;
    GEOSGeometry *merged = noded ? GEOSLineMerge_r(s->g, noded) : NULL;
    GEOSGeom_destroy_r(s->g, all);
    GEOSGeom_destroy_r(s->g, noded);
    if (merged == NULL)
        return -1;
    int n = GEOSGetNumGeometries_r(s->g, merged);
    GEOSGeometry **lines = calloc((size_t)(n ? n : 1), sizeof *lines);
    if (lines == NULL)
        goto done;
    for (int i = 0; i < n; i++)
        lines[i] = GEOSGeom_clone_r(s->g, GEOSGetGeometryN_r(s->g, merged, i));
    if (n > 0) {
        plant_end(s, lines, n, n / 3, -GAP_M, "gap", used);
        plant_end(s, lines, n, (2 * n) / 3, OVERSHOOT_M, "overshoot", used);
    }
    rc = 0;
    /* Road and canal edges on their levels; every other edge a boundary. */
    edge_set road = edges_of(s, "DGT"), water = edges_of(s, "DTL");
    for (int i = 0; i < n && rc == 0; i++)
        rc = put_line(s, lines[i],
                      on_edges(s, &road, lines[i])    ? LV_ROAD
                      : on_edges(s, &water, lines[i]) ? LV_WATER
                                                      : LV_BOUNDARY);
    edges_free(s, &road);
    edges_free(s, &water);
    for (int i = 0; i < n; i++)
        GEOSGeom_destroy_r(s->g, lines[i]);
    free(lines);
done:
    GEOSGeom_destroy_r(s->g, merged);
    return rc;
}

enum { LBL_PLAIN, LBL_MISSING, LBL_DOUBLED, LBL_SPLIT };

/* The three texts of a parcel, with one of the label defects. */
static int draw_part_labels(sheet_ctx *s, size_t i, const GEOSGeometry *part, int defect)
{
    const synth_parcel *p = &s->oc->c->parcels[i];
    GEOSGeometry *pos = GEOSPointOnSurface_r(s->g, part);
    double x, y, d = 0;
    char num[16], area[32];
    if (pos == NULL || GEOSGeomGetX_r(s->g, pos, &x) == 0 || GEOSGeomGetY_r(s->g, pos, &y) == 0) {
        GEOSGeom_destroy_r(s->g, pos);
        return -1;
    }
    GEOSGeom_destroy_r(s->g, pos);
    /* Land use below the number, area above, as far apart as the parcel allows. */
    for (double t = 1.2; t > 0.1 && d == 0; t /= 2)
        if (contains_xy(s, part, x, y - t) && contains_xy(s, part, x, y + t))
            d = t;
    snprintf(num, sizeof num, "%d", p->number);
    snprintf(area, sizeof area, "%.1f", p->surveyed_m2);
    int rc = 0;
    if (defect == LBL_SPLIT) {
        size_t half = strlen(num) / 2;
        char head[16];
        snprintf(head, sizeof head, "%.*s", (int)half, num);
        rc |= put_text(s, x - 0.3, y, LV_NUMBER, head);
        rc |= put_text(s, x + 0.3, y, LV_NUMBER, num + half);
    } else if (defect != LBL_MISSING) {
        rc |= put_text(s, x, y, LV_NUMBER, num);
    }
    if (defect == LBL_DOUBLED)
        rc |= put_text(s, x + d / 2, y + d / 2, LV_NUMBER, num);
    rc |= put_text(s, x, y - d, LV_LANDUSE, p->landuse);
    rc |= put_text(s, x, y + d, LV_AREA, area);
    if (defect != LBL_PLAIN) {
        static const char *const kinds[] = {"", "missing-number", "doubled-number", "split-number"};
        truth_open(s, kinds[defect], x, y, 0);
        truth_parcel(s, (long)i, "");
        fprintf(s->truth, "]}");
    }
    return rc ? -1 : 0;
}

/* A parcel in two parts (cut by a canal) has its texts in each, as the
 * sheets draw it; the importer makes one parcel of the parts. */
static int draw_labels(sheet_ctx *s, size_t i, int defect)
{
    int n = GEOSGetNumGeometries_r(s->g, s->poly[i]);
    for (int k = 0; k < n; k++)
        if (draw_part_labels(s, i, GEOSGetGeometryN_r(s->g, s->poly[i], k),
                             k == 0 ? defect : LBL_PLAIN) != 0)
            return -1;
    return 0;
}

/* Each sheet's outline on the frame level, and its "To so N" text. */
static int draw_frames(sheet_ctx *s)
{
    const synth_commune *c = s->oc->c;
    GEOSGeometry **members = malloc((c->nparcels ? c->nparcels : 1) * sizeof *members);
    int rc = 0;
    if (members == NULL)
        return -1;
    for (int f = 0; f < c->nformers && rc == 0; f++) {
        for (int sheet = 1; rc == 0; sheet++) {
            unsigned int n = 0;
            for (size_t i = 0; i < c->nparcels; i++)
                if (s->poly[i] != NULL && c->parcels[i].former == f && c->parcels[i].sheet == sheet)
                    members[n++] = GEOSGeom_clone_r(s->g, s->poly[i]);
            if (n == 0)
                break;
            GEOSGeometry *gc =
                GEOSGeom_createCollection_r(s->g, GEOS_GEOMETRYCOLLECTION, members, n);
            GEOSGeometry *u = gc ? GEOSUnaryUnion_r(s->g, gc) : NULL;
            GEOSGeometry *outline = u ? GEOSBoundary_r(s->g, u) : NULL;
            char utf8[64], text[64];
            /* Vietnamese, as sheets write it: TCVN3 bytes in DGN (.VnTime
             * fonts), UTF-8 in DXF (GDAL's writer). */
            snprintf(utf8, sizeof utf8, "T\xe1\xbb\x9d s\xe1\xbb\x91 %d x\xc3\xa3 %s", sheet,
                     c->formers[f]);
            char *tcvn3 = s->dgn ? vnenc_from_utf8(utf8, VNENC_TCVN3, NULL) : NULL;
            snprintf(text, sizeof text, "%s", tcvn3 ? tcvn3 : utf8);
            free(tcvn3);
            if (s->dgn && tcvn3 == NULL)
                rc = -1;
            rc = outline == NULL || rc != 0 ? -1 : put_lines(s, outline, LV_FRAME);
            /* A sheet of blocks apart (roads between) is several outlines:
             * its text in each. */
            for (int k = 0; rc == 0 && k < GEOSGetNumGeometries_r(s->g, u); k++) {
                GEOSGeometry *pos = GEOSPointOnSurface_r(s->g, GEOSGetGeometryN_r(s->g, u, k));
                double x = 0, y = 0;
                rc = pos != NULL && GEOSGeomGetX_r(s->g, pos, &x) && GEOSGeomGetY_r(s->g, pos, &y)
                         ? put_text(s, x, y, LV_FRAME, text)
                         : -1;
                GEOSGeom_destroy_r(s->g, pos);
            }
            GEOSGeom_destroy_r(s->g, gc);
            GEOSGeom_destroy_r(s->g, u);
            GEOSGeom_destroy_r(s->g, outline);
        }
    }
    free(members);
    return rc;
}

/* Parcels for the label defects: numbered with two different halves. */
static long pick_label_parcel(const synth_commune *c, unsigned char *used, size_t from)
{
    for (size_t k = 0; k < c->nparcels; k++) {
        size_t i = (from + k) % c->nparcels;
        char num[16];
        snprintf(num, sizeof num, "%d", c->parcels[i].number);
        if (!used[i] && c->parcels[i].number >= 10 && c->parcels[i].nparts == 1 &&
            num[0] != num[strlen(num) / 2]) {
            used[i] = 1;
            return (long)i;
        }
    }
    return -1;
}

int synth_sheets_draw(output_ctx *oc, OGRLayerH layer, char *err, size_t errlen)
{
    synth_commune *c = oc->c;
    sheet_ctx s = {oc, layer, oc->o->format == FMT_DGN, oc->geos, NULL, 0, NULL, 0};
    unsigned char *used = calloc(c->nparcels ? c->nparcels : 1, 1);
    int *defect = calloc(c->nparcels ? c->nparcels : 1, sizeof *defect);
    char path[1100];
    int rc = -1;

    s.poly = calloc(c->nparcels ? c->nparcels : 1, sizeof *s.poly);
    snprintf(path, sizeof path, "%s.sheets.json", oc->path);
    s.truth = fopen(path, "w");
    if (used == NULL || defect == NULL || s.poly == NULL || s.truth == NULL) {
        snprintf(err, errlen, "cannot write %s", path);
        goto done;
    }
    for (size_t i = 0; i < c->nparcels; i++)
        if (c->parcels[i].number > 0 && c->parcels[i].sheet > 0)
            s.poly[i] = parcel_geom(&s, &c->parcels[i]);
    fprintf(s.truth, "{\n  \"file\": \"%s\",\n  \"commune\": \"%s\",\n  \"parcels\": %zu,\n",
            strrchr(oc->path, '/') ? strrchr(oc->path, '/') + 1 : oc->path, c->ref->code,
            c->nparcels);
    fprintf(s.truth,
            "  \"levels\": {\"boundary\": %d, \"road\": %d, \"water\": %d, \"number\": %d, "
            "\"landuse\": %d, \"area\": %d, \"frame\": %d},\n  \"defects\": [",
            LV_BOUNDARY, LV_ROAD, LV_WATER, LV_NUMBER, LV_LANDUSE, LV_AREA, LV_FRAME);
    if (draw_boundaries(&s, used) != 0)
        goto fail;
    for (int d = LBL_MISSING; d <= LBL_SPLIT; d++) {
        long i = pick_label_parcel(c, used, (size_t)d * c->nparcels / 5);
        if (i >= 0)
            defect[i] = d;
    }
    for (size_t i = 0; i < c->nparcels; i++)
        if (s.poly[i] != NULL && draw_labels(&s, i, defect[i]) != 0)
            goto fail;
    if (draw_frames(&s) != 0)
        goto fail;
    fprintf(s.truth, "\n  ],\n  \"boundary_lines\": %zu\n}\n", s.lines);
    rc = 0;
fail:
    if (rc != 0)
        snprintf(err, errlen, "cannot draw the sheets of %s", oc->path);
done:
    if (s.truth != NULL && fclose(s.truth) != 0 && rc == 0) {
        snprintf(err, errlen, "cannot write %s", path);
        rc = -1;
    }
    for (size_t i = 0; s.poly != NULL && i < c->nparcels; i++)
        GEOSGeom_destroy_r(s.g, s.poly[i]);
    free(s.poly);
    free(used);
    free(defect);
    return rc;
}
