/*
 * test_mvt.c: the vector tile encoder's pure parts (tiler/mvt.c): ring
 * cleaning after quantization (repeated and closing points, zero area,
 * winding, holes of a dropped exterior) and the encoding's framing (empty
 * layers left out, values shared within a layer, varint boundaries), and
 * the validity proof on integers (tiler/mvt_valid.c) against GEOS's own
 * isValid on hand-made and random shapes. Real decoders (GDAL,
 * @mapbox/vector-tile) read the server's tiles in tests/server/mvt.sh.
 */
#include "mvt.h"

#include <geos_c.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* Twice the signed area (surveyor's formula, y down: positive = clockwise
 * on screen = an MVT exterior). */
static long long area2(const int32_t *p, uint32_t n)
{
    long long s = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = (i + 1) % n;
        s += (long long)p[2 * i] * p[2 * j + 1] - (long long)p[2 * j] * p[2 * i + 1];
    }
    return s;
}

static void test_clean(void **state)
{
    (void)state;
    /* An exterior given counter-clockwise, closed, with a repeated point;
     * a hole given clockwise; a hole that rounding flattened. */
    int32_t xy[] = {0, 0, 0, 10, 0, 10, 10, 10, 10, 0, 0, 0, /* exterior, 6 points */
                    2, 2, 4, 2,  4, 4,  2,  4,  2,  2,       /* hole, 5 points */
                    5, 5, 6, 6,  7, 7,  5,  5};              /* flat hole, 4 points */
    uint32_t n[] = {6, 5, 4};
    uint8_t ext[] = {1, 0, 0};
    size_t nr = 3;
    size_t kept = pdbt__mvt_clean_polygon(xy, n, ext, &nr);
    assert_int_equal(nr, 2);
    assert_int_equal(n[0], 4); /* the repeated and the closing point gone */
    assert_int_equal(n[1], 4);
    assert_int_equal(kept, 8);
    assert_true(area2(xy, n[0]) > 0);     /* exterior reversed to clockwise */
    assert_true(area2(xy + 8, n[1]) < 0); /* hole reversed to counter-clockwise */
    assert_int_equal(ext[0], 1);
    assert_int_equal(ext[1], 0);
    for (size_t i = 0; i + 1 < kept; i++) /* no repeated point is left */
        assert_false(xy[2 * i] == xy[2 * i + 2] && xy[2 * i + 1] == xy[2 * i + 3]);

    /* An exterior of zero area takes its hole with it; the next polygon
     * stays. */
    int32_t xy2[] = {0,  0,  5,  5,  10, 10, 0,  0,   /* flat exterior */
                     1,  1,  2,  1,  2,  2,           /* its hole */
                     20, 20, 30, 20, 30, 30, 20, 20}; /* a second polygon, clockwise */
    uint32_t n2[] = {4, 3, 4};
    uint8_t ext2[] = {1, 0, 1};
    nr = 3;
    kept = pdbt__mvt_clean_polygon(xy2, n2, ext2, &nr);
    assert_int_equal(nr, 1);
    assert_int_equal(n2[0], 3);
    assert_int_equal(kept, 3);
    assert_int_equal(xy2[0], 20);
    assert_true(area2(xy2, 3) > 0);

    /* All collapsed: nothing left. */
    int32_t xy3[] = {3, 3, 3, 3, 3, 3, 3, 3};
    uint32_t n3[] = {4};
    uint8_t ext3[] = {1};
    nr = 1;
    assert_int_equal(pdbt__mvt_clean_polygon(xy3, n3, ext3, &nr), 0);
    assert_int_equal(nr, 0);
}

/* How many times needle occurs in the bytes. */
static int count(const unsigned char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    int c = 0;
    for (size_t i = 0; i + k <= n; i++)
        c += memcmp(p + i, needle, k) == 0;
    return c;
}

static void test_encode(void **state)
{
    (void)state;
    pdbt_ctx *ctx = NULL;
    assert_int_equal(pdbt_ctx_new(NULL, &ctx), PDB_OK);
    unsigned char *out = NULL;
    size_t len = 99;

    /* No features: no layer, 0 bytes, a non-NULL buffer. */
    pdbt_mvt_layer empty = {.name = "parcels", .extent = 4096};
    assert_int_equal(pdbt__mvt_encode(ctx, &empty, 1, &out, &len), PDB_OK);
    assert_non_null(out);
    assert_int_equal(len, 0);
    free(out);

    /* Two squares sharing the value "LUC" and differing in "parcel". */
    int32_t sq[] = {0, 0, 100, 0, 100, 100, 0, 100};
    int32_t sq2[] = {200, 0, 300, 0, 300, 100, 200, 100};
    uint32_t n4[] = {4};
    pdbt_mvt_prop p1[] = {{.key = "landuse", .type = PDBT_MVT_STRING, .s = "LUC"},
                          {.key = "parcel", .type = PDBT_MVT_STRING, .s = "seventeen"},
                          {.key = "id", .type = PDBT_MVT_UINT, .u = 300}, /* a 2-byte varint */
                          {.key = "area", .type = PDBT_MVT_DOUBLE, .d = 1234.5}};
    pdbt_mvt_prop p2[] = {{.key = "landuse", .type = PDBT_MVT_STRING, .s = "LUC"},
                          {.key = "parcel", .type = PDBT_MVT_STRING, .s = "eighteen"},
                          {.key = "id", .type = PDBT_MVT_UINT, .u = 301},
                          {.key = "area", .type = PDBT_MVT_DOUBLE, .d = 1234.5}};
    pdbt_mvt_feature f[] = {
        {.id = 300,
         .has_id = 1,
         .type = PDBT_MVT_POLYGON,
         .xy = sq,
         .ring_n = n4,
         .nrings = 1,
         .props = p1,
         .nprops = 4},
        {.id = 301,
         .has_id = 1,
         .type = PDBT_MVT_POLYGON,
         .xy = sq2,
         .ring_n = n4,
         .nrings = 1,
         .props = p2,
         .nprops = 4},
    };
    pdbt_mvt_layer layers[] = {{.name = "parcels", .extent = 4096, .feats = f, .nfeats = 2},
                               {.name = "labels", .extent = 4096}};
    assert_int_equal(pdbt__mvt_encode(ctx, layers, 2, &out, &len), PDB_OK);
    assert_true(len > 0);
    assert_int_equal(out[0], (3 << 3) | 2); /* Tile.layers, length-delimited */
    assert_int_equal(count(out, len, "parcels"), 1);
    assert_int_equal(count(out, len, "labels"), 0);  /* the empty layer left out */
    assert_int_equal(count(out, len, "LUC"), 1);     /* one value for both */
    assert_int_equal(count(out, len, "landuse"), 1); /* one key */
    assert_int_equal(count(out, len, "seventeen"), 1);
    assert_int_equal(count(out, len, "eighteen"), 1);
    /* The bound thinning sums is an upper bound. */
    size_t bound = pdbt__mvt_feature_bound(&f[0]) + pdbt__mvt_feature_bound(&f[1]);
    assert_true(bound >= len);
    free(out);

    /* A polygon ring of two points is refused with a message. */
    uint32_t n2[] = {2};
    pdbt_mvt_feature bad = {.type = PDBT_MVT_POLYGON, .xy = sq, .ring_n = n2, .nrings = 1};
    pdbt_mvt_layer bl = {.name = "parcels", .extent = 4096, .feats = &bad, .nfeats = 1};
    assert_int_equal(pdbt__mvt_encode(ctx, &bl, 1, &out, &len), PDB_EINVAL);
    assert_null(out);
    assert_non_null(strstr(pdbt_errmsg(ctx), "2 points"));
    pdbt_ctx_free(ctx);
}

/* A shape as the tile builder holds it: rings one after another, their
 * counts, exterior flags. */
typedef struct shape {
    int32_t xy[2 * 64];
    uint32_t ring_n[8];
    uint8_t ext[8];
    size_t nr;
} shape;

static void ring_add(shape *s, int exterior, const int32_t *pts, uint32_t n)
{
    size_t at = 0;
    for (size_t r = 0; r < s->nr; r++)
        at += s->ring_n[r];
    memcpy(s->xy + 2 * at, pts, 2 * n * sizeof *pts);
    s->ring_n[s->nr] = n;
    s->ext[s->nr++] = (uint8_t)exterior;
}

/* GEOS's isValid of the shape, or of the parts marked in only. */
static int geos_valid(GEOSContextHandle_t g, const shape *s, const uint8_t *only)
{
    GEOSGeometry *polys[8], *rings[8];
    size_t np = 0, at = 0;
    for (size_t r = 0; r < s->nr; r++) {
        GEOSCoordSequence *cs = GEOSCoordSeq_create_r(g, s->ring_n[r] + 1, 2);
        for (uint32_t i = 0; i <= s->ring_n[r]; i++) {
            uint32_t k = (uint32_t)at + i % s->ring_n[r];
            GEOSCoordSeq_setXY_r(g, cs, i, s->xy[2 * k], s->xy[2 * k + 1]);
        }
        rings[r] = GEOSGeom_createLinearRing_r(g, cs);
        at += s->ring_n[r];
    }
    for (size_t r = 0; r < s->nr;) {
        size_t h = r + 1;
        while (h < s->nr && !s->ext[h])
            h++;
        if (only == NULL || only[r])
            polys[np++] =
                GEOSGeom_createPolygon_r(g, rings[r], rings + r + 1, (unsigned)(h - r - 1));
        else
            for (size_t k = r; k < h; k++)
                GEOSGeom_destroy_r(g, rings[k]);
        r = h;
    }
    GEOSGeometry *mp = GEOSGeom_createCollection_r(g, GEOS_MULTIPOLYGON, polys, (unsigned)np);
    int v = GEOSisValid_r(g, mp);
    GEOSGeom_destroy_r(g, mp);
    return v == 1;
}

/* 3 to 2 + spread random points on a grid x grid square into pts (room
 * for 8); returns how many. */
static uint32_t random_ring(int32_t *pts, int spread, int grid)
{
    uint32_t n = 3 + (uint32_t)(rand() % spread);
    for (uint32_t i = 0; i < n; i++) {
        pts[2 * i] = rand() % grid;
        pts[2 * i + 1] = rand() % grid;
    }
    return n;
}

/* What the proof says, checked against GEOS: never "valid" of an invalid
 * shape; "valid but for these parts" only when those parts decide. */
static int proof(GEOSContextHandle_t g, const shape *s)
{
    uint8_t suspect[8];
    pdbt_mvt_valid_scratch sc = {0};
    int v = pdbt__mvt_certainly_valid(s->xy, s->ring_n, s->ext, s->nr, suspect, &sc);
    pdbt__mvt_valid_scratch_free(&sc);
    int whole = geos_valid(g, s, NULL);
    if (v == 1)
        assert_true(whole);
    if (v == 2)
        assert_int_equal(geos_valid(g, s, suspect), whole);
    return v;
}

static void test_valid_proof(void **state)
{
    (void)state;
    GEOSContextHandle_t g = GEOS_init_r();
    shape s;
    static const int32_t sq[] = {0, 0, 10, 0, 10, 10, 0, 10};
    static const int32_t hole[] = {2, 2, 2, 4, 4, 4, 4, 2};
    static const int32_t far_sq[] = {40, 0, 50, 0, 50, 10, 40, 10};
    static const int32_t corner_sq[] = {10, 10, 20, 10, 20, 20, 10, 20}; /* meets sq at (10, 10) */
    static const int32_t bowtie[] = {0, 0, 10, 10, 10, 0, 0, 10};
    static const int32_t spike[] = {0, 0, 10, 0, 10, 10, 10, 20, 10, 5, 0, 10};
    static const int32_t out_hole[] = {12, 2, 12, 4, 14, 4, 14, 2};
    static const int32_t big_hole[] = {1, 1, 1, 9, 9, 9, 9, 1};
    static const int32_t edge_hole[] = {0, 2, 0, 4, 4, 4, 4, 2}; /* on the shell's edge */
    static const int32_t inner_sq[] = {3, 3, 7, 3, 7, 7, 3, 7};

    memset(&s, 0, sizeof s);
    ring_add(&s, 1, sq, 4);
    assert_int_equal(proof(g, &s), 1);
    ring_add(&s, 0, hole, 4);
    assert_int_equal(proof(g, &s), 1); /* a square with a hole */
    ring_add(&s, 1, far_sq, 4);
    assert_int_equal(proof(g, &s), 1); /* and a part apart */

    memset(&s, 0, sizeof s);
    ring_add(&s, 1, sq, 4);
    ring_add(&s, 1, corner_sq, 4);
    ring_add(&s, 1, far_sq, 4);
    assert_int_equal(proof(g, &s), 2); /* two parts touching at a point: GEOS's */

    memset(&s, 0, sizeof s);
    ring_add(&s, 1, bowtie, 4);
    assert_int_not_equal(proof(g, &s), 1);
    memset(&s, 0, sizeof s);
    ring_add(&s, 1, spike, 6);
    assert_int_not_equal(proof(g, &s), 1);
    memset(&s, 0, sizeof s);
    ring_add(&s, 1, sq, 4);
    ring_add(&s, 0, out_hole, 4);
    assert_int_equal(proof(g, &s), 0); /* a hole outside its exterior */
    memset(&s, 0, sizeof s);
    ring_add(&s, 1, sq, 4);
    ring_add(&s, 0, big_hole, 4);
    ring_add(&s, 0, hole, 4);
    assert_int_equal(proof(g, &s), 0); /* a hole in a hole */
    memset(&s, 0, sizeof s);
    ring_add(&s, 1, sq, 4);
    ring_add(&s, 0, edge_hole, 4);
    assert_int_not_equal(proof(g, &s), 1); /* a hole along the shell */
    memset(&s, 0, sizeof s);
    ring_add(&s, 1, sq, 4);
    ring_add(&s, 1, inner_sq, 4);
    assert_int_equal(proof(g, &s), 0); /* a part inside another */

    /* Random shapes on a small grid, so that rings meet, cross, touch and
     * nest often: the proof must agree with GEOS every time it speaks. */
    srand(7);
    int said = 0;
    for (int t = 0; t < 20000; t++) {
        memset(&s, 0, sizeof s);
        size_t nr = 1 + (size_t)(rand() % 4);
        for (size_t r = 0; r < nr; r++) {
            int32_t pts[2 * 8];
            uint32_t n = random_ring(pts, 5, 12);
            /* pdbt__mvt_clean_polygon's guarantees: no repeated point, no
             * zero area; the first ring an exterior. */
            uint32_t rn = n;
            uint8_t ext = (uint8_t)(r == 0 || rand() % 2);
            size_t nrings = 1;
            size_t kept = pdbt__mvt_clean_polygon(pts, &rn, &ext, &nrings);
            if (nrings == 1 && kept >= 3 && (r > 0 || ext))
                ring_add(&s, ext, pts, rn);
        }
        if (s.nr == 0 || !s.ext[0])
            continue;
        said += proof(g, &s) != 0;
    }
    assert_true(said > 1000); /* it proved a good share, and never wrongly */
    GEOS_finish_r(g);
}

/* pdbt__mvt_simple_ring says what GEOSisValid says of a one-ring polygon
 * (its convex shortcut included): named shapes, then random rings on a
 * small grid, where convex, concave, crossing and spiked rings all occur. */
static void test_simple_ring(void **state)
{
    (void)state;
    GEOSContextHandle_t g = GEOS_init_r();
    shape s;
    static const int32_t sq[] = {0, 0, 10, 0, 10, 10, 0, 10};
    static const int32_t straight[] = {0, 0, 5, 0, 10, 0, 10, 10, 0, 10}; /* a point on an edge */
    static const int32_t star[] = {0, 3, 10, 3, 2, 9, 5, 0, 8, 9}; /* turns one way, twice round */
    static const int32_t ell[] = {0, 0, 10, 0, 10, 4, 4, 4, 4, 10, 0, 10};
    static const int32_t spike[] = {0, 0, 10, 0, 10, 10, 10, 20, 10, 5, 0, 10};
    static const int32_t bowtie[] = {0, 0, 10, 10, 10, 0, 0, 10};
    static const struct {
        const int32_t *p;
        uint32_t n;
        int simple;
    } named[] = {{sq, 4, 1},  {straight, 5, 1}, {star, 5, 0},
                 {ell, 6, 1}, {spike, 6, 0},    {bowtie, 4, 0}};
    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
        memset(&s, 0, sizeof s);
        ring_add(&s, 1, named[k].p, named[k].n);
        assert_int_equal(geos_valid(g, &s, NULL), named[k].simple);
        assert_int_equal(pdbt__mvt_simple_ring(s.xy, s.ring_n[0]), named[k].simple);
    }
    srand(11);
    int convex = 0;
    for (int t = 0; t < 20000; t++) {
        int32_t pts[2 * 8];
        uint32_t n = random_ring(pts, 6, 9);
        uint32_t rn = n;
        uint8_t ext = 1;
        size_t nrings = 1;
        size_t kept = pdbt__mvt_clean_polygon(pts, &rn, &ext, &nrings);
        if (nrings != 1 || kept < 3)
            continue;
        memset(&s, 0, sizeof s);
        ring_add(&s, 1, pts, rn);
        int want = geos_valid(g, &s, NULL);
        assert_int_equal(pdbt__mvt_simple_ring(s.xy, rn), want);
        convex += want && rn >= 4;
    }
    assert_true(convex > 1000); /* simple rings of four points and more were many */
    GEOS_finish_r(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_valid_proof),
        cmocka_unit_test(test_simple_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
