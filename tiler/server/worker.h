/*
 * worker.h: the per-thread workers that answer requests: each has its own
 * engine context, read-only store connection and renderer, made on the
 * thread's first request and remade when a reload or a replaced store
 * asks for it.
 */
#ifndef PDB_SRV_WORKER_H
#define PDB_SRV_WORKER_H

#include "conf.h"

#include "parceldb.h"
#include "tiler.h"

#include <stddef.h>

typedef struct pdb_srv pdb_srv;

/* One per thread that answers requests, created on its first request. */
typedef struct pdb_srv_worker {
    pdb_srv *srv;            /* the server */
    pdb_ctx *ctx;            /* this thread's engine context */
    pdbt_ctx *tctx;          /* this thread's renderer context, on ctx */
    pdb_store *store;        /* this thread's read-only connection, or NULL */
    unsigned store_gen;      /* srv->store_gen when it was opened */
    pdb_srv_conf *conf;      /* the configuration this thread uses (a reference) */
    unsigned conf_gen;       /* srv->conf_gen of conf */
    pdbt_renderer *renderer; /* made with tctx, store and conf->style, or NULL */
    int64_t dv;              /* the store's data version as this thread last read it */
    int64_t dv_read_ns;      /* when (CLOCK_MONOTONIC_COARSE), 0 for never */
    uint64_t open_failed_us; /* when opening the store last failed (pdb_srv_now_us), 0: never */
    char open_error[256];    /* why it failed, answered until the next attempt */
} pdb_srv_worker;

/* The store's data version for a tile request: read from the store at most
 * every PDB_SRV_DV_FRESH_MS per thread, and again at once when any thread
 * has seen a newer one (srv->seen_version moved), so that a commit reaches
 * every thread within that window or with the first request that reads
 * it. Reading it was 15% of a cached tile's instructions (a read
 * transaction, two fcntl and an fstat). PDB_OK, or the engine's failure;
 * with the database unreachable (PDB_EIO), the version last read when
 * there is one. */
#define PDB_SRV_DV_FRESH_MS 20
pdb_status pdb_srv_worker_data_version(pdb_srv_worker *w, int64_t *dv);

/* The calling thread's worker, made on first use; NULL when out of memory. */
pdb_srv_worker *pdb_srv_worker_get(pdb_srv *srv);
/* Opens the worker's store (and renderer) when needed; 0, or -1 with the
 * reason in msg. A failed open is tried again at most once per
 * PDB_SRV_REOPEN_MS: a database that is down is not asked for a
 * connection per request. */
#define PDB_SRV_REOPEN_MS 1000
int pdb_srv_worker_ready(pdb_srv_worker *w, int need_renderer, char *msg, size_t cap);
/* Records whether the database answered: NULL when it did, else the
 * engine's message of the failure; /health reports the state, the message
 * and since when it has been unreachable. */
void pdb_srv_db_state(pdb_srv *srv, const char *error);
/* After a failed store call: a handle that lost its database (PDB_EIO)
 * stays, since it reconnects by itself and keeps the communes its lookup
 * index loaded, and the state goes to /health; after any other failure
 * (busy, damaged, replaced) the next request reopens the store. */
void pdb_srv_worker_store_failed(pdb_srv_worker *w);
/* Drops the worker's store so that the next request reopens it. */
void pdb_srv_worker_reset_store(pdb_srv_worker *w);
/* Frees a worker (the thread-exit destructor of srv->worker_key). */
void pdb_srv_worker_free(void *w);

#endif
