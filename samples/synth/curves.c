/*
 * curves.c: boundaries that curve, as surveys of hills, forest and old
 * village land draw them: a vertex every few metres instead of straight
 * cuts between corners. The straight-edged province tests and measures
 * shapes of four to eight vertices; a renderer's or a dissolve's cost per
 * vertex, and the validity of many nearly collinear vertices after
 * reprojection, only show on shapes like these.
 *
 * Every edge (a pair of pooled vertices) is split once, whichever parcel
 * meets it first, and its new vertices are shared by both parcels along it
 * (the second walks them backwards), so the map stays topologically clean.
 * The new vertices follow a sine wave across the edge with a whole number
 * of periods (so an edge's area gain and loss cancel) and an amplitude of at
 * most 2% of the edge, 0.3 m and a fifth of the spacing: a 2 m ditch keeps
 * more than a metre between its banks, and a wave is never steeper than 12
 * degrees (one period: 2 pi 2% of the edge over the edge; more: a
 * wavelength of at least 6 spacings, 2 pi spacing / 5 over it), so it
 * leaves a corner nearly as it was and no ring crosses itself or its
 * neighbours.
 */
#include "synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AMPLITUDE_MAX_M 0.3
#define AMPLITUDE_FRACTION 0.02
#define AMPLITUDE_SPACINGS 0.2  /* at most this many spacings across */
#define WAVELENGTH_SPACINGS 8.0 /* a wave spans this many vertex spacings */

/* One split edge: its interior vertices, from the lower vertex index to
 * the higher, are pooled at first .. first + count - 1 of mid. */
typedef struct split_edge {
    uint32_t lo, hi; /* the edge's end vertices, lo < hi */
    uint32_t first;  /* first interior vertex in the mid list */
    uint32_t count;  /* interior vertices */
    int used;        /* slot holds an edge */
} split_edge;

typedef struct edge_table {
    split_edge *slot; /* open addressing, at most half full */
    size_t cap;       /* slots, a power of two */
    size_t n;         /* edges held */
    uint32_t *mid;    /* interior vertex indices of all edges */
    size_t nmid, capmid;
} edge_table;

static size_t edge_hash(uint32_t lo, uint32_t hi, size_t cap)
{
    uint64_t h = ((uint64_t)lo << 32 | hi) * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 17) & (cap - 1);
}

static int table_grow(edge_table *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 1024;
    split_edge *s = calloc(ncap, sizeof *s);
    if (s == NULL)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slot[i].used)
            continue;
        size_t h = edge_hash(t->slot[i].lo, t->slot[i].hi, ncap);
        while (s[h].used)
            h = (h + 1) & (ncap - 1);
        s[h] = t->slot[i];
    }
    free(t->slot);
    t->slot = s;
    t->cap = ncap;
    return 0;
}

/* Splits the edge lo-hi (lo < hi) into pieces of at most spacing metres,
 * adding the interior vertices to the pool and to t->mid. */
static int split(synth_commune *c, edge_table *t, split_edge *e, double spacing)
{
    double x0 = c->vx[e->lo], y0 = c->vy[e->lo], dx = c->vx[e->hi] - x0, dy = c->vy[e->hi] - y0;
    double len = hypot(dx, dy);
    e->first = (uint32_t)t->nmid;
    e->count = 0;
    if (!(len > spacing))
        return 0;
    uint32_t pieces = (uint32_t)ceil(len / spacing);
    double periods = fmax(1.0, round(len / (spacing * WAVELENGTH_SPACINGS)));
    double amp =
        fmin(fmin(AMPLITUDE_MAX_M, AMPLITUDE_FRACTION * len), AMPLITUDE_SPACINGS * spacing);
    double nx = -dy / len, ny = dx / len; /* unit normal */
    if (t->nmid + pieces > t->capmid) {
        size_t ncap = t->capmid ? t->capmid : 4096;
        while (ncap < t->nmid + pieces)
            ncap *= 2;
        uint32_t *m = realloc(t->mid, ncap * sizeof *m);
        if (m == NULL)
            return -1;
        t->mid = m;
        t->capmid = ncap;
    }
    for (uint32_t k = 1; k < pieces; k++) {
        double s = (double)k / pieces, w = amp * sin(2.0 * M_PI * periods * s);
        uint32_t v;
        if (synth_add_vertex(c, x0 + s * dx + w * nx, y0 + s * dy + w * ny, &v) != 0)
            return -1;
        t->mid[t->nmid++] = v;
        e->count++;
    }
    return 0;
}

/* The edge a-b, split on first sight. */
static split_edge *edge_of(synth_commune *c, edge_table *t, uint32_t a, uint32_t b, double spacing)
{
    uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
    if (2 * (t->n + 1) > t->cap && table_grow(t) != 0)
        return NULL;
    size_t h = edge_hash(lo, hi, t->cap);
    while (t->slot[h].used) {
        if (t->slot[h].lo == lo && t->slot[h].hi == hi)
            return &t->slot[h];
        h = (h + 1) & (t->cap - 1);
    }
    split_edge *e = &t->slot[h];
    *e = (split_edge){lo, hi, 0, 0, 1};
    t->n++;
    return split(c, t, e, spacing) == 0 ? e : NULL;
}

int synth_curve_edges(synth_commune *c, double spacing)
{
    edge_table t = {0};
    uint32_t *out = NULL;
    size_t nout = 0, capout = 0;
    int rc = -1;

    for (size_t ri = 0; ri < c->nrings; ri++) {
        synth_ring *r = &c->rings[ri];
        const uint32_t *v = c->ring_vertices + r->off;
        size_t start = nout;
        for (uint32_t i = 0; i < r->n; i++) {
            uint32_t a = v[i], b = v[(i + 1) % r->n];
            split_edge *e = edge_of(c, &t, a, b, spacing);
            if (e == NULL)
                goto done;
            if (nout + 1 + e->count > capout) {
                size_t ncap = capout ? capout * 2 : 4096;
                while (ncap < nout + 1 + e->count)
                    ncap *= 2;
                uint32_t *o = realloc(out, ncap * sizeof *o);
                if (o == NULL)
                    goto done;
                out = o;
                capout = ncap;
            }
            out[nout++] = a;
            for (uint32_t k = 0; k < e->count; k++)
                out[nout++] = t.mid[e->first + (a == e->lo ? k : e->count - 1 - k)];
        }
        r->off = (uint32_t)start;
        r->n = (uint32_t)(nout - start);
    }
    free(c->ring_vertices);
    c->ring_vertices = out;
    c->nrv = nout;
    c->cap_rv = capout;
    out = NULL;
    rc = 0;
done:
    free(out);
    free(t.slot);
    free(t.mid);
    return rc;
}
