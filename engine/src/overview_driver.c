/*
 * overview_driver.c: one overview rebuild for both stores, as
 * lineage_match.c is one lineage for both: the store's side (its
 * transaction, reading a commune's parcels, writing its shapes and state)
 * is its pdb__ov_io (backend.h; overview.c for SQLite, pg_overview.c for
 * PostgreSQL), and everything else is here: which communes, each in its
 * own savepoint so that one that fails stays confined to itself, the
 * report, and the builds on every core (overview_build.c, the same code
 * for both stores, so the same shapes).
 */
#include "overview.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Store failures end the whole rebuild (and roll it back); anything else
 * is the commune's own data, and stays confined to it. */
static int store_failure(pdb_status st)
{
    return st == PDB_ESTORE || st == PDB_EIO || st == PDB_EBUSY || st == PDB_ECORRUPT ||
           st == PDB_EREADONLY;
}

/* ------------------------------------------------------------------------ */
/* Reading one commune's parcels, writing its shapes                         */
/* ------------------------------------------------------------------------ */

typedef struct read_state {
    pdb_ctx *ctx;     /* the reading thread's */
    pdb__ov_job *job; /* filled */
    pdb__ov_group *g; /* the group of the last parcel's code, or NULL */
} read_state;

/* One parcel into its land-use group (they come ordered by code). */
static pdb_status add_parcel(void *arg, const char *code, double area_m2, const pdb_polygons *mp)
{
    read_state *r = arg;
    pdb__ov_group *g = r->g;
    code = code ? code : "";
    if ((g == NULL || strncmp(g->code, code, sizeof g->code - 1) != 0) &&
        (g = r->g = pdb__ov_job_add_group(r->ctx, r->job, code)) == NULL)
        return PDB_ENOMEM;
    g->area_m2 += area_m2;
    if (mp->npoints > 0) {
        r->job->lat_sum_deg += mp->xy[1];
        r->job->lat_n++;
    }
    for (size_t p = 0; p < mp->nparts; p++) {
        if (pdb__mpb_open_part(&g->parcels) != 0)
            return pdb__fail(r->ctx, PDB_ENOMEM, "out of memory reading parcels");
        for (size_t k = mp->part_ring[p]; k < mp->part_ring[p + 1]; k++) {
            size_t i0 = mp->ring_point[k], n = mp->ring_point[k + 1] - i0;
            double *xy = pdb__mpb_add_ring(&g->parcels, n);
            if (xy == NULL)
                return pdb__fail(r->ctx, PDB_ENOMEM, "out of memory reading parcels");
            memcpy(xy, &mp->xy[2 * i0], 2 * n * sizeof *xy);
        }
        pdb__mpb_close_part(&g->parcels);
    }
    return PDB_OK;
}

/* Reads the commune's current parcels into a new job, through reader (or
 * on s). A commune that cannot be read for its own reasons gets the reason
 * in job->st and PDB_OK; store failures are returned. */
static pdb_status read_job(pdb_ctx *ctx, pdb_store *s, void *reader, const char *commune,
                           pdb__ov_job *job)
{
    read_state r = {.ctx = ctx, .job = job};
    memset(job, 0, sizeof *job);
    snprintf(job->commune, sizeof job->commune, "%s", commune);
    pdb_status st = s->ops->overview_io->read_parcels(ctx, s, reader, commune, add_parcel, &r);
    if (st != PDB_OK && !store_failure(st)) {
        job->st = st;
        snprintf(job->msg, sizeof job->msg, "%s", pdb_errmsg(ctx));
        st = PDB_OK;
    }
    return st;
}

pdb_status pdb__ov_read_job(pdb_ctx *ctx, pdb_store *s, const char *commune, pdb__ov_job *job)
{
    return read_job(ctx, s, NULL, commune, job);
}

/* Replaces the commune's shapes with the job's and clears its stale mark;
 * a job that could not be read or built fails with its own status. */
static pdb_status replace_shapes(pdb_ctx *ctx, pdb_store *s, pdb__ov_job *job, char **fallback)
{
    *fallback = NULL;
    if (job->st != PDB_OK)
        return pdb__fail(ctx, job->st, "%s", job->msg);
    pdb_status st = s->ops->overview_io->replace(ctx, s, job->commune, job->shapes, job->nshapes);
    if (st != PDB_OK)
        return st;
    *fallback = job->fallback;
    job->fallback = NULL;
    return pdb__ok(ctx);
}

pdb_status pdb__ov_write_one(pdb_ctx *ctx, pdb_store *s, pdb__ov_job *job, pdb_overview_report *rep,
                             int stamp)
{
    const pdb__ov_io *io = s->ops->overview_io;
    const char *commune = job->commune;
    char *fallback = NULL;
    pdb_status st;

    if ((st = io->exec(ctx, s, "SAVEPOINT overview_commune")) != PDB_OK)
        return st;
    st = replace_shapes(ctx, s, job, &fallback);
    if (st == PDB_OK) {
        if (fallback != NULL) {
            rep->fallback++;
            st = io->problem(ctx, s, commune, "fallback", fallback);
        } else {
            st = io->problem(ctx, s, commune, NULL, NULL);
        }
        free(fallback);
        if (st == PDB_OK && stamp)
            st = io->stamp(ctx, s, commune);
        if (st == PDB_OK) {
            rep->rebuilt++;
            return io->exec(ctx, s, "RELEASE overview_commune");
        }
    }
    if (store_failure(st))
        return st;
    char reason[512];
    snprintf(reason, sizeof reason, "%s", pdb_errmsg(ctx));
    if ((st = io->exec(ctx, s, "ROLLBACK TO overview_commune")) != PDB_OK ||
        (st = io->exec(ctx, s, "RELEASE overview_commune")) != PDB_OK)
        return st;
    if (rep->failed++ == 0)
        snprintf(rep->first_failure, sizeof rep->first_failure, "commune %s: %s", commune, reason);
    st = io->problem(ctx, s, commune, "failed", reason);
    /* A state change too: readers of the states (metrics) must see it. */
    return st == PDB_OK && stamp ? io->stamp(ctx, s, commune) : st;
}

/* ------------------------------------------------------------------------ */
/* Building communes on every core                                           */
/* ------------------------------------------------------------------------ */

/* The GEOS work of a commune needs nothing of the others, and is most of
 * a rebuild's time: builder threads build communes, each with its own
 * context (its own GEOS handle), while this thread writes the built ones
 * in order on the store's connection, each in its savepoint. Who reads a
 * commune's parcels is the store's choice (readers_open): a builder
 * through a reader of its own (PostgreSQL: a connection in the rebuild's
 * snapshot), or this thread, a few communes ahead of the writing (SQLite:
 * one connection holds the transaction). */
typedef struct pool {
    pthread_mutex_t mu;   /* guards the fields below, and the jobs' hand-over */
    pthread_cond_t work;  /* signalled when a job may be taken, or on quit */
    pthread_cond_t built; /* signalled when a job is built */
    pdb_store *s;         /* the store (its io; read only through readers) */
    char (*codes)[8];     /* the communes, in the order they are written */
    pdb__ov_job *jobs;    /* one per commune */
    unsigned char *done;  /* per job: 1 once built (or failed) */
    size_t n;             /* communes */
    size_t nread;         /* without readers: jobs this thread has read */
    size_t ntaken;        /* jobs taken by a builder */
    size_t written;       /* jobs the writer has taken */
    size_t ahead;         /* how far reading may run ahead of the writer */
    int has_readers;      /* 1: each builder reads through its reader */
    void **readers;       /* per builder (has_readers), taken in order */
    int nreaders_taken;   /* readers taken by a started builder */
    int quit;             /* the run is over: builders return */
    pdb_status st;        /* a builder's store failure (reading), or PDB_OK */
    char msg[512];        /* its message */
    pdb_limits limits;    /* the caller's limits, for the builders' contexts */
} pool;

/* Builders beyond this gain nothing on the machines we run on, and each
 * holds a commune's shapes (and on PostgreSQL a connection). */
#define MAX_BUILDERS 8

/* Whether the next job may be taken: read (by this thread), or, when
 * builders read, within reach of the writer. */
static int can_take(const pool *p)
{
    if (p->ntaken == p->n)
        return 0;
    return p->has_readers ? p->ntaken < p->written + p->ahead : p->ntaken < p->nread;
}

static void *builder(void *arg)
{
    pool *p = arg;
    pdb_ctx *ctx = NULL;
    pdb_status st = pdb_ctx_new(&ctx);
    if (st == PDB_OK)
        ctx->limits = p->limits;
    pthread_mutex_lock(&p->mu);
    void *reader = p->has_readers ? p->readers[p->nreaders_taken++] : NULL;
    for (;;) {
        while (!p->quit && p->ntaken < p->n && !can_take(p))
            pthread_cond_wait(&p->work, &p->mu);
        if (p->quit || p->ntaken == p->n)
            break;
        size_t i = p->ntaken++;
        pdb__ov_job *job = &p->jobs[i];
        pthread_mutex_unlock(&p->mu);
        if (ctx == NULL) {
            /* A job the writer read fails alone; one this builder was to
             * read was never read, and fails the rebuild (below). */
            if (!p->has_readers) {
                job->st = PDB_ENOMEM;
                snprintf(job->msg, sizeof job->msg, "out of memory for a builder's context");
            }
        } else {
            if (p->has_readers && st == PDB_OK)
                st = read_job(ctx, p->s, reader, p->codes[i], job);
            if (st == PDB_OK && job->st == PDB_OK)
                pdb__ov_build(ctx, job);
        }
        pthread_mutex_lock(&p->mu);
        if (p->has_readers && st != PDB_OK && p->st == PDB_OK) {
            p->st = st;
            snprintf(p->msg, sizeof p->msg, "%s",
                     ctx ? pdb_errmsg(ctx) : "out of memory for a builder's context");
        }
        p->done[i] = 1;
        pthread_cond_broadcast(&p->built);
    }
    pthread_mutex_unlock(&p->mu);
    pdb_ctx_free(ctx);
    return NULL;
}

/* Builders for n communes: one per core, none when there is one commune
 * or one core (this thread reads and builds then). */
static int builders_for(size_t n)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores <= 1 || n <= 1)
        return 0;
    if (cores > MAX_BUILDERS)
        cores = MAX_BUILDERS;
    return (size_t)cores < n ? (int)cores : (int)n;
}

/* One commune after the other, in this thread. */
static pdb_status rebuild_in_turn(pdb_ctx *ctx, pdb_store *s, char (*codes)[8], size_t n,
                                  pdb_overview_report *rep)
{
    pdb_status st = PDB_OK;
    for (size_t i = 0; i < n && st == PDB_OK; i++) {
        pdb__ov_job job;
        if ((st = read_job(ctx, s, NULL, codes[i], &job)) == PDB_OK) {
            if (job.st == PDB_OK)
                pdb__ov_build(ctx, &job);
            st = pdb__ov_write_one(ctx, s, &job, rep, 1);
        }
        pdb__ov_job_clear(&job);
    }
    return st;
}

/* Rebuilds the communes in order, building them on every core; inside the
 * transaction io->begin opened. */
static pdb_status rebuild_communes(pdb_ctx *ctx, pdb_store *s, char (*codes)[8], size_t n,
                                   pdb_overview_report *rep)
{
    const pdb__ov_io *io = s->ops->overview_io;
    pool p = {.s = s, .codes = codes, .n = n, .limits = ctx->limits};
    pthread_t threads[MAX_BUILDERS];
    void *readers[MAX_BUILDERS] = {0};
    int nthreads = 0, nreaders = 0, want = builders_for(n);
    pdb_status st = PDB_OK;

    if (want == 0)
        return rebuild_in_turn(ctx, s, codes, n, rep);
    p.jobs = calloc(n, sizeof *p.jobs);
    p.done = calloc(n, 1);
    if (p.jobs == NULL || p.done == NULL) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory rebuilding overviews");
        goto done;
    }
    if (io->readers_open != NULL)
        nreaders = io->readers_open(ctx, s, readers, want);
    p.has_readers = nreaders > 0;
    p.readers = readers;
    if (p.has_readers)
        want = nreaders;
    /* Reading runs a few communes ahead of the writer: enough to keep
     * every builder busy, few enough that memory stays a few communes'. */
    p.ahead = 2 * (size_t)want + 1;
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.work, NULL);
    pthread_cond_init(&p.built, NULL);
    while (nthreads < want && pthread_create(&threads[nthreads], NULL, builder, &p) == 0)
        nthreads++;
    if (nthreads == 0) {
        st = rebuild_in_turn(ctx, s, codes, n, rep);
        goto destroy;
    }
    size_t nread = 0; /* without readers: jobs read here (p.nread, unlocked) */
    for (size_t w = 0; w < n && st == PDB_OK; w++) {
        for (; !p.has_readers && nread < n && nread < w + p.ahead; nread++) {
            if ((st = read_job(ctx, s, NULL, codes[nread], &p.jobs[nread])) != PDB_OK)
                goto stop;
            pthread_mutex_lock(&p.mu);
            p.nread = nread + 1;
            pthread_cond_signal(&p.work);
            pthread_mutex_unlock(&p.mu);
        }
        pthread_mutex_lock(&p.mu);
        while (!p.done[w])
            pthread_cond_wait(&p.built, &p.mu);
        p.written = w + 1;
        pthread_cond_broadcast(&p.work);
        if (p.st != PDB_OK)
            st = pdb__fail(ctx, p.st, "%s", p.msg);
        pthread_mutex_unlock(&p.mu);
        if (st == PDB_OK)
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
    if (nreaders > 0)
        io->readers_close(readers, nreaders);
    for (size_t i = 0; p.jobs != NULL && i < n; i++)
        pdb__ov_job_clear(&p.jobs[i]);
    free(p.jobs);
    free(p.done);
    return st;
}

pdb_status pdb__overview_rebuild_report(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                        pdb_overview_report *rep)
{
    const pdb__ov_io *io = s->ops->overview_io;
    char(*codes)[8] = NULL;
    size_t n = 0;
    pdb_status st;

    if ((st = io->begin(ctx, s, commune, &codes, &n)) != PDB_OK)
        return st;
    if (commune != NULL && n == 0) {
        st = pdb__fail(ctx, PDB_ENOTFOUND, "no commune %s in the store", commune);
        goto fail;
    }
    if ((st = rebuild_communes(ctx, s, codes, n, rep)) != PDB_OK)
        goto fail;
    /* A new data version when a commune's overviews changed (rebuilt, or
     * failed: a state change), the one they were stamped with, so that
     * caches drop the tiles drawn from parcels meanwhile. */
    if ((st = io->commit(ctx, s, rep->rebuilt + rep->failed > 0)) != PDB_OK)
        goto fail;
    free(codes);
    /* A commune asked for by name that failed is the caller's answer. */
    if (commune != NULL && rep->failed > 0)
        return pdb__fail(ctx, PDB_EGEOM, "%s", rep->first_failure);
    return pdb__ok(ctx);
fail:
    free(codes);
    io->rollback(s);
    memset(rep, 0, sizeof *rep);
    return st;
}
