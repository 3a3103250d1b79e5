/*
 * pg_registry.c: the PostgreSQL store's commune list (pg_schema.h's
 * commune_registry), read at every open and written by
 * pdb_store_communes_add (registry_store.c holds the SQLite side).
 */
#include "pg.h"
#include "pg_schema.h"
#include "registry.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>

pdb_status pdb__pg_registry_read(pdb_ctx *ctx, pdb_store *s, const char *origin,
                                 pdb_commune_table **out)
{
    PGresult *res = NULL;
    pdb_commune_table *t = pdb__commune_table_new(origin);
    pdb_status st;

    *out = NULL;
    if (t == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory reading the communes of %s", origin);
    /* A store made before the table has none: it reads as an empty list. */
    if ((st = pdb__pg_query(ctx, s->pg, "SELECT to_regclass('parceldb.commune_registry') IS NULL",
                            0, NULL, "reading the store's communes", &res)) != PDB_OK)
        goto done;
    int missing = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    res = NULL;
    if (missing)
        goto done;
    if ((st = pdb__pg_query(ctx, s->pg,
                            "SELECT code, name, former_province, epsg FROM "
                            "parceldb.commune_registry ORDER BY code",
                            0, NULL, "reading the store's communes", &res)) != PDB_OK)
        goto done;
    for (int i = 0; i < PQntuples(res) && st == PDB_OK; i++)
        st = pdb__commune_table_push(ctx, t, 0, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                                     PQgetvalue(res, i, 2), NULL, atoi(PQgetvalue(res, i, 3)));
done:
    PQclear(res);
    if (st != PDB_OK) {
        pdb_commune_table_free(t);
        return st;
    }
    *out = t;
    return PDB_OK;
}

pdb_status pdb__pg_registry_write(pdb_ctx *ctx, pdb_store *s, const pdb_commune_table *t)
{
    static const char what[] = "writing the store's communes";
    pdb__pg *pg = s->pg;
    pdb_status st;

    /* A write transaction as every writer takes it (pg.h), so that it
     * queues behind a load instead of deadlocking with it. */
    if ((st = pdb__pg_write_begin(ctx, pg, what)) != PDB_OK)
        return st;
    /* Stores made before the table get it now, in this transaction. */
    st = pdb__pg_exec(ctx, pg, PDB_PG_REGISTRY_SCHEMA_SQL, what);
    for (size_t i = 0; i < t->count && st == PDB_OK; i++) {
        const pdb_commune_ref *r = &t->refs[i];
        char epsg[16];
        snprintf(epsg, sizeof epsg, "%d", r->epsg);
        const char *const params[] = {r->code, r->name, r->former_province, epsg};
        PGresult *res = NULL;
        st = pdb__pg_query(ctx, pg,
                           "INSERT INTO parceldb.commune_registry (code, name, former_province, "
                           "epsg) VALUES ($1, $2, $3, $4::integer) ON CONFLICT (code) DO NOTHING",
                           4, params, what, &res);
        PQclear(res);
    }
    if (st == PDB_OK)
        st = pdb__pg_exec(ctx, pg, "COMMIT", what);
    if (st != PDB_OK)
        PQclear(PQexec(pg->conn, "ROLLBACK"));
    return st;
}
