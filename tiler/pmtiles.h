/*
 * pmtiles.h: PMTiles version 3 archives (spec/v3/spec.md of the PMTiles
 * project): a writer that makes one from tiles given in tile-id order, and
 * a reader that finds a tile in an archive held in memory (an mmap).
 *
 * The archive the writer makes: the 127-byte header, the root directory,
 * the JSON metadata, the leaf directories (only when every entry in the
 * root would not fit in the first 16,384 bytes), then the tile data in
 * tile-id order (clustered). Directories are gzip-compressed. A tile whose
 * bytes equal an earlier tile's is stored once, and a run of consecutive
 * tile ids with the same bytes is one entry (run-length).
 *
 * Conventions: those of tiler.h (a pdbt_ctx first, pdb_status returned,
 * one-line messages on the context). Unlike the rest of the renderer, the
 * writer writes files: the archive at its path, through PATH.tmp and a
 * rename, so that no half-written archive ever has the final name.
 */
#ifndef PDB_TILER_PMTILES_H
#define PDB_TILER_PMTILES_H

#include "tiler.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PDBT_PMTILES_HEADER_BYTES 127 /* the fixed header */
#define PDBT_PMTILES_ROOT_MAX 16384   /* header and root directory fit in this */
#define PDBT_PMTILES_MAX_ZOOM 31      /* tile ids fit 64 bits up to this zoom */

/* Compression and tile type codes of the header (spec 3.3, 3.2). */
enum {
    PDBT_PMTILES_COMPRESSION_UNKNOWN = 0,
    PDBT_PMTILES_COMPRESSION_NONE = 1,
    PDBT_PMTILES_COMPRESSION_GZIP = 2,
};
enum {
    PDBT_PMTILES_TYPE_UNKNOWN = 0,
    PDBT_PMTILES_TYPE_MVT = 1,
    PDBT_PMTILES_TYPE_PNG = 2,
};

/* The header's fields, as written and as read. */
typedef struct pdbt_pmtiles_header {
    uint64_t root_offset;     /* bytes from the archive's start */
    uint64_t root_length;     /* bytes (compressed) */
    uint64_t metadata_offset; /* bytes from the archive's start */
    uint64_t metadata_length; /* bytes (compressed) */
    uint64_t leaves_offset;   /* bytes from the archive's start */
    uint64_t leaves_length;   /* bytes; 0 when there are no leaf directories */
    uint64_t data_offset;     /* bytes from the archive's start */
    uint64_t data_length;     /* bytes */
    uint64_t addressed_tiles; /* tiles before run-length encoding */
    uint64_t tile_entries;    /* directory entries of tiles (run length > 0) */
    uint64_t tile_contents;   /* distinct tile blobs */
    int clustered;            /* 1: tile data in tile-id order */
    int internal_compression; /* PDBT_PMTILES_COMPRESSION_* of directories and metadata */
    int tile_compression;     /* PDBT_PMTILES_COMPRESSION_* of the tiles */
    int tile_type;            /* PDBT_PMTILES_TYPE_* */
    int min_zoom;             /* 0 .. 255 */
    int max_zoom;             /* >= min_zoom */
    double bounds[4];         /* min lon, min lat, max lon, max lat, degrees (1e-7) */
    int center_zoom;          /* a reader's first zoom */
    double center[2];         /* lon, lat, degrees */
} pdbt_pmtiles_header;

/* The tile id of z/x/y: its place on the Hilbert curves of zooms 0, 1, ...
 * in turn (z 0 is 0; z 1: 0/0 1, 0/1 2, 1/1 3, 1/0 4). z at most
 * PDBT_PMTILES_MAX_ZOOM and x, y below 2^z (not checked). */
uint64_t pdbt_pmtiles_tile_id(int z, uint32_t x, uint32_t y);
/* And back; -1 for an id past zoom PDBT_PMTILES_MAX_ZOOM. */
int pdbt_pmtiles_tile_zxy(uint64_t id, int *z, uint32_t *x, uint32_t *y);

/* ------------------------------------------------------------------------ */
/* Writer                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct pdbt_pmtiles_writer pdbt_pmtiles_writer;

typedef struct pdbt_pmtiles_writer_options {
    int tile_type;        /* PDBT_PMTILES_TYPE_PNG or _MVT */
    int tile_compression; /* PDBT_PMTILES_COMPRESSION_NONE or _GZIP: how the tiles
                             given are already compressed (the writer does not) */
    size_t leaf_entries;  /* entries per leaf directory; 0 to choose (leaves only
                             when the root would not fit) */
} pdbt_pmtiles_writer_options;

/* Starts an archive to be named path: creates path.tmp (and path.tmp.tiles
 * for the tile data while it grows), removing stale ones. PDB_EIO with the
 * file's name and the system's reason when they cannot be made. */
pdb_status pdbt_pmtiles_writer_new(pdbt_ctx *ctx, const char *path,
                                   const pdbt_pmtiles_writer_options *opts,
                                   pdbt_pmtiles_writer **out);

/* Adds tile z/x/y with its bytes (len > 0; copied). Tiles must come in
 * strictly increasing tile id (PDB_EINVAL otherwise); PDB_EIO when the
 * tile data cannot be written. */
pdb_status pdbt_pmtiles_writer_add(pdbt_ctx *ctx, pdbt_pmtiles_writer *w, int z, uint32_t x,
                                   uint32_t y, const void *data, size_t len);

/* Tiles added, directory entries and distinct contents so far. */
void pdbt_pmtiles_writer_counts(const pdbt_pmtiles_writer *w, uint64_t *tiles, uint64_t *entries,
                                uint64_t *contents);

/* Writes the header (zooms, bounds and centre from h; the offsets, lengths,
 * counts and codes are the writer's own and are ignored in h), the
 * directories and the metadata (a JSON object's text), syncs the file and
 * renames path.tmp to path. PDB_EINVAL when no tile was added, PDB_EIO. */
pdb_status pdbt_pmtiles_writer_finish(pdbt_ctx *ctx, pdbt_pmtiles_writer *w,
                                      const pdbt_pmtiles_header *h, const char *metadata_json);

/* Frees the writer; an archive not finished is removed (its .tmp files),
 * never left under the final name. NULL is a no-op. */
void pdbt_pmtiles_writer_free(pdbt_pmtiles_writer *w);

/* ------------------------------------------------------------------------ */
/* Reader                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct pdbt_pmtiles pdbt_pmtiles;

/* Reads an archive held in memory (borrowed: it must outlive the reader):
 * checks the header (magic, version 3, every section inside len, the root
 * directory in the first 16,384 bytes, gzip or no internal compression)
 * and decodes the root directory and the metadata. PDB_EINVAL with one
 * line saying what is wrong; PDB_ENOMEM. Once made, the reader is only
 * read, so any number of threads may use it at once. */
pdb_status pdbt_pmtiles_open(pdbt_ctx *ctx, const void *data, size_t len, pdbt_pmtiles **out);
void pdbt_pmtiles_free(pdbt_pmtiles *p);

/* The header (borrowed). */
const pdbt_pmtiles_header *pdbt_pmtiles_get_header(const pdbt_pmtiles *p);
/* The metadata's JSON text, uncompressed and NUL-terminated (borrowed). */
const char *pdbt_pmtiles_metadata(const pdbt_pmtiles *p);

/* Finds tile z/x/y: PDB_OK with *data (borrowed from the archive's memory)
 * and *len; PDB_ENOTFOUND when the archive does not hold it; PDB_EINVAL
 * for a directory that does not decode (a damaged archive). ctx may be
 * NULL (no message then): the server's hot path. */
pdb_status pdbt_pmtiles_get(pdbt_ctx *ctx, const pdbt_pmtiles *p, int z, uint32_t x, uint32_t y,
                            const unsigned char **data, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
