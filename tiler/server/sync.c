/*
 * sync.c: the server in step with the store (sync.h). One thread at a
 * time moves the change log (sync_lock); readers of the log take
 * changes_lock for reading.
 */
#include "sync.h"

#include "cache.h"
#include "log.h"
#include "srv.h"
#include "storefile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        r->data_version = c->data_version; /* -1 in a store of schema 1 (changes.h) */
        /* The engine's state is the authority: built (with or without a
         * fallback) means the low zooms draw overview shapes; stale and
         * failed communes are drawn from their parcels. */
        r->overview_state = (int)c->overview_state;
        r->overview_fresh = c->overview_state == PDB_OVERVIEW_STATE_FRESH ||
                            c->overview_state == PDB_OVERVIEW_STATE_FALLBACK;
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

int pdb_srv_changes_start(pdb_srv_changes *c, pdb_srv_disk *disk, const char *db_path,
                          int64_t version, const pdb_srv_commune_state *rows, size_t n)
{
    uint64_t identity = pdb_srv_store_identity(db_path);
    double(*boxes)[4] = NULL;
    size_t nboxes = 0;
    int resumed = 0;

    char *text = disk ? pdb_srv_disk_state_read(disk) : NULL;
    if (text != NULL && pdb_srv_changes_parse(c, text) == 0 && c->identity == identity) {
        pdb_srv_commune_state *copy;
        /* At the same version the log keeps its rows, read back from the
         * file, which does not hold the engine's overview states: take the
         * rows just read, which describe the same data. */
        if (pdb_srv_changes_advance(c, version, rows, n, &boxes, &nboxes) == PDB_SRV_ADVANCE_SAME &&
            n > 0 && (copy = malloc(n * sizeof *copy)) != NULL) {
            memcpy(copy, rows, n * sizeof *copy);
            free(c->communes);
            c->communes = copy;
            c->ncommunes = n;
        }
        free(boxes);
        resumed = 1;
    }
    free(text);
    if (!resumed && pdb_srv_changes_reset(c, version, identity, rows, n) != 0)
        return -1;
    c->identity = identity;
    return 0;
}

int pdb_srv_sync_start(pdb_srv *srv, pdb_srv_worker *w, char *msg, size_t cap)
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

int pdb_srv_store_replaced(pdb_srv *srv, pdb_srv_worker *w)
{
    char msg[PDB_SRV_ERRMAX];
    pdb_srv_commune_state *rows = NULL;
    size_t n = 0;
    int64_t v;
    uint64_t identity = pdb_srv_store_identity(srv->opt.db_path);

    if (pdb_srv_drop_replaced_wal(srv->opt.db_path) != 0)
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

pdb_srv_commune_state *pdb_srv_communes_copy(pdb_srv *srv, size_t *n)
{
    pdb_srv_commune_state *copy = NULL;

    *n = 0;
    pthread_rwlock_rdlock(&srv->changes_lock);
    if (srv->changes.ncommunes > 0 &&
        (copy = malloc(srv->changes.ncommunes * sizeof *copy)) != NULL) {
        memcpy(copy, srv->changes.communes, srv->changes.ncommunes * sizeof *copy);
        *n = srv->changes.ncommunes;
    }
    pthread_rwlock_unlock(&srv->changes_lock);
    return copy;
}
