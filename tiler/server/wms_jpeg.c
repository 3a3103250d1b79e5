/*
 * wms_jpeg.c: JPEG encoding for WMS GetMap (FORMAT=image/jpeg), the one
 * file that uses libjpeg. libjpeg reports errors by a callback that must
 * not return; it jumps back here instead.
 */
#include "wms.h"

#include <jpeglib.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libjpeg's error manager and where to jump on an error. */
typedef struct jpeg_err {
    struct jpeg_error_mgr mgr; /* libjpeg's, first so that the cast holds */
    jmp_buf jump;              /* back to pdb_srv_jpeg_encode */
} jpeg_err;

static void on_error(j_common_ptr cinfo)
{
    longjmp(((jpeg_err *)cinfo->err)->jump, 1);
}

static void no_output(j_common_ptr cinfo)
{
    (void)cinfo; /* the library never prints */
}

int pdb_srv_jpeg_encode(const pdbt_image *img, int quality, unsigned char **out, size_t *len)
{
    struct jpeg_compress_struct c;
    jpeg_err err;
    unsigned char *mem = NULL;
    unsigned long mlen = 0;
    unsigned char *volatile row = NULL;

    *out = NULL;
    *len = 0;
    c.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = on_error;
    err.mgr.output_message = no_output;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&c);
        free(row);
        free(mem);
        return -1;
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &mlen);
    c.image_width = (JDIMENSION)img->width;
    c.image_height = (JDIMENSION)img->height;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    row = malloc((size_t)img->width * 3);
    if (row == NULL)
        longjmp(err.jump, 1);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        const uint32_t *px = (const uint32_t *)((const unsigned char *)img->argb +
                                                (size_t)c.next_scanline * (size_t)img->stride);
        for (int x = 0; x < img->width; x++) {
            unsigned char rgba[4];
            pdbt_png_unpremultiply(px[x], rgba);
            memcpy(row + 3 * x, rgba, 3);
        }
        JSAMPROW rows[1] = {row};
        jpeg_write_scanlines(&c, rows, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    *out = mem;
    *len = mlen;
    return 0;
}
