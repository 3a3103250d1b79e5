/*
 * change_route.h: the change routes for write tokens and the lineage
 * route (change_route.c).
 */
#ifndef PDB_SRV_CHANGE_ROUTE_H
#define PDB_SRV_CHANGE_ROUTE_H

#include "response.h"

typedef struct pdb_srv pdb_srv;
typedef struct pdb_srv_worker pdb_srv_worker;

/* POST /parcels/{c}/{s}/{p}/split|update|reshape and /parcels/merge: 401
 * without a valid token, 403 without the write role, 400 with a one-line
 * JSON error for a bad body or a failed check, 404 for an unknown parcel,
 * 409 when another change superseded it, 200 with the change's numbers. */
void pdb_srv_parcel_change(pdb_srv *srv, pdb_srv_worker *w, const pdb_srv_in *in,
                           const pdb_srv_request *req, pdb_srv_response *out);

/* GET /parcels/{c}/{s}/{p}/lineage: the lineage of the number's latest
 * version as JSON (pdb_lineage_to_json), or 404. Public: no owner names. */
void pdb_srv_lineage(pdb_srv_worker *w, const pdb_srv_request *req, pdb_srv_response *out);

#endif
