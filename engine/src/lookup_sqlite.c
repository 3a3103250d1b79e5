/*
 * lookup_sqlite.c: the point-lookup index's reads and writes on the
 * SQLite/SpatiaLite store (lookup.h's pdb__lookup_io): the parcels of a
 * commune to pack, the lookup_index table's BLOBs, the communes a sync
 * lists, read snapshots and parcels by id; the store's parcels_at and
 * parcels_first_at, which the index answers; and the backfill of stores
 * made before the index.
 */
#include "lookup.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pdb_status sq_read_parcels(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                  pdb__lookup_row_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    pdb_status st = PDB_OK;
    /* The columns and the reader of a parcel by id (query.c): the index
     * answers public reads from what it packs, as that read would. */
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT " PDB_PARCEL_COLUMNS " FROM parcels p "
                                "WHERE p.commune = ?1 AND p.valid_to IS NULL",
                                -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(ctx, s->db, rc, "reading a commune for its lookup index");
    sqlite3_bind_text(stmt, 1, commune, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        pdb_parcel attrs;
        if ((st = pdb__parcel_from_row(ctx, stmt, 0, &attrs)) != PDB_OK)
            break;
        pdb__lookup_row r = {attrs.id,
                             attrs.sheet,
                             attrs.parcel,
                             sqlite3_column_blob(stmt, PDB_COL_GEOM),
                             (size_t)sqlite3_column_bytes(stmt, PDB_COL_GEOM),
                             &attrs};
        st = fn(ctx, arg, &r);
        pdb_parcel_clear(&attrs);
        if (st != PDB_OK)
            break;
    }
    if (st == PDB_OK && rc != SQLITE_DONE)
        st = pdb__sql_fail(ctx, s->db, rc, "reading a commune for its lookup index");
    sqlite3_finalize(stmt);
    return st;
}

static pdb_status sq_write_blob(pdb_ctx *ctx, pdb_store *s, const char *commune, int64_t batch_id,
                                size_t parcels, const double box[4], const unsigned char *data,
                                size_t len)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "INSERT OR REPLACE INTO lookup_index (commune, batch_id, "
                                "parcels, min_lon, min_lat, max_lon, max_lat, data) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                                -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, commune, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, batch_id);
        sqlite3_bind_int64(stmt, 3, (int64_t)parcels);
        for (int k = 0; k < 4 && box != NULL; k++)
            sqlite3_bind_double(stmt, 4 + k, box[k]); /* NULL for an empty commune */
        sqlite3_bind_blob64(stmt, 8, data, len, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, s->db, rc, "writing the lookup index");
    return PDB_OK;
}

static pdb_status sq_list_communes(pdb_ctx *ctx, pdb_store *s, pdb__lookup_commune_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    pdb_status st = PDB_OK;
    int rc;

    rc = sqlite3_prepare_v2(
        s->db,
        "SELECT c.code, c.last_batch, l.batch_id IS c.last_batch, "
        "CASE WHEN l.batch_id IS c.last_batch THEN l.min_lon ELSE c.min_lon END, "
        "CASE WHEN l.batch_id IS c.last_batch THEN l.min_lat ELSE c.min_lat END, "
        "CASE WHEN l.batch_id IS c.last_batch THEN l.max_lon ELSE c.max_lon END, "
        "CASE WHEN l.batch_id IS c.last_batch THEN l.max_lat ELSE c.max_lat END "
        "FROM communes c LEFT JOIN lookup_index l ON l.commune = c.code "
        "WHERE c.parcels > 0 ORDER BY c.code",
        -1, &stmt, NULL);
    /* A read-only handle on a store made before the index has no
     * lookup_index table: every commune is built from its parcels. */
    if (rc != SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db,
                                "SELECT code, last_batch, 0, min_lon, min_lat, max_lon, max_lat "
                                "FROM communes WHERE parcels > 0 ORDER BY code",
                                -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(ctx, s->db, rc, "reading the lookup index");
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        pdb__lookup_commune c = {(const char *)sqlite3_column_text(stmt, 0),
                                 sqlite3_column_int64(stmt, 1),
                                 sqlite3_column_int(stmt, 2) != 0,
                                 {0}};
        for (int k = 0; k < 4; k++)
            c.box[k] = sqlite3_column_type(stmt, 3 + k) == SQLITE_NULL
                           ? NAN
                           : sqlite3_column_double(stmt, 3 + k);
        if ((st = fn(ctx, arg, &c)) != PDB_OK)
            break;
    }
    if (st == PDB_OK && rc != SQLITE_DONE)
        st = pdb__sql_fail(ctx, s->db, rc, "reading the lookup index");
    sqlite3_finalize(stmt);
    return st;
}

/* Straight from SQLite's pages, without the copy sqlite3_column_blob
 * makes, into the caller's buffer: a batch's is reused, so already mapped
 * (fresh pages cost more than the copy on a VM). A prefix is read as the
 * header, then the rest of the prefix: SQLite stops at the prefix's last
 * overflow page, so the records after it are never read. */
static pdb_status sq_read_blob(pdb_ctx *ctx, pdb_store *s, const char *commune, int64_t batch_id,
                               int prefix, unsigned char **buf, size_t *cap, size_t *len)
{
    unsigned char head[PDB__LOOKUP_HEAD_BYTES];
    size_t at = 0; /* bytes already in head */
    sqlite3_stmt *stmt = NULL;
    sqlite3_blob *blob = NULL;
    sqlite3_int64 rowid = 0;
    int rc;

    *len = 0;
    rc = sqlite3_prepare_v2(s->db,
                            "SELECT rowid FROM lookup_index WHERE commune = ?1 AND batch_id = ?2",
                            -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(ctx, s->db, rc, "reading the lookup index");
    sqlite3_bind_text(stmt, 1, commune, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, batch_id);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        rowid = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return PDB_OK; /* no such BLOB: built from the parcels */
    if (rc != SQLITE_ROW || (rc = sqlite3_blob_open(s->db, "main", "lookup_index", "data", rowid, 0,
                                                    &blob)) != SQLITE_OK)
        return pdb__sql_fail(ctx, s->db, rc, "reading the lookup index");
    size_t n = (size_t)sqlite3_blob_bytes(blob);
    if (prefix && n >= sizeof head) {
        if ((rc = sqlite3_blob_read(blob, head, (int)sizeof head, 0)) != SQLITE_OK) {
            sqlite3_blob_close(blob);
            return pdb__sql_fail(ctx, s->db, rc, "reading the lookup index");
        }
        at = sizeof head;
        n = pdb__lookup_blob_prefix(head, n);
    }
    if (n > *cap) {
        unsigned char *p = realloc(*buf, n);
        if (p == NULL) {
            sqlite3_blob_close(blob);
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory loading the lookup index");
        }
        *buf = p;
        *cap = n;
    }
    if (at > 0)
        memcpy(*buf, head, at);
    rc = n > at ? sqlite3_blob_read(blob, *buf + at, (int)(n - at), (int)at) : SQLITE_OK;
    sqlite3_blob_close(blob);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(ctx, s->db, rc, "reading the lookup index");
    *len = n;
    return PDB_OK;
}

static pdb_status sq_snapshot_begin(pdb_ctx *ctx, pdb_store *s, int *began, int64_t *version)
{
    *version = -1; /* the sync reads it: a local read costs no round trip */
    return pdb__sq_read_begin(ctx, s, began);
}

static void sq_snapshot_end(pdb_ctx *ctx, pdb_store *s, int began)
{
    pdb__sq_read_end(ctx, s, began);
}

static pdb_status sq_read_parcel(pdb_ctx *ctx, pdb_store *s, int64_t id, unsigned read_flags,
                                 pdb_parcel *p)
{
    sqlite3_stmt *stmt;
    pdb_status st;

    if ((st = pdb__store_stmt(ctx, s, STMT_PARCEL_BY_ID, &stmt)) != PDB_OK)
        return st;
    sqlite3_bind_int64(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        st = pdb__parcel_from_row(ctx, stmt, read_flags, p);
    else
        st = pdb__sql_fail(ctx, s->db, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
                           "reading an indexed parcel");
    sqlite3_reset(stmt);
    return st;
}

const pdb__lookup_io pdb__sq_lookup_io = {
    .read_parcels = sq_read_parcels,
    .write_blob = sq_write_blob,
    .list_communes = sq_list_communes,
    .read_blob = sq_read_blob,
    .snapshot_begin = sq_snapshot_begin,
    .snapshot_end = sq_snapshot_end,
    .read_parcel = sq_read_parcel,
    .remote = 0,
};

pdb_status pdb__sq_parcels_at(pdb_ctx *ctx, pdb_store *s, double lon, double lat,
                              unsigned read_flags, pdb_parcel_list **out)
{
    /* A load open on this handle sees its own uncommitted parcels, which
     * the index does not hold: ask SQL then. */
    if (s->writing)
        return pdb__parcels_at_sql(ctx, s, lon, lat, read_flags, out);
    return pdb__lookup_parcels_at(ctx, s, &pdb__sq_lookup_io, lon, lat, read_flags, out);
}

pdb_status pdb__sq_parcels_first_at(pdb_ctx *ctx, pdb_store *s, const double *lonlat, size_t n,
                                    pdb_point_parcel *out)
{
    return pdb__lookup_parcels_first_at(ctx, s, &pdb__sq_lookup_io, lonlat, n, out);
}

/* Whether the lookup_index row's BLOB is of this build's format; a BLOB
 * that cannot be read is not. */
static int blob_current(pdb_store *s, sqlite3_int64 rowid)
{
    sqlite3_blob *blob = NULL;
    unsigned char head[8];
    int ok =
        sqlite3_blob_open(s->db, "main", "lookup_index", "data", rowid, 0, &blob) == SQLITE_OK &&
        sqlite3_blob_bytes(blob) >= (int)sizeof head &&
        sqlite3_blob_read(blob, head, (int)sizeof head, 0) == SQLITE_OK &&
        pdb__lookup_format_current(head, sizeof head);
    sqlite3_blob_close(blob);
    return ok;
}

pdb_status pdb__lookup_backfill(pdb_ctx *ctx, pdb_store *s)
{
    sqlite3_stmt *stmt = NULL;
    pdb_status st = PDB_OK;
    char(*codes)[8] = NULL;
    int64_t *batches = NULL;
    size_t n = 0, cap = 0;
    int rc;

    /* A BLOB of the commune's last import may be of an older format: its
     * first bytes say, read alone (a page, not the BLOB's overflow chain). */
    rc = sqlite3_prepare_v2(s->db,
                            "SELECT c.code, c.last_batch, l.batch_id IS c.last_batch, l.rowid "
                            "FROM communes c LEFT JOIN lookup_index l ON l.commune = c.code",
                            -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(ctx, s->db, rc, "checking the lookup index");
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(stmt, 0);
        if (sqlite3_column_int(stmt, 2) != 0 && blob_current(s, sqlite3_column_int64(stmt, 3)))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char(*nc)[8] = realloc(codes, cap * sizeof *nc);
            int64_t *nb = nc ? realloc(batches, cap * sizeof *nb) : NULL;
            if (nc != NULL)
                codes = nc;
            if (nb == NULL) {
                st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
                goto done;
            }
            batches = nb;
        }
        snprintf(codes[n], sizeof codes[n], "%s", code ? code : "");
        batches[n++] = sqlite3_column_int64(stmt, 1);
    }
    if (rc != SQLITE_DONE) {
        st = pdb__sql_fail(ctx, s->db, rc, "checking the lookup index");
        goto done;
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (n == 0)
        goto done;
    if ((st = pdb__store_exec(ctx, s, "BEGIN IMMEDIATE")) != PDB_OK)
        goto done;
    for (size_t i = 0; i < n && st == PDB_OK; i++)
        st = pdb__lookup_store_commune(ctx, s, &pdb__sq_lookup_io, codes[i], batches[i]);
    if (st == PDB_OK)
        st = pdb__store_exec(ctx, s, "COMMIT");
    if (st != PDB_OK)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
done:
    sqlite3_finalize(stmt);
    free(codes);
    free(batches);
    return st;
}
