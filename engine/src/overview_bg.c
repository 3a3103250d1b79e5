/*
 * overview_bg.c: overviews built beside an import (pdb_overview_builder),
 * so that the dissolving and simplifying of one commune (about as much
 * CPU as its load) runs on the core the load leaves idle, instead of in
 * a pass of its own after the last commune.
 *
 * The calling thread, the store handle's only user, reads a committed
 * commune's parcels (pdb__ov_read_job) and queues the job; one builder
 * thread, with its own context, builds the jobs in order
 * (pdb__ov_build); the calling thread writes each built job, in a write
 * transaction of its own, at its next call (pdb__ov_write_one, the
 * rebuild's own writing, so that the outcome per commune is a rebuild's).
 * Ordering keeps the stale marks true: a commune handed again (loaded
 * again since) drops its queued job before anything is written, so that
 * no job clears the mark of data it did not read. A queue of at most
 * MAX_PENDING jobs bounds the memory: the caller waits when it is full.
 */
#include "overview.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Jobs read and not yet written; with one builder, two ahead keep it busy. */
#define MAX_PENDING 3

typedef struct bg_job {
    pdb__ov_job job;     /* what is read, then built */
    int built;           /* the builder is done with it */
    int dropped;         /* the commune was handed again: not written */
    struct bg_job *next; /* the next job in reading order */
} bg_job;

struct pdb_overview_builder {
    pdb_store *store;        /* the caller's handle: read and written on its thread only */
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
    pdb_limits limits;       /* the caller's limits, for the builder's context */
    pdb_overview_report rep; /* what was written so far */
};

static void *builder_main(void *arg)
{
    pdb_overview_builder *b = arg;
    pdb_ctx *ctx = NULL;
    if (pdb_ctx_new(&ctx) == PDB_OK)
        ctx->limits = b->limits;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->quit && b->to_build == NULL)
            pthread_cond_wait(&b->work, &b->mu);
        if (b->quit)
            break;
        bg_job *j = b->to_build;
        b->to_build = j->next;
        int skip = j->dropped;
        pthread_mutex_unlock(&b->mu);
        if (ctx == NULL) {
            j->job.st = PDB_ENOMEM;
            strcpy(j->job.msg, "out of memory for the overview builder's context");
        } else if (!skip && j->job.st == PDB_OK) {
            pdb__ov_build(ctx, &j->job);
        }
        pthread_mutex_lock(&b->mu);
        j->built = 1;
        pthread_cond_broadcast(&b->built);
    }
    pthread_mutex_unlock(&b->mu);
    pdb_ctx_free(ctx);
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
    b->limits = ctx->limits;
    b->deferred = s->pg != NULL;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->work, NULL);
    pthread_cond_init(&b->built, NULL);
    /* No thread (a process at its limit): every commune is left stale,
     * for the rebuild after the import, as before builders existed. */
    if (!b->deferred && pthread_create(&b->thread, NULL, builder_main, b) == 0)
        b->started = 1;
    else
        b->deferred = 1;
    *out = b;
    return pdb__ok(ctx);
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
    if (!j->dropped) {
        size_t before = b->rep.rebuilt + b->rep.failed;
        if ((st = pdb__store_exec(ctx, s, "BEGIN IMMEDIATE")) == PDB_OK) {
            st = pdb__ov_write_one(ctx, s, &j->job, &b->rep);
            /* A new data version for the commune's new state, the one it
             * was stamped with (pdb_overview_rebuild does the same). */
            if (st == PDB_OK && b->rep.rebuilt + b->rep.failed > before)
                st = pdb__store_exec(ctx, s,
                                     "UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                                     "WHERE key = 'data_version'");
            if (st == PDB_OK)
                st = pdb__store_exec(ctx, s, "COMMIT");
            if (st != PDB_OK)
                sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        }
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
    if ((st = pdb__ov_read_job(ctx, b->store, commune, &j->job)) != PDB_OK) {
        pdb__ov_job_clear(&j->job);
        free(j);
        return st;
    }
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
    pthread_cond_destroy(&b->built);
    pthread_cond_destroy(&b->work);
    pthread_mutex_destroy(&b->mu);
    free(b);
}
