/*
 * server.h: the parceldb HTTP server (libpdb_server), as the `parceldb
 * serve` and `parceldb seed` commands use it. The HTTP API is the one of
 * DESIGN.md; docs/operations.md says how to run it.
 *
 * The server prints its start-up line, one access-log line per request and
 * its warnings on stderr; it never prints personal data.
 */
#ifndef PDB_SERVER_H
#define PDB_SERVER_H

#include <stddef.h>

typedef struct pdb_srv_options {
    const char *db_path;      /* the store (read-only) */
    const char *listen;       /* "127.0.0.1:8080", "[::1]:8080"; port 0 takes a free one */
    const char *style_path;   /* map style (JSON); NULL for the built-in default path */
    const char *cache_dir;    /* disk tile cache, or NULL for none */
    const char *tokens_path;  /* bearer token file, or NULL: owners never served */
    const char *web_dir;      /* the demo page's files, or NULL for no demo page */
    const char *port_file;    /* written with the bound port once listening, or NULL */
    const char *public_url;   /* base URL in tiles.json ("https://map.example.vn"),
                                 or NULL to build it from the Host header */
    size_t cache_mb;          /* memory tile cache, MiB (default 256; 0 for none) */
    size_t cache_max_mb;      /* size limit of cache_dir, MiB (0, the default: none) */
    unsigned threads;         /* worker threads (default: the number of cores) */
    unsigned max_connections; /* open connections at most (default 1024) */
    unsigned max_per_ip;      /* open connections per client address (default 256) */
    unsigned timeout_s;       /* idle connection timeout, seconds (default 15) */
    unsigned drain_s;         /* on SIGTERM, wait this long for requests (default 30) */
    int max_zoom;             /* deepest tile zoom (default 20, at most 24) */
    unsigned max_limit;       /* most features one /parcels?bbox= answer holds (1000) */
    unsigned max_age_s;       /* Cache-Control max-age of tiles, seconds (default 60) */
    unsigned render_wait_ms;  /* longest wait for another request's render of the same
                                 tile, then 503 (default 10000) */
    double rate_limit;        /* requests per second per client address; 0: no limit */
    double rate_burst;        /* burst above the rate (default 2 x rate) */
    int access_log;           /* 1 (default) for one line per request on stderr */
    const char *user;         /* started as root: run as this user once the port is bound */
    int allow_root;           /* 1: may keep running as root (without user) */
    const char *audit_path;   /* the store whose audit table records answers with owner
                                 names, or NULL for db_path (search_audit.h) */
    const char *pmtiles_path; /* serve the tiles of this PMTiles archive (pmtiles_route.c),
                                 with no store; NULL: serve the store */
    const char *exporter;     /* parceldb-export, which GET /export runs (export_route.c);
                                 NULL: /export answers 503 */
} pdb_srv_options;

/* Fills the defaults above (db_path "parcels.sqlite", listen
 * "127.0.0.1:8080"). */
void pdb_srv_options_default(pdb_srv_options *o);

/* Runs the server until SIGTERM or SIGINT, then drains in-flight requests
 * (up to drain_s) and returns 0. SIGHUP reloads the style, the tokens, the
 * demo page and reopens the store. Returns 1, after one line on stderr,
 * when it cannot start (no store, bad style, port taken). Blocks SIGTERM,
 * SIGINT and SIGHUP in the calling thread and ignores SIGPIPE. */
int pdb_srv_run(const pdb_srv_options *o);

/* Where the demo page is: $PARCELDB_WEB_DIR, the build tree's web/ (for
 * the build tree's own command), or the installed data directory; NULL
 * when none holds an index.html. Static storage or the environment. */
const char *pdb_srv_default_web_dir(void);

typedef struct pdb_srv_seed_options {
    const char *db_path;    /* the store */
    const char *style_path; /* map style, as for the server */
    const char *cache_dir;  /* the disk cache to fill (required) */
    size_t cache_max_mb;    /* its size limit, MiB, as the server's (0: none) */
    int zoom_min;           /* first zoom */
    int zoom_max;           /* last zoom, inclusive */
    double bbox[4];         /* WGS 84 box; all NAN for the store's extent */
    int scales;             /* 1: 256 px, 2: @2x, 3: both (default 1); PNG only */
    int mvt;                /* 1: vector tiles (.mvt) instead of PNG */
    unsigned threads;       /* render threads (default: cores) */
    int progress;           /* 1: bar on stderr, 0: none, -1: when stderr is a terminal */
    int max_zoom;           /* deepest zoom allowed (as the server's) */
    size_t max_tiles;       /* refuse larger jobs (default 10 million) */
} pdb_srv_seed_options;

void pdb_srv_seed_options_default(pdb_srv_seed_options *o);

/* Renders every tile of the zoom range meeting the box into the disk
 * cache, skipping tiles already current there. Prints a progress bar
 * (when asked) and a summary line on stderr. Returns 0, or 1 after one
 * line on stderr. */
int pdb_srv_seed(const pdb_srv_seed_options *o);

typedef struct pdb_srv_export_options {
    const char *db_path;    /* the store */
    const char *style_path; /* map style, as for the server */
    const char *out_path;   /* the archive to write (required) */
    int zoom_min;           /* first zoom */
    int zoom_max;           /* last zoom, inclusive */
    double bbox[4];         /* WGS 84 box; all NAN for the store's extent */
    unsigned threads;       /* render threads (default: cores) */
    int progress;           /* 1: bar on stderr, 0: none, -1: when stderr is a terminal */
    int max_zoom;           /* the server's --max-zoom, whose empty tile is the archive's */
    size_t max_tiles;       /* refuse larger jobs (default 10 million) */
    size_t leaf_entries;    /* entries per leaf directory; 0: leaves only when needed */
    int mvt;                /* 1: vector tiles (gzip), as /tiles/{z}/{x}/{y}.mvt; 0: PNG */
} pdb_srv_export_options;

void pdb_srv_export_options_default(pdb_srv_export_options *o);

/* Renders every tile of the zoom range meeting the box, as the server
 * answers it, into a PMTiles archive at out_path (through out_path.tmp and
 * a rename: nothing is left under either name on failure). Prints a
 * progress bar (when asked) and a summary line on stderr. Returns 0, or 1
 * after one line on stderr. */
int pdb_srv_export(const pdb_srv_export_options *o);

#endif
