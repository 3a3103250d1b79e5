/*
 * sync.h: keeping the server in step with the store: the commune rows and
 * data version read in one view, the change log (changes.h) moved to a
 * new version, and a store file replaced under its name. Tile caches are
 * invalidated here, so that no tile older than its data is served.
 */
#ifndef PDB_SRV_SYNC_H
#define PDB_SRV_SYNC_H

#include "changes.h"
#include "disk.h"
#include "worker.h"

#include "parceldb.h"

#include <stddef.h>
#include <stdint.h>

/* Brings the change log and the caches up to the store's data version
 * (read through w). Returns 0, or -1 with a reason in msg. */
int pdb_srv_sync_version(pdb_srv *srv, pdb_srv_worker *w, int64_t version, char *msg, size_t cap);

/* Starts the server's change log at the store's current version (read
 * through w), resumed from the disk cache when it can be. 0, or -1 with the
 * reason in msg. */
int pdb_srv_sync_start(pdb_srv *srv, pdb_srv_worker *w, char *msg, size_t cap);

/* The store file changed identity: new epoch, empty caches, fresh
 * connections everywhere. 0, or -1 when the old file's WAL is in the way
 * (then the workers keep the old file). */
int pdb_srv_store_replaced(pdb_srv *srv, pdb_srv_worker *w);

/* A copy of the store's communes as last read (caller frees), with the
 * count in *n; NULL (and 0) when none or out of memory. */
pdb_srv_commune_state *pdb_srv_communes_copy(pdb_srv *srv, size_t *n);

/* Starts a change log at version: resumed from the disk cache's state
 * when it describes this store file, else fresh (a new epoch). Shared by
 * the server and seeding, so both agree on tile versions. 0 or -1 (no
 * memory). */
int pdb_srv_changes_start(pdb_srv_changes *c, pdb_srv_disk *disk, const char *db_path,
                          int64_t version, const pdb_srv_commune_state *rows, size_t n);
/* Reads the store's communes (rows and overview states) and its data
 * version in one consistent view. 0, or -1 with the reason in msg. */
int pdb_srv_read_communes(pdb_ctx *ctx, pdb_store *store, int64_t *version,
                          pdb_srv_commune_state **rows, size_t *n, char *msg, size_t cap);
/* Converts the store's communes to the change log's rows (caller frees). */
pdb_srv_commune_state *pdb_srv_commune_rows(const pdb_commune_list *list, size_t *n);

#endif
