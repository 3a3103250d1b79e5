/*
 * main.c: the parceldb command: dispatches to its subcommands.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const struct subcommand {
    const char *name;               /* as typed */
    int (*run)(int argc, char **argv); /* argv[0] is the name */
    const char *summary;            /* one line for --help */
} subcommands[] = {
    {"init", cmd_init, "create an empty store"},
    {"import", cmd_import, "import commune cadastral surveys"},
    {"lookup", cmd_lookup, "find parcels at a point, by number, or for a CSV of points"},
    {"info", cmd_info, "counts, communes, data version and store health"},
    {"render", cmd_render, "render map tiles to PNG files"},
    {"serve", cmd_serve, "serve tiles, lookups and a demo map over HTTP"},
    {"seed", cmd_seed, "pre-render tiles into the server's disk cache"},
    {"backup", cmd_backup, "a consistent copy of the store, safe while it is in use"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: parceldb COMMAND [--db FILE] [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(out, "\n'parceldb COMMAND --help' describes each command.\n");
}

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

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("parceldb %s\n", PDB_VERSION_STRING);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].run(argc - 1, argv + 1);
    cli_error("unknown command '%s' (try 'parceldb --help')", argv[1]);
    return CLI_USAGE;
}
