/*
 * test_server_changes.c: the change log that decides which cached tiles an
 * import made stale: per-commune regions, the fall-back to "everything"
 * when the rows cannot account for every version step, a store whose
 * version went back, and the state file round trip.
 */
#include "cache.h"
#include "changes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four above, which it needs */

#include <math.h>
#include <stdlib.h>
#include <string.h>

static pdb_srv_commune_state row(const char *code, double lon, double lat, int64_t parcels,
                                 int64_t batch)
{
    pdb_srv_commune_state r = {0};
    strcpy(r.code, code);
    r.bbox[0] = lon;
    r.bbox[1] = lat;
    r.bbox[2] = lon + 0.05;
    r.bbox[3] = lat + 0.05;
    r.parcels = parcels;
    r.last_batch = batch;
    r.source_srid = 9208;
    return r;
}

/* The content version of the z14 tile holding a point. */
static int64_t version_at(const pdb_srv_changes *c, double lon, double lat)
{
    double ll[4] = {lon, lat, lon, lat}, m[4];
    pdb_srv_lonlat_to_merc_box(ll, m);
    return pdb_srv_changes_tile_version(c, m);
}

static void test_regions(void **state)
{
    (void)state;
    pdb_srv_changes c = {0};
    pdb_srv_commune_state rows[3] = {row("07894", 105.40, 21.30, 100, 1),
                                     row("08707", 105.60, 21.30, 200, 2),
                                     row("04000", 105.30, 20.80, 300, 3)};
    double(*boxes)[4];
    size_t n;

    assert_int_equal(pdb_srv_changes_reset(&c, 3, 77, rows, 3), 0);
    assert_int_equal(pdb_srv_changes_advance(&c, 3, rows, 3, &boxes, &n), PDB_SRV_ADVANCE_SAME);
    assert_int_equal(version_at(&c, 105.42, 21.32), 3);

    /* 08707 re-imported (version 4): only its box changes version. */
    rows[1].last_batch = 4;
    rows[1].parcels = 210;
    assert_int_equal(pdb_srv_changes_advance(&c, 4, rows, 3, &boxes, &n), PDB_SRV_ADVANCE_REGIONS);
    assert_int_equal(n, 1);
    free(boxes);
    assert_int_equal(version_at(&c, 105.62, 21.32), 4);
    assert_int_equal(version_at(&c, 105.42, 21.32), 3); /* 07894 stays current */
    assert_int_equal(c.baseline, 3);

    /* 07894 moves east (a new survey): both its old and new places change. */
    rows[0] = row("07894", 105.45, 21.30, 120, 5);
    assert_int_equal(pdb_srv_changes_advance(&c, 5, rows, 3, &boxes, &n), PDB_SRV_ADVANCE_REGIONS);
    free(boxes);
    assert_int_equal(version_at(&c, 105.41, 21.32), 5); /* the old place */
    assert_int_equal(version_at(&c, 105.49, 21.32), 5); /* the new place */
    assert_int_equal(version_at(&c, 105.32, 20.82), 3); /* Hoa Binh untouched */

    /* A new commune (version 6) and the log keeps one record per commune. */
    pdb_srv_commune_state more[4] = {rows[0], rows[1], rows[2], row("09000", 105.70, 21.40, 5, 6)};
    assert_int_equal(pdb_srv_changes_advance(&c, 6, more, 4, &boxes, &n), PDB_SRV_ADVANCE_REGIONS);
    free(boxes);
    assert_int_equal(version_at(&c, 105.72, 21.42), 6);
    assert_int_equal(c.nrec, 3);

    /* Two versions but one changed row: a commit left no trace: all stale. */
    more[2].last_batch = 7;
    assert_int_equal(pdb_srv_changes_advance(&c, 8, more, 4, &boxes, &n), PDB_SRV_ADVANCE_ALL);
    assert_null(boxes);
    assert_int_equal(c.baseline, 8);
    assert_int_equal(version_at(&c, 105.42, 21.32), 8);
    assert_int_equal(c.nrec, 0);

    /* The version went back: another store; a new epoch. */
    uint64_t epoch = c.epoch;
    assert_int_equal(pdb_srv_changes_advance(&c, 2, more, 4, &boxes, &n), PDB_SRV_ADVANCE_EPOCH);
    assert_true(c.epoch != epoch);
    assert_int_equal(c.baseline, 2);
    pdb_srv_changes_clear(&c);
}

static void test_overview_rebuilds(void **state)
{
    (void)state;
    pdb_srv_changes c = {0};
    pdb_srv_commune_state rows[2] = {row("07894", 105.40, 21.30, 100, 1),
                                     row("08707", 105.60, 21.30, 200, 2)};
    double(*boxes)[4];
    size_t n;
    rows[0].overview_fresh = rows[1].overview_fresh = 1;
    assert_int_equal(pdb_srv_changes_reset(&c, 3, 1, rows, 2), 0);

    /* An import run seen whole: the commune's commit (its row changes, its
     * overviews go stale) and the rebuild (fresh again): two steps, both
     * explained; the other commune stays current. */
    rows[0].last_batch = 3;
    assert_int_equal(pdb_srv_changes_advance(&c, 5, rows, 2, &boxes, &n), PDB_SRV_ADVANCE_REGIONS);
    free(boxes);
    assert_int_equal(version_at(&c, 105.42, 21.32), 5);
    assert_int_equal(version_at(&c, 105.62, 21.32), 3);

    /* Seen in two looks: the commit (stale), then the rebuild alone. */
    rows[1].last_batch = 4;
    rows[1].overview_fresh = 0;
    assert_int_equal(pdb_srv_changes_advance(&c, 6, rows, 2, &boxes, &n), PDB_SRV_ADVANCE_REGIONS);
    free(boxes);
    rows[1].overview_fresh = 1;
    assert_int_equal(pdb_srv_changes_advance(&c, 7, rows, 2, &boxes, &n), PDB_SRV_ADVANCE_REGIONS);
    free(boxes);
    assert_int_equal(version_at(&c, 105.62, 21.32), 7);
    assert_int_equal(version_at(&c, 105.42, 21.32), 5);
    assert_int_equal(c.baseline, 3);

    /* Two runs between two looks (two rebuilds): one step unexplained. */
    rows[0].last_batch = 5;
    rows[1].last_batch = 6;
    assert_int_equal(pdb_srv_changes_advance(&c, 11, rows, 2, &boxes, &n), PDB_SRV_ADVANCE_ALL);

    /* A commune committed again with an identical row while its overviews
     * were fresh, then rebuilt: nothing explains the commit: all stale. */
    assert_int_equal(pdb_srv_changes_advance(&c, 13, rows, 2, &boxes, &n), PDB_SRV_ADVANCE_ALL);
    assert_int_equal(c.baseline, 13);

    /* Overview states unknown (a store from before overviews): a step with
     * no row change is unexplained. */
    rows[0].overview_fresh = rows[1].overview_fresh = -1;
    assert_int_equal(pdb_srv_changes_advance(&c, 14, rows, 2, &boxes, &n), PDB_SRV_ADVANCE_ALL);
    pdb_srv_changes_clear(&c);
}

static void test_empty_communes(void **state)
{
    (void)state;
    pdb_srv_changes c = {0};
    pdb_srv_commune_state r = row("07894", 105.4, 21.3, 0, 1);
    double(*boxes)[4];
    size_t n;
    for (int i = 0; i < 4; i++)
        r.bbox[i] = NAN; /* no parcels, no box */
    assert_int_equal(pdb_srv_changes_reset(&c, 0, 1, NULL, 0), 0);
    /* A commune committed with no parcels: counted, but draws nothing. */
    assert_int_equal(pdb_srv_changes_advance(&c, 1, &r, 1, &boxes, &n), PDB_SRV_ADVANCE_SAME);
    assert_int_equal(c.version, 1);
    assert_int_equal(c.baseline, 0);
    pdb_srv_changes_clear(&c);
}

static void test_state_round_trip(void **state)
{
    (void)state;
    pdb_srv_changes c = {0}, d = {0};
    pdb_srv_commune_state rows[2] = {row("07894", 105.40, 21.30, 100, 1),
                                     row("08707", 105.60, 21.30, 200, 2)};
    double(*boxes)[4];
    size_t n;
    pdb_srv_changes_reset(&c, 2, 1234567890123ull, rows, 2);
    c.identity = 99;
    rows[1].last_batch = 3;
    pdb_srv_changes_advance(&c, 3, rows, 2, &boxes, &n);
    free(boxes);
    char *text = pdb_srv_changes_format(&c);
    assert_non_null(text);
    assert_int_equal(pdb_srv_changes_parse(&d, text), 0);
    assert_int_equal(d.version, 3);
    assert_int_equal(d.baseline, 2);
    assert_true(d.epoch == 1234567890123ull);
    assert_int_equal(d.identity, 99);
    assert_int_equal(d.ncommunes, 2);
    assert_int_equal(d.nrec, 1);
    assert_int_equal(version_at(&d, 105.62, 21.32), 3);
    assert_int_equal(version_at(&d, 105.42, 21.32), 2);
    free(text);
    /* Damaged state files are refused and leave the log as it was. */
    const char *bad[] = {"", "garbage\n", "parceldb-tile-state 1\nversion x\n",
                         "parceldb-tile-state 1\ncommune 1 2\n",
                         "parceldb-tile-state 1\nversion 1\nbaseline 5\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(pdb_srv_changes_parse(&d, bad[i]), -1);
    assert_int_equal(d.version, 3);
    pdb_srv_changes_clear(&c);
    pdb_srv_changes_clear(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regions),
        cmocka_unit_test(test_overview_rebuilds),
        cmocka_unit_test(test_empty_communes),
        cmocka_unit_test(test_state_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
