/*
 * ctx.h: the renderer's context inside (ctx.c): the struct behind
 * pdbt_ctx and the one-line failure helpers every module of the renderer
 * reports through. Private to the tiler.
 */
#ifndef PDB_TILER_CTX_H
#define PDB_TILER_CTX_H

#include "tiler.h"

#include <stdarg.h>

/* Compression levels of libdeflate, 0 (stored) to 12. */
#define PDBT__DEFLATE_LEVELS 13

struct pdbt_ctx {
    pdb_ctx *db;       /* the engine's context of the same thread, borrowed; NULL
                          when the context only loads styles and encodes PNGs */
    pdb_status status; /* the last call's status, PDB_OK when it succeeded */
    char msg[1024];    /* the last failure's message: a file name, a JSON path
                          and the problem fit with room to spare */
    /* The PNG encoder's libdeflate compressors, by level (1-12), each made
     * on first use: tiles take one level and extracts another, and a
     * worker makes both, so each keeps its own. */
    struct libdeflate_compressor *deflater[PDBT__DEFLATE_LEVELS];
};

/* The context's libdeflate compressor at level 1-12 (made on demand and
 * kept: making one costs more than a tile's deflate); NULL when memory
 * runs out or the level is not one. Owned by ctx. */
struct libdeflate_compressor *pdbt__deflater(pdbt_ctx *ctx, int level);

/* Forgets the last failure: every public call that can fail starts here,
 * so that pdbt_errcode tells of the last call made with ctx. */
void pdbt__ok(pdbt_ctx *ctx);

/* Records a failure on ctx and returns st, so that each failure path is one
 * line: return pdbt__fail(ctx, PDB_EINVAL, "...", ...). The message may be
 * formatted from pdbt_errmsg(ctx) itself (to put a prefix before it). */
pdb_status pdbt__fail(pdbt_ctx *ctx, pdb_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with a va_list (for the modules' own fail helpers). */
pdb_status pdbt__failv(pdbt_ctx *ctx, pdb_status st, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Carries the engine's last failure (on ctx->db) over to ctx, its status
 * and its message. */
pdb_status pdbt__fail_db(pdbt_ctx *ctx);

/* The tiler's one growable array: room for need elements of elem bytes in
 * *arr (capacity *cap, doubled as needed); 0, or -1 when memory runs out
 * (the array is then unchanged). */
int pdbt__grow_to(void **arr, size_t *cap, size_t need, size_t elem);
static inline int pdbt__grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    /* The test inline: most calls find room (a call each was 2% of a
     * z16 vector tile). */
    return need <= *cap ? 0 : pdbt__grow_to(arr, cap, need, elem);
}

/* Memory for a large image (an extract's pages, their palette indices),
 * uninitialised; NULL when memory runs out. Like malloc below a few MiB;
 * above, aligned to 2 MiB and advised for transparent huge pages (the
 * kernel maps it in a few faults, not one per 4 KiB page), and taken from
 * the buffers pdbt__pixels_free kept (zeroed by nobody). Thread-safe. */
void *pdbt__pixels_alloc(size_t bytes);

/* Gives back p, from pdbt__pixels_alloc(bytes) with the same bytes: kept
 * for the next large image (a few, process-wide) or freed. NULL is a
 * no-op. */
void pdbt__pixels_free(void *p, size_t bytes);

#endif
