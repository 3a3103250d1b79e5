/*
 * extract_draw.c: the pages of an extract, drawn with Cairo in points
 * (1/72 inch) on a PDF or an image surface alike: the sheet (heading, the
 * parcel's details, the drawing to scale, the coordinate note and the
 * signature blocks) and the pages of its vertex table.
 *
 * Land-use fills take the colours the tiles take (pdb_landuse_ref, the
 * de-facto map colours), and text the renderer's fonts (font.c: DejaVu
 * from explicit files, embedded in the PDF), so that the extract and the
 * web map look like one map.
 */
#include "extract_int.h"

#include "ctx.h"
#include "font.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MM PDBT_PT_PER_MM
#define DEFAULT_FONT_DIR "/usr/share/fonts/truetype/dejavu"

enum { AL_LEFT, AL_CENTER, AL_RIGHT };

pdb_status pdbt__extract_fonts(pdbt_ctx *ctx, const char *dir, pdbt_ex_doc *doc)
{
    char path[512];
    const char *d = dir ? dir : DEFAULT_FONT_DIR;
    if (pdbt__font_file(d, "DejaVu Sans", path, sizeof path) != 0)
        return pdbt__fail(ctx, PDB_EIO, "font DejaVu Sans not found in %s", d);
    pdb_status st = pdbt__font_face(ctx, path, &doc->regular);
    if (st != PDB_OK)
        return st;
    if (pdbt__font_file(d, "DejaVu Sans Bold", path, sizeof path) != 0)
        return pdbt__fail(ctx, PDB_EIO, "font DejaVu Sans Bold not found in %s", d);
    return pdbt__font_face(ctx, path, &doc->bold);
}

/* Writes s with its baseline at y, aligned on x, shrunk to max_w points
 * when wider (0: no limit); returns its width. */
static double text(cairo_t *cr, cairo_font_face_t *f, double size, double x, double y, int align,
                   double max_w, const char *s)
{
    cairo_text_extents_t te;
    cairo_set_font_face(cr, f);
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, s, &te);
    if (max_w > 0 && te.x_advance > max_w) {
        cairo_set_font_size(cr, size * max_w / te.x_advance);
        cairo_text_extents(cr, s, &te);
    }
    double x0 = align == AL_CENTER  ? x - te.x_advance / 2
                : align == AL_RIGHT ? x - te.x_advance
                                    : x;
    cairo_move_to(cr, x0, y);
    cairo_show_text(cr, s);
    return te.x_advance;
}

/* Writes s centred on (x, y), turned by angle radians. */
static void text_rotated(cairo_t *cr, cairo_font_face_t *f, double size, double x, double y,
                         double angle, const char *s)
{
    cairo_text_extents_t te;
    cairo_set_font_face(cr, f);
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, s, &te);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, angle);
    cairo_move_to(cr, -te.x_advance / 2, size * 0.36);
    cairo_show_text(cr, s);
    cairo_restore(cr);
}

/* "104°45′" for 104.75. */
static void meridian(double deg, char *out, size_t cap)
{
    int d = (int)floor(deg), m = (int)lround((deg - d) * 60);
    if (m == 60) {
        d++;
        m = 0;
    }
    snprintf(out, cap, "%d°%02d′", d, m);
}

/* The tolerance of an area at a scale: ΔP = 2 · 0.0002 · M · √(1.2 · P)
 * (docs/extract.md says where it comes from). */
static double area_tolerance(double area_m2, int scale)
{
    return 2 * 0.0002 * scale * sqrt(1.2 * fabs(area_m2));
}

/* The land-use names of a compound code, "Đất ở tại nông thôn; ...". */
static void landuse_names(const char *codes, char *out, size_t cap)
{
    out[0] = '\0';
    if (codes == NULL)
        return;
    char copy[256];
    snprintf(copy, sizeof copy, "%s", codes);
    for (char *save = NULL, *c = strtok_r(copy, "+", &save); c; c = strtok_r(NULL, "+", &save)) {
        const pdb_landuse_ref *ref = pdb_landuse_ref_find(c);
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s%s", n ? "; " : "",
                 ref ? ref->name_vi : "mã không có trong danh mục");
    }
}

static void to_page(const pdbt_ex_layout *lay, double ce, double cn, double k, double e, double n,
                    double *x, double *y)
{
    *x = (lay->frame[0] + lay->frame[2]) / 2 + (e - ce) * k;
    *y = (lay->frame[1] + lay->frame[3]) / 2 - (n - cn) * k;
}

static void polygons_path(cairo_t *cr, const pdb_polygons *g, const pdbt_ex_layout *lay, double ce,
                          double cn, double k)
{
    for (size_t r = 0; r < g->nrings; r++) {
        for (size_t i = g->ring_point[r]; i < g->ring_point[r + 1]; i++) {
            double x, y;
            to_page(lay, ce, cn, k, g->xy[2 * i], g->xy[2 * i + 1], &x, &y);
            if (i == g->ring_point[r])
                cairo_move_to(cr, x, y);
            else
                cairo_line_to(cr, x, y);
        }
        cairo_close_path(cr);
    }
}

/* 1 when page point (x, y) is inside ring r of g (even-odd). */
static int inside_ring(const pdb_polygons *g, size_t r, const pdbt_ex_layout *lay, double ce,
                       double cn, double k, double x, double y)
{
    int in = 0;
    size_t a = g->ring_point[r], n = g->ring_point[r + 1] - a;
    for (size_t i = 0, j = n - 1; i < n; j = i++) {
        double xi, yi, xj, yj;
        to_page(lay, ce, cn, k, g->xy[2 * (a + i)], g->xy[2 * (a + i) + 1], &xi, &yi);
        to_page(lay, ce, cn, k, g->xy[2 * (a + j)], g->xy[2 * (a + j) + 1], &xj, &yj);
        if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi)
            in = !in;
    }
    return in;
}

static void draw_neighbours(cairo_t *cr, const pdbt_ex_doc *doc, const pdbt_ex_parcel *ex,
                            const pdbt_ex_layout *lay, double ce, double cn, double k)
{
    cairo_set_line_width(cr, 0.5);
    cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
    for (size_t i = 0; i < ex->nnb; i++) {
        cairo_new_path(cr);
        polygons_path(cr, ex->nb[i].g, lay, ce, cn, k);
        cairo_stroke(cr);
    }
    double sx0, sy0, sx1, sy1; /* the parcel's box on the page */
    to_page(lay, ce, cn, k, ex->bbox[0], ex->bbox[3], &sx0, &sy0);
    to_page(lay, ce, cn, k, ex->bbox[2], ex->bbox[1], &sx1, &sy1);
    for (size_t i = 0; i < ex->nnb; i++) {
        const pdb_polygons *g = ex->nb[i].g;
        /* The label in the middle of the part of its box the frame shows
         * (a neighbour is often seen in part), when that is inside it. */
        double b[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
        for (size_t j = g->ring_point[0]; j < g->ring_point[1]; j++) {
            double x, y;
            to_page(lay, ce, cn, k, g->xy[2 * j], g->xy[2 * j + 1], &x, &y);
            b[0] = fmin(b[0], fmax(x, lay->frame[0]));
            b[1] = fmin(b[1], fmax(y, lay->frame[1]));
            b[2] = fmax(b[2], fmin(x, lay->frame[2]));
            b[3] = fmax(b[3], fmin(y, lay->frame[3]));
        }
        double x = (b[0] + b[2]) / 2, y = (b[1] + b[3]) / 2;
        /* Not where the parcel's own lengths and vertex numbers go: in the
         * widest part of the visible box beside that zone instead. */
        double z[4] = {sx0 - 6 * MM, sy0 - 5 * MM, sx1 + 6 * MM, sy1 + 5 * MM};
        if (x > z[0] && x < z[2] && y > z[1] && y < z[3]) {
            double gap[4] = {z[0] - b[0], z[1] - b[1], b[2] - z[2], b[3] - z[3]};
            int side = 0;
            for (int s = 1; s < 4; s++)
                if (gap[s] > gap[side])
                    side = s;
            if (gap[side] < (side % 2 ? 5 : 8) * MM)
                continue;
            if (side == 0)
                x = (b[0] + z[0]) / 2;
            else if (side == 2)
                x = (z[2] + b[2]) / 2;
            else if (side == 1)
                y = (b[1] + z[1]) / 2;
            else
                y = (z[3] + b[3]) / 2;
        }
        if (!inside_ring(g, 0, lay, ce, cn, k, x, y))
            continue;
        if (b[2] - b[0] < 6 * MM || b[3] - b[1] < 4 * MM)
            continue;
        text(cr, doc->regular, 7, x, y, AL_CENTER, 0, ex->nb[i].label);
        if (ex->nb[i].landuse && strcmp(ex->nb[i].landuse, ex->nb[i].label) != 0)
            text(cr, doc->regular, 6, x, y + 7, AL_CENTER, 0, ex->nb[i].landuse);
    }
}

/* Direction of the outside of the parcel at edge i -> i+1 of ring r, in
 * page coordinates (unit length): rings are clockwise, so the outside of
 * an exterior ring is on the left of the way round, of a hole on the right. */
static void outward(const pdbt_ex_parcel *ex, const pdbt_ex_ring *r, size_t i, double *nx,
                    double *ny)
{
    const double *a = ex->v + 2 * (r->start + i), *b = ex->v + 2 * (r->start + (i + 1) % r->n);
    double de = b[0] - a[0], dn = b[1] - a[1], len = hypot(de, dn);
    double s = r->hole ? -1 : 1;
    *nx = len > 0 ? s * -dn / len : 0;
    *ny = len > 0 ? s * -de / len : 0;
}

/* Where the parcel's number goes: on the east-west line through the
 * middle of its box, in the middle of the widest stretch inside the parcel
 * (even-odd over every ring), so that a hole or a notch in the middle does
 * not take the label. */
static void label_point(const pdbt_ex_parcel *ex, double *e, double *n)
{
    double cy = (ex->bbox[1] + ex->bbox[3]) / 2, xs[256];
    size_t nx = 0;
    *e = (ex->bbox[0] + ex->bbox[2]) / 2;
    *n = cy;
    for (size_t r = 0; r < ex->nrings; r++) {
        const pdbt_ex_ring *ring = &ex->rings[r];
        for (size_t i = 0; i < ring->n && nx < sizeof xs / sizeof xs[0]; i++) {
            const double *a = ex->v + 2 * (ring->start + i);
            const double *b = ex->v + 2 * (ring->start + (i + 1) % ring->n);
            if ((a[1] > cy) != (b[1] > cy))
                xs[nx++] = a[0] + (b[0] - a[0]) * (cy - a[1]) / (b[1] - a[1]);
        }
    }
    /* Crossings in order; insertion sort, as there are few. */
    for (size_t i = 1; i < nx; i++)
        for (size_t j = i; j > 0 && xs[j - 1] > xs[j]; j--) {
            double t = xs[j];
            xs[j] = xs[j - 1];
            xs[j - 1] = t;
        }
    double widest = -1;
    for (size_t i = 0; i + 1 < nx; i += 2)
        if (xs[i + 1] - xs[i] > widest) {
            widest = xs[i + 1] - xs[i];
            *e = (xs[i] + xs[i + 1]) / 2;
        }
}

static void draw_parcel(cairo_t *cr, const pdbt_ex_doc *doc, const pdbt_ex_parcel *ex,
                        const pdbt_ex_layout *lay, double ce, double cn, double k)
{
    char buf[64];
    const char *main_code = ex->p->landuse ? ex->p->landuse : "";
    char code[16];
    snprintf(code, sizeof code, "%.*s", (int)strcspn(main_code, "+"), main_code);
    const pdb_landuse_ref *ref = pdb_landuse_ref_find(code);
    cairo_new_path(cr);
    for (size_t r = 0; r < ex->nrings; r++) {
        const pdbt_ex_ring *ring = &ex->rings[r];
        for (size_t i = 0; i < ring->n; i++) {
            double x, y;
            to_page(lay, ce, cn, k, ex->v[2 * (ring->start + i)], ex->v[2 * (ring->start + i) + 1],
                    &x, &y);
            if (i == 0)
                cairo_move_to(cr, x, y);
            else
                cairo_line_to(cr, x, y);
        }
        cairo_close_path(cr);
    }
    /* Holes are clockwise like exteriors (the numbering's order), so the
     * even-odd rule, not the winding one, leaves them empty. */
    cairo_set_fill_rule(cr, CAIRO_FILL_RULE_EVEN_ODD);
    if (ref)
        cairo_set_source_rgb(cr, ref->rgb[0] / 255.0, ref->rgb[1] / 255.0, ref->rgb[2] / 255.0);
    else
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1.4);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
    cairo_stroke(cr);

    /* Edge lengths along their edges, outside; vertex numbers outside the
     * corner, on the bisector of the two edges' outsides. */
    for (size_t r = 0; r < ex->nrings; r++) {
        const pdbt_ex_ring *ring = &ex->rings[r];
        for (size_t i = 0; i < ring->n; i++) {
            const double *a = ex->v + 2 * (ring->start + i);
            const double *b = ex->v + 2 * (ring->start + (i + 1) % ring->n);
            double xa, ya, xb, yb, nx, ny, px, py;
            to_page(lay, ce, cn, k, a[0], a[1], &xa, &ya);
            to_page(lay, ce, cn, k, b[0], b[1], &xb, &yb);
            outward(ex, ring, i, &nx, &ny);
            double angle = atan2(yb - ya, xb - xa);
            if (angle > M_PI / 2)
                angle -= M_PI;
            else if (angle <= -M_PI / 2)
                angle += M_PI;
            snprintf(buf, sizeof buf, "%.2f", hypot(b[0] - a[0], b[1] - a[1]));
            cairo_set_source_rgb(cr, 0, 0, 0.55);
            text_rotated(cr, doc->regular, 6.5, (xa + xb) / 2 + nx * 2.4 * MM,
                         (ya + yb) / 2 + ny * 2.4 * MM, angle, buf);
            outward(ex, ring, (i + ring->n - 1) % ring->n, &px, &py);
            double bx = nx + px, by = ny + py, bl = hypot(bx, by);
            if (bl < 1e-6) {
                bx = nx;
                by = ny;
                bl = 1;
            }
            cairo_set_source_rgb(cr, 0.75, 0, 0);
            cairo_arc(cr, xa, ya, 0.55 * MM, 0, 2 * M_PI);
            cairo_fill(cr);
            snprintf(buf, sizeof buf, "%zu", ring->start + i + 1);
            text_rotated(cr, doc->bold, 6.5, xa + bx / bl * 3.2 * MM, ya + by / bl * 3.2 * MM, 0,
                         buf);
        }
    }
    /* The parcel's number and land use in its middle. */
    double e, n, x, y;
    label_point(ex, &e, &n);
    to_page(lay, ce, cn, k, e, n, &x, &y);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, doc->bold, 9, x, y - 1, AL_CENTER, 0, ex->p->parcel);
    text(cr, doc->regular, 7.5, x, y + 8, AL_CENTER, 0, main_code);
}

static void north_arrow(cairo_t *cr, const pdbt_ex_doc *doc, const pdbt_ex_layout *lay)
{
    double x = lay->frame[2] - 10 * MM, y = lay->frame[1] + 6 * MM;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, x - 4 * MM, y - 1 * MM, 8 * MM, 17 * MM);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, doc->bold, 9, x, y + 3 * MM, AL_CENTER, 0, "B");
    cairo_move_to(cr, x, y + 4 * MM);
    cairo_line_to(cr, x + 2.2 * MM, y + 15 * MM);
    cairo_line_to(cr, x, y + 12.5 * MM);
    cairo_line_to(cr, x - 2.2 * MM, y + 15 * MM);
    cairo_close_path(cr);
    cairo_fill(cr);
}

/* A scale bar of a round length near a third of the frame's width. */
static void scale_bar(cairo_t *cr, const pdbt_ex_doc *doc, const pdbt_ex_layout *lay, double k)
{
    double want_m = 35 * MM / k, step = pow(10, floor(log10(want_m)));
    double len_m = step;
    if (5 * step <= want_m)
        len_m = 5 * step;
    else if (2 * step <= want_m)
        len_m = 2 * step;
    double x = lay->frame[0] + 6 * MM, y = lay->frame[3] - 7 * MM, w = len_m * k;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, x - 3 * MM, y - 6 * MM, w + 12 * MM, 9 * MM);
    cairo_fill(cr);
    cairo_set_line_width(cr, 0.5);
    for (int i = 0; i < 4; i++) {
        cairo_rectangle(cr, x + w * i / 4, y, w / 4, 1.5 * MM);
        cairo_set_source_rgb(cr, i % 2 ? 1 : 0, i % 2 ? 1 : 0, i % 2 ? 1 : 0);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_stroke(cr);
    }
    char buf[32];
    text(cr, doc->regular, 7, x, y - 1.2 * MM, AL_CENTER, 0, "0");
    snprintf(buf, sizeof buf, "%g m", len_m);
    text(cr, doc->regular, 7, x + w, y - 1.2 * MM, AL_CENTER, 0, buf);
}

static void footer(cairo_t *cr, const pdbt_ex_doc *doc, const pdbt_ex_parcel *ex,
                   const pdbt_ex_layout *lay, int page_no)
{
    char buf[200];
    snprintf(buf, sizeof buf, "Trang %d/%d · thửa %s, tờ %s, xã/phường %s · parceldb", page_no,
             doc->total_pages, ex->p->parcel, ex->p->sheet, ex->p->commune);
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    text(cr, doc->regular, 7, lay->page_w / 2, lay->page_h - 6 * MM, AL_CENTER, 0, buf);
}

/* The heading, the title and the parcel's details above the frame. */
static void details(cairo_t *cr, const pdbt_ex_doc *doc, const pdbt_ex_parcel *ex,
                    const pdbt_ex_layout *lay)
{
    const pdb_parcel *p = ex->p;
    double left = lay->frame[0], w = lay->frame[2] - lay->frame[0];
    double lc = left + w * 0.2, rc = left + w * 0.72;
    char line[1024], names[512];
    const pdb_commune_ref *c = ex->commune;

    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, doc->bold, 8.5, lc, 15 * MM, AL_CENTER, 0, "VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI");
    text(cr, doc->bold, 8.5, lc, 19.5 * MM, AL_CENTER, 0, "TỈNH PHÚ THỌ");
    text(cr, doc->bold, 8.5, rc, 15 * MM, AL_CENTER, 0, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM");
    double uw =
        text(cr, doc->bold, 8.5, rc, 19.5 * MM, AL_CENTER, 0, "Độc lập - Tự do - Hạnh phúc");
    cairo_set_line_width(cr, 0.5);
    cairo_move_to(cr, rc - uw / 2, 20.5 * MM);
    cairo_line_to(cr, rc + uw / 2, 20.5 * MM);
    cairo_stroke(cr);
    text(cr, doc->bold, 15, lay->page_w / 2, 32 * MM, AL_CENTER, 0, "TRÍCH LỤC BẢN ĐỒ ĐỊA CHÍNH");

    double y = 41 * MM, dy = 4.6 * MM;
    int n =
        snprintf(line, sizeof line, "Thửa đất số: %s     Tờ bản đồ số: %s", p->parcel, p->sheet);
    if (p->former_commune)
        n +=
            snprintf(line + n, sizeof line - (size_t)n, " (số tờ của xã cũ %s)", p->former_commune);
    if (doc->nparcels > 1)
        snprintf(line + n, sizeof line - (size_t)n, "     Thửa trùng số: %d/%zu (mã %lld)",
                 ex->dup_index, doc->nparcels, (long long)p->id);
    text(cr, doc->regular, 9, left, y, AL_LEFT, w, line);
    y += dy;
    if (c != NULL)
        snprintf(line, sizeof line, "Địa danh: %s (mã %s), tỉnh Phú Thọ (địa bàn tỉnh %s cũ)",
                 c->name, p->commune, c->former_province);
    else
        snprintf(line, sizeof line, "Địa danh: xã/phường mã %s, tỉnh Phú Thọ", p->commune);
    text(cr, doc->regular, 9, left, y, AL_LEFT, w, line);
    y += dy;
    if (isnan(p->area_surveyed_m2))
        snprintf(line, sizeof line,
                 "Diện tích: %.1f m² (tính từ hình thể; hồ sơ không ghi diện tích)", ex->area_m2);
    else if (fabs(p->area_surveyed_m2 - ex->area_m2) > area_tolerance(ex->area_m2, ex->scale))
        snprintf(line, sizeof line,
                 "Diện tích: %.1f m²; tính từ hình thể: %.1f m² (chênh %.1f m², quá sai số cho "
                 "phép %.1f m² ở tỷ lệ 1:%d)",
                 p->area_surveyed_m2, ex->area_m2, fabs(p->area_surveyed_m2 - ex->area_m2),
                 area_tolerance(ex->area_m2, ex->scale), ex->scale);
    else
        snprintf(line, sizeof line, "Diện tích: %.1f m²", p->area_surveyed_m2);
    text(cr, doc->regular, 9, left, y, AL_LEFT, w, line);
    y += dy;
    landuse_names(p->landuse, names, sizeof names);
    snprintf(line, sizeof line, "Mục đích sử dụng đất: %s (%s)", p->landuse ? p->landuse : "—",
             names);
    text(cr, doc->regular, 9, left, y, AL_LEFT, w, line);
    y += dy;
    snprintf(line, sizeof line, "Địa chỉ thửa đất: %s", p->address ? p->address : "—");
    text(cr, doc->regular, 9, left, y, AL_LEFT, w, line);
    y += dy;
    if (doc->personal) {
        snprintf(line, sizeof line, "Người sử dụng đất: %s",
                 p->owner ? p->owner : "(không có trong dữ liệu)");
        text(cr, doc->regular, 9, left, y, AL_LEFT, w, line);
        y += dy;
    }
    if (doc->at) {
        snprintf(line, sizeof line, "Thửa đất như tại ngày %s: hiệu lực từ %.10s đến %.10s%s",
                 doc->at, p->valid_from ? p->valid_from : "?", p->valid_to ? p->valid_to : "nay",
                 p->valid_to ? " (đã thay thế)" : "");
        text(cr, doc->regular, 9, left, y, AL_LEFT, w, line);
    }
}

/* Below the frame: the scale, the coordinate note, the data version and the
 * signature blocks. */
static void below(cairo_t *cr, const pdbt_ex_doc *doc, const pdbt_ex_parcel *ex,
                  const pdbt_ex_layout *lay)
{
    char line[512], cm[32];
    double left = lay->frame[0], w = lay->frame[2] - lay->frame[0];
    double y = lay->frame[3] + 6 * MM;
    cairo_set_source_rgb(cr, 0, 0, 0);
    snprintf(line, sizeof line, "Tỷ lệ 1:%d", ex->scale);
    text(cr, doc->bold, 10, lay->page_w / 2, y, AL_CENTER, 0, line);
    y += 5 * MM;
    meridian(ex->crs.central_meridian_deg, cm, sizeof cm);
    snprintf(line, sizeof line,
             "Hệ tọa độ VN-2000, múi chiếu 3°, kinh tuyến trục %s, k = 0,9999 (EPSG:%d). "
             "X: tọa độ Bắc, Y: tọa độ Đông (m).",
             cm, ex->crs.epsg);
    text(cr, doc->regular, 8, left, y, AL_LEFT, w, line);
    y += 4.2 * MM;
    snprintf(line, sizeof line,
             "Bảng tọa độ %zu đỉnh thửa và chiều dài cạnh: trang sau. Dữ liệu: phiên bản %lld "
             "của cơ sở dữ liệu địa chính%s.",
             ex->nv, (long long)doc->data_version,
             doc->at && ex->nnb ? "; thửa liền kề theo hiện trạng" : "");
    text(cr, doc->regular, 8, left, y, AL_LEFT, w, line);
    y += 8 * MM;
    double lc = left + w * 0.2, rc = left + w * 0.72;
    char date[64];
    snprintf(date, sizeof date, "Phú Thọ, ngày %.2s tháng %.2s năm %.4s", doc->today,
             doc->today + 3, doc->today + 6);
    text(cr, doc->regular, 8.5, rc, y, AL_CENTER, 0, date);
    y += 4.5 * MM;
    text(cr, doc->bold, 9, lc, y, AL_CENTER, 0, "NGƯỜI TRÍCH LỤC");
    text(cr, doc->bold, 9, rc, y, AL_CENTER, 0, "VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI");
    y += 4 * MM;
    text(cr, doc->regular, 8, lc, y, AL_CENTER, 0, "(Ký, ghi rõ họ tên)");
    text(cr, doc->regular, 8, rc, y, AL_CENTER, 0, "(Ký tên, đóng dấu)");
}

pdb_status pdbt__extract_draw_sheet(pdbt_ctx *ctx, const pdbt_ex_doc *doc, const pdbt_ex_parcel *ex,
                                    const pdbt_ex_layout *lay, cairo_t *cr, int page_no)
{
    (void)ctx;
    double ce, cn, k;
    pdbt__extract_transform(ex, lay, &ce, &cn, &k);
    details(cr, doc, ex, lay);
    cairo_save(cr);
    cairo_rectangle(cr, lay->frame[0], lay->frame[1], lay->frame[2] - lay->frame[0],
                    lay->frame[3] - lay->frame[1]);
    cairo_clip(cr);
    draw_neighbours(cr, doc, ex, lay, ce, cn, k);
    draw_parcel(cr, doc, ex, lay, ce, cn, k);
    north_arrow(cr, doc, lay);
    scale_bar(cr, doc, lay, k);
    cairo_restore(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 0.8);
    cairo_rectangle(cr, lay->frame[0], lay->frame[1], lay->frame[2] - lay->frame[0],
                    lay->frame[3] - lay->frame[1]);
    cairo_stroke(cr);
    below(cr, doc, ex, lay);
    footer(cr, doc, ex, lay, page_no);
    return PDB_OK;
}

void pdbt__extract_draw_table(const pdbt_ex_doc *doc, const pdbt_ex_parcel *ex,
                              const pdbt_ex_layout *lay, cairo_t *cr, int k, int page_no)
{
    char buf[256], cm[32];
    double left = lay->frame[0], right = lay->frame[2];
    /* Columns: vertex, X, Y, edge, length, note (right edges of the
     * numeric ones, for right alignment). */
    double w = right - left;
    double c_no = left + 0.08 * w, c_x = left + 0.33 * w, c_y = left + 0.53 * w;
    double c_edge = left + 0.63 * w, c_len = left + 0.83 * w, c_note = left + 0.86 * w;
    cairo_set_source_rgb(cr, 0, 0, 0);
    snprintf(buf, sizeof buf, "BẢNG TỌA ĐỘ ĐỈNH THỬA VÀ CHIỀU DÀI CẠNH%s",
             k > 0 ? " (tiếp theo)" : "");
    text(cr, doc->bold, 12, lay->page_w / 2, 16 * MM, AL_CENTER, 0, buf);
    meridian(ex->crs.central_meridian_deg, cm, sizeof cm);
    snprintf(buf, sizeof buf,
             "Thửa đất số %s, tờ bản đồ số %s, mã xã/phường %s. VN-2000, múi chiếu 3°, kinh "
             "tuyến trục %s (EPSG:%d); X tọa độ Bắc, Y tọa độ Đông, mét.",
             ex->p->parcel, ex->p->sheet, ex->p->commune, cm, ex->crs.epsg);
    text(cr, doc->regular, 8, left, 23 * MM, AL_LEFT, w, buf);

    double y = lay->table_top;
    text(cr, doc->bold, 8.5, c_no, y, AL_CENTER, 0, "Số hiệu đỉnh");
    text(cr, doc->bold, 8.5, c_x, y, AL_RIGHT, 0, "X (m)");
    text(cr, doc->bold, 8.5, c_y, y, AL_RIGHT, 0, "Y (m)");
    text(cr, doc->bold, 8.5, (c_edge + c_len) / 2, y, AL_CENTER, 0, "Cạnh, chiều dài (m)");
    text(cr, doc->bold, 8.5, c_note, y, AL_LEFT, 0, "Ghi chú");
    cairo_set_line_width(cr, 0.6);
    cairo_move_to(cr, left, y + 4);
    cairo_line_to(cr, right, y + 4);
    cairo_stroke(cr);
    size_t first = (size_t)k * lay->rows_per_page;
    size_t last = first + lay->rows_per_page < ex->nv ? first + lay->rows_per_page : ex->nv;
    size_t r = 0;
    for (size_t i = first; i < last; i++) {
        while (i >= ex->rings[r].start + ex->rings[r].n)
            r++;
        const pdbt_ex_ring *ring = &ex->rings[r];
        size_t j = i + 1 < ring->start + ring->n ? i + 1 : ring->start;
        const double *a = ex->v + 2 * i, *b = ex->v + 2 * j;
        y += lay->row_h;
        snprintf(buf, sizeof buf, "%zu", i + 1);
        text(cr, doc->regular, 8.5, c_no, y, AL_CENTER, 0, buf);
        snprintf(buf, sizeof buf, "%.3f", a[1]);
        text(cr, doc->regular, 8.5, c_x, y, AL_RIGHT, 0, buf);
        snprintf(buf, sizeof buf, "%.3f", a[0]);
        text(cr, doc->regular, 8.5, c_y, y, AL_RIGHT, 0, buf);
        snprintf(buf, sizeof buf, "%zu-%zu", i + 1, j + 1);
        text(cr, doc->regular, 8.5, c_edge, y, AL_LEFT, 0, buf);
        snprintf(buf, sizeof buf, "%.2f", hypot(b[0] - a[0], b[1] - a[1]));
        text(cr, doc->regular, 8.5, c_len, y, AL_RIGHT, 0, buf);
        if (i == ring->start && (ring->hole || ring->part > 0 || ex->nrings > 1)) {
            if (ring->hole)
                snprintf(buf, sizeof buf, "lỗ, phần %d", ring->part + 1);
            else
                snprintf(buf, sizeof buf, "phần %d", ring->part + 1);
            text(cr, doc->regular, 7.5, c_note, y, AL_LEFT, 0, buf);
        }
    }
    if (last == ex->nv) {
        y += lay->row_h * 1.5;
        snprintf(buf, sizeof buf, "Tổng số %zu đỉnh; diện tích tính từ tọa độ: %.1f m²", ex->nv,
                 ex->area_m2);
        text(cr, doc->regular, 8.5, left, y, AL_LEFT, 0, buf);
    } else {
        text(cr, doc->regular, 8, right, lay->page_h - 12 * MM, AL_RIGHT, 0,
             "(xem tiếp trang sau)");
    }
    footer(cr, doc, ex, lay, page_no);
}
