#!/usr/bin/python3
"""qgis_client.py BASE POINTS STYLE PROFILE: headless QGIS (Debian's python3-qgis,
QT_QPA_PLATFORM=offscreen) as a land officer uses it against parceldb
serve at BASE (tests/server/qgis.sh runs it).

POINTS has one line per parcel of the source survey, read by OGR:
"parcel landuse E N lon lat", a point 4 m inside the parcel's south-west
corner in EPSG:9208 metres and in WGS 84 (cs2cs). STYLE is
styles/landuse.json, whose fill colours the map must show. PROFILE is an
empty directory for QGIS's settings and caches.

Prints "name value" lines that the shell checks against what the store
says; QGIS only looks, it decides nothing. Exits non-zero when a step
raises.
"""
import json
import sys

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsMapRendererParallelJob,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsPointXY,
    QgsProject,
    QgsRaster,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

WIDTH, HEIGHT = 620, 320  # pixels of each rendered map
TOLERANCE = 10  # per channel, as tests/server/wms.sh allows GDAL


def say(name, value):
    print(name, value, flush=True)


def landuse_colours(style_path):
    """{code: QColor} from the fill layer's match expression of the style."""
    style = json.load(open(style_path, encoding="utf-8"))
    fill = next(l for l in style["layers"] if l["type"] == "fill" and l["source-layer"] == "parcels")
    expr = fill["paint"]["fill-color"]
    assert expr[0] == "match" and expr[1] == ["get", "landuse_main"], expr[:2]
    pairs = expr[2:-1]
    return {pairs[i]: QColor(pairs[i + 1]) for i in range(0, len(pairs), 2)}


def near(got, want):
    return got.alpha() == 255 and all(
        abs(a - b) <= TOLERANCE
        for a, b in ((got.red(), want.red()), (got.green(), want.green()), (got.blue(), want.blue()))
    )


def render(layer, crs, extent, job_class):
    settings = QgsMapSettings()
    settings.setDestinationCrs(crs)
    settings.setExtent(extent)
    settings.setOutputSize(QSize(WIDTH, HEIGHT))
    settings.setLayers([layer])
    job = job_class(settings)
    job.start()
    job.waitForFinished()
    errors = [e.message for e in job.errors()]
    return job.renderedImage(), settings, errors


def wms(base, points, colours, epsg, job_class):
    """Adds /wms in EPSG:epsg, renders the points' extent, looks at each
    point's pixel; in EPSG:9208 also identifies each point."""
    tag = "wms_%d" % epsg
    crs = QgsCoordinateReferenceSystem("EPSG:%d" % epsg)
    layer = QgsRasterLayer(
        "crs=EPSG:%d&format=image/png&layers=parcels&styles=&url=%s/wms" % (epsg, base),
        "parcels",
        "wms",
    )
    say(tag + "_valid", layer.isValid())
    if not layer.isValid():
        return
    say(tag + "_layer_crs", layer.crs().authid())
    if epsg == 9208:
        xy = [(p["e"], p["n"]) for p in points]
    else:
        to = QgsCoordinateTransform(
            QgsCoordinateReferenceSystem("EPSG:4326"), crs, QgsProject.instance()
        )
        xy = []
        for p in points:
            q = to.transform(QgsPointXY(p["lon"], p["lat"]))
            xy.append((q.x(), q.y()))
    xs, ys = [x for x, _ in xy], [y for _, y in xy]
    pad = 30 if epsg == 9208 else 35  # metres; Web Mercator's are 1/cos(21 deg) larger
    extent = QgsRectangle(min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)
    image, settings, errors = render(layer, crs, extent, job_class)
    say(tag + "_render_errors", len(errors))
    for e in errors[:3]:
        say(tag + "_render_error", e)
    say(tag + "_image", "%dx%d" % (image.width(), image.height()))
    m2p = settings.mapToPixel()
    wrong = []
    for p, (x, y) in zip(points, xy):
        px = m2p.transform(x, y)
        got = image.pixelColor(int(px.x()), int(px.y()))
        if not near(got, colours[p["landuse"]]):
            wrong.append("%s:%s:%s" % (p["parcel"], p["landuse"], got.name(QColor.HexArgb)))
    say(tag + "_colour_right", len(points) - len(wrong))
    if wrong:
        say(tag + "_colour_wrong", " ".join(wrong[:5]))
    if epsg != 9208:
        return
    # Identify each point as QGIS's identify tool does, in both formats
    # its WMS provider reads: text (text/plain) and features (GML).
    provider = layer.dataProvider()
    right = {"text": 0, "feature": 0}
    wrong = {"text": [], "feature": []}
    owners = 0
    for p, (x, y) in zip(points, xy):
        pt = QgsPointXY(x, y)
        text = provider.identify(pt, QgsRaster.IdentifyFormatText, settings.extent(), WIDTH, HEIGHT)
        got = "".join(v for v in text.results().values() if isinstance(v, str)) if text.isValid() else ""
        owners += "Nguyen Van Chu" in got or "owner" in got
        if got.startswith("parcel 07894/12/%s\n" % p["parcel"]):
            right["text"] += 1
        else:
            wrong["text"].append("%s->%r" % (p["parcel"], got[:40]))
        res = provider.identify(pt, QgsRaster.IdentifyFormatFeature, settings.extent(), WIDTH, HEIGHT)
        numbers = []
        if res.isValid():
            for stores in res.results().values():
                for store in stores:
                    numbers += [str(f["parcel"]) for f in store.features()]
        if numbers == [p["parcel"]]:
            right["feature"] += 1
        else:
            wrong["feature"].append("%s->%s" % (p["parcel"], numbers))
    for k in ("text", "feature"):
        say("identify_%s_right" % k, right[k])
        if wrong[k]:
            say("identify_%s_wrong" % k, " ".join(wrong[k][:5]))
    say("identify_owner_shown", owners)


def oapif(base, commune, box):
    """Adds /ogcapi's parcels; counts and reads features as QGIS does."""
    layer = QgsVectorLayer("url='%s/ogcapi' typename='parcels'" % base, "parcels", "OAPIF")
    say("oapif_valid", layer.isValid())
    if not layer.isValid():
        return
    say("oapif_crs", layer.crs().authid())
    say("oapif_count", layer.featureCount())
    request = QgsFeatureRequest().setFilterRect(QgsRectangle(*box))
    request.setFlags(QgsFeatureRequest.ExactIntersect)
    say("oapif_box_count", sum(1 for _ in layer.getFeatures(request)))
    first = next(layer.getFeatures(QgsFeatureRequest().addOrderBy("$id")), None)
    if first is not None:
        say(
            "oapif_feature",
            "|".join(str(first[k]) for k in ("commune", "sheet", "parcel", "landuse", "source_srid")),
        )
        say("oapif_feature_geometry", first.geometry().wkbType() != 0 and not first.geometry().isEmpty())
    say("oapif_owner_field", "owner" in layer.fields().names())
    say("oapif_subset", layer.setSubsetString("commune = '%s'" % commune))
    say("oapif_commune_count", layer.featureCount())
    say("oapif_commune_read", sum(1 for f in layer.getFeatures() if f["commune"] == commune))


def main():
    base, points_path, style_path, profile = sys.argv[1:5]
    commune = sys.argv[5]
    box = [float(v) for v in sys.argv[6].split(",")]
    points = []
    for line in open(points_path, encoding="utf-8"):
        parcel, landuse, e, n, lon, lat = line.split()
        points.append(
            {"parcel": parcel, "landuse": landuse, "e": float(e), "n": float(n),
             "lon": float(lon), "lat": float(lat)}
        )
    say("points", len(points))
    app = QgsApplication([], False, profile)
    app.initQgis()
    try:
        colours = landuse_colours(style_path)
        wms(base, points, colours, 9208, QgsMapRendererSequentialJob)
        wms(base, points, colours, 3857, QgsMapRendererParallelJob)
        oapif(base, commune, box)
    finally:
        # Layers went with their functions: QGIS may exit now without
        # touching a provider it has already unloaded.
        QgsProject.instance().clear()
        app.exitQgis()
    say("done", "yes")


if __name__ == "__main__":
    main()
