/*
 * conf.h: the server's configuration, what SIGHUP reloads: the map style,
 * the bearer tokens, the demo page and the disk cache of the style.
 *
 * Every file is read before the server drops root (conf_load at start), so
 * that a checkout or an /etc directory only root can reach still works. A
 * reload runs as the unprivileged user: a file it cannot read any more is
 * kept from the running configuration, with one line in the log, and the
 * server keeps serving; a file that it reads but finds wrong refuses the
 * whole reload. With no style file anywhere, the style built into the
 * binary is used.
 */
#ifndef PDB_SRV_CONF_H
#define PDB_SRV_CONF_H

#include "auth.h"
#include "disk.h"
#include "server.h"
#include "webfiles.h"

#include "tiler.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* One file's loaded contents, shared by the configurations that hold it
 * (a reload that cannot read the file again keeps the same part). */
typedef struct pdb_srv_part pdb_srv_part;

/* Replaced whole on reload, shared by reference count. */
typedef struct pdb_srv_conf {
    atomic_int refs;           /* holders: the server and workers */
    pdbt_style *style;         /* map style (owned by style_part) */
    uint64_t style_hash;       /* from the style's text */
    char style_name[64];       /* for tiles.json */
    pdb_srv_tokens *tokens;    /* bearer token hashes (owned by tokens_part), or NULL */
    pdb_srv_webfiles *web;     /* the demo page (owned by web_part), or NULL */
    pdb_srv_disk *disk;        /* disk cache of this style, or NULL */
    pdb_srv_part *style_part;  /* where style lives */
    pdb_srv_part *tokens_part; /* where tokens live, or NULL */
    pdb_srv_part *web_part;    /* where web lives, or NULL */
} pdb_srv_conf;

/* Loads the style (o->style_path, else the default style's file, else the
 * built-in one; its fonts are opened too), the tokens and the demo page.
 * old is the running configuration on reload (NULL at start): a file that
 * cannot be opened any more is then kept from old, said in one line.
 * Returns 0 with *out (one reference), or -1 with the reason in msg. */
int pdb_srv_conf_load(const pdb_srv_options *o, const pdb_srv_conf *old, pdb_srv_conf **out,
                      char *msg, size_t cap);

/* Opens the disk cache of c's style when o names one. Called as the user
 * the server runs as (it creates directories and files). 0, or -1 with the
 * reason in msg. */
int pdb_srv_conf_open_disk(pdb_srv_conf *c, const pdb_srv_options *o, char *msg, size_t cap);

/* Takes one more reference. */
pdb_srv_conf *pdb_srv_conf_ref(pdb_srv_conf *c);
/* Drops one reference; the last frees. Accepts NULL. */
void pdb_srv_conf_unref(pdb_srv_conf *c);

#endif
