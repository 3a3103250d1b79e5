/*
 * pg_lookup.c: the point-lookup index on the PostgreSQL/PostGIS store
 * (pg_lookup.h). lookup.c keeps the index; this file gives it the store's
 * reads and writes (pdb__pg_lookup_io), each one statement with bound
 * parameters and binary results: a commune's parcels to pack in one bulk
 * read (never a round trip per parcel), its packed BLOB (bytea), and the
 * list of communes a sync compares with what the handle holds.
 *
 * Once a commune is loaded, a point in it is answered in memory. A batch
 * keeps the communes it loads, and when the server cannot be reached the
 * batch is answered from what is loaded: "lookups of loaded communes keep
 * working" (issue 17), the data version checked again once it is back.
 */
#include "pg_lookup.h"

#include "lookup.h"
#include "pg_read.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether a binary result's columns have the sizes a statement expects
 * (-1: any), so that a changed schema is an error, not a misread. */
static int sizes_ok(const PGresult *res, int row, const int *sizes, int n)
{
    if (PQnfields(res) != n)
        return 0;
    for (int c = 0; c < n; c++)
        if (sizes[c] >= 0 && !PQgetisnull(res, row, c) && PQgetlength(res, row, c) != sizes[c])
            return 0;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* The index's reads and writes                                              */
/* ------------------------------------------------------------------------ */

static pdb_status pg_read_parcels(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                  pdb__lookup_row_fn fn, void *arg)
{
    pdb__pg_params p = {0};
    PGresult *res = NULL;
    pdb_status st;

    /* The geometry as WKB, which the index turns into the SpatiaLite BLOB
     * the SQLite store would have stored for the same geometry, so that
     * both stores test points alike; the public fields through the reader
     * of a parcel by id, so that the index answers them as that read. */
    pdb__pg_param_i4(&p, (int32_t)pdb__pg_read_geom);
    pdb__pg_param_text(&p, commune);
    if ((st = pdb__pg_run(ctx, s->pg, pdb__pg_commune_parcels_sql, &p,
                          "reading a commune for its lookup index", &res)) != PDB_OK)
        return st;
    int rows = PQntuples(res);
    for (int i = 0; i < rows && st == PDB_OK; i++) {
        pdb__mpoly mp = {0};
        pdb_parcel attrs;
        unsigned char *blob = NULL;
        size_t blob_len = 0;
        if (PQgetisnull(res, i, 0) || PQgetisnull(res, i, pdb__pg_col_geom) ||
            PQgetlength(res, i, 0) != 8) {
            st =
                pdb__fail(ctx, PDB_ECORRUPT, "commune %s: a parcel row cannot be indexed", commune);
            break;
        }
        if ((st = pdb__pg_parcel_from_row(ctx, res, i, 0, &attrs)) != PDB_OK)
            break;
        if ((st = pdb__pg_parse_stored(ctx, res, i, pdb__pg_col_geom, &mp)) == PDB_OK)
            st = pdb__mpoly_to_blob(ctx, &mp, PDB_EPSG_WGS84, &blob, &blob_len);
        pdb__mpoly_free(&mp);
        if (st == PDB_OK) {
            pdb__lookup_row r = {attrs.id, attrs.sheet, attrs.parcel, blob, blob_len, &attrs};
            st = fn(ctx, arg, &r);
        }
        pdb_parcel_clear(&attrs);
        free(blob);
    }
    PQclear(res);
    return st;
}

static pdb_status pg_write_blob(pdb_ctx *ctx, pdb_store *s, const char *commune, int64_t batch_id,
                                size_t parcels, const double box[4], const unsigned char *data,
                                size_t len)
{
    pdb__pg_params p = {0};
    PGresult *res = NULL;
    pdb_status st;

    if (len > INT32_MAX)
        return pdb__fail(ctx, PDB_EINVAL, "commune %s: its lookup index exceeds 2 GB", commune);
    pdb__pg_param_text(&p, commune);
    pdb__pg_param_i8(&p, batch_id);
    pdb__pg_param_i8(&p, (int64_t)parcels);
    for (int k = 0; k < 4; k++)
        if (box != NULL)
            pdb__pg_param_f8(&p, box[k]);
        else {
            pdb__pg_param_text(&p, NULL); /* NULL for an empty commune, */
            p.types[p.n - 1] = 0;         /* of the column's type, not text */
        }
    pdb__pg_param_bytes(&p, data, len);
    if ((st = pdb__pg_run(ctx, s->pg,
                          "INSERT INTO " PDB_PG_SCHEMA ".lookup_index (commune, batch_id, parcels, "
                          "min_lon, min_lat, max_lon, max_lat, data) "
                          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (commune) DO UPDATE "
                          "SET batch_id = EXCLUDED.batch_id, parcels = EXCLUDED.parcels, "
                          "min_lon = EXCLUDED.min_lon, min_lat = EXCLUDED.min_lat, "
                          "max_lon = EXCLUDED.max_lon, max_lat = EXCLUDED.max_lat, "
                          "data = EXCLUDED.data",
                          &p, "writing the lookup index", &res)) != PDB_OK)
        return st;
    PQclear(res);
    return PDB_OK;
}

static pdb_status pg_list_communes(pdb_ctx *ctx, pdb_store *s, pdb__lookup_commune_fn fn, void *arg)
{
    static const int sizes[] = {-1, 8, 1, 8, 8, 8, 8};
    PGresult *res = NULL;
    pdb_status st;

    /* Ordered by code byte by byte, as lookup.c merges with strcmp,
     * whatever the database's collation. */
    if ((st = pdb__pg_run(
             ctx, s->pg,
             "SELECT c.code, c.last_batch, l.batch_id IS NOT DISTINCT FROM c.last_batch, "
             "CASE WHEN l.batch_id = c.last_batch THEN l.min_lon ELSE c.min_lon END, "
             "CASE WHEN l.batch_id = c.last_batch THEN l.min_lat ELSE c.min_lat END, "
             "CASE WHEN l.batch_id = c.last_batch THEN l.max_lon ELSE c.max_lon END, "
             "CASE WHEN l.batch_id = c.last_batch THEN l.max_lat ELSE c.max_lat END "
             "FROM " PDB_PG_SCHEMA ".communes c LEFT JOIN " PDB_PG_SCHEMA
             ".lookup_index l ON l.commune = c.code WHERE c.parcels > 0 ORDER BY c.code COLLATE "
             "\"C\"",
             NULL, "reading the lookup index", &res)) != PDB_OK)
        return st;
    int rows = PQntuples(res);
    for (int i = 0; i < rows && st == PDB_OK; i++) {
        if (!sizes_ok(res, i, sizes, 7) || PQgetisnull(res, i, 0) || PQgetisnull(res, i, 1)) {
            st = pdb__fail(ctx, PDB_ECORRUPT, "reading the lookup index: a commune row is damaged");
            break;
        }
        pdb__lookup_commune c = {pdb__pg_text(res, i, 0),
                                 pdb__pg_i8(res, i, 1),
                                 !PQgetisnull(res, i, 2) && PQgetvalue(res, i, 2)[0] != 0,
                                 {0}};
        for (int k = 0; k < 4; k++)
            c.box[k] = PQgetisnull(res, i, 3 + k) ? NAN : pdb__pg_f8(res, i, 3 + k);
        st = fn(ctx, arg, &c);
    }
    PQclear(res);
    return st;
}

/* Whole BLOBs only, prefix or not: the server sends the value whole, and
 * a remote store's batch keeps what it loads (lookup.h). */
static pdb_status pg_read_blob(pdb_ctx *ctx, pdb_store *s, const char *commune, int64_t batch_id,
                               int prefix, unsigned char **buf, size_t *cap, size_t *len)
{
    pdb__pg_params p = {0};
    PGresult *res = NULL;
    pdb_status st;

    (void)prefix;
    *len = 0;
    pdb__pg_param_text(&p, commune);
    pdb__pg_param_i8(&p, batch_id);
    if ((st = pdb__pg_run(ctx, s->pg,
                          "SELECT data FROM " PDB_PG_SCHEMA ".lookup_index "
                          "WHERE commune = $1 AND batch_id = $2",
                          &p, "reading the lookup index", &res)) != PDB_OK)
        return st;
    if (PQntuples(res) == 1 && PQnfields(res) == 1 && !PQgetisnull(res, 0, 0)) {
        size_t n = (size_t)PQgetlength(res, 0, 0);
        if (n > *cap) {
            unsigned char *grown = realloc(*buf, n);
            if (grown == NULL) {
                PQclear(res);
                return pdb__fail(ctx, PDB_ENOMEM, "out of memory loading the lookup index");
            }
            *buf = grown;
            *cap = n;
        }
        memcpy(*buf, PQgetvalue(res, 0, 0), n);
        *len = n;
    }
    PQclear(res);
    return PDB_OK;
}

/* ------------------------------------------------------------------------ */
/* Snapshots and parcels by id                                               */
/* ------------------------------------------------------------------------ */

#define SQL_SNAPSHOT_BEGIN                                                                         \
    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "                                            \
    "SELECT value::bigint FROM " PDB_PG_SCHEMA ".meta WHERE key = 'data_version'"

/* BEGIN and the data version in one round trip: the version is read in
 * the snapshot, as its first statement. */
static pdb_status pg_snapshot_begin(pdb_ctx *ctx, pdb_store *s, int *began, int64_t *version)
{
    *began = 0;
    *version = -1;
    /* A connection lost earlier is made again first (a read-only handle's
     * only: pdb__pg_reconnect), as pdb__pg_data_version does. */
    if (PQstatus(s->pg->conn) != CONNECTION_OK)
        pdb__pg_reconnect(s->pg);
    if (PQtransactionStatus(s->pg->conn) != PQTRANS_IDLE)
        return PDB_OK; /* a caller's transaction, or no connection: the reads will say */
    PGresult *res = PQexec(s->pg->conn, SQL_SNAPSHOT_BEGIN);
    /* One the server closed while the handle was idle (a primary stopped)
     * is found by this first statement, which did nothing there: it is
     * made again, to the host of a multi-host location that answers now,
     * and the snapshot opened on it, so that the first lookup after a
     * failover is answered rather than a 503 (tests/pg/failover.sh).
     * libpq sees the loss only once it reads the end of the stream: a
     * failure of its own (no SQLSTATE) reads it, as pdb__pg_fail does. */
    if (PQresultStatus(res) != PGRES_TUPLES_OK &&
        PQresultErrorField(res, PG_DIAG_SQLSTATE) == NULL &&
        PQstatus(s->pg->conn) == CONNECTION_OK &&
        PQtransactionStatus(s->pg->conn) != PQTRANS_ACTIVE)
        PQconsumeInput(s->pg->conn);
    if (PQstatus(s->pg->conn) != CONNECTION_OK && pdb__pg_reconnect(s->pg)) {
        PQclear(res);
        res = PQexec(s->pg->conn, SQL_SNAPSHOT_BEGIN);
    }
    if (PQtransactionStatus(s->pg->conn) == PQTRANS_INTRANS ||
        PQtransactionStatus(s->pg->conn) == PQTRANS_INERROR) {
        s->pg->in_read = 1;
        *began = 1;
    }
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
        return pdb__pg_fail(ctx, s->pg, res, "store");
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        *version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return PDB_OK;
}

static void pg_snapshot_end(pdb_ctx *ctx, pdb_store *s, int began)
{
    if (!began)
        return;
    /* The answer is made: a failed COMMIT of a read-only snapshot changes
     * nothing, and its message must not replace the answer's status. */
    pdb_ctx quiet = *ctx;
    pdb__pg_exec(&quiet, s->pg, "COMMIT", "store");
    s->pg->in_read = 0;
}

/* Through the store's own read of a parcel by id (pg_query.c), in the
 * snapshot open: one parcel per point but where parcels overlap. */
static pdb_status pg_read_parcel(pdb_ctx *ctx, pdb_store *s, int64_t id, unsigned read_flags,
                                 pdb_parcel *p)
{
    pdb_parcel *got = NULL;
    pdb_status st = s->ops->parcel_get(ctx, s, id, read_flags, &got);
    if (st == PDB_OK) {
        *p = *got; /* its fields move into the caller's */
        free(got);
    }
    return st;
}

static const pdb__lookup_io pg_lookup_io = {
    .read_parcels = pg_read_parcels,
    .write_blob = pg_write_blob,
    .list_communes = pg_list_communes,
    .read_blob = pg_read_blob,
    .snapshot_begin = pg_snapshot_begin,
    .snapshot_end = pg_snapshot_end,
    .read_parcel = pg_read_parcel,
    .remote = 1,
};

pdb_status pdb__pg_lookup_store_commune(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                        int64_t batch_id)
{
    return pdb__lookup_store_commune(ctx, s, &pg_lookup_io, commune, batch_id);
}

pdb_status pdb__pg_parcels_at(pdb_ctx *ctx, pdb_store *s, double lon, double lat,
                              unsigned read_flags, pdb_parcel_list **out)
{
    /* A load open on this handle sees its own uncommitted parcels, which
     * the index does not hold: ask SQL then. */
    if (s->writing)
        return pdb__pg_parcels_at_sql(ctx, s, lon, lat, read_flags, out);
    return pdb__lookup_parcels_at(ctx, s, &pg_lookup_io, lon, lat, read_flags, out);
}

pdb_status pdb__pg_parcels_first_at(pdb_ctx *ctx, pdb_store *s, const double *lonlat, size_t n,
                                    pdb_point_parcel *out)
{
    return pdb__lookup_parcels_first_at(ctx, s, &pg_lookup_io, lonlat, n, out);
}
