#!/usr/bin/python3
"""othergen.py: a second, independent survey generator (not samples/synth).

  othergen.py --seed N --out DIR [--data DIR]

Writes into DIR a small "province" of 2 to 4 communes (codes from
data/phu-tho-communes.csv, at least two TM-3 zones of VN-2000) and
DIR/truth.json, the ground truth a test compares parceldb against.

Made with other habits than pdb-synth, on purpose:
  - parcels are Voronoi cells of random points (numpy, half-plane
    clipping), so neighbours share their vertices exactly; a commune is the
    union of the cells nearest its seed under a warped distance (an
    irregular outline, no straight commune edge), the province the cells
    inside a wobbly star; neighbouring communes in two zones share a
    boundary (each surveyed in its own zone: the shared vertices are the
    same points, transformed and rounded to the millimetre in each);
  - cells cut in three by two parallel lines 1.5 m apart (a long thin
    ditch parcel between two), a corner cut off (a parcel of a few m2),
    the cut points added to the neighbours' rings (no T-junction);
  - a multipolygon (two cells of one sheet under one number), a pond (a
    hole; no parcel there), rings wound either way, a vertex repeated,
    Z values (GeoPackage), unclosed rings (GeoJSON, written by hand), a
    spike 5 m long and 20 um wide into a parcel (near-degenerate: valid in
    TM-3, the kind reprojection breaks; its notch is a gap qa may see);
  - numbers per sheet from 1 (the same numbers on every sheet: legal), two
    parcels given one number within a sheet (a defect), a number "12a"
    (rejected bad-number), an area 30% off (flagged), land use "ONT+CLN",
    "ont", "lua, cln", "XYZ" (unknown, flagged);
  - owner and address text in UTF-8 NFC and NFD (GeoPackage, GeoJSON,
    Shapefile with .cpg UTF-8) and TCVN3 bytes in a DBF with no .cpg or a
    .cpg that says ISO 88591; areas as reals and as text with a decimal
    comma ("1.234,5");
  - half the Shapefiles name their fields as the national long names cut
    to the DBF's 10 characters (SoHieuToBa, SoThuTuThu, KyHieuMucD,
    TenChuSuDu), the others MaXa, SoTo, SoThua, LoaiDat, DienTich;
  - Shapefiles declare their CRS by an ESRI-style .prj only, with a custom
    name and the TOWGS84 Vietnamese software writes; GeoPackages by EPSG
    code; GeoJSON by the legacy crs member.

truth.json: per parcel its file, feature index, commune, sheet, number,
expected land use (normalised), area, a point well inside it (WGS 84 through
EPSG:6960, and the survey CRS), its clearance to its boundary, its 2D
geometry in the survey CRS (WKB in hex, exact; WKT, 15 digits, to read), the planted defects, the expected
outcome ("stored" or "rejected:REASON") and flags; and the ponds' centres.
"""
import argparse
import csv
import json
import math
import os
import subprocess
import unicodedata

import numpy as np
from osgeo import ogr, osr

ogr.UseExceptions()
osr.UseExceptions()

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "data")

# Where the province lies: on the Phu Tho / Vinh Phuc border.
CENTRE_LON, CENTRE_LAT = 105.45, 21.30
WIDTH, HEIGHT = 1800.0, 1300.0
PER_COMMUNE = 110
ZONE_CM = {9208: 104.75, 5897: 105.0, 9211: 106.0}

# TCVN3 (ABC) bytes of the letters the names below use (checked against
# glibc's TCVN5712-1 with iconv).
TCVN3 = {
    "đ": 0xAE, "Đ": 0xA7, "ă": 0xA8, "â": 0xA9, "ê": 0xAA, "ô": 0xAB, "ơ": 0xAC, "ư": 0xAD,
    "à": 0xB5, "á": 0xB8, "ạ": 0xB9, "ầ": 0xC7, "ấ": 0xCA, "ễ": 0xD4, "ệ": 0xD6,
    "ì": 0xD7, "ị": 0xDE, "ồ": 0xE5, "ờ": 0xEA, "ứ": 0xF8, "ú": 0xF3,
    "ọ": 0xE4, "ế": 0xD5, "ổ": 0xE6, "ớ": 0xED, "ử": 0xF6, "ũ": 0xF2, "ỗ": 0xE7,
    "ữ": 0xF7, "ù": 0xEF, "ó": 0xE3, "ố": 0xE8,
}
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đỗ"]
MIDDLES = ["Văn", "Thị", "Đức", "Hữu", "Minh"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hà", "Hùng", "Lan", "Mạnh", "Nga", "Thư",
         "Tuấn", "Việt", "Xuân", "Đào", "Tiến"]
PLACES = ["Xóm Đồi", "Xóm Mới", "Khu Đông", "Thôn Trại", "Xóm Chùa", "Khu Phố Mới"]


def tcvn3(text):
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        if ord(ch) < 128:
            out.append(ord(ch))
        else:
            out.append(TCVN3[ch])
    return bytes(out)


def srs(code):
    r = osr.SpatialReference()
    r.ImportFromEPSG(code)
    r.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return r


def esri_prj(zone):
    """A .prj as VN-2000 desktop software writes it: a custom name, the
    7 parameters in TOWGS84 (their sign convention as they come), no EPSG."""
    cm = ZONE_CM[zone]
    return ('PROJCS["VN_2000_UTM_KTT_%g_mui_3",GEOGCS["GCS_VN_2000",DATUM["D_Vietnam_2000",'
            'SPHEROID["WGS_1984",6378137.0,298.257223563],'
            'TOWGS84[-191.90441429,-39.30318279,-111.45032835,-0.00928836,0.01975479,'
            '-0.00427372,0.252906278]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
            'PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],'
            'PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",%.2f],'
            'PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",0.0],'
            'UNIT["Meter",1.0]]' % (cm, cm))


# ---------------------------------------------------------------------------
# Planar geometry (local metres, EPSG:9208)

def clip(poly, a, b, c):
    """Keeps the part of convex POLY (list of (x, y)) where a*x + b*y <= c."""
    out = []
    n = len(poly)
    for i in range(n):
        p, q = poly[i], poly[(i + 1) % n]
        fp = a * p[0] + b * p[1] - c
        fq = a * q[0] + b * q[1] - c
        if fp <= 0:
            out.append(p)
        if (fp < 0 < fq) or (fq < 0 < fp):
            t = fp / (fp - fq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def ring_area(r):
    s = 0.0
    for i in range(len(r)):
        x1, y1 = r[i]
        x2, y2 = r[(i + 1) % len(r)]
        s += x1 * y2 - x2 * y1
    return s / 2


def voronoi(pts):
    box = [(-50.0, -50.0), (WIDTH + 50, -50.0), (WIDTH + 50, HEIGHT + 50), (-50.0, HEIGHT + 50)]
    cells = []
    for i, p in enumerate(pts):
        d = np.hypot(pts[:, 0] - p[0], pts[:, 1] - p[1])
        order = np.argsort(d)[1:]
        k = 24
        while True:
            cell = list(box)
            for j in order[:k]:
                q = pts[j]
                a, b = q[0] - p[0], q[1] - p[1]
                c = (q[0] ** 2 + q[1] ** 2 - p[0] ** 2 - p[1] ** 2) / 2
                cell = clip(cell, a, b, c)
            reach = max(math.hypot(x - p[0], y - p[1]) for x, y in cell)
            if k >= len(order) or 2 * reach < d[order[min(k, len(order)) - 1]]:
                break
            k *= 2
        cells.append(cell)
    return cells


def node(rings_by_id):
    """Adds to every ring edge the vertices of other rings lying on it
    (within 1e-6 m): the cut points of a cell become its neighbours'
    vertices too."""
    allv = np.array(sorted({v for rings in rings_by_id.values() for r in rings for v in r}))
    for key, rings in rings_by_id.items():
        new_rings = []
        for r in rings:
            out = []
            for i in range(len(r)):
                p, q = r[i], r[(i + 1) % len(r)]
                out.append(p)
                dx, dy = q[0] - p[0], q[1] - p[1]
                L2 = dx * dx + dy * dy
                if L2 == 0:
                    continue
                t = ((allv[:, 0] - p[0]) * dx + (allv[:, 1] - p[1]) * dy) / L2
                near = (t > 1e-9) & (t < 1 - 1e-9)
                if not near.any():
                    continue
                cand = allv[near]
                tc = t[near]
                dist = np.abs((cand[:, 0] - p[0]) * dy - (cand[:, 1] - p[1]) * dx) / math.sqrt(L2)
                on = dist < 1e-6
                for j in np.argsort(tc[on]):
                    v = tuple(cand[on][j])
                    if v != p and v != q:
                        out.append(v)
            new_rings.append(out)
        rings_by_id[key] = new_rings


class Snapper:
    """One millimetre-rounded vertex for every cluster of raw vertices within
    1e-6 m, so the same point computed twice is written once, the same."""

    def __init__(self):
        self.grid = {}

    def __call__(self, v):
        kx, ky = round(v[0] * 1e4), round(v[1] * 1e4)
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for raw, canon in self.grid.get((kx + dx, ky + dy), ()):
                    if abs(raw[0] - v[0]) < 1e-6 and abs(raw[1] - v[1]) < 1e-6:
                        return canon
        canon = (round(v[0], 3), round(v[1], 3))
        self.grid.setdefault((kx, ky), []).append((v, canon))
        return canon


def dedupe(r):
    out = []
    for v in r:
        if not out or out[-1] != v:
            out.append(v)
    while len(out) > 1 and out[0] == out[-1]:
        out.pop()
    return out


# ---------------------------------------------------------------------------

def landuse_codes():
    with open(os.path.join(DATA, "landuse-codes.csv"), encoding="utf-8") as f:
        return [r["code"] for r in csv.DictReader(f)]


def pick_communes(rng):
    with open(os.path.join(DATA, "phu-tho-communes.csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by_zone = {}
    for r in rows:
        by_zone.setdefault(int(r["epsg"].split(":")[1]), []).append(r["code"])
    n = int(rng.integers(2, 5))
    zones = [9208, [5897, 9211][int(rng.integers(0, 2))]]
    while len(zones) < n:
        zones.append([9208, 5897, 9211][int(rng.integers(0, 3))])
    chosen = []
    for z in zones:
        pool = [c for c in by_zone[z] if c not in [x for x, _ in chosen]]
        chosen.append((pool[int(rng.integers(0, len(pool)))], z))
    return chosen


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default=DATA, help="the directory of the commune and land-use CSVs")
    args = ap.parse_args()
    globals()["DATA"] = args.data
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)

    communes = pick_communes(rng)
    n = len(communes)
    codes = landuse_codes()
    common = ["LUA", "ONT", "CLN", "BHK", "LNK", "NTS", "RSX", "ODT", "DGT", "DTL"]
    common = [c for c in common if c in codes]

    # Points, at least 8 m apart.
    pts = []
    want = int(PER_COMMUNE * n / 0.62) + 60
    while len(pts) < want:
        p = rng.uniform([0, 0], [WIDTH, HEIGHT])
        if all((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 > 64 for q in pts[-400:]):
            pts.append(p)
    pts = np.array(pts)
    cx, cy = WIDTH / 2, HEIGHT / 2
    ph = rng.uniform(0, 2 * math.pi, 3)

    def inside_star(p):
        dx, dy = (p[0] - cx) / (WIDTH / 2), (p[1] - cy) / (HEIGHT / 2)
        th = math.atan2(dy, dx)
        r = 0.82 * (1 + 0.12 * math.sin(3 * th + ph[0]) + 0.07 * math.sin(5 * th + ph[1]))
        return math.hypot(dx, dy) < r

    keep = [i for i in range(len(pts)) if inside_star(pts[i])]
    cells = voronoi(pts)
    # Commune seeds spread along the long axis, the warped distance wobbles
    # the boundaries between them.
    seeds = [(WIDTH * (k + 0.5) / n + rng.uniform(-60, 60), cy + rng.uniform(-150, 150))
             for k in range(n)]
    wob = rng.uniform(0, 2 * math.pi, (n, 2))

    def commune_of(p):
        best, bd = 0, 1e18
        for k, s in enumerate(seeds):
            th = math.atan2(p[1] - s[1], p[0] - s[0])
            d = math.hypot(p[0] - s[0], p[1] - s[1]) * (
                1 + 0.18 * math.sin(4 * th + wob[k][0]) + 0.1 * math.sin(7 * th + wob[k][1]))
            if d < bd:
                best, bd = k, d
        return best

    # Parcels: id -> dict; rings in local metres.
    parcels = []
    for i in keep:
        parcels.append({"k": commune_of(pts[i]), "rings": [[tuple(v) for v in cells[i]]],
                        "parts": None, "defects": [], "seedpt": tuple(pts[i])})

    # Cuts: per commune, one cell into three (a ditch 1.5 m wide between
    # two), one corner cut off (a parcel of a few m2).
    for k in range(n):
        mine = [p for p in parcels if p["k"] == k and abs(ring_area(p["rings"][0])) > 2500]
        rng.shuffle(mine)
        if len(mine) < 2:
            continue
        p = mine[0]
        r = p["rings"][0]
        gx = sum(v[0] for v in r) / len(r)
        gy = sum(v[1] for v in r) / len(r)
        th = rng.uniform(0, math.pi)
        a, b = math.cos(th), math.sin(th)
        c = a * gx + b * gy
        left = clip(r, a, b, c - 0.75)
        mid = clip(clip(r, a, b, c + 0.75), -a, -b, -(c - 0.75))
        right = clip(r, -a, -b, -(c + 0.75))
        if min(len(left), len(mid), len(right)) >= 3:
            p["rings"] = [left]
            parcels.append({"k": k, "rings": [mid], "parts": None, "defects": ["thin"],
                            "landuse": "DTL"})
            parcels.append({"k": k, "rings": [right], "parts": None, "defects": []})
        q = mine[1]
        r = q["rings"][0]
        j = int(rng.integers(0, len(r)))
        v, u, w = r[j], r[(j + 1) % len(r)], r[j - 1]
        lu = math.hypot(u[0] - v[0], u[1] - v[1])
        lw = math.hypot(w[0] - v[0], w[1] - v[1])
        if lu > 6 and lw > 6:
            p1 = (v[0] + 2.0 * (u[0] - v[0]) / lu, v[1] + 2.0 * (u[1] - v[1]) / lu)
            p2 = (v[0] + 2.0 * (w[0] - v[0]) / lw, v[1] + 2.0 * (w[1] - v[1]) / lw)
            # The line through p1, p2; v on the side a*x + b*y <= c.
            a, b = p2[1] - p1[1], p1[0] - p2[0]
            c = a * p1[0] + b * p1[1]
            if a * v[0] + b * v[1] > c:
                a, b, c = -a, -b, -c
            tiny = clip(r, a, b, c)
            rest = clip(r, -a, -b, -c)
            # At least 1 m2 (a sharp corner gives less): a tiny parcel,
            # not one dropped below, which would leave a hole (qa's gap
            # check found one, seed 7, before this test).
            if len(tiny) >= 3 and len(rest) >= 3 and abs(ring_area(tiny)) >= 1.0:
                q["rings"] = [rest]
                parcels.append({"k": k, "rings": [tiny], "parts": None, "defects": ["tiny"]})

    node_map = {i: p["rings"] for i, p in enumerate(parcels)}
    node(node_map)
    snap = Snapper()
    for i, p in enumerate(parcels):
        p["rings"] = [dedupe([snap(v) for v in r]) for r in node_map[i]]
    parcels = [p for p in parcels if len(p["rings"][0]) >= 3 and abs(ring_area(p["rings"][0])) > 0]

    # To each commune's zone (the shared vertices are the same points: the
    # same input gives the same output), rounded to the millimetre.
    local = srs(9208)
    trans = {}
    for code, z in communes:
        if z != 9208 and z not in trans:
            trans[z] = osr.CoordinateTransformation(local, srs(z))
    geog = srs(4756)
    helmert = subprocess.run(["projinfo", "urn:ogc:def:coordinateOperation:EPSG::6960", "-o",
                              "PROJ", "-q", "--single-line"], capture_output=True, text=True,
                             check=True).stdout.strip()
    opts = osr.CoordinateTransformationOptions()
    opts.SetOperation(helmert)
    to_wgs = osr.CoordinateTransformation(geog, srs(4326), opts)
    # The local frame's origin: the province's centre.
    to_local = osr.CoordinateTransformation(geog, local)
    # The province's centre is at CENTRE_LON, CENTRE_LAT (VN-2000 geographic).
    e0, n0, _ = to_local.TransformPoint(CENTRE_LON, CENTRE_LAT)
    ox, oy = e0 - cx, n0 - cy

    def to_zone(z, v):
        x, y = v[0] + ox, v[1] + oy
        if z != 9208:
            x, y, _ = trans[z].TransformPoint(x, y)
        return (round(x, 3), round(y, 3))

    # Numbers, land use, areas, planted defects, per commune.
    truth = {"seed": args.seed, "communes": [], "parcels": [], "ponds": []}
    fmts = ["shp", "gpkg", "geojson"]
    start = args.seed % 3
    for k, (code, z) in enumerate(communes):
        fmt = "shp" if k == 0 else fmts[(start + k) % 3]
        mine = [p for p in parcels if p["k"] == k]
        if not mine:
            continue
        xs = [min(v[0] for v in p["rings"][0]) for p in mine]
        lo, hi = min(xs), max(xs) + 1e-6
        nsheet = 2 + int(rng.integers(0, 2))
        sheet_no = [int(rng.integers(1, 40)) for _ in range(nsheet)]
        while len(set(sheet_no)) < nsheet:
            sheet_no = [int(rng.integers(1, 40)) for _ in range(nsheet)]
        for p in mine:
            sx = min(v[0] for v in p["rings"][0])
            p["sheet"] = sheet_no[int((sx - lo) / (hi - lo) * nsheet)]
        counter = {}
        rng.shuffle(mine)
        for p in mine:
            counter[p["sheet"]] = counter.get(p["sheet"], 0) + 1
            p["number"] = str(counter[p["sheet"]])
            if "landuse" not in p:
                p["landuse"] = common[int(rng.integers(0, len(common) - 2))]
            p["landuse_raw"] = p["landuse"]
        plain = [p for p in mine if not p["defects"]]
        # A multipolygon: two cells of one sheet, not touching, one number.
        for a in plain:
            bs = [b for b in plain if b is not a and b["sheet"] == a["sheet"] and not b["defects"]
                  and not set(a["rings"][0]) & set(b["rings"][0])
                  and math.dist(a["rings"][0][0], b["rings"][0][0]) < 150]
            if bs:
                b = bs[0]
                a["parts"] = [a["rings"], b["rings"]]
                a["defects"].append("multipolygon")
                mine.remove(b)
                parcels.remove(b)
                plain.remove(b)
                break
        plain = [p for p in plain if not p["defects"]]
        rng.shuffle(plain)
        it = iter(plain)
        # A pond: a hole of radius 5 m, 20 m or more from the boundary.
        for p in it:
            g = polygon(p, to_zone, z)
            c = g.PointOnSurface()
            if g.Area() > 4000:
                for _ in range(30):
                    env = g.GetEnvelope()
                    x = rng.uniform(env[0], env[1])
                    y = rng.uniform(env[2], env[3])
                    pt = ogr.CreateGeometryFromWkt("POINT (%f %f)" % (x, y))
                    if g.Contains(pt) and g.GetBoundary().Distance(pt) > 20 and pt.Distance(c) > 15:
                        break
                else:
                    continue
                # In local metres: back from the zone (same offset in 9208).
                lx, ly = from_zone(z, x, y, ox, oy)
                hole = [(lx + 5 * math.cos(t), ly + 5 * math.sin(t))
                        for t in np.linspace(0, 2 * math.pi, 9)[:-1]]
                p["rings"].append(hole)
                p["defects"].append("pond")
                p["pond"] = (x, y)
                break
        for p in plain:
            if not p["defects"] and rng.random() < 0.3:
                p["defects"].append("cw-exterior")
            if not p["defects"] and rng.random() < 0.15:
                p["defects"].append("repeated-vertex")
        spare = [p for p in plain if not p["defects"]]
        # Duplicate numbers within a sheet (a defect), a bad number, an
        # area off by 30%, land-use spellings.
        dups = 0
        for a in spare:
            b = next((b for b in spare if b is not a and b["sheet"] == a["sheet"]
                      and not b["defects"]), None)
            if b is not None and not a["defects"]:
                b["number"] = a["number"]
                a["defects"].append("duplicate-number")
                b["defects"].append("duplicate-number")
                dups += 1
                if dups == 2:
                    break
        spare = [p for p in plain if not p["defects"]]
        planted = [("bad-number", None), ("area-off", None), ("needle", None), ("landuse", "ONT+CLN"),
                   ("landuse", "ont"), ("landuse", "lua, cln"), ("landuse", "XYZ")]
        for (kind, val), p in zip(planted, spare):
            if kind == "bad-number":
                p["number"] = p["number"] + "a"
                p["defects"].append("bad-number")
            elif kind == "area-off":
                p["defects"].append(kind)
            elif kind == "needle":
                # On its longest edge shared with a stored parcel of the
                # commune: the notch is then a gap inside the commune, which
                # qa sees (beside a rejected parcel it would be part of the
                # wide hole that parcel leaves).
                shared = set()
                for o in mine:
                    if o is not p and "bad-number" not in o["defects"]:
                        for r in (o["parts"] or [o["rings"]])[0][:1]:
                            shared.update(frozenset((r[i], r[(i + 1) % len(r)]))
                                          for i in range(len(r)))
                r = p["rings"][0]
                edges = [(r[i], r[(i + 1) % len(r)]) for i in range(len(r))
                         if frozenset((r[i], r[(i + 1) % len(r)])) in shared]
                if edges:
                    p["needle_edge"] = max(edges, key=lambda e: math.dist(*e))
                    p["defects"].append(kind)
            else:
                p["landuse_raw"] = val
                p["defects"].append("landuse:" + val)
        write_commune(args, k, code, z, fmt, mine, to_zone, trans, to_wgs, geog, truth, rng)
        truth["communes"].append({"code": code, "epsg": z, "format": fmt})

    with open(os.path.join(args.out, "truth.json"), "w", encoding="utf-8") as f:
        json.dump(truth, f, ensure_ascii=False, indent=1)


def from_zone(z, x, y, ox, oy):
    if z != 9208:
        back = osr.CoordinateTransformation(srs(z), srs(9208))
        x, y, _ = back.TransformPoint(x, y)
    return x - ox, y - oy


def rings_in_zone(p, to_zone, z):
    parts = p["parts"] or [p["rings"]]
    return [[dedupe([to_zone(z, v) for v in r]) for r in part] for part in parts]


def needle(r, edge):
    """R with a spike 5 m long and 20 micrometres wide pushed inwards from
    the middle of EDGE: valid in the survey CRS, and the kind of
    near-degenerate shape a reprojection can make invalid."""
    j = next(i for i in range(len(r)) if {r[i], r[(i + 1) % len(r)]} == set(edge))
    a, b = r[j], r[(j + 1) % len(r)]
    L = math.dist(a, b)
    ux, uy = (b[0] - a[0]) / L, (b[1] - a[1]) / L
    inward = 1 if ring_area(r) > 0 else -1  # left of a CCW ring's edge
    nx, ny = -uy * inward, ux * inward
    mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    w = 1e-5
    spike = [(mx - ux * w, my - uy * w), (mx + nx * 5, my + ny * 5), (mx + ux * w, my + uy * w)]
    return r[:j + 1] + spike + r[j + 1:]


def polygon(p, to_zone, z):
    g = ogr.Geometry(ogr.wkbMultiPolygon)
    parts = rings_in_zone(p, to_zone, z)
    if "needle" in p["defects"]:
        parts[0][0] = needle(parts[0][0], [to_zone(z, v) for v in p["needle_edge"]])
    for part in parts:
        poly = ogr.Geometry(ogr.wkbPolygon)
        for r in part:
            ring = ogr.Geometry(ogr.wkbLinearRing)
            for x, y in r + [r[0]]:
                ring.AddPoint_2D(x, y)
            poly.AddGeometry(ring)
        g.AddGeometry(poly)
    return g if g.GetGeometryCount() > 1 else g.GetGeometryRef(0).Clone()


def inside_point(g):
    """A point well inside G: the best of a grid of candidates by distance
    to the boundary (a rough pole of inaccessibility)."""
    bnd = g.GetBoundary()
    best, bd = None, -1.0
    first = g.GetGeometryRef(0) if g.GetGeometryType() == ogr.wkbMultiPolygon else g
    fenv = first.GetEnvelope()
    for i in range(1, 12):
        for j in range(1, 12):
            x = fenv[0] + (fenv[1] - fenv[0]) * i / 12
            y = fenv[2] + (fenv[3] - fenv[2]) * j / 12
            pt = ogr.Geometry(ogr.wkbPoint)
            pt.AddPoint_2D(x, y)
            if first.Contains(pt):
                d = bnd.Distance(pt)
                if d > bd:
                    best, bd = (x, y), d
    if best is None:
        c = g.PointOnSurface()
        best, bd = (c.GetX(), c.GetY()), bnd.Distance(c)
    return best, bd


NAMES_SHP_FIELDS = [("MaXa", ogr.OFTString, 5), ("SoTo", ogr.OFTString, 8), ("SoThua", ogr.OFTString, 8),
                    ("LoaiDat", ogr.OFTString, 20), ("DienTich", ogr.OFTReal, 0),
                    ("TenChu", ogr.OFTString, 60), ("DiaChi", ogr.OFTString, 80)]


def normalise_landuse(raw):
    out = []
    for part in raw.replace(",", " ").replace("+", " ").replace(";", " ").replace("/", " ").split():
        part = part.upper()
        if part not in out:
            out.append(part)
    return "+".join(out)


def write_commune(args, k, code, z, fmt, mine, to_zone, trans, to_wgs, geog, truth, rng):
    to_geog = osr.CoordinateTransformation(srs(z), geog)
    # Text: TCVN3 for some shapefiles, else UTF-8 NFC or NFD per record.
    enc = "utf8"
    if fmt == "shp":
        enc = ["tcvn3-nocpg", "tcvn3-latin1cpg", "utf8"][(args.seed + k) % 3]
    area_text = fmt == "gpkg" or (fmt == "shp" and (args.seed + k) % 2 == 0)
    with_z = fmt == "gpkg"
    os.makedirs(os.path.join(args.out, "survey"), exist_ok=True)
    base = os.path.join(args.out, "survey", "xa_%s" % code)
    records = []
    mine.sort(key=lambda p: (p["sheet"], int(p["number"].rstrip("a"))))
    for idx, p in enumerate(mine):
        g = polygon(p, to_zone, z)
        area = round(g.Area(), 1)
        pt, clear = inside_point(g)
        lon, lat, _ = to_wgs.TransformPoint(*to_geog.TransformPoint(pt[0], pt[1])[:2])
        given = round(area * 1.3, 1) if "area-off" in p["defects"] else area
        if area_text:
            s = ("%.1f" % given).replace(".", ",")
            if given >= 1000:
                whole, frac = s.split(",")
                s = whole[:-3] + "." + whole[-3:] + "," + frac
            area_val = s
        else:
            area_val = given
        owner = "%s %s %s" % (SURNAMES[int(rng.integers(0, len(SURNAMES)))],
                              MIDDLES[int(rng.integers(0, len(MIDDLES)))],
                              GIVEN[int(rng.integers(0, len(GIVEN)))])
        address = PLACES[int(rng.integers(0, len(PLACES)))]
        form = "NFD" if rng.random() < 0.4 else "NFC"
        flags = []
        if "duplicate-number" in p["defects"]:
            flags.append("duplicate-number")
        if "landuse:XYZ" in p["defects"]:
            flags.append("unknown-landuse")
        if "area-off" in p["defects"]:
            flags.append("area-mismatch")
        expect = "rejected:bad-number" if "bad-number" in p["defects"] else "stored"
        if "pond" in p:
            plon, plat, _ = to_wgs.TransformPoint(*to_geog.TransformPoint(*p["pond"])[:2])
            truth["ponds"].append({"commune": code, "lon": plon, "lat": plat,
                                   "e": p["pond"][0], "n": p["pond"][1], "epsg": z})
        truth["parcels"].append({
            "file": os.path.basename(base) + {"shp": ".shp", "gpkg": ".gpkg", "geojson": ".geojson"}[fmt],
            "index": idx, "commune": code, "epsg": z, "sheet": str(p["sheet"]),
            "parcel": p["number"], "landuse": normalise_landuse(p["landuse_raw"]),
            "landuse_raw": p["landuse_raw"], "area": given, "area_written": area_val,
            "owner": unicodedata.normalize("NFC", owner), "address": address,
            "text_form": enc if enc != "utf8" else form,
            "lon": lon, "lat": lat, "e": pt[0], "n": pt[1], "clearance": clear,
            "wkt": g.ExportToWkt(), "wkb": bytes(g.ExportToWkb()).hex(), "defects": p["defects"], "expect": expect, "flags": flags})
        records.append((p, g, area_val, owner, address, form))

    if fmt == "geojson":
        write_geojson(base + ".geojson", code, z, records, to_zone, rng)
        return
    drv = ogr.GetDriverByName("ESRI Shapefile" if fmt == "shp" else "GPKG")
    path = base + (".shp" if fmt == "shp" else ".gpkg")
    ds = drv.CreateDataSource(path)
    # A GeoPackage layer of no declared type holds polygons and
    # multipolygons both (a MultiPolygon layer would take polygons only
    # with GDAL's warning).
    gtype = ogr.wkbUnknown if fmt == "gpkg" else ogr.wkbMultiPolygon
    lopts = ["ENCODING="] if fmt == "shp" else []  # shp: raw bytes, recoded below
    lay = ds.CreateLayer("thua_%s" % code, srs(z) if fmt == "gpkg" else None, gtype, lopts)
    # Half the shapefiles carry the national long names cut to the DBF's
    # 10 characters, as ArcGIS and MapInfo write them.
    long_names = fmt == "shp" and (args.seed + k) % 2 == 1
    names = {n: n for n, _, _ in NAMES_SHP_FIELDS}
    if long_names:
        names.update(SoTo="SoHieuToBa", SoThua="SoThuTuThu", LoaiDat="KyHieuMucD",
                     TenChu="TenChuSuDu")
    for name, typ, width in NAMES_SHP_FIELDS:
        if name == "DienTich" and area_text:
            typ, width = ogr.OFTString, 16
        fd = ogr.FieldDefn(names[name], typ)
        if width:
            fd.SetWidth(width)
        lay.CreateField(fd)
    for p, g, area_val, owner, address, form in records:
        f = ogr.Feature(lay.GetLayerDefn())
        f.SetField(names["MaXa"], code)
        f.SetField(names["SoTo"], str(p["sheet"]))
        f.SetField(names["SoThua"], p["number"])
        f.SetField(names["LoaiDat"], p["landuse_raw"])
        f.SetField(names["DienTich"], area_val)
        if enc.startswith("tcvn3"):
            f.SetField(names["TenChu"], tcvn3(owner).decode("latin-1"))
            f.SetField(names["DiaChi"], tcvn3(address).decode("latin-1"))
        else:
            f.SetField(names["TenChu"], unicodedata.normalize(form, owner))
            f.SetField(names["DiaChi"], unicodedata.normalize(form, address))
        f.SetGeometry(shape(p, g, with_z, rng))
        lay.CreateFeature(f)
    ds = None
    if fmt == "shp":
        with open(base + ".prj", "w") as f:
            f.write(esri_prj(z))
        cpg = base + ".cpg"
        if os.path.exists(cpg):
            os.remove(cpg)
        if enc == "utf8":
            with open(cpg, "w") as f:
                f.write("UTF-8")
        elif enc == "tcvn3-latin1cpg":
            with open(cpg, "w") as f:
                f.write("ISO 88591")
        if enc.startswith("tcvn3"):
            # GDAL wrote the Latin-1 text as UTF-8 unless told: rewrite the
            # DBF's text as the TCVN3 bytes (Latin-1 of the decoded string).
            recode_dbf(base + ".dbf")


def recode_dbf(path):
    """GDAL with ENCODING= writes str fields as UTF-8 bytes; the TCVN3 bytes
    were given as Latin-1 characters: turn the UTF-8 back into those bytes,
    field by field, keeping widths."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    nrec = int.from_bytes(data[4:8], "little")
    hlen = int.from_bytes(data[8:10], "little")
    rlen = int.from_bytes(data[10:12], "little")
    fields = []
    off = 32
    pos = 1
    while data[off] != 0x0D:
        name = data[off:off + 11].split(b"\0")[0].decode()
        ftype = chr(data[off + 11])
        width = data[off + 16]
        fields.append((name, ftype, pos, width))
        pos += width
        off += 32
    for r in range(nrec):
        rec = hlen + r * rlen
        for name, ftype, fpos, width in fields:
            if ftype != "C" or name not in ("TenChu", "TenChuSuDu", "DiaChi"):
                continue
            raw = bytes(data[rec + fpos:rec + fpos + width])
            text = raw.decode("utf-8", errors="strict").rstrip(" ")
            b = text.encode("latin-1")
            data[rec + fpos:rec + fpos + width] = b.ljust(width, b" ")[:width]
    with open(path, "wb") as f:
        f.write(bytes(data))


def shape(p, g, with_z, rng):
    """The feature's geometry as written: multipolygon or polygon, rings
    wound as planted, a vertex repeated, Z values."""
    parts = []
    src = [g] if g.GetGeometryType() == ogr.wkbPolygon else [g.GetGeometryRef(i)
                                                                 for i in range(g.GetGeometryCount())]
    for poly in src:
        rings = []
        for i in range(poly.GetGeometryCount()):
            r = poly.GetGeometryRef(i).GetPoints()
            r = [(x, y) for x, y, *_ in r][:-1]
            ccw = ring_area(r) > 0
            want_ccw = (i == 0) != ("cw-exterior" in p["defects"])
            if ccw != want_ccw:
                r = r[::-1]
            if "repeated-vertex" in p["defects"] and i == 0:
                j = int(rng.integers(0, len(r)))
                r = r[:j + 1] + [r[j]] + r[j + 1:]
            rings.append(r)
        parts.append(rings)
    out = ogr.Geometry(ogr.wkbMultiPolygon25D if with_z else ogr.wkbMultiPolygon)
    for rings in parts:
        poly = ogr.Geometry(ogr.wkbPolygon25D if with_z else ogr.wkbPolygon)
        for r in rings:
            ring = ogr.Geometry(ogr.wkbLinearRing)
            for x, y in r + [r[0]]:
                if with_z:
                    ring.AddPoint(x, y, 20.0 + (x % 7))
                else:
                    ring.AddPoint_2D(x, y)
            poly.AddGeometry(ring)
        out.AddGeometry(poly)
    if len(parts) == 1:
        return out.GetGeometryRef(0).Clone()
    return out


def write_geojson(path, code, z, records, to_zone, rng):
    """By hand: the legacy crs member, some rings left unclosed (the last
    vertex not repeating the first), a polygon or a multipolygon."""
    feats = []
    for p, g, area_val, owner, address, form in records:
        geom = json.loads(shape(p, g, False, rng).ExportToJson())
        if "unclosed" not in p["defects"] and rng.random() < 0.25 and \
                "repeated-vertex" not in p["defects"]:
            p["defects"].append("unclosed-ring")
            polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
            for poly in polys:
                for r in poly:
                    r.pop()
        feats.append({"type": "Feature", "properties": {
            "MaXa": code, "SoTo": p["sheet"], "SoThua": p["number"], "LoaiDat": p["landuse_raw"],
            "DienTich": area_val, "TenChu": unicodedata.normalize(form, owner),
            "DiaChi": unicodedata.normalize(form, address)}, "geometry": geom})
    doc = {"type": "FeatureCollection", "name": os.path.basename(path)[:-8],
           "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::%d" % z}},
           "features": feats}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
