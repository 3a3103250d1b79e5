"""vector_page.py: the checks of tests/server/vector_page.sh, which starts
the server; run with Debian's python3 (numpy, GDAL).

  vector_page.py BASE STORE WORK PARCELDB CDP_PY CHROMIUM [FLAGS...]

The view: a 512 x 512 CSS px phone screen (1 device px each) centred on
the corner shared by four z17 PNG tiles around the store's middle, so that
MapLibre at zoom 16 (its 512 px tiles) shows exactly what those four tiles
show. Prints "ok: ..." and "FAIL: ..." lines; exits 1 on any failure.
"""
import base64
import html
import json
import math
import re
import sqlite3
import subprocess
import sys
import urllib.request

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
BASE, STORE, WORK, PARCELDB, CDP, CHROMIUM = sys.argv[1:7]
FLAGS = sys.argv[7:]
Z = 17
fails = 0


def ok(name):
    print("ok: " + name)


def fail(name):
    global fails
    fails += 1
    print("FAIL: " + name)


def check(name, cond, detail=""):
    if cond:
        ok(name)
    else:
        fail(name + (": " + detail if detail else ""))


def tile_of(lon, lat, z):
    n = 1 << z
    r = math.radians(lat)
    return (int((lon + 180) / 360 * n), int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n))


def lonlat_of(x, y, z):
    n = 1 << z
    return (x / n * 360 - 180, math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n)))))


def decode_png(data):
    gdal.FileFromMemBuffer("/vsimem/t.png", data)
    ds = gdal.Open("/vsimem/t.png")
    a = ds.ReadAsArray()
    gdal.Unlink("/vsimem/t.png")
    if a.ndim == 2:  # a palette PNG: GDAL gives the indices and the colour table
        ct = ds.GetRasterBand(1).GetColorTable()
        lut = np.array([ct.GetColorEntry(i) if i < ct.GetCount() else (0, 0, 0, 0) for i in range(256)], np.uint8)
        return lut[a]
    a = np.moveaxis(a, 0, -1)
    if a.shape[2] == 3:
        a = np.dstack([a, np.full(a.shape[:2], 255, np.uint8)])
    return a


def over_white(rgba):
    """8-bit straight RGBA composited over white, as float."""
    a = rgba[..., 3:4].astype(float) / 255
    return rgba[..., :3].astype(float) * a + 255 * (1 - a)


def cdp(url, *steps):
    argv = ["/usr/bin/python3", CDP, "--device", "512,512,1"] + list(steps) + [url, "--", CHROMIUM] + FLAGS
    r = subprocess.run(argv, capture_output=True, text=True, timeout=150)
    return r.returncode, r.stdout


def attr(dom, name):
    m = re.search(r'<body[^>]*\sdata-%s="([^"]*)"' % name, dom)
    return html.unescape(m.group(1)) if m else None


# The view: the store's middle, snapped to a corner of z17 tiles.
db = sqlite3.connect(STORE)
x0, y0, x1, y1 = db.execute("SELECT min(xmin), min(ymin), max(xmax), max(ymax) FROM idx_parcels_geom").fetchone()
tx, ty = tile_of((x0 + x1) / 2, (y0 + y1) / 2, Z)
clon, clat = lonlat_of(tx + 1, ty + 1, Z)

# A parcel under a point of the view for the click: the parcel whose
# middle is nearest the view's centre (parceldb lookup answers which
# parcel holds the point; its number is what the page must show).
PLON, PLAT = lonlat_of(tx + 0.8, ty + 0.9, Z)
out = subprocess.run([PARCELDB, "lookup", "--db", STORE, "--lon", "%.9f" % PLON, "--lat", "%.9f" % PLAT,
                      ], capture_output=True, text=True)
try:
    found = json.loads(out.stdout)["features"][0]["properties"]
except (ValueError, KeyError, IndexError):
    found = None
check("parceldb lookup finds the parcel to click", found is not None, out.stdout[:200] + out.stderr[:200])

url = "%s/#map=vector&view=%.9f,%.9f,%d" % (BASE, clon, clat, Z)
if found:
    url += "&click=%.9f,%.9f" % (PLON, PLAT)
IDLE = "document.body.dataset.vector === 'idle'"
rc, dom = cdp(url, "--wait", IDLE, "--wait", "document.body.dataset.state === 'identified'",
              "--eval", "document.body.dataset.canvas = window.pdbVectorMap.getCanvas().toDataURL('image/png')",
              "--eval", "document.body.dataset.errors = JSON.stringify(window.pdbErrors)",
              "--eval", "document.body.dataset.zoom = String(window.pdbVectorMap.getZoom())")
check("the vector map loaded, drew every tile in view and took the click (cdp.py)", rc == 0, "exit %d" % rc)
check("no error in the page", attr(dom, "errors") == "[]", str(attr(dom, "errors"))[:400])
check("MapLibre's zoom is the PNG zoom less one", attr(dom, "zoom") == str(Z - 1), str(attr(dom, "zoom")))
if found:
    check("the click shows the parcel's number, from the tile", attr(dom, "parcel") == str(found["parcel"]),
          "%s, not %s" % (attr(dom, "parcel"), found["parcel"]))
    check("its card carries the tile's land use", ("Loại đất</th><td>%s" % found["landuse"]) in dom)
    check("and says it comes from the tile", "thuộc tính từ tile vector" in dom)

canvas = attr(dom, "canvas") or ""
if not canvas.startswith("data:image/png;base64,"):
    fail("the canvas could not be read back")
    sys.exit(1)
vec = decode_png(base64.b64decode(canvas.split(",", 1)[1]))
check("the canvas is 512 x 512 device px", vec.shape[:2] == (512, 512), str(vec.shape))

# The four PNG tiles of the same view.
png = np.zeros((512, 512, 4), np.uint8)
for dx in (0, 1):
    for dy in (0, 1):
        with urllib.request.urlopen("%s/tiles/%d/%d/%d.png" % (BASE, Z, tx + dx, ty + dy)) as r:
            png[dy * 256:(dy + 1) * 256, dx * 256:(dx + 1) * 256] = decode_png(r.read())

drawn_v = (vec[..., 3] >= 128).mean() * 100
drawn_p = (png[..., 3] >= 128).mean() * 100
check("the vector map is drawn (%.1f%% of pixels) as the PNG tiles are (%.1f%%)" % (drawn_v, drawn_p),
      drawn_p > 30 and abs(drawn_v - drawn_p) <= 2)
# Agreement, as bench/render/tile_diff.c counts it: a pixel agrees when it
# is within 48 levels in every channel of the PNG's pixel there or at one
# of its 8 neighbours (each rasteriser places and anti-aliases a 1 px
# outline its own way, half a pixel apart); composited over white.
a, b = over_white(vec), over_white(png)
pad = np.pad(b, ((1, 1), (1, 1), (0, 0)), mode="edge")
agree = np.zeros((512, 512), bool)
for oy in (0, 1, 2):
    for ox in (0, 1, 2):
        agree |= (np.abs(a - pad[oy:oy + 512, ox:ox + 512]) <= 48).all(axis=2)
share = agree.mean() * 100
strict = (np.abs(a - b) <= 48).all(axis=2).mean() * 100
check("the canvas agrees with the PNG tiles on %.2f%% of pixels (%.2f%% without the 1 px allowance), "
      "98%% required" % (share, strict), share >= 98)

# Hover: a mouse move over the parcel names it.
if found:
    hover_js = ("(function () { var m = window.pdbVectorMap, p = m.project([%.9f, %.9f]), "
                "c = m.getCanvas(), b = c.getBoundingClientRect(); c.dispatchEvent(new MouseEvent('mousemove', "
                "{bubbles: true, clientX: b.left + p.x, clientY: b.top + p.y})); })()" % (PLON, PLAT))
    rc, dom = cdp("%s/#map=vector&view=%.9f,%.9f,%d" % (BASE, clon, clat, Z), "--wait", IDLE,
                  "--eval", hover_js, "--wait", "document.body.dataset.hover !== undefined")
    want = "%s/%s/%s" % (found["commune"], found["sheet"], found["parcel"])
    check("a hover names the parcel from the tile (%s)" % want, attr(dom, "hover") == want, str(attr(dom, "hover")))

# Labels: at z19 (MapLibre 18) the parcel numbers are drawn with the
# glyphs the server makes (/fonts/...): no error, and far more dark text
# pixels than with the label layer hidden.
DARK = ("(function () { var c = window.pdbVectorMap.getCanvas(), g = c.getContext('webgl2') || c.getContext('webgl'); "
        "var px = new Uint8Array(c.width * c.height * 4); g.readPixels(0, 0, c.width, c.height, g.RGBA, "
        "g.UNSIGNED_BYTE, px); var n = 0; for (var i = 0; i < px.length; i += 4) "
        "if (px[i + 3] > 200 && px[i] < 120 && px[i + 1] < 120 && px[i + 2] < 120) n++; return n; })()")
rc, dom = cdp("%s/#map=vector&view=%.9f,%.9f,19" % (BASE, clon, clat), "--wait", IDLE,
              "--eval", "document.body.dataset.dark1 = String(%s)" % DARK,
              "--eval", "window.pdbVectorMap.setLayoutProperty('parcel-label', 'visibility', 'none'); "
                        "document.body.dataset.vector = 'hiding'",
              "--wait", IDLE,
              "--eval", "document.body.dataset.dark0 = String(%s)" % DARK,
              "--eval", "document.body.dataset.errors = JSON.stringify(window.pdbErrors)")
check("the vector map at z19 with labels (cdp.py)", rc == 0, "exit %d" % rc)
check("no error in the page at z19 (the glyphs loaded)", attr(dom, "errors") == "[]", str(attr(dom, "errors"))[:400])
d1, d0 = int(attr(dom, "dark1") or 0), int(attr(dom, "dark0") or 0)
check("the parcel numbers are drawn: %d dark text pixels with the labels, %d without" % (d1, d0),
      d1 >= d0 + 150)

# Back to the PNG map, at the same place.
rc, dom = cdp("%s/#map=vector&view=%.9f,%.9f,%d" % (BASE, clon, clat, Z), "--wait", IDLE,
              "--click", "input[name=mapkind][value=png]",
              "--wait", "document.querySelector('.leaflet-tile-loaded') !== null",
              "--eval", "document.body.dataset.back = document.getElementById('vmap').hidden + ' ' + "
                        "document.getElementById('map').hidden")
check("the switch goes back to the PNG map (cdp.py)", rc == 0, "exit %d" % rc)
check("the vector map is hidden and the PNG map shown", attr(dom, "back") == "true false", str(attr(dom, "back")))
sys.exit(1 if fails else 0)
