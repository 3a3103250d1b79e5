/*
 * output.h: what output.c, verify.c and manifest.c share about the file
 * being written. Private to pdb-synth.
 */
#ifndef SYNTH_OUTPUT_H
#define SYNTH_OUTPUT_H

#include "synth.h"

#include <ogr_api.h>
#include <ogr_srs_api.h>

/* What a reader finds in the written file (verify.c). */
typedef struct synth_readback {
    size_t features;             /* features in the layer(s) */
    size_t null_geom;            /* features without geometry */
    size_t empty_geom;           /* empty geometries */
    size_t points;               /* point features (CAD: the labels) */
    size_t lines;                /* line strings */
    size_t polygons;             /* polygons */
    size_t multipolygons;        /* multipolygons */
    size_t valid;                /* valid (multi)polygons (checked only with verify) */
    size_t invalid_repairable;   /* invalid, MakeValid polygonal within 0.1% */
    size_t invalid_unrepairable; /* invalid, and MakeValid does not do it */
    int checked;                 /* 1 when validity was checked with GEOS */
    int crs_epsg;                /* EPSG the reader identifies; 0 for none */
} synth_readback;

typedef struct output_ctx {
    const synth_options *o;              /* the run's options */
    synth_commune *c;                    /* the commune written */
    const synth_variant *v;              /* this file's variant */
    char path[1024];                     /* main file */
    char layer_name[64];                 /* as created */
    char field_written[FIELD_COUNT][32]; /* names the driver kept, by FIELD_* role */
    int field_index[FIELD_COUNT];        /* their indices in the layer */
    int national_index[5];               /* --national: SoHieuToBanDoCu, SoThuTuThuaCu,
                                            SoHieuGCN, ThoiDiemBatDau, ThoiDiemKetThuc */
    char national_written[5][32];        /* the names the driver kept */
    OGRSpatialReferenceH srs;            /* layer CRS, NULL for none */
    double *wx, *wy;                     /* vertices in WGS 84 lon/lat, or NULL */
    double nudge;                        /* metres added to TM-3 coordinates (DGN) */
    synth_wkb wkb;                       /* scratch */
    size_t lossy_values;                 /* features whose owner or address TCVN3 changes */
    int lossy_this;                      /* the current feature has such a value */
    synth_readback read;                 /* what verify.c found */
    GEOSContextHandle_t geos;            /* the worker's GEOS (sheets.c) */
} output_ctx;

/* The WKB of a parcel as written (ISO, little-endian): kind DEF_NONE for its
 * polygon (MultiPolygon when force_multi or two parts), or one of the
 * geometry defect kinds (null: w->n = 0). */
int output_parcel_wkb(const output_ctx *oc, const synth_parcel *p, int force_multi, int geom_kind,
                      synth_wkb *w);

/* A vertex as written: TM-3 (+ the DGN nudge) or WGS 84. */
void output_vertex(const output_ctx *oc, uint32_t k, double *x, double *y);

/* sheets.c: --sheets lines: draws the commune into the open CAD layer as
 * boundary lines and texts, and writes <file>.sheets.json (ground truth). */
int synth_sheets_draw(output_ctx *oc, OGRLayerH layer, char *err, size_t errlen);

void synth_variant_choose(const synth_options *o, const synth_commune *c, synth_variant *v);

/* verify.c: reads the file back with OGR, counts what a reader sees and
 * checks it against what was made; a mismatch is an error. */
int synth_verify_file(GEOSContextHandle_t geos, output_ctx *oc, char *err, size_t errlen);

/* manifest.c: writes <file>.manifest.json. */
int synth_manifest_write(const output_ctx *oc, char *err, size_t errlen);

#endif
