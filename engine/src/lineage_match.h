/*
 * lineage_match.h: the lineage a re-import records (lineage_match.c),
 * shared by the two stores' writers as change_core.c is shared by their
 * changes: each store reads the commune's superseded and new parcels into
 * two sets inside the load's transaction, the driver matches them by
 * overlap in the survey CRS and classifies, and the store writes the
 * edges it returns into its lineage table, in the same transaction.
 */
#ifndef PDB_LINEAGE_MATCH_H
#define PDB_LINEAGE_MATCH_H

#include "internal.h"

/* Survey noise: a boundary that moved by at most this much is the same
 * boundary. Two geometries are equal when their (discrete, vertex)
 * Hausdorff distance is at most this; an overlap smaller than this times
 * the smaller perimeter is what such a move leaves, and no edge. */
#define PDB_LINEAGE_TOLERANCE_M 0.1

/* One parcel of a set, as read from the store. */
typedef struct pdb__lm_parcel {
    int64_t id;         /* store id */
    char *key;          /* former commune, sheet and parcel joined by \x1f, owned */
    int srid;           /* EPSG of wkb */
    unsigned char *wkb; /* its source (survey) geometry, owned */
    size_t wkb_len;     /* bytes */
    double area_m2;     /* its computed area (area_computed_m2) */
    char *prev_key;     /* new parcels: the previous number the survey gives (former
                           commune, previous sheet and number joined by \x1f), owned;
                           NULL when none */
} pdb__lm_parcel;

typedef struct pdb__lm_set {
    pdb__lm_parcel *items; /* owned */
    size_t count, cap;     /* used and allocated entries */
} pdb__lm_set;

/* One edge to store: parent (old) to child (new). */
typedef struct pdb__lm_edge {
    int64_t parent, child; /* store ids */
    const char *kind;      /* "unchanged", "renumber", "reshape", "split" or "merge" (static) */
    double overlap_m2;     /* area they share, in the survey's metres */
} pdb__lm_edge;

/* A previous number that the match did not use (docs/changes.md). */
typedef struct pdb__lm_problem {
    int64_t child;      /* the new parcel's store id */
    const char *reason; /* "prev-number-unknown" or "prev-number-contradicted" (static) */
    char detail[200];   /* one line for the rejects row */
} pdb__lm_problem;

typedef struct pdb__lm_result {
    pdb__lm_edge *edges;           /* owned; ordered by child id, then parent id */
    size_t nedges, capedges;       /* used and allocated entries */
    pdb__lm_problem *problems;     /* owned, by new parcel */
    size_t nproblems, capproblems; /* used and allocated entries */
    size_t named;                  /* edges made or confirmed by a previous number */
} pdb__lm_result;

/* Appends a copy of a parcel to the set (former may be NULL; prev_parcel
 * NULL when the survey gave no previous number, prev_sheet NULL then or
 * for the same sheet). */
pdb_status pdb__lm_set_add(pdb_ctx *ctx, pdb__lm_set *set, int64_t id, const char *former,
                           const char *sheet, const char *parcel, int srid,
                           const unsigned char *wkb, size_t wkb_len, double area_m2,
                           const char *prev_sheet, const char *prev_parcel);
void pdb__lm_set_free(pdb__lm_set *set);

/* Matches the commune's new parcels to its old ones (both sets are
 * reordered) and fills *out with the edges; areas are measured in the
 * commune's area CRS (pdb__area_crs of the new parcels' CRS), the old
 * geometries transformed into it when surveyed in another. */
pdb_status pdb__lineage_match(pdb_ctx *ctx, const char *commune, pdb__lm_set *old, pdb__lm_set *neu,
                              pdb__lm_result *out);
void pdb__lm_result_free(pdb__lm_result *r);

/* What each store's writer does with the two sets it read (old = sets[0],
 * new = sets[1]) when st is PDB_OK: matches them, hands a non-empty
 * result to write (the store's INSERT), and records each previous number
 * not used as a row of rejects through w (stored 1, feature index -1:
 * the parcel is stored, the row says what its number did not do); frees
 * the sets either way. */
typedef pdb_status (*pdb__lm_write_fn)(pdb_ctx *ctx, const pdb__lm_result *r, void *arg);
pdb_status pdb__lineage_match_write(pdb_ctx *ctx, pdb_status st, const char *commune,
                                    pdb__lm_set sets[2], pdb__lm_write_fn write, void *arg,
                                    pdb_writer *w);

#endif
