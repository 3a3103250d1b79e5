/*
 * vnenc.c: Vietnamese legacy encodings <-> UTF-8 (NFC), and detection.
 *
 * Which library does what, and why the rest is written here:
 *  - NFC, UTF-8 checks, case mapping and character classes: GNU libunistring
 *    (u8_normalize, u8_check, uc_tolower), the well-kept implementation of
 *    the Unicode algorithms; nothing of it is re-implemented here.
 *  - Windows-1252 ("latin1"): glibc iconv.
 *  - TCVN3 (ABC, VN3): no library has it. glibc's "TCVN5712-1" is the VN1
 *    variant of the same standard: it agrees with VN3 on every byte VN3
 *    assigns (tests/unit/test_vnenc.c checks that against glibc), but it
 *    also puts the 60 toned capitals in 0x01-0x17, 0x80-0x9F and free slots
 *    of 0xA0-0xFF, where .VnTime fonts draw nothing, and its encoder emits
 *    base letter + combining byte for what it cannot precompose. Encoding
 *    with it would write bytes no VN3 reader shows, and decoding with it
 *    would accept Windows-1252 punctuation as capitals and weaken detection.
 *    So the 74 VN3 codes are a table below.
 *  - VNI-Windows: no library has it (neither glibc, GNU libiconv nor ICU);
 *    it is a table below too.
 * The precomposed code points themselves are not typed by hand: they are
 * composed from base vowel + combining tone mark with libunistring's NFC at
 * first use, so the tables below only hold the legacy bytes.
 */
#include "vnenc.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

/* ------------------------------------------------------------------------ */
/* The Vietnamese letters                                                    */
/* ------------------------------------------------------------------------ */

/* The 12 vowels, lowercase, without tone: a ă â e ê i o ô ơ u ư y. */
enum { V_A, V_AW, V_AA, V_E, V_EE, V_I, V_O, V_OO, V_OW, V_U, V_UW, V_Y, V_COUNT, V_DD = V_COUNT };

/* clang-format off */
static const ucs4_t vowel_cp[V_COUNT] = {
    0x0061, 0x0103, 0x00E2, 0x0065, 0x00EA, 0x0069,
    0x006F, 0x00F4, 0x01A1, 0x0075, 0x01B0, 0x0079,
};

/* Tones in the order the tables use: none, huyền (grave), sắc (acute),
 * hỏi (hook above), ngã (tilde), nặng (dot below). */
enum { T_NONE, T_GRAVE, T_ACUTE, T_HOOK, T_TILDE, T_DOT, T_COUNT };

static const ucs4_t tone_mark[T_COUNT] = {0, 0x0300, 0x0301, 0x0309, 0x0303, 0x0323};

/* TCVN3 (VN3) codes of the lowercase vowels [vowel][tone]; tone 0 of a, e,
 * i, o, u, y is the ASCII letter. */
static const unsigned char tcvn3_lower[V_COUNT][T_COUNT] = {
    [V_A] = {'a', 0xB5, 0xB8, 0xB6, 0xB7, 0xB9},
    [V_AW] = {0xA8, 0xBB, 0xBE, 0xBC, 0xBD, 0xC6},
    [V_AA] = {0xA9, 0xC7, 0xCA, 0xC8, 0xC9, 0xCB},
    [V_E] = {'e', 0xCC, 0xD0, 0xCE, 0xCF, 0xD1},
    [V_EE] = {0xAA, 0xD2, 0xD5, 0xD3, 0xD4, 0xD6},
    [V_I] = {'i', 0xD7, 0xDD, 0xD8, 0xDC, 0xDE},
    [V_O] = {'o', 0xDF, 0xE3, 0xE1, 0xE2, 0xE4},
    [V_OO] = {0xAB, 0xE5, 0xE8, 0xE6, 0xE7, 0xE9},
    [V_OW] = {0xAC, 0xEA, 0xED, 0xEB, 0xEC, 0xEE},
    [V_U] = {'u', 0xEF, 0xF3, 0xF1, 0xF2, 0xF4},
    [V_UW] = {0xAD, 0xF5, 0xF8, 0xF6, 0xF7, 0xF9},
    [V_Y] = {'y', 0xFA, 0xFD, 0xFB, 0xFC, 0xFE},
};
/* clang-format on */
/* The only capitals VN3 has: Ă Â Ê Ô Ơ Ư (untoned) and Đ; đ is 0xAE. */
#define TCVN3_DD_LOWER 0xAE
#define TCVN3_DD_UPPER 0xA7
static const unsigned char tcvn3_upper_untoned[V_COUNT] = {
    [V_AW] = 0xA1, [V_AA] = 0xA2, [V_EE] = 0xA3, [V_OO] = 0xA4, [V_OW] = 0xA5, [V_UW] = 0xA6,
};

/* VNI-Windows, lowercase. A toned or modified vowel is a base byte followed
 * by a diacritic byte; the capital form uses the capital base letter and the
 * diacritic byte minus 0x20. ơ and ư are single bytes (0xF4, 0xF6) that take
 * a tone byte; i with a tone and ỵ are single bytes; đ is 0xF1. */
static const unsigned char vni_plain_marks[T_COUNT] = {0, 0xF8, 0xF9, 0xFB, 0xF5, 0xEF};
static const unsigned char vni_circ_marks[T_COUNT] = {0xE2, 0xE0, 0xE1, 0xE5, 0xE3, 0xE4};
static const unsigned char vni_breve_marks[T_COUNT] = {0xEA, 0xE8, 0xE9, 0xFA, 0xFC, 0xEB};
static const unsigned char vni_i_single[T_COUNT] = {'i', 0xEC, 0xED, 0xE6, 0xF3, 0xF2};
#define VNI_Y_DOT 0xEE
#define VNI_DD 0xF1
#define VNI_OW 0xF4
#define VNI_UW 0xF6
#define VNI_CASE 0x20 /* capital byte = lowercase byte - 0x20 */

/* One letter of the alphabet with its analysis, for code point lookups. */
typedef struct vn_letter {
    ucs4_t cp;     /* precomposed code point (NFC) */
    uint8_t vowel; /* V_A..V_Y, or V_DD for đ/Đ */
    uint8_t tone;  /* T_NONE..T_DOT */
    uint8_t upper; /* 1 for the capital letter */
} vn_letter;

#define LETTER_COUNT (V_COUNT * T_COUNT * 2 + 2)

static struct {
    vn_letter letters[LETTER_COUNT]; /* sorted by cp, for bsearch */
    ucs4_t toned[V_COUNT][T_COUNT];  /* lowercase precomposed code points */
    ucs4_t tcvn3_decode[256];        /* 0 = not assigned in VN3 */
    int ok;                          /* 1 when the tables were built */
} tables;

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static int letter_cmp(const void *a, const void *b)
{
    const vn_letter *x = a, *y = b;
    return (x->cp > y->cp) - (x->cp < y->cp);
}

/* Composes base + combining mark with NFC; 0 if it does not give one code
 * point (which would mean a broken libunistring). */
static ucs4_t compose(ucs4_t base, ucs4_t mark)
{
    ucs4_t in[2] = {base, mark}, out[4];
    size_t n = 4;

    if (mark == 0)
        return base;
    if (u32_normalize(UNINORM_NFC, in, 2, out, &n) == NULL || n != 1)
        return 0;
    return out[0];
}

static void build_tables(void)
{
    size_t k = 0;

    for (int v = 0; v < V_COUNT; v++) {
        for (int t = 0; t < T_COUNT; t++) {
            ucs4_t lo = compose(vowel_cp[v], tone_mark[t]);
            ucs4_t up = uc_toupper(lo);
            if (lo == 0 || up == lo)
                return; /* tables.ok stays 0: every call fails with ENOMEM-like EILSEQ */
            tables.toned[v][t] = lo;
            tables.letters[k++] = (vn_letter){lo, (uint8_t)v, (uint8_t)t, 0};
            tables.letters[k++] = (vn_letter){up, (uint8_t)v, (uint8_t)t, 1};
            tables.tcvn3_decode[tcvn3_lower[v][t]] = lo;
        }
        if (tcvn3_upper_untoned[v] != 0)
            tables.tcvn3_decode[tcvn3_upper_untoned[v]] = uc_toupper(vowel_cp[v]);
    }
    tables.letters[k++] = (vn_letter){0x0111, V_DD, T_NONE, 0};
    tables.letters[k++] = (vn_letter){0x0110, V_DD, T_NONE, 1};
    tables.tcvn3_decode[TCVN3_DD_LOWER] = 0x0111;
    tables.tcvn3_decode[TCVN3_DD_UPPER] = 0x0110;
    for (unsigned b = 1; b < 0x80; b++)
        tables.tcvn3_decode[b] = b;
    qsort(tables.letters, k, sizeof tables.letters[0], letter_cmp);
    tables.ok = (k == LETTER_COUNT);
}

static int tables_ready(void)
{
    pthread_once(&tables_once, build_tables);
    return tables.ok;
}

static const vn_letter *letter_find(ucs4_t cp)
{
    vn_letter key = {.cp = cp};
    return bsearch(&key, tables.letters, LETTER_COUNT, sizeof key, letter_cmp);
}

/* ------------------------------------------------------------------------ */
/* A growable byte buffer                                                    */
/* ------------------------------------------------------------------------ */

typedef struct buf {
    char *p;    /* malloc'd bytes, NUL-terminated once finished */
    size_t n;   /* bytes used */
    size_t cap; /* bytes allocated */
    int oom;    /* 1 after an allocation failed */
} buf;

static int buf_reserve(buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->n + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap * 2 : 64;
    while (cap < b->n + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void buf_byte(buf *b, unsigned char c)
{
    if (buf_reserve(b, 1) == 0)
        b->p[b->n++] = (char)c;
}

static void buf_cp(buf *b, ucs4_t cp)
{
    if (buf_reserve(b, 6) == 0) {
        int w = u8_uctomb((uint8_t *)b->p + b->n, cp, 6);
        if (w > 0)
            b->n += (size_t)w;
    }
}

/* Finishes the buffer: the NUL-terminated string, or NULL (errno set) after
 * an allocation failure or when `bad` says the input was invalid. */
static char *buf_finish(buf *b, int bad, size_t *len_out)
{
    if (!bad && buf_reserve(b, 0) == 0) {
        b->p[b->n] = '\0';
        if (len_out)
            *len_out = b->n;
        return b->p;
    }
    free(b->p);
    errno = bad ? EILSEQ : ENOMEM;
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* NFC                                                                       */
/* ------------------------------------------------------------------------ */

/* Whether valid UTF-8 is already NFC for certain: every code point below
 * U+0300 (ASCII, Latin-1, Latin Extended-A and -B, spacing modifiers) or
 * in Latin Extended Additional (U+1E00-U+1EFF, where Vietnamese's
 * precomposed vowels are). None of these is a combining mark or changes
 * under NFC, and no two of them compose (checked against Python's
 * unicodedata, all pairs); most Vietnamese text then skips
 * u8_normalize, a fifth of the reading thread's work in an import. */
static int nfc_for_sure(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
        } else if (c >= 0xC2 && c <= 0xCB) { /* U+0080-U+02FF */
            i += 2;
        } else if (c == 0xE1 && i + 1 < len && s[i + 1] >= 0xB8 && s[i + 1] <= 0xBB) {
            i += 3; /* U+1E00-U+1EFF */
        } else {
            return 0;
        }
    }
    return 1;
}

char *vnenc_nfc(const char *utf8, size_t len)
{
    const uint8_t *s = (const uint8_t *)utf8;
    size_t n = 0;
    uint8_t *out;
    char *res;

    if (utf8 == NULL || u8_check(s, len) != NULL || memchr(s, '\0', len) != NULL) {
        errno = EILSEQ;
        return NULL;
    }
    if (nfc_for_sure(s, len)) {
        if ((res = malloc(len + 1)) == NULL) {
            errno = ENOMEM;
            return NULL;
        }
        memcpy(res, s, len);
        res[len] = '\0';
        return res;
    }
    out = u8_normalize(UNINORM_NFC, s, len, NULL, &n);
    if (out == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    res = realloc(out, n + 1);
    if (res == NULL) {
        free(out);
        errno = ENOMEM;
        return NULL;
    }
    res[n] = '\0';
    return res;
}

/* ------------------------------------------------------------------------ */
/* Decoding                                                                  */
/* ------------------------------------------------------------------------ */

static char *tcvn3_to_utf8(const unsigned char *s, size_t len)
{
    buf b = {0};
    int bad = 0;

    for (size_t i = 0; i < len && !bad; i++) {
        ucs4_t cp = tables.tcvn3_decode[s[i]];
        if (cp == 0)
            bad = 1;
        else
            buf_cp(&b, cp);
    }
    return buf_finish(&b, bad, NULL);
}

/* Which diacritic groups may follow a VNI base byte. */
enum { VNI_PLAIN = 1, VNI_CIRC = 2, VNI_BREVE = 4 };

/* Reads a VNI diacritic byte: its group and tone, and whether it is the
 * capital form. Returns 0 when c is not a diacritic byte. */
static int vni_mark(unsigned char c, int *group, int *tone)
{
    unsigned char lo = (c >= 0xC0 && c < 0xE0) ? (unsigned char)(c + VNI_CASE) : c;

    if (c < 0xC0)
        return 0;
    for (int t = 0; t < T_COUNT; t++) {
        if (t > 0 && lo == vni_plain_marks[t]) {
            *group = VNI_PLAIN;
            *tone = t;
            return 1;
        }
        if (lo == vni_circ_marks[t]) {
            *group = VNI_CIRC;
            *tone = t;
            return 1;
        }
        if (lo == vni_breve_marks[t]) {
            *group = VNI_BREVE;
            *tone = t;
            return 1;
        }
    }
    return 0;
}

/* A VNI byte that is a letter by itself (ơ ư đ, toned i, ỵ), lowercase or
 * capital; returns 0 when it is not one. */
static ucs4_t vni_single(unsigned char c, int *vowel, int *tone, int *upper)
{
    unsigned char lo = (c >= 0xC0 && c < 0xE0) ? (unsigned char)(c + VNI_CASE) : c;

    if (c < 0xC0)
        return 0;
    *upper = (c < 0xE0);
    *tone = T_NONE;
    if (lo == VNI_DD)
        return *upper ? 0x0110 : 0x0111;
    if (lo == VNI_OW || lo == VNI_UW) {
        *vowel = (lo == VNI_OW) ? V_OW : V_UW;
        return 1;
    }
    if (lo == VNI_Y_DOT) {
        *vowel = V_Y;
        *tone = T_DOT;
        return 1;
    }
    for (int t = T_GRAVE; t < T_COUNT; t++) {
        if (lo == vni_i_single[t]) {
            *vowel = V_I;
            *tone = t;
            return 1;
        }
    }
    return 0;
}

static ucs4_t letter_cp(int vowel, int tone, int upper)
{
    ucs4_t lo = tables.toned[vowel][tone];
    return upper ? uc_toupper(lo) : lo;
}

/* The vowel a VNI ASCII base letter stands for, and the diacritic groups it
 * takes; -1 when it is not a vowel. */
static int vni_base(unsigned char c, int *groups)
{
    switch (c | 0x20) {
    case 'a':
        *groups = VNI_PLAIN | VNI_CIRC | VNI_BREVE;
        return V_A;
    case 'e':
        *groups = VNI_PLAIN | VNI_CIRC;
        return V_E;
    case 'o':
        *groups = VNI_PLAIN | VNI_CIRC;
        return V_O;
    case 'u':
        *groups = VNI_PLAIN;
        return V_U;
    case 'y':
        *groups = VNI_PLAIN;
        return V_Y;
    case 'i':
        *groups = VNI_PLAIN;
        return V_I; /* i + tone byte: seen in the wild */
    default:
        return -1;
    }
}

static char *vni_to_utf8(const unsigned char *s, size_t len)
{
    buf b = {0};
    int bad = 0;

    for (size_t i = 0; i < len && !bad; i++) {
        unsigned char c = s[i];
        int groups = 0, group = 0, tone = 0, vowel = 0, upper = 0;

        if (c == 0) {
            bad = 1;
        } else if (c < 0x80) {
            int v = vni_base(c, &groups);
            if (v >= 0 && i + 1 < len && vni_mark(s[i + 1], &group, &tone) && (groups & group)) {
                if (group == VNI_CIRC)
                    v = (v == V_A) ? V_AA : (v == V_E) ? V_EE : V_OO;
                else if (group == VNI_BREVE)
                    v = V_AW;
                buf_cp(&b, letter_cp(v, tone, c < 'a'));
                i++;
            } else {
                buf_byte(&b, c);
            }
        } else {
            ucs4_t cp = vni_single(c, &vowel, &tone, &upper);
            if (cp == 0) {
                bad = 1; /* a diacritic with no vowel before it, or an unused byte */
            } else if (cp != 1) {
                buf_cp(&b, cp); /* đ, Đ */
            } else if ((vowel == V_OW || vowel == V_UW) && i + 1 < len &&
                       vni_mark(s[i + 1], &group, &tone) && group == VNI_PLAIN) {
                buf_cp(&b, letter_cp(vowel, tone, upper));
                i++;
            } else {
                buf_cp(&b, letter_cp(vowel, tone, upper));
            }
        }
    }
    return buf_finish(&b, bad, NULL);
}

/* Windows-1252 through iconv; the five bytes 1252 leaves undefined become
 * the C1 controls of the same value, as the WHATWG decoder does. */
static char *latin1_to_utf8(const unsigned char *s, size_t len)
{
    buf b = {0};
    iconv_t cd = iconv_open("UTF-8", "CP1252");
    char *in = (char *)s;
    size_t inleft = len;
    int bad = 0;

    if (cd == (iconv_t)-1) {
        errno = ENOMEM;
        return NULL;
    }
    if (memchr(s, '\0', len) != NULL)
        bad = 1;
    while (!bad && inleft > 0) {
        if (buf_reserve(&b, inleft * 3 + 4) != 0)
            break;
        char *out = b.p + b.n;
        size_t outleft = b.cap - b.n - 1;
        size_t r = iconv(cd, &in, &inleft, &out, &outleft);
        b.n = (size_t)(out - b.p);
        if (r == (size_t)-1 && errno == EILSEQ) {
            buf_cp(&b, (unsigned char)*in);
            in++;
            inleft--;
        } else if (r == (size_t)-1 && errno != E2BIG) {
            bad = 1;
        }
    }
    iconv_close(cd);
    return buf_finish(&b, bad, NULL);
}

char *vnenc_to_utf8(const char *bytes, size_t len, vnenc_kind from)
{
    const unsigned char *s = (const unsigned char *)bytes;

    if (bytes == NULL) {
        errno = EINVAL;
        return NULL;
    }
    if (!tables_ready()) {
        errno = ENOMEM;
        return NULL;
    }
    switch (from) {
    case VNENC_UTF8:
        return vnenc_nfc(bytes, len);
    case VNENC_TCVN3:
        return tcvn3_to_utf8(s, len);
    case VNENC_VNI:
        return vni_to_utf8(s, len);
    case VNENC_LATIN1:
        return latin1_to_utf8(s, len);
    }
    errno = EINVAL;
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Encoding                                                                  */
/* ------------------------------------------------------------------------ */

static void tcvn3_put(buf *b, const vn_letter *l)
{
    if (l->vowel == V_DD)
        buf_byte(b, l->upper ? TCVN3_DD_UPPER : TCVN3_DD_LOWER);
    else if (l->upper && l->tone == T_NONE && tcvn3_upper_untoned[l->vowel] != 0)
        buf_byte(b, tcvn3_upper_untoned[l->vowel]);
    else if (l->upper && l->tone == T_NONE)
        buf_byte(b, (unsigned char)(tcvn3_lower[l->vowel][T_NONE] - 0x20)); /* ASCII */
    else
        buf_byte(b, tcvn3_lower[l->vowel][l->tone]); /* toned capitals fold (lossy) */
}

static void vni_put(buf *b, const vn_letter *l)
{
    unsigned char up = l->upper ? VNI_CASE : 0;
    const unsigned char *marks = vni_plain_marks;
    unsigned char base;

    switch (l->vowel) {
    case V_DD:
        buf_byte(b, (unsigned char)(VNI_DD - up));
        return;
    case V_I:
        if (l->tone == T_NONE)
            buf_byte(b, l->upper ? 'I' : 'i');
        else
            buf_byte(b, (unsigned char)(vni_i_single[l->tone] - up));
        return;
    case V_Y:
        if (l->tone == T_DOT) {
            buf_byte(b, (unsigned char)(VNI_Y_DOT - up));
            return;
        }
        base = 'y';
        break;
    case V_OW:
        buf_byte(b, (unsigned char)(VNI_OW - up));
        base = 0;
        break;
    case V_UW:
        buf_byte(b, (unsigned char)(VNI_UW - up));
        base = 0;
        break;
    case V_AW:
        base = 'a';
        marks = vni_breve_marks;
        break;
    case V_AA:
        base = 'a';
        marks = vni_circ_marks;
        break;
    case V_EE:
        base = 'e';
        marks = vni_circ_marks;
        break;
    case V_OO:
        base = 'o';
        marks = vni_circ_marks;
        break;
    default:
        base = (unsigned char)tcvn3_lower[l->vowel][T_NONE];
        break; /* a e o u */
    }
    if (base != 0)
        buf_byte(b, l->upper ? (unsigned char)(base - 0x20) : base);
    if (marks[l->tone] != 0)
        buf_byte(b, (unsigned char)(marks[l->tone] - up));
}

static char *latin1_from_utf8(const char *nfc, size_t len, size_t *len_out)
{
    buf b = {0};
    iconv_t cd = iconv_open("CP1252", "UTF-8");
    char *in = (char *)nfc;
    size_t inleft = len;
    int bad = 0;

    if (cd == (iconv_t)-1) {
        errno = ENOMEM;
        return NULL;
    }
    if (buf_reserve(&b, len) == 0) {
        char *out = b.p;
        size_t outleft = b.cap - 1;
        if (iconv(cd, &in, &inleft, &out, &outleft) == (size_t)-1)
            bad = 1;
        b.n = (size_t)(out - b.p);
    }
    iconv_close(cd);
    return buf_finish(&b, bad, len_out);
}

char *vnenc_from_utf8(const char *utf8, vnenc_kind to, size_t *len_out)
{
    char *nfc, *res;
    size_t len;
    buf b = {0};
    int bad = 0;

    if (utf8 == NULL) {
        errno = EINVAL;
        return NULL;
    }
    if (!tables_ready()) {
        errno = ENOMEM;
        return NULL;
    }
    nfc = vnenc_nfc(utf8, strlen(utf8));
    if (nfc == NULL)
        return NULL;
    len = strlen(nfc);
    if (to == VNENC_UTF8) {
        if (len_out)
            *len_out = len;
        return nfc;
    }
    if (to == VNENC_LATIN1) {
        res = latin1_from_utf8(nfc, len, len_out);
        free(nfc);
        return res;
    }
    if (to != VNENC_TCVN3 && to != VNENC_VNI) {
        free(nfc);
        errno = EINVAL;
        return NULL;
    }
    for (size_t i = 0; i < len && !bad;) {
        ucs4_t cp;
        int w = u8_mbtouc(&cp, (const uint8_t *)nfc + i, len - i);
        i += (size_t)w;
        if (cp < 0x80) {
            buf_byte(&b, (unsigned char)cp);
            continue;
        }
        const vn_letter *l = letter_find(cp);
        if (l == NULL)
            bad = 1;
        else if (to == VNENC_TCVN3)
            tcvn3_put(&b, l);
        else
            vni_put(&b, l);
    }
    free(nfc);
    return buf_finish(&b, bad, len_out);
}

/* ------------------------------------------------------------------------ */
/* Detection                                                                 */
/* ------------------------------------------------------------------------ */

/* Vietnamese syllable structure, on the lowercase untoned letters:
 * onset + vowel cluster + final consonant. Longest onsets first. */
static const char *const onsets[] = {
    "ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "qu", "th", "tr", "b", "c", "d",
    "đ",   "g",  "h",  "k",  "l",  "m",  "n",  "p",  "r",  "s",  "t",  "v", "x", "",
};
static const char *const finals[] = {"ng", "nh", "ch", "c", "m", "n", "p", "t", ""};
static const char *const clusters[] = {
    "a",   "ă",   "â",   "e",   "ê",   "i",   "o",   "ô",   "ơ",   "u",   "ư",   "y",   "ai", "ao",
    "au",  "ay",  "âu",  "ây",  "eo",  "êu",  "ia",  "iê",  "iu",  "oa",  "oă",  "oe",  "oi", "ôi",
    "ơi",  "oo",  "ua",  "uâ",  "uê",  "ui",  "uô",  "uơ",  "uy",  "ưa",  "ưi",  "ươ",  "ưu", "yê",
    "iêu", "oai", "oay", "oeo", "uây", "uôi", "ươi", "ươu", "uyê", "uya", "uyu", "yêu",
};

static int in_list(const char *s, size_t n, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(list[i]) == n && memcmp(list[i], s, n) == 0)
            return 1;
    return 0;
}

/* Whether the lowercase, untoned UTF-8 letters syl[0..n) form a syllable. */
static int syllable_shape_ok(const char *syl, size_t n)
{
    for (size_t o = 0; o < sizeof onsets / sizeof onsets[0]; o++) {
        size_t on = strlen(onsets[o]);
        if (on > n || memcmp(syl, onsets[o], on) != 0)
            continue;
        for (size_t f = 0; f < sizeof finals / sizeof finals[0]; f++) {
            size_t fn = strlen(finals[f]);
            if (on + fn > n || memcmp(syl + n - fn, finals[f], fn) != 0)
                continue;
            const char *nuc = syl + on;
            size_t nn = n - on - fn;
            if (nn == 0 && strcmp(onsets[o], "gi") == 0) /* "gì", "gìn": i is the vowel */
                return 1;
            if (nn > 0 && in_list(nuc, nn, clusters, sizeof clusters / sizeof clusters[0]))
                return 1;
        }
    }
    return 0;
}

/* Characters that decode as "letters" but never appear in Vietnamese words;
 * they are what TCVN3 bytes look like through Latin-1 (µ ª º). */
static int fake_letter(ucs4_t cp)
{
    return cp == 0x00B5 || cp == 0x00AA || cp == 0x00BA;
}

static int is_letter(ucs4_t cp)
{
    if (cp < 0x80)
        return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
    if (fake_letter(cp))
        return 0;
    return uc_is_alpha(cp) || uc_is_general_category(cp, UC_CATEGORY_M);
}

/* Non-ASCII characters that plain text holds without telling anything
 * about its encoding: no-break space, m² and degrees, dashes, quotes. */
static int neutral_symbol(ucs4_t cp)
{
    switch (cp) {
    case 0x00A0:
    case 0x00B0:
    case 0x00B2:
    case 0x00B3:
    case 0x2013:
    case 0x2014:
    case 0x2018:
    case 0x2019:
    case 0x201C:
    case 0x201D:
    case 0x2026:
        return 1;
    default:
        return 0;
    }
}

/* Letters only Vietnamese uses (ă đ ĩ ũ ơ ư and the Latin Extended
 * Additional block's Vietnamese range): a word that holds one but is no
 * Vietnamese syllable is mojibake, not a foreign name. */
static int vietnamese_only(ucs4_t cp)
{
    switch (cp) {
    case 0x0102:
    case 0x0103:
    case 0x0110:
    case 0x0111:
    case 0x0128:
    case 0x0129:
    case 0x0168:
    case 0x0169:
    case 0x01A0:
    case 0x01A1:
    case 0x01AF:
    case 0x01B0:
        return 1;
    default:
        return cp >= 0x1EA0 && cp <= 0x1EF9;
    }
}

static int is_latin_letter(ucs4_t cp)
{
    return (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) ||
           (cp >= 0x1E00 && cp <= 0x1EFF);
}

/* Scores one word (code points w[0..n), at least one non-ASCII): 1 for a
 * Vietnamese syllable, 0.25 for a plausible foreign word (Latin letters, none
 * of them Vietnamese-only), 0 for mojibake. */
static double word_score(const ucs4_t *w, size_t n)
{
    char syl[64];
    size_t sn = 0;
    int tones = 0, all_latin = 1, vietnamese = 1;

    for (size_t i = 0; i < n; i++) {
        /* A capital with diacritics right after a lowercase letter: mojibake. */
        if (i > 0 && w[i] >= 0x80 && uc_tolower(w[i]) != w[i] && uc_toupper(w[i - 1]) != w[i - 1])
            return 0.0;
        if (w[i] >= 0x80 && (!is_latin_letter(w[i]) || vietnamese_only(w[i])))
            all_latin = 0;
    }
    for (size_t i = 0; i < n && vietnamese; i++) {
        ucs4_t lo = uc_tolower(w[i]);
        ucs4_t base = lo;
        if (lo >= 0x80) {
            const vn_letter *l = letter_find(lo);
            if (l == NULL) {
                vietnamese = 0;
                break;
            }
            tones += (l->tone != T_NONE);
            base = (l->vowel == V_DD) ? 0x0111 : vowel_cp[l->vowel];
        } else if (lo < 'a' || lo > 'z') {
            vietnamese = 0;
            break;
        }
        if (sn + 6 >= sizeof syl) {
            vietnamese = 0;
            break;
        }
        int k = u8_uctomb((uint8_t *)syl + sn, base, 6);
        sn += (size_t)(k > 0 ? k : 0);
    }
    if (vietnamese && tones <= 1 && syllable_shape_ok(syl, sn))
        return 1.0;
    return all_latin ? 0.25 : 0.0;
}

/* Scores decoded NFC text: the mean over its scoring units (words with a
 * non-ASCII letter, and stray non-ASCII symbols, which score 0); -1 when it
 * has no unit at all. */
static double text_score(const char *s)
{
    size_t len = strlen(s);
    ucs4_t word[64];
    size_t wn = 0;
    int word_nonascii = 0;
    double sum = 0.0;
    int units = 0;

    for (size_t i = 0; i <= len;) {
        ucs4_t cp = 0;
        if (i < len) {
            int k = u8_mbtouc(&cp, (const uint8_t *)s + i, len - i);
            i += (size_t)(k > 0 ? k : 1);
        } else {
            i++; /* the end closes the last word */
        }
        if (cp != 0 && is_letter(cp)) {
            if (wn < sizeof word / sizeof word[0])
                word[wn++] = cp;
            else
                word_nonascii = 1; /* over-long words are scored as what they are */
            word_nonascii |= (cp >= 0x80);
            continue;
        }
        if (wn > 0 && word_nonascii) {
            sum += word_score(word, wn);
            units++;
        }
        wn = 0;
        word_nonascii = 0;
        if (cp >= 0x80 && !neutral_symbol(cp))
            units++; /* a stray symbol scores 0 */
    }
    return units > 0 ? sum / units : -1.0;
}

static int is_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 0;
    return 1;
}

vnenc_kind vnenc_detect(const char *const *samples, const size_t *lens, size_t n,
                        double *confidence)
{
    static const vnenc_kind order[] = {VNENC_UTF8, VNENC_TCVN3, VNENC_VNI, VNENC_LATIN1};
    double score[4] = {0, 0, 0, 0};
    size_t scored = 0;

    if (confidence)
        *confidence = 1.0;
    if (samples == NULL || lens == NULL || !tables_ready())
        return VNENC_UTF8;
    for (size_t i = 0; i < n; i++) {
        if (samples[i] == NULL || is_ascii(samples[i], lens[i]))
            continue;
        scored++;
        for (size_t k = 0; k < 4; k++) {
            char *u = vnenc_to_utf8(samples[i], lens[i], order[k]);
            double s = u ? text_score(u) : 0.0;
            score[k] += (s < 0.0) ? 1.0 : s; /* nothing to judge: neutral */
            free(u);
        }
    }
    if (scored == 0)
        return VNENC_UTF8;
    size_t best = 0, second = 1;
    for (size_t k = 0; k < 4; k++)
        score[k] /= (double)scored;
    for (size_t k = 1; k < 4; k++)
        if (score[k] > score[best] + 1e-9)
            best = k;
    second = (best == 0) ? 1 : 0;
    for (size_t k = 0; k < 4; k++)
        if (k != best && score[k] > score[second])
            second = k;
    if (confidence) {
        double margin = (score[best] - score[second]) / 0.25;
        *confidence = score[best] * (margin < 1.0 ? margin : 1.0);
    }
    return order[best];
}

/* ------------------------------------------------------------------------ */
/* Names                                                                     */
/* ------------------------------------------------------------------------ */

const char *vnenc_name(vnenc_kind kind)
{
    switch (kind) {
    case VNENC_UTF8:
        return "utf-8";
    case VNENC_TCVN3:
        return "tcvn3";
    case VNENC_VNI:
        return "vni";
    case VNENC_LATIN1:
        return "latin1";
    }
    return "unknown";
}

int vnenc_parse_name(const char *name, vnenc_kind *out)
{
    static const struct {
        const char *name;
        vnenc_kind kind;
    } names[] = {
        {"utf-8", VNENC_UTF8},          {"utf8", VNENC_UTF8},
        {"unicode", VNENC_UTF8},        {"tcvn3", VNENC_TCVN3},
        {"abc", VNENC_TCVN3},           {"tcvn", VNENC_TCVN3},
        {"vn3", VNENC_TCVN3},           {"tcvn5712-3", VNENC_TCVN3},
        {"tcvn-3", VNENC_TCVN3},        {"vni", VNENC_VNI},
        {"vni-windows", VNENC_VNI},     {"vni-win", VNENC_VNI},
        {"latin1", VNENC_LATIN1},       {"latin-1", VNENC_LATIN1},
        {"iso-8859-1", VNENC_LATIN1},   {"iso8859-1", VNENC_LATIN1},
        {"1252", VNENC_LATIN1},         {"cp1252", VNENC_LATIN1},
        {"windows-1252", VNENC_LATIN1},
    };

    if (name == NULL)
        return -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].kind;
            return 0;
        }
    }
    return -1;
}
