/*
 * test_server_response.c: the answer helpers of tiler/server/response.c;
 * here the "%.9f" writer a lookup's "query" echo uses, held to snprintf.
 */
#include "response.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <math.h>
#include <stdio.h>
#include <string.h>

static void check(double v)
{
    char want[512], got[PDB_SRV_FIXED9_MAX];
    if (!isfinite(v) || fabs(v) > 1e30)
        return; /* the echo is of lon/lat: finite and small */
    snprintf(want, sizeof want, "%.9f", v);
    size_t n = pdb_srv_fixed9(v, got);
    if (strcmp(want, got) != 0 || n != strlen(got))
        fail_msg("%.17g: printf \"%s\", pdb_srv_fixed9 \"%s\" (length %zu)", v, want, got, n);
}

static uint64_t state = 0x2545f4914f6cdd1dull;
static uint64_t next_u64(void)
{
    /* xorshift64*: a fixed sequence, so a failure can be reproduced. */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1dull;
}

static void test_fixed9_matches_printf(void **unused)
{
    (void)unused;
    static const double edges[] = {
        0.0,      1e-10,   4.9999999999e-10,  5e-10, 5.0000000001e-10, 1e-9,  0.5, 1.0,
        105.4020, 21.3220, 999999.9999999995, 1e6,   1e6 + 0.5,        180.0, 90.0};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        check(edges[i]);
        check(-edges[i]);
        check(nextafter(edges[i], INFINITY));
        check(nextafter(edges[i], -INFINITY));
    }
    for (int i = 0; i < 1000000; i++) {
        double u = (double)(next_u64() >> 11) / 9007199254740992.0;
        check(u * 360 - 180);
        /* Exact halves of the 9th decimal and their neighbours: ties. */
        double h = ((double)(int64_t)(next_u64() % 360000000000ull) - 180000000000.0 + 0.5) / 1e9;
        check(h);
        check(nextafter(h, 0));
        check(nextafter(h, 1e9));
        check(u * 2e6 - 1e6);
        double v;
        uint64_t bits = next_u64();
        memcpy(&v, &bits, sizeof v);
        check(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed9_matches_printf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
