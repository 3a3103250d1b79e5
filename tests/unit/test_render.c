/*
 * test_render.c: tiles rendered from a store and checked by decoded
 * pixels. The fixture is a few parcels in Viet Tri, written in VN-2000
 * TM-3 104-45 (EPSG:9208) by ogr2ogr and loaded through the engine as an
 * importer would; where a pixel is looked for comes from cs2cs.
 *
 *   (E0, N0) + ...            size     land use   parcel
 *   (0, 0)                    200 m    LUA        1
 *   (200, 0)                  100 m    LUA        2   shares the edge x = 200
 *   (200, 120)                 40 m    ONT        77  labelled at z18
 *   (260, 120)                 40 m    XYZ        9   unknown code: grey
 *   (200, 170)                 50 m    CLN+ONT    10  compound: CLN colour
 */
#include "fixture.h"
#include "testutil.h"
#include "tiler.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#define EPSG 9208
#define COMMUNE "07900" /* Phuong Viet Tri */
#define E0 567400.0
#define N0 2358700.0

typedef struct env {
    char *dir;            /* temporary directory */
    pdb_ctx *ctx;         /* context */
    pdbt_ctx *tctx;       /* the renderer's context, on ctx */
    pdb_store *store;     /* the fixture store (read-write) */
    pdbt_style *style;    /* styles/landuse.json without its commune layers */
    pdbt_style *full;     /* styles/landuse.json */
    pdbt_renderer *r;     /* renderer with style: parcels only */
    pdbt_renderer *rfull; /* renderer with full */
    char gpkg[600];       /* the fixture survey */
} env;

static void square(fx_parcel *p, const char *num, const char *use, double de, double dn,
                   double size)
{
    p->sheet = "1";
    p->parcel = num;
    p->landuse = use;
    p->owner = "Nguyễn Văn A";
    fx_square_wkt(p->wkt, sizeof p->wkt, E0 + de, N0 + dn, size, 0);
}

static int load_fixture(env *e, const char *big_use)
{
    fx_parcel p[5];
    int64_t batch;
    square(&p[0], "1", big_use, 0, 0, 200);
    square(&p[1], "2", "LUA", 200, 0, 100);
    square(&p[2], "77", "ONT", 200, 120, 40);
    square(&p[3], "9", "XYZ", 260, 120, 40);
    square(&p[4], "10", "CLN+ONT", 200, 170, 50);
    if (fx_write_gpkg(e->dir, big_use, COMMUNE, EPSG, p, 5, e->gpkg, sizeof e->gpkg) != 0)
        return -1;
    return fx_load(e->ctx, e->store, e->gpkg, COMMUNE, EPSG, &batch) == PDB_OK ? 0 : -1;
}

static int setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    char path[700];
    e->dir = strdup(tu_tmpdir("render"));
    assert_int_equal(pdb_ctx_new(&e->ctx), PDB_OK);
    assert_int_equal(pdbt_ctx_new(e->ctx, &e->tctx), PDB_OK);
    snprintf(path, sizeof path, "%s/parcels.sqlite", e->dir);
    if (pdb_store_create(e->ctx, path, &e->store) != PDB_OK)
        fail_msg("%s", pdb_errmsg(e->ctx));
    if (load_fixture(e, "LUA") != 0)
        fail_msg("loading the fixture: %s", pdb_errmsg(e->ctx));
    size_t rebuilt = 0;
    if (pdb_overview_rebuild(e->ctx, e->store, NULL, &rebuilt) != PDB_OK)
        fail_msg("overviews: %s", pdb_errmsg(e->ctx));
    assert_int_equal(rebuilt, 1);
    snprintf(path, sizeof path, "%s/styles/landuse.json", PDB_SOURCE_DIR);
    if (pdbt_style_load(e->tctx, path, &e->full) != PDB_OK)
        fail_msg("%s", pdbt_errmsg(e->tctx));
    /* The commune's own name and boundary cover this small fixture at low
     * zoom: the parcel checks use the shipped style without them. */
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr), *layers = json_object_get(j, "layers");
    assert_non_null(layers);
    for (size_t i = json_array_size(layers); i-- > 0;) {
        const char *sl =
            json_string_value(json_object_get(json_array_get(layers, i), "source-layer"));
        if (sl != NULL && strcmp(sl, "communes") == 0)
            json_array_remove(layers, i);
    }
    char *text = json_dumps(j, 0);
    json_decref(j);
    if (pdbt_style_parse(e->tctx, text, strlen(text), "landuse.json (parcels)", &e->style) !=
        PDB_OK)
        fail_msg("%s", pdbt_errmsg(e->tctx));
    free(text);
    if (pdbt_renderer_new(e->tctx, e->store, e->style, NULL, &e->r) != PDB_OK ||
        pdbt_renderer_new(e->tctx, e->store, e->full, NULL, &e->rfull) != PDB_OK)
        fail_msg("%s", pdbt_errmsg(e->tctx));
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    env *e = *state;
    pdbt_renderer_free(e->r);
    pdbt_renderer_free(e->rfull);
    pdbt_style_free(e->style);
    pdbt_style_free(e->full);
    pdb_store_close(e->store);
    pdbt_ctx_free(e->tctx);
    pdb_ctx_free(e->ctx);
    tu_run("rm -rf '%s'", e->dir);
    free(e->dir);
    free(e);
    return 0;
}

/* Where a TM-3 point falls: its tile at zoom z and the pixel in it. */
static void locate(double de, double dn, int z, int scale, pdbt_tile *t, int *px, int *py)
{
    /* cs2cs answers are kept: the tests ask for the same few points often. */
    typedef struct known_point {
        double de, dn, lon, lat; /* a point and its WGS 84 position */
    } known_point;
    static known_point known[32];
    static int nknown;
    double lon = NAN, lat = NAN, b[4];
    for (int i = 0; i < nknown; i++)
        if (known[i].de == de && known[i].dn == dn) {
            lon = known[i].lon;
            lat = known[i].lat;
        }
    if (isnan(lon)) {
        assert_int_equal(fx_cs2cs_to_wgs84(EPSG, E0 + de, N0 + dn, &lon, &lat), 0);
        if (nknown < 32)
            known[nknown++] = (known_point){de, dn, lon, lat};
    }
    t->z = z;
    t->scale = scale;
    pdbt_tile_at(lon, lat, z, &t->x, &t->y);
    pdbt_tile_bounds_merc(z, t->x, t->y, b);
    double res = pdbt_tile_resolution(z, scale);
    *px = (int)floor((pdbt_merc_x(lon) - b[0]) / res);
    *py = (int)floor((b[3] - pdbt_merc_y(lat)) / res);
}

static void render(env *e, const pdbt_tile *t, pdbt_image *img)
{
    if (pdbt_render_tile(e->tctx, e->r, t, img, NULL) != PDB_OK)
        fail_msg("tile %d/%u/%u: %s", t->z, t->x, t->y, pdbt_errmsg(e->tctx));
    assert_int_equal(img->width, PDBT_TILE_SIZE * t->scale);
    assert_int_equal(img->height, PDBT_TILE_SIZE * t->scale);
}

static void pixel(const pdbt_image *img, int x, int y, unsigned char rgba[4])
{
    assert_true(x >= 0 && x < img->width && y >= 0 && y < img->height);
    pdbt_png_unpremultiply(img->argb[(size_t)y * (img->stride / 4) + (size_t)x], rgba);
}

/* The pixel at a TM-3 point, rendered at zoom z. */
static void pixel_at(env *e, double de, double dn, int z, int scale, unsigned char rgba[4])
{
    pdbt_tile t;
    pdbt_image img;
    int px, py;
    locate(de, dn, z, scale, &t, &px, &py);
    render(e, &t, &img);
    pixel(&img, px, py, rgba);
}

static void expect_rgb(const unsigned char got[4], const unsigned char want[3], const char *what)
{
    if (got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != 255)
        fail_msg("%s: pixel %d %d %d %d, want %d %d %d 255", what, got[0], got[1], got[2], got[3],
                 want[0], want[1], want[2]);
}

static const unsigned char *ref_rgb(const char *code)
{
    const pdb_landuse_ref *ref = pdb_landuse_ref_find(code);
    assert_non_null(ref);
    return ref->rgb;
}

/* A parcel's interior has its land-use colour, at every zoom from the
 * overviews' z12 to z20, and at @2x. */
static void test_interior_colour(void **state)
{
    env *e = *state;
    unsigned char px[4];
    static const unsigned char grey[3] = {180, 180, 180};
    for (int z = 12; z <= 20; z++) {
        char what[64];
        snprintf(what, sizeof what, "LUA parcel at z%d", z);
        pixel_at(e, 40, 60, z, 1, px); /* away from the label in the middle */
        expect_rgb(px, ref_rgb("LUA"), what);
    }
    pixel_at(e, 40, 60, 19, 2, px);
    expect_rgb(px, ref_rgb("LUA"), "LUA parcel at z19@2x");
    pixel_at(e, 205, 125, 19, 1, px); /* away from the label in the middle */
    expect_rgb(px, ref_rgb("ONT"), "ONT parcel");
    pixel_at(e, 280, 140, 17, 1, px);
    expect_rgb(px, grey, "unknown code");
    pixel_at(e, 225, 195, 17, 1, px);
    expect_rgb(px, ref_rgb("CLN"), "compound code CLN+ONT");
}

/* Colour distance, max over channels. */
static int diff(const unsigned char a[4], const unsigned char *b)
{
    int d = 0;
    for (int i = 0; i < 3; i++)
        d = abs(a[i] - b[i]) > d ? abs(a[i] - b[i]) : d;
    return d;
}

/* The largest difference from a colour around a pixel (3x3). */
static int max_diff_around(const pdbt_image *img, int x, int y, const unsigned char *want)
{
    int d = 0;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            unsigned char p[4];
            pixel(img, x + dx, y + dy, p);
            d = diff(p, want) > d ? diff(p, want) : d;
        }
    return d;
}

/* Outlines from z16: the shared edge of two LUA parcels shows at z16 and
 * deeper, and below z16 it is plain LUA (no seam between the two). */
static void test_outlines(void **state)
{
    env *e = *state;
    for (int z = 13; z <= 20; z++) {
        pdbt_tile t;
        pdbt_image img;
        int x, y;
        locate(200, 50, z, 1, &t, &x, &y);
        if (x < 1 || y < 1 || x > 254 || y > 254)
            continue; /* the edge on the tile's border: the next zoom tells */
        render(e, &t, &img);
        int d = max_diff_around(&img, x, y, ref_rgb("LUA"));
        if (z >= 16 && d < 40)
            fail_msg("z%d: no outline on the shared edge (max difference %d)", z, d);
        if (z < 16 && d != 0)
            fail_msg("z%d: something drawn on the shared edge (difference %d)", z, d);
    }
}

/* Counts pixels darker than the text halo in a box around a point. */
static int dark_pixels(const pdbt_image *img, int cx, int cy, int half)
{
    int n = 0;
    for (int y = cy - half; y <= cy + half; y++)
        for (int x = cx - half; x <= cx + half; x++) {
            if (x < 0 || y < 0 || x >= img->width || y >= img->height)
                continue;
            unsigned char p[4];
            pixel(img, x, y, p);
            n += p[3] == 255 && p[0] < 110 && p[1] < 110 && p[2] < 110;
        }
    return n;
}

/* Parcel numbers at z18 and deeper, not above; the label is inside its
 * parcel (whose middle is the anchor of a square). */
static void test_labels(void **state)
{
    env *e = *state;
    for (int z = 16; z <= 20; z++) {
        pdbt_tile t;
        pdbt_image img;
        pdbt_render_stats st;
        int x, y;
        locate(220, 140, z, 1, &t, &x, &y);
        if (pdbt_render_tile(e->tctx, e->r, &t, &img, &st) != PDB_OK)
            fail_msg("%s", pdbt_errmsg(e->tctx));
        int n = dark_pixels(&img, x, y, 8);
        if (z >= 18 && n < 8)
            fail_msg("z%d: no label at the parcel's middle (%d dark pixels)", z, n);
        if (z < 18 && n != 0)
            fail_msg("z%d: %d dark pixels where no label belongs", z, n);
        if (z >= 18)
            assert_true(st.labels_placed >= 1);
    }
}

/* A label that crosses a tile edge is drawn whole, once: its two halves in
 * the two tiles line up to the pixels of the same label drawn inside one
 * tile (the label of parcel 77, found at z19 where it is large). */
static void test_label_across_edge(void **state)
{
    env *e = *state;
    pdbt_tile t;
    pdbt_image img;
    int x, y;
    locate(220, 140, 19, 1, &t, &x, &y);
    render(e, &t, &img);
    /* The label's dark pixels in its own tile, by absolute pixel. */
    int total = dark_pixels(&img, x, y, 20);
    assert_true(total >= 8);
    /* The same label seen from the tiles around: each neighbour that
     * reaches the label's box shows exactly the part inside it. */
    int seen = 0;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            pdbt_tile n = t;
            n.x = t.x + (uint32_t)dx;
            n.y = t.y + (uint32_t)dy;
            render(e, &n, &img);
            seen += dark_pixels(&img, x - dx * 256, y - dy * 256, 20);
        }
    assert_int_equal(seen, total);
}

/* A tile away from the data is fully transparent, at deep and low zoom. */
static void test_empty_tiles(void **state)
{
    env *e = *state;
    int zooms[] = {5, 12, 16, 20};
    for (size_t i = 0; i < sizeof zooms / sizeof zooms[0]; i++) {
        pdbt_tile t;
        pdbt_image img;
        int x, y;
        locate(100, 100, zooms[i], 1, &t, &x, &y);
        t.x += zooms[i] >= 12 ? 1u << (zooms[i] - 10) : 3; /* a few km east */
        render(e, &t, &img);
        for (int k = 0; k < img.width * img.height; k++)
            if (img.argb[k] != 0)
                fail_msg("z%d: pixel %d is %08x, want transparent", zooms[i], k, img.argb[k]);
    }
}

/* Every zoom from 0 to 20 renders, at both scales; z0 and z20 included. */
static void test_every_zoom(void **state)
{
    env *e = *state;
    for (int z = 0; z <= 20; z++)
        for (int s = 1; s <= 2; s++) {
            pdbt_tile t;
            pdbt_image img;
            int x, y;
            locate(100, 100, z, s, &t, &x, &y);
            render(e, &t, &img);
            if (pdbt_render_tile(e->tctx, e->rfull, &t, &img, NULL) != PDB_OK)
                fail_msg("z%d: %s", z, pdbt_errmsg(e->tctx));
        }
    pdbt_tile bad = {21, 0, 0, 3};
    pdbt_image img;
    assert_int_equal(pdbt_render_tile(e->tctx, e->r, &bad, &img, NULL), PDB_EINVAL);
    bad.scale = 1;
    bad.z = 2;
    bad.x = 4;
    assert_int_equal(pdbt_render_tile(e->tctx, e->r, &bad, &img, NULL), PDB_EINVAL);
    assert_non_null(strstr(pdbt_errmsg(e->tctx), "outside"));
    /* The context keeps the failure's status with its message, as the
     * engine's does, until the next call succeeds. */
    assert_int_equal(pdbt_errcode(e->tctx), PDB_EINVAL);
    pdbt_tile good;
    int x, y;
    locate(100, 100, 18, 1, &good, &x, &y);
    assert_int_equal(pdbt_render_tile(e->tctx, e->r, &good, &img, NULL), PDB_OK);
    assert_int_equal(pdbt_errcode(e->tctx), PDB_OK);
}

/* The 512 px tile shows the same map as the 256 px one, twice as fine. */
static void test_scale_2(void **state)
{
    env *e = *state;
    pdbt_tile t;
    pdbt_image img;
    int x, y;
    locate(100, 100, 14, 2, &t, &x, &y);
    render(e, &t, &img);
    assert_int_equal(img.width, 512);
    unsigned char p[4];
    pixel(&img, x, y, p);
    expect_rgb(p, ref_rgb("LUA"), "z14@2x");
    /* The label of parcel 77 at z19 is as many pixels again at @2x. */
    int x1, y1, x2, y2;
    pdbt_tile t1, t2;
    locate(220, 140, 19, 1, &t1, &x1, &y1);
    locate(220, 140, 19, 2, &t2, &x2, &y2);
    render(e, &t1, &img);
    int n1 = dark_pixels(&img, x1, y1, 20);
    render(e, &t2, &img);
    int n2 = dark_pixels(&img, x2, y2, 40);
    if (!(n2 > 2 * n1))
        fail_msg("label pixels: %d at 1x, %d at 2x", n1, n2);
}

/* Low zooms never show data older than their data version: a re-import
 * marks the commune's overviews stale in its commit and its low zooms are
 * drawn from its parcels until the overviews are rebuilt. */
static void test_overviews_follow_imports(void **state)
{
    env *e = *state;
    unsigned char p[4];
    int64_t v0, v1, v2;
    size_t n = 99;
    pixel_at(e, 40, 60, 12, 1, p);
    expect_rgb(p, ref_rgb("LUA"), "z12 from overviews");
    assert_int_equal(pdb_store_data_version(e->ctx, e->store, &v0), PDB_OK);
    if (load_fixture(e, "RSX") != 0)
        fail_msg("re-import: %s", pdb_errmsg(e->ctx));
    assert_int_equal(pdb_store_data_version(e->ctx, e->store, &v1), PDB_OK);
    assert_true(v1 > v0);
    for (int z = 5; z <= 17; z += 4) {
        char what[64];
        snprintf(what, sizeof what, "z%d after re-import, before rebuild", z);
        pixel_at(e, 40, 60, z, 1, p);
        if (z >= 12) /* below, the 200 m parcel is smaller than a pixel */
            expect_rgb(p, ref_rgb("RSX"), what);
    }
    pdbt_tile t;
    pdbt_image img;
    pdbt_render_stats st;
    int x, y;
    locate(100, 100, 8, 1, &t, &x, &y);
    assert_int_equal(pdbt_render_tile(e->tctx, e->r, &t, &img, &st), PDB_OK);
    assert_int_equal(st.features, 5); /* the commune's parcels, one by one */
    /* The rebuild replaces them and bumps the data version once. */
    if (pdb_overview_rebuild(e->ctx, e->store, NULL, &n) != PDB_OK)
        fail_msg("rebuild: %s", pdb_errmsg(e->ctx));
    assert_int_equal(n, 1);
    assert_int_equal(pdb_store_data_version(e->ctx, e->store, &v2), PDB_OK);
    assert_true(v2 > v1);
    assert_int_equal(pdbt_render_tile(e->tctx, e->r, &t, &img, &st), PDB_OK);
    assert_true(st.overview);
    assert_true(st.features <= 3); /* dissolved: one land use, its base, the outline */
    pixel_at(e, 40, 60, 12, 1, p);
    expect_rgb(p, ref_rgb("RSX"), "z12 after the rebuild");
    /* Nothing stale: nothing rebuilt, no new version. */
    assert_int_equal(pdb_overview_rebuild(e->ctx, e->store, NULL, &n), PDB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(pdb_store_data_version(e->ctx, e->store, &v0), PDB_OK);
    assert_int_equal(v0, v2);
    assert_int_equal(pdb_overview_rebuild(e->ctx, e->store, COMMUNE, &n), PDB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(pdb_overview_rebuild(e->ctx, e->store, "99999", &n), PDB_ENOTFOUND);
}

/* z14 draws from the overviews when the style draws nothing there but
 * land-use fills, and from the parcels when it needs them. */
static void test_z14_source(void **state)
{
    env *e = *state;
    pdbt_tile t;
    pdbt_image img;
    pdbt_render_stats st;
    int x, y;
    locate(40, 60, 14, 1, &t, &x, &y);
    assert_int_equal(pdbt_render_tile(e->tctx, e->r, &t, &img, &st), PDB_OK);
    assert_true(st.overview);
    const char *json =
        "{\"version\": 8, \"sources\": {\"p\": {\"type\": \"parceldb\"}}, \"layers\": ["
        "{\"id\": \"f\", \"type\": \"fill\", \"source\": \"p\", \"source-layer\": \"parcels\", "
        "\"paint\": {\"fill-color\": [\"case\", [\">\", [\"get\", \"area\"], 1000], \"#ff0000\", "
        "\"#0000ff\"]}}]}";
    pdbt_style *s = NULL;
    pdbt_renderer *r = NULL;
    assert_int_equal(pdbt_style_parse(e->tctx, json, strlen(json), "area.json", &s), PDB_OK);
    assert_int_equal(pdbt_renderer_new(e->tctx, e->store, s, NULL, &r), PDB_OK);
    assert_int_equal(pdbt_render_tile(e->tctx, r, &t, &img, &st), PDB_OK);
    assert_false(st.overview); /* the area of each parcel: parcels */
    unsigned char p[4];
    pixel(&img, x, y, p);
    assert_int_equal(p[0], 255); /* the 200 m parcel is over 1000 m2 */
    pdbt_renderer_free(r);
    pdbt_style_free(s);
}

/* Commune names at low zoom (z10 to z14), with the full style; none at
 * parcel zooms. */
static void test_commune_names(void **state)
{
    env *e = *state;
    for (int z = 11; z <= 17; z += 3) {
        pdbt_tile t;
        pdbt_image img;
        pdbt_render_stats st;
        int x, y;
        locate(150, 110, z, 1, &t, &x, &y);
        if (pdbt_render_tile(e->tctx, e->rfull, &t, &img, &st) != PDB_OK)
            fail_msg("%s", pdbt_errmsg(e->tctx));
        int n = dark_pixels(&img, x, y, 60);
        if (z < 15 && (n < 10 || st.labels_placed != 1))
            fail_msg("z%d: no commune name (%d dark pixels, %zu labels)", z, n, st.labels_placed);
        if (z >= 15 && n != 0)
            fail_msg("z%d: %d dark pixels at parcel zooms", z, n);
    }
}

/* The PNG of a rendered tile decodes with libpng to the same pixels. */
static void test_png_round_trip(void **state)
{
    env *e = *state;
    pdbt_tile t;
    pdbt_image img;
    int x, y;
    locate(220, 140, 18, 1, &t, &x, &y);
    render(e, &t, &img);
    unsigned char *png = NULL;
    size_t len = 0;
    assert_int_equal(pdbt_png_encode(e->tctx, &img, NULL, &png, &len), PDB_OK);
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_memory(&pi, png, len));
    pi.format = PNG_FORMAT_RGBA;
    unsigned char *dec = malloc(PNG_IMAGE_SIZE(pi));
    assert_true(png_image_finish_read(&pi, NULL, dec, 0, NULL));
    for (int k = 0; k < 256 * 256; k++) {
        unsigned char p[4];
        pdbt_png_unpremultiply(img.argb[k], p);
        if (memcmp(p, dec + 4 * k, 4) != 0)
            fail_msg("pixel %d differs after PNG", k);
    }
    free(dec);
    free(png);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interior_colour),
        cmocka_unit_test(test_outlines),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_label_across_edge),
        cmocka_unit_test(test_empty_tiles),
        cmocka_unit_test(test_every_zoom),
        cmocka_unit_test(test_scale_2),
        cmocka_unit_test(test_png_round_trip),
        cmocka_unit_test(test_commune_names),
        cmocka_unit_test(test_z14_source),
        cmocka_unit_test(test_overviews_follow_imports),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
