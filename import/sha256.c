/*
 * sha256.c: the checksum that recognises a file imported before (OpenSSL's
 * libcrypto: GDAL's own SHA-256 is exported but its header is not
 * installed).
 */
#include "imp.h"

#include <openssl/evp.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void to_hex(const unsigned char *md, unsigned len, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < len && i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}

void pdbi__sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    to_hex(md, mdlen, hex);
}

pdb_status pdbi__checksum_files(pdbi_ctx *ic, const char *const *paths, size_t n, char hex[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char buf[1 << 16];
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    pdb_status st;

    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        st = pdbi__fail(ic, PDB_ENOMEM, "cannot start SHA-256");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        FILE *f = fopen(paths[i], "rb");
        struct stat sb;
        if (f == NULL || fstat(fileno(f), &sb) != 0) {
            st = pdbi__fail(ic, PDB_EIO, "cannot read %s: %s", paths[i], strerror(errno));
            if (f != NULL)
                fclose(f);
            goto done;
        }
        /* The extension and size first, so that a sidecar that moves from
         * one file to another (or appears) changes the sum. */
        const char *dot = strrchr(paths[i], '.');
        char head[64];
        int hl = snprintf(head, sizeof head, "%s:%lld:", dot ? dot : "", (long long)sb.st_size);
        EVP_DigestUpdate(md, head, (size_t)hl);
        size_t got;
        while ((got = fread(buf, 1, sizeof buf, f)) > 0)
            EVP_DigestUpdate(md, buf, got);
        int bad = ferror(f);
        fclose(f);
        if (bad) {
            st = pdbi__fail(ic, PDB_EIO, "cannot read %s", paths[i]);
            goto done;
        }
    }
    if (EVP_DigestFinal_ex(md, digest, &dlen) != 1) {
        st = pdbi__fail(ic, PDB_EIO, "SHA-256 failed");
        goto done;
    }
    to_hex(digest, dlen, hex);
    st = PDB_OK;
done:
    EVP_MD_CTX_free(md);
    return st;
}
