/*
 * pg_overview.c: the PostgreSQL store's overviews, as overview.c keeps
 * them for SQLite: a rebuild reads each commune's current parcels, builds
 * its shapes with overview_build.c (the same code, so the same shapes),
 * stores them in parceldb.overviews and keeps overviews_stale and
 * overview_problems; readers draw a stale commune's low zooms from its
 * parcels. Communes are read and built on every core, each builder with
 * a connection of its own in the rebuild's snapshot, and written in order
 * on the handle's connection.
 */
#include "overview_build.h"
#include "pg_ovcache.h"
#include "pg_read.h"
#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Store failures end the whole rebuild (and roll it back); anything else
 * is the commune's own, and stays confined to it (as overview.c). */
static int store_failure(pdb_status st)
{
    return st == PDB_ESTORE || st == PDB_EIO || st == PDB_EBUSY || st == PDB_ECORRUPT ||
           st == PDB_EREADONLY;
}

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
/* Reading one commune's parcels, writing its shapes                         */
/* ------------------------------------------------------------------------ */

/* Adds the parts of a parsed parcel to a group's polygons. */
static pdb_status add_parcel(pdb_ctx *ctx, pdb__ov_group *g, const pdb__mpoly *mp)
{
    for (size_t part = 0; part < mp->nparts; part++) {
        if (pdb__mpb_open_part(&g->parcels) != 0)
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory reading parcels");
        size_t r = mp->part_ring[part];
        for (; r < mp->part_ring[part + 1]; r++) {
            size_t first = mp->ring_point[r], count = mp->ring_point[r + 1] - first;
            double *dst = pdb__mpb_add_ring(&g->parcels, count);
            if (dst == NULL)
                return pdb__fail(ctx, PDB_ENOMEM, "out of memory reading parcels");
            memcpy(dst, mp->xy + 2 * first, count * 2 * sizeof(double));
        }
        pdb__mpb_close_part(&g->parcels);
    }
    return PDB_OK;
}

/* "C" orders the codes as SQLite's BINARY does, as overview.c reads them. */
static const char parcels_sql[] =
    "SELECT landuse_main, area_computed_m2, ST_AsBinary(geom) FROM " PDB_PG_SCHEMA ".parcels "
    "WHERE commune = $1 AND valid_to IS NULL ORDER BY landuse_main COLLATE \"C\", id";

/* Reads the commune's current parcels into a new job, in groups by main
 * land use. A parcel that cannot be read is the commune's failure (in
 * job->st); a store failure is returned. */
static pdb_status read_job(pdb_ctx *ctx, pdb__pg *pg, const char *commune, pdb__ov_job *job)
{
    pdb__pg_params p = {0};
    PGresult *res = NULL;
    pdb__ov_group *g = NULL;
    pdb_status st;

    memset(job, 0, sizeof *job);
    snprintf(job->commune, sizeof job->commune, "%s", commune);
    pdb__pg_param_text(&p, commune);
    if ((st = pdb__pg_run(ctx, pg, parcels_sql, &p, "reading the commune's parcels", &res)) !=
        PDB_OK)
        return st;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *code = pdb__pg_text(res, i, 0);
        code = code ? code : "";
        if ((g == NULL || strncmp(g->code, code, sizeof g->code - 1) != 0) &&
            (g = pdb__ov_job_add_group(ctx, job, code)) == NULL) {
            st = PDB_ENOMEM;
            break;
        }
        g->area_m2 += pdb__pg_f8(res, i, 1);
        pdb__mpoly mp;
        if ((st = pdb__wkb_parse(ctx, (const unsigned char *)PQgetvalue(res, i, 2),
                                 (size_t)PQgetlength(res, i, 2), &mp)) != PDB_OK)
            break;
        if (mp.npoints > 0) {
            job->lat_sum_deg += mp.xy[1];
            job->lat_n++;
        }
        st = add_parcel(ctx, g, &mp);
        pdb__mpoly_free(&mp);
        if (st != PDB_OK)
            break;
    }
    PQclear(res);
    if (st != PDB_OK) {
        job->st = st;
        snprintf(job->msg, sizeof job->msg, "%s", pdb_errmsg(ctx));
        st = PDB_OK;
    }
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

/* Replaces the commune's overviews with the job's shapes and clears its
 * stale mark (overview.c's pdb__overview_rebuild). */
static pdb_status replace_shapes(pdb_ctx *ctx, pdb__pg *pg, pdb__ov_job *job, char **fallback)
{
    pdb_status st;

    *fallback = NULL;
    if (job->st != PDB_OK)
        return pdb__fail(ctx, job->st, "%s", job->msg);
    if ((st = commune_exec(ctx, pg, "DELETE FROM " PDB_PG_SCHEMA ".overviews WHERE commune = $1", 1,
                           job->commune, NULL, "clearing the commune's overviews")) != PDB_OK)
        return st;
    for (size_t i = 0; i < job->nshapes; i++)
        if ((st = insert_shape(ctx, pg, job->commune, &job->shapes[i])) != PDB_OK)
            return st;
    if ((st = commune_exec(ctx, pg,
                           "DELETE FROM " PDB_PG_SCHEMA ".overviews_stale WHERE commune = $1", 1,
                           job->commune, NULL, "clearing the stale mark")) != PDB_OK)
        return st;
    *fallback = job->fallback;
    job->fallback = NULL;
    return PDB_OK;
}

/* The commune's row gets the version this transaction commits, and
 * replicas hear of it at the COMMIT (as pg_writer.c announces a load). */
static const char stamp_sql[] =
    "WITH v AS (SELECT value::bigint + 1 AS next FROM " PDB_PG_SCHEMA ".meta "
    "WHERE key = 'data_version'), c AS (UPDATE " PDB_PG_SCHEMA ".communes SET data_version = "
    "(SELECT next FROM v) WHERE code = $1) "
    "SELECT pg_notify('parceldb', $1 || ' ' || (SELECT next FROM v))";

static const char problem_sql[] =
    "INSERT INTO " PDB_PG_SCHEMA ".overview_problems (commune, state, since, reason) "
    "VALUES ($1, '%s', $2, $3) ON CONFLICT (commune) DO UPDATE SET state = excluded.state, "
    "since = excluded.since, reason = excluded.reason";

static pdb_status record_problem(pdb_ctx *ctx, pdb__pg *pg, const char *commune, const char *state,
                                 const char *reason, const char *what)
{
    char sql[sizeof problem_sql + 16];
    snprintf(sql, sizeof sql, problem_sql, state);
    return commune_exec(ctx, pg, sql, 3, commune, reason, what);
}

/* Rebuilds one commune inside its own savepoint, so that a commune that
 * fails leaves its old state and the rest of the run goes on; records
 * the outcome in overview_problems (overview.c's rebuild_one). */
static pdb_status rebuild_one(pdb_ctx *ctx, pdb__pg *pg, pdb__ov_job *job, pdb_overview_report *rep)
{
    const char *commune = job->commune;
    char *fallback = NULL;
    pdb_status st;

    if ((st = pdb__pg_exec(ctx, pg, "SAVEPOINT overview_commune", "starting a commune")) != PDB_OK)
        return st;
    st = replace_shapes(ctx, pg, job, &fallback);
    if (st == PDB_OK) {
        if (fallback != NULL) {
            rep->fallback++;
            st = record_problem(ctx, pg, commune, "fallback", fallback,
                                "recording the overviews' fallback");
        } else {
            st = commune_exec(ctx, pg,
                              "DELETE FROM " PDB_PG_SCHEMA ".overview_problems WHERE commune = $1",
                              1, commune, NULL, "clearing the commune's overview problem");
        }
        free(fallback);
        if (st == PDB_OK)
            st = commune_exec(ctx, pg, stamp_sql, 1, commune, NULL,
                              "stamping the commune's data version");
        if (st == PDB_OK) {
            rep->rebuilt++;
            return pdb__pg_exec(ctx, pg, "RELEASE overview_commune", "ending a commune");
        }
        if (store_failure(st))
            return st;
    }
    if (store_failure(st))
        return st;
    char reason[512];
    snprintf(reason, sizeof reason, "%s", pdb_errmsg(ctx));
    if ((st = pdb__pg_exec(ctx, pg, "ROLLBACK TO overview_commune", "undoing a commune")) !=
            PDB_OK ||
        (st = pdb__pg_exec(ctx, pg, "RELEASE overview_commune", "ending a commune")) != PDB_OK)
        return st;
    if (rep->failed++ == 0)
        snprintf(rep->first_failure, sizeof rep->first_failure, "commune %s: %s", commune, reason);
    st = record_problem(ctx, pg, commune, "failed", reason, "recording the overviews' failure");
    /* A state change too: readers of the states (metrics) must see it. */
    return st == PDB_OK ? commune_exec(ctx, pg, stamp_sql, 1, commune, NULL,
                                       "stamping the commune's data version")
                        : st;
}

/* Builders beyond this gain nothing on the machines we run on, and each
 * holds a connection and a commune's shapes. */
#define MAX_BUILDERS 8

/* ------------------------------------------------------------------------ */
/* Building communes on every core                                           */
/* ------------------------------------------------------------------------ */

/* The GEOS work of a commune needs nothing of the others and is most of a
 * rebuild's time. Builders each read communes through a connection of
 * their own, inside the snapshot the rebuild's transaction exported after
 * taking the writers' lock (so they read exactly what it would), and build
 * them; this thread writes the built ones in order on the handle's
 * connection, each in its savepoint as before. */
typedef struct builders {
    pthread_mutex_t mu;              /* guards the fields below and the jobs' hand-over */
    pthread_cond_t work;             /* signalled when the writer takes a job, or on quit */
    pthread_cond_t built;            /* signalled when a job is built */
    const char *location;            /* the store's location, for the builders' connections */
    char snapshot[64];               /* the exported snapshot they read in */
    const PGresult *codes;           /* the communes, in the order they are written */
    pdb__ov_job *jobs;               /* one per commune */
    unsigned char *done;             /* per job: 1 once read and built (or failed) */
    size_t n;                        /* communes */
    size_t next;                     /* the next job a builder takes */
    size_t written;                  /* jobs the writer has taken */
    size_t ahead;                    /* how far builders may run ahead of the writer */
    int quit;                        /* the run is over: builders return */
    pdb_status st;                   /* a builder's store failure (connection, read), or PDB_OK */
    char msg[512];                   /* its message */
    pdb_limits limits;               /* the caller's limits, for the builders' contexts */
    pdb__pg conns[MAX_BUILDERS + 1]; /* the builders' connections, made before they start */
    int nconns;                      /* connections made */
    int taken;                       /* connections taken by a started builder */
} builders;

/* A builder's connection, in the rebuild's snapshot. The snapshot id is
 * pasted into SQL because SET TRANSACTION SNAPSHOT takes no parameter;
 * it is PostgreSQL's own, checked to be hexadecimal digits and dashes. */
static pdb_status builder_connect(pdb_ctx *ctx, builders *b, pdb__pg *pg)
{
    char sql[128];
    pg->conn = PQconnectdb(b->location);
    if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK)
        return pdb__pg_fail(ctx, pg, NULL, "connecting an overview builder");
    if (PQsetClientEncoding(pg->conn, "UTF8") != 0)
        return pdb__pg_fail(ctx, pg, NULL, "setting the client encoding to UTF-8");
    if (strspn(b->snapshot, "0123456789ABCDEFabcdef-") != strlen(b->snapshot))
        return pdb__fail(ctx, PDB_ESTORE, "unexpected snapshot id '%s'", b->snapshot);
    snprintf(sql, sizeof sql, "SET TRANSACTION SNAPSHOT '%s'", b->snapshot);
    pdb_status st = pdb__pg_exec(ctx, pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                                 "starting an overview builder");
    return st == PDB_OK ? pdb__pg_exec(ctx, pg, sql, "joining the rebuild's snapshot") : st;
}

static void *builder(void *arg)
{
    builders *b = arg;
    pdb_ctx *ctx = NULL;
    pdb_status st = pdb_ctx_new(&ctx);
    if (st == PDB_OK)
        ctx->limits = b->limits;
    pthread_mutex_lock(&b->mu);
    pdb__pg *pg = &b->conns[b->taken++];
    for (;;) {
        while (!b->quit && b->next < b->n && b->next >= b->written + b->ahead)
            pthread_cond_wait(&b->work, &b->mu);
        if (b->quit || b->next == b->n)
            break;
        size_t i = b->next++;
        pthread_mutex_unlock(&b->mu);
        if (st == PDB_OK &&
            (st = read_job(ctx, pg, pdb__pg_text(b->codes, (int)i, 0), &b->jobs[i])) == PDB_OK &&
            b->jobs[i].st == PDB_OK)
            pdb__ov_build(ctx, &b->jobs[i]);
        pthread_mutex_lock(&b->mu);
        if (st != PDB_OK && b->st == PDB_OK) {
            b->st = st;
            snprintf(b->msg, sizeof b->msg, "%s", ctx ? pdb_errmsg(ctx) : "out of memory");
        }
        b->done[i] = 1;
        pthread_cond_broadcast(&b->built);
    }
    pthread_mutex_unlock(&b->mu);
    pdb_ctx_free(ctx);
    return NULL;
}

/* Builders for n communes: one per core, none when there is one commune
 * or one core (this thread reads and builds then). */
static int builders_for(size_t n)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t k = cores < 1 ? 1 : cores > MAX_BUILDERS ? MAX_BUILDERS : (size_t)cores;
    k = k < n ? k : n;
    return k > 1 ? (int)k : 0;
}

/* Starts up to want builders; returns how many started. Builders run at
 * most a few communes ahead of the writer: enough to keep each busy, few
 * enough that memory stays a few communes'. */
static int builders_start(pdb_ctx *ctx, builders *b, pthread_t *threads, int want)
{
    int n = 0;
    /* A builder without a connection is no builder: a server near its
     * max_connections gets fewer of them (or none: then this thread reads
     * and builds), not a failed rebuild. Its failure is not the caller's. */
    pdb_status saved = ctx->last_status;
    char msg[sizeof ctx->msg];
    memcpy(msg, ctx->msg, sizeof msg);
    while (b->nconns < want && builder_connect(ctx, b, &b->conns[b->nconns]) == PDB_OK)
        b->nconns++;
    PQfinish(b->conns[b->nconns].conn); /* the one that failed, if any */
    b->conns[b->nconns].conn = NULL;
    ctx->last_status = saved;
    memcpy(ctx->msg, msg, sizeof msg);
    b->ahead = 2 * (size_t)b->nconns + 1;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->work, NULL);
    pthread_cond_init(&b->built, NULL);
    for (; n < b->nconns; n++)
        if (pthread_create(&threads[n], NULL, builder, b) != 0)
            break;
    return n;
}

/* Tells the builders to return, waits for them and frees what they shared. */
static void builders_end(builders *b, const pthread_t *threads, int nthreads)
{
    pthread_mutex_lock(&b->mu);
    b->quit = 1;
    pthread_cond_broadcast(&b->work);
    pthread_mutex_unlock(&b->mu);
    while (nthreads-- > 0)
        pthread_join(threads[nthreads], NULL);
    pthread_cond_destroy(&b->built);
    pthread_cond_destroy(&b->work);
    pthread_mutex_destroy(&b->mu);
    for (int i = 0; i < b->nconns; i++)
        PQfinish(b->conns[i].conn);
}

/* One commune after the other, in this thread. */
static pdb_status rebuild_in_turn(pdb_ctx *ctx, pdb__pg *pg, const PGresult *codes,
                                  pdb_overview_report *rep)
{
    pdb_status st = PDB_OK;
    for (int i = 0; i < PQntuples(codes) && st == PDB_OK; i++) {
        pdb__ov_job job;
        if ((st = read_job(ctx, pg, pdb__pg_text(codes, i, 0), &job)) == PDB_OK) {
            if (job.st == PDB_OK)
                pdb__ov_build(ctx, &job);
            st = rebuild_one(ctx, pg, &job, rep);
        }
        pdb__ov_job_clear(&job);
    }
    return st;
}

/* Rebuilds the communes in order, reading and building them on every
 * core; inside the caller's transaction, which holds the writers' lock. */
static pdb_status rebuild_communes(pdb_ctx *ctx, pdb_store *s, const PGresult *codes,
                                   pdb_overview_report *rep)
{
    builders b = {.location = s->pg->location, .codes = codes, .limits = ctx->limits};
    pthread_t threads[MAX_BUILDERS];
    PGresult *res = NULL;
    int nthreads = 0, want = builders_for((size_t)PQntuples(codes));
    pdb_status st;

    if (want == 0)
        return rebuild_in_turn(ctx, s->pg, codes, rep);
    if ((st = pdb__pg_run(ctx, s->pg, "SELECT pg_export_snapshot()", NULL,
                          "sharing the rebuild's snapshot", &res)) != PDB_OK)
        return st;
    snprintf(b.snapshot, sizeof b.snapshot, "%s", pdb__pg_text(res, 0, 0));
    PQclear(res);
    b.n = (size_t)PQntuples(codes);
    b.jobs = calloc(b.n, sizeof *b.jobs);
    b.done = calloc(b.n, 1);
    if (b.jobs == NULL || b.done == NULL) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory rebuilding overviews");
        goto done;
    }
    if ((nthreads = builders_start(ctx, &b, threads, want)) == 0) {
        st = rebuild_in_turn(ctx, s->pg, codes, rep);
        goto destroy;
    }
    for (size_t w = 0; w < b.n && st == PDB_OK; w++) {
        pthread_mutex_lock(&b.mu);
        while (!b.done[w])
            pthread_cond_wait(&b.built, &b.mu);
        b.written = w + 1;
        pthread_cond_broadcast(&b.work);
        if (b.st != PDB_OK)
            st = pdb__fail(ctx, b.st, "%s", b.msg);
        pthread_mutex_unlock(&b.mu);
        if (st == PDB_OK)
            st = rebuild_one(ctx, s->pg, &b.jobs[w], rep);
        pdb__ov_job_clear(&b.jobs[w]);
    }
destroy:
    builders_end(&b, threads, nthreads);
done:
    for (size_t i = 0; b.jobs != NULL && i < b.n; i++)
        pdb__ov_job_clear(&b.jobs[i]);
    free(b.jobs);
    free(b.done);
    return st;
}

/* The communes a rebuild covers, as overview.c's communes_sql: the one
 * named, or those that need it (stale ones, and those with parcels and no
 * overviews of the finest band) but not those whose last rebuild failed
 * on the same data. */
static const char communes_sql[] =
    "SELECT code FROM (SELECT code FROM " PDB_PG_SCHEMA ".communes WHERE code = $1 "
    "UNION SELECT commune FROM " PDB_PG_SCHEMA ".overviews_stale WHERE commune = $1 "
    "UNION SELECT DISTINCT commune FROM " PDB_PG_SCHEMA ".overviews WHERE commune = $1 "
    "UNION SELECT * FROM (SELECT code FROM " PDB_PG_SCHEMA ".communes c WHERE parcels > 0 AND "
    "NOT EXISTS (SELECT 1 FROM " PDB_PG_SCHEMA ".overviews WHERE commune = c.code AND band = $2) "
    "UNION SELECT commune FROM " PDB_PG_SCHEMA ".overviews_stale) n(code) WHERE $1::text IS NULL "
    "AND code NOT IN (SELECT commune FROM " PDB_PG_SCHEMA ".overview_problems "
    "WHERE state = 'failed')) u ORDER BY code COLLATE \"C\"";

pdb_status pdb__pg_overview_rebuild_report(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                           pdb_overview_report *rep)
{
    pdb__pg *pg = s->pg;
    pdb__pg_params p = {0};
    PGresult *codes = NULL;
    pdb_status st;

    if ((st = pdb__pg_exec(ctx, pg, "BEGIN", "starting the overviews' rebuild")) != PDB_OK)
        return st;
    /* The lock that queues writers (pg_writer.c takes it too), as SQLite's
     * BEGIN IMMEDIATE: the communes listed are the communes rebuilt. Waited
     * for as long as SQLite's busy timeout, then PDB_EBUSY, as a load. */
    if ((st = pdb__pg_exec(ctx, pg, "SET LOCAL lock_timeout = '10s'",
                           "starting the overviews' rebuild")) != PDB_OK ||
        (st = run_void(ctx, pg,
                       "SELECT value FROM " PDB_PG_SCHEMA ".meta WHERE key = 'data_version' "
                       "FOR UPDATE",
                       NULL, "waiting for the store's writers")) != PDB_OK)
        goto fail;
    pdb__pg_param_text(&p, commune);
    pdb__pg_param_i4(&p, PDB__OV_NBANDS - 1);
    if ((st = pdb__pg_run(ctx, pg, communes_sql, &p, "listing communes", &codes)) != PDB_OK)
        goto fail;
    if (commune != NULL && PQntuples(codes) == 0) {
        st = pdb__fail(ctx, PDB_ENOTFOUND, "no commune %s in the store", commune);
        goto fail;
    }
    if ((st = rebuild_communes(ctx, s, codes, rep)) != PDB_OK)
        goto fail;
    /* A new data version when a commune's overviews changed, the one they
     * were stamped with, so that caches drop the tiles drawn from parcels
     * meanwhile. */
    if ((rep->rebuilt + rep->failed > 0 &&
         (st = run_void(ctx, pg,
                        "UPDATE " PDB_PG_SCHEMA ".meta SET value = (value::bigint + 1)::text "
                        "WHERE key = 'data_version'",
                        NULL, "bumping the data version")) != PDB_OK) ||
        (st = pdb__pg_exec(ctx, pg, "COMMIT", "committing the overviews")) != PDB_OK)
        goto fail;
    PQclear(codes);
    if (commune != NULL && rep->failed > 0)
        return pdb__fail(ctx, PDB_EGEOM, "%s", rep->first_failure);
    return pdb__ok(ctx);
fail:
    PQclear(codes);
    PQclear(PQexec(pg->conn, "ROLLBACK"));
    memset(rep, 0, sizeof *rep);
    return st;
}

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
