/*
 * test_qa_pair.c: the overlap check's pair filter (qa_pair.c) against
 * GEOS's own answer. The filter may say "disjoint" only of pairs whose
 * interiors GEOS finds apart (relate has no 2 in its interior/interior
 * cell) and whose intersection has no area; and it must settle the pairs
 * it exists for (neighbours sharing an edge, a part of one, a vertex, a
 * T-junction), or it would save nothing. Hand-made tricky pairs first,
 * each in both orders and with rings either way round, then a jittered
 * grid coverage with planted T-junctions and overlaps, every pair of
 * neighbours compared.
 */
#include "geom.h"
#include "internal.h"
#include "qa.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One polygonal geometry in both forms. */
typedef struct shape {
    GEOSGeometry *g;      /* as GEOS reads the WKT */
    pdb__mpoly_builder b; /* the same rings, same order and orientation */
    pdb__qa_shape s;      /* what the filter reads */
} shape;

static void shape_from(pdb_ctx *ctx, GEOSGeometry *g, shape *out)
{
    memset(out, 0, sizeof *out);
    out->g = g;
    assert_non_null(g);
    assert_int_equal(GEOSisValid_r(ctx->geos, g), 1);
    assert_int_equal(pdb__mpoly_from_geos(ctx, g, 0, &out->b), PDB_OK);
    assert_int_equal(pdb__qa_shape_init(ctx, &out->b.mp, &out->s), PDB_OK);
}

static void shape_wkt(pdb_ctx *ctx, const char *wkt, shape *out)
{
    GEOSWKTReader *r = GEOSWKTReader_create_r(ctx->geos);
    GEOSGeometry *g = GEOSWKTReader_read_r(ctx->geos, r, wkt);
    GEOSWKTReader_destroy_r(ctx->geos, r);
    if (g == NULL)
        fail_msg("WKT does not parse: %s", wkt);
    shape_from(ctx, g, out);
}

static void shape_free(pdb_ctx *ctx, shape *s)
{
    pdb__qa_shape_clear(&s->s);
    pdb__mpoly_free(&s->b.mp);
    GEOSGeom_destroy_r(ctx->geos, s->g);
}

/* GEOS: 1 when the interiors meet in an area; *area is the intersection's. */
static int geos_overlap(pdb_ctx *ctx, const shape *a, const shape *b, double *area)
{
    GEOSContextHandle_t h = ctx->geos;
    char rel = GEOSRelatePattern_r(h, a->g, b->g, "2********");
    assert_true(rel == 0 || rel == 1);
    GEOSGeometry *x = GEOSIntersection_r(h, a->g, b->g);
    assert_non_null(x);
    *area = 0;
    assert_int_equal(GEOSArea_r(h, x, area), 1);
    GEOSGeom_destroy_r(h, x);
    return rel;
}

/* The filter on a and b, both orders; fails the test if it contradicts
 * GEOS; returns its answer. */
static int checked(pdb_ctx *ctx, const shape *a, const shape *b, const char *what)
{
    int ab = pdb__qa_interiors_disjoint(&a->s, &b->s);
    int ba = pdb__qa_interiors_disjoint(&b->s, &a->s);
    double area;
    int over = geos_overlap(ctx, a, b, &area);
    if (ab != ba)
        fail_msg("%s: the filter says %d one way, %d the other", what, ab, ba);
    if (ab && (over || area > 0))
        fail_msg("%s: the filter says disjoint, GEOS finds an overlap of %g m2", what, area);
    return ab;
}

/* A pair given as WKT, with the filter's expected answer (1 disjoint, 0
 * left to GEOS) and GEOS's overlap area at least min_area (-1: none). */
typedef struct pair_case {
    const char *what;
    const char *a, *b;
    int disjoint;
    double min_area;
} pair_case;

static const pair_case cases[] = {
    {"a shared edge", "POLYGON((0 0,10 0,10 10,0 10,0 0))", "POLYGON((10 0,20 0,20 10,10 10,10 0))",
     1, -1},
    {"a shared vertex", "POLYGON((0 0,10 0,10 10,0 10,0 0))",
     "POLYGON((10 10,20 10,20 20,10 20,10 10))", 1, -1},
    {"part of an edge shared", "POLYGON((0 0,10 0,10 10,0 10,0 0))",
     "POLYGON((10 5,20 5,20 15,10 15,10 5))", 1, -1},
    {"a T-junction: the neighbour has a vertex the parcel lacks",
     "POLYGON((0 0,10 0,10 10,0 10,0 0))", "POLYGON((10 0,20 0,20 10,10 10,10 5,10 0))", 1, -1},
    {"T-junctions both ways", "POLYGON((0 0,10 0,10 3,10 10,0 10,0 0))",
     "POLYGON((10 0,20 0,20 10,10 10,10 7,10 0))", 1, -1},
    {"a neighbour's edge continuing past the corner", "POLYGON((0 0,20 0,20 10,0 10,0 0))",
     "POLYGON((0 10,10 10,10 20,0 20,0 10))", 1, -1},
    {"an L around a square", "POLYGON((0 0,10 0,10 10,0 10,0 0))",
     "POLYGON((10 0,20 0,20 20,0 20,0 10,10 10,10 0))", 1, -1},
    {"a reflex corner touched at its vertex", "POLYGON((0 0,20 0,20 10,10 10,10 20,0 20,0 0))",
     "POLYGON((10 10,20 10,20 20,10 20,10 10))", 1, -1},
    {"apart, boxes meeting", "POLYGON((0 0,10 0,0 10,0 0))", "POLYGON((10 10,4 10,10 4,10 10))", 1,
     -1},
    {"a sliver overlap of 0.02 m2 (a vertex 4 mm over a shared edge)",
     "POLYGON((0 0,10 0,10 10,0 10,0 0))", "POLYGON((10 0,20 0,20 10,10 10,9.996 5,10 0))", 0,
     0.0199},
    {"a vertex 1 nm over the shared edge", "POLYGON((0 0,10 0,10 10,0 10,0 0))",
     "POLYGON((10 0,20 0,20 10,10 10,9.999999999 5,10 0))", 0, 0},
    {"crossing edges", "POLYGON((0 0,10 0,10 10,0 10,0 0))", "POLYGON((5 5,15 5,15 15,5 15,5 5))",
     0, 25},
    {"a cross: no vertex of either inside the other", "POLYGON((0 4,20 4,20 6,0 6,0 4))",
     "POLYGON((9 -5,11 -5,11 15,9 15,9 -5))", 0, 4},
    {"inside, apart from the boundary", "POLYGON((0 0,10 0,10 10,0 10,0 0))",
     "POLYGON((2 2,4 2,4 4,2 4,2 2))", 0, 4},
    {"inside, along part of the boundary", "POLYGON((0 0,10 0,10 10,0 10,0 0))",
     "POLYGON((0 2,3 2,3 4,0 4,0 2))", 0, 6},
    {"inside, touching the boundary at a vertex", "POLYGON((0 0,10 0,10 10,0 10,0 0))",
     "POLYGON((0 5,3 2,3 8,0 5))", 0, 9},
    {"the same parcel twice", "POLYGON((0 0,10 0,10 10,0 10,0 0))",
     "POLYGON((0 0,10 0,10 10,0 10,0 0))", 0, 100},
    {"an island filling a hole", "POLYGON((0 0,10 0,10 10,0 10,0 0),(3 3,3 7,7 7,7 3,3 3))",
     "POLYGON((3 3,7 3,7 7,3 7,3 3))", 1, -1},
    {"an island in a hole, apart", "POLYGON((0 0,10 0,10 10,0 10,0 0),(3 3,3 7,7 7,7 3,3 3))",
     "POLYGON((4 4,6 4,6 6,4 6,4 4))", 1, -1},
    {"an island in a hole, touching its side from inside",
     "POLYGON((0 0,10 0,10 10,0 10,0 0),(3 3,3 7,7 7,7 3,3 3))", "POLYGON((3 4,5 4,5 6,3 6,3 4))",
     1, -1},
    {"a parcel over a hole's edge", "POLYGON((0 0,10 0,10 10,0 10,0 0),(3 3,3 7,7 7,7 3,3 3))",
     "POLYGON((2 4,5 4,5 6,2 6,2 4))", 0, 2},
    {"a hole's ring the other way round",
     "POLYGON((0 0,10 0,10 10,0 10,0 0),(3 3,7 3,7 7,3 7,3 3))", "POLYGON((3 3,7 3,7 7,3 7,3 3))",
     1, -1},
    {"two parts, each beside a side",
     "MULTIPOLYGON(((0 0,10 0,10 10,0 10,0 0)),((20 0,30 0,30 10,20 10,20 0)))",
     "POLYGON((10 0,20 0,20 10,10 10,10 0))", 1, -1},
    {"two parts, one overlapping",
     "MULTIPOLYGON(((0 0,10 0,10 10,0 10,0 0)),((20 0,30 0,30 10,20 10,20 0)))",
     "POLYGON((10 0,21 0,21 10,10 10,10 0))", 0, 10},
    {"a repeated vertex", "POLYGON((0 0,10 0,10 0,10 10,0 10,0 0))",
     "POLYGON((10 0,20 0,20 10,10 10,10 10,10 0))", 1, -1},
    {"survey coordinates, a shared edge",
     "POLYGON((567400.123 2358700.456,567410.789 2358700.321,"
     "567411.5 2358712.25,567399.75 2358711.875,567400.123 2358700.456))",
     "POLYGON((567410.789 2358700.321,567420.5 2358701.5,567421.25 2358713.125,567411.5 2358712.25,"
     "567410.789 2358700.321))",
     1, -1},
};

/* The WKT with every ring's points in reverse order. */
static GEOSGeometry *reversed(pdb_ctx *ctx, const GEOSGeometry *g)
{
    GEOSGeometry *r = GEOSReverse_r(ctx->geos, g);
    assert_non_null(r);
    return r;
}

static void test_cases(void **state)
{
    (void)state;
    pdb_ctx *ctx;
    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const pair_case *c = &cases[i];
        shape a, b;
        shape_wkt(ctx, c->a, &a);
        shape_wkt(ctx, c->b, &b);
        assert_true(a.s.usable && b.s.usable);
        double area;
        int over = geos_overlap(ctx, &a, &b, &area);
        if (c->min_area < 0 && (over || area > 0))
            fail_msg("%s: GEOS finds an overlap of %g m2, the case says none", c->what, area);
        if (c->min_area >= 0 && (!over || area < c->min_area))
            fail_msg("%s: GEOS finds %g m2, the case says at least %g", c->what, area, c->min_area);
        int got = checked(ctx, &a, &b, c->what);
        if (got != c->disjoint)
            fail_msg("%s: the filter says %d, expected %d", c->what, got, c->disjoint);
        /* The same with every ring the other way round, one or both. */
        for (int k = 1; k < 4; k++) {
            shape ra, rb;
            shape_from(ctx, k & 1 ? reversed(ctx, a.g) : GEOSGeom_clone_r(ctx->geos, a.g), &ra);
            shape_from(ctx, k & 2 ? reversed(ctx, b.g) : GEOSGeom_clone_r(ctx->geos, b.g), &rb);
            if (checked(ctx, &ra, &rb, c->what) != c->disjoint)
                fail_msg("%s, rings reversed (%d): the filter changed its answer", c->what, k);
            shape_free(ctx, &ra);
            shape_free(ctx, &rb);
        }
        shape_free(ctx, &a);
        shape_free(ctx, &b);
    }
    pdb_ctx_free(ctx);
}

/* ------------------------------------------------------------------------ */
/* A jittered grid coverage                                                  */
/* ------------------------------------------------------------------------ */

#define GRID 24

static double frand(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (double)((*seed >> 8) & 0xffffff) / (double)0x1000000;
}

/* Cell (i, j) of a grid of GRID x GRID cells of about 20 m whose corners are
 * shared and jittered: some cells get a vertex on an edge their neighbour
 * lacks (exactly the midpoint, or off it by rounding), some a corner moved
 * into their neighbours (an overlap), some a corner moved in (a gap). */
static GEOSGeometry *cell(pdb_ctx *ctx, double (*corner)[GRID + 1][2], int i, int j, int kind,
                          unsigned *seed)
{
    double xy[12][2];
    int n = 0;
    const int order[4][2] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
    for (int k = 0; k < 4; k++) {
        const double *c = corner[i + order[k][0]][j + order[k][1]];
        xy[n][0] = c[0];
        xy[n][1] = c[1];
        if (kind == 2 && k == 2) { /* corner moved out: overlaps three neighbours */
            xy[n][0] += 0.3;
            xy[n][1] += 0.3;
        } else if (kind == 3 && k == 2) { /* corner moved in: a sliver gap */
            xy[n][0] -= 0.08;
            xy[n][1] -= 0.08;
        }
        n++;
        if (kind == 1 && k == 1) { /* a T-junction on the right edge */
            const double *d = corner[i + 1][j + 1];
            double t = frand(seed) < 0.5 ? 0.5 : frand(seed);
            xy[n][0] = c[0] + t * (d[0] - c[0]);
            xy[n][1] = c[1] + t * (d[1] - c[1]);
            n++;
        }
    }
    xy[n][0] = xy[0][0];
    xy[n][1] = xy[0][1];
    n++;
    GEOSCoordSequence *seq = GEOSCoordSeq_create_r(ctx->geos, (unsigned)n, 2);
    for (int k = 0; k < n; k++)
        GEOSCoordSeq_setXY_r(ctx->geos, seq, (unsigned)k, xy[k][0], xy[k][1]);
    GEOSGeometry *ring = GEOSGeom_createLinearRing_r(ctx->geos, seq);
    return GEOSGeom_createPolygon_r(ctx->geos, ring, NULL, 0);
}

static void test_grid(void **state)
{
    (void)state;
    pdb_ctx *ctx;
    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    static double corner[GRID + 1][GRID + 1][2];
    static shape cells[GRID][GRID];
    unsigned seed = 16;
    for (int i = 0; i <= GRID; i++)
        for (int j = 0; j <= GRID; j++) {
            corner[i][j][0] = 567400.0 + 20.0 * i + 6.0 * (frand(&seed) - 0.5);
            corner[i][j][1] = 2358700.0 + 20.0 * j + 6.0 * (frand(&seed) - 0.5);
        }
    int kinds[4] = {0};
    for (int i = 0; i < GRID; i++)
        for (int j = 0; j < GRID; j++) {
            double d = frand(&seed);
            int kind = d < 0.6 ? 0 : d < 0.8 ? 1 : d < 0.9 ? 2 : 3;
            if (kind >= 2 && (i + j) % 2) /* moved corners never side by side */
                kind = 1;
            kinds[kind]++;
            shape_from(ctx, cell(ctx, corner, i, j, kind, &seed), &cells[i][j]);
        }
    size_t pairs = 0, settled = 0, overlaps = 0;
    for (int i = 0; i < GRID; i++)
        for (int j = 0; j < GRID; j++)
            for (int di = 0; di <= 1; di++)
                for (int dj = -1; dj <= 1; dj++) {
                    int i2 = i + di, j2 = j + dj;
                    if ((di == 0 && dj <= 0) || i2 >= GRID || j2 < 0 || j2 >= GRID)
                        continue;
                    char what[64];
                    snprintf(what, sizeof what, "cells %d,%d and %d,%d", i, j, i2, j2);
                    double area;
                    overlaps += geos_overlap(ctx, &cells[i][j], &cells[i2][j2], &area) == 1;
                    settled += checked(ctx, &cells[i][j], &cells[i2][j2], what);
                    pairs++;
                }
    /* Not a vacuous pass: every kind planted, overlaps found by GEOS, and
     * most pairs settled without it. */
    for (int k = 0; k < 4; k++)
        assert_true(kinds[k] > 0);
    assert_true(overlaps > 0);
    printf("grid: %zu pairs of neighbours, %zu settled by the filter, %zu overlapping (GEOS)\n",
           pairs, settled, overlaps);
    assert_true(settled * 10 > pairs * 7);
    for (int i = 0; i < GRID; i++)
        for (int j = 0; j < GRID; j++)
            shape_free(ctx, &cells[i][j]);
    pdb_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_grid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
