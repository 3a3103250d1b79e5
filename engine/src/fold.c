/*
 * fold.c: Vietnamese folding for the search index (fold.h). libunistring
 * does the Unicode work (canonical decomposition, case, character
 * classes), so that any spelling of a letter, precomposed or not, ends as
 * the same base letter; the code here only decides what to keep.
 */
#include "fold.h"

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
