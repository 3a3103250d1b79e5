/*
 * cmd_qa.c: `parceldb qa`: the quality checks of docs/qa.md over the
 * store's communes, as a text summary, JSON or a GeoPackage. It runs in
 * parceldb-qa (qa_main.c), which links GDAL for the GeoPackage, as the
 * importer does (main.c says why the others do not).
 *
 * Exit status (docs/qa.md): 0 no finding of severity error, 1 bad input
 * (usage, rules file, commune, store), 2 errors found.
 */
#include "cli.h"
#include "qa_gpkg.h"

#include <stdlib.h>
#include <string.h>

enum { QA_CLEAN = 0, QA_BAD_INPUT = 1, QA_ERRORS = 2 };

static const char qa_usage[] =
    "usage: parceldb qa [--db STORE] [--commune C ...] [--rules FILE]\n"
    "                   [--format text|json|gpkg] [-o FILE]\n"
    "\n"
    "Checks the current parcels of the store's communes (all, or those given)\n"
    "before they are accepted: overlaps, gaps, duplicate and missing numbers,\n"
    "registered against computed area, invalid, repaired, tiny and needle-like\n"
    "parcels, close vertices and unknown land-use codes (docs/qa.md).\n"
    "\n"
    "options:\n"
    "  --db STORE         the store (default " CLI_DEFAULT_DB ")\n"
    "  --commune C        check this commune (five-digit code); repeat for more\n"
    "  --rules FILE       severities and thresholds (check.key = value lines)\n"
    "  --format F         text (a summary per check and commune, the default), json\n"
    "                     (counts per check and sheet, and every finding) or gpkg\n"
    "                     (a GeoPackage, one layer per check; needs -o)\n"
    "  -o FILE            write the report to FILE instead of standard output\n"
    "\n"
    "exit status: 0 no error found, 1 bad input, 2 errors found.\n";

static const char *text_or_empty(const char *s)
{
    return s ? s : "";
}

static void report_text(FILE *out, const pdb_qa_report *rep, const pdb_qa_rules *rules)
{
    fprintf(out, "qa: %zu communes, %zu parcels: %zu errors, %zu warnings, %zu info\n",
            rep->ncommunes, rep->parcels, rep->by_severity[PDB_QA_ERROR],
            rep->by_severity[PDB_QA_WARNING], rep->by_severity[PDB_QA_INFO]);
    fprintf(out, "\n%-18s %-8s %s\n", "check", "severity", "findings");
    for (int c = 0; c < PDB_QA_CHECK_COUNT; c++) {
        size_t n = 0;
        const char *skip = NULL;
        for (size_t i = 0; i < rep->count; i++)
            n += rep->items[i].check == (pdb_qa_check)c;
        for (size_t i = 0; i < rep->nskips; i++)
            if (rep->skips[i].check == (pdb_qa_check)c)
                skip = rep->skips[i].reason;
        pdb_qa_severity sev = pdb_qa_rules_severity(rules, (pdb_qa_check)c);
        if (skip != NULL)
            fprintf(out, "%-18s %-8s skipped: %s\n", pdb_qa_check_name((pdb_qa_check)c),
                    pdb_qa_severity_name(sev), skip);
        else
            fprintf(out, "%-18s %-8s %zu\n", pdb_qa_check_name((pdb_qa_check)c),
                    pdb_qa_severity_name(sev), n);
    }
    for (size_t k = 0; k < rep->ncommunes; k++) {
        size_t per[PDB_QA_CHECK_COUNT] = {0}, total = 0;
        for (size_t i = 0; i < rep->count; i++)
            if (strcmp(rep->items[i].commune, rep->communes[k]) == 0) {
                per[rep->items[i].check]++;
                total++;
            }
        fprintf(out, "\ncommune %s: %zu findings", rep->communes[k], total);
        for (int c = 0; c < PDB_QA_CHECK_COUNT; c++)
            if (per[c])
                fprintf(out, "%s %s %zu", c ? "," : ":", pdb_qa_check_name((pdb_qa_check)c),
                        per[c]);
        fputc('\n', out);
        for (size_t i = 0; i < rep->count; i++) {
            const pdb_qa_finding *f = &rep->items[i];
            if (strcmp(f->commune, rep->communes[k]) != 0 || f->severity != PDB_QA_ERROR)
                continue;
            fprintf(out, "  error %s %s/%s: %s\n", pdb_qa_check_name(f->check),
                    text_or_empty(f->sheet), text_or_empty(f->parcel), text_or_empty(f->detail));
        }
    }
}

int cmd_qa(int argc, char **argv)
{
    enum { O_COMMUNE = CLI_O_OWN, O_RULES, O_FORMAT, O_OUT };
    static const struct option opts[] = {
        {"db", required_argument, 0, CLI_O_DB},
        {"commune", required_argument, 0, O_COMMUNE},
        {"rules", required_argument, 0, O_RULES},
        {"format", required_argument, 0, O_FORMAT},
        {"output", required_argument, 0, O_OUT},
        {"help", no_argument, 0, CLI_O_HELP},
        {0, 0, 0, 0},
    };
    const char *db = NULL, *rules_path = NULL, *format = "text", *out_path = NULL;
    const char **communes = calloc((size_t)argc + 1, sizeof *communes);
    size_t ncommunes = 0;
    int c;
    if (communes == NULL) {
        cli_error("out of memory");
        return QA_BAD_INPUT;
    }
    /* -o is the short form of --output: getopt_long's short options come
     * through the same loop when the table's string is not used, so take
     * it by hand before. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-o") == 0)
            argv[i] = (char *)"--output";
    cli_opts it = {
        .cmd = "qa", .usage = qa_usage, .opts = opts, .argc = argc, .argv = argv, .db_path = &db};
    while ((c = cli_opt_next(&it)) > 0) {
        switch (c) {
        case O_COMMUNE:
            communes[ncommunes++] = optarg;
            break;
        case O_RULES:
            rules_path = optarg;
            break;
        case O_FORMAT:
            format = optarg;
            break;
        case O_OUT:
            out_path = optarg;
            break;
        }
    }
    if (c < 0) {
        free(communes);
        return it.rc == CLI_OK ? CLI_OK : QA_BAD_INPUT;
    }
    if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 && strcmp(format, "gpkg") != 0) {
        free(communes);
        cli_usage_error("qa", "--format %s: text, json or gpkg", format);
        return QA_BAD_INPUT;
    }
    if (strcmp(format, "gpkg") == 0 && out_path == NULL) {
        free(communes);
        cli_usage_error("qa", "--format gpkg writes a file: give -o FILE.gpkg");
        return QA_BAD_INPUT;
    }

    pdb_ctx *ctx = NULL;
    pdb_store *store = NULL;
    pdb_qa_rules *rules = NULL;
    pdb_qa_report *rep = NULL;
    pdbi_ctx *ic = NULL;
    FILE *out = stdout;
    int rc = QA_BAD_INPUT;
    if (pdb_ctx_new(&ctx) != PDB_OK) {
        cli_error("cannot start (PROJ or GEOS failed to initialise)");
        goto done;
    }
    if ((rules_path ? pdb_qa_rules_read(ctx, rules_path, &rules)
                    : pdb_qa_rules_default(ctx, &rules)) != PDB_OK) {
        cli_lib_error(ctx, "rules");
        goto done;
    }
    if (pdb_store_open(ctx, db, PDB_OPEN_READONLY, &store) != PDB_OK) {
        cli_lib_error(ctx, "opening the store");
        goto done;
    }
    if (pdb_qa_run(ctx, store, rules, communes, ncommunes, &rep) != PDB_OK) {
        cli_lib_error(ctx, "qa");
        goto done;
    }
    if (strcmp(format, "gpkg") == 0) {
        if (pdbi_ctx_new(ctx, &ic) != PDB_OK) {
            cli_error("out of memory");
            goto done;
        }
        if (pdbi_qa_write_gpkg(ic, rep, out_path) != PDB_OK) {
            cli_error("qa: %s", pdbi_errmsg(ic));
            goto done;
        }
    } else {
        if (out_path != NULL && (out = fopen(out_path, "w")) == NULL) {
            out = stdout;
            cli_error("%s: %m", out_path);
            goto done;
        }
        if (strcmp(format, "json") == 0) {
            char *json = NULL;
            if (pdb_qa_report_to_json(ctx, rep, &json) != PDB_OK) {
                cli_lib_error(ctx, "qa");
                goto done;
            }
            fputs(json, out);
            fputc('\n', out);
            pdb_free(json);
        } else {
            report_text(out, rep, rules);
        }
        if (fflush(out) != 0 || ferror(out)) {
            cli_error("writing the report: %m");
            goto done;
        }
    }
    rc = rep->by_severity[PDB_QA_ERROR] > 0 ? QA_ERRORS : QA_CLEAN;
done:
    if (out != stdout)
        fclose(out);
    pdbi_ctx_free(ic);
    pdb_qa_report_free(rep);
    pdb_qa_rules_free(rules);
    pdb_store_close(store);
    pdb_ctx_free(ctx);
    free(communes);
    return rc;
}
