/*
 * imp.h: what the importer's modules share. Not installed; the unit tests
 * include it to reach the pure functions (field names, numbers, codes).
 */
#ifndef PDB_IMP_H
#define PDB_IMP_H

#include "importer.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define PDBI_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------------ */
/* The context (ctx.c)                                                       */
/* ------------------------------------------------------------------------ */

struct pdbi_ctx {
    pdb_ctx *db;       /* the engine's context of the same thread, borrowed */
    pdb_status status; /* the last failure's status, PDB_OK when none */
    char msg[1024];    /* its message */
};

/* Sets up a context in place (the reading thread's lives in its reader). */
void pdbi__ctx_init(pdbi_ctx *ic, pdb_ctx *db);

/* Records a failure on ic and returns st, so that each failure path is
 * one line: return pdbi__fail(ic, PDB_EINVAL, "...", ...). The message may
 * be formatted from pdbi_errmsg(ic) itself. */
pdb_status pdbi__fail(pdbi_ctx *ic, pdb_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with a va_list (for the importer's own fail helpers). */
pdb_status pdbi__failv(pdbi_ctx *ic, pdb_status st, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Carries the engine's last failure (on ic->db) over to ic, its message
 * after "what: " (or alone when what is NULL). */
pdb_status pdbi__fail_db(pdbi_ctx *ic, const char *what);

/* ------------------------------------------------------------------------ */
/* Field mapping (fieldmap.c)                                               */
/* ------------------------------------------------------------------------ */

/* What a source field can mean. */
typedef enum pdbi_target {
    PDBI_T_COMMUNE,
    PDBI_T_FORMER,
    PDBI_T_SHEET,
    PDBI_T_PARCEL,
    PDBI_T_AREA,
    PDBI_T_LANDUSE,
    PDBI_T_OWNER,
    PDBI_T_ADDRESS,
    /* The national attribute set (docs/import.md), after the sheet and
     * parcel numbers so that those take a truncated DBF name first. */
    PDBI_T_PREV_SHEET,
    PDBI_T_PREV_PARCEL,
    PDBI_T_CERTIFICATE,
    PDBI_T_RECORD_START,
    PDBI_T_RECORD_END,
    PDBI_T_COUNT
} pdbi_target;

/* "commune", "former_commune", "sheet", ... (the --field-map names). */
const char *pdbi__target_name(pdbi_target t);
/* The target of a --field-map name, case-insensitive; -1 if none. */
int pdbi__target_parse(const char *name);
/* The names recognised out of the box, in order of preference, NULL-ended. */
const char *const *pdbi__target_aliases(pdbi_target t);

/* Whether a source field name is one of t's aliases: compared without case,
 * '_', '-', '.' and spaces; a 10-character name (the DBF limit) also
 * matches when it is the start of an alias (SoHieuToBa). Returns the rank
 * of the alias (0 = preferred; a cut ranks after every whole alias of t)
 * or -1. */
int pdbi__field_alias_rank(pdbi_target t, const char *field);

/* The user's --field-map: source field names by target (NULL = default). */
typedef struct pdbi_fieldmap {
    char *source[PDBI_T_COUNT]; /* owned */
} pdbi_fieldmap;

/* Parses a field-map file: lines "target=SourceField", '#' comments and
 * blank lines ignored, spaces around both sides trimmed. PDB_EINVAL with a
 * message (file:line) on an unknown target, a line without '=' or a target
 * given twice (fm is then cleared); PDB_EIO when the file cannot be read. */
pdb_status pdbi__fieldmap_load(pdbi_ctx *ic, const char *path, pdbi_fieldmap *fm);
/* The same from text already in memory (name is used in messages). */
pdb_status pdbi__fieldmap_parse(pdbi_ctx *ic, const char *text, const char *name,
                                pdbi_fieldmap *fm);
void pdbi__fieldmap_clear(pdbi_fieldmap *fm);

/* Resolves every target against a layer's field names: idx[t] is the index
 * of the field (or -1). A field the user mapped must exist (else
 * PDB_ENOTFOUND with a message naming it and listing the fields). One
 * field serves one target (else PDB_EINVAL). */
pdb_status pdbi__fieldmap_resolve(pdbi_ctx *ic, const pdbi_fieldmap *fm, const char *const *names,
                                  size_t n, int idx[PDBI_T_COUNT]);

/* Writes "A, B, C" (the layer's field names) into buf, cut with "..." */
void pdbi__field_list(const char *const *names, size_t n, char *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* Values (values.c)                                                         */
/* ------------------------------------------------------------------------ */

/* Parses a number as surveys write it: "2159.6", "2159,6", "2.159,6",
 * "2,159.6", "2 159,6", with optional spaces and a unit suffix "m2" or
 * "m²". Returns 0 on success (a finite, non-negative value), -1 otherwise. */
int pdbi__parse_number(const char *s, size_t len, double *out);

/* Normalises land-use codes: splits on '+', ',', ';', '/', spaces; upper
 * case; drops empty parts and repeats; joins with '+'. *unknown is set to
 * 1 when a part is not in the code list (or the whole is empty). Returns a
 * malloc'd string, or NULL when no code is left. */
char *pdbi__landuse_normalize(const char *s, size_t len, int *unknown);

/* A commune code as five digits: "7894", "07894", "7894.0" -> "07894".
 * Returns 0 on success, -1 when s is not such a number. */
int pdbi__commune_normalize(const char *s, size_t len, char out[6]);

/* The registered commune with this five-digit code, or NULL. */
const pdb_commune_ref *pdbi__commune_known(const char *code);

/* A sheet or parcel number as text: trimmed; a number that is an integer
 * loses its ".0" ("12.0" -> "12", "12.000" -> "12"); NULL when empty. */
char *pdbi__number_text(const char *s, size_t len);
/* 1 when a normalised sheet or parcel number is a positive integer in
 * digits ("12", "012"), as registers and lookups by number have them. */
int pdbi__number_ok(const char *s);
/* A date as surveys write it (docs/import.md): YYYY-MM-DD, YYYY/MM/DD,
 * DD/MM/YYYY or DD-MM-YYYY (day first, as Vietnamese documents write it),
 * optionally followed by ' ' or 'T' and HH:MM[:SS[.fff]] and a zone (Z,
 * +HH, +HH:MM, +HHMM: read, not kept). Writes "YYYY-MM-DD", or
 * "YYYY-MM-DDTHH:MM:SS" when the time is not midnight, into out. 0 on
 * success, -1 for anything else (a day that does not exist included). */
int pdbi__date_parse(const char *s, size_t len, char out[20]);

/* Copies s without leading and trailing white space; NULL when empty. */
char *pdbi__trim_dup(const char *s, size_t len);

/* 1 when the surveyed area disagrees with the computed one beyond the
 * tolerance max(abs_m2, rel * computed). */
int pdbi__area_mismatch(double surveyed_m2, double computed_m2, double rel, double abs_m2);

/* Splits a DXF/DGN label text "SoTo=12;SoThua=5" (pairs separated by ';',
 * '|', new lines or MTEXT's \P, "key=value" or "key:value") and calls fn
 * for each pair with pointers into text and lengths; returns the number of
 * pairs. A text without '=' or ':' but with '/' is the positional form
 * "sheet/parcel/landuse/area" and gives those four keys. */
size_t pdbi__label_pairs(const char *text,
                         void (*fn)(void *arg, const char *key, size_t klen, const char *val,
                                    size_t vlen),
                         void *arg);

/* 1 when s[0..len) is well-formed UTF-8. */
int pdbi__utf8_valid(const char *s, size_t len);
/* 1 when every byte is ASCII. */
int pdbi__is_ascii(const char *s, size_t len);

/* ------------------------------------------------------------------------ */
/* Text encodings (textenc.c, on vnenc)                                      */
/* ------------------------------------------------------------------------ */

typedef enum pdbi_enc {
    PDBI_ENC_UTF8,
    PDBI_ENC_TCVN3,
    PDBI_ENC_VNI,
    PDBI_ENC_LATIN1,
    PDBI_ENC_CP1258 /* Windows-1258, through iconv (CPLRecode) */
} pdbi_enc;

typedef struct pdbi_textenc {
    pdbi_enc kind;     /* how attribute bytes are read */
    double confidence; /* of a detection, 1 when declared or forced */
    char how[96];      /* "detected", "declared in .cpg", "--encoding", ... */
} pdbi_textenc;

/* Parses an --encoding name: utf8, tcvn3, vni, latin1, cp1258 and the
 * spellings vnenc_parse_name knows. -1 if unknown. */
int pdbi__enc_parse(const char *name, pdbi_enc *out);
const char *pdbi__enc_name(pdbi_enc e);

/* Converts bytes in the encoding to NFC UTF-8 (malloc'd); NULL on failure. */
char *pdbi__text_to_utf8(pdbi_enc e, const char *bytes, size_t len);

/* Chooses the encoding of a file from samples of its text values.
 * declared_utf8: the container says UTF-8 (GPKG, GeoJSON, a .cpg saying so).
 * Fills *out, or fails with PDB_EINVAL when the samples are not UTF-8 and
 * no legacy encoding fits them with enough confidence. */
pdb_status pdbi__enc_choose(pdbi_ctx *ic, int declared_utf8, const char *declared_name,
                            const char *const *samples, const size_t *lens, size_t n,
                            pdbi_textenc *out);

/* ------------------------------------------------------------------------ */
/* Checksums (sha256.c)                                                      */
/* ------------------------------------------------------------------------ */

/* Hex SHA-256 over the files (a shapefile's .shp, .shx, .dbf, .prj and .cpg
 * together; each name's extension and size are hashed before its bytes).
 * PDB_EIO when a file cannot be read. */
pdb_status pdbi__checksum_files(pdbi_ctx *ic, const char *const *paths, size_t n, char hex[65]);
/* The hex SHA-256 of a buffer (for tests). */
void pdbi__sha256_hex(const void *data, size_t len, char hex[65]);

/* ------------------------------------------------------------------------ */
/* Progress (progress.c)                                                     */
/* ------------------------------------------------------------------------ */

typedef struct pdbi_meter {
    FILE *out;          /* NULL: silent */
    pdbi_progress mode; /* bar or log lines */
    const char *label;  /* file name shown */
    int64_t total;      /* expected records, 0 when unknown */
    double t0;          /* start, seconds */
    double last;        /* last redraw or log line, seconds */
    int drawn;          /* a bar is on screen and needs a new line */
} pdbi_meter;

double pdbi__now(void);
void pdbi__progress_start(pdbi_meter *p, FILE *out, pdbi_progress mode, const char *label,
                          int64_t total);
/* Redraws at most 10 times a second (a log line every 10 s). */
void pdbi__progress_update(pdbi_meter *p, int64_t done);
void pdbi__progress_end(pdbi_meter *p, int64_t done);

#endif
