/*
 * main.c: the parceldb command: dispatches to its subcommands.
 *
 * `import` runs in its own executable, parceldb-import (import_main.c),
 * which this one execs with the same arguments: the importer needs GDAL,
 * whose 128 shared libraries cost 37 ms of dynamic linking at every start,
 * a sixth of a 100,000-point `lookup --points`. The other commands do not
 * link GDAL at all.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static int exec_import(int argc, char **argv);
static int exec_qa(int argc, char **argv);
static int run_export(int argc, char **argv);

static const struct subcommand {
    const char *name;                  /* as typed */
    int (*run)(int argc, char **argv); /* argv[0] is the name */
    const char *summary;               /* one line for --help */
} subcommands[] = {
    {"init", cmd_init, "create an empty store"},
    {"import", exec_import, "import commune cadastral surveys"},
    {"qa", exec_qa, "check communes before they are accepted (overlaps, gaps, numbers)"},
    {"lookup", cmd_lookup, "find parcels at a point, by number, or for a CSV of points"},
    {"info", cmd_info, "counts, communes, data version and store health"},
    {"render", cmd_render, "render map tiles to PNG or vector tile (MVT) files"},
    {"serve", cmd_serve, "serve tiles, lookups and a demo map over HTTP"},
    {"seed", cmd_seed, "pre-render tiles into the server's disk cache"},
    {"backup", cmd_backup, "a consistent copy of the store, safe while it is in use"},
    {"search", cmd_search, "find parcels by owner name or address words"},
    {"audit", cmd_audit, "list the answers that showed owner names"},
    {"extract", cmd_extract, "the extract of the cadastral map for one parcel, PDF or PNG"},
    {"export", run_export,
     "parcels to GeoPackage, Shapefile or GeoJSON, or the map's tiles to PMTiles"},
    {"change", cmd_change, "split, merge, update or reshape single parcels between surveys"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: parceldb COMMAND [--db STORE] [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(out,
            "\nSTORE is a store file (default " CLI_DEFAULT_DB ") or a PostgreSQL database with\n"
            "PostGIS: postgresql://[user@]host[:port]/dbname, or a libpq conninfo such as\n"
            "'host=/run/postgresql dbname=land' or 'service=land' (docs/postgresql.md).\n");
    fprintf(out, "\n'parceldb COMMAND --help' describes each command.\n");
}

/* Replaces this process with the helper executable (parceldb-import,
 * parceldb-qa), found next to this executable (a build tree) or in the
 * libexec directory relative to it (an installed tree, wherever it was
 * installed). Returns only on failure, with fail_rc. */
static int exec_helper(const char *helper, const char *what, int fail_rc, int argc, char **argv)
{
    char dir[PATH_MAX], tried[2][PATH_MAX + 64];
    int errs[2];

    int err = cli_exe_dir(dir, sizeof dir);
    if (err != 0) {
        cli_error("cannot run the %s: cannot locate this executable: /proc/self/exe: %s", what,
                  strerror(err));
        return fail_rc;
    }
    snprintf(tried[0], sizeof tried[0], "%s%s", dir, helper);
    snprintf(tried[1], sizeof tried[1], "%s%s/%s", dir, PDB_BIN_TO_LIBEXEC, helper);
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (args == NULL) {
        cli_error("out of memory");
        return fail_rc;
    }
    args[0] = (char *)helper;
    for (int i = 1; i < argc; i++)
        args[i] = argv[i];
    for (int i = 0; i < 2; i++) {
        execv(tried[i], args);
        errs[i] = errno;
    }
    free(args);
    cli_error("cannot run the %s: %s: %s; %s: %s", what, tried[0], strerror(errs[0]), tried[1],
              strerror(errs[1]));
    return fail_rc;
}

static int exec_import(int argc, char **argv)
{
    return exec_helper("parceldb-import", "importer", CLI_FAIL, argc, argv);
}

/* parceldb qa exits 1 for bad input (docs/qa.md): failing to start is. */
static int exec_qa(int argc, char **argv)
{
    return exec_helper("parceldb-qa", "quality checks", 1, argc, argv);
}

/* `export --format pmtiles` renders tiles here; every other format (and
 * a missing or unknown one, which it explains) is parceldb-export's, which
 * links GDAL. The last --format given counts, as getopt reads it. */
static int run_export(int argc, char **argv)
{
    const char *format = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
            format = argv[++i];
        else if (strncmp(argv[i], "--format=", 9) == 0)
            format = argv[i] + 9;
    }
    if (format != NULL && strcmp(format, "pmtiles") == 0)
        return cmd_export(argc, argv);
    /* Said here, before the other options: each executable knows only its
     * own, and "unknown option '--zoom'" would not say what is wrong. The
     * names are those pdbi_export_format_parse takes. */
    static const char *const gis[] = {
        "GPKG", "GeoPackage", "ESRI Shapefile", "Shapefile", "shp", "GeoJSON", "DXF", "DGN"};
    int known = 0, help = 0;
    for (size_t i = 0; format != NULL && i < sizeof gis / sizeof gis[0]; i++)
        known |= strcasecmp(format, gis[i]) == 0;
    for (int i = 1; i < argc; i++)
        help |= strcmp(argv[i], "--help") == 0;
    if (format == NULL && !help)
        return cli_usage_error(
            "export",
            "--format is required: GPKG, \"ESRI Shapefile\", GeoJSON, DXF, DGN or pmtiles");
    if (format != NULL && !known)
        return cli_usage_error("export",
                               "--format %s: one of GPKG, \"ESRI Shapefile\", GeoJSON, DXF, DGN or "
                               "pmtiles",
                               format);
    return exec_helper("parceldb-export", "exporter", CLI_FAIL, argc, argv);
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
