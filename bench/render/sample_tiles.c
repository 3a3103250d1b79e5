/*
 * sample_tiles.c: the render benchmark's province-wide tile list, drawn
 * like traffic: at each zoom (12, 14, 16, 18) up to N distinct tiles, each
 * found by picking a current parcel uniformly at random (every parcel
 * equally likely, so the tiles follow the parcels' density: many in dense
 * wards, few but some in sparse countryside, commune edges wherever they
 * fall) and taking the tile holding a random point of its bounding box.
 *
 * Duplicates are kept out: a tile drawn again is drawn over, so each zoom
 * measures N different tiles (a repeated tile would measure the page cache
 * rather than the renderer). Where the parcels cover fewer than N tiles
 * (z12 on a small store) the list holds every tile found after 100 N
 * draws, and the count printed on stderr says so.
 *
 * Reproducible: the generator is PCG32 with the given seed, the
 * parcels are read in id order, and the list is written in draw order
 * ("z x y" lines, zoom by zoom); the same store and seed give the same
 * list on any machine (SQLite's random() is not used).
 *
 *   sample_tiles STORE [PER_ZOOM] [SEED]   (defaults 250 and 19)
 *
 * Built by bench/render/run.sh with cc -lsqlite3 -lm; not installed.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct box {
    double x0, y0, x1, y1; /* a current parcel's bounding box, degrees */
} box;

typedef struct tile {
    long x, y; /* tile column and row (XYZ scheme) */
} tile;

static uint64_t rng_state = 0x853c49e6748fea9bu; /* PCG32's state */

/* PCG32 (XSH RR, O'Neill 2014): small, seedable, the same sequence on
 * every machine. */
static uint32_t rng_next32(void)
{
    uint64_t old = rng_state;
    rng_state = old * 6364136223846793005u + 1442695040888963407u;
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

static uint64_t rng_next(void)
{
    uint64_t hi = rng_next32();
    return hi << 32 | rng_next32();
}

static double rng_unit(void) /* [0, 1) */
{
    return (double)(rng_next() >> 11) / 9007199254740992.0;
}

/* The blob of a SpatiaLite geometry holds its MBR as four little-endian
 * doubles after the start byte, the byte order and the SRID: reading them
 * directly needs no mod_spatialite, so the tool runs wherever sqlite3 does. */
static int blob_mbr(const unsigned char *b, int n, box *out)
{
    double v[4];
    if (n < 39 || b[0] != 0x00 || (b[1] != 0x00 && b[1] != 0x01))
        return 0;
    for (int k = 0; k < 4; k++) {
        uint64_t u = 0;
        for (int i = 0; i < 8; i++) {
            int byte = b[1] == 0x01 ? 6 + 8 * k + i : 6 + 8 * k + 7 - i;
            u |= (uint64_t)b[byte] << (8 * i);
        }
        memcpy(&v[k], &u, sizeof v[k]);
    }
    out->x0 = v[0];
    out->y0 = v[1];
    out->x1 = v[2];
    out->y1 = v[3];
    return 1;
}

int main(int argc, char **argv)
{
    static const int zooms[] = {12, 14, 16, 18};
    sqlite3 *db = NULL;
    sqlite3_stmt *all = NULL;
    box *boxes = NULL;
    size_t nboxes = 0, cap = 0;

    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: sample_tiles STORE [PER_ZOOM] [SEED]\n");
        return 2;
    }
    long per_zoom = argc > 2 ? strtol(argv[2], NULL, 10) : 250;
    if (per_zoom < 1) {
        fprintf(stderr, "sample_tiles: PER_ZOOM must be a positive number\n");
        return 2;
    }
    if (argc > 3)
        rng_state ^= strtoull(argv[3], NULL, 10) * 0x2545f4914f6cdd1du;
    else
        rng_state ^= 19 * 0x2545f4914f6cdd1du;

    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT geom FROM parcels WHERE valid_to IS NULL ORDER BY id", -1,
                           &all, NULL) != SQLITE_OK) {
        fprintf(stderr, "sample_tiles: %s: %s\n", argv[1], sqlite3_errmsg(db));
        return 1;
    }
    while (sqlite3_step(all) == SQLITE_ROW) {
        box b;
        if (!blob_mbr(sqlite3_column_blob(all, 0), sqlite3_column_bytes(all, 0), &b)) {
            fprintf(stderr, "sample_tiles: a parcel's geometry is not a SpatiaLite blob\n");
            return 1;
        }
        if (nboxes == cap) {
            cap = cap ? 2 * cap : 65536;
            if ((boxes = realloc(boxes, cap * sizeof *boxes)) == NULL) {
                fprintf(stderr, "sample_tiles: out of memory\n");
                return 1;
            }
        }
        boxes[nboxes++] = b;
    }
    sqlite3_finalize(all);
    sqlite3_close(db);
    if (nboxes == 0) {
        fprintf(stderr, "sample_tiles: %s has no current parcels\n", argv[1]);
        return 1;
    }

    tile *seen = malloc((size_t)per_zoom * sizeof *seen);
    if (seen == NULL) {
        fprintf(stderr, "sample_tiles: out of memory\n");
        return 1;
    }
    for (size_t k = 0; k < sizeof zooms / sizeof zooms[0]; k++) {
        int z = zooms[k];
        double n = ldexp(1.0, z);
        long got = 0, draws = 0;
        while (got < per_zoom && draws < 100 * per_zoom) {
            const box *b = &boxes[rng_next() % nboxes];
            double lon = b->x0 + rng_unit() * (b->x1 - b->x0);
            double lat = b->y0 + rng_unit() * (b->y1 - b->y0);
            double r = lat * M_PI / 180;
            tile t = {(long)floor((lon + 180) / 360 * n),
                      (long)floor((1 - log(tan(r) + 1 / cos(r)) / M_PI) / 2 * n)};
            draws++;
            int dup = 0;
            /* A linear scan: N is a few hundred. */
            for (long i = 0; i < got && !dup; i++)
                dup = seen[i].x == t.x && seen[i].y == t.y;
            if (dup)
                continue;
            seen[got++] = t;
            printf("%d %ld %ld\n", z, t.x, t.y);
        }
        fprintf(stderr, "sample_tiles: z%d: %ld distinct tiles in %ld draws over %zu parcels\n", z,
                got, draws, nboxes);
    }
    free(seen);
    free(boxes);
    return 0;
}
