/*
 * glyphs.c: the glyph files MapLibre GL draws labels with
 * (/fonts/{fontstack}/{range}.pbf): the glyphs of 256 code points of a
 * font, each a signed distance field, made here from the same font files
 * the PNG tiles' labels use (font.c), with FreeType's SDF renderer, so the
 * vector map needs nothing from the network either.
 *
 * The format is MapLibre's (and Mapbox's before it): a protocol buffer
 * "glyphs { stacks { name, range, glyphs { id, bitmap, width, height,
 * left, top, advance } } }", the font at 24 px, each bitmap the glyph's
 * box and 3 px around it, one byte a pixel: 191 on the outline, 32 levels
 * a pixel, higher inside (what MapLibre's shader expects). FreeType's
 * field is 128 on the outline and 16 levels a pixel with a spread of 8
 * px: it is rescaled, and cropped from 8 px around to 3.
 */
#include "ctx.h"
#include "font.h"
#include "pbuf.h"
#include "tiler.h"

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_MODULE_H
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EM_PX 24     /* MapLibre's glyph size */
#define BUFFER_PX 3  /* the field kept around each glyph */
#define SPREAD_PX 8  /* FreeType's field: 8 px around, 128/8 levels a px */
#define TOP_SHIFT 27 /* MapLibre's "top": the glyph's top above the baseline, less 27 */

/* The field of one glyph rendered in slot, rescaled and cropped into out
 * ((w + 2 BUFFER_PX) x (h + 2 BUFFER_PX) bytes). */
static void crop_field(const FT_Bitmap *bm, unsigned w, unsigned h, unsigned char *out)
{
    const int skip = SPREAD_PX - BUFFER_PX;
    unsigned ow = w + 2 * BUFFER_PX, oh = h + 2 * BUFFER_PX;
    for (unsigned y = 0; y < oh; y++)
        for (unsigned x = 0; x < ow; x++) {
            unsigned sx = x + skip, sy = y + skip;
            int v = sx < bm->width && sy < bm->rows ? bm->buffer[sy * (unsigned)bm->pitch + sx] : 0;
            /* 16 levels a px about 128 -> 32 levels a px about 191. */
            double o = 191.25 + (v - 128) * (255.0 / 8) * SPREAD_PX / 128;
            out[y * ow + x] = (unsigned char)(o < 0 ? 0 : o > 255 ? 255 : lround(o));
        }
}

pdb_status pdbt_glyphs(pdbt_ctx *ctx, const char *font_dir, const char *fontstack, unsigned start,
                       unsigned char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    pdbt__ok(ctx);
    if (start % 256 != 0 || start > 65280)
        return pdbt__fail(ctx, PDB_EINVAL, "a glyph range starts at a multiple of 256 up to 65280");
    /* The first font of the stack that is installed. */
    char path[600] = "", name[256] = "";
    const char *dir = font_dir ? font_dir : "/usr/share/fonts/truetype/dejavu";
    for (const char *p = fontstack; *p && !*path;) {
        size_t n = strcspn(p, ",");
        while (n > 0 && p[0] == ' ')
            p++, n--;
        snprintf(name, sizeof name, "%.*s", (int)(n < 255 ? n : 255), p);
        if (pdbt__font_file(dir, name, path, sizeof path) != 0)
            *path = '\0';
        p += n + (p[n] == ',');
    }
    if (!*path)
        return pdbt__fail(ctx, PDB_ENOTFOUND, "no font of '%s' is installed in %s", fontstack, dir);

    FT_Library lib;
    FT_Face face;
    if (FT_Init_FreeType(&lib) != 0)
        return pdbt__fail(ctx, PDB_EIO, "FreeType failed to start");
    FT_Int spread = SPREAD_PX;
    FT_Property_Set(lib, "sdf", "spread", &spread);
    FT_Property_Set(lib, "bsdf", "spread", &spread);
    if (FT_New_Face(lib, path, 0, &face) != 0 || FT_Set_Pixel_Sizes(face, 0, EM_PX) != 0) {
        FT_Done_FreeType(lib);
        return pdbt__fail(ctx, PDB_EIO, "%s: not a font FreeType can read", path);
    }
    pdbt_pbuf stack = {0}, glyph = {0}, top = {0};
    unsigned char *field = NULL;
    char range[32];
    snprintf(range, sizeof range, "%u-%u", start, start + 255);
    pdbt_pbuf_len_field(&stack, 1, fontstack, strlen(fontstack));
    pdbt_pbuf_len_field(&stack, 2, range, strlen(range));
    for (unsigned cp = start; cp < start + 256 && !stack.oom && !glyph.oom; cp++) {
        FT_UInt idx = FT_Get_Char_Index(face, cp);
        if (idx == 0 || FT_Load_Glyph(face, idx, FT_LOAD_NO_HINTING) != 0)
            continue; /* not in the font: MapLibre draws nothing for it */
        FT_GlyphSlot s = face->glyph;
        long advance = lround(s->advance.x / 64.0);
        glyph.n = 0;
        pdbt_pbuf_uint_field(&glyph, 1, cp);
        if (s->format == FT_GLYPH_FORMAT_OUTLINE && s->outline.n_points > 0 &&
            FT_Render_Glyph(s, FT_RENDER_MODE_SDF) == 0 && s->bitmap.width > 2 * SPREAD_PX &&
            s->bitmap.rows > 2 * SPREAD_PX) {
            unsigned w = s->bitmap.width - 2 * SPREAD_PX, h = s->bitmap.rows - 2 * SPREAD_PX;
            size_t nf = (size_t)(w + 2 * BUFFER_PX) * (h + 2 * BUFFER_PX);
            unsigned char *f = realloc(field, nf);
            if (f == NULL) {
                glyph.oom = 1;
                break;
            }
            field = f;
            crop_field(&s->bitmap, w, h, field);
            pdbt_pbuf_len_field(&glyph, 2, field, nf);
            pdbt_pbuf_uint_field(&glyph, 3, w);
            pdbt_pbuf_uint_field(&glyph, 4, h);
            pdbt_pbuf_sint_field(&glyph, 5, s->bitmap_left + SPREAD_PX);
            pdbt_pbuf_sint_field(&glyph, 6, s->bitmap_top - SPREAD_PX - TOP_SHIFT);
        } else { /* a space: its advance only */
            pdbt_pbuf_uint_field(&glyph, 3, 0);
            pdbt_pbuf_uint_field(&glyph, 4, 0);
            pdbt_pbuf_sint_field(&glyph, 5, 0);
            pdbt_pbuf_sint_field(&glyph, 6, -TOP_SHIFT);
        }
        pdbt_pbuf_uint_field(&glyph, 7, (uint64_t)(advance > 0 ? advance : 0));
        pdbt_pbuf_len_field(&stack, 3, glyph.p, glyph.n);
    }
    pdbt_pbuf_len_field(&top, 1, stack.p, stack.n);
    int oom = stack.oom || glyph.oom || top.oom;
    free(field);
    free(stack.p);
    free(glyph.p);
    FT_Done_Face(face);
    FT_Done_FreeType(lib);
    if (oom) {
        free(top.p);
        return pdbt__fail(ctx, PDB_ENOMEM, "out of memory making glyphs");
    }
    *out = top.p;
    *len = top.n;
    return PDB_OK;
}
