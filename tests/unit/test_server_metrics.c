/*
 * test_server_metrics.c: the per-address rate limit (token buckets, a fixed
 * table) and the Prometheus text of the server's counters.
 */
#include "metrics.h"
#include "parceldb.h"
#include "ratelimit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four above, which it needs */

#include <stdlib.h>
#include <string.h>

static void test_rate_limit(void **state)
{
    (void)state;
    pdb_srv_ratelimit *rl = pdb_srv_ratelimit_new(10, 5); /* 10/s, bursts of 5 */
    unsigned char a[4] = {127, 0, 0, 1}, b[4] = {127, 0, 0, 2};
    int retry, allowed = 0;
    for (int i = 0; i < 20; i++)
        allowed += pdb_srv_ratelimit_allow(rl, a, 4, 100.0, &retry);
    assert_int_equal(allowed, 5);
    assert_int_equal(retry, 1);
    assert_true(pdb_srv_ratelimit_allow(rl, b, 4, 100.0, &retry));  /* another address */
    assert_true(pdb_srv_ratelimit_allow(rl, a, 4, 100.11, &retry)); /* refilled one */
    assert_false(pdb_srv_ratelimit_allow(rl, a, 4, 100.11, &retry));
    /* Many addresses: the table stays bounded and never refuses a newcomer. */
    for (unsigned i = 0; i < 100000; i++) {
        unsigned char v6[16] = {0x20, 0x01};
        memcpy(v6 + 12, &i, sizeof i);
        assert_true(pdb_srv_ratelimit_allow(rl, v6, 16, 200.0, &retry));
    }
    pdb_srv_ratelimit_free(rl);
    /* A limit of 0 lets everything through. */
    rl = pdb_srv_ratelimit_new(0, 0);
    for (int i = 0; i < 100; i++)
        assert_true(pdb_srv_ratelimit_allow(rl, a, 4, 1.0, &retry));
    pdb_srv_ratelimit_free(rl);
    assert_true(pdb_srv_ratelimit_allow(NULL, a, 4, 1.0, &retry));
}

static void test_prometheus_text(void **state)
{
    (void)state;
    pdb_srv_metrics *m = malloc(sizeof *m);
    pdb_srv_gauges g = {.data_version = 12, .cache_entries = 3, .cache_bytes = 4096};
    size_t len;
    pdb_srv_metrics_init(m);
    pdb_srv_metrics_request(m, PDB_SRV_ROUTE_TILE, 200, 300, 1000);
    pdb_srv_metrics_request(m, PDB_SRV_ROUTE_TILE, 200, 3000, 1000);
    pdb_srv_metrics_request(m, PDB_SRV_ROUTE_TILE, 304, 50, 0);
    pdb_srv_metrics_request(m, PDB_SRV_ROUTE_OTHER, 418, 10, 0);
    char *text = pdb_srv_metrics_text(m, &g, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    assert_non_null(
        strstr(text, "parceldb_http_requests_total{route=\"tile\",status=\"200\"} 2\n"));
    assert_non_null(
        strstr(text, "parceldb_http_requests_total{route=\"tile\",status=\"304\"} 1\n"));
    assert_non_null(
        strstr(text, "parceldb_http_requests_total{route=\"other\",status=\"other\"} 1\n"));
    /* Cumulative buckets: 50 us and 300 us are under 0.5 ms, all 3 under 5 ms. */
    assert_non_null(strstr(
        text, "parceldb_http_request_duration_seconds_bucket{route=\"tile\",le=\"0.0005\"} 2\n"));
    assert_non_null(strstr(
        text, "parceldb_http_request_duration_seconds_bucket{route=\"tile\",le=\"0.005\"} 3\n"));
    assert_non_null(strstr(
        text, "parceldb_http_request_duration_seconds_bucket{route=\"tile\",le=\"+Inf\"} 3\n"));
    assert_non_null(
        strstr(text, "parceldb_http_request_duration_seconds_count{route=\"tile\"} 3\n"));
    assert_non_null(strstr(text, "parceldb_data_version 12\n"));
    assert_non_null(strstr(text, "parceldb_tile_cache_bytes 4096\n"));
    assert_non_null(strstr(text, "# TYPE parceldb_tiles_rendered_total counter\n"));
    /* Every line is a comment or "name{labels} value". */
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        assert_true(line[0] == '#' || (line[0] >= 'a' && line[0] <= 'z'));
        line = nl + 1;
    }
    free(text);
    free(m);
}

/* Each commune not fresh is named with its state; totals per state; the
 * older stale gauges count the communes without built overviews. */
static void test_overview_states(void **state)
{
    (void)state;
    pdb_srv_metrics *m = malloc(sizeof *m);
    const pdb_srv_commune_state rows[] = {
        {.code = "07894", .overview_fresh = 1, .overview_state = PDB_OVERVIEW_STATE_FRESH},
        {.code = "07900", .overview_fresh = 0, .overview_state = PDB_OVERVIEW_STATE_STALE},
        {.code = "07909", .overview_fresh = 0, .overview_state = PDB_OVERVIEW_STATE_FAILED},
        {.code = "08707", .overview_fresh = 1, .overview_state = PDB_OVERVIEW_STATE_FALLBACK},
    };
    pdb_srv_gauges g = {.communes = rows, .ncommunes = 4};
    size_t len;
    pdb_srv_metrics_init(m);
    char *text = pdb_srv_metrics_text(m, &g, &len);
    assert_non_null(text);
    static const char *const present[] = {
        "parceldb_commune_overviews{commune=\"07900\",state=\"stale\"} 1\n",
        "parceldb_commune_overviews{commune=\"07909\",state=\"failed\"} 1\n",
        "parceldb_commune_overviews{commune=\"08707\",state=\"fallback\"} 1\n",
        "parceldb_communes_overviews{state=\"fresh\"} 1\n",
        "parceldb_communes_overviews{state=\"stale\"} 1\n",
        "parceldb_communes_overviews{state=\"failed\"} 1\n",
        "parceldb_communes_overviews{state=\"fallback\"} 1\n",
        "parceldb_commune_overviews_stale{commune=\"07900\"} 1\n",
        "parceldb_commune_overviews_stale{commune=\"07909\"} 1\n",
        "parceldb_communes_overviews_stale 2\n",
    };
    for (size_t i = 0; i < sizeof present / sizeof present[0]; i++)
        if (strstr(text, present[i]) == NULL)
            fail_msg("missing: %s", present[i]);
    /* The fresh commune is named nowhere; the fallback is built, not stale. */
    assert_null(strstr(text, "commune=\"07894\""));
    assert_null(strstr(text, "parceldb_commune_overviews_stale{commune=\"08707\"}"));
    free(text);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_prometheus_text),
        cmocka_unit_test(test_overview_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
