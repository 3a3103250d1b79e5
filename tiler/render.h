/*
 * render.h: the renderer's inside, shared by render.c (features, fills,
 * lines) and label.c (label placement). Private to the tiler.
 */
#ifndef PDB_TILER_RENDER_H
#define PDB_TILER_RENDER_H

#include "approx.h"
#include "style.h"

#include <cairo.h>
#include <stdint.h>

#define PDBT_NO_STR UINT32_MAX /* a string property that is absent */

/* One ring of a feature in tile pixels. */
typedef struct pdbt_rring {
    uint32_t start;   /* first point in pdbt_renderer.pts */
    uint32_t n;       /* points (closed: first == last) */
    uint8_t exterior; /* 1 for a polygon's exterior, 0 for a hole */
} pdbt_rring;

/* One feature of the tile, projected. */
typedef struct pdbt_rfeat {
    int64_t id;                  /* parcel id, 0 for overview shapes */
    double area_m2;              /* computed area */
    uint32_t str[PDBT_FP_COUNT]; /* offsets of string properties in strs, or NO_STR */
    uint32_t ring0;              /* first ring in pdbt_renderer.rings */
    uint32_t nrings;             /* rings */
    double bbox[4];              /* pixel box: min x, min y, max x, max y */
    uint8_t source;              /* layer_source it was read for */
    uint8_t base;                /* 1 for an overview base (PDB_OVERVIEW_BASE): filled
                                    under the other fills, in no line or label */
    uint8_t anchored;            /* 1 when anchor holds its label point */
    double anchor[2];            /* label point inside the shape, pixels */
} pdbt_rfeat;

/* Sorting fills and lines into groups. */
typedef struct pdbt_draw_key {
    uint32_t color; /* 8-bit straight RGBA, R in the high byte */
    float width;    /* line width in style pixels (0 for fills) */
    uint32_t base;  /* 1 for a base: bases sort (and are drawn) first */
    uint32_t feat;  /* index in feats */
} pdbt_draw_key;

/* An edge already drawn (render.c's edge set). */
typedef struct pdbt_edge_key {
    int32_t k[4];  /* end points in 1/256 px, the smaller first */
    uint64_t hash; /* of k */
    uint32_t gen;  /* the slot holds an edge when this is the renderer's edge_gen */
} pdbt_edge_key;

/* A label candidate. */
typedef struct pdbt_label {
    double sort;       /* symbol-sort-key, lower first */
    double area;       /* then larger shapes first */
    int64_t id;        /* then by id */
    uint32_t feat;     /* index in feats */
    uint32_t text;     /* offset of its text in strs */
    double box[4];     /* collision box in pixels, padding included */
    double x, y;       /* where the text's origin goes */
    double size;       /* font size in pixels */
    pdbt_rgba color;   /* text colour */
    pdbt_rgba halo;    /* halo colour */
    double halo_w;     /* halo width in pixels */
    int allow_overlap; /* text-allow-overlap */
} pdbt_label;

struct pdbt_renderer {
    pdb_store *store;               /* borrowed: the thread's store handle */
    pdb_ctx *db;                    /* the engine context of the render in progress
                                       (its pdbt_ctx's), for the feature callback */
    const pdbt_style *style;        /* borrowed */
    int label_buffer_px;            /* label margin around the tile, at scale 1 */
    int max_zoom;                   /* deepest zoom rendered */
    cairo_antialias_t antialias;    /* for fills and lines (labels: Cairo's default) */
    cairo_font_face_t **layer_font; /* per style layer (symbol layers only); shared */
    cairo_surface_t *surface[3];    /* by scale (1, 2), reused between tiles */
    cairo_surface_t *view_surface;  /* of pdbt_render_view, reused while its size stays */
    int scale;                      /* of the tile being drawn (1 for a view) */
    int width_px, height_px;        /* the image's size in pixels */
    double inv_res_x, inv_res_y;    /* pixels per unit of the image's CRS, across and down */
    double origin_x, origin_y;      /* image's north-west corner, in its CRS's units */
    int view_epsg;                  /* 0: Web Mercator (the tiles' fast path); else the
                                       CRS features are transformed to through PROJ */
    int survey_epsg;                /* view_epsg when it is a VN-2000 projected CRS: its
                                       parcels are read in survey geometry; else 0 */
    pdbt_approx approx;             /* WGS 84 to view_epsg over the view, when it holds
                                       to PDBT_APPROX_TOL_PX (pdbt_render_view) */
    double *proj_x, *proj_y;        /* a ring's points being transformed (view_epsg) */
    size_t capproj;                 /* allocated points of each */
    unsigned layers;                /* PDBT_LAYERS_* drawn (all for tiles) */
    int proj_failed;                /* a transformation failed while collecting (the
                                       engine's message is on db) */
    double taylor_lat;              /* latitude (radians) the projection is expanded at */
    double taylor[4];               /* coefficients of its cubic in the latitude */
    double query_px[4];             /* the box features must meet, pixels */
    int collecting;                 /* layer_source being read */
    int collecting_base;            /* the overview bases are being read */
    int use_overview;               /* parcels come from the land-use overviews */
    char at[PDB_INSTANT_LEN];       /* "": current parcels; else the instant drawn
                                       (pdbt_renderer_set_at) */
    int oom;                        /* an allocation failed while collecting */
    pdbt_rfeat *feats;              /* the tile's features */
    size_t nfeats, capfeats;        /* used and allocated */
    pdbt_rring *rings;              /* their rings */
    size_t nrings, caprings;        /* used and allocated */
    double *keep;                   /* a line's points kept by its simplification */
    size_t capkeep;                 /* allocated (points) */
    double *pts;                    /* their points, x y pairs, pixels */
    size_t npts, cappts;            /* used and allocated (points) */
    char *strs;                     /* their strings, NUL-terminated */
    size_t nstrs, capstrs;          /* used and allocated (bytes) */
    pdbt_draw_key *keys;            /* grouping of a layer's features */
    size_t capkeys;                 /* allocated */
    pdbt_label *labels;             /* a symbol layer's candidates */
    size_t caplabels;               /* allocated */
    double (*placed)[4];            /* boxes of the labels placed so far */
    size_t nplaced, capplaced;      /* used and allocated */
    char last_code[8];              /* commune of the last name looked up */
    const char *last_name;          /* its name (static storage), or NULL */
    uint32_t again[6];              /* offsets in strs of the last commune, its name,
                                       feature kind, sheet, land use and main land use
                                       put (put_again), or PDBT_NO_STR */
    pdbt_edge_key *edges;           /* the edges of the line group being drawn */
    size_t nedges, capedges;        /* used and allocated (a power of two) */
    uint32_t edge_gen;              /* generation of the edge set (never 0 once cleared) */
    struct pdbt_mvt_work *mvt;      /* the vector tiles' buffers (mvt_tile.c), or NULL */
};

/* Copies a string into the tile's string buffer; NO_STR for NULL (or
 * when out of memory, which sets r->oom). */
uint32_t pdbt__put_str(pdbt_renderer *r, const char *s);
const char *pdbt__feat_str(const pdbt_renderer *r, const pdbt_rfeat *f, pdbt_prop_key k);
void pdbt__env_for(const pdbt_renderer *r, const pdbt_rfeat *f, pdbt_eval_env *env);
double pdbt__prop_num(const pdbt_style_layer *l, pdbt_prop_slot p, pdbt_eval_env *env, double dflt);
pdbt_rgba pdbt__prop_color(const pdbt_style_layer *l, pdbt_prop_slot p, pdbt_eval_env *env,
                           pdbt_rgba dflt);
int pdbt__prop_bool(const pdbt_style_layer *l, pdbt_prop_slot p, pdbt_eval_env *env, int dflt);
int pdbt__passes_filter(const pdbt_style_layer *l, pdbt_eval_env *env);

/* Places and draws a symbol layer's labels (label.c); PDB_ENOMEM with the
 * message on ctx when out of memory. */
pdb_status pdbt__draw_labels(pdbt_ctx *ctx, pdbt_renderer *r, cairo_t *cr,
                             const pdbt_style_layer *l, cairo_font_face_t *font, pdbt_eval_env *env,
                             size_t *placed, size_t *culled);

/* Reads a tile's parcels (or their overviews, chosen as the PNG tile
 * chooses) and commune outlines into r's buffers, projected to a square of
 * units on a side ((0, 0) the tile's north-west corner), whole (not
 * clipped), every feature whose box meets the square grown by
 * buffer_units; for the vector tiles (mvt_tile.c). PDB_EINVAL for a tile
 * out of range; store failures pass through. */
pdb_status pdbt__gather_tile(pdbt_ctx *ctx, pdbt_renderer *r, const pdbt_tile *t, double units,
                             double buffer_units);

/* Frees the vector tiles' buffers (mvt_tile.c); accepts NULL. */
void pdbt__mvt_work_free(struct pdbt_mvt_work *w);

/* A point inside a feature for its label (label.c). */
void pdbt__label_anchor(const pdbt_renderer *r, const pdbt_rfeat *f, double out[2]);

#endif
