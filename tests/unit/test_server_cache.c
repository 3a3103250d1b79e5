/*
 * test_server_cache.c: the memory tile cache: hits and LRU eviction within
 * the byte budget, versions (a stale entry is never returned), dropping by
 * box at every zoom, and one render for many concurrent askers.
 */
#include "cache.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four above, which it needs */

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pdb_srv_tile_key key(int z, uint32_t x, uint32_t y)
{
    pdb_srv_tile_key k = {.style = 42, .x = x, .y = y, .z = (uint8_t)z, .scale = 1};
    return k;
}

/* Renders (fills) a tile of n bytes at version v, as a caller would. */
static void put(pdb_srv_cache *c, pdb_srv_tile_key k, size_t n, int64_t v)
{
    pdb_srv_blob *b, *got;
    int64_t ver;
    assert_int_equal(pdb_srv_cache_get(c, &k, 0, 1000, &got, &ver), PDB_SRV_CACHE_RENDER);
    b = pdb_srv_blob_new(NULL, n);
    memset(b->data, 'x', n);
    pdb_srv_cache_fill(c, &k, b, v);
    pdb_srv_blob_unref(b);
}

static int has(pdb_srv_cache *c, pdb_srv_tile_key k, int64_t min_version)
{
    pdb_srv_blob *b;
    int64_t v;
    pdb_srv_cache_result r = pdb_srv_cache_get(c, &k, min_version, 1000, &b, &v);
    if (r == PDB_SRV_CACHE_HIT) {
        pdb_srv_blob_unref(b);
        return 1;
    }
    pdb_srv_cache_abandon(c, &k);
    return 0;
}

static void test_hit_and_lru(void **state)
{
    (void)state;
    /* Room for five 1000-byte tiles with their bookkeeping. */
    pdb_srv_cache *c = pdb_srv_cache_new(5 * (1000 + PDB_SRV_CACHE_ENTRY_OVERHEAD), 0);
    pdb_srv_cache_stats st;
    for (uint32_t i = 0; i < 5; i++)
        put(c, key(10, i, 0), 1000, 1);
    pdb_srv_cache_stats_get(c, &st);
    assert_int_equal(st.entries, 5);
    assert_true(st.bytes <= st.max_bytes);
    assert_true(has(c, key(10, 0, 0), 0)); /* 0 is now the most recent */
    for (uint32_t i = 5; i < 12; i++)
        put(c, key(10, i, 0), 1000, 1);
    pdb_srv_cache_stats_get(c, &st);
    assert_true(st.bytes <= 5 * (1000 + PDB_SRV_CACHE_ENTRY_OVERHEAD));
    assert_true(st.evictions > 0);
    assert_true(has(c, key(10, 11, 0), 0));
    assert_false(has(c, key(10, 1, 0), 0)); /* least recently used, evicted */
    /* A tile larger than the whole cache is served but not kept. */
    put(c, key(10, 99, 0), 20 * 1000, 1);
    assert_false(has(c, key(10, 99, 0), 0));
    pdb_srv_cache_free(c);
}

static void test_blob_outlives_eviction(void **state)
{
    (void)state;
    pdb_srv_cache *c = pdb_srv_cache_new(3000, 0);
    pdb_srv_blob *b;
    int64_t v;
    pdb_srv_tile_key k = key(3, 1, 1);
    put(c, k, 1000, 7);
    assert_int_equal(pdb_srv_cache_get(c, &k, 0, 10, &b, &v), PDB_SRV_CACHE_HIT);
    assert_int_equal(v, 7);
    pdb_srv_cache_clear(c); /* dropped while a response still sends it */
    assert_int_equal(b->data[999], 'x');
    pdb_srv_blob_unref(b);
    pdb_srv_cache_free(c);
}

/* What http.c keeps with a blob (a ready response) goes with the blob's
 * last reference, not before; a second one offered is refused. */
typedef struct extra_probe {
    pdb_srv_blob_extra base; /* first, as the hook wants */
    int *freed;              /* set to 1 when freed */
} extra_probe;

static void probe_free(pdb_srv_blob_extra *x)
{
    *((extra_probe *)x)->freed = 1;
    free(x);
}

static void test_blob_extra_freed_with_blob(void **state)
{
    (void)state;
    int freed1 = 0, freed2 = 0;
    pdb_srv_blob *b = pdb_srv_blob_new("png", 3);
    extra_probe *x1 = malloc(sizeof *x1), *x2 = malloc(sizeof *x2);
    x1->base.free = probe_free;
    x1->freed = &freed1;
    x2->base.free = probe_free;
    x2->freed = &freed2;
    assert_null(pdb_srv_blob_extra_get(b));
    assert_ptr_equal(pdb_srv_blob_extra_set(b, &x1->base), &x1->base);
    assert_ptr_equal(pdb_srv_blob_extra_set(b, &x2->base), &x1->base); /* refused */
    probe_free(&x2->base);                                             /* still the caller's */
    assert_int_equal(freed2, 1);
    assert_ptr_equal(pdb_srv_blob_extra_get(b), &x1->base);
    pdb_srv_blob_ref(b);
    pdb_srv_blob_unref(b);
    assert_int_equal(freed1, 0);
    pdb_srv_blob_unref(b);
    assert_int_equal(freed1, 1);
}

static void test_versions(void **state)
{
    (void)state;
    pdb_srv_cache *c = pdb_srv_cache_new(1 << 20, 0);
    pdb_srv_tile_key k = key(12, 3247, 1799);
    put(c, k, 100, 5);
    assert_true(has(c, k, 5));
    assert_false(has(c, k, 6)); /* rendered before a change that meets it: dropped */
    assert_false(has(c, k, 0)); /* and gone */
    pdb_srv_cache_stats st;
    pdb_srv_cache_stats_get(c, &st);
    assert_true(st.invalidated >= 1);
    pdb_srv_cache_free(c);
}

static void test_invalidate_box(void **state)
{
    (void)state;
    pdb_srv_cache *c = pdb_srv_cache_new(1 << 20, 0);
    double m[4];
    /* A box around tile 12/3247/1799 (Viet Tri). */
    pdb_srv_tile_buffered_merc(12, 3247, 1799, 0, m);
    double box[4] = {m[0] + 10, m[1] + 10, m[0] + 20, m[1] + 20};
    put(c, key(12, 3247, 1799), 10, 1);
    put(c, key(11, 1623, 899), 10, 1);   /* its parent */
    put(c, key(0, 0, 0), 10, 1);         /* the world */
    put(c, key(12, 3250, 1799), 10, 1);  /* three tiles east */
    put(c, key(14, 12988, 7199), 10, 1); /* its south-west grandchild at z14, under the box */
    put(c, key(14, 12988, 7196), 10, 1); /* its north-west grandchild, away from the box */
    assert_int_equal(pdb_srv_cache_invalidate(c, box), 4);
    assert_false(has(c, key(12, 3247, 1799), 0));
    assert_false(has(c, key(11, 1623, 899), 0));
    assert_false(has(c, key(0, 0, 0), 0));
    assert_true(has(c, key(12, 3250, 1799), 0)); /* untouched, still cached */
    assert_true(has(c, key(14, 12988, 7196), 0));
    pdb_srv_cache_free(c);

    /* A buffer around tiles reaches into the neighbours. */
    c = pdb_srv_cache_new(1 << 20, 256);
    put(c, key(12, 3248, 1799), 10, 1); /* east neighbour of the box's tile */
    put(c, key(12, 3250, 1799), 10, 1); /* further away */
    assert_int_equal(pdb_srv_cache_invalidate(c, box), 1);
    assert_true(has(c, key(12, 3250, 1799), 0));
    pdb_srv_cache_free(c);
}

typedef struct racer {
    pdb_srv_cache *c;    /* shared cache */
    atomic_int *renders; /* renders performed */
    int hits;            /* this thread's hits */
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    pdb_srv_tile_key k = key(15, 100, 200);
    pdb_srv_blob *b;
    int64_t v;
    for (int attempt = 0; attempt < 3; attempt++) {
        pdb_srv_cache_result res = pdb_srv_cache_get(r->c, &k, 0, 5000, &b, &v);
        if (res == PDB_SRV_CACHE_HIT) {
            r->hits++;
            pdb_srv_blob_unref(b);
            return NULL;
        }
        if (res == PDB_SRV_CACHE_RENDER) {
            atomic_fetch_add(r->renders, 1);
            struct timespec ts = {0, 50 * 1000 * 1000}; /* a slow render */
            nanosleep(&ts, NULL);
            b = pdb_srv_blob_new("png", 3);
            pdb_srv_cache_fill(r->c, &k, b, 1);
            pdb_srv_blob_unref(b);
            return NULL;
        }
    }
    return NULL;
}

static void test_single_flight(void **state)
{
    (void)state;
    enum { N = 16 };
    pdb_srv_cache *c = pdb_srv_cache_new(1 << 20, 0);
    atomic_int renders = 0;
    pthread_t th[N];
    racer r[N];
    for (int i = 0; i < N; i++) {
        r[i] = (racer){.c = c, .renders = &renders, .hits = 0};
        pthread_create(&th[i], NULL, race, &r[i]);
    }
    int hits = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        hits += r[i].hits;
    }
    assert_int_equal(atomic_load(&renders), 1);
    assert_int_equal(hits, N - 1);
    pdb_srv_cache_stats st;
    pdb_srv_cache_stats_get(c, &st);
    assert_true(st.waits >= 1);
    pdb_srv_cache_free(c);
}

static void test_abandon_and_busy(void **state)
{
    (void)state;
    pdb_srv_cache *c = pdb_srv_cache_new(1 << 20, 0);
    pdb_srv_tile_key k = key(5, 1, 1);
    pdb_srv_blob *b;
    int64_t v;
    assert_int_equal(pdb_srv_cache_get(c, &k, 0, 10, &b, &v), PDB_SRV_CACHE_RENDER);
    /* Someone else asks while it renders, and gives up after 20 ms. */
    assert_int_equal(pdb_srv_cache_get(c, &k, 0, 20, &b, &v), PDB_SRV_CACHE_BUSY);
    pdb_srv_cache_abandon(c, &k);
    /* The claim is gone: the next asker renders. */
    assert_int_equal(pdb_srv_cache_get(c, &k, 0, 10, &b, &v), PDB_SRV_CACHE_RENDER);
    pdb_srv_cache_abandon(c, &k);
    /* A cache of 0 bytes keeps nothing but still hands out claims. */
    pdb_srv_cache *none = pdb_srv_cache_new(0, 0);
    put(none, k, 10, 1);
    assert_false(has(none, k, 0));
    pdb_srv_cache_free(none);
    pdb_srv_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_and_lru),
        cmocka_unit_test(test_blob_outlives_eviction),
        cmocka_unit_test(test_blob_extra_freed_with_blob),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_invalidate_box),
        cmocka_unit_test(test_single_flight),
        cmocka_unit_test(test_abandon_and_busy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
