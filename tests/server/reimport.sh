#!/usr/bin/env bash
# A commune re-imported while the server is under load: the changed tile
# and the new lookup answers appear without a restart, within the data
# version's freshness window; tiles of the other commune stay cached (same
# ETag, not rendered again); no request fails during the import.
source "$(dirname "$0")/lib.sh"

make_store || exit 1
start_server --cache-mb 64 || exit 1

# tile_of LON LAT Z: "Z X Y" of the tile holding a point.
tile_of() {
    awk -v lon="$1" -v lat="$2" -v z="$3" 'BEGIN {
        n = 2 ^ z; pi = atan2(0, -1); r = lat * pi / 180
        printf "%d %d %d\n", z, int((lon + 180) / 360 * n), int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n) }'
}

base_phutho
parcel_center 9208 1
A_LON=$PLON A_LAT=$PLAT
read -r AZ AX AY < <(tile_of "$PLON" "$PLAT" 17)
TILE_A="/tiles/$AZ/$AX/$AY.png"
base_vinhphuc
parcel_center 5897 1
read -r BZ BX_ BY_ < <(tile_of "$PLON" "$PLAT" 17)
TILE_B="/tiles/$BZ/$BX_/$BY_.png"

get "$TILE_A"
check "tile A (07894) before" "$STATUS" 200
ETAG_A=$(header ETag)
cp "$WORK/body" a_before.png
get "$TILE_B"
check "tile B (08707) before" "$STATUS" 200
ETAG_B=$(header ETag)
get "/parcels/at?lon=$A_LON&lat=$A_LAT"
contains "lookup before: parcel 1 is ONT" "$BODY" '"parcel":"1","landuse":"ONT"'
get /parcels/07894/12/41
check "parcel 41 does not exist yet" "$STATUS" 404

# Load: batches of 60 parallel requests (tiles A and B, lookups) until told
# to stop; at most 400 batches.
for i in $(seq 1 20); do
    printf 'url = "%s%s"\noutput = "/dev/null"\n' "$BASE" "$TILE_A" "$BASE" "$TILE_B"
    printf 'url = "%s/parcels/at?lon=%s&lat=%s"\noutput = "/dev/null"\n' "$BASE" "$A_LON" "$A_LAT"
done >load.cfg
(
    for _ in $(seq 1 400); do
        [ -e stop ] && break
        curl -s --no-progress-meter -Z --parallel-max 20 --max-time 20 -w '%{http_code}\n' \
            --config load.cfg 2>/dev/null
    done
) >load.txt &
LOAD_PID=$!
sleep 1

# Re-survey of 07894: new land uses and one parcel more.
base_phutho
grid_csv pt2.csv 41 07894 12 ODT LUA
to_gpkg pt2.csv pt2.gpkg 9208
RENDERED0=$(metric parceldb_tiles_rendered_total)
"$PARCELDB" import --quiet --db "$DB" pt2.gpkg >import2.log 2>&1
check "re-import under load" "$?" 0

# Without a restart: the new data, within the window operations.md
# promises (each thread reads the data version at most every 20 ms; on
# PostgreSQL, once the commit's NOTIFY has reached the worker's connection,
# at worst its 1 s poll). Asked every 50 ms for at most 1.5 s; the first
# answer is usually the new one already.
for try in $(seq 1 30); do
    get "/parcels/at?lon=$A_LON&lat=$A_LAT"
    grep -q '"parcel":"1","landuse":"ODT"' <<<"$BODY" && break
    sleep 0.05
done
contains "lookup after: parcel 1 is ODT (answer $try)" "$BODY" '"parcel":"1","landuse":"ODT"'
get /parcels/07894/12/41
check "the new parcel 41 is found" "$STATUS" 200
for _ in $(seq 1 30); do
    get "$TILE_A" -H "If-None-Match: $ETAG_A"
    [ "$STATUS" != 304 ] && break
    sleep 0.05
done
check "tile A: the old ETag no longer matches" "$STATUS" 200
check "tile A: a new ETag" "$([ "$(header ETag)" != "$ETAG_A" ] && echo changed)" changed
check "tile A: new pixels" "$(cmp -s "$WORK/body" a_before.png && echo same || echo different)" different
RENDERED1=$(metric parceldb_tiles_rendered_total)
get "$TILE_B" -H "If-None-Match: $ETAG_B"
check "tile B (other commune): still 304 on its ETag" "$STATUS" 304
get "$TILE_B"
check "tile B: same ETag" "$(header ETag)" "$ETAG_B"
check "tile B: served from the cache, not rendered again" "$(metric parceldb_tiles_rendered_total)" "$RENDERED1"
if [ "$RENDERED1" -gt "$RENDERED0" ]; then ok "tile A was rendered again ($RENDERED0 -> $RENDERED1)"; else
    fail "tile A was not rendered again ($RENDERED0 -> $RENDERED1)"; fi

sleep 1
touch stop
for _ in $(seq 1 300); do kill -0 $LOAD_PID 2>/dev/null || break; sleep 0.1; done
kill $LOAD_PID 2>/dev/null
wait $LOAD_PID 2>/dev/null
N=$(wc -l <load.txt)
BAD=$(grep -cvE '^(200|304)$' load.txt)
if [ "$N" -ge 300 ]; then ok "load: $N requests during the import"; else fail "load: only $N requests"; fi
check "load: no request failed" "$BAD" 0
contains "the change was picked up" "$(metric parceldb_data_changes_total)" '^[1-9]'
contains "some cached tiles were dropped" "$(metric parceldb_tile_cache_invalidated_total)" '^[1-9]'
stop_server
contains "the log says which" "$(cat "$WORK/server.log")" 'tiles of the changed communes dropped'
finish
