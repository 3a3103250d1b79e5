/*
 * qa_gpkg.c: the quality report as a GeoPackage (docs/qa.md): one layer
 * per check and survey CRS ("overlap", or "overlap_9210" when the communes
 * span zones), each finding a feature with its geometry (the overlap's
 * area, the gap, the parcel) and its attributes, so that an officer opens
 * it in QGIS beside the parcels. GDAL lives under import/ (STYLE.md), so
 * the writer does too.
 */
#include "qa_gpkg.h"
#include "imp.h"

#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The layer of (check, srid), created on first use. */
static OGRLayerH layer_for(pdbi_ctx *ic, GDALDatasetH ds, const pdb_qa_report *rep,
                           const pdb_qa_finding *f, pdb_status *st)
{
    char name[64];
    int zones = 0;
    /* One layer per check when all findings of the check share a CRS. */
    for (size_t i = 0; i < rep->count; i++)
        if (rep->items[i].check == f->check && rep->items[i].srid != f->srid)
            zones = 1;
    if (zones)
        snprintf(name, sizeof name, "%s_%d", pdb_qa_check_name(f->check), f->srid);
    else
        snprintf(name, sizeof name, "%s", pdb_qa_check_name(f->check));
    OGRLayerH l = GDALDatasetGetLayerByName(ds, name);
    if (l != NULL)
        return l;
    OGRSpatialReferenceH srs = NULL;
    if (f->wkb != NULL) {
        srs = OSRNewSpatialReference(NULL);
        if (OSRImportFromEPSG(srs, f->srid) != OGRERR_NONE) {
            OSRDestroySpatialReference(srs);
            *st = pdbi__fail(ic, PDB_ECRS, "GDAL does not know EPSG:%d", f->srid);
            return NULL;
        }
    }
    l = GDALDatasetCreateLayer(ds, name, srs, f->wkb ? wkbMultiPolygon : wkbNone, NULL);
    if (srs)
        OSRDestroySpatialReference(srs);
    if (l == NULL) {
        *st = pdbi__fail(ic, PDB_EIO, "cannot create layer %s: %s", name, CPLGetLastErrorMsg());
        return NULL;
    }
    static const struct {
        const char *name;
        OGRFieldType type;
    } fields[] = {
        {"check_name", OFTString},   {"severity", OFTString},      {"commune", OFTString},
        {"former", OFTString},       {"sheet", OFTString},         {"parcel", OFTString},
        {"parcel_id", OFTInteger64}, {"other_commune", OFTString}, {"other_sheet", OFTString},
        {"other_parcel", OFTString}, {"other_id", OFTInteger64},   {"measure", OFTReal},
        {"unit", OFTString},         {"detail", OFTString}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        OGRFieldDefnH fd = OGR_Fld_Create(fields[i].name, fields[i].type);
        OGRErr e = OGR_L_CreateField(l, fd, 1);
        OGR_Fld_Destroy(fd);
        if (e != OGRERR_NONE) {
            *st = pdbi__fail(ic, PDB_EIO, "cannot add field %s to %s", fields[i].name, name);
            return NULL;
        }
    }
    return l;
}

static void set_text(OGRFeatureH ft, const char *field, const char *v)
{
    if (v != NULL && v[0] != '\0')
        OGR_F_SetFieldString(ft, OGR_F_GetFieldIndex(ft, field), v);
}

pdb_status pdbi_qa_write_gpkg(pdbi_ctx *ic, const pdb_qa_report *rep, const char *path)
{
    pdb_status st = PDB_OK;
    GDALAllRegister();
    GDALDriverH drv = GDALGetDriverByName("GPKG");
    if (drv == NULL)
        return pdbi__fail(ic, PDB_EIO, "GDAL has no GPKG driver");
    if (access(path, F_OK) == 0 && unlink(path) != 0)
        return pdbi__fail(ic, PDB_EIO, "%s: cannot replace it: %m", path);
    GDALDatasetH ds = GDALCreate(drv, path, 0, 0, 0, GDT_Unknown, NULL);
    if (ds == NULL)
        return pdbi__fail(ic, PDB_EIO, "%s: %s", path, CPLGetLastErrorMsg());
    GDALDatasetStartTransaction(ds, 0);
    for (size_t i = 0; i < rep->count && st == PDB_OK; i++) {
        const pdb_qa_finding *f = &rep->items[i];
        OGRLayerH l = layer_for(ic, ds, rep, f, &st);
        if (l == NULL)
            break;
        OGRFeatureH ft = OGR_F_Create(OGR_L_GetLayerDefn(l));
        set_text(ft, "check_name", pdb_qa_check_name(f->check));
        set_text(ft, "severity", pdb_qa_severity_name(f->severity));
        set_text(ft, "commune", f->commune);
        set_text(ft, "former", f->former);
        set_text(ft, "sheet", f->sheet);
        set_text(ft, "parcel", f->parcel);
        if (f->id)
            OGR_F_SetFieldInteger64(ft, OGR_F_GetFieldIndex(ft, "parcel_id"), f->id);
        set_text(ft, "other_commune", f->other_commune);
        set_text(ft, "other_sheet", f->other_sheet);
        set_text(ft, "other_parcel", f->other_parcel);
        if (f->other_id)
            OGR_F_SetFieldInteger64(ft, OGR_F_GetFieldIndex(ft, "other_id"), f->other_id);
        OGR_F_SetFieldDouble(ft, OGR_F_GetFieldIndex(ft, "measure"), f->measure);
        set_text(ft, "unit", f->measure_unit);
        set_text(ft, "detail", f->detail);
        if (f->wkb != NULL) {
            OGRGeometryH g = NULL;
            if (OGR_G_CreateFromWkb(f->wkb, NULL, &g, (int)f->wkb_len) != OGRERR_NONE) {
                st = pdbi__fail(ic, PDB_EGEOM, "finding %zu: GDAL cannot read its geometry", i);
            } else {
                OGR_F_SetGeometryDirectly(ft, OGR_G_ForceToMultiPolygon(g));
            }
        }
        if (st == PDB_OK && OGR_L_CreateFeature(l, ft) != OGRERR_NONE)
            st = pdbi__fail(ic, PDB_EIO, "%s: %s", path, CPLGetLastErrorMsg());
        OGR_F_Destroy(ft);
    }
    if (st == PDB_OK && GDALDatasetCommitTransaction(ds) != OGRERR_NONE)
        st = pdbi__fail(ic, PDB_EIO, "%s: %s", path, CPLGetLastErrorMsg());
    GDALClose(ds);
    if (st != PDB_OK)
        unlink(path);
    return st;
}
