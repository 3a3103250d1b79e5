/*
 * crs.h: the coordinate module's private interface, for the engine's writer
 * and queries (and the unit tests). The public half is in parceldb.h.
 */
#ifndef PDB_CRS_H
#define PDB_CRS_H

#include "internal.h"

/* The registered CRS with this EPSG code, or NULL: static storage. */
const pdb_crs_info *pdb__crs_find(int epsg);

/* Transforms n interleaved x,y pairs in place (xy[2i] = x, xy[2i+1] = y),
 * with the same rules as pdb_crs_transform: x = lon or easting, VN-2000 <->
 * WGS 84 through EPSG:6960 only, one cached PROJ object per CRS pair and
 * context, all points in one proj_trans_generic call. PDB_EINVAL for a
 * non-finite input, PDB_ECRS for an unregistered CRS, a missing EPSG:6960 or
 * a point that does not transform (its index in the message). On failure
 * the contents of xy are unspecified. */
pdb_status pdb__crs_transform_xy(pdb_ctx *ctx, int from_epsg, int to_epsg, double *xy, size_t n);

/* How many CRS pairs the context holds an operation (or a remembered
 * failure) for; the tests use it to prove that operations are reused. */
size_t pdb__crs_cache_count(const pdb_ctx *ctx);

/* EPSG:epsg as PROJ's database defines it, in WKT 1 (GDAL's flavour) and
 * as a PROJ string, for a PostGIS spatial_ref_sys row. The caller frees
 * both with free(); on failure both are NULL (PDB_ECRS, PDB_ENOMEM). */
pdb_status pdb__crs_definition(pdb_ctx *ctx, int epsg, char **wkt, char **proj4);

/* pdb__crs_cache_free(ctx) is declared in internal.h: pdb_ctx_free calls it. */

#endif
