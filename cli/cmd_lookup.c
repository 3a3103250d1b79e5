/*
 * cmd_lookup.c: `parceldb lookup`: parcels at a point (WGS 84, easting/
 * northing, or the Vietnamese X/Y order), by number, a parcel's history,
 * or a whole CSV of points.
 */
#include "cli.h"
#include "csv.h"

#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char usage_text[] =
    "usage: parceldb lookup [--db STORE] [--personal] FORM\n"
    "\n"
    "Finds parcels and prints them as GeoJSON (a FeatureCollection).\n"
    "\n"
    "forms:\n"
    "  --lon LON --lat LAT          a WGS 84 point (degrees)\n"
    "  --srs CRS --en E,N           a projected point, easting first (metres)\n"
    "  --srs CRS --vn-xy X,Y        the same in the Vietnamese order: X = northing, Y = easting\n"
    "  --id COMMUNE/SHEET/PARCEL    by number; every match (duplicates exist): a commune\n"
    "                               code of the province, sheet and parcel positive integers\n"
    "      [--former CODE]          only within this former commune (five digits)\n"
    "      [--history]              superseded versions too, oldest first\n"
    "      [--lineage]              its lineage instead (JSON): the changes it came from and\n"
    "                               went into, with dates (of its latest version)\n"
    "  --points FILE.csv            batch: reads the columns id,lon,lat of a CSV with a\n"
    "                               header and prints id,commune,sheet,parcel per point in\n"
    "                               input order (empty when none; the first match)\n"
    "\n"
    "options:\n"
    "  --db STORE      the store (default " CLI_DEFAULT_DB ")\n"
    "  --personal      include owner names (personal data)\n"
    "  --at DATE       the parcels in force then, superseded ones included (with a\n"
    "                  point or --id): YYYY-MM-DD is the end of that day in UTC\n"
    "                  (23:59:59.999Z), or an instant YYYY-MM-DDTHH:MM:SS[.mmm]Z; a\n"
    "                  date before the store's first import is an error\n"
    "  CRS is EPSG:N or a VN-2000 TM-3 zone name such as 104-45.\n";

typedef struct lookup_args {
    const char *db;        /* store path */
    const char *lon, *lat; /* --lon/--lat text */
    const char *srs;       /* --srs text */
    const char *en;        /* --en "E,N" */
    const char *vn_xy;     /* --vn-xy "X,Y" */
    const char *id;        /* --id "COMMUNE/SHEET/PARCEL" */
    const char *former;    /* --former */
    const char *points;    /* --points file */
    int personal;          /* --personal */
    int history;           /* --history */
    int lineage;           /* --lineage */
    const char *at;        /* --at DATE, or NULL for the current parcels */
} lookup_args;

/* --lineage: the lineage of the number's latest version, current or not. */
static int print_lineage(pdb_ctx *ctx, pdb_store *store, const char *id, char parts[3][65])
{
    pdb_parcel_list *list = NULL;
    pdb_lineage *l = NULL;
    char *json = NULL;
    int rc = CLI_FAIL;

    if (pdb_parcel_history(ctx, store, parts[0], parts[1], parts[2], 0, &list) != PDB_OK)
        rc = cli_lib_error(ctx, "--id");
    else if (list->count == 0)
        rc = cli_error("no parcel %s", id);
    else if (pdb_parcel_lineage(ctx, store, list->items[list->count - 1].id, &l) != PDB_OK ||
             pdb_lineage_to_json(ctx, l, &json) != PDB_OK)
        rc = cli_lib_error(ctx, "lineage");
    else {
        puts(json);
        rc = CLI_OK;
    }
    pdb_free(json);
    pdb_lineage_free(l);
    pdb_parcel_list_free(list);
    return rc;
}

/* 1 when s holds a control character, which an error quoting s would
 * print (a newline would break the one-line error). */
static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static int print_list(pdb_ctx *ctx, const pdb_parcel_list *list, int personal)
{
    char *json = NULL;
    if (pdb_parcels_to_geojson(ctx, list, personal, &json) != PDB_OK)
        return cli_lib_error(ctx, "writing GeoJSON");
    puts(json);
    pdb_free(json);
    return CLI_OK;
}

/* Writes one CSV field, quoted when it needs to be. Unlocked stdio (the
 * POSIX putc_unlocked): one thread writes the answers, and a lock per
 * call was a tenth of the command's time. */
static void put_field(FILE *out, const char *s)
{
    if (s[strcspn(s, ",\"\r\n")] == '\0') {
        for (; *s; s++)
            putc_unlocked(*s, out);
        return;
    }
    putc_unlocked('"', out);
    for (; *s; s++) {
        if (*s == '"')
            putc_unlocked('"', out);
        putc_unlocked(*s, out);
    }
    putc_unlocked('"', out);
}

/* Finds a header column by name, case-insensitively, ignoring blanks. */
static int find_column(const csv_reader *r, const char *name)
{
    for (int i = 0; i < r->nfields; i++) {
        const char *f = r->fields[i];
        while (isspace((unsigned char)*f))
            f++;
        size_t n = strlen(f);
        while (n > 0 && isspace((unsigned char)f[n - 1]))
            n--;
        if (n == strlen(name) && strncasecmp(f, name, n) == 0)
            return i;
    }
    return -1;
}

/* Points are looked up this many at a time, each batch in one snapshot.
 * The engine answers a batch commune by commune, loading each commune
 * once per batch: a large batch amortises that (262,144 points: 16 MB). */
#define POINTS_BATCH 262144

/* One batch of points read from the CSV, with their ids and lines. */
typedef struct point_batch {
    size_t n;                             /* points held */
    double lonlat[2 * POINTS_BATCH];      /* lon, lat of each */
    long line[POINTS_BATCH];              /* CSV line of each, for messages */
    size_t id_off[POINTS_BATCH];          /* offset of each id in ids */
    char *ids;                            /* the ids, NUL-terminated, back to back */
    size_t ids_len, ids_cap;              /* bytes used and allocated */
    pdb_point_parcel found[POINTS_BATCH]; /* the answers */
} point_batch;

static int batch_add_id(point_batch *b, const char *id)
{
    size_t n = strlen(id) + 1;
    if (b->ids_len + n > b->ids_cap) {
        size_t cap = b->ids_cap ? b->ids_cap : 65536;
        while (cap < b->ids_len + n)
            cap *= 2;
        char *p = realloc(b->ids, cap);
        if (p == NULL)
            return -1;
        b->ids = p;
        b->ids_cap = cap;
    }
    memcpy(b->ids + b->ids_len, id, n);
    b->id_off[b->n] = b->ids_len;
    b->ids_len += n;
    return 0;
}

static void print_batch(const point_batch *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const pdb_point_parcel *p = &b->found[i];
        put_field(stdout, b->ids + b->id_off[i]);
        if (p->id != 0) {
            putc_unlocked(',', stdout);
            put_field(stdout, p->commune);
            putc_unlocked(',', stdout);
            put_field(stdout, p->sheet);
            putc_unlocked(',', stdout);
            put_field(stdout, p->parcel);
            putc_unlocked('\n', stdout);
        } else {
            for (const char *e = ",,,\n"; *e; e++)
                putc_unlocked(*e, stdout);
        }
    }
}

/* Looks up and prints a batch. A bad point fails the whole batch; the
 * points before it are then looked up and printed, so that the output
 * stops where the input went wrong, and the message names its line. */
static int flush_batch(pdb_ctx *ctx, pdb_store *store, point_batch *b, const char *path)
{
    int rc = CLI_OK;
    if (pdb_parcels_first_at(ctx, store, b->lonlat, b->n, b->found) == PDB_OK) {
        print_batch(b, b->n);
    } else if (pdb_errcode(ctx) != PDB_EINVAL) {
        rc = cli_lib_error(ctx, "looking up points");
    } else {
        size_t bad = 0;
        pdb_parcel_list *list = NULL;
        while (bad < b->n && pdb_parcels_at(ctx, store, b->lonlat[2 * bad], b->lonlat[2 * bad + 1],
                                            0, &list) == PDB_OK) {
            pdb_parcel_list_free(list);
            bad++;
        }
        char msg[512];
        snprintf(msg, sizeof msg, "%s", pdb_errmsg(ctx));
        if (pdb_parcels_first_at(ctx, store, b->lonlat, bad, b->found) == PDB_OK)
            print_batch(b, bad);
        rc = cli_error("%s: line %ld: %s", path, bad < b->n ? b->line[bad] : 0L, msg);
    }
    b->n = 0;
    b->ids_len = 0;
    return rc;
}

static int lookup_points(pdb_ctx *ctx, pdb_store *store, const char *path)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    csv_reader *r = NULL;
    point_batch *b = NULL;
    int rc = CLI_FAIL, got, col_id, col_lon, col_lat;
    static char outbuf[1 << 16];

    if (in == NULL)
        return cli_error("%s: cannot open: %m", path);
    if ((r = malloc(sizeof *r)) == NULL || (b = calloc(1, sizeof *b)) == NULL) {
        cli_error("out of memory");
        goto done;
    }
    csv_init(r, in);
    got = csv_next(r);
    if (got <= 0) {
        cli_error("%s: %s", path, got == 0 ? "empty file (a header line is needed)" : r->error);
        goto done;
    }
    col_id = find_column(r, "id");
    col_lon = find_column(r, "lon");
    col_lat = find_column(r, "lat");
    if (col_id < 0 || col_lon < 0 || col_lat < 0) {
        cli_error("%s: the header needs the columns id, lon and lat", path);
        goto done;
    }
    int need = col_id > col_lon ? col_id : col_lon;
    need = need > col_lat ? need : col_lat;
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    puts("id,commune,sheet,parcel");
    while ((got = csv_next(r)) == 1) {
        double lon, lat;
        if (r->nfields == 1 && r->fields[0][0] == '\0')
            continue; /* a blank line */
        if (r->nfields <= need) {
            if (flush_batch(ctx, store, b, path) == CLI_OK)
                cli_error("%s: line %ld has %d fields; the header has more", path, r->line,
                          r->nfields);
            goto done;
        }
        if (cli_parse_double(r->fields[col_lon], &lon) != 0 ||
            cli_parse_double(r->fields[col_lat], &lat) != 0) {
            if (flush_batch(ctx, store, b, path) == CLI_OK)
                cli_error("%s: line %ld: lon/lat '%.40s','%.40s' are not numbers", path, r->line,
                          r->fields[col_lon], r->fields[col_lat]);
            goto done;
        }
        if (batch_add_id(b, r->fields[col_id]) != 0) {
            cli_error("out of memory");
            goto done;
        }
        b->lonlat[2 * b->n] = lon;
        b->lonlat[2 * b->n + 1] = lat;
        b->line[b->n] = r->line;
        if (++b->n == POINTS_BATCH && flush_batch(ctx, store, b, path) != CLI_OK)
            goto done;
    }
    if (flush_batch(ctx, store, b, path) != CLI_OK)
        goto done;
    if (got < 0) {
        cli_error("%s: %s", path, r->error);
        goto done;
    }
    rc = fflush(stdout) == 0 ? CLI_OK : cli_error("writing the answer: %m");
done:
    fflush(stdout);
    if (b != NULL)
        free(b->ids);
    free(b);
    free(r);
    if (in != stdin)
        fclose(in);
    return rc;
}

static int run(pdb_ctx *ctx, const lookup_args *a)
{
    pdb_store *store = NULL;
    pdb_parcel_list *list = NULL;
    unsigned flags = PDB_READ_WGS84 | (a->personal ? PDB_READ_PERSONAL : 0);
    int rc = CLI_FAIL;
    pdb_status st;

    char at[PDB_INSTANT_LEN];
    if (a->at != NULL && pdb_instant_parse(ctx, a->at, at) != PDB_OK)
        return cli_lib_error(ctx, "--at");
    if (pdb_store_open(ctx, a->db, PDB_OPEN_READONLY, &store) != PDB_OK)
        return cli_lib_error(ctx, "opening the store");
    if (a->at != NULL && pdb_store_check_instant(ctx, store, at, NULL) != PDB_OK) {
        rc = cli_lib_error(ctx, "--at");
        goto done;
    }
    if (a->points != NULL) {
        rc = lookup_points(ctx, store, a->points);
        goto done;
    }
    if (a->id != NULL) {
        char parts[3][65];
        if (has_control(a->id) || (a->former != NULL && has_control(a->former))) {
            rc = cli_error("--id and --former take digits and '/', not control characters");
            goto done;
        }
        if (cli_split_id(a->id, parts) != 0) {
            rc = cli_error("malformed --id '%.80s': expected COMMUNE/SHEET/PARCEL", a->id);
            goto done;
        }
        if (a->lineage) {
            rc = print_lineage(ctx, store, a->id, parts);
            goto done;
        }
        st = a->history ? pdb_parcel_history(ctx, store, parts[0], parts[1], parts[2], flags, &list)
             : a->at ? pdb_parcels_by_number_at(ctx, store, parts[0], a->former, parts[1], parts[2],
                                                at, flags, &list)
                     : pdb_parcels_by_number(ctx, store, parts[0], a->former, parts[1], parts[2],
                                             flags, &list);
        if (st == PDB_EINVAL) {
            rc = cli_lib_error(ctx, a->former != NULL ? "--id/--former" : "--id");
            goto done;
        }
    } else if (a->lon != NULL) {
        double lon, lat;
        if (cli_parse_double(a->lon, &lon) != 0 || cli_parse_double(a->lat, &lat) != 0) {
            rc = cli_error("--lon/--lat must be numbers in degrees");
            goto done;
        }
        st = a->at ? pdb_parcels_at_time(ctx, store, lon, lat, at, flags, &list)
                   : pdb_parcels_at(ctx, store, lon, lat, flags, &list);
    } else {
        double first, second, e, n;
        int epsg;
        const char *pair = a->en ? a->en : a->vn_xy;
        if (cli_parse_pair(pair, &first, &second) != 0) {
            rc = cli_error("%s '%s' must be two numbers separated by a comma",
                           a->en ? "--en" : "--vn-xy", pair);
            goto done;
        }
        if (a->en != NULL) {
            e = first;
            n = second;
        } else {
            pdb_vn_xy_to_en(first, second, &e, &n);
        }
        if (pdb_crs_resolve(ctx, a->srs, &epsg) != PDB_OK) {
            rc = cli_lib_error(ctx, "--srs");
            goto done;
        }
        if (a->at == NULL) {
            st = pdb_parcels_at_crs(ctx, store, epsg, e, n, flags, &list);
        } else if ((st = pdb_crs_check_point(ctx, epsg, e, n)) == PDB_OK &&
                   (st = pdb_crs_transform(ctx, epsg, PDB_EPSG_WGS84, &e, &n, 1)) == PDB_OK) {
            st = pdb_parcels_at_time(ctx, store, e, n, at, flags, &list);
        }
    }
    if (st != PDB_OK) {
        rc = cli_lib_error(ctx, "lookup");
        goto done;
    }
    /* Owner names are shown only once the answer is in the audit table. */
    if (a->personal && cli_audit_personal(ctx, a->db, "parceldb lookup", list) != CLI_OK)
        goto done;
    rc = print_list(ctx, list, a->personal);
done:
    pdb_parcel_list_free(list);
    pdb_store_close(store);
    return rc;
}

int cmd_lookup(int argc, char **argv)
{
    enum {
        OPT_LON = 256,
        OPT_LAT,
        OPT_SRS,
        OPT_EN,
        OPT_VNXY,
        OPT_ID,
        OPT_FORMER,
        OPT_POINTS,
        OPT_PERSONAL,
        OPT_HISTORY,
        OPT_LINEAGE,
        OPT_AT,
        OPT_DB
    };
    static const struct option opts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"lon", required_argument, NULL, OPT_LON},
        {"lat", required_argument, NULL, OPT_LAT},
        {"srs", required_argument, NULL, OPT_SRS},
        {"en", required_argument, NULL, OPT_EN},
        {"vn-xy", required_argument, NULL, OPT_VNXY},
        {"id", required_argument, NULL, OPT_ID},
        {"former", required_argument, NULL, OPT_FORMER},
        {"points", required_argument, NULL, OPT_POINTS},
        {"personal", no_argument, NULL, OPT_PERSONAL},
        {"history", no_argument, NULL, OPT_HISTORY},
        {"lineage", no_argument, NULL, OPT_LINEAGE},
        {"at", required_argument, NULL, OPT_AT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    lookup_args a = {.db = CLI_DEFAULT_DB};
    int c;

    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_DB:
            a.db = optarg;
            break;
        case OPT_LON:
            a.lon = optarg;
            break;
        case OPT_LAT:
            a.lat = optarg;
            break;
        case OPT_SRS:
            a.srs = optarg;
            break;
        case OPT_EN:
            a.en = optarg;
            break;
        case OPT_VNXY:
            a.vn_xy = optarg;
            break;
        case OPT_ID:
            a.id = optarg;
            break;
        case OPT_FORMER:
            a.former = optarg;
            break;
        case OPT_POINTS:
            a.points = optarg;
            break;
        case OPT_PERSONAL:
            a.personal = 1;
            break;
        case OPT_HISTORY:
            a.history = 1;
            break;
        case OPT_LINEAGE:
            a.lineage = 1;
            break;
        case OPT_AT:
            a.at = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return CLI_OK;
        default:
            return cli_usage_error("lookup", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("lookup", "unexpected argument '%s'", argv[optind]);
    int forms = (a.lon || a.lat) + (a.en || a.vn_xy) + (a.id != NULL) + (a.points != NULL);
    if (forms != 1)
        return cli_usage_error("lookup", "give exactly one of --lon/--lat, --srs with --en or "
                                         "--vn-xy, --id, --points");
    if ((a.lon != NULL) != (a.lat != NULL))
        return cli_usage_error("lookup", "--lon and --lat go together");
    if (a.en && a.vn_xy)
        return cli_usage_error("lookup", "--en and --vn-xy are two spellings of one point; "
                                         "give one");
    if ((a.en || a.vn_xy) && a.srs == NULL)
        return cli_usage_error("lookup", "--en and --vn-xy need --srs (e.g. EPSG:9208 or 104-45)");
    if (a.srs && !(a.en || a.vn_xy))
        return cli_usage_error("lookup", "--srs goes with --en or --vn-xy");
    if ((a.former || a.history || a.lineage) && a.id == NULL)
        return cli_usage_error("lookup", "--former, --history and --lineage go with --id");
    if (a.at && (a.points || a.history || a.lineage))
        return cli_usage_error("lookup", "--at goes with a point or --id, not with --points, "
                                         "--history or --lineage");
    if (a.lineage && (a.history || a.former || a.personal))
        return cli_usage_error("lookup", "--lineage goes alone with --id");

    pdb_ctx *ctx = NULL;
    if (pdb_ctx_new(&ctx) != PDB_OK)
        return cli_error("cannot start (PROJ or GEOS failed to initialise)");
    int rc = run(ctx, &a);
    pdb_ctx_free(ctx);
    return rc;
}
