/*
 * fold.c: Vietnamese folding for the search index (fold.h). libunistring
 * does the Unicode work (canonical decomposition, case, character
 * classes), so that any spelling of a letter, precomposed or not, ends as
 * the same base letter; the code here only decides what to keep.
 */
#include "fold.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

char *pdb__fold(const char *text, size_t len)
{
    uint8_t *nfd = NULL;
    size_t nfd_len = 0;
    char *out = NULL;
    size_t n = 0;
    int pending_space = 0;

    if (text == NULL || len == 0)
        return strdup("");
    /* NFD splits every precomposed letter into its base and marks, so that
     * "ò" (U+00F2) and "o" + U+0300 become one spelling; the old and new
     * tone placements differ only in which vowel carries the mark, and
     * the marks are all dropped below. */
    nfd = u8_normalize(UNINORM_NFD, (const uint8_t *)text, len, NULL, &nfd_len);
    if (nfd == NULL) {
        /* Only on invalid input or no memory: fold the bytes as they are. */
        nfd = malloc(len);
        if (nfd == NULL)
            return NULL;
        memcpy(nfd, text, len);
        nfd_len = len;
    }
    /* Twice the NFD length: a few letters grow by a byte when lowered
     * (U+023A -> U+2C65), and a separator is at least one byte. */
    out = malloc(2 * nfd_len + 1);
    if (out == NULL)
        goto done;
    for (size_t i = 0; i < nfd_len;) {
        ucs4_t cp;
        int w = u8_mbtouc(&cp, nfd + i, nfd_len - i);
        i += (size_t)(w > 0 ? w : 1);
        if (cp == 0xFFFD && w <= 1)
            cp = ' '; /* an invalid byte separates words */
        if (uc_is_property_diacritic(cp) || uc_is_general_category(cp, UC_CATEGORY_Mn))
            continue; /* tone marks, breve, circumflex, horn: gone */
        if (cp == 0x0110 || cp == 0x0111)
            cp = 'd'; /* đ does not decompose: its stroke is part of the letter */
        if (!uc_is_alnum(cp)) {
            pending_space = n > 0;
            continue;
        }
        cp = uc_tolower(cp);
        if (pending_space) {
            out[n++] = ' ';
            pending_space = 0;
        }
        int k = u8_uctomb((uint8_t *)out + n, cp, (int)(2 * nfd_len - n));
        if (k <= 0)
            break; /* cannot happen: the buffer is twice the input */
        n += (size_t)k;
    }
    out[n] = '\0';
done:
    free(nfd);
    return out;
}

/* What one code point becomes in a fold, for pdb__fold_fast's table. */
enum {
    FOLD_SLOW, /* not in the table, or folds into more than one kind: pdb__fold */
    FOLD_DROP, /* a mark or diacritic: nothing, and no separation either */
    FOLD_SEP,  /* neither letter nor digit: separates words */
    FOLD_KEEP  /* a letter or digit: out[0..len) */
};

/* One code point's fold. */
typedef struct fold_entry {
    unsigned char kind; /* FOLD_* */
    unsigned char len;  /* bytes of out (FOLD_KEEP) */
    char out[6];        /* the lowered base letter, UTF-8 */
} fold_entry;

/* The ranges the table covers: Latin (Vietnamese and the other registers'
 * letters), the combining marks of NFD input, Latin Extended Additional
 * (Vietnamese precomposed vowels with tones). */
static const struct {
    uint32_t first, last; /* code points, inclusive */
    size_t base;          /* index of first in fold_table */
} fold_ranges[] = {{0x0000, 0x024F, 0}, {0x0300, 0x036F, 0x250}, {0x1E00, 0x1EFF, 0x2C0}};
#define FOLD_TABLE_SIZE 0x3C0

static fold_entry fold_table[FOLD_TABLE_SIZE];
static pthread_once_t fold_once = PTHREAD_ONCE_INIT;

static int fold_index(uint32_t cp)
{
    for (size_t r = 0; r < sizeof fold_ranges / sizeof fold_ranges[0]; r++)
        if (cp >= fold_ranges[r].first && cp <= fold_ranges[r].last)
            return (int)(fold_ranges[r].base + (cp - fold_ranges[r].first));
    return -1;
}

/* Fills the table from pdb__fold itself, so that both can only agree:
 * "a" + the code point + "a" folds to "aa" (dropped), "a a" (separator)
 * or "a" X "a" (kept as X); anything else (a space inside X, no memory)
 * leaves the code point to pdb__fold. */
static void fold_table_build(void)
{
    for (size_t r = 0; r < sizeof fold_ranges / sizeof fold_ranges[0]; r++)
        for (uint32_t cp = fold_ranges[r].first; cp <= fold_ranges[r].last; cp++) {
            fold_entry *e = &fold_table[fold_ranges[r].base + (cp - fold_ranges[r].first)];
            uint8_t in[8] = {'a'};
            int k = u8_uctomb(in + 1, cp, 4);
            e->kind = FOLD_SLOW;
            if (k <= 0)
                continue;
            in[1 + k] = 'a';
            char *f = pdb__fold((const char *)in, (size_t)k + 2);
            size_t n = f ? strlen(f) : 0;
            if (f == NULL || n < 2 || f[0] != 'a' || f[n - 1] != 'a') {
                free(f);
                continue;
            }
            if (n == 2)
                e->kind = FOLD_DROP;
            else if (n == 3 && f[1] == ' ')
                e->kind = FOLD_SEP;
            else if (n - 2 <= sizeof e->out && memchr(f + 1, ' ', n - 2) == NULL) {
                e->kind = FOLD_KEEP;
                e->len = (unsigned char)(n - 2);
                memcpy(e->out, f + 1, n - 2);
            }
            free(f);
        }
}

/* Makes *buf hold at least need bytes. */
static int fold_room(char **buf, size_t *cap, size_t need)
{
    if (*cap >= need)
        return 1;
    char *b = realloc(*buf, need);
    if (b == NULL)
        return 0;
    *buf = b;
    *cap = need;
    return 1;
}

int pdb__fold_fast_into(const char *text, size_t len, char **buf, size_t *cap)
{
    if (text == NULL)
        len = 0;
    /* Every code point is at least one byte and gives at most a space and
     * the 6 bytes of out. */
    if (!fold_room(buf, cap, 7 * len + 1))
        return 0;
    char *out = *buf;
    pthread_once(&fold_once, fold_table_build);
    const unsigned char *p = (const unsigned char *)text, *end = p + len;
    size_t n = 0;
    int pending_space = 0;
    while (p < end) {
        uint32_t cp;
        unsigned c = p[0];
        /* Only the encodings of the table's ranges; anything else, invalid
         * bytes included, goes to pdb__fold whole. */
        if (c < 0x80) {
            cp = c;
            p++;
        } else if (c >= 0xC2 && c <= 0xDF && end - p >= 2 && (p[1] & 0xC0) == 0x80) {
            cp = ((c & 0x1Fu) << 6) | (p[1] & 0x3Fu);
            p += 2;
        } else if (c == 0xE1 && end - p >= 3 && p[1] >= 0xB8 && p[1] <= 0xBB &&
                   (p[2] & 0xC0) == 0x80) {
            cp = ((c & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
            p += 3;
        } else
            goto slow;
        int i = fold_index(cp);
        if (i < 0)
            goto slow;
        const fold_entry *e = &fold_table[i];
        switch (e->kind) {
        case FOLD_DROP:
            continue;
        case FOLD_SEP:
            pending_space = n > 0;
            continue;
        case FOLD_KEEP:
            if (pending_space) {
                out[n++] = ' ';
                pending_space = 0;
            }
            memcpy(out + n, e->out, e->len);
            n += e->len;
            continue;
        default:
            goto slow;
        }
    }
    out[n] = '\0';
    return 1;
slow:;
    char *f = pdb__fold(text, len);
    size_t flen = f ? strlen(f) : 0;
    if (f == NULL || !fold_room(buf, cap, flen + 1)) {
        free(f);
        return 0;
    }
    memcpy(*buf, f, flen + 1);
    free(f);
    return 1;
}

char *pdb__fold_fast(const char *text, size_t len)
{
    char *buf = NULL;
    size_t cap = 0;
    if (!pdb__fold_fast_into(text, len, &buf, &cap)) {
        free(buf);
        return NULL;
    }
    return buf;
}
