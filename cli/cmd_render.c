/*
 * cmd_render.c: `parceldb render`: one tile, or a list of tiles, to PNG
 * files (the work is in tiler/, see docs/rendering.md).
 */
#include "cli.h"
#include "storefile.h"
#include "tiler.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char usage_text[] =
    "usage: parceldb render [--db STORE] [options] Z/X/Y -o FILE.png|FILE.mvt\n"
    "       parceldb render [--db STORE] [options] --tiles FILE --out DIR\n"
    "       parceldb render [--db STORE] --rebuild-overviews [--commune CODE]\n"
    "\n"
    "Renders PNG map tiles (EPSG:3857, XYZ scheme) of the store's current parcels,\n"
    "or Mapbox vector tiles (MVT 2.1, uncompressed). The batch form reads lines\n"
    "'z x y' and writes DIR/z/x/y.png (or .mvt), then prints one line: tiles,\n"
    "seconds, tiles per second and mean tile bytes.\n"
    "\n"
    "options:\n"
    "  --db STORE            the store (default " CLI_DEFAULT_DB ")\n"
    "  --style FILE          a style (default: styles/landuse.json, else the copy built\n"
    "                        into parceldb; see styles/README.md)\n"
    "  --format png|mvt      what to write (default: mvt when -o ends in .mvt, else png)\n"
    "  --max-bytes N         size cap of a vector tile (default 512000): below z16 the\n"
    "                        smallest parcels are left out until it fits; never from z16\n"
    "  --scale 1|2           256 px tiles, or 512 px (@2x) (default 1)\n"
    "  -o, --output FILE     where the single tile goes ('-' for stdout)\n"
    "  --tiles FILE          the tile list ('-' for stdin)\n"
    "  --out DIR             where the batch's tiles go\n"
    "  --palette MODE        auto (8-bit palette when lossless, the default), never,\n"
    "                        or quantize (always 8-bit, lossy on anti-aliased edges)\n"
    "  --level N             deflate level 1-12 (libdeflate; default: the measured default, 1)\n"
    "  --antialias fast|best edges with 17 coverage levels (default: smaller, faster)\n"
    "                        or Cairo's exact coverage\n"
    "  --at DATE             the parcels in force then, superseded ones included:\n"
    "                        YYYY-MM-DD is the end of that day in UTC, or an instant\n"
    "                        YYYY-MM-DDTHH:MM:SS[.mmm]Z; every zoom draws parcels (the\n"
    "                        overviews are current only); before any data: an error\n"
    "  --font-dir DIR        where label fonts are looked up\n"
    "                        (default /usr/share/fonts/truetype/dejavu)\n"
    "  --rebuild-overviews   rebuild the low-zoom overviews of the communes imported\n"
    "                        since they were built (or of --commune CODE); until then\n"
    "                        low zooms draw those communes' parcels. A commune whose\n"
    "                        rebuild failed is tried again only once it is imported\n"
    "                        again, or with --commune CODE ('parceldb info --check'\n"
    "                        names it and why); the others are built all the same\n";

typedef struct render_opts {
    const char *db;            /* store path */
    const char *style;         /* style path */
    const char *output;        /* single tile's file */
    const char *tiles;         /* batch list */
    const char *out_dir;       /* batch directory */
    const char *font_dir;      /* label fonts */
    int scale;                 /* 1 or 2 */
    int antialias_best;        /* --antialias best */
    pdbt_png_options png;      /* encoder options */
    int mvt;                   /* 1: vector tiles (--format mvt, or -o *.mvt) */
    pdbt_mvt_options mvt_opts; /* --max-bytes */
    const char *at;            /* --at DATE, or NULL for the current parcels */
} render_opts;

static int write_file(const char *path, const unsigned char *data, size_t len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    if (f == NULL)
        return -1;
    int ok = fwrite(data, 1, len, f) == len;
    if (f != stdout)
        ok &= fclose(f) == 0;
    else
        ok &= fflush(f) == 0;
    return ok ? 0 : -1;
}

/* mkdir -p for DIR/z/x. The last directory alone first: after the first
 * tiles its parents exist (a mkdir per component of the path for every
 * tile was 2250 calls for the bench's 250 z16 tiles, now 259). */
static int make_dirs(char *path)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST)
        return 0;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0777);
        *p = '/';
        if (rc != 0 && errno != EEXIST)
            return -1;
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Renders and encodes one tile; *png is caller-owned. */
static int render_one(pdbt_ctx *tctx, pdbt_renderer *r, const pdbt_tile *t, const render_opts *o,
                      unsigned char **png, size_t *len)
{
    pdbt_image img;
    const pdbt_png_options *po = &o->png;
    if (o->mvt) {
        if (pdbt_mvt_tile(tctx, r, t, &o->mvt_opts, png, len, NULL) != PDB_OK)
            return cli_error("tile %d/%u/%u: %s", t->z, t->x, t->y, pdbt_errmsg(tctx));
        return CLI_OK;
    }
    if (pdbt_render_tile(tctx, r, t, &img, NULL) != PDB_OK ||
        pdbt_png_encode(tctx, &img, po, png, len) != PDB_OK)
        return cli_error("tile %d/%u/%u: %s", t->z, t->x, t->y, pdbt_errmsg(tctx));
    return CLI_OK;
}

static int run_batch(pdbt_ctx *tctx, pdbt_renderer *r, const render_opts *o)
{
    FILE *in = strcmp(o->tiles, "-") == 0 ? stdin : fopen(o->tiles, "r");
    char line[256], path[4096];
    size_t lineno = 0, count = 0, bytes = 0;
    struct timespec t0, t1;
    int rc = CLI_OK;

    if (in == NULL)
        return cli_error("%s: cannot open: %s", o->tiles, strerror(errno));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (rc == CLI_OK && fgets(line, sizeof line, in) != NULL) {
        pdbt_tile t;
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *s = line + strspn(line, " \t");
        if (*s == '\0' || *s == '#')
            continue;
        if (pdbt_tile_parse(tctx, s, PDBT_TILE_MAX_ZOOM, &t) != PDB_OK) {
            rc = cli_error("%s:%zu: %s", o->tiles, lineno, pdbt_errmsg(tctx));
            break;
        }
        t.scale = o->scale;
        unsigned char *png = NULL;
        size_t len = 0;
        if ((rc = render_one(tctx, r, &t, o, &png, &len)) != CLI_OK)
            break;
        snprintf(path, sizeof path, "%s/%d/%u", o->out_dir, t.z, t.x);
        if (make_dirs(path) != 0) {
            rc = cli_error("%s: cannot create: %s", path, strerror(errno));
        } else {
            snprintf(path, sizeof path, "%s/%d/%u/%u%s.%s", o->out_dir, t.z, t.x, t.y,
                     t.scale == 2 && !o->mvt ? "@2x" : "", o->mvt ? "mvt" : "png");
            if (write_file(path, png, len) != 0)
                rc = cli_error("%s: cannot write: %s", path, strerror(errno));
        }
        free(png);
        count++;
        bytes += len;
    }
    if (rc == CLI_OK && ferror(in))
        rc = cli_error("%s: read error", o->tiles);
    if (in != stdin)
        fclose(in);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc == CLI_OK) {
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("%zu tiles in %.3f s: %.1f tiles/s, mean %s %.0f bytes\n", count, secs,
               secs > 0 ? count / secs : 0.0, o->mvt ? "MVT" : "PNG",
               count ? (double)bytes / count : 0.0);
    }
    return rc;
}

/* The Z/X/Y argument, read before anything is opened (a usage error). */
static int parse_tile_arg(const char *text, pdbt_tile *tile)
{
    pdbt_ctx *tctx = NULL;
    int rc = CLI_OK;
    if (pdbt_ctx_new(NULL, &tctx) != PDB_OK)
        return cli_error("out of memory");
    if (pdbt_tile_parse(tctx, text, PDBT_TILE_MAX_ZOOM, tile) != PDB_OK)
        rc = cli_usage_error("render", "%s", pdbt_errmsg(tctx));
    pdbt_ctx_free(tctx);
    return rc;
}

static int rebuild(const char *db, const char *commune)
{
    pdb_ctx *ctx = NULL;
    pdb_store *store = NULL;
    int rc = CLI_OK;
    pdb_overview_report rep;
    struct timespec t0, t1;
    if (pdb_ctx_new(&ctx) != PDB_OK)
        return cli_error("cannot start (PROJ or GEOS failed to initialise)");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (pdb_store_open(ctx, db, PDB_OPEN_READWRITE, &store) != PDB_OK) {
        char shown[4096];
        rc = cli_lib_error(ctx, pdb_srv_store_shown(db, shown, sizeof shown));
    } else if (pdb_overview_rebuild_report(ctx, store, commune, &rep) != PDB_OK) {
        rc = cli_lib_error(ctx, "rebuilding overviews");
    } else {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("overviews of %zu commune%s rebuilt in %.3f s\n", rep.rebuilt,
               rep.rebuilt == 1 ? "" : "s",
               (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
        if (rep.fallback > 0)
            printf("%zu of them with a fallback (see 'parceldb info --check')\n", rep.fallback);
        /* The others are committed; the ones that failed are this
         * command's own job left undone. */
        if (rep.failed > 0)
            rc = cli_error("rebuilding overviews: %zu commune%s failed (see 'parceldb info "
                           "--check'); the first: %s",
                           rep.failed, rep.failed == 1 ? "" : "s", rep.first_failure);
    }
    pdb_store_close(store);
    pdb_ctx_free(ctx);
    return rc;
}

int cmd_render(int argc, char **argv)
{
    enum {
        OPT_DB = 256,
        OPT_STYLE,
        OPT_SCALE,
        OPT_TILES,
        OPT_OUT,
        OPT_PALETTE,
        OPT_LEVEL,
        OPT_FONT_DIR,
        OPT_REBUILD,
        OPT_COMMUNE,
        OPT_ANTIALIAS,
        OPT_FORMAT,
        OPT_MAX_BYTES,
        OPT_AT
    };
    static const struct option opts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"style", required_argument, NULL, OPT_STYLE},
        {"scale", required_argument, NULL, OPT_SCALE},
        {"output", required_argument, NULL, 'o'},
        {"tiles", required_argument, NULL, OPT_TILES},
        {"out", required_argument, NULL, OPT_OUT},
        {"palette", required_argument, NULL, OPT_PALETTE},
        {"level", required_argument, NULL, OPT_LEVEL},
        {"font-dir", required_argument, NULL, OPT_FONT_DIR},
        {"antialias", required_argument, NULL, OPT_ANTIALIAS},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"max-bytes", required_argument, NULL, OPT_MAX_BYTES},
        {"at", required_argument, NULL, OPT_AT},
        {"rebuild-overviews", no_argument, NULL, OPT_REBUILD},
        {"commune", required_argument, NULL, OPT_COMMUNE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    render_opts o = {CLI_DEFAULT_DB,
                     NULL,
                     NULL,
                     NULL,
                     NULL,
                     NULL,
                     1,
                     0,
                     {0, PDBT_PNG_PALETTE_AUTO},
                     0,
                     {0},
                     NULL};
    const char *format = NULL;
    const char *commune = NULL;
    int c, rebuild_only = 0;
    size_t n;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case OPT_DB:
            o.db = optarg;
            break;
        case OPT_STYLE:
            o.style = optarg;
            break;
        case OPT_SCALE:
            if (strcmp(optarg, "1") != 0 && strcmp(optarg, "2") != 0)
                return cli_usage_error("render", "--scale must be 1 or 2, not '%s'", optarg);
            o.scale = optarg[0] - '0';
            break;
        case 'o':
            o.output = optarg;
            break;
        case OPT_TILES:
            o.tiles = optarg;
            break;
        case OPT_OUT:
            o.out_dir = optarg;
            break;
        case OPT_PALETTE:
            if (strcmp(optarg, "auto") == 0)
                o.png.palette = PDBT_PNG_PALETTE_AUTO;
            else if (strcmp(optarg, "never") == 0)
                o.png.palette = PDBT_PNG_PALETTE_NEVER;
            else if (strcmp(optarg, "quantize") == 0)
                o.png.palette = PDBT_PNG_PALETTE_QUANTIZE;
            else
                return cli_usage_error("render", "--palette must be auto, never or quantize");
            break;
        case OPT_LEVEL:
            if (cli_parse_size(optarg, &n) != 0 || n < 1 || n > 12)
                return cli_usage_error("render", "--level must be 1 to 12, not '%s'", optarg);
            o.png.level = (int)n;
            break;
        case OPT_FONT_DIR:
            o.font_dir = optarg;
            break;
        case OPT_ANTIALIAS:
            if (strcmp(optarg, "fast") != 0 && strcmp(optarg, "best") != 0)
                return cli_usage_error("render", "--antialias must be fast or best");
            o.antialias_best = strcmp(optarg, "best") == 0;
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "png") != 0 && strcmp(optarg, "mvt") != 0)
                return cli_usage_error("render", "--format must be png or mvt, not '%s'", optarg);
            format = optarg;
            break;
        case OPT_MAX_BYTES:
            if (cli_parse_size(optarg, &n) != 0 || n < 1)
                return cli_usage_error("render", "--max-bytes wants a positive number, not '%s'",
                                       optarg);
            o.mvt_opts.max_bytes = n;
            break;
        case OPT_AT:
            o.at = optarg;
            break;
        case OPT_REBUILD:
            rebuild_only = 1;
            break;
        case OPT_COMMUNE:
            commune = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return CLI_OK;
        default:
            return cli_usage_error("render", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (rebuild_only) {
        if (optind < argc)
            return cli_usage_error("render", "unexpected argument '%s'", argv[optind]);
        if (o.at != NULL)
            return cli_usage_error("render", "--at does not go with --rebuild-overviews");
        return rebuild(o.db, commune);
    }
    if (commune != NULL)
        return cli_usage_error("render", "--commune goes with --rebuild-overviews");
    if (format != NULL) {
        o.mvt = strcmp(format, "mvt") == 0;
    } else if (o.output != NULL) {
        size_t ol = strlen(o.output);
        o.mvt = ol > 4 && strcmp(o.output + ol - 4, ".mvt") == 0;
    }
    pdbt_tile tile = {0, 0, 0, 1};
    if (o.tiles != NULL) {
        if (o.out_dir == NULL)
            return cli_usage_error("render", "--tiles needs --out DIR");
        if (optind < argc || o.output != NULL)
            return cli_usage_error("render", "give either Z/X/Y -o FILE or --tiles FILE --out DIR");
    } else {
        int rc;
        if (optind >= argc)
            return cli_usage_error("render", "no tile given (Z/X/Y, or --tiles FILE)");
        if (optind + 1 < argc)
            return cli_usage_error("render", "unexpected argument '%s'", argv[optind + 1]);
        if (o.output == NULL)
            return cli_usage_error("render", "no output file given (-o FILE.png)");
        if ((rc = parse_tile_arg(argv[optind], &tile)) != CLI_OK)
            return rc;
        if (tile.scale == 1)
            tile.scale = o.scale;
    }

    char style_path[4096];
    pdbt_style *style = NULL;
    pdb_ctx *ctx = NULL;
    pdbt_ctx *tctx = NULL;
    pdb_store *store = NULL;
    pdbt_renderer *r = NULL;
    int rc = CLI_OK;
    /* The style serve and seed would use: the file given, the default
     * style's file, or the copy built into the library. */
    if (o.style == NULL && pdbt_style_default_path(style_path, sizeof style_path) == 0)
        o.style = style_path;
    if (pdb_ctx_new(&ctx) != PDB_OK || pdbt_ctx_new(ctx, &tctx) != PDB_OK) {
        rc = cli_error("cannot start (PROJ or GEOS failed to initialise)");
        goto done;
    }
    if (o.style == NULL) {
        if (pdbt_style_builtin(tctx, &style) != PDB_OK) {
            rc = cli_error("style: %s", pdbt_errmsg(tctx));
            goto done;
        }
        fputs("parceldb render: no style file found: using the built-in default style\n", stderr);
    } else if (pdbt_style_load(tctx, o.style, &style) != PDB_OK) {
        rc = cli_error("%s", pdbt_errmsg(tctx));
        goto done;
    }
    if (pdb_store_open(ctx, o.db, PDB_OPEN_READONLY, &store) != PDB_OK) {
        rc = cli_lib_error(ctx, o.db);
        goto done;
    }
    pdbt_renderer_options ro = {o.font_dir, 0, PDBT_TILE_MAX_ZOOM, o.antialias_best};
    if (pdbt_renderer_new(tctx, store, style, &ro, &r) != PDB_OK) {
        rc = cli_error("%s: %s", o.style != NULL ? o.style : "built-in style", pdbt_errmsg(tctx));
        goto done;
    }
    if (o.at != NULL) {
        char at[PDB_INSTANT_LEN];
        if (pdb_instant_parse(ctx, o.at, at) != PDB_OK ||
            pdb_store_check_instant(ctx, store, at, NULL) != PDB_OK) {
            rc = cli_lib_error(ctx, "--at");
            goto done;
        }
        if (pdbt_renderer_set_at(tctx, r, at) != PDB_OK) {
            rc = cli_error("--at: %s", pdbt_errmsg(tctx));
            goto done;
        }
    }
    if (o.tiles != NULL) {
        rc = run_batch(tctx, r, &o);
    } else {
        unsigned char *png = NULL;
        size_t len = 0;
        if ((rc = render_one(tctx, r, &tile, &o, &png, &len)) == CLI_OK &&
            write_file(o.output, png, len) != 0)
            rc = cli_error("%s: cannot write: %s", o.output, strerror(errno));
        free(png);
    }
done:
    pdbt_renderer_free(r);
    pdb_store_close(store);
    pdbt_style_free(style);
    pdbt_ctx_free(tctx);
    pdb_ctx_free(ctx);
    return rc;
}
