/*
 * style.h: the inside of a loaded style: layers, their properties as
 * compiled expressions, and the expression evaluator (expr.c). Private to
 * the tiler.
 */
#ifndef PDB_TILER_STYLE_H
#define PDB_TILER_STYLE_H

#include "ctx.h"

#include <jansson.h>
#include <stddef.h>

#ifndef PDB_COUNTOF
#define PDB_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* A colour, straight (not premultiplied) channels in 0..1. */
typedef struct pdbt_rgba {
    double r, g, b, a; /* red, green, blue, alpha */
} pdbt_rgba;

typedef enum pdbt_vtype {
    PDBT_V_NULL,
    PDBT_V_BOOL,
    PDBT_V_NUM,
    PDBT_V_STR,
    PDBT_V_COLOR
} pdbt_vtype;

/* The value of an expression. Strings are borrowed: from the expression,
 * from the feature, or from the evaluator's scratch buffer. */
typedef struct pdbt_value {
    pdbt_vtype t;  /* which member is set */
    int b;         /* V_BOOL */
    double n;      /* V_NUM */
    const char *s; /* V_STR */
    pdbt_rgba c;   /* V_COLOR */
} pdbt_value;

/* The feature properties an expression can `get`. */
typedef enum pdbt_prop_key {
    PDBT_FP_ID,           /* parcel id (number); 0 for overview shapes */
    PDBT_FP_COMMUNE,      /* five-digit commune code */
    PDBT_FP_COMMUNE_NAME, /* commune name */
    PDBT_FP_SHEET,        /* map sheet number (parcels only) */
    PDBT_FP_PARCEL,       /* parcel number (parcels only) */
    PDBT_FP_LANDUSE,      /* all land-use codes, "ONT+CLN" */
    PDBT_FP_LANDUSE_MAIN, /* the first code */
    PDBT_FP_AREA,         /* computed area in square metres */
    PDBT_FP_KIND,         /* "parcel", "landuse" (overview) or "commune" */
    PDBT_FP_COUNT
} pdbt_prop_key;

/* What an evaluation sees: the zoom and one feature's properties. */
typedef struct pdbt_eval_env {
    double zoom;                    /* tile zoom */
    const char *str[PDBT_FP_COUNT]; /* string properties (NULL when absent) */
    double num[PDBT_FP_COUNT];      /* numeric properties (FP_ID, FP_AREA) */
    char scratch[512];              /* room for strings an expression builds */
    size_t scratch_used;            /* bytes of scratch in use */
} pdbt_eval_env;

typedef struct pdbt_expr pdbt_expr;

/* Compiles a JSON value as an expression whose result should be of type
 * want (V_NULL for any); literal strings become colours where a colour is
 * wanted. On failure PDB_EINVAL (or PDB_ENOMEM) with "path: problem" on
 * ctx; *out is then NULL. */
pdb_status pdbt__expr_compile(pdbt_ctx *ctx, const json_t *j, pdbt_vtype want, const char *path,
                              pdbt_expr **out);
void pdbt__expr_free(pdbt_expr *e);

/* Evaluates; never fails: type mismatches give V_NULL (the property's
 * default then applies), as in MapLibre. */
pdbt_value pdbt__expr_eval(const pdbt_expr *e, pdbt_eval_env *env);

/* 1 when the expression reads feature properties; 0 when only the zoom
 * (or nothing), so that it can be evaluated once per layer and tile. */
int pdbt__expr_uses_feature(const pdbt_expr *e);

/* The feature properties an expression reads: bit k for prop_key k. */
unsigned pdbt__expr_props(const pdbt_expr *e);

/* Parses a CSS colour: #rgb, #rrggbb, #rrggbbaa, rgb(), rgba(), hsl(),
 * hsla() or a few names; returns 0 on success. */
int pdbt__color_parse(const char *s, pdbt_rgba *out);

/* ------------------------------------------------------------------------ */
/* Layers                                                                    */
/* ------------------------------------------------------------------------ */

typedef enum pdbt_layer_type {
    PDBT_LAYER_FILL,
    PDBT_LAYER_LINE,
    PDBT_LAYER_SYMBOL
} pdbt_layer_type;

/* What a layer draws: the source-layer name. */
typedef enum pdbt_layer_source {
    PDBT_SRC_PARCELS, /* parcels (overview land-use shapes below the parcel zooms) */
    PDBT_SRC_COMMUNES /* commune outlines, with their names */
} pdbt_layer_source;

/* Every paint and layout property the renderer knows; a layer holds one
 * compiled expression (or NULL for the default) per slot. */
typedef enum pdbt_prop_slot {
    PDBT_P_FILL_COLOR,
    PDBT_P_FILL_OPACITY,
    PDBT_P_FILL_ANTIALIAS,
    PDBT_P_LINE_COLOR,
    PDBT_P_LINE_WIDTH,
    PDBT_P_LINE_OPACITY,
    PDBT_P_LINE_JOIN,
    PDBT_P_LINE_CAP,
    PDBT_P_TEXT_FIELD,
    PDBT_P_TEXT_SIZE,
    PDBT_P_TEXT_COLOR,
    PDBT_P_TEXT_HALO_COLOR,
    PDBT_P_TEXT_HALO_WIDTH,
    PDBT_P_TEXT_OPACITY,
    PDBT_P_TEXT_PADDING,
    PDBT_P_TEXT_ALLOW_OVERLAP,
    PDBT_P_SYMBOL_SORT_KEY,
    PDBT_P_COUNT
} pdbt_prop_slot;

typedef struct pdbt_style_layer {
    char *id;                       /* the layer's "id" */
    pdbt_layer_type type;           /* fill, line or symbol */
    pdbt_layer_source source;       /* parcels or communes */
    int minzoom;                    /* drawn at zooms >= minzoom */
    int maxzoom;                    /* drawn at zooms < maxzoom */
    int visible;                    /* layout.visibility != "none" */
    pdbt_expr *filter;              /* NULL: every feature */
    pdbt_expr *props[PDBT_P_COUNT]; /* NULL: the property's default */
    double dash[8];                 /* line-dasharray in line widths */
    int ndash;                      /* entries of dash in use */
    char *font;                     /* text-font: the first name of the array */
} pdbt_style_layer;

struct pdbt_style {
    char *name;               /* "name", or "" */
    uint64_t hash;            /* FNV-1a of the source text */
    pdbt_style_layer *layers; /* in drawing order */
    size_t nlayers;           /* entries of layers */
    void *doc;                /* the parsed text (json_t *), for the MapLibre form
                                 of the style (mvt_style.c) */
};

#endif
