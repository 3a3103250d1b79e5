/*
 * dgn7.h: a reader of MicroStation DGN v7 (ISFF) design files, for the
 * line-and-label sheets (docs/import.md, "The DGN v7 reader"). It walks the
 * elements of a file held in one buffer and keeps what a sheet is drawn
 * with: lines, line strings, shapes, complex chains and shapes (as their
 * component line strings) and texts, each with its level, in the master
 * units GDAL's DGN driver gives (the same doubles). Everything else is
 * counted by type, not read. No GDAL: the sheet import reads DGN without
 * GDAL's per-element styles and links (source.c).
 */
#ifndef PDB_DGN7_H
#define PDB_DGN7_H

#include "imp.h"

#include <stddef.h>

/* Element types of ISFF the reader knows by name. */
enum {
    PDBI_DGN7_CELL = 2,           /* cell header: no geometry; its components are read */
    PDBI_DGN7_LINE = 3,           /* two vertices */
    PDBI_DGN7_LINE_STRING = 4,    /* up to 101 vertices */
    PDBI_DGN7_SHAPE = 6,          /* a closed line string */
    PDBI_DGN7_TCB = 9,            /* the type control block: units, origin, 2D/3D */
    PDBI_DGN7_CHAIN = 12,         /* complex chain header: its components follow */
    PDBI_DGN7_COMPLEX_SHAPE = 14, /* complex shape header: its components follow */
    PDBI_DGN7_TEXT = 17           /* a text: origin and bytes */
};

/* One element read: a line work element (its vertices in parts) or a
 * text. A complex chain or shape is one element whose parts are its
 * components. */
typedef struct pdbi_dgn7_elem {
    int type;          /* PDBI_DGN7_LINE ... PDBI_DGN7_TEXT */
    int level;         /* 0 to 63 */
    size_t offset;     /* of the element (a complex one's header) in the file, bytes */
    size_t first_part; /* its first entry in pdbi_dgn7.parts (line work) */
    size_t nparts;     /* entries: 1, or a complex element's components */
    double x, y;       /* a text's origin, master units */
    size_t text;       /* a text's bytes: offset in pdbi_dgn7.chars (NUL-terminated) */
} pdbi_dgn7_elem;

/* A run of vertices (one line string). */
typedef struct pdbi_dgn7_part {
    size_t first; /* its first vertex in pdbi_dgn7.xy (pairs) */
    size_t n;     /* vertices */
} pdbi_dgn7_part;

typedef struct pdbi_dgn7 {
    int dimension;            /* 2 or 3 (the first byte, then the TCB's flag) */
    long uor_per_subunit;     /* TCB: units of resolution per subunit */
    long subunits_per_master; /* TCB: subunits per master unit */
    double origin[3];         /* TCB: global origin, master units */
    double scale;             /* master units per unit of resolution */
    pdbi_dgn7_elem *elems;    /* the elements read, in file order */
    size_t nelems;            /* entries in elems */
    pdbi_dgn7_part *parts;    /* vertex runs of the line work */
    size_t nparts;            /* entries in parts */
    double *xy;               /* vertices, x then y, master units */
    size_t nxy;               /* vertices (pairs) in xy */
    char *chars;              /* text bytes, each NUL-terminated */
    size_t nchars;            /* bytes used in chars */
    size_t deleted;           /* deleted elements skipped */
    size_t by_type[128];      /* elements not read, by type (TCB and the like included) */
    size_t unread_graphic;    /* of those, elements GDAL would draw (arcs, curves, ...) */
    size_t ncaps[4];          /* allocated entries of elems, parts, xy, chars */
} pdbi_dgn7;

/* Reads the design file in buf (len bytes; the buffer is not kept). On
 * success *d holds its elements (free with pdbi__dgn7_free). Fails with
 * PDB_EINVAL and a one-line message naming the byte offset of the element
 * it could not read (a header or element running past the end, a vertex
 * count or text past its element, a complex header claiming more
 * components than follow, no TCB first), PDB_ENOMEM; *d then holds
 * nothing. */
pdb_status pdbi__dgn7_read(pdbi_ctx *ic, const unsigned char *buf, size_t len, pdbi_dgn7 *d);

/* The same for a file, read whole into memory. PDB_EIO when it cannot
 * be read. */
pdb_status pdbi__dgn7_read_file(pdbi_ctx *ic, const char *path, pdbi_dgn7 *d);

/* Frees what a read filled in (accepts a zeroed or freed one). */
void pdbi__dgn7_free(pdbi_dgn7 *d);

/* A short name of an element type ("arc", "cell header", ...; "type N"
 * for the rest, in buf). */
const char *pdbi__dgn7_type_name(int type, char *buf, size_t cap);

#endif
