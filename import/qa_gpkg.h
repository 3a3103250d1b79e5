/*
 * qa_gpkg.h: the quality report (pdb_qa_run) written as a GeoPackage.
 */
#ifndef PDB_QA_GPKG_H
#define PDB_QA_GPKG_H

#include "importer.h"

/* Writes rep to path (replacing it): one layer per check (and per survey
 * CRS when a check's findings span zones), one feature per finding. A
 * check without findings has no layer. On failure the file is removed and
 * ic says why. */
pdb_status pdbi_qa_write_gpkg(pdbi_ctx *ic, const pdb_qa_report *rep, const char *path);

#endif
