/*
 * change.c: the SQLite store's changes to single parcels between surveys
 * (pdb_change_apply) and their lineage (pdb_parcel_lineage).
 *
 * A change is one write transaction, as an import of a commune is, and
 * ends as one does: the commune gets a batch of its own (an import_batches
 * row described "change N: ..."), so that its last_batch moves and every
 * server's in-memory lookup index reloads it; its lookup BLOB and search
 * words are rewritten from its current parcels, its overviews marked stale
 * (the background builder rebuilds them), its row stamped with the data
 * version the commit makes, and meta's version bumped just before COMMIT.
 * The parcels named are read inside the transaction (BEGIN IMMEDIATE holds
 * the write lock), so a second change to the same parcel that waited for
 * the first finds it superseded: PDB_ECONFLICT, and nothing written.
 *
 * Geometry checks are in the survey's metres (the parcels' source
 * geometry), through GEOS.
 */
#include "change.h"
#include "geom.h"
#include "lookup.h"
#include "overview.h"
#include "search.h"
#include "store.h"
#include "writer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pdb_status step_done(pdb__chg *cs, sqlite3_stmt *stmt, const char *what)
{
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return pdb__sql_fail(cs->ctx, cs->s->db, rc, what);
    return PDB_OK;
}

/* Reads the one current parcel of a number into cs->old[cs->nold]. */
static pdb_status read_current(pdb__chg *cs, const pdb_parcel_ref *ref)
{
    sqlite3_stmt *stmt = NULL;
    pdb_status st = PDB_OK;
    int rows = 0, rc;
    pdb__chg_old *o = &cs->old[cs->nold];

    rc = sqlite3_prepare_v2(cs->s->db,
                            "SELECT " PDB_PARCEL_COLUMNS " FROM parcels p WHERE p.commune = ?1 AND "
                            "p.sheet = ?2 AND p.parcel = ?3 AND p.valid_to IS NULL ORDER BY p.id",
                            -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(cs->ctx, cs->s->db, rc, "reading the parcel");
    sqlite3_bind_text(stmt, 1, ref->commune, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, ref->sheet, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, ref->parcel, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (++rows > 1)
            break;
        cs->nold++; /* o->p is cleared at the end, however far it was filled */
        if ((st = pdb__parcel_from_row(cs->ctx, stmt, PDB_READ_PERSONAL | PDB_READ_SOURCE,
                                       &o->p)) != PDB_OK)
            goto done;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        st = pdb__sql_fail(cs->ctx, cs->s->db, rc, "reading the parcel");
        goto done;
    }
    if (rows > 1) {
        st = pdb__fail(cs->ctx, PDB_EINVAL,
                       "%s/%s/%s is a duplicate number (several current parcels): change it "
                       "after the register is corrected",
                       ref->commune, ref->sheet, ref->parcel);
        goto done;
    }
    if (rows == 0) {
        /* Never stored, or superseded: by another change that won the
         * write lock first, or by a re-import. */
        sqlite3_finalize(stmt);
        stmt = NULL;
        rc = sqlite3_prepare_v2(cs->s->db,
                                "SELECT max(valid_to) FROM parcels WHERE commune = ?1 AND "
                                "sheet = ?2 AND parcel = ?3",
                                -1, &stmt, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(stmt, 1, ref->commune, -1, SQLITE_STATIC);
            sqlite3_bind_text(stmt, 2, ref->sheet, -1, SQLITE_STATIC);
            sqlite3_bind_text(stmt, 3, ref->parcel, -1, SQLITE_STATIC);
            rc = sqlite3_step(stmt);
        }
        if (rc != SQLITE_ROW)
            st = pdb__sql_fail(cs->ctx, cs->s->db, rc, "reading the parcel");
        else
            st = pdb__chg_missing(cs, ref, (const char *)sqlite3_column_text(stmt, 0));
        goto done;
    }
    char what[120];
    snprintf(what, sizeof what, "parcel %s/%s/%s", ref->commune, ref->sheet, ref->parcel);
    st = pdb__chg_geos_from_wkb(cs, o->p.source_wkb, o->p.source_wkb_len, what, &o->g);
done:
    sqlite3_finalize(stmt);
    return st;
}

/* Gives each new parcel without a number the next free one of its sheet
 * (above every number the sheet ever had, history included, so that an
 * old number is never handed out again), and checks given ones are free
 * among the current parcels once the old ones are superseded. */
static pdb_status assign_numbers(pdb__chg *cs, const char *sheet)
{
    sqlite3_stmt *stmt = NULL;
    int64_t next = 0;
    pdb_status st = PDB_OK;
    int rc = sqlite3_prepare_v2(cs->s->db,
                                "SELECT coalesce(max(CAST(parcel AS INTEGER)), 0) FROM parcels "
                                "WHERE commune = ?1 AND sheet = ?2",
                                -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, cs->commune, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, sheet, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    if (rc != SQLITE_ROW) {
        st = pdb__sql_fail(cs->ctx, cs->s->db, rc, "finding the next free number");
        goto done;
    }
    next = sqlite3_column_int64(stmt, 0) + 1;
    sqlite3_finalize(stmt);
    stmt = NULL;
    for (size_t i = 0; i < cs->nnew; i++) {
        pdb__chg_new *n = &cs->neu[i];
        if (n->number[0] == '\0') {
            snprintf(n->number, sizeof n->number, "%lld", (long long)next++);
            continue;
        }
        if ((st = pdb__chg_number_check(cs, n->number)) != PDB_OK)
            goto done;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cs->neu[j].number, n->number) == 0) {
                st = pdb__fail(cs->ctx, PDB_EINVAL, "number %s is given twice", n->number);
                goto done;
            }
        /* Free among the current parcels, not counting the ones this change
         * supersedes (they are superseded already when this runs). */
        rc = sqlite3_prepare_v2(cs->s->db,
                                "SELECT count(*) FROM parcels WHERE commune = ?1 AND sheet = ?2 "
                                "AND parcel = ?3 AND valid_to IS NULL",
                                -1, &stmt, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(stmt, 1, cs->commune, -1, SQLITE_STATIC);
            sqlite3_bind_text(stmt, 2, sheet, -1, SQLITE_STATIC);
            sqlite3_bind_text(stmt, 3, n->number, -1, SQLITE_STATIC);
            rc = sqlite3_step(stmt);
        }
        if (rc != SQLITE_ROW) {
            st = pdb__sql_fail(cs->ctx, cs->s->db, rc, "checking a number");
            goto done;
        }
        if (sqlite3_column_int64(stmt, 0) > 0) {
            st = pdb__fail(cs->ctx, PDB_EINVAL, "number %s/%s/%s belongs to a current parcel",
                           cs->commune, sheet, n->number);
            goto done;
        }
        sqlite3_finalize(stmt);
        stmt = NULL;
    }
done:
    sqlite3_finalize(stmt);
    return st;
}

/* A reshape: valid, and no overlap above 0.01 m^2 with a current
 * neighbour of the same survey CRS (found through the R-tree by the new
 * geometry's WGS 84 box). */
static pdb_status check_reshape(pdb__chg *cs)
{
    pdb__chg_new *np = &cs->neu[0];
    sqlite3_stmt *stmt = NULL;
    pdb_status st = PDB_OK;
    int rc;

    rc = sqlite3_prepare_v2(cs->s->db,
                            "SELECT p.commune, p.sheet, p.parcel, p.source_geom FROM parcels p "
                            "WHERE p.valid_to IS NULL AND p.source_srid = ?5 AND p.id != ?6 AND "
                            "p.id IN (SELECT pkid FROM idx_parcels_geom WHERE xmin <= ?3 AND "
                            "xmax >= ?1 AND ymin <= ?4 AND ymax >= ?2)",
                            -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(cs->ctx, cs->s->db, rc, "finding the neighbours");
    for (int i = 0; i < 4; i++)
        sqlite3_bind_double(stmt, i + 1, np->prep->bbox[i]);
    sqlite3_bind_int(stmt, 5, cs->srid);
    sqlite3_bind_int64(stmt, 6, cs->old[0].p.id);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        char what[120];
        snprintf(what, sizeof what, "%s/%s/%s", sqlite3_column_text(stmt, 0),
                 sqlite3_column_text(stmt, 1), sqlite3_column_text(stmt, 2));
        if ((st = pdb__chg_neighbour_check(cs, sqlite3_column_blob(stmt, 3),
                                           (size_t)sqlite3_column_bytes(stmt, 3), what)) != PDB_OK)
            goto done;
    }
    st = rc == SQLITE_DONE ? PDB_OK : pdb__sql_fail(cs->ctx, cs->s->db, rc, "reading a neighbour");
done:
    sqlite3_finalize(stmt);
    return st;
}

static const char insert_sql[] =
    "INSERT INTO parcels (commune, former_commune, sheet, parcel, landuse, landuse_main, "
    "area_surveyed_m2, area_computed_m2, address, owner, flags, source_srid, source_geom, "
    "batch_id, valid_from, geom, prev_sheet, prev_parcel, certificate, record_start, record_end) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
    "?19, ?20, ?21)";

/* Writes the new parcels (and their R-tree boxes). */
static pdb_status insert_new(pdb__chg *cs)
{
    sqlite3_stmt *ins = NULL, *rt = NULL;
    pdb_status st = PDB_OK;
    int rc = sqlite3_prepare_v2(cs->s->db, insert_sql, -1, &ins, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(cs->s->db,
                                "INSERT INTO idx_parcels_geom (pkid, xmin, xmax, ymin, ymax) "
                                "VALUES (?1, ?2, ?3, ?4, ?5)",
                                -1, &rt, NULL);
    if (rc != SQLITE_OK) {
        st = pdb__sql_fail(cs->ctx, cs->s->db, rc, "preparing the change");
        goto done;
    }
    for (size_t i = 0; i < cs->nnew; i++) {
        pdb__chg_new *n = &cs->neu[i];
        const char *lu = n->p.landuse;
        size_t main_len = strcspn(lu, "+");
        unsigned flags = (n->prep->wgs84_repaired ? PDB_PARCEL_WGS84_REPAIRED : 0) |
                         (isnan(n->p.area_surveyed_m2) ? PDB_PARCEL_NO_SURVEYED_AREA : 0);
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins);
        sqlite3_bind_text(ins, 1, cs->commune, -1, SQLITE_STATIC);
        if (n->p.former_commune != NULL && n->p.former_commune[0] != '\0')
            sqlite3_bind_text(ins, 2, n->p.former_commune, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, n->p.sheet, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 4, n->number, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 5, lu, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 6, lu, (int)main_len, SQLITE_STATIC);
        if (!isnan(n->p.area_surveyed_m2))
            sqlite3_bind_double(ins, 7, n->p.area_surveyed_m2);
        sqlite3_bind_double(ins, 8, n->prep->area_m2);
        if (n->p.address != NULL)
            sqlite3_bind_text(ins, 9, n->p.address, -1, SQLITE_STATIC);
        if (n->p.owner != NULL)
            sqlite3_bind_text(ins, 10, n->p.owner, -1, SQLITE_STATIC);
        sqlite3_bind_int(ins, 11, (int)flags);
        sqlite3_bind_int(ins, 12, cs->srid);
        sqlite3_bind_blob(ins, 13, n->wkb, (int)n->wkb_len, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 14, cs->batch_id);
        sqlite3_bind_text(ins, 15, cs->now, -1, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 16, n->prep->blob, (int)n->prep->blob_len, SQLITE_STATIC);
        const char *national[5] = {n->p.prev_sheet, n->p.prev_parcel, n->p.certificate,
                                   n->p.record_start, n->p.record_end};
        for (int k = 0; k < 5; k++)
            if (national[k] != NULL)
                sqlite3_bind_text(ins, 17 + k, national[k], -1, SQLITE_STATIC);
        if ((st = step_done(cs, ins, "storing a new parcel")) != PDB_OK)
            goto done;
        n->id = sqlite3_last_insert_rowid(cs->s->db);
        sqlite3_reset(rt);
        sqlite3_bind_int64(rt, 1, n->id);
        sqlite3_bind_double(rt, 2, n->prep->bbox[0]);
        sqlite3_bind_double(rt, 3, n->prep->bbox[2]);
        sqlite3_bind_double(rt, 4, n->prep->bbox[1]);
        sqlite3_bind_double(rt, 5, n->prep->bbox[3]);
        if ((st = step_done(cs, rt, "indexing a new parcel")) != PDB_OK)
            goto done;
    }
done:
    sqlite3_finalize(ins);
    sqlite3_finalize(rt);
    return st;
}

/* One lineage edge. */
static pdb_status edge(pdb__chg *cs, int64_t parent, int64_t child, const char *kind,
                       double overlap)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(cs->s->db,
                                "INSERT INTO lineage (parent_id, child_id, kind, overlap_m2, "
                                "change_id, batch_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                                -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(cs->ctx, cs->s->db, rc, "writing the lineage");
    sqlite3_bind_int64(stmt, 1, parent);
    sqlite3_bind_int64(stmt, 2, child);
    sqlite3_bind_text(stmt, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_double(stmt, 4, isfinite(overlap) ? overlap : 0);
    sqlite3_bind_int64(stmt, 5, cs->change_id);
    sqlite3_bind_int64(stmt, 6, cs->batch_id);
    sqlite3_bind_text(stmt, 7, cs->now, -1, SQLITE_STATIC);
    pdb_status st = step_done(cs, stmt, "writing the lineage");
    sqlite3_finalize(stmt);
    return st;
}

/* The commune's search words from its current parcels (the writer hands
 * them over from what it added; a change rebuilds them from the store). */
static pdb_status search_commune(pdb__chg *cs)
{
    pdb__search_postings *pp = NULL;
    sqlite3_stmt *stmt = NULL;
    pdb_status st = PDB_OK;
    int rc = sqlite3_prepare_v2(cs->s->db,
                                "SELECT id, owner, address, landuse FROM parcels WHERE commune = "
                                "?1 AND valid_to IS NULL ORDER BY id",
                                -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(cs->ctx, cs->s->db, rc, "reading the commune's words");
    sqlite3_bind_text(stmt, 1, cs->commune, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        if ((st = pdb__search_postings_add(cs->ctx, &pp, sqlite3_column_int64(stmt, 0),
                                           (const char *)sqlite3_column_text(stmt, 1),
                                           (const char *)sqlite3_column_text(stmt, 2),
                                           (const char *)sqlite3_column_text(stmt, 3))) != PDB_OK)
            goto done;
    if (rc != SQLITE_DONE) {
        st = pdb__sql_fail(cs->ctx, cs->s->db, rc, "reading the commune's words");
        goto done;
    }
    st = pdb__sq_search_commune(cs->ctx, cs->s, cs->commune, pp);
done:
    sqlite3_finalize(stmt);
    pdb__search_postings_free(pp);
    return st;
}

/* The commune's row as an import leaves it: count, box, the change's
 * batch, the time, and (pdb__commune_stamp) the data version this
 * transaction commits. */
static pdb_status commune_row(pdb__chg *cs)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(
        cs->s->db,
        "UPDATE communes SET (parcels, min_lon, max_lon, min_lat, max_lat) = (SELECT count(*), "
        "min(r.xmin), max(r.xmax), min(r.ymin), max(r.ymax) FROM parcels p JOIN idx_parcels_geom "
        "r ON r.pkid = p.id WHERE p.commune = ?1 AND p.valid_to IS NULL), last_batch = ?2, "
        "updated_at = ?3 WHERE code = ?1",
        -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(cs->ctx, cs->s->db, rc, "updating the commune");
    sqlite3_bind_text(stmt, 1, cs->commune, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, cs->batch_id);
    sqlite3_bind_text(stmt, 3, cs->now, -1, SQLITE_STATIC);
    pdb_status st = step_done(cs, stmt, "updating the commune");
    sqlite3_finalize(stmt);
    if (st == PDB_OK && sqlite3_changes(cs->s->db) != 1)
        st = pdb__fail(cs->ctx, PDB_ECORRUPT, "commune %s has parcels but no row", cs->commune);
    return st == PDB_OK ? pdb__commune_stamp(cs->ctx, cs->s, cs->commune) : st;
}

/* The change's batch and its changes row (after filled in at the end). */
static pdb_status begin_rows(pdb__chg *cs)
{
    const pdb_change *c = cs->c;
    sqlite3_stmt *stmt = NULL;
    char desc[200], *before = pdb__chg_list_text(cs, 0);
    pdb_status st;

    if (before == NULL)
        return pdb__fail(cs->ctx, PDB_ENOMEM, "out of memory");
    snprintf(desc, sizeof desc, "change: %s of %s/%s/%s", pdb__chg_kind(c->kind), cs->commune,
             cs->old[0].p.sheet, cs->old[0].p.parcel);
    int rc = sqlite3_prepare_v2(cs->s->db,
                                "INSERT INTO import_batches (description, started_at, finished_at, "
                                "status, read, stored) VALUES (?1, ?2, ?2, 'done', ?3, ?4)",
                                -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        st = pdb__sql_fail(cs->ctx, cs->s->db, rc, "recording the change");
        goto done;
    }
    sqlite3_bind_text(stmt, 1, desc, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, cs->now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)cs->nold);
    sqlite3_bind_int64(stmt, 4, (sqlite3_int64)cs->nnew);
    if ((st = step_done(cs, stmt, "recording the change")) != PDB_OK)
        goto done;
    cs->batch_id = sqlite3_last_insert_rowid(cs->s->db);
    sqlite3_finalize(stmt);
    rc = sqlite3_prepare_v2(cs->s->db,
                            "INSERT INTO changes (kind, at, actor, reason, document, commune, "
                            "batch_id, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, '')",
                            -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        stmt = NULL;
        st = pdb__sql_fail(cs->ctx, cs->s->db, rc, "recording the change");
        goto done;
    }
    sqlite3_bind_text(stmt, 1, pdb__chg_kind(c->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, cs->now, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, c->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, c->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, c->document, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 6, cs->commune, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 7, cs->batch_id);
    sqlite3_bind_text(stmt, 8, before, -1, SQLITE_STATIC);
    if ((st = step_done(cs, stmt, "recording the change")) != PDB_OK)
        goto done;
    cs->change_id = sqlite3_last_insert_rowid(cs->s->db);
done:
    sqlite3_finalize(stmt);
    free(before);
    return st;
}

static pdb_status supersede(pdb__chg *cs)
{
    sqlite3_stmt *stmt = NULL;
    pdb_status st = PDB_OK;
    int rc = sqlite3_prepare_v2(
        cs->s->db, "UPDATE parcels SET valid_to = ?2 WHERE id = ?1 AND valid_to IS NULL", -1, &stmt,
        NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(cs->ctx, cs->s->db, rc, "superseding the parcel");
    for (size_t i = 0; i < cs->nold && st == PDB_OK; i++) {
        sqlite3_reset(stmt);
        sqlite3_bind_int64(stmt, 1, cs->old[i].p.id);
        sqlite3_bind_text(stmt, 2, cs->now, -1, SQLITE_STATIC);
        if ((st = step_done(cs, stmt, "superseding the parcel")) == PDB_OK &&
            sqlite3_changes(cs->s->db) != 1)
            st = pdb__fail(cs->ctx, PDB_ECONFLICT, "parcel %s/%s/%s changed meanwhile",
                           cs->old[i].p.commune, cs->old[i].p.sheet, cs->old[i].p.parcel);
    }
    sqlite3_finalize(stmt);
    return st;
}

static pdb_status finish_rows(pdb__chg *cs)
{
    char *after = pdb__chg_list_text(cs, 1);
    sqlite3_stmt *stmt = NULL;
    pdb_status st;
    if (after == NULL)
        return pdb__fail(cs->ctx, PDB_ENOMEM, "out of memory");
    int rc = sqlite3_prepare_v2(cs->s->db, "UPDATE changes SET after = ?2 WHERE id = ?1", -1, &stmt,
                                NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, cs->change_id);
        sqlite3_bind_text(stmt, 2, after, -1, SQLITE_STATIC);
        st = step_done(cs, stmt, "recording the change");
    } else {
        st = pdb__sql_fail(cs->ctx, cs->s->db, rc, "recording the change");
    }
    sqlite3_finalize(stmt);
    free(after);
    return st;
}

static pdb_status sq_begin(pdb__chg *cs)
{
    return pdb__store_exec(cs->ctx, cs->s, "BEGIN IMMEDIATE");
}

/* The end of an import's commit, for the change's commune. */
static pdb_status sq_finish(pdb__chg *cs)
{
    pdb_ctx *ctx = cs->ctx;
    pdb_store *s = cs->s;
    pdb_status st;
    if ((st = finish_rows(cs)) != PDB_OK)
        return st;
    if (cs->c->set_owner != NULL) {
        /* Owner data written: the audit row commits with it, or neither. */
        char ids[32], what[160];
        pdb__chg_audit_what(cs, ids, what);
        if ((st = pdb__sq_audit_record(ctx, s, cs->c->actor, what, ids)) != PDB_OK)
            return st;
    }
    if ((st = search_commune(cs)) != PDB_OK ||
        (st = pdb__overview_mark_stale(ctx, s, cs->commune)) != PDB_OK ||
        (st = pdb__lookup_store_commune(ctx, s, &pdb__sq_lookup_io, cs->commune, cs->batch_id)) !=
            PDB_OK ||
        (st = commune_row(cs)) != PDB_OK)
        return st;
    if ((st = pdb__store_exec(ctx, s,
                              "UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                              "WHERE key = 'data_version'")) != PDB_OK)
        return st;
    return pdb__store_exec(ctx, s, "COMMIT");
}

static void sq_rollback(pdb__chg *cs)
{
    sqlite3_exec(cs->s->db, "ROLLBACK", NULL, NULL, NULL);
}

static const pdb__chg_io sq_io = {
    .begin = sq_begin,
    .read_current = read_current,
    .check_reshape = check_reshape,
    .supersede = supersede,
    .assign_numbers = assign_numbers,
    .begin_rows = begin_rows,
    .insert_new = insert_new,
    .edge = edge,
    .finish = sq_finish,
    .rollback = sq_rollback,
};

pdb_status pdb__sq_change_apply(pdb_ctx *ctx, pdb_store *s, const pdb_change *c,
                                pdb_change_result **out)
{
    return pdb__chg_apply(ctx, s, c, out, &sq_io);
}
