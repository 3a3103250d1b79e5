/*
 * overview_build.h: building one commune's overviews from its parcels
 * (overview_build.c), with no store: the parcels are read and the shapes
 * written by overview.c, so that communes can be built on several threads
 * while one connection reads and writes.
 */
#ifndef PDB_OVERVIEW_BUILD_H
#define PDB_OVERVIEW_BUILD_H

#include "wkb.h"

/* Zoom bands z0-7, z8-10, z11-13, z14: tiles of a band read its shapes. */
#define PDB__OV_NBANDS 4

/* The band that tiles at zoom read (zooms past the last read the last). */
int pdb__ov_band_of(int zoom);

/* One land-use group of a commune's parcels. */
typedef struct pdb__ov_group {
    char code[16];              /* main land-use code ("" for none) */
    double area_m2;             /* sum of the parcels' computed areas */
    pdb__mpoly_builder parcels; /* the parcels' polygons in WGS 84 */
} pdb__ov_group;

/* One shape built, for a row of the overviews table. */
typedef struct pdb__ov_shape {
    int band;            /* zoom band, 0 (coarsest) .. PDB__OV_NBANDS - 1 */
    int kind;            /* PDB_OVERVIEW_LANDUSE, _COMMUNES (the outline) or _BASE */
    const char *code;    /* land-use code (borrowed from the job's group) */
    double area_m2;      /* the parcels' computed area it stands for */
    double bbox[4];      /* min lon, min lat, max lon, max lat, degrees */
    unsigned char *blob; /* SpatiaLite MULTIPOLYGON BLOB in WGS 84 (owned) */
    size_t len;          /* its bytes */
} pdb__ov_shape;

/* One commune's rebuild: its parcels in, its shapes out. */
typedef struct pdb__ov_job {
    char commune[8];       /* five-digit code */
    pdb__ov_group *groups; /* by main land-use code, in code order */
    size_t ngroups;        /* used */
    size_t capgroups;      /* allocated */
    double lat_sum_deg;    /* sum of one latitude per parcel (pixel sizes depend on it) */
    size_t lat_n;          /* parcels summed there; 0 for a commune without parcels */
    pdb__ov_shape *shapes; /* built, finest band first */
    size_t nshapes;        /* used */
    size_t capshapes;      /* allocated */
    char *fallback;        /* why a fallback was used (the first reason), or NULL */
    pdb_status st;         /* PDB_OK, or why the commune could not be read or built */
    char msg[512];         /* the message that goes with st */
} pdb__ov_job;

/* Starts a group for code at the end of the job's groups; NULL when out
 * of memory (reported in ctx). */
pdb__ov_group *pdb__ov_job_add_group(pdb_ctx *ctx, pdb__ov_job *job, const char *code);

/* Builds the job's shapes from its groups with ctx's GEOS context (one
 * per thread), dissolving, closing the outline's gaps and simplifying to
 * each band. A failure is the commune's own (PDB_EGEOM, PDB_ENOMEM): it is
 * recorded in job->st and job->msg, and returned. Never touches a store. */
pdb_status pdb__ov_build(pdb_ctx *ctx, pdb__ov_job *job);

/* Frees what the job holds and zeroes it; accepts a zeroed job. */
void pdb__ov_job_clear(pdb__ov_job *job);

#endif
