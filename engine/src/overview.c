/*
 * overview.c: overviews, so that no low-zoom tile walks every parcel
 * (Martin's z0 tile over a parcel table passed 200 MB).
 *
 * Per commune and zoom band, the overviews are its current parcels
 * dissolved by main land-use code and simplified to the band's pixel size,
 * and its outline. overview_build.c builds them, without the store; this
 * file reads the parcels, writes the shapes, keeps the states, and runs
 * the builds on every core (one commune's build needs nothing of
 * another's).
 *
 * Building them cost about as much CPU as the rest of a commune's import
 * (docs/rendering.md, "Overviews"), so a commit only marks the commune
 * stale, in its own transaction, and readers draw a stale commune's low
 * zooms from its parcels (a bounded cost: one commune) until
 * pdb_overview_rebuild has run; the import stays fast and no tile is ever
 * older than its data version (an import builds each commune's overviews
while the next one loads: overview_bg.c). Rows are stored as the
 * engine's SpatiaLite BLOBs in WGS 84 with an SQLite R-tree over their
 * boxes.
 */
#include "overview.h"

#include "geom.h"
#include "overview_build.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Runs one statement with a commune bound to ?1 and the time to ?2, and a
 * text to ?3 when the statement has it. */
static pdb_status commune_exec(pdb_ctx *ctx, pdb_store *s, const char *sql, const char *commune,
                               const char *text, const char *what)
{
    sqlite3_stmt *stmt = NULL;
    char now[32];
    pdb__now_iso(now);
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        int nparams = sqlite3_bind_parameter_count(stmt);
        sqlite3_bind_text(stmt, 1, commune, -1, SQLITE_STATIC);
        if (nparams >= 2)
            sqlite3_bind_text(stmt, 2, now, -1, SQLITE_TRANSIENT);
        if (nparams >= 3)
            sqlite3_bind_text(stmt, 3, text, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, s->db, rc, what);
    return PDB_OK;
}

pdb_status pdb__overview_mark_stale(pdb_ctx *ctx, pdb_store *s, const char *commune)
{
    pdb_status st = commune_exec(ctx, s,
                                 "INSERT INTO overviews_stale (commune, since) VALUES (?1, ?2) "
                                 "ON CONFLICT(commune) DO NOTHING",
                                 commune, NULL, "marking the commune's overviews stale");
    /* New data, new chance: a commune whose rebuild failed is tried again
     * once it is imported again (see pdb_overview_rebuild). */
    if (st == PDB_OK)
        st = commune_exec(ctx, s, "DELETE FROM overview_problems WHERE commune = ?1", commune, NULL,
                          "clearing the commune's overview problem");
    return st;
}

/* Old rows go first: a commune without parcels keeps no overviews. */
static pdb_status clear_commune(pdb_ctx *ctx, pdb_store *s, const char *commune)
{
    pdb_status st = commune_exec(ctx, s,
                                 "DELETE FROM overviews_rtree WHERE id IN (SELECT id FROM "
                                 "overviews WHERE commune = ?1)",
                                 commune, NULL, "clearing the commune's overviews");
    if (st == PDB_OK)
        st = commune_exec(ctx, s, "DELETE FROM overviews WHERE commune = ?1", commune, NULL,
                          "clearing the commune's overviews");
    return st;
}

/* ------------------------------------------------------------------------ */
/* Reading one commune's parcels, writing its shapes                         */
/* ------------------------------------------------------------------------ */

/* Store failures end the whole rebuild (and roll it back); anything else
 * is the commune's own data, and stays confined to it. */
static int store_failure(pdb_status st)
{
    return st == PDB_ESTORE || st == PDB_EIO || st == PDB_EBUSY || st == PDB_ECORRUPT ||
           st == PDB_EREADONLY;
}

/* Appends the parts of mp to b. */
static pdb_status append_parts(pdb_ctx *ctx, pdb__mpoly_builder *b, const pdb__mpoly *mp)
{
    for (size_t p = 0; p < mp->nparts; p++) {
        if (pdb__mpb_open_part(b) != 0)
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory reading parcels");
        for (size_t r = mp->part_ring[p]; r < mp->part_ring[p + 1]; r++) {
            size_t i0 = mp->ring_point[r], n = mp->ring_point[r + 1] - i0;
            double *xy = pdb__mpb_add_ring(b, n);
            if (xy == NULL)
                return pdb__fail(ctx, PDB_ENOMEM, "out of memory reading parcels");
            memcpy(xy, &mp->xy[2 * i0], 2 * n * sizeof *xy);
        }
        pdb__mpb_close_part(b);
    }
    return PDB_OK;
}

/* Reads the commune's current parcels into a new job, in groups by main
 * land use (they come ordered by code). A parcel that cannot be read is
 * the commune's failure (in job->st, the rebuild goes on); a store
 * failure is returned. */
pdb_status pdb__ov_read_job(pdb_ctx *ctx, pdb_store *s, const char *commune, pdb__ov_job *job)
{
    sqlite3_stmt *sel = NULL;
    pdb__ov_group *g = NULL;
    pdb_status st = PDB_OK;

    memset(job, 0, sizeof *job);
    snprintf(job->commune, sizeof job->commune, "%s", commune);
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT landuse_main, area_computed_m2, geom FROM parcels WHERE "
                                "commune = ?1 AND valid_to IS NULL ORDER BY landuse_main, id",
                                -1, &sel, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(ctx, s->db, rc, "reading the commune's parcels");
    sqlite3_bind_text(sel, 1, commune, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(sel, 0);
        code = code ? code : "";
        if ((g == NULL || strncmp(g->code, code, sizeof g->code - 1) != 0) &&
            (g = pdb__ov_job_add_group(ctx, job, code)) == NULL) {
            st = PDB_ENOMEM;
            goto done;
        }
        g->area_m2 += sqlite3_column_double(sel, 1);
        pdb__mpoly mp;
        if ((st = pdb__blob_parse(ctx, sqlite3_column_blob(sel, 2),
                                  (size_t)sqlite3_column_bytes(sel, 2), &mp)) != PDB_OK)
            goto done;
        if (mp.npoints > 0) {
            job->lat_sum_deg += mp.xy[1];
            job->lat_n++;
        }
        st = append_parts(ctx, &g->parcels, &mp);
        pdb__mpoly_free(&mp);
        if (st != PDB_OK)
            goto done;
    }
    if (rc != SQLITE_DONE)
        st = pdb__sql_fail(ctx, s->db, rc, "reading the commune's parcels");
done:
    sqlite3_finalize(sel);
    if (st != PDB_OK && !store_failure(st)) {
        job->st = st;
        snprintf(job->msg, sizeof job->msg, "%s", pdb_errmsg(ctx));
        st = PDB_OK;
    }
    return st;
}

/* Writes one shape and its box in the R-tree. */
static pdb_status insert_shape(pdb_ctx *ctx, pdb_store *s, sqlite3_stmt *ins, sqlite3_stmt *rt,
                               const char *commune, const pdb__ov_shape *sh)
{
    sqlite3_reset(ins);
    sqlite3_bind_text(ins, 1, commune, -1, SQLITE_STATIC);
    sqlite3_bind_int(ins, 2, sh->band);
    sqlite3_bind_int(ins, 3, sh->kind);
    if (sh->code != NULL)
        sqlite3_bind_text(ins, 4, sh->code, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(ins, 4);
    sqlite3_bind_double(ins, 5, sh->area_m2);
    for (int i = 0; i < 4; i++)
        sqlite3_bind_double(ins, 6 + i, sh->bbox[i]);
    sqlite3_bind_blob64(ins, 10, sh->blob, sh->len, SQLITE_STATIC);
    int rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, s->db, rc, "storing an overview");
    sqlite3_reset(rt);
    sqlite3_bind_int64(rt, 1, sqlite3_last_insert_rowid(s->db));
    sqlite3_bind_double(rt, 2, sh->bbox[0]);
    sqlite3_bind_double(rt, 3, sh->bbox[2]);
    sqlite3_bind_double(rt, 4, sh->bbox[1]);
    sqlite3_bind_double(rt, 5, sh->bbox[3]);
    rc = sqlite3_step(rt);
    sqlite3_reset(rt);
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, s->db, rc, "indexing an overview");
    return PDB_OK;
}

pdb_status pdb__overview_rebuild(pdb_ctx *ctx, pdb_store *s, pdb__ov_job *job, char **fallback)
{
    sqlite3_stmt *ins = NULL, *rt = NULL;
    pdb_status st;

    *fallback = NULL;
    if (job->st != PDB_OK)
        return pdb__fail(ctx, job->st, "%s", job->msg);
    int rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO overviews (commune, band, kind, landuse_main, "
                                "area_m2, min_lon, min_lat, max_lon, max_lat, geom) VALUES "
                                "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                                -1, &ins, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db, "INSERT INTO overviews_rtree VALUES (?1, ?2, ?3, ?4, ?5)",
                                -1, &rt, NULL);
    if (rc != SQLITE_OK) {
        st = pdb__sql_fail(ctx, s->db, rc, "preparing the overviews");
        goto done;
    }
    if ((st = clear_commune(ctx, s, job->commune)) != PDB_OK)
        goto done;
    for (size_t i = 0; i < job->nshapes; i++)
        if ((st = insert_shape(ctx, s, ins, rt, job->commune, &job->shapes[i])) != PDB_OK)
            goto done;
    st = commune_exec(ctx, s, "DELETE FROM overviews_stale WHERE commune = ?1", job->commune, NULL,
                      "clearing the stale mark");
    if (st == PDB_OK) {
        *fallback = job->fallback;
        job->fallback = NULL;
    }
done:
    sqlite3_finalize(ins);
    sqlite3_finalize(rt);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}

/* Rebuilds one commune inside its own savepoint, so that a commune that
 * fails leaves its old state (stale, drawn from its parcels) and the rest
 * of the run goes on. Records the outcome in overview_problems. */
pdb_status pdb__ov_write_one(pdb_ctx *ctx, pdb_store *s, pdb__ov_job *job, pdb_overview_report *rep,
                             int stamp)
{
    const char *commune = job->commune;
    char *fallback = NULL;
    pdb_status st;

    if ((st = pdb__store_exec(ctx, s, "SAVEPOINT overview_commune")) != PDB_OK)
        return st;
    st = pdb__overview_rebuild(ctx, s, job, &fallback);
    if (st == PDB_OK) {
        if (fallback != NULL) {
            rep->fallback++;
            st = commune_exec(ctx, s,
                              "INSERT OR REPLACE INTO overview_problems (commune, state, since, "
                              "reason) VALUES (?1, 'fallback', ?2, ?3)",
                              commune, fallback, "recording the overviews' fallback");
        } else {
            st = commune_exec(ctx, s, "DELETE FROM overview_problems WHERE commune = ?1", commune,
                              NULL, "clearing the commune's overview problem");
        }
        free(fallback);
        if (st == PDB_OK && stamp)
            st = pdb__commune_stamp(ctx, s, commune);
        if (st == PDB_OK) {
            rep->rebuilt++;
            return pdb__store_exec(ctx, s, "RELEASE overview_commune");
        }
        return st;
    }
    if (store_failure(st))
        return st;
    char reason[512];
    snprintf(reason, sizeof reason, "%s", pdb_errmsg(ctx));
    if ((st = pdb__store_exec(ctx, s, "ROLLBACK TO overview_commune")) != PDB_OK ||
        (st = pdb__store_exec(ctx, s, "RELEASE overview_commune")) != PDB_OK)
        return st;
    if (rep->failed++ == 0)
        snprintf(rep->first_failure, sizeof rep->first_failure, "commune %s: %s", commune, reason);
    st = commune_exec(ctx, s,
                      "INSERT OR REPLACE INTO overview_problems (commune, state, since, reason) "
                      "VALUES (?1, 'failed', ?2, ?3)",
                      commune, reason, "recording the overviews' failure");
    /* A state change too: readers of the states (metrics) must see it. */
    return st == PDB_OK && stamp ? pdb__commune_stamp(ctx, s, commune) : st;
}

/* ------------------------------------------------------------------------ */
/* Rebuilding communes on every core                                         */
/* ------------------------------------------------------------------------ */

/* The GEOS work of a commune needs nothing of the others, and is most of
 * a rebuild's time: workers build communes, each with its own context
 * (its own GEOS handle), while this thread, the only one to use the store
 * connection, reads the parcels of the communes ahead and writes the
 * built ones in order, each in its savepoint as before. */
typedef struct pool {
    pthread_mutex_t mu;   /* guards the fields below, and the jobs' hand-over */
    pthread_cond_t work;  /* signalled when a job is read, or on quit */
    pthread_cond_t built; /* signalled when a job is built */
    pdb__ov_job *jobs;    /* one per commune, in the order they are written */
    unsigned char *done;  /* per job: 1 once built (or left for the writer to fail) */
    size_t nread;         /* jobs read, so ready to build */
    size_t ntaken;        /* jobs taken by a worker */
    int quit;             /* the run is over: workers return */
    pdb_limits limits;    /* the caller's limits, for the workers' contexts */
} pool;

/* Builders beyond this gain nothing on the machines we run on, and each
 * holds a commune's shapes. */
#define MAX_WORKERS 8

static void *worker(void *arg)
{
    pool *p = arg;
    pdb_ctx *ctx = NULL;
    if (pdb_ctx_new(&ctx) == PDB_OK)
        ctx->limits = p->limits;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->ntaken == p->nread)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->quit)
            break;
        size_t i = p->ntaken++;
        pdb__ov_job *job = &p->jobs[i];
        pthread_mutex_unlock(&p->mu);
        if (ctx == NULL) {
            job->st = PDB_ENOMEM;
            snprintf(job->msg, sizeof job->msg, "out of memory for a builder's context");
        } else if (job->st == PDB_OK) {
            pdb__ov_build(ctx, job);
        }
        pthread_mutex_lock(&p->mu);
        p->done[i] = 1;
        pthread_cond_broadcast(&p->built);
    }
    pthread_mutex_unlock(&p->mu);
    pdb_ctx_free(ctx);
    return NULL;
}

/* Builders for n communes: one per core, none when there is one commune
 * or one core (this thread builds then). */
static int workers_for(size_t n)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores <= 1 || n <= 1)
        return 0;
    if (cores > MAX_WORKERS)
        cores = MAX_WORKERS;
    return (size_t)cores < n ? (int)cores : (int)n;
}

/* One commune after the other, in this thread. */
static pdb_status rebuild_in_turn(pdb_ctx *ctx, pdb_store *s, char (*codes)[8], size_t found,
                                  pdb_overview_report *rep)
{
    pdb_status st = PDB_OK;
    for (size_t i = 0; i < found && st == PDB_OK; i++) {
        pdb__ov_job job;
        if ((st = pdb__ov_read_job(ctx, s, codes[i], &job)) == PDB_OK) {
            if (job.st == PDB_OK)
                pdb__ov_build(ctx, &job);
            st = pdb__ov_write_one(ctx, s, &job, rep, 1);
        }
        pdb__ov_job_clear(&job);
    }
    return st;
}

/* Rebuilds the communes in order, building them on every core. */
static pdb_status rebuild_communes(pdb_ctx *ctx, pdb_store *s, char (*codes)[8], size_t found,
                                   pdb_overview_report *rep)
{
    pool p = {.limits = ctx->limits};
    pthread_t threads[MAX_WORKERS];
    int nthreads = 0, want = workers_for(found);
    pdb_status st = PDB_OK;

    if (want == 0)
        return rebuild_in_turn(ctx, s, codes, found, rep);
    p.jobs = calloc(found, sizeof *p.jobs);
    p.done = calloc(found, 1);
    if (p.jobs == NULL || p.done == NULL) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory rebuilding overviews");
        goto done;
    }
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.work, NULL);
    pthread_cond_init(&p.built, NULL);
    while (nthreads < want && pthread_create(&threads[nthreads], NULL, worker, &p) == 0)
        nthreads++;
    if (nthreads == 0) {
        st = rebuild_in_turn(ctx, s, codes, found, rep);
        goto destroy;
    }
    /* Read ahead of the writer by a few communes: enough to keep every
     * builder busy, few enough that memory stays a few communes'. */
    size_t ahead = 2 * (size_t)nthreads + 1, nread = 0;
    for (size_t w = 0; w < found && st == PDB_OK; w++) {
        for (; nread < found && nread < w + ahead; nread++) {
            if ((st = pdb__ov_read_job(ctx, s, codes[nread], &p.jobs[nread])) != PDB_OK)
                goto stop;
            pthread_mutex_lock(&p.mu);
            p.nread = nread + 1;
            pthread_cond_signal(&p.work);
            pthread_mutex_unlock(&p.mu);
        }
        pthread_mutex_lock(&p.mu);
        while (!p.done[w])
            pthread_cond_wait(&p.built, &p.mu);
        pthread_mutex_unlock(&p.mu);
        st = pdb__ov_write_one(ctx, s, &p.jobs[w], rep, 1);
        pdb__ov_job_clear(&p.jobs[w]);
    }
stop:
    pthread_mutex_lock(&p.mu);
    p.quit = 1;
    pthread_cond_broadcast(&p.work);
    pthread_mutex_unlock(&p.mu);
    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
destroy:
    pthread_cond_destroy(&p.built);
    pthread_cond_destroy(&p.work);
    pthread_mutex_destroy(&p.mu);
done:
    for (size_t i = 0; p.jobs != NULL && i < found; i++)
        pdb__ov_job_clear(&p.jobs[i]);
    free(p.jobs);
    free(p.done);
    return st;
}

/* The communes a rebuild covers. NULL: those that need it: stale ones, and
 * those with parcels and no overviews of the finest band (imported before
 * overviews existed, or before that band did), but not those whose last
 * rebuild failed on the same data (they wait for a new import of theirs,
 * or a rebuild by name). */
static const char communes_sql[] =
    "SELECT code FROM communes WHERE code = ?1 "
    "UNION SELECT commune FROM overviews_stale WHERE commune = ?1 "
    "UNION SELECT DISTINCT commune FROM overviews WHERE commune = ?1 "
    "UNION SELECT * FROM (SELECT code FROM communes WHERE parcels > 0 AND NOT EXISTS "
    "(SELECT 1 FROM overviews WHERE commune = code AND band = ?2) UNION SELECT commune FROM "
    "overviews_stale) WHERE ?1 IS NULL AND code NOT IN (SELECT commune FROM overview_problems "
    "WHERE state = 'failed') ORDER BY 1";

/* The codes first: rebuilding writes the tables the query reads. */
static pdb_status list_communes(pdb_ctx *ctx, pdb_store *s, const char *commune, char (**codes)[8],
                                size_t *found)
{
    sqlite3_stmt *stmt = NULL;
    size_t cap = 0;
    pdb_status st = PDB_OK;

    *codes = NULL;
    *found = 0;
    int rc = sqlite3_prepare_v2(s->db, communes_sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        if (commune != NULL)
            sqlite3_bind_text(stmt, 1, commune, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 2, PDB__OV_NBANDS - 1);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            if (*found == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                char(*p)[8] = realloc(*codes, ncap * sizeof **codes);
                if (p == NULL) {
                    st = pdb__fail(ctx, PDB_ENOMEM, "out of memory listing communes");
                    goto done;
                }
                *codes = p;
                cap = ncap;
            }
            snprintf((*codes)[(*found)++], sizeof **codes, "%s",
                     (const char *)sqlite3_column_text(stmt, 0));
        }
    }
    if (rc != SQLITE_DONE)
        st = pdb__sql_fail(ctx, s->db, rc, "listing communes");
done:
    sqlite3_finalize(stmt);
    if (st != PDB_OK) {
        free(*codes);
        *codes = NULL;
        *found = 0;
    }
    return st;
}

pdb_status pdb__sq_overview_rebuild_report(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                           pdb_overview_report *rep)
{
    char(*codes)[8] = NULL;
    size_t found = 0;
    pdb_status st;

    if ((st = pdb__store_exec(ctx, s, "BEGIN IMMEDIATE")) != PDB_OK)
        return st;
    if ((st = list_communes(ctx, s, commune, &codes, &found)) != PDB_OK)
        goto fail;
    if (commune != NULL && found == 0) {
        st = pdb__fail(ctx, PDB_ENOTFOUND, "no commune %s in the store", commune);
        goto fail;
    }
    if ((st = rebuild_communes(ctx, s, codes, found, rep)) != PDB_OK)
        goto fail;
    /* A new data version when a commune's overviews changed (rebuilt, or
     * failed: a state change), the one they were stamped with, so that
     * caches drop the tiles drawn from parcels meanwhile. */
    if ((rep->rebuilt + rep->failed > 0 &&
         (st = pdb__store_exec(ctx, s,
                               "UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                               "WHERE key = 'data_version'")) != PDB_OK) ||
        (st = pdb__store_exec(ctx, s, "COMMIT")) != PDB_OK)
        goto fail;
    free(codes);
    /* A commune asked for by name that failed is the caller's answer. */
    if (commune != NULL && rep->failed > 0)
        return pdb__fail(ctx, PDB_EGEOM, "%s", rep->first_failure);
    return pdb__ok(ctx);
fail:
    free(codes);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    memset(rep, 0, sizeof *rep);
    return st;
}

/* Whether the store has a table (a store opened read-only may predate the
 * overview tables: they are made at the first read-write open). */
static int has_table(pdb_store *s, const char *name)
{
    sqlite3_stmt *stmt = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                           -1, &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(stmt) == SQLITE_ROW;
    }
    sqlite3_finalize(stmt);
    return found;
}

/* Failed first: a failed commune is also stale, and failure is the news. */
static const char states_sql[] =
    "SELECT c.code, CASE WHEN f.state = 'failed' THEN 2 WHEN st.commune IS NOT NULL OR "
    "(c.parcels > 0 AND NOT EXISTS (SELECT 1 FROM overviews o WHERE o.commune = c.code AND "
    "o.band = ?1)) THEN 1 WHEN f.state = 'fallback' THEN 3 ELSE 0 END, f.reason, "
    "coalesce(f.since, st.since, '') FROM communes c LEFT JOIN %s f ON f.commune = c.code "
    "LEFT JOIN overviews_stale st ON st.commune = c.code ORDER BY c.code";

pdb_status pdb__overview_states(pdb_ctx *ctx, pdb_store *s, pdb_commune_list *list)
{
    sqlite3_stmt *stmt = NULL;
    char sql[sizeof states_sql + 128];
    pdb_status st = PDB_OK;
    size_t i = 0;

    if (!has_table(s, "overviews_stale")) { /* made before overviews: none built */
        for (size_t k = 0; k < list->count; k++)
            list->items[k].overview_state =
                list->items[k].parcels > 0 ? PDB_OVERVIEW_STATE_STALE : PDB_OVERVIEW_STATE_FRESH;
        return PDB_OK;
    }
    snprintf(sql, sizeof sql, states_sql,
             has_table(s, "overview_problems")
                 ? "overview_problems"
                 : "(SELECT '' AS commune, '' AS state, '' AS since, '' AS reason WHERE 0)");
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(stmt, 1, PDB__OV_NBANDS - 1);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            const char *code = (const char *)sqlite3_column_text(stmt, 0);
            while (i < list->count && strcmp(list->items[i].code, code) < 0)
                i++;
            if (i == list->count || strcmp(list->items[i].code, code) != 0)
                continue; /* a commune that arrived after the list was read */
            pdb_commune *c = &list->items[i];
            const char *reason = (const char *)sqlite3_column_text(stmt, 2);
            c->overview_state = (pdb_overview_state)sqlite3_column_int(stmt, 1);
            snprintf(c->overview_since, sizeof c->overview_since, "%s",
                     (const char *)sqlite3_column_text(stmt, 3));
            if (reason != NULL && (c->overview_reason = pdb__strdup(reason)) == NULL) {
                st = pdb__fail(ctx, PDB_ENOMEM, "out of memory listing communes");
                break;
            }
        }
    }
    if (st == PDB_OK && rc != SQLITE_DONE)
        st = pdb__sql_fail(ctx, s->db, rc, "reading the overviews' states");
    sqlite3_finalize(stmt);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

pdb_status pdb__sq_overview_features(pdb_ctx *ctx, pdb_store *s, int zoom, unsigned kinds,
                                     const double bbox[4], pdb_feature_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    pdb_status st = PDB_OK;

    if (!(bbox[0] <= bbox[2] && bbox[1] <= bbox[3]))
        return pdb__fail(ctx, PDB_EINVAL, "bbox minimum is above its maximum");
    if (zoom < 0)
        return pdb__fail(ctx, PDB_EINVAL, "zoom %d is negative", zoom);
    /* Prepared once per handle (store.c): parsing it was 7% of a z16
     * vector tile, which reads the communes' outlines here. */
    if ((st = pdb__store_stmt(ctx, s, STMT_OVERVIEW_FEATURES, &stmt)) != PDB_OK) {
        if (strstr(sqlite3_errmsg(s->db), "no such table") != NULL)
            return pdb__fail(ctx, PDB_ENOTFOUND,
                             "this store has no overviews (made before them): open it "
                             "read-write once, e.g. 'parceldb render --rebuild-overviews'");
        return st;
    }
    for (int i = 0; i < 4; i++)
        sqlite3_bind_double(stmt, i + 1, bbox[i]);
    sqlite3_bind_int(stmt, 5, pdb__ov_band_of(zoom));
    sqlite3_bind_int(stmt, 6, (int)kinds);
    /* Dissolved shapes are far over the per-parcel limits, and they come
     * from our own writer, not from outside. */
    pdb_limits saved = ctx->limits;
    ctx->limits.max_vertices_per_parcel = SIZE_MAX / 64;
    ctx->limits.max_parts_per_parcel = SIZE_MAX / 64;
    ctx->limits.max_rings_per_parcel = SIZE_MAX / 64;
    st = pdb__features_emit(ctx, s, stmt, bbox, fn, arg, "reading overviews");
    ctx->limits = saved;
    sqlite3_reset(stmt); /* ends its read: a cached statement must not hold one */
    return st == PDB_OK ? pdb__ok(ctx) : st;
}
