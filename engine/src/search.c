/*
 * search.c: pdb_parcels_search for both stores (parsing, ranking, reading
 * the parcels found), and the SQLite store's index: an FTS5 table,
 * parcel_search, whose rowid is the parcel's id and whose columns hold the
 * folded owner and address (fold.h) and, as filters, the commune code and
 * the land-use codes. Only current parcels are in it: each commit of a
 * commune's load replaces that commune's rows (pdb__sq_search_commune).
 */
#include "search.h"
#include "fold.h"
#include "schema.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pdb_status pdb__search_terms_parse(pdb_ctx *ctx, const char *text, pdb__search_terms *out)
{
    out->n = 0;
    if (text == NULL)
        return PDB_OK;
    char *folded = pdb__fold(text, strlen(text));
    if (folded == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    pdb_status st = PDB_OK;
    /* Folded text is words separated by single spaces. */
    for (char *p = folded; *p != '\0';) {
        size_t len = strcspn(p, " ");
        if (out->n == PDB_SEARCH_MAX_TERMS) {
            st = pdb__fail(ctx, PDB_ELIMIT, "more than %d words to search for",
                           PDB_SEARCH_MAX_TERMS);
            break;
        }
        if (len > PDB_SEARCH_MAX_WORD) {
            st = pdb__fail(ctx, PDB_ELIMIT, "a word of %zu bytes (at most %d) to search for", len,
                           PDB_SEARCH_MAX_WORD);
            break;
        }
        memcpy(out->w[out->n], p, len);
        out->w[out->n++][len] = '\0';
        p += len;
        if (*p == ' ')
            p++;
    }
    free(folded);
    if (st != PDB_OK)
        out->n = 0;
    return st;
}

/* Appends printf-style text to buf at *len; 0 when it did not fit. */
static int append(char *buf, size_t cap, size_t *len, const char *fmt, const char *arg)
{
    int k = snprintf(buf + *len, cap - *len, fmt, arg);
    if (k < 0 || (size_t)k >= cap - *len)
        return 0;
    *len += (size_t)k;
    return 1;
}

size_t pdb__search_fts5_group(const pdb__search_terms *t, int rank, const char *cols, char *buf,
                              size_t cap)
{
    size_t len = strlen(buf);
    /* Folded words hold letters and digits only, so a double quote cannot
     * occur in them; quoting still makes every word a string to FTS5
     * ("and", "or", "not" and "near" are words here, not operators). */
    if (t->n == 0 || !append(buf, cap, &len, "%s : (", cols))
        return 0;
    if (rank == PDB_SEARCH_PHRASE && !append(buf, cap, &len, "%s", "\""))
        return 0;
    for (size_t i = 0; i < t->n; i++) {
        const char *fmt = rank == PDB_SEARCH_PHRASE  ? "%s"
                          : rank == PDB_SEARCH_WORDS ? "\"%s\""
                                                     : "\"%s\"*";
        if ((i > 0 && !append(buf, cap, &len, "%s", " ")) || !append(buf, cap, &len, fmt, t->w[i]))
            return 0;
    }
    if (rank == PDB_SEARCH_PHRASE && !append(buf, cap, &len, "%s", "\""))
        return 0;
    if (!append(buf, cap, &len, "%s", ")"))
        return 0;
    return len;
}

/* The whole FTS5 expression of a plan at one rank. */
static pdb_status fts5_expr(pdb_ctx *ctx, const pdb__search_plan *plan, int rank, char *buf,
                            size_t cap)
{
    struct {
        const pdb__search_terms *t;
        const char *cols;
    } groups[] = {
        {&plan->any, plan->personal ? "{owner address}" : "address"},
        {&plan->owner, "owner"},
        {&plan->address, "address"},
    };
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < PDB_COUNTOF(groups); i++) {
        if (groups[i].t->n == 0)
            continue;
        if ((len > 0 && !append(buf, cap, &len, "%s", " AND ")) ||
            (len = pdb__search_fts5_group(groups[i].t, rank, groups[i].cols, buf, cap)) == 0)
            return pdb__fail(ctx, PDB_ELIMIT, "the search is too long");
    }
    if ((plan->commune[0] && !append(buf, cap, &len, " AND commune : \"%s\"", plan->commune)) ||
        (plan->landuse[0] && !append(buf, cap, &len, " AND landuse : \"%s\"", plan->landuse)))
        return pdb__fail(ctx, PDB_ELIMIT, "the search is too long");
    return PDB_OK;
}

static int seen(const int64_t *ids, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

pdb_status pdb__sq_search_ids(pdb_ctx *ctx, pdb_store *s, const pdb__search_plan *plan, int rank,
                              int64_t *ids, size_t *n, size_t max)
{
    char expr[8192];
    sqlite3_stmt *stmt = NULL;
    pdb_status st;
    int rc;

    if ((st = fts5_expr(ctx, plan, rank, expr, sizeof expr)) != PDB_OK)
        return st;
    /* By rowid, not by bm25: FTS5 then stops at the limit instead of
     * scoring every match (a common surname matches a third of the
     * province). The ranks above order what matters to the officer. */
    rc = sqlite3_prepare_v2(s->db,
                            "SELECT rowid FROM parcel_search WHERE parcel_search MATCH ?1 "
                            "ORDER BY rowid LIMIT ?2",
                            -1, &stmt, NULL);
    if (rc == SQLITE_ERROR && sqlite3_errmsg(s->db) != NULL &&
        strstr(sqlite3_errmsg(s->db), "no such table") != NULL) {
        sqlite3_finalize(stmt);
        return pdb__fail(ctx, PDB_ENOTFOUND, PDB_SEARCH_NO_INDEX);
    }
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, expr, -1, SQLITE_STATIC);
        /* Earlier ranks' ids come back again here: ask for enough. */
        sqlite3_bind_int64(stmt, 2, (sqlite3_int64)max);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && *n < max) {
            int64_t id = sqlite3_column_int64(stmt, 0);
            if (!seen(ids, *n, id))
                ids[(*n)++] = id;
        }
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return pdb__sql_fail(ctx, s->db, rc, "searching");
    return PDB_OK;
}

/* Checks and parses a query into a plan. */
static pdb_status plan_make(pdb_ctx *ctx, const pdb_search_query *q, unsigned read_flags,
                            pdb__search_plan *plan)
{
    pdb__search_terms use;
    pdb_status st;

    memset(plan, 0, sizeof *plan);
    plan->personal = (read_flags & PDB_READ_PERSONAL) != 0;
    if (q->owner != NULL && !plan->personal)
        return pdb__fail(ctx, PDB_EINVAL, "searching owner names needs personal access");
    if ((st = pdb__search_terms_parse(ctx, q->text, &plan->any)) != PDB_OK ||
        (st = pdb__search_terms_parse(ctx, q->owner, &plan->owner)) != PDB_OK ||
        (st = pdb__search_terms_parse(ctx, q->address, &plan->address)) != PDB_OK)
        return st;
    if (plan->any.n + plan->owner.n + plan->address.n == 0)
        return pdb__fail(ctx, PDB_EINVAL, "nothing to search for: give a name or address word");
    if (q->commune != NULL) {
        if (strlen(q->commune) != 5 || strspn(q->commune, "0123456789") != 5)
            return pdb__fail(ctx, PDB_EINVAL, "commune code '%s' is not five digits", q->commune);
        memcpy(plan->commune, q->commune, 6);
    }
    if (q->landuse != NULL) {
        if ((st = pdb__search_terms_parse(ctx, q->landuse, &use)) != PDB_OK)
            return st;
        if (use.n != 1)
            return pdb__fail(ctx, PDB_EINVAL, "land-use code '%s' is not one code", q->landuse);
        memcpy(plan->landuse, use.w[0], sizeof plan->landuse);
    }
    if (q->limit > PDB_SEARCH_MAX_LIMIT)
        return pdb__fail(ctx, PDB_ELIMIT, "limit %zu is over %d", q->limit, PDB_SEARCH_MAX_LIMIT);
    plan->limit = q->limit == 0 ? 20 : q->limit;
    return PDB_OK;
}

pdb_status pdb_parcels_search(pdb_ctx *ctx, pdb_store *s, const pdb_search_query *q,
                              unsigned read_flags, pdb_parcel_list **out)
{
    pdb__search_plan plan;
    pdb_parcel_list *list = NULL;
    int64_t *ids = NULL;
    size_t n = 0;
    pdb_status st;

    if (out == NULL || s == NULL || q == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no store, no query or no place for the answer");
    *out = NULL;
    if ((st = plan_make(ctx, q, read_flags, &plan)) != PDB_OK)
        return st;
    /* One more than the limit tells whether the answer was cut. */
    size_t max = plan.limit + 1;
    if ((ids = malloc(max * sizeof *ids)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    int one_word = plan.any.n + plan.owner.n + plan.address.n == 1;
    for (int rank = one_word ? PDB_SEARCH_WORDS : PDB_SEARCH_PHRASE;
         rank < PDB_SEARCH_RANKS && n < max; rank++) {
        st = s->pg != NULL ? pdb__pg_search_ids(ctx, s, &plan, rank, ids, &n, max)
                           : pdb__sq_search_ids(ctx, s, &plan, rank, ids, &n, max);
        if (st != PDB_OK)
            goto done;
    }
    if ((list = calloc(1, sizeof *list)) == NULL ||
        (n > 0 && (list->items = calloc(n, sizeof *list->items)) == NULL)) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        goto done;
    }
    list->truncated = n > plan.limit;
    for (size_t i = 0; i < n && i < plan.limit; i++) {
        pdb_parcel *p = NULL;
        st = s->ops->parcel_get(ctx, s, ids[i], read_flags, &p);
        if (st == PDB_ENOTFOUND)
            continue; /* removed since the index was read: not an answer */
        if (st != PDB_OK)
            goto done;
        list->items[list->count++] = *p;
        free(p); /* its fields moved into the list */
    }
    *out = list;
    list = NULL;
    st = pdb__ok(ctx);
done:
    pdb_parcel_list_free(list);
    free(ids);
    return st;
}

/* pdb_fold(text): the SQL face of pdb__fold, for the index's upkeep. */
static void sql_fold(sqlite3_context *c, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *text = (const char *)sqlite3_value_text(argv[0]);
    if (text == NULL) {
        sqlite3_result_null(c);
        return;
    }
    char *f = pdb__fold(text, (size_t)sqlite3_value_bytes(argv[0]));
    if (f == NULL)
        sqlite3_result_error_nomem(c);
    else
        sqlite3_result_text(c, f, -1, free);
}

/* Inserts the current parcels of one commune (or of all, commune NULL). */
#define SEARCH_FILL_SQL                                                                            \
    "INSERT INTO parcel_search (rowid, owner, address, commune, landuse) "                         \
    "SELECT id, pdb_fold(owner), pdb_fold(address), commune, landuse FROM parcels "                \
    "WHERE valid_to IS NULL"

pdb_status pdb__sq_search_commune(pdb_ctx *ctx, pdb_store *s, const char *commune)
{
    static const char *const sql[] = {
        "DELETE FROM parcel_search WHERE rowid IN (SELECT rowid FROM parcel_search WHERE "
        "parcel_search MATCH 'commune : \"' || ?1 || '\"')",
        SEARCH_FILL_SQL " AND commune = ?1",
    };
    for (size_t i = 0; i < PDB_COUNTOF(sql); i++) {
        sqlite3_stmt *stmt = NULL;
        int rc = sqlite3_prepare_v2(s->db, sql[i], -1, &stmt, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(stmt, 1, commune, -1, SQLITE_STATIC);
            rc = sqlite3_step(stmt);
        }
        sqlite3_finalize(stmt);
        if (rc != SQLITE_DONE)
            return pdb__sql_fail(ctx, s->db, rc, "updating the search index");
    }
    return PDB_OK;
}

pdb_status pdb__sq_search_backfill(pdb_ctx *ctx, pdb_store *s)
{
    int64_t has = 0, version = 0;
    sqlite3_stmt *stmt = NULL;
    pdb_status st;
    int rc = sqlite3_create_function(s->db, "pdb_fold", 1,
                                     SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                     sql_fold, NULL, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(ctx, s->db, rc, "registering pdb_fold");
    /* The common case, a store of schema 3 with its index, costs one read
     * and no lock; the check is made again inside the write transaction,
     * so that two processes opening an old store build its index once. */
    for (int locked = 0; locked < 2; locked++) {
        rc = sqlite3_prepare_v2(s->db,
                                "SELECT (SELECT count(*) FROM sqlite_master WHERE name = "
                                "'parcel_search'), (SELECT user_version FROM pragma_user_version)",
                                -1, &stmt, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            has = sqlite3_column_int64(stmt, 0);
            version = sqlite3_column_int64(stmt, 1);
        }
        sqlite3_finalize(stmt);
        if (rc != SQLITE_ROW) {
            st = pdb__sql_fail(ctx, s->db, rc, "looking for the search index");
            goto fail;
        }
        if (has && version >= PDB_SCHEMA_VERSION)
            return locked ? pdb__store_exec(ctx, s, "COMMIT") : PDB_OK;
        if (!locked && (st = pdb__store_exec(ctx, s, "BEGIN IMMEDIATE")) != PDB_OK)
            return st;
    }
    /* An index found in a store of an older schema was kept by this
     * engine (an older one refuses schema 3 and never wrote it): only the
     * version is behind, as after an upgrade test's downgrade. */
    if (!has && (st = pdb__store_exec(ctx, s, PDB_SEARCH_SCHEMA_SQL SEARCH_FILL_SQL ";")) != PDB_OK)
        goto fail;
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", PDB_SCHEMA_VERSION);
    if ((st = pdb__store_exec(ctx, s, pragma)) != PDB_OK ||
        (st = pdb__store_exec(ctx, s, "COMMIT")) != PDB_OK)
        goto fail;
    return PDB_OK;
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}
