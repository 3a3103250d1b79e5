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

#include "wkb.h"

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

static const char *geos_said(const pdb_ctx *ctx)
{
    return ctx->geos_msg[0] != '\0' ? ctx->geos_msg : "no detail";
}

/* ------------------------------------------------------------------------ */
/* pdb__mpoly <-> GEOS                                                       */
/* ------------------------------------------------------------------------ */

static GEOSGeometry *ring_to_geos(GEOSContextHandle_t h, const pdb__mpoly *mp, size_t r)
{
    size_t i0 = mp->ring_point[r], n = mp->ring_point[r + 1] - i0;
    if (n < 4)
        return NULL;
    GEOSCoordSequence *seq = GEOSCoordSeq_copyFromBuffer_r(h, mp->xy + 2 * i0, (unsigned)n, 0, 0);
    return seq ? GEOSGeom_createLinearRing_r(h, seq) : NULL;
}

/* Appends the polygons of mp to *arr (which grows). Malformed rings are
 * skipped: an overview must never fail an import over one odd parcel. */
static pdb_status mpoly_to_geos(pdb_ctx *ctx, const pdb__mpoly *mp, GEOSGeometry ***arr, size_t *n,
                                size_t *cap)
{
    GEOSContextHandle_t h = ctx->geos;
    for (size_t k = 0; k < mp->nparts; k++) {
        size_t r0 = mp->part_ring[k], r1 = mp->part_ring[k + 1];
        GEOSGeometry *shell = ring_to_geos(h, mp, r0);
        if (shell == NULL)
            continue;
        GEOSGeometry **holes = NULL;
        unsigned nholes = 0;
        if (r1 - r0 > 1 && (holes = malloc((r1 - r0 - 1) * sizeof *holes)) == NULL) {
            GEOSGeom_destroy_r(h, shell);
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory building overviews");
        }
        for (size_t r = r0 + 1; r < r1; r++) {
            GEOSGeometry *hole = ring_to_geos(h, mp, r);
            if (hole != NULL)
                holes[nholes++] = hole;
        }
        GEOSGeometry *poly = GEOSGeom_createPolygon_r(h, shell, holes, nholes);
        free(holes);
        if (poly == NULL)
            return pdb__fail(ctx, PDB_EGEOM, "GEOS cannot build a polygon: %s", geos_said(ctx));
        if (*n == *cap) {
            size_t ncap = *cap ? *cap * 2 : 256;
            GEOSGeometry **p = realloc(*arr, ncap * sizeof *p);
            if (p == NULL) {
                GEOSGeom_destroy_r(h, poly);
                return pdb__fail(ctx, PDB_ENOMEM, "out of memory building overviews");
            }
            *arr = p;
            *cap = ncap;
        }
        (*arr)[(*n)++] = poly;
    }
    return PDB_OK;
}

/* A growing pdb__mpoly. */
typedef struct mp_builder {
    pdb__mpoly mp;     /* what is built */
    size_t cap_parts;  /* capacity of part_ring (minus the sentinel) */
    size_t cap_rings;  /* capacity of ring_point (minus the sentinel) */
    size_t cap_points; /* capacity of xy, in points */
} mp_builder;

static int mb_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, (ncap + 1) * elem);
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

static int mb_ring(GEOSContextHandle_t h, mp_builder *b, const GEOSGeometry *ring)
{
    const GEOSCoordSequence *seq = GEOSGeom_getCoordSeq_r(h, ring);
    unsigned n = 0;
    if (seq == NULL || !GEOSCoordSeq_getSize_r(h, seq, &n))
        return -1;
    if (n < 4)
        return 0;
    pdb__mpoly *mp = &b->mp;
    if (mb_grow((void **)&mp->ring_point, &b->cap_rings, mp->nrings + 1, sizeof(size_t)) != 0 ||
        mb_grow((void **)&mp->xy, &b->cap_points, mp->npoints + n, 2 * sizeof(double)) != 0)
        return -1;
    if (!GEOSCoordSeq_copyToBuffer_r(h, seq, mp->xy + 2 * mp->npoints, 0, 0))
        return -1;
    mp->ring_point[mp->nrings] = mp->npoints;
    mp->npoints += n;
    mp->nrings++;
    mp->ring_point[mp->nrings] = mp->npoints;
    return 0;
}

/* Twice the absolute area of ring r. */
static double ring_area2(const pdb__mpoly *mp, size_t r)
{
    size_t i0 = mp->ring_point[r], i1 = mp->ring_point[r + 1];
    const double *xy = mp->xy;
    double s = 0;
    for (size_t i = i0; i + 1 < i1; i++)
        s += (xy[2 * i] - xy[2 * i0]) * (xy[2 * i + 3] - xy[2 * i0 + 1]) -
             (xy[2 * i + 2] - xy[2 * i0]) * (xy[2 * i + 1] - xy[2 * i0 + 1]);
    return fabs(s);
}

/* Appends every polygon of g (any polygonal or mixed geometry) whose
 * exterior is at least min_area2 (twice the area, squared degrees). */
static int mb_add(GEOSContextHandle_t h, mp_builder *b, const GEOSGeometry *g, double min_area2)
{
    int type = GEOSGeomTypeId_r(h, g);
    if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
        int n = GEOSGetNumGeometries_r(h, g);
        for (int i = 0; i < n; i++)
            if (mb_add(h, b, GEOSGetGeometryN_r(h, g, i), min_area2) != 0)
                return -1;
        return 0;
    }
    if (type != GEOS_POLYGON || GEOSisEmpty_r(h, g) == 1)
        return 0;
    pdb__mpoly *mp = &b->mp;
    size_t rings_before = mp->nrings;
    if (mb_grow((void **)&mp->part_ring, &b->cap_parts, mp->nparts + 1, sizeof(size_t)) != 0)
        return -1;
    if (mb_ring(h, b, GEOSGetExteriorRing_r(h, g)) != 0)
        return -1;
    if (mp->nrings == rings_before)
        return 0; /* a collapsed shell: nothing to draw */
    if (ring_area2(mp, rings_before) < min_area2) {
        mp->npoints = mp->ring_point[rings_before]; /* smaller than the band shows */
        mp->nrings = rings_before;
        return 0;
    }
    int nh = GEOSGetNumInteriorRings_r(h, g);
    for (int i = 0; i < nh; i++)
        if (mb_ring(h, b, GEOSGetInteriorRingN_r(h, g, i)) != 0)
            return -1;
    mp->part_ring[mp->nparts] = rings_before;
    mp->nparts++;
    mp->part_ring[mp->nparts] = mp->nrings;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Rebuilding one commune                                                    */
/* ------------------------------------------------------------------------ */

/* One land-use group while it is built. */
typedef struct group {
    char code[16];       /* main land-use code */
    double area_m2;      /* sum of the parcels' computed areas */
    GEOSGeometry *shape; /* the current band's dissolved shape, or NULL */
} group;

static pdb_status store_shape(pdb_ctx *ctx, sqlite3_stmt *ins, sqlite3_stmt *rt,
                              const char *commune, int band, int kind, const char *code,
                              double area_m2, const GEOSGeometry *g, double grid)
{
    mp_builder b = {0};
    unsigned char *blob = NULL;
    size_t len = 0;
    double bbox[4];
    pdb_status st = PDB_OK;
    sqlite3 *db = sqlite3_db_handle(ins);

    if (mb_add(ctx->geos, &b, g, grid * grid) != 0) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory storing overviews");
        goto done;
    }
    if (b.mp.nparts == 0)
        goto done; /* it vanished at this band's size */
    pdb__mpoly_bbox(&b.mp, bbox);
    if ((st = pdb__mpoly_to_blob(ctx, &b.mp, PDB_EPSG_WGS84, &blob, &len)) != PDB_OK)
        goto done;
    sqlite3_reset(ins);
    sqlite3_bind_text(ins, 1, commune, -1, SQLITE_STATIC);
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

/* Dissolves the parcels of one group: a coverage union (parcels of a
 * survey share their edges exactly, so only the shared edges have to go,
 * in about linear time), or, for parcels that overlap or miss each other
 * a little as real surveys sometimes do, a snap-rounding union on the
 * grid, which is robust but several times slower. Does not consume coll. */
static GEOSGeometry *dissolve(pdb_ctx *ctx, const GEOSGeometry *coll, double grid)
{
    GEOSContextHandle_t h = ctx->geos;
    GEOSGeometry *u = GEOSCoverageUnion_r(h, coll);
    if (u != NULL && GEOSisValid_r(h, u) == 1)
        return u;
    if (u != NULL)
        GEOSGeom_destroy_r(h, u);
    return GEOSUnaryUnionPrec_r(h, coll, grid);
}

/* Simplifies to a grid step: topology-preserving for the finest band (it
 * is drawn at up to z13 and must keep neighbours apart), Douglas-Peucker
 * for the coarser ones (starting from the finer band's shapes). */
static GEOSGeometry *simplify(pdb_ctx *ctx, const GEOSGeometry *g, double grid, int finest)
{
    GEOSContextHandle_t h = ctx->geos;
    return finest ? GEOSTopologyPreserveSimplify_r(h, g, grid) : GEOSSimplify_r(h, g, grid);
}

static GEOSGeometry *collection(pdb_ctx *ctx, GEOSGeometry **parts, size_t n)
{
    return GEOSGeom_createCollection_r(ctx->geos, GEOS_GEOMETRYCOLLECTION, parts, (unsigned)n);
}

/* Runs one statement with a commune bound to ?1 and the time to ?2. */
static pdb_status commune_exec(pdb_ctx *ctx, pdb_store *s, const char *sql, const char *commune,
                               const char *what)
{
    sqlite3_stmt *stmt = NULL;
    char now[32];
    pdb__now_iso(now);
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, commune, -1, SQLITE_STATIC);
        if (sqlite3_bind_parameter_count(stmt) >= 2)
            sqlite3_bind_text(stmt, 2, now, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, s->db, rc, what);
    return PDB_OK;
}

pdb_status pdb__overview_mark_stale(pdb_ctx *ctx, pdb_store *s, const char *commune)
{
    return commune_exec(ctx, s,
                        "INSERT INTO overviews_stale (commune, since) VALUES (?1, ?2) "
                        "ON CONFLICT(commune) DO NOTHING",
                        commune, "marking the commune's overviews stale");
}

pdb_status pdb__overview_rebuild(pdb_ctx *ctx, pdb_store *s, const char *commune)
{
    GEOSContextHandle_t h = ctx->geos;
    sqlite3_stmt *sel = NULL, *ins = NULL, *rt = NULL;
    group *groups = NULL;
    size_t ngroups = 0, capgroups = 0;
    GEOSGeometry **polys = NULL;
    size_t npolys = 0, cappolys = 0;
    pdb_status st = PDB_OK;
    double lat_sum = 0;
    size_t lat_n = 0;
    int rc;

    /* Old rows go first: a commune without parcels keeps no overviews. */
    sqlite3_stmt *del = NULL;
    rc = sqlite3_prepare_v2(s->db,
                            "DELETE FROM overviews_rtree WHERE id IN (SELECT id FROM overviews "
                            "WHERE commune = ?1)",
                            -1, &del, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(del, 1, commune, -1, SQLITE_STATIC);
        rc = sqlite3_step(del);
    }
    sqlite3_finalize(del);
    if (rc == SQLITE_DONE) {
        rc = sqlite3_prepare_v2(s->db, "DELETE FROM overviews WHERE commune = ?1", -1, &del, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(del, 1, commune, -1, SQLITE_STATIC);
            rc = sqlite3_step(del);
        }
        sqlite3_finalize(del);
    }
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, s->db, rc, "clearing the commune's overviews");

    rc = sqlite3_prepare_v2(s->db,
                            "SELECT landuse_main, area_computed_m2, geom FROM parcels WHERE "
                            "commune = ?1 AND valid_to IS NULL ORDER BY landuse_main, id",
                            -1, &sel, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO overviews (commune, band, kind, landuse_main, "
                                "area_m2, min_lon, min_lat, max_lon, max_lat, geom) VALUES "
                                "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                                -1, &ins, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(s->db, "INSERT INTO overviews_rtree VALUES (?1, ?2, ?3, ?4, ?5)",
                                -1, &rt, NULL);
    if (rc != SQLITE_OK) {
        st = pdb__sql_fail(ctx, s->db, rc, "preparing the overviews");
        goto done;
    }
    sqlite3_bind_text(sel, 1, commune, -1, SQLITE_STATIC);

    /* Read the parcels group by group (they come ordered by code). */
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(sel, 0);
        code = code ? code : "";
        if (ngroups == 0 || strncmp(groups[ngroups - 1].code, code, 15) != 0) {
            if (ngroups > 0 && npolys > 0) {
                GEOSGeometry *c = collection(ctx, polys, npolys);
                npolys = 0;
                groups[ngroups - 1].shape = c; /* dissolved below, per band */
                if (c == NULL) {
                    st = pdb__fail(ctx, PDB_EGEOM, "GEOS: %s", geos_said(ctx));
                    goto done;
                }
            }
            if (ngroups == capgroups) {
                size_t ncap = capgroups ? capgroups * 2 : 32;
                group *g = realloc(groups, ncap * sizeof *g);
                if (g == NULL) {
                    st = pdb__fail(ctx, PDB_ENOMEM, "out of memory building overviews");
                    goto done;
                }
                groups = g;
                capgroups = ncap;
            }
            memset(&groups[ngroups], 0, sizeof groups[ngroups]);
            snprintf(groups[ngroups].code, sizeof groups[ngroups].code, "%s", code);
            ngroups++;
        }
        groups[ngroups - 1].area_m2 += sqlite3_column_double(sel, 1);
        pdb__mpoly mp;
        const unsigned char *blob = sqlite3_column_blob(sel, 2);
        size_t n = (size_t)sqlite3_column_bytes(sel, 2);
        if ((st = pdb__blob_parse(ctx, blob, n, &mp)) != PDB_OK)
            goto done;
        if (mp.npoints > 0) {
            lat_sum += mp.xy[1];
            lat_n++;
        }
        st = mpoly_to_geos(ctx, &mp, &polys, &npolys, &cappolys);
        pdb__mpoly_free(&mp);
        if (st != PDB_OK)
            goto done;
    }
    if (rc != SQLITE_DONE) {
        st = pdb__sql_fail(ctx, s->db, rc, "reading the commune's parcels");
        goto done;
    }
    if (ngroups > 0 && npolys > 0) {
        groups[ngroups - 1].shape = collection(ctx, polys, npolys);
        npolys = 0;
        if (groups[ngroups - 1].shape == NULL) {
            st = pdb__fail(ctx, PDB_EGEOM, "GEOS: %s", geos_said(ctx));
            goto done;
        }
    }
    if (lat_n == 0) {
        st = commune_exec(ctx, s, "DELETE FROM overviews_stale WHERE commune = ?1", commune,
                          "clearing the stale mark");
        goto done;
    }
    double lat = lat_sum / (double)lat_n;

    /* The finest band from the parcels; each coarser band simplifies the
     * band below it. The outline is the coverage union of the dissolved
     * groups. */
    double area = 0;
    GEOSGeometry **raw = calloc(ngroups + 1, sizeof *raw);
    size_t nraw = 0;
    if (raw == NULL) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory building overviews");
        goto done;
    }
    for (size_t i = 0; i < ngroups; i++) {
        group *g = &groups[i];
        area += g->area_m2;
        if (g->shape == NULL)
            continue;
        GEOSGeometry *d = dissolve(ctx, g->shape, band_grid_deg(NBANDS - 1, lat));
        GEOSGeom_destroy_r(h, g->shape);
        g->shape = NULL;
        if (d == NULL) {
            st = pdb__fail(ctx, PDB_EGEOM, "dissolving land use %s of commune %s: %s", g->code,
                           commune, geos_said(ctx));
            break;
        }
        raw[nraw++] = d;
        g->shape = GEOSGeom_clone_r(h, d);
    }
    GEOSGeometry *outline = NULL;
    if (st == PDB_OK && nraw > 0) {
        GEOSGeometry *c = collection(ctx, raw, nraw);
        nraw = 0; /* the collection owns them now */
        outline = c ? dissolve(ctx, c, band_grid_deg(NBANDS - 1, lat)) : NULL;
        if (c != NULL)
            GEOSGeom_destroy_r(h, c);
        /* Roads and canals are often left out of a survey: close gaps up
         * to CLOSE_GAP_M wide, so that the commune has one boundary, not
         * one around every block. */
        GEOSGeometry *coarse =
            outline ? GEOSSimplify_r(h, outline, band_grid_deg(NBANDS - 1, lat)) : NULL;
        GEOSGeometry *grown = coarse ? GEOSBuffer_r(h, coarse, CLOSE_GAP_DEG, 2) : NULL;
        if (coarse != NULL)
            GEOSGeom_destroy_r(h, coarse);
        GEOSGeometry *closed = grown ? GEOSBuffer_r(h, grown, -CLOSE_GAP_DEG, 2) : NULL;
        if (grown != NULL)
            GEOSGeom_destroy_r(h, grown);
        if (closed != NULL) {
            GEOSGeom_destroy_r(h, outline);
            outline = closed;
        }
        if (outline == NULL)
            st =
                pdb__fail(ctx, PDB_EGEOM, "the outline of commune %s: %s", commune, geos_said(ctx));
    }
    for (size_t i = 0; i < nraw; i++)
        GEOSGeom_destroy_r(h, raw[i]);
    free(raw);
    for (int b = NBANDS - 1; b >= 0 && st == PDB_OK; b--) {
        double grid = band_grid_deg(b, lat);
        for (size_t i = 0; i < ngroups && st == PDB_OK; i++) {
            group *g = &groups[i];
            /* The coarsest band is a mosaic: a commune is a few pixels,
             * its land-use patches less than one; it is drawn whole in
             * its dominant land use (below, with the outline). */
            if (g->shape == NULL || b == 0)
                continue;
            GEOSGeometry *sm = simplify(ctx, g->shape, grid, b == NBANDS - 1);
            if (sm == NULL) {
                st = pdb__fail(ctx, PDB_EGEOM, "simplifying land use %s of commune %s: %s", g->code,
                               commune, geos_said(ctx));
                break;
            }
            GEOSGeom_destroy_r(h, g->shape);
            g->shape = sm;
            st = store_shape(ctx, ins, rt, commune, b, KIND_LANDUSE, g->code, g->area_m2, sm, grid);
        }
        if (st == PDB_OK && outline != NULL) {
            GEOSGeometry *sm = simplify(ctx, outline, grid, b == NBANDS - 1);
            if (sm == NULL) {
                st = pdb__fail(ctx, PDB_EGEOM, "simplifying the outline of commune %s: %s", commune,
                               geos_said(ctx));
                break;
            }
            GEOSGeom_destroy_r(h, outline);
            outline = sm;
            st = store_shape(ctx, ins, rt, commune, b, KIND_OUTLINE, NULL, area, outline, grid);
            if (st == PDB_OK && b == 0 && ngroups > 0) {
                size_t top = 0;
                for (size_t i = 1; i < ngroups; i++)
                    if (groups[i].area_m2 > groups[top].area_m2)
                        top = i;
                st = store_shape(ctx, ins, rt, commune, b, KIND_LANDUSE, groups[top].code, area,
                                 outline, grid / 4);
            }
        }
    }
    if (outline != NULL)
        GEOSGeom_destroy_r(h, outline);
    if (st == PDB_OK)
        st = commune_exec(ctx, s, "DELETE FROM overviews_stale WHERE commune = ?1", commune,
                          "clearing the stale mark");
done:
    for (size_t i = 0; i < npolys; i++)
        GEOSGeom_destroy_r(h, polys[i]);
    free(polys);
    for (size_t i = 0; i < ngroups; i++)
        if (groups[i].shape != NULL)
            GEOSGeom_destroy_r(h, groups[i].shape);
    free(groups);
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    sqlite3_finalize(rt);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}

pdb_status pdb_overview_rebuild(pdb_ctx *ctx, pdb_store *s, const char *commune, size_t *rebuilt)
{
    sqlite3_stmt *stmt = NULL;
    pdb_status st;
    int rc;

    if (rebuilt != NULL)
        *rebuilt = 0;
    if (s->readonly)
        return pdb__fail(ctx, PDB_EREADONLY, "the store was opened read-only");
    if (s->writing)
        return pdb__fail(ctx, PDB_EINVAL, "a commune's load is open on this store handle");
    if ((st = pdb__store_exec(ctx, s, "BEGIN IMMEDIATE")) != PDB_OK)
        return st;
    /* NULL: the communes that need it: stale ones, and those with parcels
     * and no overviews of the finest band (imported before overviews
     * existed, or before that band did). */
    rc = sqlite3_prepare_v2(s->db,
                            "SELECT code FROM communes WHERE ?1 = code OR (?1 IS NULL AND "
                            "parcels > 0 AND NOT EXISTS (SELECT 1 FROM overviews WHERE "
                            "commune = code AND band = ?2)) UNION SELECT commune FROM "
                            "overviews_stale WHERE ?1 IS NULL OR commune = ?1 UNION SELECT "
                            "DISTINCT commune FROM overviews WHERE commune = ?1 ORDER BY 1",
                            -1, &stmt, NULL);
    if (rc == SQLITE_OK && commune != NULL)
        sqlite3_bind_text(stmt, 1, commune, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        sqlite3_bind_int(stmt, 2, NBANDS - 1);
    /* The codes first: rebuilding writes the table the query reads. */
    char(*codes)[16] = NULL;
    size_t found = 0, cap = 0;
    if (rc == SQLITE_OK)
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            if (found == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                char(*p)[16] = realloc(codes, ncap * sizeof *codes);
                if (p == NULL) {
                    free(codes);
                    st = pdb__fail(ctx, PDB_ENOMEM, "out of memory listing communes");
                    goto fail;
                }
                codes = p;
                cap = ncap;
            }
            snprintf(codes[found++], sizeof codes[0], "%s",
                     (const char *)sqlite3_column_text(stmt, 0));
        }
    if (rc != SQLITE_DONE) {
        free(codes);
        st = pdb__sql_fail(ctx, s->db, rc, "listing communes");
        goto fail;
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    for (size_t i = 0; i < found; i++)
        if ((st = pdb__overview_rebuild(ctx, s, codes[i])) != PDB_OK) {
            free(codes);
            goto fail;
        }
    free(codes);
    if (commune != NULL && found == 0) {
        st = pdb__fail(ctx, PDB_ENOTFOUND, "no commune %s in the store", commune);
        goto fail;
    }
    if (found == 0) { /* nothing to do: no new data version either */
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        if (rebuilt != NULL)
            *rebuilt = 0;
        return pdb__ok(ctx);
    }
    if (rebuilt != NULL)
        *rebuilt = found;
    if ((st = pdb__store_exec(ctx, s,
                              "UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                              "WHERE key = 'data_version'")) != PDB_OK ||
        (st = pdb__store_exec(ctx, s, "COMMIT")) != PDB_OK)
        goto fail;
    return pdb__ok(ctx);
fail:
    sqlite3_finalize(stmt);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

/* Whether a SpatiaLite BLOB's MBR (in its header) meets a box. */
static int blob_meets(const unsigned char *blob, size_t n, const double box[4])
{
    double mbr[4];
    if (n < 38 || blob[0] != 0x00 || blob[1] != 0x01)
        return 1; /* not the engine's little-endian BLOB: let the parser judge */
    memcpy(mbr, blob + 6, sizeof mbr);
    return !(mbr[2] < box[0] || mbr[0] > box[2] || mbr[3] < box[1] || mbr[1] > box[3]);
}

/* One statement, so that overviews and the parcels of stale communes come
 * from the same snapshot of the store. A commune without shapes in the
 * band (overviews made before the band existed, or a commune too small
 * for it) is answered with its parcels too: a bounded cost, never a hole. */
static const char features_sql[] =
    "SELECT o.commune, o.kind, o.landuse_main, o.area_m2, o.geom, 0 FROM overviews o "
    "WHERE o.id IN (SELECT id FROM overviews_rtree WHERE min_lon <= ?3 AND max_lon >= ?1 "
    "AND min_lat <= ?4 AND max_lat >= ?2) AND o.band = ?5 AND (o.kind & ?6) != 0 "
    "AND o.commune NOT IN (SELECT commune FROM overviews_stale) "
    "UNION ALL "
    "SELECT p.commune, 1, p.landuse_main, p.area_computed_m2, p.geom, 1 FROM parcels p "
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
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        pdb__mpoly mp;
        const unsigned char *blob = sqlite3_column_blob(stmt, 4);
        size_t n = (size_t)sqlite3_column_bytes(stmt, 4);
        if (sqlite3_column_int(stmt, 5) && !blob_meets(blob, n, bbox))
            continue; /* a parcel of a stale commune, outside the box */
        if ((st = pdb__blob_parse(ctx, blob, n, &mp)) != PDB_OK)
            break;
        const char *code = (const char *)sqlite3_column_text(stmt, 2);
        pdb_feature f = {
            .id = 0,
            .commune = (const char *)sqlite3_column_text(stmt, 0),
            .landuse = code,
            .landuse_main = code,
            .area_m2 = sqlite3_column_double(stmt, 3),
            .nparts = mp.nparts,
            .part_ring = mp.part_ring,
            .nrings = mp.nrings,
            .ring_point = mp.ring_point,
            .npoints = mp.npoints,
            .xy = mp.xy,
        };
        int stop = fn(arg, &f);
        pdb__mpoly_free(&mp);
        if (stop)
            break;
    }
    ctx->limits = saved;
    if (st == PDB_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        st = pdb__sql_fail(ctx, s->db, rc, "reading overviews");
    sqlite3_finalize(stmt);
    return st == PDB_OK ? pdb__ok(ctx) : st;
}
