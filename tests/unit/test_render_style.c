/*
 * test_render_style.c: the pure parts of the tiler: tile arithmetic,
 * colours, expressions, style loading and its error messages, and the
 * shipped styles (their colours against the engine's land-use table).
 */
#include "font.h"
#include "style.h"
#include "testutil.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The renderer's context of the test thread (setup and teardown below). */
static pdbt_ctx *tctx;

/* ---- tiles -------------------------------------------------------------- */

static void test_tile_bounds(void **state)
{
    (void)state;
    double b[4];
    pdbt_tile_bounds_merc(0, 0, 0, b);
    assert_float_equal(b[0], -PDBT_MERC_MAX, 1e-6);
    assert_float_equal(b[3], PDBT_MERC_MAX, 1e-6);
    pdbt_tile_bounds_merc(1, 1, 0, b); /* north-east quarter */
    assert_float_equal(b[0], 0, 1e-6);
    assert_float_equal(b[1], 0, 1e-6);
    assert_float_equal(b[2], PDBT_MERC_MAX, 1e-6);
    pdbt_tile_bounds_lonlat(1, 0, 1, b);
    assert_float_equal(b[0], -180, 1e-9);
    assert_float_equal(b[1], -PDBT_MERC_MAX_LAT, 1e-9);
    assert_float_equal(b[3], 0, 1e-9);
    assert_float_equal(pdbt_tile_resolution(0, 1), 2 * PDBT_MERC_MAX / 256, 1e-9);
    assert_float_equal(pdbt_tile_resolution(1, 2), 2 * PDBT_MERC_MAX / 1024, 1e-9);
}

static void test_merc_round_trip(void **state)
{
    (void)state;
    /* Web Mercator of Viet Tri by PROJ, not by our formula (cs2cs reads
     * EPSG:4326 as lat, lon). */
    double x = NAN, y = NAN;
    char *out;
    out = tu_capture("echo '21.3220 105.4020' | cs2cs -f %%.6f EPSG:4326 EPSG:3857");
    assert_non_null(out);
    assert_int_equal(sscanf(out, "%lf %lf", &x, &y), 2);
    free(out);
    assert_float_equal(pdbt_merc_x(105.4020), x, 1e-3);
    assert_float_equal(pdbt_merc_y(21.3220), y, 1e-3);
    assert_float_equal(pdbt_merc_lon(x), 105.4020, 1e-9);
    assert_float_equal(pdbt_merc_lat(y), 21.3220, 1e-9);
    uint32_t tx, ty;
    pdbt_tile_at(105.4020, 21.3220, 14, &tx, &ty);
    double b[4];
    pdbt_tile_bounds_lonlat(14, tx, ty, b);
    assert_true(b[0] <= 105.4020 && 105.4020 < b[2]);
    assert_true(b[1] <= 21.3220 && 21.3220 < b[3]);
}

static void test_tile_parse(void **state)
{
    (void)state;
    pdbt_tile t;
    assert_int_equal(pdbt_tile_parse(tctx, "14/13003/7195", 22, &t), PDB_OK);
    assert_int_equal(t.z, 14);
    assert_int_equal(t.x, 13003);
    assert_int_equal(t.y, 7195);
    assert_int_equal(t.scale, 1);
    assert_int_equal(pdbt_tile_parse(tctx, "3/1/2@2x.png", 22, &t), PDB_OK);
    assert_int_equal(t.scale, 2);
    assert_int_equal(pdbt_tile_parse(tctx, "3 1 2", 22, &t), PDB_OK);
    assert_int_equal(t.y, 2);
    assert_int_equal(pdbt_tile_parse(tctx, "3/8/0", 22, &t), PDB_EINVAL);
    assert_non_null(strstr(pdbt_errmsg(tctx), "below 8"));
    assert_int_equal(pdbt_tile_parse(tctx, "23/0/0", 22, &t), PDB_EINVAL);
    assert_non_null(strstr(pdbt_errmsg(tctx), "zoom 23"));
    const char *bad[] = {"",       "1/2",  "a/b/c",           "1/2/3/4",
                         "-1/0/0", "1//0", "99999999999/0/0", "1/0/0@3x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(pdbt_tile_parse(tctx, bad[i], 22, &t), PDB_EINVAL);
        /* Without a context (the server's hot path): the same status. */
        assert_int_equal(pdbt_tile_parse(NULL, bad[i], 22, &t), PDB_EINVAL);
    }
    assert_int_equal(pdbt_tile_parse(NULL, "14/13003/7195", 22, &t), PDB_OK);
    assert_int_equal(t.x, 13003);
    assert_true(pdbt_tile_valid(0, 0, 0, 22));
    assert_false(pdbt_tile_valid(2, 4, 0, 22));
    assert_false(pdbt_tile_valid(23, 0, 0, 22));
}

/* ---- colours and expressions --------------------------------------------- */

static void test_colors(void **state)
{
    (void)state;
    pdbt_rgba c;
    assert_int_equal(pdbt__color_parse("#fffc82", &c), 0);
    assert_float_equal(c.g, 252 / 255.0, 1e-9);
    assert_float_equal(c.a, 1, 1e-9);
    assert_int_equal(pdbt__color_parse("#f00", &c), 0);
    assert_float_equal(c.r, 1, 1e-9);
    assert_int_equal(pdbt__color_parse("#ff000080", &c), 0);
    assert_float_equal(c.a, 128 / 255.0, 1e-9);
    assert_int_equal(pdbt__color_parse("rgba(255, 0, 0, 0.5)", &c), 0);
    assert_float_equal(c.a, 0.5, 1e-9);
    assert_int_equal(pdbt__color_parse("rgb(0,128,255)", &c), 0);
    assert_float_equal(c.b, 1, 1e-9);
    assert_int_equal(pdbt__color_parse("hsl(120, 100%, 50%)", &c), 0);
    assert_float_equal(c.g, 1, 1e-9);
    assert_float_equal(c.r, 0, 1e-9);
    assert_int_equal(pdbt__color_parse("white", &c), 0);
    const char *bad[] = {"#ff", "#gggggg", "rgb(300,0,0)", "reed", "rgb(1,2)", "rgba(0,0,0,2)"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_not_equal(pdbt__color_parse(bad[i], &c), 0);
}

/* Compiles JSON text as an expression; fails the test on error. */
static pdbt_expr *compile(const char *json, pdbt_vtype want)
{
    json_error_t jerr;
    json_t *j = json_loads(json, JSON_DECODE_ANY, &jerr);
    assert_non_null(j);
    pdbt_expr *e = NULL;
    if (pdbt__expr_compile(tctx, j, want, "e", &e) != PDB_OK)
        fail_msg("%s: %s", json, pdbt_errmsg(tctx));
    json_decref(j);
    return e;
}

static const char *compile_error(const char *json, pdbt_vtype want)
{
    json_error_t jerr;
    json_t *j = json_loads(json, JSON_DECODE_ANY, &jerr);
    assert_non_null(j);
    pdbt_expr *e = NULL;
    assert_int_equal(pdbt__expr_compile(tctx, j, want, "e", &e), PDB_EINVAL);
    json_decref(j);
    assert_null(e);
    return pdbt_errmsg(tctx);
}

static void env_parcel(pdbt_eval_env *env, const char *use, double area, double zoom)
{
    memset(env, 0, sizeof *env);
    env->zoom = zoom;
    env->str[PDBT_FP_LANDUSE_MAIN] = use;
    env->str[PDBT_FP_LANDUSE] = use;
    env->str[PDBT_FP_PARCEL] = "77";
    env->str[PDBT_FP_KIND] = "parcel";
    env->num[PDBT_FP_AREA] = area;
    env->num[PDBT_FP_ID] = 5;
}

static void test_expressions(void **state)
{
    (void)state;
    pdbt_eval_env env;
    env_parcel(&env, "ONT", 120, 16);

    pdbt_expr *m = compile("[\"match\", [\"get\", \"landuse_main\"], \"LUA\", \"#fffc82\", "
                           "[\"ONT\", \"ODT\"], \"#ffd0ff\", \"#b4b4b4\"]",
                           PDBT_V_COLOR);
    pdbt_value v = pdbt__expr_eval(m, &env);
    assert_int_equal(v.t, PDBT_V_COLOR);
    assert_float_equal(v.c.g, 208 / 255.0, 1e-9);
    env.str[PDBT_FP_LANDUSE_MAIN] = "XYZ";
    v = pdbt__expr_eval(m, &env);
    assert_float_equal(v.c.r, 180 / 255.0, 1e-9);
    env.str[PDBT_FP_LANDUSE_MAIN] = NULL;
    v = pdbt__expr_eval(m, &env);
    assert_float_equal(v.c.r, 180 / 255.0, 1e-9);
    assert_true(pdbt__expr_uses_feature(m));
    pdbt__expr_free(m);

    pdbt_expr *w = compile("[\"interpolate\", [\"linear\"], [\"zoom\"], 16, 1, 20, 3]", PDBT_V_NUM);
    assert_false(pdbt__expr_uses_feature(w));
    env.zoom = 18;
    assert_float_equal(pdbt__expr_eval(w, &env).n, 2, 1e-9);
    env.zoom = 10;
    assert_float_equal(pdbt__expr_eval(w, &env).n, 1, 1e-9);
    env.zoom = 22;
    assert_float_equal(pdbt__expr_eval(w, &env).n, 3, 1e-9);
    pdbt__expr_free(w);

    pdbt_expr *x =
        compile("[\"interpolate\", [\"exponential\", 2], [\"zoom\"], 0, 0, 2, 3]", PDBT_V_NUM);
    env.zoom = 1;
    assert_float_equal(pdbt__expr_eval(x, &env).n, 1, 1e-9); /* (2^1-1)/(2^2-1) * 3 */
    pdbt__expr_free(x);

    pdbt_expr *ci = compile("[\"interpolate\", [\"linear\"], [\"zoom\"], 0, \"#000000\", 10, "
                            "\"#ffffff\"]",
                            PDBT_V_COLOR);
    env.zoom = 5;
    assert_float_equal(pdbt__expr_eval(ci, &env).c.r, 0.5, 1e-9);
    pdbt__expr_free(ci);

    pdbt_expr *s = compile("[\"step\", [\"zoom\"], \"a\", 10, \"b\", 15, \"c\"]", PDBT_V_NULL);
    env.zoom = 9;
    assert_string_equal(pdbt__expr_eval(s, &env).s, "a");
    env.zoom = 10;
    assert_string_equal(pdbt__expr_eval(s, &env).s, "b");
    env.zoom = 19;
    assert_string_equal(pdbt__expr_eval(s, &env).s, "c");
    pdbt__expr_free(s);

    pdbt_expr *c = compile("[\"case\", [\">=\", [\"get\", \"area\"], 100], \"big\", "
                           "[\"==\", [\"get\", \"kind\"], \"parcel\"], \"small\", \"other\"]",
                           PDBT_V_NULL);
    assert_string_equal(pdbt__expr_eval(c, &env).s, "big");
    env.num[PDBT_FP_AREA] = 20;
    assert_string_equal(pdbt__expr_eval(c, &env).s, "small");
    env.str[PDBT_FP_KIND] = "commune";
    assert_string_equal(pdbt__expr_eval(c, &env).s, "other");
    pdbt__expr_free(c);

    pdbt_expr *k = compile("[\"concat\", [\"get\", \"parcel\"], \" / \", [\"to-string\", "
                           "[\"get\", \"area\"]]]",
                           PDBT_V_NULL);
    env.num[PDBT_FP_AREA] = 245.5;
    assert_string_equal(pdbt__expr_eval(k, &env).s, "77 / 245.5");
    pdbt__expr_free(k);

    pdbt_expr *b = compile("[\"all\", [\"has\", \"parcel\"], [\"!\", [\"==\", [\"get\", "
                           "\"landuse_main\"], \"LUA\"]], [\"any\", false, true]]",
                           PDBT_V_BOOL);
    assert_true(pdbt__expr_eval(b, &env).b);
    env.str[PDBT_FP_PARCEL] = NULL;
    assert_false(pdbt__expr_eval(b, &env).b);
    pdbt__expr_free(b);

    pdbt_expr *co =
        compile("[\"coalesce\", [\"get\", \"sheet\"], [\"get\", \"parcel\"], \"-\"]", PDBT_V_NULL);
    assert_string_equal(pdbt__expr_eval(co, &env).s, "-");
    pdbt__expr_free(co);

    pdbt_expr *rd = compile("[\"concat\", [\"to-string\", [\"round\", [\"get\", \"area\"]]], "
                            "\" m²\"]",
                            PDBT_V_NULL);
    env.num[PDBT_FP_AREA] = 245.5123;
    assert_string_equal(pdbt__expr_eval(rd, &env).s, "246 m²");
    pdbt__expr_free(rd);

    pdbt_expr *n = compile("[\"to-number\", \"12.5\"]", PDBT_V_NULL);
    assert_float_equal(pdbt__expr_eval(n, &env).n, 12.5, 1e-12);
    pdbt__expr_free(n);

    /* Errors name the path inside the expression. */
    assert_non_null(strstr(compile_error("[\"frobnicate\", 1]", PDBT_V_NUM),
                           "unknown expression operator 'frobnicate'"));
    assert_non_null(strstr(compile_error("[\"get\", \"landuse-main\"]", PDBT_V_NULL),
                           "unknown feature property 'landuse-main'"));
    assert_non_null(strstr(compile_error("[\"match\", [\"get\", \"landuse\"], \"A\", \"reed\", "
                                         "\"#000\"]",
                                         PDBT_V_COLOR),
                           "e[3]: 'reed' is not a colour"));
    assert_non_null(strstr(compile_error("[\"match\", [\"get\", \"landuse\"], \"A\", \"#fff\", "
                                         "\"A\", \"#000\", \"#000\"]",
                                         PDBT_V_COLOR),
                           "label 'A' appears twice"));
    assert_non_null(strstr(
        compile_error("[\"interpolate\", [\"linear\"], [\"zoom\"], 10, 1, 5, 2]", PDBT_V_NUM),
        "e[5]: stops must be in strictly ascending order"));
    assert_non_null(strstr(
        compile_error("[\"interpolate\", [\"cubic\"], [\"zoom\"], 1, 1]", PDBT_V_NUM), "e[1]"));
    assert_non_null(
        strstr(compile_error("\"wide\"", PDBT_V_NUM), "expected a number, found a string"));
}

/* ---- style files ------------------------------------------------------- */

static const char *style_error(const char *json)
{
    pdbt_style *s = NULL;
    pdb_status st = pdbt_style_parse(tctx, json, strlen(json), "bad.json", &s);
    assert_int_equal(st, PDB_EINVAL);
    assert_int_equal(pdbt_errcode(tctx), PDB_EINVAL);
    assert_null(s);
    return pdbt_errmsg(tctx);
}

#define HEAD "{\"version\": 8, \"sources\": {\"p\": {\"type\": \"parceldb\"}}, \"layers\": ["

static void expect_error(const char *json, const char *want)
{
    const char *err = style_error(json);
    if (strstr(err, want) == NULL)
        fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_style_errors(void **state)
{
    (void)state;
    expect_error("{\"version\": 8,\n \"layers\": [}", "bad.json: line 2, column");
    expect_error("[]", "bad.json: the style must be a JSON object");
    expect_error("{\"version\": 7, \"sources\": {}, \"layers\": []}",
                 "bad.json: version: must be 8");
    expect_error("{\"version\": 8, \"sauces\": {}, \"layers\": []}",
                 "bad.json: sauces: unknown style property");
    expect_error(HEAD "{\"id\": \"a\", \"type\": \"fill\", \"source\": \"p\", \"source-layer\": "
                      "\"parcels\", \"paint\": {\"fill-colour\": \"#fff\"}}]}",
                 "bad.json: layers[0].paint.fill-colour: unknown paint property for a fill layer");
    expect_error(HEAD "{\"id\": \"a\", \"type\": \"fill\", \"source\": \"p\", \"source-layer\": "
                      "\"parcels\"}, {\"id\": \"b\", \"type\": \"line\", \"source\": \"p\", "
                      "\"source-layer\": \"parcels\", \"paint\": {\"line-color\": [\"match\", "
                      "[\"get\", \"landuse_main\"], \"LUA\", \"#fffc82\", \"reed\"]}}]}",
                 "bad.json: layers[1].paint.line-color[4]: 'reed' is not a colour");
    expect_error(HEAD "{\"id\": \"a\", \"type\": \"fill\", \"source\": \"p\", \"source-layer\": "
                      "\"parcels\", \"paint\": {\"fill-opacity\": \"half\"}}]}",
                 "layers[0].paint.fill-opacity: expected a number, found a string");
    expect_error(HEAD "{\"id\": \"a\", \"type\": \"line\", \"source\": \"p\", \"source-layer\": "
                      "\"parcels\", \"layout\": {\"line-width\": 2}}]}",
                 "layers[0].layout.line-width: 'line-width' is a paint property, not a layout one");
    expect_error(HEAD "{\"id\": \"a\", \"type\": \"fill\", \"source\": \"p\", \"source-layer\": "
                      "\"parcels\", \"colour\": 1}]}",
                 "layers[0].colour: unknown layer property");
    expect_error(HEAD "{\"id\": \"a\", \"type\": \"raster\", \"source\": \"p\", \"source-layer\": "
                      "\"parcels\"}]}",
                 "layers[0].type: 'raster' is not supported");
    expect_error(HEAD "{\"id\": \"a\", \"type\": \"fill\", \"source\": \"q\", \"source-layer\": "
                      "\"parcels\"}]}",
                 "layers[0].source: 'q' is not one of the style's sources");
    expect_error(HEAD "{\"id\": \"a\", \"type\": \"fill\", \"source\": \"p\", \"source-layer\": "
                      "\"roads\"}]}",
                 "layers[0].source-layer: 'roads' is not a layer of parceldb");
    expect_error(HEAD "{\"id\": \"a\", \"type\": \"fill\", \"source\": \"p\", \"source-layer\": "
                      "\"parcels\"}, {\"id\": \"a\", \"type\": \"fill\", \"source\": \"p\", "
                      "\"source-layer\": \"parcels\"}]}",
                 "layers[1].id: 'a' is already the id of layers[0]");
    expect_error(HEAD "{\"id\": \"a\", \"type\": \"symbol\", \"source\": \"p\", \"source-layer\": "
                      "\"parcels\", \"layout\": {\"text-size\": 12}}]}",
                 "layers[0].layout.text-field: a symbol layer needs a text-field");
    expect_error(HEAD "{\"id\": \"a\", \"type\": \"line\", \"source\": \"p\", \"source-layer\": "
                      "\"parcels\", \"minzoom\": 30}]}",
                 "layers[0].minzoom: must be a number from 0 to 24");
    expect_error(HEAD "{\"id\": \"a\", \"type\": \"line\", \"source\": \"p\", \"source-layer\": "
                      "\"parcels\", \"layout\": {\"line-join\": \"pointy\"}}]}",
                 "layers[0].layout.line-join: must be one of bevel, round, miter");
    expect_error(HEAD "{\"id\": \"a\", \"type\": \"line\", \"source\": \"p\", \"source-layer\": "
                      "\"parcels\", \"filter\": [\"==\", [\"get\", \"landuse\"]]}]}",
                 "layers[0].filter: == compares two values");

    /* A file that does not exist, and one that is broken, name the file. */
    pdbt_style *s = NULL;
    assert_int_equal(pdbt_style_load(tctx, "/nonexistent/x.json", &s), PDB_ENOTFOUND);
    assert_non_null(strstr(pdbt_errmsg(tctx), "/nonexistent/x.json"));
    const char *dir = tu_tmpdir("style");
    char path[600];
    snprintf(path, sizeof path, "%s/broken.json", dir);
    assert_int_equal(tu_write_file(path, HEAD "{\"id\": \"a\", \"type\": \"fill\", \"source\": "
                                              "\"p\", \"source-layer\": \"parcels\", \"paint\": "
                                              "{\"fill-color\": \"#12345\"}}]}"),
                     0);
    assert_int_equal(pdbt_style_load(tctx, path, &s), PDB_EINVAL);
    char want[700];
    snprintf(want, sizeof want, "%s: layers[0].paint.fill-color: '#12345' is not a colour", path);
    assert_memory_equal(pdbt_errmsg(tctx), want, strlen(want));
    tu_run("rm -rf '%s'", dir);
}

/* One error convention across the renderer, the engine's: every fallible
 * call reports on the caller's context (a status and one line), and a
 * call that succeeds leaves PDB_OK there. Tile parsing, style loading,
 * font opening and rendering all answer on the same context (PNG
 * encoding: test_render_png.c). */
static void test_error_convention(void **state)
{
    (void)state;
    pdbt_tile t;

    assert_int_equal(pdbt_tile_parse(tctx, "14/x/1", 22, &t), PDB_EINVAL);
    assert_int_equal(pdbt_errcode(tctx), PDB_EINVAL);
    assert_string_equal(pdbt_errmsg(tctx),
                        "'14/x/1' is not a tile (want Z/X/Y, e.g. 14/13003/7195)");

    /* A style whose labels need DejaVu Sans: it loads, and the context
     * says so. */
    const char *json = HEAD "{\"id\": \"names\", \"type\": \"symbol\", \"source\": \"p\", "
                            "\"source-layer\": \"communes\", \"layout\": {\"text-field\": "
                            "[\"get\", \"commune_name\"], \"text-font\": [\"DejaVu Sans\"]}}]}";
    pdbt_style *s = NULL;
    assert_int_equal(pdbt_style_parse(tctx, json, strlen(json), "labels.json", &s), PDB_OK);
    assert_int_equal(pdbt_errcode(tctx), PDB_OK);
    assert_string_equal(pdbt_errmsg(tctx), "no error");

    /* A renderer made without a store (as the server opens the fonts
     * before it drops privileges): a font directory without the font, and
     * one where the font's file is no font. */
    pdbt_renderer *r = NULL;
    pdbt_renderer_options ro = {.font_dir = "/nonexistent"};
    assert_int_equal(pdbt_renderer_new(tctx, NULL, s, &ro, &r), PDB_ENOTFOUND);
    assert_null(r);
    assert_string_equal(pdbt_errmsg(tctx), "layer 'names': font 'DejaVu Sans' not found (looked "
                                           "for /nonexistent/DejaVuSans.ttf)");
    const char *dir = tu_tmpdir("fonts");
    char path[600], want[800];
    snprintf(path, sizeof path, "%s/DejaVuSans.ttf", dir);
    assert_int_equal(tu_write_file(path, "not a font"), 0);
    ro.font_dir = dir;
    assert_int_equal(pdbt_renderer_new(tctx, NULL, s, &ro, &r), PDB_EIO);
    assert_null(r);
    snprintf(want, sizeof want, "layer 'names': %s: not a font FreeType can read", path);
    assert_string_equal(pdbt_errmsg(tctx), want);
    tu_run("rm -rf '%s'", dir);

    /* The installed font: the renderer starts, but without a store and an
     * engine context it renders nothing, and says why. */
    assert_int_equal(pdbt_renderer_new(tctx, NULL, s, NULL, &r), PDB_OK);
    assert_int_equal(pdbt_errcode(tctx), PDB_OK);
    pdbt_image img;
    pdbt_tile z0 = {0, 0, 0, 1};
    assert_int_equal(pdbt_render_tile(tctx, r, &z0, &img, NULL), PDB_EINVAL);
    assert_non_null(strstr(pdbt_errmsg(tctx), "engine context"));
    pdbt_renderer_free(r);
    pdbt_style_free(s);
}

static int setup(void **state)
{
    (void)state;
    return pdbt_ctx_new(NULL, &tctx) == PDB_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    pdbt_ctx_free(tctx);
    return 0;
}

static pdbt_style *load_shipped(const char *name)
{
    char path[600];
    pdbt_style *s = NULL;
    snprintf(path, sizeof path, "%s/styles/%s", PDB_SOURCE_DIR, name);
    if (pdbt_style_load(tctx, path, &s) != PDB_OK)
        fail_msg("%s", pdbt_errmsg(tctx));
    return s;
}

static const pdbt_style_layer *find_layer(const pdbt_style *s, const char *id)
{
    for (size_t i = 0; i < s->nlayers; i++)
        if (strcmp(s->layers[i].id, id) == 0)
            return &s->layers[i];
    fail_msg("no layer %s", id);
    return NULL;
}

static void test_shipped_styles(void **state)
{
    (void)state;
    pdbt_style *s = load_shipped("landuse.json");
    const pdbt_style_layer *fill = find_layer(s, "landuse");
    pdbt_eval_env env;
    size_t n;
    const pdb_landuse_ref *refs = pdb_landuse_ref_list(&n);
    assert_true(n > 50);
    /* Every known code has its colour from data/landuse-codes.csv. */
    for (size_t i = 0; i < n; i++) {
        env_parcel(&env, refs[i].code, 100, 17);
        pdbt_value v = pdbt__expr_eval(fill->props[PDBT_P_FILL_COLOR], &env);
        assert_int_equal(v.t, PDBT_V_COLOR);
        if (lround(v.c.r * 255) != refs[i].rgb[0] || lround(v.c.g * 255) != refs[i].rgb[1] ||
            lround(v.c.b * 255) != refs[i].rgb[2])
            fail_msg("%s: style %ld %ld %ld, table %d %d %d", refs[i].code, lround(v.c.r * 255),
                     lround(v.c.g * 255), lround(v.c.b * 255), refs[i].rgb[0], refs[i].rgb[1],
                     refs[i].rgb[2]);
    }
    env_parcel(&env, "QQQ", 100, 17);
    pdbt_value v = pdbt__expr_eval(fill->props[PDBT_P_FILL_COLOR], &env);
    assert_int_equal(lround(v.c.r * 255), 180);
    assert_int_equal(lround(v.c.g * 255), 180);
    /* Outlines from z16, parcel labels from z18, communes at low zoom. */
    assert_int_equal(find_layer(s, "parcel-outline")->minzoom, 16);
    assert_int_equal(find_layer(s, "parcel-label")->minzoom, 18);
    assert_int_equal(find_layer(s, "commune-label")->source, PDBT_SRC_COMMUNES);
    assert_true(find_layer(s, "commune-boundary")->maxzoom <= 16);
    pdbt_style_free(s);

    s = load_shipped("outline.json");
    for (size_t i = 0; i < s->nlayers; i++)
        assert_int_not_equal(s->layers[i].type, PDBT_LAYER_FILL);
    pdbt_style_free(s);

    char path[4096];
    assert_int_equal(pdbt_style_default_path(path, sizeof path), 0);
    assert_non_null(strstr(path, "landuse.json"));
}

/* Every letter of every commune name has a glyph in the label fonts:
 * Vietnamese (NFC, precomposed: ư, ờ, ệ, ...) draws right, never as the
 * empty box of a missing glyph. */
static void test_vietnamese_glyphs(void **state)
{
    (void)state;
    const char *fonts[] = {"DejaVu Sans", "DejaVu Sans Bold"};
    size_t n;
    const pdb_commune_ref *communes = pdb_commune_ref_list(&n);
    assert_true(n >= 148);
    for (size_t f = 0; f < 2; f++) {
        char path[600];
        if (pdbt__font_file("/usr/share/fonts/truetype/dejavu", fonts[f], path, sizeof path) != 0)
            fail_msg("%s not installed (fonts-dejavu-core)", fonts[f]);
        cairo_font_face_t *face = NULL;
        if (pdbt__font_face(tctx, path, &face) != PDB_OK)
            fail_msg("%s", pdbt_errmsg(tctx));
        cairo_matrix_t m, id;
        cairo_matrix_init_scale(&m, 12, 12);
        cairo_matrix_init_identity(&id);
        cairo_font_options_t *fo = cairo_font_options_create();
        cairo_scaled_font_t *sf = cairo_scaled_font_create(face, &m, &id, fo);
        for (size_t i = 0; i < n; i++) {
            cairo_glyph_t *glyphs = NULL;
            int nglyphs = 0;
            assert_int_equal(cairo_scaled_font_text_to_glyphs(sf, 0, 0, communes[i].name, -1,
                                                              &glyphs, &nglyphs, NULL, NULL, NULL),
                             CAIRO_STATUS_SUCCESS);
            assert_true(nglyphs > 0);
            for (int g = 0; g < nglyphs; g++)
                if (glyphs[g].index == 0)
                    fail_msg("%s: a letter of '%s' has no glyph", fonts[f], communes[i].name);
            cairo_glyph_free(glyphs);
        }
        cairo_scaled_font_destroy(sf);
        cairo_font_options_destroy(fo);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tile_bounds),       cmocka_unit_test(test_merc_round_trip),
        cmocka_unit_test(test_tile_parse),        cmocka_unit_test(test_colors),
        cmocka_unit_test(test_expressions),       cmocka_unit_test(test_style_errors),
        cmocka_unit_test(test_error_convention),  cmocka_unit_test(test_shipped_styles),
        cmocka_unit_test(test_vietnamese_glyphs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
