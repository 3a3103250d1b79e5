#!/usr/bin/env bash
# Every format OGR reads that surveys come in imports with the right counts,
# attributes and positions.
source "$(dirname "$0")/lib.sh"

N=120
base_phutho
grid_csv src.csv $N 07894
new_store

# expect_import NAME FILE [import options...]: N stored, nothing rejected,
# and parcel 1 found by a lookup at its centre in the survey's CRS.
expect_import() {
    local name=$1 file=$2
    shift 2
    import --force "$@" "$file"
    if [ "$RC" -ne 0 ]; then
        fail "$name: import failed: $OUT"
        return
    fi
    local batch
    batch=$(sql "SELECT max(id) FROM import_batches")
    check "$name: stored" "$(sql "SELECT stored || '/' || rejected FROM import_files WHERE batch_id = $batch")" "$N/0"
    check "$name: current parcels" "$(sql "SELECT count(*) FROM parcels WHERE commune = '07894' AND valid_to IS NULL")" "$N"
    check "$name: parcel 1" "$(sql "SELECT sheet || '/' || parcel || '/' || landuse || '/' || CAST(area_surveyed_m2 * 10 AS INTEGER) || '/' || owner FROM parcels WHERE parcel = '1' AND valid_to IS NULL")" "12/1/ONT/4000/Nguyen Van 0"
    check "$name: compound land use" "$(sql "SELECT landuse FROM parcels WHERE parcel = '5' AND valid_to IS NULL")" "ONT+CLN"
    local cx cy hit
    cx=$(awk -v x="$BX" 'BEGIN { printf "%.3f", x + 10 }')
    cy=$(awk -v y="$BY" 'BEGIN { printf "%.3f", y + 10 }')
    hit=$("$PARCELDB" lookup --db "$DB" --srs EPSG:9208 --en "$cx,$cy" 2>&1 || true)
    contains "$name: lookup at parcel 1's centre" "$hit" '"parcel": ?"1"'
}

# Shapefile with .prj and .cpg (UTF-8).
to_format src.csv shp/parcels.shp "ESRI Shapefile" -a_srs EPSG:9208 -lco ENCODING=UTF-8
expect_import shapefile shp/parcels.shp --commune 07894

# Shapefile without .prj: refused without --srs, imported with it.
mkdir -p noprj && cp shp/parcels.shp shp/parcels.shx shp/parcels.dbf noprj/
import noprj/parcels.shp
check "shapefile without .prj: refused" "$RC" 1
contains "shapefile without .prj: names --srs" "$OUT" "no coordinate system.*--srs EPSG:9208"
expect_import "shapefile without .prj, --srs" noprj/parcels.shp --srs EPSG:9208

# GeoPackage.
to_format src.csv parcels.gpkg GPKG -a_srs EPSG:9208
expect_import geopackage parcels.gpkg

# GeoJSON with the legacy crs member (what desktop GIS writes for TM-3).
to_format src.csv legacy.geojson GeoJSON -a_srs EPSG:9208 -lco RFC7946=NO
contains "legacy GeoJSON has a crs member" "$(head -c 400 legacy.geojson)" 'EPSG::9208'
expect_import "GeoJSON, legacy crs" legacy.geojson

# RFC 7946 GeoJSON (WGS 84 lon/lat).
to_format src.csv wgs84.geojson GeoJSON -s_srs EPSG:9208 -t_srs EPSG:4326 -lco RFC7946=YES \
    -lco COORDINATE_PRECISION=9
expect_import "GeoJSON, WGS 84" wgs84.geojson
check "GeoJSON, WGS 84: source srid" "$(sql "SELECT DISTINCT source_srid FROM parcels WHERE valid_to IS NULL")" 4326

# GML and KML.
to_format src.csv parcels.gml GML -a_srs EPSG:9208
expect_import GML parcels.gml
to_format src.csv parcels.kml KML -s_srs EPSG:9208 -t_srs EPSG:4326
expect_import KML parcels.kml

# CSV with a WKT column (no CRS in the file).
expect_import "CSV with WKT" src.csv --srs EPSG:9208

# DXF and DGN: no attributes, so the parcels' numbers are text labels
# "key=value;..." inside each polygon.
awk -F'"' 'NR == 1 { print "WKT,Label"; next } {
    split($3, a, ","); wkt = $2
    s = wkt; sub(/^POLYGON \(\(/, "", s); split(s, p, /[ ,]/)
    print "\"" wkt "\","
    printf "\"POINT (%.3f %.3f)\",\"MaXa=%s;SoTo=%s;SoThua=%s;LoaiDat=%s;DienTich=%s;TenChu=%s\"\n",
        p[1] + 10, p[2] + 10, a[2], a[3], a[4], a[5], a[6], a[7]
}' src.csv > cad.csv
cad_sql="SELECT GeomFromText(WKT) AS geom, CASE WHEN Label IS NOT NULL AND Label != '' THEN 'LABEL(f:\"Arial\",t:\"' || Label || '\")' END AS OGR_STYLE FROM cad"
ogr2ogr -q -f DXF parcels.dxf cad.csv -dialect sqlite -sql "$cad_sql"
expect_import DXF parcels.dxf --srs EPSG:9208
ogr2ogr -q -f DGN parcels.dgn cad.csv -dialect sqlite -sql "$cad_sql"
expect_import "DGN v7" parcels.dgn --srs EPSG:9208

# A directory and a glob: every survey file, sidecars skipped.
mkdir -p dir && cp parcels.gpkg dir/a.gpkg && cp shp/parcels.* dir/
import --dry-run --force dir
check "directory: imports" "$RC" 0
check "directory: two surveys" "$(printf '%s\n' "$OUT" | grep -cE '(a\.gpkg|parcels\.shp) .* dry-run ')" 2
import --dry-run --force "$WORK/dir/*.gpkg"
check "glob: imports" "$RC" 0
contains "glob: the GeoPackage" "$OUT" "a\.gpkg .* dry-run"

# A file that cannot be read fails the run, the others still import.
echo "not a survey" > broken.gpkg
import --force broken.gpkg parcels.gpkg
check "unreadable file: exit status" "$RC" 1
contains "unreadable file: named" "$OUT" "broken\.gpkg"
check "unreadable file: the other imported" "$(sql "SELECT count(*) FROM import_files WHERE file = 'parcels.gpkg'")" 2

finish
