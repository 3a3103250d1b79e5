/*
 * test_overview.c: overviews that never fail on valid parcels (issue 12,
 * item 2). Parcels are made with GEOS in VN-2000 TM-3 metres, checked
 * valid there with GEOS, moved to WGS 84 with PROJ (through the engine's
 * EPSG:6960 transformation), and written through the engine's writer as an
 * importer would. The stores are then read back with the public API, and
 * once with the sqlite3 command and SpatiaLite (a store written before the
 * engine validated its WGS 84 geometry).
 *
 * Area check: at the finest band (z14, simplified to half a z14 pixel,
 * about 4.5 m), a commune's land-use shapes cover the area of its parcels
 * within AREA_TOL (relative), both measured in WGS 84 degrees squared.
 */
#include "testutil.h"

#include "parceldb.h"

#include <geos_c.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>

#include <cmocka.h>

#define HOA_BINH 9211 /* TM-3 106-00 */
#define PHU_THO 9208  /* TM-3 104-45 */
/* Near the EPSG:9211 and 9208 reference points of DESIGN.md. */
#define HB_E 430898.0
#define HB_N 2302836.0
#define PT_E 567440.0
#define PT_N 2358740.0
/* Overview area against parcel area at z14. */
#define AREA_TOL 0.03
#define PDB_COUNTOF_CASES(a) (sizeof(a) / sizeof((a)[0]))

typedef struct env {
    char dir[512];         /* temporary directory */
    char path[600];        /* the store */
    pdb_ctx *ctx;          /* engine context */
    pdb_store *store;      /* read-write */
    GEOSContextHandle_t h; /* the test's own GEOS, to build and check shapes */
    int64_t batch;         /* the import run */
} env;

/* One parcel to load: its TM-3 geometry and land use. */
typedef struct tparcel {
    GEOSGeometry *g; /* owned; polygon in the zone's metres */
    const char *use; /* land-use code */
} tparcel;

static void geos_quiet(const char *fmt, ...)
{
    (void)fmt;
}

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "%s", tu_tmpdir("overview"));
    snprintf(e->path, sizeof e->path, "%s/parcels.sqlite", e->dir);
    assert_int_equal(pdb_ctx_new(&e->ctx), PDB_OK);
    if (pdb_store_create(e->ctx, e->path, &e->store) != PDB_OK)
        fail_msg("%s", pdb_errmsg(e->ctx));
    assert_int_equal(pdb_import_begin(e->ctx, e->store, "test_overview", &e->batch), PDB_OK);
    e->h = GEOS_init_r();
    GEOSContext_setErrorHandler_r(e->h, geos_quiet);
    GEOSContext_setNoticeHandler_r(e->h, geos_quiet);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    pdb_store_close(e->store);
    pdb_ctx_free(e->ctx);
    GEOS_finish_r(e->h);
    tu_run("rm -rf '%s'", e->dir);
    free(e);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Shapes                                                                    */
/* ------------------------------------------------------------------------ */

/* A linear ring from n open points (closed here). */
static GEOSGeometry *ring(env *e, const double *x, const double *y, size_t n)
{
    GEOSCoordSequence *s = GEOSCoordSeq_create_r(e->h, (unsigned)n + 1, 2);
    for (size_t i = 0; i <= n; i++)
        GEOSCoordSeq_setXY_r(e->h, s, (unsigned)i, x[i % n], y[i % n]);
    return GEOSGeom_createLinearRing_r(e->h, s);
}

static GEOSGeometry *polygon(env *e, const double *x, const double *y, size_t n)
{
    return GEOSGeom_createPolygon_r(e->h, ring(e, x, y, n), NULL, 0);
}

static GEOSGeometry *rect(env *e, double x0, double y0, double x1, double y1)
{
    double x[4] = {x0, x1, x1, x0}, y[4] = {y0, y0, y1, y1};
    return polygon(e, x, y, 4);
}

/* A ring's coordinates moved from epsg to WGS 84 by the engine. */
static GEOSGeometry *ring_to_wgs84(env *e, const GEOSGeometry *r, int epsg)
{
    const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(e->h, r);
    unsigned n = 0;
    GEOSCoordSeq_getSize_r(e->h, cs, &n);
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    for (unsigned i = 0; i < n; i++)
        GEOSCoordSeq_getXY_r(e->h, cs, i, &x[i], &y[i]);
    if (pdb_crs_transform(e->ctx, epsg, PDB_EPSG_WGS84, x, y, n) != PDB_OK)
        fail_msg("%s", pdb_errmsg(e->ctx));
    GEOSGeometry *out = ring(e, x, y, n - 1);
    free(x);
    free(y);
    return out;
}

/* A polygon moved to WGS 84 vertex by vertex, as a writer that does not
 * validate after reprojection stores it. */
static GEOSGeometry *to_wgs84(env *e, const GEOSGeometry *p, int epsg)
{
    int nh = GEOSGetNumInteriorRings_r(e->h, p);
    GEOSGeometry **holes = calloc((size_t)nh + 1, sizeof *holes);
    for (int i = 0; i < nh; i++)
        holes[i] = ring_to_wgs84(e, GEOSGetInteriorRingN_r(e->h, p, i), epsg);
    GEOSGeometry *out = GEOSGeom_createPolygon_r(
        e->h, ring_to_wgs84(e, GEOSGetExteriorRing_r(e->h, p), epsg), holes, (unsigned)nh);
    free(holes);
    return out;
}

/* ISO WKB of g (caller frees with GEOSFree_r). */
static unsigned char *wkb_of(env *e, const GEOSGeometry *g, size_t *len)
{
    GEOSWKBWriter *w = GEOSWKBWriter_create_r(e->h);
    GEOSWKBWriter_setFlavor_r(e->h, w, GEOS_WKB_ISO);
    GEOSWKBWriter_setByteOrder_r(e->h, w, GEOS_WKB_NDR);
    unsigned char *b = GEOSWKBWriter_write_r(e->h, w, g, len);
    GEOSWKBWriter_destroy_r(e->h, w);
    return b;
}

/* The notch: a rectangle L x L/2 whose top edge dips at its middle to d
 * metres from the bottom edge (turned by `turn` quarter turns about its
 * corner). Valid in TM-3 for any d > 0; whether it still is in WGS 84
 * depends on which way the projection bends the bottom edge. */
static GEOSGeometry *notch(env *e, double e0, double n0, double L, double d, int turn)
{
    double u[5] = {0, L, L, L / 2, 0}, v[5] = {0, 0, L / 2, d, L / 2}, x[5], y[5];
    for (int i = 0; i < 5; i++) {
        double a = u[i], b = v[i];
        x[i] = e0 + (turn == 0 ? a : turn == 1 ? -b : turn == 2 ? -a : b);
        y[i] = n0 + (turn == 0 ? b : turn == 1 ? a : turn == 2 ? -b : -a);
    }
    return polygon(e, x, y, 5);
}

/* A notch 1 micrometre deep that is valid in TM-3 and self-intersecting
 * once reprojected, found by trying the four turns (PROJ decides which). */
static GEOSGeometry *reprojection_invalid(env *e, int epsg, double e0, double n0, int *turn_out)
{
    for (int turn = 0; turn < 4; turn++) {
        GEOSGeometry *g = notch(e, e0, n0, 300, 1e-6, turn);
        GEOSGeometry *w = to_wgs84(e, g, epsg);
        int src_valid = GEOSisValid_r(e->h, g) == 1, wgs_valid = GEOSisValid_r(e->h, w) == 1;
        GEOSGeom_destroy_r(e->h, w);
        if (src_valid && !wgs_valid) {
            if (turn_out != NULL)
                *turn_out = turn;
            return g;
        }
        GEOSGeom_destroy_r(e->h, g);
    }
    fail_msg("no turn of the notch self-intersects in WGS 84 (EPSG:%d)", epsg);
    return NULL;
}

/* The part of the notch's rectangle that the notch leaves out: the
 * triangle above its dip, as a neighbour parcel that fills it. */
static GEOSGeometry *notch_filler(env *e, const GEOSGeometry *n)
{
    const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(e->h, GEOSGetExteriorRing_r(e->h, n));
    double x[3], y[3];
    for (unsigned i = 2; i <= 4; i++)
        GEOSCoordSeq_getXY_r(e->h, cs, i, &x[i - 2], &y[i - 2]);
    return polygon(e, x, y, 3);
}

/* ------------------------------------------------------------------------ */
/* Loading and measuring                                                     */
/* ------------------------------------------------------------------------ */

/* Writes parcels as one commune load; frees their geometries. */
static pdb_import_counts load(env *e, const char *commune, int epsg, tparcel *ps, size_t n)
{
    pdb_commune_load cl = {.batch_id = e->batch,
                           .commune = commune,
                           .source_srid = epsg,
                           .file = "test_overview",
                           .checksum = commune};
    pdb_writer *w = NULL;
    pdb_import_counts c = {0};
    if (pdb_writer_begin(e->ctx, e->store, &cl, &w) != PDB_OK)
        fail_msg("%s", pdb_errmsg(e->ctx));
    for (size_t i = 0; i < n; i++) {
        char num[24];
        size_t len = 0;
        unsigned char *wkb = wkb_of(e, ps[i].g, &len);
        snprintf(num, sizeof num, "%zu", i + 1);
        pdb_parcel p = {.sheet = "1",
                        .parcel = num,
                        .landuse = (char *)ps[i].use,
                        .area_surveyed_m2 = NAN,
                        .source_wkb = wkb,
                        .source_wkb_len = len};
        if (pdb_writer_add(e->ctx, w, &p, NULL) != PDB_OK)
            fail_msg("parcel %zu of %s: %s", i + 1, commune, pdb_errmsg(e->ctx));
        c.read++;
        c.stored++;
        GEOSFree_r(e->h, wkb);
        GEOSGeom_destroy_r(e->h, ps[i].g);
        ps[i].g = NULL;
    }
    if (pdb_writer_commit(e->ctx, w, &c) != PDB_OK)
        fail_msg("%s", pdb_errmsg(e->ctx));
    pdb_writer_free(w);
    return c;
}

/* Area of a feature in degrees squared: exteriors minus holes. */
static double feature_area(const pdb_feature *f)
{
    double total = 0;
    for (size_t p = 0; p < f->nparts; p++)
        for (size_t r = f->part_ring[p]; r < f->part_ring[p + 1]; r++) {
            double s = 0;
            size_t i0 = f->ring_point[r], i1 = f->ring_point[r + 1];
            for (size_t i = i0; i + 1 < i1; i++)
                s += (f->xy[2 * i] - f->xy[2 * i0]) * (f->xy[2 * i + 3] - f->xy[2 * i0 + 1]) -
                     (f->xy[2 * i + 2] - f->xy[2 * i0]) * (f->xy[2 * i + 1] - f->xy[2 * i0 + 1]);
            total += r == f->part_ring[p] ? fabs(s) / 2 : -fabs(s) / 2;
        }
    return total;
}

typedef struct area_sum {
    const char *commune; /* whose features count */
    double area;         /* degrees squared */
    size_t features;     /* counted */
} area_sum;

static int add_area(void *arg, const pdb_feature *f)
{
    area_sum *a = arg;
    if (strcmp(f->commune, a->commune) == 0) {
        a->area += feature_area(f);
        a->features++;
    }
    return 0;
}

static const pdb_commune *find_commune(pdb_commune_list *list, const char *code)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i].code, code) == 0)
            return &list->items[i];
    fail_msg("commune %s is not in the store", code);
    return NULL;
}

/* Asserts that the commune's overviews are built and fresh, and that at
 * z14 its land-use shapes cover its parcels' area within AREA_TOL. */
static void assert_overviews(env *e, const char *commune)
{
    pdb_commune_list *list = NULL;
    assert_int_equal(pdb_communes_list(e->ctx, e->store, &list), PDB_OK);
    const pdb_commune *c = find_commune(list, commune);
    if (c->overview_state != PDB_OVERVIEW_STATE_FRESH &&
        c->overview_state != PDB_OVERVIEW_STATE_FALLBACK)
        fail_msg("commune %s: overview state %d (%s)", commune, (int)c->overview_state,
                 c->overview_reason ? c->overview_reason : "no reason");
    double box[4] = {c->bbox[0] - 0.01, c->bbox[1] - 0.01, c->bbox[2] + 0.01, c->bbox[3] + 0.01};
    pdb_commune_list_free(list);

    area_sum parcels = {.commune = commune}, shapes = {.commune = commune};
    assert_int_equal(pdb_features_in_bbox(e->ctx, e->store, box, add_area, &parcels), PDB_OK);
    assert_int_equal(
        pdb_overview_features(e->ctx, e->store, 14, PDB_OVERVIEW_LANDUSE, box, add_area, &shapes),
        PDB_OK);
    assert_true(parcels.features > 0);
    assert_true(shapes.features > 0);
    double rel = fabs(shapes.area - parcels.area) / parcels.area;
    if (!(rel <= AREA_TOL))
        fail_msg("commune %s: overview area %.9g, parcels %.9g deg2: %.2f%% apart", commune,
                 shapes.area, parcels.area, 100 * rel);
    /* Every band has its shapes, outlines included. */
    for (int z = 0; z <= 14; z += 7) {
        area_sum any = {.commune = commune};
        assert_int_equal(pdb_overview_features(e->ctx, e->store, z,
                                               PDB_OVERVIEW_LANDUSE | PDB_OVERVIEW_COMMUNES, box,
                                               add_area, &any),
                         PDB_OK);
        assert_true(any.features > 0);
    }
    /* z8-10 has one base: the commune grown, so at least as large as its
     * land-use shapes; z11-13 and z14 none (docs/rendering.md,
     * "Overviews"). */
    for (int z = 8; z <= 14; z += 3) {
        area_sum base = {.commune = commune};
        assert_int_equal(
            pdb_overview_features(e->ctx, e->store, z, PDB_OVERVIEW_BASE, box, add_area, &base),
            PDB_OK);
        assert_int_equal(base.features, z == 8 ? 1 : 0);
        if (z == 8 && !(base.area >= shapes.area * (1 - AREA_TOL)))
            fail_msg("commune %s: z%d base area %.9g, land use %.9g deg2", commune, z, base.area,
                     shapes.area);
    }
}

static void rebuild_all(env *e, size_t want_rebuilt)
{
    pdb_overview_report rep;
    if (pdb_overview_rebuild_report(e->ctx, e->store, NULL, &rep) != PDB_OK)
        fail_msg("%s", pdb_errmsg(e->ctx));
    if (rep.failed != 0)
        fail_msg("%zu communes failed: %s", rep.failed, rep.first_failure);
    assert_int_equal(rep.rebuilt, want_rebuilt);
}

/* ------------------------------------------------------------------------ */
/* A coverage with micrometre notches                                        */
/* ------------------------------------------------------------------------ */

/* A commune of about ncells Voronoi cells (a coverage: neighbours share
 * their edges) over a w x w square, in three land uses; one cell in three
 * gets a notch: a new vertex on one of its edges pulled across the cell to
 * `depth` metres from another edge. Every cell is checked valid in TM-3. */
static size_t pinched_coverage(env *e, unsigned seed, double e0, double n0, double w, int ncells,
                               double depth, tparcel *out, size_t cap)
{
    static const char *const uses[] = {"RSX", "LUA", "ONT"};
    GEOSCoordSequence *pts = GEOSCoordSeq_create_r(e->h, (unsigned)ncells, 2);
    srand(seed);
    for (int i = 0; i < ncells; i++)
        GEOSCoordSeq_setXY_r(e->h, pts, (unsigned)i, e0 + w * rand() / (double)RAND_MAX,
                             n0 + w * rand() / (double)RAND_MAX);
    GEOSGeometry *line = GEOSGeom_createLineString_r(e->h, pts);
    GEOSGeometry *vor = GEOSVoronoiDiagram_r(e->h, line, NULL, 0, 0);
    GEOSGeometry *box = rect(e, e0, n0, e0 + w, n0 + w);
    size_t n = 0;
    for (int i = 0; i < GEOSGetNumGeometries_r(e->h, vor) && n < cap; i++) {
        GEOSGeometry *c = GEOSIntersection_r(e->h, GEOSGetGeometryN_r(e->h, vor, i), box);
        if (c == NULL || GEOSGeomTypeId_r(e->h, c) != GEOS_POLYGON) {
            if (c != NULL)
                GEOSGeom_destroy_r(e->h, c);
            continue;
        }
        if (rand() % 3 == 0) {
            const GEOSCoordSequence *cs =
                GEOSGeom_getCoordSeq_r(e->h, GEOSGetExteriorRing_r(e->h, c));
            unsigned m = 0;
            GEOSCoordSeq_getSize_r(e->h, cs, &m);
            m--; /* open */
            if (m >= 4) {
                double x[64], y[64];
                for (unsigned k = 0; k < m && k < 62; k++)
                    GEOSCoordSeq_getXY_r(e->h, cs, k, &x[k + 1], &y[k + 1]);
                /* The new vertex goes first (between the last and first
                 * points), pulled to depth metres from edge j, j+1. */
                unsigned j = 1 + (unsigned)rand() % (m - 2) + 1; /* not touching vertex 0's edges */
                unsigned j2 = j + 1;
                double t = 0.3 + 0.4 * rand() / (double)RAND_MAX;
                double px = x[j] + (x[j2] - x[j]) * t, py = y[j] + (y[j2] - y[j]) * t;
                double nx = -(y[j2] - y[j]), ny = x[j2] - x[j], nl = hypot(nx, ny);
                double cx, cy;
                GEOSGeometry *cen = GEOSGetCentroid_r(e->h, c);
                GEOSGeomGetX_r(e->h, cen, &cx);
                GEOSGeomGetY_r(e->h, cen, &cy);
                GEOSGeom_destroy_r(e->h, cen);
                nx /= nl;
                ny /= nl;
                if ((cx - px) * nx + (cy - py) * ny < 0) {
                    nx = -nx;
                    ny = -ny;
                }
                x[0] = px + nx * depth;
                y[0] = py + ny * depth;
                GEOSGeometry *p = polygon(e, x, y, m + 1);
                if (GEOSisValid_r(e->h, p) == 1) {
                    GEOSGeom_destroy_r(e->h, c);
                    c = p;
                } else {
                    GEOSGeom_destroy_r(e->h, p);
                }
            }
        }
        assert_int_equal(GEOSisValid_r(e->h, c), 1);
        out[n].g = c;
        out[n].use = uses[rand() % 3];
        n++;
    }
    GEOSGeom_destroy_r(e->h, box);
    GEOSGeom_destroy_r(e->h, vor);
    GEOSGeom_destroy_r(e->h, line);
    return n;
}

/* How many of the parcels are invalid once moved to WGS 84 as is. */
static size_t invalid_in_wgs84(env *e, const tparcel *ps, size_t n, int epsg)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        GEOSGeometry *w = to_wgs84(e, ps[i].g, epsg);
        bad += GEOSisValid_r(e->h, w) != 1;
        GEOSGeom_destroy_r(e->h, w);
    }
    return bad;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */
/* ------------------------------------------------------------------------ */

/* The parcel of the report: valid as surveyed, self-intersecting in WGS
 * 84. It is stored repaired in WGS 84, flagged and counted; its survey
 * geometry stays byte for byte as imported. */
static void test_reprojection_invalid_parcel_repaired(void **state)
{
    env *e = *state;
    tparcel ps[3];
    ps[0].g = reprojection_invalid(e, HOA_BINH, HB_E, HB_N, NULL);
    ps[0].use = "RSX";
    ps[1].g = notch_filler(e, ps[0].g);
    ps[1].use = "RSX";
    ps[2].g = rect(e, HB_E - 400, HB_N - 400, HB_E - 100, HB_N - 100);
    ps[2].use = "LUA";
    size_t src_len = 0;
    unsigned char *src = wkb_of(e, ps[0].g, &src_len);

    pdb_import_counts c = load(e, "05089", HOA_BINH, ps, 3);
    assert_int_equal(c.wgs84_repaired, 1);

    pdb_parcel_list *list = NULL;
    assert_int_equal(pdb_parcels_by_number(e->ctx, e->store, "05089", NULL, "1", "1",
                                           PDB_READ_WGS84 | PDB_READ_SOURCE, &list),
                     PDB_OK);
    assert_int_equal(list->count, 1);
    const pdb_parcel *p = &list->items[0];
    assert_true((p->flags & PDB_PARCEL_WGS84_REPAIRED) != 0);
    char *json = NULL;
    assert_int_equal(pdb_parcel_to_geojson(e->ctx, p, 0, &json), PDB_OK);
    assert_non_null(strstr(json, "\"wgs84-repaired\"")); /* what a lookup shows */
    pdb_free(json);
    assert_int_equal(p->source_wkb_len, src_len);
    assert_memory_equal(p->source_wkb, src, src_len);
    GEOSWKBReader *rd = GEOSWKBReader_create_r(e->h);
    GEOSGeometry *g = GEOSWKBReader_read_r(e->h, rd, p->wgs84_wkb, p->wgs84_wkb_len);
    assert_non_null(g);
    assert_int_equal(GEOSisValid_r(e->h, g), 1);
    GEOSGeom_destroy_r(e->h, g);
    GEOSWKBReader_destroy_r(e->h, rd);
    pdb_parcel_list_free(list);
    GEOSFree_r(e->h, src);

    /* Its neighbour is not flagged. */
    assert_int_equal(pdb_parcels_by_number(e->ctx, e->store, "05089", NULL, "1", "2", 0, &list),
                     PDB_OK);
    assert_int_equal(list->items[0].flags & PDB_PARCEL_WGS84_REPAIRED, 0);
    pdb_parcel_list_free(list);

    rebuild_all(e, 1);
    assert_overviews(e, "05089");
}

/* A commune of such parcels: the dissolve of the engine before this fix
 * threw "TopologyException: unable to assign free hole to a shell" on it. */
static void test_pinched_coverage(void **state)
{
    env *e = *state;
    static tparcel ps[400];
    size_t n = pinched_coverage(e, 7, HB_E, HB_N, 1500, 200, 1e-6, ps, 400);
    size_t bad = invalid_in_wgs84(e, ps, n, HOA_BINH);
    assert_true(bad > 0); /* the case is what it claims to be */
    pdb_import_counts c = load(e, "05089", HOA_BINH, ps, n);
    assert_int_equal(c.wgs84_repaired, bad);
    rebuild_all(e, 1);
    assert_overviews(e, "05089");
}

/* A store written before the engine validated after reprojection holds
 * the invalid WGS 84 geometry; its rebuild must not fail either. The
 * geometries are put back as the old writer stored them, with the sqlite3
 * command and SpatiaLite. */
static void test_store_from_before(void **state)
{
    env *e = *state;
    static tparcel ps[400];
    size_t n = pinched_coverage(e, 7, HB_E, HB_N, 1500, 200, 1e-6, ps, 400);
    char sqlpath[700];
    snprintf(sqlpath, sizeof sqlpath, "%s/old.sql", e->dir);
    FILE *f = fopen(sqlpath, "w");
    assert_non_null(f);
    fprintf(f, ".load mod_spatialite\nBEGIN;\n");
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        GEOSGeometry *w = to_wgs84(e, ps[i].g, HOA_BINH);
        if (GEOSisValid_r(e->h, w) != 1) {
            size_t len = 0;
            unsigned char *wkb = wkb_of(e, w, &len);
            fprintf(f, "UPDATE parcels SET geom = CastToMultiPolygon(GeomFromWKB(X'");
            for (size_t k = 0; k < len; k++)
                fprintf(f, "%02X", wkb[k]);
            fprintf(f, "', 4326)) WHERE commune = '05089' AND parcel = '%zu';\n", i + 1);
            GEOSFree_r(e->h, wkb);
            bad++;
        }
        GEOSGeom_destroy_r(e->h, w);
    }
    fprintf(f, "COMMIT;\n");
    fclose(f);
    assert_true(bad > 0);
    load(e, "05089", HOA_BINH, ps, n);
    pdb_store_close(e->store);
    e->store = NULL;
    assert_int_equal(
        tu_run("sqlite3 -bail '%s' < '%s' > '%s/sqlite.log' 2>&1", e->path, sqlpath, e->dir), 0);
    char *count = tu_capture("sqlite3 '%s' \".load mod_spatialite\" \"SELECT count(*) FROM "
                             "parcels WHERE NOT ST_IsValid(geom)\"",
                             e->path);
    assert_non_null(count);
    assert_int_equal(strtol(count, NULL, 10), (long)bad);
    free(count);
    assert_int_equal(pdb_store_open(e->ctx, e->path, PDB_OPEN_READWRITE, &e->store), PDB_OK);
    rebuild_all(e, 1);
    assert_overviews(e, "05089");
}

/* A store whose overviews were built before bases existed: the next
 * rebuild of what needs it builds the commune again, once. */
static void test_store_before_bases(void **state)
{
    env *e = *state;
    static tparcel ps[100];
    size_t n = pinched_coverage(e, 3, HB_E, HB_N, 1500, 60, 1.0, ps, 100);
    load(e, "05089", HOA_BINH, ps, n);
    rebuild_all(e, 1);
    pdb_store_close(e->store);
    e->store = NULL;
    assert_int_equal(tu_run("sqlite3 -bail '%s' \"DELETE FROM overviews_rtree WHERE id IN (SELECT "
                            "id FROM overviews WHERE kind = 4); DELETE FROM overviews WHERE "
                            "kind = 4\"",
                            e->path),
                     0);
    assert_int_equal(pdb_store_open(e->ctx, e->path, PDB_OPEN_READWRITE, &e->store), PDB_OK);
    rebuild_all(e, 1);
    assert_overviews(e, "05089");
    rebuild_all(e, 0);
}

/* Every band's features of one kind over the commune, counted and summed. */
static void band_sums(env *e, const char *commune, area_sum sums[4])
{
    pdb_commune_list *list = NULL;
    assert_int_equal(pdb_communes_list(e->ctx, e->store, &list), PDB_OK);
    const pdb_commune *c = find_commune(list, commune);
    double box[4] = {c->bbox[0] - 0.01, c->bbox[1] - 0.01, c->bbox[2] + 0.01, c->bbox[3] + 0.01};
    pdb_commune_list_free(list);
    const int zooms[4] = {5, 9, 12, 14};
    const unsigned kinds[4] = {PDB_OVERVIEW_LANDUSE, PDB_OVERVIEW_BASE, PDB_OVERVIEW_COMMUNES,
                               PDB_OVERVIEW_LANDUSE | PDB_OVERVIEW_COMMUNES};
    for (int i = 0; i < 4; i++) {
        sums[i] = (area_sum){.commune = commune};
        assert_int_equal(
            pdb_overview_features(e->ctx, e->store, zooms[i], kinds[i], box, add_area, &sums[i]),
            PDB_OK);
    }
}

/* A store made before overviews_band and overviews_outline (the indexes
 * that keep a tile's read off the other bands' rows): read-only, it
 * answers as before, without them; its first read-write open adds them,
 * and the answers stay the same (the outlines alone, kind
 * PDB_OVERVIEW_COMMUNES, are read by a statement of their own). */
static void test_store_before_band_index(void **state)
{
    env *e = *state;
    static tparcel ps[100];
    size_t n = pinched_coverage(e, 5, HB_E, HB_N, 1500, 60, 1.0, ps, 100);
    load(e, "05089", HOA_BINH, ps, n);
    rebuild_all(e, 1);
    area_sum with[4], without[4];
    band_sums(e, "05089", with);
    pdb_store_close(e->store);
    e->store = NULL;
    const char *has = "sqlite3 '%s' \"SELECT count(*) FROM sqlite_schema WHERE type = 'index' "
                      "AND name IN ('overviews_band', 'overviews_outline')\"";
    char *out = tu_capture(has, e->path);
    assert_non_null(out);
    assert_int_equal(strtol(out, NULL, 10), 2);
    free(out);
    assert_int_equal(tu_run("sqlite3 -bail '%s' \"DROP INDEX overviews_band; DROP INDEX "
                            "overviews_outline\"",
                            e->path),
                     0);
    assert_int_equal(pdb_store_open(e->ctx, e->path, PDB_OPEN_READONLY, &e->store), PDB_OK);
    band_sums(e, "05089", without);
    pdb_store_close(e->store);
    e->store = NULL;
    out = tu_capture(has, e->path);
    assert_non_null(out);
    assert_int_equal(strtol(out, NULL, 10), 0);
    free(out);
    assert_int_equal(pdb_store_open(e->ctx, e->path, PDB_OPEN_READWRITE, &e->store), PDB_OK);
    out = tu_capture(has, e->path);
    assert_non_null(out);
    assert_int_equal(strtol(out, NULL, 10), 2);
    free(out);
    area_sum again[4];
    band_sums(e, "05089", again);
    for (int i = 0; i < 4; i++) {
        assert_true(with[i].features > 0);
        assert_int_equal(without[i].features, with[i].features);
        assert_int_equal(again[i].features, with[i].features);
        assert_true(without[i].area == with[i].area && again[i].area == with[i].area);
    }
}

/* Hand-made cases, one commune each; none may fail. */
static void test_hand_made(void **state)
{
    env *e = *state;
    tparcel ps[16];
    size_t n;
    double x0 = PT_E, y0 = PT_N;

    /* 07894: a hole touching its shell at one point (valid), with the
     * pond parcel that fills the hole. */
    {
        double sx[4] = {x0, x0 + 200, x0 + 200, x0}, sy[4] = {y0, y0, y0 + 200, y0 + 200};
        double hx[3] = {x0 + 100, x0 + 150, x0 + 50}, hy[3] = {y0, y0 + 80, y0 + 80};
        GEOSGeometry *hole = ring(e, hx, hy, 3);
        ps[0].g = GEOSGeom_createPolygon_r(e->h, ring(e, sx, sy, 4), &hole, 1);
        ps[0].use = "LUA";
        ps[1].g = polygon(e, hx, hy, 3);
        ps[1].use = "NTS";
        ps[2].g = rect(e, x0 + 200, y0, x0 + 400, y0 + 200);
        ps[2].use = "LUA";
        assert_int_equal(GEOSisValid_r(e->h, ps[0].g), 1);
        load(e, "07894", PHU_THO, ps, 3);
    }
    /* 07909: near-coincident edges 1e-9 m apart (a shared edge written
     * twice, once a nanometre off), and a 1 mm sliver between two. */
    {
        x0 += 1000;
        n = 0;
        ps[n].g = rect(e, x0, y0, x0 + 100, y0 + 100), ps[n++].use = "ONT";
        ps[n].g = rect(e, x0 + 100 + 1e-9, y0, x0 + 200, y0 + 100), ps[n++].use = "ONT";
        ps[n].g = rect(e, x0 + 200, y0, x0 + 300, y0 + 100 - 1e-9), ps[n++].use = "ONT";
        ps[n].g = rect(e, x0 + 300 - 1e-9, y0, x0 + 400, y0 + 100), ps[n++].use = "CLN";
        ps[n].g = rect(e, x0, y0 + 100, x0 + 200, y0 + 200), ps[n++].use = "LUA";
        ps[n].g = rect(e, x0 + 200, y0 + 100, x0 + 200.001, y0 + 200), ps[n++].use = "DGT";
        ps[n].g = rect(e, x0 + 200.001, y0 + 100, x0 + 400, y0 + 200), ps[n++].use = "LUA";
        double tx[3] = {x0, x0 + 400, x0}, ty[3] = {y0 + 200, y0 + 200, y0 + 200.002};
        ps[n].g = polygon(e, tx, ty, 3), ps[n++].use = "DGT"; /* a 2 mm wedge, 400 m long */
        load(e, "07909", PHU_THO, ps, n);
    }
    /* 07900: a ring of four parcels around an island parcel. */
    {
        x0 += 1000;
        n = 0;
        ps[n].g = rect(e, x0, y0, x0 + 300, y0 + 100), ps[n++].use = "LUA";
        ps[n].g = rect(e, x0 + 200, y0 + 100, x0 + 300, y0 + 300), ps[n++].use = "LUA";
        ps[n].g = rect(e, x0, y0 + 200, x0 + 200, y0 + 300), ps[n++].use = "LUA";
        ps[n].g = rect(e, x0, y0 + 100, x0 + 100, y0 + 200), ps[n++].use = "LUA";
        ps[n].g = rect(e, x0 + 100, y0 + 100, x0 + 200, y0 + 200), ps[n++].use = "ONT";
        load(e, "07900", PHU_THO, ps, n);
    }
    /* 07918: the parcel of the report in its Phu Tho form, with its filler. */
    {
        x0 += 1000;
        ps[0].g = reprojection_invalid(e, PHU_THO, x0, y0, NULL);
        ps[0].use = "RSX";
        ps[1].g = notch_filler(e, ps[0].g);
        ps[1].use = "RSX";
        pdb_import_counts c = load(e, "07918", PHU_THO, ps, 2);
        assert_int_equal(c.wgs84_repaired, 1);
    }
    rebuild_all(e, 4);
    assert_overviews(e, "07894");
    assert_overviews(e, "07909");
    assert_overviews(e, "07900");
    assert_overviews(e, "07918");
}

/* Overviews built beside the loads (pdb_overview_builder), as the importer
 * does: each commune handed after its commit, one of them loaded again
 * (larger, another land use) and handed again while its first job may
 * still wait. At the end every commune is fresh, its shapes cover its
 * current parcels (not those of its first load), a rebuild of "every
 * commune that needs it" has nothing left, and a commune loaded after
 * without being handed is stale until rebuilt. */
static void test_builder_beside_loads(void **state)
{
    env *e = *state;
    tparcel ps[4];
    pdb_overview_builder *b = NULL;
    assert_int_equal(pdb_overview_builder_start(e->ctx, e->store, &b), PDB_OK);
    const char *codes[3] = {"07894", "07909", "07900"};
    for (int k = 0; k < 3; k++) {
        double x0 = PT_E + 1000 * k;
        ps[0].g = rect(e, x0, PT_N, x0 + 100, PT_N + 100), ps[0].use = "LUA";
        ps[1].g = rect(e, x0 + 100, PT_N, x0 + 200, PT_N + 100), ps[1].use = "ONT";
        load(e, codes[k], PHU_THO, ps, 2);
        if (pdb_overview_builder_add(e->ctx, b, codes[k]) != PDB_OK)
            fail_msg("%s", pdb_errmsg(e->ctx));
    }
    /* 07894 again, twice the area, and handed again at once. */
    ps[0].g = rect(e, PT_E, PT_N, PT_E + 200, PT_N + 100), ps[0].use = "CLN";
    ps[1].g = rect(e, PT_E + 200, PT_N, PT_E + 400, PT_N + 100), ps[1].use = "CLN";
    load(e, "07894", PHU_THO, ps, 2);
    assert_int_equal(pdb_overview_builder_add(e->ctx, b, "07894"), PDB_OK);
    pdb_overview_report rep;
    assert_int_equal(pdb_overview_builder_finish(e->ctx, b, &rep), PDB_OK);
    pdb_overview_builder_free(b);
    assert_int_equal(rep.failed, 0);
    assert_true(rep.rebuilt >= 3 && rep.rebuilt <= 4); /* 07894's first job, if built in time */
    for (int k = 0; k < 3; k++)
        assert_overviews(e, codes[k]); /* 07894: the CLN load's area, not the first */
    rebuild_all(e, 0);

    /* Loaded, not handed: stale until a rebuild. */
    ps[0].g = rect(e, PT_E + 1000, PT_N, PT_E + 1300, PT_N + 100), ps[0].use = "LUA";
    load(e, "07909", PHU_THO, ps, 1);
    pdb_commune_list *list = NULL;
    assert_int_equal(pdb_communes_list(e->ctx, e->store, &list), PDB_OK);
    assert_int_equal(find_commune(list, "07909")->overview_state, PDB_OVERVIEW_STATE_STALE);
    pdb_commune_list_free(list);
    rebuild_all(e, 1);
    assert_overviews(e, "07909");

    /* A builder freed with jobs queued leaves them stale, for a rebuild. */
    assert_int_equal(pdb_overview_builder_start(e->ctx, e->store, &b), PDB_OK);
    ps[0].g = rect(e, PT_E + 2000, PT_N, PT_E + 2300, PT_N + 100), ps[0].use = "ONT";
    load(e, "07900", PHU_THO, ps, 1);
    assert_int_equal(pdb_overview_builder_add(e->ctx, b, "07900"), PDB_OK);
    pdb_overview_builder_free(b);
    rebuild_all(e, 1);
    assert_overviews(e, "07900");
}

/* A commune whose rebuild fails is confined to itself: the others are built
 * and kept, its failure is recorded with the reason, a later rebuild of
 * "every commune that needs it" does not retry it, a new import of it
 * does. The failure is made with the context's vertex limit, which the
 * rebuild applies to the parcels it reads. */
static void test_failure_confined(void **state)
{
    env *e = *state;
    tparcel ps[2];
    double x0 = PT_E, y0 = PT_N;
    for (int k = 0; k < 3; k++) {
        static const char *const codes[] = {"07894", "07909", "07900"};
        ps[0].g = rect(e, x0 + 1000 * k, y0, x0 + 1000 * k + 100, y0 + 100);
        ps[0].use = "LUA";
        if (k == 1) { /* a parcel of 40 vertices */
            double x[40], y[40];
            for (int i = 0; i < 40; i++) {
                x[i] = x0 + 1000 * k + 250 + 50 * cos(2 * M_PI * i / 40);
                y[i] = y0 + 50 + 50 * sin(2 * M_PI * i / 40);
            }
            ps[1].g = polygon(e, x, y, 40);
        } else {
            ps[1].g = rect(e, x0 + 1000 * k + 100, y0, x0 + 1000 * k + 200, y0 + 100);
        }
        ps[1].use = k == 1 ? "LUA" : "ONT"; /* 07909: one land use, one dissolved shape */
        load(e, codes[k], PHU_THO, ps, 2);
    }
    pdb_limits lim = {0}, saved;
    pdb_ctx_get_limits(e->ctx, &saved);
    lim.max_vertices_per_parcel = 20;
    pdb_ctx_set_limits(e->ctx, &lim);

    pdb_overview_report rep;
    assert_int_equal(pdb_overview_rebuild_report(e->ctx, e->store, NULL, &rep), PDB_OK);
    assert_int_equal(rep.rebuilt, 2);
    assert_int_equal(rep.failed, 1);
    assert_non_null(strstr(rep.first_failure, "07909"));

    pdb_commune_list *list = NULL;
    assert_int_equal(pdb_communes_list(e->ctx, e->store, &list), PDB_OK);
    assert_int_equal(find_commune(list, "07894")->overview_state, PDB_OVERVIEW_STATE_FRESH);
    assert_int_equal(find_commune(list, "07900")->overview_state, PDB_OVERVIEW_STATE_FRESH);
    const pdb_commune *bad = find_commune(list, "07909");
    assert_int_equal(bad->overview_state, PDB_OVERVIEW_STATE_FAILED);
    assert_non_null(bad->overview_reason);
    assert_non_null(strstr(bad->overview_reason, "vertices"));
    assert_true(bad->overview_since[0] != '\0');
    pdb_commune_list_free(list);

    /* Not retried by a rebuild of what needs it: nothing to do. */
    assert_int_equal(pdb_overview_rebuild_report(e->ctx, e->store, NULL, &rep), PDB_OK);
    assert_int_equal(rep.rebuilt, 0);
    assert_int_equal(rep.failed, 0);
    /* Asked for by name, it is tried, and its failure is the answer. */
    assert_int_equal(pdb_overview_rebuild_report(e->ctx, e->store, "07909", &rep), PDB_EGEOM);
    assert_non_null(strstr(pdb_errmsg(e->ctx), "07909"));
    /* Meanwhile its low zooms are its parcels: a correct picture. */
    area_sum a = {.commune = "07909"};
    double box[4] = {104, 20, 107, 23};
    pdb_ctx_set_limits(e->ctx, &saved);
    assert_int_equal(
        pdb_overview_features(e->ctx, e->store, 10, PDB_OVERVIEW_LANDUSE, box, add_area, &a),
        PDB_OK);
    assert_int_equal(a.features, 2); /* two parcels, where its overview would be one shape */

    /* A new import of it clears the failure; the next rebuild builds it. */
    ps[0].g = rect(e, x0 + 1000, y0, x0 + 1100, y0 + 100);
    ps[0].use = "LUA";
    ps[1].g = rect(e, x0 + 1100, y0, x0 + 1200, y0 + 100);
    ps[1].use = "ONT";
    load(e, "07909", PHU_THO, ps, 2);
    assert_int_equal(pdb_communes_list(e->ctx, e->store, &list), PDB_OK);
    assert_int_equal(find_commune(list, "07909")->overview_state, PDB_OVERVIEW_STATE_STALE);
    pdb_commune_list_free(list);
    rebuild_all(e, 1);
    assert_overviews(e, "07909");
}

/* Many generated communes: Voronoi coverages of several sizes with notches
 * from a nanometre to 10 micrometres deep, in two zones. */
static void test_pinched_many(void **state)
{
    env *e = *state;
    static const double depths[] = {1e-9, 1e-7, 1e-6, 1e-5};
    static tparcel ps[400];
    size_t nrefs = 0, used = 0;
    const pdb_commune_ref *refs = pdb_commune_ref_list(&nrefs);
    const char *codes[16];
    for (size_t i = 0; i < nrefs && used < 16; i += 9) {
        const pdb_commune_ref *ref = &refs[i];
        if (ref->epsg != HOA_BINH && ref->epsg != PHU_THO)
            continue;
        int hb = ref->epsg == HOA_BINH;
        size_t n = pinched_coverage(e, (unsigned)(100 + used), hb ? HB_E : PT_E, hb ? HB_N : PT_N,
                                    400 + 150.0 * (double)(used % 8), 40 + 25 * (int)(used % 10),
                                    depths[used % 4], ps, 400);
        load(e, ref->code, ref->epsg, ps, n);
        codes[used++] = ref->code;
    }
    assert_true(used >= 8);
    rebuild_all(e, used);
    for (size_t i = 0; i < used; i++)
        assert_overviews(e, codes[i]);
}

/* The communes pdb-synth makes, imported with the parceldb command, over
 * seeds, sizes, formats, defects, notched shapes and curved boundaries. */
typedef struct synth_case {
    unsigned seed;       /* --seed */
    int communes;        /* --communes N */
    int parcels;         /* --parcels-per-commune */
    const char *defects; /* --defects */
    const char *format;  /* --format */
    int notches;         /* --notches */
    double curves;       /* --curved-edges metres; 0 for straight cuts */
} synth_case;

static void test_synth_communes(void **state)
{
    env *e = *state;
    static const synth_case cases[] = {
        {1, 3, 300, "none", "GPKG", 0, 0},
        {2, 4, 600, "default", "GPKG", 40, 0},
        {3, 3, 1000, "2-per-kind", "ESRI Shapefile", 80, 0},
        {4, 5, 250, "default", "GeoJSON-legacy", 0, 0},
        {5, 2, 1500, "default", "GPKG", 150, 0},
        /* Curved boundaries: many nearly collinear vertices for the own
         * coverage union and the simplifiers, with defects and notches. */
        {6, 3, 800, "default", "GPKG", 60, 1.5},
        {7, 2, 600, "2-per-kind", "ESRI Shapefile", 0, 4},
    };
    const char *synth = getenv("PDB_SYNTH"), *parceldb = getenv("PARCELDB");
    assert_non_null(synth);
    assert_non_null(parceldb);
    pdb_store_close(e->store);
    e->store = NULL;
    for (size_t k = 0; k < PDB_COUNTOF_CASES(cases); k++) {
        const synth_case *c = &cases[k];
        char dir[700], db[720];
        snprintf(dir, sizeof dir, "%s/synth%zu", e->dir, k);
        snprintf(db, sizeof db, "%s.sqlite", dir);
        char curves[48] = "";
        if (c->curves > 0)
            snprintf(curves, sizeof curves, "--curved-edges %g", c->curves);
        if (tu_run("'%s' --out '%s' --communes %d --parcels-per-commune %d --seed %u "
                   "--defects %s --format '%s' --notches %d %s --quiet --jobs 1",
                   synth, dir, c->communes, c->parcels, c->seed, c->defects, c->format, c->notches,
                   curves) != 0 ||
            tu_run("'%s' init --db '%s' >/dev/null && '%s' import --quiet --no-overviews --db "
                   "'%s' '%s'",
                   parceldb, db, parceldb, db, dir) != 0)
            fail_msg("case %zu: pdb-synth or parceldb import failed", k);
        assert_int_equal(pdb_store_open(e->ctx, db, PDB_OPEN_READWRITE, &e->store), PDB_OK);
        rebuild_all(e, (size_t)c->communes);
        pdb_commune_list *list = NULL;
        assert_int_equal(pdb_communes_list(e->ctx, e->store, &list), PDB_OK);
        assert_int_equal(list->count, (size_t)c->communes);
        for (size_t i = 0; i < list->count; i++)
            assert_overviews(e, list->items[i].code);
        pdb_commune_list_free(list);
        pdb_store_close(e->store);
        e->store = NULL;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reprojection_invalid_parcel_repaired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pinched_coverage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_from_before, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_before_bases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_before_band_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hand_made, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_confined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_builder_beside_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pinched_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_synth_communes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
