/*
 * pg_overview.c: the PostgreSQL store's overviews, as overview.c keeps
 * them for SQLite: its side of a rebuild (pdb__ov_io, which
 * overview_driver.c runs for both stores: the same driver and the same
 * builds, so the same shapes) reads each commune's current parcels,
 * stores the shapes in parceldb.overviews and keeps overviews_stale and
 * overview_problems; each builder reads through a connection of its own
 * in the rebuild's snapshot. Readers draw a stale commune's low zooms
 * from its parcels.
 */
#include "overview_build.h"
#include "pg_ovcache.h"
#include "pg_read.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs a statement that returns no rows the caller wants. */
static pdb_status run_void(pdb_ctx *ctx, pdb__pg *pg, const char *sql, const pdb__pg_params *p,
                           const char *what)
{
    PGresult *res = NULL;
    pdb_status st = pdb__pg_run(ctx, pg, sql, p, what, &res);
    PQclear(res);
    return st;
}

/* Runs a statement whose parameters are the commune ($1), and, when the
 * statement has them, the time ($2) and a text ($3). */
static pdb_status commune_exec(pdb_ctx *ctx, pdb__pg *pg, const char *sql, int nparams,
                               const char *commune, const char *text, const char *what)
{
    pdb__pg_params p = {0};
    char now[32];
    pdb__now_iso(now);
    pdb__pg_param_text(&p, commune);
    if (nparams >= 2)
        pdb__pg_param_text(&p, now);
    if (nparams >= 3)
        pdb__pg_param_text(&p, text);
    return run_void(ctx, pg, sql, &p, what);
}

/* ------------------------------------------------------------------------ */
/* The store's side of a rebuild (pdb__ov_io; overview_driver.c)             */
/* ------------------------------------------------------------------------ */

/* "C" orders the codes as SQLite's BINARY does, as overview.c reads them. */
static const char parcels_sql[] =
    "SELECT landuse_main, area_computed_m2, ST_AsBinary(geom) FROM " PDB_PG_SCHEMA ".parcels "
    "WHERE commune = $1 AND valid_to IS NULL ORDER BY landuse_main COLLATE \"C\", id";

/* The commune's current parcels (read_parcels), through a builder's
 * connection or the handle's. */
static pdb_status pg_read_parcels(pdb_ctx *ctx, pdb_store *s, void *reader, const char *commune,
                                  pdb__ov_parcel_fn fn, void *arg)
{
    pdb__pg *pg = reader != NULL ? reader : s->pg;
    pdb__pg_params p = {0};
    PGresult *res = NULL;
    pdb_status st;

    pdb__pg_param_text(&p, commune);
    if ((st = pdb__pg_run(ctx, pg, parcels_sql, &p, "reading the commune's parcels", &res)) !=
        PDB_OK)
        return st;
    for (int i = 0; i < PQntuples(res) && st == PDB_OK; i++) {
        pdb__mpoly mp;
        if ((st = pdb__wkb_parse(ctx, (const unsigned char *)PQgetvalue(res, i, 2),
                                 (size_t)PQgetlength(res, i, 2), &mp)) != PDB_OK)
            break;
        st = fn(arg, pdb__pg_text(res, i, 0), pdb__pg_f8(res, i, 1), &mp);
        pdb__mpoly_free(&mp);
    }
    PQclear(res);
    return st;
}

static const char insert_sql[] =
    "INSERT INTO " PDB_PG_SCHEMA ".overviews (commune, band, kind, landuse_main, area_m2, geom) "
    "VALUES ($1, $2, $3, $4, $5, ST_GeomFromEWKB($6))";

/* Writes one shape: its SpatiaLite BLOB as EWKB in EPSG:4326. */
static pdb_status insert_shape(pdb_ctx *ctx, pdb__pg *pg, const char *commune,
                               const pdb__ov_shape *sh)
{
    pdb__mpoly mp;
    unsigned char *wkb = NULL, *ewkb = NULL;
    size_t wkb_len = 0, ewkb_len = 0;
    pdb_status st;

    pdb_limits saved = pdb__pg_lift_limits(ctx);
    st = pdb__blob_parse(ctx, sh->blob, sh->len, &mp);
    ctx->limits = saved;
    if (st != PDB_OK)
        return st;
    if ((st = pdb__mpoly_to_wkb(ctx, &mp, &wkb, &wkb_len)) == PDB_OK &&
        (st = pdb__pg_ewkb(ctx, wkb, wkb_len, PDB_EPSG_WGS84, &ewkb, &ewkb_len)) == PDB_OK) {
        pdb__pg_params p = {0};
        pdb__pg_param_text(&p, commune);
        pdb__pg_param_i4(&p, sh->band);
        pdb__pg_param_i4(&p, sh->kind);
        pdb__pg_param_text(&p, sh->code);
        pdb__pg_param_f8(&p, sh->area_m2);
        pdb__pg_param_bytes(&p, ewkb, ewkb_len);
        st = run_void(ctx, pg, insert_sql, &p, "storing an overview");
    }
    pdb__mpoly_free(&mp);
    free(wkb);
    free(ewkb);
    return st;
}

/* The commune's shapes replaced, its stale mark cleared (replace). */
static pdb_status pg_replace(pdb_ctx *ctx, pdb_store *s, const char *commune,
                             const pdb__ov_shape *shapes, size_t n)
{
    pdb__pg *pg = s->pg;
    pdb_status st;

    if ((st = commune_exec(ctx, pg, "DELETE FROM " PDB_PG_SCHEMA ".overviews WHERE commune = $1", 1,
                           commune, NULL, "clearing the commune's overviews")) != PDB_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        if ((st = insert_shape(ctx, pg, commune, &shapes[i])) != PDB_OK)
            return st;
    return commune_exec(ctx, pg, "DELETE FROM " PDB_PG_SCHEMA ".overviews_stale WHERE commune = $1",
                        1, commune, NULL, "clearing the stale mark");
}

/* The commune's row gets the version this transaction commits, and
 * replicas hear of it at the COMMIT (as pg_writer.c announces a load). */
static const char stamp_sql[] =
    "WITH v AS (SELECT value::bigint + 1 AS next FROM " PDB_PG_SCHEMA ".meta "
    "WHERE key = 'data_version'), c AS (UPDATE " PDB_PG_SCHEMA ".communes SET data_version = "
    "(SELECT next FROM v) WHERE code = $1) "
    "SELECT pg_notify('parceldb', $1 || ' ' || (SELECT next FROM v))";

static pdb_status pg_stamp(pdb_ctx *ctx, pdb_store *s, const char *commune)
{
    return commune_exec(ctx, s->pg, stamp_sql, 1, commune, NULL,
                        "stamping the commune's data version");
}

static const char problem_sql[] =
    "INSERT INTO " PDB_PG_SCHEMA ".overview_problems (commune, state, since, reason) "
    "VALUES ($1, $4, $2, $3) ON CONFLICT (commune) DO UPDATE SET state = excluded.state, "
    "since = excluded.since, reason = excluded.reason";

/* The commune's row in overview_problems (problem). */
static pdb_status pg_problem(pdb_ctx *ctx, pdb_store *s, const char *commune, const char *state,
                             const char *reason)
{
    if (state == NULL)
        return commune_exec(ctx, s->pg,
                            "DELETE FROM " PDB_PG_SCHEMA ".overview_problems WHERE commune = $1", 1,
                            commune, NULL, "clearing the commune's overview problem");
    pdb__pg_params p = {0};
    char now[32];
    pdb__now_iso(now);
    pdb__pg_param_text(&p, commune);
    pdb__pg_param_text(&p, now);
    pdb__pg_param_text(&p, reason);
    pdb__pg_param_text(&p, state);
    return run_void(ctx, s->pg, problem_sql, &p,
                    strcmp(state, "failed") == 0 ? "recording the overviews' failure"
                                                 : "recording the overviews' fallback");
}

static pdb_status pg_exec(pdb_ctx *ctx, pdb_store *s, const char *sql)
{
    return pdb__pg_exec(ctx, s->pg, sql, "a commune's savepoint");
}

/* A builder's connection, in the rebuild's snapshot. The snapshot id is
 * pasted into SQL because SET TRANSACTION SNAPSHOT takes no parameter;
 * it is PostgreSQL's own, checked to be hexadecimal digits and dashes. */
static pdb_status builder_connect(pdb_ctx *ctx, const char *location, const char *snapshot,
                                  pdb__pg *pg)
{
    char sql[128];
    pg->conn = PQconnectdb(location);
    if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK)
        return pdb__pg_fail(ctx, pg, NULL, "connecting an overview builder");
    if (PQsetClientEncoding(pg->conn, "UTF8") != 0)
        return pdb__pg_fail(ctx, pg, NULL, "setting the client encoding to UTF-8");
    if (strspn(snapshot, "0123456789ABCDEFabcdef-") != strlen(snapshot))
        return pdb__fail(ctx, PDB_ESTORE, "unexpected snapshot id '%s'", snapshot);
    snprintf(sql, sizeof sql, "SET TRANSACTION SNAPSHOT '%s'", snapshot);
    pdb_status st = pdb__pg_exec(ctx, pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                                 "starting an overview builder");
    return st == PDB_OK ? pdb__pg_exec(ctx, pg, sql, "joining the rebuild's snapshot") : st;
}

static void pg_readers_close(void **readers, int n)
{
    for (int i = 0; i < n; i++) {
        pdb__pg *pg = readers[i];
        PQfinish(pg->conn);
        free(pg);
        readers[i] = NULL;
    }
}

/* Builders read through connections of their own, inside the snapshot
 * the rebuild's transaction exports after taking the writers' lock (so
 * they read exactly what it would) (readers_open). A builder without a
 * connection is no builder: a server near its max_connections gets fewer
 * of them (or none: then the writer's thread reads), not a failed
 * rebuild. */
static int pg_readers_open(pdb_ctx *ctx, pdb_store *s, void **readers, int want)
{
    pdb_status saved = ctx->last_status;
    char msg[sizeof ctx->msg], snapshot[64];
    PGresult *res = NULL;
    int n = 0;

    memcpy(msg, ctx->msg, sizeof msg);
    if (pdb__pg_run(ctx, s->pg, "SELECT pg_export_snapshot()", NULL,
                    "sharing the rebuild's snapshot", &res) == PDB_OK) {
        snprintf(snapshot, sizeof snapshot, "%s", pdb__pg_text(res, 0, 0));
        for (; n < want; n++) {
            pdb__pg *pg = calloc(1, sizeof *pg);
            if (pg == NULL)
                break;
            if (builder_connect(ctx, s->pg->location, snapshot, pg) != PDB_OK) {
                PQfinish(pg->conn);
                free(pg);
                break;
            }
            readers[n] = pg;
        }
    }
    PQclear(res);
    ctx->last_status = saved;
    memcpy(ctx->msg, msg, sizeof msg);
    return n;
}

/* The communes a rebuild covers, as overview.c's communes_sql: the one
 * named, or those that need it (stale ones, and those with parcels and no
 * overviews of the finest band, or z8-10 land-use shapes with no base
 * beside them and no problem recorded)
 * but not those whose last rebuild failed on the same data. */
static const char communes_sql[] =
    "SELECT code FROM (SELECT code FROM " PDB_PG_SCHEMA ".communes WHERE code = $1 "
    "UNION SELECT commune FROM " PDB_PG_SCHEMA ".overviews_stale WHERE commune = $1 "
    "UNION SELECT DISTINCT commune FROM " PDB_PG_SCHEMA ".overviews WHERE commune = $1 "
    "UNION SELECT * FROM (SELECT code FROM " PDB_PG_SCHEMA ".communes c WHERE parcels > 0 AND "
    "(NOT EXISTS (SELECT 1 FROM " PDB_PG_SCHEMA ".overviews WHERE commune = c.code AND band = $2) "
    "OR (EXISTS (SELECT 1 FROM " PDB_PG_SCHEMA ".overviews WHERE commune = c.code AND "
    "band = 1 AND kind = 1) AND NOT EXISTS (SELECT 1 FROM " PDB_PG_SCHEMA ".overviews WHERE "
    "commune = c.code AND band = 1 AND kind = 4) AND c.code NOT IN (SELECT commune "
    "FROM " PDB_PG_SCHEMA ".overview_problems))) "
    "UNION SELECT commune FROM " PDB_PG_SCHEMA ".overviews_stale) n(code) WHERE $1::text IS NULL "
    "AND code NOT IN (SELECT commune FROM " PDB_PG_SCHEMA ".overview_problems "
    "WHERE state = 'failed')) u ORDER BY code COLLATE \"C\"";

_Static_assert(PDB_OVERVIEW_BASE == 4, "communes_sql spells the base's kind");

static void pg_rollback(pdb_store *s)
{
    PQclear(PQexec(s->pg->conn, "ROLLBACK"));
}

/* BEGIN, then the lock that queues writers (pg_writer.c takes it too), as
 * SQLite's BEGIN IMMEDIATE: the communes listed are the communes rebuilt
 * (begin). Waited for as long as SQLite's busy timeout, then PDB_EBUSY,
 * as a load. */
static pdb_status pg_begin(pdb_ctx *ctx, pdb_store *s, const char *commune, char (**codes)[8],
                           size_t *n)
{
    pdb__pg *pg = s->pg;
    pdb__pg_params p = {0};
    PGresult *res = NULL;
    pdb_status st;

    *codes = NULL;
    *n = 0;
    if ((st = pdb__pg_exec(ctx, pg, "BEGIN", "starting the overviews' rebuild")) != PDB_OK)
        return st;
    if ((st = pdb__pg_exec(ctx, pg, "SET LOCAL lock_timeout = '10s'",
                           "starting the overviews' rebuild")) != PDB_OK ||
        (st = run_void(ctx, pg,
                       "SELECT value FROM " PDB_PG_SCHEMA ".meta WHERE key = 'data_version' "
                       "FOR UPDATE",
                       NULL, "waiting for the store's writers")) != PDB_OK)
        goto fail;
    pdb__pg_param_text(&p, commune);
    pdb__pg_param_i4(&p, PDB__OV_NBANDS - 1);
    if ((st = pdb__pg_run(ctx, pg, communes_sql, &p, "listing communes", &res)) != PDB_OK)
        goto fail;
    int rows = PQntuples(res);
    if (rows > 0 && (*codes = calloc((size_t)rows, sizeof **codes)) == NULL) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory listing communes");
        goto fail;
    }
    for (int i = 0; i < rows; i++)
        snprintf((*codes)[i], sizeof **codes, "%s", pdb__pg_text(res, i, 0));
    *n = (size_t)rows;
    PQclear(res);
    return PDB_OK;
fail:
    PQclear(res);
    pg_rollback(s);
    return st;
}

static pdb_status pg_commit(pdb_ctx *ctx, pdb_store *s, int bump)
{
    pdb_status st;
    if (bump &&
        (st = run_void(ctx, s->pg,
                       "UPDATE " PDB_PG_SCHEMA ".meta SET value = (value::bigint + 1)::text "
                       "WHERE key = 'data_version'",
                       NULL, "bumping the data version")) != PDB_OK)
        return st;
    return pdb__pg_exec(ctx, s->pg, "COMMIT", "committing the overviews");
}

const pdb__ov_io pdb__pg_overview_io = {
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .readers_open = pg_readers_open,
    .readers_close = pg_readers_close,
    .read_parcels = pg_read_parcels,
    .exec = pg_exec,
    .replace = pg_replace,
    .problem = pg_problem,
    .stamp = pg_stamp,
};

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

/* One statement, so that overviews and the parcels of stale communes come
 * from one snapshot, in the order the SQLite store's statement gives its
 * rows (its plan: the overviews by id, then the parcels through the index
 * on (commune, sheet, parcel), communes in code order): the extra columns
 * after the ninth are that order's keys. The GiST box is widened and the
 * overview rows then pass SQLite's R-tree test (2); the parcel rows, the
 * test of their exact box (1), as overview.c's. A commune without shapes
 * in the band is answered with its parcels too. */
static const char features_sql[] =
    "SELECT 0::bigint, o.commune, NULL::text, NULL::text, o.landuse_main, o.landuse_main, "
    "o.area_m2, ST_AsBinary(o.geom), 2, 0 AS part, ''::text COLLATE \"C\" AS k1, "
    "''::text COLLATE \"C\" AS k2, ''::text COLLATE \"C\" AS k3, o.id AS k4 FROM " PDB_PG_SCHEMA
    ".overviews o "
    "WHERE o.geom && ST_MakeEnvelope($7, $8, $9, $10, 4326) AND o.band = $5 "
    "AND (o.kind & $6) <> 0 "
    "AND o.commune NOT IN (SELECT commune FROM " PDB_PG_SCHEMA ".overviews_stale) "
    "UNION ALL "
    "SELECT 0, p.commune, NULL, NULL, p.landuse_main, p.landuse_main, p.area_computed_m2, "
    "ST_AsBinary(p.geom), 1, 1, p.commune COLLATE \"C\", p.sheet COLLATE \"C\", "
    "p.parcel COLLATE \"C\", p.id "
    "FROM " PDB_PG_SCHEMA ".parcels p "
    "WHERE ($6 & 1) <> 0 AND p.valid_to IS NULL AND p.commune IN (SELECT c.code FROM " PDB_PG_SCHEMA
    ".communes c WHERE c.max_lon >= $1 AND c.min_lon <= $3 AND c.max_lat >= $2 AND "
    "c.min_lat <= $4 AND c.parcels > 0 AND (c.code IN (SELECT commune FROM " PDB_PG_SCHEMA
    ".overviews_stale) OR NOT EXISTS (SELECT 1 FROM " PDB_PG_SCHEMA ".overviews o2 "
    "WHERE o2.commune = c.code AND o2.band = $5))) "
    "ORDER BY part, k1, k2, k3, k4";

/* One commune as overview reads need it: its box, parcels, version,
 * whether its overviews are stale, and the bands it has shapes in. */
typedef struct ov_commune {
    char code[8];                           /* commune code */
    int has_box;                            /* 0 for a commune without parcels (no box) */
    double box[4];                          /* its parcels' box */
    int64_t parcels;                        /* current parcels */
    int64_t version;                        /* communes.data_version */
    int stale;                              /* listed in overviews_stale */
    unsigned bands;                         /* bit b: it has shapes in band b */
    pdb__ovc_entry *shapes[PDB__OV_NBANDS]; /* its shapes per band from the shared cache,
                                               held by this handle once read (or NULL) */
} ov_commune;

struct pdb__ov_communes {
    int64_t store_version; /* the handle's data version they were read at */
    size_t n;              /* communes */
    ov_commune *items;     /* in code order */
};

void pdb__pg_ov_communes_free(struct pdb__ov_communes *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        for (int b = 0; b < PDB__OV_NBANDS; b++)
            pdb__ovc_release(c->items[i].shapes[b]);
    free(c->items);
    free(c);
}

static const char ov_communes_sql[] =
    "SELECT c.code, c.min_lon, c.min_lat, c.max_lon, c.max_lat, c.parcels, c.data_version, "
    "EXISTS (SELECT 1 FROM " PDB_PG_SCHEMA ".overviews_stale st WHERE st.commune = c.code), "
    "COALESCE((SELECT bit_or(1 << o.band) FROM " PDB_PG_SCHEMA
    ".overviews o WHERE o.commune = c.code), 0) FROM " PDB_PG_SCHEMA ".communes c ORDER BY c.code";

/* The handle's list of communes at data version v, read again when v moved. */
static pdb_status ov_communes(pdb_ctx *ctx, pdb_store *s, int64_t v, struct pdb__ov_communes **out)
{
    pdb__pg *pg = s->pg;
    PGresult *res = NULL;
    pdb__pg_params p = {0};
    pdb_status st;

    if (pg->ov_communes != NULL && pg->ov_communes->store_version == v) {
        *out = pg->ov_communes;
        return pdb__ok(ctx);
    }
    pdb__pg_ov_communes_free(pg->ov_communes);
    pg->ov_communes = NULL;
    if ((st = pdb__pg_run(ctx, pg, ov_communes_sql, &p, "reading the communes", &res)) != PDB_OK)
        return st;
    int rows = PQntuples(res);
    struct pdb__ov_communes *c = calloc(1, sizeof *c);
    if (c == NULL || (rows > 0 && (c->items = calloc((size_t)rows, sizeof *c->items)) == NULL)) {
        free(c);
        PQclear(res);
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory reading the communes");
    }
    for (int i = 0; i < rows; i++) {
        ov_commune *o = &c->items[i];
        snprintf(o->code, sizeof o->code, "%s", pdb__pg_text(res, i, 0));
        o->has_box = !PQgetisnull(res, i, 1) && !PQgetisnull(res, i, 4);
        for (int k = 0; k < 4 && o->has_box; k++)
            o->box[k] = pdb__pg_f8(res, i, 1 + k);
        o->parcels = pdb__pg_i8(res, i, 5);
        o->version = pdb__pg_i8(res, i, 6);
        o->stale = PQgetvalue(res, i, 7)[0] != 0;
        o->bands = (unsigned)pdb__pg_i4(res, i, 8);
    }
    c->n = (size_t)rows;
    c->store_version = v;
    PQclear(res);
    pg->ov_communes = c;
    *out = c;
    return pdb__ok(ctx);
}

/* The parcels of the communes drawn from their parcels (stale, or no
 * shapes in the band), in the order the SQLite store gives them, each
 * tested against its exact box (test 1, as features_sql's second part). */
static const char ov_parcels_sql[] =
    "SELECT 0::bigint, p.commune, NULL::text, NULL::text, p.landuse_main, p.landuse_main, "
    "p.area_computed_m2, ST_AsBinary(p.geom), 1 FROM " PDB_PG_SCHEMA ".parcels p "
    "WHERE p.valid_to IS NULL AND p.commune = ANY ($1::text[]) "
    "ORDER BY p.commune COLLATE \"C\", p.sheet COLLATE \"C\", p.parcel COLLATE \"C\", p.id";

/* The margin by which a commune's box is widened before its shapes are
 * looked at: a shape lies within its parcels' box, and the R-tree test
 * of each shape decides. */
#define OV_COMMUNE_MARGIN_DEG 1e-3

/* overview_features for a handle reading outside a transaction: the
 * shapes from the process-wide cache (pg_ovcache.c), the parcels of
 * communes without shapes through SQL. The same rows, in the same order,
 * as features_sql reads (tests/unit/test_pg_query.c compares both with
 * the SQLite store). */
static pdb_status cached_features(pdb_ctx *ctx, pdb_store *s, int zoom, unsigned kinds,
                                  const double bbox[4], pdb_feature_fn fn, void *arg)
{
    struct pdb__ov_communes *cl = NULL;
    int64_t v = 0;
    pdb_status st;
    int band = pdb__ov_band_of(zoom);

    if ((st = pdb__pg_data_version(ctx, s, &v)) != PDB_OK ||
        (st = ov_communes(ctx, s, v, &cl)) != PDB_OK)
        return st;
    pdb__ovc_entry **entries = calloc(cl->n ? cl->n : 1, sizeof *entries);
    char *list = malloc(cl->n * 6 + 3);
    if (entries == NULL || list == NULL) {
        free(entries);
        free(list);
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory drawing overviews");
    }
    size_t ne = 0, nl = 0, at = 0;
    list[at++] = '{';
    for (size_t i = 0; i < cl->n && st == PDB_OK; i++) {
        ov_commune *c = &cl->items[i];
        if (!c->has_box)
            continue;
        if (c->stale || !(c->bands & (1u << band))) {
            if ((kinds & 1) && c->parcels > 0 && c->box[2] >= bbox[0] && c->box[0] <= bbox[2] &&
                c->box[3] >= bbox[1] && c->box[1] <= bbox[3]) {
                at += (size_t)sprintf(list + at, "%s%s", nl ? "," : "", c->code);
                nl++;
            }
            continue;
        }
        const double m = OV_COMMUNE_MARGIN_DEG;
        if (c->box[2] + m < bbox[0] || c->box[0] - m > bbox[2] || c->box[3] + m < bbox[1] ||
            c->box[1] - m > bbox[3])
            continue;
        /* The handle keeps what it took from the shared cache until its
         * list of communes is read again (a new data version): later
         * tiles reach the shapes without the cache's lock. */
        if (c->shapes[band] == NULL)
            st = pdb__ovc_get(ctx, s, c->code, band, c->version, &c->shapes[band]);
        if (st == PDB_OK)
            entries[ne++] = c->shapes[band];
    }
    list[at++] = '}';
    list[at] = '\0';
    int stopped = 0;
    if (st == PDB_OK)
        st = pdb__ovc_emit(ctx, entries, ne, kinds, bbox, fn, arg, &stopped);
    free(entries);
    if (st == PDB_OK && !stopped && nl > 0) {
        pdb__pg_params p = {0};
        PGresult *res = NULL;
        pdb__pg_param_text(&p, list);
        if ((st = pdb__pg_run(ctx, s->pg, ov_parcels_sql, &p, "reading overviews", &res)) ==
            PDB_OK) {
            pdb_limits saved = pdb__pg_lift_limits(ctx);
            st = pdb__pg_features_emit(ctx, res, bbox, 0, fn, arg);
            ctx->limits = saved;
            PQclear(res);
        }
    }
    free(list);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}

pdb_status pdb__pg_overview_features(pdb_ctx *ctx, pdb_store *s, int zoom, unsigned kinds,
                                     const double bbox[4], pdb_feature_fn fn, void *arg)
{
    pdb__pg_params p = {0};
    PGresult *res = NULL;
    pdb_status st;

    if (!(bbox[0] <= bbox[2] && bbox[1] <= bbox[3]))
        return pdb__fail(ctx, PDB_EINVAL, "bbox minimum is above its maximum");
    if (zoom < 0)
        return pdb__fail(ctx, PDB_EINVAL, "zoom %d is negative", zoom);
    /* A reader outside a transaction draws from the shared cache; inside
     * one (a snapshot, or its own load) the shapes must be the
     * transaction's, so they come through SQL. */
    if (s->readonly && !s->writing && PQtransactionStatus(s->pg->conn) == PQTRANS_IDLE)
        return cached_features(ctx, s, zoom, kinds, bbox, fn, arg);
    for (int i = 0; i < 4; i++)
        pdb__pg_param_f8(&p, bbox[i]);
    pdb__pg_param_i4(&p, pdb__ov_band_of(zoom));
    pdb__pg_param_i4(&p, (int32_t)kinds);
    pdb__pg_param_f8(&p, bbox[0] - PDB__PG_RTREE_SLACK_DEG);
    pdb__pg_param_f8(&p, bbox[1] - PDB__PG_RTREE_SLACK_DEG);
    pdb__pg_param_f8(&p, bbox[2] + PDB__PG_RTREE_SLACK_DEG);
    pdb__pg_param_f8(&p, bbox[3] + PDB__PG_RTREE_SLACK_DEG);
    if ((st = pdb__pg_run(ctx, s->pg, features_sql, &p, "reading overviews", &res)) != PDB_OK)
        return st;
    pdb_limits saved = pdb__pg_lift_limits(ctx);
    st = pdb__pg_features_emit(ctx, res, bbox, 0, fn, arg);
    ctx->limits = saved;
    PQclear(res);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}
