/*
 * cmd_init.c: `parceldb init`: creates an empty store.
 */
#include "cli.h"
#include "storefile.h"

#include <getopt.h>

static const char usage_text[] =
    "usage: parceldb init [--db STORE] [--communes FILE.csv]\n"
    "\n"
    "Creates an empty store (a SpatiaLite file in WAL mode, or the schema\n"
    "parceldb of a PostgreSQL database). Refuses to overwrite an existing one.\n"
    "\n"
    "options:\n"
    "  --db STORE          the store to create (default " CLI_DEFAULT_DB ")\n"
    "  --communes FILE     communes beside Phu Tho's 148, kept in the store: a CSV\n"
    "                      with the header code,name,former_province,\n"
    "                      central_meridian,epsg (as data/phu-tho-communes.csv).\n"
    "                      The whole file is checked before the store is made.\n";

int cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"communes", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = CLI_DEFAULT_DB, *communes = NULL;
    int c;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'd')
            db = optarg;
        else if (c == 'c')
            communes = optarg;
        else if (c == 'h')
            return fputs(usage_text, stdout), CLI_OK;
        else
            return cli_usage_error("init", "unknown or incomplete option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        return cli_usage_error("init", "unexpected argument '%s'", argv[optind]);

    pdb_ctx *ctx = NULL;
    pdb_store *store = NULL;
    pdb_commune_table *table = NULL;
    if (pdb_ctx_new(&ctx) != PDB_OK)
        return cli_error("cannot start (PROJ or GEOS failed to initialise)");
    int rc = CLI_OK;
    char shown[4096];
    /* A bad list is refused before the store exists: nothing is written. */
    if (communes != NULL && pdb_commune_table_read(ctx, communes, &table) != PDB_OK)
        rc = cli_lib_error(ctx, "init");
    else if (pdb_store_create(ctx, db, &store) != PDB_OK)
        rc = cli_lib_error(ctx, "init");
    else if (table != NULL && pdb_store_communes_add(ctx, store, table) != PDB_OK)
        rc = cli_lib_error(ctx, "init: the store was made, but its commune list not written");
    else if (table != NULL)
        printf("created %s with %zu communes beside Phu Tho's\n",
               pdb_srv_store_shown(db, shown, sizeof shown), pdb_commune_table_count(table));
    else
        printf("created %s\n", pdb_srv_store_shown(db, shown, sizeof shown));
    pdb_commune_table_free(table);
    pdb_store_close(store);
    pdb_ctx_free(ctx);
    return rc;
}
