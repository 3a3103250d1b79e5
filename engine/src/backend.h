/*
 * backend.h: the engine's one internal store interface. A pdb_store is
 * either an SQLite/SpatiaLite file (sqlite_*.c: store.c, query.c,
 * writer.c, overview.c, lookup.c, backup.c) or a schema in a PostgreSQL
 * database with PostGIS (pg_*.c). Every public store function of
 * parceldb.h checks its arguments once (api.c) and calls the handle's
 * operation here; nothing above the engine knows which store it has.
 *
 * Each operation has the contract of the public function of the same
 * name in parceldb.h, with its arguments already checked as api.c says
 * (non-NULL handles and out pointers, finite coordinates). Operations
 * report errors through ctx (pdb__fail) and return its status.
 */
#ifndef PDB_BACKEND_H
#define PDB_BACKEND_H

#include "internal.h"

typedef struct pdb__store_ops {
    const char *name; /* "sqlite" or "postgresql": for messages */

    void (*close)(pdb_store *s);
    pdb_status (*data_version)(pdb_ctx *ctx, pdb_store *s, int64_t *out);
    pdb_status (*stats_get)(pdb_ctx *ctx, pdb_store *s, pdb_store_stats *out);
    pdb_status (*check)(pdb_ctx *ctx, pdb_store *s);
    pdb_status (*communes_list)(pdb_ctx *ctx, pdb_store *s, pdb_commune_list **out);

    /* Writing */
    pdb_status (*import_begin)(pdb_ctx *ctx, pdb_store *s, const char *description,
                               int64_t *batch_id_out);
    pdb_status (*import_end)(pdb_ctx *ctx, pdb_store *s, int64_t batch_id, const char *status,
                             const pdb_import_counts *totals);
    pdb_status (*import_find_checksum)(pdb_ctx *ctx, pdb_store *s, const char *checksum,
                                       int64_t *batch_out);
    /* *out is the implementation's writer; its first member is a
     * struct pdb_writer (below), so that the public calls find the store. */
    pdb_status (*writer_begin)(pdb_ctx *ctx, pdb_store *s, const pdb_commune_load *load,
                               pdb_writer **out);
    pdb_status (*writer_add_prepared)(pdb_ctx *ctx, pdb_writer *w, const pdb_parcel *p,
                                      const pdb_geom_prepared *g, int64_t *id_out);
    pdb_status (*writer_reject)(pdb_ctx *ctx, pdb_writer *w, const pdb_reject *r);
    pdb_status (*writer_commit)(pdb_ctx *ctx, pdb_writer *w, pdb_import_counts *counts);
    void (*writer_free)(pdb_writer *w); /* rolls back when not committed */

    /* Reading */
    pdb_status (*parcels_at)(pdb_ctx *ctx, pdb_store *s, double lon, double lat,
                             unsigned read_flags, pdb_parcel_list **out);
    pdb_status (*parcels_first_at)(pdb_ctx *ctx, pdb_store *s, const double *lonlat, size_t n,
                                   pdb_point_parcel *out);
    pdb_status (*parcels_by_number)(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                    const char *former_commune, const char *sheet,
                                    const char *parcel, unsigned read_flags, pdb_parcel_list **out);
    pdb_status (*parcels_in_bbox)(pdb_ctx *ctx, pdb_store *s, double min_lon, double min_lat,
                                  double max_lon, double max_lat, size_t limit, size_t offset,
                                  unsigned read_flags, pdb_parcel_list **out);
    pdb_status (*parcel_history)(pdb_ctx *ctx, pdb_store *s, const char *commune, const char *sheet,
                                 const char *parcel, unsigned read_flags, pdb_parcel_list **out);
    pdb_status (*parcel_get)(pdb_ctx *ctx, pdb_store *s, int64_t id, unsigned read_flags,
                             pdb_parcel **out);
    /* survey_epsg 0: every parcel in WGS 84; else parcels of that source
     * SRID in their survey geometry (pdb_features_in_bbox_survey). */
    pdb_status (*features_in_bbox)(pdb_ctx *ctx, pdb_store *s, const double bbox[4],
                                   int survey_epsg, pdb_feature_fn fn, void *arg);

    /* Overviews */
    pdb_status (*overview_features)(pdb_ctx *ctx, pdb_store *s, int zoom, unsigned kinds,
                                    const double bbox[4], pdb_feature_fn fn, void *arg);
    /* What pdb_overview_rebuild_report (overview_driver.c, one driver
     * for both stores) needs of the store. */
    const struct pdb__ov_io *overview_io;

    /* Changes between surveys (change.c); c already checked as api.c says. */
    pdb_status (*change_apply)(pdb_ctx *ctx, pdb_store *s, const pdb_change *c,
                               pdb_change_result **out);
    pdb_status (*parcel_lineage)(pdb_ctx *ctx, pdb_store *s, int64_t id, pdb_lineage **out);
    /* The steps of a batch (pdb_import_changes_get's, in its order) into
     * *out, whose id is the batch; PDB_ENOTFOUND for an unknown batch. */
    pdb_status (*import_steps)(pdb_ctx *ctx, pdb_store *s, int64_t batch_id, pdb_lineage **out);
    /* The rows of rejects of a batch's commune with that reason, into *n. */
    pdb_status (*batch_rejects)(pdb_ctx *ctx, pdb_store *s, int64_t batch_id, const char *commune,
                                const char *reason, int64_t *n);

    /* Backup */
    pdb_status (*backup)(pdb_ctx *ctx, pdb_store *s, const char *dest_path,
                         const pdb_backup_options *opt, pdb_backup_result *result);
} pdb__store_ops;

struct pdb__ov_shape;

/* One current parcel of a commune, as an overview rebuild reads it: its
 * main land-use code, computed area and WGS 84 geometry (borrowed for the
 * call). A failure it returns ends the read and is returned by it. */
typedef pdb_status (*pdb__ov_parcel_fn)(void *arg, const char *landuse_main, double area_m2,
                                        const pdb_polygons *geom);

/* A store's side of an overview rebuild (overview_driver.c reads, builds
 * and writes communes through it; overview.c and pg_overview.c implement
 * it). Every call reports through ctx; a store failure (PDB_ESTORE,
 * PDB_EIO, PDB_EBUSY, PDB_ECORRUPT, PDB_EREADONLY) ends the rebuild, any
 * other status is the commune's own. */
typedef struct pdb__ov_io {
    /* Starts the rebuild's write transaction with the writers' lock (as a
     * load takes it) and lists the communes it covers, in code order
     * (bytewise): commune alone (none when the store has no trace of it),
     * or, when NULL, those that need it (stale, or with parcels and no
     * shapes in the finest band) but not those whose last rebuild failed.
     * *codes is the caller's to free. On failure nothing is left open. */
    pdb_status (*begin)(pdb_ctx *ctx, pdb_store *s, const char *commune, char (**codes)[8],
                        size_t *n);
    /* With bump, a new data version (the one the communes were stamped
     * with); then commits. */
    pdb_status (*commit)(pdb_ctx *ctx, pdb_store *s, int bump);
    void (*rollback)(pdb_store *s); /* after a failure inside the transaction */
    /* Up to want readers for builder threads, each reading what the
     * rebuild's transaction reads; returns how many it made, each in
     * readers[i]. NULL, or 0 made: the writer's thread reads (on s), and
     * builder threads only build. A reader that could not be made is not
     * the rebuild's failure (ctx keeps its earlier error). */
    int (*readers_open)(pdb_ctx *ctx, pdb_store *s, void **readers, int want);
    void (*readers_close)(void **readers, int n);
    /* Calls fn with each current parcel of commune, ordered by main
     * land-use code (bytewise), then id; through reader (one that
     * readers_open made, used by one thread) or, when NULL, on s. */
    pdb_status (*read_parcels)(pdb_ctx *ctx, pdb_store *s, void *reader, const char *commune,
                               pdb__ov_parcel_fn fn, void *arg);
    /* Runs a statement that takes no parameter (SAVEPOINT, RELEASE,
     * ROLLBACK TO). */
    pdb_status (*exec)(pdb_ctx *ctx, pdb_store *s, const char *sql);
    /* Replaces the commune's shapes with these (none: it keeps none) and
     * clears its stale mark. */
    pdb_status (*replace)(pdb_ctx *ctx, pdb_store *s, const char *commune,
                          const struct pdb__ov_shape *shapes, size_t n);
    /* Records the commune's state in overview_problems: state "failed" or
     * "fallback" with its reason, or NULL to clear it. */
    pdb_status (*problem)(pdb_ctx *ctx, pdb_store *s, const char *commune, const char *state,
                          const char *reason);
    /* Stamps the commune with the data version the transaction commits. */
    pdb_status (*stamp)(pdb_ctx *ctx, pdb_store *s, const char *commune);
} pdb__ov_io;

/* pdb_overview_rebuild_report through s's overview_io (overview_driver.c). */
pdb_status pdb__overview_rebuild_report(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                        pdb_overview_report *rep);

/* What every implementation's writer starts with. */
struct pdb_writer {
    pdb_store *store; /* borrowed; holds the write transaction */
    char commune[8];  /* the load's five-digit commune code */
    int source_srid;  /* the load's EPSG (pdb_writer_add prepares geometries for it) */
};

/* The SQLite/SpatiaLite store (store.c). */
extern const pdb__store_ops pdb__sqlite_ops;
pdb_status pdb__sqlite_create(pdb_ctx *ctx, const char *path, pdb_store **out);
pdb_status pdb__sqlite_open(pdb_ctx *ctx, const char *path, int flags, pdb_store **out);

/* The PostgreSQL/PostGIS store (pg_store.c). location is a libpq URI
 * (postgresql://...) or a conninfo string (host=... dbname=...). */
extern const pdb__store_ops pdb__pg_ops;
pdb_status pdb__pg_create(pdb_ctx *ctx, const char *location, pdb_store **out);
pdb_status pdb__pg_open(pdb_ctx *ctx, const char *location, int flags, pdb_store **out);

/* Whether a store location names a PostgreSQL database rather than a file:
 * a postgresql:// or postgres:// URI, or a libpq conninfo string whose
 * first word is a libpq keyword followed by '=' ("host=/run/pg dbname=x",
 * "service=land"). */
int pdb__location_is_pg(const char *location);

#endif
