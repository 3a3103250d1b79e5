#!/usr/bin/python3
"""Writes the extract tests' parcels as a CSV of WKT (for ogr2ogr) on
stdout: commune 07894 in VN-2000 TM-3 104-45 (EPSG:9208), placed from the
Viet Tri reference point X0 Y0 (easting, northing; the caller has it from
cs2cs). Each parcel is a case of issue 14: an irregular quadrilateral with
two neighbours, one with a hole, one of two parts, one of 300 vertices,
and a number held twice (two former communes)."""
import math
import sys


def ring_text(r):
    return "(" + ",".join("%.3f %.3f" % p for p in r + [r[0]]) + ")"


def poly(rings):
    return "POLYGON (" + ",".join(ring_text(r) for r in rings) + ")"


def mpoly(polys):
    return "MULTIPOLYGON (" + ",".join("(" + ",".join(ring_text(r) for r in p) + ")" for p in polys) + ")"


x0, y0 = float(sys.argv[1]), float(sys.argv[2])


def at(dx, dy):
    return (x0 + dx, y0 + dy)


rows = [
    # sheet, parcel, former commune, land use, registered area, WKT
    (12, 1, "", "ONT", 480, poly([[at(0, 0), at(21.137, 1.214), at(19.802, 24.561), at(-0.731, 22.096)]])),
    (12, 5, "", "CLN", 460, poly([[at(21.137, 1.214), at(41, 2), at(40, 25), at(19.802, 24.561)]])),
    (12, 6, "", "LUC", 450, poly([[at(-0.731, 22.096), at(19.802, 24.561), at(19, 45), at(-1.5, 44)]])),
    (12, 2, "", "ONT+CLN", 1127.6,
     poly([[at(100, 0), at(140.25, 0), at(140.25, 30.5), at(100, 30.5)],
           [at(110, 10), at(110, 20), at(120, 20), at(120, 10)]])),
    (12, 3, "", "BHK", 317.5,
     mpoly([[[at(200, 0), at(215, 0), at(215, 12), at(200, 12)]],
            [[at(220, 3), at(232.5, 3), at(232.5, 14), at(220, 14)]]])),
    (12, 4, "", "LUK", 11300,
     poly([[at(400 + (60 + 5 * math.sin(7 * a)) * math.cos(a), (60 + 5 * math.sin(7 * a)) * math.sin(a))
            for a in (2 * math.pi * i / 300 for i in range(300))]])),
    (12, 7, "", "ONT", 100, poly([[at(0, -100), at(10, -100), at(10, -90), at(0, -90)]])),
    (12, 7, "09001", "ONT", 120, poly([[at(30, -100), at(42, -100), at(42, -90), at(30, -90)]])),
]
print("WKT,MaXa,MaXaCu,SoTo,SoThua,LoaiDat,DienTich,DiaChi")
for sheet, parcel, former, landuse, area, wkt in rows:
    print('"%s",07894,%s,%d,%d,%s,%s,"Khu 3, phường Việt Trì"' % (wkt, former, sheet, parcel, landuse, area))
