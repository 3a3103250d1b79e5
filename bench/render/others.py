#!/usr/bin/python3
"""others.py: the same tiles rendered by Mapnik or MapServer, for
bench/render/run.sh. Single-threaded; the time is the render loop only
(map set-up excluded, PNG encoding and writing included, as for
parceldb's batch form).

The style is the equivalent of styles/landuse.json without labels or
commune layers: parcels filled by main land-use code with the colours of
data/landuse-codes.csv (unknown codes #b4b4b4), outlines #6b6b6b from z16,
0.75 px at z16, 1 px at z18, 1.5 px at z20 (linear between), anti-aliased.

usage: others.py mapnik|mapserver STORE TILES.txt OUTDIR CODES.csv
prints one line per zoom: "ZOOM TILES SECONDS TILES/S MEAN_BYTES"
"""
import csv
import math
import os
import sys
import time

MERC = 20037508.342789244


def bounds(z, x, y):
    span = 2 * MERC / (1 << z)
    return (-MERC + x * span, MERC - (y + 1) * span, -MERC + (x + 1) * span, MERC - y * span)


def outline_width(z):
    stops = [(16, 0.75), (18, 1.0), (20, 1.5)]
    if z < 16:
        return 0
    for (z0, w0), (z1, w1) in zip(stops, stops[1:]):
        if z <= z1:
            return w0 + (w1 - w0) * (z - z0) / (z1 - z0)
    return stops[-1][1]


def codes(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            out.append((r["code"], tuple(int(v) for v in r["rgb"].split())))
    return out


def mapnik_renderer(store, table, z, colours):
    import mapnik
    m = mapnik.Map(256, 256, "+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 "
                   "+y_0=0 +k=1 +units=m +nadgrids=@null +wktext +no_defs")
    fill = mapnik.Style()
    for code, (r, g, b) in colours:
        rule = mapnik.Rule()
        rule.filter = mapnik.Expression("[landuse_main] = '%s'" % code)
        sym = mapnik.PolygonSymbolizer()
        sym.fill = mapnik.Color(r, g, b)
        rule.symbols.append(sym)
        fill.rules.append(rule)
    rule = mapnik.Rule()
    rule.set_else(True)
    sym = mapnik.PolygonSymbolizer()
    sym.fill = mapnik.Color(180, 180, 180)
    rule.symbols.append(sym)
    fill.rules.append(rule)
    m.append_style("fill", fill)
    layer = mapnik.Layer("parcels")
    layer.srs = "+proj=longlat +datum=WGS84 +no_defs"
    layer.datasource = mapnik.SQLite(file=store, table=table, geometry_field="geom",
                                     wkb_format="spatialite", use_spatial_index=True,
                                     key_field="id")
    layer.styles.append("fill")
    w = outline_width(z)
    if w > 0:
        line = mapnik.Style()
        rule = mapnik.Rule()
        sym = mapnik.LineSymbolizer()
        sym.stroke = mapnik.Color(0x6b, 0x6b, 0x6b)
        sym.stroke_width = w
        rule.symbols.append(sym)
        line.rules.append(rule)
        m.append_style("line", line)
        layer.styles.append("line")
    m.layers.append(layer)

    def render(tile, path):
        m.zoom_to_box(mapnik.Box2d(*bounds(*tile)))
        im = mapnik.Image(256, 256)
        mapnik.render(m, im)
        im.save(path, "png32")
    return render


def mapserver_renderer(store, table, z, colours):
    import mapscript
    w = outline_width(z)
    outline = "OUTLINECOLOR 107 107 107 WIDTH %.3f" % w if w > 0 else ""
    classes = "".join('    CLASS EXPRESSION "%s" STYLE COLOR %d %d %d %s END END\n' % (code, r, g, b, outline)
                      for code, (r, g, b) in colours)
    classes += "    CLASS STYLE COLOR 180 180 180 %s END END\n" % outline
    text = """MAP
  SIZE 256 256
  EXTENT -20037508.34 -20037508.34 20037508.34 20037508.34
  UNITS METERS
  PROJECTION "init=epsg:3857" END
  OUTPUTFORMAT
    NAME "png"
    DRIVER AGG/PNG
    MIMETYPE "image/png"
    IMAGEMODE RGBA
    EXTENSION "png"
    TRANSPARENT ON
  END
  IMAGETYPE "png"
  LAYER
    NAME "parcels"
    TYPE POLYGON
    STATUS ON
    CONNECTIONTYPE OGR
    CONNECTION "%s"
    DATA "%s"
    PROJECTION "init=epsg:4326" END
    CLASSITEM "landuse_main"
%s  END
END
""" % (store, table, classes)
    m = mapscript.fromstring(text)

    def render(tile, path):
        m.setExtent(*bounds(*tile))
        img = m.draw()
        img.save(path)
    return render


def main():
    tool, store, tiles_path, outdir, codes_path = sys.argv[1:6]
    colours = codes(codes_path)
    tiles = {}
    with open(tiles_path) as f:
        for line in f:
            p = line.split()
            if len(p) == 3:
                tiles.setdefault(int(p[0]), []).append(tuple(int(v) for v in p))
    make = mapnik_renderer if tool == "mapnik" else mapserver_renderer
    for z in sorted(tiles):
        render = make(os.path.abspath(store), "parcels", z, colours)
        total = 0
        t0 = time.perf_counter()
        for t in tiles[z]:
            d = os.path.join(outdir, str(t[0]), str(t[1]))
            os.makedirs(d, exist_ok=True)
            path = os.path.join(d, "%d.png" % t[2])
            render(t, path)
            total += os.path.getsize(path)
        dt = time.perf_counter() - t0
        n = len(tiles[z])
        print("%d %d %.3f %.2f %.0f" % (z, n, dt, n / dt, total / n), flush=True)


if __name__ == "__main__":
    main()
