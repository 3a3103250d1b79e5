/*
 * qa_pair.c: proves, without GEOS, that two valid polygonal parcels do not
 * overlap (their interiors share no area), so that the overlap check asks
 * GEOS's relate and intersection only about the pairs this cannot settle.
 * In a coverage nearly every pair of neighbours whose boxes meet shares an
 * edge or a vertex and nothing more; GEOS 3.11 answers each such pair with
 * a full relate (docs/qa.md, "How the overlap check works").
 *
 * The test rests on this: the interiors of two valid polygons A and B are
 * disjoint if and only if every piece of A's boundary lies outside B or on
 * B's boundary with B on its other side, and the same for B's boundary
 * against A. (A face of both interiors would be bounded by such pieces: one
 * outside B cannot bound a face inside B, one on B's boundary with both
 * interiors on the same side is an overlap.) Each edge of A is cut where
 * B's boundary touches it; a proper crossing is an overlap at once; each
 * piece is then on a shared stretch (the sides are compared) or has no
 * point of B's boundary inside it, and one end tells where all of it is:
 * outside or inside B (ray crossings), or, when that end is on B's
 * boundary, which side of B's edge or of B's corner the piece leaves to.
 *
 * It is exact: every orientation is Shewchuk's orient2d filter, whose sign
 * is certain or which answers "unsure", and every unsure answer (as every
 * configuration it does not handle: a vertex of B met twice, too many cuts)
 * ends with 0, "not proven", and GEOS decides. It never says "disjoint" of
 * a pair whose intersection has any area.
 */
#include "internal.h"
#include "qa.h"
#include "wkb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define UNSURE 2      /* an orientation whose sign floating point cannot certify */
#define MAX_CUTS 64   /* points cutting one edge; beyond, GEOS decides */
#define MAX_SHARED 16 /* shared stretches along one edge */
#define MAX_NEAR 512  /* edges of one parcel near the other; beyond, GEOS decides */

/* The sign of the orientation of c against the line a -> b: 1 when c is on
 * its left, -1 on its right, 0 on it, UNSURE when the rounding of the
 * products could have changed the sign (Shewchuk's orient2d, its first
 * stage: "Adaptive Precision Floating-Point Arithmetic and Fast Robust
 * Geometric Predicates", 1997). */
static inline __attribute__((always_inline)) int orient(const double *a, const double *b,
                                                        const double *c)
{
    static const double bound = (3.0 + 16.0 * 0x1p-53) * 0x1p-53;
    double detleft = (a[0] - c[0]) * (b[1] - c[1]);
    double detright = (a[1] - c[1]) * (b[0] - c[0]);
    double det = detleft - detright, detsum;
    if (detleft > 0) {
        if (detright <= 0)
            return det > 0 ? 1 : det < 0 ? -1 : 0;
        detsum = detleft + detright;
    } else if (detleft < 0) {
        if (detright >= 0)
            return det > 0 ? 1 : det < 0 ? -1 : 0;
        detsum = -detleft - detright;
    } else {
        return det > 0 ? 1 : det < 0 ? -1 : 0; /* detleft is exactly 0, det is -detright */
    }
    double err = bound * detsum;
    if (det > err)
        return 1;
    if (-det > err)
        return -1;
    return UNSURE;
}

static int same_point(const double *a, const double *b)
{
    return a[0] == b[0] && a[1] == b[1];
}

pdb_status pdb__qa_shape_init(pdb_ctx *ctx, const pdb__mpoly *mp, pdb__qa_shape *s)
{
    memset(s, 0, sizeof *s);
    s->mp = mp;
    if (mp->nrings == 0 || mp->npoints == 0)
        return PDB_OK; /* not usable: GEOS decides */
    if ((s->side = malloc(mp->nrings)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    for (size_t k = 0; k < mp->nparts; k++)
        for (size_t r = mp->part_ring[k]; r < mp->part_ring[k + 1]; r++) {
            size_t i0 = mp->ring_point[r], i1 = mp->ring_point[r + 1];
            if (i1 - i0 < 4 || !same_point(&mp->xy[2 * i0], &mp->xy[2 * (i1 - 1)]))
                goto unusable;
            /* The orientation from the shoelace sum, trusted only well above
             * its rounding (n terms of at most 2 D^2, D the ring's extent). */
            double a2 = pdb__mpoly_ring_area2(mp, r), d = 0;
            for (size_t i = i0 + 1; i < i1; i++)
                d = fmax(d, fmax(fabs(mp->xy[2 * i] - mp->xy[2 * i0]),
                                 fabs(mp->xy[2 * i + 1] - mp->xy[2 * i0 + 1])));
            if (!isfinite(a2) || !(fabs(a2) > 8.0 * (double)(i1 - i0) * 0x1p-52 * d * d))
                goto unusable;
            /* The interior is left of a counter-clockwise shell, right of
             * a counter-clockwise hole. */
            int ccw = a2 > 0, shell = r == mp->part_ring[k];
            s->side[r] = (signed char)(ccw == shell ? 1 : -1);
        }
    s->env[0] = s->env[1] = INFINITY;
    s->env[2] = s->env[3] = -INFINITY;
    for (size_t i = 0; i < mp->npoints; i++) {
        if (!isfinite(mp->xy[2 * i]) || !isfinite(mp->xy[2 * i + 1]))
            goto unusable;
        s->env[0] = fmin(s->env[0], mp->xy[2 * i]);
        s->env[1] = fmin(s->env[1], mp->xy[2 * i + 1]);
        s->env[2] = fmax(s->env[2], mp->xy[2 * i]);
        s->env[3] = fmax(s->env[3], mp->xy[2 * i + 1]);
    }
    s->usable =
        isfinite(s->env[0]) && isfinite(s->env[1]) && isfinite(s->env[2]) && isfinite(s->env[3]);
    return PDB_OK;
unusable:
    free(s->side);
    s->side = NULL;
    return PDB_OK;
}

void pdb__qa_shape_clear(pdb__qa_shape *s)
{
    free(s->side);
    memset(s, 0, sizeof *s);
}

/* Plain minimum and maximum: fmin and fmax are library calls that take
 * care of NaN, which no coordinate here is (pdb__qa_shape_init checks). */
static inline double lo2(double a, double b)
{
    return a < b ? a : b;
}

static inline double hi2(double a, double b)
{
    return a > b ? a : b;
}

/* Whether the closed boxes of segments a-b and c-d meet. */
static inline int boxes_meet(const double *a, const double *b, const double *c, const double *d)
{
    return hi2(a[0], b[0]) >= lo2(c[0], d[0]) && hi2(c[0], d[0]) >= lo2(a[0], b[0]) &&
           hi2(a[1], b[1]) >= lo2(c[1], d[1]) && hi2(c[1], d[1]) >= lo2(a[1], b[1]);
}

static inline int meets_env(const double *a, const double *b, const double *env)
{
    return hi2(a[0], b[0]) >= env[0] && lo2(a[0], b[0]) <= env[2] && hi2(a[1], b[1]) >= env[1] &&
           lo2(a[1], b[1]) <= env[3];
}

/* The ring holding point index i. */
static size_t ring_of(const pdb__mpoly *mp, size_t i)
{
    size_t lo = 0, hi = mp->nrings; /* ring_point[lo] <= i < ring_point[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (mp->ring_point[mid] <= i)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

enum { LOC_OUT, LOC_IN, LOC_VERTEX, LOC_EDGE, LOC_UNSURE };

/* Where w is against s: outside, inside, on a vertex or inside an edge
 * (*at: the point index of the vertex, of the edge's start), or unsure
 * (also when it is on s's boundary more than once: a ring touching
 * another there). */
static int locate(const pdb__qa_shape *s, const double *w, size_t *at)
{
    const pdb__mpoly *mp = s->mp;
    int crossings = 0, kind = LOC_OUT;
    size_t hits = 0;
    if (w[0] < s->env[0] || w[0] > s->env[2] || w[1] < s->env[1] || w[1] > s->env[3])
        return LOC_OUT;
    for (size_t r = 0; r < mp->nrings; r++)
        for (size_t i = mp->ring_point[r]; i + 1 < mp->ring_point[r + 1]; i++) {
            const double *u = &mp->xy[2 * i], *v = &mp->xy[2 * i + 2];
            if (same_point(u, v))
                continue;
            if (same_point(u, w)) {
                hits++;
                kind = LOC_VERTEX;
                *at = i;
                continue;
            }
            int straddles = (u[1] > w[1]) != (v[1] > w[1]);
            int inbox = boxes_meet(u, v, w, w);
            if (!straddles && !inbox)
                continue;
            int o = orient(u, v, w);
            if (o == UNSURE)
                return LOC_UNSURE;
            if (o == 0 && inbox) {
                if (!same_point(v, w)) { /* v itself is the next edge's start */
                    hits++;
                    kind = LOC_EDGE;
                    *at = i;
                }
                continue;
            }
            if (straddles && (v[1] > u[1] ? o > 0 : o < 0))
                crossings ^= 1;
        }
    if (hits > 1)
        return LOC_UNSURE;
    if (hits == 1)
        return kind;
    return crossings ? LOC_IN : LOC_OUT;
}

/* Whether a and b, on one line through w, lie on opposite sides of it
 * (the signs of differences of doubles are exact). */
static int opposite(const double *w, const double *a, const double *b)
{
    return (a[0] - w[0]) * (b[0] - w[0]) < 0 || (a[1] - w[1]) * (b[1] - w[1]) < 0;
}

/* Whether the segment from vertex i of s towards d leaves into s's
 * interior (1), its exterior (0), or unsure (UNSURE: along an edge, or a
 * corner that is not one). */
static int corner_inside(const pdb__qa_shape *s, size_t i, const double *d)
{
    const pdb__mpoly *mp = s->mp;
    size_t r = ring_of(mp, i), i0 = mp->ring_point[r], i1 = mp->ring_point[r + 1] - 1;
    const double *w = &mp->xy[2 * i];
    /* The previous and next distinct points around the closed ring
     * (points i0 .. i1 - 1; i1 repeats i0). */
    size_t n = i1 - i0, k, steps;
    const double *a = NULL, *b = NULL;
    for (k = i, steps = 0; steps < n; steps++) {
        k = k == i0 ? i1 - 1 : k - 1;
        if (!same_point(&mp->xy[2 * k], w)) {
            a = &mp->xy[2 * k];
            break;
        }
    }
    for (k = i, steps = 0; steps < n; steps++) {
        k = k + 1 == i1 ? i0 : k + 1;
        if (!same_point(&mp->xy[2 * k], w)) {
            b = &mp->xy[2 * k];
            break;
        }
    }
    if (a == NULL || b == NULL)
        return UNSURE;
    if (s->side[r] < 0) { /* make the interior the left of a -> w -> b */
        const double *t = a;
        a = b;
        b = t;
    }
    int oba = orient(w, b, a), obd = orient(w, b, d), oad = orient(w, a, d);
    if (oba == UNSURE || obd == UNSURE || oad == UNSURE)
        return UNSURE;
    if (obd == 0 || oad == 0) {
        /* d on the line of an edge at w: along the edge is no answer (it
         * would be a shared stretch); straight on past the corner (the
         * next parcel's edge continuing a line of this one) is inside
         * only a reflex corner. */
        const double *e = obd == 0 ? b : a;
        if (oba == 0 || (obd == 0 && oad == 0) || !opposite(w, e, d))
            return UNSURE;
        return oba < 0;
    }
    if (oba > 0) /* convex: between the ray to b and the ray to a, counter-clockwise */
        return obd > 0 && oad < 0;
    if (oba < 0) /* reflex */
        return obd > 0 || oad < 0;
    /* a, w, b on a line: straight on when a and b lie on opposite sides of w */
    if (opposite(w, a, b))
        return obd > 0;
    return UNSURE;
}

/* A point cutting an edge, at coordinate t along the edge's main axis. */
typedef struct cut {
    double t;
    const double *pt;
} cut;

static int by_t(const void *x, const void *y)
{
    double a = ((const cut *)x)->t, b = ((const cut *)y)->t;
    return (a > b) - (a < b);
}

/* 1 when every piece of a's boundary is outside b or on b's boundary with
 * b on its other side; 0 when not proven. */
static int boundary_outside(const pdb__qa_shape *a, const pdb__qa_shape *b)
{
    const pdb__mpoly *ma = a->mp, *mb = b->mp;
    cut cuts[MAX_CUTS];
    double shared[MAX_SHARED][2];
    struct {
        size_t j, ring;
    } near[MAX_NEAR]; /* b's edges that meet a's box: the only ones that can touch a */
    size_t nnear = 0;
    for (size_t rb = 0; rb < mb->nrings; rb++)
        for (size_t j = mb->ring_point[rb]; j + 1 < mb->ring_point[rb + 1]; j++) {
            const double *u = &mb->xy[2 * j], *v = &mb->xy[2 * j + 2];
            if (same_point(u, v) || !meets_env(u, v, a->env))
                continue;
            if (nnear == MAX_NEAR)
                return 0;
            near[nnear].j = j;
            near[nnear].ring = rb;
            nnear++;
        }
    for (size_t ra = 0; ra < ma->nrings; ra++)
        for (size_t i = ma->ring_point[ra]; i + 1 < ma->ring_point[ra + 1]; i++) {
            const double *p = &ma->xy[2 * i], *q = &ma->xy[2 * i + 2];
            if (same_point(p, q) || !meets_env(p, q, b->env))
                continue;
            if (mb->nrings == 1) {
                /* The commonest edge: one of b's own, whole. b's one ring is
                 * simple (b is valid), so nothing else of its boundary
                 * touches the edge but at its ends: one shared piece. */
                int whole = 0;
                for (size_t m = 0; m < nnear && !whole; m++) {
                    const double *u = &mb->xy[2 * near[m].j], *v = &mb->xy[2 * near[m].j + 2];
                    if (same_point(u, q) && same_point(v, p))
                        whole = -1; /* run the other way */
                    else if (same_point(u, p) && same_point(v, q))
                        whole = 1;
                }
                if (whole != 0) {
                    if (whole * b->side[0] == a->side[ra])
                        return 0; /* both interiors on one side: an overlap */
                    continue;
                }
            }
            int axis = fabs(q[0] - p[0]) >= fabs(q[1] - p[1]) ? 0 : 1;
            double tlo = lo2(p[axis], q[axis]), thi = hi2(p[axis], q[axis]);
            size_t ncuts = 0, nshared = 0;
            cuts[ncuts++] = (cut){p[axis], p};
            cuts[ncuts++] = (cut){q[axis], q};
            for (size_t m = 0; m < nnear; m++) {
                size_t j = near[m].j, rb = near[m].ring;
                const double *u = &mb->xy[2 * j], *v = &mb->xy[2 * j + 2];
                if (!boxes_meet(p, q, u, v))
                    continue;
                int su = orient(p, q, u), sv = orient(p, q, v);
                if (su == UNSURE || sv == UNSURE)
                    return 0;
                int cut_u = 0, cut_v = 0;
                if (su == 0 && sv == 0) {
                    /* On one line: a stretch in common, a point, or apart. */
                    double lo = hi2(tlo, lo2(u[axis], v[axis]));
                    double hi = lo2(thi, hi2(u[axis], v[axis]));
                    if (lo < hi) {
                        int same_way = (q[axis] > p[axis]) == (v[axis] > u[axis]);
                        int bside = same_way ? b->side[rb] : -b->side[rb];
                        if (bside == a->side[ra] || nshared == MAX_SHARED)
                            return 0; /* both interiors on one side: an overlap */
                        shared[nshared][0] = lo;
                        shared[nshared][1] = hi;
                        nshared++;
                    }
                    cut_u = cut_v = 1;
                } else {
                    int sp = orient(u, v, p), sq = orient(u, v, q);
                    if (sp == UNSURE || sq == UNSURE)
                        return 0;
                    if (su * sv < 0 && sp * sq < 0)
                        return 0; /* a proper crossing: an overlap */
                    if (su * sv > 0 || sp * sq > 0)
                        continue;
                    cut_u = su == 0;
                    cut_v = sv == 0;
                }
                /* u or v on the line of p -> q: a cut when inside the edge */
                if (cut_u && u[axis] > tlo && u[axis] < thi) {
                    if (ncuts == MAX_CUTS)
                        return 0;
                    cuts[ncuts++] = (cut){u[axis], u};
                }
                if (cut_v && v[axis] > tlo && v[axis] < thi) {
                    if (ncuts == MAX_CUTS)
                        return 0;
                    cuts[ncuts++] = (cut){v[axis], v};
                }
            }
            if (ncuts > 2)
                qsort(cuts, ncuts, sizeof *cuts, by_t);
            else if (cuts[1].t < cuts[0].t)
                cuts[0] = cuts[1], cuts[1] = (cut){p[axis], p};
            /* Each piece between two cuts: on a shared stretch, or with no
             * point of b's boundary inside it. */
            for (size_t k = 0; k + 1 < ncuts; k++) {
                double t0 = cuts[k].t, t1 = cuts[k + 1].t;
                if (!(t0 < t1))
                    continue; /* the same point twice */
                int on_shared = 0;
                for (size_t m = 0; m < nshared && !on_shared; m++)
                    on_shared = shared[m][0] <= t0 && t1 <= shared[m][1];
                if (on_shared)
                    continue;
                const double *w0 = cuts[k].pt, *w1 = cuts[k + 1].pt;
                size_t at = 0;
                switch (locate(b, w0, &at)) {
                case LOC_OUT:
                    break;
                case LOC_VERTEX:
                    if (corner_inside(b, at, w1) != 0)
                        return 0;
                    break;
                case LOC_EDGE: {
                    size_t rb = ring_of(mb, at);
                    int o = orient(&mb->xy[2 * at], &mb->xy[2 * at + 2], w1);
                    if (o == UNSURE || o == 0 || o == b->side[rb])
                        return 0;
                    break;
                }
                default: /* inside, or unsure */
                    return 0;
                }
            }
        }
    return 1;
}

int pdb__qa_interiors_disjoint(const pdb__qa_shape *a, const pdb__qa_shape *b)
{
    if (!a->usable || !b->usable)
        return 0;
    if (a->env[0] > b->env[2] || b->env[0] > a->env[2] || a->env[1] > b->env[3] ||
        b->env[1] > a->env[3])
        return 1;
    return boundary_outside(a, b) && boundary_outside(b, a);
}
