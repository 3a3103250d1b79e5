/*
 * util.h: small helpers the server's modules share: an error message into
 * a caller's buffer, growing arrays, a monotonic clock.
 */
#ifndef PDB_SRV_UTIL_H
#define PDB_SRV_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define PDB_SRV_ERRMAX 512 /* bytes of a message */

/* Writes the message into err (errcap bytes; nothing when 0) and returns
 * -1, so that each failure path is one line. */
int pdb_srv_fail(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Makes room for need elements of elem bytes in *arr (capacity *cap,
 * doubling from 8). Returns 0, or -1 (out of memory; *arr unchanged). */
int pdb_srv_grow(void *arr, size_t *cap, size_t need, size_t elem);

/* Microseconds of CLOCK_MONOTONIC. */
uint64_t pdb_srv_now_us(void);

#endif
