/*
 * pmtiles_route.h: `parceldb serve --pmtiles FILE`: the tiles and the
 * TileJSON of a PMTiles archive (tiler/pmtiles.h), mapped into memory,
 * with no store. The routes that need a store answer 404 with one line
 * saying so.
 */
#ifndef PDB_SRV_PMTILES_ROUTE_H
#define PDB_SRV_PMTILES_ROUTE_H

#include "parse.h"
#include "response.h"

#include <stddef.h>

typedef struct pdb_srv pdb_srv;
typedef struct pdb_srv_pmtiles pdb_srv_pmtiles;

/* Maps the archive at path and reads its header and root directory: 0, or
 * -1 with one line in msg (no such file, not an archive, a truncated one,
 * tiles of a kind the server does not serve). */
int pdb_srv_pmtiles_open(const char *path, pdb_srv_pmtiles **out, char *msg, size_t cap);
void pdb_srv_pmtiles_close(pdb_srv_pmtiles *p);
/* "N tiles, z A-B, png" for the start-up line (static storage per thread). */
const char *pdb_srv_pmtiles_describe(const pdb_srv_pmtiles *p);

/* Answers a parsed request from the archive: tiles, /tiles.json, /health;
 * the demo page's files as usual; 404 for every route that needs a store. */
void pdb_srv_pmtiles_handle(pdb_srv *srv, const pdb_srv_in *in, const pdb_srv_request *req,
                            pdb_srv_response *out);

#endif
