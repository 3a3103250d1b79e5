/*
 * anchor_postgis.c: the lookup benchmark's PostGIS anchor: one libpq
 * connection (a Unix socket), one prepared statement with ST_Contains on
 * a GiST-indexed table of the current parcels, one round trip per point
 * (what a user's program does). Prints what `parceldb lookup --points`
 * prints (the first match by parcel id).
 *
 *   anchor_postgis CONNINFO POINTS.csv
 *   e.g. anchor_postgis "host=/tmp/sock port=5499 dbname=bench" points.csv
 *
 * Built by bench/lookup/run.sh with cc; not installed.
 */
#include "csvpoints.h"

#include <libpq-fe.h>

/* The first match by id is chosen here rather than by ORDER BY id LIMIT 1,
 * which can make the planner walk the primary key instead of the GiST index. */
static const char sql[] = "SELECT id, commune, sheet, parcel FROM parcels "
                          "WHERE ST_Contains(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326))";

int main(int argc, char **argv)
{
    PGconn *conn;
    PGresult *res;
    csvpoints c;
    int got;
    static char outbuf[1 << 16];

    if (argc != 3) {
        fprintf(stderr, "usage: anchor_postgis CONNINFO POINTS.csv\n");
        return 2;
    }
    conn = PQconnectdb(argv[1]);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "connecting: %s", PQerrorMessage(conn));
        return 1;
    }
    /* The backend's pid, to report its peak memory at the end (the server's
     * side of the work; the client's is what time measures). */
    long backend = 0;
    res = PQexec(conn, "SELECT pg_backend_pid()");
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        backend = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    res = PQprepare(conn, "at", sql, 2, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "preparing: %s", PQerrorMessage(conn));
        return 1;
    }
    PQclear(res);
    if (csvpoints_open(&c, argv[2]) != 0)
        return 1;
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    puts("id,commune,sheet,parcel");
    while ((got = csvpoints_next(&c)) == 1) {
        char lon[32], lat[32];
        const char *params[2] = {lon, lat};
        /* 17 significant digits: float8 input gives back the very same double. */
        snprintf(lon, sizeof lon, "%.17g", c.lon);
        snprintf(lat, sizeof lat, "%.17g", c.lat);
        res = PQexecPrepared(conn, "at", 2, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            fprintf(stderr, "line %ld: %s", c.lineno, PQerrorMessage(conn));
            return 1;
        }
        int best = -1;
        long long best_id = 0;
        for (int i = 0; i < PQntuples(res); i++) {
            long long id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
            if (best < 0 || id < best_id) {
                best = i;
                best_id = id;
            }
        }
        if (best < 0)
            csv_answer(stdout, c.id, NULL, NULL, NULL);
        else
            csv_answer(stdout, c.id, PQgetvalue(res, best, 1), PQgetvalue(res, best, 2),
                       PQgetvalue(res, best, 3));
        PQclear(res);
    }
    if (got < 0 || fflush(stdout) != 0)
        return 1;
    if (backend > 0) { /* readable when run by root or the postgres user */
        char path[64], line[256];
        snprintf(path, sizeof path, "/proc/%ld/status", backend);
        FILE *st = fopen(path, "r");
        while (st != NULL && fgets(line, sizeof line, st) != NULL)
            if (strncmp(line, "VmHWM:", 6) == 0)
                fprintf(stderr, "postgis backend peak RSS: %ld KiB\n", strtol(line + 6, NULL, 10));
        if (st != NULL)
            fclose(st);
    }
    PQfinish(conn);
    fclose(c.in);
    return 0;
}
