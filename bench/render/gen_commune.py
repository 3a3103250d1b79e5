#!/usr/bin/env python3
"""gen_commune.py: a synthetic commune survey for render and overview
measurements, until samples/pdb-synth ships a province.

Writes a CSV with WKT in VN-2000 TM-3 metres (EPSG:9208 or the zone given)
that ogr2ogr turns into a GeoPackage: a jittered grid of quadrilateral
parcels (each edge split once, so that parcels have 8 vertices, shared
exactly with their neighbours: the parcels tile the commune without gaps),
land use in patches as in real villages (paddy around, residential in
clusters, perennial crops and forest in blocks), some noise.

usage: gen_commune.py CODE E0 N0 SIDE_CELLS OUT.csv [SEED]
"""
import random
import sys

USES = [("LUA", 40), ("ONT", 18), ("CLN", 12), ("HNK", 8), ("RSX", 8), ("NTS", 4),
        ("DGT", 4), ("DTL", 2), ("NTD", 1), ("SKC", 1), ("TMD", 1), ("ODT", 1)]


def pick(rng):
    total = sum(w for _, w in USES)
    x = rng.uniform(0, total)
    for code, w in USES:
        x -= w
        if x <= 0:
            return code
    return USES[0][0]


def main():
    code, e0, n0, side, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    rng = random.Random(int(sys.argv[6]) if len(sys.argv) > 6 else 1)
    # Column and row widths 25-45 m, vertices jittered by up to 6 m.
    xs = [0.0]
    for _ in range(side):
        xs.append(xs[-1] + rng.uniform(25, 45))
    ys = [0.0]
    for _ in range(side):
        ys.append(ys[-1] + rng.uniform(25, 45))
    pts = {}
    for i in range(side + 1):
        for j in range(side + 1):
            jx = 0 if i in (0, side) else rng.uniform(-6, 6)
            jy = 0 if j in (0, side) else rng.uniform(-6, 6)
            pts[i, j] = (e0 + xs[i] + jx, n0 + ys[j] + jy)
    mids = {}

    def mid(a, b):
        key = (min(a, b), max(a, b))
        if key not in mids:
            (x1, y1), (x2, y2) = pts[a], pts[b]
            mids[key] = ((x1 + x2) / 2 + rng.uniform(-1.5, 1.5), (y1 + y2) / 2 + rng.uniform(-1.5, 1.5))
        return mids[key]

    block = {}
    with open(out, "w", encoding="utf-8") as f:
        f.write("MaXa,SoHieuToBanDo,SoThuTuThua,KyHieuMucDichSuDung,TenChu,WKT\n")
        n = 0
        for i in range(side):
            for j in range(side):
                b = (i // 7, j // 7)
                if b not in block:
                    block[b] = pick(rng)
                use = block[b] if rng.random() > 0.2 else pick(rng)
                corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)]
                ring = []
                for k in range(4):
                    a, c = corners[k], corners[(k + 1) % 4]
                    ring.append(pts[a])
                    ring.append(mid(a, c))
                ring.append(ring[0])
                wkt = "POLYGON ((" + ", ".join("%.3f %.3f" % p for p in ring) + "))"
                n += 1
                sheet = 1 + (i // 12) * 7 + j // 12
                f.write('%s,%d,%d,%s,"Nguyễn Văn %d","%s"\n' % (code, sheet, n, use, n, wkt))


if __name__ == "__main__":
    main()
