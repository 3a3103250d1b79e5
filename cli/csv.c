/* csv.c: see csv.h. The reader owns its FILE for the while: the unlocked
 * getc skips a lock per byte (a tenth of a 100,000-point lookup's time). */
#include "csv.h"

#include <string.h>

void csv_init(csv_reader *r, FILE *in)
{
    memset(r, 0, sizeof *r);
    r->in = in;
    r->next_line = 1;
    int c1 = getc_unlocked(in);
    if (c1 == 0xEF) {
        int c2 = getc_unlocked(in), c3 = getc_unlocked(in);
        if (c2 == 0xBB && c3 == 0xBF)
            return;
        /* Not a BOM: only one byte of pushback is guaranteed, so refuse
         * to guess; csv_next will see the odd bytes as data. */
        if (c3 != EOF)
            ungetc(c3, in);
        return;
    }
    if (c1 != EOF)
        ungetc(c1, in);
}

static int fail(csv_reader *r, const char *why)
{
    snprintf(r->error, sizeof r->error, "line %ld: %s", r->line, why);
    return -1;
}

int csv_next(csv_reader *r)
{
    size_t len = 0;
    int quoted = 0, at_field_start = 1, c;

    r->line = r->next_line;
    r->nfields = 0;
    r->fields[r->nfields++] = r->buf;
    c = getc_unlocked(r->in);
    if (c == EOF)
        return ferror(r->in) ? fail(r, "read error") : 0;
    for (;; c = getc_unlocked(r->in)) {
        if (c == EOF) {
            if (ferror(r->in))
                return fail(r, "read error");
            if (quoted)
                return fail(r, "a quoted field is not closed");
            break;
        }
        /* Inside quotes too: a NUL would end the field's string early and
         * silently cut the value (the id printed back). */
        if (c == '\0')
            return fail(r, "a NUL byte in the data");
        if (quoted) {
            if (c == '"') {
                int d = getc_unlocked(r->in);
                if (d != '"') {
                    quoted = 0;
                    if (d != EOF)
                        ungetc(d, r->in);
                    continue;
                }
            } else if (c == '\n') {
                r->next_line++;
            }
        } else if (c == '"' && at_field_start) {
            quoted = 1;
            at_field_start = 0;
            continue;
        } else if (c == ',') {
            if (r->nfields == CSV_MAX_FIELDS)
                return fail(r, "more than 256 fields");
            if (len >= CSV_MAX_LINE)
                return fail(r, "record longer than 65536 bytes");
            r->buf[len++] = '\0';
            r->fields[r->nfields++] = r->buf + len;
            at_field_start = 1;
            continue;
        } else if (c == '\n') {
            break;
        } else if (c == '\r') {
            int d = getc_unlocked(r->in);
            if (d == '\n')
                break;
            if (d != EOF)
                ungetc(d, r->in);
        }
        at_field_start = 0;
        if (len >= CSV_MAX_LINE)
            return fail(r, "record longer than 65536 bytes");
        r->buf[len++] = (char)c;
    }
    r->buf[len] = '\0';
    r->next_line++;
    return 1;
}
