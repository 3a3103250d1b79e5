/*
 * backup.c: a consistent copy of a live store with SQLite's online backup
 * API, safe while the server reads and an import writes.
 *
 * The copy is one committed state: the source connection holds a read
 * transaction for the whole copy (a WAL snapshot), so the pages copied in
 * later steps belong to the same state as the first ones even when an
 * import commits in between. In WAL mode that read transaction blocks no
 * writer; it only keeps the WAL from being checkpointed past it until the
 * copy ends. The copy goes to a temporary file beside the destination,
 * is checked and fsynced, and only then takes the destination's name, so
 * that a crash, a full disk or a kill leaves no half-written backup under
 * that name.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PAGES_PER_STEP 1024
#define DEFAULT_PAUSE_MS 5
#define DEFAULT_BUSY_TIMEOUT_MS 60000
#define BUSY_RETRY_MS 50

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Removes the temporary copy and whatever SQLite made beside it. */
static void remove_temp(const char *tmp)
{
    static const char *const suffixes[] = {"", "-journal", "-wal", "-shm"};
    char p[4200];
    for (size_t i = 0; i < PDB_COUNTOF(suffixes); i++) {
        snprintf(p, sizeof p, "%s%s", tmp, suffixes[i]);
        unlink(p);
    }
}

/* fsync of a file or directory by name; 0 on success, else errno. */
static int sync_path(const char *path, int directory)
{
    int fd = open(path, (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int err = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return err;
}

/* A failure of the copy's connection, with the disk named when it is full. */
static pdb_status dest_fail(pdb_ctx *ctx, sqlite3 *db, int rc, const char *dest)
{
    if ((rc & 0xff) == SQLITE_FULL)
        return pdb__fail(ctx, PDB_EIO,
                         "writing the backup of %s: the disk is full "
                         "(no space left on device)",
                         dest);
    return pdb__sql_fail(ctx, db, rc, "writing the backup");
}

/* Checks where the copy may go; fills dir with dest's directory. */
static pdb_status check_dest(pdb_ctx *ctx, pdb_store *s, const char *dest, int force)
{
    struct stat db, sb;
    char wal[4200];
    const char *src = sqlite3_db_filename(s->db, "main");

    if (stat(dest, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return pdb__fail(ctx, PDB_EINVAL, "%s is a directory; name the backup file", dest);
        if (src != NULL && stat(src, &db) == 0 && db.st_dev == sb.st_dev && db.st_ino == sb.st_ino)
            return pdb__fail(ctx, PDB_EINVAL, "%s is the store itself; back up to another file",
                             dest);
        if (!force)
            return pdb__fail(ctx, PDB_EINVAL, "%s already exists; not overwriting it", dest);
    }
    /* A -wal with frames beside the destination belongs to the file there
     * now (a store in use, or one not closed cleanly): a new file under
     * that name would be read through it and be damaged. An empty one is
     * what a read-only connection leaves behind, and harmless. */
    snprintf(wal, sizeof wal, "%s-wal", dest);
    if (stat(wal, &sb) == 0 && sb.st_size > 0)
        return pdb__fail(ctx, PDB_EINVAL,
                         "%s is in use or was not closed cleanly (%s exists); stop what "
                         "uses it before replacing it",
                         dest, wal);
    return PDB_OK;
}

/* Copies every page, in steps; the source's read transaction is open. */
static pdb_status copy_pages(pdb_ctx *ctx, sqlite3 *dst, sqlite3 *src, const char *dest,
                             const pdb_backup_options *o, int64_t *pages)
{
    int step = o->pages_per_step > 0 ? o->pages_per_step : DEFAULT_PAGES_PER_STEP;
    int pause = o->pause_ms > 0 ? o->pause_ms : DEFAULT_PAUSE_MS;
    int timeout = o->busy_timeout_ms > 0 ? o->busy_timeout_ms : DEFAULT_BUSY_TIMEOUT_MS;
    int64_t busy_since = -1;
    int rc;

    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (b == NULL)
        return dest_fail(ctx, dst, sqlite3_errcode(dst), dest);
    for (;;) {
        rc = sqlite3_backup_step(b, step);
        if (rc == SQLITE_OK || rc == SQLITE_DONE) {
            busy_since = -1;
            if (o->progress != NULL)
                o->progress(o->progress_arg, sqlite3_backup_remaining(b),
                            sqlite3_backup_pagecount(b));
            if (rc == SQLITE_DONE)
                break;
            sleep_ms(pause);
        } else if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
            if (busy_since < 0)
                busy_since = now_ms();
            else if (now_ms() - busy_since > timeout)
                break;
            sleep_ms(BUSY_RETRY_MS);
        } else {
            break;
        }
    }
    *pages = sqlite3_backup_pagecount(b);
    int frc = sqlite3_backup_finish(b);
    if (rc == SQLITE_DONE && frc == SQLITE_OK)
        return PDB_OK;
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        return pdb__fail(ctx, PDB_EBUSY, "backup: the store stayed locked for %d ms", timeout);
    /* backup_finish leaves the step's error on the destination. */
    return dest_fail(ctx, dst, rc == SQLITE_DONE ? frc : rc, dest);
}

/* Runs a statement on the copy whose first row must be "ok" (or, with
 * want NULL, anything). */
static pdb_status dest_pragma(pdb_ctx *ctx, sqlite3 *dst, const char *sql, const char *want,
                              const char *dest)
{
    sqlite3_stmt *stmt = NULL;
    pdb_status st = PDB_OK;
    int rc = sqlite3_prepare_v2(dst, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        st = dest_fail(ctx, dst, rc, dest);
    } else if (want != NULL) {
        const char *got = (const char *)sqlite3_column_text(stmt, 0);
        if (got == NULL || strcmp(got, want) != 0)
            st = pdb__fail(ctx, PDB_ECORRUPT, "the backup failed its check (%s): %s", sql,
                           got ? got : "?");
    }
    sqlite3_finalize(stmt);
    return st;
}

pdb_status pdb__sq_store_backup(pdb_ctx *ctx, pdb_store *s, const char *dest,
                                const pdb_backup_options *opt, pdb_backup_result *result)
{
    static const pdb_backup_options defaults;
    const pdb_backup_options *o = opt ? opt : &defaults;
    char tmp[4200], dir[4200];
    sqlite3 *dst = NULL;
    pdb_status st;
    int own_txn = 0, fd = -1;
    int64_t version = 0, pages = 0;
    struct stat sb;

    if (result != NULL)
        memset(result, 0, sizeof *result);
    if (dest == NULL || *dest == '\0')
        return pdb__fail(ctx, PDB_EINVAL, "no backup file named");
    if (strlen(dest) > 4000)
        return pdb__fail(ctx, PDB_EINVAL, "backup path is too long");
    if (s->writing)
        return pdb__fail(ctx, PDB_EBUSY, "backup: this connection is writing an import");
    if ((st = check_dest(ctx, s, dest, o->force)) != PDB_OK)
        return st;
    char dest_copy[4200];
    snprintf(dest_copy, sizeof dest_copy, "%s", dest);
    snprintf(dir, sizeof dir, "%s", dirname(dest_copy));
    snprintf(tmp, sizeof tmp, "%s.backup-%ld.tmp", dest, (long)getpid());
    remove_temp(tmp);

    /* Create the file ourselves: a directory we may not write is a clear
     * errno here rather than SQLite's "unable to open database file". */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return pdb__fail(ctx, PDB_EIO, "cannot write the backup in %s: %s", dir, strerror(errno));
    /* The copy holds the same personal data as the store: same mode. */
    const char *src = sqlite3_db_filename(s->db, "main");
    if (src != NULL && stat(src, &sb) == 0)
        fchmod(fd, sb.st_mode & 0777);
    close(fd);

    int rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        st = dest_fail(ctx, dst, rc, dest);
        goto done;
    }
    sqlite3_extended_result_codes(dst, 1);
    /* The copy is fsynced once, at the end; SQLite need not sync each step. */
    if ((rc = sqlite3_exec(dst, "PRAGMA synchronous = OFF", NULL, NULL, NULL)) != SQLITE_OK) {
        st = dest_fail(ctx, dst, rc, dest);
        goto done;
    }

    /* One read transaction over the whole copy: one committed state. */
    if (sqlite3_get_autocommit(s->db)) {
        if ((st = pdb__store_exec(ctx, s, "BEGIN")) != PDB_OK)
            goto done;
        own_txn = 1;
    }
    if ((st = pdb_store_data_version(ctx, s, &version)) != PDB_OK)
        goto done;
    if ((st = copy_pages(ctx, dst, s->db, dest, o, &pages)) != PDB_OK)
        goto done;
    if (own_txn) {
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
        own_txn = 0;
    }

    /* A store is a WAL file; check the copy as it will be opened. */
    if ((st = dest_pragma(ctx, dst, "PRAGMA journal_mode = WAL", "wal", dest)) != PDB_OK ||
        (st = dest_pragma(ctx, dst, "PRAGMA integrity_check", "ok", dest)) != PDB_OK)
        goto done;
    /* Closing the last connection checkpoints the copy's WAL into it. */
    rc = sqlite3_close(dst);
    dst = NULL;
    if (rc != SQLITE_OK) {
        st = pdb__fail(ctx, PDB_EIO, "closing the backup: %s", sqlite3_errstr(rc));
        goto done;
    }
    char wal[4300];
    snprintf(wal, sizeof wal, "%s-wal", tmp);
    if (stat(wal, &sb) == 0) {
        st = pdb__fail(ctx, PDB_EIO, "the backup's WAL was not folded into it (%s)", wal);
        goto done;
    }
    int err = sync_path(tmp, 0);
    if (err != 0) {
        st = pdb__fail(ctx, PDB_EIO, "syncing the backup in %s: %s", dir, strerror(err));
        goto done;
    }
    if (stat(tmp, &sb) != 0) {
        st = pdb__fail(ctx, PDB_EIO, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    /* Without force, link() refuses a destination that appeared meanwhile. */
    if (o->force ? rename(tmp, dest) != 0 : link(tmp, dest) != 0) {
        st = pdb__fail(ctx, errno == EEXIST ? PDB_EINVAL : PDB_EIO, "%s: %s", dest,
                       errno == EEXIST ? "already exists; not overwriting it" : strerror(errno));
        goto done;
    }
    if ((err = sync_path(dir, 1)) != 0) {
        st = pdb__fail(ctx, PDB_EIO, "syncing %s: %s", dir, strerror(err));
        goto done;
    }
    if (result != NULL) {
        result->pages = pages;
        result->bytes = (int64_t)sb.st_size;
        result->data_version = version;
    }
    st = PDB_OK;
done:
    if (own_txn)
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (dst != NULL)
        sqlite3_close(dst);
    remove_temp(tmp); /* after link() the name is the backup's: only tmp goes */
    return st == PDB_OK ? pdb__ok(ctx) : st;
}
