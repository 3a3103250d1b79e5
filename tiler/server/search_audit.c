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

static struct {
    pthread_mutex_t lock; /* one writer at a time; guards the fields below */
    pdb_ctx *ctx;         /* the handle's engine context */
    pdb_store *store;     /* the read-write handle, or NULL until first use or after a failure */
    char *path;           /* the location it was opened on */
    dev_t dev;            /* the file's device and inode at open (0 for PostgreSQL): */
    ino_t ino;            /*   a replaced store file means a new handle */
    int atexit_done;      /* the handle is closed at exit (no leak reported) */
} audit = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void audit_close(void)
{
    pdb_store_close(audit.store);
    audit.store = NULL;
    pdb_ctx_free(audit.ctx);
    audit.ctx = NULL;
    free(audit.path);
    audit.path = NULL;
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

/* The handle for db_path, opened when missing or stale; lock held. */
static int audit_open(const char *db_path, char *err, size_t errcap)
{
    dev_t dev;
    ino_t ino;
    file_id(db_path, &dev, &ino);
    if (audit.store != NULL && strcmp(audit.path, db_path) == 0 && audit.dev == dev &&
        audit.ino == ino)
        return 0;
    audit_close();
    if (!audit.atexit_done) {
        atexit(audit_close);
        audit.atexit_done = 1;
    }
    if (pdb_ctx_new(&audit.ctx) != PDB_OK) {
        snprintf(err, errcap, "cannot start the audit writer");
        return -1;
    }
    if ((audit.path = strdup(db_path)) == NULL ||
        pdb_store_open(audit.ctx, db_path, PDB_OPEN_READWRITE, &audit.store) != PDB_OK) {
        snprintf(err, errcap,
                 "the audit table cannot be written (%s), so owner names are not "
                 "shown",
                 audit.path ? pdb_errmsg(audit.ctx) : "out of memory");
        audit_close();
        return -1;
    }
    audit.dev = dev;
    audit.ino = ino;
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
    if (audit_open(db_path, err, errcap) == 0) {
        if (pdb_audit_record(audit.ctx, audit.store, who, what, ids, n) == PDB_OK) {
            rc = 0;
        } else {
            snprintf(err, errcap,
                     "the audit table cannot be written (%s), so owner names are "
                     "not shown",
                     pdb_errmsg(audit.ctx));
            audit_close(); /* a new handle next time */
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
    pthread_mutex_lock(&audit.lock);
    if (audit_open(db_path, err, errcap) == 0) {
        st = fn(audit.ctx, audit.store, arg);
        if (st == PDB_ESTORE || st == PDB_EIO || st == PDB_ECORRUPT || st == PDB_ENOTSTORE)
            audit_close(); /* a new handle next time */
    }
    pthread_mutex_unlock(&audit.lock);
    return st;
}
