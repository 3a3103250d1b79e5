/*
 * writer.c: one commune's load, inside one write transaction: supersede
 * its current parcels, insert the new ones with both geometries, record
 * rejects, and commit with the commune's row, the file's checksum and a new
 * data version. Until the commit nothing is visible to readers; a writer
 * freed without a commit (or a process killed at any instant) leaves the
 * store as it was before this commune.
 */
#include "writer.h"
#include "crs.h"
#include "geom.h"
#include "lineage_import.h"
#include "lookup.h"
#include "overview.h"
#include "search.h"
#include "store.h"
#include "wkb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A parcel added, as the duplicate check at commit needs it. */
typedef struct added_key {
    char *key;  /* former commune ("" for none), sheet and parcel, joined by \x1f */
    int64_t id; /* its row */
    int flags;  /* its flags as stored */
} added_key;

typedef struct sq_writer {
    struct pdb_writer base; /* the store, borrowed; holds the transaction */
    int64_t batch_id;       /* import run */
    char commune[8];        /* five-digit code of the load */
    char *name;             /* commune name for the communes row */
    char *file;             /* source path */
    char *checksum;         /* hex SHA-256 of the source */
    int source_srid;        /* EPSG of the incoming geometries */
    char now[32];           /* valid_from of new parcels, valid_to of old ones */
    sqlite3_stmt *insert;   /* INSERT INTO parcels */
    sqlite3_stmt *reject;   /* INSERT INTO rejects */
    sqlite3_stmt *rtree;    /* INSERT INTO idx_parcels_geom (see store.c's triggers) */
    double bbox[4];         /* WGS 84 box of the parcels added */
    int64_t added;          /* parcels added */
    int64_t wgs84_repaired; /* of those, repaired after reprojection (PDB_PARCEL_WGS84_REPAIRED) */
    int in_transaction;     /* BEGIN succeeded and neither COMMIT nor ROLLBACK ran */
    added_key *keys;        /* every parcel added, owned (the duplicate check) */
    size_t nkeys, capkeys;  /* used and allocated entries of keys */
    pdb__search_postings *postings; /* words of the parcels added, for the search index */
} sq_writer;

static const char insert_sql[] =
    "INSERT INTO parcels (commune, former_commune, sheet, parcel, landuse, landuse_main, "
    "area_surveyed_m2, area_computed_m2, address, owner, flags, source_srid, source_geom, "
    "batch_id, valid_from, geom, prev_sheet, prev_parcel, certificate, record_start, record_end) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
    "?19, ?20, ?21)";

static const char rtree_sql[] =
    "INSERT INTO idx_parcels_geom (pkid, xmin, xmax, ymin, ymax) VALUES (?1, ?2, ?3, ?4, ?5)";

static const char reject_sql[] =
    "INSERT INTO rejects (batch_id, commune, file, feature_index, reason, detail, attributes, "
    "geometry, stored) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

static pdb_status exec_bound(pdb_ctx *ctx, sq_writer *w, const char *sql, const char *what,
                             const char *text1)
{
    sqlite3_stmt *stmt = NULL;
    sqlite3 *db = w->base.store->db;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, text1, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, w->now, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return pdb__sql_fail(ctx, db, rc, what);
    return PDB_OK;
}

/* writer.h */
pdb_status pdb__writer_load_check(pdb_ctx *ctx, pdb_store *s, const pdb_commune_load *load,
                                  const char **name_out)
{
    const pdb_commune_ref *ref = NULL;
    pdb_status st;
    int area_epsg = 0;

    *name_out = NULL;
    if (s->readonly)
        return pdb__fail(ctx, PDB_EREADONLY, "the store was opened read-only");
    if (s->writing)
        return pdb__fail(ctx, PDB_EINVAL, "another commune's load is open on this store handle");
    if (load == NULL || load->commune == NULL || strlen(load->commune) != 5 ||
        strspn(load->commune, "0123456789") != 5)
        return pdb__fail(ctx, PDB_EINVAL, "commune code '%s' is not five digits",
                         load && load->commune ? load->commune : "");
    /* Refuse now, not at the first parcel, a load whose areas cannot be
     * measured (a geographic source in a commune of no known zone). */
    if ((st = pdb__area_crs(ctx, load->source_srid, load->commune, &area_epsg)) != PDB_OK)
        return st;
    if (pdb_commune_ref_find(ctx, load->commune, &ref) != PDB_OK)
        ref = NULL; /* a commune outside the table is stored under its code */
    *name_out = load->name ? load->name : ref ? ref->name : load->commune;
    return PDB_OK;
}

pdb_status pdb__sq_writer_begin(pdb_ctx *ctx, pdb_store *s, const pdb_commune_load *load,
                                pdb_writer **out)
{
    sq_writer *w = NULL;
    const char *name = NULL;
    pdb_status st;
    int rc;

    *out = NULL;
    if ((st = pdb__writer_load_check(ctx, s, load, &name)) != PDB_OK)
        return st;
    if ((w = calloc(1, sizeof *w)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    w->base.store = s;
    memcpy(w->base.commune, load->commune, 6);
    w->base.source_srid = load->source_srid;
    w->batch_id = load->batch_id;
    memcpy(w->commune, load->commune, 6);
    w->name = pdb__strdup(name);
    w->file = pdb__strdup(load->file ? load->file : "");
    w->checksum = pdb__strdup(load->checksum ? load->checksum : "");
    w->source_srid = load->source_srid;
    w->bbox[0] = w->bbox[1] = INFINITY;
    w->bbox[2] = w->bbox[3] = -INFINITY;
    pdb__now_iso(w->now);
    if (w->name == NULL || w->file == NULL || w->checksum == NULL) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        goto fail;
    }
    /* IMMEDIATE takes the write lock now, so that two importers queue here
     * instead of failing half-way through a commune. */
    if ((st = pdb__store_exec(ctx, s, "BEGIN IMMEDIATE")) != PDB_OK)
        goto fail;
    w->in_transaction = 1;
    s->writing = 1;
    if ((st = exec_bound(ctx, w,
                         "UPDATE parcels SET valid_to = ?2 WHERE commune = ?1 AND valid_to IS NULL",
                         "superseding the commune's parcels", w->commune)) != PDB_OK)
        goto fail;
    rc = sqlite3_prepare_v3(s->db, insert_sql, -1, SQLITE_PREPARE_PERSISTENT, &w->insert, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v3(s->db, reject_sql, -1, SQLITE_PREPARE_PERSISTENT, &w->reject, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v3(s->db, rtree_sql, -1, SQLITE_PREPARE_PERSISTENT, &w->rtree, NULL);
    if (rc != SQLITE_OK) {
        st = pdb__sql_fail(ctx, s->db, rc, "preparing the import");
        goto fail;
    }
    *out = &w->base;
    return pdb__ok(ctx);
fail:
    pdb__sq_writer_free(w ? &w->base : NULL);
    return st;
}

/* Binds text or NULL, refusing over-long values. */
static pdb_status bind_text(pdb_ctx *ctx, sqlite3_stmt *stmt, int idx, const char *text,
                            const char *field)
{
    if (text == NULL)
        return sqlite3_bind_null(stmt, idx) == SQLITE_OK ? PDB_OK
                                                         : pdb__fail(ctx, PDB_ESTORE, "bind");
    size_t len = strlen(text);
    if (len > ctx->limits.max_text_bytes)
        return pdb__fail(ctx, PDB_ELIMIT, "%s is %zu bytes, over the limit of %zu", field, len,
                         ctx->limits.max_text_bytes);
    /* Not copied: the one caller steps the statement and clears its
     * bindings before the texts (the parcel's, a local buffer) go. */
    sqlite3_bind_text(stmt, idx, text, (int)len, SQLITE_STATIC);
    return PDB_OK;
}

static int blank(const char *s)
{
    return s == NULL || s[strspn(s, " \t")] == '\0';
}

void pdb_geom_prepared_free(pdb_geom_prepared *g)
{
    if (g == NULL)
        return;
    free(g->blob);
    free(g);
}

/* writer.h */
pdb_status pdb__area_crs(pdb_ctx *ctx, int source_srid, const char *commune, int *out)
{
    pdb_crs_info info;
    const pdb_commune_ref *ref = NULL;
    pdb_status st;

    if ((st = pdb_crs_info_get(ctx, source_srid, &info)) != PDB_OK)
        return st;
    if (info.kind != PDB_CRS_GEOGRAPHIC) {
        *out = source_srid;
        return PDB_OK;
    }
    if (commune == NULL || pdb_commune_ref_find(ctx, commune, &ref) != PDB_OK)
        return pdb__fail(ctx, PDB_ECRS,
                         "commune %s has a geographic source CRS and no known TM-3 zone to "
                         "measure areas in",
                         commune ? commune : "(none)");
    *out = ref->epsg;
    return PDB_OK;
}

static pdb_status measure(pdb_ctx *ctx, int source_srid, int area_epsg, const pdb__mpoly *mp,
                          double *out)
{
    if (area_epsg == source_srid) {
        *out = pdb__mpoly_area(mp);
        return PDB_OK;
    }
    pdb__mpoly tmp = *mp;
    tmp.xy = malloc(2 * mp->npoints * sizeof(double));
    if (tmp.xy == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    memcpy(tmp.xy, mp->xy, 2 * mp->npoints * sizeof(double));
    pdb_status st = pdb__crs_transform_xy(ctx, source_srid, area_epsg, tmp.xy, mp->npoints);
    if (st == PDB_OK)
        *out = pdb__mpoly_area(&tmp);
    free(tmp.xy);
    return st;
}

pdb_status pdb_geom_prepare(pdb_ctx *ctx, int source_srid, const char *commune,
                            const unsigned char *wkb, size_t len, pdb_geom_prepared **out)
{
    pdb__mpoly mp = {0};
    pdb_geom_prepared *g = NULL;
    int area_epsg = 0;
    pdb_status st;

    *out = NULL;
    if ((st = pdb__area_crs(ctx, source_srid, commune, &area_epsg)) != PDB_OK)
        return st;
    if ((g = calloc(1, sizeof *g)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    g->source_srid = source_srid;
    /* Validated again once in WGS 84: a polygon valid in its TM-3 metres
     * (a spike, or two edges micrometres apart) can cross itself after
     * reprojection, and every later step on the served geometry (the
     * overviews' dissolve, a renderer) would then fail on it. Only the
     * WGS 84 copy is repaired; the source geometry is kept as imported. */
    if ((st = pdb__wkb_parse(ctx, wkb, len, &mp)) != PDB_OK ||
        (st = measure(ctx, source_srid, area_epsg, &mp, &g->area_m2)) != PDB_OK ||
        (st = pdb__crs_transform_xy(ctx, source_srid, PDB_EPSG_WGS84, mp.xy, mp.npoints)) != PDB_OK)
        goto done;
    if ((st = pdb__mpoly_make_valid(ctx, &mp, &g->wgs84_repaired)) != PDB_OK) {
        st = pdb__fail(ctx, st, "the geometry in WGS 84: %s", pdb_errmsg(ctx));
        goto done;
    }
    if ((st = pdb__mpoly_to_blob(ctx, &mp, PDB_EPSG_WGS84, &g->blob, &g->blob_len)) != PDB_OK)
        goto done;
    pdb__mpoly_bbox(&mp, g->bbox);
    *out = g;
    g = NULL;
    st = pdb__ok(ctx);
done:
    pdb_geom_prepared_free(g);
    pdb__mpoly_free(&mp);
    return st;
}

/* writer.h */
pdb_status pdb__writer_parcel_check(pdb_ctx *ctx, const pdb_writer *w, const pdb_parcel *p,
                                    const pdb_geom_prepared *g, char main_use[16])
{
    if (g == NULL || g->source_srid != w->source_srid)
        return pdb__fail(ctx, PDB_EINVAL, "geometry prepared for EPSG:%d in a load of EPSG:%d",
                         g ? g->source_srid : 0, w->source_srid);
    if (p->commune != NULL && strcmp(p->commune, w->commune) != 0)
        return pdb__fail(ctx, PDB_EINVAL, "parcel of commune %s in the load of commune %s",
                         p->commune, w->commune);
    if (blank(p->sheet))
        return pdb__fail(ctx, PDB_EINVAL, "parcel has no sheet number");
    if (blank(p->parcel))
        return pdb__fail(ctx, PDB_EINVAL, "parcel has no parcel number");
    /* The main use is the first of compound codes ("ONT+CLN"). */
    const char *landuse = p->landuse ? p->landuse : "";
    size_t main_len = strcspn(landuse, "+");
    if (main_len >= 16)
        main_len = 15;
    memcpy(main_use, landuse, main_len);
    main_use[main_len] = '\0';
    return PDB_OK;
}

/* Keeps a parcel's number for flag_duplicates. */
static pdb_status remember_key(pdb_ctx *ctx, sq_writer *w, const pdb_parcel *p, int64_t id,
                               int flags)
{
    if (w->nkeys == w->capkeys) {
        size_t cap = w->capkeys ? 2 * w->capkeys : 1024;
        added_key *k = realloc(w->keys, cap * sizeof *k);
        if (k == NULL)
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        w->keys = k;
        w->capkeys = cap;
    }
    added_key *k = &w->keys[w->nkeys];
    const char *former = blank(p->former_commune) ? "" : p->former_commune;
    size_t len = strlen(former) + strlen(p->sheet) + strlen(p->parcel) + 3;
    if ((k->key = malloc(len)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    snprintf(k->key, len, "%s\x1f%s\x1f%s", former, p->sheet, p->parcel);
    k->id = id;
    k->flags = flags;
    w->nkeys++;
    return PDB_OK;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(((const added_key *)a)->key, ((const added_key *)b)->key);
}

/* Duplicates are kept and flagged, never dropped: real registers repeat
 * numbers, and only the whole commune tells which ones repeat. The
 * commune's current parcels are exactly those this writer added (begin
 * closed the others), so their numbers are compared here, in memory: the
 * same check in SQL (GROUP BY over the commune, then an UPDATE ... IN)
 * was a sixth of the importer's writing thread (issue 19). Counts the
 * parcels stored with any flag into *flagged. */
static pdb_status flag_duplicates(pdb_ctx *ctx, sq_writer *w, int64_t *flagged)
{
    sqlite3 *db = w->base.store->db;
    sqlite3_stmt *stmt = NULL;
    int rc = SQLITE_OK;

    *flagged = 0;
    if (w->nkeys > 1)
        qsort(w->keys, w->nkeys, sizeof *w->keys, key_cmp);
    for (size_t i = 0, j; i < w->nkeys; i = j) {
        for (j = i + 1; j < w->nkeys && strcmp(w->keys[j].key, w->keys[i].key) == 0; j++)
            ;
        for (size_t k = i; j - i > 1 && k < j && rc == SQLITE_OK; k++) {
            if (stmt == NULL)
                rc = sqlite3_prepare_v2(db, "UPDATE parcels SET flags = flags | ?2 WHERE id = ?1",
                                        -1, &stmt, NULL);
            else
                sqlite3_reset(stmt);
            if (rc != SQLITE_OK)
                break;
            sqlite3_bind_int64(stmt, 1, w->keys[k].id);
            sqlite3_bind_int(stmt, 2, PDB_PARCEL_DUPLICATE_NUMBER);
            rc = sqlite3_step(stmt) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
            w->keys[k].flags |= PDB_PARCEL_DUPLICATE_NUMBER;
        }
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(ctx, db, rc, "flagging duplicate numbers");
    for (size_t i = 0; i < w->nkeys; i++)
        *flagged += w->keys[i].flags != 0;
    return PDB_OK;
}

pdb_status pdb__sq_writer_add_prepared(pdb_ctx *ctx, pdb_writer *pw, const pdb_parcel *p,
                                       const pdb_geom_prepared *g, int64_t *id_out)
{
    sq_writer *w = (sq_writer *)pw;
    char main_use[16];
    pdb_status st;
    sqlite3_stmt *ins = w->insert;

    if (id_out != NULL)
        *id_out = 0;
    if (!w->in_transaction)
        return pdb__fail(ctx, PDB_EINVAL, "the writer's transaction has ended");
    if ((st = pdb__writer_parcel_check(ctx, pw, p, g, main_use)) != PDB_OK)
        return st;
    const char *landuse = p->landuse ? p->landuse : "";

    sqlite3_reset(ins);
    sqlite3_clear_bindings(ins);
    if ((st = bind_text(ctx, ins, 1, w->commune, "commune")) != PDB_OK ||
        (st = bind_text(ctx, ins, 2, blank(p->former_commune) ? NULL : p->former_commune,
                        "former commune")) != PDB_OK ||
        (st = bind_text(ctx, ins, 3, p->sheet, "sheet number")) != PDB_OK ||
        (st = bind_text(ctx, ins, 4, p->parcel, "parcel number")) != PDB_OK ||
        (st = bind_text(ctx, ins, 5, landuse, "land use")) != PDB_OK ||
        (st = bind_text(ctx, ins, 6, main_use, "land use")) != PDB_OK ||
        (st = bind_text(ctx, ins, 9, p->address, "address")) != PDB_OK ||
        (st = bind_text(ctx, ins, 10, p->owner, "owner")) != PDB_OK ||
        (st = bind_text(ctx, ins, 15, w->now, "time")) != PDB_OK ||
        (st = bind_text(ctx, ins, 17, p->prev_sheet, "previous sheet")) != PDB_OK ||
        (st = bind_text(ctx, ins, 18, p->prev_parcel, "previous parcel number")) != PDB_OK ||
        (st = bind_text(ctx, ins, 19, p->certificate, "certificate")) != PDB_OK ||
        (st = bind_text(ctx, ins, 20, p->record_start, "record start")) != PDB_OK ||
        (st = bind_text(ctx, ins, 21, p->record_end, "record end")) != PDB_OK)
        goto done;
    if (isfinite(p->area_surveyed_m2))
        sqlite3_bind_double(ins, 7, p->area_surveyed_m2);
    sqlite3_bind_double(ins, 8, g->area_m2);
    sqlite3_bind_int(ins, 11,
                     (int)(p->flags | (g->wgs84_repaired ? PDB_PARCEL_WGS84_REPAIRED : 0)));
    sqlite3_bind_int(ins, 12, w->source_srid);
    sqlite3_bind_blob(ins, 13, p->source_wkb, (int)p->source_wkb_len, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 14, w->batch_id);
    sqlite3_bind_blob(ins, 16, g->blob, (int)g->blob_len, SQLITE_STATIC);
    int rc = sqlite3_step(ins);
    if (rc != SQLITE_DONE) {
        st = pdb__sql_fail(ctx, w->base.store->db, rc, "storing a parcel");
        goto done;
    }
    int64_t id = sqlite3_last_insert_rowid(w->base.store->db);
    if (id_out != NULL)
        *id_out = id;
    sqlite3_reset(w->rtree);
    sqlite3_bind_int64(w->rtree, 1, id);
    sqlite3_bind_double(w->rtree, 2, g->bbox[0]);
    sqlite3_bind_double(w->rtree, 3, g->bbox[2]);
    sqlite3_bind_double(w->rtree, 4, g->bbox[1]);
    sqlite3_bind_double(w->rtree, 5, g->bbox[3]);
    rc = sqlite3_step(w->rtree);
    sqlite3_reset(w->rtree);
    if (rc != SQLITE_DONE) {
        st = pdb__sql_fail(ctx, w->base.store->db, rc, "indexing a parcel");
        goto done;
    }
    w->bbox[0] = fmin(w->bbox[0], g->bbox[0]);
    w->bbox[1] = fmin(w->bbox[1], g->bbox[1]);
    w->bbox[2] = fmax(w->bbox[2], g->bbox[2]);
    w->bbox[3] = fmax(w->bbox[3], g->bbox[3]);
    if ((st = remember_key(
             ctx, w, p, id,
             (int)(p->flags | (g->wgs84_repaired ? PDB_PARCEL_WGS84_REPAIRED : 0)))) != PDB_OK ||
        (st = pdb__search_postings_add(ctx, &w->postings, id, p->owner, p->address, landuse)) !=
            PDB_OK)
        goto done;
    w->added++;
    w->wgs84_repaired += g->wgs84_repaired;
    st = pdb__ok(ctx);
done:
    sqlite3_reset(ins);
    sqlite3_clear_bindings(ins); /* the blobs were bound SQLITE_STATIC */
    return st;
}

pdb_status pdb__sq_writer_reject(pdb_ctx *ctx, pdb_writer *pw, const pdb_reject *r)
{
    sq_writer *w = (sq_writer *)pw;
    sqlite3_stmt *stmt = w->reject;
    pdb_status st;

    if (!w->in_transaction)
        return pdb__fail(ctx, PDB_EINVAL, "the writer's transaction has ended");
    if (r == NULL || blank(r->reason))
        return pdb__fail(ctx, PDB_EINVAL, "a reject needs a reason");
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    sqlite3_bind_int64(stmt, 1, w->batch_id);
    sqlite3_bind_text(stmt, 2, w->commune, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, r->file ? r->file : w->file, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 4, r->feature_index);
    sqlite3_bind_text(stmt, 5, r->reason, -1, SQLITE_TRANSIENT);
    /* Raw attributes are kept whole, whatever their length: they are the
     * evidence of what the survey said. */
    sqlite3_bind_text(stmt, 6, r->detail, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 7, r->attributes_json, -1, SQLITE_TRANSIENT);
    if (r->geometry_wkb != NULL && r->geometry_wkb_len > 0)
        sqlite3_bind_blob64(stmt, 8, r->geometry_wkb, r->geometry_wkb_len, SQLITE_TRANSIENT);
    sqlite3_bind_int(stmt, 9, r->stored ? 1 : 0);
    int rc = sqlite3_step(stmt);
    st = rc == SQLITE_DONE ? pdb__ok(ctx)
                           : pdb__sql_fail(ctx, w->base.store->db, rc, "storing a reject");
    sqlite3_reset(stmt);
    return st;
}

/* The version the transaction will commit: the bump comes just before the
 * COMMIT, in the same transaction, so nobody sees a stamp above meta. */
#define NEXT_DATA_VERSION_SQL                                                                      \
    "(SELECT CAST(value AS INTEGER) + 1 FROM meta WHERE key = 'data_version')"

pdb_status pdb__commune_stamp(pdb_ctx *ctx, pdb_store *s, const char *commune)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(
        s->db, "UPDATE communes SET data_version = " NEXT_DATA_VERSION_SQL " WHERE code = ?1", -1,
        &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, commune, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, s->db, rc, "stamping the commune's data version");
    return PDB_OK;
}

pdb_status pdb__sq_writer_commit(pdb_ctx *ctx, pdb_writer *pw, pdb_import_counts *counts)
{
    sq_writer *w = (sq_writer *)pw;
    static const pdb_import_counts zero;
    pdb_import_counts c = counts ? *counts : zero;
    sqlite3 *db = w->base.store->db;
    sqlite3_stmt *stmt = NULL;
    pdb_status st;
    int64_t flagged = 0;
    int rc;

    if (!w->in_transaction)
        return pdb__fail(ctx, PDB_EINVAL, "the writer's transaction has ended");
    if ((st = flag_duplicates(ctx, w, &flagged)) != PDB_OK)
        goto fail;
    /* What the re-survey did to each parcel, in the load's transaction. */
    if ((st = pdb__sq_lineage_record(ctx, pw, w->batch_id, w->now)) != PDB_OK)
        goto fail;
    c.flagged = flagged;

    rc =
        sqlite3_prepare_v2(db,
                           "INSERT INTO communes (code, name, source_srid, min_lon, min_lat, "
                           "max_lon, max_lat, parcels, last_batch, updated_at, data_version) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, " NEXT_DATA_VERSION_SQL
                           ") ON CONFLICT(code) DO "
                           "UPDATE SET name = excluded.name, source_srid = excluded.source_srid, "
                           "min_lon = excluded.min_lon, min_lat = excluded.min_lat, "
                           "max_lon = excluded.max_lon, max_lat = excluded.max_lat, "
                           "parcels = excluded.parcels, last_batch = excluded.last_batch, "
                           "updated_at = excluded.updated_at, "
                           "data_version = excluded.data_version",
                           -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, w->commune, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, w->name, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 3, w->source_srid);
        for (int i = 0; i < 4; i++)
            if (w->added > 0)
                sqlite3_bind_double(stmt, 4 + i, w->bbox[i]);
        sqlite3_bind_int64(stmt, 8, w->added);
        sqlite3_bind_int64(stmt, 9, w->batch_id);
        sqlite3_bind_text(stmt, 10, w->now, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (rc != SQLITE_DONE) {
        st = pdb__sql_fail(ctx, db, rc, "updating the commune");
        goto fail;
    }
    rc = sqlite3_prepare_v2(db,
                            "INSERT INTO import_files (batch_id, commune, file, checksum, "
                            "source_srid, read, stored, repaired, rejected, flagged, "
                            "committed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                            -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, w->batch_id);
        sqlite3_bind_text(stmt, 2, w->commune, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, w->file, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, w->checksum, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 5, w->source_srid);
        sqlite3_bind_int64(stmt, 6, c.read);
        sqlite3_bind_int64(stmt, 7, c.stored);
        sqlite3_bind_int64(stmt, 8, c.repaired);
        sqlite3_bind_int64(stmt, 9, c.rejected);
        sqlite3_bind_int64(stmt, 10, c.flagged);
        sqlite3_bind_text(stmt, 11, w->now, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        st = pdb__sql_fail(ctx, db, rc, "recording the imported file");
        goto fail;
    }
    if ((st = pdb__sq_search_commune(ctx, w->base.store, w->commune, w->postings)) != PDB_OK ||
        (st = pdb__overview_mark_stale(ctx, w->base.store, w->commune)) != PDB_OK ||
        (st = pdb__lookup_store_commune(ctx, w->base.store, &pdb__sq_lookup_io, w->commune,
                                        w->batch_id)) != PDB_OK)
        goto fail;
    /* The version the commune's row was stamped with (communes.data_version). */
    if ((st = pdb__store_exec(ctx, w->base.store,
                              "UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                              "WHERE key = 'data_version'")) != PDB_OK)
        goto fail;
    if ((st = pdb__store_exec(ctx, w->base.store, "COMMIT")) != PDB_OK)
        goto fail;
    w->in_transaction = 0;
    w->base.store->writing = 0;
    if (counts != NULL) {
        counts->flagged = c.flagged;
        counts->wgs84_repaired = w->wgs84_repaired;
    }
    return pdb__ok(ctx);
fail:
    return st; /* pdb__sq_writer_free rolls back */
}

void pdb__sq_writer_free(pdb_writer *pw)
{
    sq_writer *w = (sq_writer *)pw;
    if (w == NULL)
        return;
    sqlite3_finalize(w->insert);
    sqlite3_finalize(w->reject);
    sqlite3_finalize(w->rtree);
    if (w->in_transaction) {
        sqlite3_exec(w->base.store->db, "ROLLBACK", NULL, NULL, NULL);
        w->base.store->writing = 0;
    }
    for (size_t i = 0; i < w->nkeys; i++)
        free(w->keys[i].key);
    free(w->keys);
    pdb__search_postings_free(w->postings);
    free(w->name);
    free(w->file);
    free(w->checksum);
    free(w);
}
