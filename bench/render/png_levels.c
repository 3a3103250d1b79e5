/*
 * png_levels.c: chooses the PNG encoder's default by measurement. Renders
 * a tile list once, then encodes every tile at each libdeflate level (and
 * palette mode), and prints mean bytes and encoding time per tile for each
 * combination: the process's CPU time, the best of three passes, so that
 * a shared machine disturbs it less than wall time.
 *
 * usage: pdb-png-levels STORE STYLE TILES.txt
 */
#include "tiler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s STORE STYLE TILES.txt\n", argv[0]);
        return 2;
    }
    pdbt_style *style = NULL;
    pdb_ctx *ctx = NULL;
    pdbt_ctx *tctx = NULL;
    pdb_store *store = NULL;
    pdbt_renderer *r = NULL;
    if (pdb_ctx_new(&ctx) != PDB_OK || pdbt_ctx_new(ctx, &tctx) != PDB_OK) {
        fprintf(stderr, "cannot start\n");
        return 1;
    }
    if (pdbt_style_load(tctx, argv[2], &style) != PDB_OK) {
        fprintf(stderr, "%s\n", pdbt_errmsg(tctx));
        return 1;
    }
    if (pdb_store_open(ctx, argv[1], PDB_OPEN_READONLY, &store) != PDB_OK) {
        fprintf(stderr, "cannot open: %s\n", pdb_errmsg(ctx));
        return 1;
    }
    if (pdbt_renderer_new(tctx, store, style, NULL, &r) != PDB_OK) {
        fprintf(stderr, "cannot open: %s\n", pdbt_errmsg(tctx));
        return 1;
    }
    /* Keep copies of the rendered tiles. */
    FILE *in = fopen(argv[3], "r");
    char line[128];
    size_t n = 0, cap = 0;
    uint32_t **tiles = NULL;
    while (in && fgets(line, sizeof line, in)) {
        pdbt_tile t;
        pdbt_image img;
        if (pdbt_tile_parse(tctx, strtok(line, "\r\n"), 22, &t) != PDB_OK)
            continue;
        t.scale = 1;
        if (pdbt_render_tile(tctx, r, &t, &img, NULL) != PDB_OK)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            tiles = realloc(tiles, cap * sizeof *tiles);
        }
        tiles[n] = malloc(256 * 256 * 4);
        for (int y = 0; y < 256; y++)
            memcpy(tiles[n] + y * 256, (const char *)img.argb + (size_t)y * img.stride, 1024);
        n++;
    }
    if (in)
        fclose(in);
    printf("%zu tiles\n%-10s %-6s %12s %12s\n", n, "palette", "level", "mean bytes", "us/tile");
    static const struct {
        const char *name;   /* as printed */
        pdbt_png_palette p; /* mode */
    } modes[] = {{"never", PDBT_PNG_PALETTE_NEVER},
                 {"auto", PDBT_PNG_PALETTE_AUTO},
                 {"quantize", PDBT_PNG_PALETTE_QUANTIZE}};
    static const int levels[] = {1, 2, 3, 4, 6, 9, 12};
    for (size_t m = 0; m < 3; m++)
        for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++) {
            pdbt_png_options o = {levels[l], modes[m].p};
            size_t bytes = 0;
            double best = -1;
            for (int pass = 0; pass < 3; pass++) {
                bytes = 0;
                double t0 = now_s();
                for (size_t i = 0; i < n; i++) {
                    pdbt_image img = {256, 256, 1024, tiles[i]};
                    unsigned char *png;
                    size_t len;
                    if (pdbt_png_encode(tctx, &img, &o, &png, &len) == PDB_OK) {
                        bytes += len;
                        free(png);
                    }
                }
                double dt = now_s() - t0;
                if (best < 0 || dt < best)
                    best = dt;
            }
            printf("%-10s %-6d %12.0f %12.0f\n", modes[m].name, levels[l],
                   n ? (double)bytes / n : 0, n ? best / n * 1e6 : 0);
        }
    for (size_t i = 0; i < n; i++)
        free(tiles[i]);
    free(tiles);
    pdbt_renderer_free(r);
    pdb_store_close(store);
    pdbt_style_free(style);
    pdbt_ctx_free(tctx);
    pdb_ctx_free(ctx);
    return 0;
}
