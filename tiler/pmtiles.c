/*
 * pmtiles.c: PMTiles v3 archives (pmtiles.h), written from the
 * specification (spec/v3/spec.md of the PMTiles project):
 *
 *   header (127 bytes) | root directory | metadata | leaf directories | tiles
 *
 * The header's integers are little-endian; a directory is the number of
 * entries, then every entry's tile id delta, run length, length and
 * offset (0 for "right after the previous entry", else offset + 1), each
 * an unsigned LEB128 varint, then gzip over the whole. The tile data are
 * written to PATH.tmp.tiles as tiles come (an archive of a province does
 * not fit in memory), and copied after the directories once their size is
 * known.
 */
#include "pmtiles.h"

#include "ctx.h"

#include <errno.h>
#include <libdeflate.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GZIP_LEVEL 9              /* directories are small; compress them well */
#define MAX_INFLATED (256u << 20) /* bytes a directory or the metadata may inflate to */
#define DEFAULT_LEAF_ENTRIES 4096 /* the first leaf size tried when leaves are needed */
#define MAX_LEAF_DEPTH 3          /* leaf directories below leaf directories, at most */

_Static_assert(PDBT_PMTILES_HEADER_BYTES == 127, "the header is 127 bytes (spec 3)");

/* ------------------------------------------------------------------------ */
/* Tile ids                                                                  */
/* ------------------------------------------------------------------------ */

/* The Hilbert curve over a 2^z grid: position of (x, y), the classic
 * iterative form (rotate the quadrant's frame at each level). */
static uint64_t hilbert_d(int z, uint32_t x, uint32_t y)
{
    uint64_t n = (uint64_t)1 << z, d = 0;
    uint64_t ux = x, uy = y;
    for (uint64_t s = n / 2; s > 0; s /= 2) {
        uint64_t rx = (ux & s) > 0, ry = (uy & s) > 0;
        d += s * s * ((3 * rx) ^ ry);
        if (ry == 0) {
            if (rx == 1) {
                ux = n - 1 - ux;
                uy = n - 1 - uy;
            }
            uint64_t t = ux;
            ux = uy;
            uy = t;
        }
    }
    return d;
}

/* Tiles of all zooms before z: (4^z - 1) / 3. */
static uint64_t zoom_base(int z)
{
    return (((uint64_t)1 << (2 * z)) - 1) / 3;
}

uint64_t pdbt_pmtiles_tile_id(int z, uint32_t x, uint32_t y)
{
    return zoom_base(z) + hilbert_d(z, x, y);
}

int pdbt_pmtiles_tile_zxy(uint64_t id, int *z, uint32_t *x, uint32_t *y)
{
    int zz = 0;
    while (zz < PDBT_PMTILES_MAX_ZOOM && id >= zoom_base(zz + 1))
        zz++;
    if (id >= zoom_base(zz) + ((uint64_t)1 << (2 * zz)))
        return -1;
    uint64_t n = (uint64_t)1 << zz, d = id - zoom_base(zz), ux = 0, uy = 0;
    for (uint64_t s = 1; s < n; s *= 2) {
        uint64_t rx = 1 & (d / 2), ry = 1 & (d ^ rx);
        if (ry == 0) {
            if (rx == 1) {
                ux = s - 1 - ux;
                uy = s - 1 - uy;
            }
            uint64_t t = ux;
            ux = uy;
            uy = t;
        }
        ux += s * rx;
        uy += s * ry;
        d /= 4;
    }
    *z = zz;
    *x = (uint32_t)ux;
    *y = (uint32_t)uy;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Bytes: a growable buffer, varints, gzip                                   */
/* ------------------------------------------------------------------------ */

typedef struct buf {
    unsigned char *p; /* bytes */
    size_t len;       /* used */
    size_t cap;       /* allocated */
} buf;

static int buf_put(buf *b, const void *src, size_t n)
{
    if (pdbt__grow((void **)&b->p, &b->cap, b->len + n, 1) != 0)
        return -1;
    memcpy(b->p + b->len, src, n);
    b->len += n;
    return 0;
}

static int put_varint(buf *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v != 0)
            tmp[n] |= 0x80;
        n++;
    } while (v != 0);
    return buf_put(b, tmp, n);
}

/* Reads a varint at *pos (< len); -1 when it runs past len or 64 bits. */
static int get_varint(const unsigned char *p, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *pos < len; shift += 7) {
        unsigned char c = p[(*pos)++];
        v |= (uint64_t)(c & 0x7f) << shift;
        if ((c & 0x80) == 0) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* A coordinate in degrees as the spec's little-endian int32 of 1e-7 degrees. */
static void put_deg(unsigned char *p, double deg)
{
    int32_t v = (int32_t)lround(deg * 1e7);
    uint32_t u = (uint32_t)v;
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(u >> (8 * i));
}

static double get_deg(const unsigned char *p)
{
    uint32_t u = 0;
    for (int i = 0; i < 4; i++)
        u |= (uint32_t)p[i] << (8 * i);
    return (int32_t)u / 1e7;
}

/* gzip of n bytes into *out (malloc'd). */
static pdb_status gzip_bytes(pdbt_ctx *ctx, const void *in, size_t n, buf *out)
{
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(GZIP_LEVEL);
    if (c == NULL)
        return pdbt__fail(ctx, PDB_ENOMEM, "out of memory");
    size_t bound = libdeflate_gzip_compress_bound(c, n);
    out->len = 0;
    if (pdbt__grow((void **)&out->p, &out->cap, bound, 1) != 0) {
        libdeflate_free_compressor(c);
        return pdbt__fail(ctx, PDB_ENOMEM, "out of memory");
    }
    out->len = libdeflate_gzip_compress(c, in, n, out->p, bound);
    libdeflate_free_compressor(c);
    if (out->len == 0)
        return pdbt__fail(ctx, PDB_EIO, "gzip failed on %zu bytes", n);
    return PDB_OK;
}

/* Inflates a gzip member of n bytes into *out (malloc'd, NUL after the
 * bytes); -1 when it is not gzip or inflates past MAX_INFLATED. */
static int gunzip_bytes(const void *in, size_t n, unsigned char **out, size_t *outlen)
{
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    size_t cap = n * 4 + 64;
    unsigned char *p = NULL;
    int rc = -1;
    if (d == NULL)
        return -1;
    for (;;) {
        /* A larger buffer each time; what the last attempt wrote is not kept. */
        free(p);
        if ((p = malloc(cap + 1)) == NULL)
            break;
        size_t got = 0;
        enum libdeflate_result r = libdeflate_gzip_decompress(d, in, n, p, cap, &got);
        if (r == LIBDEFLATE_SUCCESS) {
            p[got] = '\0';
            *out = p;
            *outlen = got;
            p = NULL;
            rc = 0;
            break;
        }
        if (r != LIBDEFLATE_INSUFFICIENT_SPACE || cap >= MAX_INFLATED)
            break;
        cap = cap * 2 > MAX_INFLATED ? MAX_INFLATED : cap * 2;
    }
    free(p);
    libdeflate_free_decompressor(d);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Directories                                                               */
/* ------------------------------------------------------------------------ */

typedef struct entry {
    uint64_t tile_id; /* the tile's id, or the first tile id of a leaf */
    uint64_t offset;  /* bytes into the tile data (or the leaf directories) */
    uint32_t length;  /* bytes */
    uint32_t run;     /* tiles this entry stands for; 0: a leaf directory */
} entry;

/* Encodes n entries as the spec's directory (4.2), gzipped into out. */
static pdb_status encode_dir(pdbt_ctx *ctx, const entry *e, size_t n, buf *out)
{
    buf raw = {0};
    pdb_status st = PDB_OK;
    int bad = put_varint(&raw, n);
    uint64_t last = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        bad |= put_varint(&raw, e[i].tile_id - last);
        last = e[i].tile_id;
    }
    for (size_t i = 0; i < n && !bad; i++)
        bad |= put_varint(&raw, e[i].run);
    for (size_t i = 0; i < n && !bad; i++)
        bad |= put_varint(&raw, e[i].length);
    for (size_t i = 0; i < n && !bad; i++) {
        int contiguous = i > 0 && e[i].offset == e[i - 1].offset + e[i - 1].length;
        bad |= put_varint(&raw, contiguous ? 0 : e[i].offset + 1);
    }
    if (bad)
        st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory");
    else
        st = gzip_bytes(ctx, raw.p, raw.len, out);
    free(raw.p);
    return st;
}

/* Decodes a directory's uncompressed bytes; -1 when they are not one. */
static int decode_dir(const unsigned char *p, size_t len, entry **out, size_t *nout)
{
    size_t pos = 0;
    uint64_t n, v, last = 0;
    if (get_varint(p, len, &pos, &n) != 0 || n == 0 || n > len / 4)
        return -1;
    entry *e = calloc(n, sizeof *e);
    if (e == NULL)
        return -1;
    for (uint64_t i = 0; i < n; i++) {
        if (get_varint(p, len, &pos, &v) != 0 || (i > 0 && v == 0) || last + v < last)
            goto bad;
        e[i].tile_id = last += v;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (get_varint(p, len, &pos, &v) != 0 || v > UINT32_MAX)
            goto bad;
        e[i].run = (uint32_t)v;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (get_varint(p, len, &pos, &v) != 0 || v == 0 || v > UINT32_MAX)
            goto bad;
        e[i].length = (uint32_t)v;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (get_varint(p, len, &pos, &v) != 0)
            goto bad;
        if (v == 0 && i > 0)
            e[i].offset = e[i - 1].offset + e[i - 1].length;
        else if (v == 0)
            goto bad;
        else
            e[i].offset = v - 1;
    }
    *out = e;
    *nout = n;
    return 0;
bad:
    free(e);
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Writer                                                                    */
/* ------------------------------------------------------------------------ */

/* One distinct tile content, for deduplication. */
typedef struct content {
    uint64_t hash;   /* FNV-1a of the bytes; 0 marks a free slot */
    uint64_t offset; /* where its bytes are in the tile data */
    uint32_t length; /* bytes */
} content;

struct pdbt_pmtiles_writer {
    pdbt_pmtiles_writer_options opt; /* as given */
    char *path;                      /* the final name */
    char *tmp;                       /* path.tmp: the archive until renamed */
    char *tiles_tmp;                 /* path.tmp.tiles: tile data while they come */
    FILE *tiles;                     /* open on tiles_tmp */
    uint64_t data_len;               /* bytes in tiles */
    entry *e;                        /* tile entries in tile-id order */
    size_t n, cap;                   /* entries, allocated */
    content *set;                    /* open-addressing table of contents */
    size_t set_n, set_cap;           /* contents, slots (a power of two) */
    uint64_t added;                  /* tiles added */
    uint64_t last_id;                /* the last tile id added */
    unsigned char *cmp;              /* a buffer to compare a candidate's bytes */
    size_t cmp_cap;                  /* its size */
};

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h ? h : 1; /* 0 marks a free slot */
}

static char *concat(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 1);
    if (s != NULL) {
        memcpy(s, a, na);
        memcpy(s + na, b, nb + 1);
    }
    return s;
}

pdb_status pdbt_pmtiles_writer_new(pdbt_ctx *ctx, const char *path,
                                   const pdbt_pmtiles_writer_options *opts,
                                   pdbt_pmtiles_writer **out)
{
    pdbt__ok(ctx);
    *out = NULL;
    pdbt_pmtiles_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return pdbt__fail(ctx, PDB_ENOMEM, "out of memory");
    w->opt = *opts;
    w->path = strdup(path);
    w->tmp = concat(path, ".tmp");
    w->tiles_tmp = concat(path, ".tmp.tiles");
    w->set_cap = 1024;
    w->set = calloc(w->set_cap, sizeof *w->set);
    if (w->path == NULL || w->tmp == NULL || w->tiles_tmp == NULL || w->set == NULL) {
        pdbt_pmtiles_writer_free(w);
        return pdbt__fail(ctx, PDB_ENOMEM, "out of memory");
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        pdbt_pmtiles_writer_free(w);
        return pdbt__fail(ctx, PDB_EIO, "%s: cannot write: Is a directory", path);
    }
    /* The archive's own name is tried first, so that an unwritable place
     * is said with the name the user gave. */
    FILE *probe = fopen(w->tmp, "wb");
    if (probe == NULL) {
        pdb_status st = pdbt__fail(ctx, PDB_EIO, "%s: cannot write: %s", path, strerror(errno));
        pdbt_pmtiles_writer_free(w);
        return st;
    }
    fclose(probe);
    if ((w->tiles = fopen(w->tiles_tmp, "w+b")) == NULL) {
        pdb_status st =
            pdbt__fail(ctx, PDB_EIO, "%s: cannot write: %s", w->tiles_tmp, strerror(errno));
        pdbt_pmtiles_writer_free(w);
        return st;
    }
    *out = w;
    return PDB_OK;
}

/* The slot of a content with this hash and these bytes, or the free slot
 * where it would go; -1 when the bytes of a candidate cannot be read. */
static long find_content(pdbt_pmtiles_writer *w, uint64_t h, const void *data, size_t len)
{
    size_t mask = w->set_cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        content *c = &w->set[i];
        if (c->hash == 0)
            return (long)i;
        if (c->hash != h || c->length != len)
            continue;
        /* Same hash and length: compare the bytes themselves. */
        if (pdbt__grow((void **)&w->cmp, &w->cmp_cap, len, 1) != 0 || fflush(w->tiles) != 0 ||
            pread(fileno(w->tiles), w->cmp, len, (off_t)c->offset) != (ssize_t)len)
            return -1;
        if (memcmp(w->cmp, data, len) == 0)
            return (long)i;
    }
}

static int grow_set(pdbt_pmtiles_writer *w)
{
    size_t cap = w->set_cap * 2;
    content *set = calloc(cap, sizeof *set);
    if (set == NULL)
        return -1;
    for (size_t i = 0; i < w->set_cap; i++) {
        if (w->set[i].hash == 0)
            continue;
        size_t j = w->set[i].hash & (cap - 1);
        while (set[j].hash != 0)
            j = (j + 1) & (cap - 1);
        set[j] = w->set[i];
    }
    free(w->set);
    w->set = set;
    w->set_cap = cap;
    return 0;
}

pdb_status pdbt_pmtiles_writer_add(pdbt_ctx *ctx, pdbt_pmtiles_writer *w, int z, uint32_t x,
                                   uint32_t y, const void *data, size_t len)
{
    pdbt__ok(ctx);
    if (z < 0 || z > PDBT_PMTILES_MAX_ZOOM || (z < 32 && (x >> z || y >> z)))
        return pdbt__fail(ctx, PDB_EINVAL, "tile %d/%u/%u is not a tile", z, x, y);
    if (len == 0 || len > UINT32_MAX)
        return pdbt__fail(ctx, PDB_EINVAL, "tile %d/%u/%u: %zu bytes", z, x, y, len);
    uint64_t id = pdbt_pmtiles_tile_id(z, x, y);
    if (w->added > 0 && id <= w->last_id)
        return pdbt__fail(ctx, PDB_EINVAL,
                          "tile %d/%u/%u comes after tile id %llu: tiles must come in tile-id "
                          "order",
                          z, x, y, (unsigned long long)w->last_id);
    uint64_t h = fnv1a(data, len);
    long slot = find_content(w, h, data, len);
    if (slot < 0)
        return pdbt__fail(ctx, PDB_EIO, "%s: cannot read back: %s", w->tiles_tmp, strerror(errno));
    content *c = &w->set[slot];
    if (c->hash == 0) {
        /* New bytes: append them. */
        if (fwrite(data, 1, len, w->tiles) != len)
            return pdbt__fail(ctx, PDB_EIO, "%s: %s", w->tiles_tmp, strerror(errno));
        c->hash = h;
        c->offset = w->data_len;
        c->length = (uint32_t)len;
        w->data_len += len;
        w->set_n++;
    }
    entry *last = w->n > 0 ? &w->e[w->n - 1] : NULL;
    if (last != NULL && last->offset == c->offset && last->length == c->length &&
        last->tile_id + last->run == id && last->run < UINT32_MAX) {
        last->run++; /* the same bytes as the tile just before: one entry */
    } else {
        if (pdbt__grow((void **)&w->e, &w->cap, w->n + 1, sizeof *w->e) != 0)
            return pdbt__fail(ctx, PDB_ENOMEM, "out of memory");
        w->e[w->n++] = (entry){.tile_id = id, .offset = c->offset, .length = c->length, .run = 1};
    }
    w->added++;
    w->last_id = id;
    if (w->set_n * 2 > w->set_cap && grow_set(w) != 0)
        return pdbt__fail(ctx, PDB_ENOMEM, "out of memory");
    return PDB_OK;
}

void pdbt_pmtiles_writer_counts(const pdbt_pmtiles_writer *w, uint64_t *tiles, uint64_t *entries,
                                uint64_t *contents)
{
    *tiles = w->added;
    *entries = w->n;
    *contents = w->set_n;
}

/* The root directory and the leaf directories: every entry in the root
 * when it fits with the header in PDBT_PMTILES_ROOT_MAX bytes (and no leaf
 * size was asked for), else leaves of leaf_size entries, doubled until
 * their root fits. */
static pdb_status build_dirs(pdbt_ctx *ctx, pdbt_pmtiles_writer *w, buf *root, buf *leaves)
{
    pdb_status st;
    size_t leaf_size = w->opt.leaf_entries;
    if (leaf_size == 0) {
        if ((st = encode_dir(ctx, w->e, w->n, root)) != PDB_OK)
            return st;
        if (PDBT_PMTILES_HEADER_BYTES + root->len <= PDBT_PMTILES_ROOT_MAX)
            return PDB_OK;
        leaf_size = DEFAULT_LEAF_ENTRIES;
    }
    for (;; leaf_size *= 2) {
        size_t nleaves = (w->n + leaf_size - 1) / leaf_size;
        entry *re = calloc(nleaves, sizeof *re);
        buf one = {0};
        if (re == NULL)
            return pdbt__fail(ctx, PDB_ENOMEM, "out of memory");
        leaves->len = 0;
        for (size_t i = 0; i < nleaves; i++) {
            size_t first = i * leaf_size;
            size_t cnt = w->n - first < leaf_size ? w->n - first : leaf_size;
            if ((st = encode_dir(ctx, w->e + first, cnt, &one)) != PDB_OK ||
                (buf_put(leaves, one.p, one.len) != 0 &&
                 (st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory")) != PDB_OK)) {
                free(one.p);
                free(re);
                return st;
            }
            re[i] = (entry){.tile_id = w->e[first].tile_id,
                            .offset = leaves->len - one.len,
                            .length = (uint32_t)one.len,
                            .run = 0};
        }
        free(one.p);
        st = encode_dir(ctx, re, nleaves, root);
        free(re);
        if (st != PDB_OK)
            return st;
        if (PDBT_PMTILES_HEADER_BYTES + root->len <= PDBT_PMTILES_ROOT_MAX)
            return PDB_OK;
    }
}

static void encode_header(const pdbt_pmtiles_header *h, unsigned char p[127])
{
    memset(p, 0, 127);
    memcpy(p, "PMTiles", 7);
    p[7] = 3;
    put_u64(p + 8, h->root_offset);
    put_u64(p + 16, h->root_length);
    put_u64(p + 24, h->metadata_offset);
    put_u64(p + 32, h->metadata_length);
    put_u64(p + 40, h->leaves_offset);
    put_u64(p + 48, h->leaves_length);
    put_u64(p + 56, h->data_offset);
    put_u64(p + 64, h->data_length);
    put_u64(p + 72, h->addressed_tiles);
    put_u64(p + 80, h->tile_entries);
    put_u64(p + 88, h->tile_contents);
    p[96] = (unsigned char)h->clustered;
    p[97] = (unsigned char)h->internal_compression;
    p[98] = (unsigned char)h->tile_compression;
    p[99] = (unsigned char)h->tile_type;
    p[100] = (unsigned char)h->min_zoom;
    p[101] = (unsigned char)h->max_zoom;
    put_deg(p + 102, h->bounds[0]);
    put_deg(p + 106, h->bounds[1]);
    put_deg(p + 110, h->bounds[2]);
    put_deg(p + 114, h->bounds[3]);
    p[118] = (unsigned char)h->center_zoom;
    put_deg(p + 119, h->center[0]);
    put_deg(p + 123, h->center[1]);
}

pdb_status pdbt_pmtiles_writer_finish(pdbt_ctx *ctx, pdbt_pmtiles_writer *w,
                                      const pdbt_pmtiles_header *given, const char *metadata_json)
{
    buf root = {0}, leaves = {0}, meta = {0};
    pdbt_pmtiles_header h = *given;
    unsigned char head[127], *copy = NULL;
    FILE *f = NULL;
    pdb_status st;

    pdbt__ok(ctx);
    if (w->n == 0)
        return pdbt__fail(ctx, PDB_EINVAL, "no tile to write");
    if ((st = build_dirs(ctx, w, &root, &leaves)) != PDB_OK ||
        (st = gzip_bytes(ctx, metadata_json, strlen(metadata_json), &meta)) != PDB_OK)
        goto done;
    h.root_offset = PDBT_PMTILES_HEADER_BYTES;
    h.root_length = root.len;
    h.metadata_offset = h.root_offset + root.len;
    h.metadata_length = meta.len;
    h.leaves_offset = h.metadata_offset + meta.len;
    h.leaves_length = leaves.len;
    h.data_offset = h.leaves_offset + leaves.len;
    h.data_length = w->data_len;
    h.addressed_tiles = w->added;
    h.tile_entries = w->n;
    h.tile_contents = w->set_n;
    h.clustered = 1;
    h.internal_compression = PDBT_PMTILES_COMPRESSION_GZIP;
    h.tile_compression = w->opt.tile_compression;
    h.tile_type = w->opt.tile_type;
    encode_header(&h, head);

    if (fflush(w->tiles) != 0 || fseeko(w->tiles, 0, SEEK_SET) != 0) {
        st = pdbt__fail(ctx, PDB_EIO, "%s: %s", w->tiles_tmp, strerror(errno));
        goto done;
    }
    if ((f = fopen(w->tmp, "wb")) == NULL || fwrite(head, 1, sizeof head, f) != sizeof head ||
        fwrite(root.p, 1, root.len, f) != root.len || fwrite(meta.p, 1, meta.len, f) != meta.len ||
        (leaves.len > 0 && fwrite(leaves.p, 1, leaves.len, f) != leaves.len)) {
        st = pdbt__fail(ctx, PDB_EIO, "%s: %s", w->tmp, strerror(errno));
        goto done;
    }
    /* The tile data after the directories, now that their size is known. */
    enum { CHUNK = 1 << 20 };
    if ((copy = malloc(CHUNK)) == NULL) {
        st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory");
        goto done;
    }
    uint64_t left = w->data_len;
    while (left > 0) {
        size_t n = left < CHUNK ? (size_t)left : CHUNK;
        if (fread(copy, 1, n, w->tiles) != n) {
            st = pdbt__fail(ctx, PDB_EIO, "%s: short read", w->tiles_tmp);
            goto done;
        }
        if (fwrite(copy, 1, n, f) != n) {
            st = pdbt__fail(ctx, PDB_EIO, "%s: %s", w->tmp, strerror(errno));
            goto done;
        }
        left -= n;
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        st = pdbt__fail(ctx, PDB_EIO, "%s: %s", w->tmp, strerror(errno));
        goto done;
    }
    int rc = fclose(f);
    f = NULL;
    if (rc != 0 || rename(w->tmp, w->path) != 0) {
        st = pdbt__fail(ctx, PDB_EIO, "%s: %s", w->path, strerror(errno));
        goto done;
    }
    st = PDB_OK;
done:
    if (f != NULL)
        fclose(f);
    free(copy);
    free(root.p);
    free(leaves.p);
    free(meta.p);
    return st;
}

void pdbt_pmtiles_writer_free(pdbt_pmtiles_writer *w)
{
    if (w == NULL)
        return;
    if (w->tiles != NULL)
        fclose(w->tiles);
    if (w->tiles_tmp != NULL)
        unlink(w->tiles_tmp);
    if (w->tmp != NULL)
        unlink(w->tmp); /* after a finish it is already renamed: nothing to remove */
    free(w->path);
    free(w->tmp);
    free(w->tiles_tmp);
    free(w->e);
    free(w->set);
    free(w->cmp);
    free(w);
}

/* ------------------------------------------------------------------------ */
/* Reader                                                                    */
/* ------------------------------------------------------------------------ */

struct pdbt_pmtiles {
    uint64_t serial;           /* unique to this reader in the process (the leaf cache's key) */
    const unsigned char *data; /* the archive (borrowed) */
    size_t len;                /* its bytes */
    pdbt_pmtiles_header h;     /* its header */
    entry *root;               /* the root directory */
    size_t nroot;              /* its entries */
    char *metadata;            /* the metadata's JSON, NUL-terminated */
};

/* Decodes the directory at [off, off + n) of the archive. */
static int read_dir(const pdbt_pmtiles *p, uint64_t off, uint64_t n, entry **e, size_t *ne)
{
    unsigned char *raw = NULL;
    size_t rawlen;
    if (off > p->len || n > p->len - off || n == 0)
        return -1;
    if (p->h.internal_compression == PDBT_PMTILES_COMPRESSION_NONE)
        return decode_dir(p->data + off, (size_t)n, e, ne);
    if (gunzip_bytes(p->data + off, (size_t)n, &raw, &rawlen) != 0)
        return -1;
    int rc = decode_dir(raw, rawlen, e, ne);
    free(raw);
    return rc;
}

static int section_ok(const pdbt_pmtiles *p, uint64_t off, uint64_t n)
{
    return off <= p->len && n <= p->len - off;
}

pdb_status pdbt_pmtiles_open(pdbt_ctx *ctx, const void *data, size_t len, pdbt_pmtiles **out)
{
    const unsigned char *b = data;
    *out = NULL;
    pdbt__ok(ctx);
    if (len < PDBT_PMTILES_HEADER_BYTES || memcmp(b, "PMTiles", 7) != 0)
        return pdbt__fail(ctx, PDB_EINVAL, "not a PMTiles archive (no 'PMTiles' magic)");
    if (b[7] != 3)
        return pdbt__fail(ctx, PDB_EINVAL, "PMTiles version %d: only version 3 is read", b[7]);
    pdbt_pmtiles *p = calloc(1, sizeof *p);
    if (p == NULL)
        return pdbt__fail(ctx, PDB_ENOMEM, "out of memory");
    static atomic_uint_fast64_t serials;
    p->serial = atomic_fetch_add(&serials, 1) + 1;
    p->data = b;
    p->len = len;
    pdbt_pmtiles_header *h = &p->h;
    h->root_offset = get_u64(b + 8);
    h->root_length = get_u64(b + 16);
    h->metadata_offset = get_u64(b + 24);
    h->metadata_length = get_u64(b + 32);
    h->leaves_offset = get_u64(b + 40);
    h->leaves_length = get_u64(b + 48);
    h->data_offset = get_u64(b + 56);
    h->data_length = get_u64(b + 64);
    h->addressed_tiles = get_u64(b + 72);
    h->tile_entries = get_u64(b + 80);
    h->tile_contents = get_u64(b + 88);
    h->clustered = b[96];
    h->internal_compression = b[97];
    h->tile_compression = b[98];
    h->tile_type = b[99];
    h->min_zoom = b[100];
    h->max_zoom = b[101];
    h->bounds[0] = get_deg(b + 102);
    h->bounds[1] = get_deg(b + 106);
    h->bounds[2] = get_deg(b + 110);
    h->bounds[3] = get_deg(b + 114);
    h->center_zoom = b[118];
    h->center[0] = get_deg(b + 119);
    h->center[1] = get_deg(b + 123);

    const char *why = NULL;
    if (h->internal_compression != PDBT_PMTILES_COMPRESSION_NONE &&
        h->internal_compression != PDBT_PMTILES_COMPRESSION_GZIP)
        why = "its internal compression is neither none nor gzip";
    else if (!section_ok(p, h->root_offset, h->root_length) ||
             !section_ok(p, h->metadata_offset, h->metadata_length) ||
             !section_ok(p, h->leaves_offset, h->leaves_length) ||
             !section_ok(p, h->data_offset, h->data_length))
        why = "a section runs past the end of the file (a truncated archive?)";
    else if (h->root_offset + h->root_length > PDBT_PMTILES_ROOT_MAX)
        why = "its root directory is not in the first 16384 bytes";
    else if (h->max_zoom < h->min_zoom)
        why = "its max zoom is below its min zoom";
    else if (read_dir(p, h->root_offset, h->root_length, &p->root, &p->nroot) != 0)
        why = "its root directory does not decode";
    if (why == NULL) {
        size_t mlen = 0;
        const unsigned char *m = b + h->metadata_offset;
        if (h->internal_compression == PDBT_PMTILES_COMPRESSION_GZIP && h->metadata_length > 0) {
            if (gunzip_bytes(m, (size_t)h->metadata_length, (unsigned char **)&p->metadata,
                             &mlen) != 0)
                why = "its metadata does not inflate";
        } else if ((p->metadata = malloc((size_t)h->metadata_length + 1)) != NULL) {
            memcpy(p->metadata, m, (size_t)h->metadata_length);
            p->metadata[h->metadata_length] = '\0';
        } else {
            why = "out of memory";
        }
    }
    if (why != NULL) {
        pdbt_pmtiles_free(p);
        return pdbt__fail(ctx, PDB_EINVAL, "not a usable PMTiles archive: %s", why);
    }
    *out = p;
    return PDB_OK;
}

void pdbt_pmtiles_free(pdbt_pmtiles *p)
{
    if (p == NULL)
        return;
    free(p->root);
    free(p->metadata);
    free(p);
}

const pdbt_pmtiles_header *pdbt_pmtiles_get_header(const pdbt_pmtiles *p)
{
    return &p->h;
}

const char *pdbt_pmtiles_metadata(const pdbt_pmtiles *p)
{
    return p->metadata ? p->metadata : "{}";
}

/* The entry of e[0 .. n) with the greatest tile id <= id, or NULL. */
static const entry *find_entry(const entry *e, size_t n, uint64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e[mid].tile_id <= id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 ? &e[lo - 1] : NULL;
}

/* The last leaf directory a thread decoded: neighbouring tiles (a map's
 * view, a reader listing the archive) share their leaf, and inflating one
 * costs far more than finding a tile in it. Keyed by the reader's serial,
 * so that a reader freed and another made at the same address never see
 * each other's leaves; freed when its thread exits. */
typedef struct leaf_cache {
    uint64_t serial; /* the reader's, 0 for none */
    uint64_t offset; /* the leaf's offset in the leaf directories */
    entry *e;        /* its entries */
    size_t n;        /* their number */
} leaf_cache;

static pthread_key_t leaf_key;
static pthread_once_t leaf_once = PTHREAD_ONCE_INIT;
static int leaf_key_ok;

static void leaf_cache_free(void *v)
{
    leaf_cache *c = v;
    free(c->e);
    free(c);
}

static void leaf_key_make(void)
{
    leaf_key_ok = pthread_key_create(&leaf_key, leaf_cache_free) == 0;
}

/* The leaf directory at offset (length bytes): from the thread's cache, or
 * decoded into it; *owned is set when it could not be cached and the
 * caller frees it. -1 when it does not decode. */
static int leaf_at(const pdbt_pmtiles *p, uint64_t offset, uint64_t length, const entry **e,
                   size_t *n, entry **owned)
{
    pthread_once(&leaf_once, leaf_key_make);
    leaf_cache *c = leaf_key_ok ? pthread_getspecific(leaf_key) : NULL;
    if (c == NULL && leaf_key_ok && (c = calloc(1, sizeof *c)) != NULL &&
        pthread_setspecific(leaf_key, c) != 0) {
        free(c);
        c = NULL;
    }
    if (c != NULL && c->serial == p->serial && c->offset == offset) {
        *e = c->e;
        *n = c->n;
        return 0;
    }
    entry *next = NULL;
    size_t nn = 0;
    if (offset > p->h.leaves_length || length > p->h.leaves_length - offset ||
        read_dir(p, p->h.leaves_offset + offset, length, &next, &nn) != 0)
        return -1;
    if (c == NULL) {
        *owned = next;
    } else {
        free(c->e);
        c->e = next;
        c->n = nn;
        c->serial = p->serial;
        c->offset = offset;
    }
    *e = next;
    *n = nn;
    return 0;
}

pdb_status pdbt_pmtiles_get(pdbt_ctx *ctx, const pdbt_pmtiles *p, int z, uint32_t x, uint32_t y,
                            const unsigned char **data, size_t *len)
{
    if (ctx != NULL)
        pdbt__ok(ctx);
    if (z < 0 || z > PDBT_PMTILES_MAX_ZOOM || (x >> z) != 0 || (y >> z) != 0)
        return ctx ? pdbt__fail(ctx, PDB_ENOTFOUND, "no tile %d/%u/%u", z, x, y) : PDB_ENOTFOUND;
    uint64_t id = pdbt_pmtiles_tile_id(z, x, y);
    const entry *dir = p->root;
    size_t n = p->nroot;
    entry *owned = NULL; /* a leaf the thread's cache could not keep */
    pdb_status st = PDB_ENOTFOUND;
    for (int depth = 0; depth <= MAX_LEAF_DEPTH; depth++) {
        const entry *e = find_entry(dir, n, id);
        if (e == NULL)
            break;
        if (e->run > 0) {
            if (id - e->tile_id < e->run) {
                if (e->offset > p->h.data_length || e->length > p->h.data_length - e->offset) {
                    st = PDB_EINVAL;
                    break;
                }
                *data = p->data + p->h.data_offset + e->offset;
                *len = e->length;
                st = PDB_OK;
            }
            break;
        }
        entry *prev = owned;
        owned = NULL;
        int rc = leaf_at(p, e->offset, e->length, &dir, &n, &owned);
        free(prev); /* e pointed into it: read above */
        if (rc != 0) {
            st = PDB_EINVAL;
            break;
        }
    }
    free(owned);
    if (ctx != NULL && st == PDB_ENOTFOUND)
        return pdbt__fail(ctx, st, "no tile %d/%u/%u in the archive", z, x, y);
    if (ctx != NULL && st == PDB_EINVAL)
        return pdbt__fail(ctx, st, "a damaged directory on the way to tile %d/%u/%u", z, x, y);
    return st;
}
