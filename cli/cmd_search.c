/*
 * cmd_search.c: `parceldb search`: current parcels by owner name or
 * address words, accent- and case-insensitive, as GeoJSON. Owner names are
 * searched and shown only with --personal, and each such answer is
 * recorded in the store's audit table before it is printed.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char search_usage[] =
    "usage: parceldb search [--db STORE] [--owner TEXT] [--address TEXT] [--commune C]\n"
    "                       [--landuse CODE] [--limit N] [--personal]\n"
    "\n"
    "Finds current parcels by words of the owner's name or of the address and prints\n"
    "them as GeoJSON (a FeatureCollection), best matches first: the words as a phrase,\n"
    "then as whole words, then as word prefixes. Accents and case do not matter\n"
    "(\"nguyen van a\" finds \"Nguyễn Văn A\").\n"
    "\n"
    "options:\n"
    "  --db STORE       the store (default " CLI_DEFAULT_DB ")\n"
    "  --owner TEXT     words of the owner's name (needs --personal)\n"
    "  --address TEXT   words of the address\n"
    "  --commune C      only this commune (five-digit code)\n"
    "  --landuse CODE   only parcels with this land-use code (e.g. ONT)\n"
    "  --limit N        at most N parcels (default 20, at most 1000)\n"
    "  --personal       search and show owner names (personal data); the answer is\n"
    "                   recorded in the store's audit table (parceldb audit)\n";

int cmd_search(int argc, char **argv)
{
    enum { O_OWNER = CLI_O_OWN, O_ADDRESS, O_COMMUNE, O_LANDUSE, O_LIMIT, O_PERSONAL };
    static const struct option opts[] = {
        {"db", required_argument, 0, CLI_O_DB},
        {"owner", required_argument, 0, O_OWNER},
        {"address", required_argument, 0, O_ADDRESS},
        {"commune", required_argument, 0, O_COMMUNE},
        {"landuse", required_argument, 0, O_LANDUSE},
        {"limit", required_argument, 0, O_LIMIT},
        {"personal", no_argument, 0, O_PERSONAL},
        {"help", no_argument, 0, CLI_O_HELP},
        {0, 0, 0, 0},
    };
    const char *db = NULL;
    cli_opts it = {.cmd = "search",
                   .usage = search_usage,
                   .opts = opts,
                   .argc = argc,
                   .argv = argv,
                   .db_path = &db};
    pdb_search_query q = {0};
    int personal = 0, c;

    while ((c = cli_opt_next(&it)) > 0) {
        switch (c) {
        case O_OWNER:
            q.owner = optarg;
            break;
        case O_ADDRESS:
            q.address = optarg;
            break;
        case O_COMMUNE:
            q.commune = optarg;
            break;
        case O_LANDUSE:
            q.landuse = optarg;
            break;
        case O_LIMIT:
            if (cli_parse_size(optarg, &q.limit) != 0 || q.limit == 0 ||
                q.limit > PDB_SEARCH_MAX_LIMIT)
                return cli_usage_error("search", "--limit wants 1 to %d", PDB_SEARCH_MAX_LIMIT);
            break;
        case O_PERSONAL:
            personal = 1;
            break;
        }
    }
    if (c < 0)
        return it.rc;
    if (q.owner == NULL && q.address == NULL)
        return cli_usage_error("search", "give --owner or --address (or both)");
    if (q.owner != NULL && !personal)
        return cli_usage_error("search", "--owner searches personal data: add --personal");

    pdb_ctx *ctx = NULL;
    pdb_store *store = NULL;
    pdb_parcel_list *list = NULL;
    char *json = NULL;
    int rc = CLI_FAIL;
    if (pdb_ctx_new(&ctx) != PDB_OK)
        return cli_error("cannot start (PROJ or GEOS failed to initialise)");
    if (pdb_store_open(ctx, db, PDB_OPEN_READONLY, &store) != PDB_OK) {
        rc = cli_lib_error(ctx, "opening the store");
        goto done;
    }
    if (pdb_parcels_search(ctx, store, &q, PDB_READ_WGS84 | (personal ? PDB_READ_PERSONAL : 0),
                           &list) != PDB_OK) {
        rc = cli_lib_error(ctx, "search");
        goto done;
    }
    if (personal && cli_audit_personal(ctx, db, "parceldb search", list) != CLI_OK)
        goto done;
    if (pdb_parcels_to_geojson(ctx, list, personal, &json) != PDB_OK) {
        rc = cli_lib_error(ctx, "writing GeoJSON");
        goto done;
    }
    puts(json);
    rc = fflush(stdout) == 0 ? CLI_OK : cli_error("writing the answer: %m");
done:
    pdb_free(json);
    pdb_parcel_list_free(list);
    pdb_store_close(store);
    pdb_ctx_free(ctx);
    return rc;
}
