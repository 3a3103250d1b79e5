/*
 * cmd_seed.c: `parceldb seed` (pre-rendering tiles into the server's disk
 * cache). Argument parsing only; the work is in libpdb_server
 * (tiler/server/seed.c).
 */
#include "cli.h"
#include "server.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char seed_usage[] =
    "usage: parceldb seed --cache DIR --zoom A-B [--bbox MINLON,MINLAT,MAXLON,MAXLAT] [options]\n"
    "\n"
    "Renders every tile of zooms A to B over the box (default: every parcel's) into\n"
    "the disk cache that 'parceldb serve --cache DIR' reads. Tiles already current\n"
    "are skipped, so a rerun finishes an interrupted job.\n"
    "\n"
    "options:\n"
    "  --db STORE       the store (default " CLI_DEFAULT_DB ")\n"
    "  --style FILE     map style (as for serve)\n"
    "  --cache-max-mb N size limit of the cache in MiB, as for serve (default 0: none)\n"
    "  --scale S        1 (256 px, default), 2 (512 px @2x) or both\n"
    "  --format F       png (default) or mvt (vector tiles, as /tiles/{z}/{x}/{y}.mvt)\n"
    "  --threads N      render threads (default: one per core)\n"
    "  --max-zoom Z     deepest zoom allowed (default 20)\n"
    "  --max-tiles N    refuse jobs of more tiles (default 10000000)\n"
    "  --progress       a progress bar even when stderr is not a terminal\n"
    "  --no-progress    no progress bar\n";

int cmd_seed(int argc, char **argv)
{
    enum {
        O_ZOOM = CLI_O_OWN,
        O_BBOX,
        O_SCALE,
        O_THREADS,
        O_MAXZOOM,
        O_MAXTILES,
        O_CACHE_MAX_MB,
        O_PROGRESS,
        O_NO_PROGRESS,
        O_FORMAT,
    };
    static const struct option opts[] = {
        {"zoom", required_argument, 0, O_ZOOM},
        {"bbox", required_argument, 0, O_BBOX},
        {"scale", required_argument, 0, O_SCALE},
        {"format", required_argument, 0, O_FORMAT},
        {"threads", required_argument, 0, O_THREADS},
        {"max-zoom", required_argument, 0, O_MAXZOOM},
        {"max-tiles", required_argument, 0, O_MAXTILES},
        {"cache-max-mb", required_argument, 0, O_CACHE_MAX_MB},
        {"progress", no_argument, 0, O_PROGRESS},
        {"no-progress", no_argument, 0, O_NO_PROGRESS},
        CLI_TILE_OPTIONS,
        {0, 0, 0, 0},
    };
    pdb_srv_seed_options o;
    cli_opts it = CLI_TILE_OPTS(o, "seed", seed_usage, opts, argc, argv);
    int have_zoom = 0, c;
    size_t sz;

    pdb_srv_seed_options_default(&o);
    while ((c = cli_opt_next(&it)) > 0) {
        switch (c) {
        case O_PROGRESS:
            o.progress = 1;
            break;
        case O_NO_PROGRESS:
            o.progress = 0;
            break;
        case O_ZOOM:
            if (cli_parse_zooms(optarg, &o.zoom_min, &o.zoom_max) != 0 || o.zoom_min > o.zoom_max)
                return cli_usage_error("seed", "--zoom wants A-B with A <= B, not '%s'", optarg);
            have_zoom = 1;
            break;
        case O_BBOX:
            if (cli_parse_bbox(optarg, o.bbox) != 0)
                return cli_usage_error("seed",
                                       "--bbox wants MINLON,MINLAT,MAXLON,MAXLAT in WGS 84 "
                                       "degrees, min < max, not '%s'",
                                       optarg);
            break;
        case O_SCALE:
            if (strcmp(optarg, "1") == 0)
                o.scales = 1;
            else if (strcmp(optarg, "2") == 0)
                o.scales = 2;
            else if (strcmp(optarg, "both") == 0)
                o.scales = 3;
            else
                return cli_usage_error("seed", "--scale wants 1, 2 or both");
            break;
        case O_FORMAT:
            if (strcmp(optarg, "png") != 0 && strcmp(optarg, "mvt") != 0)
                return cli_usage_error("seed", "--format wants png or mvt, not '%s'", optarg);
            o.mvt = strcmp(optarg, "mvt") == 0;
            break;
        case O_THREADS:
            if (cli_parse_size(optarg, &sz) != 0 || sz == 0 || sz > 64)
                return cli_usage_error("seed", "--threads wants 1 to 64");
            o.threads = (unsigned)sz;
            break;
        case O_MAXZOOM:
            if (cli_parse_size(optarg, &sz) != 0 || sz > 24)
                return cli_usage_error("seed", "--max-zoom wants 0 to 24");
            o.max_zoom = (int)sz;
            break;
        case O_MAXTILES:
            if (cli_parse_size(optarg, &sz) != 0 || sz == 0)
                return cli_usage_error("seed", "--max-tiles wants a positive number");
            o.max_tiles = sz;
            break;
        case O_CACHE_MAX_MB:
            if (cli_parse_size(optarg, &sz) != 0 || sz > (1u << 24))
                return cli_usage_error("seed", "--cache-max-mb wants 0 to 16777216");
            o.cache_max_mb = sz;
            break;
        }
    }
    if (c < 0)
        return it.rc;
    if (!have_zoom)
        return cli_usage_error("seed", "--zoom A-B is required");
    if (o.mvt && o.scales != 1)
        return cli_usage_error("seed", "--scale is for PNG tiles: a vector tile has one size");
    if (o.cache_dir == NULL)
        return cli_usage_error("seed", "--cache DIR is required");
    if (o.zoom_max > o.max_zoom)
        return cli_usage_error("seed", "zoom %d is over --max-zoom %d", o.zoom_max, o.max_zoom);
    return pdb_srv_seed(&o) == 0 ? CLI_OK : CLI_FAIL;
}
