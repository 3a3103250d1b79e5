/*
 * pg_lineage.c: the lineage of re-imports in the PostgreSQL store, as
 * lineage_import.c's SQLite part: the commune's superseded and new
 * parcels read inside its load's transaction, matched by lineage_match.c,
 * the edges written in one statement (arrays unnested); a batch's steps
 * read back for pdb_import_changes_get; the lineage table's kind CHECK
 * given 'unchanged' on stores made before it.
 */
#include "change.h"
#include "lineage_match.h"
#include "pg.h"
#include "pg_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S PDB_PG_SCHEMA

static const char *const pg_set_sql[2] = {
    "SELECT id, former_commune, sheet, parcel, source_srid, ST_AsBinary(source_geom), "
    "area_computed_m2, NULL::text, NULL::text FROM " S ".parcels WHERE commune = $1 AND "
    "valid_to = $2",
    "SELECT id, former_commune, sheet, parcel, source_srid, ST_AsBinary(source_geom), "
    "area_computed_m2, prev_sheet, prev_parcel FROM " S ".parcels WHERE commune = $1 AND "
    "batch_id = $3 AND valid_to IS NULL",
};

/* Appends "v," to a growing array literal (its "{" first); 0 when out of
 * memory. */
static int append(char **t, size_t *len, size_t *cap, const char *v)
{
    size_t n = strlen(v);
    if (*len == 0) { /* the list's opening brace */
        if ((*t = malloc(4096)) == NULL)
            return 0;
        *cap = 4096;
        (*t)[(*len)++] = '{';
    }
    if (*len + n + 2 > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (*len + n + 2 > c)
            c *= 2;
        char *nt = realloc(*t, c);
        if (nt == NULL)
            return 0;
        *t = nt;
        *cap = c;
    }
    memcpy(*t + *len, v, n);
    *len += n;
    (*t)[(*len)++] = ',';
    (*t)[*len] = '\0';
    return 1;
}

/* The edges as four array literals ("{..}") and one INSERT. */
typedef struct pg_edges {
    pdb_store *s;     /* the store, in the load's transaction */
    int64_t batch_id; /* the load's batch */
    const char *now;  /* the load's time */
} pg_edges;

static pdb_status write_edges(pdb_ctx *ctx, const pdb__lm_result *r, void *arg)
{
    const pg_edges *w = arg;
    pdb_store *s = w->s;
    int64_t batch_id = w->batch_id;
    const char *now = w->now;
    char *a[4] = {NULL};
    size_t len[4] = {0}, cap[4] = {0};
    pdb_status st = PDB_OK;
    char v[40], batch[24];
    int ok = 1;

    for (size_t i = 0; ok && i < r->nedges; i++) {
        const pdb__lm_edge *e = &r->edges[i];
        snprintf(v, sizeof v, "%lld", (long long)e->parent);
        ok = append(&a[0], &len[0], &cap[0], v);
        snprintf(v, sizeof v, "%lld", (long long)e->child);
        ok = ok && append(&a[1], &len[1], &cap[1], v) && append(&a[2], &len[2], &cap[2], e->kind);
        snprintf(v, sizeof v, "%.17g", e->overlap_m2);
        ok = ok && append(&a[3], &len[3], &cap[3], v);
    }
    if (!ok || r->nedges == 0) {
        st = ok ? PDB_OK : pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        goto done;
    }
    /* "{a,b,...}": each list's trailing comma becomes the closing brace. */
    for (int k = 0; k < 4; k++)
        a[k][len[k] - 1] = '}';
    snprintf(batch, sizeof batch, "%lld", (long long)batch_id);
    const char *p[] = {a[0], a[1], a[2], a[3], batch, now};
    PGresult *res = NULL;
    st = pdb__pg_query(ctx, s->pg,
                       "INSERT INTO " S ".lineage (parent_id, child_id, kind, overlap_m2, "
                       "batch_id, at) SELECT u.p, u.c, u.k, u.o, $5::bigint, $6 FROM "
                       "unnest($1::bigint[], $2::bigint[], $3::text[], $4::float8[]) "
                       "AS u(p, c, k, o)",
                       6, p, "writing the lineage", &res);
    PQclear(res);
done:
    for (int k = 0; k < 4; k++)
        free(a[k]);
    return st;
}

pdb_status pdb__pg_lineage_record(pdb_ctx *ctx, pdb_writer *pw, int64_t batch_id, const char *now)
{
    pdb_store *s = pw->store;
    const char *commune = pw->commune;
    pdb__lm_set sets[2] = {{0}};
    pg_edges w = {s, batch_id, now};
    PGresult *res = NULL;
    pdb_status st = PDB_OK;

    /* The old set first: a first import (none) reads nothing more. */
    for (int k = 0; k < 2 && st == PDB_OK && (k == 0 || sets[0].count > 0); k++) {
        pdb__pg_params p = {0};
        pdb__pg_param_text(&p, commune);
        pdb__pg_param_text(&p, now);
        pdb__pg_param_i8(&p, batch_id);
        if ((st = pdb__pg_run(ctx, s->pg, pg_set_sql[k], &p, "reading the parcels to match",
                              &res)) != PDB_OK)
            break;
        for (int i = 0; st == PDB_OK && i < PQntuples(res); i++)
            st = pdb__lm_set_add(
                ctx, &sets[k], pdb__pg_i8(res, i, 0),
                PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                PQgetvalue(res, i, 3), pdb__pg_i4(res, i, 4),
                (const unsigned char *)PQgetvalue(res, i, 5), (size_t)PQgetlength(res, i, 5),
                pdb__pg_f8(res, i, 6), pdb__pg_text(res, i, 7), pdb__pg_text(res, i, 8));
        PQclear(res);
        res = NULL;
    }
    return pdb__lineage_match_write(ctx, st, commune, sets, write_edges, &w, pw);
}

#define PG_NUMBER(p) p ".commune || '/' || " p ".sheet || '/' || " p ".parcel"
static const char pg_steps_sql[] =
    "SELECT * FROM ("
    "SELECT l.parent_id, l.child_id, l.kind, l.overlap_m2, l.at, " PG_NUMBER(
        "pp") " AS pn, " PG_NUMBER("pc") " AS cn, pc.commune AS c, 0 AS o FROM " S
                                         ".lineage l JOIN " S
                                         ".parcels pp ON pp.id = l.parent_id JOIN " S
                                         ".parcels pc ON pc.id = l.child_id "
                                         "WHERE l.batch_id = $1 AND l.change_id IS NULL "
                                         "UNION ALL "
                                         "SELECT 0, p.id, 'new', p.area_computed_m2, p.valid_from, "
                                         "'', " PG_NUMBER(
                                             "p") ", "
                                                  "p.commune, 1 FROM " S ".import_files f JOIN " S
                                                  ".parcels p ON p.commune = f.commune AND "
                                                  "p.batch_id = f.batch_id WHERE f.batch_id = $1 "
                                                  "AND NOT EXISTS (SELECT 1 FROM " S
                                                  ".lineage l WHERE l.child_id = p.id AND "
                                                  "l.batch_id = $1) "
                                                  "UNION ALL "
                                                  "SELECT p.id, 0, 'retired', p.area_computed_m2, "
                                                  "p.valid_to, " PG_NUMBER(
                                                      "p") ", '', "
                                                           "p.commune, 2 FROM " S
                                                           ".import_files f JOIN " S
                                                           ".parcels p ON p.commune = f.commune "
                                                           "AND "
                                                           "p.valid_to = f.committed_at WHERE "
                                                           "f.batch_id = $1 AND NOT EXISTS (SELECT "
                                                           "1 FROM " S
                                                           ".lineage l WHERE l.parent_id = p.id "
                                                           "AND l.batch_id = $1)"
                                                           ") x ORDER BY c, o, 2, 1";

pdb_status pdb__pg_import_steps(pdb_ctx *ctx, pdb_store *s, int64_t batch_id, pdb_lineage **out)
{
    pdb_lineage *l = NULL;
    PGresult *res = NULL;
    pdb_status st;
    size_t cap = 0;
    pdb__pg_params p = {0};

    *out = NULL;
    pdb__pg_param_i8(&p, batch_id);
    if ((st = pdb__pg_run(ctx, s->pg, "SELECT 1 FROM " S ".import_batches WHERE id = $1", &p,
                          "reading the batch", &res)) != PDB_OK)
        return st;
    int found = PQntuples(res) > 0;
    PQclear(res);
    res = NULL;
    if (!found)
        return pdb__fail(ctx, PDB_ENOTFOUND, "no import batch %lld", (long long)batch_id);
    if ((l = calloc(1, sizeof *l)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    l->id = batch_id;
    if ((st = pdb__pg_run(ctx, s->pg, pg_steps_sql, &p, "reading the batch's lineage", &res)) !=
        PDB_OK)
        goto done;
    for (int r = 0; r < PQntuples(res); r++) {
        pdb_lineage_step e = {.parent_id = pdb__pg_i8(res, r, 0),
                              .child_id = pdb__pg_i8(res, r, 1),
                              .overlap_m2 = pdb__pg_f8(res, r, 3),
                              .batch_id = batch_id};
        snprintf(e.kind, sizeof e.kind, "%s", PQgetvalue(res, r, 2));
        snprintf(e.at, sizeof e.at, "%s", PQgetvalue(res, r, 4));
        snprintf(e.parent, sizeof e.parent, "%s", PQgetvalue(res, r, 5));
        snprintf(e.child, sizeof e.child, "%s", PQgetvalue(res, r, 6));
        if ((st = pdb__lineage_push(ctx, l, &cap, &e, NULL, NULL)) != PDB_OK)
            goto done;
    }
    *out = l;
    l = NULL;
    st = pdb__ok(ctx);
done:
    PQclear(res);
    pdb_lineage_free(l);
    return st;
}

pdb_status pdb__pg_batch_rejects(pdb_ctx *ctx, pdb_store *s, int64_t batch_id, const char *commune,
                                 const char *reason, int64_t *n)
{
    char batch[24];
    PGresult *res = NULL;
    snprintf(batch, sizeof batch, "%lld", (long long)batch_id);
    const char *p[] = {batch, commune, reason};
    pdb_status st = pdb__pg_query(ctx, s->pg,
                                  "SELECT count(*) FROM " S ".rejects WHERE batch_id = $1 AND "
                                  "commune = $2 AND reason = $3",
                                  3, p, "counting a batch's rejects", &res);
    if (st == PDB_OK)
        *n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return st;
}

pdb_status pdb__pg_lineage_upgrade(pdb_ctx *ctx, pdb_store *s)
{
    static const char current_sql[] =
        "SELECT count(*) FROM pg_constraint WHERE conrelid = '" S ".lineage'::regclass AND "
        "contype = 'c' AND pg_get_constraintdef(oid) LIKE '%unchanged%'";
    PGresult *res = NULL;
    pdb_status st;

    for (int pass = 0; pass < 2; pass++) {
        if ((st = pdb__pg_query(ctx, s->pg, current_sql, 0, NULL, "reading the lineage table",
                                &res)) != PDB_OK)
            return st;
        int current = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
        PQclear(res);
        if (current)
            return pass == 0 ? PDB_OK
                             : pdb__pg_exec(ctx, s->pg, "COMMIT", "upgrading the lineage table");
        /* Checked again under the writers' lock (another process may have
         * upgraded meanwhile). */
        if (pass == 0 &&
            (st = pdb__pg_write_begin(ctx, s->pg, "upgrading the lineage table")) != PDB_OK)
            return st;
    }
    /* The CHECK of the first stores is named by PostgreSQL's default,
     * lineage_kind_check; any check on kind is replaced. */
    if ((st = pdb__pg_exec(ctx, s->pg,
                           "ALTER TABLE " S ".lineage DROP CONSTRAINT IF EXISTS "
                           "lineage_kind_check, ADD CONSTRAINT lineage_kind_check CHECK (kind IN "
                           "('split', 'merge', 'reshape', 'update', 'renumber', 'unchanged'));\n"
                           "CREATE INDEX IF NOT EXISTS lineage_batch ON " S ".lineage(batch_id);",
                           "upgrading the lineage table")) != PDB_OK ||
        (st = pdb__pg_exec(ctx, s->pg, "COMMIT", "upgrading the lineage table")) != PDB_OK) {
        PQclear(PQexec(s->pg->conn, "ROLLBACK"));
        return st;
    }
    return PDB_OK;
}
