/*
 * test_pg_store.c: the PostgreSQL/PostGIS store's connection, schema,
 * writes and backup (issue 17), against the SQLite store: the same loads
 * into both must leave the same communes, statistics, data versions, ids,
 * flags and geometries, read back with psql and sqlite3. Bad input (a
 * wrong location, no PostGIS, another schema version, a role without
 * write rights) fails in one line and writes nothing.
 *
 * The server: PDB_TEST_PG (a libpq conninfo without dbname, of a role
 * that may create databases and roles), else a private cluster that
 * pg_cluster.sh starts for this run.
 */
#include "fixture.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first. */
#include <cmocka.h>

#include <libpq-fe.h>
#include <math.h>
#include <ogr_api.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[512];        /* conninfo of the server, without dbname */
static char cluster_dir[256]; /* the private cluster's directory, or "" */
static char work[256];        /* temporary files of this run */

static int group_setup(void **state)
{
    (void)state;
    snprintf(work, sizeof work, "%s", tu_tmpdir("pg_store"));
    const char *env = getenv("PDB_TEST_PG");
    if (env != NULL && *env != '\0') {
        snprintf(base, sizeof base, "%s", env);
        return 0;
    }
    char *dir = tu_capture("mktemp -d /tmp/pdb-pgtest.XXXXXX");
    if (dir == NULL)
        return -1;
    dir[strcspn(dir, "\n")] = '\0';
    snprintf(cluster_dir, sizeof cluster_dir, "%s", dir);
    free(dir);
    char *info =
        tu_capture("bash '%s/tests/unit/pg_cluster.sh' start '%s'", PDB_SOURCE_DIR, cluster_dir);
    if (info == NULL || strncmp(info, "host=", 5) != 0) {
        fprintf(stderr, "could not start a PostgreSQL cluster (see above)\n");
        free(info);
        return -1;
    }
    info[strcspn(info, "\n")] = '\0';
    snprintf(base, sizeof base, "%s", info);
    free(info);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (cluster_dir[0] != '\0')
        tu_run("bash '%s/tests/unit/pg_cluster.sh' stop '%s'", PDB_SOURCE_DIR, cluster_dir);
    tu_run("rm -rf '%s'", work);
    return 0;
}

/* The location of database db, as a user gives it to --db. */
static const char *loc(const char *db)
{
    static char out[4][600];
    static int next;
    char *o = out[next++ % 4];
    snprintf(o, sizeof out[0], "%s dbname=%s", base, db);
    return o;
}

/* Runs SQL with psql in database db (as the server's superuser unless
 * the SQL says otherwise); returns its exit status. */
static int psql(const char *db, const char *sql)
{
    char path[300];
    snprintf(path, sizeof path, "%s/q.sql", work);
    if (tu_write_file(path, sql) != 0)
        return -1;
    return tu_run("PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 '%s' "
                  "-f '%s' >/dev/null",
                  loc(db), path);
}

/* What psql prints for a query, unaligned, fields split by '|' (caller
 * frees). */
static char *psql_rows(const char *db, const char *sql)
{
    char path[300];
    snprintf(path, sizeof path, "%s/q.sql", work);
    if (tu_write_file(path, sql) != 0)
        return NULL;
    return tu_capture("psql -X -At -F '|' -v ON_ERROR_STOP=1 '%s' -f '%s'", loc(db), path);
}

/* What sqlite3 (with SpatiaLite) prints for a query, fields split by '|'. */
static char *sqlite_rows(const char *file, const char *sql)
{
    char path[300];
    snprintf(path, sizeof path, "%s/q.sql", work);
    if (tu_write_file(path, sql) != 0)
        return NULL;
    return tu_capture("sqlite3 -batch -noheader -separator '|' -cmd '.load mod_spatialite' '%s' "
                      "< '%s'",
                      file, path);
}

/* A new, empty database; with PostGIS when asked. */
static void fresh_db(const char *db, int postgis)
{
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s;\nCREATE DATABASE %s;\n", db, db);
    assert_int_equal(psql("postgres", sql), 0);
    if (postgis)
        assert_int_equal(psql(db, "CREATE EXTENSION postgis;"), 0);
}

static void expect_fail(pdb_ctx *ctx, pdb_status got, pdb_status want, const char *text)
{
    const char *msg = pdb_errmsg(ctx);
    if (got != want || strstr(msg, text) == NULL || strchr(msg, '\n') != NULL)
        fail_msg("got status %d '%s', want %d with '%s' on one line", got, msg, want, text);
}

static void expect_ok(pdb_ctx *ctx, pdb_status got)
{
    if (got != PDB_OK)
        fail_msg("status %d: %s", got, pdb_errmsg(ctx));
}

static int64_t count_in(const char *db, const char *sql)
{
    char *out = psql_rows(db, sql);
    assert_non_null(out);
    int64_t n = strtoll(out, NULL, 10);
    free(out);
    return n;
}

/* ------------------------------------------------------------------------ */

static void test_create_open_reopen(void **state)
{
    (void)state;
    pdb_ctx *ctx = NULL;
    pdb_store *s = NULL;
    pdb_store_stats st;
    int64_t v = -1;

    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    fresh_db("pdb_create", 0); /* the superuser gets PostGIS made for it */
    if (pdb_store_create(ctx, loc("pdb_create"), &s) != PDB_OK)
        fail_msg("create: %s", pdb_errmsg(ctx));
    assert_int_equal(pdb_store_stats_get(ctx, s, &st), PDB_OK);
    assert_int_equal(st.parcels_current + st.parcels_history + st.communes + st.batches, 0);
    assert_int_equal(st.schema_version, 1);
    assert_string_equal(st.journal_mode, "postgresql");
    expect_ok(ctx, pdb_store_check(ctx, s));
    pdb_store_close(s);
    s = NULL;
    assert_int_equal(count_in("pdb_create", "SELECT count(*) FROM pg_extension WHERE extname = "
                                            "'postgis'"),
                     1);

    assert_int_equal(pdb_store_open(ctx, loc("pdb_create"), PDB_OPEN_READWRITE, &s), PDB_OK);
    pdb_store_close(s);
    assert_int_equal(pdb_store_open(ctx, loc("pdb_create"), PDB_OPEN_READONLY, &s), PDB_OK);
    assert_int_equal(pdb_store_data_version(ctx, s, &v), PDB_OK);
    assert_int_equal(v, 0);
    pdb_store_close(s);
    s = NULL;

    expect_fail(ctx, pdb_store_create(ctx, loc("pdb_create"), &s), PDB_EINVAL,
                "database pdb_create already holds a parceldb store; not overwriting it");
    assert_null(s);
    expect_fail(ctx, pdb_store_open(ctx, loc("postgres"), PDB_OPEN_READWRITE, &s), PDB_ENOTFOUND,
                "no parceldb store in database postgres");
    assert_null(s);
    pdb_ctx_free(ctx);
}

static void test_wrong_location(void **state)
{
    (void)state;
    pdb_ctx *ctx = NULL;
    pdb_store *s = NULL;
    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    expect_fail(ctx,
                pdb_store_open(ctx, "host=/nonexistent-pdb port=5 dbname=x user=postgres",
                               PDB_OPEN_READONLY, &s),
                PDB_EIO, "cannot connect to host=/nonexistent-pdb port=5 dbname=x user=postgres: ");
    /* A password never reaches the message. */
    expect_fail(
        ctx,
        pdb_store_create(ctx, "postgresql://postgres:s3cret@/x?host=/nonexistent-pdb&port=5", &s),
        PDB_EIO, "cannot connect to ");
    assert_null(strstr(pdb_errmsg(ctx), "s3cret"));
    assert_null(s);
    pdb_ctx_free(ctx);
}

static void test_database_without_postgis(void **state)
{
    (void)state;
    pdb_ctx *ctx = NULL;
    pdb_store *s = NULL;
    char where[700];
    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    fresh_db("pdb_nopostgis", 0);
    /* A role that owns the database but may not create PostGIS there. */
    assert_int_equal(psql("postgres", "DROP ROLE IF EXISTS pdb_plain;\n"
                                      "CREATE ROLE pdb_plain LOGIN;\n"
                                      "ALTER DATABASE pdb_nopostgis OWNER TO pdb_plain;\n"),
                     0);
    snprintf(where, sizeof where, "%s dbname=pdb_nopostgis user=pdb_plain", base);
    expect_fail(ctx, pdb_store_create(ctx, where, &s), PDB_ENOTSTORE,
                "database pdb_nopostgis has no PostGIS (as its owner: CREATE EXTENSION postgis)");
    assert_null(s);
    assert_int_equal(
        count_in("pdb_nopostgis", "SELECT count(*) FROM pg_namespace WHERE nspname = 'parceldb'"),
        0);
    pdb_ctx_free(ctx);
}

static void test_schema_of_another_version(void **state)
{
    (void)state;
    pdb_ctx *ctx = NULL;
    pdb_store *s = NULL;
    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    fresh_db("pdb_version", 1);
    assert_int_equal(pdb_store_create(ctx, loc("pdb_version"), &s), PDB_OK);
    pdb_store_close(s);
    s = NULL;
    assert_int_equal(
        psql("pdb_version", "UPDATE parceldb.meta SET value = '2' WHERE key = 'schema_version';"),
        0);
    expect_fail(ctx, pdb_store_open(ctx, loc("pdb_version"), PDB_OPEN_READWRITE, &s), PDB_ENOTSTORE,
                "store schema version 2 is not the one this parceldb reads (1)");
    assert_null(s);
    expect_fail(ctx, pdb_store_open(ctx, loc("pdb_version"), PDB_OPEN_READONLY, &s), PDB_ENOTSTORE,
                "store schema version 2");
    pdb_ctx_free(ctx);
}

/* ------------------------------------------------------------------------ */
/* The same loads into both stores                                           */
/* ------------------------------------------------------------------------ */

#define CELL 50.0

typedef struct zone {
    int epsg;            /* the zone */
    const char *commune; /* a real commune code of that zone */
    double e0, n0;       /* south-west corner of its grid */
    char gpkg[512];      /* the file ogr2ogr wrote */
} zone;

static zone zones[] = {
    {9208, "07894", 567400.0, 2358700.0, ""}, /* Viet Tri, Phu Tho 104-45 */
    {5897, "08707", 561700.0, 2357250.0, ""}, /* Vinh Yen, Vinh Phuc 105-00 */
};
#define NZONES (sizeof zones / sizeof zones[0])

/* Writes a zone's 3 x 3 grid (5 with a hole) and parcel 7 again (a
 * duplicate number, in two parts) with ogr2ogr. */
static void write_zone(zone *z)
{
    static const char *numbers[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9", "7"};
    fx_parcel p[10];
    for (int i = 0; i < 10; i++) {
        p[i] = (fx_parcel){"3", numbers[i], i % 2 ? "LUC" : "ONT+CLN", "Nguyễn Thị Hà", ""};
        fx_square_wkt(p[i].wkt, sizeof p[i].wkt, z->e0 + (i % 3) * CELL, z->n0 + (i / 3) * CELL,
                      CELL, i == 4 ? 10.0 : 0.0);
    }
    /* The second parcel 7 in two parts, north of the grid. */
    fx_two_squares_wkt(p[9].wkt, sizeof p[9].wkt, z->e0, z->n0 + 200, z->e0 + 100, z->n0 + 200,
                       CELL);
    assert_int_equal(
        fx_write_gpkg(work, z->commune, z->commune, z->epsg, p, 10, z->gpkg, sizeof z->gpkg), 0);
}

/* One commune's load that interleaves parcels (made by OGR from WKT in
 * the zone's metres) and rejects, committed or abandoned. Rejects come in
 * the middle of the parcels, so that the PostgreSQL writer ends and starts
 * its COPY around them. */
/* Adds a commune's parcels and rejects to an open writer; the first
 * failure's status (asserts nothing: a writer thread calls it too). */
static pdb_status add_mixed(pdb_ctx *ctx, pdb_writer *w, const zone *z)
{
    pdb_status st = PDB_OK;
    for (int i = 0; i < 8 && st == PDB_OK; i++) {
        char wkt[1024], num[8];
        fx_square_wkt(wkt, sizeof wkt, z->e0 + i * 20.0, z->n0 + 400, 20.0, 0);
        OGRGeometryH g = NULL;
        char *text = wkt;
        if (OGR_G_CreateFromWkt(&text, NULL, &g) != OGRERR_NONE)
            return PDB_EGEOM;
        size_t len = (size_t)OGR_G_WkbSize(g);
        unsigned char *wkb = malloc(len);
        OGR_G_ExportToIsoWkb(g, wkbNDR, wkb);
        snprintf(num, sizeof num, "%d", 20 + i);
        if (i == 2 || i == 5) {
            pdb_reject r = {"mixed.gpkg",
                            i,
                            i == 2 ? "invalid-geometry" : "repaired",
                            "a detail",
                            "{\"SoThuTuThua\": \"x\"}",
                            wkb,
                            len,
                            i == 5};
            st = pdb_writer_reject(ctx, w, &r);
        }
        if (i != 2 && st == PDB_OK) {
            pdb_parcel p = {.commune = (char *)z->commune,
                            .former_commune = i == 7 ? "07891" : NULL,
                            .sheet = "9",
                            .parcel = num,
                            .landuse = "BHK",
                            .area_surveyed_m2 = i == 3 ? NAN : 400.0,
                            .address = i == 4 ? "Số 4, phố Hòa Phong" : NULL,
                            .owner = "Phạm Văn Đức",
                            .flags = i == 6 ? PDB_PARCEL_AREA_MISMATCH : 0,
                            .source_wkb = wkb,
                            .source_wkb_len = len};
            int64_t id = 0;
            st = pdb_writer_add(ctx, w, &p, &id);
            if (st == PDB_OK && id <= 0)
                st = PDB_ESTORE;
        }
        free(wkb);
        OGR_G_DestroyGeometry(g);
    }
    return st;
}

static const pdb_import_counts mixed_counts = {
    .read = 8, .stored = 6, .rejected = 1, .repaired = 1};

static void load_mixed(pdb_ctx *ctx, pdb_store *s, const zone *z, int commit)
{
    int64_t batch = 0;
    pdb_writer *w = NULL;
    pdb_import_counts counts = mixed_counts;

    assert_int_equal(pdb_import_begin(ctx, s, commit ? "mixed" : "abandoned", &batch), PDB_OK);
    pdb_commune_load load = {batch, z->commune, NULL, z->epsg, "mixed.gpkg", "c0ffee"};
    assert_int_equal(pdb_writer_begin(ctx, s, &load, &w), PDB_OK);
    expect_ok(ctx, add_mixed(ctx, w, z));
    if (commit)
        assert_int_equal(pdb_writer_commit(ctx, w, &counts), PDB_OK);
    pdb_writer_free(w);
    assert_int_equal(pdb_import_end(ctx, s, batch, commit ? "done" : "failed", &counts), PDB_OK);
}

/* The same sequence on any store: a commune loaded twice (history), a
 * second commune with rejects, an abandoned load of it, and that commune
 * again. */
static void load_all(pdb_ctx *ctx, pdb_store *s)
{
    int64_t batch;
    for (int k = 0; k < 2; k++)
        if (fx_load(ctx, s, zones[0].gpkg, zones[0].commune, zones[0].epsg, &batch) != PDB_OK)
            fail_msg("load: %s", pdb_errmsg(ctx));
    load_mixed(ctx, s, &zones[1], 1);
    load_mixed(ctx, s, &zones[1], 0);
    load_mixed(ctx, s, &zones[1], 1);
}

/* Rows of the tables as the clients print them; times left out (each
 * store stamps its own). Areas to a micrometre squared, geometries as WKB. */
static const char *const pg_dumps[] = {
    "SELECT id, commune, coalesce(former_commune, ''), sheet, parcel, landuse, landuse_main, "
    "coalesce(round(area_surveyed_m2::numeric, 6)::text, ''), "
    "round(area_computed_m2::numeric, 6), coalesce(address, ''), coalesce(owner, ''), flags, "
    "source_srid, batch_id, CASE WHEN valid_to IS NULL THEN 1 ELSE 0 END, "
    "upper(encode(ST_AsBinary(geom), 'hex')), upper(encode(ST_AsBinary(source_geom), 'hex')) "
    "FROM parceldb.parcels ORDER BY id",
    "SELECT id, batch_id, commune, file, feature_index, reason, coalesce(detail, ''), "
    "coalesce(attributes, ''), coalesce(upper(encode(geometry, 'hex')), ''), stored "
    "FROM parceldb.rejects ORDER BY id",
    "SELECT id, batch_id, commune, file, checksum, source_srid, read, stored, repaired, "
    "rejected, flagged FROM parceldb.import_files ORDER BY id",
    "SELECT id, description, status, read, stored, repaired, rejected, flagged "
    "FROM parceldb.import_batches ORDER BY id",
};
static const char *const sqlite_dumps[] = {
    "SELECT id, commune, coalesce(former_commune, ''), sheet, parcel, landuse, landuse_main, "
    "CASE WHEN area_surveyed_m2 IS NULL THEN '' ELSE printf('%.6f', area_surveyed_m2) END, "
    "printf('%.6f', area_computed_m2), "
    "coalesce(address, ''), coalesce(owner, ''), flags, source_srid, batch_id, "
    "CASE WHEN valid_to IS NULL THEN 1 ELSE 0 END, hex(AsBinary(geom)), hex(source_geom) "
    "FROM parcels ORDER BY id;",
    "SELECT id, batch_id, commune, file, feature_index, reason, coalesce(detail, ''), "
    "coalesce(attributes, ''), hex(geometry), stored FROM rejects ORDER BY id;",
    "SELECT id, batch_id, commune, file, checksum, source_srid, read, stored, repaired, "
    "rejected, flagged FROM import_files ORDER BY id;",
    "SELECT id, description, status, read, stored, repaired, rejected, flagged "
    "FROM import_batches ORDER BY id;",
};

/* Fails with the first row that differs, both sides in full. */
static void expect_same_rows(size_t table, const char *a, const char *b)
{
    size_t row = 0;
    while (*a != '\0' || *b != '\0') {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        if (la != lb || memcmp(a, b, la) != 0) {
            print_error("table %zu, row %zu:\nPostgreSQL: %.*s\nSQLite:     %.*s\n", table, row,
                        (int)la, a, (int)lb, b);
            fail();
        }
        a += la + (a[la] != '\0');
        b += lb + (b[lb] != '\0');
        row++;
    }
}

static void test_same_loads_as_sqlite(void **state)
{
    (void)state;
    pdb_ctx *ctx = NULL;
    pdb_store *pg = NULL, *sq = NULL;
    char sqpath[400];
    pdb_commune_list *lp = NULL, *ls = NULL;
    pdb_store_stats sp, ss;
    int64_t vp, vs;

    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    for (size_t k = 0; k < NZONES; k++)
        write_zone(&zones[k]);
    fresh_db("pdb_same", 1);
    snprintf(sqpath, sizeof sqpath, "%s/same.sqlite", work);
    assert_int_equal(pdb_store_create(ctx, loc("pdb_same"), &pg), PDB_OK);
    assert_int_equal(pdb_store_create(ctx, sqpath, &sq), PDB_OK);
    load_all(ctx, pg);
    load_all(ctx, sq);

    assert_int_equal(pdb_store_data_version(ctx, pg, &vp), PDB_OK);
    assert_int_equal(pdb_store_data_version(ctx, sq, &vs), PDB_OK);
    assert_int_equal(vp, 4);
    assert_int_equal(vp, vs);
    int64_t bp = -1, bs = -1;
    assert_int_equal(pdb_import_find_checksum(ctx, pg, "c0ffee", &bp), PDB_OK);
    assert_int_equal(pdb_import_find_checksum(ctx, sq, "c0ffee", &bs), PDB_OK);
    assert_int_equal(bp, 5); /* the last committed load with that checksum */
    assert_int_equal(bp, bs);
    assert_int_equal(pdb_import_find_checksum(ctx, pg, "0ff1ce", &bp), PDB_OK);
    assert_int_equal(bp, 0);
    assert_int_equal(pdb_store_stats_get(ctx, pg, &sp), PDB_OK);
    assert_int_equal(pdb_store_stats_get(ctx, sq, &ss), PDB_OK);
    assert_int_equal(sp.parcels_current, ss.parcels_current);
    assert_int_equal(sp.parcels_history, ss.parcels_history);
    assert_int_equal(sp.parcels_history, 10 + 7); /* the first load of each commune */
    assert_int_equal(sp.communes, ss.communes);
    assert_int_equal(sp.batches, ss.batches);
    assert_int_equal(sp.rejects, ss.rejects);
    assert_int_equal(sp.rejected, ss.rejected);
    assert_int_equal(sp.repaired, ss.repaired);
    assert_int_equal(sp.data_version, ss.data_version);

    assert_int_equal(pdb_communes_list(ctx, pg, &lp), PDB_OK);
    assert_int_equal(pdb_communes_list(ctx, sq, &ls), PDB_OK);
    assert_int_equal(lp->count, 2);
    assert_int_equal(lp->count, ls->count);
    for (size_t i = 0; i < lp->count; i++) {
        const pdb_commune *a = &lp->items[i], *b = &ls->items[i];
        assert_string_equal(a->code, b->code);
        assert_string_equal(a->name, b->name);
        assert_int_equal(a->source_srid, b->source_srid);
        for (int k = 0; k < 4; k++)
            if (a->bbox[k] != b->bbox[k])
                fail_msg("commune %s bbox[%d]: %.17g in PostgreSQL, %.17g in SQLite", a->code, k,
                         a->bbox[k], b->bbox[k]);
        assert_int_equal(a->parcels, b->parcels);
        assert_int_equal(a->last_batch, b->last_batch);
        assert_int_equal(a->data_version, b->data_version);
        assert_int_equal(a->overview_state, b->overview_state);
        assert_int_equal(a->overview_state, PDB_OVERVIEW_STATE_STALE);
    }
    pdb_commune_list_free(lp);
    pdb_commune_list_free(ls);

    for (size_t k = 0; k < sizeof pg_dumps / sizeof pg_dumps[0]; k++) {
        char *a = psql_rows("pdb_same", pg_dumps[k]);
        char *b = sqlite_rows(sqpath, sqlite_dumps[k]);
        assert_non_null(a);
        assert_non_null(b);
        assert_true(strlen(a) > 10);
        expect_same_rows(k, a, b);
        free(a);
        free(b);
    }
    expect_ok(ctx, pdb_store_check(ctx, pg));
    /* check finds what PostgreSQL does not: a commune's count that lies. */
    assert_int_equal(psql("pdb_same", "UPDATE parceldb.communes SET parcels = parcels + 1 "
                                      "WHERE code = '08707';"),
                     0);
    expect_fail(ctx, pdb_store_check(ctx, pg), PDB_ECORRUPT,
                "commune 08707 records 8 current parcels but the store holds 7");
    pdb_store_close(pg);
    pdb_store_close(sq);
    pdb_ctx_free(ctx);
}

/* ------------------------------------------------------------------------ */

static void test_writer_freed_leaves_nothing(void **state)
{
    (void)state;
    pdb_ctx *ctx = NULL;
    pdb_store *s = NULL;
    pdb_store_stats before, after;
    static const char counts_sql[] = "SELECT (SELECT count(*) FROM parceldb.parcels) || ' ' || "
                                     "(SELECT count(*) FROM parceldb.rejects) || ' ' || "
                                     "(SELECT value FROM parceldb.meta WHERE key = "
                                     "'data_version')";

    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    write_zone(&zones[1]);
    fresh_db("pdb_rollback", 1);
    assert_int_equal(pdb_store_create(ctx, loc("pdb_rollback"), &s), PDB_OK);
    load_mixed(ctx, s, &zones[1], 1);
    assert_int_equal(pdb_store_stats_get(ctx, s, &before), PDB_OK);
    char *rows_before = psql_rows("pdb_rollback", counts_sql);
    load_mixed(ctx, s, &zones[1], 0); /* freed in a COPY, after a reject */
    char *rows_after = psql_rows("pdb_rollback", counts_sql);
    assert_string_equal(rows_before, rows_after);
    assert_int_equal(pdb_store_stats_get(ctx, s, &after), PDB_OK);
    assert_int_equal(after.parcels_current, before.parcels_current);
    assert_int_equal(after.parcels_history, before.parcels_history);
    assert_int_equal(after.rejects, before.rejects);
    assert_int_equal(after.data_version, before.data_version);
    assert_int_equal(after.batches, before.batches + 1); /* the run itself, marked failed */
    free(rows_before);
    free(rows_after);
    pdb_store_close(s);
    pdb_ctx_free(ctx);
}

/* Writes announce "<commune> <version>" to LISTENers, at the commit. */
static void test_commit_notifies(void **state)
{
    (void)state;
    pdb_ctx *ctx = NULL;
    pdb_store *s = NULL;
    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    write_zone(&zones[1]);
    fresh_db("pdb_notify", 1);
    assert_int_equal(pdb_store_create(ctx, loc("pdb_notify"), &s), PDB_OK);
    PGconn *listener = PQconnectdb(loc("pdb_notify"));
    assert_int_equal(PQstatus(listener), CONNECTION_OK);
    PQclear(PQexec(listener, "LISTEN parceldb"));
    load_mixed(ctx, s, &zones[1], 0); /* abandoned: no notice */
    load_mixed(ctx, s, &zones[1], 1);
    PQclear(PQexec(listener, "SELECT 1")); /* delivers what is pending */
    PGnotify *n = PQnotifies(listener);
    assert_non_null(n);
    assert_string_equal(n->relname, "parceldb");
    assert_string_equal(n->extra, "08707 1");
    PQfreemem(n);
    assert_null(PQnotifies(listener));
    PQfinish(listener);
    pdb_store_close(s);
    pdb_ctx_free(ctx);
}

static void test_readonly_open_refuses_writes(void **state)
{
    (void)state;
    pdb_ctx *ctx = NULL;
    pdb_store *s = NULL;
    pdb_writer *w = NULL;
    int64_t batch = 0;
    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    fresh_db("pdb_ro", 1);
    assert_int_equal(pdb_store_create(ctx, loc("pdb_ro"), &s), PDB_OK);
    pdb_store_close(s);
    assert_int_equal(pdb_store_open(ctx, loc("pdb_ro"), PDB_OPEN_READONLY, &s), PDB_OK);
    expect_fail(ctx, pdb_import_begin(ctx, s, "x", &batch), PDB_EREADONLY, "read-only");
    pdb_commune_load load = {1, "08707", NULL, 5897, "f", "c"};
    expect_fail(ctx, pdb_writer_begin(ctx, s, &load, &w), PDB_EREADONLY, "read-only");
    assert_null(w);
    pdb_store_close(s);
    assert_int_equal(count_in("pdb_ro", "SELECT count(*) FROM parceldb.import_batches"), 0);
    pdb_ctx_free(ctx);
}

static void test_role_without_write_rights(void **state)
{
    (void)state;
    pdb_ctx *ctx = NULL;
    pdb_store *s = NULL;
    pdb_writer *w = NULL;
    int64_t batch = 0;
    char where[700];
    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    write_zone(&zones[1]);
    fresh_db("pdb_role", 1);
    assert_int_equal(pdb_store_create(ctx, loc("pdb_role"), &s), PDB_OK);
    load_mixed(ctx, s, &zones[1], 1);
    pdb_store_close(s);
    assert_int_equal(psql("pdb_role", "DROP ROLE IF EXISTS pdb_reader;\n"
                                      "CREATE ROLE pdb_reader LOGIN;\n"
                                      "GRANT USAGE ON SCHEMA parceldb TO pdb_reader;\n"
                                      "GRANT SELECT ON ALL TABLES IN SCHEMA parceldb TO "
                                      "pdb_reader;\n"),
                     0);
    static const char counts_sql[] =
        "SELECT (SELECT count(*) FROM parceldb.parcels) || ' ' || (SELECT count(*) FROM "
        "parceldb.import_batches) || ' ' || (SELECT value FROM parceldb.meta WHERE key = "
        "'data_version') || ' ' || (SELECT count(*) FROM parceldb.parcels WHERE valid_to IS NULL)";
    char *before = psql_rows("pdb_role", counts_sql);

    snprintf(where, sizeof where, "%s dbname=pdb_role user=pdb_reader", base);
    assert_int_equal(pdb_store_open(ctx, where, PDB_OPEN_READWRITE, &s), PDB_OK);
    expect_fail(ctx, pdb_import_begin(ctx, s, "x", &batch), PDB_EREADONLY,
                "recording the import run: permission denied for table import_batches");
    pdb_commune_load load = {1, "08707", NULL, 5897, "f", "c"};
    expect_fail(ctx, pdb_writer_begin(ctx, s, &load, &w), PDB_EREADONLY,
                "permission denied for table meta");
    assert_null(w);
    /* The handle still reads after the refusals. */
    pdb_store_stats st;
    assert_int_equal(pdb_store_stats_get(ctx, s, &st), PDB_OK);
    assert_int_equal(st.parcels_current, 7);
    pdb_store_close(s);
    char *after = psql_rows("pdb_role", counts_sql);
    assert_string_equal(before, after);
    free(before);
    free(after);
    pdb_ctx_free(ctx);
}

static void test_backup_restores(void **state)
{
    (void)state;
    pdb_ctx *ctx = NULL;
    pdb_store *s = NULL, *r = NULL;
    pdb_backup_result res = {0};
    pdb_backup_options opt = {0};
    pdb_store_stats a, b;
    char dest[400];
    struct stat sb;

    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    for (size_t k = 0; k < NZONES; k++)
        write_zone(&zones[k]);
    fresh_db("pdb_backup", 1);
    assert_int_equal(pdb_store_create(ctx, loc("pdb_backup"), &s), PDB_OK);
    load_all(ctx, s);
    snprintf(dest, sizeof dest, "%s/store.dump", work);
    unlink(dest);
    if (pdb_store_backup(ctx, s, dest, NULL, &res) != PDB_OK)
        fail_msg("backup: %s", pdb_errmsg(ctx));
    assert_int_equal(stat(dest, &sb), 0);
    assert_int_equal(res.bytes, (int64_t)sb.st_size);
    assert_int_equal(res.pages, 0);
    assert_int_equal(res.data_version, 4);
    expect_fail(ctx, pdb_store_backup(ctx, s, dest, NULL, &res), PDB_EINVAL,
                "already exists; not overwriting it");
    /* A location with a password (the cluster trusts the socket, so any
     * will do): pg_dump gets it through its environment. */
    char with_pw[700];
    pdb_store *p = NULL;
    snprintf(with_pw, sizeof with_pw, "%s password=unused-here", loc("pdb_backup"));
    assert_int_equal(pdb_store_open(ctx, with_pw, PDB_OPEN_READONLY, &p), PDB_OK);
    opt.force = 1;
    expect_ok(ctx, pdb_store_backup(ctx, p, dest, &opt, &res));
    pdb_store_close(p);
    assert_int_equal(res.data_version, 4);
    /* pg_dump's own failure is one line, and leaves nothing. */
    char nowhere[500];
    snprintf(nowhere, sizeof nowhere, "%s/no-such-dir/store.dump", work);
    expect_fail(ctx, pdb_store_backup(ctx, s, nowhere, NULL, &res), PDB_EIO, "pg_dump failed: ");
    assert_int_not_equal(access(nowhere, F_OK), 0);
    assert_int_not_equal(tu_run("ls '%s' | grep -q partial", work), 0); /* none left */

    fresh_db("pdb_restored", 1);
    assert_int_equal(tu_run("pg_restore --no-owner --dbname='%s' '%s'", loc("pdb_restored"), dest),
                     0);
    assert_int_equal(pdb_store_open(ctx, loc("pdb_restored"), PDB_OPEN_READONLY, &r), PDB_OK);
    assert_int_equal(pdb_store_stats_get(ctx, s, &a), PDB_OK);
    assert_int_equal(pdb_store_stats_get(ctx, r, &b), PDB_OK);
    assert_int_equal(a.parcels_current, b.parcels_current);
    assert_int_equal(a.parcels_history, b.parcels_history);
    assert_int_equal(a.batches, b.batches);
    assert_int_equal(a.rejects, b.rejects);
    assert_int_equal(a.data_version, b.data_version);
    expect_ok(ctx, pdb_store_check(ctx, r));
    char *x = psql_rows("pdb_backup", pg_dumps[0]);
    char *y = psql_rows("pdb_restored", pg_dumps[0]);
    assert_string_equal(x, y);
    free(x);
    free(y);
    pdb_store_close(r);
    pdb_store_close(s);
    pdb_ctx_free(ctx);
}

/* A second writer on another connection, in a thread. */
typedef struct queued {
    const char *location; /* the store */
    pdb_status st;        /* the first failure, or PDB_OK */
    char msg[512];        /* its message */
} queued;

static void *queued_writer(void *arg)
{
    queued *q = arg;
    pdb_ctx *ctx = NULL;
    pdb_store *s = NULL;
    pdb_writer *w = NULL;
    int64_t batch = 0;
    pdb_import_counts counts = mixed_counts;
    if ((q->st = pdb_ctx_new(&ctx)) != PDB_OK)
        return NULL;
    pdb_commune_load load = {0, zones[1].commune, NULL, zones[1].epsg, "mixed.gpkg", "q"};
    if ((q->st = pdb_store_open(ctx, q->location, PDB_OPEN_READWRITE, &s)) == PDB_OK &&
        (q->st = pdb_import_begin(ctx, s, "queued", &batch)) == PDB_OK &&
        (load.batch_id = batch, q->st = pdb_writer_begin(ctx, s, &load, &w)) == PDB_OK &&
        (q->st = add_mixed(ctx, w, &zones[1])) == PDB_OK)
        q->st = pdb_writer_commit(ctx, w, &counts);
    snprintf(q->msg, sizeof q->msg, "%s", pdb_errmsg(ctx));
    pdb_writer_free(w);
    pdb_store_close(s);
    pdb_ctx_free(ctx);
    return NULL;
}

/* Two writers on two connections queue as SQLite's BEGIN IMMEDIATE makes
 * them: the second waits at its begin until the first commits, then
 * numbers its parcels after the first one's. */
static void test_writers_queue(void **state)
{
    (void)state;
    pdb_ctx *ctx = NULL;
    pdb_store *s = NULL;
    pdb_writer *w = NULL;
    pdb_commune_list *list = NULL;
    int64_t batch = 0;
    pdb_import_counts counts = mixed_counts;
    queued q = {.st = PDB_OK};
    pthread_t t;

    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    for (size_t k = 0; k < NZONES; k++)
        write_zone(&zones[k]);
    fresh_db("pdb_queue", 1);
    assert_int_equal(pdb_store_create(ctx, loc("pdb_queue"), &s), PDB_OK);
    assert_int_equal(pdb_import_begin(ctx, s, "first", &batch), PDB_OK);
    pdb_commune_load load = {batch, zones[0].commune, NULL, zones[0].epsg, "mixed.gpkg", "f"};
    assert_int_equal(pdb_writer_begin(ctx, s, &load, &w), PDB_OK);
    expect_ok(ctx, add_mixed(ctx, w, &zones[0])); /* its COPY is open */
    q.location = loc("pdb_queue");
    assert_int_equal(pthread_create(&t, NULL, queued_writer, &q), 0);
    /* Until the second writer waits on the lock, as the server sees it. */
    int waiting = 0;
    for (int i = 0; i < 3000 && !waiting; i++) {
        waiting = count_in("pdb_queue", "SELECT count(*) FROM pg_stat_activity WHERE "
                                        "datname = 'pdb_queue' AND wait_event_type = 'Lock'") == 1;
        if (!waiting)
            usleep(10000);
    }
    assert_true(waiting);
    expect_ok(ctx, pdb_writer_commit(ctx, w, &counts));
    pdb_writer_free(w);
    assert_int_equal(pthread_join(t, NULL), 0);
    if (q.st != PDB_OK)
        fail_msg("the queued writer: status %d: %s", q.st, q.msg);
    assert_int_equal(pdb_communes_list(ctx, s, &list), PDB_OK);
    assert_int_equal(list->count, 2);
    assert_string_equal(list->items[0].code, zones[0].commune);
    assert_int_equal(list->items[0].data_version, 1);
    assert_int_equal(list->items[1].data_version, 2);
    pdb_commune_list_free(list);
    char *ids =
        psql_rows("pdb_queue", "SELECT string_agg(id::text, ',' ORDER BY id) || ' ' || "
                               "string_agg(commune, ',' ORDER BY id) FROM parceldb.parcels");
    assert_string_equal(ids, "1,2,3,4,5,6,7,8,9,10,11,12,13,14 07894,07894,07894,07894,07894,"
                             "07894,07894,08707,08707,08707,08707,08707,08707,08707\n");
    free(ids);
    pdb_store_close(s);
    pdb_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_open_reopen),
        cmocka_unit_test(test_wrong_location),
        cmocka_unit_test(test_database_without_postgis),
        cmocka_unit_test(test_schema_of_another_version),
        cmocka_unit_test(test_same_loads_as_sqlite),
        cmocka_unit_test(test_writer_freed_leaves_nothing),
        cmocka_unit_test(test_commit_notifies),
        cmocka_unit_test(test_writers_queue),
        cmocka_unit_test(test_readonly_open_refuses_writes),
        cmocka_unit_test(test_role_without_write_rights),
        cmocka_unit_test(test_backup_restores),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
