/*
 * lookup.c: the point-lookup index (see lookup.h for the why).
 *
 * A commune's BLOB, little-endian, as pack_commune writes it:
 *   header   magic "PDBLKP4\0", u32 count, u32 records_bytes, u64 geom_bytes,
 *            u64 text_bytes
 *   entries  count x lookup_entry, in Hilbert order of their box centres
 *   geoms    the parcels' WGS 84 SpatiaLite BLOBs, as the SQLite store keeps
 *            them in parcels.geom (the PostgreSQL store's io makes the same
 *            BLOBs from its geometries)
 *   texts    per parcel, at its entry's text_off: "sheet\0parcel\0"
 *   records  per parcel, at its entry's rec_off: its public fields, a
 *            lookup_record (unaligned), then former_commune, landuse,
 *            address, valid_from, prev_sheet, prev_parcel, record_start and
 *            record_end, each a byte 0 for NULL or 1 followed by the text
 *            and its NUL
 * The public fields let a lookup that asks for neither the owner nor the
 * source geometry answer from memory, without a read of the store per
 * parcel (a network round trip on PostgreSQL, and an answer while it is
 * down: issue 17). They come last because a batch never uses them: it
 * reads only the BLOB's prefix before them (pdb__lookup_blob_prefix), and
 * SQLite reads a prefix's overflow pages only, where an offset inside the
 * BLOB costs every page before it. Version 1 ("PDBLKP1", without them),
 * version 2 ("PDBLKP2", never released: the records inside the texts) and
 * version 3 ("PDBLKP3", without the national attributes' four) are stale: like a damaged BLOB, they
 * are rebuilt from the parcels when loaded, and rewritten at a read-write open. Loading checks
 * every offset and length against the BLOB before any use, so that a damaged BLOB is rebuilt from
 * the parcels, never trusted.
 */
#include "lookup.h"

#include "ptree.h"
#include "read_args.h"
#include "wkb.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the lookup BLOB is written in host order, which must be little-endian"
#endif

#define LOOKUP_MAGIC "PDBLKP4"

typedef struct lookup_header {
    char magic[8];          /* LOOKUP_MAGIC and its NUL */
    uint32_t count;         /* entries */
    uint32_t records_bytes; /* size of the records section, the last */
    uint64_t geom_bytes;    /* size of the geometry section */
    uint64_t text_bytes;    /* size of the text section */
} lookup_header;

typedef struct lookup_entry {
    int64_t id;        /* parcel id */
    double box[4];     /* min lon, min lat, max lon, max lat: the BLOB's MBR */
    uint32_t geom_off; /* offset of its BLOB in the geometry section */
    uint32_t geom_len; /* bytes */
    uint32_t text_off; /* offset of "sheet\0parcel\0" in the text section */
    uint32_t rec_off;  /* offset of its public fields in the records section */
} lookup_entry;

/* A parcel's public numbers, at the start of its record. */
typedef struct lookup_record {
    double area_surveyed_m2; /* NAN when absent */
    double area_computed_m2; /* from the source geometry, TM-3 m2 */
    int64_t batch_id;        /* import run that wrote it */
    int32_t source_srid;     /* EPSG code of the source geometry */
    uint32_t flags;          /* PDB_PARCEL_* */
} lookup_record;

/* The texts of a record, in this order after it. */
#define RECORD_TEXTS                                                                               \
    8 /* former_commune, landuse, address, valid_from, prev_sheet,                                 \
         prev_parcel, record_start, record_end */

_Static_assert(sizeof(lookup_header) == PDB__LOOKUP_HEAD_BYTES,
               "the header layout is part of the format");
_Static_assert(sizeof(lookup_record) == 32, "the record layout is part of the format");
_Static_assert(sizeof(lookup_entry) == 56, "the entry layout is part of the format");

/* A commune's BLOB, checked, with the tree over its boxes: immutable once
 * made, and shared by every handle of the process that loads the very same
 * bytes (the server's workers), so that N handles cost one copy. */
typedef struct commune_data {
    size_t refs;                 /* handles using it; under registry_lock */
    struct commune_data *next;   /* the registry's list; under registry_lock */
    int registered;              /* in the registry; else one batch's, unshared */
    size_t len;                  /* bytes of the BLOB */
    unsigned char *data;         /* the BLOB; entries point into it */
    int owns_data;               /* data is freed with it (else a batch's buffer) */
    double box[4];               /* union of the entries' boxes */
    size_t count;                /* entries */
    const lookup_entry *entries; /* count entries */
    const unsigned char *geoms;  /* geometry section */
    const char *texts;           /* text section */
    const char *records;         /* records section */
    pdb__ptree tree;             /* over the entries' boxes, in their order */
} commune_data;

/* One handle's view of a commune: loaded on the first point in its box. */
typedef struct commune_index {
    char code[8];     /* five-digit commune code */
    int64_t batch_id; /* the import its parcels come from */
    double box[4];    /* from the store before loading; the data's once loaded */
    int from_parcels; /* no usable BLOB: built from the parcels when loaded */
    commune_data *d;  /* NULL until loaded; a reference held */
} commune_index;

struct pdb__lookup {
    const pdb__lookup_io *io; /* the store's reads, as the last sync was given them */
    int64_t data_version;     /* the version the index matches; -1 none yet */
    size_t ncommunes;         /* communes with current parcels */
    commune_index **communes; /* ordered by code */
    /* The communes' boxes in Hilbert order, with a tree over them, so that
     * a point meets only the communes around it. Rebuilt after a sync. */
    pdb__ptree top;
    commune_index **top_order; /* ncommunes, in the tree's order */
    int top_stale;             /* rebuild before the next search */
    /* The texts of the last batch's answers (pdb_parcels_first_at):
     * "commune\0sheet\0parcel\0" each, valid until the next batch. */
    char *answers;
    size_t answers_len, answers_cap;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static commune_data *registry; /* every commune_data in use in the process */

static void data_free(commune_data *d)
{
    if (d == NULL)
        return;
    if (d->owns_data)
        free(d->data);
    pdb__ptree_free(&d->tree);
    free(d);
}

static void data_release(commune_data *d)
{
    if (d == NULL)
        return;
    if (!d->registered) {
        data_free(d);
        return;
    }
    pthread_mutex_lock(&registry_lock);
    int last = --d->refs == 0;
    if (last)
        for (commune_data **p = &registry; *p != NULL; p = &(*p)->next)
            if (*p == d) {
                *p = d->next;
                break;
            }
    pthread_mutex_unlock(&registry_lock);
    if (last)
        data_free(d);
}

/* A registered commune_data holding exactly these bytes, with a reference
 * taken, or NULL. Under registry_lock. */
static commune_data *registry_find(const unsigned char *bytes, size_t len)
{
    for (commune_data *d = registry; d != NULL; d = d->next)
        if (d->len == len && memcmp(d->data, bytes, len) == 0) {
            d->refs++;
            return d;
        }
    return NULL;
}

void pdb_lookup_index_memory(size_t *communes, size_t *bytes)
{
    pdb__lookup_registry_stats(communes, bytes);
}

void pdb__lookup_registry_stats(size_t *communes, size_t *bytes)
{
    *communes = *bytes = 0;
    pthread_mutex_lock(&registry_lock);
    for (const commune_data *d = registry; d != NULL; d = d->next) {
        (*communes)++;
        *bytes += d->len;
    }
    pthread_mutex_unlock(&registry_lock);
}

static void commune_index_free(commune_index *ci)
{
    if (ci == NULL)
        return;
    data_release(ci->d);
    free(ci);
}

void pdb__lookup_free(pdb__lookup *lk)
{
    if (lk == NULL)
        return;
    for (size_t i = 0; i < lk->ncommunes; i++)
        commune_index_free(lk->communes[i]);
    free(lk->communes);
    pdb__ptree_free(&lk->top);
    free(lk->top_order);
    free(lk->answers);
    free(lk);
}

/* ------------------------------------------------------------------------ */
/* Packing a commune's BLOB from its current parcels                         */
/* ------------------------------------------------------------------------ */

typedef struct pack_item {
    uint64_t key;       /* Hilbert position of the box centre */
    lookup_entry entry; /* offsets into the growing sections */
} pack_item;

static int by_key(const void *a, const void *b)
{
    const pack_item *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->entry.id < y->entry.id ? -1 : x->entry.id > y->entry.id;
}

/* A byte buffer that grows. */
typedef struct buf {
    unsigned char *p;
    size_t len, cap;
} buf;

static int buf_add(buf *b, const void *data, size_t n)
{
    if (n == 0)
        return 0; /* an empty buffer's p is NULL: memcpy from NULL is undefined (fuzz_import) */
    if (b->len + n > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < b->len + n)
            ncap *= 2;
        unsigned char *np = realloc(b->p, ncap);
        if (np == NULL)
            return -1;
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

/* The bytes of a parcel's record and its texts. */
static size_t record_size(const pdb_parcel *a)
{
    const char *texts[RECORD_TEXTS] = {a->former_commune, a->landuse,    a->address,
                                       a->valid_from,     a->prev_sheet, a->prev_parcel,
                                       a->record_start,   a->record_end};
    size_t n = sizeof(lookup_record) + RECORD_TEXTS;
    for (int k = 0; k < RECORD_TEXTS; k++)
        n += texts[k] != NULL ? strlen(texts[k]) + 1 : 0;
    return n;
}

/* Appends a parcel's record and its texts (the format at the top). */
static int record_add(buf *b, const pdb_parcel *a)
{
    const char *texts[RECORD_TEXTS] = {a->former_commune, a->landuse,    a->address,
                                       a->valid_from,     a->prev_sheet, a->prev_parcel,
                                       a->record_start,   a->record_end};
    lookup_record rec = {a->area_surveyed_m2, a->area_computed_m2, a->batch_id,
                         (int32_t)a->source_srid, a->flags};
    if (buf_add(b, &rec, sizeof rec) != 0)
        return -1;
    for (int k = 0; k < RECORD_TEXTS; k++) {
        unsigned char present = texts[k] != NULL;
        if (buf_add(b, &present, 1) != 0 ||
            (present && buf_add(b, texts[k], strlen(texts[k]) + 1) != 0))
            return -1;
    }
    return 0;
}

/* Where a record starting at r ends, or NULL when it does not end by end
 * (a damaged BLOB). */
static const char *record_end(const char *r, const char *end)
{
    if ((size_t)(end - r) < sizeof(lookup_record))
        return NULL;
    r += sizeof(lookup_record);
    for (int k = 0; k < RECORD_TEXTS; k++) {
        if (r >= end || (unsigned char)*r > 1)
            return NULL;
        if (*r++ == 0)
            continue;
        const char *nul = memchr(r, '\0', (size_t)(end - r));
        if (nul == NULL)
            return NULL;
        r = nul + 1;
    }
    return r;
}

/* A commune's parcels while they are packed. */
typedef struct pack_state {
    const char *commune; /* for messages */
    pack_item *items;    /* n entries, cap allocated */
    size_t n, cap;
    buf geoms, texts, recs; /* the growing sections */
    double ext[4];          /* union of the boxes */
} pack_state;

/* Adds one parcel row to the packing. */
static pdb_status pack_row(pdb_ctx *ctx, void *arg, const pdb__lookup_row *r)
{
    pack_state *ps = arg;
    pack_item it = {0};
    pdb_status st;

    if ((st = pdb__blob_mbr(ctx, r->geom, r->geom_len, it.entry.box)) != PDB_OK)
        return st;
    const pdb_parcel *a = r->attrs;
    if (r->sheet == NULL || r->parcel == NULL || a == NULL ||
        ps->geoms.len + r->geom_len > UINT32_MAX || ps->texts.len > UINT32_MAX - 256 ||
        ps->recs.len > UINT32_MAX - record_size(a))
        return pdb__fail(ctx, PDB_ECORRUPT, "commune %s: a parcel row cannot be indexed",
                         ps->commune);
    if (ps->n == ps->cap) {
        size_t ncap = ps->cap ? ps->cap * 2 : 1024;
        pack_item *ni = realloc(ps->items, ncap * sizeof *ni);
        if (ni == NULL)
            goto oom;
        ps->items = ni;
        ps->cap = ncap;
    }
    it.entry.id = r->id;
    it.entry.geom_off = (uint32_t)ps->geoms.len;
    it.entry.geom_len = (uint32_t)r->geom_len;
    it.entry.text_off = (uint32_t)ps->texts.len;
    it.entry.rec_off = (uint32_t)ps->recs.len;
    if (buf_add(&ps->geoms, r->geom, r->geom_len) != 0 ||
        buf_add(&ps->texts, r->sheet, strlen(r->sheet) + 1) != 0 ||
        buf_add(&ps->texts, r->parcel, strlen(r->parcel) + 1) != 0 || record_add(&ps->recs, a) != 0)
        goto oom;
    for (int k = 0; k < 2; k++) {
        ps->ext[k] = fmin(ps->ext[k], it.entry.box[k]);
        ps->ext[k + 2] = fmax(ps->ext[k + 2], it.entry.box[k + 2]);
    }
    ps->items[ps->n++] = it;
    return PDB_OK;
oom:
    return pdb__fail(ctx, PDB_ENOMEM, "out of memory building the lookup index of %s", ps->commune);
}

/* Builds the BLOB of a commune from its current parcels, as the store's
 * io reads them, in the caller's transaction. */
static pdb_status pack_commune(pdb_ctx *ctx, pdb_store *s, const pdb__lookup_io *io,
                               const char *commune, unsigned char **out, size_t *out_len,
                               double ext[4])
{
    pack_state ps = {.commune = commune, .ext = {INFINITY, INFINITY, -INFINITY, -INFINITY}};
    buf all = {0};
    pdb_status st;

    *out = NULL;
    *out_len = 0;
    if ((st = io->read_parcels(ctx, s, commune, pack_row, &ps)) != PDB_OK)
        goto done;
    /* Hilbert order keeps neighbours in the same nodes: a point visits few. */
    for (size_t i = 0; i < ps.n; i++)
        ps.items[i].key = pdb__hilbert_box(ps.items[i].entry.box, ps.ext);
    if (ps.n > 1)
        qsort(ps.items, ps.n, sizeof *ps.items, by_key);
    lookup_header h = {LOOKUP_MAGIC, (uint32_t)ps.n, (uint32_t)ps.recs.len, ps.geoms.len,
                       ps.texts.len};
    if (buf_add(&all, &h, sizeof h) != 0)
        goto oom;
    for (size_t i = 0; i < ps.n; i++)
        if (buf_add(&all, &ps.items[i].entry, sizeof ps.items[i].entry) != 0)
            goto oom;
    if (buf_add(&all, ps.geoms.p, ps.geoms.len) != 0 ||
        buf_add(&all, ps.texts.p, ps.texts.len) != 0 || buf_add(&all, ps.recs.p, ps.recs.len) != 0)
        goto oom;
    memcpy(ext, ps.ext, sizeof ps.ext);
    *out = all.p;
    *out_len = all.len;
    all.p = NULL;
    goto done;
oom:
    st = pdb__fail(ctx, PDB_ENOMEM, "out of memory building the lookup index of %s", commune);
done:
    free(ps.items);
    free(ps.geoms.p);
    free(ps.texts.p);
    free(ps.recs.p);
    free(all.p);
    return st;
}

pdb_status pdb__lookup_store_commune(pdb_ctx *ctx, pdb_store *s, const pdb__lookup_io *io,
                                     const char *commune, int64_t batch_id)
{
    unsigned char *blob = NULL;
    size_t len = 0;
    double ext[4];
    pdb_status st;

    if ((st = pack_commune(ctx, s, io, commune, &blob, &len, ext)) != PDB_OK)
        return st;
    size_t count = ((const lookup_header *)blob)->count;
    st = io->write_blob(ctx, s, commune, batch_id, count, count > 0 ? ext : NULL, blob, len);
    free(blob);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Loading: checking a BLOB and building the tree                            */
/* ------------------------------------------------------------------------ */

int pdb__lookup_format_current(const unsigned char *head, size_t len)
{
    return len >= sizeof LOOKUP_MAGIC && memcmp(head, LOOKUP_MAGIC, sizeof LOOKUP_MAGIC) == 0;
}

/* The bytes before the records section that a header announces, or
 * SIZE_MAX when they overflow. */
static size_t prefix_bytes(const lookup_header *h)
{
    size_t end = sizeof *h + (size_t)h->count * sizeof(lookup_entry);
    if (h->geom_bytes > SIZE_MAX / 4 || h->text_bytes > SIZE_MAX / 4)
        return SIZE_MAX;
    return end + h->geom_bytes + h->text_bytes;
}

size_t pdb__lookup_blob_prefix(const unsigned char *head, size_t blob_len)
{
    lookup_header h;
    if (blob_len < sizeof h)
        return blob_len;
    memcpy(&h, head, sizeof h);
    size_t want = prefix_bytes(&h);
    return memcmp(h.magic, LOOKUP_MAGIC, sizeof h.magic) == 0 && want < blob_len ? want : blob_len;
}

/* Whether a header fits a BLOB of len bytes, and where its entries end:
 * the one check of the layout, for the loader and a batch's own search
 * (batch_commune_lean). With prefix, the bytes are the BLOB's prefix
 * before its records, or the whole BLOB (an io that reads whole BLOBs):
 * a batch never reads a record. */
static int header_ok(const lookup_header *h, size_t len, int prefix, size_t *entries_end)
{
    if (memcmp(h->magic, LOOKUP_MAGIC, sizeof h->magic) != 0)
        return 0;
    size_t want = prefix_bytes(h);
    if (want == SIZE_MAX || want > len)
        return 0;
    if (!(prefix && want == len) && want + h->records_bytes != len)
        return 0;
    *entries_end = sizeof *h + (size_t)h->count * sizeof(lookup_entry);
    return 1;
}

/* Whether an entry's offsets fall in its sections and its box is a box. */
static int entry_ok(const lookup_entry *e, const lookup_header *h)
{
    const double *b = e->box;
    return (uint64_t)e->geom_off + e->geom_len <= h->geom_bytes && e->text_off < h->text_bytes &&
           e->rec_off < h->records_bytes && b[0] <= b[2] && b[1] <= b[3] && isfinite(b[0]) &&
           isfinite(b[1]) && isfinite(b[2]) && isfinite(b[3]);
}

/* Whether room bytes at t begin with two NUL-terminated strings (the
 * numbers). */
static int texts_ok(const char *t, size_t room)
{
    const char *nul = memchr(t, '\0', room);
    return nul != NULL && memchr(nul + 1, '\0', room - (size_t)(nul + 1 - t)) != NULL;
}

/* Checks a BLOB and builds the tree over it; takes ownership of data when
 * owned (freed on failure too). NULL, without touching any context, when
 * the BLOB is damaged or memory runs out. */
static commune_data *data_from_blob(unsigned char *data, size_t len, int owned)
{
    commune_data *ci = calloc(1, sizeof *ci);
    lookup_header h;
    size_t entries_end;

    if (ci == NULL || len < sizeof h)
        goto bad;
    memcpy(&h, data, sizeof h);
    if (!header_ok(&h, len, 0, &entries_end))
        goto bad;
    size_t count = h.count;
    ci->refs = 1;
    ci->owns_data = owned;
    ci->len = len;
    ci->count = count;
    ci->data = data;
    ci->entries = (const lookup_entry *)(data + sizeof h); /* malloc'd: aligned */
    ci->geoms = data + entries_end;
    ci->texts = (const char *)(ci->geoms + h.geom_bytes);
    ci->records = ci->texts + h.text_bytes;
    ci->box[0] = ci->box[1] = INFINITY;
    ci->box[2] = ci->box[3] = -INFINITY;
    for (size_t i = 0; i < count; i++) {
        const lookup_entry *e = &ci->entries[i];
        const double *b = e->box;
        if (!entry_ok(e, &h) || !texts_ok(ci->texts + e->text_off, h.text_bytes - e->text_off) ||
            record_end(ci->records + e->rec_off, ci->records + h.records_bytes) == NULL)
            goto bad;
        /* Plain comparisons: fmin and fmax are calls, and this runs for
         * every parcel of the province. */
        if (b[0] < ci->box[0])
            ci->box[0] = b[0];
        if (b[1] < ci->box[1])
            ci->box[1] = b[1];
        if (b[2] > ci->box[2])
            ci->box[2] = b[2];
        if (b[3] > ci->box[3])
            ci->box[3] = b[3];
    }
    if (count > 0 &&
        pdb__ptree_build(&ci->tree, ci->entries[0].box, sizeof(lookup_entry), count) != 0)
        goto bad;
    return ci;
bad:
    if (owned && (ci == NULL || ci->data == NULL))
        free(data);
    data_free(ci);
    return NULL;
}

/* The shared data for these bytes: an existing copy when another handle
 * loaded the same BLOB, else a new one. Takes ownership of bytes. */
static commune_data *data_share(unsigned char *bytes, size_t len)
{
    pthread_mutex_lock(&registry_lock);
    commune_data *d = registry_find(bytes, len);
    pthread_mutex_unlock(&registry_lock);
    if (d != NULL) {
        free(bytes);
        return d;
    }
    /* Checked and built outside the lock: it is the slow part. */
    commune_data *made = data_from_blob(bytes, len, 1);
    if (made == NULL)
        return NULL;
    made->registered = 1;
    pthread_mutex_lock(&registry_lock);
    if ((d = registry_find(made->data, made->len)) == NULL) {
        made->next = registry;
        registry = made;
        d = made;
        made = NULL;
    }
    pthread_mutex_unlock(&registry_lock);
    data_free(made); /* another handle registered the same bytes meanwhile */
    return d;
}

/* Loads a commune's index from its BLOB, or, when the BLOB is missing,
 * stale or damaged, from its parcels; in the caller's read transaction.
 * With a scratch buffer (a batch), the BLOB is read into it and the data
 * is the caller's alone, released before the buffer's next use. */
static pdb_status load_commune(pdb_ctx *ctx, pdb_store *s, commune_index *ci, buf *scratch)
{
    const pdb__lookup_io *io = s->lookup->io;
    unsigned char *copy = NULL;
    size_t len = 0, cap = 0;
    double ext[4];
    pdb_status st;

    if (!ci->from_parcels && scratch != NULL) {
        if ((st = io->read_blob(ctx, s, ci->code, ci->batch_id, 0, &scratch->p, &scratch->cap,
                                &len)) != PDB_OK)
            return st;
        if (len > 0 && (ci->d = data_from_blob(scratch->p, len, 0)) != NULL)
            goto loaded;
    } else if (!ci->from_parcels) {
        /* A buffer of its own, exactly the BLOB's size: it is kept. */
        if ((st = io->read_blob(ctx, s, ci->code, ci->batch_id, 0, &copy, &cap, &len)) != PDB_OK) {
            free(copy);
            return st;
        }
        if (len > 0 && (ci->d = data_share(copy, len)) != NULL)
            goto loaded;
        if (len == 0)
            free(copy);
    }
    if ((st = pack_commune(ctx, s, io, ci->code, &copy, &len, ext)) != PDB_OK)
        return st;
    if ((ci->d = data_share(copy, len)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory building the lookup index of %s",
                         ci->code);
loaded:
    memcpy(ci->box, ci->d->box, sizeof ci->box);
    return PDB_OK;
}

/* A sync's new list of communes, merged with the handle's old one. */
typedef struct sync_state {
    pdb_store *s;
    commune_index **next; /* n communes, cap allocated, ordered by code */
    size_t n, cap;
    size_t old; /* next unmatched commune of the handle's list (ordered by code too) */
} sync_state;

static pdb_status sync_commune(pdb_ctx *ctx, void *arg, const pdb__lookup_commune *c)
{
    sync_state *ss = arg;
    pdb__lookup *lk = ss->s->lookup;
    commune_index *ci = NULL;
    pdb_status st;

    if (c->code == NULL)
        return PDB_OK;
    if (ss->n == ss->cap) {
        size_t ncap = ss->cap ? ss->cap * 2 : 256;
        commune_index **nn = realloc(ss->next, ncap * sizeof *nn);
        if (nn == NULL)
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        ss->next = nn;
        ss->cap = ncap;
    }
    while (ss->old < lk->ncommunes && strcmp(lk->communes[ss->old]->code, c->code) < 0)
        ss->old++;
    if (ss->old < lk->ncommunes && strcmp(lk->communes[ss->old]->code, c->code) == 0 &&
        lk->communes[ss->old]->batch_id == c->batch_id) {
        ci = lk->communes[ss->old]; /* unchanged since the last sync: keep it */
        lk->communes[ss->old++] = NULL;
    } else {
        if ((ci = calloc(1, sizeof *ci)) == NULL)
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        snprintf(ci->code, sizeof ci->code, "%s", c->code);
        ci->batch_id = c->batch_id;
        ci->from_parcels = !c->blob_current;
        memcpy(ci->box, c->box, sizeof ci->box);
        if ((ci->from_parcels || !(ci->box[0] <= ci->box[2] && ci->box[1] <= ci->box[3])) &&
            (st = load_commune(ctx, ss->s, ci, NULL)) != PDB_OK) {
            commune_index_free(ci);
            return st;
        }
    }
    ss->next[ss->n++] = ci;
    return PDB_OK;
}

/* Whether the index can answer a read from memory with no store read:
 * the caller vouched for the data version (pdb_store_trust_version) and
 * the index, loaded through this io, is at it. */
static int index_trusted(const pdb_store *s, const pdb__lookup_io *io)
{
    return s->trusted && s->lookup != NULL && s->lookup->io == io &&
           s->lookup->data_version == s->trusted_version;
}

/* pdb__lookup_sync to a data version already read in the caller's
 * snapshot, or (version < 0) read here. */
static pdb_status sync_to(pdb_ctx *ctx, pdb_store *s, const pdb__lookup_io *io, int64_t version)
{
    pdb__lookup *lk = s->lookup;
    sync_state ss = {s, NULL, 0, 0, 0};
    pdb_status st = PDB_OK;

    if (version < 0 && (st = pdb_store_data_version(ctx, s, &version)) != PDB_OK)
        return st;
    if (lk != NULL && lk->data_version == version && lk->io == io)
        return PDB_OK;
    if (lk == NULL) {
        if ((lk = calloc(1, sizeof *lk)) == NULL)
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        lk->data_version = -1;
        s->lookup = lk;
    }
    lk->io = io;
    /* Each commune's box comes from its BLOB's row, written with the BLOB.
     * Where that row is missing or stale, the commune is built from its
     * parcels at once (sync_commune), so that its box is its parcels' own
     * and the trees never hold a box narrower than the data. */
    if ((st = io->list_communes(ctx, s, sync_commune, &ss)) != PDB_OK)
        goto done;
    for (size_t i = 0; i < lk->ncommunes; i++)
        commune_index_free(lk->communes[i]);
    free(lk->communes);
    lk->communes = ss.next;
    lk->ncommunes = ss.n;
    lk->data_version = version;
    lk->top_stale = 1;
    ss.next = NULL;
    ss.n = 0;
done:
    for (size_t i = 0; i < ss.n; i++)
        commune_index_free(ss.next[i]);
    free(ss.next);
    if (st != PDB_OK) {
        /* Whatever was moved out is gone: start afresh at the next call. */
        pdb__lookup_free(s->lookup);
        s->lookup = NULL;
    }
    return st;
}

pdb_status pdb__lookup_sync(pdb_ctx *ctx, pdb_store *s, const pdb__lookup_io *io)
{
    return sync_to(ctx, s, io, -1);
}

/* ------------------------------------------------------------------------ */
/* Searching                                                                 */
/* ------------------------------------------------------------------------ */

static int box_has(const double *b, double x, double y)
{
    return b[0] <= x && x <= b[2] && b[1] <= y && y <= b[3];
}

typedef struct keyed_commune {
    uint64_t key;
    commune_index *ci;
} keyed_commune;

static int by_commune_key(const void *a, const void *b)
{
    const keyed_commune *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return strcmp(x->ci->code, y->ci->code);
}

/* The tree over the communes' boxes, as they are now. */
static pdb_status build_top(pdb_ctx *ctx, pdb__lookup *lk)
{
    size_t n = lk->ncommunes;
    keyed_commune *keyed = malloc((n ? n : 1) * sizeof *keyed);
    double(*boxes)[4] = malloc((n ? n : 1) * sizeof *boxes);
    commune_index **order = malloc((n ? n : 1) * sizeof *order);
    double ext[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
    pdb_status st = PDB_OK;

    if (keyed == NULL || boxes == NULL || order == NULL)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        const double *b = lk->communes[i]->box;
        if (!(b[0] <= b[2] && b[1] <= b[3]))
            continue; /* empty: never found, wherever it sorts */
        for (int k = 0; k < 2; k++) {
            ext[k] = b[k] < ext[k] ? b[k] : ext[k];
            ext[k + 2] = b[k + 2] > ext[k + 2] ? b[k + 2] : ext[k + 2];
        }
    }
    for (size_t i = 0; i < n; i++)
        keyed[i] = (keyed_commune){pdb__hilbert_box(lk->communes[i]->box, ext), lk->communes[i]};
    if (n > 1)
        qsort(keyed, n, sizeof *keyed, by_commune_key);
    for (size_t i = 0; i < n; i++) {
        order[i] = keyed[i].ci;
        memcpy(boxes[i], keyed[i].ci->box, sizeof boxes[i]);
    }
    pdb__ptree_free(&lk->top);
    if (pdb__ptree_build(&lk->top, boxes, sizeof boxes[0], n) != 0)
        goto oom;
    free(lk->top_order);
    lk->top_order = order;
    order = NULL;
    lk->top_stale = 0;
    goto done;
oom:
    st = pdb__fail(ctx, PDB_ENOMEM, "out of memory building the lookup index");
    lk->top_stale = 1;
done:
    free(keyed);
    free(boxes);
    free(order);
    return st;
}

/* Adds a hit in id order; counts past cap without storing. */
static void add_hit(pdb__lookup_hit *hits, size_t cap, size_t *n, const commune_index *ci,
                    const lookup_entry *e)
{
    size_t i = *n < cap ? *n : cap;
    if (*n >= cap && (cap == 0 || hits[cap - 1].id < e->id)) {
        (*n)++;
        return;
    }
    if (*n >= cap)
        i = cap - 1; /* drop the largest to keep the smallest cap ids */
    while (i > 0 && hits[i - 1].id > e->id) {
        hits[i] = hits[i - 1];
        i--;
    }
    const char *t = ci->d->texts + e->text_off;
    hits[i] = (pdb__lookup_hit){e->id,
                                ci->code,
                                t,
                                t + strlen(t) + 1,
                                ci->d->records + e->rec_off,
                                ci->d->geoms + e->geom_off,
                                e->geom_len};
    (*n)++;
}

/* One point's search through the communes and their parcels. */
typedef struct point_search {
    pdb_ctx *ctx;
    pdb_store *s;
    pdb__lookup *lk;
    double x, y;
    pdb__lookup_hit *hits;
    size_t cap, *n;
    commune_index *ci; /* the commune being searched */
    pdb_status st;     /* a failure stops the search */
    int restart;       /* a damaged BLOB was dropped: search again */
    int loaded_only;   /* meet only communes in memory: no store read */
    int need_load;     /* loaded_only met a commune not in memory */
} point_search;

/* The exact test of one parcel whose box may hold the point. */
static int visit_parcel(void *arg, size_t i)
{
    point_search *ps = arg;
    commune_index *ci = ps->ci;
    const lookup_entry *e = &ci->d->entries[i];
    int inside = 0;
    pdb_status st;

    if (!box_has(e->box, ps->x, ps->y))
        return 0; /* the tree's float box holds it, the exact one does not */
    st =
        pdb__blob_contains(ps->ctx, ci->d->geoms + e->geom_off, e->geom_len, ps->x, ps->y, &inside);
    if (st != PDB_OK && !ci->from_parcels) {
        /* The BLOB passed its checks but holds a damaged geometry: drop
         * it; the search starts over, and the commune is built from its
         * parcels. */
        data_release(ci->d);
        ci->d = NULL;
        ci->from_parcels = 1;
        ps->restart = 1;
        return 1;
    }
    if (st != PDB_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", pdb_errmsg(ps->ctx));
        ps->st = pdb__fail(ps->ctx, PDB_ECORRUPT, "commune %s: parcel %lld: %s", ci->code,
                           (long long)e->id, why);
        return 1;
    }
    if (inside)
        add_hit(ps->hits, ps->cap, ps->n, ci, e);
    return 0;
}

/* The parcels of one commune whose box may hold the point; loads the
 * commune on its first point. */
static int visit_commune(void *arg, size_t i)
{
    point_search *ps = arg;
    commune_index *ci = ps->lk->top_order[i];

    if (!box_has(ci->box, ps->x, ps->y))
        return 0;
    if (ci->d == NULL && ps->loaded_only) {
        ps->need_load = 1;
        return 1;
    }
    if (ci->d == NULL && (ps->st = load_commune(ps->ctx, ps->s, ci, NULL)) != PDB_OK)
        return 1;
    if (ci->d->count == 0 || !box_has(ci->d->box, ps->x, ps->y))
        return 0;
    ps->ci = ci;
    return pdb__ptree_search(&ci->d->tree, ps->x, ps->y, visit_parcel, ps);
}

/* pdb__lookup_at; with loaded_only, a point in a commune not in memory
 * stops the search with *need_load set (and no store read). */
static pdb_status lookup_at(pdb_ctx *ctx, pdb_store *s, double lon, double lat,
                            pdb__lookup_hit *hits, size_t cap, size_t *n, int loaded_only,
                            int *need_load)
{
    pdb__lookup *lk = s->lookup;
    pdb_status st;

    *n = 0;
    if (lk == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "the lookup index is not loaded");
    /* Each pass either completes or drops one damaged BLOB for good. */
    for (;;) {
        point_search ps = {ctx, s, lk, lon, lat, hits, cap, n, NULL, PDB_OK, 0, loaded_only, 0};
        if (lk->top_stale && (st = build_top(ctx, lk)) != PDB_OK)
            return st;
        *n = 0;
        pdb__ptree_search(&lk->top, lon, lat, visit_commune, &ps);
        if (ps.st != PDB_OK)
            return ps.st;
        if (need_load != NULL)
            *need_load = ps.need_load;
        if (!ps.restart)
            return PDB_OK;
    }
}

pdb_status pdb__lookup_at(pdb_ctx *ctx, pdb_store *s, double lon, double lat, pdb__lookup_hit *hits,
                          size_t cap, size_t *n)
{
    return lookup_at(ctx, s, lon, lat, hits, cap, n, 0, NULL);
}

/* ------------------------------------------------------------------------ */
/* Batches: commune by commune                                               */
/* ------------------------------------------------------------------------ */

/* A point of a batch that falls in a commune's box, as collected (in
 * point order). */
typedef struct batch_pair {
    size_t commune; /* index in lk->top_order */
    size_t point;
} batch_pair;

/* The same, sorted by commune, carrying what the commune's search reads,
 * so that it reads it in order rather than all over the batch. */
typedef struct commune_point {
    double x, y;
    size_t pair; /* index in the collected pairs, where its answer goes */
} commune_point;

/* One pair's answer: the lowest id of the commune holding the point, and
 * its texts' offset in the handle's answers. */
typedef struct pair_answer {
    int64_t id;
    size_t text;
} pair_answer;

typedef struct pair_list {
    batch_pair *p;
    size_t n, cap;
    const pdb__lookup *lk;
    double x, y;
    size_t point;
    int oom;
} pair_list;

static int collect_commune(void *arg, size_t i)
{
    pair_list *pl = arg;
    if (!box_has(pl->lk->top_order[i]->box, pl->x, pl->y))
        return 0;
    if (pl->n == pl->cap) {
        size_t ncap = pl->cap ? pl->cap * 2 : 4096;
        batch_pair *np = realloc(pl->p, ncap * sizeof *np);
        if (np == NULL) {
            pl->oom = 1;
            return 1;
        }
        pl->p = np;
        pl->cap = ncap;
    }
    pl->p[pl->n++] = (batch_pair){i, pl->point};
    return 0;
}

/* Appends "commune\0sheet\0parcel\0" to the handle's answer text; its
 * offset, or SIZE_MAX when memory runs out. */
static size_t answer_text(pdb__lookup *lk, const pdb__lookup_hit *h)
{
    size_t lc = strlen(h->commune) + 1, ls = strlen(h->sheet) + 1, lp = strlen(h->parcel) + 1;
    size_t need = lk->answers_len + lc + ls + lp;
    if (need > lk->answers_cap) {
        size_t ncap = lk->answers_cap ? lk->answers_cap : 65536;
        while (ncap < need)
            ncap *= 2;
        char *p = realloc(lk->answers, ncap);
        if (p == NULL)
            return SIZE_MAX;
        lk->answers = p;
        lk->answers_cap = ncap;
    }
    size_t at = lk->answers_len;
    memcpy(lk->answers + at, h->commune, lc);
    memcpy(lk->answers + at + lc, h->sheet, ls);
    memcpy(lk->answers + at + lc + ls, h->parcel, lp);
    lk->answers_len = need;
    return at;
}

/* Answers the points of one commune, loading it when the handle has not,
 * into answers[] by pair. */
static pdb_status batch_commune(pdb_ctx *ctx, pdb_store *s, commune_index *ci,
                                const commune_point *pts, size_t np, buf *scratch,
                                pair_answer *answers)
{
    pdb__lookup *lk = s->lookup;
    pdb_status st;

    for (;;) {
        int restart = 0;
        if (ci->d == NULL && (st = load_commune(ctx, s, ci, scratch)) != PDB_OK)
            return st;
        for (size_t k = 0; k < np && !restart; k++) {
            pdb__lookup_hit hit;
            size_t found = 0;
            point_search ps = {ctx,    s,  lk,     pts[k].x, pts[k].y, &hit, 1,
                               &found, ci, PDB_OK, 0,        0,        0};
            if (ci->d->count > 0 && box_has(ci->d->box, ps.x, ps.y))
                pdb__ptree_search(&ci->d->tree, ps.x, ps.y, visit_parcel, &ps);
            if (ps.st != PDB_OK)
                return ps.st;
            if ((restart = ps.restart) != 0)
                break; /* the data was dropped: load and answer again */
            pair_answer *a = &answers[pts[k].pair];
            a->id = found > 0 ? hit.id : 0;
            if (found > 0 && (a->text = answer_text(lk, &hit)) == SIZE_MAX)
                return pdb__fail(ctx, PDB_ENOMEM, "out of memory collecting the answers");
        }
        if (!restart)
            return PDB_OK;
    }
}

/* ------------------------------------------------------------------------ */
/* Batches: a commune the handle does not hold                               */
/* ------------------------------------------------------------------------ */

/* A batch of 100,000 points over four times the province meets about 700
 * points in a commune of 21,000 parcels: most of its parcels are never
 * searched. The BLOB's prefix before its records is still read whole, in
 * one read into the batch's buffer: SQLite keeps it as a chain of overflow
 * pages and reaches an offset by reading every page before it, so reading
 * only the parts the points need read as many pages, through its page
 * cache, and was no faster (measured at 4x); the records, last, are not
 * read at all. What a sparse batch need not pay is the rest
 * of the loading (40% of a 4x batch's instructions): checking every parcel's
 * texts, and a tree over every box. So the entries are checked, the texts
 * of the answers only, and the tree is over groups of LEAN_GROUP
 * consecutive entries (neighbours: Hilbert order), a sixteenth of a whole
 * tree to build; a point tests a group's entries exactly. */
#define LEAN_GROUP 16

/* What a batch reuses from commune to commune. */
typedef struct lean_state {
    double (*groups)[4]; /* the union box of each group of entries */
    size_t groups_cap;   /* groups allocated */
} lean_state;

/* The search of one point among a commune's groups: the entry of the
 * lowest id whose parcel holds it. */
typedef struct lean_search {
    pdb_ctx *ctx;                /* the caller's, for the exact test */
    const lookup_entry *entries; /* the commune's */
    size_t count;                /* entries */
    const unsigned char *geoms;  /* the geometry section */
    double x, y;                 /* the point, lon and lat in degrees */
    const lookup_entry *best;    /* NULL until one holds the point */
    int damaged;                 /* a geometry could not be read */
} lean_search;

/* The exact test of entry i, whose box may hold the point. */
static int visit_entry(void *arg, size_t i)
{
    lean_search *q = arg;
    const lookup_entry *e = &q->entries[i];
    int inside = 0;
    if (!box_has(e->box, q->x, q->y) || (q->best != NULL && q->best->id < e->id))
        return 0;
    if (pdb__blob_contains(q->ctx, q->geoms + e->geom_off, e->geom_len, q->x, q->y, &inside) !=
        PDB_OK) {
        q->damaged = 1;
        return 1;
    }
    if (inside)
        q->best = e;
    return 0;
}

static int visit_group(void *arg, size_t g)
{
    lean_search *q = arg;
    size_t end = (g + 1) * LEAN_GROUP < q->count ? (g + 1) * LEAN_GROUP : q->count;
    for (size_t i = g * LEAN_GROUP; i < end; i++)
        if (visit_entry(q, i) != 0)
            return 1;
    return 0;
}

/* Answers a commune's points from its BLOB read into the scratch buffer,
 * into answers[] by pair. *damaged when the BLOB cannot be used (missing
 * or damaged): the caller answers them from the parcels then. */
static pdb_status batch_commune_lean(pdb_ctx *ctx, pdb_store *s, commune_index *ci,
                                     const commune_point *pts, size_t np, buf *scratch,
                                     lean_state *ls, pair_answer *answers, int *damaged)
{
    pdb__lookup *lk = s->lookup;
    pdb__ptree tree = {0};
    lookup_header h;
    size_t len = 0, entries_end = 0;
    pdb_status st;

    *damaged = 1;
    if ((st = lk->io->read_blob(ctx, s, ci->code, ci->batch_id, 1, &scratch->p, &scratch->cap,
                                &len)) != PDB_OK ||
        len < sizeof h)
        return st;
    memcpy(&h, scratch->p, sizeof h);
    if (!header_ok(&h, len, 1, &entries_end))
        return PDB_OK;
    const lookup_entry *entries = (const lookup_entry *)(scratch->p + sizeof h); /* aligned */
    const unsigned char *geoms = scratch->p + entries_end;
    const char *texts = (const char *)(geoms + h.geom_bytes);
    /* The entries checked, and the union box of each group of them. */
    size_t count = h.count, ngroups = (count + LEAN_GROUP - 1) / LEAN_GROUP;
    if (ngroups > ls->groups_cap) {
        double(*grown)[4] = realloc(ls->groups, ngroups * sizeof *grown);
        if (grown == NULL)
            goto oom;
        ls->groups = grown;
        ls->groups_cap = ngroups;
    }
    for (size_t g = 0; g < ngroups; g++) {
        double *b = ls->groups[g];
        b[0] = b[1] = INFINITY;
        b[2] = b[3] = -INFINITY;
        for (size_t i = g * LEAN_GROUP; i < count && i < (g + 1) * LEAN_GROUP; i++) {
            const lookup_entry *e = &entries[i];
            if (!entry_ok(e, &h))
                return PDB_OK;
            b[0] = e->box[0] < b[0] ? e->box[0] : b[0];
            b[1] = e->box[1] < b[1] ? e->box[1] : b[1];
            b[2] = e->box[2] > b[2] ? e->box[2] : b[2];
            b[3] = e->box[3] > b[3] ? e->box[3] : b[3];
        }
    }
    if (ngroups > 0 && pdb__ptree_build(&tree, ls->groups, sizeof *ls->groups, ngroups) != 0)
        goto oom;
    for (size_t k = 0; k < np; k++) {
        lean_search q = {ctx, entries, count, geoms, pts[k].x, pts[k].y, NULL, 0};
        pdb__ptree_search(&tree, q.x, q.y, visit_group, &q);
        pair_answer *a = &answers[pts[k].pair];
        *a = (pair_answer){0, 0};
        if (q.damaged || (q.best != NULL &&
                          !texts_ok(texts + q.best->text_off, h.text_bytes - q.best->text_off))) {
            ci->from_parcels = 1; /* damaged: built from its parcels from now on */
            goto done;
        }
        if (q.best == NULL)
            continue;
        const char *sheet = texts + q.best->text_off;
        pdb__lookup_hit hit = {.id = q.best->id,
                               .commune = ci->code,
                               .sheet = sheet,
                               .parcel = sheet + strlen(sheet) + 1,
                               .geom = geoms + q.best->geom_off,
                               .geom_len = q.best->geom_len};
        a->id = q.best->id;
        if ((a->text = answer_text(lk, &hit)) == SIZE_MAX)
            goto oom;
    }
    *damaged = 0;
    goto done;
oom:
    st = pdb__fail(ctx, PDB_ENOMEM, "out of memory looking up a batch of points");
done:
    pdb__ptree_free(&tree);
    return st;
}

pdb_status pdb__lookup_first_batch(pdb_ctx *ctx, pdb_store *s, const double *lonlat, size_t n,
                                   pdb_point_parcel *out)
{
    pdb__lookup *lk = s->lookup;
    pair_list pl = {0};
    commune_point *pts = NULL;
    pair_answer *answers = NULL;
    size_t *start = NULL;
    buf scratch = {0};     /* each commune's BLOB in turn */
    lean_state lean = {0}; /* its group boxes */
    pdb_status st = PDB_OK;

    if (lk == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "the lookup index is not loaded");
    int keep = lk->io->remote;
    lk->answers_len = 0;
    if (lk->top_stale && (st = build_top(ctx, lk)) != PDB_OK)
        return st;
    /* Which communes each point may fall in, in point order. */
    pl.lk = lk;
    for (size_t i = 0; i < n && !pl.oom; i++) {
        pl.x = lonlat[2 * i];
        pl.y = lonlat[2 * i + 1];
        pl.point = i;
        pdb__ptree_search(&lk->top, pl.x, pl.y, collect_commune, &pl);
    }
    /* The same pairs by commune (a counting sort). */
    size_t nc = lk->ncommunes;
    if (pl.oom || (start = calloc(nc + 1, sizeof *start)) == NULL ||
        (pl.n > 0 && ((pts = malloc(pl.n * sizeof *pts)) == NULL ||
                      (answers = malloc(pl.n * sizeof *answers)) == NULL)))
        goto oom;
    for (size_t k = 0; k < pl.n; k++)
        start[pl.p[k].commune + 1]++;
    for (size_t c = 0; c < nc; c++)
        start[c + 1] += start[c];
    for (size_t k = 0; k < pl.n; k++) {
        size_t i = pl.p[k].point;
        pts[start[pl.p[k].commune]++] = (commune_point){lonlat[2 * i], lonlat[2 * i + 1], k};
    }
    memmove(start + 1, start, nc * sizeof *start);
    start[0] = 0;
    /* Commune by commune: one commune's BLOB and tree are in memory at a
     * time, and stay in the caches while its points are answered. */
    for (size_t c = 0; c < nc; c++) {
        size_t np = start[c + 1] - start[c];
        commune_index *ci = lk->top_order[c];
        int borrowed = ci->d != NULL;
        if (np == 0)
            continue;
        /* A commune the handle holds is searched where it is; one it
         * does not, with only what its points need (batch_commune_lean). */
        if (!borrowed && !keep && !ci->from_parcels) {
            int damaged = 0;
            st = batch_commune_lean(ctx, s, ci, pts + start[c], np, &scratch, &lean, answers,
                                    &damaged);
            if (st != PDB_OK)
                goto done;
            if (!damaged)
                continue;
        }
        st = batch_commune(ctx, s, ci, pts + start[c], np, keep ? NULL : &scratch, answers);
        /* A commune the handle did not hold is not kept: a batch's memory
         * is one commune's, whatever the size of the province. */
        if (!borrowed && !keep && ci->d != NULL) {
            data_release(ci->d);
            ci->d = NULL;
        }
        if (st != PDB_OK)
            goto done;
    }
    /* Each point's lowest id over its communes, in point order. */
    for (size_t i = 0; i < n; i++)
        out[i] = (pdb_point_parcel){0, NULL, NULL, NULL};
    for (size_t k = 0; k < pl.n; k++) {
        pdb_point_parcel *o = &out[pl.p[k].point];
        const pair_answer *a = &answers[k];
        if (a->id == 0 || (o->id != 0 && o->id < a->id))
            continue;
        const char *t = lk->answers + a->text;
        o->id = a->id;
        o->commune = t;
        o->sheet = t += strlen(t) + 1;
        o->parcel = t + strlen(t) + 1;
    }
    goto done;
oom:
    st = pdb__fail(ctx, PDB_ENOMEM, "out of memory looking up a batch of points");
done:
    free(pl.p);
    free(pts);
    free(answers);
    free(start);
    free(scratch.p);
    free(lean.groups);
    return st;
}

/* ------------------------------------------------------------------------ */
/* The store operations                                                      */
/* ------------------------------------------------------------------------ */

/* Up to this many parcels containing one point are found without a heap
 * allocation; overlapping parcels are rare in a cadastre. */
#define HITS_ON_STACK 16

/* A read that the index answers from memory: neither the owner nor the
 * source geometry, which the BLOB does not hold. */
#define READS_FROM_STORE (PDB_READ_PERSONAL | PDB_READ_SOURCE)

static char *dup_text(const char *t, int *oom)
{
    char *c = t != NULL ? strdup(t) : NULL;
    if (t != NULL && c == NULL)
        *oom = 1;
    return c;
}

/* Fills *p with a hit's parcel from the index, as the store's read by id
 * would fill it for read_flags without READS_FROM_STORE: the fields were
 * packed from that read's own reader (pdb__lookup_row.attrs), and the WGS
 * 84 geometry is written from the same BLOB by the same writer. */
static pdb_status parcel_from_hit(pdb_ctx *ctx, const pdb__lookup_hit *h, unsigned read_flags,
                                  pdb_parcel *p)
{
    const char *r = h->record; /* checked at load: record_end */
    char **texts[RECORD_TEXTS] = {&p->former_commune, &p->landuse,    &p->address,
                                  &p->valid_from,     &p->prev_sheet, &p->prev_parcel,
                                  &p->record_start,   &p->record_end};
    lookup_record rec;
    int oom = 0;

    memset(p, 0, sizeof *p);
    memcpy(&rec, r, sizeof rec);
    r += sizeof rec;
    p->id = h->id;
    p->commune = dup_text(h->commune, &oom);
    p->sheet = dup_text(h->sheet, &oom);
    p->parcel = dup_text(h->parcel, &oom);
    for (int k = 0; k < RECORD_TEXTS; k++)
        if (*r++ != 0) {
            *texts[k] = dup_text(r, &oom);
            r += strlen(r) + 1;
        }
    p->area_surveyed_m2 = rec.area_surveyed_m2;
    p->area_computed_m2 = rec.area_computed_m2;
    p->source_srid = rec.source_srid;
    p->batch_id = rec.batch_id;
    p->flags = rec.flags;
    return pdb__parcel_read_end(ctx, p, read_flags, h->geom, h->geom_len, oom);
}

pdb_status pdb__lookup_parcels_at(pdb_ctx *ctx, pdb_store *s, const pdb__lookup_io *io, double lon,
                                  double lat, unsigned read_flags, pdb_parcel_list **out)
{
    pdb__lookup_hit stack_hits[HITS_ON_STACK], *hits = stack_hits;
    pdb_parcel_list *list = NULL;
    size_t n = 0, limit = ctx->limits.max_results;
    pdb_status st;
    int began = 0;
    int64_t version = -1; /* read with the snapshot, or by the sync */

    int from_memory = (read_flags & READS_FROM_STORE) == 0;

    *out = NULL;
    if ((st = pdb__check_lonlat(ctx, lon, lat)) != PDB_OK)
        return st;
    /* With the version trusted, the communes in memory answer with no
     * store read; a point in a commune not loaded yet is read as below. */
    int need_load = 1;
    if (from_memory && index_trusted(s, io) &&
        (st = lookup_at(ctx, s, lon, lat, hits, HITS_ON_STACK, &n, 1, &need_load)) != PDB_OK)
        goto done;
    if (need_load) {
        if ((st = io->snapshot_begin(ctx, s, &began, &version)) == PDB_OK)
            st = sync_to(ctx, s, io, version);
        /* A remote store out of reach: a public lookup is answered from the
         * communes loaded before, as a batch is (pdb__lookup_parcels_first_at);
         * a point in a commune not loaded fails as the store does. */
        if (st == PDB_EIO && from_memory && io->remote && s->lookup != NULL && s->lookup->io == io)
            st = pdb__ok(ctx);
        if (st != PDB_OK ||
            (st = pdb__lookup_at(ctx, s, lon, lat, hits, HITS_ON_STACK, &n)) != PDB_OK)
            goto done;
    }
    if (n > HITS_ON_STACK) {
        size_t want = n < limit ? n : limit;
        if ((hits = malloc(want * sizeof *hits)) == NULL) {
            st = pdb__fail(ctx, PDB_ENOMEM, "out of memory collecting parcels");
            goto done;
        }
        if ((st = pdb__lookup_at(ctx, s, lon, lat, hits, want, &n)) != PDB_OK)
            goto done;
    }
    if ((list = calloc(1, sizeof *list)) == NULL ||
        (n > 0 && (list->items = calloc(n < limit ? n : limit, sizeof *list->items)) == NULL)) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory collecting parcels");
        goto done;
    }
    list->truncated = n > limit;
    for (size_t i = 0; i < n && i < limit; i++) {
        if (from_memory)
            st = parcel_from_hit(ctx, &hits[i], read_flags, &list->items[list->count]);
        else
            st = io->read_parcel(ctx, s, hits[i].id, read_flags, &list->items[list->count]);
        if (st == PDB_ENOTFOUND)
            st = pdb__fail(ctx, PDB_ECORRUPT, "reading an indexed parcel: parcel %lld is missing",
                           (long long)hits[i].id);
        if (st != PDB_OK)
            goto done;
        list->count++;
    }
    *out = list;
    list = NULL;
    st = pdb__ok(ctx);
done:
    io->snapshot_end(ctx, s, began);
    if (hits != stack_hits)
        free(hits);
    pdb_parcel_list_free(list);
    return st;
}

pdb_status pdb__lookup_parcels_first_at(pdb_ctx *ctx, pdb_store *s, const pdb__lookup_io *io,
                                        const double *lonlat, size_t n, pdb_point_parcel *out)
{
    pdb_status st;
    int began = 0;
    int64_t version = -1; /* read with the snapshot, or by the sync */

    if (n == 0)
        return pdb__ok(ctx);
    if (lonlat == NULL || out == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no points given");
    memset(out, 0, n * sizeof *out);
    if (s->writing)
        return pdb__fail(ctx, PDB_EBUSY, "a commune's load is open on this store handle");
    if ((st = pdb__check_points(ctx, lonlat, n)) != PDB_OK)
        return st;
    if ((st = io->snapshot_begin(ctx, s, &began, &version)) == PDB_OK)
        st = sync_to(ctx, s, io, version);
    /* A remote store out of reach: the batch is answered from the communes
     * loaded before (a sync that fails before its first change keeps the
     * index); a point in a commune not loaded fails as the store does. */
    if (st == PDB_EIO && io->remote && s->lookup != NULL && s->lookup->io == io)
        st = pdb__ok(ctx);
    if (st == PDB_OK)
        st = pdb__lookup_first_batch(ctx, s, lonlat, n, out);
    io->snapshot_end(ctx, s, began);
    if (st != PDB_OK)
        memset(out, 0, n * sizeof *out);
    return st;
}
