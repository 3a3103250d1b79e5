/*
 * test_geom_check.c: pdb_geom_check_wkb on polygons that GEOS's WKT reader
 * and WKB writer make (no hand-typed bytes): valid ones, repairable ones,
 * a bowtie that must not pass as repaired, other types, garbage, limits.
 */
#include "parceldb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include <geos_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tu_assert.h"

/* The test's own GEOS, to make inputs and read outputs (not the engine's). */
static GEOSContextHandle_t geos;

/* One test's context and the last check's output. */
typedef struct fixture {
    pdb_ctx *ctx;         /* the engine context */
    pdb_geom_check check; /* the last check */
    unsigned char *out;   /* repaired WKB of the last check, or NULL */
    size_t out_len;       /* bytes */
} fixture;

static int group_setup(void **state)
{
    (void)state;
    geos = GEOS_init_r();
    return geos == NULL;
}

static int group_teardown(void **state)
{
    (void)state;
    GEOS_finish_r(geos);
    return 0;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(pdb_ctx_new(&f->ctx), PDB_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pdb_free(f->out);
    pdb_ctx_free(f->ctx);
    free(f);
    return 0;
}

/* ISO WKB (little-endian, with Z when the WKT has it) of a WKT, by GEOS. */
static unsigned char *wkb_of(const char *wkt, size_t *len)
{
    GEOSWKTReader *reader = GEOSWKTReader_create_r(geos);
    GEOSWKBWriter *writer = GEOSWKBWriter_create_r(geos);
    GEOSGeometry *g = GEOSWKTReader_read_r(geos, reader, wkt);
    unsigned char *buf, *copy;

    if (g == NULL)
        fail_msg("GEOS cannot read %s", wkt);
    GEOSWKBWriter_setFlavor_r(geos, writer, GEOS_WKB_ISO);
    GEOSWKBWriter_setByteOrder_r(geos, writer, GEOS_WKB_NDR);
    GEOSWKBWriter_setOutputDimension_r(geos, writer, 3);
    buf = GEOSWKBWriter_write_r(geos, writer, g, len);
    assert_non_null(buf);
    copy = malloc(*len);
    assert_non_null(copy);
    memcpy(copy, buf, *len);
    GEOSFree_r(geos, buf);
    GEOSGeom_destroy_r(geos, g);
    GEOSWKBWriter_destroy_r(geos, writer);
    GEOSWKTReader_destroy_r(geos, reader);
    return copy;
}

/* Checks a WKT's WKB with the engine; returns the status. */
static pdb_status check_wkt(fixture *f, const char *wkt, double max_change)
{
    size_t len;
    unsigned char *wkb = wkb_of(wkt, &len);
    pdb_status st;

    pdb_free(f->out);
    f->out = NULL;
    st = pdb_geom_check_wkb(f->ctx, wkb, len, max_change, &f->check, &f->out, &f->out_len);
    free(wkb);
    return st;
}

/* Reads the repaired WKB back with GEOS and checks its form: 2D, NDR,
 * ISO MULTIPOLYGON (type 6, not 1006 or an EWKB flag), valid, of area. */
static void assert_repaired_multipolygon(const fixture *f, double area, int parts)
{
    GEOSWKBReader *reader = GEOSWKBReader_create_r(geos);
    GEOSGeometry *g;
    double got;

    assert_non_null(f->out);
    assert_true(f->out_len > 9);
    assert_int_equal(f->out[0], 1); /* little-endian */
    assert_int_equal(f->out[1] | f->out[2] << 8 | f->out[3] << 16 | (uint32_t)f->out[4] << 24, 6);
    g = GEOSWKBReader_read_r(geos, reader, f->out, f->out_len);
    assert_non_null(g);
    assert_int_equal(GEOSGeomTypeId_r(geos, g), GEOS_MULTIPOLYGON);
    assert_int_equal(GEOSHasZ_r(geos, g), 0);
    assert_int_equal(GEOSisValid_r(geos, g), 1);
    assert_int_equal(GEOSGetNumGeometries_r(geos, g), parts);
    assert_int_equal(GEOSArea_r(geos, g, &got), 1);
    assert_near(got, area, 1e-9);
    GEOSGeom_destroy_r(geos, g);
    GEOSWKBReader_destroy_r(geos, reader);
}

/* ------------------------------------------------------------------------ */

static void test_valid_polygon(void **state)
{
    fixture *f = *state;

    assert_int_equal(check_wkt(f, "POLYGON((0 0, 100 0, 100 50, 0 50, 0 0))", 0.001), PDB_OK);
    assert_int_equal(f->check.valid, 1);
    assert_int_equal(f->check.repaired, 0);
    assert_near(f->check.area_m2, 5000.0, 0.0);
    assert_near(f->check.repaired_area_m2, 5000.0, 0.0);
    assert_string_equal(f->check.reason, "");
    assert_null(f->out);
    assert_int_equal(f->out_len, 0);
    assert_int_equal(pdb_errcode(f->ctx), PDB_OK);
}

static void test_valid_with_hole_and_parts(void **state)
{
    fixture *f = *state;

    assert_int_equal(check_wkt(f,
                               "POLYGON((0 0, 100 0, 100 50, 0 50, 0 0),"
                               " (10 10, 20 10, 20 20, 10 20, 10 10))",
                               0.001),
                     PDB_OK);
    assert_int_equal(f->check.valid, 1);
    assert_near(f->check.area_m2, 4900.0, 0.0);
    assert_int_equal(check_wkt(f,
                               "MULTIPOLYGON(((0 0, 10 0, 10 10, 0 10, 0 0)),"
                               " ((20 0, 30 0, 30 10, 20 10, 20 0)))",
                               0.001),
                     PDB_OK);
    assert_int_equal(f->check.valid, 1);
    assert_near(f->check.area_m2, 200.0, 0.0);
    /* Survey coordinates: TM-3 metres in Viet Tri, with Z from a DGN. */
    assert_int_equal(check_wkt(f,
                               "POLYGON Z((567400 2358700 12, 567450 2358700 12,"
                               " 567450 2358750 12, 567400 2358750 12, 567400 2358700 12))",
                               0.001),
                     PDB_OK);
    assert_int_equal(f->check.valid, 1);
    assert_near(f->check.area_m2, 2500.0, 1e-6);
}

/* A spike (out and back along one line) adds no area: repaired, kept. */
static void test_spike_repaired(void **state)
{
    fixture *f = *state;

    assert_int_equal(
        check_wkt(f, "POLYGON((0 0, 100 0, 100 50, 100 80, 100 50, 0 50, 0 0))", 0.001), PDB_OK);
    assert_int_equal(f->check.valid, 0);
    assert_int_equal(f->check.repaired, 1);
    assert_contains(f->check.reason, "Self-intersection");
    assert_contains(f->check.reason, " at (");
    assert_near(f->check.area_m2, 5000.0, 0.0);
    assert_near(f->check.repaired_area_m2, 5000.0, 1e-9);
    assert_repaired_multipolygon(f, 5000.0, 1);
}

/* A ring that touches itself at a vertex (a figure of eight): two parts,
 * the same area. With Z, which the repaired WKB drops. */
static void test_self_touching_repaired(void **state)
{
    fixture *f = *state;

    assert_int_equal(
        check_wkt(f, "POLYGON Z((0 0 5, 10 0 5, 5 5 5, 10 10 5, 0 10 5, 5 5 5, 0 0 5))", 0.001),
        PDB_OK);
    assert_int_equal(f->check.valid, 0);
    assert_int_equal(f->check.repaired, 1);
    assert_near(f->check.area_m2, 50.0, 1e-9);
    assert_repaired_multipolygon(f, 50.0, 2);
    /* A spike pointing inwards, out and back from one vertex. */
    assert_int_equal(check_wkt(f, "POLYGON((0 0, 10 0, 10 10, 5 10, 5 5, 5 10, 0 10, 0 0))", 0.001),
                     PDB_OK);
    assert_int_equal(f->check.repaired, 1);
    assert_repaired_multipolygon(f, 100.0, 1);
}

/* A bowtie's two halves have opposite orientation: its area is 0 (or the
 * difference of the halves), and MakeValid's two triangles are a different
 * parcel. It must be refused, not stored as repaired. */
static void test_bowtie_refused(void **state)
{
    fixture *f = *state;

    assert_int_equal(check_wkt(f, "POLYGON((0 0, 10 10, 10 0, 0 10, 0 0))", 0.001), PDB_OK);
    assert_int_equal(f->check.valid, 0);
    assert_int_equal(f->check.repaired, 0);
    assert_contains(f->check.reason, "Self-intersection");
    assert_near(f->check.area_m2, 0.0, 1e-9);
    assert_near(f->check.repaired_area_m2, 50.0, 1e-9);
    assert_null(f->out);
    /* Not symmetric: halves of 66.7 and 16.7, so the ring's area is 50 and
     * the repair's 83.3. */
    assert_int_equal(check_wkt(f, "POLYGON((0 0, 10 10, 10 0, 0 20, 0 0))", 0.001), PDB_OK);
    assert_int_equal(f->check.repaired, 0);
    assert_null(f->out);
    assert_near(f->check.area_m2, 50.0, 1e-9);
    assert_near(f->check.repaired_area_m2, 250.0 / 3.0, 1e-9);
    /* Even a lax caller does not get a bowtie through. */
    assert_int_equal(check_wkt(f, "POLYGON((0 0, 10 10, 10 0, 0 10, 0 0))", 10.0), PDB_OK);
    assert_int_equal(f->check.repaired, 0);
}

/* A hole that crosses its shell: the repair changes the area by 30%, so it
 * passes only a caller who allows that much. */
static void test_area_threshold(void **state)
{
    fixture *f = *state;
    const char *wkt = "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 12 2, 12 8, 2 8, 2 2))";

    assert_int_equal(check_wkt(f, wkt, 0.001), PDB_OK);
    assert_int_equal(f->check.valid, 0);
    assert_int_equal(f->check.repaired, 0);
    assert_null(f->out);
    double change = fabs(f->check.repaired_area_m2 - f->check.area_m2) / f->check.area_m2;
    assert_true(change > 0.2 && change < 0.5);
    assert_int_equal(check_wkt(f, wkt, 0.5), PDB_OK);
    assert_int_equal(f->check.repaired, 1);
    assert_repaired_multipolygon(f, f->check.repaired_area_m2, 1);
}

static void test_not_polygons(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *wkt;  /* input */
        const char *type; /* named in the message */
    } cases[] = {
        {"POINT(567440 2358740)", "Point"},
        {"LINESTRING(0 0, 10 0, 10 10)", "LineString"},
        {"MULTILINESTRING((0 0, 10 0), (0 5, 10 5))", "MultiLineString"},
        {"MULTIPOINT((0 0), (1 1))", "MultiPoint"},
        {"GEOMETRYCOLLECTION(POLYGON((0 0, 1 0, 1 1, 0 0)), POINT(5 5))", "GeometryCollection"},
        {"POLYGON EMPTY", "empty"},
        {"MULTIPOLYGON EMPTY", "empty"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pdb_status st = check_wkt(f, cases[i].wkt, 0.001);
        if (st != PDB_EGEOM)
            fail_msg("%s: %s, not EGEOM", cases[i].wkt, pdb_status_name(st));
        assert_contains(pdb_errmsg(f->ctx), cases[i].type);
        assert_null(f->out);
        assert_int_equal(f->check.valid, 0);
    }
}

/* Garbage, truncations and lies about counts: PDB_EGEOM, never a crash
 * (the ASan build runs this too). */
static void test_garbage(void **state)
{
    fixture *f = *state;
    size_t len;
    unsigned char *wkb = wkb_of("POLYGON((0 0, 100 0, 100 50, 0 50, 0 0))", &len);
    unsigned char *copy = malloc(len);
    unsigned char noise[256];
    uint32_t seed = 12345;

    assert_non_null(copy);
    assert_int_equal(pdb_geom_check_wkb(f->ctx, (const unsigned char *)"garbage!", 8, 0.001,
                                        &f->check, &f->out, &f->out_len),
                     PDB_EGEOM);
    assert_contains(pdb_errmsg(f->ctx), "does not parse");
    assert_int_equal(pdb_geom_check_wkb(f->ctx, NULL, 0, 0.001, &f->check, &f->out, &f->out_len),
                     PDB_EGEOM);
    /* Every truncation of a valid polygon. */
    for (size_t cut = 1; cut < len; cut++)
        assert_int_equal(
            pdb_geom_check_wkb(f->ctx, wkb, cut, 0.001, &f->check, &f->out, &f->out_len),
            PDB_EGEOM);
    /* A ring count, then a point count, of two billion in a 93-byte buffer. */
    for (size_t at = 5; at <= 9; at += 4) {
        memcpy(copy, wkb, len);
        copy[at] = 0xff;
        copy[at + 1] = 0xff;
        copy[at + 2] = 0xff;
        copy[at + 3] = 0x7f;
        assert_int_equal(
            pdb_geom_check_wkb(f->ctx, copy, len, 0.001, &f->check, &f->out, &f->out_len),
            PDB_EGEOM);
    }
    /* Noise, some of it starting like a polygon. */
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof noise; i++) {
            seed = seed * 1103515245u + 12345u;
            noise[i] = (unsigned char)(seed >> 16);
        }
        if (round % 2)
            memcpy(noise, wkb, 9);
        pdb_status st =
            pdb_geom_check_wkb(f->ctx, noise, sizeof noise, 0.001, &f->check, &f->out, &f->out_len);
        assert_true(st == PDB_EGEOM || st == PDB_OK || st == PDB_ELIMIT);
        pdb_free(f->out);
        f->out = NULL;
    }
    free(copy);
    free(wkb);
}

/* A NaN coordinate parses (WKB can carry it) but is no parcel's. */
static void test_nan_coordinate(void **state)
{
    fixture *f = *state;
    size_t len;
    unsigned char *wkb = wkb_of("POLYGON((0 0, 100 0, 100 50, 0 50, 0 0))", &len);
    double nan = NAN;

    /* byte order 1, type 4, ring count 4, point count 4: then x of point 2. */
    memcpy(wkb + 13 + 16, &nan, sizeof nan);
    assert_int_equal(pdb_geom_check_wkb(f->ctx, wkb, len, 0.001, &f->check, &f->out, &f->out_len),
                     PDB_EGEOM);
    assert_contains(pdb_errmsg(f->ctx), "finite");
    assert_int_equal(f->check.valid, 0);
    assert_int_equal(f->check.repaired, 0);
    assert_null(f->out);
    free(wkb);
}

static void test_limits(void **state)
{
    fixture *f = *state;
    pdb_limits lim = {0};
    pdb_limits got;

    lim.max_vertices_per_parcel = 10;
    lim.max_parts_per_parcel = 1;
    lim.max_rings_per_parcel = 1;
    pdb_ctx_set_limits(f->ctx, &lim);
    pdb_ctx_get_limits(f->ctx, &got);
    assert_int_equal(got.max_vertices_per_parcel, 10);
    assert_int_equal(check_wkt(f,
                               "POLYGON((0 0, 1 0, 2 0, 3 0, 4 0, 5 0, 5 1, 5 2, 4 2,"
                               " 3 2, 2 2, 0 2, 0 0))",
                               0.001),
                     PDB_ELIMIT);
    assert_contains(pdb_errmsg(f->ctx), "13 vertices");
    assert_contains(pdb_errmsg(f->ctx), "limit of 10");
    assert_int_equal(check_wkt(f,
                               "MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)),"
                               " ((5 5, 6 5, 6 6, 5 5)))",
                               0.001),
                     PDB_ELIMIT);
    assert_contains(pdb_errmsg(f->ctx), "2 parts");
    assert_int_equal(check_wkt(f, "POLYGON((0 0, 9 0, 9 9, 0 0), (5 1, 8 1, 8 4, 5 1))", 0.001),
                     PDB_ELIMIT);
    assert_contains(pdb_errmsg(f->ctx), "2 rings");
    /* Under the limits: fine. And an invalid polygon over the limit is
     * refused before any repair is tried. */
    assert_int_equal(check_wkt(f, "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))", 0.001), PDB_OK);
    assert_int_equal(check_wkt(f,
                               "POLYGON((0 0, 1 0, 2 0, 3 0, 4 0, 5 0, 5 1, 5 2, 4 2,"
                               " 3 2, 2 2, 0 2, 6 6, 0 0))",
                               0.001),
                     PDB_ELIMIT);
    /* Zeros bring the defaults back: a 5000-vertex parcel passes. */
    memset(&lim, 0, sizeof lim);
    pdb_ctx_set_limits(f->ctx, &lim);
    char *wkt = malloc(5000 * 48 + 32);
    assert_non_null(wkt);
    size_t n = (size_t)sprintf(wkt, "POLYGON((");
    for (int i = 0; i < 5000; i++) {
        double a = 2.0 * M_PI * i / 5000;
        n += (size_t)sprintf(wkt + n, "%.6f %.6f, ", 100.0 * cos(a), 100.0 * sin(a));
    }
    sprintf(wkt + n, "100 0))");
    assert_int_equal(check_wkt(f, wkt, 0.001), PDB_OK);
    assert_int_equal(f->check.valid, 1);
    free(wkt);
}

static void test_arguments(void **state)
{
    fixture *f = *state;
    size_t len;
    unsigned char *wkb = wkb_of("POLYGON((0 0, 100 0, 100 50, 100 80, 100 50, 0 50, 0 0))", &len);

    assert_int_equal(pdb_geom_check_wkb(f->ctx, wkb, len, -0.1, &f->check, &f->out, &f->out_len),
                     PDB_EINVAL);
    assert_int_equal(pdb_geom_check_wkb(f->ctx, wkb, len, NAN, &f->check, &f->out, &f->out_len),
                     PDB_EINVAL);
    /* Without somewhere to put the WKB, the check still reports. */
    assert_int_equal(pdb_geom_check_wkb(f->ctx, wkb, len, 0.001, &f->check, NULL, NULL), PDB_OK);
    assert_int_equal(f->check.repaired, 1);
    free(wkb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_valid_polygon, setup, teardown),
        cmocka_unit_test_setup_teardown(test_valid_with_hole_and_parts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spike_repaired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_touching_repaired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bowtie_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_area_threshold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_polygons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nan_coordinate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arguments, setup, teardown),
    };
    return cmocka_run_group_tests_name("geom_check", tests, group_setup, group_teardown);
}
