/*
 * test_pmtiles.c: the PMTiles writer and reader (tiler/pmtiles.h): tile
 * ids as the spec's table gives them, archives written and read back tile
 * for tile (run-length, deduplication, leaf directories chosen by size or
 * asked for), the writer's refusals and clean-up, and the reader's
 * refusals of damaged archives. The npm `pmtiles` library and python's
 * struct read the same archives in tests/pmtiles/pmtiles.sh.
 */
#include "pmtiles.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static pdbt_ctx *ctx;

static int setup(void **state)
{
    (void)state;
    return pdbt_ctx_new(NULL, &ctx) == PDB_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    pdbt_ctx_free(ctx);
    return 0;
}

/* The table of spec 4.1. */
static void tile_ids_of_the_spec(void **state)
{
    (void)state;
    assert_int_equal(pdbt_pmtiles_tile_id(0, 0, 0), 0);
    assert_int_equal(pdbt_pmtiles_tile_id(1, 0, 0), 1);
    assert_int_equal(pdbt_pmtiles_tile_id(1, 0, 1), 2);
    assert_int_equal(pdbt_pmtiles_tile_id(1, 1, 1), 3);
    assert_int_equal(pdbt_pmtiles_tile_id(1, 1, 0), 4);
    assert_int_equal(pdbt_pmtiles_tile_id(2, 0, 0), 5);
    assert_int_equal(pdbt_pmtiles_tile_id(12, 3423, 1763), 19078479);
}

/* Every tile of z0-8 maps to a distinct id within its zoom's range, and
 * back; deep zooms too. */
static void tile_ids_round_trip(void **state)
{
    (void)state;
    uint64_t next = 0;
    for (int z = 0; z <= 8; z++) {
        uint64_t n = (uint64_t)1 << z;
        unsigned char *seen = calloc(n * n, 1);
        assert_non_null(seen);
        for (uint32_t x = 0; x < n; x++)
            for (uint32_t y = 0; y < n; y++) {
                uint64_t id = pdbt_pmtiles_tile_id(z, x, y);
                assert_true(id >= next && id < next + n * n);
                assert_int_equal(seen[id - next], 0);
                seen[id - next] = 1;
                int zz;
                uint32_t xx, yy;
                assert_int_equal(pdbt_pmtiles_tile_zxy(id, &zz, &xx, &yy), 0);
                assert_int_equal(zz, z);
                assert_int_equal(xx, x);
                assert_int_equal(yy, y);
            }
        free(seen);
        next += n * n;
    }
    const uint32_t deep[][3] = {
        {20, 830000, 457000}, {24, 13000000, 7300000}, {31, 1, 2147483647u}};
    for (size_t i = 0; i < sizeof deep / sizeof deep[0]; i++) {
        int z;
        uint32_t x, y;
        uint64_t id = pdbt_pmtiles_tile_id((int)deep[i][0], deep[i][1], deep[i][2]);
        assert_int_equal(pdbt_pmtiles_tile_zxy(id, &z, &x, &y), 0);
        assert_int_equal(z, deep[i][0]);
        assert_int_equal(x, deep[i][1]);
        assert_int_equal(y, deep[i][2]);
    }
}

/* splitmix64's finaliser: well-mixed bits from consecutive ids. */
static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A tile's bytes: kind 0 is one shared "empty" tile, others distinct. */
static size_t tile_bytes(int kind, uint64_t id, unsigned char *buf)
{
    if (kind == 0) {
        memcpy(buf, "EMPTY-TILE", 10);
        return 10;
    }
    int n = snprintf((char *)buf, 64, "tile %llu kind %d", (unsigned long long)id, kind);
    if (kind == 2) {
        /* A length that varies from tile to tile: directories that do not
         * compress to nothing. */
        size_t want = 24 + (size_t)(mix(id) % 40);
        memset(buf + n, '.', want - (size_t)n);
        return want;
    }
    return (size_t)n;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Writes the tiles of z0..zmax whose kind() is not -1, in tile-id order,
 * reads the archive back and checks every tile and every absent one. */
static char path[512]; /* the last archive round_trip wrote */

static void round_trip(size_t leaf_entries, int zmax, int (*kind)(uint64_t id),
                       pdbt_pmtiles_header *out_h)
{
    unsigned char buf[64];
    snprintf(path, sizeof path, "%s/t.pmtiles", tu_tmpdir("pmtiles"));
    pdbt_pmtiles_writer_options o = {.tile_type = PDBT_PMTILES_TYPE_PNG,
                                     .tile_compression = PDBT_PMTILES_COMPRESSION_NONE,
                                     .leaf_entries = leaf_entries};
    pdbt_pmtiles_writer *w = NULL;
    assert_int_equal(pdbt_pmtiles_writer_new(ctx, path, &o, &w), PDB_OK);
    uint64_t last = pdbt_pmtiles_tile_id(zmax + 1, 0, 0);
    uint64_t added = 0;
    for (uint64_t id = 0; id < last; id++) {
        int k = kind(id), z;
        uint32_t x, y;
        if (k < 0)
            continue;
        assert_int_equal(pdbt_pmtiles_tile_zxy(id, &z, &x, &y), 0);
        size_t n = tile_bytes(k, id, buf);
        assert_int_equal(pdbt_pmtiles_writer_add(ctx, w, z, x, y, buf, n), PDB_OK);
        added++;
    }
    pdbt_pmtiles_header h = {.min_zoom = 0,
                             .max_zoom = zmax,
                             .bounds = {105.1, 21.2, 105.7, 21.6},
                             .center_zoom = zmax,
                             .center = {105.4, 21.4}};
    assert_int_equal(pdbt_pmtiles_writer_finish(ctx, w, &h, "{\"name\":\"t\"}"), PDB_OK);
    pdbt_pmtiles_writer_free(w);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0);

    size_t len;
    unsigned char *data = slurp(path, &len);
    pdbt_pmtiles *p = NULL;
    assert_int_equal(pdbt_pmtiles_open(ctx, data, len, &p), PDB_OK);
    const pdbt_pmtiles_header *r = pdbt_pmtiles_get_header(p);
    assert_int_equal(r->addressed_tiles, added);
    assert_int_equal(r->min_zoom, 0);
    assert_int_equal(r->max_zoom, zmax);
    assert_int_equal(r->tile_type, PDBT_PMTILES_TYPE_PNG);
    assert_int_equal(r->clustered, 1);
    assert_true(r->root_offset + r->root_length <= PDBT_PMTILES_ROOT_MAX);
    assert_true(r->bounds[0] > 105.0999999 && r->bounds[0] < 105.1000001);
    assert_true(r->center[1] > 21.3999999 && r->center[1] < 21.4000001);
    assert_string_equal(pdbt_pmtiles_metadata(p), "{\"name\":\"t\"}");
    for (uint64_t id = 0; id < last + 10; id++) {
        int z;
        uint32_t x, y;
        const unsigned char *t;
        size_t tl;
        assert_int_equal(pdbt_pmtiles_tile_zxy(id, &z, &x, &y), 0);
        int k = id < last ? kind(id) : -1;
        pdb_status st = pdbt_pmtiles_get(ctx, p, z, x, y, &t, &tl);
        if (k < 0) {
            assert_int_equal(st, PDB_ENOTFOUND);
            continue;
        }
        assert_int_equal(st, PDB_OK);
        size_t n = tile_bytes(k, id, buf);
        assert_int_equal(tl, n);
        assert_memory_equal(t, buf, n);
    }
    *out_h = *r;
    pdbt_pmtiles_free(p);
    free(data);
}

/* Runs of the empty tile between distinct tiles, and gaps. */
static int mixed(uint64_t id)
{
    if (id % 97 == 13)
        return -1; /* a gap: not in the archive */
    return id % 10 == 0 ? 1 : 0;
}

static void runs_and_dedup(void **state)
{
    (void)state;
    pdbt_pmtiles_header h;
    round_trip(0, 6, mixed, &h);
    assert_true(h.tile_entries < h.addressed_tiles / 2);
    assert_int_equal(h.leaves_length, 0);
    /* One empty tile, and one for each tenth id in the archive. */
    uint64_t distinct = 1;
    for (uint64_t id = 0; id < pdbt_pmtiles_tile_id(7, 0, 0); id++)
        distinct += mixed(id) == 1;
    assert_int_equal(h.tile_contents, distinct);
}

static int all_distinct(uint64_t id)
{
    /* Distinct bytes, with irregular gaps: no runs, no pattern for gzip. */
    return mix(id + 7) % 8 < 3 ? -1 : 2;
}

/* Too many entries for the root: leaf directories, found by the reader. */
static void leaves_when_the_root_is_full(void **state)
{
    (void)state;
    pdbt_pmtiles_header h;
    round_trip(0, 8, all_distinct, &h); /* about 54,600 entries */
    assert_true(h.leaves_length > 0);
    assert_int_equal(h.tile_entries, h.addressed_tiles);
}

static void leaves_asked_for(void **state)
{
    (void)state;
    pdbt_pmtiles_header h;
    round_trip(3, 4, mixed, &h);
    assert_true(h.leaves_length > 0);
}

static void writer_refusals(void **state)
{
    (void)state;
    char tmp[600], tiles[600];
    const char *dir = tu_tmpdir("pmtiles-refusals");
    snprintf(path, sizeof path, "%s/r.pmtiles", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(tiles, sizeof tiles, "%s.tmp.tiles", path);
    pdbt_pmtiles_writer_options o = {.tile_type = PDBT_PMTILES_TYPE_PNG,
                                     .tile_compression = PDBT_PMTILES_COMPRESSION_NONE};
    pdbt_pmtiles_writer *w = NULL;
    assert_int_equal(pdbt_pmtiles_writer_new(ctx, path, &o, &w), PDB_OK);
    pdbt_pmtiles_header h = {0};
    assert_int_equal(pdbt_pmtiles_writer_finish(ctx, w, &h, "{}"), PDB_EINVAL);
    assert_int_equal(pdbt_pmtiles_writer_add(ctx, w, 5, 3, 3, "a", 1), PDB_OK);
    assert_int_equal(pdbt_pmtiles_writer_add(ctx, w, 5, 3, 3, "a", 1), PDB_EINVAL);
    assert_non_null(strstr(pdbt_errmsg(ctx), "tile-id order"));
    assert_int_equal(pdbt_pmtiles_writer_add(ctx, w, 2, 0, 0, "a", 1), PDB_EINVAL);
    assert_int_equal(pdbt_pmtiles_writer_add(ctx, w, 5, 40, 0, "a", 1), PDB_EINVAL);
    assert_int_equal(pdbt_pmtiles_writer_add(ctx, w, 6, 0, 0, "", 0), PDB_EINVAL);
    assert_int_equal(access(tmp, F_OK), 0);
    pdbt_pmtiles_writer_free(w); /* not finished: nothing left */
    assert_int_not_equal(access(tmp, F_OK), 0);
    assert_int_not_equal(access(tiles, F_OK), 0);
    assert_int_not_equal(access(path, F_OK), 0);

    char bad[600];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.pmtiles", dir);
    assert_int_equal(pdbt_pmtiles_writer_new(ctx, bad, &o, &w), PDB_EIO);
    assert_null(w);
    assert_non_null(strstr(pdbt_errmsg(ctx), "x.pmtiles: cannot write: No such file"));
}

static void reader_refusals(void **state)
{
    (void)state;
    pdbt_pmtiles_header h;
    round_trip(0, 3, mixed, &h);
    size_t len;
    unsigned char *good = slurp(path, &len);
    unsigned char *b = malloc(len);
    pdbt_pmtiles *p = NULL;

    memcpy(b, good, len);
    b[0] = 'X';
    assert_int_equal(pdbt_pmtiles_open(ctx, b, len, &p), PDB_EINVAL);
    assert_null(p);
    assert_non_null(strstr(pdbt_errmsg(ctx), "no 'PMTiles' magic"));

    memcpy(b, good, len);
    b[7] = 2;
    assert_int_equal(pdbt_pmtiles_open(ctx, b, len, &p), PDB_EINVAL);
    assert_non_null(strstr(pdbt_errmsg(ctx), "version 2"));

    assert_int_equal(pdbt_pmtiles_open(ctx, good, len - 1, &p), PDB_EINVAL);
    assert_non_null(strstr(pdbt_errmsg(ctx), "runs past the end"));

    assert_int_equal(pdbt_pmtiles_open(ctx, good, 100, &p), PDB_EINVAL);

    memcpy(b, good, len);
    b[97] = 3; /* brotli directories */
    assert_int_equal(pdbt_pmtiles_open(ctx, b, len, &p), PDB_EINVAL);
    assert_non_null(strstr(pdbt_errmsg(ctx), "internal compression"));

    memcpy(b, good, len);
    b[127 + 12] ^= 0xff; /* inside the gzip of the root directory */
    assert_int_equal(pdbt_pmtiles_open(ctx, b, len, &p), PDB_EINVAL);
    assert_non_null(strstr(pdbt_errmsg(ctx), "root directory does not decode"));

    memcpy(b, good, len);
    b[100] = 9; /* min zoom over max zoom (3) */
    assert_int_equal(pdbt_pmtiles_open(ctx, b, len, &p), PDB_EINVAL);
    assert_non_null(strstr(pdbt_errmsg(ctx), "max zoom is below its min zoom"));

    free(b);
    free(good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tile_ids_of_the_spec), cmocka_unit_test(tile_ids_round_trip),
        cmocka_unit_test(runs_and_dedup),       cmocka_unit_test(leaves_when_the_root_is_full),
        cmocka_unit_test(leaves_asked_for),     cmocka_unit_test(writer_refusals),
        cmocka_unit_test(reader_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
