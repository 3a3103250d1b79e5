/*
 * ptree.c: the packed R-tree (see ptree.h for the why).
 *
 * Level 1 node k holds boxes 16k .. 16k+15; a node of level l > 1 holds
 * the bounding boxes of nodes 16k .. 16k+15 of level l - 1. Slots past the
 * end are empty (min +inf, max -inf) and so never match.
 */
#include "ptree.h"

#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The boxes are rounded by switching the rounding mode around their
 * conversion; the file is built with -frounding-math (engine/
 * CMakeLists.txt), GCC's form of #pragma STDC FENV_ACCESS ON. */

/* The float at or below v, and at or above it: outward rounding keeps a
 * float box around the double one. */
static float float_step(float f, int up)
{
    /* The next float up or down, by its bits (nextafterf is a call, and
     * this runs for every box of the province); f is finite. */
    uint32_t u;
    if (f == 0)
        return up ? FLT_TRUE_MIN : -FLT_TRUE_MIN;
    memcpy(&u, &f, sizeof u);
    u = (f > 0) == up ? u + 1 : u - 1;
    memcpy(&f, &u, sizeof f);
    return f;
}

static float float_down(double v)
{
    float f = (float)v;
    return (double)f > v ? (isinf(f) ? FLT_MAX : float_step(f, 0)) : f;
}

static float float_up(double v)
{
    float f = (float)v;
    return (double)f < v ? (isinf(f) ? -FLT_MAX : float_step(f, 1)) : f;
}

static void slot_clear(pdb__ptree_node *nd, int j)
{
    nd->min_x[j] = nd->min_y[j] = INFINITY;
    nd->max_x[j] = nd->max_y[j] = -INFINITY;
}

int pdb__ptree_build(pdb__ptree *t, const void *boxes, size_t stride, size_t n)
{
    size_t counts[PDB_PTREE_MAX_LEVELS + 1], total = 0, below = n;
    int nlevels = 0;

    memset(t, 0, sizeof *t);
    if (n == 0)
        return 0;
    do {
        if (nlevels == PDB_PTREE_MAX_LEVELS)
            return -1;
        below = (below + PDB_PTREE_FANOUT - 1) / PDB_PTREE_FANOUT;
        counts[++nlevels] = below;
        total += below;
    } while (below > 1);
    if ((t->nodes = malloc(total * sizeof *t->nodes)) == NULL)
        return -1;
    t->count = n;
    t->nlevels = nlevels;
    size_t at = 0;
    for (int l = 1; l <= nlevels; l++) {
        t->level_start[l] = at;
        at += counts[l];
    }
    /* Level 1: the boxes themselves, rounded outwards: the minima in
     * one pass rounding down, the maxima in one rounding up (a branch per
     * coordinate, as in float_down, mispredicts half the time). */
    int mode = fegetround();
    for (int pass = 0; pass < 2; pass++) {
        fesetround(pass == 0 ? FE_DOWNWARD : FE_UPWARD);
        for (size_t i = 0; i < n; i++) {
            const double *b = (const double *)((const char *)boxes + i * stride);
            pdb__ptree_node *nd = &t->nodes[i / PDB_PTREE_FANOUT];
            size_t j = i % PDB_PTREE_FANOUT;
            if (pass == 0) {
                nd->min_x[j] = (float)b[0];
                nd->min_y[j] = (float)b[1];
            } else {
                nd->max_x[j] = (float)b[2];
                nd->max_y[j] = (float)b[3];
            }
        }
    }
    fesetround(mode);
    for (size_t i = 0; i < counts[1] * PDB_PTREE_FANOUT; i++) {
        const double *b = i < n ? (const double *)((const char *)boxes + i * stride) : NULL;
        if (b == NULL || !(b[0] <= b[2] && b[1] <= b[3]))
            slot_clear(&t->nodes[i / PDB_PTREE_FANOUT], (int)(i % PDB_PTREE_FANOUT));
    }
    /* Each level above: the union of each child node's slots. */
    for (int l = 2; l <= nlevels; l++) {
        const pdb__ptree_node *child = &t->nodes[t->level_start[l - 1]];
        pdb__ptree_node *nodes = &t->nodes[t->level_start[l]];
        for (size_t k = 0; k < counts[l]; k++)
            for (int j = 0; j < PDB_PTREE_FANOUT; j++) {
                size_t c = k * PDB_PTREE_FANOUT + (size_t)j;
                pdb__ptree_node *nd = &nodes[k];
                slot_clear(nd, j);
                if (c >= counts[l - 1])
                    continue;
                for (int s = 0; s < PDB_PTREE_FANOUT; s++) {
                    const pdb__ptree_node *cn = &child[c];
                    if (cn->min_x[s] < nd->min_x[j])
                        nd->min_x[j] = cn->min_x[s];
                    if (cn->min_y[s] < nd->min_y[j])
                        nd->min_y[j] = cn->min_y[s];
                    if (cn->max_x[s] > nd->max_x[j])
                        nd->max_x[j] = cn->max_x[s];
                    if (cn->max_y[s] > nd->max_y[j])
                        nd->max_y[j] = cn->max_y[s];
                }
            }
    }
    return 0;
}

void pdb__ptree_free(pdb__ptree *t)
{
    free(t->nodes);
    memset(t, 0, sizeof *t);
}

size_t pdb__ptree_bytes(const pdb__ptree *t)
{
    if (t->nlevels == 0)
        return 0;
    size_t last = t->level_start[t->nlevels] + 1; /* the root is the last node */
    return last * sizeof *t->nodes;
}

/* The slots of a node that may hold the point, as a bit mask. Written
 * without branches so that the compiler can test all 16 at once. */
static unsigned node_mask(const pdb__ptree_node *nd, float xl, float xh, float yl, float yh)
{
#if defined(__SSE2__)
    /* Four children per instruction: the search's inner loop. */
    __m128 vxl = _mm_set1_ps(xl), vxh = _mm_set1_ps(xh);
    __m128 vyl = _mm_set1_ps(yl), vyh = _mm_set1_ps(yh);
    unsigned m = 0;
    for (int j = 0; j < PDB_PTREE_FANOUT; j += 4) {
        __m128 in = _mm_and_ps(_mm_cmple_ps(_mm_loadu_ps(nd->min_x + j), vxh),
                               _mm_cmpge_ps(_mm_loadu_ps(nd->max_x + j), vxl));
        in = _mm_and_ps(in, _mm_cmple_ps(_mm_loadu_ps(nd->min_y + j), vyh));
        in = _mm_and_ps(in, _mm_cmpge_ps(_mm_loadu_ps(nd->max_y + j), vyl));
        m |= (unsigned)_mm_movemask_ps(in) << j;
    }
    return m;
#else
    unsigned m = 0;
    for (int j = 0; j < PDB_PTREE_FANOUT; j++)
        m |= (unsigned)((nd->min_x[j] <= xh) & (nd->max_x[j] >= xl) & (nd->min_y[j] <= yh) &
                        (nd->max_y[j] >= yl))
             << j;
    return m;
#endif
}

int pdb__ptree_search(const pdb__ptree *t, double x, double y, int (*visit)(void *arg, size_t i),
                      void *arg)
{
    /* Pending nodes; each level pushes at most one node's children. */
    struct {
        int level;
        size_t index;
    } stack[PDB_PTREE_MAX_LEVELS * PDB_PTREE_FANOUT + 1];
    int top = 0;

    if (t->nlevels == 0 || isnan(x) || isnan(y))
        return 0;
    /* A float box holds the point when it holds the point's float
     * interval: a superset of the exact answer, as the header promises. */
    float xl = float_down(x), xh = float_up(x), yl = float_down(y), yh = float_up(y);
    stack[top].level = t->nlevels;
    stack[top].index = 0;
    top++;
    while (top > 0) {
        top--;
        int level = stack[top].level;
        size_t index = stack[top].index;
        const pdb__ptree_node *nd = &t->nodes[t->level_start[level] + index];
        unsigned m = node_mask(nd, xl, xh, yl, yh);
        while (m != 0) {
            int j = __builtin_ctz(m);
            m &= m - 1;
            size_t child = index * PDB_PTREE_FANOUT + (size_t)j;
            if (level == 1) {
                int r = visit(arg, child);
                if (r != 0)
                    return r;
            } else {
                stack[top].level = level - 1;
                stack[top].index = child;
                top++;
            }
        }
    }
    return 0;
}

uint64_t pdb__hilbert(uint32_t x, uint32_t y)
{
    uint64_t d = 0;
    for (uint32_t s = 1u << 15; s > 0; s >>= 1) {
        uint32_t rx = (x & s) ? 1 : 0, ry = (y & s) ? 1 : 0;
        d += (uint64_t)s * s * ((3 * rx) ^ ry);
        if (ry == 0) {
            if (rx == 1) {
                x = s - 1 - x;
                y = s - 1 - y;
            }
            uint32_t t = x;
            x = y;
            y = t;
        }
    }
    return d;
}

uint64_t pdb__hilbert_box(const double box[4], const double extent[4])
{
    double w = extent[2] - extent[0], h = extent[3] - extent[1];
    double fx = w > 0 ? ((box[0] + box[2]) / 2 - extent[0]) / w : 0;
    double fy = h > 0 ? ((box[1] + box[3]) / 2 - extent[1]) / h : 0;
    if (!(fx >= 0 && fx <= 1 && fy >= 0 && fy <= 1))
        return 0; /* non-finite, or outside the extent */
    return pdb__hilbert((uint32_t)(fx * 65535.0), (uint32_t)(fy * 65535.0));
}
