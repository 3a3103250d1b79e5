/*
 * wms_parse.c: a /wms query into a pdb_srv_wms_req. Pure: no store, no
 * allocation, no PROJ; the CRS list is the engine's static registry.
 */
#include "wms.h"

#include "parceldb.h"
#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const layer_names[PDB_SRV_WMS_LAYER_COUNT] = {
    [PDB_SRV_WMS_PARCELS] = "parcels",
    [PDB_SRV_WMS_OUTLINE] = "parcels_outline",
    [PDB_SRV_WMS_COMMUNES] = "communes",
};

const char *pdb_srv_wms_layer_name(pdb_srv_wms_layer l)
{
    return (unsigned)l < PDB_SRV_WMS_LAYER_COUNT ? layer_names[l] : "";
}

int pdb_srv_wms_lat_first(int epsg)
{
    return epsg == PDB_EPSG_WGS84 || epsg == PDB_EPSG_VN2000_GEOG;
}

/* Records the exception code and reason; returns -1. */
static int bad(char code[PDB_SRV_WMS_CODE_MAX], const char *c, char *err, size_t errcap,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int bad(char code[PDB_SRV_WMS_CODE_MAX], const char *c, char *err, size_t errcap,
               const char *fmt, ...)
{
    va_list ap;
    snprintf(code, PDB_SRV_WMS_CODE_MAX, "%s", c);
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
    return -1;
}

/* The value of a parameter whatever the case of its name, NULL when
 * absent; *dup set when two names differ only in case. */
static const char *get(const pdb_srv_request *req, const char *name, int *dup)
{
    const char *v = NULL;
    for (size_t i = 0; i < req->nparams; i++)
        if (strcasecmp(req->param[i].name, name) == 0) {
            if (v != NULL)
                *dup = 1;
            v = req->param[i].value;
        }
    return v;
}

/* A layer's name, or -1. */
static int layer_of(const char *s, size_t n)
{
    for (int l = 0; l < PDB_SRV_WMS_LAYER_COUNT; l++)
        if (strlen(layer_names[l]) == n && strncmp(s, layer_names[l], n) == 0)
            return l;
    return -1;
}

/* A comma-separated list of layer names into out; 0, or -1 with the code. */
static int layer_list(const char *text, const char *what, pdb_srv_wms_layer *out, size_t *n,
                      char code[PDB_SRV_WMS_CODE_MAX], char *err, size_t errcap)
{
    *n = 0;
    for (const char *p = text;;) {
        size_t len = strcspn(p, ",");
        int l = layer_of(p, len);
        if (l < 0)
            return bad(code, "LayerNotDefined", err, errcap,
                       "%s: no layer '%.*s' (the layers are parcels, parcels_outline, communes)",
                       what, (int)(len > 40 ? 40 : len), p);
        if (*n == PDB_SRV_WMS_MAX_LAYERS)
            return bad(code, "InvalidParameterValue", err, errcap, "%s: more than %d layers", what,
                       PDB_SRV_WMS_MAX_LAYERS);
        out[(*n)++] = (pdb_srv_wms_layer)l;
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

/* A CRS name: "EPSG:N" of the engine's registry or EPSG:3857, or
 * "CRS:84"; 0 when unknown. */
static int crs_of(const char *s)
{
    if (strcasecmp(s, "CRS:84") == 0)
        return PDB_EPSG_WGS84;
    if (strncasecmp(s, "EPSG:", 5) != 0)
        return 0;
    const char *d = s + 5;
    if (*d == '\0' || strlen(d) > 6 || strspn(d, "0123456789") != strlen(d))
        return 0;
    int epsg = atoi(d);
    if (epsg == 3857)
        return epsg;
    size_t n;
    const pdb_crs_info *list = pdb_crs_list(&n);
    for (size_t i = 0; i < n; i++)
        if (list[i].epsg == epsg)
            return epsg;
    return 0;
}

/* A strictly parsed finite number; 0, or -1. */
static int number(const char *s, size_t n, double *out)
{
    char buf[40], *end;
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (strspn(buf, "0123456789+-.eE") != n)
        return -1; /* no hex, no "inf", no "nan", no blanks */
    *out = strtod(buf, &end);
    return *end == '\0' && isfinite(*out) ? 0 : -1;
}

/* A pixel count or index in [min, max]. */
static int int_param(const char *name, const char *v, long min, long max, int *out,
                     char code[PDB_SRV_WMS_CODE_MAX], const char *c, char *err, size_t errcap)
{
    double d;
    if (number(v, strlen(v), &d) != 0 || d != floor(d) || d < min || d > max)
        return bad(code, c, err, errcap, "%s must be a whole number from %ld to %ld, not '%.32s'",
                   name, min, max, v);
    *out = (int)d;
    return 0;
}

static int format_of(const char *v, pdb_srv_wms_format *out)
{
    /* "image/png; mode=8bit" and the like: the parameters are ours to
     * choose, as the tiles' encoder does. */
    size_t n = strcspn(v, ";");
    if ((n == 9 && strncasecmp(v, "image/png", 9) == 0) || strcasecmp(v, "png") == 0)
        *out = PDB_SRV_WMS_PNG;
    else if ((n == 10 && strncasecmp(v, "image/jpeg", 10) == 0) || strcasecmp(v, "jpeg") == 0)
        *out = PDB_SRV_WMS_JPEG;
    else
        return -1;
    return 0;
}

/* Every parameter the WMS reads, for the duplicate check. */
static const char *const known[] = {
    "SERVICE",     "VERSION",
    "WMTVER",      "REQUEST",
    "LAYERS",      "STYLES",
    "CRS",         "SRS",
    "BBOX",        "WIDTH",
    "HEIGHT",      "FORMAT",
    "TRANSPARENT", "BGCOLOR",
    "EXCEPTIONS",  "QUERY_LAYERS",
    "INFO_FORMAT", "FEATURE_COUNT",
    "I",           "J",
    "X",           "Y",
    "TIME",        "ELEVATION",
};

int pdb_srv_wms_parse(const pdb_srv_request *req, int max_px, pdb_srv_wms_req *out,
                      char code[PDB_SRV_WMS_CODE_MAX], char *err, size_t errcap)
{
    int dup = 0;
    memset(out, 0, sizeof *out);
    out->v130 = 1;
    out->bgcolor = 0xFFFFFF;
    out->feature_count = 1;
    code[0] = '\0';
    if (err != NULL && errcap > 0)
        err[0] = '\0';

    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
        get(req, known[k], &dup);
        if (dup)
            return bad(code, "InvalidParameterValue", err, errcap,
                       "the parameter %s is given more than once", known[k]);
    }
    const char *service = get(req, "SERVICE", &dup), *version = get(req, "VERSION", &dup);
    const char *request = get(req, "REQUEST", &dup);
    if (version == NULL)
        version = get(req, "WMTVER", &dup); /* WMS 1.0's name, which 1.1.1 clients still send */
    if (version != NULL && version[0] == '\0')
        version = NULL;

    /* The operation first: GetCapabilities negotiates any version. */
    if (request == NULL || request[0] == '\0')
        return bad(code, "MissingParameterValue", err, errcap,
                   "REQUEST is required (GetCapabilities, GetMap or GetFeatureInfo)");
    if (strcasecmp(request, "GetCapabilities") == 0 || strcasecmp(request, "capabilities") == 0)
        out->op = PDB_SRV_WMS_GETCAPABILITIES;
    else if (strcasecmp(request, "GetMap") == 0 || strcasecmp(request, "map") == 0)
        out->op = PDB_SRV_WMS_GETMAP;
    else if (strcasecmp(request, "GetFeatureInfo") == 0 || strcasecmp(request, "feature_info") == 0)
        out->op = PDB_SRV_WMS_GETFEATUREINFO;
    else
        return bad(code, "OperationNotSupported", err, errcap,
                   "REQUEST '%.32s' is not GetCapabilities, GetMap or GetFeatureInfo", request);
    if (service != NULL && service[0] != '\0' && strcasecmp(service, "WMS") != 0)
        return bad(code, "InvalidParameterValue", err, errcap, "SERVICE '%.32s' is not WMS",
                   service);

    if (out->op == PDB_SRV_WMS_GETCAPABILITIES) {
        /* Version negotiation (1.3.0 section 6.2.4): below 1.3.0 the
         * 1.1.1 document, anything else the 1.3.0 one. */
        out->v130 = !(version != NULL && strcmp(version, "1.3.0") < 0);
        return 0;
    }
    if (version == NULL) {
        /* Not optional, but clients forget it: the CRS/SRS name says. */
        out->v130 = get(req, "SRS", &dup) == NULL;
    } else if (strcmp(version, "1.3.0") == 0) {
        out->v130 = 1;
    } else if (strcmp(version, "1.1.1") == 0 || strcmp(version, "1.1.0") == 0) {
        out->v130 = 0;
    } else {
        return bad(code, "InvalidParameterValue", err, errcap,
                   "VERSION '%.16s' is not supported (1.3.0 or 1.1.1)", version);
    }
    int v130 = out->v130;

    const char *exc = get(req, "EXCEPTIONS", &dup);
    if (exc != NULL) {
        const char *e = strrchr(exc, '_'); /* "application/vnd.ogc.se_inimage" in 1.1.1 */
        e = e ? e + 1 : exc;
        if (strcasecmp(e, "INIMAGE") == 0)
            out->exceptions = PDB_SRV_WMS_EXC_INIMAGE;
        else if (strcasecmp(e, "BLANK") == 0)
            out->exceptions = PDB_SRV_WMS_EXC_BLANK;
        else
            out->exceptions = PDB_SRV_WMS_EXC_XML; /* XML and anything unknown */
    }
    const char *fmt = get(req, "FORMAT", &dup), *bg = get(req, "BGCOLOR", &dup);
    const char *tr = get(req, "TRANSPARENT", &dup);
    if (bg != NULL) {
        const char *h = bg;
        if (strncasecmp(h, "0x", 2) == 0)
            h += 2;
        else if (h[0] == '#')
            h++;
        if (strlen(h) != 6 || strspn(h, "0123456789abcdefABCDEF") != 6)
            return bad(code, "InvalidParameterValue", err, errcap,
                       "BGCOLOR '%.16s' is not 0xRRGGBB", bg);
        out->bgcolor = (uint32_t)strtoul(h, NULL, 16);
    }
    if (tr != NULL) {
        if (strcasecmp(tr, "TRUE") == 0)
            out->transparent = 1;
        else if (strcasecmp(tr, "FALSE") != 0 && tr[0] != '\0')
            return bad(code, "InvalidParameterValue", err, errcap,
                       "TRANSPARENT '%.16s' is not TRUE or FALSE", tr);
    }
    /* Size and format early: an INIMAGE exception needs them. */
    const char *ws = get(req, "WIDTH", &dup), *hs = get(req, "HEIGHT", &dup);
    int have_fmt = fmt != NULL && format_of(fmt, &out->format) == 0;
    if (ws == NULL || hs == NULL)
        return bad(code, "MissingParameterValue", err, errcap, "WIDTH and HEIGHT are required");
    if (int_param("WIDTH", ws, 1, max_px, &out->width, code, "InvalidParameterValue", err,
                  errcap) != 0 ||
        int_param("HEIGHT", hs, 1, max_px, &out->height, code, "InvalidParameterValue", err,
                  errcap) != 0) {
        out->width = out->height = 0; /* no image of a size out of range */
        return -1;
    }
    if (out->op == PDB_SRV_WMS_GETMAP) {
        if (fmt == NULL)
            return bad(code, "MissingParameterValue", err, errcap,
                       "FORMAT is required (image/png or image/jpeg)");
        if (!have_fmt)
            return bad(code, "InvalidFormat", err, errcap,
                       "FORMAT '%.40s' is not offered (image/png or image/jpeg)", fmt);
    }

    const char *layers = get(req, "LAYERS", &dup), *styles = get(req, "STYLES", &dup);
    if (layers == NULL || layers[0] == '\0')
        return bad(code,
                   out->op == PDB_SRV_WMS_GETMAP ? "MissingParameterValue" : "LayerNotDefined", err,
                   errcap, "LAYERS is required (parcels, parcels_outline, communes)");
    if (layer_list(layers, "LAYERS", out->layer, &out->nlayers, code, err, errcap) != 0)
        return -1;
    /* STYLES: empty for every default, or one entry per layer (an empty
     * entry is that layer's default). The names are checked against the
     * styles loaded (wms.c); here only their number. */
    if (styles != NULL && styles[0] != '\0') {
        size_t n = 0;
        for (const char *p = styles;; n++) {
            size_t len = strcspn(p, ",");
            if (n < PDB_SRV_WMS_MAX_LAYERS)
                out->style[n] = p; /* up to the next ',' (wms.c reads the length) */
            if (p[len] == '\0')
                break;
            p += len + 1;
        }
        if (n + 1 != out->nlayers)
            return bad(code, "StyleNotDefined", err, errcap,
                       "STYLES names %zu styles for %zu layers", n + 1, out->nlayers);
    }

    const char *crs = get(req, v130 ? "CRS" : "SRS", &dup);
    if (crs == NULL)
        return bad(code, "MissingParameterValue", err, errcap, "%s is required",
                   v130 ? "CRS" : "SRS");
    if ((out->epsg = crs_of(crs)) == 0)
        return bad(code, v130 ? "InvalidCRS" : "InvalidSRS", err, errcap,
                   "%s '%.32s' is not offered (EPSG:3857, EPSG:4326, CRS:84, EPSG:4756, "
                   "the VN-2000 TM-3 and UTM zones)",
                   v130 ? "CRS" : "SRS", crs);
    const char *bbox = get(req, "BBOX", &dup);
    if (bbox == NULL)
        return bad(code, "MissingParameterValue", err, errcap, "BBOX is required");
    double b[4];
    const char *p = bbox;
    for (int k = 0; k < 4; k++) {
        size_t len = strcspn(p, ",");
        if (number(p, len, &b[k]) != 0 || (k < 3 && p[len] != ',') || (k == 3 && p[len] != '\0'))
            return bad(code, "InvalidParameterValue", err, errcap,
                       "BBOX '%.80s' is not four finite numbers minx,miny,maxx,maxy", bbox);
        p += len + 1;
    }
    if (v130 && pdb_srv_wms_lat_first(out->epsg) && strcasecmp(crs, "CRS:84") != 0) {
        /* EPSG:4326 and EPSG:4756 in 1.3.0: latitude first. */
        double t = b[0];
        b[0] = b[1], b[1] = t;
        t = b[2];
        b[2] = b[3], b[3] = t;
    }
    if (!(b[0] < b[2]) || !(b[1] < b[3]))
        return bad(code, "InvalidParameterValue", err, errcap,
                   "BBOX '%.80s': each minimum must be less than its maximum", bbox);
    if (out->epsg == PDB_EPSG_WGS84 || out->epsg == PDB_EPSG_VN2000_GEOG) {
        if (b[0] < -180 || b[2] > 180 || b[1] < -90 || b[3] > 90)
            return bad(code, "InvalidParameterValue", err, errcap,
                       "BBOX '%.80s' is outside [-180, 180] x [-90, 90]", bbox);
    } else if (fabs(b[0]) > 1e8 || fabs(b[1]) > 1e8 || fabs(b[2]) > 1e8 || fabs(b[3]) > 1e8) {
        return bad(code, "InvalidParameterValue", err, errcap,
                   "BBOX '%.80s' is far outside the CRS's area", bbox);
    }
    memcpy(out->bbox, b, sizeof b);
    if (out->op == PDB_SRV_WMS_GETMAP)
        return 0;

    /* GetFeatureInfo. */
    const char *ql = get(req, "QUERY_LAYERS", &dup);
    if (ql == NULL || ql[0] == '\0')
        return bad(code, "LayerNotDefined", err, errcap, "QUERY_LAYERS is required");
    if (layer_list(ql, "QUERY_LAYERS", out->query, &out->nquery, code, err, errcap) != 0)
        return -1;
    for (size_t k = 0; k < out->nquery; k++) {
        int in = 0;
        for (size_t m = 0; m < out->nlayers; m++)
            in |= out->layer[m] == out->query[k];
        if (!in)
            return bad(code, "LayerNotDefined", err, errcap,
                       "QUERY_LAYERS names %s, which LAYERS does not", layer_names[out->query[k]]);
        if (out->query[k] == PDB_SRV_WMS_COMMUNES)
            return bad(code, "LayerNotQueryable", err, errcap,
                       "communes is not queryable (ask parcels)");
    }
    const char *is = get(req, v130 ? "I" : "X", &dup), *js = get(req, v130 ? "J" : "Y", &dup);
    if (v130 && is == NULL && js == NULL) {
        /* GDAL's WMS driver (3.6) sends 1.1.1's X and Y with VERSION=1.3.0;
         * MapServer and GeoServer take them, and so does this server. */
        is = get(req, "X", &dup);
        js = get(req, "Y", &dup);
    }
    if (is == NULL || js == NULL)
        return bad(code, "MissingParameterValue", err, errcap, "%s are required",
                   v130 ? "I and J" : "X and Y");
    if (int_param(v130 ? "I" : "X", is, 0, out->width - 1, &out->i, code, "InvalidPoint", err,
                  errcap) != 0 ||
        int_param(v130 ? "J" : "Y", js, 0, out->height - 1, &out->j, code, "InvalidPoint", err,
                  errcap) != 0)
        return -1;
    const char *fc = get(req, "FEATURE_COUNT", &dup), *inf = get(req, "INFO_FORMAT", &dup);
    if (fc != NULL &&
        int_param("FEATURE_COUNT", fc, 1, PDB_SRV_WMS_MAX_FEATURES, &out->feature_count, code,
                  "InvalidParameterValue", err, errcap) != 0)
        return -1;
    if (inf == NULL || strcasecmp(inf, "text/plain") == 0)
        out->info_format = PDB_SRV_WMS_INFO_PLAIN;
    else if (strcasecmp(inf, "application/json") == 0 ||
             strcasecmp(inf, "application/geo+json") == 0 || strcasecmp(inf, "geojson") == 0)
        out->info_format = PDB_SRV_WMS_INFO_JSON;
    else if (strcasecmp(inf, "text/html") == 0)
        out->info_format = PDB_SRV_WMS_INFO_HTML;
    else if (strcasecmp(inf, "application/vnd.ogc.gml") == 0 || strcasecmp(inf, "text/xml") == 0)
        out->info_format = PDB_SRV_WMS_INFO_GML;
    else
        return bad(code, "InvalidFormat", err, errcap,
                   "INFO_FORMAT '%.40s' is not offered (text/plain, application/json, text/html, "
                   "application/vnd.ogc.gml)",
                   inf);
    return 0;
}
