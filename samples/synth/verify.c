/*
 * verify.c: reads a written file back through OGR, as an importer will, and
 * checks that it holds what the manifest is about to promise: the feature
 * count, the null/empty/non-polygon geometries, the invalid ones (with the
 * same GEOS MakeValid test an importer applies), and the CRS.
 */
#include "output.h"

#include <cpl_error.h>
#include <gdal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_polygon(GEOSContextHandle_t h, GEOSWKBReader *rd, OGRGeometryH g,
                          synth_readback *rb, unsigned char **buf, size_t *cap)
{
    size_t n = (size_t)OGR_G_WkbSize(g);
    if (n > *cap) {
        unsigned char *p = realloc(*buf, n);
        if (p == NULL)
            return;
        *buf = p;
        *cap = n;
    }
    if (OGR_G_ExportToIsoWkb(g, wkbNDR, *buf) != OGRERR_NONE)
        return;
    GEOSGeometry *gg = GEOSWKBReader_read_r(h, rd, *buf, n);
    if (gg == NULL) {
        rb->invalid_unrepairable++;
        return;
    }
    if (GEOSisValid_r(h, gg) == 1) {
        rb->valid++;
    } else {
        GEOSGeometry *m = GEOSMakeValid_r(h, gg);
        double a = 0, b = 0;
        int ok = 0;
        if (m != NULL) {
            int t = GEOSGeomTypeId_r(h, m);
            ok = (t == GEOS_POLYGON || t == GEOS_MULTIPOLYGON) && GEOSArea_r(h, gg, &a) &&
                 GEOSArea_r(h, m, &b) && a > 0 && fabs(b - a) / a <= 0.001;
            GEOSGeom_destroy_r(h, m);
        }
        if (ok)
            rb->invalid_repairable++;
        else
            rb->invalid_unrepairable++;
    }
    GEOSGeom_destroy_r(h, gg);
}

/* The first vertex of a polygon's (or a multipolygon's first) exterior ring. */
static void first_vertex(OGRGeometryH g, double *x, double *y)
{
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
    if (t == wkbMultiPolygon && OGR_G_GetGeometryCount(g) > 0)
        g = OGR_G_GetGeometryRef(g, 0), t = wkbPolygon;
    if (t != wkbPolygon || OGR_G_GetGeometryCount(g) == 0)
        return;
    OGRGeometryH ring = OGR_G_GetGeometryRef(g, 0);
    if (OGR_G_GetPointCount(ring) > 0) {
        *x = OGR_G_GetX(ring, 0);
        *y = OGR_G_GetY(ring, 0);
    }
}

int synth_verify_file(GEOSContextHandle_t geos, output_ctx *oc, char *err, size_t errlen)
{
    double got_x = NAN, got_y = NAN;
    synth_readback *rb = &oc->read;
    const synth_commune *c = oc->c;
    GDALDatasetH ds = GDALOpenEx(oc->path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    GEOSWKBReader *rd = GEOSWKBReader_create_r(geos);
    unsigned char *buf = NULL;
    size_t cap = 0;
    int cad = oc->o->format == FMT_DXF || oc->o->format == FMT_DGN;
    int rc = -1;

    memset(rb, 0, sizeof *rb);
    rb->checked = oc->o->verify;
    if (ds == NULL || rd == NULL) {
        snprintf(err, errlen, "cannot read back %s: %s", oc->path, CPLGetLastErrorMsg());
        goto done;
    }
    for (int li = 0; li < GDALDatasetGetLayerCount(ds); li++) {
        OGRLayerH layer = GDALDatasetGetLayer(ds, li);
        OGRFeatureH f;
        if (li == 0) {
            OGRSpatialReferenceH srs = OGR_L_GetSpatialRef(layer);
            if (srs != NULL) {
                const char *auth = OSRGetAuthorityName(srs, NULL);
                const char *code = OSRGetAuthorityCode(srs, NULL);
                if (auth == NULL || code == NULL) {
                    OGRSpatialReferenceH copy = OSRClone(srs);
                    if (copy && OSRAutoIdentifyEPSG(copy) == OGRERR_NONE) {
                        code = OSRGetAuthorityCode(copy, NULL);
                        rb->crs_epsg = code ? atoi(code) : -1;
                    } else {
                        rb->crs_epsg = -1; /* a CRS no EPSG code matches */
                    }
                    OSRDestroySpatialReference(copy);
                } else {
                    rb->crs_epsg = strcmp(auth, "EPSG") == 0 ? atoi(code) : -1;
                }
            }
        }
        OGR_L_ResetReading(layer);
        while ((f = OGR_L_GetNextFeature(layer)) != NULL) {
            OGRGeometryH g = OGR_F_GetGeometryRef(f);
            if (rb->features == 0 && li == 0 && g != NULL)
                first_vertex(g, &got_x, &got_y);
            rb->features++;
            if (g == NULL) {
                rb->null_geom++;
            } else if (OGR_G_IsEmpty(g)) {
                rb->empty_geom++;
            } else {
                switch (wkbFlatten(OGR_G_GetGeometryType(g))) {
                case wkbPoint:
                    rb->points++;
                    break;
                case wkbLineString:
                    rb->lines++;
                    break;
                case wkbPolygon:
                case wkbMultiPolygon:
                    if (wkbFlatten(OGR_G_GetGeometryType(g)) == wkbPolygon)
                        rb->polygons++;
                    else
                        rb->multipolygons++;
                    if (rb->checked)
                        check_polygon(geos, rd, g, rb, &buf, &cap);
                    break;
                default:
                    break;
                }
            }
            OGR_F_Destroy(f);
        }
    }

    /* What the reader sees must be what the manifest says. */
    char what[160] = "";
    if (cad) {
        if (rb->points != c->nparcels)
            snprintf(what, sizeof what, "%zu labels for %zu parcels", rb->points, c->nparcels);
        else if (rb->lines != c->counts[DEF_LINE_GEOMETRY])
            snprintf(what, sizeof what, "%zu lines, %zu line defects", rb->lines,
                     c->counts[DEF_LINE_GEOMETRY]);
        else if (rb->checked && (rb->invalid_repairable != c->counts[DEF_INVALID_REPAIRABLE] ||
                                 rb->invalid_unrepairable != c->counts[DEF_INVALID_UNREPAIRABLE]))
            snprintf(what, sizeof what,
                     "%zu repairable and %zu unrepairable invalid boundaries, %zu and %zu made",
                     rb->invalid_repairable, rb->invalid_unrepairable,
                     c->counts[DEF_INVALID_REPAIRABLE], c->counts[DEF_INVALID_UNREPAIRABLE]);
    } else if (rb->features != c->nparcels) {
        snprintf(what, sizeof what, "%zu features for %zu parcels", rb->features, c->nparcels);
    } else if (rb->null_geom != c->counts[DEF_NULL_GEOMETRY]) {
        snprintf(what, sizeof what, "%zu null geometries, %zu made", rb->null_geom,
                 c->counts[DEF_NULL_GEOMETRY]);
    } else if (rb->empty_geom != c->counts[DEF_EMPTY_GEOMETRY]) {
        snprintf(what, sizeof what, "%zu empty geometries, %zu made", rb->empty_geom,
                 c->counts[DEF_EMPTY_GEOMETRY]);
    } else if (rb->points != c->counts[DEF_POINT_GEOMETRY] ||
               rb->lines != c->counts[DEF_LINE_GEOMETRY]) {
        snprintf(what, sizeof what, "%zu points and %zu lines, %zu and %zu made", rb->points,
                 rb->lines, c->counts[DEF_POINT_GEOMETRY], c->counts[DEF_LINE_GEOMETRY]);
    } else if (rb->checked && (rb->invalid_repairable != c->counts[DEF_INVALID_REPAIRABLE] ||
                               rb->invalid_unrepairable != c->counts[DEF_INVALID_UNREPAIRABLE])) {
        snprintf(what, sizeof what,
                 "%zu repairable and %zu unrepairable invalid polygons, %zu and %zu made",
                 rb->invalid_repairable, rb->invalid_unrepairable,
                 c->counts[DEF_INVALID_REPAIRABLE], c->counts[DEF_INVALID_UNREPAIRABLE]);
    } else if (oc->v->has_crs && !cad && oc->o->format != FMT_CSV &&
               rb->crs_epsg != oc->v->layer_crs_epsg) {
        snprintf(what, sizeof what, "the CRS reads back as EPSG:%d, not EPSG:%d", rb->crs_epsg,
                 oc->v->layer_crs_epsg);
    } else if (!oc->v->has_crs && rb->crs_epsg > 0 &&
               !(oc->o->format == FMT_GEOJSON_LEGACY && rb->crs_epsg == PDB_EPSG_WGS84)) {
        /* No CRS reads back as none, as GeoPackage's "undefined" SRS (-1), or,
         * for GeoJSON without a "crs" member, as the WGS 84 RFC 7946 implies:
         * TM-3 metres that a reader takes for degrees, which an importer's
         * plausibility check must refuse. */
        snprintf(what, sizeof what, "a CRS (EPSG:%d) where there should be none", rb->crs_epsg);
    }
    /* Coordinates: the first parcel's first vertex, as surveyed (millimetres)
     * or as transformed to WGS 84 (GeoJSON keeps 7 decimals). */
    if (what[0] == '\0' && c->nparcels > 0 && c->parcels[0].defect == DEF_NONE) {
        const synth_parcel *p = &c->parcels[0];
        uint32_t k = c->ring_vertices[c->rings[p->first_ring].off];
        double ex = oc->wx ? oc->wx[k] : c->vx[k], ey = oc->wy ? oc->wy[k] : c->vy[k];
        double tol = oc->wx ? 2e-7 : 0.0006;
        if (!(fabs(got_x - ex) <= tol && fabs(got_y - ey) <= tol))
            snprintf(what, sizeof what, "the first vertex reads back as %.9f %.9f, not %.9f %.9f",
                     got_x, got_y, ex, ey);
    }
    if (what[0] != '\0') {
        snprintf(err, errlen, "%s does not read back as written: %s", oc->path, what);
        goto done;
    }
    rc = 0;
done:
    free(buf);
    if (rd)
        GEOSWKBReader_destroy_r(geos, rd);
    if (ds)
        GDALClose(ds);
    return rc;
}
