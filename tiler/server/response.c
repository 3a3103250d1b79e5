/*
 * response.c: filling answers (response.h): bodies, JSON errors.
 */
#include "response.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON "application/json"

void pdb_srv_release_blob(void *cls)
{
    pdb_srv_blob_unref(cls);
}

void pdb_srv_body_malloced(pdb_srv_response *out, const char *type, void *body, size_t len)
{
    out->content_type = type;
    out->body = body;
    out->len = len;
    out->release = free;
    out->release_cls = body;
    out->blob = NULL;
}

void pdb_srv_body_blob(pdb_srv_response *out, const char *type, pdb_srv_blob *b)
{
    out->content_type = type;
    out->body = b->data;
    out->len = b->len;
    out->release = pdb_srv_release_blob;
    out->release_cls = pdb_srv_blob_ref(b);
    out->blob = b;
}

void pdb_srv_error(pdb_srv_response *out, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    out->status = status;
    /* json_dumps escapes; a message that is not UTF-8 (it can quote a
     * client's bytes) falls back to a fixed text. */
    json_t *doc = json_pack("{s:s}", "error", msg);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL) {
        out->content_type = JSON;
        out->body = "{\"error\":\"bad request\"}";
        out->len = strlen(out->body);
        out->blob = NULL;
        return;
    }
    pdb_srv_body_malloced(out, JSON, text, strlen(text));
    out->cache_control = "no-store";
}

void pdb_srv_body_json(pdb_srv_response *out, const char *type, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL) {
        pdb_srv_error(out, 503, "out of memory");
        return;
    }
    out->status = 200;
    pdb_srv_body_malloced(out, type, text, strlen(text));
    out->cache_control = "no-cache";
}

size_t pdb_srv_fixed9(double v, char buf[PDB_SRV_FIXED9_MAX])
{
    double a = fabs(v);
    if (a < 1e6) {
        /* "%.9f" rounds the exact binary value to 9 decimals. n is that
         * rounding unless the product was a near tie, which fma's nearly
         * exact remainder tells apart; printf takes those. */
        double n = round(a * 1e9);
        if (fabs(fma(a, 1e9, -n)) < 0.4999) {
            /* Digits from the right: nine decimals, the point, the rest. */
            uint64_t u = (uint64_t)n;
            char tmp[32], *p = tmp + sizeof tmp;
            for (int i = 0; i < 9; i++, u /= 10)
                *--p = (char)('0' + u % 10);
            *--p = '.';
            do
                *--p = (char)('0' + u % 10);
            while ((u /= 10) != 0);
            if (signbit(v))
                *--p = '-'; /* printf keeps the sign of -0 and of what rounds to 0 */
            size_t len = (size_t)(tmp + sizeof tmp - p);
            memcpy(buf, p, len);
            buf[len] = '\0';
            return len;
        }
    }
    int n = snprintf(buf, PDB_SRV_FIXED9_MAX, "%.9f", v);
    return n > 0 && n < PDB_SRV_FIXED9_MAX ? (size_t)n : strlen(buf);
}
