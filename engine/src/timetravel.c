/*
 * timetravel.c: the parcels in force at an instant (lookups by point and
 * by number, features for tiles), and what a date a user types means.
 * Arguments are checked here once, as page.c does, so that both stores
 * refuse the same questions with the same messages; the reading is each
 * store's (page.h). The in-memory lookup index holds current parcels
 * only, so every read here goes to the store.
 */
#include "page.h"

#include "read_args.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Days in a month of the proleptic Gregorian calendar. */
static int month_days(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* n digits at t as a number, or -1 when any is not a digit. */
static int digits(const char *t, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9')
            return -1;
        v = v * 10 + (t[i] - '0');
    }
    return v;
}

/* The first 40 bytes of a date as given, for a message: control bytes
 * (a newline in a query string, say) as '?', so that the error stays one
 * line (fuzz_instant). */
static const char *shown(const char *text, char buf[41])
{
    size_t i = 0;
    for (; text[i] != '\0' && i < 40; i++)
        buf[i] = (unsigned char)text[i] < 0x20 || text[i] == 0x7f ? '?' : text[i];
    buf[i] = '\0';
    return buf;
}

pdb_status pdb_instant_parse(pdb_ctx *ctx, const char *text, char out[PDB_INSTANT_LEN])
{
    char b[41];
    static const char want[] = "is not a date YYYY-MM-DD (the end of that day, UTC) or an instant "
                               "YYYY-MM-DDTHH:MM:SS[.mmm]Z";
    if (out == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no place for the instant");
    out[0] = '\0';
    if (text == NULL || text[0] == '\0')
        return pdb__fail(ctx, PDB_EINVAL, "empty date: give YYYY-MM-DD");
    size_t n = strlen(text);
    int y = digits(text, n >= 4 ? 4 : 0), m = n >= 7 ? digits(text + 5, 2) : -1,
        d = n >= 10 ? digits(text + 8, 2) : -1;
    if (n < 10 || n > 24 || y < 0 || text[4] != '-' || text[7] != '-' || m < 1 || m > 12 || d < 1 ||
        y < 1)
        return pdb__fail(ctx, PDB_EINVAL, "date '%s' %s", shown(text, b), want);
    if (d > month_days(y, m))
        return pdb__fail(ctx, PDB_EINVAL, "date '%s': %04d-%02d has %d days", shown(text, b), y, m,
                         month_days(y, m));
    if (n == 10) {
        snprintf(out, PDB_INSTANT_LEN, "%.10sT23:59:59.999Z", text);
        return pdb__ok(ctx);
    }
    /* YYYY-MM-DDTHH:MM:SSZ or with .m, .mm, .mmm */
    int hh = digits(text + 11, 2), mi = n >= 16 ? digits(text + 14, 2) : -1,
        ss = n >= 19 ? digits(text + 17, 2) : -1;
    size_t frac = n > 21 && text[19] == '.' ? n - 21 : 0;
    if (text[10] != 'T' || n < 20 || text[13] != ':' || text[16] != ':' || hh < 0 || hh > 23 ||
        mi < 0 || mi > 59 || ss < 0 || ss > 59 || text[n - 1] != 'Z' ||
        (n > 20 && (text[19] != '.' || frac < 1 || frac > 3 || digits(text + 20, (int)frac) < 0)))
        return pdb__fail(ctx, PDB_EINVAL, "date '%s' %s", shown(text, b), want);
    char ms[4] = "000";
    memcpy(ms, text + 20, frac);
    snprintf(out, PDB_INSTANT_LEN, "%.19s.%sZ", text, ms);
    return pdb__ok(ctx);
}

pdb_status pdb_store_check_instant(pdb_ctx *ctx, pdb_store *s, const char *at,
                                   char first[PDB_INSTANT_LEN])
{
    pdb_parcel_list *list = NULL;
    pdb_status st;

    if (s == NULL || at == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no store or no instant");
    if (!pdb__iso_instant(at))
        return pdb__fail(ctx, PDB_EINVAL, "instant '%.40s' is not YYYY-MM-DDTHH:MM:SS.mmmZ", at);
    /* Ids grow with time (every import and change appends), so the oldest
     * parcel is the first by id: one row of a key-ordered page, whatever
     * the store's size, for the interval of all time. */
    pdb_page_query q = {
        .limit = 1, .at = "0000-01-01T00:00:00.000Z", .until = "9999-12-31T23:59:59.999Z"};
    if ((st = pdb_parcels_page(ctx, s, &q, 0, &list)) != PDB_OK)
        return st;
    if (list->count == 0) {
        pdb_parcel_list_free(list);
        return pdb__fail(ctx, PDB_ENOTFOUND, "the store holds no parcels: nothing at %.10s", at);
    }
    char from[PDB_INSTANT_LEN];
    snprintf(from, sizeof from, "%s", list->items[0].valid_from ? list->items[0].valid_from : "");
    pdb_parcel_list_free(list);
    if (strcmp(at, from) < 0)
        return pdb__fail(ctx, PDB_ENOTFOUND,
                         "%.24s is before any data: the store's first parcels are from %s", at,
                         from);
    if (first != NULL)
        memcpy(first, from, PDB_INSTANT_LEN);
    return pdb__ok(ctx);
}

pdb_status pdb_parcels_at_time(pdb_ctx *ctx, pdb_store *s, double lon, double lat, const char *at,
                               unsigned read_flags, pdb_parcel_list **out)
{
    pdb_status st;

    if (out == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no place for the answer");
    *out = NULL;
    if (s == NULL || at == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no store or no instant");
    if (!pdb__iso_instant(at))
        return pdb__fail(ctx, PDB_EINVAL, "instant '%.40s' is not YYYY-MM-DDTHH:MM:SS.mmmZ", at);
    if ((st = pdb__check_lonlat(ctx, lon, lat)) != PDB_OK)
        return st;
    return s->ops == &pdb__pg_ops ? pdb__pg_parcels_at_time(ctx, s, lon, lat, at, read_flags, out)
                                  : pdb__sq_parcels_at_time(ctx, s, lon, lat, at, read_flags, out);
}

pdb_status pdb_parcels_by_number_at(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                    const char *former_commune, const char *sheet,
                                    const char *parcel, const char *at, unsigned read_flags,
                                    pdb_parcel_list **out)
{
    pdb_status st;

    if (out == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no place for the answer");
    *out = NULL;
    if (at == NULL || !pdb__iso_instant(at))
        return pdb__fail(ctx, PDB_EINVAL, "instant '%.40s' is not YYYY-MM-DDTHH:MM:SS.mmmZ",
                         at ? at : "(none)");
    /* Every version of the number, then those in force at the instant: a
     * number has a handful of versions, the index finds them all. */
    if ((st = pdb_parcels_by_number(ctx, s, commune, former_commune, sheet, parcel,
                                    read_flags | PDB_READ_HISTORY, out)) != PDB_OK)
        return st;
    pdb_parcel_list *list = *out;
    size_t kept = 0;
    for (size_t i = 0; i < list->count; i++) {
        pdb_parcel *p = &list->items[i];
        int in_force = p->valid_from != NULL && strcmp(p->valid_from, at) <= 0 &&
                       (p->valid_to == NULL || strcmp(at, p->valid_to) < 0);
        if (!in_force) {
            pdb_parcel_clear(p);
            continue;
        }
        if (kept != i) {
            list->items[kept] = *p;
            memset(p, 0, sizeof *p);
        }
        kept++;
    }
    list->count = kept;
    return pdb__ok(ctx);
}

pdb_status pdb_features_in_bbox_at(pdb_ctx *ctx, pdb_store *s, const double bbox[4], const char *at,
                                   pdb_feature_fn fn, void *arg)
{
    if (at == NULL)
        return pdb_features_in_bbox(ctx, s, bbox, fn, arg);
    if (s == NULL || bbox == NULL || fn == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no store, box or callback");
    if (!pdb__iso_instant(at))
        return pdb__fail(ctx, PDB_EINVAL, "instant '%.40s' is not YYYY-MM-DDTHH:MM:SS.mmmZ", at);
    if (!(bbox[0] <= bbox[2] && bbox[1] <= bbox[3]))
        return pdb__fail(ctx, PDB_EINVAL, "bbox minimum is above its maximum");
    return s->ops == &pdb__pg_ops ? pdb__pg_features_at(ctx, s, bbox, at, fn, arg)
                                  : pdb__sq_features_at(ctx, s, bbox, at, fn, arg);
}
