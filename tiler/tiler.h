/*
 * tiler.h: the renderer of PNG map tiles (libpdb_tiler): tile arithmetic,
 * styles, rendering and PNG encoding. What the CLI and the HTTP server
 * use; it reads the store only through parceldb.h and knows nothing of
 * GDAL, sockets or files other than the style it is asked to load.
 *
 * Conventions (the engine's, parceldb.h, under the renderer's prefix):
 *  - Every fallible call takes the thread's renderer context (pdbt_ctx)
 *    first and returns a pdb_status (PDB_OK = 0). On failure the context
 *    keeps the code and a one-line message, pdbt_errmsg(ctx), borrowed
 *    until the next call on ctx; after a call that succeeded pdbt_errcode
 *    is PDB_OK.
 *  - `T **out`: on success the caller owns *out and frees it with the
 *    matching pdbt_*_free (which accepts NULL), or free() where said; on
 *    failure *out is NULL. `const T *` results are borrowed.
 *  - The renderer never prints, never exits, never aborts.
 *
 * Threads: a pdbt_ctx belongs to one thread at a time, like the pdb_ctx it
 * is made on; so does a pdbt_renderer, like the pdb_store it reads. A
 * pdbt_style is immutable once loaded and may be shared by any number of
 * threads.
 */
#ifndef PDB_TILER_H
#define PDB_TILER_H

#include "parceldb.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* The context                                                               */
/* ------------------------------------------------------------------------ */

/* The renderer's context: one per thread, on the engine's context of the
 * same thread; it keeps the last call's status and message. */
typedef struct pdbt_ctx pdbt_ctx;

/* Creates a context on db (borrowed: it must outlive the new context). db
 * may be NULL for a context that renders no tile (styles, PNG encoding,
 * tile parsing). PDB_ENOMEM when out of memory; no message then. */
pdb_status pdbt_ctx_new(pdb_ctx *db, pdbt_ctx **out);
void pdbt_ctx_free(pdbt_ctx *ctx);

/* The last failure's message (borrowed until the next call on ctx; "no
 * error" after a call that succeeded), and the last call's status. */
const char *pdbt_errmsg(const pdbt_ctx *ctx);
pdb_status pdbt_errcode(const pdbt_ctx *ctx);

/* ------------------------------------------------------------------------ */
/* Tiles: EPSG:3857, OSM/XYZ scheme (y grows southwards)                     */
/* ------------------------------------------------------------------------ */

#define PDBT_TILE_SIZE 256                 /* pixels on a side at scale 1 */
#define PDBT_TILE_MAX_ZOOM 24              /* the deepest zoom any call accepts */
#define PDBT_MERC_MAX 20037508.342789244   /* half the world's width in metres */
#define PDBT_MERC_MAX_LAT 85.0511287798066 /* latitude of y = PDBT_MERC_MAX */

typedef struct pdbt_tile {
    int z;      /* zoom, 0 .. PDBT_TILE_MAX_ZOOM */
    uint32_t x; /* column, 0 .. 2^z - 1, from the antimeridian eastwards */
    uint32_t y; /* row, 0 .. 2^z - 1, from the north */
    int scale;  /* 1 for 256 px, 2 for 512 px ("@2x") */
} pdbt_tile;

/* Web Mercator metres from WGS 84 degrees; latitudes are clamped to
 * +-PDBT_MERC_MAX_LAT. */
double pdbt_merc_x(double lon_deg);
double pdbt_merc_y(double lat_deg);
/* And back. */
double pdbt_merc_lon(double x_m);
double pdbt_merc_lat(double y_m);

/* 1 when z/x/y names a tile of the scheme (z <= max_zoom). */
int pdbt_tile_valid(int z, uint32_t x, uint32_t y, int max_zoom);

/* The tile's bounds in Web Mercator metres: min x, min y, max x, max y. */
void pdbt_tile_bounds_merc(int z, uint32_t x, uint32_t y, double out[4]);

/* The tile's bounds in WGS 84 degrees: min lon, min lat, max lon, max lat. */
void pdbt_tile_bounds_lonlat(int z, uint32_t x, uint32_t y, double out[4]);

/* Metres per pixel at zoom z for a tile of PDBT_TILE_SIZE * scale pixels. */
double pdbt_tile_resolution(int z, int scale);

/* The tile holding a WGS 84 point at zoom z. */
void pdbt_tile_at(double lon_deg, double lat_deg, int z, uint32_t *x, uint32_t *y);

/* Parses "Z/X/Y", "Z/X/Y@2x" or "Z/X/Y.png" (and "Z X Y") into *out: the
 * one z/x/y parser of the CLI and the server. Numbers are plain digits (no
 * sign, no blank beside a '/'). PDB_EINVAL for anything else, including
 * numbers out of range for the zoom and zooms over max_zoom. ctx may be
 * NULL when only the status is wanted (the server's hot path parses every
 * request, and asks again with a context only to word a refusal). */
pdb_status pdbt_tile_parse(pdbt_ctx *ctx, const char *text, int max_zoom, pdbt_tile *out);

/* ------------------------------------------------------------------------ */
/* Styles: a subset of the MapLibre style specification (styles/README.md)   */
/* ------------------------------------------------------------------------ */

typedef struct pdbt_style pdbt_style;

/* Loads a style from a JSON file. On failure returns PDB_EINVAL (or
 * PDB_ENOTFOUND / PDB_EIO / PDB_ELIMIT for the file, PDB_ENOMEM) with one
 * line on ctx naming the file, the JSON path and the problem:
 *   "styles/x.json: layers[2].paint.fill-color: 'reed' is not a colour". */
pdb_status pdbt_style_load(pdbt_ctx *ctx, const char *path, pdbt_style **out);

/* The same from text in memory; name stands for the file in messages. */
pdb_status pdbt_style_parse(pdbt_ctx *ctx, const char *json, size_t len, const char *name,
                            pdbt_style **out);

void pdbt_style_free(pdbt_style *style);

/* Finds the default style, styles/landuse.json: in $PARCELDB_STYLE_DIR, in
 * the installed data directory, or in the source tree this was built
 * from. Returns 0 with the path in out, or -1 when none exists. */
int pdbt_style_default_path(char *out, size_t cap);

/* The default style as it was built into the library (styles/landuse.json
 * at build time): the last fallback when no file of it can be read.
 * Fails only when out of memory. */
pdb_status pdbt_style_builtin(pdbt_ctx *ctx, pdbt_style **out);

/* The style's "name", or "" (borrowed). */
const char *pdbt_style_name(const pdbt_style *style);

/* A hash of the style's text (for ETags and caches). */
uint64_t pdbt_style_hash(const pdbt_style *style);

/* ------------------------------------------------------------------------ */
/* Rendering                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct pdbt_renderer pdbt_renderer;

typedef struct pdbt_renderer_options {
    const char *font_dir; /* where text-font names are looked up; NULL for
                             /usr/share/fonts/truetype/dejavu */
    int label_buffer_px;  /* pixels around the tile whose labels are placed
                             (at scale 1); 0 for the default 128 */
    int max_zoom;         /* deepest zoom rendered; 0 for 22 */
    int antialias_best;   /* 0: 4x4 supersampled edges (17 coverage levels; the
                             default: fewer colours, so smaller PNGs and more
                             8-bit palettes); 1: Cairo's exact coverage */
} pdbt_renderer_options;

/* Creates a renderer for one thread, with its own buffers, reading store
 * (which may be NULL for a renderer made only to open the style's fonts);
 * opts may be NULL. Fails with PDB_ENOTFOUND when a font the style names
 * is missing, PDB_EIO when it cannot be read. The renderer keeps pointers
 * to store and style: they must outlive it. */
pdb_status pdbt_renderer_new(pdbt_ctx *ctx, pdb_store *store, const pdbt_style *style,
                             const pdbt_renderer_options *opts, pdbt_renderer **out);
void pdbt_renderer_free(pdbt_renderer *r);

/* Makes the renderer's next tiles (PNG and vector) show the parcels in
 * force at a date, at (pdb_instant_parse's forms: "YYYY-MM-DD" is the end
 * of that day in UTC), or the current parcels again with at NULL. At a
 * date every zoom draws parcels (overviews and commune outlines hold the
 * current state only, so outlines are not drawn): a caller bounds the
 * zoom. PDB_EINVAL for a malformed date, and then the renderer draws the
 * current parcels. ctx's engine context must not be NULL. */
pdb_status pdbt_renderer_set_at(pdbt_ctx *ctx, pdbt_renderer *r, const char *at);

typedef struct pdbt_image {
    int width;            /* pixels */
    int height;           /* pixels */
    int stride;           /* bytes per row */
    const uint32_t *argb; /* premultiplied ARGB32 in native byte order (Cairo's
                             CAIRO_FORMAT_ARGB32), borrowed from the renderer
                             until its next render */
} pdbt_image;

/* Statistics of the last render, for logs and benchmarks. */
typedef struct pdbt_render_stats {
    size_t features;      /* features read from the store */
    size_t overview;      /* 1 when the tile was drawn from overviews */
    size_t labels_placed; /* labels drawn */
    size_t labels_culled; /* label candidates dropped for overlapping */
} pdbt_render_stats;

/* Renders one tile, reading the renderer's store through ctx's engine
 * context (which must not be NULL). PDB_EINVAL for a tile out of range;
 * store failures pass through with the engine's status and message. *img
 * is borrowed from the renderer. stats may be NULL. */
pdb_status pdbt_render_tile(pdbt_ctx *ctx, pdbt_renderer *r, const pdbt_tile *tile, pdbt_image *img,
                            pdbt_render_stats *stats);

/* A map of any size in any CRS the engine knows (pdb_crs_list), or Web
 * Mercator: what a WMS GetMap asks for. */
typedef struct pdbt_view {
    int epsg;        /* 3857, 4326, 4756 or a VN-2000 projected CRS */
    double bbox[4];  /* min x, min y, max x, max y in that CRS: x is the easting
                        or the longitude, whatever the CRS's axis order */
    int width;       /* pixels, 1 .. PDBT_VIEW_MAX_PX */
    int height;      /* pixels, 1 .. PDBT_VIEW_MAX_PX */
    unsigned layers; /* PDBT_LAYERS_* of the style drawn; 0 for all */
} pdbt_view;

#define PDBT_LAYERS_PARCELS 1u  /* style layers of source-layer "parcels" */
#define PDBT_LAYERS_COMMUNES 2u /* style layers of source-layer "communes" */

#define PDBT_VIEW_MAX_PX 16384 /* the most pixels on a side pdbt_render_view draws */

/* Renders a view: features are read in WGS 84 and transformed to the
 * view's CRS through PROJ (the engine's pdb_crs_transform, so VN-2000 goes
 * through EPSG:6960 as everywhere), or projected to Web Mercator as tiles
 * are. In a VN-2000 TM-3 or UTM view, the parcels surveyed in that CRS are
 * read in their survey geometry (pdb_features_in_bbox_survey) and placed
 * with no transformation; other zones' parcels and overviews go through
 * PROJ. The style's zoom is the Web Mercator zoom of the view's resolution
 * at its centre, rounded down. Labels are placed once for the whole
 * image. PDB_EINVAL for an empty or inverted box or a size out of range,
 * PDB_ECRS for a CRS PROJ cannot reach; store failures pass through. *img
 * is borrowed from the renderer until its next render. */
pdb_status pdbt_render_view(pdbt_ctx *ctx, pdbt_renderer *r, const pdbt_view *view, pdbt_image *img,
                            pdbt_render_stats *stats);

/* An image of w x h pixels, transparent, with a message written across it
 * (a WMS exception "in image"); borrowed from the renderer as a view is.
 * PDB_EINVAL for a size out of range, PDB_ENOMEM. */
pdb_status pdbt_render_message(pdbt_ctx *ctx, pdbt_renderer *r, int w, int h, const char *text,
                               pdbt_image *img);

/* The zooms at which a style draws anything of the given layers
 * (PDBT_LAYERS_*): *zmin (inclusive) to *zmax (exclusive; INFINITY when
 * unbounded). 0, or -1 when it never does. */
int pdbt_style_zoom_range(const pdbt_style *style, unsigned layers, double *zmin, double *zmax);

/* The box (min x, min y, max x, max y; x = easting or longitude) around a
 * box of one CRS in another (EPSG:3857, or one the engine knows): its edges
 * sampled and transformed (a TM-3 box's edges are curves in longitude and
 * latitude). PDB_ECRS with the engine's message when a point does not
 * transform; PDB_EINVAL for a context without an engine context. */
pdb_status pdbt_box_transform(pdbt_ctx *ctx, int from_epsg, int to_epsg, const double in[4],
                              double out[4]);

/* The Web Mercator zoom (fractional) whose resolution equals the view's
 * at its centre; NAN when the view's box does not transform. */
double pdbt_view_zoom(pdbt_ctx *ctx, const pdbt_view *view);

/* ------------------------------------------------------------------------ */
/* Vector tiles (Mapbox Vector Tile 2.1)                                     */
/* ------------------------------------------------------------------------ */

#define PDBT_MVT_EXTENT 4096              /* tile units on a side */
#define PDBT_MVT_BUFFER 64                /* tile units kept around the tile */
#define PDBT_MVT_MAX_BYTES (500u * 1024u) /* the default size cap of one tile */

typedef struct pdbt_mvt_options {
    size_t max_bytes; /* cap on the uncompressed tile; 0 for PDBT_MVT_MAX_BYTES.
                         Below PDBT_MVT_KEEP_ZOOM the smallest parcels are dropped
                         until the tile fits; from it on none ever is */
} pdbt_mvt_options;

#define PDBT_MVT_KEEP_ZOOM 16 /* from this zoom on, a tile keeps every parcel */

/* Statistics of the last vector tile, for logs and benchmarks. */
typedef struct pdbt_mvt_stats {
    size_t features; /* features written, all layers */
    size_t overview; /* 1 when the parcels layer came from the overviews */
    size_t thinned;  /* parcels dropped to keep the tile under the cap */
} pdbt_mvt_stats;

/* Produces one vector tile of layers "parcels" (id, commune, sheet, parcel,
 * landuse, landuse_main, area in m2; never an owner; overview shapes
 * below the parcel zooms carry commune, landuse, landuse_main and area),
 * "communes" (code, name) and "labels" (the PNG renderer's label point of
 * each parcel whose point is in the tile, with id and parcel), from
 * the renderer's store as pdbt_render_tile reads it (the same overviews at
 * the same zooms). tile->scale is ignored (a vector tile has no pixel
 * size). *out is the uncompressed MVT, caller-owned (free()); an empty
 * tile is a valid MVT of length 0 (*out is then a non-NULL 1-byte
 * allocation). PDB_EINVAL for a tile out of range, PDB_ENOMEM; store
 * failures pass through with the engine's status and message. stats may
 * be NULL. */
pdb_status pdbt_mvt_tile(pdbt_ctx *ctx, pdbt_renderer *r, const pdbt_tile *tile,
                         const pdbt_mvt_options *opts, unsigned char **out, size_t *len,
                         pdbt_mvt_stats *stats);

/* The first zoom whose vector tiles carry parcels (and labels) rather than
 * land-use overview shapes: what pdbt_render_tile and pdbt_mvt_tile
 * choose for the style (PDB_OVERVIEW_MAX_ZOOM, or one more when the style
 * draws nothing but land use there). */
int pdbt_mvt_parcel_zoom(const pdbt_style *style);

/* The style as a MapLibre GL style for the vector tiles: the same layers,
 * colours, zooms and filters, its sources made {"type": "vector", "url":
 * tilejson_url}, its parcel label layers reading the "labels" layer and
 * its commune layers reading "code" and "name", its zooms one less (a
 * MapLibre zoom is of 512 px tiles); glyphs_url is the style's "glyphs"
 * when a layer draws text, and with NULL (no glyphs) the layers that draw
 * text are left out. *out is
 * caller-owned JSON text (free()). PDB_ENOMEM; PDB_EINVAL for a style not
 * loaded from JSON. */
pdb_status pdbt_style_maplibre(pdbt_ctx *ctx, const pdbt_style *style, const char *tilejson_url,
                               const char *glyphs_url, char **out, size_t *len);

/* The glyphs MapLibre GL draws labels with, for code points start ..
 * start + 255 (start a multiple of 256): the first font of fontstack
 * (names separated by commas, as MapLibre asks) installed in font_dir
 * (NULL for /usr/share/fonts/truetype/dejavu), as signed distance fields
 * in MapLibre's glyph protocol buffer. *out is caller-owned (free()).
 * PDB_EINVAL for a bad range, PDB_ENOTFOUND when no font of the stack is
 * installed, PDB_EIO when the font cannot be read, PDB_ENOMEM. */
pdb_status pdbt_glyphs(pdbt_ctx *ctx, const char *font_dir, const char *fontstack, unsigned start,
                       unsigned char **out, size_t *len);

/* ------------------------------------------------------------------------ */
/* PNG                                                                       */
/* ------------------------------------------------------------------------ */

typedef enum pdbt_png_palette {
    PDBT_PNG_PALETTE_AUTO = 0, /* 8-bit palette when the tile has <= 256 colours
                                 (lossless), else RGB or RGBA */
    PDBT_PNG_PALETTE_NEVER,    /* always RGB(A) */
    PDBT_PNG_PALETTE_QUANTIZE  /* always 8-bit palette, quantizing when needed
                                 (lossy, smallest) */
} pdbt_png_palette;

typedef struct pdbt_png_options {
    int level;                /* libdeflate level 1..12; 0 for the measured default (1) */
    pdbt_png_palette palette; /* see above */
} pdbt_png_options;

/* Encodes an image as PNG: straight (non-premultiplied) RGBA, RGB when
 * every pixel is opaque, or an 8-bit palette (see pdbt_png_options).
 * *out is caller-owned (free()). Returns PDB_OK, or PDB_EINVAL (an empty
 * image), PDB_ENOMEM or PDB_EIO (the compressor) with its message on ctx. */
pdb_status pdbt_png_encode(pdbt_ctx *ctx, const pdbt_image *img, const pdbt_png_options *opts,
                           unsigned char **out, size_t *len);

/* Converts one premultiplied ARGB32 pixel to straight RGBA bytes. */
void pdbt_png_unpremultiply(uint32_t argb, unsigned char rgba[4]);

#ifdef __cplusplus
}
#endif
#endif
