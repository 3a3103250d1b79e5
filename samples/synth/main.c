/*
 * main.c: pdb-synth, the synthetic Phu Tho province generator.
 *
 *   pdb-synth --out DIR [--communes all|N|CODE,CODE] [--parcels-per-commune N]
 *             [--seed S] [--format F] [--encoding utf8|tcvn3|vni|mixed]
 *             [--field-names standard|variants|truncated] [--no-prj] [--mixed-prj]
 *             [--no-cpg] [--defects none|default|N-per-kind] [--jobs N] [--no-verify]
 *             [--notches N] [--curved-edges M] [--qa-defects N]
 *             [--provinces N [--communes-per-province M]]
 *
 * One file per commune, <code>.<ext>, with <file>.manifest.json beside it.
 * With --provinces, the communes are those of N made-up provinces beyond
 * Phu Tho (national.c), and their list is written as DIR/communes.csv for
 * `parceldb init --communes`.
 * Quiet; one summary line at the end; an error is one line on stderr and a
 * non-zero exit. Communes are generated in parallel (--jobs, default: the
 * number of CPUs); the output does not depend on it.
 */
#include "synth.h"
#include "vnenc.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <errno.h>
#include <gdal.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* 148 communes x 5278 = 781,144: the province's "more than 781,000". */
#define DEFAULT_PARCELS 5278

static const char usage[] =
    "usage: pdb-synth --out DIR [options]\n"
    "  --communes all|N|CODE,CODE   which communes (N: spread over the list; default all)\n"
    "  --parcels-per-commune N      parcels per file (default 5278: 148 files >= 781,000)\n"
    "  --seed S                     random seed (default 1); same arguments, same bytes\n"
    "  --format F                   \"ESRI Shapefile\" (default), GPKG, GeoJSON (RFC 7946,\n"
    "                               WGS 84), GeoJSON-legacy (TM-3 + \"crs\" member), DXF, DGN,\n"
    "                               GML, KML, CSV\n"
    "  --encoding E                 utf8 (default), tcvn3, vni, mixed (DBF text; Shapefile)\n"
    "  --field-names M              standard (default), variants, truncated\n"
    "  --no-prj                     declare no CRS (no .prj, no \"crs\" member, ...)\n"
    "  --mixed-prj                  about one file in five without its CRS\n"
    "  --no-cpg                     no .cpg beside any DBF\n"
    "  --defects D                  none, default (a small realistic rate), or N-per-kind\n"
    "  --jobs N                     worker threads (default: CPUs)\n"
    "  --no-verify                  skip the GEOS validity check of the read-back\n"
    "  --notches N                  N sound parcels per file get a notch 1 micrometre\n"
    "                               from another edge (valid; some not once in WGS 84);\n"
    "                               Shapefile and GPKG only (the others round coordinates)\n"
    "  --qa-defects N               N overlaps and N sliver gaps per commune for parceldb qa,\n"
    "                               listed in the manifest's qa_ground_truth (docs/qa.md)\n"
    "  --resurvey N                 a re-survey: N renumberings, N reshapes, N merges and\n"
    "                               N splits per commune, listed in the manifest's\n"
    "                               resurvey_ground_truth (docs/changes.md)\n"
    "  --resurvey-noise M           with --resurvey: every vertex moved by up to M metres\n"
    "                               (0 to 0.05), as a new survey measures it again\n"
    "  --national                   write the national attribute set (SoHieuToBanDoCu,\n"
    "                               SoThuTuThuaCu, SoHieuGCN, ThoiDiemBatDau/KetThuc; short\n"
    "                               forms in a DBF); with --resurvey the changed parcels name\n"
    "                               their previous numbers, and N neighbour pairs get a moved\n"
    "                               boundary that only those numbers tell from a merge\n"
    "  --curved-edges M             boundaries curve gently, a vertex every M metres at most\n"
    "                               (0.5 to 100; hills and forest as surveys draw them)\n"
    "  --provinces N                N made-up provinces beyond Phu Tho (1 to 29) instead of\n"
    "                               Phu Tho: codes from 10000, each province in a TM-3 zone\n"
    "                               of its own; writes their list as DIR/communes.csv\n"
    "  --communes-per-province M    communes of each (default 148, at most 156)\n"
    "  --sheets lines               with --format DGN or DXF: each commune drawn as survey\n"
    "                               sheets are: boundary lines (each shared edge once) and\n"
    "                               number, land-use and area texts on their own levels, a\n"
    "                               frame per sheet, and planted defects (gap, overshoot,\n"
    "                               missing, doubled and split labels) listed in\n"
    "                               <file>.sheets.json; --defects none implied\n"
    "  --quiet                      no summary line\n";

static int die(const char *fmt, ...)
{
    va_list ap;
    fputs("pdb-synth: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
        return -1;
    *out = (size_t)v;
    return 0;
}

static int mkdir_p(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return (mkdir(buf, 0777) != 0 && errno != EEXIST) ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* The work queue                                                            */
/* ------------------------------------------------------------------------ */

typedef struct job {
    const synth_options *o;      /* options */
    const pdb_commune_ref *refs; /* all communes (the layout needs them all) */
    size_t nrefs;
    const size_t *selected; /* indices into refs */
    size_t nselected;
    pthread_mutex_t lock;            /* guards everything below */
    size_t next;                     /* next selected index to take */
    int failed;                      /* 1 after the first error */
    char err[1200];                  /* the first error */
    size_t files, parcels, features; /* totals */
    size_t defects;                  /* defective parcels */
} job;

static int run_commune(job *j, pdb_ctx *ctx, GEOSContextHandle_t geos, size_t ri,
                       synth_file_result *res, size_t *defects, char *err, size_t errlen)
{
    synth_commune c;
    int rc = -1;

    memset(&c, 0, sizeof c);
    c.ref = &j->refs[ri];
    c.epsg = c.ref->epsg;
    synth_layout_commune(j->refs, j->nrefs, ri, &c);
    if (c.cell[2] <= c.cell[0]) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (synth_parcels_generate(ctx, j->o, &c, err, errlen) != 0)
        goto done;
    if (synth_defects_apply(geos, j->o, j->o->format, &c, err, errlen) != 0 ||
        synth_qa_apply(geos, j->o, &c, err, errlen) != 0 ||
        synth_notches_apply(geos, j->o, &c) != 0 ||
        synth_resurvey_apply(geos, j->o, &c, err, errlen) != 0)
        goto done;
    if (synth_output_write(ctx, geos, j->o, &c, res, err, errlen) != 0)
        goto done;
    *defects = 0;
    for (int d = DEF_NULL_GEOMETRY; d < DEF_COUNT; d++)
        *defects += c.counts[d];
    rc = 0;
done:
    synth_commune_free(&c);
    return rc;
}

static void *worker(void *arg)
{
    job *j = arg;
    pdb_ctx *ctx = NULL;
    GEOSContextHandle_t geos = GEOS_init_r();
    char err[1200];

    if (pdb_ctx_new(&ctx) != PDB_OK || geos == NULL) {
        pthread_mutex_lock(&j->lock);
        if (!j->failed)
            snprintf(j->err, sizeof j->err, "cannot start PROJ or GEOS");
        j->failed = 1;
        pthread_mutex_unlock(&j->lock);
        goto done;
    }
    for (;;) {
        size_t k;
        pthread_mutex_lock(&j->lock);
        k = j->next++;
        int stop = j->failed || k >= j->nselected;
        pthread_mutex_unlock(&j->lock);
        if (stop)
            break;
        synth_file_result res;
        size_t defects = 0;
        memset(&res, 0, sizeof res);
        int rc = run_commune(j, ctx, geos, j->selected[k], &res, &defects, err, sizeof err);
        pthread_mutex_lock(&j->lock);
        if (rc != 0) {
            if (!j->failed)
                snprintf(j->err, sizeof j->err, "%s", err);
            j->failed = 1;
        } else {
            j->files++;
            j->parcels += res.parcels;
            j->features += res.features;
            j->defects += defects;
        }
        pthread_mutex_unlock(&j->lock);
    }
done:
    pdb_ctx_free(ctx);
    if (geos)
        GEOS_finish_r(geos);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */
/* ------------------------------------------------------------------------ */

static int select_communes(const char *spec, const pdb_commune_ref *refs, size_t n, size_t **out,
                           size_t *nout)
{
    size_t *sel = calloc(n, sizeof *sel), k = 0, want;
    if (sel == NULL)
        return die("out of memory");
    if (spec == NULL || strcmp(spec, "all") == 0) {
        for (size_t i = 0; i < n; i++)
            sel[k++] = i;
    } else if (strlen(spec) <= 3 && parse_size(spec, &want) == 0) { /* codes have 5 digits */
        if (want == 0 || want > n) {
            free(sel);
            return die("--communes %s: give 1 to %zu, a list of codes, or all", spec, n);
        }
        /* Spread over the list, so that a few communes cover all three zones. */
        for (size_t i = 0; i < want; i++)
            sel[k++] = (i * n) / want;
    } else {
        char buf[4096];
        snprintf(buf, sizeof buf, "%s", spec);
        for (char *s = strtok(buf, ","); s; s = strtok(NULL, ",")) {
            size_t i;
            for (i = 0; i < n && strcmp(refs[i].code, s) != 0; i++)
                ;
            if (i == n) {
                free(sel);
                return die("--communes: %s is not a commune code of the list", s);
            }
            if (k < n)
                sel[k++] = i;
        }
    }
    *out = sel;
    *nout = k;
    return 0;
}

int main(int argc, char **argv)
{
    synth_options o = {
        .communes = "all",
        .parcels_per_commune = DEFAULT_PARCELS,
        .seed = 1,
        .format = FMT_SHP,
        .encoding = ENC_OPT_UTF8,
        .names = NAMES_STANDARD,
        .defects_mode = 1,
        .verify = 1,
    };
    enum {
        O_OUT = 256,
        O_COMMUNES,
        O_PARCELS,
        O_SEED,
        O_FORMAT,
        O_ENCODING,
        O_NAMES,
        O_NO_PRJ,
        O_MIXED_PRJ,
        O_NO_CPG,
        O_DEFECTS,
        O_JOBS,
        O_NO_VERIFY,
        O_QUIET,
        O_NOTCHES,
        O_QA_DEFECTS,
        O_RESURVEY,
        O_RESURVEY_NOISE,
        O_NATIONAL,
        O_CURVES,
        O_PROVINCES,
        O_PER_PROVINCE,
        O_SHEETS,
        O_HELP
    };
    static const struct option longopts[] = {
        {"out", required_argument, NULL, O_OUT},
        {"communes", required_argument, NULL, O_COMMUNES},
        {"parcels-per-commune", required_argument, NULL, O_PARCELS},
        {"seed", required_argument, NULL, O_SEED},
        {"format", required_argument, NULL, O_FORMAT},
        {"encoding", required_argument, NULL, O_ENCODING},
        {"field-names", required_argument, NULL, O_NAMES},
        {"no-prj", no_argument, NULL, O_NO_PRJ},
        {"mixed-prj", no_argument, NULL, O_MIXED_PRJ},
        {"no-cpg", no_argument, NULL, O_NO_CPG},
        {"defects", required_argument, NULL, O_DEFECTS},
        {"jobs", required_argument, NULL, O_JOBS},
        {"no-verify", no_argument, NULL, O_NO_VERIFY},
        {"quiet", no_argument, NULL, O_QUIET},
        {"notches", required_argument, NULL, O_NOTCHES},
        {"qa-defects", required_argument, NULL, O_QA_DEFECTS},
        {"resurvey", required_argument, NULL, O_RESURVEY},
        {"resurvey-noise", required_argument, NULL, O_RESURVEY_NOISE},
        {"national", no_argument, NULL, O_NATIONAL},
        {"curved-edges", required_argument, NULL, O_CURVES},
        {"provinces", required_argument, NULL, O_PROVINCES},
        {"communes-per-province", required_argument, NULL, O_PER_PROVINCE},
        {"sheets", required_argument, NULL, O_SHEETS},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    int opt;
    size_t v;
    long jobs = sysconf(_SC_NPROCESSORS_ONLN);
    size_t provinces = 0, per_province = 148;

    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case O_OUT:
            o.out_dir = optarg;
            break;
        case O_COMMUNES:
            o.communes = optarg;
            break;
        case O_PARCELS:
            if (parse_size(optarg, &o.parcels_per_commune) != 0 || o.parcels_per_commune < 20 ||
                o.parcels_per_commune > 100000)
                return die("--parcels-per-commune %s: give a number from 20 to 100000", optarg);
            break;
        case O_SEED:
            if (parse_size(optarg, &v) != 0)
                return die("--seed %s: give a non-negative integer", optarg);
            o.seed = (uint64_t)v;
            break;
        case O_FORMAT:
            if (synth_format_parse(optarg, &o.format) != 0)
                return die("--format %s: one of \"ESRI Shapefile\", GPKG, GeoJSON, "
                           "GeoJSON-legacy, DXF, DGN, GML, KML, CSV",
                           optarg);
            break;
        case O_ENCODING:
            if (strcmp(optarg, "utf8") == 0 || strcmp(optarg, "utf-8") == 0)
                o.encoding = ENC_OPT_UTF8;
            else if (strcmp(optarg, "tcvn3") == 0)
                o.encoding = ENC_OPT_TCVN3;
            else if (strcmp(optarg, "vni") == 0)
                o.encoding = ENC_OPT_VNI;
            else if (strcmp(optarg, "mixed") == 0)
                o.encoding = ENC_OPT_MIXED;
            else
                return die("--encoding %s: one of utf8, tcvn3, vni, mixed", optarg);
            break;
        case O_NAMES:
            if (strcmp(optarg, "standard") == 0)
                o.names = NAMES_STANDARD;
            else if (strcmp(optarg, "variants") == 0)
                o.names = NAMES_VARIANTS;
            else if (strcmp(optarg, "truncated") == 0)
                o.names = NAMES_TRUNCATED;
            else
                return die("--field-names %s: one of standard, variants, truncated", optarg);
            break;
        case O_NO_PRJ:
            o.no_prj = 1;
            break;
        case O_MIXED_PRJ:
            o.mixed_prj = 1;
            break;
        case O_NO_CPG:
            o.no_cpg = 1;
            break;
        case O_SHEETS:
            if (strcmp(optarg, "lines") != 0)
                return die("--sheets %s: the one kind is 'lines' (boundary lines and texts)",
                           optarg);
            o.sheets = 1;
            break;
        case O_DEFECTS:
            if (strcmp(optarg, "none") == 0) {
                o.defects_mode = 0;
            } else if (strcmp(optarg, "default") == 0) {
                o.defects_mode = 1;
            } else {
                char num[32];
                snprintf(num, sizeof num, "%s", optarg);
                char *dash = strstr(num, "-per-kind");
                if (dash != NULL && strcmp(dash, "-per-kind") == 0)
                    *dash = '\0';
                if (parse_size(num, &o.defects_per_kind) != 0)
                    return die("--defects %s: none, default, or N-per-kind (e.g. 3-per-kind)",
                               optarg);
                o.defects_mode = 2;
            }
            break;
        case O_QA_DEFECTS:
            if (parse_size(optarg, &o.qa_defects) != 0 || o.qa_defects > 1000)
                return die("--qa-defects %s: give a number of overlaps (and gaps) per commune, "
                           "0 to 1000",
                           optarg);
            break;
        case O_RESURVEY:
            if (parse_size(optarg, &o.resurvey) != 0 || o.resurvey > 1000)
                return die("--resurvey %s: give a number of renumberings (and reshapes, merges, "
                           "splits) per commune, 0 to 1000",
                           optarg);
            break;
        case O_RESURVEY_NOISE: {
            char *end = NULL;
            o.resurvey_noise_m = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(o.resurvey_noise_m >= 0) ||
                o.resurvey_noise_m > 0.05)
                return die("--resurvey-noise %s: give metres from 0 to 0.05", optarg);
            break;
        }
        case O_NATIONAL:
            o.national = 1;
            break;
        case O_NOTCHES:
            if (parse_size(optarg, &o.notches) != 0)
                return die("--notches %s: give a number of parcels per file", optarg);
            break;
        case O_CURVES: {
            char *end;
            o.curve_spacing = strtod(optarg, &end);
            if (end == optarg || *end != '\0' ||
                !(o.curve_spacing >= 0.5 && o.curve_spacing <= 100))
                return die("--curved-edges %s: give metres between vertices, 0.5 to 100", optarg);
            break;
        }
        case O_PROVINCES:
            if (parse_size(optarg, &provinces) != 0 || provinces < 1 ||
                provinces > synth_national_max_provinces())
                return die("--provinces %s: give 1 to %zu", optarg, synth_national_max_provinces());
            break;
        case O_PER_PROVINCE:
            if (parse_size(optarg, &per_province) != 0 || per_province < 1 ||
                per_province > synth_national_max_communes())
                return die("--communes-per-province %s: give 1 to %zu", optarg,
                           synth_national_max_communes());
            break;
        case O_JOBS:
            if (parse_size(optarg, &v) != 0 || v < 1 || v > 64)
                return die("--jobs %s: give 1 to 64", optarg);
            jobs = (long)v;
            break;
        case O_NO_VERIFY:
            o.verify = 0;
            break;
        case O_QUIET:
            o.quiet = 1;
            break;
        case O_HELP:
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind < argc)
        return die("unexpected argument '%s' (see --help)", argv[optind]);
    if (o.out_dir == NULL)
        return die("--out DIR is required (see --help)");
    if (o.format != FMT_SHP && (o.encoding == ENC_OPT_TCVN3 || o.encoding == ENC_OPT_VNI))
        return die("--encoding tcvn3 and vni apply to DBF text: use --format \"ESRI Shapefile\"");
    /* A micrometre survives only where coordinates are written in full. */
    if (o.notches > 0 && o.format != FMT_SHP && o.format != FMT_GPKG)
        return die("--notches needs --format \"ESRI Shapefile\" or GPKG (the others round "
                   "coordinates)");
    if (o.resurvey_noise_m > 0 && o.resurvey == 0)
        return die("--resurvey-noise needs --resurvey N");
    if (o.resurvey > 0 && o.sheets)
        return die("--resurvey and --sheets lines do not go together (sheets are drawn from "
                   "their own lines)");
    if (o.sheets && o.format != FMT_DGN && o.format != FMT_DXF)
        return die("--sheets lines needs --format DGN or DXF");
    if (o.sheets && o.defects_mode == 2)
        return die("--sheets lines plants its own defects: leave out --defects");
    if (o.sheets)
        o.defects_mode = 0;
    o.jobs = jobs < 1 ? 1 : (int)jobs;

    size_t nrefs = 0, *selected = NULL, nselected = 0;
    const pdb_commune_ref *refs = pdb_commune_ref_list(&nrefs);
    synth_national nat = {0};
    if (provinces > 0) {
        pdb_ctx *ctx = NULL;
        char err[600] = "cannot start PROJ";
        int rc = pdb_ctx_new(&ctx) != PDB_OK
                     ? -1
                     : synth_national_make(ctx, provinces, per_province, &nat, err, sizeof err);
        pdb_ctx_free(ctx);
        if (rc != 0)
            return die("%s", err);
        refs = nat.refs;
        nrefs = nat.count;
    } else if (per_province != 148) {
        return die("--communes-per-province needs --provinces");
    }
    if (select_communes(o.communes, refs, nrefs, &selected, &nselected) != 0) {
        synth_national_free(&nat);
        return 1;
    }
    if (mkdir_p(o.out_dir) != 0) {
        int e = die("cannot create %s: %s", o.out_dir, strerror(errno));
        free(selected);
        synth_national_free(&nat);
        return e;
    }
    if (provinces > 0) {
        char path[1200], err[1300];
        snprintf(path, sizeof path, "%s/communes.csv", o.out_dir);
        if (synth_national_write_csv(&nat, path, err, sizeof err) != 0) {
            free(selected);
            synth_national_free(&nat);
            return die("%s", err);
        }
    }

    GDALAllRegister();
    CPLSetErrorHandler(CPLQuietErrorHandler);
    /* GeoPackage writes timestamps; pin them so that output is reproducible. */
    CPLSetConfigOption("OGR_CURRENT_DATE", "2025-07-01T00:00:00Z");

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    job j = {.o = &o, .refs = refs, .nrefs = nrefs, .selected = selected, .nselected = nselected};
    pthread_mutex_init(&j.lock, NULL);
    int nthreads = o.jobs < (int)nselected ? o.jobs : (int)nselected;
    pthread_t threads[64];
    int started = 0;
    for (int t = 0; t < nthreads; t++)
        if (pthread_create(&threads[t], NULL, worker, &j) == 0)
            started++;
    if (started == 0)
        worker(&j);
    for (int t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    pthread_mutex_destroy(&j.lock);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    free(selected);
    synth_national_free(&nat);
    GDALDestroyDriverManager();

    if (j.failed)
        return die("%s", j.err);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (!o.quiet)
        printf("pdb-synth: %zu files, %zu parcels (%zu defective), %zu features, %s, in %s "
               "(%.1f s, %d jobs)\n",
               j.files, j.parcels, j.defects, j.features, synth_format_name(o.format), o.out_dir,
               secs, nthreads);
    return 0;
}
