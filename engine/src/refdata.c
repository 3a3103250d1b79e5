/*
 * refdata.c: look-ups in the commune and land-use tables.
 */
#include "internal.h"
#include "refdata.h"

#include <string.h>

pdb_status pdb_commune_ref_find(pdb_ctx *ctx, const char *code, const pdb_commune_ref **out)
{
    *out = NULL;
    if (code == NULL || strlen(code) != 5 || strspn(code, "0123456789") != 5)
        return pdb__fail(ctx, PDB_EINVAL, "commune code '%s' is not five digits",
                         code ? code : "");
    for (size_t i = 0; i < pdb__communes_count; i++) {
        if (strcmp(pdb__communes[i].code, code) == 0) {
            *out = &pdb__communes[i];
            return pdb__ok(ctx);
        }
    }
    return pdb__fail(ctx, PDB_ENOTFOUND, "commune code %s is not a commune of Phu Tho", code);
}

const pdb_commune_ref *pdb_commune_ref_list(size_t *count)
{
    *count = pdb__communes_count;
    return pdb__communes;
}

const pdb_landuse_ref *pdb_landuse_ref_find(const char *code)
{
    if (code == NULL)
        return NULL;
    for (size_t i = 0; i < pdb__landuse_count; i++)
        if (strcmp(pdb__landuse[i].code, code) == 0)
            return &pdb__landuse[i];
    return NULL;
}

const pdb_landuse_ref *pdb_landuse_ref_list(size_t *count)
{
    *count = pdb__landuse_count;
    return pdb__landuse;
}
