/* refdata.h: the commune and land-use tables generated from the CSVs in data/. */
#ifndef PDB_REFDATA_H
#define PDB_REFDATA_H

#include "parceldb.h"

extern const pdb_commune_ref pdb__communes[]; /* sorted by code, as in the CSV */
extern const size_t pdb__communes_count;
extern const pdb_landuse_ref pdb__landuse[]; /* in the CSV's order */
extern const size_t pdb__landuse_count;

/* How a code that no commune known has is refused (registry.c, read_args.c). */
#define PDB_COMMUNE_UNKNOWN_FMT                                                                    \
    "commune code %s is not a commune of Phu Tho nor of the commune list of this store"

#endif
