/*
 * pmtiles_route.c: the server's routes over a PMTiles archive (serve
 * --pmtiles FILE). The archive is mapped read-only once and never
 * changes under the server, so a tile's answer is a pointer into the
 * mapping: no copy, no cache, no render. Its ETag is a hash of the tile's
 * bytes (the same bytes give the same ETag across restarts and servers,
 * and behind one load balancer).
 *
 * A tile of a zoom outside the archive's is a 404; a tile of the
 * archive's zooms that it does not hold (outside its box) is a 204 with
 * no body, so that a map shows nothing there without an error in the
 * browser's console (what PMTiles servers do for a missing tile).
 */
#include "pmtiles_route.h"

#include "handlers.h"
#include "pmtiles.h"
#include "srv.h"
#include "tiles.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct pdb_srv_pmtiles {
    void *map;          /* the archive, mapped read-only */
    size_t len;         /* its bytes */
    pdbt_pmtiles *arch; /* the reader over map */
    json_t *meta;       /* the archive's metadata object */
    const char *path;   /* as given (borrowed from the options) */
};

int pdb_srv_pmtiles_open(const char *path, pdb_srv_pmtiles **out, char *msg, size_t cap)
{
    pdb_srv_pmtiles *p = calloc(1, sizeof *p);
    pdbt_ctx *tctx = NULL;
    struct stat st;
    int fd = -1, rc = -1;

    *out = NULL;
    if (p == NULL)
        return pdb_srv_fail(msg, cap, "out of memory");
    p->path = path;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
        pdb_srv_fail(msg, cap, "--pmtiles %s: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
        pdb_srv_fail(msg, cap, "--pmtiles %s: not a PMTiles archive (%s)", path,
                     S_ISREG(st.st_mode) ? "an empty file" : "not a file");
        goto done;
    }
    p->len = (size_t)st.st_size;
    if ((p->map = mmap(NULL, p->len, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED) {
        p->map = NULL;
        pdb_srv_fail(msg, cap, "--pmtiles %s: cannot map it: %s", path, strerror(errno));
        goto done;
    }
    if (pdbt_ctx_new(NULL, &tctx) != PDB_OK) {
        pdb_srv_fail(msg, cap, "out of memory");
        goto done;
    }
    if (pdbt_pmtiles_open(tctx, p->map, p->len, &p->arch) != PDB_OK) {
        pdb_srv_fail(msg, cap, "--pmtiles %s: %s", path, pdbt_errmsg(tctx));
        goto done;
    }
    const pdbt_pmtiles_header *h = pdbt_pmtiles_get_header(p->arch);
    if (h->tile_type != PDBT_PMTILES_TYPE_PNG &&
        !(h->tile_type == PDBT_PMTILES_TYPE_MVT &&
          h->tile_compression == PDBT_PMTILES_COMPRESSION_GZIP)) {
        pdb_srv_fail(msg, cap,
                     "--pmtiles %s: tiles of type %d, compression %d; this server serves PNG "
                     "(type 2) and gzipped vector tile (type 1, compression 2) archives",
                     path, h->tile_type, h->tile_compression);
        goto done;
    }
    json_error_t je;
    p->meta = json_loads(pdbt_pmtiles_metadata(p->arch), 0, &je);
    if (!json_is_object(p->meta)) {
        pdb_srv_fail(msg, cap, "--pmtiles %s: its metadata is not a JSON object", path);
        goto done;
    }
    *out = p;
    p = NULL;
    rc = 0;
done:
    if (fd >= 0)
        close(fd); /* the mapping stays */
    pdbt_ctx_free(tctx);
    pdb_srv_pmtiles_close(p);
    return rc;
}

void pdb_srv_pmtiles_close(pdb_srv_pmtiles *p)
{
    if (p == NULL)
        return;
    pdbt_pmtiles_free(p->arch);
    json_decref(p->meta);
    if (p->map != NULL)
        munmap(p->map, p->len);
    free(p);
}

const char *pdb_srv_pmtiles_describe(const pdb_srv_pmtiles *p)
{
    static _Thread_local char text[160];
    const pdbt_pmtiles_header *h = pdbt_pmtiles_get_header(p->arch);
    snprintf(text, sizeof text, "%s: %llu tiles, z%d-%d, %s", p->path,
             (unsigned long long)h->addressed_tiles, h->min_zoom, h->max_zoom,
             h->tile_type == PDBT_PMTILES_TYPE_MVT ? "mvt" : "png");
    return text;
}

/* A 64-bit hash of a tile's bytes for its ETag, computed per request (an
 * ETag is a hash of the bytes, so two servers of one archive agree). Four
 * lanes of 8-byte words, so that the multiplications overlap: a byte-wise
 * FNV-1a over a 33 KiB tile cost a third of the route's time. */
static uint64_t tile_hash(const unsigned char *b, size_t n)
{
    const uint64_t k = 0x9E3779B97F4A7C15ull;
    uint64_t h[4] = {k ^ n, k * 3, k * 5, k * 7};
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int l = 0; l < 4; l++) {
            uint64_t w;
            memcpy(&w, b + i + 8 * l, 8);
            h[l] = (h[l] ^ w) * k;
            h[l] ^= h[l] >> 29;
        }
    uint64_t r = h[0] ^ (h[1] * 3) ^ (h[2] * 5) ^ (h[3] * 7);
    for (; i < n; i++)
        r = (r ^ b[i]) * 0x100000001b3ull;
    r ^= r >> 31;
    r *= k;
    return r ^ (r >> 29);
}

static void tile(pdb_srv *srv, const pdb_srv_pmtiles *p, const pdb_srv_in *in,
                 const pdb_srv_request *req, pdb_srv_response *out)
{
    static _Thread_local char cc[64];
    const pdbt_pmtiles_header *h = pdbt_pmtiles_get_header(p->arch);
    const unsigned char *data;
    size_t len;

    int mvt = h->tile_type == PDBT_PMTILES_TYPE_MVT;
    if (req->mvt != mvt) {
        pdb_srv_error(out, 404, "the archive holds %s tiles: /tiles/{z}/{x}/{y}.%s",
                      mvt ? "vector" : "PNG", mvt ? "mvt" : "png");
        return;
    }
    if (req->scale != 1) {
        pdb_srv_error(out, 404, "the archive holds 256 px tiles only (no @2x)");
        return;
    }
    if (req->z < h->min_zoom || req->z > h->max_zoom) {
        pdb_srv_error(out, 404, "zoom %d is not in the archive (zooms %d-%d)", req->z, h->min_zoom,
                      h->max_zoom);
        return;
    }
    pdb_status st = pdbt_pmtiles_get(NULL, p->arch, req->z, req->x, req->y, &data, &len);
    if (st == PDB_ENOTFOUND) {
        out->status = 204; /* outside the archive's box: nothing to draw */
        return;
    }
    if (st != PDB_OK) {
        pdb_srv_error(out, 500, "the archive's directory for tile %d/%u/%u is damaged", req->z,
                      req->x, req->y);
        return;
    }
    /* A vector tile's bytes differ with the encoding: so does its ETag. */
    int gz = mvt && pdb_srv_accepts_gzip(in->accept_encoding);
    snprintf(out->etag, sizeof out->etag, "\"pm-%016llx%s\"",
             (unsigned long long)tile_hash(data, len), mvt ? (gz ? "-mvt-gz" : "-mvt") : "");
    snprintf(cc, sizeof cc, "public, max-age=%u", srv->opt.max_age_s);
    out->cache_control = cc;
    if (mvt)
        out->vary = "Accept-Encoding";
    if (pdb_srv_etag_matches(in->if_none_match, out->etag)) {
        out->status = 304;
        atomic_fetch_add_explicit(&srv->metrics.not_modified, 1, memory_order_relaxed);
        return;
    }
    if (mvt) {
        /* The server's own answer from gzip bytes (a copy: tiles are small). */
        pdb_srv_blob *b = pdb_srv_blob_new(data, len);
        if (b == NULL || pdb_srv_mvt_answer(srv, in, out, b) != 0) {
            pdb_srv_error(out, 503, "out of memory");
            out->etag[0] = '\0';
        }
        pdb_srv_blob_unref(b);
        return;
    }
    out->status = 200;
    out->content_type = "image/png";
    out->body = data; /* the mapping outlives every request */
    out->len = len;
}

/* A string member of the metadata, or def. */
static const char *meta_str(const pdb_srv_pmtiles *p, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(p->meta, key));
    return s != NULL ? s : def;
}

static void tilejson(pdb_srv *srv, const pdb_srv_pmtiles *p, const pdb_srv_in *in,
                     pdb_srv_response *out)
{
    const pdbt_pmtiles_header *h = pdbt_pmtiles_get_header(p->arch);
    char base[400], url[500];
    pdb_srv_base_url(srv, in, base, sizeof base);
    snprintf(url, sizeof url, "%s/tiles/{z}/{x}/{y}.%s", base,
             h->tile_type == PDBT_PMTILES_TYPE_MVT ? "mvt" : "png");
    json_t *layers = json_object_get(p->meta, "vector_layers");
    json_t *doc = json_pack(
        "{s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:[s], s:i, s:i, s:[ffff], s:[ffi]}", "tilejson",
        "3.0.0", "vector_layers", json_is_array(layers) ? json_incref(layers) : json_array(),
        "name", meta_str(p, "name", "parceldb"), "description", meta_str(p, "description", ""),
        "attribution", meta_str(p, "attribution", ""), "version", meta_str(p, "version", "1.0.0"),
        "scheme", "xyz", "tiles", url, "minzoom", h->min_zoom, "maxzoom", h->max_zoom, "bounds",
        h->bounds[0], h->bounds[1], h->bounds[2], h->bounds[3], "center", h->center[0],
        h->center[1], h->center_zoom);
    pdb_srv_body_json(out, "application/json", doc);
}

static void health(pdb_srv *srv, const pdb_srv_pmtiles *p, pdb_srv_response *out)
{
    if (atomic_load(&srv->draining)) {
        pdb_srv_error(out, 503, "shutting down");
        out->close = 1;
        return;
    }
    const pdbt_pmtiles_header *h = pdbt_pmtiles_get_header(p->arch);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:I}", "status", "ok", "database", "none", "pmtiles",
                            p->path, "tiles", (json_int_t)h->addressed_tiles);
    pdb_srv_body_json(out, "application/json", doc);
    out->cache_control = "no-store";
}

void pdb_srv_pmtiles_handle(pdb_srv *srv, const pdb_srv_in *in, const pdb_srv_request *req,
                            pdb_srv_response *out)
{
    const pdb_srv_pmtiles *p = srv->pmtiles;
    switch (req->route) {
    case PDB_SRV_ROUTE_TILE:
        tile(srv, p, in, req, out);
        break;
    case PDB_SRV_ROUTE_TILEJSON:
        tilejson(srv, p, in, out);
        break;
    case PDB_SRV_ROUTE_HEALTH:
        health(srv, p, out);
        break;
    default:
        pdb_srv_error(out, 404,
                      "this server serves the tiles of a PMTiles archive only (serve --pmtiles): "
                      "no store to answer %s; serve --db STORE for it",
                      pdb_srv_route_name(req->route));
        break;
    }
}
