/*
 * test_render_png.c: PNG encoding. Cairo's premultiplied ARGB must come
 * out as straight RGBA (a half-transparent pixel is the classic trap), in
 * the smallest lossless form, and decode with libpng's own reader; the
 * CLI test decodes tiles with GDAL as well.
 */
#include "tiler.h"

#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define W 64
#define H 48

/* Decodes PNG bytes of w x h pixels to straight RGBA with libpng's
 * simplified API; returns the IHDR colour type in *color_type and, when
 * asked, its bit depth in *bit_depth. */
static unsigned char *decode(const unsigned char *png, size_t len, unsigned w, unsigned h,
                             int *color_type, int *bit_depth)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_memory(&img, png, len));
    assert_int_equal(img.width, w);
    assert_int_equal(img.height, h);
    img.format = PNG_FORMAT_RGBA;
    unsigned char *px = malloc(PNG_IMAGE_SIZE(img));
    assert_non_null(px);
    assert_true(png_image_finish_read(&img, NULL, px, 0, NULL));
    *color_type = png[25]; /* IHDR: 8 signature + 8 chunk header + 9 */
    if (bit_depth)
        *bit_depth = png[24];
    return px;
}

/* Encodes w x h pixels and decodes them (decode's outputs). */
static unsigned char *encode_decode_wh(const uint32_t *argb, unsigned w, unsigned h,
                                       pdbt_png_palette mode, int *color_type, int *bit_depth,
                                       size_t *len_out)
{
    pdbt_image img = {(int)w, (int)h, (int)w * 4, argb};
    pdbt_png_options o = {0, mode};
    unsigned char *png = NULL;
    size_t len = 0;
    pdbt_ctx *tctx = NULL;
    assert_int_equal(pdbt_ctx_new(NULL, &tctx), PDB_OK);
    if (pdbt_png_encode(tctx, &img, &o, &png, &len) != PDB_OK)
        fail_msg("%s", pdbt_errmsg(tctx));
    pdbt_ctx_free(tctx);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    unsigned char *px = decode(png, len, w, h, color_type, bit_depth);
    free(png);
    if (len_out)
        *len_out = len;
    return px;
}

static unsigned char *encode_decode(const uint32_t *argb, pdbt_png_palette mode, int *color_type,
                                    size_t *len_out)
{
    return encode_decode_wh(argb, W, H, mode, color_type, NULL, len_out);
}

/* An image with no pixels is refused with a status that says so and one
 * line, as every fallible call of the renderer. */
static void test_empty_image(void **state)
{
    (void)state;
    pdbt_image img = {0, 0, 0, NULL};
    unsigned char *png = NULL;
    size_t len = 1;
    pdbt_ctx *tctx = NULL;
    assert_int_equal(pdbt_ctx_new(NULL, &tctx), PDB_OK);
    assert_int_equal(pdbt_png_encode(tctx, &img, NULL, &png, &len), PDB_EINVAL);
    assert_int_equal(pdbt_errcode(tctx), PDB_EINVAL);
    assert_string_equal(pdbt_errmsg(tctx), "an empty image");
    pdbt_ctx_free(tctx);
    assert_null(png);
    assert_int_equal(len, 0);
}

static void test_unpremultiply(void **state)
{
    (void)state;
    unsigned char c[4];
    pdbt_png_unpremultiply(0x80800000u, c); /* red at 50%: Cairo stores 0x80 red */
    assert_int_equal(c[0], 255);
    assert_int_equal(c[1], 0);
    assert_int_equal(c[3], 128);
    pdbt_png_unpremultiply(0x00000000u, c);
    assert_int_equal(c[0] | c[1] | c[2] | c[3], 0);
    pdbt_png_unpremultiply(0xff102030u, c);
    assert_int_equal(c[0], 0x10);
    assert_int_equal(c[2], 0x30);
    pdbt_png_unpremultiply(0x40202020u, c); /* 25% mid grey */
    assert_int_equal(c[0], 128);
    assert_int_equal(c[3], 64);
}

/* A half-transparent pixel in each form the encoder can choose. */
static void test_half_transparent(void **state)
{
    (void)state;
    static uint32_t argb[W * H];
    for (int i = 0; i < W * H; i++)
        argb[i] = 0xffffd0ffu;     /* opaque ONT pink */
    argb[5 * W + 7] = 0x80800000u; /* red, alpha 128, premultiplied */
    argb[6 * W + 7] = 0x00000000u; /* transparent */
    pdbt_png_palette modes[] = {PDBT_PNG_PALETTE_AUTO, PDBT_PNG_PALETTE_NEVER,
                                PDBT_PNG_PALETTE_QUANTIZE};
    int want_type[] = {PNG_COLOR_TYPE_PALETTE, PNG_COLOR_TYPE_RGB_ALPHA, PNG_COLOR_TYPE_PALETTE};
    for (size_t m = 0; m < 3; m++) {
        int type;
        unsigned char *px = encode_decode(argb, modes[m], &type, NULL);
        assert_int_equal(type, want_type[m]);
        const unsigned char *p = px + (5 * W + 7) * 4;
        assert_int_equal(p[0], 255);
        assert_int_equal(p[1], 0);
        assert_int_equal(p[2], 0);
        assert_int_equal(p[3], 128);
        p = px + (6 * W + 7) * 4;
        assert_int_equal(p[3], 0);
        p = px;
        assert_int_equal(p[0], 255);
        assert_int_equal(p[1], 0xd0);
        assert_int_equal(p[3], 255);
        free(px);
    }
}

/* An opaque tile with many colours is RGB, and exact. */
static void test_opaque_rgb(void **state)
{
    (void)state;
    static uint32_t argb[W * H];
    for (int i = 0; i < W * H; i++)
        argb[i] = 0xff000000u | (uint32_t)(i * 2654435761u >> 8);
    int type;
    unsigned char *px = encode_decode(argb, PDBT_PNG_PALETTE_AUTO, &type, NULL);
    assert_int_equal(type, PNG_COLOR_TYPE_RGB);
    for (int i = 0; i < W * H; i++) {
        assert_int_equal(px[4 * i], (argb[i] >> 16) & 255);
        assert_int_equal(px[4 * i + 2], argb[i] & 255);
        assert_int_equal(px[4 * i + 3], 255);
    }
    free(px);
    /* Quantized: every pixel within a few levels. */
    px = encode_decode(argb, PDBT_PNG_PALETTE_QUANTIZE, &type, NULL);
    assert_int_equal(type, PNG_COLOR_TYPE_PALETTE);
    free(px);
}

/* An empty tile is tiny and fully transparent. */
static void test_transparent(void **state)
{
    (void)state;
    static uint32_t argb[W * H];
    memset(argb, 0, sizeof argb);
    int type;
    size_t len;
    unsigned char *px = encode_decode(argb, PDBT_PNG_PALETTE_AUTO, &type, &len);
    assert_int_equal(type, PNG_COLOR_TYPE_PALETTE);
    assert_true(len < 150);
    for (int i = 0; i < W * H; i++)
        assert_int_equal(px[4 * i + 3], 0);
    free(px);
}

/* Runs of colour, as in a map tile: exactly 256 colours stay a palette,
 * every pixel exact; a 257th colour in the very last pixel turns the tile
 * into true colour, still exact (the encoder caches the run's colour and
 * must not keep a stale index across rows or past an overflow). */
static void test_palette_runs(void **state)
{
    (void)state;
    static uint32_t argb[W * H];
    for (int i = 0; i < W * H; i++) {
        uint32_t c = (uint32_t)(i / 12) % 256; /* 256 runs of 12 pixels */
        argb[i] = 0xff000000u | c << 16 | (255 - c) << 8 | (c * 7) % 256;
    }
    for (int extra = 0; extra < 2; extra++) {
        if (extra)
            argb[W * H - 1] = 0xff123457u; /* a 257th colour */
        int type;
        unsigned char *px = encode_decode(argb, PDBT_PNG_PALETTE_AUTO, &type, NULL);
        assert_int_equal(type, extra ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_PALETTE);
        for (int i = 0; i < W * H; i++) {
            assert_int_equal(px[4 * i], (argb[i] >> 16) & 255);
            assert_int_equal(px[4 * i + 1], (argb[i] >> 8) & 255);
            assert_int_equal(px[4 * i + 2], argb[i] & 255);
            assert_int_equal(px[4 * i + 3], 255);
        }
        free(px);
    }
    /* Three colours (2-bit indices), one a row, then the first colour again
     * at the start of the next row: indices packed four to a byte. */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            argb[y * W + x] = x < 5 ? 0xff0000ffu : y % 2 ? 0xff00ff00u : 0x00000000u;
    int type;
    unsigned char *px = encode_decode(argb, PDBT_PNG_PALETTE_AUTO, &type, NULL);
    assert_int_equal(type, PNG_COLOR_TYPE_PALETTE);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const unsigned char *p = px + 4 * (y * W + x);
            assert_int_equal(p[3], x < 5 || y % 2 ? 255 : 0);
            if (p[3] != 0) {
                assert_int_equal(p[1], x < 5 ? 0 : 255);
                assert_int_equal(p[2], x < 5 ? 255 : 0);
            }
        }
    free(px);
}

/* Palettes of 2, 3, 9 and 40 colours (1, 2, 4 and 8-bit indices) at
 * widths that are not a multiple of a byte's pixels, in an image of runs,
 * of rows repeating the row above (as most of an extract's sheet does) and
 * of rows that do not: every pixel decodes exact, and the IHDR says the
 * bit depth the palette needs. */
static void test_palette_depths(void **state)
{
    (void)state;
    static const int ncolors[] = {2, 3, 9, 40}, depth[] = {1, 2, 4, 8};
    static const unsigned widths[] = {1, 5, 13, 61, 99};
    enum { HH = 23 };
    for (size_t c = 0; c < sizeof ncolors / sizeof ncolors[0]; c++)
        for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++) {
            unsigned w = widths[k];
            uint32_t *argb = malloc(sizeof *argb * w * HH);
            assert_non_null(argb);
            for (unsigned y = 0; y < HH; y++)
                for (unsigned x = 0; x < w; x++) {
                    /* Rows 3-9 and 15-22 repeat the one above; the rest
                     * are runs of three pixels, shifted a pixel a row. */
                    unsigned yy = y >= 3 && y < 10 ? 2 : y >= 15 ? 14 : y;
                    unsigned i = ((x + yy) / 3 + yy) % (unsigned)ncolors[c];
                    argb[y * w + x] = 0xff000000u | (i * 6u) << 16 | (255 - i) << 8 | (i * 3u);
                }
            int type, bits;
            unsigned char *px =
                encode_decode_wh(argb, w, HH, PDBT_PNG_PALETTE_AUTO, &type, &bits, NULL);
            assert_int_equal(type, PNG_COLOR_TYPE_PALETTE);
            /* The colours the image holds (a narrow one not all). */
            int seen[40] = {0}, n = 0;
            for (unsigned i = 0; i < w * HH; i++)
                if (!seen[(argb[i] & 255) / 3]++)
                    n++;
            assert_int_equal(bits, n <= 2 ? 1 : n <= 4 ? 2 : n <= 16 ? 4 : 8);
            if (w >= 13)
                assert_int_equal(bits, depth[c]);
            for (unsigned i = 0; i < w * HH; i++) {
                assert_int_equal(px[4 * i], (argb[i] >> 16) & 255);
                assert_int_equal(px[4 * i + 1], (argb[i] >> 8) & 255);
                assert_int_equal(px[4 * i + 2], argb[i] & 255);
                assert_int_equal(px[4 * i + 3], 255);
            }
            free(px);
            free(argb);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_image),      cmocka_unit_test(test_unpremultiply),
        cmocka_unit_test(test_half_transparent), cmocka_unit_test(test_opaque_rgb),
        cmocka_unit_test(test_transparent),      cmocka_unit_test(test_palette_runs),
        cmocka_unit_test(test_palette_depths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
