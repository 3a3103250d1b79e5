/*
 * lookup.h: the point-lookup index. Each commune's current parcels are
 * packed, at the commit that writes them, into one BLOB of the store's
 * lookup_index table: their boxes in Hilbert order, their WGS 84 geometry
 * BLOBs and their numbers. A store handle loads a commune's BLOB the first
 * time a point falls in the commune's box (about a millisecond each),
 * builds a packed R-tree over its boxes, and answers a point
 * with the same exact test as the SQL path (pdb__blob_contains), without
 * asking the store for the candidates. The parcels table stays the one
 * source of truth: a missing, stale or damaged BLOB is rebuilt from it.
 * The index is the same on both stores; what differs, their reads and
 * writes, each store gives it as a pdb__lookup_io (below).
 */
#ifndef PDB_LOOKUP_H
#define PDB_LOOKUP_H

#include "store.h"

/* The in-memory index of one store handle (lookup.c). */
typedef struct pdb__lookup pdb__lookup;

/* ------------------------------------------------------------------------ */
/* What the index asks of a store: its reads and writes (lookup_io)          */
/* ------------------------------------------------------------------------ */

/* The index knows no store: each store gives it these few operations, and
 * its own code passes them where it calls the index (the SQLite store's
 * in lookup_sqlite.c, the PostgreSQL store's in pg_lookup.c). Each reports
 * failures through ctx and returns its status. */

/* One current parcel, as the index packs it; borrowed for the call. */
typedef struct pdb__lookup_row {
    int64_t id;                /* parcel id */
    const char *sheet;         /* sheet number */
    const char *parcel;        /* parcel number */
    const unsigned char *geom; /* its WGS 84 geometry as a SpatiaLite BLOB (wkb.h) */
    size_t geom_len;           /* bytes of geom */
    /* Its fields as the store's read of a parcel by id gives them without
     * PDB_READ_PERSONAL, PDB_READ_SOURCE or PDB_READ_WGS84: the index
     * answers public lookups from them without reading the store. */
    const pdb_parcel *attrs;
} pdb__lookup_row;

/* One commune with current parcels, as a sync lists them; borrowed. */
typedef struct pdb__lookup_commune {
    const char *code; /* five-digit commune code */
    int64_t batch_id; /* its last import (communes.last_batch) */
    int blob_current; /* lookup_index holds its BLOB of that very batch */
    double box[4];    /* the BLOB's box when current, else the commune's; NaN unknown */
} pdb__lookup_commune;

typedef pdb_status (*pdb__lookup_row_fn)(pdb_ctx *ctx, void *arg, const pdb__lookup_row *row);
typedef pdb_status (*pdb__lookup_commune_fn)(pdb_ctx *ctx, void *arg, const pdb__lookup_commune *c);

typedef struct pdb__lookup_io {
    /* Calls fn with each current parcel (valid_to NULL) of the commune, in
     * any order, in one read of the store; stops at fn's first failure and
     * returns it. */
    pdb_status (*read_parcels)(pdb_ctx *ctx, pdb_store *s, const char *commune,
                               pdb__lookup_row_fn fn, void *arg);
    /* Stores (replaces) the commune's BLOB, its batch, parcel count and box
     * (NULL for a commune without parcels), inside the caller's write
     * transaction. */
    pdb_status (*write_blob)(pdb_ctx *ctx, pdb_store *s, const char *commune, int64_t batch_id,
                             size_t parcels, const double box[4], const unsigned char *data,
                             size_t len);
    /* Calls fn with each commune that has current parcels, ordered by
     * code; stops at fn's first failure and returns it. */
    pdb_status (*list_communes)(pdb_ctx *ctx, pdb_store *s, pdb__lookup_commune_fn fn, void *arg);
    /* Reads the commune's BLOB of that batch into *buf (capacity *cap,
     * grown with realloc to exactly the bytes read when too small); *len
     * is 0 when there is no such BLOB. With prefix, it may read only the
     * first pdb__lookup_blob_prefix bytes (a batch's: without the public
     * records); an io that reads whole BLOBs anyway may ignore it. */
    pdb_status (*read_blob)(pdb_ctx *ctx, pdb_store *s, const char *commune, int64_t batch_id,
                            int prefix, unsigned char **buf, size_t *cap, size_t *len);
    /* Opens a read snapshot unless the handle is in a transaction already
     * (*began 1 when it opened one), so that the index and the rows read
     * after it are of one data version; snapshot_end closes what it opened
     * and leaves ctx as it is. *version is the store's data version in the
     * snapshot when it read it with the opening (one round trip for both
     * across a network), else -1. */
    pdb_status (*snapshot_begin)(pdb_ctx *ctx, pdb_store *s, int *began, int64_t *version);
    void (*snapshot_end)(pdb_ctx *ctx, pdb_store *s, int began);
    /* Reads the parcel of that id into *p (its fields as read_flags ask);
     * PDB_ENOTFOUND when there is none. */
    pdb_status (*read_parcel)(pdb_ctx *ctx, pdb_store *s, int64_t id, unsigned read_flags,
                              pdb_parcel *p);
    /* A store across a network: a batch keeps the communes it loads, so
     * that a later lookup neither waits on the store nor fails when it is
     * down, and a batch is answered from the loaded communes when the
     * store cannot be reached (PDB_EIO). Else a batch releases the
     * communes it loaded after their points, holding one at a time. */
    int remote;
} pdb__lookup_io;

/* The SQLite store's (lookup_sqlite.c). */
extern const pdb__lookup_io pdb__sq_lookup_io;

/* ------------------------------------------------------------------------ */
/* The index                                                                 */
/* ------------------------------------------------------------------------ */

/* Writes the lookup BLOB of one commune from its current parcels, inside
 * the caller's write transaction (pdb_writer_commit). */
pdb_status pdb__lookup_store_commune(pdb_ctx *ctx, pdb_store *s, const pdb__lookup_io *io,
                                     const char *commune, int64_t batch_id);

/* Whether a BLOB starting with these bytes (len of them) is of the format
 * this build writes; an older format's is stale. */
int pdb__lookup_format_current(const unsigned char *head, size_t len);

/* The bytes of a BLOB's header, where pdb__lookup_blob_prefix reads. */
#define PDB__LOOKUP_HEAD_BYTES 32

/* The bytes a batch reads of a BLOB of blob_len bytes whose first
 * PDB__LOOKUP_HEAD_BYTES (or blob_len when fewer) are at head: all but its
 * records, or blob_len when the header is not of this format (the loader's
 * checks then find it damaged). */
size_t pdb__lookup_blob_prefix(const unsigned char *head, size_t blob_len);

/* SQLite only (lookup_sqlite.c): writes the BLOBs that are missing, older
 * than their commune's last import (stores made before the index) or of an
 * older format, in one write transaction. */
pdb_status pdb__lookup_backfill(pdb_ctx *ctx, pdb_store *s);

/* Frees a handle's index; accepts NULL. */
void pdb__lookup_free(pdb__lookup *lk);

/* The store operations parcels_at and parcels_first_at (backend.h),
 * answered from the index, each in one read snapshot of the store, for a
 * handle without an open load (a load's uncommitted parcels are not in the
 * index): PDB_EBUSY for a batch then. */
pdb_status pdb__lookup_parcels_at(pdb_ctx *ctx, pdb_store *s, const pdb__lookup_io *io, double lon,
                                  double lat, unsigned read_flags, pdb_parcel_list **out);
pdb_status pdb__lookup_parcels_first_at(pdb_ctx *ctx, pdb_store *s, const pdb__lookup_io *io,
                                        const double *lonlat, size_t n, pdb_point_parcel *out);

/* The ids of the current parcels containing (lon, lat), ascending, at most
 * cap of them (*n is the number found, which may exceed cap). The caller
 * holds a read transaction in which pdb__lookup_sync succeeded. */
typedef struct pdb__lookup_hit {
    int64_t id;                /* parcel id */
    const char *commune;       /* borrowed from the index */
    const char *sheet;         /* borrowed from the index */
    const char *parcel;        /* borrowed from the index */
    const char *record;        /* its public fields (lookup.c); NULL in a batch's search */
    const unsigned char *geom; /* its WGS 84 SpatiaLite BLOB, borrowed from the index */
    size_t geom_len;           /* bytes of geom */
} pdb__lookup_hit;

pdb_status pdb__lookup_at(pdb_ctx *ctx, pdb_store *s, double lon, double lat, pdb__lookup_hit *hits,
                          size_t cap, size_t *n);

/* pdb_parcels_first_at's work, in the caller's read transaction after
 * pdb__lookup_sync, on points already checked: the points are grouped by
 * commune and answered commune by commune. A commune the handle had not
 * loaded is loaded for its points and released after them, so the batch
 * holds one commune's BLOB at a time and leaves the handle's memory as it
 * found it (a remote store's are kept). The answers' texts live in the
 * handle until its next batch. */
pdb_status pdb__lookup_first_batch(pdb_ctx *ctx, pdb_store *s, const double *lonlat, size_t n,
                                   pdb_point_parcel *out);

/* Makes the handle's index match the store's data version, inside the
 * caller's read transaction: loads the BLOBs of communes imported since
 * (or builds them from the parcels when they are missing or damaged).
 * The index reads the store through io from then on. */
pdb_status pdb__lookup_sync(pdb_ctx *ctx, pdb_store *s, const pdb__lookup_io *io);

/* How many communes' BLOBs the process holds in memory and their bytes:
 * each once, however many handles use it. For tests and metrics. */
void pdb__lookup_registry_stats(size_t *communes, size_t *bytes);

/* query.c: pdb_parcels_at through SQL and SpatiaLite's R-tree, without
 * the index: for a handle with an open load, and as the reference the
 * tests compare the index with. */
pdb_status pdb__parcels_at_sql(pdb_ctx *ctx, pdb_store *s, double lon, double lat,
                               unsigned read_flags, pdb_parcel_list **out);

/* query.c: the end of a parcel read into *p, shared by the store's row
 * reader and the index's answers from memory so that both write the same
 * bytes: the WGS 84 geometry from its SpatiaLite BLOB when read_flags ask
 * for it, PDB_ENOMEM when oom (a copy failed), and *p cleared on failure. */
pdb_status pdb__parcel_read_end(pdb_ctx *ctx, pdb_parcel *p, unsigned read_flags, const void *blob,
                                size_t len, int oom);

#endif
