/*
 * geom_check.c: validation and repair of survey polygons with GEOS, for
 * importers. Parses ISO WKB, applies the context's limits before any costly
 * step, validates, and repairs with MakeValid, but accepts a repair only
 * when it keeps the parcel's area: a surveyed parcel is legal evidence, and
 * a repair that moves its boundary must go to the quarantine instead.
 */
#include "geom.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GEOS type ids 0..7, for messages. */
static const char *const type_names[] = {
    "Point",      "LineString",      "LinearRing",   "Polygon",
    "MultiPoint", "MultiLineString", "MultiPolygon", "GeometryCollection",
};

const char *pdb__geos_said(const pdb_ctx *ctx)
{
    return ctx->geos_msg[0] != '\0' ? ctx->geos_msg : "no detail";
}

/* GEOS predicates answer 0, 1, or 2 for an exception; this is the one place
 * that maps the 2, so that no caller mistakes it for "true". */
static pdb_status geos_bool(pdb_ctx *ctx, char answer, const char *what, int *out)
{
    *out = 0; /* defined on every path, for callers and for -Wmaybe-uninitialized */
    if (answer != 0 && answer != 1)
        return pdb__fail(ctx, PDB_EGEOM, "GEOS failed in %s: %s", what, pdb__geos_said(ctx));
    *out = answer;
    return PDB_OK;
}

/* GEOSArea_r returns 0 on an exception, and its area otherwise. */
static pdb_status geos_area(pdb_ctx *ctx, const GEOSGeometry *g, double *area)
{
    if (GEOSArea_r(ctx->geos, g, area) == 0)
        return pdb__fail(ctx, PDB_EGEOM, "GEOS failed in area: %s", pdb__geos_said(ctx));
    return PDB_OK;
}

/* Applies max_vertices, max_parts and max_rings to a (multi)polygon. */
static pdb_status check_limits(pdb_ctx *ctx, const GEOSGeometry *g, int type)
{
    GEOSContextHandle_t h = ctx->geos;
    const pdb_limits *lim = &ctx->limits;
    int parts = type == GEOS_MULTIPOLYGON ? GEOSGetNumGeometries_r(h, g) : 1;
    int vertices = GEOSGetNumCoordinates_r(h, g);
    size_t rings = 0;

    if (parts < 0 || vertices < 0)
        return pdb__fail(ctx, PDB_EGEOM, "GEOS cannot count the parts: %s", pdb__geos_said(ctx));
    if ((size_t)vertices > lim->max_vertices_per_parcel)
        return pdb__fail(ctx, PDB_ELIMIT, "%d vertices, over the limit of %zu per parcel", vertices,
                         lim->max_vertices_per_parcel);
    if ((size_t)parts > lim->max_parts_per_parcel)
        return pdb__fail(ctx, PDB_ELIMIT, "%d parts, over the limit of %zu per parcel", parts,
                         lim->max_parts_per_parcel);
    for (int i = 0; i < parts; i++) {
        const GEOSGeometry *p = type == GEOS_MULTIPOLYGON ? GEOSGetGeometryN_r(h, g, i) : g;
        int holes = p != NULL ? GEOSGetNumInteriorRings_r(h, p) : -1;
        if (holes < 0)
            return pdb__fail(ctx, PDB_EGEOM, "GEOS cannot count the rings: %s",
                             pdb__geos_said(ctx));
        rings += 1 + (size_t)holes;
    }
    if (rings > lim->max_rings_per_parcel)
        return pdb__fail(ctx, PDB_ELIMIT, "%zu rings, over the limit of %zu per parcel", rings,
                         lim->max_rings_per_parcel);
    return PDB_OK;
}

pdb_status pdb__geos_list_push(pdb_ctx *ctx, pdb__geos_list *list, GEOSGeometry *g)
{
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        GEOSGeometry **items = realloc(list->items, cap * sizeof *items);
        if (items == NULL) {
            GEOSGeom_destroy_r(ctx->geos, g);
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        }
        list->items = items;
        list->cap = cap;
    }
    list->items[list->count++] = g;
    return PDB_OK;
}

void pdb__geos_list_clear(pdb_ctx *ctx, pdb__geos_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        GEOSGeom_destroy_r(ctx->geos, list->items[i]);
    free(list->items);
    memset(list, 0, sizeof *list);
}

pdb_status pdb__geos_list_collect(pdb_ctx *ctx, pdb__geos_list *list, int type, GEOSGeometry **out)
{
    /* GEOS (3.8 and later) takes the geometries, not the array, at once and
     * frees them itself if it fails: they are not ours after this call. */
    *out = GEOSGeom_createCollection_r(ctx->geos, type, list->items, (unsigned)list->count);
    list->count = 0;
    if (*out == NULL)
        return pdb__fail(ctx, PDB_EGEOM, "GEOS cannot build a collection: %s", pdb__geos_said(ctx));
    return PDB_OK;
}

/* Collects clones of the non-empty polygons of g, into any depth of
 * collections: MakeValid adds the lines and points that a spike or a
 * collapsed ring leaves, and only the area is a parcel. */
static pdb_status collect_polygons(pdb_ctx *ctx, const GEOSGeometry *g, pdb__geos_list *out)
{
    GEOSContextHandle_t h = ctx->geos;
    int type = GEOSGeomTypeId_r(h, g);
    int empty;
    pdb_status st;

    if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
        int n = GEOSGetNumGeometries_r(h, g);
        if (n < 0)
            return pdb__fail(ctx, PDB_EGEOM, "GEOS cannot list the parts: %s", pdb__geos_said(ctx));
        for (int i = 0; i < n; i++) {
            const GEOSGeometry *part = GEOSGetGeometryN_r(h, g, i);
            if (part == NULL)
                return pdb__fail(ctx, PDB_EGEOM, "GEOS lost part %d: %s", i, pdb__geos_said(ctx));
            if ((st = collect_polygons(ctx, part, out)) != PDB_OK)
                return st;
        }
        return PDB_OK;
    }
    if (type != GEOS_POLYGON)
        return PDB_OK;
    if ((st = geos_bool(ctx, GEOSisEmpty_r(h, g), "isEmpty", &empty)) != PDB_OK || empty)
        return st;
    GEOSGeometry *copy = GEOSGeom_clone_r(h, g);
    if (copy == NULL)
        return pdb__fail(ctx, PDB_EGEOM, "GEOS cannot copy a polygon: %s", pdb__geos_said(ctx));
    return pdb__geos_list_push(ctx, out, copy);
}

pdb_status pdb__geos_polygonal_part(pdb_ctx *ctx, const GEOSGeometry *g, GEOSGeometry **out)
{
    pdb__geos_list list = {0};
    pdb_status st;

    *out = NULL;
    if ((st = collect_polygons(ctx, g, &list)) == PDB_OK && list.count > 0)
        st = pdb__geos_list_collect(ctx, &list, GEOS_MULTIPOLYGON, out);
    pdb__geos_list_clear(ctx, &list);
    return st;
}

/* g as 2D, little-endian, ISO WKB in memory the caller frees with pdb_free
 * (GEOS's own buffer must go back to GEOSFree_r, hence the copy). */
static pdb_status write_wkb(pdb_ctx *ctx, const GEOSGeometry *g, unsigned char **out, size_t *len)
{
    GEOSContextHandle_t h = ctx->geos;
    GEOSWKBWriter *writer = GEOSWKBWriter_create_r(h);
    unsigned char *buf = NULL;
    unsigned char *copy = NULL;
    size_t n = 0;
    pdb_status st = PDB_OK;

    if (writer == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "GEOS cannot create a WKB writer");
    GEOSWKBWriter_setOutputDimension_r(h, writer, 2);
    GEOSWKBWriter_setByteOrder_r(h, writer, GEOS_WKB_NDR);
    GEOSWKBWriter_setFlavor_r(h, writer, GEOS_WKB_ISO);
    GEOSWKBWriter_setIncludeSRID_r(h, writer, 0);
    if ((buf = GEOSWKBWriter_write_r(h, writer, g, &n)) == NULL) {
        st = pdb__fail(ctx, PDB_EGEOM, "GEOS cannot write WKB: %s", pdb__geos_said(ctx));
        goto done;
    }
    if ((copy = malloc(n)) == NULL) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        goto done;
    }
    memcpy(copy, buf, n);
    *out = copy;
    *len = n;
done:
    GEOSFree_r(h, buf);
    GEOSWKBWriter_destroy_r(h, writer);
    return st;
}

/* GEOS's reason and location ("Self-intersection at (5.000, 5.000)"). */
static void describe_invalidity(pdb_ctx *ctx, const char *reason, const GEOSGeometry *location,
                                char *out, size_t cap)
{
    double x, y;

    if (location != NULL && GEOSGeomGetX_r(ctx->geos, location, &x) == 1 &&
        GEOSGeomGetY_r(ctx->geos, location, &y) == 1)
        snprintf(out, cap, "%s at (%.3f, %.3f)", reason ? reason : "invalid", x, y);
    else
        snprintf(out, cap, "%s", reason ? reason : "invalid");
}

/* MakeValid's polygonal result for g, or *out NULL when there is none.
 * The structure method, because parcels are areas: it unions shells and
 * subtracts holes, where the linework method would turn an overlap into a
 * hole; a failure to repair is an answer, not an error of the call. */
static pdb_status make_valid(pdb_ctx *ctx, const GEOSGeometry *g, GEOSGeometry **out)
{
    GEOSContextHandle_t h = ctx->geos;
    GEOSMakeValidParams *params = GEOSMakeValidParams_create_r(h);
    GEOSGeometry *made = NULL;
    pdb_status st = PDB_OK;

    *out = NULL;
    if (params == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "GEOS cannot create MakeValid parameters");
    GEOSMakeValidParams_setMethod_r(h, params, GEOS_MAKE_VALID_STRUCTURE);
    GEOSMakeValidParams_setKeepCollapsed_r(h, params, 0);
    made = GEOSMakeValidWithParams_r(h, g, params);
    if (made != NULL)
        st = pdb__geos_polygonal_part(ctx, made, out);
    GEOSGeom_destroy_r(h, made);
    GEOSMakeValidParams_destroy_r(h, params);
    return st;
}

pdb_status pdb_geom_check_wkb(pdb_ctx *ctx, const unsigned char *wkb, size_t len,
                              double max_area_change, pdb_geom_check *check,
                              unsigned char **repaired_wkb, size_t *repaired_len)
{
    GEOSContextHandle_t h = ctx->geos;
    GEOSWKBReader *reader = NULL;
    GEOSGeometry *geom = NULL, *repaired = NULL, *location = NULL;
    char *reason = NULL;
    pdb_status st = PDB_OK;
    int type, empty, valid;
    double change;

    memset(check, 0, sizeof *check);
    if (repaired_wkb != NULL)
        *repaired_wkb = NULL;
    if (repaired_len != NULL)
        *repaired_len = 0;
    if (!(max_area_change >= 0.0))
        return pdb__fail(ctx, PDB_EINVAL, "max_area_change %g is not a fraction >= 0",
                         max_area_change);
    if (wkb == NULL || len == 0)
        return pdb__fail(ctx, PDB_EGEOM, "no geometry (0 bytes of WKB)");
    /* Most parcels are one ring of a few points that geom_simple.c
     * certifies without GEOS; anything else (or a parse failure, whose
     * message GEOS's reader gives below) takes the full path. */
    pdb__mpoly simple = {0};
    if (pdb__wkb_parse(ctx, wkb, len, &simple) == PDB_OK && pdb__mpoly_certainly_valid(&simple)) {
        check->area_m2 = check->repaired_area_m2 = pdb__mpoly_area(&simple);
        check->valid = 1;
        pdb__mpoly_free(&simple);
        return pdb__ok(ctx);
    }
    pdb__mpoly_free(&simple);
    ctx->geos_msg[0] = '\0';
    if ((reader = GEOSWKBReader_create_r(h)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "GEOS cannot create a WKB reader");
    if ((geom = GEOSWKBReader_read_r(h, reader, wkb, len)) == NULL) {
        st = pdb__fail(ctx, PDB_EGEOM, "WKB does not parse (%zu bytes): %s", len,
                       pdb__geos_said(ctx));
        goto done;
    }
    type = GEOSGeomTypeId_r(h, geom);
    if (type != GEOS_POLYGON && type != GEOS_MULTIPOLYGON) {
        st = pdb__fail(ctx, PDB_EGEOM, "a %s is not a parcel: only Polygon and MultiPolygon are",
                       type >= 0 && (size_t)type < PDB_COUNTOF(type_names) ? type_names[type]
                                                                           : "geometry");
        goto done;
    }
    if ((st = geos_bool(ctx, GEOSisEmpty_r(h, geom), "isEmpty", &empty)) != PDB_OK)
        goto done;
    if (empty) {
        st = pdb__fail(ctx, PDB_EGEOM, "an empty %s is not a parcel", type_names[type]);
        goto done;
    }
    /* Before validation, whose cost grows faster than the vertex count. */
    if ((st = check_limits(ctx, geom, type)) != PDB_OK)
        goto done;
    if ((st = geos_area(ctx, geom, &check->area_m2)) != PDB_OK)
        goto done;
    /* WKB carries NaN and infinity as well as numbers; no parcel has them. */
    if (!isfinite(check->area_m2)) {
        st = pdb__fail(ctx, PDB_EGEOM, "a coordinate is not a finite number (NaN or infinite)");
        goto done;
    }
    if ((st = geos_bool(ctx, GEOSisValidDetail_r(h, geom, 0, &reason, &location), "isValid",
                        &valid)) != PDB_OK)
        goto done;
    if (valid) {
        check->valid = 1;
        check->repaired_area_m2 = check->area_m2; /* nothing to repair, nothing changed */
        goto done;
    }
    describe_invalidity(ctx, reason, location, check->reason, sizeof check->reason);
    if ((st = make_valid(ctx, geom, &repaired)) != PDB_OK || repaired == NULL)
        goto done; /* no area left: not repairable (check->repaired stays 0) */
    /* The repaired area is reported even when the repair is refused, so
     * that the importer can say by how much it would have changed. */
    if ((st = geos_area(ctx, repaired, &check->repaired_area_m2)) != PDB_OK ||
        (st = geos_bool(ctx, GEOSisValid_r(h, repaired), "isValid", &valid)) != PDB_OK)
        goto done;
    /* A bowtie's signed halves cancel: area 0, and any repair is infinitely
     * far from it, so it is refused, as it must be. */
    change = fabs(check->repaired_area_m2 - check->area_m2) / check->area_m2;
    if (!valid || !(check->area_m2 > 0.0) || !isfinite(change) || change > max_area_change)
        goto done;
    if (repaired_wkb != NULL && repaired_len != NULL &&
        (st = write_wkb(ctx, repaired, repaired_wkb, repaired_len)) != PDB_OK)
        goto done;
    check->repaired = 1;
done:
    if (st == PDB_OK)
        pdb__ok(ctx);
    GEOSFree_r(h, reason);
    GEOSGeom_destroy_r(h, location);
    GEOSGeom_destroy_r(h, repaired);
    GEOSGeom_destroy_r(h, geom);
    GEOSWKBReader_destroy_r(h, reader);
    return st;
}

/* ------------------------------------------------------------------------ */
/* pdb__mpoly <-> GEOS                                                       */
/* ------------------------------------------------------------------------ */

static GEOSGeometry *ring_to_geos(GEOSContextHandle_t h, const pdb__mpoly *mp, size_t r)
{
    size_t i0 = mp->ring_point[r], n = mp->ring_point[r + 1] - i0;
    if (n < 4)
        return NULL;
    GEOSCoordSequence *seq = GEOSCoordSeq_copyFromBuffer_r(h, mp->xy + 2 * i0, (unsigned)n, 0, 0);
    return seq ? GEOSGeom_createLinearRing_r(h, seq) : NULL;
}

pdb_status pdb__mpoly_to_geos_polys(pdb_ctx *ctx, const pdb__mpoly *mp, pdb__geos_list *list)
{
    GEOSContextHandle_t h = ctx->geos;
    for (size_t k = 0; k < mp->nparts; k++) {
        size_t r0 = mp->part_ring[k], r1 = mp->part_ring[k + 1];
        GEOSGeometry *shell = ring_to_geos(h, mp, r0);
        if (shell == NULL)
            continue;
        GEOSGeometry **holes = NULL;
        unsigned nholes = 0;
        if (r1 - r0 > 1 && (holes = malloc((r1 - r0 - 1) * sizeof *holes)) == NULL) {
            GEOSGeom_destroy_r(h, shell);
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        }
        for (size_t r = r0 + 1; r < r1; r++) {
            GEOSGeometry *hole = ring_to_geos(h, mp, r);
            if (hole != NULL)
                holes[nholes++] = hole;
        }
        GEOSGeometry *poly = GEOSGeom_createPolygon_r(h, shell, holes, nholes);
        free(holes);
        if (poly == NULL)
            return pdb__fail(ctx, PDB_EGEOM, "GEOS cannot build a polygon: %s",
                             pdb__geos_said(ctx));
        pdb_status st = pdb__geos_list_push(ctx, list, poly);
        if (st != PDB_OK)
            return st;
    }
    return PDB_OK;
}

/* Appends one GEOS ring; a ring that collapsed below 4 points is skipped. */
static pdb_status ring_from_geos(pdb_ctx *ctx, const GEOSGeometry *ring, pdb__mpoly_builder *b)
{
    GEOSContextHandle_t h = ctx->geos;
    const GEOSCoordSequence *seq = ring ? GEOSGeom_getCoordSeq_r(h, ring) : NULL;
    unsigned n = 0;
    double *xy;
    if (seq == NULL || !GEOSCoordSeq_getSize_r(h, seq, &n))
        return pdb__fail(ctx, PDB_EGEOM, "GEOS cannot read a ring: %s", pdb__geos_said(ctx));
    if (n < 4)
        return PDB_OK;
    if ((xy = pdb__mpb_add_ring(b, n)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    if (!GEOSCoordSeq_copyToBuffer_r(h, seq, xy, 0, 0))
        return pdb__fail(ctx, PDB_EGEOM, "GEOS cannot copy a ring: %s", pdb__geos_said(ctx));
    return PDB_OK;
}

pdb_status pdb__mpoly_from_geos(pdb_ctx *ctx, const GEOSGeometry *g, double min_area2,
                                pdb__mpoly_builder *b)
{
    GEOSContextHandle_t h = ctx->geos;
    int type = GEOSGeomTypeId_r(h, g);
    pdb_status st;
    if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
        int n = GEOSGetNumGeometries_r(h, g);
        for (int i = 0; i < n; i++)
            if ((st = pdb__mpoly_from_geos(ctx, GEOSGetGeometryN_r(h, g, i), min_area2, b)) !=
                PDB_OK)
                return st;
        return PDB_OK;
    }
    if (type != GEOS_POLYGON || GEOSisEmpty_r(h, g) == 1)
        return PDB_OK;
    size_t rings_before = b->mp.nrings;
    if (pdb__mpb_open_part(b) != 0)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    if ((st = ring_from_geos(ctx, GEOSGetExteriorRing_r(h, g), b)) != PDB_OK)
        return st;
    if (b->mp.nrings == rings_before)
        return PDB_OK; /* a collapsed shell: nothing to draw */
    if (fabs(pdb__mpoly_ring_area2(&b->mp, rings_before)) < min_area2) {
        pdb__mpb_drop_rings(b, rings_before); /* smaller than asked for */
        return PDB_OK;
    }
    int nh = GEOSGetNumInteriorRings_r(h, g);
    for (int i = 0; i < nh; i++)
        if ((st = ring_from_geos(ctx, GEOSGetInteriorRingN_r(h, g, i), b)) != PDB_OK)
            return st;
    pdb__mpb_close_part(b);
    return PDB_OK;
}

pdb_status pdb__mpoly_make_valid(pdb_ctx *ctx, pdb__mpoly *mp, int *repaired)
{
    GEOSContextHandle_t h = ctx->geos;
    pdb__geos_list list = {0};
    GEOSGeometry *g = NULL, *fixed = NULL;
    pdb__mpoly_builder b = {0};
    pdb_status st;
    int valid = 0;

    *repaired = 0;
    if (pdb__mpoly_certainly_valid(mp))
        return pdb__ok(ctx); /* geom_simple.c: valid, without GEOS */
    ctx->geos_msg[0] = '\0';
    if ((st = pdb__mpoly_to_geos_polys(ctx, mp, &list)) != PDB_OK ||
        (st = pdb__geos_list_collect(ctx, &list, GEOS_MULTIPOLYGON, &g)) != PDB_OK ||
        (st = geos_bool(ctx, GEOSisValid_r(h, g), "isValid", &valid)) != PDB_OK || valid)
        goto done;
    if ((st = make_valid(ctx, g, &fixed)) != PDB_OK)
        goto done;
    if (fixed == NULL) {
        st = pdb__fail(ctx, PDB_EGEOM, "the geometry has no area left once repaired");
        goto done;
    }
    if ((st = pdb__mpoly_from_geos(ctx, fixed, 0.0, &b)) != PDB_OK)
        goto done;
    if (b.mp.nparts == 0) {
        st = pdb__fail(ctx, PDB_EGEOM, "the geometry has no area left once repaired");
        goto done;
    }
    pdb__mpoly_free(mp);
    *mp = b.mp;
    memset(&b, 0, sizeof b);
    *repaired = 1;
done:
    pdb__mpoly_free(&b.mp);
    pdb__geos_list_clear(ctx, &list);
    GEOSGeom_destroy_r(h, fixed);
    GEOSGeom_destroy_r(h, g);
    return st;
}
