/*
 * test_idlist.c: the box read's two steps (engine/src/idlist.c, query.c):
 * the typed sort of R-tree candidates against qsort on orders that break
 * naive quicksorts, and pdb_features_in_bbox (and its survey form) against
 * the single statement it replaced, `p.id IN (SELECT pkid FROM the
 * R-tree) ... ORDER BY p.id`, on a store where re-imported communes leave
 * superseded rows in the R-tree beside the current ones.
 */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idlist.h"
#include "parceldb.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 17;
}

static void check_sort(const int64_t *in, size_t n)
{
    int64_t *a = malloc((n + 1) * sizeof *a), *ref = malloc((n + 1) * sizeof *ref);
    memcpy(a, in, n * sizeof *a);
    memcpy(ref, in, n * sizeof *ref);
    qsort(ref, n, sizeof *ref, cmp_i64);
    size_t k = n ? 1 : 0;
    for (size_t i = 1; i < n; i++)
        if (ref[i] != ref[k - 1])
            ref[k++] = ref[i];
    size_t got = pdb__idlist_sort(a, n);
    assert_int_equal(got, k);
    for (size_t i = 0; i < k; i++)
        assert_true(a[i] == ref[i]);
    free(a);
    free(ref);
}

/* Random, sorted, reversed, all equal, few distinct, organ pipe, and
 * median-of-three killers, at sizes around the insertion-sort cut. */
static void test_sort_matches_qsort(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 2, 3, 15, 16, 17, 33, 100, 511, 4096, 50000};
    uint64_t seed = 7;
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        size_t n = sizes[si];
        int64_t *a = malloc((n + 1) * sizeof *a);
        for (int pattern = 0; pattern < 7; pattern++) {
            for (size_t i = 0; i < n; i++) {
                int64_t r = (int64_t)next(&seed);
                switch (pattern) {
                case 0: a[i] = r % 1000000; break;
                case 1: a[i] = (int64_t)i; break;
                case 2: a[i] = (int64_t)(n - i); break;
                case 3: a[i] = 42; break;
                case 4: a[i] = r % 3; break;
                case 5: a[i] = (int64_t)(i < n / 2 ? i : n - i); break;
                default: a[i] = (int64_t)(i % 2 ? i : n + i); break;
                }
            }
            check_sort(a, n);
        }
        free(a);
    }
}

typedef struct got {
    int64_t *ids;
    size_t n, cap;
    int survey; /* features that came with their survey geometry */
} got;

static int add_id(void *arg, const pdb_feature *f)
{
    got *g = arg;
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 256;
        g->ids = realloc(g->ids, g->cap * sizeof *g->ids);
    }
    g->ids[g->n++] = f->id;
    g->survey += f->survey_srid != 0;
    assert_true(f->npoints >= 4);
    return 0;
}

/* The statement the box read used before it took its candidates into C. */
static size_t reference(sqlite3 *db, const double b[4], int64_t **out)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT p.id FROM parcels p WHERE p.id IN (SELECT pkid FROM "
                                        "idx_parcels_geom WHERE xmin <= ?3 AND xmax >= ?1 AND "
                                        "ymin <= ?4 AND ymax >= ?2) AND p.valid_to IS NULL "
                                        "ORDER BY p.id",
                                        -1, &st, NULL),
                     SQLITE_OK);
    for (int i = 0; i < 4; i++)
        sqlite3_bind_double(st, i + 1, b[i]);
    size_t n = 0, cap = 256;
    int64_t *ids = malloc(cap * sizeof *ids);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap)
            ids = realloc(ids, (cap *= 2) * sizeof *ids);
        ids[n++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    *out = ids;
    return n;
}

static void test_box_read_equals_in_subquery(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("idlist");
    const char *bin = getenv("PARCELDB") ? getenv("PARCELDB") : PDB_BINARY_DIR "/cli/parceldb";
    char path[600], src[600];
    snprintf(path, sizeof path, "%s/parcels.sqlite", dir);
    snprintf(src, sizeof src, "%s/survey", dir);
    /* Two communes in two zones; the first imported twice, so its first
     * rows are superseded but still in the R-tree. */
    assert_int_equal(tu_run("'%s/samples/pdb-synth' --out '%s' --communes 07894,08707 "
                            "--parcels-per-commune 300 --defects none --quiet",
                            PDB_BINARY_DIR, src),
                     0);
    assert_int_equal(tu_run("'%s' init --db '%s' >/dev/null && '%s' import --quiet --no-overviews "
                            "--db '%s' '%s' >/dev/null && '%s' import --quiet --no-overviews "
                            "--force --db '%s' '%s' >/dev/null",
                            bin, path, bin, path, src, bin, path, src),
                     0);
    pdb_ctx *ctx = NULL;
    pdb_store *s = NULL;
    sqlite3 *db = NULL;
    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    assert_int_equal(pdb_store_open(ctx, path, PDB_OPEN_READONLY, &s), PDB_OK);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    pdb_commune_list *cl = NULL;
    assert_int_equal(pdb_communes_list(ctx, s, &cl), PDB_OK);
    assert_int_equal(cl->count, 2);
    /* The communes' survey zones, for the survey form. */
    int zones[2] = {0, 0}, nz = 0;
    sqlite3_stmt *zq;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT DISTINCT source_srid FROM parcels ORDER BY 1",
                                        -1, &zq, NULL),
                     SQLITE_OK);
    while (nz < 2 && sqlite3_step(zq) == SQLITE_ROW)
        zones[nz++] = sqlite3_column_int(zq, 0);
    sqlite3_finalize(zq);
    assert_int_equal(nz, 2);
    uint64_t seed = 3;
    size_t nonempty = 0, superseded = 0, survey = 0;
    for (int k = 0; k < 200; k++) {
        const double *cb = cl->items[k % 2].bbox;
        double w = (cb[2] - cb[0]) * (k % 5 == 0 ? 1.2 : 0.05 + 0.3 * (double)(next(&seed) % 100) / 100);
        double h = (cb[3] - cb[1]) * (k % 5 == 0 ? 1.2 : 0.05 + 0.3 * (double)(next(&seed) % 100) / 100);
        double x = cb[0] - w / 4 + (cb[2] - cb[0]) * (double)(next(&seed) % 1000) / 1000;
        double y = cb[1] - h / 4 + (cb[3] - cb[1]) * (double)(next(&seed) % 1000) / 1000;
        double b[4] = {x, y, x + w, y + h};
        int64_t *ref = NULL;
        size_t nref = reference(db, b, &ref);
        got g = {0};
        assert_int_equal(pdb_features_in_bbox(ctx, s, b, add_id, &g), PDB_OK);
        assert_int_equal(g.n, nref);
        for (size_t i = 0; i < nref; i++)
            assert_true(g.ids[i] == ref[i]);
        /* The survey form: the same parcels, the same order. */
        got gs = {0};
        int epsg = zones[(k / 2) % 2];
        assert_int_equal(pdb_features_in_bbox_survey(ctx, s, b, epsg, add_id, &gs), PDB_OK);
        assert_int_equal(gs.n, nref);
        for (size_t i = 0; i < nref; i++)
            assert_true(gs.ids[i] == ref[i]);
        nonempty += nref > 0;
        survey += (size_t)gs.survey;
        sqlite3_stmt *st;
        sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM idx_parcels_geom r JOIN parcels p ON p.id = r.pkid "
                           "WHERE xmin <= ?3 AND xmax >= ?1 AND ymin <= ?4 AND ymax >= ?2 AND "
                           "p.valid_to IS NOT NULL",
                           -1, &st, NULL);
        for (int i = 0; i < 4; i++)
            sqlite3_bind_double(st, i + 1, b[i]);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0)
            superseded++;
        sqlite3_finalize(st);
        free(ref);
        free(g.ids);
        free(gs.ids);
    }
    /* The boxes did meet parcels, and superseded rows among them. */
    assert_true(nonempty > 100);
    assert_true(superseded > 100);
    assert_true(survey > 0);
    pdb_commune_list_free(cl);
    sqlite3_close(db);
    pdb_store_close(s);
    pdb_ctx_free(ctx);
    tu_run("rm -rf '%s'", dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort_matches_qsort),
        cmocka_unit_test(test_box_read_equals_in_subquery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
