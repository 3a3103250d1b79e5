/*
 * privileges.c: root only binds the port (privileges.h).
 */
#define _GNU_SOURCE /* setresuid, setresgid, getresuid: all three ids at once */
#include "privileges.h"
#include "storefile.h"

#include "parceldb.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Decides whom the server runs as, and becomes that user in effect
 * (setgroups, setegid, seteuid) so that the store and the disk cache are
 * opened, and cache files created, with the rights it will have for good.
 * The style, tokens and demo page are read before, as root (conf.h). The
 * real and saved ids stay root until the port is bound (pdb_srv_become_user). */
int pdb_srv_choose_user(const pdb_srv_options *o, pdb_srv_run_as *ra, char *msg, size_t cap)
{
    memset(ra, 0, sizeof *ra);
    if (o->user == NULL) {
        if (geteuid() == 0 && !o->allow_root) {
            snprintf(msg, cap,
                     "refusing to run as root: give --user NAME (the server drops "
                     "to it once the port is open) or --allow-root");
            return -1;
        }
        return 0;
    }
    struct passwd pw, *found = NULL;
    char buf[4096];
    int e = getpwnam_r(o->user, &pw, buf, sizeof buf, &found);
    if (found == NULL) {
        snprintf(msg, cap, "--user %s: %s", o->user, e ? strerror(e) : "no such user");
        return -1;
    }
    if (pw.pw_uid == 0) {
        snprintf(msg, cap, "--user %s is root: give an unprivileged user (or --allow-root)",
                 o->user);
        return -1;
    }
    if (geteuid() != 0) {
        if (geteuid() == pw.pw_uid)
            return 0; /* already that user: nothing to drop */
        snprintf(msg, cap, "--user %s needs the server started as root (it runs as uid %u)",
                 o->user, (unsigned)geteuid());
        return -1;
    }
    ra->active = 1;
    ra->uid = pw.pw_uid;
    ra->gid = pw.pw_gid;
    snprintf(ra->name, sizeof ra->name, "%s", o->user);
    /* The store's first connection is opened as root: SQLite then creates
     * the -wal and -shm files beside a WAL store (owned as the store is)
     * if they are missing, and an unprivileged reader can use them read-only
     * without being able to write the store, its WAL or its directory. */
    pdb_ctx *ctx = NULL;
    pdb_store *st = NULL;
    if (pdb_ctx_new(&ctx) == PDB_OK &&
        pdb_store_open(ctx, o->db_path, PDB_OPEN_READONLY, &st) == PDB_OK) {
        int64_t v;
        pdb_store_data_version(ctx, st, &v); /* a read makes SQLite set up the WAL index */
    }
    pdb_store_close(st);
    pdb_ctx_free(ctx);
    if (initgroups(pw.pw_name, pw.pw_gid) != 0 || setegid(pw.pw_gid) != 0 ||
        seteuid(pw.pw_uid) != 0) {
        snprintf(msg, cap, "--user %s: cannot switch to uid %u gid %u: %s", o->user,
                 (unsigned)pw.pw_uid, (unsigned)pw.pw_gid, strerror(errno));
        return -1;
    }
    return 0;
}

/* After the port is bound: drops root for good (real, effective and saved
 * ids, in every thread: glibc applies set*id to the whole process), then
 * checks that it cannot be regained and that the user can read the store
 * and write the disk cache. */
int pdb_srv_become_user(const pdb_srv_options *o, const pdb_srv_run_as *ra, char *msg, size_t cap)
{
    if (!ra->active)
        return 0;
    if (setresgid(ra->gid, ra->gid, ra->gid) != 0 || setresuid(ra->uid, ra->uid, ra->uid) != 0) {
        snprintf(msg, cap, "--user %s: cannot drop root: %s", ra->name, strerror(errno));
        return -1;
    }
    uid_t r, e, s;
    if (setuid(0) == 0 || getresuid(&r, &e, &s) != 0 || r != ra->uid || e != ra->uid ||
        s != ra->uid || getegid() != ra->gid) {
        snprintf(msg, cap, "--user %s: root could not be dropped for good", ra->name);
        return -1;
    }
    pdb_ctx *ctx = NULL;
    pdb_store *st = NULL;
    int rc = 0;
    if (pdb_ctx_new(&ctx) != PDB_OK ||
        pdb_store_open(ctx, o->db_path, PDB_OPEN_READONLY, &st) != PDB_OK) {
        char shown[4096];
        snprintf(msg, cap, "as user %s the store %s cannot be opened: %s", ra->name,
                 pdb_srv_store_shown(o->db_path, shown, sizeof shown),
                 ctx ? pdb_errmsg(ctx) : "out of memory");
        rc = -1;
    }
    pdb_store_close(st);
    pdb_ctx_free(ctx);
    if (rc == 0 && o->cache_dir != NULL && access(o->cache_dir, W_OK | X_OK) != 0) {
        snprintf(msg, cap, "as user %s the cache directory %s is not writable: %s", ra->name,
                 o->cache_dir, strerror(errno));
        rc = -1;
    }
    return rc;
}
