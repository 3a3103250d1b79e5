#!/usr/bin/env bash
# /metrics names the communes whose low-zoom overviews are stale: after a
# re-import with --no-overviews, a labelled gauge for that commune and a
# total of 1; none for the commune whose overviews are current; after
# `parceldb render --rebuild-overviews`, none at all.
source "$(dirname "$0")/lib.sh"

make_store || exit 1
start_server || exit 1

# stale_lines: the labelled gauge's samples, sorted.
stale_lines() {
    curl -s --max-time 10 "$BASE/metrics" | grep '^parceldb_commune_overviews_stale{' | sort
}
# wait_version V: until /metrics shows a data version other than V.
wait_version() {
    for _ in $(seq 1 100); do
        [ "$(metric parceldb_data_version)" != "$1" ] && return 0
        sleep 0.1
    done
    fail "the server did not pick up the new data version (still $1)"
}

check "after a full import: no commune stale" "$(stale_lines)" ""
check "after a full import: total 0" "$(metric parceldb_communes_overviews_stale)" 0
contains "the gauge is described" "$(curl -s --max-time 10 "$BASE/metrics")" \
    '# TYPE parceldb_commune_overviews_stale gauge'

v=$(metric parceldb_data_version)
base_vinhphuc
grid_csv vp2.csv 30 08707 3 ODT
to_gpkg vp2.csv vp2.gpkg 5897
"$PARCELDB" import --quiet --no-overviews --db "$DB" vp2.gpkg >import2.log 2>&1 ||
    fail "re-import: $(cat import2.log)"
wait_version "$v"
check "re-imported without overviews: 08707 named" "$(stale_lines)" \
    'parceldb_commune_overviews_stale{commune="08707"} 1'
check "re-imported without overviews: total 1" "$(metric parceldb_communes_overviews_stale)" 1

v=$(metric parceldb_data_version)
"$PARCELDB" render --db "$DB" --rebuild-overviews >rebuild.log 2>&1 || fail "rebuild: $(cat rebuild.log)"
wait_version "$v"
check "after the rebuild: no commune stale" "$(stale_lines)" ""
check "after the rebuild: total 0" "$(metric parceldb_communes_overviews_stale)" 0
stop_server
finish
