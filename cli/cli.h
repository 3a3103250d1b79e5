/*
 * cli.h: what the subcommands of the parceldb command share. main() and
 * argument parsing only; the work is in the libraries.
 */
#ifndef PDB_CLI_H
#define PDB_CLI_H

#include "parceldb.h"

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

/* Prints "parceldb: <message>" as one line on stderr; returns CLI_FAIL. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same for a failed library call: "parceldb: <what>: <errmsg>". */
int cli_lib_error(pdb_ctx *ctx, const char *what);
/* A usage error: the message, then "try 'parceldb CMD --help'"; CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a whole string as a finite double / a non-negative integer;
 * returns 0 on success. */
int cli_parse_double(const char *s, double *out);
int cli_parse_size(const char *s, size_t *out);
/* Parses "A,B" into two finite doubles; returns 0 on success. */
int cli_parse_pair(const char *s, double *a, double *b);

#endif
