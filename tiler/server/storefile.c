/*
 * storefile.c: the store file on disk (storefile.h).
 */
#include "storefile.h"

#include "log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* FNV-1a over n bytes, continuing from h. */
static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

int pdb_srv_store_is_file(const char *location)
{
    /* The engine's rule (engine/src/pg_util.c, pdb__location_is_pg) in
     * short: a URI, or a conninfo whose first word is keyword=. A file
     * name with '=' before any '/' is not worth telling apart here: it
     * only loses the file's age in /health. */
    if (strncmp(location, "postgresql://", 13) == 0 || strncmp(location, "postgres://", 11) == 0)
        return 0;
    size_t n = strspn(location, "abcdefghijklmnopqrstuvwxyz_");
    return !(n > 0 && location[n] == '=');
}

const char *pdb_srv_store_shown(const char *location, char *buf, size_t cap)
{
    if (pdb_srv_store_is_file(location) || cap < 16)
        return location;
    /* Copy, replacing a URI's "user:password@" password and the value of
     * every "password" (conninfo keyword or URI query parameter) by "***". */
    const char *scheme = strstr(location, "://");
    const char *pw_from = NULL, *pw_to = NULL; /* the URI's password, if any */
    if (scheme != NULL) {
        const char *auth = scheme + 3;
        size_t alen = strcspn(auth, "/?");
        const char *at = NULL;
        for (const char *q = auth; q < auth + alen; q++)
            if (*q == '@')
                at = q;
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon != NULL) {
            pw_from = colon + 1;
            pw_to = at;
        }
    }
    size_t o = 0;
    for (const char *p = location; *p != '\0' && o + 13 < cap;) {
        if (p == pw_from) {
            memcpy(buf + o, "***", 3);
            o += 3;
            p = pw_to;
            continue;
        }
        if (strncmp(p, "password", 8) == 0 && (p == location || strchr(" \t?&", p[-1]) != NULL)) {
            const char *v = p + 8;
            while (*v == ' ')
                v++;
            if (*v == '=') {
                for (v++; *v == ' ';)
                    v++;
                if (*v == '\'') { /* a quoted conninfo value, with \' and \\ escapes */
                    for (v++; *v != '\0' && *v != '\''; v++)
                        if (*v == '\\' && v[1] != '\0')
                            v++;
                    if (*v == '\'')
                        v++;
                } else {
                    v += strcspn(v, " \t&");
                }
                memcpy(buf + o, "password=***", 12);
                o += 12;
                p = v;
                continue;
            }
        }
        buf[o++] = *p++;
    }
    buf[o] = '\0';
    return buf;
}

/* A stable number for this store, so that ETags survive restarts but not
 * a replaced store file. A PostgreSQL store is named by its location (a
 * store dropped and made again under it starts its data versions anew,
 * which the ETags carry too). */
uint64_t pdb_srv_store_identity(const char *path)
{
    struct stat sb;
    uint64_t h = 1469598103934665603ull;
    if (!pdb_srv_store_is_file(path)) {
        h = fnv1a(h, path, strlen(path));
        return h ? h : 1;
    }
    if (stat(path, &sb) != 0)
        return 1;
    uint64_t parts[2] = {(uint64_t)sb.st_dev, (uint64_t)sb.st_ino};
    for (int i = 0; i < 2; i++)
        for (int b = 0; b < 8; b++)
            h = fnv1a(h, (const unsigned char *)&parts[i] + b, 1);
    return h ? h : 1;
}

double pdb_srv_store_file_age_s(const char *db_path)
{
    char wal[4200];
    struct stat sb;
    time_t newest = 0;
    if (!pdb_srv_store_is_file(db_path))
        return NAN; /* a database, not a file: PostgreSQL keeps no such age */
    snprintf(wal, sizeof wal, "%s-wal", db_path);
    if (stat(db_path, &sb) == 0)
        newest = sb.st_mtime;
    if (stat(wal, &sb) == 0 && sb.st_mtime > newest)
        newest = sb.st_mtime;
    return newest ? difftime(time(NULL), newest) : NAN;
}

/* Whether a is before b. */
static int time_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* A store replaced by a rename (`mv -f new.sqlite parcels.sqlite`) finds
 * the -wal and -shm of the file that was there before under its name.
 * SQLite ties a WAL to its database only by name: the first connection to
 * open the new file would read the old file's frames as its own pages (a
 * damaged store, or the old data), and the first writer would checkpoint
 * them into it for good (tests/faults/replace.sh). A -wal last written
 * before the new file took the name (its ctime, set by the rename) can
 * only be the old file's, so it goes, with its -shm, before any of our
 * connections opens the new file; the old file's connections keep their
 * open descriptors. A -wal written since then is in use with the new file
 * and stays. Returns 0 when the new file may be opened, -1 when the old
 * WAL is still there (it cannot be removed: a directory that is not
 * ours); then the caller keeps the old file's connections. */
int pdb_srv_drop_replaced_wal(const char *db_path)
{
    char wal[4200], shm[4200];
    struct stat db, sb;
    static uint64_t warned; /* the last identity warned about, so once each */

    if (!pdb_srv_store_is_file(db_path) || stat(db_path, &db) != 0)
        return 0;
    snprintf(wal, sizeof wal, "%s-wal", db_path);
    snprintf(shm, sizeof shm, "%s-shm", db_path);
    if (stat(wal, &sb) == 0) {
        if (!time_before(&sb.st_mtim, &db.st_ctim))
            return 0;
        if (unlink(wal) != 0) {
            uint64_t id = pdb_srv_store_identity(db_path);
            if (warned != id)
                pdb_srv_say(
                    "warning: the store file was replaced but %s, the old file's WAL, cannot "
                    "be removed (%s): still serving the old file; restart the server",
                    wal, strerror(errno));
            warned = id;
            return -1;
        }
        pdb_srv_say("removed %s: the WAL of the store file that was replaced", wal);
    }
    if (stat(shm, &sb) == 0 && unlink(shm) != 0)
        pdb_srv_say("warning: cannot remove %s: %s", shm, strerror(errno));
    return 0;
}
