/*
 * overview_build.c: one commune's overviews, built from its parcels with
 * GEOS and no store (overview.c reads the parcels and writes the shapes;
 * docs/rendering.md, "Overviews").
 *
 * Per zoom band, the parcels are dissolved by main land-use code and
 * simplified to the band's pixel size, and the commune's outline is kept
 * beside them. The dissolve is a coverage union (parcels share their
 * edges; geom_union.c), with a snap-rounding union as the fallback for
 * surveys whose parcels overlap or leave gaps; coarser bands simplify the
 * finer band's shapes, not the parcels again. In the coarsest band (z0-7,
 * where a commune is a few pixels) a commune is one shape, its outline,
 * in its dominant land use. In z8-10 that shape is also kept as a base
 * drawn under the land-use shapes: simplification and the dropping
 * of small parts make a mosaic of small patches (parcels of 70 m whose
 * land use changes parcel by parcel) vanish into a faint smudge with
 * transparent holes, and the base fills them.
 */
#include "overview_build.h"

#include "geom.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Zoom bands: tiles from zmin to zmax read the band's shapes, which are
 * simplified to half a pixel at zmax. Deeper zooms draw parcels; z14 may
 * draw either (the renderer decides by what the style reads). */
static const struct band {
    int zmin, zmax; /* tile zooms served */
} bands[] = {{0, 7}, {8, 10}, {11, 13}, {14, PDB_OVERVIEW_MAX_ZOOM}};
_Static_assert(PDB_COUNTOF(bands) == PDB__OV_NBANDS, "PDB__OV_NBANDS counts the bands");
#define NBANDS PDB__OV_NBANDS

/* Gaps between parcels narrower than this many metres (roads, canals
 * left out of the survey) do not split a commune's outline. */
#define CLOSE_GAP_M 30.0
#define CLOSE_GAP_DEG (CLOSE_GAP_M / 2.0 / 111320.0) /* half, on each side */

/* Snap-rounding grid of the robust union: about 1 mm, far below what any
 * band draws, so that it changes no picture, and far above the
 * micrometre slivers that make an exact overlay throw. */
#define SNAP_GRID_DEG (0.001 / 111320.0)

int pdb__ov_band_of(int zoom)
{
    for (int b = 0; b < NBANDS; b++)
        if (zoom <= bands[b].zmax)
            return b;
    return NBANDS - 1;
}

/* Half a pixel at the band's deepest zoom, in degrees of latitude near
 * lat_deg (a Web Mercator pixel is cos(lat) times narrower in latitude
 * than in longitude). */
static double band_grid_deg(int b, double lat_deg)
{
    double px_lon = 360.0 / (256.0 * ldexp(1.0, bands[b].zmax));
    return 0.5 * px_lon * cos(lat_deg * M_PI / 180.0);
}

/* One commune's build: the job, and the GEOS shapes while they are made. */
typedef struct build {
    pdb_ctx *ctx;          /* this thread's context */
    pdb__ov_job *job;      /* what is read and what is built */
    GEOSGeometry **shapes; /* per group: its dissolved, then simplified, shape, or NULL */
    GEOSGeometry *outline; /* the commune's outline, or NULL */
    double lat_deg;        /* mean latitude of the parcels */
    double area_m2;        /* sum over the groups */
} build;

/* Notes the first reason a fallback was used; the rebuild goes on. */
static void note_fallback(build *bd, const char *what)
{
    pdb__ov_job *job = bd->job;
    if (job->fallback == NULL && (job->fallback = malloc(400)) != NULL)
        snprintf(job->fallback, 400, "%s: %s", what, pdb__geos_said(bd->ctx));
}

pdb__ov_group *pdb__ov_job_add_group(pdb_ctx *ctx, pdb__ov_job *job, const char *code)
{
    if (job->ngroups == job->capgroups) {
        size_t ncap = job->capgroups ? job->capgroups * 2 : 32;
        pdb__ov_group *g = realloc(job->groups, ncap * sizeof *g);
        if (g == NULL) {
            pdb__fail(ctx, PDB_ENOMEM, "out of memory building overviews");
            return NULL;
        }
        job->groups = g;
        job->capgroups = ncap;
    }
    pdb__ov_group *g = &job->groups[job->ngroups++];
    memset(g, 0, sizeof *g);
    snprintf(g->code, sizeof g->code, "%s", code);
    return g;
}

void pdb__ov_job_clear(pdb__ov_job *job)
{
    for (size_t i = 0; i < job->ngroups; i++)
        pdb__mpoly_free(&job->groups[i].parcels.mp);
    free(job->groups);
    for (size_t i = 0; i < job->nshapes; i++)
        free(job->shapes[i].blob);
    free(job->shapes);
    free(job->fallback);
    memset(job, 0, sizeof *job);
}

/* Adds g, simplified to grid (parts smaller than a grid cell dropped), to
 * the job's shapes. */
static pdb_status add_shape(build *bd, int band, int kind, const char *code, double area_m2,
                            const GEOSGeometry *g, double grid)
{
    pdb_ctx *ctx = bd->ctx;
    pdb__ov_job *job = bd->job;
    pdb__mpoly_builder b = {0};
    pdb_status st;

    if ((st = pdb__mpoly_from_geos(ctx, g, grid * grid, &b)) != PDB_OK || b.mp.nparts == 0)
        goto done; /* a failure, or it vanished at this band's size */
    if (job->nshapes == job->capshapes) {
        size_t ncap = job->capshapes ? job->capshapes * 2 : 64;
        pdb__ov_shape *p = realloc(job->shapes, ncap * sizeof *p);
        if (p == NULL) {
            st = pdb__fail(ctx, PDB_ENOMEM, "out of memory building overviews");
            goto done;
        }
        job->shapes = p;
        job->capshapes = ncap;
    }
    pdb__ov_shape *s = &job->shapes[job->nshapes];
    *s = (pdb__ov_shape){.band = band, .kind = kind, .code = code, .area_m2 = area_m2};
    pdb__mpoly_bbox(&b.mp, s->bbox);
    if ((st = pdb__mpoly_to_blob(ctx, &b.mp, PDB_EPSG_WGS84, &s->blob, &s->len)) == PDB_OK)
        job->nshapes++;
done:
    pdb__mpoly_free(&b.mp);
    return st;
}

/* Whether GEOS gave a valid polygonal area (1), or not (0). */
static int valid_area(GEOSContextHandle_t h, const GEOSGeometry *g)
{
    return g != NULL && GEOSisValid_r(h, g) == 1;
}

/* The snap-rounding union on the 1 mm grid, made valid if the rounding
 * left a ring touching itself; NULL when GEOS throws. */
static GEOSGeometry *robust_union(GEOSContextHandle_t h, const GEOSGeometry *coll)
{
    GEOSGeometry *u = GEOSUnaryUnionPrec_r(h, coll, SNAP_GRID_DEG);
    if (u == NULL || GEOSisValid_r(h, u) == 1)
        return u;
    GEOSGeometry *v = GEOSMakeValid_r(h, u);
    GEOSGeom_destroy_r(h, u);
    if (valid_area(h, v))
        return v;
    if (v != NULL)
        GEOSGeom_destroy_r(h, v);
    return NULL;
}

/* Each polygon of coll made valid (parcels stored before the engine
 * validated its WGS 84 geometries may not be), as a new collection. */
static GEOSGeometry *each_made_valid(build *bd, const GEOSGeometry *coll)
{
    GEOSContextHandle_t h = bd->ctx->geos;
    pdb__geos_list list = {0};
    GEOSGeometry *out = NULL;
    int n = GEOSGetNumGeometries_r(h, coll);
    for (int i = 0; i < n; i++) {
        const GEOSGeometry *part = GEOSGetGeometryN_r(h, coll, i);
        GEOSGeometry *v =
            GEOSisValid_r(h, part) == 1 ? GEOSGeom_clone_r(h, part) : GEOSMakeValid_r(h, part);
        if (v != NULL && pdb__geos_list_push(bd->ctx, &list, v) != PDB_OK)
            break;
    }
    if (pdb__geos_list_collect(bd->ctx, &list, GEOS_GEOMETRYCOLLECTION, &out) != PDB_OK)
        out = NULL;
    pdb__geos_list_clear(bd->ctx, &list);
    return out;
}

/* The polygons of mp as one GEOS geometry of the given type; NULL when
 * GEOS or memory fails. */
static GEOSGeometry *to_geos(pdb_ctx *ctx, const pdb__mpoly *mp, int type)
{
    pdb__geos_list list = {0};
    GEOSGeometry *out = NULL;
    if (pdb__mpoly_to_geos_polys(ctx, mp, &list) != PDB_OK ||
        pdb__geos_list_collect(ctx, &list, type, &out) != PDB_OK)
        out = NULL;
    pdb__geos_list_clear(ctx, &list);
    return out;
}

/* Dissolves polygons (a group's parcels, or the groups into the outline);
 * never fails on valid parcels. First the coverage union (the parcels of
 * a survey share their edges exactly, so only the shared edges have to
 * go), validated; for parcels that overlap or miss each other a little, as
 * real surveys do, the snap-rounding union (robust, several times slower);
 * then the same after making each part valid; and when even that throws,
 * the parts themselves, made valid: not dissolved, heavier to draw, but
 * the same picture. NULL only when GEOS cannot even copy them. */
static GEOSGeometry *dissolve(build *bd, const pdb__mpoly *mp, const char *what)
{
    pdb_ctx *ctx = bd->ctx;
    GEOSContextHandle_t h = ctx->geos;
    pdb__mpoly_builder cov = {0};
    GEOSGeometry *u = NULL;

    if (pdb__coverage_union(ctx, mp, &cov) == PDB_OK && cov.mp.nparts > 0)
        u = to_geos(ctx, &cov.mp, GEOS_MULTIPOLYGON);
    pdb__mpoly_free(&cov.mp);
    if (valid_area(h, u))
        return u;
    if (u != NULL)
        GEOSGeom_destroy_r(h, u);
    GEOSGeometry *coll = to_geos(ctx, mp, GEOS_GEOMETRYCOLLECTION);
    if (coll == NULL)
        return NULL;
    if ((u = robust_union(h, coll)) != NULL)
        goto done;
    GEOSGeometry *fixed = each_made_valid(bd, coll);
    if (fixed == NULL)
        goto done;
    if ((u = robust_union(h, fixed)) != NULL) {
        GEOSGeom_destroy_r(h, fixed);
        goto done;
    }
    note_fallback(bd, what);
    u = fixed;
done:
    GEOSGeom_destroy_r(h, coll);
    return u;
}

/* Simplifies to a grid step: topology-preserving for the finest band (it
 * is drawn at up to z13 and must keep neighbours apart), Douglas-Peucker
 * for the coarser ones (starting from the finer band's shapes). When GEOS
 * throws, the shape is kept as it is (heavier, the same picture). */
static void simplify(build *bd, GEOSGeometry **g, double grid, int finest, const char *what)
{
    GEOSContextHandle_t h = bd->ctx->geos;
    GEOSGeometry *sm =
        finest ? GEOSTopologyPreserveSimplify_r(h, *g, grid) : GEOSSimplify_r(h, *g, grid);
    if (sm == NULL) {
        note_fallback(bd, what);
        return;
    }
    GEOSGeom_destroy_r(h, *g);
    *g = sm;
}

/* Dissolves each group (its shape becomes the finest band's, before
 * simplification) and the commune's outline from them. */
static pdb_status dissolve_groups(build *bd)
{
    pdb_ctx *ctx = bd->ctx;
    pdb__ov_job *job = bd->job;
    pdb__mpoly_builder all = {0};
    char what[64];
    pdb_status st = PDB_OK;

    for (size_t i = 0; i < job->ngroups; i++) {
        pdb__ov_group *g = &job->groups[i];
        bd->area_m2 += g->area_m2;
        if (g->parcels.mp.nparts == 0)
            continue;
        snprintf(what, sizeof what, "dissolving land use %s", g->code);
        if ((bd->shapes[i] = dissolve(bd, &g->parcels.mp, what)) == NULL) {
            st = pdb__fail(ctx, PDB_EGEOM, "%s of commune %s: %s", what, job->commune,
                           pdb__geos_said(ctx));
            goto done;
        }
        /* The groups' shapes, in the form the outline's union reads. */
        if ((st = pdb__mpoly_from_geos(ctx, bd->shapes[i], 0.0, &all)) != PDB_OK)
            goto done;
    }
    if (all.mp.nparts > 0 &&
        (bd->outline = dissolve(bd, &all.mp, "dissolving the outline")) == NULL)
        st = pdb__fail(ctx, PDB_EGEOM, "the outline of commune %s: %s", job->commune,
                       pdb__geos_said(ctx));
done:
    pdb__mpoly_free(&all.mp);
    return st;
}

/* Roads and canals are often left out of a survey: closes gaps up to
 * CLOSE_GAP_M wide in the outline, so that the commune has one boundary,
 * not one around every block. Keeps the outline as it is when GEOS
 * throws. */
static void close_gaps(build *bd)
{
    GEOSContextHandle_t h = bd->ctx->geos;
    double grid = band_grid_deg(NBANDS - 1, bd->lat_deg);
    GEOSGeometry *coarse = GEOSSimplify_r(h, bd->outline, grid);
    GEOSGeometry *grown = coarse ? GEOSBuffer_r(h, coarse, CLOSE_GAP_DEG, 2) : NULL;
    GEOSGeometry *closed = grown ? GEOSBuffer_r(h, grown, -CLOSE_GAP_DEG, 2) : NULL;
    if (coarse != NULL)
        GEOSGeom_destroy_r(h, coarse);
    if (grown != NULL)
        GEOSGeom_destroy_r(h, grown);
    if (closed == NULL) {
        note_fallback(bd, "closing the outline's gaps");
        return;
    }
    GEOSGeom_destroy_r(h, bd->outline);
    bd->outline = closed;
}

/* The group with the largest area: the coarsest band's colour. */
static const pdb__ov_group *dominant_group(const pdb__ov_job *job)
{
    size_t top = 0;
    for (size_t i = 1; i < job->ngroups; i++)
        if (job->groups[i].area_m2 > job->groups[top].area_m2)
            top = i;
    return &job->groups[top];
}

/* The band's base (PDB_OVERVIEW_BASE), written before its land-use
 * shapes: the commune in its dominant land use, drawn under them.
 *
 * The dominant land use, not a neutral "mixed" colour: the base shows
 * where patches smaller than a pixel vanished, so it is what most of the
 * commune is, as the z0-7 band draws it; a style knows its land-use codes
 * and has no neutral one to give.
 *
 * Grown by a grid step (half a pixel at the band's deepest zoom) beyond
 * the parcels: two neighbouring communes' antialiased edges on one line
 * leave the pixels along it a quarter transparent (each covers about half
 * of them), and each commune is simplified on its own, so their edges do
 * not even meet. Overlapping by half a pixel on each side, one of the two
 * covers every such pixel whole. The price is a rim of half a pixel to a
 * pixel around the surveyed land, in the base's colour.
 *
 * Only z8-10 has one. It takes the outline with its gaps closed, as
 * simplified for z11-13 (roads of up to 30 m are a fifth of a z10 pixel:
 * a filled road reads better than a faint line). A z11-13 base, the
 * parcels' union, grown or not, drew at z12 up to 3.3-3.7 points more of a
 * tile than MapServer draws from the parcels (bench/render, session 29:
 * roads and gaps of a z13 pixel filled), beyond the benchmark's
 * tolerance; at z11-13 the patches, simplified to half a z13 pixel
 * (9 m), keep parcels of 70 m, and what is left are the antialiased
 * seams between them, as before bases. z14 has none either: parcels of a
 * few metres survive its simplification, and it must draw what the
 * parcels draw. */
static pdb_status add_base(build *bd, int b, double grid)
{
    GEOSContextHandle_t h = bd->ctx->geos;
    pdb__ov_job *job = bd->job;
    const GEOSGeometry *src = bd->outline;
    if (src == NULL || job->ngroups == 0)
        return PDB_OK;
    /* z8-10: simplified by a quarter step (the parcels' union has every vertex
     * of the commune's edge: buffering it whole was most of the base's
     * cost), 1.5 steps out, simplified by a quarter step again: at least
     * one step beyond the parcels everywhere (7/8 in z8-10, whose source
     * is already simplified by an eighth of a step), at most two. */
    GEOSGeometry *thin = GEOSSimplify_r(h, src, 0.25 * grid);
    GEOSGeometry *grown = thin != NULL ? GEOSBuffer_r(h, thin, 1.5 * grid, 2) : NULL;
    GEOSGeometry *base = grown != NULL ? GEOSSimplify_r(h, grown, 0.25 * grid) : NULL;
    if (thin != NULL)
        GEOSGeom_destroy_r(h, thin);
    if (grown != NULL)
        GEOSGeom_destroy_r(h, grown);
    if (base == NULL) {
        note_fallback(bd, "growing the base"); /* no base: the band as before, holes and all */
        return PDB_OK;
    }
    pdb_status st =
        add_shape(bd, b, PDB_OVERVIEW_BASE, dominant_group(job)->code, bd->area_m2, base, grid / 4);
    GEOSGeom_destroy_r(h, base);
    return st;
}

/* Makes every band, finest first: each coarser band simplifies the band
 * below it. */
static pdb_status make_bands(build *bd)
{
    pdb__ov_job *job = bd->job;
    pdb_status st = PDB_OK;
    for (int b = NBANDS - 1; b >= 0 && st == PDB_OK; b--) {
        double grid = band_grid_deg(b, bd->lat_deg);
        /* Before the outline is simplified for the band: the z8-10 base
         * grows the z11-13 outline. */
        if (b == 1)
            st = add_base(bd, b, grid);
        for (size_t i = 0; i < job->ngroups && st == PDB_OK; i++) {
            pdb__ov_group *g = &job->groups[i];
            /* The coarsest band is a mosaic: a commune is a few pixels,
             * its land-use patches less than one; it is drawn whole in
             * its dominant land use (below, with the outline). */
            if (bd->shapes[i] == NULL || b == 0)
                continue;
            simplify(bd, &bd->shapes[i], grid, b == NBANDS - 1, "simplifying land use");
            st = add_shape(bd, b, PDB_OVERVIEW_LANDUSE, g->code, g->area_m2, bd->shapes[i], grid);
        }
        if (st != PDB_OK || bd->outline == NULL)
            continue;
        simplify(bd, &bd->outline, grid, b == NBANDS - 1, "simplifying the outline");
        st = add_shape(bd, b, PDB_OVERVIEW_COMMUNES, NULL, bd->area_m2, bd->outline, grid);
        if (st == PDB_OK && b == 0 && job->ngroups > 0)
            st = add_shape(bd, b, PDB_OVERVIEW_LANDUSE, dominant_group(job)->code, bd->area_m2,
                           bd->outline, grid / 4);
    }
    return st;
}

pdb_status pdb__ov_build(pdb_ctx *ctx, pdb__ov_job *job)
{
    build bd = {.ctx = ctx, .job = job};
    pdb_status st = PDB_OK;

    ctx->geos_msg[0] = '\0';
    if (job->lat_n == 0)
        goto done; /* no parcels: no overviews */
    bd.lat_deg = job->lat_sum_deg / (double)job->lat_n;
    if ((bd.shapes = calloc(job->ngroups, sizeof *bd.shapes)) == NULL) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory building overviews");
        goto done;
    }
    if ((st = dissolve_groups(&bd)) != PDB_OK)
        goto done;
    if (bd.outline != NULL)
        close_gaps(&bd);
    st = make_bands(&bd);
done:
    for (size_t i = 0; bd.shapes != NULL && i < job->ngroups; i++)
        if (bd.shapes[i] != NULL)
            GEOSGeom_destroy_r(ctx->geos, bd.shapes[i]);
    free(bd.shapes);
    if (bd.outline != NULL)
        GEOSGeom_destroy_r(ctx->geos, bd.outline);
    job->st = st;
    if (st != PDB_OK)
        snprintf(job->msg, sizeof job->msg, "%s", pdb_errmsg(ctx));
    return st;
}
