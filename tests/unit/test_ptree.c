/*
 * test_ptree.c: the packed R-tree of the lookup index (engine/src/
 * ptree.c) against a plain scan of the same boxes. Its one promise: every
 * box that holds a point is visited, and any other box visited is one the
 * point misses by less than the float rounding of the tree's nodes. The
 * points that matter most are on box edges and one double away from them,
 * where outward rounding could go wrong.
 */
#include "ptree.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fenv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Uniform in [0, 1), from a fixed seed. */
static double rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

typedef struct visits {
    unsigned char *seen; /* per box */
    size_t count;
} visits;

static int mark(void *arg, size_t i)
{
    visits *v = arg;
    v->seen[i]++;
    v->count++;
    return 0;
}

static int holds(const double *b, double x, double y)
{
    return b[0] <= x && x <= b[2] && b[1] <= y && y <= b[3];
}

/* How far (x, y) is outside box b, in degrees; 0 inside. */
static double miss(const double *b, double x, double y)
{
    double dx = fmax(fmax(b[0] - x, x - b[2]), 0), dy = fmax(fmax(b[1] - y, y - b[3]), 0);
    return fmax(dx, dy);
}

/* Searches (x, y) and checks the visits against the scan. */
static void check_point(const pdb__ptree *t, double (*boxes)[4], size_t n, double x, double y)
{
    visits v = {calloc(n ? n : 1, 1), 0};
    assert_non_null(v.seen);
    assert_int_equal(pdb__ptree_search(t, x, y, mark, &v), 0);
    for (size_t i = 0; i < n; i++) {
        if (v.seen[i] > 1)
            fail_msg("box %zu visited %d times", i, v.seen[i]);
        if (holds(boxes[i], x, y) && !v.seen[i])
            fail_msg("box %zu holds (%.17g, %.17g) but was not visited", i, x, y);
        /* Floats near 105 degrees are 2^-17 = 7.6e-6 apart: the box's edge
         * and the point's float interval may each add one step. */
        if (v.seen[i] && miss(boxes[i], x, y) > 2 * 0x1p-17)
            fail_msg("box %zu visited, %.3g degrees away", i, miss(boxes[i], x, y));
    }
    free(v.seen);
}

/* Boxes of parcel size over a commune-sized area near Viet Tri. */
static double (*parcel_boxes(size_t n, uint64_t seed))[4]
{
    double (*b)[4] = malloc((n ? n : 1) * sizeof *b);
    for (size_t i = 0; i < n; i++) {
        double x = 105.3 + 0.05 * rnd(&seed), y = 21.2 + 0.05 * rnd(&seed);
        double w = 2e-4 * rnd(&seed), h = 2e-4 * rnd(&seed);
        b[i][0] = x;
        b[i][1] = y;
        b[i][2] = x + w;
        b[i][3] = y + h;
    }
    return b;
}

static void test_every_holding_box_is_found(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 15, 16, 17, 255, 256, 257, 5278};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        uint64_t seed = 42 + n;
        double (*b)[4] = parcel_boxes(n, seed);
        pdb__ptree t;
        assert_int_equal(pdb__ptree_build(&t, b, sizeof b[0], n), 0);
        assert_int_equal(t.count, n);
        assert_true(pdb__ptree_bytes(&t) >= n * 16);
        /* Random points, and each box's corners and the doubles beside
         * them: inside by one ulp, outside by one ulp. */
        for (int k = 0; k < 300; k++)
            check_point(&t, b, n, 105.3 + 0.05 * rnd(&seed), 21.2 + 0.05 * rnd(&seed));
        for (size_t i = 0; i < n && i < 300; i++)
            for (int c = 0; c < 4; c++) {
                double x = b[i][c & 1 ? 2 : 0], y = b[i][c & 2 ? 3 : 1];
                check_point(&t, b, n, x, y);
                check_point(&t, b, n, nextafter(x, -INFINITY), y);
                check_point(&t, b, n, nextafter(x, INFINITY), y);
                check_point(&t, b, n, x, nextafter(y, -INFINITY));
                check_point(&t, b, n, x, nextafter(y, INFINITY));
            }
        pdb__ptree_free(&t);
        free(b);
    }
}

/* Boxes that cannot hold anything are never visited; a NaN point meets
 * nothing; an empty tree is valid. */
static void test_empty_and_bad_boxes(void **state)
{
    (void)state;
    double b[4][4] = {
        {105.0, 21.0, 105.1, 21.1},
        {105.1, 21.1, 105.0, 21.0}, /* min > max */
        {NAN, 21.0, 105.1, 21.1},
        {105.0, 21.0, 105.0, 21.0}, /* a point box */
    };
    pdb__ptree t;
    visits v = {calloc(4, 1), 0};
    assert_int_equal(pdb__ptree_build(&t, b, sizeof b[0], 4), 0);
    assert_int_equal(pdb__ptree_search(&t, 105.05, 21.05, mark, &v), 0);
    assert_int_equal(v.count, 1);
    assert_int_equal(v.seen[0], 1);
    memset(v.seen, 0, 4);
    v.count = 0;
    assert_int_equal(pdb__ptree_search(&t, 105.0, 21.0, mark, &v), 0);
    assert_int_equal(v.count, 2); /* box 0's corner and the point box */
    assert_int_equal(v.seen[3], 1);
    v.count = 0;
    assert_int_equal(pdb__ptree_search(&t, NAN, 21.05, mark, &v), 0);
    assert_int_equal(v.count, 0);
    pdb__ptree_free(&t);

    assert_int_equal(pdb__ptree_build(&t, b, sizeof b[0], 0), 0);
    assert_int_equal(pdb__ptree_search(&t, 105.05, 21.05, mark, &v), 0);
    assert_int_equal(v.count, 0);
    assert_int_equal(pdb__ptree_bytes(&t), 0);
    pdb__ptree_free(&t);
    free(v.seen);
}

static int stop_at_first(void *arg, size_t i)
{
    *(size_t *)arg = i;
    return 7;
}

/* The visitor's nonzero return ends the search and is returned. */
static void test_visitor_stops_the_search(void **state)
{
    (void)state;
    double (*b)[4] = parcel_boxes(1000, 9);
    for (size_t i = 0; i < 1000; i++) { /* all overlapping one point */
        b[i][0] = fmin(b[i][0], 105.30);
        b[i][1] = fmin(b[i][1], 21.20);
    }
    pdb__ptree t;
    size_t first = SIZE_MAX;
    assert_int_equal(pdb__ptree_build(&t, b, sizeof b[0], 1000), 0);
    assert_int_equal(pdb__ptree_search(&t, 105.30, 21.20, stop_at_first, &first), 7);
    assert_true(first < 1000);
    pdb__ptree_free(&t);
    free(b);
}

/* The build leaves the caller's rounding mode as it found it, whichever
 * it was. */
static void test_build_keeps_the_rounding_mode(void **state)
{
    (void)state;
    double (*b)[4] = parcel_boxes(100, 3);
    static const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
    for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
        pdb__ptree t;
        assert_int_equal(fesetround(modes[m]), 0);
        assert_int_equal(pdb__ptree_build(&t, b, sizeof b[0], 100), 0);
        int after = fegetround();
        fesetround(FE_TONEAREST);
        assert_int_equal(after, modes[m]);
        pdb__ptree_free(&t);
    }
    free(b);
}

/* Hilbert keys: neighbours get near keys, and non-finite boxes key 0. */
static void test_hilbert_keys(void **state)
{
    (void)state;
    double ext[4] = {105.0, 21.0, 106.0, 22.0};
    double a[4] = {105.0, 21.0, 105.0, 21.0}, c[4] = {NAN, 21.0, 105.0, 21.0};
    assert_int_equal(pdb__hilbert_box(a, ext), 0);
    assert_int_equal(pdb__hilbert_box(c, ext), 0);
    assert_int_equal(pdb__hilbert(0, 0), 0);
    /* The curve visits every cell once: the 2x2 corner cells get 0..3. */
    uint64_t seen = 0;
    for (uint32_t x = 0; x < 2; x++)
        for (uint32_t y = 0; y < 2; y++)
            seen |= 1ull << pdb__hilbert(x, y);
    assert_int_equal(seen, 0xf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_holding_box_is_found),
        cmocka_unit_test(test_empty_and_bad_boxes),
        cmocka_unit_test(test_visitor_stops_the_search),
        cmocka_unit_test(test_build_keeps_the_rounding_mode),
        cmocka_unit_test(test_hilbert_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
