#!/usr/bin/env bash
# Headless QGIS against /wms and /ogcapi (issue 13): what a land officer
# does in "Add WMS layer" and "Add WFS / OGC API - Features layer", through
# Debian's python3-qgis with QT_QPA_PLATFORM=offscreen (tests/server/qgis_client.py):
#   - the WMS layer in EPSG:9208 and in EPSG:3857 is valid and renders
#     (sequential and parallel render jobs) a map whose pixel at each of
#     the survey's 40 parcels is its land-use colour from styles/landuse.json;
#   - identify through the WMS layer (GetFeatureInfo, as text and as
#     features) gives the survey's parcel number at each point, no owner;
#   - the OGC API layer is valid, its featureCount() is the store's count,
#     so are the features in a box and the commune's after a filter, and a
#     feature's attributes are the store's.
# Expected numbers come from the source file (OGR) and the store (sqlite3
# with SpatiaLite), never from QGIS. Without python3-qgis the test fails.
source "$(dirname "$0")/lib.sh"

# Debian's QGIS bindings are in the system Python, whatever python3 is
# first on PATH.
PYTHON=/usr/bin/python3
VT_COMMUNE=07894

if ! QT_QPA_PLATFORM=offscreen "$PYTHON" -c 'import qgis.core' 2>qgis-import.err; then
    fail "python3-qgis is not importable ($(tail -1 qgis-import.err)): scripts/install-deps.sh installs it"
    finish
    exit 1
fi

make_store || exit 1
start_server || exit 1

# spatialite SQL: runs SQL on the store with SpatiaLite loaded.
spatialite() {
    sqlite3 -batch -noheader "$DB" ".load mod_spatialite" "$1" 2>&1
}

# "parcel landuse E N lon lat" per parcel of pt.gpkg: 4 m inside its
# south-west corner (away from its outline and its centre's label), in the
# survey's metres read by OGR, and in WGS 84 by cs2cs.
ogr2ogr -q -f CSV /vsistdout/ pt.gpkg -dialect SQLite \
    -sql "SELECT SoThua, LoaiDat, ST_MinX(geom) + 4 AS e, ST_MinY(geom) + 4 AS n FROM parcels" |
    tail -n +2 | tr -d '"' | tr ',' ' ' >pts.txt
cut -d' ' -f3,4 pts.txt | cs2cs -f "%.9f" EPSG:9208 EPSG:4326 | awk '{ print $2, $1 }' >lonlat.txt
paste -d' ' pts.txt lonlat.txt >points.txt
check "points read from the source file" "$(grep -c . points.txt)" 40

# A box from parcel 1's centre to parcel 23's, as tests/server/ogcapi.sh's
# ogr case: its parcels counted by SpatiaLite on the store.
base_phutho
parcel_center 9208 1
A_LON=$PLON A_LAT=$PLAT
parcel_center 9208 23
WANT_BOX=$(spatialite "SELECT count(*) FROM parcels WHERE valid_to IS NULL AND
    ST_Intersects(geom, BuildMbr($A_LON, $A_LAT, $PLON, $PLAT, 4326))")
WANT_ALL=$(store_sql "$DB" "SELECT count(*) FROM parcels WHERE valid_to IS NULL")
WANT_COMMUNE=$(store_sql "$DB" "SELECT count(*) FROM parcels WHERE valid_to IS NULL AND commune = '$VT_COMMUNE'")
WANT_FIRST=$(store_sql "$DB" "SELECT commune || '|' || sheet || '|' || parcel || '|' || landuse || '|EPSG:' || source_srid
    FROM parcels WHERE valid_to IS NULL ORDER BY id LIMIT 1")
check "the store: 70 parcels, 40 in $VT_COMMUNE, 9 in the box" "$WANT_ALL $WANT_COMMUNE $WANT_BOX" "70 40 9"

mkdir -m 0700 xdg profile
OUT=$(XDG_RUNTIME_DIR="$WORK/xdg" QT_QPA_PLATFORM=offscreen timeout 240 "$PYTHON" \
    "$PDB_SOURCE_DIR/tests/server/qgis_client.py" "$BASE" points.txt "$PDB_SOURCE_DIR/styles/landuse.json" \
    "$WORK/profile" "$VT_COMMUNE" "$A_LON,$A_LAT,$PLON,$PLAT" 2>qgis.err)
RC=$?
echo "$OUT"
check "qgis_client.py: exit status $(grep -v "^QStandardPaths" qgis.err | grep . | tail -1)" "$RC" 0
# value NAME: what qgis_client.py said for NAME.
value() {
    awk -v k="$1" '$1 == k { sub(/^[^ ]+ /, ""); print; exit }' <<<"$OUT"
}
check "QGIS read the 40 points" "$(value points)" 40
for crs in 9208 3857; do
    check "WMS layer in EPSG:$crs: isValid()" "$(value wms_${crs}_valid)" True
    check "WMS layer in EPSG:$crs: its CRS" "$(value wms_${crs}_layer_crs)" "EPSG:$crs"
    check "WMS map in EPSG:$crs: rendered without errors" "$(value wms_${crs}_render_errors)" 0
    check "WMS map in EPSG:$crs: the image" "$(value wms_${crs}_image)" 620x320
    check "WMS map in EPSG:$crs: every parcel shows its land-use colour $(value wms_${crs}_colour_wrong)" \
        "$(value wms_${crs}_colour_right)" 40
done
check "identify as text: every point's parcel number $(value identify_text_wrong)" \
    "$(value identify_text_right)" 40
check "identify as features: every point's parcel number $(value identify_feature_wrong)" \
    "$(value identify_feature_right)" 40
check "identify without a token: no owner" "$(value identify_owner_shown)" 0
contains "QGIS's requests are in the server's log" "$(cat "$WORK/server.log")" 'GET /wms\?'
check "OGC API layer: isValid()" "$(value oapif_valid)" True
check "OGC API layer: CRS" "$(value oapif_crs)" EPSG:4326
check "OGC API layer: featureCount() is the store's" "$(value oapif_count)" "$WANT_ALL"
check "OGC API layer: features in the box, as SpatiaLite counts them" "$(value oapif_box_count)" "$WANT_BOX"
check "OGC API layer: the first feature's attributes are the store's" "$(value oapif_feature)" "$WANT_FIRST"
check "OGC API layer: the first feature has a geometry" "$(value oapif_feature_geometry)" True
check "OGC API layer: no owner field" "$(value oapif_owner_field)" False
check "OGC API layer: a commune filter is accepted" "$(value oapif_subset)" True
check "OGC API layer: featureCount() of $VT_COMMUNE is the store's" "$(value oapif_commune_count)" "$WANT_COMMUNE"
check "OGC API layer: the features read are $VT_COMMUNE's" "$(value oapif_commune_read)" "$WANT_COMMUNE"
check "qgis_client.py ran to its end" "$(value done)" yes
stop_server
finish
