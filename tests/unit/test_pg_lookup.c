/*
 * test_pg_lookup.c: the point-lookup index on the PostgreSQL/PostGIS store
 * (engine/src/pg_lookup.c) against the SQLite store's, which is the
 * reference: the same surveys, written by pdb-synth and loaded into both
 * stores by `parceldb import` as a user would, must give the same parcel
 * (id, commune, sheet, parcel number) or the same miss for every point,
 * from the stored BLOBs or, without them, from the parcels; a re-import of a commune must reach a
 * PostgreSQL handle that had loaded it; and once a handle has loaded its communes, its lookups must
 * keep answering with the server stopped (issue 17: "lookups of loaded communes keep working"),
 * single points too; and a public lookup, which the index answers from memory, must give every
 * field the store's read of the parcel gives, on both stores (issue 19).
 *
 * The test starts its own PostgreSQL cluster (initdb, pg_ctl, a Unix
 * socket in its temporary directory): it stops the server on purpose, so
 * it cannot share one with other tests. PostgreSQL or PostGIS missing is a
 * failure, never a skip (scripts/install-deps.sh installs them).
 */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parceldb.h"
#include "pg_lookup.h" /* pdb__pg_lookup_store_commune */

#define COMMUNES "07894,08707,04792" /* Viet Tri 104-45, Vinh Yen 105-00, Hoa Binh 106-00 */
#define REIMPORTED "08707"
#define PER_COMMUNE 600
#define RANDOM_PER_COMMUNE 2000
#define MAX_POINTS 40000

typedef struct env {
    pdb_ctx *ctx;     /* the test thread's context */
    char dir[512];    /* temporary directory */
    char sqlite[600]; /* the SQLite store */
    char pg[900];     /* the PostgreSQL store's location */
    char pgdir[600];  /* the cluster: data/, its log and its socket */
    char run_as[64];  /* "runuser -u postgres --" when root: initdb refuses root */
    int port;         /* names the socket file */
    double *pts;      /* npts lon/lat pairs */
    size_t npts;      /* points in pts */
} env;

static const char *parceldb(void)
{
    const char *p = getenv("PARCELDB");
    return p ? p : PDB_BINARY_DIR "/cli/parceldb";
}

/* The points, drawn by PostGIS from the store: every vertex and every
 * edge midpoint of a tenth of the parcels (the boundary cases the
 * half-open rule decides), and random points over each commune's box
 * widened by a tenth (in parcels, in gaps, outside every commune), from a
 * fixed seed. Printed with the shortest digits that read back as the same
 * double (PostgreSQL 12 and later). */
static void load_points(env *e)
{
    char *text = tu_capture(
        "psql -X -q -At -v ON_ERROR_STOP=1 'host=%s port=%d dbname=test user=postgres' "
        "-c 'SELECT setseed(0.17)' -c \"SELECT ST_X(p), ST_Y(p) FROM ("
        "SELECT (ST_DumpPoints(geom)).geom AS p FROM parceldb.parcels WHERE id %% 10 = 0 "
        "UNION ALL SELECT ST_LineInterpolatePoint((ST_DumpSegments(geom)).geom, 0.5) "
        "FROM parceldb.parcels WHERE id %% 10 = 5) b UNION ALL "
        "SELECT min_lon + (max_lon - min_lon) * (1.2 * random() - 0.1), "
        "min_lat + (max_lat - min_lat) * (1.2 * random() - 0.1) "
        "FROM parceldb.communes, generate_series(1, %d)\"",
        e->pgdir, e->port, RANDOM_PER_COMMUNE);
    assert_non_null(text);
    e->npts = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        double lon, lat;
        if (sscanf(line, "%lf|%lf", &lon, &lat) != 2)
            continue; /* setseed's empty row */
        if (e->npts == MAX_POINTS)
            fail_msg("more than %d points", MAX_POINTS);
        e->pts[2 * e->npts] = lon;
        e->pts[2 * e->npts + 1] = lat;
        e->npts++;
    }
    free(text);
    if (e->npts < 3 * RANDOM_PER_COMMUNE + 1000)
        fail_msg("PostGIS drew only %zu points", e->npts);
}

/* pg_ctl on the test's cluster: "start" or "stop". */
static int pg_ctl(env *e, const char *action)
{
    return tu_run("cd '%s' && %s \"$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pg_ctl\" "
                  "-D '%s/data' -l '%s/server.log' -w -t 60 -m fast "
                  "-o \"-c listen_addresses= -k %s -p %d -c fsync=off\" %s >/dev/null",
                  e->pgdir, e->run_as, e->pgdir, e->pgdir, e->pgdir, e->port, action);
}

/* A fresh cluster with a database "test" that has PostGIS. */
static int cluster_start(env *e)
{
    snprintf(e->pgdir, sizeof e->pgdir, "%s/pg", e->dir);
    snprintf(e->run_as, sizeof e->run_as, "%s", getuid() == 0 ? "runuser -u postgres --" : "");
    e->port = 20000 + (int)(getpid() % 30000);
    if (tu_run("ls -d /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1") != 0) {
        fprintf(stderr, "PostgreSQL is not installed: run scripts/install-deps.sh\n");
        return -1;
    }
    if (tu_run("mkdir -p '%s' && { [ \"$(id -u)\" -ne 0 ] || chown postgres '%s'; } && cd '%s' && "
               "%s \"$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/initdb\" -D '%s/data' "
               "-U postgres --auth=trust -E UTF8 --locale=C --no-sync >'%s/initdb.log' 2>&1",
               e->pgdir, e->pgdir, e->pgdir, e->run_as, e->pgdir, e->dir) != 0 ||
        pg_ctl(e, "start") != 0)
        return -1;
    if (tu_run("psql -X -q -v ON_ERROR_STOP=1 'host=%s port=%d dbname=postgres user=postgres' "
               "-c 'CREATE DATABASE test' && psql -X -q -v ON_ERROR_STOP=1 "
               "'host=%s port=%d dbname=test user=postgres' -c 'CREATE EXTENSION postgis'",
               e->pgdir, e->port, e->pgdir, e->port) != 0) {
        fprintf(stderr, "no PostGIS in the cluster: run scripts/install-deps.sh\n");
        return -1;
    }
    snprintf(e->pg, sizeof e->pg, "postgresql:///test?host=%s&port=%d&user=postgres", e->pgdir,
             e->port);
    return 0;
}

/* pdb-synth's survey of the communes into dir, imported into both stores. */
static int import_both(env *e, const char *communes, const char *seed, const char *dir)
{
    return tu_run("'%s/samples/pdb-synth' --out '%s' --communes %s --parcels-per-commune %d "
                  "--defects none --seed %s --quiet && "
                  "'%s' import --quiet --no-overviews --db '%s' '%s' >/dev/null && "
                  "'%s' import --quiet --no-overviews --db '%s' '%s' >/dev/null",
                  PDB_BINARY_DIR, dir, communes, PER_COMMUNE, seed, parceldb(), e->sqlite, dir,
                  parceldb(), e->pg, dir);
}

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    char src[700];
    if (e == NULL)
        return -1;
    *state = e;
    snprintf(e->dir, sizeof e->dir, "%s", tu_tmpdir("pglookup"));
    snprintf(e->sqlite, sizeof e->sqlite, "%s/parcels.sqlite", e->dir);
    snprintf(src, sizeof src, "%s/survey", e->dir);
    if (tu_run("chmod 755 '%s'", e->dir) != 0 || cluster_start(e) != 0 ||
        tu_run("'%s' init --db '%s' >/dev/null && '%s' init --db '%s' >/dev/null", parceldb(),
               e->sqlite, parceldb(), e->pg) != 0 ||
        import_both(e, COMMUNES, "1", src) != 0)
        return -1;
    if (pdb_ctx_new(&e->ctx) != PDB_OK ||
        (e->pts = malloc(2 * MAX_POINTS * sizeof(double))) == NULL)
        return -1;
    load_points(e);
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    if (e == NULL)
        return 0;
    if (e->pgdir[0] != '\0')
        pg_ctl(e, "stop");
    pdb_ctx_free(e->ctx);
    tu_run("rm -rf '%s'", e->dir);
    free(e->pts);
    free(e);
    return 0;
}

static pdb_store *open_store(env *e, const char *location)
{
    pdb_store *s = NULL;
    if (pdb_store_open(e->ctx, location, PDB_OPEN_READONLY, &s) != PDB_OK)
        fail_msg("open %s: %s", location, pdb_errmsg(e->ctx));
    return s;
}

/* The batch answers of a store for every point (caller frees). */
static pdb_point_parcel *answers(env *e, pdb_store *s, const char *which)
{
    pdb_point_parcel *out = calloc(e->npts, sizeof *out);
    assert_non_null(out);
    if (pdb_parcels_first_at(e->ctx, s, e->pts, e->npts, out) != PDB_OK)
        fail_msg("%s: batch lookup: %s", which, pdb_errmsg(e->ctx));
    return out;
}

/* The same answer for every point; the number of hits. The texts are
 * borrowed from the handles, so both are compared before the next call. */
static size_t assert_same(env *e, const pdb_point_parcel *pg, const pdb_point_parcel *ref)
{
    size_t hits = 0;
    for (size_t i = 0; i < e->npts; i++) {
        if (pg[i].id != ref[i].id)
            fail_msg("point %zu (%.12f, %.12f): PostgreSQL gives %lld, SQLite %lld", i,
                     e->pts[2 * i], e->pts[2 * i + 1], (long long)pg[i].id, (long long)ref[i].id);
        if (ref[i].id == 0) {
            assert_null(pg[i].commune);
            continue;
        }
        assert_string_equal(pg[i].commune, ref[i].commune);
        assert_string_equal(pg[i].sheet, ref[i].sheet);
        assert_string_equal(pg[i].parcel, ref[i].parcel);
        hits++;
    }
    return hits;
}

/* The two stores were loaded a moment apart: their valid_from times
 * differ, and nothing else may. Overwrites each such time with x's. */
static void mask_import_times(char *json)
{
    static const char key[] = "\"valid_from\":\"";
    for (char *p = strstr(json, key); p != NULL; p = strstr(p, key))
        for (p += sizeof key - 1; *p != '\0' && *p != '"'; p++)
            *p = 'x';
}

/* Every step-th point's whole answer, as the HTTP lookup and `parceldb
 * lookup --lon --lat` write it: the same GeoJSON from both stores, owner
 * and geometry included, but for the import time. */
static void assert_same_geojson(env *e, pdb_store *pg, pdb_store *sq, size_t step, unsigned flags)
{
    for (size_t i = 0; i < e->npts; i += step) {
        pdb_parcel_list *a = NULL, *b = NULL;
        char *ja = NULL, *jb = NULL;
        if (pdb_parcels_at(e->ctx, pg, e->pts[2 * i], e->pts[2 * i + 1], flags, &a) != PDB_OK ||
            pdb_parcels_at(e->ctx, sq, e->pts[2 * i], e->pts[2 * i + 1], flags, &b) != PDB_OK)
            fail_msg("point %zu: %s", i, pdb_errmsg(e->ctx));
        int personal = (flags & PDB_READ_PERSONAL) != 0;
        assert_int_equal(pdb_parcels_to_geojson(e->ctx, a, personal, &ja), PDB_OK);
        assert_int_equal(pdb_parcels_to_geojson(e->ctx, b, personal, &jb), PDB_OK);
        mask_import_times(ja);
        mask_import_times(jb);
        assert_string_equal(ja, jb);
        pdb_free(ja);
        pdb_free(jb);
        pdb_parcel_list_free(a);
        pdb_parcel_list_free(b);
    }
}

/* Fresh handles on both stores answer every point alike, hits and
 * misses: most points hit a parcel, some none. */
static void assert_fresh_handles_agree(env *e)
{
    pdb_store *sq = open_store(e, e->sqlite), *pg = open_store(e, e->pg);
    pdb_point_parcel *ref = answers(e, sq, "SQLite"), *got = answers(e, pg, "PostgreSQL");
    size_t hits = assert_same(e, got, ref);
    print_message("%zu points, %zu in a parcel\n", e->npts, hits);
    if (hits < e->npts / 2 || hits == e->npts)
        fail_msg("%zu of %zu points hit a parcel: the points do not test hits and misses", hits,
                 e->npts);
    assert_same_geojson(e, pg, sq, 7, PDB_READ_PERSONAL | PDB_READ_WGS84);
    assert_same_geojson(e, pg, sq, 7, PDB_READ_WGS84);
    free(got);
    free(ref);
    pdb_store_close(pg);
    pdb_store_close(sq);
}

static void test_same_answers(void **state)
{
    assert_fresh_handles_agree(*state);
}

/* Without their stored BLOBs (a store written before the index, or rows
 * lost), the communes are built from their parcels in one read each, and
 * answer alike. */
static void test_missing_blobs_built_from_parcels(void **state)
{
    env *e = *state;
    assert_int_equal(tu_run("psql -X -q -v ON_ERROR_STOP=1 'host=%s port=%d dbname=test "
                            "user=postgres' -c 'DELETE FROM parceldb.lookup_index'",
                            e->pgdir, e->port),
                     0);
    assert_fresh_handles_agree(e);
}

/* A commune without current parcels (every record rejected) still gets
 * its index row, empty and without a box, as in SQLite. */
static void test_empty_commune_stored(void **state)
{
    env *e = *state;
    pdb_store *pg = NULL;
    if (pdb_store_open(e->ctx, e->pg, 0, &pg) != PDB_OK)
        fail_msg("open: %s", pdb_errmsg(e->ctx));
    if (pdb__pg_lookup_store_commune(e->ctx, pg, "07900", 1) != PDB_OK)
        fail_msg("storing an empty commune's index: %s", pdb_errmsg(e->ctx));
    pdb_store_close(pg);
    char *row = tu_capture("psql -X -q -At 'host=%s port=%d dbname=test user=postgres' -c "
                           "\"DELETE FROM parceldb.lookup_index WHERE commune = '07900' "
                           "RETURNING parcels, min_lon IS NULL, max_lat IS NULL\"",
                           e->pgdir, e->port);
    assert_non_null(row);
    assert_string_equal(row, "0|t|t\n");
    free(row);
}

/* A handle that had loaded a commune answers with its new parcels once the
 * commune is imported again (through another process). */
static void test_reimport_reaches_a_loaded_handle(void **state)
{
    env *e = *state;
    char src[700];
    pdb_store *pg = open_store(e, e->pg);
    pdb_point_parcel *before = answers(e, pg, "PostgreSQL");
    int64_t max_before = 0;
    for (size_t i = 0; i < e->npts; i++)
        max_before = before[i].id > max_before ? before[i].id : max_before;
    free(before);

    snprintf(src, sizeof src, "%s/resurvey", e->dir);
    assert_int_equal(import_both(e, REIMPORTED, "9", src), 0);
    pdb_store *sq = open_store(e, e->sqlite);
    pdb_point_parcel *ref = answers(e, sq, "SQLite"), *got = answers(e, pg, "PostgreSQL");
    assert_same(e, got, ref);
    size_t new_hits = 0;
    for (size_t i = 0; i < e->npts; i++)
        if (got[i].id > max_before) {
            assert_string_equal(got[i].commune, REIMPORTED);
            new_hits++;
        }
    if (new_hits < e->npts / 20)
        fail_msg("only %zu points found the re-imported parcels", new_hits);
    free(got);
    free(ref);
    pdb_store_close(sq);
    pdb_store_close(pg);
}

/* ------------------------------------------------------------------------ */
/* Public lookups from memory: every field as the store's read gives it       */
/* ------------------------------------------------------------------------ */

/* What the parcels compared held, so that the test knows it met each case. */
typedef struct field_cases {
    size_t parcels;    /* parcels compared */
    size_t no_address; /* address NULL */
    size_t vietnamese; /* address with a letter outside ASCII */
    size_t no_area;    /* surveyed area NaN */
    size_t no_former;  /* former commune NULL */
    size_t flagged;    /* flags other than 0 (defects kept and flagged) */
} field_cases;

static void assert_same_text(const char *what, int64_t id, const char *a, const char *b)
{
    if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0))
        fail_msg("parcel %lld: %s: the lookup gives %s%s%s, the read %s%s%s", (long long)id, what,
                 a ? "\"" : "", a ? a : "NULL", a ? "\"" : "", b ? "\"" : "", b ? b : "NULL",
                 b ? "\"" : "");
}

static void assert_same_bytes(const char *what, int64_t id, const unsigned char *a, size_t na,
                              const unsigned char *b, size_t nb)
{
    if (na != nb || (na > 0 && memcmp(a, b, na) != 0))
        fail_msg("parcel %lld: %s: %zu bytes from the lookup, %zu from the read, or others",
                 (long long)id, what, na, nb);
}

/* Every field of a parcel from a lookup against the store's read of it by
 * id (pdb_parcel_get, the read the index made per parcel before). */
static void assert_same_parcel(const pdb_parcel *a, const pdb_parcel *b, field_cases *fc)
{
    assert_int_equal(a->id, b->id);
    assert_same_text("commune", a->id, a->commune, b->commune);
    assert_same_text("former_commune", a->id, a->former_commune, b->former_commune);
    assert_same_text("sheet", a->id, a->sheet, b->sheet);
    assert_same_text("parcel", a->id, a->parcel, b->parcel);
    assert_same_text("landuse", a->id, a->landuse, b->landuse);
    assert_same_text("address", a->id, a->address, b->address);
    assert_same_text("owner", a->id, a->owner, b->owner);
    assert_same_text("valid_from", a->id, a->valid_from, b->valid_from);
    assert_same_text("valid_to", a->id, a->valid_to, b->valid_to);
    if (isnan(a->area_surveyed_m2) != isnan(b->area_surveyed_m2) ||
        (!isnan(a->area_surveyed_m2) && a->area_surveyed_m2 != b->area_surveyed_m2))
        fail_msg("parcel %lld: surveyed area %.17g from the lookup, %.17g from the read",
                 (long long)a->id, a->area_surveyed_m2, b->area_surveyed_m2);
    if (a->area_computed_m2 != b->area_computed_m2)
        fail_msg("parcel %lld: computed area %.17g from the lookup, %.17g from the read",
                 (long long)a->id, a->area_computed_m2, b->area_computed_m2);
    assert_int_equal(a->source_srid, b->source_srid);
    assert_int_equal(a->batch_id, b->batch_id);
    assert_int_equal(a->flags, b->flags);
    assert_same_bytes("source_wkb", a->id, a->source_wkb, a->source_wkb_len, b->source_wkb,
                      b->source_wkb_len);
    assert_same_bytes("wgs84_wkb", a->id, a->wgs84_wkb, a->wgs84_wkb_len, b->wgs84_wkb,
                      b->wgs84_wkb_len);
    fc->parcels++;
    fc->no_address += a->address == NULL;
    fc->no_former += a->former_commune == NULL;
    fc->no_area += isnan(a->area_surveyed_m2) != 0;
    fc->flagged += a->flags != 0;
    for (const char *c = a->address; c != NULL && *c != '\0'; c++)
        if ((unsigned char)*c >= 0x80) {
            fc->vietnamese++;
            break;
        }
}

/* For each current parcel (a point inside it from PostGIS, with its id),
 * a fresh read-only handle's lookup lists it, and every parcel the lookup
 * lists is the store's read of it, field for field, with each read's
 * flags: public ones answered from memory, the owner's and the source
 * geometry's from the store. */
static void assert_lookups_are_reads(env *e, const char *location, const char *points,
                                     field_cases *fc)
{
    static const unsigned reads[] = {0, PDB_READ_WGS84, PDB_READ_WGS84 | PDB_READ_PERSONAL,
                                     PDB_READ_SOURCE};
    pdb_store *s = open_store(e, location);
    char *copy = strdup(points), *save = NULL;
    size_t n = 0;
    assert_non_null(copy);
    for (char *line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        long long id;
        double lon, lat;
        if (sscanf(line, "%lld|%lf|%lf", &id, &lon, &lat) != 3)
            fail_msg("a point line: %s", line);
        for (size_t r = 0; r < sizeof reads / sizeof *reads; r++) {
            pdb_parcel_list *list = NULL;
            int found = 0;
            if (pdb_parcels_at(e->ctx, s, lon, lat, reads[r], &list) != PDB_OK)
                fail_msg("%s: parcel %lld at (%.15g, %.15g): %s", location, id, lon, lat,
                         pdb_errmsg(e->ctx));
            for (size_t i = 0; i < list->count; i++) {
                pdb_parcel *ref = NULL;
                if (pdb_parcel_get(e->ctx, s, list->items[i].id, reads[r], &ref) != PDB_OK)
                    fail_msg("%s: reading parcel %lld: %s", location, (long long)list->items[i].id,
                             pdb_errmsg(e->ctx));
                assert_same_parcel(&list->items[i], ref, r == 1 ? fc : &(field_cases){0});
                found |= list->items[i].id == id;
                pdb_parcel_free(ref);
            }
            if (!found)
                fail_msg("%s: the point (%.15g, %.15g) inside parcel %lld does not find it",
                         location, lon, lat, id);
            pdb_parcel_list_free(list);
        }
        n++;
    }
    free(copy);
    pdb_store_close(s);
    if (n < 100)
        fail_msg("only %zu parcels to compare", n);
}

/* Runs SQL in the cluster's database db; 0 on success. */
static int psql(const env *e, const char *db, const char *sql)
{
    return tu_run(
        "psql -X -q -v ON_ERROR_STOP=1 'host=%s port=%d dbname=%s user=postgres' -c \"%s\"",
        e->pgdir, e->port, db, sql);
}

static void test_public_lookups_from_memory(void **state)
{
    /* Several surveys: seeds, defects kept and flagged, curved edges (many
     * vertices). Each into a new SQLite file and a new PostgreSQL
     * database. */
    static const char *const surveys[][2] = {
        {"mem1", "--seed 3 --defects default --curved-edges 4"},
        {"mem2", "--seed 11 --defects 2-per-kind"},
        {"mem3", "--seed 29 --defects none --curved-edges 20"},
    };
    env *e = *state;
    field_cases total = {0};
    for (size_t k = 0; k < sizeof surveys / sizeof *surveys; k++) {
        const char *db = surveys[k][0];
        char dir[700], sq[800], pg[1200];
        snprintf(dir, sizeof dir, "%s/%s", e->dir, db);
        snprintf(sq, sizeof sq, "%s/parcels.sqlite", dir);
        snprintf(pg, sizeof pg, "postgresql:///%s?host=%s&port=%d&user=postgres", db, e->pgdir,
                 e->port);
        char create[200];
        snprintf(create, sizeof create, "CREATE DATABASE %s", db);
        assert_int_equal(psql(e, "postgres", create), 0);
        assert_int_equal(psql(e, db, "CREATE EXTENSION postgis"), 0);
        /* The surveys as a survey office edits them (ogrinfo on each
         * GeoPackage): some parcels without an address, a surveyed area
         * or a former commune. */
        assert_int_equal(
            tu_run(
                "'%s/samples/pdb-synth' --out '%s/survey' --communes 07894,04792 "
                "--parcels-per-commune 300 --format GPKG --quiet %s && "
                "for f in '%s'/survey/*.gpkg; do "
                "ogrinfo -q \"$f\" -sql 'UPDATE ThuaDat SET DiaChi = NULL WHERE fid %% 5 = 0' && "
                "ogrinfo -q \"$f\" -sql 'UPDATE ThuaDat SET DienTich = NULL WHERE fid %% 7 = 0' "
                "&& ogrinfo -q \"$f\" -sql 'UPDATE ThuaDat SET MaXaCu = NULL WHERE fid %% 3 = 0' "
                ">/dev/null || exit 1; done && "
                "'%s' init --db '%s' >/dev/null && '%s' init --db '%s' >/dev/null && "
                "'%s' import --quiet --no-overviews --db '%s' '%s/survey' >/dev/null && "
                "'%s' import --quiet --no-overviews --db '%s' '%s/survey' >/dev/null",
                PDB_BINARY_DIR, dir, surveys[k][1], dir, parceldb(), sq, parceldb(), pg, parceldb(),
                sq, dir, parceldb(), pg, dir),
            0);
        char *points = tu_capture(
            "psql -X -q -At -v ON_ERROR_STOP=1 'host=%s port=%d dbname=%s user=postgres' "
            "-c 'SELECT id, ST_X(p), ST_Y(p) FROM (SELECT id, ST_PointOnSurface(geom) AS p FROM "
            "parceldb.parcels WHERE valid_to IS NULL) q ORDER BY id'",
            e->pgdir, e->port, db);
        assert_non_null(points);
        /* The BLOBs the imports stored; the same BLOBs of the previous
         * format (stale: built again from the parcels); none at all. */
        for (int stage = 0; stage < 3; stage++) {
            if (stage == 1) {
                assert_int_equal(tu_run("sqlite3 '%s' \"UPDATE lookup_index SET data = "
                                        "CAST('PDBLKP1' AS BLOB) || substr(data, 8)\"",
                                        sq),
                                 0);
                assert_int_equal(
                    psql(e, db, "UPDATE parceldb.lookup_index SET data = set_byte(data, 6, 49)"),
                    0);
            } else if (stage == 2) {
                assert_int_equal(tu_run("sqlite3 '%s' 'DELETE FROM lookup_index'", sq), 0);
                assert_int_equal(psql(e, db, "DELETE FROM parceldb.lookup_index"), 0);
            }
            assert_lookups_are_reads(e, sq, points, &total);
            assert_lookups_are_reads(e, pg, points, &total);
            if (stage == 1) {
                /* A read-write open writes the SQLite store's stale BLOBs
                 * again, in this format. */
                pdb_store *rw = NULL;
                if (pdb_store_open(e->ctx, sq, 0, &rw) != PDB_OK)
                    fail_msg("open %s: %s", sq, pdb_errmsg(e->ctx));
                pdb_store_close(rw);
                char *magic = tu_capture("sqlite3 '%s' \"SELECT DISTINCT CAST(substr(data, 1, 7) "
                                         "AS TEXT) FROM lookup_index\"",
                                         sq);
                assert_non_null(magic);
                assert_string_equal(magic, "PDBLKP4\n");
                free(magic);
            }
        }
        free(points);
    }
    print_message("%zu parcels compared: %zu without address, %zu with a Vietnamese one, %zu "
                  "without surveyed area, %zu without former commune, %zu flagged\n",
                  total.parcels, total.no_address, total.vietnamese, total.no_area, total.no_former,
                  total.flagged);
    if (total.no_address == 0 || total.vietnamese == 0 || total.no_area == 0 ||
        total.no_former == 0 || total.flagged == 0)
        fail_msg("the surveys did not hold every case the comparison is for");
}

/* A coordinate (k 0: lon, 1: lat) of the first point that hits a parcel. */
static double ref_point(const env *e, const pdb_point_parcel *ref, int k)
{
    for (size_t i = 0; i < e->npts; i++)
        if (ref[i].id != 0)
            return e->pts[2 * i + k];
    fail_msg("no point hits a parcel");
    return NAN;
}

/* With every commune loaded, the server stopped: the same answers. */
static void test_loaded_communes_answer_without_the_server(void **state)
{
    env *e = *state;
    pdb_store *sq = open_store(e, e->sqlite), *pg = open_store(e, e->pg);
    pdb_point_parcel *ref = answers(e, sq, "SQLite");
    free(answers(e, pg, "PostgreSQL")); /* loads every commune the points meet */

    assert_int_equal(pg_ctl(e, "stop"), 0);
    pdb_store *gone = NULL;
    assert_int_not_equal(pdb_store_open(e->ctx, e->pg, PDB_OPEN_READONLY, &gone), PDB_OK);
    assert_null(gone);
    pdb_point_parcel *got = answers(e, pg, "PostgreSQL, server stopped");
    assert_same(e, got, ref);
    /* And again: the handle stays usable, still without a server. */
    free(got);
    got = answers(e, pg, "PostgreSQL, server stopped, twice");
    assert_same(e, got, ref);
    free(got);
    /* A single public point too, the whole answer as the HTTP lookup
     * writes it: the index holds every public field. */
    assert_same_geojson(e, pg, sq, 97, PDB_READ_WGS84);
    /* The owner is read from the store alone: it fails as the store does. */
    pdb_parcel_list *none = NULL;
    assert_int_not_equal(pdb_parcels_at(e->ctx, pg, ref_point(e, ref, 0), ref_point(e, ref, 1),
                                        PDB_READ_PERSONAL, &none),
                         PDB_OK);
    assert_null(none);
    free(ref);
    pdb_store_close(pg);
    pdb_store_close(sq);
    assert_int_equal(pg_ctl(e, "start"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_answers),
        cmocka_unit_test(test_missing_blobs_built_from_parcels),
        cmocka_unit_test(test_empty_commune_stored),
        cmocka_unit_test(test_reimport_reaches_a_loaded_handle),
        cmocka_unit_test(test_public_lookups_from_memory),
        cmocka_unit_test(test_loaded_communes_answer_without_the_server),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
