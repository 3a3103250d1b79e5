/*
 * geom.h: the engine's one door to GEOS (geom_check.c): the compact
 * pdb__mpoly to GEOS and back, validation and repair. The writer validates
 * every parcel again once it is in WGS 84 (a polygon valid in its TM-3
 * metres can self-intersect after reprojection: PITFALLS.md), and the
 * overviews dissolve and simplify through it.
 */
#ifndef PDB_GEOM_H
#define PDB_GEOM_H

#include "wkb.h"

/* What GEOS said last (its error handler keeps it in ctx), for messages. */
const char *pdb__geos_said(const pdb_ctx *ctx);

/* A growable list of owned GEOS geometries, until handed to a collection. */
typedef struct pdb__geos_list {
    GEOSGeometry **items; /* owned geometries */
    size_t count;         /* used */
    size_t cap;           /* allocated */
} pdb__geos_list;

/* Appends g (taking it; it is destroyed on failure). */
pdb_status pdb__geos_list_push(pdb_ctx *ctx, pdb__geos_list *list, GEOSGeometry *g);

/* Destroys what the list still owns and frees it; accepts a zeroed list. */
void pdb__geos_list_clear(pdb_ctx *ctx, pdb__geos_list *list);

/* Hands the list's geometries to a new collection of the given GEOS type
 * (GEOS_MULTIPOLYGON or GEOS_GEOMETRYCOLLECTION); the list is empty
 * afterwards, whether or not GEOS managed (it frees them if it fails). */
pdb_status pdb__geos_list_collect(pdb_ctx *ctx, pdb__geos_list *list, int type, GEOSGeometry **out);

/* The polygonal part of g (any depth of collections; lines, points and
 * empty polygons dropped) as a new MULTIPOLYGON, or *out NULL when g has
 * no area at all (a MakeValid or intersection result, say). */
pdb_status pdb__geos_polygonal_part(pdb_ctx *ctx, const GEOSGeometry *g, GEOSGeometry **out);

/* Appends the polygons of mp to list. Rings of fewer than 4 points are
 * skipped (an overview must never fail over one odd parcel). */
pdb_status pdb__mpoly_to_geos_polys(pdb_ctx *ctx, const pdb__mpoly *mp, pdb__geos_list *list);

/* Appends to b every polygon of g (any polygonal or mixed geometry, at any
 * depth of collections) whose exterior ring encloses at least min_area2
 * (twice the area, in squared units); lines and points are ignored. */
pdb_status pdb__mpoly_from_geos(pdb_ctx *ctx, const GEOSGeometry *g, double min_area2,
                                pdb__mpoly_builder *b);

/* Validates mp with GEOS; when it is invalid, replaces it with the
 * polygonal part of GEOSMakeValid's result and sets *repaired to 1.
 * PDB_EGEOM when GEOS fails or nothing polygonal is left (mp unchanged). */
pdb_status pdb__mpoly_make_valid(pdb_ctx *ctx, pdb__mpoly *mp, int *repaired);

/* geom_simple.c: 1 when mp is certainly valid by OGC's rules without
 * asking GEOS (one polygon of one ring, of at most 128 edges, that floating
 * point shows closed, finite and free of self-intersection and
 * self-touching); 0 when GEOS must decide. Never 1 for an invalid mp. */
int pdb__mpoly_certainly_valid(const pdb__mpoly *mp);

/* geom_union.c: the union of a coverage (polygons that share their edges
 * exactly and do not overlap, such as a survey's parcels) appended to out,
 * one part per shell with its holes, in linear-logarithmic time without
 * GEOS. PDB_EGEOM when mp is not such a coverage (overlaps, duplicates,
 * edges that do not link up); the caller then uses a robust union, and
 * validates the result either way (edges that touch without sharing their
 * ends pass here). */
pdb_status pdb__coverage_union(pdb_ctx *ctx, const pdb__mpoly *mp, pdb__mpoly_builder *out);

#endif
