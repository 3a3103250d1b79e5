/*
 * ctx.c: the renderer's context and its error path, the engine's shape
 * (pdb_ctx, pdb__fail) under the renderer's prefix: a status and a
 * one-line message per context, one context per thread.
 */
#include "ctx.h"

#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

pdb_status pdbt_ctx_new(pdb_ctx *db, pdbt_ctx **out)
{
    pdbt_ctx *ctx = malloc(sizeof *ctx);

    *out = NULL;
    if (ctx == NULL)
        return PDB_ENOMEM;
    ctx->db = db;
    memset(ctx->deflater, 0, sizeof ctx->deflater);
    pdbt__ok(ctx);
    *out = ctx;
    return PDB_OK;
}

void pdbt_ctx_free(pdbt_ctx *ctx)
{
    if (ctx == NULL)
        return;
    for (int i = 0; i < PDBT__DEFLATE_LEVELS; i++)
        if (ctx->deflater[i] != NULL)
            libdeflate_free_compressor(ctx->deflater[i]);
    free(ctx);
}

struct libdeflate_compressor *pdbt__deflater(pdbt_ctx *ctx, int level)
{
    if (level < 1 || level >= PDBT__DEFLATE_LEVELS)
        return NULL;
    if (ctx->deflater[level] == NULL)
        ctx->deflater[level] = libdeflate_alloc_compressor(level);
    return ctx->deflater[level];
}

const char *pdbt_errmsg(const pdbt_ctx *ctx)
{
    if (ctx == NULL)
        return "no context";
    return ctx->status == PDB_OK ? "no error" : ctx->msg;
}

pdb_status pdbt_errcode(const pdbt_ctx *ctx)
{
    return ctx == NULL ? PDB_ENOMEM : ctx->status;
}

void pdbt__ok(pdbt_ctx *ctx)
{
    if (ctx == NULL) /* a caller that wants the status alone */
        return;
    ctx->status = PDB_OK;
    ctx->msg[0] = '\0';
}

pdb_status pdbt__failv(pdbt_ctx *ctx, pdb_status st, const char *fmt, va_list ap)
{
    /* Formatted apart first: the message may be built from ctx->msg itself
     * (a prefix added to the last failure), and vsnprintf into the buffer
     * it reads from garbles both. */
    if (ctx == NULL)
        return st;
    char msg[sizeof ctx->msg];
    vsnprintf(msg, sizeof msg, fmt, ap);
    memcpy(ctx->msg, msg, sizeof msg);
    ctx->status = st;
    return st;
}

pdb_status pdbt__fail(pdbt_ctx *ctx, pdb_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pdbt__failv(ctx, st, fmt, ap);
    va_end(ap);
    return st;
}

pdb_status pdbt__fail_db(pdbt_ctx *ctx)
{
    pdb_status st = pdb_errcode(ctx->db);
    if (st == PDB_OK)
        st = PDB_ESTORE; /* a failure the engine did not describe */
    return pdbt__fail(ctx, st, "%s", pdb_errmsg(ctx->db));
}

/* A huge page of x86-64 and arm64 (4 KiB base pages). */
#define HUGE_PAGE ((size_t)2 << 20)

void *pdbt__pixels_alloc(size_t bytes)
{
    /* An extract's fresh 20-40 MiB were faulted in 4 KiB at a time: a
     * fifth of its CPU time went to the kernel (docs/extract.md, "Speed").
     * Below two huge pages the alignment would cost more than it saves. */
    if (bytes < 2 * HUGE_PAGE)
        return malloc(bytes);
    size_t n = (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    void *p = NULL;
    if (posix_memalign(&p, HUGE_PAGE, n) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, n, MADV_HUGEPAGE); /* advice: without THP, plain pages */
#endif
    return p;
}
