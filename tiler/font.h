/*
 * font.h: label fonts by name, from files (font.c).
 */
#ifndef PDB_TILER_FONT_H
#define PDB_TILER_FONT_H

#include <cairo.h>
#include <stddef.h>

/* The file of a font name in dir: "DejaVu Sans Bold" ->
 * DIR/DejaVuSans-Bold.ttf. Returns 0 when the file exists. */
int pdbt__font_file(const char *dir, const char *name, char *out, size_t cap);

/* A Cairo font face for a font file, shared by the whole process and
 * valid until it exits (do not destroy it). NULL with a message in err. */
cairo_font_face_t *pdbt__font_face(const char *path, char *err, size_t errcap);

#endif
