/*
 * cmd_info.c: `parceldb info`: counts, communes, data version and health.
 */
#include "cli.h"

#include <getopt.h>
#include <stdint.h>
#include <string.h>

static const char usage_text[] =
    "usage: parceldb info [--db STORE] [--communes] [--check] [--changes BATCH]\n"
    "\n"
    "Prints the store's counts, data version and schema.\n"
    "\n"
    "options:\n"
    "  --db STORE   the store (default " CLI_DEFAULT_DB ")\n"
    "  --communes   also list the communes: code, parcels, source CRS, the data version\n"
    "               at which it last changed (vN: its import or its overviews' rebuild;\n"
    "               v? in a store of schema 1 not yet opened for writing), name\n"
    "  --check      also run SQLite's full integrity check (slow on a large store), and\n"
    "               name the communes whose overviews are stale, failed or made with a\n"
    "               fallback, and why\n"
    "  --changes BATCH  instead: what import batch BATCH did to each commune's parcels\n"
    "               (one line of counts per class a commune), then one line per parcel\n"
    "               that did not stay unchanged: KIND OLD -> NEW OVERLAP (docs/changes.md)\n";

/* --changes BATCH: the counts per commune, then every step but the
 * unchanged ones (a re-survey leaves most parcels unchanged: their lines
 * would drown the rest; the count says how many). */
static int print_changes(pdb_ctx *ctx, pdb_store *store, int64_t batch)
{
    pdb_import_changes *ch = NULL;
    char line[320];

    if (pdb_import_changes_get(ctx, store, batch, 1, &ch) != PDB_OK)
        return cli_lib_error(ctx, "--changes");
    printf("import batch %lld: %zu commune%s\n", (long long)batch, ch->count,
           ch->count == 1 ? "" : "s");
    for (size_t i = 0; i < ch->count; i++) {
        pdb_import_change_format(&ch->communes[i], line, sizeof line);
        printf("%s\n", line);
    }
    for (size_t i = 0; i < ch->nsteps; i++) {
        const pdb_lineage_step *e = &ch->steps[i];
        if (strcmp(e->kind, "unchanged") != 0)
            printf("%-9s %s -> %s %.2f m2\n", e->kind, e->parent_id > 0 ? e->parent : "-",
                   e->child_id > 0 ? e->child : "-", e->overlap_m2);
    }
    pdb_import_changes_free(ch);
    return CLI_OK;
}

/* What each overview state means to the person reading --check. */
static const char *state_words(pdb_overview_state st)
{
    switch (st) {
    case PDB_OVERVIEW_STATE_STALE:
        return "stale (imported since they were built; low zooms draw its parcels until "
               "'parceldb render --rebuild-overviews')";
    case PDB_OVERVIEW_STATE_FAILED:
        return "FAILED (low zooms draw its parcels; retried when it is imported again, or "
               "with 'parceldb render --rebuild-overviews --commune CODE')";
    case PDB_OVERVIEW_STATE_FALLBACK:
        return "built with a fallback (the same picture, heavier to draw)";
    case PDB_OVERVIEW_STATE_FRESH:
        break;
    }
    return "ok";
}

/* One line for the overviews, then one per commune whose overviews are not
 * built from its current parcels, with the reason. The store is healthy
 * all the same: low zooms draw such a commune from its parcels. */
static void print_overview_states(const pdb_commune_list *list)
{
    size_t off = 0;
    for (size_t i = 0; i < list->count; i++)
        off += list->items[i].overview_state != PDB_OVERVIEW_STATE_FRESH;
    if (off == 0) {
        printf("overviews:     ok (%zu communes)\n", list->count);
        return;
    }
    printf("overviews:     %zu of %zu communes not up to date\n", off, list->count);
    for (size_t i = 0; i < list->count; i++) {
        const pdb_commune *c = &list->items[i];
        if (c->overview_state == PDB_OVERVIEW_STATE_FRESH)
            continue;
        printf("  commune %s: %s, since %s%s%s\n", c->code, state_words(c->overview_state),
               c->overview_since[0] ? c->overview_since : "its import",
               c->overview_reason ? ": " : "", c->overview_reason ? c->overview_reason : "");
    }
}

static int print_info(pdb_ctx *ctx, pdb_store *store, int communes, int check)
{
    pdb_store_stats s;
    if (pdb_store_stats_get(ctx, store, &s) != PDB_OK)
        return cli_lib_error(ctx, "info");
    printf("parcels:       %lld current, %lld superseded (history)\n", (long long)s.parcels_current,
           (long long)s.parcels_history);
    printf("communes:      %lld\n", (long long)s.communes);
    printf("import runs:   %lld\n", (long long)s.batches);
    /* Apart, as the import summary says them: a repaired record is stored,
     * and only its original is a row of rejects. */
    printf("rejected:      %lld (not stored; each a row of rejects with its reason)\n",
           (long long)s.rejected);
    printf("repaired:      %lld (stored repaired; the original kept in rejects)\n",
           (long long)s.repaired);
    printf("data version:  %lld\n", (long long)s.data_version);
    printf("schema:        %d (journal %s)\n", s.schema_version, s.journal_mode);
    if (check) {
        if (pdb_store_check(ctx, store) != PDB_OK)
            return cli_lib_error(ctx, "integrity");
        printf("integrity:     ok\n");
    }
    if (!check && !communes)
        return CLI_OK;
    pdb_commune_list *list = NULL;
    if (pdb_communes_list(ctx, store, &list) != PDB_OK)
        return cli_lib_error(ctx, "communes");
    if (check)
        print_overview_states(list);
    for (size_t i = 0; communes && i < list->count; i++) {
        const pdb_commune *c = &list->items[i];
        char version[24] = "v?";
        if (c->data_version >= 0)
            snprintf(version, sizeof version, "v%lld", (long long)c->data_version);
        printf("%s %8lld  EPSG:%d  %-5s %s\n", c->code, (long long)c->parcels, c->source_srid,
               version, c->name);
    }
    pdb_commune_list_free(list);
    return CLI_OK;
}

int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"communes", no_argument, NULL, 'c'},
        {"check", no_argument, NULL, 'k'},    {"changes", required_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},     {NULL, 0, NULL, 0},
    };
    const char *db = CLI_DEFAULT_DB;
    int c, communes = 0, check = 0;
    int64_t changes = 0;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'c':
            communes = 1;
            break;
        case 'k':
            check = 1;
            break;
        case 'g': {
            size_t n;
            if (cli_parse_size(optarg, &n) != 0 || n == 0 || n > (size_t)INT64_MAX)
                return cli_usage_error("info",
                                       "--changes takes an import batch number (1, 2, ...)");
            changes = (int64_t)n;
            break;
        }
        case 'h':
            fputs(usage_text, stdout);
            return CLI_OK;
        default:
            return cli_usage_error("info", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("info", "unexpected argument '%s'", argv[optind]);
    if (changes > 0 && (communes || check))
        return cli_usage_error("info", "--changes lists a batch: leave out --communes and --check");

    pdb_ctx *ctx = NULL;
    pdb_store *store = NULL;
    if (pdb_ctx_new(&ctx) != PDB_OK)
        return cli_error("cannot start (PROJ or GEOS failed to initialise)");
    int rc;
    if (pdb_store_open(ctx, db, PDB_OPEN_READONLY, &store) != PDB_OK)
        rc = cli_lib_error(ctx, "opening the store");
    else if (changes > 0)
        rc = print_changes(ctx, store, changes);
    else
        rc = print_info(ctx, store, communes, check);
    pdb_store_close(store);
    pdb_ctx_free(ctx);
    return rc;
}
