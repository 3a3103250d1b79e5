/*
 * test_lookup.c: the in-memory point-lookup index (engine/src/lookup.c)
 * against two references on a synthetic survey of three communes, one in
 * each of Phu Tho's zones, written by pdb-synth and loaded by `parceldb
 * import` as a user would: the engine's SQL path (SpatiaLite's R-tree and
 * the same exact test) must give the very same parcels for every point,
 * and SpatiaLite's own ST_Contains (GEOS) must agree wherever a point is
 * not on a parcel boundary. Then what a store can throw at the index:
 * damaged, stale or missing BLOBs, stores made before the index, and a
 * re-import under a reading handle.
 */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lookup.h" /* pdb__parcels_at_sql, the reference */

#define COMMUNES "07894,08707,04792" /* Viet Tri 104-45, Vinh Yen 105-00, Hoa Binh 106-00 */
#define PER_COMMUNE 400
#define NPOINTS 6000

typedef struct env {
    pdb_ctx *ctx;   /* the test thread's context */
    char dir[512];  /* temporary directory */
    char path[600]; /* the store */
    char src[600];  /* pdb-synth's output */
    double *pts;    /* NPOINTS lon/lat pairs */
    size_t npts;    /* points in pts */
    size_t limit;   /* feature_points stops at this many */
} env;

static const char *parceldb(void)
{
    const char *p = getenv("PARCELDB");
    return p ? p : PDB_BINARY_DIR "/cli/parceldb";
}

/* Uniform in [0, 1), from a fixed seed: the same points every run. */
static double rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/* Points to test: uniform over each commune's box (inside, outside and in
 * gaps), and every vertex and edge midpoint of some parcels (the boundary
 * cases the half-open rule decides). */
static int feature_points(void *arg, const pdb_feature *f)
{
    env *e = arg;
    for (size_t i = 0; i + 1 < f->npoints && e->npts + 2 <= e->limit; i++) {
        e->pts[2 * e->npts] = f->xy[2 * i];
        e->pts[2 * e->npts + 1] = f->xy[2 * i + 1];
        e->npts++;
        e->pts[2 * e->npts] = (f->xy[2 * i] + f->xy[2 * i + 2]) / 2;
        e->pts[2 * e->npts + 1] = (f->xy[2 * i + 1] + f->xy[2 * i + 3]) / 2;
        e->npts++;
    }
    return e->npts + 2 > e->limit;
}

static void make_points(env *e, pdb_store *s)
{
    pdb_commune_list *cl = NULL;
    uint64_t seed = 42;
    assert_int_equal(pdb_communes_list(e->ctx, s, &cl), PDB_OK);
    assert_int_equal(cl->count, 3);
    e->npts = 0;
    /* Vertices first, from one corner of each commune. */
    for (size_t c = 0; c < cl->count; c++) {
        const double *b = cl->items[c].bbox;
        double box[4] = {b[0], b[1], b[0] + (b[2] - b[0]) / 8, b[1] + (b[3] - b[1]) / 8};
        e->limit = e->npts + NPOINTS / 2 / cl->count;
        assert_int_equal(pdb_features_in_bbox(e->ctx, s, box, feature_points, e), PDB_OK);
    }
    while (e->npts < NPOINTS) {
        const double *b = cl->items[e->npts % cl->count].bbox;
        double mx = (b[2] - b[0]) * 0.05, my = (b[3] - b[1]) * 0.05;
        e->pts[2 * e->npts] = b[0] - mx + rnd(&seed) * (b[2] - b[0] + 2 * mx);
        e->pts[2 * e->npts + 1] = b[1] - my + rnd(&seed) * (b[3] - b[1] + 2 * my);
        e->npts++;
    }
    pdb_commune_list_free(cl);
}

/* Extra pdb-synth options of the group being set up. */
static const char *synth_extra = "";

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "%s", tu_tmpdir("lookup"));
    snprintf(e->path, sizeof e->path, "%s/parcels.sqlite", e->dir);
    snprintf(e->src, sizeof e->src, "%s/survey", e->dir);
    if (tu_run("'%s/samples/pdb-synth' --out '%s' --communes " COMMUNES
               " --parcels-per-commune %d --defects none --quiet %s",
               PDB_BINARY_DIR, e->src, PER_COMMUNE, synth_extra) != 0 ||
        tu_run("'%s' init --db '%s' >/dev/null && '%s' import --quiet --no-overviews --db '%s' "
               "'%s' >/dev/null",
               parceldb(), e->path, parceldb(), e->path, e->src) != 0)
        return -1;
    if (pdb_ctx_new(&e->ctx) != PDB_OK || (e->pts = malloc(2 * NPOINTS * sizeof(double))) == NULL)
        return -1;
    pdb_store *s = NULL;
    if (pdb_store_open(e->ctx, e->path, PDB_OPEN_READONLY, &s) != PDB_OK)
        return -1;
    make_points(e, s);
    pdb_store_close(s);
    *state = e;
    return 0;
}

/* The same communes with boundaries that curve (a vertex every 2 m, each
 * shared by both neighbours, another seed): many nearly collinear
 * vertices, where an edge test or a float box rounded the wrong way would
 * show. */
static int setup_curved(void **state)
{
    synth_extra = "--curved-edges 2 --seed 5";
    return setup(state);
}

static int teardown(void **state)
{
    env *e = *state;
    pdb_ctx_free(e->ctx);
    tu_run("rm -rf '%s'", e->dir);
    free(e->pts);
    free(e);
    return 0;
}

static pdb_store *open_store(env *e, int flags)
{
    pdb_store *s = NULL;
    if (pdb_store_open(e->ctx, e->path, flags, &s) != PDB_OK)
        fail_msg("open: %s", pdb_errmsg(e->ctx));
    return s;
}

/* The ids of a list joined by ',', for messages and comparison. */
static void ids_of(const pdb_parcel_list *l, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < l->count; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%lld", i ? "," : "",
                 (long long)l->items[i].id);
}

/* A batch's answer names the very parcel of a list's first item. */
static void assert_same_parcel(const pdb_point_parcel *got, const pdb_parcel *want)
{
    assert_int_equal(got->id, want->id);
    assert_string_equal(got->commune, want->commune);
    assert_string_equal(got->sheet, want->sheet);
    assert_string_equal(got->parcel, want->parcel);
}

static int same_text(const char *a, const char *b)
{
    return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* The public fields the index answers from memory are the store's own. */
static void assert_same_fields(size_t point, const pdb_parcel *got, const pdb_parcel *want)
{
    const char *got_t[] = {got->former_commune, got->landuse, got->address, got->valid_from};
    const char *want_t[] = {want->former_commune, want->landuse, want->address, want->valid_from};
    for (int k = 0; k < 4; k++)
        if (!same_text(got_t[k], want_t[k]))
            fail_msg("point %zu, parcel %lld: text %d is [%s], the store has [%s]", point,
                     (long long)got->id, k, got_t[k] ? got_t[k] : "NULL",
                     want_t[k] ? want_t[k] : "NULL");
    if (!(got->area_surveyed_m2 == want->area_surveyed_m2 ||
          (isnan(got->area_surveyed_m2) && isnan(want->area_surveyed_m2))) ||
        got->area_computed_m2 != want->area_computed_m2 || got->batch_id != want->batch_id ||
        got->source_srid != want->source_srid || got->flags != want->flags)
        fail_msg("point %zu, parcel %lld: numbers differ from the store's", point,
                 (long long)got->id);
}

/* Every point: the index and the SQL path give the same parcels, with the
 * same public fields, and the
 * batch call gives the first of them. Returns the number of points that
 * hit a parcel, so that callers can check the test saw real answers. */
static size_t compare_with_sql(env *e, pdb_store *s)
{
    pdb_point_parcel *batch = calloc(e->npts, sizeof *batch);
    size_t hits = 0;
    assert_non_null(batch);
    if (pdb_parcels_first_at(e->ctx, s, e->pts, e->npts, batch) != PDB_OK)
        fail_msg("batch lookup: %s", pdb_errmsg(e->ctx));
    for (size_t i = 0; i < e->npts; i++) {
        double lon = e->pts[2 * i], lat = e->pts[2 * i + 1];
        pdb_parcel_list *fast = NULL, *ref = NULL;
        char a[256], b[256];
        assert_int_equal(pdb_parcels_at(e->ctx, s, lon, lat, 0, &fast), PDB_OK);
        assert_int_equal(pdb__parcels_at_sql(e->ctx, s, lon, lat, 0, &ref), PDB_OK);
        ids_of(fast, a, sizeof a);
        ids_of(ref, b, sizeof b);
        if (strcmp(a, b) != 0)
            fail_msg("point %zu (%.12f, %.12f): index gives [%s], SQL gives [%s]", i, lon, lat, a,
                     b);
        for (size_t j = 0; j < fast->count; j++)
            assert_same_fields(i, &fast->items[j], &ref->items[j]);
        int64_t first = fast->count ? fast->items[0].id : 0;
        if (batch[i].id != first)
            fail_msg("point %zu: batch gives %lld, pdb_parcels_at %lld", i, (long long)batch[i].id,
                     (long long)first);
        if (first != 0) {
            assert_same_parcel(&batch[i], &fast->items[0]);
            hits++;
        } else {
            assert_null(batch[i].commune);
        }
        pdb_parcel_list_free(fast);
        pdb_parcel_list_free(ref);
    }
    free(batch);
    return hits;
}

static void test_index_equals_sql_path(void **state)
{
    env *e = *state;
    pdb_store *s = open_store(e, PDB_OPEN_READONLY);
    size_t hits = compare_with_sql(e, s);
    /* Most points fall in parcels, some outside: both kinds were tested. */
    assert_true(hits > e->npts / 2);
    assert_true(hits < e->npts);
    pdb_store_close(s);
}

/* SpatiaLite's ST_Contains (GEOS, robust predicates) is an independent
 * implementation. A point more than NEAR from every parcel boundary must
 * get exactly the parcel ST_Contains names, or none. Nearer than that the
 * two rules differ by design (ST_Contains says false on a boundary; ours
 * gives a shared edge to one side) and by rounding (a computed midpoint is
 * within an ulp of its edge, on either side): there we must give at most
 * one parcel, and one of those near the point. */
#define NEAR 1e-10 /* degrees: about 10 micrometres */

static void test_index_agrees_with_spatialite(void **state)
{
    env *e = *state;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char *err = NULL;
    size_t interior = 0, boundary = 0, outside = 0;

    pdb_store *s = open_store(e, PDB_OPEN_READONLY);
    assert_int_equal(sqlite3_open_v2(e->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_enable_load_extension(db, 1);
    if (sqlite3_load_extension(db, "mod_spatialite", NULL, &err) != SQLITE_OK)
        fail_msg("mod_spatialite: %s", err);
    /* The parcels near the point: ids, how many contain it, and whether
     * any boundary is near. */
    assert_int_equal(
        sqlite3_prepare_v2(
            db,
            "WITH pt(g) AS (SELECT MakePoint(?1, ?2, 4326)), near AS (SELECT p.id, "
            "ST_Contains(p.geom, pt.g) AS inside, ST_Distance(ST_Boundary(p.geom), pt.g) AS edge "
            "FROM parcels p, pt WHERE p.valid_to IS NULL AND p.id IN (SELECT rowid FROM "
            "SpatialIndex WHERE f_table_name = 'parcels' AND search_frame = BuildMbr(?1 - ?3, "
            "?2 - ?3, ?1 + ?3, ?2 + ?3, 4326)) AND ST_Distance(p.geom, pt.g) <= ?3 ORDER BY p.id) "
            "SELECT ',' || group_concat(id) || ',', (SELECT id FROM near WHERE inside), "
            "coalesce(min(edge) <= ?3, 0) FROM near",
            -1, &st, NULL),
        SQLITE_OK);
    for (size_t i = 0; i < e->npts; i++) {
        double lon = e->pts[2 * i], lat = e->pts[2 * i + 1];
        pdb_parcel_list *ours = NULL;
        sqlite3_bind_double(st, 1, lon);
        sqlite3_bind_double(st, 2, lat);
        sqlite3_bind_double(st, 3, NEAR);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        const char *near = (const char *)sqlite3_column_text(st, 0);
        int64_t inside = sqlite3_column_int64(st, 1);
        int on_edge = sqlite3_column_int(st, 2);
        assert_int_equal(pdb_parcels_at(e->ctx, s, lon, lat, 0, &ours), PDB_OK);
        char mine[256];
        ids_of(ours, mine, sizeof mine);
        if (near == NULL) {
            if (ours->count != 0)
                fail_msg("point %zu: SpatiaLite finds no parcel, we find [%s]", i, mine);
            outside++;
        } else if (!on_edge) {
            if (ours->count != 1 || ours->items[0].id != inside)
                fail_msg("point %zu (%.12f, %.12f): SpatiaLite contains %lld, we [%s]", i, lon, lat,
                         (long long)inside, mine);
            interior++;
        } else {
            char needle[300];
            snprintf(needle, sizeof needle, ",%s,", mine);
            if (ours->count > 1 || (ours->count == 1 && strstr(near, needle) == NULL))
                fail_msg("point %zu (%.12f, %.12f) near the boundaries of [%s]: we give [%s]", i,
                         lon, lat, near, mine);
            boundary++;
        }
        pdb_parcel_list_free(ours);
        sqlite3_reset(st);
    }
    /* Every kind was exercised. */
    if (interior < 1000 || boundary < 100 || outside < 10)
        fail_msg("too few cases: %zu interior, %zu boundary, %zu outside", interior, boundary,
                 outside);
    sqlite3_finalize(st);
    sqlite3_close(db);
    pdb_store_close(s);
}

/* Runs SQL on the store with the sqlite3 shell, as an operator or a
 * damaged disk would change it. */
static void store_sql(env *e, const char *sql)
{
    assert_int_equal(tu_run("sqlite3 '%s' \"%s\"", e->path, sql), 0);
}

static char *copy_store(env *e, const char *name)
{
    static char saved[700];
    snprintf(saved, sizeof saved, "%s/%s", e->dir, name);
    assert_int_equal(tu_run("cp '%s' '%s'", e->path, saved), 0);
    return saved;
}

static void restore_store(env *e, const char *saved)
{
    assert_int_equal(tu_run("cp '%s' '%s' && rm -f '%s'", saved, e->path, saved), 0);
}

/* A damaged BLOB is never trusted: lookups rebuild the commune from its
 * parcels and answer exactly as before. Each kind of damage in turn. */
static void test_damaged_blobs_are_rebuilt(void **state)
{
    env *e = *state;
    static const char *damage[] = {
        /* not ours at all */
        "UPDATE lookup_index SET data = x'00112233' WHERE commune = '07894'",
        /* the header's count larger than the entries */
        "UPDATE lookup_index SET data = substr(data, 1, 8) || x'ffff0000' || substr(data, 13) "
        "WHERE commune = '08707'",
        /* truncated in the middle of the geometries */
        "UPDATE lookup_index SET data = substr(data, 1, length(data) / 2) WHERE commune = "
        "'04792'",
        /* an entry's geometry offset far outside the BLOB */
        "UPDATE lookup_index SET data = substr(data, 1, 72) || x'ffffff7f' || substr(data, 77) "
        "WHERE commune = '07894'",
        /* an entry's box turned inside out (min > max): bytes of min lon */
        "UPDATE lookup_index SET data = substr(data, 1, 40) || x'000000000000f07f' || "
        "substr(data, 49) WHERE commune = '08707'",
        /* every text without its NUL (a batch checks only its answers' texts) */
        "UPDATE lookup_index SET data = substr(data, 1, 32 + 56 * parcels + (SELECT "
        "sum(length(geom)) FROM parcels p WHERE p.commune = lookup_index.commune AND p.valid_to "
        "IS NULL)) || CAST(substr(replace(hex(zeroblob(length(data))), '0', 'A'), 1, length(data) "
        "- 32 - 56 * parcels - (SELECT sum(length(geom)) FROM parcels p WHERE p.commune = "
        "lookup_index.commune AND p.valid_to IS NULL)) AS BLOB) WHERE commune = '08707'",
        /* the last record's last byte (a NULL text's marker, or a text's NUL)
         * made 7: a record that does not end, caught at load */
        "UPDATE lookup_index SET data = substr(data, 1, length(data) - 1) || x'07' "
        "WHERE commune = '07894'",
        /* the header's records_bytes past the BLOB's end (a batch, which
         * reads no record, may still use the rest) */
        "UPDATE lookup_index SET data = substr(data, 1, 12) || x'ffffff00' || substr(data, 17) "
        "WHERE commune = '04792'",
        /* geometry bytes scrambled: caught by the BLOB reader, not trusted */
        "UPDATE lookup_index SET data = substr(data, 1, 32 + 56 * parcels) || "
        "zeroblob(length(data) - 32 - 56 * parcels) WHERE commune = '04792'",
    };
    char *saved = copy_store(e, "undamaged.sqlite");
    for (size_t k = 0; k < sizeof damage / sizeof damage[0]; k++) {
        assert_int_equal(tu_run("cp '%s' '%s'", saved, e->path), 0);
        char *changed = tu_capture("sqlite3 '%s' \"%s; SELECT changes();\"", e->path, damage[k]);
        assert_non_null(changed);
        assert_string_equal(changed, "1\n"); /* the damage was done */
        free(changed);
        pdb_store *s = open_store(e, PDB_OPEN_READONLY);
        size_t hits = compare_with_sql(e, s);
        if (hits <= e->npts / 2)
            fail_msg("damage %zu: only %zu of %zu points found parcels", k, hits, e->npts);
        pdb_store_close(s);
    }
    restore_store(e, saved);
}

/* A store made before the index (no lookup_index table) is answered from
 * its parcels by a read-only handle, and gets the index at its first
 * read-write open. A stale row (another batch) is not used. */
static void test_store_without_index(void **state)
{
    env *e = *state;
    char *saved = copy_store(e, "with-index.sqlite");
    char saved_copy[700];
    snprintf(saved_copy, sizeof saved_copy, "%s", saved);

    store_sql(e, "UPDATE lookup_index SET batch_id = batch_id + 1000 WHERE commune = '07894'");
    pdb_store *s = open_store(e, PDB_OPEN_READONLY);
    compare_with_sql(e, s);
    pdb_store_close(s);

    store_sql(e, "DROP TABLE lookup_index");
    s = open_store(e, PDB_OPEN_READONLY);
    compare_with_sql(e, s);
    pdb_store_close(s);

    /* Without its BLOB a commune's box would come from the communes table:
     * one that says less than the parcels cover must not hide them, for a
     * batch or for points one by one (each on a fresh handle). */
    store_sql(e, "UPDATE communes SET max_lon = (min_lon + max_lon) / 2, "
                 "max_lat = (min_lat + max_lat) / 2");
    s = open_store(e, PDB_OPEN_READONLY);
    assert_true(compare_with_sql(e, s) > e->npts / 4);
    pdb_store_close(s);
    s = open_store(e, PDB_OPEN_READONLY);
    for (size_t i = 0; i < e->npts; i++) {
        pdb_parcel_list *fast = NULL, *ref = NULL;
        double lon = e->pts[2 * i], lat = e->pts[2 * i + 1];
        assert_int_equal(pdb_parcels_at(e->ctx, s, lon, lat, 0, &fast), PDB_OK);
        assert_int_equal(pdb__parcels_at_sql(e->ctx, s, lon, lat, 0, &ref), PDB_OK);
        if (fast->count != ref->count || (fast->count > 0 && fast->items[0].id != ref->items[0].id))
            fail_msg("point %zu: %zu parcels by the index, %zu by SQL", i, fast->count, ref->count);
        pdb_parcel_list_free(fast);
        pdb_parcel_list_free(ref);
    }
    pdb_store_close(s);

    s = open_store(e, PDB_OPEN_READWRITE); /* writes the index */
    pdb_store_close(s);
    char *n =
        tu_capture("sqlite3 '%s' \"SELECT count(*), sum(parcels) FROM lookup_index\"", e->path);
    assert_non_null(n);
    char want[32];
    snprintf(want, sizeof want, "3|%d\n", 3 * PER_COMMUNE);
    assert_string_equal(n, want);
    free(n);
    s = open_store(e, PDB_OPEN_READONLY);
    compare_with_sql(e, s);
    pdb_store_close(s);
    restore_store(e, saved_copy);
}

/* A handle that has its index loaded sees a re-import committed by another
 * process at its next lookup: the superseded parcels are gone from its
 * answers and the new ones are there, with no reopen. */
static void test_reimport_under_a_reader(void **state)
{
    env *e = *state;
    char *saved = copy_store(e, "before-reimport.sqlite");
    char saved_copy[700];
    snprintf(saved_copy, sizeof saved_copy, "%s", saved);
    pdb_store *s = open_store(e, PDB_OPEN_READONLY);
    pdb_point_parcel *before = calloc(e->npts, sizeof *before);
    pdb_point_parcel *after = calloc(e->npts, sizeof *after);
    int64_t *before_ids = calloc(e->npts, sizeof *before_ids);
    assert_int_equal(pdb_parcels_first_at(e->ctx, s, e->pts, e->npts, before), PDB_OK);
    for (size_t i = 0; i < e->npts; i++)
        before_ids[i] = before[i].id;

    /* The same survey again, forced: every parcel superseded by a new row. */
    assert_int_equal(tu_run("'%s' import --quiet --no-overviews --force --db '%s' '%s' "
                            ">/dev/null",
                            parceldb(), e->path, e->src),
                     0);
    if (pdb_parcels_first_at(e->ctx, s, e->pts, e->npts, after) != PDB_OK)
        fail_msg("batch lookup after the re-import: %s", pdb_errmsg(e->ctx));
    size_t found = 0;
    for (size_t i = 0; i < e->npts; i++) {
        assert_int_equal(before_ids[i] != 0, after[i].id != 0);
        if (after[i].id == 0)
            continue;
        found++;
        /* New rows, the same parcels. */
        assert_true(after[i].id > before_ids[i]);
        pdb_parcel *p = NULL;
        assert_int_equal(pdb_parcel_get(e->ctx, s, after[i].id, 0, &p), PDB_OK);
        assert_null(p->valid_to);
        assert_string_equal(p->parcel, after[i].parcel);
        pdb_parcel_free(p);
    }
    assert_true(found > 0);
    compare_with_sql(e, s);
    free(before);
    free(after);
    free(before_ids);
    pdb_store_close(s);
    restore_store(e, saved_copy);
}

/* pdb_store_trust_version: with the version the caller read trusted, a
 * lookup makes no store read, so a commit by another process is not seen
 * until the caller trusts the new version (or nothing): the server's 20 ms
 * window. Before the call existed every lookup read the version itself. */
static void test_trusted_version(void **state)
{
    env *e = *state;
    char *saved = copy_store(e, "before-trust.sqlite");
    char saved_copy[700];
    snprintf(saved_copy, sizeof saved_copy, "%s", saved);
    pdb_store *s = open_store(e, PDB_OPEN_READONLY);
    pdb_point_parcel *before = calloc(e->npts, sizeof *before);
    pdb_point_parcel *got = calloc(e->npts, sizeof *got);
    int64_t v0 = -1, v1 = -1;
    assert_int_equal(pdb_store_data_version(e->ctx, s, &v0), PDB_OK);
    /* Point by point, so that every commune met is loaded whole. */
    for (size_t i = 0; i < e->npts; i++) {
        pdb_parcel_list *l = NULL;
        assert_int_equal(
            pdb_parcels_at(e->ctx, s, e->pts[2 * i], e->pts[2 * i + 1], PDB_READ_WGS84, &l),
            PDB_OK);
        before[i].id = l->count > 0 ? l->items[0].id : 0;
        pdb_parcel_list_free(l);
    }
    pdb_store_trust_version(s, v0);

    assert_int_equal(tu_run("'%s' import --quiet --no-overviews --force --db '%s' '%s' "
                            ">/dev/null",
                            parceldb(), e->path, e->src),
                     0);
    assert_int_equal(pdb_store_data_version(e->ctx, s, &v1), PDB_OK);
    assert_true(v1 > v0);

    /* Still trusting v0: the answers of v0, from the communes in memory. */
    size_t i0 = e->npts;
    pdb_parcel_list *list = NULL;
    for (size_t i = 0; i < e->npts; i++) {
        assert_int_equal(
            pdb_parcels_at(e->ctx, s, e->pts[2 * i], e->pts[2 * i + 1], PDB_READ_WGS84, &list),
            PDB_OK);
        assert_int_equal(list->count > 0, before[i].id != 0);
        if (list->count > 0)
            assert_int_equal(list->items[0].id, before[i].id);
        if (list->count > 0 && i0 == e->npts)
            i0 = i;
        pdb_parcel_list_free(list);
    }
    assert_true(i0 < e->npts);
    int64_t id_v0 = before[i0].id;
    /* A personal read always reads the store: the new row. */
    assert_int_equal(
        pdb_parcels_at(e->ctx, s, e->pts[2 * i0], e->pts[2 * i0 + 1], PDB_READ_PERSONAL, &list),
        PDB_OK);
    assert_true(list->count >= 1 && list->items[0].id > id_v0);
    pdb_parcel_list_free(list);

    /* Trusting v1, and trusting nothing: the re-imported rows. */
    for (int round = 0; round < 2; round++) {
        pdb_store_trust_version(s, round == 0 ? v1 : -1);
        assert_int_equal(pdb_parcels_first_at(e->ctx, s, e->pts, e->npts, got), PDB_OK);
        for (size_t i = 0; i < e->npts; i++) {
            assert_int_equal(got[i].id != 0, before[i].id != 0);
            if (got[i].id != 0)
                assert_true(got[i].id > before[i].id);
        }
        assert_int_equal(
            pdb_parcels_at(e->ctx, s, e->pts[2 * i0], e->pts[2 * i0 + 1], PDB_READ_WGS84, &list),
            PDB_OK);
        assert_true(list->count >= 1 && list->items[0].id > id_v0);
        pdb_parcel_list_free(list);
    }
    compare_with_sql(e, s);
    free(before);
    free(got);
    pdb_store_close(s);
    restore_store(e, saved_copy);
}

static void test_batch_rejects_bad_points(void **state)
{
    env *e = *state;
    pdb_store *s = open_store(e, PDB_OPEN_READONLY);
    double pts[6] = {105.4, 21.3, 200.0, 21.3, NAN, 0};
    pdb_point_parcel out[3];
    assert_int_equal(pdb_parcels_first_at(e->ctx, s, pts, 3, out), PDB_EINVAL);
    assert_non_null(strstr(pdb_errmsg(e->ctx), "point 2"));
    assert_int_equal(out[0].id, 0);
    assert_int_equal(pdb_parcels_first_at(e->ctx, s, pts, 0, NULL), PDB_OK);
    pdb_store_close(s);
}

/* Looks up every point one by one, as the server does: the handle keeps
 * each commune it loads. */
static void look_up_each(env *e, pdb_store *s)
{
    for (size_t i = 0; i < e->npts; i++) {
        pdb_parcel_list *l = NULL;
        assert_int_equal(pdb_parcels_at(e->ctx, s, e->pts[2 * i], e->pts[2 * i + 1], 0, &l),
                         PDB_OK);
        pdb_parcel_list_free(l);
    }
}

/* Handles of one process share each commune's loaded BLOB: two handles
 * hold it once, and it goes when the last handle closes. */
static void test_handles_share_loaded_communes(void **state)
{
    env *e = *state;
    size_t communes, bytes, communes2, bytes2;
    pdb_point_parcel *out = calloc(e->npts, sizeof *out);

    pdb__lookup_registry_stats(&communes, &bytes);
    assert_int_equal(communes, 0);
    pdb_store *a = open_store(e, PDB_OPEN_READONLY), *b = open_store(e, PDB_OPEN_READONLY);
    look_up_each(e, a);
    pdb__lookup_registry_stats(&communes, &bytes);
    assert_int_equal(communes, 3);
    assert_true(bytes > 3 * PER_COMMUNE * 100);
    look_up_each(e, b);
    pdb__lookup_registry_stats(&communes2, &bytes2);
    assert_int_equal(communes2, communes);
    assert_int_equal(bytes2, bytes);
    pdb_store_close(a);
    pdb__lookup_registry_stats(&communes2, &bytes2);
    assert_int_equal(communes2, 3); /* b still uses them */
    /* A batch on a handle that holds the communes uses them and keeps them. */
    assert_int_equal(pdb_parcels_first_at(e->ctx, b, e->pts, e->npts, out), PDB_OK);
    pdb__lookup_registry_stats(&communes2, &bytes2);
    assert_int_equal(communes2, 3);
    pdb_store_close(b);
    pdb__lookup_registry_stats(&communes2, &bytes2);
    assert_int_equal(communes2, 0);
    free(out);
}

/* A batch on a handle that holds no commune loads each for its points and
 * lets it go: afterwards the process holds nothing, the answers are those
 * of the one-by-one path, and their texts outlive the communes. */
static void test_batch_keeps_no_commune(void **state)
{
    env *e = *state;
    size_t communes, bytes, hit = 0;
    pdb_point_parcel *out = calloc(e->npts, sizeof *out);
    pdb_store *s = open_store(e, PDB_OPEN_READONLY);

    assert_int_equal(pdb_parcels_first_at(e->ctx, s, e->pts, e->npts, out), PDB_OK);
    pdb__lookup_registry_stats(&communes, &bytes);
    assert_int_equal(communes, 0);
    assert_int_equal(bytes, 0);
    for (size_t i = 0; i < e->npts; i++) {
        pdb_parcel_list *l = NULL;
        assert_int_equal(pdb_parcels_at(e->ctx, s, e->pts[2 * i], e->pts[2 * i + 1], 0, &l),
                         PDB_OK);
        assert_int_equal(out[i].id, l->count ? l->items[0].id : 0);
        if (l->count > 0) {
            hit++;
            assert_string_equal(out[i].commune, l->items[0].commune);
            assert_string_equal(out[i].sheet, l->items[0].sheet);
            assert_string_equal(out[i].parcel, l->items[0].parcel);
        }
        pdb_parcel_list_free(l);
    }
    assert_true(hit > e->npts / 4);
    pdb_store_close(s);
    free(out);
}

/* A batch of these points on a fresh handle (no commune loaded: each is
 * read for the batch alone) against the SQL path, texts included. Returns
 * the points that hit a parcel. */
static size_t batch_equals_sql(env *e, const double *pts, size_t n)
{
    pdb_point_parcel *out = calloc(n, sizeof *out);
    pdb_store *s = open_store(e, PDB_OPEN_READONLY);
    size_t hits = 0;
    assert_non_null(out);
    if (pdb_parcels_first_at(e->ctx, s, pts, n, out) != PDB_OK)
        fail_msg("batch of %zu: %s", n, pdb_errmsg(e->ctx));
    for (size_t i = 0; i < n; i++) {
        pdb_parcel_list *ref = NULL;
        assert_int_equal(pdb__parcels_at_sql(e->ctx, s, pts[2 * i], pts[2 * i + 1], 0, &ref),
                         PDB_OK);
        int64_t want = ref->count ? ref->items[0].id : 0;
        if (out[i].id != want)
            fail_msg("batch of %zu, point %zu (%.12f, %.12f): %lld, SQL gives %lld", n, i,
                     pts[2 * i], pts[2 * i + 1], (long long)out[i].id, (long long)want);
        if (want != 0) {
            assert_same_parcel(&out[i], &ref->items[0]);
            hits++;
        }
        pdb_parcel_list_free(ref);
    }
    pdb_store_close(s);
    free(out);
    return hits;
}

/* Batches from one point to every point, each on a fresh handle: a
 * sparse batch searches a few of its communes' parcels, a dense one most
 * of them; each answers as SQL does. */
static void test_batch_sparse_and_dense(void **state)
{
    env *e = *state;
    static const size_t strides[] = {4999, 1499, 211, 37, 5, 1};
    double *pts = malloc(2 * e->npts * sizeof *pts);
    assert_non_null(pts);
    for (size_t k = 0; k < sizeof strides / sizeof strides[0]; k++) {
        size_t n = 0;
        /* From the middle: the random points, over the three communes. */
        for (size_t i = e->npts / 2; i < e->npts; i += strides[k], n++) {
            pts[2 * n] = e->pts[2 * i];
            pts[2 * n + 1] = e->pts[2 * i + 1];
        }
        size_t hits = batch_equals_sql(e, pts, n);
        if (n >= 20 && hits < n / 2)
            fail_msg("stride %zu: only %zu of %zu points in parcels", strides[k], hits, n);
    }
    assert_true(batch_equals_sql(e, e->pts, e->npts) > e->npts / 2);
    free(pts);
}

/* Long sheet and parcel numbers, of many lengths, come back whole from a
 * batch, which reads only its answers' texts. */
static void test_batch_long_numbers(void **state)
{
    env *e = *state;
    char *saved = copy_store(e, "short-numbers.sqlite");
    store_sql(e, "UPDATE parcels SET parcel = parcel || '/' || hex(zeroblob(40 + id % 90)), "
                 "sheet = sheet || '/' || hex(zeroblob(id % 50)); DELETE FROM lookup_index");
    pdb_store *s = open_store(e, PDB_OPEN_READWRITE); /* writes the index again */
    pdb_store_close(s);
    char *n = tu_capture("sqlite3 '%s' \"SELECT count(*) FROM lookup_index\"", e->path);
    assert_non_null(n);
    assert_string_equal(n, "3\n");
    free(n);
    assert_true(batch_equals_sql(e, &e->pts[e->npts], e->npts / 2) > e->npts / 4);
    assert_true(batch_equals_sql(e, &e->pts[2 * (e->npts - 30)], 30) > 5);
    restore_store(e, saved);
}

/* Threads, each with its own context and handle as the server's workers,
 * look up at once and all get the single-threaded answers. */
typedef struct worker {
    env *e;              /* shared, read-only here */
    const int64_t *want; /* the single-threaded answer per point */
    int failures;        /* points answered otherwise, or errors */
} worker;

static void *lookup_worker(void *arg)
{
    worker *w = arg;
    pdb_ctx *ctx = NULL;
    pdb_store *s = NULL;
    pdb_point_parcel one;
    if (pdb_ctx_new(&ctx) != PDB_OK ||
        pdb_store_open(ctx, w->e->path, PDB_OPEN_READONLY, &s) != PDB_OK) {
        w->failures = -1;
        goto done;
    }
    /* Half the points in small batches (each loading its own copy of a
     * commune), half one by one through the shared index. */
    for (size_t i = 0; i < w->e->npts; i++) {
        int64_t got = -1;
        if (i % 2 == 0) {
            if (pdb_parcels_first_at(ctx, s, &w->e->pts[2 * i], 1, &one) == PDB_OK)
                got = one.id;
        } else {
            pdb_parcel_list *l = NULL;
            if (pdb_parcels_at(ctx, s, w->e->pts[2 * i], w->e->pts[2 * i + 1], 0, &l) == PDB_OK)
                got = l->count ? l->items[0].id : 0;
            pdb_parcel_list_free(l);
        }
        if (got != w->want[i])
            w->failures++;
    }
done:
    pdb_store_close(s);
    pdb_ctx_free(ctx);
    return NULL;
}

static void test_threads_look_up_at_once(void **state)
{
    env *e = *state;
    pdb_point_parcel *out = calloc(e->npts, sizeof *out);
    int64_t *want = calloc(e->npts, sizeof *want);
    pdb_store *s = open_store(e, PDB_OPEN_READONLY);
    assert_int_equal(pdb_parcels_first_at(e->ctx, s, e->pts, e->npts, out), PDB_OK);
    for (size_t i = 0; i < e->npts; i++)
        want[i] = out[i].id;
    pdb_store_close(s);
    pthread_t t[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){e, want, 0};
        assert_int_equal(pthread_create(&t[i], NULL, lookup_worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    free(out);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_equals_sql_path),
        cmocka_unit_test(test_index_agrees_with_spatialite),
        cmocka_unit_test(test_damaged_blobs_are_rebuilt),
        cmocka_unit_test(test_store_without_index),
        cmocka_unit_test(test_reimport_under_a_reader),
        cmocka_unit_test(test_trusted_version),
        cmocka_unit_test(test_batch_rejects_bad_points),
        cmocka_unit_test(test_handles_share_loaded_communes),
        cmocka_unit_test(test_batch_keeps_no_commune),
        cmocka_unit_test(test_threads_look_up_at_once),
        cmocka_unit_test(test_batch_sparse_and_dense),
        cmocka_unit_test(test_batch_long_numbers),
    };
    const struct CMUnitTest curved[] = {
        cmocka_unit_test(test_index_equals_sql_path),
        cmocka_unit_test(test_index_agrees_with_spatialite),
        cmocka_unit_test(test_batch_sparse_and_dense),
    };
    int failed = cmocka_run_group_tests_name("straight cuts", tests, setup, teardown);
    return failed +
           cmocka_run_group_tests_name("curved boundaries", curved, setup_curved, teardown);
}
