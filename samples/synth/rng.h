/*
 * rng.h: the generator's deterministic random numbers (xoshiro256**, seeded
 * through splitmix64). Every stream is derived from the user's seed and a
 * label (a commune code, a purpose), so that output does not depend on
 * thread scheduling or on the order communes are generated in.
 */
#ifndef SYNTH_RNG_H
#define SYNTH_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct synth_rng {
    uint64_t s[4]; /* xoshiro256** state */
} synth_rng;

static inline uint64_t synth_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* FNV-1a of a label, to mix into a seed. */
static inline uint64_t synth_hash(const char *label)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (; *label; label++)
        h = (h ^ (unsigned char)*label) * 0x100000001B3ull;
    return h;
}

/* A stream for (seed, label, index). */
static inline void synth_rng_init(synth_rng *r, uint64_t seed, const char *label, uint64_t index)
{
    uint64_t x = seed ^ synth_hash(label) ^ (index * 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = synth_splitmix(&x);
}

static inline uint64_t synth_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t synth_next(synth_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = synth_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = synth_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static inline double synth_unif(synth_rng *r)
{
    return (double)(synth_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [lo, hi). */
static inline double synth_range(synth_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * synth_unif(r);
}

/* Uniform integer in [0, n). */
static inline size_t synth_below(synth_rng *r, size_t n)
{
    return n ? (size_t)(synth_unif(r) * (double)n) : 0;
}

/* 1 with probability p. */
static inline int synth_chance(synth_rng *r, double p)
{
    return synth_unif(r) < p;
}

/* Index drawn from weights w[0..n) (any positive scale). */
static inline size_t synth_weighted(synth_rng *r, const double *w, size_t n)
{
    double total = 0.0, x;
    for (size_t i = 0; i < n; i++)
        total += w[i];
    x = synth_unif(r) * total;
    for (size_t i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

#endif
