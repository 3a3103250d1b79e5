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

#include <ctype.h>
#include <libdeflate.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* The libdeflate level of cached vector tiles: compressed once, sent often. */
#define MVT_GZIP_LEVEL 6

pdb_srv_blob *pdb_srv_render_mvt(pdb_srv_worker *w, int z, uint32_t x, uint32_t y, char *msg,
                                 size_t cap)
{
    pdbt_tile t = {.z = z, .x = x, .y = y, .scale = 1};
    unsigned char *mvt = NULL;
    size_t len = 0;
    pdb_srv_blob *b = NULL;
    struct libdeflate_compressor *c = NULL;

    if (pdbt_mvt_tile(w->tctx, w->renderer, &t, NULL, &mvt, &len, NULL) != PDB_OK) {
        snprintf(msg, cap, "making %d/%u/%u.mvt: %s", z, x, y, pdbt_errmsg(w->tctx));
        return NULL;
    }
    if ((c = libdeflate_alloc_compressor(MVT_GZIP_LEVEL)) == NULL ||
        (b = pdb_srv_blob_new(NULL, libdeflate_gzip_compress_bound(c, len))) == NULL) {
        snprintf(msg, cap, "out of memory");
        goto done;
    }
    b->len = libdeflate_gzip_compress(c, mvt, len, b->data, b->len);
    if (b->len == 0) {
        pdb_srv_blob_unref(b);
        b = NULL;
        snprintf(msg, cap, "compressing %d/%u/%u.mvt failed", z, x, y);
    }
done:
    libdeflate_free_compressor(c);
    free(mvt);
    return b;
}

int pdb_srv_accepts_gzip(const char *ae)
{
    for (const char *p = ae; p != NULL && *p != '\0';) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *tok = p;
        while (*p != '\0' && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
            p++;
        size_t n = (size_t)(p - tok);
        int match = (n == 4 && strncasecmp(tok, "gzip", 4) == 0) || (n == 1 && *tok == '*');
        double q = 1;
        while (*p != '\0' && *p != ',') {
            if (*p == ';') {
                p++;
                while (*p == ' ' || *p == '\t')
                    p++;
                if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
                    q = strtod(p + 2, NULL);
                continue;
            }
            p++;
        }
        if (match && q > 0)
            return 1;
    }
    return 0;
}

/* A vector tile's answer: the cached gzip bytes as they are when the
 * client takes gzip, else inflated for it (rare: browsers, MapLibre's
 * native SDKs, GDAL and QGIS all send gzip). 0, or -1 when out of memory. */
int pdb_srv_mvt_answer(pdb_srv *srv, const pdb_srv_in *in, pdb_srv_response *out, pdb_srv_blob *gz)
{
    static _Thread_local char cc[64];
    snprintf(cc, sizeof cc, "public, max-age=%u", srv->opt.max_age_s);
    out->status = 200;
    out->cache_control = cc;
    out->vary = "Accept-Encoding";
    if (pdb_srv_accepts_gzip(in->accept_encoding)) {
        pdb_srv_body_blob(out, PDB_SRV_MVT_TYPE, gz);
        out->content_encoding = "gzip";
        return 0;
    }
    /* gzip's trailer holds the length (mod 2^32; tiles are far smaller). */
    size_t n = gz->len >= 18
                   ? (size_t)gz->data[gz->len - 4] | (size_t)gz->data[gz->len - 3] << 8 |
                         (size_t)gz->data[gz->len - 2] << 16 | (size_t)gz->data[gz->len - 1] << 24
                   : 0;
    unsigned char *body = malloc(n ? n : 1);
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    size_t got = 0;
    if (body == NULL || d == NULL ||
        libdeflate_gzip_decompress(d, gz->data, gz->len, body, n, &got) != LIBDEFLATE_SUCCESS) {
        libdeflate_free_decompressor(d);
        free(body);
        return -1;
    }
    libdeflate_free_decompressor(d);
    pdb_srv_body_malloced(out, PDB_SRV_MVT_TYPE, body, got);
    return 0;
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

/* A vector tile with nothing in it, gzip-compressed: a place without
 * parcels needs no render and no cache entry. */
pdb_srv_blob *pdb_srv_empty_mvt(char *msg, size_t cap)
{
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(1);
    pdb_srv_blob *b = c ? pdb_srv_blob_new(NULL, libdeflate_gzip_compress_bound(c, 0)) : NULL;
    if (b != NULL)
        b->len = libdeflate_gzip_compress(c, "", 0, b->data, b->len);
    libdeflate_free_compressor(c);
    if (b == NULL || b->len == 0) {
        pdb_srv_blob_unref(b);
        snprintf(msg, cap, "out of memory");
        return NULL;
    }
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

/* A tile at a past date (?at=) is drawn from parcels, at no zoom below
 * this one: below it a tile holds too many parcels to draw one by one,
 * and the overviews that draw it today hold the current state only. */
#define AT_MIN_ZOOM 12

/* An instant this long past is settled: the data it shows can no longer
 * change, because every import and change stamps its parcels with the
 * time its transaction began, and none lasts this long. Its tile is
 * then tagged without the data version and survives imports; a more
 * recent instant is tagged with it, as a current tile is. */
#define AT_SETTLED_MS (3600 * 1000LL)

/* ?at= of a tile: 0 when absent or not in the past (the current tile
 * shows that state: *at_ms 0), or for a past instant (in at and *at_ms);
 * else -1 with the answer made (400 for a malformed date or a zoom too
 * small). Whether the store reaches back that far is asked only before a
 * render (before_data): a tile in the cache was drawn at a date that has
 * data, and asking the store on every hit cost a cached past tile two
 * thirds of its rate. */
/* Milliseconds since 1970 UTC, by the wall clock (instants in the store
 * are wall-clock times; pdb_srv_now_us is monotonic). */
static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int tile_instant(pdb_srv_worker *w, const pdb_srv_request *req, char at[PDB_INSTANT_LEN],
                        int64_t *at_ms, pdb_srv_response *out)
{
    const char *text = pdb_srv_param_get(req, "at");
    *at_ms = 0;
    at[0] = '\0';
    if (text == NULL)
        return 0;
    if (pdb_instant_parse(w->ctx, text, at) != PDB_OK) {
        pdb_srv_error(out, 400, "%s", pdb_errmsg(w->ctx));
        return -1;
    }
    struct tm tm = {0};
    int ms = 0;
    sscanf(at, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
           &tm.tm_min, &tm.tm_sec, &ms);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t t = (int64_t)timegm(&tm) * 1000 + ms;
    if (t >= wall_ms()) {
        at[0] = '\0'; /* now or later: what the current tile shows */
        return 0;
    }
    if (req->z < AT_MIN_ZOOM) {
        pdb_srv_error(out, 400,
                      "tiles at a past date start at zoom %d (the overviews of lower zooms "
                      "hold the current state only); asked %d",
                      AT_MIN_ZOOM, req->z);
        return -1;
    }
    *at_ms = t > 0 ? t : 1;
    return 0;
}

/* Before a past tile is drawn: 0 when the store has data at its instant;
 * else -1 with the answer made (404 before any data, 503 when the store
 * fails). */
static int before_data(pdb_srv_worker *w, const char *at, pdb_srv_response *out)
{
    if (pdb_store_check_instant(w->ctx, w->store, at, NULL) == PDB_OK)
        return 0;
    if (pdb_errcode(w->ctx) == PDB_ENOTFOUND) {
        pdb_srv_error(out, 404, "%s", pdb_errmsg(w->ctx));
        return -1;
    }
    pdb_srv_error(out, 503, "the store is unavailable: %s", pdb_errmsg(w->ctx));
    out->retry_after_s = 1;
    pdb_srv_worker_store_failed(w);
    return -1;
}

static void tile_answer(pdb_srv *srv, const pdb_srv_in *in, pdb_srv_response *out, int kind,
                        pdb_srv_blob *png)
{
    if (kind == PDB_SRV_TILE_MVT) {
        if (pdb_srv_mvt_answer(srv, in, out, png) != 0) {
            pdb_srv_error(out, 503, "out of memory");
            out->etag[0] = '\0';
        }
        return;
    }
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
                            .scale = (uint8_t)req->scale,
                            .kind = req->mvt ? PDB_SRV_TILE_MVT : PDB_SRV_TILE_PNG};
    pdb_srv_blob *png = NULL;
    double merc[4];
    int64_t dv, version;
    uint64_t epoch;
    int empty;
    char at[PDB_INSTANT_LEN];

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
    if (tile_instant(w, req, at, &key.at_ms, out) != 0)
        return;
    int settled = key.at_ms != 0 && key.at_ms < wall_ms() - AT_SETTLED_MS;
    pdb_srv_tile_buffered_merc(req->z, req->x, req->y, pdb_srv_render_buffer_px(), merc);

    for (int attempt = 0; attempt < RENDER_ATTEMPTS; attempt++) {
        int64_t cv = content_version(srv, merc, &empty, &epoch);
        /* A past date's tile is tagged with its instant, and, until the
         * instant is settled, with the data version too; then cached
         * apart (key.at_ms) and, when settled, kept across imports. A
         * past state may cover places the current data does not. */
        char when[40] = "";
        if (key.at_ms != 0) {
            snprintf(when, sizeof when, "-at%llx", (unsigned long long)key.at_ms);
            empty = 0;
            if (settled)
                cv = 0;
        }
        /* A vector tile's two encodings are two representations: two tags. */
        snprintf(out->etag, sizeof out->etag, "\"%08x-%llx%s-%016llx%s\"",
                 (unsigned)(epoch & 0xffffffffu), (unsigned long long)cv, when,
                 (unsigned long long)key.style,
                 key.kind == PDB_SRV_TILE_MVT
                     ? (pdb_srv_accepts_gzip(in->accept_encoding) ? "-mvt-gz" : "-mvt")
                 : key.scale == 2 ? "-2x"
                                  : "");
        if (pdb_srv_etag_matches(in->if_none_match, out->etag)) {
            static _Thread_local char cc[64];
            snprintf(cc, sizeof cc, "public, max-age=%u", srv->opt.max_age_s);
            out->status = 304;
            out->cache_control = cc;
            if (key.kind == PDB_SRV_TILE_MVT)
                out->vary = "Accept-Encoding";
            atomic_fetch_add_explicit(&srv->metrics.not_modified, 1, memory_order_relaxed);
            return;
        }
        if (empty) {
            /* No parcel can show here: one shared tile, not a cache entry
             * per place (a crawler of empty tiles cannot flush the cache). */
            png = key.kind == PDB_SRV_TILE_MVT ? pdb_srv_empty_mvt(msg, sizeof msg)
                                               : empty_tile(srv, w, key.scale, msg, sizeof msg);
            if (png == NULL) {
                pdb_srv_error(out, 503, "%s", msg);
                return;
            }
            tile_answer(srv, in, out, key.kind, png);
            pdb_srv_blob_unref(png);
            return;
        }
        pdb_srv_cache_result r =
            pdb_srv_cache_get(srv->cache, &key, cv, (int)srv->opt.render_wait_ms, &png, &version);
        if (r == PDB_SRV_CACHE_HIT) {
            tile_answer(srv, in, out, key.kind, png);
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
        if (key.at_ms != 0 && before_data(w, at, out) != 0) {
            pdb_srv_cache_abandon(srv->cache, &key);
            out->etag[0] = '\0';
            return;
        }
        /* This thread renders it (or reads it from the disk, which holds
         * current tiles only). */
        if (w->conf->disk != NULL && key.at_ms == 0 &&
            (png = pdb_srv_disk_get(w->conf->disk, &key, epoch, cv, &version)) != NULL) {
            atomic_fetch_add_explicit(&srv->metrics.disk_hits, 1, memory_order_relaxed);
            pdb_srv_cache_fill(srv->cache, &key, png, version);
            tile_answer(srv, in, out, key.kind, png);
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
        if (key.at_ms != 0)
            pdbt_renderer_set_at(w->tctx, w->renderer, at);
        png = key.kind == PDB_SRV_TILE_MVT
                  ? pdb_srv_render_mvt(w, req->z, req->x, req->y, msg, sizeof msg)
                  : pdb_srv_render_png(w, req->z, req->x, req->y, req->scale, msg, sizeof msg);
        if (key.at_ms != 0)
            pdbt_renderer_set_at(w->tctx, w->renderer, NULL);
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
            if (w->conf->disk != NULL && key.at_ms == 0) {
                if (pdb_srv_disk_put(w->conf->disk, &key, epoch, after, png) == 0)
                    atomic_fetch_add_explicit(&srv->metrics.disk_writes, 1, memory_order_relaxed);
            }
            tile_answer(srv, in, out, key.kind, png);
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
            tile_answer(srv, in, out, key.kind, png);
            out->etag[0] = '\0';
            out->cache_control = "no-store";
            pdb_srv_blob_unref(png);
            return;
        }
        pdb_srv_blob_unref(png);
    }
}
