/*
 * log.c: the server's own lines on stderr, one whole line per call so that
 * lines of different threads never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

void pdb_srv_vsay(const char *command, const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    fprintf(stderr, "parceldb %s: %s\n", command, line);
}

void pdb_srv_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pdb_srv_vsay("serve", fmt, ap);
    va_end(ap);
}
