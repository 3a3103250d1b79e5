/*
 * auth.c: bearer token hashes. OpenSSL's libcrypto (which the importer
 * already uses for file checksums, so the project needs one crypto library,
 * not two) gives SHA-256 and a constant-time comparison (CRYPTO_memcmp);
 * the plain tokens never stay in memory after loading.
 */
#include "auth.h"

#include "hex.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 1024
#define MAX_TOKEN_LEN 512
#define MAX_FILE_BYTES (1 << 20)

struct pdb_srv_tokens {
    size_t count;                               /* hashes in hash */
    unsigned char (*hash)[PDB_SRV_SHA256_SIZE]; /* SHA-256 of each token */
    char (*name)[PDB_SRV_TOKEN_NAME];           /* each token's name for the audit table */
    pdb_srv_role *role;                         /* each token's role */
};

void pdb_srv_sha256(const void *data, size_t len, unsigned char out[PDB_SRV_SHA256_SIZE])
{
    unsigned n = 0;
    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != PDB_SRV_SHA256_SIZE)
        memset(out, 0xff, PDB_SRV_SHA256_SIZE); /* matches no token: SHA-256 never fails */
}

static int token_char(unsigned char c)
{
    return isalnum(c) || (c != '\0' && strchr("-._~+/=", c) != NULL);
}

/* A token's name and role from its label (after the token and a blank):
 * the name is the first word that is not "role=...", printable ASCII, cut
 * to fit, "line N" when there is none; the audit table records it, never
 * the token. Returns -1 for a role that is not read, personal or write. */
static int token_label(const char *label, size_t n, size_t line, char out[PDB_SRV_TOKEN_NAME],
                       pdb_srv_role *role)
{
    static const struct {
        const char *word;
        pdb_srv_role role;
    } roles[] = {{"role=read", PDB_SRV_ROLE_READ},
                 {"role=personal", PDB_SRV_ROLE_PERSONAL},
                 {"role=write", PDB_SRV_ROLE_WRITE}};
    size_t i = 0, o = 0;
    *role = PDB_SRV_ROLE_PERSONAL;
    out[0] = '\0';
    while (i < n) {
        while (i < n && (label[i] == ' ' || label[i] == '\t'))
            i++;
        size_t w = i;
        while (w < n && label[w] != ' ' && label[w] != '\t')
            w++;
        if (w == i)
            break;
        if (w - i > 5 && strncmp(label + i, "role=", 5) == 0) {
            size_t k = 0;
            while (
                k < sizeof roles / sizeof roles[0] &&
                !(strlen(roles[k].word) == w - i && strncmp(label + i, roles[k].word, w - i) == 0))
                k++;
            if (k == sizeof roles / sizeof roles[0])
                return -1;
            *role = roles[k].role;
        } else if (o == 0) {
            for (size_t j = i;
                 j < w && o + 1 < PDB_SRV_TOKEN_NAME && label[j] > ' ' && label[j] < 0x7f; j++)
                out[o++] = label[j];
            out[o] = '\0';
        }
        i = w;
    }
    if (o == 0)
        snprintf(out, PDB_SRV_TOKEN_NAME, "line %zu", line);
    return 0;
}

int pdb_srv_tokens_parse(const char *text, size_t len, const char *name, pdb_srv_tokens **out,
                         char *err, size_t errcap)
{
    pdb_srv_tokens *t = NULL;
    size_t cap = 0, name_cap = 0, role_cap = 0, line = 0;
    int rc = -1;

    *out = NULL;
    if ((t = calloc(1, sizeof *t)) == NULL)
        return pdb_srv_fail(err, errcap, "%s: out of memory", name);
    for (size_t i = 0; i < len; line++) {
        size_t n = 0;
        while (i + n < len && text[i + n] != '\n')
            n++;
        const char *s = text + i;
        size_t e = 0;
        i += n + 1;
        while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        while (e < n && (s[e] == ' ' || s[e] == '\t'))
            e++;
        s += e;
        n -= e;
        if (n == 0 || s[0] == '#')
            continue;
        size_t w = 0; /* the entry ends at the first blank; a label may follow */
        while (w < n && s[w] != ' ' && s[w] != '\t')
            w++;
        if (memchr(s, '\0', n) != NULL) {
            pdb_srv_fail(err, errcap, "%s:%zu: a NUL byte", name, line + 1);
            goto done;
        }
        if (t->count == MAX_TOKENS) {
            pdb_srv_fail(err, errcap, "%s:%zu: more than %d tokens", name, line + 1, MAX_TOKENS);
            goto done;
        }
        if (pdb_srv_grow(&t->hash, &cap, t->count + 1, sizeof *t->hash) != 0) {
            pdb_srv_fail(err, errcap, "%s: out of memory", name);
            goto done;
        }
        if (pdb_srv_grow(&t->name, &name_cap, t->count + 1, sizeof *t->name) != 0) {
            pdb_srv_fail(err, errcap, "%s: out of memory", name);
            goto done;
        }
        if (pdb_srv_grow(&t->role, &role_cap, t->count + 1, sizeof *t->role) != 0) {
            pdb_srv_fail(err, errcap, "%s: out of memory", name);
            goto done;
        }
        if (token_label(s + w, n - w, line + 1, t->name[t->count], &t->role[t->count]) != 0) {
            pdb_srv_fail(err, errcap,
                         "%s:%zu: the role must be role=read, role=personal or "
                         "role=write",
                         name, line + 1);
            goto done;
        }
        unsigned char *h = t->hash[t->count];
        if (w > 7 && strncmp(s, "sha256:", 7) == 0) {
            if (w - 7 != 2 * PDB_SRV_SHA256_SIZE) {
                pdb_srv_fail(err, errcap, "%s:%zu: sha256: needs 64 hex digits", name, line + 1);
                goto done;
            }
            for (size_t k = 0; k < PDB_SRV_SHA256_SIZE; k++) {
                int hi = pdbt__hexval((unsigned char)s[7 + 2 * k]),
                    lo = pdbt__hexval((unsigned char)s[8 + 2 * k]);
                if (hi < 0 || lo < 0) {
                    pdb_srv_fail(err, errcap, "%s:%zu: sha256: needs 64 hex digits", name,
                                 line + 1);
                    goto done;
                }
                h[k] = (unsigned char)(hi * 16 + lo);
            }
        } else {
            if (w < PDB_SRV_MIN_TOKEN || w > MAX_TOKEN_LEN) {
                pdb_srv_fail(err, errcap, "%s:%zu: a token must be %d to %d characters long", name,
                             line + 1, PDB_SRV_MIN_TOKEN, MAX_TOKEN_LEN);
                goto done;
            }
            for (size_t k = 0; k < w; k++)
                if (!token_char((unsigned char)s[k])) {
                    pdb_srv_fail(err, errcap,
                                 "%s:%zu: a token may hold only A-Z a-z 0-9 - . _ ~ + / =", name,
                                 line + 1);
                    goto done;
                }
            pdb_srv_sha256(s, w, h);
        }
        t->count++;
    }
    *out = t;
    t = NULL;
    rc = 0;
done:
    pdb_srv_tokens_free(t);
    return rc;
}

int pdb_srv_tokens_load(const char *path, pdb_srv_tokens **out, char *err, size_t errcap)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;
    int rc = -1;

    *out = NULL;
    if (f == NULL)
        return pdb_srv_fail(err, errcap, "%s: %s", path, strerror(errno));
    if ((buf = malloc(MAX_FILE_BYTES + 1)) == NULL) {
        pdb_srv_fail(err, errcap, "%s: out of memory", path);
        goto done;
    }
    len = fread(buf, 1, MAX_FILE_BYTES + 1, f);
    if (ferror(f)) {
        pdb_srv_fail(err, errcap, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (len > MAX_FILE_BYTES) {
        pdb_srv_fail(err, errcap, "%s: larger than %d bytes", path, MAX_FILE_BYTES);
        goto done;
    }
    rc = pdb_srv_tokens_parse(buf, len, path, out, err, errcap);
done:
    if (buf != NULL) {
        /* The file may hold plain tokens: leave no copy behind. */
        explicit_bzero(buf, len < MAX_FILE_BYTES ? len : MAX_FILE_BYTES);
        free(buf);
    }
    fclose(f);
    return rc;
}

void pdb_srv_tokens_free(pdb_srv_tokens *t)
{
    if (t == NULL)
        return;
    free(t->hash);
    free(t->name);
    free(t->role);
    free(t);
}

size_t pdb_srv_tokens_count(const pdb_srv_tokens *t)
{
    return t ? t->count : 0;
}

const char *pdb_srv_tokens_find(const pdb_srv_tokens *t, const char *token, size_t len)
{
    pdb_srv_role role;
    return pdb_srv_tokens_find_role(t, token, len, &role);
}

const char *pdb_srv_tokens_find_role(const pdb_srv_tokens *t, const char *token, size_t len,
                                     pdb_srv_role *role)
{
    unsigned char h[PDB_SRV_SHA256_SIZE];
    size_t found = 0;

    if (t == NULL || token == NULL || len == 0)
        return NULL;
    /* Hashing first makes the comparison independent of the token's length
     * and prefix; every stored hash is compared, with no early exit, and
     * the match is selected with a mask, not a branch. */
    pdb_srv_sha256(token, len, h);
    for (size_t i = 0; i < t->count; i++) {
        size_t eq = (size_t)(CRYPTO_memcmp(h, t->hash[i], PDB_SRV_SHA256_SIZE) == 0);
        size_t mask = (size_t)0 - eq; /* all ones on a match */
        /* The last match replaces any earlier one: a token listed twice
         * (the file may repeat one) must not OR two indices into one past
         * the end (the fuzzer's find, fuzz_tokens). */
        found = (found & ~mask) | ((i + 1) & mask);
    }
    explicit_bzero(h, sizeof h);
    if (found == 0)
        return NULL;
    *role = t->role[found - 1];
    return t->name[found - 1];
}

int pdb_srv_tokens_check(const pdb_srv_tokens *t, const char *token, size_t len)
{
    return pdb_srv_tokens_find(t, token, len) != NULL;
}
