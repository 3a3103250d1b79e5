/*
 * read_args.c: the reads' argument checks and answer lists that both
 * stores share (read_args.h).
 */
#include "read_args.h"
#include "refdata.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

pdb_status pdb__check_lonlat(pdb_ctx *ctx, double lon, double lat)
{
    if (!isfinite(lon) || lon < -180.0 || lon > 180.0)
        return pdb__fail(ctx, PDB_EINVAL, "longitude %.9g is outside [-180, 180]", lon);
    if (!isfinite(lat) || lat < -90.0 || lat > 90.0)
        return pdb__fail(ctx, PDB_EINVAL, "latitude %.9g is outside [-90, 90]", lat);
    return PDB_OK;
}

pdb_status pdb__check_points(pdb_ctx *ctx, const double *lonlat, size_t n)
{
    pdb_status st;
    for (size_t i = 0; i < n; i++)
        if ((st = pdb__check_lonlat(ctx, lonlat[2 * i], lonlat[2 * i + 1])) != PDB_OK)
            return pdb__fail(ctx, st, "point %zu: %s", i + 1, pdb_errmsg(ctx));
    return PDB_OK;
}

pdb_status pdb__check_box(pdb_ctx *ctx, double min_lon, double min_lat, double max_lon,
                          double max_lat)
{
    pdb_status st;
    if ((st = pdb__check_lonlat(ctx, min_lon, min_lat)) != PDB_OK ||
        (st = pdb__check_lonlat(ctx, max_lon, max_lat)) != PDB_OK)
        return st;
    if (min_lon > max_lon || min_lat > max_lat)
        return pdb__fail(ctx, PDB_EINVAL, "bbox minimum is above its maximum");
    return PDB_OK;
}

/* Sheet and parcel numbers are positive integers in the registers. Any
 * other text is a typo or parts given in the wrong order: an error that
 * says so, not an empty answer that reads as "no such parcel". */
static pdb_status check_number_part(pdb_ctx *ctx, const char *value, const char *what)
{
    if (value == NULL || *value == '\0')
        return pdb__fail(ctx, PDB_EINVAL, "no %s given", what);
    size_t n = strlen(value);
    if (n > 64)
        return pdb__fail(ctx, PDB_EINVAL, "%s is longer than 64 bytes", what);
    if (strspn(value, "0123456789") != n || strspn(value, "0") == n)
        return pdb__fail(ctx, PDB_EINVAL, "%s '%s' is not a positive integer", what, value);
    return PDB_OK;
}

pdb_status pdb__check_number(pdb_ctx *ctx, const char *commune, const char *sheet,
                             const char *parcel)
{
    const pdb_commune_ref *ref;
    pdb_status st = pdb_commune_ref_find(ctx, commune, &ref);

    if (st == PDB_ENOTFOUND)
        return pdb__fail(ctx, PDB_EINVAL, PDB_COMMUNE_UNKNOWN_FMT, commune);
    if (st != PDB_OK || (st = check_number_part(ctx, sheet, "sheet number")) != PDB_OK ||
        (st = check_number_part(ctx, parcel, "parcel number")) != PDB_OK)
        return st;
    return PDB_OK;
}

/* A former commune is a code from before the 2025 merger, so not one of
 * today's communes; the import keeps it as five digits. */
pdb_status pdb__check_former_commune(pdb_ctx *ctx, const char *former_commune)
{
    if (former_commune != NULL &&
        (strlen(former_commune) != 5 || strspn(former_commune, "0123456789") != 5))
        return pdb__fail(ctx, PDB_EINVAL, "former commune code '%s' is not five digits",
                         former_commune);
    return PDB_OK;
}

pdb_status pdb__parcel_list_push(pdb_ctx *ctx, pdb_parcel_list *list, size_t *cap,
                                 pdb_parcel **slot)
{
    if (list->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        pdb_parcel *items = realloc(list->items, ncap * sizeof *items);
        if (items == NULL)
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory collecting parcels");
        list->items = items;
        *cap = ncap;
    }
    *slot = &list->items[list->count];
    return PDB_OK;
}

pdb_status pdb__parcel_list_take_one(pdb_ctx *ctx, pdb_parcel_list *list, int64_t id,
                                     pdb_parcel **out)
{
    *out = NULL;
    if (list->count == 0) {
        pdb_parcel_list_free(list);
        return pdb__fail(ctx, PDB_ENOTFOUND, "no parcel with id %lld", (long long)id);
    }
    pdb_parcel *p = malloc(sizeof *p);
    if (p == NULL) {
        pdb_parcel_list_free(list);
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    }
    *p = list->items[0];
    list->count = 0; /* the parcel's fields moved to *p */
    pdb_parcel_list_free(list);
    *out = p;
    return pdb__ok(ctx);
}
