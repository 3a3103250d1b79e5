/*
 * export.c: `parceldb export --format pmtiles`: renders a zoom range over
 * a box into one PMTiles archive (tiler/pmtiles.h), with the very bytes
 * `parceldb serve` answers for each tile: the same renderer, options and
 * PNG encoder (pdb_srv_render_png), and the same rule for a tile no parcel
 * can reach (the server's one shared empty tile, rendered at its max zoom
 * over the Arctic), so that an archive served statically and the server
 * show the same map. Vector tiles likewise: pdb_srv_render_mvt's gzip
 * bytes, and the server's empty vector tile where no parcel can be.
 *
 * Tiles are rendered by worker threads in batches of BATCH consecutive
 * tile ids and written in tile-id order, as a clustered archive wants; the
 * empty tiles of the sea around the data collapse into run-length entries.
 */
#include "handlers.h"
#include "pmtiles.h"
#include "sync.h"
#include "tiles.h"
#include "util.h"
#include "worker.h"

#include "log.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH 512 /* tiles rendered between two writes */

void pdb_srv_export_options_default(pdb_srv_export_options *o)
{
    memset(o, 0, sizeof *o);
    o->db_path = "parcels.sqlite";
    for (int i = 0; i < 4; i++)
        o->bbox[i] = NAN;
    o->progress = -1;
    o->max_zoom = 20;
    o->max_tiles = 10000000;
}

__attribute__((format(printf, 1, 2))) static int export_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pdb_srv_vsay("export", fmt, ap);
    va_end(ap);
    return 1;
}

/* One tile of the job. */
typedef struct job_tile {
    uint64_t id;   /* PMTiles tile id: the order of the archive */
    uint32_t x;    /* column */
    uint32_t y;    /* row */
    uint8_t z;     /* zoom */
    uint8_t empty; /* 1: no parcel can show (the server's shared empty tile) */
} job_tile;

typedef struct export_job {
    const pdb_srv_export_options *o; /* options */
    const pdbt_style *style;         /* shared style */
    job_tile *tiles;                 /* every tile, in tile-id order */
    size_t ntiles;                   /* tiles */
    pdb_srv_blob *empty;             /* the empty tile, once rendered */
    pdb_srv_blob *slot[BATCH];       /* the batch's results, by index - start */
    pthread_mutex_t lock;            /* guards what follows */
    pthread_cond_t work;             /* a batch is ready, or quit */
    pthread_cond_t finished_cv;      /* the batch is done */
    size_t start, end;               /* the batch: tiles [start, end) */
    size_t next;                     /* next tile index to take */
    size_t finished;                 /* tiles of the batch done */
    int quit;                        /* 1: threads return */
    char error[PDB_SRV_ERRMAX];      /* the first failure */
} export_job;

static void job_error(export_job *j, const char *msg)
{
    /* j->lock is held by the caller. */
    if (j->error[0] == '\0')
        snprintf(j->error, sizeof j->error, "%s", msg);
}

static void *export_thread(void *arg)
{
    export_job *j = arg;
    pdb_ctx *ctx = NULL;
    pdbt_ctx *tctx = NULL;
    pdb_store *store = NULL;
    pdbt_renderer *renderer = NULL;
    pdbt_renderer_options ro = {0};
    pdb_srv_worker w = {0};
    char msg[PDB_SRV_ERRMAX];
    int ok = 1;

    ro.max_zoom = j->o->max_zoom; /* as the server's worker.c */
    msg[0] = '\0';
    if (pdb_ctx_new(&ctx) != PDB_OK || pdbt_ctx_new(ctx, &tctx) != PDB_OK) {
        snprintf(msg, sizeof msg, "out of memory");
        ok = 0;
    } else if (pdb_store_open(ctx, j->o->db_path, PDB_OPEN_READONLY, &store) != PDB_OK) {
        snprintf(msg, sizeof msg, "%s", pdb_errmsg(ctx));
        ok = 0;
    } else if (pdbt_renderer_new(tctx, store, j->style, &ro, &renderer) != PDB_OK) {
        snprintf(msg, sizeof msg, "the renderer cannot start: %s", pdbt_errmsg(tctx));
        ok = 0;
    }
    w.ctx = ctx;
    w.tctx = tctx;
    w.store = store;
    w.renderer = renderer;

    pthread_mutex_lock(&j->lock);
    for (;;) {
        while (!j->quit && j->next >= j->end)
            pthread_cond_wait(&j->work, &j->lock);
        if (j->quit)
            break;
        size_t i = j->next++;
        pdb_srv_blob *b = NULL;
        if (!ok) {
            job_error(j, msg);
        } else if (j->tiles[i].empty) {
            b = pdb_srv_blob_ref(j->empty);
        } else {
            const job_tile *t = &j->tiles[i];
            pthread_mutex_unlock(&j->lock);
            b = j->o->mvt ? pdb_srv_render_mvt(&w, t->z, t->x, t->y, msg, sizeof msg)
                          : pdb_srv_render_png(&w, t->z, t->x, t->y, 1, msg, sizeof msg);
            pthread_mutex_lock(&j->lock);
            if (b == NULL)
                job_error(j, msg);
        }
        j->slot[i - j->start] = b;
        if (++j->finished == j->end - j->start)
            pthread_cond_signal(&j->finished_cv);
    }
    pthread_mutex_unlock(&j->lock);
    pdbt_renderer_free(renderer);
    pdb_store_close(store);
    pdbt_ctx_free(tctx);
    pdb_ctx_free(ctx);
    return NULL;
}

static int by_id(const void *a, const void *b)
{
    uint64_t x = ((const job_tile *)a)->id, y = ((const job_tile *)b)->id;
    return x < y ? -1 : x > y;
}

static void progress_bar(size_t done, size_t total, double elapsed_s, int final)
{
    double frac = total ? (double)done / (double)total : 1.0;
    int width = 30, filled = (int)(frac * width);
    double rate = elapsed_s > 0 ? done / elapsed_s : 0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\rexport [%s] %5.1f%% %zu/%zu tiles %6.0f/s ETA %02d:%02d%s", bar, frac * 100,
            done, total, rate, (int)(eta / 60), (int)fmod(eta, 60), final ? "\n" : "");
    fflush(stderr);
}

/* The archive's metadata: TileJSON's descriptive fields, which the
 * server's /tiles.json answers again from the archive; for vector tiles
 * the vector_layers of the server's /tiles.mvt.json. */
static char *metadata_json(const pdb_srv_export_options *o, const pdbt_style *style,
                           int64_t version)
{
    char v[32];
    const char *name = pdbt_style_name(style);
    snprintf(v, sizeof v, "%lld", (long long)version);
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "name",
                            name[0] ? name : "parceldb", "description",
                            o->mvt ? "Cadastral parcels of Phu Tho province (vector tiles)"
                                   : "Cadastral parcels of Phu Tho province",
                            "attribution", "parceldb", "type", "overlay", "version", "1.0.0",
                            "format", o->mvt ? "pbf" : "png", "generator",
                            "parceldb " PDB_VERSION_STRING, "data_version", v);
    if (doc != NULL && o->mvt &&
        json_object_set_new(
            doc, "vector_layers",
            pdb_srv_mvt_layers(o->zoom_min, o->zoom_max, pdbt_mvt_parcel_zoom(style))) != 0) {
        json_decref(doc);
        doc = NULL;
    }
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(doc);
    return text;
}

int pdb_srv_export(const pdb_srv_export_options *o)
{
    export_job *j = calloc(1, sizeof *j);
    pdbt_style *style = NULL;
    pdb_srv_commune_state *rows = NULL;
    pdbt_ctx *tctx = NULL; /* the style's and the writer's: the threads have their own */
    pdb_ctx *ctx = NULL;
    pdb_store *store = NULL;
    pdbt_pmtiles_writer *pw = NULL;
    char *meta = NULL;
    pthread_t th[64];
    unsigned nth = 0;
    char err[PDB_SRV_ERRMAX];
    double box[4], data[4], data_merc[4];
    size_t n = 0;
    int64_t version = 0, after = 0;
    int rc = 1;

    if (j == NULL)
        return export_fail("out of memory");
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->work, NULL);
    pthread_cond_init(&j->finished_cv, NULL);
    if (o->out_path == NULL) {
        rc = export_fail("-o FILE.pmtiles is required");
        goto done;
    }
    if (o->zoom_min < 0 || o->zoom_max < o->zoom_min || o->zoom_max > o->max_zoom) {
        rc = export_fail("zooms %d-%d: need 0 <= A <= B <= %d", o->zoom_min, o->zoom_max,
                         o->max_zoom);
        goto done;
    }
    /* The server's style: the file given, the default style's file, or
     * the built-in one. */
    char found[4096];
    const char *style_path = o->style_path;
    if (style_path == NULL && pdbt_style_default_path(found, sizeof found) == 0)
        style_path = found;
    if (pdbt_ctx_new(NULL, &tctx) != PDB_OK) {
        rc = export_fail("out of memory");
        goto done;
    }
    if ((style_path != NULL ? pdbt_style_load(tctx, style_path, &style)
                            : pdbt_style_builtin(tctx, &style)) != PDB_OK) {
        rc = export_fail("style: %s", pdbt_errmsg(tctx));
        goto done;
    }
    if (style_path == NULL)
        fputs("parceldb export: no style file found: using the built-in default style\n", stderr);
    if (pdb_ctx_new(&ctx) != PDB_OK) {
        rc = export_fail("out of memory");
        goto done;
    }
    if (pdb_store_open(ctx, o->db_path, PDB_OPEN_READONLY, &store) != PDB_OK) {
        rc = export_fail("%s", pdb_errmsg(ctx));
        goto done;
    }
    if (pdb_srv_read_communes(ctx, store, &version, &rows, &n, err, sizeof err) != 0) {
        rc = export_fail("%s", err);
        goto done;
    }
    /* The parcels' box, as the server computes it (sync.c). */
    data[0] = data[1] = INFINITY;
    data[2] = data[3] = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (!isnan(rows[i].bbox[0])) {
            data[0] = fmin(data[0], rows[i].bbox[0]);
            data[1] = fmin(data[1], rows[i].bbox[1]);
            data[2] = fmax(data[2], rows[i].bbox[2]);
            data[3] = fmax(data[3], rows[i].bbox[3]);
        }
    if (!(data[0] <= data[2])) {
        rc = export_fail("the store has no parcels: nothing to export");
        goto done;
    }
    if (!isnan(o->bbox[0])) {
        if (o->bbox[0] > data[2] || o->bbox[2] < data[0] || o->bbox[1] > data[3] ||
            o->bbox[3] < data[1]) {
            rc = export_fail("--bbox %.6f,%.6f,%.6f,%.6f is outside the store's parcels "
                             "(%.6f,%.6f,%.6f,%.6f)",
                             o->bbox[0], o->bbox[1], o->bbox[2], o->bbox[3], data[0], data[1],
                             data[2], data[3]);
            goto done;
        }
        memcpy(box, o->bbox, sizeof box);
    } else {
        memcpy(box, data, sizeof box);
    }
    pdb_srv_lonlat_to_merc_box(data, data_merc);

    /* Every tile of the range, then in tile-id order. */
    uint64_t total = 0;
    for (int z = o->zoom_min; z <= o->zoom_max; z++) {
        uint32_t x0, y0, x1, y1;
        pdbt_tile_at(box[0], box[3], z, &x0, &y0);
        pdbt_tile_at(box[2], box[1], z, &x1, &y1);
        total += ((uint64_t)(x1 - x0) + 1) * ((uint64_t)(y1 - y0) + 1);
    }
    if (total > o->max_tiles) {
        rc = export_fail("%llu tiles is more than the limit of %zu; narrow --zoom or --bbox",
                         (unsigned long long)total, o->max_tiles);
        goto done;
    }
    if ((j->tiles = malloc((size_t)total * sizeof *j->tiles)) == NULL) {
        rc = export_fail("out of memory for %llu tiles", (unsigned long long)total);
        goto done;
    }
    for (int z = o->zoom_min; z <= o->zoom_max; z++) {
        uint32_t x0, y0, x1, y1;
        pdbt_tile_at(box[0], box[3], z, &x0, &y0);
        pdbt_tile_at(box[2], box[1], z, &x1, &y1);
        for (uint32_t y = y0; y <= y1; y++)
            for (uint32_t x = x0; x <= x1; x++) {
                double m[4];
                job_tile *t = &j->tiles[j->ntiles++];
                pdb_srv_tile_buffered_merc(z, x, y, pdb_srv_render_buffer_px(), m);
                t->id = pdbt_pmtiles_tile_id(z, x, y);
                t->z = (uint8_t)z;
                t->x = x;
                t->y = y;
                /* tiles.c's rule for a tile no parcel can reach. */
                t->empty = !(m[0] <= data_merc[2] && m[2] >= data_merc[0] && m[1] <= data_merc[3] &&
                             m[3] >= data_merc[1]);
            }
    }
    if (j->ntiles > 1)
        qsort(j->tiles, j->ntiles, sizeof *j->tiles, by_id);

    pdbt_pmtiles_writer_options wo = {
        .tile_type = o->mvt ? PDBT_PMTILES_TYPE_MVT : PDBT_PMTILES_TYPE_PNG,
        .tile_compression = o->mvt ? PDBT_PMTILES_COMPRESSION_GZIP : PDBT_PMTILES_COMPRESSION_NONE,
        .leaf_entries = o->leaf_entries};
    if (pdbt_pmtiles_writer_new(tctx, o->out_path, &wo, &pw) != PDB_OK) {
        rc = export_fail("%s", pdbt_errmsg(tctx));
        goto done;
    }
    /* The server's empty tile: max zoom, 0/0, with a renderer of its own;
     * for vector tiles, its empty gzipped tile. */
    if (o->mvt && (j->empty = pdb_srv_empty_mvt(err, sizeof err)) == NULL) {
        rc = export_fail("%s", err);
        goto done;
    }
    if (!o->mvt) {
        pdb_srv_worker w = {.ctx = ctx};
        pdbt_ctx *wt = NULL;
        pdbt_renderer *r = NULL;
        pdbt_renderer_options ro = {.max_zoom = o->max_zoom};
        if (pdbt_ctx_new(ctx, &wt) != PDB_OK ||
            pdbt_renderer_new(wt, store, style, &ro, &r) != PDB_OK) {
            snprintf(err, sizeof err, "the renderer cannot start: %s",
                     wt ? pdbt_errmsg(wt) : "out of memory");
        } else {
            w.tctx = wt;
            w.store = store;
            w.renderer = r;
            j->empty = pdb_srv_render_png(&w, o->max_zoom, 0, 0, 1, err, sizeof err);
        }
        pdbt_renderer_free(r);
        pdbt_ctx_free(wt);
        if (j->empty == NULL) {
            rc = export_fail("%s", err);
            goto done;
        }
    }

    j->o = o;
    j->style = style;
    unsigned want = o->threads;
    if (want == 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        want = nc > 0 ? (unsigned)nc : 1;
    }
    if (want > 64)
        want = 64;
    for (nth = 0; nth < want; nth++)
        if (pthread_create(&th[nth], NULL, export_thread, j) != 0)
            break;
    if (nth == 0) {
        rc = export_fail("cannot start a render thread");
        goto done;
    }
    int bar = o->progress > 0 || (o->progress < 0 && isatty(2));
    uint64_t t0 = pdb_srv_now_us();
    for (size_t start = 0; start < j->ntiles; start += BATCH) {
        size_t end = start + BATCH < j->ntiles ? start + BATCH : j->ntiles;
        pthread_mutex_lock(&j->lock);
        j->start = start;
        j->end = end;
        j->next = start;
        j->finished = 0;
        pthread_cond_broadcast(&j->work);
        while (j->finished < end - start)
            pthread_cond_wait(&j->finished_cv, &j->lock);
        pthread_mutex_unlock(&j->lock);
        for (size_t i = start; i < end; i++) {
            pdb_srv_blob *b = j->slot[i - start];
            j->slot[i - start] = NULL;
            const job_tile *t = &j->tiles[i];
            if (b != NULL && j->error[0] == '\0' &&
                pdbt_pmtiles_writer_add(tctx, pw, t->z, t->x, t->y, b->data, b->len) != PDB_OK)
                snprintf(j->error, sizeof j->error, "%s", pdbt_errmsg(tctx));
            pdb_srv_blob_unref(b);
        }
        if (j->error[0] != '\0')
            break;
        if (bar)
            progress_bar(end, j->ntiles, (pdb_srv_now_us() - t0) / 1e6, end == j->ntiles);
    }
    pthread_mutex_lock(&j->lock);
    j->quit = 1;
    pthread_cond_broadcast(&j->work);
    pthread_mutex_unlock(&j->lock);
    for (unsigned i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    nth = 0;
    if (j->error[0] != '\0') {
        rc = export_fail("%s", j->error);
        goto done;
    }
    /* An import committed meanwhile: the archive would mix two versions. */
    if (pdb_store_data_version(ctx, store, &after) != PDB_OK) {
        rc = export_fail("%s", pdb_errmsg(ctx));
        goto done;
    }
    if (after != version) {
        rc = export_fail("the store changed during the export (data version %lld -> %lld); "
                         "run it again",
                         (long long)version, (long long)after);
        goto done;
    }
    if ((meta = metadata_json(o, style, version)) == NULL) {
        rc = export_fail("out of memory");
        goto done;
    }
    pdbt_pmtiles_header h = {0};
    h.min_zoom = o->zoom_min;
    h.max_zoom = o->zoom_max;
    memcpy(h.bounds, box, sizeof box);
    h.center[0] = (box[0] + box[2]) / 2;
    h.center[1] = (box[1] + box[3]) / 2;
    h.center_zoom = o->zoom_min > 12 ? o->zoom_min : o->zoom_max < 12 ? o->zoom_max : 12;
    if (pdbt_pmtiles_writer_finish(tctx, pw, &h, meta) != PDB_OK) {
        rc = export_fail("%s", pdbt_errmsg(tctx));
        goto done;
    }
    uint64_t tiles, entries, contents;
    pdbt_pmtiles_writer_counts(pw, &tiles, &entries, &contents);
    fprintf(stderr,
            "parceldb export: %s: %llu tiles, z%d-%d, %llu directory entries, %llu distinct "
            "tiles, in %.1f s (data version %lld)\n",
            o->out_path, (unsigned long long)tiles, o->zoom_min, o->zoom_max,
            (unsigned long long)entries, (unsigned long long)contents,
            (pdb_srv_now_us() - t0) / 1e6, (long long)version);
    rc = 0;
done:
    if (nth > 0) {
        pthread_mutex_lock(&j->lock);
        j->quit = 1;
        pthread_cond_broadcast(&j->work);
        pthread_mutex_unlock(&j->lock);
        for (unsigned i = 0; i < nth; i++)
            pthread_join(th[i], NULL);
    }
    pdbt_pmtiles_writer_free(pw); /* removes the .tmp files of an archive not finished */
    free(meta);
    free(rows);
    pdb_store_close(store);
    pdb_ctx_free(ctx);
    pdbt_style_free(style);
    pdbt_ctx_free(tctx);
    pdb_srv_blob_unref(j->empty);
    free(j->tiles);
    pthread_cond_destroy(&j->work);
    pthread_cond_destroy(&j->finished_cv);
    pthread_mutex_destroy(&j->lock);
    free(j);
    return rc;
}
