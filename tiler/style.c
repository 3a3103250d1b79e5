/*
 * style.c: loading a style (styles/README.md): a MapLibre style document
 * restricted to what a raster parcel map needs. Every member is checked:
 * an unknown or unsupported property is an error naming the file, the JSON
 * path and the problem, never ignored, so that a typo cannot silently
 * change a map.
 */
#include "style.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One paint or layout property a layer type accepts. */
typedef struct prop_def {
    const char *name;     /* as in the MapLibre specification */
    int layout;           /* 1 for layout, 0 for paint */
    pdbt_layer_type type; /* the layer type it belongs to */
    pdbt_prop_slot slot;  /* where the compiled expression goes */
    pdbt_vtype want;      /* the value type */
} prop_def;

static const prop_def prop_defs[] = {
    {"fill-color", 0, PDBT_LAYER_FILL, PDBT_P_FILL_COLOR, PDBT_V_COLOR},
    {"fill-opacity", 0, PDBT_LAYER_FILL, PDBT_P_FILL_OPACITY, PDBT_V_NUM},
    {"fill-antialias", 0, PDBT_LAYER_FILL, PDBT_P_FILL_ANTIALIAS, PDBT_V_BOOL},
    {"line-color", 0, PDBT_LAYER_LINE, PDBT_P_LINE_COLOR, PDBT_V_COLOR},
    {"line-width", 0, PDBT_LAYER_LINE, PDBT_P_LINE_WIDTH, PDBT_V_NUM},
    {"line-opacity", 0, PDBT_LAYER_LINE, PDBT_P_LINE_OPACITY, PDBT_V_NUM},
    {"line-join", 1, PDBT_LAYER_LINE, PDBT_P_LINE_JOIN, PDBT_V_STR},
    {"line-cap", 1, PDBT_LAYER_LINE, PDBT_P_LINE_CAP, PDBT_V_STR},
    {"text-field", 1, PDBT_LAYER_SYMBOL, PDBT_P_TEXT_FIELD, PDBT_V_NULL},
    {"text-size", 1, PDBT_LAYER_SYMBOL, PDBT_P_TEXT_SIZE, PDBT_V_NUM},
    {"text-padding", 1, PDBT_LAYER_SYMBOL, PDBT_P_TEXT_PADDING, PDBT_V_NUM},
    {"text-allow-overlap", 1, PDBT_LAYER_SYMBOL, PDBT_P_TEXT_ALLOW_OVERLAP, PDBT_V_BOOL},
    {"symbol-sort-key", 1, PDBT_LAYER_SYMBOL, PDBT_P_SYMBOL_SORT_KEY, PDBT_V_NUM},
    {"text-color", 0, PDBT_LAYER_SYMBOL, PDBT_P_TEXT_COLOR, PDBT_V_COLOR},
    {"text-halo-color", 0, PDBT_LAYER_SYMBOL, PDBT_P_TEXT_HALO_COLOR, PDBT_V_COLOR},
    {"text-halo-width", 0, PDBT_LAYER_SYMBOL, PDBT_P_TEXT_HALO_WIDTH, PDBT_V_NUM},
    {"text-opacity", 0, PDBT_LAYER_SYMBOL, PDBT_P_TEXT_OPACITY, PDBT_V_NUM},
};

static const char *const type_names[] = {"fill", "line", "symbol"};

typedef struct loader {
    pdbt_ctx *ctx;    /* where the message goes */
    const char *file; /* the file's name, for messages */
} loader;

/* Puts the file's name before the message on the context (from the
 * loader or from the expression compiler): the line a user reads is
 * "file: JSON path: problem". Returns -1. */
static int name_file(loader *ld)
{
    pdbt__fail(ld->ctx, ld->ctx->status, "%s: %s", ld->file, ld->ctx->msg);
    return -1;
}

/* A malformed style (PDB_EINVAL): the JSON path and the problem. */
static int fail(loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(loader *ld, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pdbt__failv(ld->ctx, PDB_EINVAL, fmt, ap);
    va_end(ap);
    return name_file(ld);
}

static int oom(loader *ld, const char *path)
{
    pdbt__fail(ld->ctx, PDB_ENOMEM, "%s%sout of memory", path, *path ? ": " : "");
    return name_file(ld);
}

void pdbt_style_free(pdbt_style *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nlayers; i++) {
        pdbt_style_layer *l = &s->layers[i];
        free(l->id);
        free(l->font);
        pdbt__expr_free(l->filter);
        for (int p = 0; p < PDBT_P_COUNT; p++)
            pdbt__expr_free(l->props[p]);
    }
    free(s->layers);
    json_decref(s->doc);
    free(s->name);
    free(s);
}

const char *pdbt_style_name(const pdbt_style *s)
{
    return s->name ? s->name : "";
}

uint64_t pdbt_style_hash(const pdbt_style *s)
{
    return s->hash;
}

/* Checks that every key of obj is in the NULL-terminated list. */
static int check_keys(loader *ld, const json_t *obj, const char *path, const char *const *known,
                      const char *what)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        int found = 0;
        for (size_t i = 0; known[i] != NULL && !found; i++)
            found = strcmp(key, known[i]) == 0;
        if (!found)
            return fail(ld, "%s%s%s: unknown %s", path, *path ? "." : "", key, what);
    }
    return 0;
}

/* Compiles one property with a literal check for enumerations. */
static int compile_prop(loader *ld, pdbt_style_layer *l, const prop_def *d, const json_t *v,
                        const char *path)
{
    if (d->slot == PDBT_P_LINE_JOIN || d->slot == PDBT_P_LINE_CAP) {
        static const char *const joins[] = {"bevel", "round", "miter", NULL};
        static const char *const caps[] = {"butt", "round", "square", NULL};
        const char *const *allowed = d->slot == PDBT_P_LINE_JOIN ? joins : caps;
        const char *s = json_string_value(v);
        int ok = 0;
        for (size_t i = 0; s != NULL && allowed[i] != NULL; i++)
            ok |= strcmp(s, allowed[i]) == 0;
        if (!ok)
            return fail(ld, "%s: must be one of %s, %s, %s", path, allowed[0], allowed[1],
                        allowed[2]);
    }
    if (pdbt__expr_compile(ld->ctx, v, d->want, path, &l->props[d->slot]) != PDB_OK)
        return name_file(ld);
    return 0;
}

/* line-dasharray: a literal array of non-negative numbers. */
static int parse_dash(loader *ld, pdbt_style_layer *l, const json_t *v, const char *path)
{
    size_t n = json_array_size(v);
    if (!json_is_array(v) || n == 0 || n > PDB_COUNTOF(l->dash))
        return fail(ld, "%s: must be an array of 1 to %zu numbers", path, PDB_COUNTOF(l->dash));
    for (size_t i = 0; i < n; i++) {
        const json_t *x = json_array_get(v, i);
        if (!json_is_number(x) || json_number_value(x) < 0)
            return fail(ld, "%s[%zu]: must be a number >= 0", path, i);
        l->dash[i] = json_number_value(x);
    }
    l->ndash = (int)n;
    return 0;
}

/* text-font: an array of font names; the first is used. */
static int parse_font(loader *ld, pdbt_style_layer *l, const json_t *v, const char *path)
{
    const char *name = json_is_array(v) ? json_string_value(json_array_get(v, 0)) : NULL;
    if (name == NULL)
        return fail(ld, "%s: must be an array of font names, e.g. [\"DejaVu Sans\"]", path);
    free(l->font);
    l->font = strdup(name);
    return l->font ? 0 : oom(ld, path);
}

static int parse_props(loader *ld, pdbt_style_layer *l, const json_t *obj, int layout,
                       const char *path)
{
    const char *key;
    json_t *v;
    char sub[400];
    if (!json_is_object(obj))
        return fail(ld, "%s: must be an object", path);
    json_object_foreach((json_t *)obj, key, v)
    {
        snprintf(sub, sizeof sub, "%s.%s", path, key);
        if (layout && strcmp(key, "visibility") == 0) {
            const char *s = json_string_value(v);
            if (s == NULL || (strcmp(s, "visible") != 0 && strcmp(s, "none") != 0))
                return fail(ld, "%s: must be \"visible\" or \"none\"", sub);
            l->visible = strcmp(s, "visible") == 0;
            continue;
        }
        if (!layout && l->type == PDBT_LAYER_LINE && strcmp(key, "line-dasharray") == 0) {
            if (parse_dash(ld, l, v, sub) != 0)
                return -1;
            continue;
        }
        if (layout && l->type == PDBT_LAYER_SYMBOL && strcmp(key, "text-font") == 0) {
            if (parse_font(ld, l, v, sub) != 0)
                return -1;
            continue;
        }
        const prop_def *d = NULL;
        for (size_t i = 0; i < PDB_COUNTOF(prop_defs) && d == NULL; i++)
            if (prop_defs[i].type == l->type && prop_defs[i].layout == layout &&
                strcmp(prop_defs[i].name, key) == 0)
                d = &prop_defs[i];
        if (d == NULL) {
            for (size_t i = 0; i < PDB_COUNTOF(prop_defs); i++)
                if (prop_defs[i].type == l->type && strcmp(prop_defs[i].name, key) == 0)
                    return fail(ld, "%s: '%s' is a %s property, not a %s one", sub, key,
                                prop_defs[i].layout ? "layout" : "paint",
                                layout ? "layout" : "paint");
            return fail(ld, "%s: unknown %s property for a %s layer", sub,
                        layout ? "layout" : "paint", type_names[l->type]);
        }
        if (compile_prop(ld, l, d, v, sub) != 0)
            return -1;
    }
    return 0;
}

static int parse_zoom(loader *ld, const json_t *v, const char *path, int *out)
{
    if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 24)
        return fail(ld, "%s: must be a number from 0 to 24", path);
    /* Tiles have whole zooms: a layer from 15.5 starts at tile zoom 16. */
    double z = json_number_value(v);
    *out = (int)z + (z > (int)z);
    return 0;
}

static int parse_layer(loader *ld, pdbt_style_layer *l, const json_t *j, size_t index,
                       const json_t *sources)
{
    static const char *const keys[] = {"id",      "type",     "source", "source-layer",
                                       "minzoom", "maxzoom",  "filter", "layout",
                                       "paint",   "metadata", NULL};
    char path[64], sub[128];
    snprintf(path, sizeof path, "layers[%zu]", index);
    l->visible = 1;
    l->minzoom = 0;
    l->maxzoom = 25;
    if (!json_is_object(j))
        return fail(ld, "%s: a layer must be an object", path);
    if (check_keys(ld, j, path, keys, "layer property") != 0)
        return -1;
    const char *id = json_string_value(json_object_get(j, "id"));
    if (id == NULL || *id == '\0')
        return fail(ld, "%s.id: every layer needs a string id", path);
    if ((l->id = strdup(id)) == NULL)
        return oom(ld, path);
    const char *type = json_string_value(json_object_get(j, "type"));
    if (type == NULL)
        return fail(ld, "%s.type: missing (fill, line or symbol)", path);
    size_t t;
    for (t = 0; t < PDB_COUNTOF(type_names); t++)
        if (strcmp(type, type_names[t]) == 0)
            break;
    if (t == PDB_COUNTOF(type_names))
        return fail(ld, "%s.type: '%s' is not supported (fill, line or symbol)", path, type);
    l->type = (pdbt_layer_type)t;
    const char *src = json_string_value(json_object_get(j, "source"));
    if (src == NULL)
        return fail(ld, "%s.source: missing", path);
    if (json_object_get(sources, src) == NULL)
        return fail(ld, "%s.source: '%s' is not one of the style's sources", path, src);
    const char *sl = json_string_value(json_object_get(j, "source-layer"));
    if (sl == NULL)
        return fail(ld, "%s.source-layer: missing (parcels or communes)", path);
    if (strcmp(sl, "parcels") == 0)
        l->source = PDBT_SRC_PARCELS;
    else if (strcmp(sl, "communes") == 0)
        l->source = PDBT_SRC_COMMUNES;
    else
        return fail(ld, "%s.source-layer: '%s' is not a layer of parceldb (parcels or communes)",
                    path, sl);
    const json_t *v;
    if ((v = json_object_get(j, "minzoom")) != NULL) {
        snprintf(sub, sizeof sub, "%s.minzoom", path);
        if (parse_zoom(ld, v, sub, &l->minzoom) != 0)
            return -1;
    }
    if ((v = json_object_get(j, "maxzoom")) != NULL) {
        snprintf(sub, sizeof sub, "%s.maxzoom", path);
        if (parse_zoom(ld, v, sub, &l->maxzoom) != 0)
            return -1;
    }
    if ((v = json_object_get(j, "filter")) != NULL) {
        snprintf(sub, sizeof sub, "%s.filter", path);
        if (pdbt__expr_compile(ld->ctx, v, PDBT_V_BOOL, sub, &l->filter) != PDB_OK)
            return name_file(ld);
    }
    if ((v = json_object_get(j, "layout")) != NULL) {
        snprintf(sub, sizeof sub, "%s.layout", path);
        if (parse_props(ld, l, v, 1, sub) != 0)
            return -1;
    }
    if ((v = json_object_get(j, "paint")) != NULL) {
        snprintf(sub, sizeof sub, "%s.paint", path);
        if (parse_props(ld, l, v, 0, sub) != 0)
            return -1;
    }
    if (l->type == PDBT_LAYER_SYMBOL && l->props[PDBT_P_TEXT_FIELD] == NULL)
        return fail(ld, "%s.layout.text-field: a symbol layer needs a text-field", path);
    return 0;
}

static int parse_sources(loader *ld, const json_t *sources)
{
    static const char *const keys[] = {"type",    "url",         "tiles",  "minzoom",
                                       "maxzoom", "attribution", "bounds", NULL};
    const char *name;
    json_t *src;
    char path[300];
    if (!json_is_object(sources) || json_object_size(sources) == 0)
        return fail(ld, "sources: must be an object with at least one source");
    json_object_foreach((json_t *)sources, name, src)
    {
        snprintf(path, sizeof path, "sources.%s", name);
        if (!json_is_object(src))
            return fail(ld, "%s: must be an object", path);
        if (check_keys(ld, src, path, keys, "source property") != 0)
            return -1;
        const char *type = json_string_value(json_object_get(src, "type"));
        if (type == NULL || (strcmp(type, "vector") != 0 && strcmp(type, "parceldb") != 0))
            return fail(ld, "%s.type: must be \"vector\" or \"parceldb\" (the store)", path);
    }
    return 0;
}

static uint64_t fnv1a(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

pdb_status pdbt_style_parse(pdbt_ctx *ctx, const char *text, size_t len, const char *name,
                            pdbt_style **out)
{
    static const char *const keys[] = {"version", "name",   "metadata", "sources",
                                       "layers",  "center", "zoom",     "bearing",
                                       "pitch",   "glyphs", "sprite",   NULL};
    loader ld = {ctx, name ? name : "style"};
    json_error_t jerr;
    pdbt_style *s = NULL;
    json_t *root;

    pdbt__ok(ctx);
    *out = NULL;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        fail(&ld, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
        return PDB_EINVAL;
    }
    if (!json_is_object(root)) {
        fail(&ld, "the style must be a JSON object");
        goto bad;
    }
    if (check_keys(&ld, root, "", keys, "style property") != 0)
        goto bad;
    const json_t *version = json_object_get(root, "version");
    if (!json_is_integer(version) || json_integer_value(version) != 8) {
        fail(&ld, "version: must be 8 (the MapLibre style version)");
        goto bad;
    }
    if (parse_sources(&ld, json_object_get(root, "sources")) != 0)
        goto bad;
    const json_t *layers = json_object_get(root, "layers");
    if (!json_is_array(layers)) {
        fail(&ld, "layers: must be an array");
        goto bad;
    }
    if ((s = calloc(1, sizeof *s)) == NULL ||
        (s->layers = calloc(json_array_size(layers) + 1, sizeof *s->layers)) == NULL) {
        oom(&ld, "");
        goto bad;
    }
    const char *sname = json_string_value(json_object_get(root, "name"));
    if (json_object_get(root, "name") != NULL && sname == NULL) {
        fail(&ld, "name: must be a string");
        goto bad;
    }
    s->name = strdup(sname ? sname : "");
    s->hash = fnv1a(text, len);
    for (size_t i = 0; i < json_array_size(layers); i++) {
        s->nlayers++;
        if (parse_layer(&ld, &s->layers[i], json_array_get(layers, i), i,
                        json_object_get(root, "sources")) != 0)
            goto bad;
        for (size_t k = 0; k < i; k++)
            if (strcmp(s->layers[k].id, s->layers[i].id) == 0) {
                fail(&ld, "layers[%zu].id: '%s' is already the id of layers[%zu]", i,
                     s->layers[i].id, k);
                goto bad;
            }
    }
    s->doc = root; /* kept for pdbt_style_maplibre */
    *out = s;
    return PDB_OK;
bad:
    json_decref(root);
    pdbt_style_free(s);
    return ctx->status;
}

/* styles/landuse.json, written into style_builtin.c by tiler/embed.cmake. */
extern const unsigned char pdbt__style_builtin_json[];
extern const size_t pdbt__style_builtin_json_len;

pdb_status pdbt_style_builtin(pdbt_ctx *ctx, pdbt_style **out)
{
    return pdbt_style_parse(ctx, (const char *)pdbt__style_builtin_json,
                            pdbt__style_builtin_json_len, "built-in styles/landuse.json", out);
}

int pdbt_style_default_path(char *out, size_t cap)
{
    const char *dirs[3] = {getenv("PARCELDB_STYLE_DIR"), PDB_STYLE_INSTALL_DIR,
                           PDB_STYLE_SOURCE_DIR};
    for (size_t i = 0; i < PDB_COUNTOF(dirs); i++) {
        if (dirs[i] == NULL || *dirs[i] == '\0')
            continue;
        int n = snprintf(out, cap, "%s/landuse.json", dirs[i]);
        FILE *f = n > 0 && (size_t)n < cap ? fopen(out, "rb") : NULL;
        if (f != NULL) {
            fclose(f);
            return 0;
        }
    }
    return -1;
}

pdb_status pdbt_style_load(pdbt_ctx *ctx, const char *path, pdbt_style **out)
{
    pdbt__ok(ctx);
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int e = errno;
        return pdbt__fail(ctx, e == ENOENT ? PDB_ENOTFOUND : PDB_EIO, "%s: %s", path, strerror(e));
    }
    size_t cap = 1 << 16, len = 0, got;
    char *buf = malloc(cap);
    pdb_status st = PDB_OK;
    while (buf != NULL && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            if (cap >= (size_t)16 << 20) { /* no style is this big */
                st = pdbt__fail(ctx, PDB_ELIMIT, "%s: larger than 16 MiB, not a style", path);
                break;
            }
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL)
                break;
            buf = bigger;
            cap *= 2;
        }
    }
    if (st == PDB_OK && (buf == NULL || ferror(f))) {
        st = pdbt__fail(ctx, buf == NULL ? PDB_ENOMEM : PDB_EIO, "%s: %s", path,
                        buf == NULL ? "out of memory" : "read error");
    }
    fclose(f);
    if (st == PDB_OK)
        st = pdbt_style_parse(ctx, buf, len, path, out);
    free(buf);
    return st;
}
