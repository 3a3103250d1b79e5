/*
 * parse.h: HTTP request parsing for the server, as pure functions: raw
 * request URI -> route and parameters, and the checks on each parameter.
 * No sockets and no allocation: everything lives in the caller's
 * pdb_srv_request, so that the parser can be unit-tested and fuzzed.
 *
 * Rules (docs/operations.md repeats them for API users):
 *  - The URI must be origin-form ("/path?query"), at most
 *    PDB_SRV_MAX_URI bytes (longer: 414).
 *  - The path is split at '/' before percent-decoding, so "%2F" never
 *    makes a new segment; a segment that decodes to NUL, ".", ".." or
 *    holds a bad escape is a 400.
 *  - The query is application/x-www-form-urlencoded: '&' separates pairs,
 *    '+' is a space, "name" alone has the value "". Empty pairs are
 *    skipped. A name given twice is a 400 (whatever the values): no
 *    first-wins or last-wins guessing, and nothing to double-free.
 *  - Unknown parameters are ignored (cache busters such as "?v=3").
 */
#ifndef PDB_SRV_PARSE_H
#define PDB_SRV_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define PDB_SRV_MAX_URI 2048   /* bytes of the raw request URI */
#define PDB_SRV_MAX_PARAMS 32  /* query parameters (a QGIS GetFeatureInfo sends 21) */
#define PDB_SRV_MAX_SEGMENTS 8 /* path segments */
#define PDB_SRV_MAX_ID_TEXT 32 /* bytes of a sheet or parcel number */

/* What a request asks for; also the label of its metrics. */
typedef enum pdb_srv_route {
    PDB_SRV_ROUTE_OTHER = 0,     /* nothing matched, or the request failed to parse */
    PDB_SRV_ROUTE_STATIC,        /* the demo page and its files ("/", "/app.js", ...) */
    PDB_SRV_ROUTE_TILE,          /* /tiles/{z}/{x}/{y}.png, {y}@2x.png and {y}.mvt */
    PDB_SRV_ROUTE_TILEJSON,      /* /tiles.json */
    PDB_SRV_ROUTE_PARCELS_AT,    /* /parcels/at */
    PDB_SRV_ROUTE_PARCEL_NUMBER, /* /parcels/{commune}/{sheet}/{parcel} */
    PDB_SRV_ROUTE_PARCELS_BBOX,  /* /parcels?bbox= */
    PDB_SRV_ROUTE_SEARCH,        /* /parcels/search?q= */
    PDB_SRV_ROUTE_COMMUNES,      /* /communes */
    PDB_SRV_ROUTE_HEALTH,        /* /health */
    PDB_SRV_ROUTE_METRICS,       /* /metrics */
    PDB_SRV_ROUTE_OGCAPI,        /* /ogcapi and below (ogcapi_parse.c reads the rest) */
    PDB_SRV_ROUTE_WMS,           /* /wms (wms.h) */
    PDB_SRV_ROUTE_MVT_TILEJSON,  /* /tiles.mvt.json */
    PDB_SRV_ROUTE_STYLE,         /* /styles/landuse.json (the MapLibre style) */
    PDB_SRV_ROUTE_GLYPHS,        /* /fonts/{fontstack}/{start}-{end}.pbf */
    PDB_SRV_ROUTE_LINEAGE,       /* /parcels/{commune}/{sheet}/{parcel}/lineage */
    PDB_SRV_ROUTE_CHANGE, /* POST /parcels/{c}/{s}/{p}/split|update|reshape, /parcels/merge */
    PDB_SRV_ROUTE_QA,     /* /qa/{commune}: the commune's quality report */
    PDB_SRV_ROUTE_EXPORT, /* /export?commune=&format= (export_route.h) */
    PDB_SRV_ROUTE_COUNT
} pdb_srv_route;

/* Whether a raw request URI names a change route (POST with a body),
 * judged on its path alone before the request is read: http.c reads a
 * body only for these. */
int pdb_srv_uri_is_change(const char *uri);

/* The route's short name for logs and metrics labels ("tile"). */
const char *pdb_srv_route_name(pdb_srv_route route);

typedef struct pdb_srv_param {
    const char *name;  /* decoded, NUL-terminated, in the request's buffer */
    const char *value; /* decoded, NUL-terminated ("" when absent) */
} pdb_srv_param;

/* Limits the parser applies; zero fields take the defaults. */
typedef struct pdb_srv_parse_limits {
    int max_zoom; /* tiles deeper than this are a 400; default 20, at most 24 */
} pdb_srv_parse_limits;

typedef struct pdb_srv_request {
    pdb_srv_route route;                       /* what was matched */
    char buf[2 * PDB_SRV_MAX_URI + 64];        /* decoded segments, parameters, file name */
    const char *segment[PDB_SRV_MAX_SEGMENTS]; /* decoded path segments, in buf */
    size_t nsegments;                          /* segments in the path ("/" has none) */
    pdb_srv_param param[PDB_SRV_MAX_PARAMS];   /* query parameters in order */
    size_t nparams;                            /* parameters given */
    /* PDB_SRV_ROUTE_TILE */
    int z;      /* zoom, 0 .. max_zoom */
    uint32_t x; /* column, 0 .. 2^z - 1 */
    uint32_t y; /* row, 0 .. 2^z - 1 */
    int scale;  /* 1, or 2 for "@2x" */
    int mvt;    /* 1 for {y}.mvt (a vector tile), 0 for {y}.png */
    /* PDB_SRV_ROUTE_PARCEL_NUMBER (and PDB_SRV_ROUTE_QA: commune only) */
    const char *commune; /* five digits */
    const char *sheet;   /* 1 .. PDB_SRV_MAX_ID_TEXT bytes */
    const char *parcel;  /* 1 .. PDB_SRV_MAX_ID_TEXT bytes */
    /* PDB_SRV_ROUTE_GLYPHS */
    const char *fontstack; /* font names separated by commas, decoded */
    unsigned glyph_start;  /* first code point: a multiple of 256 */
    /* PDB_SRV_ROUTE_CHANGE (with commune, sheet, parcel but for "merge") */
    const char *action; /* "split", "update", "reshape" or "merge" */
    /* PDB_SRV_ROUTE_STATIC */
    const char *file; /* "index.html", "leaflet/leaflet.js" */
} pdb_srv_request;

/* Parses a raw request URI (as sent, with its query string) into req.
 * Returns 0 when a route matched, or an HTTP status with a one-line reason
 * in err (errcap bytes): 400 for malformed input (bad escapes, repeated
 * parameters, tile numbers out of range), 404 for a path no route knows,
 * 414 for a URI over PDB_SRV_MAX_URI, 503 when out of memory. Never reads
 * past the NUL. */
int pdb_srv_request_parse(const char *uri, const pdb_srv_parse_limits *limits, pdb_srv_request *req,
                          char *err, size_t errcap);

/* The value of a parameter, or NULL when it was not given. */
const char *pdb_srv_param_get(const pdb_srv_request *req, const char *name);

/* Strict number parsing for parameter values. Each returns 0 on success,
 * or -1 with a one-line reason in err naming the parameter. */

/* A finite decimal number in [min, max]: no hex, no "inf"/"nan", no
 * blanks, at most 32 characters. */
int pdb_srv_parse_double(const char *name, const char *text, double min, double max, double *out,
                         char *err, size_t errcap);

/* A non-negative decimal integer (digits only) no larger than max. */
int pdb_srv_parse_uint(const char *name, const char *text, uint64_t max, uint64_t *out, char *err,
                       size_t errcap);

/* "minlon,minlat,maxlon,maxlat" in WGS 84 degrees with min < max on each
 * axis, inside [-180, 180] x [-90, 90], no wider than max_span_deg on
 * either axis (0 for no limit). */
int pdb_srv_parse_bbox(const char *text, double max_span_deg, double out[4], char *err,
                       size_t errcap);

/* Whether an If-None-Match header value matches an entity tag (given with
 * its quotes, '"v12-ab34"'): "*", or a comma-separated list of tags, weak
 * ("W/") ones compared weakly, as RFC 9110 13.1.2 says for GET. */
int pdb_srv_etag_matches(const char *if_none_match, const char *etag);

/* Extracts the token of an "Authorization: Bearer TOKEN" header value
 * (scheme case-insensitive, RFC 6750 token68 characters). Returns the
 * token's length and sets *token to its start in the header, or 0 when
 * the value is not a well-formed bearer credential. */
size_t pdb_srv_bearer_token(const char *authorization, const char **token);

/* Writes the request path for the access log into out: the raw path, then
 * the query's parameter names without their values ("/parcels/at?lon&lat"),
 * names the API does not know written as "_", so that nothing a client
 * sent as a value (a name, an address) reaches the log. Bytes outside
 * printable ASCII are escaped as \xHH; a path longer than cap is cut and
 * ends in "...". Always NUL-terminates. */
void pdb_srv_log_path(const char *uri, char *out, size_t cap);

#endif
