/*
 * export.h: parcels from the store to GIS files (docs/export.md):
 * GeoPackage (written with SQLite, gpkg_write.c), ESRI Shapefile and GeoJSON
 * through GDAL/OGR. It lives under
 * import/ because GDAL does (STYLE.md: GDAL never enters the engine, the
 * tiler or the server), and reads the store only through the engine's
 * public API, as the importer writes it.
 *
 * A run writes everything under a temporary name first (export.c says
 * which) and returns what it wrote, so that the caller can record the
 * answer in the audit table before the file appears under its name (owner
 * names are shown only once the audit row exists): then
 * pdbi_export_finish renames it into place, or pdbi_export_discard
 * removes it. Nothing half-written is ever left under the output name.
 */
#ifndef PDB_EXPORT_H
#define PDB_EXPORT_H

#include "importer.h"

#include <limits.h>
#include <stdint.h>

typedef enum pdbi_export_format {
    PDBI_EXPORT_GPKG,    /* one file, a layer per commune (and survey CRS) */
    PDBI_EXPORT_SHP,     /* a directory, a .shp/.shx/.dbf/.prj/.cpg set per commune */
    PDBI_EXPORT_GEOJSON, /* one file, one FeatureCollection, one CRS */
    PDBI_EXPORT_DXF,     /* one commune as a line-and-label sheet (export_sheets.c) */
    PDBI_EXPORT_DGN,     /* the same in MicroStation DGN v7 */
} pdbi_export_format;

/* Parses "GPKG", "ESRI Shapefile", "GeoJSON", "DXF", "DGN" (any case;
 * also "shp", "GeoPackage", "Shapefile"); returns -1 for anything else. */
int pdbi_export_format_parse(const char *name);

/* A GDAL driver name for the format ("GPKG", "ESRI Shapefile", "GeoJSON"). */
const char *pdbi_export_format_name(pdbi_export_format f);

typedef struct pdbi_export_options {
    pdbi_export_format format;   /* what to write */
    const char *const *communes; /* five-digit codes to export; NULL: every commune */
    size_t ncommunes;            /* entries in communes */
    const char *sheet;           /* map sheet number, or NULL: every sheet */
    int has_bbox;                /* 1: only parcels whose geometry meets bbox */
    double bbox[4];              /* WGS 84 min lon, min lat, max lon, max lat */
    const char *at;              /* "YYYY-MM-DD" (its end) or an ISO 8601 UTC instant:
                                    the parcels valid then; NULL: the current ones */
    int epsg;                    /* target CRS; 0: each commune's survey CRS (GeoJSON:
                                    WGS 84, RFC 7946) */
    int personal;                /* 1: the owner field (ChuSuDung) too */
    const char *out_path;        /* the file (GPKG, GeoJSON) or directory (Shapefile) */
} pdbi_export_options;

typedef struct pdbi_export_result {
    char tmp_path[PATH_MAX]; /* what was written, under its temporary name */
    char out_path[PATH_MAX]; /* where pdbi_export_finish puts it */
    int is_dir;              /* 1: a directory of shapefiles */
    int64_t *ids;            /* store ids of the parcels written, in the order written */
    size_t nids;             /* parcels written */
    size_t capids;           /* allocated entries of ids */
    size_t nlayers;          /* layers (Shapefile: file sets) written */
    int finished;            /* 1 once renamed into place */
} pdbi_export_result;

/* Writes the parcels o selects from store to res->tmp_path. PDB_EINVAL for
 * a value of o that cannot be used (a sheet that is not a number, a
 * malformed date, DXF/DGN without one commune); PDB_ENOTFOUND for a
 * commune the store does not hold or a selection without parcels (nothing
 * is written then); PDB_ECRS for a target CRS the engine cannot reach;
 * PDB_EIO when GDAL or the file system refuses (a missing output
 * directory included). parceldb-export's exit status is chosen by these
 * codes (docs/export.md). On failure nothing is left on disk and
 * res holds nothing to free. */
pdb_status pdbi_export_write(pdbi_ctx *ic, pdb_store *store, const pdbi_export_options *o,
                             pdbi_export_result *res);

/* Renames the written file or directory to res->out_path (replacing a
 * file; a directory's file sets are moved into an existing directory,
 * replacing those of the same name). On failure the temporary is removed. */
pdb_status pdbi_export_finish(pdbi_ctx *ic, pdbi_export_result *res);

/* Removes what pdbi_export_write left unless it was finished, and frees
 * res's memory; accepts a zeroed res. */
void pdbi_export_discard(pdbi_export_result *res);

/* Internal, for export.c and export_sheets.c: calls fn(arg, parcel) on
 * every parcel of commune that o selects (sheet, box), valid at at (the
 * engine's instant) or current when NULL, in store-id order, read with
 * read_flags; stops at fn's first failure and returns it. */
pdb_status pdbi__export_each(pdbi_ctx *ic, pdb_store *store, const pdbi_export_options *o,
                             const char *commune, const char *at, unsigned read_flags,
                             pdb_status (*fn)(void *arg, const pdb_parcel *p), void *arg);
/* Appends a parcel's id to res->ids. */
pdb_status pdbi__export_add_id(pdbi_ctx *ic, pdbi_export_result *res, int64_t id);

/* Internal (export_sheets.c): writes commune's parcels as a DXF or DGN
 * line-and-label sheet to res->tmp_path, filling res's ids. at: the
 * engine's instant, or NULL. */
pdb_status pdbi__export_sheets(pdbi_ctx *ic, pdb_store *store, const pdbi_export_options *o,
                               const char *commune, const char *at, pdbi_export_result *res);

#endif
