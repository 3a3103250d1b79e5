/*
 * test_search.c: the search's pure parts (fold.c, search.c): Vietnamese
 * folding of every spelling a register holds, the word limits, and the
 * FTS5 expressions, whose words must never become FTS5 syntax. The
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
        cmocka_unit_test(test_terms),
        cmocka_unit_test(test_fts5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
