/*
 * cli.h: what the subcommands of the parceldb command share. main() and
 * argument parsing only; the work is in the libraries.
 */
#ifndef PDB_CLI_H
#define PDB_CLI_H

#include "parceldb.h"

#include <getopt.h>
#include <stdio.h>

#define CLI_DEFAULT_DB "parcels.sqlite"

/* Exit codes: 0 success, 1 failure of the job, 2 usage error. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Each subcommand: argv[0] is the subcommand's name. */
int cmd_init(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_lookup(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_seed(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_audit(int argc, char **argv);
/* parceldb-qa (qa_main.c): exits 0 clean, 1 bad input, 2 errors found. */
int cmd_qa(int argc, char **argv);

/* Records an answer that shows owner names in the store's audit table
 * (cmd_audit.c), through a read-write handle of its own, as the running
 * user: call it before printing; on failure it has said why in one line
 * and returns CLI_FAIL, and the owner names must not be printed. */
int cli_audit_personal(pdb_ctx *ctx, const char *db, const char *what, const pdb_parcel_list *list);
/* The same for n parcels given by store id (an extract's). */
int cli_audit_personal_ids(pdb_ctx *ctx, const char *db, const char *what, const int64_t *ids,
                           size_t n);
/* The same recorded for who (a token's name: `parceldb serve` runs
 * parceldb-export for GET /export and says whom it answers). */
int cli_audit_personal_as(pdb_ctx *ctx, const char *db, const char *who, const char *what,
                          const int64_t *ids, size_t n);
int cmd_extract(int argc, char **argv);
int cmd_export(int argc, char **argv);
/* parceldb-export (export_main.c): the GIS formats of `parceldb export`. */
int cmd_export_files(int argc, char **argv);
int cmd_change(int argc, char **argv);

/* Prints "parceldb: <message>" as one line on stderr; returns CLI_FAIL. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same for a failed library call: "parceldb: <what>: <errmsg>". */
int cli_lib_error(pdb_ctx *ctx, const char *what);
/* A usage error: the message, then "try 'parceldb CMD --help'"; CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The options of the commands over a store's tiles (serve, seed), which
 * cli_opt_next takes itself: their codes and their getopt_long entries.
 * Such a command's own codes start at CLI_O_OWN. */
enum { CLI_O_DB = 256, CLI_O_STYLE, CLI_O_CACHE, CLI_O_HELP, CLI_O_OWN };
#define CLI_TILE_OPTIONS                                                                           \
    {"db", required_argument, 0, CLI_O_DB}, {"style", required_argument, 0, CLI_O_STYLE},          \
        {"cache", required_argument, 0, CLI_O_CACHE},                                              \
    {                                                                                              \
        "help", no_argument, 0, CLI_O_HELP                                                         \
    }

/* A subcommand's option loop: getopt_long over its arguments, with the
 * answers every subcommand gives alike to --help, to an unknown option and
 * to an argument that is not an option. */
typedef struct cli_opts {
    const char *cmd;           /* the subcommand, for messages ("serve") */
    const char *usage;         /* printed on stdout by --help */
    const struct option *opts; /* getopt_long's table, "help" among them */
    int argc;                  /* the subcommand's argc (argv[0] its name) */
    char **argv;               /* the subcommand's argv */
    const char **db_path;      /* --db FILE goes here (default CLI_DEFAULT_DB); NULL: none */
    const char **style_path;   /* --style FILE goes here; NULL: no such option */
    const char **cache_dir;    /* --cache DIR goes here; NULL: no such option */
    const char *short_opts;    /* getopt's short options ("o:"), returned as their letter;
                                  NULL: none */
    int started;               /* 0 until getopt's state is reset */
    int rc;                    /* the exit code when cli_opt_next returns -1 */
} cli_opts;

/* The loop of a command over a store's tiles, whose options struct o has
 * db_path, style_path and cache_dir (pdb_srv_options, pdb_srv_seed_options). */
#define CLI_TILE_OPTS(o, cmd_, usage_, opts_, argc_, argv_)                                        \
    {                                                                                              \
        .cmd = (cmd_), .usage = (usage_), .opts = (opts_), .argc = (argc_), .argv = (argv_),       \
        .db_path = &(o).db_path, .style_path = &(o).style_path, .cache_dir = &(o).cache_dir        \
    }

/* The next option's code (optarg set as getopt_long sets it); 0 when the
 * options are all read; -1 when the subcommand must return it->rc now:
 * --help printed its usage (CLI_OK), or an unknown option, a missing value
 * or a stray argument was said in one line (CLI_USAGE). The codes of opts
 * must be positive; the options of CLI_TILE_OPTIONS are stored where it
 * says and not returned. */
int cli_opt_next(cli_opts *it);

/* The directory of the running executable, with a trailing slash; returns
 * 0, or an errno value when it is not known. */
int cli_exe_dir(char *out, size_t cap);
/* The path of a helper executable (parceldb-export) next to this one (a
 * build tree) or in the libexec directory relative to it (installed);
 * returns 0, or -1 when neither is executable. */
int cli_helper_find(const char *helper, char *out, size_t cap);

/* Parses a whole string as a finite double / a non-negative integer;
 * returns 0 on success. */
int cli_parse_double(const char *s, double *out);
int cli_parse_size(const char *s, size_t *out);
/* Splits "COMMUNE/SHEET/PARCEL" into its three non-empty parts (at most
 * 64 bytes each); returns 0 on success. Whether each part is a valid
 * number is the engine's to say (the server asks it too); here only the
 * shape. */
int cli_split_id(const char *id, char parts[3][65]);
/* Parses "A,B" into two finite doubles; returns 0 on success. */
int cli_parse_pair(const char *s, double *a, double *b);
/* Parses "A-B" or "A" (zooms 0 to 30) into *a and *b; returns 0 on success. */
int cli_parse_zooms(const char *s, int *a, int *b);
/* Parses "MINLON,MINLAT,MAXLON,MAXLAT" in WGS 84 degrees, min < max, inside
 * the Web Mercator world; returns 0 on success. */
int cli_parse_bbox(const char *s, double out[4]);

#endif
