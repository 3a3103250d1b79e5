/*
 * tile_diff.c: pixel-wise comparison of parceldb's tiles with Mapnik's and
 * MapServer's, for bench/render/run.sh. Each PNG is decoded (libpng's
 * simplified API, to 8-bit RGBA) and composited over white; per tile:
 *   coverage  the share of pixels drawn (alpha >= 128) in each tile, and
 *             the difference (percentage points);
 *   colour    the share of pixels whose colours differ by more than
 *             COLOUR_TOL levels in some channel ("strict"), and the share
 *             of pixels of parceldb's tile that match no pixel of the
 *             other's within one pixel ("shifted": each rasteriser places
 *             and anti-aliases a 1 px outline its own way, half a pixel
 *             apart; a wrong fill or a missing parcel still counts, over
 *             its whole area). The tolerance applies to the shifted share.
 *   sparse    whether parceldb's tile is empty (no pixel drawn) or nearly
 *             (under SPARSE_PCT% drawn): such tiles measure the fixed cost
 *             of a tile more than drawing, so the benchmark counts them.
 * Prints one line per zoom and other tool (mean and worst tile), and each
 * tile over the tolerance; exits 1 when any tile is over it.
 *
 *   tile_diff TILES.txt DIR_PARCELDB DIR_OTHER NAME [COVERAGE_PP COLOUR_PCT]
 *   (defaults 1.0 percentage point of coverage and 0.5% of pixels)
 *
 * Built by bench/render/run.sh with cc -lpng; not installed.
 */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLOUR_TOL 48  /* levels of 255 in one channel */
#define SPARSE_PCT 5.0 /* coverage under which a tile counts as nearly empty, % */

/* Decodes path into 8-bit RGBA; returns NULL on failure (printed). */
static unsigned char *load(const char *path, unsigned *w, unsigned *h)
{
    png_image img;
    unsigned char *px;

    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path)) {
        fprintf(stderr, "%s: %s\n", path, img.message);
        return NULL;
    }
    img.format = PNG_FORMAT_RGBA;
    px = malloc(PNG_IMAGE_SIZE(img));
    if (px == NULL || !png_image_finish_read(&img, NULL, px, 0, NULL)) {
        fprintf(stderr, "%s: %s\n", path, img.message);
        free(px);
        png_image_free(&img);
        return NULL;
    }
    *w = img.width;
    *h = img.height;
    return px;
}

/* One channel of a pixel composited over white. */
static int over_white(const unsigned char *p, int c)
{
    return (p[c] * p[3] + 255 * (255 - p[3]) + 127) / 255;
}

/* Whether two pixels' colours over white differ by more than COLOUR_TOL
 * levels in some channel. */
static int differs(const unsigned char *p, const unsigned char *q)
{
    for (int c = 0; c < 3; c++) {
        int d = over_white(p, c) - over_white(q, c);
        if (d > COLOUR_TOL || d < -COLOUR_TOL)
            return 1;
    }
    return 0;
}

typedef struct zoom_stats {
    int tiles;           /* tiles compared */
    double cov_sum;      /* sum of |coverage difference|, percentage points */
    double cov_max;      /* worst tile */
    double strict_sum;   /* sum of the share of differing pixels, % */
    double col_sum;      /* sum of the share of pixels matched nowhere near, % */
    double col_max;      /* worst tile */
    double cov_a, cov_b; /* sums of each side's coverage, % */
    int empty;           /* parceldb's tiles with no pixel drawn */
    int sparse;          /* parceldb's tiles under SPARSE_PCT% drawn (empty ones included) */
} zoom_stats;

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 7) {
        fprintf(
            stderr,
            "usage: tile_diff TILES.txt DIR_PARCELDB DIR_OTHER NAME [COVERAGE_PP COLOUR_PCT]\n");
        return 2;
    }
    double cov_tol = argc == 7 ? atof(argv[5]) : 1.0, col_tol = argc == 7 ? atof(argv[6]) : 0.5;
    FILE *list = fopen(argv[1], "r");
    zoom_stats zs[32];
    int z, x, y, over = 0, missing = 0;

    if (list == NULL) {
        perror(argv[1]);
        return 2;
    }
    memset(zs, 0, sizeof zs);
    while (fscanf(list, "%d %d %d", &z, &x, &y) == 3) {
        char pa[4096], pb[4096];
        unsigned wa, ha, wb, hb;
        unsigned char *a, *b;
        if (z < 0 || z >= 32)
            continue;
        snprintf(pa, sizeof pa, "%s/%d/%d/%d.png", argv[2], z, x, y);
        snprintf(pb, sizeof pb, "%s/%d/%d/%d.png", argv[3], z, x, y);
        a = load(pa, &wa, &ha);
        b = load(pb, &wb, &hb);
        if (a == NULL || b == NULL || wa != wb || ha != hb) {
            if (a && b)
                fprintf(stderr, "%d/%d/%d: sizes %ux%u and %ux%u\n", z, x, y, wa, ha, wb, hb);
            missing++;
            free(a);
            free(b);
            continue;
        }
        size_t n = (size_t)wa * ha, ca = 0, cb = 0, strict = 0, shifted = 0;
        unsigned char *mark = calloc(n, 1); /* pixels matched nowhere near */
        for (unsigned py = 0; py < ha; py++)
            for (unsigned px = 0; px < wa; px++) {
                const unsigned char *p = a + 4 * ((size_t)py * wa + px);
                const unsigned char *q = b + 4 * ((size_t)py * wa + px);
                ca += p[3] >= 128;
                cb += q[3] >= 128;
                if (!differs(p, q))
                    continue;
                strict++;
                int near = 0;
                for (int dy = -1; dy <= 1 && !near; dy++)
                    for (int dx = -1; dx <= 1 && !near; dx++) {
                        long x2 = (long)px + dx, y2 = (long)py + dy;
                        if (x2 >= 0 && y2 >= 0 && x2 < (long)wa && y2 < (long)ha)
                            near = !differs(p, b + 4 * ((size_t)y2 * wa + (size_t)x2));
                    }
                shifted += !near;
                if (!near && mark != NULL)
                    mark[(size_t)py * wa + px] = 1;
            }
        if (getenv("TILE_DIFF_MASKS") != NULL) {
            /* Debugging: parceldb's tile with the pixels matched nowhere
             * near in red, written beside it as Z-X-Y.NAME.diff.png. */
            unsigned char *m = malloc(4 * n);
            png_image out;
            char pm[4096];
            if (m != NULL) {
                memcpy(m, a, 4 * n);
                for (size_t i = 0; i < n; i++)
                    if (mark[i])
                        memcpy(m + 4 * i, "\xff\x00\x00\xff", 4);
                memset(&out, 0, sizeof out);
                out.version = PNG_IMAGE_VERSION;
                out.width = wa;
                out.height = ha;
                out.format = PNG_FORMAT_RGBA;
                snprintf(pm, sizeof pm, "%s/%d-%d-%d.%s.diff.png", getenv("TILE_DIFF_MASKS"), z, x,
                         y, argv[4]);
                png_image_write_to_file(&out, pm, 0, m, 0, NULL);
                free(m);
            }
        }
        free(mark);
        double cov = 100.0 * ((double)ca - (double)cb) / (double)n;
        double col = 100.0 * (double)shifted / (double)n;
        double col_strict = 100.0 * (double)strict / (double)n;
        cov = cov < 0 ? -cov : cov;
        zoom_stats *s = &zs[z];
        s->tiles++;
        s->cov_sum += cov;
        s->col_sum += col;
        s->strict_sum += col_strict;
        s->cov_a += 100.0 * (double)ca / (double)n;
        s->cov_b += 100.0 * (double)cb / (double)n;
        s->empty += ca == 0;
        s->sparse += 100.0 * (double)ca / (double)n < SPARSE_PCT;
        if (cov > s->cov_max)
            s->cov_max = cov;
        if (col > s->col_max)
            s->col_max = col;
        if (cov > cov_tol || col > col_tol) {
            fprintf(stderr,
                    "%s %d/%d/%d: coverage differs by %.2f points, %.2f%% of pixels by more "
                    "than %d levels even one pixel away\n",
                    argv[4], z, x, y, cov, col, COLOUR_TOL);
            over++;
        }
        free(a);
        free(b);
    }
    fclose(list);
    /* "tool zoom tiles cov_parceldb cov_other cov_mean cov_max strict_mean shifted_mean
     * shifted_max empty sparse" (percentages; the last two are counts of parceldb's tiles) */
    for (z = 0; z < 32; z++)
        if (zs[z].tiles > 0)
            printf("%s %d %d %.2f %.2f %.3f %.3f %.3f %.3f %.3f %d %d\n", argv[4], z, zs[z].tiles,
                   zs[z].cov_a / zs[z].tiles, zs[z].cov_b / zs[z].tiles,
                   zs[z].cov_sum / zs[z].tiles, zs[z].cov_max, zs[z].strict_sum / zs[z].tiles,
                   zs[z].col_sum / zs[z].tiles, zs[z].col_max, zs[z].empty, zs[z].sparse);
    if (missing > 0)
        fprintf(stderr, "%s: %d tiles missing or unreadable\n", argv[4], missing);
    return over > 0 || missing > 0;
}
