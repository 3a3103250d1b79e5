/*
 * test_server_parse.c: the server's request parser (tiler/server/parse.c):
 * routes, tile numbers, percent-decoding, the repeated-parameter rule,
 * number and box checks, ETag matching, bearer tokens and the access-log
 * path. Each malformed input is one case; none may crash or be accepted.
 */
#include "parse.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four above, which it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pdb_srv_request req;
static char err[256];

static int parse(const char *uri)
{
    pdb_srv_parse_limits lim = {.max_zoom = 20};
    return pdb_srv_request_parse(uri, &lim, &req, err, sizeof err);
}

static void test_routes(void **state)
{
    (void)state;
    assert_int_equal(parse("/"), 0);
    assert_int_equal(req.route, PDB_SRV_ROUTE_STATIC);
    assert_string_equal(req.file, "index.html");
    assert_int_equal(parse("/leaflet/images/marker-icon.png"), 0);
    assert_int_equal(req.route, PDB_SRV_ROUTE_STATIC);
    assert_string_equal(req.file, "leaflet/images/marker-icon.png");
    assert_int_equal(parse("/tiles.json"), 0);
    assert_int_equal(req.route, PDB_SRV_ROUTE_TILEJSON);
    assert_int_equal(parse("/parcels/at?lon=105.4&lat=21.3"), 0);
    assert_int_equal(req.route, PDB_SRV_ROUTE_PARCELS_AT);
    assert_string_equal(pdb_srv_param_get(&req, "lon"), "105.4");
    assert_string_equal(pdb_srv_param_get(&req, "lat"), "21.3");
    assert_null(pdb_srv_param_get(&req, "e"));
    assert_int_equal(parse("/parcels?bbox=1,2,3,4&limit=5"), 0);
    assert_int_equal(req.route, PDB_SRV_ROUTE_PARCELS_BBOX);
    assert_int_equal(parse("/parcels/08707/12a/345"), 0);
    assert_int_equal(req.route, PDB_SRV_ROUTE_PARCEL_NUMBER);
    assert_string_equal(req.commune, "08707");
    assert_string_equal(req.sheet, "12a");
    assert_string_equal(req.parcel, "345");
    assert_int_equal(parse("/communes"), 0);
    assert_int_equal(req.route, PDB_SRV_ROUTE_COMMUNES);
    assert_int_equal(parse("/health"), 0);
    assert_int_equal(req.route, PDB_SRV_ROUTE_HEALTH);
    assert_int_equal(parse("/metrics"), 0);
    assert_int_equal(req.route, PDB_SRV_ROUTE_METRICS);
    assert_string_equal(pdb_srv_route_name(PDB_SRV_ROUTE_TILE), "tile");
    assert_string_equal(pdb_srv_route_name((pdb_srv_route)99), "other");
}

/* The lineage and change routes (issue 16), and the path test http.c uses
 * to decide whether to read a body. */
static void test_change_routes(void **state)
{
    (void)state;
    assert_int_equal(parse("/parcels/07894/12/5/lineage"), 0);
    assert_int_equal(req.route, PDB_SRV_ROUTE_LINEAGE);
    assert_string_equal(req.parcel, "5");
    assert_int_equal(parse("/parcels/07894/12/5/split"), 0);
    assert_int_equal(req.route, PDB_SRV_ROUTE_CHANGE);
    assert_string_equal(req.action, "split");
    assert_string_equal(req.commune, "07894");
    assert_int_equal(parse("/parcels/07894/12/5/reshape"), 0);
    assert_string_equal(req.action, "reshape");
    assert_int_equal(parse("/parcels/07894/12/5/update"), 0);
    assert_string_equal(req.action, "update");
    assert_int_equal(parse("/parcels/merge"), 0);
    assert_int_equal(req.route, PDB_SRV_ROUTE_CHANGE);
    assert_string_equal(req.action, "merge");
    assert_int_equal(parse("/parcels/07894/12/5/delete"), 404);
    assert_int_equal(parse("/parcels/7894/12/5/split"), 400);
    assert_string_equal(pdb_srv_route_name(PDB_SRV_ROUTE_CHANGE), "parcel_change");
    assert_true(pdb_srv_uri_is_change("/parcels/07894/12/5/split"));
    assert_true(pdb_srv_uri_is_change("/parcels/07894/12/5/update?x=1"));
    assert_true(pdb_srv_uri_is_change("/parcels/merge"));
    assert_false(pdb_srv_uri_is_change("/parcels/merge/x"));
    assert_false(pdb_srv_uri_is_change("/parcels/07894/12/5/lineage"));
    assert_false(pdb_srv_uri_is_change("/parcels/split"));
    assert_false(pdb_srv_uri_is_change("/health"));
    assert_false(pdb_srv_uri_is_change("/tiles/split"));
}

static void test_tiles(void **state)
{
    (void)state;
    assert_int_equal(parse("/tiles/0/0/0.png"), 0);
    assert_int_equal(req.route, PDB_SRV_ROUTE_TILE);
    assert_int_equal(req.z, 0);
    assert_int_equal(req.scale, 1);
    assert_int_equal(parse("/tiles/17/103913/57587@2x.png"), 0);
    assert_int_equal(req.z, 17);
    assert_int_equal(req.x, 103913);
    assert_int_equal(req.y, 57587);
    assert_int_equal(req.scale, 2);
    assert_int_equal(parse("/tiles/20/1048575/1048575.png"), 0);
    assert_int_equal(req.mvt, 0);
    assert_int_equal(parse("/tiles/16/51954/28802.mvt"), 0);
    assert_int_equal(req.route, PDB_SRV_ROUTE_TILE);
    assert_int_equal(req.mvt, 1);
    assert_int_equal(req.z, 16);
    assert_int_equal(req.x, 51954);
    assert_int_equal(req.y, 28802);
    assert_int_equal(req.scale, 1);
    assert_int_equal(parse("/tiles.mvt.json"), 0);
    assert_int_equal(req.route, PDB_SRV_ROUTE_MVT_TILEJSON);
    assert_int_equal(parse("/styles/landuse.json"), 0);
    assert_int_equal(req.route, PDB_SRV_ROUTE_STYLE);
    assert_string_equal(pdb_srv_route_name(PDB_SRV_ROUTE_STYLE), "style");
    /* Glyphs, as MapLibre asks for them: a font stack (decoded), 256 code
     * points from a multiple of 256. */
    assert_int_equal(parse("/fonts/DejaVu%20Sans%20Bold,Open%20Sans/7680-7935.pbf"), 0);
    assert_int_equal(req.route, PDB_SRV_ROUTE_GLYPHS);
    assert_string_equal(req.fontstack, "DejaVu Sans Bold,Open Sans");
    assert_int_equal(req.glyph_start, 7680);
    assert_string_equal(pdb_srv_route_name(PDB_SRV_ROUTE_GLYPHS), "glyphs");
    assert_int_equal(parse("/fonts/DejaVu%20Sans/1-256.pbf"), 404);
    assert_int_equal(parse("/fonts/DejaVu%20Sans/0-256.pbf"), 404);
    assert_int_equal(parse("/fonts/DejaVu%20Sans/0-255.png"), 404);
    assert_int_equal(parse("/fonts/DejaVu%20Sans/65280-65535.pbfx"), 404);
    assert_int_equal(parse("/fonts/DejaVu%20Sans/-256-0.pbf"), 404);
    assert_int_equal(parse("/fonts/a%2Fb/0-255.pbf"), 400);
    assert_int_equal(parse("/fonts/a%0Ab/0-255.pbf"), 400);
    /* Out of range, negative, non-numeric, huge, malformed: all 400. */
    const char *bad[] = {
        "/tiles/21/0/0.png",
        "/tiles/3/8/0.png",
        "/tiles/3/0/8.png",
        "/tiles/-1/0/0.png",
        "/tiles/1/-1/0.png",
        "/tiles/a/0/0.png",
        "/tiles/1/0/b.png",
        "/tiles/1/0/0.jpg",
        "/tiles/1/0/0",
        "/tiles/1/0/.png",
        "/tiles/1/0/@2x.png",
        "/tiles/1/0/0@3x.png",
        "/tiles/+1/0/0.png",
        "/tiles/1/0x1/0.png",
        "/tiles/1/ 0/0.png",
        "/tiles/99999999999999999999999/0/0.png",
        "/tiles/20/99999999999999999999999/0.png",
        "/tiles/20/0/18446744073709551616.png",
        "/tiles/1/1e0/0.png",
        "/tiles/1/0/0.png.png",
        "/tiles/1/0/0@2x.mvt",
        "/tiles/1/0/0.png.mvt",
        "/tiles/1/0/.mvt",
        "/tiles/1/0/0.mvt.png",
        "/tiles/1/0/0x.mvt",
        "/tiles/1/2/0.mvt",
        "/tiles/21/0/0.mvt",
        "/tiles/1/0/0.MVT",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int st = parse(bad[i]);
        if (st != 400)
            fail_msg("%s gave %d, want 400 (%s)", bad[i], st, err);
        assert_int_equal(req.route, PDB_SRV_ROUTE_OTHER);
        assert_true(err[0] != '\0');
    }
    /* Wrong shapes are "no such path". */
    assert_int_equal(parse("/tiles/1/0.png"), 404);
    assert_int_equal(parse("/tiles/1/0/0/0.png"), 404);
    assert_int_equal(parse("/tiles/"), 404);
    /* The zoom limit follows the configured maximum. */
    pdb_srv_parse_limits lim = {.max_zoom = 12};
    assert_int_equal(pdb_srv_request_parse("/tiles/13/0/0.png", &lim, &req, err, sizeof err), 400);
    lim.max_zoom = 99; /* clamped to the scheme's 24 */
    assert_int_equal(pdb_srv_request_parse("/tiles/25/0/0.png", &lim, &req, err, sizeof err), 400);
    assert_int_equal(pdb_srv_request_parse("/tiles/24/16777215/0.png", &lim, &req, err, sizeof err),
                     0);
}

static void test_decoding(void **state)
{
    (void)state;
    assert_int_equal(parse("/parcels/08707/12%20a/1%2F2"), 0); /* %2F stays in the segment */
    assert_string_equal(req.sheet, "12 a");
    assert_string_equal(req.parcel, "1/2");
    assert_int_equal(parse("/parcels/at?zone=104%2D45&x=1+2"), 0);
    assert_string_equal(pdb_srv_param_get(&req, "zone"), "104-45");
    assert_string_equal(pdb_srv_param_get(&req, "x"), "1 2");
    assert_int_equal(parse("/parcels/at?flag&lon=&&lat=1"), 0); /* empty pairs skipped */
    assert_string_equal(pdb_srv_param_get(&req, "flag"), "");
    assert_string_equal(pdb_srv_param_get(&req, "lon"), "");
    assert_int_equal(req.nparams, 3);
    /* Unicode in a parcel number (UTF-8, percent-encoded) is data. */
    assert_int_equal(parse("/parcels/08707/%C4%91/1"), 0);
    assert_string_equal(req.sheet, "\xc4\x91");

    const struct {
        const char *uri;
        int status;
    } bad[] = {
        {"/%", 400},
        {"/%4", 400},
        {"/%zz", 400},
        {"/%00", 400},
        {"/a?x=%00", 400},
        {"/a?x=%", 400},
        {"/a?%41%=1", 400},
        {"/a?=1", 400},
        {"/.", 400},
        {"/..", 400},
        {"/a/../b", 400},
        {"/%2e%2e/etc/passwd", 400},
        {"/a b", 400},
        {"/a\tb", 400},
        {"/a\"b", 400},
        {"/a<b", 400},
        {"/a\x7f", 400},
        {"/a\xc3\xa9", 400},
        {"http://host/", 400},
        {"*", 400},
        {"", 400},
        {"/a/b/c/d/e/f/g/h/i", 404},
        {"/parcels/at/", 404},
        {"/communes/", 404},
        {"//", 404},
        {"/parcels/8707/1/1", 400},
        {"/parcels/0870a/1/1", 400},
        {"/parcels/08707/%20/1", 400},
        {"/parcels/08707/1/%0a", 400},
        {"/parcels/08707/1/123456789012345678901234567890123", 400},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int st = parse(bad[i].uri);
        if (st != bad[i].status)
            fail_msg("'%s' gave %d, want %d (%s)", bad[i].uri, st, bad[i].status, err);
    }
}

static void test_repeats_and_limits(void **state)
{
    (void)state;
    /* The rule: a parameter given twice is a 400, whatever the values. */
    assert_int_equal(parse("/parcels/at?lon=1&lat=2&lon=1"), 400);
    assert_non_null(strstr(err, "'lon'"));
    assert_int_equal(parse("/parcels/at?lon=1&lo%6E=2"), 400); /* the same name once decoded */
    assert_int_equal(parse("/parcels/at?a&a"), 400);

    char uri[PDB_SRV_MAX_URI + 64];
    strcpy(uri, "/parcels/at?");
    for (int i = 0; i < PDB_SRV_MAX_PARAMS; i++)
        sprintf(uri + strlen(uri), "p%d=1&", i);
    assert_int_equal(parse(uri), 0);
    strcat(uri, "one=more");
    assert_int_equal(parse(uri), 400);

    /* Exactly the maximum length parses; one more byte is a 414. */
    memset(uri, 'a', sizeof uri);
    uri[0] = '/';
    uri[PDB_SRV_MAX_URI] = '\0';
    assert_int_equal(parse(uri), 0); /* parsed: a file name the demo page does not have */
    assert_int_equal(req.route, PDB_SRV_ROUTE_STATIC);
    uri[PDB_SRV_MAX_URI] = 'a';
    uri[PDB_SRV_MAX_URI + 1] = '\0';
    assert_int_equal(parse(uri), 414);
    /* The buffer holds the worst case: every byte a parameter. */
    strcpy(uri, "/x?");
    while (strlen(uri) + 4 < PDB_SRV_MAX_URI)
        strcat(uri, "a&");
    assert_int_equal(parse(uri), 400); /* repeated 'a' */
}

static void test_numbers(void **state)
{
    (void)state;
    double d;
    uint64_t u;
    assert_int_equal(pdb_srv_parse_double("lon", "105.402", -180, 180, &d, err, sizeof err), 0);
    assert_true(d == 105.402);
    assert_int_equal(pdb_srv_parse_double("lon", "-1e2", -180, 180, &d, err, sizeof err), 0);
    assert_true(d == -100);
    const char *bad[] = {"",      "abc", "1,5",  " 1",    "1 ",
                         "inf",   "nan", "0x10", "1e400", "--1",
                         "1.2.3", "+-1", "181",  "1e3",   "123456789012345678901234567890123"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (pdb_srv_parse_double("lon", bad[i], -180, 180, &d, err, sizeof err) == 0)
            fail_msg("'%s' was accepted as a longitude", bad[i]);
    assert_int_equal(pdb_srv_parse_uint("limit", "100", 1000, &u, err, sizeof err), 0);
    assert_int_equal(u, 100);
    assert_int_equal(pdb_srv_parse_uint("limit", "1001", 1000, &u, err, sizeof err), -1);
    assert_int_equal(pdb_srv_parse_uint("limit", "-1", 1000, &u, err, sizeof err), -1);
    assert_int_equal(pdb_srv_parse_uint("limit", "1.0", 1000, &u, err, sizeof err), -1);
    assert_int_equal(
        pdb_srv_parse_uint("limit", "18446744073709551616", UINT64_MAX, &u, err, sizeof err), -1);
    assert_int_equal(
        pdb_srv_parse_uint("limit", "18446744073709551615", UINT64_MAX, &u, err, sizeof err), 0);
}

static void test_bbox(void **state)
{
    (void)state;
    double b[4];
    assert_int_equal(pdb_srv_parse_bbox("105.3,21.2,105.5,21.4", 0, b, err, sizeof err), 0);
    assert_true(b[0] == 105.3 && b[1] == 21.2 && b[2] == 105.5 && b[3] == 21.4);
    const char *bad[] = {"",        "1,2,3",   "1,2,3,4,5",   "2,1,1,2",   "1,2,2,1",
                         "1,1,1,1", "a,b,c,d", "181,0,182,1", "0,-91,1,0", "1,2,3,",
                         ",1,2,3",  "1;2;3;4", "nan,0,1,1",   "0,0,1,1 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (pdb_srv_parse_bbox(bad[i], 0, b, err, sizeof err) == 0)
            fail_msg("bbox '%s' was accepted", bad[i]);
    assert_int_equal(pdb_srv_parse_bbox("0,0,2,1", 1.0, b, err, sizeof err), -1);
    assert_int_equal(pdb_srv_parse_bbox("0,0,1,1", 1.0, b, err, sizeof err), 0);
}

static void test_etag(void **state)
{
    (void)state;
    const char *tag = "\"v12-ab\"";
    assert_true(pdb_srv_etag_matches("\"v12-ab\"", tag));
    assert_true(pdb_srv_etag_matches("W/\"v12-ab\"", tag));
    assert_true(pdb_srv_etag_matches("\"x\", \"v12-ab\"", tag));
    assert_true(pdb_srv_etag_matches("*", tag));
    assert_false(pdb_srv_etag_matches("\"v12-a\"", tag));
    assert_false(pdb_srv_etag_matches("\"v12-abc\"", tag));
    assert_false(pdb_srv_etag_matches("v12-ab", tag));
    assert_false(pdb_srv_etag_matches("\"v12-ab", tag));
    assert_false(pdb_srv_etag_matches("", tag));
    assert_false(pdb_srv_etag_matches(NULL, tag));
}

static void test_bearer(void **state)
{
    (void)state;
    const char *t;
    assert_int_equal(pdb_srv_bearer_token("Bearer abc.DEF-123_~+/==", &t), 17);
    assert_memory_equal(t, "abc.DEF-123_~+/==", 17);
    assert_int_equal(pdb_srv_bearer_token("bearer   tok  ", &t), 3);
    assert_int_equal(pdb_srv_bearer_token("Basic dXNlcjpwYXNz", &t), 0);
    assert_int_equal(pdb_srv_bearer_token("Bearer", &t), 0);
    assert_int_equal(pdb_srv_bearer_token("Bearer ", &t), 0);
    assert_int_equal(pdb_srv_bearer_token("Bearertok", &t), 0);
    assert_int_equal(pdb_srv_bearer_token("Bearer a b", &t), 0);
    assert_int_equal(pdb_srv_bearer_token("Bearer a=b", &t), 0);
    assert_int_equal(pdb_srv_bearer_token("Bearer \"a\"", &t), 0);
    assert_int_equal(pdb_srv_bearer_token(NULL, &t), 0);
}

static void test_log_path(void **state)
{
    (void)state;
    char out[64];
    pdb_srv_log_path("/parcels/at?lon=105.4&lat=21.3&name=Nguyen%20Van%20A", out, sizeof out);
    assert_string_equal(out, "/parcels/at?lon&lat&_");
    pdb_srv_log_path("/tiles/1/0/0.png", out, sizeof out);
    assert_string_equal(out, "/tiles/1/0/0.png");
    pdb_srv_log_path("/a\"b\\c", out, sizeof out);
    assert_string_equal(out, "/a\\x22b\\x5Cc");
    pdb_srv_log_path("/parcels?bbox=1,2,3,4&&limit=1", out, sizeof out);
    assert_string_equal(out, "/parcels?bbox&limit");
    char longuri[300];
    memset(longuri, 'x', sizeof longuri);
    longuri[0] = '/';
    longuri[299] = '\0';
    pdb_srv_log_path(longuri, out, sizeof out);
    assert_int_equal(strlen(out), sizeof out - 1);
    assert_string_equal(out + strlen(out) - 3, "...");
    pdb_srv_log_path("/", out, 4); /* too small for anything: empty, terminated */
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_tiles),
        cmocka_unit_test(test_change_routes),
        cmocka_unit_test(test_decoding),
        cmocka_unit_test(test_repeats_and_limits),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_bbox),
        cmocka_unit_test(test_etag),
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_log_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
