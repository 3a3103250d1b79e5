/*
 * extract.h: the extract of the cadastral map for one parcel (trích lục
 * bản đồ địa chính, issue 14): the parcel drawn to a standard scale with
 * its neighbours, its edge lengths and the table of its vertices in its
 * own VN-2000 TM-3 zone, as a PDF (vector, fonts embedded) or a PNG.
 * docs/extract.md describes the sheet and the form it follows.
 *
 * No sockets and no files: the document is made in memory, so that the
 * command writes it (to a temporary file, then renamed) and the server
 * answers it alike.
 */
#ifndef PDB_TILER_EXTRACT_H
#define PDB_TILER_EXTRACT_H

#include "tiler.h"

#include <stddef.h>
#include <stdint.h>

typedef enum pdbt_paper {
    PDBT_PAPER_A4 = 0, /* 210 x 297 mm, portrait */
    PDBT_PAPER_A3      /* 297 x 420 mm, portrait */
} pdbt_paper;

typedef enum pdbt_extract_format {
    PDBT_EXTRACT_PDF = 0, /* one PDF page per sheet, table pages after it */
    PDBT_EXTRACT_PNG      /* the same pages, stacked top to bottom in one image */
} pdbt_extract_format;

/* What to extract, and how. */
typedef struct pdbt_extract_request {
    const char *commune;        /* five-digit commune code */
    const char *sheet;          /* map sheet number */
    const char *parcel;         /* parcel number */
    const char *former;         /* former commune code, or NULL for any */
    const char *at;             /* "YYYY-MM-DD" (end of that day, UTC) or an ISO 8601 UTC
                                   time: the parcel as it was then; NULL: current */
    int personal;               /* 1: the owner's name is printed (authorised callers) */
    pdbt_paper paper;           /* A4 or A3 */
    int scale;                  /* 0: the largest standard scale that fits; else one of
                                   200, 500, 1000, 2000, 5000, 10000 */
    pdbt_extract_format format; /* PDF or PNG */
    int png_dpi;                /* PNG resolution; 0: 150 */
    const char *font_dir;       /* DejaVu's directory; NULL: Debian's */
} pdbt_extract_request;

/* The standard scales an extract is drawn at (Circular 25/2014, art. 18),
 * largest first; 0-terminated. */
extern const int pdbt_extract_scales[];

/* The most parcels one extract holds (a number held by more must be
 * narrowed with the former commune). */
#define PDBT_EXTRACT_MAX_PARCELS 16

/* What was made. */
typedef struct pdbt_extract_result {
    unsigned char *data; /* the PDF or PNG bytes, caller-owned (free) */
    size_t len;          /* bytes */
    size_t nparcels;     /* parcels extracted (several when the number is duplicated) */
    int64_t ids[PDBT_EXTRACT_MAX_PARCELS]; /* their store ids (for the audit record) */
    int scale; /* the scale of the first parcel's drawing (denominator) */
    int pages; /* pages in all */
} pdbt_extract_result;

/* Makes the extract of every parcel holding the number (current, or as at
 * req->at). Reads through ctx's engine context, which must not be NULL.
 * Fails with PDB_EINVAL for a malformed number or option, a --scale at
 * which the parcel does not fit (the message names the one that does) or
 * a parcel too large for 1:10000 on the paper (the message says whether
 * A3 would hold it); PDB_ENOTFOUND when no parcel has the number (then);
 * store failures pass through. On failure out is zeroed. */
pdb_status pdbt_extract_make(pdbt_ctx *ctx, pdb_store *store, const pdbt_extract_request *req,
                             pdbt_extract_result *out);

/* Frees out->data and zeroes out; accepts a zeroed result. */
void pdbt_extract_result_clear(pdbt_extract_result *out);

#endif
