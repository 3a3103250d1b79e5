/*
 * sheets.c: survey sheets drawn as lines and texts (docs/import.md,
 * "Line-and-label sheets"). A DGN v7 or DXF layer whose parcels are not
 * closed shapes but boundary lines shared by neighbours, with the parcel
 * number, land-use code and area as separate texts on their own levels
 * (DGN) or layers (DXF), becomes the same records a layer of closed shapes
 * with "key=value" labels gives: the line work is noded (GEOS unary union)
 * and polygonized, dangles and unclosed gaps are reported (and gaps up to
 * --snap closed), and each polygon takes the texts inside it by level.
 */
#define _GNU_SOURCE /* vasprintf */
#include "imp_ogr.h"

#include <geos_c.h>

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Pieces of one number closer than this are one number (or a doubled one). */
#define JOIN_M 1.0
/* A dangle whose free end is nearer other line work than this is a gap. */
#define GAP_REPORT_M 1.0
/* Report lines about one file's line work, at most; then a count. */
#define MAX_NOTES 20

enum {
    ROLE_BOUNDARY,
    ROLE_NUMBER,
    ROLE_LANDUSE,
    ROLE_AREA,
    ROLE_FRAME,
    ROLE_ROAD,
    ROLE_WATER,
    ROLE_COUNT
};

static const char *const role_names[ROLE_COUNT] = {"boundary", "number", "landuse", "area",
                                                   "frame",    "road",   "water"};

/* The default: docs/import.md says where each comes from. */
static const char *const default_levels[ROLE_COUNT] = {
    "10,RANH_THUA", "13,SO_THUA",    "14,LOAI_DAT", "15,DIEN_TICH",
    "63,KHUNG",     "23,GIAO_THONG", "28,THUY_HE"};

/* Land-use codes of land that is no parcel of the register: roads,
 * irrigation and drainage, rivers, water surfaces. */
static const char *const non_parcel_codes[] = {"DGT", "DTL", "SON", "MNC", NULL};

int pdbi__sheet_default_level(const char *role, int *level, char *layer, size_t cap)
{
    for (int r = 0; r < ROLE_COUNT; r++) {
        if (strcmp(role, role_names[r]) != 0)
            continue;
        /* "10,RANH_THUA": the number, then the name. */
        const char *comma = strchr(default_levels[r], ',');
        *level = atoi(default_levels[r]);
        snprintf(layer, cap, "%s", comma ? comma + 1 : "");
        return 0;
    }
    return -1;
}

typedef struct levels {
    char *values[ROLE_COUNT][16]; /* level numbers or layer names, owned */
    int level[ROLE_COUNT][16];    /* the value as a DGN level number, -1 for a name */
    int n[ROLE_COUNT];
} levels;

static void levels_free(levels *lv)
{
    for (int r = 0; r < ROLE_COUNT; r++)
        for (int i = 0; i < lv->n[r]; i++)
            free(lv->values[r][i]);
    memset(lv, 0, sizeof *lv);
}

/* Adds "10, RANH_THUA" to a role (replacing what it had). */
static int levels_set(levels *lv, int role, const char *list)
{
    char buf[512];
    for (int i = 0; i < lv->n[role]; i++)
        free(lv->values[role][i]);
    lv->n[role] = 0;
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*t))
            t++;
        size_t len = strlen(t);
        while (len > 0 && isspace((unsigned char)t[len - 1]))
            t[--len] = '\0';
        if (len == 0 || lv->n[role] >= 16)
            continue;
        lv->level[role][lv->n[role]] = strspn(t, "0123456789") == len ? atoi(t) : -1;
        if ((lv->values[role][lv->n[role]++] = strdup(t)) == NULL)
            return -1;
    }
    return 0;
}

/* The default, then the user's file over it: lines "role = 10, NAME". */
static pdb_status levels_load(pdbi_ctx *ic, const char *path, levels *lv)
{
    for (int r = 0; r < ROLE_COUNT; r++)
        if (levels_set(lv, r, default_levels[r]) != 0)
            return pdbi__fail(ic, PDB_ENOMEM, "out of memory");
    if (path == NULL)
        return PDB_OK;
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return pdbi__fail(ic, PDB_EIO, "--levels %s: cannot read it", path);
    char line[600];
    int lineno = 0;
    pdb_status st = PDB_OK;
    while (st == PDB_OK && fgets(line, sizeof line, fp) != NULL) {
        lineno++;
        char *s = line, *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        while (isspace((unsigned char)*s))
            s++;
        if (*s == '\0')
            continue;
        char *eq = strchr(s, '=');
        size_t klen = eq ? (size_t)(eq - s) : 0;
        while (klen > 0 && isspace((unsigned char)s[klen - 1]))
            klen--;
        int role = -1;
        for (int r = 0; eq != NULL && r < ROLE_COUNT; r++)
            if (strlen(role_names[r]) == klen && strncasecmp(role_names[r], s, klen) == 0)
                role = r;
        if (role < 0)
            st = pdbi__fail(ic, PDB_EINVAL,
                            "--levels %s:%d: expected 'ROLE = LEVEL, LAYER, ...' with ROLE one of "
                            "boundary, number, landuse, area, frame, road, water",
                            path, lineno);
        else if (levels_set(lv, role, eq + 1) != 0)
            st = pdbi__fail(ic, PDB_ENOMEM, "out of memory");
    }
    fclose(fp);
    return st;
}

/* The role of a feature by its level (DGN, an integer field) or layer
 * (DXF, a name); -1 for none. */
static int role_of(const levels *lv, OGRFeatureH feat)
{
    OGRFeatureDefnH defn = OGR_F_GetDefnRef(feat);
    int k = OGR_FD_GetFieldIndex(defn, "Level");
    if (k >= 0 && OGR_Fld_GetType(OGR_FD_GetFieldDefn(defn, k)) == OFTInteger) {
        int level = OGR_F_IsFieldSetAndNotNull(feat, k) ? OGR_F_GetFieldAsInteger(feat, k) : -1;
        for (int r = 0; r < ROLE_COUNT; r++)
            for (int i = 0; i < lv->n[r]; i++)
                if (lv->level[r][i] == level && level >= 0)
                    return r;
        return -1;
    }
    if (k < 0)
        k = OGR_FD_GetFieldIndex(defn, "Layer");
    const char *name =
        k >= 0 && OGR_F_IsFieldSetAndNotNull(feat, k) ? OGR_F_GetFieldAsString(feat, k) : "";
    for (int r = 0; r < ROLE_COUNT; r++)
        for (int i = 0; i < lv->n[r]; i++)
            if (strcasecmp(lv->values[r][i], name) == 0)
                return r;
    return -1;
}

static int all_digits(const char *s)
{
    int any = 0;
    for (; *s; s++) {
        if (isdigit((unsigned char)*s))
            any = 1;
        else if (!isspace((unsigned char)*s))
            return 0;
    }
    return any;
}

int pdbi__sheets_detect(const pdbi_file *f, const pdbi_layer *L, const pdbi_cad_rec *bounds,
                        size_t nb)
{
    levels lv = {0};
    pdbi_ctx quiet;
    int numbers = 0;
    size_t shapes = 0, lines = 0;
    if (f->opts->sheets)
        return 1;
    /* A levels file that does not load: the build says why. */
    pdbi__ctx_init(&quiet, NULL);
    if (levels_load(&quiet, f->opts->levels_path, &lv) != PDB_OK) {
        levels_free(&lv);
        return f->opts->levels_path != NULL;
    }
    for (size_t i = 0; i < L->nlabels && !numbers; i++)
        numbers = role_of(&lv, L->labels[i].feat) == ROLE_NUMBER && all_digits(L->labels[i].text);
    /* A sheet may hold a few closed shapes too (a pond drawn as one):
     * lines must be at least half of its boundary level. */
    for (size_t b = 0; b < nb; b++) {
        OGRGeometryH g = OGR_F_GetGeometryRef(bounds[b].feat);
        OGRwkbGeometryType t = g ? wkbFlatten(OGR_G_GetGeometryType(g)) : wkbUnknown;
        if (role_of(&lv, bounds[b].feat) != ROLE_BOUNDARY)
            continue;
        if (t == wkbPolygon || t == wkbMultiPolygon)
            shapes++;
        else if (t == wkbLineString || t == wkbMultiLineString)
            lines++;
    }
    levels_free(&lv);
    return numbers && lines >= shapes; /* none of either: a sheet without its boundaries */
}

/* ------------------------------------------------------------------------ */
/* The build                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct text_el {
    double x, y;
    const char *text; /* borrowed from the layer's old labels */
    int64_t index;    /* feature index */
    int role;
    long poly;          /* polygon it lies in, -1 */
    int done;           /* taken into a number */
    const char *origin; /* its sheet file when another than the file's own, else NULL */
} text_el;

typedef struct sheet_build {
    pdbi_ctx *ic;
    const pdbi_file *f;
    pdbi_layer *L;
    GEOSContextHandle_t g;
    levels lv;
    FILE *log;
    int notes;            /* gap and dangle lines said */
    int label_notes;      /* lines about numbers said */
    GEOSGeometry **lines; /* boundary line work (boundary, road, water), owned */
    size_t nboundary;     /* entities on the boundary level proper */
    size_t nlines, caplines;
    GEOSGeometry **frames; /* frame line work, owned */
    size_t nframes, capframes;
    text_el *texts;
    size_t ntexts;
    /* results */
    GEOSGeometry *polys; /* polygonized boundary (a collection), owned */
    int npolys;
    const GEOSPreparedGeometry **prep;
    pdbi_cad_rec *recs;
    pdbi_label *labels;
    size_t nrecs;
    int64_t next_index;
    size_t nonparcel;
    double nonparcel_m2;
} sheet_build;

static void note(sheet_build *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(sheet_build *sb, const char *fmt, ...)
{
    va_list ap;
    if (sb->log == NULL)
        return;
    fprintf(sb->log, "parceldb: %s: sheets: ", sb->f->path);
    va_start(ap, fmt);
    vfprintf(sb->log, fmt, ap);
    va_end(ap);
    fputc('\n', sb->log);
    fflush(sb->log);
}

/* A line of the report, within MAX_NOTES a file of its kind (counter). */
#define NOTE_LIMITED(sb, counter, ...)                                                             \
    do {                                                                                           \
        if ((sb)->counter++ < MAX_NOTES)                                                           \
            note((sb), __VA_ARGS__);                                                               \
    } while (0)

static GEOSGeometry *from_ogr(sheet_build *sb, OGRGeometryH g)
{
    int n = OGR_G_WkbSize(g);
    unsigned char *wkb = malloc(n > 0 ? (size_t)n : 1);
    GEOSGeometry *out = NULL;
    if (wkb != NULL && OGR_G_ExportToIsoWkb(g, wkbNDR, wkb) == OGRERR_NONE)
        out = GEOSGeomFromWKB_buf_r(sb->g, wkb, (size_t)n);
    free(wkb);
    return out;
}

static OGRGeometryH to_ogr(sheet_build *sb, const GEOSGeometry *g)
{
    size_t n = 0;
    GEOSWKBWriter *w = GEOSWKBWriter_create_r(sb->g);
    unsigned char *wkb = w ? GEOSWKBWriter_write_r(sb->g, w, g, &n) : NULL;
    OGRGeometryH out = NULL;
    if (wkb != NULL && OGR_G_CreateFromWkbEx(wkb, NULL, &out, n) != OGRERR_NONE)
        out = NULL;
    if (wkb != NULL)
        GEOSFree_r(sb->g, wkb);
    if (w != NULL)
        GEOSWKBWriter_destroy_r(sb->g, w);
    return out;
}

static int push_geom(GEOSGeometry ***arr, size_t *n, size_t *cap, GEOSGeometry *g)
{
    if (g == NULL)
        return -1;
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        GEOSGeometry **bigger = realloc(*arr, *cap * sizeof *bigger);
        if (bigger == NULL)
            return -1;
        *arr = bigger;
    }
    (*arr)[(*n)++] = g;
    return 0;
}

static int cmp_text_pos(const void *a, const void *b)
{
    const text_el *p = a, *q = b;
    if (p->x != q->x)
        return p->x < q->x ? -1 : 1;
    if (p->y != q->y)
        return p->y < q->y ? -1 : 1;
    if (p->role != q->role)
        return p->role - q->role;
    int c = strcmp(p->text, q->text);
    return c != 0 ? c : (p->index > q->index) - (p->index < q->index);
}

/* Texts that two sheet files both hold (a text on the edge between two
 * sheets, drawn in each): one of them, the first file's, is kept. The
 * same text on the same level within a millimetre counts as the same;
 * texts of one file are left alone (a doubled label is a defect the
 * number check reports). */
static void drop_shared_texts(sheet_build *sb)
{
    if (sb->f->ncompanions == 0 || sb->ntexts < 2)
        return;
    qsort(sb->texts, sb->ntexts, sizeof *sb->texts, cmp_text_pos);
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < sb->ntexts; i++) {
        const text_el *t = &sb->texts[i];
        int dup = 0;
        for (size_t k = kept; k-- > 0 && t->x - sb->texts[k].x <= 0.001 && !dup;)
            dup = sb->texts[k].origin != t->origin && sb->texts[k].role == t->role &&
                  fabs(sb->texts[k].y - t->y) <= 0.001 && strcmp(sb->texts[k].text, t->text) == 0;
        if (dup)
            dropped++;
        else
            sb->texts[kept++] = *t;
    }
    sb->ntexts = kept;
    if (dropped > 0)
        note(sb, "%zu texts held by two sheet files at the same place (on a sheet edge) read once",
             dropped);
}

/* Sorts the layer's entities by role. Polygons (a closed DXF polyline read
 * as one) count as their rings. */
static pdb_status collect(sheet_build *sb, const pdbi_cad_rec *bounds, size_t nb, size_t *other)
{
    pdbi_layer *L = sb->L;
    for (size_t b = 0; b < nb; b++) {
        OGRGeometryH g = OGR_F_GetGeometryRef(bounds[b].feat);
        int role = role_of(&sb->lv, bounds[b].feat);
        if (bounds[b].index >= sb->next_index)
            sb->next_index = bounds[b].index + 1;
        if (g == NULL || OGR_G_IsEmpty(g) ||
            (role != ROLE_BOUNDARY && role != ROLE_ROAD && role != ROLE_WATER &&
             role != ROLE_FRAME)) {
            (*other)++;
            continue;
        }
        GEOSGeometry *gg = from_ogr(sb, g);
        GEOSGeometry *line = gg ? GEOSBoundary_r(sb->g, gg) : NULL;
        if (gg != NULL && GEOSGeomTypeId_r(sb->g, gg) != GEOS_POLYGON &&
            GEOSGeomTypeId_r(sb->g, gg) != GEOS_MULTIPOLYGON) {
            GEOSGeom_destroy_r(sb->g, line);
            line = gg;
            gg = NULL;
        }
        GEOSGeom_destroy_r(sb->g, gg);
        sb->nboundary += role == ROLE_BOUNDARY;
        int rc = role == ROLE_FRAME ? push_geom(&sb->frames, &sb->nframes, &sb->capframes, line)
                                    : push_geom(&sb->lines, &sb->nlines, &sb->caplines, line);
        if (rc != 0)
            return pdbi__fail(sb->ic, PDB_ENOMEM, "out of memory");
    }
    sb->texts = calloc(L->nlabels ? L->nlabels : 1, sizeof *sb->texts);
    if (sb->texts == NULL)
        return pdbi__fail(sb->ic, PDB_ENOMEM, "out of memory");
    for (size_t i = 0; i < L->nlabels; i++) {
        const pdbi_label *lab = &L->labels[i];
        int role = role_of(&sb->lv, lab->feat);
        if (lab->index >= sb->next_index)
            sb->next_index = lab->index + 1;
        if (role != ROLE_NUMBER && role != ROLE_LANDUSE && role != ROLE_AREA &&
            role != ROLE_FRAME) {
            (*other)++;
            continue;
        }
        sb->texts[sb->ntexts++] =
            (text_el){lab->x, lab->y, lab->text, lab->index, role, -1, 0, lab->origin};
    }
    drop_shared_texts(sb);
    return PDB_OK;
}

/* The union of the line work (noded: every crossing a node). */
static GEOSGeometry *node(sheet_build *sb, GEOSGeometry **lines, size_t n)
{
    GEOSGeometry **copy = malloc((n ? n : 1) * sizeof *copy);
    if (copy == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        copy[i] = GEOSGeom_clone_r(sb->g, lines[i]);
    GEOSGeometry *gc =
        GEOSGeom_createCollection_r(sb->g, GEOS_GEOMETRYCOLLECTION, copy, (unsigned int)n);
    free(copy);
    GEOSGeometry *u = gc ? GEOSUnaryUnion_r(sb->g, gc) : NULL;
    GEOSGeom_destroy_r(sb->g, gc);
    return u;
}

/* What an STRtree query found: the items inserted. */
typedef struct found {
    void **items;
    size_t n, cap;
} found;

static void cand(void *item, void *arg)
{
    found *g = arg;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        void **bigger = realloc(g->items, cap * sizeof *bigger);
        if (bigger == NULL)
            return;
        g->items = bigger;
        g->cap = cap;
    }
    g->items[g->n++] = item;
}

typedef struct end_pt {
    double x, y;
    int edge;
    int at_end; /* 0 start, 1 end */
} end_pt;

static int cmp_end(const void *a, const void *b)
{
    const end_pt *p = a, *q = b;
    if (p->x != q->x)
        return p->x < q->x ? -1 : 1;
    if (p->y != q->y)
        return p->y < q->y ? -1 : 1;
    return p->edge - q->edge;
}

static void edge_end(sheet_build *sb, const GEOSGeometry *e, int at_end, double *x, double *y)
{
    const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(sb->g, e);
    unsigned int n = 0;
    GEOSCoordSeq_getSize_r(sb->g, cs, &n);
    GEOSCoordSeq_getXY_r(sb->g, cs, at_end ? n - 1 : 0, x, y);
}

/* Finds the dangling ends of the noded line work: each is an unclosed gap
 * (its free end within GAP_REPORT_M of other lines, not those at its own
 * other end) or a dangle (an overshoot). With --snap, a gap up to the
 * tolerance gets a closing segment (added to *closures). */
static pdb_status dangles(sheet_build *sb, const GEOSGeometry *noded, GEOSGeometry ***closures,
                          size_t *nclos, size_t *caps, size_t *ngaps, size_t *ndangles)
{
    int ne = GEOSGetNumGeometries_r(sb->g, noded);
    end_pt *ends = malloc((size_t)(ne > 0 ? 2 * ne : 1) * sizeof *ends);
    double snap = sb->f->opts->snap_m;
    if (ends == NULL)
        return pdbi__fail(sb->ic, PDB_ENOMEM, "out of memory");
    for (int i = 0; i < ne; i++)
        for (int k = 0; k < 2; k++) {
            end_pt *p = &ends[2 * i + k];
            edge_end(sb, GEOSGetGeometryN_r(sb->g, noded, i), k, &p->x, &p->y);
            p->edge = i;
            p->at_end = k;
        }
    if (ne > 0)
        qsort(ends, (size_t)(2 * ne), sizeof *ends, cmp_end);
    GEOSSTRtree *tree = GEOSSTRtree_create_r(sb->g, 10);
    found cands = {0};
    for (int i = 0; tree != NULL && i < ne; i++)
        GEOSSTRtree_insert_r(sb->g, tree, GEOSGetGeometryN_r(sb->g, noded, i),
                             (void *)GEOSGetGeometryN_r(sb->g, noded, i));
    for (int k = 0; tree != NULL && k < 2 * ne; k++) {
        int same_before = k > 0 && ends[k - 1].x == ends[k].x && ends[k - 1].y == ends[k].y;
        int same_after = k + 1 < 2 * ne && ends[k + 1].x == ends[k].x && ends[k + 1].y == ends[k].y;
        if (same_before || same_after)
            continue;
        const GEOSGeometry *e = GEOSGetGeometryN_r(sb->g, noded, ends[k].edge);
        double ox, oy, len = 0;
        edge_end(sb, e, !ends[k].at_end, &ox, &oy);
        if (ox == ends[k].x && oy == ends[k].y)
            continue; /* a closed ring */
        GEOSLength_r(sb->g, e, &len);
        /* The nearest other line work, but for the lines at the dangle's
         * other end (an overshoot's own crossing). */
        GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(sb->g, ends[k].x, ends[k].y);
        GEOSGeometry *other = GEOSGeom_createPointFromXY_r(sb->g, ox, oy);
        GEOSGeometry *box = pt ? GEOSBuffer_r(sb->g, pt, GAP_REPORT_M, 4) : NULL;
        double best = INFINITY;
        const GEOSGeometry *best_e = NULL;
        cands.n = 0;
        if (box != NULL)
            GEOSSTRtree_query_r(sb->g, tree, box, cand, &cands);
        for (size_t i = 0; i < cands.n; i++) {
            const GEOSGeometry *c = cands.items[i];
            double d, d_other;
            if (c == e || GEOSDistance_r(sb->g, c, other, &d_other) == 0 || d_other == 0)
                continue;
            if (GEOSDistance_r(sb->g, c, pt, &d) && d < best) {
                best = d;
                best_e = c;
            }
        }
        if (best < GAP_REPORT_M) {
            (*ngaps)++;
            if (snap > 0 && best <= snap) {
                /* From the free end to the nearest point of the other line,
                 * and 1 mm on: the point found lies on that line only up to
                 * rounding, a crossing is a node for sure. */
                GEOSCoordSequence *np = GEOSNearestPoints_r(sb->g, best_e, pt);
                double qx = 0, qy = 0;
                if (np != NULL && GEOSCoordSeq_getXY_r(sb->g, np, 0, &qx, &qy) && best > 0) {
                    GEOSCoordSeq_setXY_r(sb->g, np, 0, qx + (qx - ends[k].x) / best * 0.001,
                                         qy + (qy - ends[k].y) / best * 0.001);
                    GEOSCoordSeq_setXY_r(sb->g, np, 1, ends[k].x, ends[k].y);
                }
                GEOSGeometry *seg = np ? GEOSGeom_createLineString_r(sb->g, np) : NULL;
                if (push_geom(closures, nclos, caps, seg) != 0)
                    best = -1;
                NOTE_LIMITED(sb, notes, "closed a gap %.3f m wide at (%.3f, %.3f) (--snap %g)",
                             best, ends[k].x, ends[k].y, snap);
            } else {
                NOTE_LIMITED(sb, notes,
                             "unclosed gap %.3f m wide at (%.3f, %.3f): the parcels on either "
                             "side are one polygon%s",
                             best, ends[k].x, ends[k].y,
                             snap > 0 ? " (wider than --snap)" : "; --snap METRES closes it");
            }
        } else {
            (*ndangles)++;
            NOTE_LIMITED(sb, notes, "dangle %.3f m long ending at (%.3f, %.3f) (an overshoot?)",
                         len, ends[k].x, ends[k].y);
        }
        GEOSGeom_destroy_r(sb->g, pt);
        GEOSGeom_destroy_r(sb->g, other);
        GEOSGeom_destroy_r(sb->g, box);
    }
    if (tree != NULL)
        GEOSSTRtree_destroy_r(sb->g, tree);
    free(cands.items);
    free(ends);
    return PDB_OK;
}

/* Noding, gaps, polygonizing. */
static pdb_status polygonize(sheet_build *sb)
{
    GEOSGeometry *noded = node(sb, sb->lines, sb->nlines), **clos = NULL;
    size_t nclos = 0, capclos = 0, ngaps = 0, ndangles = 0;
    pdb_status st;

    if (noded == NULL)
        return pdbi__fail(sb->ic, PDB_EINVAL, "GEOS cannot node the boundary lines: %zu lines",
                          sb->nlines);
    st = dangles(sb, noded, &clos, &nclos, &capclos, &ngaps, &ndangles);
    if (st == PDB_OK && nclos > 0) {
        for (size_t i = 0; i < nclos; i++)
            if (push_geom(&sb->lines, &sb->nlines, &sb->caplines, clos[i]) != 0)
                st = pdbi__fail(sb->ic, PDB_ENOMEM, "out of memory");
        GEOSGeom_destroy_r(sb->g, noded);
        noded = node(sb, sb->lines, sb->nlines);
    }
    free(clos);
    if (st != PDB_OK || noded == NULL) {
        GEOSGeom_destroy_r(sb->g, noded);
        return st != PDB_OK ? st : pdbi__fail(sb->ic, PDB_ENOMEM, "out of memory");
    }
    GEOSGeometry *cuts = NULL, *dang = NULL, *invalid = NULL;
    sb->polys = GEOSPolygonize_full_r(sb->g, noded, &cuts, &dang, &invalid);
    int ncuts = cuts ? GEOSGetNumGeometries_r(sb->g, cuts) : 0;
    int ninvalid = invalid ? GEOSGetNumGeometries_r(sb->g, invalid) : 0;
    GEOSGeom_destroy_r(sb->g, cuts);
    GEOSGeom_destroy_r(sb->g, dang);
    GEOSGeom_destroy_r(sb->g, invalid);
    GEOSGeom_destroy_r(sb->g, noded);
    if (sb->notes > MAX_NOTES)
        note(sb, "%d more gap and dangle lines not shown", sb->notes - MAX_NOTES);
    sb->npolys = sb->polys ? GEOSGetNumGeometries_r(sb->g, sb->polys) : 0;
    note(sb,
         "%zu boundary lines, %d polygons, %zu unclosed gaps%s, %zu dangles, %d cut edges, "
         "%d invalid rings",
         sb->nlines, sb->npolys, ngaps, nclos ? " (closed by --snap)" : "", ndangles, ncuts,
         ninvalid);
    if (sb->npolys == 0)
        return pdbi__fail(sb->ic, PDB_EINVAL,
                          "the %zu boundary lines make no polygon (%zu dangles, %d cut edges): "
                          "nothing to import",
                          sb->nlines, ndangles + ngaps, ncuts);
    return PDB_OK;
}

/* Each text's polygon (point in polygon through an STRtree and prepared
 * geometries); the lowest index when on a shared edge. */
static pdb_status place_texts(sheet_build *sb, const GEOSGeometry *polys, int npolys, long *out,
                              const text_el *texts, size_t nt, int roles_mask)
{
    int *ids = malloc((size_t)(npolys ? npolys : 1) * sizeof *ids);
    const GEOSPreparedGeometry **prep = calloc((size_t)(npolys ? npolys : 1), sizeof *prep);
    GEOSSTRtree *tree = GEOSSTRtree_create_r(sb->g, 10);
    found h = {0};
    if (ids == NULL || prep == NULL || tree == NULL) {
        free(ids);
        free(prep);
        if (tree)
            GEOSSTRtree_destroy_r(sb->g, tree);
        return pdbi__fail(sb->ic, PDB_ENOMEM, "out of memory");
    }
    for (int i = 0; i < npolys; i++) {
        ids[i] = i;
        prep[i] = GEOSPrepare_r(sb->g, GEOSGetGeometryN_r(sb->g, polys, i));
        GEOSSTRtree_insert_r(sb->g, tree, GEOSGetGeometryN_r(sb->g, polys, i), &ids[i]);
    }
    for (size_t t = 0; t < nt; t++) {
        out[t] = -1;
        if (!(roles_mask & (1 << texts[t].role)))
            continue;
        GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(sb->g, texts[t].x, texts[t].y);
        h.n = 0;
        GEOSSTRtree_query_r(sb->g, tree, pt, cand, &h);
        for (size_t k = 0; k < h.n; k++)
            if (prep[*(int *)h.items[k]] != NULL &&
                GEOSPreparedIntersects_r(sb->g, prep[*(int *)h.items[k]], pt) == 1 &&
                (out[t] < 0 || *(int *)h.items[k] < out[t]))
                out[t] = *(int *)h.items[k];
        GEOSGeom_destroy_r(sb->g, pt);
    }
    for (int i = 0; i < npolys; i++)
        if (prep[i] != NULL)
            GEOSPreparedGeom_destroy_r(sb->g, prep[i]);
    GEOSSTRtree_destroy_r(sb->g, tree);
    free(h.items);
    free(ids);
    free(prep);
    return PDB_OK;
}

/* "To so 12 xa 08710": the first whole number is the sheet, a five-digit
 * number after it the former commune. */
static void parse_frame(const char *text, char *sheet, size_t slen, char *former, size_t flen)
{
    int k = 0;
    sheet[0] = former[0] = '\0';
    for (const char *p = text; *p; p++) {
        if (!isdigit((unsigned char)*p) || (p > text && isdigit((unsigned char)p[-1])))
            continue;
        size_t n = strspn(p, "0123456789");
        if (k == 0)
            snprintf(sheet, slen, "%.*s", (int)n, p);
        else if (n == 5 && former[0] == '\0')
            snprintf(former, flen, "%.*s", (int)n, p);
        k++;
    }
}

/* The sheet number from the file's name: its last group of digits that is
 * not five long (a commune code), "08707_t12.dgn" -> 12. */
static void sheet_from_name(const char *path, char *out, size_t len)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t end = dot ? (size_t)(dot - base) : strlen(base);
    out[0] = '\0';
    for (size_t i = 0; i < end; i++) {
        if (!isdigit((unsigned char)base[i]) || (i > 0 && isdigit((unsigned char)base[i - 1])))
            continue;
        size_t n = strspn(base + i, "0123456789");
        if (n > end - i)
            n = end - i;
        if (n != 5)
            snprintf(out, len, "%.*s", (int)n, base + i);
    }
}

/* A frame text outside every frame polygon: the sheet of its whole file. */
typedef struct file_frame {
    const char *origin; /* the text's file (text_el.origin) */
    char sheet[16];
    char former[8];
} file_frame;

typedef struct frame_info {
    GEOSGeometry *polys; /* frame polygons, owned, or NULL */
    int n;
    const GEOSPreparedGeometry **prep; /* per frame polygon */
    char (*sheet)[16];                 /* per frame polygon */
    char (*former)[8];                 /* likewise */
    file_frame *files;                 /* one per sheet file with such a text, the first */
    size_t nfiles;
} frame_info;

/* The frame text of a file that has one outside its frames, or NULL. */
static const file_frame *file_frame_of(const frame_info *fi, const char *origin)
{
    for (size_t i = 0; i < fi->nfiles; i++)
        if (fi->files[i].origin == origin)
            return &fi->files[i];
    return NULL;
}

static pdb_status frames(sheet_build *sb, frame_info *fi)
{
    memset(fi, 0, sizeof *fi);
    if (sb->nframes > 0) {
        GEOSGeometry *noded = node(sb, sb->frames, sb->nframes);
        const GEOSGeometry *in[1] = {noded};
        fi->polys = noded ? GEOSPolygonize_r(sb->g, in, 1) : NULL;
        GEOSGeom_destroy_r(sb->g, noded);
        fi->n = fi->polys ? GEOSGetNumGeometries_r(sb->g, fi->polys) : 0;
    }
    fi->prep = calloc((size_t)(fi->n ? fi->n : 1), sizeof *fi->prep);
    for (int i = 0; fi->prep != NULL && i < fi->n; i++)
        fi->prep[i] = GEOSPrepare_r(sb->g, GEOSGetGeometryN_r(sb->g, fi->polys, i));
    fi->sheet = calloc((size_t)(fi->n ? fi->n : 1), sizeof *fi->sheet);
    fi->former = calloc((size_t)(fi->n ? fi->n : 1), sizeof *fi->former);
    fi->files = calloc(sb->ntexts ? sb->ntexts : 1, sizeof *fi->files);
    long *in = malloc((sb->ntexts ? sb->ntexts : 1) * sizeof *in);
    if (fi->prep == NULL || fi->sheet == NULL || fi->former == NULL || fi->files == NULL ||
        in == NULL) {
        free(in);
        return pdbi__fail(sb->ic, PDB_ENOMEM, "out of memory");
    }
    pdb_status st =
        fi->n > 0 ? place_texts(sb, fi->polys, fi->n, in, sb->texts, sb->ntexts, 1 << ROLE_FRAME)
                  : PDB_OK;
    for (size_t t = 0; st == PDB_OK && t < sb->ntexts; t++) {
        if (sb->texts[t].role != ROLE_FRAME)
            continue;
        char sheet[16], former[8];
        parse_frame(sb->texts[t].text, sheet, sizeof sheet, former, sizeof former);
        if (sheet[0] == '\0')
            continue;
        if (fi->n > 0 && in[t] >= 0) {
            memcpy(fi->sheet[in[t]], sheet, sizeof sheet);
            memcpy(fi->former[in[t]], former, sizeof former);
        } else if (file_frame_of(fi, sb->texts[t].origin) == NULL) {
            file_frame *ff = &fi->files[fi->nfiles++];
            ff->origin = sb->texts[t].origin;
            memcpy(ff->sheet, sheet, sizeof sheet);
            memcpy(ff->former, former, sizeof former);
        }
    }
    free(in);
    return st;
}

/* The sheet of a parcel: --sheet, else the frame around it, else the one
 * frame text of its file, else its file's name; its file is its number
 * text's (origin, NULL for the file's own). */
static void sheet_of(sheet_build *sb, const frame_info *fi, double x, double y, const char *origin,
                     char *sheet, char *former)
{
    sheet[0] = former[0] = '\0';
    if (sb->f->opts->sheet != NULL) {
        snprintf(sheet, 16, "%s", sb->f->opts->sheet);
        return;
    }
    if (fi->n > 0) {
        /* The frame with a sheet text around the parcel's inner point,
         * else the nearest such frame (a frame drawn without its text). */
        GEOSGeometry *pos = GEOSGeom_createPointFromXY_r(sb->g, x, y);
        int hit = -1;
        double best = INFINITY;
        for (int i = 0; pos != NULL && i < fi->n && hit < 0; i++)
            if (fi->sheet[i][0] != '\0' && fi->prep[i] != NULL &&
                GEOSPreparedIntersects_r(sb->g, fi->prep[i], pos) == 1)
                hit = i;
        for (int i = 0; pos != NULL && hit < 0 && i < fi->n; i++) {
            double d;
            if (fi->sheet[i][0] != '\0' &&
                GEOSDistance_r(sb->g, GEOSGetGeometryN_r(sb->g, fi->polys, i), pos, &d) &&
                d < best) {
                best = d;
                hit = i;
            }
        }
        if (hit >= 0) {
            snprintf(sheet, 16, "%s", fi->sheet[hit]);
            snprintf(former, 8, "%s", fi->former[hit]);
        }
        GEOSGeom_destroy_r(sb->g, pos);
    }
    const file_frame *ff = sheet[0] == '\0' ? file_frame_of(fi, origin) : NULL;
    if (ff != NULL) {
        snprintf(sheet, 16, "%s", ff->sheet);
        snprintf(former, 8, "%s", ff->former);
    }
    if (sheet[0] == '\0')
        sheet_from_name(origin != NULL ? origin : sb->f->path, sheet, 16);
}

/* Adds a record: a polygon (or the point of a number with no polygon) and
 * its label "SoTo=..;SoThua=..", or a reason it is quarantined. */
static pdb_status add_rec(sheet_build *sb, OGRGeometryH geom, double x, double y, char *label,
                          const char *reason, char *detail)
{
    OGRFeatureH feat = OGR_F_Create(OGR_L_GetLayerDefn(sb->L->layer));
    if (feat == NULL || label == NULL || (reason != NULL && detail == NULL)) {
        OGR_F_Destroy(feat);
        OGR_G_DestroyGeometry(geom);
        free(label);
        free(detail);
        return pdbi__fail(sb->ic, PDB_ENOMEM, "out of memory");
    }
    OGR_F_SetGeometryDirectly(feat, geom);
    size_t i = sb->nrecs++;
    sb->labels[i] = (pdbi_label){x, y, label, sb->next_index, 0, NULL, 1, NULL};
    sb->recs[i] = (pdbi_cad_rec){sb->next_index, feat, (long)i, reason, detail};
    sb->next_index++;
    return PDB_OK;
}

static char *dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dupf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

static int cmp_x(const void *a, const void *b)
{
    const text_el *const *p = a, *const *q = b;
    if ((*p)->x != (*q)->x)
        return (*p)->x < (*q)->x ? -1 : 1;
    return (*p)->y > (*q)->y ? -1 : (*p)->y < (*q)->y;
}

/* The numbers of one polygon: pieces within JOIN_M of each other are one
 * number, joined left to right; identical pieces are a doubled label (one
 * kept). Fills nums (at most 4), returns how many. */
static int polygon_numbers(sheet_build *sb, text_el **mine, size_t n, char nums[4][64])
{
    int count = 0;
    for (size_t a = 0; a < n; a++) {
        if (mine[a]->done)
            continue;
        text_el *group[16];
        size_t ng = 0;
        group[ng++] = mine[a];
        mine[a]->done = 1;
        for (size_t k = 0; k < ng; k++)
            for (size_t b = 0; b < n && ng < 16; b++)
                if (!mine[b]->done &&
                    hypot(mine[b]->x - group[k]->x, mine[b]->y - group[k]->y) <= JOIN_M) {
                    mine[b]->done = 1;
                    group[ng++] = mine[b];
                }
        int same = 1;
        for (size_t k = 1; k < ng; k++)
            same &= strcmp(group[k]->text, group[0]->text) == 0;
        char num[64] = "";
        if (same) {
            snprintf(num, sizeof num, "%s", group[0]->text);
            if (ng > 1)
                NOTE_LIMITED(sb, label_notes,
                             "number %s written %zu times at (%.3f, %.3f): kept once", num, ng,
                             group[0]->x, group[0]->y);
        } else {
            qsort(group, ng, sizeof *group, cmp_x);
            size_t used = 0;
            for (size_t k = 0; k < ng && used < sizeof num; k++)
                used += (size_t)snprintf(num + used, sizeof num - used, "%s", group[k]->text);
            NOTE_LIMITED(sb, label_notes, "number in %zu pieces at (%.3f, %.3f) joined: %s", ng,
                         group[0]->x, group[0]->y, num);
        }
        int dup = 0;
        for (int k = 0; k < count; k++)
            dup |= strcmp(nums[k], num) == 0;
        if (dup)
            NOTE_LIMITED(sb, label_notes,
                         "number %s written twice in one polygon near (%.3f, %.3f): kept once", num,
                         group[0]->x, group[0]->y);
        else if (count < 4)
            snprintf(nums[count++], 64, "%s", num);
    }
    return count;
}

static int non_parcel_code(const char *lu)
{
    for (int i = 0; lu != NULL && non_parcel_codes[i]; i++)
        if (strcasecmp(lu, non_parcel_codes[i]) == 0)
            return 1;
    return 0;
}

/* A numbered polygon waiting for the other polygons of its number. */
typedef struct pending {
    char *key;   /* "former|sheet|number", owned */
    char *label; /* the record's label, owned until merged */
    int poly;    /* in sb->polys */
    double x, y; /* its inner point */
} pending;

static int cmp_pending(const void *a, const void *b)
{
    const pending *p = a, *q = b;
    int c = strcmp(p->key, q->key);
    return c != 0 ? c : p->poly - q->poly;
}

/* The polygons of one number on one sheet are one parcel: the parts of a
 * parcel cut by a canal (texts in each part), the halves of a parcel cut
 * by a sheet edge drawn as a boundary line. Their union is the record. */
static pdb_status merge_parts(sheet_build *sb, pending *pend, size_t n)
{
    pdb_status st = PDB_OK;
    if (n > 1)
        qsort(pend, n, sizeof *pend, cmp_pending);
    for (size_t a = 0, b; a < n; a = b) {
        for (b = a + 1; b < n && strcmp(pend[a].key, pend[b].key) == 0;)
            b++;
        GEOSGeometry *geom;
        if (b - a == 1) {
            geom = GEOSGeom_clone_r(sb->g, GEOSGetGeometryN_r(sb->g, sb->polys, pend[a].poly));
        } else {
            GEOSGeometry **parts = malloc((b - a) * sizeof *parts);
            for (size_t k = a; parts != NULL && k < b; k++)
                parts[k - a] =
                    GEOSGeom_clone_r(sb->g, GEOSGetGeometryN_r(sb->g, sb->polys, pend[k].poly));
            GEOSGeometry *gc = parts ? GEOSGeom_createCollection_r(sb->g, GEOS_MULTIPOLYGON, parts,
                                                                   (unsigned int)(b - a))
                                     : NULL;
            free(parts);
            geom = gc ? GEOSUnaryUnion_r(sb->g, gc) : NULL;
            GEOSGeom_destroy_r(sb->g, gc);
            char shown[64];
            snprintf(shown, sizeof shown, "%s", pend[a].key);
            for (char *c = shown; *c; c++)
                *c = *c == '|' ? '/' : *c;
            NOTE_LIMITED(sb, label_notes,
                         "parcel %s (former commune/sheet/number) drawn as %zu polygons near "
                         "(%.3f, %.3f): one parcel",
                         shown, b - a, pend[a].x, pend[a].y);
        }
        OGRGeometryH og = geom ? to_ogr(sb, geom) : NULL;
        GEOSGeom_destroy_r(sb->g, geom);
        if (st == PDB_OK && og != NULL)
            st = add_rec(sb, og, pend[a].x, pend[a].y, pend[a].label, NULL, NULL);
        else
            free(pend[a].label);
        if (st == PDB_OK && og == NULL)
            st = pdbi__fail(sb->ic, PDB_ENOMEM, "out of memory");
        for (size_t k = a + 1; k < b; k++)
            free(pend[k].label);
    }
    return st;
}

static pdb_status make_records(sheet_build *sb)
{
    long *in = malloc((sb->ntexts ? sb->ntexts : 1) * sizeof *in);
    text_el **mine = malloc((sb->ntexts ? sb->ntexts : 1) * sizeof *mine);
    size_t *start = calloc((size_t)sb->npolys + 1, sizeof *start);
    size_t *order = malloc((sb->ntexts ? sb->ntexts : 1) * sizeof *order);
    frame_info fi;
    pdb_status st = frames(sb, &fi);
    pending *pend = calloc((size_t)sb->npolys + 1, sizeof *pend);
    size_t npend = 0;
    size_t cap = (size_t)sb->npolys + sb->ntexts + 1;

    sb->recs = calloc(cap, sizeof *sb->recs);
    sb->labels = calloc(cap, sizeof *sb->labels);
    if (st == PDB_OK && (in == NULL || mine == NULL || start == NULL || order == NULL ||
                         pend == NULL || sb->recs == NULL || sb->labels == NULL))
        st = pdbi__fail(sb->ic, PDB_ENOMEM, "out of memory");
    if (st == PDB_OK)
        st = place_texts(sb, sb->polys, sb->npolys, in, sb->texts, sb->ntexts,
                         (1 << ROLE_NUMBER) | (1 << ROLE_LANDUSE) | (1 << ROLE_AREA));
    /* Texts by polygon (counting sort). */
    for (size_t t = 0; st == PDB_OK && t < sb->ntexts; t++)
        if (in[t] >= 0)
            start[in[t] + 1]++;
    for (int p = 0; st == PDB_OK && p < sb->npolys; p++)
        start[p + 1] += start[p];
    size_t *fill = st == PDB_OK ? calloc((size_t)sb->npolys + 1, sizeof *fill) : NULL;
    if (st == PDB_OK && fill == NULL)
        st = pdbi__fail(sb->ic, PDB_ENOMEM, "out of memory");
    for (size_t t = 0; st == PDB_OK && t < sb->ntexts; t++)
        if (in[t] >= 0)
            order[start[in[t]] + fill[in[t]]++] = t;
    free(fill);
    for (int p = 0; st == PDB_OK && p < sb->npolys; p++) {
        const GEOSGeometry *poly = GEOSGetGeometryN_r(sb->g, sb->polys, p);
        const char *lu = NULL, *area = NULL;
        size_t n = 0;
        for (size_t k = start[p]; k < start[p + 1]; k++) {
            text_el *t = &sb->texts[order[k]];
            if (t->role == ROLE_NUMBER)
                mine[n++] = t;
            else if (t->role == ROLE_LANDUSE && lu == NULL)
                lu = t->text;
            else if (t->role == ROLE_AREA && area == NULL)
                area = t->text;
        }
        char nums[4][64], sheet[16], former[8];
        int nn = polygon_numbers(sb, mine, n, nums);
        GEOSGeometry *pos = GEOSPointOnSurface_r(sb->g, poly);
        double x = 0, y = 0, m2 = 0;
        if (pos != NULL) {
            GEOSGeomGetX_r(sb->g, pos, &x);
            GEOSGeomGetY_r(sb->g, pos, &y);
            GEOSGeom_destroy_r(sb->g, pos);
        }
        if (nn == 0 && (non_parcel_code(lu) || (lu == NULL && area == NULL))) {
            GEOSArea_r(sb->g, poly, &m2);
            sb->nonparcel++;
            sb->nonparcel_m2 += m2;
            continue;
        }
        sheet_of(sb, &fi, x, y, nn > 0 ? mine[0]->origin : NULL, sheet, former);
        char *label = dupf("SoTo=%s;SoThua=%s;LoaiDat=%s;DienTich=%s;MaXaCu=%s", sheet,
                           nn > 0 ? nums[0] : "", lu ? lu : "", area ? area : "", former);
        OGRGeometryH og = to_ogr(sb, poly);
        if (nn == 0)
            st = add_rec(sb, og, x, y, label, "no-number",
                         dupf("a polygon with texts (land use %s, area %s) but no number on the "
                              "number level",
                              lu ? lu : "-", area ? area : "-"));
        else if (nn > 1)
            st = add_rec(sb, og, x, y, label, "two-numbers",
                         dupf("one polygon holds the numbers %s and %s%s (an unclosed boundary "
                              "between them?)",
                              nums[0], nums[1], nn > 2 ? " and more" : ""));
        else {
            OGR_G_DestroyGeometry(og);
            char *key = dupf("%s|%s|%s", former, sheet, nums[0]);
            if (key == NULL || label == NULL) {
                free(key);
                free(label);
                st = pdbi__fail(sb->ic, PDB_ENOMEM, "out of memory");
            } else {
                pend[npend++] = (pending){key, label, p, x, y};
            }
        }
    }
    if (st == PDB_OK)
        st = merge_parts(sb, pend, npend);
    for (size_t i = 0; i < npend; i++)
        free(pend[i].key); /* the labels moved into records (or were freed) */
    free(pend);
    /* Numbers outside every polygon. */
    for (size_t t = 0; st == PDB_OK && t < sb->ntexts; t++) {
        if (sb->texts[t].role != ROLE_NUMBER || in[t] >= 0)
            continue;
        OGRGeometryH pt = OGR_G_CreateGeometry(wkbPoint);
        OGR_G_SetPoint_2D(pt, 0, sb->texts[t].x, sb->texts[t].y);
        st = add_rec(sb, pt, sb->texts[t].x, sb->texts[t].y, dupf("SoThua=%s", sb->texts[t].text),
                     "number-without-polygon",
                     dupf("number %s at (%.3f, %.3f) lies in no polygon of the boundary lines",
                          sb->texts[t].text, sb->texts[t].x, sb->texts[t].y));
    }
    if (sb->label_notes > MAX_NOTES)
        note(sb, "%d more lines about doubled, split and multi-polygon numbers not shown",
             sb->label_notes - MAX_NOTES);
    if (st == PDB_OK && sb->nonparcel > 0)
        note(sb,
             "%zu polygons without a number (roads, water, land between blocks: %.1f m2) "
             "are no parcels: not stored",
             sb->nonparcel, sb->nonparcel_m2);
    for (int i = 0; fi.prep != NULL && i < fi.n; i++)
        if (fi.prep[i] != NULL)
            GEOSPreparedGeom_destroy_r(sb->g, fi.prep[i]);
    free(fi.prep);
    GEOSGeom_destroy_r(sb->g, fi.polys);
    free(fi.sheet);
    free(fi.former);
    free(fi.files);
    free(in);
    free(mine);
    free(start);
    free(order);
    return st;
}

pdb_status pdbi__sheets_build(pdbi_ctx *ic, pdbi_file *f, pdbi_layer *L, const pdbi_cad_rec *bounds,
                              size_t nb)
{
    sheet_build sb;
    size_t other = 0;
    pdb_status st;

    memset(&sb, 0, sizeof sb);
    sb.ic = ic;
    sb.f = f;
    sb.L = L;
    sb.log = f->opts->log;
    sb.g = GEOS_init_r();
    if (sb.g == NULL)
        return pdbi__fail(ic, PDB_ENOMEM, "cannot start GEOS");
    st = levels_load(ic, f->opts->levels_path, &sb.lv);
    if (st == PDB_OK)
        st = collect(&sb, bounds, nb, &other);
    if (st == PDB_OK && sb.nboundary == 0) {
        char lev[256];
        size_t used = 0;
        for (int i = 0; i < sb.lv.n[ROLE_BOUNDARY] && used < sizeof lev; i++)
            used += (size_t)snprintf(lev + used, sizeof lev - used, "%s%s", i ? " or " : "",
                                     sb.lv.values[ROLE_BOUNDARY][i]);
        st = pdbi__fail(ic, PDB_EINVAL,
                        "a line-and-label sheet with no line on the boundary level or layer (%s; "
                        "--levels FILE maps others): nothing to import",
                        lev);
    }
    if (st == PDB_OK) {
        note(&sb,
             "read as a line-and-label sheet%s: %zu boundary lines, %zu frame lines, %zu "
             "texts, %zu entities on other levels ignored",
             f->opts->sheets ? " (--sheets)" : " (lines and number texts, no closed shapes)",
             sb.nlines, sb.nframes, sb.ntexts, other);
        if (f->ncompanions > 0)
            note(&sb, "with %zu other sheet file%s of the same commune, as one drawing",
                 f->ncompanions, f->ncompanions == 1 ? "" : "s");
        st = polygonize(&sb);
    }
    if (st == PDB_OK)
        st = make_records(&sb);
    if (st == PDB_OK) {
        /* The records replace the layer's labels and keys. */
        for (size_t i = 0; i < L->nlabels; i++) {
            free(L->labels[i].text);
            OGR_F_Destroy(L->labels[i].feat);
        }
        free(L->labels);
        for (size_t k = 0; k < L->nfields; k++)
            free(L->fields[k]);
        free(L->fields);
        free(L->numeric);
        static const char *const keys[] = {"SoTo", "SoThua", "LoaiDat", "DienTich", "MaXaCu"};
        L->fields = calloc(PDBI_COUNTOF(keys), sizeof *L->fields);
        L->numeric = calloc(PDBI_COUNTOF(keys), sizeof *L->numeric);
        L->nfields = 0;
        for (size_t k = 0; L->fields != NULL && L->numeric != NULL && k < PDBI_COUNTOF(keys); k++)
            if ((L->fields[k] = strdup(keys[k])) != NULL)
                L->nfields++;
        L->labels = sb.labels;
        L->nlabels = sb.nrecs;
        L->recs = sb.recs;
        L->nrecs = sb.nrecs;
        L->records = (int64_t)sb.nrecs;
        sb.labels = NULL;
        sb.recs = NULL;
        if (L->nfields != PDBI_COUNTOF(keys))
            st = pdbi__fail(ic, PDB_ENOMEM, "out of memory");
    }
    for (size_t i = 0; sb.recs != NULL && i < sb.nrecs; i++) {
        OGR_F_Destroy(sb.recs[i].feat);
        free(sb.recs[i].detail);
        free(sb.labels[i].text);
    }
    free(sb.recs);
    free(sb.labels);
    for (size_t i = 0; i < sb.nlines; i++)
        GEOSGeom_destroy_r(sb.g, sb.lines[i]);
    for (size_t i = 0; i < sb.nframes; i++)
        GEOSGeom_destroy_r(sb.g, sb.frames[i]);
    free(sb.lines);
    free(sb.frames);
    free(sb.texts);
    GEOSGeom_destroy_r(sb.g, sb.polys);
    levels_free(&sb.lv);
    GEOS_finish_r(sb.g);
    return st;
}
