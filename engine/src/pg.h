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
    PGconn *conn;        /* this handle's connection */
    char *location;      /* as given to open/create, for reconnects and messages */
    int in_read;         /* a read snapshot (REPEATABLE READ) is open */
} pdb__pg;

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

/* The EWKB of a WKB geometry with its SRID set (for binary COPY into a
 * geometry column): the first header gets the SRID flag and the SRID;
 * the parts are copied as they are. Owned by the caller (free()). */
pdb_status pdb__pg_ewkb(pdb_ctx *ctx, const unsigned char *wkb, size_t len, int srid,
                        unsigned char **out, size_t *out_len);

#endif
