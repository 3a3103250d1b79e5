/*
 * search_audit.c: the server's audit writer (search_audit.h). One
 * read-write store handle for the whole process, behind a mutex: personal
 * answers are few next to tiles and public lookups, and a row is one
 * small INSERT, so a queue and a writer thread would buy nothing but a
 * window in which an answer was sent and its row not yet written.
 */
#include "search_audit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A read-write handle shared by the process, behind its lock. */
typedef struct rw_handle {
    pthread_mutex_t lock; /* one writer at a time; guards the fields below */
    pdb_ctx *ctx;         /* the handle's engine context */
    pdb_store *store;     /* the read-write handle, or NULL until first use or after a failure */
    char *path;           /* the location it was opened on */
    dev_t dev;            /* the file's device and inode at open (0 for PostgreSQL): */
    ino_t ino;            /*   a replaced store file means a new handle */
    int atexit_done;      /* the handle is closed at exit (no leak reported) */
} rw_handle;

/* The audit's handle (on --audit-db, or --db), and the changes' (always on
 * --db: the audit may live in a store of its own). Both on one file is
 * two connections: SQLite's lock orders their writes. */
static rw_handle audit = {.lock = PTHREAD_MUTEX_INITIALIZER};
static rw_handle writes = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void handle_close(rw_handle *h)
{
    pdb_store_close(h->store);
    h->store = NULL;
    pdb_ctx_free(h->ctx);
    h->ctx = NULL;
    free(h->path);
    h->path = NULL;
}

static void audit_close(void)
{
    handle_close(&audit);
}

static void writes_close(void)
{
    handle_close(&writes);
}

/* The file's identity, or zeros for a location that is not a file. */
static void file_id(const char *path, dev_t *dev, ino_t *ino)
{
    struct stat sb;
    *dev = 0;
    *ino = 0;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
        *dev = sb.st_dev;
        *ino = sb.st_ino;
    }
}

/* h's handle on db_path, opened when missing or stale (at_exit closes it
 * at exit); h's lock held. */
static int handle_open(rw_handle *h, void (*at_exit)(void), const char *db_path, char *err,
                       size_t errcap)
{
    dev_t dev;
    ino_t ino;
    file_id(db_path, &dev, &ino);
    if (h->store != NULL && strcmp(h->path, db_path) == 0 && h->dev == dev && h->ino == ino)
        return 0;
    handle_close(h);
    if (!h->atexit_done) {
        atexit(at_exit);
        h->atexit_done = 1;
    }
    if (pdb_ctx_new(&h->ctx) != PDB_OK) {
        snprintf(err, errcap, "cannot start the store's writer");
        return -1;
    }
    if ((h->path = strdup(db_path)) == NULL ||
        pdb_store_open(h->ctx, db_path, PDB_OPEN_READWRITE, &h->store) != PDB_OK) {
        const char *why = h->path ? pdb_errmsg(h->ctx) : "out of memory";
        if (h == &audit)
            snprintf(err, errcap,
                     "the audit table cannot be written (%s), so owner names are not "
                     "shown",
                     why);
        else
            snprintf(err, errcap, "the store cannot be written (%s)", why);
        handle_close(h);
        return -1;
    }
    h->dev = dev;
    h->ino = ino;
    return 0;
}

int pdb_srv_audit_personal(const char *db_path, const char *who, const char *what,
                           const pdb_parcel_list *list, char *err, size_t errcap)
{
    int64_t *ids = calloc(list->count + 1, sizeof *ids);
    if (ids == NULL) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < list->count; i++)
        ids[i] = list->items[i].id;
    int rc = pdb_srv_audit_personal_ids(db_path, who, what, ids, list->count, err, errcap);
    free(ids);
    return rc;
}

int pdb_srv_audit_personal_ids(const char *db_path, const char *who, const char *what,
                               const int64_t *ids, size_t n, char *err, size_t errcap)
{
    int rc = -1;
    pthread_mutex_lock(&audit.lock);
    if (handle_open(&audit, audit_close, db_path, err, errcap) == 0) {
        if (pdb_audit_record(audit.ctx, audit.store, who, what, ids, n) == PDB_OK) {
            rc = 0;
        } else {
            snprintf(err, errcap,
                     "the audit table cannot be written (%s), so owner names are "
                     "not shown",
                     pdb_errmsg(audit.ctx));
            handle_close(&audit); /* a new handle next time */
        }
    }
    pthread_mutex_unlock(&audit.lock);
    return rc;
}

pdb_status pdb_srv_with_write_store(const char *db_path,
                                    pdb_status (*fn)(pdb_ctx *ctx, pdb_store *s, void *arg),
                                    void *arg, char *err, size_t errcap)
{
    pdb_status st = PDB_EIO;
    pthread_mutex_lock(&writes.lock);
    if (handle_open(&writes, writes_close, db_path, err, errcap) == 0) {
        st = fn(writes.ctx, writes.store, arg);
        if (st == PDB_ESTORE || st == PDB_EIO || st == PDB_ECORRUPT || st == PDB_ENOTSTORE)
            handle_close(&writes); /* a new handle next time */
    }
    pthread_mutex_unlock(&writes.lock);
    return st;
}
