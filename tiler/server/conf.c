/*
 * conf.c: loading the server's configuration (conf.h says when files are
 * read, and what a reload keeps when it cannot read them).
 */
#include "conf.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void pdb_srv_options_default(pdb_srv_options *o)
{
    memset(o, 0, sizeof *o);
    o->db_path = "parcels.sqlite";
    o->listen = "127.0.0.1:8080";
    o->cache_mb = 256;
    o->max_connections = 1024;
    o->max_per_ip = 256;
    o->timeout_s = 15;
    o->drain_s = 30;
    o->max_zoom = 20;
    o->max_limit = 1000;
    o->max_age_s = 60;
    o->render_wait_ms = 10000;
    o->access_log = 1;
}

const char *pdb_srv_default_web_dir(void)
{
    static const char *const dirs[] = {
#ifdef PDB_WEB_BUILD_DIR
        PDB_WEB_BUILD_DIR,
#endif
#ifdef PDB_WEB_INSTALL_DIR
        PDB_WEB_INSTALL_DIR,
#endif
        NULL,
    };
    char index[4200];
    const char *env = getenv("PARCELDB_WEB_DIR");
    if (env != NULL && *env != '\0')
        return env;
    for (size_t i = 0; dirs[i] != NULL; i++) {
        snprintf(index, sizeof index, "%s/index.html", dirs[i]);
        if (access(index, R_OK) == 0)
            return dirs[i];
    }
    return NULL;
}

struct pdb_srv_part {
    atomic_int refs;          /* configurations holding it */
    void *obj;                /* pdbt_style, pdb_srv_tokens or pdb_srv_webfiles */
    void (*free_obj)(void *); /* frees obj */
    char source[4096];        /* the file or directory read; "" for the built-in style */
};

static void free_style(void *p)
{
    pdbt_style_free(p);
}
static void free_tokens(void *p)
{
    pdb_srv_tokens_free(p);
}
static void free_web(void *p)
{
    pdb_srv_webfiles_free(p);
}

/* Wraps obj (taking it over, even on failure) into a part of one reference. */
static pdb_srv_part *part_new(void *obj, void (*free_obj)(void *), const char *source)
{
    pdb_srv_part *p = calloc(1, sizeof *p);
    if (p == NULL) {
        free_obj(obj);
        return NULL;
    }
    atomic_init(&p->refs, 1);
    p->obj = obj;
    p->free_obj = free_obj;
    snprintf(p->source, sizeof p->source, "%s", source);
    return p;
}

static pdb_srv_part *part_ref(pdb_srv_part *p)
{
    if (p != NULL)
        atomic_fetch_add(&p->refs, 1);
    return p;
}

static void part_unref(pdb_srv_part *p)
{
    if (p == NULL || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    p->free_obj(p->obj);
    free(p);
}

/* 0 when path (a file or a directory) can be opened for reading, else the
 * errno that says why not. */
static int open_error(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    close(fd);
    return 0;
}

/* On reload: whether a file that failed to load is kept from the running
 * configuration (it cannot be opened any more: the server no longer runs
 * as root, or the file went away). Says so when it is. */
static int keep_old(const pdb_srv_part *old, const char *what, const char *path)
{
    int e;
    if (old == NULL || (e = open_error(path)) == 0)
        return 0;
    pdb_srv_say("reload: cannot read %s %s (%s): keeping the one loaded before", what, path,
                strerror(e));
    return 1;
}

/* Opens the fonts the style names, as a renderer would, so that they are
 * open (FreeType keeps them for the process) before root is dropped and a
 * missing font stops the start instead of failing every tile. */
static int check_fonts(pdbt_ctx *tctx, const pdbt_style *style, char *msg, size_t cap)
{
    pdbt_renderer *r = NULL;
    if (pdbt_renderer_new(tctx, NULL, style, NULL, &r) != PDB_OK) {
        snprintf(msg, cap, "style: %s", pdbt_errmsg(tctx));
        return -1;
    }
    pdbt_renderer_free(r);
    return 0;
}

static int load_style_on(pdbt_ctx *tctx, const pdb_srv_options *o, const pdb_srv_part *old,
                         pdb_srv_part **out, char *msg, size_t cap)
{
    char found[4096];
    const char *path = o->style_path;
    pdbt_style *style = NULL;

    *out = NULL;
    if (path == NULL && pdbt_style_default_path(found, sizeof found) == 0)
        path = found;
    if (path == NULL && old != NULL && old->source[0] != '\0') {
        pdb_srv_say("reload: cannot find the default style file any more: keeping the one "
                    "loaded before from %s",
                    old->source);
        *out = part_ref((pdb_srv_part *)old);
        return 0;
    }
    if (path == NULL) {
        if (pdbt_style_builtin(tctx, &style) != PDB_OK) {
            snprintf(msg, cap, "style: %s", pdbt_errmsg(tctx));
            return -1;
        }
        if (old == NULL)
            pdb_srv_say("no style file found: using the built-in default style");
    } else if (pdbt_style_load(tctx, path, &style) != PDB_OK) {
        if (keep_old(old, "the style", path)) {
            *out = part_ref((pdb_srv_part *)old);
            return 0;
        }
        snprintf(msg, cap, "style: %s", pdbt_errmsg(tctx));
        return -1;
    }
    if (check_fonts(tctx, style, msg, cap) != 0) {
        pdbt_style_free(style);
        return -1;
    }
    if ((*out = part_new(style, free_style, path ? path : "")) == NULL) {
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    return 0;
}

/* Loads the style (and opens its fonts) with a renderer context of its own:
 * the main thread loads it at start and on SIGHUP, and renders nothing. */
static int load_style(const pdb_srv_options *o, const pdb_srv_part *old, pdb_srv_part **out,
                      char *msg, size_t cap)
{
    pdbt_ctx *tctx = NULL;
    *out = NULL;
    if (pdbt_ctx_new(NULL, &tctx) != PDB_OK) {
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    int rc = load_style_on(tctx, o, old, out, msg, cap);
    pdbt_ctx_free(tctx);
    return rc;
}

/* The loaders of the files besides the style, in one shape. */
static int read_tokens(const char *path, void **out, char *err, size_t cap)
{
    pdb_srv_tokens *t = NULL;
    int rc = pdb_srv_tokens_load(path, &t, err, cap);
    *out = t;
    return rc;
}

static int read_web(const char *dir, void **out, char *err, size_t cap)
{
    pdb_srv_webfiles *w = NULL;
    int rc = pdb_srv_webfiles_load(dir, &w, err, cap);
    *out = w;
    return rc;
}

/* A file (or directory) the configuration may name: nothing when path is
 * NULL; what names it in messages is what ("the token file"), prefix
 * starts the error ("tokens"). */
typedef struct part_kind {
    const char *what;                                   /* in the reload line */
    const char *prefix;                                 /* of the error */
    int (*read)(const char *, void **, char *, size_t); /* the loader */
    void (*free_obj)(void *);                           /* its free */
} part_kind;

static const part_kind TOKENS = {"the token file", "tokens", read_tokens, free_tokens};
static const part_kind WEB = {"the demo page's directory", "demo page", read_web, free_web};

static int load_part(const part_kind *k, const char *path, const pdb_srv_part *old,
                     pdb_srv_part **out, char *msg, size_t cap)
{
    char err[448]; /* room for the prefix in msg */
    void *obj = NULL;

    *out = NULL;
    if (path == NULL)
        return 0;
    if (k->read(path, &obj, err, sizeof err) != 0) {
        if (keep_old(old, k->what, path)) {
            *out = part_ref((pdb_srv_part *)old);
            return 0;
        }
        snprintf(msg, cap, "%s: %s", k->prefix, err);
        return -1;
    }
    if ((*out = part_new(obj, k->free_obj, path)) == NULL) {
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    return 0;
}

int pdb_srv_conf_load(const pdb_srv_options *o, const pdb_srv_conf *old, pdb_srv_conf **out,
                      char *msg, size_t cap)
{
    pdb_srv_conf *c = calloc(1, sizeof *c);

    *out = NULL;
    if (c == NULL) {
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    atomic_init(&c->refs, 1);
    if (load_style(o, old ? old->style_part : NULL, &c->style_part, msg, cap) != 0 ||
        load_part(&TOKENS, o->tokens_path, old ? old->tokens_part : NULL, &c->tokens_part, msg,
                  cap) != 0 ||
        load_part(&WEB, o->web_dir, old ? old->web_part : NULL, &c->web_part, msg, cap) != 0) {
        pdb_srv_conf_unref(c);
        return -1;
    }
    c->style = c->style_part->obj;
    c->tokens = c->tokens_part ? c->tokens_part->obj : NULL;
    c->web = c->web_part ? c->web_part->obj : NULL;
    c->style_hash = pdbt_style_hash(c->style);
    snprintf(c->style_name, sizeof c->style_name, "%s",
             pdbt_style_name(c->style)[0] ? pdbt_style_name(c->style) : "parceldb");
    *out = c;
    return 0;
}

int pdb_srv_conf_open_disk(pdb_srv_conf *c, const pdb_srv_options *o, char *msg, size_t cap)
{
    if (o->cache_dir == NULL)
        return 0;
    return pdb_srv_disk_open(o->cache_dir, c->style_hash, (uint64_t)o->cache_max_mb << 20, &c->disk,
                             msg, cap);
}

pdb_srv_conf *pdb_srv_conf_ref(pdb_srv_conf *c)
{
    atomic_fetch_add(&c->refs, 1);
    return c;
}

void pdb_srv_conf_unref(pdb_srv_conf *c)
{
    if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    part_unref(c->style_part);
    part_unref(c->tokens_part);
    part_unref(c->web_part);
    pdb_srv_disk_close(c->disk);
    free(c);
}
