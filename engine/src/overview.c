/*
 * overview.c: overviews, so that no low-zoom tile walks every parcel
 * (Martin's z0 tile over a parcel table passed 200 MB).
 *
 * Per commune and zoom band, the current parcels are dissolved by main
 * land-use code and simplified to the band's pixel size, and the commune's
 * outline is kept beside them. The dissolve is a coverage union (parcels
 * share their edges), with a snap-rounding union as the fallback for
 * surveys whose parcels overlap or leave gaps; coarser bands simplify the
 * finer band's shapes, not the parcels again. In the coarsest band (z0-7,
 * where a commune is a few pixels) a commune is one shape, its outline,
 * in its dominant land use.
 *
 * Building them costs about as much CPU as the rest of a commune's import
 * (docs/rendering.md, "Overviews"), so a commit only marks the commune
 * stale, in its own transaction, and readers draw a stale commune's low
 * zooms from its parcels (a bounded cost: one commune) until
 * pdb_overview_rebuild has run; the import stays fast and no tile is ever
 * older than its data version. Rows are stored as the
 * engine's SpatiaLite BLOBs in WGS 84 with an SQLite R-tree over their
 * boxes.
 */
#include "overview.h"

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
#define NBANDS ((int)PDB_COUNTOF(bands))

enum { KIND_LANDUSE = 1, KIND_OUTLINE = 2 }; /* as PDB_OVERVIEW_* */

/* Gaps between parcels narrower than this many metres (roads, canals
 * left out of the survey) do not split a commune's outline. */
#define CLOSE_GAP_M 30.0
#define CLOSE_GAP_DEG (CLOSE_GAP_M / 2.0 / 111320.0) /* half, on each side */

static int band_of(int zoom)
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

/* Snap-rounding grid of the robust union: about 1 mm, far below what any
 * band draws, so that it changes no picture, and far above the
 * micrometre slivers that make an exact overlay throw. */
#define SNAP_GRID_DEG (0.001 / 111320.0)

/* ------------------------------------------------------------------------ */
/* Rebuilding one commune                                                    */
/* ------------------------------------------------------------------------ */

/* One land-use group while it is built. */
typedef struct group {
    char code[16];       /* main land-use code */
    double area_m2;      /* sum of the parcels' computed areas */
    GEOSGeometry *shape; /* the parcels, then the current band's dissolved shape */
} group;

/* One commune's rebuild: what is read, built and written. */
typedef struct commune_build {
    pdb_ctx *ctx;          /* the caller's context */
    pdb_store *store;      /* the store, inside the caller's transaction */
    const char *commune;   /* five-digit code */
    sqlite3_stmt *ins;     /* INSERT INTO overviews */
    sqlite3_stmt *rt;      /* INSERT INTO overviews_rtree */
    group *groups;         /* by main land-use code, in code order */
    size_t ngroups;        /* used */
    size_t capgroups;      /* allocated */
    double lat_deg;        /* mean latitude of the parcels (pixel sizes depend on it) */
    size_t lat_n;          /* parcels that had a point, 0 for an empty commune */
    double area_m2;        /* sum over the groups */
    GEOSGeometry *outline; /* the commune's outline, or NULL */
    char *fallback;        /* why a fallback was used (first reason), or NULL */
} commune_build;

/* Notes the first reason a fallback was used; the rebuild goes on. */
static void note_fallback(commune_build *cb, const char *what)
{
    if (cb->fallback == NULL && (cb->fallback = malloc(400)) != NULL)
        snprintf(cb->fallback, 400, "%s: %s", what, pdb__geos_said(cb->ctx));
}

static pdb_status store_shape(commune_build *cb, int band, int kind, const char *code,
                              double area_m2, const GEOSGeometry *g, double grid)
{
    pdb_ctx *ctx = cb->ctx;
    sqlite3_stmt *ins = cb->ins, *rt = cb->rt;
    pdb__mpoly_builder b = {0};
    unsigned char *blob = NULL;
    size_t len = 0;
    double bbox[4];
    pdb_status st;
    sqlite3 *db = cb->store->db;

    if ((st = pdb__mpoly_from_geos(ctx, g, grid * grid, &b)) != PDB_OK)
        goto done;
    if (b.mp.nparts == 0)
        goto done; /* it vanished at this band's size */
    pdb__mpoly_bbox(&b.mp, bbox);
    if ((st = pdb__mpoly_to_blob(ctx, &b.mp, PDB_EPSG_WGS84, &blob, &len)) != PDB_OK)
        goto done;
    sqlite3_reset(ins);
    sqlite3_bind_text(ins, 1, cb->commune, -1, SQLITE_STATIC);
    sqlite3_bind_int(ins, 2, band);
    sqlite3_bind_int(ins, 3, kind);
    if (code != NULL)
        sqlite3_bind_text(ins, 4, code, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(ins, 4);
    sqlite3_bind_double(ins, 5, area_m2);
    for (int i = 0; i < 4; i++)
        sqlite3_bind_double(ins, 6 + i, bbox[i]);
    sqlite3_bind_blob64(ins, 10, blob, len, SQLITE_STATIC);
    int rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    if (rc != SQLITE_DONE) {
        st = pdb__sql_fail(ctx, db, rc, "storing an overview");
        goto done;
    }
    sqlite3_reset(rt);
    sqlite3_bind_int64(rt, 1, sqlite3_last_insert_rowid(db));
    sqlite3_bind_double(rt, 2, bbox[0]);
    sqlite3_bind_double(rt, 3, bbox[2]);
    sqlite3_bind_double(rt, 4, bbox[1]);
    sqlite3_bind_double(rt, 5, bbox[3]);
    rc = sqlite3_step(rt);
    sqlite3_reset(rt);
    if (rc != SQLITE_DONE)
        st = pdb__sql_fail(ctx, db, rc, "indexing an overview");
done:
    free(blob);
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
static GEOSGeometry *each_made_valid(commune_build *cb, const GEOSGeometry *coll)
{
    GEOSContextHandle_t h = cb->ctx->geos;
    pdb__geos_list list = {0};
    GEOSGeometry *out = NULL;
    int n = GEOSGetNumGeometries_r(h, coll);
    for (int i = 0; i < n; i++) {
        const GEOSGeometry *part = GEOSGetGeometryN_r(h, coll, i);
        GEOSGeometry *v =
            GEOSisValid_r(h, part) == 1 ? GEOSGeom_clone_r(h, part) : GEOSMakeValid_r(h, part);
        if (v != NULL && pdb__geos_list_push(cb->ctx, &list, v) != PDB_OK)
            break;
    }
    if (pdb__geos_list_collect(cb->ctx, &list, GEOS_GEOMETRYCOLLECTION, &out) != PDB_OK)
        out = NULL;
    pdb__geos_list_clear(cb->ctx, &list);
    return out;
}

/* Dissolves a collection of polygons (a group's parcels, or the groups
 * into the outline); never fails on valid parcels. First a coverage union
 * (the parcels of a survey share their edges exactly, so only the shared
 * edges have to go, in about linear time); for parcels that overlap or
 * miss each other a little, as real surveys do, the snap-rounding union
 * (robust, several times slower); then the same after making each part
 * valid; and when even that throws, the parts themselves, made valid: not
 * dissolved, heavier to draw, but the same picture. NULL only when GEOS
 * cannot even copy them. Does not consume coll. */
static GEOSGeometry *dissolve(commune_build *cb, const GEOSGeometry *coll, const char *what)
{
    GEOSContextHandle_t h = cb->ctx->geos;
    GEOSGeometry *u = GEOSCoverageUnion_r(h, coll);
    if (valid_area(h, u))
        return u;
    if (u != NULL)
        GEOSGeom_destroy_r(h, u);
    if ((u = robust_union(h, coll)) != NULL)
        return u;
    GEOSGeometry *fixed = each_made_valid(cb, coll);
    if (fixed == NULL)
        return NULL;
    if ((u = robust_union(h, fixed)) != NULL) {
        GEOSGeom_destroy_r(h, fixed);
        return u;
    }
    note_fallback(cb, what);
    return fixed;
}

/* Simplifies to a grid step: topology-preserving for the finest band (it
 * is drawn at up to z13 and must keep neighbours apart), Douglas-Peucker
 * for the coarser ones (starting from the finer band's shapes). When GEOS
 * throws, the shape is kept as it is (heavier, the same picture). */
static void simplify(commune_build *cb, GEOSGeometry **g, double grid, int finest, const char *what)
{
    GEOSContextHandle_t h = cb->ctx->geos;
    GEOSGeometry *sm =
        finest ? GEOSTopologyPreserveSimplify_r(h, *g, grid) : GEOSSimplify_r(h, *g, grid);
    if (sm == NULL) {
        note_fallback(cb, what);
        return;
    }
    GEOSGeom_destroy_r(h, *g);
    *g = sm;
}

/* Runs one statement with a commune bound to ?1 and the time to ?2, and a
 * text to ?3 when the statement has it. */
static pdb_status commune_exec(pdb_ctx *ctx, pdb_store *s, const char *sql, const char *commune,
                               const char *text, const char *what)
{
    sqlite3_stmt *stmt = NULL;
    char now[32];
    pdb__now_iso(now);
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        int nparams = sqlite3_bind_parameter_count(stmt);
        sqlite3_bind_text(stmt, 1, commune, -1, SQLITE_STATIC);
        if (nparams >= 2)
            sqlite3_bind_text(stmt, 2, now, -1, SQLITE_TRANSIENT);
        if (nparams >= 3)
            sqlite3_bind_text(stmt, 3, text, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, s->db, rc, what);
    return PDB_OK;
}

pdb_status pdb__overview_mark_stale(pdb_ctx *ctx, pdb_store *s, const char *commune)
{
    pdb_status st = commune_exec(ctx, s,
                                 "INSERT INTO overviews_stale (commune, since) VALUES (?1, ?2) "
                                 "ON CONFLICT(commune) DO NOTHING",
                                 commune, NULL, "marking the commune's overviews stale");
    /* New data, new chance: a commune whose rebuild failed is tried again
     * once it is imported again (see pdb_overview_rebuild). */
    if (st == PDB_OK)
        st = commune_exec(ctx, s, "DELETE FROM overview_problems WHERE commune = ?1", commune, NULL,
                          "clearing the commune's overview problem");
    return st;
}

/* Old rows go first: a commune without parcels keeps no overviews. */
static pdb_status clear_commune(commune_build *cb)
{
    pdb_status st = commune_exec(cb->ctx, cb->store,
                                 "DELETE FROM overviews_rtree WHERE id IN (SELECT id FROM "
                                 "overviews WHERE commune = ?1)",
                                 cb->commune, NULL, "clearing the commune's overviews");
    if (st == PDB_OK)
        st = commune_exec(cb->ctx, cb->store, "DELETE FROM overviews WHERE commune = ?1",
                          cb->commune, NULL, "clearing the commune's overviews");
    return st;
}

/* Starts a new group for code, closing the previous one's parcels (polys)
 * into its shape. */
static pdb_status next_group(commune_build *cb, const char *code, pdb__geos_list *polys)
{
    pdb_status st;
    if (cb->ngroups > 0 && polys->count > 0 &&
        (st = pdb__geos_list_collect(cb->ctx, polys, GEOS_GEOMETRYCOLLECTION,
                                     &cb->groups[cb->ngroups - 1].shape)) != PDB_OK)
        return st;
    if (code == NULL)
        return PDB_OK;
    if (cb->ngroups == cb->capgroups) {
        size_t ncap = cb->capgroups ? cb->capgroups * 2 : 32;
        group *g = realloc(cb->groups, ncap * sizeof *g);
        if (g == NULL)
            return pdb__fail(cb->ctx, PDB_ENOMEM, "out of memory building overviews");
        cb->groups = g;
        cb->capgroups = ncap;
    }
    group *g = &cb->groups[cb->ngroups++];
    memset(g, 0, sizeof *g);
    snprintf(g->code, sizeof g->code, "%s", code);
    return PDB_OK;
}

/* Reads the commune's current parcels into groups by main land use
 * (they come ordered by code), and their mean latitude. */
static pdb_status read_groups(commune_build *cb)
{
    pdb_ctx *ctx = cb->ctx;
    sqlite3_stmt *sel = NULL;
    pdb__geos_list polys = {0};
    pdb_status st = PDB_OK;
    double lat_sum = 0;

    int rc = sqlite3_prepare_v2(cb->store->db,
                                "SELECT landuse_main, area_computed_m2, geom FROM parcels WHERE "
                                "commune = ?1 AND valid_to IS NULL ORDER BY landuse_main, id",
                                -1, &sel, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(ctx, cb->store->db, rc, "reading the commune's parcels");
    sqlite3_bind_text(sel, 1, cb->commune, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(sel, 0);
        code = code ? code : "";
        if ((cb->ngroups == 0 || strncmp(cb->groups[cb->ngroups - 1].code, code, 15) != 0) &&
            (st = next_group(cb, code, &polys)) != PDB_OK)
            goto done;
        cb->groups[cb->ngroups - 1].area_m2 += sqlite3_column_double(sel, 1);
        pdb__mpoly mp;
        if ((st = pdb__blob_parse(ctx, sqlite3_column_blob(sel, 2),
                                  (size_t)sqlite3_column_bytes(sel, 2), &mp)) != PDB_OK)
            goto done;
        if (mp.npoints > 0) {
            lat_sum += mp.xy[1];
            cb->lat_n++;
        }
        st = pdb__mpoly_to_geos_polys(ctx, &mp, &polys);
        pdb__mpoly_free(&mp);
        if (st != PDB_OK)
            goto done;
    }
    if (rc != SQLITE_DONE) {
        st = pdb__sql_fail(ctx, cb->store->db, rc, "reading the commune's parcels");
        goto done;
    }
    st = next_group(cb, NULL, &polys);
    if (cb->lat_n > 0)
        cb->lat_deg = lat_sum / (double)cb->lat_n;
done:
    pdb__geos_list_clear(ctx, &polys);
    sqlite3_finalize(sel);
    return st;
}

/* Dissolves each group (its shape becomes the finest band's, before
 * simplification) and the commune's outline from them. */
static pdb_status dissolve_groups(commune_build *cb)
{
    pdb_ctx *ctx = cb->ctx;
    GEOSContextHandle_t h = ctx->geos;
    pdb__geos_list raw = {0};
    GEOSGeometry *all = NULL;
    char what[64];
    pdb_status st = PDB_OK;

    for (size_t i = 0; i < cb->ngroups; i++) {
        group *g = &cb->groups[i];
        cb->area_m2 += g->area_m2;
        if (g->shape == NULL)
            continue;
        snprintf(what, sizeof what, "dissolving land use %s", g->code);
        GEOSGeometry *d = dissolve(cb, g->shape, what);
        if (d == NULL) {
            st = pdb__fail(ctx, PDB_EGEOM, "%s of commune %s: %s", what, cb->commune,
                           pdb__geos_said(ctx));
            goto done;
        }
        GEOSGeom_destroy_r(h, g->shape);
        g->shape = d;
        GEOSGeometry *copy = GEOSGeom_clone_r(h, d);
        if (copy == NULL || (st = pdb__geos_list_push(ctx, &raw, copy)) != PDB_OK) {
            st = copy == NULL ? pdb__fail(ctx, PDB_EGEOM, "GEOS: %s", pdb__geos_said(ctx)) : st;
            goto done;
        }
    }
    if (raw.count == 0)
        goto done;
    if ((st = pdb__geos_list_collect(ctx, &raw, GEOS_GEOMETRYCOLLECTION, &all)) != PDB_OK)
        goto done;
    if ((cb->outline = dissolve(cb, all, "dissolving the outline")) == NULL)
        st = pdb__fail(ctx, PDB_EGEOM, "the outline of commune %s: %s", cb->commune,
                       pdb__geos_said(ctx));
done:
    if (all != NULL)
        GEOSGeom_destroy_r(h, all);
    pdb__geos_list_clear(ctx, &raw);
    return st;
}

/* Roads and canals are often left out of a survey: closes gaps up to
 * CLOSE_GAP_M wide in the outline, so that the commune has one boundary,
 * not one around every block. Keeps the outline as it is when GEOS
 * throws. */
static void close_gaps(commune_build *cb)
{
    GEOSContextHandle_t h = cb->ctx->geos;
    double grid = band_grid_deg(NBANDS - 1, cb->lat_deg);
    GEOSGeometry *coarse = GEOSSimplify_r(h, cb->outline, grid);
    GEOSGeometry *grown = coarse ? GEOSBuffer_r(h, coarse, CLOSE_GAP_DEG, 2) : NULL;
    GEOSGeometry *closed = grown ? GEOSBuffer_r(h, grown, -CLOSE_GAP_DEG, 2) : NULL;
    if (coarse != NULL)
        GEOSGeom_destroy_r(h, coarse);
    if (grown != NULL)
        GEOSGeom_destroy_r(h, grown);
    if (closed == NULL) {
        note_fallback(cb, "closing the outline's gaps");
        return;
    }
    GEOSGeom_destroy_r(h, cb->outline);
    cb->outline = closed;
}

/* The group with the largest area: the coarsest band's colour. */
static const group *dominant_group(const commune_build *cb)
{
    size_t top = 0;
    for (size_t i = 1; i < cb->ngroups; i++)
        if (cb->groups[i].area_m2 > cb->groups[top].area_m2)
            top = i;
    return &cb->groups[top];
}

/* Writes every band, finest first: each coarser band simplifies the band
 * below it. */
static pdb_status store_bands(commune_build *cb)
{
    pdb_status st = PDB_OK;
    for (int b = NBANDS - 1; b >= 0 && st == PDB_OK; b--) {
        double grid = band_grid_deg(b, cb->lat_deg);
        for (size_t i = 0; i < cb->ngroups && st == PDB_OK; i++) {
            group *g = &cb->groups[i];
            /* The coarsest band is a mosaic: a commune is a few pixels,
             * its land-use patches less than one; it is drawn whole in
             * its dominant land use (below, with the outline). */
            if (g->shape == NULL || b == 0)
                continue;
            simplify(cb, &g->shape, grid, b == NBANDS - 1, "simplifying land use");
            st = store_shape(cb, b, KIND_LANDUSE, g->code, g->area_m2, g->shape, grid);
        }
        if (st != PDB_OK || cb->outline == NULL)
            continue;
        simplify(cb, &cb->outline, grid, b == NBANDS - 1, "simplifying the outline");
        st = store_shape(cb, b, KIND_OUTLINE, NULL, cb->area_m2, cb->outline, grid);
        if (st == PDB_OK && b == 0 && cb->ngroups > 0)
            st = store_shape(cb, b, KIND_LANDUSE, dominant_group(cb)->code, cb->area_m2,
                             cb->outline, grid / 4);
    }
    return st;
}

static void commune_build_clear(commune_build *cb)
{
    GEOSContextHandle_t h = cb->ctx->geos;
    for (size_t i = 0; i < cb->ngroups; i++)
        if (cb->groups[i].shape != NULL)
            GEOSGeom_destroy_r(h, cb->groups[i].shape);
    free(cb->groups);
    if (cb->outline != NULL)
        GEOSGeom_destroy_r(h, cb->outline);
    free(cb->fallback);
    sqlite3_finalize(cb->ins);
    sqlite3_finalize(cb->rt);
}

pdb_status pdb__overview_rebuild(pdb_ctx *ctx, pdb_store *s, const char *commune, char **fallback)
{
    commune_build cb = {.ctx = ctx, .store = s, .commune = commune};
    pdb_status st;

    *fallback = NULL;
    ctx->geos_msg[0] = '\0';
    int rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO overviews (commune, band, kind, landuse_main, "
                                "area_m2, min_lon, min_lat, max_lon, max_lat, geom) VALUES "
                                "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                                -1, &cb.ins, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db, "INSERT INTO overviews_rtree VALUES (?1, ?2, ?3, ?4, ?5)",
                                -1, &cb.rt, NULL);
    if (rc != SQLITE_OK) {
        st = pdb__sql_fail(ctx, s->db, rc, "preparing the overviews");
        goto done;
    }
    if ((st = clear_commune(&cb)) != PDB_OK || (st = read_groups(&cb)) != PDB_OK)
        goto done;
    if (cb.lat_n > 0) {
        if ((st = dissolve_groups(&cb)) != PDB_OK)
            goto done;
        if (cb.outline != NULL)
            close_gaps(&cb);
        if ((st = store_bands(&cb)) != PDB_OK)
            goto done;
    }
    st = commune_exec(ctx, s, "DELETE FROM overviews_stale WHERE commune = ?1", commune, NULL,
                      "clearing the stale mark");
    if (st == PDB_OK) {
        *fallback = cb.fallback;
        cb.fallback = NULL;
    }
done:
    commune_build_clear(&cb);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}

/* Store failures end the whole rebuild (and roll it back); anything else
 * is the commune's own data, and stays confined to it. */
static int store_failure(pdb_status st)
{
    return st == PDB_ESTORE || st == PDB_EIO || st == PDB_EBUSY || st == PDB_ECORRUPT ||
           st == PDB_EREADONLY;
}

/* Rebuilds one commune inside its own savepoint, so that a commune that
 * fails leaves its old state (stale, drawn from its parcels) and the rest
 * of the run goes on. Records the outcome in overview_problems. */
static pdb_status rebuild_one(pdb_ctx *ctx, pdb_store *s, const char *commune,
                              pdb_overview_report *rep)
{
    char *fallback = NULL;
    pdb_status st;

    if ((st = pdb__store_exec(ctx, s, "SAVEPOINT overview_commune")) != PDB_OK)
        return st;
    st = pdb__overview_rebuild(ctx, s, commune, &fallback);
    if (st == PDB_OK) {
        if (fallback != NULL) {
            rep->fallback++;
            st = commune_exec(ctx, s,
                              "INSERT OR REPLACE INTO overview_problems (commune, state, since, "
                              "reason) VALUES (?1, 'fallback', ?2, ?3)",
                              commune, fallback, "recording the overviews' fallback");
        } else {
            st = commune_exec(ctx, s, "DELETE FROM overview_problems WHERE commune = ?1", commune,
                              NULL, "clearing the commune's overview problem");
        }
        free(fallback);
        if (st == PDB_OK)
            st = pdb__commune_stamp(ctx, s, commune);
        if (st == PDB_OK) {
            rep->rebuilt++;
            return pdb__store_exec(ctx, s, "RELEASE overview_commune");
        }
        return st;
    }
    if (store_failure(st))
        return st;
    char reason[512];
    snprintf(reason, sizeof reason, "%s", pdb_errmsg(ctx));
    if ((st = pdb__store_exec(ctx, s, "ROLLBACK TO overview_commune")) != PDB_OK ||
        (st = pdb__store_exec(ctx, s, "RELEASE overview_commune")) != PDB_OK)
        return st;
    if (rep->failed++ == 0)
        snprintf(rep->first_failure, sizeof rep->first_failure, "commune %s: %s", commune, reason);
    st = commune_exec(ctx, s,
                      "INSERT OR REPLACE INTO overview_problems (commune, state, since, reason) "
                      "VALUES (?1, 'failed', ?2, ?3)",
                      commune, reason, "recording the overviews' failure");
    /* A state change too: readers of the states (metrics) must see it. */
    return st == PDB_OK ? pdb__commune_stamp(ctx, s, commune) : st;
}

/* The communes a rebuild covers. NULL: those that need it: stale ones, and
 * those with parcels and no overviews of the finest band (imported before
 * overviews existed, or before that band did), but not those whose last
 * rebuild failed on the same data (they wait for a new import of theirs,
 * or a rebuild by name). */
static const char communes_sql[] =
    "SELECT code FROM communes WHERE code = ?1 "
    "UNION SELECT commune FROM overviews_stale WHERE commune = ?1 "
    "UNION SELECT DISTINCT commune FROM overviews WHERE commune = ?1 "
    "UNION SELECT * FROM (SELECT code FROM communes WHERE parcels > 0 AND NOT EXISTS "
    "(SELECT 1 FROM overviews WHERE commune = code AND band = ?2) UNION SELECT commune FROM "
    "overviews_stale) WHERE ?1 IS NULL AND code NOT IN (SELECT commune FROM overview_problems "
    "WHERE state = 'failed') ORDER BY 1";

/* The codes first: rebuilding writes the tables the query reads. */
static pdb_status list_communes(pdb_ctx *ctx, pdb_store *s, const char *commune, char (**codes)[8],
                                size_t *found)
{
    sqlite3_stmt *stmt = NULL;
    size_t cap = 0;
    pdb_status st = PDB_OK;

    *codes = NULL;
    *found = 0;
    int rc = sqlite3_prepare_v2(s->db, communes_sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        if (commune != NULL)
            sqlite3_bind_text(stmt, 1, commune, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 2, NBANDS - 1);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            if (*found == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                char(*p)[8] = realloc(*codes, ncap * sizeof **codes);
                if (p == NULL) {
                    st = pdb__fail(ctx, PDB_ENOMEM, "out of memory listing communes");
                    goto done;
                }
                *codes = p;
                cap = ncap;
            }
            snprintf((*codes)[(*found)++], sizeof **codes, "%s",
                     (const char *)sqlite3_column_text(stmt, 0));
        }
    }
    if (rc != SQLITE_DONE)
        st = pdb__sql_fail(ctx, s->db, rc, "listing communes");
done:
    sqlite3_finalize(stmt);
    if (st != PDB_OK) {
        free(*codes);
        *codes = NULL;
        *found = 0;
    }
    return st;
}

pdb_status pdb_overview_rebuild_report(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                       pdb_overview_report *rep)
{
    pdb_overview_report local;
    char(*codes)[8] = NULL;
    size_t found = 0;
    pdb_status st;

    if (rep == NULL)
        rep = &local;
    memset(rep, 0, sizeof *rep);
    if (s->readonly)
        return pdb__fail(ctx, PDB_EREADONLY, "the store was opened read-only");
    if (s->writing)
        return pdb__fail(ctx, PDB_EINVAL, "a commune's load is open on this store handle");
    if ((st = pdb__store_exec(ctx, s, "BEGIN IMMEDIATE")) != PDB_OK)
        return st;
    if ((st = list_communes(ctx, s, commune, &codes, &found)) != PDB_OK)
        goto fail;
    if (commune != NULL && found == 0) {
        st = pdb__fail(ctx, PDB_ENOTFOUND, "no commune %s in the store", commune);
        goto fail;
    }
    for (size_t i = 0; i < found; i++)
        if ((st = rebuild_one(ctx, s, codes[i], rep)) != PDB_OK)
            goto fail;
    /* A new data version when a commune's overviews changed (rebuilt, or
     * failed: a state change), the one they were stamped with, so that
     * caches drop the tiles drawn from parcels meanwhile. */
    if ((rep->rebuilt + rep->failed > 0 &&
         (st = pdb__store_exec(ctx, s,
                               "UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                               "WHERE key = 'data_version'")) != PDB_OK) ||
        (st = pdb__store_exec(ctx, s, "COMMIT")) != PDB_OK)
        goto fail;
    free(codes);
    /* A commune asked for by name that failed is the caller's answer. */
    if (commune != NULL && rep->failed > 0)
        return pdb__fail(ctx, PDB_EGEOM, "%s", rep->first_failure);
    return pdb__ok(ctx);
fail:
    free(codes);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    memset(rep, 0, sizeof *rep);
    return st;
}

pdb_status pdb_overview_rebuild(pdb_ctx *ctx, pdb_store *s, const char *commune, size_t *rebuilt)
{
    pdb_overview_report rep;
    pdb_status st = pdb_overview_rebuild_report(ctx, s, commune, &rep);
    if (rebuilt != NULL)
        *rebuilt = rep.rebuilt;
    return st;
}

/* Whether the store has a table (a store opened read-only may predate the
 * overview tables: they are made at the first read-write open). */
static int has_table(pdb_store *s, const char *name)
{
    sqlite3_stmt *stmt = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                           -1, &stmt, NULL) == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
        found = sqlite3_step(stmt) == SQLITE_ROW;
    }
    sqlite3_finalize(stmt);
    return found;
}

/* Failed first: a failed commune is also stale, and failure is the news. */
static const char states_sql[] =
    "SELECT c.code, CASE WHEN f.state = 'failed' THEN 2 WHEN st.commune IS NOT NULL OR "
    "(c.parcels > 0 AND NOT EXISTS (SELECT 1 FROM overviews o WHERE o.commune = c.code AND "
    "o.band = ?1)) THEN 1 WHEN f.state = 'fallback' THEN 3 ELSE 0 END, f.reason, "
    "coalesce(f.since, st.since, '') FROM communes c LEFT JOIN %s f ON f.commune = c.code "
    "LEFT JOIN overviews_stale st ON st.commune = c.code ORDER BY c.code";

pdb_status pdb__overview_states(pdb_ctx *ctx, pdb_store *s, pdb_commune_list *list)
{
    sqlite3_stmt *stmt = NULL;
    char sql[sizeof states_sql + 128];
    pdb_status st = PDB_OK;
    size_t i = 0;

    if (!has_table(s, "overviews_stale")) { /* made before overviews: none built */
        for (size_t k = 0; k < list->count; k++)
            list->items[k].overview_state =
                list->items[k].parcels > 0 ? PDB_OVERVIEW_STATE_STALE : PDB_OVERVIEW_STATE_FRESH;
        return PDB_OK;
    }
    snprintf(sql, sizeof sql, states_sql,
             has_table(s, "overview_problems")
                 ? "overview_problems"
                 : "(SELECT '' AS commune, '' AS state, '' AS since, '' AS reason WHERE 0)");
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(stmt, 1, NBANDS - 1);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            const char *code = (const char *)sqlite3_column_text(stmt, 0);
            while (i < list->count && strcmp(list->items[i].code, code) < 0)
                i++;
            if (i == list->count || strcmp(list->items[i].code, code) != 0)
                continue; /* a commune that arrived after the list was read */
            pdb_commune *c = &list->items[i];
            const char *reason = (const char *)sqlite3_column_text(stmt, 2);
            c->overview_state = (pdb_overview_state)sqlite3_column_int(stmt, 1);
            snprintf(c->overview_since, sizeof c->overview_since, "%s",
                     (const char *)sqlite3_column_text(stmt, 3));
            if (reason != NULL && (c->overview_reason = pdb__strdup(reason)) == NULL) {
                st = pdb__fail(ctx, PDB_ENOMEM, "out of memory listing communes");
                break;
            }
        }
    }
    if (st == PDB_OK && rc != SQLITE_DONE)
        st = pdb__sql_fail(ctx, s->db, rc, "reading the overviews' states");
    sqlite3_finalize(stmt);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

/* One statement, so that overviews and the parcels of stale communes come
 * from the same snapshot of the store. A commune without shapes in the
 * band (overviews made before the band existed, or a commune too small
 * for it) is answered with its parcels too: a bounded cost, never a hole. */
static const char features_sql[] =
    "SELECT 0, o.commune, NULL, NULL, o.landuse_main, o.landuse_main, o.area_m2, o.geom, 0 "
    "FROM overviews o "
    "WHERE o.id IN (SELECT id FROM overviews_rtree WHERE min_lon <= ?3 AND max_lon >= ?1 "
    "AND min_lat <= ?4 AND max_lat >= ?2) AND o.band = ?5 AND (o.kind & ?6) != 0 "
    "AND o.commune NOT IN (SELECT commune FROM overviews_stale) "
    "UNION ALL "
    "SELECT 0, p.commune, NULL, NULL, p.landuse_main, p.landuse_main, p.area_computed_m2, "
    "p.geom, 1 FROM parcels p "
    "WHERE (?6 & 1) != 0 AND p.valid_to IS NULL AND p.commune IN (SELECT c.code FROM "
    "communes c WHERE c.max_lon >= ?1 AND c.min_lon <= ?3 AND c.max_lat >= ?2 AND "
    "c.min_lat <= ?4 AND c.parcels > 0 AND (c.code IN (SELECT commune FROM overviews_stale) "
    "OR NOT EXISTS (SELECT 1 FROM overviews o2 WHERE o2.commune = c.code AND o2.band = ?5)))";

pdb_status pdb_overview_features(pdb_ctx *ctx, pdb_store *s, int zoom, unsigned kinds,
                                 const double bbox[4], pdb_feature_fn fn, void *arg)
{
    sqlite3_stmt *stmt = NULL;
    pdb_status st = PDB_OK;
    int rc;

    if (!(bbox[0] <= bbox[2] && bbox[1] <= bbox[3]))
        return pdb__fail(ctx, PDB_EINVAL, "bbox minimum is above its maximum");
    if (zoom < 0)
        return pdb__fail(ctx, PDB_EINVAL, "zoom %d is negative", zoom);
    rc = sqlite3_prepare_v3(s->db, features_sql, -1, 0, &stmt, NULL);
    if (rc != SQLITE_OK) {
        if (strstr(sqlite3_errmsg(s->db), "no such table") != NULL)
            return pdb__fail(ctx, PDB_ENOTFOUND,
                             "this store has no overviews (made before them): open it "
                             "read-write once, e.g. 'parceldb render --rebuild-overviews'");
        return pdb__sql_fail(ctx, s->db, rc, "reading overviews");
    }
    for (int i = 0; i < 4; i++)
        sqlite3_bind_double(stmt, i + 1, bbox[i]);
    sqlite3_bind_int(stmt, 5, band_of(zoom));
    sqlite3_bind_int(stmt, 6, (int)kinds);
    /* Dissolved shapes are far over the per-parcel limits, and they come
     * from our own writer, not from outside. */
    pdb_limits saved = ctx->limits;
    ctx->limits.max_vertices_per_parcel = SIZE_MAX / 64;
    ctx->limits.max_parts_per_parcel = SIZE_MAX / 64;
    ctx->limits.max_rings_per_parcel = SIZE_MAX / 64;
    st = pdb__features_emit(ctx, s, stmt, bbox, fn, arg, "reading overviews");
    ctx->limits = saved;
    sqlite3_finalize(stmt);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}
