/*
 * pg_ovcache.h: the process-wide cache of a PostgreSQL store's overview
 * shapes, per (store location, commune, band, commune data_version)
 * (pg_ovcache.c says why). Used by pg_overview.c's reads on handles that
 * read outside a transaction; a handle inside one reads through SQL.
 */
#ifndef PDB_PG_OVCACHE_H
#define PDB_PG_OVCACHE_H

#include "pg_read.h"

typedef struct pdb__ovc_entry pdb__ovc_entry;

/* The commune's shapes of one band at its data version, parsed: from the
 * cache, or read once (one query) and kept. *out is held by the caller
 * until pdb__ovc_release. */
pdb_status pdb__ovc_get(pdb_ctx *ctx, pdb_store *s, const char *commune, int band, int64_t version,
                        pdb__ovc_entry **out);

/* Hands an entry back. NULL is allowed. */
void pdb__ovc_release(pdb__ovc_entry *e);

/* Calls fn with the shapes of the entries whose kind is in kinds and
 * whose box SQLite's R-tree would list for bbox, in overviews.id order,
 * as the SQLite store's overview read gives them; *stopped is 1 when fn
 * asked to stop. */
pdb_status pdb__ovc_emit(pdb_ctx *ctx, pdb__ovc_entry *const *entries, size_t n, unsigned kinds,
                         const double bbox[4], pdb_feature_fn fn, void *arg, int *stopped);

#endif
