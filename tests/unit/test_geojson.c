/*
 * test_geojson.c: the GeoJSON writer (engine/src/geojson.c) writes what
 * jansson wrote before it (json_dumps, JSON_COMPACT, precision 15): its
 * numbers are held to jansson's on millions of values, its documents to
 * jansson's reading and rewriting of them, its refusals to jansson's.
 * Geometries are WKB written by OGR.
 */
#include "geojson.h"
#include "wkb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <jansson.h>
#include <math.h>
#include <ogr_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

/* jansson's text for a real: the reference. */
static void jansson_real(double v, char *out, size_t cap)
{
    json_t *j = json_real(v);
    assert_non_null(j);
    char *s = json_dumps(j, DUMP_FLAGS | JSON_ENCODE_ANY);
    assert_non_null(s);
    snprintf(out, cap, "%s", s);
    free(s);
    json_decref(j);
}

/* What the writer printed for a coordinate before: round to 1e-9, then jansson. */
static void jansson_coord(double v, char *out, size_t cap)
{
    double r = round(v * 1e9) / 1e9;
    jansson_real(isfinite(r) ? r : v, out, cap);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t next_u64(void)
{
    /* splitmix64: a fixed sequence, so a failure can be reproduced. */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double uniform(double a, double b)
{
    return a + (b - a) * ((double)(next_u64() >> 11) / 9007199254740992.0);
}

static void check_real(double v)
{
    char want[64], got[PDB__JSON_REAL_MAX];
    jansson_real(v, want, sizeof want);
    size_t n = pdb__json_real(v, got);
    if (strcmp(want, got) != 0 || n != strlen(got))
        fail_msg("real %.17g: jansson \"%s\", writer \"%s\" (length %zu)", v, want, got, n);
}

static void check_coord(double v)
{
    if (!isfinite(v))
        return; /* the WKB reader refuses those */
    char want[64], got[PDB__JSON_REAL_MAX];
    jansson_coord(v, want, sizeof want);
    size_t n = pdb__json_coord(v, got);
    if (strcmp(want, got) != 0 || n != strlen(got))
        fail_msg("coordinate %.17g: jansson \"%s\", writer \"%s\" (length %zu)", v, want, got, n);
}

/* Values where a formatter goes wrong: signs, zeros, powers of ten and the
 * edges of the integer path (1e-4, 1e6, 1e15 after scaling), halves. */
static const double edges[] = {0.0,
                               -0.0,
                               1.0,
                               -1.0,
                               0.5,
                               1e-9,
                               -1e-9,
                               4e-10,
                               5e-10,
                               6e-10,
                               -4e-10,
                               1e-5,
                               9.9999999e-5,
                               1e-4,
                               1.00000001e-4,
                               0.1,
                               0.3,
                               999999.999999999,
                               1e6,
                               1000000.000000001,
                               5e6,
                               9007199.254740992,
                               1e15,
                               1e16,
                               1e21,
                               1e299,
                               1.7976931348623157e308,
                               -1.7976931348623157e308,
                               4.9406564584124654e-324,
                               2.2250738585072014e-308,
                               105.0,
                               -180.0,
                               180.0,
                               90.0,
                               -90.0,
                               105.1234567895,
                               105.1234567885,
                               21.000000000499999,
                               21.0000000005,
                               567440.313,
                               2358740.139,
                               194.58,
                               0.015};

static void test_real_matches_jansson(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        check_real(edges[i]);
        check_real(-edges[i]);
    }
    for (int i = 0; i < 300000; i++) {
        /* Any finite double, from its bits. */
        double v;
        uint64_t bits = next_u64();
        memcpy(&v, &bits, sizeof v);
        if (isfinite(v))
            check_real(v);
        /* Areas in m2 with 0 to 3 decimals, and short decimals. */
        check_real(round(uniform(0, 1e6) * 100) / 100);
        check_real((double)(int64_t)(next_u64() % 2000001) / 1000 - 1000);
        /* Decimals of up to 17 digits with 0 to 11 of them after the
         * point: the writer's integer path and the edges of it. */
        static const double p10[] = {1,   1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,
                                     1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17};
        double digits = p10[1 + next_u64() % 17];
        check_real((double)(next_u64() % (uint64_t)digits) / p10[next_u64() % 12]);
    }
}

static void test_coord_matches_jansson(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        check_coord(edges[i]);
        check_coord(-edges[i]);
        check_coord(nextafter(edges[i], INFINITY));
        check_coord(nextafter(edges[i], -INFINITY));
    }
    for (int i = 0; i < 1000000; i++) {
        check_coord(uniform(-180, 180)); /* lon/lat, as served */
        check_coord(uniform(-1e-3, 1e-3));
        /* Halfway between two 1e-9 steps, where rounding decides. */
        check_coord((double)(int64_t)(next_u64() % 360000000000ull - 180000000000ll) / 1e9 + 5e-10);
        /* Projected sizes, past the integer path, and any bits. */
        check_coord(uniform(-1e8, 1e8));
        double v;
        uint64_t bits = next_u64();
        memcpy(&v, &bits, sizeof v);
        if (isfinite(v))
            check_coord(v);
    }
}

/* ISO WKB of a WKT, written by OGR (caller frees). */
static unsigned char *ogr_wkb(const char *wkt, size_t *len)
{
    OGRGeometryH g = NULL;
    char *text = (char *)wkt;
    assert_int_equal(OGR_G_CreateFromWkt(&text, NULL, &g), OGRERR_NONE);
    *len = (size_t)OGR_G_WkbSize(g);
    unsigned char *wkb = malloc(*len);
    OGR_G_ExportToIsoWkb(g, wkbNDR, wkb);
    OGR_G_DestroyGeometry(g);
    return wkb;
}

/* The members of an object, in order, against a list. */
static void assert_keys(const json_t *obj, const char *const *keys, size_t n)
{
    size_t i = 0;
    for (void *it = json_object_iter((json_t *)obj); it;
         it = json_object_iter_next((json_t *)obj, it), i++) {
        assert_true(i < n);
        assert_string_equal(json_object_iter_key(it), keys[i]);
    }
    assert_int_equal(i, n);
}

/* text must be what jansson writes for what it reads from text: the same
 * escapes, the same number forms, the same order. */
static json_t *as_jansson_writes_it(const char *text)
{
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    if (doc == NULL)
        fail_msg("not JSON (%s): %s", err.text, text);
    char *again = json_dumps(doc, DUMP_FLAGS);
    assert_non_null(again);
    assert_string_equal(again, text);
    free(again);
    return doc;
}

static void test_feature_as_jansson_wrote_it(void **state)
{
    pdb_ctx *ctx = *state;
    size_t len;
    /* The first exterior clockwise (written reversed), a hole, a second
     * part; coordinates with more than 9 decimals, an integer one. */
    unsigned char *wkb = ogr_wkb("MULTIPOLYGON (((105.1 21.1,105.1 21.2000000004,"
                                 "105.2000000006 21.2,105.2 21.1,105.1 21.1),"
                                 "(105.12 21.12,105.13 21.12,105.13 21.13,105.12 21.12)),"
                                 "((105 21,105.0001 21,105.0001 21.0001,105 21)))",
                                 &len);
    static const char *const prop_keys[] = {
        "commune",          "commune_name",  "former_commune", "sheet",        "parcel",
        "landuse",          "landuse_codes", "landuse_main",   "landuse_name", "area_surveyed_m2",
        "area_computed_m2", "address",       "valid_from",     "valid_to",     "flags",
        "source_srid",      "batch",         "owner"};
    static const char *const feature_keys[] = {"type", "id", "geometry", "properties"};
    pdb_parcel p;
    memset(&p, 0, sizeof p);
    p.id = 123456789012345LL;
    p.commune = "08707";
    p.sheet = "12\"a\\b/c";
    p.parcel = "3\x01\x1f\x7f\b\f\n\r\t";
    p.landuse = "ONT++CLN+" /* an empty code too */;
    p.address = "Tổ 6, Phường Tân Hòa 😀";
    p.owner = "Trần Thị Thủy";
    p.valid_from = "2025-01-01";
    p.area_surveyed_m2 = NAN;
    p.area_computed_m2 = 400.255;
    p.source_srid = 9208;
    p.batch_id = 3;
    p.flags = PDB_PARCEL_DUPLICATE_NUMBER | PDB_PARCEL_WGS84_REPAIRED;
    p.wgs84_wkb = wkb;
    p.wgs84_wkb_len = len;

    for (int personal = 0; personal <= 1; personal++) {
        char *text = NULL;
        assert_int_equal(pdb_parcel_to_geojson(ctx, &p, personal, &text), PDB_OK);
        json_t *doc = as_jansson_writes_it(text);
        assert_keys(doc, feature_keys, 4);
        json_t *props = json_object_get(doc, "properties");
        assert_keys(props, prop_keys, personal ? 18 : 17);
        assert_int_equal(json_integer_value(json_object_get(doc, "id")), p.id);
        assert_string_equal(json_string_value(json_object_get(props, "sheet")), p.sheet);
        assert_string_equal(json_string_value(json_object_get(props, "parcel")), p.parcel);
        assert_string_equal(json_string_value(json_object_get(props, "address")), p.address);
        assert_true(json_is_null(json_object_get(props, "former_commune")));
        assert_true(json_is_null(json_object_get(props, "area_surveyed_m2")));
        assert_true(json_real_value(json_object_get(props, "area_computed_m2")) == 400.26);
        assert_string_equal(json_string_value(json_object_get(props, "landuse_main")), "ONT");
        json_t *codes = json_object_get(props, "landuse_codes");
        assert_int_equal(json_array_size(codes), 3);
        assert_string_equal(json_string_value(json_array_get(codes, 1)), "");
        assert_int_equal(json_array_size(json_object_get(props, "flags")), 2);
        assert_string_equal(json_string_value(json_object_get(props, "source_srid")), "EPSG:9208");
        if (personal)
            assert_string_equal(json_string_value(json_object_get(props, "owner")), p.owner);
        else
            assert_null(strstr(text, "Thủy"));
        /* The escapes as jansson writes them, and rounded coordinates. */
        assert_non_null(strstr(text, "\"parcel\":\"3\\u0001\\u001F\x7f\\b\\f\\n\\r\\t\""));
        assert_non_null(strstr(text, "[105.1,21.2]"));
        assert_non_null(strstr(text, "[105.200000001,21.2]"));
        assert_non_null(strstr(text, "[105.0,21.0]"));
        /* RFC 7946: the first exterior counter-clockwise, as rewritten. */
        assert_non_null(strstr(text, "[[[[105.1,21.1],[105.2,21.1],[105.200000001,21.2]"));
        json_decref(doc);
        pdb_free(text);
    }

    /* A list: the FeatureCollection, truncated or not. */
    pdb_parcel items[2] = {p, p};
    items[1].wgs84_wkb = NULL;
    items[1].id = -5;
    pdb_parcel_list list = {.items = items, .count = 2};
    for (int truncated = 0; truncated <= 1; truncated++) {
        char *text = NULL;
        list.truncated = truncated;
        assert_int_equal(pdb_parcels_to_geojson(ctx, &list, 0, &text), PDB_OK);
        json_t *doc = as_jansson_writes_it(text);
        static const char *const fc_keys[] = {"type", "features", "truncated"};
        assert_keys(doc, fc_keys, truncated ? 3 : 2);
        json_t *f = json_array_get(json_object_get(doc, "features"), 1);
        assert_true(json_is_null(json_object_get(f, "geometry")));
        json_decref(doc);
        pdb_free(text);
    }
    list.count = 0;
    list.truncated = 0;
    char *text = NULL;
    assert_int_equal(pdb_parcels_to_geojson(ctx, &list, 0, &text), PDB_OK);
    assert_string_equal(text, "{\"type\":\"FeatureCollection\",\"features\":[]}");
    pdb_free(text);
    free(wkb);
}

/* Integers (id, batch, source SRID) as jansson wrote them, at their
 * extremes too: the writer formats them without printf. */
static void test_integers_as_jansson_wrote_them(void **state)
{
    pdb_ctx *ctx = *state;
    static const long long values[] = {0,
                                       1,
                                       -1,
                                       9,
                                       10,
                                       -10,
                                       99,
                                       100,
                                       4326,
                                       9208,
                                       2147483647LL,
                                       -2147483647LL - 1,
                                       123456789012345LL,
                                       INT64_MAX,
                                       INT64_MIN};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        pdb_parcel p;
        char *text = NULL;
        memset(&p, 0, sizeof p);
        p.id = values[i];
        p.batch_id = values[i];
        p.source_srid = (int)(values[i] >= INT32_MIN && values[i] <= INT32_MAX ? values[i] : 7);
        assert_int_equal(pdb_parcel_to_geojson(ctx, &p, 0, &text), PDB_OK);
        json_t *doc = as_jansson_writes_it(text);
        json_t *props = json_object_get(doc, "properties");
        assert_int_equal(json_integer_value(json_object_get(doc, "id")), values[i]);
        assert_int_equal(json_integer_value(json_object_get(props, "batch")), values[i]);
        if (p.source_srid != 0) {
            char want[32];
            snprintf(want, sizeof want, "EPSG:%d", p.source_srid);
            assert_string_equal(json_string_value(json_object_get(props, "source_srid")), want);
        } else {
            assert_true(json_is_null(json_object_get(props, "source_srid")));
        }
        json_decref(doc);
        pdb_free(text);
    }
}

/* Text jansson's json_string refuses is refused, and only that. */
static void test_refuses_what_jansson_refuses(void **state)
{
    pdb_ctx *ctx = *state;
    static const char *const texts[] = {"Nguy\xD4n",        /* TCVN3 bytes */
                                        "\xC0\xAF",         /* overlong '/' */
                                        "\xE0\x80\xAF",     /* overlong, 3 bytes */
                                        "\xF0\x80\x80\xAF", /* overlong, 4 bytes */
                                        "\xED\xA0\x80",     /* a surrogate */
                                        "\xF4\x90\x80\x80", /* past U+10FFFF */
                                        "\xF5\x80\x80\x80", /* no such lead byte */
                                        "abc\xE1\xBA",      /* cut short */
                                        "\x80",             /* a lone continuation */
                                        "\xEF\xBF\xBF",     /* U+FFFF: accepted */
                                        "\xF4\x8F\xBF\xBF", /* U+10FFFF: accepted */
                                        "\xE2\x80\xA8 \xC2\x80" /* U+2028, U+0080: accepted */};
    pdb_parcel p;
    memset(&p, 0, sizeof p);
    p.commune = "08707";
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        json_t *ref = json_string(texts[i]);
        char *text = NULL;
        p.address = (char *)texts[i];
        p.owner = NULL;
        pdb_status st = pdb_parcel_to_geojson(ctx, &p, 0, &text);
        if (ref == NULL) {
            assert_int_equal(st, PDB_EINVAL);
            assert_null(text);
            assert_non_null(strstr(pdb_errmsg(ctx), "not UTF-8"));
        } else {
            assert_int_equal(st, PDB_OK);
            json_decref(as_jansson_writes_it(text));
            pdb_free(text);
        }
        /* An owner: refused only when it is written. */
        p.address = NULL;
        p.owner = (char *)texts[i];
        assert_int_equal(pdb_parcel_to_geojson(ctx, &p, 0, &text), PDB_OK);
        pdb_free(text);
        st = pdb_parcel_to_geojson(ctx, &p, 1, &text);
        assert_int_equal(st, ref == NULL ? PDB_EINVAL : PDB_OK);
        pdb_free(text);
        json_decref(ref);
    }
}

/* One context for the whole group. */
static int group_setup(void **state)
{
    return pdb_ctx_new((pdb_ctx **)state) == PDB_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    pdb_ctx_free(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_matches_jansson),
        cmocka_unit_test(test_coord_matches_jansson),
        cmocka_unit_test(test_feature_as_jansson_wrote_it),
        cmocka_unit_test(test_integers_as_jansson_wrote_them),
        cmocka_unit_test(test_refuses_what_jansson_refuses),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
