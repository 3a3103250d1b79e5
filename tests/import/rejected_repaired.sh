#!/usr/bin/env bash
# rejected_repaired.sh: the import summary and `parceldb info` say the same
# numbers for the same things (issue 12, item 4): rejected (not stored; a
# row of rejects each) and repaired (stored repaired; the original kept as
# a row of rejects), never one "rejects" figure that mixes them. The survey
# is written by ogr2ogr; the rows of rejects are counted with sqlite3.
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"

# Viet Tri (EPSG:9208): one sound parcel; one whose ring loops back through
# its corner (MakeValid makes the loop a hole touching the boundary, the
# area unchanged: stored repaired); one without a parcel number, one
# bowtie (no repair keeps its area) and one without geometry (rejected).
cat >s.csv <<'EOF'
MaXa,SoHieuToBanDo,SoThuTuThua,KyHieuMucDichSuDung,WKT
07900,1,1,LUA,"POLYGON ((567400 2358700, 567500 2358700, 567500 2358800, 567400 2358800, 567400 2358700))"
07900,1,2,LUA,"POLYGON ((567600 2358700, 567605 2358710, 567610 2358705, 567600 2358700, 567700 2358700, 567700 2358800, 567600 2358800, 567600 2358700))"
07900,1,,ONT,"POLYGON ((567800 2358700, 567900 2358700, 567900 2358800, 567800 2358800, 567800 2358700))"
07900,1,4,ONT,"POLYGON ((568000 2358700, 568100 2358800, 568100 2358700, 568000 2358800, 568000 2358700))"
07900,1,5,ONT,
EOF
ogr2ogr -q -f GPKG s.gpkg s.csv -nln parcels -a_srs EPSG:9208 -oo GEOM_POSSIBLE_NAMES=WKT \
    -oo KEEP_GEOM_COLUMNS=NO -oo AUTODETECT_TYPE=NO -nlt PROMOTE_TO_MULTI || exit 1
"$PARCELDB" init --db t.sqlite >/dev/null || exit 1
"$PARCELDB" import --db t.sqlite --no-overviews s.gpkg >summary.txt 2>err.txt
check "the import exits 0" "$?" 0
"$PARCELDB" info --db t.sqlite >info.txt 2>&1
check "info exits 0" "$?" 0

# What the store holds, counted by sqlite3.
ROWS_REJECTED=$(sqlite3 t.sqlite "SELECT count(*) FROM rejects WHERE stored = 0")
ROWS_REPAIRED=$(sqlite3 t.sqlite "SELECT count(*) FROM rejects WHERE stored = 1")
check "the fixture has 3 rejected records" "$ROWS_REJECTED" 3
check "and 1 repaired one" "$ROWS_REPAIRED" 1

# The summary's line and its table's total row.
read -r S_REJ S_REP < <(sed -n 's/^rejected \([0-9]*\) (.*), repaired \([0-9]*\) (.*/\1 \2/p' summary.txt)
check "summary: rejected" "${S_REJ:-none}" "$ROWS_REJECTED"
check "summary: repaired" "${S_REP:-none}" "$ROWS_REPAIRED"
read -r T_READ T_STORED T_REP T_REJ < <(awk '$1 == "total" { print $2, $3, $4, $5 }' summary.txt)
check "summary table: read stored repaired rejected" "$T_READ $T_STORED $T_REP $T_REJ" "5 2 1 3"

# info says the same two things under the same names, and no mixed figure.
check "info: rejected" "$(sed -n 's/^rejected: *\([0-9]*\) (not stored.*/\1/p' info.txt)" "$ROWS_REJECTED"
check "info: repaired" "$(sed -n 's/^repaired: *\([0-9]*\) (stored repaired.*/\1/p' info.txt)" "$ROWS_REPAIRED"
check "info: no 'rejects:' line that mixes them" "$(grep -c '^rejects:' info.txt)" 0
check "info: two parcels stored" "$(grep -c '^parcels: *2 current' info.txt)" 1

check_done
