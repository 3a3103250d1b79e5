/*
 * test_store.c: the store, the writer and the queries, on parcels that
 * ogr2ogr writes and GDAL reads back, in each of Phu Tho's three zones.
 */
#include "fixture.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gdal.h>
#include <jansson.h>
#include <math.h>
#include <ogr_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CELL 50.0 /* metres: the side of a fixture parcel */

/* One commune per zone, each a 3 x 3 grid of parcels 1..9 (row-major from
 * the south-west; 5 has a 10 m hole), parcel 10 in two parts, and parcel
 * 11 twice (a duplicate number, as real registers have). */
typedef struct zone_fixture {
    int epsg;            /* the zone */
    const char *commune; /* a real commune code of that zone */
    double e0, n0;       /* south-west corner of the grid */
    char gpkg[512];      /* the file ogr2ogr wrote */
} zone_fixture;

static zone_fixture zones[] = {
    {9208, "07894", 567400.0, 2358700.0, ""}, /* Viet Tri, Phu Tho 104-45 */
    {5897, "08707", 561700.0, 2357250.0, ""}, /* Vinh Yen, Vinh Phuc 105-00 */
    {9211, "04792", 430850.0, 2302800.0, ""}, /* Hoa Binh 106-00 */
};

#define NFIX 12

static void make_parcels(const zone_fixture *z, fx_parcel *p)
{
    static const char *numbers[] = {"1", "2", "3", "4", "5", "6", "7", "8", "9"};
    for (int i = 0; i < 9; i++) {
        p[i] = (fx_parcel){"1", numbers[i], i % 2 ? "LUC" : "ONT+CLN", "Nguyễn Văn Hùng", ""};
        fx_square_wkt(p[i].wkt, sizeof p[i].wkt, z->e0 + (i % 3) * CELL,
                      z->n0 + (i / 3) * CELL, CELL, i == 4 ? 10.0 : 0.0);
    }
    p[9] = (fx_parcel){"1", "10", "RSX", "Trần Thị Thủy", ""};
    fx_two_squares_wkt(p[9].wkt, sizeof p[9].wkt, z->e0 + 200, z->n0, z->e0 + 300, z->n0, CELL);
    p[10] = (fx_parcel){"1", "11", "NTS", "Lê Văn A", ""};
    fx_square_wkt(p[10].wkt, sizeof p[10].wkt, z->e0, z->n0 + 200, CELL, 0);
    p[11] = (fx_parcel){"1", "11", "NTS", "Lê Văn B", ""};
    fx_square_wkt(p[11].wkt, sizeof p[11].wkt, z->e0 + 100, z->n0 + 200, CELL, 0);
}

typedef struct env {
    pdb_ctx *ctx;       /* the test thread's context */
    pdb_store *store;   /* read-write store with all three communes */
    char path[512];     /* its file */
    const char *dir;    /* temporary directory */
} env;

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    fx_parcel parcels[NFIX];
    int64_t batch;

    e->dir = strdup(tu_tmpdir("store"));
    snprintf(e->path, sizeof e->path, "%s/parcels.sqlite", e->dir);
    if (pdb_ctx_new(&e->ctx) != PDB_OK)
        return -1;
    if (pdb_store_create(e->ctx, e->path, &e->store) != PDB_OK) {
        fprintf(stderr, "create: %s\n", pdb_errmsg(e->ctx));
        return -1;
    }
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        make_parcels(&zones[z], parcels);
        if (fx_write_gpkg(e->dir, zones[z].commune, zones[z].commune, zones[z].epsg, parcels,
                          NFIX, zones[z].gpkg, sizeof zones[z].gpkg) != 0)
            return -1;
        if (fx_load(e->ctx, e->store, zones[z].gpkg, zones[z].commune, zones[z].epsg, &batch) !=
            PDB_OK) {
            fprintf(stderr, "load: %s\n", pdb_errmsg(e->ctx));
            return -1;
        }
    }
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    pdb_store_close(e->store);
    pdb_ctx_free(e->ctx);
    tu_run("rm -rf '%s'", e->dir);
    free((void *)e->dir);
    free(e);
    return 0;
}

/* The parcel numbers found at a WGS 84 point, joined by ',' ("" if none). */
static void numbers_at(env *e, double lon, double lat, char *out, size_t cap)
{
    pdb_parcel_list *list = NULL;
    assert_int_equal(pdb_parcels_at(e->ctx, e->store, lon, lat, 0, &list), PDB_OK);
    out[0] = '\0';
    for (size_t i = 0; i < list->count; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? "," : "",
                 list->items[i].parcel);
    pdb_parcel_list_free(list);
}

static void expect_at_en(env *e, const zone_fixture *z, double de, double dn, const char *want)
{
    double lon, lat;
    char got[128];
    assert_int_equal(fx_cs2cs_to_wgs84(z->epsg, z->e0 + de, z->n0 + dn, &lon, &lat), 0);
    numbers_at(e, lon, lat, got, sizeof got);
    if (strcmp(got, want) != 0)
        fail_msg("EPSG:%d point (+%.1f, +%.1f) = %.9f %.9f: got parcels '%s', want '%s'",
                 z->epsg, de, dn, lon, lat, got, want);
}

static void test_lookup_inside_outside_holes_parts(void **state)
{
    env *e = *state;
    for (size_t k = 0; k < sizeof zones / sizeof zones[0]; k++) {
        const zone_fixture *z = &zones[k];
        for (int i = 0; i < 9; i++) {
            char want[4];
            snprintf(want, sizeof want, "%d", i + 1);
            expect_at_en(e, z, (i % 3) * CELL + 12.5, (i / 3) * CELL + 37.5, want);
        }
        expect_at_en(e, z, 1.5 * CELL, 1.5 * CELL, "");   /* in parcel 5's hole */
        expect_at_en(e, z, 1.5 * CELL + 4, 1.5 * CELL, ""); /* still in the 10 m hole */
        expect_at_en(e, z, 1.5 * CELL + 8, 1.5 * CELL, "5"); /* past the hole's edge */
        expect_at_en(e, z, 225, 25, "10");                 /* first part */
        expect_at_en(e, z, 325, 25, "10");                 /* second part */
        expect_at_en(e, z, 275, 25, "");                   /* the gap between the parts */
        expect_at_en(e, z, -20, 20, "");                   /* west of everything */
        expect_at_en(e, z, 25, 225, "11");                 /* one of the duplicates */
    }
}

static void test_lookup_shared_edges(void **state)
{
    env *e = *state;
    for (size_t k = 0; k < sizeof zones / sizeof zones[0]; k++) {
        const zone_fixture *z = &zones[k];
        /* The corner shared by parcels 1, 2, 4 and 5, transformed by the
         * engine exactly as the writer transformed it: the point is a
         * vertex of all four, and belongs to exactly one: the one that
         * holds the points just east of it in lon/lat. The TM-3 grid is
         * turned against the meridians (grid convergence), so that is 2 or
         * 5 depending on the zone. */
        double x = z->e0 + CELL, y = z->n0 + CELL;
        assert_int_equal(pdb_crs_transform(e->ctx, z->epsg, 4326, &x, &y, 1), PDB_OK);
        char got[64], east[64];
        numbers_at(e, x, y, got, sizeof got);
        numbers_at(e, x + 1e-9, y, east, sizeof east);
        assert_true(strcmp(east, "2") == 0 || strcmp(east, "5") == 0);
        assert_string_equal(got, east);
        /* North of the corner, just west of the edge between 4 and 5. */
        numbers_at(e, x - 1e-9, y + 1e-7, got, sizeof got);
        assert_string_equal(got, "4");
        /* A point on the edge between 1 and 2: exactly one answer, the
         * same every time. */
        x = z->e0 + CELL;
        y = z->n0 + CELL / 2;
        assert_int_equal(pdb_crs_transform(e->ctx, z->epsg, 4326, &x, &y, 1), PDB_OK);
        char first[64];
        numbers_at(e, x, y, first, sizeof first);
        assert_true(strcmp(first, "1") == 0 || strcmp(first, "2") == 0);
        for (int i = 0; i < 3; i++) {
            numbers_at(e, x, y, got, sizeof got);
            assert_string_equal(got, first);
        }
    }
}

static void test_lookup_in_source_crs(void **state)
{
    env *e = *state;
    for (size_t k = 0; k < sizeof zones / sizeof zones[0]; k++) {
        const zone_fixture *z = &zones[k];
        pdb_parcel_list *list = NULL;
        assert_int_equal(pdb_parcels_at_crs(e->ctx, e->store, z->epsg, z->e0 + 60, z->n0 + 110,
                                            0, &list),
                         PDB_OK);
        assert_int_equal(list->count, 1);
        assert_string_equal(list->items[0].parcel, "8");
        assert_string_equal(list->items[0].commune, z->commune);
        pdb_parcel_list_free(list);
    }
}

static void test_by_number_and_duplicates(void **state)
{
    env *e = *state;
    pdb_parcel_list *list = NULL;
    const char *c = zones[0].commune;

    assert_int_equal(pdb_parcels_by_number(e->ctx, e->store, c, NULL, "1", "11",
                                           PDB_READ_PERSONAL, &list),
                     PDB_OK);
    assert_int_equal(list->count, 2);
    assert_true(list->items[0].id < list->items[1].id);
    for (int i = 0; i < 2; i++)
        assert_true(list->items[i].flags & PDB_PARCEL_DUPLICATE_NUMBER);
    assert_string_equal(list->items[0].owner, "Lê Văn A");
    assert_string_equal(list->items[1].owner, "Lê Văn B");
    pdb_parcel_list_free(list);

    assert_int_equal(pdb_parcels_by_number(e->ctx, e->store, c, NULL, "1", "5", 0, &list),
                     PDB_OK);
    assert_int_equal(list->count, 1);
    assert_false(list->items[0].flags & PDB_PARCEL_DUPLICATE_NUMBER);
    assert_null(list->items[0].owner); /* personal data only when asked for */
    assert_string_equal(list->items[0].landuse, "ONT+CLN");
    /* 50 m x 50 m less the 10 m x 10 m hole, in TM-3 metres. */
    assert_true(fabs(list->items[0].area_computed_m2 - 2400.0) < 1e-6);
    pdb_parcel_list_free(list);

    assert_int_equal(pdb_parcels_by_number(e->ctx, e->store, c, NULL, "1", "99", 0, &list),
                     PDB_OK);
    assert_int_equal(list->count, 0);
    pdb_parcel_list_free(list);
}

static void test_source_geometry_bit_exact(void **state)
{
    env *e = *state;
    for (size_t k = 0; k < sizeof zones / sizeof zones[0]; k++) {
        GDALDatasetH ds = GDALOpenEx(zones[k].gpkg, GDAL_OF_VECTOR, NULL, NULL, NULL);
        assert_non_null(ds);
        OGRLayerH layer = GDALDatasetGetLayer(ds, 0);
        OGRFeatureH f;
        int checked = 0;
        while ((f = OGR_L_GetNextFeature(layer)) != NULL) {
            const char *number = OGR_F_GetFieldAsString(f, 2);
            if (strcmp(number, "5") == 0 || strcmp(number, "10") == 0) {
                OGRGeometryH g = OGR_F_GetGeometryRef(f);
                size_t len = (size_t)OGR_G_WkbSize(g);
                unsigned char *wkb = malloc(len);
                OGR_G_ExportToIsoWkb(g, wkbNDR, wkb);
                pdb_parcel_list *list = NULL;
                assert_int_equal(pdb_parcels_by_number(e->ctx, e->store, zones[k].commune, NULL,
                                                       "1", number, PDB_READ_SOURCE, &list),
                                 PDB_OK);
                assert_int_equal(list->count, 1);
                assert_int_equal(list->items[0].source_wkb_len, len);
                assert_memory_equal(list->items[0].source_wkb, wkb, len);
                assert_int_equal(list->items[0].source_srid, zones[k].epsg);
                pdb_parcel_list_free(list);
                free(wkb);
                checked++;
            }
            OGR_F_Destroy(f);
        }
        assert_int_equal(checked, 2);
        GDALClose(ds);
    }
}

static void test_bbox_limit_offset(void **state)
{
    env *e = *state;
    const zone_fixture *z = &zones[1];
    double lon0, lat0, lon1, lat1;
    pdb_parcel_list *list = NULL;

    /* A box strictly inside the 3 x 3 grid's outline touches all nine. */
    assert_int_equal(fx_cs2cs_to_wgs84(z->epsg, z->e0 + 5, z->n0 + 5, &lon0, &lat0), 0);
    assert_int_equal(fx_cs2cs_to_wgs84(z->epsg, z->e0 + 145, z->n0 + 145, &lon1, &lat1), 0);
    assert_int_equal(
        pdb_parcels_in_bbox(e->ctx, e->store, lon0, lat0, lon1, lat1, 100, 0, 0, &list), PDB_OK);
    assert_int_equal(list->count, 9);
    assert_false(list->truncated);
    for (size_t i = 1; i < list->count; i++)
        assert_true(list->items[i - 1].id < list->items[i].id);
    pdb_parcel_list_free(list);

    assert_int_equal(
        pdb_parcels_in_bbox(e->ctx, e->store, lon0, lat0, lon1, lat1, 4, 0, 0, &list), PDB_OK);
    assert_int_equal(list->count, 4);
    assert_true(list->truncated);
    pdb_parcel_list_free(list);
    assert_int_equal(
        pdb_parcels_in_bbox(e->ctx, e->store, lon0, lat0, lon1, lat1, 4, 8, 0, &list), PDB_OK);
    assert_int_equal(list->count, 1);
    assert_string_equal(list->items[0].parcel, "9");
    pdb_parcel_list_free(list);

    /* A small box inside parcel 5's hole touches only parcel 5's inner
     * ring if it reaches it; one wholly inside the hole touches nothing. */
    assert_int_equal(fx_cs2cs_to_wgs84(z->epsg, z->e0 + 74, z->n0 + 74, &lon0, &lat0), 0);
    assert_int_equal(fx_cs2cs_to_wgs84(z->epsg, z->e0 + 76, z->n0 + 76, &lon1, &lat1), 0);
    assert_int_equal(
        pdb_parcels_in_bbox(e->ctx, e->store, lon0, lat0, lon1, lat1, 10, 0, 0, &list), PDB_OK);
    assert_int_equal(list->count, 0);
    pdb_parcel_list_free(list);

    assert_int_equal(pdb_parcels_in_bbox(e->ctx, e->store, 106, 21, 105, 22, 10, 0, 0, &list),
                     PDB_EINVAL);
    assert_null(list);
}

static void test_geojson(void **state)
{
    env *e = *state;
    pdb_parcel_list *list = NULL;
    char *text = NULL;
    json_error_t err;

    assert_int_equal(pdb_parcels_by_number(e->ctx, e->store, zones[2].commune, NULL, "1", "10",
                                           PDB_READ_WGS84 | PDB_READ_PERSONAL, &list),
                     PDB_OK);
    assert_int_equal(list->count, 1);
    assert_int_equal(pdb_parcels_to_geojson(e->ctx, list, 0, &text), PDB_OK);
    assert_null(strstr(text, "owner"));
    assert_null(strstr(text, "Thủy"));
    json_t *doc = json_loads(text, 0, &err);
    assert_non_null(doc);
    json_t *f = json_array_get(json_object_get(doc, "features"), 0);
    json_t *geom = json_object_get(f, "geometry");
    assert_string_equal(json_string_value(json_object_get(geom, "type")), "MultiPolygon");
    json_t *parts = json_object_get(geom, "coordinates");
    assert_int_equal(json_array_size(parts), 2);
    /* RFC 7946: the exterior ring runs counter-clockwise. */
    json_t *ring = json_array_get(json_array_get(parts, 0), 0);
    double a2 = 0;
    for (size_t i = 0; i + 1 < json_array_size(ring); i++) {
        json_t *p = json_array_get(ring, i), *q = json_array_get(ring, i + 1);
        a2 += json_real_value(json_array_get(p, 0)) * json_real_value(json_array_get(q, 1)) -
              json_real_value(json_array_get(q, 0)) * json_real_value(json_array_get(p, 1));
    }
    assert_true(a2 > 0);
    double lon = json_real_value(json_array_get(json_array_get(ring, 0), 0));
    assert_true(lon > 105.0 && lon < 105.6);
    json_t *props = json_object_get(f, "properties");
    assert_string_equal(json_string_value(json_object_get(props, "parcel")), "10");
    assert_string_equal(json_string_value(json_object_get(props, "source_srid")), "EPSG:9211");
    json_decref(doc);
    pdb_free(text);

    assert_int_equal(pdb_parcels_to_geojson(e->ctx, list, 1, &text), PDB_OK);
    assert_non_null(strstr(text, "\"owner\":\"Trần Thị Thủy\""));
    pdb_free(text);
    pdb_parcel_list_free(list);
}

static void test_reimport_keeps_history(void **state)
{
    env *e = *state;
    pdb_store_stats before, after;
    pdb_parcel_list *list = NULL;
    int64_t batch;

    assert_int_equal(pdb_store_stats_get(e->ctx, e->store, &before), PDB_OK);
    assert_int_equal(fx_load(e->ctx, e->store, zones[0].gpkg, zones[0].commune, zones[0].epsg,
                             &batch),
                     PDB_OK);
    assert_int_equal(pdb_store_stats_get(e->ctx, e->store, &after), PDB_OK);
    assert_int_equal(after.parcels_current, before.parcels_current);
    assert_int_equal(after.parcels_history, before.parcels_history + NFIX);
    assert_int_equal(after.data_version, before.data_version + 1);

    assert_int_equal(pdb_parcel_history(e->ctx, e->store, zones[0].commune, "1", "3", 0, &list),
                     PDB_OK);
    assert_int_equal(list->count, 2);
    assert_non_null(list->items[0].valid_to);
    assert_null(list->items[1].valid_to);
    assert_true(list->items[0].batch_id < list->items[1].batch_id);
    pdb_parcel_list_free(list);
    /* A point lookup sees only the current version. */
    double x = zones[0].e0 + 110, y = zones[0].n0 + 10;
    assert_int_equal(pdb_crs_transform(e->ctx, zones[0].epsg, 4326, &x, &y, 1), PDB_OK);
    assert_int_equal(pdb_parcels_at(e->ctx, e->store, x, y, 0, &list), PDB_OK);
    assert_int_equal(list->count, 1);
    assert_int_equal(list->items[0].batch_id, batch);
    pdb_parcel_list_free(list);
}

static void test_uncommitted_load_leaves_store_unchanged(void **state)
{
    env *e = *state;
    pdb_store_stats before, after;
    pdb_writer *w = NULL;
    int64_t batch;

    assert_int_equal(pdb_store_stats_get(e->ctx, e->store, &before), PDB_OK);
    assert_int_equal(pdb_import_begin(e->ctx, e->store, "abandoned", &batch), PDB_OK);
    pdb_commune_load load = {batch, zones[1].commune, NULL, zones[1].epsg, "x", "x"};
    assert_int_equal(pdb_writer_begin(e->ctx, e->store, &load, &w), PDB_OK);
    pdb_writer_free(w); /* no commit: the supersede is rolled back */
    assert_int_equal(pdb_store_stats_get(e->ctx, e->store, &after), PDB_OK);
    assert_int_equal(after.parcels_current, before.parcels_current);
    assert_int_equal(after.parcels_history, before.parcels_history);
    assert_int_equal(after.data_version, before.data_version);
}

static void test_reader_sees_consistent_store(void **state)
{
    env *e = *state;
    pdb_store_stats s0;
    assert_int_equal(pdb_store_stats_get(e->ctx, e->store, &s0), PDB_OK);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The reader: its own context and connection, as another process. */
        pdb_ctx *ctx = NULL;
        pdb_store *s = NULL;
        if (pdb_ctx_new(&ctx) != PDB_OK ||
            pdb_store_open(ctx, e->path, PDB_OPEN_READONLY, &s) != PDB_OK)
            _exit(2);
        int64_t last_version = -1;
        for (int i = 0; i < 400; i++) {
            pdb_store_stats st;
            if (pdb_store_stats_get(ctx, s, &st) != PDB_OK)
                _exit(3);
            /* Mid-commune states (superseded but not yet replaced) must
             * never be visible. */
            if (st.parcels_current != s0.parcels_current)
                _exit(4);
            if (st.data_version < last_version)
                _exit(5);
            last_version = st.data_version;
        }
        pdb_store_close(s);
        pdb_ctx_free(ctx);
        _exit(0);
    }
    for (int i = 0; i < 8; i++) {
        int64_t batch;
        assert_int_equal(fx_load(e->ctx, e->store, zones[i % 3].gpkg, zones[i % 3].commune,
                                 zones[i % 3].epsg, &batch),
                         PDB_OK);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_open_refuses_what_is_not_a_store(void **state)
{
    env *e = *state;
    pdb_store *s = NULL;
    char path[600];

    assert_int_equal(pdb_store_open(e->ctx, "/nonexistent/parcels.sqlite", PDB_OPEN_READONLY, &s),
                     PDB_ENOTFOUND);
    snprintf(path, sizeof path, "%s/text.sqlite", e->dir);
    assert_int_equal(tu_write_file(path, "this is not a database, just some text\n"), 0);
    assert_int_equal(pdb_store_open(e->ctx, path, PDB_OPEN_READONLY, &s), PDB_ENOTSTORE);
    assert_non_null(strstr(pdb_errmsg(e->ctx), "not a parceldb store"));
    snprintf(path, sizeof path, "%s/other.sqlite", e->dir);
    assert_int_equal(tu_run("sqlite3 '%s' 'CREATE TABLE t(x)'", path), 0);
    assert_int_equal(pdb_store_open(e->ctx, path, PDB_OPEN_READONLY, &s), PDB_ENOTSTORE);
    assert_null(s);
    assert_int_equal(pdb_store_create(e->ctx, e->path, &s), PDB_EINVAL);
    assert_int_equal(pdb_store_open(e->ctx, e->dir, PDB_OPEN_READONLY, &s), PDB_ENOTSTORE);

    pdb_store_stats st;
    assert_int_equal(pdb_store_stats_get(e->ctx, e->store, &st), PDB_OK);
    assert_string_equal(st.journal_mode, "wal");
    assert_int_equal(st.communes, 3);

    pdb_commune_list *communes = NULL;
    assert_int_equal(pdb_communes_list(e->ctx, e->store, &communes), PDB_OK);
    assert_int_equal(communes->count, 3);
    assert_string_equal(communes->items[0].code, "04792"); /* ordered by code */
    assert_string_equal(communes->items[2].code, "08707");
    assert_int_equal(communes->items[0].source_srid, 9211);
    assert_int_equal(communes->items[0].parcels, NFIX);
    assert_true(communes->items[0].bbox[0] > 105.0 && communes->items[0].bbox[2] < 105.6);
    pdb_commune_list_free(communes);
    assert_int_equal(pdb_store_check(e->ctx, e->store), PDB_OK);
}


static void test_spatialite_sees_the_same_index(void **state)
{
    env *e = *state;
    /* SpatiaLite's own consistency check of the R-tree the writer keeps. */
    char *out = tu_capture("echo \"SELECT CheckSpatialIndex('parcels', 'geom');\" | "
                           "spatialite -silent '%s' 2>/dev/null", e->path);
    assert_non_null(out);
    assert_int_equal(atoi(out), 1);
    free(out);
    /* And SpatiaLite's SQL (SpatialIndex + ST_Contains) answers a point as
     * pdb_parcels_at does. */
    double x = zones[0].e0 + 130, y = zones[0].n0 + 70;
    assert_int_equal(pdb_crs_transform(e->ctx, zones[0].epsg, 4326, &x, &y, 1), PDB_OK);
    out = tu_capture("echo \"SELECT parcel FROM parcels WHERE valid_to IS NULL AND "
                     "ST_Contains(geom, MakePoint(%.12f, %.12f, 4326)) AND ROWID IN (SELECT "
                     "ROWID FROM SpatialIndex WHERE f_table_name = 'parcels' AND search_frame = "
                     "MakePoint(%.12f, %.12f, 4326));\" | spatialite -silent '%s' 2>/dev/null",
                     x, y, x, y, e->path);
    assert_non_null(out);
    out[strcspn(out, "\n")] = '\0';
    assert_string_equal(out, "6");
    free(out);
}

int main(void)
{
    GDALAllRegister();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_inside_outside_holes_parts),
        cmocka_unit_test(test_lookup_shared_edges),
        cmocka_unit_test(test_lookup_in_source_crs),
        cmocka_unit_test(test_by_number_and_duplicates),
        cmocka_unit_test(test_source_geometry_bit_exact),
        cmocka_unit_test(test_spatialite_sees_the_same_index),
        cmocka_unit_test(test_bbox_limit_offset),
        cmocka_unit_test(test_geojson),
        cmocka_unit_test(test_open_refuses_what_is_not_a_store),
        cmocka_unit_test(test_uncommitted_load_leaves_store_unchanged),
        cmocka_unit_test(test_reimport_keeps_history),
        cmocka_unit_test(test_reader_sees_consistent_store),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
