/*
 * ctx.c: the importer's context and its error path, the engine's shape
 * (pdb_ctx, pdb__fail) under the importer's prefix: a status and a
 * one-line message per context, one context per thread.
 */
#include "imp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pdbi__ctx_init(pdbi_ctx *ic, pdb_ctx *db)
{
    memset(ic, 0, sizeof *ic);
    ic->db = db;
}

pdb_status pdbi_ctx_new(pdb_ctx *db, pdbi_ctx **out)
{
    *out = malloc(sizeof **out);
    if (*out == NULL)
        return PDB_ENOMEM;
    pdbi__ctx_init(*out, db);
    return PDB_OK;
}

void pdbi_ctx_free(pdbi_ctx *ic)
{
    free(ic);
}

const char *pdbi_errmsg(const pdbi_ctx *ic)
{
    return ic->msg;
}

pdb_status pdbi_errcode(const pdbi_ctx *ic)
{
    return ic->status;
}

pdb_status pdbi__failv(pdbi_ctx *ic, pdb_status st, const char *fmt, va_list ap)
{
    /* Formatted apart first: the message may be built from ic->msg itself
     * (a prefix added to the last failure). */
    char msg[sizeof ic->msg];
    vsnprintf(msg, sizeof msg, fmt, ap);
    memcpy(ic->msg, msg, sizeof msg);
    ic->status = st;
    return st;
}

pdb_status pdbi__fail(pdbi_ctx *ic, pdb_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pdbi__failv(ic, st, fmt, ap);
    va_end(ap);
    return st;
}

pdb_status pdbi__fail_db(pdbi_ctx *ic, const char *what)
{
    pdb_status st = pdb_errcode(ic->db);
    if (st == PDB_OK)
        st = PDB_ESTORE; /* a failure the engine did not describe */
    if (what == NULL)
        return pdbi__fail(ic, st, "%s", pdb_errmsg(ic->db));
    return pdbi__fail(ic, st, "%s: %s", what, pdb_errmsg(ic->db));
}
