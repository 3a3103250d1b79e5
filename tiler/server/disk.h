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
 * or -1 with a reason in err. max_bytes > 0 limits the size of dir, all
 * styles together (--cache-max-mb): the sum of the apparent sizes
 * (st_size, not blocks) of the regular files under it. Opening walks dir
 * once to learn its size; then a counter in the process follows the tiles
 * written, and the write that takes it past the limit removes the least
 * recently used tiles (last written, or read: see pdb_srv_disk_get) down
 * to 90% of the limit, in one walk. So dir stays under the limit plus the
 * tiles being written at that moment (one per rendering thread). Several
 * processes sharing dir each count only their own writes between walks:
 * each walk learns the true size, but between walks dir can grow by what
 * the others wrote; give each process its share of the disk for a hard
 * bound. */
int pdb_srv_disk_open(const char *dir, uint64_t style_hash, uint64_t max_bytes, pdb_srv_disk **out,
                      char *err, size_t errcap);
void pdb_srv_disk_close(pdb_srv_disk *d);

/* The tile, when a file of this epoch rendered at min_version or later is
 * there (*version is its version); NULL otherwise. Under a size limit, a
 * hit sets the file's access time (at most every 10 minutes per tile):
 * the eviction's "recently used". */
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

/* The process's count of the bytes under the cache directory (0 without
 * a limit: only a limit pays for the count), and the tiles its evictions
 * removed. For /metrics. */
uint64_t pdb_srv_disk_bytes(void);
uint64_t pdb_srv_disk_evictions(void);

/* The style's directory (borrowed). */
const char *pdb_srv_disk_path(const pdb_srv_disk *d);

#endif
