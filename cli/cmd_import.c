/*
 * cmd_import.c: `parceldb import`: commune cadastral surveys into the store
 * (the work is in import/, see docs/import.md).
 */
#include "cli.h"
#include "importer.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: parceldb import [--db STORE] [options] FILE|DIR|'GLOB'...\n"
    "\n"
    "Imports commune cadastral surveys: any vector file GDAL reads (Shapefile,\n"
    "GeoPackage, GeoJSON, DXF, DGN, GML, KML, CSV with WKT, ...). A directory\n"
    "gives every survey file in it; a quoted pattern is expanded. Each commune\n"
    "is written in one transaction; a re-import supersedes (history is kept),\n"
    "matches the new parcels with the old ones by overlap and records their\n"
    "lineage; the summary ends with a line per commune of what changed\n"
    "(unchanged, renumbered, reshaped, split, merged, new, retired; see\n"
    "'parceldb info --changes BATCH').\n"
    "\n"
    "options:\n"
    "  --db STORE            the store (default " CLI_DEFAULT_DB ")\n"
    "  --srs CRS             the source CRS (EPSG:N or a zone name such as 104-45),\n"
    "                        over the file's own\n"
    "  --force-srs           keep a CRS that contradicts the commune's TM-3 zone\n"
    "  --commune CODE        the commune of every record (over any commune field)\n"
    "  --field-map FILE      lines target=SourceField; targets: commune, former_commune,\n"
    "                        sheet, parcel, area, landuse, owner, address\n"
    "  --encoding NAME       attribute text encoding: utf8, tcvn3, vni, latin1, cp1258\n"
    "                        (default: declared, or detected)\n"
    "  --force               import files whose checksum was imported before\n"
    "  --dry-run             read and validate, report, write nothing\n"
    "  --no-overviews        leave the low-zoom overviews of the communes imported\n"
    "                        to the server (or a later run) instead of rebuilding\n"
    "                        them at the end\n"
    "  --threads N           1 or 2 (default 2: one reads, one writes)\n"
    "  --max-vertices N      per parcel (default 100000); more is rejected\n"
    "  --area-tolerance F    flag parcels whose surveyed and computed areas differ by\n"
    "                        more than F of the computed area (default 0.05) ...\n"
    "  --area-tolerance-m2 A ... and by more than A m2 (default 1)\n"
    "  --sheets              read DGN/DXF layers as line-and-label sheets (boundary\n"
    "                        lines, number/land-use/area texts); default: detected\n"
    "  --levels FILE         lines role = LEVEL, LAYER, ... (roles: boundary, number,\n"
    "                        landuse, area, frame, road, water) over the default\n"
    "                        (10 RANH_THUA, 13 SO_THUA, 14 LOAI_DAT, 15 DIEN_TICH, ...)\n"
    "  --snap METRES         close gaps in sheet line work up to METRES (each reported)\n"
    "  --sheet N             the sheet number of every sheet file (over frame texts)\n"
    "  --quiet               no progress, no summary (errors only)\n"
    "  --progress            a progress bar even when stderr is not a terminal\n"
    "  --qa warn|strict      run the quality checks (docs/qa.md) on each commune before\n"
    "                        its commit and say their counts; strict also refuses a\n"
    "                        commune with any finding of severity error (nothing of it\n"
    "                        stored, the file fails)\n"
    "  --qa-rules FILE       the checks' rules for --qa (default: docs/qa.md's)\n"
    "\n"
    "Exit status: 0 when every file was imported (or skipped), 1 when a file could\n"
    "not be imported (the others still are), 2 for a usage error.\n";

int cmd_import(int argc, char **argv)
{
    enum {
        OPT_DB = 256,
        OPT_SRS,
        OPT_FORCE_SRS,
        OPT_COMMUNE,
        OPT_FIELD_MAP,
        OPT_ENCODING,
        OPT_FORCE,
        OPT_DRY_RUN,
        OPT_NO_OVERVIEWS,
        OPT_THREADS,
        OPT_MAX_VERTICES,
        OPT_AREA_TOL,
        OPT_AREA_TOL_M2,
        OPT_QUIET,
        OPT_PROGRESS,
        OPT_QA,
        OPT_QA_RULES,
        OPT_SHEETS,
        OPT_LEVELS,
        OPT_SNAP,
        OPT_SHEET,
    };
    static const struct option opts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"srs", required_argument, NULL, OPT_SRS},
        {"force-srs", no_argument, NULL, OPT_FORCE_SRS},
        {"commune", required_argument, NULL, OPT_COMMUNE},
        {"field-map", required_argument, NULL, OPT_FIELD_MAP},
        {"encoding", required_argument, NULL, OPT_ENCODING},
        {"force", no_argument, NULL, OPT_FORCE},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"no-overviews", no_argument, NULL, OPT_NO_OVERVIEWS},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"max-vertices", required_argument, NULL, OPT_MAX_VERTICES},
        {"area-tolerance", required_argument, NULL, OPT_AREA_TOL},
        {"area-tolerance-m2", required_argument, NULL, OPT_AREA_TOL_M2},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"qa", required_argument, NULL, OPT_QA},
        {"qa-rules", required_argument, NULL, OPT_QA_RULES},
        {"sheets", no_argument, NULL, OPT_SHEETS},
        {"levels", required_argument, NULL, OPT_LEVELS},
        {"snap", required_argument, NULL, OPT_SNAP},
        {"sheet", required_argument, NULL, OPT_SHEET},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    pdbi_options o;
    const char *qa_rules_path = NULL;
    int quiet = 0, bar = 0, c;
    size_t threads = 2;

    memset(&o, 0, sizeof o);
    o.db_path = CLI_DEFAULT_DB;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_DB:
            o.db_path = optarg;
            break;
        case OPT_SRS:
            o.srs = optarg;
            break;
        case OPT_FORCE_SRS:
            o.force_srs = 1;
            break;
        case OPT_COMMUNE:
            o.commune = optarg;
            break;
        case OPT_FIELD_MAP:
            o.field_map_path = optarg;
            break;
        case OPT_ENCODING:
            o.encoding = optarg;
            break;
        case OPT_FORCE:
            o.force = 1;
            break;
        case OPT_DRY_RUN:
            o.dry_run = 1;
            break;
        case OPT_NO_OVERVIEWS:
            o.no_overviews = 1;
            break;
        case OPT_THREADS:
            if (cli_parse_size(optarg, &threads) != 0 || threads < 1 || threads > 2)
                return cli_usage_error("import", "--threads takes 1 or 2");
            break;
        case OPT_MAX_VERTICES:
            if (cli_parse_size(optarg, &o.max_vertices) != 0 || o.max_vertices < 4)
                return cli_usage_error("import", "--max-vertices takes a number of 4 or more");
            break;
        case OPT_AREA_TOL:
            if (cli_parse_double(optarg, &o.area_tol_rel) != 0 || !(o.area_tol_rel > 0))
                return cli_usage_error("import", "--area-tolerance takes a fraction such as 0.05");
            break;
        case OPT_AREA_TOL_M2:
            if (cli_parse_double(optarg, &o.area_tol_m2) != 0 || !(o.area_tol_m2 > 0))
                return cli_usage_error("import", "--area-tolerance-m2 takes a positive area");
            break;
        case OPT_QUIET:
            quiet = 1;
            break;
        case OPT_PROGRESS:
            bar = 1;
            break;
        case OPT_QA:
            if (strcmp(optarg, "warn") == 0)
                o.qa = PDBI_QA_WARN;
            else if (strcmp(optarg, "strict") == 0)
                o.qa = PDBI_QA_STRICT;
            else
                return cli_usage_error("import", "--qa %s: warn or strict", optarg);
            break;
        case OPT_QA_RULES:
            qa_rules_path = optarg;
            break;
        case OPT_SHEETS:
            o.sheets = 1;
            break;
        case OPT_LEVELS:
            o.levels_path = optarg;
            break;
        case OPT_SNAP:
            if (cli_parse_double(optarg, &o.snap_m) != 0 || !(o.snap_m > 0) || o.snap_m > 10)
                return cli_usage_error("import", "--snap takes metres between 0 and 10 (e.g. 0.1)");
            break;
        case OPT_SHEET: {
            size_t n;
            if (cli_parse_size(optarg, &n) != 0 || n == 0)
                return cli_usage_error("import", "--sheet takes a sheet number (1, 2, ...)");
            o.sheet = optarg;
            break;
        }
        case 'h':
            fputs(usage_text, stdout);
            return CLI_OK;
        default:
            return cli_usage_error("import", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("import", "no file to import");
    if (qa_rules_path != NULL && o.qa == 0)
        return cli_usage_error("import", "--qa-rules needs --qa warn or --qa strict");
    o.threads = (int)threads;
    o.log = stderr;
    o.summary = quiet ? NULL : stdout;
    o.progress = quiet                   ? PDBI_PROGRESS_NONE
                 : bar || isatty(2) == 1 ? PDBI_PROGRESS_BAR
                                         : PDBI_PROGRESS_LOG;

    pdb_ctx *ctx = NULL;
    pdbi_ctx *ic = NULL;
    if (pdb_ctx_new(&ctx) != PDB_OK || pdbi_ctx_new(ctx, &ic) != PDB_OK) {
        pdb_ctx_free(ctx);
        return cli_error("import: cannot start (PROJ or GEOS failed to initialise)");
    }
    char **paths = NULL;
    size_t npaths = 0;
    pdbi_run_result *res = NULL;
    pdb_qa_rules *qa_rules = NULL;
    int rc = CLI_OK;
    if (qa_rules_path != NULL && pdb_qa_rules_read(ctx, qa_rules_path, &qa_rules) != PDB_OK)
        rc = cli_lib_error(ctx, "import: --qa-rules");
    o.qa_rules = qa_rules;
    if (rc != CLI_OK)
        ; /* said above */
    else if (pdbi_expand_inputs(ic, argv + optind, (size_t)(argc - optind), &paths, &npaths) !=
             PDB_OK)
        rc = cli_error("import: %s", pdbi_errmsg(ic));
    else if (npaths == 0)
        rc = cli_error("import: no survey file in %s", argv[optind]);
    else if (pdbi_run(ic, &o, paths, npaths, &res) != PDB_OK) {
        rc = cli_error("import: %s", pdbi_errmsg(ic));
    } else {
        pdbi_print_summary(o.summary, res, o.dry_run);
        if (res->files_failed > 0)
            rc = cli_error("import: %zu of %zu file%s not imported (see above)", res->files_failed,
                           res->nfiles, res->nfiles == 1 ? "" : "s");
        /* The exit status is this import's own data: overviews are derived,
         * rebuilt later, and a commune's failure there is recorded in the
         * store (parceldb info --check); it is a warning, not a failure. */
        if (res->overview_error != NULL)
            fprintf(stderr, "parceldb import: warning: the data is committed, but %s\n",
                    res->overview_error);
        else if (res->overviews_failed > 0)
            fprintf(stderr,
                    "parceldb import: warning: the data is committed, but the overviews of %zu "
                    "commune%s could not be built (see 'parceldb info --check')\n",
                    res->overviews_failed, res->overviews_failed == 1 ? "" : "s");
    }
    pdbi_run_result_free(res);
    pdb_qa_rules_free(qa_rules);
    pdbi_paths_free(paths, npaths);
    pdbi_ctx_free(ic);
    pdb_ctx_free(ctx);
    return rc;
}
