/*
 * style.h: the inside of a loaded style: layers, their properties as
 * compiled expressions, and the expression evaluator (expr.c). Private to
 * the tiler.
 */
#ifndef PDB_TILER_STYLE_H
#define PDB_TILER_STYLE_H

#include "tiler.h"

#include <jansson.h>
#include <stddef.h>

#ifndef PDB_COUNTOF
#define PDB_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* A colour, straight (not premultiplied) channels in 0..1. */
typedef struct rgba {
    double r, g, b, a; /* red, green, blue, alpha */
} rgba;

typedef enum vtype { V_NULL, V_BOOL, V_NUM, V_STR, V_COLOR } vtype;

/* The value of an expression. Strings are borrowed: from the expression,
 * from the feature, or from the evaluator's scratch buffer. */
typedef struct value {
    vtype t;       /* which member is set */
    int b;         /* V_BOOL */
    double n;      /* V_NUM */
    const char *s; /* V_STR */
    rgba c;        /* V_COLOR */
} value;

/* The feature properties an expression can `get`. */
typedef enum prop_key {
    FP_ID,           /* parcel id (number); 0 for overview shapes */
    FP_COMMUNE,      /* five-digit commune code */
    FP_COMMUNE_NAME, /* commune name */
    FP_SHEET,        /* map sheet number (parcels only) */
    FP_PARCEL,       /* parcel number (parcels only) */
    FP_LANDUSE,      /* all land-use codes, "ONT+CLN" */
    FP_LANDUSE_MAIN, /* the first code */
    FP_AREA,         /* computed area in square metres */
    FP_KIND,         /* "parcel", "landuse" (overview) or "commune" */
    FP_COUNT
} prop_key;

/* What an evaluation sees: the zoom and one feature's properties. */
typedef struct eval_env {
    double zoom;               /* tile zoom */
    const char *str[FP_COUNT]; /* string properties (NULL when absent) */
    double num[FP_COUNT];      /* numeric properties (FP_ID, FP_AREA) */
    char scratch[512];         /* room for strings an expression builds */
    size_t scratch_used;       /* bytes of scratch in use */
} eval_env;

typedef struct expr expr;

/* Compiles a JSON value as an expression whose result should be of type
 * want (V_NULL for any); literal strings become colours where a colour is
 * wanted. On failure returns NULL and writes "path: problem" into err. */
expr *pdb__expr_compile(const json_t *j, vtype want, const char *path, char *err, size_t errcap);
void pdb__expr_free(expr *e);

/* Evaluates; never fails: type mismatches give V_NULL (the property's
 * default then applies), as in MapLibre. */
value pdb__expr_eval(const expr *e, eval_env *env);

/* 1 when the expression reads feature properties; 0 when only the zoom
 * (or nothing), so that it can be evaluated once per layer and tile. */
int pdb__expr_uses_feature(const expr *e);

/* The feature properties an expression reads: bit k for prop_key k. */
unsigned pdb__expr_props(const expr *e);

/* Parses a CSS colour: #rgb, #rrggbb, #rrggbbaa, rgb(), rgba(), hsl(),
 * hsla() or a few names; returns 0 on success. */
int pdb__color_parse(const char *s, rgba *out);

/* ------------------------------------------------------------------------ */
/* Layers                                                                    */
/* ------------------------------------------------------------------------ */

typedef enum layer_type { LAYER_FILL, LAYER_LINE, LAYER_SYMBOL } layer_type;

/* What a layer draws: the source-layer name. */
typedef enum layer_source {
    SRC_PARCELS, /* parcels (overview land-use shapes below the parcel zooms) */
    SRC_COMMUNES /* commune outlines, with their names */
} layer_source;

/* Every paint and layout property the renderer knows; a layer holds one
 * compiled expression (or NULL for the default) per slot. */
typedef enum prop_slot {
    P_FILL_COLOR,
    P_FILL_OPACITY,
    P_FILL_ANTIALIAS,
    P_LINE_COLOR,
    P_LINE_WIDTH,
    P_LINE_OPACITY,
    P_LINE_JOIN,
    P_LINE_CAP,
    P_TEXT_FIELD,
    P_TEXT_SIZE,
    P_TEXT_COLOR,
    P_TEXT_HALO_COLOR,
    P_TEXT_HALO_WIDTH,
    P_TEXT_OPACITY,
    P_TEXT_PADDING,
    P_TEXT_ALLOW_OVERLAP,
    P_SYMBOL_SORT_KEY,
    P_COUNT
} prop_slot;

typedef struct style_layer {
    char *id;             /* the layer's "id" */
    layer_type type;      /* fill, line or symbol */
    layer_source source;  /* parcels or communes */
    int minzoom;          /* drawn at zooms >= minzoom */
    int maxzoom;          /* drawn at zooms < maxzoom */
    int visible;          /* layout.visibility != "none" */
    expr *filter;         /* NULL: every feature */
    expr *props[P_COUNT]; /* NULL: the property's default */
    double dash[8];       /* line-dasharray in line widths */
    int ndash;            /* entries of dash in use */
    char *font;           /* text-font: the first name of the array */
} style_layer;

struct pdb_style {
    char *name;          /* "name", or "" */
    uint64_t hash;       /* FNV-1a of the source text */
    style_layer *layers; /* in drawing order */
    size_t nlayers;      /* entries of layers */
};

#endif
