/*
 * server.c: the server's life: start-up checks, the per-thread workers,
 * the reloadable configuration, the change log that keeps the tile caches
 * honest, and the signal loop (SIGHUP reloads, SIGTERM drains and exits).
 *
 * Signals are blocked in every thread (the HTTP threads inherit the mask)
 * and taken synchronously by the main thread with sigtimedwait(), so no
 * work ever happens inside a signal handler.
 */
#define _GNU_SOURCE /* setresuid, setresgid, getresuid: all three ids at once */
#include "srv.h"

#include "log.h"

#include <errno.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void pdb_srv_options_default(pdb_srv_options *o)
{
    memset(o, 0, sizeof *o);
    o->db_path = "parcels.sqlite";
    o->listen = "127.0.0.1:8080";
    o->cache_mb = 256;
    o->max_connections = 1024;
    o->max_per_ip = 256;
    o->timeout_s = 15;
    o->drain_s = 30;
    o->max_zoom = 20;
    o->max_limit = 1000;
    o->max_age_s = 60;
    o->access_log = 1;
}

const char *pdb_srv_default_web_dir(void)
{
    static const char *const dirs[] = {
#ifdef PDB_WEB_BUILD_DIR
        PDB_WEB_BUILD_DIR,
#endif
#ifdef PDB_WEB_INSTALL_DIR
        PDB_WEB_INSTALL_DIR,
#endif
        NULL,
    };
    char index[4200];
    const char *env = getenv("PARCELDB_WEB_DIR");
    if (env != NULL && *env != '\0')
        return env;
    for (size_t i = 0; dirs[i] != NULL; i++) {
        snprintf(index, sizeof index, "%s/index.html", dirs[i]);
        if (access(index, R_OK) == 0)
            return dirs[i];
    }
    return NULL;
}

uint64_t pdb_srv_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ------------------------------------------------------------------------ */
/* Configuration (what SIGHUP reloads)                                       */
/* ------------------------------------------------------------------------ */

static pdb_srv_conf *conf_get(pdb_srv *srv)
{
    pthread_mutex_lock(&srv->conf_lock);
    pdb_srv_conf *c = pdb_srv_conf_ref(srv->conf);
    pthread_mutex_unlock(&srv->conf_lock);
    return c;
}

/* ------------------------------------------------------------------------ */
/* Workers: one engine context and store connection per thread              */
/* ------------------------------------------------------------------------ */

static _Thread_local pdb_srv_worker *tl_worker;

static void worker_drop_renderer(pdb_srv_worker *w)
{
#ifdef PDB_SRV_HAVE_TILER
    pdb_renderer_free(w->renderer);
#endif
    w->renderer = NULL;
}

static void worker_free(void *p)
{
    pdb_srv_worker *w = p;
    if (w == NULL)
        return;
    worker_drop_renderer(w);
    pdb_store_close(w->store);
    pdb_srv_conf_unref(w->conf);
    pdb_ctx_free(w->ctx);
    free(w);
    if (tl_worker == w)
        tl_worker = NULL;
}

pdb_srv_worker *pdb_srv_worker_get(pdb_srv *srv)
{
    pdb_srv_worker *w = tl_worker;
    if (w != NULL)
        return w;
    if ((w = calloc(1, sizeof *w)) == NULL)
        return NULL;
    w->srv = srv;
    if (pdb_ctx_new(&w->ctx) != PDB_OK) {
        free(w);
        return NULL;
    }
    pdb_limits lim = {0};
    lim.max_results = srv->opt.max_limit + 1;
    pdb_ctx_set_limits(w->ctx, &lim);
    w->conf_gen = atomic_load(&srv->conf_gen);
    w->conf = conf_get(srv);
    pthread_setspecific(srv->worker_key, w);
    tl_worker = w;
    return w;
}

void pdb_srv_worker_reset_store(pdb_srv_worker *w)
{
    worker_drop_renderer(w);
    pdb_store_close(w->store);
    w->store = NULL;
}

int pdb_srv_worker_ready(pdb_srv_worker *w, int need_renderer, char *msg, size_t cap)
{
    pdb_srv *srv = w->srv;
    unsigned gen = atomic_load_explicit(&srv->conf_gen, memory_order_acquire);
    if (gen != w->conf_gen) {
        worker_drop_renderer(w);
        pdb_srv_conf_unref(w->conf);
        w->conf = conf_get(srv);
        w->conf_gen = gen;
    }
    unsigned sgen = atomic_load_explicit(&srv->store_gen, memory_order_acquire);
    if (w->store != NULL && sgen != w->store_gen)
        pdb_srv_worker_reset_store(w);
    if (w->store == NULL) {
        if (pdb_store_open(w->ctx, srv->opt.db_path, PDB_OPEN_READONLY, &w->store) != PDB_OK) {
            snprintf(msg, cap, "the store cannot be opened: %s", pdb_errmsg(w->ctx));
            return -1;
        }
        w->store_gen = sgen;
    }
#ifdef PDB_SRV_HAVE_TILER
    if (need_renderer && w->renderer == NULL) {
        pdb_renderer_options ro = {0};
        ro.max_zoom = srv->opt.max_zoom;
        if (w->conf->style == NULL) {
            snprintf(msg, cap, "no map style is loaded");
            return -1;
        }
        char err[PDB_SRV_ERRMAX];
        if (pdb_renderer_new(w->ctx, w->store, w->conf->style, &ro, &w->renderer, err,
                             sizeof err) != PDB_OK) {
            snprintf(msg, cap, "the renderer cannot start: %s", err);
            return -1;
        }
    }
#else
    if (need_renderer) {
        snprintf(msg, cap, "this build has no tile renderer");
        return -1;
    }
#endif
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Data versions and the change log                                          */
/* ------------------------------------------------------------------------ */

pdb_srv_commune_state *pdb_srv_commune_rows(const pdb_commune_list *list, size_t *n)
{
    pdb_srv_commune_state *rows = calloc(list->count ? list->count : 1, sizeof *rows);
    *n = 0;
    if (rows == NULL)
        return NULL;
    for (size_t i = 0; i < list->count; i++) {
        const pdb_commune *c = &list->items[i];
        pdb_srv_commune_state *r = &rows[i];
        snprintf(r->code, sizeof r->code, "%s", c->code);
        /* The engine reads a NULL box (no parcels) as zeros. */
        for (int k = 0; k < 4; k++)
            r->bbox[k] = c->parcels > 0 ? c->bbox[k] : NAN;
        r->parcels = c->parcels;
        r->last_batch = c->last_batch;
        r->source_srid = c->source_srid;
    }
    *n = list->count;
    return rows;
}

/* The union of the communes' boxes (NAN when none has parcels). */
static void data_bounds(const pdb_srv_commune_state *rows, size_t n, double out[4])
{
    out[0] = out[1] = INFINITY;
    out[2] = out[3] = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (isnan(rows[i].bbox[0]))
            continue;
        out[0] = fmin(out[0], rows[i].bbox[0]);
        out[1] = fmin(out[1], rows[i].bbox[1]);
        out[2] = fmax(out[2], rows[i].bbox[2]);
        out[3] = fmax(out[3], rows[i].bbox[3]);
    }
    if (!(out[0] <= out[2]))
        out[0] = out[1] = out[2] = out[3] = NAN;
}

/* Whether a commune's overviews are built: a commune imported since its
 * last rebuild has no outline among the overview shapes (parceldb.h).
 * The finest band is asked: coarser ones drop communes smaller than their
 * pixels. */
typedef struct outline_probe {
    const char *code; /* the commune */
    int found;        /* 1 when its outline was seen */
} outline_probe;

static int probe_outline(void *arg, const pdb_feature *f)
{
    outline_probe *p = arg;
    if (f->commune != NULL && strcmp(f->commune, p->code) == 0) {
        p->found = 1;
        return 1;
    }
    return 0;
}

int pdb_srv_read_communes(pdb_ctx *ctx, pdb_store *store, int64_t *version,
                          pdb_srv_commune_state **rows, size_t *n, char *msg, size_t cap)
{
    /* The version before and after must agree (it only grows): then the
     * rows and overview states all belong to that version. */
    for (int attempt = 0; attempt < 8; attempt++) {
        int64_t before, after;
        pdb_commune_list *list = NULL;
        pdb_srv_commune_state *r = NULL;
        size_t count = 0;
        if (pdb_store_data_version(ctx, store, &before) != PDB_OK ||
            pdb_communes_list(ctx, store, &list) != PDB_OK) {
            pdb_commune_list_free(list);
            snprintf(msg, cap, "reading the store: %s", pdb_errmsg(ctx));
            return -1;
        }
        r = pdb_srv_commune_rows(list, &count);
        pdb_commune_list_free(list);
        if (r == NULL) {
            snprintf(msg, cap, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < count; i++) {
            outline_probe p = {.code = r[i].code, .found = 0};
            r[i].overview_fresh = -1;
            if (isnan(r[i].bbox[0]))
                continue;
            if (pdb_overview_features(ctx, store, PDB_OVERVIEW_MAX_ZOOM, PDB_OVERVIEW_COMMUNES,
                                      r[i].bbox, probe_outline, &p) == PDB_OK)
                r[i].overview_fresh = p.found;
        }
        if (pdb_store_data_version(ctx, store, &after) != PDB_OK) {
            free(r);
            snprintf(msg, cap, "reading the store: %s", pdb_errmsg(ctx));
            return -1;
        }
        if (before == after) {
            *rows = r;
            *n = count;
            *version = after;
            return 0;
        }
        free(r);
    }
    snprintf(msg, cap, "the store kept changing while it was read");
    return -1;
}

static int read_snapshot(pdb_srv_worker *w, int64_t *version, pdb_srv_commune_state **rows,
                         size_t *n, char *msg, size_t cap)
{
    return pdb_srv_read_communes(w->ctx, w->store, version, rows, n, msg, cap);
}

static void save_state(pdb_srv *srv, pdb_srv_conf *conf)
{
    if (conf->disk == NULL)
        return;
    char *text = pdb_srv_changes_format(&srv->changes);
    if (text == NULL || pdb_srv_disk_state_write(conf->disk, text) != 0)
        pdb_srv_say("warning: cannot write the disk cache's state: %s", strerror(errno));
    free(text);
}

int pdb_srv_sync_version(pdb_srv *srv, pdb_srv_worker *w, int64_t version, char *msg, size_t cap)
{
    pdb_srv_commune_state *rows = NULL;
    double(*boxes)[4] = NULL;
    size_t n = 0, nboxes = 0;
    int64_t v;

    if (version == atomic_load(&srv->seen_version))
        return 0;
    pthread_mutex_lock(&srv->sync_lock);
    if (version == atomic_load(&srv->seen_version)) {
        pthread_mutex_unlock(&srv->sync_lock); /* another thread did it */
        return 0;
    }
    if (read_snapshot(w, &v, &rows, &n, msg, cap) != 0) {
        pthread_mutex_unlock(&srv->sync_lock);
        return -1;
    }
    pthread_rwlock_wrlock(&srv->changes_lock);
    pdb_srv_advance adv = pdb_srv_changes_advance(&srv->changes, v, rows, n, &boxes, &nboxes);
    data_bounds(rows, n, srv->data_bounds);
    atomic_store(&srv->seen_epoch, (int_fast64_t)srv->changes.epoch);
    pthread_rwlock_unlock(&srv->changes_lock);
    /* The cache's lookups compare versions too; dropping here frees memory
     * at once and keeps the "invalidated" count honest. */
    if (adv == PDB_SRV_ADVANCE_REGIONS)
        for (size_t i = 0; i < nboxes; i++)
            pdb_srv_cache_invalidate(srv->cache, boxes[i]);
    else if (adv == PDB_SRV_ADVANCE_ALL || adv == PDB_SRV_ADVANCE_EPOCH)
        pdb_srv_cache_clear(srv->cache);
    if (adv != PDB_SRV_ADVANCE_SAME)
        atomic_fetch_add(&srv->metrics.invalidations, 1);
    pthread_rwlock_rdlock(&srv->changes_lock);
    save_state(srv, w->conf);
    pthread_rwlock_unlock(&srv->changes_lock);
    atomic_store(&srv->seen_version, v);
    pthread_mutex_unlock(&srv->sync_lock);
    if (adv != PDB_SRV_ADVANCE_SAME)
        pdb_srv_say("data version %lld: %s", (long long)v,
                    adv == PDB_SRV_ADVANCE_REGIONS ? "tiles of the changed communes dropped"
                                                   : "every cached tile dropped");
    free(boxes);
    free(rows);
    return 0;
}

/* A stable number for this store file, so that ETags survive restarts but
 * not a replaced store. */
static uint64_t store_identity(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return 1;
    uint64_t h = 1469598103934665603ull;
    uint64_t parts[2] = {(uint64_t)sb.st_dev, (uint64_t)sb.st_ino};
    for (int i = 0; i < 2; i++)
        for (int b = 0; b < 8; b++)
            h = (h ^ ((parts[i] >> (8 * b)) & 0xff)) * 1099511628211ull;
    return h ? h : 1;
}

int pdb_srv_changes_start(pdb_srv_changes *c, pdb_srv_disk *disk, const char *db_path,
                          int64_t version, const pdb_srv_commune_state *rows, size_t n)
{
    uint64_t identity = store_identity(db_path);
    double(*boxes)[4] = NULL;
    size_t nboxes = 0;
    int resumed = 0;

    char *text = disk ? pdb_srv_disk_state_read(disk) : NULL;
    if (text != NULL && pdb_srv_changes_parse(c, text) == 0 && c->identity == identity) {
        pdb_srv_changes_advance(c, version, rows, n, &boxes, &nboxes);
        free(boxes);
        resumed = 1;
    }
    free(text);
    if (!resumed && pdb_srv_changes_reset(c, version, identity, rows, n) != 0)
        return -1;
    c->identity = identity;
    return 0;
}

/* Starts the server's change log at the store's current version. */
static int changes_start(pdb_srv *srv, pdb_srv_worker *w, char *msg, size_t cap)
{
    pdb_srv_commune_state *rows = NULL;
    size_t n = 0;
    int64_t v;

    if (read_snapshot(w, &v, &rows, &n, msg, cap) != 0)
        return -1;
    if (pdb_srv_changes_start(&srv->changes, w->conf->disk, srv->opt.db_path, v, rows, n) != 0) {
        free(rows);
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    data_bounds(rows, n, srv->data_bounds);
    free(rows);
    atomic_store(&srv->seen_version, v);
    atomic_store(&srv->seen_epoch, (int_fast64_t)srv->changes.epoch);
    save_state(srv, w->conf);
    return 0;
}

double pdb_srv_store_age_s(const pdb_srv *srv)
{
    char wal[4200];
    struct stat sb;
    time_t newest = 0;
    snprintf(wal, sizeof wal, "%s-wal", srv->opt.db_path);
    if (stat(srv->opt.db_path, &sb) == 0)
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
static int drop_replaced_wal(const char *db_path)
{
    char wal[4200], shm[4200];
    struct stat db, sb;
    static uint64_t warned; /* the last identity warned about, so once each */

    if (stat(db_path, &db) != 0)
        return 0;
    snprintf(wal, sizeof wal, "%s-wal", db_path);
    snprintf(shm, sizeof shm, "%s-shm", db_path);
    if (stat(wal, &sb) == 0) {
        if (!time_before(&sb.st_mtim, &db.st_ctim))
            return 0;
        if (unlink(wal) != 0) {
            uint64_t id = store_identity(db_path);
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

/* The store file changed identity: new epoch, empty caches, fresh
 * connections everywhere. */
static int store_replaced(pdb_srv *srv, pdb_srv_worker *w)
{
    char msg[PDB_SRV_ERRMAX];
    pdb_srv_commune_state *rows = NULL;
    size_t n = 0;
    int64_t v;
    uint64_t identity = store_identity(srv->opt.db_path);

    if (drop_replaced_wal(srv->opt.db_path) != 0)
        return -1;
    atomic_fetch_add(&srv->store_gen, 1);
    pthread_mutex_lock(&srv->sync_lock);
    if (pdb_srv_worker_ready(w, 0, msg, sizeof msg) != 0 ||
        read_snapshot(w, &v, &rows, &n, msg, sizeof msg) != 0) {
        pthread_mutex_unlock(&srv->sync_lock);
        pdb_srv_say("the store was replaced and cannot be read: %s", msg);
        pdb_srv_worker_reset_store(w);
        return 0;
    }
    pthread_rwlock_wrlock(&srv->changes_lock);
    uint64_t epoch = srv->changes.epoch * 6364136223846793005ull + 1442695040888963407ull;
    if (pdb_srv_changes_reset(&srv->changes, v, epoch, rows, n) == 0) {
        srv->changes.identity = identity;
        data_bounds(rows, n, srv->data_bounds);
        atomic_store(&srv->seen_epoch, (int_fast64_t)srv->changes.epoch);
    }
    pthread_rwlock_unlock(&srv->changes_lock);
    pdb_srv_cache_clear(srv->cache);
    pthread_rwlock_rdlock(&srv->changes_lock);
    save_state(srv, w->conf);
    pthread_rwlock_unlock(&srv->changes_lock);
    atomic_store(&srv->seen_version, v);
    atomic_fetch_add(&srv->metrics.invalidations, 1);
    pthread_mutex_unlock(&srv->sync_lock);
    free(rows);
    pdb_srv_say("the store file was replaced (data version %lld): every cached tile dropped",
                (long long)v);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Start, reload, drain                                                      */
/* ------------------------------------------------------------------------ */

/* reopen 0: keep the store connections (a replaced store that cannot be
 * opened safely, see drop_replaced_wal). */
static void reload(pdb_srv *srv, int reopen)
{
    char msg[PDB_SRV_ERRMAX];
    pdb_srv_conf *c = NULL, *old;

    if (pdb_srv_conf_load(&srv->opt, srv->conf, &c, msg, sizeof msg) != 0 ||
        pdb_srv_conf_open_disk(c, &srv->opt, msg, sizeof msg) != 0) {
        pdb_srv_conf_unref(c);
        pdb_srv_say("reload failed, keeping the running configuration: %s", msg);
        return;
    }
    pthread_mutex_lock(&srv->conf_lock);
    old = srv->conf;
    srv->conf = c;
    atomic_fetch_add(&srv->conf_gen, 1);
    if (reopen)
        atomic_fetch_add(&srv->store_gen, 1);
    pthread_mutex_unlock(&srv->conf_lock);
    if (old->style_hash != c->style_hash)
        pdb_srv_cache_clear(srv->cache);
    atomic_fetch_add(&srv->metrics.reloads, 1);
    pdb_srv_say("reloaded: style %016llx, %zu token(s), %zu demo file(s); %s",
                (unsigned long long)c->style_hash, pdb_srv_tokens_count(c->tokens),
                c->web ? c->web->count : 0,
                reopen ? "stores reopen" : "stores kept (see the warning)");
    pdb_srv_conf_unref(old);
}

static void srv_free(pdb_srv *srv)
{
    pdb_srv_cache_free(srv->cache);
    pdb_srv_ratelimit_free(srv->ratelimit);
    pdb_srv_conf_unref(srv->conf);
    pdb_srv_changes_clear(&srv->changes);
    pthread_mutex_destroy(&srv->conf_lock);
    pthread_mutex_destroy(&srv->sync_lock);
    pthread_mutex_destroy(&srv->empty_lock);
    pdb_srv_blob_unref(srv->empty_png[0]);
    pdb_srv_blob_unref(srv->empty_png[1]);
    pthread_rwlock_destroy(&srv->changes_lock);
    pthread_key_delete(srv->worker_key);
    free(srv);
}

/* ------------------------------------------------------------------------ */
/* Privileges: root only binds the port                                      */
/* ------------------------------------------------------------------------ */

/* The user the server runs as, when started as root with --user. */
typedef struct run_as {
    int active;    /* 1: started as root with a user to become */
    uid_t uid;     /* the user's */
    gid_t gid;     /* its primary group */
    char name[64]; /* for messages */
} run_as;

/* Decides whom the server runs as, and becomes that user in effect
 * (setgroups, setegid, seteuid) so that the store and the disk cache are
 * opened, and cache files created, with the rights it will have for good.
 * The style, tokens and demo page are read before, as root (conf.h). The
 * real and saved ids stay root until the port is bound (become_user). */
static int choose_user(pdb_srv *srv, run_as *ra, char *msg, size_t cap)
{
    const pdb_srv_options *o = &srv->opt;
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
static int become_user(pdb_srv *srv, const run_as *ra, char *msg, size_t cap)
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
        pdb_store_open(ctx, srv->opt.db_path, PDB_OPEN_READONLY, &st) != PDB_OK) {
        snprintf(msg, cap, "as user %s the store %s cannot be opened: %s", ra->name,
                 srv->opt.db_path, ctx ? pdb_errmsg(ctx) : "out of memory");
        rc = -1;
    }
    pdb_store_close(st);
    pdb_ctx_free(ctx);
    if (rc == 0 && srv->opt.cache_dir != NULL && access(srv->opt.cache_dir, W_OK | X_OK) != 0) {
        snprintf(msg, cap, "as user %s the cache directory %s is not writable: %s", ra->name,
                 srv->opt.cache_dir, strerror(errno));
        rc = -1;
    }
    return rc;
}

static int write_port_file(const char *path, unsigned port)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -1;
    return 0;
}

int pdb_srv_run(const pdb_srv_options *o)
{
    char msg[PDB_SRV_ERRMAX];
    pdb_srv *srv = calloc(1, sizeof *srv);
    pdb_srv_worker *main_worker = NULL;
    pdb_srv_http *http = NULL;
    run_as ra;
    sigset_t sigs;
    unsigned port = 0;
    int rc = 1;

    if (srv == NULL) {
        pdb_srv_say("out of memory");
        return 1;
    }
    srv->opt = *o;
    if (srv->opt.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        srv->opt.threads = n > 0 && n < 256 ? (unsigned)n : 2;
    }
    if (srv->opt.max_zoom <= 0 || srv->opt.max_zoom > 24)
        srv->opt.max_zoom = srv->opt.max_zoom <= 0 ? 20 : 24;
    if (srv->opt.max_limit == 0)
        srv->opt.max_limit = 1000;
    srv->limits.max_zoom = srv->opt.max_zoom;
    pdb_srv_metrics_init(&srv->metrics);
    pthread_mutex_init(&srv->conf_lock, NULL);
    pthread_mutex_init(&srv->sync_lock, NULL);
    pthread_mutex_init(&srv->empty_lock, NULL);
    pthread_rwlock_init(&srv->changes_lock, NULL);
    pthread_key_create(&srv->worker_key, worker_free);
    clock_gettime(CLOCK_MONOTONIC, &srv->started);
    srv->started_wall = time(NULL);

    /* Block the signals before any thread starts, so that all inherit it. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Every file is read while the server may still read anything: a
     * style, token file or demo page only root can reach works (conf.h). */
    if (pdb_srv_conf_load(&srv->opt, NULL, &srv->conf, msg, sizeof msg) != 0) {
        pdb_srv_say("%s", msg);
        goto done;
    }
    if (choose_user(srv, &ra, msg, sizeof msg) != 0 ||
        pdb_srv_conf_open_disk(srv->conf, &srv->opt, msg, sizeof msg) != 0) {
        pdb_srv_say("%s", msg);
        goto done;
    }
    srv->cache = pdb_srv_cache_new(srv->opt.cache_mb << 20, pdb_srv_render_buffer_px());
    if (srv->cache == NULL) {
        pdb_srv_say("out of memory");
        goto done;
    }
    if (srv->opt.rate_limit > 0) {
        double burst = srv->opt.rate_burst > 0 ? srv->opt.rate_burst : 2 * srv->opt.rate_limit;
        if ((srv->ratelimit = pdb_srv_ratelimit_new(srv->opt.rate_limit, burst)) == NULL) {
            pdb_srv_say("out of memory");
            goto done;
        }
    }
    /* The main thread checks the store first, so that a bad path or a
     * file that is not a store stops the start with a clear line. */
    if ((main_worker = pdb_srv_worker_get(srv)) == NULL) {
        pdb_srv_say("out of memory");
        goto done;
    }
    if (pdb_srv_worker_ready(main_worker, 0, msg, sizeof msg) != 0) {
        pdb_srv_say("%s", msg);
        goto done;
    }
    if (changes_start(srv, main_worker, msg, sizeof msg) != 0) {
        pdb_srv_say("%s", msg);
        goto done;
    }
    /* Root again only to bind the port (one below 1024 needs it), then
     * never again. */
    if (ra.active && seteuid(0) != 0) {
        pdb_srv_say("cannot regain root to bind the port: %s", strerror(errno));
        goto done;
    }
    if (pdb_srv_http_start(srv, &http, &port, msg, sizeof msg) != 0) {
        pdb_srv_say("%s", msg);
        goto done;
    }
    if (become_user(srv, &ra, msg, sizeof msg) != 0) {
        pdb_srv_say("%s", msg);
        goto done;
    }
    if (srv->opt.port_file != NULL && write_port_file(srv->opt.port_file, port) != 0) {
        pdb_srv_say("%s: %s", srv->opt.port_file, strerror(errno));
        goto done;
    }
    {
        const char *l = srv->opt.listen;
        const char *colon = strrchr(l, ':');
        int hostlen = colon ? (int)(colon - l) : (int)strlen(l);
        pdb_srv_say(
            "serving %s on http://%.*s:%u/ (%u threads, data version %lld, %zu token(s), uid %u)",
            srv->opt.db_path, hostlen, l, port, srv->opt.threads,
            (long long)atomic_load(&srv->seen_version), pdb_srv_tokens_count(srv->conf->tokens),
            (unsigned)geteuid());
    }

    for (;;) {
        struct timespec tick = {1, 0};
        siginfo_t si;
        int sig = sigtimedwait(&sigs, &si, &tick);
        if (sig == SIGHUP) {
            /* A replaced store first: the reload reopens every connection. */
            int reopen = 1;
            if (store_identity(srv->opt.db_path) != srv->changes.identity)
                reopen = store_replaced(srv, main_worker) == 0;
            reload(srv, reopen);
            continue;
        }
        if (sig == SIGTERM || sig == SIGINT)
            break;
        /* Once a second: a store file replaced under the same name (a
         * restored backup, a rebuilt store moved into place) is another
         * store: every worker reopens it and no cached tile survives. */
        if (store_identity(srv->opt.db_path) != srv->changes.identity)
            store_replaced(srv, main_worker);
        /* And pick up committed imports even when no tile is asked for,
         * so that /metrics and the caches follow the store. */
        int64_t v;
        if (pdb_srv_worker_ready(main_worker, 0, msg, sizeof msg) == 0 &&
            pdb_store_data_version(main_worker->ctx, main_worker->store, &v) == PDB_OK)
            pdb_srv_sync_version(srv, main_worker, v, msg, sizeof msg);
        else
            pdb_srv_worker_reset_store(main_worker);
    }

    /* Drain: stop accepting, let the requests in flight finish. */
    atomic_store(&srv->draining, 1);
    pdb_srv_http_quiesce(http);
    pdb_srv_say("draining %lld request(s) in flight",
                (long long)atomic_load(&srv->metrics.inflight));
    uint64_t deadline = pdb_srv_now_us() + (uint64_t)srv->opt.drain_s * 1000000u;
    while (atomic_load(&srv->metrics.inflight) > 0 && pdb_srv_now_us() < deadline) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    long long left = (long long)atomic_load(&srv->metrics.inflight);
    pdb_srv_http_stop(http);
    http = NULL;
    if (left > 0)
        pdb_srv_say("stopped with %lld request(s) unfinished", left);
    else
        pdb_srv_say("stopped cleanly");
    rc = 0;
done:
    if (http != NULL)
        pdb_srv_http_stop(http);
    if (main_worker != NULL) {
        pthread_setspecific(srv->worker_key, NULL);
        worker_free(main_worker);
    }
    srv_free(srv);
    return rc;
}
