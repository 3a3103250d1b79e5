/*
 * mvt_style.c: a style file (styles/, the PNG tiles' own) rewritten as a
 * MapLibre GL style over the vector tiles, so that both maps take their
 * colours, zooms and filters from the one file (zooms one less: a
 * MapLibre zoom is of 512 px tiles). The PNG renderer reads
 * every layer from a feature's full property set; the vector tiles split
 * it in three layers, so three things change: the sources become the
 * vector TileJSON, symbol layers on "parcels" read the point layer
 * "labels" (one point a parcel, where the PNG renderer puts its label),
 * and layers on "communes" read that layer's "code" and "name" where the
 * renderer says "commune" and "commune_name".
 */
#include "render.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Rewrites ["get", from] into ["get", to] anywhere in an expression. */
static void rename_get(json_t *e, const char *from, const char *to)
{
    if (json_is_array(e)) {
        if (json_array_size(e) == 2 && json_is_string(json_array_get(e, 0)) &&
            strcmp(json_string_value(json_array_get(e, 0)), "get") == 0 &&
            json_is_string(json_array_get(e, 1)) &&
            strcmp(json_string_value(json_array_get(e, 1)), from) == 0) {
            json_array_set_new(e, 1, json_string(to));
            return;
        }
        for (size_t i = 0; i < json_array_size(e); i++)
            rename_get(json_array_get(e, i), from, to);
    } else if (json_is_object(e)) {
        const char *k;
        json_t *v;
        json_object_foreach(e, k, v)
        {
            rename_get(v, from, to);
        }
    }
}

/* Zoom stops of an expression, one zoom less: ["interpolate", how,
 * ["zoom"], z, v, ...] and ["step", ["zoom"], v, z, v, ...], anywhere. */
static void shift_zoom_stops(json_t *e)
{
    if (json_is_object(e)) {
        const char *k;
        json_t *v;
        json_object_foreach(e, k, v)
        {
            shift_zoom_stops(v);
        }
        return;
    }
    if (!json_is_array(e))
        return;
    size_t n = json_array_size(e);
    const char *op = json_string_value(json_array_get(e, 0));
    size_t input = 0, first = 0;
    if (op != NULL && n >= 5 && strcmp(op, "interpolate") == 0)
        input = 2, first = 3;
    else if (op != NULL && n >= 5 && strcmp(op, "step") == 0)
        input = 1, first = 3;
    json_t *in = input ? json_array_get(e, input) : NULL;
    int on_zoom = json_is_array(in) && json_array_size(in) == 1 &&
                  json_is_string(json_array_get(in, 0)) &&
                  strcmp(json_string_value(json_array_get(in, 0)), "zoom") == 0;
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(e, i);
        if (on_zoom && i >= first && (i - first) % 2 == 0 && json_is_number(x))
            json_array_set_new(e, i, json_real(json_number_value(x) - 1));
        else
            shift_zoom_stops(x);
    }
}

/* A layer's "minzoom" or "maxzoom", one less (at least 0). */
static int shift_zoom_key(json_t *l, const char *key)
{
    json_t *z = json_object_get(l, key);
    if (!json_is_number(z))
        return 0;
    double v = json_number_value(z) - 1;
    return json_object_set_new(l, key, json_real(v > 0 ? v : 0)) != 0;
}

pdb_status pdbt_style_maplibre(pdbt_ctx *ctx, const pdbt_style *style, const char *tilejson_url,
                               const char *glyphs_url, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    pdbt__ok(ctx);
    if (style->doc == NULL)
        return pdbt__fail(ctx, PDB_EINVAL, "the style was not loaded from JSON");
    json_t *doc = json_deep_copy(style->doc);
    if (doc == NULL)
        return pdbt__fail(ctx, PDB_ENOMEM, "out of memory writing the MapLibre style");
    int oom = 0, text = 0;
    json_t *sources = json_object_get(doc, "sources");
    const char *id;
    json_t *src;
    json_object_foreach(sources, id, src)
    {
        json_object_clear(src);
        oom |= json_object_set_new(src, "type", json_string("vector")) != 0;
        oom |= json_object_set_new(src, "url", json_string(tilejson_url)) != 0;
    }
    json_t *layers = json_object_get(doc, "layers");
    for (size_t i = 0; i < json_array_size(layers); i++) {
        json_t *l = json_array_get(layers, i);
        const char *type = json_string_value(json_object_get(l, "type"));
        const char *sl = json_string_value(json_object_get(l, "source-layer"));
        int symbol = type != NULL && strcmp(type, "symbol") == 0;
        /* Without glyphs MapLibre cannot draw a label: the layer would
         * only fail each glyph request. */
        if (symbol && glyphs_url == NULL) {
            oom |= json_array_remove(layers, i--) != 0;
            continue;
        }
        /* The style's zooms are of 256 px tiles (the PNG tiles'), a
         * MapLibre map's of 512 px ones: the same scale is one zoom less,
         * so that both maps change at the same scale. */
        oom |= shift_zoom_key(l, "minzoom") | shift_zoom_key(l, "maxzoom");
        shift_zoom_stops(json_object_get(l, "paint"));
        shift_zoom_stops(json_object_get(l, "layout"));
        shift_zoom_stops(json_object_get(l, "filter"));
        text |= symbol;
        if (sl != NULL && strcmp(sl, "parcels") == 0 && symbol) {
            oom |= json_object_set_new(l, "source-layer", json_string("labels")) != 0;
        } else if (sl != NULL && strcmp(sl, "communes") == 0) {
            rename_get(l, "commune_name", "name");
            rename_get(l, "commune", "code");
        }
    }
    if (text && glyphs_url != NULL)
        oom |= json_object_set_new(doc, "glyphs", json_string(glyphs_url)) != 0;
    char *s = oom ? NULL : json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (s == NULL)
        return pdbt__fail(ctx, PDB_ENOMEM, "out of memory writing the MapLibre style");
    *out = s;
    *len = strlen(s);
    return PDB_OK;
}
