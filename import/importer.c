/*
 * importer.c: an import run: expand the inputs, and for each file decide
 * its commune(s), CRS and text encoding, refuse what cannot be right, then
 * load each commune in its own transaction. See docs/import.md.
 */
#define _GNU_SOURCE 1 /* asprintf, vasprintf, strcasestr */
#include "imp_ogr.h"

#include <cpl_conv.h>
#include <cpl_error.h>

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Features whose position is checked against the declared CRS. */
#define PLAUSIBILITY_SAMPLES 10

/* Room for "MOUNT POINT (SOURCE)", both paths. */
#define DEVICE_NAME_MAX (2 * PATH_MAX + 8)

/* ------------------------------------------------------------------------ */
/* Inputs                                                                    */
/* ------------------------------------------------------------------------ */

/* Survey files a directory may hold; sidecars (.dbf, .shx, .prj, .cpg) and
 * the generator's *.manifest.json are not surveys. */
static int survey_name(const char *name)
{
    static const char *const exts[] = {"shp", "gpkg", "geojson", "json", "dxf", "dgn",
                                       "gml", "kml",  "kmz",     "csv",  "fgb", "gpx"};
    const char *dot = strrchr(name, '.');
    size_t len = strlen(name);
    if (dot == NULL || name[0] == '.')
        return 0;
    if (len > 14 && strcasecmp(name + len - 14, ".manifest.json") == 0)
        return 0;
    for (size_t i = 0; i < PDBI_COUNTOF(exts); i++)
        if (strcasecmp(dot + 1, exts[i]) == 0)
            return 1;
    return 0;
}

typedef struct path_list {
    char **items;  /* owned paths */
    size_t n, cap; /* used and allocated entries */
} path_list;

static int push_path(path_list *pl, const char *p)
{
    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? 2 * pl->cap : 16;
        char **bigger = realloc(pl->items, cap * sizeof *bigger);
        if (bigger == NULL)
            return -1;
        pl->items = bigger;
        pl->cap = cap;
    }
    if ((pl->items[pl->n] = strdup(p)) == NULL)
        return -1;
    pl->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static pdb_status expand_dir(pdbi_ctx *ic, path_list *pl, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    path_list found = {0};

    if (d == NULL)
        return pdbi__fail(ic, PDB_EIO, "cannot read directory %s: %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat sb;
        if (!survey_name(e->d_name))
            continue;
        snprintf(path, sizeof path, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
                 e->d_name);
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
            push_path(&found, path);
    }
    closedir(d);
    qsort(found.items, found.n, sizeof *found.items, cmp_str);
    for (size_t i = 0; i < found.n; i++) {
        push_path(pl, found.items[i]);
        free(found.items[i]);
    }
    free(found.items);
    return PDB_OK;
}

pdb_status pdbi_expand_inputs(pdbi_ctx *ic, char *const *args, size_t nargs, char ***paths_out,
                              size_t *count_out)
{
    path_list pl = {0};
    pdb_status st;

    *paths_out = NULL;
    *count_out = 0;
    for (size_t i = 0; i < nargs; i++) {
        const char *a = args[i];
        struct stat sb;
        if (stat(a, &sb) == 0) {
            if (S_ISDIR(sb.st_mode)) {
                if ((st = expand_dir(ic, &pl, a)) != PDB_OK)
                    goto fail;
            } else if (push_path(&pl, a) != 0) {
                goto oom;
            }
        } else if (strpbrk(a, "*?[") != NULL) {
            glob_t g;
            int rc = glob(a, 0, NULL, &g);
            if (rc != 0) {
                st = rc == GLOB_NOMATCH ? pdbi__fail(ic, PDB_ENOTFOUND, "%s matches no file", a)
                                        : pdbi__fail(ic, PDB_EIO, "cannot expand %s", a);
                goto fail;
            }
            for (size_t k = 0; k < g.gl_pathc; k++) {
                const char *p = g.gl_pathv[k];
                if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
                    if ((st = expand_dir(ic, &pl, p)) != PDB_OK) {
                        globfree(&g);
                        goto fail;
                    }
                } else if (survey_name(p) || strpbrk(a, "*?[") != NULL) {
                    /* A pattern the user wrote names what it matches, but
                     * sidecars are skipped as in a directory. */
                    const char *base = strrchr(p, '/');
                    if (survey_name(base ? base + 1 : p) && push_path(&pl, p) != 0) {
                        globfree(&g);
                        goto oom;
                    }
                }
            }
            globfree(&g);
        } else {
            /* Kept: the import reports it as a file it could not read. */
            if (push_path(&pl, a) != 0)
                goto oom;
        }
    }
    *paths_out = pl.items;
    *count_out = pl.n;
    return PDB_OK;
oom:
    st = pdbi__fail(ic, PDB_ENOMEM, "out of memory");
fail:
    pdbi_paths_free(pl.items, pl.n);
    return st;
}

void pdbi_paths_free(char **paths, size_t count)
{
    for (size_t i = 0; paths != NULL && i < count; i++)
        free(paths[i]);
    free(paths);
}

/* ------------------------------------------------------------------------ */
/* The run                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct run {
    pdbi_options o;           /* options with defaults filled in */
    pdbi_ctx *ic;             /* the writing thread's context (the caller's); messages go here */
    pdb_ctx *ctx;             /* ic->db: the writing thread's engine context */
    pdb_ctx *rctx;            /* the engine context of the reading thread */
    pdb_store *store;         /* NULL in a dry run without a store */
    pdbi_fieldmap fm;         /* --field-map */
    int srs_epsg;             /* --srs, 0 when from the file */
    int enc_forced;           /* --encoding given */
    pdbi_enc enc;             /* its value */
    char commune[6];          /* --commune, normalised, or "" */
    int64_t batch_id;         /* 0 in a dry run */
    pdbi_srs_memo *srs_memo;  /* GDAL's CRS matches looked up, by WKT */
    pdb_overview_builder *ov; /* builds each committed commune's overviews meanwhile, or NULL */
    const pdbi_run_result *results; /* the files so far (import_file's is the last) */
    /* The sheet files of one commune (sheet_groups): per input file, the
     * index of the first file of its commune and format, or -1; and for
     * such a first file, the paths of the others (borrowed from results). */
    long *group_first;
    const char ***group_others;
    size_t *group_nothers;
    char (*group_code)[6]; /* per input file, the commune that grouped it, or "" */
    /* The communes the store held when the run began (codes, sorted): the
     * others' change summary is "every parcel new", with no lineage to
     * read back (change_summary). */
    char (*had)[8];
    size_t nhad;
} run;

/* A note or error about a file, on the log. */
static void say(const run *R, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(const run *R, const char *path, const char *fmt, ...)
{
    va_list ap;
    if (R->o.log == NULL)
        return;
    fprintf(R->o.log, "parceldb: %s: ", path);
    va_start(ap, fmt);
    vfprintf(R->o.log, fmt, ap);
    va_end(ap);
    fputc('\n', R->o.log);
    fflush(R->o.log);
}

/* Records why the file failed, on the run's context and in its result,
 * and says it on the log; returns st, so that each failure of a step is
 * one line. */
static pdb_status file_fail(const run *R, pdbi_file_result *res, pdb_status st, const char *fmt,
                            ...) __attribute__((format(printf, 4, 5)));
static pdb_status file_fail(const run *R, pdbi_file_result *res, pdb_status st, const char *fmt,
                            ...)
{
    va_list ap;
    va_start(ap, fmt);
    pdbi__failv(R->ic, st, fmt, ap);
    va_end(ap);
    free(res->message);
    res->message = strdup(pdbi_errmsg(R->ic));
    res->status = PDBI_FILE_FAILED;
    say(R, res->path, "%s", pdbi_errmsg(R->ic));
    return st;
}

/* The file failed with the failure already on the run's context. */
static pdb_status file_failed(const run *R, pdbi_file_result *res)
{
    return file_fail(R, res, pdbi_errcode(R->ic), "%s", pdbi_errmsg(R->ic));
}

/* Whether an engine message says the disk filled. SQLite turns ENOSPC into
 * SQLITE_FULL ("database or disk is full"), which the engine passes on as
 * PDB_EIO with SQLite's words, so the words are all there is to read. */
static int disk_full(const pdbi_ctx *ic)
{
    const char *msg = pdbi_errmsg(ic);
    return pdbi_errcode(ic) == PDB_EIO &&
           (strstr(msg, "disk is full") != NULL || strstr(msg, strerror(ENOSPC)) != NULL);
}

/* Undoes the octal escapes (\040 for a space) of a /proc/self/mountinfo field. */
static void mountinfo_unescape(char *s)
{
    char *out = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *out++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 3;
        } else
            *out++ = *p;
    }
    *out = '\0';
}

/* Names the file system that holds the store, as df shows it: its mount
 * point and what is mounted there ("/srv (/dev/sdb1)"), so that a user told
 * the disk is full knows which one to free. Falls back to the store's path. */
static void store_device(const char *db_path, char *buf, size_t len)
{
    char real[PATH_MAX], line[2 * PATH_MAX + 256], mnt[PATH_MAX], source[PATH_MAX];
    struct stat sb;
    size_t best = 0;
    FILE *m;

    snprintf(buf, len, "the file system of %s", db_path);
    if (realpath(db_path, real) == NULL || stat(real, &sb) != 0 ||
        (m = fopen("/proc/self/mountinfo", "r")) == NULL)
        return;
    /* "36 35 98:0 / /mnt rw,noatime master:1 - ext3 /dev/sda1 rw": the mount
     * whose device is the store's and whose point is the longest prefix of
     * its path (bind mounts share a device). */
    while (fgets(line, sizeof line, m) != NULL) {
        unsigned maj, min;
        const char *sep = strstr(line, " - ");
        if (sep == NULL || sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, mnt) != 3 ||
            makedev(maj, min) != sb.st_dev || sscanf(sep + 3, "%*s %4095s", source) != 1)
            continue;
        mountinfo_unescape(mnt);
        mountinfo_unescape(source);
        size_t ml = strlen(mnt);
        int under = strncmp(real, mnt, ml) == 0 && (ml == 1 || real[ml] == '/' || real[ml] == '\0');
        if (under && ml >= best) {
            best = ml;
            snprintf(buf, len, "%s (%s)", mnt, source);
        }
    }
    fclose(m);
}

/* A write of the file failed because the store's disk is full: said as
 * such, naming the disk, on one line of its own (no path prefix: the line
 * names the file). */
static pdb_status file_fail_full(const run *R, pdbi_file_result *res, const char *commune,
                                 int committed)
{
    char dev[DEVICE_NAME_MAX];
    store_device(R->o.db_path, dev, sizeof dev);
    pdbi__fail(R->ic, PDB_EIO, "no space left on %s while importing %s (commune %s%s)", dev,
               res->path, commune,
               committed ? "; the communes before it were committed" : "; nothing stored");
    free(res->message);
    res->message = strdup(pdbi_errmsg(R->ic));
    res->status = committed ? PDBI_FILE_PARTIAL : PDBI_FILE_FAILED;
    if (R->o.log != NULL) {
        fprintf(R->o.log, "parceldb: %s\n", pdbi_errmsg(R->ic));
        fflush(R->o.log);
    }
    return PDB_EIO;
}

/* A five-digit commune code in the file's name (08707.shp, xa_08707.gpkg). */
static int commune_from_name(const char *path, char out[6])
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (const char *p = base; *p; p++) {
        if (*p < '0' || *p > '9' || (p > base && p[-1] >= '0' && p[-1] <= '9'))
            continue;
        size_t n = strspn(p, "0123456789");
        if (n == 5) {
            memcpy(out, p, 5);
            out[5] = '\0';
            if (pdbi__commune_known(out) != NULL)
                return 0;
        }
    }
    return -1;
}

/* The advice for a missing or wrong CRS, from the commune(s). */
static void zone_advice(const pdbi_file *f, char *buf, size_t len)
{
    const char *code = f->fixed_commune[0] ? f->fixed_commune
                       : f->ncommunes > 0  ? f->communes[0].code
                                           : NULL;
    const pdb_commune_ref *ref = code ? pdbi__commune_known(code) : NULL;
    if (ref != NULL)
        snprintf(buf, len,
                 "commune %s (%s) was in the former %s province, whose surveys use "
                 "EPSG:%d: --srs EPSG:%d",
                 ref->code, ref->name, ref->former_province, ref->epsg, ref->epsg);
    else
        snprintf(buf, len,
                 "by the commune's former province: --srs EPSG:9208 (Phu Tho, "
                 "104-45), EPSG:5897 (Vinh Phuc, 105-00) or EPSG:9211 (Hoa Binh, 106-00)");
}

/* Checks the first features' positions against the CRS. */
static pdb_status check_plausible(run *R, pdbi_file *f, const char *srs_from)
{
    int checked = 0, bad = 0;
    char first[512] = "";

    for (size_t li = 0; li < f->nlayers && checked < PLAUSIBILITY_SAMPLES; li++) {
        pdbi_layer *L = &f->layers[li];
        OGRFeatureH feat;
        OGR_L_ResetReading(L->layer);
        while (checked < PLAUSIBILITY_SAMPLES && (feat = OGR_L_GetNextFeature(L->layer))) {
            OGRGeometryH g = OGR_F_GetGeometryRef(feat);
            if (g != NULL && !OGR_G_IsEmpty(g) &&
                !(L->cad && wkbFlatten(OGR_G_GetGeometryType(g)) == wkbPoint)) {
                OGREnvelope env;
                OGR_G_GetEnvelope(g, &env);
                double x = (env.MinX + env.MaxX) / 2, y = (env.MinY + env.MaxY) / 2;
                if (L->swap_xy) {
                    double t = x;
                    x = y;
                    y = t;
                }
                checked++;
                if (pdb_crs_check_point(R->ctx, L->epsg, x, y) != PDB_OK) {
                    if (bad++ == 0)
                        snprintf(first, sizeof first, "%s", pdb_errmsg(R->ctx));
                }
            }
            OGR_F_Destroy(feat);
        }
    }
    if (checked == 0 || bad * 2 < checked)
        return PDB_OK;
    char advice[300];
    zone_advice(f, advice, sizeof advice);
    if (strcmp(f->driver, "GeoJSON") == 0 && R->srs_epsg == 0 && f->epsg == PDB_EPSG_WGS84)
        return pdbi__fail(R->ic, PDB_EPLAUSIBLE,
                          "a GeoJSON file without a 'crs' member is WGS 84 (RFC 7946), but these "
                          "coordinates are not: give the survey's CRS with --srs; %s (%s)",
                          advice, first);
    return pdbi__fail(R->ic, PDB_EPLAUSIBLE, "the coordinates do not fit the CRS %s: %s", srs_from,
                      first);
}

static pdb_status layers_crs(run *R, pdbi_file *f);

/* Decides f->epsg (and axis swap) from --srs or the file. */
static pdb_status resolve_crs(run *R, pdbi_file *f, char *srs_from, size_t fromlen)
{
    OGRSpatialReferenceH srs = OGR_L_GetSpatialRef(f->layers[0].layer);
    char note[400] = "", why[500] = "";
    int file_epsg = 0;

    if (srs != NULL &&
        pdbi__srs_match(R->ic, &R->srs_memo, srs, &file_epsg, note, sizeof note) != PDB_OK) {
        file_epsg = -1;
        snprintf(why, sizeof why, "%s", pdbi_errmsg(R->ic));
    }
    if (R->srs_epsg != 0) {
        f->epsg = R->srs_epsg;
        snprintf(srs_from, fromlen, "EPSG:%d given with --srs", f->epsg);
        if (file_epsg > 0 && file_epsg != f->epsg)
            say(R, f->path, "note: --srs EPSG:%d overrides the file's EPSG:%d", f->epsg, file_epsg);
        else if (file_epsg < 0)
            say(R, f->path, "note: --srs EPSG:%d overrides the file's CRS (%s)", f->epsg, why);
        /* The axis order of the file's own CRS still tells how OGR hands
         * the coordinates over. */
        f->swap_xy = srs != NULL && pdbi__srs_x_is_northing(srs);
    } else if (srs == NULL) {
        char advice[300];
        zone_advice(f, advice, sizeof advice);
        return pdbi__fail(R->ic, PDB_ECRS, "has no coordinate system%s; give it with --srs: %s",
                          f->is_shp ? " (no .prj)" : "", advice);
    } else if (file_epsg < 0) {
        char advice[300];
        zone_advice(f, advice, sizeof advice);
        return pdbi__fail(R->ic, PDB_ECRS,
                          "%s; if the coordinates are VN-2000, give the CRS with --srs (%s)", why,
                          advice);
    } else {
        f->epsg = file_epsg;
        f->swap_xy = pdbi__srs_x_is_northing(srs);
        snprintf(srs_from, fromlen, "EPSG:%d declared by the file", f->epsg);
        if (note[0] != '\0')
            say(R, f->path, "note: CRS %s", note);
    }
    pdb_crs_info info;
    if (pdb_crs_info_get(R->ctx, f->epsg, &info) != PDB_OK)
        return pdbi__fail_db(R->ic, NULL);
    f->geographic = info.kind == PDB_CRS_GEOGRAPHIC;
    for (size_t li = 0; li < f->nlayers; li++) {
        f->layers[li].epsg = f->epsg;
        f->layers[li].swap_xy = f->swap_xy;
    }
    return R->srs_epsg == 0 ? layers_crs(R, f) : PDB_OK;
}

/* A file whose layers declare different CRSs, as `parceldb export
 * --format GPKG` writes communes of several zones (a layer per commune,
 * each in its own zone): each layer's CRS is matched as the first one's
 * was, and each commune is loaded in the CRS of the layers that hold it,
 * which must then agree. */
static pdb_status layers_crs(run *R, pdbi_file *f)
{
    for (size_t li = 1; li < f->nlayers; li++) {
        pdbi_layer *L = &f->layers[li];
        OGRSpatialReferenceH srs = OGR_L_GetSpatialRef(L->layer);
        char note[400] = "";
        int epsg = 0;
        if (srs == NULL)
            continue; /* a layer without geometry CRS reads as the file's */
        if (pdbi__srs_match(R->ic, &R->srs_memo, srs, &epsg, note, sizeof note) != PDB_OK)
            return pdbi__fail(R->ic, PDB_ECRS, "layer %s: %s", L->name, pdbi_errmsg(R->ic));
        L->epsg = epsg;
        L->swap_xy = pdbi__srs_x_is_northing(srs);
        if (epsg != f->epsg)
            f->multi_crs = 1;
    }
    if (!f->multi_crs)
        return PDB_OK;
    if (f->fixed_commune[0] != '\0')
        return pdbi__fail(R->ic, PDB_ECRS,
                          "its layers are in different CRSs (EPSG:%d in %s, ...) but hold one "
                          "commune: give the CRS with --srs",
                          f->epsg, f->layers[0].name);
    for (size_t i = 0; i < f->ncommunes; i++) {
        const pdbi_commune_count *c = &f->communes[i];
        for (size_t li = c->layer_first; li <= c->layer_last && li < f->nlayers; li++)
            if (f->layers[li].epsg != f->layers[c->layer_first].epsg)
                return pdbi__fail(R->ic, PDB_ECRS,
                                  "commune %s lies in layers of different CRSs (%s in EPSG:%d, %s "
                                  "in EPSG:%d): import them apart",
                                  c->code, f->layers[c->layer_first].name,
                                  f->layers[c->layer_first].epsg, f->layers[li].name,
                                  f->layers[li].epsg);
    }
    return PDB_OK;
}

/* For a file of several CRSs: makes commune i's the file's CRS, for the
 * checks and the pass that loads it. */
static pdb_status commune_crs(run *R, pdbi_file *f, size_t i)
{
    if (!f->multi_crs)
        return PDB_OK;
    const pdbi_layer *L = &f->layers[f->communes[i].layer_first];
    pdb_crs_info info;
    f->epsg = L->epsg;
    f->swap_xy = L->swap_xy;
    if (pdb_crs_info_get(R->ctx, f->epsg, &info) != PDB_OK)
        return pdbi__fail_db(R->ic, NULL);
    f->geographic = info.kind == PDB_CRS_GEOGRAPHIC;
    return PDB_OK;
}

/* The commune's zone against the file's: a meridian off by one puts
 * parcels 25-130 km away, and the coordinates alone cannot show it. */
static pdb_status check_zone(run *R, pdbi_file *f, const char *code, const char *srs_from)
{
    const pdb_commune_ref *ref = pdbi__commune_known(code);
    pdb_crs_info have, want;

    if (ref == NULL || ref->epsg == f->epsg)
        return PDB_OK;
    if (pdb_crs_info_get(R->ctx, f->epsg, &have) != PDB_OK || have.kind != PDB_CRS_TM3)
        return PDB_OK; /* WGS 84, VN-2000 geographic and UTM are zone-free */
    if (pdb_crs_info_get(R->ctx, ref->epsg, &want) != PDB_OK)
        return PDB_OK;
    if (R->o.force_srs) {
        say(R, f->path,
            "warning: commune %s surveys in EPSG:%d (TM-3 %s) but %s (TM-3 %s); "
            "kept because of --force-srs",
            code, ref->epsg, want.zone, srs_from, have.zone);
        return PDB_OK;
    }
    return pdbi__fail(R->ic, PDB_ECRS,
                      "wrong meridian: %s (TM-3 %s), but commune %s (%s) was in the former %s "
                      "province, whose surveys use EPSG:%d (TM-3 %s); a zone off by one meridian "
                      "moves parcels by 25-130 km. If the coordinates are in TM-3 %s, import with "
                      "--srs EPSG:%d; if the declared zone is right after all, add --force-srs",
                      srs_from, have.zone, code, ref->name, ref->former_province, ref->epsg,
                      want.zone, want.zone, ref->epsg);
}

static int cmp_commune(const void *a, const void *b)
{
    return strcmp(((const pdbi_commune_count *)a)->code, ((const pdbi_commune_count *)b)->code);
}

static void add_counts(pdb_import_counts *to, const pdb_import_counts *c)
{
    to->read += c->read;
    to->stored += c->stored;
    to->repaired += c->repaired;
    to->rejected += c->rejected;
    to->flagged += c->flagged;
    to->wgs84_repaired += c->wgs84_repaired;
}

/* The steps of import_file(): each returns PDB_OK to go on, or the file's
 * failure (recorded in res, with its message on the run's context). */

/* An input that is not a file, or an empty one. */
static pdb_status file_check_input(run *R, pdbi_file_result *res)
{
    struct stat sb;
    if (stat(res->path, &sb) != 0)
        return file_fail(R, res, errno == ENOENT ? PDB_ENOTFOUND : PDB_EIO, "%s", strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return file_fail(R, res, PDB_EINVAL, "is a directory");
    /* GDAL calls an empty file "not a vector format", which sends the user
     * looking for a format problem rather than for the export that wrote
     * nothing. */
    if (sb.st_size == 0)
        return file_fail(R, res, PDB_EINVAL, "is an empty file (0 bytes): nothing to import");
    return PDB_OK;
}

/* The file's checksum (with its sidecars', and the other sheet files of
 * its commune read with it: a changed sheet is a new import). */
static pdb_status file_checksum(run *R, pdbi_file *f, pdbi_file_result *res)
{
    size_t nparts = 0;
    char **parts = pdbi__source_parts(res->path, &nparts);
    for (size_t c = 0; parts != NULL && c < f->ncompanions; c++) {
        char **more = realloc(parts, (nparts + 2) * sizeof *parts);
        if (more == NULL || (more[nparts] = strdup(f->companions[c])) == NULL) {
            pdbi_paths_free(more ? more : parts, nparts);
            parts = NULL;
            break;
        }
        parts = more;
        nparts++;
    }
    pdb_status st =
        parts ? pdbi__checksum_files(R->ic, (const char *const *)parts, nparts, f->checksum)
              : pdbi__fail(R->ic, PDB_ENOMEM, "out of memory");
    pdbi_paths_free(parts, nparts);
    return st == PDB_OK ? PDB_OK : file_failed(R, res);
}

/* Whether the same bytes were imported before, and so are skipped (said
 * so, and res says why) unless --force. */
static int already_imported(run *R, const pdbi_file *f, pdbi_file_result *res)
{
    int64_t batch = 0;
    if (R->store == NULL)
        return 0;
    if (pdb_import_find_checksum(R->ctx, R->store, f->checksum, &batch) != PDB_OK) {
        pdbi__fail_db(R->ic, NULL);
        file_failed(R, res);
        return 1;
    }
    if (batch == 0 || R->o.force)
        return 0;
    res->status = PDBI_FILE_SKIPPED;
    if (asprintf(&res->message,
                 "already imported in batch %lld (same SHA-256); --force imports it again",
                 (long long)batch) < 0)
        res->message = NULL;
    say(R, res->path, "skipped: %s", res->message ? res->message : "");
    return 1;
}

/* Opens the file and reads it once for its fields, communes and samples. */
static pdb_status file_open(run *R, pdbi_file *f, pdbi_file_result *res)
{
    if (pdbi__source_open(R->ic, f) != PDB_OK || pdbi__source_prescan(R->ic, f, &R->fm) != PDB_OK)
        return file_failed(R, res);
    /* A well-formed file without a feature: said as such, not as the
     * missing commune field or CRS that would be reported next. */
    if (f->records == 0 && f->nlayers == 1)
        return file_fail(R, res, PDB_EINVAL,
                         "holds no features: its %s layer '%s' is empty; nothing to import",
                         f->driver, f->layers[0].name);
    if (f->records == 0)
        return file_fail(R, res, PDB_EINVAL,
                         "holds no features: its %zu %s layers are empty; nothing to import",
                         f->nlayers, f->driver);
    return PDB_OK;
}

/* The commune: --commune, else a field, else the file's name. */
static pdb_status file_communes(run *R, pdbi_file *f, pdbi_file_result *res)
{
    int have_field = 1;
    for (size_t i = 0; i < f->nlayers; i++)
        if (f->layers[i].map[PDBI_T_COMMUNE] < 0)
            have_field = 0;
    if (R->commune[0] != '\0') {
        memcpy(f->fixed_commune, R->commune, 6);
        if (have_field && f->ncommunes > 0 &&
            (f->ncommunes > 1 || strcmp(f->communes[0].code, R->commune) != 0))
            say(R, res->path, "note: --commune %s overrides the file's commune field", R->commune);
    } else if (!have_field || (f->ncommunes == 0 && f->cad)) {
        if (commune_from_name(res->path, f->fixed_commune) != 0) {
            char list[600];
            pdbi__field_list((const char *const *)f->layers[0].fields, f->layers[0].nfields, list,
                             sizeof list);
            return file_fail(R, res, PDB_EINVAL,
                             "cannot tell the commune: no commune field (tried MaXa, MaDVHC, "
                             "...; the file's fields: %s) and no --commune; give --commune CODE, "
                             "or map a field with --field-map (commune=FIELD)",
                             list);
        }
        say(R, res->path, "note: commune %s taken from the file's name", f->fixed_commune);
    } else if (f->ncommunes == 0) {
        pdbi_layer *L = &f->layers[0];
        return file_fail(R, res, PDB_EINVAL,
                         "the commune field %s holds no known commune code (Phu Tho's or "
                         "the store's commune list) in %lld records; give --commune CODE",
                         L->fields[L->map[PDBI_T_COMMUNE]], (long long)f->records);
    }
    if (f->fixed_commune[0] != '\0') {
        snprintf(res->communes, sizeof res->communes, "%s", f->fixed_commune);
        return PDB_OK;
    }
    qsort(f->communes, f->ncommunes, sizeof *f->communes, cmp_commune);
    size_t used = 0;
    for (size_t i = 0; i < f->ncommunes && used + 8 < sizeof res->communes; i++)
        used += (size_t)snprintf(res->communes + used, sizeof res->communes - used, "%s%s",
                                 i ? "," : "", f->communes[i].code);
    return PDB_OK;
}

/* The parcel's numbers are required: a field for each in every layer. */
static pdb_status file_check_numbers(run *R, const pdbi_file *f, pdbi_file_result *res)
{
    for (size_t i = 0; i < f->nlayers; i++) {
        const pdbi_layer *L = &f->layers[i];
        for (int t = PDBI_T_SHEET; t <= PDBI_T_PARCEL; t++) {
            if (L->map[t] >= 0 || L->records == 0)
                continue;
            char list[600], tried[200] = "";
            const char *const *al = pdbi__target_aliases((pdbi_target)t);
            for (size_t k = 0; al[k] != NULL && k < 6; k++)
                snprintf(tried + strlen(tried), sizeof tried - strlen(tried), "%s%s", k ? ", " : "",
                         al[k]);
            pdbi__field_list((const char *const *)L->fields, L->nfields, list, sizeof list);
            return file_fail(R, res, PDB_EINVAL,
                             "no field for the %s number%s%s (tried %s, ...); the file's "
                             "fields: %s; map one with --field-map (%s=FIELD)",
                             t == PDBI_T_SHEET ? "sheet" : "parcel",
                             f->nlayers > 1 ? " in layer " : "", f->nlayers > 1 ? L->name : "",
                             tried, list, pdbi__target_name((pdbi_target)t));
        }
    }
    return PDB_OK;
}

/* The text encoding: --encoding, a declared Windows-1258, or detected. */
static pdb_status file_encoding(run *R, pdbi_file *f, pdbi_file_result *res)
{
    if (R->enc_forced) {
        f->enc.kind = R->enc;
        f->enc.confidence = 1.0;
        snprintf(f->enc.how, sizeof f->enc.how, "--encoding");
    } else {
        int declared_utf8 = 0;
        char declared[64];
        pdbi__source_declared_encoding(f, &declared_utf8, declared, sizeof declared);
        if (strstr(declared, "1258") != NULL) {
            f->enc.kind = PDBI_ENC_CP1258;
            f->enc.confidence = 1.0;
            snprintf(f->enc.how, sizeof f->enc.how, "declared in %s", declared);
        } else if (pdbi__enc_choose(R->ic, declared_utf8, declared[0] ? declared : NULL,
                                    (const char *const *)f->samples, f->sample_lens, f->nsamples,
                                    &f->enc) != PDB_OK) {
            return file_failed(R, res);
        }
    }
    snprintf(res->encoding, sizeof res->encoding, "%s", pdbi__enc_name(f->enc.kind));
    if (f->enc.kind != PDBI_ENC_UTF8)
        say(R, res->path, "note: text read as %s (%s)", pdbi__enc_name(f->enc.kind), f->enc.how);
    return PDB_OK;
}

/* The CRS, and whether the data and the communes agree with it. */
static pdb_status file_crs(run *R, pdbi_file *f, pdbi_file_result *res, char *srs_from,
                           size_t fromlen)
{
    if (resolve_crs(R, f, srs_from, fromlen) != PDB_OK || check_plausible(R, f, srs_from) != PDB_OK)
        return file_failed(R, res);
    res->srid = f->epsg;
    size_t n = f->fixed_commune[0] != '\0' ? 1 : f->ncommunes;
    for (size_t i = 0; i < n; i++) {
        const char *code = f->fixed_commune[0] != '\0' ? f->fixed_commune : f->communes[i].code;
        if (f->multi_crs) {
            if (commune_crs(R, f, i) != PDB_OK)
                return file_failed(R, res);
            snprintf(srs_from, fromlen, "EPSG:%d declared by its layers", f->epsg);
        }
        if (check_zone(R, f, code, srs_from) != PDB_OK)
            return file_failed(R, res);
    }
    return PDB_OK;
}

/* --qa: the quality checks of the commune just written, read through the
 * same store handle inside its open transaction (so they see its new
 * parcels and nothing else sees them yet). Says the counts; under strict,
 * fails when a finding is of severity error, and the caller rolls back. */
static pdb_status commune_qa(run *R, pdbi_file_result *res, const char *commune)
{
    pdb_qa_rules *defaults = NULL;
    pdb_qa_report *rep = NULL;
    const pdb_qa_rules *rules = R->o.qa_rules;
    pdb_status st = PDB_OK;
    char counts[512] = "";
    size_t used = 0;

    if (rules == NULL) {
        if (pdb_qa_rules_default(R->ctx, &defaults) != PDB_OK)
            return pdbi__fail(R->ic, pdb_errcode(R->ctx), "%s", pdb_errmsg(R->ctx));
        rules = defaults;
    }
    if (pdb_qa_run(R->ctx, R->store, rules, &commune, 1, &rep) != PDB_OK) {
        st = pdbi__fail(R->ic, pdb_errcode(R->ctx), "commune %s: qa: %s", commune,
                        pdb_errmsg(R->ctx));
        goto done;
    }
    for (int c = 0; c < PDB_QA_CHECK_COUNT; c++) {
        size_t n = 0;
        for (size_t i = 0; i < rep->count; i++)
            n += rep->items[i].check == (pdb_qa_check)c;
        if (n > 0 && used + 64 < sizeof counts)
            used += (size_t)snprintf(counts + used, sizeof counts - used, "%s%s %zu",
                                     used ? ", " : "", pdb_qa_check_name((pdb_qa_check)c), n);
    }
    size_t errors = rep->by_severity[PDB_QA_ERROR];
    say(R, res->path, "commune %s: qa: %zu errors, %zu warnings, %zu info%s%s%s", commune, errors,
        rep->by_severity[PDB_QA_WARNING], rep->by_severity[PDB_QA_INFO], used ? " (" : "", counts,
        used ? ")" : "");
    if (errors > 0 && R->o.qa == PDBI_QA_STRICT)
        st = pdbi__fail(R->ic, PDB_EINVAL,
                        "commune %s: refused by --qa strict: %zu errors (%s; parceldb qa lists "
                        "them once imported with --qa warn)",
                        commune, errors, counts);
done:
    pdb_qa_report_free(rep);
    pdb_qa_rules_free(defaults);
    return st;
}

/* One pass over the file and one transaction for commune i. On failure
 * the commune is rolled back and the message is on the run's context. */
static pdb_status load_commune(run *R, pdbi_file *f, pdbi_file_result *res, size_t i,
                               pdbi_pass *pass)
{
    pdb_status st = PDB_OK;

    memset(pass, 0, sizeof *pass);
    pass->file = f;
    pass->commune = f->fixed_commune[0] ? f->fixed_commune : f->communes[i].code;
    pass->host = i == 0;
    pass->ic = R->ic;
    pass->rdb = R->rctx;
    if ((st = commune_crs(R, f, i)) != PDB_OK)
        return st;
    pass->expected = f->fixed_commune[0] || f->cad
                         ? f->records
                         : f->communes[i].n + (i == 0 ? f->no_commune : 0);
    if (!R->o.dry_run) {
        pdb_commune_load load = {
            .batch_id = R->batch_id,
            .commune = pass->commune,
            .name = NULL,
            .source_srid = f->epsg,
            .file = res->path,
            .checksum = f->checksum,
        };
        if (pdb_writer_begin(R->ctx, R->store, &load, &pass->writer) != PDB_OK)
            return pdbi__fail(R->ic, pdb_errcode(R->ctx), "commune %s: %s", pass->commune,
                              pdb_errmsg(R->ctx));
    }
    st = pdbi__pass_run(pass);
    if (st == PDB_OK && pass->writer != NULL && R->o.qa)
        st = commune_qa(R, res, pass->commune);
    if (st == PDB_OK && pass->writer != NULL &&
        pdb_writer_commit(R->ctx, pass->writer, &pass->counts) != PDB_OK)
        st = pdbi__fail(R->ic, pdb_errcode(R->ctx), "commune %s: commit: %s", pass->commune,
                        pdb_errmsg(R->ctx));
    pdb_writer_free(pass->writer); /* rolls back the commune unless committed */
    pass->writer = NULL;
    /* Its overviews are built while the next commune loads. Should the
     * builder fail, the commune is committed all the same, and it and
     * those still queued are left to the rebuild after the import. */
    if (st == PDB_OK && R->ov != NULL &&
        pdb_overview_builder_add(R->ctx, R->ov, pass->commune) != PDB_OK) {
        pdb_overview_builder_free(R->ov);
        R->ov = NULL;
    }
    return st;
}

/* Loads each commune of the file in its own transaction; a failure keeps
 * the communes before it. */
static pdb_status file_load(run *R, pdbi_file *f, pdbi_file_result *res)
{
    size_t npasses = f->fixed_commune[0] ? 1 : f->ncommunes;
    for (size_t i = 0; i < npasses; i++) {
        pdbi_pass pass;
        if (load_commune(R, f, res, i, &pass) != PDB_OK) {
            if (disk_full(R->ic))
                return file_fail_full(R, res, pass.commune, i > 0);
            pdb_status st =
                file_fail(R, res, pdbi_errcode(R->ic), "%s%s", pdbi_errmsg(R->ic),
                          i > 0 ? " (the communes before it were committed)" : "; nothing stored");
            if (i > 0)
                res->status = PDBI_FILE_PARTIAL;
            return st;
        }
        add_counts(&res->counts, &pass.counts);
    }
    res->status = R->o.dry_run ? PDBI_FILE_DRY_RUN : PDBI_FILE_OK;
    return PDB_OK;
}

/* A commune is written from one import, and a second file of it
 * supersedes the first: fine for a survey sent again, a silent loss for
 * the sheets of one commune sent as a file each. Sheet files of one
 * format are read together (sheet_groups); a sheet file whose commune an
 * earlier sheet file of the run loaded is refused (one of another format,
 * or whose commune only the file's contents gave). */
static pdb_status sheets_once(const run *R, const pdbi_file *f, pdbi_file_result *res)
{
    res->sheets = f->sheets; /* for the files after it */
    for (const pdbi_file_result *o = R->results->files; f->sheets && o < res; o++)
        if (o->sheets && strcmp(o->communes, res->communes) == 0 &&
            (o->status == PDBI_FILE_OK || o->status == PDBI_FILE_DRY_RUN))
            return file_fail(R, res, PDB_EINVAL,
                             "commune %s's sheets came in %s already: the sheet files of a "
                             "commune are read as one drawing when they are of one format, and "
                             "this one would supersede them; convert it to the others' format "
                             "(ogr2ogr) and import them together",
                             res->communes, o->path);
    return PDB_OK;
}

/* The commune's sheets come as a file each (one DGN or DXF per map
 * sheet, as the cadastral software writes them): the files of one format
 * whose commune --commune or the file's name gives are grouped, and the
 * first of each group reads the others with it as one drawing when it is
 * a line-and-label sheet (source.c, read_companions). 0, or -1 when out
 * of memory. */
static int sheet_groups(run *R, pdbi_run_result *res)
{
    size_t n = res->nfiles;
    R->group_first = malloc((n ? n : 1) * sizeof *R->group_first);
    R->group_others = calloc(n ? n : 1, sizeof *R->group_others);
    R->group_nothers = calloc(n ? n : 1, sizeof *R->group_nothers);
    char(*code)[6] = R->group_code = calloc(n ? n : 1, sizeof *code);
    if (R->group_first == NULL || R->group_others == NULL || R->group_nothers == NULL ||
        code == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        res->files[i].read_with = -1;
        R->group_first[i] = -1;
        const char *dot = strrchr(res->files[i].path, '.');
        if (dot == NULL || (strcasecmp(dot, ".dgn") != 0 && strcasecmp(dot, ".dxf") != 0))
            continue;
        if (R->commune[0] != '\0')
            memcpy(code[i], R->commune, 6);
        else if (commune_from_name(res->files[i].path, code[i]) != 0)
            continue;
        for (size_t j = 0; j < i; j++) {
            const char *dj = strrchr(res->files[j].path, '.');
            if (code[j][0] == '\0' || strcmp(code[j], code[i]) != 0 || strcasecmp(dj, dot) != 0)
                continue;
            size_t first = R->group_first[j] >= 0 ? (size_t)R->group_first[j] : j;
            const char **more =
                realloc(R->group_others[first], (R->group_nothers[first] + 1) * sizeof *more);
            if (more == NULL)
                return -1;
            more[R->group_nothers[first]++] = res->files[i].path;
            R->group_others[first] = more;
            R->group_first[i] = (long)first;
            break;
        }
    }
    return 0;
}

/* A sheet file its commune's first sheet file read with it: its outcome
 * is that file's. 1 when so (res is set), 0 when it is imported itself
 * (the first file was no line-and-label sheet). */
static int read_with_first(run *R, pdbi_file_result *res, size_t i)
{
    if (R->group_first == NULL || R->group_first[i] < 0)
        return 0;
    const pdbi_file_result *first = &R->results->files[R->group_first[i]];
    /* Read with it; or skipped with it (its checksum covers every file of
     * the group); or failed with it, a sheet that failed (reading this
     * one, maybe): the commune's sheets are stored together or not at
     * all. A first file that was no sheet, or failed before it could
     * tell, leaves this one to be imported on its own. */
    if (first->sheet_files == 0 && first->status != PDBI_FILE_SKIPPED &&
        !(first->status == PDBI_FILE_FAILED && first->sheets))
        return 0;
    snprintf(res->communes, sizeof res->communes, "%s",
             first->communes[0] ? first->communes : R->group_code[i]);
    res->sheets = 1;
    res->read_with = R->group_first[i];
    res->status = first->status;
    if (asprintf(&res->message, "read with %s as one drawing of commune %s%s", first->path,
                 res->communes,
                 first->status == PDBI_FILE_FAILED    ? ", which failed"
                 : first->status == PDBI_FILE_SKIPPED ? ", which was skipped"
                                                      : "") < 0)
        res->message = NULL;
    say(R, res->path, "%s", res->message ? res->message : "read with its commune's first sheet");
    return 1;
}

/* Imports one file: decides its commune(s), text encoding and CRS, refuses
 * what cannot be right, then loads each commune. */
static void import_file(run *R, pdbi_file_result *res)
{
    pdbi_file f;
    char srs_from[96] = "";
    double t0 = pdbi__now();
    size_t index = (size_t)(res - R->results->files);

    memset(&f, 0, sizeof f);
    f.opts = &R->o;
    f.path = res->path;
    if (read_with_first(R, res, index))
        return;
    if (R->group_others != NULL && R->group_nothers[index] > 0) {
        f.companions = R->group_others[index];
        f.ncompanions = R->group_nothers[index];
    }
    if (file_check_input(R, res) != PDB_OK || file_checksum(R, &f, res) != PDB_OK ||
        already_imported(R, &f, res) || file_open(R, &f, res) != PDB_OK ||
        file_communes(R, &f, res) != PDB_OK || sheets_once(R, &f, res) != PDB_OK ||
        file_check_numbers(R, &f, res) != PDB_OK || file_encoding(R, &f, res) != PDB_OK ||
        file_crs(R, &f, res, srs_from, sizeof srs_from) != PDB_OK)
        goto done;
    if (R->o.progress == PDBI_PROGRESS_LOG)
        say(R, res->path, "%lld records, commune %s, %s, text %s", (long long)f.records,
            res->communes, srs_from, pdbi__enc_name(f.enc.kind));
    if (file_load(R, &f, res) != PDB_OK)
        goto done;
    if (R->o.progress == PDBI_PROGRESS_LOG)
        say(R, res->path, "read %lld, stored %lld (repaired %lld), rejected %lld, flagged %lld",
            (long long)res->counts.read, (long long)res->counts.stored,
            (long long)res->counts.repaired, (long long)res->counts.rejected,
            (long long)res->counts.flagged);
done:
    res->sheet_files = f.sheet_files;
    res->sheets = f.sheets;
    pdbi__source_close(&f);
    res->seconds = pdbi__now() - t0;
}

/* Whether a commune was among those this run's files committed. */
static int imported_here(const pdbi_run_result *res, const char *code)
{
    for (size_t i = 0; i < res->nfiles; i++) {
        const pdbi_file_result *f = &res->files[i];
        if ((f->status == PDBI_FILE_OK || f->status == PDBI_FILE_PARTIAL) &&
            strstr(f->communes, code) != NULL)
            return 1;
    }
    return 0;
}

/* The low-zoom overviews of the communes imported: their own transaction,
 * after the data, so that a failure here loses none of it (the server
 * draws stale communes from their parcels). The engine confines a
 * commune's failure to that commune and records it; here it becomes a
 * note in the summary, never a failure of the import, whose data is
 * committed and right. */
static void rebuild_overviews(run *R, pdbi_run_result *res)
{
    pdb_ctx *ctx = R->ctx;
    pdb_overview_report rep, built = {0};
    pdb_commune_list *list = NULL;
    double t1 = pdbi__now();

    if (R->o.log != NULL && R->o.progress != PDBI_PROGRESS_NONE) {
        fprintf(R->o.log, "parceldb: rebuilding the overviews of the communes imported\n");
        fflush(R->o.log);
    }
    /* The builder's last communes; then a rebuild of whatever it left
     * stale (none, unless it failed or the store is PostgreSQL). */
    if (R->ov != NULL)
        (void)pdb_overview_builder_finish(ctx, R->ov, &built); /* what it wrote, even on failure */
    pdb_overview_builder_free(R->ov);
    R->ov = NULL;
    if (pdb_overview_rebuild_report(ctx, R->store, NULL, &rep) != PDB_OK) {
        if (asprintf(&res->overview_error, "rebuilding overviews: %s", pdb_errmsg(ctx)) < 0)
            res->overview_error = NULL;
        res->overviews_rebuilt = built.rebuilt;
        res->overviews_failed = built.failed;
    } else {
        res->overviews_rebuilt = built.rebuilt + rep.rebuilt;
        res->overviews_failed = built.failed + rep.failed;
    }
    res->overview_seconds = pdbi__now() - t1;
    if (pdb_communes_list(ctx, R->store, &list) != PDB_OK)
        return;
    for (size_t i = 0; i < list->count; i++) {
        const pdb_commune *c = &list->items[i];
        if ((c->overview_state != PDB_OVERVIEW_STATE_FAILED &&
             c->overview_state != PDB_OVERVIEW_STATE_FALLBACK) ||
            !imported_here(res, c->code))
            continue;
        char *more = NULL;
        if (asprintf(&more, "%scommune %s: overviews %s: %s\n",
                     res->overview_notes ? res->overview_notes : "", c->code,
                     c->overview_state == PDB_OVERVIEW_STATE_FAILED
                         ? "not built (its low zooms are drawn from its parcels)"
                         : "built with a fallback (its parcels, not dissolved)",
                     c->overview_reason ? c->overview_reason : "no reason recorded") < 0)
            break;
        free(res->overview_notes);
        res->overview_notes = more;
    }
    pdb_commune_list_free(list);
}

static int by_code(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The communes in the store as the run begins (R->had); none when it
 * cannot say (every commune's summary is then read back). */
static void communes_before(run *R)
{
    pdb_commune_list *list = NULL;
    if (R->store == NULL || pdb_communes_list(R->ctx, R->store, &list) != PDB_OK)
        return;
    if ((R->had = calloc(list->count ? list->count : 1, sizeof *R->had)) != NULL) {
        for (size_t i = 0; i < list->count; i++)
            snprintf(R->had[R->nhad++], sizeof *R->had, "%s", list->items[i].code);
        qsort(R->had, R->nhad, sizeof *R->had, by_code);
    }
    pdb_commune_list_free(list);
}

/* Whether a commune's summary is "every parcel new": the store did not
 * hold it when the run began and one file of the run loaded it. */
static int fresh_commune(const run *R, const pdbi_run_result *res, const char *code)
{
    if (R->had == NULL || bsearch(code, R->had, R->nhad, sizeof *R->had, by_code) != NULL)
        return 0;
    int loads = 0;
    for (size_t i = 0; i < res->nfiles; i++) {
        const pdbi_file_result *f = &res->files[i];
        loads += (f->status == PDBI_FILE_OK || f->status == PDBI_FILE_PARTIAL) &&
                 strstr(f->communes, code) != NULL;
    }
    return loads == 1;
}

/* The lineage each commune's load recorded (docs/changes.md), one line a
 * commune for the summary. A commune new to the store is every parcel new,
 * said from its row: reading back the steps of a first import of the
 * province (each new parcel, numbered and sorted) was 4 s of a 20 s run
 * and 250 MB. A failure to read it back is a note there: the data and its
 * lineage are committed. */
static void change_summary(run *R, pdbi_run_result *res)
{
    pdb_import_changes *ch = NULL;
    pdb_commune_list *list = NULL;
    char line[320];
    size_t len = 0, fresh = 0;

    if (pdb_communes_list(R->ctx, R->store, &list) != PDB_OK) {
        snprintf(line, sizeof line, "changes: not read back: %s\n", pdb_errmsg(R->ctx));
        res->changes = strdup(line);
        return;
    }
    size_t here = 0;
    for (size_t i = 0; i < list->count; i++)
        if (imported_here(res, list->items[i].code)) {
            here++;
            fresh += fresh_commune(R, res, list->items[i].code);
        }
    if (fresh < here && pdb_import_changes_get(R->ctx, R->store, R->batch_id, 0, &ch) != PDB_OK) {
        snprintf(line, sizeof line, "changes: not read back: %s\n", pdb_errmsg(R->ctx));
        res->changes = strdup(line);
        pdb_commune_list_free(list);
        return;
    }
    res->changes = calloc(list->count + (ch ? ch->count : 0) + 1, sizeof line + 16);
    /* Both lists are ordered by code: merged. */
    size_t k = 0;
    for (size_t i = 0; res->changes != NULL && i < list->count; i++) {
        const pdb_commune *c = &list->items[i];
        if (!imported_here(res, c->code))
            continue;
        if (fresh_commune(R, res, c->code)) {
            pdb_import_change ic = {.after[PDB_LINEAGE_NEW] = c->parcels};
            snprintf(ic.commune, sizeof ic.commune, "%s", c->code);
            pdb_import_change_format(&ic, line, sizeof line);
        } else {
            while (ch != NULL && k < ch->count && strcmp(ch->communes[k].commune, c->code) < 0)
                k++;
            if (ch == NULL || k == ch->count || strcmp(ch->communes[k].commune, c->code) != 0)
                continue;
            pdb_import_change_format(&ch->communes[k], line, sizeof line);
        }
        len += (size_t)sprintf(res->changes + len, "changes %s\n", line);
    }
    pdb_import_changes_free(ch);
    pdb_commune_list_free(list);
}

/* Checks and reads the options that need it: the field map, --encoding,
 * --srs and --commune. */
static pdb_status run_options(run *R)
{
    const pdbi_options *o = &R->o;
    const pdb_commune_ref *ref;

    if (o->field_map_path != NULL &&
        pdbi__fieldmap_load(R->ic, o->field_map_path, &R->fm) != PDB_OK)
        return pdbi_errcode(R->ic);
    if (o->encoding != NULL) {
        if (pdbi__enc_parse(o->encoding, &R->enc) != 0)
            return pdbi__fail(R->ic, PDB_EINVAL,
                              "unknown encoding '%s' (utf8, tcvn3, vni, latin1, cp1258)",
                              o->encoding);
        R->enc_forced = 1;
    }
    if (o->srs != NULL && pdb_crs_resolve(R->ctx, o->srs, &R->srs_epsg) != PDB_OK)
        return pdbi__fail_db(R->ic, NULL);
    if (o->commune == NULL)
        return PDB_OK;
    if (pdbi__commune_normalize(o->commune, strlen(o->commune), R->commune) != 0)
        return pdbi__fail(R->ic, PDB_EINVAL, "--commune '%s' is not a five-digit code", o->commune);
    if (pdb_commune_ref_find(R->ctx, R->commune, &ref) != PDB_OK)
        return pdbi__fail_db(R->ic, NULL);
    return PDB_OK;
}

pdb_status pdbi_run(pdbi_ctx *ic, const pdbi_options *opts, char *const *paths, size_t npaths,
                    pdbi_run_result **result_out)
{
    run R;
    pdb_ctx *ctx = ic->db;
    pdbi_run_result *res = NULL;
    pdb_status st = PDB_OK;
    double t0 = pdbi__now();

    *result_out = NULL;
    memset(&R, 0, sizeof R);
    R.o = *opts;
    R.ic = ic;
    R.ctx = ctx;
    if (R.o.threads <= 0)
        R.o.threads = 2;
    if (!(R.o.area_tol_rel > 0))
        R.o.area_tol_rel = PDBI_AREA_TOL_REL;
    if (!(R.o.area_tol_m2 > 0))
        R.o.area_tol_m2 = PDBI_AREA_TOL_M2;

    if ((st = run_options(&R)) != PDB_OK)
        goto fail;
    if ((st = pdb_ctx_new(&R.rctx)) != PDB_OK) {
        st = pdbi__fail(ic, PDB_ENOMEM, "cannot create a context for the reading thread");
        goto fail;
    }
    pdb_limits lim;
    pdb_ctx_get_limits(ctx, &lim);
    if (R.o.max_vertices > 0)
        lim.max_vertices_per_parcel = R.o.max_vertices;
    pdb_ctx_set_limits(ctx, &lim);
    pdb_ctx_set_limits(R.rctx, &lim);

    if (!R.o.dry_run) {
        if (pdb_store_open(ctx, R.o.db_path, PDB_OPEN_READWRITE, &R.store) != PDB_OK) {
            st = pdbi__fail_db(ic, NULL);
            goto fail;
        }
    } else if (R.o.db_path != NULL && access(R.o.db_path, F_OK) == 0) {
        /* A dry run still says which files were imported before. */
        if (pdb_store_open(ctx, R.o.db_path, PDB_OPEN_READONLY, &R.store) != PDB_OK)
            R.store = NULL;
    }

    res = calloc(1, sizeof *res);
    if (res == NULL || (res->files = calloc(npaths ? npaths : 1, sizeof *res->files)) == NULL) {
        st = pdbi__fail(ic, PDB_ENOMEM, "out of memory");
        goto fail;
    }
    res->nfiles = npaths;
    for (size_t i = 0; i < npaths; i++) {
        if ((res->files[i].path = strdup(paths[i])) == NULL) {
            st = pdbi__fail(ic, PDB_ENOMEM, "out of memory");
            goto fail;
        }
    }

    GDALAllRegister();
    /* Closed polylines are how CAD drawings draw parcels. */
    CPLSetConfigOption("DXF_CLOSED_LINE_AS_POLYGON", "TRUE");
    /* GDAL's shapefile driver searches the EPSG database for every .prj it
     * reads (FindBestMatch: 30 M instructions a file, on the writing
     * thread's path, issue 19). pdbi__srs_match makes the same search
     * once per distinct .prj text of the run, so the driver's is off. */
    CPLSetConfigOption("USE_OSR_FIND_MATCHES", "NO");
    CPLPushErrorHandler(CPLQuietErrorHandler);

    if (!R.o.dry_run) {
        char desc[256];
        snprintf(desc, sizeof desc, "parceldb import: %zu file%s%s%s", npaths,
                 npaths == 1 ? "" : "s", npaths ? ", first " : "", npaths ? paths[0] : "");
        if (pdb_import_begin(ctx, R.store, desc, &R.batch_id) != PDB_OK) {
            CPLPopErrorHandler();
            st = pdbi__fail_db(ic, NULL);
            goto fail;
        }
        res->batch_id = R.batch_id;
        /* No builder: the communes stay stale for the rebuild at the end. */
        if (!R.o.no_overviews && pdb_overview_builder_start(ctx, R.store, &R.ov) != PDB_OK)
            R.ov = NULL;
    }
    R.results = res;
    if (!R.o.dry_run)
        communes_before(&R);
    if (sheet_groups(&R, res) != 0) {
        CPLPopErrorHandler();
        st = pdbi__fail(ic, PDB_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < npaths; i++) {
        import_file(&R, &res->files[i]);
        add_counts(&res->totals, &res->files[i].counts);
        if (res->files[i].status == PDBI_FILE_FAILED || res->files[i].status == PDBI_FILE_PARTIAL)
            res->files_failed++;
    }
    CPLPopErrorHandler();
    if (!R.o.dry_run) {
        const char *status = res->files_failed == 0        ? "done"
                             : res->files_failed == npaths ? "failed"
                                                           : "partial";
        if (pdb_import_end(ctx, R.store, R.batch_id, status, &res->totals) != PDB_OK) {
            st = pdbi__fail_db(ic, NULL);
            goto fail;
        }
    }
    res->seconds = pdbi__now() - t0;
    int committed = 0;
    for (size_t i = 0; i < npaths; i++)
        committed |=
            res->files[i].status == PDBI_FILE_OK || res->files[i].status == PDBI_FILE_PARTIAL;
    if (!R.o.dry_run && !R.o.no_overviews && committed)
        rebuild_overviews(&R, res);
    if (!R.o.dry_run && committed)
        change_summary(&R, res);
    *result_out = res;
    res = NULL;
fail:
    if (st != PDB_OK && disk_full(ic)) {
        char dev[DEVICE_NAME_MAX], what[64];
        store_device(R.o.db_path, dev, sizeof dev);
        snprintf(what, sizeof what, "%zu files", npaths);
        st = pdbi__fail(ic, st, "no space left on %s while importing %s", dev,
                        npaths == 1 ? paths[0] : what);
    }
    pdbi_run_result_free(res);
    for (size_t i = 0; R.group_others != NULL && i < npaths; i++)
        free(R.group_others[i]);
    free(R.group_others);
    free(R.group_nothers);
    free(R.group_first);
    free(R.group_code);
    free(R.had);
    pdb_overview_builder_free(R.ov);
    pdb_store_close(R.store);
    pdb_ctx_free(R.rctx);
    pdbi__fieldmap_clear(&R.fm);
    pdbi__srs_memo_free(R.srs_memo);
    return st;
}

void pdbi_run_result_free(pdbi_run_result *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nfiles; i++) {
        free(r->files[i].path);
        free(r->files[i].message);
    }
    free(r->files);
    free(r->overview_error);
    free(r->overview_notes);
    free(r->changes);
    free(r);
}

const char *pdbi_file_status_name(pdbi_file_status st)
{
    switch (st) {
    case PDBI_FILE_OK:
        return "ok";
    case PDBI_FILE_SKIPPED:
        return "skipped";
    case PDBI_FILE_FAILED:
        return "FAILED";
    case PDBI_FILE_PARTIAL:
        return "partial";
    case PDBI_FILE_DRY_RUN:
        return "dry-run";
    }
    return "?";
}

void pdbi_print_summary(FILE *out, const pdbi_run_result *r, int dry_run)
{
    if (out == NULL)
        return;
    fprintf(out, "%-32s %-11s %5s %-7s %8s %8s %8s %8s %8s %-8s %9s\n", "file", "commune", "srid",
            "text", "read", "stored", "repaired", "rejected", "flagged", "status", "rec/s");
    for (size_t i = 0; i < r->nfiles; i++) {
        const pdbi_file_result *f = &r->files[i];
        const char *name = f->path;
        size_t len = strlen(name);
        if (len > 32)
            name += len - 32;
        char srid[16] = "-";
        if (f->srid)
            snprintf(srid, sizeof srid, "%d", f->srid);
        fprintf(out, "%-32s %-11.11s %5s %-7s %8lld %8lld %8lld %8lld %8lld %-8s %9.0f\n", name,
                f->communes[0] ? f->communes : "-", srid, f->encoding[0] ? f->encoding : "-",
                (long long)f->counts.read, (long long)f->counts.stored,
                (long long)f->counts.repaired, (long long)f->counts.rejected,
                (long long)f->counts.flagged, pdbi_file_status_name(f->status),
                f->seconds > 0 ? (double)f->counts.read / f->seconds : 0.0);
    }
    fprintf(out, "%-32s %-11s %5s %-7s %8lld %8lld %8lld %8lld %8lld %-8s %9.0f\n", "total", "", "",
            "", (long long)r->totals.read, (long long)r->totals.stored,
            (long long)r->totals.repaired, (long long)r->totals.rejected,
            (long long)r->totals.flagged,
            r->files_failed ? "FAILED"
            : dry_run       ? "dry-run"
                            : "ok",
            r->seconds > 0 ? (double)r->totals.read / r->seconds : 0.0);
    if (dry_run)
        fprintf(out, "dry run: nothing was written\n");
    if (r->batch_id > 0)
        fprintf(out, "import batch %lld\n", (long long)r->batch_id);
    if (!dry_run)
        fprintf(out,
                "rejected %lld (not stored; each a row of rejects with its reason), repaired "
                "%lld (stored repaired; the original kept in rejects)\n",
                (long long)r->totals.rejected, (long long)r->totals.repaired);
    if (r->totals.wgs84_repaired > 0)
        fprintf(out,
                "repaired after reprojection %lld (valid as surveyed, self-intersecting in WGS "
                "84: the WGS 84 geometry was made valid, the survey geometry kept as imported)\n",
                (long long)r->totals.wgs84_repaired);
    if (r->overviews_rebuilt > 0)
        fprintf(out, "overviews of %zu commune%s rebuilt in %.1f s\n", r->overviews_rebuilt,
                r->overviews_rebuilt == 1 ? "" : "s", r->overview_seconds);
    if (r->overviews_failed > 0)
        fprintf(out, "overviews of %zu commune%s not built (see 'parceldb info --check')\n",
                r->overviews_failed, r->overviews_failed == 1 ? "" : "s");
    if (r->overview_notes != NULL)
        fputs(r->overview_notes, out);
    if (r->changes != NULL)
        fputs(r->changes, out);
    for (size_t i = 0; i < r->nfiles; i++)
        if (r->files[i].message != NULL && r->files[i].status != PDBI_FILE_OK)
            fprintf(out, "%s: %s: %s\n", r->files[i].path,
                    pdbi_file_status_name(r->files[i].status), r->files[i].message);
}
