/*
 * cache.h: the in-memory tile cache: a bounded LRU of PNG bytes keyed by
 * style, zoom, column, row and scale, with one render per missing tile
 * however many requests ask for it at once ("single flight"), and
 * invalidation by a Web Mercator box. No sockets, no store: tested alone.
 *
 * Each entry remembers the data version its tile was rendered at. A
 * lookup names the oldest version still valid for that tile (from the
 * change log, changes.h); an older entry is dropped instead of served, so
 * that a tile rendered just before an import can never come back.
 */
#ifndef PDB_SRV_CACHE_H
#define PDB_SRV_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Something made once from a blob's bytes and kept with them (http.c
 * keeps a ready HTTP response there), freed with the blob by its own
 * function. Embed it as the first member of the real struct. */
typedef struct pdb_srv_blob_extra {
    void (*free)(struct pdb_srv_blob_extra *x); /* frees the whole struct */
} pdb_srv_blob_extra;

/* Reference-counted bytes, shared by the cache and the responses that are
 * still sending them. */
typedef struct pdb_srv_blob {
    atomic_int refs;                     /* owners; freed when it drops to 0 */
    _Atomic(pdb_srv_blob_extra *) extra; /* set at most once, or NULL */
    size_t len;                          /* bytes in data */
    unsigned char data[];                /* the bytes */
} pdb_srv_blob;

/* A blob of len bytes (copied from data when not NULL), one reference. */
pdb_srv_blob *pdb_srv_blob_new(const void *data, size_t len);
pdb_srv_blob *pdb_srv_blob_ref(pdb_srv_blob *b);
void pdb_srv_blob_unref(pdb_srv_blob *b); /* accepts NULL */

/* The blob's extra, or NULL. */
pdb_srv_blob_extra *pdb_srv_blob_extra_get(pdb_srv_blob *b);

/* Keeps x with the blob unless another thread was first: then returns
 * that one's and x stays the caller's. Returns x when kept. */
pdb_srv_blob_extra *pdb_srv_blob_extra_set(pdb_srv_blob *b, pdb_srv_blob_extra *x);

typedef struct pdb_srv_tile_key {
    uint64_t style; /* style hash (a reload never mixes styles) */
    uint32_t x;     /* column */
    uint32_t y;     /* row */
    uint8_t z;      /* zoom */
    uint8_t scale;  /* 1 or 2 */
    uint8_t kind;   /* PDB_SRV_TILE_PNG or PDB_SRV_TILE_MVT */
    int64_t at_ms;  /* 0: the current parcels; else the past instant drawn (?at=), in
                       milliseconds since 1970 UTC */
} pdb_srv_tile_key;

/* What a cached tile holds. */
enum {
    PDB_SRV_TILE_PNG = 0, /* PNG bytes */
    PDB_SRV_TILE_MVT = 1  /* a vector tile, gzip-compressed (tiles.c) */
};

typedef struct pdb_srv_cache pdb_srv_cache;

/* Bytes a cache entry counts beyond its PNG (cache.c says what they are). */
#define PDB_SRV_CACHE_ENTRY_OVERHEAD 1280

/* A cache of at most max_bytes (PNG bytes plus bookkeeping); 0 keeps no
 * tiles but still renders each missing tile once for concurrent askers.
 * buffer_px: pixels (at scale 1) around a tile whose data can change it
 * (the renderer's label buffer), used by invalidation. NULL on no memory. */
pdb_srv_cache *pdb_srv_cache_new(size_t max_bytes, double buffer_px);
void pdb_srv_cache_free(pdb_srv_cache *c);

typedef enum pdb_srv_cache_result {
    PDB_SRV_CACHE_HIT,    /* *blob is a new reference, *version its data version */
    PDB_SRV_CACHE_RENDER, /* the caller renders, then calls _fill or _abandon once */
    PDB_SRV_CACHE_BUSY    /* another render of it did not finish within wait_ms */
} pdb_srv_cache_result;

/* Looks a tile up. An entry older than min_version is dropped and counts
 * as missing. When another thread is rendering the tile, waits up to
 * wait_ms for it (then looks again). */
pdb_srv_cache_result pdb_srv_cache_get(pdb_srv_cache *c, const pdb_srv_tile_key *key,
                                       int64_t min_version, int wait_ms, pdb_srv_blob **blob,
                                       int64_t *version);

/* Completes a PDB_SRV_CACHE_RENDER claim with the tile (a reference is
 * taken; the caller keeps its own) rendered at version. */
void pdb_srv_cache_fill(pdb_srv_cache *c, const pdb_srv_tile_key *key, pdb_srv_blob *blob,
                        int64_t version);

/* Completes a claim without a tile (the render failed or raced an
 * import); one waiting thread then renders it. */
void pdb_srv_cache_abandon(pdb_srv_cache *c, const pdb_srv_tile_key *key);

/* Drops every tile whose buffered bounds meet a Web Mercator box (min x,
 * min y, max x, max y, metres), at every zoom; returns how many. */
size_t pdb_srv_cache_invalidate(pdb_srv_cache *c, const double merc[4]);

/* Drops every tile. */
void pdb_srv_cache_clear(pdb_srv_cache *c);

typedef struct pdb_srv_cache_stats {
    size_t entries;       /* tiles held */
    size_t bytes;         /* bytes held (PNG and bookkeeping) */
    size_t max_bytes;     /* the bound */
    uint64_t hits;        /* lookups answered from memory */
    uint64_t misses;      /* lookups that had to render (or read the disk) */
    uint64_t waits;       /* lookups that waited for another thread's render */
    uint64_t evictions;   /* tiles dropped for room */
    uint64_t invalidated; /* tiles dropped because their data changed */
} pdb_srv_cache_stats;

void pdb_srv_cache_stats_get(pdb_srv_cache *c, pdb_srv_cache_stats *out);

/* A tile's bounds in Web Mercator metres grown by buffer_px pixels of its
 * zoom at scale 1: what data can show in it. */
void pdb_srv_tile_buffered_merc(int z, uint32_t x, uint32_t y, double buffer_px, double out[4]);

#endif
