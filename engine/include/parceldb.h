/*
 * parceldb.h: the public API of libparceldb, the cadastral parcel store of
 * Phu Tho province. What is not declared here is not API.
 *
 * Conventions:
 *  - Every call takes the thread's context first. A context belongs to one
 *    thread at a time; it owns that thread's PROJ and GEOS contexts and the
 *    last error. A store handle is one SQLite connection: one per thread.
 *  - Every fallible call returns a pdb_status (PDB_OK = 0). On failure the
 *    context keeps the code and a one-line message: pdb_errmsg(ctx).
 *  - `T **out`: on success the caller owns *out and frees it with the
 *    matching pdb_*_free (which accepts NULL); on failure *out is NULL.
 *    `const T *` results are borrowed from the handle that returned them.
 *  - Coordinates: x is longitude or easting, y is latitude or northing,
 *    always; the Vietnamese X = northing order is converted at the edges
 *    (pdb_vn_xy_to_en). Geographic CRSs are in degrees, lon first.
 *  - The library never prints, never exits, never aborts.
 */
#ifndef PARCELDB_H
#define PARCELDB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PARCELDB_STATIC)
#define PDB_API
#elif defined(PARCELDB_BUILDING)
#define PDB_API __attribute__((visibility("default")))
#else
#define PDB_API
#endif

#define PDB_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------------ */
/* Status codes and the context                                              */
/* ------------------------------------------------------------------------ */

typedef enum pdb_status {
    PDB_OK = 0,
    PDB_EINVAL,    /* a malformed argument or input value */
    PDB_ENOTFOUND, /* no such file, parcel, commune or CRS */
    PDB_EIO,       /* the operating system refused a read or write */
    PDB_ESTORE,    /* SQLite or SpatiaLite failed */
    PDB_ENOTSTORE, /* the file exists but is not a parceldb store */
    PDB_ECORRUPT,  /* the store fails its integrity or schema check */
    PDB_ECRS,      /* an unknown CRS, or no exact transformation for it */
    PDB_EPLAUSIBLE,/* coordinates that cannot be right for the declared CRS */
    PDB_EGEOM,     /* a geometry that cannot be parsed, validated or repaired */
    PDB_ELIMIT,    /* an input over a configured limit */
    PDB_ENOMEM,    /* out of memory */
    PDB_EBUSY,     /* the store stayed locked past the busy timeout */
    PDB_EREADONLY, /* a write through a store opened read-only */
    PDB_ECONFLICT  /* a change to a parcel that another change superseded meanwhile */
} pdb_status;

typedef struct pdb_ctx pdb_ctx;

/* Limits on untrusted input; a value of 0 means "the default". */
typedef struct pdb_limits {
    size_t max_vertices_per_parcel; /* all rings of all parts; default 100000 */
    size_t max_parts_per_parcel;    /* polygons in a multipolygon; default 1000 */
    size_t max_rings_per_parcel;    /* rings over all parts; default 10000 */
    size_t max_results;             /* rows a bbox or history query returns; default 10000 */
    size_t max_text_bytes;          /* one attribute value; default 4096 */
} pdb_limits;

/* Creates a context for the calling thread. Fails only when PROJ or GEOS
 * cannot start (PDB_ENOMEM); no message is available then. */
PDB_API pdb_status pdb_ctx_new(pdb_ctx **out);
PDB_API void pdb_ctx_free(pdb_ctx *ctx);

/* The last failure's message, borrowed until the next call on ctx. */
PDB_API const char *pdb_errmsg(const pdb_ctx *ctx);
PDB_API pdb_status pdb_errcode(const pdb_ctx *ctx);
/* A short constant name for a status: "EINVAL". */
PDB_API const char *pdb_status_name(pdb_status st);

/* Replaces the context's limits (zero fields keep their defaults). */
PDB_API void pdb_ctx_set_limits(pdb_ctx *ctx, const pdb_limits *limits);
PDB_API void pdb_ctx_get_limits(const pdb_ctx *ctx, pdb_limits *out);

/* Frees memory the library returned as a plain buffer (strings, WKB). */
PDB_API void pdb_free(void *p);

/* ------------------------------------------------------------------------ */
/* Coordinate reference systems (VN-2000 and WGS 84)                         */
/* ------------------------------------------------------------------------ */

#define PDB_EPSG_WGS84 4326
#define PDB_EPSG_VN2000_GEOG 4756

typedef enum pdb_crs_kind {
    PDB_CRS_GEOGRAPHIC, /* degrees, lon/lat */
    PDB_CRS_TM3,        /* VN-2000 TM-3, 3-degree zone, k = 0.9999 */
    PDB_CRS_UTM         /* VN-2000 UTM 6-degree zone, k = 0.9996 */
} pdb_crs_kind;

typedef struct pdb_crs_info {
    int epsg;                  /* EPSG code */
    pdb_crs_kind kind;         /* geographic, TM-3 or UTM */
    const char *name;          /* "VN-2000 / TM-3 104-45" (static storage) */
    const char *zone;          /* "104-45", "48N" or "" (static storage) */
    double central_meridian_deg; /* NAN for geographic systems */
} pdb_crs_info;

/* Resolves "EPSG:9208", "epsg:9208", "9208", "104-45", "104.75" (TM-3
 * central meridian), "UTM48N" / "48N", "VN-2000" (geographic) or "WGS84" to
 * a registered EPSG code. PDB_ECRS for anything not registered. */
PDB_API pdb_status pdb_crs_resolve(pdb_ctx *ctx, const char *text, int *epsg_out);

/* Describes a registered CRS; PDB_ECRS when epsg is not registered. */
PDB_API pdb_status pdb_crs_info_get(pdb_ctx *ctx, int epsg, pdb_crs_info *out);

/* The registered CRSs, for listings: *count entries of static storage. */
PDB_API const pdb_crs_info *pdb_crs_list(size_t *count);

/* Transforms n points in place between two registered CRSs (or WGS 84).
 * x/y are lon/lat in degrees or easting/northing in metres. VN-2000 <->
 * WGS 84 always goes through EPSG:6960; PDB_ECRS when PROJ offers only a
 * ballpark operation. The transformation object is created once per context
 * and CRS pair and reused. A point that does not transform fails the call
 * (PDB_ECRS) with its index in the message. */
PDB_API pdb_status pdb_crs_transform(pdb_ctx *ctx, int from_epsg, int to_epsg, double *x,
                                     double *y, size_t n);

/* Describes the operation the context uses for a pair, e.g.
 * "Inverse of Vietnam TM-3 104-45 + VN-2000 to WGS 84 (2) (EPSG:6960)";
 * borrowed until the next call on ctx. */
PDB_API pdb_status pdb_crs_operation_name(pdb_ctx *ctx, int from_epsg, int to_epsg,
                                          const char **name_out);

/* Checks that a point is plausible in a CRS: inside Vietnam, inside (or
 * close to) the zone's area, and not swapped or in degrees. On failure
 * PDB_EPLAUSIBLE with a message that names the likely mistake and the fix. */
PDB_API pdb_status pdb_crs_check_point(pdb_ctx *ctx, int epsg, double x, double y);

/* Vietnamese documents write X = northing, Y = easting; this returns
 * easting, northing. It exists so that each caller states the order. */
static inline void pdb_vn_xy_to_en(double vn_x, double vn_y, double *e, double *n)
{
    *e = vn_y;
    *n = vn_x;
}

/* ------------------------------------------------------------------------ */
/* Communes: Phu Tho's 148 (built in) and those a store registers          */
/* ------------------------------------------------------------------------ */

typedef struct pdb_commune_ref {
    const char *code;            /* five digits, "08707" */
    const char *name;            /* "Phường Vĩnh Phúc" (UTF-8, NFC) */
    const char *former_province; /* "Phu Tho", "Vinh Phuc" or "Hoa Binh" */
    int epsg;                    /* the TM-3 zone of the former province */
} pdb_commune_ref;

/* The process knows Phu Tho's 148 communes from the start, and every
 * commune of the stores it opened: a store made with a commune list
 * (pdb_store_communes_add, `parceldb init --communes FILE`) registers its
 * communes process-wide when it is opened, for every thread. Registered
 * communes are never forgotten while the process lives. */

/* Finds a commune by code; PDB_EINVAL for a code that is not five digits,
 * PDB_ENOTFOUND for one that is neither Phu Tho's nor registered. The
 * result is borrowed and valid until the process ends. Thread-safe. */
PDB_API pdb_status pdb_commune_ref_find(pdb_ctx *ctx, const char *code,
                                        const pdb_commune_ref **out);
/* All communes known now, sorted by code: *count entries, valid until the
 * process ends (a later registration makes a new list; this one stays).
 * Thread-safe. */
PDB_API const pdb_commune_ref *pdb_commune_ref_list(size_t *count);

/* A commune list read from a CSV file, not yet registered. */
typedef struct pdb_commune_table pdb_commune_table;

/* Reads a commune list in the columns of data/phu-tho-communes.csv:
 * a header line "code,name,former_province,central_meridian,epsg", then
 * one commune a line: five-digit code, name (UTF-8, no comma), former
 * province, central meridian of its TM-3 zone ("105-30"), and that zone's
 * "EPSG:N" (a VN-2000 TM-3 zone; the meridian must be the zone's). Fails
 * on the first bad line with "FILE:LINE: what is wrong" (PDB_EINVAL), on a
 * code listed twice, and on a code already known to the process with
 * another name, province or zone (naming both); PDB_ENOTFOUND or PDB_EIO
 * when the file cannot be read. The caller owns *out. */
PDB_API pdb_status pdb_commune_table_read(pdb_ctx *ctx, const char *path,
                                          pdb_commune_table **out);
/* How many communes the table holds. */
PDB_API size_t pdb_commune_table_count(const pdb_commune_table *t);
PDB_API void pdb_commune_table_free(pdb_commune_table *t);

/* Land-use codes (Circular 08/2024 and older codes still found in surveys),
 * with the de-facto map colours. */
typedef struct pdb_landuse_ref {
    const char *code;      /* "ONT" */
    const char *name_vi;   /* "Đất ở tại nông thôn" */
    const char *name_en;   /* "Rural residential" */
    unsigned char rgb[3];  /* map fill colour */
} pdb_landuse_ref;

/* The code's entry, or NULL for an unknown code (exact, upper case). */
PDB_API const pdb_landuse_ref *pdb_landuse_ref_find(const char *code);
PDB_API const pdb_landuse_ref *pdb_landuse_ref_list(size_t *count);

/* ------------------------------------------------------------------------ */
/* Geometry checks (GEOS), for importers                                     */
/* ------------------------------------------------------------------------ */

typedef struct pdb_geom_check {
    int valid;                /* 1 when the geometry is a valid (multi)polygon */
    int repaired;             /* 1 when *repaired_wkb holds a MakeValid result */
    double area_m2;           /* planar area of the input (source units squared) */
    double repaired_area_m2;  /* area after repair, when repaired */
    char reason[160];         /* GEOS's reason when invalid, else "" */
} pdb_geom_check;

/* Validates an ISO WKB polygon or multipolygon. When invalid, tries GEOS
 * MakeValid and keeps the result (as a MULTIPOLYGON WKB in *repaired_wkb,
 * caller-owned) only if its area is within max_area_change (0.001 = 0.1%)
 * of the original and it is still polygonal. Returns PDB_EGEOM for
 * unparseable input or non-polygonal types; PDB_OK otherwise (check->valid
 * and check->repaired tell the outcome). */
PDB_API pdb_status pdb_geom_check_wkb(pdb_ctx *ctx, const unsigned char *wkb, size_t len,
                                      double max_area_change, pdb_geom_check *check,
                                      unsigned char **repaired_wkb, size_t *repaired_len);

/* ------------------------------------------------------------------------ */
/* The store                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct pdb_store pdb_store;

typedef enum pdb_open_flags {
    PDB_OPEN_READONLY = 1,  /* never writes; many readers beside one writer */
    PDB_OPEN_READWRITE = 2, /* may import; one writer at a time */
} pdb_open_flags;

/* Creates a new empty store at path; PDB_EINVAL if the file exists. */
PDB_API pdb_status pdb_store_create(pdb_ctx *ctx, const char *path, pdb_store **out);

/* Opens an existing store. PDB_ENOTFOUND for a missing file, PDB_ENOTSTORE
 * for a file that is not a parceldb store (or of a newer schema),
 * PDB_ECORRUPT when SQLite finds it damaged. Registers the store's own
 * communes process-wide (pdb_commune_ref_find); PDB_EINVAL when one of
 * them conflicts with a commune already known (naming both). */
PDB_API pdb_status pdb_store_open(pdb_ctx *ctx, const char *path, int flags, pdb_store **out);

/* Writes the table's communes into the store (one transaction: all or
 * none; communes the store already has with the same name, province and
 * zone are kept as they are) and registers them process-wide. Fails with
 * PDB_EREADONLY on a read-only handle, PDB_EINVAL when a commune
 * conflicts with one already known (naming both). */
PDB_API pdb_status pdb_store_communes_add(pdb_ctx *ctx, pdb_store *s,
                                          const pdb_commune_table *t);

PDB_API void pdb_store_close(pdb_store *store);

/* The data version: changes with every committed import (0 when empty). */
PDB_API pdb_status pdb_store_data_version(pdb_ctx *ctx, pdb_store *store, int64_t *out);

/* For a caller that reads the data version itself and accepts answers at it
 * for a while (the server: at most 20 ms, as for tiles): while the store's
 * in-memory lookup index is at this version, a point lookup that reads no
 * personal field and no source geometry (pdb_parcels_at, pdb_parcels_at_crs)
 * answers from it with no store read at all, instead of opening a read
 * snapshot per call to learn the version (a tenth of an HTTP lookup, and
 * three system calls). An index at another version, and every other read
 * (batches too: they read index sections from the store), read the store
 * as before. -1, the default, trusts nothing. */
PDB_API void pdb_store_trust_version(pdb_store *store, int64_t version);

typedef struct pdb_store_stats {
    int64_t parcels_current;  /* parcels with valid_to NULL */
    int64_t parcels_history;  /* superseded parcels kept as history */
    int64_t communes;         /* communes with current parcels */
    int64_t batches;          /* import runs recorded */
    int64_t rejects;          /* rows of rejects: rejected + repaired (say them apart) */
    int64_t data_version;     /* see pdb_store_data_version */
    int schema_version;       /* PRAGMA user_version */
    char journal_mode[16];    /* "wal" */
    int64_t rejected;         /* records not stored (rows of rejects with stored = 0), as
                                 pdb_import_counts.rejected counts them */
    int64_t repaired;         /* records stored repaired, whose original is kept as a row of
                                 rejects (stored = 1), as pdb_import_counts.repaired */
} pdb_store_stats;

PDB_API pdb_status pdb_store_stats_get(pdb_ctx *ctx, pdb_store *store, pdb_store_stats *out);

/* Runs SQLite's integrity check (PDB_ECORRUPT with the first problem). */
PDB_API pdb_status pdb_store_check(pdb_ctx *ctx, pdb_store *store);

/* ------------------------------------------------------------------------ */
/* Parcels                                                                   */
/* ------------------------------------------------------------------------ */

/* Flags a parcel carries from its import. */
enum {
    PDB_PARCEL_DUPLICATE_NUMBER = 1 << 0, /* another parcel has the same number */
    PDB_PARCEL_UNKNOWN_LANDUSE = 1 << 1,  /* a land-use code not in the code list */
    PDB_PARCEL_AREA_MISMATCH = 1 << 2,    /* surveyed and computed area disagree */
    PDB_PARCEL_REPAIRED = 1 << 3,         /* geometry repaired with MakeValid */
    PDB_PARCEL_NO_SURVEYED_AREA = 1 << 4, /* the survey gave no area */
    PDB_PARCEL_WGS84_REPAIRED = 1 << 5,   /* valid as surveyed but self-intersecting once
                                             reprojected: the WGS 84 geometry was repaired
                                             (MakeValid); the source geometry is as imported */
};

typedef struct pdb_parcel {
    int64_t id;                /* store row id (read); ignored on write */
    char *commune;             /* five-digit commune code */
    char *former_commune;      /* former commune code before the 2025 merger, or NULL */
    char *sheet;               /* map sheet number, as text ("12", "12a") */
    char *parcel;              /* parcel number within the sheet, as text */
    char *landuse;             /* land-use codes joined by '+'; the first is the main one */
    double area_surveyed_m2;   /* as the survey gives it; NAN when absent */
    double area_computed_m2;   /* from the source geometry in its TM-3 metres (read) */
    char *address;             /* NULL when absent */
    char *owner;               /* personal data: NULL unless asked for */
    int source_srid;           /* EPSG code of the source geometry (read) */
    int64_t batch_id;          /* import run that wrote it (read) */
    char *valid_from;          /* ISO 8601 UTC (read) */
    char *valid_to;            /* ISO 8601 UTC, NULL while current (read) */
    unsigned flags;            /* PDB_PARCEL_* */
    unsigned char *source_wkb; /* exact source geometry, ISO WKB, as imported */
    size_t source_wkb_len;     /* bytes */
    unsigned char *wgs84_wkb;  /* MULTIPOLYGON in WGS 84 lon/lat, ISO WKB (read) */
    size_t wgs84_wkb_len;      /* bytes */
    /* The national attribute set, where the survey carries it (NULL when
     * not): docs/import.md. */
    char *prev_sheet;   /* SoHieuToBanDoCu: the sheet the parcel had before */
    char *prev_parcel;  /* SoThuTuThuaCu: its number there */
    char *certificate;  /* SoHieuGCN, the land-use right certificate's serial:
                           personal data, NULL unless PDB_READ_PERSONAL */
    char *record_start; /* ThoiDiemBatDau: "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS" */
    char *record_end;   /* ThoiDiemKetThuc, the same forms; not valid_to */
} pdb_parcel;

typedef struct pdb_parcel_list {
    size_t count;       /* parcels in items */
    pdb_parcel *items;  /* count parcels, owned by the list */
    int truncated;      /* 1 when max_results cut the answer */
} pdb_parcel_list;

/* Frees a parcel's fields (not the struct itself, which may live in a list
 * or on the stack); accepts NULL. */
PDB_API void pdb_parcel_clear(pdb_parcel *p);
PDB_API void pdb_parcel_list_free(pdb_parcel_list *list);

/* What a read fills in besides the identity and attributes. */
enum {
    PDB_READ_PERSONAL = 1 << 0, /* the owner and certificate; only for authorised callers */
    PDB_READ_WGS84 = 1 << 1,    /* wgs84_wkb */
    PDB_READ_SOURCE = 1 << 2,   /* source_wkb */
    PDB_READ_HISTORY = 1 << 3,  /* include superseded parcels (by-number queries) */
};

/* Current parcels containing a point in WGS 84 (lon, lat degrees), in a
 * deterministic order (see docs/lookup.md: a point on an edge shared by two
 * parcels belongs to exactly one of them: the parcel to its east, or on an
 * east-west edge the parcel to its north). Empty list when none. */
PDB_API pdb_status pdb_parcels_at(pdb_ctx *ctx, pdb_store *store, double lon, double lat,
                                  unsigned read_flags, pdb_parcel_list **out);

/* One point's answer in a batch lookup. */
typedef struct pdb_point_parcel {
    int64_t id;          /* the parcel's store id, or 0 when no current parcel holds the point */
    const char *commune; /* its commune code, sheet and parcel number: borrowed from the */
    const char *sheet;   /*   store handle until the next call on it; NULL when id is 0 */
    const char *parcel;
} pdb_point_parcel;

/* The batch form of pdb_parcels_at, for many points at once: for each of n
 * WGS 84 points (lonlat[2i] = lon, lonlat[2i+1] = lat), the first parcel
 * pdb_parcels_at would list (the lowest id), all in one snapshot of the
 * store. Fills out[0..n-1]. PDB_EINVAL (naming the 1-based point) for a
 * point out of range, and then nothing is filled; PDB_EBUSY while a load
 * is open on the handle. */
PDB_API pdb_status pdb_parcels_first_at(pdb_ctx *ctx, pdb_store *store, const double *lonlat,
                                        size_t n, pdb_point_parcel *out);

/* What the point-lookup index holds in memory in this process: the
 * communes loaded (each once, however many handles use it) and their
 * bytes. For monitoring (the server's /metrics). */
PDB_API void pdb_lookup_index_memory(size_t *communes, size_t *bytes);

/* The same, for a point given in any registered CRS (x = easting or lon). */
PDB_API pdb_status pdb_parcels_at_crs(pdb_ctx *ctx, pdb_store *store, int epsg, double x,
                                      double y, unsigned read_flags, pdb_parcel_list **out);

/* Every current parcel numbered (commune, sheet, parcel), optionally within
 * one former commune (NULL for any); duplicates are all returned, by id.
 * With PDB_READ_HISTORY superseded parcels are included too. PDB_EINVAL,
 * with the reason, for a malformed number: a commune that is not one of the
 * province's codes, a sheet or parcel that is not a positive integer, a
 * former commune that is not five digits. A well-formed number the store
 * does not hold is an empty list (PDB_OK). */
PDB_API pdb_status pdb_parcels_by_number(pdb_ctx *ctx, pdb_store *store, const char *commune,
                                         const char *former_commune, const char *sheet,
                                         const char *parcel, unsigned read_flags,
                                         pdb_parcel_list **out);

/* Current parcels whose geometry intersects a WGS 84 box, ordered by id,
 * limit at most max_results. */
PDB_API pdb_status pdb_parcels_in_bbox(pdb_ctx *ctx, pdb_store *store, double min_lon,
                                       double min_lat, double max_lon, double max_lat,
                                       size_t limit, size_t offset, unsigned read_flags,
                                       pdb_parcel_list **out);

/* What one page of parcels asks for (pdb_parcels_page). Filters left NULL
 * (has_bbox 0) do not filter. */
typedef struct pdb_page_query {
    int64_t after_id;    /* only parcels with a larger store id: the last id of the previous
                            page, 0 for the first page */
    size_t limit;        /* parcels at most; 0 or over max_results: max_results */
    int has_bbox;        /* 1: only parcels whose geometry intersects bbox */
    double bbox[4];      /* WGS 84 min lon, min lat, max lon, max lat */
    const char *commune; /* five-digit commune code, or NULL */
    const char *sheet;   /* map sheet number as text, or NULL */
    const char *parcel;  /* parcel number as text, or NULL */
    const char *landuse; /* one land-use code (upper-case letters and digits): parcels
                            with it among their codes ("CLN" matches "ONT+CLN"), or NULL */
    const char *at;      /* "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC): the parcels valid at that
                            instant (valid_from <= at < valid_to), superseded ones included;
                            NULL: the current parcels */
    int64_t before_id;   /* > 0: the page before this id instead (the previous page): the
                            last q->limit matches with an id below it, still returned in
                            ascending id order; after_id must then be 0; 0: none */
    const char *until;   /* with at, "YYYY-MM-DDTHH:MM:SS.mmmZ" not before it: the interval
                            [at, until] instead of the instant, the parcels valid at any
                            instant of it (valid_from <= until and at < valid_to), superseded
                            ones included; NULL: at is one instant */
} pdb_page_query;

/* One page of parcels in store-id order, paged by key: the answer holds
 * the first q->limit matches with an id above q->after_id (or, with
 * q->before_id, the last ones below it), and (*out)->truncated is 1 when
 * more follow in the direction read (ask again with after_id = the
 * last id returned). No offset is ever skipped through, so a page deep in
 * the province costs what the first does. PDB_EINVAL for a malformed box,
 * code, land-use code or instant, or an interval that ends before it starts. */
PDB_API pdb_status pdb_parcels_page(pdb_ctx *ctx, pdb_store *store, const pdb_page_query *q,
                                    unsigned read_flags, pdb_parcel_list **out);

/* ------------------------------------------------------------------------ */
/* Time travel: the parcels in force at an instant                           */
/* ------------------------------------------------------------------------ */

/* Bytes of an instant "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) with its NUL: the
 * form valid_from and valid_to are kept in, so that text order is time
 * order. */
#define PDB_INSTANT_LEN 25

/* Turns a date a user gives into the instant it means, in out:
 * "YYYY-MM-DD" is the state at the end of that day in UTC
 * ("YYYY-MM-DDT23:59:59.999Z": every change of that day included);
 * "YYYY-MM-DDTHH:MM:SS[.mmm]Z" is that instant (milliseconds padded).
 * PDB_EINVAL with a one-line reason for anything else, an impossible day
 * (2026-02-30) or time included. */
PDB_API pdb_status pdb_instant_parse(pdb_ctx *ctx, const char *text, char out[PDB_INSTANT_LEN]);

/* Checks that the store holds data at instant at (pdb_instant_parse's
 * form): PDB_ENOTFOUND, with a one-line message naming the first instant
 * the store has parcels for, when at is before it or the store holds no
 * parcel; PDB_EINVAL for a malformed instant. first (may be NULL) gets
 * that first instant (the valid_from of the oldest parcel) on PDB_OK. */
PDB_API pdb_status pdb_store_check_instant(pdb_ctx *ctx, pdb_store *store, const char *at,
                                           char first[PDB_INSTANT_LEN]);

/* pdb_parcels_at at instant at (valid_from <= at < valid_to, superseded
 * parcels included): read from the store, never from the in-memory
 * lookup index (which holds current parcels only); the same edge rule.
 * PDB_EINVAL for a malformed instant or point. The caller owns *out. */
PDB_API pdb_status pdb_parcels_at_time(pdb_ctx *ctx, pdb_store *store, double lon, double lat,
                                       const char *at, unsigned read_flags,
                                       pdb_parcel_list **out);

/* pdb_parcels_by_number at instant at: every parcel numbered (commune,
 * sheet, parcel) that was in force then, by id. PDB_EINVAL as
 * pdb_parcels_by_number, or for a malformed instant. The caller owns *out. */
PDB_API pdb_status pdb_parcels_by_number_at(pdb_ctx *ctx, pdb_store *store, const char *commune,
                                            const char *former_commune, const char *sheet,
                                            const char *parcel, const char *at,
                                            unsigned read_flags, pdb_parcel_list **out);

/* A parcel's history: every version of (commune, sheet, parcel), current
 * and superseded, oldest first. PDB_EINVAL for a malformed number, as
 * pdb_parcels_by_number. */
PDB_API pdb_status pdb_parcel_history(pdb_ctx *ctx, pdb_store *store, const char *commune,
                                      const char *sheet, const char *parcel,
                                      unsigned read_flags, pdb_parcel_list **out);

/* One parcel by store id (current or superseded). PDB_ENOTFOUND if none. */
PDB_API pdb_status pdb_parcel_get(pdb_ctx *ctx, pdb_store *store, int64_t id,
                                  unsigned read_flags, pdb_parcel **out);
/* Frees a parcel returned by pdb_parcel_get; accepts NULL. */
PDB_API void pdb_parcel_free(pdb_parcel *p);

/* A parcel's geometry decoded, in the layout of pdb_feature: part p has
 * rings part_ring[p] .. part_ring[p+1]-1 (the first its exterior), ring r
 * has points ring_point[r] .. ring_point[r+1]-1 (closed: first == last),
 * point i is (xy[2i], xy[2i+1]), x = easting or lon. */
typedef struct pdb_polygons {
    size_t nparts;      /* polygons */
    size_t nrings;      /* rings over all polygons */
    size_t npoints;     /* points over all rings */
    size_t *part_ring;  /* nparts + 1 ring offsets */
    size_t *ring_point; /* nrings + 1 point offsets */
    double *xy;         /* 2 * npoints coordinates, x first */
} pdb_polygons;

/* Decodes a parcel's ISO WKB POLYGON or MULTIPOLYGON (source_wkb or
 * wgs84_wkb) exactly as stored, within the context's limits, so that a
 * caller outside the engine (the extract's vertex table) reads surveyed
 * coordinates without a WKB parser of its own. PDB_EGEOM for anything
 * else. The caller owns *out (pdb_polygons_free). */
PDB_API pdb_status pdb_wkb_to_polygons(pdb_ctx *ctx, const unsigned char *wkb, size_t len,
                                       pdb_polygons **out);
PDB_API void pdb_polygons_free(pdb_polygons *g);

/* ------------------------------------------------------------------------ */
/* Features for rendering: borrowed, no copies                               */
/* ------------------------------------------------------------------------ */

/* A parcel or an overview shape as a renderer needs it; every pointer is
 * borrowed and valid only during the callback. Coordinates are WGS 84
 * lon/lat (survey_srid 0), or, for a parcel read by
 * pdb_features_in_bbox_survey in its own survey CRS, its survey geometry
 * as imported, easting first (survey_srid that EPSG code): part p has rings
 * part_ring[p] .. part_ring[p+1]-1, ring r has points ring_point[r] ..
 * ring_point[r+1]-1, point i is (xy[2i], xy[2i+1]). */
typedef struct pdb_feature {
    int64_t id;               /* parcel id, or 0 for an overview shape */
    const char *commune;      /* commune code */
    const char *sheet;        /* sheet number, NULL for an overview shape */
    const char *parcel;       /* parcel number, NULL for an overview shape */
    const char *landuse;      /* all codes ("ONT+CLN"); the main one for overviews */
    const char *landuse_main; /* the first code */
    double area_m2;           /* computed area in TM-3 metres (sum for overviews) */
    size_t nparts;            /* polygons */
    const size_t *part_ring;  /* nparts + 1 ring offsets */
    size_t nrings;            /* rings over all polygons */
    const size_t *ring_point; /* nrings + 1 point offsets */
    size_t npoints;           /* points over all rings */
    const double *xy;         /* 2 * npoints coordinates, lon (or easting) first */
    int survey_srid;          /* 0: xy is WGS 84; else the EPSG of xy, the parcel's
                                 source_srid, and xy its source geometry to the bit */
} pdb_feature;

/* Called once per feature; return non-zero to stop early (the call then
 * still returns PDB_OK). */
typedef int (*pdb_feature_fn)(void *arg, const pdb_feature *f);

/* Every current parcel whose box meets a WGS 84 box, in id order, through
 * the R-tree (a superset: boxes, not exact geometry; a renderer clips). */
PDB_API pdb_status pdb_features_in_bbox(pdb_ctx *ctx, pdb_store *store, const double bbox[4],
                                        pdb_feature_fn fn, void *arg);

/* pdb_features_in_bbox at instant at (pdb_instant_parse's form): the
 * parcels in force then (valid_from <= at < valid_to), superseded ones
 * included, in id order; at NULL is pdb_features_in_bbox. PDB_EINVAL for
 * a malformed instant or box. */
PDB_API pdb_status pdb_features_in_bbox_at(pdb_ctx *ctx, pdb_store *store, const double bbox[4],
                                           const char *at, pdb_feature_fn fn, void *arg);

/* pdb_features_in_bbox (the same parcels, the same order, the same WGS 84
 * box), but a parcel whose source_srid is survey_epsg comes with its
 * survey geometry as imported (Z and M dropped), not its WGS 84 geometry,
 * and survey_srid = survey_epsg: a map in that CRS places it with no
 * transformation and no round-trip loss. Parcels of other zones come in
 * WGS 84 (survey_srid 0), as from pdb_features_in_bbox, and so do those
 * repaired at import (PDB_PARCEL_REPAIRED: their survey geometry is the
 * invalid shape, the stored one is the repair). PDB_EINVAL for a
 * survey_epsg that is not a projected VN-2000 CRS the engine knows (0
 * included), or a malformed box; PDB_EGEOM when a stored survey geometry
 * cannot be read. */
PDB_API pdb_status pdb_features_in_bbox_survey(pdb_ctx *ctx, pdb_store *store,
                                               const double bbox[4], int survey_epsg,
                                               pdb_feature_fn fn, void *arg);

/* ------------------------------------------------------------------------ */
/* Overviews: generalised shapes for low zooms                               */
/* ------------------------------------------------------------------------ */

/* The deepest zoom overviews are made for. Overviews are, per commune and
 * zoom band (z0-7, z8-10, z11-13, z14), its parcels dissolved by main
 * land-use code and simplified to half a pixel, and its outline. Tiles up
 * to z13 draw land use from them; z14 from them or from parcels (a
 * renderer's choice: the same picture when nothing but land use is
 * drawn); deeper tiles draw parcels (pdb_features_in_bbox). */
#define PDB_OVERVIEW_MAX_ZOOM 14

/* What pdb_overview_features returns. */
enum {
    PDB_OVERVIEW_LANDUSE = 1 << 0,  /* per commune, the parcels of one main land-use
                                       code dissolved and simplified to the zoom's
                                       pixel size: landuse = landuse_main = the code */
    PDB_OVERVIEW_COMMUNES = 1 << 1, /* per commune, its outline (the union of its
                                       parcels): landuse and landuse_main are NULL */
    PDB_OVERVIEW_BASE = 1 << 2,     /* per commune, in z8-10 only, one shape
                                       in its dominant land use (by area) covering
                                       it, to be drawn under its PDB_OVERVIEW_LANDUSE
                                       shapes: where a mosaic of small patches
                                       vanished in the simplification, the base
                                       shows; landuse = landuse_main = the code.
                                       Ask for it in a call of its own (the order
                                       within one call is not by kind) */
};

/* Calls fn for every overview shape of the given kinds whose box meets a
 * WGS 84 box, at the generalisation made for zoom (zooms over
 * PDB_OVERVIEW_MAX_ZOOM get the finest), in a deterministic order.
 * Features carry id 0, sheet and parcel NULL and the summed computed area.
 * A commune imported since its overviews were built (they are stale) is
 * answered with its current parcels instead, as PDB_OVERVIEW_LANDUSE
 * features of one parcel each, and has no outline until rebuilt: no shape
 * is ever older than the data version. PDB_ENOTFOUND when the store
 * predates overviews and was never opened read-write since. */
PDB_API pdb_status pdb_overview_features(pdb_ctx *ctx, pdb_store *store, int zoom, unsigned kinds,
                                         const double bbox[4], pdb_feature_fn fn, void *arg);

/* What a rebuild did. */
typedef struct pdb_overview_report {
    size_t rebuilt;          /* communes whose overviews were built (fallbacks included) */
    size_t fallback;         /* of those, built with a fallback (PDB_OVERVIEW_STATE_FALLBACK) */
    size_t failed;           /* communes whose rebuild failed (PDB_OVERVIEW_STATE_FAILED) */
    char first_failure[600]; /* "commune 05089: reason" of the first that failed, or "" */
} pdb_overview_report;

/* Rebuilds overviews in one write transaction: of one commune, or, when
 * commune is NULL, of every commune that needs it (imported since its
 * overviews were built, or before overviews existed), commune by commune.
 * A commune whose rebuild fails (its parcels' geometry defeats GEOS even
 * through the fallbacks) is confined: its own changes are rolled back, it
 * stays stale (drawn from its parcels, a correct picture), its state
 * becomes PDB_OVERVIEW_STATE_FAILED with the reason (pdb_communes_list),
 * and the others are built and kept. The rule for retries: a failed
 * commune is not tried again by a NULL rebuild until it is imported again
 * (new data, new chance) or is rebuilt by name, so that one bad commune
 * costs each later import nothing. Returns PDB_OK when the run happened
 * (rep says what failed); a commune asked for by name that fails returns
 * PDB_EGEOM with its reason (the failure is recorded all the same);
 * PDB_ENOTFOUND for a commune not in the store; store errors roll the
 * whole run back. Bumps the data version when any commune was rebuilt or
 * failed (a state change), and stamps those communes with it
 * (pdb_commune.data_version), so that caches drop the tiles drawn from
 * parcels meanwhile and readers see the new states. An import
 * commits its communes without this (it costs about as much as the import
 * itself, docs/rendering.md): run it after an import, or let the server
 * run it. PDB_EREADONLY on a read-only handle. rep may be NULL. */
PDB_API pdb_status pdb_overview_rebuild_report(pdb_ctx *ctx, pdb_store *store,
                                               const char *commune, pdb_overview_report *rep);

/* pdb_overview_rebuild_report, with only the number of communes rebuilt
 * (may be NULL). */
PDB_API pdb_status pdb_overview_rebuild(pdb_ctx *ctx, pdb_store *store, const char *commune,
                                        size_t *rebuilt);

/* Overviews built beside an import, on a thread of their own, so that a
 * commune's dissolve and simplification (about as much CPU as its load)
 * uses the core the load leaves idle. After each commune's commit, hand
 * the commune to pdb_overview_builder_add: it queues the commune for the
 * builder thread (which reads its parcels through a read-only handle of
 * its own on the same file) and writes, on the calling thread (which must
 * be the store handle's only user, with no load open), what that thread
 * has built so far, each commune in a write transaction of its own
 * with the outcome pdb_overview_rebuild gives it (rebuilt, fallback, or
 * failed and confined). A commune handed again replaces its job not yet
 * written. At most three communes wait: add waits for the builder when
 * they do. pdb_overview_builder_finish writes the rest, stamps every
 * commune written with one new data version (as one pdb_overview_rebuild
 * of them would: until then their new overviews are read at the version
 * of the parcels they were built from) and reports the communes written. A store error while writing is returned (the commune
 * stays stale, as after an import without a builder, for
 * pdb_overview_rebuild to build); so does a commune the builder could not
 * read. On PostgreSQL, for a store in memory, and when no thread can be
 * started, nothing is queued and every commune is left for
 * pdb_overview_rebuild. */
typedef struct pdb_overview_builder pdb_overview_builder;
PDB_API pdb_status pdb_overview_builder_start(pdb_ctx *ctx, pdb_store *store,
                                              pdb_overview_builder **out);
PDB_API pdb_status pdb_overview_builder_add(pdb_ctx *ctx, pdb_overview_builder *builder,
                                            const char *commune);
PDB_API pdb_status pdb_overview_builder_finish(pdb_ctx *ctx, pdb_overview_builder *builder,
                                               pdb_overview_report *rep);
/* Stops the builder thread and frees it; jobs not written are dropped
 * (those communes stay stale). Accepts NULL. */
PDB_API void pdb_overview_builder_free(pdb_overview_builder *builder);

/* ------------------------------------------------------------------------ */
/* Communes in the store                                                     */
/* ------------------------------------------------------------------------ */

/* The state of a commune's overviews (pdb_commune.overview_state). */
typedef enum pdb_overview_state {
    PDB_OVERVIEW_STATE_FRESH = 0, /* built from its current parcels */
    PDB_OVERVIEW_STATE_STALE,     /* imported since (or never built): waiting for a rebuild;
                                     low zooms draw its parcels meanwhile */
    PDB_OVERVIEW_STATE_FAILED,    /* the last rebuild failed (overview_reason says why): drawn
                                     from its parcels, not retried until imported again or
                                     rebuilt by name */
    PDB_OVERVIEW_STATE_FALLBACK   /* built, but with a fallback (overview_reason says why):
                                     e.g. its parcels undissolved; the same picture, heavier */
} pdb_overview_state;

typedef struct pdb_commune {
    char code[8];            /* five-digit commune code */
    char *name;              /* UTF-8 name */
    int source_srid;         /* EPSG of its last import */
    double bbox[4];          /* WGS 84 min lon, min lat, max lon, max lat */
    int64_t parcels;         /* current parcels */
    int64_t last_batch;      /* import run that wrote the current parcels */
    pdb_overview_state overview_state; /* its overviews: fresh, stale, failed, fallback */
    char *overview_reason;   /* why FAILED or FALLBACK, else NULL; owned by the list */
    char overview_since[32]; /* since when not FRESH (ISO 8601 UTC), or "" */
    int64_t data_version;    /* the store's data version at which this commune last changed:
                                its commit, or its overviews' rebuild or state change (so a
                                reader that saw version V knows exactly the communes changed
                                since: those above V); -1 in a store of schema 1 opened
                                read-only, which does not keep it */
} pdb_commune;

typedef struct pdb_commune_list {
    size_t count;        /* communes in items */
    pdb_commune *items;  /* ordered by code, owned by the list */
} pdb_commune_list;

/* The communes in the store, with the state of their overviews. */
PDB_API pdb_status pdb_communes_list(pdb_ctx *ctx, pdb_store *store, pdb_commune_list **out);
PDB_API void pdb_commune_list_free(pdb_commune_list *list);

/* ------------------------------------------------------------------------ */
/* Writing: import runs, one transaction per commune                          */
/* ------------------------------------------------------------------------ */

typedef struct pdb_import_counts {
    int64_t read;      /* features read from the source */
    int64_t stored;    /* parcels written (repaired ones included) */
    int64_t repaired;  /* stored after MakeValid */
    int64_t rejected;  /* not stored; each has a row in rejects */
    int64_t flagged;   /* stored with a PDB_PARCEL_* flag */
    int64_t wgs84_repaired; /* stored, valid as surveyed, whose WGS 84 geometry was repaired
                               after reprojection (PDB_PARCEL_WGS84_REPAIRED; set by
                               pdb_writer_commit; no row in rejects) */
} pdb_import_counts;

/* Starts an import run (a row in import_batches, status "running", committed
 * at once so that a killed run is visible as such). */
PDB_API pdb_status pdb_import_begin(pdb_ctx *ctx, pdb_store *store, const char *description,
                                    int64_t *batch_id_out);
/* Ends it with status "done", "failed" or "partial" and the run's totals. */
PDB_API pdb_status pdb_import_end(pdb_ctx *ctx, pdb_store *store, int64_t batch_id,
                                  const char *status, const pdb_import_counts *totals);

/* Whether a file with this checksum (hex SHA-256) was committed before:
 * *batch_out is its import run, or 0 when never. */
PDB_API pdb_status pdb_import_find_checksum(pdb_ctx *ctx, pdb_store *store,
                                            const char *checksum, int64_t *batch_out);

typedef struct pdb_writer pdb_writer;

/* Describes one commune's load from one source. */
typedef struct pdb_commune_load {
    int64_t batch_id;       /* from pdb_import_begin */
    const char *commune;    /* five-digit code */
    const char *name;       /* commune name, or NULL to use the registered one */
    int source_srid;        /* EPSG of every geometry passed to pdb_writer_add */
    const char *file;       /* source path, as given */
    const char *checksum;   /* hex SHA-256 of the source file(s) */
} pdb_commune_load;

/* Opens the commune's write transaction (BEGIN IMMEDIATE) and supersedes its
 * current parcels (valid_to set, history kept). Nothing is visible to
 * readers before pdb_writer_commit; pdb_writer_free without a commit rolls
 * back and leaves the store as it was. */
PDB_API pdb_status pdb_writer_begin(pdb_ctx *ctx, pdb_store *store,
                                    const pdb_commune_load *load, pdb_writer **out);

/* Adds one parcel: commune (must equal the load's), former_commune, sheet,
 * parcel, landuse, area_surveyed_m2, address, owner, flags and source_wkb
 * (a POLYGON or MULTIPOLYGON in the load's source_srid) are read; the rest
 * is computed: the WGS 84 geometry through EPSG:6960, the computed area in
 * source metres. PDB_ELIMIT over the vertex limits, PDB_EGEOM for WKB that
 * does not parse, PDB_ECRS when a point does not transform. A failed add
 * leaves the transaction usable. *id_out (may be NULL) is the new row id. */
PDB_API pdb_status pdb_writer_add(pdb_ctx *ctx, pdb_writer *w, const pdb_parcel *p,
                                  int64_t *id_out);

/* A parcel's geometry made ready for the store: parsed (with the context's
 * limits), measured in TM-3 metres (a geographic source in its commune's
 * zone), transformed to WGS 84 and validated again there: a WGS 84
 * geometry that reprojection made invalid is repaired with MakeValid
 * (the parcel is then stored with PDB_PARCEL_WGS84_REPAIRED; its source
 * geometry is kept as imported), and one with no area left fails
 * (PDB_EGEOM). pdb_writer_add does this itself; an
 * importer may do it on its reading threads instead, each with its own
 * context, and hand the result to pdb_writer_add_prepared, so that the
 * writing thread only writes. Fails as pdb_writer_add would. */
typedef struct pdb_geom_prepared pdb_geom_prepared;

PDB_API pdb_status pdb_geom_prepare(pdb_ctx *ctx, int source_srid, const char *commune,
                                    const unsigned char *wkb, size_t len,
                                    pdb_geom_prepared **out);
PDB_API void pdb_geom_prepared_free(pdb_geom_prepared *g);

/* pdb_writer_add with the geometry already prepared (for the load's
 * source_srid; p->source_wkb is still stored as the source geometry). */
PDB_API pdb_status pdb_writer_add_prepared(pdb_ctx *ctx, pdb_writer *w, const pdb_parcel *p,
                                           const pdb_geom_prepared *g, int64_t *id_out);

/* One record that could not be stored as is. */
typedef struct pdb_reject {
    const char *file;                /* source path */
    int64_t feature_index;           /* 0-based index of the feature in its layer */
    const char *reason;              /* stable code: "null-geometry", "invalid-geometry", ... */
    const char *detail;              /* human-readable detail, may be NULL */
    const char *attributes_json;     /* raw attributes as a JSON object, may be NULL */
    const unsigned char *geometry_wkb; /* raw geometry as read, may be NULL */
    size_t geometry_wkb_len;         /* bytes */
    int stored;                      /* 1 when the record was stored repaired */
} pdb_reject;

PDB_API pdb_status pdb_writer_reject(pdb_ctx *ctx, pdb_writer *w, const pdb_reject *r);

/* Flags duplicate numbers (PDB_PARCEL_DUPLICATE_NUMBER on every parcel of
 * the commune sharing its former commune, sheet and parcel number with
 * another), updates the communes row (bbox, counts), records the file and
 * its checksum, bumps the data version and commits. counts are this load's
 * figures for import_files; counts->flagged is replaced by the number of
 * stored parcels that carry any flag once duplicates are known, and
 * counts->wgs84_repaired by the number of this load's parcels repaired
 * after reprojection. */
PDB_API pdb_status pdb_writer_commit(pdb_ctx *ctx, pdb_writer *w, pdb_import_counts *counts);

/* Rolls back unless committed, and frees. Accepts NULL. */
PDB_API void pdb_writer_free(pdb_writer *w);

/* ------------------------------------------------------------------------ */
/* GeoJSON (RFC 7946)                                                        */
/* ------------------------------------------------------------------------ */

/* One parcel as a GeoJSON Feature (geometry from wgs84_wkb, exterior rings
 * counter-clockwise, 9 decimals); the owner appears only when p->owner is
 * set and include_personal is 1. *json_out is caller-owned (pdb_free). */
PDB_API pdb_status pdb_parcel_to_geojson(pdb_ctx *ctx, const pdb_parcel *p,
                                         int include_personal, char **json_out);

/* A list as a FeatureCollection. */
PDB_API pdb_status pdb_parcels_to_geojson(pdb_ctx *ctx, const pdb_parcel_list *list,
                                          int include_personal, char **json_out);

/* ------------------------------------------------------------------------ */
/* Backups (SQLite's online backup API)                                      */
/* ------------------------------------------------------------------------ */

typedef struct pdb_backup_options {
    int pages_per_step;  /* pages copied per step; 0: 1024 (8 MiB of a store) */
    int pause_ms;        /* sleep between steps, so that a writer gets the disk; 0: 5 */
    int busy_timeout_ms; /* give up when the files stay locked this long; 0: 60000 */
    int force;           /* 1: replace an existing dest_path (never the store itself) */
    /* Called after each step with the pages left and in all; may be NULL. */
    void (*progress)(void *arg, int remaining_pages, int total_pages);
    void *progress_arg;  /* handed to progress */
} pdb_backup_options;

typedef struct pdb_backup_result {
    int64_t pages;        /* pages copied */
    int64_t bytes;        /* size of the copy */
    int64_t data_version; /* the data version of the copy (the snapshot it holds) */
} pdb_backup_result;

/* Copies the store to dest_path while readers and a writer keep working.
 * The copy is one committed state (the store's connection holds one read
 * transaction for the whole copy, so an import that commits meanwhile is
 * either wholly in it or not at all). It is written to a temporary file
 * beside dest_path, checked with PRAGMA integrity_check, fsynced and then
 * moved into place, so dest_path is never a half-written file. Fails with
 * PDB_EINVAL when dest_path exists (without opt->force), is the store
 * itself, or has a -wal file (a store in use); PDB_EIO when the directory
 * cannot be written or the disk fills (nothing is left behind);
 * PDB_EBUSY when the files stay locked past the timeout; PDB_ECORRUPT when
 * the copy fails its check. opt and result may be NULL. The store's
 * connection must not be in a write (a pdb_writer). */
PDB_API pdb_status pdb_store_backup(pdb_ctx *ctx, pdb_store *store, const char *dest_path,
                                    const pdb_backup_options *opt, pdb_backup_result *result);

/* ------------------------------------------------------------------------ */
/* Search by owner or address, and the audit of personal data (issue 14)    */
/* ------------------------------------------------------------------------ */

/* The most parcels one search returns, and the most words it looks for. */
#define PDB_SEARCH_MAX_LIMIT 1000
#define PDB_SEARCH_MAX_TERMS 16

/* What to look for. Text is matched accent- and case-insensitively, word by
 * word (Vietnamese folded as fold.c says: "nguyen van a" finds "Nguyễn Văn
 * A", NFD and the old tone placement "hoà" too); every word must match,
 * the last one or all as a word prefix. At least one of text, owner and
 * address must hold a word. */
typedef struct pdb_search_query {
    const char *text;    /* words in the address, or the owner with PDB_READ_PERSONAL; or NULL */
    const char *owner;   /* words in the owner's name only (needs PDB_READ_PERSONAL); or NULL */
    const char *address; /* words in the address only; or NULL */
    const char *commune; /* only this commune (five digits), or NULL for all */
    const char *landuse; /* only parcels with this land-use code among theirs, or NULL */
    size_t limit;        /* at most this many parcels; 0 for 20; at most PDB_SEARCH_MAX_LIMIT */
} pdb_search_query;

/* Current parcels matching q, ranked: the words as one phrase first, then
 * all the words as whole words, then as word prefixes; by id within each
 * rank. Without PDB_READ_PERSONAL owner names are never matched (q->text
 * then looks in addresses only) and never returned; q->owner without it
 * fails with PDB_EINVAL. PDB_EINVAL for no words or a malformed commune
 * code, PDB_ELIMIT for more than PDB_SEARCH_MAX_TERMS words or a limit
 * over PDB_SEARCH_MAX_LIMIT. truncated is set when more parcels matched.
 * The caller owns *out (pdb_parcel_list_free). */
PDB_API pdb_status pdb_parcels_search(pdb_ctx *ctx, pdb_store *store, const pdb_search_query *q,
                                      unsigned read_flags, pdb_parcel_list **out);

/* Records one answer that showed owner names in the store's append-only
 * audit table: the time (UTC, now), who (a token's NAME, never the token
 * itself; the user name for the command line), what (the route or the
 * command, e.g. "GET /parcels/at" or "parceldb lookup"), and the store ids
 * of the parcels shown (n may be 0: a personal search that found none).
 * The store must be open read-write (PDB_EREADONLY otherwise): a server
 * reading through read-only handles keeps one read-write handle for this.
 * Every caller that shows owner names must call it, and must not show
 * them when it fails. */
PDB_API pdb_status pdb_audit_record(pdb_ctx *ctx, pdb_store *store, const char *who,
                                    const char *what, const int64_t *parcel_ids, size_t n);

/* One row of the audit table, borrowed during the callback. */
typedef struct pdb_audit_row {
    int64_t id;          /* increasing with time */
    const char *at;      /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
    const char *who;     /* the token's name or the user */
    const char *what;    /* the route or the command */
    const char *parcels; /* the parcels' store ids, comma-separated ("" for none) */
} pdb_audit_row;

/* Calls fn with each audit row, oldest first, at or after since (an ISO
 * date or time, "2026-12-01" or "2026-12-01T08:00:00Z"; NULL for all) and
 * of one token name (NULL for all), until fn returns non-zero. PDB_EINVAL
 * for a since that is not such a date. Works on a read-only handle. */
PDB_API pdb_status pdb_audit_list(pdb_ctx *ctx, pdb_store *store, const char *since,
                                  const char *who, int (*fn)(void *arg, const pdb_audit_row *row),
                                  void *arg);

/* ------------------------------------------------------------------------ */
/* Quality checks (docs/qa.md)                                               */
/* ------------------------------------------------------------------------ */

/* What a finding means for the commune's acceptance. */
typedef enum pdb_qa_severity {
    PDB_QA_OFF = 0, /* the check does not run (a rules file's "off") */
    PDB_QA_INFO,    /* reported, nothing to fix */
    PDB_QA_WARNING, /* to look at; does not refuse a commune */
    PDB_QA_ERROR    /* refuses a commune (`parceldb qa` exits 2) */
} pdb_qa_severity;

/* The checks, each with a stable name (pdb_qa_check_name). */
typedef enum pdb_qa_check {
    PDB_QA_OVERLAP,          /* two parcels of a commune overlap */
    PDB_QA_OVERLAP_COMMUNE,  /* parcels of two communes overlap at their boundary */
    PDB_QA_GAP,              /* a sliver or small hole in a commune's coverage */
    PDB_QA_OUTSIDE_COMMUNE,  /* a parcel outside its commune's boundary (see docs/qa.md) */
    PDB_QA_DUPLICATE_NUMBER, /* the same (sheet, parcel) number twice */
    PDB_QA_MISSING_NUMBER,   /* numbers missing from a sheet's sequence */
    PDB_QA_AREA_MISMATCH,    /* registered area beyond the tolerance for the scale */
    PDB_QA_INVALID,          /* a stored geometry that is not valid */
    PDB_QA_REPAIRED,         /* a geometry stored repaired (MakeValid at import) */
    PDB_QA_TINY,             /* a parcel smaller than an area */
    PDB_QA_NEEDLE,           /* a parcel thinner than 4 pi A / P^2 allows */
    PDB_QA_CLOSE_VERTICES,   /* consecutive vertices closer than a distance */
    PDB_QA_UNKNOWN_LANDUSE,  /* a land-use code not in the national list */
    PDB_QA_OVERLAP_SLIVER,   /* an overlap (either kind) narrower than its min_width_m
                                everywhere: two surveys' rounding, not an error by default */
    PDB_QA_CHECK_COUNT
} pdb_qa_check;

/* The check's stable name ("overlap", "gap", ...), or NULL out of range. */
PDB_API const char *pdb_qa_check_name(pdb_qa_check check);
/* "error", "warning", "info" or "off". */
PDB_API const char *pdb_qa_severity_name(pdb_qa_severity sev);

/* The rules: each check's severity and thresholds. */
typedef struct pdb_qa_rules pdb_qa_rules;

/* The default rules (docs/qa.md lists them). The caller owns *out. */
PDB_API pdb_status pdb_qa_rules_default(pdb_ctx *ctx, pdb_qa_rules **out);
/* The default rules changed by a rules file: one "check.key = value" a
 * line ("overlap.min_area_m2 = 0.05", "needle.severity = off"), '#'
 * comments. PDB_EINVAL with "FILE:LINE: what is wrong" for an unknown
 * check or key, a value that is not a finite number, a negative threshold
 * or an unknown severity; PDB_ENOTFOUND or PDB_EIO when the file cannot
 * be read. The caller owns *out. */
PDB_API pdb_status pdb_qa_rules_read(pdb_ctx *ctx, const char *path, pdb_qa_rules **out);
PDB_API void pdb_qa_rules_free(pdb_qa_rules *rules);
/* A check's severity under the rules. */
PDB_API pdb_qa_severity pdb_qa_rules_severity(const pdb_qa_rules *rules, pdb_qa_check check);

/* One finding, owned by its report. */
typedef struct pdb_qa_finding {
    pdb_qa_check check;       /* which check */
    pdb_qa_severity severity; /* under the rules of the run */
    char commune[8];          /* the commune */
    char former[8];           /* the parcel's former commune (before the 2025 merger), or "" */
    char *sheet;              /* the parcel's sheet, NULL when none */
    char *parcel;             /* its number; for missing_number the missing ones ("7-9,12");
                                 for a gap, a parcel beside it (the detail names them all) */
    int64_t id;               /* the parcel's store id, 0 when none */
    char other_commune[8];    /* overlap, overlap_commune, overlap_sliver, duplicate_number:
                                 the other parcel's commune, else "" */
    char other_former[8];     /* its former commune, or "" */
    char *other_sheet;        /* and its sheet and number, else NULL */
    char *other_parcel;
    int64_t other_id;         /* its store id, else 0 */
    double measure;           /* what the check measured, in measure_unit */
    const char *measure_unit; /* "m2", "m", "ratio" or "count" (static storage) */
    char *detail;             /* one line for a person, e.g. GEOS's reason; may be NULL */
    int srid;                 /* EPSG of wkb: the commune's survey (TM-3) CRS */
    unsigned char *wkb;       /* the finding's geometry in srid (the overlap's area, the gap,
                                 the parcel), ISO WKB; NULL for missing_number */
    size_t wkb_len;           /* bytes */
} pdb_qa_finding;

/* A check that could not run, and why. */
typedef struct pdb_qa_skip {
    pdb_qa_check check; /* the check */
    char *reason;       /* one line */
} pdb_qa_skip;

typedef struct pdb_qa_report {
    size_t count;              /* findings in items */
    pdb_qa_finding *items;     /* ordered by commune, check, sheet, parcel number */
    size_t ncommunes;          /* communes checked */
    char (*communes)[8];       /* their codes, sorted */
    size_t nskips;             /* checks that did not run */
    pdb_qa_skip *skips;        /* and why */
    size_t parcels;            /* parcels read */
    size_t by_severity[4];     /* findings per pdb_qa_severity */
} pdb_qa_report;

/* Checks the current parcels of n communes (all the store's when n is 0),
 * through the store's reading calls (SQLite or PostgreSQL alike), in each
 * commune's survey (TM-3) CRS: see docs/qa.md for each check. PDB_ENOTFOUND
 * naming a commune the store does not hold, PDB_EINVAL for a malformed
 * code; PDB_EGEOM when a stored geometry cannot be read. The caller owns
 * *out (pdb_qa_report_free). */
PDB_API pdb_status pdb_qa_run(pdb_ctx *ctx, pdb_store *store, const pdb_qa_rules *rules,
                              const char *const *communes, size_t n, pdb_qa_report **out);
PDB_API void pdb_qa_report_free(pdb_qa_report *report);

/* A report as JSON, what `parceldb qa --format json` prints (docs/qa.md):
 * the communes, parcels read, counts per severity, the skipped checks,
 * counts per check, commune and sheet, and every finding (no geometry).
 * PDB_ENOMEM when out of memory. *out is the caller's (pdb_free). */
PDB_API pdb_status pdb_qa_report_to_json(pdb_ctx *ctx, const pdb_qa_report *rep, char **out);

/* ------------------------------------------------------------------------ */
/* Changes to single parcels between surveys, and their lineage (issue 16)  */
/* ------------------------------------------------------------------------ */

/* What a change does. One entry point (pdb_change_apply) takes every kind:
 * each is the same transaction (the parcels read and checked current,
 * superseded, the new ones written, lineage, the change's row, the
 * commune's bookkeeping) around a different geometry check. */
typedef enum pdb_change_kind {
    PDB_CHANGE_SPLIT = 1, /* one parcel into parts that cover it exactly */
    PDB_CHANGE_MERGE,     /* parcels of one commune that touch, into one */
    PDB_CHANGE_UPDATE,    /* attributes (land use, owner, address, legal area), same geometry */
    PDB_CHANGE_RESHAPE    /* a corrected boundary, the same number */
} pdb_change_kind;

/* A parcel named by its number. */
typedef struct pdb_parcel_ref {
    const char *commune; /* five digits */
    const char *sheet;   /* map sheet number */
    const char *parcel;  /* parcel number */
} pdb_parcel_ref;

/* A new parcel's geometry and attributes (a split's part, a reshape's
 * geometry). */
typedef struct pdb_change_part {
    const unsigned char *wkb; /* POLYGON or MULTIPOLYGON, ISO WKB, in the change's srid */
    size_t wkb_len;           /* bytes */
    const char *landuse;      /* land-use codes joined by '+', or NULL: the parent's */
    const char *number;       /* the new parcel number, or NULL: the next free one of the sheet */
    double area_legal_m2;     /* the legal (registered) area, or NAN: none given */
} pdb_change_part;

typedef struct pdb_change {
    pdb_change_kind kind;           /* what to do */
    const pdb_parcel_ref *parcels;  /* the parcels changed: one, or two or more for a merge */
    size_t nparcels;                /* entries of parcels */
    int64_t expect_id;              /* > 0: the store id the caller saw of parcels[0]; another
                                       current version is a conflict; 0: no such check */
    int srid;                       /* EPSG of the parts' geometries; 0: the parcel's survey CRS */
    const pdb_change_part *parts;   /* split: two or more; reshape: one; else none */
    size_t nparts;                  /* entries of parts */
    const char *number;             /* merge: the new number, or NULL: the next free one */
    const char *set_landuse;        /* update (or merge): the new land use, or NULL */
    const char *set_owner;          /* update: the new owner (personal data), or NULL */
    const char *set_address;        /* update: the new address, or NULL */
    double set_area_legal_m2;       /* update: the new legal area, or NAN: unchanged */
    const char *actor;              /* who: a token's name or the OS user (never a token) */
    const char *via;                /* the route or command, for the audit ("parceldb change") */
    const char *reason;             /* why (required) */
    const char *document;           /* the decision or document reference (required) */
} pdb_change;

/* A parcel a change superseded or made. */
typedef struct pdb_change_parcel {
    int64_t id;      /* store id */
    char number[80]; /* "COMMUNE/SHEET/PARCEL" */
    double area_m2;  /* computed area in the survey's metres */
} pdb_change_parcel;

typedef struct pdb_change_result {
    int64_t change_id;          /* the row of the changes table */
    int64_t data_version;       /* the store's data version the change committed */
    char at[32];                /* when (ISO 8601 UTC): valid_to of before, valid_from of after */
    size_t nbefore;             /* parcels superseded */
    pdb_change_parcel *before;  /* owned by the result */
    size_t nafter;              /* parcels made */
    pdb_change_parcel *after;   /* owned by the result */
} pdb_change_result;

/* Applies one change in one write transaction: every named parcel is read
 * inside it and must be current (PDB_ECONFLICT when another change
 * superseded it, or when expect_id is not the current version;
 * PDB_ENOTFOUND for a number never stored); the geometry is checked
 * (split: each part valid, the parts cover the parcel within 1 cm^2 and
 * overlap each other by at most 1 cm^2; merge: one commune, one survey CRS,
 * each parcel sharing a boundary of positive length with another, all
 * connected; reshape: valid and overlapping no current neighbour of the
 * same survey CRS by more than 0.01 m^2); the parcels are superseded
 * (valid_to), the new ones written (prepared as pdb_writer_add does),
 * lineage edges and the changes row written, an audit row when an owner
 * is written, the commune's lookup index, search words, overviews (marked
 * stale) and data version updated as an import does. PDB_EINVAL for a
 * malformed change (one-line reason), PDB_EGEOM for a failed check,
 * PDB_EREADONLY on a read-only handle, PDB_EBUSY while the store stays
 * locked. Nothing is written on failure. *out (may be NULL) is the
 * caller's (pdb_change_result_free). */
PDB_API pdb_status pdb_change_apply(pdb_ctx *ctx, pdb_store *store, const pdb_change *c,
                                    pdb_change_result **out);
PDB_API void pdb_change_result_free(pdb_change_result *r);

/* Parts read from a GeoJSON FeatureCollection (or one Feature) of
 * polygons in a survey CRS: the CRS is the "crs" member ("EPSG:9208",
 * "urn:ogc:def:crs:EPSG::9208") or default_epsg when it has none (0: the
 * member is required); each feature's properties may give "landuse" (or
 * "LoaiDat"), "number" (or "SoThua") and "area_legal" (or "DienTich").
 * PDB_EINVAL with a one-line reason for anything else (not JSON, not
 * GeoJSON, a non-polygon, a CRS given twice differently), PDB_ELIMIT over
 * the context's vertex limits or 1000 parts. */
typedef struct pdb_change_parts pdb_change_parts;
PDB_API pdb_status pdb_change_parts_read(pdb_ctx *ctx, const char *text, size_t len,
                                         int default_epsg, pdb_change_parts **out);
/* The parts (borrowed from p), their count and their EPSG. */
PDB_API const pdb_change_part *pdb_change_parts_items(const pdb_change_parts *p, size_t *count,
                                                     int *epsg);
PDB_API void pdb_change_parts_free(pdb_change_parts *p);

/* One edge of a parcel's lineage. */
typedef struct pdb_lineage_step {
    int64_t parent_id;     /* the parcel before */
    int64_t child_id;      /* the parcel after */
    char parent[80];       /* its number "COMMUNE/SHEET/PARCEL" */
    char child[80];        /* likewise */
    char kind[12];         /* "split", "merge", "reshape", "update", "renumber" or "unchanged";
                              in pdb_import_changes_get also "new" and "retired" */
    double overlap_m2;     /* area the two share, in the survey's metres */
    int64_t change_id;     /* the change that made it (0: an import) */
    char at[32];           /* when (ISO 8601 UTC) */
    char *reason;          /* the change's reason, or NULL; owned by the lineage */
    char *document;        /* the change's document, or NULL; owned by the lineage */
    int descendant;        /* 0: a step towards the parcel (ancestry), 1: away from it */
    int64_t batch_id;      /* the import (or the change's batch) that made it */
} pdb_lineage_step;

typedef struct pdb_lineage {
    int64_t id;              /* the parcel asked about */
    char number[80];         /* its number */
    size_t count;            /* steps */
    pdb_lineage_step *steps; /* ancestors first (oldest first), then descendants (oldest first) */
} pdb_lineage;

/* Every ancestor and descendant of a parcel (by store id) through the
 * lineage edges, each step with its date and the change that made it.
 * PDB_ENOTFOUND for an unknown id; a parcel with no lineage has no steps.
 * The caller owns *out (pdb_lineage_free). */
PDB_API pdb_status pdb_parcel_lineage(pdb_ctx *ctx, pdb_store *store, int64_t id,
                                      pdb_lineage **out);
/* The lineage as JSON: {"id":..,"parcel":"C/S/P","ancestors":[..],"descendants":[..]};
 * *json_out is the caller's (pdb_free). */
PDB_API pdb_status pdb_lineage_to_json(pdb_ctx *ctx, const pdb_lineage *l, char **json_out);
PDB_API void pdb_lineage_free(pdb_lineage *l);

/* What a re-import did to a commune's parcels (docs/changes.md): the new
 * parcels are matched with those they supersede by overlap in the survey
 * CRS, inside the commune's transaction, and each group of parcels is one
 * class. */
typedef enum pdb_lineage_class {
    PDB_LINEAGE_UNCHANGED,  /* same number, geometry equal within 0.1 m */
    PDB_LINEAGE_RENUMBERED, /* equal geometry, another number */
    PDB_LINEAGE_RESHAPED,   /* one old, one new, the geometry changed */
    PDB_LINEAGE_SPLIT,      /* one old, several new */
    PDB_LINEAGE_MERGED,     /* several old, one new (or several) */
    PDB_LINEAGE_NEW,        /* a new parcel overlapping no old one */
    PDB_LINEAGE_RETIRED,    /* an old parcel no new one overlaps */
    PDB_LINEAGE_CLASSES     /* how many classes there are */
} pdb_lineage_class;

/* "unchanged", "renumbered", "reshaped", "split", "merged", "new", "retired". */
PDB_API const char *pdb_lineage_class_name(pdb_lineage_class c);

/* One commune of an import batch. */
typedef struct pdb_import_change {
    char commune[8];                     /* five digits */
    int64_t before[PDB_LINEAGE_CLASSES]; /* old (superseded) parcels in each class */
    int64_t after[PDB_LINEAGE_CLASSES];  /* new parcels in each class */
    int64_t prev_unknown;      /* new parcels whose previous number names no parcel the
                                  load superseded (docs/changes.md) */
    int64_t prev_contradicted; /* and those naming one they do not overlap */
} pdb_import_change;

typedef struct pdb_import_changes {
    int64_t batch_id;              /* the batch asked about */
    size_t count;                  /* communes */
    pdb_import_change *communes;   /* ordered by code, owned */
    size_t nsteps;                 /* steps (0 unless asked for) */
    pdb_lineage_step *steps;       /* each edge of the batch, then each new parcel (kind "new",
                                      parent_id 0) and each retired one (kind "retired",
                                      child_id 0), by commune; owned */
} pdb_import_changes;

/* The lineage a batch's re-import recorded, per commune (only the
 * communes the batch imported; a change's batch has none), and with
 * with_steps its every step. PDB_ENOTFOUND for a batch that does not
 * exist. The caller owns *out (pdb_import_changes_free). */
PDB_API pdb_status pdb_import_changes_get(pdb_ctx *ctx, pdb_store *store, int64_t batch_id,
                                          int with_steps, pdb_import_changes **out);
PDB_API void pdb_import_changes_free(pdb_import_changes *c);
/* One commune's counts as one line without its newline, e.g. "07894:
 * unchanged 585, renumbered 3, reshaped 3, split 3 -> 6, merged 6 -> 3,
 * new 0, retired 0" (split and merged: old parcels -> new ones), followed
 * by "; previous numbers: 2 name nothing, 1 contradicted" when the survey's
 * previous numbers were not all used, into buf (truncated to cap bytes). */
PDB_API void pdb_import_change_format(const pdb_import_change *c, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* PARCELDB_H */
