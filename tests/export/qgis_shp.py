#!/usr/bin/python3
"""qgis_shp.py SHP PROFILE: headless QGIS (Debian's python3-qgis,
QT_QPA_PLATFORM=offscreen) opens a Shapefile that `parceldb export` wrote
(or a GeoPackage's layer, given as "FILE.gpkg|layername=LAYER"),
as a land officer does with "Add vector layer", and prints what it reads:

    valid 1
    crs EPSG:N
    count N
    row SoTo|SoThua|LoaiDat|DiaChi|ChuSuDung   (one per feature, sorted)

tests/export/roundtrip.sh compares these lines with the store (sqlite3):
QGIS only reads, it decides nothing. Exits non-zero when a step raises.
"""
import sys

from qgis.core import QgsApplication, QgsVectorLayer


def read(path):
    """Prints what QGIS reads; the layer is gone before QGIS exits (a layer
    alive at exitQgis() crashes the interpreter on its way out)."""
    layer = QgsVectorLayer(path, "export", "ogr")
    print("valid", int(layer.isValid()))
    print("crs", layer.crs().authid())
    print("count", layer.featureCount())
    names = ["SoTo", "SoThua", "LoaiDat", "DiaChi", "ChuSuDung"]
    rows = []
    for f in layer.getFeatures():
        rows.append("|".join("" if f[n] is None else str(f[n]) for n in names))
    for r in sorted(rows):
        print("row", r)


def main():
    path, profile = sys.argv[1], sys.argv[2]
    app = QgsApplication([], False, profile)
    app.initQgis()
    try:
        read(path)
    finally:
        app.exitQgis()


if __name__ == "__main__":
    main()
