#!/usr/bin/python3
"""dgn7_compare.py DUMP FILE.dgn: compares what the importer's DGN v7 reader
read (DUMP: the output of tests/unit/dgn7_dump.c) with what GDAL's DGN
driver reads in FILE.dgn, element by element in file order: the level, the
kind (line, polygon, multi line, text), every coordinate (the same double,
compared with ==) and every text's bytes. Prints the counts per level and
kind, then "same" or the first differences; exits 1 when they differ."""
import collections
import sys

from osgeo import ogr

ogr.UseExceptions()


def ours(path):
    out = []
    for line in open(path, encoding="ascii"):
        w = line.split()
        if w[0] in ("units", "unread"):
            continue
        level = int(w[1])
        if w[0] == "text":
            out.append(("text", level, [[(float(w[2]), float(w[3]))]], bytes.fromhex(w[4]) if len(w) > 4 else b""))
            continue
        rest = w[2:]
        nparts = 1
        if w[0] == "multi":
            nparts, rest = int(rest[0]), rest[1:]
        parts = []
        for _ in range(nparts):
            n, rest = int(rest[0]), rest[1:]
            parts.append([(float(rest[2 * i]), float(rest[2 * i + 1])) for i in range(n)])
            rest = rest[2 * n:]
        out.append((w[0], level, parts, None))
    return out


def gdals(path):
    out = []
    ds = ogr.Open(path)
    layer = ds.GetLayer(0)
    for f in layer:
        g = f.GetGeometryRef()
        level = f.GetField("Level")
        t = ogr.GT_Flatten(g.GetGeometryType())
        xy = lambda geom: [(p[0], p[1]) for p in geom.GetPoints()]
        if t == ogr.wkbPoint:
            text = f.GetFieldAsBinary("Text") if f.IsFieldSetAndNotNull("Text") else b""
            out.append(("text", level, [[(g.GetX(), g.GetY())]], text))
        elif t == ogr.wkbLineString:
            out.append(("line", level, [xy(g)], None))
        elif t == ogr.wkbPolygon:
            out.append(("polygon", level, [xy(g.GetGeometryRef(0))], None))
        elif t == ogr.wkbMultiLineString:
            out.append(("multi", level, [xy(g.GetGeometryRef(i)) for i in range(g.GetGeometryCount())], None))
        else:
            out.append((ogr.GeometryTypeToName(t), level, [], None))
    return out


def main():
    a, b = ours(sys.argv[1]), gdals(sys.argv[2])
    count = collections.Counter((e[1], e[0]) for e in a)
    print("levels " + " ".join("%d:%s=%d" % (lv, kind, n) for (lv, kind), n in sorted(count.items())))
    bad = []
    if len(a) != len(b):
        bad.append("%d elements read, GDAL %d" % (len(a), len(b)))
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            bad.append("element %d: ours %r, GDAL's %r" % (i, x[:2] + (x[3],), y[:2] + (y[3],)))
        if len(bad) >= 5:
            break
    print("vertices %d texts %d" % (sum(len(p) for e in a for p in e[2] if e[0] != "text"),
                                    sum(1 for e in a if e[0] == "text")))
    if bad:
        print("\n".join(bad))
        return 1
    print("same")
    return 0


sys.exit(main())
