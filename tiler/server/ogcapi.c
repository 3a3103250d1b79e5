/*
 * ogcapi.c: OGC API - Features answers: landing page, conformance, the
 * OpenAPI document, collections, items and single features, in JSON
 * (GeoJSON for features) or HTML, in any CRS the server offers.
 *
 * Feature ids: a parcel's is its store id (an integer, stable for that
 * version of the parcel: a re-survey makes new parcels with new ids and
 * keeps the old ones addressable as history); a commune's is its
 * five-digit code. Items are paged by key: the next link carries the last
 * id of the page (after=ID) and a prev link its first (before=ID), never
 * an offset (pdb_parcels_page).
 *
 * Coordinates: CRS84 and EPSG:4326 come from the indexed WGS 84 geometry
 * (9 decimals, as /parcels); any other CRS from the parcel's source
 * geometry as imported, written with 17 significant digits, so that a
 * request in the parcel's own survey CRS gives back its surveyed
 * coordinates bit for bit, and another VN-2000 CRS is one projection away
 * from them (no datum shift through WGS 84).
 */
#include "ogcapi.h"

#include "handlers.h"
#include "ogcapi_parse.h"
#include "search_audit.h"
#include "srv.h"
#include "worker.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GEOJSON "application/geo+json"
#define JSON "application/json"
#define HTML "text/html; charset=utf-8"
#define OPENAPI "application/vnd.oai.openapi+json;version=3.0"
#define MERC_R 6378137.0 /* Web Mercator's sphere, metres */
#define MAX_WKB_POINTS                                                                             \
    10000000u /* points one parcel may hold (the store's own limits are lower)                     \
               */

/* ------------------------------------------------------------------------ */
/* Writing text                                                              */
/* ------------------------------------------------------------------------ */

/* A JSON string, quoted and escaped (NULL writes null). */
static void json_str(FILE *f, const char *s)
{
    if (s == NULL) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* Text for HTML element content and attribute values. */
static void html_str(FILE *f, const char *s)
{
    static const char *const entity[] = {
        ['<'] = "&lt;", ['>'] = "&gt;", ['&'] = "&amp;", ['"'] = "&quot;", ['\''] = "&#39;"};
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p < sizeof entity / sizeof entity[0] && entity[*p] != NULL)
            fputs(entity[*p], f);
        else
            fputc(*p, f);
    }
}

/* A number for JSON: non-finite numbers are null. */
static void json_num(FILE *f, double v, int fixed9)
{
    if (!isfinite(v))
        fputs("null", f);
    else if (fixed9)
        fprintf(f, "%.9f", v);
    else
        fprintf(f, "%.17g", v);
}

/* Percent-encodes a query value (RFC 3986 unreserved characters kept). */
static void url_enc(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~')
            fputc(*p, f);
        else
            fprintf(f, "%%%02X", *p);
    }
}

/* The answer's context: where it is, what it shows. */
typedef struct page {
    FILE *f;                    /* the body being written */
    char *buf;                  /* its bytes (open_memstream) */
    size_t len;                 /* its length */
    char base[400];             /* the server's URL, without the trailing '/' */
    const pdb_srv_request *req; /* the request (its parameters, for links) */
    const pdb_ogc_request *q;   /* what it asks, checked */
    int html;                   /* 1: an HTML answer */
} page;

/* The URL of a path under /ogcapi with the request's parameters except
 * f and the paging key, then f=FMT and, when key is not NULL, the key
 * ("after=ID" or "before=ID": digits, nothing to encode). */
static void link_url(page *pg, FILE *f, const char *path, const char *fmt, const char *key,
                     int keep_params)
{
    char sep = '?';
    fprintf(f, "%s/ogcapi%s", pg->base, path);
    for (size_t i = 0; keep_params && i < pg->req->nparams; i++) {
        const pdb_srv_param *p = &pg->req->param[i];
        if (strcmp(p->name, "f") == 0 || strcmp(p->name, "after") == 0 ||
            strcmp(p->name, "before") == 0)
            continue;
        fputc(sep, f);
        url_enc(f, p->name);
        fputc('=', f);
        url_enc(f, p->value);
        sep = '&';
    }
    fprintf(f, "%cf=%s", sep, fmt);
    if (key != NULL)
        fprintf(f, "&%s", key);
}

/* One link object of a JSON links array (comma first unless first). */
static void json_link(page *pg, int first, const char *rel, const char *type, const char *title,
                      const char *path, const char *fmt, const char *after, int keep_params)
{
    fprintf(pg->f, "%s{\"rel\":", first ? "" : ",");
    json_str(pg->f, rel);
    fputs(",\"type\":", pg->f);
    json_str(pg->f, type);
    fputs(",\"title\":", pg->f);
    json_str(pg->f, title);
    fputs(",\"href\":\"", pg->f);
    link_url(pg, pg->f, path, fmt, after, keep_params);
    fputs("\"}", pg->f);
}

/* self and alternate links for a resource with JSON and HTML forms. */
static void json_self_links(page *pg, const char *path, const char *json_type)
{
    json_link(pg, 1, "self", json_type, "this document", path, "json", NULL, 1);
    json_link(pg, 0, "alternate", "text/html", "this document as HTML", path, "html", NULL, 1);
}

static void html_head(page *pg, const char *title, const char *path)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", pg->f);
    html_str(pg->f, title);
    fputs("</title></head><body>\n<p><a href=\"", pg->f);
    fprintf(pg->f, "%s/ogcapi?f=html\">parceldb OGC API</a> | <a href=\"", pg->base);
    link_url(pg, pg->f, path, "json", NULL, 1);
    fputs("\">JSON</a></p>\n<h1>", pg->f);
    html_str(pg->f, title);
    fputs("</h1>\n", pg->f);
}

static void html_link(page *pg, const char *path, const char *text)
{
    fprintf(pg->f, "<li><a href=\"%s/ogcapi%s\">", pg->base, path);
    html_str(pg->f, text);
    fputs("</a></li>\n", pg->f);
}

/* Hands the written body to out; 503 when writing ran out of memory. */
static void finish(page *pg, pdb_srv_response *out, const char *type)
{
    int bad = ferror(pg->f);
    int closed = fclose(pg->f);
    pg->f = NULL;
    if (closed != 0 || bad || pg->buf == NULL) {
        free(pg->buf);
        pdb_srv_error(out, 503, "out of memory");
        return;
    }
    out->status = 200;
    pdb_srv_body_malloced(out, pg->html ? HTML : type, pg->buf, pg->len);
    pg->buf = NULL;
}

/* ------------------------------------------------------------------------ */
/* Coordinates: WKB to GeoJSON in the asked CRS                              */
/* ------------------------------------------------------------------------ */

/* A WKB reader over bytes from the store, checked at every step. */
typedef struct wkb_in {
    const unsigned char *p; /* next byte */
    const unsigned char *end;
    int swap; /* 1: big-endian data on this (little-endian) machine, or the reverse */
} wkb_in;

/* Reads n bytes (4 or 8) of a number into v, in this machine's order. */
static int rd_num(wkb_in *r, void *v, size_t n)
{
    unsigned char b[8];
    if ((size_t)(r->end - r->p) < n)
        return -1;
    for (size_t i = 0; i < n; i++)
        b[i] = r->p[r->swap ? n - 1 - i : i];
    memcpy(v, b, n);
    r->p += n;
    return 0;
}

static int rd_u32(wkb_in *r, uint32_t *v)
{
    return rd_num(r, v, 4);
}

static int rd_f64(wkb_in *r, double *v)
{
    return rd_num(r, v, 8);
}

/* Reads a geometry header: its base type (3 polygon, 6 multipolygon) and
 * dimensions (2, 3 with Z or M, 4 with both; has_z). */
static int rd_header(wkb_in *r, uint32_t *type, int *dims, int *has_z)
{
    static const uint16_t one = 1;
    if (r->end - r->p < 1)
        return -1;
    int little = *r->p == 1, native_little = *(const unsigned char *)&one == 1;
    if (*r->p > 1)
        return -1;
    r->swap = little != native_little;
    r->p++;
    uint32_t t;
    if (rd_u32(r, &t) != 0)
        return -1;
    /* ISO (1000s) and EWKB (high flags) dimensions both occur. */
    int z = (t & 0x80000000u) != 0, m = (t & 0x40000000u) != 0;
    t &= 0x0fffffffu;
    if (t >= 3000)
        z = m = 1, t -= 3000;
    else if (t >= 2000)
        m = 1, t -= 2000;
    else if (t >= 1000)
        z = 1, t -= 1000;
    if (t != 3 && t != 6)
        return -1;
    *type = t;
    *dims = 2 + z + m;
    *has_z = z;
    return 0;
}

/* How coordinates are turned into the answer's. */
typedef struct coord_out {
    pdb_ctx *ctx; /* for PROJ */
    int from;     /* the WKB's EPSG (4326 for the indexed geometry) */
    int to;       /* the answer's CRS (EPSG, or PDB_OGC_CRS84) */
    double *xy;   /* scratch for one ring, 2 per point */
    size_t cap;   /* its points */
} coord_out;

/* Transforms n points (x, y interleaved) in place from co->from to co->to
 * and puts them in the answer's axis order. */
static int transform_ring(coord_out *co, double *xy, size_t n)
{
    int to = co->to == PDB_OGC_CRS84 ? PDB_EPSG_WGS84 : co->to;
    if (to == PDB_OGC_EPSG_WEBMERC) {
        if (co->from != PDB_EPSG_WGS84)
            return -1;
        for (size_t i = 0; i < n; i++) {
            double lat = xy[2 * i + 1];
            if (lat > 85.06 || lat < -85.06)
                return -1;
            xy[2 * i] = MERC_R * xy[2 * i] * M_PI / 180.0;
            xy[2 * i + 1] = MERC_R * log(tan(M_PI / 4 + lat * M_PI / 360.0));
        }
    } else if (to != co->from) {
        /* pdb_crs_transform takes separate x and y arrays. */
        double *x = malloc(2 * n * sizeof *x);
        if (x == NULL)
            return -1;
        for (size_t i = 0; i < n; i++) {
            x[i] = xy[2 * i];
            x[n + i] = xy[2 * i + 1];
        }
        pdb_status st = pdb_crs_transform(co->ctx, co->from, to, x, x + n, n);
        for (size_t i = 0; st == PDB_OK && i < n; i++) {
            xy[2 * i] = x[i];
            xy[2 * i + 1] = x[n + i];
        }
        free(x);
        if (st != PDB_OK)
            return -1;
    }
    if (pdb_ogc_crs_latlon(co->to))
        for (size_t i = 0; i < n; i++) {
            double t = xy[2 * i];
            xy[2 * i] = xy[2 * i + 1];
            xy[2 * i + 1] = t;
        }
    return 0;
}

/* Writes one polygon's rings: [[[x,y],...],...]. */
static int write_polygon(FILE *f, wkb_in *r, int dims, int has_z, coord_out *co)
{
    uint32_t nrings;
    int fixed9 = co->to == PDB_OGC_CRS84 || co->to == PDB_EPSG_WGS84;
    if (rd_u32(r, &nrings) != 0 || nrings > (size_t)(r->end - r->p) / 4)
        return -1;
    fputc('[', f);
    for (uint32_t k = 0; k < nrings; k++) {
        uint32_t n;
        if (rd_u32(r, &n) != 0 || n > MAX_WKB_POINTS ||
            (size_t)n * (size_t)dims * 8 > (size_t)(r->end - r->p))
            return -1;
        if (n > co->cap) {
            double *g = realloc(co->xy, 3 * (size_t)n * sizeof *g);
            if (g == NULL)
                return -1;
            co->xy = g;
            co->cap = n;
        }
        double *z = co->xy + 2 * (size_t)n; /* the Z values, after the x,y pairs */
        for (uint32_t i = 0; i < n; i++) {
            double skip;
            if (rd_f64(r, &co->xy[2 * i]) != 0 || rd_f64(r, &co->xy[2 * i + 1]) != 0)
                return -1;
            z[i] = NAN;
            for (int d = 2; d < dims; d++)
                if (rd_f64(r, d == 2 && has_z ? &z[i] : &skip) != 0)
                    return -1;
        }
        if (transform_ring(co, co->xy, n) != 0)
            return -1;
        fputs(k ? ",[" : "[", f);
        for (uint32_t i = 0; i < n; i++) {
            fputs(i ? ",[" : "[", f);
            json_num(f, co->xy[2 * i], fixed9);
            fputc(',', f);
            json_num(f, co->xy[2 * i + 1], fixed9);
            if (has_z) {
                fputc(',', f);
                json_num(f, z[i], 0);
            }
            fputc(']', f);
        }
        fputc(']', f);
    }
    fputc(']', f);
    return 0;
}

/* Writes a (multi)polygon WKB as a GeoJSON geometry object. */
static int write_geometry(FILE *f, const unsigned char *wkb, size_t len, coord_out *co)
{
    wkb_in r = {wkb, wkb + len, 0};
    uint32_t type, nparts;
    int dims, has_z;

    if (wkb == NULL || rd_header(&r, &type, &dims, &has_z) != 0)
        return -1;
    if (type == 3) {
        fputs("{\"type\":\"Polygon\",\"coordinates\":", f);
        if (write_polygon(f, &r, dims, has_z, co) != 0)
            return -1;
    } else {
        if (rd_u32(&r, &nparts) != 0 || nparts > (size_t)(r.end - r.p) / 9)
            return -1;
        fputs("{\"type\":\"MultiPolygon\",\"coordinates\":[", f);
        for (uint32_t i = 0; i < nparts; i++) {
            uint32_t pt;
            int pd, pz;
            if (i)
                fputc(',', f);
            if (rd_header(&r, &pt, &pd, &pz) != 0 || pt != 3 ||
                write_polygon(f, &r, pd, pz, co) != 0)
                return -1;
        }
        fputc(']', f);
    }
    fputc('}', f);
    return 0;
}

/* Whether the answer's coordinates come from the source geometry. */
static int from_source(int crs)
{
    return crs != PDB_OGC_CRS84 && crs != PDB_EPSG_WGS84 && crs != PDB_OGC_EPSG_WEBMERC;
}

/* Transforms a box in a CRS to a WGS 84 box that holds it: its edges,
 * 16 points each, through the CRS (projected edges are not straight in
 * lon/lat). */
static pdb_status box_to_wgs84(pdb_ctx *ctx, int crs, const double in[4], double out[4])
{
    double x[64], y[64];
    int n = 0;
    if (crs == PDB_OGC_CRS84) {
        memcpy(out, in, 4 * sizeof *out);
        return PDB_OK;
    }
    for (int i = 0; i < 16; i++) {
        double t = i / 15.0;
        double ex = in[0] + t * (in[2] - in[0]), ny = in[1] + t * (in[3] - in[1]);
        x[n] = ex, y[n++] = in[1];
        x[n] = ex, y[n++] = in[3];
        x[n] = in[0], y[n++] = ny;
        x[n] = in[2], y[n++] = ny;
    }
    if (crs == PDB_OGC_EPSG_WEBMERC) {
        for (int i = 0; i < n; i++) {
            x[i] = x[i] / MERC_R * 180.0 / M_PI;
            y[i] = (2 * atan(exp(y[i] / MERC_R)) - M_PI / 2) * 180.0 / M_PI;
        }
    } else if (crs != PDB_EPSG_WGS84) {
        pdb_status st = pdb_crs_transform(ctx, crs, PDB_EPSG_WGS84, x, y, (size_t)n);
        if (st != PDB_OK)
            return st;
    }
    out[0] = out[2] = x[0];
    out[1] = out[3] = y[0];
    for (int i = 1; i < n; i++) {
        out[0] = fmin(out[0], x[i]);
        out[2] = fmax(out[2], x[i]);
        out[1] = fmin(out[1], y[i]);
        out[3] = fmax(out[3], y[i]);
    }
    if (!(out[0] >= -180 && out[2] <= 180 && out[1] >= -90 && out[3] <= 90))
        return PDB_EINVAL;
    return PDB_OK;
}

/* ------------------------------------------------------------------------ */
/* Features                                                                  */
/* ------------------------------------------------------------------------ */

static void prop_text(FILE *f, const char *name, const char *v)
{
    fprintf(f, ",\"%s\":", name);
    json_str(f, v);
}

static void prop_num(FILE *f, const char *name, double v)
{
    fprintf(f, ",\"%s\":", name);
    json_num(f, v, 0);
}

/* One parcel as a GeoJSON Feature; -1 when its geometry will not go into
 * the asked CRS. */
static int write_parcel(FILE *f, const pdb_parcel *p, int personal, coord_out *co)
{
    fprintf(f, "{\"type\":\"Feature\",\"id\":%lld,\"geometry\":", (long long)p->id);
    if (from_source(co->to)) {
        co->from = p->source_srid;
        if (write_geometry(f, p->source_wkb, p->source_wkb_len, co) != 0)
            return -1;
    } else {
        co->from = PDB_EPSG_WGS84;
        if (write_geometry(f, p->wgs84_wkb, p->wgs84_wkb_len, co) != 0)
            return -1;
    }
    fputs(",\"properties\":{", f);
    fputs("\"commune\":", f);
    json_str(f, p->commune);
    prop_text(f, "former_commune", p->former_commune);
    prop_text(f, "sheet", p->sheet);
    prop_text(f, "parcel", p->parcel);
    prop_text(f, "landuse", p->landuse);
    prop_num(f, "area_surveyed_m2", p->area_surveyed_m2);
    prop_num(f, "area_computed_m2", p->area_computed_m2);
    prop_text(f, "address", p->address);
    if (personal)
        prop_text(f, "owner", p->owner);
    fprintf(f, ",\"source_srid\":\"EPSG:%d\"", p->source_srid);
    prop_text(f, "valid_from", p->valid_from);
    prop_text(f, "valid_to", p->valid_to);
    /* The national attribute set (docs/import.md): every member on every
     * parcel, null where the survey had none, so that a GIS client sees
     * the same columns on every page; the certificate serial is personal
     * data, shown where the owner is. */
    const struct {
        const char *name, *value;
        int personal; /* 1: only in a personal answer */
    } national[] = {{"prev_sheet", p->prev_sheet, 0},
                    {"prev_parcel", p->prev_parcel, 0},
                    {"record_start", p->record_start, 0},
                    {"record_end", p->record_end, 0},
                    {"certificate", p->certificate, 1}};
    for (size_t i = 0; i < sizeof national / sizeof national[0]; i++)
        if (personal || !national[i].personal)
            prop_text(f, national[i].name, national[i].value);
    fprintf(f, ",\"flags\":%u}}", p->flags);
    return 0;
}

/* A commune's box as a polygon in CRS84, for write_geometry. */
static void box_wkb(const double b[4], unsigned char wkb[93])
{
    static const uint16_t one = 1;
    double pts[10] = {b[0], b[1], b[2], b[1], b[2], b[3], b[0], b[3], b[0], b[1]};
    uint32_t type = 3, rings = 1, n = 5;
    wkb[0] = *(const unsigned char *)&one; /* native order */
    memcpy(wkb + 1, &type, 4);
    memcpy(wkb + 5, &rings, 4);
    memcpy(wkb + 9, &n, 4);
    memcpy(wkb + 13, pts, sizeof pts);
}

static int write_commune(FILE *f, const pdb_commune *c, coord_out *co)
{
    const pdb_commune_ref *ref = NULL;
    pdb_ctx *ctx = co->ctx;
    fprintf(f, "{\"type\":\"Feature\",\"id\":\"%s\",\"geometry\":", c->code);
    if (c->parcels > 0 && c->bbox[0] <= c->bbox[2]) {
        unsigned char wkb[93];
        box_wkb(c->bbox, wkb);
        co->from = PDB_EPSG_WGS84;
        if (write_geometry(f, wkb, sizeof wkb, co) != 0)
            return -1;
    } else {
        fputs("null", f);
    }
    if (pdb_commune_ref_find(ctx, c->code, &ref) != PDB_OK)
        ref = NULL;
    fputs(",\"properties\":{\"code\":", f);
    json_str(f, c->code);
    prop_text(f, "name", c->name);
    prop_text(f, "former_province", ref ? ref->former_province : NULL);
    fprintf(f, ",\"parcels\":%lld", (long long)c->parcels);
    if (c->source_srid)
        fprintf(f, ",\"source_srid\":\"EPSG:%d\"", c->source_srid);
    fputs("}}", f);
    return 0;
}

static void html_parcel_row(FILE *f, const page *pg, const pdb_parcel *p, int personal)
{
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)p->id);
    fprintf(f, "<tr><td><a href=\"%s/ogcapi/collections/parcels/items/%s?f=html\">%s</a></td><td>",
            pg->base, id, id);
    char area[32];
    snprintf(area, sizeof area, "%.1f", p->area_surveyed_m2);
    /* The personal cells last, so that a public row stops before them. */
    const char *cells[] = {p->commune,    p->sheet,       p->parcel,       p->landuse,
                           area,          p->address,     p->valid_from,   p->valid_to,
                           p->prev_sheet, p->prev_parcel, p->record_start, p->record_end,
                           p->owner,      p->certificate};
    size_t n = sizeof cells / sizeof cells[0] - (personal ? 0 : 2);
    for (size_t i = 0; i < n; i++) {
        html_str(f, cells[i]);
        fputs(i + 1 < n ? "</td><td>" : "</td></tr>\n", f);
    }
}

static void html_parcel_table(page *pg, const pdb_parcel *items, size_t n, int personal)
{
    fputs("<table border=\"1\"><tr><th>id</th><th>Mã xã (commune)</th><th>Số tờ (sheet)</th>"
          "<th>Số thửa (parcel)</th><th>Loại đất (land use)</th><th>Diện tích (m²)</th>"
          "<th>Địa chỉ (address)</th><th>valid_from</th><th>valid_to</th>"
          "<th>Số tờ cũ (prev_sheet)</th><th>Số thửa cũ (prev_parcel)</th>"
          "<th>Thời điểm bắt đầu (record_start)</th><th>Thời điểm kết thúc (record_end)</th>",
          pg->f);
    if (personal)
        fputs("<th>Chủ sử dụng (owner)</th><th>Số GCN (certificate)</th>", pg->f);
    fputs("</tr>\n", pg->f);
    for (size_t i = 0; i < n; i++)
        html_parcel_row(pg->f, pg, &items[i], personal);
    fputs("</table>\n", pg->f);
}

/* ------------------------------------------------------------------------ */
/* Resources                                                                 */
/* ------------------------------------------------------------------------ */

static const char *const collection_ids[] = {"parcels", "communes"};

static void landing(page *pg)
{
    static const char title[] = "parceldb: cadastral parcels of Phu Tho";
    if (pg->html) {
        html_head(pg, title, "");
        fputs("<p>OGC API - Features over the parcel store.</p><ul>\n", pg->f);
        html_link(pg, "/collections?f=html", "Collections");
        html_link(pg, "/conformance?f=html", "Conformance");
        html_link(pg, "/api", "API definition (OpenAPI 3.0)");
        fputs("</ul></body></html>\n", pg->f);
        return;
    }
    fputs("{\"title\":", pg->f);
    json_str(pg->f, title);
    fputs(",\"description\":\"OGC API - Features (Part 1 Core, Part 2 CRS) over the cadastral "
          "parcel store, with the survey coordinates in VN-2000\",\"links\":[",
          pg->f);
    json_self_links(pg, "", JSON);
    json_link(pg, 0, "service-desc", OPENAPI, "the API definition", "/api", "json", NULL, 0);
    json_link(pg, 0, "service-doc", "text/html", "the API definition as HTML", "/api", "html", NULL,
              0);
    json_link(pg, 0, "conformance", JSON, "conformance classes", "/conformance", "json", NULL, 0);
    json_link(pg, 0, "data", JSON, "collections", "/collections", "json", NULL, 0);
    fputs("]}", pg->f);
}

static const char *const conformance_classes[] = {
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
};

static void conformance(page *pg)
{
    size_t n = sizeof conformance_classes / sizeof conformance_classes[0];
    if (pg->html) {
        html_head(pg, "Conformance", "/conformance");
        fputs("<ul>\n", pg->f);
        for (size_t i = 0; i < n; i++) {
            fputs("<li>", pg->f);
            html_str(pg->f, conformance_classes[i]);
            fputs("</li>\n", pg->f);
        }
        fputs("</ul></body></html>\n", pg->f);
        return;
    }
    fputs("{\"links\":[", pg->f);
    json_self_links(pg, "/conformance", JSON);
    fputs("],\"conformsTo\":[", pg->f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', pg->f);
        json_str(pg->f, conformance_classes[i]);
    }
    fputs("]}", pg->f);
}

/* The JSON object of one collection. */
static void collection_json(page *pg, pdb_ogc_collection c, const double bbox[4])
{
    char path[64], uri[96];
    size_t ncrs;
    const int *crs = pdb_ogc_crs_list(&ncrs);
    snprintf(path, sizeof path, "/collections/%s", collection_ids[c]);
    fputs("{\"id\":", pg->f);
    json_str(pg->f, collection_ids[c]);
    fputs(c == PDB_OGC_PARCELS
              ? ",\"title\":\"Parcels\",\"description\":\"Current cadastral parcels (and, "
                "with datetime, those valid at an instant or in an interval). Feature id: the "
                "store id. Each "
                "parcel keeps its survey geometry in its VN-2000 TM-3 zone (property "
                "source_srid): ask for that CRS to get it as surveyed.\""
              : ",\"title\":\"Communes\",\"description\":\"Communes and wards with parcels "
                "in the store; geometry: the box of their parcels. Feature id: the "
                "five-digit commune code.\"",
          pg->f);
    fputs(",\"itemType\":\"feature\",\"links\":[", pg->f);
    json_link(pg, 1, "self", JSON, "this collection", path, "json", NULL, 0);
    json_link(pg, 0, "alternate", "text/html", "this collection as HTML", path, "html", NULL, 0);
    strncat(path, "/items", sizeof path - strlen(path) - 1);
    json_link(pg, 0, "items", GEOJSON, "the features", path, "json", NULL, 0);
    json_link(pg, 0, "items", "text/html", "the features as HTML", path, "html", NULL, 0);
    fputs("],\"extent\":{\"spatial\":{\"bbox\":[[", pg->f);
    for (int i = 0; i < 4; i++) {
        if (i)
            fputc(',', pg->f);
        json_num(pg->f,
                 isfinite(bbox[i]) ? bbox[i]
                                   : (i % 2 ? 90.0 * (i / 2 ? 1 : -1) : 180.0 * (i / 2 ? 1 : -1)),
                 1);
    }
    fputs("]],\"crs\":\"http://www.opengis.net/def/crs/OGC/1.3/CRS84\"}},\"crs\":[", pg->f);
    for (size_t i = 0; i < ncrs; i++) {
        pdb_ogc_crs_uri(crs[i], uri, sizeof uri);
        fputs(i ? ",\"" : "\"", pg->f);
        fputs(uri, pg->f);
        fputc('"', pg->f);
    }
    fputs("],\"storageCrs\":\"http://www.opengis.net/def/crs/OGC/1.3/CRS84\"}", pg->f);
}

/* The WGS 84 box of the store's parcels (the server keeps it). */
static void data_box(pdb_srv *srv, double b[4])
{
    pthread_rwlock_rdlock(&srv->changes_lock);
    memcpy(b, srv->data_bounds, 4 * sizeof *b);
    pthread_rwlock_unlock(&srv->changes_lock);
}

static void collections(pdb_srv *srv, page *pg)
{
    double b[4];
    data_box(srv, b);
    if (pg->html) {
        html_head(pg, "Collections", "/collections");
        fputs("<ul>\n", pg->f);
        html_link(pg, "/collections/parcels?f=html", "parcels: cadastral parcels");
        html_link(pg, "/collections/communes?f=html", "communes: communes and wards");
        fputs("</ul></body></html>\n", pg->f);
        return;
    }
    fputs("{\"links\":[", pg->f);
    json_self_links(pg, "/collections", JSON);
    fputs("],\"collections\":[", pg->f);
    collection_json(pg, PDB_OGC_PARCELS, b);
    fputc(',', pg->f);
    collection_json(pg, PDB_OGC_COMMUNES, b);
    fputs("]}", pg->f);
}

static void collection(pdb_srv *srv, page *pg)
{
    double b[4];
    char path[64];
    data_box(srv, b);
    if (pg->html) {
        snprintf(path, sizeof path, "/collections/%s", collection_ids[pg->q->collection]);
        html_head(pg, collection_ids[pg->q->collection], path);
        fputs("<ul>\n", pg->f);
        snprintf(path, sizeof path, "/collections/%s/items?f=html",
                 collection_ids[pg->q->collection]);
        html_link(pg, path, "Items");
        fputs("</ul></body></html>\n", pg->f);
        return;
    }
    collection_json(pg, pg->q->collection, b);
}

/* Sets the Content-Crs header of a feature answer. */
static void content_crs(pdb_srv_response *out, int crs)
{
    char uri[96];
    pdb_ogc_crs_uri(crs, uri, sizeof uri);
    snprintf(out->content_crs, sizeof out->content_crs, "<%s>", uri);
}

/* The time of the answer, for timeStamp. */
static void now_iso(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* numberMatched when it is cheap: no filter but the commune, the current
 * parcels: the communes table counts them. -1 otherwise. */
static int64_t cheap_count(pdb_srv_worker *w, const pdb_ogc_request *q)
{
    pdb_commune_list *list = NULL;
    int64_t n = 0;
    if (q->has_bbox || q->sheet || q->parcel || q->landuse || q->at[0])
        return -1;
    if (pdb_communes_list(w->ctx, w->store, &list) != PDB_OK)
        return -1;
    for (size_t i = 0; i < list->count; i++)
        if (q->commune == NULL || strcmp(q->commune, list->items[i].code) == 0)
            n += list->items[i].parcels;
    pdb_commune_list_free(list);
    return n;
}

/* The links and counts that end an items page. */
static void items_tail(page *pg, const char *path, size_t returned, const char *next_key,
                       const char *prev_key, int64_t matched)
{
    char ts[32], coll[64];
    now_iso(ts);
    snprintf(coll, sizeof coll, "/collections/%s", collection_ids[pg->q->collection]);
    fputs("],\"links\":[", pg->f);
    json_self_links(pg, path, GEOJSON);
    if (next_key != NULL)
        json_link(pg, 0, "next", GEOJSON, "the next page", path, "json", next_key, 1);
    if (prev_key != NULL)
        json_link(pg, 0, "prev", GEOJSON, "the previous page", path, "json", prev_key, 1);
    json_link(pg, 0, "collection", JSON, "the collection", coll, "json", NULL, 0);
    fprintf(pg->f, "],\"timeStamp\":\"%s\",\"numberReturned\":%zu", ts, returned);
    if (matched >= 0)
        fprintf(pg->f, ",\"numberMatched\":%lld", (long long)matched);
    fputc('}', pg->f);
}

static void html_paging(page *pg, const char *path, const char *next_key, const char *prev_key)
{
    const char *keys[2] = {prev_key, next_key}, *rel[2] = {"prev", "next"};
    for (int i = 0; i < 2; i++) {
        if (keys[i] == NULL)
            continue;
        fprintf(pg->f, "<p><a rel=\"%s\" href=\"", rel[i]);
        link_url(pg, pg->f, path, "html", keys[i], 1);
        fprintf(pg->f, "\">%s page</a></p>\n", rel[i]);
    }
}

/* No audit row, no owner names (search_audit.h): 0, or -1 with out set. */
static int audit(pdb_srv_worker *w, const char *who, const int64_t *ids, size_t n,
                 pdb_srv_response *out)
{
    char err[PDB_SRV_ERRMAX];
    const pdb_srv_options *o = &w->srv->opt;
    if (who == NULL || pdb_srv_audit_personal_ids(o->audit_path ? o->audit_path : o->db_path, who,
                                                  "GET /ogcapi/collections/parcels/items", ids, n,
                                                  err, sizeof err) == 0)
        return 0;
    pdb_srv_error(out, 503, "%s", err);
    out->retry_after_s = 1;
    return -1;
}

static void parcels_items(pdb_srv_worker *w, page *pg, const char *who, pdb_srv_response *out)
{
    int personal = who != NULL;
    const pdb_ogc_request *q = pg->q;
    const char *path = "/collections/parcels/items";
    pdb_page_query pq = {.after_id = q->after,
                         .limit = q->limit,
                         .has_bbox = q->has_bbox,
                         .commune = q->commune,
                         .sheet = q->sheet,
                         .parcel = q->parcel,
                         .landuse = q->landuse,
                         .at = q->at[0] ? q->at : NULL,
                         .before_id = q->before,
                         .until = q->until[0] ? q->until : NULL};
    unsigned flags = PDB_READ_WGS84 | (personal ? PDB_READ_PERSONAL : 0) |
                     (from_source(q->crs) ? PDB_READ_SOURCE : 0);
    pdb_parcel_list *list = NULL;
    pdb_limits lim, saved;
    coord_out co = {w->ctx, PDB_EPSG_WGS84, q->crs, NULL, 0};
    char next[40], prev[40];
    pdb_status st = PDB_OK;

    if (q->has_bbox && (st = box_to_wgs84(w->ctx, q->bbox_crs, q->bbox, pq.bbox)) != PDB_OK) {
        pdb_srv_error(out, 400, "bbox is not a place on Earth in its bbox-crs");
        return;
    }
    /* The server's contexts cap reads at /parcels' limit; a page may hold
     * up to PDB_OGC_MAX_LIMIT. */
    pdb_ctx_get_limits(w->ctx, &saved);
    lim = saved;
    if (lim.max_results < PDB_OGC_MAX_LIMIT)
        lim.max_results = PDB_OGC_MAX_LIMIT;
    pdb_ctx_set_limits(w->ctx, &lim);
    st = pdb_parcels_page(w->ctx, w->store, &pq, flags, &list);
    pdb_ctx_set_limits(w->ctx, &saved);
    if (st != PDB_OK) {
        pdb_srv_engine_error(out, w);
        return;
    }
    if (personal) {
        int64_t *ids = calloc(list->count + 1, sizeof *ids);
        for (size_t i = 0; ids != NULL && i < list->count; i++)
            ids[i] = list->items[i].id;
        int bad = ids == NULL || audit(w, who, ids, list->count, out) != 0;
        if (ids == NULL)
            pdb_srv_error(out, 503, "out of memory");
        free(ids);
        if (bad) {
            pdb_parcel_list_free(list);
            return;
        }
    }
    /* Forwards (after), a next page when more follow, a previous one when
     * this one was not the first; backwards (before), the reverse. */
    const char *next_key = NULL, *prev_key = NULL;
    int backwards = q->before > 0;
    if (list->count > 0 && (backwards || list->truncated)) {
        snprintf(next, sizeof next, "after=%lld", (long long)list->items[list->count - 1].id);
        next_key = next;
    }
    if (list->count > 0 && (backwards ? list->truncated : q->after > 0)) {
        snprintf(prev, sizeof prev, "before=%lld", (long long)list->items[0].id);
        prev_key = prev;
    }
    if (pg->html) {
        html_head(pg, "Parcels", path);
        html_parcel_table(pg, list->items, list->count, personal);
        html_paging(pg, path, next_key, prev_key);
        fputs("</body></html>\n", pg->f);
    } else {
        fputs("{\"type\":\"FeatureCollection\",\"features\":[", pg->f);
        for (size_t i = 0; i < list->count; i++) {
            if (i)
                fputc(',', pg->f);
            if (write_parcel(pg->f, &list->items[i], personal, &co) != 0) {
                pdb_srv_error(out, 400, "parcel %lld does not go into the asked CRS",
                              (long long)list->items[i].id);
                goto done;
            }
        }
        items_tail(pg, path, list->count, next_key, prev_key,
                   q->after == 0 && !backwards ? cheap_count(w, q) : -1);
    }
    finish(pg, out, GEOJSON);
    content_crs(out, q->crs);
done:
    free(co.xy);
    pdb_parcel_list_free(list);
}

/* Whether a commune passes the items filters. */
static int commune_matches(const pdb_commune *c, const pdb_ogc_request *q, const double box[4])
{
    if (c->parcels <= 0)
        return 0;
    if (q->commune != NULL && strcmp(q->commune, c->code) != 0)
        return 0;
    if (q->after_s != NULL && strcmp(c->code, q->after_s) <= 0)
        return 0;
    if (q->has_bbox &&
        (c->bbox[0] > box[2] || c->bbox[2] < box[0] || c->bbox[1] > box[3] || c->bbox[3] < box[1]))
        return 0;
    return 1;
}

static void communes_items(pdb_srv_worker *w, page *pg, pdb_srv_response *out)
{
    const pdb_ogc_request *q = pg->q;
    const char *path = "/collections/communes/items";
    pdb_commune_list *list = NULL;
    coord_out co = {w->ctx, PDB_EPSG_WGS84, q->crs, NULL, 0};
    double box[4] = {0};
    size_t n = 0;
    const char *next_key = NULL, *last = NULL;
    char nk[16];

    if (q->has_bbox && box_to_wgs84(w->ctx, q->bbox_crs, q->bbox, box) != PDB_OK) {
        pdb_srv_error(out, 400, "bbox is not a place on Earth in its bbox-crs");
        return;
    }
    if (pdb_communes_list(w->ctx, w->store, &list) != PDB_OK) {
        pdb_srv_engine_error(out, w);
        return;
    }
    if (pg->html) {
        html_head(pg, "Communes", path);
        fputs("<table border=\"1\"><tr><th>code</th><th>name</th><th>parcels</th></tr>\n", pg->f);
    } else {
        fputs("{\"type\":\"FeatureCollection\",\"features\":[", pg->f);
    }
    for (size_t i = 0; i < list->count; i++) {
        const pdb_commune *c = &list->items[i];
        if (!commune_matches(c, q, box))
            continue;
        if (n == q->limit) {
            /* The codes are in order: the key is the last one shown. */
            snprintf(nk, sizeof nk, "after=%s", last);
            next_key = nk;
            break;
        }
        n++;
        last = c->code;
        if (pg->html) {
            fprintf(pg->f, "<tr><td>%s</td><td>", c->code);
            html_str(pg->f, c->name);
            fprintf(pg->f, "</td><td>%lld</td></tr>\n", (long long)c->parcels);
        } else {
            if (n > 1)
                fputc(',', pg->f);
            if (write_commune(pg->f, c, &co) != 0) {
                pdb_srv_error(out, 400, "commune %s does not go into the asked CRS", c->code);
                goto done;
            }
        }
    }
    if (pg->html) {
        fputs("</table>\n", pg->f);
        html_paging(pg, path, next_key, NULL);
        fputs("</body></html>\n", pg->f);
    } else {
        items_tail(pg, path, n, next_key, NULL, -1);
    }
    finish(pg, out, GEOJSON);
    content_crs(out, q->crs);
done:
    free(co.xy);
    pdb_commune_list_free(list);
}

/* Ends a feature just written with its links: self, alternate and its
 * collection. */
static void feature_links(page *pg, const char *path)
{
    char coll[64];
    snprintf(coll, sizeof coll, "/collections/%s", collection_ids[pg->q->collection]);
    fseek(pg->f, -1, SEEK_CUR); /* reopen the object: drop its final '}' */
    fputs(",\"links\":[", pg->f);
    json_self_links(pg, path, GEOJSON);
    json_link(pg, 0, "collection", JSON, "the collection", coll, "json", NULL, 0);
    fputs("]}", pg->f);
}

/* Ends a one-feature answer: written is write_parcel's or
 * write_commune's result. */
static void end_feature(page *pg, pdb_srv_response *out, int written, const char *path)
{
    if (written != 0) {
        pdb_srv_error(out, 400, "%s does not go into the asked CRS", path);
        return;
    }
    feature_links(pg, path);
    finish(pg, out, GEOJSON);
    content_crs(out, pg->q->crs);
}

static void parcel_item(pdb_srv_worker *w, page *pg, const char *who, pdb_srv_response *out)
{
    int personal = who != NULL;
    const pdb_ogc_request *q = pg->q;
    const char *id = q->feature_id;
    unsigned flags = PDB_READ_WGS84 | (personal ? PDB_READ_PERSONAL : 0) |
                     (from_source(q->crs) ? PDB_READ_SOURCE : 0);
    coord_out co = {w->ctx, PDB_EPSG_WGS84, q->crs, NULL, 0};
    pdb_parcel *p = NULL;
    char path[96];

    if (strlen(id) == 0 || strlen(id) > 18 || strspn(id, "0123456789") != strlen(id)) {
        pdb_srv_error(out, 404, "no parcel '%.40s' (parcel ids are store ids: whole numbers)", id);
        return;
    }
    if (pdb_parcel_get(w->ctx, w->store, strtoll(id, NULL, 10), flags, &p) != PDB_OK) {
        pdb_srv_engine_error(out, w);
        return;
    }
    if (personal && audit(w, who, &p->id, 1, out) != 0) {
        pdb_parcel_free(p);
        return;
    }
    snprintf(path, sizeof path, "/collections/parcels/items/%s", id);
    if (pg->html) {
        char title[160];
        snprintf(title, sizeof title, "Parcel %s/%s/%s", p->commune, p->sheet, p->parcel);
        html_head(pg, title, path);
        html_parcel_table(pg, p, 1, personal);
        fputs("</body></html>\n", pg->f);
        finish(pg, out, HTML);
    } else {
        end_feature(pg, out, write_parcel(pg->f, p, personal, &co), path);
    }
    free(co.xy);
    pdb_parcel_free(p);
}

static void commune_item(pdb_srv_worker *w, page *pg, pdb_srv_response *out)
{
    const pdb_ogc_request *q = pg->q;
    pdb_commune_list *list = NULL;
    coord_out co = {w->ctx, PDB_EPSG_WGS84, q->crs, NULL, 0};
    const pdb_commune *c = NULL;
    char path[96];

    if (pdb_communes_list(w->ctx, w->store, &list) != PDB_OK) {
        pdb_srv_engine_error(out, w);
        return;
    }
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i].code, q->feature_id) == 0 && list->items[i].parcels > 0)
            c = &list->items[i];
    if (c == NULL) {
        pdb_srv_error(out, 404, "no commune '%.40s' in the store", q->feature_id);
        goto done;
    }
    snprintf(path, sizeof path, "/collections/communes/items/%s", c->code);
    if (pg->html) {
        html_head(pg, c->name ? c->name : c->code, path);
        fprintf(pg->f, "<p>%s: %lld parcels</p></body></html>\n", c->code, (long long)c->parcels);
        finish(pg, out, HTML);
    } else {
        end_feature(pg, out, write_commune(pg->f, c, &co), path);
    }
done:
    free(co.xy);
    pdb_commune_list_free(list);
}

/* The OpenAPI document with this server's URL; HTML: a page that links
 * the JSON (no script is served). */
static void api(page *pg, pdb_srv_response *out)
{
    if (pg->html) {
        html_head(pg, "API definition", "/api");
        fputs("<p>The OpenAPI 3.0 document of this API: <a href=\"", pg->f);
        fprintf(pg->f, "%s/ogcapi/api?f=json\">api?f=json</a>.</p></body></html>\n", pg->base);
        finish(pg, out, HTML);
        return;
    }
    const char *t = (const char *)pdb_srv_ogcapi_openapi, *mark;
    while ((mark = strstr(t, "%SERVER%")) != NULL) {
        fwrite(t, 1, (size_t)(mark - t), pg->f);
        fprintf(pg->f, "%s/ogcapi", pg->base);
        t = mark + 8;
    }
    fputs(t, pg->f);
    finish(pg, out, OPENAPI);
}

/* Whether an Accept header prefers HTML to JSON (browsers'); clients
 * that send none, or JSON first, get JSON. */
static int accept_html(const char *accept)
{
    if (accept == NULL)
        return 0;
    const char *h = strstr(accept, "text/html"), *j = strstr(accept, "json");
    return h != NULL && (j == NULL || h < j);
}

void pdb_srv_ogcapi(pdb_srv *srv, pdb_srv_worker *w, const pdb_srv_in *in,
                    const pdb_srv_request *req, const char *personal, pdb_srv_response *out)
{
    char err[PDB_SRV_ERRMAX];
    pdb_ogc_request q;
    page pg = {0};

    int st = pdb_ogc_parse(req, &q, err, sizeof err);
    if (st != 0) {
        pdb_srv_error(out, st, "%s", err);
        return;
    }
    pg.req = req;
    pg.q = &q;
    pg.html = q.html >= 0 ? q.html : accept_html(in->accept);
    pdb_srv_base_url(srv, in, pg.base, sizeof pg.base);
    if ((pg.f = open_memstream(&pg.buf, &pg.len)) == NULL) {
        pdb_srv_error(out, 503, "out of memory");
        return;
    }
    out->vary = "Accept, Authorization";
    switch (q.resource) {
    case PDB_OGC_LANDING:
        landing(&pg);
        finish(&pg, out, JSON);
        break;
    case PDB_OGC_CONFORMANCE:
        conformance(&pg);
        finish(&pg, out, JSON);
        break;
    case PDB_OGC_API:
        api(&pg, out);
        break;
    case PDB_OGC_COLLECTIONS:
        collections(srv, &pg);
        finish(&pg, out, JSON);
        break;
    case PDB_OGC_COLLECTION:
        collection(srv, &pg);
        finish(&pg, out, JSON);
        break;
    case PDB_OGC_ITEMS:
        if (q.collection == PDB_OGC_PARCELS)
            parcels_items(w, &pg, personal, out);
        else
            communes_items(w, &pg, out);
        break;
    case PDB_OGC_ITEM:
        if (q.collection == PDB_OGC_PARCELS)
            parcel_item(w, &pg, personal, out);
        else
            commune_item(w, &pg, out);
        break;
    }
    if (pg.f != NULL) { /* an error answered before the body was finished */
        fclose(pg.f);
        free(pg.buf);
    }
    if (out->status == 200)
        out->cache_control = personal ? "private, no-store" : "no-cache";
}
