/*
 * tiles.c: /tiles/{z}/{x}/{y}.png: ETags from the tile's content version,
 * the memory cache, the disk cache, and rendering through the renderer of
 * tiler/ (tiler.h) when neither has a current copy.
 *
 * A tile is cached only when the data version read before and after its
 * render agree and equal the version the change log describes; otherwise
 * an import committed meanwhile and the tile is rendered again.
 */
#include "tiles.h"

#include "srv.h"
#include "sync.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RENDER_ATTEMPTS 3   /* renders of one request that raced imports */
#define LABEL_BUFFER_PX 128 /* the renderer's default label buffer (tiler.h) */
#define BUFFER_SLACK_PX 32  /* outlines and halos reaching past their features */

double pdb_srv_render_buffer_px(void)
{
    return LABEL_BUFFER_PX + BUFFER_SLACK_PX;
}

pdb_srv_blob *pdb_srv_render_png(pdb_srv_worker *w, int z, uint32_t x, uint32_t y, int scale,
                                 char *msg, size_t cap)
{
    pdbt_tile t = {.z = z, .x = x, .y = y, .scale = scale};
    pdbt_image img;
    pdbt_png_options po = {0};
    unsigned char *png = NULL;
    size_t len = 0;

    if (pdbt_render_tile(w->tctx, w->renderer, &t, &img, NULL) != PDB_OK) {
        snprintf(msg, cap, "rendering %d/%u/%u: %s", z, x, y, pdbt_errmsg(w->tctx));
        return NULL;
    }
    if (pdbt_png_encode(w->tctx, &img, &po, &png, &len) != PDB_OK) {
        snprintf(msg, cap, "encoding %d/%u/%u: %s", z, x, y, pdbt_errmsg(w->tctx));
        return NULL;
    }
    pdb_srv_blob *b = pdb_srv_blob_new(png, len);
    free(png);
    if (b == NULL)
        snprintf(msg, cap, "out of memory");
    return b;
}

/* The tile of a place without parcels, rendered once per style and scale
 * (the style may paint a background) from a tile far from Vietnam. */
static pdb_srv_blob *empty_tile(pdb_srv *srv, pdb_srv_worker *w, int scale, char *msg, size_t cap)
{
    int i = scale == 2;
    pdb_srv_blob *b = NULL;

    pthread_mutex_lock(&srv->empty_lock);
    if (srv->empty_png[i] != NULL && srv->empty_style[i] == w->conf->style_hash)
        b = pdb_srv_blob_ref(srv->empty_png[i]);
    pthread_mutex_unlock(&srv->empty_lock);
    if (b != NULL)
        return b;
    if (pdb_srv_worker_ready(w, 1, msg, cap) != 0)
        return NULL;
    /* z = max zoom, top-left corner of the world: the Arctic Ocean. */
    if ((b = pdb_srv_render_png(w, srv->opt.max_zoom, 0, 0, scale, msg, cap)) == NULL)
        return NULL;
    pthread_mutex_lock(&srv->empty_lock);
    pdb_srv_blob_unref(srv->empty_png[i]);
    srv->empty_png[i] = pdb_srv_blob_ref(b);
    srv->empty_style[i] = w->conf->style_hash;
    pthread_mutex_unlock(&srv->empty_lock);
    return b;
}

/* The tile's content version and whether it can show any parcel. */
static int64_t content_version(pdb_srv *srv, const double merc[4], int *empty, uint64_t *epoch)
{
    double b[4], m[4];
    pthread_rwlock_rdlock(&srv->changes_lock);
    int64_t cv = pdb_srv_changes_tile_version(&srv->changes, merc);
    *epoch = srv->changes.epoch;
    memcpy(b, srv->data_bounds, sizeof b);
    pthread_rwlock_unlock(&srv->changes_lock);
    if (isnan(b[0])) {
        *empty = 1;
    } else {
        pdb_srv_lonlat_to_merc_box(b, m);
        *empty = !(merc[0] <= m[2] && merc[2] >= m[0] && merc[1] <= m[3] && merc[3] >= m[1]);
    }
    return cv;
}

static void tile_answer(pdb_srv *srv, pdb_srv_response *out, pdb_srv_blob *png)
{
    static _Thread_local char cc[64];
    snprintf(cc, sizeof cc, "public, max-age=%u", srv->opt.max_age_s);
    out->status = 200;
    out->cache_control = cc;
    pdb_srv_body_blob(out, "image/png", png);
}

void pdb_srv_handle_tile(pdb_srv *srv, pdb_srv_worker *w, const pdb_srv_in *in,
                         const pdb_srv_request *req, pdb_srv_response *out)
{
    char msg[PDB_SRV_ERRMAX];
    pdb_srv_tile_key key = {.style = w->conf->style_hash,
                            .x = req->x,
                            .y = req->y,
                            .z = (uint8_t)req->z,
                            .scale = (uint8_t)req->scale};
    pdb_srv_blob *png = NULL;
    double merc[4];
    int64_t dv, version;
    uint64_t epoch;
    int empty;

    if (pdb_srv_worker_data_version(w, &dv) != PDB_OK) {
        pdb_srv_error(out, 503, "the store is unavailable: %s", pdb_errmsg(w->ctx));
        out->retry_after_s = 1;
        pdb_srv_worker_store_failed(w);
        return;
    }
    if (pdb_srv_sync_version(srv, w, dv, msg, sizeof msg) != 0) {
        pdb_srv_error(out, 503, "%s", msg);
        out->retry_after_s = 1;
        return;
    }
    pdb_srv_tile_buffered_merc(req->z, req->x, req->y, pdb_srv_render_buffer_px(), merc);

    for (int attempt = 0; attempt < RENDER_ATTEMPTS; attempt++) {
        int64_t cv = content_version(srv, merc, &empty, &epoch);
        snprintf(out->etag, sizeof out->etag, "\"%08x-%llx-%016llx%s\"",
                 (unsigned)(epoch & 0xffffffffu), (unsigned long long)cv,
                 (unsigned long long)key.style, key.scale == 2 ? "-2x" : "");
        if (pdb_srv_etag_matches(in->if_none_match, out->etag)) {
            static _Thread_local char cc[64];
            snprintf(cc, sizeof cc, "public, max-age=%u", srv->opt.max_age_s);
            out->status = 304;
            out->cache_control = cc;
            atomic_fetch_add_explicit(&srv->metrics.not_modified, 1, memory_order_relaxed);
            return;
        }
        if (empty) {
            /* No parcel can show here: one shared tile, not a cache entry
             * per place (a crawler of empty tiles cannot flush the cache). */
            if ((png = empty_tile(srv, w, key.scale, msg, sizeof msg)) == NULL) {
                pdb_srv_error(out, 503, "%s", msg);
                return;
            }
            tile_answer(srv, out, png);
            pdb_srv_blob_unref(png);
            return;
        }
        pdb_srv_cache_result r =
            pdb_srv_cache_get(srv->cache, &key, cv, (int)srv->opt.render_wait_ms, &png, &version);
        if (r == PDB_SRV_CACHE_HIT) {
            tile_answer(srv, out, png);
            pdb_srv_blob_unref(png);
            return;
        }
        if (r == PDB_SRV_CACHE_BUSY) {
            /* Another request's render outlasted the deadline. That render
             * goes on and fills the cache; a client is better served by
             * retrying than by holding its connection (and this thread,
             * which serves other connections too) any longer. The render
             * never waits on a waiter, so the deadline only bounds latency:
             * no wait can be part of a cycle. */
            atomic_fetch_add_explicit(&srv->metrics.wait_timeouts, 1, memory_order_relaxed);
            pdb_srv_error(out, 503,
                          "tile %d/%u/%u is still being rendered for another request after %u ms; "
                          "try again",
                          req->z, req->x, req->y, srv->opt.render_wait_ms);
            out->retry_after_s = 1;
            return;
        }
        /* This thread renders it (or reads it from the disk). */
        if (w->conf->disk != NULL &&
            (png = pdb_srv_disk_get(w->conf->disk, &key, epoch, cv, &version)) != NULL) {
            atomic_fetch_add_explicit(&srv->metrics.disk_hits, 1, memory_order_relaxed);
            pdb_srv_cache_fill(srv->cache, &key, png, version);
            tile_answer(srv, out, png);
            pdb_srv_blob_unref(png);
            return;
        }
        if (pdb_srv_worker_ready(w, 1, msg, sizeof msg) != 0) {
            pdb_srv_cache_abandon(srv->cache, &key);
            pdb_srv_error(out, 503, "%s", msg);
            return;
        }
        int64_t before, after;
        uint64_t t0 = pdb_srv_now_us();
        if (pdb_store_data_version(w->ctx, w->store, &before) != PDB_OK) {
            pdb_srv_cache_abandon(srv->cache, &key);
            pdb_srv_error(out, 503, "the store is unavailable: %s", pdb_errmsg(w->ctx));
            pdb_srv_worker_store_failed(w);
            return;
        }
        png = pdb_srv_render_png(w, req->z, req->x, req->y, req->scale, msg, sizeof msg);
        atomic_fetch_add_explicit(&srv->metrics.render_us, pdb_srv_now_us() - t0,
                                  memory_order_relaxed);
        if (png == NULL || pdb_store_data_version(w->ctx, w->store, &after) != PDB_OK) {
            pdb_srv_cache_abandon(srv->cache, &key);
            pdb_srv_blob_unref(png);
            atomic_fetch_add_explicit(&srv->metrics.render_failures, 1, memory_order_relaxed);
            /* A database that went away is the service's state, not a
             * bad tile: 503, so that a load balancer asks another. */
            pdb_srv_error(out, pdb_errcode(w->ctx) == PDB_EIO ? 503 : 500, "%s",
                          png ? pdb_errmsg(w->ctx) : msg);
            return;
        }
        atomic_fetch_add_explicit(&srv->metrics.tiles_rendered, 1, memory_order_relaxed);
        if (before == after && after == atomic_load(&srv->seen_version)) {
            pdb_srv_cache_fill(srv->cache, &key, png, after);
            if (w->conf->disk != NULL) {
                if (pdb_srv_disk_put(w->conf->disk, &key, epoch, after, png) == 0)
                    atomic_fetch_add_explicit(&srv->metrics.disk_writes, 1, memory_order_relaxed);
            }
            tile_answer(srv, out, png);
            pdb_srv_blob_unref(png);
            return;
        }
        /* An import committed during the render: catch up and render again. */
        pdb_srv_cache_abandon(srv->cache, &key);
        if (pdb_srv_sync_version(srv, w, after, msg, sizeof msg) != 0) {
            pdb_srv_blob_unref(png);
            pdb_srv_error(out, 503, "%s", msg);
            return;
        }
        if (attempt + 1 == RENDER_ATTEMPTS) {
            /* Still racing: answer this render, but let nobody keep it. */
            tile_answer(srv, out, png);
            out->etag[0] = '\0';
            out->cache_control = "no-store";
            pdb_srv_blob_unref(png);
            return;
        }
        pdb_srv_blob_unref(png);
    }
}
