/*
 * ratelimit.h: a per-client-address request rate limit (token buckets),
 * answered with 429. A fixed table: memory does not grow with the number
 * of clients; when the table is full, the least recently seen address
 * loses its bucket (and starts again full), which only ever errs towards
 * letting a request through. Time is a parameter, for tests.
 */
#ifndef PDB_SRV_RATELIMIT_H
#define PDB_SRV_RATELIMIT_H

#include <stddef.h>

typedef struct pdb_srv_ratelimit pdb_srv_ratelimit;

/* rate_per_s requests per second on average, bursts of up to burst.
 * NULL when out of memory. */
pdb_srv_ratelimit *pdb_srv_ratelimit_new(double rate_per_s, double burst);
void pdb_srv_ratelimit_free(pdb_srv_ratelimit *rl);

/* 1 when the address (raw bytes: 4 for IPv4, 16 for IPv6) may make one
 * more request at time now_s (seconds, monotonic); 0 when it must wait.
 * *retry_after_s is then the whole seconds until it may. */
int pdb_srv_ratelimit_allow(pdb_srv_ratelimit *rl, const void *addr, size_t len, double now_s,
                            int *retry_after_s);

#endif
