"""check.py: the vector-tile benchmark's checks and tile lists.

  check.py PARCELDB STORE CONNINFO DIR Z...
      Correctness before timing: the first 20 tiles of DIR/tiles-Z.txt
      from `parceldb render --format mvt` and from PostGIS's ST_AsMVT
      (the anchor's query), each decoded with GDAL's MVT driver. Every
      tile must decode; at z16 and deeper, where parceldb's parcels layer
      holds every parcel (no overviews, no thinning), its parcels must be
      PostGIS's but for slivers and shapes in the buffer only (explained()).
      Exits 1 with the first difference.
  check.py --all-tiles STORE DIR Z...
      Writes DIR/all-Z.txt: every tile a current parcel's box touches.

Run with Debian's python3 (python3-gdal, python3-psycopg2).
"""
import math
import os
import sqlite3
import subprocess
import sys

from osgeo import gdal, ogr

gdal.UseExceptions()

SQL = ("SELECT ST_AsMVT(q, 'parcels', 4096, 'geom') FROM ("
       "SELECT id, commune, sheet, parcel, landuse, area, "
       "ST_AsMVTGeom(geom, ST_TileEnvelope(%s, %s, %s), 4096, 64, true) AS geom "
       "FROM parcels_mvt WHERE geom && ST_TileEnvelope(%s, %s, %s, margin => 64.0 / 4096)) q")


def tile_range(lon0, lat0, lon1, lat1, z):
    n = 1 << z

    def tx(lon):
        return min(n - 1, max(0, int((lon + 180.0) / 360.0 * n)))

    def ty(lat):
        lat = max(-85.0511, min(85.0511, lat))
        r = math.radians(lat)
        return min(n - 1, max(0, int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)))

    return tx(lon0), tx(lon1), ty(lat1), ty(lat0)


def all_tiles(store, out, zooms):
    db = sqlite3.connect(store)
    rows = db.execute("SELECT r.xmin, r.ymin, r.xmax, r.ymax FROM idx_parcels_geom r "
                      "JOIN parcels p ON p.id = r.pkid WHERE p.valid_to IS NULL").fetchall()
    for z in zooms:
        seen = set()
        for x0, y0, x1, y1 in rows:
            a, b, c, d = tile_range(x0, y0, x1, y1, z)
            for x in range(a, b + 1):
                for y in range(c, d + 1):
                    seen.add((x, y))
        with open(os.path.join(out, "all-%d.txt" % z), "w") as f:
            for x, y in sorted(seen):
                f.write("%d %d %d\n" % (z, x, y))


MERC = 20037508.342789244


def decode(path, z, x, y):
    """The parcels layer of a tile, by GDAL's MVT driver: {id: (area in
    tile units squared, whether it meets the tile proper)}."""
    ds = gdal.OpenEx(path, gdal.OF_VECTOR, allowed_drivers=["MVT"],
                     open_options=["Z=%d" % z, "X=%d" % x, "Y=%d" % y])
    size = 2 * MERC / (1 << z)
    unit2 = (size / 4096) ** 2
    x0, y1 = -MERC + x * size, MERC - y * size
    ring = ogr.Geometry(ogr.wkbLinearRing)
    for px, py in ((x0, y1 - size), (x0 + size, y1 - size), (x0 + size, y1), (x0, y1), (x0, y1 - size)):
        ring.AddPoint_2D(px, py)
    proper = ogr.Geometry(ogr.wkbPolygon)
    proper.AddGeometry(ring)
    out = {}
    layer = ds.GetLayerByName("parcels")
    if layer is not None:
        for f in layer:
            if f.GetFieldIndex("id") >= 0 and f.IsFieldSet("id"):
                g = f.GetGeometryRef()
                out[int(f.GetField("id"))] = (g.GetArea() / unit2, g.Intersection(proper).GetArea() > 0)
    return out


def explained(only):
    """Parcels one tool has and the other not that are no fault: slivers
    under one tile unit squared (PostGIS drops polygons that small after
    snapping; parceldb keeps every parcel at z16 and deeper), or shapes in
    the buffer only, outside the tile proper."""
    return all(area < 1 or not inside for area, inside in only.values())


def check(parceldb, store, conninfo, out, zooms):
    import psycopg2
    conn = psycopg2.connect(conninfo)
    cur = conn.cursor()
    work = os.path.join(out, "check")
    os.makedirs(work, exist_ok=True)
    for z in zooms:
        tiles = [l.split() for l in open(os.path.join(out, "tiles-%d.txt" % z)) if l.strip()][:20]
        lst = os.path.join(work, "tiles-%d.txt" % z)
        with open(lst, "w") as f:
            f.writelines("%s %s %s\n" % tuple(t) for t in tiles)
        subprocess.run([parceldb, "render", "--db", store, "--format", "mvt", "--tiles", lst,
                        "--out", os.path.join(work, "pdb")], check=True, stdout=subprocess.DEVNULL)
        both = slivers = 0
        for zs, xs, ys in tiles:
            zi, xi, yi = int(zs), int(xs), int(ys)
            mine = os.path.join(work, "pdb", zs, xs, ys + ".mvt")
            cur.execute(SQL, (zi, xi, yi, zi, xi, yi))
            theirs = os.path.join(work, "pg-%s-%s-%s.mvt" % (zs, xs, ys))
            with open(theirs, "wb") as f:
                f.write(bytes(cur.fetchone()[0]))
            a, b = decode(mine, zi, xi, yi), decode(theirs, zi, xi, yi)
            only_a = {k: v for k, v in a.items() if k not in b}
            only_b = {k: v for k, v in b.items() if k not in a}
            if zi >= 16 and not (explained(only_a) and explained(only_b)):
                print("tile %s/%s/%s: parceldb's parcels differ from PostGIS's: %d only in "
                      "parceldb (e.g. %s), %d only in PostGIS (e.g. %s)"
                      % (zs, xs, ys, len(only_a), sorted(only_a.items())[:3], len(only_b),
                         sorted(only_b.items())[:3]))
                return 1
            slivers += len(only_a) + len(only_b)
            both += 1
        print("z%d: %d tiles decoded from both tools%s" % (
            z, both, ", same parcels but %d slivers or buffer-only shapes" % slivers if z >= 16 else ""))
    return 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--all-tiles":
        all_tiles(sys.argv[2], sys.argv[3], [int(z) for z in sys.argv[4:]])
        return 0
    return check(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], [int(z) for z in sys.argv[5:]])


if __name__ == "__main__":
    sys.exit(main())
