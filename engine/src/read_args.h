/*
 * read_args.h: what every store checks in a read's arguments before it
 * asks anything (read_args.c), and the lists its answers grow in, so that
 * the SQLite store (query.c) and the PostgreSQL store (pg_query.c) refuse
 * the same questions with the same messages.
 */
#ifndef PDB_READ_ARGS_H
#define PDB_READ_ARGS_H

#include "internal.h"

/* A WGS 84 point in range: PDB_EINVAL naming the coordinate otherwise. */
pdb_status pdb__check_lonlat(pdb_ctx *ctx, double lon, double lat);

/* pdb_parcels_first_at's points: PDB_EINVAL naming the 1-based point. */
pdb_status pdb__check_points(pdb_ctx *ctx, const double *lonlat, size_t n);

/* pdb_parcels_in_bbox's box: both corners in range, minimum below maximum. */
pdb_status pdb__check_box(pdb_ctx *ctx, double min_lon, double min_lat, double max_lon,
                          double max_lat);

/* A parcel number: the commune one of the province's (the store holds no
 * other, so any other code is malformed, not merely absent), sheet and
 * parcel positive integers as text ("012" stays "012"). */
pdb_status pdb__check_number(pdb_ctx *ctx, const char *commune, const char *sheet,
                             const char *parcel);

/* A former commune code (NULL for any): five digits. */
pdb_status pdb__check_former_commune(pdb_ctx *ctx, const char *former_commune);

/* Makes room for one more parcel at the end of list (cap: its allocated
 * items) and returns it in *slot; list->count is the caller's to bump. */
pdb_status pdb__parcel_list_push(pdb_ctx *ctx, pdb_parcel_list *list, size_t *cap,
                                 pdb_parcel **slot);

/* pdb_parcel_get's answer from a list of at most one: its parcel moved to
 * a new *out, or PDB_ENOTFOUND naming the id. Frees the list. */
pdb_status pdb__parcel_list_take_one(pdb_ctx *ctx, pdb_parcel_list *list, int64_t id,
                                     pdb_parcel **out);

#endif
