/*
 * test_geom_union.c: pdb__coverage_union (geom_union.c), the dissolve of
 * the overviews, against GEOS's own union of the same polygons: the same
 * area (GEOSEquals), valid, with the parts and holes a user would count,
 * on coverages made of squares and triangles: a hole, a hole touching its
 * shell at a point, shells touching at a corner, an island in a hole, rings
 * in either orientation. Overlaps are refused; edges that touch without
 * sharing their ends never give a valid wrong shape (the caller validates).
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

/* One test's engine context and the polygons of its case. */
typedef struct fixture {
    pdb_ctx *ctx;         /* the engine context (its GEOS handle checks results) */
    pdb__mpoly_builder b; /* the input polygons */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL || pdb_ctx_new(&f->ctx) != PDB_OK)
        return 1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pdb__mpoly_free(&f->b.mp);
    pdb_ctx_free(f->ctx);
    free(f);
    return 0;
}

/* Adds a polygon of n points (closed here), clockwise when cw is set. */
static void add_poly(fixture *f, const double *xy, size_t n, int cw)
{
    assert_int_equal(pdb__mpb_open_part(&f->b), 0);
    double *dst = pdb__mpb_add_ring(&f->b, n + 1);
    assert_non_null(dst);
    for (size_t i = 0; i <= n; i++) {
        size_t k = cw ? (n - i) % n : i % n;
        dst[2 * i] = xy[2 * k];
        dst[2 * i + 1] = xy[2 * k + 1];
    }
    pdb__mpb_close_part(&f->b);
}

/* The unit square at column x, row y (counter-clockwise unless cw). */
static void square(fixture *f, int x, int y, int cw)
{
    const double xy[] = {x, y, x + 1, y, x + 1, y + 1, x, y + 1};
    add_poly(f, xy, 4, cw);
}

/* A grid of w x h unit squares, leaving out the cells where leave_out(x, y). */
static void grid(fixture *f, int w, int h, int (*leave_out)(int x, int y))
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (leave_out == NULL || !leave_out(x, y))
                square(f, x, y, (x + y) % 3 == 0); /* some rings run clockwise */
}

/* The polygons of mp as one GEOS collection. */
static GEOSGeometry *to_geos(fixture *f, const pdb__mpoly *mp)
{
    pdb__geos_list list = {0};
    GEOSGeometry *g = NULL;
    assert_int_equal(pdb__mpoly_to_geos_polys(f->ctx, mp, &list), PDB_OK);
    assert_int_equal(pdb__geos_list_collect(f->ctx, &list, GEOS_GEOMETRYCOLLECTION, &g), PDB_OK);
    pdb__geos_list_clear(f->ctx, &list);
    return g;
}

/* Runs the union and checks it against GEOSUnaryUnion_r of the input: the
 * same point set, valid, with the given parts and rings. */
static void check_union(fixture *f, size_t want_parts, size_t want_rings)
{
    GEOSContextHandle_t h = f->ctx->geos;
    pdb__mpoly_builder out = {0};
    assert_int_equal(pdb__coverage_union(f->ctx, &f->b.mp, &out), PDB_OK);
    assert_int_equal(out.mp.nparts, want_parts);
    assert_int_equal(out.mp.nrings, want_rings);
    GEOSGeometry *in = to_geos(f, &f->b.mp), *got = to_geos(f, &out.mp);
    GEOSGeometry *want = GEOSUnaryUnion_r(h, in);
    assert_non_null(want);
    char *why = GEOSisValidReason_r(h, got);
    if (GEOSisValid_r(h, got) != 1)
        fail_msg("the union is not valid: %s", why);
    GEOSFree_r(h, why);
    if (GEOSEquals_r(h, got, want) != 1) {
        char *a = GEOSGeomToWKT_r(h, got), *b = GEOSGeomToWKT_r(h, want);
        fail_msg("the union differs from GEOS's:\n got  %s\n want %s", a, b);
    }
    double area_got, area_in;
    GEOSArea_r(h, got, &area_got);
    GEOSArea_r(h, want, &area_in);
    assert_true(fabs(area_got - area_in) < 1e-9);
    GEOSGeom_destroy_r(h, in);
    GEOSGeom_destroy_r(h, got);
    GEOSGeom_destroy_r(h, want);
    pdb__mpoly_free(&out.mp);
}

static int skip_centre(int x, int y)
{
    return x == 1 && y == 1;
}

static int skip_centre_and_corner(int x, int y)
{
    return (x == 1 && y == 1) || (x == 0 && y == 0);
}

/* Cells of a 5 x 5 grid on the ring around the centre. */
static int skip_moat(int x, int y)
{
    return x >= 1 && x <= 3 && y >= 1 && y <= 3 && !(x == 2 && y == 2);
}

static int skip_checker(int x, int y)
{
    return (x + y) % 2 == 1;
}

static void test_grid_is_one_square(void **state)
{
    fixture *f = *state;
    grid(f, 4, 4, NULL);
    check_union(f, 1, 1);
}

static void test_hole(void **state)
{
    fixture *f = *state;
    grid(f, 3, 3, skip_centre);
    check_union(f, 1, 2);
}

/* The boundary passes (1, 1) twice: a hole touching its shell at a point
 * must come out as a shell and a hole, not one ring touching itself. */
static void test_hole_touching_shell(void **state)
{
    fixture *f = *state;
    grid(f, 3, 3, skip_centre_and_corner);
    check_union(f, 1, 2);
}

/* Shells touching at corners stay apart: one part each. */
static void test_shells_touching_at_corners(void **state)
{
    fixture *f = *state;
    grid(f, 3, 3, skip_checker);
    check_union(f, 5, 5);
}

static void test_island_in_hole(void **state)
{
    fixture *f = *state;
    grid(f, 5, 5, skip_moat);
    check_union(f, 2, 3);
}

/* Squares cut into triangles along alternate diagonals, and a square with
 * a vertex in the middle of one side shared with two triangles. */
static void test_triangles(void **state)
{
    fixture *f = *state;
    for (int x = 0; x < 3; x++) {
        const double a[] = {x, 0, x + 1, 0, x + 1, 1}, b[] = {x, 0, x + 1, 1, x, 1};
        const double c[] = {x, 0, x + 1, 0, x, 1}, d[] = {x + 1, 0, x + 1, 1, x, 1};
        add_poly(f, x % 2 ? a : c, 3, x == 1);
        add_poly(f, x % 2 ? b : d, 3, 0);
    }
    check_union(f, 1, 1);
}

/* An existing polygon with a hole, and parcels filling the hole: all
 * shared edges go. */
static void test_filled_hole(void **state)
{
    fixture *f = *state;
    assert_int_equal(pdb__mpb_open_part(&f->b), 0);
    const double outer[] = {0, 0, 3, 0, 3, 3, 0, 3, 0, 0}, inner[] = {1, 1, 1, 2, 2, 2, 2, 1, 1, 1};
    memcpy(pdb__mpb_add_ring(&f->b, 5), outer, sizeof outer);
    memcpy(pdb__mpb_add_ring(&f->b, 5), inner, sizeof inner);
    pdb__mpb_close_part(&f->b);
    square(f, 1, 1, 1);
    check_union(f, 1, 1);
}

static void test_overlap_refused(void **state)
{
    fixture *f = *state;
    pdb__mpoly_builder out = {0};
    square(f, 0, 0, 0);
    square(f, 1, 0, 0);
    square(f, 0, 0, 1); /* the same parcel twice */
    assert_int_equal(pdb__coverage_union(f->ctx, &f->b.mp, &out), PDB_EGEOM);
    assert_non_null(strstr(pdb_errmsg(f->ctx), "not a coverage"));
    pdb__mpoly_free(&out.mp);
}

/* A 2 x 1 rectangle under two unit squares that do not share its vertex
 * at (1, 1), with a unit square beside it whose edge is cut by no vertex:
 * edges that touch without sharing their ends. Refused, or a result that
 * the caller's validation rejects, or the right union: never a valid
 * wrong shape. */
static void test_t_junction_never_valid_and_wrong(void **state)
{
    fixture *f = *state;
    GEOSContextHandle_t h = f->ctx->geos;
    pdb__mpoly_builder out = {0};
    const double rect[] = {0, 0, 2, 0, 2, 1, 0, 1};
    add_poly(f, rect, 4, 0);
    square(f, 0, 1, 0);
    square(f, 1, 1, 1);
    const double tall[] = {2, 0, 3, 0, 3, 2, 2, 2};
    add_poly(f, tall, 4, 0);
    if (pdb__coverage_union(f->ctx, &f->b.mp, &out) == PDB_OK) {
        GEOSGeometry *g = to_geos(f, &out.mp), *in = to_geos(f, &f->b.mp);
        GEOSGeometry *want = GEOSUnaryUnion_r(h, in);
        if (GEOSisValid_r(h, g) == 1)
            assert_int_equal(GEOSEquals_r(h, g, want), 1);
        GEOSGeom_destroy_r(h, g);
        GEOSGeom_destroy_r(h, in);
        GEOSGeom_destroy_r(h, want);
    }
    pdb__mpoly_free(&out.mp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_grid_is_one_square, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hole_touching_shell, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shells_touching_at_corners, setup, teardown),
        cmocka_unit_test_setup_teardown(test_island_in_hole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_triangles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filled_hole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overlap_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_t_junction_never_valid_and_wrong, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
