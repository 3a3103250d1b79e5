/*
 * lineage_import.c: the lineage of re-imports. The SQLite store's part
 * (the sets read and the edges written inside a commune's load, the steps
 * of a batch read back, the lineage table's upgrade to the 'unchanged'
 * kind) and what both stores share: the summary per commune and class
 * (pdb_import_changes_get) made from a batch's steps. The matching itself
 * is lineage_match.c's; pg_lineage.c is the PostgreSQL store's part.
 */
#include "lineage_import.h"
#include "backend.h"
#include "schema.h"
#include "store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *pdb_lineage_class_name(pdb_lineage_class c)
{
    static const char *const names[PDB_LINEAGE_CLASSES] = {
        "unchanged", "renumbered", "reshaped", "split", "merged", "new", "retired"};
    return (unsigned)c < PDB_LINEAGE_CLASSES ? names[c] : "?";
}

/* The class of a step's kind; -1 for a change's kinds. */
static int step_class(const char *kind)
{
    static const char *const kinds[PDB_LINEAGE_CLASSES] = {
        "unchanged", "renumber", "reshape", "split", "merge", "new", "retired"};
    for (int i = 0; i < PDB_LINEAGE_CLASSES; i++)
        if (strcmp(kind, kinds[i]) == 0)
            return i;
    return -1;
}

static int by_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Distinct values among n ids (sorted in place). */
static int64_t distinct(int64_t *ids, size_t n)
{
    int64_t d = 0;
    qsort(ids, n, sizeof *ids, by_id);
    for (size_t i = 0; i < n; i++)
        d += i == 0 || ids[i] != ids[i - 1];
    return d;
}

/* Counts one commune's classes from its steps [a, b): a pair class counts
 * its steps on both sides; a split or merge counts its distinct old and
 * new parcels. */
static pdb_status count_commune(pdb_ctx *ctx, const pdb_lineage_step *steps, size_t a, size_t b,
                                pdb_import_change *c)
{
    int64_t *ids = malloc((b - a + 1) * sizeof *ids);
    if (ids == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    for (int k = 0; k < PDB_LINEAGE_CLASSES; k++) {
        for (int side = 0; side < 2; side++) {
            size_t n = 0;
            for (size_t i = a; i < b; i++) {
                if (step_class(steps[i].kind) != k)
                    continue;
                int64_t id = side == 0 ? steps[i].parent_id : steps[i].child_id;
                if (id > 0)
                    ids[n++] = id;
            }
            (side == 0 ? c->before : c->after)[k] = distinct(ids, n);
        }
    }
    free(ids);
    return PDB_OK;
}

/* The commune of a step: that of its child, or of its parent when it has
 * none (a retired parcel). */
static const char *step_commune(const pdb_lineage_step *e)
{
    return e->child_id > 0 ? e->child : e->parent;
}

pdb_status pdb_import_changes_get(pdb_ctx *ctx, pdb_store *s, int64_t batch_id, int with_steps,
                                  pdb_import_changes **out)
{
    pdb_lineage *l = NULL;
    pdb_import_changes *r = NULL;
    pdb_status st;

    if (out == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no place for the changes");
    *out = NULL;
    if (s == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no store");
    if (batch_id <= 0)
        return pdb__fail(ctx, PDB_EINVAL, "a batch id is a positive integer");
    if ((st = s->ops->import_steps(ctx, s, batch_id, &l)) != PDB_OK)
        return st;
    if ((r = calloc(1, sizeof *r)) == NULL ||
        (l->count > 0 && (r->communes = calloc(l->count, sizeof *r->communes)) == NULL)) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        goto done;
    }
    r->batch_id = batch_id;
    /* The steps come grouped by commune (import_steps' order). */
    for (size_t a = 0, b; a < l->count; a = b) {
        const char *c = step_commune(&l->steps[a]);
        for (b = a + 1; b < l->count && strncmp(step_commune(&l->steps[b]), c, 5) == 0; b++)
            ;
        pdb_import_change *ic = &r->communes[r->count++];
        snprintf(ic->commune, sizeof ic->commune, "%.5s", c);
        if ((st = count_commune(ctx, l->steps, a, b, ic)) != PDB_OK ||
            (st = s->ops->batch_rejects(ctx, s, batch_id, ic->commune, "prev-number-unknown",
                                        &ic->prev_unknown)) != PDB_OK ||
            (st = s->ops->batch_rejects(ctx, s, batch_id, ic->commune, "prev-number-contradicted",
                                        &ic->prev_contradicted)) != PDB_OK)
            goto done;
    }
    if (with_steps) {
        r->steps = l->steps;
        r->nsteps = l->count;
        l->steps = NULL;
        l->count = 0;
    }
    *out = r;
    r = NULL;
    st = pdb__ok(ctx);
done:
    pdb_import_changes_free(r);
    pdb_lineage_free(l);
    return st;
}

void pdb_import_change_format(const pdb_import_change *c, char *buf, size_t cap)
{
    const int64_t *b = c->before, *a = c->after;
    int n =
        snprintf(buf, cap,
                 "%s: unchanged %lld, renumbered %lld, reshaped %lld, split %lld -> %lld, merged "
                 "%lld -> %lld, new %lld, retired %lld",
                 c->commune, (long long)a[PDB_LINEAGE_UNCHANGED],
                 (long long)a[PDB_LINEAGE_RENUMBERED], (long long)a[PDB_LINEAGE_RESHAPED],
                 (long long)b[PDB_LINEAGE_SPLIT], (long long)a[PDB_LINEAGE_SPLIT],
                 (long long)b[PDB_LINEAGE_MERGED], (long long)a[PDB_LINEAGE_MERGED],
                 (long long)a[PDB_LINEAGE_NEW], (long long)b[PDB_LINEAGE_RETIRED]);
    if (n >= 0 && (size_t)n < cap && (c->prev_unknown > 0 || c->prev_contradicted > 0))
        snprintf(buf + n, cap - (size_t)n,
                 "; previous numbers: %lld name nothing, %lld contradicted",
                 (long long)c->prev_unknown, (long long)c->prev_contradicted);
}

pdb_status pdb__sq_batch_rejects(pdb_ctx *ctx, pdb_store *s, int64_t batch_id, const char *commune,
                                 const char *reason, int64_t *n)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT count(*) FROM rejects WHERE batch_id = ?1 AND commune = ?2 "
                                "AND reason = ?3",
                                -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, batch_id);
        sqlite3_bind_text(stmt, 2, commune, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, reason, -1, SQLITE_STATIC);
        if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
            *n = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? PDB_OK : pdb__sql_fail(ctx, s->db, rc, "counting a batch's rejects");
}

void pdb_import_changes_free(pdb_import_changes *c)
{
    if (c == NULL)
        return;
    pdb__lineage_steps_free(c->steps, c->nsteps);
    free(c->communes);
    free(c);
}

/* ------------------------------------------------------------------------ */
/* SQLite                                                                    */
/* ------------------------------------------------------------------------ */

/* The parcels a load superseded (valid_to = its time) or added (its batch,
 * current) in the commune. */
static const char *const set_sql[2] = {
    "SELECT id, former_commune, sheet, parcel, source_srid, source_geom, area_computed_m2, "
    "NULL, NULL FROM parcels WHERE commune = ?1 AND valid_to = ?2",
    "SELECT id, former_commune, sheet, parcel, source_srid, source_geom, area_computed_m2, "
    "prev_sheet, prev_parcel FROM parcels WHERE commune = ?1 AND batch_id = ?3 AND valid_to IS "
    "NULL",
};

/* What the SQLite store writes the edges with (its batch and time). */
typedef struct sq_edges {
    pdb_store *s;     /* the store, in the load's transaction */
    int64_t batch_id; /* the load's batch */
    const char *now;  /* the load's time */
} sq_edges;

static pdb_status sq_write_edges(pdb_ctx *ctx, const pdb__lm_result *res, void *arg)
{
    const sq_edges *w = arg;
    sqlite3 *db = w->s->db;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db,
                                "INSERT INTO lineage (parent_id, child_id, kind, overlap_m2, "
                                "batch_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                -1, &stmt, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < res->nedges; i++) {
        sqlite3_reset(stmt);
        sqlite3_bind_int64(stmt, 1, res->edges[i].parent);
        sqlite3_bind_int64(stmt, 2, res->edges[i].child);
        sqlite3_bind_text(stmt, 3, res->edges[i].kind, -1, SQLITE_STATIC);
        sqlite3_bind_double(stmt, 4, res->edges[i].overlap_m2);
        sqlite3_bind_int64(stmt, 5, w->batch_id);
        sqlite3_bind_text(stmt, 6, w->now, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_OK ? PDB_OK : pdb__sql_fail(ctx, db, rc, "writing the lineage");
}

pdb_status pdb__sq_lineage_record(pdb_ctx *ctx, pdb_writer *pw, int64_t batch_id, const char *now)
{
    pdb_store *s = pw->store;
    const char *commune = pw->commune;
    pdb__lm_set sets[2] = {{0}};
    sq_edges w = {s, batch_id, now};
    sqlite3_stmt *stmt = NULL;
    pdb_status st = PDB_OK;
    int rc = SQLITE_OK;

    /* The old set first: a first import (none) reads nothing more. */
    for (int k = 0; k < 2 && st == PDB_OK && rc == SQLITE_OK && (k == 0 || sets[0].count > 0);
         k++) {
        if ((rc = sqlite3_prepare_v2(s->db, set_sql[k], -1, &stmt, NULL)) != SQLITE_OK)
            break;
        sqlite3_bind_text(stmt, 1, commune, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, now, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, batch_id);
        while (st == PDB_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
            st = pdb__lm_set_add(
                ctx, &sets[k], sqlite3_column_int64(stmt, 0),
                (const char *)sqlite3_column_text(stmt, 1),
                (const char *)sqlite3_column_text(stmt, 2),
                (const char *)sqlite3_column_text(stmt, 3), sqlite3_column_int(stmt, 4),
                sqlite3_column_blob(stmt, 5), (size_t)sqlite3_column_bytes(stmt, 5),
                sqlite3_column_double(stmt, 6), (const char *)sqlite3_column_text(stmt, 7),
                (const char *)sqlite3_column_text(stmt, 8));
        sqlite3_finalize(stmt);
        stmt = NULL;
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    if (st == PDB_OK && rc != SQLITE_OK)
        st = pdb__sql_fail(ctx, s->db, rc, "reading the parcels to match");
    return pdb__lineage_match_write(ctx, st, commune, sets, sq_write_edges, &w, pw);
}

/* A batch's steps: its edges, its new parcels (no edge of the batch to
 * them) and its retired ones (superseded by its load of their commune, no
 * edge of the batch from them), by commune. The unary + keeps SQLite off
 * lineage_batch in the NOT EXISTS probes: through it each probe walked
 * every edge of the batch (53 s for a commune of 20,000 parcels); through
 * lineage_child/lineage_parent it reads a row or two. */
#define SQ_NUMBER(p) p ".commune || '/' || " p ".sheet || '/' || " p ".parcel"
static const char sq_steps_sql[] =
    "SELECT * FROM ("
    "SELECT l.parent_id, l.child_id, l.kind, l.overlap_m2, l.at, " SQ_NUMBER("pp") ", " SQ_NUMBER(
        "pc") ", pc.commune AS c, 0 AS o FROM lineage l JOIN parcels pp ON pp.id = l.parent_id "
              "JOIN parcels pc ON pc.id = l.child_id WHERE l.batch_id = ?1 AND l.change_id IS NULL "
              "UNION ALL "
              "SELECT 0, p.id, 'new', p.area_computed_m2, p.valid_from, '', " SQ_NUMBER(
                  "p") ", p.commune, 1 FROM import_files f JOIN parcels p ON p.commune = "
                       "f.commune AND p.batch_id = f.batch_id WHERE f.batch_id = ?1 AND NOT EXISTS "
                       "(SELECT 1 FROM lineage l WHERE l.child_id = p.id AND +l.batch_id = ?1) "
                       "UNION ALL "
                       "SELECT p.id, 0, 'retired', p.area_computed_m2, p.valid_to, " SQ_NUMBER(
                           "p") ", '', p.commune, 2 FROM import_files f JOIN parcels p ON "
                                "p.commune = f.commune AND p.valid_to = f.committed_at WHERE "
                                "f.batch_id = ?1 AND NOT EXISTS (SELECT 1 FROM lineage l WHERE "
                                "l.parent_id = p.id AND +l.batch_id = ?1)"
                                ") ORDER BY c, o, 2, 1";

pdb_status pdb__sq_import_steps(pdb_ctx *ctx, pdb_store *s, int64_t batch_id, pdb_lineage **out)
{
    sqlite3_stmt *stmt = NULL;
    pdb_lineage *l = NULL;
    size_t cap = 0;
    pdb_status st;
    int rc;

    *out = NULL;
    rc = sqlite3_prepare_v2(s->db, "SELECT 1 FROM import_batches WHERE id = ?1", -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, batch_id);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (rc == SQLITE_DONE)
        return pdb__fail(ctx, PDB_ENOTFOUND, "no import batch %lld", (long long)batch_id);
    if (rc != SQLITE_ROW)
        return pdb__sql_fail(ctx, s->db, rc, "reading the batch");
    /* A store no read-write open has upgraded has no lineage table. */
    rc = sqlite3_prepare_v2(s->db,
                            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'lineage'",
                            -1, &stmt, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (rc == SQLITE_DONE)
        return pdb__fail(ctx, PDB_EINVAL,
                         "the store has no lineage table yet: it was made before lineage was "
                         "recorded and not opened for writing since (an import adds it)");
    if (rc != SQLITE_ROW)
        return pdb__sql_fail(ctx, s->db, rc, "reading the batch");
    if ((l = calloc(1, sizeof *l)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    l->id = batch_id;
    if ((rc = sqlite3_prepare_v2(s->db, sq_steps_sql, -1, &stmt, NULL)) != SQLITE_OK) {
        st = pdb__sql_fail(ctx, s->db, rc, "reading the batch's lineage");
        goto done;
    }
    sqlite3_bind_int64(stmt, 1, batch_id);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        pdb_lineage_step e = {.parent_id = sqlite3_column_int64(stmt, 0),
                              .child_id = sqlite3_column_int64(stmt, 1),
                              .overlap_m2 = sqlite3_column_double(stmt, 3),
                              .batch_id = batch_id};
        snprintf(e.kind, sizeof e.kind, "%s", (const char *)sqlite3_column_text(stmt, 2));
        snprintf(e.at, sizeof e.at, "%s", (const char *)sqlite3_column_text(stmt, 4));
        snprintf(e.parent, sizeof e.parent, "%s", (const char *)sqlite3_column_text(stmt, 5));
        snprintf(e.child, sizeof e.child, "%s", (const char *)sqlite3_column_text(stmt, 6));
        if ((st = pdb__lineage_push(ctx, l, &cap, &e, NULL, NULL)) != PDB_OK)
            goto done;
    }
    if (rc != SQLITE_DONE) {
        st = pdb__sql_fail(ctx, s->db, rc, "reading the batch's lineage");
        goto done;
    }
    *out = l;
    l = NULL;
    st = pdb__ok(ctx);
done:
    sqlite3_finalize(stmt);
    pdb_lineage_free(l);
    return st;
}

pdb_status pdb__sq_lineage_upgrade(pdb_ctx *ctx, pdb_store *s)
{
    sqlite3_stmt *stmt = NULL;
    pdb_status st;
    int current = 0;

    for (int pass = 0; pass < 2; pass++) {
        int rc = sqlite3_prepare_v2(s->db,
                                    "SELECT sql LIKE '%''unchanged''%' FROM sqlite_master WHERE "
                                    "type = 'table' AND name = 'lineage'",
                                    -1, &stmt, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
            current = sqlite3_column_int(stmt, 0);
        sqlite3_finalize(stmt);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            if (pass == 1)
                sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return pdb__sql_fail(ctx, s->db, rc, "reading the lineage table");
        }
        if (current && pass == 0)
            return PDB_OK;
        if (current) /* another process upgraded it meanwhile */
            return pdb__store_exec(ctx, s, "COMMIT");
        /* Checked again under the write lock, as the schema upgrades are. */
        if (pass == 0 && (st = pdb__store_exec(ctx, s, "BEGIN IMMEDIATE")) != PDB_OK)
            return st;
    }
    if ((st = pdb__store_exec(ctx, s, PDB_LINEAGE_UPGRADE_SQL)) != PDB_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return st;
    }
    return pdb__store_exec(ctx, s, "COMMIT");
}
