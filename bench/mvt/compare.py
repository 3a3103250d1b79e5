"""compare.py: two renders of the same vector tiles, before and after a change.

  compare.py OLD_DIR NEW_DIR TILES
      TILES lists 'z x y' lines; each DIR holds z/x/y.mvt (`parceldb render
      --format mvt --tiles TILES --out DIR`). Every NEW tile's polygon rings
      are checked raw (no zero-area ring, each feature's first ring an
      exterior: positive area in tile coordinates, y down); tiles whose bytes
      differ are decoded with GDAL's MVT driver and compared feature by
      feature (the same features, fields and ids; each geometry's symmetric
      difference with the old one, as a share of its area). Prints one line.

Run with Debian's python3 (python3-gdal).
"""
import os, sys
from osgeo import gdal, ogr
gdal.UseExceptions()

def varint(b, i):
    r = s = 0
    while True:
        c = b[i]; i += 1
        r |= (c & 0x7f) << s; s += 7
        if c < 0x80: return r, i

def fields(b):
    i = 0
    while i < len(b):
        k, i = varint(b, i); f, t = k >> 3, k & 7
        if t == 0: v, i = varint(b, i)
        elif t == 2:
            n, i = varint(b, i); v = b[i:i+n]; i += n
        elif t == 1: v = b[i:i+8]; i += 8
        elif t == 5: v = b[i:i+4]; i += 4
        yield f, t, v

def packed(b):
    i, out = 0, []
    while i < len(b):
        v, i = varint(b, i); out.append(v)
    return out

def zz(v): return (v >> 1) ^ -(v & 1)

def rings(geom):
    cx = cy = 0; i = 0; out = []; cur = None
    while i < len(geom):
        c = geom[i]; i += 1; cmd, cnt = c & 7, c >> 3
        if cmd == 7: out.append(cur); cur = None; continue
        for _ in range(cnt):
            cx += zz(geom[i]); cy += zz(geom[i+1]); i += 2
            if cmd == 1: cur = [(cx, cy)]
            else: cur.append((cx, cy))
    return out

def area2(r):
    return sum(r[k][0]*r[(k+1)%len(r)][1] - r[(k+1)%len(r)][0]*r[k][1] for k in range(len(r)))

def raw_check(path):
    b = open(path, 'rb').read(); bad = 0; pos = neg = 0
    for f, t, v in fields(b):
        if f != 3: continue
        for lf, lt, lv in fields(v):
            if lf != 2: continue
            typ = 0; g = []
            for ff, ft, fv in fields(lv):
                if ff == 3: typ = fv
                if ff == 4: g = packed(fv)
            if typ != 3: continue
            rs = rings(g)
            for k, r in enumerate(rs):
                a = area2(r)
                if a == 0 or (k == 0 and a < 0): bad += 1
                pos += a > 0; neg += a < 0
    return bad, pos, neg

def feats(path):
    ds = gdal.OpenEx(path, gdal.OF_VECTOR, allowed_drivers=['MVT'])
    out = {}
    for li in range(ds.GetLayerCount()):
        lyr = ds.GetLayer(li)
        for ft in lyr:
            key = (lyr.GetName(), ft.GetFID(), tuple(sorted(ft.items().items())))
            g = ft.GetGeometryRef()
            out.setdefault(key, []).append(g.Clone() if g else None)
    return out

a_dir, b_dir, lst = sys.argv[1], sys.argv[2], sys.argv[3]
ndiff = nbad = ninvalid = nmismatch = 0; maxrel = 0.0; nfeat_changed = 0
for line in open(lst):
    z, x, y = line.split()
    rel = '%s/%s/%s.mvt' % (z, x, y)
    pa, pb = os.path.join(a_dir, rel), os.path.join(b_dir, rel)
    ba, bb = open(pa, 'rb').read(), open(pb, 'rb').read()
    bad, pos, neg = raw_check(pb)
    nbad += bad
    if ba == bb: continue
    ndiff += 1
    fa, fb = feats(pa), feats(pb)
    if set(fa) != set(fb):
        nmismatch += 1; print('features differ', rel, len(fa), len(fb)); continue
    for k in fa:
        for ga, gb in zip(fa[k], fb[k]):
            if ga is None or gb is None or ga.ExportToWkb() == gb.ExportToWkb(): continue
            nfeat_changed += 1
            if not gb.IsValid() and ga.IsValid(): ninvalid += 1
            d = ga.SymDifference(gb).GetArea(); ar = max(ga.GetArea(), 1e-9)
            maxrel = max(maxrel, d / ar)
print('tiles differing %d; features with other geometry %d; wrong or zero-area rings in new %d; '
      'new invalid where old valid %d; tiles with other feature sets %d; max symdiff/area %.3g'
      % (ndiff, nfeat_changed, nbad, ninvalid, nmismatch, maxrel))
