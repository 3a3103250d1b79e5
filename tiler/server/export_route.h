/*
 * export_route.h: GET /export?commune=C&format=gpkg|shp|geojson
 * (export_route.c, docs/export.md): one commune's parcels as a GeoPackage,
 * zipped Shapefiles or GeoJSON, for officers who fetch them from the web
 * page. Behind a bearer token; the owner only for a personal token, and
 * that answer recorded in the audit table.
 */
#ifndef PDB_SRV_EXPORT_ROUTE_H
#define PDB_SRV_EXPORT_ROUTE_H

#include "parse.h"
#include "response.h"
#include "worker.h"

/* Answers GET /export: 401 without a valid token (the caller checks it and
 * passes who may see owners as personal, or NULL), 400 for a missing or
 * bad parameter (commune, format, at, sheet, srs), 404 for a commune the
 * store does not hold or a selection without parcels, 503 when
 * PDB_SRV_EXPORT_MAX exports run already or the exporter failed. The
 * file is written by parceldb-export (GDAL stays out of the server) into
 * a private temporary directory, then sent from its descriptor. */
void pdb_srv_export_route(pdb_srv_worker *w, const pdb_srv_request *req, const char *personal,
                          pdb_srv_response *out);

/* Exports running at once, over all threads: each holds a worker and a
 * child process for up to seconds. */
#define PDB_SRV_EXPORT_MAX 2

/* The longest an export may take before its child is killed, seconds. */
#define PDB_SRV_EXPORT_TIMEOUT_S 300

#endif
