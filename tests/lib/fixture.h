/*
 * fixture.h: test parcels made by real tools. The test describes squares in
 * TM-3 metres; ogr2ogr writes them to a GeoPackage in the zone's CRS; the
 * loader reads that file back with GDAL and writes it through the engine's
 * API, as an importer would. Expected WGS 84 points come from cs2cs.
 */
#ifndef PDB_FIXTURE_H
#define PDB_FIXTURE_H

#include "parceldb.h"

#include <stddef.h>

typedef struct fx_parcel {
    const char *sheet;   /* sheet number */
    const char *parcel;  /* parcel number */
    const char *landuse; /* land-use code(s) */
    const char *owner;   /* owner name (UTF-8) */
    char wkt[1024];      /* geometry in the zone's metres */
} fx_parcel;

/* WKT of the square [e, e+size] x [n, n+size], optionally with a centred
 * square hole of hole_size (0 for none). */
void fx_square_wkt(char *out, size_t cap, double e, double n, double size, double hole_size);

/* WKT of a multipolygon of two squares. */
void fx_two_squares_wkt(char *out, size_t cap, double e1, double n1, double e2, double n2,
                        double size);

/* Writes the parcels of one commune to DIR/NAME.gpkg with ogr2ogr in
 * EPSG:epsg; returns 0 on success and the path in path_out. */
int fx_write_gpkg(const char *dir, const char *name, const char *commune, int epsg,
                  const fx_parcel *parcels, size_t n, char *path_out, size_t cap);

/* Loads a GeoPackage written by fx_write_gpkg into the store as one
 * commune load in a new import run (GDAL reads it; the engine writes). */
pdb_status fx_load(pdb_ctx *ctx, pdb_store *store, const char *gpkg, const char *commune,
                   int epsg, int64_t *batch_out);

/* Transforms a projected point to WGS 84 with cs2cs; returns 0 on success. */
int fx_cs2cs_to_wgs84(int epsg, double e, double n, double *lon, double *lat);

#endif
