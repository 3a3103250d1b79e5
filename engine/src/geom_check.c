/*
 * geom_check.c: validation and repair of survey polygons with GEOS, for
 * importers. Parses ISO WKB, applies the context's limits before any costly
 * step, validates, and repairs with MakeValid, but accepts a repair only
 * when it keeps the parcel's area: a surveyed parcel is legal evidence, and
 * a repair that moves its boundary must go to the quarantine instead.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GEOS type ids 0..7, for messages. */
static const char *const type_names[] = {
    "Point",      "LineString",      "LinearRing",   "Polygon",
    "MultiPoint", "MultiLineString", "MultiPolygon", "GeometryCollection",
};

/* What GEOS said last, for a message: the error handler keeps it in ctx. */
static const char *geos_said(const pdb_ctx *ctx)
{
    return ctx->geos_msg[0] != '\0' ? ctx->geos_msg : "no detail";
}

/* GEOS predicates answer 0, 1, or 2 for an exception; this is the one place
 * that maps the 2, so that no caller mistakes it for "true". */
static pdb_status geos_bool(pdb_ctx *ctx, char answer, const char *what, int *out)
{
    *out = 0; /* defined on every path, for callers and for -Wmaybe-uninitialized */
    if (answer != 0 && answer != 1)
        return pdb__fail(ctx, PDB_EGEOM, "GEOS failed in %s: %s", what, geos_said(ctx));
    *out = answer;
    return PDB_OK;
}

/* GEOSArea_r returns 0 on an exception, and its area otherwise. */
static pdb_status geos_area(pdb_ctx *ctx, const GEOSGeometry *g, double *area)
{
    if (GEOSArea_r(ctx->geos, g, area) == 0)
        return pdb__fail(ctx, PDB_EGEOM, "GEOS failed in area: %s", geos_said(ctx));
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
        return pdb__fail(ctx, PDB_EGEOM, "GEOS cannot count the parts: %s", geos_said(ctx));
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
            return pdb__fail(ctx, PDB_EGEOM, "GEOS cannot count the rings: %s", geos_said(ctx));
        rings += 1 + (size_t)holes;
    }
    if (rings > lim->max_rings_per_parcel)
        return pdb__fail(ctx, PDB_ELIMIT, "%zu rings, over the limit of %zu per parcel", rings,
                         lim->max_rings_per_parcel);
    return PDB_OK;
}

/* A growable list of polygons (owned until handed to a collection). */
struct poly_list {
    GEOSGeometry **items; /* cloned polygons */
    size_t count;         /* used */
    size_t cap;           /* allocated */
};

/* Collects clones of the non-empty polygons of g, into any depth of
 * collections: MakeValid adds the lines and points that a spike or a
 * collapsed ring leaves, and only the area is a parcel. */
static pdb_status collect_polygons(pdb_ctx *ctx, const GEOSGeometry *g, struct poly_list *out)
{
    GEOSContextHandle_t h = ctx->geos;
    int type = GEOSGeomTypeId_r(h, g);
    int empty;
    pdb_status st;

    if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
        int n = GEOSGetNumGeometries_r(h, g);
        if (n < 0)
            return pdb__fail(ctx, PDB_EGEOM, "GEOS cannot list the parts: %s", geos_said(ctx));
        for (int i = 0; i < n; i++) {
            const GEOSGeometry *part = GEOSGetGeometryN_r(h, g, i);
            if (part == NULL)
                return pdb__fail(ctx, PDB_EGEOM, "GEOS lost part %d: %s", i, geos_said(ctx));
            if ((st = collect_polygons(ctx, part, out)) != PDB_OK)
                return st;
        }
        return PDB_OK;
    }
    if (type != GEOS_POLYGON)
        return PDB_OK;
    if ((st = geos_bool(ctx, GEOSisEmpty_r(h, g), "isEmpty", &empty)) != PDB_OK || empty)
        return st;
    if (out->count == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 4;
        GEOSGeometry **items = realloc(out->items, cap * sizeof *items);
        if (items == NULL)
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        out->items = items;
        out->cap = cap;
    }
    if ((out->items[out->count] = GEOSGeom_clone_r(h, g)) == NULL)
        return pdb__fail(ctx, PDB_EGEOM, "GEOS cannot copy a polygon: %s", geos_said(ctx));
    out->count++;
    return PDB_OK;
}

/* The polygonal part of g as a new MULTIPOLYGON, or *out NULL when g has
 * no area at all. */
static pdb_status polygonal_part(pdb_ctx *ctx, const GEOSGeometry *g, GEOSGeometry **out)
{
    struct poly_list list = {NULL, 0, 0};
    pdb_status st;

    *out = NULL;
    if ((st = collect_polygons(ctx, g, &list)) != PDB_OK || list.count == 0)
        goto done;
    /* GEOS (3.8 and later) takes the polygons, not the array, at once and
     * frees them itself if it fails: they are not ours after this call. */
    *out =
        GEOSGeom_createCollection_r(ctx->geos, GEOS_MULTIPOLYGON, list.items, (unsigned)list.count);
    list.count = 0;
    if (*out == NULL)
        st = pdb__fail(ctx, PDB_EGEOM, "GEOS cannot build a MultiPolygon: %s", geos_said(ctx));
done:
    for (size_t i = 0; i < list.count; i++)
        GEOSGeom_destroy_r(ctx->geos, list.items[i]);
    free(list.items);
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
        st = pdb__fail(ctx, PDB_EGEOM, "GEOS cannot write WKB: %s", geos_said(ctx));
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
        st = polygonal_part(ctx, made, out);
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
    ctx->geos_msg[0] = '\0';
    if ((reader = GEOSWKBReader_create_r(h)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "GEOS cannot create a WKB reader");
    if ((geom = GEOSWKBReader_read_r(h, reader, wkb, len)) == NULL) {
        st = pdb__fail(ctx, PDB_EGEOM, "WKB does not parse (%zu bytes): %s", len, geos_said(ctx));
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
