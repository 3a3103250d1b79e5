/*
 * qa.c: the quality checks a commune passes before it is accepted
 * (docs/qa.md). Parcels are read through the store's public reading calls
 * (pdb_parcels_page), so the checks run alike on SQLite and PostgreSQL;
 * every measure is taken in the commune's survey (TM-3) CRS, in metres,
 * where area is legal (PITFALLS.md). Pairs are found with a GEOS STRtree
 * and tested with prepared geometries; the coverage's holes come from
 * GEOSCoverageUnion when the parcels are a clean coverage, from a robust
 * union otherwise.
 */
#include "qa.h"
#include "crs.h"
#include "geom.h"
#include "internal.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* One parcel of the commune being checked. */
typedef struct qa_parcel {
    int64_t id;          /* store id */
    char *former;        /* former commune code, or NULL */
    char *sheet;         /* sheet number */
    char *parcel;        /* parcel number */
    char *landuse;       /* codes joined by '+', or NULL */
    unsigned flags;      /* PDB_PARCEL_* */
    double surveyed;     /* registered area, m2, NAN when absent */
    double area;         /* computed area of g, m2 */
    GEOSGeometry *g;     /* valid geometry in the survey CRS (repaired when the survey's is not) */
    pdb_polygons *pg;    /* g's rings when g was made of them (not repaired), else NULL */
    pdb__qa_shape shape; /* pg as the pair filter reads it (qa_pair.c) */
    int suspect;         /* in a pair the filter left to GEOS (overlapping, or unsure) */
    long long sheet_no;  /* sheet as a number, -1 when not plain digits (see numcmp) */
    long long parcel_no; /* parcel number likewise */
} qa_parcel;

/* The state of one run. */
typedef struct qa_run {
    pdb_ctx *ctx;              /* the caller's context */
    pdb_store *store;          /* read through its public calls */
    GEOSContextHandle_t h;     /* its GEOS handle */
    const pdb_qa_rules *rules; /* severities and thresholds */
    GEOSWKBWriter *wkb;        /* finding geometries to ISO WKB */
    pdb_qa_report *rep;        /* the report being filled */
    size_t cap;                /* findings allocated in rep->items */
} qa_run;

/* The parcels of one commune. */
typedef struct qa_commune {
    const char *code;  /* five digits */
    int epsg;          /* survey CRS */
    qa_parcel *p;      /* parcels, in store id order */
    size_t n;          /* used */
    size_t cap;        /* allocated */
    GEOSSTRtree *tree; /* over p[i].g, item i; built when first asked (commune_tree) */
    double env[4];     /* the parcels' envelope in epsg: min x, min y, max x, max y */
} qa_commune;

static int on(const qa_run *r, pdb_qa_check c)
{
    return r->rules->severity[c] != PDB_QA_OFF;
}

static double param(const qa_run *r, pdb_qa_check c, int k)
{
    return r->rules->param[c][k];
}

/* ------------------------------------------------------------------------ */
/* Findings                                                                  */
/* ------------------------------------------------------------------------ */

/* Adds a finding for parcel p (may be NULL) with geometry g (may be NULL,
 * borrowed) and a printf detail (fmt may be NULL); *out (may be NULL) is
 * the new finding, valid until the next add. */
static pdb_status add_finding(qa_run *r, const qa_commune *c, pdb_qa_check check,
                              const qa_parcel *p, const GEOSGeometry *g, double measure,
                              const char *unit, pdb_qa_finding **out, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));

static pdb_status add_finding(qa_run *r, const qa_commune *c, pdb_qa_check check,
                              const qa_parcel *p, const GEOSGeometry *g, double measure,
                              const char *unit, pdb_qa_finding **out, const char *fmt, ...)
{
    pdb_qa_report *rep = r->rep;
    if (rep->count == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        pdb_qa_finding *items = realloc(rep->items, cap * sizeof *items);
        if (items == NULL)
            return pdb__fail(r->ctx, PDB_ENOMEM, "out of memory");
        rep->items = items;
        r->cap = cap;
    }
    pdb_qa_finding *f = &rep->items[rep->count];
    memset(f, 0, sizeof *f);
    f->check = check;
    f->severity = r->rules->severity[check];
    snprintf(f->commune, sizeof f->commune, "%s", c->code);
    f->measure = measure;
    f->measure_unit = unit;
    f->srid = c->epsg;
    int oom = 0;
    if (p != NULL) {
        f->id = p->id;
        snprintf(f->former, sizeof f->former, "%s", p->former ? p->former : "");
        f->sheet = pdb__strdup(p->sheet);
        f->parcel = pdb__strdup(p->parcel);
        oom |= (p->sheet && !f->sheet) || (p->parcel && !f->parcel);
    }
    if (fmt != NULL) {
        char buf[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        oom |= (f->detail = strdup(buf)) == NULL;
    }
    if (g != NULL) {
        size_t len = 0;
        unsigned char *b = GEOSWKBWriter_write_r(r->h, r->wkb, g, &len);
        if (b != NULL) {
            f->wkb = malloc(len);
            if (f->wkb != NULL) {
                memcpy(f->wkb, b, len);
                f->wkb_len = len;
            }
            GEOSFree_r(r->h, b);
        }
        oom |= f->wkb == NULL;
    }
    rep->count++; /* owned by the report from here, freed with it */
    rep->by_severity[f->severity]++;
    if (oom)
        return pdb__fail(r->ctx, PDB_ENOMEM, "out of memory");
    if (out != NULL)
        *out = f;
    return PDB_OK;
}

static pdb_status set_other(qa_run *r, pdb_qa_finding *f, const char *commune, const qa_parcel *o)
{
    snprintf(f->other_commune, sizeof f->other_commune, "%s", commune);
    f->other_id = o->id;
    snprintf(f->other_former, sizeof f->other_former, "%s", o->former ? o->former : "");
    f->other_sheet = pdb__strdup(o->sheet);
    f->other_parcel = pdb__strdup(o->parcel);
    if ((o->sheet && !f->other_sheet) || (o->parcel && !f->other_parcel))
        return pdb__fail(r->ctx, PDB_ENOMEM, "out of memory");
    return PDB_OK;
}

/* ------------------------------------------------------------------------ */
/* Geometry in the survey CRS                                                */
/* ------------------------------------------------------------------------ */

/* The smallest distance between consecutive vertices of pg (m), and how
 * many pairs are closer than min_m. */
static double closest_pair(const pdb_polygons *pg, double min_m, size_t *close)
{
    double best = INFINITY;
    *close = 0;
    for (size_t ri = 0; ri < pg->nrings; ri++)
        for (size_t i = pg->ring_point[ri]; i + 1 < pg->ring_point[ri + 1]; i++) {
            double d =
                hypot(pg->xy[2 * i + 2] - pg->xy[2 * i], pg->xy[2 * i + 3] - pg->xy[2 * i + 1]);
            best = fmin(best, d);
            *close += d < min_m;
        }
    return best;
}

/* ------------------------------------------------------------------------ */
/* Reading a commune                                                         */
/* ------------------------------------------------------------------------ */

static void commune_clear(GEOSContextHandle_t h, qa_commune *c)
{
    if (c->tree != NULL)
        GEOSSTRtree_destroy_r(h, c->tree);
    for (size_t i = 0; i < c->n; i++) {
        free(c->p[i].former);
        free(c->p[i].sheet);
        free(c->p[i].parcel);
        free(c->p[i].landuse);
        if (c->p[i].g)
            GEOSGeom_destroy_r(h, c->p[i].g);
        pdb__qa_shape_clear(&c->p[i].shape);
        pdb_polygons_free(c->p[i].pg);
    }
    free(c->p);
    memset(c, 0, sizeof *c);
}

/* A parcel's geometry in epsg, valid: *g (owned) and, in pg_out (owned),
 * its coordinates as stored but transformed; *valid is 0 when the stored
 * geometry was not valid (g is then its MakeValid), with GEOS's reason. */
static pdb_status parcel_geometry(qa_run *r, const pdb_parcel *pp, int epsg, GEOSGeometry **g,
                                  pdb_polygons **pg_out, int *valid, char *reason, size_t cap)
{
    pdb_ctx *ctx = r->ctx;
    pdb_polygons *pg = NULL;
    pdb_status st;
    *g = NULL;
    *pg_out = NULL;
    *valid = 1;
    reason[0] = '\0';
    if ((st = pdb_wkb_to_polygons(ctx, pp->source_wkb, pp->source_wkb_len, &pg)) != PDB_OK)
        return pdb__fail(ctx, st, "parcel %s/%s/%s (id %lld): %s", pp->commune, pp->sheet,
                         pp->parcel, (long long)pp->id, pdb_errmsg(ctx));
    pdb__geos_list list = {0};
    GEOSGeometry *raw = NULL;
    if (pp->source_srid != epsg && pg->npoints > 0)
        st = pdb__crs_transform_xy(ctx, pp->source_srid, epsg, pg->xy, pg->npoints);
    if (st == PDB_OK && (st = pdb__mpoly_to_geos_polys(ctx, pg, &list)) == PDB_OK)
        st = pdb__geos_list_collect(ctx, &list, GEOS_MULTIPOLYGON, &raw);
    pdb__geos_list_clear(ctx, &list);
    if (st != PDB_OK) {
        pdb_polygons_free(pg);
        return pdb__fail(ctx, st, "parcel %s/%s/%s (id %lld): %s", pp->commune, pp->sheet,
                         pp->parcel, (long long)pp->id, pdb_errmsg(ctx));
    }
    /* Most parcels are one simple ring that is valid beyond doubt
     * (geom_simple.c); GEOS validates the rest. */
    if (!pdb__mpoly_certainly_valid(pg) && GEOSisValid_r(r->h, raw) != 1) {
        char *why = GEOSisValidReason_r(r->h, raw);
        snprintf(reason, cap, "%s", why ? why : "invalid");
        if (why)
            GEOSFree_r(r->h, why);
        *valid = 0;
        GEOSGeometry *m = GEOSMakeValid_r(r->h, raw), *poly = NULL;
        if (m == NULL || pdb__geos_polygonal_part(ctx, m, &poly) != PDB_OK)
            poly = NULL;
        if (m)
            GEOSGeom_destroy_r(r->h, m);
        GEOSGeom_destroy_r(r->h, raw);
        raw = poly;
        if (raw == NULL) {
            pdb_polygons_free(pg);
            return pdb__fail(ctx, PDB_EGEOM, "parcel %s/%s/%s (id %lld): no polygon after repair",
                             pp->commune, pp->sheet, pp->parcel, (long long)pp->id);
        }
    }
    *g = raw;
    *pg_out = pg;
    return PDB_OK;
}

/* Whether a parcel's main land use is long and thin by nature: roads
 * (DGT), irrigation canals and ditches (DTL), rivers and streams (SON).
 * On the whole generated province these are every parcel needle flags. */
static int linear_landuse(const char *landuse)
{
    static const char *const linear[] = {"DGT", "DTL", "SON"};
    if (landuse == NULL)
        return 0;
    size_t n = strcspn(landuse, "+");
    for (size_t i = 0; i < PDB_COUNTOF(linear); i++)
        if (n == strlen(linear[i]) && strncmp(landuse, linear[i], n) == 0)
            return 1;
    return 0;
}

/* The checks of one parcel alone: invalid, repaired, tiny, needle,
 * close_vertices, unknown_landuse, area_mismatch. */
static pdb_status parcel_checks(qa_run *r, qa_commune *c, const qa_parcel *p,
                                const pdb_polygons *pg, int valid, const char *reason)
{
    pdb_status st = PDB_OK;
    if (on(r, PDB_QA_REPAIRED) && (p->flags & PDB_PARCEL_REPAIRED))
        st = add_finding(r, c, PDB_QA_REPAIRED, p, p->g, p->area, "m2", NULL,
                         "stored repaired (MakeValid at import)%s%s", valid ? "" : ": ", reason);
    else if (on(r, PDB_QA_INVALID) && !valid)
        st = add_finding(r, c, PDB_QA_INVALID, p, p->g, p->area, "m2", NULL, "%s", reason);
    if (st != PDB_OK)
        return st;
    if (on(r, PDB_QA_TINY) && p->area < param(r, PDB_QA_TINY, QA_TINY_MIN_AREA) &&
        (st = add_finding(r, c, PDB_QA_TINY, p, p->g, p->area, "m2", NULL, "%.3f m2", p->area)) !=
            PDB_OK)
        return st;
    if (on(r, PDB_QA_NEEDLE) &&
        (param(r, PDB_QA_NEEDLE, QA_NEEDLE_LINEAR) > 0 || !linear_landuse(p->landuse))) {
        double len = 0;
        if (GEOSLength_r(r->h, p->g, &len) == 1 && len > 0) {
            double ratio = 4.0 * M_PI * p->area / (len * len);
            if (ratio < param(r, PDB_QA_NEEDLE, QA_NEEDLE_MIN_RATIO) &&
                (st = add_finding(r, c, PDB_QA_NEEDLE, p, p->g, ratio, "ratio", NULL,
                                  "4 pi A / P^2 = %.4f (A %.1f m2, P %.1f m)", ratio, p->area,
                                  len)) != PDB_OK)
                return st;
        }
    }
    if (on(r, PDB_QA_CLOSE_VERTICES)) {
        size_t close;
        double d = closest_pair(pg, param(r, PDB_QA_CLOSE_VERTICES, QA_CLOSE_MIN_DIST), &close);
        if (close > 0 &&
            (st = add_finding(r, c, PDB_QA_CLOSE_VERTICES, p, p->g, d, "m", NULL,
                              "%zu pair%s of consecutive vertices closer than %g m", close,
                              close == 1 ? "" : "s",
                              param(r, PDB_QA_CLOSE_VERTICES, QA_CLOSE_MIN_DIST))) != PDB_OK)
            return st;
    }
    if (on(r, PDB_QA_UNKNOWN_LANDUSE)) {
        char buf[128], bad[128] = "";
        size_t n = p->landuse ? strnlen(p->landuse, sizeof buf - 1) : 0;
        memcpy(buf, p->landuse ? p->landuse : "", n); /* snprintf cost more than the rest */
        buf[n] = '\0';
        char *save = NULL;
        for (char *s = strtok_r(buf, "+", &save); s; s = strtok_r(NULL, "+", &save))
            if (pdb_landuse_ref_find(s) == NULL)
                snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "%s%s", bad[0] ? "," : "", s);
        if ((bad[0] || buf[0] == '\0') &&
            (st = add_finding(r, c, PDB_QA_UNKNOWN_LANDUSE, p, p->g, 0, "count", NULL, "%s%s",
                              bad[0] ? "not in the national list: " : "no land-use code", bad)) !=
                PDB_OK)
            return st;
    }
    if (on(r, PDB_QA_AREA_MISMATCH) && !isnan(p->surveyed)) {
        double tol = param(r, PDB_QA_AREA_MISMATCH, QA_AREA_A) +
                     param(r, PDB_QA_AREA_MISMATCH, QA_AREA_B) *
                         (param(r, PDB_QA_AREA_MISMATCH, QA_AREA_SCALE) / 1000.0) * sqrt(p->area);
        tol = fmax(tol, param(r, PDB_QA_AREA_MISMATCH, QA_AREA_MIN_REL) * p->area);
        double diff = fabs(p->surveyed - p->area);
        if (diff > tol &&
            (st = add_finding(r, c, PDB_QA_AREA_MISMATCH, p, p->g, diff, "m2", NULL,
                              "registered %.1f m2, computed %.1f m2, tolerance %.1f m2",
                              p->surveyed, p->area, tol)) != PDB_OK)
            return st;
    }
    return PDB_OK;
}

/* Reads the current parcels of c->code (in c->epsg) that meet a WGS 84
 * box (bbox NULL: all), runs the single-parcel checks when checks is 1
 * and builds the STRtree. */
static pdb_status commune_load(qa_run *r, qa_commune *c, const double *bbox, int checks)
{
    pdb_ctx *ctx = r->ctx;
    pdb_status st = PDB_OK;
    pdb_page_query q;
    pdb_parcel_list *list = NULL;
    pdb_polygons *pg = NULL;
    char reason[256];

    memset(&q, 0, sizeof q);
    q.commune = c->code;
    if (bbox != NULL) {
        q.has_bbox = 1;
        memcpy(q.bbox, bbox, sizeof q.bbox);
    }
    for (;;) {
        if ((st = pdb_parcels_page(ctx, r->store, &q, PDB_READ_SOURCE, &list)) != PDB_OK)
            return st;
        if (c->n + list->count > c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 1024;
            while (cap < c->n + list->count)
                cap *= 2;
            qa_parcel *grown = realloc(c->p, cap * sizeof *grown);
            if (grown == NULL) {
                st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
                goto done;
            }
            c->p = grown;
            c->cap = cap;
        }
        for (size_t i = 0; i < list->count; i++) {
            pdb_parcel *pp = &list->items[i];
            qa_parcel *p = &c->p[c->n];
            int valid;
            memset(p, 0, sizeof *p);
            if ((st = parcel_geometry(r, pp, c->epsg, &p->g, &pg, &valid, reason, sizeof reason)) !=
                PDB_OK)
                goto done;
            c->n++; /* c owns p from here */
            p->id = pp->id;
            p->former = pp->former_commune;
            p->sheet = pp->sheet;
            p->parcel = pp->parcel;
            p->landuse = pp->landuse;
            pp->former_commune = pp->sheet = pp->parcel = pp->landuse = NULL;
            p->flags = pp->flags;
            p->surveyed = pp->area_surveyed_m2;
            if (GEOSArea_r(r->h, p->g, &p->area) != 1)
                p->area = 0;
            if (valid) { /* g is these rings: the pair filter may read them */
                p->pg = pg;
                pg = NULL;
                if ((st = pdb__qa_shape_init(ctx, p->pg, &p->shape)) != PDB_OK)
                    goto done;
            }
            double x0, y0, x1, y1;
            if (p->shape.usable) { /* the same box, without asking GEOS to compute it */
                x0 = p->shape.env[0], y0 = p->shape.env[1];
                x1 = p->shape.env[2], y1 = p->shape.env[3];
            }
            if (p->shape.usable || (GEOSGeom_getXMin_r(r->h, p->g, &x0) == 1 &&
                                    GEOSGeom_getYMin_r(r->h, p->g, &y0) == 1 &&
                                    GEOSGeom_getXMax_r(r->h, p->g, &x1) == 1 &&
                                    GEOSGeom_getYMax_r(r->h, p->g, &y1) == 1)) {
                if (c->n == 1 || x0 < c->env[0])
                    c->env[0] = x0;
                if (c->n == 1 || y0 < c->env[1])
                    c->env[1] = y0;
                if (c->n == 1 || x1 > c->env[2])
                    c->env[2] = x1;
                if (c->n == 1 || y1 > c->env[3])
                    c->env[3] = y1;
            }
            if (checks &&
                (st = parcel_checks(r, c, p, p->pg ? p->pg : pg, valid, reason)) != PDB_OK)
                goto done;
            pdb_polygons_free(pg);
            pg = NULL;
            r->rep->parcels += checks;
        }
        int more = list->truncated && list->count > 0;
        if (list->count > 0)
            q.after_id = list->items[list->count - 1].id;
        pdb_parcel_list_free(list);
        list = NULL;
        if (!more)
            break;
    }
done:
    pdb_polygons_free(pg);
    pdb_parcel_list_free(list);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Numbers                                                                   */
/* ------------------------------------------------------------------------ */

/* Compares numbers as numbers when both are digits, else as text. */
static int numcmp(const char *a, const char *b)
{
    a = a ? a : "";
    b = b ? b : "";
    size_t la = strlen(a), lb = strlen(b);
    int da = la > 0 && strspn(a, "0123456789") == la, db = lb > 0 && strspn(b, "0123456789") == lb;
    if (da && db) {
        while (*a == '0' && a[1])
            a++, la--;
        while (*b == '0' && b[1])
            b++, lb--;
        if (la != lb)
            return la < lb ? -1 : 1;
    }
    return strcmp(a, b);
}

/* s as numcmp orders plain digits (numerically), for at most 18 of them;
 * -1 otherwise. */
static long long plain_number(const char *s)
{
    long long v = 0;
    size_t n = 0;
    if (s == NULL || *s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if ((n += v > 0 || *s != '0') > 18)
            return -1;
        v = 10 * v + (*s - '0');
    }
    return v;
}

/* numcmp, from the numbers plain_number keeps when both have one: the
 * number sort compares each parcel a dozen times. */
static int keycmp(long long x, long long y, const char *a, const char *b)
{
    if (x >= 0 && y >= 0)
        return (x > y) - (x < y);
    return numcmp(a, b);
}

/* Orders parcels (given by pointer) by former commune, sheet, number, id. */
static int by_number(const void *x, const void *y)
{
    const qa_parcel *a = *(const qa_parcel *const *)x, *b = *(const qa_parcel *const *)y;
    int d =
        a->former == b->former ? 0 : strcmp(a->former ? a->former : "", b->former ? b->former : "");
    if (d == 0)
        d = keycmp(a->sheet_no, b->sheet_no, a->sheet, b->sheet);
    if (d == 0)
        d = keycmp(a->parcel_no, b->parcel_no, a->parcel, b->parcel);
    if (d == 0)
        d = a->id < b->id ? -1 : a->id > b->id;
    return d;
}

static int same_sheet(const qa_parcel *a, const qa_parcel *b)
{
    return strcmp(a->former ? a->former : "", b->former ? b->former : "") == 0 &&
           keycmp(a->sheet_no, b->sheet_no, a->sheet, b->sheet) == 0;
}

/* The parcel number as a positive integer, or 0. */
static long number_of(const char *s)
{
    if (s == NULL || *s == '\0' || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9)
        return 0;
    return strtol(s, NULL, 10);
}

/* duplicate_number and missing_number over the parcels sorted by number. */
static pdb_status number_checks(qa_run *r, qa_commune *c)
{
    pdb_status st = PDB_OK;
    const qa_parcel **ix = malloc((c->n ? c->n : 1) * sizeof *ix);
    if (ix == NULL)
        return pdb__fail(r->ctx, PDB_ENOMEM, "out of memory");
    for (size_t i = 0; i < c->n; i++) {
        ix[i] = &c->p[i];
        c->p[i].sheet_no = plain_number(c->p[i].sheet);
        c->p[i].parcel_no = plain_number(c->p[i].parcel);
    }
    if (c->n > 1)
        qsort(ix, c->n, sizeof *ix, by_number);
    for (size_t i = 0; i < c->n && st == PDB_OK;) {
        size_t j = i;
        while (j < c->n && same_sheet(ix[i], ix[j]))
            j++;
        /* [i, j): one sheet of one former commune, by number. */
        for (size_t k = i; k < j && st == PDB_OK; k++) {
            const qa_parcel *p = ix[k];
            const qa_parcel *o = k > i && keycmp(ix[k - 1]->parcel_no, p->parcel_no,
                                                 ix[k - 1]->parcel, p->parcel) == 0
                                     ? ix[k - 1]
                                 : k + 1 < j && keycmp(ix[k + 1]->parcel_no, p->parcel_no,
                                                       ix[k + 1]->parcel, p->parcel) == 0
                                     ? ix[k + 1]
                                     : NULL;
            pdb_qa_finding *f;
            if (o != NULL && on(r, PDB_QA_DUPLICATE_NUMBER) &&
                (st = add_finding(r, c, PDB_QA_DUPLICATE_NUMBER, p, p->g, 2, "count", &f,
                                  "sheet %s%s%s number %s is also parcel id %lld", p->sheet,
                                  p->former ? " of former commune " : "",
                                  p->former ? p->former : "", p->parcel, (long long)o->id)) ==
                    PDB_OK)
                st = set_other(r, f, c->code, o);
        }
        if (on(r, PDB_QA_MISSING_NUMBER) && st == PDB_OK) {
            char ranges[256] = "";
            size_t missing = 0, len = 0;
            long prev = 0;
            for (size_t k = i; k < j; k++) {
                long v = number_of(ix[k]->parcel);
                if (v <= prev)
                    continue;
                if (v > prev + 1) {
                    missing += (size_t)(v - prev - 1);
                    if (len + 24 < sizeof ranges) {
                        len += (size_t)(v == prev + 2 ? snprintf(ranges + len, sizeof ranges - len,
                                                                 "%s%ld", len ? "," : "", prev + 1)
                                                      : snprintf(ranges + len, sizeof ranges - len,
                                                                 "%s%ld-%ld", len ? "," : "",
                                                                 prev + 1, v - 1));
                    } else if (ranges[sizeof ranges - 2] == '\0') {
                        snprintf(ranges + len, sizeof ranges - len, ",...");
                        ranges[sizeof ranges - 2] = '.';
                    }
                }
                prev = v;
            }
            if (missing > 0) {
                qa_parcel sheet = {.sheet = ix[i]->sheet, .parcel = ranges};
                st = add_finding(r, c, PDB_QA_MISSING_NUMBER, &sheet, NULL, (double)missing,
                                 "count", NULL, "sheet %s%s%s: %zu numbers missing below %ld",
                                 sheet.sheet, ix[i]->former ? " of former commune " : "",
                                 ix[i]->former ? ix[i]->former : "", missing, prev);
                r->rep->items[r->rep->count - 1].id = 0;
            }
        }
        i = j;
    }
    free(ix);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Overlaps                                                                  */
/* ------------------------------------------------------------------------ */

/* Candidates of an STRtree query. */
typedef struct qa_hits {
    size_t *items; /* parcel indexes */
    size_t n;      /* used */
    size_t cap;    /* allocated */
    int oom;       /* 1 when an append failed */
} qa_hits;

static void hit(void *item, void *arg)
{
    qa_hits *h = arg;
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 32;
        size_t *grown = realloc(h->items, cap * sizeof *grown);
        if (grown == NULL) {
            h->oom = 1;
            return;
        }
        h->items = grown;
        h->cap = cap;
    }
    h->items[h->n++] = (size_t)(uintptr_t)item;
}

/* The overlap of a prepared parcel and another geometry: the polygonal
 * intersection when their interiors meet with an area of at least min_m2
 * (owned, *area set), else NULL. Neighbours that only share edges are
 * answered by the prepared predicates without an intersection. */
static GEOSGeometry *overlap_of(pdb_ctx *ctx, const GEOSPreparedGeometry *pa, const GEOSGeometry *a,
                                const GEOSGeometry *b, double min_m2, double *area)
{
    GEOSContextHandle_t h = ctx->geos;
    if (GEOSPreparedOverlaps_r(h, pa, b) != 1 && GEOSPreparedCovers_r(h, pa, b) != 1 &&
        GEOSPreparedCoveredBy_r(h, pa, b) != 1)
        return NULL;
    GEOSGeometry *x = GEOSIntersection_r(h, a, b), *poly = NULL;
    if (x == NULL || pdb__geos_polygonal_part(ctx, x, &poly) != PDB_OK)
        poly = NULL;
    if (x)
        GEOSGeom_destroy_r(h, x);
    if (poly == NULL || GEOSArea_r(h, poly, area) != 1 || *area < min_m2 || *area <= 0) {
        if (poly)
            GEOSGeom_destroy_r(h, poly);
        return NULL;
    }
    return poly;
}

/* Whether polygonal g (a gap, an overlap) is narrower than width_m
 * everywhere: nothing is left when it is shrunk by half the width (a
 * minimum clearance would call a wide road narrow wherever two of its
 * vertices are close). When GEOS cannot buffer, the answer is
 * if_unknown: the caller's safer side. */
static int narrower_than(GEOSContextHandle_t h, const GEOSGeometry *g, double width_m,
                         int if_unknown)
{
    GEOSGeometry *b = GEOSBuffer_r(h, g, -width_m / 2.0, 8);
    double a = 0;
    int narrow =
        b == NULL ? if_unknown : GEOSisEmpty_r(h, b) == 1 || (GEOSArea_r(h, b, &a) == 1 && a <= 0);
    if (b)
        GEOSGeom_destroy_r(h, b);
    return narrow;
}

/* The check an overlap x (of the area threshold or more) of check parent
 * is reported under: overlap_sliver when it is narrower than parent's
 * min_width_m everywhere (two surveys' millimetre rounding along a shared
 * boundary, docs/qa.md), else parent. Only overlaps already above the area
 * threshold come here, so the buffer costs a few per commune. A buffer
 * GEOS cannot make keeps the overlap an error: a false error is safer
 * than a hidden one. */
static pdb_qa_check overlap_kind(const qa_run *r, pdb_qa_check parent, const GEOSGeometry *x)
{
    double w = param(r, parent, QA_OVERLAP_MIN_WIDTH);
    return w > 0 && narrower_than(r->h, x, w, 0) ? PDB_QA_OVERLAP_SLIVER : parent;
}

/* The width an overlap or gap x would have as a strip: 2 A / P (m). */
static double mean_width(GEOSContextHandle_t h, const GEOSGeometry *x, double area)
{
    double len = 0;
    return GEOSLength_r(h, x, &len) == 1 && len > 0 ? 2 * area / len : 0;
}

/* Adds the finding for overlap x of p and o (o of commune other_code),
 * under overlap_kind's check when that check is on. */
static pdb_status add_overlap(qa_run *r, const qa_commune *c, pdb_qa_check parent,
                              const qa_parcel *p, const char *other_code, const qa_parcel *o,
                              const GEOSGeometry *x, double area)
{
    pdb_status st = PDB_OK;
    pdb_qa_finding *f;
    pdb_qa_check kind = overlap_kind(r, parent, x);
    const char *sep = parent == PDB_QA_OVERLAP_COMMUNE ? "/" : "";
    const char *oc = parent == PDB_QA_OVERLAP_COMMUNE ? other_code : "";
    if (!on(r, kind))
        return PDB_OK;
    if (kind == PDB_QA_OVERLAP_SLIVER)
        st = add_finding(r, c, kind, p, x, area, "m2", &f,
                         "%s/%s overlaps %s%s%s/%s by %.3f m2, narrower than %s.min_width_m "
                         "%.3f m everywhere (mean width %.4f m)",
                         p->sheet, p->parcel, oc, sep, o->sheet, o->parcel, area,
                         pdb_qa_check_name(parent), param(r, parent, QA_OVERLAP_MIN_WIDTH),
                         mean_width(r->h, x, area));
    else
        st = add_finding(r, c, kind, p, x, area, "m2", &f, "%s/%s overlaps %s%s%s/%s by %.3f m2",
                         p->sheet, p->parcel, oc, sep, o->sheet, o->parcel, area);
    if (st == PDB_OK)
        st = set_other(r, f, other_code, o);
    return st;
}

/* The STRtree over c's parcels, built at the first query (a neighbour
 * commune's parcels, read for overlap_commune, never need one), with the
 * parcels in their order. */
static pdb_status commune_tree(qa_run *r, qa_commune *c)
{
    if (c->tree != NULL)
        return PDB_OK;
    if ((c->tree = GEOSSTRtree_create_r(r->h, 10)) == NULL)
        return pdb__fail(r->ctx, PDB_ENOMEM, "GEOS cannot create an STRtree");
    for (size_t i = 0; i < c->n; i++)
        GEOSSTRtree_insert_r(r->h, c->tree, c->p[i].g, (void *)(uintptr_t)i);
    return PDB_OK;
}

/* The GEOS side of one pair the filter left (i < j): overlap_of with i
 * prepared, and the finding. */
static pdb_status overlap_pair(qa_run *r, qa_commune *c, size_t i, size_t j, double min_m2,
                               size_t *found)
{
    pdb_status st = PDB_OK;
    double area;
    const GEOSPreparedGeometry *pa = GEOSPrepare_r(r->h, c->p[i].g);
    if (pa == NULL)
        return pdb__fail(r->ctx, PDB_EGEOM, "GEOS cannot prepare parcel id %lld",
                         (long long)c->p[i].id);
    GEOSGeometry *x = overlap_of(r->ctx, pa, c->p[i].g, c->p[j].g, min_m2, &area);
    GEOSPreparedGeom_destroy_r(r->h, pa);
    if (x == NULL)
        return PDB_OK;
    (*found)++;
    if (on(r, PDB_QA_OVERLAP)) /* else run for the gaps' suspects only */
        st = add_overlap(r, c, PDB_QA_OVERLAP, &c->p[i], c->code, &c->p[j], x, area);
    GEOSGeom_destroy_r(r->h, x);
    return st;
}

/* overlap: every pair of the commune's parcels whose interiors overlap by
 * at least the threshold; *found is how many. A pair the exact filter of
 * qa_pair.c proves apart (nearly every pair of neighbours) costs GEOS
 * nothing. (A sweep over boxes sorted by their left side instead of the
 * STRtree saved 6 M instructions of 350 M on a commune of 5,278 parcels
 * and cost 4 M when the gaps build the tree anyway: not worth it.) */
static pdb_status overlap_check(qa_run *r, qa_commune *c, size_t *found)
{
    pdb_status st = commune_tree(r, c);
    qa_hits hits = {0};
    double min_m2 = param(r, PDB_QA_OVERLAP, QA_OVERLAP_MIN_AREA);
    *found = 0;
    for (size_t i = 0; i < c->n && st == PDB_OK; i++) {
        hits.n = 0;
        GEOSSTRtree_query_r(r->h, c->tree, c->p[i].g, hit, &hits);
        if (hits.oom)
            st = pdb__fail(r->ctx, PDB_ENOMEM, "out of memory");
        for (size_t k = 0; k < hits.n && st == PDB_OK; k++) {
            size_t j = hits.items[k];
            if (j <= i || pdb__qa_interiors_disjoint(&c->p[i].shape, &c->p[j].shape))
                continue; /* each pair once; apart */
            c->p[i].suspect = c->p[j].suspect = 1;
            st = overlap_pair(r, c, i, j, min_m2, found);
        }
    }
    free(hits.items);
    return st;
}

/* overlap_commune: c's parcels against those of the store's other
 * communes whose box meets c's, within the shared box, in c's CRS. A pair
 * of communes both in the run is checked once (from the lower code). */
static pdb_status overlap_commune_check(qa_run *r, qa_commune *c, const pdb_commune_list *all,
                                        const double *cbox)
{
    pdb_status st = PDB_OK;
    qa_hits hits = {0};
    double min_m2 = param(r, PDB_QA_OVERLAP_COMMUNE, QA_OVERLAP_MIN_AREA);
    for (size_t k = 0; k < all->count && st == PDB_OK; k++) {
        const pdb_commune *o = &all->items[k];
        double box[4] = {fmax(cbox[0], o->bbox[0]), fmax(cbox[1], o->bbox[1]),
                         fmin(cbox[2], o->bbox[2]), fmin(cbox[3], o->bbox[3])};
        if (strcmp(o->code, c->code) == 0 || box[0] > box[2] || box[1] > box[3])
            continue;
        int in_run = 0;
        for (size_t m = 0; m < r->rep->ncommunes; m++)
            in_run |= strcmp(r->rep->communes[m], o->code) == 0;
        if (in_run && strcmp(o->code, c->code) < 0)
            continue; /* checked from the other side */
        if ((st = commune_tree(r, c)) != PDB_OK)
            break;
        qa_commune other = {.code = o->code, .epsg = c->epsg};
        if ((st = commune_load(r, &other, box, 0)) != PDB_OK) {
            commune_clear(r->h, &other);
            break;
        }
        for (size_t j = 0; j < other.n && st == PDB_OK; j++) {
            const GEOSPreparedGeometry *pb = NULL;
            hits.n = 0;
            GEOSSTRtree_query_r(r->h, c->tree, other.p[j].g, hit, &hits);
            if (hits.oom)
                st = pdb__fail(r->ctx, PDB_ENOMEM, "out of memory");
            for (size_t h = 0; h < hits.n && st == PDB_OK; h++) {
                const qa_parcel *p = &c->p[hits.items[h]];
                double area;
                if (pdb__qa_interiors_disjoint(&other.p[j].shape, &p->shape))
                    continue;
                if (pb == NULL && (pb = GEOSPrepare_r(r->h, other.p[j].g)) == NULL) {
                    st = pdb__fail(r->ctx, PDB_EGEOM, "GEOS cannot prepare parcel id %lld",
                                   (long long)other.p[j].id);
                    break;
                }
                GEOSGeometry *x = overlap_of(r->ctx, pb, other.p[j].g, p->g, min_m2, &area);
                if (x == NULL)
                    continue;
                st = add_overlap(r, c, PDB_QA_OVERLAP_COMMUNE, p, o->code, &other.p[j], x, area);
                GEOSGeom_destroy_r(r->h, x);
            }
            if (pb != NULL)
                GEOSPreparedGeom_destroy_r(r->h, pb);
        }
        commune_clear(r->h, &other);
    }
    free(hits.items);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Gaps                                                                      */
/* ------------------------------------------------------------------------ */

/* Appends the parts of mp to b; -1 when out of memory. */
static int append_parts(pdb__mpoly_builder *b, const pdb_polygons *mp)
{
    for (size_t k = 0; k < mp->nparts; k++) {
        if (pdb__mpb_open_part(b) != 0)
            return -1;
        for (size_t ring = mp->part_ring[k]; ring < mp->part_ring[k + 1]; ring++) {
            size_t i0 = mp->ring_point[ring], n = mp->ring_point[ring + 1] - i0;
            double *dst = pdb__mpb_add_ring(b, n);
            if (dst == NULL)
                return -1;
            memcpy(dst, &mp->xy[2 * i0], 2 * n * sizeof *dst);
        }
        pdb__mpb_close_part(b);
    }
    return 0;
}

/* The robust union (GEOSUnaryUnion) of every parcel of c, or only of
 * those not proven apart from their neighbours (suspects_only), or NULL
 * when there are none or GEOS fails (*none says which). */
static GEOSGeometry *robust_union(qa_run *r, qa_commune *c, int suspects_only, int *none)
{
    pdb__geos_list list = {0};
    GEOSGeometry *all = NULL, *u = NULL;
    *none = 1;
    for (size_t i = 0; i < c->n; i++) {
        if (suspects_only && !c->p[i].suspect && c->p[i].pg != NULL)
            continue;
        *none = 0;
        GEOSGeometry *copy = GEOSGeom_clone_r(r->h, c->p[i].g); /* GEOS 3.11 cannot lend them */
        if (copy == NULL || pdb__geos_list_push(r->ctx, &list, copy) != PDB_OK)
            goto done;
    }
    if (!*none && pdb__geos_list_collect(r->ctx, &list, GEOS_GEOMETRYCOLLECTION, &all) == PDB_OK)
        u = GEOSUnaryUnion_r(r->h, all);
done:
    if (all != NULL)
        GEOSGeom_destroy_r(r->h, all);
    pdb__geos_list_clear(r->ctx, &list);
    return u;
}

/* The union of the commune's parcels. Those the overlap check proved
 * apart from every neighbour (nearly all of them) form a coverage, whose
 * union is geom_union.c's cancellation of shared edges, without GEOS, and
 * validated by GEOS; the rest (overlapping, repaired, or left to GEOS by
 * the pair filter) are added with a robust union. When the coverage union
 * cannot be made or is not valid (edges that meet without sharing their
 * ends), the robust union of every parcel, as when no check is cheap. */
static GEOSGeometry *commune_union(qa_run *r, qa_commune *c)
{
    pdb__mpoly_builder b = {0}, cov = {0};
    pdb__geos_list list = {0};
    GEOSGeometry *fast = NULL, *u = NULL;
    int none = 1;
    for (size_t i = 0; i < c->n; i++)
        if (!c->p[i].suspect && c->p[i].pg != NULL && append_parts(&b, c->p[i].pg) != 0)
            goto robust;
    if (b.mp.nparts == 0 || pdb__coverage_union(r->ctx, &b.mp, &cov) != PDB_OK ||
        pdb__mpoly_to_geos_polys(r->ctx, &cov.mp, &list) != PDB_OK ||
        pdb__geos_list_collect(r->ctx, &list, GEOS_MULTIPOLYGON, &fast) != PDB_OK ||
        GEOSisValid_r(r->h, fast) != 1)
        goto robust;
    GEOSGeometry *rest = robust_union(r, c, 1, &none);
    if (none)
        u = fast;
    else if (rest != NULL)
        u = GEOSUnion_r(r->h, fast, rest);
    if (rest != NULL)
        GEOSGeom_destroy_r(r->h, rest);
    if (u == fast)
        fast = NULL;
robust:
    if (fast != NULL)
        GEOSGeom_destroy_r(r->h, fast);
    pdb__geos_list_clear(r->ctx, &list);
    pdb__mpoly_free(&b.mp);
    pdb__mpoly_free(&cov.mp);
    if (u == NULL)
        u = robust_union(r, c, 0, &none);
    return u;
}

/* Holes below a square millimetre are not gaps a survey can hold but the
 * floating point of a vertex on (not exactly on) a neighbour's edge: on
 * the bench's province the unions found a few of 1e-13 to 1e-9 m2, which
 * of them depending on the union's method (docs/qa.md). */
#define QA_GAP_NOISE_M2 1e-6

/* One candidate gap (a polygon, borrowed): reported when it is narrower
 * than the width everywhere or smaller than the area, with the parcels
 * around it. */
static pdb_status report_gap(qa_run *r, qa_commune *c, const GEOSGeometry *gap, qa_hits *hits)
{
    double wmax = param(r, PDB_QA_GAP, QA_GAP_MAX_WIDTH),
           amax = param(r, PDB_QA_GAP, QA_GAP_MAX_AREA);
    double area = 0;
    GEOSArea_r(r->h, gap, &area);
    int narrow = narrower_than(r->h, gap, wmax, 1);
    if (area < QA_GAP_NOISE_M2 || (!narrow && area >= amax))
        return PDB_OK;
    /* The parcels around it, for the officer and the tests. */
    char around[256] = "";
    size_t used = 0;
    const qa_parcel *first = NULL;
    pdb_status st = commune_tree(r, c);
    if (st != PDB_OK)
        return st;
    hits->n = 0;
    GEOSSTRtree_query_r(r->h, c->tree, gap, hit, hits);
    for (size_t m = 0; m < hits->n; m++) {
        const qa_parcel *p = &c->p[hits->items[m]];
        double d = INFINITY;
        if (GEOSDistance_r(r->h, p->g, gap, &d) != 1 || d > 1e-3)
            continue;
        if (first == NULL)
            first = p;
        if (used + 24 < sizeof around)
            used += (size_t)snprintf(around + used, sizeof around - used, "%s%s%s%s/%s",
                                     used ? " " : "", p->former ? p->former : "",
                                     p->former ? ":" : "", p->sheet, p->parcel);
    }
    return add_finding(r, c, PDB_QA_GAP, first, gap, area, "m2", NULL,
                       "%s gap of %.4f m2, mean width %.3f m, between %s",
                       narrow ? "sliver" : "small", area, mean_width(r->h, gap, area), around);
}

/* A polygon of ring (cloned), or NULL. */
static GEOSGeometry *ring_polygon(GEOSContextHandle_t h, const GEOSGeometry *ring)
{
    GEOSGeometry *shell = GEOSGeom_clone_r(h, ring);
    return shell ? GEOSGeom_createPolygon_r(h, shell, NULL, 0) : NULL;
}

/* gap: the holes of the commune's union, less the parcels standing in
 * them as islands (a parcel inside a ring of others, with a sliver all
 * round: the union holds it as a polygon of its own inside the hole),
 * each part reported by report_gap. */
static pdb_status gap_check(qa_run *r, qa_commune *c)
{
    pdb_status st = PDB_OK;
    GEOSGeometry *u = commune_union(r, c);
    qa_hits hits = {0};
    if (u == NULL)
        return pdb__fail(r->ctx, PDB_EGEOM, "commune %s: GEOS cannot union its parcels", c->code);
    int np = GEOSGetNumGeometries_r(r->h, u);
    for (int i = 0; i < np && st == PDB_OK; i++) {
        const GEOSGeometry *poly = GEOSGetGeometryN_r(r->h, u, i);
        if (GEOSGeomTypeId_r(r->h, poly) != GEOS_POLYGON)
            continue;
        int nh = GEOSGetNumInteriorRings_r(r->h, poly);
        for (int k = 0; k < nh && st == PDB_OK; k++) {
            GEOSGeometry *hole = ring_polygon(r->h, GEOSGetInteriorRingN_r(r->h, poly, k));
            const GEOSPreparedGeometry *ph = hole ? GEOSPrepare_r(r->h, hole) : NULL;
            if (ph == NULL) {
                if (hole)
                    GEOSGeom_destroy_r(r->h, hole);
                st = pdb__fail(r->ctx, PDB_EGEOM, "commune %s: GEOS cannot build a gap", c->code);
                break;
            }
            /* The islands: other polygons of the union inside this hole,
             * filled (their own holes are theirs to report). */
            GEOSGeometry *gap = hole;
            for (int j = 0; j < np && gap != NULL; j++) {
                const GEOSGeometry *other = GEOSGetGeometryN_r(r->h, u, j);
                if (j == i || GEOSGeomTypeId_r(r->h, other) != GEOS_POLYGON ||
                    GEOSPreparedCovers_r(r->h, ph, other) != 1)
                    continue;
                GEOSGeometry *filled = ring_polygon(r->h, GEOSGetExteriorRing_r(r->h, other));
                GEOSGeometry *rest = filled ? GEOSDifference_r(r->h, gap, filled) : NULL;
                if (filled)
                    GEOSGeom_destroy_r(r->h, filled);
                if (gap != hole)
                    GEOSGeom_destroy_r(r->h, gap);
                gap = rest;
            }
            if (gap == NULL) {
                st = pdb__fail(r->ctx, PDB_EGEOM,
                               "commune %s: GEOS cannot cut an island out of a gap", c->code);
            } else {
                int parts = GEOSGetNumGeometries_r(r->h, gap);
                for (int m = 0; m < parts && st == PDB_OK; m++) {
                    const GEOSGeometry *part = GEOSGetGeometryN_r(r->h, gap, m);
                    if (GEOSGeomTypeId_r(r->h, part) == GEOS_POLYGON)
                        st = report_gap(r, c, part, &hits);
                }
            }
            GEOSPreparedGeom_destroy_r(r->h, ph);
            if (gap != NULL && gap != hole)
                GEOSGeom_destroy_r(r->h, gap);
            GEOSGeom_destroy_r(r->h, hole);
        }
    }
    GEOSGeom_destroy_r(r->h, u);
    free(hits.items);
    return st;
}

/* ------------------------------------------------------------------------ */
/* The run                                                                   */
/* ------------------------------------------------------------------------ */

/* The commune's WGS 84 box (min lon, min lat, max lon, max lat) from its
 * parcels' envelope in the survey CRS: the four corners and the middles
 * of the sides transformed (a TM-3 box's sides bow slightly in degrees),
 * widened by about a metre. */
static pdb_status wgs84_box(pdb_ctx *ctx, const qa_commune *c, double box[4])
{
    double mx = (c->env[0] + c->env[2]) / 2, my = (c->env[1] + c->env[3]) / 2;
    double x[8] = {c->env[0], c->env[2], c->env[2], c->env[0], mx, c->env[2], mx, c->env[0]};
    double y[8] = {c->env[1], c->env[1], c->env[3], c->env[3], c->env[1], my, c->env[3], my};
    pdb_status st = pdb_crs_transform(ctx, c->epsg, 4326, x, y, 8);
    if (st != PDB_OK)
        return st;
    box[0] = box[2] = x[0];
    box[1] = box[3] = y[0];
    for (int i = 1; i < 8; i++) {
        box[0] = fmin(box[0], x[i]);
        box[1] = fmin(box[1], y[i]);
        box[2] = fmax(box[2], x[i]);
        box[3] = fmax(box[3], y[i]);
    }
    box[0] -= 1e-5;
    box[1] -= 1e-5;
    box[2] += 1e-5;
    box[3] += 1e-5;
    return PDB_OK;
}

void pdb_qa_report_free(pdb_qa_report *rep)
{
    if (rep == NULL)
        return;
    for (size_t i = 0; i < rep->count; i++) {
        pdb_qa_finding *f = &rep->items[i];
        free(f->sheet);
        free(f->parcel);
        free(f->other_sheet);
        free(f->other_parcel);
        free(f->detail);
        free(f->wkb);
    }
    for (size_t i = 0; i < rep->nskips; i++)
        free(rep->skips[i].reason);
    free(rep->skips);
    free(rep->items);
    free(rep->communes);
    free(rep);
}

static int by_finding(const void *x, const void *y)
{
    const pdb_qa_finding *a = x, *b = y;
    int d = strcmp(a->commune, b->commune);
    if (d == 0)
        d = (int)a->check - (int)b->check;
    if (d == 0)
        d = numcmp(a->sheet, b->sheet);
    if (d == 0)
        d = numcmp(a->parcel, b->parcel);
    if (d == 0)
        d = a->other_id < b->other_id ? -1 : a->other_id > b->other_id;
    return d;
}

static int by_code(const void *x, const void *y)
{
    return strcmp((const char *)x, (const char *)y);
}

pdb_status pdb_qa_run(pdb_ctx *ctx, pdb_store *store, const pdb_qa_rules *rules,
                      const char *const *communes, size_t n, pdb_qa_report **out)
{
    pdb_status st;
    pdb_commune_list *all = NULL;
    qa_run r = {.ctx = ctx, .store = store, .rules = rules, .h = ctx->geos};
    qa_commune c = {0};

    *out = NULL;
    if ((r.rep = calloc(1, sizeof *r.rep)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    if ((st = pdb_communes_list(ctx, store, &all)) != PDB_OK)
        goto done;
    size_t want = n ? n : all->count;
    if ((r.rep->communes = calloc(want ? want : 1, sizeof *r.rep->communes)) == NULL) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < want; i++) {
        const char *code = n ? communes[i] : all->items[i].code;
        const pdb_commune_ref *ref;
        if ((st = pdb_commune_ref_find(ctx, code, &ref)) != PDB_OK)
            goto done;
        /* Asked of the parcels, not of the commune list: inside an
         * import's open transaction (import --qa) a new commune has
         * parcels before it has a row of its own. */
        pdb_page_query one = {.commune = code, .limit = 1};
        pdb_parcel_list *first = NULL;
        if ((st = pdb_parcels_page(ctx, store, &one, 0, &first)) != PDB_OK)
            goto done;
        size_t held = first->count;
        pdb_parcel_list_free(first);
        if (held == 0) {
            st = pdb__fail(ctx, PDB_ENOTFOUND, "commune %s (%s) has no parcels in the store", code,
                           ref->name);
            goto done;
        }
        int dup = 0;
        for (size_t m = 0; m < r.rep->ncommunes; m++)
            dup |= strcmp(r.rep->communes[m], code) == 0;
        if (!dup)
            snprintf(r.rep->communes[r.rep->ncommunes++], 8, "%s", code);
    }
    if (r.rep->ncommunes > 1)
        qsort(r.rep->communes, r.rep->ncommunes, sizeof *r.rep->communes, by_code);
    if (rules->severity[PDB_QA_OUTSIDE_COMMUNE] != PDB_QA_OFF) {
        /* The store keeps each commune as its parcels: its outline is their
         * union, which no parcel can leave. docs/qa.md says so. */
        if ((r.rep->skips = calloc(1, sizeof *r.rep->skips)) == NULL ||
            (r.rep->skips[0].reason =
                 strdup("the store keeps no commune boundary, only the parcels (whose union is the "
                        "commune's outline, which no parcel can leave)")) == NULL) {
            st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
            goto done;
        }
        r.rep->skips[0].check = PDB_QA_OUTSIDE_COMMUNE;
        r.rep->nskips = 1;
    }
    if ((r.wkb = GEOSWKBWriter_create_r(r.h)) == NULL) {
        st = pdb__fail(ctx, PDB_ENOMEM, "GEOS cannot create a WKB writer");
        goto done;
    }
    GEOSWKBWriter_setFlavor_r(r.h, r.wkb, GEOS_WKB_ISO);
    GEOSWKBWriter_setOutputDimension_r(r.h, r.wkb, 2);
    for (size_t i = 0; i < r.rep->ncommunes; i++) {
        const pdb_commune_ref *ref;
        if ((st = pdb_commune_ref_find(ctx, r.rep->communes[i], &ref)) != PDB_OK)
            goto done;
        c.code = r.rep->communes[i];
        c.epsg = ref->epsg;
        if ((st = commune_load(&r, &c, NULL, 1)) != PDB_OK)
            goto done;
        if ((on(&r, PDB_QA_DUPLICATE_NUMBER) || on(&r, PDB_QA_MISSING_NUMBER)) &&
            (st = number_checks(&r, &c)) != PDB_OK)
            goto done;
        size_t overlaps = 0;
        if ((on(&r, PDB_QA_OVERLAP) || on(&r, PDB_QA_GAP)) &&
            (st = overlap_check(&r, &c, &overlaps)) != PDB_OK)
            goto done;
        if (on(&r, PDB_QA_GAP) && c.n > 0 && (st = gap_check(&r, &c)) != PDB_OK)
            goto done;
        double box[4];
        if (on(&r, PDB_QA_OVERLAP_COMMUNE) && c.n > 0 &&
            ((st = wgs84_box(ctx, &c, box)) != PDB_OK ||
             (st = overlap_commune_check(&r, &c, all, box)) != PDB_OK))
            goto done;
        commune_clear(r.h, &c);
    }
    if (r.rep->count > 1) /* items is NULL without findings: qsort takes no NULL */
        qsort(r.rep->items, r.rep->count, sizeof *r.rep->items, by_finding);
    *out = r.rep;
    r.rep = NULL;
    st = pdb__ok(ctx);
done:
    commune_clear(r.h, &c);
    if (r.wkb)
        GEOSWKBWriter_destroy_r(r.h, r.wkb);
    pdb_commune_list_free(all);
    pdb_qa_report_free(r.rep);
    return st;
}
