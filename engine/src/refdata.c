/*
 * refdata.c: look-ups in the land-use table (the communes: registry.c).
 */
#include "refdata.h"
#include "internal.h"

#include <string.h>

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
