/*
 * synth.h: the synthetic Phu Tho province generator (pdb-synth), shared
 * types. One commune is generated at a time, by one thread, into a
 * synth_commune; output.c writes it in the requested format and manifest.c
 * describes it. See samples/README.md for the contract the importer's tests
 * rely on.
 */
#ifndef SYNTH_H
#define SYNTH_H

#include "parceldb.h"
#include "rng.h"

#include <geos_c.h>

#include <stddef.h>
#include <stdint.h>

#define SYNTH_VERSION "0.1.0"
#define SYNTH_MAX_FORMERS 4 /* former communes merged into one (2025) */

/* ------------------------------------------------------------------------ */
/* Options                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum synth_format {
    FMT_SHP,            /* "ESRI Shapefile": <code>.shp (+ .shx .dbf [.prj] [.cpg]) */
    FMT_GPKG,           /* "GPKG": <code>.gpkg, layer ThuaDat */
    FMT_GEOJSON,        /* "GeoJSON": RFC 7946, WGS 84 (transformed by pdb_crs_transform) */
    FMT_GEOJSON_LEGACY, /* "GeoJSON-legacy": TM-3 metres with the old "crs" member */
    FMT_DXF,            /* "DXF": HATCH per parcel part + MTEXT label, no CRS */
    FMT_DGN,            /* "DGN": v7 shapes on level 10 + text on level 13, MSLink joins */
    FMT_GML,            /* "GML": GML 3.2 (+ .xsd) */
    FMT_KML,            /* "KML": WGS 84 by definition */
    FMT_CSV,            /* "CSV": a WKT column, no CRS */
    FMT_COUNT
} synth_format;

typedef enum synth_encoding_opt {
    ENC_OPT_UTF8,  /* every file UTF-8 */
    ENC_OPT_TCVN3, /* DBF text in TCVN3 bytes (Shapefile only) */
    ENC_OPT_VNI,   /* DBF text in VNI-Windows bytes (Shapefile only) */
    ENC_OPT_MIXED  /* per file: UTF-8 with or without .cpg, TCVN3 or VNI (Shapefile) */
} synth_encoding_opt;

typedef enum synth_names_opt {
    NAMES_STANDARD, /* SoHieuToBanDo, SoThuTuThua, DienTich, ... */
    NAMES_VARIANTS, /* per file one of the names cadastral software exports */
    NAMES_TRUNCATED /* the 10-character DBF forms (SoHieuToBa, ...) everywhere */
} synth_names_opt;

/* Defect kinds, each with an exact count per file (README: expected outcome). */
typedef enum synth_defect {
    DEF_NONE,
    DEF_NULL_GEOMETRY,        /* no geometry: rejected "null-geometry" */
    DEF_EMPTY_GEOMETRY,       /* POLYGON EMPTY: rejected "empty-geometry" */
    DEF_POINT_GEOMETRY,       /* a point: rejected "not-polygon" */
    DEF_LINE_GEOMETRY,        /* a line string: rejected "not-polygon" */
    DEF_INVALID_REPAIRABLE,   /* MakeValid fixes it within 0.1%: stored + repaired */
    DEF_INVALID_UNREPAIRABLE, /* bowtie, MakeValid changes area > 0.1%: rejected */
    DEF_MISSING_SHEET,        /* no sheet number: rejected "missing-number" */
    DEF_MISSING_PARCEL,       /* no parcel number: rejected "missing-number" */
    DEF_DUPLICATE_NUMBER,     /* same number as another parcel: both stored + flagged */
    DEF_UNKNOWN_LANDUSE,      /* a code not in the list: stored + flagged */
    DEF_AREA_MISMATCH,        /* DienTich off by 8-30%: stored + flagged */
    DEF_COUNT
} synth_defect;

typedef struct synth_options {
    const char *out_dir;         /* --out */
    const char *communes;        /* --communes: "all", "N" or "CODE,CODE" */
    size_t parcels_per_commune;  /* --parcels-per-commune */
    uint64_t seed;               /* --seed */
    synth_format format;         /* --format */
    synth_encoding_opt encoding; /* --encoding */
    synth_names_opt names;       /* --field-names */
    int no_prj;                  /* --no-prj: no CRS in any file */
    int no_cpg;                  /* --no-cpg: no .cpg beside any DBF */
    int mixed_prj;               /* --mixed-prj: about 1 file in 5 without its CRS */
    int defects_mode;            /* 0 none, 1 default rate, 2 fixed count per kind */
    size_t defects_per_kind;     /* for mode 2 */
    int jobs;                    /* --jobs: worker threads */
    int verify;                  /* read each file back and check the manifest (default 1) */
    int quiet;                   /* no summary line */
    size_t notches;              /* --notches: parcels per file given a micrometre notch */
    double curve_spacing;        /* --curved-edges: metres between boundary vertices; 0 straight */
    size_t qa_defects;           /* --qa-defects: planted overlaps and gaps per commune, each */
    int sheets;                  /* --sheets lines: CAD line-and-label sheets (sheets.c) */
    size_t resurvey;             /* --resurvey: renumberings, reshapes, merges, splits, each */
    double resurvey_noise_m;     /* --resurvey-noise: every vertex moved by up to this */
    int national;                /* --national: the national attribute set written, and
                                    with --resurvey previous numbers and regroups */
} synth_options;

/* One change a re-survey made (resurvey.c), for the manifest. */
typedef struct synth_truth {
    char kind[12];         /* "renumber", "reshape", "merge" or "split" */
    int32_t old_sheet[2];  /* the parcels before: sheets */
    int32_t old_number[2]; /* and numbers */
    int nold;              /* entries used */
    int32_t new_sheet[2];  /* the parcels after */
    int32_t new_number[2];
    int nnew;
} synth_truth;

/* The errors planted for `parceldb qa` (qa_defects.c), at most one a parcel. */
typedef enum synth_qa_kind {
    SYNTH_QA_NONE,    /* none */
    SYNTH_QA_OVERLAP, /* a corner moved out: overlaps its neighbours */
    SYNTH_QA_GAP      /* a corner moved in: a sliver gap beside it */
} synth_qa_kind;

/* ------------------------------------------------------------------------ */
/* A generated commune                                                       */
/* ------------------------------------------------------------------------ */

/* A ring: n vertex indices starting at synth_commune.ring_vertices[off]; the
 * last vertex is not repeated (closing is implicit). */
typedef struct synth_ring {
    uint32_t off;  /* first index in ring_vertices */
    uint32_t n;    /* vertices in the ring, closing vertex not repeated */
    uint16_t part; /* polygon (part) this ring belongs to, 0-based */
    uint8_t hole;  /* 1 for an interior ring (clockwise), 0 for an exterior (counter-clockwise) */
} synth_ring;

typedef enum synth_zone {
    ZONE_VILLAGE, /* residential plots along lanes */
    ZONE_RICE,    /* paddy fields, ditches, canals, ponds */
    ZONE_FOREST,  /* forest lots of hectares */
    ZONE_RIVER    /* a river strip on top of rice fields */
} synth_zone;

typedef struct synth_parcel {
    uint32_t first_ring; /* index in synth_commune.rings */
    uint16_t nrings;     /* rings of all parts */
    uint16_t nparts;     /* polygons: 1, or 2 for a parcel cut by a canal */
    uint8_t former;      /* index in synth_commune.formers */
    uint8_t zone;        /* synth_zone the parcel was made in */
    uint8_t defect;      /* synth_defect */
    uint8_t hamlet;      /* village (thôn / xóm / tổ dân phố) number, 1-based */
    uint8_t qa;          /* synth_qa_kind planted in it */
    int32_t sheet;       /* map sheet number, 1-based within the former commune */
    int32_t number;      /* parcel number within the sheet, 1-based */
    char landuse[16];    /* "ONT", "ONT+CLN", ... as written */
    double area_m2;      /* computed from the geometry as written (0 for non-polygons) */
    double surveyed_m2;  /* DienTich as written */
    int32_t prev_sheet;  /* --national --resurvey: the previous sheet it names, 0 none */
    int32_t prev_number; /* and the previous number */
} synth_parcel;

typedef struct synth_commune {
    const pdb_commune_ref *ref;         /* code, name, former province, EPSG */
    int epsg;                           /* TM-3 zone of the former province */
    char formers[SYNTH_MAX_FORMERS][8]; /* former commune codes (first = the code itself) */
    int nformers;                       /* 1 when the commune was not merged */
    double cell[4];                     /* layout cell: min lon, min lat, max lon, max lat */
    double origin_e, origin_n;          /* TM-3 metres of the cluster's north-west corner */
    double width_m, height_m;           /* cluster size actually used */
    int urban;                          /* 1 for a ward (Phường) */

    double *vx, *vy; /* vertex pool: absolute TM-3 metres, mm-rounded */
    size_t nv, cap_v;
    uint32_t *ring_vertices; /* vertex indices of all rings */
    size_t nrv, cap_rv;
    synth_ring *rings;
    size_t nrings, cap_rings;
    synth_parcel *parcels;
    size_t nparcels, cap_parcels;

    size_t nsheets;              /* sheets over all former communes */
    size_t sheet_min, sheet_max; /* parcels per sheet */
    size_t counts[DEF_COUNT];    /* defects actually made, per kind */
    size_t multipolygons;        /* parcels in two parts */
    size_t with_holes;           /* parcels with an interior ring */
    size_t islands;              /* pond parcels filling a hole of another parcel */
    synth_truth *truth;          /* --resurvey: what changed, owned */
    size_t ntruth;               /* entries of truth */
} synth_commune;

enum {
    FIELD_COMMUNE,
    FIELD_FORMER,
    FIELD_SHEET,
    FIELD_PARCEL,
    FIELD_AREA,
    FIELD_LANDUSE,
    FIELD_OWNER,
    FIELD_ADDRESS,
    FIELD_COUNT
};

/* Per-file choices (deterministic by seed and commune). */
typedef struct synth_variant {
    char field[FIELD_COUNT][32]; /* names asked for, by FIELD_* role */
    int numbers_as_text;         /* sheet/parcel numbers in text fields */
    int area_text;               /* 0 number, 1 text "2.159,6" (Vietnamese), 2 text "2159.6" */
    int text_encoding;           /* vnenc_kind of the attribute bytes */
    char cpg[16];                /* .cpg content; "" for no .cpg */
    int ldid;                    /* DBF language driver byte: 0, or 0x57 (ANSI, read as Latin-1) */
    int has_crs;                 /* 0 when the file declares no CRS */
    int layer_crs_epsg;          /* EPSG of the coordinates written (4326 for KML/GeoJSON) */
} synth_variant;

/* ------------------------------------------------------------------------ */
/* Modules                                                                   */
/* ------------------------------------------------------------------------ */

/* layout.c: the province layout. Computes every commune's cell (in lon/lat,
 * no two overlapping) from its code; fills c->cell, c->formers, c->urban.
 * refs/n: all communes (for the layout), index: this one. */
void synth_layout_commune(const pdb_commune_ref *refs, size_t n, size_t index, synth_commune *c);

/* national.c: provinces beyond Phu Tho (--provinces). */
#define SYNTH_NAT_STRING 160 /* bytes per commune for its code, name and province */
typedef struct synth_national {
    pdb_commune_ref *refs; /* count communes, sorted by code */
    size_t count;          /* provinces x communes per province */
    char *strings;         /* SYNTH_NAT_STRING bytes per commune: the refs' strings */
    const char **zones;    /* each commune's central meridian ("103-00"), static storage */
} synth_national;
size_t synth_national_max_provinces(void);
size_t synth_national_max_communes(void); /* per province */
/* Makes the communes of provinces x per_province (within the maxima). */
int synth_national_make(pdb_ctx *ctx, size_t provinces, size_t per_province, synth_national *out,
                        char *err, size_t errlen);
void synth_national_free(synth_national *nat);
/* Writes the list as `parceldb init --communes` reads it. */
int synth_national_write_csv(const synth_national *nat, const char *path, char *err, size_t errlen);
/* The cell of a commune of the national layout; -1 for another code. */
int synth_national_cell(const char *code, double cell[4]);

/* parcels.c: generates the parcels of one commune (geometry, zones, land
 * use, numbering, surveyed areas) into c, in TM-3 metres around origin. */
int synth_parcels_generate(pdb_ctx *ctx, const synth_options *o, synth_commune *c, char *err,
                           size_t errlen);
void synth_commune_free(synth_commune *c);

/* Ring helpers for the other modules. */
double synth_ring_area(const synth_commune *c, const synth_ring *r);     /* signed, CCW > 0 */
double synth_parcel_area(const synth_commune *c, const synth_parcel *p); /* holes subtracted */
int synth_add_vertex(synth_commune *c, double e, double n, uint32_t *idx);
/* As synth_add_vertex, without the millimetre rounding (for micrometre shapes). */
int synth_add_vertex_exact(synth_commune *c, double e, double n, uint32_t *idx);
int synth_add_ring(synth_commune *c, const uint32_t *idx, size_t n, int part, int hole);
/* curves.c: splits every boundary edge longer than spacing metres into
 * pieces of at most spacing along a gentle wave, the new vertices shared by
 * the parcels on both sides. Areas change by millimetres; the caller
 * recomputes them. Returns 0, or -1 when memory runs out. */
int synth_curve_edges(synth_commune *c, double spacing);

/* defects.c: picks the defective parcels and changes them (with GEOS checks
 * that a "repairable" one really is, and an "unrepairable" one really is not). */
int synth_defects_apply(GEOSContextHandle_t geos, const synth_options *o, synth_format fmt,
                        synth_commune *c, char *err, size_t errlen);
/* defects.c: gives o->notches sound parcels (one ring, no defect) a notch:
 * a new vertex on one edge pulled across the parcel to 1 micrometre from
 * another edge. Valid in TM-3 (checked with GEOS), and not a defect: the
 * parcel is stored; but PROJ may bend the other edge past the vertex, so
 * that some of them self-intersect once in WGS 84 (issue 12), which the
 * engine must repair there. Not in the manifest's defect counts. */
int synth_notches_apply(GEOSContextHandle_t geos, const synth_options *o, synth_commune *c);
/* qa_defects.c: plants o->qa_defects overlaps and as many sliver gaps in
 * sound parcels (docs/qa.md); nothing without the option. */
int synth_qa_apply(GEOSContextHandle_t geos, const synth_options *o, synth_commune *c, char *err,
                   size_t errlen);
/* resurvey.c: --resurvey N: N renumberings, reshapes, merges and splits
 * of sound parcels, listed in c->truth, then --resurvey-noise on every
 * vertex; nothing without the option. */
int synth_resurvey_apply(GEOSContextHandle_t geos, const synth_options *o, synth_commune *c,
                         char *err, size_t errlen);
/* Which defect kinds a format can hold as such (e.g. a Shapefile has no
 * empty polygon and no point in a polygon layer). */
int synth_format_supports(synth_format fmt, synth_defect d);
const char *synth_defect_name(synth_defect d);    /* "null_geometry" */
const char *synth_defect_outcome(synth_defect d); /* "rejected", "stored+repaired", ... */
const char *synth_defect_reason(synth_defect d);  /* "null-geometry", ... */

/* people.c: owner names and addresses (UTF-8, NFC). */
void synth_owner(synth_rng *r, const synth_commune *c, const synth_parcel *p, char *out,
                 size_t cap);
void synth_address(const synth_commune *c, const synth_parcel *p, char *out, size_t cap);
/* The commune's name without its "Xã " / "Phường " prefix. */
const char *synth_commune_short_name(const synth_commune *c);

/* output.c: writes the commune's file and its manifest. */
typedef struct synth_file_result {
    char path[1024]; /* the main file */
    size_t features; /* features as read back */
    size_t parcels;  /* parcels written */
} synth_file_result;

int synth_output_write(pdb_ctx *ctx, GEOSContextHandle_t geos, const synth_options *o,
                       synth_commune *c, synth_file_result *res, char *err, size_t errlen);

/* Format names. */
const char *synth_format_name(synth_format f); /* "ESRI Shapefile" */
const char *synth_format_ext(synth_format f);  /* "shp" */
int synth_format_parse(const char *s, synth_format *out);

/* 1 for the formats whose coordinates are WGS 84 (KML, RFC 7946 GeoJSON). */
int synth_format_wgs84(synth_format f);

/* A growing WKB buffer. */
typedef struct synth_wkb {
    unsigned char *p; /* bytes */
    size_t n, cap;    /* used, allocated */
} synth_wkb;

#endif
