/*
 * lookup.h: the point-lookup index. Each commune's current parcels are
 * packed, at the commit that writes them, into one BLOB of the store's
 * lookup_index table: their boxes in Hilbert order, their WGS 84 geometry
 * BLOBs and their numbers. A store handle loads a commune's BLOB the first
 * time a point falls in the commune's box (about a millisecond each),
 * builds a packed R-tree over its boxes, and answers a point
 * with the same exact test as the SQL path (pdb__blob_contains), without
 * touching SQLite for the candidates. The parcels table stays the one
 * source of truth: a missing, stale or damaged BLOB is rebuilt from it.
 */
#ifndef PDB_LOOKUP_H
#define PDB_LOOKUP_H

#include "store.h"

/* The in-memory index of one store handle (lookup.c). */
typedef struct pdb__lookup pdb__lookup;

/* Writes the lookup BLOB of one commune from its current parcels, inside
 * the caller's write transaction (pdb_writer_commit). */
pdb_status pdb__lookup_store_commune(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                     int64_t batch_id);

/* Writes the BLOBs that are missing or older than their commune's last
 * import (stores made before the index), in one write transaction. */
pdb_status pdb__lookup_backfill(pdb_ctx *ctx, pdb_store *s);

/* Frees a handle's index; accepts NULL. */
void pdb__lookup_free(pdb__lookup *lk);

/* The ids of the current parcels containing (lon, lat), ascending, at most
 * cap of them (*n is the number found, which may exceed cap). The caller
 * holds a read transaction in which pdb__lookup_sync succeeded. */
typedef struct pdb__lookup_hit {
    int64_t id;          /* parcel id */
    const char *commune; /* borrowed from the index */
    const char *sheet;   /* borrowed from the index */
    const char *parcel;  /* borrowed from the index */
} pdb__lookup_hit;

pdb_status pdb__lookup_at(pdb_ctx *ctx, pdb_store *s, double lon, double lat, pdb__lookup_hit *hits,
                          size_t cap, size_t *n);

/* pdb_parcels_first_at's work, in the caller's read transaction after
 * pdb__lookup_sync, on points already checked: the points are grouped by
 * commune and answered commune by commune. A commune the handle had not
 * loaded is loaded for its points and released after them, so the batch
 * holds one commune's BLOB at a time and leaves the handle's memory as it
 * found it. The answers' texts live in the handle until its next batch. */
pdb_status pdb__lookup_first_batch(pdb_ctx *ctx, pdb_store *s, const double *lonlat, size_t n,
                                   pdb_point_parcel *out);

/* Makes the handle's index match the store's data version, inside the
 * caller's read transaction: loads the BLOBs of communes imported since
 * (or builds them from the parcels when they are missing or damaged). */
pdb_status pdb__lookup_sync(pdb_ctx *ctx, pdb_store *s);

/* How many communes' BLOBs the process holds in memory and their bytes:
 * each once, however many handles use it. For tests and metrics. */
void pdb__lookup_registry_stats(size_t *communes, size_t *bytes);

/* query.c: pdb_parcels_at through SQL and SpatiaLite's R-tree, without
 * the index: for a handle with an open load, and as the reference the
 * tests compare the index with. */
pdb_status pdb__parcels_at_sql(pdb_ctx *ctx, pdb_store *s, double lon, double lat,
                               unsigned read_flags, pdb_parcel_list **out);

#endif
