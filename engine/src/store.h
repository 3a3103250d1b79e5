/*
 * store.h: the store handle and, for the SQLite/SpatiaLite store, its
 * connection and cached prepared statements, shared by store.c, writer.c,
 * query.c, overview.c, lookup.c and backup.c. A PostgreSQL store's handle
 * has ops = &pdb__pg_ops and its connection in pg (pg.h); the SQLite
 * fields stay zero there.
 */
#ifndef PDB_STORE_H
#define PDB_STORE_H

#include "backend.h"

#include <sqlite3.h>

/* Statements prepared once per connection and reused. */
typedef enum store_stmt {
    STMT_DATA_VERSION,
    STMT_PARCELS_AT,
    STMT_PARCELS_BY_NUMBER,
    STMT_PARCELS_IN_BOX,
    STMT_PARCEL_HISTORY,
    STMT_PARCEL_BY_ID,
    STMT_FIND_CHECKSUM,
    STMT_BOX_IDS,                /* the R-tree's candidates for a box, unordered */
    STMT_FEATURES_IN_BOX,        /* the current parcels among ?1's ids (pdb_idlist), in id order */
    STMT_FEATURES_IN_BOX_SURVEY, /* the same, with the source geometry of ?2's zone
                                    (not of parcels repaired at import, flag 8) */
    STMT_OVERVIEW_FEATURES,      /* overview shapes and stale communes' parcels (overview.c) */
    STMT_OVERVIEW_OUTLINES,      /* the communes' outlines alone (overview.c) */
    STMT_BEGIN,                  /* a query's read snapshot: parsed once, not per lookup */
    STMT_COMMIT,                 /* its end */
    STMT_COUNT
} store_stmt;

struct pdb_store {
    const pdb__store_ops *ops;       /* which store this is (backend.h) */
    struct pdb__pg *pg;              /* the PostgreSQL store's side (pg.h), or NULL */
    sqlite3 *db;                     /* this handle's connection */
    void *spatialite;                /* SpatiaLite's per-connection cache */
    int readonly;                    /* opened with PDB_OPEN_READONLY */
    sqlite3_stmt *stmts[STMT_COUNT]; /* cached statements, prepared on first use */
    int writing;                     /* a pdb_writer holds the transaction */
    struct pdb__lookup *lookup;      /* point-lookup index, loaded on first use (lookup.c) */
    int64_t trusted_version;         /* pdb_store_trust_version's version, if trusted */
    int trusted;                     /* 1 when trusted_version was given (not -1) */
};

/* The columns every parcel read selects, in this order (see
 * pdb__parcel_from_row); `p` is the parcels table's alias. */
#define PDB_PARCEL_COLUMNS                                                                         \
    "p.id, p.commune, p.former_commune, p.sheet, p.parcel, p.landuse, p.area_surveyed_m2, "        \
    "p.area_computed_m2, p.address, p.owner, p.source_srid, p.batch_id, p.valid_from, "            \
    "p.valid_to, p.flags, p.source_geom, p.geom, p.prev_sheet, p.prev_parcel, p.certificate, "     \
    "p.record_start, p.record_end"
#define PDB_PARCEL_NCOLUMNS 22
#define PDB_COL_GEOM 16     /* index of p.geom in PDB_PARCEL_COLUMNS */
#define PDB_COL_NATIONAL 17 /* index of p.prev_sheet, the first of the national five */

/* Turns an SQLite failure into a status and message:
 * "<what>: <sqlite message>". */
pdb_status pdb__sql_fail(pdb_ctx *ctx, sqlite3 *db, int rc, const char *what);

/* Returns the cached statement, reset and with bindings cleared. */
pdb_status pdb__store_stmt(pdb_ctx *ctx, pdb_store *s, store_stmt id, sqlite3_stmt **out);

/* One read snapshot over several statements: BEGIN unless the connection
 * is already in a transaction (*began says which); pdb__sq_read_end ends
 * what pdb__sq_read_begin began. */
pdb_status pdb__sq_read_begin(pdb_ctx *ctx, pdb_store *s, int *began);
void pdb__sq_read_end(pdb_ctx *ctx, pdb_store *s, int began);

/* Runs SQL with no result rows. */
pdb_status pdb__store_exec(pdb_ctx *ctx, pdb_store *s, const char *sql);

/* Fills *p from the current row of a statement selecting PDB_PARCEL_COLUMNS,
 * taking only what read_flags ask for. */
pdb_status pdb__parcel_from_row(pdb_ctx *ctx, sqlite3_stmt *stmt, unsigned read_flags,
                                pdb_parcel *p);

/* The columns a feature read selects, in this order (see
 * pdb__features_emit): a parcel's, or an overview shape's with id 0 and
 * NULL sheet and parcel. An optional ninth column, when 1, asks that the
 * row's geometry box be tested against the query box first (rows that come
 * from a coarser index than the geometry's own). Two more, the survey
 * geometry as WKB (NULL: none) and its SRID, hand over the survey geometry
 * instead of geom when it is not NULL (pdb_features_in_bbox_survey). */
#define PDB_FEATURE_COLUMNS "id, commune, sheet, parcel, landuse, landuse_main, area_m2, geom"

/* Calls fn with each row of stmt (columns as PDB_FEATURE_COLUMNS) as a
 * borrowed pdb_feature, until fn returns non-zero or the rows end; does not
 * reset or finalize stmt. what names the read in an SQLite failure. */
pdb_status pdb__features_emit(pdb_ctx *ctx, pdb_store *s, sqlite3_stmt *stmt, const double box[4],
                              pdb_feature_fn fn, void *arg, const char *what);

/* Stamps a commune's row with the data version its write transaction will
 * commit (the stored one plus one: every writer bumps meta.data_version by
 * one just before its COMMIT, and any transaction that stamps a commune
 * must bump it). So communes.data_version is the version at which the
 * commune last changed, and a reader that saw version V knows the communes
 * changed since: those above V (writer.c). */
pdb_status pdb__commune_stamp(pdb_ctx *ctx, pdb_store *s, const char *commune);

/* The SQLite store's operations (backend.h's pdb__sqlite_ops), each with
 * the contract of the public function of the same name. */
pdb_status pdb__sq_store_create(pdb_ctx *ctx, const char *path, pdb_store **out);
pdb_status pdb__sq_store_open(pdb_ctx *ctx, const char *path, int flags, pdb_store **out);
void pdb__sq_store_close(pdb_store *s);
pdb_status pdb__sq_store_data_version(pdb_ctx *ctx, pdb_store *s, int64_t *out);
pdb_status pdb__sq_store_stats_get(pdb_ctx *ctx, pdb_store *s, pdb_store_stats *out);
pdb_status pdb__sq_store_check(pdb_ctx *ctx, pdb_store *s);
pdb_status pdb__sq_communes_list(pdb_ctx *ctx, pdb_store *s, pdb_commune_list **out);
pdb_status pdb__sq_import_begin(pdb_ctx *ctx, pdb_store *s, const char *description,
                                int64_t *batch_id_out);
pdb_status pdb__sq_import_end(pdb_ctx *ctx, pdb_store *s, int64_t batch_id, const char *status,
                              const pdb_import_counts *totals);
pdb_status pdb__sq_import_find_checksum(pdb_ctx *ctx, pdb_store *s, const char *checksum,
                                        int64_t *batch_out);
pdb_status pdb__sq_writer_begin(pdb_ctx *ctx, pdb_store *s, const pdb_commune_load *load,
                                pdb_writer **out);
pdb_status pdb__sq_writer_add_prepared(pdb_ctx *ctx, pdb_writer *w, const pdb_parcel *p,
                                       const pdb_geom_prepared *g, int64_t *id_out);
pdb_status pdb__sq_writer_reject(pdb_ctx *ctx, pdb_writer *w, const pdb_reject *r);
pdb_status pdb__sq_writer_commit(pdb_ctx *ctx, pdb_writer *w, pdb_import_counts *counts);
void pdb__sq_writer_free(pdb_writer *w);
pdb_status pdb__sq_parcels_at(pdb_ctx *ctx, pdb_store *s, double lon, double lat,
                              unsigned read_flags, pdb_parcel_list **out);
pdb_status pdb__sq_parcels_first_at(pdb_ctx *ctx, pdb_store *s, const double *lonlat, size_t n,
                                    pdb_point_parcel *out);
pdb_status pdb__sq_parcels_by_number(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                     const char *former_commune, const char *sheet,
                                     const char *parcel, unsigned read_flags,
                                     pdb_parcel_list **out);
pdb_status pdb__sq_parcels_in_bbox(pdb_ctx *ctx, pdb_store *s, double min_lon, double min_lat,
                                   double max_lon, double max_lat, size_t limit, size_t offset,
                                   unsigned read_flags, pdb_parcel_list **out);
pdb_status pdb__sq_parcel_history(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                  const char *sheet, const char *parcel, unsigned read_flags,
                                  pdb_parcel_list **out);
pdb_status pdb__sq_parcel_get(pdb_ctx *ctx, pdb_store *s, int64_t id, unsigned read_flags,
                              pdb_parcel **out);
pdb_status pdb__sq_features_in_bbox(pdb_ctx *ctx, pdb_store *s, const double bbox[4],
                                    int survey_epsg, pdb_feature_fn fn, void *arg);
pdb_status pdb__sq_overview_features(pdb_ctx *ctx, pdb_store *s, int zoom, unsigned kinds,
                                     const double bbox[4], pdb_feature_fn fn, void *arg);
pdb_status pdb__sq_store_backup(pdb_ctx *ctx, pdb_store *s, const char *dest,
                                const pdb_backup_options *opt, pdb_backup_result *result);

pdb_status pdb__sq_change_apply(pdb_ctx *ctx, pdb_store *s, const pdb_change *c,
                                pdb_change_result **out);
pdb_status pdb__sq_parcel_lineage(pdb_ctx *ctx, pdb_store *s, int64_t id, pdb_lineage **out);
/* The current UTC time as "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void pdb__now_iso(char buf[32]);

#endif
