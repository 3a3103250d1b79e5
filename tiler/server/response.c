/*
 * response.c: filling answers (response.h): bodies, JSON errors.
 */
#include "response.h"

#include <stdarg.h>
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
