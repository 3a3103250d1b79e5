/* testutil.h: helpers the unit tests share (temporary dirs, running tools). */
#ifndef PDB_TESTUTIL_H
#define PDB_TESTUTIL_H

#include <stddef.h>

/* Makes a fresh temporary directory for one test; returns its path
 * (static storage, valid until the next call). */
const char *tu_tmpdir(const char *name);

/* Runs a shell command; returns its exit status (or -1). */
int tu_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a shell command and returns its stdout (caller frees), or NULL. */
char *tu_capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes text to a file; returns 0 on success. */
int tu_write_file(const char *path, const char *text);

#endif
