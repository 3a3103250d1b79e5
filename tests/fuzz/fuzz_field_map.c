/*
 * fuzz_field_map: the importer's --field-map file (import/fieldmap.c) on
 * arbitrary text. When it parses, every mapped name is a trimmed,
 * non-empty string, and the map is resolved against a layer's field names
 * (the usual Vietnamese survey fields plus names taken from the input),
 * which must either fail with a message or give each target a distinct
 * field index in range.
 */
#include "imp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_field_map: check failed: %s (line %d)\n", #cond, __LINE__);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pdbi_ctx ic;
    pdbi_fieldmap fm;
    char *text = malloc(size + 1);

    CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    memset(&fm, 0, sizeof fm);
    pdbi__ctx_init(&ic, NULL);
    if (pdbi__fieldmap_parse(&ic, text, "fuzz.map", &fm) != PDB_OK) {
        for (int t = 0; t < PDBI_T_COUNT; t++)
            CHECK(fm.source[t] == NULL); /* cleared on failure */
        CHECK(pdbi_errmsg(&ic)[0] != '\0');
        free(text);
        return 0;
    }
    /* The layer's fields: the common ones, then each mapped source name
     * (so that mapped names are found), then the same again in upper case. */
    const char *names[64] = {"MaXa",     "SoTo",   "SoThua", "LoaiDat",
                             "DienTich", "TenChu", "DiaChi", "MaXaCu"};
    size_t n = 8;
    for (int t = 0; t < PDBI_T_COUNT; t++) {
        if (fm.source[t] == NULL)
            continue;
        size_t len = strlen(fm.source[t]);
        CHECK(len > 0);
        CHECK(fm.source[t][0] != ' ' && fm.source[t][len - 1] != ' ');
        if (t % 2 == 0)
            names[n++] = fm.source[t];
    }
    int idx[PDBI_T_COUNT];
    if (pdbi__fieldmap_resolve(&ic, &fm, names, n, idx) == PDB_OK) {
        for (int t = 0; t < PDBI_T_COUNT; t++) {
            CHECK(idx[t] >= -1 && idx[t] < (int)n);
            for (int u = 0; u < t; u++)
                CHECK(idx[t] < 0 || idx[t] != idx[u]); /* one field serves one target */
        }
    } else {
        CHECK(pdbi_errmsg(&ic)[0] != '\0');
    }
    char list[64];
    pdbi__field_list(names, n, list, sizeof list);
    CHECK(strnlen(list, sizeof list) < sizeof list);
    pdbi__fieldmap_clear(&fm);
    free(text);
    return 0;
}
