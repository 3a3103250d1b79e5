/*
 * wkb.h: polygon geometry in the forms the engine meets: ISO WKB from
 * importers (untrusted: parsed with limits), SpatiaLite BLOBs in the store,
 * and a compact in-memory multipolygon for transforming, measuring and
 * point-in-polygon tests. GEOS is not needed for any of these; it is used
 * for validation and repair only (geom_check.c).
 */
#ifndef PDB_WKB_H
#define PDB_WKB_H

#include "internal.h"

/* A multipolygon as flat arrays: the public pdb_polygons (parceldb.h
 * describes the layout), so that pdb_wkb_to_polygons hands the parser's
 * result over as it is. Rings are closed (first == last point). */
typedef pdb_polygons pdb__mpoly;

/* A pdb__mpoly while it grows: the parsers and the GEOS conversion build
 * with it. Open a part, add its rings (the first is its exterior), close
 * it; on failure free b->mp with pdb__mpoly_free. */
typedef struct pdb__mpoly_builder {
    pdb__mpoly mp;     /* what is built */
    size_t cap_parts;  /* capacity of part_ring, minus the sentinel */
    size_t cap_rings;  /* capacity of ring_point, minus the sentinel */
    size_t cap_points; /* capacity of xy, in points */
} pdb__mpoly_builder;

/* Starts a part; -1 when out of memory. */
int pdb__mpb_open_part(pdb__mpoly_builder *b);

/* Adds a ring of n points to the open part and returns where its 2 * n
 * coordinates go (the caller fills them), or NULL when out of memory. */
double *pdb__mpb_add_ring(pdb__mpoly_builder *b, size_t n);

/* Drops the rings from `rings` on (a ring or part found too small). */
void pdb__mpb_drop_rings(pdb__mpoly_builder *b, size_t rings);

/* Ends the open part (the rings added since pdb__mpb_open_part). */
void pdb__mpb_close_part(pdb__mpoly_builder *b);

/* Twice the signed area of ring r (positive when counter-clockwise). */
double pdb__mpoly_ring_area2(const pdb__mpoly *mp, size_t r);

/* Parses an ISO (or EWKB-flagged) WKB POLYGON or MULTIPOLYGON of any
 * dimension (Z and M are dropped), either byte order, enforcing the
 * context's vertex, ring and part limits. PDB_EGEOM for anything else. */
pdb_status pdb__wkb_parse(pdb_ctx *ctx, const unsigned char *wkb, size_t len, pdb__mpoly *out);

/* Lifts the context's limits on outside geometry and returns them, for the
 * caller to put back: what is read back from a store is the store's own. */
pdb_limits pdb__limits_lift(pdb_ctx *ctx);

/* pdb__wkb_parse of a geometry the store keeps (a parcel's source_geom),
 * without the limits on outside input: it passed them when imported, and
 * a reader must not refuse it because a server runs with lower ones. */
pdb_status pdb__wkb_parse_stored(pdb_ctx *ctx, const unsigned char *wkb, size_t len,
                                 pdb__mpoly *out);

/* Frees the arrays (not the struct); accepts a zeroed struct. */
void pdb__mpoly_free(pdb__mpoly *mp);

/* Writes a 2D little-endian ISO MULTIPOLYGON WKB (caller frees). */
pdb_status pdb__mpoly_to_wkb(pdb_ctx *ctx, const pdb__mpoly *mp, unsigned char **out, size_t *len);

/* Writes a SpatiaLite geometry BLOB (MULTIPOLYGON XY) with the given SRID. */
pdb_status pdb__mpoly_to_blob(pdb_ctx *ctx, const pdb__mpoly *mp, int srid, unsigned char **out,
                              size_t *len);

/* Parses a SpatiaLite MULTIPOLYGON/POLYGON XY BLOB as the store writes it. */
pdb_status pdb__blob_parse(pdb_ctx *ctx, const unsigned char *blob, size_t len, pdb__mpoly *out);

/* pdb__blob_parse into b->mp, reusing b's arrays (grown as needed) from
 * one call to the next: a reader of many rows allocates once, not per
 * row. On failure b->mp is empty but keeps its arrays; the caller frees
 * them once with pdb__mpoly_free(&b->mp). */
pdb_status pdb__blob_parse_into(pdb_ctx *ctx, const unsigned char *blob, size_t len,
                                pdb__mpoly_builder *b);

/* Planar area: exterior rings minus holes, in squared source units. */
double pdb__mpoly_area(const pdb__mpoly *mp);

/* min x, min y, max x, max y over all points. */
void pdb__mpoly_bbox(const pdb__mpoly *mp, double bbox[4]);

/* Orients rings as RFC 7946 wants: exteriors counter-clockwise, holes
 * clockwise (the first ring of each part is its exterior). */
void pdb__mpoly_orient_rfc7946(pdb__mpoly *mp);

/* The box a SpatiaLite BLOB records in its header (min x, min y, max x,
 * max y): the one pdb__blob_contains tests first. PDB_EGEOM when the BLOB
 * is not a polygon BLOB. */
pdb_status pdb__blob_mbr(pdb_ctx *ctx, const unsigned char *blob, size_t len, double mbr[4]);

/* Point in multipolygon straight from a SpatiaLite BLOB, without
 * allocating: the crossing-number rule with half-open edges, so that a
 * point on an edge shared by two parcels of a partition falls in exactly
 * one of them (the one to its east; on an east-west edge, the one to its
 * north). *inside is 1 or 0. PDB_EGEOM for a malformed BLOB. */
pdb_status pdb__blob_contains(pdb_ctx *ctx, const unsigned char *blob, size_t len, double x,
                              double y, int *inside);

/* Whether a SpatiaLite BLOB's polygon intersects a box (edges, or the box
 * inside the polygon, or the polygon inside the box). */
pdb_status pdb__blob_intersects_box(pdb_ctx *ctx, const unsigned char *blob, size_t len,
                                    const double box[4], int *hit);

#endif
