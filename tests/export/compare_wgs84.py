#!/usr/bin/python3
"""compare_wgs84.py A B: the current parcels of two stores (SQLite files,
or "PG:CONNINFO active_schema=parceldb" for PostgreSQL stores), matched by
(commune, former commune, sheet, parcel), read with GDAL's SQLite or
PostgreSQL driver. Prints "parcels N", "unmatched N" and "max_deg D", the
largest distance in degrees from a vertex of A's WGS 84 geometry to the
nearest vertex of B's (orientation and start vertex may differ: RFC 7946
rewinds rings). tests/export/roundtrip.sh judges the numbers."""
import sys

from osgeo import ogr

ogr.UseExceptions()


def read(path):
    ds = ogr.Open(path)
    if path.startswith("PG:"):
        # The geometry as WKB text: GDAL's PG driver would ask PostGIS's
        # geometry_columns for its SRID, and that view fails on the
        # parcels table's CHECK (ST_SRID(source_geom) = source_srid).
        lyr = ds.ExecuteSQL(
            "SELECT commune, coalesce(former_commune, '') AS f, sheet, parcel, "
            "encode(ST_AsBinary(geom), 'hex') AS wkb FROM parcels WHERE valid_to IS NULL"
        )
    else:
        lyr = ds.ExecuteSQL(
            "SELECT commune, coalesce(former_commune, '') AS f, sheet, parcel, geom "
            "FROM parcels WHERE valid_to IS NULL",
            dialect="SQLITE",
        )
    out = {}
    for feat in lyr:
        key = (feat["commune"], feat["f"], feat["sheet"], feat["parcel"])
        if path.startswith("PG:"):
            g = ogr.CreateGeometryFromWkb(bytes.fromhex(feat["wkb"]))
        else:
            g = feat.GetGeometryRef()
        pts = []
        for i in range(g.GetGeometryCount()):
            poly = g.GetGeometryRef(i)
            for j in range(poly.GetGeometryCount()):
                pts.extend(poly.GetGeometryRef(j).GetPoints())
        out.setdefault(key, []).append(pts)
    ds.ReleaseResultSet(lyr)
    return out


a, b = read(sys.argv[1]), read(sys.argv[2])
worst, unmatched = 0.0, 0
for key, versions in a.items():
    if key not in b or len(b[key]) != len(versions):
        unmatched += 1
        continue
    for pa, pb in zip(versions, b[key]):
        for x, y in pa:
            worst = max(worst, min(max(abs(x - u), abs(y - v)) for u, v in pb))
print("parcels", sum(len(v) for v in a.values()))
print("unmatched", unmatched + sum(1 for k in b if k not in a))
print("max_deg", "%.3g" % worst)
