/*
 * qa_defects.c: the errors `parceldb qa` must find (docs/qa.md), planted
 * with --qa-defects N: N overlaps and N sliver gaps per commune, each made
 * by moving one corner of a sound parcel that shares both edges at that
 * corner with neighbours: outwards by 0.3 m (the parcel then overlaps
 * them) or inwards by 0.08 m (a closed sliver, narrower than the 0.2 m of
 * the gap check, opens between them). The corner gets a vertex of its
 * own; the neighbours keep theirs. The parcel's registered area follows
 * its new area with the same survey error as before, so that no area
 * mismatch is planted by accident. Without the option nothing here draws
 * from any random stream: the default output is unchanged.
 */
#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QA_OVERLAP_SHIFT_M 0.3 /* outwards: an overlap of about 0.15 m x the edges */
#define QA_GAP_SHIFT_M 0.08    /* inwards: a sliver at most 8 cm wide */

/* Whether another parcel's ring has the edge a-b (either direction). */
static int edge_shared(const synth_commune *c, const synth_parcel *self, uint32_t a, uint32_t b)
{
    for (size_t i = 0; i < c->nparcels; i++) {
        const synth_parcel *p = &c->parcels[i];
        if (p == self)
            continue;
        for (uint16_t k = 0; k < p->nrings; k++) {
            const synth_ring *r = &c->rings[p->first_ring + k];
            const uint32_t *v = c->ring_vertices + r->off;
            for (uint32_t j = 0; j < r->n; j++) {
                uint32_t x = v[j], y = v[(j + 1) % r->n];
                if ((x == a && y == b) || (x == b && y == a))
                    return 1;
            }
        }
    }
    return 0;
}

/* Moves corner k of p's only ring by shift metres away from the ring's
 * vertex mean (negative: towards it); 0 when the result is a valid
 * polygon, -1 (p unchanged) otherwise. */
static int move_corner(GEOSContextHandle_t h, synth_commune *c, synth_parcel *p, size_t k,
                       double shift)
{
    const synth_ring *r = &c->rings[p->first_ring];
    size_t n = r->n;
    const uint32_t *old = c->ring_vertices + r->off;
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += c->vx[old[i]] / (double)n;
        my += c->vy[old[i]] / (double)n;
    }
    double dx = c->vx[old[k]] - mx, dy = c->vy[old[k]] - my, l = hypot(dx, dy);
    if (l < 1.0)
        return -1;
    uint32_t *v = malloc(n * sizeof *v), nv;
    if (v == NULL)
        return -1;
    memcpy(v, old, n * sizeof *v);
    int rc = -1;
    if (synth_add_vertex(c, c->vx[old[k]] + shift * dx / l, c->vy[old[k]] + shift * dy / l, &nv) !=
        0)
        goto done;
    v[k] = nv;
    /* Valid, and still counter-clockwise, as GEOS sees it. */
    GEOSCoordSequence *cs = GEOSCoordSeq_create_r(h, (unsigned)(n + 1), 2);
    for (size_t i = 0; cs && i <= n; i++)
        GEOSCoordSeq_setXY_r(h, cs, (unsigned)i, c->vx[v[i % n]], c->vy[v[i % n]]);
    GEOSGeometry *ring = cs ? GEOSGeom_createLinearRing_r(h, cs) : NULL;
    GEOSGeometry *poly = ring ? GEOSGeom_createPolygon_r(h, ring, NULL, 0) : NULL;
    int valid = poly != NULL && GEOSisValid_r(h, poly) == 1;
    if (poly)
        GEOSGeom_destroy_r(h, poly);
    if (!valid)
        goto done;
    uint32_t first = (uint32_t)c->nrings;
    double before = p->area_m2;
    if (synth_add_ring(c, v, n, 0, 0) != 0)
        goto done;
    p->first_ring = first;
    p->area_m2 = synth_ring_area(c, &c->rings[first]);
    if (p->area_m2 <= 0)
        goto done; /* cannot happen for a valid shift of a CCW ring; be safe */
    if (before > 0)
        p->surveyed_m2 = round(p->area_m2 * (p->surveyed_m2 / before) * 10.0) / 10.0;
    rc = 0;
done:
    free(v);
    return rc;
}

int synth_qa_apply(GEOSContextHandle_t geos, const synth_options *o, synth_commune *c, char *err,
                   size_t errlen)
{
    synth_rng r;
    unsigned char *used;
    int rc = -1;
    if (o->qa_defects == 0)
        return 0;
    /* The vertex pool grows as corners move: room for every new one. */
    if ((used = calloc(c->nv + 2 * o->qa_defects + 1, 1)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    synth_rng_init(&r, o->seed, c->ref->code, 7);
    for (int kind = SYNTH_QA_OVERLAP; kind <= SYNTH_QA_GAP; kind++) {
        size_t made = 0;
        for (size_t tries = 0; made < o->qa_defects && tries < 200 * o->qa_defects + 1000;
             tries++) {
            size_t i = synth_below(&r, c->nparcels);
            synth_parcel *p = &c->parcels[i];
            if (p->defect != DEF_NONE || p->qa != SYNTH_QA_NONE || p->nparts != 1 ||
                p->nrings != 1 || p->area_m2 < 50.0)
                continue;
            const synth_ring *rg = &c->rings[p->first_ring];
            size_t n = rg->n, k = synth_below(&r, n);
            const uint32_t *v = c->ring_vertices + rg->off;
            /* Not beside another planted parcel (no shared vertex): each
             * error its own, found on its own. */
            int near = 0;
            for (size_t m = 0; m < n && !near; m++)
                near = used[v[m]];
            if (near)
                continue;
            if (!edge_shared(c, p, v[(k + n - 1) % n], v[k]) ||
                !edge_shared(c, p, v[k], v[(k + 1) % n]))
                continue;
            if (move_corner(geos, c, p, k,
                            kind == SYNTH_QA_OVERLAP ? QA_OVERLAP_SHIFT_M : -QA_GAP_SHIFT_M) != 0)
                continue;
            for (size_t m = 0; m < n; m++)
                used[v[m]] = 1; /* v: the old ring's vertices, still in the pool */
            p->qa = (uint8_t)kind;
            made++;
        }
        if (made < o->qa_defects) {
            snprintf(err, errlen, "commune %s: found room for %zu of %zu planted %s", c->ref->code,
                     made, o->qa_defects, kind == SYNTH_QA_OVERLAP ? "overlaps" : "gaps");
            goto done;
        }
    }
    rc = 0;
done:
    free(used);
    return rc;
}
