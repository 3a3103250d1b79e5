/*
 * fuzz_instant: pdb_instant_parse, what a date given to --at or ?at= means,
 * on arbitrary bytes (the server's query and the command line both reach
 * it). The input is given without a NUL past its end (copied to a buffer
 * of its own length + 1, so an over-read is an ASan report). Checks: an
 * accepted date is an instant of exactly the stored form
 * (YYYY-MM-DDTHH:MM:SS.mmmZ), accepted again as itself; a refused one
 * leaves "" and a one-line message.
 */
#include "parceldb.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_instant: check failed: %s (line %d)\n", #cond, __LINE__);        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static pdb_ctx *ctx; /* for the parser's messages */

/* 1 when t is "dddd-dd-ddTdd:dd:dd.dddZ". */
static int stored_form(const char *t)
{
    static const char pattern[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (strlen(t) != sizeof pattern - 1)
        return 0;
    for (size_t i = 0; pattern[i] != '\0'; i++)
        if (pattern[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != pattern[i])
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ctx == NULL)
        CHECK(pdb_ctx_new(&ctx) == PDB_OK);
    char *text = malloc(size + 1);
    CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';

    char out[PDB_INSTANT_LEN], again[PDB_INSTANT_LEN];
    if (pdb_instant_parse(ctx, text, out) == PDB_OK) {
        CHECK(stored_form(out));
        CHECK(pdb_instant_parse(ctx, out, again) == PDB_OK);
        CHECK(strcmp(out, again) == 0);
        CHECK(strncmp(out, text, 10) == 0); /* the day is the one given */
    } else {
        CHECK(out[0] == '\0');
        CHECK(strchr(pdb_errmsg(ctx), '\n') == NULL);
    }
    free(text);
    return 0;
}
