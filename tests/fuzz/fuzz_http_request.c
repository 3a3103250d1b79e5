/*
 * fuzz_http_request: the server's request parser (tiler/server/parse.c)
 * on arbitrary bytes, without sockets. The input's first line is the
 * request URI as a client sends it; the rest is used as the values of the
 * headers the server parses (If-None-Match, Authorization). Every
 * parameter value then goes through the strict number and bbox parsers,
 * as the handlers do, and the access-log line is written at several
 * sizes. Besides the sanitizers it checks the parser's promises: tile
 * numbers in range, pointers inside the request, a log line that is
 * printable ASCII, NUL-terminated and within its buffer.
 */
#include "parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz_http_request: check failed: %s (line %d)\n", #cond,    \
                    __LINE__);                                                           \
            abort();                                                                     \
        }                                                                                \
    } while (0)

static int in_buf(const pdb_srv_request *req, const char *p)
{
    return p >= req->buf && p < req->buf + sizeof req->buf;
}

static void check_log_path(const char *uri)
{
    static const size_t caps[] = {0, 1, 7, 8, 9, 16, 64, 300, 5000};
    for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
        size_t cap = caps[k];
        char *out = malloc(cap ? cap : 1);
        CHECK(out != NULL);
        pdb_srv_log_path(uri, out, cap);
        if (cap > 0) {
            size_t n = strnlen(out, cap);
            CHECK(n < cap);
            for (size_t i = 0; i < n; i++)
                CHECK((unsigned char)out[i] >= 0x21 && (unsigned char)out[i] < 0x7f);
        }
        free(out);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pdb_srv_request req; /* 4 KB: kept off the stack */
    char err[256];
    const uint8_t *nl = memchr(data, '\n', size);
    size_t ulen = nl ? (size_t)(nl - data) : size;
    char *uri = malloc(ulen + 1);
    size_t rest = nl ? size - ulen - 1 : 0;
    char *hdr = malloc(rest + 1);

    if (uri == NULL || hdr == NULL)
        abort();
    memcpy(uri, data, ulen);
    uri[ulen] = '\0';
    memcpy(hdr, nl ? nl + 1 : data, rest);
    hdr[rest] = '\0';

    /* The zoom limit comes from the last byte, so that small and large
     * limits are both exercised (0 takes the default). */
    pdb_srv_parse_limits lim = {.max_zoom = size ? data[size - 1] % 32 : 0};
    int st = pdb_srv_request_parse(uri, &lim, &req, err, sizeof err);
    CHECK(strnlen(err, sizeof err) < sizeof err);
    if (st == 0) {
        CHECK(req.route > PDB_SRV_ROUTE_OTHER && req.route < PDB_SRV_ROUTE_COUNT);
        CHECK(req.nsegments <= PDB_SRV_MAX_SEGMENTS);
        CHECK(req.nparams <= PDB_SRV_MAX_PARAMS);
        for (size_t i = 0; i < req.nsegments; i++)
            CHECK(in_buf(&req, req.segment[i]));
        if (req.route == PDB_SRV_ROUTE_TILE) {
            CHECK(req.z >= 0 && req.z <= 24);
            CHECK(((uint64_t)req.x >> req.z) == 0 && ((uint64_t)req.y >> req.z) == 0);
            CHECK(req.scale == 1 || req.scale == 2);
        }
        if (req.route == PDB_SRV_ROUTE_PARCEL_NUMBER) {
            CHECK(strlen(req.commune) == 5);
            CHECK(strlen(req.sheet) >= 1 && strlen(req.sheet) <= PDB_SRV_MAX_ID_TEXT);
            CHECK(strlen(req.parcel) >= 1 && strlen(req.parcel) <= PDB_SRV_MAX_ID_TEXT);
        }
        if (req.route == PDB_SRV_ROUTE_STATIC) {
            CHECK(req.file != NULL);
            /* No segment of the file name is "." or "..". */
            for (const char *f = req.file; *f;) {
                size_t n = strcspn(f, "/");
                CHECK(n > 0 && !(n == 1 && f[0] == '.') && !(n == 2 && !memcmp(f, "..", 2)));
                f += n + (f[n] == '/');
            }
        }
        for (size_t i = 0; i < req.nparams; i++) {
            const pdb_srv_param *p = &req.param[i];
            CHECK(in_buf(&req, p->name) && in_buf(&req, p->value));
            CHECK(p->name[0] != '\0');
            CHECK(pdb_srv_param_get(&req, p->name) == p->value);
            double d, box[4];
            uint64_t u;
            if (pdb_srv_parse_double(p->name, p->value, -180, 180, &d, err, sizeof err) == 0)
                CHECK(d >= -180 && d <= 180);
            if (pdb_srv_parse_uint(p->name, p->value, 10000, &u, err, sizeof err) == 0)
                CHECK(u <= 10000);
            if (pdb_srv_parse_bbox(p->value, (double)(i % 3), box, err, sizeof err) == 0)
                CHECK(box[0] < box[2] && box[1] < box[3] && box[0] >= -180 && box[3] <= 90);
        }
    } else {
        CHECK(st == 400 || st == 404 || st == 414);
        CHECK(req.route == PDB_SRV_ROUTE_OTHER);
    }
    check_log_path(uri);

    /* The header values: the rest of the input, whole. */
    (void)pdb_srv_etag_matches(hdr, "\"v12-ab34\"");
    (void)pdb_srv_etag_matches(hdr, "W/\"v1\"");
    const char *tok = NULL;
    size_t tn = pdb_srv_bearer_token(hdr, &tok);
    if (tn > 0)
        CHECK(tok != NULL && tok >= hdr && tok + tn <= hdr + rest);
    else
        CHECK(tok == NULL);

    free(uri);
    free(hdr);
    return 0;
}
