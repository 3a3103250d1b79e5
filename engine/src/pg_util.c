/*
 * pg_util.c: the PostgreSQL store's small helpers (pg.h): failures as one
 * line, statements with text parameters, EWKB for binary COPY, and which
 * store locations are PostgreSQL's.
 */
#include "pg.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int pdb__location_is_pg(const char *location)
{
    static const char *const keywords[] = {"host",
                                           "hostaddr",
                                           "port",
                                           "dbname",
                                           "user",
                                           "password",
                                           "service",
                                           "options",
                                           "sslmode",
                                           "connect_timeout",
                                           "application_name",
                                           "passfile",
                                           "target_session_attrs",
                                           "keepalives",
                                           "gssencmode",
                                           "sslrootcert"};
    if (location == NULL)
        return 0;
    if (strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0)
        return 1;
    size_t n = strspn(location, "abcdefghijklmnopqrstuvwxyz_");
    if (n == 0 || location[n] != '=')
        return 0;
    for (size_t i = 0; i < PDB_COUNTOF(keywords); i++)
        if (strlen(keywords[i]) == n && strncmp(location, keywords[i], n) == 0)
            return 1;
    return 0;
}

pdb_status pdb__pg_fail(pdb_ctx *ctx, pdb__pg *pg, PGresult *res, const char *what)
{
    const char *msg = res ? PQresultErrorMessage(res) : "";
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    pdb_status st = PDB_EINVAL;

    /* A failure without a SQLSTATE is libpq's own, not the server's. When
     * sending a statement finds the server gone ("server closed the
     * connection unexpectedly": a primary stopped while the handle was
     * idle), libpq keeps CONNECTION_OK until it reads the end of the
     * stream: reading now lets it see the loss, so that the handle
     * reconnects and the caller learns PDB_EIO, not a bad request. */
    if (state == NULL && pg != NULL && pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK &&
        PQtransactionStatus(pg->conn) != PQTRANS_ACTIVE)
        PQconsumeInput(pg->conn); /* before msg may point into the connection's message */
    if (msg == NULL || *msg == '\0')
        msg = pg && pg->conn ? PQerrorMessage(pg->conn) : "no connection";
    if (pg == NULL || pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK)
        st = PDB_EIO;
    else if (state != NULL && (strcmp(state, "42501") == 0 || strcmp(state, "25006") == 0))
        st = PDB_EREADONLY;
    else if (state != NULL && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
                               strcmp(state, "55P03") == 0))
        st = PDB_EBUSY;
    else if (state != NULL && strncmp(state, "08", 2) == 0)
        st = PDB_EIO;
    /* PostgreSQL's messages start with "ERROR:  " and may run over lines:
     * the first line of the text is what a user reads. */
    if (strncmp(msg, "ERROR:  ", 8) == 0)
        msg += 8;
    size_t len = strcspn(msg, "\n");
    while (len > 0 && isspace((unsigned char)msg[len - 1]))
        len--;
    st = pdb__fail(ctx, st, "%s: %.*s", what, (int)len, msg);
    PQclear(res);
    /* A lost connection fails this operation; the next one finds the
     * handle reconnected when the server is back (the message is copied
     * above: a reset replaces the connection's). */
    if (st == PDB_EIO && pg != NULL && pg->conn != NULL)
        pdb__pg_reconnect(pg);
    return st;
}

int64_t pdb__pg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* libpq prints the server's notices (NOTICE, WARNING) on stderr by
 * default; the library never prints. */
static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

pdb_status pdb__pg_session(pdb_ctx *ctx, pdb__pg *pg)
{
    pdb_status st;
    PQsetNoticeProcessor(pg->conn, quiet_notices, NULL);
    /* Text travels as UTF-8 whatever the database's or the role's
     * default, as the SQLite store keeps it. */
    if (PQsetClientEncoding(pg->conn, "UTF8") != 0)
        return pdb__pg_fail(ctx, pg, NULL, "setting the client encoding to UTF-8");
    /* Writers announce each commit (pg_writer.c: NOTIFY parceldb), so
     * that a reader's data version costs no round trip until one comes
     * (pdb__pg_data_version). A hot standby refuses LISTEN: the poll
     * covers it, and pdb__pg_data_version listens once the standby is
     * promoted. */
    pdb__pg_listen(pg);
    pg->dv_read_ms = 0;
    /* The server refuses every write of a read-only session, whatever the
     * role may do, as SQLite's query_only does. */
    if (pg->readonly && (st = pdb__pg_exec(ctx, pg, "SET default_transaction_read_only = on",
                                           "opening the store read-only")) != PDB_OK)
        return st;
    return PDB_OK;
}

int pdb__pg_listen(pdb__pg *pg)
{
    PGresult *res = PQexec(pg->conn, "LISTEN parceldb");
    pg->listening = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return pg->listening;
}

int pdb__pg_reconnect(pdb__pg *pg)
{
    /* Only a read-only handle: a writer's transaction may have died with
     * the connection, and its next statement must fail, not run alone on
     * a new one. */
    if (pg->conn == NULL || !pg->readonly || pg->load != NULL)
        return 0;
    if (PQstatus(pg->conn) == CONNECTION_OK)
        return 1;
    int64_t now = pdb__pg_now_ms();
    if (pg->reset_ms != 0 && now - pg->reset_ms < PDB_PG_RECONNECT_MS)
        return 0;
    pg->reset_ms = now;
    PQreset(pg->conn);
    if (PQstatus(pg->conn) != CONNECTION_OK)
        return 0;
    /* A new session: nothing prepared, no snapshot, the settings again. */
    pg->prepared = 0;
    pg->in_read = 0;
    pdb_ctx *quiet = NULL;
    if (pdb_ctx_new(&quiet) != PDB_OK)
        return 0;
    pdb_status st = pdb__pg_session(quiet, pg);
    pdb_ctx_free(quiet);
    return st == PDB_OK && PQstatus(pg->conn) == CONNECTION_OK;
}

pdb_status pdb__pg_query(pdb_ctx *ctx, pdb__pg *pg, const char *sql, int nparams,
                         const char *const *params, const char *what, PGresult **out)
{
    pdb_status st;
    *out = NULL;
    if (pg->load != NULL && (st = pdb__pg_load_pause(ctx, pg)) != PDB_OK)
        return st;
    PGresult *res = PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType rs = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK)
        return pdb__pg_fail(ctx, pg, res, what);
    *out = res;
    return pdb__ok(ctx);
}

pdb_status pdb__pg_prepared(pdb_ctx *ctx, pdb__pg *pg, pdb__pg_stmt id, const char *sql,
                            int nparams, const char *const *params, const char *what,
                            PGresult **out)
{
    _Static_assert(PDB_PG_STMT_COUNT <= 32, "pdb__pg.prepared has 32 bits");
    char name[24];
    pdb_status st;
    *out = NULL;
    if (pg->load != NULL && (st = pdb__pg_load_pause(ctx, pg)) != PDB_OK)
        return st;
    snprintf(name, sizeof name, "pdb_%d", (int)id);
    if (!(pg->prepared & (1u << id))) {
        PGresult *res = PQprepare(pg->conn, name, sql, nparams, NULL);
        if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
            return pdb__pg_fail(ctx, pg, res, what);
        PQclear(res);
        pg->prepared |= 1u << id;
    }
    PGresult *res = PQexecPrepared(pg->conn, name, nparams, params, NULL, NULL, 0);
    ExecStatusType rs = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK)
        return pdb__pg_fail(ctx, pg, res, what);
    *out = res;
    return pdb__ok(ctx);
}

pdb_status pdb__pg_exec(pdb_ctx *ctx, pdb__pg *pg, const char *sql, const char *what)
{
    pdb_status st;
    if (pg->load != NULL && (st = pdb__pg_load_pause(ctx, pg)) != PDB_OK)
        return st;
    PGresult *res = PQexec(pg->conn, sql);
    ExecStatusType rs = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK)
        return pdb__pg_fail(ctx, pg, res, what);
    PQclear(res);
    return pdb__ok(ctx);
}

pdb_status pdb__pg_write_begin(pdb_ctx *ctx, pdb__pg *pg, const char *what)
{
    pdb_status st;
    if ((st = pdb__pg_exec(ctx, pg, "BEGIN", what)) != PDB_OK)
        return st;
    if ((st = pdb__pg_exec(ctx, pg, "SET LOCAL lock_timeout = '10s'", what)) != PDB_OK ||
        (st = pdb__pg_exec(ctx, pg,
                           "SELECT value FROM parceldb.meta WHERE key = 'data_version' FOR UPDATE",
                           what)) != PDB_OK)
        PQclear(PQexec(pg->conn, "ROLLBACK"));
    return st;
}

size_t pdb__pg_ewkb_into(const unsigned char *wkb, size_t len, int srid, unsigned char *dst)
{
    if (wkb == NULL || len < 5 || (wkb[0] != 0 && wkb[0] != 1))
        return 0;
    int little = wkb[0] == 1;
    uint32_t type = little ? (uint32_t)wkb[1] | (uint32_t)wkb[2] << 8 | (uint32_t)wkb[3] << 16 |
                                 (uint32_t)wkb[4] << 24
                           : (uint32_t)wkb[4] | (uint32_t)wkb[3] << 8 | (uint32_t)wkb[2] << 16 |
                                 (uint32_t)wkb[1] << 24;
    uint32_t s = (uint32_t)srid;
    if (type & 0x20000000u) { /* EWKB already: its SRID is replaced */
        if (len < 9)
            return 0;
        memcpy(dst, wkb, len);
        for (int i = 0; i < 4; i++)
            dst[5 + i] = (unsigned char)(s >> (little ? 8 * i : 8 * (3 - i)));
        return len;
    }
    type |= 0x20000000u; /* EWKB: an SRID follows the type */
    dst[0] = wkb[0];
    for (int i = 0; i < 4; i++) {
        int shift = little ? 8 * i : 8 * (3 - i);
        dst[1 + i] = (unsigned char)(type >> shift);
        dst[5 + i] = (unsigned char)(s >> shift);
    }
    memcpy(dst + 9, wkb + 5, len - 5);
    return len + 4;
}

pdb_status pdb__pg_ewkb(pdb_ctx *ctx, const unsigned char *wkb, size_t len, int srid,
                        unsigned char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (wkb == NULL || len < 5 || (wkb[0] != 0 && wkb[0] != 1))
        return pdb__fail(ctx, PDB_EINVAL, "geometry is not WKB");
    unsigned char *e = malloc(len + 4);
    if (e == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    size_t n = pdb__pg_ewkb_into(wkb, len, srid, e);
    if (n == 0) {
        free(e);
        return pdb__fail(ctx, PDB_EINVAL, "geometry is not WKB");
    }
    *out = e;
    *out_len = n;
    return pdb__ok(ctx);
}

char *pdb__pg_location_shown(const char *location)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(location, &err);
    int has_password = 0;

    PQfreemem(err);
    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL && *o->val != '\0')
            has_password = 1;
    if (!has_password) {
        PQconninfoFree(opts);
        return pdb__strdup(location);
    }
    /* Rebuilt from what libpq parsed, as a conninfo string, password left
     * out: a URI's password can sit in its user part or in its query. */
    size_t cap = 2 * strlen(location) + 256, len = 0;
    char *out = malloc(cap);
    if (out != NULL) {
        out[0] = '\0';
        for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
            if (o->val == NULL || *o->val == '\0' || strcmp(o->keyword, "password") == 0)
                continue;
            int n = snprintf(out + len, cap - len, "%s%s=%s", len ? " " : "", o->keyword, o->val);
            if (n < 0 || (size_t)n >= cap - len)
                break;
            len += (size_t)n;
        }
    }
    PQconninfoFree(opts);
    return out;
}
