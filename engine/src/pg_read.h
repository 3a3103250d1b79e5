/*
 * pg_read.h: what the PostgreSQL store's reading files share (pg_query.c
 * and pg_overview.c): statements with binary parameters and binary
 * results, the binary columns, and the two emulations that make its
 * answers the SQLite store's to the bit: SQLite's R-tree box test, and
 * pdb__features_emit's stream of features.
 */
#ifndef PDB_PG_READ_H
#define PDB_PG_READ_H

#include "pg.h"
#include "pg_schema.h"
#include "wkb.h"

/* The columns a parcel read selects, as SQLite's PDB_PARCEL_COLUMNS
 * (pdb__pg_parcel_from_row reads them); $1 is the read flags, so that the
 * owner and the geometries nobody asked for do not cross the network (the
 * owner and certificate only with PDB_READ_PERSONAL; the WGS 84 geometry also when a
 * filter needs it: bit 16). */
#define PG_PARCEL_COLUMNS                                                                          \
    "p.id, p.commune, p.former_commune, p.sheet, p.parcel, p.landuse, p.area_surveyed_m2, "        \
    "p.area_computed_m2, p.address, CASE WHEN ($1 & 1) <> 0 THEN p.owner END, p.source_srid, "     \
    "p.batch_id, p.valid_from, p.valid_to, p.flags, "                                              \
    "CASE WHEN ($1 & 4) <> 0 THEN ST_AsBinary(p.source_geom) END, "                                \
    "CASE WHEN ($1 & 65538) <> 0 THEN ST_AsBinary(p.geom) END, " PG_NATIONAL_COLUMNS
/* The national attribute set's five, last (the certificate only with
 * PDB_READ_PERSONAL), and what a read-only handle on a store made before
 * them selects instead (pdb__pg_run swaps them: pdb__pg.no_national). */
#define PG_NATIONAL_COLUMNS                                                                        \
    "p.prev_sheet, p.prev_parcel, CASE WHEN ($1 & 1) <> 0 THEN p.certificate END, "                \
    "p.record_start, p.record_end"
#define PG_NATIONAL_NULLS "NULL::text, NULL::text, NULL::text, NULL::text, NULL::text"

/* Up to this many parameters per statement (nothing checks it: the most,
 * 21, is a change's new parcel, pg_change.c). */
#define PDB__PG_MAX_PARAMS 24

/* A statement's parameters, sent in binary (numbers in network order), so
 * that a double reaches PostgreSQL as the very double, not as text. */
typedef struct pdb__pg_params {
    int n;                                    /* parameters bound */
    Oid types[PDB__PG_MAX_PARAMS];            /* their types (0: text, PostgreSQL infers) */
    const char *values[PDB__PG_MAX_PARAMS];   /* their bytes; NULL for SQL NULL */
    int lengths[PDB__PG_MAX_PARAMS];          /* bytes of binary values */
    int formats[PDB__PG_MAX_PARAMS];          /* 1 binary, 0 text */
    unsigned char num[PDB__PG_MAX_PARAMS][8]; /* storage of the binary numbers */
} pdb__pg_params;

void pdb__pg_param_f8(pdb__pg_params *p, double v);
void pdb__pg_param_i4(pdb__pg_params *p, int32_t v);
void pdb__pg_param_i8(pdb__pg_params *p, int64_t v);
void pdb__pg_param_bool(pdb__pg_params *p, int v);
/* Text (borrowed until the statement ran); NULL binds SQL NULL. */
void pdb__pg_param_text(pdb__pg_params *p, const char *v);
/* bytea (borrowed until the statement ran). */
void pdb__pg_param_bytes(pdb__pg_params *p, const unsigned char *v, size_t len);

/* Runs sql with the parameters and returns its rows in binary format in
 * *out (the caller PQclear()s it). */
pdb_status pdb__pg_run(pdb_ctx *ctx, pdb__pg *pg, const char *sql, const pdb__pg_params *p,
                       const char *what, PGresult **out);

/* Binary columns of a row (PostgreSQL sends numbers in network order). */
int64_t pdb__pg_i8(const PGresult *res, int row, int col);
int32_t pdb__pg_i4(const PGresult *res, int row, int col);
double pdb__pg_f8(const PGresult *res, int row, int col);
/* A text column: borrowed from res, NULL when SQL NULL. */
const char *pdb__pg_text(const PGresult *res, int row, int col);

/* Lifts the context's limits on outside geometry (returns them, for the
 * caller to put back): what is read back is the store's own, and
 * dissolved overview shapes are far over the per-parcel limits. */
pdb_limits pdb__pg_lift_limits(pdb_ctx *ctx);

/* Parses a geometry the store wrote (ST_AsBinary of a row), without the
 * limits on outside input: the SQLite store's exact tests walk its BLOBs
 * with none either. */
pdb_status pdb__pg_parse_stored(pdb_ctx *ctx, const PGresult *res, int row, int col,
                                pdb__mpoly *out);

/* Whether SQLite's R-tree would list a geometry whose exact box is
 * mbr for the query box q: its boxes are 32-bit floats rounded outwards as
 * SQLite rounds them (not always to the nearest float), compared with the
 * query's doubles. So that rows read through PostGIS are the rows the
 * SQLite store reads through its R-tree. */
int pdb__pg_rtree_hit(const double mbr[4], const double q[4]);

/* How far the query box of a PostGIS && prefilter is widened so that it
 * lists every row SQLite's R-tree would (its float boxes reach at most a
 * few float steps, 2e-5 degrees at 180, past the exact box). */
#define PDB__PG_RTREE_SLACK_DEG 1e-4

/* Calls fn with each row of res (columns id, commune, sheet, parcel,
 * landuse, landuse_main, area_m2, WKB geometry, and one more per row: 0
 * none, 1 "test the exact box" (pdb__features_emit's boxed rows), 2 "test
 * the R-tree box") as pdb__features_emit does, until fn returns non-zero.
 * survey 1: columns 9 and 10 are a survey geometry (WKB, NULL for none)
 * and its SRID, handed over instead of the WGS 84 one when not NULL
 * (pdb_features_in_bbox_survey); 0: columns after the ninth are not read. */
pdb_status pdb__pg_features_emit(pdb_ctx *ctx, const PGresult *res, const double box[4], int survey,
                                 pdb_feature_fn fn, void *arg);

#endif
