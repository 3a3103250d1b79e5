/*
 * audit.c: pdb_audit_record and pdb_audit_list for both stores, and the
 * SQLite store's side of them: rows appended to audit_log (schema.h),
 * which its triggers keep append-only.
 */
#include "search.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "YYYY-MM-DD", optionally followed by 'T' and a time: what --since takes.
 * Rows compare as text, which orders ISO times correctly. */
static int iso_date_ok(const char *s)
{
    static const char shape[] = "dddd-dd-dd";
    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return 0;
    return s[10] == '\0' || (s[10] == 'T' && strlen(s) < 40);
}

pdb_status pdb_audit_record(pdb_ctx *ctx, pdb_store *s, const char *who, const char *what,
                            const int64_t *parcel_ids, size_t n)
{
    char *ids = NULL;
    size_t len = 0;
    pdb_status st;

    if (s == NULL || who == NULL || what == NULL || *who == '\0' || (n > 0 && parcel_ids == NULL))
        return pdb__fail(ctx, PDB_EINVAL, "an audit row needs a store, who, what and the parcels");
    if (s->readonly)
        return pdb__fail(ctx, PDB_EREADONLY,
                         "the audit table is written through a read-write "
                         "store handle; this one is read-only");
    /* A row written inside a load's transaction would go if the load
     * rolled back: the audit must not depend on an import. */
    if (s->writing)
        return pdb__fail(ctx, PDB_EBUSY, "a load is open on this store handle");
    /* 20 digits and a comma per id. */
    if ((ids = malloc(n * 21 + 1)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    ids[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(ids + len, "%s%lld", i > 0 ? "," : "", (long long)parcel_ids[i]);
    st = s->pg != NULL ? pdb__pg_audit_record(ctx, s, who, what, ids)
                       : pdb__sq_audit_record(ctx, s, who, what, ids);
    free(ids);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}

pdb_status pdb_audit_list(pdb_ctx *ctx, pdb_store *s, const char *since, const char *who,
                          int (*fn)(void *arg, const pdb_audit_row *row), void *arg)
{
    if (s == NULL || fn == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no store or no callback");
    if (since != NULL && !iso_date_ok(since))
        return pdb__fail(ctx, PDB_EINVAL, "'%s' is not a date (YYYY-MM-DD, or with a time)", since);
    pdb_status st = s->pg != NULL ? pdb__pg_audit_list(ctx, s, since, who, fn, arg)
                                  : pdb__sq_audit_list(ctx, s, since, who, fn, arg);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}

pdb_status pdb__sq_audit_record(pdb_ctx *ctx, pdb_store *s, const char *who, const char *what,
                                const char *parcels)
{
    char now[32];
    sqlite3_stmt *stmt = NULL;

    pdb__now_iso(now);
    int rc = sqlite3_prepare_v2(
        s->db, "INSERT INTO audit_log (at, who, what, parcels) VALUES (?1, ?2, ?3, ?4)", -1, &stmt,
        NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, now, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, who, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, what, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, parcels, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, s->db, rc, "writing the audit row");
    return PDB_OK;
}

pdb_status pdb__sq_audit_list(pdb_ctx *ctx, pdb_store *s, const char *since, const char *who,
                              int (*fn)(void *arg, const pdb_audit_row *row), void *arg)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT id, at, who, what, parcels FROM audit_log WHERE "
                                "(?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR who = ?2) ORDER BY id",
                                -1, &stmt, NULL);
    if (rc != SQLITE_OK && strstr(sqlite3_errmsg(s->db), "no such table") != NULL) {
        /* A store never opened read-write since audits began has none. */
        sqlite3_finalize(stmt);
        return PDB_OK;
    }
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, since, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, who, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            pdb_audit_row row = {
                .id = sqlite3_column_int64(stmt, 0),
                .at = (const char *)sqlite3_column_text(stmt, 1),
                .who = (const char *)sqlite3_column_text(stmt, 2),
                .what = (const char *)sqlite3_column_text(stmt, 3),
                .parcels = (const char *)sqlite3_column_text(stmt, 4),
            };
            if (fn(arg, &row) != 0) {
                rc = SQLITE_DONE;
                break;
            }
        }
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, s->db, rc, "reading the audit table");
    return PDB_OK;
}
