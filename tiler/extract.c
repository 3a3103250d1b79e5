/*
 * extract.c: the extract of the cadastral map for one parcel: reading the
 * parcel and its neighbours, its vertices in its own TM-3 zone, the scale,
 * and the document (extract_draw.c draws the pages).
 *
 * The vertex table is legal evidence: its coordinates come from the source
 * geometry as surveyed (PDB_READ_SOURCE), never through WGS 84. Only a
 * parcel surveyed in another system (geographic, UTM) is projected, into
 * its commune's TM-3 zone, the one the extract then names.
 */
#include "extract_int.h"

#include "ctx.h"

#include <cairo-pdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const int pdbt_extract_scales[] = {200, 500, 1000, 2000, 5000, 10000, 0};

/* Paper sizes in points (1/72 inch), portrait. */
static const double paper_pt[2][2] = {{595.2756, 841.8898}, {841.8898, 1190.5512}};

void pdbt__extract_layout(pdbt_paper paper, pdbt_ex_layout *lay)
{
    const double mm = PDBT_PT_PER_MM;
    lay->page_w = paper_pt[paper][0];
    lay->page_h = paper_pt[paper][1];
    /* The margins of an official paper: 20 mm on the binding side, 10 mm
     * elsewhere; the heading and the parcel's details above the drawing,
     * the coordinate note and the signature blocks below it. */
    lay->frame[0] = 20 * mm;
    lay->frame[2] = lay->page_w - 10 * mm;
    lay->frame[1] = (paper == PDBT_PAPER_A4 ? 78 : 84) * mm;
    lay->frame[3] = lay->page_h - (paper == PDBT_PAPER_A4 ? 62 : 66) * mm;
    lay->row_h = 13.0;
    lay->table_top = 30 * mm;
    lay->rows_per_page = (size_t)((lay->page_h - lay->table_top - 20 * mm) / lay->row_h) - 1;
}

/* Twice the signed area of n points (positive when counter-clockwise with
 * north up). */
static double area2(const double *p, size_t n)
{
    double a = 0;
    for (size_t i = 0, j = n - 1; i < n; j = i++)
        a += (p[2 * j] - p[2 * i]) * (p[2 * j + 1] + p[2 * i + 1]);
    return a;
}

/* Puts ring r of g (closed) into ex as its next ring: without the closing
 * point, clockwise, starting at the vertex nearest the north-west corner
 * of the ring's box (the numbering of a cadastral extract). */
static int add_ring(pdbt_ex_parcel *ex, const pdb_polygons *g, size_t r, int part, int hole)
{
    const double *src = g->xy + 2 * g->ring_point[r];
    size_t n = g->ring_point[r + 1] - g->ring_point[r];
    if (n >= 2 && src[0] == src[2 * (n - 1)] && src[1] == src[2 * (n - 1) + 1])
        n--; /* the closing point */
    if (n < 3)
        return 0; /* nothing to number; the store does not keep such rings */
    double *p = malloc(2 * n * sizeof *p);
    if (p == NULL)
        return -1;
    int ccw = area2(src, n) > 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = ccw ? n - 1 - i : i;
        p[2 * i] = src[2 * k];
        p[2 * i + 1] = src[2 * k + 1];
    }
    double minx = p[0], maxy = p[1];
    for (size_t i = 1; i < n; i++) {
        minx = fmin(minx, p[2 * i]);
        maxy = fmax(maxy, p[2 * i + 1]);
    }
    size_t start = 0;
    double best = INFINITY;
    for (size_t i = 0; i < n; i++) {
        double dx = p[2 * i] - minx, dy = maxy - p[2 * i + 1], d = dx * dx + dy * dy;
        if (d < best) {
            best = d;
            start = i;
        }
    }
    if (pdbt__grow((void **)&ex->v, &ex->capv, ex->nv + n, 2 * sizeof *ex->v) != 0 ||
        pdbt__grow((void **)&ex->rings, &ex->caprings, ex->nrings + 1, sizeof *ex->rings) != 0) {
        free(p);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = (start + i) % n;
        ex->v[2 * (ex->nv + i)] = p[2 * k];
        ex->v[2 * (ex->nv + i) + 1] = p[2 * k + 1];
    }
    ex->rings[ex->nrings++] = (pdbt_ex_ring){.start = ex->nv, .n = n, .part = part, .hole = hole};
    ex->nv += n;
    free(p);
    return 0;
}

/* The TM-3 zone a parcel's extract is drawn in: its survey's own zone, or
 * its commune's when it was surveyed in another system. */
static pdb_status parcel_zone(pdbt_ctx *ctx, const pdb_parcel *p, pdb_crs_info *out)
{
    if (pdb_crs_info_get(ctx->db, p->source_srid, out) == PDB_OK && out->kind == PDB_CRS_TM3)
        return PDB_OK;
    const pdb_commune_ref *c;
    if (pdb_commune_ref_find(ctx->db, p->commune, &c) != PDB_OK)
        return pdbt__fail_db(ctx);
    if (pdb_crs_info_get(ctx->db, c->epsg, out) != PDB_OK)
        return pdbt__fail_db(ctx);
    return PDB_OK;
}

/* Decodes a parcel's source geometry into its extract's zone: a fresh
 * pdb_polygons the caller frees. */
static pdb_status source_in_zone(pdbt_ctx *ctx, const pdb_parcel *p, int epsg, pdb_polygons **out)
{
    pdb_polygons *g = NULL;
    *out = NULL;
    if (p->source_wkb == NULL)
        return pdbt__fail(ctx, PDB_ECORRUPT, "parcel %lld has no source geometry",
                          (long long)p->id);
    if (pdb_wkb_to_polygons(ctx->db, p->source_wkb, p->source_wkb_len, &g) != PDB_OK)
        return pdbt__fail_db(ctx);
    if (p->source_srid != epsg) {
        /* Transformed as x and y arrays, in one call (PITFALLS: PROJ). */
        double *x = malloc(2 * g->npoints * sizeof *x);
        if (x == NULL) {
            pdb_polygons_free(g);
            return pdbt__fail(ctx, PDB_ENOMEM, "out of memory");
        }
        double *y = x + g->npoints;
        for (size_t i = 0; i < g->npoints; i++) {
            x[i] = g->xy[2 * i];
            y[i] = g->xy[2 * i + 1];
        }
        pdb_status st = pdb_crs_transform(ctx->db, p->source_srid, epsg, x, y, g->npoints);
        for (size_t i = 0; st == PDB_OK && i < g->npoints; i++) {
            g->xy[2 * i] = x[i];
            g->xy[2 * i + 1] = y[i];
        }
        free(x);
        if (st != PDB_OK) {
            pdb_polygons_free(g);
            return pdbt__fail_db(ctx);
        }
    }
    *out = g;
    return PDB_OK;
}

/* Fills ex's rings and vertices from its parcel's source geometry. */
static pdb_status prepare_parcel(pdbt_ctx *ctx, pdbt_ex_parcel *ex)
{
    pdb_polygons *g = NULL;
    if (pdb_commune_ref_find(ctx->db, ex->p->commune, &ex->commune) != PDB_OK)
        ex->commune = NULL; /* a store's commune this process does not know: its code alone */
    pdb_status st = parcel_zone(ctx, ex->p, &ex->crs);
    if (st != PDB_OK)
        return st;
    if ((st = source_in_zone(ctx, ex->p, ex->crs.epsg, &g)) != PDB_OK)
        return st;
    for (size_t part = 0; part < g->nparts; part++)
        for (size_t r = g->part_ring[part]; r < g->part_ring[part + 1]; r++)
            if (add_ring(ex, g, r, (int)part, r != g->part_ring[part]) != 0) {
                pdb_polygons_free(g);
                return pdbt__fail(ctx, PDB_ENOMEM, "out of memory");
            }
    pdb_polygons_free(g);
    if (ex->nv == 0)
        return pdbt__fail(ctx, PDB_EGEOM, "parcel %lld has no ring to draw", (long long)ex->p->id);
    ex->bbox[0] = ex->bbox[2] = ex->v[0];
    ex->bbox[1] = ex->bbox[3] = ex->v[1];
    for (size_t i = 1; i < ex->nv; i++) {
        ex->bbox[0] = fmin(ex->bbox[0], ex->v[2 * i]);
        ex->bbox[1] = fmin(ex->bbox[1], ex->v[2 * i + 1]);
        ex->bbox[2] = fmax(ex->bbox[2], ex->v[2 * i]);
        ex->bbox[3] = fmax(ex->bbox[3], ex->v[2 * i + 1]);
    }
    /* The area of the geometry as surveyed, in its zone's metres: exterior
     * rings count, holes subtract (all rings are clockwise now). */
    ex->area_m2 = 0;
    for (size_t r = 0; r < ex->nrings; r++) {
        double a = fabs(area2(ex->v + 2 * ex->rings[r].start, ex->rings[r].n)) / 2;
        ex->area_m2 += ex->rings[r].hole ? -a : a;
    }
    return PDB_OK;
}

/* The room a parcel needs around it on the paper for its edge lengths and
 * vertex numbers, in millimetres on each side. */
#define LABEL_ROOM_MM 12.0

/* 1 when the parcel's box fits the drawing frame at 1:scale. */
static int fits(const pdbt_ex_parcel *ex, const pdbt_ex_layout *lay, int scale)
{
    double k = 1000.0 / scale * PDBT_PT_PER_MM; /* points per metre */
    double room = 2 * LABEL_ROOM_MM * PDBT_PT_PER_MM;
    return (ex->bbox[2] - ex->bbox[0]) * k + room <= lay->frame[2] - lay->frame[0] &&
           (ex->bbox[3] - ex->bbox[1]) * k + room <= lay->frame[3] - lay->frame[1];
}

/* The largest standard scale at which the parcel fits, or 0. */
static int best_scale(const pdbt_ex_parcel *ex, pdbt_paper paper)
{
    pdbt_ex_layout lay;
    pdbt__extract_layout(paper, &lay);
    for (const int *s = pdbt_extract_scales; *s; s++)
        if (fits(ex, &lay, *s))
            return *s;
    return 0;
}

static pdb_status choose_scale(pdbt_ctx *ctx, pdbt_ex_parcel *ex, const pdbt_extract_request *req)
{
    static const char *const names[] = {"A4", "A3"};
    int best = best_scale(ex, req->paper);
    const char *paper = names[req->paper];
    double w = ex->bbox[2] - ex->bbox[0], h = ex->bbox[3] - ex->bbox[1];
    if (best == 0) {
        int a3 = req->paper == PDBT_PAPER_A4 ? best_scale(ex, PDBT_PAPER_A3) : 0;
        if (a3 != 0)
            return pdbt__fail(ctx, PDB_EINVAL,
                              "parcel %s/%s/%s (%.0f x %.0f m) does not fit %s at 1:10000, the "
                              "smallest standard scale; it fits A3 at 1:%d (--paper A3)",
                              ex->p->commune, ex->p->sheet, ex->p->parcel, w, h, paper, a3);
        return pdbt__fail(ctx, PDB_EINVAL,
                          "parcel %s/%s/%s (%.0f x %.0f m) is too large for an extract: it does "
                          "not fit %s at 1:10000, the smallest standard scale",
                          ex->p->commune, ex->p->sheet, ex->p->parcel, w, h,
                          req->paper == PDBT_PAPER_A4 ? "A4 nor A3" : paper);
    }
    if (req->scale == 0) {
        ex->scale = best;
        return PDB_OK;
    }
    pdbt_ex_layout lay;
    pdbt__extract_layout(req->paper, &lay);
    if (!fits(ex, &lay, req->scale))
        return pdbt__fail(ctx, PDB_EINVAL,
                          "parcel %s/%s/%s (%.0f x %.0f m) does not fit %s at 1:%d; use "
                          "--scale %d (1:%d is the largest scale at which it fits)",
                          ex->p->commune, ex->p->sheet, ex->p->parcel, w, h, paper, req->scale,
                          best, best);
    ex->scale = req->scale;
    return PDB_OK;
}

/* "2026-01-31" -> the end of that day; a full time is kept as given. */
static int at_time(const char *at, char out[32])
{
    int y, m, d;
    char rest;
    size_t n = strlen(at);
    if (n == 10 && sscanf(at, "%4d-%2d-%2d%c", &y, &m, &d, &rest) == 3 && m >= 1 && m <= 12 &&
        d >= 1 && d <= 31) {
        snprintf(out, 32, "%.10sT23:59:59.999Z", at);
        return 0;
    }
    if (n >= 19 && n < 32 && sscanf(at, "%4d-%2d-%2dT", &y, &m, &d) == 3 && at[10] == 'T') {
        snprintf(out, 32, "%s", at);
        return 0;
    }
    return -1;
}

/* 1 when a version of a parcel was the one in force at time t (ISO 8601
 * UTC strings compare as times). */
static int valid_at(const pdb_parcel *p, const char *t)
{
    return p->valid_from != NULL && strcmp(p->valid_from, t) <= 0 &&
           (p->valid_to == NULL || strcmp(t, p->valid_to) < 0);
}

static int is_scale(int s)
{
    for (const int *k = pdbt_extract_scales; *k; k++)
        if (*k == s)
            return 1;
    return 0;
}

/* The parcels the extract is of: every holder of the number (then). */
static pdb_status find_parcels(pdbt_ctx *ctx, pdb_store *store, const pdbt_extract_request *req,
                               const char *t, pdb_parcel_list **out)
{
    unsigned flags = PDB_READ_SOURCE | (req->personal ? PDB_READ_PERSONAL : 0) |
                     (t != NULL ? PDB_READ_HISTORY : 0);
    pdb_parcel_list *list = NULL;
    *out = NULL;
    if (pdb_parcels_by_number(ctx->db, store, req->commune, req->former, req->sheet, req->parcel,
                              flags, &list) != PDB_OK)
        return pdbt__fail_db(ctx);
    if (t != NULL) {
        size_t k = 0;
        for (size_t i = 0; i < list->count; i++) {
            if (valid_at(&list->items[i], t))
                list->items[k++] = list->items[i];
            else
                pdb_parcel_clear(&list->items[i]);
        }
        list->count = k;
    }
    if (list->count == 0) {
        pdb_parcel_list_free(list);
        return pdbt__fail(ctx, PDB_ENOTFOUND, "no parcel %s/%s/%s%s%s%s%s in the store",
                          req->commune, req->sheet, req->parcel, req->former ? " of former " : "",
                          req->former ? req->former : "", t ? " at " : "", t ? req->at : "");
    }
    if (list->count > PDBT_EXTRACT_MAX_PARCELS) {
        pdb_status st = pdbt__fail(
            ctx, PDB_ELIMIT,
            "%zu parcels hold the number %s/%s/%s, more than %d in one extract: "
            "choose one former commune (--former)",
            list->count, req->commune, req->sheet, req->parcel, PDBT_EXTRACT_MAX_PARCELS);
        pdb_parcel_list_free(list);
        return st;
    }
    *out = list;
    return PDB_OK;
}

/* A growable byte buffer for Cairo's PDF stream. */
typedef struct out_buf {
    unsigned char *data; /* bytes written */
    size_t len, cap;     /* used and allocated */
} out_buf;

static cairo_status_t buf_write(void *closure, const unsigned char *data, unsigned int length)
{
    out_buf *b = closure;
    if (pdbt__grow((void **)&b->data, &b->cap, b->len + length, 1) != 0)
        return CAIRO_STATUS_NO_MEMORY;
    memcpy(b->data + b->len, data, length);
    b->len += length;
    return CAIRO_STATUS_SUCCESS;
}

/* libdeflate's level for an extract's PNG (docs/extract.md, "Speed"): a
 * sheet is long runs of white and of a few flat colours, on which level 1
 * (the tiles' default) runs fewer instructions but takes more time, as
 * each byte of a run updates the same hash bucket the byte before it did;
 * level 2 takes a quarter less CPU time for 4% fewer bytes. */
#define EXTRACT_PNG_LEVEL 2

/* The pages of one parcel: the sheet, then the table's pages. */
static int parcel_pages(const pdbt_ex_parcel *ex, const pdbt_ex_layout *lay)
{
    return 1 + (int)((ex->nv + lay->rows_per_page - 1) / lay->rows_per_page);
}

/* The height of page k of a parcel in a PNG, in points: whole pages, but
 * the table's last one only as far as its rows and footer go (a PNG has
 * no paper, and a blank half page costs as much to encode as a drawn
 * one). */
static double png_page_h(const pdbt_ex_parcel *ex, const pdbt_ex_layout *lay, int k)
{
    int n = parcel_pages(ex, lay);
    if (k == 0 || k < n - 1)
        return lay->page_h;
    size_t rows = ex->nv - (size_t)(n - 2) * lay->rows_per_page;
    return fmin(lay->page_h,
                lay->table_top + ((double)rows + 3) * lay->row_h + 14 * PDBT_PT_PER_MM);
}

static pdb_status draw_all(pdbt_ctx *ctx, pdbt_ex_doc *doc, const pdbt_extract_request *req,
                           pdbt_extract_result *res)
{
    pdbt_ex_layout lay;
    pdbt__extract_layout(req->paper, &lay);
    int total = 0;
    for (size_t i = 0; i < doc->nparcels; i++)
        total += parcel_pages(&doc->parcels[i], &lay);
    doc->total_pages = total;

    out_buf buf = {0};
    cairo_surface_t *surface = NULL;
    unsigned char *pixels = NULL; /* the PNG's surface's memory (pdbt__pixels_alloc) */
    size_t pixels_bytes = 0;      /* its size */
    double px_per_pt = (req->png_dpi > 0 ? req->png_dpi : 150) / 72.0;
    if (req->format == PDBT_EXTRACT_PDF) {
        surface = cairo_pdf_surface_create_for_stream(buf_write, &buf, lay.page_w, lay.page_h);
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE,
                                       "Trích lục bản đồ địa chính");
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR,
                                       "parceldb " PDB_VERSION_STRING);
    } else {
        int w = (int)lround(lay.page_w * px_per_pt);
        double h_pt = 0;
        for (size_t i = 0; i < doc->nparcels; i++)
            for (int k = 0; k < parcel_pages(&doc->parcels[i], &lay); k++)
                h_pt += png_page_h(&doc->parcels[i], &lay, k);
        int h = (int)lround(h_pt * px_per_pt);
        if (h > 32767)
            return pdbt__fail(ctx, PDB_ELIMIT,
                              "the extract has %d pages, too many for one PNG at %d dpi: ask for "
                              "the PDF",
                              total, (int)lround(px_per_pt * 72));
        /* The pixels in memory of the tiler's own (pdbt__pixels_alloc: huge
         * pages, kept from one extract to the next), not cairo's calloc:
         * they are painted white below. */
        int stride = cairo_format_stride_for_width(CAIRO_FORMAT_ARGB32, w);
        pixels_bytes = (size_t)stride * (size_t)h;
        pixels = pdbt__pixels_alloc(pixels_bytes);
        if (pixels == NULL)
            return pdbt__fail(ctx, PDB_ENOMEM, "out of memory for a %d x %d pixel extract", w, h);
        surface = cairo_image_surface_create_for_data(pixels, CAIRO_FORMAT_ARGB32, w, h, stride);
    }
    cairo_t *cr = cairo_create(surface);
    if (req->format == PDBT_EXTRACT_PNG) {
        /* Without anti-aliasing a sheet has a few dozen colours: the PNG
         * encoder then writes a palette image in one pass, three times
         * faster and smaller than the RGB of anti-aliased text (at 150
         * dpi hinted text stays sharp; the PDF is the document to print). */
        cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
        cairo_font_options_t *fo = cairo_font_options_create();
        cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_NONE);
        cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_FULL);
        cairo_set_font_options(cr, fo);
        cairo_font_options_destroy(fo);
        /* Every pixel white, the rows between pages too (the memory came
         * uninitialised). */
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_paint(cr);
    }
    pdb_status st = PDB_OK;
    int page = 0;
    double top = 0; /* of the page in the PNG, points */
    for (size_t i = 0; i < doc->nparcels && st == PDB_OK; i++) {
        pdbt_ex_parcel *ex = &doc->parcels[i];
        int n = parcel_pages(ex, &lay);
        for (int k = 0; k < n && st == PDB_OK; k++, page++) {
            pdbt_ex_layout pl = lay; /* the page's own height in a PNG */
            cairo_save(cr);
            if (req->format == PDBT_EXTRACT_PNG) {
                pl.page_h = png_page_h(ex, &lay, k);
                cairo_scale(cr, px_per_pt, px_per_pt);
                cairo_translate(cr, 0, top);
                top += pl.page_h;
            }
            if (req->format == PDBT_EXTRACT_PDF) { /* the PNG is white already */
                cairo_set_source_rgb(cr, 1, 1, 1);
                cairo_rectangle(cr, 0, 0, pl.page_w, pl.page_h);
                cairo_fill(cr);
            }
            if (k == 0)
                st = pdbt__extract_draw_sheet(ctx, doc, ex, &pl, cr, page + 1);
            else
                pdbt__extract_draw_table(doc, ex, &pl, cr, k - 1, page + 1);
            cairo_restore(cr);
            if (req->format == PDBT_EXTRACT_PDF)
                cairo_show_page(cr);
        }
    }
    if (st == PDB_OK && cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        st = pdbt__fail(ctx, PDB_EIO, "drawing the extract: %s",
                        cairo_status_to_string(cairo_status(cr)));
    cairo_destroy(cr);
    if (req->format == PDBT_EXTRACT_PDF) {
        cairo_surface_finish(surface);
        if (st == PDB_OK && cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS)
            st = pdbt__fail(ctx, PDB_EIO, "writing the PDF: %s",
                            cairo_status_to_string(cairo_surface_status(surface)));
        if (st == PDB_OK) {
            res->data = buf.data;
            res->len = buf.len;
            buf.data = NULL;
        }
    } else if (st == PDB_OK) {
        cairo_surface_flush(surface);
        pdbt_image img = {.width = cairo_image_surface_get_width(surface),
                          .height = cairo_image_surface_get_height(surface),
                          .stride = cairo_image_surface_get_stride(surface),
                          .argb = (const uint32_t *)cairo_image_surface_get_data(surface)};
        pdbt_png_options opt = {.level = EXTRACT_PNG_LEVEL, .palette = PDBT_PNG_PALETTE_AUTO};
        st = pdbt_png_encode(ctx, &img, &opt, &res->data, &res->len);
    }
    cairo_surface_destroy(surface);
    pdbt__pixels_free(pixels, pixels_bytes);
    free(buf.data);
    res->pages = total;
    return st;
}

pdb_status pdbt_extract_make(pdbt_ctx *ctx, pdb_store *store, const pdbt_extract_request *req,
                             pdbt_extract_result *out)
{
    pdb_status st;
    pdb_parcel_list *list = NULL;
    pdbt_ex_doc doc = {0};
    char t[32];

    pdbt__ok(ctx);
    memset(out, 0, sizeof *out);
    if (ctx->db == NULL)
        return pdbt__fail(ctx, PDB_EINVAL, "an extract needs an engine context");
    if (req->scale != 0 && !is_scale(req->scale))
        return pdbt__fail(ctx, PDB_EINVAL,
                          "scale %d is not a standard scale of an extract (200, 500, 1000, 2000, "
                          "5000 or 10000)",
                          req->scale);
    if (req->paper != PDBT_PAPER_A4 && req->paper != PDBT_PAPER_A3)
        return pdbt__fail(ctx, PDB_EINVAL, "paper must be A4 or A3");
    if (req->png_dpi < 0 || req->png_dpi > 600)
        return pdbt__fail(ctx, PDB_EINVAL, "PNG resolution %d dpi is outside 1-600", req->png_dpi);
    if (req->at != NULL && at_time(req->at, t) != 0)
        return pdbt__fail(ctx, PDB_EINVAL, "date '%s' is not YYYY-MM-DD or an ISO 8601 UTC time",
                          req->at);
    doc.at = req->at;
    doc.personal = req->personal;
    if ((st = pdbt__extract_fonts(ctx, req->font_dir, &doc)) != PDB_OK)
        goto done;
    if ((st = find_parcels(ctx, store, req, req->at ? t : NULL, &list)) != PDB_OK)
        goto done;
    if (pdb_store_data_version(ctx->db, store, &doc.data_version) != PDB_OK) {
        st = pdbt__fail_db(ctx);
        goto done;
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(doc.today, sizeof doc.today, "%d/%m/%Y", &tm);
    doc.parcels = calloc(list->count, sizeof *doc.parcels);
    if (doc.parcels == NULL) {
        st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory");
        goto done;
    }
    doc.nparcels = list->count;
    for (size_t i = 0; i < list->count; i++) {
        pdbt_ex_parcel *ex = &doc.parcels[i];
        ex->p = &list->items[i];
        ex->dup_index = (int)i + 1;
        if ((st = prepare_parcel(ctx, ex)) != PDB_OK)
            goto done;
        if ((st = choose_scale(ctx, ex, req)) != PDB_OK)
            goto done;
        if ((st = pdbt__extract_neighbours(ctx, store, req->paper, ex)) != PDB_OK)
            goto done;
        if (i < PDBT_EXTRACT_MAX_PARCELS)
            out->ids[i] = ex->p->id;
    }
    if ((st = draw_all(ctx, &doc, req, out)) != PDB_OK)
        goto done;
    out->nparcels = doc.nparcels;
    out->scale = doc.parcels[0].scale;
done:
    for (size_t i = 0; i < doc.nparcels; i++)
        pdbt__extract_parcel_clear(&doc.parcels[i]);
    free(doc.parcels);
    pdb_parcel_list_free(list);
    if (st != PDB_OK)
        pdbt_extract_result_clear(out);
    return st;
}

void pdbt_extract_result_clear(pdbt_extract_result *out)
{
    free(out->data);
    memset(out, 0, sizeof *out);
}

void pdbt__extract_transform(const pdbt_ex_parcel *ex, const pdbt_ex_layout *lay, double *ce,
                             double *cn, double *k)
{
    *ce = (ex->bbox[0] + ex->bbox[2]) / 2;
    *cn = (ex->bbox[1] + ex->bbox[3]) / 2;
    *k = 1000.0 / ex->scale * PDBT_PT_PER_MM;
    (void)lay;
}

/* The most neighbours one frame draws: at 1:10000 on A3 a frame holds a
 * few thousand village parcels; past this the map would be ink. */
#define MAX_NEIGHBOURS 4000

pdb_status pdbt__extract_neighbours(pdbt_ctx *ctx, pdb_store *store, pdbt_paper paper,
                                    pdbt_ex_parcel *ex)
{
    pdbt_ex_layout lay;
    pdbt__extract_layout(paper, &lay);
    double ce, cn, k;
    pdbt__extract_transform(ex, &lay, &ce, &cn, &k);
    double hw = (lay.frame[2] - lay.frame[0]) / 2 / k, hh = (lay.frame[3] - lay.frame[1]) / 2 / k;
    double x[4] = {ce - hw, ce + hw, ce + hw, ce - hw}, y[4] = {cn - hh, cn - hh, cn + hh, cn + hh};
    if (pdb_crs_transform(ctx->db, ex->crs.epsg, PDB_EPSG_WGS84, x, y, 4) != PDB_OK)
        return pdbt__fail_db(ctx);
    double box[4] = {x[0], y[0], x[0], y[0]};
    for (int i = 1; i < 4; i++) {
        box[0] = fmin(box[0], x[i]);
        box[1] = fmin(box[1], y[i]);
        box[2] = fmax(box[2], x[i]);
        box[3] = fmax(box[3], y[i]);
    }
    pdb_parcel_list *list = NULL;
    if (pdb_parcels_in_bbox(ctx->db, store, box[0], box[1], box[2], box[3], MAX_NEIGHBOURS, 0,
                            PDB_READ_SOURCE, &list) != PDB_OK)
        return pdbt__fail_db(ctx);
    pdb_status st = PDB_OK;
    for (size_t i = 0; i < list->count && st == PDB_OK; i++) {
        const pdb_parcel *q = &list->items[i];
        if (q->id == ex->p->id)
            continue;
        pdbt_ex_neighbour nb = {0};
        if ((st = source_in_zone(ctx, q, ex->crs.epsg, &nb.g)) != PDB_OK)
            break;
        size_t n = q->landuse ? strcspn(q->landuse, "+") : 0;
        nb.landuse = n ? strndup(q->landuse, n) : NULL;
        nb.label = strdup(q->parcel && *q->parcel ? q->parcel : nb.landuse ? nb.landuse : "");
        if (nb.label == NULL || (n && nb.landuse == NULL) ||
            pdbt__grow((void **)&ex->nb, &ex->capnb, ex->nnb + 1, sizeof *ex->nb) != 0) {
            pdb_polygons_free(nb.g);
            free(nb.label);
            free(nb.landuse);
            st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory");
            break;
        }
        ex->nb[ex->nnb++] = nb;
    }
    pdb_parcel_list_free(list);
    return st;
}

void pdbt__extract_parcel_clear(pdbt_ex_parcel *ex)
{
    for (size_t i = 0; i < ex->nnb; i++) {
        pdb_polygons_free(ex->nb[i].g);
        free(ex->nb[i].label);
        free(ex->nb[i].landuse);
    }
    free(ex->nb);
    free(ex->v);
    free(ex->rings);
    memset(ex, 0, sizeof *ex);
}
