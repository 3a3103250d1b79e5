/*
 * metrics.c: counters and the Prometheus text format. Counters are relaxed
 * atomics: a scrape may see one request counted in "requests" and not yet
 * in "latency", which Prometheus tolerates.
 */
#include "metrics.h"

#include "disk.h"
#include "parceldb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int status_codes[PDB_SRV_STATUS_SLOTS - 1] = {200, 204, 304, 400, 401, 404, 405, 413,
                                                           414, 429, 431, 500, 503, 0,   0};

/* Upper bounds of the latency buckets, microseconds. */
static const uint64_t bucket_us[PDB_SRV_LATENCY_BUCKETS] = {
    100,   250,   500,    1000,   2500,    5000,    10000,
    25000, 50000, 100000, 250000, 1000000, 5000000, 30000000};

void pdb_srv_metrics_init(pdb_srv_metrics *m)
{
    memset(m, 0, sizeof *m); /* all-zero bits are zero-valued atomics on our targets */
}

static int status_slot(int status)
{
    for (int i = 0; i < PDB_SRV_STATUS_SLOTS - 1; i++)
        if (status_codes[i] == status && status != 0)
            return i;
    return PDB_SRV_STATUS_SLOTS - 1;
}

void pdb_srv_metrics_request(pdb_srv_metrics *m, pdb_srv_route route, int status,
                             uint64_t elapsed_us, size_t body_bytes)
{
    int b = 0;
    if ((unsigned)route >= PDB_SRV_ROUTE_COUNT)
        route = PDB_SRV_ROUTE_OTHER;
    while (b < PDB_SRV_LATENCY_BUCKETS && elapsed_us > bucket_us[b])
        b++;
    atomic_fetch_add_explicit(&m->requests[route][status_slot(status)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency[route][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_sum_us[route], elapsed_us, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->bytes_sent, body_bytes, memory_order_relaxed);
}

#define LOAD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))

/* The names of the engine's pdb_overview_state values. */
static const char *const overview_states[] = {
    [PDB_OVERVIEW_STATE_FRESH] = "fresh",
    [PDB_OVERVIEW_STATE_STALE] = "stale",
    [PDB_OVERVIEW_STATE_FAILED] = "failed",
    [PDB_OVERVIEW_STATE_FALLBACK] = "fallback",
};
#define OVERVIEW_STATES (sizeof overview_states / sizeof overview_states[0])

/* The communes' overview states: a labelled gauge per commune not fresh
 * (stale: imported since the last rebuild; failed: the rebuild failed and
 * it is drawn from its parcels; fallback: built the heavier way), totals
 * per state, and the older stale gauges (a commune without built
 * overviews: stale or failed), kept for the dashboards that use them. */
static void overview_gauges(FILE *f, const pdb_srv_gauges *g)
{
    size_t per_state[OVERVIEW_STATES] = {0}, nstale = 0;

    fputs("# HELP parceldb_commune_overviews 1 for a commune whose low-zoom overviews are not "
          "fresh, by state (stale, failed, fallback).\n"
          "# TYPE parceldb_commune_overviews gauge\n",
          f);
    for (size_t i = 0; i < g->ncommunes; i++) {
        int s = g->communes[i].overview_state;
        if (s < 0 || (size_t)s >= OVERVIEW_STATES)
            continue; /* a state this server does not know: not guessed at */
        per_state[s]++;
        if (s != PDB_OVERVIEW_STATE_FRESH)
            fprintf(f, "parceldb_commune_overviews{commune=\"%s\",state=\"%s\"} 1\n",
                    g->communes[i].code, overview_states[s]);
    }
    fputs("# HELP parceldb_communes_overviews Communes by the state of their low-zoom "
          "overviews.\n# TYPE parceldb_communes_overviews gauge\n",
          f);
    for (size_t s = 0; s < OVERVIEW_STATES; s++)
        fprintf(f, "parceldb_communes_overviews{state=\"%s\"} %zu\n", overview_states[s],
                per_state[s]);

    fputs("# HELP parceldb_commune_overviews_stale 1 for a commune whose low-zoom overviews are "
          "stale.\n# TYPE parceldb_commune_overviews_stale gauge\n",
          f);
    for (size_t i = 0; i < g->ncommunes; i++)
        if (g->communes[i].overview_fresh == 0) {
            fprintf(f, "parceldb_commune_overviews_stale{commune=\"%s\"} 1\n", g->communes[i].code);
            nstale++;
        }
    fprintf(f,
            "# HELP parceldb_communes_overviews_stale Communes whose low-zoom overviews are "
            "stale.\n# TYPE parceldb_communes_overviews_stale gauge\n"
            "parceldb_communes_overviews_stale %zu\n",
            nstale);
}

char *pdb_srv_metrics_text(const pdb_srv_metrics *cm, const pdb_srv_gauges *g, size_t *len)
{
    pdb_srv_metrics *m = (pdb_srv_metrics *)cm; /* atomic loads take non-const pointers */
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (f == NULL)
        return NULL;

    fputs("# HELP parceldb_http_requests_total HTTP requests answered, by route and status.\n"
          "# TYPE parceldb_http_requests_total counter\n",
          f);
    for (int r = 0; r < PDB_SRV_ROUTE_COUNT; r++)
        for (int s = 0; s < PDB_SRV_STATUS_SLOTS; s++) {
            unsigned long long v = LOAD(m->requests[r][s]);
            if (v == 0)
                continue;
            if (s == PDB_SRV_STATUS_SLOTS - 1)
                fprintf(f, "parceldb_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                        pdb_srv_route_name((pdb_srv_route)r), v);
            else
                fprintf(f, "parceldb_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                        pdb_srv_route_name((pdb_srv_route)r), status_codes[s], v);
        }

    fputs("# HELP parceldb_http_request_duration_seconds Time from the request line to the "
          "last byte handed to the kernel.\n"
          "# TYPE parceldb_http_request_duration_seconds histogram\n",
          f);
    for (int r = 0; r < PDB_SRV_ROUTE_COUNT; r++) {
        unsigned long long cum = 0;
        const char *name = pdb_srv_route_name((pdb_srv_route)r);
        for (int b = 0; b <= PDB_SRV_LATENCY_BUCKETS; b++)
            cum += LOAD(m->latency[r][b]);
        if (cum == 0)
            continue;
        unsigned long long total = cum;
        cum = 0;
        for (int b = 0; b < PDB_SRV_LATENCY_BUCKETS; b++) {
            cum += LOAD(m->latency[r][b]);
            fprintf(f,
                    "parceldb_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} "
                    "%llu\n",
                    name, bucket_us[b] / 1e6, cum);
        }
        fprintf(f, "parceldb_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                name, total);
        fprintf(f, "parceldb_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", name,
                LOAD(m->latency_sum_us[r]) / 1e6);
        fprintf(f, "parceldb_http_request_duration_seconds_count{route=\"%s\"} %llu\n", name,
                total);
    }

    fputs("# HELP parceldb_http_thread_connections Connections open on each HTTP thread "
          "(the acceptor gives each new one to the thread with the fewest).\n"
          "# TYPE parceldb_http_thread_connections gauge\n",
          f);
    unsigned nthreads = atomic_load(&m->http_threads);
    for (unsigned i = 0; i < nthreads && i < PDB_SRV_HTTP_THREADS_MAX; i++)
        fprintf(f, "parceldb_http_thread_connections{thread=\"%u\"} %u\n", i,
                atomic_load(&m->thread_connections[i]));

    struct {
        const char *name, *type, *help;
        double value;
    } rows[] = {
        {"parceldb_http_response_bytes_total", "counter", "Response body bytes sent.",
         (double)LOAD(m->bytes_sent)},
        {"parceldb_http_requests_in_flight", "gauge", "Requests being answered.",
         (double)atomic_load_explicit(&m->inflight, memory_order_relaxed)},
        {"parceldb_http_not_modified_total", "counter", "304 answers to If-None-Match.",
         (double)LOAD(m->not_modified)},
        {"parceldb_http_rate_limited_total", "counter", "429 answers.",
         (double)LOAD(m->rate_limited)},
        {"parceldb_tiles_rendered_total", "counter", "Tiles rendered and encoded.",
         (double)LOAD(m->tiles_rendered)},
        {"parceldb_tile_render_failures_total", "counter", "Tile renders that failed.",
         (double)LOAD(m->render_failures)},
        {"parceldb_tile_render_wait_timeouts_total", "counter",
         "503 answers to requests that waited longer than --render-wait-ms for another "
         "request's render of the same tile.",
         (double)LOAD(m->wait_timeouts)},
        {"parceldb_tile_render_seconds_total", "counter", "Time spent rendering and encoding.",
         LOAD(m->render_us) / 1e6},
        {"parceldb_tile_cache_hits_total", "counter", "Tiles answered from memory.",
         (double)g->cache_hits},
        {"parceldb_tile_cache_misses_total", "counter", "Tiles not in memory.",
         (double)g->cache_misses},
        {"parceldb_tile_cache_evictions_total", "counter", "Tiles dropped from memory for room.",
         (double)g->cache_evictions},
        {"parceldb_tile_cache_invalidated_total", "counter",
         "Tiles dropped from memory because their data changed.", (double)g->cache_invalidated},
        {"parceldb_tile_cache_entries", "gauge", "Tiles held in memory.", (double)g->cache_entries},
        {"parceldb_tile_cache_bytes", "gauge", "Bytes held by the memory tile cache.",
         (double)g->cache_bytes},
        {"parceldb_tile_cache_max_bytes", "gauge", "The memory tile cache's bound.",
         (double)g->cache_max_bytes},
        {"parceldb_lookup_index_communes", "gauge",
         "Communes the point-lookup index holds in memory.", (double)g->lookup_communes},
        {"parceldb_lookup_index_bytes", "gauge",
         "Bytes the point-lookup index holds in memory (shared by all workers).",
         (double)g->lookup_bytes},
        {"parceldb_tile_disk_hits_total", "counter", "Tiles read from the disk cache.",
         (double)LOAD(m->disk_hits)},
        {"parceldb_tile_disk_writes_total", "counter", "Tiles written to the disk cache.",
         (double)LOAD(m->disk_writes)},
        {"parceldb_tile_disk_bytes", "gauge", "Bytes under the disk cache (counted under a limit).",
         (double)pdb_srv_disk_bytes()},
        {"parceldb_tile_disk_evictions_total", "counter",
         "Tiles removed from the disk cache for room.", (double)pdb_srv_disk_evictions()},
        {"parceldb_data_changes_total", "counter",
         "Committed imports picked up (data version changes).", (double)LOAD(m->invalidations)},
        {"parceldb_data_version", "gauge", "The store's data version as last seen.",
         (double)g->data_version},
        {"parceldb_store_age_seconds", "gauge",
         "Seconds since the store file was last written (NaN for a PostgreSQL store: no file).",
         g->store_age_s},
        {"parceldb_reloads_total", "counter", "SIGHUP reloads.", (double)LOAD(m->reloads)},
        {"parceldb_tokens", "gauge", "Bearer tokens loaded.", (double)g->tokens},
        {"parceldb_uptime_seconds", "gauge", "Seconds since the server started.", g->uptime_s},
        {"parceldb_draining", "gauge", "1 while the server drains before exiting.",
         (double)g->draining},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s ", rows[i].name, rows[i].help, rows[i].name,
                rows[i].type, rows[i].name);
        /* The exposition format spells an unknown value NaN, not C's "nan". */
        if (isnan(rows[i].value))
            fputs("NaN\n", f);
        else
            fprintf(f, "%.17g\n", rows[i].value);
    }
    overview_gauges(f, g);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}
