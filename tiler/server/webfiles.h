/*
 * webfiles.h: the demo page's files, read from a directory into memory at
 * start (and on SIGHUP) and served from a table by exact name. Requests
 * never reach the file system, so no path can escape the directory.
 */
#ifndef PDB_SRV_WEBFILES_H
#define PDB_SRV_WEBFILES_H

#include "cache.h"

#include <stddef.h>

#define PDB_SRV_WEB_MAX_FILES 256         /* files loaded at most */
#define PDB_SRV_WEB_MAX_BYTES (32u << 20) /* bytes loaded at most */

typedef struct pdb_srv_webfile {
    char *name;               /* "index.html", "leaflet/leaflet.js" */
    const char *content_type; /* from the extension */
    pdb_srv_blob *body;       /* the bytes */
    char etag[24];            /* quoted hash of the bytes */
} pdb_srv_webfile;

typedef struct pdb_srv_webfiles {
    pdb_srv_webfile *files; /* sorted by name */
    size_t count;           /* files */
} pdb_srv_webfiles;

/* Loads every regular file under dir (three levels deep at most; names
 * starting with '.' skipped). Returns 0, or -1 with a reason in err. A
 * missing directory is an error; the caller decides whether it matters. */
int pdb_srv_webfiles_load(const char *dir, pdb_srv_webfiles **out, char *err, size_t errcap);
void pdb_srv_webfiles_free(pdb_srv_webfiles *w);

/* The file of that name, or NULL. */
const pdb_srv_webfile *pdb_srv_webfiles_find(const pdb_srv_webfiles *w, const char *name);

/* The content type for a file name ("text/javascript; charset=utf-8"). */
const char *pdb_srv_content_type(const char *name);

#endif
