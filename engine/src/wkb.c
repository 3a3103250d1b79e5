/*
 * wkb.c: polygon geometry without GEOS: WKB and SpatiaLite BLOB codecs,
 * area, orientation and the point-in-polygon rule of lookups.
 *
 * Our own codecs rather than SpatiaLite's gaia parser because input from
 * importers is untrusted (every count is checked against the context's
 * limits before anything is allocated for it), and because a lookup must
 * test a candidate's BLOB in place, without allocating.
 */
#include "wkb.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* SpatiaLite BLOB markers (see SpatiaLite's "BLOB-Geometry" format). */
enum {
    BLOB_START = 0x00,
    BLOB_MBR_END = 0x7C,
    BLOB_ENTITY = 0x69,
    BLOB_END = 0xFE,
    BLOB_HEADER = 43, /* start, endian, srid, mbr (4 doubles), mbr_end, class */
};

enum { GEOM_POLYGON = 3, GEOM_MULTIPOLYGON = 6 };

/* A bounds-checked cursor over untrusted bytes. */
typedef struct reader {
    const unsigned char *p;   /* next byte */
    const unsigned char *end; /* one past the last byte */
    int little;               /* byte order of the current geometry */
} reader;

static int rd_u8(reader *r, unsigned *v)
{
    if (r->p >= r->end)
        return -1;
    *v = *r->p++;
    return 0;
}

static int rd_u32(reader *r, uint32_t *v)
{
    if (r->end - r->p < 4)
        return -1;
    const unsigned char *b = r->p;
    *v = r->little
             ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24
             : (uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 | (uint32_t)b[0] << 24;
    r->p += 4;
    return 0;
}

/* 1 on a little-endian host, where a little-endian double is its bytes. */
static int host_little(void)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return 1;
#else
    return 0;
#endif
}

static double rd_f64_at(const unsigned char *b, int little)
{
    double d;
    if (little == host_little()) { /* the host's order: its bytes as they are */
        memcpy(&d, b, sizeof d);
        return d;
    }
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)b[little ? i : 7 - i] << (8 * i);
    memcpy(&d, &u, sizeof d);
    return d;
}

static int rd_f64(reader *r, double *v)
{
    if (r->end - r->p < 8)
        return -1;
    *v = rd_f64_at(r->p, r->little);
    r->p += 8;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Growing the flat arrays while parsing                                     */
/* ------------------------------------------------------------------------ */

/* Grows arr to hold need elements (plus the sentinel); -1 when out of memory. */
static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    void *p = realloc(*arr, (n + 1) * elem); /* + 1: room for the sentinel */
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = n;
    return 0;
}

int pdb__mpb_open_part(pdb__mpoly_builder *b)
{
    pdb__mpoly *mp = &b->mp;
    if (grow((void **)&mp->part_ring, &b->cap_parts, mp->nparts + 1, sizeof(size_t)) != 0)
        return -1;
    mp->part_ring[mp->nparts] = mp->nrings;
    return 0;
}

double *pdb__mpb_add_ring(pdb__mpoly_builder *b, size_t n)
{
    pdb__mpoly *mp = &b->mp;
    if (grow((void **)&mp->xy, &b->cap_points, mp->npoints + n, 2 * sizeof(double)) != 0 ||
        grow((void **)&mp->ring_point, &b->cap_rings, mp->nrings + 1, sizeof(size_t)) != 0)
        return NULL;
    double *xy = mp->xy + 2 * mp->npoints;
    mp->ring_point[mp->nrings++] = mp->npoints;
    mp->npoints += n;
    mp->ring_point[mp->nrings] = mp->npoints;
    return xy;
}

void pdb__mpb_drop_rings(pdb__mpoly_builder *b, size_t rings)
{
    pdb__mpoly *mp = &b->mp;
    if (rings >= mp->nrings)
        return;
    mp->npoints = mp->ring_point[rings];
    mp->nrings = rings;
}

void pdb__mpb_close_part(pdb__mpoly_builder *b)
{
    pdb__mpoly *mp = &b->mp;
    mp->nparts++;
    mp->part_ring[mp->nparts] = mp->nrings;
}

static pdb_status check_limits(pdb_ctx *ctx, size_t parts, size_t rings, size_t points)
{
    const pdb_limits *lim = &ctx->limits;
    if (parts > lim->max_parts_per_parcel)
        return pdb__fail(ctx, PDB_ELIMIT, "geometry has more than %zu parts",
                         lim->max_parts_per_parcel);
    if (rings > lim->max_rings_per_parcel)
        return pdb__fail(ctx, PDB_ELIMIT, "geometry has more than %zu rings",
                         lim->max_rings_per_parcel);
    if (points > lim->max_vertices_per_parcel)
        return pdb__fail(ctx, PDB_ELIMIT, "geometry has more than %zu vertices",
                         lim->max_vertices_per_parcel);
    return PDB_OK;
}

/* Reads one ring of `dims` ordinates per point into the builder. */
static pdb_status read_ring(pdb_ctx *ctx, reader *r, pdb__mpoly_builder *b, unsigned dims)
{
    uint32_t n;
    pdb__mpoly *mp = &b->mp;

    if (rd_u32(r, &n) != 0)
        return pdb__fail(ctx, PDB_EGEOM, "geometry is truncated (ring size)");
    if (n < 4)
        return pdb__fail(ctx, PDB_EGEOM, "a ring has %u points; a closed ring needs 4", n);
    if ((size_t)(r->end - r->p) / (8 * dims) < n)
        return pdb__fail(ctx, PDB_EGEOM, "geometry is truncated (ring of %u points)", n);
    pdb_status st = check_limits(ctx, mp->nparts, mp->nrings + 1, mp->npoints + n);
    if (st != PDB_OK)
        return st;
    double *xy = pdb__mpb_add_ring(b, n);
    if (xy == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory reading a geometry");
    if (r->little && dims == 2 && host_little()) {
        /* What the store holds (little-endian 2D, as every renderer and
         * lookup reads it): one copy, then the finiteness test over plain
         * doubles, instead of eight shifts an ordinate. */
        memcpy(xy, r->p, (size_t)n * 16);
        r->p += (size_t)n * 16;
        int finite = 1;
        for (uint32_t i = 0; i < 2 * n; i++)
            finite &= isfinite(xy[i]);
        if (!finite)
            return pdb__fail(ctx, PDB_EGEOM, "a coordinate is not a finite number");
    } else {
        for (uint32_t i = 0; i < n; i++) {
            rd_f64(r, &xy[2 * i]);
            rd_f64(r, &xy[2 * i + 1]);
            r->p += 8 * (dims - 2); /* Z and M are not part of a parcel's outline */
            if (!isfinite(xy[2 * i]) || !isfinite(xy[2 * i + 1]))
                return pdb__fail(ctx, PDB_EGEOM, "a coordinate is not a finite number");
        }
    }
    if (xy[0] != xy[2 * (n - 1)] || xy[1] != xy[2 * (n - 1) + 1])
        return pdb__fail(ctx, PDB_EGEOM, "a ring is not closed");
    return PDB_OK;
}

/* Reads the body of a polygon (after its type) as a new part. */
static pdb_status read_polygon_body(pdb_ctx *ctx, reader *r, pdb__mpoly_builder *b, unsigned dims)
{
    uint32_t nrings;
    pdb__mpoly *mp = &b->mp;
    pdb_status st;

    if (rd_u32(r, &nrings) != 0)
        return pdb__fail(ctx, PDB_EGEOM, "geometry is truncated (ring count)");
    if (nrings == 0)
        return pdb__fail(ctx, PDB_EGEOM, "a polygon has no rings (empty geometry)");
    if ((st = check_limits(ctx, mp->nparts + 1, mp->nrings + nrings, mp->npoints)) != PDB_OK)
        return st;
    if (pdb__mpb_open_part(b) != 0)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory reading a geometry");
    for (uint32_t i = 0; i < nrings; i++)
        if ((st = read_ring(ctx, r, b, dims)) != PDB_OK)
            return st;
    pdb__mpb_close_part(b);
    return PDB_OK;
}

/* Reads a WKB header: byte order and type; returns base type and dims. */
static pdb_status read_wkb_header(pdb_ctx *ctx, reader *r, unsigned *base, unsigned *dims)
{
    unsigned order;
    uint32_t type;

    if (rd_u8(r, &order) != 0 || order > 1)
        return pdb__fail(ctx, PDB_EGEOM, "not WKB (bad byte-order mark)");
    r->little = order == 1;
    if (rd_u32(r, &type) != 0)
        return pdb__fail(ctx, PDB_EGEOM, "geometry is truncated (type)");
    int has_z = 0, has_m = 0;
    if (type & 0xE0000000u) { /* EWKB flags */
        has_z = (type & 0x80000000u) != 0;
        has_m = (type & 0x40000000u) != 0;
        if (type & 0x20000000u) {
            uint32_t srid;
            if (rd_u32(r, &srid) != 0)
                return pdb__fail(ctx, PDB_EGEOM, "geometry is truncated (SRID)");
        }
        type &= 0x0FFFFFFFu;
    } else {
        has_z = (type / 1000) == 1 || (type / 1000) == 3;
        has_m = (type / 1000) == 2 || (type / 1000) == 3;
        type %= 1000;
    }
    *base = type;
    *dims = 2 + (unsigned)has_z + (unsigned)has_m;
    return PDB_OK;
}

pdb_status pdb__wkb_parse(pdb_ctx *ctx, const unsigned char *wkb, size_t len, pdb__mpoly *out)
{
    reader r = {wkb, wkb + len, 1};
    pdb__mpoly_builder b = {0};
    unsigned base, dims;
    pdb_status st;

    memset(out, 0, sizeof *out);
    if (wkb == NULL || len == 0) {
        st = pdb__fail(ctx, PDB_EGEOM, "no geometry");
        goto done;
    }
    if ((st = read_wkb_header(ctx, &r, &base, &dims)) != PDB_OK)
        goto done;
    if (base == GEOM_POLYGON) {
        st = read_polygon_body(ctx, &r, &b, dims);
    } else if (base == GEOM_MULTIPOLYGON) {
        uint32_t nparts = 0;
        if (rd_u32(&r, &nparts) != 0) {
            st = pdb__fail(ctx, PDB_EGEOM, "geometry is truncated (part count)");
            goto done;
        }
        if (nparts == 0) {
            st = pdb__fail(ctx, PDB_EGEOM, "a multipolygon has no parts (empty geometry)");
            goto done;
        }
        for (uint32_t i = 0; i < nparts && st == PDB_OK; i++) {
            unsigned pbase, pdims;
            if ((st = read_wkb_header(ctx, &r, &pbase, &pdims)) != PDB_OK)
                break;
            if (pbase != GEOM_POLYGON) {
                st = pdb__fail(ctx, PDB_EGEOM, "a multipolygon part is of WKB type %u", pbase);
                break;
            }
            st = read_polygon_body(ctx, &r, &b, pdims);
        }
    } else {
        st = pdb__fail(ctx, PDB_EGEOM, "geometry is of WKB type %u, not a polygon", base);
    }
    if (st == PDB_OK && r.p != r.end)
        st = pdb__fail(ctx, PDB_EGEOM, "%zu bytes after the end of the geometry",
                       (size_t)(r.end - r.p));
done:
    if (st != PDB_OK)
        pdb__mpoly_free(&b.mp);
    else
        *out = b.mp;
    return st;
}

void pdb__mpoly_free(pdb__mpoly *mp)
{
    if (mp == NULL)
        return;
    free(mp->part_ring);
    free(mp->ring_point);
    free(mp->xy);
    memset(mp, 0, sizeof *mp);
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

static unsigned char *put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
    return p + 4;
}

static unsigned char *put_f64(unsigned char *p, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(u >> (8 * i));
    return p + 8;
}

/* Writes the rings of part `part`: ring count, then each ring's points. */
static unsigned char *put_part_rings(unsigned char *p, const pdb__mpoly *mp, size_t part)
{
    size_t r0 = mp->part_ring[part], r1 = mp->part_ring[part + 1];
    p = put_u32(p, (uint32_t)(r1 - r0));
    for (size_t r = r0; r < r1; r++) {
        size_t i0 = mp->ring_point[r], i1 = mp->ring_point[r + 1];
        p = put_u32(p, (uint32_t)(i1 - i0));
        for (size_t i = i0; i < i1; i++) {
            p = put_f64(p, mp->xy[2 * i]);
            p = put_f64(p, mp->xy[2 * i + 1]);
        }
    }
    return p;
}

/* A MULTIPOLYGON's type, part count and parts, each part led by `mark`:
 * WKB repeats its byte-order byte there, a SpatiaLite BLOB its entity mark. */
static unsigned char *put_parts(unsigned char *p, const pdb__mpoly *mp, unsigned char mark)
{
    p = put_u32(p, GEOM_MULTIPOLYGON);
    p = put_u32(p, (uint32_t)mp->nparts);
    for (size_t k = 0; k < mp->nparts; k++) {
        *p++ = mark;
        p = put_u32(p, GEOM_POLYGON);
        p = put_part_rings(p, mp, k);
    }
    return p;
}

pdb_status pdb__mpoly_to_wkb(pdb_ctx *ctx, const pdb__mpoly *mp, unsigned char **out, size_t *len)
{
    size_t n = 9 + mp->nparts * 9 + mp->nrings * 4 + mp->npoints * 16;
    unsigned char *buf = malloc(n), *p = buf;

    *out = NULL;
    if (buf == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory writing WKB");
    *p++ = 1;
    p = put_parts(p, mp, 1);
    *out = buf;
    *len = n;
    return PDB_OK;
}

pdb_status pdb__mpoly_to_blob(pdb_ctx *ctx, const pdb__mpoly *mp, int srid, unsigned char **out,
                              size_t *len)
{
    size_t n =
        BLOB_HEADER + 4 + mp->nparts * 5 + mp->nparts * 4 + mp->nrings * 4 + mp->npoints * 16 + 1;
    unsigned char *buf = malloc(n), *p = buf;
    double bbox[4];

    *out = NULL;
    if (buf == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory writing a geometry BLOB");
    pdb__mpoly_bbox(mp, bbox);
    *p++ = BLOB_START;
    *p++ = 1; /* little endian */
    p = put_u32(p, (uint32_t)srid);
    for (int i = 0; i < 4; i++)
        p = put_f64(p, bbox[i]);
    *p++ = BLOB_MBR_END;
    p = put_parts(p, mp, BLOB_ENTITY);
    *p++ = BLOB_END;
    *out = buf;
    *len = n;
    return PDB_OK;
}

/* ------------------------------------------------------------------------ */
/* Reading SpatiaLite BLOBs                                                  */
/* ------------------------------------------------------------------------ */

/* Checks the BLOB header; leaves the reader at the first polygon's ring
 * count (for a POLYGON) or at the part count (MULTIPOLYGON). */
static pdb_status blob_open(pdb_ctx *ctx, const unsigned char *blob, size_t len, reader *r,
                            unsigned *cls, double mbr[4])
{
    uint32_t type = 0;

    if (blob == NULL || len < BLOB_HEADER + 5 || blob[0] != BLOB_START || blob[1] > 1 ||
        blob[38] != BLOB_MBR_END || blob[len - 1] != BLOB_END)
        return pdb__fail(ctx, PDB_EGEOM, "not a SpatiaLite geometry BLOB");
    r->p = blob + 39;
    r->end = blob + len - 1;
    r->little = blob[1] == 1;
    for (int i = 0; i < 4; i++)
        mbr[i] = rd_f64_at(blob + 6 + 8 * i, r->little);
    rd_u32(r, &type);
    if (type != GEOM_POLYGON && type != GEOM_MULTIPOLYGON)
        return pdb__fail(ctx, PDB_EGEOM, "BLOB geometry class %u is not a 2D polygon", type);
    *cls = type;
    return PDB_OK;
}

/* Calls visit(edge) for every edge of every ring in the BLOB, in place.
 * Returns 1 early when visit returns non-zero; -1 on a malformed BLOB. */
typedef int (*edge_fn)(void *arg, double x1, double y1, double x2, double y2);

static int blob_ring_edges(reader *r, edge_fn visit, void *arg)
{
    uint32_t n;
    if (rd_u32(r, &n) != 0 || n < 2 || (size_t)(r->end - r->p) / 16 < n)
        return -1;
    const unsigned char *pt = r->p;
    double x1 = rd_f64_at(pt, r->little), y1 = rd_f64_at(pt + 8, r->little);
    for (uint32_t i = 1; i < n; i++) {
        pt += 16;
        double x2 = rd_f64_at(pt, r->little), y2 = rd_f64_at(pt + 8, r->little);
        if (visit(arg, x1, y1, x2, y2))
            return 1;
        x1 = x2;
        y1 = y2;
    }
    r->p += (size_t)n * 16;
    return 0;
}

static int blob_polygon_edges(reader *r, edge_fn visit, void *arg)
{
    uint32_t nrings;
    if (rd_u32(r, &nrings) != 0)
        return -1;
    for (uint32_t k = 0; k < nrings; k++) {
        int rc = blob_ring_edges(r, visit, arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int blob_edges(reader *r, unsigned cls, edge_fn visit, void *arg)
{
    if (cls == GEOM_POLYGON)
        return blob_polygon_edges(r, visit, arg);
    uint32_t nparts;
    if (rd_u32(r, &nparts) != 0)
        return -1;
    for (uint32_t k = 0; k < nparts; k++) {
        unsigned mark;
        uint32_t type;
        if (rd_u8(r, &mark) != 0 || mark != BLOB_ENTITY || rd_u32(r, &type) != 0 ||
            type != GEOM_POLYGON)
            return -1;
        int rc = blob_polygon_edges(r, visit, arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The crossing-number rule. The edge is put in a canonical direction
 * before the intersection is computed, so that two parcels sharing an edge
 * (which they walk in opposite directions) compute the very same crossing
 * abscissa, and a point on that edge falls in exactly one of them. */
typedef struct crossing {
    double x, y; /* the point */
    int inside;  /* parity so far */
} crossing;

static int crossing_edge(void *arg, double x1, double y1, double x2, double y2)
{
    crossing *c = arg;
    if ((y1 > c->y) == (y2 > c->y))
        return 0;
    if (y1 > y2) { /* canonical direction: upward */
        double t = x1;
        x1 = x2;
        x2 = t;
        t = y1;
        y1 = y2;
        y2 = t;
    }
    double xint = x1 + (c->y - y1) * (x2 - x1) / (y2 - y1);
    if (c->x < xint)
        c->inside = !c->inside;
    return 0;
}

pdb_status pdb__blob_mbr(pdb_ctx *ctx, const unsigned char *blob, size_t len, double mbr[4])
{
    reader r = {0};
    unsigned cls = 0;
    return blob_open(ctx, blob, len, &r, &cls, mbr);
}

/* Opens a BLOB for an edge walk when its box meets box (a point when
 * box[0] == box[2] and box[1] == box[3]); *meets is 0 when it cannot. */
static pdb_status blob_open_at(pdb_ctx *ctx, const unsigned char *blob, size_t len,
                               const double box[4], reader *r, unsigned *cls, int *meets)
{
    double mbr[4];
    pdb_status st = blob_open(ctx, blob, len, r, cls, mbr);
    *meets =
        st == PDB_OK && !(mbr[2] < box[0] || mbr[0] > box[2] || mbr[3] < box[1] || mbr[1] > box[3]);
    return st;
}

pdb_status pdb__blob_contains(pdb_ctx *ctx, const unsigned char *blob, size_t len, double x,
                              double y, int *inside)
{
    reader r = {0};
    unsigned cls = 0;
    const double at[4] = {x, y, x, y};
    int meets;
    pdb_status st;

    *inside = 0;
    if ((st = blob_open_at(ctx, blob, len, at, &r, &cls, &meets)) != PDB_OK || !meets)
        return st;
    /* Rings are even-odd together: a hole's crossings cancel its part's. */
    crossing c = {x, y, 0};
    if (blob_edges(&r, cls, crossing_edge, &c) < 0)
        return pdb__fail(ctx, PDB_EGEOM, "malformed geometry BLOB");
    *inside = c.inside;
    return PDB_OK;
}

/* Whether segment (a,b) crosses segment (c,d), touching included. */
static double orient2d(double ax, double ay, double bx, double by, double cx, double cy)
{
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
}

static int segments_meet(double ax, double ay, double bx, double by, double cx, double cy,
                         double dx, double dy)
{
    double d1 = orient2d(cx, cy, dx, dy, ax, ay), d2 = orient2d(cx, cy, dx, dy, bx, by);
    double d3 = orient2d(ax, ay, bx, by, cx, cy), d4 = orient2d(ax, ay, bx, by, dx, dy);
    if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)))
        return 1;
    /* Collinear or touching cases: an endpoint on the other segment. */
    if (d1 == 0 && fmin(cx, dx) <= ax && ax <= fmax(cx, dx) && fmin(cy, dy) <= ay &&
        ay <= fmax(cy, dy))
        return 1;
    if (d2 == 0 && fmin(cx, dx) <= bx && bx <= fmax(cx, dx) && fmin(cy, dy) <= by &&
        by <= fmax(cy, dy))
        return 1;
    if (d3 == 0 && fmin(ax, bx) <= cx && cx <= fmax(ax, bx) && fmin(ay, by) <= cy &&
        cy <= fmax(ay, by))
        return 1;
    if (d4 == 0 && fmin(ax, bx) <= dx && dx <= fmax(ax, bx) && fmin(ay, by) <= dy &&
        dy <= fmax(ay, by))
        return 1;
    return 0;
}

typedef struct box_hit {
    const double *box; /* min x, min y, max x, max y */
} box_hit;

static int box_edge(void *arg, double x1, double y1, double x2, double y2)
{
    const double *b = ((box_hit *)arg)->box;
    if (x1 >= b[0] && x1 <= b[2] && y1 >= b[1] && y1 <= b[3])
        return 1; /* a vertex inside the box */
    return segments_meet(x1, y1, x2, y2, b[0], b[1], b[2], b[1]) ||
           segments_meet(x1, y1, x2, y2, b[2], b[1], b[2], b[3]) ||
           segments_meet(x1, y1, x2, y2, b[2], b[3], b[0], b[3]) ||
           segments_meet(x1, y1, x2, y2, b[0], b[3], b[0], b[1]);
}

pdb_status pdb__blob_intersects_box(pdb_ctx *ctx, const unsigned char *blob, size_t len,
                                    const double box[4], int *hit)
{
    reader r = {0};
    unsigned cls = 0;
    int meets;
    pdb_status st;

    *hit = 0;
    if ((st = blob_open_at(ctx, blob, len, box, &r, &cls, &meets)) != PDB_OK || !meets)
        return st;
    box_hit bh = {box};
    int rc = blob_edges(&r, cls, box_edge, &bh);
    if (rc < 0)
        return pdb__fail(ctx, PDB_EGEOM, "malformed geometry BLOB");
    if (rc == 1) {
        *hit = 1;
        return PDB_OK;
    }
    /* No edge meets the box: either the box lies inside the polygon (test
     * one corner), or they are apart. */
    return pdb__blob_contains(ctx, blob, len, box[0], box[1], hit);
}

pdb_status pdb__blob_parse(pdb_ctx *ctx, const unsigned char *blob, size_t len, pdb__mpoly *out)
{
    pdb__mpoly_builder b = {0};
    pdb_status st = pdb__blob_parse_into(ctx, blob, len, &b);
    if (st != PDB_OK)
        pdb__mpoly_free(&b.mp);
    *out = b.mp;
    return st;
}

pdb_status pdb__blob_parse_into(pdb_ctx *ctx, const unsigned char *blob, size_t len,
                                pdb__mpoly_builder *bp)
{
    reader r = {0};
    unsigned cls = 0;
    double mbr[4];
    pdb__mpoly_builder b = *bp;
    pdb_status st;

    b.mp.nparts = b.mp.nrings = b.mp.npoints = 0;
    if ((st = blob_open(ctx, blob, len, &r, &cls, mbr)) != PDB_OK)
        goto done;
    if (cls == GEOM_POLYGON) {
        st = read_polygon_body(ctx, &r, &b, 2);
    } else {
        uint32_t nparts = 0;
        if (rd_u32(&r, &nparts) != 0)
            st = pdb__fail(ctx, PDB_EGEOM, "malformed geometry BLOB");
        for (uint32_t k = 0; k < nparts && st == PDB_OK; k++) {
            unsigned mark;
            uint32_t type;
            if (rd_u8(&r, &mark) != 0 || mark != BLOB_ENTITY || rd_u32(&r, &type) != 0 ||
                type != GEOM_POLYGON)
                st = pdb__fail(ctx, PDB_EGEOM, "malformed geometry BLOB");
            else
                st = read_polygon_body(ctx, &r, &b, 2);
        }
    }
    if (st == PDB_OK && r.p != r.end)
        st = pdb__fail(ctx, PDB_EGEOM, "malformed geometry BLOB (trailing bytes)");
done:
    *bp = b; /* the arrays, grown or not, stay the builder's */
    if (st != PDB_OK)
        bp->mp.nparts = bp->mp.nrings = bp->mp.npoints = 0;
    return st;
}

/* ------------------------------------------------------------------------ */
/* Measures                                                                  */
/* ------------------------------------------------------------------------ */

/* Twice the signed area of ring r (positive when counter-clockwise),
 * computed relative to its first point to keep precision with large
 * projected coordinates. */
double pdb__mpoly_ring_area2(const pdb__mpoly *mp, size_t r)
{
    size_t i0 = mp->ring_point[r], i1 = mp->ring_point[r + 1];
    const double *xy = mp->xy;
    double ox = xy[2 * i0], oy = xy[2 * i0 + 1], sum = 0.0;
    for (size_t i = i0; i + 1 < i1; i++) {
        double ax = xy[2 * i] - ox, ay = xy[2 * i + 1] - oy;
        double bx = xy[2 * i + 2] - ox, by = xy[2 * i + 3] - oy;
        sum += ax * by - bx * ay;
    }
    return sum;
}

double pdb__mpoly_area(const pdb__mpoly *mp)
{
    double total = 0.0;
    for (size_t k = 0; k < mp->nparts; k++) {
        for (size_t r = mp->part_ring[k]; r < mp->part_ring[k + 1]; r++) {
            double a = fabs(pdb__mpoly_ring_area2(mp, r)) / 2.0;
            total += r == mp->part_ring[k] ? a : -a;
        }
    }
    return total;
}

void pdb__mpoly_bbox(const pdb__mpoly *mp, double bbox[4])
{
    bbox[0] = bbox[1] = INFINITY;
    bbox[2] = bbox[3] = -INFINITY;
    for (size_t i = 0; i < mp->npoints; i++) {
        double x = mp->xy[2 * i], y = mp->xy[2 * i + 1];
        bbox[0] = fmin(bbox[0], x);
        bbox[1] = fmin(bbox[1], y);
        bbox[2] = fmax(bbox[2], x);
        bbox[3] = fmax(bbox[3], y);
    }
}

static void ring_reverse(pdb__mpoly *mp, size_t r)
{
    size_t i = mp->ring_point[r], j = mp->ring_point[r + 1] - 1;
    for (; i < j; i++, j--) {
        double tx = mp->xy[2 * i], ty = mp->xy[2 * i + 1];
        mp->xy[2 * i] = mp->xy[2 * j];
        mp->xy[2 * i + 1] = mp->xy[2 * j + 1];
        mp->xy[2 * j] = tx;
        mp->xy[2 * j + 1] = ty;
    }
}

void pdb__mpoly_orient_rfc7946(pdb__mpoly *mp)
{
    for (size_t k = 0; k < mp->nparts; k++) {
        for (size_t r = mp->part_ring[k]; r < mp->part_ring[k + 1]; r++) {
            double a2 = pdb__mpoly_ring_area2(mp, r);
            int exterior = r == mp->part_ring[k];
            if ((exterior && a2 < 0) || (!exterior && a2 > 0))
                ring_reverse(mp, r);
        }
    }
}

/* The public face of pdb__wkb_parse: the same arrays, handed over. */
pdb_status pdb_wkb_to_polygons(pdb_ctx *ctx, const unsigned char *wkb, size_t len,
                               pdb_polygons **out)
{
    *out = NULL;
    pdb_polygons *g = calloc(1, sizeof *g);
    if (g == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    pdb_status st = pdb__wkb_parse(ctx, wkb, len, g);
    if (st != PDB_OK) {
        free(g);
        return st;
    }
    *out = g;
    return PDB_OK;
}

void pdb_polygons_free(pdb_polygons *g)
{
    pdb__mpoly_free(g);
    free(g);
}

pdb_limits pdb__limits_lift(pdb_ctx *ctx)
{
    pdb_limits saved = ctx->limits;
    ctx->limits.max_vertices_per_parcel = SIZE_MAX / 64;
    ctx->limits.max_parts_per_parcel = SIZE_MAX / 64;
    ctx->limits.max_rings_per_parcel = SIZE_MAX / 64;
    return saved;
}

pdb_status pdb__wkb_parse_stored(pdb_ctx *ctx, const unsigned char *wkb, size_t len,
                                 pdb__mpoly *out)
{
    pdb_limits saved = pdb__limits_lift(ctx);
    pdb_status st = pdb__wkb_parse(ctx, wkb, len, out);
    ctx->limits = saved;
    return st;
}
