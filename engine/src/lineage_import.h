/*
 * lineage_import.h: the lineage of re-imports in the SQLite store
 * (lineage_import.c); the PostgreSQL store's counterparts are in pg.h.
 */
#ifndef PDB_LINEAGE_IMPORT_H
#define PDB_LINEAGE_IMPORT_H

#include "change.h"
#include "lineage_match.h"

/* Inside a commune's load (pw's), before its commit: matches the parcels
 * the load superseded (valid_to = now) with those it added (batch_id,
 * current), writes the edges (batch_id, at = now), and the previous
 * numbers not used as rows of rejects through pw. */
pdb_status pdb__sq_lineage_record(pdb_ctx *ctx, pdb_writer *pw, int64_t batch_id, const char *now);
/* The store op import_steps (backend.h). */
pdb_status pdb__sq_import_steps(pdb_ctx *ctx, pdb_store *s, int64_t batch_id, pdb_lineage **out);
/* backend.h's batch_rejects. */
pdb_status pdb__sq_batch_rejects(pdb_ctx *ctx, pdb_store *s, int64_t batch_id, const char *commune,
                                 const char *reason, int64_t *n);
/* At a read-write open: a lineage table made before the 'unchanged' kind
 * is rebuilt with it (PDB_LINEAGE_UPGRADE_SQL), in a write transaction of
 * its own; a current one costs one read. */
pdb_status pdb__sq_lineage_upgrade(pdb_ctx *ctx, pdb_store *s);

#endif
