/*
 * csv.h: a streaming RFC 4180 reader for the points files of
 * `parceldb lookup --points`: quoted fields, CRLF or LF, a UTF-8 BOM,
 * and limits on line length and field count, so that no input can make it
 * allocate without bound. No I/O of its own beyond the FILE it is given.
 */
#ifndef PDB_CSV_H
#define PDB_CSV_H

#include <stdio.h>

#define CSV_MAX_LINE 65536 /* bytes in one record */
#define CSV_MAX_FIELDS 256 /* fields in one record */

typedef struct csv_reader {
    FILE *in;                      /* borrowed */
    char buf[CSV_MAX_LINE + 1];    /* the current record's fields, NUL-separated */
    char *fields[CSV_MAX_FIELDS];  /* pointers into buf */
    int nfields;                   /* fields in the current record */
    long line;                     /* 1-based line where the current record starts */
    long next_line;                /* line the next record starts on */
    char error[160];               /* why the last call failed */
} csv_reader;

/* Starts reading (skips a UTF-8 byte-order mark). */
void csv_init(csv_reader *r, FILE *in);

/* Reads the next record: 1 on success, 0 at end of input, -1 on malformed
 * or over-long input (r->error says why and where). */
int csv_next(csv_reader *r);

#endif
