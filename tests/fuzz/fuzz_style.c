/*
 * fuzz_style: the style loader (tiler/style.c) and its expressions
 * (tiler/expr.c) on arbitrary bytes. When a style loads, every layer's
 * filter and properties are evaluated as the renderer would, at several
 * zooms and on features with and without properties, so that the
 * evaluator (match, step, interpolate, string building in the scratch
 * buffer) runs on whatever the compiler accepted. The first line of the
 * input is also parsed as a CSS colour.
 */
#include "style.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_style: check failed: %s (line %d)\n", #cond, __LINE__);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* style.h: "straight channels in 0..1" (NaN is not in it). */
static int channel_ok(double v)
{
    return v >= 0 && v <= 1;
}

static void check_value(pdbt_value v, const pdbt_eval_env *env)
{
    CHECK(v.t >= PDBT_V_NULL && v.t <= PDBT_V_COLOR);
    if (v.t == PDBT_V_STR) {
        CHECK(v.s != NULL);
        (void)strlen(v.s); /* a dangling or unterminated string trips ASan here */
    }
    if (v.t == PDBT_V_NUM)
        CHECK(isfinite(v.n)); /* widths, opacities, sizes go to Cairo */
    if (v.t == PDBT_V_COLOR)
        CHECK(channel_ok(v.c.r) && channel_ok(v.c.g) && channel_ok(v.c.b) && channel_ok(v.c.a));
    CHECK(env->scratch_used <= sizeof env->scratch);
}

static void eval_all(const pdbt_style *s, int with_props)
{
    static const double zooms[] = {0, 7.5, 12, 15.25, 18, 22, -1, 1e300};
    for (size_t z = 0; z < PDB_COUNTOF(zooms); z++) {
        pdbt_eval_env env;
        memset(&env, 0, sizeof env);
        env.zoom = zooms[z];
        if (with_props) {
            env.str[PDBT_FP_COMMUNE] = "08707";
            env.str[PDBT_FP_COMMUNE_NAME] = "Phường Vĩnh Phúc";
            env.str[PDBT_FP_SHEET] = "12";
            env.str[PDBT_FP_PARCEL] = "345";
            env.str[PDBT_FP_LANDUSE] = "ONT+CLN";
            env.str[PDBT_FP_LANDUSE_MAIN] = "ONT";
            env.str[PDBT_FP_KIND] = "parcel";
            env.num[PDBT_FP_ID] = 42;
            env.num[PDBT_FP_AREA] = 512.25;
        }
        for (size_t i = 0; i < s->nlayers; i++) {
            const pdbt_style_layer *l = &s->layers[i];
            CHECK(l->id != NULL);
            CHECK(l->ndash >= 0 && l->ndash <= (int)PDB_COUNTOF(l->dash));
            if (l->filter != NULL) {
                env.scratch_used = 0;
                check_value(pdbt__expr_eval(l->filter, &env), &env);
                (void)pdbt__expr_uses_feature(l->filter);
                (void)pdbt__expr_props(l->filter);
            }
            for (int p = 0; p < PDBT_P_COUNT; p++)
                if (l->props[p] != NULL) {
                    env.scratch_used = 0;
                    check_value(pdbt__expr_eval(l->props[p], &env), &env);
                }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pdbt_ctx *ctx = NULL;
    pdbt_style *s = NULL;

    CHECK(pdbt_ctx_new(NULL, &ctx) == PDB_OK);
    pdb_status st = pdbt_style_parse(ctx, (const char *)data, size, "fuzz.json", &s);
    CHECK(pdbt_errcode(ctx) == st);
    if (st == PDB_OK) {
        CHECK(s != NULL);
        (void)pdbt_style_name(s);
        eval_all(s, 1);
        eval_all(s, 0);
        /* Its MapLibre form (the vector tiles' style): JSON text again. */
        char *ml = NULL;
        size_t ml_len = 0;
        if (pdbt_style_maplibre(ctx, s, "http://x/tiles.mvt.json", "http://x/{fontstack}/{range}",
                                &ml, &ml_len) == PDB_OK) {
            CHECK(ml != NULL && strlen(ml) == ml_len && ml[0] == '{');
            free(ml);
        }
        pdbt_style_free(s);
    } else {
        CHECK(s == NULL);
        /* The message on the context names the file. */
        CHECK(strncmp(pdbt_errmsg(ctx), "fuzz.json: ", 11) == 0);
    }
    pdbt_ctx_free(ctx);

    /* The colour parser on its own, on the first line. */
    const uint8_t *nl = memchr(data, '\n', size);
    size_t n = nl ? (size_t)(nl - data) : size;
    char *line = malloc(n + 1);
    CHECK(line != NULL);
    memcpy(line, data, n);
    line[n] = '\0';
    pdbt_rgba c;
    if (pdbt__color_parse(line, &c) == 0)
        CHECK(channel_ok(c.r) && channel_ok(c.g) && channel_ok(c.b) && channel_ok(c.a));
    free(line);
    return 0;
}
