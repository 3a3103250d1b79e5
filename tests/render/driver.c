/*
 * driver.c: `pdb-render-driver render ...` stands in for `parceldb render`
 * in the tests until cli/main.c registers the subcommand. It carries its
 * own copies of the few helpers of cli/main.c that cmd_render.c uses.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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

int cmd_render(int argc, char **argv);

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "render") != 0) {
        fprintf(stderr, "usage: %s render ...\n", argv[0]);
        return CLI_USAGE;
    }
    return cmd_render(argc - 1, argv + 1);
}
