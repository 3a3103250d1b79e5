#!/usr/bin/python3
"""sweep.py: what tests/import/sweep.sh asks GDAL, independently of parceldb.

  sweep.py points PARCELDB DB SURVEY MANIFEST N
      Reads SURVEY with OGR, takes N of its sound features spread evenly
      (not among the manifest's defect_parcels, not empty) and computes
      each one's point on surface (GEOS through OGR) in the survey's CRS.
      All N go to WGS 84 through osr with the operation parceldb pins
      (TM-3 inverse, then EPSG:6960 as projinfo spells it) and to one
      `parceldb lookup --points`; the first five also to `parceldb lookup
      --srs EPSG:ZONE --en E,N`, whose every answer is compared. Prints a
      line per lookup: KIND INDEX E N WANT GOT, KIND wgs84 (WANT is
      commune/sheet/parcel, GOT the batch's first match) or tm3 (WANT is
      commune/former/sheet/parcel, GOT every match joined by ';'); '-' for
      no answer.
  sweep.py text DB
      Prints how many current parcels have an owner or address that is not
      in Unicode NFC or holds U+FFFD, then how many have an address.
  sweep.py png FILE...
      Prints, per file, its name and the number of pixels that are not
      transparent background, as GDAL decodes the PNG (palette or RGBA).
  sweep.py mvt FILE...
      Each FILE is DIR/Z-X-Y.mvt: decodes it with GDAL's MVT driver and
      prints its name, its zoom, the feature counts of its parcels and
      communes layers, and how many features have an invalid or empty
      geometry (GEOS through OGR).
  sweep.py qa REPORT.json
      Prints the number of findings of severity error, then the checks
      they are of (comma-separated, or '-').
"""
import csv
import io
import json
import sqlite3
import subprocess
import sys
import unicodedata

from osgeo import gdal, ogr, osr

gdal.UseExceptions()
ogr.UseExceptions()


def text(value):
    if value is None or value == "":
        return "null"
    return str(value)


def points(parceldb, db, survey, manifest_path, n):
    with open(manifest_path, encoding="utf-8") as f:
        m = json.load(f)
    fields = m["fields"]
    skip = set()
    for indices in m.get("defect_parcels", {}).values():
        skip.update(indices)
    ds = ogr.Open(survey)
    layer = ds.GetLayerByName(m["layer"]) or ds.GetLayer(0)
    sound = []
    for index, feat in enumerate(layer):
        geom = feat.GetGeometryRef()
        if index in skip or geom is None or geom.IsEmpty():
            continue
        p = geom.PointOnSurface()
        want = "/".join(text(feat.GetField(fields[k])) if fields.get(k) else "null"
                        for k in ("commune", "former_commune", "sheet", "parcel"))
        sound.append((index, p.GetX(), p.GetY(), want))
    if not sound:
        sys.exit("sweep.py: no sound feature in %s" % survey)
    step = max(1, len(sound) // n)
    chosen = sound[::step][:n]
    zone = m["crs"]["zone_epsg"]

    def srs(code):
        r = osr.SpatialReference()
        r.ImportFromEPSG(code)
        r.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        return r

    helmert = subprocess.run(["projinfo", "urn:ogc:def:coordinateOperation:EPSG::6960", "-o",
                              "PROJ", "-q", "--single-line"], capture_output=True, text=True,
                             check=True).stdout.strip()
    opts = osr.CoordinateTransformationOptions()
    opts.SetOperation(helmert)
    to_geog = osr.CoordinateTransformation(srs(zone), srs(4756))
    to_wgs84 = osr.CoordinateTransformation(srs(4756), srs(4326), opts)
    csv_path = db + ".points.csv"
    with open(csv_path, "w", encoding="utf-8") as f:
        f.write("id,lon,lat\n")
        for index, x, y, _ in chosen:
            lon, lat, _ = to_wgs84.TransformPoint(*to_geog.TransformPoint(x, y)[:2])
            f.write("%d,%.10f,%.10f\n" % (index, lon, lat))
    out = subprocess.run([parceldb, "lookup", "--db", db, "--points", csv_path],
                         capture_output=True, text=True)
    answers = {}
    if out.returncode != 0:
        err = "error:" + out.stderr.strip().replace(" ", "_")
    else:
        err = "-"
        for row in list(csv.reader(io.StringIO(out.stdout)))[1:]:
            answers[row[0]] = "/".join(row[1:]) if any(row[1:]) else "-"
    for index, x, y, want in chosen:
        c, _, sheet, parcel = want.split("/")
        print("wgs84", index, "%.4f" % x, "%.4f" % y, "/".join((c, sheet, parcel)),
              answers.get(str(index), err))
    for index, x, y, want in chosen[:5]:
        out = subprocess.run([parceldb, "lookup", "--db", db, "--srs", "EPSG:%d" % zone, "--en",
                              "%.4f,%.4f" % (x, y)], capture_output=True, text=True)
        if out.returncode != 0:
            got = "error:" + out.stderr.strip().replace(" ", "_")
        else:
            got = ";".join("/".join(text(f["properties"].get(k))
                                    for k in ("commune", "former_commune", "sheet", "parcel"))
                           for f in json.loads(out.stdout)["features"]) or "-"
        print("tm3", index, "%.4f" % x, "%.4f" % y, want, got)


def text_check(db):
    con = sqlite3.connect(db)
    bad = have = 0
    for owner, address in con.execute(
            "SELECT owner, address FROM parcels WHERE valid_to IS NULL"):
        have += bool(address)
        for v in (owner, address):
            if v and (not unicodedata.is_normalized("NFC", v) or "\ufffd" in v):
                bad += 1
                break
    print(bad, have)


def png(path):
    ds = gdal.Open(path)
    print(path, end=" ")
    band = ds.GetRasterBand(1)
    table = band.GetColorTable()
    if table is not None:
        alpha = [table.GetColorEntry(i)[3] for i in range(table.GetCount())]
        data = band.ReadRaster()
        print(sum(1 for v in data if alpha[v] > 0))
    elif ds.RasterCount in (2, 4):
        data = ds.GetRasterBand(ds.RasterCount).ReadRaster()
        print(sum(1 for v in data if v > 0))
    else:
        sys.exit("sweep.py: %s has no alpha: no transparent background to tell" % path)


def mvt(path):
    z, x, y = path.rsplit("/", 1)[1][:-4].split("-")[-3:]
    ds = gdal.OpenEx(path, gdal.OF_VECTOR, allowed_drivers=["MVT"],
                     open_options=["Z=" + z, "X=" + x, "Y=" + y])
    counts, bad = [], 0
    for name in ("parcels", "communes"):
        layer = ds.GetLayerByName(name)
        n = 0
        if layer is not None:
            for f in layer:
                n += 1
                g = f.GetGeometryRef()
                if g is None or g.IsEmpty() or not g.IsValid():
                    bad += 1
        counts.append(n)
    print(path, z, counts[0], counts[1], bad)


def qa(path):
    report = json.load(open(path, encoding="utf-8"))
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    print(len(errors), ",".join(sorted({f["check"] for f in errors})) or "-")


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "points":
        points(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
    elif len(sys.argv) == 3 and sys.argv[1] == "text":
        text_check(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "png":
        for path in sys.argv[2:]:
            png(path)
    elif len(sys.argv) >= 3 and sys.argv[1] == "mvt":
        for path in sys.argv[2:]:
            mvt(path)
    elif len(sys.argv) == 3 and sys.argv[1] == "qa":
        qa(sys.argv[2])
    else:
        sys.exit(__doc__)
