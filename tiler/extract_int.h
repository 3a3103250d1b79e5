/*
 * extract_int.h: the inside of the extract, shared by extract.c (parcels,
 * vertices, scale, document) and extract_draw.c (the pages). Private to
 * the tiler.
 */
#ifndef PDB_TILER_EXTRACT_INT_H
#define PDB_TILER_EXTRACT_INT_H

#include "extract.h"

#include <cairo.h>

#define PDBT_PT_PER_MM (72.0 / 25.4)

/* One ring of the extracted parcel, as numbered on the sheet. */
typedef struct pdbt_ex_ring {
    size_t start; /* first vertex in pdbt_ex_parcel.v */
    size_t n;     /* vertices (not closed: the edge from the last goes to the first) */
    int part;     /* polygon it belongs to, 0-based */
    int hole;     /* 1 for a hole */
} pdbt_ex_ring;

/* A neighbour drawn around the parcel, in the parcel's zone. */
typedef struct pdbt_ex_neighbour {
    pdb_polygons *g; /* its source geometry in the zone's metres */
    char *label;     /* its parcel number, or its land-use code when it has none */
    char *landuse;   /* its main land-use code, or NULL */
} pdbt_ex_neighbour;

/* One parcel's extract. */
typedef struct pdbt_ex_parcel {
    const pdb_parcel *p;            /* borrowed from the parcel list */
    int dup_index;                  /* 1-based among the parcels holding the number */
    const pdb_commune_ref *commune; /* its commune's name and former province, or NULL */
    pdb_crs_info crs;               /* the TM-3 zone its table is in */
    double *v;                      /* vertices, easting/northing pairs, numbered 1.. in order */
    size_t nv, capv;                /* used and allocated (vertices) */
    pdbt_ex_ring *rings;            /* rings, in numbering order */
    size_t nrings, caprings;        /* used and allocated */
    double bbox[4];                 /* min E, min N, max E, max N of the vertices */
    double area_m2;                 /* computed from these vertices */
    int scale;                      /* denominator of the drawing's scale */
    pdbt_ex_neighbour *nb;          /* neighbours in the frame */
    size_t nnb, capnb;              /* used and allocated */
} pdbt_ex_parcel;

/* The whole document. */
typedef struct pdbt_ex_doc {
    pdbt_ex_parcel *parcels;    /* every parcel holding the number */
    size_t nparcels;            /* how many */
    const char *at;             /* the date asked for, or NULL */
    int personal;               /* print the owner */
    int64_t data_version;       /* the store's, printed on the sheet */
    char today[16];             /* "dd/mm/yyyy" (UTC) */
    int total_pages;            /* pages over all parcels */
    cairo_font_face_t *regular; /* DejaVu Sans (process-wide, font.c) */
    cairo_font_face_t *bold;    /* DejaVu Sans Bold */
} pdbt_ex_doc;

/* Where things go on a page, in points. */
typedef struct pdbt_ex_layout {
    double page_w, page_h; /* paper */
    double frame[4];       /* the drawing's frame: left, top, right, bottom */
    double row_h;          /* a table row */
    double table_top;      /* where a table page's rows start */
    size_t rows_per_page;  /* table rows on a page */
} pdbt_ex_layout;

void pdbt__extract_layout(pdbt_paper paper, pdbt_ex_layout *lay);

/* Loads the two faces into doc (PDB_EIO when the font is missing). */
pdb_status pdbt__extract_fonts(pdbt_ctx *ctx, const char *dir, pdbt_ex_doc *doc);

/* Reads the parcels around ex that its frame shows (current parcels;
 * their source geometry brought into ex's zone). */
pdb_status pdbt__extract_neighbours(pdbt_ctx *ctx, pdb_store *store, pdbt_paper paper,
                                    pdbt_ex_parcel *ex);

/* Draws the sheet (page 1 of a parcel) and the k-th page of its table. */
pdb_status pdbt__extract_draw_sheet(pdbt_ctx *ctx, const pdbt_ex_doc *doc, const pdbt_ex_parcel *ex,
                                    const pdbt_ex_layout *lay, cairo_t *cr, int page_no);
void pdbt__extract_draw_table(const pdbt_ex_doc *doc, const pdbt_ex_parcel *ex,
                              const pdbt_ex_layout *lay, cairo_t *cr, int k, int page_no);

/* Frees what prepare and neighbours allocated in ex. */
void pdbt__extract_parcel_clear(pdbt_ex_parcel *ex);

/* The frame's centre in ground metres and points per metre, for ex. */
void pdbt__extract_transform(const pdbt_ex_parcel *ex, const pdbt_ex_layout *lay, double *ce,
                             double *cn, double *k);

#endif
