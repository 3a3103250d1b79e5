/*
 * worker.c: the per-thread workers (worker.h). A thread's worker follows
 * the server's configuration and store generations: when either moved, it
 * drops what it made from the old ones before the next request.
 */
#include "worker.h"

#include "srv.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pdb_srv_conf *conf_get(pdb_srv *srv)
{
    pthread_mutex_lock(&srv->conf_lock);
    pdb_srv_conf *c = pdb_srv_conf_ref(srv->conf);
    pthread_mutex_unlock(&srv->conf_lock);
    return c;
}

static _Thread_local pdb_srv_worker *tl_worker;

static void worker_drop_renderer(pdb_srv_worker *w)
{
    pdbt_renderer_free(w->renderer);
    w->renderer = NULL;
}

void pdb_srv_worker_free(void *p)
{
    pdb_srv_worker *w = p;
    if (w == NULL)
        return;
    worker_drop_renderer(w);
    pdb_store_close(w->store);
    pdb_srv_conf_unref(w->conf);
    pdbt_ctx_free(w->tctx);
    pdb_ctx_free(w->ctx);
    free(w);
    if (tl_worker == w)
        tl_worker = NULL;
}

pdb_srv_worker *pdb_srv_worker_get(pdb_srv *srv)
{
    pdb_srv_worker *w = tl_worker;
    if (w != NULL)
        return w;
    if ((w = calloc(1, sizeof *w)) == NULL)
        return NULL;
    w->srv = srv;
    if (pdb_ctx_new(&w->ctx) != PDB_OK || pdbt_ctx_new(w->ctx, &w->tctx) != PDB_OK) {
        pdb_ctx_free(w->ctx);
        free(w);
        return NULL;
    }
    pdb_limits lim = {0};
    lim.max_results = srv->opt.max_limit + 1;
    pdb_ctx_set_limits(w->ctx, &lim);
    w->conf_gen = atomic_load(&srv->conf_gen);
    w->conf = conf_get(srv);
    pthread_setspecific(srv->worker_key, w);
    tl_worker = w;
    return w;
}

void pdb_srv_db_state(pdb_srv *srv, const char *error)
{
    pthread_mutex_lock(&srv->db_lock);
    if (error == NULL) {
        srv->db_down_since = 0;
    } else {
        if (srv->db_down_since == 0)
            srv->db_down_since = time(NULL);
        snprintf(srv->db_error, sizeof srv->db_error, "%s", error);
    }
    pthread_mutex_unlock(&srv->db_lock);
}

void pdb_srv_worker_store_failed(pdb_srv_worker *w)
{
    if (pdb_errcode(w->ctx) == PDB_EIO)
        pdb_srv_db_state(w->srv, pdb_errmsg(w->ctx));
    else
        pdb_srv_worker_reset_store(w);
}

void pdb_srv_worker_reset_store(pdb_srv_worker *w)
{
    worker_drop_renderer(w);
    pdb_store_close(w->store);
    w->store = NULL;
    w->dv_read_ns = 0; /* another store, or the same reopened: read it again */
}

pdb_status pdb_srv_worker_data_version(pdb_srv_worker *w, int64_t *dv)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    if (w->dv_read_ns != 0 && now - w->dv_read_ns < (int64_t)PDB_SRV_DV_FRESH_MS * 1000000 &&
        w->dv == atomic_load(&w->srv->seen_version)) {
        *dv = w->dv;
        return PDB_OK;
    }
    pdb_status st = pdb_store_data_version(w->ctx, w->store, dv);
    if (st == PDB_OK) {
        w->dv = *dv;
        w->dv_read_ns = now;
    } else if (st == PDB_EIO && w->dv_read_ns != 0) {
        /* The database cannot be reached: nothing can have changed that
         * this replica could read, so the version last read still holds
         * and tiles cached at it are still answered (a render fails); it
         * is asked again at the next call. */
        pdb_srv_db_state(w->srv, pdb_errmsg(w->ctx));
        *dv = w->dv;
        st = PDB_OK;
    }
    return st;
}

int pdb_srv_worker_ready(pdb_srv_worker *w, int need_renderer, char *msg, size_t cap)
{
    pdb_srv *srv = w->srv;
    unsigned gen = atomic_load_explicit(&srv->conf_gen, memory_order_acquire);
    if (gen != w->conf_gen) {
        worker_drop_renderer(w);
        pdb_srv_conf_unref(w->conf);
        w->conf = conf_get(srv);
        w->conf_gen = gen;
    }
    unsigned sgen = atomic_load_explicit(&srv->store_gen, memory_order_acquire);
    if (w->store != NULL && sgen != w->store_gen)
        pdb_srv_worker_reset_store(w);
    if (w->store == NULL) {
        uint64_t now = pdb_srv_now_us();
        if (w->open_failed_us != 0 && now - w->open_failed_us < PDB_SRV_REOPEN_MS * 1000u) {
            snprintf(msg, cap, "%s", w->open_error);
            return -1;
        }
        /* The handle opened for this thread at start, while one is left
         * (a later reopen opens its own). */
        pthread_mutex_lock(&srv->pool_lock);
        if (srv->pool_n > 0 && sgen == 0)
            w->store = srv->pool[--srv->pool_n];
        /* Opened before a store replaced or reopened (SIGHUP): not used. */
        while (sgen != 0 && srv->pool_n > 0)
            pdb_store_close(srv->pool[--srv->pool_n]);
        pthread_mutex_unlock(&srv->pool_lock);
        if (w->store == NULL &&
            pdb_store_open(w->ctx, srv->opt.db_path, PDB_OPEN_READONLY, &w->store) != PDB_OK) {
            snprintf(w->open_error, sizeof w->open_error, "the store cannot be opened: %s",
                     pdb_errmsg(w->ctx));
            snprintf(msg, cap, "%s", w->open_error);
            w->open_failed_us = now;
            if (pdb_errcode(w->ctx) == PDB_EIO)
                pdb_srv_db_state(srv, pdb_errmsg(w->ctx));
            return -1;
        }
        w->open_failed_us = 0;
        w->store_gen = sgen;
    }
    if (need_renderer && w->renderer == NULL) {
        pdbt_renderer_options ro = {0};
        ro.max_zoom = srv->opt.max_zoom;
        if (pdbt_renderer_new(w->tctx, w->store, w->conf->style, &ro, &w->renderer) != PDB_OK) {
            snprintf(msg, cap, "the renderer cannot start: %s", pdbt_errmsg(w->tctx));
            return -1;
        }
    }
    return 0;
}
