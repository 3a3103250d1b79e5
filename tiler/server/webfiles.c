/*
 * webfiles.c: the demo page's files in memory.
 */
#include "webfiles.h"

#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_DEPTH 3

typedef struct loader {
    pdb_srv_webfiles *w; /* what is being filled */
    size_t cap;          /* room in w->files */
    size_t bytes;        /* loaded so far */
    char *err;           /* message buffer */
    size_t errcap;       /* its size */
} loader;

const char *pdb_srv_content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".png", "image/png"},
        {".svg", "image/svg+xml"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {".md", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static uint64_t fnv64(const unsigned char *p, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static int add_file(loader *L, const char *path, const char *name)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    pdb_srv_blob *b = NULL;

    if (f == NULL)
        return pdb_srv_fail(L->err, L->errcap, "%s: %s", path, strerror(errno));
    if (fstat(fileno(f), &sb) != 0 || sb.st_size < 0) {
        fclose(f);
        return pdb_srv_fail(L->err, L->errcap, "%s: %s", path, strerror(errno));
    }
    if (L->w->count == PDB_SRV_WEB_MAX_FILES ||
        L->bytes + (size_t)sb.st_size > PDB_SRV_WEB_MAX_BYTES) {
        fclose(f);
        return pdb_srv_fail(L->err, L->errcap, "%s: more than %d files or %u MiB", path,
                            PDB_SRV_WEB_MAX_FILES, PDB_SRV_WEB_MAX_BYTES >> 20);
    }
    if ((b = pdb_srv_blob_new(NULL, (size_t)sb.st_size)) == NULL ||
        fread(b->data, 1, b->len, f) != b->len) {
        fclose(f);
        pdb_srv_blob_unref(b);
        return pdb_srv_fail(L->err, L->errcap, "%s: cannot read", path);
    }
    fclose(f);
    if (pdb_srv_grow(&L->w->files, &L->cap, L->w->count + 1, sizeof *L->w->files) != 0) {
        pdb_srv_blob_unref(b);
        return pdb_srv_fail(L->err, L->errcap, "out of memory");
    }
    pdb_srv_webfile *wf = &L->w->files[L->w->count];
    if ((wf->name = strdup(name)) == NULL) {
        pdb_srv_blob_unref(b);
        return pdb_srv_fail(L->err, L->errcap, "out of memory");
    }
    wf->content_type = pdb_srv_content_type(name);
    wf->body = b;
    snprintf(wf->etag, sizeof wf->etag, "\"%016llx\"", (unsigned long long)fnv64(b->data, b->len));
    L->w->count++;
    L->bytes += b->len;
    return 0;
}

static int walk(loader *L, const char *dir, const char *prefix, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int rc = 0;

    if (d == NULL)
        return pdb_srv_fail(L->err, L->errcap, "%s: %s", dir, strerror(errno));
    while (rc == 0 && (de = readdir(d)) != NULL) {
        char path[4096], name[1024];
        struct stat sb;
        if (de->d_name[0] == '.')
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path ||
            snprintf(name, sizeof name, "%s%s", prefix, de->d_name) >= (int)sizeof name)
            continue;
        if (stat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode) && depth < MAX_DEPTH) {
            char sub[1100];
            snprintf(sub, sizeof sub, "%s/", name);
            rc = walk(L, path, sub, depth + 1);
        } else if (S_ISREG(sb.st_mode)) {
            rc = add_file(L, path, name);
        }
    }
    closedir(d);
    return rc;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const pdb_srv_webfile *)a)->name, ((const pdb_srv_webfile *)b)->name);
}

int pdb_srv_webfiles_load(const char *dir, pdb_srv_webfiles **out, char *err, size_t errcap)
{
    loader L = {0};
    *out = NULL;
    if ((L.w = calloc(1, sizeof *L.w)) == NULL)
        return pdb_srv_fail(err, errcap, "out of memory");
    L.err = err;
    L.errcap = errcap;
    if (walk(&L, dir, "", 0) != 0) {
        pdb_srv_webfiles_free(L.w);
        return -1;
    }
    if (L.w->count > 0)
        qsort(L.w->files, L.w->count, sizeof *L.w->files, cmp_name);
    *out = L.w;
    return 0;
}

void pdb_srv_webfiles_free(pdb_srv_webfiles *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->count; i++) {
        free(w->files[i].name);
        pdb_srv_blob_unref(w->files[i].body);
    }
    free(w->files);
    free(w);
}

const pdb_srv_webfile *pdb_srv_webfiles_find(const pdb_srv_webfiles *w, const char *name)
{
    if (w == NULL || w->count == 0 || name == NULL)
        return NULL;
    pdb_srv_webfile key = {.name = (char *)name};
    return bsearch(&key, w->files, w->count, sizeof *w->files, cmp_name);
}
