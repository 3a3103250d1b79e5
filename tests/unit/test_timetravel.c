/*
 * test_timetravel.c: what a date a user types means (pdb_instant_parse):
 * a day is its last millisecond in UTC, an instant is padded to
 * milliseconds, and everything else, impossible days included, is refused
 * with one line that quotes it. The reads at a date are tested end to end
 * on both stores by tests/server/timetravel.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "parceldb.h"

static void parses_to(pdb_ctx *ctx, const char *text, const char *want)
{
    char out[PDB_INSTANT_LEN];
    pdb_status st = pdb_instant_parse(ctx, text, out);
    if (st != PDB_OK)
        fail_msg("'%s' refused: %s", text, pdb_errmsg(ctx));
    assert_string_equal(out, want);
}

static void refused(pdb_ctx *ctx, const char *text, const char *said)
{
    char out[PDB_INSTANT_LEN];
    assert_int_equal(pdb_instant_parse(ctx, text, out), PDB_EINVAL);
    assert_string_equal(out, "");
    const char *msg = pdb_errmsg(ctx);
    if (strstr(msg, said) == NULL)
        fail_msg("'%s': message '%s' lacks '%s'", text ? text : "(null)", msg, said);
    assert_null(strchr(msg, '\n'));
}

static void test_days(void **state)
{
    pdb_ctx *ctx = *state;
    parses_to(ctx, "2025-12-31", "2025-12-31T23:59:59.999Z");
    parses_to(ctx, "2024-02-29", "2024-02-29T23:59:59.999Z"); /* leap year */
    parses_to(ctx, "2000-02-29", "2000-02-29T23:59:59.999Z"); /* divisible by 400 */
    parses_to(ctx, "0001-01-01", "0001-01-01T23:59:59.999Z");
    refused(ctx, "2025-02-29", "2025-02 has 28 days");
    refused(ctx, "2100-02-29", "2100-02 has 28 days"); /* divisible by 100 */
    refused(ctx, "2025-04-31", "2025-04 has 30 days");
    refused(ctx, "2025-13-01", "'2025-13-01' is not a date YYYY-MM-DD");
    refused(ctx, "2025-00-10", "is not a date");
    refused(ctx, "2025-01-00", "is not a date");
    refused(ctx, "0000-01-01", "is not a date");
    refused(ctx, "2025-1-01", "is not a date");
    refused(ctx, "20251231", "is not a date");
    refused(ctx, "2025/12/31", "is not a date");
    refused(ctx, "2025-12-31 ", "is not a date");
    refused(ctx, "yesterday", "'yesterday' is not a date");
    refused(ctx, "", "empty date");
    refused(ctx, NULL, "empty date");
}

static void test_instants(void **state)
{
    pdb_ctx *ctx = *state;
    parses_to(ctx, "2025-12-31T16:59:59Z", "2025-12-31T16:59:59.000Z");
    parses_to(ctx, "2025-12-31T16:59:59.5Z", "2025-12-31T16:59:59.500Z");
    parses_to(ctx, "2025-12-31T16:59:59.05Z", "2025-12-31T16:59:59.050Z");
    parses_to(ctx, "2025-12-31T00:00:00.123Z", "2025-12-31T00:00:00.123Z");
    refused(ctx, "2025-12-31T16:59:59.1234Z", "is not a date");
    refused(ctx, "2025-12-31T16:59:59", "is not a date");       /* no zone: refused, not guessed */
    refused(ctx, "2025-12-31T16:59:59+07:00", "is not a date"); /* UTC only */
    refused(ctx, "2025-12-31T24:00:00Z", "is not a date");
    refused(ctx, "2025-12-31T12:60:00Z", "is not a date");
    refused(ctx, "2025-12-31T12:00Z", "is not a date");
    refused(ctx, "2025-12-31T12:00:00.Z", "is not a date");
    refused(ctx, "2025-12-31t12:00:00Z", "is not a date");
    refused(ctx, "2025-02-30T12:00:00Z", "2025-02 has 28 days");
}

/* Text order is time order: what the stores compare. */
static void test_order(void **state)
{
    pdb_ctx *ctx = *state;
    char day[PDB_INSTANT_LEN], late[PDB_INSTANT_LEN], next[PDB_INSTANT_LEN];
    assert_int_equal(pdb_instant_parse(ctx, "2025-12-31", day), PDB_OK);
    assert_int_equal(pdb_instant_parse(ctx, "2025-12-31T23:59:59.998Z", late), PDB_OK);
    assert_int_equal(pdb_instant_parse(ctx, "2026-01-01T00:00:00Z", next), PDB_OK);
    assert_true(strcmp(late, day) < 0);
    assert_true(strcmp(day, next) < 0);
}

static int setup(void **state)
{
    pdb_ctx *ctx = NULL;
    if (pdb_ctx_new(&ctx) != PDB_OK)
        return -1;
    *state = ctx;
    return 0;
}

static int teardown(void **state)
{
    pdb_ctx_free(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days),
        cmocka_unit_test(test_instants),
        cmocka_unit_test(test_order),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
