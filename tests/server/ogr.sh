#!/usr/bin/env bash
# GDAL's GeoJSON driver reads /parcels?bbox= straight from the server: the
# right feature count for the box, MultiPolygons in WGS 84, the attributes
# and no owner; and the geometry, taken back into the survey's TM-3 zone by
# ogr2ogr, has the surveyed 400 m2 and sits where the survey put it.
source "$(dirname "$0")/lib.sh"

make_store || exit 1
start_server || exit 1

# 07894 (Viet Tri) only; 08707 (Vinh Yen, ~20 km east) is outside the box.
VT="105.39,21.31,105.42,21.33"
ALL="105.3,21.2,105.7,21.4"

OUT=$(timeout 60 ogrinfo -ro -so -al "$BASE/parcels?bbox=$VT&limit=1000" 2>&1)
contains "ogrinfo: opened with the GeoJSON driver" "$OUT" "using driver .GeoJSON. successful"
contains "ogrinfo: 40 features in Viet Tri" "$OUT" "Feature Count: 40$"
contains "ogrinfo: MultiPolygon" "$OUT" "Geometry: Multi Polygon"
contains "ogrinfo: WGS 84" "$OUT" 'ID\["EPSG",4326\]'
contains "ogrinfo: attributes" "$OUT" "parcel: String"
lacks "ogrinfo: no owner field" "$OUT" "owner"
OUT=$(timeout 60 ogrinfo -ro -so -al "$BASE/parcels?bbox=$ALL&limit=1000" 2>&1)
contains "ogrinfo: 70 features in both communes" "$OUT" "Feature Count: 70$"
OUT=$(timeout 60 ogrinfo -ro -so -al "$BASE/parcels?bbox=$ALL&limit=25&offset=50" 2>&1)
contains "ogrinfo: a page of 20 (offset 50 of 70)" "$OUT" "Feature Count: 20$"
OUT=$(timeout 60 ogrinfo -ro -so -al "$BASE/parcels?bbox=105.0,20.0,105.1,20.1" 2>&1)
contains "ogrinfo: an empty box" "$OUT" "Feature Count: 0$"

# Back into EPSG:9208 with ogr2ogr: areas and places as surveyed.
timeout 60 ogr2ogr -q -f GPKG back.gpkg "$BASE/parcels?bbox=$VT&limit=1000" -t_srs EPSG:9208 \
    -nln back 2>ogr2ogr.err
check "ogr2ogr: read the answer" "$?" 0
OUT=$(ogrinfo -ro -q back.gpkg -dialect SQLite \
    -sql "SELECT count(*) AS n, min(ST_Area(geom)) AS amin, max(ST_Area(geom)) AS amax FROM back")
AMIN=$(printf '%s' "$OUT" | awk -F' = ' '/amin/ { print $2 }')
AMAX=$(printf '%s' "$OUT" | awk -F' = ' '/amax/ { print $2 }')
check "areas back in TM-3: about 400 m2" \
    "$(awk -v a="$AMIN" -v b="$AMAX" 'BEGIN { print (a > 399.9 && b < 400.1) ? "yes" : a "-" b }')" yes
base_phutho
OUT=$(ogrinfo -ro -q back.gpkg -dialect SQLite \
    -sql "SELECT MbrMinX(geom) AS x, MbrMinY(geom) AS y FROM back WHERE parcel = '1'")
X=$(printf '%s' "$OUT" | awk -F' = ' '/ x / || /^ *x/ { print $2 }')
Y=$(printf '%s' "$OUT" | awk -F' = ' '/ y / || /^ *y/ { print $2 }')
check "parcel 1 back at the survey's corner (within 1 cm)" \
    "$(awk -v x="$X" -v y="$Y" -v bx="$BX" -v by="$BY" \
        'BEGIN { d = sqrt((x - bx) ^ 2 + (y - by) ^ 2); print (d < 0.01) ? "yes" : "off by " d " m" }')" yes

# With a token, GDAL sees the owner too (GDAL_HTTP_HEADERS).
printf 'owner-reader-token-0001\n' >tokens
stop_server
start_server --tokens tokens || exit 1
OUT=$(GDAL_HTTP_HEADERS="Authorization: Bearer owner-reader-token-0001" timeout 60 \
    ogrinfo -ro -al "$BASE/parcels?bbox=$VT&limit=3" 2>&1)
contains "ogrinfo with a token: owners" "$OUT" "owner \(String\) = Nguyen Van Chu 1"
stop_server
finish
