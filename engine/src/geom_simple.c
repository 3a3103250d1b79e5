/*
 * geom_simple.c: a certificate of validity for the common parcel, one
 * polygon with one ring and few vertices, that spares GEOS's validity
 * check (whose set-up costs some 10,000 instructions for a ring of six
 * points: a quarter of the reading thread of an import did it twice a
 * parcel). It answers "certainly valid" or "ask GEOS", never "invalid":
 * every doubt (a repeated point, three points nearly in a line that turn
 * back, two edges that come within rounding of each other, holes, parts,
 * long rings) goes to GEOS, whose verdict stands.
 *
 * A ring of one polygon is valid when it is closed, has at least three
 * distinct points, every coordinate is finite and no two of its edges
 * meet except neighbours at their shared vertex (OGC: no self-crossing
 * and no self-touching). Each of these is decided here only where
 * floating point decides it for sure: an orientation or dot product is
 * trusted when it exceeds a bound on its rounding error (far above
 * Shewchuk's (3 + 16e)e for these two-product sums).
 */
#include "geom.h"

#include <math.h>

/* Rings with more edges go to GEOS: the pairwise test costs n^2 / 2. */
#define MAX_EDGES 128

/* A relative bound on the rounding of a sum of two products of
 * differences; any value far above 4e-16 is sound. */
#define ROUNDING 1e-12

/* The sign of l - r where floating point is sure of it, 0 otherwise. */
static int sure_sign(double l, double r)
{
    double d = l - r, bound = ROUNDING * (fabs(l) + fabs(r));
    if (d > bound)
        return 1;
    if (-d > bound)
        return -1;
    return 0; /* too close to call, or NaN */
}

/* Which side of the line a->b point c lies on: +1 left, -1 right, 0 unsure. */
static int orient(const double *a, const double *b, const double *c)
{
    return sure_sign((b[0] - a[0]) * (c[1] - a[1]), (b[1] - a[1]) * (c[0] - a[0]));
}

/* Whether neighbouring edges a->b and b->c certainly meet at b alone:
 * they turn (c is off the line ab), or c lies ahead of b along ab. */
static int neighbours_ok(const double *a, const double *b, const double *c)
{
    if (orient(a, b, c) != 0)
        return 1;
    /* (b - a) . (c - b) > 0, as l - r with r = -(second product). */
    return sure_sign((b[0] - a[0]) * (c[0] - b[0]), -((b[1] - a[1]) * (c[1] - b[1]))) > 0;
}

/* Whether edges p->q and r->s certainly do not meet. */
static int apart(const double *p, const double *q, const double *r, const double *s)
{
    if (fmax(p[0], q[0]) < fmin(r[0], s[0]) || fmax(r[0], s[0]) < fmin(p[0], q[0]) ||
        fmax(p[1], q[1]) < fmin(r[1], s[1]) || fmax(r[1], s[1]) < fmin(p[1], q[1]))
        return 1;
    int o1 = orient(p, q, r), o2 = orient(p, q, s);
    if (o1 != 0 && o1 == o2)
        return 1;
    int o3 = orient(r, s, p), o4 = orient(r, s, q);
    return o3 != 0 && o3 == o4;
}

int pdb__mpoly_certainly_valid(const pdb__mpoly *mp)
{
    if (mp->nparts != 1 || mp->nrings != 1 || mp->part_ring[1] - mp->part_ring[0] != 1)
        return 0;
    size_t n = mp->ring_point[1] - mp->ring_point[0];
    const double *xy = mp->xy + 2 * mp->ring_point[0];
    size_t edges = n - 1; /* n >= 1 below */
    if (n < 4 || edges > MAX_EDGES)
        return 0;
    if (xy[0] != xy[2 * edges] || xy[1] != xy[2 * edges + 1])
        return 0; /* not closed */
    for (size_t i = 0; i < 2 * n; i++)
        if (!isfinite(xy[i]))
            return 0;
    /* Neighbours: edge i-1 and edge i meet at point i (edge e runs from
     * point e to point e + 1; the last edge's end is point 0's twin). */
    for (size_t i = 0; i < edges; i++) {
        const double *a = xy + 2 * (i == 0 ? edges - 1 : i - 1), *b = xy + 2 * i,
                     *c = xy + 2 * (i + 1);
        if ((a[0] == b[0] && a[1] == b[1]) || !neighbours_ok(a, b, c))
            return 0;
    }
    /* Every other pair: edges i and j, j >= i + 2, but not the last with
     * the first (neighbours at point 0). */
    for (size_t i = 0; i + 2 < edges; i++) {
        const double *p = xy + 2 * i, *q = p + 2;
        for (size_t j = i + 2; j < edges; j++) {
            if (i == 0 && j == edges - 1)
                continue;
            if (!apart(p, q, xy + 2 * j, xy + 2 * (j + 1)))
                return 0;
        }
    }
    return 1;
}
