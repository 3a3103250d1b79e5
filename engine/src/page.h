/*
 * page.h: pdb_parcels_page's two stores. page.c checks the query once and
 * calls the store's own reader: query.c (SQLite) or pg_query.c
 * (PostgreSQL), each next to the collector its other reads use. Both get a
 * checked query whose limit is already within max_results.
 */
#ifndef PDB_PAGE_H
#define PDB_PAGE_H

#include "internal.h"

pdb_status pdb__sq_parcels_page(pdb_ctx *ctx, pdb_store *s, const pdb_page_query *q,
                                unsigned read_flags, pdb_parcel_list **out);
pdb_status pdb__pg_parcels_page(pdb_ctx *ctx, pdb_store *s, const pdb_page_query *q,
                                unsigned read_flags, pdb_parcel_list **out);

#endif
