/*
 * tu_assert.h: the checks cmocka lacks, shared by the unit tests. Include
 * after <cmocka.h> (they use its fail_msg), <math.h> and <string.h>.
 */
#ifndef PDB_TU_ASSERT_H
#define PDB_TU_ASSERT_H

/* Fails with both values and their difference (cmocka has no double check). */
#define assert_near(a, b, tol)                                                                     \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(fabs(a_ - b_) <= (tol)))                                                             \
            fail_msg("%s = %.10f and %s = %.10f differ by %.3g (tolerance %.3g)", #a, a_, #b, b_,  \
                     fabs(a_ - b_), (double)(tol));                                                \
    } while (0)

/* Fails unless hay (a string, NULL fails) contains needle. */
#define assert_contains(hay, needle)                                                               \
    do {                                                                                           \
        const char *h_ = (hay);                                                                    \
        if (h_ == NULL || strstr(h_, (needle)) == NULL)                                            \
            fail_msg("\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)", (needle));              \
    } while (0)

#endif
