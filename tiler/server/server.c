/*
 * server.c: the server's life: start-up in the order that privileges need
 * (conf.h, privileges.h), the signal loop (SIGHUP reloads, SIGTERM drains
 * and exits) and the once-a-second check of the store.
 *
 * Signals are blocked in every thread (the HTTP threads inherit the mask)
 * and taken synchronously by the main thread with sigtimedwait(), so no
 * work ever happens inside a signal handler.
 */
#include "srv.h"

#include "http.h"
#include "log.h"
#include "pmtiles_route.h"
#include "privileges.h"
#include "storefile.h"
#include "sync.h"
#include "tiles.h"
#include "util.h"
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* reopen 0: keep the store connections (a replaced store that cannot be
 * opened safely, see drop_replaced_wal). */
static void reload(pdb_srv *srv, int reopen)
{
    char msg[PDB_SRV_ERRMAX];
    pdb_srv_conf *c = NULL, *old;

    if (pdb_srv_conf_load(&srv->opt, srv->conf, &c, msg, sizeof msg) != 0 ||
        pdb_srv_conf_open_disk(c, &srv->opt, msg, sizeof msg) != 0) {
        pdb_srv_conf_unref(c);
        pdb_srv_say("reload failed, keeping the running configuration: %s", msg);
        return;
    }
    pthread_mutex_lock(&srv->conf_lock);
    old = srv->conf;
    srv->conf = c;
    atomic_fetch_add(&srv->conf_gen, 1);
    if (reopen)
        atomic_fetch_add(&srv->store_gen, 1);
    pthread_mutex_unlock(&srv->conf_lock);
    if (old->style_hash != c->style_hash)
        pdb_srv_cache_clear(srv->cache);
    atomic_fetch_add(&srv->metrics.reloads, 1);
    pdb_srv_say("reloaded: style %016llx, %zu token(s), %zu demo file(s); %s",
                (unsigned long long)c->style_hash, pdb_srv_tokens_count(c->tokens),
                c->web ? c->web->count : 0,
                reopen         ? "stores reopen"
                : srv->pmtiles ? "no store (--pmtiles): the archive kept"
                               : "stores kept (see the warning)");
    pdb_srv_conf_unref(old);
}

static void srv_free(pdb_srv *srv)
{
    pdb_srv_cache_free(srv->cache);
    pdb_srv_ratelimit_free(srv->ratelimit);
    pdb_srv_conf_unref(srv->conf);
    pdb_srv_changes_clear(&srv->changes);
    pthread_mutex_destroy(&srv->conf_lock);
    pthread_mutex_destroy(&srv->sync_lock);
    pthread_mutex_destroy(&srv->empty_lock);
    pthread_mutex_destroy(&srv->db_lock);
    for (size_t i = 0; i < srv->pool_n; i++)
        pdb_store_close(srv->pool[i]);
    free(srv->pool);
    pthread_mutex_destroy(&srv->pool_lock);
    pdb_srv_blob_unref(srv->empty_png[0]);
    pdb_srv_blob_unref(srv->empty_png[1]);
    pdb_srv_pmtiles_close(srv->pmtiles);
    pthread_rwlock_destroy(&srv->changes_lock);
    pthread_key_delete(srv->worker_key);
    free(srv);
}

/* Opens one store handle per worker thread before serving: a database
 * connection each on PostgreSQL, so that a replica holds exactly threads
 * + 1 connections (these and the main thread's) from its start, and one
 * that would pass the server's max_connections stops here, with one line,
 * instead of failing requests later. Says why and returns -1 on failure. */
static int open_pool(pdb_srv *srv, pdb_ctx *ctx)
{
    if ((srv->pool = calloc(srv->opt.threads, sizeof *srv->pool)) == NULL) {
        pdb_srv_say("out of memory");
        return -1;
    }
    for (unsigned i = 0; i < srv->opt.threads; i++) {
        if (pdb_store_open(ctx, srv->opt.db_path, PDB_OPEN_READONLY, &srv->pool[i]) != PDB_OK) {
            pdb_srv_say("cannot open store connection %u of %u (one per thread and one more; "
                        "--threads sets the threads): %s",
                        i + 2, srv->opt.threads + 1, pdb_errmsg(ctx));
            return -1;
        }
        srv->pool_n++;
    }
    return 0;
}

static int write_port_file(const char *path, unsigned port)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -1;
    return 0;
}

int pdb_srv_run(const pdb_srv_options *o)
{
    char msg[PDB_SRV_ERRMAX];
    pdb_srv *srv = calloc(1, sizeof *srv);
    pdb_srv_worker *main_worker = NULL;
    pdb_srv_http *http = NULL;
    pdb_srv_run_as ra;
    sigset_t sigs;
    unsigned port = 0;
    int rc = 1;

    if (srv == NULL) {
        pdb_srv_say("out of memory");
        return 1;
    }
    srv->opt = *o;
    if (srv->opt.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        srv->opt.threads = n > 0 && n < 256 ? (unsigned)n : 2;
    }
    if (srv->opt.max_zoom <= 0 || srv->opt.max_zoom > 24)
        srv->opt.max_zoom = srv->opt.max_zoom <= 0 ? 20 : 24;
    if (srv->opt.max_limit == 0)
        srv->opt.max_limit = 1000;
    srv->limits.max_zoom = srv->opt.max_zoom;
    pdb_srv_metrics_init(&srv->metrics);
    pthread_mutex_init(&srv->conf_lock, NULL);
    pthread_mutex_init(&srv->sync_lock, NULL);
    pthread_mutex_init(&srv->empty_lock, NULL);
    pthread_mutex_init(&srv->db_lock, NULL);
    pthread_mutex_init(&srv->pool_lock, NULL);
    pthread_rwlock_init(&srv->changes_lock, NULL);
    pthread_key_create(&srv->worker_key, pdb_srv_worker_free);
    clock_gettime(CLOCK_MONOTONIC, &srv->started);
    srv->started_wall = time(NULL);

    /* Block the signals before any thread starts, so that all inherit it. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Every file is read while the server may still read anything: a
     * style, token file or demo page only root can reach works (conf.h). */
    if (pdb_srv_conf_load(&srv->opt, NULL, &srv->conf, msg, sizeof msg) != 0) {
        pdb_srv_say("%s", msg);
        goto done;
    }
    if (pdb_srv_choose_user(&srv->opt, &ra, msg, sizeof msg) != 0 ||
        pdb_srv_conf_open_disk(srv->conf, &srv->opt, msg, sizeof msg) != 0) {
        pdb_srv_say("%s", msg);
        goto done;
    }
    if (srv->conf->disk != NULL) {
        size_t swept = pdb_srv_disk_sweep_tmp(srv->conf->disk);
        if (swept > 0)
            pdb_srv_say("removed %zu stale temporary tile file(s) from the disk cache", swept);
    }
    srv->cache = pdb_srv_cache_new(srv->opt.cache_mb << 20, pdb_srv_render_buffer_px());
    if (srv->cache == NULL) {
        pdb_srv_say("out of memory");
        goto done;
    }
    if (srv->opt.rate_limit > 0) {
        double burst = srv->opt.rate_burst > 0 ? srv->opt.rate_burst : 2 * srv->opt.rate_limit;
        if ((srv->ratelimit = pdb_srv_ratelimit_new(srv->opt.rate_limit, burst)) == NULL) {
            pdb_srv_say("out of memory");
            goto done;
        }
    }
    /* The main thread checks the store first, so that a bad path or a
     * file that is not a store stops the start with a clear line. */
    if ((main_worker = pdb_srv_worker_get(srv)) == NULL) {
        pdb_srv_say("out of memory");
        goto done;
    }
    if (srv->opt.pmtiles_path != NULL) {
        /* An archive and no store: nothing to open or follow but it. */
        if (pdb_srv_pmtiles_open(srv->opt.pmtiles_path, &srv->pmtiles, msg, sizeof msg) != 0) {
            pdb_srv_say("%s", msg);
            goto done;
        }
    } else if (pdb_srv_worker_ready(main_worker, 0, msg, sizeof msg) != 0) {
        if (ra.active)
            pdb_srv_say("as user %s, %s (that user must be able to read it, and to enter every "
                        "directory above it)",
                        ra.name, msg);
        else
            pdb_srv_say("%s", msg);
        goto done;
    }
    if (srv->pmtiles == NULL && pdb_srv_sync_start(srv, main_worker, msg, sizeof msg) != 0) {
        pdb_srv_say("%s", msg);
        goto done;
    }
    if (srv->pmtiles == NULL && open_pool(srv, main_worker->ctx) != 0)
        goto done;
    /* Root again only to bind the port (one below 1024 needs it), then
     * never again. */
    if (ra.active && seteuid(0) != 0) {
        pdb_srv_say("cannot regain root to bind the port: %s", strerror(errno));
        goto done;
    }
    if (pdb_srv_http_start(srv, &http, &port, msg, sizeof msg) != 0) {
        pdb_srv_say("%s", msg);
        goto done;
    }
    if (pdb_srv_become_user(&srv->opt, &ra, msg, sizeof msg) != 0) {
        pdb_srv_say("%s", msg);
        goto done;
    }
    if (srv->opt.port_file != NULL && write_port_file(srv->opt.port_file, port) != 0) {
        pdb_srv_say("%s: %s", srv->opt.port_file, strerror(errno));
        goto done;
    }
    {
        const char *l = srv->opt.listen;
        const char *colon = strrchr(l, ':');
        int hostlen = colon ? (int)(colon - l) : (int)strlen(l);
        char shown[4096];
        if (srv->pmtiles != NULL)
            pdb_srv_say("serving %s on http://%.*s:%u/ (%u threads, no store, uid %u)",
                        pdb_srv_pmtiles_describe(srv->pmtiles), hostlen, l, port, srv->opt.threads,
                        (unsigned)geteuid());
        else
            pdb_srv_say("serving %s on http://%.*s:%u/ (%u threads, data version %lld, %zu "
                        "token(s), uid %u)",
                        pdb_srv_store_shown(srv->opt.db_path, shown, sizeof shown), hostlen, l,
                        port, srv->opt.threads, (long long)atomic_load(&srv->seen_version),
                        pdb_srv_tokens_count(srv->conf->tokens), (unsigned)geteuid());
    }

    for (;;) {
        struct timespec tick = {1, 0};
        siginfo_t si;
        int sig = sigtimedwait(&sigs, &si, &tick);
        if (sig == SIGHUP) {
            /* A replaced store first: the reload reopens every connection. */
            int reopen = srv->pmtiles == NULL;
            if (reopen && pdb_srv_store_identity(srv->opt.db_path) != srv->changes.identity)
                reopen = pdb_srv_store_replaced(srv, main_worker) == 0;
            reload(srv, reopen);
            continue;
        }
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (srv->pmtiles != NULL)
            continue; /* no store to follow */
        /* Once a second: a store file replaced under the same name (a
         * restored backup, a rebuilt store moved into place) is another
         * store: every worker reopens it and no cached tile survives. */
        if (pdb_srv_store_identity(srv->opt.db_path) != srv->changes.identity)
            pdb_srv_store_replaced(srv, main_worker);
        /* And pick up committed imports even when no tile is asked for,
         * so that /metrics and the caches follow the store. */
        int64_t v;
        if (pdb_srv_worker_ready(main_worker, 0, msg, sizeof msg) == 0 &&
            pdb_store_data_version(main_worker->ctx, main_worker->store, &v) == PDB_OK) {
            pdb_srv_db_state(srv, NULL);
            pdb_srv_sync_version(srv, main_worker, v, msg, sizeof msg);
        } else {
            pdb_srv_db_state(srv, main_worker->store ? pdb_errmsg(main_worker->ctx) : msg);
            pdb_srv_worker_reset_store(main_worker);
        }
    }

    /* Drain: stop accepting, let the requests in flight finish. */
    atomic_store(&srv->draining, 1);
    pdb_srv_http_quiesce(http);
    pdb_srv_say("draining %lld request(s) in flight",
                (long long)atomic_load(&srv->metrics.inflight));
    uint64_t deadline = pdb_srv_now_us() + (uint64_t)srv->opt.drain_s * 1000000u;
    while (atomic_load(&srv->metrics.inflight) > 0 && pdb_srv_now_us() < deadline) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    long long left = (long long)atomic_load(&srv->metrics.inflight);
    pdb_srv_http_stop(http);
    http = NULL;
    if (left > 0)
        pdb_srv_say("stopped with %lld request(s) unfinished", left);
    else
        pdb_srv_say("stopped cleanly");
    rc = 0;
done:
    if (http != NULL)
        pdb_srv_http_stop(http);
    if (main_worker != NULL) {
        pthread_setspecific(srv->worker_key, NULL);
        pdb_srv_worker_free(main_worker);
    }
    srv_free(srv);
    return rc;
}
