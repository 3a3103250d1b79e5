/*
 * srv.h: what the server's modules share: the server state, the per-thread
 * worker (engine context, store connection, renderer), the reloadable
 * configuration, and the socket-free request/response pair that the
 * handlers fill and http.c (the one file with sockets) sends.
 */
#ifndef PDB_SRV_H
#define PDB_SRV_H

#include "auth.h"
#include "cache.h"
#include "changes.h"
#include "conf.h"
#include "disk.h"
#include "metrics.h"
#include "parse.h"
#include "ratelimit.h"
#include "server.h"
#include "webfiles.h"

#include "parceldb.h"
#ifdef PDB_SRV_HAVE_TILER
#include "tiler.h"
#else
typedef struct pdb_style pdb_style;
typedef struct pdb_renderer pdb_renderer;
#endif

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define PDB_SRV_ERRMAX 512            /* bytes of a message */
#define PDB_SRV_MAX_HEADER_BYTES 8192 /* request header names and values together */
#define PDB_SRV_MAX_HEADERS 64        /* request header lines */
#define PDB_SRV_RENDER_WAIT_MS 30000  /* waiting for another thread's render of a tile */
#define PDB_SRV_DEFAULT_LIMIT 100     /* features per /parcels?bbox= page by default */
#define PDB_SRV_MAX_OFFSET 1000000    /* deepest /parcels?bbox= offset */

typedef struct pdb_srv pdb_srv;

/* One per thread that answers requests, created on its first request. */
typedef struct pdb_srv_worker {
    pdb_srv *srv;           /* the server */
    pdb_ctx *ctx;           /* this thread's engine context */
    pdb_store *store;       /* this thread's read-only connection, or NULL */
    unsigned store_gen;     /* srv->store_gen when it was opened */
    pdb_srv_conf *conf;     /* the configuration this thread uses (a reference) */
    unsigned conf_gen;      /* srv->conf_gen of conf */
    pdb_renderer *renderer; /* made with ctx, store and conf->style, or NULL */
} pdb_srv_worker;

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

    pthread_mutex_t empty_lock; /* guards empty_png */
    pdb_srv_blob *empty_png[2]; /* the tile of a place without parcels, per scale */
    uint64_t empty_style[2];    /* the style each was rendered with */
};

/* The socket-free view of a request that handlers see. */
typedef struct pdb_srv_in {
    const char *method;        /* "GET", "HEAD" or "OPTIONS" */
    const char *uri;           /* raw request target, with its query */
    const char *if_none_match; /* header or NULL */
    const char *authorization; /* header or NULL */
    const char *host;          /* header or NULL */
} pdb_srv_in;

/* What a handler answers; http.c turns it into a response. */
typedef struct pdb_srv_response {
    int status;                   /* HTTP status */
    const char *content_type;     /* NULL for no body */
    const void *body;             /* bytes, or NULL */
    size_t len;                   /* bytes in body */
    void (*release)(void *cls);   /* frees body once sent (may be NULL) */
    void *release_cls;            /* its argument */
    char etag[80];                /* quoted entity tag, or "" */
    const char *cache_control;    /* or NULL */
    const char *vary;             /* or NULL */
    const char *allow;            /* for 405 */
    const char *www_authenticate; /* for 401 */
    int retry_after_s;            /* > 0: a Retry-After header */
    int close;                    /* 1: close the connection afterwards */
    pdb_srv_route route;          /* for logs and metrics */
} pdb_srv_response;

/* server.c */
pdb_srv_worker *pdb_srv_worker_get(pdb_srv *srv);
/* Opens the worker's store (and renderer) when needed; 0, or -1 with the
 * reason in msg. */
int pdb_srv_worker_ready(pdb_srv_worker *w, int need_renderer, char *msg, size_t cap);
/* Drops the worker's store so that the next request reopens it. */
void pdb_srv_worker_reset_store(pdb_srv_worker *w);
double pdb_srv_store_age_s(const pdb_srv *srv);
/* Brings the change log and the caches up to the store's data version
 * (read through w). Returns 0, or -1 with a reason in msg. */
int pdb_srv_sync_version(pdb_srv *srv, pdb_srv_worker *w, int64_t version, char *msg, size_t cap);
/* Starts a change log at version: resumed from the disk cache's state
 * when it describes this store file, else fresh (a new epoch). Shared by
 * the server and seeding, so both agree on tile versions. 0 or -1 (no
 * memory). */
int pdb_srv_changes_start(pdb_srv_changes *c, pdb_srv_disk *disk, const char *db_path,
                          int64_t version, const pdb_srv_commune_state *rows, size_t n);
/* Reads the store's communes (rows and overview states) and its data
 * version in one consistent view. 0, or -1 with the reason in msg. */
int pdb_srv_read_communes(pdb_ctx *ctx, pdb_store *store, int64_t *version,
                          pdb_srv_commune_state **rows, size_t *n, char *msg, size_t cap);
/* Converts the store's communes to the change log's rows (caller frees). */
pdb_srv_commune_state *pdb_srv_commune_rows(const pdb_commune_list *list, size_t *n);
uint64_t pdb_srv_now_us(void);

/* handlers.c */
void pdb_srv_handle(pdb_srv *srv, const pdb_srv_in *in, pdb_srv_response *out);
/* Fills out with a JSON error {"error": "..."}. */
void pdb_srv_error(pdb_srv_response *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A body of malloc'd bytes (released with free). */
void pdb_srv_body_malloced(pdb_srv_response *out, const char *type, void *body, size_t len);
/* A body of a blob (a reference is taken). */
void pdb_srv_body_blob(pdb_srv_response *out, const char *type, pdb_srv_blob *b);
void pdb_srv_release_blob(void *cls);

/* tiles.c */
void pdb_srv_handle_tile(pdb_srv *srv, pdb_srv_worker *w, const pdb_srv_in *in,
                         const pdb_srv_request *req, pdb_srv_response *out);
/* Renders one tile into PNG bytes with the worker's renderer; NULL with a
 * reason in msg on failure. */
pdb_srv_blob *pdb_srv_render_png(pdb_srv_worker *w, int z, uint32_t x, uint32_t y, int scale,
                                 char *msg, size_t cap);
/* The label buffer the renderer uses, in pixels at scale 1. */
double pdb_srv_render_buffer_px(void);

/* http.c: the one file with sockets. Runs the daemon until the server
 * loop asks it to stop; see server.c. */
typedef struct pdb_srv_http pdb_srv_http;
int pdb_srv_http_start(pdb_srv *srv, pdb_srv_http **out, unsigned *port, char *msg, size_t cap);
/* Stops accepting connections (the listening socket closes). */
void pdb_srv_http_quiesce(pdb_srv_http *h);
/* Closes every connection and joins the threads. */
void pdb_srv_http_stop(pdb_srv_http *h);

#endif
