/*
 * pbuf.h: writing protocol buffers by hand, for the two formats the tiler
 * writes (vector tiles: mvt.c; MapLibre glyphs: glyphs.c): a growing byte
 * buffer, varints and length-delimited fields. Private to the tiler.
 */
#ifndef PDB_TILER_PBUF_H
#define PDB_TILER_PBUF_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A growing byte buffer; oom is sticky, checked once at the end. */
typedef struct pdbt_pbuf {
    unsigned char *p; /* bytes (caller frees) */
    size_t n, cap;    /* used and allocated */
    int oom;          /* an allocation failed */
} pdbt_pbuf;

/* Field tags: (field number << 3) | wire type. */
#define PDBT_WT_VARINT 0
#define PDBT_WT_FIXED64 1
#define PDBT_WT_LEN 2
#define PDBT_TAG(field, wt) (((uint32_t)(field) << 3) | (wt))

static inline void pdbt_pbuf_reserve(pdbt_pbuf *b, size_t more)
{
    if (b->oom || b->n + more <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more)
        cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->oom = 1;
        return;
    }
    b->p = p;
    b->cap = cap;
}

static inline void pdbt_pbuf_bytes(pdbt_pbuf *b, const void *src, size_t n)
{
    pdbt_pbuf_reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static inline size_t pdbt_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline void pdbt_pbuf_varint(pdbt_pbuf *b, uint64_t v)
{
    pdbt_pbuf_reserve(b, 10);
    if (b->oom)
        return;
    while (v >= 0x80) {
        b->p[b->n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    b->p[b->n++] = (unsigned char)v;
}

/* A varint field; a zigzag-encoded signed one; a length-delimited one. */
static inline void pdbt_pbuf_uint_field(pdbt_pbuf *b, uint32_t field, uint64_t v)
{
    pdbt_pbuf_varint(b, PDBT_TAG(field, PDBT_WT_VARINT));
    pdbt_pbuf_varint(b, v);
}

static inline void pdbt_pbuf_sint_field(pdbt_pbuf *b, uint32_t field, int64_t v)
{
    pdbt_pbuf_uint_field(b, field, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static inline void pdbt_pbuf_len_field(pdbt_pbuf *b, uint32_t field, const void *p, size_t n)
{
    pdbt_pbuf_varint(b, PDBT_TAG(field, PDBT_WT_LEN));
    pdbt_pbuf_varint(b, n);
    pdbt_pbuf_bytes(b, p, n);
}

#endif
