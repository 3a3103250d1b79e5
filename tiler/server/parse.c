/*
 * parse.c: request URI -> route and parameters, and the strict checks on
 * parameter values. Pure functions over caller-owned memory; see parse.h
 * for the rules.
 */
#include "parse.h"

#include "hex.h"
#include "tiler.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_ZOOM 20
#define MAX_NUMBER_TEXT 32 /* characters of a number parameter */

static const char *const route_names[PDB_SRV_ROUTE_COUNT] = {
    [PDB_SRV_ROUTE_OTHER] = "other",
    [PDB_SRV_ROUTE_STATIC] = "static",
    [PDB_SRV_ROUTE_TILE] = "tile",
    [PDB_SRV_ROUTE_TILEJSON] = "tilejson",
    [PDB_SRV_ROUTE_PARCELS_AT] = "parcels_at",
    [PDB_SRV_ROUTE_PARCEL_NUMBER] = "parcel_number",
    [PDB_SRV_ROUTE_PARCELS_BBOX] = "parcels_bbox",
    [PDB_SRV_ROUTE_SEARCH] = "parcels_search",
    [PDB_SRV_ROUTE_COMMUNES] = "communes",
    [PDB_SRV_ROUTE_HEALTH] = "health",
    [PDB_SRV_ROUTE_METRICS] = "metrics",
    [PDB_SRV_ROUTE_OGCAPI] = "ogcapi",
    [PDB_SRV_ROUTE_WMS] = "wms",
    [PDB_SRV_ROUTE_MVT_TILEJSON] = "tilejson_mvt",
    [PDB_SRV_ROUTE_STYLE] = "style",
    [PDB_SRV_ROUTE_GLYPHS] = "glyphs",
    [PDB_SRV_ROUTE_LINEAGE] = "parcel_lineage",
    [PDB_SRV_ROUTE_CHANGE] = "parcel_change",
    [PDB_SRV_ROUTE_QA] = "qa",
    [PDB_SRV_ROUTE_EXPORT] = "export",
};

/* The parameter names the API reads; the access log writes only these. */
static const char *const known_params[] = {"lon", "lat",  "e",    "n",     "srs",    "x",
                                           "y",   "zone", "bbox", "limit", "offset", "at"};

int pdb_srv_uri_is_change(const char *uri)
{
    static const char *const ends[] = {"/split", "/update", "/reshape"};
    size_t n = strcspn(uri, "?#");
    if (n == strlen("/parcels/merge") && strncmp(uri, "/parcels/merge", n) == 0)
        return 1;
    if (strncmp(uri, "/parcels/", 9) != 0)
        return 0;
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        size_t e = strlen(ends[i]);
        if (n > 9 + e && strncmp(uri + n - e, ends[i], e) == 0)
            return 1;
    }
    return 0;
}

const char *pdb_srv_route_name(pdb_srv_route route)
{
    if ((unsigned)route >= PDB_SRV_ROUTE_COUNT)
        return "other";
    return route_names[route];
}

/* Decodes src[0..n) into dst (which has room for n + 1 bytes): %XX
 * escapes, and '+' as a space when plus_is_space. Returns the decoded
 * length, or -1 for a bad escape or an escaped NUL. */
static long decode(const char *src, size_t n, char *dst, int plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return -1;
            hi = pdbt__hexval((unsigned char)src[i + 1]);
            lo = pdbt__hexval((unsigned char)src[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            dst[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            dst[o++] = ' ';
        } else {
            dst[o++] = c;
        }
    }
    dst[o] = '\0';
    return (long)o;
}

/* Whether a raw byte may appear in a request target at all (RFC 3986
 * unreserved, sub-delims, ':', '@', '/', '?', and '%' for escapes). */
static int uri_char_ok(unsigned char c)
{
    if (isalnum(c))
        return 1;
    return c != '\0' && strchr("-._~!$&'()*+,;=:@/?%", c) != NULL;
}

/* Parses digits only (no sign, no blanks) into a uint64 no larger than max. */
static int digits_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int status(int code, char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The tile route: /tiles/{z}/{x}/{y}.png, {y}@2x.png or {y}.mvt, read by
 * the renderer's z/x/y parser. Returns 0 or an HTTP status. */
static int parse_tile(pdb_srv_request *req, int max_zoom, char *err, size_t errcap)
{
    const char *ys = req->segment[3];
    size_t n = strlen(ys);
    char text[64];
    pdbt_tile t;
    pdbt_ctx *tctx = NULL;
    pdb_status st;

    int mvt = n >= 5 && strcmp(ys + n - 4, ".mvt") == 0;
    if (n < 5 || (strcmp(ys + n - 4, ".png") != 0 && !mvt))
        return status(400, err, errcap, "a tile is /tiles/{z}/{x}/{y}.png, {y}@2x.png or {y}.mvt");
    /* A vector tile has no pixel size: no @2x; parsed without its ".mvt",
     * which must follow the row's digits (not "0.png.mvt"). */
    if (mvt && n >= 7 && strncmp(ys + n - 7, "@2x", 3) == 0)
        return status(400, err, errcap, "a vector tile has no @2x form: /tiles/{z}/{x}/{y}.mvt");
    if (mvt && strspn(ys, "0123456789") != n - 4)
        return status(400, err, errcap, "a vector tile is /tiles/{z}/{x}/{y}.mvt");
    if ((size_t)snprintf(text, sizeof text, "%s/%s/%.*s", req->segment[1], req->segment[2],
                         (int)(mvt ? n - 4 : n), ys) >= sizeof text)
        return status(400, err, errcap, "'%.40s' is not a tile", req->segment[1]);
    /* Without a context first: a well-formed tile costs no allocation; a
     * refusal is parsed again on one, for its words. */
    if (pdbt_tile_parse(NULL, text, max_zoom, &t) != PDB_OK) {
        if (pdbt_ctx_new(NULL, &tctx) != PDB_OK)
            return status(503, err, errcap, "out of memory");
        if ((st = pdbt_tile_parse(tctx, text, max_zoom, &t)) != PDB_OK)
            pdb_srv_fail(err, errcap, "%s", pdbt_errmsg(tctx));
        pdbt_ctx_free(tctx);
        return 400;
    }
    req->z = t.z;
    req->x = t.x;
    req->y = t.y;
    req->scale = t.scale;
    req->mvt = mvt;
    return 0;
}

/* A sheet or parcel number: printable, no blanks at the ends, bounded. */
static int id_text_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > PDB_SRV_MAX_ID_TEXT || isspace((unsigned char)s[0]) ||
        isspace((unsigned char)s[n - 1]))
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* Writes the reason and returns the status, for one-line failure paths. */
__attribute__((format(printf, 4, 5))) static int status(int code, char *err, size_t errcap,
                                                        const char *fmt, ...)
{
    va_list ap;
    if (errcap > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errcap, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Matches the decoded segments to a route; returns 0 or an HTTP status. */
static int route(pdb_srv_request *req, size_t *used, int max_zoom, char *err, size_t errcap)
{
    const char *const *seg = req->segment;
    size_t n = req->nsegments;

    if (n == 0) {
        req->route = PDB_SRV_ROUTE_STATIC;
        req->file = "index.html";
        return 0;
    }
    if (n == 1) {
        static const struct {
            const char *name;
            pdb_srv_route route;
        } fixed[] = {
            {"tiles.json", PDB_SRV_ROUTE_TILEJSON},
            {"parcels", PDB_SRV_ROUTE_PARCELS_BBOX},
            {"communes", PDB_SRV_ROUTE_COMMUNES},
            {"health", PDB_SRV_ROUTE_HEALTH},
            {"metrics", PDB_SRV_ROUTE_METRICS},
            {"wms", PDB_SRV_ROUTE_WMS},
            {"tiles.mvt.json", PDB_SRV_ROUTE_MVT_TILEJSON},
            {"export", PDB_SRV_ROUTE_EXPORT},
        };
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
            if (strcmp(seg[0], fixed[i].name) == 0) {
                req->route = fixed[i].route;
                return 0;
            }
    }
    if (n == 2 && strcmp(seg[0], "styles") == 0 && strcmp(seg[1], "landuse.json") == 0) {
        req->route = PDB_SRV_ROUTE_STYLE;
        return 0;
    }
    if (strcmp(seg[0], "fonts") == 0) {
        /* /fonts/{fontstack}/{start}-{end}.pbf, as MapLibre asks: 256 code
         * points from a multiple of 256. */
        unsigned a, b;
        int end = 0;
        if (n != 3 || sscanf(seg[2], "%5u-%5u.pbf%n", &a, &b, &end) != 2 || seg[2][end] != '\0' ||
            a % 256 != 0 || b != a + 255 || b > 65535 || !isdigit((unsigned char)seg[2][0]))
            return status(404, err, errcap,
                          "no such path (glyphs are /fonts/{fontstack}/{start}-{end}.pbf, "
                          "256 code points from a multiple of 256)");
        size_t fl = strlen(seg[1]);
        if (fl == 0 || fl > 200)
            return status(400, err, errcap, "a font stack of 1 to 200 bytes");
        for (const char *c = seg[1]; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == '/' || *c == '\\' || *c == 0x7f)
                return status(400, err, errcap, "a font stack with a control character or a slash");
        req->fontstack = seg[1];
        req->glyph_start = a;
        req->route = PDB_SRV_ROUTE_GLYPHS;
        return 0;
    }
    if (strcmp(seg[0], "ogcapi") == 0) {
        req->route = PDB_SRV_ROUTE_OGCAPI;
        return 0;
    }
    if (strcmp(seg[0], "tiles") == 0) {
        if (n != 4)
            return status(404, err, errcap, "no such path (tiles are /tiles/{z}/{x}/{y}.png)");
        int st = parse_tile(req, max_zoom, err, errcap);
        if (st != 0)
            return st;
        req->route = PDB_SRV_ROUTE_TILE;
        return 0;
    }
    if (strcmp(seg[0], "qa") == 0) {
        if (n != 2)
            return status(404, err, errcap, "no such path (quality reports are /qa/{commune})");
        if (strlen(seg[1]) != 5 || strspn(seg[1], "0123456789") != 5)
            return status(400, err, errcap, "commune code '%.16s' is not five digits", seg[1]);
        req->commune = seg[1];
        req->route = PDB_SRV_ROUTE_QA;
        return 0;
    }
    if (strcmp(seg[0], "parcels") == 0) {
        if (n == 2 && strcmp(seg[1], "at") == 0) {
            req->route = PDB_SRV_ROUTE_PARCELS_AT;
            return 0;
        }
        if (n == 2 && strcmp(seg[1], "search") == 0) {
            req->route = PDB_SRV_ROUTE_SEARCH;
            return 0;
        }
        if (n == 2 && strcmp(seg[1], "merge") == 0) {
            req->route = PDB_SRV_ROUTE_CHANGE;
            req->action = "merge";
            return 0;
        }
        const char *action = NULL;
        if (n == 5) {
            static const char *const actions[] = {"lineage", "split", "update", "reshape"};
            for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
                if (strcmp(seg[4], actions[i]) == 0)
                    action = actions[i];
            if (action == NULL)
                return status(404, err, errcap,
                              "no such path (below a parcel: lineage, split, update, reshape)");
            n = 4;
        }
        if (n != 4)
            return status(404, err, errcap,
                          "no such path (parcels are /parcels/at, /parcels/search, "
                          "/parcels/{commune}/{sheet}/{parcel} or /parcels?bbox=)");
        const char *c = seg[1];
        if (strlen(c) != 5 || strspn(c, "0123456789") != 5)
            return status(400, err, errcap, "commune code '%.16s' is not five digits", c);
        if (!id_text_ok(seg[2]) || !id_text_ok(seg[3]))
            return status(400, err, errcap, "sheet and parcel numbers are 1 to %d printable bytes",
                          PDB_SRV_MAX_ID_TEXT);
        req->commune = c;
        req->sheet = seg[2];
        req->parcel = seg[3];
        req->route = PDB_SRV_ROUTE_PARCEL_NUMBER;
        if (action != NULL) {
            req->route =
                strcmp(action, "lineage") == 0 ? PDB_SRV_ROUTE_LINEAGE : PDB_SRV_ROUTE_CHANGE;
            req->action = action;
        }
        return 0;
    }
    /* Anything else may be a file of the demo page: its name is the
     * decoded segments joined by '/' (none is "." or ".." or holds a '/'),
     * looked up by the handler in a table, never on the file system. */
    char *name = req->buf + *used;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (strchr(seg[i], '/') != NULL || seg[i][0] == '\0')
            return status(404, err, errcap, "no such path");
        size_t len = strlen(seg[i]);
        if (i > 0)
            name[o++] = '/';
        memcpy(name + o, seg[i], len);
        o += len;
    }
    name[o] = '\0';
    *used += o + 1;
    req->route = PDB_SRV_ROUTE_STATIC;
    req->file = name;
    return 0;
}

/* Finds a parameter by name among the first n. */
static const pdb_srv_param *find_param(const pdb_srv_request *req, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(req->param[i].name, name) == 0)
            return &req->param[i];
    return NULL;
}

int pdb_srv_request_parse(const char *uri, const pdb_srv_parse_limits *limits, pdb_srv_request *req,
                          char *err, size_t errcap)
{
    int max_zoom = limits && limits->max_zoom > 0 ? limits->max_zoom : DEFAULT_MAX_ZOOM;
    size_t len, plen, used = 0;
    const char *q;

    if (max_zoom > PDBT_TILE_MAX_ZOOM)
        max_zoom = PDBT_TILE_MAX_ZOOM;
    memset(req, 0, offsetof(pdb_srv_request, buf));
    req->buf[0] = '\0';
    req->nsegments = 0;
    req->nparams = 0;
    req->commune = req->sheet = req->parcel = req->file = NULL;
    req->scale = 1;
    if (errcap > 0)
        err[0] = '\0';
    len = strnlen(uri, PDB_SRV_MAX_URI + 1);
    if (len > PDB_SRV_MAX_URI) {
        pdb_srv_fail(err, errcap, "the request URI is longer than %d bytes", PDB_SRV_MAX_URI);
        return 414;
    }
    if (uri[0] != '/') {
        pdb_srv_fail(err, errcap, "the request target must be a path starting with '/'");
        return 400;
    }
    for (size_t i = 0; i < len; i++)
        if (!uri_char_ok((unsigned char)uri[i])) {
            pdb_srv_fail(err, errcap, "the request URI holds a byte that must be percent-encoded");
            return 400;
        }
    q = strchr(uri, '?');
    plen = q ? (size_t)(q - uri) : len;

    /* Path segments, each decoded on its own. */
    for (size_t i = 1; i <= plen;) {
        size_t n = 0;
        while (i + n < plen && uri[i + n] != '/')
            n++;
        if (n == 0 && i + n >= plen && req->nsegments == 0)
            break; /* the path "/" */
        if (req->nsegments == PDB_SRV_MAX_SEGMENTS) {
            pdb_srv_fail(err, errcap, "no such path (too many segments)");
            return 404;
        }
        char *dst = req->buf + used;
        long got = decode(uri + i, n, dst, 0);
        if (got < 0) {
            pdb_srv_fail(err, errcap, "a bad percent-escape in the path");
            return 400;
        }
        if (strcmp(dst, ".") == 0 || strcmp(dst, "..") == 0) {
            pdb_srv_fail(err, errcap, "'.' and '..' are not allowed in paths");
            return 400;
        }
        req->segment[req->nsegments++] = dst;
        used += (size_t)got + 1;
        i += n + 1;
    }

    /* Query parameters. */
    for (const char *p = q ? q + 1 : NULL; p != NULL && *p != '\0';) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        size_t nn = eq ? (size_t)(eq - p) : n;
        if (n == 0) {
            p++;
            continue;
        }
        if (nn == 0) {
            pdb_srv_fail(err, errcap, "a query parameter without a name");
            return 400;
        }
        if (req->nparams == PDB_SRV_MAX_PARAMS) {
            pdb_srv_fail(err, errcap, "more than %d query parameters", PDB_SRV_MAX_PARAMS);
            return 400;
        }
        char *name = req->buf + used;
        long got = decode(p, nn, name, 1);
        if (got <= 0) {
            pdb_srv_fail(err, errcap, "a bad percent-escape in a query parameter name");
            return 400;
        }
        used += (size_t)got + 1;
        char *value = req->buf + used;
        got = eq ? decode(eq + 1, n - nn - 1, value, 1) : (value[0] = '\0', 0);
        if (got < 0) {
            pdb_srv_fail(err, errcap, "a bad percent-escape in the value of '%.32s'", name);
            return 400;
        }
        used += (size_t)got + 1;
        if (find_param(req, req->nparams, name) != NULL) {
            pdb_srv_fail(err, errcap, "the query parameter '%.32s' is given more than once", name);
            return 400;
        }
        req->param[req->nparams].name = name;
        req->param[req->nparams].value = value;
        req->nparams++;
        p += n;
    }
    int st = route(req, &used, max_zoom, err, errcap);
    if (st != 0)
        req->route = PDB_SRV_ROUTE_OTHER;
    return st;
}

const char *pdb_srv_param_get(const pdb_srv_request *req, const char *name)
{
    const pdb_srv_param *p = find_param(req, req->nparams, name);
    return p ? p->value : NULL;
}

int pdb_srv_parse_double(const char *name, const char *text, double min, double max, double *out,
                         char *err, size_t errcap)
{
    char *end;
    size_t n = strnlen(text, MAX_NUMBER_TEXT + 1);
    if (n == 0)
        return pdb_srv_fail(err, errcap, "'%s' is empty", name);
    if (n > MAX_NUMBER_TEXT)
        return pdb_srv_fail(err, errcap, "'%s' is longer than %d characters", name,
                            MAX_NUMBER_TEXT);
    /* Decimal only: strtod would also take "0x1p3", "inf", "nan" and blanks. */
    if (strspn(text, "0123456789+-.eE") != n)
        return pdb_srv_fail(err, errcap, "'%s' is not a decimal number: '%s'", name, text);
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v))
        return pdb_srv_fail(err, errcap, "'%s' is not a decimal number: '%s'", name, text);
    if (v < min || v > max)
        return pdb_srv_fail(err, errcap, "'%s' = %s is outside [%g, %g]", name, text, min, max);
    *out = v;
    return 0;
}

int pdb_srv_parse_uint(const char *name, const char *text, uint64_t max, uint64_t *out, char *err,
                       size_t errcap)
{
    uint64_t v;
    if (strnlen(text, MAX_NUMBER_TEXT + 1) > MAX_NUMBER_TEXT ||
        digits_u64(text, UINT64_MAX, &v) != 0)
        return pdb_srv_fail(err, errcap, "'%s' is not a whole number: '%.32s'", name, text);
    if (v > max)
        return pdb_srv_fail(err, errcap, "'%s' = %llu is over the maximum %llu", name,
                            (unsigned long long)v, (unsigned long long)max);
    *out = v;
    return 0;
}

int pdb_srv_parse_bbox(const char *text, double max_span_deg, double out[4], char *err,
                       size_t errcap)
{
    static const char *const names[4] = {"bbox min lon", "bbox min lat", "bbox max lon",
                                         "bbox max lat"};
    static const double lim[4] = {180, 90, 180, 90};
    const char *p = text;
    double v[4];

    for (int i = 0; i < 4; i++) {
        char part[MAX_NUMBER_TEXT + 1];
        size_t n = strcspn(p, ",");
        if ((i < 3 && p[n] != ',') || (i == 3 && p[n] != '\0'))
            return pdb_srv_fail(err, errcap, "bbox is minlon,minlat,maxlon,maxlat (four numbers)");
        if (n > MAX_NUMBER_TEXT)
            return pdb_srv_fail(err, errcap, "'%s' is longer than %d characters", names[i],
                                MAX_NUMBER_TEXT);
        memcpy(part, p, n);
        part[n] = '\0';
        if (pdb_srv_parse_double(names[i], part, -lim[i], lim[i], &v[i], err, errcap) != 0)
            return -1;
        p += n + 1;
    }
    if (v[0] >= v[2] || v[1] >= v[3])
        return pdb_srv_fail(err, errcap,
                            "bbox must have min < max on both axes (minlon,minlat,"
                            "maxlon,maxlat)");
    if (max_span_deg > 0 && (v[2] - v[0] > max_span_deg || v[3] - v[1] > max_span_deg))
        return pdb_srv_fail(err, errcap, "bbox is wider than %g degrees", max_span_deg);
    memcpy(out, v, sizeof v);
    return 0;
}

/* Compares one entity tag (with quotes, maybe "W/") to ours, weakly. */
static int tag_eq(const char *t, size_t n, const char *etag)
{
    const char *e = etag;
    if (n >= 2 && t[0] == 'W' && t[1] == '/') {
        t += 2;
        n -= 2;
    }
    if (strncmp(e, "W/", 2) == 0)
        e += 2;
    return strlen(e) == n && memcmp(t, e, n) == 0;
}

int pdb_srv_etag_matches(const char *inm, const char *etag)
{
    if (inm == NULL || etag == NULL)
        return 0;
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        if (*p == '*')
            return 1;
        const char *start = p;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        if (*p != '"')
            return 0; /* malformed: no match, a full answer follows */
        const char *close = strchr(p + 1, '"');
        if (close == NULL)
            return 0;
        p = close + 1;
        if (tag_eq(start, (size_t)(p - start), etag))
            return 1;
    }
    return 0;
}

size_t pdb_srv_bearer_token(const char *auth, const char **token)
{
    size_t n;
    *token = NULL;
    if (auth == NULL || strncasecmp(auth, "Bearer", 6) != 0 || (auth[6] != ' ' && auth[6] != '\t'))
        return 0;
    auth += 6;
    while (*auth == ' ' || *auth == '\t')
        auth++;
    /* token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
    n = 0;
    while (isalnum((unsigned char)auth[n]) || (auth[n] != '\0' && strchr("-._~+/", auth[n])))
        n++;
    while (auth[n] == '=')
        n++;
    size_t end = n;
    while (auth[end] == ' ' || auth[end] == '\t')
        end++;
    if (n == 0 || auth[end] != '\0' || n > 512)
        return 0;
    *token = auth;
    return n;
}

/* Appends c to out (escaped when not printable); returns 0 when full. */
static int put_char(char *out, size_t cap, size_t *o, unsigned char c)
{
    if (c >= 0x21 && c < 0x7f && c != '\\' && c != '"') {
        if (*o + 1 >= cap)
            return 0;
        out[(*o)++] = (char)c;
        return 1;
    }
    if (*o + 4 >= cap)
        return 0;
    snprintf(out + *o, cap - *o, "\\x%02X", c);
    *o += 4;
    return 1;
}

void pdb_srv_log_path(const char *uri, char *out, size_t cap)
{
    size_t o = 0, n;
    const char *q;
    int full = 0;

    if (cap == 0)
        return;
    if (cap < 8) {
        out[0] = '\0';
        return;
    }
    cap -= 3; /* room for "..." */
    n = strcspn(uri, "?");
    q = uri[n] == '?' ? uri + n + 1 : NULL;
    for (size_t i = 0; i < n && !full; i++)
        full = !put_char(out, cap, &o, (unsigned char)uri[i]);
    for (int first = 1; q != NULL && *q != '\0' && !full;) {
        size_t pn = strcspn(q, "&");
        size_t nn = strcspn(q, "=&");
        const char *name = "_";
        for (size_t k = 0; k < sizeof known_params / sizeof known_params[0]; k++)
            if (strlen(known_params[k]) == nn && memcmp(known_params[k], q, nn) == 0)
                name = known_params[k];
        if (pn > 0) {
            full = !put_char(out, cap, &o, first ? '?' : '&');
            for (const char *c = name; *c && !full; c++)
                full = !put_char(out, cap, &o, (unsigned char)*c);
            first = 0;
        }
        q += pn;
        if (*q == '&')
            q++;
    }
    if (full) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}
