/*
 * handlers.h: each route's answer (handlers.c), from a parsed request to a
 * pdb_srv_response; no sockets.
 */
#ifndef PDB_SRV_HANDLERS_H
#define PDB_SRV_HANDLERS_H

#include "response.h"

#include <jansson.h>

typedef struct pdb_srv pdb_srv;

/* Answers one request into out (never fails: errors are answers). */
void pdb_srv_handle(pdb_srv *srv, const pdb_srv_in *in, pdb_srv_response *out);

/* Maps the worker context's last engine failure to an error answer (400,
 * 404, or 503 with the store handle kept or reopened). */
typedef struct pdb_srv_worker pdb_srv_worker;
void pdb_srv_engine_error(pdb_srv_response *out, pdb_srv_worker *w);

/* The server's base URL (--public-url, or http:// and a checked Host). */
void pdb_srv_base_url(const pdb_srv *srv, const pdb_srv_in *in, char *out, size_t cap);

/* The vector_layers of TileJSON for the vector tiles of zooms zmin to zmax
 * whose parcel zoom (pdbt_mvt_parcel_zoom) is zp: a new reference, or NULL
 * when out of memory. The server's /tiles.mvt.json and the PMTiles
 * archive's metadata say the same. */
json_t *pdb_srv_mvt_layers(int zmin, int zmax, int zp);

#endif
