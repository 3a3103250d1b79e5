/*
 * pg_lookup.h: the point-lookup index (lookup.h) on the PostgreSQL/PostGIS
 * store (pg_lookup.c). The index is the SQLite store's: each commune packed
 * into one BLOB (parceldb.lookup_index.data, bytea) at the commit that
 * writes the commune, loaded by a handle on the first point in the
 * commune's box, then answered in memory. Only the index's reads and
 * writes are PostgreSQL's: one bulk query per commune, binary results.
 */
#ifndef PDB_PG_LOOKUP_H
#define PDB_PG_LOOKUP_H

#include "pg.h"

/* Writes the lookup BLOB of one commune from its current parcels, inside
 * the writer's transaction, after its parcels are written and the old ones
 * superseded (pg_writer.c's commit calls it, as writer.c calls
 * pdb__lookup_store_commune). batch_id is the commune's new last batch. */
pdb_status pdb__pg_lookup_store_commune(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                        int64_t batch_id);

/* The store's parcels_at and parcels_first_at operations (backend.h),
 * answered from the index: the parcel rows are read by id once the index
 * has found them. parcels_first_at answers loaded communes from memory
 * alone when the server cannot be reached. */
pdb_status pdb__pg_parcels_at(pdb_ctx *ctx, pdb_store *s, double lon, double lat,
                              unsigned read_flags, pdb_parcel_list **out);
pdb_status pdb__pg_parcels_first_at(pdb_ctx *ctx, pdb_store *s, const double *lonlat, size_t n,
                                    pdb_point_parcel *out);

/* pg_query.c: parcels_at through SQL and PostGIS's GiST index, without
 * the lookup index: for a handle with an open load, whose uncommitted
 * parcels the index does not hold. */
pdb_status pdb__pg_parcels_at_sql(pdb_ctx *ctx, pdb_store *s, double lon, double lat,
                                  unsigned read_flags, pdb_parcel_list **out);

/* pg_query.c: the statement reading a commune's current parcels for the
 * index ($1 the read flags, $2 the commune), the column of its WGS 84
 * geometry (WKB) and the read flag that asks for it, and the row reader
 * every parcel read uses: the index packs the same fields a read by id
 * gives. */
extern const char pdb__pg_commune_parcels_sql[];
extern const int pdb__pg_col_geom;
extern const unsigned pdb__pg_read_geom;
pdb_status pdb__pg_parcel_from_row(pdb_ctx *ctx, const PGresult *res, int row, unsigned read_flags,
                                   pdb_parcel *p);

#endif
