/*
 * disk.h: the optional disk tile cache (--cache DIR), shared by the server
 * and `parceldb seed`. Layout: DIR/s-<style hash>/<z>/<x>/<y>[@2x].tile,
 * each file a 32-byte header (magic, epoch, data version, length) and the
 * PNG; DIR/s-<style hash>/state is the change log (changes.h) that says
 * which versions are still current where. Files are written under a
 * temporary name and renamed, so a reader never sees half a tile.
 */
#ifndef PDB_SRV_DISK_H
#define PDB_SRV_DISK_H

#include "cache.h"

#include <stddef.h>
#include <stdint.h>

#define PDB_SRV_DISK_MAX_TILE (16u << 20) /* bytes of one cached tile at most */

typedef struct pdb_srv_disk pdb_srv_disk;

/* Opens (creating as needed) the cache for one style under dir. Returns 0,
 * or -1 with a reason in err. */
int pdb_srv_disk_open(const char *dir, uint64_t style_hash, pdb_srv_disk **out, char *err,
                      size_t errcap);
void pdb_srv_disk_close(pdb_srv_disk *d);

/* The tile, when a file of this epoch rendered at min_version or later is
 * there (*version is its version); NULL otherwise. */
pdb_srv_blob *pdb_srv_disk_get(pdb_srv_disk *d, const pdb_srv_tile_key *key, uint64_t epoch,
                               int64_t min_version, int64_t *version);

/* Writes a tile. Returns 0, or -1 (errno set) when it could not. */
int pdb_srv_disk_put(pdb_srv_disk *d, const pdb_srv_tile_key *key, uint64_t epoch, int64_t version,
                     const pdb_srv_blob *png);

/* The state file's text (caller frees), or NULL when there is none. */
char *pdb_srv_disk_state_read(pdb_srv_disk *d);
/* Replaces the state file atomically. Returns 0 or -1 (errno set). */
int pdb_srv_disk_state_write(pdb_srv_disk *d, const char *text);

/* Removes the temporary files (*.tile.tmp.*) that writers killed
 * mid-write left in the style's directory, once they are older than
 * PDB_SRV_DISK_TMP_STALE_S (a live writer, of this process or of another
 * sharing the cache, renames its file within moments). Returns the
 * number removed. */
#define PDB_SRV_DISK_TMP_STALE_S 600
size_t pdb_srv_disk_sweep_tmp(pdb_srv_disk *d);

/* The style's directory (borrowed). */
const char *pdb_srv_disk_path(const pdb_srv_disk *d);

#endif
