/*
 * registry_store.c: commune lists in and out of the registry (registry.c):
 * read from a CSV file, read from and written to a store's
 * commune_registry table (the SQLite file here, PostgreSQL in
 * pg_registry.c).
 */
#include "registry.h"

#include "backend.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The CSV file's header: the columns of data/phu-tho-communes.csv. */
#define COMMUNES_HEADER "code,name,former_province,central_meridian,epsg"

/* A commune list is a few hundred kilobytes for the whole country; more
 * is not a commune list. */
#define COMMUNES_MAX_BYTES (16u << 20)

/* Reads the whole file into a NUL-terminated buffer (caller frees). */
static pdb_status slurp(pdb_ctx *ctx, const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;

    *out = NULL;
    if (f == NULL)
        return pdb__fail(ctx, errno == ENOENT ? PDB_ENOTFOUND : PDB_EIO, "%s: %s", path,
                         strerror(errno));
    buf = malloc(COMMUNES_MAX_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory reading %s", path);
    }
    len = fread(buf, 1, COMMUNES_MAX_BYTES + 1, f);
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return pdb__fail(ctx, PDB_EIO, "%s: read error", path);
    }
    if (len > COMMUNES_MAX_BYTES) {
        free(buf);
        return pdb__fail(ctx, PDB_ELIMIT, "%s is over %u MB: not a commune list", path,
                         COMMUNES_MAX_BYTES >> 20);
    }
    buf[len] = '\0';
    if (memchr(buf, '\0', len) != NULL) {
        free(buf);
        return pdb__fail(ctx, PDB_EINVAL, "%s is not a text file (it holds NUL bytes)", path);
    }
    *out = buf;
    return PDB_OK;
}

/* Parses one data line (modified in place) into t. */
static pdb_status parse_line(pdb_ctx *ctx, pdb_commune_table *t, int lineno, char *line)
{
    char *f[6];
    int nf = 0;

    if (strchr(line, '"') != NULL)
        return pdb__fail(ctx, PDB_EINVAL,
                         "%s:%d: quoted fields are not read (a name holds no comma)", t->origin,
                         lineno);
    for (char *p = line; nf < 6; nf++) {
        f[nf] = p;
        p = strchr(p, ',');
        if (p == NULL) {
            nf++;
            break;
        }
        *p++ = '\0';
    }
    if (nf != 5)
        return pdb__fail(ctx, PDB_EINVAL, "%s:%d: %s fields, want 5 (" COMMUNES_HEADER ")",
                         t->origin, lineno,
                         nf > 5    ? "more than 5"
                         : nf == 4 ? "4"
                                   : "fewer");
    int epsg = 0, used = 0;
    if (sscanf(f[4], "EPSG:%d%n", &epsg, &used) != 1 || f[4][used] != '\0')
        return pdb__fail(ctx, PDB_EINVAL, "%s:%d: epsg '%.20s' is not written EPSG:N", t->origin,
                         lineno, f[4]);
    return pdb__commune_table_push(ctx, t, lineno, f[0], f[1], f[2], f[3], epsg);
}

pdb_status pdb_commune_table_read(pdb_ctx *ctx, const char *path, pdb_commune_table **out)
{
    pdb_commune_table *t = NULL;
    char *buf = NULL;
    pdb_status st;

    if (out == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no place for the commune table");
    *out = NULL;
    if (path == NULL || *path == '\0')
        return pdb__fail(ctx, PDB_EINVAL, "no commune list given");
    if ((st = slurp(ctx, path, &buf)) != PDB_OK)
        return st;
    if ((t = pdb__commune_table_new(path)) == NULL) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory reading %s", path);
        goto done;
    }
    char *p = buf;
    if (strncmp(p, "\xEF\xBB\xBF", 3) == 0) /* a byte-order mark, as spreadsheets write */
        p += 3;
    for (int lineno = 1; *p != '\0'; lineno++) {
        char *end = strchr(p, '\n');
        char *next = end ? end + 1 : p + strlen(p);
        if (end != NULL)
            *end = '\0';
        size_t len = strlen(p);
        if (len > 0 && p[len - 1] == '\r')
            p[len - 1] = '\0';
        if (lineno == 1) {
            if (strcmp(p, COMMUNES_HEADER) != 0) {
                st = pdb__fail(ctx, PDB_EINVAL, "%s:1: the header is not '" COMMUNES_HEADER "'",
                               path);
                goto done;
            }
        } else if (*p != '\0' && (st = parse_line(ctx, t, lineno, p)) != PDB_OK)
            goto done;
        p = next;
    }
    if (t->count == 0) {
        st = pdb__fail(ctx, PDB_EINVAL, "%s lists no commune", path);
        goto done;
    }
    if ((st = pdb__registry_check(ctx, t)) != PDB_OK)
        goto done;
    *out = t;
    t = NULL;
    st = pdb__ok(ctx);
done:
    pdb_commune_table_free(t);
    free(buf);
    return st;
}

/* ------------------------------------------------------------------------ */
/* The SQLite store                                                          */
/* ------------------------------------------------------------------------ */

/* Reads the file store's commune_registry (none in a store made before
 * it and opened read-only, which has no table yet). */
static pdb_status sq_read(pdb_ctx *ctx, pdb_store *s, const char *origin, pdb_commune_table **out)
{
    sqlite3_stmt *stmt = NULL;
    pdb_commune_table *t = pdb__commune_table_new(origin);
    pdb_status st = PDB_OK;
    int rc;

    *out = NULL;
    if (t == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory reading the communes of %s", origin);
    rc = sqlite3_prepare_v2(s->db,
                            "SELECT code, name, former_province, epsg FROM commune_registry "
                            "ORDER BY code",
                            -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        /* Only a missing table means "no list"; anything else fails. */
        if (strstr(sqlite3_errmsg(s->db), "no such table") != NULL)
            goto done;
        st = pdb__sql_fail(ctx, s->db, rc, "reading the store's communes");
        goto done;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && st == PDB_OK)
        st = pdb__commune_table_push(ctx, t, 0, (const char *)sqlite3_column_text(stmt, 0),
                                     (const char *)sqlite3_column_text(stmt, 1),
                                     (const char *)sqlite3_column_text(stmt, 2), NULL,
                                     sqlite3_column_int(stmt, 3));
    if (st == PDB_OK && rc != SQLITE_DONE)
        st = pdb__sql_fail(ctx, s->db, rc, "reading the store's communes");
done:
    sqlite3_finalize(stmt);
    if (st != PDB_OK) {
        pdb_commune_table_free(t);
        return st;
    }
    *out = t;
    return PDB_OK;
}

/* Writes t into the file store's commune_registry in one transaction. */
static pdb_status sq_write(pdb_ctx *ctx, pdb_store *s, const pdb_commune_table *t)
{
    sqlite3_stmt *stmt = NULL;
    pdb_status st;
    int rc;

    if ((st = pdb__store_exec(ctx, s, "BEGIN IMMEDIATE")) != PDB_OK)
        return st;
    rc = sqlite3_prepare_v2(s->db,
                            "INSERT INTO commune_registry (code, name, former_province, epsg) "
                            "VALUES (?, ?, ?, ?) ON CONFLICT (code) DO NOTHING",
                            -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        st = pdb__sql_fail(ctx, s->db, rc, "writing the store's communes");
    for (size_t i = 0; i < t->count && st == PDB_OK; i++) {
        const pdb_commune_ref *r = &t->refs[i];
        sqlite3_reset(stmt);
        sqlite3_bind_text(stmt, 1, r->code, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, r->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, r->former_province, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 4, r->epsg);
        if ((rc = sqlite3_step(stmt)) != SQLITE_DONE)
            st = pdb__sql_fail(ctx, s->db, rc, "writing the store's communes");
    }
    sqlite3_finalize(stmt);
    if (st == PDB_OK)
        st = pdb__store_exec(ctx, s, "COMMIT");
    if (st != PDB_OK)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Either store                                                              */
/* ------------------------------------------------------------------------ */

static pdb_status store_read(pdb_ctx *ctx, pdb_store *s, const char *origin,
                             pdb_commune_table **out)
{
    return s->ops == &pdb__pg_ops ? pdb__pg_registry_read(ctx, s, origin, out)
                                  : sq_read(ctx, s, origin, out);
}

pdb_status pdb__registry_load_store(pdb_ctx *ctx, pdb_store *s, const char *location)
{
    char origin[600];
    pdb_commune_table *t = NULL;
    pdb_status st;

    snprintf(origin, sizeof origin, "the commune list of store %s", location);
    if ((st = store_read(ctx, s, origin, &t)) != PDB_OK)
        return st;
    st = t->count ? pdb__registry_add(ctx, t) : pdb__ok(ctx);
    pdb_commune_table_free(t);
    return st;
}

pdb_status pdb_store_communes_add(pdb_ctx *ctx, pdb_store *s, const pdb_commune_table *t)
{
    pdb_status st;

    if (s == NULL || t == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no store or no commune table");
    if (s->readonly)
        return pdb__fail(ctx, PDB_EREADONLY, "the store was opened read-only");
    if (s->writing)
        return pdb__fail(ctx, PDB_EINVAL, "a commune's load is open on this store handle");
    /* Checked before anything is written, again when registered (another
     * thread may have registered a conflicting list meanwhile). */
    if ((st = pdb__registry_check(ctx, t)) != PDB_OK)
        return st;
    st = s->ops == &pdb__pg_ops ? pdb__pg_registry_write(ctx, s, t) : sq_write(ctx, s, t);
    if (st != PDB_OK)
        return st;
    return pdb__registry_add(ctx, t);
}
