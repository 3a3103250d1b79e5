/*
 * http.c: the only file with sockets: the listening socket and an
 * acceptor thread that hands each connection to the least busy of the
 * libmicrohttpd daemons (one thread each, epoll, keep-alive), the limits
 * (connections in all and per address, counted by the acceptor; idle
 * timeout and per-connection memory, by the daemons), and the translation
 * between their callbacks and the socket-free handlers.
 *
 * A request's life: the URI-log callback (first thing libmicrohttpd knows
 * of it) allocates our record, starts the clock and counts it in flight;
 * the access handler checks method, headers, body and rate, then lets
 * pdb_srv_handle answer; the completion callback logs, counts and frees.
 * Every request that got a record reaches the completion callback, also
 * when the client goes away.
 *
 * A cached tile is sent with a response made once and kept with its bytes
 * (a pdb_srv_blob's extra): libmicrohttpd counts its references, so every
 * connection queues the same one, headers and all, instead of building
 * and freeing a response, its body callback and nine headers each time
 * (issue 19). The request keeps the blob alive until it completes.
 */
#define _GNU_SOURCE /* accept4, pipe2: descriptors made close-on-exec at once */
#include "http.h"

#include "handlers.h"
#include "srv.h"
#include "util.h"

#include <microhttpd.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Bytes per connection: a request at our limits (2 KiB of URI, 64 header
 * lines of 8 KiB) with libmicrohttpd's own records of it, and the answer's
 * headers; 14 KiB is too little (server_bad_long_headers). libmicrohttpd
 * zeroes the pool for every request, so it is no larger: under callgrind
 * that memset is about half of a cached tile's instructions (issue 19). */
#define CONNECTION_MEMORY 16384
#define LISTEN_BACKLOG 1024 /* connections the kernel queues before accept */
/* Bytes of a change's POST body (a split's parts as GeoJSON): a parcel at
 * the engine's default limit of 100,000 vertices is about 4 MB of JSON. */
#define MAX_BODY (8u << 20)

#define CSP                                                                                        \
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "           \
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'"

#define MAX_DAEMONS                                                                                \
    PDB_SRV_HTTP_THREADS_MAX /* HTTP threads at most (--threads beyond: this many) */

/* One client address and its open connections (a slot of the table). */
typedef struct ip_slot {
    unsigned char addr[16]; /* IPv6, or IPv4 in its first 4 bytes */
    unsigned char len;      /* 4 or 16; 0 for an empty slot */
    unsigned open;          /* connections open */
} ip_slot;

/* One daemon per thread, fed by our own acceptor (see "Connections to
 * threads" below). */
struct pdb_srv_http {
    pdb_srv *srv;                            /* the server */
    unsigned n;                              /* daemons */
    struct MHD_Daemon *daemons[MAX_DAEMONS]; /* one thread each; their connections open are
                                                srv->metrics.thread_connections */
    struct daemon_ref {                      /* what each daemon's callbacks get */
        struct pdb_srv_http *h;              /* this */
        unsigned i;                          /* its index */
    } refs[MAX_DAEMONS];
    int listen_fd;           /* the listening socket, or -1 */
    int wake[2];             /* a pipe that stops the acceptor */
    pthread_t acceptor;      /* takes connections, hands them out */
    int accepting;           /* 1 while the acceptor runs */
    pthread_mutex_t ip_lock; /* guards ips and total */
    ip_slot *ips;            /* open connections per address */
    unsigned nips;           /* slots: a power of two, over twice
                                --max-connections */
    unsigned total;          /* open connections in all */
};

typedef struct http_req {
    uint64_t start_us;   /* when the request line arrived */
    char *uri;           /* raw request target (in uri_buf), or NULL when too long */
    pdb_srv_blob *blob;  /* the body's blob, held until completion, or NULL */
    int too_long;        /* 1 when the target is over PDB_SRV_MAX_URI */
    int headers_seen;    /* 1 after the first access-handler call */
    int answered;        /* 1 once a response is queued */
    int change;          /* 1: a POST to a change route, whose body is read into body */
    char *body;          /* the body read so far (malloc'd, NUL-terminated), or NULL */
    size_t body_len;     /* its bytes */
    size_t body_cap;     /* allocated */
    int status;          /* the status queued */
    size_t bytes;        /* body bytes queued */
    pdb_srv_route route; /* for logs and metrics */
    char method[8];      /* "GET", or "-" before the headers arrive */
    char uri_buf[];      /* the target's bytes: one allocation per request */
} http_req;

/* A response kept with a blob (see the top of the file). The blob's extra
 * is only ever one of these: http.c is the one that sets it. */
typedef struct shared_resp {
    pdb_srv_blob_extra base;   /* first, for the blob to free it */
    struct MHD_Response *resp; /* the body is the blob's bytes; one reference */
    char type[48];             /* Content-Type it was made with */
    char etag[80];             /* ETag, likewise (as pdb_srv_response's) */
    char cache_control[48];    /* Cache-Control, likewise */
    char vary[16];             /* Vary, likewise */
    char encoding[8];          /* Content-Encoding, likewise */
} shared_resp;

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
    pdb_srv *srv = cls;
    size_t n = strnlen(uri, PDB_SRV_MAX_URI + 1);
    http_req *r = malloc(sizeof *r + (n > PDB_SRV_MAX_URI ? 0 : n + 1));
    (void)c;
    if (r == NULL)
        return NULL;
    memset(r, 0, sizeof *r);
    r->start_us = pdb_srv_now_us();
    if (n > PDB_SRV_MAX_URI) {
        r->too_long = 1;
    } else {
        memcpy(r->uri_buf, uri, n);
        r->uri_buf[n] = '\0';
        r->uri = r->uri_buf;
    }
    strcpy(r->method, "-");
    atomic_fetch_add(&srv->metrics.inflight, 1);
    return r;
}

/* Sums the request's header lines, to refuse oversized ones with 431. */
typedef struct header_tally {
    size_t count; /* lines */
    size_t bytes; /* names and values */
    int body;     /* 1 when the request announces a body */
    int too_long; /* 1 when its Content-Length is over MAX_BODY */
} header_tally;

static enum MHD_Result tally_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    header_tally *t = cls;
    (void)kind;
    t->count++;
    t->bytes += strlen(key) + (value ? strlen(value) : 0);
    if (strcasecmp(key, "Transfer-Encoding") == 0 ||
        (strcasecmp(key, "Content-Length") == 0 && value && strcmp(value, "0") != 0))
        t->body = 1;
    if (strcasecmp(key, "Content-Length") == 0 && value &&
        (strlen(value) > 12 || strtoull(value, NULL, 10) > MAX_BODY))
        t->too_long = 1;
    return MHD_YES;
}

/* /health and /metrics are never rate-limited: monitoring must see an
 * overloaded server too. */
static int exempt_from_rate_limit(const char *uri)
{
    static const char *const paths[] = {"/health", "/metrics"};
    for (size_t i = 0; uri != NULL && i < sizeof paths / sizeof paths[0]; i++) {
        size_t n = strlen(paths[i]);
        if (strncmp(uri, paths[i], n) == 0 && (uri[n] == '\0' || uri[n] == '?'))
            return 1;
    }
    return 0;
}

static int add(struct MHD_Response *resp, const char *name, const char *value)
{
    return value == NULL || value[0] == '\0' ||
           MHD_add_response_header(resp, name, value) == MHD_YES;
}

/* The headers of an answer; 0 when out of memory. */
static int add_headers(pdb_srv *srv, struct MHD_Response *resp, const pdb_srv_response *out)
{
    char retry[16] = "";
    if (out->retry_after_s > 0)
        snprintf(retry, sizeof retry, "%d", out->retry_after_s);
    int ok = add(resp, "Access-Control-Allow-Origin", "*") &&
             add(resp, "X-Content-Type-Options", "nosniff") &&
             add(resp, MHD_HTTP_HEADER_CONTENT_TYPE, out->content_type) &&
             add(resp, MHD_HTTP_HEADER_ETAG, out->etag) &&
             add(resp, MHD_HTTP_HEADER_CACHE_CONTROL, out->cache_control) &&
             add(resp, MHD_HTTP_HEADER_VARY, out->vary) &&
             add(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, out->content_encoding) &&
             add(resp, MHD_HTTP_HEADER_ALLOW, out->allow) &&
             add(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, out->www_authenticate) &&
             add(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry) &&
             add(resp, "Content-Crs", out->content_crs) &&
             add(resp, "Content-Disposition", out->content_disposition);
    if (ok && out->status == 204)
        ok = add(resp, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS") &&
             add(resp, "Access-Control-Allow-Headers", "Authorization, If-None-Match") &&
             add(resp, "Access-Control-Max-Age", "86400");
    if (ok && out->content_type && strncmp(out->content_type, "text/html", 9) == 0)
        ok = add(resp, "Content-Security-Policy", CSP) &&
             add(resp, "Referrer-Policy", "no-referrer");
    if (ok && (out->close || atomic_load(&srv->draining)))
        ok = add(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    return ok;
}

static void shared_free(pdb_srv_blob_extra *x)
{
    shared_resp *s = (shared_resp *)x;
    if (s->resp != NULL)
        MHD_destroy_response(s->resp);
    free(s);
}

/* Copies a header value into a shared_resp field; 0 when it does not fit. */
static int keep(char *dst, size_t cap, const char *v)
{
    size_t n = v ? strlen(v) : 0;
    if (n >= cap)
        return 0;
    memcpy(dst, v ? v : "", n + 1);
    return 1;
}

static int same(const char *kept, const char *v)
{
    return strcmp(kept, v ? v : "") == 0;
}

/* The response kept with out's blob when it has the very headers out asks
 * for (made and kept now when the blob has none); NULL when this answer
 * must be built for itself. */
static struct MHD_Response *shared_response(pdb_srv *srv, const pdb_srv_response *out)
{
    /* Only a plain 200, whose varying headers a shared_resp records. */
    if (out->blob == NULL || out->status != 200 || out->len == 0 || out->close ||
        out->retry_after_s > 0 || out->allow != NULL || out->www_authenticate != NULL ||
        atomic_load(&srv->draining))
        return NULL;
    shared_resp *s = (shared_resp *)pdb_srv_blob_extra_get(out->blob);
    if (s == NULL) {
        if ((s = calloc(1, sizeof *s)) == NULL)
            return NULL;
        s->base.free = shared_free;
        if (!keep(s->type, sizeof s->type, out->content_type) ||
            !keep(s->etag, sizeof s->etag, out->etag) ||
            !keep(s->cache_control, sizeof s->cache_control, out->cache_control) ||
            !keep(s->vary, sizeof s->vary, out->vary) ||
            !keep(s->encoding, sizeof s->encoding, out->content_encoding) ||
            (s->resp = MHD_create_response_from_buffer(out->len, (void *)out->body,
                                                       MHD_RESPMEM_PERSISTENT)) == NULL ||
            !add_headers(srv, s->resp, out)) {
            shared_free(&s->base);
            return NULL;
        }
        shared_resp *kept = (shared_resp *)pdb_srv_blob_extra_set(out->blob, &s->base);
        if (kept != s) {
            shared_free(&s->base); /* another thread kept one first */
            s = kept;
        }
    }
    /* Another ETag (the change log's epoch moved, or the one empty tile
     * shown for many places): built for itself. */
    if (!same(s->etag, out->etag) || !same(s->type, out->content_type) ||
        !same(s->cache_control, out->cache_control) || !same(s->vary, out->vary) ||
        !same(s->encoding, out->content_encoding))
        return NULL;
    return s->resp;
}

/* What the completion callback logs and counts. */
static void answered(http_req *r, const pdb_srv_response *out)
{
    r->answered = 1;
    r->status = out->status;
    r->bytes = out->status == 304 || out->status == 204 ? 0 : out->len;
    r->route = out->route;
}

static enum MHD_Result queue(pdb_srv *srv, struct MHD_Connection *c, http_req *r,
                             const pdb_srv_response *out)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if ((resp = shared_response(srv, out)) != NULL) {
        /* out's reference to the blob keeps the bytes until completion. */
        r->blob = out->blob;
        answered(r, out);
        return MHD_queue_response(c, (unsigned)out->status, resp);
    }
    if (out->has_file) {
        /* A file's bytes (an export): libmicrohttpd sends them as they are
         * read, and closes the descriptor with the response. */
        resp = MHD_create_response_from_fd64(out->len, out->file_fd);
        if (resp == NULL)
            close(out->file_fd);
    } else if (out->body != NULL && out->len > 0) {
        resp = MHD_create_response_from_buffer_with_free_callback_cls(
            out->len, (void *)out->body, out->release, out->release_cls);
    } else {
        if (out->release != NULL)
            out->release(out->release_cls);
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (resp == NULL) {
        if (out->body != NULL && out->len > 0 && out->release != NULL)
            out->release(out->release_cls);
        return MHD_NO; /* out of memory: libmicrohttpd closes the connection */
    }
    ret = add_headers(srv, resp, out) ? MHD_queue_response(c, (unsigned)out->status, resp) : MHD_NO;
    MHD_destroy_response(resp);
    answered(r, out);
    return ret;
}

static enum MHD_Result ahc(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                           const char *version, const char *upload_data, size_t *upload_data_size,
                           void **con_cls)
{
    pdb_srv *srv = cls;
    http_req *r = *con_cls;
    pdb_srv_response out;
    (void)url, (void)version;

    if (r == NULL)
        return MHD_NO; /* no memory for the record: drop the connection */
    if (r->answered) {
        *upload_data_size = 0; /* a body we refused: discard what arrives */
        return MHD_YES;
    }
    memset(&out, 0, sizeof out);
    size_t ml = strlen(method);
    if (ml < sizeof r->method)
        memcpy(r->method, method, ml + 1);
    else
        strcpy(r->method, "?");

    header_tally t = {0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, tally_header, &t);
    if (!r->headers_seen) {
        /* First call, headers read. A request with a body is refused at
         * once (and the connection closed, the body unread). Any other
         * answer waits for the second call: libmicrohttpd 0.9.75 closes
         * the connection when a response is queued in the first one,
         * which would defeat keep-alive. */
        r->headers_seen = 1;
        if (!t.body)
            return MHD_YES;
        /* Only a change takes a body, and only up to MAX_BODY. */
        if (strcmp(method, "POST") == 0 && r->uri != NULL && pdb_srv_uri_is_change(r->uri) &&
            !t.too_long) {
            r->change = 1;
            return MHD_YES;
        }
        if (t.too_long && r->uri != NULL && pdb_srv_uri_is_change(r->uri))
            pdb_srv_error(&out, 413, "the request body is over %u bytes", MAX_BODY);
        else
            pdb_srv_error(&out, 413, "this API takes no request body");
        out.close = 1;
        return queue(srv, c, r, &out);
    }
    if (r->change && *upload_data_size > 0) {
        /* A change's body, in the pieces libmicrohttpd hands over. */
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->body_len + n > MAX_BODY) {
            pdb_srv_error(&out, 413, "the request body is over %u bytes", MAX_BODY);
            out.close = 1;
            return queue(srv, c, r, &out);
        }
        if (r->body_len + n + 1 > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap : 4096;
            while (cap < r->body_len + n + 1)
                cap *= 2;
            char *nb = realloc(r->body, cap);
            if (nb == NULL)
                return MHD_NO; /* out of memory: libmicrohttpd closes the connection */
            r->body = nb;
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload_data, n);
        r->body_len += n;
        r->body[r->body_len] = '\0';
        return MHD_YES;
    }
    int is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    int retry = 0;

    if (r->too_long) {
        pdb_srv_error(&out, 414, "the request URI is longer than %d bytes", PDB_SRV_MAX_URI);
    } else if (!is_get && strcmp(method, "OPTIONS") != 0 &&
               !(strcmp(method, "POST") == 0 && r->uri != NULL && pdb_srv_uri_is_change(r->uri))) {
        pdb_srv_error(&out, 405, "method %s is not allowed; use GET", r->method);
        out.allow = "GET, HEAD, OPTIONS";
    } else if (t.count > PDB_SRV_MAX_HEADERS || t.bytes > PDB_SRV_MAX_HEADER_BYTES) {
        pdb_srv_error(&out, 431, "request headers over %d lines or %d bytes", PDB_SRV_MAX_HEADERS,
                      PDB_SRV_MAX_HEADER_BYTES);
        out.close = 1;
    } else if (srv->ratelimit != NULL && ci != NULL && ci->client_addr != NULL &&
               !exempt_from_rate_limit(r->uri) &&
               !pdb_srv_ratelimit_allow(
                   srv->ratelimit,
                   ci->client_addr->sa_family == AF_INET6
                       ? (const void *)&((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr
                       : (const void *)&((const struct sockaddr_in *)ci->client_addr)->sin_addr,
                   ci->client_addr->sa_family == AF_INET6 ? 16 : 4, pdb_srv_now_us() / 1e6,
                   &retry)) {
        pdb_srv_error(&out, 429, "too many requests; slow down");
        out.retry_after_s = retry > 0 ? retry : 1;
        atomic_fetch_add_explicit(&srv->metrics.rate_limited, 1, memory_order_relaxed);
    } else {
        pdb_srv_in in = {
            .method = method,
            .uri = r->uri ? r->uri : "/",
            .if_none_match =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH),
            .authorization =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
            .host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST),
            .accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT),
            .accept_encoding =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING),
            .body = r->body,
            .body_len = r->body_len,
        };
        pdb_srv_handle(srv, &in, &out);
    }
    if (out.status == 0)
        pdb_srv_error(&out, 500, "no answer");
    return queue(srv, c, r, &out);
}

/* The access log's clock, "2026-12-03T12:50:18.123Z" in out (at least 32
 * bytes); returns its length. The part to the second is formatted once a
 * second per thread: gmtime and strftime for every line cost more than
 * the rest of the line. */
static size_t log_time(char *out)
{
    static _Thread_local time_t sec = (time_t)-1; /* the second text holds */
    static _Thread_local char text[24];           /* "2026-12-03T12:50:18" */
    static _Thread_local size_t len;              /* its length */
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        len = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
        sec = ts.tv_sec;
    }
    long ms = ts.tv_nsec / 1000000L;
    memcpy(out, text, len);
    out[len] = '.';
    out[len + 1] = (char)('0' + ms / 100);
    out[len + 2] = (char)('0' + ms / 10 % 10);
    out[len + 3] = (char)('0' + ms % 10);
    out[len + 4] = 'Z';
    return len + 5;
}

/* One whole line to stderr in one write(2), as stdio wrote it before,
 * without stdio's lock. */
static void write_line(const char *line, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, line, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* a log that cannot be written is not a reason to fail */
        line += w;
        n -= (size_t)w;
    }
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    pdb_srv *srv = cls;
    http_req *r = *con_cls;
    (void)c;
    if (r == NULL)
        return;
    uint64_t us = pdb_srv_now_us() - r->start_us;
    if (r->answered)
        pdb_srv_metrics_request(&srv->metrics, r->route, r->status, us, r->bytes);
    if (srv->opt.access_log) {
        char path[256], line[512];
        size_t n = log_time(line);
        if (r->uri != NULL)
            pdb_srv_log_path(r->uri, path, sizeof path);
        else
            snprintf(path, sizeof path, "(over %d bytes)", PDB_SRV_MAX_URI);
        /* One write per line: lines of different threads never mix. No
         * client address, no query values, no header: nothing personal
         * reaches the log. Milliseconds as integers: the "%.3f" of
         * us / 1000.0, without printf's floating point. */
        unsigned long long ms = us / 1000, frac = us % 1000;
        int k;
        if (r->answered)
            k = snprintf(line + n, sizeof line - n, " %s %s %d %zu %llu.%03llums%s\n", r->method,
                         path, r->status, r->bytes, ms, frac,
                         toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted");
        else
            k = snprintf(line + n, sizeof line - n, " %s %s - 0 %llu.%03llums closed\n", r->method,
                         path, ms, frac);
        if (k > 0)
            write_line(line, n + (size_t)k < sizeof line ? n + (size_t)k : sizeof line - 1);
    }
    atomic_fetch_sub(&srv->metrics.inflight, 1);
    pdb_srv_blob_unref(r->blob);
    free(r->body);
    free(r);
    *con_cls = NULL;
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    fprintf(stderr, "parceldb serve: http: %s\n", line);
}

/* "host:port" or "[v6]:port" -> a socket address. */
static int resolve(const char *listen, struct sockaddr_storage *ss, socklen_t *len, char *msg,
                   size_t cap)
{
    char host[256], port[16];
    const char *colon;
    struct addrinfo hints, *res = NULL;

    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof host) {
            snprintf(msg, cap, "--listen '%s': use HOST:PORT or [IPV6]:PORT", listen);
            return -1;
        }
        memcpy(host, listen + 1, (size_t)(close - listen - 1));
        host[close - listen - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (colon == NULL || (size_t)(colon - listen) >= sizeof host || colon == listen) {
            snprintf(msg, cap, "--listen '%s': use HOST:PORT or [IPV6]:PORT", listen);
            return -1;
        }
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
    }
    if (strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof port ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1) || atol(colon + 1) > 65535) {
        snprintf(msg, cap, "--listen '%s': the port must be 0 to 65535", listen);
        return -1;
    }
    snprintf(port, sizeof port, "%s", colon + 1);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || res == NULL) {
        snprintf(msg, cap, "--listen '%s': %s", listen, gai_strerror(rc));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Connections to threads                                                   */
/* ------------------------------------------------------------------------ */

/* libmicrohttpd's own thread pool lets every pool thread accept from the
 * one listening socket, and a connection stays on the thread that took
 * it: two connections opened at once (wrk's, a browser's several for a
 * map's tiles) could share one thread for their keep-alive life while
 * another idled, halving a map's speed (docs/benchmarks.md, WMS and OGC
 * API, session 30). So the server accepts itself: one acceptor thread
 * gives each connection to the daemon (one thread each, the workers of
 * worker.c) with the fewest open, and counts the per-address and total
 * limits that a daemon could only count for its own share. */

/* A client address as the table keys it. */
static int ip_key(const struct sockaddr *sa, unsigned char key[16])
{
    if (sa->sa_family == AF_INET) {
        memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 4;
    }
    if (sa->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return 16;
    }
    return 0;
}

/* The address's slot: its own, or the empty one where it would go; NULL
 * when the table is full of others. Under ip_lock. */
static ip_slot *ip_find(pdb_srv_http *h, const unsigned char *key, int len)
{
    uint32_t hash = 2166136261u;
    for (int i = 0; i < len; i++)
        hash = (hash ^ key[i]) * 16777619u;
    ip_slot *empty = NULL;
    for (unsigned k = 0; k < h->nips; k++) {
        ip_slot *s = &h->ips[(hash + k) & (h->nips - 1)];
        if (s->len == len && memcmp(s->addr, key, (size_t)len) == 0)
            return s;
        if (s->len == 0) {
            if (empty == NULL)
                empty = s;
            if (s->open == 0)
                break; /* never used: the address is not further on */
        }
    }
    return empty;
}

/* Counts a new connection from sa in, or says no (1 admitted, 0 not):
 * --max-connections in all, --max-per-ip from one address. */
static int admit(pdb_srv_http *h, const struct sockaddr *sa)
{
    unsigned char key[16];
    int len = ip_key(sa, key), ok = 0;
    pthread_mutex_lock(&h->ip_lock);
    ip_slot *s = len ? ip_find(h, key, len) : NULL;
    if (h->total < h->srv->opt.max_connections &&
        (len == 0 || (s != NULL && (s->len == 0 || s->open < h->srv->opt.max_per_ip)))) {
        if (s != NULL) {
            if (s->len == 0) {
                memcpy(s->addr, key, (size_t)len);
                s->len = (unsigned char)len;
                s->open = 0;
            }
            s->open++;
        }
        h->total++;
        ok = 1;
    }
    pthread_mutex_unlock(&h->ip_lock);
    return ok;
}

/* A connection from sa closed: its counts out. An emptied slot keeps
 * open 0 and len 0 but stays "used" for ip_find's probing (tombstone). */
static void release(pdb_srv_http *h, const struct sockaddr *sa)
{
    unsigned char key[16];
    int len = sa != NULL ? ip_key(sa, key) : 0;
    pthread_mutex_lock(&h->ip_lock);
    ip_slot *s = len ? ip_find(h, key, len) : NULL;
    if (s != NULL && s->len != 0 && s->open > 0 && --s->open == 0) {
        s->len = 0;
        s->open = 1; /* a tombstone: probing goes on past it */
    }
    if (h->total > 0)
        h->total--;
    pthread_mutex_unlock(&h->ip_lock);
}

/* libmicrohttpd's word on a connection of daemon ref->i: opened (counted
 * already by the acceptor) or closed. */
static void notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe)
{
    struct daemon_ref *ref = cls;
    (void)socket_context;
    if (toe != MHD_CONNECTION_NOTIFY_CLOSED)
        return;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    release(ref->h, ci != NULL ? ci->client_addr : NULL);
    atomic_fetch_sub(&ref->h->srv->metrics.thread_connections[ref->i], 1);
}

/* The daemon with the fewest open connections (the first on ties). */
static unsigned least_busy(pdb_srv_http *h)
{
    atomic_uint *open = h->srv->metrics.thread_connections;
    unsigned best = 0, fewest = atomic_load(&open[0]);
    for (unsigned i = 1; i < h->n; i++) {
        unsigned o = atomic_load(&open[i]);
        if (o < fewest) {
            fewest = o;
            best = i;
        }
    }
    return best;
}

static void *acceptor(void *arg)
{
    pdb_srv_http *h = arg;
    struct pollfd p[2] = {{.fd = h->listen_fd, .events = POLLIN},
                          {.fd = h->wake[0], .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents != 0)
            break; /* quiesce or stop */
        if (p[0].revents == 0)
            continue;
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(h->listen_fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                poll(NULL, 0, 10); /* out of descriptors: let some close */
            continue;
        }
        if (!admit(h, (struct sockaddr *)&ss)) {
            close(fd); /* over a limit: refused, as libmicrohttpd refuses */
            continue;
        }
        unsigned d = least_busy(h);
        atomic_fetch_add(&h->srv->metrics.thread_connections[d], 1);
        /* libmicrohttpd closes fd when it cannot take it; it has not told
         * notify_connection of it then. */
        if (MHD_add_connection(h->daemons[d], fd, (struct sockaddr *)&ss, len) != MHD_YES) {
            release(h, (struct sockaddr *)&ss);
            atomic_fetch_sub(&h->srv->metrics.thread_connections[d], 1);
        }
    }
    return NULL;
}

/* The listening socket for ss, as libmicrohttpd made it: address reuse
 * (SO_REUSEADDR and SO_REUSEPORT), IPv6 only on an IPv6 address. */
static int listen_on(const struct sockaddr_storage *ss, socklen_t sslen, unsigned *port)
{
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), on = 1;
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    if (ss->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (bind(fd, (const struct sockaddr *)ss, sslen) != 0 || listen(fd, LISTEN_BACKLOG) != 0 ||
        getsockname(fd, (struct sockaddr *)&bound, &blen) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                              : ((struct sockaddr_in *)&bound)->sin_port);
    return fd;
}

static void stop_accepting(pdb_srv_http *h)
{
    if (h->accepting) {
        ssize_t w = write(h->wake[1], "x", 1);
        (void)w;
        pthread_join(h->acceptor, NULL);
        h->accepting = 0;
    }
    if (h->listen_fd >= 0) {
        close(h->listen_fd);
        h->listen_fd = -1;
    }
}

int pdb_srv_http_start(pdb_srv *srv, pdb_srv_http **out, unsigned *port, char *msg, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    pdb_srv_http *h;

    *out = NULL;
    if (resolve(srv->opt.listen, &ss, &sslen, msg, cap) != 0)
        return -1;
    if ((h = calloc(1, sizeof *h)) == NULL) {
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    h->srv = srv;
    h->n = srv->opt.threads < MAX_DAEMONS ? srv->opt.threads : MAX_DAEMONS;
    atomic_store(&srv->metrics.http_threads, h->n);
    h->wake[0] = h->wake[1] = -1;
    h->listen_fd = -1;
    pthread_mutex_init(&h->ip_lock, NULL);
    /* Every open connection's address fits, with room to probe. */
    for (h->nips = 64; h->nips < 2 * (size_t)srv->opt.max_connections + 2 && h->nips < (1u << 30);)
        h->nips *= 2;
    if ((h->ips = calloc(h->nips, sizeof *h->ips)) == NULL) {
        snprintf(msg, cap, "out of memory");
        pdb_srv_http_stop(h);
        return -1;
    }
    if ((h->listen_fd = listen_on(&ss, sslen, port)) < 0) {
        snprintf(msg, cap, "cannot listen on %s (address in use, or not permitted)",
                 srv->opt.listen);
        pdb_srv_http_stop(h);
        return -1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET;
    for (unsigned i = 0; i < h->n; i++) {
        h->refs[i] = (struct daemon_ref){h, i};
        /* Limits are the acceptor's; a daemon's own are only a backstop. */
        h->daemons[i] = MHD_start_daemon(
            flags, 0, NULL, NULL, ahc, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, srv,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)srv->opt.max_connections,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)srv->opt.timeout_s,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
            MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_URI_LOG_CALLBACK, uri_log, srv,
            MHD_OPTION_NOTIFY_COMPLETED, completed, srv, MHD_OPTION_NOTIFY_CONNECTION,
            notify_connection, &h->refs[i], MHD_OPTION_END);
        if (h->daemons[i] == NULL) {
            snprintf(msg, cap, "cannot start the HTTP thread %u of %u", i + 1, h->n);
            pdb_srv_http_stop(h);
            return -1;
        }
    }
    if (pipe2(h->wake, O_CLOEXEC) != 0 || pthread_create(&h->acceptor, NULL, acceptor, h) != 0) {
        snprintf(msg, cap, "cannot start the connection acceptor: %s", strerror(errno));
        pdb_srv_http_stop(h);
        return -1;
    }
    h->accepting = 1;
    *out = h;
    return 0;
}

void pdb_srv_http_quiesce(pdb_srv_http *h)
{
    stop_accepting(h);
}

void pdb_srv_http_stop(pdb_srv_http *h)
{
    if (h == NULL)
        return;
    stop_accepting(h);
    for (unsigned i = 0; i < h->n; i++)
        if (h->daemons[i] != NULL)
            MHD_stop_daemon(h->daemons[i]);
    for (int i = 0; i < 2; i++)
        if (h->wake[i] >= 0)
            close(h->wake[i]);
    pthread_mutex_destroy(&h->ip_lock);
    free(h->ips);
    free(h);
}
