#!/usr/bin/env bash
# The source CRS: from the file, matched by parameters, or --srs; refused
# when missing or when it contradicts the data or the commune's zone.
source "$(dirname "$0")/lib.sh"

new_store

# A Vinh Phuc commune surveyed in its own zone, TM-3 105-00 (EPSG:5897).
base_vinhphuc
grid_csv vp.csv 30 08707

# No CRS at all: refused, naming --srs and the commune's zone.
to_format vp.csv noprj/vp.shp "ESRI Shapefile"
import noprj/vp.shp
check "no CRS: refused" "$RC" 1
contains "no CRS: names --srs with the commune's zone" "$OUT" "no coordinate system \(no \.prj\); give it with --srs: commune 08707 .* --srs EPSG:5897"
check "no CRS: nothing stored" "$(sql "SELECT count(*) FROM parcels")" 0
import --srs EPSG:5897 noprj/vp.shp
check "no CRS, --srs: imported" "$RC" 0
check "no CRS, --srs: stored" "$(sql "SELECT count(*) || '/' || min(source_srid) FROM parcels WHERE valid_to IS NULL")" "30/5897"

# The wrong meridian: the .prj says Phu Tho's 104-45 for a Vinh Phuc commune.
to_format vp.csv wrongzone/vp.shp "ESRI Shapefile" -a_srs EPSG:9208
import wrongzone/vp.shp
check "wrong zone: refused" "$RC" 1
contains "wrong zone: says wrong meridian and the fix" "$OUT" "wrong meridian: EPSG:9208 .* commune 08707 .* EPSG:5897 .* --srs EPSG:5897.*--force-srs"
import --srs 105-00 wrongzone/vp.shp
check "wrong zone, --srs 105-00: imported" "$RC" 0
contains "wrong zone, --srs: note" "$OUT" "overrides the file's EPSG:9208"
import --force --force-srs wrongzone/vp.shp
check "wrong zone, --force-srs: imported" "$RC" 0
check "wrong zone, --force-srs: kept the declared zone" "$(sql "SELECT DISTINCT source_srid FROM parcels WHERE valid_to IS NULL")" 9208

# A Phu Tho commune with a .prj that has no EPSG code and no TOWGS84 (a
# custom TM-3): matched by its parameters.
base_phutho
grid_csv pt.csv 25 07894
custom="+proj=tmerc +lat_0=0 +lon_0=104.75 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +units=m +no_defs"
to_format pt.csv custom/pt.shp "ESRI Shapefile" -a_srs "$custom"
contains "custom TM-3: the .prj has no TOWGS84" "$(cat custom/pt.prj)" "Transverse_Mercator"
import custom/pt.shp
check "custom TM-3: imported" "$RC" 0
contains "custom TM-3: matched by parameters" "$OUT" "matched by its parameters .* EPSG:9208"
check "custom TM-3: source srid" "$(sql "SELECT DISTINCT source_srid FROM parcels WHERE commune = '07894' AND valid_to IS NULL")" 9208

# k = 1 instead of 0.9999 (236 m off): refused.
to_format pt.csv k1/pt.shp "ESRI Shapefile" -a_srs "${custom/k=0.9999/k=1}"
import k1/pt.shp
check "k = 1: refused" "$RC" 1
contains "k = 1: says why" "$OUT" "scale factor 1\.0+; VN-2000 TM-3 zones use 0\.9999"

# A WGS 84 UTM file is not VN-2000: refused, not reinterpreted.
to_format pt.csv utm/pt.shp "ESRI Shapefile" -s_srs EPSG:9208 -t_srs EPSG:32648
import utm/pt.shp
check "WGS 84 UTM: refused" "$RC" 1
contains "WGS 84 UTM: names the CRS" "$OUT" "32648"

# Swapped axes (X = northing written first): refused with the likely fix.
awk -F'"' 'NR == 1 { print; next } {
    n = split($2, t, /[(), ]+/); out = "POLYGON (("
    for (i = 2; i + 1 <= n - 1; i += 2) out = out (i > 2 ? "," : "") t[i + 1] " " t[i]
    print "\"" out "))\"" $3 }' pt.csv > swapped.csv
to_format swapped.csv swapped/pt.shp "ESRI Shapefile" -a_srs EPSG:9208
import swapped/pt.shp
check "swapped axes: refused" "$RC" 1
contains "swapped axes: says so" "$OUT" "swapped"

# Degrees in a file that declares TM-3.
to_format pt.csv deg/tmp.shp "ESRI Shapefile" -s_srs EPSG:9208 -t_srs EPSG:4326
to_format deg/tmp.shp deg/pt.shp "ESRI Shapefile" -a_srs EPSG:9208
import deg/pt.shp
check "degrees as TM-3: refused" "$RC" 1
contains "degrees as TM-3: says degrees" "$OUT" "degrees"

# RFC 7946 GeoJSON (no crs member) holding TM-3 metres: refused, with the
# reason and --srs.
to_format pt.csv nocrs.geojson GeoJSON -lco RFC7946=NO
import nocrs.geojson
check "GeoJSON without crs, metres: refused" "$RC" 1
contains "GeoJSON without crs: explains" "$OUT" "RFC 7946.*--srs EPSG:9208"
import --force --srs EPSG:9208 nocrs.geojson
check "GeoJSON without crs, --srs: imported" "$RC" 0

# An unknown --srs is a usage-level failure of the whole run.
import --srs EPSG:3857 noprj/vp.shp
check "--srs EPSG:3857: refused" "$RC" 1
contains "--srs EPSG:3857: says not accepted" "$OUT" "3857"

finish
