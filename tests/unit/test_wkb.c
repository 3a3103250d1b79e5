/*
 * test_wkb.c: the engine's WKB and SpatiaLite BLOB codecs on geometries
 * that OGR writes, with the limits on untrusted input.
 */
#include "wkb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <ogr_api.h>
#include <stdlib.h>
#include <string.h>

/* ISO WKB of a WKT, written by OGR (caller frees). */
static unsigned char *ogr_wkb(const char *wkt, size_t *len, OGRwkbByteOrder order)
{
    OGRGeometryH g = NULL;
    char *text = (char *)wkt;
    assert_int_equal(OGR_G_CreateFromWkt(&text, NULL, &g), OGRERR_NONE);
    *len = (size_t)OGR_G_WkbSize(g);
    unsigned char *wkb = malloc(*len);
    OGR_G_ExportToIsoWkb(g, order, wkb);
    OGR_G_DestroyGeometry(g);
    return wkb;
}

static void test_parse_polygon_with_hole_and_z(void **state)
{
    pdb_ctx *ctx = *state;
    pdb__mpoly mp;
    size_t len;
    /* Big-endian, with Z, as some DGN and DXF exports give. */
    unsigned char *wkb = ogr_wkb("POLYGON Z ((0 0 5,10 0 5,10 10 5,0 10 5,0 0 5),"
                                 "(2 2 5,2 4 5,4 4 5,4 2 5,2 2 5))",
                                 &len, wkbXDR);
    assert_int_equal(pdb__wkb_parse(ctx, wkb, len, &mp), PDB_OK);
    assert_int_equal(mp.nparts, 1);
    assert_int_equal(mp.nrings, 2);
    assert_int_equal(mp.npoints, 10);
    assert_true(fabs(pdb__mpoly_area(&mp) - 96.0) < 1e-12);
    double bbox[4];
    pdb__mpoly_bbox(&mp, bbox);
    assert_true(bbox[0] == 0 && bbox[1] == 0 && bbox[2] == 10 && bbox[3] == 10);

    /* Through a SpatiaLite BLOB and back, and the point test on it. */
    unsigned char *blob;
    size_t blen;
    assert_int_equal(pdb__mpoly_to_blob(ctx, &mp, 4326, &blob, &blen), PDB_OK);
    int in;
    assert_int_equal(pdb__blob_contains(ctx, blob, blen, 1, 1, &in), PDB_OK);
    assert_int_equal(in, 1);
    assert_int_equal(pdb__blob_contains(ctx, blob, blen, 3, 3, &in), PDB_OK);
    assert_int_equal(in, 0); /* in the hole */
    assert_int_equal(pdb__blob_contains(ctx, blob, blen, 11, 3, &in), PDB_OK);
    assert_int_equal(in, 0);
    double box_in_hole[4] = {2.5, 2.5, 3.5, 3.5}, box_over_edge[4] = {9, 9, 12, 12};
    double box_around[4] = {-1, -1, 11, 11};
    assert_int_equal(pdb__blob_intersects_box(ctx, blob, blen, box_in_hole, &in), PDB_OK);
    assert_int_equal(in, 0);
    assert_int_equal(pdb__blob_intersects_box(ctx, blob, blen, box_over_edge, &in), PDB_OK);
    assert_int_equal(in, 1);
    assert_int_equal(pdb__blob_intersects_box(ctx, blob, blen, box_around, &in), PDB_OK);
    assert_int_equal(in, 1);
    pdb__mpoly back;
    assert_int_equal(pdb__blob_parse(ctx, blob, blen, &back), PDB_OK);
    assert_int_equal(back.npoints, mp.npoints);
    assert_memory_equal(back.xy, mp.xy, 2 * mp.npoints * sizeof(double));
    pdb__mpoly_free(&back);
    free(blob);

    /* RFC 7946 orientation: the exterior becomes counter-clockwise. */
    pdb__mpoly_orient_rfc7946(&mp);
    unsigned char *out;
    size_t olen;
    assert_int_equal(pdb__mpoly_to_wkb(ctx, &mp, &out, &olen), PDB_OK);
    OGRGeometryH g = NULL;
    assert_int_equal(OGR_G_CreateFromWkb(out, NULL, &g, (int)olen), OGRERR_NONE);
    assert_int_equal(wkbFlatten(OGR_G_GetGeometryType(g)), wkbMultiPolygon);
    assert_true(fabs(OGR_G_Area(g) - 96.0) < 1e-12);
    OGR_G_DestroyGeometry(g);
    free(out);
    pdb__mpoly_free(&mp);
    free(wkb);
}

static void test_refuses_non_polygons_and_garbage(void **state)
{
    pdb_ctx *ctx = *state;
    pdb__mpoly mp;
    size_t len;
    unsigned char *wkb = ogr_wkb("LINESTRING (0 0,1 1)", &len, wkbNDR);
    assert_int_equal(pdb__wkb_parse(ctx, wkb, len, &mp), PDB_EGEOM);
    free(wkb);
    wkb = ogr_wkb("POLYGON ((0 0,10 0,10 10,0 10,0 0))", &len, wkbNDR);
    for (size_t cut = 0; cut < len; cut++) /* every truncation fails cleanly */
        assert_int_equal(pdb__wkb_parse(ctx, wkb, cut, &mp), PDB_EGEOM);
    wkb[5] = 0xFF; /* a ring count of billions: refused before allocating */
    wkb[6] = 0xFF;
    assert_int_not_equal(pdb__wkb_parse(ctx, wkb, len, &mp), PDB_OK);
    free(wkb);
    unsigned char junk[64];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 37 + 11);
    assert_int_equal(pdb__wkb_parse(ctx, junk, sizeof junk, &mp), PDB_EGEOM);
    int in;
    assert_int_equal(pdb__blob_contains(ctx, junk, sizeof junk, 0, 0, &in), PDB_EGEOM);
}

static void test_vertex_limit(void **state)
{
    pdb_ctx *ctx = *state;
    pdb__mpoly mp;
    size_t len;
    unsigned char *wkb = ogr_wkb("POLYGON ((0 0,10 0,10 10,5 12,0 10,0 0))", &len, wkbNDR);
    pdb_limits lim = {.max_vertices_per_parcel = 5};
    pdb_ctx_set_limits(ctx, &lim);
    assert_int_equal(pdb__wkb_parse(ctx, wkb, len, &mp), PDB_ELIMIT);
    assert_non_null(strstr(pdb_errmsg(ctx), "vertices"));
    lim.max_vertices_per_parcel = 6;
    pdb_ctx_set_limits(ctx, &lim);
    assert_int_equal(pdb__wkb_parse(ctx, wkb, len, &mp), PDB_OK);
    pdb__mpoly_free(&mp);
    free(wkb);
}

static int setup(void **state)
{
    pdb_ctx *ctx;
    if (pdb_ctx_new(&ctx) != PDB_OK)
        return -1;
    *state = ctx;
    return 0;
}

static int teardown(void **state)
{
    pdb_ctx_free(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse_polygon_with_hole_and_z, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_non_polygons_and_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vertex_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
