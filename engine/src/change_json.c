/*
 * change_json.c: what changes read and write as JSON: the parts of a
 * split or the geometry of a reshape, read from GeoJSON in a survey CRS
 * (pdb_change_parts_read, outside input: the CLI's files and the server's
 * POST bodies, fuzzed in tests/fuzz/fuzz_change_parts.c), and a parcel's
 * lineage, read from the SQLite store (pdb__sq_parcel_lineage) and written
 * as JSON (pdb_lineage_to_json).
 */
#include "change.h"
#include "wkb.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARTS 1000 /* features in a parts file */

struct pdb_change_parts {
    size_t count;           /* parts */
    pdb_change_part *items; /* count parts; their wkb, landuse and number owned */
    int epsg;               /* the CRS of every part */
};

void pdb_change_parts_free(pdb_change_parts *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->count; i++) {
        free((void *)p->items[i].wkb);
        free((void *)p->items[i].landuse);
        free((void *)p->items[i].number);
    }
    free(p->items);
    free(p);
}

const pdb_change_part *pdb_change_parts_items(const pdb_change_parts *p, size_t *count, int *epsg)
{
    if (count != NULL)
        *count = p ? p->count : 0;
    if (epsg != NULL)
        *epsg = p ? p->epsg : 0;
    return p ? p->items : NULL;
}

/* The EPSG code of a GeoJSON 2008 "crs" member: {"type": "name",
 * "properties": {"name": "urn:ogc:def:crs:EPSG::9208"}} (what GDAL
 * writes) or "EPSG:9208". */
static pdb_status crs_member(pdb_ctx *ctx, json_t *crs, int *epsg)
{
    const char *name =
        json_string_value(json_object_get(json_object_get(crs, "properties"), "name"));
    char buf[48];
    if (name == NULL)
        return pdb__fail(ctx, PDB_EINVAL,
                         "the \"crs\" member has no properties.name (e.g. \"EPSG:9208\")");
    const char *e = strstr(name, "EPSG:");
    if (e == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "crs '%.60s' is not an EPSG code", name);
    e += 5;
    if (*e == ':')
        e++; /* the URN's empty version */
    if (strlen(e) > 10 || strspn(e, "0123456789") != strlen(e) || *e == '\0')
        return pdb__fail(ctx, PDB_EINVAL, "crs '%.60s' is not an EPSG code", name);
    snprintf(buf, sizeof buf, "EPSG:%s", e);
    if (pdb_crs_resolve(ctx, buf, epsg) != PDB_OK)
        return pdb__fail(ctx, PDB_ECRS, "crs %s is not a CRS parceldb knows", buf);
    return PDB_OK;
}

/* Appends one GeoJSON polygon's rings (an array of rings of [x, y]) to b,
 * counting vertices against the limit. */
static pdb_status add_polygon(pdb_ctx *ctx, json_t *rings, pdb__mpoly_builder *b, size_t *vertices,
                              size_t part)
{
    if (!json_is_array(rings) || json_array_size(rings) == 0)
        return pdb__fail(ctx, PDB_EINVAL, "part %zu: a polygon needs an array of rings", part);
    if (pdb__mpb_open_part(b) != 0)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    for (size_t r = 0; r < json_array_size(rings); r++) {
        json_t *ring = json_array_get(rings, r);
        size_t n = json_array_size(ring);
        if (!json_is_array(ring) || n < 4)
            return pdb__fail(ctx, PDB_EINVAL, "part %zu: a ring needs at least 4 positions", part);
        *vertices += n;
        if (*vertices > ctx->limits.max_vertices_per_parcel)
            return pdb__fail(ctx, PDB_ELIMIT, "part %zu: more than %zu vertices", part,
                             ctx->limits.max_vertices_per_parcel);
        double *xy = pdb__mpb_add_ring(b, n);
        if (xy == NULL)
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            json_t *pos = json_array_get(ring, i);
            json_t *x = json_array_get(pos, 0), *y = json_array_get(pos, 1);
            if (!json_is_array(pos) || !json_is_number(x) || !json_is_number(y) ||
                !isfinite(json_number_value(x)) || !isfinite(json_number_value(y)))
                return pdb__fail(ctx, PDB_EINVAL, "part %zu: a position is not [x, y] numbers",
                                 part);
            xy[2 * i] = json_number_value(x);
            xy[2 * i + 1] = json_number_value(y);
        }
        if (xy[0] != xy[2 * n - 2] || xy[1] != xy[2 * n - 1])
            return pdb__fail(ctx, PDB_EINVAL, "part %zu: a ring is not closed", part);
    }
    pdb__mpb_close_part(b);
    return PDB_OK;
}

/* A property as text (a string, or an integer for numbers), or NULL. */
static const char *prop_text(json_t *props, const char *a, const char *b, char buf[32])
{
    json_t *v = json_object_get(props, a);
    if (v == NULL || json_is_null(v))
        v = json_object_get(props, b);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, 32, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    return NULL;
}

static pdb_status read_feature(pdb_ctx *ctx, json_t *f, size_t idx, pdb_change_part *out)
{
    pdb__mpoly_builder b = {0};
    json_t *geom = json_object_get(f, "geometry"), *props = json_object_get(f, "properties");
    const char *type = json_string_value(json_object_get(geom, "type"));
    json_t *coords = json_object_get(geom, "coordinates");
    size_t vertices = 0;
    pdb_status st = PDB_OK;
    char buf[32];

    const char *ftype = json_string_value(json_object_get(f, "type"));
    if (!json_is_object(f) || ftype == NULL || strcmp(ftype, "Feature") != 0)
        return pdb__fail(ctx, PDB_EINVAL, "part %zu is not a GeoJSON Feature", idx);
    if (type == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "part %zu has no geometry", idx);
    if (strcmp(type, "Polygon") == 0) {
        st = add_polygon(ctx, coords, &b, &vertices, idx);
    } else if (strcmp(type, "MultiPolygon") == 0 && json_is_array(coords) &&
               json_array_size(coords) > 0) {
        if (json_array_size(coords) > ctx->limits.max_parts_per_parcel)
            st = pdb__fail(ctx, PDB_ELIMIT, "part %zu: more than %zu polygons", idx,
                           ctx->limits.max_parts_per_parcel);
        for (size_t i = 0; st == PDB_OK && i < json_array_size(coords); i++)
            st = add_polygon(ctx, json_array_get(coords, i), &b, &vertices, idx);
    } else {
        st = pdb__fail(ctx, PDB_EINVAL, "part %zu is a %.20s, not a Polygon or MultiPolygon", idx,
                       type);
    }
    if (st == PDB_OK) {
        unsigned char *wkb = NULL;
        size_t len = 0;
        if ((st = pdb__mpoly_to_wkb(ctx, &b.mp, &wkb, &len)) == PDB_OK) {
            out->wkb = wkb;
            out->wkb_len = len;
        }
    }
    pdb__mpoly_free(&b.mp);
    if (st != PDB_OK)
        return st;
    if (props != NULL && !json_is_object(props) && !json_is_null(props))
        return pdb__fail(ctx, PDB_EINVAL, "part %zu: properties is not an object", idx);
    const char *lu = prop_text(props, "landuse", "LoaiDat", buf);
    if (lu != NULL && (out->landuse = strdup(lu)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    const char *num = prop_text(props, "number", "SoThua", buf);
    if (num != NULL && (out->number = strdup(num)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    json_t *area = json_object_get(props, "area_legal");
    if (area == NULL || json_is_null(area))
        area = json_object_get(props, "DienTich");
    out->area_legal_m2 = NAN;
    if (area != NULL && !json_is_null(area)) {
        if (!json_is_number(area) || !(json_number_value(area) > 0))
            return pdb__fail(ctx, PDB_EINVAL, "part %zu: area_legal is not a positive number", idx);
        out->area_legal_m2 = json_number_value(area);
    }
    return PDB_OK;
}

pdb_status pdb_change_parts_read(pdb_ctx *ctx, const char *text, size_t len, int default_epsg,
                                 pdb_change_parts **out)
{
    json_error_t jerr;
    json_t *doc = NULL, *features = NULL;
    pdb_change_parts *p = NULL;
    pdb_status st = PDB_OK;

    if (out == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no place for the parts");
    *out = NULL;
    if (text == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no GeoJSON given");
    /* No duplicate keys: a crs or a geometry given twice is refused, not
     * guessed at. */
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        st = pdb__fail(ctx, PDB_EINVAL, "not GeoJSON: %s at line %d column %d", jerr.text,
                       jerr.line, jerr.column);
        goto done;
    }
    const char *type = json_string_value(json_object_get(doc, "type"));
    if (type != NULL && strcmp(type, "FeatureCollection") == 0) {
        features = json_incref(json_object_get(doc, "features"));
        if (!json_is_array(features)) {
            st = pdb__fail(ctx, PDB_EINVAL, "not GeoJSON: a FeatureCollection without features");
            goto done;
        }
    } else if (type != NULL && strcmp(type, "Feature") == 0) {
        features = json_array();
        json_array_append(features, doc);
    } else {
        st = pdb__fail(ctx, PDB_EINVAL, "not GeoJSON: a FeatureCollection or a Feature is needed");
        goto done;
    }
    size_t n = json_array_size(features);
    if (n == 0 || n > MAX_PARTS) {
        st = pdb__fail(ctx, n == 0 ? PDB_EINVAL : PDB_ELIMIT, "%zu features: give 1 to %d", n,
                       MAX_PARTS);
        goto done;
    }
    if ((p = calloc(1, sizeof *p)) == NULL || (p->items = calloc(n, sizeof *p->items)) == NULL) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        goto done;
    }
    json_t *crs = json_object_get(doc, "crs");
    if (crs != NULL && !json_is_null(crs)) {
        if ((st = crs_member(ctx, crs, &p->epsg)) != PDB_OK)
            goto done;
    } else if (default_epsg != 0) {
        p->epsg = default_epsg;
    } else {
        st = pdb__fail(ctx, PDB_EINVAL,
                       "the GeoJSON names no CRS (a \"crs\" member, or --srs): give the survey's");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        p->count = i + 1; /* what read_feature filled is freed with p */
        if ((st = read_feature(ctx, json_array_get(features, i), i + 1, &p->items[i])) != PDB_OK)
            goto done;
    }
    *out = p;
    p = NULL;
    st = pdb__ok(ctx);
done:
    pdb_change_parts_free(p);
    json_decref(features);
    json_decref(doc);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Lineage                                                                   */
/* ------------------------------------------------------------------------ */

void pdb__lineage_steps_free(pdb_lineage_step *steps, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(steps[i].reason);
        free(steps[i].document);
    }
    free(steps);
}

void pdb_lineage_free(pdb_lineage *l)
{
    if (l == NULL)
        return;
    pdb__lineage_steps_free(l->steps, l->count);
    free(l);
}

/* The edges reachable from ?1 upwards (ancestors: edges whose child is
 * the parcel or one of its ancestors) or downwards; UNION stops cycles. */
#define LINEAGE_COLUMNS                                                                            \
    "SELECT l.parent_id, l.child_id, l.kind, l.overlap_m2, coalesce(l.change_id, 0), l.at, "       \
    "c.reason, c.document, pp.commune || '/' || pp.sheet || '/' || pp.parcel, "                    \
    "pc.commune || '/' || pc.sheet || '/' || pc.parcel, coalesce(l.batch_id, 0) FROM lineage l "   \
    "LEFT JOIN changes c ON c.id = l.change_id JOIN parcels pp ON pp.id = l.parent_id "            \
    "JOIN parcels pc ON pc.id = l.child_id "

static const char *const lineage_sql[2] = {
    "WITH RECURSIVE up(id) AS (SELECT ?1 UNION SELECT l.parent_id FROM lineage l JOIN up ON "
    "l.child_id = up.id) " LINEAGE_COLUMNS "WHERE l.child_id IN (SELECT id FROM up) "
    "ORDER BY l.at, l.id LIMIT ?2",
    "WITH RECURSIVE down(id) AS (SELECT ?1 UNION SELECT l.child_id FROM lineage l JOIN down ON "
    "l.parent_id = down.id) " LINEAGE_COLUMNS "WHERE l.parent_id IN (SELECT id FROM down) "
    "ORDER BY l.at, l.id LIMIT ?2",
};

pdb_status pdb__sq_parcel_lineage(pdb_ctx *ctx, pdb_store *s, int64_t id, pdb_lineage **out)
{
    pdb_lineage *l = NULL;
    sqlite3_stmt *stmt = NULL;
    size_t cap = 0;
    pdb_status st;
    int rc, has_table = 0;

    if ((st = pdb__lineage_start(ctx, s, id, &l)) != PDB_OK)
        return st;
    /* A store no read-write open has upgraded has no lineage table yet,
     * hence no lineage. */
    rc = sqlite3_prepare_v2(s->db,
                            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'lineage'",
                            -1, &stmt, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        has_table = 1;
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        st = pdb__sql_fail(ctx, s->db, rc, "reading the lineage");
        goto done;
    }
    for (int dir = 0; has_table && dir < 2; dir++) {
        rc = sqlite3_prepare_v2(s->db, lineage_sql[dir], -1, &stmt, NULL);
        if (rc != SQLITE_OK) {
            st = pdb__sql_fail(ctx, s->db, rc, "reading the lineage");
            goto done;
        }
        sqlite3_bind_int64(stmt, 1, id);
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)ctx->limits.max_results);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            pdb_lineage_step e = {.parent_id = sqlite3_column_int64(stmt, 0),
                                  .child_id = sqlite3_column_int64(stmt, 1),
                                  .overlap_m2 = sqlite3_column_double(stmt, 3),
                                  .change_id = sqlite3_column_int64(stmt, 4),
                                  .descendant = dir,
                                  .batch_id = sqlite3_column_int64(stmt, 10)};
            snprintf(e.kind, sizeof e.kind, "%s", (const char *)sqlite3_column_text(stmt, 2));
            snprintf(e.at, sizeof e.at, "%s", (const char *)sqlite3_column_text(stmt, 5));
            snprintf(e.parent, sizeof e.parent, "%s", (const char *)sqlite3_column_text(stmt, 8));
            snprintf(e.child, sizeof e.child, "%s", (const char *)sqlite3_column_text(stmt, 9));
            if ((st =
                     pdb__lineage_push(ctx, l, &cap, &e, (const char *)sqlite3_column_text(stmt, 6),
                                       (const char *)sqlite3_column_text(stmt, 7))) != PDB_OK)
                goto done;
        }
        sqlite3_finalize(stmt);
        stmt = NULL;
        if (rc != SQLITE_DONE) {
            st = pdb__sql_fail(ctx, s->db, rc, "reading the lineage");
            goto done;
        }
    }
    *out = l;
    l = NULL;
    st = pdb__ok(ctx);
done:
    sqlite3_finalize(stmt);
    pdb_lineage_free(l);
    return st;
}

pdb_status pdb_lineage_to_json(pdb_ctx *ctx, const pdb_lineage *l, char **json_out)
{
    if (json_out == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no place for the JSON");
    *json_out = NULL;
    if (l == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no lineage");
    json_t *doc = json_pack("{s:I, s:s, s:[], s:[]}", "id", (json_int_t)l->id, "parcel", l->number,
                            "ancestors", "descendants");
    if (doc == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    for (size_t i = 0; i < l->count; i++) {
        const pdb_lineage_step *e = &l->steps[i];
        json_t *step = json_pack(
            "{s:s, s:I, s:s, s:I, s:s, s:f, s:s, s:o, s:o, s:s?, s:s?}", "kind", e->kind,
            "parent_id", (json_int_t)e->parent_id, "parent", e->parent, "child_id",
            (json_int_t)e->child_id, "child", e->child, "overlap_m2",
            round(e->overlap_m2 * 1e4) / 1e4, "at", e->at, "change",
            e->change_id > 0 ? json_integer((json_int_t)e->change_id) : json_null(), "batch",
            e->batch_id > 0 ? json_integer((json_int_t)e->batch_id) : json_null(), "reason",
            e->reason, "document", e->document);
        if (step == NULL ||
            json_array_append_new(json_object_get(doc, e->descendant ? "descendants" : "ancestors"),
                                  step) != 0) {
            json_decref(doc);
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        }
    }
    char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(doc);
    if (text == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    *json_out = text; /* malloc'd by jansson's default allocator: pdb_free frees it */
    return pdb__ok(ctx);
}
