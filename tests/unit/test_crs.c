/*
 * test_crs.c: the coordinate module against PROJ's own tools: every
 * registered CRS against projinfo, transformations against cs2cs in both
 * directions, the pinned EPSG:6960 (and the refusal of anything else when
 * it is missing), the resolver's spellings, and the plausibility messages.
 */
#include "crs.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tu_assert.h"

#define MM 1e-3      /* metres: tolerance of projected coordinates */
#define NANODEG 1e-9 /* degrees: tolerance of geographic coordinates */

/* A place in WGS 84 degrees. */
typedef struct place {
    const char *name; /* for failure messages */
    double lon, lat;  /* WGS 84 degrees */
} place;

static const place viet_tri = {"Viet Tri", 105.4020, 21.3220};
static const place vinh_yen = {"Vinh Yen", 105.5970, 21.3090};
static const place hoa_binh = {"Hoa Binh", 105.3380, 20.8170};

/* The zones and geographic systems compared with cs2cs, each with places
 * inside its area of use (none in the Mekong delta blocks, where EPSG:5194
 * also applies and cs2cs might pick it per point). */
static const struct {
    int epsg;        /* the CRS */
    place places[3]; /* where to compare */
} comparisons[] = {
    {9208,
     {{"Viet Tri", 105.4020, 21.3220},
      {"Phu Tho", 105.2300, 21.4000},
      {"Lao Cai", 103.9700, 22.4800}}},
    {5897,
     {{"Vinh Yen", 105.5970, 21.3090},
      {"Ha Noi", 105.8542, 21.0285},
      {"Thanh Hoa", 105.7800, 19.8000}}},
    {9211,
     {{"Hoa Binh", 105.3380, 20.8170},
      {"Tuyen Quang", 105.2100, 21.8200},
      {"Dong Hoi", 106.6200, 17.4700}}},
    {3405,
     {{"Viet Tri", 105.4020, 21.3220}, {"Vinh", 105.6800, 18.6700}, {"Ca Mau", 105.1500, 9.1800}}},
    {3406,
     {{"Quy Nhon", 109.2200, 13.7700},
      {"Nha Trang", 109.1900, 12.2400},
      {"Da Nang", 108.2000, 16.0500}}},
    {4756,
     {{"Viet Tri", 105.4020, 21.3220},
      {"Ha Noi", 105.8542, 21.0285},
      {"Da Nang", 108.2000, 16.0500}}},
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

static int is_geographic(int epsg)
{
    return epsg == PDB_EPSG_WGS84 || epsg == PDB_EPSG_VN2000_GEOG;
}

static double tolerance(int epsg)
{
    return is_geographic(epsg) ? NANODEG : MM;
}

/* Runs cs2cs on one point given as x, y (lon/easting first, as parceldb
 * takes it), converting to and from the EPSG axis order cs2cs uses
 * (lat, lon for 4326 and 4756; easting, northing for the projections). */
static void cs2cs(int from, int to, double x, double y, double *out_x, double *out_y)
{
    double a = is_geographic(from) ? y : x, b = is_geographic(from) ? x : y;
    char *out = tu_capture("echo '%.10f %.10f' | cs2cs -f %%.10f EPSG:%d EPSG:%d", a, b, from, to);
    char *end1, *end2;

    if (out == NULL)
        fail_msg("cs2cs EPSG:%d EPSG:%d did not run", from, to);
    a = strtod(out, &end1);
    b = strtod(end1, &end2);
    if (end1 == out || end2 == end1 || !isfinite(a) || !isfinite(b))
        fail_msg("cs2cs EPSG:%d EPSG:%d answered \"%s\"", from, to, out);
    free(out);
    *out_x = is_geographic(to) ? b : a;
    *out_y = is_geographic(to) ? a : b;
}

/* Transforms one point with parceldb and with cs2cs, and compares. */
static void compare_with_cs2cs(pdb_ctx *ctx, int from, int to, double x, double y, const char *what)
{
    double ex, ey, px = x, py = y;

    cs2cs(from, to, x, y, &ex, &ey);
    if (pdb_crs_transform(ctx, from, to, &px, &py, 1) != PDB_OK)
        fail_msg("%s: EPSG:%d -> EPSG:%d: %s", what, from, to, pdb_errmsg(ctx));
    if (fabs(px - ex) > tolerance(to) || fabs(py - ey) > tolerance(to))
        fail_msg("%s: EPSG:%d -> EPSG:%d: parceldb (%.10f, %.10f), cs2cs (%.10f, %.10f)", what,
                 from, to, px, py, ex, ey);
}

/* Distance between two WGS 84 points, metres (haversine: enough for km). */
static double distance_m(double lon1, double lat1, double lon2, double lat2)
{
    const double r = 6371008.8, rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double h = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2.0 * r * asin(sqrt(h));
}

/* ------------------------------------------------------------------------ */
/* The registry against projinfo                                             */
/* ------------------------------------------------------------------------ */

static void test_registry_matches_projinfo(void **state)
{
    pdb_ctx *ctx = *state;
    size_t count = 0;
    const pdb_crs_info *list = pdb_crs_list(&count);

    assert_int_equal(count, 22); /* 4326, 4756, 5896-5899, 9205-9218, 3405, 3406 */
    for (size_t i = 0; i < count; i++) {
        const pdb_crs_info *r = &list[i];
        pdb_crs_info info;
        char *wkt = tu_capture("projinfo -q -o WKT2_2019 EPSG:%d", r->epsg);
        char expect[128];

        assert_non_null(wkt);
        snprintf(expect, sizeof expect, "%s[\"%s\",",
                 r->kind == PDB_CRS_GEOGRAPHIC ? "GEOGCRS" : "PROJCRS", r->name);
        if (strncmp(wkt, expect, strlen(expect)) != 0)
            fail_msg("EPSG:%d: registry says %s, projinfo says %.60s", r->epsg, expect, wkt);
        free(wkt);
        assert_int_equal(pdb_crs_info_get(ctx, r->epsg, &info), PDB_OK);
        assert_int_equal(info.epsg, r->epsg);
        assert_string_equal(info.name, r->name);
        assert_ptr_equal(pdb__crs_find(r->epsg), r);
        if (r->kind == PDB_CRS_GEOGRAPHIC) {
            assert_true(isnan(r->central_meridian_deg));
            assert_string_equal(r->zone, "");
            continue;
        }
        char *proj = tu_capture("projinfo -q -o PROJ EPSG:%d", r->epsg);
        assert_non_null(proj);
        if (r->kind == PDB_CRS_TM3) {
            /* TM-3: tmerc, k = 0.9999, false easting 500 km, the meridian. */
            const char *lon0 = strstr(proj, "+lon_0=");
            assert_contains(proj, "+proj=tmerc");
            assert_contains(proj, "+k=0.9999 ");
            assert_contains(proj, "+x_0=500000 ");
            assert_contains(proj, "+y_0=0 ");
            assert_non_null(lon0);
            assert_near(strtod(lon0 + 7, NULL), r->central_meridian_deg, 1e-12);
            /* "104-45" is 104 deg 45 min. */
            int deg = 0, min = 0;
            assert_int_equal(sscanf(r->zone, "%d-%d", &deg, &min), 2);
            assert_near(deg + min / 60.0, r->central_meridian_deg, 1e-12);
        } else {
            const char *zone = strstr(proj, "+zone=");
            assert_contains(proj, "+proj=utm");
            assert_non_null(zone);
            assert_near(-183.0 + 6.0 * strtod(zone + 6, NULL), r->central_meridian_deg, 1e-12);
            assert_int_equal(atoi(r->zone), atoi(zone + 6));
        }
        assert_contains(proj, "+towgs84="); /* a VN-2000 system */
        free(proj);
    }
}

static void test_info_unknown(void **state)
{
    pdb_ctx *ctx = *state;
    pdb_crs_info info;

    assert_int_equal(pdb_crs_info_get(ctx, 32648, &info), PDB_ECRS);
    assert_contains(pdb_errmsg(ctx), "EPSG:32648");
    assert_int_equal(pdb_crs_info_get(ctx, 0, &info), PDB_ECRS);
    assert_int_equal(pdb_crs_info_get(ctx, 9208, &info), PDB_OK);
    assert_int_equal(info.kind, PDB_CRS_TM3);
    assert_string_equal(info.zone, "104-45");
    assert_near(info.central_meridian_deg, 104.75, 0.0);
}

/* The commune registry: in code order (as data/phu-tho-communes.csv is,
 * and as a binary search would need), every code of the list found as
 * itself, and codes between, before and after them not. */
static void test_commune_registry(void **state)
{
    pdb_ctx *ctx = *state;
    size_t n = 0;
    const pdb_commune_ref *list = pdb_commune_ref_list(&n), *ref = NULL;

    assert_int_equal(n, 148);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            assert_true(strcmp(list[i - 1].code, list[i].code) < 0);
        assert_int_equal(pdb_commune_ref_find(ctx, list[i].code, &ref), PDB_OK);
        assert_ptr_equal(ref, &list[i]);
        /* One below each code: absent unless it is the previous code. */
        char below[24];
        snprintf(below, sizeof below, "%05ld", strtol(list[i].code, NULL, 10) - 1);
        if (i == 0 || strcmp(below, list[i - 1].code) != 0) {
            assert_int_equal(pdb_commune_ref_find(ctx, below, &ref), PDB_ENOTFOUND);
            assert_null(ref);
        }
    }
    assert_int_equal(pdb_commune_ref_find(ctx, "00000", &ref), PDB_ENOTFOUND);
    assert_int_equal(pdb_commune_ref_find(ctx, "99999", &ref), PDB_ENOTFOUND);
    assert_contains(pdb_errmsg(ctx), "not a commune of Phu Tho");
    assert_int_equal(pdb_commune_ref_find(ctx, "0790", &ref), PDB_EINVAL);
}

/* ------------------------------------------------------------------------ */
/* The resolver                                                              */
/* ------------------------------------------------------------------------ */

static void test_resolve_spellings(void **state)
{
    pdb_ctx *ctx = *state;
    static const struct {
        const char *text; /* as a user writes it */
        int epsg;         /* what it means */
    } cases[] = {
        {"EPSG:9208", 9208},
        {"epsg:9208", 9208},
        {"9208", 9208},
        {" EPSG:9208 ", 9208},
        {"Epsg : 9208", 9208},
        {"104-45", 9208},
        {"104.75", 9208},
        {"TM-3 104-45", 9208},
        {"tm3 104-45", 9208},
        {"VN-2000 / TM-3 104-45", 9208},
        {"105-00", 5897},
        {"105.0", 5897},
        {"105.00", 5897},
        {"TM-3 zone 482", 5897},
        {"VN-2000 / TM-3 zone 482", 5897},
        {"zone 482", 5897},
        {"106-00", 9211},
        {"106.0", 9211},
        {"zone 481", 5896},
        {"zone 491", 5898},
        {"107-45", 5899},
        {"107.75", 5899},
        {"105-30", 9209},
        {"48N", 3405},
        {"48n", 3405},
        {"UTM48N", 3405},
        {"UTM 48N", 3405},
        {"utm zone 48n", 3405},
        {"VN-2000 / UTM zone 49N", 3406},
        {"49N", 3406},
        {"VN-2000", 4756},
        {"VN2000", 4756},
        {"vn-2000", 4756},
        {"EPSG:4756", 4756},
        {"WGS84", 4326},
        {"WGS 84", 4326},
        {"wgs84", 4326},
        {"4326", 4326},
        {"EPSG:3405", 3405},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int epsg = -1;
        if (pdb_crs_resolve(ctx, cases[i].text, &epsg) != PDB_OK)
            fail_msg("\"%s\": %s", cases[i].text, pdb_errmsg(ctx));
        if (epsg != cases[i].epsg)
            fail_msg("\"%s\" resolved to %d, not %d", cases[i].text, epsg, cases[i].epsg);
    }
}

/* Every registered code, zone name and TM-3 meridian resolves to its own
 * entry: no two zones share a name or a meridian (105-00 is 5897 alone;
 * 9209 is 105-30). */
static void test_resolve_every_entry(void **state)
{
    pdb_ctx *ctx = *state;
    size_t count = 0;
    const pdb_crs_info *list = pdb_crs_list(&count);
    char text[64];
    int epsg;

    for (size_t i = 0; i < count; i++) {
        snprintf(text, sizeof text, "EPSG:%d", list[i].epsg);
        assert_int_equal(pdb_crs_resolve(ctx, text, &epsg), PDB_OK);
        assert_int_equal(epsg, list[i].epsg);
        snprintf(text, sizeof text, "%d", list[i].epsg);
        assert_int_equal(pdb_crs_resolve(ctx, text, &epsg), PDB_OK);
        assert_int_equal(epsg, list[i].epsg);
        assert_int_equal(pdb_crs_resolve(ctx, list[i].name, &epsg), PDB_OK);
        assert_int_equal(epsg, list[i].epsg);
        if (list[i].kind == PDB_CRS_GEOGRAPHIC)
            continue;
        assert_int_equal(pdb_crs_resolve(ctx, list[i].zone, &epsg), PDB_OK);
        assert_int_equal(epsg, list[i].epsg);
        if (list[i].kind == PDB_CRS_TM3) {
            snprintf(text, sizeof text, "%.4f", list[i].central_meridian_deg);
            assert_int_equal(pdb_crs_resolve(ctx, text, &epsg), PDB_OK);
            assert_int_equal(epsg, list[i].epsg);
        }
        for (size_t j = 0; j < count; j++)
            if (j != i && list[j].kind == list[i].kind) {
                assert_string_not_equal(list[j].zone, list[i].zone);
                if (list[i].kind == PDB_CRS_TM3)
                    assert_true(list[j].central_meridian_deg != list[i].central_meridian_deg);
            }
    }
}

static void test_resolve_unknown(void **state)
{
    pdb_ctx *ctx = *state;
    static const char *const bad[] = {
        "abc",
        "",
        "   ",
        "EPSG:",
        "EPSG:9208x",
        "EPSG:-9208",
        "104-46",
        "104.8",
        "105",
        "48S",
        "UTM50N",
        "UTM 104-45",
        "zone 483",
        "TM-3 48N",
        "EPSG:9999999999",
        "a very long name that is no coordinate reference system anybody ever used at all",
    };
    int epsg = 1;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (pdb_crs_resolve(ctx, bad[i], &epsg) != PDB_ECRS)
            fail_msg("\"%s\" resolved to %d", bad[i], epsg);
        assert_int_equal(epsg, 0);
        assert_int_equal(pdb_errcode(ctx), PDB_ECRS);
        assert_contains(pdb_errmsg(ctx), "EPSG:N"); /* how to write one */
        assert_contains(pdb_errmsg(ctx), "104-45");
    }
    /* A real code of another datum: named, so the user sees the mistake. */
    assert_int_equal(pdb_crs_resolve(ctx, "EPSG:32648", &epsg), PDB_ECRS);
    assert_contains(pdb_errmsg(ctx), "WGS 84 / UTM zone 48N");
    assert_contains(pdb_errmsg(ctx), "EPSG:3405");
    assert_int_equal(pdb_crs_resolve(ctx, "EPSG:2154", &epsg), PDB_ECRS); /* Lambert-93 */
    assert_contains(pdb_errmsg(ctx), "RGF93");
    assert_contains(pdb_errmsg(ctx), "EPSG:N");
    /* EPSG's deprecated zones had false easting and northing swapped. */
    assert_int_equal(pdb_crs_resolve(ctx, "EPSG:6957", &epsg), PDB_ECRS);
    assert_contains(pdb_errmsg(ctx), "deprecated");
    assert_contains(pdb_errmsg(ctx), "EPSG:5897");
    assert_int_equal(pdb_crs_resolve(ctx, NULL, &epsg), PDB_EINVAL);
}

/* ------------------------------------------------------------------------ */
/* The pinned operation                                                      */
/* ------------------------------------------------------------------------ */

/* cs2cs uses proj_create_crs_to_crs, which keeps the candidates that touch
 * the area and, per point, takes the first whose area contains it. For the
 * comparison to mean anything, that first candidate must be EPSG:6960's. */
static void test_cs2cs_uses_6960(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof comparisons / sizeof comparisons[0]; i++) {
        for (int dir = 0; dir < 2; dir++) {
            int from = dir ? comparisons[i].epsg : PDB_EPSG_WGS84;
            int to = dir ? PDB_EPSG_WGS84 : comparisons[i].epsg;
            char *out = tu_capture("projinfo -s EPSG:%d -t EPSG:%d --spatial-test intersects "
                                   "--summary 2>/dev/null",
                                   from, to);
            assert_non_null(out);
            char *first = strchr(out, '\n'); /* after "Candidate operations found: N" */
            assert_non_null(first);
            char *end = strchr(first + 1, '\n');
            if (end != NULL)
                *end = '\0';
            assert_contains(first, "VN-2000 to WGS 84 (2)");
            assert_null(strstr(first, "ballpark"));
            free(out);
        }
    }
    char *op = tu_capture("projinfo -k operation EPSG:6960 -o PROJ -q --single-line");
    assert_non_null(op);
    assert_contains(op, "+convention=coordinate_frame");
    free(op);
}

static void test_operation_names(void **state)
{
    pdb_ctx *ctx = *state;
    const char *name = NULL;

    assert_int_equal(pdb_crs_operation_name(ctx, 9208, 4326, &name), PDB_OK);
    assert_string_equal(name, "Inverse of Vietnam TM-3 104-45 + VN-2000 to WGS 84 (2) (EPSG:6960)");
    print_message("9208 -> 4326: %s\n", name);
    assert_int_equal(pdb_crs_operation_name(ctx, 4326, 9208, &name), PDB_OK);
    assert_contains(name, "Inverse of VN-2000 to WGS 84 (2)");
    assert_contains(name, "(EPSG:6960)");
    print_message("4326 -> 9208: %s\n", name);
    assert_int_equal(pdb_crs_operation_name(ctx, 4756, 4326, &name), PDB_OK);
    assert_string_equal(name, "VN-2000 to WGS 84 (2) (EPSG:6960)");
    assert_int_equal(pdb_crs_operation_name(ctx, 3406, 4326, &name), PDB_OK);
    assert_contains(name, "VN-2000 to WGS 84 (2)");
    print_message("3406 -> 4326: %s\n", name);
    /* Within VN-2000: conversions only, no datum shift. */
    assert_int_equal(pdb_crs_operation_name(ctx, 9208, 5897, &name), PDB_OK);
    assert_string_equal(name, "Inverse of Vietnam TM-3 104-45 + Vietnam TM-3 zone 482");
    print_message("9208 -> 5897: %s\n", name);
    assert_int_equal(pdb_crs_operation_name(ctx, 4756, 9211, &name), PDB_OK);
    assert_string_equal(name, "Vietnam TM-3 106-00");
    assert_int_equal(pdb_crs_operation_name(ctx, 9211, 3405, &name), PDB_OK);
    assert_null(strstr(name, "WGS 84"));
    print_message("9211 -> 3405: %s\n", name);
    assert_int_equal(pdb_crs_operation_name(ctx, 4326, 4326, &name), PDB_OK);
    assert_contains(name, "none");
    assert_int_equal(pdb_crs_operation_name(ctx, 9208, 32648, &name), PDB_ECRS);
    assert_null(name);
}

/* ------------------------------------------------------------------------ */
/* Transformations against cs2cs and DESIGN.md's reference points           */
/* ------------------------------------------------------------------------ */

static void test_against_cs2cs(void **state)
{
    pdb_ctx *ctx = *state;

    for (size_t i = 0; i < sizeof comparisons / sizeof comparisons[0]; i++) {
        int epsg = comparisons[i].epsg;
        for (int j = 0; j < 3; j++) {
            const place *p = &comparisons[i].places[j];
            double x, y;
            /* WGS 84 -> the CRS, then back from cs2cs's own answer. */
            compare_with_cs2cs(ctx, PDB_EPSG_WGS84, epsg, p->lon, p->lat, p->name);
            cs2cs(PDB_EPSG_WGS84, epsg, p->lon, p->lat, &x, &y);
            compare_with_cs2cs(ctx, epsg, PDB_EPSG_WGS84, x, y, p->name);
        }
    }
}

static void test_reference_points(void **state)
{
    pdb_ctx *ctx = *state;
    static const struct {
        place p;     /* WGS 84 */
        int epsg;    /* the zone of its former province */
        double e, n; /* DESIGN.md, computed with PROJ */
    } refs[] = {
        {{"Viet Tri", 105.4020, 21.3220}, 9208, 567440.313, 2358740.139},
        {{"Vinh Yen", 105.5970, 21.3090}, 5897, 561740.151, 2357278.555},
        {{"Hoa Binh", 105.3380, 20.8170}, 9211, 430898.421, 2302836.493},
    };

    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        double x = refs[i].p.lon, y = refs[i].p.lat;
        assert_int_equal(pdb_crs_transform(ctx, PDB_EPSG_WGS84, refs[i].epsg, &x, &y, 1), PDB_OK);
        assert_near(x, refs[i].e, MM);
        assert_near(y, refs[i].n, MM);
        x = refs[i].e;
        y = refs[i].n;
        assert_int_equal(pdb_crs_transform(ctx, refs[i].epsg, PDB_EPSG_WGS84, &x, &y, 1), PDB_OK);
        assert_near(x, refs[i].p.lon, 1e-8); /* the references are rounded to 1 mm */
        assert_near(y, refs[i].p.lat, 1e-8);
        assert_int_equal(pdb_crs_check_point(ctx, refs[i].epsg, refs[i].e, refs[i].n), PDB_OK);
    }
}

/* A document says "X = 2358740.139, Y = 567440.313" (X is the northing). */
static void test_vietnamese_xy_order(void **state)
{
    pdb_ctx *ctx = *state;
    double e, n;

    pdb_vn_xy_to_en(2358740.139, 567440.313, &e, &n);
    assert_near(e, 567440.313, 0.0);
    assert_near(n, 2358740.139, 0.0);
    assert_int_equal(pdb_crs_check_point(ctx, 9208, e, n), PDB_OK);
    assert_int_equal(pdb_crs_transform(ctx, 9208, PDB_EPSG_WGS84, &e, &n, 1), PDB_OK);
    assert_near(e, viet_tri.lon, 1e-8);
    assert_near(n, viet_tri.lat, 1e-8);
}

/* A grid over the province, through each zone and back, in one call each
 * (interleaved, as the writer calls it), and the same through separate
 * arrays, which must agree exactly. Through the datum shift a round trip
 * is good to about 1 mm, not better: EPSG:6960 is applied in 2D, so the
 * height change of the forward Helmert is dropped before the inverse (PROJ's
 * push/pop of v_3); cs2cs there and back gives the same, which the test
 * checks. Within VN-2000 the round trip is exact. */
static void test_round_trips(void **state)
{
    pdb_ctx *ctx = *state;
    enum { NLON = 12, NLAT = 16, N = NLON * NLAT };
    static const int zones[] = {9208, 5897, 9211, 3405, 4756};
    const double shift_tol = 1.5e-8; /* degrees, about 1.7 mm */
    double xy[2 * N], orig[2 * N], x[N], y[N];

    for (int i = 0; i < N; i++) {
        orig[2 * i] = 104.8 + 1.1 * (i % NLON) / (NLON - 1);    /* 104.8 .. 105.9 E */
        orig[2 * i + 1] = 20.3 + 1.5 * (i / NLON) / (NLAT - 1); /* 20.3 .. 21.8 N */
    }
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        double worst = 0.0;
        memcpy(xy, orig, sizeof xy);
        for (int i = 0; i < N; i++) {
            x[i] = orig[2 * i];
            y[i] = orig[2 * i + 1];
        }
        assert_int_equal(pdb__crs_transform_xy(ctx, PDB_EPSG_WGS84, zones[z], xy, N), PDB_OK);
        assert_int_equal(pdb_crs_transform(ctx, PDB_EPSG_WGS84, zones[z], x, y, N), PDB_OK);
        for (int i = 0; i < N; i++) {
            assert_true(xy[2 * i] == x[i] && xy[2 * i + 1] == y[i]);
            assert_int_equal(pdb_crs_check_point(ctx, zones[z], x[i], y[i]), PDB_OK);
        }
        /* Within VN-2000: to the geographic system and back, exactly. */
        if (zones[z] != PDB_EPSG_VN2000_GEOG) {
            assert_int_equal(pdb_crs_transform(ctx, zones[z], PDB_EPSG_VN2000_GEOG, x, y, N),
                             PDB_OK);
            assert_int_equal(pdb_crs_transform(ctx, PDB_EPSG_VN2000_GEOG, zones[z], x, y, N),
                             PDB_OK);
            for (int i = 0; i < N; i++) {
                assert_near(x[i], xy[2 * i], 1e-6);
                assert_near(y[i], xy[2 * i + 1], 1e-6);
            }
        }
        assert_int_equal(pdb__crs_transform_xy(ctx, zones[z], PDB_EPSG_WGS84, xy, N), PDB_OK);
        for (int i = 0; i < 2 * N; i++) {
            assert_near(xy[i], orig[i], shift_tol);
            worst = fmax(worst, fabs(xy[i] - orig[i]));
        }
        print_message("WGS 84 -> EPSG:%d -> WGS 84: worst %.2g deg\n", zones[z], worst);
    }
    /* cs2cs there and back lands where parceldb does. */
    double cx, cy, px = orig[0], py = orig[1];
    cs2cs(PDB_EPSG_WGS84, 9208, px, py, &cx, &cy);
    cs2cs(9208, PDB_EPSG_WGS84, cx, cy, &cx, &cy);
    assert_int_equal(pdb_crs_transform(ctx, PDB_EPSG_WGS84, 9208, &px, &py, 1), PDB_OK);
    assert_int_equal(pdb_crs_transform(ctx, 9208, PDB_EPSG_WGS84, &px, &py, 1), PDB_OK);
    assert_near(px, cx, NANODEG);
    assert_near(py, cy, NANODEG);
}

/* Zone to zone is a change of projection within VN-2000: the same as
 * cs2cs, and the same as going through VN-2000 geographic. */
static void test_zone_to_zone(void **state)
{
    pdb_ctx *ctx = *state;
    static const int pairs[][2] = {{9208, 5897}, {9208, 9211}, {5897, 9211}, {9211, 9208},
                                   {9208, 3405}, {3405, 3406}, {9208, 4756}, {4756, 5897}};
    double e = 567440.313, n = 2358740.139; /* Viet Tri in 9208 */

    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        double x = e, y = n;
        if (pairs[i][0] != 9208) /* start from Viet Tri in the pair's source */
            assert_int_equal(pdb_crs_transform(ctx, 9208, pairs[i][0], &x, &y, 1), PDB_OK);
        compare_with_cs2cs(ctx, pairs[i][0], pairs[i][1], x, y, "Viet Tri");
        if (is_geographic(pairs[i][0]) || is_geographic(pairs[i][1]))
            continue;
        double dx = x, dy = y, gx = x, gy = y;
        assert_int_equal(pdb_crs_transform(ctx, pairs[i][0], pairs[i][1], &dx, &dy, 1), PDB_OK);
        assert_int_equal(pdb_crs_transform(ctx, pairs[i][0], 4756, &gx, &gy, 1), PDB_OK);
        assert_int_equal(pdb_crs_transform(ctx, 4756, pairs[i][1], &gx, &gy, 1), PDB_OK);
        assert_near(dx, gx, 1e-6);
        assert_near(dy, gy, 1e-6);
    }
}

/* DESIGN.md's known wrong conventions, measured: the transformation is
 * far from each of them. */
static void test_wrong_conventions_are_far(void **state)
{
    pdb_ctx *ctx = *state;
    double ex = viet_tri.lon, ey = viet_tri.lat; /* right: WGS 84 through 6960 */
    double nx = viet_tri.lon, ny = viet_tri.lat; /* wrong: no datum shift */
    double ux = viet_tri.lon, uy = viet_tri.lat; /* wrong: UTM 48N, not TM-3 */

    assert_int_equal(pdb_crs_transform(ctx, PDB_EPSG_WGS84, 9208, &ex, &ey, 1), PDB_OK);
    assert_int_equal(pdb_crs_transform(ctx, PDB_EPSG_VN2000_GEOG, 9208, &nx, &ny, 1), PDB_OK);
    assert_int_equal(pdb_crs_transform(ctx, PDB_EPSG_WGS84, 3405, &ux, &uy, 1), PDB_OK);
    double no_shift = hypot(nx - ex, ny - ey), utm = hypot(ux - ex, uy - ey);
    print_message("no datum shift: %.1f m off; UTM 48N for TM-3: %.0f m off\n", no_shift, utm);
    assert_true(no_shift > 200.0 && no_shift < 250.0);
    assert_true(utm > 25000.0 && utm < 27000.0);
}

/* ------------------------------------------------------------------------ */
/* Reuse, failures                                                           */
/* ------------------------------------------------------------------------ */

static void test_operation_reused(void **state)
{
    pdb_ctx *ctx = NULL;
    const char *name;
    (void)state;

    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    assert_int_equal(pdb__crs_cache_count(ctx), 0);
    for (int i = 0; i < 200; i++) {
        double x = viet_tri.lon, y = viet_tri.lat;
        assert_int_equal(pdb_crs_transform(ctx, PDB_EPSG_WGS84, 9208, &x, &y, 1), PDB_OK);
    }
    assert_int_equal(pdb__crs_cache_count(ctx), 1);
    assert_int_equal(pdb_crs_operation_name(ctx, PDB_EPSG_WGS84, 9208, &name), PDB_OK);
    assert_int_equal(pdb_crs_check_point(ctx, 9208, 567440.313, 2358740.139), PDB_OK);
    assert_int_equal(pdb__crs_cache_count(ctx), 2); /* + 9208 -> 4326 for the check */
    for (int i = 0; i < 50; i++) {
        double x = 567440.313, y = 2358740.139;
        assert_int_equal(pdb_crs_transform(ctx, 9208, 5897, &x, &y, 1), PDB_OK);
        assert_int_equal(pdb_crs_transform(ctx, 9208, PDB_EPSG_WGS84, &x, &y, 1), PDB_OK);
    }
    assert_int_equal(pdb__crs_cache_count(ctx), 3);
    /* An unregistered pair never reaches the cache. */
    assert_int_equal(pdb_crs_transform(ctx, 32648, 9208, NULL, NULL, 0), PDB_ECRS);
    assert_int_equal(pdb__crs_cache_count(ctx), 3);
    pdb_ctx_free(ctx);
}

static void test_transform_failures(void **state)
{
    pdb_ctx *ctx = *state;
    double x[3] = {105.4, 105.4, 105.4}, y[3] = {21.3, 95.0, 21.3};

    assert_int_equal(pdb_crs_transform(ctx, PDB_EPSG_WGS84, 9208, x, y, 3), PDB_ECRS);
    assert_contains(pdb_errmsg(ctx), "point 1 ");
    assert_contains(pdb_errmsg(ctx), "EPSG:4326 to EPSG:9208");
    double xy[4] = {567440.0, 2358740.0, 1e30, 1e30};
    assert_int_equal(pdb__crs_transform_xy(ctx, 9208, PDB_EPSG_WGS84, xy, 2), PDB_ECRS);
    assert_contains(pdb_errmsg(ctx), "point 1 ");
    double nx = NAN, ny = 21.0;
    assert_int_equal(pdb_crs_transform(ctx, PDB_EPSG_WGS84, 9208, &nx, &ny, 1), PDB_EINVAL);
    assert_contains(pdb_errmsg(ctx), "point 0");
    nx = 105.0;
    assert_int_equal(pdb_crs_transform(ctx, 9999, 9208, &nx, &ny, 1), PDB_ECRS);
    assert_contains(pdb_errmsg(ctx), "EPSG:9999");
    assert_int_equal(pdb_crs_transform(ctx, 9208, 6957, &nx, &ny, 1), PDB_ECRS);
    assert_contains(pdb_errmsg(ctx), "deprecated");
    assert_int_equal(pdb_crs_transform(ctx, PDB_EPSG_WGS84, 9208, NULL, NULL, 1), PDB_EINVAL);
    /* After failures, the pair still works. */
    nx = viet_tri.lon;
    ny = viet_tri.lat;
    assert_int_equal(pdb_crs_transform(ctx, PDB_EPSG_WGS84, 9208, &nx, &ny, 1), PDB_OK);
    assert_near(nx, 567440.313, MM);
    assert_int_equal(pdb_errcode(ctx), PDB_OK);
}

/* A proj.db without the given Helmert transformations (codes as an SQL
 * list), in a fresh directory; returns it (caller frees). */
static char *proj_db_without(const char *name, const char *codes)
{
    char *paths = tu_capture("projinfo --searchpaths");
    char *dir = strdup(tu_tmpdir(name));
    char *src = NULL;

    assert_non_null(paths);
    for (char *line = strtok(paths, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char db[1024];
        snprintf(db, sizeof db, "%s/proj.db", line);
        if (access(db, R_OK) == 0) {
            src = line;
            break;
        }
    }
    if (src == NULL)
        fail_msg("no proj.db in projinfo --searchpaths");
    assert_int_equal(tu_run("cp '%s/proj.db' '%s/proj.db'", src, dir), 0);
    free(paths);
    assert_int_equal(
        tu_run("sqlite3 '%s/proj.db' \"DELETE FROM helmert_transformation_table WHERE "
               "auth_name = 'EPSG' AND code IN (%s); DELETE FROM usage WHERE object_table_name "
               "= 'helmert_transformation' AND object_auth_name = 'EPSG' AND object_code IN "
               "(%s);\"",
               dir, codes, codes),
        0);
    char *left = tu_capture("sqlite3 '%s/proj.db' \"SELECT count(*) FROM "
                            "helmert_transformation_table WHERE auth_name = 'EPSG' AND code IN "
                            "(%s)\"",
                            dir, codes);
    assert_non_null(left);
    assert_string_equal(left, "0\n");
    free(left);
    char *offered = tu_capture("PROJ_DATA='%s' projinfo -s EPSG:9208 -t EPSG:4326 "
                               "--spatial-test intersects --summary 2>&1",
                               dir);
    print_message("without %s, PROJ offers:\n%s", codes, offered ? offered : "(nothing)\n");
    free(offered);
    return dir;
}

/* Runs the check with PROJ_DATA pointing at dir, then restores it. */
static void expect_refusal(const char *dir, const char *offered_phrase)
{
    const char *old = getenv("PROJ_DATA");
    char *saved = old != NULL ? strdup(old) : NULL;
    pdb_ctx *ctx = NULL;
    const char *name = (const char *)1;
    double x = 567440.313, y = 2358740.139;

    assert_int_equal(setenv("PROJ_DATA", dir, 1), 0);
    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    assert_int_equal(pdb_crs_transform(ctx, 9208, PDB_EPSG_WGS84, &x, &y, 1), PDB_ECRS);
    print_message("refused: %s\n", pdb_errmsg(ctx));
    assert_contains(pdb_errmsg(ctx), "EPSG:6960");
    assert_contains(pdb_errmsg(ctx), offered_phrase);
    /* Asked again (a whole import's worth), the same refusal, from memory. */
    for (int i = 0; i < 100; i++)
        assert_int_equal(pdb_crs_transform(ctx, 9208, PDB_EPSG_WGS84, &x, &y, 1), PDB_ECRS);
    assert_int_equal(pdb_crs_operation_name(ctx, 9208, PDB_EPSG_WGS84, &name), PDB_ECRS);
    assert_null(name);
    assert_int_equal(pdb_crs_transform(ctx, PDB_EPSG_WGS84, 4756, &x, &y, 1), PDB_ECRS);
    assert_int_equal(pdb_crs_check_point(ctx, 9208, 567440.313, 2358740.139), PDB_ECRS);
    /* Within VN-2000 nothing is missing. */
    x = 567440.313;
    y = 2358740.139;
    assert_int_equal(pdb_crs_transform(ctx, 9208, 5897, &x, &y, 1), PDB_OK);
    pdb_ctx_free(ctx);
    if (saved != NULL)
        setenv("PROJ_DATA", saved, 1);
    else
        unsetenv("PROJ_DATA");
    free(saved);
}

static void test_refuses_other_transformation(void **state)
{
    (void)state;
    char *dir = proj_db_without("no6960", "'6960'");
    expect_refusal(dir, "VN-2000 to WGS 84 (1)"); /* EPSG:5194, the Mekong delta one */
    tu_run("rm -rf '%s'", dir);
    free(dir);
}

static void test_refuses_ballpark(void **state)
{
    (void)state;
    char *dir = proj_db_without("ballpark", "'6960', '5194'");
    expect_refusal(dir, "ballpark");
    tu_run("rm -rf '%s'", dir);
    free(dir);
    /* And with PROJ_DATA restored, a new context has EPSG:6960 again. */
    pdb_ctx *ctx = NULL;
    double x = 567440.313, y = 2358740.139;
    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    assert_int_equal(pdb_crs_transform(ctx, 9208, PDB_EPSG_WGS84, &x, &y, 1), PDB_OK);
    assert_near(x, viet_tri.lon, 1e-8);
    pdb_ctx_free(ctx);
}

/* ------------------------------------------------------------------------ */
/* Plausibility                                                              */
/* ------------------------------------------------------------------------ */

static void expect_implausible(pdb_ctx *ctx, int epsg, double x, double y, const char *phrase)
{
    pdb_status st = pdb_crs_check_point(ctx, epsg, x, y);
    if (st != PDB_EPLAUSIBLE)
        fail_msg("EPSG:%d (%.3f, %.3f): %s, not EPLAUSIBLE (%s)", epsg, x, y, pdb_status_name(st),
                 pdb_errmsg(ctx));
    assert_contains(pdb_errmsg(ctx), phrase);
}

static void test_plausible(void **state)
{
    pdb_ctx *ctx = *state;
    double x = viet_tri.lon, y = viet_tri.lat;

    assert_int_equal(pdb_crs_check_point(ctx, PDB_EPSG_WGS84, viet_tri.lon, viet_tri.lat), PDB_OK);
    assert_int_equal(pdb_crs_check_point(ctx, PDB_EPSG_VN2000_GEOG, hoa_binh.lon, hoa_binh.lat),
                     PDB_OK);
    assert_int_equal(pdb_crs_check_point(ctx, 5897, 561740.151, 2357278.555), PDB_OK);
    assert_int_equal(pdb_crs_transform(ctx, PDB_EPSG_WGS84, 3405, &x, &y, 1), PDB_OK);
    assert_int_equal(pdb_crs_check_point(ctx, 3405, x, y), PDB_OK);
    assert_int_equal(pdb_crs_check_point(ctx, 32648, 500000.0, 2300000.0), PDB_ECRS);
    assert_int_equal(pdb_crs_check_point(ctx, 9208, NAN, 2300000.0), PDB_EINVAL);
}

static void test_implausible_swapped(void **state)
{
    pdb_ctx *ctx = *state;

    /* X = northing first, as the document wrote it, but read as E, N. */
    expect_implausible(ctx, 9208, 2358740.139, 567440.313, "swapped");
    assert_contains(pdb_errmsg(ctx), "X = northing");
    assert_contains(pdb_errmsg(ctx), "--vn-xy");
    expect_implausible(ctx, 9211, 2302836.493, 430898.421, "swapped");
    expect_implausible(ctx, PDB_EPSG_WGS84, viet_tri.lat, viet_tri.lon, "swapped");
    assert_contains(pdb_errmsg(ctx), "x = longitude");
    expect_implausible(ctx, PDB_EPSG_VN2000_GEOG, vinh_yen.lat, vinh_yen.lon, "swapped");
}

static void test_implausible_degrees_in_projected(void **state)
{
    pdb_ctx *ctx = *state;

    expect_implausible(ctx, 9208, viet_tri.lon, viet_tri.lat, "looks like degrees");
    assert_contains(pdb_errmsg(ctx), "EPSG:4756");
    expect_implausible(ctx, 5897, vinh_yen.lat, vinh_yen.lon, "looks like degrees");
    /* And the other way: metres declared as degrees. */
    expect_implausible(ctx, PDB_EPSG_WGS84, 567440.313, 2358740.139, "projected metres");
    expect_implausible(ctx, PDB_EPSG_VN2000_GEOG, 567440.313, 2358740.139, "projected metres");
}

static void test_implausible_outside_vietnam(void **state)
{
    pdb_ctx *ctx = *state;

    expect_implausible(ctx, PDB_EPSG_WGS84, 100.50, 13.75, "outside Vietnam"); /* Bangkok */
    expect_implausible(ctx, PDB_EPSG_WGS84, 105.40, 24.50, "outside Vietnam"); /* Yunnan */
    /* A northing 1000 km too large (a digit wrong). */
    expect_implausible(ctx, 9208, 567440.313, 3358740.139, "outside Vietnam");
    /* Northings and eastings beyond any projection. */
    expect_implausible(ctx, 9208, 1e15, 1e15, "9208");
}

/* Far from the zone's meridian: a point of Quang Ninh in Phu Tho's zone,
 * a point of Quy Nhon in UTM 48N. */
static void test_implausible_off_zone(void **state)
{
    pdb_ctx *ctx = *state;
    double x = 107.3, y = 21.0;

    assert_int_equal(pdb_crs_transform(ctx, PDB_EPSG_WGS84, 9208, &x, &y, 1), PDB_OK);
    expect_implausible(ctx, 9208, x, y, "central meridian");
    assert_contains(pdb_errmsg(ctx), "EPSG:9211");
    x = 109.22;
    y = 13.77;
    assert_int_equal(pdb_crs_transform(ctx, PDB_EPSG_WGS84, 3405, &x, &y, 1), PDB_OK);
    expect_implausible(ctx, 3405, x, y, "central meridian");
    /* Viet Tri's easting without the leading 5 of the false easting: four
     * degrees west, in Laos. */
    expect_implausible(ctx, 9208, 67440.313, 2358740.139, "outside Vietnam");
}

/* A survey read in the wrong zone: the parcels move by tens of km. Near
 * the border the move leaves Vietnam and the check says so; inside the
 * province one point cannot tell (the importer checks the declared zone
 * against the commune code's zone, DESIGN.md), but the size of the move
 * is what the import report quotes. */
static void test_wrong_zone(void **state)
{
    pdb_ctx *ctx = *state;
    static const int zones[] = {9208, 5897, 9211};

    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++) {
            if (i == j)
                continue;
            double e = viet_tri.lon, n = viet_tri.lat, lon, lat;
            assert_int_equal(pdb_crs_transform(ctx, PDB_EPSG_WGS84, zones[i], &e, &n, 1), PDB_OK);
            lon = e;
            lat = n;
            assert_int_equal(pdb_crs_transform(ctx, zones[j], PDB_EPSG_WGS84, &lon, &lat, 1),
                             PDB_OK);
            double moved = distance_m(viet_tri.lon, viet_tri.lat, lon, lat);
            print_message("Viet Tri in EPSG:%d read as EPSG:%d: %.1f km away\n", zones[i], zones[j],
                          moved / 1000.0);
            assert_true(moved > 25000.0 && moved < 135000.0);
        }
    /* Dien Bien Phu surveyed in 103-00 (EPSG:9205), declared as zone 481
     * (EPSG:5896, 102-00): one meridian west, out of the country. */
    double e = 103.0170, n = 21.3860;
    assert_int_equal(pdb_crs_transform(ctx, PDB_EPSG_WGS84, 9205, &e, &n, 1), PDB_OK);
    assert_int_equal(pdb_crs_check_point(ctx, 9205, e, n), PDB_OK);
    expect_implausible(ctx, 5896, e, n, "outside Vietnam");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registry_matches_projinfo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_info_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commune_registry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_spellings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_every_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_unknown, setup, teardown),
        cmocka_unit_test(test_cs2cs_uses_6960),
        cmocka_unit_test_setup_teardown(test_operation_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_against_cs2cs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reference_points, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vietnamese_xy_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zone_to_zone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_conventions_are_far, setup, teardown),
        cmocka_unit_test(test_operation_reused),
        cmocka_unit_test_setup_teardown(test_transform_failures, setup, teardown),
        cmocka_unit_test(test_refuses_other_transformation),
        cmocka_unit_test(test_refuses_ballpark),
        cmocka_unit_test_setup_teardown(test_plausible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_implausible_swapped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_implausible_degrees_in_projected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_implausible_outside_vietnam, setup, teardown),
        cmocka_unit_test_setup_teardown(test_implausible_off_zone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_zone, setup, teardown),
    };
    return cmocka_run_group_tests_name("crs", tests, NULL, NULL);
}
