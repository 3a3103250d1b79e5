/*
 * lineage_match.c: what happened to each parcel when a commune was
 * surveyed again. The new parcels are matched to the ones they supersede
 * by overlap in the survey's metres (a GEOS STRtree on the old ones), the
 * overlaps form groups (connected components of old and new parcels), and
 * each group is one class: one old and one new parcel are unchanged (same
 * number, geometry equal within the tolerance), renumbered (equal
 * geometry, another number) or reshaped; one old and several new a split;
 * several old and one new a merge; a new parcel that overlaps nothing is
 * new, an old one that nothing overlaps retired (neither has an edge).
 *
 * The common case of a re-survey is a parcel surveyed again to the same
 * coordinates under the same number: its old and new WKB are the same
 * bytes, and it is taken as unchanged without a geometry at all (the old
 * parcels of a commune do not overlap each other beyond the QA threshold,
 * so nothing else can share its area). Only the rest go through GEOS.
 */
#include "lineage_match.h"
#include "crs.h"
#include "geom.h"
#include "wkb.h"
#include "writer.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pdb_status pdb__lm_set_add(pdb_ctx *ctx, pdb__lm_set *set, int64_t id, const char *former,
                           const char *sheet, const char *parcel, int srid,
                           const unsigned char *wkb, size_t wkb_len, double area_m2,
                           const char *prev_sheet, const char *prev_parcel)
{
    if (set->count == set->cap) {
        size_t cap = set->cap ? 2 * set->cap : 1024;
        pdb__lm_parcel *items = realloc(set->items, cap * sizeof *items);
        if (items == NULL)
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        set->items = items;
        set->cap = cap;
    }
    pdb__lm_parcel *p = &set->items[set->count];
    former = former ? former : "";
    size_t len = strlen(former) + strlen(sheet) + strlen(parcel) + 3;
    p->key = malloc(len);
    p->wkb = malloc(wkb_len ? wkb_len : 1);
    p->prev_key = NULL;
    if (prev_parcel != NULL && *prev_parcel != '\0') {
        /* No previous sheet: a number of the same sheet. */
        const char *ps = prev_sheet != NULL && *prev_sheet != '\0' ? prev_sheet : sheet;
        size_t plen = strlen(former) + strlen(ps) + strlen(prev_parcel) + 3;
        if ((p->prev_key = malloc(plen)) != NULL)
            snprintf(p->prev_key, plen, "%s\x1f%s\x1f%s", former, ps, prev_parcel);
    }
    if (p->key == NULL || p->wkb == NULL ||
        (prev_parcel != NULL && *prev_parcel != '\0' && p->prev_key == NULL)) {
        free(p->key);
        free(p->wkb);
        free(p->prev_key);
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    }
    snprintf(p->key, len, "%s\x1f%s\x1f%s", former, sheet, parcel);
    memcpy(p->wkb, wkb, wkb_len);
    p->wkb_len = wkb_len;
    p->id = id;
    p->srid = srid;
    p->area_m2 = area_m2;
    set->count++;
    return PDB_OK;
}

void pdb__lm_set_free(pdb__lm_set *set)
{
    for (size_t i = 0; set != NULL && i < set->count; i++) {
        free(set->items[i].key);
        free(set->items[i].wkb);
        free(set->items[i].prev_key);
    }
    if (set != NULL) {
        free(set->items);
        memset(set, 0, sizeof *set);
    }
}

void pdb__lm_result_free(pdb__lm_result *r)
{
    if (r != NULL) {
        free(r->edges);
        free(r->problems);
        memset(r, 0, sizeof *r);
    }
}

/* Parcels by number, then by id: the fast path finds an old parcel's
 * number with bsearch, and the order of duplicates is the store's. */
static int by_key(const void *a, const void *b)
{
    const pdb__lm_parcel *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

/* The state of one match. Nodes: old parcels 0..nold-1, then new ones. */
typedef struct lm {
    pdb_ctx *ctx;
    GEOSContextHandle_t h;
    pdb__lm_set *old, *neu;
    int area_epsg;         /* the CRS areas are measured in */
    size_t *parent;        /* union-find over nodes */
    int *done;             /* node settled by the fast path */
    GEOSGeometry **g;      /* geometry of each node not settled, owned */
    double *perim;         /* its perimeter, m */
    double (*box)[4];      /* its envelope: min x, min y, max x, max y */
    pdb__lm_edge *raw;     /* overlaps found: parent/child hold node numbers here */
    size_t nraw, capraw;   /* used and allocated */
    size_t *hits;          /* STRtree query results */
    size_t *named;         /* per node: the old node its previous number tied it to, or
                              SIZE_MAX (new nodes only; evidence()) */
    size_t nhits, caphits; /* used and allocated */
    int oom;               /* the query callback ran out of memory */
    pdb__lm_result *out;
} lm;

static size_t find(lm *m, size_t x)
{
    while (m->parent[x] != x)
        x = m->parent[x] = m->parent[m->parent[x]];
    return x;
}

static void unite(lm *m, size_t a, size_t b)
{
    a = find(m, a);
    b = find(m, b);
    if (a != b)
        m->parent[a > b ? a : b] = a < b ? a : b;
}

/* Room for one more of n items of size bytes in *v (cap allocated,
 * doubling from first). */
static pdb_status grow(lm *m, void **v, size_t n, size_t *cap, size_t size, size_t first)
{
    if (n < *cap)
        return PDB_OK;
    size_t c = *cap ? 2 * *cap : first;
    void *nv = realloc(*v, c * size);
    if (nv == NULL)
        return pdb__fail(m->ctx, PDB_ENOMEM, "out of memory");
    *v = nv;
    *cap = c;
    return PDB_OK;
}

static pdb_status push_edge(lm *m, pdb__lm_edge **v, size_t *n, size_t *cap, pdb__lm_edge e)
{
    void *p = *v;
    pdb_status st = grow(m, &p, *n, cap, sizeof e, 1024);
    *v = p;
    if (st == PDB_OK)
        (*v)[(*n)++] = e;
    return st;
}

/* The GEOS geometry of a parcel in the area CRS. */
static pdb_status geometry(lm *m, const pdb__lm_parcel *p, GEOSGeometry **out)
{
    unsigned char *wkb = p->wkb, *made = NULL;
    size_t len = p->wkb_len;
    pdb__mpoly mp = {0};
    pdb_status st = PDB_OK;

    *out = NULL;
    if (p->srid != m->area_epsg) {
        if ((st = pdb__wkb_parse(m->ctx, p->wkb, p->wkb_len, &mp)) != PDB_OK ||
            (st = pdb__crs_transform_xy(m->ctx, p->srid, m->area_epsg, mp.xy, mp.npoints)) !=
                PDB_OK ||
            (st = pdb__mpoly_to_wkb(m->ctx, &mp, &made, &len)) != PDB_OK)
            goto done;
        wkb = made;
    }
    GEOSWKBReader *r = GEOSWKBReader_create_r(m->h);
    *out = r ? GEOSWKBReader_read_r(m->h, r, wkb, len) : NULL;
    if (r != NULL)
        GEOSWKBReader_destroy_r(m->h, r);
    if (*out == NULL)
        st = pdb__fail(m->ctx, PDB_EGEOM, "parcel %lld: the geometry does not parse (%s)",
                       (long long)p->id, pdb__geos_said(m->ctx));
done:
    pdb__mpoly_free(&mp);
    free(made);
    return st;
}

static void collect(void *item, void *userdata)
{
    lm *m = userdata;
    if (m->nhits == m->caphits) {
        size_t c = m->caphits ? 2 * m->caphits : 64;
        size_t *h = realloc(m->hits, c * sizeof *h);
        if (h == NULL) {
            m->oom = 1;
            return;
        }
        m->hits = h;
        m->caphits = c;
    }
    m->hits[m->nhits++] = (size_t)((const pdb__lm_parcel *)item - m->old->items);
}

/* The area a and b share; NAN when GEOS fails. */
static double overlap_m2(lm *m, const GEOSGeometry *a, const GEOSGeometry *b)
{
    GEOSGeometry *i = GEOSIntersection_r(m->h, a, b);
    double area = NAN;
    if (i == NULL || GEOSArea_r(m->h, i, &area) != 1)
        area = NAN;
    if (i != NULL)
        GEOSGeom_destroy_r(m->h, i);
    return area;
}

/* Finds the overlaps of the new parcels not settled with the old ones not
 * settled, through an STRtree on the old ones. */
static pdb_status overlaps(lm *m)
{
    size_t nold = m->old->count, nnew = m->neu->count;
    GEOSSTRtree *tree = GEOSSTRtree_create_r(m->h, 10);
    pdb_status st = PDB_OK;
    int any = 0;

    if (tree == NULL)
        return pdb__fail(m->ctx, PDB_EGEOM, "GEOS: %s", pdb__geos_said(m->ctx));
    for (size_t i = 0; i < nold + nnew; i++) {
        if (m->done[i])
            continue;
        const pdb__lm_parcel *p = i < nold ? &m->old->items[i] : &m->neu->items[i - nold];
        if ((st = geometry(m, p, &m->g[i])) != PDB_OK)
            goto done;
        if (GEOSLength_r(m->h, m->g[i], &m->perim[i]) != 1)
            m->perim[i] = 0.0;
        if (GEOSGeom_getXMin_r(m->h, m->g[i], &m->box[i][0]) != 1 ||
            GEOSGeom_getYMin_r(m->h, m->g[i], &m->box[i][1]) != 1 ||
            GEOSGeom_getXMax_r(m->h, m->g[i], &m->box[i][2]) != 1 ||
            GEOSGeom_getYMax_r(m->h, m->g[i], &m->box[i][3]) != 1) {
            st = pdb__fail(m->ctx, PDB_EGEOM, "parcel %lld: an empty geometry", (long long)p->id);
            goto done;
        }
        if (i < nold) {
            GEOSSTRtree_insert_r(m->h, tree, m->g[i], (void *)p);
            any = 1;
        }
    }
    for (size_t j = nold; any && j < nold + nnew; j++) {
        if (m->done[j])
            continue;
        m->nhits = 0;
        GEOSSTRtree_query_r(m->h, tree, m->g[j], collect, m);
        if (m->oom) {
            st = pdb__fail(m->ctx, PDB_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t k = 0; k < m->nhits; k++) {
            size_t i = m->hits[k];
            /* What a boundary moved by the tolerance all round leaves is
             * noise, not an edge; the envelopes' overlap bounds the
             * parcels' own, so most neighbours (sharing a boundary, their
             * envelopes overlapping in a strip) need no overlay at all. */
            double noise = PDB_LINEAGE_TOLERANCE_M * fmin(m->perim[i], m->perim[j]);
            double bw = fmin(m->box[i][2], m->box[j][2]) - fmax(m->box[i][0], m->box[j][0]);
            double bh = fmin(m->box[i][3], m->box[j][3]) - fmax(m->box[i][1], m->box[j][1]);
            if (bw <= 0 || bh <= 0 || bw * bh <= noise)
                continue;
            double a = overlap_m2(m, m->g[i], m->g[j]);
            if (isnan(a)) {
                st = pdb__fail(m->ctx, PDB_EGEOM, "matching parcel %lld with %lld: %s",
                               (long long)m->neu->items[j - nold].id,
                               (long long)m->old->items[i].id, pdb__geos_said(m->ctx));
                goto done;
            }
            if (a <= noise)
                continue;
            pdb__lm_edge e = {.parent = (int64_t)i, .child = (int64_t)j, .overlap_m2 = a};
            if ((st = push_edge(m, &m->raw, &m->nraw, &m->capraw, e)) != PDB_OK)
                goto done;
            unite(m, i, j);
        }
    }
done:
    GEOSSTRtree_destroy_r(m->h, tree);
    return st;
}

/* "S/P" of a key ("former\x1fS\x1fP"), for messages. */
static void key_number(const char *key, char *out, size_t cap)
{
    const char *sp = strchr(key, '\x1f');
    snprintf(out, cap, "%s", sp ? sp + 1 : key);
    for (char *c = out; *c != '\0'; c++)
        if (*c == '\x1f')
            *c = '/';
}

static pdb_status push_problem(lm *m, const pdb__lm_parcel *n, const char *reason, const char *why)
{
    pdb__lm_result *r = m->out;
    void *v = r->problems;
    pdb_status st = grow(m, &v, r->nproblems, &r->capproblems, sizeof *r->problems, 16);
    r->problems = v;
    if (st != PDB_OK)
        return st;
    char mine[64], prev[64];
    key_number(n->key, mine, sizeof mine);
    key_number(n->prev_key, prev, sizeof prev);
    pdb__lm_problem *p = &r->problems[r->nproblems++];
    p->child = n->id;
    p->reason = reason;
    snprintf(p->detail, sizeof p->detail, "parcel %s names the previous number %s, %s", mine, prev,
             why);
    return PDB_OK;
}

/* The first raw edge of node j (raw is in child order: overlaps() pushes
 * them new parcel by new parcel), or nraw. */
static size_t first_raw(const lm *m, size_t j)
{
    size_t lo = 0, hi = m->nraw;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((size_t)m->raw[mid].child < j)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Previous numbers as evidence (docs/changes.md): a new parcel that names
 * a superseded parcel of the commune gets the edge to it when the two
 * overlap at all, even by less than the noise the geometry alone
 * discards; its group, and so its class, follow. A name that matches no
 * superseded parcel, or one it does not overlap, is a problem reported,
 * and no edge. The names add edges here; pdb__lineage_match then lets
 * them decide the class of a group they pair one to one. */
static pdb_status evidence(lm *m)
{
    size_t nold = m->old->count, nnew = m->neu->count, nraw = m->nraw;
    pdb_status st = PDB_OK;

    for (size_t jn = 0; jn < nnew && st == PDB_OK; jn++) {
        const pdb__lm_parcel *n = &m->neu->items[jn];
        size_t j = nold + jn;
        /* Surveyed again to the same bytes under its own number (the fast
         * path): the same parcel, whatever older number it names; the
         * same file imported twice reports nothing. */
        if (n->prev_key == NULL || m->done[j])
            continue;
        /* The old parcels of that number: the set is sorted by key. */
        size_t lo = 0, hi = nold;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(m->old->items[mid].key, n->prev_key) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == nold || strcmp(m->old->items[lo].key, n->prev_key) != 0) {
            st = push_problem(m, n, "prev-number-unknown",
                              "which no parcel this survey supersedes has");
            continue;
        }
        int tied = 0;
        for (size_t i = lo; i < nold && strcmp(m->old->items[i].key, n->prev_key) == 0; i++) {
            if (m->done[i])
                continue; /* paired, unchanged, with the new parcel of its own number */
            int known = 0;
            for (size_t k = first_raw(m, j); k < nraw && (size_t)m->raw[k].child == j; k++)
                known |= (size_t)m->raw[k].parent == i;
            if (known) {
                if (!tied)
                    m->named[j] = i;
                tied = 1;
                m->out->named++;
                continue;
            }
            double a = overlap_m2(m, m->g[i], m->g[j]);
            if (isnan(a))
                return pdb__fail(m->ctx, PDB_EGEOM, "matching parcel %lld with %lld: %s",
                                 (long long)n->id, (long long)m->old->items[i].id,
                                 pdb__geos_said(m->ctx));
            if (a <= 0)
                continue;
            pdb__lm_edge e = {.parent = (int64_t)i, .child = (int64_t)j, .overlap_m2 = a};
            if ((st = push_edge(m, &m->raw, &m->nraw, &m->capraw, e)) != PDB_OK)
                return st;
            unite(m, i, j);
            if (!tied)
                m->named[j] = i;
            tied = 1;
            m->out->named++;
        }
        if (!tied)
            st = push_problem(m, n, "prev-number-contradicted",
                              "which this survey supersedes but the parcel does not overlap");
    }
    return st;
}

/* The kind of the edges of one group, and for a pair whether it is
 * unchanged. */
static const char *group_kind(lm *m, size_t nold_in, size_t nnew_in, const pdb__lm_edge *e)
{
    if (nold_in == 1 && nnew_in == 1) {
        size_t i = (size_t)e->parent, j = (size_t)e->child;
        const pdb__lm_parcel *o = &m->old->items[i], *n = &m->neu->items[j - m->old->count];
        double d = 0.0;
        int equal = GEOSHausdorffDistance_r(m->h, m->g[i], m->g[j], &d) == 1 &&
                    d <= PDB_LINEAGE_TOLERANCE_M;
        int same = strcmp(o->key, n->key) == 0;
        return !equal ? "reshape" : same ? "unchanged" : "renumber";
    }
    if (nold_in == 1)
        return "split";
    /* Several old parcels, one new or several: boundaries redrawn across
     * parcels are recorded as a merge of every old one into each new. */
    return "merge";
}

static int edge_order(const void *a, const void *b)
{
    const pdb__lm_edge *x = a, *y = b;
    if (x->child != y->child)
        return (x->child > y->child) - (x->child < y->child);
    return (x->parent > y->parent) - (x->parent < y->parent);
}

pdb_status pdb__lineage_match(pdb_ctx *ctx, const char *commune, pdb__lm_set *old, pdb__lm_set *neu,
                              pdb__lm_result *out)
{
    size_t nold = old->count, nnew = neu->count, nodes = nold + nnew;
    size_t *nold_in = NULL, *nnew_in = NULL, *claimed = NULL, *paired = NULL;
    lm m = {.ctx = ctx, .h = ctx->geos, .old = old, .neu = neu, .out = out};
    pdb_status st = PDB_OK;

    memset(out, 0, sizeof *out);
    if (nold == 0 || nnew == 0)
        return PDB_OK; /* a first import (all new) or an empty one (all retired) */
    if ((st = pdb__area_crs(ctx, neu->items[0].srid, commune, &m.area_epsg)) != PDB_OK)
        return st;
    qsort(old->items, nold, sizeof *old->items, by_key);
    qsort(neu->items, nnew, sizeof *neu->items, by_key);
    m.parent = malloc(nodes * sizeof *m.parent);
    m.done = calloc(nodes, sizeof *m.done);
    m.g = calloc(nodes, sizeof *m.g);
    m.perim = calloc(nodes, sizeof *m.perim);
    m.box = calloc(nodes, sizeof *m.box);
    nold_in = calloc(nodes, sizeof *nold_in);
    nnew_in = calloc(nodes, sizeof *nnew_in);
    claimed = calloc(nodes, sizeof *claimed);
    paired = calloc(nodes, sizeof *paired);
    m.named = malloc(nodes * sizeof *m.named);
    if (m.parent == NULL || m.done == NULL || m.g == NULL || m.perim == NULL || m.box == NULL ||
        nold_in == NULL || nnew_in == NULL || claimed == NULL || paired == NULL ||
        m.named == NULL) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nodes; i++) {
        m.parent[i] = i;
        m.named[i] = SIZE_MAX;
    }
    /* The fast path: the same number surveyed to the same bytes. Both
     * sets are sorted by number, so one merge walk pairs them (duplicate
     * numbers pair in id order, each old parcel at most once). */
    for (size_t i = 0, j = 0; i < nold && j < nnew;) {
        int c = strcmp(old->items[i].key, neu->items[j].key);
        if (c < 0) {
            i++;
        } else if (c > 0) {
            j++;
        } else {
            const pdb__lm_parcel *o = &old->items[i], *n = &neu->items[j];
            if (o->srid == n->srid && o->wkb_len == n->wkb_len &&
                memcmp(o->wkb, n->wkb, o->wkb_len) == 0) {
                pdb__lm_edge e = {o->id, n->id, "unchanged", n->area_m2};
                if ((st = push_edge(&m, &out->edges, &out->nedges, &out->capedges, e)) != PDB_OK)
                    goto done;
                m.done[i] = m.done[nold + j] = 1;
                i++; /* each old parcel pairs once */
            }
            /* An old parcel that differs may still match the next new
             * parcel of its number (a duplicate): the new one moves on;
             * what stays unpaired is matched by overlap below. */
            j++;
        }
    }
    if ((st = overlaps(&m)) != PDB_OK || (st = evidence(&m)) != PDB_OK)
        goto done;
    /* Group sizes, at each group's root. */
    for (size_t i = 0; i < nodes; i++) {
        if (m.done[i])
            continue;
        size_t r = find(&m, i);
        if (i < nold)
            nold_in[r]++;
        else
            nnew_in[r]++;
    }
    /* Groups the previous numbers pair one to one (as many old as new
     * parcels, each new one naming a different old one of its group): a
     * boundary moved between neighbours, not a merge of all into all;
     * each named pair is classed as a pair, the other overlaps (the land
     * the boundary moved) are no edge. claimed counts, per old node, the
     * new ones naming it; paired, per root, the new nodes so paired. */
    for (size_t j = nold; j < nodes; j++)
        if (!m.done[j] && m.named[j] != SIZE_MAX && find(&m, m.named[j]) == find(&m, j))
            claimed[m.named[j]]++;
    for (size_t j = nold; j < nodes; j++)
        if (!m.done[j] && m.named[j] != SIZE_MAX && claimed[m.named[j]] == 1 &&
            find(&m, m.named[j]) == find(&m, j))
            paired[find(&m, j)]++;
    for (size_t k = 0; k < m.nraw; k++) {
        pdb__lm_edge *e = &m.raw[k];
        size_t r = find(&m, (size_t)e->parent);
        int by_names = nold_in[r] > 1 && nold_in[r] == nnew_in[r] && paired[r] == nnew_in[r];
        if (by_names && m.named[e->child] != (size_t)e->parent)
            continue; /* the land a moved boundary took from a neighbour */
        const char *kind =
            by_names ? group_kind(&m, 1, 1, e) : group_kind(&m, nold_in[r], nnew_in[r], e);
        pdb__lm_edge o = {old->items[e->parent].id, neu->items[e->child - (int64_t)nold].id, kind,
                          e->overlap_m2};
        if ((st = push_edge(&m, &out->edges, &out->nedges, &out->capedges, o)) != PDB_OK)
            goto done;
    }
    if (out->nedges > 1)
        qsort(out->edges, out->nedges, sizeof *out->edges, edge_order);
done:
    for (size_t i = 0; m.g != NULL && i < nodes; i++)
        if (m.g[i] != NULL)
            GEOSGeom_destroy_r(m.h, m.g[i]);
    free(m.g);
    free(m.parent);
    free(m.done);
    free(m.perim);
    free(m.box);
    free(m.raw);
    free(m.hits);
    free(nold_in);
    free(nnew_in);
    free(claimed);
    free(paired);
    free(m.named);
    if (st != PDB_OK)
        pdb__lm_result_free(out);
    return st;
}

pdb_status pdb__lineage_match_write(pdb_ctx *ctx, pdb_status st, const char *commune,
                                    pdb__lm_set sets[2], pdb__lm_write_fn write, void *arg,
                                    pdb_writer *w)
{
    pdb__lm_result r = {0};
    if (st == PDB_OK)
        st = pdb__lineage_match(ctx, commune, &sets[0], &sets[1], &r);
    if (st == PDB_OK && r.nedges > 0)
        st = write(ctx, &r, arg);
    for (size_t i = 0; st == PDB_OK && i < r.nproblems; i++) {
        pdb_reject rej = {.feature_index = -1,
                          .reason = r.problems[i].reason,
                          .detail = r.problems[i].detail,
                          .stored = 1};
        st = pdb_writer_reject(ctx, w, &rej);
    }
    pdb__lm_result_free(&r);
    pdb__lm_set_free(&sets[0]);
    pdb__lm_set_free(&sets[1]);
    return st;
}
