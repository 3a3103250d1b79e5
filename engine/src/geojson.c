/*
 * geojson.c: parcels as RFC 7946 GeoJSON: WGS 84 lon/lat, exterior rings
 * counter-clockwise, coordinates rounded to 1e-9 degree (about 0.1 mm,
 * well under the centimetre the survey keeps).
 *
 * The text is written straight into one growing buffer. It used to be a
 * jansson tree dumped with json_dumps (JSON_COMPACT, precision 15), and
 * every byte is still what that wrote: keys in the same order, jansson's
 * escapes, its number form, and its refusal of text that is not UTF-8.
 * Building and freeing a node per coordinate, and printf for each of
 * them, was most of the cost of an HTTP lookup (issue 19).
 */
#include "geojson.h"
#include "wkb.h"

#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COORD_SCALE 1e9   /* 9 decimals of a degree */
#define REAL_PRECISION 15 /* significant digits of a real, as jansson was told */

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

/* ---- numbers ---- */

static const double pow10_table[10] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

/* Writes (-)n / 10^k with the fraction's trailing zeros dropped, ".0"
 * for none: "%.15g" as jansson fixed it up, for an n of at most 15
 * digits whose value the caller knows "%.15g" prints without exponent. */
static size_t write_decimal(char *buf, int negative, uint64_t n, int k)
{
    uint64_t scale = (uint64_t)pow10_table[k];
    uint64_t ip = n / scale, frac = n % scale;
    char tmp[24];
    size_t len = 0, m = 0;
    if (negative)
        buf[len++] = '-'; /* also "-0.0", as printf writes -0 */
    do {
        tmp[m++] = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip != 0);
    while (m > 0)
        buf[len++] = tmp[--m];
    buf[len++] = '.';
    if (frac == 0) {
        buf[len++] = '0';
    } else {
        while (frac % 10 == 0) {
            frac /= 10;
            k--;
        }
        for (int i = k - 1; i >= 0; i--) {
            buf[len + (size_t)i] = (char)('0' + frac % 10);
            frac /= 10;
        }
        len += (size_t)k;
    }
    buf[len] = '\0';
    return len;
}

/* "%.15g" through printf, fixed up as jansson did. */
static size_t real_printf(double v, char buf[PDB__JSON_REAL_MAX])
{
    int n = snprintf(buf, PDB__JSON_REAL_MAX, "%.*g", REAL_PRECISION, v);
    size_t len = n > 0 ? (size_t)n : 0;
    /* printf follows LC_NUMERIC; JSON wants a point whatever the locale. */
    char point = localeconv()->decimal_point[0];
    char *dot = point != '.' ? strchr(buf, point) : NULL;
    if (dot != NULL)
        *dot = '.';
    /* A real keeps a '.' or an 'e', or a reader takes it for an integer. */
    if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL) {
        memcpy(buf + len, ".0", 3);
        len += 2;
    }
    /* "1e-09" -> "1e-9", "1e+20" -> "1e20". */
    char *e = strchr(buf, 'e');
    if (e != NULL) {
        char *start = e + 1, *end = e + 2;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - buf) + 1);
            len -= (size_t)(end - start);
        }
    }
    return len;
}

/*
 * The integer paths rest on one fact. When a double r is the one nearest
 * to a decimal D = n / 10^k of at most 15 significant digits, "%.15g"
 * prints D: r is within half an ulp of D (a relative 1.1e-16), far inside
 * half a unit of D's 15th digit (relative 5e-15 at least), so rounding r
 * to 15 digits lands on D. From 1e-4 up to 1e15 %g writes no exponent.
 * Outside that range, and when no such short D exists, printf does it.
 */

size_t pdb__json_real(double v, char buf[PDB__JSON_REAL_MAX])
{
    double a = fabs(v);
    if (a == 0)
        return write_decimal(buf, signbit(v) != 0, 0, 0);
    if (a >= 1e-4 && a < 1e15) {
        /* Areas and the like have a few decimals: find them. */
        for (int k = 0; k < 10; k++) {
            double n = round(a * pow10_table[k]);
            if (n >= 1e15)
                break;
            if (n / pow10_table[k] == a)
                return write_decimal(buf, signbit(v) != 0, (uint64_t)n, k);
        }
    }
    return real_printf(v, buf);
}

size_t pdb__json_coord(double v, char buf[PDB__JSON_REAL_MAX])
{
    double scaled = round(v * COORD_SCALE);
    double r = scaled / COORD_SCALE;
    if (!isfinite(r))
        return real_printf(v, buf); /* past about 1e299: no decimals left to round */
    /* r is the double nearest to |scaled| / 1e9 by construction. */
    double a = fabs(scaled);
    if (!(a < 1e15) || (a < 1e5 && a != 0))
        return real_printf(r, buf);
    return write_decimal(buf, signbit(r) != 0, (uint64_t)a, 9);
}

/* ---- the output buffer ---- */

typedef struct out_buf {
    char *p;    /* the text so far (malloc'd), or NULL after a failed growth */
    size_t len; /* bytes written */
    size_t cap; /* bytes allocated */
} out_buf;

/* Room for n more bytes and a NUL; 0 when out of memory (the buffer is
 * then freed and every later write is a no-op). */
static int reserve(out_buf *b, size_t n)
{
    if (b->p == NULL)
        return 0;
    if (b->len + n + 1 <= b->cap)
        return 1;
    size_t cap = b->cap * 2;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        free(b->p);
        b->p = NULL;
        return 0;
    }
    b->p = p;
    b->cap = cap;
    return 1;
}

static void put(out_buf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* A string literal (only: sizeof gives its length). */
#define PUTS(b, lit) put((b), "" lit, sizeof(lit) - 1)

/* "%lld" without printf, which was a tenth of a lookup's GeoJSON
 * instructions (three integers a feature; issue 19). */
static void put_int(out_buf *b, long long v)
{
    char t[24];
    size_t at = sizeof t;
    /* Through unsigned: -LLONG_MIN does not fit a long long. */
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        t[--at] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        t[--at] = '-';
    put(b, t + at, sizeof t - at);
}

static void put_real_or_null(out_buf *b, double v)
{
    char t[PDB__JSON_REAL_MAX];
    if (!isfinite(v)) {
        PUTS(b, "null");
        return;
    }
    put(b, t, pdb__json_real(v, t));
}

/* Length of the UTF-8 sequence at s (n bytes available), or 0 when it is
 * not one jansson accepts: no overlong forms, no surrogates, nothing past
 * U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (n < len)
        return 0;
    cp = c & (0x7Fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* s (n bytes) as a JSON string, escaped as jansson escapes: \\, \", the
 * short forms \b \f \n \r \t, and \u00XX for the other control bytes;
 * everything else as is. -1 when s is not UTF-8 (nothing is written). */
static int put_string(out_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(u + i, n - i);
        if (k == 0)
            return -1;
        i += k;
    }
    /* Worst case: every byte a 6-byte escape. */
    if (!reserve(b, 6 * n + 2))
        return 0;
    char *o = b->p + b->len;
    *o++ = '"';
    for (i = 0; i < n; i++) {
        unsigned char c = u[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"':
        case '\\':
            *o++ = (char)c;
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\t':
            *o++ = 't';
            break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = "0123456789ABCDEF"[c >> 4];
            *o++ = "0123456789ABCDEF"[c & 15];
            break;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
    return 0;
}

static int put_text_or_null(out_buf *b, const char *s)
{
    if (s == NULL) {
        PUTS(b, "null");
        return 0;
    }
    return put_string(b, s, strlen(s));
}

/* ---- the documents ---- */

/* A MultiPolygon geometry object from ISO WKB, oriented for RFC 7946. */
static pdb_status put_geometry(pdb_ctx *ctx, out_buf *b, const unsigned char *wkb, size_t len)
{
    pdb__mpoly mp;
    pdb_status st;
    char t[PDB__JSON_REAL_MAX];

    if (wkb == NULL) {
        PUTS(b, "null");
        return PDB_OK;
    }
    if ((st = pdb__wkb_parse(ctx, wkb, len, &mp)) != PDB_OK)
        return st;
    pdb__mpoly_orient_rfc7946(&mp);
    /* About 30 bytes a lon/lat point: one growth, not many. */
    reserve(b, 64 + 32 * mp.npoints + 8 * mp.nrings);
    PUTS(b, "{\"type\":\"MultiPolygon\",\"coordinates\":[");
    for (size_t k = 0; k < mp.nparts; k++) {
        if (k > 0)
            PUTS(b, ",");
        PUTS(b, "[");
        for (size_t r = mp.part_ring[k]; r < mp.part_ring[k + 1]; r++) {
            if (r > mp.part_ring[k])
                PUTS(b, ",");
            PUTS(b, "[");
            for (size_t i = mp.ring_point[r]; i < mp.ring_point[r + 1]; i++) {
                if (i > mp.ring_point[r])
                    PUTS(b, ",");
                PUTS(b, "[");
                put(b, t, pdb__json_coord(mp.xy[2 * i], t));
                PUTS(b, ",");
                put(b, t, pdb__json_coord(mp.xy[2 * i + 1], t));
                PUTS(b, "]");
            }
            PUTS(b, "]");
        }
        PUTS(b, "]");
    }
    PUTS(b, "]}");
    pdb__mpoly_free(&mp);
    return PDB_OK;
}

static pdb_status not_utf8(pdb_ctx *ctx, const char *what)
{
    return pdb__fail(ctx, PDB_EINVAL, "could not build GeoJSON (%s that is not UTF-8)", what);
}

/* A member whose value is text or null. */
typedef struct text_member {
    const char *key;   /* what goes before the value: ",\"name\":" */
    const char *value; /* the text, or NULL for null */
    const char *what;  /* for the error when it is not UTF-8 */
} text_member;

static pdb_status put_texts(pdb_ctx *ctx, out_buf *b, const text_member *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        put(b, m[i].key, strlen(m[i].key));
        if (put_text_or_null(b, m[i].value) != 0)
            return not_utf8(ctx, m[i].what);
    }
    return PDB_OK;
}

/* Appends one Feature object. */
static pdb_status put_feature(pdb_ctx *ctx, out_buf *b, const pdb_parcel *p, int include_personal)
{
    const pdb_commune_ref *ref = NULL;
    const pdb_landuse_ref *use;
    pdb_status st;
    char main_use[16] = "";

    PUTS(b, "{\"type\":\"Feature\",\"id\":");
    put_int(b, (long long)p->id);
    PUTS(b, ",\"geometry\":");
    if ((st = put_geometry(ctx, b, p->wgs84_wkb, p->wgs84_wkb_len)) != PDB_OK)
        return st;
    if (p->commune != NULL && pdb_commune_ref_find(ctx, p->commune, &ref) != PDB_OK)
        ref = NULL;

    const text_member head[] = {
        {",\"properties\":{\"commune\":", p->commune, "a commune code"},
        {",\"commune_name\":", ref ? ref->name : NULL, "a commune name"},
        {",\"former_commune\":", p->former_commune, "a former commune code"},
        {",\"sheet\":", p->sheet, "a sheet number"},
        {",\"parcel\":", p->parcel, "a parcel number"},
        {",\"landuse\":", p->landuse, "a land-use code"},
    };
    if ((st = put_texts(ctx, b, head, PDB_COUNTOF(head))) != PDB_OK)
        return st;
    /* Every code of a compound one ("ONT+CLN"); the first that fits is
     * the main one, which the map colours by. */
    PUTS(b, ",\"landuse_codes\":[");
    const char *lu = p->landuse ? p->landuse : "";
    for (int first = 1; *lu != '\0'; first = 0) {
        size_t n = strcspn(lu, "+");
        if (!first)
            PUTS(b, ",");
        put_string(b, lu, n); /* a piece of UTF-8 cut at '+' is UTF-8 */
        if (main_use[0] == '\0' && n < sizeof main_use) {
            memcpy(main_use, lu, n);
            main_use[n] = '\0';
        }
        lu += n + (lu[n] == '+');
    }
    use = pdb_landuse_ref_find(main_use);
    PUTS(b, "],\"landuse_main\":");
    put_string(b, main_use, strlen(main_use));
    PUTS(b, ",\"landuse_name\":");
    put_text_or_null(b, use ? use->name_vi : NULL);
    PUTS(b, ",\"area_surveyed_m2\":");
    put_real_or_null(b, p->area_surveyed_m2);
    PUTS(b, ",\"area_computed_m2\":");
    put_real_or_null(b, round(p->area_computed_m2 * 100) / 100);
    const text_member dates[] = {
        {",\"address\":", p->address, "an address"},
        {",\"valid_from\":", p->valid_from, "a date"},
        {",\"valid_to\":", p->valid_to, "a date"},
    };
    if ((st = put_texts(ctx, b, dates, PDB_COUNTOF(dates))) != PDB_OK)
        return st;
    PUTS(b, ",\"flags\":[");
    for (size_t i = 0, n = 0; i < PDB_COUNTOF(flag_names); i++)
        if (p->flags & flag_names[i].flag) {
            if (n++ > 0)
                PUTS(b, ",");
            put_string(b, flag_names[i].name, strlen(flag_names[i].name));
        }
    PUTS(b, "],\"source_srid\":");
    if (p->source_srid) {
        PUTS(b, "\"EPSG:");
        put_int(b, p->source_srid);
        PUTS(b, "\"");
    } else {
        PUTS(b, "null");
    }
    PUTS(b, ",\"batch\":");
    put_int(b, (long long)p->batch_id);
    /* The national attribute set, only where the survey carried it, so
     * that the answers for surveys without it stay as they were. */
    const text_member national[] = {
        {",\"prev_sheet\":", p->prev_sheet, "a previous sheet"},
        {",\"prev_parcel\":", p->prev_parcel, "a previous parcel number"},
        {",\"record_start\":", p->record_start, "a record start date"},
        {",\"record_end\":", p->record_end, "a record end date"},
    };
    for (size_t i = 0; i < PDB_COUNTOF(national); i++)
        if (national[i].value != NULL && (st = put_texts(ctx, b, &national[i], 1)) != PDB_OK)
            return st;
    /* An owner that is not UTF-8 is an error, not a silent omission: an
     * authorised caller asked for it. */
    if (include_personal && p->owner != NULL) {
        PUTS(b, ",\"owner\":");
        if (put_string(b, p->owner, strlen(p->owner)) != 0)
            return pdb__fail(ctx, PDB_EINVAL,
                             "could not build GeoJSON (an owner that is not UTF-8)");
    }
    /* The certificate is personal data as the owner is (docs/lookup.md). */
    if (include_personal && p->certificate != NULL) {
        const text_member cert = {",\"certificate\":", p->certificate, "a certificate"};
        if ((st = put_texts(ctx, b, &cert, 1)) != PDB_OK)
            return st;
    }
    PUTS(b, "}}");
    return PDB_OK;
}

static int buf_init(out_buf *b, size_t cap)
{
    b->len = 0;
    b->cap = cap;
    b->p = malloc(cap);
    return b->p != NULL;
}

/* Hands the text over, or fails on st or on a failed growth. */
static pdb_status finish(pdb_ctx *ctx, out_buf *b, pdb_status st, char **json_out)
{
    if (st == PDB_OK && b->p == NULL)
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory writing GeoJSON");
    if (st != PDB_OK) {
        free(b->p);
        return st;
    }
    b->p[b->len] = '\0';
    *json_out = b->p;
    return pdb__ok(ctx);
}

pdb_status pdb_parcel_to_geojson(pdb_ctx *ctx, const pdb_parcel *p, int include_personal,
                                 char **json_out)
{
    out_buf b;

    *json_out = NULL;
    if (!buf_init(&b, 2048))
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory writing GeoJSON");
    return finish(ctx, &b, put_feature(ctx, &b, p, include_personal), json_out);
}

pdb_status pdb_parcels_to_geojson(pdb_ctx *ctx, const pdb_parcel_list *list, int include_personal,
                                  char **json_out)
{
    pdb_status st = PDB_OK;
    out_buf b;

    *json_out = NULL;
    if (!buf_init(&b, 1024 + 1024 * list->count))
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory writing GeoJSON");
    PUTS(&b, "{\"type\":\"FeatureCollection\",\"features\":[");
    for (size_t i = 0; st == PDB_OK && i < list->count; i++) {
        if (i > 0)
            PUTS(&b, ",");
        st = put_feature(ctx, &b, &list->items[i], include_personal);
    }
    PUTS(&b, "]");
    if (list->truncated)
        PUTS(&b, ",\"truncated\":true");
    PUTS(&b, "}");
    return finish(ctx, &b, st, json_out);
}
