/*
 * metrics.h: the server's counters and latency histograms, lock-free
 * (relaxed atomics), and their Prometheus text exposition (version 0.0.4).
 */
#ifndef PDB_SRV_METRICS_H
#define PDB_SRV_METRICS_H

#include "changes.h"
#include "parse.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define PDB_SRV_STATUS_SLOTS 16    /* the statuses we count one by one, and "other" */
#define PDB_SRV_LATENCY_BUCKETS 14 /* finite histogram buckets; +Inf is implied */
#define PDB_SRV_LATENCY_SLOTS (PDB_SRV_LATENCY_BUCKETS + 1) /* and the one over the last */

typedef struct pdb_srv_metrics {
    atomic_uint_fast64_t requests[PDB_SRV_ROUTE_COUNT][PDB_SRV_STATUS_SLOTS]; /* by route, status */
    atomic_uint_fast64_t latency[PDB_SRV_ROUTE_COUNT][PDB_SRV_LATENCY_SLOTS]; /* per bucket */
    atomic_uint_fast64_t latency_sum_us[PDB_SRV_ROUTE_COUNT];                 /* microseconds */
    atomic_uint_fast64_t bytes_sent;      /* response body bytes */
    atomic_uint_fast64_t tiles_rendered;  /* renders that produced a tile */
    atomic_uint_fast64_t render_failures; /* renders that failed */
    atomic_uint_fast64_t wait_timeouts;   /* 503s: a wait for another render past the deadline */
    atomic_uint_fast64_t render_us;       /* microseconds spent rendering and encoding */
    atomic_uint_fast64_t disk_hits;       /* tiles read from the disk cache */
    atomic_uint_fast64_t disk_writes;     /* tiles written to the disk cache */
    atomic_uint_fast64_t not_modified;    /* 304 answers */
    atomic_uint_fast64_t rate_limited;    /* 429 answers */
    atomic_uint_fast64_t invalidations;   /* data changes processed */
    atomic_uint_fast64_t reloads;         /* SIGHUP reloads */
    atomic_int_fast64_t inflight;         /* requests being answered */
    atomic_uint http_threads;             /* HTTP threads (http.c), at most the next */
#define PDB_SRV_HTTP_THREADS_MAX 256
    atomic_uint thread_connections[PDB_SRV_HTTP_THREADS_MAX]; /* open, per HTTP thread */
} pdb_srv_metrics;

/* Values sampled when the text is written. */
typedef struct pdb_srv_gauges {
    int64_t data_version;                  /* the store's data version the server last saw */
    double store_age_s;                    /* seconds since the store file was last written */
    double uptime_s;                       /* seconds since start */
    uint64_t cache_hits;                   /* memory cache hits */
    uint64_t cache_misses;                 /* memory cache misses */
    uint64_t cache_evictions;              /* tiles dropped for room */
    uint64_t cache_invalidated;            /* tiles dropped because their data changed */
    size_t cache_entries;                  /* tiles in memory */
    size_t cache_bytes;                    /* bytes in memory */
    size_t cache_max_bytes;                /* the memory bound */
    size_t tokens;                         /* bearer tokens loaded */
    size_t lookup_communes;                /* communes the point-lookup index holds in memory */
    size_t lookup_bytes;                   /* their bytes (pdb_lookup_index_memory) */
    int draining;                          /* 1 while shutting down */
    const pdb_srv_commune_state *communes; /* the store's communes as last read, or NULL */
    size_t ncommunes;                      /* entries of communes */
} pdb_srv_gauges;

void pdb_srv_metrics_init(pdb_srv_metrics *m);

/* Counts one answered request. */
void pdb_srv_metrics_request(pdb_srv_metrics *m, pdb_srv_route route, int status,
                             uint64_t elapsed_us, size_t body_bytes);

/* The exposition text (caller frees), or NULL when out of memory. */
char *pdb_srv_metrics_text(const pdb_srv_metrics *m, const pdb_srv_gauges *g, size_t *len);

#endif
