/*
 * cmd_backup.c: `parceldb backup`: a consistent copy of a live store.
 */
#include "cli.h"
#include "storefile.h"

#include <getopt.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: parceldb backup [--db STORE] -o DEST [--force] [--quiet]\n"
    "                       [--pages-per-step N] [--pause-ms MS]\n"
    "\n"
    "Copies the store to DEST with SQLite's online backup API, while the\n"
    "server reads it and an import writes. The copy is one committed state\n"
    "(an import that commits meanwhile is wholly in it or not at all). It is\n"
    "written beside DEST under a temporary name, checked (PRAGMA\n"
    "integrity_check), synced to disk and then renamed to DEST.\n"
    "\n"
    "To restore: stop the server, copy DEST over the store (with no -wal or\n"
    "-shm file left beside it), start the server (see docs/operations.md).\n"
    "\n"
    "A PostgreSQL store is dumped with pg_dump (custom format, schema parceldb,\n"
    "one snapshot) to DEST; restore it with pg_restore into a database with\n"
    "PostGIS (docs/postgresql.md). --pages-per-step and --pause-ms do not apply.\n"
    "\n"
    "options:\n"
    "  --db STORE            the store (default " CLI_DEFAULT_DB ")\n"
    "  -o, --output DEST     the backup file to write\n"
    "  --force               replace DEST if it exists\n"
    "  --quiet               no progress and no summary\n"
    "  --pages-per-step N    pages copied at a time (default 1024, 8 MiB)\n"
    "  --pause-ms MS         pause between steps (default 5, at least 1), to leave\n"
    "                        the disk to the server and an import\n";

/* The progress line on a terminal. */
static void progress(void *arg, int remaining, int total)
{
    (void)arg;
    if (total > 0)
        fprintf(stderr, "\rbackup: %3d%%", (int)(100.0 * (total - remaining) / total));
}

int cmd_backup(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"output", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"pages-per-step", required_argument, NULL, 'p'},
        {"pause-ms", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = CLI_DEFAULT_DB, *dest = NULL;
    int c, quiet = 0;
    size_t n;
    pdb_backup_options bo = {0};

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db = optarg;
            break;
        case 'o':
            dest = optarg;
            break;
        case 'f':
            bo.force = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'p':
        case 's':
            if (cli_parse_size(optarg, &n) != 0 || n < 1 || n > 1000000)
                return cli_usage_error("backup", "--%s takes a number, not '%s'",
                                       c == 'p' ? "pages-per-step" : "pause-ms", optarg);
            if (c == 'p')
                bo.pages_per_step = (int)n;
            else
                bo.pause_ms = (int)n;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return CLI_OK;
        default:
            return cli_usage_error("backup", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("backup", "unexpected argument '%s'", argv[optind]);
    if (dest == NULL)
        return cli_usage_error("backup", "name the backup file with -o DEST");
    struct stat sb;
    if (!bo.force && stat(dest, &sb) == 0 && !S_ISDIR(sb.st_mode))
        return cli_error("backup: %s already exists; not overwriting it (--force replaces it)",
                         dest);
    if (!quiet && isatty(STDERR_FILENO))
        bo.progress = progress;

    pdb_ctx *ctx = NULL;
    pdb_store *store = NULL;
    pdb_backup_result res;
    if (pdb_ctx_new(&ctx) != PDB_OK)
        return cli_error("cannot start (PROJ or GEOS failed to initialise)");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = CLI_OK;
    if (pdb_store_open(ctx, db, PDB_OPEN_READONLY, &store) != PDB_OK)
        rc = cli_lib_error(ctx, "opening the store");
    else if (pdb_store_backup(ctx, store, dest, &bo, &res) != PDB_OK) {
        if (bo.progress != NULL)
            fputc('\n', stderr);
        rc = cli_lib_error(ctx, "backup");
    } else {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (bo.progress != NULL)
            fputc('\n', stderr);
        char shown[4096];
        if (!quiet)
            printf("backed up %s to %s: data version %lld, %.1f MiB, %.1f s\n",
                   pdb_srv_store_shown(db, shown, sizeof shown), dest, (long long)res.data_version,
                   (double)res.bytes / 1048576.0,
                   (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    }
    pdb_store_close(store);
    pdb_ctx_free(ctx);
    return rc;
}
