#!/usr/bin/python3
"""independent.py SURVEY.gpkg REPORT.gpkg: what an officer sees in QGIS
against an independent count. QGIS (offscreen) opens the GeoPackage report
of `parceldb qa` and counts the features of its overlap and gap layers;
Shapely (GEOS through Python) counts, from the survey file itself read by
OGR, the pairs of parcels whose intersection has at least 0.01 m2 and the
holes of the parcels' union (less the parcels standing in them) of at
least 1 mm2, narrower than 0.2 m or smaller than 1 m2 (the
default rules, docs/qa.md). The survey must be one that the importer
stores whole (no --defects), so that both sides see the same parcels.
Prints both counts; exits 1 when they differ."""
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from osgeo import ogr  # noqa: E402
from qgis.core import QgsApplication, QgsVectorLayer  # noqa: E402
from shapely import wkb  # noqa: E402
from shapely.geometry import Polygon  # noqa: E402
from shapely.ops import unary_union  # noqa: E402
from shapely.strtree import STRtree  # noqa: E402
from shapely.validation import make_valid  # noqa: E402

survey, report = sys.argv[1], sys.argv[2]

# Shapely's side.
ds = ogr.Open(survey)
layer = ds.GetLayer(0)
geoms = []
for feat in layer:
    g = wkb.loads(bytes(feat.GetGeometryRef().ExportToIsoWkb()))
    if not g.is_valid:
        g = make_valid(g)
    geoms.append(g)
# Closed before QGIS starts: QGIS's GDAL cleanup at exit crashes on a
# dataset the bindings still hold.
layer = None
ds = None
tree = STRtree(geoms)
index = {id(g): i for i, g in enumerate(geoms)}
overlaps = 0
for i, g in enumerate(geoms):
    for h in tree.query(g):
        j = index[id(h)]
        if j <= i:
            continue
        x = g.intersection(h)
        if x.area >= 0.01:
            overlaps += 1
union = unary_union(geoms)
polys = list(getattr(union, "geoms", [union]))
gaps = 0
for poly in polys:
    for ring in poly.interiors:
        hole = Polygon(ring)
        # Parcels standing in the hole as islands are not the gap.
        for other in polys:
            if other is not poly and hole.covers(other):
                hole = hole.difference(Polygon(other.exterior))
        for part in getattr(hole, "geoms", [hole]):
            # Below 1 mm2: floating-point noise, not a gap (docs/qa.md).
            if part.geom_type == "Polygon" and part.area >= 1e-6 and (
                part.area < 1.0 or part.buffer(-0.1).is_empty
            ):
                gaps += 1

# QGIS's side.


def qgis_counts():
    """Features per layer; the layers die with this function, before QGIS
    exits (a layer alive at exitQgis crashes it)."""
    counts = {}
    for name in ("overlap", "gap"):
        lyr = QgsVectorLayer(f"{report}|layername={name}", name, "ogr")
        if not lyr.isValid():
            counts[name] = 0  # a check without findings has no layer (docs/qa.md)
            continue
        counts[name] = lyr.featureCount()
        print(f"QGIS: layer {name} valid, {counts[name]} features, CRS {lyr.crs().authid()}")
    return counts


app = QgsApplication([], False)
app.initQgis()
try:
    counts = qgis_counts()
finally:
    app.exitQgis()

print(f"overlaps: QGIS {counts['overlap']}, Shapely {overlaps}")
print(f"gaps: QGIS {counts['gap']}, Shapely {gaps}")
ok = counts["overlap"] == overlaps and counts["gap"] == gaps and overlaps > 0 and gaps > 0
sys.exit(0 if ok else 1)
