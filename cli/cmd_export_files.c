/*
 * cmd_export_files.c: `parceldb export --format GPKG|"ESRI Shapefile"|
 * GeoJSON`: the parcels as GIS files (docs/export.md). It runs in
 * parceldb-export (export_main.c), which links GDAL as parceldb-import
 * does; `parceldb export --format pmtiles` stays in parceldb (cmd_export.c)
 * and main.c sends the other formats here. Argument parsing and the audit
 * only; the work is in import/export.c.
 */
#include "cli.h"
#include "export.h"

#include <stdlib.h>
#include <string.h>

/* The exit status of a job that stopped on st (docs/export.md, "Exit
 * status"): GET /export (tiler/server/export_route.c) answers by it, never
 * by the message's words. A value the request gave that cannot be used
 * (a malformed sheet or date, a CRS the engine cannot reach, DXF/DGN
 * without one commune) is the caller's, as a usage error is; a commune or
 * selection with nothing in it is EXPORT_NOTHING; everything else (the
 * store, the disk, memory) is the job's failure. */
enum { EXPORT_NOTHING = 3 /* the selection holds no parcels: nothing written */ };
static int export_exit(pdb_status st)
{
    switch (st) {
    case PDB_EINVAL:
    case PDB_ECRS:
        return CLI_USAGE;
    case PDB_ENOTFOUND:
        return EXPORT_NOTHING;
    default:
        return CLI_FAIL;
    }
}

static const char export_files_usage[] =
    "usage: parceldb export --format GPKG|\"ESRI Shapefile\"|GeoJSON|DXF|DGN [--commune C ...]\n"
    "                       [--sheet S] [--bbox MINLON,MINLAT,MAXLON,MAXLAT] [--at DATE]\n"
    "                       [--srs CRS] [--personal] -o FILE|DIR [--db STORE]\n"
    "       parceldb export --format pmtiles ... (parceldb export --format pmtiles --help)\n"
    "\n"
    "Writes the parcels to a GeoPackage (one layer ThuaDat_<commune> per commune), a\n"
    "directory of Shapefiles (<commune>.shp/.shx/.dbf/.prj/.cpg, UTF-8) or one GeoJSON\n"
    "file; DXF and DGN: one commune as a line-and-label survey sheet (boundary lines,\n"
    "number, land-use and area texts, sheet frames) that 'parceldb import' reads back.\n"
    "Fields: MaXa, MaXaCu, SoTo, SoThua, LoaiDat, DienTich, DiaChi, and ChuSuDung\n"
    "(the owner) with --personal. GPKG and Shapefile are in each commune's survey CRS\n"
    "with the coordinates exactly as imported; GeoJSON is RFC 7946 WGS 84 unless --srs\n"
    "names another CRS. Written under a temporary name and renamed at the end: nothing\n"
    "half-written is left under FILE (docs/export.md).\n"
    "\n"
    "options:\n"
    "  --db STORE      the store (default " CLI_DEFAULT_DB ")\n"
    "  --commune C     only this commune (five-digit code); repeat for more\n"
    "  --sheet S       only this map sheet number\n"
    "  --bbox BOX      only parcels meeting this WGS 84 box\n"
    "  --at DATE       the parcels valid at DATE (YYYY-MM-DD: its end, or\n"
    "                  YYYY-MM-DDTHH:MM:SSZ), superseded ones included\n"
    "  --srs CRS       write every parcel in this CRS (EPSG:9208, 104-45, WGS84, ...)\n"
    "                  instead of its survey CRS; VN-2000 to WGS 84 through EPSG:6960\n"
    "  --personal      the owner's name too (recorded in the audit table)\n"
    "  -o FILE|DIR     the GeoPackage or GeoJSON file, or the Shapefiles' directory\n"
    "                  (or FILE.zip: the Shapefiles in one zip)\n"
    "  --audit-as NAME record the --personal answer for NAME (a token's name; what\n"
    "                  'parceldb serve' passes for GET /export), in --audit-db's\n"
    "                  audit table (default: the store's)\n";

int cmd_export_files(int argc, char **argv)
{
    enum {
        O_FORMAT = CLI_O_OWN,
        O_COMMUNE,
        O_SHEET,
        O_BBOX,
        O_AT,
        O_SRS,
        O_PERSONAL,
        O_AUDIT_AS,
        O_AUDIT_DB
    };
    static const struct option opts[] = {
        {"format", required_argument, 0, O_FORMAT},
        {"commune", required_argument, 0, O_COMMUNE},
        {"sheet", required_argument, 0, O_SHEET},
        {"bbox", required_argument, 0, O_BBOX},
        {"at", required_argument, 0, O_AT},
        {"srs", required_argument, 0, O_SRS},
        {"personal", no_argument, 0, O_PERSONAL},
        {"audit-as", required_argument, 0, O_AUDIT_AS},
        {"audit-db", required_argument, 0, O_AUDIT_DB},
        {"output", required_argument, 0, 'o'},
        {"db", required_argument, 0, CLI_O_DB},
        {"help", no_argument, 0, CLI_O_HELP},
        {0, 0, 0, 0},
    };
    pdbi_export_options o = {0};
    const char *db = NULL, *format = NULL, *srs = NULL, *audit_as = NULL, *audit_db = NULL;
    const char **communes = calloc((size_t)argc + 1, sizeof *communes);
    cli_opts it = {.cmd = "export",
                   .usage = export_files_usage,
                   .opts = opts,
                   .argc = argc,
                   .argv = argv,
                   .db_path = &db,
                   .short_opts = "o:"};
    int c, rc = CLI_USAGE;

    if (communes == NULL)
        return cli_error("out of memory");
    while ((c = cli_opt_next(&it)) > 0) {
        switch (c) {
        case O_FORMAT:
            format = optarg;
            break;
        case O_COMMUNE:
            if (strlen(optarg) != 5 || strspn(optarg, "0123456789") != 5) {
                cli_usage_error("export", "--commune wants a five-digit code, not '%s'", optarg);
                goto done;
            }
            communes[o.ncommunes++] = optarg;
            break;
        case O_SHEET:
            o.sheet = optarg;
            break;
        case O_BBOX:
            if (cli_parse_bbox(optarg, o.bbox) != 0) {
                cli_usage_error("export",
                                "--bbox wants MINLON,MINLAT,MAXLON,MAXLAT in WGS 84 degrees, "
                                "min < max, not '%s'",
                                optarg);
                goto done;
            }
            o.has_bbox = 1;
            break;
        case O_AT:
            o.at = optarg;
            break;
        case O_SRS:
            srs = optarg;
            break;
        case O_PERSONAL:
            o.personal = 1;
            break;
        case O_AUDIT_AS:
            audit_as = optarg;
            break;
        case O_AUDIT_DB:
            audit_db = optarg;
            break;
        case 'o':
            o.out_path = optarg;
            break;
        }
    }
    if (c < 0) {
        rc = it.rc;
        goto done;
    }
    int f = format ? pdbi_export_format_parse(format) : -1;
    if (f < 0) {
        cli_usage_error(
            "export", "--format wants GPKG, \"ESRI Shapefile\", GeoJSON, DXF, DGN or pmtiles%s%s%s",
            format ? ", not '" : "", format ? format : "", format ? "'" : "");
        goto done;
    }
    if (o.out_path == NULL || o.out_path[0] == '\0') {
        cli_usage_error("export", "-o %s is required",
                        f == PDBI_EXPORT_SHP ? "DIR (the Shapefiles' directory)" : "FILE");
        goto done;
    }
    o.format = (pdbi_export_format)f;
    o.communes = o.ncommunes ? communes : NULL;

    pdb_ctx *ctx = NULL;
    pdbi_ctx *ic = NULL;
    pdb_store *store = NULL;
    pdbi_export_result res = {0};
    rc = CLI_FAIL;
    if (pdb_ctx_new(&ctx) != PDB_OK || pdbi_ctx_new(ctx, &ic) != PDB_OK) {
        cli_error("cannot start (PROJ or GEOS failed to initialise)");
        goto out;
    }
    if (srs != NULL && pdb_crs_resolve(ctx, srs, &o.epsg) != PDB_OK) {
        rc = cli_usage_error("export", "--srs %s: %s", srs, pdb_errmsg(ctx));
        goto out;
    }
    if (pdb_store_open(ctx, db, PDB_OPEN_READONLY, &store) != PDB_OK) {
        cli_lib_error(ctx, "opening the store");
        goto out;
    }
    pdb_status st = pdbi_export_write(ic, store, &o, &res);
    if (st != PDB_OK) {
        cli_error("export: %s", pdbi_errmsg(ic));
        rc = export_exit(st);
        goto out;
    }
    /* The file appears under its name only once the audit table holds the
     * row for the owner names in it. */
    if (o.personal && audit_as == NULL &&
        cli_audit_personal_ids(ctx, audit_db ? audit_db : db, "export", res.ids, res.nids) !=
            CLI_OK)
        goto out;
    if (o.personal && audit_as != NULL &&
        cli_audit_personal_as(ctx, audit_db ? audit_db : db, audit_as, "GET /export", res.ids,
                              res.nids) != CLI_OK)
        goto out;
    if (pdbi_export_finish(ic, &res) != PDB_OK) {
        cli_error("export: %s", pdbi_errmsg(ic));
        goto out;
    }
    fprintf(stderr, "parceldb export: %zu parcels in %zu %s written to %s\n", res.nids, res.nlayers,
            f == PDBI_EXPORT_SHP ? (res.nlayers == 1 ? "file set" : "file sets")
                                 : (res.nlayers == 1 ? "layer" : "layers"),
            o.out_path);
    rc = CLI_OK;
out:
    pdbi_export_discard(&res);
    pdb_store_close(store);
    pdbi_ctx_free(ic);
    pdb_ctx_free(ctx);
done:
    free(communes);
    return rc;
}
