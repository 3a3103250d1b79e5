/*
 * mvt.c: Mapbox Vector Tile 2.1 encoding (vector_tile.proto, spec 2.1).
 *
 * The protobuf framing is written by hand: a tile is three nested message
 * types (Tile > Layer > Feature, plus Value) using four wire features
 * (varints, zigzag, length-delimited fields, packed uint32 arrays, and one
 * fixed64 for doubles), fixed since 2016. protobuf-c would add a
 * generated file, a build step and a dependency for those thirty lines,
 * and its message structs would be one more copy of every feature.
 *
 * Each nested message is written after its body, into its own buffer,
 * so that its length prefix is known: features into the layer's feature
 * buffer, layers into the tile.
 */
#include "mvt.h"
#include "pbuf.h"

#include <stdlib.h>
#include <string.h>

/* The framing's helpers (pbuf.h), by this file's short names. */
typedef pdbt_pbuf buf;
#define buf_reserve pdbt_pbuf_reserve
#define put_bytes pdbt_pbuf_bytes
#define varint_size pdbt_varint_size
#define put_varint pdbt_pbuf_varint
#define put_len_field pdbt_pbuf_len_field
#define WT_VARINT PDBT_WT_VARINT
#define WT_FIXED64 PDBT_WT_FIXED64
#define WT_LEN PDBT_WT_LEN
#define TAG PDBT_TAG

static uint32_t zigzag(int32_t v)
{
    return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}

/* Geometry commands (spec 4.3.1): id in the low 3 bits, count above. */
#define CMD_MOVE_TO 1
#define CMD_LINE_TO 2
#define CMD_CLOSE_PATH 7
#define CMD(id, count) (((uint32_t)(count) << 3) | (id))

/* Calls emit for every uint32 of a feature's geometry, in order, to size
 * the packed field (pdbt__mvt_feature_bound); write_geometry writes the
 * same values. */
typedef struct geom_sink {
    size_t size; /* bytes so far */
} geom_sink;

static void emit(geom_sink *s, uint32_t v)
{
    s->size += varint_size(v);
}

static void walk_geometry(const pdbt_mvt_feature *f, geom_sink *s)
{
    int32_t cx = 0, cy = 0; /* the cursor: deltas are from the last point */
    const int32_t *p = f->xy;
    for (size_t r = 0; r < f->nrings; r++) {
        uint32_t n = f->ring_n[r];
        if (f->type == PDBT_MVT_POINT) {
            emit(s, CMD(CMD_MOVE_TO, n));
            for (uint32_t i = 0; i < n; i++, p += 2) {
                emit(s, zigzag(p[0] - cx));
                emit(s, zigzag(p[1] - cy));
                cx = p[0];
                cy = p[1];
            }
            continue;
        }
        for (uint32_t i = 0; i < n; i++, p += 2) {
            if (i == 0)
                emit(s, CMD(CMD_MOVE_TO, 1));
            else if (i == 1)
                emit(s, CMD(CMD_LINE_TO, n - 1));
            emit(s, zigzag(p[0] - cx));
            emit(s, zigzag(p[1] - cy));
            cx = p[0];
            cy = p[1];
        }
        emit(s, CMD(CMD_CLOSE_PATH, 1));
    }
}

/* Writes a varint at q; returns the byte after it. */
static inline unsigned char *varint_at(unsigned char *q, uint64_t v)
{
    while (v >= 0x80) {
        *q++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *q++ = (unsigned char)v;
    return q;
}

/* walk_geometry's bytes into b, room made once per ring instead of a
 * capacity test per varint (those tests were 2% of a z16 tile). */
static void write_geometry(const pdbt_mvt_feature *f, buf *b)
{
    int32_t cx = 0, cy = 0;
    const int32_t *p = f->xy;
    for (size_t r = 0; r < f->nrings; r++) {
        uint32_t n = f->ring_n[r];
        buf_reserve(b, 5 * (2 * (size_t)n + 3)); /* a uint32 varint is 5 bytes at most */
        if (b->oom)
            return;
        unsigned char *q = b->p + b->n;
        for (uint32_t i = 0; i < n; i++, p += 2) {
            if (f->type == PDBT_MVT_POINT) {
                if (i == 0)
                    q = varint_at(q, CMD(CMD_MOVE_TO, n));
            } else if (i == 0) {
                q = varint_at(q, CMD(CMD_MOVE_TO, 1));
            } else if (i == 1) {
                q = varint_at(q, CMD(CMD_LINE_TO, n - 1));
            }
            q = varint_at(q, zigzag(p[0] - cx));
            q = varint_at(q, zigzag(p[1] - cy));
            cx = p[0];
            cy = p[1];
        }
        if (f->type != PDBT_MVT_POINT)
            q = varint_at(q, CMD(CMD_CLOSE_PATH, 1));
        b->n = (size_t)(q - b->p);
    }
}

/* A Value message's body size and bytes. */
static size_t value_body_size(const pdbt_mvt_prop *v)
{
    switch (v->type) {
    case PDBT_MVT_STRING: {
        size_t n = strlen(v->s);
        return 1 + varint_size(n) + n;
    }
    case PDBT_MVT_UINT:
        return 1 + varint_size(v->u);
    case PDBT_MVT_DOUBLE:
        return 1 + 8;
    }
    return 0;
}

static void put_value(buf *b, const pdbt_mvt_prop *v)
{
    put_varint(b, TAG(4, WT_LEN)); /* Layer.values */
    put_varint(b, value_body_size(v));
    switch (v->type) {
    case PDBT_MVT_STRING: {
        size_t n = strlen(v->s);
        put_varint(b, TAG(1, WT_LEN));
        put_varint(b, n);
        put_bytes(b, v->s, n);
        break;
    }
    case PDBT_MVT_UINT:
        put_varint(b, TAG(5, WT_VARINT));
        put_varint(b, v->u);
        break;
    case PDBT_MVT_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &v->d, 8);
        unsigned char le[8];
        for (int i = 0; i < 8; i++)
            le[i] = (unsigned char)(bits >> (8 * i));
        put_varint(b, TAG(3, WT_FIXED64));
        put_bytes(b, le, 8);
        break;
    }
    }
}

size_t pdbt__mvt_feature_bound(const pdbt_mvt_feature *f)
{
    geom_sink s = {0};
    walk_geometry(f, &s);
    size_t n = 2 + varint_size(s.size) + s.size + 2 + varint_size(f->id) + 2;
    size_t tags = 0;
    for (size_t i = 0; i < f->nprops; i++) {
        tags += 2 * 5;
        n += 2 + value_body_size(&f->props[i]) + 1;
    }
    return n + 2 + varint_size(tags) + tags + 8; /* the feature's own length prefix */
}

/* The per-layer tables: keys by linear search (a handful), values through
 * an open-addressing hash of indices into vals. */
typedef struct table {
    const char **keys;          /* distinct keys in order of first use */
    size_t nkeys, capkeys;      /* used and allocated */
    const pdbt_mvt_prop **vals; /* distinct values in order of first use */
    size_t nvals, capvals;      /* used and allocated */
    uint32_t *slots;            /* index + 1 into vals, 0 for empty */
    size_t nslots;              /* a power of two, over twice the layer's properties */
} table;

/* A number's 64 bits mixed (the finaliser of MurmurHash3): ids and
 * areas, nearly all distinct, hashed in a few operations instead of FNV's
 * eight rounds (2% of a z16 tile). */
static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

static uint64_t value_hash(const pdbt_mvt_prop *v)
{
    if (v->type == PDBT_MVT_UINT)
        return mix64(v->u ^ 0x9e3779b97f4a7c15ull);
    if (v->type == PDBT_MVT_DOUBLE) {
        uint64_t bits;
        memcpy(&bits, &v->d, sizeof bits);
        return mix64(bits);
    }
    uint64_t h = 1469598103934665603ull; /* strings: FNV-1a */
    for (const unsigned char *p = (const unsigned char *)v->s; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

static int value_eq(const pdbt_mvt_prop *a, const pdbt_mvt_prop *b)
{
    if (a->type != b->type)
        return 0;
    if (a->type == PDBT_MVT_STRING)
        return a->s == b->s || strcmp(a->s, b->s) == 0;
    if (a->type == PDBT_MVT_UINT)
        return a->u == b->u;
    return memcmp(&a->d, &b->d, sizeof a->d) == 0;
}

/* The index of a key, added when new; -1 when out of memory. guess: where
 * it likely is (a layer's features give their keys in one order, so the
 * k-th property's key is nearly always the k-th key). */
static long key_index(table *t, const char *key, size_t guess)
{
    if (guess < t->nkeys && t->keys[guess] == key)
        return (long)guess;
    /* Keys are nearly always the same literals: the pointer first (the
     * strcmp of every key of every feature was 4% of a z16 tile). */
    for (size_t i = 0; i < t->nkeys; i++)
        if (t->keys[i] == key)
            return (long)i;
    for (size_t i = 0; i < t->nkeys; i++)
        if (strcmp(t->keys[i], key) == 0)
            return (long)i;
    if (pdbt__grow((void **)&t->keys, &t->capkeys, t->nkeys + 1, sizeof *t->keys) != 0)
        return -1;
    t->keys[t->nkeys] = key;
    return (long)t->nkeys++;
}

/* The index of a value, added when new. encode_layer sized vals and
 * slots for every property of the layer, so neither fills up here. */
static long value_index(table *t, const pdbt_mvt_prop *v)
{
    size_t j = value_hash(v) & (t->nslots - 1);
    while (t->slots[j] != 0) {
        if (value_eq(t->vals[t->slots[j] - 1], v))
            return (long)t->slots[j] - 1;
        j = (j + 1) & (t->nslots - 1);
    }
    t->vals[t->nvals] = v;
    t->slots[j] = (uint32_t)(t->nvals + 1);
    return (long)t->nvals++;
}

#define MEMO_PROPS 8 /* property positions encode_layer remembers a value of */

/* Writes one layer's message body into out. */
static pdb_status encode_layer(pdbt_ctx *ctx, const pdbt_mvt_layer *l, table *t, buf *out)
{
    buf tags = {0}, geom = {0};
    pdb_status st = PDB_OK;

    t->nkeys = t->nvals = 0;
    /* Room for every property as a distinct value, made once: growing the
     * table value by value (and rehashing every string at each doubling)
     * was 3% of a z16 tile. */
    size_t most = 0;
    for (size_t i = 0; i < l->nfeats; i++)
        most += l->feats[i].nprops;
    size_t nslots = 256;
    while (nslots < 2 * (most + 1))
        nslots *= 2;
    if (pdbt__grow((void **)&t->vals, &t->capvals, most + 1, sizeof *t->vals) != 0) {
        st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory encoding a vector tile");
        goto done;
    }
    if (nslots > t->nslots) {
        free(t->slots);
        t->nslots = 0;
        if ((t->slots = malloc(nslots * sizeof *t->slots)) == NULL) {
            st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory encoding a vector tile");
            goto done;
        }
        t->nslots = nslots;
    }
    memset(t->slots, 0, t->nslots * sizeof *t->slots);

    /* Per property position, the last string value's pointer and index:
     * the renderer gives repeated strings (a commune, a sheet, a land use
     * of neighbouring parcels) as one pointer, found here without a hash. */
    struct {
        const char *s;
        long vi;
    } last[MEMO_PROPS] = {{0}};
    put_len_field(out, 1, l->name, strlen(l->name)); /* Layer.name */
    for (size_t i = 0; i < l->nfeats; i++) {
        const pdbt_mvt_feature *f = &l->feats[i];
        for (size_t r = 0; r < f->nrings; r++)
            if (f->type == PDBT_MVT_POLYGON ? f->ring_n[r] < 3 : f->ring_n[r] < 1) {
                st = pdbt__fail(ctx, PDB_EINVAL, "layer %s: feature %zu has a ring of %u points",
                                l->name, i, f->ring_n[r]);
                goto done;
            }
        if (f->nrings == 0)
            continue; /* nothing of it is left in the tile */
        /* The tags, then the geometry, each written unchecked after one
         * reservation (a capacity test per varint was 3% of a z16 tile);
         * then the feature straight into the layer, its length known. */
        tags.n = 0;
        buf_reserve(&tags, 20 * f->nprops); /* two varints of at most 10 bytes a property */
        if (tags.oom) {
            st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory encoding a vector tile");
            goto done;
        }
        unsigned char *q = tags.p;
        for (size_t k = 0; k < f->nprops; k++) {
            const pdbt_mvt_prop *v = &f->props[k];
            long ki = key_index(t, v->key, k), vi;
            if (k < MEMO_PROPS && v->type == PDBT_MVT_STRING && v->s == last[k].s)
                vi = last[k].vi;
            else
                vi = value_index(t, v);
            if (k < MEMO_PROPS && v->type == PDBT_MVT_STRING) {
                last[k].s = v->s;
                last[k].vi = vi;
            }
            if (ki < 0) {
                st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory encoding a vector tile");
                goto done;
            }
            q = varint_at(q, (uint64_t)ki);
            q = varint_at(q, (uint64_t)vi);
        }
        tags.n = (size_t)(q - tags.p);
        geom.n = 0;
        write_geometry(f, &geom); /* once: its length is known when written */
        if (geom.oom) {
            st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory encoding a vector tile");
            goto done;
        }
        size_t flen = (f->has_id ? 1 + varint_size(f->id) : 0) +
                      (tags.n > 0 ? 1 + varint_size(tags.n) + tags.n : 0) + 1 +
                      varint_size((uint64_t)f->type) + 1 + varint_size(geom.n) + geom.n;
        buf_reserve(out, 1 + 10 + flen);
        if (out->oom) {
            st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory encoding a vector tile");
            goto done;
        }
        q = out->p + out->n;
        *q++ = TAG(2, WT_LEN); /* Layer.features */
        q = varint_at(q, flen);
        if (f->has_id) {
            *q++ = TAG(1, WT_VARINT);
            q = varint_at(q, f->id);
        }
        if (tags.n > 0) {
            *q++ = TAG(2, WT_LEN);
            q = varint_at(q, tags.n);
            memcpy(q, tags.p, tags.n);
            q += tags.n;
        }
        *q++ = TAG(3, WT_VARINT);
        q = varint_at(q, (uint64_t)f->type);
        *q++ = TAG(4, WT_LEN);
        q = varint_at(q, geom.n);
        memcpy(q, geom.p, geom.n);
        q += geom.n;
        out->n = (size_t)(q - out->p);
    }
    for (size_t k = 0; k < t->nkeys; k++)
        put_len_field(out, 3, t->keys[k], strlen(t->keys[k])); /* Layer.keys */
    for (size_t v = 0; v < t->nvals; v++)
        put_value(out, t->vals[v]);
    put_varint(out, TAG(5, WT_VARINT)); /* Layer.extent */
    put_varint(out, l->extent);
    put_varint(out, TAG(15, WT_VARINT)); /* Layer.version */
    put_varint(out, 2);
    if (tags.oom || geom.oom || out->oom)
        st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory encoding a vector tile");
done:
    free(tags.p);
    free(geom.p);
    return st;
}

pdb_status pdbt__mvt_encode(pdbt_ctx *ctx, const pdbt_mvt_layer *layers, size_t nlayers,
                            unsigned char **out, size_t *len)
{
    buf tile = {0}, layer = {0};
    table t = {0};
    pdb_status st = PDB_OK;

    *out = NULL;
    *len = 0;
    for (size_t i = 0; i < nlayers; i++) {
        size_t kept = 0;
        for (size_t j = 0; j < layers[i].nfeats; j++)
            kept += layers[i].feats[j].nrings > 0;
        if (kept == 0)
            continue;
        layer.n = 0;
        if ((st = encode_layer(ctx, &layers[i], &t, &layer)) != PDB_OK)
            goto done;
        put_len_field(&tile, 3, layer.p, layer.n); /* Tile.layers */
    }
    buf_reserve(&tile, 1); /* a non-NULL result for an empty tile */
    if (tile.oom) {
        st = pdbt__fail(ctx, PDB_ENOMEM, "out of memory encoding a vector tile");
        goto done;
    }
    *out = tile.p;
    *len = tile.n;
    tile.p = NULL;
done:
    free(tile.p);
    free(layer.p);
    free(t.keys);
    free(t.vals);
    free(t.slots);
    return st;
}

/* Twice the signed area of a ring (the surveyor's formula), exactly. */
static int64_t ring_area2(const int32_t *p, uint32_t n)
{
    int64_t s = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = i + 1 == n ? 0 : i + 1;
        s += (int64_t)p[2 * i] * p[2 * j + 1] - (int64_t)p[2 * j] * p[2 * i + 1];
    }
    return s;
}

size_t pdbt__mvt_clean_polygon(int32_t *xy, uint32_t *ring_n, uint8_t *exterior, size_t *nrings)
{
    size_t in = 0, out = 0, kept_rings = 0;
    int exterior_kept = 0;
    for (size_t r = 0; r < *nrings; r++) {
        uint32_t n = ring_n[r];
        size_t start = out;
        for (uint32_t i = 0; i < n; i++) {
            int32_t x = xy[2 * (in + i)], y = xy[2 * (in + i) + 1];
            if (out > start && xy[2 * (out - 1)] == x && xy[2 * (out - 1) + 1] == y)
                continue;
            xy[2 * out] = x;
            xy[2 * out + 1] = y;
            out++;
        }
        in += n;
        /* The closing point (or any run back to the first). */
        while (out - start > 1 && xy[2 * (out - 1)] == xy[2 * start] &&
               xy[2 * (out - 1) + 1] == xy[2 * start + 1])
            out--;
        uint32_t m = (uint32_t)(out - start);
        int64_t a2 = m >= 3 ? ring_area2(xy + 2 * start, m) : 0;
        int is_ext = exterior[r];
        if (is_ext)
            exterior_kept = a2 != 0;
        if (a2 == 0 || (!is_ext && !exterior_kept)) {
            out = start;
            continue;
        }
        if ((is_ext && a2 < 0) || (!is_ext && a2 > 0))
            for (size_t i = start, j = out - 1; i < j; i++, j--) {
                int32_t tx = xy[2 * i], ty = xy[2 * i + 1];
                xy[2 * i] = xy[2 * j];
                xy[2 * i + 1] = xy[2 * j + 1];
                xy[2 * j] = tx;
                xy[2 * j + 1] = ty;
            }
        ring_n[kept_rings] = m;
        exterior[kept_rings] = (uint8_t)is_ext;
        kept_rings++;
    }
    *nrings = kept_rings;
    return out;
}
