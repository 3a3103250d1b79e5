/*
 * test_server_changes.c: the change log that decides which cached tiles an
 * import made stale: per-commune regions named by the communes' data
 * versions, exact however many commits and rebuilds happened between two
 * looks; a vanished commune; the fall-back to "everything" for a store
 * without per-commune versions (schema 1) and its upgrade; a store whose
 * version went back; the state file round trip, old format included.
 */
#include "cache.h"
#include "changes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four above, which it needs */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A commune row: a 0.05 degree box from (lon, lat), last changed at data
 * version dv. */
static pdb_srv_commune_state row(const char *code, double lon, double lat, int64_t parcels,
                                 int64_t batch, int64_t dv)
{
    pdb_srv_commune_state r = {0};
    r.data_version = dv;
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

/* Moves the log to version, which must name regions; their count. */
static size_t regions(pdb_srv_changes *c, int64_t version, const pdb_srv_commune_state *rows,
                      size_t n)
{
    double(*boxes)[4];
    size_t nboxes;
    assert_int_equal(pdb_srv_changes_advance(c, version, rows, n, &boxes, &nboxes),
                     PDB_SRV_ADVANCE_REGIONS);
    free(boxes);
    return nboxes;
}

static void test_regions(void **state)
{
    (void)state;
    pdb_srv_changes c = {0};
    pdb_srv_commune_state rows[3] = {row("07894", 105.40, 21.30, 100, 1, 1),
                                     row("08707", 105.60, 21.30, 200, 2, 2),
                                     row("04000", 105.30, 20.80, 300, 3, 3)};
    double(*boxes)[4];
    size_t n;

    assert_int_equal(pdb_srv_changes_reset(&c, 3, 77, rows, 3), 0);
    assert_int_equal(pdb_srv_changes_advance(&c, 3, rows, 3, &boxes, &n), PDB_SRV_ADVANCE_SAME);
    assert_int_equal(version_at(&c, 105.42, 21.32), 3);

    /* 08707 re-imported (version 4): only its box changes version. */
    rows[1].last_batch = 4;
    rows[1].parcels = 210;
    rows[1].data_version = 4;
    assert_int_equal(regions(&c, 4, rows, 3), 1);
    assert_int_equal(version_at(&c, 105.62, 21.32), 4);
    assert_int_equal(version_at(&c, 105.42, 21.32), 3); /* 07894 stays current */
    assert_int_equal(c.baseline, 3);

    /* 07894 moves east (a new survey): both its old and new places change. */
    rows[0] = row("07894", 105.45, 21.30, 120, 5, 5);
    assert_int_equal(regions(&c, 5, rows, 3), 1);
    assert_int_equal(version_at(&c, 105.41, 21.32), 5); /* the old place */
    assert_int_equal(version_at(&c, 105.49, 21.32), 5); /* the new place */
    assert_int_equal(version_at(&c, 105.32, 20.82), 3); /* Hoa Binh untouched */

    /* A new commune (version 6) and the log keeps one record per commune. */
    pdb_srv_commune_state more[4] = {rows[0], rows[1], rows[2],
                                     row("09000", 105.70, 21.40, 5, 6, 6)};
    assert_int_equal(regions(&c, 6, more, 4), 1);
    assert_int_equal(version_at(&c, 105.72, 21.42), 6);
    assert_int_equal(c.nrec, 3);

    /* Two versions, one commune: 04000 committed twice between two looks,
     * the second time with the very same row. Its stamp says so: only its
     * place changes, nothing else is stale. */
    more[2].last_batch = 7;
    more[2].data_version = 8;
    assert_int_equal(regions(&c, 8, more, 4), 1);
    assert_int_equal(c.baseline, 3);
    assert_int_equal(version_at(&c, 105.32, 20.82), 8);
    assert_int_equal(version_at(&c, 105.62, 21.32), 4);
    assert_int_equal(version_at(&c, 105.72, 21.42), 6);

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
    pdb_srv_commune_state rows[2] = {row("07894", 105.40, 21.30, 100, 1, 2),
                                     row("08707", 105.60, 21.30, 200, 2, 3)};
    rows[0].overview_fresh = rows[1].overview_fresh = 1;
    assert_int_equal(pdb_srv_changes_reset(&c, 3, 1, rows, 2), 0);

    /* An import run seen whole: the commune's commit (4) and the rebuild
     * (5) stamp it; the other commune stays current. */
    rows[0].last_batch = 3;
    rows[0].data_version = 5;
    assert_int_equal(regions(&c, 5, rows, 2), 1);
    assert_int_equal(version_at(&c, 105.42, 21.32), 5);
    assert_int_equal(version_at(&c, 105.62, 21.32), 3);

    /* Seen in two looks: the commit (stale), then the rebuild alone. */
    rows[1].last_batch = 4;
    rows[1].overview_fresh = 0;
    rows[1].data_version = 6;
    assert_int_equal(regions(&c, 6, rows, 2), 1);
    rows[1].overview_fresh = 1;
    rows[1].data_version = 7;
    assert_int_equal(regions(&c, 7, rows, 2), 1);
    assert_int_equal(version_at(&c, 105.62, 21.32), 7);
    assert_int_equal(version_at(&c, 105.42, 21.32), 5);

    /* Two runs of 07894 between two looks (two commits, two rebuilds):
     * still only 07894. */
    rows[0].last_batch = 6;
    rows[0].data_version = 11;
    assert_int_equal(regions(&c, 11, rows, 2), 1);
    assert_int_equal(version_at(&c, 105.42, 21.32), 11);
    assert_int_equal(version_at(&c, 105.62, 21.32), 7);

    /* A commune committed again with an identical row while its overviews
     * were fresh, then rebuilt: the row says nothing, the stamp does. */
    rows[1].data_version = 13;
    assert_int_equal(regions(&c, 13, rows, 2), 1);
    assert_int_equal(version_at(&c, 105.62, 21.32), 13);
    assert_int_equal(version_at(&c, 105.42, 21.32), 11);

    /* A rebuild that failed changes a state only (stamped 14): that commune. */
    rows[0].overview_fresh = 0;
    rows[0].data_version = 14;
    assert_int_equal(regions(&c, 14, rows, 2), 1);
    assert_int_equal(version_at(&c, 105.42, 21.32), 14);
    assert_int_equal(version_at(&c, 105.62, 21.32), 13);
    assert_int_equal(c.baseline, 3);
    pdb_srv_changes_clear(&c);
}

static void test_vanished_and_unstamped_moves(void **state)
{
    (void)state;
    pdb_srv_changes c = {0};
    pdb_srv_commune_state rows[3] = {row("07894", 105.40, 21.30, 100, 1, 1),
                                     row("08707", 105.60, 21.30, 200, 2, 2),
                                     row("04000", 105.30, 20.80, 300, 3, 3)};
    assert_int_equal(pdb_srv_changes_reset(&c, 3, 1, rows, 3), 0);

    /* 08707's row is gone (a file edited by hand): its place is stale. */
    pdb_srv_commune_state two[2] = {rows[0], rows[2]};
    assert_int_equal(regions(&c, 4, two, 2), 1);
    assert_int_equal(version_at(&c, 105.62, 21.32), 4);
    assert_int_equal(version_at(&c, 105.42, 21.32), 3);

    /* A row that moved under an old stamp (written without stamping) is
     * not trusted to be unchanged. */
    two[1].parcels = 301;
    assert_int_equal(regions(&c, 5, two, 2), 1);
    assert_int_equal(version_at(&c, 105.32, 20.82), 5);
    assert_int_equal(version_at(&c, 105.42, 21.32), 3);
    pdb_srv_changes_clear(&c);
}

static void test_schema1_store(void **state)
{
    (void)state;
    pdb_srv_changes c = {0};
    pdb_srv_commune_state rows[2] = {row("07894", 105.40, 21.30, 100, 1, -1),
                                     row("08707", 105.60, 21.30, 200, 2, -1)};
    double(*boxes)[4];
    size_t n;

    /* A store of schema 1 (no stamps): read as it is. */
    assert_int_equal(pdb_srv_changes_reset(&c, 5, 1, rows, 2), 0);
    assert_int_equal(pdb_srv_changes_advance(&c, 5, rows, 2, &boxes, &n), PDB_SRV_ADVANCE_SAME);
    /* Its version moved (an older engine wrote): nothing says what changed. */
    assert_int_equal(pdb_srv_changes_advance(&c, 6, rows, 2, &boxes, &n), PDB_SRV_ADVANCE_ALL);
    assert_null(boxes);
    assert_int_equal(c.baseline, 6);

    /* Upgraded at version 6 (every row stamped 6), then 08707 imported
     * (7) and rebuilt (8): exact again, from the unstamped rows seen. */
    rows[0].data_version = 6;
    rows[1].data_version = 8;
    rows[1].last_batch = 3;
    assert_int_equal(regions(&c, 8, rows, 2), 1);
    assert_int_equal(version_at(&c, 105.62, 21.32), 8);
    assert_int_equal(version_at(&c, 105.42, 21.32), 6);
    assert_int_equal(c.baseline, 6);

    /* A log that last saw version 4 (before an older engine's write at 5)
     * finds every commune stamped after it: every place is stale. */
    pdb_srv_commune_state old[2] = {row("07894", 105.40, 21.30, 100, 1, -1),
                                    row("08707", 105.60, 21.30, 200, 2, -1)};
    assert_int_equal(pdb_srv_changes_reset(&c, 4, 1, old, 2), 0);
    assert_int_equal(regions(&c, 8, rows, 2), 2);
    assert_int_equal(version_at(&c, 105.42, 21.32), 8);
    pdb_srv_changes_clear(&c);
}

static void test_empty_communes(void **state)
{
    (void)state;
    pdb_srv_changes c = {0};
    pdb_srv_commune_state r = row("07894", 105.4, 21.3, 0, 1, 1);
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
    pdb_srv_commune_state rows[2] = {row("07894", 105.40, 21.30, 100, 1, 1),
                                     row("08707", 105.60, 21.30, 200, 2, 2)};
    double(*boxes)[4];
    size_t n;
    pdb_srv_changes_reset(&c, 2, 1234567890123ull, rows, 2);
    c.identity = 99;
    rows[1].last_batch = 3;
    rows[1].data_version = 3;
    pdb_srv_changes_advance(&c, 3, rows, 2, &boxes, &n);
    free(boxes);
    char *text = pdb_srv_changes_format(&c);
    assert_non_null(text);
    assert_int_equal(strncmp(text, "parceldb-tile-state 2\n", 22), 0);
    assert_int_equal(pdb_srv_changes_parse(&d, text), 0);
    assert_int_equal(d.version, 3);
    assert_int_equal(d.baseline, 2);
    assert_true(d.epoch == 1234567890123ull);
    assert_int_equal(d.identity, 99);
    assert_int_equal(d.ncommunes, 2);
    assert_int_equal(d.communes[0].data_version, 1);
    assert_int_equal(d.communes[1].data_version, 3);
    assert_int_equal(d.nrec, 1);
    assert_int_equal(version_at(&d, 105.62, 21.32), 3);
    assert_int_equal(version_at(&d, 105.42, 21.32), 2);
    free(text);
    /* Damaged state files are refused and leave the log as it was. */
    const char *bad[] = {"", "garbage\n", "parceldb-tile-state 2\nversion x\n",
                         "parceldb-tile-state 2\ncommune 1 2\n",
                         "parceldb-tile-state 2\nversion 1\nbaseline 5\n",
                         "parceldb-tile-state 3\nversion 1\n",
                         /* a row without its version in a version 2 file */
                         "parceldb-tile-state 2\ncommune 07894 1 1 9208 105 21 106 22 1\n",
                         /* a version 2 row in a version 1 file */
                         "parceldb-tile-state 1\ncommune 07894 1 1 9208 105 21 106 22 1 4\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(pdb_srv_changes_parse(&d, bad[i]), -1);
    assert_int_equal(d.version, 3);
    pdb_srv_changes_clear(&d);

    /* A file of a server from before per-commune versions is read (its
     * cache stays valid across the upgrade); its rows are unstamped, and
     * the next look with stamped rows is exact. */
    char v1[1024];
    int len = snprintf(v1, sizeof v1,
                       "parceldb-tile-state 1\nversion 3\nbaseline 2\nepoch 5\n"
                       "identity 99\nchange 08707 3 1 2 3 4\n");
    for (int i = 0; i < 2; i++)
        len +=
            snprintf(v1 + len, sizeof v1 - (size_t)len,
                     "commune %s %lld %lld %d %.17g %.17g %.17g %.17g 0\n", rows[i].code,
                     (long long)rows[i].parcels, (long long)rows[i].last_batch, rows[i].source_srid,
                     rows[i].bbox[0], rows[i].bbox[1], rows[i].bbox[2], rows[i].bbox[3]);
    assert_int_equal(pdb_srv_changes_parse(&d, v1), 0);
    assert_int_equal(d.ncommunes, 2);
    assert_int_equal(d.communes[0].data_version, -1);
    rows[0].data_version = 4;
    rows[1].data_version = 3;
    assert_int_equal(regions(&d, 4, rows, 2), 1);
    assert_int_equal(version_at(&d, 105.42, 21.32), 4);
    assert_int_equal(version_at(&d, 105.62, 21.32), 2);
    assert_int_equal(d.baseline, 2);
    pdb_srv_changes_clear(&c);
    pdb_srv_changes_clear(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regions),
        cmocka_unit_test(test_overview_rebuilds),
        cmocka_unit_test(test_vanished_and_unstamped_moves),
        cmocka_unit_test(test_schema1_store),
        cmocka_unit_test(test_empty_communes),
        cmocka_unit_test(test_state_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
