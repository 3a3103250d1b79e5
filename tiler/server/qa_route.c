/*
 * qa_route.c: GET /qa/{commune}. The server runs the quality checks on
 * demand rather than serving a report stored by `parceldb qa` or
 * `import --qa`: an on-demand report is of the data as it is now, never
 * of a run that changes or imports have since made stale, and needs no
 * table in either store. It is kept per commune while the commune's data
 * version stays, so that asking again costs nothing, and one report is
 * made at a time over all threads (each holds a core for about a second),
 * others answered 503 meanwhile.
 */
#include "qa_route.h"

#include "auth.h"
#include "cache.h"
#include "srv.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* One commune's report. */
typedef struct qa_entry {
    char commune[8];     /* its code, "" for a free slot */
    int64_t version;     /* the commune's data version read before the report was made */
    unsigned store_gen;  /* the server's store (srv->store_gen) it was read from: a store
                            reopened or replaced (SIGHUP) is another */
    pdb_srv_blob *json;  /* the report, as served */
    uint64_t last_asked; /* the tick of the last request served from it */
} qa_entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER; /* guards cache and tick */
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;   /* held while a report is made */
static qa_entry cache[PDB_SRV_QA_CACHE];
static uint64_t tick;

/* The report of (commune, version), a new reference, or NULL. */
static pdb_srv_blob *cache_find(const char *commune, int64_t version, unsigned store_gen)
{
    pdb_srv_blob *b = NULL;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < PDB_SRV_QA_CACHE; i++)
        if (strcmp(cache[i].commune, commune) == 0 && cache[i].version == version &&
            cache[i].store_gen == store_gen) {
            cache[i].last_asked = ++tick;
            b = pdb_srv_blob_ref(cache[i].json);
            break;
        }
    pthread_mutex_unlock(&cache_lock);
    return b;
}

/* Keeps a report in the commune's slot, else a free one, else the least
 * recently asked. */
static void cache_put(const char *commune, int64_t version, unsigned store_gen, pdb_srv_blob *json)
{
    pthread_mutex_lock(&cache_lock);
    size_t slot = 0;
    for (size_t i = 0; i < PDB_SRV_QA_CACHE; i++) {
        if (strcmp(cache[i].commune, commune) == 0) {
            slot = i;
            break;
        }
        if (cache[i].last_asked < cache[slot].last_asked)
            slot = i;
    }
    pdb_srv_blob_unref(cache[slot].json);
    snprintf(cache[slot].commune, sizeof cache[slot].commune, "%s", commune);
    cache[slot].version = version;
    cache[slot].store_gen = store_gen;
    cache[slot].json = pdb_srv_blob_ref(json);
    cache[slot].last_asked = ++tick;
    pthread_mutex_unlock(&cache_lock);
}

/* 0 when the request carries a valid bearer token of any role; else -1
 * with the 401 answered. */
static int any_token(const pdb_srv_in *in, const pdb_srv_worker *w, pdb_srv_response *out)
{
    const char *tok;
    pdb_srv_role role = PDB_SRV_ROLE_READ;
    if (in->authorization == NULL) {
        pdb_srv_error(out, 401, "a quality report needs a bearer token");
        out->www_authenticate = "Bearer";
        return -1;
    }
    size_t n = pdb_srv_bearer_token(in->authorization, &tok);
    if (n == 0 || pdb_srv_tokens_find_role(w->conf->tokens, tok, n, &role) == NULL) {
        pdb_srv_error(out, 401, "the bearer token is not valid");
        out->www_authenticate = "Bearer error=\"invalid_token\"";
        return -1;
    }
    return 0;
}

/* A failed engine call: the store's failure is 503, anything else 400. */
static void engine_failed(pdb_srv_worker *w, pdb_srv_response *out, const char *what)
{
    pdb_status st = pdb_errcode(w->ctx);
    if (st == PDB_EINVAL || st == PDB_ENOTFOUND) {
        pdb_srv_error(out, st == PDB_EINVAL ? 400 : 404, "%s", pdb_errmsg(w->ctx));
        return;
    }
    pdb_srv_error(out, 503, "%s: %s", what, pdb_errmsg(w->ctx));
    out->retry_after_s = 1;
    pdb_srv_worker_store_failed(w);
}

/* The report of one commune, made now: a new blob, or NULL with out
 * answered. */
static pdb_srv_blob *make_report(pdb_srv_worker *w, const char *commune, pdb_srv_response *out)
{
    pdb_qa_rules *rules = NULL;
    pdb_qa_report *rep = NULL;
    char *json = NULL;
    pdb_srv_blob *b = NULL;
    const char *const one[1] = {commune};

    if (pdb_qa_rules_default(w->ctx, &rules) != PDB_OK ||
        pdb_qa_run(w->ctx, w->store, rules, one, 1, &rep) != PDB_OK ||
        pdb_qa_report_to_json(w->ctx, rep, &json) != PDB_OK)
        engine_failed(w, out, "the quality checks failed");
    else if ((b = pdb_srv_blob_new(json, strlen(json))) == NULL)
        pdb_srv_error(out, 503, "out of memory");
    pdb_free(json);
    pdb_qa_report_free(rep);
    pdb_qa_rules_free(rules);
    return b;
}

void pdb_srv_qa(pdb_srv_worker *w, const pdb_srv_in *in, const pdb_srv_request *req,
                pdb_srv_response *out)
{
    pdb_commune_list *list = NULL;
    int64_t version = -2;

    if (any_token(in, w, out) != 0)
        return;
    if (pdb_communes_list(w->ctx, w->store, &list) != PDB_OK) {
        engine_failed(w, out, "reading the communes");
        return;
    }
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i].code, req->commune) == 0)
            version = list->items[i].data_version;
    pdb_commune_list_free(list);
    if (version == -2) {
        pdb_srv_error(out, 404, "no commune %s in the store", req->commune);
        return;
    }
    /* A store of schema 1 opened read-only keeps no commune version
     * (-1): its reports are made each time, never kept. */
    pdb_srv_blob *b = version >= 0 ? cache_find(req->commune, version, w->store_gen) : NULL;
    if (b == NULL) {
        if (pthread_mutex_trylock(&run_lock) != 0) {
            pdb_srv_error(out, 503, "another quality report is being made; try again");
            out->retry_after_s = 1;
            return;
        }
        b = make_report(w, req->commune, out);
        pthread_mutex_unlock(&run_lock);
        if (b == NULL)
            return;
        /* Made after the version was read: at worst of newer data than
         * its key says, and then the next request, seeing the newer
         * version, makes it again. Never of older data. */
        if (version >= 0)
            cache_put(req->commune, version, w->store_gen, b);
    }
    out->status = 200;
    out->cache_control = "private, no-cache";
    out->vary = "Authorization";
    pdb_srv_body_blob(out, "application/json", b);
    pdb_srv_blob_unref(b);
}
