/*
 * ctx.c: the renderer's context and its error path, the engine's shape
 * (pdb_ctx, pdb__fail) under the renderer's prefix: a status and a
 * one-line message per context, one context per thread.
 */
#include "ctx.h"

#include <libdeflate.h>
#include <pthread.h>
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

/* Large buffers kept between images, process-wide: the kernel zeroes
 * every fresh page, which was still a seventh of an extract's CPU time
 * with huge pages. Two slots (an extract's page image and its palette
 * indices), each at most POOL_MAX, so that a server keeps at most 128 MiB
 * (about 30 MiB after A4 extracts at 150 dpi) between extracts. */
#define POOL_SLOTS 2
#define POOL_MAX ((size_t)64 << 20)
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    void *p;  /* a free buffer, or NULL */
    size_t n; /* its bytes (a multiple of HUGE_PAGE) */
} pool[POOL_SLOTS];

/* The bytes pdbt__pixels_alloc really takes for a request of bytes; 0 for
 * a small one, which is plain malloc. */
static size_t pixels_size(size_t bytes)
{
    /* Below two huge pages the alignment would cost more than it saves. */
    return bytes < 2 * HUGE_PAGE ? 0 : (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

void *pdbt__pixels_alloc(size_t bytes)
{
    size_t n = pixels_size(bytes);
    if (n == 0)
        return malloc(bytes);
    void *p = NULL;
    int best = -1;
    pthread_mutex_lock(&pool_lock);
    for (int i = 0; i < POOL_SLOTS; i++) /* the smallest that is large enough */
        if (pool[i].p != NULL && pool[i].n >= n && (best < 0 || pool[i].n < pool[best].n))
            best = i;
    if (best >= 0) {
        p = pool[best].p;
        pool[best].p = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    if (p != NULL)
        return p;
    /* An extract's fresh 20-40 MiB were faulted in 4 KiB at a time: a
     * fifth of its CPU time went to the kernel (docs/extract.md, "Speed"). */
    if (posix_memalign(&p, HUGE_PAGE, n) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, n, MADV_HUGEPAGE); /* advice: without THP, plain pages */
#endif
    return p;
}

void pdbt__pixels_free(void *p, size_t bytes)
{
    size_t n = pixels_size(bytes);
    if (p == NULL || n == 0 || n > POOL_MAX) {
        free(p);
        return;
    }
    /* Kept in an empty slot, or in place of a smaller buffer (freed). */
    int slot = -1;
    pthread_mutex_lock(&pool_lock);
    for (int i = 0; i < POOL_SLOTS && slot < 0; i++)
        if (pool[i].p == NULL)
            slot = i;
    if (slot < 0) /* every slot full: the smallest, if smaller than p */
        for (int i = 0; i < POOL_SLOTS; i++)
            if (pool[i].n < n && (slot < 0 || pool[i].n < pool[slot].n))
                slot = i;
    void *drop = p;
    if (slot >= 0) {
        drop = pool[slot].p;
        pool[slot].p = p;
        pool[slot].n = n;
    }
    pthread_mutex_unlock(&pool_lock);
    free(drop);
}
