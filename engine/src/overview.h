/*
 * overview.h: generalised land use and commune outlines for low zooms
 * (overview.c; built by overview_build.c), marked stale by each import and
 * rebuilt per commune after it.
 */
#ifndef PDB_OVERVIEW_H
#define PDB_OVERVIEW_H

#include "overview_build.h"
#include "store.h"

/* Marks a commune's overviews stale, inside the caller's write transaction
 * (pdb_writer_commit): from that commit on, readers draw the commune's low
 * zooms from its current parcels until pdb_overview_rebuild replaces its
 * overviews, so that a low-zoom tile never shows data older than the data
 * version it is rendered at. Cheap: one row. */
pdb_status pdb__overview_mark_stale(pdb_ctx *ctx, pdb_store *s, const char *commune);

/* The SQLite store's side of a rebuild (overview.c; backend.h). */
extern const pdb__ov_io pdb__sq_overview_io;

/* overview_driver.c, for both stores (through s's overview_io): */

/* Reads a commune's current parcels into a job for pdb__ov_build. A
 * commune that cannot be read for its own reasons (a damaged BLOB) gets
 * the reason in job->st and PDB_OK; store failures are returned. */
pdb_status pdb__ov_read_job(pdb_ctx *ctx, pdb_store *s, const char *commune, pdb__ov_job *job);

/* Writes a built job inside its own savepoint (in the caller's write
 * transaction): the shapes and the commune's state, or, when the job
 * failed, the failure, confined to the commune. Counts it in rep. With
 * stamp, stamps the commune with the data version the transaction is to
 * commit (the caller bumps it); without, the caller stamps it later.
 * Store failures are returned; a commune's own failure is not. */
pdb_status pdb__ov_write_one(pdb_ctx *ctx, pdb_store *s, pdb__ov_job *job, pdb_overview_report *rep,
                             int stamp);

/* Fills the overview fields of a commune list (pdb_communes_list). */
pdb_status pdb__overview_states(pdb_ctx *ctx, pdb_store *s, pdb_commune_list *list);

#endif
