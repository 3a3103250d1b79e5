/*
 * pg_ovcache.c: the overview shapes of a PostgreSQL store, kept in memory
 * for the whole process (pg_ovcache.h). Low-zoom tiles draw the dissolved
 * land-use shapes of whole communes, thousands of points each; read from
 * PostgreSQL for every tile they cost the server 4-7 ms a query
 * (detoasting and sending them) where the SQLite store reads its pages.
 * They change only when a commune is imported or rebuilt, and each such
 * change stamps the commune's data_version: so the shapes of (store,
 * commune, band) are read once per commune version, parsed, and shared by
 * every handle of the process, as the point-lookup index is.
 *
 * Entries are immutable once made and counted: a reader holds its
 * entries while it draws, and an entry dropped from the table meanwhile
 * (a newer version, or the bound on memory) is freed by its last reader.
 */
#include "pg_ovcache.h"

#include "overview_build.h"
#include "store.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the cache may hold before it drops what no reader holds. */
#define OVC_MAX_BYTES ((size_t)512 << 20)

typedef struct ovc_shape {
    int kind;       /* PDB_OVERVIEW_LANDUSE, _COMMUNES or _BASE */
    char *landuse;  /* main land-use code, NULL for a commune outline */
    double area_m2; /* the parcels' area it stands for */
    double mbr[4];  /* exact box of the shape */
    int64_t id;     /* overviews.id: the order the SQLite store emits them in */
    pdb__mpoly mp;  /* the shape, parsed */
} ovc_shape;

struct pdb__ovc_entry {
    char *location;    /* the store's location (the key's first part) */
    char commune[8];   /* the commune */
    int band;          /* the zoom band */
    int64_t version;   /* the commune's data_version the shapes are of */
    ovc_shape *shapes; /* ordered by id */
    size_t n;          /* shapes */
    double mbr[4];     /* box of all of them (empty: +inf..-inf) */
    size_t bytes;      /* memory held, for the bound */
    int refs;          /* the table's reference (1 while listed) plus readers' */
};

static pthread_mutex_t ovc_lock = PTHREAD_MUTEX_INITIALIZER;
static pdb__ovc_entry **ovc_table; /* listed entries */
static size_t ovc_n, ovc_cap;
static size_t ovc_bytes;

static void entry_free(pdb__ovc_entry *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->shapes[i].landuse);
        pdb__mpoly_free(&e->shapes[i].mp);
    }
    free(e->shapes);
    free(e->location);
    free(e);
}

void pdb__ovc_release(pdb__ovc_entry *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&ovc_lock);
    int last = --e->refs == 0;
    pthread_mutex_unlock(&ovc_lock);
    if (last)
        entry_free(e);
}

/* Drops entry i from the table (ovc_lock held); returns it if nobody else
 * holds it, for the caller to free outside the lock. */
static pdb__ovc_entry *unlist(size_t i)
{
    pdb__ovc_entry *e = ovc_table[i];
    ovc_table[i] = ovc_table[--ovc_n];
    ovc_bytes -= e->bytes;
    return --e->refs == 0 ? e : NULL;
}

/* Finds (location, commune, band) at version, taking a reference. */
static pdb__ovc_entry *lookup(const char *location, const char *commune, int band, int64_t version)
{
    pdb__ovc_entry *found = NULL;
    pthread_mutex_lock(&ovc_lock);
    for (size_t i = 0; i < ovc_n; i++) {
        pdb__ovc_entry *e = ovc_table[i];
        if (e->band == band && e->version == version && strcmp(e->commune, commune) == 0 &&
            strcmp(e->location, location) == 0) {
            e->refs++;
            found = e;
            break;
        }
    }
    pthread_mutex_unlock(&ovc_lock);
    return found;
}

/* Lists a new entry (its one reference becomes the caller's, and the
 * table takes another), replacing the same key's older versions and
 * keeping the bound. */
static void publish(pdb__ovc_entry *e)
{
    pdb__ovc_entry *dead[64];
    size_t ndead = 0;
    pthread_mutex_lock(&ovc_lock);
    for (size_t i = 0; i < ovc_n && ndead < PDB_COUNTOF(dead);) {
        pdb__ovc_entry *o = ovc_table[i];
        int same_key = o->band == e->band && strcmp(o->commune, e->commune) == 0 &&
                       strcmp(o->location, e->location) == 0;
        int over = ovc_bytes + e->bytes > OVC_MAX_BYTES && o->refs == 1;
        if (same_key || over) {
            pdb__ovc_entry *d = unlist(i);
            if (d != NULL)
                dead[ndead++] = d;
            continue; /* slot i now holds another entry */
        }
        i++;
    }
    if (ovc_n == ovc_cap) {
        size_t cap = ovc_cap ? 2 * ovc_cap : 256;
        pdb__ovc_entry **t = realloc(ovc_table, cap * sizeof *t);
        if (t != NULL) {
            ovc_table = t;
            ovc_cap = cap;
        }
    }
    if (ovc_n < ovc_cap) {
        e->refs++;
        ovc_table[ovc_n++] = e;
        ovc_bytes += e->bytes;
    }
    pthread_mutex_unlock(&ovc_lock);
    for (size_t i = 0; i < ndead; i++)
        entry_free(dead[i]);
}

/* Reads a commune's shapes of one band: the commune's version in the same
 * statement, so that the entry is stamped with the version its shapes
 * are of, whatever committed since the caller's list of communes. */
static const char shapes_sql[] =
    "SELECT (SELECT data_version FROM " PDB_PG_SCHEMA ".communes WHERE code = $1), o.id, o.kind, "
    "o.landuse_main, o.area_m2, ST_AsBinary(o.geom) FROM " PDB_PG_SCHEMA ".overviews o "
    "WHERE o.commune = $1 AND o.band = $2 ORDER BY o.id";

pdb_status pdb__ovc_get(pdb_ctx *ctx, pdb_store *s, const char *commune, int band, int64_t version,
                        pdb__ovc_entry **out)
{
    pdb__pg *pg = s->pg;
    pdb__pg_params p = {0};
    PGresult *res = NULL;
    pdb_status st;

    *out = lookup(pg->location, commune, band, version);
    if (*out != NULL)
        return pdb__ok(ctx);
    pdb__pg_param_text(&p, commune);
    pdb__pg_param_i4(&p, band);
    if ((st = pdb__pg_run(ctx, pg, shapes_sql, &p, "reading overviews", &res)) != PDB_OK)
        return st;
    int rows = PQntuples(res);
    pdb__ovc_entry *e = calloc(1, sizeof *e);
    if (e == NULL || (rows > 0 && (e->shapes = calloc((size_t)rows, sizeof *e->shapes)) == NULL) ||
        (e->location = pdb__strdup(pg->location)) == NULL) {
        if (e != NULL)
            entry_free(e);
        PQclear(res);
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory reading overviews");
    }
    snprintf(e->commune, sizeof e->commune, "%s", commune);
    e->band = band;
    e->refs = 1;
    e->version = rows > 0 && !PQgetisnull(res, 0, 0) ? pdb__pg_i8(res, 0, 0) : version;
    e->mbr[0] = e->mbr[1] = INFINITY;
    e->mbr[2] = e->mbr[3] = -INFINITY;
    e->bytes = sizeof *e + (size_t)rows * sizeof *e->shapes;
    pdb_limits saved = pdb__pg_lift_limits(ctx);
    st = PDB_OK;
    for (int i = 0; i < rows && st == PDB_OK; i++) {
        ovc_shape *sh = &e->shapes[i];
        sh->id = pdb__pg_i8(res, i, 1);
        sh->kind = pdb__pg_i4(res, i, 2);
        sh->area_m2 = pdb__pg_f8(res, i, 4);
        const char *lu = pdb__pg_text(res, i, 3);
        if (lu != NULL && (sh->landuse = pdb__strdup(lu)) == NULL) {
            st = pdb__fail(ctx, PDB_ENOMEM, "out of memory reading overviews");
            break;
        }
        if ((st = pdb__pg_parse_stored(ctx, res, i, 5, &sh->mp)) != PDB_OK)
            break;
        e->n++;
        pdb__mpoly_bbox(&sh->mp, sh->mbr);
        e->mbr[0] = fmin(e->mbr[0], sh->mbr[0]);
        e->mbr[1] = fmin(e->mbr[1], sh->mbr[1]);
        e->mbr[2] = fmax(e->mbr[2], sh->mbr[2]);
        e->mbr[3] = fmax(e->mbr[3], sh->mbr[3]);
        e->bytes += sh->mp.npoints * 2 * sizeof(double) +
                    (sh->mp.nparts + sh->mp.nrings + 2) * sizeof(size_t);
    }
    ctx->limits = saved;
    PQclear(res);
    if (st != PDB_OK) {
        entry_free(e);
        return st;
    }
    publish(e);
    *out = e;
    return pdb__ok(ctx);
}

/* One shape that passed the query's tests, for the sort by id. */
typedef struct ovc_hit {
    const ovc_shape *shape; /* borrowed from its entry */
    const char *commune;    /* its commune */
} ovc_hit;

static int by_id(const void *a, const void *b)
{
    int64_t x = ((const ovc_hit *)a)->shape->id, y = ((const ovc_hit *)b)->shape->id;
    return (x > y) - (x < y);
}

pdb_status pdb__ovc_emit(pdb_ctx *ctx, pdb__ovc_entry *const *entries, size_t n, unsigned kinds,
                         const double bbox[4], pdb_feature_fn fn, void *arg, int *stopped)
{
    size_t total = 0, nhits = 0;
    *stopped = 0;
    for (size_t i = 0; i < n; i++)
        total += entries[i]->n;
    ovc_hit *hits = malloc((total ? total : 1) * sizeof *hits);
    if (hits == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory drawing overviews");
    for (size_t i = 0; i < n; i++) {
        const pdb__ovc_entry *e = entries[i];
        if (e->n == 0 || !pdb__pg_rtree_hit(e->mbr, bbox))
            continue; /* no shape of it can pass the test below */
        for (size_t k = 0; k < e->n; k++) {
            const ovc_shape *sh = &e->shapes[k];
            if ((sh->kind & (int)kinds) != 0 && pdb__pg_rtree_hit(sh->mbr, bbox))
                hits[nhits++] = (ovc_hit){sh, e->commune};
        }
    }
    qsort(hits, nhits, sizeof *hits, by_id);
    for (size_t i = 0; i < nhits; i++) {
        const ovc_shape *sh = hits[i].shape;
        pdb_feature f = {
            .id = 0,
            .commune = hits[i].commune,
            .landuse = sh->landuse,
            .landuse_main = sh->landuse,
            .area_m2 = sh->area_m2,
            .nparts = sh->mp.nparts,
            .part_ring = sh->mp.part_ring,
            .nrings = sh->mp.nrings,
            .ring_point = sh->mp.ring_point,
            .npoints = sh->mp.npoints,
            .xy = sh->mp.xy,
        };
        if (fn(arg, &f)) {
            *stopped = 1;
            break;
        }
    }
    free(hits);
    return pdb__ok(ctx);
}
