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

#endif
