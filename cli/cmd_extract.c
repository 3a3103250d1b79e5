/*
 * cmd_extract.c: `parceldb extract`: the extract of the cadastral map for
 * one parcel (trích lục bản đồ địa chính) as a PDF or a PNG. The document
 * is made by the tiler (tiler/extract.c); this writes it, through a
 * temporary file beside the output renamed into place, so that a failure
 * never leaves a partial file.
 */
#include "cli.h"
#include "extract.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: parceldb extract [--db STORE] --id COMMUNE/SHEET/PARCEL [--former CODE]\n"
    "                        [--at DATE] [--personal] [--paper A4|A3]\n"
    "                        [--scale auto|200|500|1000|2000|5000|10000] [--dpi N]\n"
    "                        -o FILE.pdf|FILE.png\n"
    "\n"
    "Makes the extract of the cadastral map (trich luc ban do dia chinh) for one\n"
    "parcel: the parcel drawn to a standard scale with its neighbours and edge\n"
    "lengths, and the table of its vertices (X = northing, Y = easting) in its\n"
    "own VN-2000 TM-3 zone, from the geometry as surveyed. A number held by\n"
    "several parcels gives one sheet each (--former chooses one). The format\n"
    "follows the output's extension: .pdf (vector, fonts embedded) or .png\n"
    "(the pages one under the other).\n"
    "\n"
    "options:\n"
    "  --db STORE      the store (default " CLI_DEFAULT_DB ")\n"
    "  --id C/S/P      commune code, sheet number, parcel number\n"
    "  --former CODE   only the parcel of this former commune (five digits)\n"
    "  --at DATE       the parcel as it was then: YYYY-MM-DD (end of that day, UTC)\n"
    "                  or an ISO 8601 UTC time; the date is on the sheet\n"
    "  --personal      print the land user's name (personal data)\n"
    "  --paper P       A4 (default) or A3\n"
    "  --scale S       auto (default: the largest standard scale that fits) or a\n"
    "                  denominator: 200, 500, 1000, 2000, 5000, 10000\n"
    "  --dpi N         PNG resolution (default 150)\n"
    "  -o FILE         the output, .pdf or .png\n";

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcasecmp(s + n - m, suffix) == 0;
}

/* Writes data to path through a temporary file in the same directory,
 * synced and renamed, so that path is either the whole document or
 * untouched. Returns 0, or an errno value (the temporary file removed). */
static int write_atomic(const char *path, const unsigned char *data, size_t len)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (tmp == NULL)
        return ENOMEM;
    snprintf(tmp, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int err = errno;
        free(tmp);
        return err;
    }
    int err = 0;
    for (size_t off = 0; off < len && err == 0;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno != EINTR)
            err = errno;
        else if (w > 0)
            off += (size_t)w;
    }
    if (err == 0 && fchmod(fd, 0644) != 0)
        err = errno;
    if (err == 0 && fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && err == 0)
        err = errno;
    if (err == 0 && rename(tmp, path) != 0)
        err = errno;
    if (err != 0)
        unlink(tmp);
    free(tmp);
    return err;
}

int cmd_extract(int argc, char **argv)
{
    enum { O_ID = CLI_O_OWN, O_FORMER, O_AT, O_PERSONAL, O_PAPER, O_SCALE, O_DPI, O_OUT };
    static const struct option opts[] = {
        {"db", required_argument, 0, CLI_O_DB},
        {"id", required_argument, 0, O_ID},
        {"former", required_argument, 0, O_FORMER},
        {"at", required_argument, 0, O_AT},
        {"personal", no_argument, 0, O_PERSONAL},
        {"paper", required_argument, 0, O_PAPER},
        {"scale", required_argument, 0, O_SCALE},
        {"dpi", required_argument, 0, O_DPI},
        {"output", required_argument, 0, O_OUT},
        {"help", no_argument, 0, CLI_O_HELP},
        {0, 0, 0, 0},
    };
    const char *db = CLI_DEFAULT_DB, *id = NULL, *out_path = NULL;
    pdbt_extract_request req = {0};
    char parts[3][65];
    size_t n;

    /* The shared option loop takes long options only; -o, which every
     * command that writes a file takes, is its --output. */
    static char output_opt[] = "--output";
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-o") == 0)
            argv[i] = output_opt;
    if (argc > 1 && strcmp(argv[argc - 1], output_opt) == 0)
        return cli_usage_error("extract", "-o needs the output, FILE.pdf or FILE.png");
    cli_opts it = {.cmd = "extract",
                   .usage = usage_text,
                   .opts = opts,
                   .argc = argc,
                   .argv = argv,
                   .db_path = &db};
    int c;
    while ((c = cli_opt_next(&it)) > 0) {
        switch (c) {
        case O_ID:
            id = optarg;
            break;
        case O_FORMER:
            req.former = optarg;
            break;
        case O_AT:
            req.at = optarg;
            break;
        case O_PERSONAL:
            req.personal = 1;
            break;
        case O_PAPER:
            if (strcasecmp(optarg, "A4") == 0)
                req.paper = PDBT_PAPER_A4;
            else if (strcasecmp(optarg, "A3") == 0)
                req.paper = PDBT_PAPER_A3;
            else
                return cli_usage_error("extract", "--paper is A4 or A3, not '%s'", optarg);
            break;
        case O_SCALE:
            if (strcmp(optarg, "auto") == 0)
                req.scale = 0;
            else if (cli_parse_size(optarg, &n) == 0 && n <= 100000)
                req.scale = (int)n;
            else
                return cli_usage_error("extract",
                                       "--scale is auto or 200, 500, 1000, 2000, 5000, 10000, "
                                       "not '%s'",
                                       optarg);
            break;
        case O_DPI:
            if (cli_parse_size(optarg, &n) != 0 || n < 30 || n > 600)
                return cli_usage_error("extract", "--dpi takes 30 to 600, not '%s'", optarg);
            req.png_dpi = (int)n;
            break;
        case O_OUT:
            out_path = optarg;
            break;
        }
    }
    if (c < 0)
        return it.rc;
    if (id == NULL)
        return cli_usage_error("extract", "name the parcel with --id COMMUNE/SHEET/PARCEL");
    if (out_path == NULL)
        return cli_usage_error("extract", "name the output with -o FILE.pdf or -o FILE.png");
    if (ends_with(out_path, ".pdf"))
        req.format = PDBT_EXTRACT_PDF;
    else if (ends_with(out_path, ".png"))
        req.format = PDBT_EXTRACT_PNG;
    else
        return cli_usage_error("extract", "the output must end in .pdf or .png: '%s'", out_path);
    for (const char *s = id; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return cli_usage_error("extract", "--id holds control characters");
    if (cli_split_id(id, parts) != 0)
        return cli_usage_error("extract", "--id must be COMMUNE/SHEET/PARCEL, not '%s'", id);
    req.commune = parts[0];
    req.sheet = parts[1];
    req.parcel = parts[2];

    pdb_ctx *ctx = NULL;
    pdbt_ctx *tctx = NULL;
    pdb_store *store = NULL;
    pdbt_extract_result res = {0};
    int rc = CLI_OK;
    if (pdb_ctx_new(&ctx) != PDB_OK || pdbt_ctx_new(ctx, &tctx) != PDB_OK) {
        rc = cli_error("cannot start (PROJ, GEOS or the renderer failed to initialise)");
        goto done;
    }
    if (pdb_store_open(ctx, db, PDB_OPEN_READONLY, &store) != PDB_OK) {
        rc = cli_lib_error(ctx, "opening the store");
        goto done;
    }
    if (pdbt_extract_make(tctx, store, &req, &res) != PDB_OK) {
        rc = cli_error("extract: %s", pdbt_errmsg(tctx));
        goto done;
    }
    /* Owner names are written only once the audit table holds the row. */
    if (req.personal &&
        (rc = cli_audit_personal_ids(ctx, db, "extract", res.ids, res.nparcels)) != CLI_OK)
        goto done;
    int err = write_atomic(out_path, res.data, res.len);
    if (err != 0)
        rc = cli_error("extract: cannot write %s: %s", out_path, strerror(err));
done:
    pdbt_extract_result_clear(&res);
    pdb_store_close(store);
    pdbt_ctx_free(tctx);
    pdb_ctx_free(ctx);
    return rc;
}
