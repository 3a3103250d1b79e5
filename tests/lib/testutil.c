/* testutil.c: see testutil.h. */
#define _GNU_SOURCE /* vasprintf */
#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *tu_tmpdir(const char *name)
{
    static char path[512];
    const char *base = getenv("TMPDIR");

    snprintf(path, sizeof path, "%s/pdbtest-%s-%ld", base ? base : "/tmp", name, (long)getpid());
    tu_run("rm -rf '%s' && mkdir -p '%s'", path, path);
    return path;
}

static char *vformat(const char *fmt, va_list ap)
{
    char *cmd = NULL;
    if (vasprintf(&cmd, fmt, ap) < 0)
        return NULL;
    return cmd;
}

int tu_run(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = vformat(fmt, ap);
    va_end(ap);
    if (cmd == NULL)
        return -1;
    int st = system(cmd);
    free(cmd);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

char *tu_capture(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = vformat(fmt, ap);
    va_end(ap);
    if (cmd == NULL)
        return NULL;
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (p == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf != NULL && (got = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 2) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    int st = pclose(p);
    if (buf == NULL)
        return NULL;
    buf[len] = '\0';
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

int tu_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    int ok = fputs(text, f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}
