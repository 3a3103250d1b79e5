/*
 * ctx.c: the per-thread context: PROJ and GEOS contexts, limits, and the
 * last error.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const pdb_limits default_limits = {
    .max_vertices_per_parcel = 100000,
    .max_parts_per_parcel = 1000,
    .max_rings_per_parcel = 10000,
    .max_results = 10000,
    .max_text_bytes = 4096,
};

/* GEOS reports errors through a callback; keep the text for our message. */
static void geos_error_handler(const char *message, void *userdata)
{
    pdb_ctx *ctx = userdata;
    snprintf(ctx->geos_msg, sizeof ctx->geos_msg, "%s", message);
}

static void geos_notice_handler(const char *message, void *userdata)
{
    (void)message; /* notices repeat what validation reports; drop them */
    (void)userdata;
}

pdb_status pdb_ctx_new(pdb_ctx **out)
{
    pdb_ctx *ctx = calloc(1, sizeof *ctx);

    *out = NULL;
    if (ctx == NULL)
        return PDB_ENOMEM;
    ctx->limits = default_limits;
    ctx->proj = proj_context_create();
    ctx->geos = GEOS_init_r();
    if (ctx->proj == NULL || ctx->geos == NULL) {
        pdb_ctx_free(ctx);
        return PDB_ENOMEM;
    }
    /* Never reach for the network (CDN grids): results must not depend on it. */
    proj_context_set_enable_network(ctx->proj, 0);
    proj_log_level(ctx->proj, PJ_LOG_NONE);
    GEOSContext_setErrorMessageHandler_r(ctx->geos, geos_error_handler, ctx);
    GEOSContext_setNoticeMessageHandler_r(ctx->geos, geos_notice_handler, ctx);
    *out = ctx;
    return PDB_OK;
}

void pdb_ctx_free(pdb_ctx *ctx)
{
    if (ctx == NULL)
        return;
    pdb__crs_cache_free(ctx);
    if (ctx->geos != NULL)
        GEOS_finish_r(ctx->geos);
    if (ctx->proj != NULL)
        proj_context_destroy(ctx->proj);
    free(ctx);
}

const char *pdb_errmsg(const pdb_ctx *ctx)
{
    if (ctx == NULL)
        return "no context";
    return ctx->last_status == PDB_OK ? "no error" : ctx->msg;
}

pdb_status pdb_errcode(const pdb_ctx *ctx)
{
    return ctx == NULL ? PDB_ENOMEM : ctx->last_status;
}

const char *pdb_status_name(pdb_status st)
{
    static const char *const names[] = {
        [PDB_OK] = "OK",
        [PDB_EINVAL] = "EINVAL",
        [PDB_ENOTFOUND] = "ENOTFOUND",
        [PDB_EIO] = "EIO",
        [PDB_ESTORE] = "ESTORE",
        [PDB_ENOTSTORE] = "ENOTSTORE",
        [PDB_ECORRUPT] = "ECORRUPT",
        [PDB_ECRS] = "ECRS",
        [PDB_EPLAUSIBLE] = "EPLAUSIBLE",
        [PDB_EGEOM] = "EGEOM",
        [PDB_ELIMIT] = "ELIMIT",
        [PDB_ENOMEM] = "ENOMEM",
        [PDB_EBUSY] = "EBUSY",
        [PDB_EREADONLY] = "EREADONLY",
        [PDB_ECONFLICT] = "ECONFLICT",
    };
    if ((unsigned)st >= PDB_COUNTOF(names) || names[st] == NULL)
        return "EUNKNOWN";
    return names[st];
}

pdb_status pdb__fail(pdb_ctx *ctx, pdb_status st, const char *fmt, ...)
{
    va_list ap;

    /* Format apart first: a caller may pass the last message itself as an
     * argument (pdb_errmsg(ctx), to add context to it), and vsnprintf into
     * the buffer it reads from garbles both (a damaged store was reported
     * as "...: formed"). */
    char msg[sizeof ctx->msg];
    ctx->last_status = st;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One line, never empty: a message quotes input (a CRS name from a
     * GeoJSON string may hold "\n"), and every caller prints it as one
     * line of a log, an HTTP error or a rejects row. Control bytes become
     * '?' (fuzz_change_parts found a crs name with a newline). */
    for (char *c = msg; *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    if (msg[0] == '\0')
        snprintf(msg, sizeof msg, "%s (no message)", pdb_status_name(st));
    memcpy(ctx->msg, msg, sizeof msg);
    return st;
}

void pdb_ctx_set_limits(pdb_ctx *ctx, const pdb_limits *limits)
{
    const size_t *src = (const size_t *)limits;
    const size_t *dflt = (const size_t *)&default_limits;
    size_t *dst = (size_t *)&ctx->limits;

    /* pdb_limits is all size_t fields; a zero field keeps its default. */
    for (size_t i = 0; i < sizeof(pdb_limits) / sizeof(size_t); i++)
        dst[i] = src[i] != 0 ? src[i] : dflt[i];
}

void pdb_ctx_get_limits(const pdb_ctx *ctx, pdb_limits *out)
{
    *out = ctx->limits;
}

void pdb_free(void *p)
{
    free(p);
}

char *pdb__strdup(const char *s)
{
    return s == NULL ? NULL : strdup(s);
}
