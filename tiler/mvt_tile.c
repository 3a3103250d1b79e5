/*
 * mvt_tile.c: one vector tile from the store (pdbt_mvt_tile): the tile's
 * features read as the PNG tile reads them (render.c's gather, the same
 * overviews at the same zooms), clipped to the buffered tile with GEOS,
 * quantized, cleaned, thinned to the size cap below z16, and encoded by
 * mvt.c.
 *
 * Simplification: none here beyond the quantization to the 4096 grid. At
 * parcel zooms (z15 and deeper, z14 too when the style draws more than
 * land use) a vertex two neighbours share maps to the same integer point
 * in both, so shared edges stay shared; any further simplification done
 * parcel by parcel would move the two copies of an edge differently and
 * open gaps. Below, the overviews are already simplified by the engine to
 * half a pixel of their zoom band (pdb_overview_features), the same
 * shapes the PNG tiles draw.
 */
#include "mvt.h"
#include "render.h"

#include <geos_c.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROPS 7 /* parcels: id commune sheet parcel landuse landuse_main area */

/* One feature being built; offsets, not pointers, while the arrays grow. */
typedef struct wfeat {
    int layer;        /* LAYER_* */
    uint32_t src;     /* index in the renderer's feats */
    size_t xy0, nxy;  /* points in w->xy */
    size_t ring0, nr; /* rings in w->ring_n */
    size_t prop0, np; /* properties in w->props */
    size_t bound;     /* pdbt__mvt_feature_bound */
    int dropped;      /* thinned away */
} wfeat;

enum { LAYER_PARCELS, LAYER_COMMUNES, LAYER_LABELS, LAYER_COUNT };
static const char *const layer_names[LAYER_COUNT] = {"parcels", "communes", "labels"};

/* The buffers of one renderer's vector tiles, kept between tiles. */
struct pdbt_mvt_work {
    GEOSContextHandle_t geos;      /* this thread's GEOS handle */
    int32_t *xy;                   /* quantized points of every feature */
    size_t nxy, capxy;             /* used and allocated (points) */
    uint32_t *ring_n;              /* points per ring */
    uint8_t *ring_ext;             /* 1 for an exterior ring */
    size_t nring, capring, capext; /* used and allocated */
    pdbt_mvt_prop *props;          /* properties */
    size_t nprops, capprops;       /* used and allocated */
    wfeat *feats;                  /* the features being built */
    size_t nfeats, capfeats;       /* used and allocated */
    pdbt_mvt_feature *out;         /* what the encoder reads, by layer */
    size_t capout;                 /* allocated */
    double *ring_tmp;              /* a clipped ring's coordinates */
    size_t captmp;                 /* allocated (doubles) */
    pdbt_mvt_valid_scratch valid;  /* the validity proof's buffers */
    int oom;                       /* an allocation failed */
};

void pdbt__mvt_work_free(struct pdbt_mvt_work *w)
{
    if (w == NULL)
        return;
    if (w->geos != NULL)
        GEOS_finish_r(w->geos);
    free(w->xy);
    free(w->ring_n);
    free(w->ring_ext);
    free(w->props);
    free(w->feats);
    free(w->out);
    free(w->ring_tmp);
    pdbt__mvt_valid_scratch_free(&w->valid);
    free(w);
}

/* Room for n more points; 0, or -1 with w->oom set. */
static int reserve_points(struct pdbt_mvt_work *w, size_t n)
{
    if (w->nxy + n <= w->capxy)
        return 0;
    if (pdbt__grow((void **)&w->xy, &w->capxy, w->nxy + n, 2 * sizeof(int32_t)) != 0) {
        w->oom = 1;
        return -1;
    }
    return 0;
}

/* Appends a point, rounded to the grid (the capacity test inline: a call
 * per point was 2% of a z16 tile). */
static void add_point(struct pdbt_mvt_work *w, double x, double y)
{
    if (reserve_points(w, 1) != 0)
        return;
    /* Coordinates far outside the tile cannot occur once clipped; an
     * unclipped fallback is bounded by the query box. */
    w->xy[2 * w->nxy] = (int32_t)lrint(x);
    w->xy[2 * w->nxy + 1] = (int32_t)lrint(y);
    w->nxy++;
}

static void add_ring(struct pdbt_mvt_work *w, uint32_t n, int exterior)
{
    if (pdbt__grow((void **)&w->ring_n, &w->capring, w->nring + 1, sizeof *w->ring_n) != 0 ||
        pdbt__grow((void **)&w->ring_ext, &w->capext, w->nring + 1, 1) != 0) {
        w->oom = 1;
        return;
    }
    w->ring_n[w->nring] = n;
    w->ring_ext[w->nring] = (uint8_t)exterior;
    w->nring++;
}

/* Copies a feature's rings as they are (it lies inside the buffered tile,
 * or clipping failed: coordinates past the extent are legal MVT). */
static void add_unclipped(struct pdbt_mvt_work *w, const pdbt_renderer *r, const pdbt_rfeat *f)
{
    for (uint32_t k = 0; k < f->nrings; k++) {
        const pdbt_rring *rg = &r->rings[f->ring0 + k];
        const double *p = r->pts + 2 * rg->start;
        for (uint32_t i = 0; i < rg->n; i++)
            add_point(w, p[2 * i], p[2 * i + 1]);
        add_ring(w, rg->n, rg->exterior);
    }
}

/* Where the segment a b crosses the line where coordinate axis is c (it
 * does): computed from the segment's lower end whichever way it is
 * walked, so that two parcels sharing the edge get the same point. */
static void cross_at(const double *a, const double *b, int axis, double c, double *out)
{
    if (a[axis] > b[axis] || (a[axis] == b[axis] && a[1 - axis] > b[1 - axis])) {
        const double *t = a;
        a = b;
        b = t;
    }
    out[axis] = c;
    out[1 - axis] =
        a[1 - axis] + (b[1 - axis] - a[1 - axis]) * ((c - a[axis]) / (b[axis] - a[axis]));
}

/* Clips a one-ring feature to lo .. hi on both axes and appends it:
 * Sutherland-Hodgman, a side at a time, while the ring crosses each
 * side's line at most twice. A simple ring crossed twice by a line keeps
 * one simple piece on either side, so the result is exactly the ring's
 * intersection with the box, as GEOS's; a ring crossing a line more often
 * (a concave lot reaching out of the box and back) would leave zero-width
 * runs along the side, and goes to GEOS. No GEOS geometry to build and
 * free: GEOS's clipping was 12% of a z16 tile. 1 when done, 0 when GEOS
 * must clip it. */
static int clip_ring(struct pdbt_mvt_work *w, const pdbt_renderer *r, const pdbt_rfeat *f,
                     double lo, double hi)
{
    if (f->nrings != 1)
        return 0;
    const pdbt_rring *rg = &r->rings[f->ring0];
    if (rg->n < 4)
        return 0;
    /* Two crossings a side add two points at most: two buffers of n + 8. */
    size_t cap = 2 * ((size_t)rg->n + 8);
    if (pdbt__grow((void **)&w->ring_tmp, &w->captmp, 2 * cap, sizeof(double)) != 0) {
        w->oom = 1;
        return 1;
    }
    double *in = w->ring_tmp, *out = w->ring_tmp + cap;
    size_t n = rg->n - 1; /* open */
    memcpy(in, r->pts + 2 * rg->start, 2 * n * sizeof *in);
    static const struct {
        int axis; /* 0: x, 1: y */
        int low;  /* 1: keep >= the bound, 0: keep <= it */
    } sides[4] = {{0, 1}, {0, 0}, {1, 1}, {1, 0}};
    for (int s = 0; s < 4 && n > 0; s++) {
        int ax = sides[s].axis, low = sides[s].low, crossings = 0;
        double c = low ? lo : hi;
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            const double *a = in + 2 * (i == 0 ? n - 1 : i - 1), *b = in + 2 * i;
            int ain = low ? a[ax] >= c : a[ax] <= c, bin = low ? b[ax] >= c : b[ax] <= c;
            if (ain != bin) {
                if (++crossings > 2)
                    return 0;
                cross_at(a, b, ax, c, out + 2 * m++);
            }
            if (bin) {
                out[2 * m] = b[0];
                out[2 * m + 1] = b[1];
                m++;
            }
        }
        double *t = in;
        in = out;
        out = t;
        n = m;
    }
    if (n < 3)
        return 1; /* nothing of it with an area in the buffered tile */
    if (reserve_points(w, n) != 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        add_point(w, in[2 * i], in[2 * i + 1]);
    add_ring(w, (uint32_t)n, 1);
    return 1;
}

/* A GEOS ring from points; NULL on failure. */
static GEOSGeometry *geos_ring(GEOSContextHandle_t g, const double *p, uint32_t n)
{
    GEOSCoordSequence *cs = GEOSCoordSeq_copyFromBuffer_r(g, p, n, 0, 0);
    return cs != NULL ? GEOSGeom_createLinearRing_r(g, cs) : NULL;
}

/* The feature as a GEOS (multi)polygon: each exterior with its holes. */
static GEOSGeometry *geos_feature(GEOSContextHandle_t g, const pdbt_renderer *r,
                                  const pdbt_rfeat *f)
{
    GEOSGeometry *polys[64], **pp = polys, *out = NULL;
    size_t npoly = 0, cap = PDB_COUNTOF(polys);
    GEOSGeometry **holes = NULL;
    int fail = 0;
    if (f->nrings > cap) {
        cap = f->nrings;
        pp = malloc(cap * sizeof *pp);
        if (pp == NULL)
            return NULL;
    }
    holes = malloc(f->nrings * sizeof *holes);
    for (uint32_t k = 0; k < f->nrings && holes != NULL && !fail;) {
        const pdbt_rring *e = &r->rings[f->ring0 + k];
        GEOSGeometry *shell = geos_ring(g, r->pts + 2 * e->start, e->n);
        uint32_t nh = 0;
        for (k++; k < f->nrings && !r->rings[f->ring0 + k].exterior; k++) {
            const pdbt_rring *h = &r->rings[f->ring0 + k];
            GEOSGeometry *hr = geos_ring(g, r->pts + 2 * h->start, h->n);
            if (hr == NULL)
                fail = 1;
            else
                holes[nh++] = hr;
        }
        GEOSGeometry *poly =
            shell != NULL && !fail ? GEOSGeom_createPolygon_r(g, shell, holes, nh) : NULL;
        if (poly == NULL) {
            if (shell != NULL)
                GEOSGeom_destroy_r(g, shell);
            for (uint32_t i = 0; i < nh; i++)
                GEOSGeom_destroy_r(g, holes[i]);
            fail = 1;
        } else {
            pp[npoly++] = poly;
        }
    }
    if (!fail && holes != NULL && npoly > 0)
        out = GEOSGeom_createCollection_r(g, GEOS_MULTIPOLYGON, pp, (unsigned)npoly);
    if (out == NULL)
        for (size_t i = 0; i < npoly; i++)
            GEOSGeom_destroy_r(g, pp[i]);
    free(holes);
    if (pp != polys)
        free(pp);
    return out;
}

/* Appends one GEOS ring's points (its closing point included; clean drops
 * it). 0, or -1 when GEOS fails. */
static int add_geos_ring(struct pdbt_mvt_work *w, const GEOSGeometry *ring, int exterior)
{
    GEOSContextHandle_t g = w->geos;
    const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(g, ring);
    unsigned n = 0;
    if (cs == NULL || GEOSCoordSeq_getSize_r(g, cs, &n) == 0)
        return -1;
    if (pdbt__grow((void **)&w->ring_tmp, &w->captmp, 2 * (size_t)n, sizeof(double)) != 0) {
        w->oom = 1;
        return 0;
    }
    if (n > 0 && GEOSCoordSeq_copyToBuffer_r(g, cs, w->ring_tmp, 0, 0) == 0)
        return -1;
    for (unsigned i = 0; i < n; i++)
        add_point(w, w->ring_tmp[2 * i], w->ring_tmp[2 * i + 1]);
    add_ring(w, n, exterior);
    return 0;
}

/* Appends the polygons of a clipped geometry (lines and points that the
 * clip leaves along the edge are not polygons and are left out). */
static int add_geos(struct pdbt_mvt_work *w, const GEOSGeometry *geom)
{
    GEOSContextHandle_t g = w->geos;
    int type = GEOSGeomTypeId_r(g, geom);
    if (type == GEOS_POLYGON) {
        const GEOSGeometry *ext = GEOSGetExteriorRing_r(g, geom);
        int nh = GEOSGetNumInteriorRings_r(g, geom);
        if (ext == NULL || nh < 0 || add_geos_ring(w, ext, 1) != 0)
            return -1;
        for (int i = 0; i < nh; i++)
            if (add_geos_ring(w, GEOSGetInteriorRingN_r(g, geom, i), 0) != 0)
                return -1;
        return 0;
    }
    if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
        int n = GEOSGetNumGeometries_r(g, geom);
        for (int i = 0; i < n; i++)
            if (add_geos(w, GEOSGetGeometryN_r(g, geom, i)) != 0)
                return -1;
    }
    return 0;
}

static void add_prop_str(struct pdbt_mvt_work *w, const char *key, const char *s)
{
    if (s == NULL)
        return;
    if (pdbt__grow((void **)&w->props, &w->capprops, w->nprops + 1, sizeof *w->props) != 0) {
        w->oom = 1;
        return;
    }
    w->props[w->nprops++] = (pdbt_mvt_prop){.key = key, .type = PDBT_MVT_STRING, .s = s};
}

static void add_prop_num(struct pdbt_mvt_work *w, const char *key, pdbt_mvt_vtype type, uint64_t u,
                         double d)
{
    if (pdbt__grow((void **)&w->props, &w->capprops, w->nprops + 1, sizeof *w->props) != 0) {
        w->oom = 1;
        return;
    }
    w->props[w->nprops++] = (pdbt_mvt_prop){.key = key, .type = type, .u = u, .d = d};
}

static wfeat *new_feat(struct pdbt_mvt_work *w, int layer, uint32_t src)
{
    if (pdbt__grow((void **)&w->feats, &w->capfeats, w->nfeats + 1, sizeof *w->feats) != 0) {
        w->oom = 1;
        return NULL;
    }
    wfeat *wf = &w->feats[w->nfeats++];
    memset(wf, 0, sizeof *wf);
    wf->layer = layer;
    wf->src = src;
    wf->xy0 = w->nxy;
    wf->ring0 = w->nring;
    wf->prop0 = w->nprops;
    return wf;
}

/* The encoder's view of a built feature. */
static pdbt_mvt_feature view_of(const struct pdbt_mvt_work *w, const wfeat *wf,
                                const pdbt_renderer *r)
{
    const pdbt_rfeat *f = &r->feats[wf->src];
    pdbt_mvt_feature mf = {
        .id = (uint64_t)f->id,
        .has_id = f->id > 0 && wf->layer != LAYER_COMMUNES,
        .type = wf->layer == LAYER_LABELS ? PDBT_MVT_POINT : PDBT_MVT_POLYGON,
        .xy = w->xy + 2 * wf->xy0,
        .ring_n = w->ring_n + wf->ring0,
        .nrings = wf->nr,
        .props = w->props + wf->prop0,
        .nprops = wf->np,
    };
    return mf;
}

/* Cleans the rings of wf, the last feature built (pdbt__mvt_clean_polygon),
 * and trims the arrays to what it kept. */
static void clean_last(struct pdbt_mvt_work *w, wfeat *wf)
{
    size_t nr = w->nring - wf->ring0;
    size_t kept = pdbt__mvt_clean_polygon(w->xy + 2 * wf->xy0, w->ring_n + wf->ring0,
                                          w->ring_ext + wf->ring0, &nr);
    w->nxy = wf->xy0 + kept;
    w->nring = wf->ring0 + nr;
    wf->nxy = kept;
    wf->nr = nr;
}

/* The last feature's cleaned integer rings as a GEOS multipolygon; with
 * only, the parts whose rings it marks. */
static GEOSGeometry *geos_of_int(struct pdbt_mvt_work *w, const wfeat *wf, const uint8_t *only)
{
    GEOSContextHandle_t g = w->geos;
    size_t nr = wf->nr, npoly = 0;
    GEOSGeometry **rings = calloc(nr, sizeof *rings), **polys = calloc(nr, sizeof *polys);
    GEOSGeometry *out = NULL;
    const int32_t *p = w->xy + 2 * wf->xy0;
    int fail = rings == NULL || polys == NULL;
    for (size_t r = 0; r < nr && !fail; r++) {
        uint32_t n = w->ring_n[wf->ring0 + r];
        if (only != NULL && !only[r]) {
            p += 2 * n;
            continue;
        }
        GEOSCoordSequence *cs = GEOSCoordSeq_create_r(g, n + 1, 2);
        for (uint32_t i = 0; cs != NULL && i <= n; i++)
            GEOSCoordSeq_setXY_r(g, cs, i, p[2 * (i % n)], p[2 * (i % n) + 1]);
        p += 2 * n;
        if (cs == NULL || (rings[r] = GEOSGeom_createLinearRing_r(g, cs)) == NULL)
            fail = 1;
    }
    /* Each exterior with the holes after it (the cleaned order). */
    for (size_t r = 0; r < nr && !fail;) {
        size_t h = r + 1;
        while (h < nr && !w->ring_ext[wf->ring0 + h])
            h++;
        if (only != NULL && !only[r]) {
            r = h;
            continue;
        }
        GEOSGeometry *poly =
            GEOSGeom_createPolygon_r(g, rings[r], rings + r + 1, (unsigned)(h - r - 1));
        if (poly == NULL) {
            fail = 1;
            break;
        }
        for (size_t k = r; k < h; k++)
            rings[k] = NULL; /* the polygon owns them */
        polys[npoly++] = poly;
        r = h;
    }
    if (!fail)
        out = GEOSGeom_createCollection_r(g, GEOS_MULTIPOLYGON, polys, (unsigned)npoly);
    if (out == NULL)
        for (size_t k = 0; k < npoly; k++)
            GEOSGeom_destroy_r(g, polys[k]);
    for (size_t k = 0; rings != NULL && k < nr; k++)
        if (rings[k] != NULL)
            GEOSGeom_destroy_r(g, rings[k]);
    free(rings);
    free(polys);
    return out;
}

/* A shape snap-rounded to the grid: setPrecision, or when GEOS refuses
 * the invalid input, setPrecision of its MakeValid. NULL when neither. */
static GEOSGeometry *snap_round(GEOSContextHandle_t g, const GEOSGeometry *geom)
{
    GEOSGeometry *snapped = GEOSGeom_setPrecision_r(g, geom, 1.0, 0);
    if (snapped == NULL) {
        GEOSGeometry *valid = GEOSMakeValid_r(g, geom);
        if (valid != NULL) {
            snapped = GEOSGeom_setPrecision_r(g, valid, 1.0, 0);
            GEOSGeom_destroy_r(g, valid);
        }
    }
    return snapped;
}

/* Appends the polygons of geom (a polygon, or a collection of them) to
 * parts as copies; -1 when out of room or memory. */
static int take_polygons(GEOSContextHandle_t g, const GEOSGeometry *geom, GEOSGeometry **parts,
                         size_t *n, size_t cap)
{
    int type = GEOSGeomTypeId_r(g, geom);
    if (type == GEOS_POLYGON) {
        if (GEOSisEmpty_r(g, geom) == 1)
            return 0;
        if (*n == cap || (parts[*n] = GEOSGeom_clone_r(g, geom)) == NULL)
            return -1;
        (*n)++;
        return 0;
    }
    if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
        int k = GEOSGetNumGeometries_r(g, geom);
        for (int i = 0; i < k; i++)
            if (take_polygons(g, GEOSGetGeometryN_r(g, geom, i), parts, n, cap) != 0)
                return -1;
    }
    return 0; /* lines and points that snapping left: not area */
}

/* Whether rings r0 .. r1-1 of wf (one part: an exterior and its holes,
 * their points from p) are proven valid on the integers (mvt_valid.c): 1,
 * or 0 when GEOS must say. */
static int part_proven(struct pdbt_mvt_work *w, const wfeat *wf, size_t r0, size_t r1,
                       const int32_t *p)
{
    const uint32_t *ring_n = w->ring_n + wf->ring0 + r0;
    if (r1 - r0 == 1 && pdbt__mvt_simple_ring(p, ring_n[0]))
        return 1;
    uint8_t stack[64], *suspect = r1 - r0 <= sizeof stack ? stack : malloc(r1 - r0);
    if (suspect == NULL)
        return 0;
    int v = pdbt__mvt_certainly_valid(p, ring_n, w->ring_ext + wf->ring0 + r0, r1 - r0, suspect,
                                      &w->valid);
    if (suspect != stack)
        free(suspect);
    return v == 1;
}

/* GEOSisValid of a shape snapping made (integer coordinates), proven on
 * the integers first: its rings are copied after everything built,
 * cleaned, proven (mvt_valid.c) and dropped again; GEOS decides only on
 * the parts the proof leaves to it, or on the whole when the proof cannot
 * tell. 1 valid, 0 not (or GEOS could not say, or out of memory). */
static int snapped_valid(struct pdbt_mvt_work *w, const GEOSGeometry *geom)
{
    GEOSContextHandle_t g = w->geos;
    size_t nxy = w->nxy, nring = w->nring;
    int proven = 0, valid = 0;
    uint8_t *suspect = NULL;
    wfeat tail = {.xy0 = nxy, .ring0 = nring};
    if (add_geos(w, geom) == 0 && !w->oom) {
        size_t nr = w->nring - nring, kept = nr;
        pdbt__mvt_clean_polygon(w->xy + 2 * nxy, w->ring_n + nring, w->ring_ext + nring, &kept);
        /* A ring cleaning dropped (zero area) is GEOS's to judge. */
        if (kept == nr && (suspect = malloc(nr ? nr : 1)) != NULL)
            proven = pdbt__mvt_certainly_valid(w->xy + 2 * nxy, w->ring_n + nring,
                                               w->ring_ext + nring, nr, suspect, &w->valid);
        tail.nr = nr;
    }
    if (proven == 1) {
        valid = 1;
    } else if (proven == 2) {
        GEOSGeometry *sub = geos_of_int(w, &tail, suspect);
        valid = sub != NULL && GEOSisValid_r(g, sub) == 1;
        if (sub != NULL)
            GEOSGeom_destroy_r(g, sub);
    } else {
        valid = GEOSisValid_r(g, geom) == 1;
    }
    free(suspect);
    w->nxy = nxy;
    w->nring = nring;
    return valid;
}

/* The multipolygon with only its invalid parts snap-rounded, when that is
 * valid as a whole; NULL otherwise (the caller snaps the whole). A z12
 * tile's clipped land-use overview has thousands of vertices, and
 * snap-rounding all of it because one neck crossed itself was two thirds
 * of the tile (callgrind); the valid parts also keep their vertices.
 * geom is geos_of_int of wf (its parts are wf's, in order); known, when
 * not NULL, marks the rings whose parts the proof left to GEOS (the
 * others are valid). Parts are proven on the integers before GEOS is
 * asked: GEOSisValid of each part was 13% of a z12 tile, of the result
 * 14% (callgrind). */
static GEOSGeometry *snap_invalid_parts(struct pdbt_mvt_work *w, const wfeat *wf,
                                        const GEOSGeometry *geom, const uint8_t *known)
{
    GEOSContextHandle_t g = w->geos;
    int n = GEOSGetNumGeometries_r(g, geom);
    if (GEOSGeomTypeId_r(g, geom) != GEOS_MULTIPOLYGON || n < 2)
        return NULL;
    size_t cap = 4 * (size_t)n + 16, m = 0, r0 = 0;
    const int32_t *p = w->xy + 2 * wf->xy0;
    GEOSGeometry **parts = calloc(cap, sizeof *parts), *out = NULL;
    int fail = parts == NULL;
    for (int i = 0; i < n && !fail; i++) {
        const GEOSGeometry *part = GEOSGetGeometryN_r(g, geom, i);
        size_t r1 = r0 + 1, npts = w->ring_n[wf->ring0 + r0];
        while (r1 < wf->nr && !w->ring_ext[wf->ring0 + r1])
            npts += w->ring_n[wf->ring0 + r1++];
        int valid = (known != NULL && !known[r0]) || part_proven(w, wf, r0, r1, p) ||
                    GEOSisValid_r(g, part) == 1;
        p += 2 * npts;
        r0 = r1;
        if (valid) {
            fail = take_polygons(g, part, parts, &m, cap) != 0;
            continue;
        }
        GEOSGeometry *snapped = snap_round(g, part);
        fail = snapped == NULL || take_polygons(g, snapped, parts, &m, cap) != 0;
        if (snapped != NULL)
            GEOSGeom_destroy_r(g, snapped);
    }
    if (!fail && m > 0 &&
        (out = GEOSGeom_createCollection_r(g, GEOS_MULTIPOLYGON, parts, (unsigned)m)) != NULL)
        m = 0; /* the collection owns them */
    for (size_t i = 0; parts != NULL && i < m; i++)
        GEOSGeom_destroy_r(g, parts[i]);
    free(parts);
    if (out != NULL && !snapped_valid(w, out)) {
        GEOSGeom_destroy_r(g, out); /* snapped parts now meet others: the whole, then */
        out = NULL;
    }
    return out;
}

/* Rounding to the grid can make a ring cross itself or its neighbour ring
 * (a land-use overview's narrow necks at low zooms, mostly): GDAL then
 * refuses the feature. Such a feature is snap-rounded to the grid by GEOS
 * (GEOSGeom_setPrecision, grid 1: valid output with integer coordinates)
 * and cleaned again; a valid one is left as it is, so neighbours' shared
 * vertices stay the same integers. 0, or -1 when out of memory. */
static int snap_if_invalid(struct pdbt_mvt_work *w, wfeat *wf)
{
    if (wf->nr == 1 && pdbt__mvt_simple_ring(w->xy + 2 * wf->xy0, w->ring_n[wf->ring0]))
        return 0; /* most parcels: one small ring, checked exactly here */
    GEOSContextHandle_t g = w->geos;
    uint8_t stack[256], *suspect = wf->nr <= sizeof stack ? stack : malloc(wf->nr);
    if (suspect == NULL)
        return -1;
    /* Most overviews are proven valid on the integers (mvt_valid.c), or
     * all but their touching parts, which GEOS checks alone. */
    int proven = pdbt__mvt_certainly_valid(w->xy + 2 * wf->xy0, w->ring_n + wf->ring0,
                                           w->ring_ext + wf->ring0, wf->nr, suspect, &w->valid);
    int sub_valid = 0;
    if (proven == 2) {
        GEOSGeometry *sub = geos_of_int(w, wf, suspect);
        sub_valid = sub == NULL || GEOSisValid_r(g, sub) != 0;
        if (sub != NULL)
            GEOSGeom_destroy_r(g, sub);
    }
    GEOSGeometry *geom = NULL, *snapped = NULL;
    if (proven == 1 || sub_valid)
        goto kept; /* valid, or GEOS could not say */
    geom = geos_of_int(w, wf, NULL);
    if (geom == NULL || (proven == 0 && GEOSisValid_r(g, geom) != 0))
        goto kept; /* valid, or GEOS could not say */
    /* The proof's suspects, when it went through: the other parts are
     * valid as they are. */
    if ((snapped = snap_invalid_parts(w, wf, geom, proven == 2 ? suspect : NULL)) == NULL)
        snapped = snap_round(g, geom);
    GEOSGeom_destroy_r(g, geom);
    if (suspect != stack)
        free(suspect);
    if (snapped == NULL)
        return 0;
    /* The snapped rings go after the feature's, then over them. */
    size_t nxy = w->nxy, nring = w->nring;
    if (add_geos(w, snapped) != 0 || w->oom) {
        w->nxy = nxy; /* the quantized rings are kept */
        w->nring = nring;
    } else {
        size_t addxy = w->nxy - nxy, addr = w->nring - nring;
        memmove(w->xy + 2 * wf->xy0, w->xy + 2 * nxy, addxy * 2 * sizeof *w->xy);
        memmove(w->ring_n + wf->ring0, w->ring_n + nring, addr * sizeof *w->ring_n);
        memmove(w->ring_ext + wf->ring0, w->ring_ext + nring, addr);
        w->nxy = wf->xy0 + addxy;
        w->nring = wf->ring0 + addr;
        clean_last(w, wf);
    }
    GEOSGeom_destroy_r(g, snapped);
    return w->oom ? -1 : 0;
kept:
    if (geom != NULL)
        GEOSGeom_destroy_r(g, geom);
    if (suspect != stack)
        free(suspect);
    return 0;
}

/* Builds one polygon feature: clipped to lo .. hi, quantized and cleaned;
 * with keep, a parcel of the tile is never left out. 0, or -1 with
 * w->oom. */
static int build_polygon(struct pdbt_mvt_work *w, const pdbt_renderer *r, uint32_t i, int layer,
                         double lo, double hi, int keep)
{
    const pdbt_rfeat *f = &r->feats[i];
    wfeat *wf = new_feat(w, layer, i);
    if (wf == NULL)
        return -1;
    size_t fi = (size_t)(wf - w->feats);
    if (f->bbox[0] >= lo && f->bbox[1] >= lo && f->bbox[2] <= hi && f->bbox[3] <= hi) {
        add_unclipped(w, r, f);
    } else if (!clip_ring(w, r, f, lo, hi)) {
        GEOSGeometry *g = geos_feature(w->geos, r, f), *c = NULL;
        if (g != NULL)
            c = GEOSClipByRect_r(w->geos, g, lo, lo, hi, hi);
        size_t nxy = w->nxy, nring = w->nring;
        if (c == NULL || add_geos(w, c) != 0) {
            /* GEOS refused the shape (an invalid ring): send it whole. */
            w->nxy = nxy;
            w->nring = nring;
            add_unclipped(w, r, f);
        }
        if (c != NULL)
            GEOSGeom_destroy_r(w->geos, c);
        if (g != NULL)
            GEOSGeom_destroy_r(w->geos, g);
    }
    if (w->oom)
        return -1;
    wf = &w->feats[fi];
    clean_last(w, wf);
    if (wf->nr > 0 && snap_if_invalid(w, wf) != 0)
        return -1;
    size_t nr = wf->nr;
    double units = hi + lo; /* the tile proper is 0 .. units */
    if (nr == 0 && keep && layer == LAYER_PARCELS && f->bbox[2] >= 0 && f->bbox[0] <= units &&
        f->bbox[3] >= 0 && f->bbox[1] <= units &&
        fmin(f->bbox[2] - f->bbox[0], f->bbox[3] - f->bbox[1]) < 2) {
        /* A parcel of the tile thinner than the grid (its box, not only
         * what the clip left: a parcel whose box reaches the tile but whose
         * shape does not is no parcel of the tile): never dropped from z16
         * on, it stays as the smallest square the grid holds, where it is
         * (clockwise: an exterior). */
        int32_t x = (int32_t)floor((f->bbox[0] + f->bbox[2]) / 2);
        int32_t y = (int32_t)floor((f->bbox[1] + f->bbox[3]) / 2);
        add_point(w, x, y);
        add_point(w, x + 1, y);
        add_point(w, x + 1, y + 1);
        add_point(w, x, y + 1);
        add_ring(w, 4, 1);
        wf->nxy = 4;
        wf->nr = nr = 1;
    }
    if (nr == 0) {
        w->nfeats--; /* nothing of it left in the tile */
        return 0;
    }
    if (layer == LAYER_COMMUNES) {
        add_prop_str(w, "code", pdbt__feat_str(r, f, PDBT_FP_COMMUNE));
        add_prop_str(w, "name", pdbt__feat_str(r, f, PDBT_FP_COMMUNE_NAME));
    } else {
        if (f->id > 0)
            add_prop_num(w, "id", PDBT_MVT_UINT, (uint64_t)f->id, 0);
        add_prop_str(w, "commune", pdbt__feat_str(r, f, PDBT_FP_COMMUNE));
        add_prop_str(w, "sheet", pdbt__feat_str(r, f, PDBT_FP_SHEET));
        add_prop_str(w, "parcel", pdbt__feat_str(r, f, PDBT_FP_PARCEL));
        add_prop_str(w, "landuse", pdbt__feat_str(r, f, PDBT_FP_LANDUSE));
        add_prop_str(w, "landuse_main", pdbt__feat_str(r, f, PDBT_FP_LANDUSE_MAIN));
        /* Centimetre-square precision says all a survey can. */
        add_prop_num(w, "area", PDBT_MVT_DOUBLE, 0, round(f->area_m2 * 100.0) / 100.0);
    }
    wf->np = w->nprops - wf->prop0;
    return w->oom ? -1 : 0;
}

/* Builds a parcel's label point when it falls inside the tile proper (not
 * its buffer: each label is in exactly one tile). */
static int build_label(struct pdbt_mvt_work *w, const pdbt_renderer *r, uint32_t i, double units)
{
    const pdbt_rfeat *f = &r->feats[i];
    double a[2];
    /* The anchor lies inside the parcel: a parcel whose box misses the
     * tile proper (one of its buffer's) has none here. */
    if (f->bbox[2] < 0 || f->bbox[0] >= units || f->bbox[3] < 0 || f->bbox[1] >= units)
        return 0;
    pdbt__label_anchor(r, f, a);
    if (!(a[0] >= 0 && a[0] < units && a[1] >= 0 && a[1] < units))
        return 0;
    wfeat *wf = new_feat(w, LAYER_LABELS, i);
    if (wf == NULL)
        return -1;
    add_point(w, a[0], a[1]);
    add_ring(w, 1, 0);
    add_prop_num(w, "id", PDBT_MVT_UINT, (uint64_t)f->id, 0);
    add_prop_str(w, "parcel", pdbt__feat_str(r, f, PDBT_FP_PARCEL));
    wf->nxy = 1;
    wf->nr = 1;
    wf->np = w->nprops - wf->prop0;
    return w->oom ? -1 : 0;
}

/* Smallest first, then by id: the order parcels are thinned in. */
static _Thread_local const pdbt_renderer *sort_r;
static _Thread_local const struct pdbt_mvt_work *sort_w;
static int thin_cmp(const void *a, const void *b)
{
    const pdbt_rfeat *x = &sort_r->feats[sort_w->feats[*(const uint32_t *)a].src];
    const pdbt_rfeat *y = &sort_r->feats[sort_w->feats[*(const uint32_t *)b].src];
    if (x->area_m2 != y->area_m2)
        return x->area_m2 < y->area_m2 ? -1 : 1;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* Drops the smallest parcels (and their labels) until the bounds sum
 * under cap. Returns how many were dropped, or -1 when out of memory. */
static long thin(struct pdbt_mvt_work *w, const pdbt_renderer *r, size_t cap)
{
    size_t total = 0, n = 0;
    for (size_t i = 0; i < w->nfeats; i++) {
        total += w->feats[i].bound;
        n += w->feats[i].layer == LAYER_PARCELS;
    }
    if (total <= cap)
        return 0;
    uint32_t *order = malloc((n ? n : 1) * sizeof *order);
    uint32_t *label_of = malloc((r->nfeats ? r->nfeats : 1) * sizeof *label_of);
    if (order == NULL || label_of == NULL) {
        free(order);
        free(label_of);
        return -1;
    }
    n = 0;
    for (size_t i = 0; i < r->nfeats; i++)
        label_of[i] = UINT32_MAX;
    for (size_t i = 0; i < w->nfeats; i++) {
        if (w->feats[i].layer == LAYER_PARCELS)
            order[n++] = (uint32_t)i;
        else if (w->feats[i].layer == LAYER_LABELS)
            label_of[w->feats[i].src] = (uint32_t)i;
    }
    sort_r = r;
    sort_w = w;
    if (n > 1)
        qsort(order, n, sizeof *order, thin_cmp);
    long dropped = 0;
    for (size_t k = 0; k < n && total > cap; k++) {
        wfeat *wf = &w->feats[order[k]];
        wf->dropped = 1;
        total -= wf->bound;
        uint32_t li = label_of[wf->src];
        if (li != UINT32_MAX && !w->feats[li].dropped) {
            w->feats[li].dropped = 1;
            total -= w->feats[li].bound;
        }
        dropped++;
    }
    free(order);
    free(label_of);
    return dropped;
}

pdb_status pdbt_mvt_tile(pdbt_ctx *ctx, pdbt_renderer *r, const pdbt_tile *tile,
                         const pdbt_mvt_options *opts, unsigned char **out, size_t *len,
                         pdbt_mvt_stats *stats)
{
    const double units = PDBT_MVT_EXTENT, buffer = PDBT_MVT_BUFFER;
    size_t cap = opts != NULL && opts->max_bytes > 0 ? opts->max_bytes : PDBT_MVT_MAX_BYTES;
    pdb_status st;

    *out = NULL;
    *len = 0;
    if (stats != NULL)
        memset(stats, 0, sizeof *stats);
    pdbt__ok(ctx);
    if (r->mvt == NULL) {
        struct pdbt_mvt_work *nw = calloc(1, sizeof *nw);
        if (nw == NULL || (nw->geos = GEOS_init_r()) == NULL) {
            pdbt__mvt_work_free(nw);
            return pdbt__fail(ctx, PDB_ENOMEM, "out of memory for the vector tile buffers");
        }
        r->mvt = nw;
    }
    struct pdbt_mvt_work *w = r->mvt;
    w->nxy = w->nring = w->nprops = w->nfeats = 0;
    w->oom = 0;
    if ((st = pdbt__gather_tile(ctx, r, tile, units, buffer)) != PDB_OK)
        return st;

    double lo = -buffer, hi = units + buffer;
    for (uint32_t i = 0; i < r->nfeats; i++) {
        int layer = r->feats[i].source == PDBT_SRC_PARCELS ? LAYER_PARCELS : LAYER_COMMUNES;
        if (build_polygon(w, r, i, layer, lo, hi, tile->z >= PDBT_MVT_KEEP_ZOOM) != 0)
            goto oom;
        if (layer == LAYER_PARCELS && !r->use_overview && r->feats[i].id > 0 &&
            build_label(w, r, i, units) != 0)
            goto oom;
    }
    /* Bounds only where thinning reads them: below the zoom that keeps
     * every parcel (sizing each feature's geometry was 3% of a z16 tile). */
    long dropped = 0;
    if (tile->z < PDBT_MVT_KEEP_ZOOM) {
        for (size_t i = 0; i < w->nfeats; i++) {
            pdbt_mvt_feature mf = view_of(w, &w->feats[i], r);
            w->feats[i].bound = pdbt__mvt_feature_bound(&mf);
        }
        if ((dropped = thin(w, r, cap)) < 0)
            goto oom;
    }

    /* The encoder's layers: features in the order read (parcels by id). */
    if (pdbt__grow((void **)&w->out, &w->capout, w->nfeats + 1, sizeof *w->out) != 0)
        goto oom;
    pdbt_mvt_layer layers[LAYER_COUNT];
    size_t n = 0;
    for (int l = 0; l < LAYER_COUNT; l++) {
        layers[l] = (pdbt_mvt_layer){
            .name = layer_names[l], .extent = (uint32_t)units, .feats = w->out + n};
        for (size_t i = 0; i < w->nfeats; i++)
            if (w->feats[i].layer == l && !w->feats[i].dropped)
                w->out[n++] = view_of(w, &w->feats[i], r);
        layers[l].nfeats = (size_t)(w->out + n - layers[l].feats);
    }
    if ((st = pdbt__mvt_encode(ctx, layers, LAYER_COUNT, out, len)) != PDB_OK)
        return st;
    if (stats != NULL) {
        stats->features = n;
        stats->overview = (size_t)r->use_overview;
        stats->thinned = (size_t)dropped;
    }
    return PDB_OK;
oom:
    return pdbt__fail(ctx, PDB_ENOMEM, "out of memory making tile %d/%u/%u", tile->z, tile->x,
                      tile->y);
}
