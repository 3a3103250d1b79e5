/*
 * ogcapi.h: OGC API - Features (Part 1 Core with GeoJSON, HTML and OpenAPI
 * 3.0; Part 2 CRS) under /ogcapi, over the same store, tokens and limits
 * as the rest of the API (docs/ogcapi.md). The request's query is checked
 * by ogcapi_parse.c; this module answers.
 */
#ifndef PDB_SRV_OGCAPI_H
#define PDB_SRV_OGCAPI_H

#include "response.h"

typedef struct pdb_srv pdb_srv;
typedef struct pdb_srv_worker pdb_srv_worker;

/* Answers a request of route PDB_SRV_ROUTE_OGCAPI into out. personal: the
 * token's name when the request carries a valid token (owner names may be
 * shown, each answer recorded in the audit table first), else NULL. */
void pdb_srv_ogcapi(pdb_srv *srv, pdb_srv_worker *w, const pdb_srv_in *in,
                    const pdb_srv_request *req, const char *personal, pdb_srv_response *out);

/* The OpenAPI 3.0 document of /ogcapi (ogcapi_openapi.json, embedded at
 * build time), NUL-terminated JSON text with "%SERVER%" where the
 * server's URL goes. */
extern const unsigned char pdb_srv_ogcapi_openapi[];

#endif
