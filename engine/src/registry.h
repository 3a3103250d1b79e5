/*
 * registry.h: the communes the process knows (registry.c): Phu Tho's 148
 * built in (refdata.h) and those of every store it opened, each store's
 * list in its commune_registry table (schema.h, pg_schema.h).
 */
#ifndef PDB_REGISTRY_H
#define PDB_REGISTRY_H

#include "internal.h"

/* A commune list: read from a CSV file (pdb_commune_table_read) or from a
 * store's commune_registry table. */
struct pdb_commune_table {
    pdb_commune_ref *refs; /* count entries in the order read; strings owned */
    int *lines;            /* each entry's line in the file, 0 for a store's rows */
    size_t count;          /* entries in refs and lines */
    size_t cap;            /* room in refs and lines */
    char *origin;          /* the file or the store, for messages */
};

/* A new empty table of the given origin; NULL when out of memory. */
pdb_commune_table *pdb__commune_table_new(const char *origin);

/* Checks one commune and appends a copy of it. line is its line in the
 * file (0 for a store's row); central_meridian is the file's column, or
 * NULL where there is none (a store's row). PDB_EINVAL with
 * "ORIGIN:LINE: what is wrong" for a bad commune, PDB_ENOMEM. */
pdb_status pdb__commune_table_push(pdb_ctx *ctx, pdb_commune_table *t, int line, const char *code,
                                   const char *name, const char *former_province,
                                   const char *central_meridian, int epsg);

/* Fails (PDB_EINVAL, naming both) when a commune of t is already known to
 * the process as another commune; registers nothing. */
pdb_status pdb__registry_check(pdb_ctx *ctx, const pdb_commune_table *t);

/* Registers t's communes process-wide, after the check above (under the
 * registry's lock, so that two threads registering at once are checked
 * against each other). Thread-safe. */
pdb_status pdb__registry_add(pdb_ctx *ctx, const pdb_commune_table *t);

/* Reads a store's communes (its commune_registry table; none when the
 * table is missing, as in stores made before it) and registers them:
 * what every open does (api.c). location names the store in messages. */
pdb_status pdb__registry_load_store(pdb_ctx *ctx, pdb_store *s, const char *location);

/* The PostgreSQL store's side (pg_registry.c): reads the rows into a new
 * table of the given origin (an empty one when the store has no table),
 * and writes a table's communes in one write transaction. */
pdb_status pdb__pg_registry_read(pdb_ctx *ctx, pdb_store *s, const char *origin,
                                 pdb_commune_table **out);
pdb_status pdb__pg_registry_write(pdb_ctx *ctx, pdb_store *s, const pdb_commune_table *t);

#endif
