/*
 * fuzz_points_csv: the points CSV reader of `parceldb lookup --points`
 * (cli/csv.c, compiled into the target) on arbitrary bytes read through a
 * FILE, as the command reads its file. Checks the reader's promises: at
 * most CSV_MAX_FIELDS fields, every field a NUL-terminated string inside
 * the record buffer, line numbers that only grow, and an end (0 or -1)
 * after a bounded number of records.
 */
#include "csv.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz_points_csv: check failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static csv_reader r; /* 66 KB: kept off the stack */
    if (size == 0)
        return 0; /* fmemopen refuses an empty buffer */
    FILE *in = fmemopen((void *)data, size, "rb");
    CHECK(in != NULL);
    csv_init(&r, in);
    long last_line = 0;
    size_t records = 0;
    int rc;
    while ((rc = csv_next(&r)) == 1) {
        records++;
        /* Every record holds at least one byte, or a newline. */
        CHECK(records <= size);
        CHECK(r.nfields >= 1 && r.nfields <= CSV_MAX_FIELDS);
        CHECK(r.line > last_line && r.next_line > r.line);
        last_line = r.line;
        for (int i = 0; i < r.nfields; i++) {
            CHECK(r.fields[i] >= r.buf && r.fields[i] <= r.buf + CSV_MAX_LINE);
            size_t n = strnlen(r.fields[i], (size_t)(r.buf + CSV_MAX_LINE + 1 - r.fields[i]));
            CHECK(r.fields[i] + n <= r.buf + CSV_MAX_LINE);
            if (i + 1 < r.nfields)
                CHECK(r.fields[i] + n + 1 == r.fields[i + 1]);
        }
    }
    CHECK(rc == 0 || rc == -1);
    if (rc == -1)
        CHECK(r.error[0] != '\0' && strnlen(r.error, sizeof r.error) < sizeof r.error);
    fclose(in);
    return 0;
}
