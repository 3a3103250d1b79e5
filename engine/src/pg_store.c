/*
 * pg_store.c: the PostgreSQL/PostGIS store: connecting, creating the
 * schema, opening it, describing it (versions, statistics, communes, a
 * check of what PostgreSQL does not check itself), import runs, and backup
 * through pg_dump. The writer is pg_writer.c; reads are pg_query.c and
 * pg_overview.c. Each function mirrors the SQLite store's of the same name
 * (store.c, backup.c) and answers the same for the same imports.
 */
#define _GNU_SOURCE /* execvpe, environ */
#include "crs.h"
#include "lookup.h"
#include "overview_build.h"
#include "pg.h"
#include "pg_lookup.h"
#include "pg_schema.h"
#include "search.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* An integer column of a result row; 0 for NULL, as SQLite reads one. */
static int64_t col_i64(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static double col_f64(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0.0 : strtod(PQgetvalue(res, row, col), NULL);
}

/* Runs a query whose answer is one integer (or no row: *found 0). */
static pdb_status query_i64(pdb_ctx *ctx, pdb__pg *pg, const char *sql, int nparams,
                            const char *const *params, const char *what, int64_t *out, int *found)
{
    PGresult *res = NULL;
    pdb_status st = pdb__pg_query(ctx, pg, sql, nparams, params, what, &res);
    *out = 0;
    if (found != NULL)
        *found = 0;
    if (st != PDB_OK)
        return st;
    if (PQntuples(res) > 0) {
        *out = col_i64(res, 0, 0);
        if (found != NULL)
            *found = 1;
    }
    PQclear(res);
    return PDB_OK;
}

void pdb__pg_close(pdb_store *s)
{
    if (s == NULL)
        return;
    pdb__lookup_free(s->lookup); /* the point-lookup index (pg_lookup.c) */
    if (s->pg != NULL) {
        PQfinish(s->pg->conn);
        pdb__pg_ov_communes_free(s->pg->ov_communes);
        free(s->pg->location);
        free(s->pg->shown);
        free(s->pg);
    }
    free(s);
}

/* libpq's connection failure as one line. A multi-host location fails
 * once per host, each on a line of its own ("connection to server ...
 * failed: ...") followed by indented hints: the hosts' lines are kept,
 * joined by "; ", so that the reason of the last host (say, "session is
 * read-only" for an importer when no primary is left) is not cut off. */
static void connect_error(const char *msg, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    while (*msg != '\0' && len + 1 < cap) {
        size_t n = strcspn(msg, "\n");
        if (n > 0 && msg[0] != '\t' && msg[0] != ' ') {
            int w = snprintf(out + len, cap - len, "%s%.*s", len ? "; " : "", (int)n, msg);
            len = w < 0 || (size_t)w >= cap - len ? cap - 1 : len + (size_t)w;
        }
        msg += n + (msg[n] == '\n');
    }
}

/* Connects a new handle to the database location names. */
static pdb_status pg_connect(pdb_ctx *ctx, const char *location, int readonly, pdb_store **out)
{
    pdb_status st = PDB_OK;
    pdb_store *s = calloc(1, sizeof *s);
    pdb__pg *pg = calloc(1, sizeof *pg);

    *out = NULL;
    if (s == NULL || pg == NULL) {
        free(s);
        free(pg);
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory opening a PostgreSQL store");
    }
    s->ops = &pdb__pg_ops;
    s->pg = pg;
    s->readonly = readonly;
    pg->location = pdb__strdup(location);
    pg->shown = pdb__pg_location_shown(location);
    if (pg->location == NULL || pg->shown == NULL) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory opening a PostgreSQL store");
        goto done;
    }
    /* The location may be a URI or a conninfo string (expand_dbname);
     * the server lists the connection as parceldb's unless it names
     * itself. */
    static const char *const keys[] = {"dbname", "fallback_application_name", NULL};
    const char *const values[] = {location, "parceldb", NULL};
    pg->conn = PQconnectdbParams(keys, values, 1);
    if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) {
        char msg[1024];
        connect_error(pg->conn ? PQerrorMessage(pg->conn) : "out of memory", msg, sizeof msg);
        st = pdb__fail(ctx, PDB_EIO, "cannot connect to %s: %s", pg->shown, msg);
        goto done;
    }
    pg->readonly = readonly;
    st = pdb__pg_session(ctx, pg);
done:
    if (st != PDB_OK)
        pdb__pg_close(s);
    else
        *out = s;
    return st;
}

/* Whether the database holds the schema parceldb. */
static pdb_status schema_exists(pdb_ctx *ctx, pdb__pg *pg, int *found)
{
    static const char *const params[] = {PDB_PG_SCHEMA};
    int64_t one;
    return query_i64(ctx, pg, "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", 1, params,
                     "looking for the parceldb schema", &one, found);
}

/* Checks that an open connection holds a parceldb store this engine reads. */
static pdb_status check_identity(pdb_ctx *ctx, pdb__pg *pg)
{
    PGresult *res = NULL;
    const char *db = PQdb(pg->conn);
    int found;
    pdb_status st;

    if ((st = schema_exists(ctx, pg, &found)) != PDB_OK)
        return st;
    if (!found)
        return pdb__fail(ctx, PDB_ENOTFOUND,
                         "no parceldb store in database %s (parceldb init --db '%s' makes one)", db,
                         pg->shown);
    if ((st = pdb__pg_query(ctx, pg,
                            "SELECT (SELECT value FROM parceldb.meta WHERE key = 'application'), "
                            "(SELECT value FROM parceldb.meta WHERE key = 'schema_version')",
                            0, NULL, "reading the store's version", &res)) != PDB_OK)
        return pdb__fail(ctx, st == PDB_EINVAL ? PDB_ENOTSTORE : st,
                         "schema parceldb of database %s is not a parceldb store (%s)", db,
                         pdb_errmsg(ctx));
    if (PQgetisnull(res, 0, 0) || strcmp(PQgetvalue(res, 0, 0), "parceldb") != 0)
        st = pdb__fail(ctx, PDB_ENOTSTORE,
                       "schema parceldb of database %s is not a parceldb store (its meta "
                       "table names another application)",
                       db);
    else if (col_i64(res, 0, 1) != PDB_PG_SCHEMA_VERSION)
        st = pdb__fail(
            ctx, PDB_ENOTSTORE, "store schema version %s is not the one this parceldb reads (%d)",
            PQgetisnull(res, 0, 1) ? "(none)" : PQgetvalue(res, 0, 1), PDB_PG_SCHEMA_VERSION);
    PQclear(res);
    return st;
}

/* One upgrade of an older store, done once: current_sql answers 't' when
 * the store has it already. Checked before and again under the writers'
 * lock (pdb__pg_write_begin), so that two processes opening an old store
 * upgrade it once; upgrade_sql and the COMMIT then run in that
 * transaction. With readonly nothing is written: *missing says whether
 * the store lacks it. */
static pdb_status upgrade_once(pdb_ctx *ctx, pdb_store *s, const char *current_sql,
                               const char *upgrade_sql, const char *what, int readonly,
                               int *missing)
{
    PGresult *res = NULL;
    pdb_status st;

    *missing = 0;
    for (int locked = 0; locked < 2; locked++) {
        if ((st = pdb__pg_query(ctx, s->pg, current_sql, 0, NULL, what, &res)) != PDB_OK)
            goto fail;
        int current = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        if (current)
            return locked ? pdb__pg_exec(ctx, s->pg, "COMMIT", what) : PDB_OK;
        if (readonly) {
            *missing = 1;
            return PDB_OK;
        }
        if (!locked && (st = pdb__pg_write_begin(ctx, s->pg, what)) != PDB_OK)
            return st;
    }
    if ((st = pdb__pg_exec(ctx, s->pg, upgrade_sql, what)) != PDB_OK ||
        (st = pdb__pg_exec(ctx, s->pg, "COMMIT", what)) != PDB_OK)
        goto fail;
    return PDB_OK;
fail:
    PQclear(PQexec(s->pg->conn, "ROLLBACK"));
    return st;
}

/* Stores made before the national attribute set get its columns
 * (PDB_PG_NATIONAL_UPGRADE_SQL) at their first read-write open; a
 * read-only open reads such a store as it is: its parcel reads select
 * NULLs instead (pdb__pg.no_national), until it is opened again. */
static pdb_status national_upgrade(pdb_ctx *ctx, pdb_store *s, int readonly)
{
    static const char current_sql[] =
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = "
        "'" PDB_PG_SCHEMA "' AND table_name = 'parcels' AND column_name = 'record_end')";
    int missing = 0;
    pdb_status st = upgrade_once(ctx, s, current_sql, PDB_PG_NATIONAL_UPGRADE_SQL,
                                 "adding the national attributes", readonly, &missing);
    s->pg->no_national = missing;
    return st;
}

/* Stores made before the GIS views (PDB_PG_GIS_SCHEMA_SQL) get them, and
 * the parcels' CHECK in the form geometry_columns reads, at their first
 * read-write open (only: a read-only open reads the parcels as before). */
static pdb_status gis_upgrade(pdb_ctx *ctx, pdb_store *s)
{
    int missing;
    return upgrade_once(ctx, s, PDB_PG_GIS_CURRENT_SQL, PDB_PG_GIS_UPGRADE_SQL,
                        "adding the GIS views", 0, &missing);
}

/* PostGIS 3.3's spatial_ref_sys lacks the VN-2000 TM-3 zones (EPSG:9205-
 * 9218): without their rows GDAL and QGIS read the zone views
 * (gis_parcels_EPSG) in no CRS. A read-write open adds every CRS parceldb
 * accepts that is missing, as PROJ defines it, when the role may insert
 * there (a superuser, or a role granted INSERT on spatial_ref_sys);
 * otherwise it leaves the table alone (docs/postgresql.md). */
static pdb_status srs_register(pdb_ctx *ctx, pdb_store *s)
{
    static const char what[] = "registering the VN-2000 CRSs in spatial_ref_sys";
    char codes[512] = "{";
    size_t n, len = 1;
    const pdb_crs_info *list = pdb_crs_list(&n);
    PGresult *res = NULL;
    pdb_status st;

    for (size_t i = 0; i < n && len < sizeof codes - 16; i++)
        len +=
            (size_t)snprintf(codes + len, sizeof codes - len, "%s%d", i ? "," : "", list[i].epsg);
    snprintf(codes + len, sizeof codes - len, "}");
    const char *p[] = {codes};
    if ((st = pdb__pg_query(ctx, s->pg,
                            "SELECT c FROM unnest($1::int[]) c WHERE NOT EXISTS (SELECT 1 FROM "
                            "spatial_ref_sys WHERE srid = c) AND has_table_privilege("
                            "'spatial_ref_sys', 'INSERT')",
                            1, p, what, &res)) != PDB_OK)
        return st;
    for (int r = 0; r < PQntuples(res) && st == PDB_OK; r++) {
        char *wkt = NULL, *proj4 = NULL;
        PGresult *ins = NULL;
        const char *code = PQgetvalue(res, r, 0);
        if ((st = pdb__crs_definition(ctx, atoi(code), &wkt, &proj4)) != PDB_OK)
            break;
        const char *ip[] = {code, wkt, proj4};
        st = pdb__pg_query(ctx, s->pg,
                           "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, "
                           "proj4text) VALUES ($1, 'EPSG', $1, $2, $3) ON CONFLICT DO NOTHING",
                           3, ip, what, &ins);
        PQclear(ins);
        free(wkt);
        free(proj4);
    }
    PQclear(res);
    return st;
}

pdb_status pdb__pg_open(pdb_ctx *ctx, const char *location, int flags, pdb_store **out)
{
    pdb_store *s = NULL;
    pdb_status st;

    *out = NULL;
    if ((st = pg_connect(ctx, location, (flags & PDB_OPEN_READONLY) != 0, &s)) != PDB_OK)
        return st;
    /* Stores made before the search index get it (and the audit table)
     * at their first read-write open. The national attributes come
     * before the GIS views, which select them: a store older than both
     * gets the columns first. */
    if ((st = check_identity(ctx, s->pg)) != PDB_OK ||
        (!(flags & PDB_OPEN_READONLY) && (st = pdb__pg_search_backfill(ctx, s)) != PDB_OK) ||
        (!(flags & PDB_OPEN_READONLY) && (st = pdb__pg_changes_schema(ctx, s)) != PDB_OK) ||
        (st = national_upgrade(ctx, s, (flags & PDB_OPEN_READONLY) != 0)) != PDB_OK ||
        (!(flags & PDB_OPEN_READONLY) && (st = gis_upgrade(ctx, s)) != PDB_OK) ||
        (!(flags & PDB_OPEN_READONLY) && (st = srs_register(ctx, s)) != PDB_OK)) {
        pdb__pg_close(s);
        return st;
    }
    *out = s;
    return pdb__ok(ctx);
}

pdb_status pdb__pg_create(pdb_ctx *ctx, const char *location, pdb_store **out)
{
    pdb_store *s = NULL;
    pdb_status st;
    int found;
    int64_t one;

    *out = NULL;
    if ((st = pg_connect(ctx, location, 0, &s)) != PDB_OK)
        return st;
    pdb__pg *pg = s->pg;
    const char *db = PQdb(pg->conn);
    if ((st = query_i64(ctx, pg, "SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'postgis'",
                        0, NULL, "looking for PostGIS", &one, &found)) != PDB_OK)
        goto done;
    /* Only a role that may create extensions there gets it made for it;
     * anyone else learns who must. */
    if (!found && pdb__pg_exec(ctx, pg, "CREATE EXTENSION IF NOT EXISTS postgis",
                               "creating the PostGIS extension") != PDB_OK) {
        st = pdb__fail(ctx, PDB_ENOTSTORE,
                       "database %s has no PostGIS (as its owner: CREATE EXTENSION postgis)", db);
        goto done;
    }
    if ((st = schema_exists(ctx, pg, &found)) != PDB_OK)
        goto done;
    if (found) {
        st = pdb__fail(ctx, PDB_EINVAL,
                       "database %s already holds a parceldb store; not "
                       "overwriting it",
                       db);
        goto done;
    }
    /* One transaction: a failure (or a second creator racing this one,
     * whose CREATE SCHEMA then fails) leaves no half-made schema. */
    if ((st = pdb__pg_exec(ctx, pg, "BEGIN", "creating the store")) != PDB_OK)
        goto done;
    if ((st = pdb__pg_exec(ctx, pg, PDB_PG_SCHEMA_SQL, "creating the store")) != PDB_OK ||
        (st = pdb__pg_exec(ctx, pg, "COMMIT", "creating the store")) != PDB_OK) {
        PQclear(PQexec(pg->conn, "ROLLBACK"));
        goto done;
    }
done:
    pdb__pg_close(s);
    if (st != PDB_OK)
        return st;
    return pdb__pg_open(ctx, location, PDB_OPEN_READWRITE, out);
}

/* Whether a notification on parceldb arrived since the last call: input
 * the server sent is read without a round trip, and every notification
 * is consumed (any of them means a commit: the version is read anew).
 * -1 when the connection turned out to be lost. */
static int notified(pdb__pg *pg)
{
    /* A server that stops sends its FATAL (which libpq takes as a notice
     * while idle) and then closes: while more input waits, read it, so
     * that the close is seen now rather than at the next statement. */
    for (int i = 0; i < 3; i++) {
        if (!PQconsumeInput(pg->conn) || PQstatus(pg->conn) != CONNECTION_OK)
            return -1;
        struct pollfd pfd = {.fd = PQsocket(pg->conn), .events = POLLIN};
        if (poll(&pfd, 1, 0) <= 0)
            break;
    }
    int any = 0;
    PGnotify *n;
    while ((n = PQnotifies(pg->conn)) != NULL) {
        any = 1;
        PQfreemem(n);
    }
    return any;
}

pdb_status pdb__pg_data_version(pdb_ctx *ctx, pdb_store *s, int64_t *out)
{
    pdb__pg *pg = s->pg;
    PGresult *res = NULL;
    int64_t now = pdb__pg_now_ms();

    /* A server polls this every few milliseconds per worker: a read-only
     * handle answers from its last read of meta until a writer's NOTIFY
     * (pg_writer.c, sent at its commit) arrives or the read is
     * PDB_PG_DV_POLL_MS old; on a hot standby, where LISTEN is refused and
     * no notification comes, the poll alone. Only outside a transaction: a
     * read snapshot sees the version of its own start. A handle that
     * writes reads it each time. */
    if (s->readonly && pg->dv_read_ms != 0 && !s->writing &&
        now - pg->dv_read_ms < PDB_PG_DV_POLL_MS && PQtransactionStatus(pg->conn) == PQTRANS_IDLE &&
        notified(pg) == 0) {
        *out = pg->dv;
        return pdb__ok(ctx);
    }
    pg->dv_read_ms = 0;
    /* A connection lost earlier is tried again first, so that the first
     * call after the server is back answers. So is one the server closed
     * while the handle was idle (a primary stopped: notified() reads
     * what it sent, its end included, without a round trip), so that
     * this read goes to the server that answers now, the next host of a
     * multi-host location, instead of failing on the closed one. */
    if (PQstatus(pg->conn) != CONNECTION_OK ||
        (PQtransactionStatus(pg->conn) == PQTRANS_IDLE && notified(pg) < 0))
        pdb__pg_reconnect(pg);
    /* With the version, whether the server is a standby: one that was
     * when this connection listened (refused) and has been promoted since
     * keeps the connection, and only a LISTEN now brings its
     * notifications. */
    pdb_status st = pdb__pg_prepared(ctx, pg, PDB_PG_STMT_DATA_VERSION,
                                     "SELECT value::bigint, pg_catalog.pg_is_in_recovery() FROM "
                                     "parceldb.meta WHERE key = 'data_version'",
                                     0, NULL, "reading the data version", &res);
    *out = 0;
    if (st != PDB_OK)
        return st;
    int found = PQntuples(res) > 0;
    int primary = found && strcmp(PQgetvalue(res, 0, 1), "f") == 0;
    if (found)
        *out = col_i64(res, 0, 0);
    PQclear(res);
    if (!found)
        return pdb__fail(ctx, PDB_ECORRUPT, "reading the data version: the store's meta has none");
    /* Listening from now on. A commit between this read and the LISTEN
     * is announced to no one here: the poll reads it within
     * PDB_PG_DV_POLL_MS, as on a standby. */
    if (primary && !pg->listening && PQtransactionStatus(pg->conn) == PQTRANS_IDLE)
        pdb__pg_listen(pg);
    /* Notifications that came with the read are left for the next call:
     * the server sends them after our statement, so they may announce a
     * commit this read did not see. */
    if (PQtransactionStatus(pg->conn) == PQTRANS_IDLE) {
        pg->dv = *out;
        pg->dv_read_ms = now;
    }
    return pdb__ok(ctx);
}

pdb_status pdb__pg_stats_get(pdb_ctx *ctx, pdb_store *s, pdb_store_stats *out)
{
    PGresult *res = NULL;
    pdb_status st;

    memset(out, 0, sizeof *out);
    /* One statement, one snapshot: the counts agree with each other. The
     * communes table keeps each commune's current count, as in SQLite. */
    if ((st = pdb__pg_query(
             ctx, s->pg,
             "SELECT (SELECT coalesce(sum(parcels), 0) FROM parceldb.communes), "
             "(SELECT count(*) FROM parceldb.parcels), "
             "(SELECT count(*) FROM parceldb.communes WHERE parcels > 0), "
             "(SELECT count(*) FROM parceldb.import_batches), "
             "(SELECT count(*) FROM parceldb.rejects WHERE stored = 0), "
             "(SELECT count(*) FROM parceldb.rejects WHERE stored != 0 AND reason = "
             "'repaired-geometry'), "
             "(SELECT value::bigint FROM parceldb.meta WHERE key = 'data_version'), "
             "(SELECT value::integer FROM parceldb.meta WHERE key = 'schema_version')",
             0, NULL, "reading store statistics", &res)) != PDB_OK)
        return st;
    out->parcels_current = col_i64(res, 0, 0);
    out->parcels_history = col_i64(res, 0, 1) - out->parcels_current;
    out->communes = col_i64(res, 0, 2);
    out->batches = col_i64(res, 0, 3);
    out->rejected = col_i64(res, 0, 4);
    out->repaired = col_i64(res, 0, 5);
    out->rejects = out->rejected + out->repaired;
    out->data_version = col_i64(res, 0, 6);
    out->schema_version = (int)col_i64(res, 0, 7);
    snprintf(out->journal_mode, sizeof out->journal_mode, "postgresql");
    PQclear(res);
    return pdb__ok(ctx);
}

pdb_status pdb__pg_check(pdb_ctx *ctx, pdb_store *s)
{
    PGresult *res = NULL;
    pdb_status st;
    int found;
    int64_t version;

    if ((st = query_i64(ctx, s->pg,
                        "SELECT value::bigint FROM parceldb.meta WHERE key = 'schema_version'", 0,
                        NULL, "checking the store", &version, &found)) != PDB_OK)
        return st;
    if (!found || version != PDB_PG_SCHEMA_VERSION)
        return pdb__fail(ctx, PDB_ECORRUPT,
                         "store schema version %lld is not the one this parceldb reads (%d)",
                         (long long)version, PDB_PG_SCHEMA_VERSION);
    /* A commune's row keeps its current count (statistics and the lookup
     * index trust it); parcels of a commune without a row count too. */
    if ((st = pdb__pg_query(
             ctx, s->pg,
             "SELECT coalesce(c.code, n.commune), coalesce(c.parcels, 0), coalesce(n.current, 0) "
             "FROM parceldb.communes c FULL JOIN (SELECT commune, count(*) AS current "
             "FROM parceldb.parcels WHERE valid_to IS NULL GROUP BY commune) n "
             "ON n.commune = c.code WHERE coalesce(c.parcels, 0) <> coalesce(n.current, 0) "
             "ORDER BY coalesce(c.code, n.commune) COLLATE \"C\" LIMIT 1",
             0, NULL, "checking the store", &res)) != PDB_OK)
        return st;
    if (PQntuples(res) > 0)
        st = pdb__fail(
            ctx, PDB_ECORRUPT, "commune %s records %lld current parcels but the store holds %lld",
            PQgetvalue(res, 0, 0), (long long)col_i64(res, 0, 1), (long long)col_i64(res, 0, 2));
    PQclear(res);
    if (st != PDB_OK)
        return st;
    /* A stamp above the store's version would hide the commune's change
     * from a reader that saw that version (store.h: pdb__commune_stamp). */
    if ((st = pdb__pg_query(ctx, s->pg,
                            "SELECT code, data_version, (SELECT value FROM parceldb.meta WHERE "
                            "key = 'data_version') FROM parceldb.communes WHERE data_version > "
                            "(SELECT value::bigint FROM parceldb.meta WHERE key = "
                            "'data_version') ORDER BY code COLLATE \"C\" LIMIT 1",
                            0, NULL, "checking the store", &res)) != PDB_OK)
        return st;
    if (PQntuples(res) > 0)
        st = pdb__fail(ctx, PDB_ECORRUPT,
                       "commune %s is stamped with data version %s, above the store's %s",
                       PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
    PQclear(res);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}

/* The communes and their overviews' states in one statement (one
 * snapshot); the states as overview.c's states_sql says them: failed
 * first, then stale (marked, or current parcels without shapes in the
 * finest band), then fallback. */
static const char communes_sql[] =
    "SELECT c.code, c.name, c.source_srid, c.min_lon, c.min_lat, c.max_lon, c.max_lat, "
    "c.parcels, c.last_batch, c.data_version, "
    "CASE WHEN f.state = 'failed' THEN 2 WHEN st.commune IS NOT NULL OR (c.parcels > 0 AND "
    "NOT EXISTS (SELECT 1 FROM parceldb.overviews o WHERE o.commune = c.code AND "
    "o.band = $1::integer)) THEN 1 WHEN f.state = 'fallback' THEN 3 ELSE 0 END, f.reason, "
    "coalesce(f.since, st.since, '') FROM parceldb.communes c "
    "LEFT JOIN parceldb.overview_problems f ON f.commune = c.code "
    "LEFT JOIN parceldb.overviews_stale st ON st.commune = c.code ORDER BY c.code COLLATE \"C\"";

pdb_status pdb__pg_communes_list(pdb_ctx *ctx, pdb_store *s, pdb_commune_list **out)
{
    PGresult *res = NULL;
    char band[16];
    pdb_status st;

    *out = NULL;
    snprintf(band, sizeof band, "%d", PDB__OV_NBANDS - 1);
    const char *params[] = {band};
    if ((st = pdb__pg_query(ctx, s->pg, communes_sql, 1, params, "listing communes", &res)) !=
        PDB_OK)
        return st;
    int n = PQntuples(res);
    pdb_commune_list *list = calloc(1, sizeof *list);
    if (list == NULL || (n > 0 && (list->items = calloc((size_t)n, sizeof *list->items)) == NULL))
        goto nomem;
    for (int i = 0; i < n; i++) {
        pdb_commune *c = &list->items[i];
        list->count++;
        snprintf(c->code, sizeof c->code, "%s", PQgetvalue(res, i, 0));
        if ((c->name = pdb__strdup(PQgetvalue(res, i, 1))) == NULL)
            goto nomem;
        c->source_srid = (int)col_i64(res, i, 2);
        for (int k = 0; k < 4; k++)
            c->bbox[k] = col_f64(res, i, 3 + k);
        c->parcels = col_i64(res, i, 7);
        c->last_batch = col_i64(res, i, 8);
        c->data_version = col_i64(res, i, 9);
        c->overview_state = (pdb_overview_state)col_i64(res, i, 10);
        if (!PQgetisnull(res, i, 11) &&
            (c->overview_reason = pdb__strdup(PQgetvalue(res, i, 11))) == NULL)
            goto nomem;
        snprintf(c->overview_since, sizeof c->overview_since, "%s", PQgetvalue(res, i, 12));
    }
    PQclear(res);
    *out = list;
    return pdb__ok(ctx);
nomem:
    PQclear(res);
    pdb_commune_list_free(list);
    return pdb__fail(ctx, PDB_ENOMEM, "out of memory listing communes");
}

/* ------------------------------------------------------------------------ */
/* Import runs                                                               */
/* ------------------------------------------------------------------------ */

static pdb_status require_writable(pdb_ctx *ctx, pdb_store *s)
{
    if (s->readonly)
        return pdb__fail(ctx, PDB_EREADONLY, "the store was opened read-only");
    /* The connection is in the writer's transaction (perhaps in a COPY):
     * a statement here would join it or break it. */
    if (s->writing)
        return pdb__fail(ctx, PDB_EINVAL, "a commune's load is open on this store handle");
    return PDB_OK;
}

pdb_status pdb__pg_import_begin(pdb_ctx *ctx, pdb_store *s, const char *description,
                                int64_t *batch_id_out)
{
    char now[32];
    pdb_status st;

    *batch_id_out = 0;
    if ((st = require_writable(ctx, s)) != PDB_OK)
        return st;
    pdb__now_iso(now);
    const char *params[] = {description ? description : "", now};
    /* Committed at once (autocommit): a run killed later stays visible as
     * 'running', as in the SQLite store. */
    int found;
    if ((st = query_i64(ctx, s->pg,
                        "INSERT INTO parceldb.import_batches (description, started_at, status) "
                        "VALUES ($1, $2, 'running') RETURNING id",
                        2, params, "recording the import run", batch_id_out, &found)) != PDB_OK)
        return st;
    return pdb__ok(ctx);
}

pdb_status pdb__pg_import_end(pdb_ctx *ctx, pdb_store *s, int64_t batch_id, const char *status,
                              const pdb_import_counts *t)
{
    static const pdb_import_counts zero;
    char now[32], id[24], n[5][24];
    PGresult *res = NULL;
    pdb_status st;

    if ((st = require_writable(ctx, s)) != PDB_OK)
        return st;
    if (t == NULL)
        t = &zero;
    pdb__now_iso(now);
    snprintf(id, sizeof id, "%lld", (long long)batch_id);
    snprintf(n[0], sizeof n[0], "%lld", (long long)t->read);
    snprintf(n[1], sizeof n[1], "%lld", (long long)t->stored);
    snprintf(n[2], sizeof n[2], "%lld", (long long)t->repaired);
    snprintf(n[3], sizeof n[3], "%lld", (long long)t->rejected);
    snprintf(n[4], sizeof n[4], "%lld", (long long)t->flagged);
    const char *params[] = {id, now, status, n[0], n[1], n[2], n[3], n[4]};
    if ((st = pdb__pg_query(ctx, s->pg,
                            "UPDATE parceldb.import_batches SET finished_at = $2, status = $3, "
                            "read = $4, stored = $5, repaired = $6, rejected = $7, flagged = $8 "
                            "WHERE id = $1",
                            8, params, "closing the import run", &res)) != PDB_OK)
        return st;
    int changed = atoi(PQcmdTuples(res));
    PQclear(res);
    if (changed != 1)
        return pdb__fail(ctx, PDB_ENOTFOUND, "no import run %lld", (long long)batch_id);
    return pdb__ok(ctx);
}

pdb_status pdb__pg_import_find_checksum(pdb_ctx *ctx, pdb_store *s, const char *checksum,
                                        int64_t *batch_out)
{
    const char *params[] = {checksum};
    pdb_status st = query_i64(ctx, s->pg,
                              "SELECT batch_id FROM parceldb.import_files WHERE checksum = $1 "
                              "ORDER BY id DESC LIMIT 1",
                              1, params, "looking up a checksum", batch_out, NULL);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}

/* ------------------------------------------------------------------------ */
/* Backup                                                                    */
/* ------------------------------------------------------------------------ */

/* pg_dump of the server's major version when installed beside it (Debian
 * keeps one per version; an older pg_dump refuses a newer server), else
 * the one on PATH. */
static void find_pg_dump(pdb__pg *pg, char *out, size_t cap)
{
    snprintf(out, cap, "/usr/lib/postgresql/%d/bin/pg_dump", PQserverVersion(pg->conn) / 10000);
    if (access(out, X_OK) != 0)
        snprintf(out, cap, "pg_dump");
}

/* Runs pg_dump into tmp with the exported snapshot; its first line of
 * complaint in the failure. */
static pdb_status run_pg_dump(pdb_ctx *ctx, pdb__pg *pg, const char *snapshot, const char *tmp)
{
    char prog[256], snap_arg[128], file_arg[4300];
    int errpipe[2];

    find_pg_dump(pg, prog, sizeof prog);
    /* The password, if the location has one, goes to pg_dump through its
     * environment, not its command line (which ps shows to everyone);
     * read before the fork, which should not allocate in the child. */
    char *err = NULL, *password = NULL;
    PQconninfoOption *opts = PQconninfoParse(pg->location, &err);
    PQfreemem(err);
    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL && *o->val != '\0')
            password = o->val;
    /* pg_dump's environment: ours, and the password when there is one. */
    char **envp = NULL, *pw_var = NULL;
    if (password != NULL) {
        size_t n = 0;
        while (environ[n] != NULL)
            n++;
        envp = calloc(n + 2, sizeof *envp);
        pw_var = malloc(strlen(password) + sizeof "PGPASSWORD=");
        if (envp == NULL || pw_var == NULL) {
            free(envp);
            free(pw_var);
            PQconninfoFree(opts);
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        }
        memcpy(envp, environ, n * sizeof *envp);
        sprintf(pw_var, "PGPASSWORD=%s", password);
        envp[n] = pw_var;
    }
    snprintf(snap_arg, sizeof snap_arg, "--snapshot=%s", snapshot);
    snprintf(file_arg, sizeof file_arg, "--file=%s", tmp);
    if (pipe(errpipe) != 0) {
        PQconninfoFree(opts);
        free(envp);
        free(pw_var);
        return pdb__fail(ctx, PDB_EIO, "starting pg_dump: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(errpipe[0]);
        close(errpipe[1]);
        PQconninfoFree(opts);
        free(envp);
        free(pw_var);
        return pdb__fail(ctx, PDB_EIO, "starting pg_dump: %s", strerror(errno));
    }
    if (pid == 0) {
        dup2(errpipe[1], 2);
        close(errpipe[0]);
        close(errpipe[1]);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        char *const argv[] = {prog,
                              "--format=custom",
                              "--schema=" PDB_PG_SCHEMA,
                              "--no-password",
                              snap_arg,
                              file_arg,
                              "--dbname",
                              pg->shown,
                              NULL};
        execvpe(prog, argv, envp != NULL ? envp : environ);
        dprintf(2, "cannot run %s: %s\n", prog, strerror(errno));
        _exit(127);
    }
    close(errpipe[1]);
    PQconninfoFree(opts);
    free(envp);
    free(pw_var);
    /* Its complaints are read to the end (the first ones kept), so that
     * it never blocks on a full pipe. */
    char said[1024], rest[1024];
    size_t len = 0;
    ssize_t got;
    for (;;) {
        int full = len == sizeof said - 1;
        got = full ? read(errpipe[0], rest, sizeof rest)
                   : read(errpipe[0], said + len, sizeof said - 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (!full)
            len += (size_t)got;
    }
    said[len] = '\0';
    close(errpipe[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return PDB_OK;
    size_t first = strcspn(said, "\n");
    return pdb__fail(ctx, PDB_EIO, "pg_dump failed: %.*s", (int)first,
                     first ? said : "(no message)");
}

pdb_status pdb__pg_backup(pdb_ctx *ctx, pdb_store *s, const char *dest,
                          const pdb_backup_options *opt, pdb_backup_result *result)
{
    char tmp[4200];
    struct stat sb;
    PGresult *res = NULL;
    pdb_status st;
    int in_tx = 0, fd;
    int64_t version = 0;

    if (result != NULL)
        memset(result, 0, sizeof *result);
    if (dest == NULL || *dest == '\0')
        return pdb__fail(ctx, PDB_EINVAL, "no backup file given");
    if (s->writing)
        return pdb__fail(ctx, PDB_EBUSY, "backup: this connection is writing an import");
    if (stat(dest, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return pdb__fail(ctx, PDB_EINVAL, "%s is a directory; name the backup file", dest);
        if (opt == NULL || !opt->force)
            return pdb__fail(ctx, PDB_EINVAL, "%s already exists; not overwriting it", dest);
    }
    if (snprintf(tmp, sizeof tmp, "%s.partial-%ld", dest, (long)getpid()) >= (int)sizeof tmp)
        return pdb__fail(ctx, PDB_EINVAL, "backup path is too long");
    /* pg_dump reads one snapshot; exporting ours to it makes the version
     * read here the version of the dump. The transaction stays open until
     * pg_dump is done, which the export requires. */
    if ((st = pdb__pg_exec(ctx, s->pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                           "starting the backup")) != PDB_OK)
        return st;
    in_tx = 1;
    if ((st = pdb__pg_query(ctx, s->pg,
                            "SELECT pg_catalog.pg_export_snapshot(), (SELECT value::bigint FROM "
                            "parceldb.meta WHERE key = 'data_version')",
                            0, NULL, "starting the backup", &res)) != PDB_OK)
        goto done;
    version = col_i64(res, 0, 1);
    unlink(tmp);
    if ((st = run_pg_dump(ctx, s->pg, PQgetvalue(res, 0, 0), tmp)) != PDB_OK)
        goto done;
    /* On disk before it takes the name: a crash leaves the old file or
     * the whole new one. */
    if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0 || fsync(fd) != 0 || fstat(fd, &sb) != 0) {
        st = pdb__fail(ctx, PDB_EIO, "writing the backup %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto done;
    }
    close(fd);
    /* Without force, link() refuses a destination that appeared meanwhile. */
    int force = opt != NULL && opt->force;
    if (force ? rename(tmp, dest) != 0 : link(tmp, dest) != 0) {
        st = pdb__fail(ctx, errno == EEXIST ? PDB_EINVAL : PDB_EIO, "%s: %s", dest,
                       errno == EEXIST ? "already exists; not overwriting it" : strerror(errno));
        goto done;
    }
    unlink(tmp); /* after link(): dest holds the file */
    /* The new name on disk too. */
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", dest);
    const char *parent = dirname(dir);
    if ((fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(fd) != 0) {
        st = pdb__fail(ctx, PDB_EIO, "syncing %s: %s", parent, strerror(errno));
        if (fd >= 0)
            close(fd);
        goto done;
    }
    close(fd);
    if (result != NULL) {
        result->pages = 0;
        result->bytes = (int64_t)sb.st_size;
        result->data_version = version;
    }
done:
    PQclear(res);
    if (st != PDB_OK)
        unlink(tmp);
    if (in_tx)
        PQclear(PQexec(s->pg->conn, "COMMIT"));
    return st == PDB_OK ? pdb__ok(ctx) : st;
}

const pdb__store_ops pdb__pg_ops = {
    .name = "postgresql",
    .close = pdb__pg_close,
    .data_version = pdb__pg_data_version,
    .stats_get = pdb__pg_stats_get,
    .check = pdb__pg_check,
    .communes_list = pdb__pg_communes_list,
    .import_begin = pdb__pg_import_begin,
    .import_end = pdb__pg_import_end,
    .import_find_checksum = pdb__pg_import_find_checksum,
    .writer_begin = pdb__pg_writer_begin,
    .writer_add_prepared = pdb__pg_writer_add_prepared,
    .writer_reject = pdb__pg_writer_reject,
    .writer_commit = pdb__pg_writer_commit,
    .writer_free = pdb__pg_writer_free,
    .parcels_at = pdb__pg_parcels_at,
    .parcels_first_at = pdb__pg_parcels_first_at,
    .parcels_by_number = pdb__pg_parcels_by_number,
    .parcels_in_bbox = pdb__pg_parcels_in_bbox,
    .parcel_history = pdb__pg_parcel_history,
    .parcel_get = pdb__pg_parcel_get,
    .features_in_bbox = pdb__pg_features_in_bbox,
    .overview_features = pdb__pg_overview_features,
    .overview_io = &pdb__pg_overview_io,
    .change_apply = pdb__pg_change_apply,
    .parcel_lineage = pdb__pg_parcel_lineage,
    .import_steps = pdb__pg_import_steps,
    .batch_rejects = pdb__pg_batch_rejects,
    .backup = pdb__pg_backup,
};
