/*
 * font.c: fonts for labels, loaded through FreeType from explicit files
 * (DejaVu Sans from Debian's fonts-dejavu-core by default) rather than
 * through fontconfig, so that a tile never depends on which fonts a
 * machine happens to have: a missing font is an error, not a substitute.
 *
 * FreeType's library object is not thread-safe for opening faces, and a
 * Cairo font face may outlive the renderer that made it (Cairo caches
 * scaled fonts), so faces live for the whole process in a small table,
 * opened once under a mutex and shared by every renderer.
 */
#include "font.h"

#include <cairo-ft.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FACES 16

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FT_Library library; /* process-wide; never freed */
static struct {
    char path[512];          /* font file */
    cairo_font_face_t *face; /* one reference held for the process */
} faces[MAX_FACES];
static int nfaces;

int pdbt__font_file(const char *dir, const char *name, char *out, size_t cap)
{
    static const char *const styles[] = {"Bold", "Oblique", "Italic", "ExtraLight"};
    char family[128] = "", style[64] = "", copy[256];
    snprintf(copy, sizeof copy, "%s", name);
    /* "DejaVu Sans Condensed Bold" -> DejaVuSansCondensed-Bold.ttf */
    for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        int is_style = 0;
        for (size_t i = 0; i < sizeof styles / sizeof styles[0]; i++)
            is_style |= strcmp(w, styles[i]) == 0;
        if (strcmp(w, "Regular") == 0 || strcmp(w, "Book") == 0)
            continue;
        if (is_style)
            strncat(style, w, sizeof style - strlen(style) - 1);
        else
            strncat(family, w, sizeof family - strlen(family) - 1);
    }
    int n = snprintf(out, cap, "%s/%s%s%s.ttf", dir, family, *style ? "-" : "", style);
    struct stat sb;
    return (n > 0 && (size_t)n < cap && stat(out, &sb) == 0 && S_ISREG(sb.st_mode)) ? 0 : -1;
}

pdb_status pdbt__font_face(pdbt_ctx *ctx, const char *path, cairo_font_face_t **out)
{
    pdb_status st = PDB_OK;

    *out = NULL;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < nfaces; i++)
        if (strcmp(faces[i].path, path) == 0) {
            *out = faces[i].face;
            goto done;
        }
    if (nfaces == MAX_FACES) {
        st = pdbt__fail(ctx, PDB_EIO, "more than %d fonts", MAX_FACES);
        goto done;
    }
    if (library == NULL && FT_Init_FreeType(&library) != 0) {
        library = NULL;
        st = pdbt__fail(ctx, PDB_EIO, "FreeType failed to start");
        goto done;
    }
    FT_Face ft;
    if (FT_New_Face(library, path, 0, &ft) != 0) {
        st = pdbt__fail(ctx, PDB_EIO, "%s: not a font FreeType can read", path);
        goto done;
    }
    cairo_font_face_t *cf = cairo_ft_font_face_create_for_ft_face(ft, 0);
    if (cairo_font_face_status(cf) != CAIRO_STATUS_SUCCESS) {
        st = pdbt__fail(ctx, PDB_EIO, "%s: Cairo cannot use this font", path);
        cairo_font_face_destroy(cf);
        FT_Done_Face(ft);
        goto done;
    }
    snprintf(faces[nfaces].path, sizeof faces[nfaces].path, "%s", path);
    faces[nfaces].face = cf;
    nfaces++;
    *out = cf;
done:
    pthread_mutex_unlock(&lock);
    return st;
}
