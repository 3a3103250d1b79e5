/*
 * ptree.h: a packed, static R-tree of boxes for point queries, built once
 * over boxes already in a good order (Hilbert order, see pdb__hilbert) and
 * never changed. Nodes hold 16 children as four float arrays (one cache
 * line each): a point is tested against a whole node at once, and a
 * commune's 5,000 parcels cost about 90 KB of nodes. Float boxes are
 * rounded outwards, so the tree may name a few boxes a point is just
 * outside of, never miss one it is in: callers make the exact test.
 */
#ifndef PDB_PTREE_H
#define PDB_PTREE_H

#include <stddef.h>
#include <stdint.h>

#define PDB_PTREE_FANOUT 16
#define PDB_PTREE_MAX_LEVELS 16 /* 16^16 boxes: far more than memory holds */

typedef struct pdb__ptree_node {
    float min_x[PDB_PTREE_FANOUT], min_y[PDB_PTREE_FANOUT];
    float max_x[PDB_PTREE_FANOUT], max_y[PDB_PTREE_FANOUT];
} pdb__ptree_node;

typedef struct pdb__ptree {
    size_t count; /* boxes */
    int nlevels;  /* node levels: 1 holds the boxes, nlevels the root; 0 when empty */
    size_t level_start[PDB_PTREE_MAX_LEVELS + 1]; /* first node of each level */
    pdb__ptree_node *nodes;                       /* every level, bottom up */
} pdb__ptree;

/* Builds the tree over n boxes (min x, min y, max x, max y as doubles),
 * the i-th at (const char *)boxes + i * stride. A box with min > max, or
 * with a NaN, is never found. Returns 0, or -1 when memory runs out (the
 * tree is then empty). */
int pdb__ptree_build(pdb__ptree *t, const void *boxes, size_t stride, size_t n);

/* Frees the nodes; accepts an empty tree. */
void pdb__ptree_free(pdb__ptree *t);

/* Calls visit(arg, i) for each box i that may hold (x, y), the boxes
 * holding it among them; stops early when visit returns nonzero and
 * returns that value, else 0. */
int pdb__ptree_search(const pdb__ptree *t, double x, double y, int (*visit)(void *arg, size_t i),
                      void *arg);

/* The bytes the nodes take. */
size_t pdb__ptree_bytes(const pdb__ptree *t);

/* Position of (x, y) on the Hilbert curve over a 2^16 x 2^16 grid. */
uint64_t pdb__hilbert(uint32_t x, uint32_t y);

/* The Hilbert position of a box's centre within an extent: the sort key
 * that keeps neighbouring boxes in the same nodes. 0 for non-finite input. */
uint64_t pdb__hilbert_box(const double box[4], const double extent[4]);

#endif
