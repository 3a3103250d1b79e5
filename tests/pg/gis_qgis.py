#!/usr/bin/python3
"""gis_qgis.py CONNINFO TABLE EPSG...: headless QGIS (Debian's python3-qgis,
QT_QPA_PLATFORM=offscreen) opens parceldb's GIS views as a land officer's
"Add PostGIS layer" does (tests/pg/gis.sh runs it). For each TABLE:EPSG
it prints "TABLE valid crs count": whether the layer is valid, its CRS's
authid and featureCount(). QGIS only looks; the shell decides.
"""
import sys

from qgis.core import QgsApplication, QgsDataSourceUri, QgsVectorLayer

app = QgsApplication([], False)
app.initQgis()
conninfo = sys.argv[1]
for arg in sys.argv[2:]:
    table, epsg = arg.split(":")
    uri = QgsDataSourceUri(conninfo)
    uri.setDataSource("parceldb", table, "geom", "", "id")
    uri.setSrid(epsg)
    uri.setWkbType(6)  # MultiPolygon
    layer = QgsVectorLayer(uri.uri(False), table, "postgres")
    print(table, int(layer.isValid()), layer.crs().authid() or "none", layer.featureCount())
app.exitQgis()
