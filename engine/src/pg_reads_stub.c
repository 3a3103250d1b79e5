/*
 * pg_reads_stub.c: TEMPORARY, until helper B's pg_query.c and
 * pg_overview.c are merged: the PostgreSQL store's reads fail in one line,
 * so that its connection, schema and writes can be built and tested
 * first. Delete this file (and its line in engine/CMakeLists.txt) when
 * they land.
 */
#include "pg.h"

#define NOT_BUILT(ctx) pdb__fail((ctx), PDB_EINVAL, "PostgreSQL store reads are not built yet")

pdb_status pdb__pg_parcels_by_number(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                     const char *former_commune, const char *sheet,
                                     const char *parcel, unsigned read_flags, pdb_parcel_list **out)
{
    (void)s, (void)commune, (void)former_commune, (void)sheet, (void)parcel, (void)read_flags,
        (void)out;
    return NOT_BUILT(ctx);
}

pdb_status pdb__pg_parcels_in_bbox(pdb_ctx *ctx, pdb_store *s, double min_lon, double min_lat,
                                   double max_lon, double max_lat, size_t limit, size_t offset,
                                   unsigned read_flags, pdb_parcel_list **out)
{
    (void)s, (void)min_lon, (void)min_lat, (void)max_lon, (void)max_lat, (void)limit, (void)offset,
        (void)read_flags, (void)out;
    return NOT_BUILT(ctx);
}

pdb_status pdb__pg_parcel_history(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                  const char *sheet, const char *parcel, unsigned read_flags,
                                  pdb_parcel_list **out)
{
    (void)s, (void)commune, (void)sheet, (void)parcel, (void)read_flags, (void)out;
    return NOT_BUILT(ctx);
}

pdb_status pdb__pg_parcel_get(pdb_ctx *ctx, pdb_store *s, int64_t id, unsigned read_flags,
                              pdb_parcel **out)
{
    (void)s, (void)id, (void)read_flags, (void)out;
    return NOT_BUILT(ctx);
}

pdb_status pdb__pg_features_in_bbox(pdb_ctx *ctx, pdb_store *s, const double bbox[4],
                                    pdb_feature_fn fn, void *arg)
{
    (void)s, (void)bbox, (void)fn, (void)arg;
    return NOT_BUILT(ctx);
}

pdb_status pdb__pg_overview_features(pdb_ctx *ctx, pdb_store *s, int zoom, unsigned kinds,
                                     const double bbox[4], pdb_feature_fn fn, void *arg)
{
    (void)s, (void)zoom, (void)kinds, (void)bbox, (void)fn, (void)arg;
    return NOT_BUILT(ctx);
}

pdb_status pdb__pg_overview_rebuild_report(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                           pdb_overview_report *rep)
{
    (void)s, (void)commune, (void)rep;
    return NOT_BUILT(ctx);
}
