/*
 * importer.h: batch import of commune cadastral surveys (any source GDAL/OGR
 * reads) into a parceldb store, through the engine's public API only.
 *
 * One run imports several files; each file is read once per commune it
 * holds (usually one), each commune in its own write transaction (one
 * pdb_writer), so that a killed run leaves every commune either as it was
 * or fully replaced. See docs/import.md for the user's view.
 *
 * Unlike the engine, the importer reports progress and notes on the FILE
 * streams its caller gives it (the command decides which, or none).
 *
 * Errors take the engine's shape: every fallible call returns a pdb_status
 * (PDB_OK = 0) and leaves a one-line message on its pdbi_ctx, borrowed
 * until the next call on it (pdbi_errmsg).
 */
#ifndef PDB_IMPORTER_H
#define PDB_IMPORTER_H

#include "parceldb.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The importer's context: one per thread, on the engine's context of the
 * same thread; it keeps the last failure's status and message. */
typedef struct pdbi_ctx pdbi_ctx;

/* Creates a context on db (borrowed: it must outlive the new context).
 * PDB_ENOMEM when out of memory; no message is available then. */
pdb_status pdbi_ctx_new(pdb_ctx *db, pdbi_ctx **out);
void pdbi_ctx_free(pdbi_ctx *ic);

/* The last failure's message (borrowed until the next call on ic), and
 * its status. */
const char *pdbi_errmsg(const pdbi_ctx *ic);
pdb_status pdbi_errcode(const pdbi_ctx *ic);

typedef enum pdbi_progress {
    PDBI_PROGRESS_NONE, /* nothing but errors */
    PDBI_PROGRESS_LOG,  /* plain log lines (not a terminal) */
    PDBI_PROGRESS_BAR   /* a progress bar redrawn in place (a terminal) */
} pdbi_progress;

typedef struct pdbi_options {
    const char *db_path;        /* the store; must exist unless dry_run */
    const char *srs;            /* --srs text (pdb_crs_resolve), or NULL: from the file */
    const char *commune;        /* --commune CODE for every record, or NULL */
    const char *field_map_path; /* --field-map FILE, or NULL */
    const char *encoding;       /* --encoding NAME, or NULL: detect */
    int force;                  /* import files whose checksum was committed before */
    int force_srs;              /* keep a declared CRS that contradicts the commune's zone */
    int dry_run;                /* read, validate and report; write nothing */
    int no_overviews;           /* leave the overviews of the communes imported stale */
    int threads;                /* 1: one thread; 2 (0 = default): reader + writer */
    size_t max_vertices;        /* per parcel; 0 keeps the engine's default */
    double area_tol_rel;        /* flag when |surveyed - computed| > max(abs, rel * computed) */
    double area_tol_m2;         /* the absolute floor of that tolerance, m2 */
    int sheets;                 /* --sheets: DGN/DXF layers are line-and-label sheets */
    double snap_m;              /* --snap: close gaps in sheet line work up to this, 0 none */
    const char *levels_path;    /* --levels FILE: sheet levels/layers by role, or NULL */
    const char *sheet;          /* --sheet N: the sheet number of sheet files, or NULL */
    pdbi_progress progress;     /* how to show progress on log */
    FILE *log;                  /* progress, notes and per-file errors; NULL for none */
    FILE *summary;              /* the summary table at the end; NULL for none */

    int qa;                       /* --qa: 0 off, PDBI_QA_WARN, PDBI_QA_STRICT (docs/qa.md) */
    const pdb_qa_rules *qa_rules; /* the checks' rules for --qa (borrowed); NULL: defaults */
} pdbi_options;

/* --qa: after a commune's records are written and before its commit, the
 * quality checks run on it inside its transaction; warn reports their
 * counts, strict also rolls the commune back when any finding is of
 * severity error (the file then fails: nothing of that commune stored). */
enum { PDBI_QA_WARN = 1, PDBI_QA_STRICT = 2 };

/* Default tolerances: 5% of the computed area, at least 1 m2. */
#define PDBI_AREA_TOL_REL 0.05
#define PDBI_AREA_TOL_M2 1.0

typedef enum pdbi_file_status {
    PDBI_FILE_OK,      /* every commune of the file committed */
    PDBI_FILE_SKIPPED, /* same checksum committed before, and no --force */
    PDBI_FILE_FAILED,  /* could not be read, refused, or a write failed: nothing of it kept */
    PDBI_FILE_PARTIAL, /* some of its communes committed, a later one failed */
    PDBI_FILE_DRY_RUN  /* validated only */
} pdbi_file_status;

typedef struct pdbi_file_result {
    char *path;               /* as given (after directory and glob expansion) */
    char communes[64];        /* "08707", "08707,08710", or "" when unknown */
    int srid;                 /* EPSG of the source geometries, 0 when unknown */
    char encoding[16];        /* text encoding used: "UTF-8", "TCVN3", ... */
    pdbi_file_status status;  /* outcome */
    int sheets;               /* read as line-and-label sheets */
    size_t sheet_files;       /* sheet files read as one drawing with this one (it and the
                                 others of its commune in the run: docs/import.md), else 0 */
    long read_with;           /* the index of the file this one was read with as one
                                 drawing, else -1 */
    char *message;            /* why it failed or was skipped, else NULL */
    pdb_import_counts counts; /* read = stored + rejected */
    double seconds;           /* wall time spent on the file */
} pdbi_file_result;

typedef struct pdbi_run_result {
    int64_t batch_id;         /* import run in the store, 0 for a dry run */
    size_t nfiles;            /* entries in files */
    pdbi_file_result *files;  /* one per input file, in input order */
    pdb_import_counts totals; /* over all files */
    size_t files_failed;      /* files with status FAILED or PARTIAL */
    double seconds;           /* wall time of the run, overviews excluded */
    size_t overviews_rebuilt; /* communes whose overviews were rebuilt at the end */
    double overview_seconds;  /* time that took */
    char *overview_error;     /* why the rebuild failed as a whole (the data is committed), or NULL */
    size_t overviews_failed;  /* communes whose rebuild failed (recorded in the store; their
                                 low zooms are drawn from their parcels) */
    char *overview_notes;     /* one line per commune of this run whose overviews failed or
                                 needed a fallback, with the reason; NULL when none */
    char *changes;            /* one line per commune committed: what the re-import did to its
                                 parcels (pdb_import_change_format); NULL when none */
} pdbi_run_result;

/* Expands the command's FILE arguments: a directory gives its survey files
 * (not sidecars such as .dbf, .prj or *.manifest.json), sorted; a pattern
 * with * ? or [ is globbed; anything else is kept as given. Fails with
 * PDB_ENOTFOUND (a pattern matching nothing), PDB_EIO (an unreadable
 * directory) or PDB_ENOMEM. The caller frees *paths_out with
 * pdbi_paths_free; on failure it is NULL. */
pdb_status pdbi_expand_inputs(pdbi_ctx *ic, char *const *args, size_t nargs, char ***paths_out,
                              size_t *count_out);
void pdbi_paths_free(char **paths, size_t count);

/* Imports the files. Returns PDB_OK when the run happened (even if some
 * files failed: see result->files_failed), or a status with a one-line
 * message on ic when it could not start or finish (no store, bad options,
 * a bad field map, the batch row not written). The caller owns *result_out
 * (pdbi_run_result_free); on failure it is NULL. */
pdb_status pdbi_run(pdbi_ctx *ic, const pdbi_options *opts, char *const *paths, size_t npaths,
                    pdbi_run_result **result_out);
void pdbi_run_result_free(pdbi_run_result *r);

/* Writes the per-file summary table and the totals. */
void pdbi_print_summary(FILE *out, const pdbi_run_result *r, int dry_run);

/* "ok", "skipped", "FAILED", "partial", "dry-run". */
const char *pdbi_file_status_name(pdbi_file_status st);

#ifdef __cplusplus
}
#endif
#endif
