/*
 * mvt_style.c: a style file (styles/, the PNG tiles' own) rewritten as a
 * MapLibre GL style over the vector tiles, so that both maps take their
 * colours, zooms and filters from the one file. The PNG renderer reads
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
