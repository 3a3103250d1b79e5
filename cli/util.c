/*
 * util.c: the messages and argument parsing every parceldb executable
 * shares (parceldb and parceldb-import).
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("parceldb: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_FAIL;
}

int cli_lib_error(pdb_ctx *ctx, const char *what)
{
    return cli_error("%s: %s", what, pdb_errmsg(ctx));
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "parceldb %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try 'parceldb %s --help')\n", cmd);
    return CLI_USAGE;
}

int cli_opt_next(cli_opts *it)
{
    int c, i = -1;
    if (!it->started) {
        /* Fresh state for each subcommand run; the messages are ours. */
        optind = 1;
        opterr = 0;
        it->started = 1;
        if (it->db_path != NULL)
            *it->db_path = CLI_DEFAULT_DB;
    }
    c = getopt_long(it->argc, it->argv, it->short_opts ? it->short_opts : "", it->opts, &i);
    if (c == CLI_O_DB || c == CLI_O_STYLE || c == CLI_O_CACHE) {
        const char **dst = c == CLI_O_DB      ? it->db_path
                           : c == CLI_O_STYLE ? it->style_path
                                              : it->cache_dir;
        if (dst == NULL) /* a table with the entry but nowhere to put it */
            return c;
        *dst = optarg;
        return cli_opt_next(it);
    }
    if (c == -1) {
        if (optind >= it->argc)
            return 0;
        it->rc = cli_usage_error(it->cmd, "unexpected argument '%s'", it->argv[optind]);
        return -1;
    }
    if (i < 0 && c != '?' && c != ':' && it->short_opts != NULL && strchr(it->short_opts, c))
        return c; /* a short option of the command's own ("-o FILE") */
    if (c == '?' || c == ':' || i < 0) {
        it->rc = cli_usage_error(it->cmd, "unknown option '%s'", it->argv[optind - 1]);
        return -1;
    }
    if (strcmp(it->opts[i].name, "help") == 0) {
        fputs(it->usage, stdout);
        it->rc = CLI_OK;
        return -1;
    }
    return c;
}

int cli_parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int cli_parse_size(const char *s, size_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno != 0 || v > (unsigned long long)SIZE_MAX)
        return -1;
    *out = (size_t)v;
    return 0;
}

int cli_parse_pair(const char *s, double *a, double *b)
{
    const char *comma = strchr(s, ',');
    char first[64];
    if (comma == NULL || (size_t)(comma - s) >= sizeof first)
        return -1;
    memcpy(first, s, (size_t)(comma - s));
    first[comma - s] = '\0';
    return (cli_parse_double(first, a) == 0 && cli_parse_double(comma + 1, b) == 0) ? 0 : -1;
}

int cli_split_id(const char *id, char parts[3][65])
{
    const char *p = id;
    for (int i = 0; i < 3; i++) {
        size_t n = strcspn(p, "/");
        if (n == 0 || n > 64 || (i < 2 && p[n] != '/') || (i == 2 && p[n] != '\0'))
            return -1;
        memcpy(parts[i], p, n);
        parts[i][n] = '\0';
        p += n + 1;
    }
    return 0;
}

/* "A-B" or "A" into two zooms. */
int cli_parse_zooms(const char *s, int *a, int *b)
{
    char first[16];
    const char *dash = strchr(s, '-');
    size_t ua, ub;
    if (dash == NULL)
        dash = s + strlen(s);
    if ((size_t)(dash - s) >= sizeof first)
        return -1;
    memcpy(first, s, (size_t)(dash - s));
    first[dash - s] = '\0';
    if (cli_parse_size(first, &ua) != 0 || ua > 30)
        return -1;
    if (*dash == '\0')
        ub = ua;
    else if (cli_parse_size(dash + 1, &ub) != 0 || ub > 30)
        return -1;
    *a = (int)ua;
    *b = (int)ub;
    return 0;
}

int cli_parse_bbox(const char *s, double out[4])
{
    char buf[256], *save = NULL, *tok;
    int n = 0;
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    for (tok = strtok_r(buf, ",", &save); tok && n < 4; tok = strtok_r(NULL, ",", &save))
        if (cli_parse_double(tok, &out[n++]) != 0)
            return -1;
    if (n != 4 || tok != NULL || !(out[0] < out[2]) || !(out[1] < out[3]) || out[0] < -180 ||
        out[2] > 180 || out[1] < -85.06 || out[3] > 85.06)
        return -1;
    return 0;
}

/* The directory of the running executable, with a trailing slash; returns
 * an errno value when it is not known. Without it there is no safe place to
 * look: "" would make the helper's path relative to the working directory,
 * and run whatever parceldb-import is there. */
int cli_exe_dir(char *out, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", out, cap);
    if (n < 0)
        return errno;
    if ((size_t)n >= cap)
        return ENAMETOOLONG; /* readlink truncates without saying so */
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    if (slash == NULL)
        return ENOENT; /* the kernel gives absolute paths: not expected */
    slash[1] = '\0';
    return 0;
}

int cli_helper_find(const char *helper, char *out, size_t cap)
{
    char dir[PATH_MAX];
    if (cli_exe_dir(dir, sizeof dir) != 0)
        return -1;
    snprintf(out, cap, "%s%s", dir, helper);
    if (access(out, X_OK) == 0)
        return 0;
    snprintf(out, cap, "%s%s/%s", dir, PDB_BIN_TO_LIBEXEC, helper);
    return access(out, X_OK) == 0 ? 0 : -1;
}
