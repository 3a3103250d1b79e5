/*
 * srs.c: the source CRS of a survey file, matched to a registered VN-2000
 * (or WGS 84) EPSG code. The EPSG authority when the file names it; else
 * GDAL's identification; else the projection's parameters, because .prj
 * files written by Vietnamese desktop GIS often carry a custom name, no
 * TOWGS84, or a TOWGS84 with the rotations' signs flipped: the coordinates
 * are still VN-2000 TM-3, and the engine pins the datum shift (EPSG:6960)
 * itself.
 */
#define _GNU_SOURCE 1 /* strcasestr */
#include "imp_ogr.h"

#include <cpl_conv.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Whether code is a CRS the engine accepts. */
static int registered(pdb_ctx *ctx, int code, pdb_crs_info *info)
{
    return code > 0 && pdb_crs_info_get(ctx, code, info) == PDB_OK;
}

/* The EPSG code the SRS names for itself (its top-level authority). */
static int own_epsg(OGRSpatialReferenceH srs)
{
    const char *auth = OSRGetAuthorityName(srs, NULL);
    const char *code = OSRGetAuthorityCode(srs, NULL);
    if (auth != NULL && code != NULL && strcasecmp(auth, "EPSG") == 0)
        return atoi(code);
    return 0;
}

/* One CRS seen in a run, by its WKT, with GDAL's match for it. */
struct pdbi_srs_memo {
    char *wkt;                  /* OSRExportToWkt of the file's SRS */
    int epsg;                   /* best_match's answer for it */
    struct pdbi_srs_memo *next; /* the one seen before, or NULL */
};

/* The EPSG code of the one system GDAL's database matches the SRS to with
 * at least 90% confidence (what its shapefile driver's own search gave,
 * turned off in pdbi_run), 0 when none or several. Searched once per
 * distinct WKT of a run: it is 30 M instructions, and a province's files
 * carry three .prj texts. */
static int best_match(pdbi_srs_memo **memo, OGRSpatialReferenceH srs)
{
    char *wkt = NULL;
    int code = 0;

    if (OSRExportToWkt(srs, &wkt) != OGRERR_NONE || wkt == NULL) {
        CPLFree(wkt);
        wkt = NULL;
    }
    for (const pdbi_srs_memo *m = *memo; wkt != NULL && m != NULL; m = m->next) {
        if (strcmp(m->wkt, wkt) == 0) {
            CPLFree(wkt);
            return m->epsg;
        }
    }
    int n = 0, *confidence = NULL, best = -1, tied = 0;
    OGRSpatialReferenceH *matches = OSRFindMatches(srs, NULL, &n, &confidence);
    for (int i = 0; matches != NULL && i < n; i++) {
        if (confidence[i] < 90)
            continue;
        if (best < 0 || confidence[i] > confidence[best]) {
            best = i;
            tied = 0;
        } else if (confidence[i] == confidence[best]) {
            tied = 1;
        }
    }
    if (best >= 0 && !tied)
        code = own_epsg(matches[best]);
    OSRFreeSRSArray(matches);
    CPLFree(confidence);
    pdbi_srs_memo *m = wkt != NULL ? malloc(sizeof *m) : NULL;
    if (m != NULL && (m->wkt = strdup(wkt)) != NULL) {
        m->epsg = code;
        m->next = *memo;
        *memo = m;
    } else {
        free(m);
    }
    CPLFree(wkt);
    return code;
}

void pdbi__srs_memo_free(pdbi_srs_memo *memo)
{
    while (memo != NULL) {
        pdbi_srs_memo *next = memo->next;
        free(memo->wkt);
        free(memo);
        memo = next;
    }
}

static int near(double a, double b, double eps)
{
    return fabs(a - b) <= eps;
}

/* Whether the datum's name says VN-2000. */
static int datum_is_vn2000(OGRSpatialReferenceH srs)
{
    const char *d = OSRGetAttrValue(srs, "DATUM", 0);
    if (d == NULL)
        return 0;
    return strstr(d, "2000") != NULL || strcasestr(d, "vietnam") != NULL ||
           strcasestr(d, "VN") != NULL;
}

/* Matches a Transverse Mercator on the WGS 84 ellipsoid by its parameters. */
static pdb_status match_by_parameters(pdbi_ctx *ic, OGRSpatialReferenceH srs, int *epsg, char *note,
                                      size_t notelen)
{
    OGRErr e = OGRERR_NONE;
    double a = OSRGetSemiMajor(srs, &e);
    double invf = OSRGetInvFlattening(srs, &e);
    const char *method = OSRGetAttrValue(srs, "PROJECTION", 0);

    if (OSRIsGeographic(srs)) {
        int code = datum_is_vn2000(srs) ? PDB_EPSG_VN2000_GEOG : PDB_EPSG_WGS84;
        if (!near(a, 6378137.0, 0.5) || !near(invf, 298.257223563, 1e-6)) {
            return pdbi__fail(ic, PDB_ECRS,
                              "its geographic CRS is not on the WGS 84 ellipsoid (a = %.3f, "
                              "1/f = %.6f), so neither VN-2000 nor WGS 84",
                              a, invf);
        }
        *epsg = code;
        snprintf(note, notelen, "geographic, datum %s: read as EPSG:%d",
                 OSRGetAttrValue(srs, "DATUM", 0) ? OSRGetAttrValue(srs, "DATUM", 0) : "?", code);
        return PDB_OK;
    }
    if (!OSRIsProjected(srs) || method == NULL ||
        (strcasecmp(method, SRS_PT_TRANSVERSE_MERCATOR) != 0 &&
         strcasecmp(method, "Transverse_Mercator") != 0)) {
        return pdbi__fail(ic, PDB_ECRS, "its projection (%s) is not a Transverse Mercator",
                          method ? method : "none");
    }
    double lon0 = OSRGetProjParm(srs, SRS_PP_CENTRAL_MERIDIAN, 0.0, &e);
    double lat0 = OSRGetProjParm(srs, SRS_PP_LATITUDE_OF_ORIGIN, 0.0, &e);
    double k = OSRGetProjParm(srs, SRS_PP_SCALE_FACTOR, 1.0, &e);
    double fe = OSRGetProjParm(srs, SRS_PP_FALSE_EASTING, 0.0, &e);
    double fn = OSRGetProjParm(srs, SRS_PP_FALSE_NORTHING, 0.0, &e);
    double unit = OSRGetLinearUnits(srs, NULL);

    if (!near(a, 6378137.0, 0.5) || !near(invf, 298.257223563, 1e-6)) {
        return pdbi__fail(ic, PDB_ECRS,
                          "its ellipsoid (a = %.3f, 1/f = %.6f) is not VN-2000's (WGS 84)", a,
                          invf);
    }
    if (!near(unit, 1.0, 1e-9) || !near(lat0, 0.0, 1e-9) || !near(fe, 500000.0, 1e-3) ||
        !near(fn, 0.0, 1e-3)) {
        return pdbi__fail(
            ic, PDB_ECRS,
            "its Transverse Mercator has lat_0 = %g, false easting %.3f, "
            "false northing %.3f, unit %g m; VN-2000 zones use 0, 500000, 0 and metres",
            lat0, fe, fn, unit);
    }
    pdb_crs_kind kind;
    if (near(k, 0.9999, 1e-9))
        kind = PDB_CRS_TM3;
    else if (near(k, 0.9996, 1e-9))
        kind = PDB_CRS_UTM;
    else {
        return pdbi__fail(ic, PDB_ECRS,
                          "its Transverse Mercator (lon_0 = %.6f) has scale factor %.6f; "
                          "VN-2000 TM-3 zones use 0.9999 and UTM zones 0.9996 (k = 1 puts parcels "
                          "about 236 m off)",
                          lon0, k);
    }
    size_t n = 0;
    const pdb_crs_info *list = pdb_crs_list(&n);
    for (size_t i = 0; i < n; i++) {
        if (list[i].kind == kind && near(list[i].central_meridian_deg, lon0, 1e-7)) {
            *epsg = list[i].epsg;
            snprintf(note, notelen,
                     "matched by its parameters (Transverse Mercator, lon_0 = "
                     "%.4f, k = %.4f) to EPSG:%d (%s)%s",
                     lon0, k, list[i].epsg, list[i].name,
                     datum_is_vn2000(srs) ? ""
                                          : "; the file does not name the VN-2000 datum, read "
                                            "as VN-2000");
            return PDB_OK;
        }
    }
    return pdbi__fail(ic, PDB_ECRS, "no VN-2000 %s zone has its central meridian at %.6f",
                      kind == PDB_CRS_TM3 ? "TM-3" : "UTM", lon0);
}

pdb_status pdbi__srs_match(pdbi_ctx *ic, pdbi_srs_memo **memo, OGRSpatialReferenceH srs, int *epsg,
                           char *note, size_t notelen)
{
    pdb_ctx *ctx = ic->db;
    pdb_crs_info info;
    OGRSpatialReferenceH clone = NULL;
    char why[400] = "";
    int rc = -1, code;

    *epsg = 0;
    note[0] = '\0';
    /* 1. The file names its EPSG code (GPKG, GeoJSON's crs member, GML),
     * or GDAL's database knows its WKT as one system (an ESRI .prj). */
    code = own_epsg(srs);
    if (code <= 0)
        code = best_match(memo, srs);
    if (registered(ctx, code, &info)) {
        *epsg = info.epsg;
        return PDB_OK;
    }
    /* A file that names another EPSG system (WGS 84 / UTM 48N, say) is not
     * VN-2000 in disguise: refuse rather than reinterpret it. */
    if (code > 0)
        return pdbi__fail_db(ic, NULL);
    /* 2. Parameters first for a Transverse Mercator: exact and cheap, and it
     * keeps a custom name or datum from matching the wrong EPSG entry. */
    if (match_by_parameters(ic, srs, epsg, note, notelen) == PDB_OK)
        return PDB_OK;
    snprintf(why, sizeof why, "%s", pdbi_errmsg(ic));
    /* 3. GDAL's identification of a WKT without authority (ESRI .prj). */
    clone = OSRClone(srs);
    if (clone != NULL && OSRAutoIdentifyEPSG(clone) == OGRERR_NONE) {
        code = own_epsg(clone);
        if (registered(ctx, code, &info)) {
            *epsg = info.epsg;
            snprintf(note, notelen, "identified as EPSG:%d (%s)", info.epsg, info.name);
            rc = 0;
            goto done;
        }
    }
    int nmatches = 0;
    int *confidence = NULL;
    OGRSpatialReferenceH *matches = OSRFindMatches(srs, NULL, &nmatches, &confidence);
    for (int i = 0; matches != NULL && i < nmatches && rc != 0; i++) {
        code = own_epsg(matches[i]);
        if (confidence[i] >= 70 && registered(ctx, code, &info)) {
            *epsg = info.epsg;
            snprintf(note, notelen, "matched to EPSG:%d (%s), %d%% sure", info.epsg, info.name,
                     confidence[i]);
            rc = 0;
        }
    }
    OSRFreeSRSArray(matches);
    CPLFree(confidence);
    if (rc == 0)
        goto done;
    {
        const char *name = OSRGetName(srs);
        pdbi__fail(ic, PDB_ECRS, "its CRS '%s' is not one parceldb accepts: %s", name ? name : "?",
                   why[0] ? why : "no registered VN-2000 or WGS 84 system matches it");
    }
done:
    if (clone != NULL)
        OSRDestroySpatialReference(clone);
    return rc == 0 ? PDB_OK : PDB_ECRS;
}

int pdbi__srs_x_is_northing(OGRSpatialReferenceH srs)
{
    int count = 0;
    const int *map = OSRGetDataAxisToSRSAxisMapping(srs, &count);
    OGRAxisOrientation orient = OAO_Other;
    const char *target = OSRIsProjected(srs) ? "PROJCS" : "GEOGCS";

    if (map == NULL || count < 2)
        return 0;
    /* The data's first axis is the SRS axis map[0] (1-based, negative when
     * reversed). */
    int axis = abs(map[0]) - 1;
    if (OSRGetAxis(srs, target, axis, &orient) == NULL)
        return 0;
    return orient == OAO_North || orient == OAO_South;
}
