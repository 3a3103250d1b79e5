/*
 * internal.h: what every engine module shares: the context's layout and the
 * failure helper. Not installed.
 */
#ifndef PDB_INTERNAL_H
#define PDB_INTERNAL_H

#include "parceldb.h"

#include <geos_c.h>
#include <proj.h>

struct pdb__crs_cache; /* crs.c: transformation objects per CRS pair */

struct pdb_ctx {
    pdb_status last_status;     /* code of the last failure, PDB_OK after success */
    char msg[512];              /* message of the last failure */
    PJ_CONTEXT *proj;           /* this thread's PROJ context */
    GEOSContextHandle_t geos;   /* this thread's GEOS context */
    char geos_msg[256];         /* GEOS's last error notice, for messages */
    struct pdb__crs_cache *crs; /* owned by crs.c, freed by pdb__crs_cache_free */
    pdb_limits limits;          /* limits on untrusted input, defaults filled in */
};

/* Records a failure in ctx and returns st, so that a failure is one line:
 *     return pdb__fail(ctx, PDB_EINVAL, "lon %.6f is outside [-180, 180]", lon); */
pdb_status pdb__fail(pdb_ctx *ctx, pdb_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Marks success (clears nothing else): for calls that report a result. */
static inline pdb_status pdb__ok(pdb_ctx *ctx)
{
    ctx->last_status = PDB_OK;
    return PDB_OK;
}

/* strdup that accepts NULL (returns NULL) and reports nothing. */
char *pdb__strdup(const char *s);

/* crs.c: frees the context's transformation cache. */
void pdb__crs_cache_free(pdb_ctx *ctx);

#define PDB_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

#endif
