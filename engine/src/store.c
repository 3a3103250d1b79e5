/*
 * store.c: creating, opening and describing the store: one SpatiaLite
 * file in WAL mode, so that readers keep reading while an import writes.
 */
#include "store.h"

#include "idlist.h"
#include "lineage_import.h"
#include "lookup.h"
#include "overview.h"
#include "schema.h"
#include "search.h"

#include <errno.h>
#include <spatialite.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PDB_BUSY_TIMEOUT_MS 10000

/* The SQL of each cached statement. The R-tree is SpatiaLite's own
 * (idx_parcels_geom), queried directly: its boxes are rounded outwards to
 * 32-bit floats, so they give a superset that the exact test then filters. */
_Static_assert(PDB_PARCEL_REPAIRED == 8, "STMT_FEATURES_IN_BOX_SURVEY tests flag 8");

static const char *const stmt_sql[STMT_COUNT] = {
    [STMT_DATA_VERSION] = "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'data_version'",
    [STMT_PARCELS_AT] =
        "SELECT " PDB_PARCEL_COLUMNS " FROM parcels p WHERE p.id IN (SELECT pkid FROM "
        "idx_parcels_geom WHERE xmin <= ?1 AND xmax >= ?1 AND ymin <= ?2 AND ymax >= ?2) "
        "AND p.valid_to IS NULL ORDER BY p.id",
    [STMT_PARCELS_BY_NUMBER] =
        "SELECT " PDB_PARCEL_COLUMNS " FROM parcels p WHERE p.commune = ?1 AND p.sheet = ?2 "
        "AND p.parcel = ?3 AND (?4 IS NULL OR p.former_commune = ?4) "
        "AND (?5 OR p.valid_to IS NULL) ORDER BY p.id",
    [STMT_PARCELS_IN_BOX] =
        "SELECT " PDB_PARCEL_COLUMNS " FROM parcels p WHERE p.id IN (SELECT pkid FROM "
        "idx_parcels_geom WHERE xmin <= ?3 AND xmax >= ?1 AND ymin <= ?4 AND ymax >= ?2) "
        "AND p.valid_to IS NULL ORDER BY p.id",
    [STMT_PARCEL_HISTORY] =
        "SELECT " PDB_PARCEL_COLUMNS " FROM parcels p WHERE p.commune = ?1 AND p.sheet = ?2 "
        "AND p.parcel = ?3 ORDER BY p.valid_from, p.id",
    [STMT_PARCEL_BY_ID] = "SELECT " PDB_PARCEL_COLUMNS " FROM parcels p WHERE p.id = ?1",
    /* A tile's read in two steps (query.c, pdb__sq_features_in_bbox):
     * the R-tree's candidates into C, sorted there, then the parcels
     * joined to them in that order through pdb_idlist (idlist.h). */
    [STMT_BOX_IDS] = "SELECT pkid FROM idx_parcels_geom "
                     "WHERE xmin <= ?3 AND xmax >= ?1 AND ymin <= ?4 AND ymax >= ?2",
    [STMT_FEATURES_IN_BOX] =
        "SELECT p.id, p.commune, p.sheet, p.parcel, p.landuse, p.landuse_main, "
        "p.area_computed_m2, p.geom FROM pdb_idlist(?1) i CROSS JOIN parcels p "
        "ON p.id = i.value WHERE p.valid_to IS NULL ORDER BY i.value",
    [STMT_FEATURES_IN_BOX_SURVEY] =
        "SELECT p.id, p.commune, p.sheet, p.parcel, p.landuse, p.landuse_main, "
        "p.area_computed_m2, p.geom, 0, CASE WHEN p.source_srid = ?2 AND (p.flags & 8) = 0 "
        "THEN p.source_geom END, "
        "p.source_srid FROM pdb_idlist(?1) i CROSS JOIN parcels p "
        "ON p.id = i.value WHERE p.valid_to IS NULL ORDER BY i.value",
    [STMT_FIND_CHECKSUM] =
        "SELECT batch_id FROM import_files WHERE checksum = ?1 ORDER BY id DESC LIMIT 1",
    /* One statement, so that overviews and the parcels of stale communes
     * come from the same snapshot of the store. A commune without shapes
     * in the band (overviews made before the band existed, or a commune
     * too small for it) is answered with its parcels too: a bounded cost,
     * never a hole. "+o2.band": that test goes through overviews_commune,
     * not a scan of the band's rows in overviews_band (which made z14
     * tiles 2.4 times slower). */
    [STMT_OVERVIEW_FEATURES] =
        "SELECT 0, o.commune, NULL, NULL, o.landuse_main, o.landuse_main, o.area_m2, o.geom, 0 "
        "FROM overviews o "
        "WHERE o.id IN (SELECT id FROM overviews_rtree WHERE min_lon <= ?3 AND max_lon >= ?1 "
        "AND min_lat <= ?4 AND max_lat >= ?2) AND o.band = ?5 AND (o.kind & ?6) != 0 "
        "AND o.commune NOT IN (SELECT commune FROM overviews_stale) "
        "UNION ALL "
        "SELECT 0, p.commune, NULL, NULL, p.landuse_main, p.landuse_main, p.area_computed_m2, "
        "p.geom, 1 FROM parcels p "
        "WHERE (?6 & 1) != 0 AND p.valid_to IS NULL AND p.commune IN (SELECT c.code FROM "
        "communes c WHERE c.max_lon >= ?1 AND c.min_lon <= ?3 AND c.max_lat >= ?2 AND "
        "c.min_lat <= ?4 AND c.parcels > 0 AND (c.code IN (SELECT commune FROM overviews_stale) "
        "OR NOT EXISTS (SELECT 1 FROM overviews o2 WHERE o2.commune = c.code AND +o2.band = ?5)))",
    /* The outlines (or the bases) alone: the band's shapes of that kind,
     * one a commune, tested by box in overviews_outline, not the R-tree,
     * which answers every band's land-use shapes over the tile (a quarter
     * of a million instructions a z16 tile for its one or two outlines).
     * The same rows as STMT_OVERVIEW_FEATURES with that one kind. */
    [STMT_OVERVIEW_OUTLINES] =
        "SELECT 0, o.commune, NULL, NULL, o.landuse_main, o.landuse_main, o.area_m2, o.geom, 0 "
        "FROM overviews o WHERE o.band = ?5 AND o.kind = ?6 AND o.max_lon >= ?1 AND "
        "o.min_lon <= ?3 AND o.max_lat >= ?2 AND o.min_lat <= ?4 "
        "AND o.commune NOT IN (SELECT commune FROM overviews_stale) ORDER BY o.id",
    [STMT_BEGIN] = "BEGIN",
    [STMT_COMMIT] = "COMMIT",
};

pdb_status pdb__sql_fail(pdb_ctx *ctx, sqlite3 *db, int rc, const char *what)
{
    pdb_status st;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        st = PDB_EBUSY;
        break;
    case SQLITE_CORRUPT:
        st = PDB_ECORRUPT;
        break;
    case SQLITE_NOTADB:
        st = PDB_ENOTSTORE;
        break;
    case SQLITE_READONLY:
        st = PDB_EREADONLY;
        break;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
        st = PDB_EIO;
        break;
    case SQLITE_NOMEM:
        st = PDB_ENOMEM;
        break;
    default:
        st = PDB_ESTORE;
    }
    return pdb__fail(ctx, st, "%s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

pdb_status pdb__store_stmt(pdb_ctx *ctx, pdb_store *s, store_stmt id, sqlite3_stmt **out)
{
    *out = NULL;
    if (s->stmts[id] == NULL) {
        int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &s->stmts[id], NULL);
        if (rc != SQLITE_OK)
            return pdb__sql_fail(ctx, s->db, rc, "preparing a query");
    } else {
        sqlite3_reset(s->stmts[id]);
        sqlite3_clear_bindings(s->stmts[id]);
    }
    *out = s->stmts[id];
    return PDB_OK;
}

/* BEGIN and COMMIT are cached statements: sqlite3_exec parsed them again
 * for every lookup, a tenth of an HTTP lookup's instructions (issue 19). */
pdb_status pdb__sq_read_begin(pdb_ctx *ctx, pdb_store *s, int *began)
{
    sqlite3_stmt *stmt;
    pdb_status st;

    *began = 0;
    if (!sqlite3_get_autocommit(s->db))
        return PDB_OK;
    if ((st = pdb__store_stmt(ctx, s, STMT_BEGIN, &stmt)) != PDB_OK)
        return st;
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, s->db, rc, "store");
    *began = 1;
    return PDB_OK;
}

void pdb__sq_read_end(pdb_ctx *ctx, pdb_store *s, int began)
{
    sqlite3_stmt *stmt;
    if (!began)
        return;
    if (pdb__store_stmt(ctx, s, STMT_COMMIT, &stmt) == PDB_OK) {
        sqlite3_step(stmt);
        sqlite3_reset(stmt);
    } else {
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL); /* the snapshot must end */
    }
}

pdb_status pdb__store_exec(pdb_ctx *ctx, pdb_store *s, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        pdb_status st = pdb__sql_fail(ctx, s->db, rc, "store");
        if (err != NULL)
            pdb__fail(ctx, st, "store: %s", err);
        sqlite3_free(err);
        return st;
    }
    return PDB_OK;
}

void pdb__now_iso(char buf[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, 32 - n, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

/* Reads one integer PRAGMA. */
static pdb_status pragma_int(pdb_ctx *ctx, pdb_store *s, const char *pragma, int64_t *out)
{
    sqlite3_stmt *stmt = NULL;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA %s", pragma);
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        pdb_status st = pdb__sql_fail(ctx, s->db, rc, "reading the store's header");
        sqlite3_finalize(stmt);
        return st;
    }
    *out = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return PDB_OK;
}

void pdb__sq_store_close(pdb_store *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    pdb__lookup_free(s->lookup);
    sqlite3_close(s->db);
    if (s->spatialite != NULL)
        spatialite_cleanup_ex(s->spatialite);
    free(s);
}

/* Opens a connection with our settings; for_create allows a new file. */
static pdb_status store_connect(pdb_ctx *ctx, const char *path, int flags, int for_create,
                                pdb_store **out)
{
    pdb_status st = PDB_OK;
    pdb_store *s = calloc(1, sizeof *s);
    int oflags = SQLITE_OPEN_NOMUTEX;

    *out = NULL;
    if (s == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory opening %s", path);
    s->ops = &pdb__sqlite_ops;
    s->readonly = (flags & PDB_OPEN_READONLY) != 0;
    oflags |= s->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (for_create)
        oflags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path, &s->db, oflags, NULL);
    if (rc != SQLITE_OK) {
        st = pdb__sql_fail(ctx, s->db, rc, path);
        goto done;
    }
    sqlite3_extended_result_codes(s->db, 1);
    if ((rc = pdb__idlist_register(s->db)) != SQLITE_OK) {
        st = pdb__sql_fail(ctx, s->db, rc, path);
        goto done;
    }
    sqlite3_busy_timeout(s->db, PDB_BUSY_TIMEOUT_MS);
    /* SpatiaLite's functions are needed by the geometry triggers that keep
     * the R-tree in step on writes; readers query the R-tree directly. */
    if (!s->readonly) {
        s->spatialite = spatialite_alloc_connection();
        if (s->spatialite == NULL) {
            st = pdb__fail(ctx, PDB_ENOMEM, "out of memory starting SpatiaLite");
            goto done;
        }
        spatialite_init_ex(s->db, s->spatialite, 0);
    }
done:
    if (st != PDB_OK)
        pdb_store_close(s);
    else
        *out = s;
    return st;
}

/* Checks that an open connection is a parceldb store we can read. */
static pdb_status check_identity(pdb_ctx *ctx, pdb_store *s, const char *path)
{
    int64_t app_id, version;
    pdb_status st = pragma_int(ctx, s, "application_id", &app_id);

    if (st == PDB_ENOTSTORE || st == PDB_ECORRUPT)
        return pdb__fail(ctx, st, "%s is not a parceldb store (%s)", path,
                         st == PDB_ENOTSTORE ? "not an SQLite database" : "the file is damaged");
    if (st != PDB_OK)
        return st;
    if (app_id != PDB_APPLICATION_ID)
        return pdb__fail(ctx, PDB_ENOTSTORE,
                         "%s is not a parceldb store (an SQLite file of another application)",
                         path);
    if ((st = pragma_int(ctx, s, "user_version", &version)) != PDB_OK)
        return st;
    if (version > PDB_SCHEMA_VERSION)
        return pdb__fail(ctx, PDB_ENOTSTORE,
                         "%s has store schema %lld; this parceldb reads up to %d (upgrade it)",
                         path, (long long)version, PDB_SCHEMA_VERSION);
    /* Reading the data version touches the schema and a table: a damaged
     * file header or schema shows up here as a clear refusal. */
    int64_t dv;
    if ((st = pdb_store_data_version(ctx, s, &dv)) != PDB_OK)
        return pdb__fail(ctx, st == PDB_ESTORE ? PDB_ECORRUPT : st,
                         "%s cannot be read as a parceldb store: %s", path, pdb_errmsg(ctx));
    return PDB_OK;
}

/* Brings a store of an older schema to this one, in place, once (see
 * PDB_UPGRADE_2_SQL). A current store costs one read and takes no lock, so
 * that opening for writing never waits for another process's import; the
 * check is made again inside the write transaction, so that two processes
 * opening the same old store upgrade it once. */
static pdb_status upgrade_schema(pdb_ctx *ctx, pdb_store *s, const char *path)
{
    int64_t version;
    pdb_status st = pragma_int(ctx, s, "user_version", &version);
    if (st != PDB_OK || version >= 2)
        return st;
    if ((st = pdb__store_exec(ctx, s, "BEGIN IMMEDIATE")) != PDB_OK)
        return st;
    if ((st = pragma_int(ctx, s, "user_version", &version)) == PDB_OK && version < 2 &&
        (st = pdb__store_exec(ctx, s, PDB_UPGRADE_2_SQL)) != PDB_OK)
        pdb__fail(ctx, st, "upgrading %s to store schema 2: %s", path, pdb_errmsg(ctx));
    if (st == PDB_OK)
        st = pdb__store_exec(ctx, s, "COMMIT");
    if (st != PDB_OK)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

/* Whether the parcels table has the national attribute set's columns. */
static pdb_status has_national(pdb_ctx *ctx, pdb_store *s, int *has)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT count(*) FROM pragma_table_info('parcels', 'main') WHERE "
                                "name = 'prev_sheet'",
                                -1, &stmt, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
        *has = sqlite3_column_int(stmt, 0) > 0;
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? PDB_OK : pdb__sql_fail(ctx, s->db, rc, "reading the parcels table");
}

/* Stores made before the national attribute set (PDB_NATIONAL_UPGRADE_SQL):
 * the columns added once, checked again under the write lock as the
 * schema upgrades are. A read-only connection reads them as NULL through
 * a temporary view instead (PDB_NATIONAL_VIEW_SQL). */
static pdb_status national_upgrade(pdb_ctx *ctx, pdb_store *s)
{
    int has = 0;
    pdb_status st;

    if ((st = has_national(ctx, s, &has)) != PDB_OK || has)
        return st;
    if (s->readonly)
        return pdb__store_exec(ctx, s, PDB_NATIONAL_VIEW_SQL);
    if ((st = pdb__store_exec(ctx, s, "BEGIN IMMEDIATE")) != PDB_OK)
        return st;
    if ((st = has_national(ctx, s, &has)) == PDB_OK && !has)
        st = pdb__store_exec(ctx, s, PDB_NATIONAL_UPGRADE_SQL);
    if (st == PDB_OK)
        st = pdb__store_exec(ctx, s, "COMMIT");
    if (st != PDB_OK)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

pdb_status pdb__sq_store_open(pdb_ctx *ctx, const char *path, int flags, pdb_store **out)
{
    struct stat sb;
    pdb_store *s = NULL;
    pdb_status st;

    *out = NULL;
    if (path == NULL || *path == '\0')
        return pdb__fail(ctx, PDB_EINVAL, "no store path given");
    if (stat(path, &sb) != 0)
        return pdb__fail(ctx, errno == ENOENT ? PDB_ENOTFOUND : PDB_EIO, "%s: %s", path,
                         strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return pdb__fail(ctx, PDB_ENOTSTORE, "%s is not a parceldb store (not a file)", path);
    if ((st = store_connect(ctx, path, flags, 0, &s)) != PDB_OK)
        return st;
    if ((st = check_identity(ctx, s, path)) != PDB_OK)
        goto done;
    /* Before query_only, which would refuse the read-only open's view. */
    if ((st = national_upgrade(ctx, s)) != PDB_OK)
        goto done;
    if (s->readonly)
        st = pdb__store_exec(ctx, s, "PRAGMA query_only = 1");
    else
        /* FULL: a committed commune survives a power cut, not only a crash.
         * Stores made before overviews get their (empty) table here. */
        /* The cache holds a commune's whole transaction until its commit,
         * instead of spilling pages to the WAL as the transaction grows. */
        st = pdb__store_exec(
            ctx, s,
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
            "PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY; " PDB_UPGRADE_SQL);
    /* Older schemas follow at their first read-write open; a read-only
     * open reads them as they are (pdb_commune.data_version -1). */
    if (st == PDB_OK && !s->readonly)
        st = upgrade_schema(ctx, s, path);
    /* And the lineage table made before the 'unchanged' kind. */
    if (st == PDB_OK && !s->readonly)
        st = pdb__sq_lineage_upgrade(ctx, s);
    /* Stores made before the lookup index get it now, once. */
    if (st == PDB_OK && !s->readonly)
        st = pdb__lookup_backfill(ctx, s);
    /* And the search index (schema 3). */
    if (st == PDB_OK && !s->readonly)
        st = pdb__sq_search_backfill(ctx, s);
done:
    if (st != PDB_OK) {
        pdb_store_close(s);
        return st;
    }
    *out = s;
    return pdb__ok(ctx);
}

pdb_status pdb__sq_store_create(pdb_ctx *ctx, const char *path, pdb_store **out)
{
    char tmp[4096];
    pdb_store *s = NULL;
    pdb_status st;
    struct stat sb;

    *out = NULL;
    if (path == NULL || *path == '\0')
        return pdb__fail(ctx, PDB_EINVAL, "no store path given");
    if (stat(path, &sb) == 0)
        return pdb__fail(ctx, PDB_EINVAL, "%s already exists; not overwriting it", path);
    /* Build the store under a temporary name and move it into place at the
     * end, so that nobody ever opens a half-made store. */
    if (snprintf(tmp, sizeof tmp, "%s.creating-%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return pdb__fail(ctx, PDB_EINVAL, "store path is too long");
    unlink(tmp);
    if ((st = store_connect(ctx, tmp, PDB_OPEN_READWRITE, 1, &s)) != PDB_OK)
        goto fail;
    char pragmas[160];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA page_size = 8192; PRAGMA application_id = %d; PRAGMA user_version = %d; "
             "PRAGMA journal_mode = WAL",
             PDB_APPLICATION_ID, PDB_SCHEMA_VERSION);
    if ((st = pdb__store_exec(ctx, s, pragmas)) != PDB_OK)
        goto fail;
    if ((st = pdb__store_exec(ctx, s, "SELECT InitSpatialMetadata(1, 'WGS84_ONLY')")) != PDB_OK)
        goto fail;
    if ((st = pdb__store_exec(ctx, s, "BEGIN")) != PDB_OK ||
        (st = pdb__store_exec(ctx, s, PDB_SCHEMA_SQL)) != PDB_OK ||
        (st = pdb__store_exec(ctx, s, "COMMIT")) != PDB_OK)
        goto fail;
    pdb_store_close(s);
    s = NULL;
    /* link() fails if path appeared meanwhile: never clobber a store. */
    if (link(tmp, path) != 0) {
        st = pdb__fail(ctx, PDB_EIO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    unlink(tmp);
    return pdb_store_open(ctx, path, PDB_OPEN_READWRITE, out);
fail:
    pdb_store_close(s);
    unlink(tmp);
    return st;
}

pdb_status pdb__sq_store_data_version(pdb_ctx *ctx, pdb_store *s, int64_t *out)
{
    sqlite3_stmt *stmt;
    pdb_status st = pdb__store_stmt(ctx, s, STMT_DATA_VERSION, &stmt);
    *out = 0;
    if (st != PDB_OK)
        return st;
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        st = pdb__sql_fail(ctx, s->db, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
                           "reading the data version");
        sqlite3_reset(stmt);
        return st;
    }
    *out = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    return pdb__ok(ctx);
}

/* Runs a query returning one integer. */
static pdb_status query_int(pdb_ctx *ctx, pdb_store *s, const char *sql, int64_t *out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        pdb_status st = pdb__sql_fail(ctx, s->db, rc, "reading store statistics");
        sqlite3_finalize(stmt);
        return st;
    }
    *out = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return PDB_OK;
}

pdb_status pdb__sq_store_stats_get(pdb_ctx *ctx, pdb_store *s, pdb_store_stats *out)
{
    pdb_status st;
    int64_t v;
    sqlite3_stmt *stmt = NULL;

    memset(out, 0, sizeof *out);
    /* One read transaction, so that the counts agree with each other. */
    if ((st = pdb__store_exec(ctx, s, "BEGIN")) != PDB_OK)
        return st;
    /* The communes table keeps each commune's current count, so that this
     * does not scan the parcels (count(*) walks the smallest index). */
    int64_t all = 0;
    if ((st = query_int(ctx, s, "SELECT coalesce(sum(parcels), 0) FROM communes",
                        &out->parcels_current)) != PDB_OK ||
        (st = query_int(ctx, s, "SELECT count(*) FROM parcels", &all)) != PDB_OK ||
        (st = query_int(ctx, s, "SELECT count(*) FROM communes WHERE parcels > 0",
                        &out->communes)) != PDB_OK ||
        (st = query_int(ctx, s, "SELECT count(*) FROM import_batches", &out->batches)) != PDB_OK ||
        (st = query_int(ctx, s, "SELECT count(*) FROM rejects WHERE stored = 0", &out->rejected)) !=
            PDB_OK ||
        (st = query_int(
             ctx, s,
             "SELECT count(*) FROM rejects WHERE stored != 0 AND reason = 'repaired-geometry'",
             &out->repaired)) != PDB_OK ||
        (st = pdb_store_data_version(ctx, s, &out->data_version)) != PDB_OK ||
        (st = pragma_int(ctx, s, "user_version", &v)) != PDB_OK)
        goto done;
    out->schema_version = (int)v;
    out->rejects = out->rejected + out->repaired;
    out->parcels_history = all - out->parcels_current;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &stmt, NULL);
    if (rc == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
        snprintf(out->journal_mode, sizeof out->journal_mode, "%s",
                 (const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
done:
    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}

pdb_status pdb__sq_store_check(pdb_ctx *ctx, pdb_store *s)
{
    sqlite3_stmt *stmt = NULL;
    pdb_status st = PDB_OK;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA integrity_check(1)", -1, &stmt, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        st = pdb__sql_fail(ctx, s->db, rc, "integrity check");
    } else {
        const char *res = (const char *)sqlite3_column_text(stmt, 0);
        if (res == NULL || strcmp(res, "ok") != 0)
            st = pdb__fail(ctx, PDB_ECORRUPT, "integrity check failed: %s", res ? res : "?");
    }
    sqlite3_finalize(stmt);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}

#define COMMUNES_COLUMNS                                                                           \
    "SELECT code, name, source_srid, min_lon, min_lat, max_lon, max_lat, parcels, last_batch, "
static const char communes_sql[] = COMMUNES_COLUMNS "data_version FROM communes ORDER BY code";
static const char communes_sql_schema1[] = COMMUNES_COLUMNS "-1 FROM communes ORDER BY code";

pdb_status pdb__sq_communes_list(pdb_ctx *ctx, pdb_store *s, pdb_commune_list **out)
{
    sqlite3_stmt *stmt = NULL;
    pdb_commune_list *list = calloc(1, sizeof *list);
    pdb_status st = PDB_OK;
    size_t cap = 0;
    int rc;

    *out = NULL;
    if (list == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory listing communes");
    rc = sqlite3_prepare_v2(s->db, communes_sql, -1, &stmt, NULL);
    /* A schema 1 store opened read-only: no per-commune versions. */
    if (rc == SQLITE_ERROR && strstr(sqlite3_errmsg(s->db), "no such column") != NULL)
        rc = sqlite3_prepare_v2(s->db, communes_sql_schema1, -1, &stmt, NULL);
    while ((rc == SQLITE_OK || rc == SQLITE_ROW) && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (list->count == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            pdb_commune *items = realloc(list->items, ncap * sizeof *items);
            if (items == NULL) {
                st = pdb__fail(ctx, PDB_ENOMEM, "out of memory listing communes");
                goto done;
            }
            list->items = items;
            cap = ncap;
        }
        pdb_commune *c = &list->items[list->count];
        memset(c, 0, sizeof *c);
        snprintf(c->code, sizeof c->code, "%s", (const char *)sqlite3_column_text(stmt, 0));
        c->name = pdb__strdup((const char *)sqlite3_column_text(stmt, 1));
        c->source_srid = sqlite3_column_int(stmt, 2);
        for (int i = 0; i < 4; i++)
            c->bbox[i] = sqlite3_column_double(stmt, 3 + i);
        c->parcels = sqlite3_column_int64(stmt, 7);
        c->last_batch = sqlite3_column_int64(stmt, 8);
        c->data_version = sqlite3_column_int64(stmt, 9);
        list->count++;
        if (c->name == NULL) {
            st = pdb__fail(ctx, PDB_ENOMEM, "out of memory listing communes");
            goto done;
        }
    }
    if (rc != SQLITE_DONE)
        st = pdb__sql_fail(ctx, s->db, rc, "listing communes");
    if (st == PDB_OK)
        st = pdb__overview_states(ctx, s, list);
done:
    sqlite3_finalize(stmt);
    if (st != PDB_OK) {
        pdb_commune_list_free(list);
        return st;
    }
    *out = list;
    return pdb__ok(ctx);
}

void pdb_commune_list_free(pdb_commune_list *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++) {
        free(list->items[i].name);
        free(list->items[i].overview_reason);
    }
    free(list->items);
    free(list);
}

/* ------------------------------------------------------------------------ */
/* Import runs                                                               */
/* ------------------------------------------------------------------------ */

static pdb_status require_writable(pdb_ctx *ctx, pdb_store *s)
{
    if (s->readonly)
        return pdb__fail(ctx, PDB_EREADONLY, "the store was opened read-only");
    return PDB_OK;
}

pdb_status pdb__sq_import_begin(pdb_ctx *ctx, pdb_store *s, const char *description,
                                int64_t *batch_id_out)
{
    sqlite3_stmt *stmt = NULL;
    char now[32];
    pdb_status st;

    *batch_id_out = 0;
    if ((st = require_writable(ctx, s)) != PDB_OK)
        return st;
    pdb__now_iso(now);
    int rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO import_batches (description, started_at, status) "
                                "VALUES (?1, ?2, 'running')",
                                -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, description ? description : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(stmt, 2, now, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, s->db, rc, "recording the import run");
    *batch_id_out = sqlite3_last_insert_rowid(s->db);
    return pdb__ok(ctx);
}

pdb_status pdb__sq_import_end(pdb_ctx *ctx, pdb_store *s, int64_t batch_id, const char *status,
                              const pdb_import_counts *t)
{
    sqlite3_stmt *stmt = NULL;
    char now[32];
    pdb_status st;
    static const pdb_import_counts zero;

    if ((st = require_writable(ctx, s)) != PDB_OK)
        return st;
    if (t == NULL)
        t = &zero;
    pdb__now_iso(now);
    int rc = sqlite3_prepare_v2(s->db,
                                "UPDATE import_batches SET finished_at = ?2, status = ?3, "
                                "read = ?4, stored = ?5, repaired = ?6, rejected = ?7, "
                                "flagged = ?8 WHERE id = ?1",
                                -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, batch_id);
        sqlite3_bind_text(stmt, 2, now, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(stmt, 3, status, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(stmt, 4, t->read);
        sqlite3_bind_int64(stmt, 5, t->stored);
        sqlite3_bind_int64(stmt, 6, t->repaired);
        sqlite3_bind_int64(stmt, 7, t->rejected);
        sqlite3_bind_int64(stmt, 8, t->flagged);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, s->db, rc, "closing the import run");
    if (sqlite3_changes(s->db) != 1)
        return pdb__fail(ctx, PDB_ENOTFOUND, "no import run %lld", (long long)batch_id);
    return pdb__ok(ctx);
}

pdb_status pdb__sq_import_find_checksum(pdb_ctx *ctx, pdb_store *s, const char *checksum,
                                        int64_t *batch_out)
{
    sqlite3_stmt *stmt;
    pdb_status st = pdb__store_stmt(ctx, s, STMT_FIND_CHECKSUM, &stmt);

    *batch_out = 0;
    if (st != PDB_OK)
        return st;
    sqlite3_bind_text(stmt, 1, checksum, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *batch_out = sqlite3_column_int64(stmt, 0);
    else if (rc != SQLITE_DONE)
        st = pdb__sql_fail(ctx, s->db, rc, "looking up a checksum");
    sqlite3_reset(stmt);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}

const pdb__store_ops pdb__sqlite_ops = {
    .name = "sqlite",
    .close = pdb__sq_store_close,
    .data_version = pdb__sq_store_data_version,
    .stats_get = pdb__sq_store_stats_get,
    .check = pdb__sq_store_check,
    .communes_list = pdb__sq_communes_list,
    .import_begin = pdb__sq_import_begin,
    .import_end = pdb__sq_import_end,
    .import_find_checksum = pdb__sq_import_find_checksum,
    .writer_begin = pdb__sq_writer_begin,
    .writer_add_prepared = pdb__sq_writer_add_prepared,
    .writer_reject = pdb__sq_writer_reject,
    .writer_commit = pdb__sq_writer_commit,
    .writer_free = pdb__sq_writer_free,
    .parcels_at = pdb__sq_parcels_at,
    .parcels_first_at = pdb__sq_parcels_first_at,
    .parcels_by_number = pdb__sq_parcels_by_number,
    .parcels_in_bbox = pdb__sq_parcels_in_bbox,
    .parcel_history = pdb__sq_parcel_history,
    .parcel_get = pdb__sq_parcel_get,
    .features_in_bbox = pdb__sq_features_in_bbox,
    .overview_features = pdb__sq_overview_features,
    .overview_io = &pdb__sq_overview_io,
    .change_apply = pdb__sq_change_apply,
    .parcel_lineage = pdb__sq_parcel_lineage,
    .import_steps = pdb__sq_import_steps,
    .batch_rejects = pdb__sq_batch_rejects,
    .backup = pdb__sq_store_backup,
};

pdb_status pdb__sqlite_create(pdb_ctx *ctx, const char *path, pdb_store **out)
{
    return pdb__sq_store_create(ctx, path, out);
}

pdb_status pdb__sqlite_open(pdb_ctx *ctx, const char *path, int flags, pdb_store **out)
{
    return pdb__sq_store_open(ctx, path, flags, out);
}
