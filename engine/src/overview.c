/*
 * overview.c: overviews, so that no low-zoom tile walks every parcel
 * (Martin's z0 tile over a parcel table passed 200 MB).
 *
 * Per commune and zoom band, the overviews are its current parcels
 * dissolved by main land-use code and simplified to the band's pixel size,
 * and its outline. overview_build.c builds them, without the store;
 * overview_driver.c runs a rebuild (for both stores) through the store's
 * pdb__ov_io; this file is the SQLite store's: it reads the parcels,
 * writes the shapes, keeps the states, and draws the overviews.
 *
 * Building them cost about as much CPU as the rest of a commune's import
 * (docs/rendering.md, "Overviews"), so a commit only marks the commune
 * stale, in its own transaction, and readers draw a stale commune's low
 * zooms from its parcels (a bounded cost: one commune) until
 * pdb_overview_rebuild has run; the import stays fast and no tile is ever
 * older than its data version (an import builds each commune's overviews
while the next one loads: overview_bg.c). Rows are stored as the
 * engine's SpatiaLite BLOBs in WGS 84 with an SQLite R-tree over their
 * boxes.
 */
#include "overview.h"

#include "geom.h"
#include "overview_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs one statement with a commune bound to ?1 and the time to ?2, and a
 * text to ?3 when the statement has it. */
static pdb_status commune_exec(pdb_ctx *ctx, pdb_store *s, const char *sql, const char *commune,
                               const char *text, const char *what)
{
    sqlite3_stmt *stmt = NULL;
    char now[32];
    pdb__now_iso(now);
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        int nparams = sqlite3_bind_parameter_count(stmt);
        sqlite3_bind_text(stmt, 1, commune, -1, SQLITE_STATIC);
        if (nparams >= 2)
            sqlite3_bind_text(stmt, 2, now, -1, SQLITE_TRANSIENT);
        if (nparams >= 3)
            sqlite3_bind_text(stmt, 3, text, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, s->db, rc, what);
    return PDB_OK;
}

pdb_status pdb__overview_mark_stale(pdb_ctx *ctx, pdb_store *s, const char *commune)
{
    pdb_status st = commune_exec(ctx, s,
                                 "INSERT INTO overviews_stale (commune, since) VALUES (?1, ?2) "
                                 "ON CONFLICT(commune) DO NOTHING",
                                 commune, NULL, "marking the commune's overviews stale");
    /* New data, new chance: a commune whose rebuild failed is tried again
     * once it is imported again (see pdb_overview_rebuild). */
    if (st == PDB_OK)
        st = commune_exec(ctx, s, "DELETE FROM overview_problems WHERE commune = ?1", commune, NULL,
                          "clearing the commune's overview problem");
    return st;
}

/* Old rows go first: a commune without parcels keeps no overviews. */
static pdb_status clear_commune(pdb_ctx *ctx, pdb_store *s, const char *commune)
{
    pdb_status st = commune_exec(ctx, s,
                                 "DELETE FROM overviews_rtree WHERE id IN (SELECT id FROM "
                                 "overviews WHERE commune = ?1)",
                                 commune, NULL, "clearing the commune's overviews");
    if (st == PDB_OK)
        st = commune_exec(ctx, s, "DELETE FROM overviews WHERE commune = ?1", commune, NULL,
                          "clearing the commune's overviews");
    return st;
}

/* ------------------------------------------------------------------------ */
/* Reading one commune's parcels, writing its shapes                         */
/* ------------------------------------------------------------------------ */

/* The commune's current parcels, ordered by main land use (BINARY: byte
 * order), then id (pdb__ov_io's read_parcels; SQLite reads on s alone). */
static pdb_status sq_read_parcels(pdb_ctx *ctx, pdb_store *s, void *reader, const char *commune,
                                  pdb__ov_parcel_fn fn, void *arg)
{
    sqlite3_stmt *sel = NULL;
    pdb_status st = PDB_OK;

    (void)reader; /* none made: the writer's thread reads */
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT landuse_main, area_computed_m2, geom FROM parcels WHERE "
                                "commune = ?1 AND valid_to IS NULL ORDER BY landuse_main, id",
                                -1, &sel, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(ctx, s->db, rc, "reading the commune's parcels");
    sqlite3_bind_text(sel, 1, commune, -1, SQLITE_STATIC);
    while (st == PDB_OK && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
        pdb__mpoly mp;
        if ((st = pdb__blob_parse(ctx, sqlite3_column_blob(sel, 2),
                                  (size_t)sqlite3_column_bytes(sel, 2), &mp)) != PDB_OK)
            break;
        st = fn(arg, (const char *)sqlite3_column_text(sel, 0), sqlite3_column_double(sel, 1), &mp);
        pdb__mpoly_free(&mp);
    }
    if (st == PDB_OK && rc != SQLITE_DONE)
        st = pdb__sql_fail(ctx, s->db, rc, "reading the commune's parcels");
    sqlite3_finalize(sel);
    return st;
}

/* Writes one shape and its box in the R-tree. */
static pdb_status insert_shape(pdb_ctx *ctx, pdb_store *s, sqlite3_stmt *ins, sqlite3_stmt *rt,
                               const char *commune, const pdb__ov_shape *sh)
{
    sqlite3_reset(ins);
    sqlite3_bind_text(ins, 1, commune, -1, SQLITE_STATIC);
    sqlite3_bind_int(ins, 2, sh->band);
    sqlite3_bind_int(ins, 3, sh->kind);
    if (sh->code != NULL)
        sqlite3_bind_text(ins, 4, sh->code, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(ins, 4);
    sqlite3_bind_double(ins, 5, sh->area_m2);
    for (int i = 0; i < 4; i++)
        sqlite3_bind_double(ins, 6 + i, sh->bbox[i]);
    sqlite3_bind_blob64(ins, 10, sh->blob, sh->len, SQLITE_STATIC);
    int rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, s->db, rc, "storing an overview");
    sqlite3_reset(rt);
    sqlite3_bind_int64(rt, 1, sqlite3_last_insert_rowid(s->db));
    sqlite3_bind_double(rt, 2, sh->bbox[0]);
    sqlite3_bind_double(rt, 3, sh->bbox[2]);
    sqlite3_bind_double(rt, 4, sh->bbox[1]);
    sqlite3_bind_double(rt, 5, sh->bbox[3]);
    rc = sqlite3_step(rt);
    sqlite3_reset(rt);
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, s->db, rc, "indexing an overview");
    return PDB_OK;
}

/* The commune's shapes replaced, its stale mark cleared (replace). */
static pdb_status sq_replace(pdb_ctx *ctx, pdb_store *s, const char *commune,
                             const pdb__ov_shape *shapes, size_t n)
{
    sqlite3_stmt *ins = NULL, *rt = NULL;
    pdb_status st;

    int rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO overviews (commune, band, kind, landuse_main, "
                                "area_m2, min_lon, min_lat, max_lon, max_lat, geom) VALUES "
                                "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                                -1, &ins, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db, "INSERT INTO overviews_rtree VALUES (?1, ?2, ?3, ?4, ?5)",
                                -1, &rt, NULL);
    if (rc != SQLITE_OK) {
        st = pdb__sql_fail(ctx, s->db, rc, "preparing the overviews");
        goto done;
    }
    if ((st = clear_commune(ctx, s, commune)) != PDB_OK)
        goto done;
    for (size_t i = 0; i < n; i++)
        if ((st = insert_shape(ctx, s, ins, rt, commune, &shapes[i])) != PDB_OK)
            goto done;
    st = commune_exec(ctx, s, "DELETE FROM overviews_stale WHERE commune = ?1", commune, NULL,
                      "clearing the stale mark");
done:
    sqlite3_finalize(ins);
    sqlite3_finalize(rt);
    return st;
}

/* The commune's row in overview_problems (problem). */
static pdb_status sq_problem(pdb_ctx *ctx, pdb_store *s, const char *commune, const char *state,
                             const char *reason)
{
    if (state == NULL)
        return commune_exec(ctx, s, "DELETE FROM overview_problems WHERE commune = ?1", commune,
                            NULL, "clearing the commune's overview problem");
    if (strcmp(state, "fallback") == 0)
        return commune_exec(ctx, s,
                            "INSERT OR REPLACE INTO overview_problems (commune, state, since, "
                            "reason) VALUES (?1, 'fallback', ?2, ?3)",
                            commune, reason, "recording the overviews' fallback");
    return commune_exec(ctx, s,
                        "INSERT OR REPLACE INTO overview_problems (commune, state, since, reason) "
                        "VALUES (?1, 'failed', ?2, ?3)",
                        commune, reason, "recording the overviews' failure");
}

static pdb_status sq_exec(pdb_ctx *ctx, pdb_store *s, const char *sql)
{
    return pdb__store_exec(ctx, s, sql);
}

/* The communes a rebuild covers. NULL: those that need it: stale ones, and
 * those with parcels and no overviews of the finest band (imported before
 * overviews existed, or before that band did) or land-use shapes in the
 * z8-10 band and no base beside them (built before bases existed: a
 * base, grown from the outline, is never dropped where a land-use patch
 * is kept, while a commune too small for any z8-10 shape has none there
 * for good; not those with a problem recorded, whose base may be what
 * GEOS could not make: no endless retry), but not those whose last
 * rebuild failed on the same data (they wait for a new import of theirs,
 * or a rebuild by name). "+band": each commune's test goes through
 * overviews_commune, not a scan of a band's rows in overviews_band. */
static const char communes_sql[] =
    "SELECT code FROM communes WHERE code = ?1 "
    "UNION SELECT commune FROM overviews_stale WHERE commune = ?1 "
    "UNION SELECT DISTINCT commune FROM overviews WHERE commune = ?1 "
    "UNION SELECT * FROM (SELECT code FROM communes WHERE parcels > 0 AND (NOT EXISTS "
    "(SELECT 1 FROM overviews WHERE commune = code AND +band = ?2) OR (EXISTS (SELECT 1 FROM "
    "overviews WHERE commune = code AND +band = 1 AND kind = 1) AND NOT EXISTS (SELECT 1 FROM "
    "overviews WHERE commune = code AND +band = 1 AND kind = 4) AND code NOT IN (SELECT commune "
    "FROM overview_problems))) UNION SELECT commune FROM overviews_stale) WHERE ?1 IS NULL AND "
    "code NOT IN (SELECT commune FROM overview_problems WHERE state = 'failed') ORDER BY 1";
_Static_assert(PDB_OVERVIEW_BASE == 4, "communes_sql spells the base's kind");

/* The codes first: rebuilding writes the tables the query reads. */
static pdb_status list_communes(pdb_ctx *ctx, pdb_store *s, const char *commune, char (**codes)[8],
                                size_t *found)
{
    sqlite3_stmt *stmt = NULL;
    size_t cap = 0;
    pdb_status st = PDB_OK;

    *codes = NULL;
    *found = 0;
    int rc = sqlite3_prepare_v2(s->db, communes_sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        if (commune != NULL)
            sqlite3_bind_text(stmt, 1, commune, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 2, PDB__OV_NBANDS - 1);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            if (*found == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                char(*p)[8] = realloc(*codes, ncap * sizeof **codes);
                if (p == NULL) {
                    st = pdb__fail(ctx, PDB_ENOMEM, "out of memory listing communes");
                    goto done;
                }
                *codes = p;
                cap = ncap;
            }
            snprintf((*codes)[(*found)++], sizeof **codes, "%s",
                     (const char *)sqlite3_column_text(stmt, 0));
        }
    }
    if (rc != SQLITE_DONE)
        st = pdb__sql_fail(ctx, s->db, rc, "listing communes");
done:
    sqlite3_finalize(stmt);
    if (st != PDB_OK) {
        free(*codes);
        *codes = NULL;
        *found = 0;
    }
    return st;
}

static void sq_rollback(pdb_store *s)
{
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* BEGIN IMMEDIATE: the writers' lock, as a load takes it (begin). */
static pdb_status sq_begin(pdb_ctx *ctx, pdb_store *s, const char *commune, char (**codes)[8],
                           size_t *n)
{
    pdb_status st;
    if ((st = pdb__store_exec(ctx, s, "BEGIN IMMEDIATE")) != PDB_OK)
        return st;
    if ((st = list_communes(ctx, s, commune, codes, n)) != PDB_OK)
        sq_rollback(s);
    return st;
}

static pdb_status sq_commit(pdb_ctx *ctx, pdb_store *s, int bump)
{
    pdb_status st;
    if (bump && (st = pdb__store_exec(ctx, s,
                                      "UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                                      "WHERE key = 'data_version'")) != PDB_OK)
        return st;
    return pdb__store_exec(ctx, s, "COMMIT");
}

const pdb__ov_io pdb__sq_overview_io = {
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .read_parcels = sq_read_parcels,
    .exec = sq_exec,
    .replace = sq_replace,
    .problem = sq_problem,
    .stamp = pdb__commune_stamp,
};

/* Whether the store has a table (a store opened read-only may predate the
 * overview tables: they are made at the first read-write open). */
static int has_table(pdb_store *s, const char *name)
{
    sqlite3_stmt *stmt = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                           -1, &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(stmt) == SQLITE_ROW;
    }
    sqlite3_finalize(stmt);
    return found;
}

/* Failed first: a failed commune is also stale, and failure is the news
 * ("+o.band": through overviews_commune, as communes_sql). */
static const char states_sql[] =
    "SELECT c.code, CASE WHEN f.state = 'failed' THEN 2 WHEN st.commune IS NOT NULL OR "
    "(c.parcels > 0 AND NOT EXISTS (SELECT 1 FROM overviews o WHERE o.commune = c.code AND "
    "+o.band = ?1)) THEN 1 WHEN f.state = 'fallback' THEN 3 ELSE 0 END, f.reason, "
    "coalesce(f.since, st.since, '') FROM communes c LEFT JOIN %s f ON f.commune = c.code "
    "LEFT JOIN overviews_stale st ON st.commune = c.code ORDER BY c.code";

pdb_status pdb__overview_states(pdb_ctx *ctx, pdb_store *s, pdb_commune_list *list)
{
    sqlite3_stmt *stmt = NULL;
    char sql[sizeof states_sql + 128];
    pdb_status st = PDB_OK;
    size_t i = 0;

    if (!has_table(s, "overviews_stale")) { /* made before overviews: none built */
        for (size_t k = 0; k < list->count; k++)
            list->items[k].overview_state =
                list->items[k].parcels > 0 ? PDB_OVERVIEW_STATE_STALE : PDB_OVERVIEW_STATE_FRESH;
        return PDB_OK;
    }
    snprintf(sql, sizeof sql, states_sql,
             has_table(s, "overview_problems")
                 ? "overview_problems"
                 : "(SELECT '' AS commune, '' AS state, '' AS since, '' AS reason WHERE 0)");
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(stmt, 1, PDB__OV_NBANDS - 1);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            const char *code = (const char *)sqlite3_column_text(stmt, 0);
            while (i < list->count && strcmp(list->items[i].code, code) < 0)
                i++;
            if (i == list->count || strcmp(list->items[i].code, code) != 0)
                continue; /* a commune that arrived after the list was read */
            pdb_commune *c = &list->items[i];
            const char *reason = (const char *)sqlite3_column_text(stmt, 2);
            c->overview_state = (pdb_overview_state)sqlite3_column_int(stmt, 1);
            snprintf(c->overview_since, sizeof c->overview_since, "%s",
                     (const char *)sqlite3_column_text(stmt, 3));
            if (reason != NULL && (c->overview_reason = pdb__strdup(reason)) == NULL) {
                st = pdb__fail(ctx, PDB_ENOMEM, "out of memory listing communes");
                break;
            }
        }
    }
    if (st == PDB_OK && rc != SQLITE_DONE)
        st = pdb__sql_fail(ctx, s->db, rc, "reading the overviews' states");
    sqlite3_finalize(stmt);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

pdb_status pdb__sq_overview_features(pdb_ctx *ctx, pdb_store *s, int zoom, unsigned kinds,
                                     const double bbox[4], pdb_feature_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    pdb_status st = PDB_OK;

    if (!(bbox[0] <= bbox[2] && bbox[1] <= bbox[3]))
        return pdb__fail(ctx, PDB_EINVAL, "bbox minimum is above its maximum");
    if (zoom < 0)
        return pdb__fail(ctx, PDB_EINVAL, "zoom %d is negative", zoom);
    /* Prepared once per handle (store.c): parsing it was 7% of a z16
     * vector tile, which reads the communes' outlines here. */
    /* A kind a commune has one shape of per band (its outline, its base):
     * by box in the band's index, not through the R-tree of every band's
     * shapes (store.c, STMT_OVERVIEW_OUTLINES). */
    int outlines = kinds == PDB_OVERVIEW_COMMUNES || kinds == PDB_OVERVIEW_BASE;
    if ((st = pdb__store_stmt(ctx, s, outlines ? STMT_OVERVIEW_OUTLINES : STMT_OVERVIEW_FEATURES,
                              &stmt)) != PDB_OK) {
        if (strstr(sqlite3_errmsg(s->db), "no such table") != NULL)
            return pdb__fail(ctx, PDB_ENOTFOUND,
                             "this store has no overviews (made before them): open it "
                             "read-write once, e.g. 'parceldb render --rebuild-overviews'");
        return st;
    }
    for (int i = 0; i < 4; i++)
        sqlite3_bind_double(stmt, i + 1, bbox[i]);
    sqlite3_bind_int(stmt, 5, pdb__ov_band_of(zoom));
    sqlite3_bind_int(stmt, 6, (int)kinds);
    /* Dissolved shapes are far over the per-parcel limits, and they come
     * from our own writer, not from outside. */
    pdb_limits saved = ctx->limits;
    ctx->limits.max_vertices_per_parcel = SIZE_MAX / 64;
    ctx->limits.max_parts_per_parcel = SIZE_MAX / 64;
    ctx->limits.max_rings_per_parcel = SIZE_MAX / 64;
    st = pdb__features_emit(ctx, s, stmt, bbox, fn, arg, "reading overviews");
    ctx->limits = saved;
    sqlite3_reset(stmt); /* ends its read: a cached statement must not hold one */
    return st == PDB_OK ? pdb__ok(ctx) : st;
}
