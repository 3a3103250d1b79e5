/*
 * changes.h: which parts of the map changed at which data version, so that
 * the server drops exactly the cached tiles an import made stale and keeps
 * the rest. Pure bookkeeping over commune rows; no store, no sockets.
 *
 * The store bumps its data version by one per write transaction that
 * changes a commune (its commit, its overviews' rebuild or state change),
 * and stamps that commune's row with the version (communes.data_version,
 * pdb_commune.data_version). So, given the rows seen at version V1, the
 * rows at V2 name exactly the communes that changed in between: those
 * stamped above V1, whatever happened meanwhile (the same commune
 * committed twice, two rebuilds, a failure). Overviews are included: a
 * rebuild stamps the communes it rebuilt. A commune whose row vanished
 * changed too (no engine call removes one, but a file edited by hand
 * could), and so does one whose row differs while its stamp says it did
 * not (a tool that wrote without stamping): the log never under-counts.
 * The area a change can affect is the union of the commune's old and new
 * boxes (its parcels, and its overviews made of them).
 *
 * Stores of schema 1 (made before the stamps, opened read-only: a
 * read-write open upgrades them) give rows with data_version -1. When such
 * a store's version moves, nothing tells what changed, and the log moves
 * its baseline: everything is stale. A store is upgraded at the version it
 * has then, and every row is stamped with it: a log that saw that version
 * finds no commune changed by the upgrade; one that saw an older version
 * (a write by an older engine) finds every commune changed.
 *
 * A tile's content version is the newest change meeting it (or the
 * baseline): a cached tile rendered at that version or later is current.
 * Records are kept per commune (merged boxes, newest version), so the log
 * stays as small as the number of communes.
 */
#ifndef PDB_SRV_CHANGES_H
#define PDB_SRV_CHANGES_H

#include <stddef.h>
#include <stdint.h>

/* One commune row as the server compares it. */
typedef struct pdb_srv_commune_state {
    char code[8];         /* five-digit commune code */
    double bbox[4];       /* WGS 84 min lon, min lat, max lon, max lat; NAN when none */
    int64_t parcels;      /* current parcels */
    int64_t last_batch;   /* import run of the current parcels */
    int source_srid;      /* EPSG of the last import */
    int overview_fresh;   /* 1: overviews built, 0: stale (imported since), -1: unknown */
    int overview_state;   /* the engine's pdb_overview_state (fresh, stale, failed, fallback) */
    int64_t data_version; /* store version at which it last changed; -1 unknown (schema 1) */
} pdb_srv_commune_state;

/* One region that changed. */
typedef struct pdb_srv_change {
    char code[8];    /* the commune */
    int64_t version; /* newest data version that changed it */
    double merc[4];  /* Web Mercator box of every change to it, metres */
} pdb_srv_change;

typedef struct pdb_srv_changes {
    int64_t version;                 /* data version the log describes */
    int64_t baseline;                /* tiles rendered before this are stale */
    uint64_t epoch;                  /* changes when versions stop being comparable */
    uint64_t identity;               /* which store file the log describes */
    pdb_srv_change *rec;             /* per-commune records */
    size_t nrec;                     /* records */
    size_t caprec;                   /* room in rec */
    pdb_srv_commune_state *communes; /* the rows at version, by code */
    size_t ncommunes;                /* rows */
} pdb_srv_changes;

/* Starts a log at a version with the rows seen then (copied); everything
 * older than version is stale. Returns 0, or -1 when out of memory. */
int pdb_srv_changes_reset(pdb_srv_changes *c, int64_t version, uint64_t epoch,
                          const pdb_srv_commune_state *rows, size_t n);

void pdb_srv_changes_clear(pdb_srv_changes *c);

/* The outcome of moving the log to a newer version. */
typedef enum pdb_srv_advance {
    PDB_SRV_ADVANCE_SAME = 0, /* nothing changed */
    PDB_SRV_ADVANCE_REGIONS,  /* *boxes lists the changed regions (Web Mercator) */
    PDB_SRV_ADVANCE_ALL,      /* everything is stale (baseline moved) */
    PDB_SRV_ADVANCE_EPOCH     /* the version went back: a different store; new epoch */
} pdb_srv_advance;

/* Moves the log to version with the rows seen there. On
 * PDB_SRV_ADVANCE_REGIONS, *boxes (caller frees with free()) holds
 * *nboxes Web Mercator boxes to invalidate. On failure (no memory) the log
 * moves its baseline, which is always safe. */
pdb_srv_advance pdb_srv_changes_advance(pdb_srv_changes *c, int64_t version,
                                        const pdb_srv_commune_state *rows, size_t n,
                                        double (**boxes)[4], size_t *nboxes);

/* The content version of a tile whose buffered Web Mercator bounds are
 * merc: the newest change that meets them, or the baseline. */
int64_t pdb_srv_changes_tile_version(const pdb_srv_changes *c, const double merc[4]);

/* The log as text (caller frees), and back. The text is the disk cache's
 * state file: versions, epoch, rows and records. Parsing also reads the
 * files of servers from before per-commune versions (their rows without
 * stamps, which only ever serve as the old side of a comparison), so that
 * an upgraded server keeps the disk cache; anything else is refused (-1,
 * the log unchanged), and the caller then starts afresh: every tile on
 * disk stale, never a stale tile served. */
char *pdb_srv_changes_format(const pdb_srv_changes *c);
int pdb_srv_changes_parse(pdb_srv_changes *c, const char *text);

/* Web Mercator box of a WGS 84 box (latitudes clamped). */
void pdb_srv_lonlat_to_merc_box(const double lonlat[4], double merc[4]);

#endif
