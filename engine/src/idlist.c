/*
 * idlist.c: the pdb_idlist table-valued function (idlist.h), an
 * eponymous-only virtual table over a C array of sorted ids.
 */
#include "idlist.h"

#include <stdlib.h>
#include <string.h>

enum { COL_VALUE, COL_LIST };

typedef struct idlist_cursor {
    sqlite3_vtab_cursor base;
    const int64_t *ids; /* borrowed from the bound pdb__idlist */
    size_t n, i;
} idlist_cursor;

static int idlist_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                          sqlite3_vtab **out, char **err)
{
    (void)aux, (void)argc, (void)argv, (void)err;
    int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(value INTEGER, list HIDDEN)");
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_vtab *v = sqlite3_malloc(sizeof *v);
    if (v == NULL)
        return SQLITE_NOMEM;
    memset(v, 0, sizeof *v);
    sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
    *out = v;
    return SQLITE_OK;
}

static int idlist_disconnect(sqlite3_vtab *v)
{
    sqlite3_free(v);
    return SQLITE_OK;
}

/* The list argument is required (without it there is nothing to read);
 * the rows come in ascending value, which satisfies ORDER BY value. */
static int idlist_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
    (void)v;
    int list = -1;
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        if (c->iColumn == COL_LIST && c->op == SQLITE_INDEX_CONSTRAINT_EQ) {
            if (!c->usable)
                return SQLITE_CONSTRAINT;
            list = i;
        }
    }
    if (list < 0)
        return SQLITE_CONSTRAINT;
    info->aConstraintUsage[list].argvIndex = 1;
    info->aConstraintUsage[list].omit = 1;
    if (info->nOrderBy == 1 && info->aOrderBy[0].iColumn == COL_VALUE && !info->aOrderBy[0].desc)
        info->orderByConsumed = 1;
    info->estimatedCost = 1000;
    info->estimatedRows = 1000;
    return SQLITE_OK;
}

static int idlist_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
    (void)v;
    idlist_cursor *c = sqlite3_malloc(sizeof *c);
    if (c == NULL)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    *out = &c->base;
    return SQLITE_OK;
}

static int idlist_close(sqlite3_vtab_cursor *cur)
{
    sqlite3_free(cur);
    return SQLITE_OK;
}

/* An unbound or other pointer reads as an empty list. */
static int idlist_filter(sqlite3_vtab_cursor *cur, int idx, const char *idx_str, int argc,
                         sqlite3_value **argv)
{
    (void)idx, (void)idx_str;
    idlist_cursor *c = (idlist_cursor *)cur;
    const pdb__idlist *l = argc > 0 ? sqlite3_value_pointer(argv[0], PDB_IDLIST_POINTER) : NULL;
    c->ids = l ? l->ids : NULL;
    c->n = l ? l->n : 0;
    c->i = 0;
    return SQLITE_OK;
}

static int idlist_next(sqlite3_vtab_cursor *cur)
{
    ((idlist_cursor *)cur)->i++;
    return SQLITE_OK;
}

static int idlist_eof(sqlite3_vtab_cursor *cur)
{
    const idlist_cursor *c = (const idlist_cursor *)cur;
    return c->i >= c->n;
}

static int idlist_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
    const idlist_cursor *c = (const idlist_cursor *)cur;
    if (col == COL_VALUE)
        sqlite3_result_int64(ctx, c->ids[c->i]);
    return SQLITE_OK;
}

static int idlist_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
    *rowid = (sqlite3_int64)((const idlist_cursor *)cur)->i;
    return SQLITE_OK;
}

static const sqlite3_module idlist_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous only: no CREATE VIRTUAL TABLE */
    .xConnect = idlist_connect,
    .xBestIndex = idlist_best_index,
    .xDisconnect = idlist_disconnect,
    .xDestroy = idlist_disconnect,
    .xOpen = idlist_open,
    .xClose = idlist_close,
    .xFilter = idlist_filter,
    .xNext = idlist_next,
    .xEof = idlist_eof,
    .xColumn = idlist_column,
    .xRowid = idlist_rowid,
};

int pdb__idlist_register(sqlite3 *db)
{
    return sqlite3_create_module_v2(db, "pdb_idlist", &idlist_module, NULL, NULL);
}

/* A typed sort: qsort's call per comparison was most of the sort's cost
 * (R-tree candidates come a few hundred a tile). Quicksort on the median
 * of three, insertion sort below 16, heapsort past 2 log n levels, so
 * that no order of ids makes it quadratic. */
static void sift_down(int64_t *a, size_t root, size_t n)
{
    for (size_t child; (child = 2 * root + 1) < n; root = child) {
        if (child + 1 < n && a[child + 1] > a[child])
            child++;
        if (a[root] >= a[child])
            return;
        int64_t t = a[root];
        a[root] = a[child];
        a[child] = t;
    }
}

static void heap_sort(int64_t *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(a, i, n);
    for (size_t end = n; end-- > 1;) {
        int64_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
}

static void sort_ids(int64_t *a, size_t n, int depth)
{
    while (n > 16) {
        if (depth-- == 0) {
            heap_sort(a, n);
            return;
        }
        int64_t x = a[0], y = a[n / 2], z = a[n - 1];
        int64_t pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        size_t i = 0, j = n - 1;
        for (;;) { /* Hoare: a[..j] <= pivot <= a[j+1..] */
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i >= j)
                break;
            int64_t t = a[i];
            a[i++] = a[j];
            a[j--] = t;
        }
        /* The smaller side recursively, the larger in the loop. */
        if (j + 1 < n - j - 1) {
            sort_ids(a, j + 1, depth);
            a += j + 1;
            n -= j + 1;
        } else {
            sort_ids(a + j + 1, n - j - 1, depth);
            n = j + 1;
        }
    }
    for (size_t i = 1; i < n; i++) {
        int64_t v = a[i];
        size_t k = i;
        for (; k > 0 && a[k - 1] > v; k--)
            a[k] = a[k - 1];
        a[k] = v;
    }
}

size_t pdb__idlist_sort(int64_t *ids, size_t n)
{
    if (n < 2)
        return n;
    int depth = 0;
    for (size_t m = n; m > 1; m >>= 1)
        depth += 2;
    sort_ids(ids, n, depth);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (ids[i] != ids[k - 1])
            ids[k++] = ids[i];
    return k;
}
