/*
 * geojson.c: parcels as RFC 7946 GeoJSON, built with jansson: WGS 84
 * lon/lat, exterior rings counter-clockwise, coordinates rounded to 1e-9
 * degree (about 0.1 mm, well under the centimetre the survey keeps).
 */
#include "wkb.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define COORD_SCALE 1e9 /* 9 decimals of a degree */
#define DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

static const struct {
    unsigned flag;    /* PDB_PARCEL_* */
    const char *name; /* as GeoJSON readers see it */
} flag_names[] = {
    {PDB_PARCEL_DUPLICATE_NUMBER, "duplicate-number"},
    {PDB_PARCEL_UNKNOWN_LANDUSE, "unknown-landuse"},
    {PDB_PARCEL_AREA_MISMATCH, "area-mismatch"},
    {PDB_PARCEL_REPAIRED, "repaired"},
    {PDB_PARCEL_NO_SURVEYED_AREA, "no-surveyed-area"},
    {PDB_PARCEL_WGS84_REPAIRED, "wgs84-repaired"},
};

static json_t *coord(double v)
{
    /* Past about 1e299 v * 1e9 overflows to infinity, which JSON cannot
     * hold: json_real() would return NULL and the point would be dropped
     * without a word. Such a value has no decimals left to round. */
    double r = round(v * COORD_SCALE) / COORD_SCALE;
    return json_real(isfinite(r) ? r : v);
}

/* A MultiPolygon geometry object from ISO WKB, oriented for RFC 7946. */
static pdb_status geometry_json(pdb_ctx *ctx, const unsigned char *wkb, size_t len, json_t **out)
{
    pdb__mpoly mp;
    pdb_status st;

    *out = NULL;
    if (wkb == NULL) {
        *out = json_null();
        return PDB_OK;
    }
    if ((st = pdb__wkb_parse(ctx, wkb, len, &mp)) != PDB_OK)
        return st;
    pdb__mpoly_orient_rfc7946(&mp);
    json_t *polys = json_array();
    for (size_t k = 0; polys && k < mp.nparts; k++) {
        json_t *rings = json_array();
        for (size_t r = mp.part_ring[k]; rings && r < mp.part_ring[k + 1]; r++) {
            json_t *pts = json_array();
            for (size_t i = mp.ring_point[r]; pts && i < mp.ring_point[r + 1]; i++)
                json_array_append_new(
                    pts, json_pack("[oo]", coord(mp.xy[2 * i]), coord(mp.xy[2 * i + 1])));
            json_array_append_new(rings, pts);
        }
        json_array_append_new(polys, rings);
    }
    pdb__mpoly_free(&mp);
    *out = json_pack("{s:s, s:o}", "type", "MultiPolygon", "coordinates", polys);
    if (*out == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory building GeoJSON");
    return PDB_OK;
}

static json_t *text_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

static json_t *number_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static pdb_status feature_json(pdb_ctx *ctx, const pdb_parcel *p, int include_personal,
                               json_t **out)
{
    json_t *geom = NULL, *props, *codes, *flags;
    const pdb_commune_ref *ref = NULL;
    const pdb_landuse_ref *use;
    pdb_status st;
    char main_use[16] = "";

    *out = NULL;
    if ((st = geometry_json(ctx, p->wgs84_wkb, p->wgs84_wkb_len, &geom)) != PDB_OK)
        return st;
    codes = json_array();
    const char *lu = p->landuse ? p->landuse : "";
    while (*lu != '\0') {
        size_t n = strcspn(lu, "+");
        json_array_append_new(codes, json_stringn(lu, n));
        if (main_use[0] == '\0' && n < sizeof main_use) {
            memcpy(main_use, lu, n);
            main_use[n] = '\0';
        }
        lu += n + (lu[n] == '+');
    }
    use = pdb_landuse_ref_find(main_use);
    flags = json_array();
    for (size_t i = 0; i < PDB_COUNTOF(flag_names); i++)
        if (p->flags & flag_names[i].flag)
            json_array_append_new(flags, json_string(flag_names[i].name));
    if (p->commune != NULL && pdb_commune_ref_find(ctx, p->commune, &ref) != PDB_OK)
        ref = NULL;
    props = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
                      "s:o, s:o, s:o, s:I}",
                      "commune", text_or_null(p->commune), "commune_name",
                      text_or_null(ref ? ref->name : NULL), "former_commune",
                      text_or_null(p->former_commune), "sheet", text_or_null(p->sheet), "parcel",
                      text_or_null(p->parcel), "landuse", text_or_null(p->landuse), "landuse_codes",
                      codes, "landuse_main", text_or_null(main_use), "landuse_name",
                      text_or_null(use ? use->name_vi : NULL), "area_surveyed_m2",
                      number_or_null(p->area_surveyed_m2), "area_computed_m2",
                      number_or_null(round(p->area_computed_m2 * 100) / 100), "address",
                      text_or_null(p->address), "valid_from", text_or_null(p->valid_from),
                      "valid_to", text_or_null(p->valid_to), "flags", flags, "source_srid",
                      p->source_srid ? json_sprintf("EPSG:%d", p->source_srid) : json_null(),
                      "batch", (json_int_t)p->batch_id);
    /* json_string() refuses text that is not UTF-8; unchecked, the owner
     * an authorised caller asked for would vanish without an error. */
    if (props != NULL && include_personal && p->owner != NULL &&
        json_object_set_new(props, "owner", json_string(p->owner)) != 0) {
        json_decref(props);
        json_decref(geom);
        return pdb__fail(ctx, PDB_EINVAL, "could not build GeoJSON (an owner that is not UTF-8)");
    }
    *out = json_pack("{s:s, s:I, s:o, s:o}", "type", "Feature", "id", (json_int_t)p->id, "geometry",
                     geom, "properties", props);
    if (*out == NULL)
        return pdb__fail(ctx, PDB_ENOMEM,
                         "could not build GeoJSON (out of memory, or text that is not UTF-8)");
    return PDB_OK;
}

static pdb_status dump(pdb_ctx *ctx, json_t *doc, char **json_out)
{
    *json_out = json_dumps(doc, DUMP_FLAGS);
    json_decref(doc);
    if (*json_out == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory writing GeoJSON");
    return pdb__ok(ctx);
}

pdb_status pdb_parcel_to_geojson(pdb_ctx *ctx, const pdb_parcel *p, int include_personal,
                                 char **json_out)
{
    json_t *f;
    pdb_status st;

    *json_out = NULL;
    if ((st = feature_json(ctx, p, include_personal, &f)) != PDB_OK)
        return st;
    return dump(ctx, f, json_out);
}

pdb_status pdb_parcels_to_geojson(pdb_ctx *ctx, const pdb_parcel_list *list, int include_personal,
                                  char **json_out)
{
    json_t *features = json_array();
    pdb_status st;

    *json_out = NULL;
    if (features == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory building GeoJSON");
    for (size_t i = 0; i < list->count; i++) {
        json_t *f;
        if ((st = feature_json(ctx, &list->items[i], include_personal, &f)) != PDB_OK) {
            json_decref(features);
            return st;
        }
        json_array_append_new(features, f);
    }
    json_t *fc = json_pack("{s:s, s:o}", "type", "FeatureCollection", "features", features);
    if (fc == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory building GeoJSON");
    if (list->truncated)
        json_object_set_new(fc, "truncated", json_true());
    return dump(ctx, fc, json_out);
}
