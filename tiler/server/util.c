/*
 * util.c: the server's small shared helpers (util.h).
 */
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int pdb_srv_fail(char *err, size_t errcap, const char *fmt, ...)
{
    va_list ap;
    if (errcap > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errcap, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int pdb_srv_grow(void *arr, size_t *cap, size_t need, size_t elem)
{
    void **p = arr; /* a pointer to the caller's array pointer */
    size_t ncap = *cap ? *cap : 8;
    if (need <= *cap)
        return 0;
    while (ncap < need)
        ncap *= 2;
    void *bigger = realloc(*p, ncap * elem);
    if (bigger == NULL)
        return -1;
    *p = bigger;
    *cap = ncap;
    return 0;
}

uint64_t pdb_srv_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
