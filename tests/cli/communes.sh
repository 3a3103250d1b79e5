#!/usr/bin/env bash
# A store made with a commune list beyond Phu Tho (issue 17, national
# scale): `parceldb init --communes FILE` keeps the list in the store, and
# every later command (each a new process) knows those communes: import,
# lookup by number and by coordinates, info, render. A bad list is one
# line naming the file and the line, and nothing is written. Run on both
# stores (tests/pg.cmake: cli_communes_pg).
. "$(dirname "$0")/lib.sh"
P=$PARCELDB
: "${PDB_SYNTH:?PDB_SYNTH must name the pdb-synth binary}"
export CPL_LOG=/dev/null

# Two made-up provinces of three communes each, codes 10000-10506, in the
# TM-3 zones 103-00 (EPSG:9205) and 104-00 (EPSG:9206); the generator
# writes their list beside the surveys.
"$PDB_SYNTH" --out "$TMP/synth" --provinces 2 --communes-per-province 3 \
    --parcels-per-commune 100 --defects none --quiet || fail "pdb-synth --provinces"
LIST=$TMP/synth/communes.csv
# Same arguments, same bytes, whatever the number of threads.
"$PDB_SYNTH" --out "$TMP/synth1" --provinces 2 --communes-per-province 3 \
    --parcels-per-commune 100 --defects none --quiet --jobs 1 || fail "pdb-synth --jobs 1"
expect_eq "pdb-synth --provinces: same bytes" "$(diff -r "$TMP/synth" "$TMP/synth1" | wc -l)" 0
expect_eq "list lines (header + 6)" "$(wc -l <"$LIST")" 7
expect_eq "commune 10503's row" "$(grep '^10503,' "$LIST" | cut -d, -f3-)" \
    "Synthetic 02,104-00,EPSG:9206"

# store_absent WHAT: the location holds no store (nothing was written).
store_absent() {
    expect_error "no such file|no parceldb store" "$P" info --db "$DB"
}

# Bad lists: refused before the store exists.
new_db refused || exit 1
bad() {
    local pattern=$1
    printf '%s\n' "code,name,former_province,central_meridian,epsg" "$2" >"$TMP/bad.csv"
    expect_error "$pattern" "$P" init --db "$DB" --communes "$TMP/bad.csv"
    store_absent
}
bad "bad.csv:2: commune code '1003' is not five digits" "1003,Xã A,Synthetic 01,103-00,EPSG:9205"
bad "bad.csv:2: .*EPSG:3405 is not a VN-2000 TM-3 zone" "10003,Xã A,Synthetic 01,48N,EPSG:3405"
bad "bad.csv:2: .*central meridian '103-30' is not that of EPSG:9205 \(103-00\)" \
    "10003,Xã A,Synthetic 01,103-30,EPSG:9205"
bad "bad.csv:2: 4 fields, want 5" "10003,Xã A,103-00,EPSG:9205"
# A code of Phu Tho as another commune: both named.
bad "bad.csv:2: commune 07894 is 'Xã Khác' \(Synthetic 01, EPSG:9205\) there, but '.*' \(Phu Tho, EPSG:9208\) in the built-in list" \
    "07894,Xã Khác,Synthetic 01,103-00,EPSG:9205"
# One code twice in the file, as two communes: both lines named.
{ cat "$LIST"; echo "10003,Xã Khác,Synthetic 01,103-00,EPSG:9205"; } >"$TMP/twice.csv"
expect_error "twice.csv:8: commune 10003 is 'Xã Khác' .* but .* at .*twice.csv:3" \
    "$P" init --db "$DB" --communes "$TMP/twice.csv"
store_absent
expect_error "10000.prj:1: the header is not 'code,name," \
    "$P" init --db "$DB" --communes "$TMP/synth/10000.prj"
store_absent
expect_error "10000.shp is not a text file" "$P" init --db "$DB" --communes "$TMP/synth/10000.shp"
store_absent
expect_error "nope.csv: No such file" "$P" init --db "$DB" --communes "$TMP/nope.csv"
store_absent

# Without the list, another province's commune is unknown.
new_db plain || exit 1
expect_ok "$P" init --db "$DB"
expect_error "commune code 10503 is not a commune of Phu Tho nor of the commune list of this store" \
    "$P" lookup --db "$DB" --id 10503/1/1
expect_error "10503" "$P" import --quiet --db "$DB" --commune 10503 "$TMP/synth/10503.shp"
# Its file's commune field: the file's line names both lists (then the
# import's summary line, as for any file not imported).
"$P" import --quiet --db "$DB" "$TMP/synth/10503.shp" >/dev/null 2>"$TMP/err" &&
    fail "an import of an unknown commune succeeded"
expect_eq "the file's line" "$(grep -c "10503.shp: the commune field MaXa holds no known commune code (Phu Tho's or the store's commune list) in 100 records; give --commune CODE" "$TMP/err")" 1

# With it: the list is in the store, and the commune imports and reads.
new_db national || exit 1
expect_ok "$P" init --db "$DB" --communes "$LIST" &&
    expect_eq "init says" "$(grep -c 'with 6 communes beside' "$TMP/out")" 1
expect_eq "the store's list" \
    "$(store_sql "$DB" "SELECT code || ' ' || epsg FROM commune_registry ORDER BY code" | xargs)" \
    "10000 9205 10003 9205 10006 9205 10500 9206 10503 9206 10506 9206"
expect_ok "$P" import --quiet --db "$DB" "$TMP/synth/10503.shp"
expect_ok "$P" info --db "$DB" && expect_eq "info: parcels" \
    "$(grep -o 'parcels: *[0-9]* current' "$TMP/out" | grep -o '[0-9]*')" 100

# A parcel and a point inside it, read from the survey by GDAL in its own
# CRS (EPSG:9206), so that no reprojection stands between test and store.
IFS=, read -r SHEET PARCEL E N < <(ogr2ogr -f CSV /vsistdout/ "$TMP/synth/10503.shp" \
    -dialect sqlite -sql 'SELECT SoHieuToBa, SoThuTuThu, ST_X(ST_PointOnSurface(geometry)),
        ST_Y(ST_PointOnSurface(geometry)) FROM "10503" WHERE rowid = 17' | tail -1 | tr -d '"')
expect_ok "$P" lookup --db "$DB" --id "10503/$SHEET/$PARCEL" &&
    expect_eq "lookup --id 10503/$SHEET/$PARCEL" \
        "$(grep -o '"commune":"[0-9]*"' "$TMP/out" | sort -u)" '"commune":"10503"'
expect_ok "$P" lookup --db "$DB" --srs EPSG:9206 --en "$E,$N" &&
    expect_eq "lookup --en in EPSG:9206" \
        "$(grep -o '"parcel":"[0-9]*"' "$TMP/out")" "\"parcel\":\"$PARCEL\""

# The z15 tile over that point (lon/lat by cs2cs) shows parcels: its alpha
# reaches 255; the tile one row further north, outside every commune,
# stays empty.
read -r LON LAT _ < <(echo "$E $N" | cs2cs -f "%.6f" EPSG:9206 EPSG:4326 | awk '{print $2, $1}')
read -r TX TY < <(awk -v lon="$LON" -v lat="$LAT" 'BEGIN {
    n = 2 ^ 15; pi = atan2(0, -1); r = lat * pi / 180
    printf "%d %d\n", (lon + 180) / 360 * n, (1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n }')
alpha_max() { # a palette PNG is expanded to RGBA first
    { gdal_translate -q -expand rgba "$1" "$1.tif" 2>/dev/null ||
        gdal_translate -q "$1" "$1.tif"; } && gdalinfo -stats "$1.tif" 2>/dev/null |
        grep -A4 '^Band 4' | grep -o 'Maximum=[0-9]*' | head -1
}
expect_ok "$P" render --db "$DB" "15/$TX/$TY" -o "$TMP/t.png" &&
    expect_eq "tile 15/$TX/$TY alpha" "$(alpha_max "$TMP/t.png")" "Maximum=255"
expect_ok "$P" render --db "$DB" "15/$TX/$((TY - 40))" -o "$TMP/empty.png" &&
    expect_eq "empty tile alpha" "$(alpha_max "$TMP/empty.png")" "Maximum=0"

echo "$checks checks, $failures failures"
[ "$failures" -eq 0 ]
