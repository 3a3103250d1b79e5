/*
 * vnenc.h: Vietnamese text in the encodings cadastral files arrive in.
 *
 * Survey DBFs made before Unicode hold Vietnamese in font encodings and
 * usually declare Latin-1 (or nothing): TCVN3 ("ABC", the .VnTime fonts) or
 * VNI-Windows (the VNI-Times fonts). This module converts them to UTF-8 in
 * Unicode normalisation form C, converts back (for the synthetic-data
 * generator and tests), and guesses which encoding a column of strings is.
 *
 *  - VNENC_UTF8: UTF-8, any normalisation form; output is NFC.
 *  - VNENC_TCVN3: TCVN 5712:1993 VN3 ("ABC"). One byte per letter. It has
 *    every lowercase letter and the capitals Ă Â Ê Ô Ơ Ư Đ, but no capital
 *    with a tone mark: .VnTime users type those with the lowercase code (or
 *    switch to the all-capitals .VnTimeH font, which draws the lowercase
 *    codes as capitals). So encoding is lossy for the 60 toned capitals
 *    (À Á Ả Ã Ạ Ằ ... Ỵ): "Ánh" is written as the bytes of "ánh" and comes
 *    back as "ánh". Nothing else is lost. Bytes VN3 leaves unassigned (0x80-
 *    0xA0 and the slots where VN1 puts toned capitals) are invalid input.
 *  - VNENC_VNI: VNI-Windows. A letter with diacritics is the base letter
 *    followed by one byte for the diacritic(s) ("ễ" = 'e' 0xE3), except i
 *    with a tone, ỵ, đ, ơ and ư, which have bytes of their own (ơ and ư then
 *    take a tone byte after them). Lossless for all 134 letters. A diacritic
 *    byte that follows no vowel is invalid input.
 *  - VNENC_LATIN1: Windows-1252 (what a DBF "1252"/"LATIN1" code page means
 *    in practice; the WHATWG Encoding Standard maps the label "latin1" to it).
 *
 * Thread-safe: the tables are built once (pthread_once); no global state
 * changes afterwards.
 */
#ifndef PDB_VNENC_H
#define PDB_VNENC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vnenc_kind {
    VNENC_UTF8,  /* UTF-8 (Unicode) */
    VNENC_TCVN3, /* TCVN 5712:1993 VN3, "ABC", .VnTime fonts */
    VNENC_VNI,   /* VNI-Windows, VNI-Times fonts */
    VNENC_LATIN1 /* Windows-1252 / ISO 8859-1 */
} vnenc_kind;

/* Converts len bytes in encoding `from` to a NUL-terminated UTF-8 string in
 * NFC. Returns NULL with errno EILSEQ when the bytes are not valid in that
 * encoding (including a NUL byte inside the input), EINVAL for an unknown
 * kind, ENOMEM when out of memory. The caller frees the result with free(). */
char *vnenc_to_utf8(const char *bytes, size_t len, vnenc_kind from);

/* Converts a NUL-terminated UTF-8 string (any normalisation form) to
 * encoding `to`. Returns malloc'd bytes (NUL-terminated for convenience;
 * *len_out, if not NULL, is their length without the terminator), or NULL
 * with errno EILSEQ for invalid UTF-8 or a character the encoding has no code
 * for, ENOMEM when out of memory. TCVN3 folds toned capitals to the lowercase
 * code (see above); this is not an error. */
char *vnenc_from_utf8(const char *utf8, vnenc_kind to, size_t *len_out);

/* Guesses the encoding of a column of n strings (samples[i] of lens[i]
 * bytes; NULL samples are skipped). Each candidate decodes every sample
 * that is not plain ASCII, and the decoded words are scored as Vietnamese
 * syllables (one tone mark at most, a valid onset, vowel cluster and final,
 * no capital letter in the middle of a word); invalid bytes score 0. The best
 * mean wins; ties prefer UTF-8, then TCVN3, then VNI, then Latin-1. A column
 * of plain ASCII is UTF-8 with confidence 1 (every candidate reads it the
 * same). *confidence (may be NULL) is in [0, 1]: the winner's score, scaled
 * down when the runner-up comes within 0.25 of it; below about 0.5 the
 * importer should ask for an explicit encoding. */
vnenc_kind vnenc_detect(const char *const *samples, const size_t *lens, size_t n,
                        double *confidence);

/* NFC-normalises len bytes of UTF-8 into a new NUL-terminated string.
 * NULL with errno EILSEQ for invalid UTF-8 (or a NUL byte), ENOMEM when out
 * of memory. The caller frees the result with free(). */
char *vnenc_nfc(const char *utf8, size_t len);

/* The canonical name of a kind: "utf-8", "tcvn3", "vni", "latin1". */
const char *vnenc_name(vnenc_kind kind);

/* Parses a name, case-insensitively: "utf-8"/"utf8"; "tcvn3"/"abc"/"tcvn"/
 * "vn3"/"tcvn5712-3"; "vni"/"vni-windows"/"vni-win"; "latin1"/"latin-1"/
 * "iso-8859-1"/"1252"/"cp1252"/"windows-1252". Returns 0 and sets *out, or
 * -1 for an unknown name (*out unchanged). */
int vnenc_parse_name(const char *name, vnenc_kind *out);

#ifdef __cplusplus
}
#endif
#endif /* PDB_VNENC_H */
