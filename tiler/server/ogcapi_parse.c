/*
 * ogcapi_parse.c: an OGC API - Features request's path and query, checked
 * (ogcapi_parse.h says the rules). Pure: no store, no allocation.
 */
#include "ogcapi_parse.h"

#include "parceldb.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OGC_CRS_PREFIX "http://www.opengis.net/def/crs/"

/* The CRSs offered: CRS84 first (the default), then what pdb_crs_list
 * registers and Web Mercator, filled in once on first use. */
static int crs_codes[64];
static size_t crs_count;
static pthread_once_t crs_once = PTHREAD_ONCE_INIT;

static void crs_fill(void)
{
    size_t n = 0;
    const pdb_crs_info *list = pdb_crs_list(&n);
    crs_codes[crs_count++] = PDB_OGC_CRS84;
    for (size_t i = 0; i < n && crs_count < sizeof crs_codes / sizeof crs_codes[0] - 1; i++)
        crs_codes[crs_count++] = list[i].epsg;
    crs_codes[crs_count++] = PDB_OGC_EPSG_WEBMERC;
}

const int *pdb_ogc_crs_list(size_t *count)
{
    pthread_once(&crs_once, crs_fill);
    *count = crs_count;
    return crs_codes;
}

int pdb_ogc_crs_offered(int code)
{
    size_t n;
    const int *list = pdb_ogc_crs_list(&n);
    for (size_t i = 0; i < n; i++)
        if (list[i] == code)
            return 1;
    return 0;
}

int pdb_ogc_crs_latlon(int crs)
{
    return crs == PDB_EPSG_WGS84 || crs == PDB_EPSG_VN2000_GEOG;
}

void pdb_ogc_crs_uri(int crs, char *out, size_t cap)
{
    if (crs == PDB_OGC_CRS84)
        snprintf(out, cap, OGC_CRS_PREFIX "OGC/1.3/CRS84");
    else
        snprintf(out, cap, OGC_CRS_PREFIX "EPSG/0/%d", crs);
}

/* A whole number of 1..9 digits, or -1. */
static int small_number(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 9 || strspn(t, "0123456789") != n)
        return -1;
    return atoi(t);
}

int pdb_ogc_crs_parse(const char *text, int *crs, char *err, size_t errcap)
{
    const char *t = text;
    int code = -1;

    if (strncmp(t, "https://", 8) == 0 && strncmp(t + 8, OGC_CRS_PREFIX + 7, 28) == 0)
        t += 8 + 28; /* the same URI over https */
    else if (strncmp(t, OGC_CRS_PREFIX, strlen(OGC_CRS_PREFIX)) == 0)
        t += strlen(OGC_CRS_PREFIX);
    else
        t = NULL;
    if (t != NULL) {
        if (strcmp(t, "OGC/1.3/CRS84") == 0)
            code = PDB_OGC_CRS84;
        else if (strncmp(t, "EPSG/0/", 7) == 0)
            code = small_number(t + 7);
    } else if (strcmp(text, "CRS84") == 0 || strcmp(text, "OGC:CRS84") == 0) {
        code = PDB_OGC_CRS84;
    } else if (strncmp(text, "EPSG:", 5) == 0) {
        code = small_number(text + 5);
    }
    if (code < 0 || !pdb_ogc_crs_offered(code)) {
        pdb_srv_fail(
            err, errcap,
            "CRS '%.80s' is not offered: see the collection's crs list (e.g. " OGC_CRS_PREFIX
            "EPSG/0/9208)",
            text);
        return 0;
    }
    *crs = code;
    return 1;
}

/* n digits at t as a number, or -1. */
static int digits_at(const char *t, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9')
            return -1;
        v = v * 10 + (t[i] - '0');
    }
    return v;
}

/* One instant of a datetime parameter, the n bytes at text, into
 * "YYYY-MM-DDTHH:MM:SS.mmmZ": a date alone is its first instant when
 * day_start, else its last (the state at the end of that day). 0, or -1
 * with the reason in err. */
static int instant_parse(const char *text, size_t n, int day_start, char out[32], char *err,
                         size_t errcap)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h = 23, mi = 59, s = 59, ms = 999;

    if (day_start)
        h = mi = s = ms = 0;
    if (n < 10 || text[4] != '-' || text[7] != '-' || (y = digits_at(text, 4)) < 0 ||
        (mo = digits_at(text + 5, 2)) < 1 || mo > 12 || (d = digits_at(text + 8, 2)) < 1 ||
        d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
        goto bad;
    if (n > 10) {
        const char *t = text + 10, *end = text + n;
        if ((*t != 'T' && *t != 't') || n < 20 || t[3] != ':' || t[6] != ':' ||
            (h = digits_at(t + 1, 2)) < 0 || h > 23 || (mi = digits_at(t + 4, 2)) < 0 || mi > 59 ||
            (s = digits_at(t + 7, 2)) < 0 || s > 60)
            goto bad;
        t += 9;
        ms = 0;
        if (t < end && *t == '.') {
            /* Milliseconds are what the store keeps; finer digits are cut. */
            size_t k = 0;
            while (t + 1 + k < end && t[1 + k] >= '0' && t[1 + k] <= '9')
                k++;
            if (k == 0 || k > 9)
                goto bad;
            for (size_t i = 0; i < 3; i++)
                ms = ms * 10 + (i < k ? t[1 + i] - '0' : 0);
            t += 1 + k;
        }
        if (!(t + 1 == end && (t[0] == 'Z' || t[0] == 'z')))
            goto bad;
        if (s == 60)
            s = 59, ms = 999; /* a leap second: the last instant of its minute */
    }
    /* Every field is in range here: the text is 24 bytes; the compiler
     * cannot see that, so it gets room for any int. */
    char buf[96];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h, mi, s, ms);
    memcpy(out, buf, 25);
    return 0;
bad:
    return pdb_srv_fail(err, errcap,
                        "datetime '%.*s' is not an instant (YYYY-MM-DD or "
                        "YYYY-MM-DDTHH:MM:SS[.fff]Z, UTC) nor an interval of two (A/B, ../B, A/..)",
                        n > 40 ? 40 : (int)n, text);
}

int pdb_ogc_datetime_parse(const char *text, char from[32], char until[32], char *err,
                           size_t errcap)
{
    const char *slash = strchr(text, '/');
    size_t n = strlen(text);

    until[0] = '\0';
    if (slash == NULL)
        return instant_parse(text, n, 0, from, err, errcap);
    /* An interval (OGC API - Features 1.0, /req/core/fc-time-definition):
     * each end an instant, or open: ".." or nothing. Open ends are the
     * first and last instants the store's text form can write, so that
     * the interval's test stays two comparisons. */
    const char *a = text, *b = slash + 1;
    size_t na = (size_t)(slash - text), nb = n - na - 1;
    int open_a = na == 0 || (na == 2 && memcmp(a, "..", 2) == 0);
    int open_b = nb == 0 || (nb == 2 && memcmp(b, "..", 2) == 0);
    if (open_a && open_b)
        return pdb_srv_fail(err, errcap,
                            "datetime '%.40s' is open at both ends: give a start or an end", text);
    if (open_a)
        memcpy(from, PDB_OGC_TIME_FIRST, sizeof PDB_OGC_TIME_FIRST);
    else if (instant_parse(a, na, 1, from, err, errcap) != 0)
        return -1;
    if (open_b)
        memcpy(until, PDB_OGC_TIME_LAST, sizeof PDB_OGC_TIME_LAST);
    else if (instant_parse(b, nb, 0, until, err, errcap) != 0)
        return -1;
    if (strcmp(from, until) > 0)
        return pdb_srv_fail(err, errcap, "datetime '%.60s' ends before it starts", text);
    return 0;
}

/* bbox: four numbers in the bbox CRS's axis order, stored x first. */
static int parse_box(const char *text, int crs, double out[4], char *err, size_t errcap)
{
    char buf[160];
    char *parts[5];
    size_t np = 0;
    double v[4];

    if (strlen(text) >= sizeof buf)
        return pdb_srv_fail(err, errcap, "bbox is too long");
    memcpy(buf, text, strlen(text) + 1);
    for (char *p = buf; np < 5;) {
        parts[np++] = p;
        char *c = strchr(p, ',');
        if (c == NULL)
            break;
        *c = '\0';
        p = c + 1;
    }
    if (np == 6 || np == 5)
        return pdb_srv_fail(err, errcap, "bbox: only two-dimensional boxes (four numbers)");
    if (np != 4)
        return pdb_srv_fail(err, errcap, "bbox is four numbers: minx,miny,maxx,maxy");
    for (int i = 0; i < 4; i++)
        if (pdb_srv_parse_double("bbox", parts[i], -1e8, 1e8, &v[i], err, errcap) != 0)
            return -1;
    if (pdb_ogc_crs_latlon(crs)) {
        double t = v[0];
        v[0] = v[1], v[1] = t;
        t = v[2];
        v[2] = v[3], v[3] = t;
    }
    if (!(v[0] <= v[2] && v[1] <= v[3]))
        return pdb_srv_fail(err, errcap, "bbox: a minimum is above its maximum");
    memcpy(out, v, sizeof v);
    return 0;
}

/* A number of 1..max digits, or a five-digit code when five. */
static int made_of(const char *t, size_t max, const char *allowed)
{
    size_t n = strlen(t);
    return n > 0 && n <= max && strspn(t, allowed) == n;
}

static int path(const pdb_srv_request *req, pdb_ogc_request *out, char *err, size_t errcap)
{
    const char *const *seg = req->segment + 1;
    size_t n = req->nsegments - 1;

    if (n == 0)
        out->resource = PDB_OGC_LANDING;
    else if (n == 1 && strcmp(seg[0], "conformance") == 0)
        out->resource = PDB_OGC_CONFORMANCE;
    else if (n == 1 && strcmp(seg[0], "api") == 0)
        out->resource = PDB_OGC_API;
    else if (n == 1 && strcmp(seg[0], "collections") == 0)
        out->resource = PDB_OGC_COLLECTIONS;
    else if (n >= 2 && n <= 4 && strcmp(seg[0], "collections") == 0) {
        if (strcmp(seg[1], "parcels") == 0)
            out->collection = PDB_OGC_PARCELS;
        else if (strcmp(seg[1], "communes") == 0)
            out->collection = PDB_OGC_COMMUNES;
        else
            return (pdb_srv_fail(err, errcap,
                                 "no collection '%.40s' (there are parcels and communes)", seg[1]),
                    404);
        if (n == 2)
            out->resource = PDB_OGC_COLLECTION;
        else if (strcmp(seg[2], "items") != 0)
            return (pdb_srv_fail(err, errcap, "no such path"), 404);
        else if (n == 3)
            out->resource = PDB_OGC_ITEMS;
        else {
            out->resource = PDB_OGC_ITEM;
            out->feature_id = seg[3];
        }
    } else {
        return (pdb_srv_fail(err, errcap, "no such path under /ogcapi"), 404);
    }
    return 0;
}

/* Which parameters each resource takes (beyond f). */
static int known(pdb_ogc_resource r, const char *name)
{
    static const char *const items[] = {"bbox",  "bbox-crs", "crs",      "limit",
                                        "after", "before",   "datetime", "commune",
                                        "sheet", "parcel",   "landuse"};
    if (strcmp(name, "f") == 0)
        return 1;
    if (r == PDB_OGC_ITEM)
        return strcmp(name, "crs") == 0;
    if (r != PDB_OGC_ITEMS)
        return 0;
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
        if (strcmp(name, items[i]) == 0)
            return 1;
    return 0;
}

int pdb_ogc_parse(const pdb_srv_request *req, pdb_ogc_request *out, char *err, size_t errcap)
{
    static const char digits[] = "0123456789";
    const char *v;
    int st;

    memset(out, 0, sizeof *out);
    out->html = -1;
    out->limit = PDB_OGC_DEFAULT_LIMIT;
    out->bbox_crs = out->crs = PDB_OGC_CRS84;
    if (req->nsegments == 0 || strcmp(req->segment[0], "ogcapi") != 0)
        return (pdb_srv_fail(err, errcap, "no such path"), 404);
    if ((st = path(req, out, err, errcap)) != 0)
        return st;
    for (size_t i = 0; i < req->nparams; i++)
        if (!known(out->resource, req->param[i].name))
            return (pdb_srv_fail(err, errcap, "unknown parameter '%.40s' here", req->param[i].name),
                    400);
    if ((v = pdb_srv_param_get(req, "f")) != NULL) {
        if (strcmp(v, "json") == 0 || strcmp(v, "geojson") == 0)
            out->html = 0;
        else if (strcmp(v, "html") == 0)
            out->html = 1;
        else
            return (pdb_srv_fail(err, errcap, "f is json or html, not '%.20s'", v), 400);
    }
    if ((v = pdb_srv_param_get(req, "crs")) != NULL &&
        !pdb_ogc_crs_parse(v, &out->crs, err, errcap))
        return 400;
    if (out->resource != PDB_OGC_ITEMS)
        return 0;
    if ((v = pdb_srv_param_get(req, "bbox-crs")) != NULL) {
        if (pdb_srv_param_get(req, "bbox") == NULL)
            return (pdb_srv_fail(err, errcap, "bbox-crs without a bbox"), 400);
        if (!pdb_ogc_crs_parse(v, &out->bbox_crs, err, errcap))
            return 400;
    }
    if ((v = pdb_srv_param_get(req, "bbox")) != NULL) {
        if (parse_box(v, out->bbox_crs, out->bbox, err, errcap) != 0)
            return 400;
        out->has_bbox = 1;
    }
    if ((v = pdb_srv_param_get(req, "limit")) != NULL) {
        uint64_t l;
        if (pdb_srv_parse_uint("limit", v, UINT64_MAX, &l, err, errcap) != 0)
            return 400;
        if (l == 0)
            return (pdb_srv_fail(err, errcap, "limit must be at least 1"), 400);
        out->limit_clamped = l > PDB_OGC_MAX_LIMIT;
        out->limit = l > PDB_OGC_MAX_LIMIT ? PDB_OGC_MAX_LIMIT : (size_t)l;
    }
    if ((v = pdb_srv_param_get(req, "after")) != NULL) {
        uint64_t a;
        if (out->collection == PDB_OGC_COMMUNES) {
            if (!(strlen(v) == 5 && made_of(v, 5, digits)))
                return (pdb_srv_fail(err, errcap, "after is a five-digit commune code here"), 400);
            out->after_s = v;
        } else {
            if (pdb_srv_parse_uint("after", v, INT64_MAX, &a, err, errcap) != 0)
                return 400;
            out->after = (int64_t)a;
        }
    }
    if ((v = pdb_srv_param_get(req, "before")) != NULL) {
        uint64_t b;
        if (out->collection == PDB_OGC_COMMUNES || pdb_srv_param_get(req, "after") != NULL)
            return (pdb_srv_fail(err, errcap, "before is for parcels, and not with after"), 400);
        if (pdb_srv_parse_uint("before", v, INT64_MAX, &b, err, errcap) != 0)
            return 400;
        if (b == 0)
            return (pdb_srv_fail(err, errcap, "before must be at least 1"), 400);
        out->before = (int64_t)b;
    }
    if ((v = pdb_srv_param_get(req, "datetime")) != NULL &&
        pdb_ogc_datetime_parse(v, out->at, out->until, err, errcap) != 0)
        return 400;
    if ((v = pdb_srv_param_get(req, "commune")) != NULL) {
        if (!(strlen(v) == 5 && made_of(v, 5, digits)))
            return (pdb_srv_fail(err, errcap, "commune '%.16s' is not five digits", v), 400);
        out->commune = v;
    }
    if ((v = pdb_srv_param_get(req, "sheet")) != NULL) {
        if (!made_of(v, PDB_SRV_MAX_ID_TEXT, digits))
            return (pdb_srv_fail(err, errcap, "sheet '%.40s' is not a number", v), 400);
        out->sheet = v;
    }
    if ((v = pdb_srv_param_get(req, "parcel")) != NULL) {
        if (!made_of(v, PDB_SRV_MAX_ID_TEXT, digits))
            return (pdb_srv_fail(err, errcap, "parcel '%.40s' is not a number", v), 400);
        out->parcel = v;
    }
    if ((v = pdb_srv_param_get(req, "landuse")) != NULL) {
        if (!made_of(v, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
            return (pdb_srv_fail(err, errcap,
                                 "landuse '%.20s' is one code of upper-case letters (ONT, CLN)", v),
                    400);
        out->landuse = v;
    }
    if (out->collection == PDB_OGC_COMMUNES &&
        (out->sheet || out->parcel || out->landuse || out->at[0]))
        return (pdb_srv_fail(err, errcap,
                             "communes take bbox, commune, limit and after; sheet, parcel, "
                             "landuse and datetime are for parcels"),
                400);
    return 0;
}
