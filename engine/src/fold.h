/*
 * fold.h: the folding that makes Vietnamese text searchable without its
 * marks: "Nguyễn Văn Đức", its NFD spelling, and the old tone placement
 * ("hoà" for "hòa") all fold to "nguyen van duc". The search index stores
 * folded text and every query is folded the same way, so both sides meet.
 */
#ifndef PDB_FOLD_H
#define PDB_FOLD_H

#include <stddef.h>

/* Folds UTF-8 text: canonical decomposition, every combining mark
 * dropped (tones, breve, circumflex, horn), đ/Đ -> d, lower case, and
 * every run of characters that are neither letters nor digits turned into
 * one space (no leading or trailing space). Returns a malloc'd string the
 * caller frees, "" for NULL or empty input, NULL when out of memory.
 * Invalid UTF-8 bytes count as separators. */
char *pdb__fold(const char *text, size_t len);

/* The same fold, byte for byte, made faster for the importer: the code
 * points of the Latin ranges (U+0000-U+024F, U+1E00-U+1EFF) and the
 * combining marks (U+0300-U+036F) go through a table built once from
 * pdb__fold; a text holding anything else is folded by pdb__fold whole.
 * Thread-safe. */
char *pdb__fold_fast(const char *text, size_t len);

/* pdb__fold_fast into *buf, of *cap bytes, grown (realloc) as needed: for
 * a caller that folds many texts. The caller frees *buf. 0 when out of
 * memory. */
int pdb__fold_fast_into(const char *text, size_t len, char **buf, size_t *cap);

#endif
