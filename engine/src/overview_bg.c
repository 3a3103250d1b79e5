/*
 * overview_bg.c: overviews built beside an import (pdb_overview_builder),
 * so that the dissolving and simplifying of one commune (about as much
 * CPU as its load) runs on the core the load leaves idle, instead of in
 * a pass of its own after the last commune.
 * * The calling thread, the store handle's only user, queues a committed
 * commune; one builder thread, with its own context and its own read-only
 * handle on the store (WAL: it reads beside the writer, and sees every
 * commit made before it reads), reads the commune's parcels
 * (pdb__ov_read_job) and builds them (pdb__ov_build), in order; the
 * calling thread writes each built job, in a write transaction of its
 * own, at its next call (pdb__ov_write_one, the rebuild's own writing, so
 * that the outcome per commune is a rebuild's). A job the builder could
 * not read (a store failure) is not written: its commune stays stale for
 * the rebuild after the import. The communes written get their data
 * version stamp at the end, all with one new version, as one rebuild of
 * them would give them.
 * Ordering keeps the stale marks true: a commune handed again (loaded
 * again since) drops its queued job before anything is written, so that
 * no job clears the mark of data it did not read. A queue of at most
 * MAX_PENDING jobs bounds the memory: the caller waits when it is full.
 */
#include "overview.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Jobs read and not yet written; with one builder, two ahead keep it busy. */
#define MAX_PENDING 3

typedef struct bg_job {
    pdb__ov_job job;     /* what is read, then built */
    int built;           /* the builder is done with it */
    int dropped;         /* the commune was handed again: not written */
    struct bg_job *next; /* the next job in reading order */
} bg_job;

struct pdb_overview_builder {
    pdb_store *store;        /* the caller's handle: written on its thread only */
    pdb_ctx *bctx;           /* the builder thread's context */
    pdb_store *reader;       /* the builder thread's read-only handle on the same store */
    int deferred;            /* a store that rebuilds by itself (PostgreSQL): nothing queued */
    pthread_t thread;        /* the builder */
    int started;             /* thread is running */
    pthread_mutex_t mu;      /* guards the queue's flags and links below */
    pthread_cond_t work;     /* a job was queued, or quit */
    pthread_cond_t built;    /* a job was built */
    bg_job *head, *tail;     /* the queue, oldest first (head: the next to write) */
    bg_job *to_build;        /* the first job the builder has not taken */
    size_t pending;          /* jobs in the queue */
    int quit;                /* the builder returns */
    pdb_overview_report rep; /* what was written so far */
    char (*written)[8];      /* the communes written, for finish to stamp */
    size_t nwritten;         /* used */
    size_t capwritten;       /* allocated */
};

static void *builder_main(void *arg)
{
    pdb_overview_builder *b = arg;
    pdb_ctx *ctx = b->bctx;
#ifdef __linux__
    /* The load is what the user waits for: the builder takes what the
     * writing and reading threads leave. A Linux thread's nice value is
     * its own (setpriority on its thread id); at 10 it weighs a tenth of
     * theirs when the three want the two cores, and has an idle core, as
     * after the last commune, to itself. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
#endif
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->quit && b->to_build == NULL)
            pthread_cond_wait(&b->work, &b->mu);
        if (b->quit)
            break;
        bg_job *j = b->to_build;
        b->to_build = j->next;
        int skip = j->dropped, unread = 0;
        pthread_mutex_unlock(&b->mu);
        if (!skip) {
            char commune[sizeof j->job.commune];
            memcpy(commune, j->job.commune, sizeof commune);
            unread = pdb__ov_read_job(ctx, b->reader, commune, &j->job) != PDB_OK;
            if (!unread && j->job.st == PDB_OK)
                pdb__ov_build(ctx, &j->job);
        }
        pthread_mutex_lock(&b->mu);
        if (unread)
            j->dropped = 1; /* stays stale: the rebuild after the import reads it again */
        j->built = 1;
        pthread_cond_broadcast(&b->built);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

pdb_status pdb_overview_builder_start(pdb_ctx *ctx, pdb_store *s, pdb_overview_builder **out)
{
    if (out == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no place for the overview builder");
    *out = NULL;
    if (s == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no store");
    if (s->readonly)
        return pdb__fail(ctx, PDB_EREADONLY, "the store was opened read-only");
    pdb_overview_builder *b = calloc(1, sizeof *b);
    if (b == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    b->store = s;
    b->deferred = s->pg != NULL;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->work, NULL);
    pthread_cond_init(&b->built, NULL);
    /* No context, no second handle (a store in memory) or no thread (a
     * process at its limit): every commune is left stale, for the rebuild
     * after the import, as before builders existed. */
    const char *path = s->db != NULL ? sqlite3_db_filename(s->db, "main") : NULL;
    if (!b->deferred && path != NULL && path[0] != '\0' && pdb_ctx_new(&b->bctx) == PDB_OK) {
        pdb_limits lim;
        pdb_ctx_get_limits(ctx, &lim);
        pdb_ctx_set_limits(b->bctx, &lim);
        if (pdb_store_open(b->bctx, path, PDB_OPEN_READONLY, &b->reader) == PDB_OK &&
            pthread_create(&b->thread, NULL, builder_main, b) == 0)
            b->started = 1;
    }
    if (!b->started)
        b->deferred = 1;
    *out = b;
    return pdb__ok(ctx);
}

/* Adds a commune to those pdb_overview_builder_finish stamps. */
static pdb_status remember(pdb_ctx *ctx, pdb_overview_builder *b, const char *commune)
{
    for (size_t i = 0; i < b->nwritten; i++)
        if (strcmp(b->written[i], commune) == 0)
            return PDB_OK;
    if (b->nwritten == b->capwritten) {
        size_t cap = b->capwritten ? 2 * b->capwritten : 64;
        char(*w)[8] = realloc(b->written, cap * sizeof *w);
        if (w == NULL)
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        b->written = w;
        b->capwritten = cap;
    }
    snprintf(b->written[b->nwritten++], sizeof b->written[0], "%s", commune);
    return PDB_OK;
}

/* Writes the job at the head of the queue (built) in its own write
 * transaction, as a rebuild would, and frees it. */
static pdb_status write_head(pdb_ctx *ctx, pdb_overview_builder *b)
{
    pdb_store *s = b->store;
    bg_job *j = b->head;
    pdb_status st = PDB_OK;

    pthread_mutex_lock(&b->mu);
    b->head = j->next;
    if (b->head == NULL)
        b->tail = NULL;
    b->pending--;
    pthread_mutex_unlock(&b->mu);
    if (!j->dropped && (st = remember(ctx, b, j->job.commune)) == PDB_OK &&
        (st = pdb__store_exec(ctx, s, "BEGIN IMMEDIATE")) == PDB_OK) {
        /* Not stamped here: pdb_overview_builder_finish stamps every
         * commune written with one new data version. */
        st = pdb__ov_write_one(ctx, s, &j->job, &b->rep, 0);
        if (st == PDB_OK)
            st = pdb__store_exec(ctx, s, "COMMIT");
        if (st != PDB_OK)
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    pdb__ov_job_clear(&j->job);
    free(j);
    return st;
}

/* Writes the jobs built at the head of the queue; with wait, waits for
 * the builder until at most `keep` jobs are left. */
static pdb_status write_built(pdb_ctx *ctx, pdb_overview_builder *b, int wait, size_t keep)
{
    pdb_status st = PDB_OK;
    for (;;) {
        pthread_mutex_lock(&b->mu);
        while (wait && b->head != NULL && !b->head->built && b->pending > keep)
            pthread_cond_wait(&b->built, &b->mu);
        int ready = b->head != NULL && b->head->built;
        pthread_mutex_unlock(&b->mu);
        if (!ready)
            return st;
        if ((st = write_head(ctx, b)) != PDB_OK)
            return st;
    }
}

pdb_status pdb_overview_builder_add(pdb_ctx *ctx, pdb_overview_builder *b, const char *commune)
{
    if (b == NULL || commune == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no overview builder or no commune");
    if (b->deferred)
        return pdb__ok(ctx); /* left stale: the rebuild after the import builds it */
    if (b->store->writing)
        return pdb__fail(ctx, PDB_EINVAL, "a commune's load is open on this store handle");
    /* First: an earlier job of this commune read data that is gone. */
    pthread_mutex_lock(&b->mu);
    for (bg_job *j = b->head; j != NULL; j = j->next)
        if (strcmp(j->job.commune, commune) == 0)
            j->dropped = 1;
    pthread_mutex_unlock(&b->mu);
    pdb_status st = write_built(ctx, b, 1, MAX_PENDING - 1);
    if (st != PDB_OK)
        return st;
    bg_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    snprintf(j->job.commune, sizeof j->job.commune, "%s", commune); /* read by the builder */
    pthread_mutex_lock(&b->mu);
    if (b->tail != NULL)
        b->tail->next = j;
    else
        b->head = j;
    b->tail = j;
    if (b->to_build == NULL)
        b->to_build = j;
    b->pending++;
    pthread_cond_signal(&b->work);
    pthread_mutex_unlock(&b->mu);
    return pdb__ok(ctx);
}

pdb_status pdb_overview_builder_finish(pdb_ctx *ctx, pdb_overview_builder *b,
                                       pdb_overview_report *rep)
{
    if (rep != NULL)
        memset(rep, 0, sizeof *rep);
    if (b == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no overview builder");
    pdb_status st = b->deferred ? PDB_OK : write_built(ctx, b, 1, 0);
    /* One new data version for all the communes written, each stamped
     * with it, as one pdb_overview_rebuild of them would: caches drop
     * their tiles drawn from parcels meanwhile, and both stores count
     * versions alike. */
    if (st == PDB_OK && b->nwritten > 0 &&
        (st = pdb__store_exec(ctx, b->store, "BEGIN IMMEDIATE")) == PDB_OK) {
        for (size_t i = 0; i < b->nwritten && st == PDB_OK; i++)
            st = pdb__commune_stamp(ctx, b->store, b->written[i]);
        if (st == PDB_OK)
            st = pdb__store_exec(ctx, b->store,
                                 "UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                                 "WHERE key = 'data_version'");
        if (st == PDB_OK)
            st = pdb__store_exec(ctx, b->store, "COMMIT");
        if (st != PDB_OK)
            sqlite3_exec(b->store->db, "ROLLBACK", NULL, NULL, NULL);
        else
            b->nwritten = 0;
    }
    if (rep != NULL)
        *rep = b->rep;
    return st == PDB_OK ? pdb__ok(ctx) : st;
}

void pdb_overview_builder_free(pdb_overview_builder *b)
{
    if (b == NULL)
        return;
    if (b->started) {
        pthread_mutex_lock(&b->mu);
        b->quit = 1;
        pthread_cond_broadcast(&b->work);
        pthread_mutex_unlock(&b->mu);
        pthread_join(b->thread, NULL);
    }
    while (b->head != NULL) { /* never written: those communes stay stale */
        bg_job *j = b->head;
        b->head = j->next;
        pdb__ov_job_clear(&j->job);
        free(j);
    }
    free(b->written);
    pdb_store_close(b->reader);
    pdb_ctx_free(b->bctx);
    pthread_cond_destroy(&b->built);
    pthread_cond_destroy(&b->work);
    pthread_mutex_destroy(&b->mu);
    free(b);
}
