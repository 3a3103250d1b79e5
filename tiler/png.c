/*
 * png.c: PNG encoding. Cairo's image surfaces hold premultiplied ARGB in
 * native byte order; PNG wants straight RGBA, so every pixel is
 * un-premultiplied here (a half-transparent red is 0x80800000 in Cairo and
 * ff 00 00 80 in the PNG).
 *
 * The encoder picks the smallest lossless form: an 8-bit (or 1/2/4-bit)
 * palette when the tile has at most 256 colours, which flat land-use
 * fills at low zoom often have; RGB when every pixel is opaque; RGBA
 * otherwise. Rows are unfiltered and deflated by libdeflate, the chunks
 * (IHDR, PLTE, tRNS, one IDAT, IEND) written here: zlib's deflate was
 * 37% of a z16 tile's instructions, and libdeflate gives the same bytes
 * per tile in two thirds of the time (docs/rendering.md, "PNG encoding").
 * libpng reads every tile back in the tests, GDAL in the CLI's.
 */
#include "ctx.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

/* Measured default (docs/rendering.md, "PNG encoding"): libdeflate's
 * level 1, no row filter, for palettes and true colour alike. */
#define DEFAULT_LEVEL 1
#define MAX_LEVEL 12

/* PNG colour types (the PNG specification, 11.2.2). */
enum { COLOR_RGB = 2, COLOR_PALETTE = 3, COLOR_RGBA = 6 };

void pdbt_png_unpremultiply(uint32_t p, unsigned char rgba[4])
{
    unsigned a = p >> 24, r = (p >> 16) & 255, g = (p >> 8) & 255, b = p & 255;
    if (a == 0) {
        rgba[0] = rgba[1] = rgba[2] = rgba[3] = 0;
        return;
    }
    if (a < 255) {
        r = (r * 255 + a / 2) / a;
        g = (g * 255 + a / 2) / a;
        b = (b * 255 + a / 2) / a;
        r = r > 255 ? 255 : r;
        g = g > 255 ? 255 : g;
        b = b > 255 ? 255 : b;
    }
    rgba[0] = (unsigned char)r;
    rgba[1] = (unsigned char)g;
    rgba[2] = (unsigned char)b;
    rgba[3] = (unsigned char)a;
}

/* A growing output buffer. */
typedef struct membuf {
    unsigned char *data; /* bytes written */
    size_t len;          /* used */
    size_t cap;          /* allocated */
    int oom;             /* an allocation failed */
} membuf;

/* An open-addressing table of up to 256 distinct pixel values. */
#define PAL_SLOTS 1024
typedef struct palette {
    uint32_t key[PAL_SLOTS];  /* premultiplied ARGB, or the empty marker */
    uint8_t index[PAL_SLOTS]; /* palette index of the key */
    uint8_t used[PAL_SLOTS];  /* 1 when the slot holds a key */
    uint32_t colors[256];     /* palette entries in first-seen order */
    int n;                    /* entries; 257 means "too many" */
} palette;

static int pal_lookup(palette *p, uint32_t px, int insert)
{
    uint32_t h = (px * 2654435761u) >> 22; /* 10 bits */
    for (;;) {
        if (!p->used[h]) {
            if (!insert || p->n == 256) {
                if (insert)
                    p->n = 257;
                return -1;
            }
            p->used[h] = 1;
            p->key[h] = px;
            p->index[h] = (uint8_t)p->n;
            p->colors[p->n++] = px;
            return p->index[h];
        }
        if (p->key[h] == px)
            return p->index[h];
        h = (h + 1) & (PAL_SLOTS - 1);
    }
}

/* Reduces the image to at most 256 colours for PDBT_PNG_PALETTE_QUANTIZE:
 * pixels are binned on a 5-5-5-3 bit RGBA grid (straight colour), the 256
 * most populous bins become the palette (their mean colours), and every
 * pixel takes the nearest entry. Flat map colours survive exactly (each
 * is its own bin); only anti-aliased edge pixels move, by a few levels. */
typedef struct quant {
    uint32_t count[1 << 18];  /* pixels per bin */
    uint64_t sum[1 << 18][4]; /* sums of straight r, g, b, a per bin */
} quant;

static int bin_of(const unsigned char c[4])
{
    return (c[0] >> 3) << 13 | (c[1] >> 3) << 8 | (c[2] >> 3) << 3 | (c[3] >> 5);
}

static int quantize(const pdbt_image *img, unsigned char *rows, size_t stride,
                    unsigned char pal[256][4], int *npal)
{
    quant *q = calloc(1, sizeof *q);
    int *map = NULL;
    if (q == NULL)
        return -1;
    size_t w = (size_t)img->width, h = (size_t)img->height;
    for (size_t y = 0; y < h; y++) {
        const uint32_t *src =
            (const uint32_t *)((const unsigned char *)img->argb + y * img->stride);
        for (size_t x = 0; x < w; x++) {
            unsigned char c[4];
            pdbt_png_unpremultiply(src[x], c);
            int b = bin_of(c);
            q->count[b]++;
            for (int k = 0; k < 4; k++)
                q->sum[b][k] += c[k];
        }
    }
    /* The 256 fullest bins, by count then bin number (deterministic). */
    int best[256], nbest = 0;
    for (int b = 0; b < (1 << 18); b++) {
        if (q->count[b] == 0)
            continue;
        if (nbest < 256) {
            best[nbest++] = b;
        } else {
            int weakest = 0;
            for (int i = 1; i < 256; i++)
                if (q->count[best[i]] < q->count[best[weakest]])
                    weakest = i;
            if (q->count[b] > q->count[best[weakest]])
                best[weakest] = b;
        }
    }
    for (int i = 0; i < nbest; i++)
        for (int k = 0; k < 4; k++)
            pal[i][k] =
                (unsigned char)((q->sum[best[i]][k] + q->count[best[i]] / 2) / q->count[best[i]]);
    *npal = nbest;
    /* Each bin maps to its nearest palette entry, computed once. */
    map = malloc(sizeof(int) * (1 << 18));
    if (map == NULL) {
        free(q);
        return -1;
    }
    memset(map, 0xff, sizeof(int) * (1 << 18));
    for (size_t y = 0; y < h; y++) {
        const uint32_t *src =
            (const uint32_t *)((const unsigned char *)img->argb + y * img->stride);
        for (size_t x = 0; x < w; x++) {
            unsigned char c[4];
            pdbt_png_unpremultiply(src[x], c);
            int b = bin_of(c);
            if (map[b] < 0) {
                long bestd = -1;
                for (int i = 0; i < nbest; i++) {
                    long d = 0;
                    for (int k = 0; k < 4; k++) {
                        long e = (long)c[k] - pal[i][k];
                        d += e * e;
                    }
                    if (bestd < 0 || d < bestd) {
                        bestd = d;
                        map[b] = i;
                    }
                }
            }
            rows[y * stride + 1 + x] = (unsigned char)map[b];
        }
    }
    free(map);
    free(q);
    return 0;
}

/* Room for n more bytes; 0, or -1 (and m->oom) when memory runs out. */
static int mb_reserve(membuf *m, size_t n)
{
    if (m->oom || pdbt__grow((void **)&m->data, &m->cap, m->len + n, 1) != 0) {
        m->oom = 1;
        return -1;
    }
    return 0;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Opens a chunk of len data bytes: its length and type; the caller writes
 * the data at m->data + m->len, then end_chunk. */
static unsigned char *begin_chunk(membuf *m, const char type[4], size_t len)
{
    if (mb_reserve(m, 12 + len) != 0)
        return NULL;
    put_u32(m->data + m->len, (uint32_t)len);
    memcpy(m->data + m->len + 4, type, 4);
    return m->data + m->len + 8;
}

/* Closes the chunk begun at m->len with len data bytes: its length and
 * its CRC over type and data. */
static void end_chunk(membuf *m, size_t len)
{
    unsigned char *start = m->data + m->len + 4;
    put_u32(start - 4, (uint32_t)len); /* at most what begin_chunk reserved */
    put_u32(start + 4 + len, (uint32_t)libdeflate_crc32(0, start, 4 + len));
    m->len += 12 + len;
}

static void put_chunk(membuf *m, const char type[4], const unsigned char *data, size_t len)
{
    unsigned char *p = begin_chunk(m, type, len);
    if (p == NULL)
        return;
    if (len > 0)
        memcpy(p, data, len);
    end_chunk(m, len);
}

/* What the stream holds. */
typedef struct png_job {
    const unsigned char *raw; /* the scanlines, each after its filter byte */
    size_t rawlen;            /* bytes of raw */
    uint32_t w, h;            /* pixels */
    int bit_depth;            /* 1, 2, 4 or 8 */
    int color_type;           /* COLOR_* */
    unsigned char (*pal)[4];  /* palette entries, straight RGBA */
    int npal;                 /* entries of pal */
} png_job;

/* The whole PNG into m; returns NULL, or what went wrong. */
static const char *write_png(pdbt_ctx *ctx, int level, const png_job *job, membuf *m)
{
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char ihdr[13];
    put_u32(ihdr, job->w);
    put_u32(ihdr + 4, job->h);
    ihdr[8] = (unsigned char)job->bit_depth;
    ihdr[9] = (unsigned char)job->color_type;
    ihdr[10] = ihdr[11] = ihdr[12] = 0; /* deflate, adaptive filtering, no interlace */
    if (mb_reserve(m, sizeof signature) == 0) {
        memcpy(m->data, signature, sizeof signature);
        m->len = sizeof signature;
    }
    put_chunk(m, "IHDR", ihdr, sizeof ihdr);
    if (job->color_type == COLOR_PALETTE) {
        unsigned char plte[256 * 3], trns[256];
        int ntrns = 0;
        for (int i = 0; i < job->npal; i++) {
            memcpy(plte + 3 * i, job->pal[i], 3);
            trns[i] = job->pal[i][3];
            if (job->pal[i][3] != 255)
                ntrns = i + 1;
        }
        put_chunk(m, "PLTE", plte, (size_t)job->npal * 3);
        if (ntrns > 0)
            put_chunk(m, "tRNS", trns, (size_t)ntrns);
    }
    const char *problem = NULL;
    struct libdeflate_compressor *c = pdbt__deflater(ctx, level);
    size_t bound = c != NULL ? libdeflate_zlib_compress_bound(c, job->rawlen) : 0;
    unsigned char *p = c != NULL ? begin_chunk(m, "IDAT", bound) : NULL;
    if (p == NULL) {
        problem = "out of memory encoding a PNG";
    } else {
        size_t n = libdeflate_zlib_compress(c, job->raw, job->rawlen, p, bound);
        if (n == 0)
            problem = "libdeflate could not compress the tile";
        else
            end_chunk(m, n);
    }
    if (problem == NULL)
        put_chunk(m, "IEND", NULL, 0);
    return problem;
}

/* Classifies the pixels of img: *fits is 1 when they fit a palette (pal
 * given; their indices are then in idx, each row after its filter byte 0,
 * and same[y] is 1 when row y repeats row y - 1), *opaque when every
 * alpha is 255. A tile, and still more a sheet of an
 * extract, is mostly runs of one colour and rows equal to the one above
 * (margins, fills, the space between lines of text): such a row costs a
 * memcmp and a memcpy, a run one comparison a pixel and a memset, and only
 * a change of colour a hash lookup. The pass stops as soon as the answer
 * can no longer change (neither a palette nor opaque). */
static void classify(const pdbt_image *img, palette *pal, unsigned char *idx, unsigned char *same,
                     int *fits, int *opaque)
{
    size_t w = (size_t)img->width, h = (size_t)img->height;
    int f = pal != NULL && idx != NULL, op = 1;
    const uint32_t *prev = NULL;
    for (size_t y = 0; y < h && (f || op); y++) {
        const uint32_t *src =
            (const uint32_t *)((const unsigned char *)img->argb + y * img->stride);
        unsigned char *dst = idx != NULL ? idx + y * (w + 1) : NULL;
        if (prev != NULL && memcmp(src, prev, w * sizeof *src) == 0) {
            if (f) {
                memcpy(dst, dst - (w + 1), w + 1);
                same[y] = 1;
            }
            prev = src;
            continue;
        }
        if (f) {
            dst[0] = 0;
            same[y] = 0;
        }
        for (size_t x = 0; x < w;) {
            uint32_t px = src[x];
            /* The run's end, four pixels a step while it lasts (a sheet's
             * runs are hundreds of pixels long), then one at a time. */
            size_t end = x + 1;
            uint64_t pair = (uint64_t)px << 32 | px, a, b;
            for (; end + 4 <= w; end += 4) {
                memcpy(&a, src + end, sizeof a);
                memcpy(&b, src + end + 2, sizeof b);
                if (((a ^ pair) | (b ^ pair)) != 0)
                    break;
            }
            while (end < w && src[end] == px)
                end++;
            op &= (px >> 24) == 255;
            if (f) {
                int i = pal_lookup(pal, px, 1);
                if (i < 0)
                    f = 0;
                else
                    memset(dst + 1 + x, i, end - x);
            }
            x = end;
        }
        prev = src;
    }
    *fits = f;
    *opaque = op;
}

/* Packs the palette indices of each row (one a byte, after the row's
 * filter byte, stride bytes apart) to bit_depth bits (1, 2 or 4), left
 * to right in place, and moves each packed row (filter byte first, line
 * bytes) up to follow the one before. A row that repeats the one before
 * (same[y]) is a copy of that row's packed line; the others' whole bytes
 * are packed without a test a pixel, only a last partial byte the
 * general way. */
static void pack_rows(unsigned char *rows, const unsigned char *same, size_t w, size_t h,
                      size_t stride, int bit_depth, size_t line)
{
    size_t per = 8 / (size_t)bit_depth, whole = w / per;
    for (size_t y = 0; y < h; y++) {
        if (y > 0 && same[y]) {
            memcpy(rows + y * line, rows + (y - 1) * line, line);
            continue;
        }
        unsigned char *row = rows + y * stride + 1;
        if (bit_depth == 4) {
            size_t p = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            /* Eight indices (below 16) to four bytes in a 64-bit word: each
             * pair into the low byte of its 16-bit lane, then the lanes'
             * low bytes together. Written behind what was read. */
            for (; p + 4 <= whole; p += 4) {
                uint64_t v;
                memcpy(&v, row + 2 * p, sizeof v);
                v = (v & 0x000f000f000f000full) << 4 | (v >> 8 & 0x000f000f000f000full);
                v = (v | v >> 8) & 0x0000ffff0000ffffull;
                uint32_t q = (uint32_t)(v | v >> 16);
                memcpy(row + p, &q, sizeof q);
            }
#endif
            for (; p < whole; p++)
                row[p] = (unsigned char)(row[2 * p] << 4 | row[2 * p + 1]);
        } else if (bit_depth == 2) {
            for (size_t p = 0; p < whole; p++)
                row[p] = (unsigned char)(row[4 * p] << 6 | row[4 * p + 1] << 4 |
                                         row[4 * p + 2] << 2 | row[4 * p + 3]);
        } else {
            for (size_t p = 0; p < whole; p++) {
                const unsigned char *q = row + 8 * p;
                row[p] = (unsigned char)(q[0] << 7 | q[1] << 6 | q[2] << 5 | q[3] << 4 | q[4] << 3 |
                                         q[5] << 2 | q[6] << 1 | q[7]);
            }
        }
        if (whole * per < w) {
            unsigned v = 0;
            for (size_t x = whole * per; x < whole * per + per; x++)
                v = (v << bit_depth) | (x < w ? row[x] : 0);
            row[whole] = (unsigned char)v;
        }
        memmove(rows + y * line, rows + y * stride, line);
    }
}

static int little_endian(void)
{
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* One row of premultiplied ARGB as straight RGBA bytes (little-endian
 * hosts). Opaque and fully transparent pixels (most of a tile) need only
 * their bytes reordered, a loop the compiler vectorises; the partly
 * transparent ones (anti-aliased edges over nothing) are un-premultiplied
 * after, one by one. */
static void rgba_row(const uint32_t *src, unsigned char *dst, size_t w)
{
    for (size_t x = 0; x < w; x++) {
        uint32_t px = src[x];
        uint32_t v = (px >> 16 & 0xffu) | (px & 0xff00u) | (px & 0xffu) << 16 | (px & 0xff000000u);
        memcpy(dst + 4 * x, &v, sizeof v);
    }
    for (size_t x = 0; x < w; x++) {
        uint32_t a = src[x] >> 24;
        if (a - 1u < 254u)
            pdbt_png_unpremultiply(src[x], dst + 4 * x);
    }
}

pdb_status pdbt_png_encode(pdbt_ctx *ctx, const pdbt_image *img, const pdbt_png_options *opts,
                           unsigned char **out, size_t *len)
{
    pdb_status st;
    static const pdbt_png_options defaults = {0, PDBT_PNG_PALETTE_AUTO};
    const pdbt_png_options *o = opts ? opts : &defaults;
    size_t w = (size_t)img->width, h = (size_t)img->height;
    membuf m = {0};
    palette *pal = NULL;
    unsigned char *rows = NULL, *idx = NULL, *same = NULL;
    int rows_pixels = 0; /* rows came from pdbt__pixels_alloc((w + 1) * h) */
    int opaque = 1, color_type, bit_depth = 8, channels, npal = 0;
    unsigned char qpal[256][4];

    pdbt__ok(ctx);
    *out = NULL;
    *len = 0;
    if (w == 0 || h == 0 || img->argb == NULL)
        return pdbt__fail(ctx, PDB_EINVAL, "an empty image");
    /* What the tile holds decides the PNG's form: one pass classifies the
     * pixels and, while they fit a palette, writes their indices too (see
     * classify). Every row of pixel bytes is written after a byte for its
     * PNG filter (0, none), so that the rows are deflated where they are,
     * without a copy. */
    pal = o->palette != PDBT_PNG_PALETTE_NEVER ? calloc(1, sizeof *pal) : NULL;
    idx = pal != NULL ? pdbt__pixels_alloc((w + 1) * h) : NULL; /* pdbt__pixels_free */
    same = pal != NULL ? malloc(h) : NULL;
    if (pal != NULL && (idx == NULL || same == NULL)) {
        st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory encoding a PNG");
        goto fail;
    }
    int fits;
    classify(img, pal, idx, same, &fits, &opaque);
    if (fits) {
        color_type = COLOR_PALETTE;
        npal = pal->n;
        bit_depth = npal <= 2 ? 1 : npal <= 4 ? 2 : npal <= 16 ? 4 : 8;
        channels = 1;
    } else if (o->palette == PDBT_PNG_PALETTE_QUANTIZE) {
        color_type = COLOR_PALETTE;
        channels = 1;
    } else {
        color_type = opaque ? COLOR_RGB : COLOR_RGBA;
        channels = opaque ? 3 : 4;
    }
    /* Bytes from one row to the next in rows: the filter byte and the
     * pixels at 8 bits a sample (indices below 8 bits are packed later). */
    size_t stride = 1 + (color_type == COLOR_PALETTE ? w : w * (size_t)channels);
    if (fits) {
        rows = idx; /* the indices are the rows, still pdbt__pixels_alloc's */
        rows_pixels = 1;
        idx = NULL;
    } else {
        pdbt__pixels_free(idx, (w + 1) * h);
        idx = NULL;
        if ((rows = malloc(stride * h)) != NULL)
            for (size_t y = 0; y < h; y++)
                rows[y * stride] = 0;
    }
    if (rows == NULL) {
        st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory encoding a PNG");
        goto fail;
    }
    if (fits) {
        for (int i = 0; i < npal; i++)
            pdbt_png_unpremultiply(pal->colors[i], qpal[i]);
    } else if (color_type == COLOR_PALETTE) {
        if (quantize(img, rows, stride, qpal, &npal) != 0) {
            st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory quantizing a PNG");
            goto fail;
        }
    } else if (channels == 4 && little_endian()) {
        for (size_t y = 0; y < h; y++)
            rgba_row((const uint32_t *)((const unsigned char *)img->argb + y * img->stride),
                     rows + y * stride + 1, w);
    } else {
        for (size_t y = 0; y < h; y++) {
            const uint32_t *src =
                (const uint32_t *)((const unsigned char *)img->argb + y * img->stride);
            unsigned char *dst = rows + y * stride + 1;
            for (size_t x = 0; x < w; x++, dst += channels) {
                uint32_t px = src[x];
                if (px >> 24 == 255) { /* opaque: straight already */
                    dst[0] = (unsigned char)(px >> 16);
                    dst[1] = (unsigned char)(px >> 8);
                    dst[2] = (unsigned char)px;
                    if (channels == 4)
                        dst[3] = 255;
                } else {
                    unsigned char c[4];
                    pdbt_png_unpremultiply(px, c);
                    memcpy(dst, c, (size_t)channels);
                }
            }
        }
    }
    size_t line = 1 + ((size_t)bit_depth * (size_t)channels * w + 7) / 8;
    if (color_type == COLOR_PALETTE && bit_depth < 8)
        pack_rows(rows, same, w, h, stride, bit_depth, line);
    png_job job = {rows, line * h, (uint32_t)w, (uint32_t)h, bit_depth, color_type, qpal, npal};
    const char *problem =
        write_png(ctx, o->level >= 1 && o->level <= MAX_LEVEL ? o->level : DEFAULT_LEVEL, &job, &m);
    if (problem == NULL && m.oom)
        problem = "out of memory encoding a PNG";
    if (problem != NULL) {
        st = pdbt__fail(ctx, m.oom ? PDB_ENOMEM : PDB_EIO, "%s", problem);
        goto fail;
    }
    if (rows_pixels)
        pdbt__pixels_free(rows, (w + 1) * h);
    else
        free(rows);
    free(same);
    free(pal);
    *out = m.data;
    *len = m.len;
    return PDB_OK;
fail:
    pdbt__pixels_free(idx, (w + 1) * h);
    if (rows_pixels)
        pdbt__pixels_free(rows, (w + 1) * h);
    else
        free(rows);
    free(same);
    free(pal);
    free(m.data);
    return st;
}
