/*
 * imp.h: what the importer's modules share. Not installed; the unit tests
 * include it to reach the pure functions (field names, numbers, codes).
 */
#ifndef PDB_IMP_H
#define PDB_IMP_H

#include "importer.h"

#include <stddef.h>
#include <stdint.h>

#define IMP_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------ */
/* Field mapping (fieldmap.c)                                               */
/* ------------------------------------------------------------------------ */

/* What a source field can mean. */
typedef enum imp_target {
    IMP_T_COMMUNE,
    IMP_T_FORMER,
    IMP_T_SHEET,
    IMP_T_PARCEL,
    IMP_T_AREA,
    IMP_T_LANDUSE,
    IMP_T_OWNER,
    IMP_T_ADDRESS,
    IMP_T_COUNT
} imp_target;

/* "commune", "former_commune", "sheet", ... (the --field-map names). */
const char *imp_target_name(imp_target t);
/* The target of a --field-map name, case-insensitive; -1 if none. */
int imp_target_parse(const char *name);
/* The names recognised out of the box, in order of preference, NULL-ended. */
const char *const *imp_target_aliases(imp_target t);

/* Whether a source field name is one of t's aliases: compared without case,
 * '_', '-', '.' and spaces; a 10-character name (the DBF limit) also
 * matches when it is the start of an alias (SoHieuToBa). Returns the rank
 * of the alias (0 = preferred) or -1. */
int imp_field_alias_rank(imp_target t, const char *field);

/* The user's --field-map: source field names by target (NULL = default). */
typedef struct imp_fieldmap {
    char *source[IMP_T_COUNT]; /* owned */
} imp_fieldmap;

/* Parses a field-map file: lines "target=SourceField", '#' comments and
 * blank lines ignored, spaces around both sides trimmed. -1 with a message
 * (file:line) in err on an unknown target, a line without '=' or a target
 * given twice. */
int imp_fieldmap_load(const char *path, imp_fieldmap *fm, char *err, size_t errlen);
/* The same from text already in memory (name is used in messages). */
int imp_fieldmap_parse(const char *text, const char *name, imp_fieldmap *fm, char *err,
                       size_t errlen);
void imp_fieldmap_clear(imp_fieldmap *fm);

/* Resolves every target against a layer's field names: idx[t] is the index
 * of the field (or -1). A field the user mapped must exist (else -1 with a
 * message naming it and listing the fields). One field serves one target. */
int imp_fieldmap_resolve(const imp_fieldmap *fm, const char *const *names, size_t n,
                         int idx[IMP_T_COUNT], char *err, size_t errlen);

/* Writes "A, B, C" (the layer's field names) into buf, cut with "..." */
void imp_field_list(const char *const *names, size_t n, char *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* Values (values.c)                                                         */
/* ------------------------------------------------------------------------ */

/* Parses a number as surveys write it: "2159.6", "2159,6", "2.159,6",
 * "2,159.6", "2 159,6", with optional spaces and a unit suffix "m2" or
 * "m²". Returns 0 on success (a finite, non-negative value), -1 otherwise. */
int imp_parse_number(const char *s, size_t len, double *out);

/* Normalises land-use codes: splits on '+', ',', ';', '/', spaces; upper
 * case; drops empty parts and repeats; joins with '+'. *unknown is set to
 * 1 when a part is not in the code list (or the whole is empty). Returns a
 * malloc'd string, or NULL when no code is left. */
char *imp_landuse_normalize(const char *s, size_t len, int *unknown);

/* A commune code as five digits: "7894", "07894", "7894.0" -> "07894".
 * Returns 0 on success, -1 when s is not such a number. */
int imp_commune_normalize(const char *s, size_t len, char out[6]);

/* The registered commune with this five-digit code, or NULL. */
const pdb_commune_ref *imp_commune_known(const char *code);

/* A sheet or parcel number as text: trimmed; a number that is an integer
 * loses its ".0" ("12.0" -> "12", "12.000" -> "12"); NULL when empty. */
char *imp_number_text(const char *s, size_t len);

/* Copies s without leading and trailing white space; NULL when empty. */
char *imp_trim_dup(const char *s, size_t len);

/* 1 when the surveyed area disagrees with the computed one beyond the
 * tolerance max(abs_m2, rel * computed). */
int imp_area_mismatch(double surveyed_m2, double computed_m2, double rel, double abs_m2);

/* Splits a DXF/DGN label text "SoTo=12;SoThua=5" (pairs separated by ';',
 * '|', new lines or MTEXT's \P, "key=value" or "key:value") and calls fn
 * for each pair with pointers into text and lengths; returns the number of
 * pairs. A text without '=' or ':' but with '/' is the positional form
 * "sheet/parcel/landuse/area" and gives those four keys. */
size_t imp_label_pairs(const char *text,
                       void (*fn)(void *arg, const char *key, size_t klen, const char *val,
                                  size_t vlen),
                       void *arg);

/* 1 when s[0..len) is well-formed UTF-8. */
int imp_utf8_valid(const char *s, size_t len);
/* 1 when every byte is ASCII. */
int imp_is_ascii(const char *s, size_t len);

/* ------------------------------------------------------------------------ */
/* Text encodings (textenc.c, on vnenc)                                      */
/* ------------------------------------------------------------------------ */

typedef enum imp_enc {
    IMP_ENC_UTF8,
    IMP_ENC_TCVN3,
    IMP_ENC_VNI,
    IMP_ENC_LATIN1,
    IMP_ENC_CP1258 /* Windows-1258, through iconv (CPLRecode) */
} imp_enc;

typedef struct imp_textenc {
    imp_enc kind;      /* how attribute bytes are read */
    double confidence; /* of a detection, 1 when declared or forced */
    char how[96];      /* "detected", "declared in .cpg", "--encoding", ... */
} imp_textenc;

/* Parses an --encoding name: utf8, tcvn3, vni, latin1, cp1258 and the
 * spellings vnenc_parse_name knows. -1 if unknown. */
int imp_enc_parse(const char *name, imp_enc *out);
const char *imp_enc_name(imp_enc e);

/* Converts bytes in the encoding to NFC UTF-8 (malloc'd); NULL on failure. */
char *imp_text_to_utf8(imp_enc e, const char *bytes, size_t len);

/* Chooses the encoding of a file from samples of its text values.
 * declared_utf8: the container says UTF-8 (GPKG, GeoJSON, a .cpg saying so).
 * Returns 0 and fills *out, or -1 with a message when the samples are not
 * UTF-8 and no legacy encoding fits them with enough confidence. */
int imp_enc_choose(int declared_utf8, const char *declared_name, const char *const *samples,
                   const size_t *lens, size_t n, imp_textenc *out, char *err, size_t errlen);

/* ------------------------------------------------------------------------ */
/* Checksums (sha256.c)                                                      */
/* ------------------------------------------------------------------------ */

/* Hex SHA-256 over the files (a shapefile's .shp, .shx, .dbf, .prj and .cpg
 * together; each name's extension and size are hashed before its bytes).
 * Returns 0, or -1 with a message when a file cannot be read. */
int imp_checksum_files(const char *const *paths, size_t n, char hex[65], char *err, size_t errlen);
/* The hex SHA-256 of a buffer (for tests). */
void imp_sha256_hex(const void *data, size_t len, char hex[65]);

/* ------------------------------------------------------------------------ */
/* Progress (progress.c)                                                     */
/* ------------------------------------------------------------------------ */

typedef struct imp_progress {
    FILE *out;          /* NULL: silent */
    pdbi_progress mode; /* bar or log lines */
    const char *label;  /* file name shown */
    int64_t total;      /* expected records, 0 when unknown */
    double t0;          /* start, seconds */
    double last;        /* last redraw or log line, seconds */
    int drawn;          /* a bar is on screen and needs a new line */
} imp_progress;

double imp_now(void);
void imp_progress_start(imp_progress *p, FILE *out, pdbi_progress mode, const char *label,
                        int64_t total);
/* Redraws at most 10 times a second (a log line every 10 s). */
void imp_progress_update(imp_progress *p, int64_t done);
void imp_progress_end(imp_progress *p, int64_t done);

#endif
