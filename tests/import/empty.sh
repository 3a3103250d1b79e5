#!/usr/bin/env bash
# An empty source is named as such: a 0-byte file (an export that wrote
# nothing) and a well-formed file without a feature each fail with a line
# that says which, in every format surveys come in, and store nothing;
# a good file given with them is still imported.
source "$(dirname "$0")/lib.sh"

base_phutho
grid_csv src.csv 10 07894
new_store

# expect_empty NAME FILE PATTERN: the import fails (status 1), its first
# line names the file and matches PATTERN, and nothing is stored.
expect_empty() {
    local name=$1 file=$2 pattern=$3
    import --quiet "$file"
    check "$name: exit status" "$RC" 1
    contains "$name: says so: $(echo "$OUT" | head -1)" "$(echo "$OUT" | head -1)" \
        "^parceldb: $file: $pattern"
    check "$name: nothing stored" "$(sql "SELECT count(*) FROM parcels")" 0
}

# 0-byte files, with the names the formats have.
mkdir zero
: >zero/07894.geojson
: >zero/07894.gpkg
: >zero/07894.shp
for f in zero/07894.geojson zero/07894.gpkg zero/07894.shp; do
    expect_empty "0-byte ${f##*.}" "$f" 'is an empty file \(0 bytes\): nothing to import$'
done

# Valid files whose only layer has no feature, written by ogr2ogr from the
# same survey with a filter that keeps nothing.
to_format src.csv none/parcels.geojson GeoJSON -a_srs EPSG:9208 -where "MaXa = 'none'"
to_format src.csv none/parcels.gpkg GPKG -a_srs EPSG:9208 -where "MaXa = 'none'"
to_format src.csv none/shp/parcels.shp "ESRI Shapefile" -a_srs EPSG:9208 -where "MaXa = 'none'"
check "the GeoPackage has its layer, empty" \
    "$(sqlite3 none/parcels.gpkg "SELECT table_name FROM gpkg_contents; SELECT count(*) FROM parcels")" \
    "parcels
0"
expect_empty "no features, GeoJSON" none/parcels.geojson \
    "holds no features: its GeoJSON layer 'parcels' is empty; nothing to import$"
expect_empty "no features, GeoPackage" none/parcels.gpkg \
    "holds no features: its GPKG layer 'parcels' is empty; nothing to import$"
expect_empty "no features, Shapefile" none/shp/parcels.shp \
    "holds no features: its ESRI Shapefile layer 'parcels' is empty; nothing to import$"

# With a good file: the empty ones fail, the good one is stored.
to_format src.csv good.gpkg GPKG -a_srs EPSG:9208
import --quiet zero/07894.gpkg none/parcels.gpkg good.gpkg
check "with a good file: exit status" "$RC" 1
contains "with a good file: the empty ones named" "$OUT" "zero/07894.gpkg: is an empty file"
check "with a good file: its parcels stored" \
    "$(sql "SELECT count(*) FROM parcels WHERE commune = '07894' AND valid_to IS NULL")" 10
finish
