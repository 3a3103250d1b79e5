/*
 * anchor_spatialite.c: the lookup benchmark's SpatiaLite anchor: what a
 * user of SpatiaLite would write to answer the same CSV of points from the
 * same store: one connection, mod_spatialite loaded, one prepared statement
 * that asks the store's R-tree through SpatiaLite's SpatialIndex virtual
 * table and tests ST_Contains on current parcels. Prints what
 * `parceldb lookup --points` prints (the first match by parcel id).
 *
 *   anchor_spatialite STORE POINTS.csv
 *
 * Built by bench/lookup/run.sh with cc; not installed.
 */
#include "csvpoints.h"

#include <sqlite3.h>
#include <stdint.h>

static const char sql[] =
    "SELECT id, commune, sheet, parcel FROM parcels WHERE ROWID IN ("
    "  SELECT ROWID FROM SpatialIndex WHERE f_table_name = 'parcels' "
    "  AND f_geometry_column = 'geom' AND search_frame = MakePoint(?1, ?2, 4326)) "
    "AND valid_to IS NULL AND ST_Contains(geom, MakePoint(?1, ?2, 4326))";

int main(int argc, char **argv)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    char *err = NULL;
    csvpoints c;
    int got;
    static char outbuf[1 << 16];

    if (argc != 3) {
        fprintf(stderr, "usage: anchor_spatialite STORE POINTS.csv\n");
        return 2;
    }
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], sqlite3_errmsg(db));
        return 1;
    }
    sqlite3_enable_load_extension(db, 1);
    if (sqlite3_load_extension(db, "mod_spatialite", NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "loading mod_spatialite: %s\n", err ? err : "?");
        return 1;
    }
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        fprintf(stderr, "preparing: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    if (csvpoints_open(&c, argv[2]) != 0)
        return 1;
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    puts("id,commune,sheet,parcel");
    while ((got = csvpoints_next(&c)) == 1) {
        int64_t best = INT64_MAX;
        char commune[128] = "", sheet[128] = "", parcel[128] = "";
        int rc;
        sqlite3_reset(stmt);
        sqlite3_bind_double(stmt, 1, c.lon);
        sqlite3_bind_double(stmt, 2, c.lat);
        /* The first match by id is chosen here, not by ORDER BY ... LIMIT 1,
         * which would let the planner walk the primary key instead of the
         * R-tree. */
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(stmt, 0);
            if (id < best) {
                best = id;
                snprintf(commune, sizeof commune, "%s", (const char *)sqlite3_column_text(stmt, 1));
                snprintf(sheet, sizeof sheet, "%s", (const char *)sqlite3_column_text(stmt, 2));
                snprintf(parcel, sizeof parcel, "%s", (const char *)sqlite3_column_text(stmt, 3));
            }
        }
        if (rc != SQLITE_DONE) {
            fprintf(stderr, "line %ld: %s\n", c.lineno, sqlite3_errmsg(db));
            return 1;
        }
        csv_answer(stdout, c.id, best == INT64_MAX ? NULL : commune, sheet, parcel);
    }
    if (got < 0 || fflush(stdout) != 0)
        return 1;
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    fclose(c.in);
    return 0;
}
