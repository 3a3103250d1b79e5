/*
 * font.h: label fonts by name, from files (font.c).
 */
#ifndef PDB_TILER_FONT_H
#define PDB_TILER_FONT_H

#include "ctx.h"

#include <cairo.h>
#include <stddef.h>

/* The file of a font name in dir: "DejaVu Sans Bold" ->
 * DIR/DejaVuSans-Bold.ttf. Returns 0 when the file exists. */
int pdbt__font_file(const char *dir, const char *name, char *out, size_t cap);

/* A Cairo font face for a font file, shared by the whole process and
 * valid until it exits (do not destroy it). PDB_EIO with the message on
 * ctx when the file is no font FreeType and Cairo can use (or more fonts
 * than the process keeps). */
pdb_status pdbt__font_face(pdbt_ctx *ctx, const char *path, cairo_font_face_t **out);

#endif
