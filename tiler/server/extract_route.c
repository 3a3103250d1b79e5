/*
 * extract_route.c: the server's extract route. The document is made by the
 * tiler (pdbt_extract_make) with the worker's own contexts and store; this
 * file reads the query, bounds how many are made at once, and maps
 * failures to statuses.
 */
#include "extract_route.h"

#include "extract.h" /* the tiler's */
#include "search_audit.h"
#include "srv.h"
#include "util.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Extracts in progress, over all threads. */
static atomic_int in_progress;

int pdb_srv_extract_uri(const char *uri, char *buf, size_t cap)
{
    static const char prefix[] = "/parcels/", pdf[] = "/extract.pdf", png[] = "/extract.png";
    size_t path = strcspn(uri, "?"), n = sizeof pdf - 1;
    if (strncmp(uri, prefix, sizeof prefix - 1) != 0 || path < sizeof prefix - 1 + n)
        return 0;
    int format = strncmp(uri + path - n, pdf, n) == 0   ? 1
                 : strncmp(uri + path - n, png, n) == 0 ? 2
                                                        : 0;
    if (format == 0 || strlen(uri) - n + 1 > cap)
        return 0;
    memcpy(buf, uri, path - n);
    strcpy(buf + path - n, uri + path);
    return format;
}

/* The status of a failed extract. */
static int status_of(pdb_status st)
{
    switch (st) {
    case PDB_EINVAL:
    case PDB_ELIMIT:
        return 400;
    case PDB_ENOTFOUND:
        return 404;
    default:
        return 503;
    }
}

void pdb_srv_extract(pdb_srv_worker *w, const pdb_srv_request *req, int format,
                     const char *personal, pdb_srv_response *out)
{
    pdbt_extract_request r = {.commune = req->commune,
                              .sheet = req->sheet,
                              .parcel = req->parcel,
                              .former = pdb_srv_param_get(req, "former"),
                              .at = pdb_srv_param_get(req, "at"),
                              .personal = personal != NULL,
                              .format = format == 2 ? PDBT_EXTRACT_PNG : PDBT_EXTRACT_PDF};
    const char *paper = pdb_srv_param_get(req, "paper");
    const char *scale = pdb_srv_param_get(req, "scale");
    const char *dpi = pdb_srv_param_get(req, "dpi");
    char err[PDB_SRV_ERRMAX];
    uint64_t v;

    if (r.former != NULL && (strlen(r.former) != 5 || strspn(r.former, "0123456789") != 5)) {
        pdb_srv_error(out, 400, "former must be a five-digit commune code");
        return;
    }
    if (paper != NULL && strcasecmp(paper, "A4") != 0 && strcasecmp(paper, "A3") != 0) {
        pdb_srv_error(out, 400, "paper must be A4 or A3");
        return;
    }
    r.paper = paper != NULL && strcasecmp(paper, "A3") == 0 ? PDBT_PAPER_A3 : PDBT_PAPER_A4;
    if (scale != NULL && strcmp(scale, "auto") != 0) {
        if (pdb_srv_parse_uint("scale", scale, 100000, &v, err, sizeof err) != 0) {
            pdb_srv_error(out, 400, "%s", err);
            return;
        }
        r.scale = (int)v;
    }
    if (dpi != NULL) {
        if (pdb_srv_parse_uint("dpi", dpi, 300, &v, err, sizeof err) != 0 || v < 30) {
            pdb_srv_error(out, 400, "dpi must be 30 to 300");
            return;
        }
        r.png_dpi = (int)v;
    }
    if (atomic_fetch_add(&in_progress, 1) >= PDB_SRV_EXTRACT_MAX) {
        atomic_fetch_sub(&in_progress, 1);
        pdb_srv_error(out, 503, "%d extracts are being made; try again", PDB_SRV_EXTRACT_MAX);
        out->retry_after_s = 1;
        return;
    }
    pdbt_extract_result res;
    pdb_status st = pdbt_extract_make(w->tctx, w->store, &r, &res);
    atomic_fetch_sub(&in_progress, 1);
    if (st != PDB_OK) {
        int status = status_of(st);
        pdb_srv_error(out, status, "%s", pdbt_errmsg(w->tctx));
        if (status == 503) {
            out->retry_after_s = 1;
            if (st != PDB_ENOMEM)
                pdb_srv_worker_store_failed(w);
        }
        return;
    }
    if (personal != NULL) {
        /* No audit row, no owner names (search_audit.h). */
        const pdb_srv_options *o = &w->srv->opt;
        if (pdb_srv_audit_personal_ids(o->audit_path ? o->audit_path : o->db_path, personal,
                                       "GET /parcels/{c}/{s}/{p}/extract", res.ids, res.nparcels,
                                       err, sizeof err) != 0) {
            pdbt_extract_result_clear(&res);
            pdb_srv_error(out, 503, "%s", err);
            out->retry_after_s = 1;
            return;
        }
    }
    out->status = 200;
    pdb_srv_body_malloced(out, format == 2 ? "image/png" : "application/pdf", res.data, res.len);
    res.data = NULL;
    out->cache_control = personal ? "private, no-store" : "no-cache";
    out->vary = "Authorization";
}
