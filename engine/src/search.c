/*
 * search.c: pdb_parcels_search for both stores (parsing, ranking, reading
 * the parcels found), and the SQLite store's index: an FTS5 table,
 * parcel_search, whose rowid is the parcel's id and whose columns hold the
 * folded owner and address (fold.h) and, as filters, the commune code and
 * the land-use codes. Each column's words carry a one-letter tag
 * ("onguyen", "axom", "lont"): owners' and addresses' words then have
 * doclists of their own, so that "xa" in an owner's name is not looked for
 * among the "xã" of every address (a column filter reads the positions of
 * every document that holds the word in any column: a three-word name took
 * 45 ms on the province, 1 ms with tags). Only current parcels are in it: each commit of a
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

/* One word (or, for a phrase, all words) with one column's tag, quoted. */
static int append_tagged(const pdb__search_terms *t, int rank, size_t word, char tag, char *buf,
                         size_t cap, size_t *len)
{
    char one[2] = {tag, '\0'};
    if (!append(buf, cap, len, "%s", "\""))
        return 0;
    for (size_t i = rank == PDB_SEARCH_PHRASE ? 0 : word;
         i < (rank == PDB_SEARCH_PHRASE ? t->n : word + 1); i++)
        if ((i > word && rank == PDB_SEARCH_PHRASE && !append(buf, cap, len, "%s", " ")) ||
            !append(buf, cap, len, "%s", one) || !append(buf, cap, len, "%s", t->w[i]))
            return 0;
    return append(buf, cap, len, "%s", rank == PDB_SEARCH_PREFIX ? "\"*" : "\"");
}

size_t pdb__search_fts5_group(const pdb__search_terms *t, int rank, const char *tags, char *buf,
                              size_t cap)
{
    size_t len = strlen(buf);
    size_t ntags = strlen(tags);
    /* A phrase is one unit; the other ranks AND one unit per word. Each
     * unit is the word in any of the tagged columns (OR). */
    size_t units = rank == PDB_SEARCH_PHRASE ? 1 : t->n;
    if (t->n == 0 || ntags == 0)
        return 0;
    for (size_t u = 0; u < units; u++) {
        if (u > 0 && !append(buf, cap, &len, "%s", " AND "))
            return 0;
        if (ntags > 1 && !append(buf, cap, &len, "%s", "("))
            return 0;
        for (size_t k = 0; k < ntags; k++)
            if ((k > 0 && !append(buf, cap, &len, "%s", " OR ")) ||
                !append_tagged(t, rank, u, tags[k], buf, cap, &len))
                return 0;
        if (ntags > 1 && !append(buf, cap, &len, "%s", ")"))
            return 0;
    }
    return len;
}

/* The whole FTS5 expression of a plan at one rank. */
static pdb_status fts5_expr(pdb_ctx *ctx, const pdb__search_plan *plan, int rank, char *buf,
                            size_t cap)
{
    struct {
        const pdb__search_terms *t;
        const char *tags;
    } groups[] = {
        {&plan->any,
         plan->personal ? PDB_SEARCH_TAG_OWNER PDB_SEARCH_TAG_ADDRESS : PDB_SEARCH_TAG_ADDRESS},
        {&plan->owner, PDB_SEARCH_TAG_OWNER},
        {&plan->address, PDB_SEARCH_TAG_ADDRESS},
    };
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < PDB_COUNTOF(groups); i++) {
        if (groups[i].t->n == 0)
            continue;
        if ((len > 0 && !append(buf, cap, &len, "%s", " AND ")) ||
            (len = pdb__search_fts5_group(groups[i].t, rank, groups[i].tags, buf, cap)) == 0)
            return pdb__fail(ctx, PDB_ELIMIT, "the search is too long");
    }
    /* Commune codes are the only untagged tokens; land-use codes are
     * tagged as their column's. */
    if ((plan->commune[0] && !append(buf, cap, &len, " AND \"%s\"", plan->commune)) ||
        (plan->landuse[0] &&
         !append(buf, cap, &len, " AND \"" PDB_SEARCH_TAG_LANDUSE "%s\"", plan->landuse)))
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

/* pdb_fold_tag(text, tag): pdb__fold's words, each with the one-letter
 * tag of its column in front ("Nguyễn Văn" -> "onguyen ovan"), for the
 * index's upkeep. */
static void sql_fold_tag(sqlite3_context *c, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *text = (const char *)sqlite3_value_text(argv[0]);
    const char *tag = (const char *)sqlite3_value_text(argv[1]);
    if (text == NULL || tag == NULL || strlen(tag) != 1) {
        sqlite3_result_null(c);
        return;
    }
    char *f = pdb__fold(text, (size_t)sqlite3_value_bytes(argv[0]));
    size_t words = 1;
    for (const char *p = f ? f : ""; *p; p++)
        words += *p == ' ';
    char *out = f ? malloc(strlen(f) + words + 1) : NULL;
    if (out == NULL) {
        free(f);
        sqlite3_result_error_nomem(c);
        return;
    }
    size_t o = 0;
    for (const char *p = f; *p; p++) {
        if (p == f || p[-1] == ' ')
            out[o++] = tag[0];
        out[o++] = *p;
    }
    out[o] = '\0';
    free(f);
    sqlite3_result_text(c, out, (int)o, free);
}

/* Inserts the current parcels of one commune (or of all, commune NULL). */
#define SEARCH_FILL_SQL                                                                            \
    "INSERT INTO parcel_search (rowid, owner, address, commune, landuse) "                         \
    "SELECT id, pdb_fold_tag(owner, '" PDB_SEARCH_TAG_OWNER                                        \
    "'), pdb_fold_tag(address, '" PDB_SEARCH_TAG_ADDRESS                                           \
    "'), commune, pdb_fold_tag(landuse, '" PDB_SEARCH_TAG_LANDUSE "') "                            \
    "FROM parcels "                                                                                \
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
    int rc = sqlite3_create_function(s->db, "pdb_fold_tag", 2,
                                     SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                     sql_fold_tag, NULL, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(ctx, s->db, rc, "registering pdb_fold_tag");
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
