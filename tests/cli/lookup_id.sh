#!/usr/bin/env bash
# `parceldb lookup --id COMMUNE/SHEET/PARCEL` (issue 12, item 3): a
# malformed number (a commune that is not five digits of a known commune,
# a sheet or parcel that is not a positive integer, a --former that is not
# five digits) is a one-line error and a non-zero exit; a well-formed number
# that the store does not hold is an empty FeatureCollection and exit 0.
. "$(dirname "$0")/lib.sh"
P=$PARCELDB
new_db parcels || exit 1
export CPL_LOG=/dev/null

# The fixture: three 20 m parcels of commune 07894, sheet 12, from the Viet
# Tri reference point (cs2cs), written as a GeoPackage by ogr2ogr; parcel 3
# keeps the sheet numbering of former commune 09001.
read -r X Y _ < <(echo "21.3220 105.4020" | cs2cs -f "%.3f" EPSG:4326 EPSG:9208)
awk -v x0="$X" -v y0="$Y" 'BEGIN {
    print "WKT,MaXa,MaXaCu,SoTo,SoThua,LoaiDat,DienTich"
    for (i = 0; i < 3; i++) {
        x = x0 + i * 25
        printf "\"POLYGON ((%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f))\",07894,%s,12,%d,ONT,400\n",
            x, y0, x + 20, y0, x + 20, y0 + 20, x, y0 + 20, x, y0, i == 2 ? "09001" : "", i + 1
    }
}' >"$TMP/parcels.csv"
ogr2ogr -q -f GPKG "$TMP/parcels.gpkg" "$TMP/parcels.csv" -oo GEOM_POSSIBLE_NAMES=WKT \
    -oo KEEP_GEOM_COLUMNS=NO -oo AUTODETECT_TYPE=NO -nln parcels -a_srs EPSG:9208
expect_ok "$P" init --db "$DB"
expect_ok "$P" import --quiet --db "$DB" "$TMP/parcels.gpkg"

# features FILE: the "parcel" values of a FeatureCollection, space-separated.
features() {
    grep -o '"parcel":"[^"]*"' "$1" | sed 's/.*:"\(.*\)"/\1/' | tr '\n' ' ' | sed 's/ $//'
}

# Found, and well-formed numbers that are not in the store: exit 0.
expect_ok "$P" lookup --db "$DB" --id 07894/12/2 && expect_eq "07894/12/2" "$(features "$TMP/out")" 2
expect_ok "$P" lookup --db "$DB" --id 07894/12/3 --former 09001 &&
    expect_eq "07894/12/3 in former 09001" "$(features "$TMP/out")" 3
expect_ok "$P" lookup --db "$DB" --id 07894/12/1 --history &&
    expect_eq "history of 07894/12/1" "$(features "$TMP/out")" 1
for id in 07894/12/999 07894/13/1 08707/12/1 07894/999999999999999999999/1; do
    expect_ok "$P" lookup --db "$DB" --id "$id" &&
        expect_eq "$id (well-formed, not in the store): empty collection" \
            "$(tr -d ' \n' <"$TMP/out")" '{"type":"FeatureCollection","features":[]}'
done
expect_ok "$P" lookup --db "$DB" --id 07894/12/3 --former 09002 &&
    expect_eq "07894/12/3 in former 09002 (none)" "$(features "$TMP/out")" ""

# Malformed: one line naming what is wrong, and no answer on stdout.
malformed() {
    local pattern=$1
    shift
    expect_error "$pattern" "$P" lookup --db "$DB" "$@"
    expect_eq "'$*': nothing on stdout" "$(cat "$TMP/out")" ""
}
malformed "commune code 'x' is not five digits" --id x/y/z
malformed "commune code '7894' is not five digits" --id 7894/12/1
malformed "commune code '078940' is not five digits" --id 078940/12/1
malformed "commune code 12345 is not a commune of Phu Tho" --id 12345/12/1
malformed "commune code 00000 is not a commune of Phu Tho" --id 00000/12/1
malformed "sheet number 'y' is not a positive integer" --id 07894/y/1
malformed "parcel number 'z' is not a positive integer" --id 07894/12/z
malformed "sheet number '0' is not a positive integer" --id 07894/0/1
malformed "parcel number '000' is not a positive integer" --id 07894/12/000
malformed "sheet number '-1' is not a positive integer" --id 07894/-1/1
malformed "parcel number '\+2' is not a positive integer" --id 07894/12/+2
malformed "parcel number '1\.5' is not a positive integer" --id 07894/12/1.5
malformed "parcel number ' 2' is not a positive integer" --id "07894/12/ 2"
malformed "parcel number '2a' is not a positive integer" --id 07894/12/2a
malformed "sheet number 'x' is not a positive integer" --id 07894/x/1 --history
malformed "commune code 99999 is not a commune" --id 99999/1/1 --history
malformed "former commune code '9001' is not five digits" --id 07894/12/3 --former 9001
malformed "former commune code 'abcde' is not five digits" --id 07894/12/3 --former abcde
malformed "former commune code '' is not five digits" --id 07894/12/3 --former ""
malformed "control characters" --id "$(printf '07894/12/1\nx')"
malformed "control characters" --id 07894/12/1 --former $'09001\nx'

finish
