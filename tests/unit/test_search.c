/*
 * test_search.c: the search's pure parts (fold.c, search.c): Vietnamese
 * folding of every spelling a register holds, the fast fold against it,
 * the word limits, and the FTS5 expressions, whose words must never
 * become FTS5 syntax. The
 * expected folds are Python's unicodedata (NFD, marks dropped), written
 * out here because they are the definition of "accent-insensitive".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uninorm.h>
#include <unistr.h>

#include "fold.h"
#include "search.h"

static void fold_is(const char *in, const char *want)
{
    char *got = pdb__fold(in, strlen(in));
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_fold(void **state)
{
    (void)state;
    fold_is("Nguyễn Văn A", "nguyen van a");
    /* NFD: base letters and combining marks. */
    fold_is("Nguye\xcc\x82\xcc\x83n Va\xcc\x86n A", "nguyen van a");
    /* Old and new tone placement. */
    fold_is("Hoà", "hoa");
    fold_is("Hòa", "hoa");
    fold_is("THUỶ", "thuy");
    fold_is("Thủy", "thuy");
    /* đ does not decompose; ơ and ư carry a horn that does. */
    fold_is("Đặng Đức Thắng", "dang duc thang");
    fold_is("Phường Tân Hòa", "phuong tan hoa");
    fold_is("Ơn Ưng", "on ung");
    /* Separators: punctuation and runs of spaces become one space. */
    fold_is("  Khu 3,  Phường-Nông Trang. ", "khu 3 phuong nong trang");
    fold_is("", "");
    /* Invalid UTF-8 separates words; nothing is read past the end. */
    fold_is("ab\xff"
            "cd\xc3",
            "ab cd");
}

/* pdb__fold_fast must give pdb__fold's bytes for text. */
static void fast_is_fold(const char *text, size_t len)
{
    char *want = pdb__fold(text, len);
    char *got = pdb__fold_fast(text, len);
    assert_non_null(want);
    assert_non_null(got);
    if (strcmp(want, got) != 0)
        fail_msg("fold of %zu bytes '%.*s': pdb__fold '%s', pdb__fold_fast '%s'", len, (int)len,
                 text, want, got);
    free(want);
    free(got);
}

/* Every code point of the fast fold's table, alone and between letters,
 * and random strings of them, of code points outside it, of invalid
 * bytes, and their NFD spellings: byte-identical to pdb__fold. */
static void test_fold_fast(void **state)
{
    (void)state;
    static const uint32_t ranges[][2] = {{0x0000, 0x024F}, {0x0300, 0x036F}, {0x1E00, 0x1EFF}};
    /* Outside the table: Greek, Cyrillic, CJK, a combining mark of
     * another block, an emoji, the replacement character. */
    static const uint32_t others[] = {0x0391, 0x03B1, 0x0416, 0x4E2D, 0x20DD, 0x1F600, 0xFFFD};
    uint8_t buf[256];
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++)
        for (uint32_t cp = ranges[r][0]; cp <= ranges[r][1]; cp++) {
            int k = u8_uctomb(buf + 1, cp, 4);
            assert_true(k > 0);
            fast_is_fold((const char *)buf + 1, (size_t)k);
            buf[0] = 'x';
            buf[1 + k] = 'y';
            fast_is_fold((const char *)buf, (size_t)k + 2);
            buf[0] = ' ';
            buf[1 + k] = 0xCC; /* U+0301 after it */
            buf[2 + k] = 0x81;
            fast_is_fold((const char *)buf, (size_t)k + 3);
        }
    /* A fixed seed: the same strings every run. */
    uint64_t seed = 0x9E3779B97F4A7C15u;
    for (int round = 0; round < 20000; round++) {
        size_t len = 0;
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        int ncp = (int)(seed >> 60);
        for (int i = 0; i < ncp && len + 4 < 64; i++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            uint32_t pick = (uint32_t)(seed >> 33), cp;
            if (pick % 50 == 0) {
                buf[len++] = (uint8_t)(0x80 + pick % 128); /* an invalid byte */
                continue;
            }
            if (pick % 40 == 1)
                cp = others[(pick / 40) % (sizeof others / sizeof others[0])];
            else if (pick % 4 == 0)
                cp = ' ' + (pick / 4) % 95; /* ASCII, punctuation included */
            else {
                size_t r = (pick / 4) % 3;
                cp = ranges[r][0] + (pick / 16) % (ranges[r][1] - ranges[r][0] + 1);
            }
            len += (size_t)u8_uctomb(buf + len, cp, 4);
        }
        fast_is_fold((const char *)buf, len);
        size_t nfd_len = 0;
        uint8_t *nfd = u8_normalize(UNINORM_NFD, buf, len, NULL, &nfd_len);
        if (nfd != NULL) /* NULL for the strings with invalid bytes */
            fast_is_fold((const char *)nfd, nfd_len);
        free(nfd);
    }
    /* The registers' own spellings. */
    static const char *const names[] = {"Nguyễn Văn A",
                                        "Nguye\xcc\x82\xcc\x83n Va\xcc\x86n A",
                                        "Hoà",
                                        "THUỶ",
                                        "Đặng Đức Thắng",
                                        "  Khu 3,  Phường-Nông. ",
                                        "ab\xff"
                                        "cd\xc3"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        fast_is_fold(names[i], strlen(names[i]));
    char *empty = pdb__fold_fast(NULL, 0);
    assert_string_equal(empty, "");
    free(empty);
}

static void test_terms(void **state)
{
    (void)state;
    pdb_ctx *ctx = NULL;
    pdb__search_terms t;
    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);

    assert_int_equal(pdb__search_terms_parse(ctx, "Nguyễn  Văn A", &t), PDB_OK);
    assert_int_equal(t.n, 3);
    assert_string_equal(t.w[2], "a");
    assert_int_equal(pdb__search_terms_parse(ctx, "!!! ...", &t), PDB_OK);
    assert_int_equal(t.n, 0);
    assert_int_equal(pdb__search_terms_parse(ctx, NULL, &t), PDB_OK);
    assert_int_equal(t.n, 0);
    assert_int_equal(pdb__search_terms_parse(ctx, "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", &t),
                     PDB_OK);
    assert_int_equal(t.n, 16);
    assert_int_equal(pdb__search_terms_parse(ctx, "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", &t),
                     PDB_ELIMIT);
    char word[80];
    memset(word, 'a', 64);
    word[64] = '\0';
    assert_int_equal(pdb__search_terms_parse(ctx, word, &t), PDB_ELIMIT);
    word[63] = '\0';
    assert_int_equal(pdb__search_terms_parse(ctx, word, &t), PDB_OK);
    pdb_ctx_free(ctx);
}

static void test_fts5(void **state)
{
    (void)state;
    pdb_ctx *ctx = NULL;
    pdb__search_terms t;
    char buf[256];
    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    /* FTS5 operators and quotes in the user's text stay words. */
    assert_int_equal(pdb__search_terms_parse(ctx, "\"AND\" or* NEAR(", &t), PDB_OK);
    buf[0] = '\0';
    /* Each column's words carry its tag: owner "o", address "a". */
    assert_true(pdb__search_fts5_group(&t, PDB_SEARCH_PHRASE, "o", buf, sizeof buf) > 0);
    assert_string_equal(buf, "\"oand oor onear\"");
    buf[0] = '\0';
    assert_true(pdb__search_fts5_group(&t, PDB_SEARCH_WORDS, "a", buf, sizeof buf) > 0);
    assert_string_equal(buf, "\"aand\" AND \"aor\" AND \"anear\"");
    buf[0] = '\0';
    assert_true(pdb__search_fts5_group(&t, PDB_SEARCH_PREFIX, "oa", buf, sizeof buf) > 0);
    assert_string_equal(buf, "(\"oand\"* OR \"aand\"*) AND (\"oor\"* OR \"aor\"*) AND "
                             "(\"onear\"* OR \"anear\"*)");
    buf[0] = '\0';
    assert_true(pdb__search_fts5_group(&t, PDB_SEARCH_PHRASE, "oa", buf, sizeof buf) > 0);
    assert_string_equal(buf, "(\"oand oor onear\" OR \"aand aor anear\")");
    /* Too small a buffer: 0, never a cut expression. */
    char small[12] = "";
    assert_int_equal(pdb__search_fts5_group(&t, PDB_SEARCH_WORDS, "o", small, sizeof small), 0);
    pdb_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_fold_fast),
        cmocka_unit_test(test_terms),
        cmocka_unit_test(test_fts5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
