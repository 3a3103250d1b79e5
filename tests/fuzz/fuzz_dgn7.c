/*
 * fuzz_dgn7: the DGN v7 element reader of the sheet import (import/dgn7.c)
 * on mutated design files. The input is the file. A read either fails with
 * a one-line message that names an offset inside the input, or gives
 * elements whose every part, vertex and text lies inside what was read:
 * a level of 0-63, a known type, vertices that are finite, text bytes that
 * end with their NUL inside the text buffer.
 *
 * Seeds: the generator's sheets and polygons as DGN and hand-cut variants,
 * made at test time by tests/fuzz/dgn7-seeds.sh (no binary in git).
 */
#include "dgn7.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_dgn7: check failed: %s (line %d)\n", #cond, __LINE__);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pdbi_ctx ic;
    pdbi_dgn7 d;

    pdbi__ctx_init(&ic, NULL);
    if (pdbi__dgn7_read(&ic, data, size, &d) != PDB_OK) {
        const char *msg = pdbi_errmsg(&ic);
        CHECK(msg[0] != '\0' && strchr(msg, '\n') == NULL);
        CHECK(ic.status == PDB_EINVAL || ic.status == PDB_ENOMEM);
        if (ic.status == PDB_EINVAL) {
            const char *at = strstr(msg, "offset ");
            CHECK(at != NULL);
            /* An element's offset, or the end (no end-of-design marker). */
            CHECK(strtoull(at + 7, NULL, 10) <= size);
        }
        CHECK(d.nelems == 0 && d.elems == NULL && d.xy == NULL);
        return 0;
    }
    CHECK(d.dimension == 2 || d.dimension == 3);
    for (size_t i = 0; i < d.nelems; i++) {
        const pdbi_dgn7_elem *el = &d.elems[i];
        CHECK(el->level >= 0 && el->level <= 63);
        CHECK(el->offset < size);
        if (el->type == PDBI_DGN7_TEXT) {
            CHECK(el->text < d.nchars);
            CHECK(memchr(d.chars + el->text, '\0', d.nchars - el->text) != NULL);
            continue;
        }
        CHECK(el->type == PDBI_DGN7_LINE || el->type == PDBI_DGN7_LINE_STRING ||
              el->type == PDBI_DGN7_SHAPE || el->type == PDBI_DGN7_CHAIN ||
              el->type == PDBI_DGN7_COMPLEX_SHAPE);
        CHECK(el->first_part + el->nparts <= d.nparts);
        if (el->type != PDBI_DGN7_CHAIN && el->type != PDBI_DGN7_COMPLEX_SHAPE)
            CHECK(el->nparts == 1);
        for (size_t k = 0; k < el->nparts; k++) {
            const pdbi_dgn7_part *p = &d.parts[el->first_part + k];
            CHECK(p->n >= 2 && p->first + p->n <= d.nxy);
            /* A vertex in UOR is a 32-bit integer: finite in master units
             * unless the TCB's origin is not (a NaN read from its bytes). */
            for (size_t v = 0; v < p->n && isfinite(d.origin[0]) && isfinite(d.origin[1]); v++)
                CHECK(isfinite(d.xy[2 * (p->first + v)]) && isfinite(d.xy[2 * (p->first + v) + 1]));
        }
    }
    pdbi__dgn7_free(&d);
    return 0;
}
