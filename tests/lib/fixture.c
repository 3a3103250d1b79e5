/* fixture.c: see fixture.h. */
#include "fixture.h"
#include "testutil.h"

#include <gdal.h>
#include <ogr_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fx_square_wkt(char *out, size_t cap, double e, double n, double s, double h)
{
    int len = snprintf(out, cap, "POLYGON ((%.3f %.3f, %.3f %.3f, %.3f %.3f, %.3f %.3f, %.3f %.3f)",
                       e, n, e + s, n, e + s, n + s, e, n + s, e, n);
    if (h > 0) {
        double he = e + (s - h) / 2, hn = n + (s - h) / 2;
        /* The hole runs clockwise, as holes do in most survey software. */
        len += snprintf(out + len, cap - (size_t)len,
                        ", (%.3f %.3f, %.3f %.3f, %.3f %.3f, %.3f %.3f, %.3f %.3f)", he, hn, he,
                        hn + h, he + h, hn + h, he + h, hn, he, hn);
    }
    snprintf(out + len, cap - (size_t)len, ")");
}

void fx_two_squares_wkt(char *out, size_t cap, double e1, double n1, double e2, double n2,
                        double s)
{
    snprintf(out, cap,
             "MULTIPOLYGON (((%.3f %.3f, %.3f %.3f, %.3f %.3f, %.3f %.3f, %.3f %.3f)), "
             "((%.3f %.3f, %.3f %.3f, %.3f %.3f, %.3f %.3f, %.3f %.3f)))",
             e1, n1, e1 + s, n1, e1 + s, n1 + s, e1, n1 + s, e1, n1, e2, n2, e2 + s, n2, e2 + s,
             n2 + s, e2, n2 + s, e2, n2);
}

int fx_write_gpkg(const char *dir, const char *name, const char *commune, int epsg,
                  const fx_parcel *parcels, size_t n, char *path_out, size_t cap)
{
    char csv[512];
    snprintf(csv, sizeof csv, "%s/%s.csv", dir, name);
    snprintf(path_out, cap, "%s/%s.gpkg", dir, name);
    FILE *f = fopen(csv, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "MaXa,SoHieuToBanDo,SoThuTuThua,KyHieuMucDichSuDung,TenChu,WKT\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s,%s,%s,%s,\"%s\",\"%s\"\n", commune, parcels[i].sheet, parcels[i].parcel,
                parcels[i].landuse, parcels[i].owner, parcels[i].wkt);
    fclose(f);
    return tu_run("ogr2ogr -q -f GPKG '%s' '%s' -nln parcels -a_srs EPSG:%d "
                  "-oo GEOM_POSSIBLE_NAMES=WKT -oo KEEP_GEOM_COLUMNS=NO "
                  "-oo AUTODETECT_TYPE=NO -nlt PROMOTE_TO_MULTI",
                  path_out, csv, epsg);
}

pdb_status fx_load(pdb_ctx *ctx, pdb_store *store, const char *gpkg, const char *commune,
                   int epsg, int64_t *batch_out)
{
    pdb_status st;
    pdb_writer *w = NULL;
    pdb_import_counts counts = {0};
    GDALDatasetH ds;

    GDALAllRegister();
    ds = GDALOpenEx(gpkg, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (ds == NULL)
        return PDB_ENOTFOUND;
    if ((st = pdb_import_begin(ctx, store, gpkg, batch_out)) != PDB_OK)
        goto done;
    pdb_commune_load load = {*batch_out, commune, NULL, epsg, gpkg, gpkg};
    if ((st = pdb_writer_begin(ctx, store, &load, &w)) != PDB_OK)
        goto done;
    OGRLayerH layer = GDALDatasetGetLayer(ds, 0);
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    int f_sheet = OGR_FD_GetFieldIndex(defn, "SoHieuToBanDo");
    int f_parcel = OGR_FD_GetFieldIndex(defn, "SoThuTuThua");
    int f_use = OGR_FD_GetFieldIndex(defn, "KyHieuMucDichSuDung");
    int f_owner = OGR_FD_GetFieldIndex(defn, "TenChu");
    OGRFeatureH feat;
    OGR_L_ResetReading(layer);
    while (st == PDB_OK && (feat = OGR_L_GetNextFeature(layer)) != NULL) {
        OGRGeometryH g = OGR_F_GetGeometryRef(feat);
        size_t len = (size_t)OGR_G_WkbSize(g);
        unsigned char *wkb = malloc(len);
        OGR_G_ExportToIsoWkb(g, wkbNDR, wkb);
        pdb_parcel p = {0};
        p.commune = (char *)commune;
        p.sheet = (char *)OGR_F_GetFieldAsString(feat, f_sheet);
        p.parcel = (char *)OGR_F_GetFieldAsString(feat, f_parcel);
        p.landuse = (char *)OGR_F_GetFieldAsString(feat, f_use);
        p.owner = (char *)OGR_F_GetFieldAsString(feat, f_owner);
        p.area_surveyed_m2 = OGR_G_Area(g);
        p.source_wkb = wkb;
        p.source_wkb_len = len;
        st = pdb_writer_add(ctx, w, &p, NULL);
        counts.read++;
        counts.stored += st == PDB_OK;
        free(wkb);
        OGR_F_Destroy(feat);
    }
    if (st == PDB_OK)
        st = pdb_writer_commit(ctx, w, &counts);
    if (st == PDB_OK)
        st = pdb_import_end(ctx, store, *batch_out, "done", &counts);
done:
    pdb_writer_free(w);
    GDALClose(ds);
    return st;
}

int fx_cs2cs_to_wgs84(int epsg, double e, double n, double *lon, double *lat)
{
    char *out = tu_capture("echo '%.6f %.6f' | cs2cs -f %%.12f EPSG:%d EPSG:4326", e, n, epsg);
    if (out == NULL)
        return -1;
    int ok = sscanf(out, "%lf %lf", lat, lon) == 2; /* EPSG:4326 is lat, lon */
    free(out);
    return ok ? 0 : -1;
}
