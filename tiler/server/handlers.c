/*
 * handlers.c: each route's answer, as a pdb_srv_response (no sockets).
 * Owner names leave the engine only for a request with a valid bearer
 * token, and such answers are marked private and uncacheable.
 */
#include "handlers.h"
#include "search_audit.h"

#include "change_route.h"
#include "export_route.h"
#include "extract_route.h"
#include "ogcapi.h"
#include "pmtiles_route.h"
#include "qa_route.h"
#include "srv.h"
#include "storefile.h"
#include "sync.h"
#include "tiles.h"
#include "util.h"
#include "wms.h"
#include "worker.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GEOJSON "application/geo+json"
#define JSON "application/json"
#define NO_CACHE "no-cache"
#define PRIVATE "private, no-store"

/* Maps an engine failure to a status. */
static void engine_error(pdb_srv_response *out, pdb_srv_worker *w)
{
    pdb_status st = pdb_errcode(w->ctx);
    switch (st) {
    case PDB_EINVAL:
    case PDB_ECRS:
    case PDB_EPLAUSIBLE:
    case PDB_ELIMIT:
    case PDB_EGEOM:
        pdb_srv_error(out, 400, "%s", pdb_errmsg(w->ctx));
        return;
    case PDB_ENOTFOUND:
        pdb_srv_error(out, 404, "%s", pdb_errmsg(w->ctx));
        return;
    default:
        /* The store failed (unreachable, busy, damaged, replaced): 503,
         * and the handle kept or reopened (pdb_srv_worker_store_failed). */
        if (st == PDB_EIO)
            pdb_srv_error(out, 503, "the store is unavailable: %s", pdb_errmsg(w->ctx));
        else
            pdb_srv_error(out, 503, "the store is unavailable (%s)", pdb_status_name(st));
        out->retry_after_s = 1;
        pdb_srv_worker_store_failed(w);
        return;
    }
}

/* 1 when the request carries a valid bearer token whose role shows owner
 * names (personal or write), with its name in *who (for the audit table);
 * -1 when it carries an Authorization header that is not one (answered
 * 401); 0 without one, or with a valid read-only token. */
static int authorised(const pdb_srv_in *in, const pdb_srv_worker *w, const char **who)
{
    const char *tok;
    size_t n;
    *who = NULL;
    if (in->authorization == NULL)
        return 0;
    pdb_srv_role role = PDB_SRV_ROLE_READ;
    n = pdb_srv_bearer_token(in->authorization, &tok);
    if (n == 0 || (*who = pdb_srv_tokens_find_role(w->conf->tokens, tok, n, &role)) == NULL)
        return -1;
    if (role < PDB_SRV_ROLE_PERSONAL) {
        *who = NULL; /* a read token: valid, public answers only */
        return 0;
    }
    return 1;
}

/* personal: the name of the token the owners are shown to, or NULL for a
 * public answer. A personal answer is recorded in the audit table first;
 * when that fails the owners are not sent (503). */
static void send_parcels(pdb_srv_response *out, pdb_srv_worker *w, pdb_parcel_list *list,
                         const char *personal, const char *prefix)
{
    char *json = NULL, err[PDB_SRV_ERRMAX], what[64];
    if (personal != NULL) {
        snprintf(what, sizeof what, "GET %s", pdb_srv_route_name(out->route));
        const pdb_srv_options *o = &w->srv->opt;
        if (pdb_srv_audit_personal(o->audit_path ? o->audit_path : o->db_path, personal, what, list,
                                   err, sizeof err) != 0) {
            pdb_srv_error(out, 503, "%s", err);
            out->retry_after_s = 1;
            return;
        }
    }
    if (pdb_parcels_to_geojson(w->ctx, list, personal != NULL, &json) != PDB_OK) {
        engine_error(out, w);
        return;
    }
    out->status = 200;
    if (prefix != NULL && json[0] == '{') {
        /* Paging members go first in the FeatureCollection object. */
        size_t pl = strlen(prefix), jl = strlen(json);
        char *both = malloc(pl + jl + 1);
        if (both == NULL) {
            pdb_free(json);
            pdb_srv_error(out, 503, "out of memory");
            return;
        }
        both[0] = '{';
        memcpy(both + 1, prefix, pl);
        memcpy(both + 1 + pl, json + 1, jl); /* with the NUL */
        pdb_free(json);
        pdb_srv_body_malloced(out, GEOJSON, both, pl + jl);
    } else {
        out->content_type = GEOJSON;
        out->body = json;
        out->len = strlen(json);
        out->release = pdb_free;
        out->release_cls = json;
    }
    out->cache_control = personal != NULL ? PRIVATE : NO_CACHE;
    out->vary = "Authorization";
}

/* The first instant the worker's store has data for, as last read by
 * this thread: a lookup at a date after it needs no store read to know
 * that the store reaches back that far (the first parcel never changes
 * while the store does not; another store is another generation). */
static _Thread_local struct {
    const pdb_store *store;      /* the handle it was read from */
    unsigned store_gen;          /* its srv->store_gen */
    int64_t dv;                  /* the data version then */
    char first[PDB_INSTANT_LEN]; /* the instant */
} first_seen;

/* ?at=DATE of a lookup: 0 with no parameter (at[0] is then '\0') or with
 * an instant the store has data for, in at; else the answer is made: 400
 * for a malformed date, 404 for one before any data. */
static int lookup_instant(pdb_srv_worker *w, const pdb_srv_request *req, char at[PDB_INSTANT_LEN],
                          pdb_srv_response *out)
{
    const char *text = pdb_srv_param_get(req, "at");
    int64_t dv = -1;
    at[0] = '\0';
    if (text == NULL)
        return 0;
    if (pdb_instant_parse(w->ctx, text, at) != PDB_OK) {
        engine_error(out, w);
        return -1;
    }
    if (pdb_srv_worker_data_version(w, &dv) == PDB_OK && first_seen.store == w->store &&
        first_seen.store_gen == w->store_gen && first_seen.dv == dv &&
        strcmp(at, first_seen.first) >= 0)
        return 0;
    char first[PDB_INSTANT_LEN];
    if (pdb_store_check_instant(w->ctx, w->store, at, first) != PDB_OK) {
        engine_error(out, w);
        return -1;
    }
    first_seen.store = w->store;
    first_seen.store_gen = w->store_gen;
    first_seen.dv = dv;
    memcpy(first_seen.first, first, sizeof first);
    return 0;
}

/* /parcels/at: lon/lat, e/n/srs, or the Vietnamese x/y/zone (X = northing). */
static void parcels_at_answer(pdb_srv_worker *w, const pdb_srv_request *req, const char *personal,
                              pdb_srv_response *out)
{
    char err[PDB_SRV_ERRMAX];
    const char *lon = pdb_srv_param_get(req, "lon"), *lat = pdb_srv_param_get(req, "lat");
    const char *e = pdb_srv_param_get(req, "e"), *n = pdb_srv_param_get(req, "n");
    const char *x = pdb_srv_param_get(req, "x"), *y = pdb_srv_param_get(req, "y");
    const char *srs = pdb_srv_param_get(req, "srs"), *zone = pdb_srv_param_get(req, "zone");
    unsigned flags = PDB_READ_WGS84 | (personal ? PDB_READ_PERSONAL : 0);
    pdb_parcel_list *list = NULL;
    pdb_status st;
    int forms = (lon || lat) + (e || n) + (x || y);
    double qlon = NAN, qlat = NAN; /* the point in WGS 84, echoed as "query" */
    char prefix[128] = "", at[PDB_INSTANT_LEN];

    if (forms != 1) {
        pdb_srv_error(out, 400,
                      "give one point: lon&lat (WGS 84), e&n&srs (easting, "
                      "northing), or x&y&zone (Vietnamese order: x = northing)");
        return;
    }
    if (lon || lat) {
        double lo, la;
        if (!lon || !lat) {
            pdb_srv_error(out, 400, "lon and lat go together");
            return;
        }
        if (pdb_srv_parse_double("lon", lon, -180, 180, &lo, err, sizeof err) != 0 ||
            pdb_srv_parse_double("lat", lat, -90, 90, &la, err, sizeof err) != 0) {
            pdb_srv_error(out, 400, "%s", err);
            return;
        }
        if (lookup_instant(w, req, at, out) != 0)
            return;
        st = at[0] ? pdb_parcels_at_time(w->ctx, w->store, lo, la, at, flags, &list)
                   : pdb_parcels_at(w->ctx, w->store, lo, la, flags, &list);
        qlon = lo;
        qlat = la;
    } else {
        const char *a = e ? e : x, *b = e ? n : y, *crs = srs ? srs : zone;
        double va, vb, east, north;
        int epsg;
        if (!a || !b || !crs) {
            pdb_srv_error(out, 400,
                          e ? "e, n and srs go together (srs: EPSG:9208 or a TM-3 "
                              "zone such as 104-45)"
                            : "x, y and zone go together (x = northing, y = easting; "
                              "zone: 104-45, 105-00, 106-00 or EPSG:N)");
            return;
        }
        if (pdb_srv_parse_double(e ? "e" : "x", a, -1e8, 1e8, &va, err, sizeof err) != 0 ||
            pdb_srv_parse_double(e ? "n" : "y", b, -1e8, 1e8, &vb, err, sizeof err) != 0) {
            pdb_srv_error(out, 400, "%s", err);
            return;
        }
        if (strlen(crs) > 32 || pdb_crs_resolve(w->ctx, crs, &epsg) != PDB_OK) {
            pdb_srv_error(out, 400, "unknown coordinate system '%.32s' (try EPSG:9208 or 104-45)",
                          crs);
            return;
        }
        if (e) {
            east = va;
            north = vb;
        } else {
            pdb_vn_xy_to_en(va, vb, &east, &north);
        }
        if (pdb_crs_check_point(w->ctx, epsg, east, north) != PDB_OK) {
            /* Name the mistake in this API's own terms when swapping the
             * two numbers would make a plausible point. */
            if (pdb_errcode(w->ctx) == PDB_EPLAUSIBLE &&
                pdb_crs_check_point(w->ctx, epsg, north, east) == PDB_OK) {
                if (e)
                    pdb_srv_error(out, 400,
                                  "e and n look swapped: e is the easting (about "
                                  "0.35-0.65 million m here), n the northing (about "
                                  "2.25-2.50 million m)");
                else
                    pdb_srv_error(out, 400,
                                  "x and y look swapped: in the Vietnamese order x is "
                                  "the northing (X = northing, about 2.25-2.50 million "
                                  "m here) and y the easting (about 0.35-0.65 million "
                                  "m)");
                return;
            }
            pdb_crs_check_point(w->ctx, epsg, east, north); /* the original message again */
            engine_error(out, w);
            return;
        }
        if (lookup_instant(w, req, at, out) != 0)
            return;
        qlon = east;
        qlat = north;
        if (at[0]) {
            if ((st = pdb_crs_transform(w->ctx, epsg, PDB_EPSG_WGS84, &qlon, &qlat, 1)) == PDB_OK)
                st = pdb_parcels_at_time(w->ctx, w->store, qlon, qlat, at, flags, &list);
        } else {
            st = pdb_parcels_at_crs(w->ctx, w->store, epsg, east, north, flags, &list);
            if (st == PDB_OK &&
                pdb_crs_transform(w->ctx, epsg, PDB_EPSG_WGS84, &qlon, &qlat, 1) != PDB_OK)
                qlon = qlat = NAN; /* the lookup worked; only the echo is missing */
        }
    }
    if (st != PDB_OK) {
        engine_error(out, w);
        return;
    }
    /* Where the point is, so that a map can fly there even when no parcel
     * holds it (the Vietnamese forms need the server's transformation). */
    if (isfinite(qlon) && isfinite(qlat)) {
        char a[PDB_SRV_FIXED9_MAX], b[PDB_SRV_FIXED9_MAX];
        pdb_srv_fixed9(qlon, a); /* "%.9f" without printf's cost */
        pdb_srv_fixed9(qlat, b);
        snprintf(prefix, sizeof prefix, "\"query\":{\"lon\":%s,\"lat\":%s},", a, b);
    }
    send_parcels(out, w, list, personal, prefix[0] ? prefix : NULL);
    pdb_parcel_list_free(list);
}

/* The data version as tiles read it, at most every PDB_SRV_DV_FRESH_MS,
 * trusted for this request only: a public lookup then answers from the
 * index with no read snapshot, and no other route of this thread (a WMS
 * GetFeatureInfo, say) inherits a version it did not read. */
static void parcels_at(pdb_srv_worker *w, const pdb_srv_request *req, const char *personal,
                       pdb_srv_response *out)
{
    int64_t dv;
    pdb_store_trust_version(w->store, pdb_srv_worker_data_version(w, &dv) == PDB_OK ? dv : -1);
    parcels_at_answer(w, req, personal, out);
    pdb_store_trust_version(w->store, -1);
}

static void parcel_number(pdb_srv_worker *w, const pdb_srv_request *req, const char *personal,
                          pdb_srv_response *out)
{
    const char *former = pdb_srv_param_get(req, "former");
    unsigned flags = PDB_READ_WGS84 | (personal ? PDB_READ_PERSONAL : 0);
    pdb_parcel_list *list = NULL;
    char at[PDB_INSTANT_LEN];

    if (former != NULL && (strlen(former) != 5 || strspn(former, "0123456789") != 5)) {
        pdb_srv_error(out, 400, "former must be a five-digit commune code");
        return;
    }
    if (lookup_instant(w, req, at, out) != 0)
        return;
    if ((at[0] ? pdb_parcels_by_number_at(w->ctx, w->store, req->commune, former, req->sheet,
                                          req->parcel, at, flags, &list)
               : pdb_parcels_by_number(w->ctx, w->store, req->commune, former, req->sheet,
                                       req->parcel, flags, &list)) != PDB_OK) {
        engine_error(out, w);
        return;
    }
    if (list->count == 0 && at[0])
        pdb_srv_error(out, 404, "no parcel %s/%s/%s at %s", req->commune, req->sheet, req->parcel,
                      at);
    else if (list->count == 0)
        pdb_srv_error(out, 404, "no parcel %s/%s/%s", req->commune, req->sheet, req->parcel);
    else
        send_parcels(out, w, list, personal, NULL);
    pdb_parcel_list_free(list);
}

static void parcels_bbox(pdb_srv *srv, pdb_srv_worker *w, const pdb_srv_request *req,
                         const char *personal, pdb_srv_response *out)
{
    char err[PDB_SRV_ERRMAX], prefix[160];
    const char *bbox = pdb_srv_param_get(req, "bbox"), *ls = pdb_srv_param_get(req, "limit"),
               *os = pdb_srv_param_get(req, "offset");
    unsigned flags = PDB_READ_WGS84 | (personal ? PDB_READ_PERSONAL : 0);
    uint64_t limit = PDB_SRV_DEFAULT_LIMIT, offset = 0;
    pdb_parcel_list *list = NULL;
    double b[4];

    if (bbox == NULL) {
        pdb_srv_error(out, 400, "bbox=minlon,minlat,maxlon,maxlat is required");
        return;
    }
    if (pdb_srv_parse_bbox(bbox, 0, b, err, sizeof err) != 0 ||
        (ls && pdb_srv_parse_uint("limit", ls, UINT32_MAX, &limit, err, sizeof err) != 0) ||
        (os &&
         pdb_srv_parse_uint("offset", os, PDB_SRV_MAX_OFFSET, &offset, err, sizeof err) != 0)) {
        pdb_srv_error(out, 400, "%s", err);
        return;
    }
    if (limit == 0) {
        pdb_srv_error(out, 400, "limit must be at least 1");
        return;
    }
    if (limit > srv->opt.max_limit)
        limit = srv->opt.max_limit; /* capped, and the answer says so */
    if (pdb_parcels_in_bbox(w->ctx, w->store, b[0], b[1], b[2], b[3], (size_t)limit, (size_t)offset,
                            flags, &list) != PDB_OK) {
        engine_error(out, w);
        return;
    }
    snprintf(prefix, sizeof prefix, "\"limit\":%llu,\"offset\":%llu,\"numberReturned\":%zu,",
             (unsigned long long)limit, (unsigned long long)offset, list->count);
    send_parcels(out, w, list, personal, prefix);
    pdb_parcel_list_free(list);
}

/* /parcels/search: q (address words, and owner words with a token),
 * owner (only with a token), address, commune, landuse, limit. */
static void parcels_search(pdb_srv_worker *w, const pdb_srv_request *req, const char *personal,
                           pdb_srv_response *out)
{
    char err[PDB_SRV_ERRMAX];
    const char *ls = pdb_srv_param_get(req, "limit");
    uint64_t limit = 20;
    pdb_search_query q = {
        .text = pdb_srv_param_get(req, "q"),
        .owner = pdb_srv_param_get(req, "owner"),
        .address = pdb_srv_param_get(req, "address"),
        .commune = pdb_srv_param_get(req, "commune"),
        .landuse = pdb_srv_param_get(req, "landuse"),
    };
    pdb_parcel_list *list = NULL;

    if (q.owner != NULL && personal == NULL) {
        pdb_srv_error(out, 401, "searching owner names needs a bearer token");
        out->www_authenticate = "Bearer";
        return;
    }
    if (ls && pdb_srv_parse_uint("limit", ls, PDB_SEARCH_MAX_LIMIT, &limit, err, sizeof err) != 0) {
        pdb_srv_error(out, 400, "%s", err);
        return;
    }
    q.limit = (size_t)(limit == 0 ? 1 : limit);
    if (pdb_parcels_search(w->ctx, w->store, &q,
                           PDB_READ_WGS84 | (personal != NULL ? PDB_READ_PERSONAL : 0),
                           &list) != PDB_OK) {
        engine_error(out, w);
        return;
    }
    send_parcels(out, w, list, personal, list->truncated ? "\"truncated\":true," : NULL);
    pdb_parcel_list_free(list);
}

static json_t *bbox_json(const double b[4])
{
    if (!(b[0] <= b[2]) || isnan(b[0]))
        return json_null();
    return json_pack("[ffff]", b[0], b[1], b[2], b[3]);
}

static void communes(pdb_srv_worker *w, pdb_srv_response *out)
{
    pdb_commune_list *list = NULL;
    int64_t version = 0;
    if (pdb_store_data_version(w->ctx, w->store, &version) != PDB_OK ||
        pdb_communes_list(w->ctx, w->store, &list) != PDB_OK) {
        engine_error(out, w);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < list->count; i++) {
        const pdb_commune *c = &list->items[i];
        const pdb_commune_ref *ref = NULL;
        double b[4] = {NAN, NAN, NAN, NAN};
        if (c->parcels > 0)
            memcpy(b, c->bbox, sizeof b);
        if (pdb_commune_ref_find(w->ctx, c->code, &ref) != PDB_OK)
            ref = NULL;
        json_array_append_new(
            arr, json_pack("{s:s, s:s?, s:s?, s:o, s:I, s:o, s:I, s:o}", "code", c->code, "name",
                           c->name, "former_province", ref ? ref->former_province : NULL, "bbox",
                           bbox_json(b), "parcels", (json_int_t)c->parcels, "source_srid",
                           c->source_srid ? json_sprintf("EPSG:%d", c->source_srid) : json_null(),
                           "last_batch", (json_int_t)c->last_batch, "data_version",
                           /* null: a schema 1 store, which has no version per commune */
                           c->data_version >= 0 ? json_integer((json_int_t)c->data_version)
                                                : json_null()));
    }
    pdb_commune_list_free(list);
    pdb_srv_body_json(
        out, JSON, json_pack("{s:I, s:o}", "data_version", (json_int_t)version, "communes", arr));
}

/* /health: 200 with "database": "ok" while the store answers; 503 with
 * "database": "unreachable", the last failure and since when (UTC) while
 * it does not, so that a load balancer's checks and monitoring see it.
 * open_error: why the worker has no store, or NULL. */
static void health(pdb_srv *srv, pdb_srv_worker *w, const char *open_error, pdb_srv_response *out)
{
    int64_t version = 0;
    if (atomic_load(&srv->draining)) {
        pdb_srv_error(out, 503, "shutting down");
        out->close = 1;
        return;
    }
    int ok = open_error == NULL && pdb_store_data_version(w->ctx, w->store, &version) == PDB_OK;
    if (ok)
        pdb_srv_db_state(srv, NULL);
    else
        pdb_srv_db_state(srv, open_error != NULL ? open_error : pdb_errmsg(w->ctx));
    double uptime = (pdb_srv_now_us() / 1e6) - (srv->started.tv_sec + srv->started.tv_nsec / 1e9);
    json_t *doc;
    if (ok) {
        doc = json_pack("{s:s, s:I, s:s, s:I}", "status", "ok", "data_version", (json_int_t)version,
                        "database", "ok", "uptime_s", (json_int_t)round(uptime));
    } else {
        char since[32] = "";
        struct tm tm;
        pthread_mutex_lock(&srv->db_lock);
        time_t t = srv->db_down_since;
        json_t *err = json_string(srv->db_error);
        pthread_mutex_unlock(&srv->db_lock);
        if (gmtime_r(&t, &tm) != NULL)
            strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
        doc = json_pack("{s:s, s:s, s:o, s:s, s:I}", "status", "unavailable", "database",
                        "unreachable", "error", err ? err : json_null(), "since", since, "uptime_s",
                        (json_int_t)round(uptime));
    }
    pdb_srv_body_json(out, JSON, doc);
    if (out->status == 200 && !ok) {
        out->status = 503;
        out->retry_after_s = 1;
    }
    out->cache_control = "no-store";
}

static void metrics(pdb_srv *srv, pdb_srv_worker *w, pdb_srv_response *out)
{
    pdb_srv_gauges g = {0};
    pdb_srv_cache_stats cs;
    size_t len;

    pdb_srv_cache_stats_get(srv->cache, &cs);
    g.data_version = atomic_load(&srv->seen_version);
    g.store_age_s = pdb_srv_store_file_age_s(srv->opt.db_path);
    g.uptime_s = pdb_srv_now_us() / 1e6 - (srv->started.tv_sec + srv->started.tv_nsec / 1e9);
    g.cache_hits = cs.hits;
    g.cache_misses = cs.misses;
    g.cache_evictions = cs.evictions;
    g.cache_invalidated = cs.invalidated;
    g.cache_entries = cs.entries;
    g.cache_bytes = cs.bytes;
    g.cache_max_bytes = cs.max_bytes;
    g.tokens = pdb_srv_tokens_count(w->conf->tokens);
    pdb_lookup_index_memory(&g.lookup_communes, &g.lookup_bytes);
    g.draining = atomic_load(&srv->draining);
    pdb_srv_commune_state *communes = pdb_srv_communes_copy(srv, &g.ncommunes);
    g.communes = communes;
    char *text = pdb_srv_metrics_text(&srv->metrics, &g, &len);
    free(communes);
    if (text == NULL) {
        pdb_srv_error(out, 503, "out of memory");
        return;
    }
    out->status = 200;
    pdb_srv_body_malloced(out, "text/plain; version=0.0.4; charset=utf-8", text, len);
    out->cache_control = "no-store";
}

/* The base URL for tiles.json: --public-url, or http:// and a Host header
 * made only of host-name characters. */
static void base_url(const pdb_srv *srv, const pdb_srv_in *in, char *out, size_t cap)
{
    if (srv->opt.public_url != NULL) {
        snprintf(out, cap, "%s", srv->opt.public_url);
        size_t n = strlen(out);
        if (n > 0 && out[n - 1] == '/')
            out[n - 1] = '\0';
        return;
    }
    const char *h = in->host;
    if (h == NULL || *h == '\0' || strlen(h) > 255 ||
        strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") !=
            strlen(h))
        h = "localhost";
    snprintf(out, cap, "http://%s", h);
}

/* The data's bounds for a TileJSON; the world's when there is no data. */
static void tilejson_bounds(pdb_srv *srv, double b[4])
{
    pthread_rwlock_rdlock(&srv->changes_lock);
    memcpy(b, srv->data_bounds, 4 * sizeof *b);
    pthread_rwlock_unlock(&srv->changes_lock);
    if (isnan(b[0])) {
        b[0] = -180;
        b[1] = -PDBT_MERC_MAX_LAT;
        b[2] = 180;
        b[3] = PDBT_MERC_MAX_LAT;
    }
}

static void tilejson(pdb_srv *srv, const pdb_srv_in *in, pdb_srv_worker *w, pdb_srv_response *out)
{
    char base[400], url[500];
    double b[4];

    tilejson_bounds(srv, b);
    base_url(srv, in, base, sizeof base);
    snprintf(url, sizeof url, "%s/tiles/{z}/{x}/{y}.png", base);
    int zc = srv->opt.max_zoom < 12 ? srv->opt.max_zoom : 12;
    /* Raster tiles: an empty vector_layers, which TileJSON 3.0.0 requires.
     * "data_version" is ours (a foreign member), for clients that want to
     * know when the data changed. */
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)atomic_load(&srv->seen_version));
    json_t *doc = json_pack(
        "{s:s, s:[], s:s, s:s, s:s, s:s, s:[s], s:i, s:i, s:[ffff], s:[ffi], s:s, s:s}", "tilejson",
        "3.0.0", "vector_layers", "name", w->conf->style_name, "description",
        "Cadastral parcels of Phu Tho province", "attribution", "parceldb", "scheme", "xyz",
        "tiles", url, "minzoom", 0, "maxzoom", srv->opt.max_zoom, "bounds", b[0], b[1], b[2], b[3],
        "center", (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, zc, "version", "1.0.0", "data_version", v);
    pdb_srv_body_json(out, JSON, doc);
}

/* The vector tiles' TileJSON: the layers and their fields as
 * pdbt_mvt_tile writes them (tiler.h). */
json_t *pdb_srv_mvt_layers(int zmin, int zmax, int zp)
{
    return json_pack(
        "[{s:s, s:s, s:i, s:i, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s}},"
        " {s:s, s:s, s:i, s:i, s:{s:s, s:s}},"
        " {s:s, s:s, s:i, s:i, s:{s:s, s:s}}]",
        "id", "parcels", "description",
        "Parcels (land-use overview shapes, without id, sheet and parcel, below the parcel zooms), "
        "no personal data",
        "minzoom", zmin, "maxzoom", zmax, "fields", "id", "Number", "commune", "String", "sheet",
        "String", "parcel", "String", "landuse", "String", "landuse_main", "String", "area",
        "Number", "id", "communes", "description", "Commune outlines", "minzoom", zmin, "maxzoom",
        zmax, "fields", "code", "String", "name", "String", "id", "labels", "description",
        "One label point a parcel (where the PNG tiles put its number)", "minzoom",
        zp < zmin   ? zmin
        : zp < zmax ? zp
                    : zmax,
        "maxzoom", zmax, "fields", "id", "Number", "parcel", "String");
}

static void tilejson_mvt(pdb_srv *srv, const pdb_srv_in *in, pdb_srv_worker *w,
                         pdb_srv_response *out)
{
    char base[400], url[500];
    double b[4];

    tilejson_bounds(srv, b);
    base_url(srv, in, base, sizeof base);
    snprintf(url, sizeof url, "%s/tiles/{z}/{x}/{y}.mvt", base);
    int zmax = srv->opt.max_zoom, zc = zmax < 12 ? zmax : 12;
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)atomic_load(&srv->seen_version));
    json_t *layers = pdb_srv_mvt_layers(0, zmax, pdbt_mvt_parcel_zoom(w->conf->style));
    json_t *doc =
        layers == NULL
            ? NULL
            : json_pack("{s:s, s:o, s:s, s:s, s:s, s:s, s:[s], s:i, s:i, "
                        "s:[ffff], s:[ffi], s:s, s:s, s:s}",
                        "tilejson", "3.0.0", "vector_layers", layers, "name", w->conf->style_name,
                        "description", "Cadastral parcels of Phu Tho province (vector tiles)",
                        "attribution", "parceldb", "scheme", "xyz", "tiles", url, "minzoom", 0,
                        "maxzoom", zmax, "bounds", b[0], b[1], b[2], b[3], "center",
                        (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, zc, "version", "1.0.0", "format",
                        "pbf", "data_version", v);
    pdb_srv_body_json(out, JSON, doc);
}

/* The style the PNG tiles are drawn with, as MapLibre GL reads it over
 * the vector tiles (pdbt_style_maplibre). */
static void maplibre_style(const pdb_srv *srv, const pdb_srv_in *in, pdb_srv_worker *w,
                           pdb_srv_response *out)
{
    char base[400], url[500], glyphs[500];
    char *text = NULL;
    size_t len = 0;
    base_url(srv, in, base, sizeof base);
    snprintf(url, sizeof url, "%s/tiles.mvt.json", base);
    snprintf(glyphs, sizeof glyphs, "%s/fonts/{fontstack}/{range}.pbf", base);
    if (pdbt_style_maplibre(w->tctx, w->conf->style, url, glyphs, &text, &len) != PDB_OK) {
        pdb_srv_error(out, 503, "%s", pdbt_errmsg(w->tctx));
        return;
    }
    out->status = 200;
    out->cache_control = "no-cache";
    pdb_srv_body_malloced(out, JSON, text, len);
}

/* The glyphs MapLibre draws the style's labels with, made from the same
 * font files as the PNG tiles' labels (pdbt_glyphs); the same for a day. */
static void glyphs(pdb_srv_worker *w, const pdb_srv_request *req, pdb_srv_response *out)
{
    unsigned char *pbf = NULL;
    size_t len = 0;
    pdb_status st = pdbt_glyphs(w->tctx, NULL, req->fontstack, req->glyph_start, &pbf, &len);
    if (st != PDB_OK) {
        pdb_srv_error(out, st == PDB_ENOTFOUND ? 404 : 503, "%s", pdbt_errmsg(w->tctx));
        return;
    }
    out->status = 200;
    out->cache_control = "public, max-age=86400";
    pdb_srv_body_malloced(out, "application/x-protobuf", pbf, len);
}

static void static_file(const pdb_srv_in *in, pdb_srv_worker *w, const pdb_srv_request *req,
                        pdb_srv_response *out)
{
    const pdb_srv_webfile *f = pdb_srv_webfiles_find(w->conf->web, req->file);
    if (f == NULL) {
        if (w->conf->web == NULL && strcmp(req->file, "index.html") == 0)
            pdb_srv_error(out, 404, "the demo page is not installed (serve --web DIR)");
        else
            pdb_srv_error(out, 404, "no such path");
        return;
    }
    snprintf(out->etag, sizeof out->etag, "%s", f->etag);
    out->cache_control = "public, max-age=300";
    if (pdb_srv_etag_matches(in->if_none_match, f->etag)) {
        out->status = 304;
        return;
    }
    out->status = 200;
    pdb_srv_body_blob(out, f->content_type, f->body);
}

void pdb_srv_engine_error(pdb_srv_response *out, pdb_srv_worker *w)
{
    engine_error(out, w);
}

void pdb_srv_base_url(const pdb_srv *srv, const pdb_srv_in *in, char *out, size_t cap)
{
    base_url(srv, in, out, cap);
}

void pdb_srv_handle(pdb_srv *srv, const pdb_srv_in *in, pdb_srv_response *out)
{
    char err[PDB_SRV_ERRMAX], msg[PDB_SRV_ERRMAX];
    pdb_srv_request reqbuf, *req = &reqbuf; /* about 4.5 KiB: fine on a thread's stack */
    pdb_srv_worker *w;

    /* An extract is read as the lookup of its parcel's number, then made
     * instead of the lookup (extract_route.c). */
    char extract_uri[2048];
    int extract = pdb_srv_extract_uri(in->uri, extract_uri, sizeof extract_uri);
    int st =
        pdb_srv_request_parse(extract ? extract_uri : in->uri, &srv->limits, req, err, sizeof err);
    out->route = req->route;
    if (st != 0) {
        pdb_srv_error(out, st, "%s", err);
        goto done;
    }
    if (extract && req->route != PDB_SRV_ROUTE_PARCEL_NUMBER) {
        pdb_srv_error(out, 404, "no such path"); /* /parcels/at/extract.pdf and the like */
        goto done;
    }
    if (strcmp(in->method, "OPTIONS") == 0) {
        out->status = 204; /* CORS preflight: headers come from http.c */
        goto done;
    }
    int need_store = req->route != PDB_SRV_ROUTE_STATIC && req->route != PDB_SRV_ROUTE_METRICS &&
                     req->route != PDB_SRV_ROUTE_GLYPHS;
    if (srv->pmtiles != NULL && need_store) {
        pdb_srv_pmtiles_handle(srv, in, req, out); /* serve --pmtiles: no store */
        goto done;
    }
    if ((w = pdb_srv_worker_get(srv)) == NULL) {
        pdb_srv_error(out, 503, "out of memory");
        goto done;
    }
    int ready = srv->pmtiles == NULL && pdb_srv_worker_ready(w, 0, msg, sizeof msg) == 0;
    if (!ready && need_store && req->route != PDB_SRV_ROUTE_HEALTH) {
        pdb_srv_error(out, 503, "%s", msg);
        out->retry_after_s = 5;
        goto done;
    }
    const char *personal = NULL; /* the token's name when owners may be shown */
    if (req->route == PDB_SRV_ROUTE_PARCELS_AT || req->route == PDB_SRV_ROUTE_PARCEL_NUMBER ||
        req->route == PDB_SRV_ROUTE_PARCELS_BBOX || req->route == PDB_SRV_ROUTE_SEARCH ||
        req->route == PDB_SRV_ROUTE_OGCAPI || req->route == PDB_SRV_ROUTE_WMS) {
        if (authorised(in, w, &personal) < 0) {
            pdb_srv_error(out, 401, "the bearer token is not valid");
            out->www_authenticate = "Bearer error=\"invalid_token\"";
            goto done;
        }
    }
    if (req->route == PDB_SRV_ROUTE_EXPORT) {
        /* A whole commune's file: never public, whatever the token's role;
         * the owners only for a personal one. */
        int a = authorised(in, w, &personal);
        if (in->authorization == NULL || a < 0) {
            pdb_srv_error(out, 401, "GET /export needs a valid bearer token");
            out->www_authenticate =
                a < 0 ? "Bearer error=\"invalid_token\"" : "Bearer realm=\"parceldb\"";
            goto done;
        }
    }
    switch (req->route) {
    case PDB_SRV_ROUTE_STATIC:
        static_file(in, w, req, out);
        break;
    case PDB_SRV_ROUTE_TILE:
        pdb_srv_handle_tile(srv, w, in, req, out);
        break;
    case PDB_SRV_ROUTE_TILEJSON:
        tilejson(srv, in, w, out);
        break;
    case PDB_SRV_ROUTE_MVT_TILEJSON:
        tilejson_mvt(srv, in, w, out);
        break;
    case PDB_SRV_ROUTE_STYLE:
        maplibre_style(srv, in, w, out);
        break;
    case PDB_SRV_ROUTE_GLYPHS:
        glyphs(w, req, out);
        break;
    case PDB_SRV_ROUTE_PARCELS_AT:
        parcels_at(w, req, personal, out);
        break;
    case PDB_SRV_ROUTE_PARCEL_NUMBER:
        if (extract)
            pdb_srv_extract(w, req, extract, personal, out);
        else
            parcel_number(w, req, personal, out);
        break;
    case PDB_SRV_ROUTE_PARCELS_BBOX:
        parcels_bbox(srv, w, req, personal, out);
        break;
    case PDB_SRV_ROUTE_SEARCH:
        parcels_search(w, req, personal, out);
        break;
    case PDB_SRV_ROUTE_COMMUNES:
        communes(w, out);
        break;
    case PDB_SRV_ROUTE_OGCAPI:
        pdb_srv_ogcapi(srv, w, in, req, personal, out);
        break;
    case PDB_SRV_ROUTE_HEALTH:
        health(srv, w, ready ? NULL : msg, out);
        break;
    case PDB_SRV_ROUTE_METRICS:
        metrics(srv, w, out);
        break;
    case PDB_SRV_ROUTE_LINEAGE:
        pdb_srv_lineage(w, req, out);
        break;
    case PDB_SRV_ROUTE_CHANGE:
        pdb_srv_parcel_change(srv, w, in, req, out);
        break;
    case PDB_SRV_ROUTE_QA:
        pdb_srv_qa(w, in, req, out);
        break;
    case PDB_SRV_ROUTE_EXPORT:
        pdb_srv_export_route(w, req, personal, out);
        break;
    case PDB_SRV_ROUTE_WMS: {
        char base[400];
        base_url(srv, in, base, sizeof base);
        pdb_srv_handle_wms(srv, w, req, personal, base, out);
        break;
    }
    default:
        pdb_srv_error(out, 404, "no such path");
        break;
    }
done:
    return;
}
