#!/usr/bin/env bash
# /metrics names the communes whose low-zoom overviews are stale: after a
# re-import with --no-overviews, a labelled gauge for that commune and a
# total of 1; none for the commune whose overviews are current; after
# `parceldb render --rebuild-overviews`, none at all. Then a commune whose
# rebuild fails (a 40-vertex parcel, rebuilt by an import with
# --max-vertices 20, as in tests/render/overview_failure.sh) is named with
# state="failed", counted in the per-state totals, and still in the stale
# gauge (it is drawn from its parcels), also after a restart.
source "$(dirname "$0")/lib.sh"

make_store || exit 1
mkdir cache
start_server --cache cache || exit 1

# stale_lines: the labelled gauge's samples, sorted.
stale_lines() {
    curl -s --max-time 10 "$BASE/metrics" | grep '^parceldb_commune_overviews_stale{' | sort
}
# wait_version: until /metrics shows the store's data version as the
# command that just finished left it (parceldb info). Not merely another
# version than before: an import commits its commune, then its overview
# rebuild, each a new version, and a server that looks in between shows
# the first (seen on PostgreSQL under ASan, where the rebuild is slow).
wait_version() {
    wait_seen "$("$PARCELDB" info --db "$DB" | awk '/^data version:/ { print $3 }')"
}

check "after a full import: no commune stale" "$(stale_lines)" ""
check "after a full import: total 0" "$(metric parceldb_communes_overviews_stale)" 0
contains "the gauge is described" "$(curl -s --max-time 10 "$BASE/metrics")" \
    '# TYPE parceldb_commune_overviews_stale gauge'

base_vinhphuc
grid_csv vp2.csv 30 08707 3 ODT
to_gpkg vp2.csv vp2.gpkg 5897
"$PARCELDB" import --quiet --no-overviews --db "$DB" vp2.gpkg >import2.log 2>&1 ||
    fail "re-import: $(cat import2.log)"
wait_version
check "re-imported without overviews: 08707 named" "$(stale_lines)" \
    'parceldb_commune_overviews_stale{commune="08707"} 1'
check "re-imported without overviews: total 1" "$(metric parceldb_communes_overviews_stale)" 1

"$PARCELDB" render --db "$DB" --rebuild-overviews >rebuild.log 2>&1 || fail "rebuild: $(cat rebuild.log)"
wait_version
check "after the rebuild: no commune stale" "$(stale_lines)" ""
check "after the rebuild: total 0" "$(metric parceldb_communes_overviews_stale)" 0
check "after the rebuild: no commune named in any state" \
    "$(curl -s --max-time 10 "$BASE/metrics" | grep -c '^parceldb_commune_overviews{')" 0

# circle_csv FILE COMMUNE E N: one parcel of COMMUNE, a 40-gon of radius
# 50 m centred at (E, N).
circle_csv() {
    awk -v c="$2" -v e="$3" -v n="$4" 'BEGIN { pi = atan2(0, -1)
        print "WKT,MaXa,SoTo,SoThua,LoaiDat,DienTich,TenChu,DiaChi"
        s = "POLYGON (("
        for (i = 0; i <= 40; i++) { a = 2 * pi * (i % 40) / 40
            s = s sprintf("%s%.3f %.3f", i ? "," : "", e + 50 * cos(a), n + 50 * sin(a)) }
        printf "\"%s))\",%s,1,1,ONT,7850,Nguyen Van Chu 1,Xom 1\n", s, c }' >"$1"
}
base_phutho
circle_csv round.csv 07909 "$(awk -v b="$BX" 'BEGIN { print b + 2000 }')" "$BY"
to_gpkg round.csv round.gpkg 9208
"$PARCELDB" import --quiet --no-overviews --db "$DB" round.gpkg >import3.log 2>&1 ||
    fail "import of the 40-gon: $(cat import3.log)"
wait_version
check "a commune imported without overviews: state stale" \
    "$(curl -s --max-time 10 "$BASE/metrics" | grep '^parceldb_commune_overviews{')" \
    'parceldb_commune_overviews{commune="07909",state="stale"} 1'
# The next import's rebuild reads 07909's 40 vertices over the limit of 20.
base_phutho
BX=$(awk -v b="$BX" 'BEGIN { print b + 4000 }')
grid_csv small.csv 2 07900 1
to_gpkg small.csv small.gpkg 9208
"$PARCELDB" import --quiet --max-vertices 20 --db "$DB" small.gpkg >import4.log 2>&1 ||
    fail "import with --max-vertices 20: $(cat import4.log)"
wait_version
check "the failed commune is named with state=failed, and only it" \
    "$(curl -s --max-time 10 "$BASE/metrics" | grep '^parceldb_commune_overviews{')" \
    'parceldb_commune_overviews{commune="07909",state="failed"} 1'
check "total of failed communes" "$(metric 'parceldb_communes_overviews{state="failed"}')" 1
check "total of fresh communes" "$(metric 'parceldb_communes_overviews{state="fresh"}')" 3
check "total of stale communes (failed not among them)" \
    "$(metric 'parceldb_communes_overviews{state="stale"}')" 0
check "the stale gauge still names it (drawn from its parcels)" "$(stale_lines)" \
    'parceldb_commune_overviews_stale{commune="07909"} 1'
contains "the per-commune gauge is described" "$(curl -s --max-time 10 "$BASE/metrics")" \
    '# TYPE parceldb_commune_overviews gauge'

# Restarted on the same store (its change log resumed from the disk
# cache, at the same data version): still named.
stop_server
start_server --cache cache || exit 1
check "after a restart: still named with state=failed" \
    "$(curl -s --max-time 10 "$BASE/metrics" | grep '^parceldb_commune_overviews{')" \
    'parceldb_commune_overviews{commune="07909",state="failed"} 1'
stop_server
finish
