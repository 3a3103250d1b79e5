/*
 * fuzz_survey_date: pdbi__date_parse (import/values.c), the record dates
 * of the national attribute set as surveys write them, on arbitrary bytes
 * (a DBF or GeoPackage field's text). The input is given without a NUL
 * past its end (copied to a buffer of its own length, so that an
 * over-read is an ASan report). Checks: an accepted date is
 * "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS" (not midnight), and is accepted
 * again as itself.
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
            fprintf(stderr, "fuzz_survey_date: check failed: %s (line %d)\n", #cond, __LINE__);    \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* 1 when t has the shape of pattern ('d' a digit, anything else itself). */
static int shaped(const char *t, const char *pattern)
{
    if (strlen(t) != strlen(pattern))
        return 0;
    for (size_t i = 0; pattern[i] != '\0'; i++)
        if (pattern[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != pattern[i])
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    CHECK(text != NULL);
    memcpy(text, data, size);
    char out[20], again[20];
    if (pdbi__date_parse(text, size, out) == 0) {
        int day = shaped(out, "dddd-dd-dd");
        CHECK(day || (shaped(out, "dddd-dd-ddTdd:dd:dd") && strcmp(out + 10, "T00:00:00") != 0));
        CHECK(pdbi__date_parse(out, strlen(out), again) == 0);
        CHECK(strcmp(out, again) == 0);
    }
    free(text);
    return 0;
}
