#!/usr/bin/python3
"""Checks an extract against its source file with GDAL/OGR alone (Debian's
python3-gdal), never with parceldb's code. Subcommands:

  table TEXT GPKG PARCEL [FORMER]
      TEXT is `pdftotext -layout` of the PDF. Every vertex of the parcel in
      the source file appears on one line with its X (northing) and Y
      (easting) to the millimetre, and every edge's length (two decimals)
      appears, within 0.01 m.
  scale SVG GPKG PARCEL SCALE
      SVG is `pdftocairo -svg` of the sheet. The parcel's outline (the
      even-odd filled path with the 1.4 pt stroke) measured on the page is
      the parcel's extent at 1:SCALE, within 1 %, across and down.
  pixels PNG SVG DPI RGB
      PNG is the extract as a PNG at DPI, SVG the same sheet as a PDF's
      page. Inside the parcel, near its first vertex, the pixel is the fill
      colour RGB ("r,g,b"); the middle of its first edge is its dark outline.

Prints one line per failure and exits 1 when any.
"""
import math
import re
import sys

from osgeo import gdal, ogr

gdal.UseExceptions()
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def parcel_rings(gpkg, parcel, former=None):
    """The parcel's rings as lists of (easting, northing), closing point dropped."""
    ds = ogr.Open(gpkg)
    lyr = ds.GetLayer(0)
    out = []
    for f in lyr:
        if str(f.GetField("SoThua")) != parcel:
            continue
        if former is not None and (f.GetField("MaXaCu") or "") != former:
            continue
        g = f.GetGeometryRef()
        polys = [g] if g.GetGeometryType() in (ogr.wkbPolygon, ogr.wkbPolygon25D) else \
            [g.GetGeometryRef(i) for i in range(g.GetGeometryCount())]
        for p in polys:
            for i in range(p.GetGeometryCount()):
                r = p.GetGeometryRef(i)
                pts = [(r.GetX(k), r.GetY(k)) for k in range(r.GetPointCount())]
                if pts[0] == pts[-1]:
                    pts = pts[:-1]
                out.append(pts)
    if not out:
        fail("parcel %s not in %s" % (parcel, gpkg))
    return out


def check_table(text_path, gpkg, parcel, former=None):
    text = open(text_path, encoding="utf-8").read()
    lines = text.splitlines()
    tokens = set(re.findall(r"-?\d+\.\d+", text))
    nv = 0
    for ring in parcel_rings(gpkg, parcel, former):
        for i, (e, n) in enumerate(ring):
            nv += 1
            x, y = "%.3f" % n, "%.3f" % e
            if not any(re.search(r"(^|\s)%s\s+%s(\s|$)" % (re.escape(x), re.escape(y)), l)
                       for l in lines):
                fail("parcel %s: no table row with X %s and Y %s" % (parcel, x, y))
            e2, n2 = ring[(i + 1) % len(ring)]
            d = math.hypot(e2 - e, n2 - n)
            if not any(abs(float(t) - d) <= 0.01 for t in tokens):
                fail("parcel %s: edge length %.3f m not in the text" % (parcel, d))
    print("parcel %s: %d vertices checked" % (parcel, nv))


def outline_points(svg_path):
    """Page points of the parcel's outline path, its transform applied."""
    svg = open(svg_path, encoding="utf-8").read()
    for m in re.finditer(r"<path ([^>]*)/>", svg):
        attrs = m.group(1)
        if "fill-rule:evenodd" not in attrs or "stroke-width:1.4;" not in attrs:
            continue
        d = re.search(r'd="([^"]*)"', attrs).group(1)
        a, b, c, dd, e, f = 1, 0, 0, 1, 0, 0
        t = re.search(r'transform="matrix\(([^)]*)\)"', attrs)
        if t:
            a, b, c, dd, e, f = (float(v) for v in t.group(1).split(","))
        nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", d)]
        return [(a * x + c * y + e, b * x + dd * y + f) for x, y in zip(nums[::2], nums[1::2])]
    fail("no parcel outline in %s" % svg_path)
    return []


def check_scale(svg_path, gpkg, parcel, scale):
    pts = outline_points(svg_path)
    ground = [p for r in parcel_rings(gpkg, parcel) for p in r]
    if not pts or not ground:
        return
    mm = 25.4 / 72
    for axis, name in ((0, "across"), (1, "down")):
        page_mm = (max(p[axis] for p in pts) - min(p[axis] for p in pts)) * mm
        ground_m = max(p[axis] for p in ground) - min(p[axis] for p in ground)
        measured = ground_m * 1000 / page_mm
        if abs(measured - scale) > 0.01 * scale:
            fail("parcel %s: scale measured %s is 1:%.1f, stated 1:%d" % (parcel, name, measured, scale))
        else:
            print("parcel %s: scale measured %s 1:%.1f (stated 1:%d)" % (parcel, name, measured, scale))


def pixel(ds, x, y):
    """The RGB of a pixel, of an RGB(A) PNG or of a palette one."""
    band = ds.GetRasterBand(1)
    table = band.GetColorTable()
    if ds.RasterCount == 1 and table is not None:
        return tuple(table.GetColorEntry(band.ReadRaster(int(x), int(y), 1, 1)[0])[:3])
    return tuple(ds.GetRasterBand(b + 1).ReadRaster(int(x), int(y), 1, 1)[0] for b in range(3))


def check_pixels(png, svg_path, dpi, rgb):
    want = tuple(int(v) for v in rgb.split(","))
    pts = outline_points(svg_path)
    if len(pts) < 3:
        return
    ds = gdal.Open(png)
    k = dpi / 72.0
    ring = pts[:-2] if pts[-1] == pts[0] else pts
    cx = sum(p[0] for p in ring) / len(ring)
    cy = sum(p[1] for p in ring) / len(ring)
    v1, v2 = ring[0], ring[1]
    inside = (v1[0] + 0.2 * (cx - v1[0]), v1[1] + 0.2 * (cy - v1[1]))
    got = pixel(ds, inside[0] * k, inside[1] * k)
    if any(abs(g - w) > 2 for g, w in zip(got, want)):
        fail("fill near vertex 1 at %.0f,%.0f px is %s, want %s" % (inside[0] * k, inside[1] * k, got, want))
    mid = ((v1[0] + v2[0]) / 2 * k, (v1[1] + v2[1]) / 2 * k)
    got = pixel(ds, mid[0], mid[1])
    if max(got) > 90:
        fail("outline at the middle of edge 1-2 (%.0f,%.0f px) is %s, want dark" % (mid[0], mid[1], got))
    print("pixels checked: fill %s, outline dark" % (want,))


cmd = sys.argv[1]
if cmd == "table":
    check_table(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else None)
elif cmd == "scale":
    check_scale(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
elif cmd == "pixels":
    check_pixels(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5])
else:
    sys.exit("unknown check " + cmd)
sys.exit(1 if failures else 0)
