/*
 * pg_search.c: the PostgreSQL store's search index and audit table
 * (search.h). The index is a table of folded text, parcel_search, with GIN
 * indexes on its 'simple' tsvectors (no stemming, no stop words: names
 * are not English); the folding is parceldb.fold(), SQL that does what
 * fold.c does for Vietnamese text (NFD, marks dropped, đ -> d, lower case,
 * other characters separate words), so that both stores find the same
 * parcels. pg_trgm is not needed: prefixes are tsquery's :*.
 */
#include "pg.h"
#include "pg_schema.h"
#include "search.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The tsvector each group of words is matched against. */
#define TSV_OWNER "to_tsvector('simple', owner_f)"
#define TSV_ADDRESS "to_tsvector('simple', address_f)"
#define TSV_ANY "to_tsvector('simple', owner_f || ' ' || address_f)"

/* The words of t as one tsquery text for a rank: phrase and word ranks go
 * through phraseto_/plainto_tsquery (which parse the words themselves);
 * the prefix rank writes "w1:* & w2:*", safe because folded words hold
 * letters and digits only. */
static void words_text(const pdb__search_terms *t, int rank, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < t->n; i++) {
        int k = snprintf(buf + len, cap - len, "%s%s%s",
                         i > 0 ? (rank == PDB_SEARCH_PREFIX ? " & " : " ") : "", t->w[i],
                         rank == PDB_SEARCH_PREFIX ? ":*" : "");
        if (k < 0 || (size_t)k >= cap - len)
            return; /* cannot happen: cap holds PDB_SEARCH_MAX_TERMS words */
        len += (size_t)k;
    }
}

pdb_status pdb__pg_search_ids(pdb_ctx *ctx, pdb_store *s, const pdb__search_plan *plan, int rank,
                              int64_t *ids, size_t *n, size_t max)
{
    static const char *const tsq[] = {"phraseto_tsquery", "plainto_tsquery", "to_tsquery"};
    struct {
        const pdb__search_terms *t;
        const char *tsv;
    } groups[] = {
        {&plan->any, plan->personal ? TSV_ANY : TSV_ADDRESS},
        {&plan->owner, TSV_OWNER},
        {&plan->address, TSV_ADDRESS},
    };
    char texts[3][PDB_SEARCH_MAX_TERMS * (PDB_SEARCH_MAX_WORD + 6) + 1];
    char limit[24];
    const char *params[6];
    int np = 0;
    char sql[2048];
    size_t len = 0;
    PGresult *res = NULL;
    pdb_status st;

    len += (size_t)snprintf(sql + len, sizeof sql - len,
                            "SELECT id FROM " PDB_PG_SCHEMA ".parcel_search WHERE true");
    for (size_t i = 0; i < PDB_COUNTOF(groups); i++) {
        if (groups[i].t->n == 0)
            continue;
        words_text(groups[i].t, rank, texts[i], sizeof texts[i]);
        params[np++] = texts[i];
        len += (size_t)snprintf(sql + len, sizeof sql - len, " AND %s @@ %s('simple', $%d)",
                                groups[i].tsv, tsq[rank], np);
    }
    if (plan->commune[0]) {
        params[np++] = plan->commune;
        len += (size_t)snprintf(sql + len, sizeof sql - len, " AND commune = $%d", np);
    }
    if (plan->landuse[0]) {
        params[np++] = plan->landuse;
        len += (size_t)snprintf(sql + len, sizeof sql - len,
                                " AND to_tsvector('simple', landuse) @@ plainto_tsquery('simple', "
                                "$%d)",
                                np);
    }
    snprintf(limit, sizeof limit, "%zu", max);
    params[np++] = limit;
    snprintf(sql + len, sizeof sql - len, " ORDER BY id LIMIT $%d", np);
    if ((st = pdb__pg_query(ctx, s->pg, sql, np, params, "searching", &res)) != PDB_OK)
        return strstr(pdb_errmsg(ctx), "parcel_search\" does not exist") != NULL
                   ? pdb__fail(ctx, PDB_ENOTFOUND, PDB_SEARCH_NO_INDEX)
                   : st;
    for (int r = 0; r < PQntuples(res) && *n < max; r++) {
        int64_t id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        size_t i = 0;
        while (i < *n && ids[i] != id)
            i++;
        if (i == *n)
            ids[(*n)++] = id;
    }
    PQclear(res);
    return PDB_OK;
}

#define PG_SEARCH_FILL_SQL                                                                         \
    "INSERT INTO " PDB_PG_SCHEMA ".parcel_search (id, commune, landuse, owner_f, address_f) "      \
    "SELECT id, commune, landuse, " PDB_PG_SCHEMA ".fold(owner), " PDB_PG_SCHEMA                   \
    ".fold(address) FROM " PDB_PG_SCHEMA ".parcels WHERE valid_to IS NULL"

pdb_status pdb__pg_search_commune(pdb_ctx *ctx, pdb_store *s, const char *commune)
{
    const char *p[] = {commune};
    PGresult *res = NULL;
    pdb_status st;
    if ((st = pdb__pg_query(ctx, s->pg,
                            "DELETE FROM " PDB_PG_SCHEMA ".parcel_search WHERE commune = $1", 1, p,
                            "updating the search index", &res)) != PDB_OK)
        return st;
    PQclear(res);
    if ((st = pdb__pg_query(ctx, s->pg, PG_SEARCH_FILL_SQL " AND commune = $1", 1, p,
                            "updating the search index", &res)) != PDB_OK)
        return st;
    PQclear(res);
    return PDB_OK;
}

pdb_status pdb__pg_search_backfill(pdb_ctx *ctx, pdb_store *s)
{
    PGresult *res = NULL;
    pdb_status st;
    int has = 0;

    /* Checked before and again inside the write transaction: two processes
     * opening an old store build its index once. */
    for (int locked = 0; locked < 2; locked++) {
        if ((st = pdb__pg_query(ctx, s->pg,
                                "SELECT to_regclass('" PDB_PG_SCHEMA ".parcel_search') IS NOT "
                                "NULL AND to_regclass('" PDB_PG_SCHEMA ".audit_log') IS NOT NULL",
                                0, NULL, "looking for the search index", &res)) != PDB_OK)
            goto fail;
        has = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        if (has)
            return locked ? pdb__pg_exec(ctx, s->pg, "COMMIT", "building the search index")
                          : PDB_OK;
        if (!locked &&
            (st = pdb__pg_write_begin(ctx, s->pg, "building the search index")) != PDB_OK)
            return st;
    }
    if ((st = pdb__pg_exec(ctx, s->pg, PDB_PG_SEARCH_SCHEMA_SQL PDB_PG_AUDIT_SCHEMA_SQL,
                           "building the search index")) != PDB_OK ||
        (st = pdb__pg_exec(ctx, s->pg, PG_SEARCH_FILL_SQL, "building the search index")) !=
            PDB_OK ||
        (st = pdb__pg_exec(ctx, s->pg, "COMMIT", "building the search index")) != PDB_OK)
        goto fail;
    return PDB_OK;
fail:
    PQclear(PQexec(s->pg->conn, "ROLLBACK"));
    return st;
}

pdb_status pdb__pg_audit_record(pdb_ctx *ctx, pdb_store *s, const char *who, const char *what,
                                const char *parcels)
{
    char now[32];
    PGresult *res = NULL;
    pdb__now_iso(now);
    const char *p[] = {now, who, what, parcels};
    pdb_status st = pdb__pg_query(ctx, s->pg,
                                  "INSERT INTO " PDB_PG_SCHEMA
                                  ".audit_log (at, who, what, parcels) VALUES ($1, $2, $3, $4)",
                                  4, p, "writing the audit row", &res);
    PQclear(res);
    return st;
}

pdb_status pdb__pg_audit_list(pdb_ctx *ctx, pdb_store *s, const char *since, const char *who,
                              int (*fn)(void *arg, const pdb_audit_row *row), void *arg)
{
    PGresult *res = NULL;
    const char *p[] = {since, who};
    pdb_status st =
        pdb__pg_query(ctx, s->pg,
                      "SELECT id, at, who, what, parcels FROM " PDB_PG_SCHEMA ".audit_log "
                      "WHERE ($1::text IS NULL OR at >= $1) AND ($2::text IS NULL OR who = $2) "
                      "ORDER BY id",
                      2, p, "reading the audit table", &res);
    /* A store never opened read-write since audits began has none. */
    if (st != PDB_OK)
        return strstr(pdb_errmsg(ctx), "audit_log\" does not exist") != NULL ? pdb__ok(ctx) : st;
    for (int r = 0; r < PQntuples(res); r++) {
        pdb_audit_row row = {
            .id = strtoll(PQgetvalue(res, r, 0), NULL, 10),
            .at = PQgetvalue(res, r, 1),
            .who = PQgetvalue(res, r, 2),
            .what = PQgetvalue(res, r, 3),
            .parcels = PQgetvalue(res, r, 4),
        };
        if (fn(arg, &row) != 0)
            break;
    }
    PQclear(res);
    return PDB_OK;
}
