/*
 * writer.h: what the two stores' writers share (writer.c for SQLite,
 * pg_writer.c for PostgreSQL): the prepared geometry that
 * pdb_geom_prepare makes once for either store, and the CRS a load's areas
 * are measured in (checked when a load begins, so that a load that cannot
 * be measured is refused before its first parcel).
 */
#ifndef PDB_WRITER_H
#define PDB_WRITER_H

#include "internal.h"

struct pdb_geom_prepared {
    int source_srid;     /* CRS of the source geometry it was made from */
    double area_m2;      /* computed area in TM-3 metres */
    double bbox[4];      /* WGS 84 min lon, min lat, max lon, max lat */
    unsigned char *blob; /* WGS 84 MULTIPOLYGON as a SpatiaLite BLOB */
    size_t blob_len;     /* bytes */
    int wgs84_repaired;  /* 1: invalid once in WGS 84, and blob holds its repair */
};

/* The projected CRS a parcel's legal area is measured in: the source's own
 * TM-3 (or UTM) metres, or for a geographic source the commune's zone.
 * PDB_ECRS when a geographic source has no known zone. */
pdb_status pdb__area_crs(pdb_ctx *ctx, int source_srid, const char *commune, int *out);

/* The checks every store makes when a load begins: the handle may write
 * and holds no other load, the commune code is five digits, its areas can
 * be measured. *name_out (borrowed from load or the commune table) is the
 * name its communes row gets. */
pdb_status pdb__writer_load_check(pdb_ctx *ctx, pdb_store *s, const pdb_commune_load *load,
                                  const char **name_out);

/* The checks every store makes on a parcel before it stores it (the
 * geometry was prepared for the load's CRS, the commune is the load's, a
 * sheet and a parcel number), and its main land-use code into main_use. */
pdb_status pdb__writer_parcel_check(pdb_ctx *ctx, const pdb_writer *w, const pdb_parcel *p,
                                    const pdb_geom_prepared *g, char main_use[16]);

#endif
