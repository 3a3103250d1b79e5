/*
 * pg_query.c: the PostgreSQL store's reads: parcels at a point, by number,
 * in a box, by id, a parcel's history, and the features the renderer
 * draws. Each answers what its SQLite twin in query.c answers for the same
 * imports: the same checks and messages, the same rows in the same order,
 * the same fields to the bit. PostGIS's GiST index (&&) gives candidates;
 * the exact tests are the SQLite store's own (wkb.c), run here on the
 * geometry read back as WKB, because PostGIS's predicates differ from
 * them on edges (ST_Intersects lists both parcels of a shared edge, the
 * SQLite store one) and its boxes are rounded otherwise than SQLite's.
 */
#include "page.h"
#include "pg_lookup.h"
#include "pg_read.h"
#include "read_args.h"
#include "store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* PostgreSQL's type oids (pg_type.h is not part of libpq's headers). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT4 23
#define OID_TEXT 25
#define OID_FLOAT8 701

/* ------------------------------------------------------------------------ */
/* Statements and binary columns                                             */
/* ------------------------------------------------------------------------ */

static void put_be(unsigned char *b, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
}

static uint64_t get_be(const unsigned char *b, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | b[i];
    return v;
}

static void param_binary(pdb__pg_params *p, Oid type, uint64_t v, int bytes)
{
    int i = p->n++;
    put_be(p->num[i], v, bytes);
    p->types[i] = type;
    p->values[i] = (const char *)p->num[i];
    p->lengths[i] = bytes;
    p->formats[i] = 1;
}

void pdb__pg_param_f8(pdb__pg_params *p, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    param_binary(p, OID_FLOAT8, bits, 8);
}

void pdb__pg_param_i4(pdb__pg_params *p, int32_t v)
{
    param_binary(p, OID_INT4, (uint32_t)v, 4);
}

void pdb__pg_param_i8(pdb__pg_params *p, int64_t v)
{
    param_binary(p, OID_INT8, (uint64_t)v, 8);
}

void pdb__pg_param_bool(pdb__pg_params *p, int v)
{
    param_binary(p, OID_BOOL, v != 0, 1);
}

void pdb__pg_param_text(pdb__pg_params *p, const char *v)
{
    int i = p->n++;
    p->types[i] = OID_TEXT;
    p->values[i] = v;
    p->lengths[i] = 0;
    p->formats[i] = 0;
}

void pdb__pg_param_bytes(pdb__pg_params *p, const unsigned char *v, size_t len)
{
    int i = p->n++;
    p->types[i] = OID_BYTEA;
    p->values[i] = (const char *)v;
    p->lengths[i] = (int)len;
    p->formats[i] = 1;
}

/* sql with every PG_NATIONAL_COLUMNS made PG_NATIONAL_NULLS (malloc'd), or
 * NULL when out of memory. */
static char *without_national(const char *sql)
{
    static const char cols[] = PG_NATIONAL_COLUMNS, nulls[] = PG_NATIONAL_NULLS;
    _Static_assert(sizeof nulls <= sizeof cols, "the swap never grows the text");
    char *out = malloc(strlen(sql) + 1), *o = out;
    for (const char *at; out != NULL && (at = strstr(sql, cols)) != NULL;
         sql = at + sizeof cols - 1) {
        memcpy(o, sql, (size_t)(at - sql));
        o += at - sql;
        memcpy(o, nulls, sizeof nulls - 1);
        o += sizeof nulls - 1;
    }
    if (out != NULL)
        strcpy(o, sql);
    return out;
}

pdb_status pdb__pg_run(pdb_ctx *ctx, pdb__pg *pg, const char *sql, const pdb__pg_params *p,
                       const char *what, PGresult **out)
{
    static const pdb__pg_params none;
    if (p == NULL)
        p = &none;
    *out = NULL;
    /* A load's COPY holds the connection until its commit. */
    if (PQtransactionStatus(pg->conn) == PQTRANS_ACTIVE)
        return pdb__fail(ctx, PDB_EBUSY, "a commune's load is open on this store handle");
    char *swapped = NULL;
    if (pg->no_national && strstr(sql, PG_NATIONAL_COLUMNS) != NULL) {
        if ((swapped = without_national(sql)) == NULL)
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        sql = swapped;
    }
    PGresult *res =
        PQexecParams(pg->conn, sql, p->n, p->types, p->values, p->lengths, p->formats, 1);
    free(swapped);
    ExecStatusType rs = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK)
        return pdb__pg_fail(ctx, pg, res, what);
    *out = res;
    return PDB_OK;
}

int64_t pdb__pg_i8(const PGresult *res, int row, int col)
{
    return (int64_t)get_be((const unsigned char *)PQgetvalue(res, row, col), 8);
}

int32_t pdb__pg_i4(const PGresult *res, int row, int col)
{
    return (int32_t)(uint32_t)get_be((const unsigned char *)PQgetvalue(res, row, col), 4);
}

double pdb__pg_f8(const PGresult *res, int row, int col)
{
    uint64_t bits = get_be((const unsigned char *)PQgetvalue(res, row, col), 8);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* libpq ends every value with a NUL byte, binary ones too: a text column
 * in binary format is its UTF-8 bytes, ready to use. */
const char *pdb__pg_text(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

pdb_limits pdb__pg_lift_limits(pdb_ctx *ctx)
{
    return pdb__limits_lift(ctx);
}

pdb_status pdb__pg_parse_stored(pdb_ctx *ctx, const PGresult *res, int row, int col,
                                pdb__mpoly *out)
{
    return pdb__wkb_parse_stored(ctx, (const unsigned char *)PQgetvalue(res, row, col),
                                 (size_t)PQgetlength(res, row, col), out);
}

/* ------------------------------------------------------------------------ */
/* SQLite's R-tree box, and the feature stream                               */
/* ------------------------------------------------------------------------ */

/* sqlite3's rtree.c (rtreeValueDown/rtreeValueUp): a double that is not a
 * float is moved one step of 2^-23 of itself outwards and rounded again,
 * which is not always the nearest float below (or above). */
#define RND_TOWARDS (1.0 - 1.0 / 8388608.0)
#define RND_AWAY (1.0 + 1.0 / 8388608.0)

static double rtree_down(double d)
{
    float f = (float)d;
    if (f > d)
        f = (float)(d * (d < 0 ? RND_AWAY : RND_TOWARDS));
    return f;
}

static double rtree_up(double d)
{
    float f = (float)d;
    if (f < d)
        f = (float)(d * (d < 0 ? RND_TOWARDS : RND_AWAY));
    return f;
}

int pdb__pg_rtree_hit(const double mbr[4], const double q[4])
{
    return rtree_down(mbr[0]) <= q[2] && rtree_up(mbr[2]) >= q[0] && rtree_down(mbr[1]) <= q[3] &&
           rtree_up(mbr[3]) >= q[1];
}

pdb_status pdb__pg_features_emit(pdb_ctx *ctx, const PGresult *res, const double box[4], int survey,
                                 pdb_feature_fn fn, void *arg)
{
    int rows = PQntuples(res);
    for (int i = 0; i < rows; i++) {
        pdb__mpoly mp;
        double mbr[4];
        pdb_status st = pdb__wkb_parse(ctx, (const unsigned char *)PQgetvalue(res, i, 7),
                                       (size_t)PQgetlength(res, i, 7), &mp);
        if (st != PDB_OK)
            return st;
        int test = pdb__pg_i4(res, i, 8);
        if (test != 0) {
            pdb__mpoly_bbox(&mp, mbr);
            int hit = test == 2 ? pdb__pg_rtree_hit(mbr, box)
                                : !(mbr[2] < box[0] || mbr[0] > box[2] || mbr[3] < box[1] ||
                                    mbr[1] > box[3]);
            if (!hit) {
                pdb__mpoly_free(&mp);
                continue; /* the SQLite store never reads this row */
            }
        }
        /* A parcel of the asked zone: its survey geometry replaces the
         * WGS 84 one, which chose the row (as the SQLite store's R-tree). */
        int srid = 0;
        if (survey && !PQgetisnull(res, i, 9)) {
            pdb__mpoly_free(&mp);
            if ((st = pdb__pg_parse_stored(ctx, res, i, 9, &mp)) != PDB_OK)
                return st;
            srid = pdb__pg_i4(res, i, 10);
        }
        pdb_feature f = {
            .id = pdb__pg_i8(res, i, 0),
            .commune = pdb__pg_text(res, i, 1),
            .sheet = pdb__pg_text(res, i, 2),
            .parcel = pdb__pg_text(res, i, 3),
            .landuse = pdb__pg_text(res, i, 4),
            .landuse_main = pdb__pg_text(res, i, 5),
            .area_m2 = pdb__pg_f8(res, i, 6),
            .nparts = mp.nparts,
            .part_ring = mp.part_ring,
            .nrings = mp.nrings,
            .ring_point = mp.ring_point,
            .npoints = mp.npoints,
            .xy = mp.xy,
            .survey_srid = srid,
        };
        int stop = fn(arg, &f);
        pdb__mpoly_free(&mp);
        if (stop)
            break;
    }
    return PDB_OK;
}

/* ------------------------------------------------------------------------ */
/* Parcels                                                                   */
/* ------------------------------------------------------------------------ */

/* Where PG_PARCEL_COLUMNS (pg_read.h) has the two geometries. */
#define PG_COL_SOURCE 15
#define PG_COL_GEOM 16
/* Asks for the WGS 84 geometry for a filter, not for the caller. */
#define READ_GEOM_FOR_FILTER 65536u

static char *copy_text(const PGresult *res, int row, int col, int *oom)
{
    const char *t = pdb__pg_text(res, row, col);
    if (t == NULL)
        return NULL;
    char *c = strdup(t);
    if (c == NULL)
        *oom = 1;
    return c;
}

/* The current parcels of a commune ($2) with their WGS 84 geometry ($1 the
 * read flags, as every parcel read): what the lookup index packs
 * (pg_lookup.c), read by the same reader as a parcel by id, so that both
 * give the same fields. */
const char pdb__pg_commune_parcels_sql[] = "SELECT " PG_PARCEL_COLUMNS " FROM " PDB_PG_SCHEMA
                                           ".parcels p WHERE p.commune = $2 AND p.valid_to IS NULL";
const int pdb__pg_col_geom = PG_COL_GEOM;
const unsigned pdb__pg_read_geom = READ_GEOM_FOR_FILTER;

/* Fills *p from one row of PG_PARCEL_COLUMNS, as pdb__parcel_from_row
 * fills it from an SQLite row. */
pdb_status pdb__pg_parcel_from_row(pdb_ctx *ctx, const PGresult *res, int row, unsigned read_flags,
                                   pdb_parcel *p)
{
    int oom = 0;
    pdb_status st = PDB_OK;

    memset(p, 0, sizeof *p);
    p->id = pdb__pg_i8(res, row, 0);
    p->commune = copy_text(res, row, 1, &oom);
    p->former_commune = copy_text(res, row, 2, &oom);
    p->sheet = copy_text(res, row, 3, &oom);
    p->parcel = copy_text(res, row, 4, &oom);
    p->landuse = copy_text(res, row, 5, &oom);
    p->area_surveyed_m2 = PQgetisnull(res, row, 6) ? NAN : pdb__pg_f8(res, row, 6);
    p->area_computed_m2 = pdb__pg_f8(res, row, 7);
    p->address = copy_text(res, row, 8, &oom);
    if (read_flags & PDB_READ_PERSONAL)
        p->owner = copy_text(res, row, 9, &oom);
    p->source_srid = pdb__pg_i4(res, row, 10);
    p->batch_id = pdb__pg_i8(res, row, 11);
    p->valid_from = copy_text(res, row, 12, &oom);
    p->valid_to = copy_text(res, row, 13, &oom);
    p->flags = (unsigned)pdb__pg_i4(res, row, 14);
    p->prev_sheet = copy_text(res, row, PG_COL_GEOM + 1, &oom);
    p->prev_parcel = copy_text(res, row, PG_COL_GEOM + 2, &oom);
    if (read_flags & PDB_READ_PERSONAL) /* personal data, as the owner */
        p->certificate = copy_text(res, row, PG_COL_GEOM + 3, &oom);
    p->record_start = copy_text(res, row, PG_COL_GEOM + 4, &oom);
    p->record_end = copy_text(res, row, PG_COL_GEOM + 5, &oom);
    if ((read_flags & PDB_READ_SOURCE) && !PQgetisnull(res, row, PG_COL_SOURCE)) {
        size_t n = (size_t)PQgetlength(res, row, PG_COL_SOURCE);
        if (n > 0 && (p->source_wkb = malloc(n)) == NULL)
            oom = 1;
        else if (n > 0) {
            memcpy(p->source_wkb, PQgetvalue(res, row, PG_COL_SOURCE), n);
            p->source_wkb_len = n;
        }
    }
    /* Parsed and written again, as the SQLite store does from its BLOB:
     * the same writer gives the same bytes. */
    if ((read_flags & PDB_READ_WGS84) && !oom) {
        pdb__mpoly mp;
        if ((st = pdb__wkb_parse(ctx, (const unsigned char *)PQgetvalue(res, row, PG_COL_GEOM),
                                 (size_t)PQgetlength(res, row, PG_COL_GEOM), &mp)) == PDB_OK) {
            st = pdb__mpoly_to_wkb(ctx, &mp, &p->wgs84_wkb, &p->wgs84_wkb_len);
            pdb__mpoly_free(&mp);
        }
    }
    if (oom && st == PDB_OK)
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory reading a parcel");
    if (st != PDB_OK)
        pdb_parcel_clear(p);
    return st;
}

/* What a candidate row must satisfy beyond the SQL (as in query.c). */
typedef enum filter_kind { FILTER_NONE, FILTER_POINT, FILTER_BOX } filter_kind;

typedef struct filter {
    filter_kind kind; /* which test */
    double box[4];    /* the point (box[0], box[1]) or the box */
} filter;

/* The SQLite store's exact test on a row's WGS 84 geometry: the same
 * function on the same coordinates, through the BLOB it reads. */
static pdb_status filter_row(pdb_ctx *ctx, const PGresult *res, int row, const filter *f, int *hit)
{
    pdb__mpoly mp;
    unsigned char *blob = NULL;
    size_t len = 0;
    pdb_status st;

    *hit = 1;
    if (f->kind == FILTER_NONE)
        return PDB_OK;
    if ((st = pdb__pg_parse_stored(ctx, res, row, PG_COL_GEOM, &mp)) != PDB_OK)
        return st;
    st = pdb__mpoly_to_blob(ctx, &mp, PDB_EPSG_WGS84, &blob, &len);
    pdb__mpoly_free(&mp);
    if (st == PDB_OK)
        st = f->kind == FILTER_POINT ? pdb__blob_contains(ctx, blob, len, f->box[0], f->box[1], hit)
                                     : pdb__blob_intersects_box(ctx, blob, len, f->box, hit);
    free(blob);
    return st;
}

/* Where collect() is in its answer, across the chunks of one read. */
typedef struct collecting {
    pdb_parcel_list *list; /* the answer so far */
    size_t cap;            /* its allocated items */
    size_t skipped;        /* matches skipped for the offset */
    int full;              /* limit reached: the answer is complete */
} collecting;

/* Adds the rows of res that pass the filter: skips `offset` matches, keeps
 * at most `limit` (then sets truncated and full), as query.c's collect. */
static pdb_status collect(pdb_ctx *ctx, const PGresult *res, const filter *f, size_t limit,
                          size_t offset, unsigned read_flags, collecting *c)
{
    pdb_status st;
    int rows = PQntuples(res);

    for (int i = 0; i < rows && !c->full; i++) {
        int hit;
        if ((st = filter_row(ctx, res, i, f, &hit)) != PDB_OK)
            return st;
        if (!hit)
            continue;
        if (c->skipped < offset) {
            c->skipped++;
            continue;
        }
        if (c->list->count == limit) {
            c->list->truncated = 1;
            c->full = 1;
            break;
        }
        pdb_parcel *slot = NULL;
        if ((st = pdb__parcel_list_push(ctx, c->list, &c->cap, &slot)) != PDB_OK ||
            (st = pdb__pg_parcel_from_row(ctx, res, i, read_flags, slot)) != PDB_OK)
            return st;
        c->list->count++;
    }
    return PDB_OK;
}

/* Runs a parcel read (PG_PARCEL_COLUMNS, $1 the read flags, ordered) and
 * collects its answer into a new list. */
static pdb_status read_parcels(pdb_ctx *ctx, pdb_store *s, const char *sql, const pdb__pg_params *p,
                               const filter *f, size_t limit, unsigned read_flags,
                               pdb_parcel_list **out)
{
    PGresult *res = NULL;
    collecting c = {0};
    pdb_status st;

    *out = NULL;
    if ((c.list = calloc(1, sizeof *c.list)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory collecting parcels");
    if ((st = pdb__pg_run(ctx, s->pg, sql, p, "reading parcels", &res)) == PDB_OK)
        st = collect(ctx, res, f, limit, 0, read_flags, &c);
    PQclear(res);
    if (st != PDB_OK) {
        pdb_parcel_list_free(c.list);
        return st;
    }
    *out = c.list;
    return pdb__ok(ctx);
}

/* Candidates whose PostGIS box holds the point; pdb__blob_contains then
 * decides, as the SQLite store's lookup index does, so that a point on a
 * shared edge falls in one parcel. Used by a handle with a load open,
 * whose parcels the lookup index does not hold yet (pg_lookup.c). */
static const char at_sql[] = "SELECT " PG_PARCEL_COLUMNS " FROM " PDB_PG_SCHEMA ".parcels p "
                             "WHERE p.geom && ST_SetSRID(ST_MakePoint($2, $3), 4326) "
                             "AND p.valid_to IS NULL ORDER BY p.id";

pdb_status pdb__pg_parcels_at_sql(pdb_ctx *ctx, pdb_store *s, double lon, double lat,
                                  unsigned read_flags, pdb_parcel_list **out)
{
    pdb__pg_params p = {0};
    pdb_status st;
    filter f = {FILTER_POINT, {lon, lat, lon, lat}};

    *out = NULL;
    if ((st = pdb__check_lonlat(ctx, lon, lat)) != PDB_OK)
        return st;
    pdb__pg_param_i4(&p, (int32_t)(read_flags | READ_GEOM_FOR_FILTER));
    pdb__pg_param_f8(&p, lon);
    pdb__pg_param_f8(&p, lat);
    return read_parcels(ctx, s, at_sql, &p, &f, ctx->limits.max_results, read_flags, out);
}

/* Checks a parcel number's three parts and binds them to $2..$4 after
 * the read flags. */
static pdb_status number_params(pdb_ctx *ctx, const char *commune, const char *sheet,
                                const char *parcel, unsigned read_flags, pdb__pg_params *p)
{
    pdb_status st = pdb__check_number(ctx, commune, sheet, parcel);
    if (st != PDB_OK)
        return st;
    pdb__pg_param_i4(p, (int32_t)read_flags);
    pdb__pg_param_text(p, commune);
    pdb__pg_param_text(p, sheet);
    pdb__pg_param_text(p, parcel);
    return PDB_OK;
}

static const char by_number_sql[] =
    "SELECT " PG_PARCEL_COLUMNS " FROM " PDB_PG_SCHEMA ".parcels p "
    "WHERE p.commune = $2 AND p.sheet = $3 AND p.parcel = $4 "
    "AND ($5::text IS NULL OR p.former_commune = $5) AND ($6 OR p.valid_to IS NULL) "
    "ORDER BY p.id";

pdb_status pdb__pg_parcels_by_number(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                     const char *former_commune, const char *sheet,
                                     const char *parcel, unsigned read_flags, pdb_parcel_list **out)
{
    pdb__pg_params p = {0};
    pdb_status st;
    filter none = {FILTER_NONE, {0}};

    *out = NULL;
    if ((st = pdb__check_former_commune(ctx, former_commune)) != PDB_OK ||
        (st = number_params(ctx, commune, sheet, parcel, read_flags, &p)) != PDB_OK)
        return st;
    pdb__pg_param_text(&p, former_commune);
    pdb__pg_param_bool(&p, (read_flags & PDB_READ_HISTORY) != 0);
    return read_parcels(ctx, s, by_number_sql, &p, &none, ctx->limits.max_results, read_flags, out);
}

/* Keyset chunks ($6: the last id read, $7: rows per chunk) inside one
 * snapshot: a box over the province must not arrive as one result in
 * memory when the caller wants a page of it. */
static const char in_box_sql[] =
    "SELECT " PG_PARCEL_COLUMNS " FROM " PDB_PG_SCHEMA ".parcels p "
    "WHERE p.geom && ST_MakeEnvelope($2, $3, $4, $5, 4326) AND p.valid_to IS NULL "
    "AND p.id > $6 ORDER BY p.id LIMIT $7";

/* Opens a read-only snapshot unless the connection is in a transaction
 * already, so that the chunks of one answer see one state of the store. */
static pdb_status snapshot_begin(pdb_ctx *ctx, pdb__pg *pg, int *began)
{
    pdb_status st;
    *began = 0;
    if (PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
        return PDB_OK;
    if ((st = pdb__pg_exec(ctx, pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                           "starting a read")) != PDB_OK)
        return st;
    *began = 1;
    return PDB_OK;
}

static void snapshot_end(pdb_ctx *ctx, pdb__pg *pg, int began)
{
    if (began) {
        pdb_status saved = ctx->last_status;
        char msg[sizeof ctx->msg];
        memcpy(msg, ctx->msg, sizeof msg);
        (void)pdb__pg_exec(ctx, pg, "COMMIT", "ending a read");
        ctx->last_status = saved; /* the read's own outcome stands */
        memcpy(ctx->msg, msg, sizeof msg);
    }
}

/* Runs a keyset-chunked read: sql selects PG_PARCEL_COLUMNS in id order
 * with base's parameters, then $N the last id read and $N+1 the rows per
 * chunk; chunks follow each other inside one snapshot until limit matches
 * (and one more, for truncated) are found or the rows end. */
static pdb_status read_chunked(pdb_ctx *ctx, pdb_store *s, const char *sql,
                               const pdb__pg_params *base, const filter *f, size_t limit,
                               size_t offset, int64_t after_id, unsigned read_flags,
                               pdb_parcel_list **out)
{
    collecting c = {0};
    PGresult *res = NULL;
    pdb_status st;
    int began = 0;

    *out = NULL;
    if ((c.list = calloc(1, sizeof *c.list)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory collecting parcels");
    if ((st = snapshot_begin(ctx, s->pg, &began)) != PDB_OK)
        goto done;
    /* The exact test drops few candidates (those near the box's edges):
     * a chunk of the rows wanted, one more to tell truncation and an
     * eighth for the dropped, mostly answers in one round trip. */
    size_t want = offset + limit + 1;
    want += want / 8;
    int64_t chunk = want > 4096 ? 4096 : (int64_t)want, last = after_id;
    for (;;) {
        pdb__pg_params p = *base; /* binary values point into base's storage: still valid */
        pdb__pg_param_i8(&p, last);
        pdb__pg_param_i8(&p, chunk);
        if ((st = pdb__pg_run(ctx, s->pg, sql, &p, "reading parcels", &res)) != PDB_OK ||
            (st = collect(ctx, res, f, limit, offset, read_flags, &c)) != PDB_OK)
            goto done;
        int rows = PQntuples(res);
        if (c.full || rows < chunk)
            break;
        last = pdb__pg_i8(res, rows - 1, 0);
        PQclear(res);
        res = NULL;
    }
    st = pdb__ok(ctx);
done:
    PQclear(res);
    snapshot_end(ctx, s->pg, began);
    if (st != PDB_OK) {
        pdb_parcel_list_free(c.list);
        return st;
    }
    *out = c.list;
    return st;
}

pdb_status pdb__pg_parcels_in_bbox(pdb_ctx *ctx, pdb_store *s, double min_lon, double min_lat,
                                   double max_lon, double max_lat, size_t limit, size_t offset,
                                   unsigned read_flags, pdb_parcel_list **out)
{
    filter f = {FILTER_BOX, {min_lon, min_lat, max_lon, max_lat}};
    pdb__pg_params p = {0};
    pdb_status st;

    *out = NULL;
    if ((st = pdb__check_box(ctx, min_lon, min_lat, max_lon, max_lat)) != PDB_OK)
        return st;
    if (limit == 0 || limit > ctx->limits.max_results)
        limit = ctx->limits.max_results;
    pdb__pg_param_i4(&p, (int32_t)(read_flags | READ_GEOM_FOR_FILTER));
    for (int i = 0; i < 4; i++)
        pdb__pg_param_f8(&p, f.box[i]);
    return read_chunked(ctx, s, in_box_sql, &p, &f, limit, offset, 0, read_flags, out);
}

/* pdb_parcels_page: a NULL parameter turns its clause off ($2: no box);
 * PostgreSQL plans each run with the values, so an unused clause costs
 * nothing. Times are ISO 8601 text, compared in "C" order as SQLite's
 * BINARY compares them. */
#define PAGE_SQL_WHERE                                                                             \
    "SELECT " PG_PARCEL_COLUMNS " FROM " PDB_PG_SCHEMA ".parcels p "                               \
    "WHERE ($2::float8 IS NULL OR p.geom && ST_MakeEnvelope($2, $3, $4, $5, 4326)) "               \
    "AND ($6::text IS NULL OR p.commune = $6) AND ($7::text IS NULL OR p.sheet = $7) "             \
    "AND ($8::text IS NULL OR p.parcel = $8) "                                                     \
    "AND ($9::text IS NULL OR strpos('+' || p.landuse || '+', '+' || $9 || '+') > 0) "             \
    "AND (CASE WHEN $10::text IS NULL THEN p.valid_to IS NULL ELSE "                               \
    "p.valid_from COLLATE \"C\" <= COALESCE($11::text, $10) AND (p.valid_to IS NULL OR "           \
    "p.valid_to COLLATE \"C\" > $10) "                                                             \
    "END) "
/* $10 is the instant, or the interval's start with $11 its end; $12 is the
 * key: the last id read, forwards or (the previous page) backwards. */
static const char page_sql[] = PAGE_SQL_WHERE "AND p.id > $12 ORDER BY p.id LIMIT $13";
static const char page_back_sql[] = PAGE_SQL_WHERE "AND p.id < $12 ORDER BY p.id DESC LIMIT $13";

pdb_status pdb__pg_parcels_page(pdb_ctx *ctx, pdb_store *s, const pdb_page_query *q,
                                unsigned read_flags, pdb_parcel_list **out)
{
    filter f = {q->has_bbox ? FILTER_BOX : FILTER_NONE,
                {q->bbox[0], q->bbox[1], q->bbox[2], q->bbox[3]}};
    pdb__pg_params p = {0};

    pdb__pg_param_i4(&p, (int32_t)(read_flags | (q->has_bbox ? READ_GEOM_FOR_FILTER : 0)));
    for (int i = 0; i < 4; i++) {
        pdb__pg_param_f8(&p, q->bbox[i]);
        if (!q->has_bbox)
            p.values[p.n - 1] = NULL; /* SQL NULL: no box */
    }
    pdb__pg_param_text(&p, q->commune);
    pdb__pg_param_text(&p, q->sheet);
    pdb__pg_param_text(&p, q->parcel);
    pdb__pg_param_text(&p, q->landuse);
    pdb__pg_param_text(&p, q->at);
    pdb__pg_param_text(&p, q->until);
    if (q->before_id > 0)
        return read_chunked(ctx, s, page_back_sql, &p, &f, q->limit, 0, q->before_id, read_flags,
                            out);
    return read_chunked(ctx, s, page_sql, &p, &f, q->limit, 0, q->after_id, read_flags, out);
}

/* Times are ISO 8601 text: "C" orders them as SQLite's BINARY does, which
 * the database's collation need not. */
static const char history_sql[] = "SELECT " PG_PARCEL_COLUMNS " FROM " PDB_PG_SCHEMA ".parcels p "
                                  "WHERE p.commune = $2 AND p.sheet = $3 AND p.parcel = $4 "
                                  "ORDER BY p.valid_from COLLATE \"C\", p.id";

pdb_status pdb__pg_parcel_history(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                  const char *sheet, const char *parcel, unsigned read_flags,
                                  pdb_parcel_list **out)
{
    pdb__pg_params p = {0};
    pdb_status st;
    filter none = {FILTER_NONE, {0}};

    *out = NULL;
    if ((st = number_params(ctx, commune, sheet, parcel, read_flags, &p)) != PDB_OK)
        return st;
    return read_parcels(ctx, s, history_sql, &p, &none, ctx->limits.max_results, read_flags, out);
}

static const char by_id_sql[] =
    "SELECT " PG_PARCEL_COLUMNS " FROM " PDB_PG_SCHEMA ".parcels p WHERE p.id = $2";

pdb_status pdb__pg_parcel_get(pdb_ctx *ctx, pdb_store *s, int64_t id, unsigned read_flags,
                              pdb_parcel **out)
{
    pdb__pg_params p = {0};
    pdb_parcel_list *list = NULL;
    pdb_status st;
    filter none = {FILTER_NONE, {0}};

    *out = NULL;
    pdb__pg_param_i4(&p, (int32_t)read_flags);
    pdb__pg_param_i8(&p, id);
    if ((st = read_parcels(ctx, s, by_id_sql, &p, &none, 1, read_flags, &list)) != PDB_OK)
        return st;
    return pdb__parcel_list_take_one(ctx, list, id, out);
}

/* ------------------------------------------------------------------------ */
/* Features for the renderer                                                 */
/* ------------------------------------------------------------------------ */

/* One statement, binary rows in id order as the SQLite store's; the GiST
 * box is widened, and each row then passes the very box test SQLite's
 * R-tree makes (pdb__pg_rtree_hit), so that both stores stream the same
 * parcels and a tile is the same PNG from either. */
static const char features_sql[] =
    "SELECT p.id, p.commune, p.sheet, p.parcel, p.landuse, p.landuse_main, p.area_computed_m2, "
    "ST_AsBinary(p.geom), 2 FROM " PDB_PG_SCHEMA ".parcels p "
    "WHERE p.geom && ST_MakeEnvelope($1, $2, $3, $4, 4326) AND p.valid_to IS NULL ORDER BY p.id";

/* The same rows with two more columns: the survey geometry of the parcels
 * of zone $5 (NULL for the others, so that it does not cross the network,
 * and for those repaired at import, flag 8, PDB_PARCEL_REPAIRED: their
 * survey shape is the invalid one), and the source SRID. */
_Static_assert(PDB_PARCEL_REPAIRED == 8, "features_survey_sql tests flag 8");
static const char features_survey_sql[] =
    "SELECT p.id, p.commune, p.sheet, p.parcel, p.landuse, p.landuse_main, p.area_computed_m2, "
    "ST_AsBinary(p.geom), 2, CASE WHEN p.source_srid = $5 AND (p.flags & 8) = 0 "
    "THEN ST_AsBinary(p.source_geom) END, "
    "p.source_srid FROM " PDB_PG_SCHEMA ".parcels p "
    "WHERE p.geom && ST_MakeEnvelope($1, $2, $3, $4, 4326) AND p.valid_to IS NULL ORDER BY p.id";

pdb_status pdb__pg_features_in_bbox(pdb_ctx *ctx, pdb_store *s, const double bbox[4],
                                    int survey_epsg, pdb_feature_fn fn, void *arg)
{
    pdb__pg_params p = {0};
    PGresult *res = NULL;
    pdb_status st;

    if (!(bbox[0] <= bbox[2] && bbox[1] <= bbox[3]))
        return pdb__fail(ctx, PDB_EINVAL, "bbox minimum is above its maximum");
    pdb__pg_param_f8(&p, bbox[0] - PDB__PG_RTREE_SLACK_DEG);
    pdb__pg_param_f8(&p, bbox[1] - PDB__PG_RTREE_SLACK_DEG);
    pdb__pg_param_f8(&p, bbox[2] + PDB__PG_RTREE_SLACK_DEG);
    pdb__pg_param_f8(&p, bbox[3] + PDB__PG_RTREE_SLACK_DEG);
    if (survey_epsg)
        pdb__pg_param_i4(&p, survey_epsg);
    if ((st = pdb__pg_run(ctx, s->pg, survey_epsg ? features_survey_sql : features_sql, &p,
                          "reading parcels", &res)) != PDB_OK)
        return st;
    st = pdb__pg_features_emit(ctx, res, bbox, survey_epsg != 0, fn, arg);
    PQclear(res);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}

/* ------------------------------------------------------------------------ */
/* At an instant (timetravel.c)                                              */
/* ------------------------------------------------------------------------ */

/* at_sql with the instant's clause instead of valid_to IS NULL; times are
 * compared as "C" text, as the history's order is. */
static const char at_time_sql[] = "SELECT " PG_PARCEL_COLUMNS " FROM " PDB_PG_SCHEMA ".parcels p "
                                  "WHERE p.geom && ST_SetSRID(ST_MakePoint($2, $3), 4326) "
                                  "AND p.valid_from COLLATE \"C\" <= $4 AND (p.valid_to IS NULL OR "
                                  "p.valid_to COLLATE \"C\" > $4) "
                                  "ORDER BY p.id";

pdb_status pdb__pg_parcels_at_time(pdb_ctx *ctx, pdb_store *s, double lon, double lat,
                                   const char *at, unsigned read_flags, pdb_parcel_list **out)
{
    pdb__pg_params p = {0};
    filter f = {FILTER_POINT, {lon, lat, lon, lat}};

    *out = NULL;
    pdb__pg_param_i4(&p, (int32_t)(read_flags | READ_GEOM_FOR_FILTER));
    pdb__pg_param_f8(&p, lon);
    pdb__pg_param_f8(&p, lat);
    pdb__pg_param_text(&p, at);
    return read_parcels(ctx, s, at_time_sql, &p, &f, ctx->limits.max_results, read_flags, out);
}

static const char features_at_sql[] =
    "SELECT p.id, p.commune, p.sheet, p.parcel, p.landuse, p.landuse_main, p.area_computed_m2, "
    "ST_AsBinary(p.geom), 2 FROM " PDB_PG_SCHEMA ".parcels p "
    "WHERE p.geom && ST_MakeEnvelope($1, $2, $3, $4, 4326) "
    "AND p.valid_from COLLATE \"C\" <= $5 AND (p.valid_to IS NULL OR p.valid_to COLLATE \"C\" > "
    "$5) "
    "ORDER BY p.id";

pdb_status pdb__pg_features_at(pdb_ctx *ctx, pdb_store *s, const double bbox[4], const char *at,
                               pdb_feature_fn fn, void *arg)
{
    pdb__pg_params p = {0};
    PGresult *res = NULL;
    pdb_status st;

    pdb__pg_param_f8(&p, bbox[0] - PDB__PG_RTREE_SLACK_DEG);
    pdb__pg_param_f8(&p, bbox[1] - PDB__PG_RTREE_SLACK_DEG);
    pdb__pg_param_f8(&p, bbox[2] + PDB__PG_RTREE_SLACK_DEG);
    pdb__pg_param_f8(&p, bbox[3] + PDB__PG_RTREE_SLACK_DEG);
    pdb__pg_param_text(&p, at);
    if ((st = pdb__pg_run(ctx, s->pg, features_at_sql, &p, "reading parcels at a date", &res)) !=
        PDB_OK)
        return st;
    st = pdb__pg_features_emit(ctx, res, bbox, 0, fn, arg);
    PQclear(res);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}
