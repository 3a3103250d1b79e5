/*
 * mvt_valid.c: whether a vector tile's quantized polygon is certainly
 * valid, on its integer coordinates, without GEOS.
 *
 * Rounding to the tile's grid can make a valid shape invalid, so every
 * polygon of more than one small ring went through GEOSisValid, which
 * builds a noding graph per call: 40 to 50% of a z12 or z14 tile
 * (callgrind, land-use overviews of thousands of vertices). Nearly all of
 * them are valid, and a cheaper test can prove most of it: no two edges
 * meet but a ring's neighbours at their shared point, no edge turns
 * straight back (a spike), every hole lies inside its exterior and in no
 * other hole of it, and no exterior lies inside another. Rings that meet
 * nowhere are then simple, and these nestings are exactly what the OGC
 * rules ask of a multipolygon whose rings do not touch. Land-use
 * overviews have parts that touch at a point (valid, but not provable
 * this way): the parts whose rings meet anything are marked, and only
 * they go to GEOS, together; the others are proven here. Sound because
 * parts whose rings meet nothing, none inside another, have disjoint
 * interiors and touch nothing. The test never replaces GEOS's "invalid".
 */
#include "mvt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One edge: its ring, its place in the ring, and its box. */
typedef struct edge {
    int32_t minx, maxx; /* its x extent */
    int32_t miny, maxy; /* its y extent */
    uint32_t ring;      /* index of its ring */
    uint32_t i;         /* its first point, in the ring */
} edge;

/* The sign of the turn a -> b -> c (integers: exact). */
static int turn(const int32_t *a, const int32_t *b, const int32_t *c)
{
    int64_t v = ((int64_t)b[0] - a[0]) * ((int64_t)c[1] - a[1]) -
                ((int64_t)b[1] - a[1]) * ((int64_t)c[0] - a[0]);
    return (v > 0) - (v < 0);
}

/* 1 when c, collinear with a b, lies within their box. */
static int on_segment(const int32_t *a, const int32_t *b, const int32_t *c)
{
    return c[0] >= (a[0] < b[0] ? a[0] : b[0]) && c[0] <= (a[0] > b[0] ? a[0] : b[0]) &&
           c[1] >= (a[1] < b[1] ? a[1] : b[1]) && c[1] <= (a[1] > b[1] ? a[1] : b[1]);
}

/* 1 when segments p1 p2 and q1 q2 share any point. Inlined into both
 * loops that call it (as a call it was 4% of a z16 tile). */
static inline __attribute__((always_inline)) int segments_meet(const int32_t *p1, const int32_t *p2,
                                                               const int32_t *q1, const int32_t *q2)
{
    int d1 = turn(q1, q2, p1), d2 = turn(q1, q2, p2), d3 = turn(p1, p2, q1), d4 = turn(p1, p2, q2);
    if (d1 * d2 < 0 && d3 * d4 < 0)
        return 1;
    return (d1 == 0 && on_segment(q1, q2, p1)) || (d2 == 0 && on_segment(q1, q2, p2)) ||
           (d3 == 0 && on_segment(p1, p2, q1)) || (d4 == 0 && on_segment(p1, p2, q2));
}

#define SIMPLE_RING_MAX 64 /* points of a ring pdbt__mvt_simple_ring checks */

/* The sign of v: -1, 0 or 1. */
static int sign_of(int64_t v)
{
    return (v > 0) - (v < 0);
}

/* 1 when an open ring (no repeated consecutive points) is convex and
 * simple, in one pass: every turn goes the same way or straight on (never
 * straight back), and the edges' x and y directions each change sign at
 * most twice around the ring. A ring turning one way throughout turns
 * through a whole multiple of 360 degrees, and each full turn reverses
 * each direction twice: at most two changes is one turn, which is a
 * convex ring, and a convex ring is simple. 0 says nothing: the pairwise
 * test decides (a concave parcel, an L-shaped lot). */
static int convex_ring(const int32_t *p, uint32_t n)
{
    int way = 0, xflips = 0, yflips = 0, lastx = 0, lasty = 0;
    int64_t dx0 = (int64_t)p[0] - p[2 * (n - 1)], dy0 = (int64_t)p[1] - p[2 * (n - 1) + 1];
    /* The directions the ring last went in x and in y before its first
     * edge, so that the changes are counted all round. */
    for (uint32_t i = n; i-- > 0 && (lastx == 0 || lasty == 0);) {
        const int32_t *a = p + 2 * i, *b = p + 2 * (i + 1 == n ? 0 : i + 1);
        lastx = lastx != 0 ? lastx : sign_of((int64_t)b[0] - a[0]);
        lasty = lasty != 0 ? lasty : sign_of((int64_t)b[1] - a[1]);
    }
    for (uint32_t i = 0; i < n; i++) {
        const int32_t *b = p + 2 * i, *c = p + 2 * (i + 1 == n ? 0 : i + 1);
        int64_t dx1 = (int64_t)c[0] - b[0], dy1 = (int64_t)c[1] - b[1];
        int t = sign_of(dx0 * dy1 - dy0 * dx1);
        if (t == 0 && dx0 * dx1 + dy0 * dy1 <= 0)
            return 0; /* straight back: a spike (or a point repeated) */
        if (t != 0) {
            if (way != 0 && t != way)
                return 0;
            way = t;
        }
        int sx = sign_of(dx1), sy = sign_of(dy1);
        if (sx != 0) {
            xflips += lastx != 0 && sx != lastx;
            lastx = sx;
        }
        if (sy != 0) {
            yflips += lasty != 0 && sy != lasty;
            lasty = sy;
        }
        dx0 = dx1;
        dy0 = dy1;
    }
    return way != 0 && xflips <= 2 && yflips <= 2;
}

/* 1 when a cleaned open ring of at most SIMPLE_RING_MAX points is simple:
 * no two edges meet but neighbours at their shared point, and no edge
 * turns straight back on the one before (a spike). What GEOS's isValid
 * says of a one-ring polygon of non-zero area, at a fraction of its cost
 * (it builds a graph per call); 0 for a longer ring (GEOS decides). */
int pdbt__mvt_simple_ring(const int32_t *p, uint32_t n)
{
    if (n > SIMPLE_RING_MAX)
        return 0;
    if (convex_ring(p, n))
        return 1; /* most parcels: no pair of edges to test */
    /* Each edge's box first: most pairs of a concave ring's edges are far
     * apart, and comparing boxes is a fraction of the exact test. */
    int32_t box[SIMPLE_RING_MAX][4];
    for (uint32_t i = 0; i < n; i++) {
        const int32_t *a = p + 2 * i, *b = p + 2 * (i + 1 == n ? 0 : i + 1);
        box[i][0] = a[0] < b[0] ? a[0] : b[0];
        box[i][1] = a[1] < b[1] ? a[1] : b[1];
        box[i][2] = a[0] > b[0] ? a[0] : b[0];
        box[i][3] = a[1] > b[1] ? a[1] : b[1];
    }
    for (uint32_t i = 0; i < n; i++) {
        const int32_t *a = p + 2 * i, *b = p + 2 * ((i + 1) % n), *c = p + 2 * ((i + 2) % n);
        if (turn(a, b, c) == 0 && ((int64_t)b[0] - a[0]) * ((int64_t)c[0] - b[0]) +
                                          ((int64_t)b[1] - a[1]) * ((int64_t)c[1] - b[1]) <
                                      0)
            return 0;
        for (uint32_t j = i + 2; j < n; j++) {
            if (i == 0 && j == n - 1)
                continue; /* the closing edge meets the first at p[0] */
            if (box[j][0] > box[i][2] || box[j][2] < box[i][0] || box[j][1] > box[i][3] ||
                box[j][3] < box[i][1])
                continue;
            if (segments_meet(a, b, p + 2 * j, p + 2 * ((j + 1) % n)))
                return 0;
        }
    }
    return 1;
}

static int by_minx(const void *a, const void *b)
{
    const edge *p = a, *q = b;
    return (p->minx > q->minx) - (p->minx < q->minx);
}

/* 1 when point q lies inside the ring (n points from p), which it is
 * known not to touch: a crossing count, exact on integers. */
static int inside(const int32_t *p, uint32_t n, const int32_t *q)
{
    int in = 0;
    for (uint32_t i = 0, j = n - 1; i < n; j = i++) {
        const int32_t *a = p + 2 * i, *b = p + 2 * j;
        if ((a[1] > q[1]) != (b[1] > q[1])) {
            /* x of the edge at q's y, compared exactly: the sign of
             * (q - a) x (b - a) against the edge's direction in y. */
            int64_t lhs = ((int64_t)q[0] - a[0]) * ((int64_t)b[1] - a[1]);
            int64_t rhs = ((int64_t)b[0] - a[0]) * ((int64_t)q[1] - a[1]);
            if (b[1] > a[1] ? lhs < rhs : lhs > rhs)
                in = !in;
        }
    }
    return in;
}

/* Holes of one exterior checked pairwise at most: beyond, GEOS decides. */
#define HOLES_CHECKED 32
/* Exteriors of one feature checked at most (a sweep, so many: a z12
 * tile's land-use overview has hundreds of parts): likewise. */
#define PARTS_CHECKED 65536

/* Grows a scratch array to n elements of size bytes; 0, or -1. */
static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n <= *cap)
        return 0;
    size_t want = n < 256 ? 256 : n + n / 2;
    void *bigger = realloc(*p, want * size);
    if (bigger == NULL)
        return -1;
    *p = bigger;
    *cap = want;
    return 0;
}

void pdbt__mvt_valid_scratch_free(pdbt_mvt_valid_scratch *sc)
{
    free(sc->edges);
    free(sc->sorted);
    free(sc->start);
    free(sc->count);
    free(sc->box);
    free(sc->members);
    free(sc->order);
    memset(sc, 0, sizeof *sc);
}

/* The edges sorted by minx into out: a counting sort over the tile's few
 * thousand x values (qsort was a third of the proof), or qsort when the
 * range is wide (a shape GEOS could not clip, sent whole). */
static int sort_edges(pdbt_mvt_valid_scratch *sc, const edge *e, size_t n, edge **out)
{
    if (grow(&sc->sorted, &sc->capsorted, n, sizeof(edge)) != 0)
        return -1;
    edge *o = sc->sorted;
    int32_t lo = e[0].minx, hi = e[0].minx;
    for (size_t i = 1; i < n; i++) {
        lo = e[i].minx < lo ? e[i].minx : lo;
        hi = e[i].minx > hi ? e[i].minx : hi;
    }
    size_t range = (size_t)((int64_t)hi - lo) + 1;
    if (range > (1u << 16)) {
        memcpy(o, e, n * sizeof *e);
        qsort(o, n, sizeof *o, by_minx);
    } else {
        if (grow((void **)&sc->count, &sc->capcount, range + 1, sizeof *sc->count) != 0)
            return -1;
        memset(sc->count, 0, (range + 1) * sizeof *sc->count);
        for (size_t i = 0; i < n; i++)
            sc->count[e[i].minx - lo + 1]++;
        for (size_t v = 1; v <= range; v++)
            sc->count[v] += sc->count[v - 1];
        for (size_t i = 0; i < n; i++)
            o[sc->count[e[i].minx - lo]++] = e[i];
    }
    *out = o;
    return 0;
}

/* Marks the rings of edges a and b (their boxes overlap) when they meet
 * other than as a ring's neighbours at their shared point. */
static void edges_meet(const edge *a, const edge *b, const int32_t *const *start,
                       const uint32_t *ring_n, uint8_t *suspect)
{
    uint32_t na = ring_n[a->ring], nb = ring_n[b->ring];
    if (a->ring == b->ring) {
        /* Neighbours share a point; with no spike, only it (a three-point
         * ring's edges are all neighbours). */
        if ((a->i + 1) % na == b->i || (b->i + 1) % na == a->i)
            return;
    }
    const int32_t *a1 = start[a->ring] + 2 * a->i, *a2 = start[a->ring] + 2 * ((a->i + 1) % na);
    const int32_t *b1 = start[b->ring] + 2 * b->i, *b2 = start[b->ring] + 2 * ((b->i + 1) % nb);
    if (segments_meet(a1, a2, b1, b2))
        suspect[a->ring] = suspect[b->ring] = 1;
}

#define GRID_ENTRIES_PER_EDGE 8 /* cells an edge covers on average, at most */

/* The pairs of edges whose boxes overlap, found through a uniform grid of
 * about one edge per cell, each pair tested once (in the cell holding the
 * low corner of their boxes' overlap) with edges_meet. A sweep by x was a
 * quarter of a z14 tile: a clipped overview's edges along the tile's
 * border share one x, and every pair of them was visited. 0, or -1 when
 * the grid would hold too many entries (long diagonal edges) or memory
 * ran out: the caller sweeps. */
static int meets_by_grid(pdbt_mvt_valid_scratch *sc, const edge *e, size_t n,
                         const int32_t *const *start, const uint32_t *ring_n, uint8_t *suspect)
{
    int32_t x0 = e[0].minx, y0 = e[0].miny, x1 = e[0].maxx, y1 = e[0].maxy;
    for (size_t i = 1; i < n; i++) {
        x0 = e[i].minx < x0 ? e[i].minx : x0;
        y0 = e[i].miny < y0 ? e[i].miny : y0;
        x1 = e[i].maxx > x1 ? e[i].maxx : x1;
        y1 = e[i].maxy > y1 ? e[i].maxy : y1;
    }
    int64_t w = (int64_t)x1 - x0 + 1, h = (int64_t)y1 - y0 + 1, side = 1;
    while (side * side < (int64_t)n)
        side++;
    int64_t cs = ((w > h ? w : h) + side - 1) / side; /* a cell's side, tile units */
    int64_t nx = (w + cs - 1) / cs, ny = (h + cs - 1) / cs;
    size_t ncells = (size_t)(nx * ny), total = 0, limit = GRID_ENTRIES_PER_EDGE * n + 64;
    if (grow((void **)&sc->count, &sc->capcount, ncells + 1, sizeof *sc->count) != 0)
        return -1;
    uint32_t *at = sc->count;
    memset(at, 0, (ncells + 1) * sizeof *at);
    for (size_t i = 0; i < n; i++) {
        int64_t cx0 = (e[i].minx - x0) / cs, cx1 = (e[i].maxx - x0) / cs;
        int64_t cy0 = (e[i].miny - y0) / cs, cy1 = (e[i].maxy - y0) / cs;
        if ((total += (size_t)((cx1 - cx0 + 1) * (cy1 - cy0 + 1))) > limit)
            return -1;
        for (int64_t cy = cy0; cy <= cy1; cy++)
            for (int64_t cx = cx0; cx <= cx1; cx++)
                at[cy * nx + cx + 1]++;
    }
    if (grow((void **)&sc->members, &sc->capmembers, total, sizeof *sc->members) != 0)
        return -1;
    for (size_t c = 1; c <= ncells; c++)
        at[c] += at[c - 1]; /* at[c]: where cell c's edges start */
    for (size_t i = 0; i < n; i++) {
        int64_t cx0 = (e[i].minx - x0) / cs, cx1 = (e[i].maxx - x0) / cs;
        int64_t cy0 = (e[i].miny - y0) / cs, cy1 = (e[i].maxy - y0) / cs;
        for (int64_t cy = cy0; cy <= cy1; cy++)
            for (int64_t cx = cx0; cx <= cx1; cx++)
                sc->members[at[cy * nx + cx]++] = (uint32_t)i;
    }
    /* Now at[c] is where cell c ends, and at[c - 1] where it starts. */
    for (size_t c = 0; c < ncells; c++) {
        const uint32_t *m = sc->members + (c ? at[c - 1] : 0), *end = sc->members + at[c];
        for (; m < end; m++)
            for (const uint32_t *k = m + 1; k < end; k++) {
                const edge *a = &e[*m], *b = &e[*k];
                if (b->minx > a->maxx || a->minx > b->maxx || b->miny > a->maxy ||
                    a->miny > b->maxy)
                    continue;
                int32_t ox = a->minx > b->minx ? a->minx : b->minx;
                int32_t oy = a->miny > b->miny ? a->miny : b->miny;
                if ((size_t)(((int64_t)oy - y0) / cs * nx + ((int64_t)ox - x0) / cs) != c)
                    continue; /* tested in another cell */
                edges_meet(a, b, start, ring_n, suspect);
            }
    }
    return 0;
}

/* An exterior ring by the left of its box (the parts' sweep). */
typedef struct ext_left {
    int32_t left;  /* its box's minimum x */
    uint32_t ring; /* its index */
} ext_left;

static int by_left(const void *a, const void *b)
{
    const ext_left *p = a, *q = b;
    if (p->left != q->left)
        return p->left < q->left ? -1 : 1;
    return p->ring < q->ring ? -1 : p->ring > q->ring;
}

int pdbt__mvt_certainly_valid(const int32_t *xy, const uint32_t *ring_n, const uint8_t *exterior,
                              size_t nrings, uint8_t *suspect, pdbt_mvt_valid_scratch *sc)
{
    memset(suspect, 0, nrings);
    if (nrings == 0 || !exterior[0])
        return 0;
    size_t nedges = 0;
    for (size_t r = 0; r < nrings; r++) {
        if (ring_n[r] < 3)
            return 0;
        nedges += ring_n[r];
    }
    if (grow((void **)&sc->start, &sc->capstart, nrings, sizeof *sc->start) != 0 ||
        grow(&sc->edges, &sc->capedges, nedges, sizeof(edge)) != 0)
        return 0;
    const int32_t **start = sc->start;
    edge *e = sc->edges;
    int valid = 1;
    size_t k = 0;
    const int32_t *p = xy;
    for (size_t r = 0; valid && r < nrings; r++) {
        uint32_t n = ring_n[r];
        start[r] = p;
        for (uint32_t i = 0; i < n && valid; i++) {
            const int32_t *a = p + 2 * i, *b = p + 2 * ((i + 1) % n), *c = p + 2 * ((i + 2) % n);
            /* A spike: the next edge goes straight back along this one. */
            if (turn(a, b, c) == 0 && ((int64_t)b[0] - a[0]) * ((int64_t)c[0] - b[0]) +
                                              ((int64_t)b[1] - a[1]) * ((int64_t)c[1] - b[1]) <
                                          0)
                valid = 0;
            e[k++] = (edge){a[0] < b[0] ? a[0] : b[0],
                            a[0] > b[0] ? a[0] : b[0],
                            a[1] < b[1] ? a[1] : b[1],
                            a[1] > b[1] ? a[1] : b[1],
                            (uint32_t)r,
                            i};
        }
        p += 2 * n;
    }
    /* No two edges meet but a ring's neighbours, at their shared point:
     * through a grid, or when that would be too large a sweep over the
     * edges by x. */
    int gridded = valid && meets_by_grid(sc, e, nedges, start, ring_n, suspect) == 0;
    if (valid && !gridded && sort_edges(sc, e, nedges, &e) != 0)
        valid = 0;
    for (size_t a = 0; valid && !gridded && a < nedges; a++)
        for (size_t b = a + 1; b < nedges && e[b].minx <= e[a].maxx; b++)
            if (e[b].miny <= e[a].maxy && e[a].miny <= e[b].maxy)
                edges_meet(&e[a], &e[b], start, ring_n, suspect);
    /* A ring that meets: its whole part is GEOS's. */
    size_t nsuspect = 0;
    for (size_t r = 0; valid && r < nrings;) {
        size_t h = r + 1, any = suspect[r];
        while (h < nrings && !exterior[h])
            any |= suspect[h++];
        memset(suspect + r, any ? 1 : 0, h - r);
        nsuspect += any ? h - r : 0;
        r = h;
    }
    /* Nesting, now that no rings meet: a point of a ring is inside or
     * outside another ring, never on it. */
    size_t parts = 0;
    for (size_t r = 0; valid && r < nrings; r++) {
        if (exterior[r]) {
            parts++;
            continue;
        }
        if (suspect[r])
            continue;
        size_t x = r; /* its exterior: the last before it */
        while (!exterior[x])
            x--;
        if (r - x > HOLES_CHECKED || !inside(start[x], ring_n[x], start[r]))
            valid = 0;
        for (size_t h = x + 1; valid && h < nrings && !exterior[h]; h++)
            if (h != r && inside(start[h], ring_n[h], start[r]))
                valid = 0; /* a hole in a hole: GEOS says */
    }
    /* Parts: no exterior inside another (an island in a lake of another
     * part is valid, but GEOS decides that). */
    if (valid && parts > PARTS_CHECKED)
        valid = 0;
    int32_t(*box)[4] = NULL;
    if (valid && parts > 1) {
        if (grow((void **)&sc->box, &sc->capbox, nrings, sizeof *sc->box) == 0)
            box = sc->box;
        else
            valid = 0;
    }
    for (size_t r = 0; box != NULL && r < nrings; r++) {
        box[r][0] = box[r][2] = start[r][0];
        box[r][1] = box[r][3] = start[r][1];
        for (uint32_t i = 1; i < ring_n[r]; i++) {
            const int32_t *q = start[r] + 2 * i;
            box[r][0] = q[0] < box[r][0] ? q[0] : box[r][0];
            box[r][1] = q[1] < box[r][1] ? q[1] : box[r][1];
            box[r][2] = q[0] > box[r][2] ? q[0] : box[r][2];
            box[r][3] = q[1] > box[r][3] ? q[1] : box[r][3];
        }
    }
    /* The exteriors by the left of their boxes, then a sweep: every pair
     * of rings was visited before, 3% of a z12 tile for its 256 parts. */
    ext_left *order = NULL;
    size_t nx = 0;
    if (box != NULL) {
        if (grow(&sc->order, &sc->caporder, parts, sizeof *order) == 0)
            order = sc->order;
        else
            valid = 0;
    }
    for (size_t r = 0; order != NULL && r < nrings; r++)
        if (exterior[r])
            order[nx++] = (ext_left){box[r][0], (uint32_t)r};
    if (nx > 1)
        qsort(order, nx, sizeof *order, by_left);
    for (size_t a = 0; order != NULL && valid && a < nx; a++)
        for (size_t b = a + 1; valid && b < nx && order[b].left <= box[order[a].ring][2]; b++) {
            size_t r = order[a].ring, t = order[b].ring;
            if (!(suspect[r] && suspect[t]) && box[t][1] <= box[r][3] && box[r][1] <= box[t][3] &&
                box[r][0] <= box[t][2] &&
                (inside(start[r], ring_n[r], start[t]) || inside(start[t], ring_n[t], start[r])))
                valid = 0;
        }
    if (!valid)
        return 0;
    return nsuspect == 0 ? 1 : nsuspect == nrings ? 0 : 2;
}
