/*
 * ogcapi_parse.h: the query of an OGC API - Features request, as pure
 * functions (no store, no sockets, no allocation), so that they can be
 * unit-tested and fuzzed (tests/fuzz/fuzz_ogcapi.c). ogcapi.c answers.
 *
 * Rules (docs/ogcapi.md repeats them for API users):
 *  - Every resource takes f=json|html; items also bbox, bbox-crs, crs,
 *    limit, after, before, datetime, commune, sheet, parcel, landuse; one feature
 *    also crs. Any other parameter is a 400 (OGC API - Features 1.0,
 *    /req/core/query-param-unknown).
 *  - CRSs are written as OGC URIs (http://www.opengis.net/def/crs/EPSG/0/N,
 *    .../OGC/1.3/CRS84) or as EPSG:N / CRS84. EPSG:4326 and EPSG:4756 take
 *    and give coordinates as lat,lon (their EPSG axis order); CRS84,
 *    EPSG:3857 and the VN-2000 projected CRSs as x,y (easting,northing).
 *  - limit: 1..PDB_OGC_MAX_LIMIT, default PDB_OGC_DEFAULT_LIMIT; a larger
 *    value is clamped to the maximum (the answer's numberReturned says how
 *    many came), as the standard permits; 0, a sign or anything else: 400.
 *  - datetime: one instant, "YYYY-MM-DD" (the state at the end of that day,
 *    UTC) or "YYYY-MM-DDTHH:MM:SS[.fff]Z", or an interval of two, "A/B",
 *    open at one end with ".." (or nothing): the parcels valid at any
 *    instant of it.
 */
#ifndef PDB_SRV_OGCAPI_PARSE_H
#define PDB_SRV_OGCAPI_PARSE_H

#include "parse.h"

#include <stddef.h>
#include <stdint.h>

#define PDB_OGC_DEFAULT_LIMIT 10  /* features per items page by default */
#define PDB_OGC_MAX_LIMIT 10000   /* most features per items page */
#define PDB_OGC_CRS84 84          /* our code for OGC CRS84 (lon,lat WGS 84); EPSG has no 84 */
#define PDB_OGC_EPSG_WEBMERC 3857 /* Web Mercator, x,y metres */
#define PDB_OGC_TIME_FIRST "0000-01-01T00:00:00.000Z" /* an interval open at its start */
#define PDB_OGC_TIME_LAST "9999-12-31T23:59:59.999Z"  /* an interval open at its end */

/* What the path under /ogcapi names. */
typedef enum pdb_ogc_resource {
    PDB_OGC_LANDING,     /* /ogcapi */
    PDB_OGC_CONFORMANCE, /* /ogcapi/conformance */
    PDB_OGC_API,         /* /ogcapi/api */
    PDB_OGC_COLLECTIONS, /* /ogcapi/collections */
    PDB_OGC_COLLECTION,  /* /ogcapi/collections/{id} */
    PDB_OGC_ITEMS,       /* /ogcapi/collections/{id}/items */
    PDB_OGC_ITEM         /* /ogcapi/collections/{id}/items/{featureId} */
} pdb_ogc_resource;

/* The collections served. */
typedef enum pdb_ogc_collection { PDB_OGC_PARCELS, PDB_OGC_COMMUNES } pdb_ogc_collection;

typedef struct pdb_ogc_request {
    pdb_ogc_resource resource;     /* what was asked for */
    pdb_ogc_collection collection; /* for COLLECTION, ITEMS and ITEM */
    const char *feature_id;        /* ITEM: as given (checked by the handler), in req's buffer */
    int html;                      /* 1: f=html; 0: f=json; -1: not given (Accept decides) */
    /* items */
    size_t limit;        /* features at most, 1..PDB_OGC_MAX_LIMIT */
    int limit_clamped;   /* 1 when the client asked for more than the maximum */
    int64_t after;       /* features with a larger key only (the next link's key); 0 */
    int64_t before;      /* parcels: the page before this key (the prev link's); 0 */
    const char *after_s; /* communes: the code after which to start, or NULL */
    int has_bbox;        /* 1: bbox given */
    double bbox[4];      /* in bbox_crs, normalised to x (lon, easting) first */
    int bbox_crs;        /* EPSG code, or PDB_OGC_CRS84 (the default) */
    int crs;             /* the answer's CRS: EPSG code, or PDB_OGC_CRS84 (the default) */
    char at[32];         /* the instant or the interval's start, "YYYY-MM-DDTHH:MM:SS.mmmZ",
                            or "" for now */
    char until[32];      /* the interval's end, in the same form, or "" for an instant */
    const char *commune; /* filters, checked; NULL when not given */
    const char *sheet;
    const char *parcel;
    const char *landuse;
} pdb_ogc_request;

/* Parses the segments after "ogcapi" and the query of req. Returns 0, or
 * an HTTP status (400, 404) with a one-line reason in err. */
int pdb_ogc_parse(const pdb_srv_request *req, pdb_ogc_request *out, char *err, size_t errcap);

/* The CRS a text names: an OGC URI, "EPSG:N" or "CRS84"; 0 with a reason
 * in err when it is not one this server offers. */
int pdb_ogc_crs_parse(const char *text, int *crs, char *err, size_t errcap);

/* Whether a CRS takes lat,lon order (EPSG:4326, EPSG:4756). */
int pdb_ogc_crs_latlon(int crs);

/* Writes a CRS's URI ("http://www.opengis.net/def/crs/EPSG/0/9208"). */
void pdb_ogc_crs_uri(int crs, char *out, size_t cap);

/* Whether a code (EPSG, or PDB_OGC_CRS84) is one of them. */
int pdb_ogc_crs_offered(int code);

/* Every CRS offered, in listing order: *count codes of static storage. */
const int *pdb_ogc_crs_list(size_t *count);

/* Parses a datetime parameter: an instant into from
 * ("YYYY-MM-DDTHH:MM:SS.mmmZ"; until ""), or an interval "A/B" into its
 * start (from) and end (until), a date alone being its first instant as a
 * start and its last as an end, an open end (".." or nothing) being
 * PDB_OGC_TIME_FIRST or PDB_OGC_TIME_LAST. 0 on success, -1 with a reason
 * in err (unparsable, open at both ends, ending before it starts). */
int pdb_ogc_datetime_parse(const char *text, char from[32], char until[32], char *err,
                           size_t errcap);

#endif
