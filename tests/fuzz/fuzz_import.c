/*
 * fuzz_import: the importer (import/importer.h: pdbi_run, the path of
 * `parceldb import`) on mutated small survey files: opening through
 * GDAL/OGR, the field mapping, the pre-scan, encoding detection, the CRS
 * and plausibility checks, geometry validation and repair, and the writes
 * of the stored and rejected records into a fresh store.
 *
 * Input layout: the first byte chooses the run, the rest is the file.
 *   byte0 & 3: 0 GeoJSON (.geojson), 1 GeoPackage (.gpkg),
 *              2 Shapefile: the rest is .shp, .shx, .dbf, .prj and .cpg
 *                separated by the 8 bytes "\n=PART=\n" (missing parts are
 *                not written), 3 GeoJSON with a .json name;
 *   byte0 & 4: a dry run (validate only, nothing written);
 *   byte0 & 8: rebuild the overviews after the commit.
 * tests/fuzz/make-seeds.sh writes such inputs from ogr2ogr output.
 *
 * Each run gets a fresh copy of an empty store made once with
 * pdb_store_create, so that runs do not depend on each other. After a run
 * that committed anything the store must pass SQLite's integrity check and
 * hold as many current parcels as the run says it stored, with
 * read = stored + rejected.
 */
#include "importer.h"
#include "parceldb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_import: check failed: %s (line %d)\n", #cond, __LINE__);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const char SEP[] = "\n=PART=\n";
#define SEP_LEN 8

static pdb_ctx *ctx;
static pdbi_ctx *ic;            /* the importer's context, on ctx */
static char dir[256];           /* this process's work directory */
static unsigned char *empty_db; /* the bytes of an empty store */
static size_t empty_len;

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(n == 0 || fwrite(p, 1, n, f) == n);
    CHECK(fclose(f) == 0);
}

static void remove_quiet(const char *path)
{
    if (unlink(path) != 0 && errno != ENOENT)
        abort();
}

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void cleanup(void)
{
    static const char *const names[] = {"parcels.sqlite",     "parcels.sqlite-wal",
                                        "parcels.sqlite-shm", "parcels.sqlite-journal",
                                        "fuzz.geojson",       "fuzz.json",
                                        "fuzz.gpkg",          "fuzz.gpkg-wal",
                                        "fuzz.gpkg-shm",      "fuzz.gpkg-journal",
                                        "fuzz.shp",           "fuzz.shx",
                                        "fuzz.dbf",           "fuzz.prj",
                                        "fuzz.cpg",           "fuzz.qix",
                                        "fuzz.sbn",           "fuzz.sbx"};
    char p[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        path_of(p, sizeof p, names[i]);
        remove_quiet(p);
    }
}

static void at_exit(void)
{
    cleanup();
    char p[512];
    path_of(p, sizeof p, "template.sqlite");
    remove_quiet(p);
    rmdir(dir);
    free(empty_db);
    pdb_ctx_free(ctx);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/pdb-fuzz-import.XXXXXX", tmp ? tmp : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    CHECK(pdb_ctx_new(&ctx) == PDB_OK);
    CHECK(pdbi_ctx_new(ctx, &ic) == PDB_OK);

    /* One empty store, kept as bytes and copied for each run (creating
     * the SpatiaLite metadata each time would cost more than the import). */
    char p[512];
    pdb_store *s = NULL;
    path_of(p, sizeof p, "template.sqlite");
    if (pdb_store_create(ctx, p, &s) != PDB_OK) {
        fprintf(stderr, "fuzz_import: cannot create a store: %s\n", pdb_errmsg(ctx));
        abort();
    }
    pdb_store_close(s);
    FILE *f = fopen(p, "rb");
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    CHECK(n > 0);
    rewind(f);
    empty_len = (size_t)n;
    empty_db = malloc(empty_len);
    CHECK(empty_db != NULL && fread(empty_db, 1, empty_len, f) == empty_len);
    fclose(f);
    atexit(at_exit);
    return 0;
}

/* Writes the shapefile's parts; returns the .shp path. */
static void write_shapefile(const uint8_t *p, size_t n, char *shp, size_t cap)
{
    static const char *const ext[] = {"shp", "shx", "dbf", "prj", "cpg"};
    for (size_t k = 0; k < 5 && p != NULL; k++) {
        const uint8_t *end = NULL;
        for (size_t i = 0; i + SEP_LEN <= n; i++)
            if (memcmp(p + i, SEP, SEP_LEN) == 0) {
                end = p + i;
                break;
            }
        size_t len = end ? (size_t)(end - p) : n;
        char name[32], path[512];
        snprintf(name, sizeof name, "fuzz.%s", ext[k]);
        path_of(path, sizeof path, name);
        write_file(path, p, len);
        if (end == NULL)
            break;
        n -= len + SEP_LEN;
        p = end + SEP_LEN;
    }
    path_of(shp, cap, "fuzz.shp");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char db[512], input[512];

    if (size < 1)
        return 0;
    if (ctx == NULL)
        LLVMFuzzerInitialize(NULL, NULL);
    cleanup();
    unsigned mode = data[0];
    const uint8_t *body = data + 1;
    size_t blen = size - 1;

    switch (mode & 3) {
    case 0:
        path_of(input, sizeof input, "fuzz.geojson");
        write_file(input, body, blen);
        break;
    case 1:
        path_of(input, sizeof input, "fuzz.gpkg");
        write_file(input, body, blen);
        break;
    case 2:
        write_shapefile(body, blen, input, sizeof input);
        break;
    default:
        path_of(input, sizeof input, "fuzz.json");
        write_file(input, body, blen);
        break;
    }
    path_of(db, sizeof db, "parcels.sqlite");
    write_file(db, empty_db, empty_len);

    pdbi_options o;
    memset(&o, 0, sizeof o);
    o.db_path = db;
    o.dry_run = (mode & 4) != 0;
    o.no_overviews = (mode & 8) == 0;
    o.threads = 1; /* deterministic, and libFuzzer's leak check wants one thread */
    o.progress = PDBI_PROGRESS_NONE;
    char *paths[1] = {input};
    pdbi_run_result *res = NULL;
    pdb_status st = pdbi_run(ic, &o, paths, 1, &res);
    if (st != PDB_OK) {
        CHECK(res == NULL);
        CHECK(pdbi_errcode(ic) == st && pdbi_errmsg(ic)[0] != '\0');
        return 0;
    }
    CHECK(res != NULL && res->nfiles == 1);
    const pdbi_file_result *fr = &res->files[0];
    const pdb_import_counts *c = &fr->counts;
    if (getenv("PDB_FUZZ_VERBOSE") != NULL) /* what a seed does (docs/fuzzing.md) */
        fprintf(stderr, "fuzz_import: mode %u: %s, read %lld stored %lld rejected %lld%s%s\n", mode,
                pdbi_file_status_name(fr->status), (long long)c->read, (long long)c->stored,
                (long long)c->rejected, fr->message ? ": " : "", fr->message ? fr->message : "");
    CHECK(c->read >= 0 && c->stored >= 0 && c->rejected >= 0);
    CHECK(c->read == c->stored + c->rejected);
    CHECK(c->repaired <= c->stored);
    if (fr->status == PDBI_FILE_FAILED)
        CHECK(fr->message != NULL);
    int committed = fr->status == PDBI_FILE_OK || fr->status == PDBI_FILE_PARTIAL;
    if (o.dry_run)
        CHECK(!committed);

    /* What the store holds now. */
    pdb_store *s = NULL;
    CHECK(pdb_store_open(ctx, db, PDB_OPEN_READONLY, &s) == PDB_OK);
    if (committed) {
        if (pdb_store_check(ctx, s) != PDB_OK) {
            fprintf(stderr, "fuzz_import: store damaged: %s\n", pdb_errmsg(ctx));
            abort();
        }
    }
    pdb_store_stats stats;
    CHECK(pdb_store_stats_get(ctx, s, &stats) == PDB_OK);
    if (fr->status == PDBI_FILE_OK)
        CHECK(stats.parcels_current == c->stored);
    if (!committed)
        CHECK(stats.parcels_current == 0);
    pdb_store_close(s);
    pdbi_run_result_free(res);
    return 0;
}
