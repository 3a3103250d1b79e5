/*
 * test_geom_simple.c: pdb__mpoly_certainly_valid (geom_simple.c), the
 * validity certificate that spares GEOS for one-ring parcels, against
 * GEOS's own verdict. It must never call an invalid ring valid: named
 * cases (a bowtie, a vertex touching an edge, a spike that turns back, a
 * repeated vertex, rings that close on another vertex) and many random
 * rings on a coarse grid (where touching, collinear and crossing edges
 * are common) at survey coordinates (TM-3 metres, where rounding bites)
 * and in degrees. And it must certify the ordinary parcel: star-shaped
 * rings, valid by GEOS, are almost all certified.
 */
#include "geom.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A ring of up to 64 points as a one-polygon pdb__mpoly. */
typedef struct ring {
    size_t part_ring[2];
    size_t ring_point[2];
    double xy[2 * 64];
    pdb__mpoly mp;
} ring;

/* Makes r the ring of the n points xy, closed here unless open is set. */
static void make_ring(ring *r, const double *xy, size_t n, int open)
{
    size_t total = open ? n : n + 1;
    memcpy(r->xy, xy, 2 * n * sizeof *xy);
    if (!open) {
        r->xy[2 * n] = xy[0];
        r->xy[2 * n + 1] = xy[1];
    }
    r->part_ring[0] = 0;
    r->part_ring[1] = 1;
    r->ring_point[0] = 0;
    r->ring_point[1] = total;
    r->mp = (pdb__mpoly){.nparts = 1,
                         .nrings = 1,
                         .npoints = total,
                         .part_ring = r->part_ring,
                         .ring_point = r->ring_point,
                         .xy = r->xy};
}

/* GEOS's verdict on the ring: 1 valid, 0 invalid. */
static int geos_valid(GEOSContextHandle_t h, const ring *r)
{
    GEOSCoordSequence *seq = GEOSCoordSeq_copyFromBuffer_r(h, r->xy, (unsigned)r->mp.npoints, 0, 0);
    assert_non_null(seq);
    GEOSGeometry *shell = GEOSGeom_createLinearRing_r(h, seq);
    if (shell == NULL)
        return 0; /* GEOS refuses to build it (not closed, too few points) */
    GEOSGeometry *poly = GEOSGeom_createPolygon_r(h, shell, NULL, 0);
    assert_non_null(poly);
    char v = GEOSisValid_r(h, poly);
    GEOSGeom_destroy_r(h, poly);
    assert_true(v == 0 || v == 1);
    return v;
}

/* Checks one named ring: the certificate says `want`, and, when it says
 * valid, GEOS agrees. */
static void expect(GEOSContextHandle_t h, const char *name, const double *xy, size_t n, int want)
{
    ring r;
    make_ring(&r, xy, n, 0);
    int got = pdb__mpoly_certainly_valid(&r.mp);
    if (got != want)
        fail_msg("%s: certified %d, expected %d", name, got, want);
    if (got)
        assert_int_equal(geos_valid(h, &r), 1);
}

static void test_named_cases(void **state)
{
    (void)state;
    GEOSContextHandle_t h = GEOS_init_r();
    const double E = 512345.678, N = 2345678.912; /* TM-3 metres in Phu Tho */
    const double square[] = {E, N, E + 10, N, E + 10, N + 10, E, N + 10};
    expect(h, "a square", square, 4, 1);
    const double cw[] = {E, N, E, N + 10, E + 10, N + 10, E + 10, N};
    expect(h, "a square, clockwise", cw, 4, 1);
    const double tri[] = {E, N, E + 10, N, E + 3, N + 7};
    expect(h, "a triangle", tri, 3, 1);
    const double straight[] = {E, N, E + 5, N, E + 10, N, E + 10, N + 10, E, N + 10};
    expect(h, "a vertex in the middle of a straight edge", straight, 5, 1);
    const double bowtie[] = {E, N, E + 10, N + 10, E + 10, N, E, N + 10};
    expect(h, "a bowtie", bowtie, 4, 0);
    const double touch[] = {E, N, E + 10, N, E + 10, N + 10, E + 5, N, E, N + 10};
    expect(h, "a vertex touching another edge", touch, 5, 0);
    const double spike[] = {E, N, E + 10, N, E + 15, N, E + 10, N, E + 10, N + 10, E, N + 10};
    expect(h, "a spike that turns back on itself", spike, 6, 0);
    const double spike2[] = {E, N, E + 10, N, E + 10, N + 10, E + 10, N + 4, E, N + 10};
    expect(h, "an edge that runs back along the one before", spike2, 5, 0);
    const double repeated[] = {E, N, E + 10, N, E + 10, N, E + 10, N + 10, E, N + 10};
    expect(h, "a repeated vertex (GEOS decides)", repeated, 5, 0);
    const double loop[] = {E,     N,     E + 10, N,     E + 10, N + 10, E + 5, N + 5,
                           E + 7, N + 3, E + 3,  N + 3, E + 5,  N + 5,  E,     N + 10};
    expect(h, "a ring through the same point twice", loop, 8, 0);
    const double flat[] = {E, N, E + 5, N, E + 10, N};
    expect(h, "three points on a line", flat, 3, 0);
    const double sliver[] = {E, N, E + 10, N, E + 5, N + 1e-9};
    expect(h, "a sliver two ulps high: still a triangle", sliver, 3, 1);

    ring r;
    make_ring(&r, square, 4, 1);
    assert_int_equal(pdb__mpoly_certainly_valid(&r.mp), 0); /* not closed */
    double nan_sq[8];
    memcpy(nan_sq, square, sizeof nan_sq);
    nan_sq[5] = NAN;
    make_ring(&r, nan_sq, 4, 0);
    assert_int_equal(pdb__mpoly_certainly_valid(&r.mp), 0);
    nan_sq[5] = INFINITY;
    make_ring(&r, nan_sq, 4, 0);
    assert_int_equal(pdb__mpoly_certainly_valid(&r.mp), 0);

    /* A ring with a hole, and two parts: GEOS decides. */
    double two[20];
    memcpy(two, square, sizeof square);
    two[8] = E;
    two[9] = N;
    memcpy(two + 10, square, sizeof square);
    for (int i = 10; i < 18; i += 2)
        two[i] += 20;
    two[18] = E + 20;
    two[19] = N;
    size_t pr[3] = {0, 1, 2}, rp[3] = {0, 5, 10};
    pdb__mpoly parts = {
        .nparts = 2, .nrings = 2, .npoints = 10, .part_ring = pr, .ring_point = rp, .xy = two};
    assert_int_equal(pdb__mpoly_certainly_valid(&parts), 0);
    size_t pr1[2] = {0, 2};
    pdb__mpoly holed = {
        .nparts = 1, .nrings = 2, .npoints = 10, .part_ring = pr1, .ring_point = rp, .xy = two};
    assert_int_equal(pdb__mpoly_certainly_valid(&holed), 0);
    GEOS_finish_r(h);
}

/* A small deterministic generator (xorshift64*), for reproducible runs. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}
static double unit(void)
{
    return (double)(rng() >> 11) / 9007199254740992.0;
}

/* Random rings with vertices on a 5x5 grid (cell `step`) at (x0, y0):
 * crossing, touching, collinear and repeated vertices are common. No
 * ring certified may be invalid by GEOS. */
static void grid_rings(GEOSContextHandle_t h, double x0, double y0, double step, int count)
{
    int certified = 0, valid = 0;
    for (int k = 0; k < count; k++) {
        size_t n = 3 + rng() % 7;
        double xy[2 * 16];
        for (size_t i = 0; i < n; i++) {
            xy[2 * i] = x0 + step * (double)(rng() % 5);
            xy[2 * i + 1] = y0 + step * (double)(rng() % 5);
        }
        ring r;
        make_ring(&r, xy, n, 0);
        int c = pdb__mpoly_certainly_valid(&r.mp), g = geos_valid(h, &r);
        if (c && !g)
            fail_msg("ring %d of %zu points at (%.3f, %.3f) certified but invalid by GEOS", k, n,
                     x0, y0);
        certified += c;
        valid += g;
    }
    print_message("grid at (%g, %g) step %g: %d rings, %d valid by GEOS, %d certified\n", x0, y0,
                  step, count, valid, certified);
    assert_true(certified > 0); /* the grid makes simple rings too */
}

static void test_grid_rings_never_wrong(void **state)
{
    (void)state;
    GEOSContextHandle_t h = GEOS_init_r();
    grid_rings(h, 0.0, 0.0, 1.0, 20000);
    grid_rings(h, 512345.678, 2345678.912, 0.001, 20000);  /* millimetres in TM-3 */
    grid_rings(h, 105.123456789, 21.3456789, 1e-8, 20000); /* a millimetre in degrees */
    GEOS_finish_r(h);
}

/* Star-shaped rings (vertices sorted by angle around a centre, radius
 * varying), as parcels are: valid, and certified, unless two vertices
 * come within rounding of each other's edges. Also nearly-degenerate
 * stars: a vertex pushed a few ulps off the line of its neighbours. */
static void test_stars_certified(void **state)
{
    (void)state;
    GEOSContextHandle_t h = GEOS_init_r();
    int stars = 0, valid = 0, certified = 0;
    for (int k = 0; k < 20000; k++) {
        size_t n = 4 + rng() % 40;
        double cx = 500000 + 100000 * unit(), cy = 2300000 + 100000 * unit();
        double radius = 2 + 60 * unit(), xy[2 * 64];
        for (size_t i = 0; i < n; i++) {
            double a = 2 * M_PI * ((double)i + 0.8 * unit()) / (double)n;
            double rr = radius * (0.3 + 0.7 * unit());
            xy[2 * i] = cx + rr * cos(a);
            xy[2 * i + 1] = cy + rr * sin(a);
        }
        if (k % 4 == 0 && n > 4) { /* vertex 1 onto the line 0-2, give or take rounding */
            double t = unit();
            xy[2] = xy[0] + t * (xy[4] - xy[0]);
            xy[3] = xy[1] + t * (xy[5] - xy[1]);
        }
        ring r;
        make_ring(&r, xy, n, 0);
        int c = pdb__mpoly_certainly_valid(&r.mp), g = geos_valid(h, &r);
        if (c && !g)
            fail_msg("star %d of %zu points certified but invalid by GEOS", k, n);
        stars++;
        valid += g;
        certified += c;
    }
    print_message("stars: %d, %d valid by GEOS, %d certified\n", stars, valid, certified);
    /* Three in four are generic and valid: those must be certified. */
    assert_true(certified >= stars * 7 / 10);
    GEOS_finish_r(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named_cases),
        cmocka_unit_test(test_grid_rings_never_wrong),
        cmocka_unit_test(test_stars_certified),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
