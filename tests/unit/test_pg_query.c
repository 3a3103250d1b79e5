/*
 * test_pg_query.c: the PostgreSQL store's reads answer what the SQLite
 * store's answer. The same GeoPackages (written by ogr2ogr, read by GDAL)
 * are imported into an SQLite store and a PostgreSQL store, and every read
 * is asked of both: parcels at points, first at points, by number, in
 * boxes, history, by id, the renderer's feature stream (same order, same
 * coordinates to the bit; in a TM-3 zone, that zone's parcels in the
 * survey file's coordinates to the bit), the overviews before and after a rebuild, and
 * tiles drawn by `parceldb render` from each (the same PNG bytes).
 *
 * The PostgreSQL server: PDB_TEST_PG (a libpq conninfo without dbname,
 * e.g. "host=/tmp/pg port=5432 user=postgres"), or the test cluster of the
 * CTest run (PDB_PG_STATE, tests/lib/pg.sh), or a private one it starts.
 * The test makes its own database and drops it at the end.
 */
#include "fixture.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <gdal.h>
#include <libpq-fe.h>
#include <math.h>
#include <ogr_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CELL 50.0 /* metres: the side of a fixture parcel */
#define GRID 4    /* parcels per row and column */

typedef struct zone_fixture {
    int epsg;            /* the zone */
    const char *commune; /* a real commune code of that zone */
    double e0, n0;       /* south-west corner of the grid */
    char gpkg[512];      /* first survey */
    char gpkg2[512];     /* its re-survey (history) */
} zone_fixture;

static zone_fixture zones[] = {
    {9208, "07894", 567400.0, 2358700.0, "", ""}, /* Viet Tri, Phu Tho 104-45 */
    {5897, "08707", 561700.0, 2357250.0, "", ""}, /* Vinh Yen, Vinh Phuc 105-00 */
    {9211, "04792", 430850.0, 2302800.0, "", ""}, /* Hoa Binh 106-00 */
};
#define NZONES 3

#define NFIX (GRID * GRID + 3)

/* A grid of parcels sharing edges, on sheets "1", "2" and "10" (text order
 * is not number order), with land uses that dissolve into groups, one with
 * a hole, one in two parts and one number twice. The re-survey moves
 * nothing but renumbers land use, so that history has two rows. */
static void make_parcels(const zone_fixture *z, int resurvey, fx_parcel *p)
{
    static const char *uses[] = {"ONT+CLN", "LUC", "CLN", "ONT", "LUC+NTS", "BHK"};
    static const char *sheets[] = {"1", "2", "10"};
    static char numbers[NFIX][8];
    for (int i = 0; i < GRID * GRID; i++) {
        snprintf(numbers[i], sizeof numbers[i], "%d", i + 1);
        p[i] = (fx_parcel){sheets[i % 3], numbers[i], uses[(i + resurvey * (i % 2)) % 6],
                           i % 4 ? "Nguyễn Văn Hùng" : "Trần Thị Thủy", ""};
        fx_square_wkt(p[i].wkt, sizeof p[i].wkt, z->e0 + (i % GRID) * CELL,
                      z->n0 + (double)(i / GRID) * CELL, CELL, i == 5 ? 12.0 : 0.0);
    }
    p[GRID * GRID] = (fx_parcel){"2", "40", "RSX", "Lê Văn A", ""};
    fx_two_squares_wkt(p[GRID * GRID].wkt, sizeof p[0].wkt, z->e0 + 300, z->n0, z->e0 + 400, z->n0,
                       CELL);
    p[GRID * GRID + 1] = (fx_parcel){"1", "41", "NTS", "Lê Văn B", ""};
    fx_square_wkt(p[GRID * GRID + 1].wkt, sizeof p[0].wkt, z->e0, z->n0 + 300, CELL, 0);
    p[GRID * GRID + 2] = (fx_parcel){"1", "41", "NTS", "Lê Văn C", ""};
    fx_square_wkt(p[GRID * GRID + 2].wkt, sizeof p[0].wkt, z->e0 + 100, z->n0 + 300, CELL, 0);
}

typedef struct env {
    pdb_ctx *ctx;        /* the test thread's context */
    pdb_store *sq;       /* the SQLite store */
    pdb_store *pg;       /* the PostgreSQL store, the same imports */
    pdb_store *pgro;     /* a read-only handle on it, open from the start: overviews come
                            from the process-wide cache there (pg_ovcache.c), and it must
                            follow every change the other handle makes */
    char sq_path[512];   /* the SQLite file */
    char server[1300];   /* conninfo of the server, without dbname */
    char db[64];         /* the test's database */
    char location[1400]; /* the PostgreSQL store's location */
    char *dir;           /* temporary directory */
    char cluster[600];   /* the private cluster's directory, when this test started one */
} env;

/* The server's conninfo: PDB_TEST_PG, or the CTest run's cluster
 * (PDB_PG_STATE, tests/lib/pg.sh), or else a private cluster this test
 * starts (tests/unit/pg_cluster.sh) in *cluster_dir. */
static int find_server(char *out, size_t cap, char *cluster_dir, size_t dir_cap)
{
    const char *env_pg = getenv("PDB_TEST_PG"), *state = getenv("PDB_PG_STATE");
    FILE *f = state ? fopen(state, "r") : NULL;
    char line[600], dir[600] = "", port[600] = "";

    if (env_pg != NULL && *env_pg != '\0') {
        snprintf(out, cap, "%s", env_pg);
        if (f != NULL)
            fclose(f);
        return 0;
    }
    if (f == NULL) {
        char *made = tu_capture("mktemp -d /tmp/pdb-pgquery.XXXXXX");
        if (made == NULL)
            return -1;
        made[strcspn(made, "\n")] = '\0';
        snprintf(cluster_dir, dir_cap, "%s", made);
        free(made);
        char *info = tu_capture("bash '%s/tests/unit/pg_cluster.sh' start '%s'", PDB_SOURCE_DIR,
                                cluster_dir);
        int ok = info != NULL && strncmp(info, "host=", 5) == 0;
        if (ok) {
            info[strcspn(info, "\n")] = '\0';
            snprintf(out, cap, "%s", info);
        } else {
            fprintf(stderr, "could not start a PostgreSQL cluster (see above)\n");
        }
        free(info);
        return ok ? 0 : -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "PDB_PG_DIR=", 11) == 0)
            snprintf(dir, sizeof dir, "%s", line + 11);
        else if (strncmp(line, "PDB_PG_PORT=", 12) == 0)
            snprintf(port, sizeof port, "%s", line + 12);
    }
    fclose(f);
    snprintf(out, cap, "host=%s port=%s user=postgres", dir, port);
    return dir[0] && port[0] ? 0 : -1;
}

/* Runs SQL on a database of the server; 0 on success. */
static int pg_sql(const env *e, const char *db, const char *sql)
{
    char conninfo[1400];
    snprintf(conninfo, sizeof conninfo, "%s dbname=%s", e->server, db);
    PGconn *c = PQconnectdb(conninfo);
    PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    int ok = r != NULL &&
             (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
    if (!ok)
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : -1;
}

static int load_both(env *e, const char *gpkg, const zone_fixture *z)
{
    int64_t batch;
    if (fx_load(e->ctx, e->sq, gpkg, z->commune, z->epsg, &batch) != PDB_OK ||
        fx_load(e->ctx, e->pg, gpkg, z->commune, z->epsg, &batch) != PDB_OK) {
        fprintf(stderr, "load %s: %s\n", gpkg, pdb_errmsg(e->ctx));
        return -1;
    }
    return 0;
}

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    fx_parcel parcels[NFIX];
    char sql[256], name[64];

    e->dir = strdup(tu_tmpdir("pg_query"));
    snprintf(e->sq_path, sizeof e->sq_path, "%s/parcels.sqlite", e->dir);
    if (pdb_ctx_new(&e->ctx) != PDB_OK ||
        find_server(e->server, sizeof e->server, e->cluster, sizeof e->cluster) != 0)
        return -1;
    snprintf(e->db, sizeof e->db, "pdb_pg_query_%ld", (long)getpid());
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", e->db);
    pg_sql(e, "postgres", sql);
    /* A copy of the cluster's template with PostGIS when it has one. */
    snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE pdb_template", e->db);
    if (pg_sql(e, "postgres", sql) != 0) {
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", e->db);
        if (pg_sql(e, "postgres", sql) != 0 ||
            pg_sql(e, e->db, "CREATE EXTENSION IF NOT EXISTS postgis") != 0)
            return -1;
    }
    snprintf(e->location, sizeof e->location, "%s dbname=%s", e->server, e->db);
    if (pdb_store_create(e->ctx, e->sq_path, &e->sq) != PDB_OK ||
        pdb_store_create(e->ctx, e->location, &e->pg) != PDB_OK) {
        fprintf(stderr, "create: %s\n", pdb_errmsg(e->ctx));
        return -1;
    }
    for (int z = 0; z < NZONES; z++) {
        for (int resurvey = 0; resurvey < 2; resurvey++) {
            char *gpkg = resurvey ? zones[z].gpkg2 : zones[z].gpkg;
            make_parcels(&zones[z], resurvey, parcels);
            snprintf(name, sizeof name, "%s_%d", zones[z].commune, resurvey);
            if (fx_write_gpkg(e->dir, name, zones[z].commune, zones[z].epsg, parcels, NFIX, gpkg,
                              sizeof zones[z].gpkg) != 0)
                return -1;
        }
        if (load_both(e, zones[z].gpkg, &zones[z]) != 0)
            return -1;
    }
    /* One commune surveyed again: its first parcels become history. */
    if (load_both(e, zones[1].gpkg2, &zones[1]) != 0)
        return -1;
    if (pdb_store_open(e->ctx, e->location, PDB_OPEN_READONLY, &e->pgro) != PDB_OK) {
        fprintf(stderr, "open read-only: %s\n", pdb_errmsg(e->ctx));
        return -1;
    }
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    char sql[128];
    pdb_store_close(e->sq);
    pdb_store_close(e->pg);
    pdb_store_close(e->pgro);
    /* FORCE: a failed test may have left a handle open. */
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", e->db);
    pg_sql(e, "postgres", sql);
    snprintf(sql, sizeof sql, "DROP ROLE IF EXISTS pdb_one_%ld", (long)getpid());
    pg_sql(e, "postgres", sql);
    pdb_ctx_free(e->ctx);
    if (e->cluster[0] != '\0')
        tu_run("bash '%s/tests/unit/pg_cluster.sh' stop '%s'", PDB_SOURCE_DIR, e->cluster);
    tu_run("rm -rf '%s'", e->dir);
    free(e->dir);
    free(e);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Comparing answers                                                         */
/* ------------------------------------------------------------------------ */

static void same_text(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

/* Doubles to the bit (NAN as NAN). */
static void same_double(double a, double b)
{
    uint64_t x, y;
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    if (x != y)
        fail_msg("%.17g != %.17g", a, b);
}

static void same_bytes(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    assert_int_equal(alen, blen);
    if (alen > 0)
        assert_memory_equal(a, b, alen);
}

static void same_parcel(const pdb_parcel *a, const pdb_parcel *b)
{
    assert_int_equal(a->id, b->id);
    same_text(a->commune, b->commune);
    same_text(a->former_commune, b->former_commune);
    same_text(a->sheet, b->sheet);
    same_text(a->parcel, b->parcel);
    same_text(a->landuse, b->landuse);
    same_double(a->area_surveyed_m2, b->area_surveyed_m2);
    same_double(a->area_computed_m2, b->area_computed_m2);
    same_text(a->address, b->address);
    same_text(a->owner, b->owner);
    assert_int_equal(a->source_srid, b->source_srid);
    assert_int_equal(a->batch_id, b->batch_id);
    same_text(a->valid_from != NULL ? "set" : NULL, b->valid_from != NULL ? "set" : NULL);
    same_text(a->valid_to != NULL ? "set" : NULL, b->valid_to != NULL ? "set" : NULL);
    assert_int_equal(a->flags, b->flags);
    same_bytes(a->source_wkb, a->source_wkb_len, b->source_wkb, b->source_wkb_len);
    same_bytes(a->wgs84_wkb, a->wgs84_wkb_len, b->wgs84_wkb, b->wgs84_wkb_len);
}

/* Two answers (status, message, list) to one question. */
static void same_answer(env *e, pdb_status sa, const char *msg_a, pdb_parcel_list *a, pdb_status sb,
                        pdb_parcel_list *b)
{
    assert_int_equal(sa, sb);
    if (sa != PDB_OK) {
        assert_string_equal(msg_a, pdb_errmsg(e->ctx));
        return;
    }
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->truncated, b->truncated);
    for (size_t i = 0; i < a->count; i++)
        same_parcel(&a->items[i], &b->items[i]);
}

#define ALL_FLAGS (PDB_READ_PERSONAL | PDB_READ_WGS84 | PDB_READ_SOURCE)

/* Asks both stores one list question: CALL is an expression of the store
 * `s` that fills `list`. */
#define BOTH(e, CALL)                                                                              \
    do {                                                                                           \
        pdb_parcel_list *list = NULL, *la, *lb;                                                    \
        pdb_store *s = (e)->sq;                                                                    \
        pdb_status sa = (CALL);                                                                    \
        char msg_a[512];                                                                           \
        snprintf(msg_a, sizeof msg_a, "%s", pdb_errmsg((e)->ctx));                                 \
        la = list;                                                                                 \
        list = NULL;                                                                               \
        s = (e)->pg;                                                                               \
        pdb_status sb = (CALL);                                                                    \
        lb = list;                                                                                 \
        same_answer((e), sa, msg_a, la, sb, lb);                                                   \
        pdb_parcel_list_free(la);                                                                  \
        pdb_parcel_list_free(lb);                                                                  \
    } while (0)

/* The WGS 84 box of every parcel id 1..n (current or not), and n. */
static size_t parcel_boxes_vertices(env *e, double (*box)[4], size_t cap, double *vertices,
                                    size_t vcap, size_t *nv)
{
    size_t n = 0;
    for (int64_t id = 1; n < cap; id++) {
        pdb_parcel *p = NULL;
        if (pdb_parcel_get(e->ctx, e->sq, id, PDB_READ_WGS84, &p) != PDB_OK)
            break;
        /* ISO WKB MULTIPOLYGON, little-endian: walk the points. */
        const unsigned char *w = p->wgs84_wkb;
        uint32_t nparts, nrings, npts;
        size_t at = 9;
        double b[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
        memcpy(&nparts, w + 5, 4);
        for (uint32_t k = 0; k < nparts; k++) {
            memcpy(&nrings, w + at + 5, 4);
            at += 9;
            for (uint32_t r = 0; r < nrings; r++) {
                memcpy(&npts, w + at, 4);
                at += 4;
                for (uint32_t i = 0; i < npts; i++, at += 16) {
                    double x, y;
                    memcpy(&x, w + at, 8);
                    memcpy(&y, w + at + 8, 8);
                    b[0] = fmin(b[0], x);
                    b[1] = fmin(b[1], y);
                    b[2] = fmax(b[2], x);
                    b[3] = fmax(b[3], y);
                    if (vertices != NULL && *nv < vcap) {
                        vertices[2 * *nv] = x;
                        vertices[2 * *nv + 1] = y;
                        (*nv)++;
                    }
                }
            }
        }
        memcpy(box[n++], b, sizeof b);
        pdb_parcel_free(p);
    }
    return n;
}

static size_t parcel_boxes(env *e, double (*box)[4], size_t cap)
{
    return parcel_boxes_vertices(e, box, cap, NULL, 0, NULL);
}

/* ------------------------------------------------------------------------ */
/* Parcels                                                                   */
/* ------------------------------------------------------------------------ */

/* Ids start at 1 in both stores and every row reads the same, history
 * and personal data included; the first id past them is not found in
 * either, with the same message. */
static void test_parcel_get_every_id(void **state)
{
    env *e = *state;
    int64_t id = 1;
    for (;; id++) {
        pdb_parcel *a = NULL, *b = NULL;
        pdb_status sa = pdb_parcel_get(e->ctx, e->sq, id, ALL_FLAGS, &a);
        char msg_a[512];
        snprintf(msg_a, sizeof msg_a, "%s", pdb_errmsg(e->ctx));
        pdb_status sb = pdb_parcel_get(e->ctx, e->pg, id, ALL_FLAGS, &b);
        assert_int_equal(sa, sb);
        if (sa != PDB_OK) {
            assert_int_equal(sa, PDB_ENOTFOUND);
            assert_string_equal(msg_a, pdb_errmsg(e->ctx));
            break;
        }
        same_parcel(a, b);
        assert_non_null(b->owner);
        pdb_parcel_free(a);
        pdb_parcel_free(b);
        /* Without the flags: no owner, no geometry, from either. */
        assert_int_equal(pdb_parcel_get(e->ctx, e->sq, id, 0, &a), PDB_OK);
        assert_int_equal(pdb_parcel_get(e->ctx, e->pg, id, 0, &b), PDB_OK);
        same_parcel(a, b);
        assert_null(b->owner);
        assert_null(b->wgs84_wkb);
        assert_null(b->source_wkb);
        pdb_parcel_free(a);
        pdb_parcel_free(b);
    }
    assert_int_equal(id, NZONES * NFIX + NFIX + 1); /* every row was compared */
}

/* Points over the whole fixture: a grid of each parcel's box (its centre
 * in parcel 6's hole), and every vertex of every parcel: the corners that
 * neighbours share, where the SQLite store's half-open rule puts a point
 * in exactly one parcel. */
static size_t fixture_points(env *e, double *lonlat, size_t cap)
{
    double box[128][4];
    size_t nv = 0, nb = parcel_boxes_vertices(e, box, 128, lonlat, cap / 2, &nv), n = nv;
    for (size_t i = 0; i < nb && n + 9 <= cap; i++) {
        const double *b = box[i];
        double xs[3] = {b[0], (b[0] + b[2]) / 2, b[2]}, ys[3] = {b[1], (b[1] + b[3]) / 2, b[3]};
        for (int k = 0; k < 9; k++) {
            lonlat[2 * n] = xs[k % 3];
            lonlat[2 * n + 1] = ys[k / 3];
            n++;
        }
    }
    return n;
}

static void test_parcels_at_and_first_at(void **state)
{
    env *e = *state;
    static double lonlat[2 * 1200];
    size_t n = fixture_points(e, lonlat, 1200), hits = 0;
    assert_true(n > 500);
    for (size_t i = 0; i < n; i++)
        BOTH(e, pdb_parcels_at(e->ctx, s, lonlat[2 * i], lonlat[2 * i + 1], ALL_FLAGS, &list));
    pdb_point_parcel *a = calloc(n, sizeof *a), *b = calloc(n, sizeof *b);
    assert_int_equal(pdb_parcels_first_at(e->ctx, e->sq, lonlat, n, a), PDB_OK);
    assert_int_equal(pdb_parcels_first_at(e->ctx, e->pg, lonlat, n, b), PDB_OK);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(a[i].id, b[i].id);
        same_text(a[i].commune, b[i].commune);
        same_text(a[i].sheet, b[i].sheet);
        same_text(a[i].parcel, b[i].parcel);
        hits += a[i].id != 0;
    }
    assert_true(hits > n / 2 && hits < n); /* inside, outside and in holes */
    free(a);
    free(b);
    /* Out of range: the same error, naming the point. */
    double bad[4] = {105.0, 21.0, 181.0, 21.0};
    pdb_point_parcel out[2];
    assert_int_equal(pdb_parcels_first_at(e->ctx, e->sq, bad, 2, out), PDB_EINVAL);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", pdb_errmsg(e->ctx));
    assert_int_equal(pdb_parcels_first_at(e->ctx, e->pg, bad, 2, out), PDB_EINVAL);
    assert_string_equal(msg, pdb_errmsg(e->ctx));
    BOTH(e, pdb_parcels_at(e->ctx, s, 105.0, -91.0, 0, &list));
}

static void test_by_number_and_history(void **state)
{
    env *e = *state;
    static const char *sheets[] = {"1", "2", "10", "3"};
    static const char *numbers[] = {"1", "2", "6", "7", "16", "40", "41", "99"};
    for (int z = 0; z < NZONES; z++)
        for (size_t si = 0; si < 4; si++)
            for (size_t ni = 0; ni < 8; ni++) {
                const char *c = zones[z].commune, *sh = sheets[si], *pa = numbers[ni];
                BOTH(e, pdb_parcels_by_number(e->ctx, s, c, NULL, sh, pa, ALL_FLAGS, &list));
                BOTH(e, pdb_parcels_by_number(e->ctx, s, c, NULL, sh, pa,
                                              PDB_READ_HISTORY | PDB_READ_WGS84, &list));
                BOTH(e, pdb_parcels_by_number(e->ctx, s, c, "08650", sh, pa, 0, &list));
                BOTH(e, pdb_parcel_history(e->ctx, s, c, sh, pa, ALL_FLAGS, &list));
            }
    /* Malformed numbers: the same errors. */
    BOTH(e, pdb_parcels_by_number(e->ctx, s, "99999", NULL, "1", "1", 0, &list));
    BOTH(e, pdb_parcels_by_number(e->ctx, s, "07894", "0789", "1", "1", 0, &list));
    BOTH(e, pdb_parcels_by_number(e->ctx, s, "07894", NULL, "0", "1", 0, &list));
    BOTH(e, pdb_parcels_by_number(e->ctx, s, "07894", NULL, "1", "1a", 0, &list));
    BOTH(e, pdb_parcel_history(e->ctx, s, "07894", "", "1", 0, &list));
    /* The re-surveyed commune has two rows of history per number. */
    pdb_parcel_list *h = NULL;
    assert_int_equal(pdb_parcel_history(e->ctx, e->pg, zones[1].commune, "1", "1", 0, &h), PDB_OK);
    assert_int_equal(h->count, 2);
    assert_non_null(h->items[0].valid_to);
    assert_null(h->items[1].valid_to);
    pdb_parcel_list_free(h);
}

static void test_parcels_in_bbox(void **state)
{
    env *e = *state;
    double box[128][4];
    size_t nb = parcel_boxes(e, box, 128);
    static const size_t limits[][2] = {{0, 0}, {1, 0}, {3, 2}, {5, 7}, {100, 1}};
    for (size_t i = 0; i < nb; i += 3) {
        const double *b = box[i];
        double w = b[2] - b[0], h = b[3] - b[1];
        /* The parcel's box, a box around its neighbours, one that only
         * touches its corner, one inside it. */
        double q[4][4] = {{b[0], b[1], b[2], b[3]},
                          {b[0] - w, b[1] - h, b[2] + w, b[3] + h},
                          {b[2], b[3], b[2] + w, b[3] + h},
                          {b[0] + w / 3, b[1] + h / 3, b[0] + w / 2, b[1] + h / 2}};
        for (int k = 0; k < 4; k++)
            for (size_t l = 0; l < 5; l++)
                BOTH(e, pdb_parcels_in_bbox(e->ctx, s, q[k][0], q[k][1], q[k][2], q[k][3],
                                            limits[l][0], limits[l][1], ALL_FLAGS, &list));
    }
    /* The whole province, pages far in (read in several chunks), and
     * malformed boxes. */
    for (size_t off = 0; off < 70; off += 9)
        for (size_t lim = 1; lim < 30; lim += 7)
            BOTH(e, pdb_parcels_in_bbox(e->ctx, s, 104.0, 20.0, 106.5, 22.0, lim, off, 0, &list));
    BOTH(e, pdb_parcels_in_bbox(e->ctx, s, 104.0, 20.0, 106.5, 22.0, 0, 0, 0, &list));
    BOTH(e, pdb_parcels_in_bbox(e->ctx, s, 106.0, 20.0, 105.0, 22.0, 0, 0, 0, &list));
    BOTH(e, pdb_parcels_in_bbox(e->ctx, s, 104.0, 20.0, 190.0, 22.0, 0, 0, 0, &list));
}

/* Follows pages by key from the first: the ids in order, and how many
 * pages it took. */
static size_t page_through(env *e, pdb_store *s, pdb_page_query q, int64_t *ids, size_t cap,
                           size_t *pages)
{
    size_t n = 0;
    *pages = 0;
    for (;;) {
        pdb_parcel_list *list = NULL;
        assert_int_equal(pdb_parcels_page(e->ctx, s, &q, 0, &list), PDB_OK);
        (*pages)++;
        for (size_t i = 0; i < list->count && n < cap; i++)
            ids[n++] = list->items[i].id;
        int more = list->truncated;
        if (list->count > 0)
            q.after_id = list->items[list->count - 1].id;
        pdb_parcel_list_free(list);
        if (!more)
            return n;
        assert_true(*pages < 1000);
    }
}

static void test_parcels_page(void **state)
{
    env *e = *state;
    static const char *const landuses[] = {NULL, "CLN", "ONT", "NTS", "XYZ"};
    static const char *const communes[] = {NULL, "07894", "08707"};
    static const size_t limits[] = {0, 1, 3, 7, 100};
    pdb_parcel_list *all = NULL;
    int64_t ids[256];
    size_t pages;

    /* Every combination of filters and limits, page after page: the same
     * answers from both stores. */
    for (size_t c = 0; c < 3; c++)
        for (size_t u = 0; u < 5; u++)
            for (size_t l = 0; l < 5; l++)
                for (int64_t after = 0; after < 200; after += 23) {
                    pdb_page_query q = {after, limits[l],   0,    {0}, communes[c], NULL,
                                        NULL,  landuses[u], NULL, 0,   NULL};
                    BOTH(e, pdb_parcels_page(e->ctx, s, &q, ALL_FLAGS, &list));
                    q.has_bbox = 1;
                    q.bbox[0] = 105.39;
                    q.bbox[1] = 21.30;
                    q.bbox[2] = 105.62;
                    q.bbox[3] = 21.33;
                    BOTH(e, pdb_parcels_page(e->ctx, s, &q, ALL_FLAGS, &list));
                }
    /* Following pages of 3 from the first gives every current parcel of
     * the province exactly once, in id order: what one big box answers. */
    assert_int_equal(pdb_parcels_in_bbox(e->ctx, e->sq, 100, 8, 110, 24, 0, 0, 0, &all), PDB_OK);
    pdb_store *stores[2] = {e->sq, e->pg};
    for (int k = 0; k < 2; k++) {
        pdb_page_query q = {0, 3, 0, {0}, NULL, NULL, NULL, NULL, NULL, 0, NULL};
        size_t n = page_through(e, stores[k], q, ids, 256, &pages);
        assert_int_equal(n, all->count);
        assert_int_equal(pages, (all->count + 2) / 3); /* the last page knows it is last */
        for (size_t i = 0; i < n; i++)
            assert_int_equal(ids[i], all->items[i].id);
    }
    pdb_parcel_list_free(all);

    /* Backwards from past the end, pages of 4 before the first id of the
     * last: every parcel again, the same pages read from the other end. */
    for (int k = 0; k < 2; k++) {
        int64_t before = INT64_MAX, back[256];
        size_t nb = 0;
        for (;;) {
            pdb_parcel_list *list = NULL;
            pdb_page_query q = {0, 4, 0, {0}, NULL, NULL, NULL, NULL, NULL, before, NULL};
            assert_int_equal(pdb_parcels_page(e->ctx, stores[k], &q, 0, &list), PDB_OK);
            for (size_t i = list->count; i > 0 && nb < 256; i--)
                back[nb++] = list->items[i - 1].id;
            for (size_t i = 1; i < list->count; i++) /* ascending within the page */
                assert_true(list->items[i - 1].id < list->items[i].id);
            int more = list->truncated;
            if (list->count > 0)
                before = list->items[0].id;
            pdb_parcel_list_free(list);
            if (!more)
                break;
        }
        assert_int_equal(
            nb, page_through(e, stores[k],
                             (pdb_page_query){0, 3, 0, {0}, NULL, NULL, NULL, NULL, NULL, 0, NULL},
                             ids, 256, &pages));
        for (size_t i = 0; i < nb; i++)
            assert_int_equal(back[i], ids[nb - 1 - i]);
    }
    BOTH(e,
         pdb_parcels_page(
             e->ctx, s, &(pdb_page_query){0, 5, 0, {0}, "08707", NULL, NULL, NULL, NULL, 60, NULL},
             ALL_FLAGS, &list));
    BOTH(e, pdb_parcels_page(
                e->ctx, s, &(pdb_page_query){3, 5, 0, {0}, NULL, NULL, NULL, NULL, NULL, 60, NULL},
                0, &list));

    /* A sheet and a parcel number: the parcel and its duplicate. */
    pdb_page_query q = {0, 0, 0, {0}, "07894", "1", "41", NULL, NULL, 0, NULL};
    BOTH(e, pdb_parcels_page(e->ctx, s, &q, ALL_FLAGS, &list));
    assert_int_equal(page_through(e, e->pg, q, ids, 256, &pages), 2);

    /* At an instant: the re-surveyed commune's first survey, superseded
     * now, was valid at its own valid_from; now only the second is. Each
     * store has its own import times (PostgreSQL loads after SQLite). */
    char first_from[32] = "";
    for (int k = 0; k < 2; k++) {
        pdb_parcel_list *h = NULL, *list = NULL;
        assert_int_equal(pdb_parcel_history(e->ctx, stores[k], zones[1].commune, "1", "1", 0, &h),
                         PDB_OK);
        assert_int_equal(h->count, 2);
        snprintf(first_from, sizeof first_from, "%s", h->items[0].valid_from);
        int64_t old_id = h->items[0].id, new_id = h->items[1].id;
        pdb_parcel_list_free(h);
        pdb_page_query at = {0, 0, 0, {0}, zones[1].commune, "1", "1", NULL, first_from, 0, NULL};
        assert_int_equal(pdb_parcels_page(e->ctx, stores[k], &at, 0, &list), PDB_OK);
        assert_int_equal(list->count, 1);
        assert_int_equal(list->items[0].id, old_id);
        pdb_parcel_list_free(list);
        at.at = "2999-01-01T00:00:00.000Z";
        assert_int_equal(pdb_parcels_page(e->ctx, stores[k], &at, 0, &list), PDB_OK);
        assert_int_equal(list->count, 1);
        assert_int_equal(list->items[0].id, new_id);
        pdb_parcel_list_free(list);
        at.at = "2000-01-01T00:00:00.000Z"; /* before any import: nothing */
        assert_int_equal(pdb_parcels_page(e->ctx, stores[k], &at, 0, &list), PDB_OK);
        assert_int_equal(list->count, 0);
        pdb_parcel_list_free(list);
        /* An interval from the first survey to after both: the two
         * versions; one that ends before the first survey: nothing. */
        at.at = first_from;
        at.until = "2999-01-01T00:00:00.000Z";
        assert_int_equal(pdb_parcels_page(e->ctx, stores[k], &at, 0, &list), PDB_OK);
        assert_int_equal(list->count, 2);
        assert_int_equal(list->items[0].id, old_id);
        assert_int_equal(list->items[1].id, new_id);
        pdb_parcel_list_free(list);
        at.at = "2000-01-01T00:00:00.000Z";
        at.until = "2000-12-31T23:59:59.999Z";
        assert_int_equal(pdb_parcels_page(e->ctx, stores[k], &at, 0, &list), PDB_OK);
        assert_int_equal(list->count, 0);
        pdb_parcel_list_free(list);
    }
    /* Both stores at an instant after every import: the same answer. */
    BOTH(e, pdb_parcels_page(
                e->ctx, s,
                &(pdb_page_query){
                    0, 5, 0, {0}, NULL, NULL, NULL, NULL, "2999-01-01T00:00:00.000Z", 0, NULL},
                ALL_FLAGS, &list));

    /* Malformed queries: the same errors. */
    BOTH(e, pdb_parcels_page(e->ctx, s,
                             &(pdb_page_query){0,
                                               5,
                                               0,
                                               {0},
                                               NULL,
                                               NULL,
                                               NULL,
                                               NULL,
                                               "2025-01-02T00:00:00.000Z",
                                               0,
                                               "2025-01-01T00:00:00.000Z"},
                             0, &list));
    BOTH(e, pdb_parcels_page(
                e->ctx, s,
                &(pdb_page_query){0, 5, 0, {0}, NULL, NULL, NULL, NULL, "2025-01-01", 0, NULL}, 0,
                &list));
    BOTH(e, pdb_parcels_page(
                e->ctx, s, &(pdb_page_query){0, 5, 0, {0}, NULL, NULL, NULL, "cln", NULL, 0, NULL},
                0, &list));
    BOTH(e,
         pdb_parcels_page(
             e->ctx, s,
             &(pdb_page_query){0, 5, 1, {106, 20, 105, 22}, NULL, NULL, NULL, NULL, NULL, 0, NULL},
             0, &list));
    BOTH(e, pdb_parcels_page(
                e->ctx, s, &(pdb_page_query){-1, 5, 0, {0}, NULL, NULL, NULL, NULL, NULL, 0, NULL},
                0, &list));
    BOTH(e, pdb_parcels_page(
                e->ctx, s, &(pdb_page_query){0, 5, 0, {0}, "0789", NULL, NULL, NULL, NULL, 0, NULL},
                0, &list));
}

/* ------------------------------------------------------------------------ */
/* Feature streams                                                           */
/* ------------------------------------------------------------------------ */

/* A feature stream, byte for byte: every field and coordinate. */
typedef struct stream {
    unsigned char *buf; /* the bytes */
    size_t len, cap;    /* used, allocated */
    size_t features;    /* how many */
} stream;

static void put(stream *s, const void *p, size_t n)
{
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2;
        s->buf = realloc(s->buf, s->cap);
        assert_non_null(s->buf);
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static void put_text(stream *s, const char *t)
{
    put(s, t ? t : "(null)", t ? strlen(t) + 1 : 7);
}

static int record(void *arg, const pdb_feature *f)
{
    stream *s = arg;
    put(s, &f->id, sizeof f->id);
    put_text(s, f->commune);
    put_text(s, f->sheet);
    put_text(s, f->parcel);
    put_text(s, f->landuse);
    put_text(s, f->landuse_main);
    put(s, &f->area_m2, sizeof f->area_m2);
    put(s, &f->nparts, sizeof f->nparts);
    put(s, f->part_ring, (f->nparts + 1) * sizeof *f->part_ring);
    put(s, &f->nrings, sizeof f->nrings);
    put(s, f->ring_point, (f->nrings + 1) * sizeof *f->ring_point);
    put(s, &f->npoints, sizeof f->npoints);
    put(s, f->xy, 2 * f->npoints * sizeof *f->xy);
    s->features++;
    return 0;
}

/* Both stores' streams for one box: overviews when zoom >= 0. Returns the
 * number of features. */
static size_t same_stream(env *e, int zoom, unsigned kinds, const double q[4])
{
    stream a = {0}, b = {0};
    pdb_status sa = zoom < 0 ? pdb_features_in_bbox(e->ctx, e->sq, q, record, &a)
                             : pdb_overview_features(e->ctx, e->sq, zoom, kinds, q, record, &a);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", pdb_errmsg(e->ctx));
    pdb_status sb = zoom < 0 ? pdb_features_in_bbox(e->ctx, e->pg, q, record, &b)
                             : pdb_overview_features(e->ctx, e->pg, zoom, kinds, q, record, &b);
    assert_int_equal(sa, sb);
    if (sa != PDB_OK)
        assert_string_equal(msg, pdb_errmsg(e->ctx));
    if (a.features != b.features)
        fail_msg("box %.17g %.17g %.17g %.17g zoom %d: %zu features from SQLite, %zu from "
                 "PostgreSQL",
                 q[0], q[1], q[2], q[3], zoom, a.features, b.features);
    same_bytes(a.buf, a.len, b.buf, b.len);
    if (zoom >= 0 && sa == PDB_OK) {
        /* The read-only handle: the shapes from the shared cache. */
        stream c = {0};
        if (pdb_overview_features(e->ctx, e->pgro, zoom, kinds, q, record, &c) != PDB_OK)
            fail_msg("overviews on the read-only handle: %s", pdb_errmsg(e->ctx));
        if (a.features != c.features)
            fail_msg("box %.17g %.17g %.17g %.17g zoom %d kinds %u: %zu features from SQLite, %zu "
                     "from PostgreSQL's overview cache",
                     q[0], q[1], q[2], q[3], zoom, kinds, a.features, c.features);
        same_bytes(a.buf, a.len, c.buf, c.len);
        free(c.buf);
    }
    size_t n = a.features;
    free(a.buf);
    free(b.buf);
    return n;
}

/* Each parcel's box, and boxes whose edge sits a little past the parcel's
 * (less than, about, and more than a step of the 32-bit floats SQLite's
 * R-tree rounds its boxes to): the same parcels in the same order. */
static void test_features_in_bbox(void **state)
{
    env *e = *state;
    double box[128][4];
    size_t nb = parcel_boxes(e, box, 128), total = 0;
    static const double gaps[] = {0, 1e-9, 1e-7, 2e-6, 4e-6, 7e-6, 1.5e-5, 3e-5};
    for (size_t i = 0; i < nb; i++) {
        const double *b = box[i];
        total += same_stream(e, -1, 0, b);
        for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
            double d = gaps[g], w = 1e-4;
            double east[4] = {b[2] + d, b[1], b[2] + d + w, b[3]};
            double west[4] = {b[0] - d - w, b[1], b[0] - d, b[3]};
            double north[4] = {b[0], b[3] + d, b[2], b[3] + d + w};
            double south[4] = {b[0], b[1] - d - w, b[2], b[1] - d};
            total += same_stream(e, -1, 0, east) + same_stream(e, -1, 0, west) +
                     same_stream(e, -1, 0, north) + same_stream(e, -1, 0, south);
        }
    }
    assert_true(total > nb);
    double bad[4] = {106.0, 21.0, 105.0, 21.5};
    same_stream(e, -1, 0, bad);
}

/* One feature as read: its number and a copy of its points. */
typedef struct kept {
    int64_t id;      /* store id */
    char commune[8]; /* commune code */
    char sheet[16];  /* sheet number */
    char parcel[16]; /* parcel number */
    int survey_srid; /* the feature's survey_srid */
    size_t n;        /* points */
    double *xy;      /* 2 * n coordinates */
} kept;

typedef struct kept_list {
    kept items[256]; /* the features, in the stream's order */
    size_t n;        /* how many */
} kept_list;

static int keep(void *arg, const pdb_feature *f)
{
    kept_list *l = arg;
    assert_true(l->n < 256);
    kept *k = &l->items[l->n++];
    k->id = f->id;
    snprintf(k->commune, sizeof k->commune, "%s", f->commune);
    snprintf(k->sheet, sizeof k->sheet, "%s", f->sheet);
    snprintf(k->parcel, sizeof k->parcel, "%s", f->parcel);
    k->survey_srid = f->survey_srid;
    k->n = f->npoints;
    k->xy = malloc(2 * f->npoints * sizeof *k->xy);
    assert_non_null(k->xy);
    memcpy(k->xy, f->xy, 2 * f->npoints * sizeof *k->xy);
    return 0;
}

static void kept_free(kept_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].xy);
    l->n = 0;
}

/* A polygon's or multipolygon's points by OGR_G_GetX/GetY, rings in the
 * order of pdb_feature (parts, each exterior first); the count. */
static size_t ogr_points(OGRGeometryH g, double *xy, size_t cap)
{
    size_t n = 0;
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
    if (t == wkbMultiPolygon) {
        for (int i = 0; i < OGR_G_GetGeometryCount(g); i++)
            n += ogr_points(OGR_G_GetGeometryRef(g, i), xy + 2 * n, cap - n);
        return n;
    }
    assert_int_equal(t, wkbPolygon);
    for (int r = 0; r < OGR_G_GetGeometryCount(g); r++) {
        OGRGeometryH ring = OGR_G_GetGeometryRef(g, r);
        for (int i = 0; i < OGR_G_GetPointCount(ring); i++) {
            assert_true(n < cap);
            xy[2 * n] = OGR_G_GetX(ring, i);
            xy[2 * n + 1] = OGR_G_GetY(ring, i);
            n++;
        }
    }
    return n;
}

/* Whether the survey file (read by GDAL) has a feature numbered like k
 * whose coordinates are k's to the bit. */
static int in_source(const char *gpkg, const kept *k)
{
    GDALDatasetH ds = GDALOpenEx(gpkg, GDAL_OF_VECTOR, NULL, NULL, NULL);
    assert_non_null(ds);
    OGRLayerH layer = GDALDatasetGetLayer(ds, 0);
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    int f_sheet = OGR_FD_GetFieldIndex(defn, "SoHieuToBanDo");
    int f_parcel = OGR_FD_GetFieldIndex(defn, "SoThuTuThua");
    OGRFeatureH feat;
    int found = 0;
    double xy[2 * 64];
    while (!found && (feat = OGR_L_GetNextFeature(layer)) != NULL) {
        if (strcmp(OGR_F_GetFieldAsString(feat, f_sheet), k->sheet) == 0 &&
            strcmp(OGR_F_GetFieldAsString(feat, f_parcel), k->parcel) == 0) {
            size_t n = ogr_points(OGR_F_GetGeometryRef(feat), xy, 64);
            found = n == k->n && memcmp(xy, k->xy, 2 * n * sizeof *xy) == 0;
        }
        OGR_F_Destroy(feat);
    }
    GDALClose(ds);
    return found;
}

/* pdb_features_in_bbox_survey in EPSG:9208, on both stores: the parcels of
 * the 9208 commune come with the survey file's coordinates to the bit (read
 * with OGR, not through the engine), the other zones' with the WGS 84
 * coordinates pdb_features_in_bbox gives, also to the bit; the same
 * parcels in the same order as pdb_features_in_bbox. */
static void test_features_survey_geometry(void **state)
{
    env *e = *state;
    const double all[4] = {103.0, 19.0, 108.0, 23.5};
    pdb_store *stores[2] = {e->sq, e->pg};
    static kept_list plain, survey;
    for (int si = 0; si < 2; si++) {
        assert_int_equal(pdb_features_in_bbox(e->ctx, stores[si], all, keep, &plain), PDB_OK);
        assert_int_equal(pdb_features_in_bbox_survey(e->ctx, stores[si], all, 9208, keep, &survey),
                         PDB_OK);
        assert_int_equal(plain.n, survey.n);
        size_t in_zone = 0;
        for (size_t i = 0; i < survey.n; i++) {
            const kept *a = &plain.items[i], *b = &survey.items[i];
            assert_true(a->id == b->id);
            assert_int_equal(a->survey_srid, 0);
            if (strcmp(b->commune, zones[0].commune) == 0) {
                assert_int_equal(b->survey_srid, 9208);
                if (!in_source(zones[0].gpkg2, b))
                    fail_msg("store %d: parcel %s/%s/%s: coordinates not the survey file's", si,
                             b->commune, b->sheet, b->parcel);
                in_zone++;
            } else {
                assert_int_equal(b->survey_srid, 0);
                assert_int_equal(a->n, b->n);
                assert_memory_equal(a->xy, b->xy, 2 * a->n * sizeof *a->xy);
            }
        }
        assert_int_equal(in_zone, NFIX);
        assert_true(survey.n == 3 * NFIX);
        kept_free(&plain);
        kept_free(&survey);
    }
    /* A CRS no parcel is surveyed in: refused with a one-line reason. */
    assert_int_equal(pdb_features_in_bbox_survey(e->ctx, e->sq, all, 4326, keep, &survey),
                     PDB_EINVAL);
    assert_non_null(strstr(pdb_errmsg(e->ctx), "EPSG:4326 is not a VN-2000 TM-3 or UTM"));
    assert_int_equal(survey.n, 0);
}

/* Tiles z0..z16 over each commune, as boxes in degrees. */
static void tile_box(int z, double lon, double lat, double q[4])
{
    double n = ldexp(1.0, z), x = floor((lon + 180.0) / 360.0 * n);
    double lr = lat * M_PI / 180.0;
    double y = floor((1.0 - asinh(tan(lr)) / M_PI) / 2.0 * n);
    q[0] = x / n * 360.0 - 180.0;
    q[2] = (x + 1) / n * 360.0 - 180.0;
    q[3] = atan(sinh(M_PI * (1 - 2 * y / n))) * 180.0 / M_PI;
    q[1] = atan(sinh(M_PI * (1 - 2 * (y + 1) / n))) * 180.0 / M_PI;
}

static size_t overview_streams(env *e)
{
    double box[128][4];
    size_t nb = parcel_boxes(e, box, 128), total = 0;
    for (size_t i = 0; i < nb; i += 5)
        for (int z = 0; z <= 16; z++) {
            double q[4];
            tile_box(z, box[i][0], box[i][1], q);
            for (unsigned kinds = 1; kinds <= 3; kinds++)
                total += same_stream(e, z, kinds, q);
            total += same_stream(e, -1, 0, q);
        }
    double bad[4] = {106.0, 21.0, 105.0, 21.5}, q[4] = {104.0, 20.0, 106.5, 22.0};
    same_stream(e, -1, 1, q);
    same_stream(e, 3, 1, bad);
    same_stream(e, -1, 1, q);
    return total;
}

/* Stale communes (after their loads) are drawn from their parcels; after
 * a rebuild of both stores, from the same shapes. */
static void test_overviews(void **state)
{
    env *e = *state;
    assert_true(overview_streams(e) > 0);
    pdb_overview_report ra, rb;
    assert_int_equal(pdb_overview_rebuild_report(e->ctx, e->sq, NULL, &ra), PDB_OK);
    if (pdb_overview_rebuild_report(e->ctx, e->pg, NULL, &rb) != PDB_OK)
        fail_msg("rebuild: %s", pdb_errmsg(e->ctx));
    assert_int_equal(ra.rebuilt, NZONES);
    assert_int_equal(ra.rebuilt, rb.rebuilt);
    assert_int_equal(ra.fallback, rb.fallback);
    assert_int_equal(ra.failed, rb.failed);
    assert_string_equal(ra.first_failure, rb.first_failure);
    int64_t va, vb;
    assert_int_equal(pdb_store_data_version(e->ctx, e->sq, &va), PDB_OK);
    assert_int_equal(pdb_store_data_version(e->ctx, e->pg, &vb), PDB_OK);
    assert_int_equal(va, vb);
    assert_true(overview_streams(e) > 0);
    /* Nothing left to do: none rebuilt, no new version; a commune by name
     * is rebuilt again; an unknown one is the same error. */
    assert_int_equal(pdb_overview_rebuild_report(e->ctx, e->pg, NULL, &rb), PDB_OK);
    assert_int_equal(rb.rebuilt, 0);
    assert_int_equal(pdb_store_data_version(e->ctx, e->pg, &vb), PDB_OK);
    assert_int_equal(va, vb);
    assert_int_equal(pdb_overview_rebuild_report(e->ctx, e->sq, "08707", &ra), PDB_OK);
    assert_int_equal(pdb_overview_rebuild_report(e->ctx, e->pg, "08707", &rb), PDB_OK);
    assert_int_equal(rb.rebuilt, 1);
    assert_int_equal(pdb_overview_rebuild_report(e->ctx, e->sq, "08686", &ra), PDB_ENOTFOUND);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", pdb_errmsg(e->ctx));
    assert_int_equal(pdb_overview_rebuild_report(e->ctx, e->pg, "08686", &rb), PDB_ENOTFOUND);
    assert_string_equal(msg, pdb_errmsg(e->ctx));
    overview_streams(e);
    /* The communes' states read the same from both. */
    pdb_commune_list *ca = NULL, *cb = NULL;
    assert_int_equal(pdb_communes_list(e->ctx, e->sq, &ca), PDB_OK);
    assert_int_equal(pdb_communes_list(e->ctx, e->pg, &cb), PDB_OK);
    assert_int_equal(ca->count, cb->count);
    for (size_t i = 0; i < ca->count; i++) {
        assert_string_equal(ca->items[i].code, cb->items[i].code);
        assert_int_equal(ca->items[i].overview_state, cb->items[i].overview_state);
        assert_int_equal(ca->items[i].data_version, cb->items[i].data_version);
    }
    pdb_commune_list_free(ca);
    pdb_commune_list_free(cb);
}

/* A rebuild while another handle holds a commune's load waits as long as
 * SQLite's busy timeout and then fails busy, in both stores, leaving the
 * data version as it was. */
static void test_rebuild_waits_for_a_load(void **state)
{
    env *e = *state;
    pdb_store *stores[2] = {e->sq, e->pg};
    const char *where[2] = {e->sq_path, e->location};
    for (int i = 0; i < 2; i++) {
        pdb_store *other = NULL;
        pdb_writer *w = NULL;
        pdb_overview_report rep;
        int64_t batch, before, after;
        assert_int_equal(pdb_store_open(e->ctx, where[i], 0, &other), PDB_OK);
        assert_int_equal(pdb_import_begin(e->ctx, other, "held", &batch), PDB_OK);
        pdb_commune_load load = {batch, zones[0].commune, NULL, zones[0].epsg, "held", "held"};
        assert_int_equal(pdb_writer_begin(e->ctx, other, &load, &w), PDB_OK);
        assert_int_equal(pdb_store_data_version(e->ctx, stores[i], &before), PDB_OK);
        assert_int_equal(pdb_overview_rebuild_report(e->ctx, stores[i], "08707", &rep), PDB_EBUSY);
        assert_int_equal(rep.rebuilt, 0);
        pdb_writer_free(w);
        assert_int_equal(pdb_import_end(e->ctx, other, batch, "failed", NULL), PDB_OK);
        pdb_store_close(other);
        assert_int_equal(pdb_store_data_version(e->ctx, stores[i], &after), PDB_OK);
        assert_int_equal(before, after);
    }
}

/* A role allowed one connection (a server near its max_connections):
 * the rebuild's builders cannot connect, and this thread builds every
 * commune in turn, to the same shapes, instead of failing. */
static void test_rebuild_with_one_connection(void **state)
{
    env *e = *state;
    char role[64], sql[512], where[1500];
    pdb_store *one = NULL;
    pdb_overview_report ra, rb;

    snprintf(role, sizeof role, "pdb_one_%ld", (long)getpid());
    snprintf(sql, sizeof sql,
             "DROP ROLE IF EXISTS %s; CREATE ROLE %s LOGIN CONNECTION LIMIT 1; "
             "GRANT USAGE ON SCHEMA parceldb TO %s; "
             "GRANT ALL ON ALL TABLES IN SCHEMA parceldb TO %s; "
             "GRANT ALL ON ALL SEQUENCES IN SCHEMA parceldb TO %s",
             role, role, role, role, role);
    assert_int_equal(pg_sql(e, e->db, sql), 0);
    /* Two communes surveyed again: two to rebuild, so builders are wanted. */
    assert_int_equal(load_both(e, zones[0].gpkg2, &zones[0]), 0);
    assert_int_equal(load_both(e, zones[2].gpkg2, &zones[2]), 0);
    snprintf(where, sizeof where, "%s user=%s", e->location, role);
    assert_int_equal(pdb_store_open(e->ctx, where, 0, &one), PDB_OK);
    assert_int_equal(pdb_overview_rebuild_report(e->ctx, e->sq, NULL, &ra), PDB_OK);
    if (pdb_overview_rebuild_report(e->ctx, one, NULL, &rb) != PDB_OK)
        fail_msg("rebuild: %s", pdb_errmsg(e->ctx));
    assert_int_equal(ra.rebuilt, 2);
    assert_int_equal(rb.rebuilt, 2);
    pdb_store_close(one);
    assert_true(overview_streams(e) > 0);
    snprintf(sql, sizeof sql, "REASSIGN OWNED BY %s TO postgres; DROP OWNED BY %s; DROP ROLE %s",
             role, role, role);
    assert_int_equal(pg_sql(e, e->db, sql), 0);
}

/* ------------------------------------------------------------------------ */
/* Tiles                                                                     */
/* ------------------------------------------------------------------------ */

/* `parceldb render` of the same tiles from each store: the same PNGs. */
static void render_both(env *e, const char *tag)
{
    char list[600], out_sq[600], out_pg[600];
    FILE *f;
    double box[128][4];
    size_t nb = parcel_boxes(e, box, 128), ntiles = 0;

    snprintf(list, sizeof list, "%s/tiles-%s.txt", e->dir, tag);
    snprintf(out_sq, sizeof out_sq, "%s/tiles-%s-sqlite", e->dir, tag);
    snprintf(out_pg, sizeof out_pg, "%s/tiles-%s-pg", e->dir, tag);
    assert_non_null(f = fopen(list, "w"));
    for (size_t i = 0; i < nb; i += 7)
        for (int z = 6; z <= 19; z++) {
            double n = ldexp(1.0, z), lr = box[i][1] * M_PI / 180.0;
            long x = (long)floor((box[i][0] + 180.0) / 360.0 * n);
            long y = (long)floor((1.0 - asinh(tan(lr)) / M_PI) / 2.0 * n);
            fprintf(f, "%d %ld %ld\n%d %ld %ld\n", z, x, y, z, x + 1, y);
            ntiles += 2;
        }
    fclose(f);
    const char *cli = getenv("PARCELDB");
    assert_non_null(cli);
    assert_int_equal(tu_run("'%s' render --db '%s' --tiles '%s' --out '%s' >/dev/null", cli,
                            e->sq_path, list, out_sq),
                     0);
    assert_int_equal(tu_run("'%s' render --db '%s' --tiles '%s' --out '%s' >/dev/null", cli,
                            e->location, list, out_pg),
                     0);
    /* Every tile of the list there from both (neighbours repeat tiles at
     * low zooms), and byte for byte the same. */
    char *count = tu_capture("find '%s' -name '*.png' | wc -l", out_pg);
    char *unique = tu_capture("sort -u '%s' | wc -l", list);
    assert_non_null(count);
    assert_non_null(unique);
    assert_true(ntiles > 0);
    assert_int_equal(atol(count), atol(unique));
    free(count);
    free(unique);
    assert_int_equal(tu_run("diff -r '%s' '%s'", out_sq, out_pg), 0);
}

static void test_render_same_png(void **state)
{
    env *e = *state;
    static int round;
    char tag[32];
    snprintf(tag, sizeof tag, "round%d", ++round);
    render_both(e, tag);
}

int main(void)
{
    GDALAllRegister();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parcel_get_every_id),
        cmocka_unit_test(test_parcels_at_and_first_at),
        cmocka_unit_test(test_by_number_and_history),
        cmocka_unit_test(test_parcels_in_bbox),
        cmocka_unit_test(test_parcels_page),
        cmocka_unit_test(test_features_in_bbox),
        cmocka_unit_test(test_features_survey_geometry),
        cmocka_unit_test(test_render_same_png),
        cmocka_unit_test(test_overviews),
        cmocka_unit_test(test_rebuild_waits_for_a_load),
        cmocka_unit_test(test_rebuild_with_one_connection),
        cmocka_unit_test(test_render_same_png),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
