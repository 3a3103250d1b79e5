/*
 * qa.h: the quality checks' rules (qa_rules.c), shared with the checks
 * themselves (qa.c). Not installed.
 */
#ifndef PDB_QA_H
#define PDB_QA_H

#include "parceldb.h"

#define PDB_QA_MAX_PARAMS 4 /* thresholds per check */

/* The thresholds, by check and index (qa_rules.c names them). */
enum {
    QA_OVERLAP_MIN_AREA = 0,  /* overlap, overlap_commune: m2 */
    QA_OVERLAP_MIN_WIDTH = 1, /*   narrower everywhere: overlap_sliver instead, m */
    QA_GAP_MAX_WIDTH = 0,     /* gap: m */
    QA_GAP_MAX_AREA = 1,      /* gap: m2 */
    QA_AREA_A = 0,            /* area_mismatch: tolerance a + b * (scale / 1000) * sqrt(A), m2 */
    QA_AREA_B = 1,            /*   b, m per unit scale/1000 */
    QA_AREA_SCALE = 2,        /*   the survey's scale denominator */
    QA_AREA_MIN_REL = 3,      /*   the tolerance is at least this share of A */
    QA_TINY_MIN_AREA = 0,     /* tiny: m2 */
    QA_NEEDLE_MIN_RATIO = 0,  /* needle: 4 pi A / P^2 */
    QA_NEEDLE_LINEAR = 1,  /*   0: roads, canals, rivers (long by nature) are not needles; 1: are */
    QA_CLOSE_MIN_DIST = 0, /* close_vertices: m */
};

struct pdb_qa_rules {
    pdb_qa_severity severity[PDB_QA_CHECK_COUNT];        /* per check */
    double param[PDB_QA_CHECK_COUNT][PDB_QA_MAX_PARAMS]; /* thresholds, see the enum above */
};

/* qa_pair.c: a parcel's rings as the pair filter reads them. */
typedef struct pdb__qa_shape {
    const pdb_polygons *mp; /* borrowed: the rings GEOS's geometry was made of */
    signed char *side;      /* per ring: 1 when the interior is left of its edges, -1 right */
    double env[4];          /* min x, min y, max x, max y */
    int usable;             /* 0: rings the filter does not read (GEOS decides) */
} pdb__qa_shape;

/* Fills s from mp (borrowed, must outlive s), which must be the rings of a
 * valid polygonal geometry; s is left unusable when a ring is open, has
 * fewer than 4 points or an orientation floating point cannot tell. */
pdb_status pdb__qa_shape_init(pdb_ctx *ctx, const pdb_polygons *mp, pdb__qa_shape *s);
void pdb__qa_shape_clear(pdb__qa_shape *s);

/* 1 when the interiors of a and b certainly share no area (so their
 * intersection has none), 0 when this cannot be proven without GEOS
 * (an overlap, or a configuration the filter leaves to GEOS). Exact. */
int pdb__qa_interiors_disjoint(const pdb__qa_shape *a, const pdb__qa_shape *b);

#endif
