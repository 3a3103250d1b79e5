/*
 * gen_points.c: the lookup benchmark's points, drawn from a store's current
 * parcels with a seeded generator (the same store and seed give the same
 * file). Each point's id says what kind it is, so that disagreements
 * between the tools can be explained by kind:
 *   in-N    random in a random current parcel's box, kept only when
 *           SpatiaLite's ST_Contains says the parcel holds it (88%)
 *   box-N   uniform in the box of all current parcels: in a parcel or in a
 *           gap between them, whatever it hits (4%)
 *   out-N   east of every parcel, in no parcel (2%)
 *   vtx-N   exactly a vertex of a random parcel's outer ring: on the
 *           boundary of that parcel and of its neighbours (4%)
 *   mid-N   the midpoint of a random outer-ring edge, rounded to the
 *           nearest double: on the edge or within one ulp of it (2%)
 * Coordinates are written with 17 significant digits, so every reader gets
 * the very same doubles.
 *
 *   gen_points --db STORE --out FILE.csv [--count N] [--seed S]
 *
 * Built by bench/lookup/run.sh with cc; not installed.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct box {
    int64_t id;                   /* parcels.id */
    double x0, y0, x1, y1;        /* bounding box, degrees */
} box;

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

/* splitmix64: small, seedable, good enough for picking points. */
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double rng_unit(void) /* [0, 1) */
{
    return (double)(rng_next() >> 11) / 9007199254740992.0;
}

static int die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "gen_points: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
    return 1;
}

int main(int argc, char **argv)
{
    const char *dbpath = NULL, *outpath = NULL;
    long count = 100000;
    sqlite3 *db = NULL;
    sqlite3_stmt *all = NULL, *contains = NULL, *vertex = NULL;
    char *err = NULL;
    box *boxes = NULL;
    size_t nboxes = 0, cap = 0;
    double gx0 = 1e9, gy0 = 1e9, gx1 = -1e9, gy1 = -1e9;
    long kinds[5] = {0};

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            dbpath = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            outpath = argv[++i];
        else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
            count = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            rng_state ^= strtoull(argv[++i], NULL, 10) * 0x2545f4914f6cdd1du;
        else {
            fprintf(stderr, "usage: gen_points --db STORE --out FILE.csv [--count N] [--seed S]\n");
            return 2;
        }
    }
    if (dbpath == NULL || outpath == NULL || count < 1) {
        fprintf(stderr, "usage: gen_points --db STORE --out FILE.csv [--count N] [--seed S]\n");
        return 2;
    }
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return die(db, dbpath);
    sqlite3_enable_load_extension(db, 1);
    if (sqlite3_load_extension(db, "mod_spatialite", NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "gen_points: loading mod_spatialite: %s\n", err ? err : "?");
        return 1;
    }
    if (sqlite3_prepare_v2(db,
                           "SELECT id, MbrMinX(geom), MbrMinY(geom), MbrMaxX(geom), MbrMaxY(geom) "
                           "FROM parcels WHERE valid_to IS NULL ORDER BY id",
                           -1, &all, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT ST_Contains(geom, MakePoint(?2, ?3, 4326)) FROM parcels "
                           "WHERE id = ?1",
                           -1, &contains, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT ST_X(p), ST_Y(p), ST_X(q), ST_Y(q) FROM (SELECT "
                           "ST_PointN(r, 1 + ?2 % (ST_NumPoints(r) - 1)) AS p, "
                           "ST_PointN(r, 2 + ?2 % (ST_NumPoints(r) - 1)) AS q FROM (SELECT "
                           "ST_ExteriorRing(ST_GeometryN(geom, 1)) AS r FROM parcels WHERE id = ?1))",
                           -1, &vertex, NULL) != SQLITE_OK)
        return die(db, "preparing");
    while (sqlite3_step(all) == SQLITE_ROW) {
        if (nboxes == cap) {
            cap = cap ? 2 * cap : 65536;
            if ((boxes = realloc(boxes, cap * sizeof *boxes)) == NULL)
                return die(NULL, "out of memory");
        }
        box *b = &boxes[nboxes++];
        b->id = sqlite3_column_int64(all, 0);
        b->x0 = sqlite3_column_double(all, 1);
        b->y0 = sqlite3_column_double(all, 2);
        b->x1 = sqlite3_column_double(all, 3);
        b->y1 = sqlite3_column_double(all, 4);
        gx0 = b->x0 < gx0 ? b->x0 : gx0;
        gy0 = b->y0 < gy0 ? b->y0 : gy0;
        gx1 = b->x1 > gx1 ? b->x1 : gx1;
        gy1 = b->y1 > gy1 ? b->y1 : gy1;
    }
    if (nboxes == 0)
        return die(NULL, "the store has no current parcels");

    FILE *out = fopen(outpath, "w");
    if (out == NULL) {
        perror(outpath);
        return 1;
    }
    fputs("id,lon,lat\n", out);
    for (long n = 0; n < count; n++) {
        /* The kind of the n-th point: a fixed pattern of 50, so that any
         * prefix of the file has the same mix. */
        int slot = (int)(n % 50), kind = slot < 44 ? 0 : slot < 46 ? 1 : slot < 47 ? 2 : slot < 49 ? 3 : 4;
        static const char *names[] = {"in", "box", "out", "vtx", "mid"};
        double lon = 0, lat = 0;
        if (kind == 0) {
            int found = 0;
            while (!found) {
                const box *b = &boxes[rng_next() % nboxes];
                for (int t = 0; t < 32 && !found; t++) {
                    lon = b->x0 + (b->x1 - b->x0) * rng_unit();
                    lat = b->y0 + (b->y1 - b->y0) * rng_unit();
                    sqlite3_reset(contains);
                    sqlite3_bind_int64(contains, 1, b->id);
                    sqlite3_bind_double(contains, 2, lon);
                    sqlite3_bind_double(contains, 3, lat);
                    found = sqlite3_step(contains) == SQLITE_ROW && sqlite3_column_int(contains, 0) == 1;
                }
            }
        } else if (kind == 1) {
            lon = gx0 + (gx1 - gx0) * rng_unit();
            lat = gy0 + (gy1 - gy0) * rng_unit();
        } else if (kind == 2) {
            lon = gx1 + 0.01 + (gx1 - gx0) * rng_unit();
            lat = gy0 + (gy1 - gy0) * rng_unit();
        } else {
            const box *b = &boxes[rng_next() % nboxes];
            sqlite3_reset(vertex);
            sqlite3_bind_int64(vertex, 1, b->id);
            sqlite3_bind_int64(vertex, 2, (sqlite3_int64)(rng_next() >> 33));
            if (sqlite3_step(vertex) != SQLITE_ROW || sqlite3_column_type(vertex, 0) == SQLITE_NULL)
                return die(db, "reading a vertex");
            lon = sqlite3_column_double(vertex, 0);
            lat = sqlite3_column_double(vertex, 1);
            if (kind == 4) {
                lon = lon + (sqlite3_column_double(vertex, 2) - lon) / 2;
                lat = lat + (sqlite3_column_double(vertex, 3) - lat) / 2;
            }
        }
        kinds[kind]++;
        fprintf(out, "%s-%ld,%.17g,%.17g\n", names[kind], n + 1, lon, lat);
    }
    if (fclose(out) != 0) {
        perror(outpath);
        return 1;
    }
    fprintf(stderr,
            "gen_points: %ld points over %zu parcels: %ld in, %ld box, %ld out, %ld vtx, %ld mid\n",
            count, nboxes, kinds[0], kinds[1], kinds[2], kinds[3], kinds[4]);
    sqlite3_finalize(all);
    sqlite3_finalize(contains);
    sqlite3_finalize(vertex);
    sqlite3_close(db);
    free(boxes);
    return 0;
}
