/*
 * pg.h: the PostgreSQL/PostGIS store's connection and helpers, shared by
 * pg_store.c (connect, schema, communes, stats, backup), pg_writer.c
 * (import runs and one commune's load through binary COPY) and pg_query.c
 * (reads, features for the renderer, overviews). Only these files include
 * libpq.
 *
 * The store lives in the PostgreSQL schema PDB_PG_SCHEMA of the database
 * the location names (pg_schema.h); every statement names its tables
 * schema-qualified, so the role's search_path does not matter.
 */
#ifndef PDB_PG_H
#define PDB_PG_H

#include "backend.h"

#include <libpq-fe.h>

/* The PostgreSQL side of a pdb_store (store.h: pdb_store.pg). */
typedef struct pdb__pg {
    PGconn *conn;           /* this handle's connection */
    char *location;         /* as given to open/create, for reconnects and pg_dump */
    char *shown;            /* the location for messages: without its password */
    int in_read;            /* a read snapshot (REPEATABLE READ) is open */
    struct pg_writer *load; /* the load open on conn (pg_writer.c), or NULL */
    uint32_t prepared;      /* bit i: pdb__pg_stmt i is prepared on conn (0: new conn) */
    struct pdb__ov_communes *ov_communes; /* the communes as overview reads last saw them
                                             (pg_overview.c), or NULL */
    int readonly;       /* the session is read-only (set again after a reconnect) */
    int listening;      /* LISTEN parceldb succeeded on conn (a hot standby refuses it) */
    int64_t dv;         /* the data version as last read from meta */
    int64_t dv_read_ms; /* when (pdb__pg_now_ms), 0 for never: the cache is empty */
    int64_t reset_ms;   /* when the last reconnect was tried (pdb__pg_now_ms), 0 never */
    int no_national;    /* a read-only handle on a store made before the national
                           attribute set: parcel reads select NULLs for its columns */
} pdb__pg;

/* How long a read-only handle answers its data version from the last read
 * of meta while no notification arrived: the bound on how late a commit
 * is seen where NOTIFY does not reach (a hot standby), and on a missed
 * notification. */
#define PDB_PG_DV_POLL_MS 1000

/* How often a handle whose connection was lost tries to reconnect: a
 * reconnect to a server that is down costs a connect attempt (up to the
 * location's connect_timeout over TCP) on the caller's thread. */
#define PDB_PG_RECONNECT_MS 1000

/* A monotonic clock in milliseconds, for the two intervals above. */
int64_t pdb__pg_now_ms(void);

/* Sets up a new (or reset) connection's session: UTF-8, notices kept
 * quiet, LISTEN parceldb (where the server allows it: not on a hot
 * standby; pg->listening says whether it did), read-only when
 * pg->readonly. PDB_OK or the failure. */
pdb_status pdb__pg_session(pdb_ctx *ctx, pdb__pg *pg);

/* Runs LISTEN parceldb on the connection, outside a transaction, and
 * sets pg->listening to whether the server took it (a hot standby
 * refuses it: "cannot execute LISTEN during recovery"). 1 when it did. */
int pdb__pg_listen(pdb__pg *pg);

/* Reconnects a handle whose connection is lost (PQstatus not OK), outside
 * a load, at most once per PDB_PG_RECONNECT_MS: PQreset, then the session
 * again; statements are prepared again on first use. 1 when the
 * connection is usable afterwards, 0 otherwise (ctx untouched: the
 * caller's failure says what failed). */
int pdb__pg_reconnect(pdb__pg *pg);

/* Statements prepared once per connection (pdb__pg_prepared), for the
 * ones run often: parsing and planning cost as much as the round trip.
 * Add an entry for a new one (at most 32). */
typedef enum pdb__pg_stmt {
    PDB_PG_STMT_DATA_VERSION, /* pdb__pg_data_version: twice per rendered tile */
    PDB_PG_STMT_COUNT
} pdb__pg_stmt;

/* Runs statement id (its SQL given each time; prepared on the
 * connection on first use) as pdb__pg_query runs a statement. */
pdb_status pdb__pg_prepared(pdb_ctx *ctx, pdb__pg *pg, pdb__pg_stmt id, const char *sql,
                            int nparams, const char *const *params, const char *what,
                            PGresult **out);

/* Ends the COPY of the load open on the connection, if its parcels are
 * streaming, so that another statement can run there: inside the load's
 * transaction, seeing the parcels sent so far (as a read inside SQLite's
 * write transaction does); the load's next parcel starts a new COPY.
 * pdb__pg_exec and pdb__pg_query call it first, so every statement run
 * through them may come in the middle of a load. */
pdb_status pdb__pg_load_pause(pdb_ctx *ctx, pdb__pg *pg);

/* Turns a failed result (or a NULL one: the connection's message) into a
 * status and "<what>: <PostgreSQL message, first line>"; clears res. The
 * status: PDB_EIO for connection loss, PDB_EREADONLY for a role without
 * write rights (SQLSTATE 42501) or a read-only transaction (25006),
 * PDB_EBUSY for lock or serialization conflicts (40001, 40P01, 55P03),
 * PDB_EINVAL otherwise. */
pdb_status pdb__pg_fail(pdb_ctx *ctx, pdb__pg *pg, PGresult *res, const char *what);

/* Runs SQL with no parameters and no result rows. */
pdb_status pdb__pg_exec(pdb_ctx *ctx, pdb__pg *pg, const char *sql, const char *what);

/* Runs a statement with text parameters (NULL entries are SQL NULL) and
 * returns its result in *out when it succeeded (PGRES_TUPLES_OK or
 * PGRES_COMMAND_OK); the caller PQclear()s it. */
pdb_status pdb__pg_query(pdb_ctx *ctx, pdb__pg *pg, const char *sql, int nparams,
                         const char *const *params, const char *what, PGresult **out);

/* Opens a write transaction as every writer of the store must (a
 * commune's load, an overview rebuild, an index backfill): BEGIN, then the
 * lock on meta's data_version row (SELECT ... FOR UPDATE), which every
 * write transaction takes first and bumps just before its COMMIT. Writers
 * then queue, as SQLite's BEGIN IMMEDIATE makes them, instead of
 * deadlocking (one that locked a commune's row first and meta last would
 * deadlock against a load). A writer waits as long as the SQLite store's
 * busy timeout (10 s), then fails with PDB_EBUSY; a role without write
 * rights fails with PDB_EREADONLY. On failure the transaction is rolled
 * back. */
pdb_status pdb__pg_write_begin(pdb_ctx *ctx, pdb__pg *pg, const char *what);

/* pg_change.c: the store's change_apply and parcel_lineage operations
 * (backend.h), and the making of their tables at a read-write open of a
 * store without them. */
pdb_status pdb__pg_change_apply(pdb_ctx *ctx, pdb_store *s, const pdb_change *c,
                                pdb_change_result **out);
pdb_status pdb__pg_parcel_lineage(pdb_ctx *ctx, pdb_store *s, int64_t id, pdb_lineage **out);
pdb_status pdb__pg_changes_schema(pdb_ctx *ctx, pdb_store *s);
/* pg_lineage.c: the lineage of re-imports (lineage_import.h's SQLite
 * functions, for this store), and the lineage table's upgrade to the
 * 'unchanged' kind at a read-write open. */
pdb_status pdb__pg_lineage_record(pdb_ctx *ctx, pdb_writer *pw, int64_t batch_id, const char *now);
pdb_status pdb__pg_import_steps(pdb_ctx *ctx, pdb_store *s, int64_t batch_id, pdb_lineage **out);
pdb_status pdb__pg_batch_rejects(pdb_ctx *ctx, pdb_store *s, int64_t batch_id, const char *commune,
                                 const char *reason, int64_t *n);
pdb_status pdb__pg_lineage_upgrade(pdb_ctx *ctx, pdb_store *s);

/* The EWKB of a WKB geometry with its SRID set (for binary COPY into a
 * geometry column): the first header gets the SRID flag and the SRID;
 * the parts are copied as they are. Owned by the caller (free()). */
pdb_status pdb__pg_ewkb(pdb_ctx *ctx, const unsigned char *wkb, size_t len, int srid,
                        unsigned char **out, size_t *out_len);

/* Writes the EWKB of a WKB geometry into dst, which has room for len + 4
 * bytes (what pdb__pg_ewkb does, without allocating); returns the bytes
 * written, or 0 when wkb is not WKB. A WKB that already carries an SRID
 * (EWKB) keeps its layout and gets srid in place. */
size_t pdb__pg_ewkb_into(const unsigned char *wkb, size_t len, int srid, unsigned char *dst);

/* The location for messages: a libpq URI or conninfo string without its
 * password, or a copy of it as given when it has none. NULL when out of
 * memory. Owned by the caller (free()). */
char *pdb__pg_location_shown(const char *location);

/* The PostgreSQL store's operations (backend.h's pdb__pg_ops), each with
 * the contract of the public function of the same name. pg_store.c: */
void pdb__pg_close(pdb_store *s);
pdb_status pdb__pg_data_version(pdb_ctx *ctx, pdb_store *s, int64_t *out);
/* Frees a handle's ov_communes (pg_overview.c). */
void pdb__pg_ov_communes_free(struct pdb__ov_communes *c);
pdb_status pdb__pg_stats_get(pdb_ctx *ctx, pdb_store *s, pdb_store_stats *out);
pdb_status pdb__pg_check(pdb_ctx *ctx, pdb_store *s);
pdb_status pdb__pg_communes_list(pdb_ctx *ctx, pdb_store *s, pdb_commune_list **out);
pdb_status pdb__pg_import_begin(pdb_ctx *ctx, pdb_store *s, const char *description,
                                int64_t *batch_id_out);
pdb_status pdb__pg_import_end(pdb_ctx *ctx, pdb_store *s, int64_t batch_id, const char *status,
                              const pdb_import_counts *totals);
pdb_status pdb__pg_import_find_checksum(pdb_ctx *ctx, pdb_store *s, const char *checksum,
                                        int64_t *batch_out);
pdb_status pdb__pg_backup(pdb_ctx *ctx, pdb_store *s, const char *dest,
                          const pdb_backup_options *opt, pdb_backup_result *result);

/* pg_writer.c: */
pdb_status pdb__pg_writer_begin(pdb_ctx *ctx, pdb_store *s, const pdb_commune_load *load,
                                pdb_writer **out);
pdb_status pdb__pg_writer_add_prepared(pdb_ctx *ctx, pdb_writer *w, const pdb_parcel *p,
                                       const pdb_geom_prepared *g, int64_t *id_out);
pdb_status pdb__pg_writer_reject(pdb_ctx *ctx, pdb_writer *w, const pdb_reject *r);
pdb_status pdb__pg_writer_commit(pdb_ctx *ctx, pdb_writer *w, pdb_import_counts *counts);
void pdb__pg_writer_free(pdb_writer *w);

/* pg_query.c and pg_overview.c (reads, features, overviews; the point
 * lookups are pg_lookup.h's): */
pdb_status pdb__pg_parcels_by_number(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                     const char *former_commune, const char *sheet,
                                     const char *parcel, unsigned read_flags,
                                     pdb_parcel_list **out);
pdb_status pdb__pg_parcels_in_bbox(pdb_ctx *ctx, pdb_store *s, double min_lon, double min_lat,
                                   double max_lon, double max_lat, size_t limit, size_t offset,
                                   unsigned read_flags, pdb_parcel_list **out);
pdb_status pdb__pg_parcel_history(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                  const char *sheet, const char *parcel, unsigned read_flags,
                                  pdb_parcel_list **out);
pdb_status pdb__pg_parcel_get(pdb_ctx *ctx, pdb_store *s, int64_t id, unsigned read_flags,
                              pdb_parcel **out);
pdb_status pdb__pg_features_in_bbox(pdb_ctx *ctx, pdb_store *s, const double bbox[4],
                                    int survey_epsg, pdb_feature_fn fn, void *arg);
pdb_status pdb__pg_overview_features(pdb_ctx *ctx, pdb_store *s, int zoom, unsigned kinds,
                                     const double bbox[4], pdb_feature_fn fn, void *arg);
/* The PostgreSQL store's side of a rebuild (pg_overview.c; backend.h). */
extern const pdb__ov_io pdb__pg_overview_io;

#endif
