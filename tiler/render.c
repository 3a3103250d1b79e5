/*
 * render.c: one tile from the store and a style, through Cairo.
 *
 * The tile's features are read once (parcels through the R-tree at deep
 * zooms, overviews at low zooms: no tile ever walks every parcel), each
 * projected to tile pixels once as it arrives, and kept in the renderer's
 * reusable buffers. Then each style layer draws them: fills and lines are
 * grouped by colour (and width) so that one Cairo path per group is
 * filled or stroked, which is both faster than a path per parcel and free
 * of the faint seams anti-aliasing leaves between neighbours of the same
 * colour. Labels are placed by label.c.
 */
#include "render.h"

#include "font.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_FONT_DIR "/usr/share/fonts/truetype/dejavu"
#define DEFAULT_FONT "DejaVu Sans"
#define DEFAULT_LABEL_BUFFER_PX 128
#define GEOMETRY_MARGIN_PX 16   /* around the tile, for strokes reaching in */
#define THIN_LINE_PX 3.0        /* solid lines up to this width are drawn as quads */
#define PDBT_APPROX_TOL_PX 0.01 /* a map's grid transformation strays at most this */

/* Grows an array to hold at least need elements (ctx.h's pdbt__grow). */
int pdbt__grow_to(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 256;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, ncap * elem);
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

pdb_status pdbt_renderer_new(pdbt_ctx *ctx, pdb_store *store, const pdbt_style *style,
                             const pdbt_renderer_options *opts, pdbt_renderer **out)
{
    pdbt_renderer *r = calloc(1, sizeof *r);
    const char *dir = opts && opts->font_dir ? opts->font_dir : DEFAULT_FONT_DIR;
    pdb_status st;

    pdbt__ok(ctx);
    *out = NULL;
    if (r == NULL)
        return pdbt__fail(ctx, PDB_ENOMEM, "out of memory");
    r->store = store;
    r->style = style;
    r->label_buffer_px =
        opts && opts->label_buffer_px > 0 ? opts->label_buffer_px : DEFAULT_LABEL_BUFFER_PX;
    r->max_zoom = opts && opts->max_zoom > 0 ? opts->max_zoom : 22;
    /* CAIRO_ANTIALIAS_FAST is pixman's 4x4 supersampling: edges have 17
     * levels instead of 256, which no one sees on a 1 px edge, and tiles
     * then have far fewer distinct colours (docs/rendering.md). */
    r->antialias = opts && opts->antialias_best ? CAIRO_ANTIALIAS_DEFAULT : CAIRO_ANTIALIAS_FAST;
    if (r->max_zoom > PDBT_TILE_MAX_ZOOM)
        r->max_zoom = PDBT_TILE_MAX_ZOOM;
    r->layer_font = calloc(style->nlayers + 1, sizeof *r->layer_font);
    if (r->layer_font == NULL) {
        free(r);
        return pdbt__fail(ctx, PDB_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < style->nlayers; i++) {
        const pdbt_style_layer *l = &style->layers[i];
        char path[600];
        if (l->type != PDBT_LAYER_SYMBOL)
            continue;
        const char *name = l->font ? l->font : DEFAULT_FONT;
        if (pdbt__font_file(dir, name, path, sizeof path) != 0) {
            pdbt_renderer_free(r);
            return pdbt__fail(ctx, PDB_ENOTFOUND, "layer '%s': font '%s' not found (looked for %s)",
                              l->id, name, path);
        }
        if ((st = pdbt__font_face(ctx, path, &r->layer_font[i])) != PDB_OK) {
            pdbt_renderer_free(r);
            return pdbt__fail(ctx, st, "layer '%s': %s", l->id, ctx->msg);
        }
    }
    *out = r;
    return PDB_OK;
}

pdb_status pdbt_renderer_set_at(pdbt_ctx *ctx, pdbt_renderer *r, const char *at)
{
    if (at == NULL) {
        r->at[0] = '\0';
        pdbt__ok(ctx);
        return PDB_OK;
    }
    if (pdb_instant_parse(ctx->db, at, r->at) != PDB_OK) {
        r->at[0] = '\0';
        return pdbt__fail_db(ctx);
    }
    pdbt__ok(ctx);
    return PDB_OK;
}

void pdbt_renderer_free(pdbt_renderer *r)
{
    if (r == NULL)
        return;
    for (int i = 0; i < 3; i++)
        if (r->surface[i] != NULL)
            cairo_surface_destroy(r->surface[i]);
    if (r->view_surface != NULL)
        cairo_surface_destroy(r->view_surface);
    free(r->proj_x);
    free(r->proj_y);
    free(r->layer_font);
    free(r->feats);
    free(r->rings);
    free(r->pts);
    free(r->keep);
    free(r->strs);
    free(r->keys);
    free(r->labels);
    free(r->placed);
    free(r->edges);
    pdbt__mvt_work_free(r->mvt);
    free(r);
}

/* ------------------------------------------------------------------------ */
/* Collecting and projecting features                                        */
/* ------------------------------------------------------------------------ */

uint32_t pdbt__put_str(pdbt_renderer *r, const char *s)
{
    if (s == NULL)
        return PDBT_NO_STR;
    size_t len = strlen(s) + 1;
    /* s may point into strs itself (a label's text read from a feature),
     * which growing would move. */
    uintptr_t p = (uintptr_t)s, base = (uintptr_t)r->strs;
    int inside = r->strs != NULL && p >= base && p < base + r->nstrs;
    size_t at = inside ? (size_t)(p - base) : 0;
    if (r->nstrs + len > UINT32_MAX - 1 ||
        pdbt__grow((void **)&r->strs, &r->capstrs, r->nstrs + len, 1) != 0) {
        r->oom = 1;
        return PDBT_NO_STR;
    }
    if (inside)
        s = r->strs + at;
    memmove(r->strs + r->nstrs, s, len);
    uint32_t off = (uint32_t)r->nstrs;
    r->nstrs += len;
    return off;
}

const char *pdbt__feat_str(const pdbt_renderer *r, const pdbt_rfeat *f, pdbt_prop_key k)
{
    return f->str[k] == PDBT_NO_STR ? NULL : r->strs + f->str[k];
}

/* A commune's name from the registered communes (borrowed, static).
 * pdb_communes_list would give the store's own names, but it answers
 * "another row available" for more than one commune (engine bug
 * reported); the registry holds the same 148 names. */
static const char *commune_name(pdbt_renderer *r, const char *code)
{
    const pdb_commune_ref *ref = NULL;
    if (code == NULL)
        return NULL;
    /* Features come commune by commune: remember the last one. */
    if (strcmp(code, r->last_code) == 0)
        return r->last_name;
    if (pdb_commune_ref_find(r->db, code, &ref) != PDB_OK)
        ref = NULL;
    snprintf(r->last_code, sizeof r->last_code, "%s", code);
    r->last_name = ref ? ref->name : NULL;
    return r->last_name;
}

/* Web Mercator y of a latitude near the tile's: a cubic Taylor expansion
 * around the tile's middle latitude, exact to well under a millimetre
 * within TAYLOR_MAX_RAD of it (the next term is about R sec^5 d^4 / 24),
 * and several times cheaper than log(tan()); farther points use the
 * formula. */
#define TAYLOR_MAX_RAD 0.01 /* 0.57 degrees: a z10 tile and its margin */
static double merc_y_near(const pdbt_renderer *r, double lat_deg)
{
    double d = lat_deg * (M_PI / 180.0) - r->taylor_lat;
    if (fabs(d) > TAYLOR_MAX_RAD)
        return pdbt_merc_y(lat_deg);
    return r->taylor[0] + d * (r->taylor[1] + d * (r->taylor[2] + d * r->taylor[3]));
}

/* Sets the expansion's point and coefficients for a tile: y = R
 * ln(tan(pi/4 + phi/2)), y' = R sec, y'' = R sec tan, y''' = R sec (sec^2
 * + tan^2). */
static void taylor_setup(pdbt_renderer *r, double lat_deg)
{
    const double R = 6378137.0;
    double phi = lat_deg * (M_PI / 180.0), sec = 1.0 / cos(phi), t = tan(phi);
    r->taylor_lat = phi;
    r->taylor[0] = pdbt_merc_y(lat_deg);
    r->taylor[1] = R * sec;
    r->taylor[2] = R * sec * t / 2.0;
    r->taylor[3] = R * sec * (sec * sec + t * t) / 6.0;
}

/* Twice the signed area of a ring of projected points. */
static double ring_area2(const double *p, size_t n)
{
    double s = 0;
    for (size_t i = 0; i + 1 < n; i++)
        s += (p[2 * i] - p[0]) * (p[2 * i + 3] - p[1]) -
             (p[2 * i + 2] - p[0]) * (p[2 * i + 1] - p[1]);
    return s;
}

/* Transforms a feature's points (WGS 84, or its survey CRS) into
 * r->proj_x/proj_y in the view's CRS: no PROJ call when they are in it
 * already (a parcel of the view's zone, read in survey geometry); 0, or 1
 * with r->oom or r->proj_failed set. */
static int transform_feature(pdbt_renderer *r, const pdb_feature *f)
{
    if (f->npoints > r->capproj) {
        size_t cap = f->npoints * 2;
        double *x = realloc(r->proj_x, cap * sizeof *x);
        if (x != NULL)
            r->proj_x = x;
        double *y = realloc(r->proj_y, cap * sizeof *y);
        if (y != NULL)
            r->proj_y = y;
        if (x == NULL || y == NULL) {
            r->oom = 1;
            return 1;
        }
        r->capproj = cap;
    }
    for (size_t i = 0; i < f->npoints; i++) {
        r->proj_x[i] = f->xy[2 * i];
        r->proj_y[i] = f->xy[2 * i + 1];
    }
    int from = f->survey_srid ? f->survey_srid : PDB_EPSG_WGS84;
    if (r->view_epsg == from)
        return 0;
    if (from == r->approx.from && r->approx.to == r->view_epsg &&
        pdbt__approx_apply(&r->approx, r->proj_x, r->proj_y, f->npoints))
        return 0;
    if (pdb_crs_transform(r->db, from, r->view_epsg, r->proj_x, r->proj_y, f->npoints) != PDB_OK) {
        r->proj_failed = 1;
        return 1;
    }
    return 0;
}

/* One point of a feature in pixels: Web Mercator computed here (the tiles'
 * path), or read from the points transform_feature made. Inlined into
 * collect's loop twice, once for each, so that the tiles pay no branch. */
static inline __attribute__((always_inline)) void
to_pixel(const pdbt_renderer *r, const pdb_feature *f, size_t i, int merc, double *x, double *y)
{
    if (merc) {
        *x = (pdbt_merc_x(f->xy[2 * i]) - r->origin_x) * r->inv_res_x;
        *y = (r->origin_y - merc_y_near(r, f->xy[2 * i + 1])) * r->inv_res_y;
    } else {
        *x = (r->proj_x[i] - r->origin_x) * r->inv_res_x;
        *y = (r->origin_y - r->proj_y[i]) * r->inv_res_y;
    }
}

/* Projects one ring's points (i0 .. i1-1) to pixels at the end of r->pts,
 * dropping points closer than a twentieth of a pixel to the last one (they
 * add nothing but work), and widens bb. */
static inline __attribute__((always_inline)) void
project_ring(pdbt_renderer *r, const pdb_feature *f, size_t i0, size_t i1, int merc, double bb[4])
{
    double *out = r->pts;
    double lx = NAN, ly = NAN;
    for (size_t i = i0; i < i1; i++) {
        double x, y;
        to_pixel(r, f, i, merc, &x, &y);
        if (i > i0 && i + 1 < i1 && fabs(x - lx) < 0.05 && fabs(y - ly) < 0.05)
            continue;
        out[2 * r->npts] = x;
        out[2 * r->npts + 1] = y;
        r->npts++;
        lx = x;
        ly = y;
        /* Comparisons, not fmin/fmax: those are library calls (NaN
         * rules), and x, y are finite here. */
        bb[0] = x < bb[0] ? x : bb[0];
        bb[1] = y < bb[1] ? y : bb[1];
        bb[2] = x > bb[2] ? x : bb[2];
        bb[3] = y > bb[3] ? y : bb[3];
    }
}

/* pdbt__put_str for a string most features repeat (their commune, its
 * name, their kind): the offset put last for slot k when strs still holds
 * the same text there (strs may have been cleared and refilled since, so
 * the text is compared), else a new copy. Features share the copy. */
static uint32_t put_again(pdbt_renderer *r, int k, const char *s)
{
    uint32_t at = r->again[k];
    if (s == NULL)
        return PDBT_NO_STR;
    if (at != PDBT_NO_STR && at < r->nstrs && strcmp(r->strs + at, s) == 0)
        return at;
    return r->again[k] = pdbt__put_str(r, s);
}

/* The pdb_feature_fn: projects one feature into the renderer's buffers. */
static int collect(void *arg, const pdb_feature *f)
{
    pdbt_renderer *r = arg;
    const double *q = r->query_px;

    if (r->oom || r->proj_failed)
        return 1;
    if (pdbt__grow((void **)&r->pts, &r->cappts, r->npts + f->npoints, 2 * sizeof(double)) != 0 ||
        pdbt__grow((void **)&r->rings, &r->caprings, r->nrings + f->nrings, sizeof(pdbt_rring)) !=
            0 ||
        pdbt__grow((void **)&r->feats, &r->capfeats, r->nfeats + 1, sizeof(pdbt_rfeat)) != 0) {
        r->oom = 1;
        return 1;
    }
    int merc = r->view_epsg == 0;
    if (!merc && transform_feature(r, f) != 0)
        return 1;
    size_t pts0 = r->npts, rings0 = r->nrings;
    double bb[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
    for (size_t part = 0; part < f->nparts; part++) {
        for (size_t ri = f->part_ring[part]; ri < f->part_ring[part + 1]; ri++) {
            size_t start = r->npts, i0 = f->ring_point[ri], i1 = f->ring_point[ri + 1];
            double *out = r->pts;
            if (merc)
                project_ring(r, f, i0, i1, 1, bb);
            else
                project_ring(r, f, i0, i1, 0, bb);
            size_t n = r->npts - start;
            if (n < 3) {
                r->npts = start;
                continue;
            }
            /* Exteriors positive, holes negative (y down), so that the
             * non-zero rule fills many parcels in one path right. */
            double a2 = ring_area2(out + 2 * start, n);
            int exterior = ri == f->part_ring[part];
            if ((exterior && a2 < 0) || (!exterior && a2 > 0)) {
                for (size_t i = start, j = r->npts - 1; i < j; i++, j--) {
                    double tx = out[2 * i], ty = out[2 * i + 1];
                    out[2 * i] = out[2 * j];
                    out[2 * i + 1] = out[2 * j + 1];
                    out[2 * j] = tx;
                    out[2 * j + 1] = ty;
                }
            }
            pdbt_rring *rg = &r->rings[r->nrings++];
            rg->start = (uint32_t)start;
            rg->n = (uint32_t)n;
            rg->exterior = (uint8_t)exterior;
        }
    }
    /* The R-tree answers with boxes; drop what cannot reach the tile. */
    if (r->nrings == rings0 || bb[2] < q[0] || bb[0] > q[2] || bb[3] < q[1] || bb[1] > q[3]) {
        r->npts = pts0;
        r->nrings = rings0;
        return 0;
    }
    pdbt_rfeat *rf = &r->feats[r->nfeats++];
    memset(rf, 0, sizeof *rf);
    rf->id = f->id;
    rf->area_m2 = f->area_m2;
    rf->source = (uint8_t)r->collecting;
    rf->base = (uint8_t)r->collecting_base;
    rf->ring0 = (uint32_t)rings0;
    rf->nrings = (uint32_t)(r->nrings - rings0);
    memcpy(rf->bbox, bb, sizeof bb);
    for (int k = 0; k < PDBT_FP_COUNT; k++)
        rf->str[k] = PDBT_NO_STR;
    rf->str[PDBT_FP_COMMUNE] = put_again(r, 0, f->commune);
    /* Neighbours in id order share sheets and land uses: one copy, and
     * the vector tile's encoder finds the value by its pointer. */
    rf->str[PDBT_FP_SHEET] = put_again(r, 3, f->sheet);
    rf->str[PDBT_FP_PARCEL] = pdbt__put_str(r, f->parcel);
    rf->str[PDBT_FP_LANDUSE] = put_again(r, 4, f->landuse);
    rf->str[PDBT_FP_LANDUSE_MAIN] = put_again(r, 5, f->landuse_main);
    rf->str[PDBT_FP_COMMUNE_NAME] = put_again(r, 1, commune_name(r, f->commune));
    rf->str[PDBT_FP_KIND] = put_again(r, 2,
                                      f->id != 0           ? "parcel"
                                      : f->landuse != NULL ? "landuse"
                                                           : "commune");
    return r->oom;
}

void pdbt__env_for(const pdbt_renderer *r, const pdbt_rfeat *f, pdbt_eval_env *env)
{
    for (int k = 0; k < PDBT_FP_COUNT; k++)
        env->str[k] = pdbt__feat_str(r, f, (pdbt_prop_key)k);
    env->num[PDBT_FP_ID] = (double)f->id;
    env->num[PDBT_FP_AREA] = f->area_m2;
    env->scratch_used = 0;
}

/* ------------------------------------------------------------------------ */
/* Evaluating properties                                                     */
/* ------------------------------------------------------------------------ */

double pdbt__prop_num(const pdbt_style_layer *l, pdbt_prop_slot p, pdbt_eval_env *env, double dflt)
{
    if (l->props[p] == NULL)
        return dflt;
    pdbt_value v = pdbt__expr_eval(l->props[p], env);
    return v.t == PDBT_V_NUM && isfinite(v.n) ? v.n : dflt;
}

pdbt_rgba pdbt__prop_color(const pdbt_style_layer *l, pdbt_prop_slot p, pdbt_eval_env *env,
                           pdbt_rgba dflt)
{
    if (l->props[p] == NULL)
        return dflt;
    pdbt_value v = pdbt__expr_eval(l->props[p], env);
    if (v.t == PDBT_V_COLOR)
        return v.c;
    pdbt_rgba c;
    if (v.t == PDBT_V_STR && pdbt__color_parse(v.s, &c) == 0)
        return c;
    return dflt;
}

int pdbt__prop_bool(const pdbt_style_layer *l, pdbt_prop_slot p, pdbt_eval_env *env, int dflt)
{
    if (l->props[p] == NULL)
        return dflt;
    pdbt_value v = pdbt__expr_eval(l->props[p], env);
    return v.t == PDBT_V_BOOL ? v.b : dflt;
}

int pdbt__passes_filter(const pdbt_style_layer *l, pdbt_eval_env *env)
{
    if (l->filter == NULL)
        return 1;
    pdbt_value v = pdbt__expr_eval(l->filter, env);
    return v.t == PDBT_V_BOOL && v.b;
}

/* A colour with opacity folded in, as 8-bit straight RGBA in one word
 * (0 when nothing would show). */
static uint32_t color_key(pdbt_rgba c, double opacity)
{
    double a = c.a * fmin(fmax(opacity, 0.0), 1.0);
    if (!(a > 0.5 / 255.0))
        return 0;
    uint32_t R = (uint32_t)lround(fmin(fmax(c.r, 0), 1) * 255);
    uint32_t G = (uint32_t)lround(fmin(fmax(c.g, 0), 1) * 255);
    uint32_t B = (uint32_t)lround(fmin(fmax(c.b, 0), 1) * 255);
    uint32_t A = (uint32_t)lround(a * 255);
    return R << 24 | G << 16 | B << 8 | A;
}

static void set_key_source(cairo_t *cr, uint32_t key)
{
    cairo_set_source_rgba(cr, (key >> 24) / 255.0, ((key >> 16) & 255) / 255.0,
                          ((key >> 8) & 255) / 255.0, (key & 255) / 255.0);
}

static int key_cmp(const void *a, const void *b)
{
    const pdbt_draw_key *x = a, *y = b;
    if (x->base != y->base)
        return x->base ? -1 : 1;
    if (x->color != y->color)
        return x->color < y->color ? -1 : 1;
    if (x->width != y->width)
        return x->width < y->width ? -1 : 1;
    return (x->feat > y->feat) - (x->feat < y->feat);
}

static void add_rings(pdbt_renderer *r, cairo_t *cr, const pdbt_rfeat *f)
{
    for (uint32_t k = 0; k < f->nrings; k++) {
        const pdbt_rring *rg = &r->rings[f->ring0 + k];
        const double *p = r->pts + 2 * rg->start;
        cairo_move_to(cr, p[0], p[1]);
        for (uint32_t i = 1; i < rg->n; i++)
            cairo_line_to(cr, p[2 * i], p[2 * i + 1]);
        cairo_close_path(cr);
    }
}

/* The set of edges already drawn in a line group, by their end points in
 * 1/256 pixels, either way round. A slot belongs to the set while its
 * generation is the renderer's: clearing is a new generation, not a memset
 * of a table sized for the densest tile (it took 4% of a dense one). */
static void edge_set_clear(pdbt_renderer *r)
{
    if (++r->edge_gen == 0) {
        if (r->edges != NULL)
            memset(r->edges, 0, r->capedges * sizeof *r->edges);
        r->edge_gen = 1;
    }
    r->nedges = 0;
}

/* A coordinate in 1/256 pixels, for edge keys. Any fixed mapping finds an
 * edge again (both parcels along it hold the same doubles), so: an offset
 * and a truncation, not a call to lround. Clamped: a large parcel drawn
 * at a deep zoom keeps vertices millions of pixels off the tile, where a
 * conversion past int32 is undefined; an edge keyed coarsely out there
 * draws nothing visible. */
static int32_t edge_coord(double v)
{
    double k = v * 256.0 + 1048576.0;
    return k > 2e9 ? 2000000000 : k < -2e9 ? -2000000000 : (int32_t)k;
}

/* Adds an edge; returns 1 if it was new, 0 if seen, -1 out of memory. */
static int edge_set_add(pdbt_renderer *r, double x1, double y1, double x2, double y2)
{
    int32_t k[4] = {edge_coord(x1), edge_coord(y1), edge_coord(x2), edge_coord(y2)};
    if (k[0] > k[2] || (k[0] == k[2] && k[1] > k[3])) {
        int32_t t0 = k[0], t1 = k[1];
        k[0] = k[2];
        k[1] = k[3];
        k[2] = t0;
        k[3] = t1;
    }
    if (2 * (r->nedges + 1) > r->capedges) {
        /* Grow and rehash: the table stays at most half full. */
        size_t ncap = r->capedges ? r->capedges * 2 : 4096;
        pdbt_edge_key *old = r->edges, *e = calloc(ncap, sizeof *e);
        if (e == NULL)
            return -1;
        for (size_t i = 0; i < r->capedges; i++) {
            if (old[i].gen != r->edge_gen)
                continue;
            size_t h = old[i].hash & (ncap - 1);
            while (e[h].gen == r->edge_gen)
                h = (h + 1) & (ncap - 1);
            e[h] = old[i];
        }
        free(old);
        r->edges = e;
        r->capedges = ncap;
    }
    uint64_t hash = 1469598103934665603ULL;
    for (int i = 0; i < 4; i++)
        hash = (hash ^ (uint32_t)k[i]) * 1099511628211ULL;
    size_t h = hash & (r->capedges - 1);
    while (r->edges[h].gen == r->edge_gen) {
        if (memcmp(r->edges[h].k, k, sizeof k) == 0)
            return 0;
        h = (h + 1) & (r->capedges - 1);
    }
    r->edges[h].gen = r->edge_gen;
    r->edges[h].hash = hash;
    memcpy(r->edges[h].k, k, sizeof k);
    r->nedges++;
    return 1;
}

/* Outlines may leave a chain's line by this many pixels (Douglas-Peucker
 * over each run of new edges), less than anti-aliasing shows on a 1 px
 * line. Surveyed curves have a vertex every metre or two, under a pixel at
 * z16: drawn a quad each, their outlines took 80% of such a tile; drawn as
 * the segments a pixel grid can tell, the tile costs half (pdb-synth
 * --curved-edges 1.5; straight cuts lose nothing, as every vertex is a
 * corner). Fills keep every vertex, so neighbours still meet exactly. */
#define OUTLINE_TOLERANCE_PX 0.15

/* One quad of half-width hw around the segment a-b, reaching hw past both
 * ends so that neighbouring segments join; every quad turns the same way,
 * so the non-zero rule fills overlaps once. */
/* A joint of a ribbon at which it is cut in two (each part with a square
 * end) rather than mitred: a turn of more than 45 degrees, or a mitre
 * that would reach past half of either segment beside it (where the
 * inner side would fold back on itself: a fold winds the other way, and
 * in a path of one colour filled with the non-zero rule it could cancel
 * another line's coverage). */
#define RIBBON_MIN_COS 0.70710678

/* Fills the polyline q[0..m-1] (consecutive points distinct) as ribbons of
 * half width hw with square ends, mitred at gentle joints (pixel
 * coordinates: sqrt rather than hypot, which guards against overflow at a
 * library call's cost): two edges a
 * segment where a quad a segment had four, for the same pixels (the
 * quads overlapped at each joint). Every ribbon winds the same way (left
 * side forward, right side back), so overlaps only add. */
static void add_ribbon(cairo_t *cr, const double *q, uint32_t m, double hw)
{
    uint32_t a = 0; /* first vertex of the current ribbon */
    while (a + 1 < m) {
        /* The ribbon runs from a to b: through every gentle joint. */
        uint32_t b = a + 1;
        double dx = q[2 * b] - q[2 * a], dy = q[2 * b + 1] - q[2 * a + 1];
        double len = sqrt(dx * dx + dy * dy);
        double ux0 = dx / len, uy0 = dy / len, ux = ux0, uy = uy0;
        while (b + 1 < m) {
            double ex = q[2 * b + 2] - q[2 * b], ey = q[2 * b + 3] - q[2 * b + 1];
            double elen = sqrt(ex * ex + ey * ey), vx = ex / elen, vy = ey / elen;
            double c = ux * vx + uy * vy;
            /* The mitre's reach along each segment: hw tan(theta / 2). */
            double reach = c > -1 ? hw * sqrt((1 - c) / (1 + c)) : INFINITY;
            if (c < RIBBON_MIN_COS || 2 * reach > len || 2 * reach > elen)
                break;
            ux = vx, uy = vy, len = elen;
            b++;
        }
        /* Left side forward (square start, mitres, square end), right side
         * back. */
        double sx = q[2 * a] - ux0 * hw, sy = q[2 * a + 1] - uy0 * hw;
        cairo_move_to(cr, sx - uy0 * hw, sy + ux0 * hw);
        for (int side = 1; side >= -1; side -= 2) {
            uint32_t i0 = side > 0 ? a + 1 : b - 1, i1 = side > 0 ? b : a;
            for (uint32_t i = i0; i != i1; i = side > 0 ? i + 1 : i - 1) {
                double px = q[2 * i] - q[2 * i - 2], py = q[2 * i + 1] - q[2 * i - 1];
                double nx = q[2 * i + 2] - q[2 * i], ny = q[2 * i + 3] - q[2 * i + 1];
                double pl = sqrt(px * px + py * py), nl = sqrt(nx * nx + ny * ny);
                double n1x = -py / pl, n1y = px / pl, n2x = -ny / nl, n2y = nx / nl;
                double k = side * hw / (1 + n1x * n2x + n1y * n2y);
                cairo_line_to(cr, q[2 * i] + (n1x + n2x) * k, q[2 * i + 1] + (n1y + n2y) * k);
            }
            if (side > 0) {
                double ex = q[2 * b] + ux * hw, ey = q[2 * b + 1] + uy * hw;
                cairo_line_to(cr, ex - uy * hw, ey + ux * hw);
                cairo_line_to(cr, ex + uy * hw, ey - ux * hw);
            }
        }
        cairo_line_to(cr, sx + uy0 * hw, sy - ux0 * hw);
        cairo_close_path(cr);
        a = b;
    }
}

/* Draws the chain p[0..n-1] as ribbons over its Douglas-Peucker
 * simplification (iterative, with an explicit stack of pending spans);
 * keep is scratch for up to n points. */
static void add_chain(cairo_t *cr, const double *p, uint32_t n, double hw, double *keep)
{
    enum { STACK = 64 };
    uint32_t stack[STACK][2], top = 0, m = 0;
    const double tol2 = OUTLINE_TOLERANCE_PX * OUTLINE_TOLERANCE_PX;
    stack[top][0] = 0;
    stack[top][1] = n - 1;
    top++;
    /* Keeps point i unless it repeats the last kept one. */
#define KEEP(i)                                                                                    \
    do {                                                                                           \
        const double *pt_ = p + 2 * (i);                                                           \
        if (m == 0 || pt_[0] != keep[2 * m - 2] || pt_[1] != keep[2 * m - 1]) {                    \
            keep[2 * m] = pt_[0];                                                                  \
            keep[2 * m + 1] = pt_[1];                                                              \
            m++;                                                                                   \
        }                                                                                          \
    } while (0)
    KEEP(0);
    while (top > 0) {
        top--;
        uint32_t a = stack[top][0], b = stack[top][1], far = a;
        /* The farthest point from the segment a-b, beyond the tolerance.
         * Distances are compared times l2 (the segment's squared length),
         * so that no point costs a division: inside the segment's span
         * d^2 l2 = |ap|^2 l2 - (ap.ab)^2; outside it, the nearer end's. */
        double ax = p[2 * a], ay = p[2 * a + 1];
        double dx = p[2 * b] - ax, dy = p[2 * b + 1] - ay, l2 = dx * dx + dy * dy;
        double worst = l2 > 0 ? tol2 * l2 : tol2;
        double scale = l2 > 0 ? l2 : 1;
        for (uint32_t i = a + 1; i < b; i++) {
            double px = p[2 * i] - ax, py = p[2 * i + 1] - ay;
            double dot = px * dx + py * dy, d;
            if (dot <= 0 || !(l2 > 0))
                d = (px * px + py * py) * scale;
            else if (dot >= l2)
                d = ((px - dx) * (px - dx) + (py - dy) * (py - dy)) * scale;
            else
                d = (px * px + py * py) * l2 - dot * dot;
            if (d > worst) {
                worst = d;
                far = i;
            }
        }
        if (far == a) {
            KEEP(b);
        } else if (top + 2 > STACK) {
            /* Too deep to split further: every point, unsimplified. */
            for (uint32_t i = a + 1; i <= b; i++)
                KEEP(i);
        } else {
            /* The far side first, so the near half is drawn first. */
            stack[top][0] = far;
            stack[top][1] = b;
            top++;
            stack[top][0] = a;
            stack[top][1] = far;
            top++;
        }
    }
#undef KEEP
    if (m >= 2)
        add_ribbon(cr, keep, m, hw);
}

/* Draws the edges of a feature not drawn yet in this line group: each run
 * of new edges along a ring is one chain (an edge shared with a parcel
 * drawn before is skipped, so a shared boundary is drawn once). */
static int add_edge_quads(pdbt_renderer *r, cairo_t *cr, const pdbt_rfeat *f, double hw)
{
    for (uint32_t k = 0; k < f->nrings; k++) {
        const pdbt_rring *rg = &r->rings[f->ring0 + k];
        const double *p = r->pts + 2 * rg->start;
        if (pdbt__grow((void **)&r->keep, &r->capkeep, rg->n, 2 * sizeof(double)) != 0)
            return -1;
        uint32_t run = 0; /* first vertex of the current run of new edges */
        for (uint32_t i = 0; i + 1 < rg->n; i++) {
            int fresh = edge_set_add(r, p[2 * i], p[2 * i + 1], p[2 * i + 2], p[2 * i + 3]);
            if (fresh < 0)
                return -1;
            if (!fresh) {
                if (i > run)
                    add_chain(cr, p + 2 * run, i - run + 1, hw, r->keep);
                run = i + 1;
            }
        }
        if (rg->n > 0 && rg->n - 1 > run)
            add_chain(cr, p + 2 * run, rg->n - run, hw, r->keep);
    }
    return 0;
}

/* 1 when a feature's pixel box meets the box (x0, y0, x1, y1). */
static int meets(const pdbt_rfeat *f, double x0, double y0, double x1, double y1)
{
    return !(f->bbox[2] < x0 || f->bbox[0] > x1 || f->bbox[3] < y0 || f->bbox[1] > y1);
}

/* Draws a fill or line layer: evaluates each feature's colour (and
 * width), sorts by them, and draws one path per group. */
static pdb_status draw_shapes(pdbt_ctx *ctx, pdbt_renderer *r, cairo_t *cr,
                              const pdbt_style_layer *l, pdbt_eval_env *env)
{
    int is_fill = l->type == PDBT_LAYER_FILL;
    int per_feature = pdbt__expr_uses_feature(l->filter);
    pdbt_prop_slot cslot = is_fill ? PDBT_P_FILL_COLOR : PDBT_P_LINE_COLOR;
    pdbt_prop_slot oslot = is_fill ? PDBT_P_FILL_OPACITY : PDBT_P_LINE_OPACITY;
    static const pdbt_rgba black = {0, 0, 0, 1};
    double wpx = r->width_px, hpx = r->height_px, m = GEOMETRY_MARGIN_PX * r->scale;

    per_feature |= pdbt__expr_uses_feature(l->props[cslot]) |
                   pdbt__expr_uses_feature(l->props[oslot]) |
                   (!is_fill && pdbt__expr_uses_feature(l->props[PDBT_P_LINE_WIDTH]));
    env->scratch_used = 0;
    uint32_t const_color =
        color_key(pdbt__prop_color(l, cslot, env, black), pdbt__prop_num(l, oslot, env, 1.0));
    double const_width = is_fill ? 0 : pdbt__prop_num(l, PDBT_P_LINE_WIDTH, env, 1.0);
    if (!per_feature && (const_color == 0 || (!is_fill && !(const_width > 0))))
        return PDB_OK;
    if (pdbt__grow((void **)&r->keys, &r->capkeys, r->nfeats, sizeof *r->keys) != 0)
        return pdbt__fail(ctx, PDB_ENOMEM, "out of memory");
    size_t nkeys = 0;
    for (size_t i = 0; i < r->nfeats; i++) {
        const pdbt_rfeat *f = &r->feats[i];
        if (f->source != l->source || (f->base && !is_fill) || !meets(f, -m, -m, wpx + m, hpx + m))
            continue;
        uint32_t color = const_color;
        double width = const_width;
        if (per_feature) {
            pdbt__env_for(r, f, env);
            if (!pdbt__passes_filter(l, env))
                continue;
            color = color_key(pdbt__prop_color(l, cslot, env, black),
                              pdbt__prop_num(l, oslot, env, 1.0));
            if (!is_fill)
                width = pdbt__prop_num(l, PDBT_P_LINE_WIDTH, env, 1.0);
        }
        if (color == 0 || (!is_fill && !(width > 0)))
            continue;
        r->keys[nkeys].color = color;
        r->keys[nkeys].width = (float)width;
        r->keys[nkeys].base = f->base;
        r->keys[nkeys].feat = (uint32_t)i;
        nkeys++;
    }
    if (nkeys > 1)
        qsort(r->keys, nkeys, sizeof *r->keys, key_cmp);
    if (is_fill) {
        cairo_set_fill_rule(cr, CAIRO_FILL_RULE_WINDING);
        cairo_set_antialias(cr, pdbt__prop_bool(l, PDBT_P_FILL_ANTIALIAS, env, 1)
                                    ? r->antialias
                                    : CAIRO_ANTIALIAS_NONE);
    } else {
        env->scratch_used = 0;
        pdbt_value join = l->props[PDBT_P_LINE_JOIN]
                              ? pdbt__expr_eval(l->props[PDBT_P_LINE_JOIN], env)
                              : (pdbt_value){.t = PDBT_V_NULL};
        pdbt_value cap = l->props[PDBT_P_LINE_CAP] ? pdbt__expr_eval(l->props[PDBT_P_LINE_CAP], env)
                                                   : (pdbt_value){.t = PDBT_V_NULL};
        cairo_set_line_join(
            cr, join.t == PDBT_V_STR && strcmp(join.s, "round") == 0   ? CAIRO_LINE_JOIN_ROUND
                : join.t == PDBT_V_STR && strcmp(join.s, "bevel") == 0 ? CAIRO_LINE_JOIN_BEVEL
                                                                       : CAIRO_LINE_JOIN_MITER);
        cairo_set_line_cap(
            cr, cap.t == PDBT_V_STR && strcmp(cap.s, "round") == 0    ? CAIRO_LINE_CAP_ROUND
                : cap.t == PDBT_V_STR && strcmp(cap.s, "square") == 0 ? CAIRO_LINE_CAP_SQUARE
                                                                      : CAIRO_LINE_CAP_BUTT);
        cairo_set_antialias(cr, r->antialias);
    }
    for (size_t i = 0; i < nkeys;) {
        size_t j = i;
        double w = r->keys[i].width * r->scale;
        /* Thin solid lines (parcel outlines) are filled as one quad per
         * distinct edge: an edge shared by two parcels is drawn once, and
         * filling quads costs a third of Cairo's stroker. */
        int quads = !is_fill && l->ndash == 0 && w <= THIN_LINE_PX;
        cairo_new_path(cr);
        if (quads)
            edge_set_clear(r);
        while (j < nkeys && r->keys[j].base == r->keys[i].base &&
               r->keys[j].color == r->keys[i].color && r->keys[j].width == r->keys[i].width) {
            const pdbt_rfeat *f = &r->feats[r->keys[j++].feat];
            if (quads) {
                if (add_edge_quads(r, cr, f, w / 2) != 0)
                    return pdbt__fail(ctx, PDB_ENOMEM, "out of memory drawing lines");
            } else {
                add_rings(r, cr, f);
            }
        }
        set_key_source(cr, r->keys[i].color);
        if (is_fill || quads) {
            cairo_set_fill_rule(cr, CAIRO_FILL_RULE_WINDING);
            cairo_fill(cr);
        } else {
            cairo_set_line_width(cr, w);
            if (l->ndash > 0) {
                double d[PDB_COUNTOF(l->dash)];
                for (int k = 0; k < l->ndash; k++)
                    d[k] = l->dash[k] * w;
                cairo_set_dash(cr, d, l->ndash, 0);
            } else {
                cairo_set_dash(cr, NULL, 0, 0);
            }
            cairo_stroke(cr);
        }
        i = j;
    }
    return PDB_OK;
}

/* ------------------------------------------------------------------------ */
/* One tile                                                                  */
/* ------------------------------------------------------------------------ */

static int layer_active(const pdbt_style_layer *l, int z)
{
    return l->visible && z >= l->minzoom && z < l->maxzoom;
}

/* The PDBT_LAYERS_* bit of a style layer. */
static unsigned layer_bit(const pdbt_style_layer *l)
{
    return l->source == PDBT_SRC_PARCELS ? PDBT_LAYERS_PARCELS : PDBT_LAYERS_COMMUNES;
}

int pdbt_style_zoom_range(const pdbt_style *style, unsigned layers, double *zmin, double *zmax)
{
    *zmin = INFINITY;
    *zmax = -INFINITY;
    for (size_t i = 0; i < style->nlayers; i++) {
        const pdbt_style_layer *l = &style->layers[i];
        if (!l->visible || !(layer_bit(l) & layers))
            continue;
        *zmin = fmin(*zmin, l->minzoom);
        *zmax = fmax(*zmax, l->maxzoom > PDBT_TILE_MAX_ZOOM ? INFINITY : l->maxzoom);
    }
    return *zmin < *zmax ? 0 : -1;
}

/* Whether the parcels layers active at zoom z draw nothing but what the
 * land-use overviews hold: fills whose filter and paint read only the
 * main land-use code and the commune. Then overviews give the same
 * picture as the parcels, at a fraction of the cost. */
static int landuse_only(const pdbt_style *style, int z)
{
    const unsigned allowed =
        1u << PDBT_FP_LANDUSE_MAIN | 1u << PDBT_FP_COMMUNE | 1u << PDBT_FP_COMMUNE_NAME;
    for (size_t i = 0; i < style->nlayers; i++) {
        const pdbt_style_layer *l = &style->layers[i];
        if (l->source != PDBT_SRC_PARCELS || !layer_active(l, z))
            continue;
        if (l->type != PDBT_LAYER_FILL)
            return 0;
        unsigned used = pdbt__expr_props(l->filter);
        for (int p = 0; p < PDBT_P_COUNT; p++)
            used |= pdbt__expr_props(l->props[p]);
        if (used & ~allowed)
            return 0;
    }
    return 1;
}

static pdb_status gather(pdbt_ctx *ctx, pdbt_renderer *r, int source, int z,
                         const double q_lonlat[4])
{
    pdb_status st;
    r->collecting = source;
    /* At a date: the parcels in force then, at every zoom; overviews and
     * commune outlines hold the current state only, so none is drawn. */
    if (r->at[0] != '\0' && source != PDBT_SRC_PARCELS)
        return PDB_OK;
    if (r->at[0] != '\0')
        st = pdb_features_in_bbox_at(ctx->db, r->store, q_lonlat, r->at, collect, r);
    else if (source == PDBT_SRC_PARCELS && !r->use_overview && r->survey_epsg != 0)
        st = pdb_features_in_bbox_survey(ctx->db, r->store, q_lonlat, r->survey_epsg, collect, r);
    else if (source == PDBT_SRC_PARCELS && !r->use_overview)
        st = pdb_features_in_bbox(ctx->db, r->store, q_lonlat, collect, r);
    else if (source == PDBT_SRC_PARCELS) {
        /* The bases first, in a call of their own, marked: fills sort by
         * colour, and a base must go under its commune's patches. */
        r->collecting_base = 1;
        st = pdb_overview_features(ctx->db, r->store, z, PDB_OVERVIEW_BASE, q_lonlat, collect, r);
        r->collecting_base = 0;
        if (st == PDB_OK && !r->oom && !r->proj_failed)
            st = pdb_overview_features(ctx->db, r->store, z, PDB_OVERVIEW_LANDUSE, q_lonlat,
                                       collect, r);
    } else {
        st = pdb_overview_features(ctx->db, r->store, z, PDB_OVERVIEW_COMMUNES, q_lonlat, collect,
                                   r);
    }
    if (st != PDB_OK || r->proj_failed)
        return pdbt__fail_db(ctx);
    if (r->oom)
        return pdbt__fail(ctx, PDB_ENOMEM, "out of memory reading the tile's features");
    return PDB_OK;
}

/* A cleared surface of w x h pixels in *slot, kept between renders of the
 * same size. */
static pdb_status clear_surface(pdbt_ctx *ctx, cairo_surface_t **slot, int w, int h)
{
    if (*slot != NULL &&
        (cairo_image_surface_get_width(*slot) != w || cairo_image_surface_get_height(*slot) != h)) {
        cairo_surface_destroy(*slot);
        *slot = NULL;
    }
    if (*slot == NULL) {
        *slot = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
        if (cairo_surface_status(*slot) != CAIRO_STATUS_SUCCESS) {
            cairo_surface_destroy(*slot);
            *slot = NULL;
            return pdbt__fail(ctx, PDB_ENOMEM, "out of memory for a %d x %d px surface", w, h);
        }
    }
    cairo_surface_flush(*slot);
    memset(cairo_image_surface_get_data(*slot), 0,
           (size_t)cairo_image_surface_get_stride(*slot) * (size_t)h);
    cairo_surface_mark_dirty(*slot);
    return PDB_OK;
}

/* Which sources the style's layers active at zoom z read (need), and
 * whether any of them draws labels. */
static int layers_at(const pdbt_renderer *r, int z, int need[2])
{
    const pdbt_style *style = r->style;
    int labels = 0;
    need[0] = need[1] = 0;
    for (size_t i = 0; i < style->nlayers; i++) {
        const pdbt_style_layer *l = &style->layers[i];
        if (!layer_active(l, z) || !(layer_bit(l) & r->layers))
            continue;
        need[l->source] = 1;
        labels |= l->type == PDBT_LAYER_SYMBOL;
    }
    return labels;
}

/* What a tile and a view share once the projection (r's origin, inverse
 * resolutions, view_epsg) and the pixel box features must meet are set:
 * reads the features meeting q (WGS 84), draws the style's layers active
 * at zoom z onto surface and describes it in img. */
static pdb_status draw_image(pdbt_ctx *ctx, pdbt_renderer *r, cairo_surface_t *surface, int z,
                             const int need[2], const double q[4], pdbt_image *img,
                             pdbt_render_stats *stats)
{
    const pdbt_style *style = r->style;
    pdb_status st = PDB_OK;

    r->nfeats = r->npts = r->nrings = r->nstrs = 0;
    r->oom = 0;
    r->proj_failed = 0;
    r->use_overview = r->at[0] == '\0' && (z < PDB_OVERVIEW_MAX_ZOOM ||
                                           (z == PDB_OVERVIEW_MAX_ZOOM && landuse_only(style, z)));

    for (int s = 0; s < 2; s++)
        if (need[s] && (st = gather(ctx, r, s, z, q)) != PDB_OK)
            return st;

    cairo_t *cr = cairo_create(surface);
    pdbt_eval_env env;
    memset(&env, 0, sizeof env);
    env.zoom = z;
    r->nplaced = 0;
    size_t placed = 0, culled = 0;
    for (size_t i = 0; i < style->nlayers && st == PDB_OK; i++) {
        const pdbt_style_layer *l = &style->layers[i];
        if (!layer_active(l, z) || !(layer_bit(l) & r->layers))
            continue;
        if (l->type == PDBT_LAYER_SYMBOL)
            st = pdbt__draw_labels(ctx, r, cr, l, r->layer_font[i], &env, &placed, &culled);
        else
            st = draw_shapes(ctx, r, cr, l, &env);
    }
    if (st == PDB_OK && cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        st = pdbt__fail(ctx, PDB_ENOMEM, "Cairo: %s", cairo_status_to_string(cairo_status(cr)));
    cairo_destroy(cr);
    cairo_surface_flush(surface);
    if (st != PDB_OK)
        return st;
    img->width = r->width_px;
    img->height = r->height_px;
    img->stride = cairo_image_surface_get_stride(surface);
    img->argb = (const uint32_t *)cairo_image_surface_get_data(surface);
    if (stats != NULL) {
        stats->features = r->nfeats;
        stats->overview = (size_t)r->use_overview;
        stats->labels_placed = placed;
        stats->labels_culled = culled;
    }
    return PDB_OK;
}

/* Sets r's projection to a tile's space, units on a side ((0, 0) its
 * north-west corner), and the box features must meet (buf units around
 * it), in pixels (r->query_px) and in WGS 84 (q). */
static void tile_space(pdbt_renderer *r, const pdbt_tile *t, double units, double buf, double q[4])
{
    double b[4];
    pdbt_tile_bounds_merc(t->z, t->x, t->y, b);
    double res = (b[2] - b[0]) / units;
    r->view_epsg = 0;
    r->survey_epsg = 0;
    r->inv_res_x = r->inv_res_y = 1.0 / res;
    r->origin_x = b[0];
    r->origin_y = b[3];
    taylor_setup(r, pdbt_merc_lat((b[1] + b[3]) / 2));
    r->query_px[0] = r->query_px[1] = -buf;
    r->query_px[2] = r->query_px[3] = units + buf;
    q[0] = pdbt_merc_lon(fmax(b[0] - buf * res, -PDBT_MERC_MAX));
    q[1] = pdbt_merc_lat(fmax(b[1] - buf * res, -PDBT_MERC_MAX));
    q[2] = pdbt_merc_lon(fmin(b[2] + buf * res, PDBT_MERC_MAX));
    q[3] = pdbt_merc_lat(fmin(b[3] + buf * res, PDBT_MERC_MAX));
}

pdb_status pdbt_render_tile(pdbt_ctx *ctx, pdbt_renderer *r, const pdbt_tile *t, pdbt_image *img,
                            pdbt_render_stats *stats)
{
    pdb_status st;
    int need[2];

    memset(img, 0, sizeof *img);
    if (stats != NULL)
        memset(stats, 0, sizeof *stats);
    pdbt__ok(ctx);
    if (ctx->db == NULL || r->store == NULL)
        return pdbt__fail(ctx, PDB_EINVAL, "a tile is rendered with an engine context and a store");
    r->db = ctx->db;
    if (t->scale != 1 && t->scale != 2)
        return pdbt__fail(ctx, PDB_EINVAL, "scale %d is not 1 or 2", t->scale);
    if (!pdbt_tile_valid(t->z, t->x, t->y, r->max_zoom))
        return pdbt__fail(ctx, PDB_EINVAL, "tile %d/%u/%u is outside the scheme (zooms 0 to %d)",
                          t->z, t->x, t->y, r->max_zoom);
    r->layers = PDBT_LAYERS_PARCELS | PDBT_LAYERS_COMMUNES;
    int labels = layers_at(r, t->z, need);

    /* The surface is kept between tiles of the same size and cleared. */
    r->scale = t->scale;
    r->width_px = r->height_px = PDBT_TILE_SIZE * t->scale;
    if ((st = clear_surface(ctx, &r->surface[t->scale], r->width_px, r->height_px)) != PDB_OK)
        return st;

    double q[4];
    tile_space(r, t, r->width_px, (labels ? r->label_buffer_px : GEOMETRY_MARGIN_PX) * t->scale, q);
    return draw_image(ctx, r, r->surface[t->scale], t->z, need, q, img, stats);
}

int pdbt_mvt_parcel_zoom(const pdbt_style *style)
{
    return landuse_only(style, PDB_OVERVIEW_MAX_ZOOM) ? PDB_OVERVIEW_MAX_ZOOM + 1
                                                      : PDB_OVERVIEW_MAX_ZOOM;
}

pdb_status pdbt__gather_tile(pdbt_ctx *ctx, pdbt_renderer *r, const pdbt_tile *t, double units,
                             double buffer_units)
{
    if (ctx->db == NULL || r->store == NULL)
        return pdbt__fail(ctx, PDB_EINVAL, "a tile is made with an engine context and a store");
    r->db = ctx->db;
    if (!pdbt_tile_valid(t->z, t->x, t->y, r->max_zoom))
        return pdbt__fail(ctx, PDB_EINVAL, "tile %d/%u/%u is outside the scheme (zooms 0 to %d)",
                          t->z, t->x, t->y, r->max_zoom);
    r->layers = PDBT_LAYERS_PARCELS | PDBT_LAYERS_COMMUNES;
    r->scale = 1;
    r->width_px = r->height_px = (int)units;
    double q[4];
    tile_space(r, t, units, buffer_units, q);
    r->nfeats = r->npts = r->nrings = r->nstrs = 0;
    r->oom = 0;
    r->proj_failed = 0;
    /* The PNG tile's choice of source, word for word (draw_image). */
    r->use_overview =
        r->at[0] == '\0' && (t->z < PDB_OVERVIEW_MAX_ZOOM ||
                             (t->z == PDB_OVERVIEW_MAX_ZOOM && landuse_only(r->style, t->z)));
    pdb_status st;
    for (int s = 0; s < 2; s++)
        if ((st = gather(ctx, r, s, t->z, q)) != PDB_OK)
            return st;
    return PDB_OK;
}

/* ------------------------------------------------------------------------ */
/* A view: any size, any CRS                                                 */
/* ------------------------------------------------------------------------ */

#define VIEW_EDGE_SAMPLES 16 /* points per edge when a box is transformed */

/* Points of one CRS (3857, or registered with the engine) to another, in
 * place. */
static pdb_status points_transform(pdbt_ctx *ctx, int from, int to, double *x, double *y, size_t n)
{
    if (from == to)
        return PDB_OK;
    if (from == 3857) {
        for (size_t i = 0; i < n; i++) {
            x[i] = pdbt_merc_lon(x[i]);
            y[i] = pdbt_merc_lat(y[i]);
        }
        from = PDB_EPSG_WGS84;
    }
    int mid = to == 3857 ? PDB_EPSG_WGS84 : to;
    if (from != mid && pdb_crs_transform(ctx->db, from, mid, x, y, n) != PDB_OK)
        return pdbt__fail_db(ctx);
    if (to == 3857)
        for (size_t i = 0; i < n; i++) {
            x[i] = pdbt_merc_x(x[i]);
            y[i] = pdbt_merc_y(y[i]);
        }
    return PDB_OK;
}

pdb_status pdbt_box_transform(pdbt_ctx *ctx, int from_epsg, int to_epsg, const double b[4],
                              double out[4])
{
    double x[4 * VIEW_EDGE_SAMPLES], y[4 * VIEW_EDGE_SAMPLES];
    size_t n = 0;
    pdb_status st;
    pdbt__ok(ctx);
    if (ctx->db == NULL)
        return pdbt__fail(ctx, PDB_EINVAL, "a box is transformed with an engine context");
    for (int k = 0; k < VIEW_EDGE_SAMPLES; k++) {
        double t = (double)k / VIEW_EDGE_SAMPLES;
        double xs = b[0] + t * (b[2] - b[0]), ys = b[1] + t * (b[3] - b[1]);
        x[n] = xs, y[n++] = b[1];
        x[n] = b[2] - (xs - b[0]), y[n++] = b[3];
        x[n] = b[0], y[n++] = b[3] - (ys - b[1]);
        x[n] = b[2], y[n++] = ys;
    }
    if ((st = points_transform(ctx, from_epsg, to_epsg, x, y, n)) != PDB_OK)
        return st;
    out[0] = out[1] = INFINITY;
    out[2] = out[3] = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        out[0] = fmin(out[0], x[i]);
        out[1] = fmin(out[1], y[i]);
        out[2] = fmax(out[2], x[i]);
        out[3] = fmax(out[3], y[i]);
    }
    return PDB_OK;
}

double pdbt_view_zoom(pdbt_ctx *ctx, const pdbt_view *v)
{
    double ll[4];
    if (!(v->width > 0) || pdbt_box_transform(ctx, v->epsg, PDB_EPSG_WGS84, v->bbox, ll) != PDB_OK)
        return NAN;
    /* Web Mercator metres across the view at its middle latitude: x is
     * linear in longitude, so the longitudes' span is the measure. */
    double res = (pdbt_merc_x(ll[2]) - pdbt_merc_x(ll[0])) / v->width;
    if (!(res > 0))
        return NAN;
    return log2(2 * PDBT_MERC_MAX / (PDBT_TILE_SIZE * res));
}

pdb_status pdbt_render_view(pdbt_ctx *ctx, pdbt_renderer *r, const pdbt_view *v, pdbt_image *img,
                            pdbt_render_stats *stats)
{
    pdb_status st;
    int need[2];
    const double *b = v->bbox;

    memset(img, 0, sizeof *img);
    if (stats != NULL)
        memset(stats, 0, sizeof *stats);
    pdbt__ok(ctx);
    if (ctx->db == NULL || r->store == NULL)
        return pdbt__fail(ctx, PDB_EINVAL, "a map is rendered with an engine context and a store");
    r->db = ctx->db;
    if (v->width < 1 || v->height < 1 || v->width > PDBT_VIEW_MAX_PX ||
        v->height > PDBT_VIEW_MAX_PX)
        return pdbt__fail(ctx, PDB_EINVAL, "a map of %d x %d px is not 1 to %d px on each side",
                          v->width, v->height, PDBT_VIEW_MAX_PX);
    if (!isfinite(b[0]) || !isfinite(b[1]) || !isfinite(b[2]) || !isfinite(b[3]) ||
        !(b[0] < b[2]) || !(b[1] < b[3]))
        return pdbt__fail(ctx, PDB_EINVAL, "the box is empty or inverted");
    double zf = pdbt_view_zoom(ctx, v);
    if (isnan(zf))
        return pdbt_errcode(ctx) != PDB_OK ? pdbt_errcode(ctx)
                                           : pdbt__fail(ctx, PDB_EINVAL,
                                                        "the box does not "
                                                        "transform to WGS 84");
    int z = (int)floor(zf + 1e-9);
    z = z < 0 ? 0 : z > r->max_zoom ? r->max_zoom : z;
    r->layers = v->layers ? v->layers : PDBT_LAYERS_PARCELS | PDBT_LAYERS_COMMUNES;
    int labels = layers_at(r, z, need);

    r->scale = 1;
    r->width_px = v->width;
    r->height_px = v->height;
    if ((st = clear_surface(ctx, &r->view_surface, v->width, v->height)) != PDB_OK)
        return st;
    r->view_epsg = v->epsg == 3857 ? 0 : v->epsg;
    /* A TM-3 or UTM map draws the parcels surveyed in it from their survey
     * coordinates: no round trip through WGS 84, no PROJ call for them. */
    pdb_crs_info ci;
    r->survey_epsg = r->view_epsg != 0 && pdb_crs_info_get(ctx->db, v->epsg, &ci) == PDB_OK &&
                             ci.kind != PDB_CRS_GEOGRAPHIC
                         ? v->epsg
                         : 0;
    r->inv_res_x = v->width / (b[2] - b[0]);
    r->inv_res_y = v->height / (b[3] - b[1]);
    r->origin_x = b[0];
    r->origin_y = b[3];
    if (r->view_epsg == 0)
        taylor_setup(r, pdbt_merc_lat((b[1] + b[3]) / 2));
    /* Features are read in a margin around the image (labels of shapes
     * beyond its edge may reach in), as for a tile. */
    double buf = labels ? r->label_buffer_px : GEOMETRY_MARGIN_PX;
    r->query_px[0] = r->query_px[1] = -buf;
    r->query_px[2] = v->width + buf;
    r->query_px[3] = v->height + buf;
    double wide[4] = {b[0] - buf / r->inv_res_x, b[1] - buf / r->inv_res_y,
                      b[2] + buf / r->inv_res_x, b[3] + buf / r->inv_res_y};
    if (v->epsg == 3857) {
        for (int k = 0; k < 4; k++)
            wide[k] = fmax(fmin(wide[k], PDBT_MERC_MAX), -PDBT_MERC_MAX);
    } else if (v->epsg == PDB_EPSG_WGS84 || v->epsg == PDB_EPSG_VN2000_GEOG) {
        wide[0] = fmax(wide[0], -180), wide[2] = fmin(wide[2], 180);
        wide[1] = fmax(wide[1], -90), wide[3] = fmin(wide[3], 90);
    }
    double q[4];
    if ((st = pdbt_box_transform(ctx, v->epsg, PDB_EPSG_WGS84, wide, q)) != PDB_OK)
        return st;
    /* Points read in WGS 84 go to the view's CRS through a grid over the
     * query's box and a quarter more each side (shapes reach out of it),
     * where it agrees with PROJ to PDBT_APPROX_TOL_PX. */
    r->approx.ok = 0;
    if (r->view_epsg != 0) {
        double mw = (q[2] - q[0]) / 4, mh = (q[3] - q[1]) / 4;
        double gb[4] = {q[0] - mw, q[1] - mh, q[2] + mw, q[3] + mh};
        pdbt__approx_build(ctx->db, &r->approx, PDB_EPSG_WGS84, r->view_epsg, gb,
                           PDBT_APPROX_TOL_PX / r->inv_res_x, PDBT_APPROX_TOL_PX / r->inv_res_y);
    }
    return draw_image(ctx, r, r->view_surface, z, need, q, img, stats);
}

pdb_status pdbt_render_message(pdbt_ctx *ctx, pdbt_renderer *r, int w, int h, const char *text,
                               pdbt_image *img)
{
    pdb_status st;
    memset(img, 0, sizeof *img);
    pdbt__ok(ctx);
    if (w < 1 || h < 1 || w > PDBT_VIEW_MAX_PX || h > PDBT_VIEW_MAX_PX)
        return pdbt__fail(ctx, PDB_EINVAL, "a message of %d x %d px", w, h);
    if ((st = clear_surface(ctx, &r->view_surface, w, h)) != PDB_OK)
        return st;
    /* The style's label font, or the default one: a face of our own font
     * files, never Cairo's toy API (fontconfig's caches outlive the
     * process's last free). */
    cairo_font_face_t *font = NULL;
    for (size_t i = 0; i < r->style->nlayers && font == NULL; i++)
        font = r->layer_font[i];
    if (font == NULL) {
        char path[600];
        if (pdbt__font_file(DEFAULT_FONT_DIR, DEFAULT_FONT, path, sizeof path) != 0)
            return pdbt__fail(ctx, PDB_ENOTFOUND, "font '%s' not found (looked for %s)",
                              DEFAULT_FONT, path);
        if ((st = pdbt__font_face(ctx, path, &font)) != PDB_OK)
            return st;
    }
    cairo_t *cr = cairo_create(r->view_surface);
    cairo_set_font_face(cr, font);
    cairo_set_font_size(cr, 12);
    cairo_set_source_rgb(cr, 0.75, 0, 0);
    /* Line by line, wrapped to the image's width. */
    double y = 16;
    for (const char *p = text; *p && y < h; y += 16) {
        char line[96];
        size_t n = strcspn(p, "\n");
        /* About 7 px a character at 12 px: wrap at the image's width. */
        size_t fit = w > 78 ? (size_t)(w - 8) / 7 : 10;
        size_t take = n < fit ? n : fit < 80 ? fit : 80;
        while (take > 1 && take < n && ((unsigned char)p[take] & 0xC0) == 0x80)
            take--; /* never inside a UTF-8 character: Cairo refuses those */
        memcpy(line, p, take);
        line[take] = '\0';
        cairo_move_to(cr, 4, y);
        cairo_show_text(cr, line);
        p += take;
        if (*p == '\n')
            p++;
    }
    st = cairo_status(cr) == CAIRO_STATUS_SUCCESS
             ? PDB_OK
             : pdbt__fail(ctx, PDB_ENOMEM, "Cairo: %s", cairo_status_to_string(cairo_status(cr)));
    cairo_destroy(cr);
    cairo_surface_flush(r->view_surface);
    if (st != PDB_OK)
        return st;
    img->width = w;
    img->height = h;
    img->stride = cairo_image_surface_get_stride(r->view_surface);
    img->argb = (const uint32_t *)cairo_image_surface_get_data(r->view_surface);
    return PDB_OK;
}
