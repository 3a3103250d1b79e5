#!/usr/bin/env bash
# The store file replaced under a running server by an atomic rename of
# another version (`mv -f new.sqlite parcels.sqlite`, another store with
# other parcels), while clients keep asking: the server notices the new
# file on its own (its once-a-second check of the file's identity; no
# signal), serves the new parcels, drops every cached tile (new ETags, no
# stale tile from the memory or the disk cache), and never answers with
# an error or crashes. The old store had just taken an import, so the -wal
# and -shm beside the name still belonged to it at the rename. Then the
# same again with SIGHUP right after the rename.
source "$(dirname "$0")/lib.sh"

make_fault_store || exit 1
# An import on the live store first, so that its -wal holds frames.
start_server --cache "$WORK/cache" --cache-mb 16 || exit 1
base_phutho
grid_csv pt1.csv 40 07894 12 LUA
to_gpkg pt1.csv pt1.gpkg 9208
"$PARCELDB" import --db "$DB" --quiet pt1.gpkg >import.out 2>&1 || fail "import: $(cat import.out)"
OLD_STATE=$(state)

# The new version: made elsewhere, 07894 only, with 55 parcels of BHK.
mkdir newer
DB_LIVE=$DB
DB=$WORK/newer/parcels.sqlite
"$PARCELDB" init --db "$DB" >/dev/null
grid_csv pt2.csv 55 07894 12 BHK
to_gpkg pt2.csv pt2.gpkg 9208
"$PARCELDB" import --db "$DB" --quiet pt2.gpkg >import.out 2>&1 || fail "import: $(cat import.out)"
NEW_STATE=$(state)
NEW_VERSION=$(version)
check "the new version is another store" "$([ "$NEW_STATE" != "$OLD_STATE" ] && echo yes)" yes
DB=$DB_LIVE

TILE="/tiles/17/$(awk -v lon="$LON" -v lat="$LAT" 'BEGIN { n = 2 ^ 17; pi = atan2(0, -1); r = lat * pi / 180
    printf "%d/%d", int((lon + 180) / 360 * n), int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n) }').png"
get "$TILE"
check "old store: a tile" "$STATUS" 200
ETAG_OLD=$(header ETag)
cp "$WORK/body" tile_old.png
get /parcels/07894/12/55
check "old store: no parcel 55" "$STATUS" 404
get /parcels/08707/3/1
check "old store: 08707 is there" "$STATUS" 200

# Load through the swap: lookups, the tile and communes, in parallel.
for _ in $(seq 1 8); do
    printf 'url = "%s/parcels/at?lon=%s&lat=%s"\noutput = "/dev/null"\n' "$BASE" "$LON" "$LAT"
    printf 'url = "%s%s"\noutput = "/dev/null"\n' "$BASE" "$TILE"
    printf 'url = "%s/communes"\noutput = "/dev/null"\n' "$BASE"
done >load.cfg
(
    for _ in $(seq 1 2000); do
        [ -e stop ] && break
        curl -s --no-progress-meter -Z --parallel-max 8 --max-time 30 -w '%{http_code}\n' \
            --config load.cfg 2>/dev/null
    done
) >load.txt &
LOAD_PID=$!
FAULT_PIDS+=("$LOAD_PID")
sleep 1

# wait_new WHAT: within 30 s, parcel 55 (only in the new store) is found.
wait_new() {
    local i found=
    for i in $(seq 1 300); do
        get /parcels/07894/12/55
        [ "$STATUS" = 200 ] && found=$i && break
        sleep 0.1
    done
    if [ -n "$found" ]; then ok "$1: the new store is served (after ~$((found / 10)) s)"; else
        fail "$1: the new store is not served 30 s after the rename"; fi
}

cp "$WORK/newer/parcels.sqlite" "$WORK/new.sqlite"
mv -f "$WORK/new.sqlite" "$DB"
wait_new "rename"
wait_for_log 'store file was replaced' 5 || fail "the replacement was not logged"
contains "rename: the old file's WAL was set aside before the new file was opened" \
    "$(cat "$WORK/server.log")" 'removed .*parcels\.sqlite-wal: the WAL of the store file that was replaced'
get /health
contains "rename: /health has the new data version" "$BODY" "\"data_version\":$NEW_VERSION[,}]"
get /parcels/08707/3/1
check "rename: 08707 (only in the old store) is gone" "$STATUS" 404
get "/parcels/at?lon=$LON&lat=$LAT"
contains "rename: the lookup answers from the new store (BHK)" "$BODY" '"parcel":"1","landuse":"BHK"'
get "$TILE" -H "If-None-Match: $ETAG_OLD"
check "rename: the old tile's ETag no longer matches" "$STATUS" 200
check "rename: a new ETag" "$([ "$(header ETag)" != "$ETAG_OLD" ] && echo new)" new
check "rename: new pixels (BHK, not the old LUA)" \
    "$(cmp -s "$WORK/body" tile_old.png && echo same || echo different)" different
check "rename: integrity of the store now under the name" "$(integrity)" ok
check "rename: its parcels" "$(state)" "$NEW_STATE"

# A restart on the same disk cache must not bring the old tiles back.
touch stop
wait "$LOAD_PID"
lacks "rename: no error answer under load" "$(sort -u load.txt | tr '\n' ' ')" '(^| )(000|5[0-9][0-9])'
stop_server
start_server --cache "$WORK/cache" --cache-mb 16 || exit 1
get "$TILE"
check "restarted: the tile is the new one" \
    "$(cmp -s "$WORK/body" tile_old.png && echo old || echo new)" new
server_answers_new() {
    get /health
    check "$1: /health" "$STATUS" 200
    get "/parcels/at?lon=$LON&lat=$LAT"
    contains "$1: lookup finds parcel 1 (BHK)" "$BODY" '"parcel":"1","landuse":"BHK"'
}
server_answers_new "restarted"

# Back to the old version (a restore), this time with SIGHUP at once.
"$PARCELDB" init --db "$WORK/old2.sqlite" >/dev/null
"$PARCELDB" import --db "$WORK/old2.sqlite" --quiet pt.gpkg vp.gpkg >import.out 2>&1 ||
    fail "import: $(cat import.out)"
mv -f "$WORK/old2.sqlite" "$DB"
kill -HUP "$SERVER_PID"
ok=
for _ in $(seq 1 300); do
    get /parcels/08707/3/1
    [ "$STATUS" = 200 ] && ok=1 && break
    sleep 0.1
done
check "rename + SIGHUP: the old version is served again" "${ok:-no}" 1
get /parcels/07894/12/55
check "rename + SIGHUP: parcel 55 is gone" "$STATUS" 404
server_answers "rename + SIGHUP"
check "rename + SIGHUP: integrity" "$(integrity)" ok
stop_server
no_sanitizer_report "replace" "$WORK/server.log"
lacks "replace: no damaged store reported" "$(cat "$WORK/server.log")" 'malformed|damaged|corrupt'
finish
