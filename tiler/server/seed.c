/*
 * seed.c: `parceldb seed`: renders a zoom range over a box into the disk
 * cache the server reads, with the same file layout, versions and change
 * log, so that a seeded tile is served as if the server had rendered it.
 * Tiles already current in the cache are skipped, so a rerun after an
 * interruption only does what is left.
 */
#include "sync.h"
#include "tiles.h"
#include "util.h"
#include "worker.h"

#include "log.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void pdb_srv_seed_options_default(pdb_srv_seed_options *o)
{
    memset(o, 0, sizeof *o);
    o->db_path = "parcels.sqlite";
    o->zoom_min = 0;
    o->zoom_max = 14;
    for (int i = 0; i < 4; i++)
        o->bbox[i] = NAN;
    o->scales = 1;
    o->progress = -1;
    o->max_zoom = 20;
    o->max_tiles = 10000000;
}

__attribute__((format(printf, 1, 2))) static int seed_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pdb_srv_vsay("seed", fmt, ap);
    va_end(ap);
    return 1;
}

/* The tile ranges of one zoom. */
typedef struct zoom_range {
    int z;           /* zoom */
    uint32_t x0, x1; /* columns, inclusive */
    uint32_t y0, y1; /* rows, inclusive */
    uint64_t first;  /* index of this zoom's first tile in the job */
    uint64_t count;  /* tiles at this zoom, times the scales */
} zoom_range;

typedef struct seed_job {
    const pdb_srv_seed_options *o;  /* options */
    const pdbt_style *style;        /* shared style */
    uint64_t style_hash;            /* its hash */
    pdb_srv_disk *disk;             /* the cache */
    const pdb_srv_changes *changes; /* the change log (read-only while seeding) */
    zoom_range zr[25];              /* per zoom */
    int nz;                         /* zooms */
    int nscales;                    /* 1 or 2 */
    int scale[2];                   /* the scales */
    uint64_t total;                 /* tiles in the job */
    atomic_uint_fast64_t next;      /* next tile index to take */
    atomic_uint_fast64_t done;      /* tiles finished */
    atomic_uint_fast64_t rendered;  /* tiles rendered and written */
    atomic_uint_fast64_t skipped;   /* tiles already current */
    atomic_uint_fast64_t failed;    /* tiles that failed */
    atomic_int stop;                /* 1 after a fatal error */
    char error[PDB_SRV_ERRMAX];     /* the first fatal error */
    pthread_mutex_t error_lock;     /* guards error */
} seed_job;

static void job_error(seed_job *j, const char *msg)
{
    pthread_mutex_lock(&j->error_lock);
    if (j->error[0] == '\0')
        snprintf(j->error, sizeof j->error, "%s", msg);
    pthread_mutex_unlock(&j->error_lock);
    atomic_store(&j->stop, 1);
}

/* Index -> tile. */
static void job_tile(const seed_job *j, uint64_t i, int *z, uint32_t *x, uint32_t *y, int *scale)
{
    const zoom_range *r = &j->zr[0];
    for (int k = 0; k < j->nz; k++)
        if (i >= j->zr[k].first && i < j->zr[k].first + j->zr[k].count)
            r = &j->zr[k];
    uint64_t local = i - r->first;
    uint64_t per_scale = r->count / (uint64_t)j->nscales;
    uint64_t width = (uint64_t)(r->x1 - r->x0) + 1;
    *scale = j->scale[local / per_scale];
    local %= per_scale;
    *z = r->z;
    *x = r->x0 + (uint32_t)(local % width);
    *y = r->y0 + (uint32_t)(local / width);
}

static void *seed_thread(void *arg)
{
    seed_job *j = arg;
    pdb_ctx *ctx = NULL;
    pdbt_ctx *tctx = NULL;
    pdb_store *store = NULL;
    pdbt_renderer *renderer = NULL;
    pdbt_renderer_options ro = {0};
    pdb_srv_worker w = {0};
    char msg[PDB_SRV_ERRMAX];

    ro.max_zoom = j->o->max_zoom;
    if (pdb_ctx_new(&ctx) != PDB_OK || pdbt_ctx_new(ctx, &tctx) != PDB_OK) {
        pdb_ctx_free(ctx);
        job_error(j, "out of memory");
        return NULL;
    }
    if (pdb_store_open(ctx, j->o->db_path, PDB_OPEN_READONLY, &store) != PDB_OK) {
        job_error(j, pdb_errmsg(ctx));
        goto done;
    }
    if (pdbt_renderer_new(tctx, store, j->style, &ro, &renderer) != PDB_OK) {
        job_error(j, pdbt_errmsg(tctx));
        goto done;
    }
    w.ctx = ctx;
    w.tctx = tctx;
    w.store = store;
    w.renderer = renderer;
    while (!atomic_load(&j->stop)) {
        uint64_t i = atomic_fetch_add(&j->next, 1);
        int z, scale;
        uint32_t x, y;
        if (i >= j->total)
            break;
        job_tile(j, i, &z, &x, &y, &scale);
        pdb_srv_tile_key key = {.style = j->style_hash,
                                .x = x,
                                .y = y,
                                .z = (uint8_t)z,
                                .scale = (uint8_t)scale,
                                .kind = j->o->mvt ? PDB_SRV_TILE_MVT : PDB_SRV_TILE_PNG};
        double merc[4];
        int64_t version, before = 0, after = -1;
        pdb_srv_tile_buffered_merc(z, x, y, pdb_srv_render_buffer_px(), merc);
        int64_t cv = pdb_srv_changes_tile_version(j->changes, merc);
        pdb_srv_blob *png = pdb_srv_disk_get(j->disk, &key, j->changes->epoch, cv, &version);
        if (png != NULL) {
            pdb_srv_blob_unref(png);
            atomic_fetch_add(&j->skipped, 1);
            atomic_fetch_add(&j->done, 1);
            continue;
        }
        /* Render until the data version holds still around the render. */
        for (int attempt = 0; attempt < 3 && before != after; attempt++) {
            pdb_srv_blob_unref(png);
            png = NULL;
            if (pdb_store_data_version(ctx, store, &before) != PDB_OK)
                break;
            png = j->o->mvt ? pdb_srv_render_mvt(&w, z, x, y, msg, sizeof msg)
                            : pdb_srv_render_png(&w, z, x, y, scale, msg, sizeof msg);
            if (png == NULL || pdb_store_data_version(ctx, store, &after) != PDB_OK)
                break;
        }
        if (png != NULL && before == after &&
            pdb_srv_disk_put(j->disk, &key, j->changes->epoch, after, png) == 0) {
            atomic_fetch_add(&j->rendered, 1);
        } else {
            atomic_fetch_add(&j->failed, 1);
            if (png == NULL)
                job_error(j, msg);
        }
        pdb_srv_blob_unref(png);
        atomic_fetch_add(&j->done, 1);
    }
done:
    pdbt_renderer_free(renderer);
    pdb_store_close(store);
    pdbt_ctx_free(tctx);
    pdb_ctx_free(ctx);
    return NULL;
}

static void progress_bar(const seed_job *j, double elapsed_s, int final)
{
    uint64_t done = atomic_load(&((seed_job *)j)->done);
    double frac = j->total ? (double)done / (double)j->total : 1.0;
    int width = 30, filled = (int)(frac * width);
    double rate = elapsed_s > 0 ? done / elapsed_s : 0;
    double eta = rate > 0 ? (double)(j->total - done) / rate : 0;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\rseed [%s] %5.1f%% %llu/%llu tiles %6.0f/s ETA %02d:%02d%s", bar, frac * 100,
            (unsigned long long)done, (unsigned long long)j->total, rate, (int)(eta / 60),
            (int)fmod(eta, 60), final ? "\n" : "");
    fflush(stderr);
}

int pdb_srv_seed(const pdb_srv_seed_options *o)
{
    seed_job *j = calloc(1, sizeof *j);
    pdbt_style *style = NULL;
    pdb_srv_disk *disk = NULL;
    pdb_srv_changes changes = {0};
    pdb_srv_commune_state *rows = NULL;
    pdbt_ctx *tctx = NULL; /* for the style: the threads have their own */
    pdb_ctx *ctx = NULL;
    pdb_store *store = NULL;
    pthread_t th[64];
    unsigned nth = 0;
    char err[PDB_SRV_ERRMAX];
    double box[4];
    size_t n = 0;
    int64_t version = 0;
    int rc = 1;

    if (j == NULL)
        return seed_fail("out of memory");
    pthread_mutex_init(&j->error_lock, NULL);
    if (o->cache_dir == NULL) {
        rc = seed_fail("--cache DIR is required: seeding fills the server's disk cache");
        goto done;
    }
    if (o->zoom_min < 0 || o->zoom_max < o->zoom_min || o->zoom_max > o->max_zoom) {
        rc =
            seed_fail("zooms %d-%d: need 0 <= A <= B <= %d", o->zoom_min, o->zoom_max, o->max_zoom);
        goto done;
    }
    /* The same style the server would use, so that both fill one cache:
     * the file given, the default style's file, or the built-in one. */
    char found[4096];
    const char *style_path = o->style_path;
    if (style_path == NULL && pdbt_style_default_path(found, sizeof found) == 0)
        style_path = found;
    if (pdbt_ctx_new(NULL, &tctx) != PDB_OK) {
        rc = seed_fail("out of memory");
        goto done;
    }
    if ((style_path != NULL ? pdbt_style_load(tctx, style_path, &style)
                            : pdbt_style_builtin(tctx, &style)) != PDB_OK) {
        rc = seed_fail("style: %s", pdbt_errmsg(tctx));
        goto done;
    }
    if (style_path == NULL) /* as render and serve say it */
        fputs("parceldb seed: no style file found: using the built-in default style\n", stderr);
    if (pdb_srv_disk_open(o->cache_dir, pdbt_style_hash(style), (uint64_t)o->cache_max_mb << 20,
                          &disk, err, sizeof err) != 0) {
        rc = seed_fail("%s", err);
        goto done;
    }
    if (pdb_ctx_new(&ctx) != PDB_OK) {
        rc = seed_fail("out of memory");
        goto done;
    }
    if (pdb_store_open(ctx, o->db_path, PDB_OPEN_READONLY, &store) != PDB_OK) {
        rc = seed_fail("%s", pdb_errmsg(ctx));
        goto done;
    }
    if (pdb_srv_read_communes(ctx, store, &version, &rows, &n, err, sizeof err) != 0) {
        rc = seed_fail("%s", err);
        goto done;
    }
    /* Bring the cache's change log to this version, as the server would. */
    if (pdb_srv_changes_start(&changes, disk, o->db_path, version, rows, n) != 0) {
        rc = seed_fail("out of memory");
        goto done;
    }
    /* The box: given, or every parcel's. */
    if (!isnan(o->bbox[0])) {
        memcpy(box, o->bbox, sizeof box);
    } else {
        box[0] = box[1] = INFINITY;
        box[2] = box[3] = -INFINITY;
        for (size_t i = 0; i < n; i++)
            if (!isnan(rows[i].bbox[0])) {
                box[0] = fmin(box[0], rows[i].bbox[0]);
                box[1] = fmin(box[1], rows[i].bbox[1]);
                box[2] = fmax(box[2], rows[i].bbox[2]);
                box[3] = fmax(box[3], rows[i].bbox[3]);
            }
        if (!(box[0] <= box[2])) {
            rc = seed_fail("the store has no parcels; give --bbox to seed anyway");
            goto done;
        }
    }
    j->o = o;
    j->style = style;
    j->style_hash = pdbt_style_hash(style);
    j->disk = disk;
    j->changes = &changes;
    /* A vector tile has one size. */
    j->nscales = o->scales == 3 && !o->mvt ? 2 : 1;
    j->scale[0] = o->scales == 2 && !o->mvt ? 2 : 1;
    j->scale[1] = 2;
    for (int z = o->zoom_min; z <= o->zoom_max; z++) {
        zoom_range *r = &j->zr[j->nz++];
        r->z = z;
        pdbt_tile_at(box[0], box[3], z, &r->x0, &r->y0);
        pdbt_tile_at(box[2], box[1], z, &r->x1, &r->y1);
        r->first = j->total;
        r->count = ((uint64_t)(r->x1 - r->x0) + 1) * ((uint64_t)(r->y1 - r->y0) + 1) *
                   (uint64_t)j->nscales;
        j->total += r->count;
    }
    if (j->total > o->max_tiles) {
        rc = seed_fail("%llu tiles is more than the limit of %zu; narrow --zoom or --bbox",
                       (unsigned long long)j->total, o->max_tiles);
        goto done;
    }
    {
        char *text = pdb_srv_changes_format(&changes);
        if (text == NULL || pdb_srv_disk_state_write(disk, text) != 0)
            fprintf(stderr, "parceldb seed: warning: cannot write the cache state\n");
        free(text);
    }

    unsigned want = o->threads;
    if (want == 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        want = nc > 0 ? (unsigned)nc : 1;
    }
    if (want > 64)
        want = 64;
    uint64_t t0 = pdb_srv_now_us();
    for (nth = 0; nth < want; nth++)
        if (pthread_create(&th[nth], NULL, seed_thread, j) != 0)
            break;
    int bar = o->progress > 0 || (o->progress < 0 && isatty(2));
    while (atomic_load(&j->done) < j->total && !atomic_load(&j->stop) && nth > 0) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (bar)
            progress_bar(j, (pdb_srv_now_us() - t0) / 1e6, 0);
    }
    for (unsigned i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    double secs = (pdb_srv_now_us() - t0) / 1e6;
    if (bar)
        progress_bar(j, secs, 1);
    if (j->error[0] != '\0') {
        rc = seed_fail("%s", j->error);
        goto done;
    }
    fprintf(stderr,
            "parceldb seed: %llu tiles, z%d-%d: %llu rendered, %llu already current, %llu "
            "failed, in %.1f s (data version %lld, %s)\n",
            (unsigned long long)j->total, o->zoom_min, o->zoom_max,
            (unsigned long long)atomic_load(&j->rendered),
            (unsigned long long)atomic_load(&j->skipped),
            (unsigned long long)atomic_load(&j->failed), secs, (long long)version,
            pdb_srv_disk_path(disk));
    rc = atomic_load(&j->failed) ? 1 : 0;
done:
    pdb_srv_changes_clear(&changes);
    free(rows);
    pdb_store_close(store);
    pdb_ctx_free(ctx);
    pdb_srv_disk_close(disk);
    pdbt_style_free(style);
    pdbt_ctx_free(tctx);
    pthread_mutex_destroy(&j->error_lock);
    free(j);
    return rc;
}
