/*
 * source.c: a survey file as GDAL/OGR opens it: the driver's open options,
 * the layers that hold geometries, their fields (or, for DXF and DGN, the
 * "key=value" text labels that carry a CAD drawing's attributes), and one
 * quick pass without geometries that counts records, tallies communes and
 * samples text for encoding detection.
 */
#include "dgn7.h"
#include "imp_ogr.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Text samples kept for encoding detection. */
#define MAX_SAMPLES 4000

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* path with its extension replaced by ext (tried as given and upper case). */
static char *sidecar(const char *path, const char *ext)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    size_t stem =
        (dot != NULL && (slash == NULL || dot > slash)) ? (size_t)(dot - path) : strlen(path);
    char *p = malloc(stem + strlen(ext) + 2);
    if (p == NULL)
        return NULL;
    memcpy(p, path, stem);
    p[stem] = '.';
    strcpy(p + stem + 1, ext);
    if (file_exists(p))
        return p;
    for (char *c = p + stem + 1; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    if (file_exists(p))
        return p;
    free(p);
    return NULL;
}

static int has_ext(const char *path, const char *ext)
{
    const char *dot = strrchr(path, '.');
    return dot != NULL && strcasecmp(dot + 1, ext) == 0;
}

char **pdbi__source_parts(const char *path, size_t *n)
{
    static const char *const shp_parts[] = {"shp", "shx", "dbf", "prj", "cpg"};
    char **parts = calloc(PDBI_COUNTOF(shp_parts) + 1, sizeof *parts);

    *n = 0;
    if (parts == NULL)
        return NULL;
    if (has_ext(path, "shp") || has_ext(path, "dbf")) {
        for (size_t i = 0; i < PDBI_COUNTOF(shp_parts); i++) {
            char *p = sidecar(path, shp_parts[i]);
            if (p != NULL)
                parts[(*n)++] = p;
        }
        if (*n > 0)
            return parts;
    }
    parts[0] = strdup(path);
    *n = parts[0] != NULL;
    return parts;
}

/* The .cpg sidecar's code page, trimmed, or "" when there is none. */
static void read_cpg(const char *path, char *out, size_t len)
{
    char *cpg = sidecar(path, "cpg");
    out[0] = '\0';
    if (cpg == NULL)
        return;
    FILE *f = fopen(cpg, "rb");
    free(cpg);
    if (f == NULL)
        return;
    size_t got = fread(out, 1, len - 1, f);
    fclose(f);
    out[got] = '\0';
    char *s = out;
    while (*s && isspace((unsigned char)*s))
        s++;
    memmove(out, s, strlen(s) + 1);
    size_t l = strlen(out);
    while (l > 0 && isspace((unsigned char)out[l - 1]))
        out[--l] = '\0';
}

/* A .dgn file GDAL would misread: a DGN v8 (an OLE compound file, which
 * GDAL's DGN driver does not read) or a v7 file cut short (it reads the
 * elements before the cut without a word): a v7 design file ends with the
 * end-of-design marker 0xFFFF (then, in some, zeros to the block's end). */
static pdb_status dgn_check(pdbi_ctx *ic, const char *path)
{
    static const unsigned char ole[8] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};
    unsigned char head[8] = {0}, tail[512];
    if (!has_ext(path, "dgn"))
        return PDB_OK;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return PDB_OK; /* GDAL says why */
    size_t nh = fread(head, 1, sizeof head, fp);
    long size = fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : -1;
    /* The marker, then at most zero padding to the end of a block. */
    size_t nt = size >= 2 && fseek(fp, size > 512 ? -512 : -size, SEEK_END) == 0
                    ? fread(tail, 1, size > 512 ? 512 : (size_t)size, fp)
                    : 0;
    while (nt > 0 && tail[nt - 1] == 0)
        nt--;
    int tail_ok = nt >= 2 && tail[nt - 2] == 0xFF && tail[nt - 1] == 0xFF;
    fclose(fp);
    if (nh == sizeof head && memcmp(head, ole, sizeof ole) == 0)
        return pdbi__fail(ic, PDB_EINVAL,
                          "a DGN v8 file (MicroStation V8, an OLE compound document); GDAL reads "
                          "DGN v7 only: save it as V7 in MicroStation (File > Save As, type "
                          "MicroStation V7 DGN) or convert it with ODA File Converter (output "
                          "DGN V7), then import that");
    if (nh >= 4 && !tail_ok)
        return pdbi__fail(ic, PDB_EINVAL,
                          "a truncated DGN v7 file: its %ld bytes do not end with the "
                          "end-of-design marker; nothing imported (copy it again whole)",
                          size);
    return PDB_OK;
}

pdb_status pdbi__source_open(pdbi_ctx *ic, pdbi_file *f)
{
    char **oo = NULL;
    GDALDriverH drv;

    CPLErrorReset();
    if (dgn_check(ic, f->path) != PDB_OK)
        return PDB_EINVAL;
    drv = GDALIdentifyDriverEx(f->path, GDAL_OF_VECTOR, NULL, NULL);
    if (drv == NULL) {
        return pdbi__fail(ic, PDB_EINVAL, "not a vector format GDAL reads%s%s",
                          CPLGetLastErrorMsg()[0] ? ": " : "", CPLGetLastErrorMsg());
    }
    snprintf(f->driver, sizeof f->driver, "%s", GDALGetDriverShortName(drv));
    f->is_shp = strcmp(f->driver, "ESRI Shapefile") == 0;
    f->cad = strcmp(f->driver, "DXF") == 0 || strcmp(f->driver, "DGN") == 0;
    if (f->is_shp) {
        /* The DBF's bytes as they are: we detect TCVN3 and VNI ourselves. */
        oo = CSLSetNameValue(oo, "ENCODING", "");
    } else if (strcmp(f->driver, "CSV") == 0) {
        oo = CSLSetNameValue(oo, "GEOM_POSSIBLE_NAMES", "WKT,geometry,geom,the_geom,wkt_geom");
        oo = CSLSetNameValue(oo, "KEEP_GEOM_COLUMNS", "NO");
    }
    f->ds =
        GDALOpenEx(f->path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, (const char *const *)oo, NULL);
    CSLDestroy(oo);
    if (f->ds == NULL) {
        return pdbi__fail(ic, PDB_EIO, "cannot open with GDAL (%s): %s", f->driver,
                          CPLGetLastErrorMsg()[0] ? CPLGetLastErrorMsg() : "unknown error");
    }
    int n = GDALDatasetGetLayerCount(f->ds);
    f->layers = calloc((size_t)(n > 0 ? n : 1), sizeof *f->layers);
    if (f->layers == NULL) {
        return pdbi__fail(ic, PDB_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        OGRLayerH lyr = GDALDatasetGetLayer(f->ds, i);
        OGRFeatureDefnH defn = OGR_L_GetLayerDefn(lyr);
        /* Attribute-only tables (a GPKG's extra tables) hold no parcels. */
        if (OGR_FD_GetGeomFieldCount(defn) == 0)
            continue;
        pdbi_layer *L = &f->layers[f->nlayers++];
        L->layer = lyr;
        L->name = strdup(OGR_L_GetName(lyr));
        L->cad = f->cad;
        L->text_field = OGR_FD_GetFieldIndex(defn, "Text");
        for (int t = 0; t < PDBI_T_COUNT; t++)
            L->map[t] = -1;
        if (!L->cad) {
            int nf = OGR_FD_GetFieldCount(defn);
            L->fields = calloc((size_t)(nf > 0 ? nf : 1), sizeof *L->fields);
            L->numeric = calloc((size_t)(nf > 0 ? nf : 1), sizeof *L->numeric);
            if (L->name == NULL || L->fields == NULL || L->numeric == NULL) {
                return pdbi__fail(ic, PDB_ENOMEM, "out of memory");
            }
            for (int k = 0; k < nf; k++) {
                OGRFieldDefnH fd = OGR_FD_GetFieldDefn(defn, k);
                OGRFieldType ft = OGR_Fld_GetType(fd);
                L->fields[k] = strdup(OGR_Fld_GetNameRef(fd));
                L->numeric[k] = ft == OFTInteger || ft == OFTInteger64 || ft == OFTReal;
                L->nfields++;
            }
        }
    }
    if (f->nlayers == 0)
        return pdbi__fail(ic, PDB_EINVAL, "holds no layer with geometries");
    return PDB_OK;
}

void pdbi__source_close(pdbi_file *f)
{
    for (size_t i = 0; i < f->nlayers; i++) {
        pdbi_layer *L = &f->layers[i];
        free(L->name);
        for (size_t k = 0; k < L->nfields; k++)
            free(L->fields[k]);
        free(L->fields);
        free(L->numeric);
        for (size_t k = 0; k < L->nlabels; k++) {
            free(L->labels[k].text);
            OGR_F_Destroy(L->labels[k].feat);
        }
        for (size_t k = 0; k < L->nrecs; k++) {
            OGR_F_Destroy(L->recs[k].feat);
            free(L->recs[k].detail);
        }
        free(L->recs);
        free(L->labels);
        free(L->grid_start);
        free(L->grid_items);
    }
    free(f->layers);
    f->layers = NULL;
    f->nlayers = 0;
    for (size_t i = 0; i < f->nsamples; i++)
        free(f->samples[i]);
    free(f->samples);
    free(f->sample_lens);
    f->samples = NULL;
    f->nsamples = 0;
    free(f->communes);
    f->communes = NULL;
    f->ncommunes = 0;
    if (f->ds != NULL)
        GDALClose(f->ds);
    f->ds = NULL;
}

/* Counts one record of commune code (text as read). */
static int tally_commune(pdbi_file *f, const char *s, size_t len, int64_t add)
{
    char code[6];

    if (pdbi__commune_normalize(s, len, code) != 0 || pdbi__commune_known(code) == NULL)
        return 0;
    for (size_t i = 0; i < f->ncommunes; i++) {
        if (strcmp(f->communes[i].code, code) == 0) {
            f->communes[i].n += add;
            f->communes[i].layer_last = f->cur_layer;
            return 1;
        }
    }
    pdbi_commune_count *bigger = realloc(f->communes, (f->ncommunes + 1) * sizeof *bigger);
    if (bigger == NULL)
        return 0;
    f->communes = bigger;
    memcpy(f->communes[f->ncommunes].code, code, 6);
    f->communes[f->ncommunes].n = add;
    f->communes[f->ncommunes].layer_first = f->cur_layer;
    f->communes[f->ncommunes].layer_last = f->cur_layer;
    f->ncommunes++;
    return 1;
}

static void add_sample(pdbi_file *f, const char *s, size_t len)
{
    if (f->nsamples >= MAX_SAMPLES || len == 0 || pdbi__is_ascii(s, len))
        return;
    if (f->samples == NULL) {
        f->samples = calloc(MAX_SAMPLES, sizeof *f->samples);
        f->sample_lens = calloc(MAX_SAMPLES, sizeof *f->sample_lens);
        if (f->samples == NULL || f->sample_lens == NULL)
            return;
    }
    char *copy = strndup(s, len);
    if (copy == NULL)
        return;
    f->samples[f->nsamples] = copy;
    f->sample_lens[f->nsamples] = len;
    f->nsamples++;
}

/* ------------------------------------------------------------------------ */
/* CAD labels                                                                */
/* ------------------------------------------------------------------------ */

struct key_collect {
    pdbi_layer *L; /* the layer whose keys grow */
    int oom;       /* set when out of memory */
};

static void collect_key(void *arg, const char *key, size_t klen, const char *val, size_t vlen)
{
    struct key_collect *kc = arg;
    pdbi_layer *L = kc->L;
    (void)val;
    (void)vlen;
    for (size_t i = 0; i < L->nfields; i++)
        if (strlen(L->fields[i]) == klen && strncasecmp(L->fields[i], key, klen) == 0)
            return;
    char **bigger = realloc(L->fields, (L->nfields + 1) * sizeof *bigger);
    int *bnum = realloc(L->numeric, (L->nfields + 1) * sizeof *bnum);
    if (bigger != NULL)
        L->fields = bigger;
    if (bnum != NULL)
        L->numeric = bnum;
    if (bigger == NULL || bnum == NULL || (L->fields[L->nfields] = strndup(key, klen)) == NULL) {
        kc->oom = 1;
        return;
    }
    L->numeric[L->nfields] = 0;
    L->nfields++;
}

struct label_scan {
    pdbi_file *f;  /* for tallies and samples */
    pdbi_layer *L; /* the layer's keys */
};

static void scan_pair(void *arg, const char *key, size_t klen, const char *val, size_t vlen)
{
    struct label_scan *ls = arg;
    pdbi_layer *L = ls->L;
    for (int t = 0; t < PDBI_T_COUNT; t++) {
        int k = L->map[t];
        if (k < 0 || strlen(L->fields[k]) != klen || strncasecmp(L->fields[k], key, klen) != 0)
            continue;
        if (t == PDBI_T_COMMUNE)
            tally_commune(ls->f, val, vlen, 0);
        if (t == PDBI_T_OWNER || t == PDBI_T_ADDRESS)
            add_sample(ls->f, val, vlen);
    }
}

static int build_grid(pdbi_layer *L)
{
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;

    if (L->nlabels == 0)
        return 0;
    for (size_t i = 0; i < L->nlabels; i++) {
        x0 = fmin(x0, L->labels[i].x);
        y0 = fmin(y0, L->labels[i].y);
        x1 = fmax(x1, L->labels[i].x);
        y1 = fmax(y1, L->labels[i].y);
    }
    double side = sqrt((double)L->nlabels);
    double cell = fmax(x1 - x0, y1 - y0) / fmax(side, 1.0);
    if (!(cell > 0))
        cell = 1.0;
    L->grid_x0 = x0;
    L->grid_y0 = y0;
    L->grid_cell = cell;
    L->grid_w = (int)fmin(1024.0, floor((x1 - x0) / cell) + 1);
    L->grid_h = (int)fmin(1024.0, floor((y1 - y0) / cell) + 1);
    size_t ncells = (size_t)L->grid_w * (size_t)L->grid_h;
    L->grid_start = calloc(ncells + 1, sizeof *L->grid_start);
    L->grid_items = malloc(L->nlabels * sizeof *L->grid_items);
    size_t *fill = calloc(ncells, sizeof *fill);
    if (L->grid_start == NULL || L->grid_items == NULL || fill == NULL) {
        free(fill);
        return -1;
    }
#define CELL_OF(lab)                                                                               \
    ((size_t)fmin(L->grid_h - 1, floor(((lab).y - y0) / cell)) * (size_t)L->grid_w +               \
     (size_t)fmin(L->grid_w - 1, floor(((lab).x - x0) / cell)))
    for (size_t i = 0; i < L->nlabels; i++)
        L->grid_start[CELL_OF(L->labels[i]) + 1]++;
    for (size_t c = 0; c < ncells; c++)
        L->grid_start[c + 1] += L->grid_start[c];
    for (size_t i = 0; i < L->nlabels; i++) {
        size_t c = CELL_OF(L->labels[i]);
        L->grid_items[L->grid_start[c] + fill[c]++] = i;
    }
#undef CELL_OF
    free(fill);
    return 0;
}

/* Squared distance from (x, y) to the segment (ax, ay)-(bx, by). */
static double seg_dist2(double x, double y, double ax, double ay, double bx, double by)
{
    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / len2 : 0.0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double ex = ax + t * dx - x, ey = ay + t * dy - y;
    return ex * ex + ey * ey;
}

/* A label on a boundary (the centroid of a self-intersecting ring falls on
 * its crossing) still belongs to it: within 1 mm counts as inside. */
#define ON_BOUNDARY_M 0.001

/* Ray casting: 1 inside, 0 outside, 2 on the ring (within ON_BOUNDARY_M). */
static int in_ring(OGRGeometryH ring, double x, double y)
{
    int n = OGR_G_GetPointCount(ring), inside = 0;
    for (int i = 0, j = n - 1; i < n; j = i++) {
        double xi = OGR_G_GetX(ring, i), yi = OGR_G_GetY(ring, i);
        double xj = OGR_G_GetX(ring, j), yj = OGR_G_GetY(ring, j);
        if (seg_dist2(x, y, xi, yi, xj, yj) <= ON_BOUNDARY_M * ON_BOUNDARY_M)
            return 2;
        if (((yi > y) != (yj > y)) && (x < (xj - xi) * (y - yi) / (yj - yi) + xi))
            inside = !inside;
    }
    return inside;
}

/* 1 when (x, y) is inside g (or on its boundary); with holes = 0 the
 * holes are ignored (a label dropped in the hole of its own parcel). */
static int in_polygon(OGRGeometryH g, double x, double y, int holes)
{
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
    int n = OGR_G_GetGeometryCount(g);
    if (t == wkbPolygon) {
        int outer = n > 0 ? in_ring(OGR_G_GetGeometryRef(g, 0), x, y) : 0;
        if (outer != 1)
            return outer == 2;
        for (int i = 1; holes && i < n; i++) {
            int hole = in_ring(OGR_G_GetGeometryRef(g, i), x, y);
            if (hole == 1)
                return 0;
            if (hole == 2)
                return 1;
        }
        return 1;
    }
    if (t == wkbMultiPolygon || t == wkbGeometryCollection) {
        for (int i = 0; i < n; i++)
            if (in_polygon(OGR_G_GetGeometryRef(g, i), x, y, holes))
                return 1;
        return 0;
    }
    /* A closed polyline not (yet) made a polygon. */
    if (t == wkbLineString && OGR_G_GetPointCount(g) >= 4 &&
        OGR_G_GetX(g, 0) == OGR_G_GetX(g, OGR_G_GetPointCount(g) - 1) &&
        OGR_G_GetY(g, 0) == OGR_G_GetY(g, OGR_G_GetPointCount(g) - 1))
        return in_ring(g, x, y) != 0;
    return 0;
}

/* How hard label_inside looks. */
enum {
    LABEL_INSIDE,  /* inside the polygon, holes excluded */
    LABEL_IN_HOLE, /* unused, inside the exterior ring (a label in its own hole) */
    LABEL_IN_BOX,  /* unused, inside the envelope (a line, a bow-tie) */
    LABEL_NEAR     /* unused, within half the envelope's size of it (a label
                    * placed beside a small parcel, or at the "centroid" of a
                    * self-intersecting ring, which may lie outside it) */
};

/* The label inside geom nearest the middle of its envelope, or -1. After
 * the first mode, labels a boundary took already are skipped: these are
 * the second and third chances of a boundary left without a label. */
static long label_inside(const pdbi_layer *L, OGRGeometryH geom, int mode)
{
    int unused_only = mode != LABEL_INSIDE;
    OGREnvelope env;
    long best = -1;
    double best_d2 = INFINITY;

    if (L->nlabels == 0 || geom == NULL || OGR_G_IsEmpty(geom))
        return -1;
    OGR_G_GetEnvelope(geom, &env);
    double pad = ON_BOUNDARY_M;
    if (mode == LABEL_NEAR)
        pad = fmax(env.MaxX - env.MinX, env.MaxY - env.MinY) / 2;
    double mx = (env.MinX + env.MaxX) / 2, my = (env.MinY + env.MaxY) / 2;
    int cx0 = (int)floor((env.MinX - pad - L->grid_x0) / L->grid_cell);
    int cy0 = (int)floor((env.MinY - pad - L->grid_y0) / L->grid_cell);
    int cx1 = (int)floor((env.MaxX + pad - L->grid_x0) / L->grid_cell);
    int cy1 = (int)floor((env.MaxY + pad - L->grid_y0) / L->grid_cell);
    cx0 = cx0 < 0 ? 0 : cx0;
    cy0 = cy0 < 0 ? 0 : cy0;
    cx1 = cx1 >= L->grid_w ? L->grid_w - 1 : cx1;
    cy1 = cy1 >= L->grid_h ? L->grid_h - 1 : cy1;
    for (int cy = cy0; cy <= cy1; cy++) {
        for (int cx = cx0; cx <= cx1; cx++) {
            size_t c = (size_t)cy * (size_t)L->grid_w + (size_t)cx;
            for (size_t k = L->grid_start[c]; k < L->grid_start[c + 1]; k++) {
                size_t li = L->grid_items[k];
                const pdbi_label *lab = &L->labels[li];
                double d2 = (lab->x - mx) * (lab->x - mx) + (lab->y - my) * (lab->y - my);
                if ((unused_only && lab->used) || d2 > best_d2 ||
                    (d2 == best_d2 && (long)li > best) || lab->x < env.MinX - pad ||
                    lab->x > env.MaxX + pad || lab->y < env.MinY - pad || lab->y > env.MaxY + pad ||
                    (mode < LABEL_IN_BOX &&
                     !in_polygon(geom, lab->x, lab->y, mode == LABEL_INSIDE)))
                    continue;
                best = (long)li;
                best_d2 = d2;
            }
        }
    }
    return best;
}

/* The label with this DGN MSLink, or -1 (labels sorted copy by link). */
typedef struct link_entry {
    int mslink; /* the link */
    long label; /* its label */
} link_entry;

static int cmp_link(const void *a, const void *b)
{
    const link_entry *x = a, *y = b;
    return x->mslink != y->mslink ? (x->mslink > y->mslink) - (x->mslink < y->mslink)
                                  : (x->label > y->label) - (x->label < y->label);
}

static long label_by_link(const link_entry *links, size_t n, int mslink)
{
    size_t lo = 0, hi = n;
    if (mslink <= 0)
        return -1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (links[mid].mslink < mslink)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && links[lo].mslink == mslink ? links[lo].label : -1;
}

static int cmp_rec(const void *a, const void *b)
{
    const pdbi_cad_rec *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

/* Adds the polygons of g to the multipolygon mp. */
static void add_polygons(OGRGeometryH mp, OGRGeometryH g)
{
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
    if (t == wkbPolygon) {
        OGR_G_AddGeometry(mp, g);
    } else {
        for (int i = 0; i < OGR_G_GetGeometryCount(g); i++)
            add_polygons(mp, OGR_G_GetGeometryRef(g, i));
    }
}

static int polygonal(OGRGeometryH g)
{
    OGRwkbGeometryType t = g ? wkbFlatten(OGR_G_GetGeometryType(g)) : wkbUnknown;
    return t == wkbPolygon || t == wkbMultiPolygon;
}

/* The boundaries of a CAD layer while it is read: its features that are
 * not labels. */
typedef struct cad_bounds {
    pdbi_cad_rec *items; /* .label: first the DGN MSLink, then the label taken */
    size_t n, cap;       /* used and allocated entries */
} cad_bounds;

/* Reads a CAD layer whole: text points become the layer's labels (and
 * their keys its fields), everything else a boundary. Returns 0, or -1
 * with a message. */
static pdb_status cad_read(pdbi_ctx *ic, pdbi_layer *L, cad_bounds *B)
{
    OGRFeatureH feat;
    size_t labcap = 0;
    struct key_collect kc = {L, 0};
    int mslink_field = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(L->layer), "MSLink");
    int64_t index = 0;

    OGR_L_ResetReading(L->layer);
    CPLErrorReset();
    for (; (feat = OGR_L_GetNextFeature(L->layer)) != NULL; index++) {
        OGRGeometryH g = OGR_F_GetGeometryRef(feat);
        const char *text = L->text_field >= 0 && OGR_F_IsFieldSetAndNotNull(feat, L->text_field)
                               ? OGR_F_GetFieldAsString(feat, L->text_field)
                               : "";
        int link = mslink_field >= 0 && OGR_F_IsFieldSetAndNotNull(feat, mslink_field)
                       ? OGR_F_GetFieldAsInteger(feat, mslink_field)
                       : 0;
        if (g != NULL && wkbFlatten(OGR_G_GetGeometryType(g)) == wkbPoint && text[0] != '\0') {
            if (L->nlabels == labcap) {
                labcap = labcap ? 2 * labcap : 256;
                pdbi_label *bigger = realloc(L->labels, labcap * sizeof *bigger);
                if (bigger == NULL)
                    goto oom;
                L->labels = bigger;
            }
            pdbi_label *lab = &L->labels[L->nlabels];
            memset(lab, 0, sizeof *lab);
            lab->x = OGR_G_GetX(g, 0);
            lab->y = OGR_G_GetY(g, 0);
            lab->index = index;
            lab->mslink = link;
            if ((lab->text = strdup(text)) == NULL)
                goto oom;
            lab->feat = feat;
            L->nlabels++;
            pdbi__label_pairs(lab->text, collect_key, &kc);
        } else {
            if (B->n == B->cap) {
                B->cap = B->cap ? 2 * B->cap : 256;
                pdbi_cad_rec *bigger = realloc(B->items, B->cap * sizeof *bigger);
                if (bigger == NULL)
                    goto oom;
                B->items = bigger;
            }
            B->items[B->n].index = index;
            B->items[B->n].feat = feat;
            B->items[B->n].label = link; /* the link for now; the label in cad_join */
            B->items[B->n].reason = NULL;
            B->items[B->n].detail = NULL;
            B->n++;
        }
    }
    if (CPLGetLastErrorType() == CE_Failure)
        return pdbi__fail(ic, PDB_EIO, "read error: %s", CPLGetLastErrorMsg());
    if (kc.oom || build_grid(L) != 0)
        goto oom;
    return PDB_OK;
oom:
    OGR_F_Destroy(feat);
    return pdbi__fail(ic, PDB_ENOMEM, "out of memory");
}

/* ------------------------------------------------------------------------ */
/* DGN sheets through our own reader (dgn7.c)                                */
/* ------------------------------------------------------------------------ */

/* GDAL's DGN driver builds style strings and a link JSON for every element
 * of a sheet, whether asked for or not: half the import of a sheet. The
 * reader of dgn7.c gives the same geometries, levels and texts without
 * them; its features hold only what the sheet build reads (Level, Text). */

static int is_dgn(const pdbi_file *f)
{
    return strcmp(f->driver, "DGN") == 0;
}

/* Adds a boundary feature made from the reader's element. */
static OGRGeometryH dgn_geometry(const pdbi_dgn7 *d, const pdbi_dgn7_elem *el)
{
    OGRGeometryH g = NULL;
    for (size_t k = 0; k < el->nparts; k++) {
        const pdbi_dgn7_part *p = &d->parts[el->first_part + k];
        const double *xy = d->xy + 2 * p->first;
        OGRGeometryH ls =
            OGR_G_CreateGeometry(el->type == PDBI_DGN7_SHAPE ? wkbLinearRing : wkbLineString);
        if (ls == NULL)
            break;
        OGR_G_SetPoints(ls, (int)p->n, xy, 2 * sizeof *xy, xy + 1, 2 * sizeof *xy, NULL, 0);
        if (el->type == PDBI_DGN7_SHAPE) {
            g = OGR_G_CreateGeometry(wkbPolygon);
            OGR_G_AddGeometryDirectly(g, ls);
        } else if (el->type == PDBI_DGN7_LINE || el->type == PDBI_DGN7_LINE_STRING) {
            g = ls;
        } else {
            if (g == NULL)
                g = OGR_G_CreateGeometry(wkbMultiLineString);
            OGR_G_AddGeometryDirectly(g, ls);
        }
    }
    if (g == NULL && el->nparts == 0) /* a complex element without line work */
        g = OGR_G_CreateGeometry(wkbMultiLineString);
    return g;
}

/* Empties what a read put in L and B (labels and boundaries). */
static void cad_clear(pdbi_layer *L, cad_bounds *B)
{
    for (size_t i = 0; i < L->nlabels; i++) {
        free(L->labels[i].text);
        OGR_F_Destroy(L->labels[i].feat);
    }
    L->nlabels = 0;
    for (size_t b = 0; b < B->n; b++)
        OGR_F_Destroy(B->items[b].feat);
    B->n = 0;
    for (size_t k = 0; k < L->nfields; k++)
        free(L->fields[k]);
    L->nfields = 0;
    free(L->grid_start);
    free(L->grid_items);
    L->grid_start = NULL;
    L->grid_items = NULL;
}

/* Reads a DGN file's layer with the reader of dgn7.c into the labels and
 * boundaries cad_read makes from GDAL's features, in the same order with
 * the same feature indices. *own is 0 (nothing read) when the file holds
 * elements GDAL draws and the reader does not (arcs, curves, ...): they
 * are counted and said, and the caller reads the file through GDAL. A
 * file the reader cannot read fails with the offset of the element. */
static pdb_status dgn_read_own(pdbi_ctx *ic, const pdbi_file *f, pdbi_layer *L, cad_bounds *B,
                               int *own)
{
    pdbi_dgn7 d;
    OGRFeatureDefnH defn = NULL;
    struct key_collect kc = {L, 0};
    size_t labcap = 0;
    pdb_status st = pdbi__dgn7_read_file(ic, f->path, &d);

    *own = 0;
    if (st != PDB_OK)
        return st;
    if (d.unread_graphic > 0) {
        if (f->opts->log != NULL) {
            char list[400] = "", name[32];
            size_t used = 0;
            for (int t = 0; t < 128; t++) {
                const char *nm = pdbi__dgn7_type_name(t, name, sizeof name);
                if (d.by_type[t] == 0 || t == PDBI_DGN7_TCB || used >= sizeof list)
                    continue;
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s: %zu",
                                         used ? ", " : "", nm, d.by_type[t]);
            }
            fprintf(f->opts->log,
                    "parceldb: %s: DGN: %zu elements of types the sheet reader does not read "
                    "(%s): the file is read through GDAL's DGN driver\n",
                    f->path, d.unread_graphic, list);
        }
        pdbi__dgn7_free(&d);
        return PDB_OK;
    }
    defn = OGR_FD_Create("elements");
    OGRFieldDefnH fl = OGR_Fld_Create("Level", OFTInteger);
    OGRFieldDefnH ft = OGR_Fld_Create("Text", OFTString);
    if (defn != NULL && fl != NULL && ft != NULL) {
        OGR_FD_AddFieldDefn(defn, fl); /* copies */
        OGR_FD_AddFieldDefn(defn, ft);
    }
    if (fl != NULL)
        OGR_Fld_Destroy(fl);
    if (ft != NULL)
        OGR_Fld_Destroy(ft);
    if (defn == NULL || fl == NULL || ft == NULL)
        goto oom;
    OGR_FD_Reference(defn); /* ours until the end; then the features' */
    for (size_t i = 0; i < d.nelems; i++) {
        const pdbi_dgn7_elem *el = &d.elems[i];
        OGRFeatureH feat = OGR_F_Create(defn);
        if (feat == NULL)
            goto oom;
        OGR_F_SetFieldInteger(feat, 0, el->level);
        if (el->type == PDBI_DGN7_TEXT) {
            const char *text = d.chars + el->text;
            OGRGeometryH pt = OGR_G_CreateGeometry(wkbPoint);
            OGR_G_SetPoint_2D(pt, 0, el->x, el->y);
            OGR_F_SetGeometryDirectly(feat, pt);
            OGR_F_SetFieldString(feat, 1, text);
            if (text[0] != '\0') {
                if (L->nlabels == labcap) {
                    labcap = labcap ? 2 * labcap : 256;
                    pdbi_label *bigger = realloc(L->labels, labcap * sizeof *bigger);
                    if (bigger == NULL) {
                        OGR_F_Destroy(feat);
                        goto oom;
                    }
                    L->labels = bigger;
                }
                pdbi_label *lab = &L->labels[L->nlabels];
                memset(lab, 0, sizeof *lab);
                lab->x = el->x;
                lab->y = el->y;
                lab->index = (int64_t)i;
                lab->feat = feat;
                if ((lab->text = strdup(text)) == NULL) {
                    OGR_F_Destroy(feat);
                    goto oom;
                }
                L->nlabels++;
                pdbi__label_pairs(lab->text, collect_key, &kc);
                continue;
            }
        } else {
            OGR_F_SetGeometryDirectly(feat, dgn_geometry(&d, el));
        }
        if (B->n == B->cap) {
            B->cap = B->cap ? 2 * B->cap : 256;
            pdbi_cad_rec *bigger = realloc(B->items, B->cap * sizeof *bigger);
            if (bigger == NULL) {
                OGR_F_Destroy(feat);
                goto oom;
            }
            B->items = bigger;
        }
        B->items[B->n++] = (pdbi_cad_rec){(int64_t)i, feat, 0, NULL, NULL};
    }
    if (kc.oom || build_grid(L) != 0)
        goto oom;
    OGR_FD_Release(defn);
    pdbi__dgn7_free(&d);
    *own = 1;
    return PDB_OK;
oom:
    cad_clear(L, B);
    if (defn != NULL)
        OGR_FD_Release(defn);
    pdbi__dgn7_free(&d);
    return pdbi__fail(ic, PDB_ENOMEM, "out of memory");
}

/* Joins each boundary to its label: the label inside it (the nearest its
 * middle when there are several: an island parcel may hold its own label
 * and the one of the parcel around it); then, for a boundary left without,
 * the DGN label with its MSLink, or an unused label in its hole; last, an
 * unused label inside its envelope (an open polyline), then near it.
 * Returns 0, or -1 when out of memory. */
static int cad_join(pdbi_layer *L, cad_bounds *B)
{
    link_entry *links = malloc((L->nlabels ? L->nlabels : 1) * sizeof *links);
    int *link_of = malloc((B->n ? B->n : 1) * sizeof *link_of);
    pdbi_cad_rec *bounds = B->items;

    if (links == NULL || link_of == NULL) {
        free(links);
        free(link_of);
        return -1;
    }
    for (size_t i = 0; i < L->nlabels; i++) {
        links[i].mslink = L->labels[i].mslink;
        links[i].label = (long)i;
    }
    qsort(links, L->nlabels, sizeof *links, cmp_link);
    for (size_t b = 0; b < B->n; b++) {
        link_of[b] = (int)bounds[b].label;
        bounds[b].label = label_inside(L, OGR_F_GetGeometryRef(bounds[b].feat), LABEL_INSIDE);
        if (bounds[b].label >= 0)
            L->labels[bounds[b].label].used = 1;
    }
    for (size_t b = 0; b < B->n; b++) {
        if (bounds[b].label < 0)
            bounds[b].label = label_by_link(links, L->nlabels, link_of[b]);
        if (bounds[b].label < 0)
            bounds[b].label = label_inside(L, OGR_F_GetGeometryRef(bounds[b].feat), LABEL_IN_HOLE);
        if (bounds[b].label >= 0)
            L->labels[bounds[b].label].used = 1;
    }
    for (int mode = LABEL_IN_BOX; mode <= LABEL_NEAR; mode++) {
        for (size_t b = 0; b < B->n; b++) {
            if (bounds[b].label < 0)
                bounds[b].label = label_inside(L, OGR_F_GetGeometryRef(bounds[b].feat), mode);
            if (bounds[b].label >= 0)
                L->labels[bounds[b].label].used = 1;
        }
    }
    free(link_of);
    free(links);
    return 0;
}

/* Merges another part of a parcel into the record that has its first. */
static void cad_merge_part(pdbi_cad_rec *r, OGRFeatureH part_feat)
{
    OGRGeometryH have = OGR_F_GetGeometryRef(r->feat);
    OGRGeometryH part = OGR_F_GetGeometryRef(part_feat);
    if (polygonal(have) && polygonal(part)) {
        OGRGeometryH mp = OGR_G_CreateGeometry(wkbMultiPolygon);
        add_polygons(mp, have);
        add_polygons(mp, part);
        OGR_F_SetGeometryDirectly(r->feat, mp);
    } else {
        OGRGeometryH gc = OGR_G_CreateGeometry(wkbGeometryCollection);
        OGR_G_AddGeometry(gc, have);
        OGR_G_AddGeometry(gc, part);
        OGR_F_SetGeometryDirectly(r->feat, gc);
    }
    OGR_F_Destroy(part_feat);
}

/* Makes the layer's records, in file order: one per label with boundaries
 * (its parts merged), per boundary without a label, and per label without
 * a boundary. The boundaries' features move into the records. Returns 0,
 * or -1 when out of memory. */
static int cad_records(pdbi_layer *L, cad_bounds *B)
{
    long *first = malloc((L->nlabels ? L->nlabels : 1) * sizeof *first); /* per label: its record */

    L->recs = calloc(B->n + L->nlabels + 1, sizeof *L->recs);
    if (first == NULL || L->recs == NULL) {
        free(first);
        return -1;
    }
    for (size_t i = 0; i < L->nlabels; i++)
        first[i] = -1;
    for (size_t b = 0; b < B->n; b++) {
        long lab = B->items[b].label;
        if (lab >= 0 && first[lab] >= 0) {
            cad_merge_part(&L->recs[first[lab]], B->items[b].feat);
            continue;
        }
        if (lab >= 0)
            first[lab] = (long)L->nrecs;
        L->recs[L->nrecs++] = B->items[b];
    }
    B->n = 0; /* every boundary feature now belongs to a record */
    for (size_t i = 0; i < L->nlabels; i++) {
        if (L->labels[i].used)
            continue;
        pdbi_cad_rec *r = &L->recs[L->nrecs++];
        r->index = L->labels[i].index;
        r->feat = L->labels[i].feat;
        L->labels[i].feat = NULL;
        r->label = (long)i;
    }
    qsort(L->recs, L->nrecs, sizeof *L->recs, cmp_rec);
    L->records = (int64_t)L->nrecs;
    free(first);
    return 0;
}

/* The other sheet files of the commune (f->companions): their entities
 * and texts join this layer's, with feature indices after its own, so
 * that the line work of every sheet is noded and polygonized as one
 * drawing: a parcel whose boundary lines a sheet edge cuts in two files
 * closes again, once. Each text keeps its file (pdbi_label.origin) for
 * the sheet number its file's name gives. The files must be of this
 * file's format (their text bytes are decoded as one). */
static pdb_status read_companions(pdbi_ctx *ic, pdbi_file *f, pdbi_layer *L, cad_bounds *B)
{
    int64_t base = 0;
    for (size_t b = 0; b < B->n; b++)
        if (B->items[b].index >= base)
            base = B->items[b].index + 1;
    for (size_t i = 0; i < L->nlabels; i++)
        if (L->labels[i].index >= base)
            base = L->labels[i].index + 1;
    for (size_t c = 0; c < f->ncompanions; c++) {
        pdbi_file cf;
        cad_bounds CB = {0};
        memset(&cf, 0, sizeof cf);
        cf.opts = f->opts;
        cf.path = f->companions[c];
        pdb_status st = pdbi__source_open(ic, &cf);
        if (st == PDB_OK && (strcmp(cf.driver, f->driver) != 0 || cf.nlayers != 1))
            st = pdbi__fail(ic, PDB_EINVAL,
                            "is a %s file with %zu layers, not one %s layer as the first sheet",
                            cf.driver, cf.nlayers, f->driver);
        int own = 0;
        if (st == PDB_OK && is_dgn(&cf))
            st = dgn_read_own(ic, &cf, &cf.layers[0], &CB, &own);
        if (st == PDB_OK && !own)
            st = cad_read(ic, &cf.layers[0], &CB);
        pdbi_layer *C = st == PDB_OK ? &cf.layers[0] : NULL;
        if (st == PDB_OK) {
            pdbi_label *labels = realloc(L->labels, (L->nlabels + C->nlabels + 1) * sizeof *labels);
            pdbi_cad_rec *items = realloc(B->items, (B->n + CB.n + 1) * sizeof *items);
            if (labels != NULL)
                L->labels = labels;
            if (items != NULL) {
                B->items = items;
                B->cap = B->n + CB.n + 1;
            }
            if (labels == NULL || items == NULL)
                st = pdbi__fail(ic, PDB_ENOMEM, "out of memory");
        }
        if (st == PDB_OK) {
            int64_t top = base;
            for (size_t i = 0; i < C->nlabels; i++) {
                pdbi_label *lab = &L->labels[L->nlabels++];
                *lab = C->labels[i]; /* its text and feature move */
                lab->index += base;
                lab->origin = f->companions[c];
                if (lab->index >= top)
                    top = lab->index + 1;
            }
            C->nlabels = 0;
            for (size_t b = 0; b < CB.n; b++) {
                pdbi_cad_rec *r = &B->items[B->n++];
                *r = CB.items[b];
                r->index += base;
                if (r->index >= top)
                    top = r->index + 1;
            }
            CB.n = 0;
            base = top;
        }
        for (size_t b = 0; b < CB.n; b++)
            OGR_F_Destroy(CB.items[b].feat);
        free(CB.items);
        /* The features moved out live on: each holds its definition. */
        pdbi__source_close(&cf);
        if (st != PDB_OK) {
            char why[512];
            snprintf(why, sizeof why, "%s", pdbi_errmsg(ic));
            return pdbi__fail(ic, st, "%s, a sheet file of the same commune read with it: %s",
                              f->companions[c], why);
        }
    }
    f->sheet_files = 1 + f->ncompanions;
    return PDB_OK;
}

/* Reads a CAD layer whole and makes its records: text points are labels;
 * each boundary takes the label inside it (or, in DGN, the label with its
 * MSLink); the boundaries of one label are one parcel; a boundary without
 * a label and a label without a boundary are records of their own. */
static pdb_status prescan_cad(pdbi_ctx *ic, pdbi_file *f, pdbi_layer *L, const pdbi_fieldmap *fm)
{
    cad_bounds B = {0};
    int own = 0;
    pdb_status st = is_dgn(f) ? dgn_read_own(ic, f, L, &B, &own) : PDB_OK;

    /* A DGN file our reader read that is not a sheet (closed shapes with
     * key=value labels, joined by MSLink): GDAL's features, links and all. */
    int sheet = st == PDB_OK && own && pdbi__sheets_detect(f, L, B.items, B.n);
    if (st == PDB_OK && own && !sheet) {
        cad_clear(L, &B);
        own = 0;
    }
    if (st == PDB_OK && !own) {
        st = cad_read(ic, L, &B);
        sheet = st == PDB_OK && pdbi__sheets_detect(f, L, B.items, B.n);
    }
    if (sheet) {
        f->sheets = 1;
        if (f->ncompanions > 0)
            st = read_companions(ic, f, L, &B);
        if (st == PDB_OK)
            st = pdbi__sheets_build(ic, f, L, B.items, B.n);
    } else if (st == PDB_OK && (cad_join(L, &B) != 0 || cad_records(L, &B) != 0))
        st = pdbi__fail(ic, PDB_ENOMEM, "out of memory");
    if (st == PDB_OK)
        st = pdbi__fieldmap_resolve(ic, fm, (const char *const *)L->fields, L->nfields, L->map);
    if (st == PDB_OK) {
        struct label_scan ls = {f, L};
        for (size_t i = 0; i < L->nlabels; i++)
            pdbi__label_pairs(L->labels[i].text, scan_pair, &ls);
    }
    for (size_t b = 0; b < B.n; b++)
        OGR_F_Destroy(B.items[b].feat);
    free(B.items);
    return st;
}

static pdb_status prescan_ogr(pdbi_ctx *ic, pdbi_file *f, pdbi_layer *L, const pdbi_fieldmap *fm)
{
    pdb_status st;
    OGRFeatureH feat;
    int sample_field[1024] = {0}; /* fields whose text is sampled */
    char **ignored = NULL;

    if ((st = pdbi__fieldmap_resolve(ic, fm, (const char *const *)L->fields, L->nfields, L->map)) !=
        PDB_OK)
        return st;
    /* Owner and address carry the Vietnamese text; with neither mapped,
     * every text field is sampled. */
    int any = 0;
    for (int t = PDBI_T_OWNER; t <= PDBI_T_ADDRESS; t++)
        if (L->map[t] >= 0 && L->map[t] < 1024)
            any = sample_field[L->map[t]] = 1;
    for (size_t k = 0; !any && k < L->nfields && k < 1024; k++)
        sample_field[k] = !L->numeric[k];
    for (size_t k = 0; k < L->nfields; k++)
        if ((int)k != L->map[PDBI_T_COMMUNE] && (k >= 1024 || !sample_field[k]))
            ignored = CSLAddString(ignored, L->fields[k]);
    ignored = CSLAddString(ignored, "OGR_GEOMETRY");
    ignored = CSLAddString(ignored, "OGR_STYLE");
    OGR_L_SetIgnoredFields(L->layer, (const char **)ignored);
    CSLDestroy(ignored);

    OGR_L_ResetReading(L->layer);
    CPLErrorReset();
    int cf = L->map[PDBI_T_COMMUNE];
    while ((feat = OGR_L_GetNextFeature(L->layer)) != NULL) {
        L->records++;
        if (cf >= 0) {
            int ok = 0;
            if (OGR_F_IsFieldSetAndNotNull(feat, cf)) {
                const char *v = OGR_F_GetFieldAsString(feat, cf);
                ok = tally_commune(f, v, strlen(v), 1);
            }
            if (!ok)
                f->no_commune++;
        }
        for (size_t k = 0; k < L->nfields && k < 1024 && f->nsamples < MAX_SAMPLES; k++) {
            if (!sample_field[k] || !OGR_F_IsFieldSetAndNotNull(feat, (int)k))
                continue;
            const char *v = OGR_F_GetFieldAsString(feat, (int)k);
            add_sample(f, v, strlen(v));
        }
        OGR_F_Destroy(feat);
    }
    int failed = CPLGetLastErrorType() == CE_Failure;
    OGR_L_SetIgnoredFields(L->layer, NULL);
    if (failed)
        return pdbi__fail(ic, PDB_EIO, "read error in layer %s: %s", L->name, CPLGetLastErrorMsg());
    return PDB_OK;
}

pdb_status pdbi__source_prescan(pdbi_ctx *ic, pdbi_file *f, const pdbi_fieldmap *fm)
{
    for (size_t i = 0; i < f->nlayers; i++) {
        pdbi_layer *L = &f->layers[i];
        f->cur_layer = i;
        pdb_status st = L->cad ? prescan_cad(ic, f, L, fm) : prescan_ogr(ic, f, L, fm);
        if (st != PDB_OK)
            return st;
        f->records += L->records;
    }
    return PDB_OK;
}

void pdbi__source_declared_encoding(pdbi_file *f, int *utf8, char *name, size_t len)
{
    *utf8 = 0;
    name[0] = '\0';
    if (f->is_shp) {
        char cpg[64];
        read_cpg(f->path, cpg, sizeof cpg);
        if (cpg[0] != '\0') {
            snprintf(name, len, ".cpg %s", cpg);
            *utf8 = strcasecmp(cpg, "UTF-8") == 0 || strcasecmp(cpg, "UTF8") == 0 ||
                    strcmp(cpg, "65001") == 0;
        }
        return;
    }
    /* CSV and DGN hand bytes through as they are; the other formats
     * (GeoPackage, GeoJSON, GML, KML, DXF through its code page) are UTF-8. */
    if (strcmp(f->driver, "CSV") == 0 || strcmp(f->driver, "DGN") == 0)
        return;
    *utf8 = 1;
    snprintf(name, len, "%s", f->driver);
}
