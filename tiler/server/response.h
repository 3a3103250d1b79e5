/*
 * response.h: the socket-free request/response pair: what a handler sees
 * of a request, and what it answers, which http.c (the one file with
 * sockets) sends. Plus the helpers that fill an answer's body.
 */
#ifndef PDB_SRV_RESPONSE_H
#define PDB_SRV_RESPONSE_H

#include "cache.h"
#include "parse.h"

#include <jansson.h>
#include <stddef.h>

/* The socket-free view of a request that handlers see. */
typedef struct pdb_srv_in {
    const char *method;          /* "GET", "HEAD", "OPTIONS", or "POST" to a change route */
    const char *uri;             /* raw request target, with its query */
    const char *if_none_match;   /* header or NULL */
    const char *authorization;   /* header or NULL */
    const char *host;            /* header or NULL */
    const char *accept;          /* header or NULL (OGC API: HTML or JSON) */
    const char *accept_encoding; /* header or NULL (vector tiles: gzip) */
    const char *body;            /* a change's POST body (NUL-terminated), or NULL */
    size_t body_len;             /* its bytes */
} pdb_srv_in;

/* What a handler answers; http.c turns it into a response. */
typedef struct pdb_srv_response {
    int status;                   /* HTTP status */
    const char *content_type;     /* NULL for no body */
    const void *body;             /* bytes, or NULL */
    size_t len;                   /* bytes in body */
    void (*release)(void *cls);   /* frees body once sent (may be NULL) */
    void *release_cls;            /* its argument */
    pdb_srv_blob *blob;           /* the blob body comes from (its reference is release_cls) */
    char etag[80];                /* quoted entity tag, or "" */
    const char *cache_control;    /* or NULL */
    const char *vary;             /* or NULL */
    const char *content_encoding; /* "gzip" for a compressed body, or NULL */
    const char *allow;            /* for 405 */
    const char *www_authenticate; /* for 401 */
    int retry_after_s;            /* > 0: a Retry-After header */
    int close;                    /* 1: close the connection afterwards */
    char content_crs[112];        /* OGC API Part 2 Content-Crs value ("<uri>"), or "" */
    char content_disposition[96]; /* Content-Disposition value (a download's name), or "" */
    int file_fd;                  /* with has_file: the body is this open file, len bytes,
                                     sent from the kernel (sendfile) and closed once sent */
    int has_file;                 /* 1: file_fd is the body (body is NULL) */
    pdb_srv_route route;          /* for logs and metrics */
} pdb_srv_response;

/* Fills out with a JSON error {"error": "..."}. */
void pdb_srv_error(pdb_srv_response *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A body of malloc'd bytes (released with free). */
void pdb_srv_body_malloced(pdb_srv_response *out, const char *type, void *body, size_t len);
/* A body of a blob (a reference is taken). */
void pdb_srv_body_blob(pdb_srv_response *out, const char *type, pdb_srv_blob *b);
/* A 200 answer of doc as compact JSON, uncached (doc is taken over); 503
 * when out of memory. */
void pdb_srv_body_json(pdb_srv_response *out, const char *type, json_t *doc);
void pdb_srv_release_blob(void *cls);

#define PDB_SRV_FIXED9_MAX 48 /* bytes pdb_srv_fixed9 may write, with the NUL */

/* v as snprintf's "%.9f" writes it, byte for byte, without printf for the values a
 * lookup echoes (below 1e6; printf past that, cut at the buffer past about
 * 1e37); returns the length. */
size_t pdb_srv_fixed9(double v, char buf[PDB_SRV_FIXED9_MAX]);

#endif
