/*
 * ratelimit.c: token buckets in a fixed open-addressed table.
 */
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4096 /* addresses tracked at once (a power of two) */
#define PROBES 8   /* slots tried per address */

typedef struct bucket {
    unsigned char addr[16]; /* the client address, zero-padded */
    unsigned char len;      /* bytes of addr in use; 0 for a free slot */
    double tokens;          /* requests it may still make now */
    double seen_s;          /* last refill time */
} bucket;

struct pdb_srv_ratelimit {
    pthread_mutex_t lock; /* guards the table */
    double rate;          /* tokens per second */
    double burst;         /* bucket size */
    bucket slot[SLOTS];   /* the table */
};

pdb_srv_ratelimit *pdb_srv_ratelimit_new(double rate_per_s, double burst)
{
    pdb_srv_ratelimit *rl = calloc(1, sizeof *rl);
    if (rl == NULL)
        return NULL;
    pthread_mutex_init(&rl->lock, NULL);
    rl->rate = rate_per_s;
    rl->burst = burst >= 1 ? burst : 1;
    return rl;
}

void pdb_srv_ratelimit_free(pdb_srv_ratelimit *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

static uint32_t hash(const unsigned char *a, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ a[i]) * 16777619u;
    return h;
}

int pdb_srv_ratelimit_allow(pdb_srv_ratelimit *rl, const void *addr, size_t len, double now_s,
                            int *retry_after_s)
{
    unsigned char key[16] = {0};
    bucket *b = NULL, *oldest = NULL;
    int ok;

    *retry_after_s = 0;
    if (rl == NULL || rl->rate <= 0)
        return 1;
    if (len > sizeof key)
        len = sizeof key;
    memcpy(key, addr, len);
    pthread_mutex_lock(&rl->lock);
    uint32_t h = hash(key, len);
    for (int i = 0; i < PROBES; i++) {
        bucket *s = &rl->slot[(h + (uint32_t)i) & (SLOTS - 1)];
        if (s->len == len && memcmp(s->addr, key, sizeof key) == 0) {
            b = s;
            break;
        }
        if (oldest == NULL || s->len == 0 || (oldest->len != 0 && s->seen_s < oldest->seen_s))
            oldest = s;
    }
    if (b == NULL) {
        b = oldest;
        memcpy(b->addr, key, sizeof key);
        b->len = (unsigned char)len;
        b->tokens = rl->burst;
        b->seen_s = now_s;
    }
    if (now_s > b->seen_s) {
        b->tokens = fmin(rl->burst, b->tokens + (now_s - b->seen_s) * rl->rate);
        b->seen_s = now_s;
    }
    ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    else
        *retry_after_s = (int)ceil((1.0 - b->tokens) / rl->rate);
    pthread_mutex_unlock(&rl->lock);
    return ok;
}
