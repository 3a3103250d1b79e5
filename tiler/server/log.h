/*
 * log.h: the server's own lines on stderr ("parceldb serve: ..."): start,
 * reloads, warnings. The access log is http.c's.
 */
#ifndef PDB_SRV_LOG_H
#define PDB_SRV_LOG_H

#include <stdarg.h>

/* Prints one line, prefixed with "parceldb serve: ". */
void pdb_srv_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints one line, prefixed with "parceldb COMMAND: " (seed's lines). */
void pdb_srv_vsay(const char *command, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif
