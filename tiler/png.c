/*
 * png.c: PNG encoding through libpng. Cairo's image surfaces hold
 * premultiplied ARGB in native byte order; PNG wants straight RGBA, so
 * every pixel is un-premultiplied here (a half-transparent red is
 * 0x80800000 in Cairo and ff 00 00 80 in the PNG).
 *
 * The encoder picks the smallest lossless form: an 8-bit (or 1/2/4-bit)
 * palette when the tile has at most 256 colours, which flat land-use
 * fills at low zoom often have; RGB when every pixel is opaque; RGBA
 * otherwise. The zlib level and row filter defaults come from
 * bench/render/png-levels (see docs/rendering.md).
 */
#include "ctx.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Measured defaults (docs/rendering.md, "PNG encoding"): no row filter,
 * zlib level 3, zlib's default strategy, for palettes and true colour
 * alike: within 20% of the smallest tiles at half the time of level 6 and
 * a seventh of level 9's; filters only cost time on these flat-coloured,
 * 16-level anti-aliased tiles. */
#define DEFAULT_LEVEL 3
#define DEFAULT_FILTER PNG_FILTER_NONE
#define DEFAULT_STRATEGY Z_DEFAULT_STRATEGY
#define DEFAULT_PALETTE_FILTER PNG_FILTER_NONE
#define DEFAULT_PALETTE_STRATEGY Z_DEFAULT_STRATEGY

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

/* A growing output buffer for libpng's write callback. */
typedef struct membuf {
    unsigned char *data; /* bytes written */
    size_t len;          /* used */
    size_t cap;          /* allocated */
    int oom;             /* an allocation failed */
} membuf;

static void write_cb(png_structp png, png_bytep data, png_size_t len)
{
    membuf *m = png_get_io_ptr(png);
    if (m->oom)
        return;
    if (m->len + len > m->cap) {
        size_t ncap = m->cap ? m->cap : 8192;
        while (ncap < m->len + len)
            ncap *= 2;
        unsigned char *p = realloc(m->data, ncap);
        if (p == NULL) {
            m->oom = 1;
            return;
        }
        m->data = p;
        m->cap = ncap;
    }
    memcpy(m->data + m->len, data, len);
    m->len += len;
}

static void flush_cb(png_structp png)
{
    (void)png;
}

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

static int quantize(const pdbt_image *img, unsigned char *rows, unsigned char pal[256][4],
                    int *npal)
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
            rows[y * w + x] = (unsigned char)map[b];
        }
    }
    free(map);
    free(q);
    return 0;
}

/* Everything libpng needs, behind one pointer: the function that calls
 * setjmp changes no local variable afterwards, so longjmp cannot clobber. */
typedef struct png_job {
    membuf *out;             /* where the bytes go */
    png_bytep *rows;         /* h rows, packed as IHDR says */
    png_uint_32 w, h;        /* pixels */
    int bit_depth;           /* 1, 2, 4 or 8 */
    int color_type;          /* PNG_COLOR_TYPE_* */
    unsigned char (*pal)[4]; /* palette entries, straight RGBA */
    int npal;                /* entries of pal */
    int level;               /* zlib level */
    int filter;              /* PNG_FILTER_* mask */
    int strategy;            /* zlib strategy */
} png_job;

/* Writes the PNG; returns NULL, or what went wrong. */
static const char *write_png(const png_job *job)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png != NULL ? png_create_info_struct(png) : NULL;
    if (info == NULL) {
        png_destroy_write_struct(png ? &png : NULL, NULL);
        return "out of memory starting libpng";
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return "libpng failed to encode the tile";
    }
    png_set_write_fn(png, job->out, write_cb, flush_cb);
    png_set_compression_level(png, job->level);
    png_set_compression_strategy(png, job->strategy);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, job->filter);
    png_set_IHDR(png, info, job->w, job->h, job->bit_depth, job->color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
    if (job->color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color plte[256];
        png_byte trns[256];
        int ntrns = 0;
        for (int i = 0; i < job->npal; i++) {
            plte[i].red = job->pal[i][0];
            plte[i].green = job->pal[i][1];
            plte[i].blue = job->pal[i][2];
            trns[i] = job->pal[i][3];
            if (job->pal[i][3] != 255)
                ntrns = i + 1;
        }
        png_set_PLTE(png, info, plte, job->npal);
        if (ntrns > 0)
            png_set_tRNS(png, info, trns, ntrns, NULL);
    }
    png_write_info(png, info);
    png_write_image(png, job->rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return NULL;
}

pdb_status pdbt_png_encode(pdbt_ctx *ctx, const pdbt_image *img, const pdbt_png_options *opts,
                           unsigned char **out, size_t *len)
{
    pdb_status st;
    static const pdbt_png_options defaults = {0, 0, PDBT_PNG_PALETTE_AUTO, 0};
    const pdbt_png_options *o = opts ? opts : &defaults;
    size_t w = (size_t)img->width, h = (size_t)img->height;
    membuf m = {0};
    palette *pal = NULL;
    unsigned char *rows = NULL, *idx = NULL;
    png_bytep *rowp = NULL;
    int opaque = 1, color_type, bit_depth = 8, channels, npal = 0;
    unsigned char qpal[256][4];

    pdbt__ok(ctx);
    *out = NULL;
    *len = 0;
    if (w == 0 || h == 0 || img->argb == NULL)
        return pdbt__fail(ctx, PDB_EINVAL, "an empty image");
    /* What the tile holds decides the PNG's form. One pass classifies the
     * pixels and, while they fit a palette, writes their indices too; runs
     * of one colour (most of a map tile, all of an empty one) cost one
     * comparison a pixel, not a hash lookup. */
    pal = o->palette != PDBT_PNG_PALETTE_NEVER ? calloc(1, sizeof *pal) : NULL;
    idx = pal != NULL ? malloc(w * h) : NULL;
    if (pal != NULL && idx == NULL) {
        st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory encoding a PNG");
        goto fail;
    }
    int fits = pal != NULL;
    for (size_t y = 0; y < h; y++) {
        const uint32_t *src =
            (const uint32_t *)((const unsigned char *)img->argb + y * img->stride);
        uint32_t last = ~src[0];
        int last_index = 0;
        for (size_t x = 0; x < w; x++) {
            uint32_t px = src[x];
            opaque &= (px >> 24) == 255;
            if (!fits)
                continue;
            if (px != last) {
                last = px;
                last_index = pal_lookup(pal, px, 1);
                fits = last_index >= 0;
            }
            idx[y * w + x] = (unsigned char)last_index;
        }
    }
    if (fits) {
        color_type = PNG_COLOR_TYPE_PALETTE;
        npal = pal->n;
        bit_depth = npal <= 2 ? 1 : npal <= 4 ? 2 : npal <= 16 ? 4 : 8;
        channels = 1;
    } else if (o->palette == PDBT_PNG_PALETTE_QUANTIZE) {
        color_type = PNG_COLOR_TYPE_PALETTE;
        channels = 1;
    } else {
        color_type = opaque ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGB_ALPHA;
        channels = opaque ? 3 : 4;
    }
    size_t rowbytes = color_type == PNG_COLOR_TYPE_PALETTE ? w : w * (size_t)channels;
    if (fits) {
        rows = idx; /* the indices are the rows */
        idx = NULL;
    } else {
        free(idx);
        idx = NULL;
        rows = malloc(rowbytes * h);
    }
    rowp = malloc(h * sizeof *rowp);
    if (rows == NULL || rowp == NULL) {
        st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory encoding a PNG");
        goto fail;
    }
    if (fits) {
        for (int i = 0; i < npal; i++)
            pdbt_png_unpremultiply(pal->colors[i], qpal[i]);
    } else if (color_type == PNG_COLOR_TYPE_PALETTE) {
        if (quantize(img, rows, qpal, &npal) != 0) {
            st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory quantizing a PNG");
            goto fail;
        }
    } else {
        for (size_t y = 0; y < h; y++) {
            const uint32_t *src =
                (const uint32_t *)((const unsigned char *)img->argb + y * img->stride);
            unsigned char *dst = rows + y * rowbytes;
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
    /* Pack palette indices below 8 bits, in place (left to right). */
    if (color_type == PNG_COLOR_TYPE_PALETTE && bit_depth < 8) {
        int per = 8 / bit_depth;
        for (size_t y = 0; y < h; y++) {
            unsigned char *row = rows + y * rowbytes;
            for (size_t x = 0, packed = 0; x < w; x += (size_t)per, packed++) {
                unsigned v = 0;
                for (int k = 0; k < per; k++)
                    v = (v << bit_depth) | (x + (size_t)k < w ? row[x + (size_t)k] : 0);
                row[packed] = (unsigned char)v;
            }
        }
    }
    for (size_t y = 0; y < h; y++)
        rowp[y] = rows + y * rowbytes;

    png_job job = {&m,
                   rowp,
                   (png_uint_32)w,
                   (png_uint_32)h,
                   bit_depth,
                   color_type,
                   qpal,
                   npal,
                   o->level >= 1 && o->level <= 9 ? o->level : DEFAULT_LEVEL,
                   o->filter != 0                         ? o->filter
                   : color_type == PNG_COLOR_TYPE_PALETTE ? DEFAULT_PALETTE_FILTER
                                                          : DEFAULT_FILTER,
                   o->strategy > 0                        ? o->strategy - 1
                   : color_type == PNG_COLOR_TYPE_PALETTE ? DEFAULT_PALETTE_STRATEGY
                                                          : DEFAULT_STRATEGY};
    const char *problem = write_png(&job);
    if (problem == NULL && m.oom)
        problem = "out of memory encoding a PNG";
    if (problem != NULL) {
        st = pdbt__fail(ctx, m.oom ? PDB_ENOMEM : PDB_EIO, "%s", problem);
        goto fail;
    }
    free(rows);
    free(rowp);
    free(pal);
    *out = m.data;
    *len = m.len;
    return PDB_OK;
fail:
    free(rows);
    free(rowp);
    free(pal);
    free(m.data);
    return st;
}
