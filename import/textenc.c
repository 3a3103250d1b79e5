/*
 * textenc.c: the text encoding of a survey's attributes. DBFs often declare
 * Latin-1 (or nothing) while holding TCVN3 (ABC) or VNI-Windows bytes; the
 * Vietnamese codec (vnenc) detects and converts them, and we store NFC.
 */
#include "imp.h"
#include "vnenc.h"

#include <cpl_string.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Below this detection confidence a file is refused: a wrong guess would
 * store mojibake owner names, which is worse than asking. */
#define MIN_CONFIDENCE 0.5

int pdbi__enc_parse(const char *name, pdbi_enc *out)
{
    vnenc_kind k;

    if (strcasecmp(name, "cp1258") == 0 || strcasecmp(name, "windows-1258") == 0 ||
        strcasecmp(name, "1258") == 0) {
        *out = PDBI_ENC_CP1258;
        return 0;
    }
    if (vnenc_parse_name(name, &k) != 0)
        return -1;
    switch (k) {
    case VNENC_UTF8:
        *out = PDBI_ENC_UTF8;
        return 0;
    case VNENC_TCVN3:
        *out = PDBI_ENC_TCVN3;
        return 0;
    case VNENC_VNI:
        *out = PDBI_ENC_VNI;
        return 0;
    case VNENC_LATIN1:
        *out = PDBI_ENC_LATIN1;
        return 0;
    }
    return -1;
}

const char *pdbi__enc_name(pdbi_enc e)
{
    switch (e) {
    case PDBI_ENC_UTF8:
        return "UTF-8";
    case PDBI_ENC_TCVN3:
        return "TCVN3";
    case PDBI_ENC_VNI:
        return "VNI";
    case PDBI_ENC_LATIN1:
        return "Latin-1";
    case PDBI_ENC_CP1258:
        return "CP1258";
    }
    return "?";
}

static vnenc_kind to_vnenc(pdbi_enc e)
{
    switch (e) {
    case PDBI_ENC_TCVN3:
        return VNENC_TCVN3;
    case PDBI_ENC_VNI:
        return VNENC_VNI;
    case PDBI_ENC_LATIN1:
        return VNENC_LATIN1;
    default:
        return VNENC_UTF8;
    }
}

static pdbi_enc from_vnenc(vnenc_kind k)
{
    switch (k) {
    case VNENC_TCVN3:
        return PDBI_ENC_TCVN3;
    case VNENC_VNI:
        return PDBI_ENC_VNI;
    case VNENC_LATIN1:
        return PDBI_ENC_LATIN1;
    default:
        return PDBI_ENC_UTF8;
    }
}

/* Bytes that are not valid in the file's encoding (one stray value in a
 * file that is otherwise right): valid UTF-8 sequences are kept, every
 * other byte becomes U+FFFD, so that the value is kept and visibly marked
 * rather than lost. */
static char *lossy_utf8(const char *bytes, size_t len)
{
    char *out = malloc(3 * len + 1), *nfc;
    size_t n = 0;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t step = 1;
        unsigned char c = (unsigned char)bytes[i];
        if (c == 0) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            step = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            if (step == 1 || i + step > len || !pdbi__utf8_valid(bytes + i, step)) {
                memcpy(out + n, "\xEF\xBF\xBD", 3);
                n += 3;
                i++;
                continue;
            }
        }
        memcpy(out + n, bytes + i, step);
        n += step;
        i += step;
    }
    out[n] = '\0';
    nfc = vnenc_nfc(out, n);
    if (nfc == NULL)
        return out;
    free(out);
    return nfc;
}

char *pdbi__text_to_utf8(pdbi_enc e, const char *bytes, size_t len)
{
    char *utf8 = NULL, *nfc = NULL;

    /* ASCII is the same in every encoding here, and already NFC. */
    if (pdbi__is_ascii(bytes, len))
        return strndup(bytes, len);
    if (e != PDBI_ENC_CP1258) {
        utf8 = vnenc_to_utf8(bytes, len, to_vnenc(e)); /* NFC already */
        return utf8 != NULL ? utf8 : lossy_utf8(bytes, len);
    }
    {
        /* Windows-1258 writes tones as combining marks: NFC composes them.
         * iconv holds the last letter back, waiting for a mark, and GDAL
         * does not flush it: a final new line pushes it out, and goes. */
        char *tmp = malloc(len + 2);
        if (tmp == NULL)
            return NULL;
        memcpy(tmp, bytes, len);
        tmp[len] = '\n';
        tmp[len + 1] = '\0';
        char *rec = CPLRecode(tmp, "CP1258", CPL_ENC_UTF8);
        free(tmp);
        if (rec == NULL)
            return NULL;
        size_t rl = strlen(rec);
        if (rl > 0 && rec[rl - 1] == '\n')
            rec[--rl] = '\0';
        utf8 = strdup(rec);
        CPLFree(rec);
    }
    if (utf8 == NULL)
        return lossy_utf8(bytes, len);
    nfc = vnenc_nfc(utf8, strlen(utf8));
    free(utf8);
    return nfc;
}

pdb_status pdbi__enc_choose(pdbi_ctx *ic, int declared_utf8, const char *declared_name,
                            const char *const *samples, const size_t *lens, size_t n,
                            pdbi_textenc *out)
{
    size_t non_ascii = 0, valid_utf8 = 0;

    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        if (pdbi__is_ascii(samples[i], lens[i]))
            continue;
        non_ascii++;
        if (pdbi__utf8_valid(samples[i], lens[i]))
            valid_utf8++;
    }
    out->kind = PDBI_ENC_UTF8;
    out->confidence = 1.0;
    if (non_ascii == 0) {
        snprintf(out->how, sizeof out->how, "ASCII text");
        return PDB_OK;
    }
    if (declared_utf8 && valid_utf8 == non_ascii) {
        snprintf(out->how, sizeof out->how, "declared%s%s", declared_name ? " in " : "",
                 declared_name ? declared_name : "");
        return PDB_OK;
    }
    double confidence = 0.0;
    vnenc_kind k = vnenc_detect(samples, lens, n, &confidence);
    out->kind = from_vnenc(k);
    out->confidence = confidence;
    snprintf(out->how, sizeof out->how, "detected, %.0f%% sure", confidence * 100.0);
    if (confidence < MIN_CONFIDENCE)
        return pdbi__fail(ic, PDB_EINVAL,
                          "cannot tell the text encoding of the attributes (best guess %s, %.0f%% "
                          "sure, over %zu non-ASCII values); force one with --encoding "
                          "utf8|tcvn3|vni|latin1|cp1258",
                          pdbi__enc_name(out->kind), confidence * 100.0, non_ascii);
    return PDB_OK;
}
