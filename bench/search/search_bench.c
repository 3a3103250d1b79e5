/*
 * search_bench.c: pdb_parcels_search over a store, as the officer's desk
 * asks it: each line of QUERIES is "owner|TEXT" or "address|TEXT"; every
 * query is run ROUNDS times (the first round warms the page cache and is
 * not counted) and the time of each call is kept. Prints the count, p50,
 * p95, p99 and max in milliseconds, and how many queries found nothing
 * (a query list drawn from the store finds something every time).
 *
 *   search_bench STORE QUERIES [ROUNDS]
 *
 * Built by bench/search/run.sh against the build tree; not installed.
 */
#include "parceldb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: search_bench STORE QUERIES [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 3 ? atoi(argv[3]) : 3;
    pdb_ctx *ctx = NULL;
    pdb_store *store = NULL;
    if (pdb_ctx_new(&ctx) != PDB_OK || pdb_store_open(ctx, argv[1], PDB_OPEN_READONLY, &store)) {
        fprintf(stderr, "search_bench: %s\n", ctx ? pdb_errmsg(ctx) : "no context");
        return 1;
    }
    FILE *f = fopen(argv[2], "r");
    if (f == NULL) {
        perror(argv[2]);
        return 1;
    }
    char (*lines)[256] = NULL;
    size_t n = 0, cap = 0;
    char buf[256];
    while (fgets(buf, sizeof buf, f) != NULL) {
        buf[strcspn(buf, "\n")] = '\0';
        if (strchr(buf, '|') == NULL)
            continue;
        if (n == cap && (lines = realloc(lines, (cap = cap ? 2 * cap : 256) * sizeof *lines)) == NULL)
            return 1;
        memcpy(lines[n++], buf, sizeof buf);
    }
    fclose(f);
    double *ms = calloc(n * (size_t)rounds + 1, sizeof *ms);
    size_t timed = 0, empty = 0;
    for (int r = 0; r <= rounds; r++)
        for (size_t i = 0; i < n; i++) {
            char *bar = strchr(lines[i], '|');
            pdb_search_query q = {.limit = 20};
            if (strncmp(lines[i], "owner|", 6) == 0)
                q.owner = bar + 1;
            else
                q.address = bar + 1;
            pdb_parcel_list *list = NULL;
            double t0 = now_ms();
            if (pdb_parcels_search(ctx, store, &q, PDB_READ_PERSONAL | PDB_READ_WGS84, &list)) {
                fprintf(stderr, "search_bench: %s: %s\n", lines[i], pdb_errmsg(ctx));
                return 1;
            }
            double t = now_ms() - t0;
            if (r > 0) {
                ms[timed++] = t;
                empty += list->count == 0;
            }
            pdb_parcel_list_free(list);
        }
    qsort(ms, timed, sizeof *ms, cmp);
#define PCT(p) ms[(size_t)((p) / 100.0 * (double)(timed - 1))]
    printf("queries %zu  p50 %.3f ms  p95 %.3f ms  p99 %.3f ms  max %.3f ms  empty %zu\n", timed,
           PCT(50), PCT(95), PCT(99), timed ? ms[timed - 1] : 0.0, empty);
    free(ms);
    free(lines);
    pdb_store_close(store);
    pdb_ctx_free(ctx);
    return 0;
}
