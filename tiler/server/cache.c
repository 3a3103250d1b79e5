/*
 * cache.c: the bounded LRU tile cache with single-flight rendering. One
 * mutex guards the table and the list: a hit is a hash probe and two
 * pointer swaps, far below the cost of answering the request.
 */
#include "cache.h"

#include "tiler.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bytes counted per entry beyond its PNG: the entry, and the ready HTTP
 * response http.c keeps with a tile's bytes once it is sent (measured:
 * about 860 bytes of libmicrohttpd 0.9.75 response and headers, and the
 * 200 of http.c's record). */
#define ENTRY_OVERHEAD PDB_SRV_CACHE_ENTRY_OVERHEAD

typedef enum entry_state {
    ENTRY_READY,   /* holds a tile */
    ENTRY_PENDING, /* a thread is rendering it */
} entry_state;

typedef struct entry {
    pdb_srv_tile_key key;      /* which tile */
    entry_state state;         /* ready or being rendered */
    pdb_srv_blob *png;         /* the tile, when ready */
    int64_t version;           /* data version it was rendered at */
    struct entry *hnext;       /* next in its hash bucket */
    struct entry *prev, *next; /* LRU list (ready entries only), most recent first */
} entry;

struct pdb_srv_cache {
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t done;  /* broadcast when a pending render completes */
    entry **bucket;       /* hash table */
    size_t nbuckets;      /* a power of two */
    entry *head, *tail;   /* LRU list */
    size_t entries;       /* ready entries */
    size_t bytes;         /* bytes of ready entries */
    size_t max_bytes;     /* bound on bytes */
    double buffer_px;     /* pixels around a tile that can change it */
    uint64_t hits, misses, waits, evictions, invalidated; /* counters */
};

pdb_srv_blob *pdb_srv_blob_new(const void *data, size_t len)
{
    pdb_srv_blob *b = malloc(sizeof *b + len);
    if (b == NULL)
        return NULL;
    atomic_init(&b->refs, 1);
    atomic_init(&b->extra, NULL);
    b->len = len;
    if (data != NULL && len > 0)
        memcpy(b->data, data, len);
    return b;
}

pdb_srv_blob *pdb_srv_blob_ref(pdb_srv_blob *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void pdb_srv_blob_unref(pdb_srv_blob *b)
{
    if (b == NULL || atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    pdb_srv_blob_extra *x = atomic_load_explicit(&b->extra, memory_order_acquire);
    if (x != NULL)
        x->free(x);
    free(b);
}

pdb_srv_blob_extra *pdb_srv_blob_extra_get(pdb_srv_blob *b)
{
    return atomic_load_explicit(&b->extra, memory_order_acquire);
}

pdb_srv_blob_extra *pdb_srv_blob_extra_set(pdb_srv_blob *b, pdb_srv_blob_extra *x)
{
    pdb_srv_blob_extra *none = NULL;
    if (atomic_compare_exchange_strong_explicit(&b->extra, &none, x, memory_order_acq_rel,
                                                memory_order_acquire))
        return x;
    return none; /* the one another thread kept */
}

void pdb_srv_tile_buffered_merc(int z, uint32_t x, uint32_t y, double buffer_px, double out[4])
{
    pdbt_tile_bounds_merc(z, x, y, out);
    double pad = buffer_px * (out[2] - out[0]) / PDBT_TILE_SIZE;
    out[0] -= pad;
    out[1] -= pad;
    out[2] += pad;
    out[3] += pad;
}

static uint64_t key_hash(const pdb_srv_tile_key *k)
{
    /* splitmix64 over the fields: cheap and well spread. */
    uint64_t h = k->style ^ ((uint64_t)k->x << 32 | k->y) ^
                 (uint64_t)k->at_ms * 0xd6e8feb86659fd93ull ^
                 ((uint64_t)k->z << 16 | (uint64_t)k->kind << 8 | k->scale) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

static int key_eq(const pdb_srv_tile_key *a, const pdb_srv_tile_key *b)
{
    return a->style == b->style && a->x == b->x && a->y == b->y && a->z == b->z &&
           a->scale == b->scale && a->kind == b->kind && a->at_ms == b->at_ms;
}

pdb_srv_cache *pdb_srv_cache_new(size_t max_bytes, double buffer_px)
{
    pdb_srv_cache *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    /* About one bucket per 4 KiB of budget (a typical tile is 2-20 KiB). */
    size_t want = max_bytes / 4096, n = 1024;
    while (n < want && n < ((size_t)1 << 22))
        n <<= 1;
    c->bucket = calloc(n, sizeof *c->bucket);
    if (c->bucket == NULL) {
        free(c);
        return NULL;
    }
    c->nbuckets = n;
    c->max_bytes = max_bytes;
    c->buffer_px = buffer_px;
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->done, &ca);
    pthread_condattr_destroy(&ca);
    return c;
}

static entry **slot_of(pdb_srv_cache *c, const pdb_srv_tile_key *key)
{
    entry **p = &c->bucket[key_hash(key) & (c->nbuckets - 1)];
    while (*p != NULL && !key_eq(&(*p)->key, key))
        p = &(*p)->hnext;
    return p;
}

static void lru_unlink(pdb_srv_cache *c, entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_front(pdb_srv_cache *c, entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (c->tail == NULL)
        c->tail = e;
}

static size_t entry_bytes(const entry *e)
{
    return (e->png ? e->png->len : 0) + ENTRY_OVERHEAD;
}

/* Unlinks an entry found at *slot from the table (and the list) and frees it. */
static void remove_at(pdb_srv_cache *c, entry **slot)
{
    entry *e = *slot;
    *slot = e->hnext;
    if (e->state == ENTRY_READY) {
        lru_unlink(c, e);
        c->entries--;
        c->bytes -= entry_bytes(e);
    }
    pdb_srv_blob_unref(e->png);
    free(e);
}

void pdb_srv_cache_free(pdb_srv_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nbuckets; i++)
        while (c->bucket[i] != NULL)
            remove_at(c, &c->bucket[i]);
    free(c->bucket);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->done);
    free(c);
}

pdb_srv_cache_result pdb_srv_cache_get(pdb_srv_cache *c, const pdb_srv_tile_key *key,
                                       int64_t min_version, int wait_ms, pdb_srv_blob **blob,
                                       int64_t *version)
{
    struct timespec deadline;
    int waited = 0;

    *blob = NULL;
    *version = 0;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += wait_ms / 1000;
    deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->lock);
    for (;;) {
        entry **slot = slot_of(c, key);
        entry *e = *slot;
        if (e != NULL && e->state == ENTRY_READY && e->version < min_version) {
            remove_at(c, slot); /* stale: its data changed since */
            c->invalidated++;
            e = NULL;
        }
        if (e == NULL) {
            e = calloc(1, sizeof *e);
            if (e == NULL) {
                pthread_mutex_unlock(&c->lock);
                return PDB_SRV_CACHE_RENDER; /* render uncached; fill finds no claim */
            }
            e->key = *key;
            e->state = ENTRY_PENDING;
            e->hnext = c->bucket[key_hash(key) & (c->nbuckets - 1)];
            c->bucket[key_hash(key) & (c->nbuckets - 1)] = e;
            c->misses++;
            pthread_mutex_unlock(&c->lock);
            return PDB_SRV_CACHE_RENDER;
        }
        if (e->state == ENTRY_READY) {
            lru_unlink(c, e);
            lru_push_front(c, e);
            *blob = pdb_srv_blob_ref(e->png);
            *version = e->version;
            c->hits++;
            pthread_mutex_unlock(&c->lock);
            return PDB_SRV_CACHE_HIT;
        }
        /* Another thread renders it: wait for that render, then look again. */
        if (!waited)
            c->waits++;
        waited = 1;
        int rc = pthread_cond_timedwait(&c->done, &c->lock, &deadline);
        if (rc == ETIMEDOUT) {
            pthread_mutex_unlock(&c->lock);
            return PDB_SRV_CACHE_BUSY;
        }
    }
}

/* Drops least recently used tiles until the budget holds. */
static void evict(pdb_srv_cache *c)
{
    while (c->bytes > c->max_bytes && c->tail != NULL) {
        entry *victim = c->tail;
        remove_at(c, slot_of(c, &victim->key));
        c->evictions++;
    }
}

void pdb_srv_cache_fill(pdb_srv_cache *c, const pdb_srv_tile_key *key, pdb_srv_blob *blob,
                        int64_t version)
{
    pthread_mutex_lock(&c->lock);
    entry **slot = slot_of(c, key);
    entry *e = *slot;
    if (e != NULL && e->state == ENTRY_PENDING) {
        if (blob == NULL || blob->len + ENTRY_OVERHEAD > c->max_bytes) {
            remove_at(c, slot); /* nothing to keep, or larger than the whole cache */
        } else {
            e->png = pdb_srv_blob_ref(blob);
            e->version = version;
            e->state = ENTRY_READY;
            lru_push_front(c, e);
            c->entries++;
            c->bytes += entry_bytes(e);
            evict(c);
        }
    }
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->lock);
}

void pdb_srv_cache_abandon(pdb_srv_cache *c, const pdb_srv_tile_key *key)
{
    pdb_srv_cache_fill(c, key, NULL, 0);
}

size_t pdb_srv_cache_invalidate(pdb_srv_cache *c, const double merc[4])
{
    size_t dropped = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nbuckets; i++) {
        entry **slot = &c->bucket[i];
        while (*slot != NULL) {
            entry *e = *slot;
            double b[4];
            pdb_srv_tile_buffered_merc(e->key.z, e->key.x, e->key.y, c->buffer_px, b);
            if (e->state == ENTRY_READY && b[0] <= merc[2] && b[2] >= merc[0] && b[1] <= merc[3] &&
                b[3] >= merc[1]) {
                remove_at(c, slot);
                dropped++;
            } else {
                slot = &e->hnext;
            }
        }
    }
    c->invalidated += dropped;
    pthread_mutex_unlock(&c->lock);
    return dropped;
}

void pdb_srv_cache_clear(pdb_srv_cache *c)
{
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nbuckets; i++) {
        entry **slot = &c->bucket[i];
        while (*slot != NULL) {
            if ((*slot)->state == ENTRY_READY) {
                remove_at(c, slot);
                c->invalidated++;
            } else {
                slot = &(*slot)->hnext;
            }
        }
    }
    pthread_mutex_unlock(&c->lock);
}

void pdb_srv_cache_stats_get(pdb_srv_cache *c, pdb_srv_cache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    out->entries = c->entries;
    out->bytes = c->bytes;
    out->max_bytes = c->max_bytes;
    out->hits = c->hits;
    out->misses = c->misses;
    out->waits = c->waits;
    out->evictions = c->evictions;
    out->invalidated = c->invalidated;
    pthread_mutex_unlock(&c->lock);
}
