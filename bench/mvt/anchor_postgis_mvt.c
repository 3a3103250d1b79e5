/*
 * anchor_postgis_mvt.c: the vector-tile benchmark's PostGIS anchor: what
 * Martin and pg_tileserv run for a table layer, ST_AsMVT over
 * ST_AsMVTGeom (extent 4096, buffer 64, clipped), one prepared statement,
 * one libpq connection on a Unix socket, one round trip a tile. The table
 * holds the current parcels with their geometry already in EPSG:3857 and
 * a GiST index on it (stronger than those servers' default, which
 * transforms the tile's box to the table's CRS at each request).
 *
 *   anchor_postgis_mvt CONNINFO TILES.txt [OUTDIR]
 *   TILES.txt: "z x y" a line (XYZ numbering, as `parceldb render --tiles`).
 *   OUTDIR: each tile is written to a file OUTDIR/z-x-y.mvt, as `parceldb
 *   render --out` writes its own (OUTDIR/z/x/y.mvt), so that both sides of
 *   the benchmark end a tile the same way (bench/mvt/run.sh puts both
 *   directories on a tmpfs).
 * Prints one line: "N tiles in S s: R tiles/s, mean MVT B bytes, max M,
 * p99 P" (the first four fields as parceldb render prints them).
 *
 * Built by bench/mvt/run.sh with cc; not installed.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char sql[] =
    "SELECT ST_AsMVT(q, 'parcels', 4096, 'geom') FROM ("
    "SELECT id, commune, sheet, parcel, landuse, area, "
    "ST_AsMVTGeom(geom, ST_TileEnvelope($1, $2, $3), 4096, 64, true) AS geom "
    "FROM parcels_mvt WHERE geom && ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096)) q";

/* The tile's bytes to OUTDIR/z-x-y.mvt (one directory: no mkdir, which
 * parceldb pays for its z/x directories). */
static int write_tile(const char *dir, const char *z, const char *x, const char *y,
                      const char *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-%s-%s.mvt", dir, z, x, y);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: anchor_postgis_mvt CONNINFO TILES.txt [OUTDIR]\n");
        return 2;
    }
    PGconn *conn = PQconnectdb(argv[1]);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "connecting: %s", PQerrorMessage(conn));
        return 1;
    }
    PGresult *res = PQprepare(conn, "tile", sql, 3, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "preparing: %s", PQerrorMessage(conn));
        return 1;
    }
    PQclear(res);
    FILE *f = fopen(argv[2], "r");
    if (f == NULL) {
        perror(argv[2]);
        return 1;
    }
    size_t n = 0, cap = 0, total = 0, *sizes = NULL;
    char line[128];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (fgets(line, sizeof line, f) != NULL) {
        char z[16], x[16], y[16];
        if (sscanf(line, "%15s %15s %15s", z, x, y) != 3)
            continue;
        const char *params[3] = {z, x, y};
        /* Binary result: the tile's bytes as they are, no hex decoding. */
        res = PQexecPrepared(conn, "tile", 3, params, NULL, NULL, 1);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
            fprintf(stderr, "tile %s/%s/%s: %s", z, x, y, PQerrorMessage(conn));
            return 1;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            if ((sizes = realloc(sizes, cap * sizeof *sizes)) == NULL)
                return 1;
        }
        sizes[n] = (size_t)PQgetlength(res, 0, 0);
        if (argc == 4 && write_tile(argv[3], z, x, y, PQgetvalue(res, 0, 0), sizes[n]) != 0)
            return 1;
        total += sizes[n++];
        PQclear(res);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fclose(f);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    qsort(sizes, n, sizeof *sizes, cmp_size);
    printf("%zu tiles in %.3f s: %.1f tiles/s, mean MVT %.0f bytes, max %zu, p99 %zu\n", n, secs,
           secs > 0 ? (double)n / secs : 0.0, n ? (double)total / (double)n : 0.0,
           n ? sizes[n - 1] : 0, n ? sizes[(size_t)((double)(n - 1) * 0.99)] : 0);
    free(sizes);
    PQfinish(conn);
    return 0;
}
