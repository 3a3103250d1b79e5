/*
 * approx.h: a transformation of one map's points through a grid: the
 * exact transformation (PROJ, through the engine) at the nodes of a grid
 * over the map's box, bilinear between them. A map of a province in a
 * TM-3 zone has a few hundred thousand points and a transformation from
 * WGS 84 costs a datum shift each; the grid costs about 550 exact ones
 * and is used only when it agrees with the exact transformation, at the
 * middle of every cell (where bilinear interpolation strays most), to a
 * given tolerance. Private to the tiler.
 */
#ifndef PDB_TILER_APPROX_H
#define PDB_TILER_APPROX_H

#include <parceldb.h>

#define PDBT_APPROX_N 16 /* cells a side */

typedef struct pdbt_approx {
    int ok;                /* 1: the grid holds (built and within its tolerance) */
    int from, to;          /* the CRSs it transforms between */
    double x0, y0;         /* the grid's south-west corner, in `from` */
    double inv_dx, inv_dy; /* cells per unit of `from`, across and up */
    double max_err;        /* largest disagreement found at the cells' middles, in
                              the tolerance's units (see pdbt__approx_build) */
    double gx[(PDBT_APPROX_N + 1) * (PDBT_APPROX_N + 1)]; /* nodes, in `to` */
    double gy[(PDBT_APPROX_N + 1) * (PDBT_APPROX_N + 1)];
} pdbt_approx;

/* Builds the grid over box (min x, min y, max x, max y in `from`) and
 * checks it: a->ok is 1 when, at every cell's middle, the interpolated
 * point is within tol_x / tol_y (units of `to`) of the exact one. Never
 * fails: a grid that cannot be built (a node that does not transform, a
 * tolerance not met) leaves a->ok 0 and the caller transforms exactly. */
void pdbt__approx_build(pdb_ctx *db, pdbt_approx *a, int from, int to, const double box[4],
                        double tol_x, double tol_y);

/* Transforms n points in place through the grid: 1 when every point lay
 * inside it (all transformed), 0 when one did not (none transformed: the
 * caller transforms them exactly). */
int pdbt__approx_apply(const pdbt_approx *a, double *x, double *y, size_t n);

#endif
