/*
 * tiles.h: the tile route (tiles.c): the memory and disk caches in front
 * of the renderer, ETags from the data version and the style.
 */
#ifndef PDB_SRV_TILES_H
#define PDB_SRV_TILES_H

#include "cache.h"
#include "parse.h"
#include "response.h"
#include "worker.h"

#include <stddef.h>
#include <stdint.h>

void pdb_srv_handle_tile(pdb_srv *srv, pdb_srv_worker *w, const pdb_srv_in *in,
                         const pdb_srv_request *req, pdb_srv_response *out);
/* Renders one tile into PNG bytes with the worker's renderer; NULL with a
 * reason in msg on failure. */
pdb_srv_blob *pdb_srv_render_png(pdb_srv_worker *w, int z, uint32_t x, uint32_t y, int scale,
                                 char *msg, size_t cap);
/* Makes one vector tile with the worker's renderer, gzip-compressed (the
 * form the caches keep); NULL with a reason in msg on failure. */
pdb_srv_blob *pdb_srv_render_mvt(pdb_srv_worker *w, int z, uint32_t x, uint32_t y, char *msg,
                                 size_t cap);

/* A vector tile with nothing in it, gzip-compressed, as the server answers
 * a place without parcels; NULL with a reason in msg when out of memory. */
pdb_srv_blob *pdb_srv_empty_mvt(char *msg, size_t cap);
/* A vector tile's 200 answer from its gzip bytes gz: as they are for a
 * client that takes gzip, else inflated. 0, or -1 when out of memory. */
int pdb_srv_mvt_answer(pdb_srv *srv, const pdb_srv_in *in, pdb_srv_response *out, pdb_srv_blob *gz);

/* 1 when an Accept-Encoding header (or NULL) accepts gzip: a "gzip" (or
 * "*") token whose q is not 0. */
int pdb_srv_accepts_gzip(const char *accept_encoding);

#define PDB_SRV_MVT_TYPE "application/vnd.mapbox-vector-tile"

/* The label buffer the renderer uses, in pixels at scale 1. */
double pdb_srv_render_buffer_px(void);

#endif
