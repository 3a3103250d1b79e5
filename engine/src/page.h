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

/* 1 when t is "YYYY-MM-DDTHH:MM:SS.mmmZ" to the character, the form
 * valid_from and valid_to are kept in (pdb__now_iso). */
int pdb__iso_instant(const char *t);

/* The parcels in force at instant at (checked) holding a WGS 84 point
 * (checked), and those whose box meets a box: each store's own reader for
 * timetravel.c, next to its other reads. */
pdb_status pdb__sq_parcels_at_time(pdb_ctx *ctx, pdb_store *s, double lon, double lat,
                                   const char *at, unsigned read_flags, pdb_parcel_list **out);
pdb_status pdb__pg_parcels_at_time(pdb_ctx *ctx, pdb_store *s, double lon, double lat,
                                   const char *at, unsigned read_flags, pdb_parcel_list **out);
pdb_status pdb__sq_features_at(pdb_ctx *ctx, pdb_store *s, const double bbox[4], const char *at,
                               pdb_feature_fn fn, void *arg);
pdb_status pdb__pg_features_at(pdb_ctx *ctx, pdb_store *s, const double bbox[4], const char *at,
                               pdb_feature_fn fn, void *arg);

#endif
