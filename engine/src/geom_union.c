/*
 * geom_union.c: the union of a polygonal coverage (polygons that share
 * their edges exactly and do not overlap: a survey's parcels, or the
 * land-use groups dissolved from them), without GEOS.
 *
 * In a coverage, an edge shared by two polygons appears twice, once in
 * each direction, and is inside the union; an edge that appears once is on
 * its boundary. So the union is: orient every ring with the interior on
 * its left, drop the edges that come in opposite pairs, link the rest into
 * rings, and sort the rings into shells and holes. That is a sort and a
 * walk, in memory laid out flat, where GEOS 3.11's GEOSCoverageUnion_r
 * builds a polygonizer graph with an allocation per edge and node (most of
 * an overview rebuild's time went there; docs/rendering.md, "Overviews").
 * Anything that is not a clean coverage (a segment three times or twice
 * the same way: overlaps, duplicates; edges that do not link up) is
 * refused with PDB_EGEOM, and the caller falls back to a robust union; the
 * caller also validates what it gets (a T-junction, an edge of one polygon
 * lying along part of another's, passes here and fails validation).
 */
#include "geom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One directed edge of the input, stored with its ends in a canonical
 * order so that the two copies of a shared edge sort next to each other. */
typedef struct cedge {
    double lo[2]; /* the lexicographically smaller end (x, then y) */
    double hi[2]; /* the other end */
    int forward;  /* 1 when the edge runs lo -> hi with the interior on its left */
} cedge;

/* One boundary edge left after the cancellation, as it runs. */
typedef struct bedge {
    double a[2]; /* start */
    double b[2]; /* end */
    int used;    /* already linked into a ring */
} bedge;

/* One output ring while shells and holes are sorted out. */
typedef struct oring {
    size_t first, n;   /* its points in the ring buffer (closed: first == last) */
    double area2;      /* twice its signed area: > 0 shell, < 0 hole */
    double bbox[4];    /* min x, min y, max x, max y */
    size_t parent;     /* a hole's shell (an index into the rings), or SIZE_MAX */
    size_t next_child; /* the next hole of the same shell, or SIZE_MAX */
    size_t child;      /* a shell's first hole, or SIZE_MAX */
} oring;

static int pt_cmp(const double *p, const double *q)
{
    if (p[0] != q[0])
        return p[0] < q[0] ? -1 : 1;
    if (p[1] != q[1])
        return p[1] < q[1] ? -1 : 1;
    return 0;
}

static int cedge_cmp(const void *x, const void *y)
{
    const cedge *e = x, *f = y;
    int c = pt_cmp(e->lo, f->lo);
    return c != 0 ? c : pt_cmp(e->hi, f->hi);
}

static int bedge_cmp(const void *x, const void *y)
{
    const bedge *e = x, *f = y;
    int c = pt_cmp(e->a, f->a);
    return c != 0 ? c : pt_cmp(e->b, f->b);
}

/* Every edge of mp, oriented with the interior on its left (exteriors
 * counter-clockwise, holes clockwise), zero-length ones and rings without
 * area left out. *out is NULL when mp has no edge. */
static pdb_status collect_edges(pdb_ctx *ctx, const pdb__mpoly *mp, cedge **out, size_t *n)
{
    cedge *edges = NULL;
    size_t count = 0;

    *out = NULL;
    *n = 0;
    if (mp->npoints == 0)
        return PDB_OK;
    if ((edges = malloc(mp->npoints * sizeof *edges)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory in a coverage union");
    for (size_t p = 0; p < mp->nparts; p++) {
        for (size_t r = mp->part_ring[p]; r < mp->part_ring[p + 1]; r++) {
            double area2 = pdb__mpoly_ring_area2(mp, r);
            if (area2 == 0.0)
                continue;
            /* An exterior runs counter-clockwise (area > 0), a hole the
             * other way: flip the ring when it runs against that. */
            int flip = (r == mp->part_ring[p]) != (area2 > 0.0);
            for (size_t i = mp->ring_point[r]; i + 1 < mp->ring_point[r + 1]; i++) {
                const double *a = &mp->xy[2 * i], *b = &mp->xy[2 * i + 2];
                int c = pt_cmp(a, b);
                if (c == 0)
                    continue;
                cedge *e = &edges[count++];
                memcpy(e->lo, c < 0 ? a : b, sizeof e->lo);
                memcpy(e->hi, c < 0 ? b : a, sizeof e->hi);
                e->forward = (c < 0) != flip;
            }
        }
    }
    *out = edges;
    *n = count;
    return PDB_OK;
}

/* Drops the edges that come in opposite pairs; the others are the
 * boundary, as they run. PDB_EGEOM when an edge comes otherwise (twice
 * the same way, or more than twice): overlapping polygons. */
static pdb_status cancel_shared(pdb_ctx *ctx, cedge *edges, size_t n, bedge **out, size_t *nout)
{
    bedge *kept = NULL;
    size_t count = 0;

    *out = NULL;
    *nout = 0;
    qsort(edges, n, sizeof *edges, cedge_cmp);
    if (n > 0 && (kept = malloc(n * sizeof *kept)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory in a coverage union");
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && cedge_cmp(&edges[i], &edges[j]) == 0)
            j++;
        if (j - i == 1) {
            bedge *k = &kept[count++];
            memcpy(k->a, edges[i].forward ? edges[i].lo : edges[i].hi, sizeof k->a);
            memcpy(k->b, edges[i].forward ? edges[i].hi : edges[i].lo, sizeof k->b);
            k->used = 0;
        } else if (j - i > 2 || edges[i].forward == edges[i + 1].forward) {
            free(kept);
            return pdb__fail(ctx, PDB_EGEOM,
                             "not a coverage: an edge at %.9g %.9g is in %zu polygons the "
                             "same way",
                             edges[i].lo[0], edges[i].lo[1], j - i);
        }
        i = j;
    }
    *out = kept;
    *nout = count;
    return PDB_OK;
}

/* The first of the edges (sorted by start) that start at p, and how many. */
static size_t edges_from(const bedge *e, size_t n, const double *p, size_t *count)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pt_cmp(e[mid].a, p) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < n && pt_cmp(e[end].a, p) == 0)
        end++;
    *count = end - lo;
    return lo;
}

/* Where a ring goes on from edge `in` when several edges leave its end
 * (the union touches itself at a point there): the first one clockwise
 * from the way back, which keeps the interior wedge of the polygon the
 * ring came in by, so that rings touching at a point stay apart. */
static size_t turn(const bedge *e, size_t in, size_t first, size_t count)
{
    double back = atan2(e[in].a[1] - e[in].b[1], e[in].a[0] - e[in].b[0]);
    size_t best = first;
    double best_cw = INFINITY;
    for (size_t k = first; k < first + count; k++) {
        double out = atan2(e[k].b[1] - e[k].a[1], e[k].b[0] - e[k].a[0]);
        double cw = back - out;
        while (cw <= 0.0)
            cw += 2.0 * M_PI;
        while (cw > 2.0 * M_PI)
            cw -= 2.0 * M_PI;
        if (cw < best_cw) {
            best_cw = cw;
            best = k;
        }
    }
    return best;
}

/* A growable array of points, for the rings as they are traced and as
 * they are kept. */
typedef struct pts {
    double *xy; /* 2 * n coordinates */
    size_t n;   /* points used */
    size_t cap; /* points allocated */
} pts;

/* Appends n points. */
static int pts_push(pts *a, const double *p, size_t n)
{
    if (a->n + n > a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 1024;
        while (ncap < a->n + n)
            ncap *= 2;
        double *q = realloc(a->xy, ncap * 2 * sizeof *q);
        if (q == NULL)
            return -1;
        a->xy = q;
        a->cap = ncap;
    }
    memcpy(a->xy + 2 * a->n, p, 2 * n * sizeof *p);
    a->n += n;
    return 0;
}

/* Remembers a point of the ring being traced where several edges leave. */
static int push_mark(size_t **marks, size_t *n, size_t *cap, size_t at)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        size_t *q = realloc(*marks, ncap * sizeof *q);
        if (q == NULL)
            return -1;
        *marks = q;
        *cap = ncap;
    }
    (*marks)[(*n)++] = at;
    return 0;
}

/* Keeps the closed ring of n points at p as one of the output rings. */
static int keep_ring(pts *out, oring **rings, size_t *nrings, size_t *cap, const double *p,
                     size_t n)
{
    if (*nrings == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        oring *q = realloc(*rings, ncap * sizeof *q);
        if (q == NULL)
            return -1;
        *rings = q;
        *cap = ncap;
    }
    (*rings)[(*nrings)++] = (oring){.first = out->n, .n = n};
    return pts_push(out, p, n);
}

/* Links the boundary edges into closed rings (points in out, one oring
 * each). Where the boundary passes a point twice (a hole touching its
 * shell, two shells touching), the loop between is cut off as a ring of
 * its own: OGC rings do not touch themselves. PDB_EGEOM when an edge
 * leads nowhere: not a coverage. */
static pdb_status link_rings(pdb_ctx *ctx, bedge *e, size_t n, pts *out, oring **rings,
                             size_t *nrings)
{
    pts cur = {0};        /* the ring being traced */
    size_t *marks = NULL; /* indexes in cur of the points where several edges leave */
    size_t nmarks = 0, capmarks = 0, caprings = 0;
    pdb_status st = PDB_OK;

    qsort(e, n, sizeof *e, bedge_cmp);
    for (size_t s = 0; s < n; s++) {
        if (e[s].used)
            continue;
        cur.n = 0;
        nmarks = 0;
        if (pts_push(&cur, e[s].a, 1) != 0)
            goto oom;
        size_t count;
        edges_from(e, n, e[s].a, &count);
        if (count > 1 && push_mark(&marks, &nmarks, &capmarks, 0) != 0)
            goto oom;
        for (size_t k = s;;) {
            e[k].used = 1;
            if (pts_push(&cur, e[k].b, 1) != 0)
                goto oom;
            size_t first = edges_from(e, n, e[k].b, &count);
            if (count == 0) {
                st = pdb__fail(ctx, PDB_EGEOM, "not a coverage: the boundary ends at %.9g %.9g",
                               e[k].b[0], e[k].b[1]);
                goto done;
            }
            size_t next = count == 1 ? first : turn(e, k, first, count);
            if (next == s)
                break;
            if (e[next].used) {
                st = pdb__fail(ctx, PDB_EGEOM,
                               "not a coverage: the boundary crosses itself at %.9g %.9g",
                               e[k].b[0], e[k].b[1]);
                goto done;
            }
            if (count > 1) {
                size_t m = cur.n - 1, j = 0;
                while (j < nmarks && pt_cmp(&cur.xy[2 * marks[j]], e[k].b) != 0)
                    j++;
                if (j < nmarks) { /* back at a point of this ring: cut the loop off */
                    size_t at = marks[j];
                    if (keep_ring(out, rings, nrings, &caprings, &cur.xy[2 * at], m - at + 1) != 0)
                        goto oom;
                    cur.n = at + 1;
                    nmarks = j + 1;
                } else if (push_mark(&marks, &nmarks, &capmarks, m) != 0) {
                    goto oom;
                }
            }
            k = next;
        }
        if (keep_ring(out, rings, nrings, &caprings, cur.xy, cur.n) != 0)
            goto oom;
    }
    goto done;
oom:
    st = pdb__fail(ctx, PDB_ENOMEM, "out of memory in a coverage union");
done:
    free(cur.xy);
    free(marks);
    return st;
}

/* Crossing-number test of p against the closed ring of n points. */
static int ring_contains(const double *ring, size_t n, const double *p)
{
    int in = 0;
    for (size_t i = 0, j = n - 1; i < n; j = i++) {
        const double *a = &ring[2 * i], *b = &ring[2 * j];
        if ((a[1] > p[1]) != (b[1] > p[1]) &&
            p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0])
            in = !in;
    }
    return in;
}

/* Measures the rings and gives every hole the smallest shell around it
 * (islands in a hole of a shell are shells too, smaller ones). PDB_EGEOM
 * for a hole outside every shell. */
static pdb_status sort_rings(pdb_ctx *ctx, const double *xy, oring *rings, size_t nrings)
{
    for (size_t i = 0; i < nrings; i++) {
        oring *r = &rings[i];
        const double *p = &xy[2 * r->first];
        double a2 = 0.0;
        r->bbox[0] = r->bbox[2] = p[0];
        r->bbox[1] = r->bbox[3] = p[1];
        for (size_t k = 0; k + 1 < r->n; k++) {
            const double *q = &p[2 * k], *s = &p[2 * k + 2];
            a2 += q[0] * s[1] - s[0] * q[1];
            r->bbox[0] = fmin(r->bbox[0], s[0]);
            r->bbox[1] = fmin(r->bbox[1], s[1]);
            r->bbox[2] = fmax(r->bbox[2], s[0]);
            r->bbox[3] = fmax(r->bbox[3], s[1]);
        }
        r->area2 = a2;
        r->parent = r->next_child = r->child = SIZE_MAX;
    }
    for (size_t h = 0; h < nrings; h++) {
        oring *hole = &rings[h];
        if (hole->area2 >= 0.0)
            continue;
        /* The middle of an edge: a hole's vertex may touch its shell, but
         * in a coverage no edge of a hole lies on a shell. */
        const double *p = &xy[2 * hole->first];
        double mid[2] = {(p[0] + p[2]) / 2.0, (p[1] + p[3]) / 2.0};
        for (size_t s = 0; s < nrings; s++) {
            const oring *sh = &rings[s];
            if (sh->area2 <= 0.0 || sh->bbox[0] > hole->bbox[0] || sh->bbox[1] > hole->bbox[1] ||
                sh->bbox[2] < hole->bbox[2] || sh->bbox[3] < hole->bbox[3])
                continue;
            if ((hole->parent == SIZE_MAX || sh->area2 < rings[hole->parent].area2) &&
                ring_contains(&xy[2 * sh->first], sh->n, mid))
                hole->parent = s;
        }
        if (hole->parent == SIZE_MAX)
            return pdb__fail(ctx, PDB_EGEOM, "not a coverage: a hole at %.9g %.9g has no shell",
                             mid[0], mid[1]);
        hole->next_child = rings[hole->parent].child;
        rings[hole->parent].child = h;
    }
    return PDB_OK;
}

/* Appends ring r's points to the builder's open part. */
static int add_ring(pdb__mpoly_builder *b, const double *xy, const oring *r)
{
    double *dst = pdb__mpb_add_ring(b, r->n);
    if (dst == NULL)
        return -1;
    memcpy(dst, &xy[2 * r->first], 2 * r->n * sizeof *dst);
    return 0;
}

pdb_status pdb__coverage_union(pdb_ctx *ctx, const pdb__mpoly *mp, pdb__mpoly_builder *out)
{
    cedge *edges = NULL;
    bedge *bound = NULL;
    pts ring_pts = {0};
    oring *rings = NULL;
    size_t nedges = 0, nbound = 0, nrings = 0;
    pdb_status st;

    if ((st = collect_edges(ctx, mp, &edges, &nedges)) != PDB_OK ||
        (st = cancel_shared(ctx, edges, nedges, &bound, &nbound)) != PDB_OK ||
        (st = link_rings(ctx, bound, nbound, &ring_pts, &rings, &nrings)) != PDB_OK ||
        (st = sort_rings(ctx, ring_pts.xy, rings, nrings)) != PDB_OK)
        goto done;
    for (size_t s = 0; s < nrings; s++) {
        if (rings[s].area2 <= 0.0)
            continue;
        if (pdb__mpb_open_part(out) != 0 || add_ring(out, ring_pts.xy, &rings[s]) != 0)
            goto oom;
        for (size_t h = rings[s].child; h != SIZE_MAX; h = rings[h].next_child)
            if (add_ring(out, ring_pts.xy, &rings[h]) != 0)
                goto oom;
        pdb__mpb_close_part(out);
    }
    goto done;
oom:
    st = pdb__fail(ctx, PDB_ENOMEM, "out of memory in a coverage union");
done:
    free(edges);
    free(bound);
    free(ring_pts.xy);
    free(rings);
    return st;
}
