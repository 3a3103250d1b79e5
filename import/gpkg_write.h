/*
 * gpkg_write.h: a GeoPackage 1.3 of feature tables written straight with
 * SQLite (docs/export.md "How the GeoPackage is written"): the tables the
 * standard requires, each geometry as a GeoPackage blob (header, envelope,
 * the caller's WKB byte for byte), and each table's R-tree spatial index
 * with the triggers that keep it current under later edits. It knows
 * nothing of parcels or of GDAL: export.c gives it the layers, the CRS
 * definitions and the rows.
 *
 * Everything goes in one transaction into a file the caller names (a
 * temporary one: export.c renames it into place); until
 * pdbi_gpkg_finish succeeds the file is not a GeoPackage to trust, and
 * pdbi_gpkg_free leaves its removal to the caller.
 */
#ifndef PDB_GPKG_WRITE_H
#define PDB_GPKG_WRITE_H

#include "imp.h"

#include <stddef.h>
#include <stdint.h>

typedef struct pdbi_gpkg pdbi_gpkg;

/* A column's type: text (TEXT) or a double (REAL). */
typedef enum pdbi_gpkg_type { PDBI_GPKG_TEXT, PDBI_GPKG_REAL } pdbi_gpkg_type;

/* One value of a row; text NULL (TEXT) or real NaN (REAL) is SQL null. */
typedef struct pdbi_gpkg_value {
    const char *text; /* UTF-8, for a TEXT column */
    double real;      /* for a REAL column */
} pdbi_gpkg_value;

/* Creates the GeoPackage at path (which must not exist) with its
 * metadata tables. PDB_EIO when SQLite refuses. The caller owns *out. */
pdb_status pdbi_gpkg_create(pdbi_ctx *ic, const char *path, pdbi_gpkg **out);

/* Adds a layer: a feature table "name" (fid, geom, then the columns in
 * order) in CRS EPSG:epsg, which srs_name and the WKT definition describe
 * (entered into gpkg_spatial_ref_sys on first use). Returns its number in
 * *layer. PDB_EIO when SQLite refuses (a name used twice). */
pdb_status pdbi_gpkg_layer_add(pdbi_gpkg *g, const char *name, int epsg, const char *srs_name,
                               const char *wkt, const char *const *columns,
                               const pdbi_gpkg_type *types, int ncolumns, int *layer);

/* Appends a row to a layer: the geometry's WKB (kept as given; its X/Y
 * extent goes into the blob's envelope) and one value per column. Returns
 * PDB_EGEOM for WKB it cannot read, PDB_EIO when SQLite refuses. */
pdb_status pdbi_gpkg_feature_add(pdbi_gpkg *g, int layer, const uint8_t *wkb, size_t wkb_len,
                                 const pdbi_gpkg_value *values);

/* Builds each layer's R-tree, enters the extents, the triggers and the
 * extension rows, commits and closes the file (synced to disk). PDB_EIO
 * when SQLite or the file system refuses. */
pdb_status pdbi_gpkg_finish(pdbi_gpkg *g);

/* Closes what is still open (rolling back an unfinished file) and frees
 * g; accepts NULL. The file itself stays: the caller removes it. */
void pdbi_gpkg_free(pdbi_gpkg *g);

#endif
