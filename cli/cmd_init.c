/*
 * cmd_init.c: `parceldb init`: creates an empty store.
 */
#include "cli.h"
#include "storefile.h"

#include <getopt.h>

static const char usage_text[] =
    "usage: parceldb init [--db STORE]\n"
    "\n"
    "Creates an empty store (a SpatiaLite file in WAL mode). Refuses to\n"
    "overwrite an existing file.\n"
    "\n"
    "options:\n"
    "  --db STORE  the store to create (default " CLI_DEFAULT_DB ")\n";

int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = CLI_DEFAULT_DB;
    int c;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'd')
            db = optarg;
        else if (c == 'h')
            return fputs(usage_text, stdout), CLI_OK;
        else
            return cli_usage_error("init", "unknown or incomplete option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        return cli_usage_error("init", "unexpected argument '%s'", argv[optind]);

    pdb_ctx *ctx = NULL;
    pdb_store *store = NULL;
    if (pdb_ctx_new(&ctx) != PDB_OK)
        return cli_error("cannot start (PROJ or GEOS failed to initialise)");
    int rc = CLI_OK;
    char shown[4096];
    if (pdb_store_create(ctx, db, &store) != PDB_OK)
        rc = cli_lib_error(ctx, "init");
    else
        printf("created %s\n", pdb_srv_store_shown(db, shown, sizeof shown));
    pdb_store_close(store);
    pdb_ctx_free(ctx);
    return rc;
}
