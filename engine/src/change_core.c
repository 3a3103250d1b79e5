/*
 * change_core.c: what both stores' changes share (change.h): the new
 * parcels' attributes, the geometry checks in the survey's metres (GEOS),
 * numbers, lineage overlaps and the caller's result.
 */
#include "change.h"
#include "geom.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *pdb__chg_kind(pdb_change_kind k)
{
    switch (k) {
    case PDB_CHANGE_SPLIT:
        return "split";
    case PDB_CHANGE_MERGE:
        return "merge";
    case PDB_CHANGE_UPDATE:
        return "update";
    case PDB_CHANGE_RESHAPE:
        return "reshape";
    }
    return "?";
}

static int blank(const char *s)
{
    return s == NULL || s[strspn(s, " \t")] == '\0';
}

/* GEOS geometry from WKB; PDB_EGEOM naming what when it does not parse. */
pdb_status pdb__chg_geos_from_wkb(pdb__chg *cs, const unsigned char *wkb, size_t len,
                                  const char *what, GEOSGeometry **out)
{
    GEOSWKBReader *r = GEOSWKBReader_create_r(cs->h);
    *out = r ? GEOSWKBReader_read_r(cs->h, r, wkb, len) : NULL;
    if (r != NULL)
        GEOSWKBReader_destroy_r(cs->h, r);
    if (*out == NULL)
        return pdb__fail(cs->ctx, PDB_EGEOM, "%s: the geometry does not parse (%s)", what,
                         pdb__geos_said(cs->ctx));
    int type = GEOSGeomTypeId_r(cs->h, *out);
    if (type != GEOS_POLYGON && type != GEOS_MULTIPOLYGON) {
        GEOSGeom_destroy_r(cs->h, *out);
        *out = NULL;
        return pdb__fail(cs->ctx, PDB_EGEOM, "%s: not a polygon", what);
    }
    return PDB_OK;
}

static pdb_status geos_valid(pdb__chg *cs, const GEOSGeometry *g, const char *what)
{
    char v = GEOSisValid_r(cs->h, g);
    if (v == 1)
        return PDB_OK;
    char *reason = v == 0 ? GEOSisValidReason_r(cs->h, g) : NULL;
    pdb_status st = pdb__fail(cs->ctx, PDB_EGEOM, "%s is not a valid polygon: %s", what,
                              reason ? reason : pdb__geos_said(cs->ctx));
    GEOSFree_r(cs->h, reason);
    return st;
}

/* Area of a GEOS operation's result, consuming it; NAN when GEOS failed. */
static double area_of(pdb__chg *cs, GEOSGeometry *g)
{
    double a = NAN;
    if (g != NULL && GEOSArea_r(cs->h, g, &a) != 1)
        a = NAN;
    if (g != NULL)
        GEOSGeom_destroy_r(cs->h, g);
    return a;
}

double pdb__chg_overlap_m2(pdb__chg *cs, const GEOSGeometry *a, const GEOSGeometry *b)
{
    return area_of(cs, GEOSIntersection_r(cs->h, a, b));
}

/* WKB (ISO, little-endian, 2D) of g, malloc'd. */
static pdb_status geos_to_wkb(pdb__chg *cs, const GEOSGeometry *g, unsigned char **out, size_t *len)
{
    GEOSWKBWriter *w = GEOSWKBWriter_create_r(cs->h);
    unsigned char *buf = NULL;
    *out = NULL;
    if (w != NULL) {
        GEOSWKBWriter_setOutputDimension_r(cs->h, w, 2);
        GEOSWKBWriter_setByteOrder_r(cs->h, w, GEOS_WKB_NDR);
        GEOSWKBWriter_setFlavor_r(cs->h, w, GEOS_WKB_ISO);
        buf = GEOSWKBWriter_write_r(cs->h, w, g, len);
        GEOSWKBWriter_destroy_r(cs->h, w);
    }
    if (buf == NULL)
        return pdb__fail(cs->ctx, PDB_EGEOM, "writing a geometry: %s", pdb__geos_said(cs->ctx));
    if ((*out = malloc(*len)) != NULL)
        memcpy(*out, buf, *len);
    GEOSFree_r(cs->h, buf);
    return *out ? PDB_OK : pdb__fail(cs->ctx, PDB_ENOMEM, "out of memory");
}

/* Checks the land-use codes of a change: every code of a compound one
 * must be in the national list (an officer's typo is refused, not stored
 * with a flag as a survey's would be). */
static pdb_status landuse_check(pdb__chg *cs, const char *landuse)
{
    char code[16];
    const char *p = landuse;
    if (blank(landuse))
        return pdb__fail(cs->ctx, PDB_EINVAL, "an empty land-use code");
    while (*p) {
        size_t n = strcspn(p, "+");
        if (n == 0 || n >= sizeof code)
            return pdb__fail(cs->ctx, PDB_EINVAL, "land use '%.40s' is not a list of codes",
                             landuse);
        memcpy(code, p, n);
        code[n] = '\0';
        if (pdb_landuse_ref_find(code) == NULL)
            return pdb__fail(cs->ctx, PDB_EINVAL, "land-use code '%s' is not in the national list",
                             code);
        p += n;
        if (*p == '+')
            p++;
    }
    return PDB_OK;
}

/* A number: digits, at most 9 of them (positive, as the lookups take). */
pdb_status pdb__chg_number_check(pdb__chg *cs, const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 9 || strspn(n, "0123456789") != len || n[0] == '0')
        return pdb__fail(cs->ctx, PDB_EINVAL, "parcel number '%.40s' is not a positive integer", n);
    return PDB_OK;
}

/* A split: each part valid; the parts cover the parcel within 1 cm^2 (no
 * gap, nothing outside) and overlap each other by at most 1 cm^2. */
static pdb_status check_split(pdb__chg *cs)
{
    GEOSGeometry **parts = calloc(cs->nnew, sizeof *parts);
    GEOSGeometry *coll = NULL, *u = NULL;
    const GEOSGeometry *old = cs->old[0].g;
    pdb_status st = PDB_OK;
    char what[40];

    if (parts == NULL)
        return pdb__fail(cs->ctx, PDB_ENOMEM, "out of memory");
    for (size_t i = 0; i < cs->nnew; i++) {
        snprintf(what, sizeof what, "part %zu", i + 1);
        if ((st = geos_valid(cs, cs->neu[i].g, what)) != PDB_OK)
            goto done;
        for (size_t j = 0; j < i; j++) {
            double o = pdb__chg_overlap_m2(cs, cs->neu[i].g, cs->neu[j].g);
            if (!(o <= SPLIT_TOLERANCE_M2)) {
                st = pdb__fail(cs->ctx, PDB_EGEOM,
                               "parts %zu and %zu overlap by %.4f m2 (at most 0.0001 m2)", j + 1,
                               i + 1, o);
                goto done;
            }
        }
        parts[i] = GEOSGeom_clone_r(cs->h, cs->neu[i].g);
    }
    coll = GEOSGeom_createCollection_r(cs->h, GEOS_GEOMETRYCOLLECTION, parts, (unsigned)cs->nnew);
    if (coll == NULL || (u = GEOSUnaryUnion_r(cs->h, coll)) == NULL) {
        st = pdb__fail(cs->ctx, PDB_EGEOM, "the union of the parts: %s", pdb__geos_said(cs->ctx));
        goto done;
    }
    double gap = area_of(cs, GEOSDifference_r(cs->h, old, u));
    double out = area_of(cs, GEOSDifference_r(cs->h, u, old));
    if (!(gap <= SPLIT_TOLERANCE_M2)) {
        st = pdb__fail(cs->ctx, PDB_EGEOM,
                       "the parts leave a gap of %.4f m2 in the parcel (at most 0.0001 m2)", gap);
        goto done;
    }
    if (!(out <= SPLIT_TOLERANCE_M2)) {
        st = pdb__fail(cs->ctx, PDB_EGEOM,
                       "the parts reach %.4f m2 outside the parcel (at most 0.0001 m2)", out);
        goto done;
    }
done:
    if (coll != NULL)
        GEOSGeom_destroy_r(cs->h, coll); /* owns the clones */
    else
        for (size_t i = 0; i < cs->nnew; i++)
            if (parts[i] != NULL)
                GEOSGeom_destroy_r(cs->h, parts[i]);
    if (u != NULL)
        GEOSGeom_destroy_r(cs->h, u);
    free(parts);
    return st;
}

/* Length of the boundary two parcels share. */
static double shared_boundary_m(pdb__chg *cs, const GEOSGeometry *a, const GEOSGeometry *b)
{
    GEOSGeometry *ba = GEOSBoundary_r(cs->h, a), *bb = GEOSBoundary_r(cs->h, b), *i = NULL;
    double len = 0;
    if (ba != NULL && bb != NULL && (i = GEOSIntersection_r(cs->h, ba, bb)) != NULL &&
        GEOSLength_r(cs->h, i, &len) != 1)
        len = 0;
    if (ba != NULL)
        GEOSGeom_destroy_r(cs->h, ba);
    if (bb != NULL)
        GEOSGeom_destroy_r(cs->h, bb);
    if (i != NULL)
        GEOSGeom_destroy_r(cs->h, i);
    return len;
}

/* A merge: one commune, one survey CRS, every parcel linked to the others
 * through shared boundaries of positive length; the new geometry is their
 * union. */
static pdb_status check_merge(pdb__chg *cs)
{
    size_t n = cs->nold;
    unsigned char *seen = calloc(n, 1);
    size_t *queue = calloc(n, sizeof *queue), head = 0, tail = 0;
    GEOSGeometry **gs = calloc(n, sizeof *gs), *coll = NULL, *u = NULL;
    pdb_status st = PDB_OK;

    if (seen == NULL || queue == NULL || gs == NULL) {
        st = pdb__fail(cs->ctx, PDB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 1; i < n; i++) {
        const pdb_parcel *a = &cs->old[0].p, *b = &cs->old[i].p;
        if (strcmp(a->commune, b->commune) != 0) {
            st = pdb__fail(cs->ctx, PDB_EINVAL,
                           "a merge is of parcels of one commune: %s/%s/%s is in %s, %s/%s/%s "
                           "in %s",
                           a->commune, a->sheet, a->parcel, a->commune, b->commune, b->sheet,
                           b->parcel, b->commune);
            goto done;
        }
        if (a->source_srid != b->source_srid) {
            st = pdb__fail(cs->ctx, PDB_EINVAL,
                           "%s/%s/%s (EPSG:%d) and %s/%s/%s (EPSG:%d) were surveyed in different "
                           "CRSs",
                           a->commune, a->sheet, a->parcel, a->source_srid, b->commune, b->sheet,
                           b->parcel, b->source_srid);
            goto done;
        }
        for (size_t j = 0; j < i; j++)
            if (cs->old[j].p.id == b->id) {
                st = pdb__fail(cs->ctx, PDB_EINVAL, "%s/%s/%s is named twice", b->commune, b->sheet,
                               b->parcel);
                goto done;
            }
    }
    seen[0] = 1;
    queue[tail++] = 0;
    while (head < tail) {
        size_t i = queue[head++];
        for (size_t j = 0; j < n; j++)
            if (!seen[j] &&
                shared_boundary_m(cs, cs->old[i].g, cs->old[j].g) >= TOUCH_MIN_LENGTH_M) {
                seen[j] = 1;
                queue[tail++] = j;
            }
    }
    for (size_t j = 0; j < n; j++)
        if (!seen[j]) {
            const pdb_parcel *b = &cs->old[j].p;
            st = pdb__fail(cs->ctx, PDB_EGEOM,
                           "%s/%s/%s shares no boundary with the other parcels of the merge "
                           "(merged parcels must touch)",
                           b->commune, b->sheet, b->parcel);
            goto done;
        }
    for (size_t i = 0; i < n; i++)
        gs[i] = GEOSGeom_clone_r(cs->h, cs->old[i].g);
    coll = GEOSGeom_createCollection_r(cs->h, GEOS_GEOMETRYCOLLECTION, gs, (unsigned)n);
    if (coll == NULL || (u = GEOSUnaryUnion_r(cs->h, coll)) == NULL) {
        st = pdb__fail(cs->ctx, PDB_EGEOM, "the union of the parcels: %s", pdb__geos_said(cs->ctx));
        goto done;
    }
    pdb__chg_new *np = &cs->neu[0];
    if ((st = geos_to_wkb(cs, u, &np->wkb, &np->wkb_len)) != PDB_OK)
        goto done;
    np->wkb_owned = 1;
    np->g = u;
    u = NULL;
done:
    if (coll != NULL)
        GEOSGeom_destroy_r(cs->h, coll);
    else
        for (size_t i = 0; gs != NULL && i < n; i++)
            if (gs[i] != NULL)
                GEOSGeom_destroy_r(cs->h, gs[i]);
    if (u != NULL)
        GEOSGeom_destroy_r(cs->h, u);
    free(gs);
    free(seen);
    free(queue);
    return st;
}

/* The new parcels' attributes and geometries, before any check that needs
 * them prepared. */
static pdb_status build_new(pdb__chg *cs)
{
    const pdb_change *c = cs->c;
    const pdb_parcel *first = &cs->old[0].p;
    pdb_status st;

    cs->nnew = c->kind == PDB_CHANGE_SPLIT ? c->nparts : 1;
    if ((cs->neu = calloc(cs->nnew, sizeof *cs->neu)) == NULL)
        return pdb__fail(cs->ctx, PDB_ENOMEM, "out of memory");
    for (size_t i = 0; i < cs->nnew; i++) {
        pdb__chg_new *n = &cs->neu[i];
        const pdb_change_part *part = i < c->nparts ? &c->parts[i] : NULL;
        n->p.commune = first->commune;
        n->p.former_commune = first->former_commune;
        n->p.sheet = first->sheet;
        n->p.landuse = first->landuse;
        n->p.address = first->address;
        n->p.owner = first->owner;
        n->p.area_surveyed_m2 = NAN;
        if (c->kind == PDB_CHANGE_UPDATE || c->kind == PDB_CHANGE_RESHAPE) {
            /* Same parcel, same number, the legal area kept unless set;
             * and the survey's national attributes, which a change does
             * not edit (the certificate too: personal data, read as the
             * owner is, and kept as the owner is). */
            n->p.area_surveyed_m2 = first->area_surveyed_m2;
            snprintf(n->number, sizeof n->number, "%s", first->parcel);
            n->p.prev_sheet = first->prev_sheet;
            n->p.prev_parcel = first->prev_parcel;
            n->p.certificate = first->certificate;
            n->p.record_start = first->record_start;
            n->p.record_end = first->record_end;
        } else {
            /* A split's parts and a merge's parcel are new parcels: their
             * previous number is the (first) parent's, as the national
             * attribute set records it; a certificate is issued anew. */
            n->p.prev_sheet = first->sheet;
            n->p.prev_parcel = first->parcel;
        }
        if (part != NULL) {
            n->wkb = (unsigned char *)part->wkb;
            n->wkb_len = part->wkb_len;
            if (part->landuse != NULL)
                n->p.landuse = (char *)part->landuse;
            if (part->number != NULL && c->kind == PDB_CHANGE_SPLIT)
                snprintf(n->number, sizeof n->number, "%s", part->number);
            if (!isnan(part->area_legal_m2))
                n->p.area_surveyed_m2 = part->area_legal_m2;
        } else if (c->kind == PDB_CHANGE_UPDATE) {
            n->wkb = first->source_wkb;
            n->wkb_len = first->source_wkb_len;
        }
        if (c->kind == PDB_CHANGE_MERGE && c->number != NULL)
            snprintf(n->number, sizeof n->number, "%s", c->number);
        if (c->set_landuse != NULL)
            n->p.landuse = (char *)c->set_landuse;
        if (c->set_owner != NULL)
            n->p.owner = blank(c->set_owner) ? NULL : (char *)c->set_owner;
        if (c->set_address != NULL)
            n->p.address = blank(c->set_address) ? NULL : (char *)c->set_address;
        if (!isnan(c->set_area_legal_m2)) {
            if (!(c->set_area_legal_m2 > 0 && c->set_area_legal_m2 < 1e9))
                return pdb__fail(cs->ctx, PDB_EINVAL, "area_legal %g is not a positive area",
                                 c->set_area_legal_m2);
            n->p.area_surveyed_m2 = c->set_area_legal_m2;
        }
        if (!isnan(n->p.area_surveyed_m2) && !(n->p.area_surveyed_m2 > 0))
            return pdb__fail(cs->ctx, PDB_EINVAL, "part %zu: area_legal is not a positive area",
                             i + 1);
        /* Only a code the change gives is checked: an inherited one came
         * from the survey, which may hold older codes (kept and flagged at
         * import), and an owner's update must not fail over it. */
        int given = c->set_landuse != NULL || (part != NULL && part->landuse != NULL);
        if (given && (st = landuse_check(cs, n->p.landuse)) != PDB_OK)
            return st;
        if (n->wkb != NULL) {
            char what[40];
            snprintf(what, sizeof what, c->kind == PDB_CHANGE_SPLIT ? "part %zu" : "the geometry",
                     i + 1);
            if ((st = pdb__chg_geos_from_wkb(cs, n->wkb, n->wkb_len, what, &n->g)) != PDB_OK)
                return st;
        }
    }
    return PDB_OK;
}

/* "C/S/P#id,C/S/P#id": the parcels before or after, for the changes row. */
char *pdb__chg_list_text(pdb__chg *cs, int after)
{
    size_t n = after ? cs->nnew : cs->nold, cap = n * 128 + 1, len = 0;
    char *t = malloc(cap);
    if (t == NULL)
        return NULL;
    t[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *sheet = after ? cs->neu[i].p.sheet : cs->old[i].p.sheet;
        const char *num = after ? cs->neu[i].number : cs->old[i].p.parcel;
        int64_t id = after ? cs->neu[i].id : cs->old[i].p.id;
        len += (size_t)snprintf(t + len, cap - len, "%s%s/%.40s/%.40s#%lld", i ? "," : "",
                                cs->commune, sheet, num, (long long)id);
    }
    return t;
}

pdb_status pdb__chg_result(pdb__chg *cs, pdb_change_result **out)
{
    pdb_change_result *r = calloc(1, sizeof *r);
    if (r == NULL || (r->before = calloc(cs->nold, sizeof *r->before)) == NULL ||
        (r->after = calloc(cs->nnew, sizeof *r->after)) == NULL) {
        pdb_change_result_free(r);
        return pdb__fail(cs->ctx, PDB_ENOMEM, "out of memory");
    }
    r->change_id = cs->change_id;
    memcpy(r->at, cs->now, sizeof r->at);
    r->nbefore = cs->nold;
    r->nafter = cs->nnew;
    for (size_t i = 0; i < cs->nold; i++) {
        r->before[i].id = cs->old[i].p.id;
        r->before[i].area_m2 = cs->old[i].p.area_computed_m2;
        snprintf(r->before[i].number, sizeof r->before[i].number, "%s/%.32s/%.32s",
                 cs->old[i].p.commune, cs->old[i].p.sheet, cs->old[i].p.parcel);
    }
    for (size_t i = 0; i < cs->nnew; i++) {
        r->after[i].id = cs->neu[i].id;
        r->after[i].area_m2 = cs->neu[i].prep->area_m2;
        snprintf(r->after[i].number, sizeof r->after[i].number, "%s/%.32s/%.32s", cs->commune,
                 cs->neu[i].p.sheet, cs->neu[i].number);
    }
    *out = r;
    return PDB_OK;
}

void pdb_change_result_free(pdb_change_result *r)
{
    if (r == NULL)
        return;
    free(r->before);
    free(r->after);
    free(r);
}

pdb_status pdb__chg_missing(pdb__chg *cs, const pdb_parcel_ref *ref, const char *last_valid_to)
{
    if (last_valid_to == NULL)
        return pdb__fail(cs->ctx, PDB_ENOTFOUND, "no parcel %s/%s/%s", ref->commune, ref->sheet,
                         ref->parcel);
    return pdb__fail(cs->ctx, PDB_ECONFLICT,
                     "parcel %s/%s/%s was superseded at %s by another change or import: "
                     "nothing changed",
                     ref->commune, ref->sheet, ref->parcel, last_valid_to);
}

pdb_status pdb__chg_check(pdb__chg *cs)
{
    const pdb_change *c = cs->c;
    pdb_ctx *ctx = cs->ctx;
    pdb_crs_info info;
    pdb_status st;

    /* A version read but not the one the caller saw: someone changed it
     * between the caller's read and this transaction. */
    if (c->expect_id > 0 && cs->old[0].p.id != c->expect_id)
        return pdb__fail(ctx, PDB_ECONFLICT,
                         "parcel %s/%s/%s changed meanwhile (now store id %lld, not %lld): "
                         "nothing changed",
                         cs->old[0].p.commune, cs->old[0].p.sheet, cs->old[0].p.parcel,
                         (long long)cs->old[0].p.id, (long long)c->expect_id);
    snprintf(cs->commune, sizeof cs->commune, "%s", cs->old[0].p.commune);
    cs->srid = cs->old[0].p.source_srid;
    if (c->srid != 0 && c->srid != cs->srid)
        return pdb__fail(ctx, PDB_EINVAL,
                         "the geometry is in EPSG:%d but %s/%s/%s was surveyed in EPSG:%d: give "
                         "it in the survey CRS",
                         c->srid, cs->commune, cs->old[0].p.sheet, cs->old[0].p.parcel, cs->srid);
    if ((c->kind == PDB_CHANGE_SPLIT || c->kind == PDB_CHANGE_RESHAPE ||
         c->kind == PDB_CHANGE_MERGE) &&
        (pdb_crs_info_get(ctx, cs->srid, &info) != PDB_OK || info.kind == PDB_CRS_GEOGRAPHIC))
        return pdb__fail(ctx, PDB_EINVAL,
                         "%s/%s/%s was surveyed in EPSG:%d: a change of its geometry is checked "
                         "in projected metres",
                         cs->commune, cs->old[0].p.sheet, cs->old[0].p.parcel, cs->srid);
    if ((st = build_new(cs)) != PDB_OK)
        return st;
    if (c->kind == PDB_CHANGE_SPLIT && (st = check_split(cs)) != PDB_OK)
        return st;
    if (c->kind == PDB_CHANGE_MERGE && (st = check_merge(cs)) != PDB_OK)
        return st;
    if (c->kind == PDB_CHANGE_RESHAPE &&
        (st = geos_valid(cs, cs->neu[0].g, "the new geometry")) != PDB_OK)
        return st;
    for (size_t i = 0; i < cs->nnew; i++)
        if ((st = pdb_geom_prepare(ctx, cs->srid, cs->commune, cs->neu[i].wkb, cs->neu[i].wkb_len,
                                   &cs->neu[i].prep)) != PDB_OK)
            return st;
    return PDB_OK;
}

pdb_status pdb__chg_neighbour_check(pdb__chg *cs, const unsigned char *wkb, size_t len,
                                    const char *name)
{
    GEOSGeometry *g = NULL;
    char what[120];
    pdb_status st;
    snprintf(what, sizeof what, "neighbour %s", name);
    if ((st = pdb__chg_geos_from_wkb(cs, wkb, len, what, &g)) != PDB_OK)
        return st;
    double o = pdb__chg_overlap_m2(cs, cs->neu[0].g, g);
    GEOSGeom_destroy_r(cs->h, g);
    if (!(o <= RESHAPE_OVERLAP_M2))
        return pdb__fail(cs->ctx, PDB_EGEOM,
                         "the new geometry overlaps %s by %.4f m2 (at most 0.01 m2)", what, o);
    return PDB_OK;
}

pdb_status pdb__chg_edges(pdb__chg *cs,
                          pdb_status (*fn)(pdb__chg *cs, int64_t parent, int64_t child,
                                           const char *kind, double overlap_m2))
{
    pdb_status st = PDB_OK;
    const char *kind = pdb__chg_kind(cs->c->kind);
    for (size_t i = 0; i < cs->nold && st == PDB_OK; i++)
        for (size_t j = 0; j < cs->nnew && st == PDB_OK; j++) {
            double o = cs->c->kind == PDB_CHANGE_UPDATE
                           ? cs->neu[j].prep->area_m2
                           : pdb__chg_overlap_m2(cs, cs->old[i].g, cs->neu[j].g);
            st = fn(cs, cs->old[i].p.id, cs->neu[j].id, kind, o);
        }
    return st;
}

void pdb__chg_free(pdb__chg *cs)
{
    for (size_t i = 0; i < cs->nold; i++) {
        if (cs->old[i].g != NULL)
            GEOSGeom_destroy_r(cs->h, cs->old[i].g);
        pdb_parcel_clear(&cs->old[i].p);
    }
    free(cs->old);
    for (size_t i = 0; cs->neu != NULL && i < cs->nnew; i++) {
        if (cs->neu[i].g != NULL)
            GEOSGeom_destroy_r(cs->h, cs->neu[i].g);
        if (cs->neu[i].wkb_owned)
            free(cs->neu[i].wkb);
        pdb_geom_prepared_free(cs->neu[i].prep);
    }
    free(cs->neu);
}

pdb_status pdb__chg_init(pdb__chg *cs, pdb_ctx *ctx, pdb_store *s, const pdb_change *c,
                         pdb_change_result **out)
{
    memset(cs, 0, sizeof *cs);
    cs->ctx = ctx;
    cs->s = s;
    cs->c = c;
    cs->h = ctx->geos;
    if (out != NULL)
        *out = NULL;
    pdb__now_iso(cs->now);
    if ((cs->old = calloc(c->nparcels, sizeof *cs->old)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    return PDB_OK;
}

pdb_status pdb__lineage_push(pdb_ctx *ctx, pdb_lineage *l, size_t *cap, const pdb_lineage_step *e,
                             const char *reason, const char *document)
{
    if (l->count == *cap) {
        size_t ncap = *cap ? 2 * *cap : 8;
        pdb_lineage_step *ns = realloc(l->steps, ncap * sizeof *ns);
        if (ns == NULL)
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        l->steps = ns;
        *cap = ncap;
    }
    pdb_lineage_step *d = &l->steps[l->count];
    *d = *e;
    d->reason = reason ? strdup(reason) : NULL;
    d->document = document ? strdup(document) : NULL;
    l->count++;
    if ((reason && d->reason == NULL) || (document && d->document == NULL))
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    return PDB_OK;
}

pdb_status pdb__chg_apply(pdb_ctx *ctx, pdb_store *s, const pdb_change *c, pdb_change_result **out,
                          const pdb__chg_io *io)
{
    pdb__chg cs;
    pdb_status st;
    int in_tx = 0;

    if ((st = pdb__chg_init(&cs, ctx, s, c, out)) != PDB_OK)
        goto done;
    /* The write lock first: what is read below cannot change until COMMIT. */
    if ((st = io->begin(&cs)) != PDB_OK)
        goto done;
    in_tx = 1;
    for (size_t i = 0; i < c->nparcels; i++)
        if ((st = io->read_current(&cs, &c->parcels[i])) != PDB_OK)
            goto done;
    if ((st = pdb__chg_check(&cs)) != PDB_OK)
        goto done;
    if (c->kind == PDB_CHANGE_RESHAPE && (st = io->check_reshape(&cs)) != PDB_OK)
        goto done;
    if ((st = io->supersede(&cs)) != PDB_OK ||
        (st = io->assign_numbers(&cs, cs.old[0].p.sheet)) != PDB_OK ||
        (st = io->begin_rows(&cs)) != PDB_OK || (st = io->insert_new(&cs)) != PDB_OK ||
        (st = pdb__chg_edges(&cs, io->edge)) != PDB_OK || (st = io->finish(&cs)) != PDB_OK)
        goto done;
    in_tx = 0;
    if (out != NULL) {
        if ((st = pdb__chg_result(&cs, out)) != PDB_OK)
            goto done;
        pdb_store_data_version(ctx, s, &(*out)->data_version);
    }
    st = pdb__ok(ctx);
done:
    if (in_tx)
        io->rollback(&cs);
    pdb__chg_free(&cs);
    return st;
}

void pdb__chg_audit_what(const pdb__chg *cs, char ids[32], char what[160])
{
    snprintf(ids, 32, "%lld", (long long)cs->neu[0].id);
    snprintf(what, 160, "%s: update owner (change %lld)", cs->c->via ? cs->c->via : "change",
             (long long)cs->change_id);
}

pdb_status pdb__lineage_start(pdb_ctx *ctx, pdb_store *s, int64_t id, pdb_lineage **out)
{
    pdb_parcel *p = NULL;
    pdb_status st;
    *out = NULL;
    if ((st = s->ops->parcel_get(ctx, s, id, 0, &p)) != PDB_OK)
        return st;
    if ((*out = calloc(1, sizeof **out)) == NULL) {
        pdb_parcel_free(p);
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    }
    (*out)->id = id;
    snprintf((*out)->number, sizeof(*out)->number, "%s/%.32s/%.32s", p->commune, p->sheet,
             p->parcel);
    pdb_parcel_free(p);
    return PDB_OK;
}
