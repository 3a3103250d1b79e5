/*
 * cmd_serve.c: `parceldb serve` (the HTTP server: tiles, lookups, demo
 * page). Argument parsing only; the work is in libpdb_server
 * (tiler/server/).
 */
#include "cli.h"

#include "server.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char serve_usage[] =
    "usage: parceldb serve [--db STORE] [--listen HOST:PORT] [options]\n"
    "\n"
    "Serves the store over HTTP: PNG tiles (/tiles/{z}/{x}/{y}.png, @2x), TileJSON\n"
    "(/tiles.json), GeoJSON lookups (/parcels/at, /parcels/{commune}/{sheet}/{parcel},\n"
    "/parcels?bbox=), /communes, /health, /metrics, and a demo map at /.\n"
    "SIGHUP reloads the style, tokens and demo page (a file it cannot read any more\n"
    "is kept); SIGTERM drains and exits 0. Files are read before --user drops root.\n"
    "\n"
    "options:\n"
    "  --db STORE             the store (default " CLI_DEFAULT_DB ")\n"
    "  --listen HOST:PORT     address to listen on (default 127.0.0.1:8080; port 0\n"
    "                         takes a free one; [::1]:8080 for IPv6)\n"
    "  --port-file FILE       write the port listened on into FILE\n"
    "  --style FILE           map style (default: styles/landuse.json, else the copy\n"
    "                         built into parceldb)\n"
    "  --cache DIR            disk tile cache (shared with 'parceldb seed')\n"
    "  --cache-mb N           memory tile cache in MiB (default 256; 0 for none)\n"
    "  --cache-max-mb N       size limit of the --cache DIR in MiB, least recently used\n"
    "                         tiles removed first (default 0: no limit)\n"
    "  --tokens FILE          bearer tokens that may see owner names (one per line,\n"
    "                         or sha256:HEX); without it owners are never served\n"
    "  --audit-db STORE       the store whose audit table records every answer with\n"
    "                         owner names (default: --db; give a store the server may\n"
    "                         write when it may not write --db, e.g. with --user)\n"
    "  --web DIR              the demo page's files (default: the built or installed one)\n"
    "  --no-web               no demo page\n"
    "  --public-url URL       base URL written in tiles.json (default: from Host)\n"
    "  --threads N            worker threads (default: one per core)\n"
    "  --max-connections N    open connections at most (default 1024)\n"
    "  --max-per-ip N         open connections per client address (default 256)\n"
    "  --timeout S            close idle connections after S seconds (default 15)\n"
    "  --drain S              on SIGTERM, wait up to S seconds for requests (default 30)\n"
    "  --max-zoom Z           deepest tile zoom served (default 20)\n"
    "  --max-limit N          most features per /parcels?bbox= answer (default 1000)\n"
    "  --max-age S            Cache-Control max-age of tiles (default 60)\n"
    "  --render-wait-ms MS    longest wait for another request's render of the same\n"
    "                         tile, then 503 with Retry-After (default 10000)\n"
    "  --rate-limit R         requests per second per client address (default: none)\n"
    "  --rate-burst B         burst allowed above the rate (default 2 x R)\n"
    "  --quiet                no access log\n"
    "  --user NAME            started as root: run as NAME (its uid, gid and groups);\n"
    "                         style, tokens and demo page are read first, then the\n"
    "                         store and cache are opened as NAME; root binds the port\n"
    "  --allow-root           run as root without --user (refused otherwise)\n"
    "  --pmtiles FILE         serve the tiles and /tiles.json of a PMTiles archive\n"
    "                         ('parceldb export --format pmtiles'), with no store: the\n"
    "                         routes that need one answer 404 (docs/pmtiles.md)\n";

/* Parses a whole string as an unsigned int no larger than max. */
static int parse_uint(const char *s, unsigned max, unsigned *out)
{
    size_t v;
    if (cli_parse_size(s, &v) != 0 || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    enum {
        O_LISTEN = CLI_O_OWN,
        O_PORT_FILE,
        O_CACHE_MB,
        O_CACHE_MAX_MB,
        O_TOKENS,
        O_WEB,
        O_NO_WEB,
        O_PUBLIC_URL,
        O_THREADS,
        O_MAXCONN,
        O_PERIP,
        O_TIMEOUT,
        O_DRAIN,
        O_MAXZOOM,
        O_MAXLIMIT,
        O_MAXAGE,
        O_RENDER_WAIT,
        O_RATE,
        O_BURST,
        O_QUIET,
        O_USER,
        O_ALLOW_ROOT,
        O_AUDIT_DB,
        O_PMTILES,
    };
    static const struct option opts[] = {
        {"listen", required_argument, 0, O_LISTEN},
        {"port-file", required_argument, 0, O_PORT_FILE},
        {"cache-mb", required_argument, 0, O_CACHE_MB},
        {"cache-max-mb", required_argument, 0, O_CACHE_MAX_MB},
        {"tokens", required_argument, 0, O_TOKENS},
        {"audit-db", required_argument, 0, O_AUDIT_DB},
        {"web", required_argument, 0, O_WEB},
        {"no-web", no_argument, 0, O_NO_WEB},
        {"public-url", required_argument, 0, O_PUBLIC_URL},
        {"threads", required_argument, 0, O_THREADS},
        {"max-connections", required_argument, 0, O_MAXCONN},
        {"max-per-ip", required_argument, 0, O_PERIP},
        {"timeout", required_argument, 0, O_TIMEOUT},
        {"drain", required_argument, 0, O_DRAIN},
        {"max-zoom", required_argument, 0, O_MAXZOOM},
        {"max-limit", required_argument, 0, O_MAXLIMIT},
        {"max-age", required_argument, 0, O_MAXAGE},
        {"render-wait-ms", required_argument, 0, O_RENDER_WAIT},
        {"rate-limit", required_argument, 0, O_RATE},
        {"rate-burst", required_argument, 0, O_BURST},
        {"quiet", no_argument, 0, O_QUIET},
        {"user", required_argument, 0, O_USER},
        {"allow-root", no_argument, 0, O_ALLOW_ROOT},
        {"pmtiles", required_argument, 0, O_PMTILES},
        CLI_TILE_OPTIONS,
        {0, 0, 0, 0},
    };
    pdb_srv_options o;
    cli_opts it = CLI_TILE_OPTS(o, "serve", serve_usage, opts, argc, argv);
    int no_web = 0, c;
    unsigned u;
    size_t sz;
    double d;

    pdb_srv_options_default(&o);
    while ((c = cli_opt_next(&it)) > 0) {
        switch (c) {
        case O_LISTEN:
            o.listen = optarg;
            break;
        case O_PORT_FILE:
            o.port_file = optarg;
            break;
        case O_TOKENS:
            o.tokens_path = optarg;
            break;
        case O_AUDIT_DB:
            o.audit_path = optarg;
            break;
        case O_PMTILES:
            o.pmtiles_path = optarg;
            break;
        case O_WEB:
            o.web_dir = optarg;
            break;
        case O_NO_WEB:
            no_web = 1;
            break;
        case O_PUBLIC_URL:
            o.public_url = optarg;
            break;
        case O_QUIET:
            o.access_log = 0;
            break;
        case O_USER:
            o.user = optarg;
            break;
        case O_ALLOW_ROOT:
            o.allow_root = 1;
            break;
        case O_CACHE_MB:
            if (cli_parse_size(optarg, &sz) != 0 || sz > (1u << 20))
                return cli_usage_error("serve", "--cache-mb wants 0 to 1048576, not '%s'", optarg);
            o.cache_mb = sz;
            break;
        case O_CACHE_MAX_MB:
            if (cli_parse_size(optarg, &sz) != 0 || sz > (1u << 24))
                return cli_usage_error("serve", "--cache-max-mb wants 0 to 16777216, not '%s'",
                                       optarg);
            o.cache_max_mb = sz;
            break;
        case O_THREADS:
            if (parse_uint(optarg, 256, &u) != 0 || u == 0)
                return cli_usage_error("serve", "--threads wants 1 to 256, not '%s'", optarg);
            o.threads = u;
            break;
        case O_MAXCONN:
            if (parse_uint(optarg, 1000000, &u) != 0 || u == 0)
                return cli_usage_error("serve", "--max-connections wants a positive number");
            o.max_connections = u;
            break;
        case O_PERIP:
            if (parse_uint(optarg, 1000000, &u) != 0 || u == 0)
                return cli_usage_error("serve", "--max-per-ip wants a positive number");
            o.max_per_ip = u;
            break;
        case O_TIMEOUT:
            if (parse_uint(optarg, 86400, &u) != 0 || u == 0)
                return cli_usage_error("serve", "--timeout wants 1 to 86400 seconds");
            o.timeout_s = u;
            break;
        case O_DRAIN:
            if (parse_uint(optarg, 3600, &u) != 0)
                return cli_usage_error("serve", "--drain wants 0 to 3600 seconds");
            o.drain_s = u;
            break;
        case O_MAXZOOM:
            if (parse_uint(optarg, 24, &u) != 0)
                return cli_usage_error("serve", "--max-zoom wants 0 to 24");
            o.max_zoom = (int)u;
            break;
        case O_MAXLIMIT:
            if (parse_uint(optarg, 100000, &u) != 0 || u == 0)
                return cli_usage_error("serve", "--max-limit wants 1 to 100000");
            o.max_limit = u;
            break;
        case O_MAXAGE:
            if (parse_uint(optarg, 31536000, &u) != 0)
                return cli_usage_error("serve", "--max-age wants 0 to 31536000 seconds");
            o.max_age_s = u;
            break;
        case O_RENDER_WAIT:
            if (parse_uint(optarg, 3600000, &u) != 0)
                return cli_usage_error("serve", "--render-wait-ms wants 0 to 3600000");
            o.render_wait_ms = u;
            break;
        case O_RATE:
        case O_BURST:
            if (cli_parse_double(optarg, &d) != 0 || d <= 0 || d > 1e6)
                return cli_usage_error("serve", "--rate-limit and --rate-burst want a positive "
                                                "number");
            if (c == O_RATE)
                o.rate_limit = d;
            else
                o.rate_burst = d;
            break;
        }
    }
    if (c < 0)
        return it.rc;
    if (no_web)
        o.web_dir = NULL;
    else if (o.web_dir == NULL)
        o.web_dir = pdb_srv_default_web_dir(); /* NULL: no demo page, said at / */
    /* GET /export runs parceldb-export (GDAL stays out of the server);
     * without it, /export answers 503. */
    static char exporter[PATH_MAX + 64];
    if (cli_helper_find("parceldb-export", exporter, sizeof exporter) == 0)
        o.exporter = exporter;
    return pdb_srv_run(&o) == 0 ? CLI_OK : CLI_FAIL;
}
