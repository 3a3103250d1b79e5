/* refdata.h: the commune and land-use tables generated from the CSVs in data/. */
#ifndef PDB_REFDATA_H
#define PDB_REFDATA_H

#include "parceldb.h"

extern const pdb_commune_ref pdb__communes[];  /* sorted by code, as in the CSV */
extern const size_t pdb__communes_count;
extern const pdb_landuse_ref pdb__landuse[];   /* in the CSV's order */
extern const size_t pdb__landuse_count;

#endif
