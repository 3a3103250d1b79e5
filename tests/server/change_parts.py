#!/usr/bin/env python3
"""Fixtures for the change tests, made with GDAL/OGR and GEOS from a survey
file of pdb-synth (layer ThuaDat, survey CRS):

  split FILE SHEET PARCEL N OUT [good|gap|overlap]
      the parcel cut into N parts by N-1 north-south lines at equal shares
      of its width (each part the parcel's Intersection with a half-plane
      box), written as GeoJSON (with its "crs") with land uses ONT, CLN, ...;
      gap: part 1 stops 0.5 m short of the cut; overlap: it goes 0.5 m past.
  pair FILE touch|apart
      "SHEET P1 P2": two parcels of one sheet that share a boundary longer
      than 1 m, or that are 50 m or more apart.
  reshape FILE SHEET PARCEL METRES OUT
      the parcel's boundary moved METRES outwards (GEOS Buffer, rounded;
      negative: inwards), as a one-feature GeoJSON in the survey CRS.
  inside FILE SHEET PARCEL
      "E N": a point well inside the parcel (PointOnSurface of the parcel
      shrunk by 1 m), in the survey CRS.
  inside-part GEOJSON I
      the same for part I (from 1) of a parts file.
"""
import sys

from osgeo import ogr, osr

ogr.UseExceptions()
osr.UseExceptions()
USES = ["ONT", "CLN", "LUC", "BHK", "ODT"]


def layer(path):
    ds = ogr.Open(path)
    return ds, ds.GetLayer("ThuaDat")


def parcel(path, sheet, number):
    ds, lyr = layer(path)
    lyr.SetAttributeFilter(f"SoHieuToBanDo = {int(sheet)} AND SoThuTuThua = {int(number)}")
    f = lyr.GetNextFeature()
    if f is None:
        sys.exit(f"no parcel {sheet}/{number} in {path}")
    return f.GetGeometryRef().Clone(), lyr.GetSpatialRef().Clone()


def box(x0, y0, x1, y1):
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)):
        ring.AddPoint_2D(x, y)
    poly = ogr.Geometry(ogr.wkbPolygon)
    poly.AddGeometry(ring)
    return poly


def split(path, sheet, number, n, out, mode):
    g, srs = parcel(path, sheet, number)
    minx, maxx, miny, maxy = g.GetEnvelope()
    cuts = [minx + (maxx - minx) * i / n for i in range(n + 1)]
    cuts[0], cuts[-1] = minx - 10, maxx + 10
    parts = []
    for i in range(n):
        x0, x1 = cuts[i], cuts[i + 1]
        if i == 0 and mode == "gap":
            x1 -= 0.5
        if i == 0 and mode == "overlap":
            x1 += 0.5
        parts.append(g.Intersection(box(x0, miny - 10, x1, maxy + 10)))
    drv = ogr.GetDriverByName("GeoJSON")
    ds = drv.CreateDataSource(out)
    lyr = ds.CreateLayer("parts", srs=srs, geom_type=ogr.wkbMultiPolygon)
    lyr.CreateField(ogr.FieldDefn("landuse", ogr.OFTString))
    for i, p in enumerate(parts):
        f = ogr.Feature(lyr.GetLayerDefn())
        f.SetField("landuse", USES[i % len(USES)])
        f.SetGeometry(ogr.ForceToMultiPolygon(p))
        lyr.CreateFeature(f)
    ds = None


def reshape(path, sheet, number, metres, out):
    g, srs = parcel(path, sheet, number)
    moved = g.Buffer(metres)
    drv = ogr.GetDriverByName("GeoJSON")
    ds = drv.CreateDataSource(out)
    lyr = ds.CreateLayer("geometry", srs=srs, geom_type=ogr.wkbMultiPolygon)
    f = ogr.Feature(lyr.GetLayerDefn())
    f.SetGeometry(ogr.ForceToMultiPolygon(moved))
    lyr.CreateFeature(f)
    ds = None


def pair(path, want):
    ds, lyr = layer(path)
    feats = [(f.GetField("SoHieuToBanDo"), f.GetField("SoThuTuThua"), f.GetGeometryRef().Clone())
             for f in lyr]
    # Only numbers that are unique in the file (a merged commune repeats
    # its former communes' numbers; a change names a parcel by number).
    seen = {}
    for s, p, _ in feats:
        seen[(s, p)] = seen.get((s, p), 0) + 1
    feats = [f for f in feats if seen[(f[0], f[1])] == 1]
    for i, (s1, p1, g1) in enumerate(feats):
        for s2, p2, g2 in feats[i + 1:]:
            if s1 != s2:
                continue
            if want == "touch":
                shared = g1.GetBoundary().Intersection(g2.GetBoundary())
                if shared is not None and shared.Length() > 1.0 and not g1.Overlaps(g2):
                    print(s1, p1, p2)
                    return
            elif g1.Distance(g2) >= 50:
                print(s1, p1, p2)
                return
    sys.exit(f"no pair that would {want}")


def inside_point(g):
    shrunk = g.Buffer(-1.0)
    p = (shrunk if shrunk is not None and not shrunk.IsEmpty() else g).PointOnSurface()
    print(f"{p.GetX():.3f} {p.GetY():.3f}")


def main():
    cmd = sys.argv[1]
    if cmd == "split":
        split(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6],
              sys.argv[7] if len(sys.argv) > 7 else "good")
    elif cmd == "reshape":
        reshape(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), sys.argv[6])
    elif cmd == "pair":
        pair(sys.argv[2], sys.argv[3])
    elif cmd == "inside":
        inside_point(parcel(sys.argv[2], sys.argv[3], sys.argv[4])[0])
    elif cmd == "inside-part":
        ds = ogr.Open(sys.argv[2])
        f = ds.GetLayer(0).GetFeature(int(sys.argv[3]) - 1)
        if f is None:  # GeoJSON FIDs may start at 1
            f = ds.GetLayer(0).GetFeature(int(sys.argv[3]))
        inside_point(f.GetGeometryRef())
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
