/*
 * page.c: pdb_parcels_page, a page of parcels by key (store id), the read
 * behind OGC API - Features items. Its arguments are checked here once, so
 * that both stores refuse the same questions with the same messages; the
 * reading is each store's (page.h).
 */
#include "page.h"

#include "read_args.h"
#include "store.h"

#include <string.h>

/* Whether text is 1..max bytes, each one of allowed. */
static int made_of(const char *text, size_t max, const char *allowed)
{
    size_t n = strlen(text);
    return n > 0 && n <= max && strspn(text, allowed) == n;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ", the form valid_from and valid_to are kept in
 * (pdb__now_iso), so that text order is time order in both stores. */
int pdb__iso_instant(const char *t)
{
    static const char pattern[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (strlen(t) != sizeof pattern - 1)
        return 0;
    for (size_t i = 0; pattern[i] != '\0'; i++)
        if (pattern[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != pattern[i])
            return 0;
    return 1;
}

pdb_status pdb_parcels_page(pdb_ctx *ctx, pdb_store *s, const pdb_page_query *q,
                            unsigned read_flags, pdb_parcel_list **out)
{
    static const char digits[] = "0123456789";
    pdb_status st;
    pdb_page_query checked;

    if (out == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no place for the answer");
    *out = NULL;
    if (s == NULL || q == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no store or no query");
    if (q->after_id < 0 || q->before_id < 0)
        return pdb__fail(ctx, PDB_EINVAL, "a page starts after a store id of 0 or more");
    if (q->after_id > 0 && q->before_id > 0)
        return pdb__fail(ctx, PDB_EINVAL, "a page is read after one key or before one, not both");
    if (q->has_bbox &&
        (st = pdb__check_box(ctx, q->bbox[0], q->bbox[1], q->bbox[2], q->bbox[3])) != PDB_OK)
        return st;
    if (q->commune != NULL && !(strlen(q->commune) == 5 && made_of(q->commune, 5, digits)))
        return pdb__fail(ctx, PDB_EINVAL, "commune '%.16s' is not five digits", q->commune);
    if (q->sheet != NULL && !made_of(q->sheet, 32, digits))
        return pdb__fail(ctx, PDB_EINVAL, "sheet '%.40s' is not a number", q->sheet);
    if (q->parcel != NULL && !made_of(q->parcel, 32, digits))
        return pdb__fail(ctx, PDB_EINVAL, "parcel '%.40s' is not a number", q->parcel);
    if (q->landuse != NULL && !made_of(q->landuse, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
        return pdb__fail(ctx, PDB_EINVAL,
                         "land use '%.20s' is not one code of upper-case letters and digits",
                         q->landuse);
    if (q->at != NULL && !pdb__iso_instant(q->at))
        return pdb__fail(ctx, PDB_EINVAL, "instant '%.40s' is not YYYY-MM-DDTHH:MM:SS.mmmZ", q->at);
    if (q->until != NULL && q->at == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "an interval's end without its start (at)");
    if (q->until != NULL && !pdb__iso_instant(q->until))
        return pdb__fail(ctx, PDB_EINVAL, "instant '%.40s' is not YYYY-MM-DDTHH:MM:SS.mmmZ",
                         q->until);
    if (q->until != NULL && strcmp(q->at, q->until) > 0)
        return pdb__fail(ctx, PDB_EINVAL, "interval %.40s/%.40s ends before it starts", q->at,
                         q->until);
    checked = *q;
    if (checked.limit == 0 || checked.limit > ctx->limits.max_results)
        checked.limit = ctx->limits.max_results;
    st = s->ops == &pdb__pg_ops ? pdb__pg_parcels_page(ctx, s, &checked, read_flags, out)
                                : pdb__sq_parcels_page(ctx, s, &checked, read_flags, out);
    if (st == PDB_OK && q->before_id > 0) {
        /* Read backwards from the key, given forwards like every page. */
        pdb_parcel *it = (*out)->items;
        for (size_t i = 0, j = (*out)->count; i + 1 < j; i++, j--) {
            pdb_parcel t = it[i];
            it[i] = it[j - 1];
            it[j - 1] = t;
        }
    }
    return st;
}
