/*
 * change.h: what the two stores' changes share (change_core.c): the state
 * of one change, its geometry checks in survey metres (GEOS), the new
 * parcels' attributes, numbers and results. Each store's file (change.c
 * for SQLite, pg_change.c for PostgreSQL) holds the transaction: reading
 * the named parcels current inside it, writing, and the commune's
 * bookkeeping.
 */
#ifndef PDB_CHANGE_H
#define PDB_CHANGE_H

#include "store.h"
#include "writer.h"

#define SPLIT_TOLERANCE_M2 1e-4  /* 1 cm^2: a split's gap, excess or overlap */
#define RESHAPE_OVERLAP_M2 0.01  /* the QA threshold for overlaps with a neighbour */
#define TOUCH_MIN_LENGTH_M 0.001 /* a shared boundary shorter than 1 mm is a point */

/* A parcel read for a change, with its GEOS geometry in survey metres. */
typedef struct pdb__chg_old {
    pdb_parcel p;    /* as stored, with owner and source geometry */
    GEOSGeometry *g; /* its source geometry, owned */
} pdb__chg_old;

/* A parcel to be written. */
typedef struct pdb__chg_new {
    pdb_parcel p;            /* attributes; strings borrowed or in own[] */
    unsigned char *wkb;      /* source geometry (owned when made here) */
    size_t wkb_len;          /* bytes */
    int wkb_owned;           /* 1 when wkb is ours to free */
    GEOSGeometry *g;         /* its geometry in survey metres, owned */
    pdb_geom_prepared *prep; /* prepared for the store, owned */
    char number[40];         /* its parcel number */
    int64_t id;              /* its row once written */
} pdb__chg_new;

typedef struct pdb__chg {
    pdb_ctx *ctx;
    pdb_store *s;
    const pdb_change *c;
    GEOSContextHandle_t h;
    char now[32];
    pdb__chg_old *old; /* c->nparcels entries */
    size_t nold;       /* read so far */
    pdb__chg_new *neu; /* nnew entries */
    size_t nnew;
    int64_t batch_id;  /* the change's batch */
    int64_t change_id; /* its changes row */
    int srid;          /* the survey CRS of every geometry */
    char commune[8];   /* the commune changed */
} pdb__chg;

/* "split", "merge", "update" or "reshape". */
const char *pdb__chg_kind(pdb_change_kind k);
/* GEOS geometry of a WKB polygon or multipolygon; PDB_EGEOM naming what. */
pdb_status pdb__chg_geos_from_wkb(pdb__chg *cs, const unsigned char *wkb, size_t len,
                                  const char *what, GEOSGeometry **out);
/* Area two geometries share (NAN when GEOS fails). */
double pdb__chg_overlap_m2(pdb__chg *cs, const GEOSGeometry *a, const GEOSGeometry *b);
/* A parcel number given by the caller: a positive integer of at most 9 digits. */
pdb_status pdb__chg_number_check(pdb__chg *cs, const char *n);
/* "C/S/P#id,...": the parcels before (after = 0) or after, malloc'd. */
char *pdb__chg_list_text(pdb__chg *cs, int after);
/* The failure for a number with no current parcel: PDB_ECONFLICT when it
 * was superseded (last_valid_to, its latest valid_to), PDB_ENOTFOUND when
 * never stored (last_valid_to NULL). */
pdb_status pdb__chg_missing(pdb__chg *cs, const pdb_parcel_ref *ref, const char *last_valid_to);
/* The checks once cs->old holds the parcels read (with their GEOS
 * geometries): the CRS, the new parcels' attributes, the split's or the
 * merge's geometry, and every new geometry prepared for the store. */
pdb_status pdb__chg_check(pdb__chg *cs);
/* A reshape's new geometry against one current neighbour (its source
 * WKB): PDB_EGEOM over RESHAPE_OVERLAP_M2. */
pdb_status pdb__chg_neighbour_check(pdb__chg *cs, const unsigned char *wkb, size_t len,
                                    const char *name);
/* Calls fn for each lineage edge of the change, parent to child, with the
 * area they share. */
pdb_status pdb__chg_edges(pdb__chg *cs,
                          pdb_status (*fn)(pdb__chg *cs, int64_t parent, int64_t child,
                                           const char *kind, double overlap_m2));
/* The caller's result (after the commit). */
pdb_status pdb__chg_result(pdb__chg *cs, pdb_change_result **out);
/* Starts cs for change c on s (the time, the room for the parcels read);
 * *out (may be NULL) cleared. */
pdb_status pdb__chg_init(pdb__chg *cs, pdb_ctx *ctx, pdb_store *s, const pdb_change *c,
                         pdb_change_result **out);
/* Appends a copy of step e to l (cap: its allocated steps), with copies
 * of reason and document (may be NULL); l owns them even on failure. */
pdb_status pdb__lineage_push(pdb_ctx *ctx, pdb_lineage *l, size_t *cap, const pdb_lineage_step *e,
                             const char *reason, const char *document);
/* What one store does in a change's transaction (change.c, pg_change.c);
 * each reports through cs->ctx. */
typedef struct pdb__chg_io {
    pdb_status (*begin)(pdb__chg *cs); /* the write transaction, its lock taken first */
    /* The one current parcel of ref into cs->old[cs->nold++] with its GEOS
     * geometry; pdb__chg_missing when there is none. */
    pdb_status (*read_current)(pdb__chg *cs, const pdb_parcel_ref *ref);
    /* pdb__chg_neighbour_check with each current neighbour of cs->neu[0]. */
    pdb_status (*check_reshape)(pdb__chg *cs);
    pdb_status (*supersede)(pdb__chg *cs); /* valid_to = cs->now, PDB_ECONFLICT if gone */
    /* Numbers for the new parcels without one, and given ones checked free. */
    pdb_status (*assign_numbers)(pdb__chg *cs, const char *sheet);
    pdb_status (*begin_rows)(pdb__chg *cs); /* the batch and the changes row: their ids */
    pdb_status (*insert_new)(pdb__chg *cs); /* the new parcels: their ids */
    pdb_status (*edge)(pdb__chg *cs, int64_t parent, int64_t child, const char *kind,
                       double overlap_m2); /* one lineage row */
    /* The changes row's after, the audit row, the commune's bookkeeping,
     * the data version, and COMMIT. */
    pdb_status (*finish)(pdb__chg *cs);
    void (*rollback)(pdb__chg *cs); /* after a failure inside the transaction */
} pdb__chg_io;

/* One change through a store's io: the whole of pdb_change_apply. */
pdb_status pdb__chg_apply(pdb_ctx *ctx, pdb_store *s, const pdb_change *c, pdb_change_result **out,
                          const pdb__chg_io *io);
/* The audit row of an owner written by the change: the new parcel's id,
 * and what ("VIA: update owner (change N)"). */
void pdb__chg_audit_what(const pdb__chg *cs, char ids[32], char what[160]);
/* Frees count steps and what each owns (reason, document). */
void pdb__lineage_steps_free(pdb_lineage_step *steps, size_t count);
/* A new lineage of parcel id with its number and no steps (PDB_ENOTFOUND
 * for an unknown id); the caller owns *out. */
pdb_status pdb__lineage_start(pdb_ctx *ctx, pdb_store *s, int64_t id, pdb_lineage **out);
/* Frees what cs holds (not cs itself). */
void pdb__chg_free(pdb__chg *cs);

#endif
