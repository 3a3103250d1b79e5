#!/usr/bin/python3
"""z10_cover.py: no transparent pixel inside the surveyed land at z10.

  z10_cover.py PARCELDB STORE STYLE SURVEY_DIR

Renders (parceldb render) every z10 tile over the parcels of SURVEY_DIR's
GeoPackages, as read by OGR (not by parceldb), and checks that each pixel
whose square lies wholly inside their union is opaque: a commune whose land
use changes parcel by parcel must not show through to the map below (the
overviews' base, docs/rendering.md "Overviews"). Prints one line per tile,
"PIXELS_INSIDE TRANSPARENT_INSIDE", then the worst pixel if any.
"""
import glob
import math
import os
import subprocess
import sys

from osgeo import gdal, ogr, osr

gdal.UseExceptions()
Z = 10


def commune_land(path, wgs):
    """The union of one file's parcels in WGS 84."""
    land = ogr.Geometry(ogr.wkbMultiPolygon)
    src = gdal.OpenEx(path, gdal.OF_VECTOR)  # held: the layer dies with it
    lay = src.GetLayer(0)
    ct = osr.CoordinateTransformation(lay.GetSpatialRef(), wgs)
    for f in lay:
        g = f.GetGeometryRef()
        if g is None or not g.IsValid():
            continue  # a planted defect: the land without it is smaller, the check as true
        g = g.Clone()
        g.Transform(ct)
        if g.GetGeometryType() == ogr.wkbPolygon:
            land.AddGeometry(g)
        else:
            for k in range(g.GetGeometryCount()):
                land.AddGeometry(g.GetGeometryRef(k))
    return land.UnionCascaded()


def alpha_of(parceldb, store, style, tx, ty):
    """The alpha band of tile Z/tx/ty as parceldb renders it."""
    png = "z10-%d-%d.png" % (tx, ty)
    subprocess.run([parceldb, "render", "--db", store, "--style", style,
                    "%d/%d/%d" % (Z, tx, ty), "-o", png], check=True)
    ds = gdal.Open(png)
    if ds.RasterCount == 1:  # a palette PNG
        ds = gdal.Translate("", ds, format="MEM", rgbExpand="rgba")
    return ds.GetRasterBand(4).ReadAsArray()


def main():
    parceldb, store, style, survey = sys.argv[1:5]
    wgs = osr.SpatialReference()
    wgs.ImportFromEPSG(4326)
    wgs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    n = 2 ** Z

    def to_px(lon, lat):  # global pixel coordinates at Z
        r = math.radians(lat)
        return ((lon + 180) / 360 * n * 256,
                (1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n * 256)

    def to_deg(px, py):
        return (px / 256 / n * 360 - 180,
                math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * py / 256 / n)))))

    tiles = {}
    inside = transparent = 0
    worst = None
    # One commune (one file) at a time: communes lie apart, and a pixel
    # square is tested against a small union.
    for path in sorted(glob.glob(os.path.join(survey, "*.gpkg"))):
        land = commune_land(path, wgs)
        minx, maxx, miny, maxy = land.GetEnvelope()
        x0, y0 = (int(v) for v in to_px(minx, maxy))
        x1, y1 = (int(v) for v in to_px(maxx, miny))
        for py in range(y0, y1 + 1):
            for px in range(x0, x1 + 1):
                c = [to_deg(px + dx, py + dy) for dx, dy in ((0, 0), (1, 0), (1, 1), (0, 1),
                                                             (0, 0))]
                sq = ogr.CreateGeometryFromWkt("POLYGON((%s))" % ",".join("%.12f %.12f" % p
                                                                       for p in c))
                if not land.Contains(sq):
                    continue
                tx, ty = px // 256, py // 256
                if (tx, ty) not in tiles:
                    tiles[(tx, ty)] = alpha_of(parceldb, store, style, tx, ty)
                alpha = int(tiles[(tx, ty)][py % 256, px % 256])
                inside += 1
                if alpha < 255:
                    transparent += 1
                    if worst is None or alpha < worst[0]:
                        worst = (alpha, tx, ty, px % 256, py % 256)
    print(inside, transparent)
    if worst is not None:
        print("worst: alpha %d at pixel %d,%d of tile %d/%d/%d" % (worst[0], worst[3], worst[4],
                                                                  Z, worst[1], worst[2]))


if __name__ == "__main__":
    main()
