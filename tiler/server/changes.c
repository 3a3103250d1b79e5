/*
 * changes.c: the change log of the map (see changes.h for the reasoning).
 */
#include "changes.h"

#include "tiler.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2: commune rows carry their data version. Files of version 1 are read
 * too (see pdb_srv_changes_parse). */
#define STATE_MAGIC "parceldb-tile-state 2"
#define STATE_MAGIC_1 "parceldb-tile-state 1"

void pdb_srv_lonlat_to_merc_box(const double ll[4], double merc[4])
{
    merc[0] = pdbt_merc_x(ll[0]);
    merc[1] = pdbt_merc_y(ll[1]);
    merc[2] = pdbt_merc_x(ll[2]);
    merc[3] = pdbt_merc_y(ll[3]);
}

static int box_valid(const double b[4])
{
    return isfinite(b[0]) && isfinite(b[1]) && isfinite(b[2]) && isfinite(b[3]) && b[0] <= b[2] &&
           b[1] <= b[3];
}

static void box_union(double acc[4], const double b[4])
{
    acc[0] = fmin(acc[0], b[0]);
    acc[1] = fmin(acc[1], b[1]);
    acc[2] = fmax(acc[2], b[2]);
    acc[3] = fmax(acc[3], b[3]);
}

static int cmp_code(const void *a, const void *b)
{
    return strcmp(((const pdb_srv_commune_state *)a)->code,
                  ((const pdb_srv_commune_state *)b)->code);
}

/* Copies rows, sorted by code. */
static pdb_srv_commune_state *copy_rows(const pdb_srv_commune_state *rows, size_t n)
{
    pdb_srv_commune_state *copy = malloc((n ? n : 1) * sizeof *copy);
    if (copy == NULL)
        return NULL;
    if (n > 0)
        memcpy(copy, rows, n * sizeof *copy);
    qsort(copy, n, sizeof *copy, cmp_code);
    return copy;
}

void pdb_srv_changes_clear(pdb_srv_changes *c)
{
    free(c->rec);
    free(c->communes);
    memset(c, 0, sizeof *c);
}

int pdb_srv_changes_reset(pdb_srv_changes *c, int64_t version, uint64_t epoch,
                          const pdb_srv_commune_state *rows, size_t n)
{
    pdb_srv_commune_state *copy = copy_rows(rows, n);
    if (copy == NULL)
        return -1;
    pdb_srv_changes_clear(c);
    c->version = version;
    c->baseline = version;
    c->epoch = epoch;
    c->communes = copy;
    c->ncommunes = n;
    return 0;
}

/* Whether a row's contents moved; a stamp that says otherwise is not
 * trusted (changes.h). */
static int rows_differ(const pdb_srv_commune_state *a, const pdb_srv_commune_state *b)
{
    if (a->parcels != b->parcels || a->last_batch != b->last_batch ||
        a->source_srid != b->source_srid)
        return 1;
    if (a->overview_fresh >= 0 && b->overview_fresh >= 0 && a->overview_fresh != b->overview_fresh)
        return 1;
    for (int i = 0; i < 4; i++)
        if (!(a->bbox[i] == b->bbox[i] || (isnan(a->bbox[i]) && isnan(b->bbox[i]))))
            return 1;
    return 0;
}

/* Whether every row carries its data version (a store of schema 2 on). */
static int rows_stamped(const pdb_srv_commune_state *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].data_version < 0)
            return 0;
    return 1;
}

/* Adds or merges the record of one commune. */
static int add_record(pdb_srv_changes *c, const char *code, int64_t version, const double merc[4])
{
    for (size_t i = 0; i < c->nrec; i++)
        if (strcmp(c->rec[i].code, code) == 0) {
            box_union(c->rec[i].merc, merc);
            c->rec[i].version = version;
            return 0;
        }
    if (pdb_srv_grow(&c->rec, &c->caprec, c->nrec + 1, sizeof *c->rec) != 0)
        return -1;
    pdb_srv_change *r = c->rec;
    snprintf(r[c->nrec].code, sizeof r[c->nrec].code, "%s", code);
    r[c->nrec].version = version;
    memcpy(r[c->nrec].merc, merc, sizeof r[c->nrec].merc);
    c->nrec++;
    return 0;
}

/* Everything is stale from version on. */
static pdb_srv_advance move_baseline(pdb_srv_changes *c, int64_t version,
                                     pdb_srv_commune_state *rows, size_t n)
{
    free(c->rec);
    c->rec = NULL;
    c->nrec = c->caprec = 0;
    c->version = version;
    c->baseline = version;
    if (rows != NULL) {
        free(c->communes);
        c->communes = rows;
        c->ncommunes = n;
    }
    return PDB_SRV_ADVANCE_ALL;
}

pdb_srv_advance pdb_srv_changes_advance(pdb_srv_changes *c, int64_t version,
                                        const pdb_srv_commune_state *in, size_t n,
                                        double (**boxes)[4], size_t *nboxes)
{
    pdb_srv_commune_state *rows;
    double(*out)[4] = NULL;
    size_t nout = 0, i = 0, j = 0;

    *boxes = NULL;
    *nboxes = 0;
    if (version == c->version)
        return PDB_SRV_ADVANCE_SAME;
    rows = copy_rows(in, n);
    if (version < c->version) {
        /* Versions only grow in one store: this is another store (a file
         * restored or replaced). No version of the old one means anything. */
        move_baseline(c, version, rows, n);
        c->epoch = c->epoch * 6364136223846793005ull + 1442695040888963407ull;
        return PDB_SRV_ADVANCE_EPOCH;
    }
    /* Without stamps (schema 1) nothing says what changed. */
    if (rows == NULL || !rows_stamped(rows, n) ||
        (out = malloc((c->ncommunes + n + 1) * sizeof *out)) == NULL)
        return move_baseline(c, version, rows, n);

    /* Merge the two code-sorted row lists: a commune changed since the
     * last look (c->version) when it is stamped above it, appeared,
     * vanished, or its row moved. */
    while (i < c->ncommunes || j < n) {
        const pdb_srv_commune_state *a = i < c->ncommunes ? &c->communes[i] : NULL;
        const pdb_srv_commune_state *b = j < n ? &rows[j] : NULL;
        int order = a == NULL ? 1 : b == NULL ? -1 : strcmp(a->code, b->code);
        double region[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY}, m[4];
        const char *code;
        if (order == 0 && b->data_version <= c->version && !rows_differ(a, b)) {
            i++, j++;
            continue;
        }
        code = order <= 0 ? a->code : b->code;
        if (order <= 0 && box_valid(a->bbox)) {
            pdb_srv_lonlat_to_merc_box(a->bbox, m);
            box_union(region, m);
        }
        if (order >= 0 && box_valid(b->bbox)) {
            pdb_srv_lonlat_to_merc_box(b->bbox, m);
            box_union(region, m);
        }
        if (order <= 0)
            i++;
        if (order >= 0)
            j++;
        if (!box_valid(region))
            continue; /* a commune with no parcels before or after: nothing drawn */
        if (add_record(c, code, version, region) != 0) {
            free(out);
            return move_baseline(c, version, rows, n);
        }
        memcpy(out[nout++], region, sizeof region);
    }
    free(c->communes);
    c->communes = rows;
    c->ncommunes = n;
    c->version = version;
    if (nout == 0) {
        free(out);
        return PDB_SRV_ADVANCE_SAME;
    }
    *boxes = out;
    *nboxes = nout;
    return PDB_SRV_ADVANCE_REGIONS;
}

int64_t pdb_srv_changes_tile_version(const pdb_srv_changes *c, const double m[4])
{
    int64_t v = c->baseline;
    for (size_t i = 0; i < c->nrec; i++) {
        const double *r = c->rec[i].merc;
        if (c->rec[i].version > v && r[0] <= m[2] && r[2] >= m[0] && r[1] <= m[3] && r[3] >= m[1])
            v = c->rec[i].version;
    }
    return v;
}

char *pdb_srv_changes_format(const pdb_srv_changes *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return NULL;
    fprintf(f, "%s\nversion %lld\nbaseline %lld\nepoch %llu\nidentity %llu\n", STATE_MAGIC,
            (long long)c->version, (long long)c->baseline, (unsigned long long)c->epoch,
            (unsigned long long)c->identity);
    for (size_t i = 0; i < c->ncommunes; i++) {
        const pdb_srv_commune_state *r = &c->communes[i];
        fprintf(f, "commune %s %lld %lld %d %.17g %.17g %.17g %.17g %d %lld\n", r->code,
                (long long)r->parcels, (long long)r->last_batch, r->source_srid, r->bbox[0],
                r->bbox[1], r->bbox[2], r->bbox[3], r->overview_fresh, (long long)r->data_version);
    }
    for (size_t i = 0; i < c->nrec; i++) {
        const pdb_srv_change *r = &c->rec[i];
        fprintf(f, "change %s %lld %.17g %.17g %.17g %.17g\n", r->code, (long long)r->version,
                r->merc[0], r->merc[1], r->merc[2], r->merc[3]);
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

int pdb_srv_changes_parse(pdb_srv_changes *c, const char *text)
{
    pdb_srv_changes t = {0};
    const char *p = text;
    size_t cap_c = 0;
    int ok = 0, fields;

    /* Both magics have the same length. Version 1 rows lack data_version:
     * they are only ever the old side of a comparison, which needs none. */
    _Static_assert(sizeof STATE_MAGIC == sizeof STATE_MAGIC_1, "state magics differ in length");
    if (strncmp(p, STATE_MAGIC "\n", sizeof STATE_MAGIC) == 0)
        fields = 10;
    else if (strncmp(p, STATE_MAGIC_1 "\n", sizeof STATE_MAGIC_1) == 0)
        fields = 9;
    else
        return -1;
    p += sizeof STATE_MAGIC;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[512];
        long long a, b;
        unsigned long long u;
        if (n >= sizeof line)
            goto done;
        memcpy(line, p, n);
        line[n] = '\0';
        p += n + (nl != NULL);
        if (sscanf(line, "version %lld", &a) == 1) {
            t.version = a;
        } else if (sscanf(line, "baseline %lld", &a) == 1) {
            t.baseline = a;
        } else if (sscanf(line, "epoch %llu", &u) == 1) {
            t.epoch = u;
        } else if (sscanf(line, "identity %llu", &u) == 1) {
            t.identity = u;
        } else if (strncmp(line, "commune ", 8) == 0) {
            pdb_srv_commune_state r = {0};
            char code[8];
            long long dv = -1;
            if (sscanf(line, "commune %7s %lld %lld %d %lf %lf %lf %lf %d %lld", code, &a, &b,
                       &r.source_srid, &r.bbox[0], &r.bbox[1], &r.bbox[2], &r.bbox[3],
                       &r.overview_fresh, &dv) != fields)
                goto done;
            snprintf(r.code, sizeof r.code, "%s", code);
            r.parcels = a;
            r.last_batch = b;
            r.data_version = dv;
            if (pdb_srv_grow(&t.communes, &cap_c, t.ncommunes + 1, sizeof *t.communes) != 0)
                goto done;
            t.communes[t.ncommunes++] = r;
        } else if (strncmp(line, "change ", 7) == 0) {
            pdb_srv_change r = {0};
            char code[8];
            if (sscanf(line, "change %7s %lld %lf %lf %lf %lf", code, &a, &r.merc[0], &r.merc[1],
                       &r.merc[2], &r.merc[3]) != 6)
                goto done;
            snprintf(r.code, sizeof r.code, "%s", code);
            r.version = a;
            if (pdb_srv_grow(&t.rec, &t.caprec, t.nrec + 1, sizeof *t.rec) != 0)
                goto done;
            t.rec[t.nrec++] = r;
        } else if (line[0] != '\0') {
            goto done;
        }
    }
    if (t.baseline > t.version)
        goto done;
    qsort(t.communes, t.ncommunes, sizeof *t.communes, cmp_code);
    ok = 1;
done:
    if (!ok) {
        pdb_srv_changes_clear(&t);
        return -1;
    }
    pdb_srv_changes_clear(c);
    *c = t;
    return 0;
}
