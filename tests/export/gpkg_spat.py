#!/usr/bin/python3
"""gpkg_spat.py GPKG LAYER MINX MINY MAXX MAXY: what a spatial query on a
GeoPackage that `parceldb export` wrote must return, found without its
R-tree, so that tests/export/roundtrip.sh can compare it with `ogrinfo
-spat` (which goes through the R-tree):

    brute FID FID ...   every feature whose geometry meets the box, found by
                        reading all of them (GDAL/GEOS Intersects), sorted
    rtree_missing N     features whose envelope meets the box but that the
                        R-tree's own table does not return for it (must be 0)
    rtree_extra N       features the R-tree returns whose envelope lies more
                        than 0.5 m from the box (must be 0: the R-tree holds
                        float32 boxes rounded outward, 0.25 m at 2,300 km)

OGR and SQLite do the reading; nothing here decides what the file holds.
"""
import sqlite3
import sys

from osgeo import ogr

ogr.UseExceptions()


def main():
    path, layer_name = sys.argv[1], sys.argv[2]
    x0, y0, x1, y1 = (float(v) for v in sys.argv[3:7])
    box = ogr.CreateGeometryFromWkt(
        f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))")
    ds = ogr.Open(path)
    layer = ds.GetLayerByName(layer_name)
    meets, near, envelope_meets = [], set(), set()
    for f in layer:  # no spatial filter: every feature is read
        g = f.GetGeometryRef()
        minx, maxx, miny, maxy = g.GetEnvelope()
        if minx <= x1 and maxx >= x0 and miny <= y1 and maxy >= y0:
            envelope_meets.add(f.GetFID())
        if minx <= x1 + 0.5 and maxx >= x0 - 0.5 and miny <= y1 + 0.5 and maxy >= y0 - 0.5:
            near.add(f.GetFID())
        if g.Intersects(box):
            meets.append(f.GetFID())
    ds = None
    db = sqlite3.connect(path)
    rtree = {r[0] for r in db.execute(
        f'SELECT id FROM "rtree_{layer_name}_geom" '
        "WHERE minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?", (x1, x0, y1, y0))}
    db.close()
    print("brute", " ".join(str(fid) for fid in sorted(meets)))
    print("rtree_missing", len(envelope_meets - rtree))
    print("rtree_extra", len(rtree - near))


if __name__ == "__main__":
    main()
