/*
 * wms.h: the OGC Web Map Service at /wms, versions 1.3.0 and 1.1.1
 * (docs/wms.md): GetCapabilities (wms_caps.c), GetMap and GetFeatureInfo
 * (wms.c), and their request parser (wms_parse.c), a pure function of the
 * parsed query so that it can be unit-tested and fuzzed.
 *
 * Errors are ServiceExceptionReport XML with the spec's codes (HTTP 200
 * with the XML, as WMS clients expect; 1.3.0 section 6.11), or for GetMap
 * with EXCEPTIONS=INIMAGE / BLANK an image.
 */
#ifndef PDB_SRV_WMS_H
#define PDB_SRV_WMS_H

#include "parse.h"
#include "response.h"

#include "tiler.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct pdb_srv pdb_srv;
typedef struct pdb_srv_worker pdb_srv_worker;

#define PDB_SRV_WMS_MAX_LAYERS 8    /* names in one LAYERS (each layer may repeat) */
#define PDB_SRV_WMS_DEFAULT_PX 4096 /* the default limit of WIDTH and HEIGHT */
#define PDB_SRV_WMS_MAX_FEATURES 50 /* the most FEATURE_COUNT answers */

/* The layers the service offers (their names in the capabilities). */
typedef enum pdb_srv_wms_layer {
    PDB_SRV_WMS_PARCELS = 0, /* "parcels": land-use fills and outlines */
    PDB_SRV_WMS_OUTLINE,     /* "parcels_outline": outlines and numbers only */
    PDB_SRV_WMS_COMMUNES,    /* "communes": boundaries and names */
    PDB_SRV_WMS_LAYER_COUNT
} pdb_srv_wms_layer;

typedef enum pdb_srv_wms_op {
    PDB_SRV_WMS_GETCAPABILITIES = 0, /* GetCapabilities (and 1.1.1's "capabilities") */
    PDB_SRV_WMS_GETMAP,              /* GetMap (and 1.1.1's "map") */
    PDB_SRV_WMS_GETFEATUREINFO       /* GetFeatureInfo */
} pdb_srv_wms_op;

typedef enum pdb_srv_wms_format {
    PDB_SRV_WMS_PNG = 0, /* image/png (8-bit palette when lossless, as tiles) */
    PDB_SRV_WMS_JPEG     /* image/jpeg */
} pdb_srv_wms_format;

typedef enum pdb_srv_wms_info {
    PDB_SRV_WMS_INFO_PLAIN = 0, /* text/plain (the default) */
    PDB_SRV_WMS_INFO_JSON,      /* application/json: GeoJSON */
    PDB_SRV_WMS_INFO_HTML,      /* text/html: a table, Vietnamese labels */
    PDB_SRV_WMS_INFO_GML        /* application/vnd.ogc.gml */
} pdb_srv_wms_info;

typedef enum pdb_srv_wms_exceptions {
    PDB_SRV_WMS_EXC_XML = 0, /* ServiceExceptionReport (the default) */
    PDB_SRV_WMS_EXC_INIMAGE, /* the message drawn into an image of the map's size */
    PDB_SRV_WMS_EXC_BLANK    /* an empty image of the map's size */
} pdb_srv_wms_exceptions;

/* A parsed WMS request. */
typedef struct pdb_srv_wms_req {
    pdb_srv_wms_op op;                               /* what is asked */
    int v130;                                        /* 1: version 1.3.0; 0: 1.1.1 */
    size_t nlayers;                                  /* entries of layer (GetMap) */
    pdb_srv_wms_layer layer[PDB_SRV_WMS_MAX_LAYERS]; /* LAYERS, bottom first */
    const char *style[PDB_SRV_WMS_MAX_LAYERS];       /* STYLES per layer ("" for the default;
                                                        borrowed from the request) */
    int epsg;                                        /* CRS (SRS); CRS:84 is 4326 */
    double bbox[4];                                  /* min x, min y, max x, max y, x = easting or
                                                        longitude (axis order undone) */
    int width, height;                               /* pixels */
    pdb_srv_wms_format format;                       /* FORMAT */
    int transparent;                                 /* TRANSPARENT=TRUE */
    uint32_t bgcolor;                                /* BGCOLOR, 0xRRGGBB (default white) */
    pdb_srv_wms_exceptions exceptions;               /* EXCEPTIONS */
    size_t nquery;                                   /* entries of query (GetFeatureInfo) */
    pdb_srv_wms_layer query[PDB_SRV_WMS_MAX_LAYERS]; /* QUERY_LAYERS */
    int i, j;                     /* the pixel asked about (I/J, or X/Y in 1.1.1) */
    int feature_count;            /* FEATURE_COUNT, 1 by default */
    pdb_srv_wms_info info_format; /* INFO_FORMAT */
} pdb_srv_wms_req;

#define PDB_SRV_WMS_CODE_MAX 32 /* bytes of an exception code, with the NUL */

/* Parses a /wms request's query (parameter names are case-insensitive, as
 * the spec says; a name given twice in any case is an error). max_px is
 * the limit of WIDTH and HEIGHT. Returns 0, or -1 with the exception code
 * ("" for none) in code and a one-line reason in err. Even on failure
 * out->v130, out->op, out->exceptions, width, height, format and bgcolor are
 * set as far as they could be read, so that the error can be answered in
 * the form the client asked for. */
int pdb_srv_wms_parse(const pdb_srv_request *req, int max_px, pdb_srv_wms_req *out,
                      char code[PDB_SRV_WMS_CODE_MAX], char *err, size_t errcap);

/* The layer's name in the capabilities and in requests. */
const char *pdb_srv_wms_layer_name(pdb_srv_wms_layer l);

/* 1 when a CRS takes its BBOX as latitude first in WMS 1.3.0 (EPSG:4326
 * and EPSG:4756; not CRS:84, not the projected ones). */
int pdb_srv_wms_lat_first(int epsg);

/* What the operator says of the service: the file named by
 * $PARCELDB_WMS_CONFIG, else /etc/parceldb/wms.conf (docs/wms.md), lines
 * "key = value"; an absent key keeps its default, which says what to edit.
 * Read at the first request and again when the file's modification time
 * changes (checked at most once a second): no restart needed. */
#define PDB_SRV_WMS_TEXT 256 /* bytes of a text value, with the NUL */
typedef struct pdb_srv_wms_conf {
    char title[PDB_SRV_WMS_TEXT];        /* Service/Title */
    char abstract[2 * PDB_SRV_WMS_TEXT]; /* Service/Abstract */
    char keywords[PDB_SRV_WMS_TEXT];     /* comma-separated KeywordList */
    char person[PDB_SRV_WMS_TEXT];       /* ContactPerson */
    char organization[PDB_SRV_WMS_TEXT]; /* ContactOrganization */
    char position[PDB_SRV_WMS_TEXT];     /* ContactPosition */
    char address[PDB_SRV_WMS_TEXT];      /* Address (street) */
    char city[PDB_SRV_WMS_TEXT];         /* City */
    char province[PDB_SRV_WMS_TEXT];     /* StateOrProvince */
    char postcode[PDB_SRV_WMS_TEXT];     /* PostCode */
    char country[PDB_SRV_WMS_TEXT];      /* Country */
    char phone[PDB_SRV_WMS_TEXT];        /* ContactVoiceTelephone */
    char email[PDB_SRV_WMS_TEXT];        /* ContactElectronicMailAddress */
    char fees[PDB_SRV_WMS_TEXT];         /* Fees */
    char access[PDB_SRV_WMS_TEXT];       /* AccessConstraints */
    int max_px;                          /* WIDTH and HEIGHT at most (default 4096) */
    int max_renders;                     /* GetMap renders at once (default: 2) */
    char path[PDB_SRV_WMS_TEXT];         /* the file read, for messages */
    char error[PDB_SRV_WMS_TEXT];        /* why it was not read, or "" */
} pdb_srv_wms_conf;

/* The current configuration (a copy). */
void pdb_srv_wms_conf_get(pdb_srv_wms_conf *out);

/* A style the service offers: a file of the styles directory (the one
 * holding the default style, pdbt_style_default_path). */
#define PDB_SRV_WMS_MAX_STYLES 8
typedef struct pdb_srv_wms_style {
    char name[64];     /* the file's name without ".json": "landuse" */
    char title[128];   /* the style's "name" member, or name */
    pdbt_style *style; /* loaded once for the process's life */
} pdb_srv_wms_style;

/* The styles offered, loaded at first use (*n of them, at least one: the
 * built-in style as "landuse" when no file can be read). */
const pdb_srv_wms_style *pdb_srv_wms_styles(size_t *n);

/* The index in pdb_srv_wms_styles of a layer's default style. */
size_t pdb_srv_wms_default_style(pdb_srv_wms_layer l);

/* The PDBT_LAYERS_* of the style a WMS layer draws. */
unsigned pdb_srv_wms_layer_bits(pdb_srv_wms_layer l);

/* Answers a /wms request (never fails: errors are answers). personal: the
 * token's name when the request carries a valid token (owner names in
 * GetFeatureInfo, each answer recorded in the audit table first), else
 * NULL; base: the
 * service's URL without "/wms", for the capabilities. */
void pdb_srv_handle_wms(pdb_srv *srv, pdb_srv_worker *w, const pdb_srv_request *req,
                        const char *personal, const char *base, pdb_srv_response *out);

/* Encodes premultiplied pixels as a baseline JPEG (wms_jpeg.c, the one file
 * with libjpeg) at quality 1-100; alpha is dropped (compose first).
 * *out is malloc'd. 0, or -1 when libjpeg or memory failed. */
int pdb_srv_jpeg_encode(const pdbt_image *img, int quality, unsigned char **out, size_t *len);

/* The ServiceExceptionReport of a version (1.3.0 or 1.1.1) as a 200 XML
 * answer (WMS clients read the XML whatever the status). */
void pdb_srv_wms_exception(pdb_srv_response *out, int v130, const char *code, const char *msg);

/* Closes f, an open_memstream of *text and *len, and makes them a 200
 * answer of the type (the answer takes *text); 503 when out of memory. */
void pdb_srv_wms_send(pdb_srv_response *out, FILE *f, char **text, size_t *len, const char *type,
                      const char *cache_control);

/* The capabilities document (wms_caps.c) into out; base is the service's
 * URL without "/wms"; bounds the store's WGS 84 box (NAN when empty). */
void pdb_srv_wms_capabilities(pdb_srv *srv, pdb_srv_worker *w, int v130, const char *base,
                              const double bounds[4], pdb_srv_response *out);

#endif
