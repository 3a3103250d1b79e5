/*
 * pg_writer.c: one commune's load into the PostgreSQL store, inside one
 * transaction, as writer.c does it for SQLite: supersede the commune's
 * current parcels, stream the new ones through binary COPY, record
 * rejects, and commit with the commune's row, the file's checksum, a stale
 * mark on its overviews, a new data version and a NOTIFY that replicas
 * listen for. Nothing is visible to readers before the COMMIT; a writer
 * freed without a commit (or a process killed at any instant) leaves the
 * store as it was: PostgreSQL rolls back a transaction whose session ends.
 *
 * Ids: writers are serialized (the meta row of the data version is locked
 * at begin, as SQLite's BEGIN IMMEDIATE takes its write lock), so a writer
 * numbers its parcels and rejects from the table's largest id on, as
 * SQLite numbers the rows of an INTEGER PRIMARY KEY, and the same imports
 * give the same ids in both stores, also after a load rolled back (an
 * identity sequence would have skipped the ids it handed out). The
 * sequences are set past them at commit, so an INSERT that takes its
 * default id never collides with them. This replaces the brief's blocks
 * of nextval() for parcels: no COPY has to stop to fetch more ids.
 *
 * Rejects: a reject that arrives while parcels stream ends the COPY, is
 * inserted with a plain INSERT, and the next parcel starts a new COPY.
 * Rejects are few (a COPY restart is one round trip), and this keeps the
 * order and the ids of rejects as SQLite gives them.
 */
#include "pg.h"
#include "pg_lookup.h"
#include "search.h"
#include "store.h"
#include "writer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parcels' columns in the order each COPY row sends them. */
#define COPY_SQL                                                                                   \
    "COPY parceldb.parcels (id, commune, former_commune, sheet, parcel, landuse, landuse_main, "   \
    "area_surveyed_m2, area_computed_m2, address, owner, flags, source_srid, source_geom, "        \
    "batch_id, valid_from, geom, prev_sheet, prev_parcel, certificate, record_start, "             \
    "record_end) FROM STDIN (FORMAT binary)"
#define COPY_NCOLUMNS 22

typedef struct pg_writer {
    struct pdb_writer base; /* the store, borrowed; holds the transaction */
    int64_t batch_id;       /* import run */
    char batch_text[24];    /* batch_id as a text parameter */
    char *name;             /* commune name for the communes row */
    char *file;             /* source path */
    char *checksum;         /* hex SHA-256 of the source */
    char now[32];           /* valid_from of new parcels, valid_to of old ones */
    int64_t next_id;        /* the id the next parcel gets */
    double bbox[4];         /* WGS 84 box of the parcels added */
    int64_t added;          /* parcels added */
    int64_t wgs84_repaired; /* of those, repaired after reprojection */
    int64_t rejects;        /* rejects recorded */
    unsigned char *row;     /* one COPY row as it is built */
    size_t row_len;         /* bytes of row used */
    size_t row_cap;         /* bytes of row allocated */
    int in_transaction;     /* BEGIN succeeded and neither COMMIT nor ROLLBACK ran */
    int in_copy;            /* a COPY FROM STDIN is open on the connection */
} pg_writer;

static int blank(const char *s)
{
    return s == NULL || s[strspn(s, " \t")] == '\0';
}

/* Makes room for n more bytes in the row; 0 when out of memory. */
static int row_reserve(pg_writer *w, size_t n)
{
    if (w->row_len + n <= w->row_cap)
        return 1;
    size_t cap = w->row_cap ? w->row_cap : 4096;
    while (cap < w->row_len + n)
        cap *= 2;
    unsigned char *r = realloc(w->row, cap);
    if (r == NULL)
        return 0;
    w->row = r;
    w->row_cap = cap;
    return 1;
}

/* Binary COPY numbers are big-endian. Callers have reserved the room. */
static void put_be(pg_writer *w, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        w->row[w->row_len++] = (unsigned char)(v >> (8 * i));
}

/* A field: its length (-1 for NULL) then its bytes. */
static int put_field(pg_writer *w, const void *data, size_t len)
{
    if (!row_reserve(w, 4 + len))
        return 0;
    if (data == NULL) {
        put_be(w, 0xffffffffu, 4);
        return 1;
    }
    put_be(w, (uint32_t)len, 4);
    memcpy(w->row + w->row_len, data, len);
    w->row_len += len;
    return 1;
}

static int put_text(pg_writer *w, const char *text)
{
    return put_field(w, text, text ? strlen(text) : 0);
}

static int put_i64(pg_writer *w, int64_t v)
{
    if (!row_reserve(w, 12))
        return 0;
    put_be(w, 8, 4);
    put_be(w, (uint64_t)v, 8);
    return 1;
}

static int put_i32(pg_writer *w, int32_t v)
{
    if (!row_reserve(w, 8))
        return 0;
    put_be(w, 4, 4);
    put_be(w, (uint32_t)v, 4);
    return 1;
}

static int put_f64(pg_writer *w, double v)
{
    uint64_t bits;
    if (!row_reserve(w, 12))
        return 0;
    memcpy(&bits, &v, sizeof bits);
    put_be(w, 8, 4);
    put_be(w, bits, 8);
    return 1;
}

/* A WKB geometry as the EWKB that PostGIS's binary input reads. */
static int put_ewkb(pg_writer *w, const unsigned char *wkb, size_t len, int srid)
{
    if (!row_reserve(w, 4 + len + 4))
        return 0;
    size_t n = pdb__pg_ewkb_into(wkb, len, srid, w->row + w->row_len + 4);
    if (n == 0)
        return 0;
    put_be(w, (uint32_t)n, 4);
    w->row_len += n;
    return 1;
}

/* The WGS 84 geometry, from the SpatiaLite BLOB pdb_geom_prepare made
 * (pdb__mpoly_to_blob: a little-endian MULTIPOLYGON XY), as EWKB, copied
 * in one piece: the BLOB's body is WKB but for each part's 0x69 marker
 * where WKB has its byte order, so no parse, no allocation. */
static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static pdb_status put_blob_geom(pdb_ctx *ctx, pg_writer *w, const unsigned char *blob, size_t len)
{
    /* 39 bytes of header (start, byte order, SRID, box, 0x7C), the class
     * (6), the part count; 0xFE at the end. */
    if (len < 48 || blob[0] != 0x00 || blob[1] != 0x01 || blob[38] != 0x7C ||
        blob[len - 1] != 0xFE || le32(blob + 39) != 6)
        goto foreign;
    const unsigned char *b = blob + 43; /* the part count */
    size_t body = len - 43 - 1;         /* from there to before 0xFE */
    if (!row_reserve(w, 4 + 9 + body))
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    /* Built after the field's length, which is written last: a BLOB that
     * is not what it seemed leaves the row as it was. */
    static const unsigned char head[9] = {1, 6, 0, 0, 0x20, 0xE6, 0x10, 0, 0}; /* SRID 4326 */
    unsigned char *e = w->row + w->row_len + 4;
    memcpy(e, head, 9);
    memcpy(e + 9, b, body);
    /* Each part's marker becomes its byte order. */
    size_t at = 4;
    for (uint32_t part = 0, nparts = le32(b); part < nparts; part++) {
        if (at + 9 > body || b[at] != 0x69)
            goto foreign;
        e[9 + at] = 1;
        uint32_t nrings = le32(b + at + 5);
        at += 9;
        for (uint32_t r = 0; r < nrings; r++) {
            if (at + 4 > body)
                goto foreign;
            at += 4 + (size_t)le32(b + at) * 16;
        }
    }
    if (at != body)
        goto foreign;
    put_be(w, (uint32_t)(9 + body), 4);
    w->row_len += 9 + body;
    return PDB_OK;
foreign:
    /* pdb_geom_prepare makes every prepared geometry (the type is
     * opaque), always in the form above. */
    return pdb__fail(ctx, PDB_EGEOM, "a prepared geometry that is not the engine's BLOB");
}

/* Runs a statement with text parameters and no rows wanted. */
static pdb_status run(pdb_ctx *ctx, pg_writer *w, const char *sql, int nparams,
                      const char *const *params, const char *what)
{
    PGresult *res = NULL;
    pdb_status st = pdb__pg_query(ctx, w->base.store->pg, sql, nparams, params, what, &res);
    PQclear(res);
    return st;
}

static pdb_status copy_start(pdb_ctx *ctx, pg_writer *w)
{
    static const unsigned char header[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n',
                                             0,   0,   0,   0,   0,   0,   0,    0,    0};
    pdb__pg *pg = w->base.store->pg;
    PGresult *res = PQexec(pg->conn, COPY_SQL);
    if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN)
        return pdb__pg_fail(ctx, pg, res, "storing the parcels");
    PQclear(res);
    w->in_copy = 1;
    if (PQputCopyData(pg->conn, (const char *)header, sizeof header) != 1)
        return pdb__pg_fail(ctx, pg, NULL, "storing the parcels");
    return PDB_OK;
}

/* Ends the COPY; errmsg non-NULL abandons it (and ctx may then be NULL:
 * nothing is reported). The server reports what was wrong with any row
 * here, at the end. */
static pdb_status copy_end(pdb_ctx *ctx, pg_writer *w, const char *errmsg)
{
    static const unsigned char trailer[2] = {0xff, 0xff};
    pdb__pg *pg = w->base.store->pg;
    pdb_status st = PDB_OK;
    PGresult *res;

    if (!w->in_copy)
        return PDB_OK;
    w->in_copy = 0;
    /* report: the caller wants to know how the COPY ended. */
    int report = errmsg == NULL;
    if (report && PQputCopyData(pg->conn, (const char *)trailer, sizeof trailer) != 1) {
        st = pdb__pg_fail(ctx, pg, NULL, "storing the parcels");
        errmsg = "the end of the rows could not be sent";
    }
    if (PQputCopyEnd(pg->conn, errmsg) != 1 && report && st == PDB_OK)
        st = pdb__pg_fail(ctx, pg, NULL, "storing the parcels");
    while ((res = PQgetResult(pg->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && report && st == PDB_OK)
            st = pdb__pg_fail(ctx, pg, res, "storing the parcels");
        else
            PQclear(res);
    }
    return st;
}

pdb_status pdb__pg_load_pause(pdb_ctx *ctx, pdb__pg *pg)
{
    return pg->load != NULL ? copy_end(ctx, pg->load, NULL) : PDB_OK;
}

pdb_status pdb__pg_writer_begin(pdb_ctx *ctx, pdb_store *s, const pdb_commune_load *load,
                                pdb_writer **out)
{
    pg_writer *w = NULL;
    const char *name = NULL;
    PGresult *res = NULL;
    pdb_status st;

    *out = NULL;
    if ((st = pdb__writer_load_check(ctx, s, load, &name)) != PDB_OK)
        return st;
    if ((w = calloc(1, sizeof *w)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    w->base.store = s;
    memcpy(w->base.commune, load->commune, 6);
    w->base.source_srid = load->source_srid;
    w->batch_id = load->batch_id;
    snprintf(w->batch_text, sizeof w->batch_text, "%lld", (long long)load->batch_id);
    w->name = pdb__strdup(name);
    w->file = pdb__strdup(load->file ? load->file : "");
    w->checksum = pdb__strdup(load->checksum ? load->checksum : "");
    w->bbox[0] = w->bbox[1] = INFINITY;
    w->bbox[2] = w->bbox[3] = -INFINITY;
    pdb__now_iso(w->now);
    if (w->name == NULL || w->file == NULL || w->checksum == NULL) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        goto fail;
    }
    /* Queued behind any other writer (pg.h); a role without write rights
     * fails here (42501), before anything is written. */
    if ((st = pdb__pg_write_begin(ctx, s->pg, "starting the commune's load")) != PDB_OK)
        goto fail;
    w->in_transaction = 1;
    s->writing = 1;
    s->pg->load = w;
    const char *params[] = {w->base.commune, w->now};
    if ((st = run(ctx, w,
                  "UPDATE parceldb.parcels SET valid_to = $2 WHERE commune = $1 AND "
                  "valid_to IS NULL",
                  2, params, "superseding the commune's parcels")) != PDB_OK)
        goto fail;
    if ((st = pdb__pg_query(ctx, s->pg, "SELECT coalesce(max(id), 0) FROM parceldb.parcels", 0,
                            NULL, "numbering the parcels", &res)) != PDB_OK)
        goto fail;
    w->next_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10) + 1;
    PQclear(res);
    *out = &w->base;
    return pdb__ok(ctx);
fail:
    pdb__pg_writer_free(w ? &w->base : NULL);
    return st;
}

/* Refuses text over the context's limit, as the SQLite writer does. */
static pdb_status check_text(pdb_ctx *ctx, const char *text, const char *field)
{
    size_t len = text ? strlen(text) : 0;
    if (len > ctx->limits.max_text_bytes)
        return pdb__fail(ctx, PDB_ELIMIT, "%s is %zu bytes, over the limit of %zu", field, len,
                         ctx->limits.max_text_bytes);
    return PDB_OK;
}

pdb_status pdb__pg_writer_add_prepared(pdb_ctx *ctx, pdb_writer *pw, const pdb_parcel *p,
                                       const pdb_geom_prepared *g, int64_t *id_out)
{
    pg_writer *w = (pg_writer *)pw;
    pdb__pg *pg = w->base.store->pg;
    char main_use[16];
    pdb_status st;

    if (id_out != NULL)
        *id_out = 0;
    if (!w->in_transaction)
        return pdb__fail(ctx, PDB_EINVAL, "the writer's transaction has ended");
    if ((st = pdb__writer_parcel_check(ctx, pw, p, g, main_use)) != PDB_OK)
        return st;
    const char *landuse = p->landuse ? p->landuse : "";
    const char *former = blank(p->former_commune) ? NULL : p->former_commune;
    if ((st = check_text(ctx, former, "former commune")) != PDB_OK ||
        (st = check_text(ctx, p->sheet, "sheet number")) != PDB_OK ||
        (st = check_text(ctx, p->parcel, "parcel number")) != PDB_OK ||
        (st = check_text(ctx, landuse, "land use")) != PDB_OK ||
        (st = check_text(ctx, p->address, "address")) != PDB_OK ||
        (st = check_text(ctx, p->owner, "owner")) != PDB_OK ||
        (st = check_text(ctx, p->prev_sheet, "previous sheet")) != PDB_OK ||
        (st = check_text(ctx, p->prev_parcel, "previous parcel number")) != PDB_OK ||
        (st = check_text(ctx, p->certificate, "certificate")) != PDB_OK ||
        (st = check_text(ctx, p->record_start, "record start")) != PDB_OK ||
        (st = check_text(ctx, p->record_end, "record end")) != PDB_OK)
        return st;
    if (p->source_wkb == NULL || p->source_wkb_len < 5)
        return pdb__fail(ctx, PDB_EGEOM, "parcel has no source geometry");

    if (!w->in_copy && (st = copy_start(ctx, w)) != PDB_OK)
        return st;
    int64_t id = w->next_id;
    w->row_len = 0;
    int ok = row_reserve(w, 2);
    if (ok)
        put_be(w, COPY_NCOLUMNS, 2);
    ok =
        ok && put_i64(w, id) && put_text(w, w->base.commune) && put_text(w, former) &&
        put_text(w, p->sheet) && put_text(w, p->parcel) && put_text(w, landuse) &&
        put_text(w, main_use) &&
        (isfinite(p->area_surveyed_m2) ? put_f64(w, p->area_surveyed_m2) : put_field(w, NULL, 0)) &&
        put_f64(w, g->area_m2) && put_text(w, p->address) && put_text(w, p->owner) &&
        put_i32(w, (int32_t)(p->flags | (g->wgs84_repaired ? PDB_PARCEL_WGS84_REPAIRED : 0))) &&
        put_i32(w, w->base.source_srid);
    if (!ok)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    if (!put_ewkb(w, p->source_wkb, p->source_wkb_len, w->base.source_srid))
        return pdb__fail(ctx, PDB_EGEOM, "parcel's source geometry is not WKB");
    if (!put_i64(w, w->batch_id) || !put_text(w, w->now))
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    if ((st = put_blob_geom(ctx, w, g->blob, g->blob_len)) != PDB_OK)
        return st;
    if (!put_text(w, p->prev_sheet) || !put_text(w, p->prev_parcel) ||
        !put_text(w, p->certificate) || !put_text(w, p->record_start) ||
        !put_text(w, p->record_end))
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    if (PQputCopyData(pg->conn, (const char *)w->row, (int)w->row_len) != 1)
        return pdb__pg_fail(ctx, pg, NULL, "storing a parcel");
    w->next_id++;
    if (id_out != NULL)
        *id_out = id;
    w->bbox[0] = fmin(w->bbox[0], g->bbox[0]);
    w->bbox[1] = fmin(w->bbox[1], g->bbox[1]);
    w->bbox[2] = fmax(w->bbox[2], g->bbox[2]);
    w->bbox[3] = fmax(w->bbox[3], g->bbox[3]);
    w->added++;
    w->wgs84_repaired += g->wgs84_repaired;
    return pdb__ok(ctx);
}

pdb_status pdb__pg_writer_reject(pdb_ctx *ctx, pdb_writer *pw, const pdb_reject *r)
{
    pg_writer *w = (pg_writer *)pw;
    pdb__pg *pg = w->base.store->pg;
    char index[24];
    pdb_status st;

    if (!w->in_transaction)
        return pdb__fail(ctx, PDB_EINVAL, "the writer's transaction has ended");
    if (r == NULL || blank(r->reason))
        return pdb__fail(ctx, PDB_EINVAL, "a reject needs a reason");
    if ((st = copy_end(ctx, w, NULL)) != PDB_OK)
        return st;
    snprintf(index, sizeof index, "%lld", (long long)r->feature_index);
    int has_geom = r->geometry_wkb != NULL && r->geometry_wkb_len > 0;
    const char *params[] = {w->batch_text,
                            w->base.commune,
                            r->file ? r->file : w->file,
                            index,
                            r->reason,
                            r->detail,
                            r->attributes_json,
                            has_geom ? (const char *)r->geometry_wkb : NULL,
                            r->stored ? "1" : "0"};
    int lengths[9] = {0};
    int formats[9] = {0};
    lengths[7] = has_geom ? (int)r->geometry_wkb_len : 0;
    formats[7] = 1; /* the raw geometry as bytes, not text */
    /* Raw attributes are kept whole, whatever their length: they are the
     * evidence of what the survey said. */
    PGresult *res = PQexecParams(pg->conn,
                                 "INSERT INTO parceldb.rejects (id, batch_id, commune, file, "
                                 "feature_index, reason, detail, attributes, geometry, stored) "
                                 "VALUES ((SELECT coalesce(max(id), 0) + 1 FROM "
                                 "parceldb.rejects), $1, $2, $3, $4, $5, $6, $7, $8, $9)",
                                 9, NULL, params, lengths, formats, 0);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
        return pdb__pg_fail(ctx, pg, res, "storing a reject");
    PQclear(res);
    w->rejects++;
    return pdb__ok(ctx);
}

/* The version the transaction will commit: the bump comes just before the
 * COMMIT, in the same transaction (store.h: pdb__commune_stamp). */
#define NEXT_DATA_VERSION_SQL                                                                      \
    "(SELECT value::bigint + 1 FROM parceldb.meta WHERE key = 'data_version')"

pdb_status pdb__pg_writer_commit(pdb_ctx *ctx, pdb_writer *pw, pdb_import_counts *counts)
{
    pg_writer *w = (pg_writer *)pw;
    static const pdb_import_counts zero;
    pdb_import_counts c = counts ? *counts : zero;
    pdb__pg *pg = w->base.store->pg;
    PGresult *res = NULL;
    pdb_status st;
    char num[8][32], box[4][32];

    if (!w->in_transaction)
        return pdb__fail(ctx, PDB_EINVAL, "the writer's transaction has ended");
    if ((st = copy_end(ctx, w, NULL)) != PDB_OK)
        return st;
    const char *commune1[] = {w->base.commune};
    if (w->added > 0) {
        snprintf(num[0], sizeof num[0], "%lld", (long long)(w->next_id - 1));
        const char *last[] = {num[0]};
        if ((st = run(ctx, w,
                      "SELECT setval('parceldb.parcels_id_seq', greatest($1::bigint, "
                      "last_value)) FROM parceldb.parcels_id_seq",
                      1, last, "numbering the parcels")) != PDB_OK)
            return st;
    }
    /* Duplicates are kept and flagged, never dropped: real registers repeat
     * numbers, and only the whole commune tells which ones repeat. Joined
     * by id, so that the plan stays an index lookup per duplicate even
     * when the statistics do not know the rows just copied (an IN over
     * the grouped numbers became a nested loop over the whole commune). */
    if ((st = run(ctx, w,
                  "UPDATE parceldb.parcels p SET flags = p.flags | 1 FROM (SELECT id, count(*) "
                  "OVER (PARTITION BY coalesce(former_commune, ''), sheet, parcel) AS n FROM "
                  "parceldb.parcels WHERE commune = $1 AND valid_to IS NULL) d "
                  "WHERE d.n > 1 AND p.id = d.id",
                  1, commune1, "flagging duplicate numbers")) != PDB_OK)
        return st;
    if ((st = pdb__pg_query(ctx, pg,
                            "SELECT count(*) FROM parceldb.parcels WHERE commune = $1 AND "
                            "valid_to IS NULL AND flags != 0",
                            1, commune1, "counting flagged parcels", &res)) != PDB_OK)
        return st;
    c.flagged = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    /* What the re-survey did to each parcel, in the load's transaction. */
    if ((st = pdb__pg_lineage_record(ctx, pw, w->batch_id, w->now)) != PDB_OK)
        return st;

    /* The box as "%.17g": read back, it is the same double. */
    for (int i = 0; i < 4; i++)
        snprintf(box[i], sizeof box[i], "%.17g", w->bbox[i]);
    char srid[16], added[24];
    snprintf(srid, sizeof srid, "%d", w->base.source_srid);
    snprintf(added, sizeof added, "%lld", (long long)w->added);
    const char *upsert[] = {w->base.commune,
                            w->name,
                            srid,
                            w->added > 0 ? box[0] : NULL,
                            w->added > 0 ? box[1] : NULL,
                            w->added > 0 ? box[2] : NULL,
                            w->added > 0 ? box[3] : NULL,
                            added,
                            w->batch_text,
                            w->now};
    if ((st = run(ctx, w,
                  "INSERT INTO parceldb.communes (code, name, source_srid, min_lon, min_lat, "
                  "max_lon, max_lat, parcels, last_batch, updated_at, data_version) "
                  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, " NEXT_DATA_VERSION_SQL
                  ") ON CONFLICT (code) DO UPDATE SET name = excluded.name, "
                  "source_srid = excluded.source_srid, min_lon = excluded.min_lon, "
                  "min_lat = excluded.min_lat, max_lon = excluded.max_lon, "
                  "max_lat = excluded.max_lat, parcels = excluded.parcels, "
                  "last_batch = excluded.last_batch, updated_at = excluded.updated_at, "
                  "data_version = excluded.data_version",
                  10, upsert, "updating the commune")) != PDB_OK)
        return st;
    snprintf(num[1], sizeof num[1], "%lld", (long long)c.read);
    snprintf(num[2], sizeof num[2], "%lld", (long long)c.stored);
    snprintf(num[3], sizeof num[3], "%lld", (long long)c.repaired);
    snprintf(num[4], sizeof num[4], "%lld", (long long)c.rejected);
    snprintf(num[5], sizeof num[5], "%lld", (long long)c.flagged);
    const char *file[] = {w->batch_text, w->base.commune, w->file, w->checksum, srid,  num[1],
                          num[2],        num[3],          num[4],  num[5],      w->now};
    if ((st = run(ctx, w,
                  "INSERT INTO parceldb.import_files (batch_id, commune, file, checksum, "
                  "source_srid, read, stored, repaired, rejected, flagged, committed_at) "
                  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                  11, file, "recording the imported file")) != PDB_OK)
        return st;
    /* The overviews follow the parcels at the next rebuild; until then the
     * commune's low zooms are drawn from its parcels (overview.c). A new
     * import is a new chance for a commune whose rebuild failed. */
    const char *stale[] = {w->base.commune, w->now};
    if ((st = run(ctx, w,
                  "INSERT INTO parceldb.overviews_stale (commune, since) VALUES ($1, $2) "
                  "ON CONFLICT (commune) DO NOTHING",
                  2, stale, "marking the commune's overviews stale")) != PDB_OK ||
        (st = run(ctx, w, "DELETE FROM parceldb.overview_problems WHERE commune = $1", 1, commune1,
                  "clearing the commune's overview problem")) != PDB_OK)
        return st;
    /* The commune's point-lookup index, in this transaction, as writer.c
     * stores it: replicas load it instead of reading every parcel. */
    if ((st = pdb__pg_lookup_store_commune(ctx, w->base.store, w->base.commune, w->batch_id)) !=
        PDB_OK)
        return st;
    /* The search index: superseded parcels leave it, new ones enter. */
    if ((st = pdb__pg_search_commune(ctx, w->base.store, w->base.commune)) != PDB_OK)
        return st;
    if ((st = pdb__pg_query(ctx, pg,
                            "UPDATE parceldb.meta SET value = (value::bigint + 1)::text "
                            "WHERE key = 'data_version' RETURNING value",
                            0, NULL, "bumping the data version", &res)) != PDB_OK)
        return st;
    char note[64];
    snprintf(note, sizeof note, "%s %s", w->base.commune, PQgetvalue(res, 0, 0));
    PQclear(res);
    /* Replicas LISTEN on this channel: the notification is delivered at
     * the COMMIT, and only if it commits. */
    const char *notify[] = {note};
    if ((st = run(ctx, w, "SELECT pg_notify('parceldb', $1)", 1, notify,
                  "announcing the new data version")) != PDB_OK)
        return st;
    if ((st = pdb__pg_exec(ctx, pg, "COMMIT", "committing the commune")) != PDB_OK)
        return st;
    w->in_transaction = 0;
    w->base.store->writing = 0;
    pg->load = NULL;
    if (counts != NULL) {
        counts->flagged = c.flagged;
        counts->wgs84_repaired = w->wgs84_repaired;
    }
    return pdb__ok(ctx);
}

void pdb__pg_writer_free(pdb_writer *pw)
{
    pg_writer *w = (pg_writer *)pw;
    if (w == NULL)
        return;
    if (w->in_transaction) {
        /* An open COPY is abandoned (the server discards the rows sent
         * so far); copy_end reports nothing when given a reason. */
        copy_end(NULL, w, "the commune's load was abandoned");
        PQclear(PQexec(w->base.store->pg->conn, "ROLLBACK"));
        w->base.store->writing = 0;
        w->base.store->pg->load = NULL;
    }
    free(w->row);
    free(w->name);
    free(w->file);
    free(w->checksum);
    free(w);
}
