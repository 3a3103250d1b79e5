#!/usr/bin/env bash
# Each defect kind of a real register, in known numbers: exact stored,
# repaired and rejected counts, reasons, flags, and read = stored + rejected.
source "$(dirname "$0")/lib.sh"

new_store
base_phutho

# row WKT MAXA SOTO SOTHUA LOAIDAT DIENTICH: appends one record.
row() {
    printf '"%s",%s,"%s",%s,"%s",%s,Chu %s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$4" >> defects.csv
}
# at I: the south-west corner of the I-th 20 m cell, in X Y.
at() {
    X=$(awk -v b="$BX" -v i="$1" 'BEGIN { printf "%.3f", b + (i % 20) * 30 }')
    Y=$(awk -v b="$BY" -v i="$1" 'BEGIN { printf "%.3f", b + int(i / 20) * 30 }')
}
# wkt_shift WKT: the WKT with every "x y" pair moved by (X, Y).
wkt_shift() {
    awk -v x="$X" -v y="$Y" -v w="$1" 'BEGIN {
        out = ""; n = split(w, t, /[ ,()]+/); s = w
        while (match(s, /-?[0-9.]+ -?[0-9.]+/)) {
            split(substr(s, RSTART, RLENGTH), p, " ")
            out = out substr(s, 1, RSTART - 1) sprintf("%.3f %.3f", p[1] + x, p[2] + y)
            s = substr(s, RSTART + RLENGTH)
        }
        print out s }'
}

printf 'WKT,MaXa,SoTo,SoThua,LoaiDat,DienTich,TenChu\n' > defects.csv
i=0
# 20 good parcels (400 m2, surveyed 400).
for n in $(seq 1 20); do at $i; row "$(square "$X" "$Y" 20)" 07894 3 "$n" ONT 400; i=$((i + 1)); done
# Compound and unknown land-use codes.
at $i; row "$(square "$X" "$Y" 20)" 07894 3 21 "ont, cln" 400; i=$((i + 1))
at $i; row "$(square "$X" "$Y" 20)" 07894 3 22 "ONT/CLN" 400; i=$((i + 1))
at $i; row "$(square "$X" "$Y" 20)" 07894 3 23 "ONT;CLN" 400; i=$((i + 1))
at $i; row "$(square "$X" "$Y" 20)" 07894 3 24 "XYZ" 400; i=$((i + 1))
# Area: 500 surveyed for 400 computed (flag), 410 (within 5%), none (flag).
at $i; row "$(square "$X" "$Y" 20)" 07894 3 25 LUA 500; i=$((i + 1))
at $i; row "$(square "$X" "$Y" 20)" 07894 3 26 LUA 410; i=$((i + 1))
at $i; row "$(square "$X" "$Y" 20)" 07894 3 27 LUA ""; i=$((i + 1))
# Duplicate numbers: both kept, both flagged.
at $i; row "$(square "$X" "$Y" 20)" 07894 3 28 ONT 400; i=$((i + 1))
at $i; row "$(square "$X" "$Y" 20)" 07894 3 28 ONT 400; i=$((i + 1))
# A multipolygon, a polygon with a hole, a 3D polygon: all stored.
at $i; row "$(wkt_shift "MULTIPOLYGON (((0 0,10 0,10 10,0 10,0 0)),((12 0,20 0,20 10,12 10,12 0)))")" 07894 3 29 ONT 180; i=$((i + 1))
at $i; row "$(wkt_shift "POLYGON ((0 0,20 0,20 20,0 20,0 0),(5 5,5 10,10 10,10 5,5 5))")" 07894 3 30 ONT 375; i=$((i + 1))
at $i; row "$(wkt_shift "POLYGON Z ((0 0 5,20 0 5,20 20 5,0 20 5,0 0 5))")" 07894 3 31 ONT 400; i=$((i + 1))
# Repairable: a ring that touches itself (an inverted hole); MakeValid keeps
# the area exactly. Stored, flagged repaired, the original in rejects.
inverted="POLYGON ((0 0,20 0,20 20,10 20,12 10,8 10,10 20,0 20,0 0))"
at $i; row "$(wkt_shift "$inverted")" 07894 3 32 ONT 380; i=$((i + 1))
at $i; row "$(wkt_shift "$inverted")" 07894 3 33 ONT 380; i=$((i + 1))
# Unrepairable: a bow-tie, whose repair doubles its (zero) area.
at $i; row "$(wkt_shift "POLYGON ((0 0,20 20,20 0,0 20,0 0))")" 07894 3 34 ONT 400; i=$((i + 1))
# Null and empty geometries, a line and a point.
row "" 07894 3 35 ONT 400
row "" 07894 3 36 ONT 400
row "POLYGON EMPTY" 07894 3 37 ONT 400
at $i; row "$(wkt_shift "LINESTRING (0 0,20 20)")" 07894 3 38 ONT 400; i=$((i + 1))
at $i; row "$(wkt_shift "POINT (5 5)")" 07894 3 39 ONT 400; i=$((i + 1))
# Missing sheet (twice) and parcel numbers.
at $i; row "$(square "$X" "$Y" 20)" 07894 "" 40 ONT 400; i=$((i + 1))
at $i; row "$(square "$X" "$Y" 20)" 07894 " " 41 ONT 400; i=$((i + 1))
at $i; row "$(square "$X" "$Y" 20)" 07894 3 "" ONT 400; i=$((i + 1))
# Numbers a lookup by number cannot take: a letter suffix, a fraction, zero.
at $i; row "$(square "$X" "$Y" 20)" 07894 3 12a ONT 400; i=$((i + 1))
at $i; row "$(square "$X" "$Y" 20)" 07894 "1/2" 46 ONT 400; i=$((i + 1))
at $i; row "$(square "$X" "$Y" 20)" 07894 3 0 ONT 400; i=$((i + 1))
# Over the vertex limit (--max-vertices 50): a 64-gon.
at $i
ring=$(awk -v x="$X" -v y="$Y" 'BEGIN { for (k = 0; k <= 64; k++) { a = 2 * 3.14159265358979 * (k % 64) / 64
    printf "%s%.3f %.3f", k ? "," : "", x + 10 + 10 * cos(a), y + 10 + 10 * sin(a) } }')
row "POLYGON (($ring))" 07894 3 43 ONT 314; i=$((i + 1))
# A missing and a foreign commune code.
at $i; row "$(square "$X" "$Y" 20)" "" 3 44 ONT 400; i=$((i + 1))
at $i; row "$(square "$X" "$Y" 20)" 99999 3 45 ONT 400; i=$((i + 1))

READ=49 STORED=34 REPAIRED=2 REJECTED=15
REASONS="bad-number:3:0 empty-geometry:1:0 invalid-geometry:1:0 missing-commune:1:0 missing-parcel:1:0 missing-sheet:2:0 not-polygon:2:0 null-geometry:2:0 repaired-geometry:2:2 too-many-vertices:1:0 unknown-commune:1:0"
WITH_GEOMETRY=15

# check_counts NAME: the expected figures in the batch, the file and rejects.
check_counts() {
    local name=$1 b
    b=$(sql "SELECT max(id) FROM import_batches")
    check "$name: batch read/stored/repaired/rejected" \
        "$(sql "SELECT read || '/' || stored || '/' || repaired || '/' || rejected FROM import_batches WHERE id = $b")" \
        "$READ/$STORED/$REPAIRED/$REJECTED"
    check "$name: read = stored + rejected" "$(sql "SELECT read = stored + rejected FROM import_files WHERE batch_id = $b")" 1
    check "$name: parcels stored" "$(sql "SELECT count(*) FROM parcels WHERE batch_id = $b")" $STORED
    check "$name: reject reasons" "$(sql "SELECT group_concat(reason || ':' || n || ':' || s, ' ') FROM (SELECT reason, count(*) n, sum(stored) s FROM rejects WHERE batch_id = $b GROUP BY reason ORDER BY reason)")" \
        "$REASONS"
    check "$name: rejects keep raw attributes" "$(sql "SELECT json_extract(attributes, '\$.SoThua') || '/' || json_extract(attributes, '\$.TenChu') FROM rejects WHERE batch_id = $b AND reason = 'invalid-geometry'")" "34/Chu 34"
    check "$name: rejects keep raw geometry" "$(sql "SELECT count(*) FROM rejects WHERE batch_id = $b AND geometry IS NOT NULL")" $WITH_GEOMETRY
    check "$name: feature index of the bow-tie" "$(sql "SELECT feature_index FROM rejects WHERE batch_id = $b AND reason = 'invalid-geometry'")" 34
    check "$name: compound codes normalised" "$(sql "SELECT group_concat(landuse, ' ') FROM (SELECT landuse FROM parcels WHERE batch_id = $b AND parcel IN ('21', '22', '23') ORDER BY parcel)")" "ONT+CLN ONT+CLN ONT+CLN"
    check "$name: unknown land use flagged" "$(sql "SELECT parcel || ':' || landuse FROM parcels WHERE batch_id = $b AND flags & 2")" "24:XYZ"
    check "$name: area mismatch flagged" "$(sql "SELECT group_concat(parcel) FROM parcels WHERE batch_id = $b AND flags & 4")" "25"
    check "$name: no surveyed area flagged" "$(sql "SELECT group_concat(parcel) FROM parcels WHERE batch_id = $b AND flags & 16")" "27"
    check "$name: duplicates kept and flagged" "$(sql "SELECT count(*) FROM parcels WHERE batch_id = $b AND parcel = '28' AND flags & 1")" 2
    check "$name: repaired flagged" "$(sql "SELECT group_concat(parcel) FROM parcels WHERE batch_id = $b AND flags & 8")" "32,33"
    check "$name: repaired area kept" "$(sql "SELECT round(area_computed_m2, 3) FROM parcels WHERE batch_id = $b AND parcel = '32'")" "380.0"
    check "$name: bad numbers named in the reject" "$(sql "SELECT group_concat(detail, '; ') FROM (SELECT detail FROM rejects WHERE batch_id = $b AND reason = 'bad-number' ORDER BY feature_index)")" \
        "parcel number '12a' is not a positive integer; sheet number '1/2' is not a positive integer; parcel number '0' is not a positive integer"
    check "$name: flagged count" "$(sql "SELECT flagged FROM import_files WHERE batch_id = $b")" \
        "$(sql "SELECT count(*) FROM parcels WHERE batch_id = $b AND flags != 0")"
}

import --srs EPSG:9208 --max-vertices 50 defects.csv
check "CSV: import exit status (rejects are not failures)" "$RC" 0
check_counts CSV

# The same records in a GeoPackage (mixed geometry types), one thread.
# ogr2ogr writes the empty polygon as a null geometry there.
to_format defects.csv defects.gpkg GPKG -a_srs EPSG:9208 -nlt GEOMETRY
REASONS=${REASONS/empty-geometry:1:0 /}
REASONS=${REASONS/null-geometry:2:0/null-geometry:3:0}
WITH_GEOMETRY=14
import --max-vertices 50 --threads 1 defects.gpkg
check "GeoPackage: import exit status" "$RC" 0
check_counts "GeoPackage, one thread"

# A dry run reports the same figures and writes nothing.
before=$(sql "SELECT count(*) FROM parcels")
import --dry-run --force --srs EPSG:9208 --max-vertices 50 defects.csv
check "dry run: exit status" "$RC" 0
contains "dry run: summary figures" "$OUT" "defects\.csv +07894 +9208 +UTF-8 +$READ +$STORED +$REPAIRED +$REJECTED .*dry-run"
check "dry run: nothing written" "$(sql "SELECT count(*) FROM parcels")" "$before"

finish
