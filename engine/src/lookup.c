/*
 * lookup.c: the point-lookup index (see lookup.h for the why).
 *
 * A commune's BLOB, little-endian, as pack_commune writes it:
 *   header   magic "PDBLKP1\0", u32 count, u32 zero, u64 geom_bytes,
 *            u64 text_bytes
 *   entries  count x lookup_entry, in Hilbert order of their box centres
 *   geoms    the parcels' WGS 84 SpatiaLite BLOBs, as stored in parcels.geom
 *   texts    "sheet\0parcel\0" per parcel
 * Loading checks every offset and length against the BLOB before any use,
 * so that a damaged BLOB is rebuilt from the parcels, never trusted.
 */
#include "lookup.h"

#include "wkb.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the lookup BLOB is written in host order, which must be little-endian"
#endif

#define LOOKUP_MAGIC "PDBLKP1"
#define NODE_SIZE 16 /* children per node of the packed R-tree */
#define MAX_LEVELS 16 /* 16^16 entries: more than a commune can hold */

typedef struct lookup_header {
    char magic[8];       /* LOOKUP_MAGIC and its NUL */
    uint32_t count;      /* entries */
    uint32_t zero;       /* reserved, 0 */
    uint64_t geom_bytes; /* size of the geometry section */
    uint64_t text_bytes; /* size of the text section */
} lookup_header;

typedef struct lookup_entry {
    int64_t id;        /* parcel id */
    double box[4];     /* min lon, min lat, max lon, max lat: the BLOB's MBR */
    uint32_t geom_off; /* offset of its BLOB in the geometry section */
    uint32_t geom_len; /* bytes */
    uint32_t text_off; /* offset of "sheet\0parcel\0" in the text section */
    uint32_t zero;     /* reserved, 0 */
} lookup_entry;

_Static_assert(sizeof(lookup_header) == 32, "the header layout is part of the format");
_Static_assert(sizeof(lookup_entry) == 56, "the entry layout is part of the format");

/* A commune's BLOB, checked, with the tree over its boxes: immutable once
 * made, and shared by every handle of the process that loads the very same
 * bytes (the server's workers), so that N handles cost one copy. */
typedef struct commune_data {
    size_t refs;                 /* handles using it; under registry_lock */
    struct commune_data *next;   /* the registry's list; under registry_lock */
    size_t len;                  /* bytes of the BLOB */
    unsigned char *data;         /* the BLOB (owned); entries point into it */
    double box[4];               /* union of the entries' boxes */
    size_t count;                /* entries */
    const lookup_entry *entries; /* count entries */
    const unsigned char *geoms;  /* geometry section */
    const char *texts;           /* text section */
    int nlevels;                 /* tree levels above the entries */
    size_t level_start[MAX_LEVELS + 1]; /* first node of level l in nodes (l >= 1) */
    size_t level_count[MAX_LEVELS + 1]; /* nodes of level l (level 0: entries) */
    double (*nodes)[4];          /* boxes of the levels above the entries */
} commune_data;

/* One handle's view of a commune: loaded on the first point in its box. */
typedef struct commune_index {
    char code[8];       /* five-digit commune code */
    int64_t batch_id;   /* the import its parcels come from */
    double box[4];      /* from the store before loading; the data's once loaded */
    int from_parcels;   /* no usable BLOB: built from the parcels when loaded */
    commune_data *d;    /* NULL until loaded; a reference held */
} commune_index;

struct pdb__lookup {
    int64_t data_version;     /* the version the index matches; -1 none yet */
    size_t ncommunes;         /* communes with current parcels */
    commune_index **communes; /* ordered by code */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static commune_data *registry; /* every commune_data in use in the process */

static void data_free(commune_data *d)
{
    if (d == NULL)
        return;
    free(d->data);
    free(d->nodes);
    free(d);
}

static void data_release(commune_data *d)
{
    if (d == NULL)
        return;
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
    free(lk);
}

/* ------------------------------------------------------------------------ */
/* Packing a commune's BLOB from its current parcels                         */
/* ------------------------------------------------------------------------ */

/* Position of (x, y) on the Hilbert curve over a 2^16 x 2^16 grid. */
static uint64_t hilbert(uint32_t x, uint32_t y)
{
    uint64_t d = 0;
    for (uint32_t s = 1u << 15; s > 0; s >>= 1) {
        uint32_t rx = (x & s) ? 1 : 0, ry = (y & s) ? 1 : 0;
        d += (uint64_t)s * s * ((3 * rx) ^ ry);
        if (ry == 0) {
            if (rx == 1) {
                x = s - 1 - x;
                y = s - 1 - y;
            }
            uint32_t t = x;
            x = y;
            y = t;
        }
    }
    return d;
}

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

/* Builds the BLOB of a commune from the parcels table, in the caller's
 * transaction (or its own implicit one). */
static pdb_status pack_commune(pdb_ctx *ctx, pdb_store *s, const char *commune,
                               unsigned char **out, size_t *out_len, double ext[4])
{
    sqlite3_stmt *stmt = NULL;
    pack_item *items = NULL;
    size_t n = 0, cap = 0;
    buf geoms = {0}, texts = {0}, all = {0};
    pdb_status st = PDB_OK;
    int rc;

    *out = NULL;
    *out_len = 0;
    ext[0] = ext[1] = INFINITY;
    ext[2] = ext[3] = -INFINITY;
    rc = sqlite3_prepare_v2(s->db,
                            "SELECT id, sheet, parcel, geom FROM parcels "
                            "WHERE commune = ?1 AND valid_to IS NULL",
                            -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(ctx, s->db, rc, "reading a commune for its lookup index");
    sqlite3_bind_text(stmt, 1, commune, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const unsigned char *g = sqlite3_column_blob(stmt, 3);
        size_t glen = (size_t)sqlite3_column_bytes(stmt, 3);
        const char *sheet = (const char *)sqlite3_column_text(stmt, 1);
        const char *parcel = (const char *)sqlite3_column_text(stmt, 2);
        pack_item it = {0};
        if ((st = pdb__blob_mbr(ctx, g, glen, it.entry.box)) != PDB_OK)
            goto done;
        if (sheet == NULL || parcel == NULL || geoms.len + glen > UINT32_MAX ||
            texts.len > UINT32_MAX - 256) {
            st = pdb__fail(ctx, PDB_ECORRUPT, "commune %s: a parcel row cannot be indexed",
                           commune);
            goto done;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            pack_item *ni = realloc(items, ncap * sizeof *ni);
            if (ni == NULL)
                goto oom;
            items = ni;
            cap = ncap;
        }
        it.entry.id = sqlite3_column_int64(stmt, 0);
        it.entry.geom_off = (uint32_t)geoms.len;
        it.entry.geom_len = (uint32_t)glen;
        it.entry.text_off = (uint32_t)texts.len;
        if (buf_add(&geoms, g, glen) != 0 || buf_add(&texts, sheet, strlen(sheet) + 1) != 0 ||
            buf_add(&texts, parcel, strlen(parcel) + 1) != 0)
            goto oom;
        for (int k = 0; k < 2; k++) {
            ext[k] = fmin(ext[k], it.entry.box[k]);
            ext[k + 2] = fmax(ext[k + 2], it.entry.box[k + 2]);
        }
        items[n++] = it;
    }
    if (rc != SQLITE_DONE) {
        st = pdb__sql_fail(ctx, s->db, rc, "reading a commune for its lookup index");
        goto done;
    }
    /* Hilbert order keeps neighbours in the same nodes: a point visits few. */
    for (size_t i = 0; i < n; i++) {
        const double *b = items[i].entry.box;
        double w = ext[2] - ext[0], h = ext[3] - ext[1];
        double fx = w > 0 ? ((b[0] + b[2]) / 2 - ext[0]) / w : 0;
        double fy = h > 0 ? ((b[1] + b[3]) / 2 - ext[1]) / h : 0;
        items[i].key = hilbert((uint32_t)(fx * 65535.0), (uint32_t)(fy * 65535.0));
    }
    if (n > 1)
        qsort(items, n, sizeof *items, by_key);
    lookup_header h = {LOOKUP_MAGIC, (uint32_t)n, 0, geoms.len, texts.len};
    if (buf_add(&all, &h, sizeof h) != 0)
        goto oom;
    for (size_t i = 0; i < n; i++)
        if (buf_add(&all, &items[i].entry, sizeof items[i].entry) != 0)
            goto oom;
    if (buf_add(&all, geoms.p, geoms.len) != 0 || buf_add(&all, texts.p, texts.len) != 0)
        goto oom;
    *out = all.p;
    *out_len = all.len;
    all.p = NULL;
    goto done;
oom:
    st = pdb__fail(ctx, PDB_ENOMEM, "out of memory building the lookup index of %s", commune);
done:
    sqlite3_finalize(stmt);
    free(items);
    free(geoms.p);
    free(texts.p);
    free(all.p);
    return st;
}

pdb_status pdb__lookup_store_commune(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                     int64_t batch_id)
{
    unsigned char *blob = NULL;
    size_t len = 0;
    sqlite3_stmt *stmt = NULL;
    double ext[4];
    pdb_status st;

    if ((st = pack_commune(ctx, s, commune, &blob, &len, ext)) != PDB_OK)
        return st;
    int rc = sqlite3_prepare_v2(s->db,
                                "INSERT OR REPLACE INTO lookup_index (commune, batch_id, "
                                "parcels, min_lon, min_lat, max_lon, max_lat, data) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                                -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        uint32_t count = ((const lookup_header *)blob)->count;
        sqlite3_bind_text(stmt, 1, commune, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, batch_id);
        sqlite3_bind_int64(stmt, 3, (int64_t)count);
        for (int k = 0; k < 4 && count > 0; k++)
            sqlite3_bind_double(stmt, 4 + k, ext[k]); /* NULL for an empty commune */
        sqlite3_bind_blob64(stmt, 8, blob, len, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    free(blob);
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, s->db, rc, "writing the lookup index");
    return PDB_OK;
}

pdb_status pdb__lookup_backfill(pdb_ctx *ctx, pdb_store *s)
{
    sqlite3_stmt *stmt = NULL;
    pdb_status st = PDB_OK;
    char (*codes)[8] = NULL;
    int64_t *batches = NULL;
    size_t n = 0, cap = 0;
    int rc;

    rc = sqlite3_prepare_v2(s->db,
                            "SELECT c.code, c.last_batch FROM communes c LEFT JOIN lookup_index "
                            "l ON l.commune = c.code WHERE l.batch_id IS NOT c.last_batch",
                            -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(ctx, s->db, rc, "checking the lookup index");
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(stmt, 0);
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char (*nc)[8] = realloc(codes, cap * sizeof *nc);
            int64_t *nb = nc ? realloc(batches, cap * sizeof *nb) : NULL;
            if (nc != NULL)
                codes = nc;
            if (nb == NULL) {
                st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
                goto done;
            }
            batches = nb;
        }
        snprintf(codes[n], sizeof codes[n], "%s", code ? code : "");
        batches[n++] = sqlite3_column_int64(stmt, 1);
    }
    if (rc != SQLITE_DONE) {
        st = pdb__sql_fail(ctx, s->db, rc, "checking the lookup index");
        goto done;
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    if (n == 0)
        goto done;
    if ((st = pdb__store_exec(ctx, s, "BEGIN IMMEDIATE")) != PDB_OK)
        goto done;
    for (size_t i = 0; i < n && st == PDB_OK; i++)
        st = pdb__lookup_store_commune(ctx, s, codes[i], batches[i]);
    if (st == PDB_OK)
        st = pdb__store_exec(ctx, s, "COMMIT");
    if (st != PDB_OK)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
done:
    sqlite3_finalize(stmt);
    free(codes);
    free(batches);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Loading: checking a BLOB and building the tree                            */
/* ------------------------------------------------------------------------ */

/* Checks a BLOB and builds the tree over it; takes ownership of data
 * (freed on failure too). NULL, without touching any context, when the
 * BLOB is damaged or memory runs out. */
static commune_data *data_from_blob(unsigned char *data, size_t len)
{
    commune_data *ci = calloc(1, sizeof *ci);
    lookup_header h;

    if (ci == NULL || len < sizeof h)
        goto bad;
    memcpy(&h, data, sizeof h);
    if (memcmp(h.magic, LOOKUP_MAGIC, sizeof h.magic) != 0 || h.zero != 0)
        goto bad;
    size_t count = h.count;
    size_t entries_end = sizeof h + count * sizeof(lookup_entry);
    if (h.geom_bytes > len || h.text_bytes > len ||
        entries_end + h.geom_bytes + h.text_bytes != len)
        goto bad;
    ci->refs = 1;
    ci->len = len;
    ci->count = count;
    ci->data = data;
    ci->entries = (const lookup_entry *)(data + sizeof h); /* malloc'd: aligned */
    ci->geoms = data + entries_end;
    ci->texts = (const char *)(ci->geoms + h.geom_bytes);
    ci->box[0] = ci->box[1] = INFINITY;
    ci->box[2] = ci->box[3] = -INFINITY;
    for (size_t i = 0; i < count; i++) {
        const lookup_entry *e = &ci->entries[i];
        const double *b = e->box;
        if ((uint64_t)e->geom_off + e->geom_len > h.geom_bytes || e->text_off >= h.text_bytes)
            goto bad;
        /* Two NUL-terminated strings inside the text section. */
        const char *t = ci->texts + e->text_off;
        size_t room = h.text_bytes - e->text_off;
        const char *nul = memchr(t, '\0', room);
        if (nul == NULL || memchr(nul + 1, '\0', room - (size_t)(nul + 1 - t)) == NULL)
            goto bad;
        if (!(b[0] <= b[2] && b[1] <= b[3]) || !isfinite(b[0]) || !isfinite(b[1]) ||
            !isfinite(b[2]) || !isfinite(b[3]))
            goto bad;
        for (int k = 0; k < 2; k++) {
            ci->box[k] = fmin(ci->box[k], b[k]);
            ci->box[k + 2] = fmax(ci->box[k + 2], b[k + 2]);
        }
    }
    /* The levels above the entries, bottom up, NODE_SIZE children each. */
    size_t total = 0, below = count;
    ci->nlevels = 0;
    while (below > 1 && ci->nlevels < MAX_LEVELS) {
        below = (below + NODE_SIZE - 1) / NODE_SIZE;
        total += below;
        ci->nlevels++;
    }
    ci->level_count[0] = count;
    if (ci->nlevels > 0 && (ci->nodes = malloc(total * sizeof *ci->nodes)) == NULL)
        goto bad;
    size_t at = 0;
    for (int l = 1; l <= ci->nlevels; l++) {
        size_t nchild = ci->level_count[l - 1];
        size_t nnodes = (nchild + NODE_SIZE - 1) / NODE_SIZE;
        ci->level_start[l] = at;
        ci->level_count[l] = nnodes;
        for (size_t i = 0; i < nnodes; i++) {
            double *nb = ci->nodes[at + i];
            nb[0] = nb[1] = INFINITY;
            nb[2] = nb[3] = -INFINITY;
            for (size_t c = i * NODE_SIZE; c < nchild && c < (i + 1) * NODE_SIZE; c++) {
                const double *cb =
                    l == 1 ? ci->entries[c].box : ci->nodes[ci->level_start[l - 1] + c];
                for (int k = 0; k < 2; k++) {
                    nb[k] = fmin(nb[k], cb[k]);
                    nb[k + 2] = fmax(nb[k + 2], cb[k + 2]);
                }
            }
        }
        at += nnodes;
    }
    return ci;
bad:
    if (ci == NULL || ci->data == NULL)
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
    commune_data *made = data_from_blob(bytes, len);
    if (made == NULL)
        return NULL;
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
 * stale or damaged, from its parcels; in the caller's read transaction. */
static pdb_status load_commune(pdb_ctx *ctx, pdb_store *s, commune_index *ci)
{
    sqlite3_stmt *stmt = NULL;
    unsigned char *copy = NULL;
    size_t len = 0;
    double ext[4];
    pdb_status st;
    int rc;

    if (!ci->from_parcels) {
        rc = sqlite3_prepare_v2(s->db,
                                "SELECT data FROM lookup_index WHERE commune = ?1 AND "
                                "batch_id = ?2",
                                -1, &stmt, NULL);
        if (rc != SQLITE_OK)
            return pdb__sql_fail(ctx, s->db, rc, "reading the lookup index");
        sqlite3_bind_text(stmt, 1, ci->code, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 2, ci->batch_id);
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            len = (size_t)sqlite3_column_bytes(stmt, 0);
            const void *blob = sqlite3_column_blob(stmt, 0);
            if (len > 0 && (copy = malloc(len)) != NULL)
                memcpy(copy, blob, len);
        }
        sqlite3_finalize(stmt);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return pdb__sql_fail(ctx, s->db, rc, "reading the lookup index");
        if (rc == SQLITE_ROW && len > 0 && copy == NULL)
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory loading the lookup index");
        if (copy != NULL && (ci->d = data_share(copy, len)) != NULL)
            goto loaded;
    }
    if ((st = pack_commune(ctx, s, ci->code, &copy, &len, ext)) != PDB_OK)
        return st;
    if ((ci->d = data_share(copy, len)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory building the lookup index of %s",
                         ci->code);
loaded:
    memcpy(ci->box, ci->d->box, sizeof ci->box);
    return PDB_OK;
}

pdb_status pdb__lookup_sync(pdb_ctx *ctx, pdb_store *s)
{
    pdb__lookup *lk = s->lookup;
    commune_index **next = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *stmt = NULL;
    int64_t version;
    pdb_status st;
    int rc;

    if ((st = pdb_store_data_version(ctx, s, &version)) != PDB_OK)
        return st;
    if (lk != NULL && lk->data_version == version)
        return PDB_OK;
    if (lk == NULL) {
        if ((lk = calloc(1, sizeof *lk)) == NULL)
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        lk->data_version = -1;
        s->lookup = lk;
    }
    /* Each commune's box comes from its BLOB's row; where that row is
     * missing or stale, from the communes table, and the commune is then
     * built from its parcels. A read-only handle on a store made before
     * the index has no table at all. */
    rc = sqlite3_prepare_v2(s->db,
                            "SELECT c.code, c.last_batch, l.batch_id IS c.last_batch, "
                            "CASE WHEN l.batch_id IS c.last_batch THEN l.min_lon ELSE c.min_lon END, "
                            "CASE WHEN l.batch_id IS c.last_batch THEN l.min_lat ELSE c.min_lat END, "
                            "CASE WHEN l.batch_id IS c.last_batch THEN l.max_lon ELSE c.max_lon END, "
                            "CASE WHEN l.batch_id IS c.last_batch THEN l.max_lat ELSE c.max_lat END "
                            "FROM communes c LEFT JOIN lookup_index l ON l.commune = c.code "
                            "WHERE c.parcels > 0 ORDER BY c.code",
                            -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db,
                                "SELECT code, last_batch, 0, min_lon, min_lat, max_lon, max_lat "
                                "FROM communes WHERE parcels > 0 ORDER BY code",
                                -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(ctx, s->db, rc, "reading the lookup index");
    size_t old = 0; /* lk->communes is ordered by code too: merge */
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(stmt, 0);
        int64_t batch = sqlite3_column_int64(stmt, 1);
        commune_index *ci = NULL;
        if (code == NULL)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            commune_index **nn = realloc(next, ncap * sizeof *nn);
            if (nn == NULL) {
                st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
                goto done;
            }
            next = nn;
            cap = ncap;
        }
        while (old < lk->ncommunes && strcmp(lk->communes[old]->code, code) < 0)
            old++;
        if (old < lk->ncommunes && strcmp(lk->communes[old]->code, code) == 0 &&
            lk->communes[old]->batch_id == batch) {
            ci = lk->communes[old]; /* unchanged since the last sync: keep it */
            lk->communes[old++] = NULL;
        } else {
            if ((ci = calloc(1, sizeof *ci)) == NULL) {
                st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
                goto done;
            }
            snprintf(ci->code, sizeof ci->code, "%s", code);
            ci->batch_id = batch;
            ci->from_parcels = sqlite3_column_int(stmt, 2) == 0;
            for (int k = 0; k < 4; k++)
                ci->box[k] = sqlite3_column_type(stmt, 3 + k) == SQLITE_NULL
                                 ? NAN
                                 : sqlite3_column_double(stmt, 3 + k);
            /* No box known: load at once rather than guess one. */
            if (!(ci->box[0] <= ci->box[2] && ci->box[1] <= ci->box[3]) &&
                (st = load_commune(ctx, s, ci)) != PDB_OK) {
                commune_index_free(ci);
                goto done;
            }
        }
        next[n++] = ci;
    }
    if (rc != SQLITE_DONE) {
        st = pdb__sql_fail(ctx, s->db, rc, "reading the lookup index");
        goto done;
    }
    for (size_t i = 0; i < lk->ncommunes; i++)
        commune_index_free(lk->communes[i]);
    free(lk->communes);
    lk->communes = next;
    lk->ncommunes = n;
    lk->data_version = version;
    next = NULL;
    n = 0;
done:
    sqlite3_finalize(stmt);
    for (size_t i = 0; i < n; i++)
        commune_index_free(next[i]);
    free(next);
    if (st != PDB_OK) {
        /* Whatever was moved out is gone: start afresh at the next call. */
        pdb__lookup_free(s->lookup);
        s->lookup = NULL;
    }
    return st;
}

/* ------------------------------------------------------------------------ */
/* Searching                                                                 */
/* ------------------------------------------------------------------------ */

static int box_has(const double *b, double x, double y)
{
    return b[0] <= x && x <= b[2] && b[1] <= y && y <= b[3];
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
    hits[i] = (pdb__lookup_hit){e->id, ci->code, t, t + strlen(t) + 1};
    (*n)++;
}

static pdb_status search_commune(pdb_ctx *ctx, pdb_store *s, commune_index *ci, double x,
                                 double y, pdb__lookup_hit *hits, size_t cap, size_t *n,
                                 int *restart)
{
    /* Pending nodes as (level, index); at most NODE_SIZE per level. */
    struct {
        int level;
        size_t index;
    } stack[MAX_LEVELS * NODE_SIZE + 1];
    int top = 0;
    pdb_status st;

    if (!box_has(ci->box, x, y))
        return PDB_OK;
    if (ci->d == NULL && (st = load_commune(ctx, s, ci)) != PDB_OK)
        return st;
    const commune_data *d = ci->d;
    if (d->count == 0 || !box_has(d->box, x, y))
        return PDB_OK;
    stack[top].level = d->nlevels;
    stack[top].index = 0;
    top++;
    while (top > 0) {
        top--;
        int level = stack[top].level;
        size_t index = stack[top].index;
        if (level == 0) {
            const lookup_entry *e = &d->entries[index];
            int inside = 0;
            st = pdb__blob_contains(ctx, d->geoms + e->geom_off, e->geom_len, x, y, &inside);
            if (st != PDB_OK && !ci->from_parcels) {
                /* The BLOB passed its checks but holds a damaged geometry:
                 * drop it; the caller starts over, and the commune is
                 * built from its parcels. */
                data_release(ci->d);
                ci->d = NULL;
                ci->from_parcels = 1;
                *restart = 1;
                return PDB_OK;
            }
            if (st != PDB_OK) {
                char why[256];
                snprintf(why, sizeof why, "%s", pdb_errmsg(ctx));
                return pdb__fail(ctx, PDB_ECORRUPT, "commune %s: parcel %lld: %s", ci->code,
                                 (long long)e->id, why);
            }
            if (inside)
                add_hit(hits, cap, n, ci, e);
            continue;
        }
        size_t first = index * NODE_SIZE, end = first + NODE_SIZE;
        if (end > d->level_count[level - 1])
            end = d->level_count[level - 1];
        for (size_t c = first; c < end; c++) {
            const double *b =
                level == 1 ? d->entries[c].box : d->nodes[d->level_start[level - 1] + c];
            if (box_has(b, x, y)) {
                stack[top].level = level - 1;
                stack[top].index = c;
                top++;
            }
        }
    }
    return PDB_OK;
}

pdb_status pdb__lookup_at(pdb_ctx *ctx, pdb_store *s, double lon, double lat,
                          pdb__lookup_hit *hits, size_t cap, size_t *n)
{
    pdb__lookup *lk = s->lookup;
    pdb_status st;

    *n = 0;
    if (lk == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "the lookup index is not loaded");
    /* Each pass either completes or drops one damaged BLOB for good. */
    for (;;) {
        int restart = 0;
        *n = 0;
        for (size_t i = 0; i < lk->ncommunes && !restart; i++)
            if ((st = search_commune(ctx, s, lk->communes[i], lon, lat, hits, cap, n,
                                     &restart)) != PDB_OK)
                return st;
        if (!restart)
            return PDB_OK;
    }
}
