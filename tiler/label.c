/*
 * label.c: label placement. A tile reads its features from a buffer
 * around itself (128 px by default), computes each label's anchor from the
 * whole shape (a point inside it, never from the tile's clip), and places
 * labels greedily in an order that depends only on the data:
 * symbol-sort-key, then larger shapes first, then parcel id, then text.
 * Two neighbouring tiles therefore see the same candidates near their
 * common edge in the same order and make the same choices, so a label
 * that crosses the edge is drawn whole in both halves, and never twice
 * side by side (the usual "cut or duplicated labels" defect).
 */
#include "render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_LINES 3 /* horizontal lines a label anchor is looked for on */

/* The widest interior run of the feature along each horizontal line
 * y[k]: its length in width[k] and its middle in mid[k] (even-odd over
 * all rings). The lines share one pass over the edges (a pass per line
 * was 3% of a z16 vector tile). */
static void widest_runs(const pdbt_renderer *r, const pdbt_rfeat *f, const double *y, double *width,
                        double *mid)
{
    double xs[SCAN_LINES][64];
    size_t n[SCAN_LINES] = {0};
    for (uint32_t k = 0; k < f->nrings; k++) {
        const pdbt_rring *rg = &r->rings[f->ring0 + k];
        const double *p = r->pts + 2 * rg->start;
        for (uint32_t i = 0; i + 1 < rg->n; i++) {
            double y1 = p[2 * i + 1], y2 = p[2 * i + 3];
            for (int l = 0; l < SCAN_LINES; l++) {
                if ((y1 > y[l]) == (y2 > y[l]))
                    continue;
                double x = p[2 * i] + (y[l] - y1) / (y2 - y1) * (p[2 * i + 2] - p[2 * i]);
                if (n[l] < PDB_COUNTOF(xs[l]))
                    xs[l][n[l]++] = x;
            }
        }
    }
    for (int l = 0; l < SCAN_LINES; l++) {
        double *v = xs[l];
        width[l] = 0;
        /* Insertion sort: a handful of crossings. */
        for (size_t i = 1; i < n[l]; i++)
            for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
                double t = v[j];
                v[j] = v[j - 1];
                v[j - 1] = t;
            }
        for (size_t i = 0; i + 1 < n[l]; i += 2)
            if (v[i + 1] - v[i] > width[l]) {
                width[l] = v[i + 1] - v[i];
                mid[l] = (v[i] + v[i + 1]) / 2;
            }
    }
}

void pdbt__label_anchor(const pdbt_renderer *r, const pdbt_rfeat *f, double out[2])
{
    /* The largest exterior ring decides where to look. */
    double best_area = -1, y0 = 0, y1 = 0;
    for (uint32_t k = 0; k < f->nrings; k++) {
        const pdbt_rring *rg = &r->rings[f->ring0 + k];
        if (!rg->exterior)
            continue;
        const double *p = r->pts + 2 * rg->start;
        double a = 0, lo = INFINITY, hi = -INFINITY;
        for (uint32_t i = 0; i + 1 < rg->n; i++) {
            a += (p[2 * i] - p[0]) * (p[2 * i + 3] - p[1]) -
                 (p[2 * i + 2] - p[0]) * (p[2 * i + 1] - p[1]);
            /* Comparisons, not fmin/fmax (library calls): the points are
             * finite. */
            lo = p[2 * i + 1] < lo ? p[2 * i + 1] : lo;
            hi = p[2 * i + 1] > hi ? p[2 * i + 1] : hi;
        }
        if (fabs(a) > best_area) {
            best_area = fabs(a);
            y0 = lo;
            y1 = hi;
        }
    }
    out[0] = out[1] = NAN;
    if (best_area < 0)
        return;
    /* Three scan lines through the middle half; the widest run wins, the
     * central line on ties. A tiny offset keeps lines off vertices. */
    static const double fractions[SCAN_LINES] = {0.5, 0.375, 0.625};
    double best = 0, y[SCAN_LINES], w[SCAN_LINES], mid[SCAN_LINES] = {0};
    for (size_t i = 0; i < SCAN_LINES; i++)
        y[i] = y0 + (y1 - y0) * fractions[i] + 1e-7;
    widest_runs(r, f, y, w, mid);
    for (size_t i = 0; i < SCAN_LINES; i++)
        if (w[i] > best * 1.2 || (best == 0 && w[i] > 0)) {
            best = w[i];
            out[0] = mid[i];
            out[1] = y[i];
        }
}

static int label_cmp(const void *a, const void *b, void *strs)
{
    const pdbt_label *x = a, *y = b;
    if (x->sort != y->sort)
        return x->sort < y->sort ? -1 : 1;
    if (x->area != y->area)
        return x->area > y->area ? -1 : 1;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return strcmp((const char *)strs + x->text, (const char *)strs + y->text);
}

/* qsort without a context argument: the strings are passed through a
 * thread-local pointer. */
static _Thread_local const char *sort_strs;
static int label_qcmp(const void *a, const void *b)
{
    return label_cmp(a, b, (void *)sort_strs);
}

static int overlaps(const double a[4], const double b[4])
{
    return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
}

/* The text of a label as a string (numbers written plainly). */
static const char *label_text(pdbt_value v, char *buf, size_t cap)
{
    if (v.t == PDBT_V_STR)
        return v.s;
    if (v.t == PDBT_V_NUM) {
        snprintf(buf, cap, "%.15g", v.n);
        return buf;
    }
    return NULL;
}

pdb_status pdbt__draw_labels(pdbt_ctx *ctx, pdbt_renderer *r, cairo_t *cr,
                             const pdbt_style_layer *l, cairo_font_face_t *font, pdbt_eval_env *env,
                             size_t *placed, size_t *culled)
{
    static const pdbt_rgba black = {0, 0, 0, 1}, none = {0, 0, 0, 0};
    size_t n = 0;
    double wpx = r->width_px, hpx = r->height_px, scale = r->scale;
    cairo_font_options_t *fo = cairo_font_options_create();

    /* Unhinted metrics: a label measures the same in every tile. */
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_set_font_options(cr, fo);
    cairo_font_options_destroy(fo);
    cairo_set_font_face(cr, font);

    for (size_t i = 0; i < r->nfeats; i++) {
        pdbt_rfeat *f = &r->feats[i];
        char num[64];
        if (f->source != l->source || f->base)
            continue; /* a base is under the patches, not a shape to name */
        pdbt__env_for(r, f, env);
        if (!pdbt__passes_filter(l, env))
            continue;
        const char *text =
            label_text(pdbt__expr_eval(l->props[PDBT_P_TEXT_FIELD], env), num, sizeof num);
        if (text == NULL || *text == '\0')
            continue;
        if (!f->anchored) {
            pdbt__label_anchor(r, f, f->anchor);
            f->anchored = 1;
        }
        if (!isfinite(f->anchor[0]))
            continue;
        double size = pdbt__prop_num(l, PDBT_P_TEXT_SIZE, env, 16) * scale;
        if (!(size > 0.5))
            continue;
        if (pdbt__grow((void **)&r->labels, &r->caplabels, n + 1, sizeof *r->labels) != 0)
            return pdbt__fail(ctx, PDB_ENOMEM, "out of memory placing labels");
        pdbt_label *lb = &r->labels[n];
        memset(lb, 0, sizeof *lb);
        cairo_text_extents_t ext;
        cairo_set_font_size(cr, size);
        cairo_text_extents(cr, text, &ext);
        double pad = fmax(pdbt__prop_num(l, PDBT_P_TEXT_PADDING, env, 2), 0) * scale;
        lb->x = f->anchor[0] - ext.x_bearing - ext.width / 2;
        lb->y = f->anchor[1] - ext.y_bearing - ext.height / 2;
        lb->box[0] = f->anchor[0] - ext.width / 2 - pad;
        lb->box[1] = f->anchor[1] - ext.height / 2 - pad;
        lb->box[2] = f->anchor[0] + ext.width / 2 + pad;
        lb->box[3] = f->anchor[1] + ext.height / 2 + pad;
        lb->size = size;
        lb->color = pdbt__prop_color(l, PDBT_P_TEXT_COLOR, env, black);
        lb->color.a *= fmin(fmax(pdbt__prop_num(l, PDBT_P_TEXT_OPACITY, env, 1), 0), 1);
        lb->halo = pdbt__prop_color(l, PDBT_P_TEXT_HALO_COLOR, env, none);
        lb->halo.a *= fmin(fmax(pdbt__prop_num(l, PDBT_P_TEXT_OPACITY, env, 1), 0), 1);
        lb->halo_w = fmax(pdbt__prop_num(l, PDBT_P_TEXT_HALO_WIDTH, env, 0), 0) * scale;
        lb->allow_overlap = pdbt__prop_bool(l, PDBT_P_TEXT_ALLOW_OVERLAP, env, 0);
        lb->sort = pdbt__prop_num(l, PDBT_P_SYMBOL_SORT_KEY, env, 0);
        lb->area = f->area_m2;
        lb->id = f->id;
        lb->feat = (uint32_t)i;
        lb->text = pdbt__put_str(r, text);
        if (r->oom)
            return pdbt__fail(ctx, PDB_ENOMEM, "out of memory placing labels");
        n++;
    }
    sort_strs = r->strs;
    if (n > 1)
        qsort(r->labels, n, sizeof *r->labels, label_qcmp);

    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
    for (size_t i = 0; i < n; i++) {
        pdbt_label *lb = &r->labels[i];
        int visible = lb->box[2] > 0 && lb->box[0] < wpx && lb->box[3] > 0 && lb->box[1] < hpx;
        int clash = 0;
        if (!lb->allow_overlap)
            for (size_t k = 0; k < r->nplaced && !clash; k++)
                clash = overlaps(lb->box, r->placed[k]);
        if (clash) {
            *culled += visible;
            continue;
        }
        if (pdbt__grow((void **)&r->placed, &r->capplaced, r->nplaced + 1, sizeof *r->placed) != 0)
            return pdbt__fail(ctx, PDB_ENOMEM, "out of memory placing labels");
        memcpy(r->placed[r->nplaced++], lb->box, sizeof lb->box);
        if (!visible)
            continue;
        *placed += 1;
        cairo_set_font_size(cr, lb->size);
        cairo_new_path(cr);
        cairo_move_to(cr, lb->x, lb->y);
        cairo_text_path(cr, r->strs + lb->text);
        if (lb->halo_w > 0 && lb->halo.a > 0) {
            cairo_set_source_rgba(cr, lb->halo.r, lb->halo.g, lb->halo.b, lb->halo.a);
            cairo_set_line_width(cr, 2 * lb->halo_w);
            cairo_stroke_preserve(cr);
        }
        cairo_set_source_rgba(cr, lb->color.r, lb->color.g, lb->color.b, lb->color.a);
        cairo_fill(cr);
    }
    return PDB_OK;
}
