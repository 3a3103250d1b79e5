/*
 * cmd_export.c: `parceldb export --format pmtiles` (the map's tiles in one
 * static PMTiles archive); the GIS formats are cmd_export_files.c's, in
 * parceldb-export (main.c dispatches). Argument parsing only; the work is in
 * libpdb_server (tiler/server/export.c), the archive format in
 * tiler/pmtiles.c.
 */
#include "cli.h"
#include "server.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char export_usage[] =
    "usage: parceldb export --format pmtiles --zoom A-B [--bbox MINLON,MINLAT,MAXLON,MAXLAT]\n"
    "                       [--tiles png|mvt] -o FILE.pmtiles [options]\n"
    "\n"
    "Writes every tile of zooms A to B over the box (default: every parcel's) into\n"
    "one PMTiles v3 archive, byte for byte as 'parceldb serve' answers them. Serve it\n"
    "with 'parceldb serve --pmtiles FILE', or from any web server with range requests\n"
    "and the pmtiles JavaScript library (docs/pmtiles.md). The archive is written\n"
    "as FILE.tmp and renamed: no half-written archive is ever left under FILE.\n"
    "\n"
    "options:\n"
    "  --db STORE       the store (default " CLI_DEFAULT_DB ")\n"
    "  --style FILE     map style (as for serve)\n"
    "  --tiles KIND     png (the default: 256 px PNG) or mvt (vector tiles, gzip),\n"
    "                   as /tiles/{z}/{x}/{y}.png or .mvt answers them\n"
    "  --threads N      render threads (default: one per core)\n"
    "  --max-zoom Z     the server's --max-zoom, deepest zoom allowed (default 20)\n"
    "  --max-tiles N    refuse jobs of more tiles (default 10000000)\n"
    "  --leaf-entries N entries per leaf directory (default: leaf directories only\n"
    "                   when the root directory would pass 16 KiB)\n"
    "  --progress       a progress bar even when stderr is not a terminal\n"
    "  --no-progress    no progress bar\n";

int cmd_export(int argc, char **argv)
{
    enum {
        O_FORMAT = CLI_O_OWN,
        O_ZOOM,
        O_BBOX,
        O_TILES,
        O_THREADS,
        O_MAXZOOM,
        O_MAXTILES,
        O_LEAF,
        O_PROGRESS,
        O_NO_PROGRESS,
    };
    static const struct option opts[] = {
        {"format", required_argument, 0, O_FORMAT},
        {"zoom", required_argument, 0, O_ZOOM},
        {"bbox", required_argument, 0, O_BBOX},
        {"tiles", required_argument, 0, O_TILES},
        {"output", required_argument, 0, 'o'},
        {"threads", required_argument, 0, O_THREADS},
        {"max-zoom", required_argument, 0, O_MAXZOOM},
        {"max-tiles", required_argument, 0, O_MAXTILES},
        {"leaf-entries", required_argument, 0, O_LEAF},
        {"progress", no_argument, 0, O_PROGRESS},
        {"no-progress", no_argument, 0, O_NO_PROGRESS},
        {"db", required_argument, 0, CLI_O_DB},
        {"style", required_argument, 0, CLI_O_STYLE},
        {"help", no_argument, 0, CLI_O_HELP},
        {0, 0, 0, 0},
    };
    pdb_srv_export_options o;
    const char *format = NULL;
    cli_opts it = {.cmd = "export",
                   .usage = export_usage,
                   .opts = opts,
                   .argc = argc,
                   .argv = argv,
                   .db_path = &o.db_path,
                   .style_path = &o.style_path,
                   .short_opts = "o:"};
    int have_zoom = 0, c;
    size_t sz;

    pdb_srv_export_options_default(&o);
    while ((c = cli_opt_next(&it)) > 0) {
        switch (c) {
        case O_FORMAT:
            format = optarg;
            break;
        case 'o':
            o.out_path = optarg;
            break;
        case O_PROGRESS:
            o.progress = 1;
            break;
        case O_NO_PROGRESS:
            o.progress = 0;
            break;
        case O_ZOOM:
            if (cli_parse_zooms(optarg, &o.zoom_min, &o.zoom_max) != 0 || o.zoom_min > o.zoom_max)
                return cli_usage_error("export", "--zoom wants A-B with A <= B, not '%s'", optarg);
            have_zoom = 1;
            break;
        case O_BBOX:
            if (cli_parse_bbox(optarg, o.bbox) != 0)
                return cli_usage_error("export",
                                       "--bbox wants MINLON,MINLAT,MAXLON,MAXLAT in WGS 84 "
                                       "degrees, min < max, not '%s'",
                                       optarg);
            break;
        case O_TILES:
            if (strcmp(optarg, "mvt") != 0 && strcmp(optarg, "png") != 0)
                return cli_usage_error("export", "--tiles wants png or mvt, not '%s'", optarg);
            o.mvt = strcmp(optarg, "mvt") == 0;
            break;
        case O_THREADS:
            if (cli_parse_size(optarg, &sz) != 0 || sz == 0 || sz > 64)
                return cli_usage_error("export", "--threads wants 1 to 64");
            o.threads = (unsigned)sz;
            break;
        case O_MAXZOOM:
            if (cli_parse_size(optarg, &sz) != 0 || sz > 24)
                return cli_usage_error("export", "--max-zoom wants 0 to 24");
            o.max_zoom = (int)sz;
            break;
        case O_MAXTILES:
            if (cli_parse_size(optarg, &sz) != 0 || sz == 0)
                return cli_usage_error("export", "--max-tiles wants a positive number");
            o.max_tiles = sz;
            break;
        case O_LEAF:
            if (cli_parse_size(optarg, &sz) != 0 || sz == 0 || sz > 1000000)
                return cli_usage_error("export", "--leaf-entries wants 1 to 1000000");
            o.leaf_entries = sz;
            break;
        }
    }
    if (c < 0)
        return it.rc;
    /* main.c sends every other format to parceldb-export. */
    if (format == NULL || strcmp(format, "pmtiles") != 0)
        return cli_usage_error("export", "--format pmtiles is the format of this command");
    if (!have_zoom)
        return cli_usage_error("export", "--zoom A-B is required");
    if (o.out_path == NULL)
        return cli_usage_error("export", "-o FILE.pmtiles is required");
    if (o.zoom_max > o.max_zoom)
        return cli_usage_error("export", "zoom %d is over --max-zoom %d", o.zoom_max, o.max_zoom);
    return pdb_srv_export(&o) == 0 ? CLI_OK : CLI_FAIL;
}
