/*
 * wms.c: the /wms route: GetMap (through the tiles' renderer, in any CRS
 * of the list and any size up to the configured limit), GetFeatureInfo
 * (the engine's point lookup), and the exceptions of both versions.
 *
 * Each thread keeps one renderer per style offered (a renderer opens its
 * style's fonts, which costs more than a small map), remade when the
 * thread's store handle changes. A GetMap waits for one of max_renders
 * slots, so that big maps cannot take every core from the tiles.
 */
#include "wms.h"

#include "search_audit.h"
#include "srv.h"
#include "worker.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOT_WAIT_MS 10000 /* longest wait for a render slot, then 503 */

/* ------------------------------------------------------------------------ */
/* Exceptions                                                                */
/* ------------------------------------------------------------------------ */

/* Writes text with XML's special characters escaped into f. */
static void xml_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '"')
            fputs("&quot;", f);
        else if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
            fputc(*s, f);
    }
}

void pdb_srv_wms_exception(pdb_srv_response *out, int v130, const char *code, const char *msg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        pdb_srv_error(out, 503, "out of memory");
        return;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if (v130)
        fprintf(f, "<ServiceExceptionReport version=\"1.3.0\" xmlns=\"http://www.opengis.net/ogc\" "
                   "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                   "xsi:schemaLocation=\"http://www.opengis.net/ogc "
                   "http://schemas.opengis.net/wms/1.3.0/exceptions_1_3_0.xsd\">\n");
    else
        fprintf(f, "<!DOCTYPE ServiceExceptionReport SYSTEM "
                   "\"http://schemas.opengis.net/wms/1.1.1/exception_1_1_1.dtd\">\n"
                   "<ServiceExceptionReport version=\"1.1.1\">\n");
    fprintf(f, "  <ServiceException");
    if (code != NULL && code[0] != '\0')
        fprintf(f, " code=\"%s\"", code);
    fprintf(f, ">");
    xml_escaped(f, msg);
    fprintf(f, "</ServiceException>\n</ServiceExceptionReport>\n");
    /* 200: WMS clients (GDAL, QGIS, OWSLib) read the report by its
     * content type, and some drop the body of an error status. */
    pdb_srv_wms_send(out, f, &text, &len,
                     v130 ? "text/xml; charset=utf-8" : "application/vnd.ogc.se_xml", "no-store");
}

void pdb_srv_wms_send(pdb_srv_response *out, FILE *f, char **text, size_t *len, const char *type,
                      const char *cache_control)
{
    /* *text and *len are final only once f is closed. */
    if (fclose(f) != 0 || *text == NULL) {
        free(*text);
        *text = NULL;
        pdb_srv_error(out, 503, "out of memory");
        return;
    }
    out->status = 200;
    pdb_srv_body_malloced(out, type, *text, *len);
    *text = NULL; /* the answer owns it now */
    out->cache_control = cache_control;
}

/* ------------------------------------------------------------------------ */
/* The thread's renderers                                                    */
/* ------------------------------------------------------------------------ */

/* One thread's renderers, one per style offered. */
typedef struct wms_thread {
    pdb_store *store;                         /* the store they read */
    unsigned store_gen;                       /* the worker's store_gen then */
    pdbt_renderer *r[PDB_SRV_WMS_MAX_STYLES]; /* by style index, made on demand */
} wms_thread;

static pthread_key_t thread_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void thread_drop(wms_thread *t)
{
    for (size_t i = 0; i < PDB_SRV_WMS_MAX_STYLES; i++) {
        pdbt_renderer_free(t->r[i]);
        t->r[i] = NULL;
    }
}

static void thread_free(void *p)
{
    if (p != NULL)
        thread_drop(p);
    free(p);
}

static void key_make(void)
{
    pthread_key_create(&thread_key, thread_free);
}

/* The thread's renderer of style si over w's store; NULL with the reason in
 * msg. */
static pdbt_renderer *renderer_for(pdb_srv_worker *w, size_t si, char *msg, size_t cap)
{
    size_t ns;
    const pdb_srv_wms_style *st = pdb_srv_wms_styles(&ns);
    pthread_once(&key_once, key_make);
    wms_thread *t = pthread_getspecific(thread_key);
    if (t == NULL) {
        if ((t = calloc(1, sizeof *t)) == NULL || pthread_setspecific(thread_key, t) != 0) {
            free(t);
            snprintf(msg, cap, "out of memory");
            return NULL;
        }
    }
    if (t->store != w->store || t->store_gen != w->store_gen) {
        thread_drop(t);
        t->store = w->store;
        t->store_gen = w->store_gen;
    }
    if (si >= ns) {
        snprintf(msg, cap, "no style %zu", si);
        return NULL;
    }
    if (t->r[si] == NULL &&
        pdbt_renderer_new(w->tctx, w->store, st[si].style, NULL, &t->r[si]) != PDB_OK) {
        snprintf(msg, cap, "style %s: %s", st[si].name, pdbt_errmsg(w->tctx));
        return NULL;
    }
    return t->r[si];
}

/* ------------------------------------------------------------------------ */
/* Render slots                                                              */
/* ------------------------------------------------------------------------ */

static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slot_cond = PTHREAD_COND_INITIALIZER;
static int slots_used; /* GetMap renders running, guarded by slot_lock */

/* Takes a slot, waiting up to SLOT_WAIT_MS; 0, or -1 when none freed. */
static int slot_take(int max)
{
    struct timespec until;
    int rc = 0;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += SLOT_WAIT_MS / 1000;
    pthread_mutex_lock(&slot_lock);
    while (slots_used >= max && rc == 0)
        rc = pthread_cond_timedwait(&slot_cond, &slot_lock, &until);
    if (slots_used < max) {
        slots_used++;
        rc = 0;
    } else {
        rc = -1;
    }
    pthread_mutex_unlock(&slot_lock);
    return rc;
}

static void slot_give(void)
{
    pthread_mutex_lock(&slot_lock);
    slots_used--;
    pthread_cond_signal(&slot_cond);
    pthread_mutex_unlock(&slot_lock);
}

/* ------------------------------------------------------------------------ */
/* GetMap                                                                    */
/* ------------------------------------------------------------------------ */

/* Premultiplied ARGB src over dst, w * h pixels (dst has no padding). */
static void over(uint32_t *dst, const pdbt_image *src)
{
    for (int y = 0; y < src->height; y++) {
        const uint32_t *s =
            (const uint32_t *)((const unsigned char *)src->argb + (size_t)y * (size_t)src->stride);
        uint32_t *d = dst + (size_t)y * (size_t)src->width;
        for (int x = 0; x < src->width; x++) {
            uint32_t a = s[x] >> 24;
            if (a == 255 || d[x] == 0) {
                d[x] = s[x];
            } else if (a != 0) {
                uint32_t out = 0;
                for (int sh = 0; sh < 32; sh += 8) {
                    uint32_t sc = (s[x] >> sh) & 255, dc = (d[x] >> sh) & 255;
                    uint32_t v = sc + (dc * (255 - a) + 127) / 255;
                    out |= (v > 255 ? 255 : v) << sh;
                }
                d[x] = out;
            }
        }
    }
}

/* The index of a STYLES entry (up to its ','), or -1. */
static long style_index(const char *s, size_t n)
{
    size_t ns;
    const pdb_srv_wms_style *st = pdb_srv_wms_styles(&ns);
    for (size_t i = 0; i < ns; i++)
        if (strlen(st[i].name) == n && strncmp(st[i].name, s, n) == 0)
            return (long)i;
    return -1;
}

/* Encodes w * h premultiplied pixels (PNG or JPEG) into out. */
static void send_image(pdb_srv_worker *w, const pdb_srv_wms_req *q, const uint32_t *px,
                       pdb_srv_response *out)
{
    pdbt_image img = {.width = q->width, .height = q->height, .stride = q->width * 4, .argb = px};
    unsigned char *bytes = NULL;
    size_t len = 0;
    pdb_status st;
    if (q->format == PDB_SRV_WMS_JPEG)
        st = pdb_srv_jpeg_encode(&img, 85, &bytes, &len) == 0 ? PDB_OK : PDB_ENOMEM;
    else
        st = pdbt_png_encode(w->tctx, &img, NULL, &bytes, &len);
    if (st != PDB_OK) {
        pdb_srv_wms_exception(out, q->v130, "", "the image could not be encoded");
        return;
    }
    out->status = 200;
    pdb_srv_body_malloced(out, q->format == PDB_SRV_WMS_JPEG ? "image/jpeg" : "image/png", bytes,
                          len);
    out->cache_control = "no-cache";
}

/* The background under the layers: BGCOLOR unless TRANSPARENT (JPEG has
 * no transparency). */
static void fill_background(uint32_t *px, size_t n, const pdb_srv_wms_req *q)
{
    uint32_t bg = (q->transparent && q->format == PDB_SRV_WMS_PNG) ? 0 : 0xFF000000u | q->bgcolor;
    for (size_t i = 0; i < n; i++)
        px[i] = bg;
}

/* EXCEPTIONS=INIMAGE or BLANK: the message (or nothing) as the image. */
static void image_exception(pdb_srv_worker *w, const pdb_srv_wms_req *q, const char *msg,
                            pdb_srv_response *out)
{
    size_t n = (size_t)q->width * (size_t)q->height;
    uint32_t *px = malloc(n * sizeof *px);
    char err[PDB_SRV_ERRMAX];
    if (px == NULL) {
        pdb_srv_wms_exception(out, q->v130, "", "out of memory");
        return;
    }
    fill_background(px, n, q);
    pdbt_renderer *r = renderer_for(w, 0, err, sizeof err);
    pdbt_image img;
    if (q->exceptions == PDB_SRV_WMS_EXC_INIMAGE && r != NULL &&
        pdbt_render_message(w->tctx, r, q->width, q->height, msg, &img) == PDB_OK)
        over(px, &img);
    send_image(w, q, px, out);
    free(px);
}

/* An error of a request: XML, or the image the client asked for. */
static void wms_fail(pdb_srv_worker *w, const pdb_srv_wms_req *q, const char *code, const char *msg,
                     pdb_srv_response *out)
{
    if (q->op == PDB_SRV_WMS_GETMAP && q->exceptions != PDB_SRV_WMS_EXC_XML && q->width > 0 &&
        q->height > 0 && w != NULL && w->store != NULL)
        image_exception(w, q, msg, out);
    else
        pdb_srv_wms_exception(out, q->v130, code, msg);
}

static void get_map(pdb_srv *srv, pdb_srv_worker *w, const pdb_srv_wms_req *q,
                    const pdb_srv_wms_conf *c, pdb_srv_response *out)
{
    long si[PDB_SRV_WMS_MAX_LAYERS];
    char msg[PDB_SRV_ERRMAX + 64];
    for (size_t k = 0; k < q->nlayers; k++) {
        const char *s = q->style[k];
        size_t n = s ? strcspn(s, ",") : 0;
        si[k] = n == 0 ? (long)pdb_srv_wms_default_style(q->layer[k]) : style_index(s, n);
        if (si[k] < 0) {
            snprintf(msg, sizeof msg, "no style '%.*s' (the styles are the files of styles/)",
                     (int)(n > 40 ? 40 : n), s);
            wms_fail(w, q, "StyleNotDefined", msg, out);
            return;
        }
    }
    if (slot_take(c->max_renders) != 0) {
        pdb_srv_error(out, 503, "every GetMap render slot (%d) stayed busy for %d ms",
                      c->max_renders, SLOT_WAIT_MS);
        out->retry_after_s = 1;
        return;
    }
    uint64_t t0 = pdb_srv_now_us();
    size_t n = (size_t)q->width * (size_t)q->height;
    uint32_t *px = malloc(n * sizeof *px);
    if (px == NULL) {
        slot_give();
        pdb_srv_wms_exception(out, q->v130, "", "out of memory for the image");
        return;
    }
    /* The background first, then each pass over it: (b over a) over bg is
     * b over (a over bg), and one image of the map's size is enough. */
    fill_background(px, n, q);
    int failed = 0;
    /* Consecutive layers of one style are drawn in one pass (one read of
     * the store, labels placed together); each pass goes over the last. */
    for (size_t k = 0; k < q->nlayers && !failed;) {
        unsigned bits = 0;
        size_t m = k;
        while (m < q->nlayers && si[m] == si[k])
            bits |= pdb_srv_wms_layer_bits(q->layer[m++]);
        pdbt_renderer *r = renderer_for(w, (size_t)si[k], msg, sizeof msg);
        pdbt_view v = {.epsg = q->epsg, .width = q->width, .height = q->height, .layers = bits};
        memcpy(v.bbox, q->bbox, sizeof v.bbox);
        pdbt_image img;
        if (r == NULL || pdbt_render_view(w->tctx, r, &v, &img, NULL) != PDB_OK) {
            if (r != NULL)
                snprintf(msg, sizeof msg, "rendering: %s", pdbt_errmsg(w->tctx));
            failed = 1;
            break;
        }
        over(px, &img);
        k = m;
    }
    slot_give();
    atomic_fetch_add_explicit(&srv->metrics.render_us, pdb_srv_now_us() - t0, memory_order_relaxed);
    if (failed) {
        atomic_fetch_add_explicit(&srv->metrics.render_failures, 1, memory_order_relaxed);
        free(px);
        if (pdbt_errcode(w->tctx) == PDB_EIO || pdbt_errcode(w->tctx) == PDB_EBUSY) {
            pdb_srv_error(out, 503, "%s", msg);
            out->retry_after_s = 1;
            pdb_srv_worker_store_failed(w);
            return;
        }
        wms_fail(w, q, "", msg, out);
        return;
    }
    send_image(w, q, px, out);
    free(px);
}

/* ------------------------------------------------------------------------ */
/* GetFeatureInfo                                                            */
/* ------------------------------------------------------------------------ */

/* Appends one parcel's fields in the asked format: every public field,
 * empty where the parcel has none; the owner and the certificate serial
 * (personal data, docs/security.md) only for a personal caller and only
 * where the parcel has them. */
static void info_parcel(FILE *f, const pdb_srv_wms_req *q, const pdb_parcel *p, int personal)
{
    char area[32] = "";
    if (!isnan(p->area_surveyed_m2))
        snprintf(area, sizeof area, "%.1f", p->area_surveyed_m2);
#define OR_EMPTY(s) ((s) ? (s) : "")
    const struct {
        const char *name;  /* text/plain and GML */
        const char *label; /* HTML */
        const char *value; /* NULL: left out */
    } fields[] = {
        {"commune", "Mã xã", p->commune},
        {"sheet", "Số tờ", p->sheet},
        {"parcel", "Số thửa", p->parcel},
        {"landuse", "Loại đất", OR_EMPTY(p->landuse)},
        {"area_m2", "Diện tích (m²)", area},
        {"address", "Địa chỉ", OR_EMPTY(p->address)},
        {"prev_sheet", "Số tờ cũ", OR_EMPTY(p->prev_sheet)},
        {"prev_parcel", "Số thửa cũ", OR_EMPTY(p->prev_parcel)},
        {"record_start", "Thời điểm bắt đầu", OR_EMPTY(p->record_start)},
        {"record_end", "Thời điểm kết thúc", OR_EMPTY(p->record_end)},
        {"owner", "Chủ sử dụng", personal ? p->owner : NULL},
        {"certificate", "Số GCN", personal ? p->certificate : NULL},
    };
#undef OR_EMPTY
    size_t n = sizeof fields / sizeof fields[0];
    switch (q->info_format) {
    case PDB_SRV_WMS_INFO_PLAIN:
        fprintf(f, "parcel %s/%s/%s\n", p->commune, p->sheet, p->parcel);
        for (size_t i = 0; i < n; i++)
            if (fields[i].value != NULL)
                fprintf(f, "  %s = %s\n", fields[i].name, fields[i].value);
        break;
    case PDB_SRV_WMS_INFO_HTML:
        fprintf(f, "<table class=\"parcel\">\n");
        for (size_t i = 0; i < n; i++) {
            if (fields[i].value == NULL)
                continue;
            fprintf(f, "<tr><th>%s</th><td>", fields[i].label);
            xml_escaped(f, fields[i].value);
            fprintf(f, "</td></tr>\n");
        }
        fprintf(f, "</table>\n");
        break;
    case PDB_SRV_WMS_INFO_GML:
        fprintf(f, "    <parcels_feature>\n");
        for (size_t i = 0; i < n; i++) {
            if (fields[i].value == NULL)
                continue;
            fprintf(f, "      <%s>", fields[i].name);
            xml_escaped(f, fields[i].value);
            fprintf(f, "</%s>\n", fields[i].name);
        }
        fprintf(f, "    </parcels_feature>\n");
        break;
    default:
        break;
    }
}

static void get_feature_info(pdb_srv_worker *w, const pdb_srv_wms_req *q, const char *who,
                             pdb_srv_response *out)
{
    int personal = who != NULL;
    /* The pixel's centre in the map's CRS. */
    double x = q->bbox[0] + (q->i + 0.5) * (q->bbox[2] - q->bbox[0]) / q->width;
    double y = q->bbox[3] - (q->j + 0.5) * (q->bbox[3] - q->bbox[1]) / q->height;
    unsigned flags = PDB_READ_WGS84 | (personal ? PDB_READ_PERSONAL : 0);
    pdb_parcel_list *list = NULL;
    pdb_status st;
    char msg[PDB_SRV_ERRMAX];

    if (q->epsg == 3857)
        st = pdb_parcels_at(w->ctx, w->store, pdbt_merc_lon(x), pdbt_merc_lat(y), flags, &list);
    else if (q->epsg == PDB_EPSG_WGS84)
        st = pdb_parcels_at(w->ctx, w->store, x, y, flags, &list);
    else
        st = pdb_parcels_at_crs(w->ctx, w->store, q->epsg, x, y, flags, &list);
    if (st != PDB_OK) {
        if (st == PDB_EIO || st == PDB_EBUSY) {
            pdb_srv_error(out, 503, "the store is unavailable: %s", pdb_errmsg(w->ctx));
            out->retry_after_s = 1;
            pdb_srv_worker_store_failed(w);
            return;
        }
        snprintf(msg, sizeof msg, "%s", pdb_errmsg(w->ctx));
        pdb_srv_wms_exception(out, q->v130, "InvalidPoint", msg);
        return;
    }
    /* FEATURE_COUNT: the first ones of the engine's order. */
    pdb_parcel_list shown = *list;
    if (shown.count > (size_t)q->feature_count)
        shown.count = (size_t)q->feature_count;
    /* No audit row, no owner names (search_audit.h). */
    const pdb_srv_options *o = &w->srv->opt;
    if (personal &&
        pdb_srv_audit_personal(o->audit_path ? o->audit_path : o->db_path, who,
                               "GET /wms GetFeatureInfo", &shown, msg, sizeof msg) != 0) {
        pdb_parcel_list_free(list);
        pdb_srv_error(out, 503, "%s", msg);
        out->retry_after_s = 1;
        return;
    }
    out->cache_control = personal ? "private, no-store" : "no-cache";
    out->vary = "Authorization";
    if (q->info_format == PDB_SRV_WMS_INFO_JSON) {
        char *json = NULL;
        st = pdb_parcels_to_geojson(w->ctx, &shown, personal, &json);
        pdb_parcel_list_free(list);
        if (st != PDB_OK) {
            pdb_srv_wms_exception(out, q->v130, "", pdb_errmsg(w->ctx));
            return;
        }
        out->status = 200;
        out->content_type = "application/json";
        out->body = json;
        out->len = strlen(json);
        out->release = pdb_free;
        out->release_cls = json;
        return;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        pdb_parcel_list_free(list);
        pdb_srv_error(out, 503, "out of memory");
        return;
    }
    if (q->info_format == PDB_SRV_WMS_INFO_HTML)
        fprintf(f, "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">"
                   "<title>Thông tin thửa đất</title></head><body>\n");
    else if (q->info_format == PDB_SRV_WMS_INFO_GML)
        fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<msGMLOutput xmlns:gml=\"http://www.opengis.net/gml\">\n"
                   "  <parcels_layer>\n    <gml:name>parcels</gml:name>\n");
    else if (shown.count == 0)
        fprintf(f, "no parcel at this point\n");
    for (size_t i = 0; i < shown.count; i++)
        info_parcel(f, q, &shown.items[i], personal);
    if (q->info_format == PDB_SRV_WMS_INFO_HTML)
        fprintf(f, "%s</body></html>\n",
                shown.count ? "" : "<p>Không có thửa đất tại điểm này</p>");
    else if (q->info_format == PDB_SRV_WMS_INFO_GML)
        fprintf(f, "  </parcels_layer>\n</msGMLOutput>\n");
    pdb_parcel_list_free(list);
    static const char *const types[] = {
        [PDB_SRV_WMS_INFO_PLAIN] = "text/plain; charset=utf-8",
        [PDB_SRV_WMS_INFO_HTML] = "text/html; charset=utf-8",
        [PDB_SRV_WMS_INFO_GML] = "application/vnd.ogc.gml",
    };
    pdb_srv_wms_send(out, f, &text, &len, types[q->info_format], out->cache_control);
}

/* ------------------------------------------------------------------------ */
/* The route                                                                 */
/* ------------------------------------------------------------------------ */

void pdb_srv_handle_wms(pdb_srv *srv, pdb_srv_worker *w, const pdb_srv_request *req,
                        const char *personal, const char *base, pdb_srv_response *out)
{
    pdb_srv_wms_conf c;
    pdb_srv_wms_req q;
    char code[PDB_SRV_WMS_CODE_MAX], err[PDB_SRV_ERRMAX];

    pdb_srv_wms_conf_get(&c);
    if (pdb_srv_wms_parse(req, c.max_px, &q, code, err, sizeof err) != 0) {
        wms_fail(w, &q, code, err, out);
        return;
    }
    switch (q.op) {
    case PDB_SRV_WMS_GETCAPABILITIES: {
        double b[4];
        pthread_rwlock_rdlock(&srv->changes_lock);
        memcpy(b, srv->data_bounds, sizeof b);
        pthread_rwlock_unlock(&srv->changes_lock);
        pdb_srv_wms_capabilities(srv, w, q.v130, base, b, out);
        break;
    }
    case PDB_SRV_WMS_GETMAP:
        get_map(srv, w, &q, &c, out);
        break;
    case PDB_SRV_WMS_GETFEATUREINFO:
        get_feature_info(w, &q, personal, out);
        break;
    }
}
