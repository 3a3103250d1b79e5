/*
 * mvt.h: the Mapbox Vector Tile 2.1 encoder (mvt.c): layers of features
 * whose geometry is already in integer tile coordinates in, the tile's
 * protobuf bytes out. Private to the tiler; mvt_tile.c feeds it from the
 * store. No I/O, no store, no GEOS: a pure function, tested on its own.
 */
#ifndef PDB_TILER_MVT_H
#define PDB_TILER_MVT_H

#include "ctx.h"

#include <stddef.h>
#include <stdint.h>

/* MVT's geometry types (vector_tile.proto's GeomType). */
typedef enum pdbt_mvt_geom {
    PDBT_MVT_POINT = 1,  /* one or more points (MoveTo only) */
    PDBT_MVT_POLYGON = 3 /* rings: each exterior followed by its holes */
} pdbt_mvt_geom;

/* The value types written (vector_tile.proto's Value has seven; these are
 * the ones a parcel needs). */
typedef enum pdbt_mvt_vtype {
    PDBT_MVT_STRING, /* string_value */
    PDBT_MVT_UINT,   /* uint_value */
    PDBT_MVT_DOUBLE  /* double_value */
} pdbt_mvt_vtype;

/* One property of a feature. */
typedef struct pdbt_mvt_prop {
    const char *key;     /* the layer's key (borrowed) */
    pdbt_mvt_vtype type; /* which of the next three holds the value */
    const char *s;       /* PDBT_MVT_STRING: UTF-8, borrowed */
    uint64_t u;          /* PDBT_MVT_UINT */
    double d;            /* PDBT_MVT_DOUBLE */
} pdbt_mvt_prop;

/* One feature. Polygon rings are open (no closing point), free of repeated
 * points and of zero area, exteriors of positive signed area in tile
 * coordinates (y down: clockwise on screen) and holes negative, each
 * exterior followed by its holes: what pdbt__mvt_clean_polygon makes. */
typedef struct pdbt_mvt_feature {
    uint64_t id;                /* Feature.id; written when has_id */
    int has_id;                 /* 1 to write id */
    pdbt_mvt_geom type;         /* point or polygon */
    const int32_t *xy;          /* x y pairs, tile units (borrowed) */
    const uint32_t *ring_n;     /* points per ring (one entry of all points for a
                                   multipoint) (borrowed) */
    size_t nrings;              /* entries of ring_n */
    const pdbt_mvt_prop *props; /* properties (borrowed) */
    size_t nprops;              /* entries of props */
} pdbt_mvt_feature;

/* One layer. */
typedef struct pdbt_mvt_layer {
    const char *name;              /* Layer.name */
    uint32_t extent;               /* tile units on a side (4096) */
    const pdbt_mvt_feature *feats; /* features (borrowed) */
    size_t nfeats;                 /* entries of feats */
} pdbt_mvt_layer;

/* Encodes layers into one tile: keys and values deduplicated per layer,
 * empty layers left out (so a tile with nothing is 0 bytes). *out is
 * caller-owned (free()), never NULL on success. PDB_ENOMEM, or PDB_EINVAL
 * for a feature the format cannot hold (a polygon ring of fewer than 3
 * points, a point feature of no point), with the message on ctx. */
pdb_status pdbt__mvt_encode(pdbt_ctx *ctx, const pdbt_mvt_layer *layers, size_t nlayers,
                            unsigned char **out, size_t *len);

/* An upper bound on the bytes a feature adds to its layer (its values
 * counted as if no other feature shared them): what thinning sums. */
size_t pdbt__mvt_feature_bound(const pdbt_mvt_feature *f);

/* Cleans one polygon's rings in place, after quantization: drops repeated
 * consecutive points (and a closing point equal to the first), rings left
 * with fewer than 3 points or zero area, and holes whose exterior was
 * dropped; reverses rings whose winding is wrong. exterior[i] says what
 * ring i is on entry (1 exterior, 0 hole). xy holds the rings' points one
 * after another, ring_n their counts; *nrings is updated, and the number
 * of points kept is returned. */
size_t pdbt__mvt_clean_polygon(int32_t *xy, uint32_t *ring_n, uint8_t *exterior, size_t *nrings);

/* Whether a cleaned polygon (as pdbt__mvt_clean_polygon leaves it: each
 * exterior followed by its holes) is valid as OGC has it, proven on the
 * integers without GEOS (mvt_valid.c): 1 valid; 2 valid if the parts
 * marked in suspect (a byte per ring, every ring of such a part 1) are
 * valid taken together, which GEOS then decides (their rings meet, as
 * touching land-use parts do); 0 when it cannot tell (GEOS decides on
 * the whole) or is out of memory. It never says valid of an invalid
 * shape. scratch holds its buffers between calls (one per thread). */
/* 1 when one cleaned open ring of at most 64 points is simple (no two
 * edges meet but neighbours, no spike): GEOSisValid's answer for a
 * one-ring polygon, without building anything; 0 for a longer ring or
 * when it is not (mvt_valid.c). */
int pdbt__mvt_simple_ring(const int32_t *p, uint32_t n);

typedef struct pdbt_mvt_valid_scratch {
    void *edges, *sorted; /* the edges, and sorted by x */
    size_t capedges, capsorted;
    const int32_t **start; /* each ring's first point */
    size_t capstart;
    uint32_t *count; /* the counting sort's counts */
    size_t capcount;
    int32_t (*box)[4]; /* each ring's box */
    size_t capbox;
    uint32_t *members; /* the grid's cells: edge indices, cell by cell */
    size_t capmembers;
    void *order; /* the exteriors by the left of their boxes */
    size_t caporder;
} pdbt_mvt_valid_scratch; /* buffers kept between calls; zero to start */
int pdbt__mvt_certainly_valid(const int32_t *xy, const uint32_t *ring_n, const uint8_t *exterior,
                              size_t nrings, uint8_t *suspect, pdbt_mvt_valid_scratch *scratch);
void pdbt__mvt_valid_scratch_free(pdbt_mvt_valid_scratch *scratch);

#endif
