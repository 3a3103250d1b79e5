/*
 * cmd_change.c: `parceldb change split|merge|update|reshape`: one change
 * to single parcels between surveys (pdb_change_apply), as the running
 * user, with a reason and a document reference.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FILE_BYTES (64 << 20) /* a parts file */
#define MAX_MERGE 100             /* parcels in one merge */

static const char usage_text[] =
    "usage: parceldb change KIND [--db STORE] --reason TEXT --document REF ...\n"
    "\n"
    "One change to single parcels between surveys, in one transaction: the\n"
    "parcels are superseded (kept as history), the new ones written, lineage and\n"
    "the change recorded as the running user; servers show it at their next request.\n"
    "\n"
    "kinds:\n"
    "  split   --id C/S/P --parts FILE.geojson [--numbers N1,N2,...]\n"
    "          parts in the survey CRS, each feature with its \"landuse\"; they must\n"
    "          cover the parcel within 1 cm2 and not overlap\n"
    "  merge   --ids C/S/P1,C/S/P2,... [--number N] [--landuse CODE]\n"
    "          parcels of one commune that touch\n"
    "  update  --id C/S/P --set landuse=...|owner=...|address=...|area_legal=... (repeatable)\n"
    "  reshape --id C/S/P --geometry FILE.geojson\n"
    "          the corrected boundary, overlapping no neighbour by more than 0.01 m2\n"
    "\n"
    "options:\n"
    "  --db STORE        the store (default " CLI_DEFAULT_DB ")\n"
    "  --reason TEXT     why (required)\n"
    "  --document REF    the decision or document reference (required)\n"
    "  --srs CRS         the CRS of a GeoJSON file without a \"crs\" member (EPSG:N or\n"
    "                    a TM-3 zone such as 104-45); it must be the parcel's survey CRS\n"
    "  --expect-id N     fail (conflict) unless N is the parcel's current store id\n"
    "New numbers are the next free ones of the sheet unless given.\n";

typedef struct change_args {
    const char *db;       /* store */
    const char *id;       /* --id */
    const char *ids;      /* --ids */
    const char *parts;    /* --parts or --geometry file */
    const char *numbers;  /* --numbers */
    const char *number;   /* --number */
    const char *landuse;  /* --landuse (merge) */
    const char *reason;   /* --reason */
    const char *document; /* --document */
    const char *srs;      /* --srs */
    const char *expect;   /* --expect-id */
    const char *set[8];   /* --set KEY=VALUE */
    size_t nset;          /* entries of set */
} change_args;

/* The whole file, NUL-terminated; NULL after a one-line error. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (f == NULL) {
        cli_error("%s: %s", path, strerror(errno));
        return NULL;
    }
    if ((buf = malloc(MAX_FILE_BYTES + 1)) == NULL) {
        cli_error("out of memory");
        goto done;
    }
    *len = fread(buf, 1, MAX_FILE_BYTES + 1, f);
    if (ferror(f) || *len > MAX_FILE_BYTES) {
        cli_error("%s: %s", path, ferror(f) ? strerror(errno) : "larger than 64 MiB");
        free(buf);
        buf = NULL;
        goto done;
    }
    buf[*len] = '\0';
done:
    fclose(f);
    return buf;
}

/* "C/S/P" into ref, the texts in store (3 x 65 bytes). */
static int parse_ref(const char *text, char store[3][65], pdb_parcel_ref *ref)
{
    for (const char *p = text; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return cli_error("a parcel is COMMUNE/SHEET/PARCEL, not control characters");
    if (cli_split_id(text, store) != 0)
        return cli_error("malformed parcel '%.80s': expected COMMUNE/SHEET/PARCEL", text);
    ref->commune = store[0];
    ref->sheet = store[1];
    ref->parcel = store[2];
    return CLI_OK;
}

/* "user:LOGIN", as the audit table names the command line's user: the login
 * from the password database, not $USER, which anyone sets. */
static void actor(char out[128])
{
    struct passwd *pw = getpwuid(geteuid());
    snprintf(out, 128, "user:%s", pw != NULL && pw->pw_name != NULL ? pw->pw_name : "?");
}

static void print_result(const char *kind, const pdb_change_result *r)
{
    printf("%s:", kind);
    for (size_t i = 0; i < r->nbefore; i++)
        printf(" %s", r->before[i].number);
    printf(" ->");
    for (size_t i = 0; i < r->nafter; i++)
        printf(" %s", r->after[i].number);
    printf(" (change %lld, data version %lld)\n", (long long)r->change_id,
           (long long)r->data_version);
}

static int run(pdb_ctx *ctx, const char *kind_text, pdb_change_kind kind, const change_args *a)
{
    char refs_text[MAX_MERGE][3][65];
    pdb_parcel_ref refs[MAX_MERGE];
    pdb_change c = {.kind = kind, .parcels = refs, .set_area_legal_m2 = NAN};
    pdb_change_parts *parts = NULL;
    pdb_change_part *own_parts = NULL;
    pdb_change_result *result = NULL;
    pdb_store *store = NULL;
    char *text = NULL, *numbers = NULL;
    int rc = CLI_FAIL, srs = 0;

    char who[128];
    actor(who);
    c.actor = who;
    c.via = "parceldb change";
    c.reason = a->reason;
    c.document = a->document;
    if (a->srs != NULL && pdb_crs_resolve(ctx, a->srs, &srs) != PDB_OK)
        return cli_lib_error(ctx, "--srs");
    if (a->expect != NULL) {
        char *end;
        errno = 0;
        long long v = strtoll(a->expect, &end, 10);
        if (errno != 0 || *end != '\0' || v <= 0)
            return cli_error("--expect-id '%.40s' is not a positive store id", a->expect);
        c.expect_id = v;
    }
    if (kind == PDB_CHANGE_MERGE) {
        char *list = strdup(a->ids), *save = NULL;
        if (list == NULL)
            return cli_error("out of memory");
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (c.nparcels == MAX_MERGE) {
                free(list);
                return cli_error("--ids: at most %d parcels", MAX_MERGE);
            }
            if (parse_ref(t, refs_text[c.nparcels], &refs[c.nparcels]) != CLI_OK) {
                free(list);
                return CLI_FAIL;
            }
            c.nparcels++;
        }
        free(list);
        if (c.nparcels < 2)
            return cli_error("--ids: a merge takes two or more parcels, comma-separated");
        c.number = a->number;
        c.set_landuse = a->landuse;
    } else {
        if (parse_ref(a->id, refs_text[0], &refs[0]) != CLI_OK)
            return CLI_FAIL;
        c.nparcels = 1;
    }
    for (size_t i = 0; i < a->nset; i++) {
        const char *eq = strchr(a->set[i], '=');
        if (eq == NULL)
            return cli_error("--set '%.40s': expected KEY=VALUE", a->set[i]);
        size_t kl = (size_t)(eq - a->set[i]);
        const char *v = eq + 1;
        if (kl == 7 && strncmp(a->set[i], "landuse", kl) == 0)
            c.set_landuse = v;
        else if (kl == 5 && strncmp(a->set[i], "owner", kl) == 0)
            c.set_owner = v;
        else if (kl == 7 && strncmp(a->set[i], "address", kl) == 0)
            c.set_address = v;
        else if (kl == 10 && strncmp(a->set[i], "area_legal", kl) == 0) {
            if (cli_parse_double(v, &c.set_area_legal_m2) != 0 || !(c.set_area_legal_m2 > 0))
                return cli_error("--set area_legal='%.40s': a positive area in m2", v);
        } else
            return cli_error("--set: unknown field '%.*s' (landuse, owner, address, area_legal)",
                             (int)(kl > 40 ? 40 : kl), a->set[i]);
    }
    if (a->parts != NULL) {
        size_t len = 0, n = 0;
        int epsg = 0;
        if ((text = read_file(a->parts, &len)) == NULL)
            goto done;
        if (pdb_change_parts_read(ctx, text, len, srs, &parts) != PDB_OK) {
            rc = cli_lib_error(ctx, a->parts);
            goto done;
        }
        const pdb_change_part *items = pdb_change_parts_items(parts, &n, &epsg);
        if ((own_parts = calloc(n, sizeof *own_parts)) == NULL) {
            rc = cli_error("out of memory");
            goto done;
        }
        memcpy(own_parts, items, n * sizeof *own_parts);
        c.parts = own_parts;
        c.nparts = n;
        c.srid = epsg;
        if (kind == PDB_CHANGE_RESHAPE && n != 1) {
            rc = cli_error("%s: a reshape takes one feature, not %zu", a->parts, n);
            goto done;
        }
    }
    if (a->numbers != NULL) {
        char *save = NULL;
        size_t i = 0;
        if ((numbers = strdup(a->numbers)) == NULL) {
            rc = cli_error("out of memory");
            goto done;
        }
        for (char *t = strtok_r(numbers, ",", &save); t; t = strtok_r(NULL, ",", &save), i++)
            if (i < c.nparts)
                own_parts[i].number = t;
        if (i != c.nparts) {
            rc = cli_error("--numbers gives %zu numbers for %zu parts", i, c.nparts);
            goto done;
        }
    }
    if (pdb_store_open(ctx, a->db, PDB_OPEN_READWRITE, &store) != PDB_OK) {
        rc = cli_lib_error(ctx, "opening the store");
        goto done;
    }
    if (pdb_change_apply(ctx, store, &c, &result) != PDB_OK) {
        rc = cli_lib_error(ctx, kind_text);
        goto done;
    }
    print_result(kind_text, result);
    rc = CLI_OK;
    /* The commune's overviews, marked stale by the change, rebuilt now as
     * the importer rebuilds after its last commune (its own transaction:
     * the change stands whatever happens here; a commune left stale is
     * drawn from its parcels, a correct picture). */
    char commune[6];
    pdb_overview_report rep;
    snprintf(commune, sizeof commune, "%.5s", result->before[0].number);
    if (pdb_overview_rebuild_report(ctx, store, commune, &rep) != PDB_OK || rep.failed > 0)
        fprintf(stderr, "parceldb: warning: the overviews of %s are left stale: %s\n", commune,
                rep.failed > 0 ? rep.first_failure : pdb_errmsg(ctx));
done:
    pdb_change_result_free(result);
    pdb_store_close(store);
    pdb_change_parts_free(parts);
    free(own_parts);
    free(numbers);
    free(text);
    return rc;
}

int cmd_change(int argc, char **argv)
{
    enum {
        OPT_DB = 256,
        OPT_ID,
        OPT_IDS,
        OPT_PARTS,
        OPT_GEOMETRY,
        OPT_NUMBERS,
        OPT_NUMBER,
        OPT_LANDUSE,
        OPT_SET,
        OPT_REASON,
        OPT_DOCUMENT,
        OPT_SRS,
        OPT_EXPECT
    };
    static const struct option opts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"id", required_argument, NULL, OPT_ID},
        {"ids", required_argument, NULL, OPT_IDS},
        {"parts", required_argument, NULL, OPT_PARTS},
        {"geometry", required_argument, NULL, OPT_GEOMETRY},
        {"numbers", required_argument, NULL, OPT_NUMBERS},
        {"number", required_argument, NULL, OPT_NUMBER},
        {"landuse", required_argument, NULL, OPT_LANDUSE},
        {"set", required_argument, NULL, OPT_SET},
        {"reason", required_argument, NULL, OPT_REASON},
        {"document", required_argument, NULL, OPT_DOCUMENT},
        {"srs", required_argument, NULL, OPT_SRS},
        {"expect-id", required_argument, NULL, OPT_EXPECT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const struct {
        const char *name;
        pdb_change_kind kind;
    } kinds[] = {{"split", PDB_CHANGE_SPLIT},
                 {"merge", PDB_CHANGE_MERGE},
                 {"update", PDB_CHANGE_UPDATE},
                 {"reshape", PDB_CHANGE_RESHAPE}};
    change_args a = {.db = CLI_DEFAULT_DB};
    const char *geometry = NULL;
    int c;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_text, stdout);
        return CLI_OK;
    }
    if (argc < 2 || argv[1][0] == '-')
        return cli_usage_error("change", "give the kind first: split, merge, update or reshape");
    const char *kind_text = argv[1];
    int kind = 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kind_text, kinds[i].name) == 0)
            kind = (int)kinds[i].kind;
    if (kind == 0)
        return cli_usage_error("change", "unknown kind '%.40s' (split, merge, update, reshape)",
                               kind_text);
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_DB:
            a.db = optarg;
            break;
        case OPT_ID:
            a.id = optarg;
            break;
        case OPT_IDS:
            a.ids = optarg;
            break;
        case OPT_PARTS:
            a.parts = optarg;
            break;
        case OPT_GEOMETRY:
            geometry = optarg;
            break;
        case OPT_NUMBERS:
            a.numbers = optarg;
            break;
        case OPT_NUMBER:
            a.number = optarg;
            break;
        case OPT_LANDUSE:
            a.landuse = optarg;
            break;
        case OPT_SET:
            if (a.nset == sizeof a.set / sizeof a.set[0])
                return cli_usage_error("change", "too many --set");
            a.set[a.nset++] = optarg;
            break;
        case OPT_REASON:
            a.reason = optarg;
            break;
        case OPT_DOCUMENT:
            a.document = optarg;
            break;
        case OPT_SRS:
            a.srs = optarg;
            break;
        case OPT_EXPECT:
            a.expect = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return CLI_OK;
        default:
            return cli_usage_error("change", "unknown or incomplete option '%s'", argv[optind]);
        }
    }
    if (optind < argc - 1)
        return cli_usage_error("change", "unexpected argument '%s'", argv[optind + 1]);
    if (a.reason == NULL || a.document == NULL)
        return cli_usage_error("change", "--reason and --document are required");
    switch ((pdb_change_kind)kind) {
    case PDB_CHANGE_SPLIT:
        if (a.id == NULL || a.parts == NULL || a.ids || geometry || a.nset || a.number || a.landuse)
            return cli_usage_error("change", "split takes --id and --parts [--numbers]");
        break;
    case PDB_CHANGE_MERGE:
        if (a.ids == NULL || a.id || a.parts || geometry || a.nset || a.numbers)
            return cli_usage_error("change", "merge takes --ids [--number] [--landuse]");
        break;
    case PDB_CHANGE_UPDATE:
        if (a.id == NULL || a.nset == 0 || a.ids || a.parts || geometry || a.numbers || a.number ||
            a.landuse)
            return cli_usage_error("change", "update takes --id and --set KEY=VALUE");
        break;
    case PDB_CHANGE_RESHAPE:
        if (a.id == NULL || geometry == NULL || a.ids || a.parts || a.nset || a.numbers ||
            a.number || a.landuse)
            return cli_usage_error("change", "reshape takes --id and --geometry");
        a.parts = geometry;
        break;
    }
    pdb_ctx *ctx = NULL;
    if (pdb_ctx_new(&ctx) != PDB_OK)
        return cli_error("cannot start (PROJ or GEOS failed to initialise)");
    int rc = run(ctx, kind_text, (pdb_change_kind)kind, &a);
    pdb_ctx_free(ctx);
    return rc;
}
