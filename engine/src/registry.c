/*
 * registry.c: the communes the process knows, for every thread.
 *
 * Phu Tho's 148 communes are built in (refdata.h, from
 * data/phu-tho-communes.csv); a store may carry more (its commune_registry
 * table, written by `parceldb init --communes FILE`), which its every open
 * registers here. The country has 3,321 communes and no official list we
 * could build in, so the list is data that travels with the store: every
 * process that opens a national store, on any machine, knows its communes.
 *
 * Readers never lock. The registry is one immutable list, sorted by code,
 * published through an atomic pointer; a registration builds a new list
 * (the old entries and the new ones) under a mutex and publishes it. Old
 * lists are kept for the life of the process, because pdb_commune_ref_list
 * and pdb_commune_ref_find hand out pointers into them with no end of
 * validity: a process registers once per store it opens (the same store's
 * communes again change nothing), so the lists kept are few.
 */
#include "registry.h"

#include "crs.h"
#include "refdata.h"
#include "store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One published list of every commune known. */
typedef struct reg_list {
    pdb_commune_ref *refs; /* count entries, sorted by code */
    const char **origins;  /* where each entry came from, for messages */
    size_t count;          /* entries */
    char *arena;           /* the strings of the entries new in this list */
    struct reg_list *prev; /* the list this one replaced: readers may still hold it */
} reg_list;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER; /* serialises registrations */
static _Atomic(reg_list *) reg_current;                      /* NULL: the built-in list only */

static const char builtin_origin[] = "the built-in list of Phu Tho";

/* The list readers see now: the latest published, or the built-in one. */
static const pdb_commune_ref *current_list(size_t *count, const char *const **origins)
{
    reg_list *l = atomic_load_explicit(&reg_current, memory_order_acquire);
    if (l == NULL) {
        *count = pdb__communes_count;
        if (origins != NULL)
            *origins = NULL;
        return pdb__communes;
    }
    *count = l->count;
    if (origins != NULL)
        *origins = l->origins;
    return l->refs;
}

/* Index of code in a sorted list, or -1. */
static ptrdiff_t list_find(const pdb_commune_ref *refs, size_t n, const char *code)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(refs[mid].code, code);
        if (c == 0)
            return (ptrdiff_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int five_digits(const char *code)
{
    return code != NULL && strlen(code) == 5 && strspn(code, "0123456789") == 5;
}

pdb_status pdb_commune_ref_find(pdb_ctx *ctx, const char *code, const pdb_commune_ref **out)
{
    size_t n;
    *out = NULL;
    if (!five_digits(code))
        return pdb__fail(ctx, PDB_EINVAL, "commune code '%s' is not five digits", code ? code : "");
    const pdb_commune_ref *refs = current_list(&n, NULL);
    ptrdiff_t i = list_find(refs, n, code);
    if (i < 0)
        return pdb__fail(ctx, PDB_ENOTFOUND, PDB_COMMUNE_UNKNOWN_FMT, code);
    *out = &refs[i];
    return pdb__ok(ctx);
}

const pdb_commune_ref *pdb_commune_ref_list(size_t *count)
{
    return current_list(count, NULL);
}

/* ------------------------------------------------------------------------ */
/* Tables                                                                    */
/* ------------------------------------------------------------------------ */

pdb_commune_table *pdb__commune_table_new(const char *origin)
{
    pdb_commune_table *t = calloc(1, sizeof *t);
    if (t != NULL && (t->origin = pdb__strdup(origin ? origin : "")) == NULL) {
        free(t);
        t = NULL;
    }
    return t;
}

void pdb_commune_table_free(pdb_commune_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->count; i++) {
        free((char *)t->refs[i].code);
        free((char *)t->refs[i].name);
        free((char *)t->refs[i].former_province);
    }
    free(t->refs);
    free(t->lines);
    free(t->origin);
    free(t);
}

size_t pdb_commune_table_count(const pdb_commune_table *t)
{
    return t ? t->count : 0;
}

/* Whether s is well-formed UTF-8 with no control characters. */
static int clean_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int extra = *p < 0x80             ? 0
                    : (*p & 0xE0) == 0xC0 ? 1
                    : (*p & 0xF0) == 0xE0 ? 2
                    : (*p & 0xF8) == 0xF0 ? 3
                                          : -1;
        if (extra < 0 || (extra == 0 && *p < 0x20) || (extra == 1 && *p < 0xC2))
            return 0;
        p++;
        for (int k = 0; k < extra; k++, p++)
            if ((*p & 0xC0) != 0x80)
                return 0;
    }
    return 1;
}

/* Where a commune of t came from, for messages: "FILE:LINE" or the store. */
static void where(const pdb_commune_table *t, size_t i, char *buf, size_t cap)
{
    if (t->lines[i] > 0)
        snprintf(buf, cap, "%s:%d", t->origin, t->lines[i]);
    else
        snprintf(buf, cap, "%s", t->origin);
}

pdb_status pdb__commune_table_push(pdb_ctx *ctx, pdb_commune_table *t, int line, const char *code,
                                   const char *name, const char *former_province,
                                   const char *central_meridian, int epsg)
{
    char at[600];
    const pdb_crs_info *crs = pdb__crs_find(epsg);

    if (line > 0)
        snprintf(at, sizeof at, "%s:%d", t->origin, line);
    else
        snprintf(at, sizeof at, "%s", t->origin);
    if (!five_digits(code))
        return pdb__fail(ctx, PDB_EINVAL, "%s: commune code '%.20s' is not five digits", at,
                         code ? code : "");
    if (name == NULL || *name == '\0' || strlen(name) > 200 || !clean_utf8(name))
        return pdb__fail(ctx, PDB_EINVAL,
                         "%s: commune %s has no name, or one that is not UTF-8 text of at most "
                         "200 bytes",
                         at, code);
    if (former_province == NULL || *former_province == '\0' || strlen(former_province) > 200 ||
        !clean_utf8(former_province))
        return pdb__fail(ctx, PDB_EINVAL,
                         "%s: commune %s has no former province, or one that is not UTF-8 text", at,
                         code);
    if (crs == NULL || crs->kind != PDB_CRS_TM3)
        return pdb__fail(ctx, PDB_EINVAL,
                         "%s: commune %s: EPSG:%d is not a VN-2000 TM-3 zone (EPSG:5896-5899, "
                         "9205-9218)",
                         at, code, epsg);
    if (central_meridian != NULL && strcmp(central_meridian, crs->zone) != 0)
        return pdb__fail(ctx, PDB_EINVAL,
                         "%s: commune %s: central meridian '%.20s' is not that of EPSG:%d (%s)", at,
                         code, central_meridian, epsg, crs->zone);
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        pdb_commune_ref *refs = realloc(t->refs, cap * sizeof *refs);
        if (refs != NULL)
            t->refs = refs;
        int *lines = refs ? realloc(t->lines, cap * sizeof *lines) : NULL;
        if (lines == NULL)
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory reading %s", t->origin);
        t->lines = lines;
        t->cap = cap;
    }
    pdb_commune_ref *r = &t->refs[t->count];
    r->code = pdb__strdup(code);
    r->name = pdb__strdup(name);
    r->former_province = pdb__strdup(former_province);
    r->epsg = epsg;
    t->lines[t->count] = line;
    t->count++; /* freed with the table even when a copy failed */
    if (r->code == NULL || r->name == NULL || r->former_province == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory reading %s", t->origin);
    return PDB_OK;
}

static int same_commune(const pdb_commune_ref *a, const pdb_commune_ref *b)
{
    return a->epsg == b->epsg && strcmp(a->name, b->name) == 0 &&
           strcmp(a->former_province, b->former_province) == 0;
}

/* A commune with where it came from, for sorting lists with their origins. */
typedef struct entry {
    pdb_commune_ref ref; /* borrowed strings */
    const char *origin;  /* where it came from, for messages */
    size_t index;        /* its index in the table it came from (ties keep that order) */
} entry;

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int c = strcmp(x->ref.code, y->ref.code);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Checks t against the list refs (origins NULL: the built-in list) and
 * against itself; counts in *fresh the distinct codes refs does not hold. */
static pdb_status check_against(pdb_ctx *ctx, const pdb_commune_table *t,
                                const pdb_commune_ref *refs, const char *const *origins, size_t n,
                                size_t *fresh)
{
    char at[600], at2[600];
    pdb_status st = PDB_OK;

    *fresh = 0;
    entry *e = malloc((t->count ? t->count : 1) * sizeof *e);
    if (e == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory checking the communes of %s", t->origin);
    for (size_t i = 0; i < t->count; i++)
        e[i] = (entry){t->refs[i], NULL, i};
    qsort(e, t->count, sizeof *e, entry_cmp);
    for (size_t i = 0; i < t->count && st == PDB_OK; i++) {
        const pdb_commune_ref *r = &e[i].ref;
        ptrdiff_t k = list_find(refs, n, r->code);
        where(t, e[i].index, at, sizeof at);
        if (k >= 0 && !same_commune(r, &refs[k]))
            st = pdb__fail(ctx, PDB_EINVAL,
                           "%s: commune %s is '%s' (%s, EPSG:%d) there, but '%s' (%s, EPSG:%d) "
                           "in %s: one code, two communes",
                           at, r->code, r->name, r->former_province, r->epsg, refs[k].name,
                           refs[k].former_province, refs[k].epsg,
                           origins ? origins[k] : builtin_origin);
        else if (i > 0 && strcmp(e[i - 1].ref.code, r->code) == 0) {
            /* Listed twice: the same commune again changes nothing. */
            if (!same_commune(r, &e[i - 1].ref)) {
                where(t, e[i - 1].index, at2, sizeof at2);
                st = pdb__fail(ctx, PDB_EINVAL,
                               "%s: commune %s is '%s' (%s, EPSG:%d) there, but '%s' (%s, "
                               "EPSG:%d) at %s: one code, two communes",
                               at, r->code, r->name, r->former_province, r->epsg, e[i - 1].ref.name,
                               e[i - 1].ref.former_province, e[i - 1].ref.epsg, at2);
            }
        } else if (k < 0)
            (*fresh)++;
    }
    free(e);
    return st;
}

pdb_status pdb__registry_check(pdb_ctx *ctx, const pdb_commune_table *t)
{
    size_t n, fresh;
    const char *const *origins;
    const pdb_commune_ref *refs = current_list(&n, &origins);
    return check_against(ctx, t, refs, origins, n, &fresh);
}

static void reg_list_free(reg_list *l)
{
    if (l == NULL)
        return;
    free(l->refs);
    free(l->origins);
    free(l->arena);
    free(l);
}

/* Builds the list of refs plus t's communes that refs does not hold
 * (checked: fresh distinct codes), sorted by code, with the new entries'
 * strings in one arena. NULL when out of memory. */
static reg_list *merged_list(const pdb_commune_table *t, const pdb_commune_ref *refs,
                             const char *const *origins, size_t n, size_t fresh)
{
    size_t bytes = strlen(t->origin) + 1, m = 0;
    for (size_t i = 0; i < t->count; i++)
        bytes += strlen(t->refs[i].code) + strlen(t->refs[i].name) +
                 strlen(t->refs[i].former_province) + 3;
    reg_list *l = calloc(1, sizeof *l);
    entry *e = malloc((n + t->count) * sizeof *e);
    if (l == NULL || e == NULL || (l->refs = malloc((n + fresh) * sizeof *l->refs)) == NULL ||
        (l->origins = malloc((n + fresh) * sizeof *l->origins)) == NULL ||
        (l->arena = malloc(bytes)) == NULL) {
        free(e);
        reg_list_free(l);
        return NULL;
    }
    char *p = l->arena;
    const char *origin = p;
    p = stpcpy(p, t->origin) + 1;
    for (size_t i = 0; i < n; i++)
        e[m++] = (entry){refs[i], origins ? origins[i] : builtin_origin, 0};
    for (size_t i = 0; i < t->count; i++) {
        const pdb_commune_ref *r = &t->refs[i];
        if (list_find(refs, n, r->code) >= 0)
            continue;
        entry *d = &e[m++];
        d->ref.code = p;
        p = stpcpy(p, r->code) + 1;
        d->ref.name = p;
        p = stpcpy(p, r->name) + 1;
        d->ref.former_province = p;
        p = stpcpy(p, r->former_province) + 1;
        d->ref.epsg = r->epsg;
        d->origin = origin;
        d->index = i + 1;
    }
    qsort(e, m, sizeof *e, entry_cmp);
    for (size_t i = 0; i < m; i++) {
        /* A commune listed twice in t (the same one: checked) once. */
        if (l->count > 0 && strcmp(l->refs[l->count - 1].code, e[i].ref.code) == 0)
            continue;
        l->refs[l->count] = e[i].ref;
        l->origins[l->count] = e[i].origin;
        l->count++;
    }
    free(e);
    return l;
}

pdb_status pdb__registry_add(pdb_ctx *ctx, const pdb_commune_table *t)
{
    size_t n, fresh;
    const char *const *origins;
    pdb_status st;

    pthread_mutex_lock(&reg_lock);
    const pdb_commune_ref *refs = current_list(&n, &origins);
    if ((st = check_against(ctx, t, refs, origins, n, &fresh)) != PDB_OK || fresh == 0)
        goto done;
    reg_list *l = merged_list(t, refs, origins, n, fresh);
    if (l == NULL) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory registering the communes of %s", t->origin);
        goto done;
    }
    l->prev = atomic_load_explicit(&reg_current, memory_order_relaxed);
    atomic_store_explicit(&reg_current, l, memory_order_release);
done:
    pthread_mutex_unlock(&reg_lock);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}
