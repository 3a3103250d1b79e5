/*
 * resurvey.c: a re-survey of a commune (--resurvey N): the commune as
 * pdb-synth makes it without the option, then N renumberings, N reshapes,
 * N merges of two neighbours and N splits in two, each listed in the
 * manifest's resurvey_ground_truth (docs/changes.md: what `parceldb
 * import` must then record), and with --resurvey-noise M every vertex
 * moved by up to M metres as a new survey measures it again. With
 * --national the renumbered, split and merged parcels name their previous
 * numbers (a merge: its first parent), and N pairs of neighbours get a
 * boundary moved (regroup): both renumbered, each naming its old number;
 * by geometry alone a merge of both into both, by the numbers two
 * reshapes, which is what the ground truth lists. Only sound
 * parcels of the commune's own former commune are picked (one ring, no
 * defect, no planted QA error), each at most once. Without the option
 * nothing here runs and no random stream is drawn from: the default
 * output is unchanged.
 */
#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESHAPE_SHIFT_M 1.5 /* a corner moved inwards: well beyond survey noise */
#define REGROUP_SHIFT_M 3.0 /* a shared boundary's middle moved into the neighbour */
#define REGROUP_EDGE_M 8.0  /* the shortest shared edge moved (the land moved >= 12 m2) */

typedef struct rs {
    GEOSContextHandle_t h;
    synth_commune *c;
    synth_rng r;
    unsigned char *touched; /* per parcel: picked already */
    int32_t *max_number;    /* per sheet (1-based): the largest number of former 0 */
    size_t nsheets;         /* entries of max_number */
    int national;           /* --national: changed parcels name their previous numbers */
} rs;

static int pickable(const rs *s, size_t i)
{
    const synth_parcel *p = &s->c->parcels[i];
    return !s->touched[i] && p->defect == DEF_NONE && p->qa == SYNTH_QA_NONE && p->nparts == 1 &&
           p->nrings == 1 && p->former == 0 && p->area_m2 >= 100.0 && p->sheet > 0 &&
           (size_t)p->sheet < s->nsheets;
}

static int truth_add(synth_commune *c, const char *kind, const synth_parcel *old,
                     const synth_parcel *old2, const synth_parcel *neu, const synth_parcel *neu2)
{
    synth_truth *t = realloc(c->truth, (c->ntruth + 1) * sizeof *t);
    if (t == NULL)
        return -1;
    c->truth = t;
    t = &c->truth[c->ntruth++];
    memset(t, 0, sizeof *t);
    snprintf(t->kind, sizeof t->kind, "%s", kind);
    const synth_parcel *o[2] = {old, old2}, *n[2] = {neu, neu2};
    for (int k = 0; k < 2; k++) {
        if (o[k] != NULL) {
            t->old_sheet[t->nold] = o[k]->sheet;
            t->old_number[t->nold++] = o[k]->number;
        }
        if (n[k] != NULL) {
            t->new_sheet[t->nnew] = n[k]->sheet;
            t->new_number[t->nnew++] = n[k]->number;
        }
    }
    return 0;
}

/* A GEOS polygon of n pool vertices. */
static GEOSGeometry *polygon(rs *s, const uint32_t *v, size_t n)
{
    GEOSCoordSequence *cs = GEOSCoordSeq_create_r(s->h, (unsigned)(n + 1), 2);
    for (size_t i = 0; cs && i <= n; i++)
        GEOSCoordSeq_setXY_r(s->h, cs, (unsigned)i, s->c->vx[v[i % n]], s->c->vy[v[i % n]]);
    GEOSGeometry *ring = cs ? GEOSGeom_createLinearRing_r(s->h, cs) : NULL;
    return ring ? GEOSGeom_createPolygon_r(s->h, ring, NULL, 0) : NULL;
}

/* Gives parcel p the ring v (n vertices) and its area. */
static int set_ring(rs *s, synth_parcel *p, const uint32_t *v, size_t n)
{
    uint32_t first = (uint32_t)s->c->nrings;
    double before = p->area_m2;
    if (synth_add_ring(s->c, v, n, 0, 0) != 0)
        return -1;
    p->first_ring = first;
    p->area_m2 = synth_ring_area(s->c, &s->c->rings[first]);
    if (before > 0)
        p->surveyed_m2 = round(p->area_m2 * (p->surveyed_m2 / before) * 10.0) / 10.0;
    return 0;
}

/* --national: p names old's number as its previous one. */
static void name_previous(const rs *s, synth_parcel *p, const synth_parcel *old)
{
    if (s->national) {
        p->prev_sheet = old->sheet;
        p->prev_number = old->number;
    }
}

static int renumber(rs *s, size_t i)
{
    synth_parcel *p = &s->c->parcels[i], old = *p;
    p->number = ++s->max_number[p->sheet];
    name_previous(s, p, &old);
    return truth_add(s->c, "renumber", &old, NULL, p, NULL);
}

/* One corner moved inwards by RESHAPE_SHIFT_M (towards the vertex mean);
 * 1 when the parcel stays valid, 0 when another must be tried. */
static int reshape(rs *s, size_t i)
{
    synth_commune *c = s->c;
    synth_parcel *p = &c->parcels[i];
    const synth_ring *r = &c->rings[p->first_ring];
    size_t n = r->n, k = synth_below(&s->r, n);
    uint32_t *v = malloc(n * sizeof *v), nv;
    double mx = 0, my = 0;
    int rc = 0;
    if (v == NULL)
        return -1;
    memcpy(v, c->ring_vertices + r->off, n * sizeof *v);
    for (size_t j = 0; j < n; j++) {
        mx += c->vx[v[j]] / (double)n;
        my += c->vy[v[j]] / (double)n;
    }
    double dx = mx - c->vx[v[k]], dy = my - c->vy[v[k]], l = hypot(dx, dy);
    if (l < 4 * RESHAPE_SHIFT_M)
        goto done;
    if (synth_add_vertex(c, c->vx[v[k]] + RESHAPE_SHIFT_M * dx / l,
                         c->vy[v[k]] + RESHAPE_SHIFT_M * dy / l, &nv) != 0) {
        rc = -1;
        goto done;
    }
    v[k] = nv;
    GEOSGeometry *g = polygon(s, v, n);
    int valid = g != NULL && GEOSisValid_r(s->h, g) == 1;
    if (g != NULL)
        GEOSGeom_destroy_r(s->h, g);
    if (!valid)
        goto done;
    if (set_ring(s, &c->parcels[i], v, n) != 0 || c->parcels[i].area_m2 <= 0) {
        rc = -1;
        goto done;
    }
    p = &c->parcels[i];
    rc = truth_add(c, "reshape", p, NULL, p, NULL) == 0 ? 1 : -1;
done:
    free(v);
    return rc;
}

/* Cut along the chord between two vertices of the ring: both halves
 * valid, counter-clockwise, a quarter of the area or more, and not
 * overlapping. p keeps one half under a new number; a new parcel, a copy
 * of p, the other. 1 done, 0 no chord fits, -1 out of memory. */
static int split(rs *s, size_t i)
{
    synth_commune *c = s->c;
    const synth_ring *r = &c->rings[c->parcels[i].first_ring];
    size_t n = r->n;
    uint32_t *v = malloc(2 * (n + 1) * sizeof *v), *a = v, *b = v ? v + n + 1 : NULL;
    int rc = 0;
    if (v == NULL)
        return -1;
    const uint32_t *rv = c->ring_vertices + r->off;
    double total = c->parcels[i].area_m2;
    for (size_t start = 0; n >= 4 && start < n && rc == 0; start++) {
        size_t j = (start + n / 2) % n, na = 0, nb = 0;
        for (size_t k = start;; k = (k + 1) % n) {
            a[na++] = rv[k];
            if (k == j)
                break;
        }
        for (size_t k = j;; k = (k + 1) % n) {
            b[nb++] = rv[k];
            if (k == start)
                break;
        }
        if (na < 3 || nb < 3)
            continue;
        GEOSGeometry *ga = polygon(s, a, na), *gb = polygon(s, b, nb);
        double aa = 0, ab = 0, ov = 1;
        int ok = ga && gb && GEOSisValid_r(s->h, ga) == 1 && GEOSisValid_r(s->h, gb) == 1;
        if (ok) {
            GEOSGeometry *x = GEOSIntersection_r(s->h, ga, gb);
            ok = x != NULL && GEOSArea_r(s->h, x, &ov) == 1 && GEOSArea_r(s->h, ga, &aa) == 1 &&
                 GEOSArea_r(s->h, gb, &ab) == 1;
            if (x != NULL)
                GEOSGeom_destroy_r(s->h, x);
        }
        if (ga != NULL)
            GEOSGeom_destroy_r(s->h, ga);
        if (gb != NULL)
            GEOSGeom_destroy_r(s->h, gb);
        if (!ok || ov > 1e-6 || aa < total / 4 || ab < total / 4)
            continue;
        if (c->nparcels == c->cap_parcels) {
            size_t cap = c->cap_parcels ? 2 * c->cap_parcels : 64;
            synth_parcel *np = realloc(c->parcels, cap * sizeof *np);
            if (np == NULL) {
                rc = -1;
                break;
            }
            c->parcels = np;
            c->cap_parcels = cap;
        }
        synth_parcel old = c->parcels[i];
        synth_parcel *q = &c->parcels[c->nparcels++];
        *q = old;
        if (set_ring(s, &c->parcels[i], a, na) != 0 ||
            set_ring(s, &c->parcels[c->nparcels - 1], b, nb) != 0) {
            rc = -1;
            break;
        }
        c->parcels[i].number = ++s->max_number[old.sheet];
        c->parcels[c->nparcels - 1].number = ++s->max_number[old.sheet];
        name_previous(s, &c->parcels[i], &old);
        name_previous(s, &c->parcels[c->nparcels - 1], &old);
        /* the new parcel is picked already */
        s->touched[c->nparcels - 1] = 1;
        rc = truth_add(c, "split", &old, NULL, &c->parcels[i], &c->parcels[c->nparcels - 1]) == 0
                 ? 1
                 : -1;
    }
    free(v);
    return rc;
}

/* The pool vertex of p's ring at (x, y), or UINT32_MAX. */
static uint32_t vertex_at(const synth_commune *c, const synth_parcel *p, double x, double y)
{
    const synth_ring *r = &c->rings[p->first_ring];
    const uint32_t *v = c->ring_vertices + r->off;
    for (uint32_t k = 0; k < r->n; k++)
        if (c->vx[v[k]] == x && c->vy[v[k]] == y)
            return v[k];
    return UINT32_MAX;
}

/* Whether p and q share an edge (two consecutive vertices). */
static int share_edge(const synth_commune *c, const synth_parcel *p, const synth_parcel *q)
{
    const synth_ring *rp = &c->rings[p->first_ring], *rq = &c->rings[q->first_ring];
    const uint32_t *a = c->ring_vertices + rp->off, *b = c->ring_vertices + rq->off;
    for (uint32_t i = 0; i < rp->n; i++)
        for (uint32_t j = 0; j < rq->n; j++)
            if (a[i] == b[(j + 1) % rq->n] && a[(i + 1) % rp->n] == b[j])
                return 1;
    return 0;
}

/* p and a neighbour of its sheet that shares an edge with it, into one
 * parcel (the union's ring, made of their own vertices) under a new
 * number; the neighbour leaves the list. 1 done, 0 no neighbour fits. */
static int merge(rs *s, size_t i)
{
    synth_commune *c = s->c;
    for (size_t j = 0; j < c->nparcels; j++) {
        if (j == i || !pickable(s, j) || c->parcels[j].sheet != c->parcels[i].sheet ||
            !share_edge(c, &c->parcels[i], &c->parcels[j]))
            continue;
        const synth_parcel *p = &c->parcels[i], *q = &c->parcels[j];
        const synth_ring *rp = &c->rings[p->first_ring], *rq = &c->rings[q->first_ring];
        GEOSGeometry *gp = polygon(s, c->ring_vertices + rp->off, rp->n);
        GEOSGeometry *gq = polygon(s, c->ring_vertices + rq->off, rq->n);
        GEOSGeometry *u = gp && gq ? GEOSUnion_r(s->h, gp, gq) : NULL;
        uint32_t *v = NULL;
        size_t n = 0;
        int ok = u != NULL && GEOSGeomTypeId_r(s->h, u) == GEOS_POLYGON &&
                 GEOSGetNumInteriorRings_r(s->h, u) == 0;
        if (ok) {
            const GEOSCoordSequence *cs =
                GEOSGeom_getCoordSeq_r(s->h, GEOSGetExteriorRing_r(s->h, u));
            unsigned size = 0;
            ok = cs != NULL && GEOSCoordSeq_getSize_r(s->h, cs, &size) == 1 && size >= 4 &&
                 (v = malloc(size * sizeof *v)) != NULL;
            for (unsigned k = 0; ok && k + 1 < size; k++) {
                double x, y;
                GEOSCoordSeq_getXY_r(s->h, cs, k, &x, &y);
                uint32_t idx = vertex_at(c, p, x, y);
                if (idx == UINT32_MAX)
                    idx = vertex_at(c, q, x, y);
                ok = idx != UINT32_MAX;
                v[n++] = idx;
            }
        }
        if (gp)
            GEOSGeom_destroy_r(s->h, gp);
        if (gq)
            GEOSGeom_destroy_r(s->h, gq);
        if (u)
            GEOSGeom_destroy_r(s->h, u);
        if (ok) {
            synth_parcel op = *p, oq = *q;
            synth_ring tmp = {0, (uint32_t)n, 0, 0};
            double area = 0;
            /* synth_ring_area needs the ring in the pool: add it, then
             * reverse it if GEOS gave it clockwise. */
            if (synth_add_ring(c, v, n, 0, 0) != 0) {
                free(v);
                return -1;
            }
            tmp = c->rings[c->nrings - 1];
            area = synth_ring_area(c, &tmp);
            c->nrings--;
            c->nrv -= n;
            if (area < 0)
                for (size_t k = 0; k < n / 2; k++) {
                    uint32_t t = v[k];
                    v[k] = v[n - 1 - k];
                    v[n - 1 - k] = t;
                }
            synth_parcel *m = &c->parcels[i];
            m->surveyed_m2 = op.surveyed_m2 + oq.surveyed_m2;
            m->area_m2 = op.area_m2 + oq.area_m2;
            if (set_ring(s, m, v, n) != 0) {
                free(v);
                return -1;
            }
            m->number = ++s->max_number[m->sheet];
            name_previous(s, m, &op);
            synth_parcel merged = *m;
            memmove(&c->parcels[j], &c->parcels[j + 1], (c->nparcels - j - 1) * sizeof *c->parcels);
            memmove(&s->touched[j], &s->touched[j + 1], c->nparcels - j - 1);
            c->nparcels--;
            s->touched[i < j ? i : i - 1] = 1;
            free(v);
            return truth_add(c, "merge", &op, &oq, &merged, NULL) == 0 ? 1 : -1;
        }
        free(v);
    }
    return 0;
}

/* The ring of parcel p with vertex nv inserted after position k, into v
 * (room for n + 1); its vertex count. */
static size_t ring_with(const synth_commune *c, const synth_parcel *p, uint32_t k, uint32_t nv,
                        uint32_t *v)
{
    const synth_ring *r = &c->rings[p->first_ring];
    size_t n = 0;
    for (uint32_t t = 0; t < r->n; t++) {
        v[n++] = c->ring_vertices[r->off + t];
        if (t == k)
            v[n++] = nv;
    }
    return n;
}

/* --national: p and a neighbour of its sheet sharing an edge of at least
 * REGROUP_EDGE_M: the edge's middle moved REGROUP_SHIFT_M into the
 * neighbour (a new vertex in both rings: no gap, no overlap), both
 * renumbered and naming their old numbers. 1 done, 0 none fits. */
static int regroup(rs *s, size_t i)
{
    synth_commune *c = s->c;
    for (size_t j = 0; j < c->nparcels; j++) {
        if (j == i || !pickable(s, j) || c->parcels[j].sheet != c->parcels[i].sheet)
            continue;
        const synth_ring *ra = &c->rings[c->parcels[i].first_ring];
        const synth_ring *rb = &c->rings[c->parcels[j].first_ring];
        const uint32_t *a = c->ring_vertices + ra->off, *b = c->ring_vertices + rb->off;
        for (uint32_t k = 0; k < ra->n; k++) {
            uint32_t ka = a[k], kb = a[(k + 1) % ra->n], l = 0;
            for (; l < rb->n && !(b[l] == kb && b[(l + 1) % rb->n] == ka); l++)
                ;
            double dx = c->vx[kb] - c->vx[ka], dy = c->vy[kb] - c->vy[ka], len = hypot(dx, dy);
            if (l == rb->n || len < REGROUP_EDGE_M)
                continue;
            /* Rings are counter-clockwise: the neighbour is on the right. */
            uint32_t nv;
            if (synth_add_vertex(c, (c->vx[ka] + c->vx[kb]) / 2 + REGROUP_SHIFT_M * dy / len,
                                 (c->vy[ka] + c->vy[kb]) / 2 - REGROUP_SHIFT_M * dx / len,
                                 &nv) != 0)
                return -1;
            uint32_t *va = malloc((ra->n + rb->n + 2) * sizeof *va),
                     *vb = va ? va + ra->n + 1 : NULL;
            if (va == NULL)
                return -1;
            size_t na = ring_with(c, &c->parcels[i], k, nv, va);
            size_t nb = ring_with(c, &c->parcels[j], l, nv, vb);
            GEOSGeometry *ga = polygon(s, va, na), *gb = polygon(s, vb, nb);
            int ok = ga && gb && GEOSisValid_r(s->h, ga) == 1 && GEOSisValid_r(s->h, gb) == 1;
            double before = c->parcels[i].area_m2 + c->parcels[j].area_m2, aa = 0, ab = 0;
            ok = ok && GEOSArea_r(s->h, ga, &aa) == 1 && GEOSArea_r(s->h, gb, &ab) == 1 &&
                 fabs(aa + ab - before) < 0.01 && ab < c->parcels[j].area_m2 - 10;
            if (ga)
                GEOSGeom_destroy_r(s->h, ga);
            if (gb)
                GEOSGeom_destroy_r(s->h, gb);
            if (ok) {
                synth_parcel oa = c->parcels[i], ob = c->parcels[j];
                ok = set_ring(s, &c->parcels[i], va, na) == 0 &&
                     set_ring(s, &c->parcels[j], vb, nb) == 0;
                free(va);
                if (!ok)
                    return -1;
                c->parcels[i].number = ++s->max_number[oa.sheet];
                c->parcels[j].number = ++s->max_number[ob.sheet];
                name_previous(s, &c->parcels[i], &oa);
                name_previous(s, &c->parcels[j], &ob);
                s->touched[i] = s->touched[j] = 1;
                return truth_add(c, "reshape", &oa, NULL, &c->parcels[i], NULL) == 0 &&
                               truth_add(c, "reshape", &ob, NULL, &c->parcels[j], NULL) == 0
                           ? 1
                           : -1;
            }
            free(va);
        }
    }
    return 0;
}

int synth_resurvey_apply(GEOSContextHandle_t geos, const synth_options *o, synth_commune *c,
                         char *err, size_t errlen)
{
    static const char *const kinds[5] = {"renumberings", "reshapes", "merges", "splits",
                                         "regroups"};
    rs s = {.h = geos, .c = c, .national = o->national};
    int rc = -1;

    if (o->resurvey == 0)
        return 0;
    synth_rng_init(&s.r, o->seed, c->ref->code, 11);
    for (size_t i = 0; i < c->nparcels; i++)
        if (c->parcels[i].sheet > 0 && (size_t)c->parcels[i].sheet >= s.nsheets)
            s.nsheets = (size_t)c->parcels[i].sheet + 1;
    s.max_number = calloc(s.nsheets + 1, sizeof *s.max_number);
    s.touched = calloc(c->nparcels + o->resurvey + 1, 1);
    if (s.max_number == NULL || s.touched == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    /* Numbers above every number of the sheet, in any former commune, so
     * that a new number is new. */
    for (size_t i = 0; i < c->nparcels; i++) {
        const synth_parcel *p = &c->parcels[i];
        if (p->sheet > 0 && p->number > s.max_number[p->sheet])
            s.max_number[p->sheet] = p->number;
    }
    for (int kind = 0; kind < (o->national ? 5 : 4); kind++) {
        size_t made = 0;
        for (size_t tries = 0; made < o->resurvey && tries < 200 * o->resurvey + 1000; tries++) {
            size_t i = synth_below(&s.r, c->nparcels);
            if (!pickable(&s, i))
                continue;
            int r = kind == 0   ? (renumber(&s, i) == 0 ? 1 : -1)
                    : kind == 1 ? reshape(&s, i)
                    : kind == 2 ? merge(&s, i)
                    : kind == 3 ? split(&s, i)
                                : regroup(&s, i);
            if (r < 0) {
                snprintf(err, errlen, "out of memory");
                goto done;
            }
            if (r == 1) {
                /* merge and regroup mark their own; the others here */
                if (kind != 2 && kind != 4)
                    s.touched[i] = 1;
                made++;
            }
        }
        if (made < o->resurvey) {
            snprintf(err, errlen, "commune %s: found room for %zu of %zu %s", c->ref->code, made,
                     o->resurvey, kinds[kind]);
            goto done;
        }
    }
    /* The whole commune measured again: every vertex (shared by the
     * parcels on both sides of an edge) moves by at most the noise. */
    if (o->resurvey_noise_m > 0) {
        for (size_t v = 0; v < c->nv; v++) {
            c->vx[v] =
                round((c->vx[v] + synth_range(&s.r, -1, 1) * o->resurvey_noise_m) * 1e3) / 1e3;
            c->vy[v] =
                round((c->vy[v] + synth_range(&s.r, -1, 1) * o->resurvey_noise_m) * 1e3) / 1e3;
        }
        for (size_t i = 0; i < c->nparcels; i++)
            c->parcels[i].area_m2 = synth_parcel_area(c, &c->parcels[i]);
    }
    rc = 0;
done:
    free(s.max_number);
    free(s.touched);
    return rc;
}
