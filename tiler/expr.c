/*
 * expr.c: the MapLibre expressions a style may use (styles/README.md):
 * get, has, zoom, literal, match, case, coalesce, interpolate (linear and
 * exponential), step, comparisons, !, all, any, concat, to-string,
 * to-number, round. Compiled once from JSON into a tree; evaluated per feature
 * without allocating.
 */
#include "hex.h"
#include "style.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum op {
    OP_LIT,
    OP_GET,
    OP_HAS,
    OP_ZOOM,
    OP_MATCH,
    OP_CASE,
    OP_COALESCE,
    OP_INTERP,
    OP_STEP,
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE,
    OP_NOT,
    OP_ALL,
    OP_ANY,
    OP_CONCAT,
    OP_TOSTR,
    OP_TONUM,
    OP_ROUND,
} op;

/* One label of a match, pointing at its output. */
typedef struct match_label {
    pdbt_value v; /* a string or a number */
    size_t arm;   /* index of the output in args (after the input) */
} match_label;

struct pdbt_expr {
    op op;               /* what this node does */
    pdbt_value lit;      /* OP_LIT: the value; strings point into text */
    char *text;          /* owned copy of a literal string */
    pdbt_prop_key key;   /* OP_GET, OP_HAS */
    pdbt_expr **args;    /* operands, in the operator's order */
    size_t nargs;        /* entries of args */
    match_label *labels; /* OP_MATCH: sorted by value */
    size_t nlabels;      /* entries of labels */
    int labels_str;      /* OP_MATCH: 1 when the labels are strings */
    double *stops;       /* OP_INTERP, OP_STEP: input stops, ascending */
    size_t nstops;       /* entries of stops */
    double base;         /* OP_INTERP: 1 for linear, else exponential base */
    int uses_feature;    /* this node or one below reads the feature */
    unsigned props;      /* bit k: this node or one below reads property k */
};

static const char *const prop_names[PDBT_FP_COUNT] = {
    [PDBT_FP_ID] = "id",
    [PDBT_FP_COMMUNE] = "commune",
    [PDBT_FP_COMMUNE_NAME] = "commune_name",
    [PDBT_FP_SHEET] = "sheet",
    [PDBT_FP_PARCEL] = "parcel",
    [PDBT_FP_LANDUSE] = "landuse",
    [PDBT_FP_LANDUSE_MAIN] = "landuse_main",
    [PDBT_FP_AREA] = "area",
    [PDBT_FP_KIND] = "kind",
};

static const struct {
    const char *name; /* as written in JSON */
    op op;            /* what it compiles to */
} ops[] = {
    {"get", OP_GET},
    {"has", OP_HAS},
    {"zoom", OP_ZOOM},
    {"match", OP_MATCH},
    {"case", OP_CASE},
    {"coalesce", OP_COALESCE},
    {"interpolate", OP_INTERP},
    {"step", OP_STEP},
    {"==", OP_EQ},
    {"!=", OP_NE},
    {"<", OP_LT},
    {"<=", OP_LE},
    {">", OP_GT},
    {">=", OP_GE},
    {"!", OP_NOT},
    {"all", OP_ALL},
    {"any", OP_ANY},
    {"concat", OP_CONCAT},
    {"to-string", OP_TOSTR},
    {"to-number", OP_TONUM},
    {"literal", OP_LIT},
    {"round", OP_ROUND},
};

/* A malformed expression: "path: problem" on ctx (style.c puts the file's
 * name before it). */
static void bad(pdbt_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(pdbt_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pdbt__failv(ctx, PDB_EINVAL, fmt, ap);
    va_end(ap);
}

static void oom(pdbt_ctx *ctx, const char *path)
{
    pdbt__fail(ctx, PDB_ENOMEM, "%s: out of memory", path);
}

void pdbt__expr_free(pdbt_expr *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->nargs; i++)
        pdbt__expr_free(e->args[i]);
    free(e->args);
    free(e->labels);
    free(e->stops);
    free(e->text);
    free(e);
}

int pdbt__expr_uses_feature(const pdbt_expr *e)
{
    return e != NULL && e->uses_feature;
}

unsigned pdbt__expr_props(const pdbt_expr *e)
{
    return e != NULL ? e->props : 0;
}

/* ------------------------------------------------------------------------ */
/* Colours                                                                   */
/* ------------------------------------------------------------------------ */

/* Not static: the server decodes percent-escapes and token hashes with it
 * (hex.h), so that the project has one hex-digit decoder. */
int pdbt__hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static double hue2rgb(double p, double q, double t)
{
    if (t < 0)
        t += 1;
    if (t > 1)
        t -= 1;
    if (t < 1.0 / 6)
        return p + (q - p) * 6 * t;
    if (t < 0.5)
        return q;
    if (t < 2.0 / 3)
        return p + (q - p) * (2.0 / 3 - t) * 6;
    return p;
}

int pdbt__color_parse(const char *s, pdbt_rgba *out)
{
    static const struct {
        const char *name; /* CSS name */
        pdbt_rgba c;      /* its value */
    } names[] = {
        {"transparent", {0, 0, 0, 0}},
        {"black", {0, 0, 0, 1}},
        {"white", {1, 1, 1, 1}},
        {"red", {1, 0, 0, 1}},
        {"green", {0, 128 / 255.0, 0, 1}},
        {"blue", {0, 0, 1, 1}},
        {"gray", {128 / 255.0, 128 / 255.0, 128 / 255.0, 1}},
        {"grey", {128 / 255.0, 128 / 255.0, 128 / 255.0, 1}},
    };
    size_t len = strlen(s);
    if (s[0] == '#') {
        int d[8];
        if (len != 4 && len != 5 && len != 7 && len != 9)
            return -1;
        for (size_t i = 1; i < len; i++)
            if ((d[i - 1] = pdbt__hexval((unsigned char)s[i])) < 0)
                return -1;
        if (len <= 5) {
            out->r = d[0] * 17 / 255.0;
            out->g = d[1] * 17 / 255.0;
            out->b = d[2] * 17 / 255.0;
            out->a = len == 5 ? d[3] * 17 / 255.0 : 1.0;
        } else {
            out->r = (d[0] * 16 + d[1]) / 255.0;
            out->g = (d[2] * 16 + d[3]) / 255.0;
            out->b = (d[4] * 16 + d[5]) / 255.0;
            out->a = len == 9 ? (d[6] * 16 + d[7]) / 255.0 : 1.0;
        }
        return 0;
    }
    double v[4] = {0, 0, 0, 1};
    int n = 0;
    char tail[4];
    if (sscanf(s, "rgba(%lf ,%lf ,%lf ,%lf %1[)]%n", &v[0], &v[1], &v[2], &v[3], tail, &n) == 5 &&
        (size_t)n == len) {
        goto rgb;
    }
    v[3] = 1;
    if (sscanf(s, "rgb(%lf ,%lf ,%lf %1[)]%n", &v[0], &v[1], &v[2], tail, &n) == 4 &&
        (size_t)n == len)
        goto rgb;
    if ((sscanf(s, "hsla(%lf ,%lf%% ,%lf%% ,%lf %1[)]%n", &v[0], &v[1], &v[2], &v[3], tail, &n) ==
             5 ||
         (v[3] = 1,
          sscanf(s, "hsl(%lf ,%lf%% ,%lf%% %1[)]%n", &v[0], &v[1], &v[2], tail, &n) == 4)) &&
        (size_t)n == len) {
        double h = fmod(v[0], 360.0) / 360.0, sat = v[1] / 100.0, l = v[2] / 100.0;
        if (h < 0)
            h += 1;
        /* Written so that NaN fails too: sscanf's %lf takes "nan" and "inf". */
        if (!isfinite(v[0]) || !(sat >= 0 && sat <= 1) || !(l >= 0 && l <= 1) ||
            !(v[3] >= 0 && v[3] <= 1))
            return -1;
        double q = l < 0.5 ? l * (1 + sat) : l + sat - l * sat, p = 2 * l - q;
        out->r = hue2rgb(p, q, h + 1.0 / 3);
        out->g = hue2rgb(p, q, h);
        out->b = hue2rgb(p, q, h - 1.0 / 3);
        out->a = v[3];
        return 0;
    }
    for (size_t i = 0; i < PDB_COUNTOF(names); i++)
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].c;
            return 0;
        }
    return -1;
rgb:
    for (int i = 0; i < 3; i++)
        if (!(v[i] >= 0 && v[i] <= 255)) /* NaN fails too */
            return -1;
    if (!(v[3] >= 0 && v[3] <= 1))
        return -1;
    out->r = v[0] / 255.0;
    out->g = v[1] / 255.0;
    out->b = v[2] / 255.0;
    out->a = v[3];
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Compiling                                                                 */
/* ------------------------------------------------------------------------ */

static pdbt_expr *node(op o)
{
    pdbt_expr *e = calloc(1, sizeof *e);
    if (e != NULL)
        e->op = o;
    return e;
}

static const char *vtype_name(pdbt_vtype t)
{
    switch (t) {
    case PDBT_V_BOOL:
        return "a boolean";
    case PDBT_V_NUM:
        return "a number";
    case PDBT_V_STR:
        return "a string";
    case PDBT_V_COLOR:
        return "a colour";
    default:
        return "a value";
    }
}

/* A literal from a JSON scalar, typed by what is wanted. */
static pdbt_expr *compile_literal(pdbt_ctx *ctx, const json_t *j, pdbt_vtype want, const char *path)
{
    pdbt_expr *e = node(OP_LIT);
    if (e == NULL) {
        oom(ctx, path);
        return NULL;
    }
    if (json_is_number(j)) {
        e->lit.t = PDBT_V_NUM;
        e->lit.n = json_number_value(j);
    } else if (json_is_boolean(j)) {
        e->lit.t = PDBT_V_BOOL;
        e->lit.b = json_is_true(j);
    } else if (json_is_null(j)) {
        e->lit.t = PDBT_V_NULL;
    } else if (json_is_string(j)) {
        const char *s = json_string_value(j);
        if (want == PDBT_V_COLOR) {
            if (pdbt__color_parse(s, &e->lit.c) != 0) {
                bad(ctx, "%s: '%s' is not a colour (want #rrggbb, rgb(), rgba() or hsl())", path,
                    s);
                free(e);
                return NULL;
            }
            e->lit.t = PDBT_V_COLOR;
        } else {
            e->text = strdup(s);
            if (e->text == NULL) {
                free(e);
                oom(ctx, path);
                return NULL;
            }
            e->lit.t = PDBT_V_STR;
            e->lit.s = e->text;
        }
    } else {
        bad(ctx, "%s: an object is not an expression", path);
        free(e);
        return NULL;
    }
    if (want != PDBT_V_NULL && e->lit.t != want && e->lit.t != PDBT_V_NULL) {
        bad(ctx, "%s: expected %s, found %s", path, vtype_name(want), vtype_name(e->lit.t));
        pdbt__expr_free(e);
        return NULL;
    }
    return e;
}

static pdbt_expr *compile(pdbt_ctx *ctx, const json_t *j, pdbt_vtype want, const char *path);

/* Appends a compiled operand; returns 0 or -1 (message on ctx). */
static int add_arg(pdbt_ctx *ctx, pdbt_expr *e, const json_t *j, pdbt_vtype want, const char *path,
                   size_t index)
{
    char sub[400];
    snprintf(sub, sizeof sub, "%s[%zu]", path, index);
    pdbt_expr *a = compile(ctx, j, want, sub);
    if (a == NULL)
        return -1;
    pdbt_expr **args = realloc(e->args, (e->nargs + 1) * sizeof *args);
    if (args == NULL) {
        pdbt__expr_free(a);
        oom(ctx, path);
        return -1;
    }
    e->args = args;
    e->args[e->nargs++] = a;
    e->uses_feature |= a->uses_feature;
    e->props |= a->props;
    return 0;
}

static int label_cmp(const void *a, const void *b)
{
    const match_label *x = a, *y = b;
    if (x->v.t == PDBT_V_STR)
        return strcmp(x->v.s, y->v.s);
    return (x->v.n > y->v.n) - (x->v.n < y->v.n);
}

/* Adds one match label (a string or a number) for output `arm`. */
static int add_label(pdbt_ctx *ctx, pdbt_expr *e, const json_t *j, size_t arm, const char *path)
{
    int is_str = json_is_string(j);
    if (!is_str && !json_is_number(j)) {
        bad(ctx, "%s: match labels must be strings or numbers", path);
        return -1;
    }
    if (e->nlabels > 0 && is_str != e->labels_str) {
        bad(ctx, "%s: match labels must all be strings or all numbers", path);
        return -1;
    }
    e->labels_str = is_str;
    match_label *l = realloc(e->labels, (e->nlabels + 1) * sizeof *l);
    if (l == NULL) {
        oom(ctx, path);
        return -1;
    }
    e->labels = l;
    match_label *m = &l[e->nlabels++];
    memset(m, 0, sizeof *m);
    m->arm = arm;
    if (is_str) {
        m->v.t = PDBT_V_STR;
        m->v.s = json_string_value(j); /* re-pointed to owned copies below */
    } else {
        m->v.t = PDBT_V_NUM;
        m->v.n = json_number_value(j);
    }
    return 0;
}

static pdbt_expr *compile_match(pdbt_ctx *ctx, pdbt_expr *e, const json_t *j, pdbt_vtype want,
                                const char *path)
{
    size_t n = json_array_size(j);
    char sub[400];
    if (n < 5 || n % 2 != 1) {
        bad(ctx, "%s: match wants an input, label/output pairs and a fallback", path);
        goto fail;
    }
    if (add_arg(ctx, e, json_array_get(j, 1), PDBT_V_NULL, path, 1) != 0)
        goto fail;
    for (size_t i = 2; i + 1 < n; i += 2) {
        const json_t *lab = json_array_get(j, i);
        size_t arm = e->nargs;
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        if (json_is_array(lab)) {
            if (json_array_size(lab) == 0) {
                bad(ctx, "%s: an empty label array", sub);
                goto fail;
            }
            for (size_t k = 0; k < json_array_size(lab); k++)
                if (add_label(ctx, e, json_array_get(lab, k), arm, sub) != 0)
                    goto fail;
        } else if (add_label(ctx, e, lab, arm, sub) != 0) {
            goto fail;
        }
        if (add_arg(ctx, e, json_array_get(j, i + 1), want, path, i + 1) != 0)
            goto fail;
    }
    if (add_arg(ctx, e, json_array_get(j, n - 1), want, path, n - 1) != 0)
        goto fail;
    /* Labels point into the JSON, which the style frees after loading:
     * keep one block of copies. */
    size_t bytes = 0;
    for (size_t i = 0; i < e->nlabels; i++)
        if (e->labels[i].v.t == PDBT_V_STR)
            bytes += strlen(e->labels[i].v.s) + 1;
    if (bytes > 0) {
        e->text = malloc(bytes);
        if (e->text == NULL) {
            oom(ctx, path);
            goto fail;
        }
        char *p = e->text;
        for (size_t i = 0; i < e->nlabels; i++) {
            size_t len = strlen(e->labels[i].v.s) + 1;
            memcpy(p, e->labels[i].v.s, len);
            e->labels[i].v.s = p;
            p += len;
        }
    }
    qsort(e->labels, e->nlabels, sizeof *e->labels, label_cmp);
    for (size_t i = 1; i < e->nlabels; i++)
        if (label_cmp(&e->labels[i - 1], &e->labels[i]) == 0) {
            if (e->labels_str)
                bad(ctx, "%s: label '%s' appears twice", path, e->labels[i].v.s);
            else
                bad(ctx, "%s: label %g appears twice", path, e->labels[i].v.n);
            goto fail;
        }
    return e;
fail:
    pdbt__expr_free(e);
    return NULL;
}

/* interpolate and step: literal, strictly ascending numeric stops. */
static pdbt_expr *compile_stops(pdbt_ctx *ctx, pdbt_expr *e, const json_t *j, pdbt_vtype want,
                                const char *path)
{
    size_t n = json_array_size(j), first;
    char sub[400];
    if (e->op == OP_INTERP) {
        const json_t *kind = json_array_get(j, 1);
        const char *k = json_is_array(kind) ? json_string_value(json_array_get(kind, 0)) : NULL;
        snprintf(sub, sizeof sub, "%s[1]", path);
        if (k != NULL && strcmp(k, "linear") == 0 && json_array_size(kind) == 1) {
            e->base = 1.0;
        } else if (k != NULL && strcmp(k, "exponential") == 0 && json_array_size(kind) == 2 &&
                   json_is_number(json_array_get(kind, 1)) &&
                   json_number_value(json_array_get(kind, 1)) > 0) {
            e->base = json_number_value(json_array_get(kind, 1));
        } else {
            bad(ctx, "%s: interpolation must be [\"linear\"] or [\"exponential\", base > 0]", sub);
            goto fail;
        }
        if (n < 5 || n % 2 != 1) {
            bad(ctx, "%s: interpolate wants a type, an input and stop/output pairs", path);
            goto fail;
        }
        if (want != PDBT_V_NULL && want != PDBT_V_NUM && want != PDBT_V_COLOR) {
            bad(ctx, "%s: interpolate gives numbers or colours, not %s", path, vtype_name(want));
            goto fail;
        }
        if (add_arg(ctx, e, json_array_get(j, 2), PDBT_V_NUM, path, 2) != 0)
            goto fail;
        first = 3;
    } else {
        if (n < 3 || n % 2 != 1) {
            bad(ctx, "%s: step wants an input, a first output and stop/output pairs", path);
            goto fail;
        }
        if (add_arg(ctx, e, json_array_get(j, 1), PDBT_V_NUM, path, 1) != 0 ||
            add_arg(ctx, e, json_array_get(j, 2), want, path, 2) != 0)
            goto fail;
        first = 3;
    }
    e->nstops = (n - first) / 2;
    e->stops = calloc(e->nstops ? e->nstops : 1, sizeof *e->stops);
    if (e->stops == NULL) {
        oom(ctx, path);
        goto fail;
    }
    for (size_t i = 0; i < e->nstops; i++) {
        const json_t *s = json_array_get(j, first + 2 * i);
        snprintf(sub, sizeof sub, "%s[%zu]", path, first + 2 * i);
        if (!json_is_number(s)) {
            bad(ctx, "%s: a stop must be a literal number", sub);
            goto fail;
        }
        e->stops[i] = json_number_value(s);
        if (i > 0 && !(e->stops[i] > e->stops[i - 1])) {
            bad(ctx, "%s: stops must be in strictly ascending order", sub);
            goto fail;
        }
        pdbt_vtype out_type = e->op == OP_INTERP && want == PDBT_V_NULL ? PDBT_V_NUM : want;
        if (add_arg(ctx, e, json_array_get(j, first + 2 * i + 1), out_type, path,
                    first + 2 * i + 1) != 0)
            goto fail;
    }
    return e;
fail:
    pdbt__expr_free(e);
    return NULL;
}

static pdbt_expr *compile(pdbt_ctx *ctx, const json_t *j, pdbt_vtype want, const char *path)
{
    if (!json_is_array(j))
        return compile_literal(ctx, j, want, path);
    size_t n = json_array_size(j);
    const char *name = n > 0 ? json_string_value(json_array_get(j, 0)) : NULL;
    if (name == NULL) {
        bad(ctx, "%s: an expression must start with an operator name", path);
        return NULL;
    }
    op o = OP_LIT;
    size_t k;
    for (k = 0; k < PDB_COUNTOF(ops); k++)
        if (strcmp(name, ops[k].name) == 0) {
            o = ops[k].op;
            break;
        }
    if (k == PDB_COUNTOF(ops)) {
        bad(ctx, "%s: unknown expression operator '%s'", path, name);
        return NULL;
    }
    pdbt_expr *e = node(o);
    if (e == NULL) {
        oom(ctx, path);
        return NULL;
    }
    switch (o) {
    case OP_LIT:
        pdbt__expr_free(e);
        if (n != 2 || json_is_array(json_array_get(j, 1)) || json_is_object(json_array_get(j, 1))) {
            bad(ctx, "%s: literal takes one string, number or boolean", path);
            return NULL;
        }
        return compile_literal(ctx, json_array_get(j, 1), want, path);
    case OP_GET:
    case OP_HAS: {
        const char *prop = n == 2 ? json_string_value(json_array_get(j, 1)) : NULL;
        if (prop == NULL) {
            bad(ctx, "%s: %s takes one property name", path, name);
            goto fail;
        }
        for (k = 0; k < PDBT_FP_COUNT; k++)
            if (strcmp(prop, prop_names[k]) == 0)
                break;
        if (k == PDBT_FP_COUNT) {
            bad(ctx,
                "%s: unknown feature property '%s' (known: id, commune, commune_name, sheet, "
                "parcel, landuse, landuse_main, area, kind)",
                path, prop);
            goto fail;
        }
        e->key = (pdbt_prop_key)k;
        e->uses_feature = 1;
        e->props = 1u << k;
        return e;
    }
    case OP_ZOOM:
        if (n != 1) {
            bad(ctx, "%s: zoom takes no argument", path);
            goto fail;
        }
        return e;
    case OP_MATCH:
        return compile_match(ctx, e, j, want, path);
    case OP_INTERP:
    case OP_STEP:
        return compile_stops(ctx, e, j, want, path);
    case OP_CASE:
        if (n < 4 || n % 2 != 0) {
            bad(ctx, "%s: case wants condition/output pairs and a fallback", path);
            goto fail;
        }
        for (size_t i = 1; i < n; i++)
            if (add_arg(ctx, e, json_array_get(j, i),
                        (i % 2 == 1 && i + 1 < n) ? PDBT_V_BOOL : want, path, i) != 0)
                goto fail;
        return e;
    case OP_COALESCE:
    case OP_ALL:
    case OP_ANY:
    case OP_CONCAT:
        if (n < 2 && o != OP_ALL && o != OP_ANY) {
            bad(ctx, "%s: %s wants at least one argument", path, name);
            goto fail;
        }
        for (size_t i = 1; i < n; i++)
            if (add_arg(ctx, e, json_array_get(j, i),
                        o == OP_COALESCE ? want : (o == OP_CONCAT ? PDBT_V_NULL : PDBT_V_BOOL),
                        path, i) != 0)
                goto fail;
        return e;
    case OP_EQ:
    case OP_NE:
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
        if (n != 3) {
            bad(ctx, "%s: %s compares two values", path, name);
            goto fail;
        }
        if (add_arg(ctx, e, json_array_get(j, 1), PDBT_V_NULL, path, 1) != 0 ||
            add_arg(ctx, e, json_array_get(j, 2), PDBT_V_NULL, path, 2) != 0)
            goto fail;
        return e;
    case OP_NOT:
    case OP_TOSTR:
    case OP_TONUM:
    case OP_ROUND:
        if (n != 2) {
            bad(ctx, "%s: %s takes one argument", path, name);
            goto fail;
        }
        if (add_arg(ctx, e, json_array_get(j, 1),
                    o == OP_NOT     ? PDBT_V_BOOL
                    : o == OP_ROUND ? PDBT_V_NUM
                                    : PDBT_V_NULL,
                    path, 1) != 0)
            goto fail;
        return e;
    }
fail:
    pdbt__expr_free(e);
    return NULL;
}

pdb_status pdbt__expr_compile(pdbt_ctx *ctx, const json_t *j, pdbt_vtype want, const char *path,
                              pdbt_expr **out)
{
    *out = compile(ctx, j, want, path);
    return *out != NULL ? PDB_OK : ctx->status;
}

/* ------------------------------------------------------------------------ */
/* Evaluating                                                                */
/* ------------------------------------------------------------------------ */

static const pdbt_value null_value = {PDBT_V_NULL, 0, 0, NULL, {0, 0, 0, 0}};

static pdbt_value num(double n)
{
    pdbt_value v = null_value;
    v.t = PDBT_V_NUM;
    v.n = n;
    return v;
}

static pdbt_value boolean(int b)
{
    pdbt_value v = null_value;
    v.t = PDBT_V_BOOL;
    v.b = b != 0;
    return v;
}

static pdbt_value str(const char *s)
{
    pdbt_value v = null_value;
    if (s != NULL) {
        v.t = PDBT_V_STR;
        v.s = s;
    }
    return v;
}

/* Writes text into the scratch buffer; returns it, or NULL when full. */
static const char *scratch_put(pdbt_eval_env *env, const char *s, size_t len)
{
    if (env->scratch_used + len + 1 > sizeof env->scratch)
        return NULL;
    char *p = env->scratch + env->scratch_used;
    memcpy(p, s, len);
    p[len] = '\0';
    env->scratch_used += len + 1;
    return p;
}

/* The text of a value as to-string writes it. */
static size_t value_text(pdbt_value v, char *buf, size_t cap)
{
    int n = 0;
    switch (v.t) {
    case PDBT_V_NULL:
        n = snprintf(buf, cap, "%s", "");
        break;
    case PDBT_V_BOOL:
        n = snprintf(buf, cap, "%s", v.b ? "true" : "false");
        break;
    case PDBT_V_NUM:
        n = snprintf(buf, cap, "%.15g", v.n);
        break;
    case PDBT_V_STR:
        n = snprintf(buf, cap, "%s", v.s);
        break;
    case PDBT_V_COLOR:
        n = snprintf(buf, cap, "rgba(%d,%d,%d,%g)", (int)lround(v.c.r * 255),
                     (int)lround(v.c.g * 255), (int)lround(v.c.b * 255), v.c.a);
        break;
    }
    return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}

static int compare(pdbt_value a, pdbt_value b, op o)
{
    int c;
    if (a.t != b.t) {
        /* Different types are only ever unequal (MapLibre's == and !=);
         * ordering them is false. */
        return o == OP_NE;
    }
    switch (a.t) {
    case PDBT_V_NULL:
        c = 0;
        break;
    case PDBT_V_BOOL:
        c = a.b - b.b;
        break;
    case PDBT_V_NUM:
        c = (a.n > b.n) - (a.n < b.n);
        break;
    case PDBT_V_STR:
        c = strcmp(a.s, b.s);
        break;
    default:
        c = memcmp(&a.c, &b.c, sizeof a.c) != 0;
        if (o != OP_EQ && o != OP_NE)
            return 0;
    }
    switch (o) {
    case OP_EQ:
        return c == 0;
    case OP_NE:
        return c != 0;
    case OP_LT:
        return c < 0;
    case OP_LE:
        return c <= 0;
    case OP_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

/* Interpolation factor between two stops, MapLibre's formula. */
static double interp_t(double base, double x, double lo, double hi)
{
    double d = hi - lo, p = x - lo;
    if (d == 0)
        return 0;
    if (base == 1.0)
        return p / d;
    double t = (pow(base, p) - 1) / (pow(base, d) - 1);
    /* A large base overflows both powers (inf / inf = NaN); the factor
     * then is its limit, base^(p - d), which stays in [0, 1]. */
    return isfinite(t) ? t : pow(base, p - d);
}

static pdbt_value lerp(pdbt_value a, pdbt_value b, double t)
{
    if (a.t == PDBT_V_NUM && b.t == PDBT_V_NUM) /* not a + (b - a) * t: b - a may overflow */
        return num(a.n * (1 - t) + b.n * t);
    if (a.t == PDBT_V_COLOR && b.t == PDBT_V_COLOR) {
        pdbt_value v = a;
        v.c.r = a.c.r + (b.c.r - a.c.r) * t;
        v.c.g = a.c.g + (b.c.g - a.c.g) * t;
        v.c.b = a.c.b + (b.c.b - a.c.b) * t;
        v.c.a = a.c.a + (b.c.a - a.c.a) * t;
        return v;
    }
    return null_value;
}

static pdbt_value eval_match(const pdbt_expr *e, pdbt_eval_env *env)
{
    pdbt_value in = pdbt__expr_eval(e->args[0], env);
    size_t lo = 0, hi = e->nlabels;
    if ((e->labels_str && in.t == PDBT_V_STR) || (!e->labels_str && in.t == PDBT_V_NUM)) {
        match_label key = {in, 0};
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            int c = label_cmp(&key, &e->labels[mid]);
            if (c == 0)
                return pdbt__expr_eval(e->args[e->labels[mid].arm], env);
            if (c < 0)
                hi = mid;
            else
                lo = mid + 1;
        }
    }
    return pdbt__expr_eval(e->args[e->nargs - 1], env);
}

pdbt_value pdbt__expr_eval(const pdbt_expr *e, pdbt_eval_env *env)
{
    switch (e->op) {
    case OP_LIT:
        return e->lit;
    case OP_GET:
        if (e->key == PDBT_FP_ID || e->key == PDBT_FP_AREA)
            return num(env->num[e->key]);
        return str(env->str[e->key]);
    case OP_HAS:
        return boolean(e->key == PDBT_FP_ID || e->key == PDBT_FP_AREA || env->str[e->key] != NULL);
    case OP_ZOOM:
        return num(env->zoom);
    case OP_MATCH:
        return eval_match(e, env);
    case OP_CASE:
        for (size_t i = 0; i + 1 < e->nargs; i += 2) {
            pdbt_value c = pdbt__expr_eval(e->args[i], env);
            if (c.t == PDBT_V_BOOL && c.b)
                return pdbt__expr_eval(e->args[i + 1], env);
        }
        return pdbt__expr_eval(e->args[e->nargs - 1], env);
    case OP_COALESCE:
        for (size_t i = 0; i < e->nargs; i++) {
            pdbt_value v = pdbt__expr_eval(e->args[i], env);
            if (v.t != PDBT_V_NULL)
                return v;
        }
        return null_value;
    case OP_INTERP: {
        pdbt_value in = pdbt__expr_eval(e->args[0], env);
        if (in.t != PDBT_V_NUM)
            return null_value;
        if (in.n <= e->stops[0])
            return pdbt__expr_eval(e->args[1], env);
        for (size_t i = 1; i < e->nstops; i++)
            if (in.n <= e->stops[i])
                return lerp(pdbt__expr_eval(e->args[i], env), pdbt__expr_eval(e->args[i + 1], env),
                            interp_t(e->base, in.n, e->stops[i - 1], e->stops[i]));
        return pdbt__expr_eval(e->args[e->nstops], env);
    }
    case OP_STEP: {
        pdbt_value in = pdbt__expr_eval(e->args[0], env);
        size_t arm = 1;
        if (in.t == PDBT_V_NUM)
            for (size_t i = 0; i < e->nstops && in.n >= e->stops[i]; i++)
                arm = i + 2;
        return pdbt__expr_eval(e->args[arm], env);
    }
    case OP_EQ:
    case OP_NE:
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
        return boolean(
            compare(pdbt__expr_eval(e->args[0], env), pdbt__expr_eval(e->args[1], env), e->op));
    case OP_NOT: {
        pdbt_value v = pdbt__expr_eval(e->args[0], env);
        return v.t == PDBT_V_BOOL ? boolean(!v.b) : null_value;
    }
    case OP_ALL:
        for (size_t i = 0; i < e->nargs; i++) {
            pdbt_value v = pdbt__expr_eval(e->args[i], env);
            if (v.t != PDBT_V_BOOL || !v.b)
                return boolean(0);
        }
        return boolean(1);
    case OP_ANY:
        for (size_t i = 0; i < e->nargs; i++) {
            pdbt_value v = pdbt__expr_eval(e->args[i], env);
            if (v.t == PDBT_V_BOOL && v.b)
                return boolean(1);
        }
        return boolean(0);
    case OP_CONCAT: {
        char buf[256];
        size_t len = 0;
        for (size_t i = 0; i < e->nargs; i++)
            len += value_text(pdbt__expr_eval(e->args[i], env), buf + len, sizeof buf - len);
        return str(scratch_put(env, buf, len));
    }
    case OP_TOSTR: {
        char buf[128];
        pdbt_value v = pdbt__expr_eval(e->args[0], env);
        if (v.t == PDBT_V_STR)
            return v;
        size_t len = value_text(v, buf, sizeof buf);
        return str(scratch_put(env, buf, len));
    }
    case OP_ROUND: {
        pdbt_value v = pdbt__expr_eval(e->args[0], env);
        return v.t == PDBT_V_NUM ? num(round(v.n)) : null_value;
    }
    case OP_TONUM: {
        pdbt_value v = pdbt__expr_eval(e->args[0], env);
        if (v.t == PDBT_V_NUM)
            return v;
        if (v.t == PDBT_V_BOOL)
            return num(v.b);
        if (v.t == PDBT_V_STR) {
            char *end;
            double d = strtod(v.s, &end);
            if (end != v.s && *end == '\0' && isfinite(d))
                return num(d);
        }
        return null_value;
    }
    }
    return null_value;
}
