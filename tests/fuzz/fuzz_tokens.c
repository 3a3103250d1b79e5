/*
 * fuzz_tokens: the server's token file (tiler/server/auth.c) on arbitrary
 * bytes, given with their length and no terminating NUL (an over-read is
 * then a heap overflow ASan sees). When it loads, each entry's own token
 * (a plain-token line of the input) must be accepted, and a token never
 * in the file must not.
 */
#include "auth.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "fuzz_tokens: check failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                    \
        }                                                                               \
    } while (0)

static int plain_token(const char *s, size_t n)
{
    if (n < PDB_SRV_MIN_TOKEN || n > 512 || (n > 7 && memcmp(s, "sha256:", 7) == 0))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c != 0 && strchr("-._~+/=", c) != NULL)))
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[300];
    pdb_srv_tokens *t = NULL;
    const char *text = (const char *)data;

    err[0] = '\0';
    if (pdb_srv_tokens_parse(text, size, "fuzz.tokens", &t, err, sizeof err) != 0) {
        CHECK(t == NULL);
        CHECK(err[0] != '\0');
        return 0;
    }
    size_t count = pdb_srv_tokens_count(t);
    /* A line that is exactly a plain token (no blanks, no label, no CR)
     * is one the server must accept. */
    for (size_t i = 0; i < size;) {
        const char *nl = memchr(text + i, '\n', size - i);
        size_t n = nl ? (size_t)(nl - (text + i)) : size - i;
        if (plain_token(text + i, n))
            CHECK(count > 0 && pdb_srv_tokens_check(t, text + i, n) == 1);
        i += n + 1;
    }
    CHECK(pdb_srv_tokens_check(t, "not-a-token-of-the-file!", 24) == 0);
    CHECK(pdb_srv_tokens_check(t, "", 0) == 0);
    pdb_srv_tokens_free(t);
    return 0;
}
