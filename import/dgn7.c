/*
 * dgn7.c: the DGN v7 (ISFF) element reader (dgn7.h).
 *
 * A design file is a run of elements and ends with the word 0xFFFF. Each
 * element starts with two 16-bit little-endian words: byte 0 holds the
 * level (low 6 bits) and the complex flag (0x80: a component of the
 * complex element before it), byte 1 the type (low 7 bits) and the
 * deleted flag (0x80), bytes 2-3 the words that follow. Graphic elements
 * then carry their range (bytes 4-27) and display header (28-35), and
 * their own data from byte 36. Coordinates are 32-bit integers in units
 * of resolution (UOR), stored as two little-endian 16-bit words, the high
 * word first (the VAX order); doubles are VAX D-floats. The first element
 * is the type control block (TCB), which holds the units (UOR per
 * subunit, subunits per master unit), the global origin and the 3D flag.
 *
 * Coordinates become master units the way GDAL's DGN driver computes them
 * (dgnread.cpp, DGNTransformPoint: uor * scale - origin, with scale =
 * 1 / (uor_per_subunit * subunits_per_master) and the origin divided by
 * the same product), so that a sheet read here and through GDAL gives the
 * same doubles, bit for bit (tests/import/dgn7.sh checks it).
 */
#include "dgn7.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Byte offsets in the TCB (ISFF; as GDAL's dgnread.cpp reads them). */
#define TCB_SUB_PER_MASTER 1112 /* int32, VAX order */
#define TCB_UOR_PER_SUB 1116    /* int32, VAX order */
#define TCB_ORIGIN 1240         /* three VAX D-floats, UOR */
#define TCB_FLAGS_3D 1214       /* bit 0x40: a 3D file */

/* The 32-bit integer at p: the high 16-bit word first, each word
 * little-endian. */
static int32_t vax_i32(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[2] | (uint32_t)p[3] << 8 | (uint32_t)p[0] << 16 | (uint32_t)p[1] << 24;
    return (int32_t)u;
}

static unsigned u16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* A VAX D-float (sign, 8-bit exponent biased by 128 with the hidden bit
 * after the point, 55-bit fraction; four little-endian words, the most
 * significant first) as an IEEE double. The three low fraction bits that
 * do not fit are folded into the lowest kept bit (a sticky bit), as GDAL's
 * DGN2IEEEDouble does: the same bits as GDAL's for every input. */
static double vax_d(const unsigned char *p)
{
    uint32_t hi =
        (uint32_t)p[2] | (uint32_t)p[3] << 8 | (uint32_t)p[0] << 16 | (uint32_t)p[1] << 24;
    uint32_t lo =
        (uint32_t)p[6] | (uint32_t)p[7] << 8 | (uint32_t)p[4] << 16 | (uint32_t)p[5] << 24;
    uint32_t sign = hi & 0x80000000u;
    uint32_t exp = (hi >> 23) & 0xffu;
    if (exp != 0)
        exp = exp - 129 + 1023; /* bias 128 with 0.1f mantissa -> bias 1023 with 1.f */
    uint32_t sticky = lo & 7u;
    lo = ((lo >> 3) & 0x1fffffffu) | hi << 29;
    if (sticky)
        lo |= 1u;
    hi = ((hi >> 3) & 0x000fffffu) | exp << 20 | sign;
    uint64_t bits = (uint64_t)hi << 32 | lo;
    double out;
    memcpy(&out, &bits, sizeof out);
    return out;
}

const char *pdbi__dgn7_type_name(int type, char *buf, size_t cap)
{
    switch (type) {
    case 2:
        return "cell header";
    case 5:
        return "group data";
    case 7:
        return "text node";
    case 8:
        return "digitizer setup";
    case 9:
        return "type control block";
    case 10:
        return "level symbology";
    case 11:
        return "curve";
    case 15:
        return "ellipse";
    case 16:
        return "arc";
    case 18:
        return "3D surface header";
    case 19:
        return "3D solid header";
    case 21:
        return "B-spline pole";
    case 23:
        return "cone";
    case 24:
        return "B-spline surface header";
    case 27:
        return "B-spline curve header";
    case 33:
        return "dimension";
    case 34:
        return "shared cell definition";
    case 35:
        return "shared cell";
    case 37:
        return "tag value";
    case 66:
        return "application element";
    default:
        snprintf(buf, cap, "type %d", type);
        return buf;
    }
}

/* Types that GDAL's driver turns into geometries and this reader does not
 * read: a sheet holding one is read through GDAL instead (source.c). */
static int graphic_unread(int type)
{
    switch (type) {
    case 7:
    case 11:
    case 15:
    case 16:
    case 18:
    case 19:
    case 21:
    case 23:
    case 24:
    case 27:
    case 33:
    case 35:
        return 1;
    default:
        return 0;
    }
}

/* Grows an array to hold one more (or n more) entries. */
static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *bigger = realloc(*arr, c * size);
    if (bigger == NULL)
        return -1;
    *arr = bigger;
    *cap = c;
    return 0;
}

typedef struct reader {
    pdbi_ctx *ic;
    const unsigned char *buf; /* the file */
    size_t len;               /* its bytes */
    pdbi_dgn7 *d;             /* what is read */
} reader;

/* One element's bytes and header fields. */
typedef struct raw {
    size_t off;             /* its offset in the file */
    const unsigned char *p; /* its first byte */
    size_t size;            /* its bytes, header included */
    int type, level;        /* header */
    int complex, deleted;   /* flags */
} raw;

/* Reads the element header at *off. 1 with *e filled, 0 at the end-of-
 * design marker, -1 on a failure (message on ic). */
static int next_raw(reader *r, size_t off, raw *e)
{
    if (off + 2 <= r->len && r->buf[off] == 0xFF && r->buf[off + 1] == 0xFF)
        return 0;
    if (off == r->len)
        return pdbi__fail(r->ic, PDB_EINVAL,
                          "DGN file ends at offset %zu without the end-of-design marker", off),
               -1;
    if (off + 4 > r->len)
        return pdbi__fail(r->ic, PDB_EINVAL,
                          "DGN element at offset %zu: the file ends inside its header (%zu "
                          "bytes left, 4 needed) before the end-of-design marker",
                          off, r->len - off),
               -1;
    size_t size = 4 + 2 * (size_t)u16(r->buf + off + 2);
    if (size > r->len - off)
        return pdbi__fail(r->ic, PDB_EINVAL,
                          "DGN element at offset %zu: its %u words to follow run past the end "
                          "of the file (%zu bytes left)",
                          off, u16(r->buf + off + 2), r->len - off - 4),
               -1;
    e->off = off;
    e->p = r->buf + off;
    e->size = size;
    e->level = e->p[0] & 0x3f;
    e->complex = (e->p[0] & 0x80) != 0;
    e->type = e->p[1] & 0x7f;
    e->deleted = (e->p[1] & 0x80) != 0;
    return 1;
}

static pdb_status oom(reader *r)
{
    return pdbi__fail(r->ic, PDB_ENOMEM, "out of memory");
}

/* Adds one vertex in UOR. */
static void vertex(pdbi_dgn7 *d, const unsigned char *p)
{
    d->xy[2 * d->nxy] = (double)vax_i32(p) * d->scale - d->origin[0];
    d->xy[2 * d->nxy + 1] = (double)vax_i32(p + 4) * d->scale - d->origin[1];
    d->nxy++;
}

/* Adds the vertices of a line, line string or shape as a part. */
static pdb_status read_part(reader *r, const raw *e)
{
    pdbi_dgn7 *d = r->d;
    size_t pnt = (size_t)d->dimension * 4; /* bytes per vertex */
    size_t n, at;
    if (e->type == PDBI_DGN7_LINE) {
        n = 2;
        at = 36;
    } else {
        if (e->size < 38)
            return pdbi__fail(r->ic, PDB_EINVAL,
                              "DGN element at offset %zu (type %d): %zu bytes, too short for "
                              "its vertex count",
                              e->off, e->type, e->size);
        n = u16(e->p + 36);
        at = 38;
        if (n < 2)
            return pdbi__fail(r->ic, PDB_EINVAL,
                              "DGN element at offset %zu (type %d): %zu vertex, a line needs 2",
                              e->off, e->type, n);
    }
    if (at + n * pnt > e->size)
        return pdbi__fail(r->ic, PDB_EINVAL,
                          "DGN element at offset %zu (type %d): %zu vertices need %zu bytes, "
                          "the element has %zu",
                          e->off, e->type, n, at + n * pnt, e->size);
    if (grow((void **)&d->xy, &d->ncaps[2], 2 * (d->nxy + n), sizeof *d->xy) != 0 ||
        grow((void **)&d->parts, &d->ncaps[1], d->nparts + 1, sizeof *d->parts) != 0)
        return oom(r);
    d->parts[d->nparts++] = (pdbi_dgn7_part){d->nxy, n};
    for (size_t i = 0; i < n; i++)
        vertex(d, e->p + at + i * pnt);
    return PDB_OK;
}

/* Adds a text's bytes (8-bit, or the 0xFF 0xFD form of 16-bit
 * characters, which GDAL turns into a byte per character below 256 and
 * two, high first, above) and its origin. */
static pdb_status read_text(reader *r, const raw *e, pdbi_dgn7_elem *el)
{
    pdbi_dgn7 *d = r->d;
    size_t count_at = d->dimension == 3 ? 74 : 58, xy_at = d->dimension == 3 ? 62 : 50;
    size_t text_at = d->dimension == 3 ? 76 : 60;
    if (e->size < text_at)
        return pdbi__fail(r->ic, PDB_EINVAL,
                          "DGN text at offset %zu: %zu bytes, too short for a text element", e->off,
                          e->size);
    size_t n = e->p[count_at];
    if (text_at + n > e->size)
        return pdbi__fail(r->ic, PDB_EINVAL,
                          "DGN text at offset %zu: its %zu characters run past its element "
                          "(%zu bytes)",
                          e->off, n, e->size);
    if (grow((void **)&d->chars, &d->ncaps[3], d->nchars + 2 * n + 1, 1) != 0)
        return oom(r);
    const unsigned char *s = e->p + text_at;
    char *out = d->chars + d->nchars;
    size_t k = 0;
    if (n >= 2 && s[0] == 0xFF && s[1] == 0xFD) {
        for (size_t i = 0; i + 1 < n / 2; i++) {
            unsigned w = u16(s + 2 + 2 * i);
            if (w < 256) {
                out[k++] = (char)w;
            } else {
                out[k++] = (char)(w >> 8);
                out[k++] = (char)(w & 0xff);
            }
        }
    } else {
        memcpy(out, s, n);
        k = n;
    }
    out[k] = '\0';
    el->text = d->nchars;
    d->nchars += strlen(out) + 1; /* as a C string, as GDAL hands it over */
    el->x = (double)vax_i32(e->p + xy_at) * d->scale - d->origin[0];
    el->y = (double)vax_i32(e->p + xy_at + 4) * d->scale - d->origin[1];
    return PDB_OK;
}

/* The TCB: units, origin, dimension (the first one only, as GDAL). */
static pdb_status read_tcb(reader *r, const raw *e, int *got)
{
    pdbi_dgn7 *d = r->d;
    if (*got)
        return PDB_OK;
    if (e->size < TCB_ORIGIN + 24)
        return pdbi__fail(r->ic, PDB_EINVAL,
                          "DGN control block at offset %zu: %zu bytes, too short (%d needed)",
                          e->off, e->size, TCB_ORIGIN + 24);
    *got = 1;
    d->dimension = (e->p[TCB_FLAGS_3D] & 0x40) ? 3 : 2;
    d->subunits_per_master = vax_i32(e->p + TCB_SUB_PER_MASTER);
    d->uor_per_subunit = vax_i32(e->p + TCB_UOR_PER_SUB);
    long per_master = d->uor_per_subunit * d->subunits_per_master; /* as GDAL: a long product */
    for (int i = 0; i < 3; i++) {
        d->origin[i] = vax_d(e->p + TCB_ORIGIN + 8 * i);
        if (per_master != 0)
            d->origin[i] = d->origin[i] / per_master;
    }
    if (per_master != 0)
        d->scale = 1.0 / per_master;
    return PDB_OK;
}

/* Appends an element record. */
static pdbi_dgn7_elem *new_elem(reader *r, const raw *e, int type)
{
    pdbi_dgn7 *d = r->d;
    if (grow((void **)&d->elems, &d->ncaps[0], d->nelems + 1, sizeof *d->elems) != 0)
        return NULL;
    pdbi_dgn7_elem *el = &d->elems[d->nelems++];
    memset(el, 0, sizeof *el);
    el->type = type;
    el->level = e->level;
    el->offset = e->off;
    el->first_part = d->nparts;
    return el;
}

static void count_unread(pdbi_dgn7 *d, int type)
{
    d->by_type[type & 0x7f]++;
    if (graphic_unread(type))
        d->unread_graphic++;
}

/* A complex chain or shape: the header, then its numelems components
 * (each with the complex flag), whose lines and line strings are its
 * parts. *off moves past the last component. */
static pdb_status read_complex(reader *r, const raw *h, size_t *off)
{
    pdbi_dgn7 *d = r->d;
    if (h->size < 40)
        return pdbi__fail(r->ic, PDB_EINVAL,
                          "DGN complex header at offset %zu: %zu bytes, too short for its "
                          "component count",
                          h->off, h->size);
    unsigned want = u16(h->p + 38);
    pdbi_dgn7_elem *el = new_elem(r, h, h->type);
    if (el == NULL)
        return oom(r);
    size_t at = h->off + h->size, elem_index = d->nelems - 1;
    for (unsigned i = 0; i < want; i++) {
        raw c;
        int rc = next_raw(r, at, &c);
        if (rc < 0)
            return r->ic->status;
        if (rc == 0 || !c.complex)
            return pdbi__fail(r->ic, PDB_EINVAL,
                              "DGN complex %s at offset %zu claims %u components, %u follow "
                              "(%s at offset %zu)",
                              h->type == PDBI_DGN7_CHAIN ? "chain" : "shape", h->off, want, i,
                              rc == 0 ? "the end-of-design marker"
                                      : "an element not marked "
                                        "complex",
                              at);
        if (c.type == PDBI_DGN7_LINE || c.type == PDBI_DGN7_LINE_STRING) {
            pdb_status st = read_part(r, &c);
            if (st != PDB_OK)
                return st;
            d->elems[elem_index].nparts++;
        } else {
            count_unread(d, c.type);
        }
        at += c.size;
    }
    *off = at;
    return PDB_OK;
}

pdb_status pdbi__dgn7_read(pdbi_ctx *ic, const unsigned char *buf, size_t len, pdbi_dgn7 *d)
{
    reader r = {ic, buf, len, d};
    int got_tcb = 0;
    pdb_status st = PDB_OK;

    memset(d, 0, sizeof *d);
    d->dimension = len > 0 && buf[0] == 0xC8 ? 3 : 2;
    d->scale = 1.0;
    size_t off = 0;
    for (;;) {
        raw e;
        int rc = next_raw(&r, off, &e);
        if (rc < 0) {
            st = ic->status;
            break;
        }
        if (rc == 0)
            break;
        if (off == 0 && e.type != PDBI_DGN7_TCB) {
            st = pdbi__fail(ic, PDB_EINVAL,
                            "not a DGN v7 design file: its first element (offset 0, type %d) "
                            "is not the type-9 control block",
                            e.type);
            break;
        }
        size_t next = off + e.size;
        if (e.deleted) {
            d->deleted++;
        } else if (e.type == PDBI_DGN7_TCB) {
            d->by_type[e.type]++;
            st = read_tcb(&r, &e, &got_tcb);
        } else if (e.type == PDBI_DGN7_LINE || e.type == PDBI_DGN7_LINE_STRING ||
                   e.type == PDBI_DGN7_SHAPE) {
            pdbi_dgn7_elem *el = new_elem(&r, &e, e.type);
            st = el == NULL ? oom(&r) : read_part(&r, &e);
            if (st == PDB_OK)
                el->nparts = 1;
        } else if (e.type == PDBI_DGN7_TEXT) {
            pdbi_dgn7_elem *el = new_elem(&r, &e, e.type);
            st = el == NULL ? oom(&r) : read_text(&r, &e, el);
        } else if (e.type == PDBI_DGN7_CHAIN || e.type == PDBI_DGN7_COMPLEX_SHAPE) {
            st = read_complex(&r, &e, &next);
        } else {
            count_unread(d, e.type);
        }
        if (st != PDB_OK)
            break;
        off = next;
    }
    if (st != PDB_OK)
        pdbi__dgn7_free(d);
    return st;
}

pdb_status pdbi__dgn7_read_file(pdbi_ctx *ic, const char *path, pdbi_dgn7 *d)
{
    memset(d, 0, sizeof *d);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return pdbi__fail(ic, PDB_EIO, "cannot read it: %s", strerror(errno));
    long size = fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : -1;
    unsigned char *buf = size >= 0 ? malloc(size > 0 ? (size_t)size : 1) : NULL;
    int ok = buf != NULL && fseek(fp, 0, SEEK_SET) == 0 &&
             fread(buf, 1, (size_t)size, fp) == (size_t)size;
    fclose(fp);
    pdb_status st =
        ok ? pdbi__dgn7_read(ic, buf, (size_t)size, d)
           : pdbi__fail(ic, size < 0 || buf != NULL ? PDB_EIO : PDB_ENOMEM, "cannot read it whole");
    free(buf);
    return st;
}

void pdbi__dgn7_free(pdbi_dgn7 *d)
{
    free(d->elems);
    free(d->parts);
    free(d->xy);
    free(d->chars);
    memset(d, 0, sizeof *d);
}
