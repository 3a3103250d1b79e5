/*
 * fuzz_change_parts: the reader of a change's GeoJSON parts
 * (pdb_change_parts_read, engine/src/change_json.c) on arbitrary bytes,
 * which reach it from the server's POST bodies and the command line's
 * --parts and --geometry files. The input is given without a NUL past its
 * end (copied to a buffer of its own length), so an over-read is an ASan
 * report. Checks: it either fails with a one-line message or returns 1 to
 * 1000 parts in a known CRS, each a WKB polygon that the engine's own WKB
 * reader takes back.
 */
#include "internal.h"
#include "wkb.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_change_parts: check failed: %s (line %d)\n", #cond, __LINE__);   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static pdb_ctx *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ctx == NULL)
        CHECK(pdb_ctx_new(&ctx) == PDB_OK);
    char *text = malloc(size ? size : 1);
    CHECK(text != NULL);
    memcpy(text, data, size);
    pdb_change_parts *parts = NULL;
    pdb_status st = pdb_change_parts_read(ctx, text, size, size % 2 ? 9208 : 0, &parts);
    if (st != PDB_OK) {
        CHECK(parts == NULL);
        CHECK(strchr(pdb_errmsg(ctx), '\n') == NULL && pdb_errmsg(ctx)[0] != '\0');
    } else {
        size_t n = 0;
        int epsg = 0;
        const pdb_change_part *p = pdb_change_parts_items(parts, &n, &epsg);
        pdb_crs_info info;
        CHECK(n >= 1 && n <= 1000 && pdb_crs_info_get(ctx, epsg, &info) == PDB_OK);
        for (size_t i = 0; i < n; i++) {
            pdb__mpoly mp = {0};
            CHECK(pdb__wkb_parse(ctx, p[i].wkb, p[i].wkb_len, &mp) == PDB_OK);
            pdb__mpoly_free(&mp);
            CHECK(p[i].landuse == NULL || strlen(p[i].landuse) < size);
        }
    }
    pdb_change_parts_free(parts);
    free(text);
    return 0;
}
