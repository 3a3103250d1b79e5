/*
 * pipeline.c: one commune's records, read and validated in one thread and
 * written in another. The reading thread does what needs no store: OGR's
 * parsing, WKB export, attribute mapping and text conversion, GEOS
 * validation (with its own pdb_ctx); the writing thread calls
 * pdb_writer_add, whose WGS 84 transform and SQLite insert are the other
 * half of the cost. Records travel in chunks through a bounded queue, so
 * memory stays flat however large the file.
 */
#define _GNU_SOURCE 1 /* asprintf, vasprintf, strcasestr */
#include "imp_ogr.h"

#include <cpl_error.h>
#include <jansson.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The repaired area must stay within 0.1% of the original (issue 3). */
#define MAX_REPAIR_AREA_CHANGE 0.001
/* Records per chunk, and chunks in flight between the threads. */
#define CHUNK_ITEMS 128
#define QUEUE_CHUNKS 16
/* When this many records in a row fail to transform from the start, the
 * transformation itself is missing: stop instead of rejecting them all. */
#define TRANSFORM_GIVE_UP 20

/* One record on its way from the reader to the writer. */
typedef struct pdbi_item {
    int64_t index;           /* 0-based, over the file's layers in order */
    int store;               /* 1: add the parcel */
    pdb_parcel parcel;       /* what to store (owned fields) */
    const char *reason;      /* reject reason (static), or NULL */
    char *detail;            /* human-readable detail, owned */
    char *attrs;             /* raw attributes as JSON, owned */
    unsigned char *raw;      /* raw geometry as read, ISO WKB, owned */
    size_t raw_len;          /* bytes */
    pdb_geom_prepared *geom; /* WGS 84 geometry made on the reading thread, or NULL */
} pdbi_item;

typedef struct pdbi_chunk {
    size_t n;                     /* items used */
    struct pdbi_chunk *next;      /* queue link */
    pdbi_item items[CHUNK_ITEMS]; /* records in file order */
} pdbi_chunk;

typedef struct pdbi_queue {
    pthread_mutex_t mu;      /* guards everything below */
    pthread_cond_t can_put;  /* signalled when a chunk is taken */
    pthread_cond_t can_take; /* signalled when a chunk is put or the reader ends */
    pdbi_chunk *head, *tail; /* FIFO */
    size_t len;              /* chunks queued */
    int done;                /* the reader has put its last chunk */
    int cancel;              /* the writer gave up: the reader stops */
} pdbi_queue;

typedef struct writer_state {
    pdbi_pass *pass;         /* counts, writer, error */
    pdbi_meter *progress;    /* redrawn as records are written */
    int64_t transform_fails; /* consecutive transform failures from the start */
    int failed;              /* a fatal error happened */
} writer_state;

typedef struct reader {
    pdbi_pass *pass;     /* the pass read for */
    pdbi_file *f;        /* its file */
    pdbi_ctx ic;         /* the reading thread's context (ic.db: its engine's) */
    size_t max_vertices; /* per parcel */
    size_t max_text;     /* bytes per attribute value */
    pdbi_queue *q;       /* threaded: where chunks go */
    writer_state *ws;    /* one thread: consumed at once */
    pdbi_chunk *cur;     /* chunk being filled */
} reader;

/* Whether the reader failed (a read error, out of memory): its context is
 * fresh for each pass, so any failure on it is this pass's. */
static int reader_failed(const reader *r)
{
    return pdbi_errcode(&r->ic) != PDB_OK;
}

/* ------------------------------------------------------------------------ */
/* Items                                                                     */
/* ------------------------------------------------------------------------ */

/* Frees what an item owns: its parcel's fields through the engine's own
 * pdb_parcel_clear (one list of a parcel's owned fields, not two), and the
 * importer's reject data and prepared geometry. */
static void item_clear(pdbi_item *it)
{
    pdb_parcel_clear(&it->parcel);
    free(it->detail);
    free(it->attrs);
    free(it->raw);
    pdb_geom_prepared_free(it->geom);
    memset(it, 0, sizeof *it);
}

static void chunk_free(pdbi_chunk *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        item_clear(&c->items[i]);
    free(c);
}

/* ------------------------------------------------------------------------ */
/* The current feature's attributes                                          */
/* ------------------------------------------------------------------------ */

typedef struct feat_view {
    pdbi_layer *L;     /* its layer */
    OGRFeatureH feat;  /* the feature */
    const char **vals; /* CAD: value per label key, from the labels inside */
    size_t *vlens;     /* their lengths */
} feat_view;

static void pair_into_view(void *arg, const char *key, size_t klen, const char *val, size_t vlen)
{
    feat_view *v = arg;
    for (size_t i = 0; i < v->L->nfields; i++) {
        const char *name = v->L->fields[i];
        if (strlen(name) == klen && strncasecmp(name, key, klen) == 0) {
            if (v->vals[i] == NULL) { /* the first label wins */
                v->vals[i] = val;
                v->vlens[i] = vlen;
            }
            return;
        }
    }
}

/* The bytes of field k (NULL when null or unmapped). For OGR's numbers the
 * pointer is valid only until the next call: use it at once. */
static const char *raw_value(const feat_view *v, int k, size_t *len)
{
    *len = 0;
    if (k < 0)
        return NULL;
    if (v->L->cad) {
        *len = v->vlens[k];
        return v->vals[k];
    }
    if (!OGR_F_IsFieldSetAndNotNull(v->feat, k))
        return NULL;
    const char *s = OGR_F_GetFieldAsString(v->feat, k);
    *len = strlen(s);
    return s;
}

/* Text of field k as trimmed NFC UTF-8 (malloc'd), NULL when empty. */
static char *text_value(const reader *r, const feat_view *v, int k)
{
    size_t len;
    const char *s = raw_value(v, k, &len);
    char *t = pdbi__trim_dup(s, len);
    if (t == NULL || pdbi__is_ascii(t, strlen(t)))
        return t;
    char *u = pdbi__text_to_utf8(r->f->enc.kind, t, strlen(t));
    free(t);
    return u;
}

/* Adds a text value to a JSON object, converted to UTF-8. */
static void json_add_text(const reader *r, json_t *obj, const char *key, const char *s, size_t len)
{
    char *u = pdbi__is_ascii(s, len) ? strndup(s, len) : pdbi__text_to_utf8(r->f->enc.kind, s, len);
    json_t *val = u != NULL ? json_string(u) : NULL;
    char *ukey = pdbi__is_ascii(key, strlen(key))
                     ? NULL
                     : pdbi__text_to_utf8(r->f->enc.kind, key, strlen(key));
    json_object_set_new(obj, ukey ? ukey : key, val ? val : json_null());
    free(u);
    free(ukey);
}

/* The raw attributes of the feature as a JSON object (UTF-8 text). */
static char *attrs_json(const reader *r, const feat_view *v)
{
    json_t *obj = json_object();
    OGRFeatureDefnH defn = OGR_F_GetDefnRef(v->feat);
    int n = OGR_FD_GetFieldCount(defn);

    if (obj == NULL)
        return NULL;
    for (int k = 0; k < n; k++) {
        OGRFieldDefnH fd = OGR_FD_GetFieldDefn(defn, k);
        const char *name = OGR_Fld_GetNameRef(fd);
        OGRFieldType ft = OGR_Fld_GetType(fd);
        if (!OGR_F_IsFieldSetAndNotNull(v->feat, k)) {
            json_object_set_new(obj, name, json_null());
        } else if (ft == OFTInteger || ft == OFTInteger64) {
            json_object_set_new(obj, name, json_integer(OGR_F_GetFieldAsInteger64(v->feat, k)));
        } else if (ft == OFTReal) {
            double d = OGR_F_GetFieldAsDouble(v->feat, k);
            json_object_set_new(obj, name, isfinite(d) ? json_real(d) : json_null());
        } else {
            const char *s = OGR_F_GetFieldAsString(v->feat, k);
            json_add_text(r, obj, name, s, strlen(s));
        }
    }
    if (v->L->cad) {
        for (size_t i = 0; i < v->L->nfields; i++)
            if (v->vals[i] != NULL)
                json_add_text(r, obj, v->L->fields[i], v->vals[i], v->vlens[i]);
    }
    char *out = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    return out;
}

static unsigned char *export_wkb(OGRGeometryH g, size_t *len)
{
    *len = 0;
    if (g == NULL)
        return NULL;
    size_t n = OGR_G_WkbSizeEx(g);
    unsigned char *buf = malloc(n ? n : 1);
    if (buf == NULL)
        return NULL;
    if (OGR_G_ExportToIsoWkb(g, wkbNDR, buf) != OGRERR_NONE) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Whether a ring of polygon or multipolygon G does not end where it starts
 * (a ring of one or two points counts as open too: GEOS refuses both). */
static bool has_open_ring(OGRGeometryH g)
{
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
    if (t == wkbMultiPolygon) {
        for (int i = 0; i < OGR_G_GetGeometryCount(g); i++)
            if (has_open_ring(OGR_G_GetGeometryRef(g, i)))
                return true;
        return false;
    }
    for (int i = 0; i < OGR_G_GetGeometryCount(g); i++) {
        OGRGeometryH ring = OGR_G_GetGeometryRef(g, i);
        int n = OGR_G_GetPointCount(ring);
        if (n > 0 && (OGR_G_GetX(ring, 0) != OGR_G_GetX(ring, n - 1) ||
                      OGR_G_GetY(ring, 0) != OGR_G_GetY(ring, n - 1)))
            return true;
    }
    return false;
}

static size_t count_points(OGRGeometryH g)
{
    int n = OGR_G_GetGeometryCount(g);
    if (n == 0)
        return (size_t)OGR_G_GetPointCount(g);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += count_points(OGR_G_GetGeometryRef(g, i));
    return total;
}

static int all_polygonal(OGRGeometryH g)
{
    int n = OGR_G_GetGeometryCount(g);
    for (int i = 0; i < n; i++) {
        OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(OGR_G_GetGeometryRef(g, i)));
        if (t != wkbPolygon && t != wkbMultiPolygon)
            return 0;
    }
    return n > 0;
}

/* Shoelace area of a ring after transforming it to zone_epsg; -1 when the
 * transformation fails. xy is scratch space grown as needed. */
static double ring_area_in(pdb_ctx *ctx, OGRGeometryH ring, int from, int to, double **xy,
                           size_t *cap)
{
    int n = OGR_G_GetPointCount(ring);
    if (n < 3)
        return 0.0;
    if ((size_t)n > *cap) {
        double *bigger = realloc(*xy, 2 * (size_t)n * sizeof *bigger);
        if (bigger == NULL)
            return -1.0;
        *xy = bigger;
        *cap = (size_t)n;
    }
    double *x = *xy, *y = *xy + n;
    OGR_G_GetPoints(ring, x, sizeof(double), y, sizeof(double), NULL, 0);
    if (pdb_crs_transform(ctx, from, to, x, y, (size_t)n) != PDB_OK)
        return -1.0;
    double a = 0.0;
    for (int i = 0, j = n - 1; i < n; j = i++)
        a += (x[j] - x[0]) * (y[i] - y[0]) - (x[i] - x[0]) * (y[j] - y[0]);
    return fabs(a) / 2.0;
}

/* The planar area of a (multi)polygon in degrees, measured in the TM-3
 * zone of its commune: what the surveyed area is compared with. NAN when
 * it cannot be measured. */
static double area_in_zone(pdb_ctx *ctx, OGRGeometryH g, int from, int to)
{
    double total = 0.0, *xy = NULL;
    size_t cap = 0;
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
    int nparts = t == wkbMultiPolygon ? OGR_G_GetGeometryCount(g) : 1;

    for (int p = 0; p < nparts; p++) {
        OGRGeometryH poly = t == wkbMultiPolygon ? OGR_G_GetGeometryRef(g, p) : g;
        for (int k = 0; k < OGR_G_GetGeometryCount(poly); k++) {
            double a = ring_area_in(ctx, OGR_G_GetGeometryRef(poly, k), from, to, &xy, &cap);
            if (a < 0) {
                free(xy);
                return NAN;
            }
            total += k == 0 ? a : -a;
        }
    }
    free(xy);
    return total;
}

/* ------------------------------------------------------------------------ */
/* One record                                                                */
/* ------------------------------------------------------------------------ */

/* How a step of process() ends. */
typedef enum rec_step {
    REC_NEXT,  /* go on with the next step */
    REC_DONE,  /* the item is complete (a reject): stop here */
    REC_OTHER, /* the record belongs to another commune's pass */
    REC_NOMEM  /* out of memory */
} rec_step;

/* A record on its way through process(): what its steps share. */
typedef struct record {
    reader *r;                  /* the reader */
    pdbi_layer *L;              /* the record's layer */
    OGRFeatureH feat;           /* the feature */
    long label;                 /* CAD: index of the label inside it, or -1 */
    const pdbi_cad_rec *cad;    /* CAD: the record, or NULL */
    feat_view v;                /* its attribute values */
    const char *stack_vals[64]; /* v.vals when the layer has few label keys */
    size_t stack_lens[64];      /* v.vlens likewise */
    OGRGeometryH g;             /* the geometry as read, borrowed from feat */
    OGRGeometryH work;          /* a normalised copy of g, owned, or NULL */
    OGRGeometryH cur;           /* work or g: what is checked and stored */
    pdbi_item *it;              /* the item filled */
} record;

/* Fills the reject part of the item: reason, detail, raw attributes and
 * the geometry as read. Returns REC_DONE, so that a step rejects in one
 * line; a repaired parcel is stored too and goes on. */
static rec_step rec_reject(record *rc, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static rec_step rec_reject(record *rc, const char *reason, const char *fmt, ...)
{
    pdbi_item *it = rc->it;
    /* One reason per record: a later one (a repaired or invalid geometry
     * after a bad date) replaces an earlier one that kept the record. */
    free(it->detail);
    free(it->attrs);
    free(it->raw);
    it->detail = NULL;
    it->attrs = NULL;
    it->raw = NULL;
    it->reason = reason;
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&it->detail, fmt, ap) < 0)
            it->detail = NULL;
        va_end(ap);
    }
    it->attrs = attrs_json(rc->r, &rc->v);
    it->raw = export_wkb(rc->g, &it->raw_len);
    return REC_DONE;
}

/* CAD: the values of the label inside the boundary, by label key. */
static rec_step rec_label_values(record *rc)
{
    pdbi_layer *L = rc->L;
    feat_view *v = &rc->v;

    if (!L->cad)
        return REC_NEXT;
    if (L->nfields <= PDBI_COUNTOF(rc->stack_vals)) {
        v->vals = rc->stack_vals;
        v->vlens = rc->stack_lens;
    } else {
        v->vals = malloc(L->nfields * sizeof *v->vals);
        v->vlens = malloc(L->nfields * sizeof *v->vlens);
    }
    if (v->vals == NULL || v->vlens == NULL)
        return REC_NOMEM;
    for (size_t i = 0; i < L->nfields; i++) {
        v->vals[i] = NULL;
        v->vlens[i] = 0;
    }
    if (rc->label >= 0)
        pdbi__label_pairs(L->labels[rc->label].text, pair_into_view, v);
    return REC_NEXT;
}

/* Which commune: fixed for the file, or the record's own. */
static rec_step rec_commune(record *rc)
{
    pdbi_pass *pass = rc->r->pass;
    rec_step s = REC_NEXT;

    if (rc->r->f->fixed_commune[0] == '\0') {
        size_t len;
        char code[6];
        const char *str = raw_value(&rc->v, rc->L->map[PDBI_T_COMMUNE], &len);
        char *shown = pdbi__trim_dup(str, len);
        int ok = str != NULL && pdbi__commune_normalize(str, len, code) == 0 &&
                 pdbi__commune_known(code) != NULL;
        if ((ok && strcmp(code, pass->commune) != 0) || (!ok && !pass->host))
            s = REC_OTHER; /* the host pass takes the records without a commune */
        else if (!ok && shown == NULL)
            s = rec_reject(rc, "missing-commune", "no commune code");
        else if (!ok)
            s = rec_reject(rc, "unknown-commune",
                           "'%.40s' is not a commune of Phu Tho nor of the store's list", shown);
        free(shown);
        if (s != REC_NEXT)
            return s;
    }
    rc->it->parcel.commune = strdup(pass->commune);
    return rc->it->parcel.commune != NULL ? REC_NEXT : REC_NOMEM;
}

/* The geometry: a (multi)polygon, in 2D, easting first. */
static rec_step rec_geometry(record *rc)
{
    pdbi_layer *L = rc->L;
    OGRGeometryH g = rc->g;

    if (rc->cad != NULL && rc->cad->reason != NULL)
        return rec_reject(rc, rc->cad->reason, "%s", rc->cad->detail);
    if (L->cad && rc->label >= 0 && rc->feat == L->labels[rc->label].feat)
        return rec_reject(rc, "not-polygon", "a label with no boundary around it");
    if (g == NULL)
        return rec_reject(rc, "null-geometry", NULL);
    if (OGR_G_IsEmpty(g))
        return rec_reject(rc, "empty-geometry", NULL);
    OGRwkbGeometryType type = wkbFlatten(OGR_G_GetGeometryType(g));
    switch (type) {
    case wkbPolygon:
    case wkbMultiPolygon:
        break;
    case wkbCurvePolygon:
    case wkbMultiSurface:
        rc->work = OGR_G_GetLinearGeometry(g, 0.0, NULL);
        break;
    case wkbLineString:
        /* A closed polyline in a CAD drawing is how a parcel is drawn. */
        if (L->cad && OGR_G_GetPointCount(g) >= 4 &&
            OGR_G_GetX(g, 0) == OGR_G_GetX(g, OGR_G_GetPointCount(g) - 1) &&
            OGR_G_GetY(g, 0) == OGR_G_GetY(g, OGR_G_GetPointCount(g) - 1))
            rc->work = OGR_G_ForceToPolygon(OGR_G_Clone(g));
        break;
    case wkbGeometryCollection:
        if (all_polygonal(g))
            rc->work = OGR_G_ForceToMultiPolygon(OGR_G_Clone(g));
        break;
    default:
        break;
    }
    rc->cur = rc->work ? rc->work : g;
    OGRwkbGeometryType ct = wkbFlatten(OGR_G_GetGeometryType(rc->cur));
    if (ct != wkbPolygon && ct != wkbMultiPolygon)
        return rec_reject(rc, "not-polygon", "%s", OGRGeometryTypeToName(type));
    /* GeoJSON (RFC 7946 says a ring repeats its first position last) and
     * hand-written files leave the closing vertex out; GDAL reads such a
     * ring as it is, and GEOS refuses it as WKB ("do not form a closed
     * linestring"): every such parcel went to rejects as invalid-geometry,
     * found by tests/othergen on GeoJSON written without closing vertices.
     * Closed here, as QGIS and ogr2ogr to a Shapefile would. */
    if (has_open_ring(rc->cur)) {
        if (rc->work == NULL)
            rc->cur = rc->work = OGR_G_Clone(g);
        OGR_G_CloseRings(rc->cur);
    }
    if (OGR_G_Is3D(rc->cur) || OGR_G_IsMeasured(rc->cur) || rc->r->f->swap_xy) {
        if (rc->work == NULL)
            rc->cur = rc->work = OGR_G_Clone(g);
        OGR_G_Set3D(rc->cur, FALSE);
        OGR_G_SetMeasured(rc->cur, FALSE);
        if (rc->r->f->swap_xy)
            OGR_G_SwapXY(rc->cur);
    }
    return REC_NEXT;
}

/* A sheet or parcel number as text ("12.0" -> "12"), or NULL. */
static char *number_value(const reader *r, const feat_view *v, int k)
{
    char *s = text_value(r, v, k);
    if (s == NULL)
        return NULL;
    char *n = pdbi__number_text(s, strlen(s));
    free(s);
    return n;
}

/* The numbers that identify the parcel, and its size. */
static rec_step rec_numbers(record *rc)
{
    pdbi_item *it = rc->it;
    reader *r = rc->r;

    if ((it->parcel.sheet = number_value(r, &rc->v, rc->L->map[PDBI_T_SHEET])) == NULL)
        return rec_reject(rc, "missing-sheet", NULL);
    if ((it->parcel.parcel = number_value(r, &rc->v, rc->L->map[PDBI_T_PARCEL])) == NULL)
        return rec_reject(rc, "missing-parcel", NULL);
    /* The registers number sheets and parcels 1, 2, 3...; so does every
     * lookup by number. "12a" or "1/2" stored would be a parcel no officer
     * could find by its number: refused, the record kept in rejects. */
    if (!pdbi__number_ok(it->parcel.sheet))
        return rec_reject(rc, "bad-number", "sheet number '%.40s' is not a positive integer",
                          it->parcel.sheet);
    if (!pdbi__number_ok(it->parcel.parcel))
        return rec_reject(rc, "bad-number", "parcel number '%.40s' is not a positive integer",
                          it->parcel.parcel);
    size_t npoints = count_points(rc->cur);
    if (npoints > r->max_vertices)
        return rec_reject(rc, "too-many-vertices", "%zu vertices, over the limit of %zu", npoints,
                          r->max_vertices);
    return REC_NEXT;
}

/* The surveyed area: a numeric field, or a number as surveys write it;
 * NAN when not given (0 is "not given" in DBFs). */
static double surveyed_area(const record *rc)
{
    int k = rc->L->map[PDBI_T_AREA];
    double a = NAN;
    if (k < 0)
        return NAN;
    if (!rc->L->cad && rc->L->numeric[k] && OGR_F_IsFieldSetAndNotNull(rc->feat, k)) {
        a = OGR_F_GetFieldAsDouble(rc->feat, k);
    } else {
        size_t len;
        const char *s = raw_value(&rc->v, k, &len);
        if (s == NULL || pdbi__parse_number(s, len, &a) != 0)
            a = NAN;
    }
    return a > 0 ? a : NAN;
}

/* Today's date, UTC, "YYYY-MM-DD": what a record's end date is compared
 * with (the import's day). */
static void today_utc(char out[11])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* The national attribute set (docs/import.md): previous sheet and number,
 * the certificate's serial, the record's dates. A date that does not parse
 * is left NULL and the record stored with a "bad-date" row in rejects
 * (stored 1), as a repaired geometry is: the parcel exists, and one wrong
 * attribute must not take it off the map. A record whose end date is
 * before the import's day describes a parcel that no longer exists: it is
 * not stored as current, and its whole record goes to rejects
 * ("record-ended"). */
static rec_step rec_national(record *rc)
{
    pdbi_item *it = rc->it;
    reader *r = rc->r;
    const int *map = rc->L->map;
    char *dates[2] = {NULL, NULL}, *bad = NULL;
    const char *bad_field = NULL;

    it->parcel.prev_sheet = number_value(r, &rc->v, map[PDBI_T_PREV_SHEET]);
    it->parcel.prev_parcel = number_value(r, &rc->v, map[PDBI_T_PREV_PARCEL]);
    it->parcel.certificate = text_value(r, &rc->v, map[PDBI_T_CERTIFICATE]);
    /* A previous number without a previous sheet is one of the same sheet. */
    if (it->parcel.prev_parcel != NULL && it->parcel.prev_sheet == NULL &&
        (it->parcel.prev_sheet = strdup(it->parcel.sheet)) == NULL)
        return REC_NOMEM;
    if ((it->parcel.certificate && strlen(it->parcel.certificate) > r->max_text) ||
        (it->parcel.prev_sheet && strlen(it->parcel.prev_sheet) > r->max_text) ||
        (it->parcel.prev_parcel && strlen(it->parcel.prev_parcel) > r->max_text))
        return rec_reject(rc, "text-too-long", "a national attribute over %zu bytes", r->max_text);
    for (int k = 0; k < 2; k++) {
        int f = map[k == 0 ? PDBI_T_RECORD_START : PDBI_T_RECORD_END];
        char *t = text_value(r, &rc->v, f), iso[20];
        if (t == NULL)
            continue;
        if (pdbi__date_parse(t, strlen(t), iso) == 0) {
            free(t);
            if ((dates[k] = strdup(iso)) == NULL)
                return REC_NOMEM;
        } else if (bad == NULL) {
            bad = t;
            bad_field = rc->L->fields[f];
        } else {
            free(t);
        }
    }
    it->parcel.record_start = dates[0];
    it->parcel.record_end = dates[1];
    if (dates[1] != NULL) {
        char today[11];
        today_utc(today);
        if (strncmp(dates[1], today, 10) < 0)
            return rec_reject(rc, "record-ended",
                              "%s is %s, before the import (%s): the record of a parcel that "
                              "no longer exists",
                              rc->L->fields[map[PDBI_T_RECORD_END]], dates[1], today);
    }
    if (bad != NULL) {
        rec_reject(rc, "bad-date",
                   "%s '%.40s' is not a date (YYYY-MM-DD or DD/MM/YYYY); stored without it",
                   bad_field, bad);
        free(bad);
    }
    return REC_NEXT;
}

/* The other attributes: former commune, land use, areas, owner, address. */
static rec_step rec_attributes(record *rc)
{
    pdbi_item *it = rc->it;
    reader *r = rc->r;
    int k = rc->L->map[PDBI_T_FORMER];

    if (k >= 0) {
        size_t len;
        char code[6];
        const char *s = raw_value(&rc->v, k, &len);
        if (s != NULL && pdbi__commune_normalize(s, len, code) == 0)
            it->parcel.former_commune = strdup(code);
        else
            it->parcel.former_commune = text_value(r, &rc->v, k);
    }
    char *lu = text_value(r, &rc->v, rc->L->map[PDBI_T_LANDUSE]);
    int unknown = 1;
    if (lu != NULL)
        it->parcel.landuse = pdbi__landuse_normalize(lu, strlen(lu), &unknown);
    free(lu);
    if (unknown)
        it->parcel.flags |= PDB_PARCEL_UNKNOWN_LANDUSE;
    it->parcel.area_surveyed_m2 = surveyed_area(rc);
    if (!isfinite(it->parcel.area_surveyed_m2))
        it->parcel.flags |= PDB_PARCEL_NO_SURVEYED_AREA;
    it->parcel.owner = text_value(r, &rc->v, rc->L->map[PDBI_T_OWNER]);
    it->parcel.address = text_value(r, &rc->v, rc->L->map[PDBI_T_ADDRESS]);
    if ((it->parcel.owner && strlen(it->parcel.owner) > r->max_text) ||
        (it->parcel.address && strlen(it->parcel.address) > r->max_text))
        return rec_reject(rc, "text-too-long", "an owner or address over %zu bytes", r->max_text);
    return rec_national(rc);
}

/* Validity, and repair when it changes the area by at most 0.1%; then the
 * computed area and the WGS 84 geometry. */
static rec_step rec_validity(record *rc)
{
    reader *r = rc->r;
    pdbi_file *f = r->f;
    pdbi_item *it = rc->it;
    const pdbi_options *o = f->opts;
    size_t wkb_len = 0, rep_len = 0;
    unsigned char *rep = NULL, *wkb = export_wkb(rc->cur, &wkb_len);
    pdb_geom_check chk;

    if (wkb == NULL)
        return REC_NOMEM;
    pdb_status st =
        pdb_geom_check_wkb(r->ic.db, wkb, wkb_len, MAX_REPAIR_AREA_CHANGE, &chk, &rep, &rep_len);
    if (st != PDB_OK) {
        free(wkb);
        return rec_reject(rc, st == PDB_ELIMIT ? "too-many-vertices" : "invalid-geometry", "%s",
                          pdb_errmsg(r->ic.db));
    }
    double area = chk.area_m2;
    if (chk.valid) {
        it->parcel.source_wkb = wkb;
        it->parcel.source_wkb_len = wkb_len;
    } else if (chk.repaired) {
        free(wkb);
        it->parcel.source_wkb = rep;
        it->parcel.source_wkb_len = rep_len;
        it->parcel.flags |= PDB_PARCEL_REPAIRED;
        area = chk.repaired_area_m2;
        rec_reject(rc, "repaired-geometry", "%s; area %.3f -> %.3f", chk.reason, chk.area_m2,
                   chk.repaired_area_m2);
    } else {
        free(wkb);
        free(rep);
        return rec_reject(rc, "invalid-geometry", "%s", chk.reason);
    }
    if (f->geographic) {
        /* Degrees squared mean nothing: measure in the commune's zone. */
        const pdb_commune_ref *ref = pdbi__commune_known(r->pass->commune);
        area = ref != NULL && isfinite(it->parcel.area_surveyed_m2)
                   ? area_in_zone(r->ic.db, rc->cur, f->epsg, ref->epsg)
                   : NAN;
    }
    if (pdbi__area_mismatch(it->parcel.area_surveyed_m2, area, o->area_tol_rel, o->area_tol_m2))
        it->parcel.flags |= PDB_PARCEL_AREA_MISMATCH;
    it->parcel.area_computed_m2 = area;
    it->store = 1;
    /* The reprojection is done here, on the reading thread, so that the
     * writing thread (the bottleneck) only writes. When it fails, the
     * writer's own pdb_writer_add fails the same way and records why. */
    if (pdb_geom_prepare(r->ic.db, f->epsg, r->pass->commune, it->parcel.source_wkb,
                         it->parcel.source_wkb_len, &it->geom) != PDB_OK)
        it->geom = NULL;
    return REC_DONE;
}

/* Turns a feature into an item, one step after the other until one ends
 * it. Returns 0 when the record belongs to another commune's pass (the
 * item is left empty), 1 otherwise. */
static int process(reader *r, pdbi_layer *L, OGRFeatureH feat, const pdbi_cad_rec *cad,
                   int64_t index, pdbi_item *it)
{
    static rec_step (*const steps[])(record *) = {rec_label_values, rec_commune,    rec_geometry,
                                                  rec_numbers,      rec_attributes, rec_validity};
    record rc = {
        .r = r, .L = L, .feat = feat, .label = cad ? cad->label : -1, .cad = cad, .it = it};
    rec_step s = REC_NEXT;

    rc.v = (feat_view){L, feat, NULL, NULL};
    rc.g = OGR_F_GetGeometryRef(feat);
    memset(it, 0, sizeof *it);
    it->index = index;
    it->parcel.area_surveyed_m2 = NAN;
    for (size_t i = 0; i < PDBI_COUNTOF(steps) && s == REC_NEXT; i++)
        s = steps[i](&rc);

    if (rc.work != NULL)
        OGR_G_DestroyGeometry(rc.work);
    if (rc.v.vals != rc.stack_vals) {
        free(rc.v.vals);
        free(rc.v.vlens);
    }
    if (s == REC_OTHER || s == REC_NOMEM) {
        item_clear(it);
        if (s == REC_NOMEM)
            pdbi__fail(&r->ic, PDB_ENOMEM, "out of memory");
        return 0;
    }
    if (!it->store && it->reason != NULL) {
        /* A reject keeps nothing of the parcel but the row in rejects. */
        free(it->parcel.source_wkb);
        it->parcel.source_wkb = NULL;
    }
    return 1;
}

/* ------------------------------------------------------------------------ */
/* The writing side                                                          */
/* ------------------------------------------------------------------------ */

static int fatal_status(pdb_status st)
{
    return st == PDB_ESTORE || st == PDB_EBUSY || st == PDB_EIO || st == PDB_ENOMEM ||
           st == PDB_ECORRUPT || st == PDB_EREADONLY || st == PDB_ENOTSTORE;
}

static const char *reason_of(pdb_status st, const char *msg)
{
    switch (st) {
    case PDB_ECRS:
    case PDB_EPLAUSIBLE:
        return "transform-failed";
    case PDB_ELIMIT:
        return strstr(msg, "bytes") != NULL ? "text-too-long" : "too-many-vertices";
    case PDB_EGEOM:
        return "invalid-geometry";
    default:
        return "invalid-record";
    }
}

/* The mapped values of a record the writer refused (its raw attributes
 * were not kept, as the reader cannot know in advance). */
static char *mapped_json(const pdb_parcel *p)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "commune", json_string(p->commune));
    json_object_set_new(o, "former_commune",
                        p->former_commune ? json_string(p->former_commune) : json_null());
    json_object_set_new(o, "sheet", p->sheet ? json_string(p->sheet) : json_null());
    json_object_set_new(o, "parcel", p->parcel ? json_string(p->parcel) : json_null());
    json_object_set_new(o, "landuse", p->landuse ? json_string(p->landuse) : json_null());
    json_object_set_new(
        o, "area", isfinite(p->area_surveyed_m2) ? json_real(p->area_surveyed_m2) : json_null());
    json_object_set_new(o, "owner", p->owner ? json_string(p->owner) : json_null());
    json_object_set_new(o, "address", p->address ? json_string(p->address) : json_null());
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static pdb_status write_reject(writer_state *ws, const pdbi_item *it, const char *reason,
                               const char *detail, const char *attrs, const unsigned char *wkb,
                               size_t wkb_len, int stored)
{
    pdbi_pass *pass = ws->pass;
    if (pass->writer == NULL)
        return PDB_OK;
    pdb_reject rj = {
        .file = pass->file->path,
        .feature_index = it->index,
        .reason = reason,
        .detail = detail,
        .attributes_json = attrs,
        .geometry_wkb = wkb,
        .geometry_wkb_len = wkb_len,
        .stored = stored,
    };
    if (pdb_writer_reject(pass->ic->db, pass->writer, &rj) != PDB_OK)
        return pdbi__fail_db(pass->ic, "storing a reject");
    return PDB_OK;
}

static pdb_status consume(writer_state *ws, pdbi_item *it)
{
    pdbi_pass *pass = ws->pass;
    pdb_import_counts *c = &pass->counts;

    c->read++;
    if (!it->store) {
        c->rejected++;
        return write_reject(ws, it, it->reason, it->detail, it->attrs, it->raw, it->raw_len, 0);
    }
    pdb_status st = PDB_OK;
    if (pass->writer != NULL)
        st = it->geom != NULL
                 ? pdb_writer_add_prepared(pass->ic->db, pass->writer, &it->parcel, it->geom, NULL)
                 : pdb_writer_add(pass->ic->db, pass->writer, &it->parcel, NULL);
    if (st == PDB_OK) {
        ws->transform_fails = -1; /* one success: the transformation exists */
        c->stored++;
        if (it->parcel.flags & PDB_PARCEL_REPAIRED)
            c->repaired++;
        if (it->parcel.flags != 0)
            c->flagged++;
        if (it->reason != NULL)
            return write_reject(ws, it, it->reason, it->detail, it->attrs, it->raw, it->raw_len, 1);
        return PDB_OK;
    }
    const char *msg = pdb_errmsg(pass->ic->db);
    if (fatal_status(st))
        return pdbi__fail_db(pass->ic, "storing a parcel");
    if (st == PDB_ECRS && ws->transform_fails >= 0 && ++ws->transform_fails >= TRANSFORM_GIVE_UP)
        return pdbi__fail(pass->ic, PDB_ECRS, "the first %d records all fail to transform: %s",
                          TRANSFORM_GIVE_UP, msg);
    c->rejected++;
    char *detail = strdup(msg);
    char *attrs = it->attrs ? NULL : mapped_json(&it->parcel);
    pdb_status rst = write_reject(ws, it, reason_of(st, msg), detail, it->attrs ? it->attrs : attrs,
                                  it->raw ? it->raw : it->parcel.source_wkb,
                                  it->raw ? it->raw_len : it->parcel.source_wkb_len, 0);
    free(detail);
    free(attrs);
    return rst;
}

static int consume_chunk(writer_state *ws, pdbi_chunk *c)
{
    for (size_t i = 0; i < c->n; i++) {
        if (!ws->failed && consume(ws, &c->items[i]) != PDB_OK)
            ws->failed = 1;
        item_clear(&c->items[i]);
    }
    c->n = 0;
    pdbi__progress_update(ws->progress, ws->pass->counts.read);
    return ws->failed ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* The queue                                                                 */
/* ------------------------------------------------------------------------ */

static int queue_put(pdbi_queue *q, pdbi_chunk *c)
{
    pthread_mutex_lock(&q->mu);
    while (q->len >= QUEUE_CHUNKS && !q->cancel)
        pthread_cond_wait(&q->can_put, &q->mu);
    if (q->cancel) {
        pthread_mutex_unlock(&q->mu);
        chunk_free(c);
        return -1;
    }
    c->next = NULL;
    if (q->tail)
        q->tail->next = c;
    else
        q->head = c;
    q->tail = c;
    q->len++;
    pthread_cond_signal(&q->can_take);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

static pdbi_chunk *queue_take(pdbi_queue *q)
{
    pdbi_chunk *c;
    pthread_mutex_lock(&q->mu);
    while (q->head == NULL && !q->done)
        pthread_cond_wait(&q->can_take, &q->mu);
    c = q->head;
    if (c != NULL) {
        q->head = c->next;
        if (q->head == NULL)
            q->tail = NULL;
        q->len--;
        pthread_cond_signal(&q->can_put);
    }
    pthread_mutex_unlock(&q->mu);
    return c;
}

static void queue_cancel(pdbi_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->cancel = 1;
    pthread_cond_broadcast(&q->can_put);
    pthread_mutex_unlock(&q->mu);
}

static void queue_finish(pdbi_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->done = 1;
    pthread_cond_broadcast(&q->can_take);
    pthread_mutex_unlock(&q->mu);
}

/* ------------------------------------------------------------------------ */
/* The reading side                                                          */
/* ------------------------------------------------------------------------ */

/* Hands the current chunk on; -1 when the writer wants no more. */
static int flush(reader *r)
{
    pdbi_chunk *c = r->cur;
    r->cur = NULL;
    if (c == NULL || c->n == 0) {
        chunk_free(c);
        return 0;
    }
    if (r->q != NULL)
        return queue_put(r->q, c);
    int rc = consume_chunk(r->ws, c);
    chunk_free(c);
    return rc;
}

/* Processes one record into the current chunk; -1 to stop. */
static int take(reader *r, pdbi_layer *L, OGRFeatureH feat, const pdbi_cad_rec *cad, int64_t index)
{
    if (r->cur == NULL && (r->cur = calloc(1, sizeof *r->cur)) == NULL) {
        pdbi__fail(&r->ic, PDB_ENOMEM, "out of memory");
        return -1;
    }
    if (process(r, L, feat, cad, index, &r->cur->items[r->cur->n]))
        r->cur->n++;
    if (reader_failed(r))
        return -1;
    if (r->cur->n == CHUNK_ITEMS && flush(r) != 0)
        return -1;
    return 0;
}

static void read_all(reader *r)
{
    pdbi_file *f = r->f;
    int64_t index = 0, base = 0;

    for (size_t li = 0; li < f->nlayers && !reader_failed(r); li++, base = index) {
        pdbi_layer *L = &f->layers[li];
        OGRFeatureH feat;
        if (L->cad) {
            /* A CAD layer's records were made by the pre-scan. */
            for (size_t k = 0; k < L->nrecs; k++) {
                pdbi_cad_rec *rec = &L->recs[k];
                if (take(r, L, rec->feat, rec, base + rec->index) != 0)
                    return;
                if (base + rec->index >= index)
                    index = base + rec->index + 1;
            }
            continue;
        }
        OGR_L_ResetReading(L->layer);
        CPLErrorReset();
        while ((feat = OGR_L_GetNextFeature(L->layer)) != NULL) {
            int rc = take(r, L, feat, NULL, index++);
            OGR_F_Destroy(feat);
            if (rc != 0)
                return;
        }
        if (CPLGetLastErrorType() == CE_Failure) {
            pdbi__fail(&r->ic, PDB_EIO, "read error after %lld features%s%s: %s", (long long)index,
                       f->nlayers > 1 ? " in layer " : "", f->nlayers > 1 ? L->name : "",
                       CPLGetLastErrorMsg());
            return;
        }
    }
    flush(r);
}

/* The reading thread. GDAL's error handler stack is per thread: without a
 * handler of its own, the quiet one the import pushed (importer.c) did not
 * hold here, and GDAL's warnings reached stderr raw, one a record ("Warning
 * 1: Non closed ring detected..." 39 times for a GeoJSON of unclosed rings,
 * found by tests/othergen, even with --quiet). Our messages read
 * CPLGetLastErrorMsg(), which the quiet handler still sets. */
static void *reader_main(void *arg)
{
    reader *r = arg;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    read_all(r);
    CPLPopErrorHandler();
    chunk_free(r->cur);
    r->cur = NULL;
    queue_finish(r->q);
    return NULL;
}

pdb_status pdbi__pass_run(pdbi_pass *pass)
{
    pdbi_file *f = pass->file;
    const pdbi_options *o = f->opts;
    pdbi_meter progress;
    writer_state ws = {pass, &progress, 0, 0};
    reader r = {0};
    pdb_limits lim;

    pdb_ctx_get_limits(pass->rdb, &lim);
    r.pass = pass;
    r.f = f;
    pdbi__ctx_init(&r.ic, pass->rdb);
    r.max_vertices = lim.max_vertices_per_parcel;
    r.max_text = lim.max_text_bytes;
    memset(&pass->counts, 0, sizeof pass->counts);
    pdbi__progress_start(&progress, o->log, o->progress, f->path, pass->expected);

    if (o->threads == 1) {
        r.ws = &ws;
        read_all(&r);
        chunk_free(r.cur);
        r.cur = NULL;
    } else {
        pdbi_queue q;
        pthread_t tid;
        memset(&q, 0, sizeof q);
        pthread_mutex_init(&q.mu, NULL);
        pthread_cond_init(&q.can_put, NULL);
        pthread_cond_init(&q.can_take, NULL);
        r.q = &q;
        if (pthread_create(&tid, NULL, reader_main, &r) != 0)
            return pdbi__fail(pass->ic, PDB_ENOMEM, "cannot start the reading thread");
        pdbi_chunk *c;
        while ((c = queue_take(&q)) != NULL) {
            int rc = consume_chunk(&ws, c);
            chunk_free(c);
            if (rc != 0) {
                queue_cancel(&q);
                break;
            }
        }
        pthread_join(tid, NULL);
        while ((c = q.head) != NULL) {
            q.head = c->next;
            chunk_free(c);
        }
        pthread_cond_destroy(&q.can_take);
        pthread_cond_destroy(&q.can_put);
        pthread_mutex_destroy(&q.mu);
    }
    pdbi__progress_end(&progress, pass->counts.read);
    if (ws.failed)
        return pdbi_errcode(pass->ic);
    if (reader_failed(&r))
        return pdbi__fail(pass->ic, pdbi_errcode(&r.ic), "%s", pdbi_errmsg(&r.ic));
    return PDB_OK;
}
