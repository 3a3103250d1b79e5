/*
 * query.c: reading parcels back: at a point, by number, in a box, by id,
 * and a parcel's history. Lookups take R-tree candidates and test each
 * candidate's BLOB in place; only matches are turned into pdb_parcel.
 */
#include "crs.h"
#include "idlist.h"
#include "lookup.h"
#include "page.h"
#include "read_args.h"
#include "store.h"
#include "wkb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pdb_parcel_clear(pdb_parcel *p)
{
    if (p == NULL)
        return;
    free(p->commune);
    free(p->former_commune);
    free(p->sheet);
    free(p->parcel);
    free(p->landuse);
    free(p->address);
    free(p->owner);
    free(p->valid_from);
    free(p->valid_to);
    free(p->source_wkb);
    free(p->wgs84_wkb);
    free(p->prev_sheet);
    free(p->prev_parcel);
    free(p->certificate);
    free(p->record_start);
    free(p->record_end);
    memset(p, 0, sizeof *p);
}

void pdb_parcel_free(pdb_parcel *p)
{
    pdb_parcel_clear(p);
    free(p);
}

void pdb_parcel_list_free(pdb_parcel_list *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++)
        pdb_parcel_clear(&list->items[i]);
    free(list->items);
    free(list);
}

static char *col_text(sqlite3_stmt *stmt, int col, int *oom)
{
    const char *t = (const char *)sqlite3_column_text(stmt, col);
    if (t == NULL)
        return NULL;
    char *copy = strdup(t);
    if (copy == NULL)
        *oom = 1;
    return copy;
}

static unsigned char *col_blob(sqlite3_stmt *stmt, int col, size_t *len, int *oom)
{
    const void *b = sqlite3_column_blob(stmt, col);
    int n = sqlite3_column_bytes(stmt, col);
    *len = 0;
    if (b == NULL || n <= 0)
        return NULL;
    unsigned char *copy = malloc((size_t)n);
    if (copy == NULL) {
        *oom = 1;
        return NULL;
    }
    memcpy(copy, b, (size_t)n);
    *len = (size_t)n;
    return copy;
}

pdb_status pdb__parcel_from_row(pdb_ctx *ctx, sqlite3_stmt *stmt, unsigned read_flags,
                                pdb_parcel *p)
{
    int oom = 0;

    memset(p, 0, sizeof *p);
    p->id = sqlite3_column_int64(stmt, 0);
    p->commune = col_text(stmt, 1, &oom);
    p->former_commune = col_text(stmt, 2, &oom);
    p->sheet = col_text(stmt, 3, &oom);
    p->parcel = col_text(stmt, 4, &oom);
    p->landuse = col_text(stmt, 5, &oom);
    p->area_surveyed_m2 =
        sqlite3_column_type(stmt, 6) == SQLITE_NULL ? NAN : sqlite3_column_double(stmt, 6);
    p->area_computed_m2 = sqlite3_column_double(stmt, 7);
    p->address = col_text(stmt, 8, &oom);
    if (read_flags & PDB_READ_PERSONAL)
        p->owner = col_text(stmt, 9, &oom);
    p->source_srid = sqlite3_column_int(stmt, 10);
    p->batch_id = sqlite3_column_int64(stmt, 11);
    p->valid_from = col_text(stmt, 12, &oom);
    p->valid_to = col_text(stmt, 13, &oom);
    p->flags = (unsigned)sqlite3_column_int(stmt, 14);
    if (read_flags & PDB_READ_SOURCE)
        p->source_wkb = col_blob(stmt, 15, &p->source_wkb_len, &oom);
    p->prev_sheet = col_text(stmt, PDB_COL_NATIONAL, &oom);
    p->prev_parcel = col_text(stmt, PDB_COL_NATIONAL + 1, &oom);
    if (read_flags & PDB_READ_PERSONAL) /* personal data, as the owner */
        p->certificate = col_text(stmt, PDB_COL_NATIONAL + 2, &oom);
    p->record_start = col_text(stmt, PDB_COL_NATIONAL + 3, &oom);
    p->record_end = col_text(stmt, PDB_COL_NATIONAL + 4, &oom);
    /* The WGS 84 blob only when asked for: it is the row's last column,
     * often on overflow pages that SQLite reads only when it is fetched
     * (parceldb qa reads the survey geometry alone). */
    const void *blob = NULL;
    size_t len = 0;
    if (read_flags & PDB_READ_WGS84) {
        blob = sqlite3_column_blob(stmt, PDB_COL_GEOM);
        len = (size_t)sqlite3_column_bytes(stmt, PDB_COL_GEOM);
    }
    return pdb__parcel_read_end(ctx, p, read_flags, blob, len, oom);
}

pdb_status pdb__parcel_read_end(pdb_ctx *ctx, pdb_parcel *p, unsigned read_flags, const void *blob,
                                size_t len, int oom)
{
    pdb_status st = PDB_OK;

    if ((read_flags & PDB_READ_WGS84) && !oom) {
        pdb__mpoly mp;
        if ((st = pdb__blob_parse(ctx, blob, len, &mp)) == PDB_OK) {
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

/* What a candidate row must satisfy beyond the SQL, if anything. */
typedef enum filter_kind { FILTER_NONE, FILTER_POINT, FILTER_BOX } filter_kind;

typedef struct filter {
    filter_kind kind; /* which test */
    double box[4];    /* the point (box[0], box[1]) or the box */
} filter;

/* Steps a bound statement selecting PDB_PARCEL_COLUMNS into a new list:
 * skips `offset` matches, keeps at most `limit` (then sets truncated). */
static pdb_status collect(pdb_ctx *ctx, pdb_store *s, sqlite3_stmt *stmt, const filter *f,
                          size_t limit, size_t offset, unsigned read_flags, pdb_parcel_list **out)
{
    pdb_parcel_list *list = calloc(1, sizeof *list);
    size_t cap = 0, skipped = 0;
    pdb_status st = PDB_OK;
    int rc;

    *out = NULL;
    if (list == NULL) {
        sqlite3_reset(stmt);
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory collecting parcels");
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (f->kind != FILTER_NONE) {
            const unsigned char *blob = sqlite3_column_blob(stmt, PDB_COL_GEOM);
            size_t n = (size_t)sqlite3_column_bytes(stmt, PDB_COL_GEOM);
            int hit = 0;
            st = f->kind == FILTER_POINT
                     ? pdb__blob_contains(ctx, blob, n, f->box[0], f->box[1], &hit)
                     : pdb__blob_intersects_box(ctx, blob, n, f->box, &hit);
            if (st != PDB_OK)
                goto done;
            if (!hit)
                continue;
        }
        if (skipped < offset) {
            skipped++;
            continue;
        }
        if (list->count == limit) {
            list->truncated = 1;
            break;
        }
        pdb_parcel *slot = NULL;
        if ((st = pdb__parcel_list_push(ctx, list, &cap, &slot)) != PDB_OK ||
            (st = pdb__parcel_from_row(ctx, stmt, read_flags, slot)) != PDB_OK)
            goto done;
        list->count++;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        st = pdb__sql_fail(ctx, s->db, rc, "reading parcels");
done:
    sqlite3_reset(stmt);
    if (st != PDB_OK) {
        pdb_parcel_list_free(list);
        return st;
    }
    *out = list;
    return pdb__ok(ctx);
}

pdb_status pdb__parcels_at_sql(pdb_ctx *ctx, pdb_store *s, double lon, double lat,
                               unsigned read_flags, pdb_parcel_list **out)
{
    sqlite3_stmt *stmt;
    pdb_status st;
    filter f = {FILTER_POINT, {lon, lat, lon, lat}};

    *out = NULL;
    if ((st = pdb__check_lonlat(ctx, lon, lat)) != PDB_OK)
        return st;
    if ((st = pdb__store_stmt(ctx, s, STMT_PARCELS_AT, &stmt)) != PDB_OK)
        return st;
    sqlite3_bind_double(stmt, 1, lon);
    sqlite3_bind_double(stmt, 2, lat);
    return collect(ctx, s, stmt, &f, ctx->limits.max_results, 0, read_flags, out);
}

/* Checks a parcel number's three parts and binds them to ?1..?3 of a
 * cached statement, for the by-number and history queries. The commune
 * must be one of the province's: the store holds no other (a load checks
 * it), so any other code is malformed, not merely absent. */
static pdb_status number_stmt(pdb_ctx *ctx, pdb_store *s, store_stmt id, const char *commune,
                              const char *sheet, const char *parcel, sqlite3_stmt **out)
{
    pdb_status st;

    if ((st = pdb__check_number(ctx, commune, sheet, parcel)) != PDB_OK ||
        (st = pdb__store_stmt(ctx, s, id, out)) != PDB_OK)
        return st;
    sqlite3_bind_text(*out, 1, commune, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(*out, 2, sheet, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(*out, 3, parcel, -1, SQLITE_TRANSIENT);
    return PDB_OK;
}

pdb_status pdb__sq_parcels_by_number(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                     const char *former_commune, const char *sheet,
                                     const char *parcel, unsigned read_flags, pdb_parcel_list **out)
{
    sqlite3_stmt *stmt;
    pdb_status st;
    filter none = {FILTER_NONE, {0}};

    *out = NULL;
    if ((st = pdb__check_former_commune(ctx, former_commune)) != PDB_OK)
        return st;
    if ((st = number_stmt(ctx, s, STMT_PARCELS_BY_NUMBER, commune, sheet, parcel, &stmt)) != PDB_OK)
        return st;
    if (former_commune != NULL)
        sqlite3_bind_text(stmt, 4, former_commune, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(stmt, 5, (read_flags & PDB_READ_HISTORY) != 0);
    return collect(ctx, s, stmt, &none, ctx->limits.max_results, 0, read_flags, out);
}

pdb_status pdb__sq_parcels_in_bbox(pdb_ctx *ctx, pdb_store *s, double min_lon, double min_lat,
                                   double max_lon, double max_lat, size_t limit, size_t offset,
                                   unsigned read_flags, pdb_parcel_list **out)
{
    sqlite3_stmt *stmt;
    pdb_status st;
    filter f = {FILTER_BOX, {min_lon, min_lat, max_lon, max_lat}};

    *out = NULL;
    if ((st = pdb__check_box(ctx, min_lon, min_lat, max_lon, max_lat)) != PDB_OK)
        return st;
    if (limit == 0 || limit > ctx->limits.max_results)
        limit = ctx->limits.max_results;
    if ((st = pdb__store_stmt(ctx, s, STMT_PARCELS_IN_BOX, &stmt)) != PDB_OK)
        return st;
    for (int i = 0; i < 4; i++)
        sqlite3_bind_double(stmt, i + 1, f.box[i]);
    return collect(ctx, s, stmt, &f, limit, offset, read_flags, out);
}

/* pdb_parcels_page: the SQL holds only the clauses the query uses, so that
 * SQLite drives the read from the R-tree's candidates when there is a box,
 * from the rowid range above the key otherwise; numbered parameters keep
 * their numbers whichever clauses are present. The exact box test is
 * collect()'s, as for pdb_parcels_in_bbox, and collect() stops at the
 * first match past the limit (truncated: there is a next page). */
pdb_status pdb__sq_parcels_page(pdb_ctx *ctx, pdb_store *s, const pdb_page_query *q,
                                unsigned read_flags, pdb_parcel_list **out)
{
    char sql[1024];
    size_t n = 0;
    sqlite3_stmt *stmt = NULL;
    pdb_status st;
    filter f = {q->has_bbox ? FILTER_BOX : FILTER_NONE,
                {q->bbox[0], q->bbox[1], q->bbox[2], q->bbox[3]}};
    const char *text[] = {q->commune, q->sheet, q->parcel, q->landuse, q->at};
    /* A whole commune: its rows lie in one id range (each import writes a
     * commune in one transaction), whose ends the number index gives
     * (two scans of the commune's index entries, no table reads), then
     * read by rowid from the key: each page costs the same, about half of
     * what the index alone costs on a first page (it reads every current
     * row of the commune and sorts them: 5.6 against 2.6 ms of CPU for a
     * 10,050-parcel commune, sqlite3 under perf stat). With a sheet or
     * parcel number the index finds few rows. */
    int by_range = q->commune != NULL && q->sheet == NULL && q->parcel == NULL;
    static const char *const clause[] = {
        " AND p.commune = ?6", " AND p.sheet = ?7", " AND p.parcel = ?8",
        /* any code of a compound use: "+ONT+CLN+" holds "+CLN+" */
        " AND instr('+' || p.landuse || '+', '+' || ?9 || '+') > 0",
        " AND p.valid_from <= ?10 AND (p.valid_to IS NULL OR p.valid_to > ?10)"};
    /* An interval [?10, ?12]: the parcels valid at any instant of it. */
    static const char interval_clause[] =
        " AND p.valid_from <= ?12 AND (p.valid_to IS NULL OR p.valid_to > ?10)";

    *out = NULL;
    /* One lower and one upper bound on the rowid: given two (the page's
     * key and the commune's range), SQLite seeks on one and filters on the
     * other, and a page after key 0 then read every row of the communes
     * stored before this one (parceldb qa over a province went quadratic). */
    if (by_range)
        n += (size_t)snprintf(
            sql + n, sizeof sql - n,
            "SELECT " PDB_PARCEL_COLUMNS " FROM parcels p WHERE p.id > max(?1, (SELECT min(id) "
            "FROM parcels WHERE commune = ?6) - 1) AND p.id < %s(SELECT max(id) FROM parcels "
            "WHERE commune = ?6) + 1%s AND +p.commune = ?6",
            q->before_id > 0 ? "min(?11, " : "", q->before_id > 0 ? ")" : "");
    else
        n += (size_t)snprintf(sql + n, sizeof sql - n,
                              "SELECT " PDB_PARCEL_COLUMNS " FROM parcels p WHERE p.id > ?1%s",
                              q->before_id > 0 ? " AND p.id < ?11" : "");
    if (q->has_bbox)
        n += (size_t)snprintf(sql + n, sizeof sql - n,
                              " AND p.id IN (SELECT pkid FROM idx_parcels_geom WHERE xmin <= ?4 "
                              "AND xmax >= ?2 AND ymin <= ?5 AND ymax >= ?3)");
    for (size_t i = by_range ? 1 : 0; i < sizeof text / sizeof text[0]; i++)
        if (text[i] != NULL)
            n += (size_t)snprintf(sql + n, sizeof sql - n, "%s",
                                  i == 4 && q->until != NULL ? interval_clause : clause[i]);
    if (q->at == NULL)
        n += (size_t)snprintf(sql + n, sizeof sql - n, " AND p.valid_to IS NULL");
    snprintf(sql + n, sizeof sql - n, " ORDER BY p.id%s", q->before_id > 0 ? " DESC" : "");

    int rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(ctx, s->db, rc, "preparing a page of parcels");
    sqlite3_bind_int64(stmt, 1, q->after_id);
    sqlite3_bind_int64(stmt, 11, q->before_id);
    if (q->has_bbox)
        for (int i = 0; i < 4; i++)
            sqlite3_bind_double(stmt, i + 2, q->bbox[i]);
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
        if (text[i] != NULL)
            sqlite3_bind_text(stmt, (int)i + 6, text[i], -1, SQLITE_STATIC);
    if (q->until != NULL)
        sqlite3_bind_text(stmt, 12, q->until, -1, SQLITE_STATIC);
    st = collect(ctx, s, stmt, &f, q->limit, 0, read_flags, out);
    sqlite3_finalize(stmt);
    return st;
}

pdb_status pdb__sq_parcel_history(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                  const char *sheet, const char *parcel, unsigned read_flags,
                                  pdb_parcel_list **out)
{
    sqlite3_stmt *stmt;
    pdb_status st;
    filter none = {FILTER_NONE, {0}};

    *out = NULL;
    if ((st = number_stmt(ctx, s, STMT_PARCEL_HISTORY, commune, sheet, parcel, &stmt)) != PDB_OK)
        return st;
    return collect(ctx, s, stmt, &none, ctx->limits.max_results, 0, read_flags, out);
}

pdb_status pdb__sq_parcel_get(pdb_ctx *ctx, pdb_store *s, int64_t id, unsigned read_flags,
                              pdb_parcel **out)
{
    sqlite3_stmt *stmt;
    pdb_parcel_list *list = NULL;
    pdb_status st;
    filter none = {FILTER_NONE, {0}};

    *out = NULL;
    if ((st = pdb__store_stmt(ctx, s, STMT_PARCEL_BY_ID, &stmt)) != PDB_OK)
        return st;
    sqlite3_bind_int64(stmt, 1, id);
    if ((st = collect(ctx, s, stmt, &none, 1, 0, read_flags, &list)) != PDB_OK)
        return st;
    return pdb__parcel_list_take_one(ctx, list, id, out);
}

pdb_status pdb__features_emit(pdb_ctx *ctx, pdb_store *s, sqlite3_stmt *stmt, const double box[4],
                              pdb_feature_fn fn, void *arg, const char *what)
{
    pdb_status st = PDB_OK;
    int rc, boxed = sqlite3_column_count(stmt) > 8, survey = sqlite3_column_count(stmt) > 10;
    /* One set of arrays for every row's geometry (a tile's few hundred
     * parcels made three allocations and frees each). */
    pdb__mpoly_builder b = {0};

    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        pdb__mpoly mp;
        double mbr[4];
        const unsigned char *blob = sqlite3_column_blob(stmt, 7);
        size_t n = (size_t)sqlite3_column_bytes(stmt, 7);
        if (boxed && sqlite3_column_int(stmt, 8) && pdb__blob_mbr(ctx, blob, n, mbr) == PDB_OK &&
            (mbr[2] < box[0] || mbr[0] > box[2] || mbr[3] < box[1] || mbr[1] > box[3]))
            continue; /* its box misses the query's */
        /* A parcel of the asked zone: its survey WKB, as the importer gave
         * it, replaces the WGS 84 geometry (the R-tree chose the row). */
        int srid = 0, own = 0;
        if (survey && sqlite3_column_type(stmt, 9) == SQLITE_BLOB) {
            srid = sqlite3_column_int(stmt, 10);
            own = 1; /* parsed on its own, freed after the row */
            st = pdb__wkb_parse_stored(ctx, sqlite3_column_blob(stmt, 9),
                                       (size_t)sqlite3_column_bytes(stmt, 9), &mp);
        } else {
            st = pdb__blob_parse_into(ctx, blob, n, &b);
            mp = b.mp;
        }
        if (st != PDB_OK)
            break;
        pdb_feature f = {
            .id = sqlite3_column_int64(stmt, 0),
            .commune = (const char *)sqlite3_column_text(stmt, 1),
            .sheet = (const char *)sqlite3_column_text(stmt, 2),
            .parcel = (const char *)sqlite3_column_text(stmt, 3),
            .landuse = (const char *)sqlite3_column_text(stmt, 4),
            .landuse_main = (const char *)sqlite3_column_text(stmt, 5),
            .area_m2 = sqlite3_column_double(stmt, 6),
            .nparts = mp.nparts,
            .part_ring = mp.part_ring,
            .nrings = mp.nrings,
            .ring_point = mp.ring_point,
            .npoints = mp.npoints,
            .xy = mp.xy,
            .survey_srid = srid,
        };
        int stop = fn(arg, &f);
        if (own)
            pdb__mpoly_free(&mp);
        if (stop)
            break;
    }
    pdb__mpoly_free(&b.mp);
    if (st == PDB_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        st = pdb__sql_fail(ctx, s->db, rc, what);
    return st;
}

/* The R-tree's candidates for a box, sorted ascending without repeats,
 * into *ids (caller-owned, free), *n of them. */
static pdb_status box_ids(pdb_ctx *ctx, pdb_store *s, const double bbox[4], int64_t **ids,
                          size_t *n)
{
    sqlite3_stmt *stmt;
    pdb_status st;
    size_t cap = 0;
    int rc;

    *ids = NULL;
    *n = 0;
    if ((st = pdb__store_stmt(ctx, s, STMT_BOX_IDS, &stmt)) != PDB_OK)
        return st;
    for (int i = 0; i < 4; i++)
        sqlite3_bind_double(stmt, i + 1, bbox[i]);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? 2 * cap : 512;
            int64_t *grown = realloc(*ids, ncap * sizeof **ids);
            if (grown == NULL) {
                sqlite3_reset(stmt);
                return pdb__fail(ctx, PDB_ENOMEM, "out of memory reading parcels");
            }
            *ids = grown;
            cap = ncap;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, s->db, rc, "reading parcels");
    *n = pdb__idlist_sort(*ids, *n);
    return PDB_OK;
}

/* Two statements, one snapshot: the candidates and the rows they name are
 * read in one transaction unless the caller already holds one. */
pdb_status pdb__sq_features_in_bbox(pdb_ctx *ctx, pdb_store *s, const double bbox[4],
                                    int survey_epsg, pdb_feature_fn fn, void *arg)
{
    sqlite3_stmt *stmt;
    pdb_status st;
    int64_t *ids = NULL;
    size_t n = 0;
    int began = 0;

    if (!(bbox[0] <= bbox[2] && bbox[1] <= bbox[3]))
        return pdb__fail(ctx, PDB_EINVAL, "bbox minimum is above its maximum");
    if ((st = pdb__sq_read_begin(ctx, s, &began)) != PDB_OK)
        return st;
    if ((st = box_ids(ctx, s, bbox, &ids, &n)) != PDB_OK)
        goto done;
    if ((st = pdb__store_stmt(ctx, s,
                              survey_epsg ? STMT_FEATURES_IN_BOX_SURVEY : STMT_FEATURES_IN_BOX,
                              &stmt)) != PDB_OK)
        goto done;
    pdb__idlist list = {ids, n};
    sqlite3_bind_pointer(stmt, 1, &list, PDB_IDLIST_POINTER, NULL);
    if (survey_epsg)
        sqlite3_bind_int(stmt, 2, survey_epsg);
    st = pdb__features_emit(ctx, s, stmt, bbox, fn, arg, "reading parcels");
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt); /* list lives on this stack frame */
done:
    free(ids);
    pdb__sq_read_end(ctx, s, began);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}

/* The parcels in force at an instant holding a point: STMT_PARCELS_AT's
 * R-tree candidates with the instant's clause instead of valid_to IS
 * NULL, then the same exact test (and edge rule) in collect(). Prepared
 * per call: a question about the past is rare next to current lookups. */
pdb_status pdb__sq_parcels_at_time(pdb_ctx *ctx, pdb_store *s, double lon, double lat,
                                   const char *at, unsigned read_flags, pdb_parcel_list **out)
{
    static const char sql[] =
        "SELECT " PDB_PARCEL_COLUMNS " FROM parcels p WHERE p.id IN (SELECT pkid FROM "
        "idx_parcels_geom WHERE xmin <= ?1 AND xmax >= ?1 AND ymin <= ?2 AND ymax >= ?2) "
        "AND p.valid_from <= ?3 AND (p.valid_to IS NULL OR p.valid_to > ?3) ORDER BY p.id";
    sqlite3_stmt *stmt = NULL;
    filter f = {FILTER_POINT, {lon, lat, lon, lat}};

    *out = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(ctx, s->db, rc, "preparing a lookup at a date");
    sqlite3_bind_double(stmt, 1, lon);
    sqlite3_bind_double(stmt, 2, lat);
    sqlite3_bind_text(stmt, 3, at, -1, SQLITE_STATIC);
    pdb_status st = collect(ctx, s, stmt, &f, ctx->limits.max_results, 0, read_flags, out);
    sqlite3_finalize(stmt);
    return st;
}

/* STMT_FEATURES_IN_BOX at an instant (pdb_features_in_bbox_at). */
pdb_status pdb__sq_features_at(pdb_ctx *ctx, pdb_store *s, const double bbox[4], const char *at,
                               pdb_feature_fn fn, void *arg)
{
    static const char sql[] =
        "SELECT p.id, p.commune, p.sheet, p.parcel, p.landuse, p.landuse_main, "
        "p.area_computed_m2, p.geom FROM parcels p WHERE p.id IN (SELECT pkid FROM "
        "idx_parcels_geom WHERE xmin <= ?3 AND xmax >= ?1 AND ymin <= ?4 AND ymax >= ?2) "
        "AND p.valid_from <= ?5 AND (p.valid_to IS NULL OR p.valid_to > ?5) ORDER BY p.id";
    sqlite3_stmt *stmt = NULL;

    int rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(ctx, s->db, rc, "preparing the features at a date");
    for (int i = 0; i < 4; i++)
        sqlite3_bind_double(stmt, i + 1, bbox[i]);
    sqlite3_bind_text(stmt, 5, at, -1, SQLITE_STATIC);
    pdb_status st = pdb__features_emit(ctx, s, stmt, bbox, fn, arg, "reading parcels at a date");
    sqlite3_finalize(stmt);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}
