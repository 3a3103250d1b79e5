/*
 * srv.h: the server's state, shared by the modules that run it (server.c,
 * worker.c, sync.c, handlers.c, tiles.c). Each module's functions are in
 * its own header; this one declares none.
 */
#ifndef PDB_SRV_H
#define PDB_SRV_H

#include "cache.h"
#include "changes.h"
#include "conf.h"
#include "metrics.h"
#include "parse.h"
#include "ratelimit.h"
#include "server.h"
#include "util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define PDB_SRV_MAX_HEADER_BYTES 8192 /* request header names and values together */
#define PDB_SRV_MAX_HEADERS 64        /* request header lines */
#define PDB_SRV_DEFAULT_LIMIT 100     /* features per /parcels?bbox= page by default */
#define PDB_SRV_MAX_OFFSET 1000000    /* deepest /parcels?bbox= offset */

typedef struct pdb_srv pdb_srv;

struct pdb_srv {
    pdb_srv_options opt;          /* as given (strings borrowed from the caller) */
    pdb_srv_parse_limits limits;  /* for the parser */
    pdb_srv_metrics metrics;      /* counters */
    pdb_srv_cache *cache;         /* memory tile cache */
    pdb_srv_ratelimit *ratelimit; /* per-address limit, or NULL */
    struct timespec started;      /* CLOCK_MONOTONIC at start */
    time_t started_wall;          /* wall clock at start */
    pthread_key_t worker_key;     /* thread -> pdb_srv_worker, freed at thread exit */

    pthread_mutex_t conf_lock; /* guards conf (the pointer) */
    pdb_srv_conf *conf;        /* current configuration (one reference) */
    atomic_uint conf_gen;      /* bumped on every reload */
    atomic_uint store_gen;     /* bumped to make workers reopen their store */

    pthread_mutex_t sync_lock;        /* one thread at a time moves the change log */
    pthread_rwlock_t changes_lock;    /* guards changes and data_bounds */
    pdb_srv_changes changes;          /* what changed where (changes.h) */
    double data_bounds[4];            /* WGS 84 box of all parcels; NAN when empty */
    atomic_int_fast64_t seen_version; /* data version the cache agrees with */
    atomic_int_fast64_t seen_epoch;   /* changes.epoch, for lock-free ETags */

    atomic_int draining; /* 1 after SIGTERM */

    pthread_mutex_t pool_lock; /* guards pool and pool_n */
    pdb_store **pool;          /* handles opened at start, each taken by a worker's first request */
    size_t pool_n;             /* handles left in pool */

    pthread_mutex_t db_lock; /* guards db_down_since and db_error */
    time_t db_down_since;    /* wall clock of the first failure of a run of them; 0: reachable */
    char db_error[256];      /* the engine's message of the last failure while unreachable */

    pthread_mutex_t empty_lock; /* guards empty_png */
    pdb_srv_blob *empty_png[2]; /* the tile of a place without parcels, per scale */
    uint64_t empty_style[2];    /* the style each was rendered with */

    struct pdb_srv_pmtiles *pmtiles; /* serve --pmtiles: the archive, and no store; or NULL */
};

#endif
