/*
 * values.c: attribute values as surveys write them: numbers with decimal
 * commas, compound land-use codes, commune codes that lost their leading
 * zero, label texts of CAD files. Pure functions, no I/O.
 */
#include "imp.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Trims [*s, *s + *len) in place. */
static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_space((unsigned char)**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_space((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

char *pdbi__trim_dup(const char *s, size_t len)
{
    if (s == NULL)
        return NULL;
    trim(&s, &len);
    return len == 0 ? NULL : strndup(s, len);
}

int pdbi__parse_number(const char *s, size_t len, double *out)
{
    char digits[64];
    size_t n = 0, ndots = 0, ncommas = 0;
    size_t last_dot = 0, last_comma = 0;

    if (s == NULL)
        return -1;
    trim(&s, &len);
    /* A unit after the number: "250,5 m2", "250.5m²" (UTF-8 superscript two). */
    if (len >= 3 && memcmp(s + len - 3, "m\xC2\xB2", 3) == 0)
        len -= 3;
    else if (len >= 2 && (s[len - 2] == 'm' || s[len - 2] == 'M') && s[len - 1] == '2')
        len -= 2;
    trim(&s, &len);
    if (len == 0 || len >= sizeof digits)
        return -1;
    /* Keep digits and separators; spaces (and no-break spaces) group thousands. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= '0' && c <= '9') {
            digits[n++] = (char)c;
        } else if (c == '.') {
            ndots++;
            last_dot = n;
            digits[n++] = '.';
        } else if (c == ',') {
            ncommas++;
            last_comma = n;
            digits[n++] = ',';
        } else if (c == ' ' || c == '\'') {
            continue;
        } else if (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] == 0xA0) {
            i++; /* U+00A0 no-break space */
        } else if ((c == '+') && n == 0) {
            continue;
        } else {
            return -1;
        }
    }
    digits[n] = '\0';
    if (n == 0)
        return -1;

    /* Decide which separator is the decimal one. With both, the last one is
     * ("2.159,6" and "2,159.6"). With only commas: one comma is decimal
     * ("2159,6"), several group thousands ("1,234,567"). With only dots:
     * one dot is decimal, unless it is followed by exactly three digits and
     * preceded by digits in a number the comma convention would write
     * ("2.159" stays 2.159: ambiguous, and a decimal point is what GIS
     * software writes), several group thousands ("1.234.567"). */
    char decimal = 0;
    if (ndots && ncommas)
        decimal = last_dot > last_comma ? '.' : ',';
    else if (ncommas == 1)
        decimal = ',';
    else if (ndots == 1)
        decimal = '.';

    char clean[64];
    size_t m = 0, ndec = 0;
    for (size_t i = 0; i < n; i++) {
        char c = digits[i];
        if (c == '.' || c == ',') {
            if (c == decimal) {
                if (ndec++)
                    return -1;
                clean[m++] = '.';
            }
            /* else: a thousands separator, dropped */
            continue;
        }
        clean[m++] = c;
    }
    clean[m] = '\0';
    if (m == 0 || (m == 1 && clean[0] == '.'))
        return -1;

    char *end;
    errno = 0;
    double v = strtod(clean, &end);
    if (*end != '\0' || errno != 0 || !isfinite(v) || v < 0)
        return -1;
    *out = v;
    return 0;
}

char *pdbi__landuse_normalize(const char *s, size_t len, int *unknown)
{
    char *out = NULL;
    size_t used = 0;
    int any_unknown = 0, count = 0;

    *unknown = 0;
    if (s == NULL) {
        *unknown = 1;
        return NULL;
    }
    out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    size_t i = 0;
    while (i < len) {
        while (i < len && (strchr("+,;/", s[i]) != NULL || is_space((unsigned char)s[i])))
            i++;
        size_t start = i;
        while (i < len && strchr("+,;/", s[i]) == NULL && !is_space((unsigned char)s[i]))
            i++;
        if (i == start)
            continue;
        char code[32];
        size_t clen = i - start;
        if (clen >= sizeof code) {
            any_unknown = 1; /* no code is that long; keep it, flagged */
            clen = sizeof code - 1;
        }
        for (size_t k = 0; k < clen; k++)
            code[k] = (char)toupper((unsigned char)s[start + k]);
        code[clen] = '\0';
        /* The same code twice ("ONT+ONT") is kept once. */
        int repeat = 0;
        for (size_t p = 0; p < used;) {
            size_t q = p;
            while (q < used && out[q] != '+')
                q++;
            if (q - p == clen && memcmp(out + p, code, clen) == 0)
                repeat = 1;
            p = q + 1;
        }
        if (repeat)
            continue;
        if (pdb_landuse_ref_find(code) == NULL)
            any_unknown = 1;
        if (count++)
            out[used++] = '+';
        memcpy(out + used, code, clen);
        used += clen;
    }
    if (count == 0) {
        free(out);
        *unknown = 1;
        return NULL;
    }
    out[used] = '\0';
    *unknown = any_unknown;
    return out;
}

int pdbi__commune_normalize(const char *s, size_t len, char out[6])
{
    size_t digits = 0;

    if (s == NULL)
        return -1;
    trim(&s, &len);
    while (digits < len && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    if (digits == 0)
        return -1;
    /* "7894.0", "7894.000": a number field written as a real. */
    if (digits < len) {
        if (s[digits] != '.' && s[digits] != ',')
            return -1;
        for (size_t i = digits + 1; i < len; i++)
            if (s[i] != '0')
                return -1;
    }
    /* Leading zeros beyond five digits are dropped ("007894"). */
    while (digits > 5 && s[0] == '0') {
        s++;
        digits--;
    }
    if (digits > 5)
        return -1;
    memset(out, '0', 5 - digits);
    memcpy(out + 5 - digits, s, digits);
    out[5] = '\0';
    return 0;
}

const pdb_commune_ref *pdbi__commune_known(const char *code)
{
    /* Asked once a record, nearly always for the commune asked before:
     * that one is tried first (the list is the library's, never freed). */
    static _Thread_local const pdb_commune_ref *last;
    if (last != NULL && strcmp(last->code, code) == 0)
        return last;
    size_t n = 0;
    const pdb_commune_ref *list = pdb_commune_ref_list(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].code, code) == 0)
            return last = &list[i];
    return NULL;
}

char *pdbi__number_text(const char *s, size_t len)
{
    if (s == NULL)
        return NULL;
    trim(&s, &len);
    if (len == 0)
        return NULL;
    /* "12.0" from a real field: an integer written as a real. */
    size_t d = 0;
    while (d < len && s[d] >= '0' && s[d] <= '9')
        d++;
    if (d > 0 && d < len && s[d] == '.') {
        size_t k = d + 1;
        while (k < len && s[k] == '0')
            k++;
        if (k == len)
            len = d;
    }
    return strndup(s, len);
}

int pdbi__number_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 64 && strspn(s, "0123456789") == n && strspn(s, "0") != n;
}

int pdbi__area_mismatch(double surveyed_m2, double computed_m2, double rel, double abs_m2)
{
    if (!isfinite(surveyed_m2) || !isfinite(computed_m2))
        return 0;
    double tol = rel * computed_m2;
    if (tol < abs_m2)
        tol = abs_m2;
    return fabs(surveyed_m2 - computed_m2) > tol;
}

size_t pdbi__label_pairs(const char *text,
                         void (*fn)(void *arg, const char *key, size_t klen, const char *val,
                                    size_t vlen),
                         void *arg)
{
    size_t count = 0;
    const char *p = text;

    /* The positional form "sheet/parcel/land use/area" (what cadastral CAD
     * labels often hold): no '=' or ':' at all, and at least one '/'. */
    if (text != NULL && strpbrk(text, "=:") == NULL && strchr(text, '/') != NULL) {
        static const char *const keys[] = {"sheet", "parcel", "landuse", "area"};
        for (size_t k = 0; k < 4 && p != NULL; k++) {
            const char *e = strchr(p, '/');
            size_t vl = e ? (size_t)(e - p) : strlen(p);
            const char *vs = p;
            trim(&vs, &vl);
            fn(arg, keys[k], strlen(keys[k]), vs, vl);
            count++;
            p = e ? e + 1 : NULL;
        }
        return count;
    }
    while (p != NULL && *p != '\0') {
        /* One pair ends at ';', '|', a new line, or MTEXT's "\P". */
        const char *e = p;
        while (*e != '\0' && *e != ';' && *e != '|' && *e != '\n' && *e != '\r' &&
               !(e[0] == '\\' && e[1] == 'P'))
            e++;
        const char *sep = p;
        while (sep < e && *sep != '=' && *sep != ':')
            sep++;
        if (sep < e) {
            const char *ks = p, *ke = sep, *vs = sep + 1, *ve = e;
            size_t kl = (size_t)(ke - ks), vl = (size_t)(ve - vs);
            trim(&ks, &kl);
            trim(&vs, &vl);
            if (kl > 0) {
                fn(arg, ks, kl, vs, vl);
                count++;
            }
        }
        if (*e == '\0')
            break;
        p = (e[0] == '\\') ? e + 2 : e + 1;
    }
    return count;
}

int pdbi__is_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 0;
    return 1;
}

int pdbi__utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t need;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + need >= len)
            return 0;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        /* Overlong forms, surrogates and values past U+10FFFF. */
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += need + 1;
    }
    return 1;
}

/* n digits at *p as a number (advancing *p), or -1. */
static int take_digits(const char **p, const char *end, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (*p >= end || !isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
    }
    return v;
}

int pdbi__date_parse(const char *s, size_t len, char out[20])
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s, *end = s + len;
    int y, m, d, hh = 0, mm = 0, ss = 0;

    while (p < end && isspace((unsigned char)*p))
        p++;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    /* Year first (4 digits, then a separator) or day first (2 digits):
     * the first and last parts' widths, the same separator twice. */
    int year_first = end - p >= 10 && isdigit((unsigned char)p[3]) && (p[4] == '-' || p[4] == '/');
    int wide = year_first ? 4 : 2, part[3];
    if (end - p < 10 || (p[wide] != '-' && p[wide] != '/'))
        return -1;
    char sep = p[wide];
    for (int k = 0; k < 3; k++) {
        if (k > 0 && (p >= end || *p++ != sep))
            return -1;
        part[k] = take_digits(&p, end, k == 1 ? 2 : k == 0 ? wide : 6 - wide);
    }
    y = year_first ? part[0] : part[2];
    m = part[1];
    d = year_first ? part[2] : part[0];
    if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1)
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[m - 1] + (m == 2 && leap))
        return -1;
    if (p < end) {
        if (*p != ' ' && *p != 'T')
            return -1;
        p++;
        if ((hh = take_digits(&p, end, 2)) < 0 || hh > 23 || p >= end || *p++ != ':' ||
            (mm = take_digits(&p, end, 2)) < 0 || mm > 59)
            return -1;
        if (p < end && *p == ':') {
            p++;
            if ((ss = take_digits(&p, end, 2)) < 0 || ss > 59)
                return -1;
            if (p < end && *p == '.') {
                for (p++; p < end && isdigit((unsigned char)*p); p++)
                    ;
            }
        }
        /* The zone: read so that nothing else passes, not kept (the
         * register's dates are local dates). */
        if (p < end && *p == 'Z') {
            p++;
        } else if (p < end && (*p == '+' || *p == '-')) {
            p++;
            if (take_digits(&p, end, 2) < 0)
                return -1;
            if (p < end && *p == ':')
                p++;
            if (p < end && take_digits(&p, end, 2) < 0)
                return -1;
        }
        if (p != end)
            return -1;
    }
    /* Written digit by digit: every number is in range by now. */
    const int parts[6] = {y, m, d, hh, mm, ss};
    static const char seps[5] = {'-', '-', 'T', ':', ':'};
    char *o = out;
    for (int i = 0; i < 6; i++) {
        for (int w = i == 0 ? 1000 : 10; w > 0; w /= 10)
            *o++ = (char)('0' + parts[i] / w % 10);
        if (i == 5 || (i == 2 && hh == 0 && mm == 0 && ss == 0))
            break;
        *o++ = seps[i];
    }
    *o = '\0';
    return 0;
}
