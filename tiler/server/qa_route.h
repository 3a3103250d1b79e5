/*
 * qa_route.h: GET /qa/{commune} (qa_route.c): the commune's quality
 * report (docs/qa.md), the JSON of `parceldb qa --commune C --format
 * json` under the default rules, for any valid bearer token.
 */
#ifndef PDB_SRV_QA_ROUTE_H
#define PDB_SRV_QA_ROUTE_H

#include "parse.h"
#include "response.h"
#include "worker.h"

/* Answers GET /qa/{req->commune}: 401 without a valid token (any role:
 * the report holds no owner name), 404 for a commune the store does not
 * hold, 503 while another report is being made (Retry-After) or when the
 * store fails. The report is made on demand and kept per commune for as
 * long as the commune's data version stays (PDB_SRV_QA_CACHE communes,
 * the least recently asked dropped first), so that it is never older than
 * the data. */
void pdb_srv_qa(pdb_srv_worker *w, const pdb_srv_in *in, const pdb_srv_request *req,
                pdb_srv_response *out);

/* Communes whose report is kept: a report of a 5,000-parcel commune is
 * about a second of CPU, its JSON tens of kilobytes. */
#define PDB_SRV_QA_CACHE 32

#endif
