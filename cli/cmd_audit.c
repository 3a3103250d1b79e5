/*
 * cmd_audit.c: `parceldb audit`: lists the store's audit table, the
 * record of every answer that showed owner names; and cli_audit_personal,
 * which the commands that show them call before they print.
 */
#include "cli.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char audit_usage[] =
    "usage: parceldb audit [--db STORE] [--since DATE] [--token NAME]\n"
    "\n"
    "Lists the answers that showed owner names (personal data), oldest first, one per\n"
    "line: time (UTC), who (a token's name, or user:LOGIN on the command line), the\n"
    "route or command, and the store ids of the parcels shown, tab-separated.\n"
    "\n"
    "options:\n"
    "  --db STORE      the store (default " CLI_DEFAULT_DB ")\n"
    "  --since DATE    only from this date or time on (YYYY-MM-DD[THH:MM:SSZ], UTC)\n"
    "  --token NAME    only the answers given to this token name (or user:LOGIN)\n";

int cli_audit_personal(pdb_ctx *ctx, const char *db, const char *what, const pdb_parcel_list *list)
{
    int64_t *ids = calloc(list->count + 1, sizeof *ids);
    if (ids == NULL)
        return cli_error("out of memory");
    for (size_t i = 0; i < list->count; i++)
        ids[i] = list->items[i].id;
    int rc = cli_audit_personal_ids(ctx, db, what, ids, list->count);
    free(ids);
    return rc;
}

int cli_audit_personal_ids(pdb_ctx *ctx, const char *db, const char *what, const int64_t *ids,
                           size_t n)
{
    /* The login from the password database, not $USER, which anyone sets. */
    struct passwd *pw = getpwuid(geteuid());
    char who[128];
    snprintf(who, sizeof who, "user:%s", pw != NULL ? pw->pw_name : "?");
    return cli_audit_personal_as(ctx, db, who, what, ids, n);
}

int cli_audit_personal_as(pdb_ctx *ctx, const char *db, const char *who, const char *what,
                          const int64_t *ids, size_t n)
{
    /* The reads go through a read-only handle; the audit row through a
     * read-write one of its own. No row, no owner names. */
    pdb_store *rw = NULL;
    int rc = CLI_OK;
    if (pdb_store_open(ctx, db, PDB_OPEN_READWRITE, &rw) != PDB_OK ||
        pdb_audit_record(ctx, rw, who, what, ids, n) != PDB_OK)
        rc = cli_lib_error(ctx, "recording the personal answer in the audit table (owner "
                                "names are shown only when it is recorded)");
    pdb_store_close(rw);
    return rc;
}

static int print_row(void *arg, const pdb_audit_row *row)
{
    (void)arg;
    printf("%s\t%s\t%s\t%s\n", row->at, row->who, row->what, row->parcels);
    return 0;
}

int cmd_audit(int argc, char **argv)
{
    enum { O_SINCE = CLI_O_OWN, O_TOKEN };
    static const struct option opts[] = {
        {"db", required_argument, 0, CLI_O_DB},
        {"since", required_argument, 0, O_SINCE},
        {"token", required_argument, 0, O_TOKEN},
        {"help", no_argument, 0, CLI_O_HELP},
        {0, 0, 0, 0},
    };
    const char *db = NULL, *since = NULL, *token = NULL;
    cli_opts it = {.cmd = "audit",
                   .usage = audit_usage,
                   .opts = opts,
                   .argc = argc,
                   .argv = argv,
                   .db_path = &db};
    int c;

    while ((c = cli_opt_next(&it)) > 0) {
        if (c == O_SINCE)
            since = optarg;
        else if (c == O_TOKEN)
            token = optarg;
    }
    if (c < 0)
        return it.rc;
    pdb_ctx *ctx = NULL;
    pdb_store *store = NULL;
    int rc = CLI_FAIL;
    if (pdb_ctx_new(&ctx) != PDB_OK)
        return cli_error("cannot start (PROJ or GEOS failed to initialise)");
    if (pdb_store_open(ctx, db, PDB_OPEN_READONLY, &store) != PDB_OK)
        rc = cli_lib_error(ctx, "opening the store");
    else if (pdb_audit_list(ctx, store, since, token, print_row, NULL) != PDB_OK)
        rc = cli_lib_error(ctx, since != NULL ? "--since" : "reading the audit table");
    else
        rc = fflush(stdout) == 0 ? CLI_OK : cli_error("writing the answer: %m");
    pdb_store_close(store);
    pdb_ctx_free(ctx);
    return rc;
}
