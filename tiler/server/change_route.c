/*
 * change_route.c: the change routes (POST /parcels/{c}/{s}/{p}/split,
 * /update, /reshape and POST /parcels/merge), for tokens with the write
 * role only, and the public lineage route (GET /parcels/{c}/{s}/{p}/lineage).
 *
 * A change is written through the process's one read-write handle
 * (search_audit.c), one at a time: two changes to one parcel queue there,
 * and the second finds the parcel superseded inside its own transaction
 * (409). The workers' read-only handles see it at their next request, as
 * they see an import: the data version moved and the commune was stamped.
 */
#include "change_route.h"

#include "auth.h"
#include "handlers.h"
#include "search_audit.h"
#include "srv.h"
#include "worker.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MERGE 100 /* parcels in one merge */

/* What a change needs beyond the parsed request, and what it gives back. */
typedef struct change_job {
    const pdb_change *change;  /* what to apply */
    pdb_change_result *result; /* on success, owned */
    char msg[PDB_SRV_ERRMAX];  /* on failure, the engine's message */
    int overviews_fresh;       /* 1: the commune's overviews were rebuilt after it */
} change_job;

static pdb_status apply(pdb_ctx *ctx, pdb_store *s, void *arg)
{
    change_job *job = arg;
    pdb_status st = pdb_change_apply(ctx, s, job->change, &job->result);
    if (st != PDB_OK) {
        snprintf(job->msg, sizeof job->msg, "%s", pdb_errmsg(ctx));
        return st;
    }
    /* The commune's overviews, marked stale by the change, rebuilt in a
     * transaction of their own, as `parceldb change` does (the change
     * stands either way; a stale commune is drawn from its parcels). */
    char commune[6];
    pdb_overview_report rep;
    snprintf(commune, sizeof commune, "%.5s", job->result->before[0].number);
    job->overviews_fresh =
        pdb_overview_rebuild_report(ctx, s, commune, &rep) == PDB_OK && rep.failed == 0;
    return PDB_OK;
}

static int status_of(pdb_status st)
{
    switch (st) {
    case PDB_EINVAL:
    case PDB_EGEOM:
    case PDB_ELIMIT:
    case PDB_ECRS:
    case PDB_EPLAUSIBLE:
        return 400;
    case PDB_ENOTFOUND:
        return 404;
    case PDB_ECONFLICT:
        return 409;
    default:
        return 503;
    }
}

static json_t *parcels_json(const pdb_change_parcel *p, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++)
        json_array_append_new(arr,
                              json_pack("{s:I, s:s, s:f}", "id", (json_int_t)p[i].id, "parcel",
                                        p[i].number, "area_m2", round(p[i].area_m2 * 100) / 100));
    return arr;
}

/* A string member, or NULL; -1 when present and not a string. */
static int member_text(json_t *doc, const char *key, const char **out)
{
    json_t *v = json_object_get(doc, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    return 0;
}

/* "C/S/P" into three texts: exactly three non-empty segments of at most
 * 64 bytes (the engine checks what each holds). */
static int split_ref(const char *t, char out[3][65])
{
    for (int k = 0; k < 3; k++) {
        size_t n = t ? strcspn(t, "/") : 0;
        if (n == 0 || n > 64 || (k < 2 && t[n] != '/') || (k == 2 && t[n] != '\0'))
            return -1;
        memcpy(out[k], t, n);
        out[k][n] = '\0';
        t += n + (k < 2);
    }
    return 0;
}

/* Fills c from a merge's or an update's body; 0, or -1 with out answered. */
static int read_members(json_t *doc, const char *action, pdb_change *c, pdb_parcel_ref *refs,
                        char (*texts)[3][65], pdb_srv_response *out)
{
    if (strcmp(action, "merge") == 0) {
        json_t *ids = json_object_get(doc, "ids");
        if (!json_is_array(ids) || json_array_size(ids) < 2 || json_array_size(ids) > MAX_MERGE) {
            pdb_srv_error(out, 400, "a merge's body needs \"ids\": 2 to %d \"C/S/P\" numbers",
                          MAX_MERGE);
            return -1;
        }
        for (size_t i = 0; i < json_array_size(ids); i++) {
            if (split_ref(json_string_value(json_array_get(ids, i)), texts[i]) != 0) {
                pdb_srv_error(out, 400, "ids[%zu] is not a \"COMMUNE/SHEET/PARCEL\" number", i);
                return -1;
            }
            refs[i] = (pdb_parcel_ref){texts[i][0], texts[i][1], texts[i][2]};
        }
        c->nparcels = json_array_size(ids);
        if (member_text(doc, "number", &c->number) != 0 ||
            member_text(doc, "landuse", &c->set_landuse) != 0) {
            pdb_srv_error(out, 400, "number and landuse are strings");
            return -1;
        }
        return 0;
    }
    json_t *set = json_object_get(doc, "set");
    if (!json_is_object(set)) {
        pdb_srv_error(out, 400,
                      "an update's body needs \"set\": {\"landuse\": ..., \"owner\": "
                      "..., \"address\": ..., \"area_legal\": ...}");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(set, key, v)
    {
        if (strcmp(key, "area_legal") == 0) {
            if (!json_is_number(v) || !(json_number_value(v) > 0)) {
                pdb_srv_error(out, 400, "set.area_legal is a positive number of m2");
                return -1;
            }
            c->set_area_legal_m2 = json_number_value(v);
        } else if (!json_is_string(v)) {
            pdb_srv_error(out, 400, "set.%.40s is not a string", key);
            return -1;
        } else if (strcmp(key, "landuse") == 0) {
            c->set_landuse = json_string_value(v);
        } else if (strcmp(key, "owner") == 0) {
            c->set_owner = json_string_value(v);
        } else if (strcmp(key, "address") == 0) {
            c->set_address = json_string_value(v);
        } else {
            pdb_srv_error(out, 400,
                          "set.%.40s: unknown field (landuse, owner, address, area_legal)", key);
            return -1;
        }
    }
    return 0;
}

/* The caller's token, which must carry the write role; its name in *who.
 * 0, or -1 with out answered (401 or 403). */
static int writer_token(const pdb_srv_in *in, const pdb_srv_worker *w, const char **who,
                        pdb_srv_response *out)
{
    const char *tok;
    pdb_srv_role role = PDB_SRV_ROLE_READ;
    size_t n;
    if (in->authorization == NULL) {
        pdb_srv_error(out, 401, "a change needs a bearer token with the write role");
        out->www_authenticate = "Bearer";
        return -1;
    }
    n = pdb_srv_bearer_token(in->authorization, &tok);
    if (n == 0 || (*who = pdb_srv_tokens_find_role(w->conf->tokens, tok, n, &role)) == NULL) {
        pdb_srv_error(out, 401, "the bearer token is not valid");
        out->www_authenticate = "Bearer error=\"invalid_token\"";
        return -1;
    }
    if (role < PDB_SRV_ROLE_WRITE) {
        pdb_srv_error(out, 403,
                      "this token's role (%s) may not change parcels: it needs role=write",
                      role == PDB_SRV_ROLE_READ ? "read" : "personal");
        out->www_authenticate = "Bearer error=\"insufficient_scope\"";
        return -1;
    }
    return 0;
}

void pdb_srv_parcel_change(pdb_srv *srv, pdb_srv_worker *w, const pdb_srv_in *in,
                           const pdb_srv_request *req, pdb_srv_response *out)
{
    char(*mtexts)[3][65] = NULL;
    pdb_parcel_ref refs[MAX_MERGE];
    pdb_change c = {.parcels = refs, .set_area_legal_m2 = NAN};
    pdb_change_parts *parts = NULL;
    change_job job = {.change = &c};
    json_t *doc = NULL;
    json_error_t jerr;
    char via[64], err[PDB_SRV_ERRMAX];
    const char *who = NULL, *action = req->action;

    if (strcmp(in->method, "POST") != 0) {
        pdb_srv_error(out, 405, "a change is a POST");
        out->allow = "POST, OPTIONS";
        return;
    }
    if (writer_token(in, w, &who, out) != 0)
        return;
    if (in->body == NULL || in->body_len == 0) {
        pdb_srv_error(out, 400, "a change needs a JSON body");
        return;
    }
    if ((doc = json_loadb(in->body, in->body_len, JSON_REJECT_DUPLICATES, &jerr)) == NULL ||
        !json_is_object(doc)) {
        pdb_srv_error(out, 400, "the body is not a JSON object%s%s", doc ? "" : ": ",
                      doc ? "" : jerr.text);
        goto done;
    }
    if (member_text(doc, "reason", &c.reason) != 0 ||
        member_text(doc, "document", &c.document) != 0) {
        pdb_srv_error(out, 400, "reason and document are strings");
        goto done;
    }
    json_t *expect = json_object_get(doc, "expect_id");
    if (expect != NULL && !json_is_null(expect)) {
        if (!json_is_integer(expect) || json_integer_value(expect) <= 0) {
            pdb_srv_error(out, 400, "expect_id is a positive store id");
            goto done;
        }
        c.expect_id = json_integer_value(expect);
    }
    if (strcmp(action, "merge") == 0 || strcmp(action, "update") == 0) {
        c.kind = action[0] == 'm' ? PDB_CHANGE_MERGE : PDB_CHANGE_UPDATE;
        if (c.kind == PDB_CHANGE_MERGE && (mtexts = calloc(MAX_MERGE, sizeof *mtexts)) == NULL) {
            pdb_srv_error(out, 503, "out of memory");
            goto done;
        }
        if (read_members(doc, action, &c, refs, mtexts, out) != 0)
            goto done;
    } else {
        /* split and reshape: the body is GeoJSON in the survey CRS. */
        size_t n = 0;
        int epsg = 0;
        c.kind = action[0] == 's' ? PDB_CHANGE_SPLIT : PDB_CHANGE_RESHAPE;
        if (pdb_change_parts_read(w->ctx, in->body, in->body_len, 0, &parts) != PDB_OK) {
            pdb_srv_error(out, 400, "%s", pdb_errmsg(w->ctx));
            goto done;
        }
        c.parts = pdb_change_parts_items(parts, &n, &epsg);
        c.nparts = n;
        c.srid = epsg;
    }
    if (c.kind != PDB_CHANGE_MERGE) {
        refs[0] = (pdb_parcel_ref){req->commune, req->sheet, req->parcel};
        c.nparcels = 1;
    }
    snprintf(via, sizeof via, "POST /parcels/.../%s", action);
    c.actor = who;
    c.via = via;
    /* Into --db, never --audit-db (which may be an audit-only store). */
    pdb_status st = pdb_srv_with_write_store(srv->opt.db_path, apply, &job, err, sizeof err);
    if (st != PDB_OK) {
        pdb_srv_error(out, status_of(st), "%s", job.msg[0] ? job.msg : err);
        if (status_of(st) == 503)
            out->retry_after_s = 1;
        goto done;
    }
    pdb_change_result *r = job.result;
    pdb_srv_body_json(
        out, "application/json",
        json_pack("{s:I, s:s, s:s, s:I, s:o, s:o, s:s}", "change", (json_int_t)r->change_id, "kind",
                  action, "at", r->at, "data_version", (json_int_t)r->data_version, "before",
                  parcels_json(r->before, r->nbefore), "after", parcels_json(r->after, r->nafter),
                  "overviews", job.overviews_fresh ? "rebuilt" : "stale"));
    out->cache_control = "no-store";
done:
    pdb_change_result_free(job.result);
    pdb_change_parts_free(parts);
    json_decref(doc);
    free(mtexts);
}

void pdb_srv_lineage(pdb_srv_worker *w, const pdb_srv_request *req, pdb_srv_response *out)
{
    pdb_parcel_list *list = NULL;
    pdb_lineage *l = NULL;
    char *json = NULL;

    if (pdb_parcel_history(w->ctx, w->store, req->commune, req->sheet, req->parcel, 0, &list) !=
        PDB_OK) {
        pdb_srv_engine_error(out, w);
        goto done;
    }
    if (list->count == 0) {
        pdb_srv_error(out, 404, "no parcel %s/%s/%s", req->commune, req->sheet, req->parcel);
        goto done;
    }
    /* The number's latest version: its lineage covers the others (an
     * update links them). */
    if (pdb_parcel_lineage(w->ctx, w->store, list->items[list->count - 1].id, &l) != PDB_OK ||
        pdb_lineage_to_json(w->ctx, l, &json) != PDB_OK) {
        pdb_srv_engine_error(out, w);
        goto done;
    }
    out->status = 200;
    pdb_srv_body_malloced(out, "application/json", json, strlen(json));
    json = NULL;
    out->cache_control = "no-cache";
done:
    pdb_free(json);
    pdb_lineage_free(l);
    pdb_parcel_list_free(list);
}
