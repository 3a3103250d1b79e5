/*
 * defects.c: the defects of a real survey, in exact numbers.
 *
 * Each defective parcel has exactly one defect, and the partner of a
 * duplicate number stays clean, so that every count in the manifest maps to
 * one importer outcome (samples/README.md). Geometry defects are checked
 * with GEOS as they are made: a "repairable" one must be invalid and
 * MakeValid must give a polygon or multipolygon within 0.05% of its area
 * (the importer's tolerance is 0.1%); an "unrepairable" one must be invalid
 * and MakeValid must change its area by more than 10%.
 */
#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;    /* manifest key */
    const char *outcome; /* what an importer does with it */
    const char *reason;  /* the reject reason or flag */
    double rate;         /* default share of parcels */
} kinds[DEF_COUNT] = {
    [DEF_NONE] = {"none", "stored", "", 0},
    [DEF_NULL_GEOMETRY] = {"null_geometry", "rejected", "null-geometry", 0.0005},
    [DEF_EMPTY_GEOMETRY] = {"empty_geometry", "rejected", "empty-geometry", 0.0003},
    [DEF_POINT_GEOMETRY] = {"point_geometry", "rejected", "not-polygon", 0.0003},
    [DEF_LINE_GEOMETRY] = {"line_geometry", "rejected", "not-polygon", 0.0003},
    [DEF_INVALID_REPAIRABLE] = {"invalid_repairable", "stored+repaired", "invalid-geometry", 0.002},
    [DEF_INVALID_UNREPAIRABLE] = {"invalid_unrepairable", "rejected", "invalid-geometry", 0.0005},
    [DEF_MISSING_SHEET] = {"missing_sheet", "rejected", "missing-number", 0.0004},
    [DEF_MISSING_PARCEL] = {"missing_parcel", "rejected", "missing-number", 0.0004},
    [DEF_DUPLICATE_NUMBER] = {"duplicate_number", "stored+flagged", "duplicate-number", 0.001},
    [DEF_UNKNOWN_LANDUSE] = {"unknown_landuse", "stored+flagged", "unknown-landuse", 0.001},
    [DEF_AREA_MISMATCH] = {"area_mismatch", "stored+flagged", "area-mismatch", 0.003},
};

const char *synth_defect_name(synth_defect d)
{
    return kinds[d].name;
}

const char *synth_defect_outcome(synth_defect d)
{
    return kinds[d].outcome;
}

const char *synth_defect_reason(synth_defect d)
{
    return kinds[d].reason;
}

int synth_format_supports(synth_format fmt, synth_defect d)
{
    switch (d) {
    case DEF_NULL_GEOMETRY:
        /* CAD files have no feature without geometry; KML writes null as empty. */
        return fmt != FMT_DXF && fmt != FMT_DGN && fmt != FMT_KML;
    case DEF_EMPTY_GEOMETRY:
        /* Shapefile, GeoJSON and GML write an empty polygon as no geometry. */
        return fmt == FMT_GPKG || fmt == FMT_CSV || fmt == FMT_KML;
    case DEF_POINT_GEOMETRY:
    case DEF_LINE_GEOMETRY:
        return fmt != FMT_SHP; /* one geometry type per Shapefile */
    default:
        return 1;
    }
}

/* ------------------------------------------------------------------------ */
/* GEOS checks                                                               */
/* ------------------------------------------------------------------------ */

static GEOSGeometry *ring_polygon(GEOSContextHandle_t h, const synth_commune *c, const uint32_t *v,
                                  size_t n)
{
    GEOSCoordSequence *cs = GEOSCoordSeq_create_r(h, (unsigned)(n + 1), 2);
    if (cs == NULL)
        return NULL;
    for (size_t i = 0; i <= n; i++) {
        uint32_t k = v[i % n];
        GEOSCoordSeq_setXY_r(h, cs, (unsigned)i, c->vx[k], c->vy[k]);
    }
    GEOSGeometry *ring = GEOSGeom_createLinearRing_r(h, cs);
    if (ring == NULL)
        return NULL;
    return GEOSGeom_createPolygon_r(h, ring, NULL, 0);
}

/* Relative area change MakeValid makes, or -1 when the polygon is valid,
 * 2 when MakeValid gives something that is not polygonal. */
static double repair_change(GEOSContextHandle_t h, const synth_commune *c, const uint32_t *v,
                            size_t n)
{
    GEOSGeometry *g = ring_polygon(h, c, v, n), *m = NULL;
    double a = 0, b = 0, change = 2.0;
    if (g == NULL)
        return 2.0;
    if (GEOSisValid_r(h, g) == 1) {
        GEOSGeom_destroy_r(h, g);
        return -1.0;
    }
    m = GEOSMakeValid_r(h, g);
    if (m != NULL) {
        int t = GEOSGeomTypeId_r(h, m);
        if ((t == GEOS_POLYGON || t == GEOS_MULTIPOLYGON) && GEOSArea_r(h, g, &a) &&
            GEOSArea_r(h, m, &b) && a > 0)
            change = fabs(b - a) / a;
        GEOSGeom_destroy_r(h, m);
    }
    GEOSGeom_destroy_r(h, g);
    return change;
}

/* ------------------------------------------------------------------------ */
/* Geometry defects                                                          */
/* ------------------------------------------------------------------------ */

static void unit(double dx, double dy, double *ux, double *uy)
{
    double l = hypot(dx, dy);
    *ux = l > 0 ? dx / l : 0;
    *uy = l > 0 ? dy / l : 0;
}

/* Replaces parcel p's only ring by `v` (n vertices). */
static int replace_ring(synth_commune *c, synth_parcel *p, const uint32_t *v, size_t n)
{
    uint32_t first = (uint32_t)c->nrings;
    if (synth_add_ring(c, v, n, 0, 0) != 0)
        return -1;
    p->first_ring = first;
    p->nrings = 1;
    p->area_m2 = synth_ring_area(c, &c->rings[first]);
    return 0;
}

/* A repairable defect: form 0 makes the ring touch itself at its first
 * vertex (a tiny notch loop: an "inverted hole", which MakeValid turns into
 * a hole touching the boundary, area unchanged); form 1 crosses the ring
 * over itself 5 cm from a corner (a bow with a lobe of about 1 cm2, which
 * MakeValid splits off: area change about 1e-5). */
static int make_repairable(GEOSContextHandle_t h, synth_commune *c, synth_parcel *p, int form)
{
    const synth_ring *r = &c->rings[p->first_ring];
    size_t n = r->n;
    uint32_t *v = malloc((n + 4) * sizeof *v), a, b;
    const uint32_t *old = c->ring_vertices + r->off;
    int ok = 0;

    if (v == NULL)
        return -1;
    uint32_t iv = old[0], ip = old[n - 1], iq = old[1];
    double vx = c->vx[iv], vy = c->vy[iv];
    double px, py, qx, qy;
    unit(c->vx[ip] - vx, c->vy[ip] - vy, &px, &py);
    unit(c->vx[iq] - vx, c->vy[iq] - vy, &qx, &qy);
    if (form == 0) {
        /* Two points 40 cm inside the corner, 20 degrees either side of its
         * bisector; the loop v -> a -> b -> v runs clockwise (a notch). */
        double bx, by;
        unit(px + qx, py + qy, &bx, &by);
        double cs = cos(0.35), sn = sin(0.35);
        double ax = vx + 0.4 * (bx * cs - by * sn), ay = vy + 0.4 * (bx * sn + by * cs);
        double cx = vx + 0.4 * (bx * cs + by * sn), cy = vy + 0.4 * (-bx * sn + by * cs);
        double cross = (ax - vx) * (cy - vy) - (cx - vx) * (ay - vy);
        if (cross > 0) { /* counter-clockwise: swap to make the notch */
            double tx = ax, ty = ay;
            ax = cx;
            ay = cy;
            cx = tx;
            cy = ty;
        }
        if (synth_add_vertex(c, ax, ay, &a) != 0 || synth_add_vertex(c, cx, cy, &b) != 0)
            goto done;
        size_t k = 0;
        v[k++] = iv;
        v[k++] = a;
        v[k++] = b;
        for (size_t i = 0; i < n; i++)
            v[k++] = old[i]; /* back to v, then the rest of the ring */
        double ch = repair_change(h, c, v, k);
        if (ch < 0 || ch > 0.0005)
            goto done;
        ok = replace_ring(c, p, v, k) == 0;
    } else {
        /* p ... -> A (5 cm from v towards q) -> B (5 cm from v towards p) -> q ... */
        if (synth_add_vertex(c, vx + 0.05 * qx, vy + 0.05 * qy, &a) != 0 ||
            synth_add_vertex(c, vx + 0.05 * px, vy + 0.05 * py, &b) != 0)
            goto done;
        size_t k = 0;
        v[k++] = a;
        v[k++] = b;
        for (size_t i = 1; i < n; i++)
            v[k++] = old[i];
        double ch = repair_change(h, c, v, k);
        if (ch < 0 || ch > 0.0005)
            goto done;
        ok = replace_ring(c, p, v, k) == 0;
    }
done:
    free(v);
    return ok ? 0 : -1;
}

/* An unrepairable defect: the parcel's corners joined in the wrong order (a
 * bowtie); MakeValid gives two triangles whose area is far from the input's. */
static int make_bowtie(GEOSContextHandle_t h, synth_commune *c, synth_parcel *p)
{
    const synth_ring *r = &c->rings[p->first_ring];
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    uint32_t v[4];
    for (uint32_t i = 0; i < r->n; i++) {
        uint32_t k = c->ring_vertices[r->off + i];
        x0 = fmin(x0, c->vx[k]);
        x1 = fmax(x1, c->vx[k]);
        y0 = fmin(y0, c->vy[k]);
        y1 = fmax(y1, c->vy[k]);
    }
    if (synth_add_vertex(c, x0, y0, &v[0]) != 0 || synth_add_vertex(c, x1, y1, &v[1]) != 0 ||
        synth_add_vertex(c, x1, y0, &v[2]) != 0 ||
        synth_add_vertex(c, x0, y0 + 0.6 * (y1 - y0), &v[3]) != 0)
        return -1;
    double ch = repair_change(h, c, v, 4);
    if (ch >= 0 && ch < 0.10)
        return -1;
    return replace_ring(c, p, v, 4);
}

/* ------------------------------------------------------------------------ */
/* Choosing the victims                                                      */
/* ------------------------------------------------------------------------ */

static const char *const unknown_codes[] = {"LNK", "TSN", "ONT1", "XYZ", "ONT+LNK", "DHT", "LUA1"};

static int any_unknown(const char *codes)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%s", codes);
    for (char *s = strtok(buf, "+"); s; s = strtok(NULL, "+"))
        if (pdb_landuse_ref_find(s) == NULL)
            return 1;
    return 0;
}

static int geometry_kind(synth_defect d)
{
    return d >= DEF_NULL_GEOMETRY && d <= DEF_INVALID_UNREPAIRABLE;
}

int synth_defects_apply(GEOSContextHandle_t geos, const synth_options *o, synth_format fmt,
                        synth_commune *c, char *err, size_t errlen)
{
    size_t want[DEF_COUNT] = {0};
    size_t n = c->nparcels, total = 0;
    synth_rng r;
    size_t *order = NULL;
    unsigned char *taken = NULL;
    int rc = -1;

    memset(c->counts, 0, sizeof c->counts);
    if (o->defects_mode == 0 || n == 0)
        return 0;
    for (int d = DEF_NULL_GEOMETRY; d < DEF_COUNT; d++) {
        if (!synth_format_supports(fmt, (synth_defect)d))
            continue;
        if (o->defects_mode == 2) {
            want[d] = o->defects_per_kind;
        } else {
            want[d] = (size_t)llround(kinds[d].rate * (double)n);
            if (want[d] < 1)
                want[d] = 1;
        }
        total += want[d] * (d == DEF_DUPLICATE_NUMBER ? 2 : 1);
    }
    if (total * 2 > n) {
        snprintf(err, errlen, "commune %s: %zu parcels are too few for %zu defects", c->ref->code,
                 n, total);
        return -1;
    }
    order = malloc(n * sizeof *order);
    taken = calloc(n, 1);
    if (order == NULL || taken == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    synth_rng_init(&r, o->seed, c->ref->code, 3);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = synth_below(&r, i);
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    size_t cursor = 0;
    for (int d = DEF_NULL_GEOMETRY; d < DEF_COUNT; d++) {
        for (size_t made = 0; made < want[d];) {
            if (cursor >= n) {
                snprintf(err, errlen, "commune %s: not enough parcels for the %s defects",
                         c->ref->code, kinds[d].name);
                goto done;
            }
            size_t i = order[cursor++];
            synth_parcel *p = &c->parcels[i];
            if (taken[i])
                continue;
            if (geometry_kind((synth_defect)d) &&
                (p->nparts != 1 || p->nrings != 1 || strcmp(p->landuse, "NTS") == 0))
                continue; /* simple polygons only: no pond hosts, islands or canal-cut parcels */
            if (d == DEF_INVALID_REPAIRABLE) {
                if (make_repairable(geos, c, p, (int)(made % 2)) != 0 &&
                    make_repairable(geos, c, p, (int)((made + 1) % 2)) != 0)
                    continue;
            } else if (d == DEF_INVALID_UNREPAIRABLE) {
                if (make_bowtie(geos, c, p) != 0)
                    continue;
            } else if (d == DEF_MISSING_SHEET) {
                p->sheet = 0;
            } else if (d == DEF_MISSING_PARCEL) {
                p->number = 0;
            } else if (d == DEF_DUPLICATE_NUMBER) {
                /* The partner: the parcel numbered just before, same sheet. */
                if (i == 0 || taken[i - 1] || c->parcels[i - 1].sheet != p->sheet ||
                    c->parcels[i - 1].former != p->former || p->number < 2)
                    continue;
                taken[i - 1] = 1;
                p->number = c->parcels[i - 1].number;
            } else if (d == DEF_UNKNOWN_LANDUSE) {
                const char *code =
                    unknown_codes[made % (sizeof unknown_codes / sizeof unknown_codes[0])];
                if (!any_unknown(code))
                    continue;
                snprintf(p->landuse, sizeof p->landuse, "%s", code);
            } else if (d == DEF_AREA_MISMATCH) {
                double f = synth_range(&r, 0.08, 0.30) * (synth_chance(&r, 0.5) ? 1 : -1);
                p->surveyed_m2 = round(p->area_m2 * (1.0 + f) * 10.0) / 10.0;
                if (fabs(p->surveyed_m2 - p->area_m2) < 10.0)
                    p->surveyed_m2 = round((p->area_m2 + (f > 0 ? 10.0 : -10.0)) * 10.0) / 10.0;
            }
            p->defect = (uint8_t)d;
            taken[i] = 1;
            made++;
            c->counts[d]++;
        }
    }
    rc = 0;
done:
    free(order);
    free(taken);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Micrometre notches (not defects)                                          */
/* ------------------------------------------------------------------------ */

/* The notch of one parcel: vertex V inserted after ring vertex k, 1 um to
 * the inside of edge j (not adjacent to k); -1 when that is not valid. */
static int make_notch(GEOSContextHandle_t h, synth_commune *c, synth_parcel *p, size_t k, size_t j,
                      double t)
{
    const synth_ring *r = &c->rings[p->first_ring];
    size_t n = r->n;
    const uint32_t *old = c->ring_vertices + r->off;
    uint32_t a = old[j], b = old[(j + 1) % n], nv;
    double ex = c->vx[b] - c->vx[a], ey = c->vy[b] - c->vy[a], ux, uy;
    unit(ex, ey, &ux, &uy);
    /* Exterior rings run counter-clockwise: the inside is on the left. */
    double x = c->vx[a] + t * ex - 1e-6 * uy, y = c->vy[a] + t * ey + 1e-6 * ux;
    uint32_t *v = malloc((n + 1) * sizeof *v);
    if (v == NULL || synth_add_vertex_exact(c, x, y, &nv) != 0) {
        free(v);
        return -1;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        v[m++] = old[i];
        if (i == k)
            v[m++] = nv;
    }
    double before = p->area_m2;
    int rc = repair_change(h, c, v, m) == -1.0 ? replace_ring(c, p, v, m) : -1;
    free(v);
    /* The notch cuts a wedge out of the parcel: its DienTich follows, with
     * the same small survey error as before, so that the manifest's
     * area-mismatch count stays true (the sweep found it did not). */
    if (rc == 0 && before > 0.0)
        p->surveyed_m2 = round(p->area_m2 * (p->surveyed_m2 / before) * 10.0) / 10.0;
    return rc;
}

int synth_notches_apply(GEOSContextHandle_t geos, const synth_options *o, synth_commune *c)
{
    synth_rng r;
    size_t made = 0;
    if (o->notches == 0)
        return 0; /* no draw from any stream: the default output is unchanged */
    synth_rng_init(&r, o->seed, c->ref->code, 5);
    for (size_t tries = 0; made < o->notches && tries < 20 * o->notches + 100; tries++) {
        synth_parcel *p = &c->parcels[synth_below(&r, c->nparcels)];
        if (p->defect != DEF_NONE || p->nparts != 1 || p->nrings != 1)
            continue;
        size_t n = c->rings[p->first_ring].n;
        if (n < 4)
            continue;
        size_t k = synth_below(&r, n), j = (k + 2 + synth_below(&r, n - 3)) % n;
        if (make_notch(geos, c, p, k, j, synth_range(&r, 0.3, 0.7)) == 0)
            made++;
    }
    return 0;
}
