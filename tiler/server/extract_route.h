/*
 * extract_route.h: /parcels/{commune}/{sheet}/{parcel}/extract.pdf and .png
 * (extract_route.c): the extract of the cadastral map for one parcel
 * (tiler/extract.h), answered like a lookup by number: owner names only
 * for a valid bearer token.
 */
#ifndef PDB_SRV_EXTRACT_ROUTE_H
#define PDB_SRV_EXTRACT_ROUTE_H

#include "parse.h"
#include "response.h"
#include "worker.h"

#include <stddef.h>

/* When uri's path is a parcel's extract, writes into buf the same URI
 * without "/extract.pdf" or "/extract.png" (the lookup by number, whose
 * parser then reads the numbers and the query) and returns 1 for a PDF, 2
 * for a PNG; 0 for any other URI (or one longer than cap). */
int pdb_srv_extract_uri(const char *uri, char *buf, size_t cap);

/* Answers an extract (format as pdb_srv_extract_uri returned it) of the
 * parcel req names, with the query parameters former, at, paper (A4, A3),
 * scale (auto or a standard denominator) and dpi (PNG). At most
 * PDB_SRV_EXTRACT_MAX extracts are made at once; past that, 503 with
 * Retry-After. */
void pdb_srv_extract(pdb_srv_worker *w, const pdb_srv_request *req, int format,
                     const char *personal, pdb_srv_response *out);

/* Extracts made at once, over all threads: each holds a page-sized
 * surface and its CPU for tens of milliseconds, so that a burst of them
 * must not take every worker from tiles and lookups. */
#define PDB_SRV_EXTRACT_MAX 2

#endif
