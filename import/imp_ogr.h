/*
 * imp_ogr.h: the importer's modules that speak GDAL/OGR: the source file
 * (layers, fields, labels, pre-scan), its CRS, and the read/write pipeline.
 */
#ifndef PDB_IMP_OGR_H
#define PDB_IMP_OGR_H

#include "imp.h"

#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

/* ------------------------------------------------------------------------ */
/* CRS (srs.c)                                                               */
/* ------------------------------------------------------------------------ */

/* GDAL's database matches a run has looked up, by WKT (srs.c). */
typedef struct pdbi_srs_memo pdbi_srs_memo;

/* Matches a file's SRS to a registered EPSG code: its own EPSG authority
 * or GDAL's one match for its WKT (remembered in *memo),
 * else the Transverse Mercator parameters (lon_0, k = 0.9999 or 0.9996,
 * false easting 500000 m, WGS 84 ellipsoid), else GDAL's identification.
 * Fills *epsg (and a remark in note, possibly empty), or fails with
 * PDB_ECRS and why. The engine's calls go through ic->db. */
pdb_status pdbi__srs_match(pdbi_ctx *ic, pdbi_srs_memo **memo, OGRSpatialReferenceH srs, int *epsg,
                           char *note, size_t notelen);
/* Frees the CRS matches a run remembered (pdbi__srs_match's memo). */
void pdbi__srs_memo_free(pdbi_srs_memo *memo);

/* 1 when the coordinates OGR returns have the northing (or latitude) first. */
int pdbi__srs_x_is_northing(OGRSpatialReferenceH srs);

/* ------------------------------------------------------------------------ */
/* The source file (source.c)                                                */
/* ------------------------------------------------------------------------ */

/* A text label of a CAD file (DXF TEXT/MTEXT, DGN text element): its
 * "key=value" pairs (or "sheet/parcel/landuse/area") give the attributes of
 * the boundary it lies in. */
typedef struct pdbi_label {
    double x, y;      /* insertion point, source CRS */
    char *text;       /* raw bytes */
    int64_t index;    /* feature index in the layer */
    int mslink;       /* DGN database link (0 when none): joins shapes to it */
    OGRFeatureH feat; /* the label feature (a record when no boundary has it) */
    int used;         /* a boundary took it */
    const char *origin; /* the sheet file it came from when not the file's own (the
                           importer's path, borrowed), else NULL */
} pdbi_label;

/* One record of a CAD layer: the boundary entities joined to one label
 * (a parcel drawn in several parts is several entities), a boundary with
 * no label, or a label with no boundary. */
typedef struct pdbi_cad_rec {
    int64_t index;      /* feature index of its first entity */
    OGRFeatureH feat;   /* owned: the first entity's fields, every part's geometry */
    long label;         /* index in pdbi_layer.labels, -1 when none */
    const char *reason; /* line-and-label sheets: quarantined for this reason, or NULL */
    char *detail;       /* and why, owned */
} pdbi_cad_rec;

typedef struct pdbi_layer {
    OGRLayerH layer;         /* borrowed from the dataset */
    char *name;              /* layer name */
    int cad;                 /* attributes come from labels (DXF, DGN) */
    int text_field;          /* CAD: index of OGR's "Text" field, -1 if none */
    size_t nfields;          /* entries in fields */
    char **fields;           /* OGR field names, or the label keys seen (CAD) */
    int *numeric;            /* 1 for integer and real OGR fields */
    int map[PDBI_T_COUNT];   /* field index per target, -1 when unmapped */
    pdbi_label *labels;      /* CAD labels */
    size_t nlabels;          /* entries in labels */
    double grid_x0, grid_y0; /* CAD label grid origin */
    double grid_cell;        /* cell size, source units */
    int grid_w, grid_h;      /* cells */
    size_t *grid_start;      /* grid_w * grid_h + 1 offsets into grid_items */
    size_t *grid_items;      /* label indexes by cell */
    pdbi_cad_rec *recs;      /* CAD: the records, by index */
    size_t nrecs;            /* entries in recs */
    int64_t records;         /* records (CAD: boundaries joined, labels not counted) */
    int epsg;                /* the layer's own CRS (resolve_crs), 0 until known */
    int swap_xy;             /* its axis order: OGR gives northing first */
} pdbi_layer;

typedef struct pdbi_commune_count {
    char code[6];                   /* five digits */
    int64_t n;                      /* records (0 when counted from CAD labels) */
    size_t layer_first, layer_last; /* the first and last layer holding it (a file whose
                                       layers are in different CRSs: importer.c) */
} pdbi_commune_count;

typedef struct pdbi_file {
    const pdbi_options *opts;     /* the run's options */
    const char *path;             /* as given */
    GDALDatasetH ds;              /* open dataset */
    char driver[32];              /* GDAL short name */
    int is_shp;                   /* ESRI Shapefile */
    int cad;                      /* DXF or DGN */
    int sheets;                   /* a layer is a line-and-label sheet (sheets.c) */
    /* The other sheet files of the same commune in this run (the importer's
     * grouping, borrowed): read with this one as one drawing when it is a
     * sheet; sheet_files then counts the files read (1 + ncompanions). */
    const char *const *companions;
    size_t ncompanions;
    size_t sheet_files;
    pdbi_layer *layers;           /* layers with geometries */
    size_t nlayers;               /* entries in layers */
    int epsg;                     /* source CRS */
    int geographic;               /* source CRS in degrees: no area check */
    int swap_xy;                  /* OGR gives northing first: swap to easting first */
    int multi_crs;                /* its layers are in different CRSs (a GeoPackage export
                                     of communes in several zones): epsg, swap_xy and
                                     geographic are each commune's, set for its pass */
    size_t cur_layer;             /* the layer being prescanned */
    pdbi_textenc enc;             /* attribute text encoding */
    char checksum[65];            /* hex SHA-256 of the file (and sidecars) */
    pdbi_commune_count *communes; /* communes found, by code */
    size_t ncommunes;             /* entries in communes */
    int64_t no_commune;           /* records with no valid commune value */
    int64_t records;              /* records over all layers */
    char fixed_commune[6];        /* from --commune or the file name, "" when per record */
    char **samples;               /* pre-scan: non-ASCII text values for detection */
    size_t *sample_lens;          /* their lengths */
    size_t nsamples;              /* entries in samples */
} pdbi_file;

/* The paths whose bytes make the file's checksum (a shapefile's sidecars
 * too), malloc'd; *n entries. */
char **pdbi__source_parts(const char *path, size_t *n);

/* Opens the dataset with the options its driver needs (raw DBF bytes, WKT
 * columns in CSV, closed CAD polylines as polygons) and lists its layers
 * with geometries. PDB_EINVAL when GDAL cannot read it or it holds no
 * geometries, PDB_EIO when GDAL fails to open it, PDB_ENOMEM. */
pdb_status pdbi__source_open(pdbi_ctx *ic, pdbi_file *f);

/* Maps fields, reads every layer once without geometries (CAD: with them,
 * for labels) to count records, tally communes and sample text. PDB_EIO on
 * a read error; the failures of pdbi__fieldmap_resolve. */
pdb_status pdbi__source_prescan(pdbi_ctx *ic, pdbi_file *f, const pdbi_fieldmap *fm);

void pdbi__source_close(pdbi_file *f);

/* ------------------------------------------------------------------------ */
/* Line-and-label sheets (sheets.c)                                          */
/* ------------------------------------------------------------------------ */

/* 1 when a CAD layer is a sheet drawn as lines and texts: --sheets, or
 * at least as many open lines as closed shapes on its boundary level and a
 * number-only text on the number level (10 and 13, or RANH_THUA and
 * SO_THUA by default, --levels). bounds: its entities that are not texts. */
int pdbi__sheets_detect(const pdbi_file *f, const pdbi_layer *L, const pdbi_cad_rec *bounds,
                        size_t nb);
/* Nodes and polygonizes the boundary lines, assigns the texts by level and
 * makes the layer's records and labels (replacing the labels read), each
 * record a parcel with a "SoTo=..;SoThua=..;..." label or a quarantined
 * polygon or number with its reason; reports gaps, dangles, joined and
 * doubled numbers on opts->log. PDB_EINVAL (one line) when there is no
 * boundary line or no polygon; bounds stay the caller's. */
pdb_status pdbi__sheets_build(pdbi_ctx *ic, pdbi_file *f, pdbi_layer *L, const pdbi_cad_rec *bounds,
                              size_t nb);

/* The default level (DGN) and layer (DXF) of a sheet role ("boundary",
 * "number", "landuse", "area", "frame", "road", "water"), the first of
 * each in the importer's default table: what `parceldb export --format
 * DGN|DXF` draws on (export_sheets.c), so that the importer reads it back
 * without --levels. Returns 0, or -1 for an unknown role. */
int pdbi__sheet_default_level(const char *role, int *level, char *layer, size_t cap);

/* Whether the container declares its text UTF-8 (*utf8), and what it
 * declares ("" when nothing: a DBF without .cpg, a CSV). */
void pdbi__source_declared_encoding(pdbi_file *f, int *utf8, char *name, size_t len);

/* ------------------------------------------------------------------------ */
/* The pipeline (pipeline.c)                                                 */
/* ------------------------------------------------------------------------ */

typedef struct pdbi_pass {
    pdbi_file *file;          /* the source */
    const char *commune;      /* the commune of this pass */
    int host;                 /* 1: records without a valid commune are rejected here */
    pdbi_ctx *ic;             /* the writing thread's context (the caller's) */
    pdb_ctx *rdb;             /* the engine's context for the reading thread */
    pdb_writer *writer;       /* NULL in a dry run */
    pdb_import_counts counts; /* this pass's figures */
    int64_t expected;         /* records expected, for the progress bar */
} pdbi_pass;

/* Reads the file's records of one commune and writes them (or, in a dry
 * run, only validates them). On a read error or a failed write returns its
 * status with the message on pass->ic (the caller then frees the writer:
 * rollback). */
pdb_status pdbi__pass_run(pdbi_pass *pass);

#endif
