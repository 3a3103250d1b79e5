/*
 * test_render_approx.c: a map's grid transformation (tiler/approx.c)
 * against PROJ through the engine. A WMS map in a VN-2000 TM-3 or UTM
 * zone, or in VN-2000 geographic, moves every point read in WGS 84
 * through the grid: each lands within a hundredth of a pixel of where
 * PROJ puts it, at commune, district and province extents, or the grid
 * says it does not hold and the renderer transforms exactly.
 */
#include "approx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL_PX 0.01   /* the renderer's tolerance (PDBT_APPROX_TOL_PX) */
#define SAMPLES 20000 /* random points a case */

/* A map: its box in WGS 84 (a quarter wider than the query, as the
 * renderer builds it) and its width in pixels (1024, the bench's). */
typedef struct map_case {
    const char *name;
    int to;
    double lon, lat, span; /* centre and width in degrees */
} map_case;

static const map_case cases[] = {
    {"commune in 9208", 9208, 105.40, 21.32, 0.033},
    {"district in 9208", 9208, 105.25, 21.40, 0.13},
    {"province in 9208", 9208, 105.20, 21.30, 1.6},
    {"commune in 5897", 5897, 105.60, 21.31, 0.033},
    {"commune in 9211 (Hoa Binh)", 9211, 105.34, 20.82, 0.033},
    {"district in UTM 48N", 3405, 105.40, 21.32, 0.13},
    {"province in VN-2000 geographic", 4756, 105.20, 21.30, 1.6},
    {"commune in VN-2000 geographic", 4756, 105.40, 21.32, 0.033},
};

static int setup(void **state)
{
    pdb_ctx *ctx = NULL;
    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    *state = ctx;
    return 0;
}

static int teardown(void **state)
{
    pdb_ctx_free(*state);
    return 0;
}

/* The size of a pixel of a 1024 px map of the case, in `to` units. */
static void pixel(pdb_ctx *db, const map_case *c, double box[4], double px[2])
{
    double h = c->span * 0.75;
    box[0] = c->lon - c->span / 2, box[2] = c->lon + c->span / 2;
    box[1] = c->lat - h / 2, box[3] = c->lat + h / 2;
    double x[2] = {box[0], box[2]}, y[2] = {box[1], box[3]};
    assert_int_equal(pdb_crs_transform(db, PDB_EPSG_WGS84, c->to, x, y, 2), PDB_OK);
    px[0] = fabs(x[1] - x[0]) / 1024;
    px[1] = fabs(y[1] - y[0]) / 768;
}

/* Every case's grid holds, and random points through it land within the
 * tolerance of PROJ's. */
static void test_grid_agrees_with_proj(void **state)
{
    pdb_ctx *db = *state;
    static pdbt_approx a;
    static double x[SAMPLES], y[SAMPLES], ex[SAMPLES], ey[SAMPLES];
    srand(20261204);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const map_case *c = &cases[k];
        double box[4], px[2];
        pixel(db, c, box, px);
        pdbt__approx_build(db, &a, PDB_EPSG_WGS84, c->to, box, TOL_PX * px[0], TOL_PX * px[1]);
        if (!a.ok)
            fail_msg("%s: the grid does not hold (worst %.3g of the tolerance)", c->name,
                     a.max_err);
        for (int i = 0; i < SAMPLES; i++) {
            ex[i] = x[i] = box[0] + (box[2] - box[0]) * rand() / (double)RAND_MAX;
            ey[i] = y[i] = box[1] + (box[3] - box[1]) * rand() / (double)RAND_MAX;
        }
        assert_int_equal(pdb_crs_transform(db, PDB_EPSG_WGS84, c->to, ex, ey, SAMPLES), PDB_OK);
        assert_int_equal(pdbt__approx_apply(&a, x, y, SAMPLES), 1);
        double worst = 0;
        for (int i = 0; i < SAMPLES; i++)
            worst = fmax(worst, fmax(fabs(x[i] - ex[i]) / px[0], fabs(y[i] - ey[i]) / px[1]));
        printf("# %s: worst %.5f px over %d points (grid's own check %.3f of %.2f px)\n", c->name,
               worst, SAMPLES, a.max_err, TOL_PX);
        if (!(worst <= TOL_PX))
            fail_msg("%s: a point strays %.5f px from PROJ's (tolerance %.2f)", c->name, worst,
                     TOL_PX);
    }
}

/* A feature reaching out of the grid is left as it was, for the exact
 * path; so is every feature when the grid does not hold. */
static void test_outside_and_refused(void **state)
{
    pdb_ctx *db = *state;
    static pdbt_approx a;
    const map_case *c = &cases[0];
    double box[4], px[2];
    pixel(db, c, box, px);
    pdbt__approx_build(db, &a, PDB_EPSG_WGS84, c->to, box, TOL_PX * px[0], TOL_PX * px[1]);
    assert_true(a.ok);
    double x[3] = {c->lon, c->lon + 0.001, box[2] + 0.0001}, y[3] = {c->lat, c->lat, c->lat};
    assert_int_equal(pdbt__approx_apply(&a, x, y, 3), 0);
    assert_true(x[0] == c->lon && x[1] == c->lon + 0.001 && y[0] == c->lat);

    /* A tolerance no grid meets (a millionth of a pixel of a province map). */
    c = &cases[2];
    pixel(db, c, box, px);
    pdbt__approx_build(db, &a, PDB_EPSG_WGS84, c->to, box, 1e-6 * px[0], 1e-6 * px[1]);
    assert_false(a.ok);
    x[0] = c->lon, y[0] = c->lat;
    assert_int_equal(pdbt__approx_apply(&a, x, y, 1), 0);
    assert_true(x[0] == c->lon && y[0] == c->lat);

    /* An empty box and a box PROJ cannot take. */
    double flat[4] = {105, 21, 105, 21.1};
    pdbt__approx_build(db, &a, PDB_EPSG_WGS84, 9208, flat, 1, 1);
    assert_false(a.ok);
    double wild[4] = {105, 89, 300, 95};
    pdbt__approx_build(db, &a, PDB_EPSG_WGS84, 9208, wild, 1, 1);
    assert_false(a.ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_grid_agrees_with_proj, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outside_and_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
