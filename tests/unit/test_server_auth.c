/*
 * test_server_auth.c: bearer token files (plain tokens and sha256: hashes),
 * their limits, and the check against a presented token.
 */
#include "auth.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four above, which it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char err[256];

static pdb_srv_tokens *parse_ok(const char *text)
{
    pdb_srv_tokens *t = NULL;
    if (pdb_srv_tokens_parse(text, strlen(text), "tokens", &t, err, sizeof err) != 0)
        fail_msg("tokens rejected: %s", err);
    return t;
}

static void test_sha256_vector(void **state)
{
    (void)state;
    /* FIPS 180-2 appendix B.1. */
    unsigned char h[PDB_SRV_SHA256_SIZE];
    static const unsigned char want[PDB_SRV_SHA256_SIZE] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    pdb_srv_sha256("abc", 3, h);
    assert_memory_equal(h, want, sizeof want);
}

static void test_plain_and_hashed(void **state)
{
    (void)state;
    /* The hashed entry is SHA-256("abc") (the FIPS vector): the token
     * "abc" matches it, though "abc" would be too short to list plainly. */
    pdb_srv_tokens *t =
        parse_ok("# tokens for the land office\n"
                 "\n"
                 "officer-token-0001 Nguyen's laptop\r\n"
                 "   second.token_with~chars+/==   \n"
                 "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD label\n");
    assert_int_equal(pdb_srv_tokens_count(t), 3);
    assert_true(pdb_srv_tokens_check(t, "officer-token-0001", 18));
    assert_true(pdb_srv_tokens_check(t, "second.token_with~chars+/==", 27));
    assert_true(pdb_srv_tokens_check(t, "abc", 3));                   /* the hashed entry */
    assert_false(pdb_srv_tokens_check(t, "officer-token-000", 17));   /* a prefix */
    assert_false(pdb_srv_tokens_check(t, "officer-token-00012", 19)); /* longer */
    assert_false(pdb_srv_tokens_check(t, "Officer-token-0001", 18));
    assert_false(pdb_srv_tokens_check(t, "", 0));
    assert_false(pdb_srv_tokens_check(t, NULL, 5));
    assert_false(pdb_srv_tokens_check(NULL, "abc", 3));
    pdb_srv_tokens_free(t);

    t = parse_ok("# nothing\n\n");
    assert_int_equal(pdb_srv_tokens_count(t), 0);
    assert_false(pdb_srv_tokens_check(t, "anything-at-all-here", 20));
    pdb_srv_tokens_free(t);
}

/* Roles from the label (issue 16): read, personal, write; none is personal
 * (files made before roles keep their meaning); the name is the first word
 * that is not a role; another role is refused with its line. */
static void test_roles(void **state)
{
    (void)state;
    pdb_srv_role role = 0;
    pdb_srv_tokens *t = parse_ok("writer-token-00001 officer role=write\n"
                                 "reader-token-00001 role=read map-app\n"
                                 "clerk-token-000001 clerk\n"
                                 "nameless-token-001 role=personal\n");
    assert_string_equal(pdb_srv_tokens_find_role(t, "writer-token-00001", 18, &role), "officer");
    assert_int_equal(role, PDB_SRV_ROLE_WRITE);
    assert_string_equal(pdb_srv_tokens_find_role(t, "reader-token-00001", 18, &role), "map-app");
    assert_int_equal(role, PDB_SRV_ROLE_READ);
    assert_string_equal(pdb_srv_tokens_find_role(t, "clerk-token-000001", 18, &role), "clerk");
    assert_int_equal(role, PDB_SRV_ROLE_PERSONAL);
    assert_string_equal(pdb_srv_tokens_find_role(t, "nameless-token-001", 18, &role), "line 4");
    assert_int_equal(role, PDB_SRV_ROLE_PERSONAL);
    role = PDB_SRV_ROLE_READ;
    assert_null(pdb_srv_tokens_find_role(t, "unknown-token-0001", 18, &role));
    assert_int_equal(role, PDB_SRV_ROLE_READ); /* left alone */
    pdb_srv_tokens_free(t);
    pdb_srv_tokens *bad = NULL;
    const char *text = "ok-token-number-0001 a\nok-token-number-0002 b role=admin\n";
    assert_int_equal(pdb_srv_tokens_parse(text, strlen(text), "f", &bad, err, sizeof err), -1);
    assert_null(bad);
    assert_non_null(strstr(err, "f:2: the role must be"));

    /* A token listed several times: the last line's name and role, never
     * an index past the end (two matches' indices ORed together were). */
    /* Lines 3 and 5 match: 3 | 5 is 7, past the 5 tokens. */
    t = parse_ok("other-token-000001 a\nother-token-000002 b\nsame-token-0000001 c role=write\n"
                 "other-token-000003 d\nsame-token-0000001 e role=read\n");
    assert_string_equal(pdb_srv_tokens_find_role(t, "same-token-0000001", 18, &role), "e");
    assert_int_equal(role, PDB_SRV_ROLE_READ);
    pdb_srv_tokens_free(t);
}

static void test_bad_files(void **state)
{
    (void)state;
    const char *bad[] = {
        "short\n",                          /* under 16 characters */
        "good-token-number-1\nbad token\n", /* "bad" is short */
        "sha256:abcd\n",                    /* not 64 hex digits */
        "sha256:ZZ7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD\n",
        "token-with-a-quote\"-in-it\n",
        "tökén-with-accents-é\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pdb_srv_tokens *t = NULL;
        if (pdb_srv_tokens_parse(bad[i], strlen(bad[i]), "f", &t, err, sizeof err) == 0)
            fail_msg("accepted: %s", bad[i]);
        assert_null(t);
        assert_non_null(strstr(err, "f:"));
    }
    /* The line number is right. */
    pdb_srv_tokens *t = NULL;
    const char *text = "# a\nok-token-number-0001\n\nno\n";
    assert_int_equal(pdb_srv_tokens_parse(text, strlen(text), "f", &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "f:4:"));
    /* A NUL inside the text is refused, not truncated. */
    const char nul[] = "token-number-00001\0xx\n";
    assert_int_equal(pdb_srv_tokens_parse(nul, sizeof nul - 1, "f", &t, err, sizeof err), -1);
    /* A missing file names itself. */
    assert_int_equal(pdb_srv_tokens_load("/nonexistent/tokens", &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/tokens"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vector),
        cmocka_unit_test(test_plain_and_hashed),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_roles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
