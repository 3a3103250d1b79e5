#!/usr/bin/env bash
# The temporary files that a server or `parceldb seed` killed mid-write
# leaves in the disk cache (*.tile.tmp.PID.N) are removed when the server
# starts, once they are older than 10 minutes; a fresh one (a writer that
# shares the cache may be at work) and the tiles themselves stay.
source "$(dirname "$0")/lib.sh"

make_store || exit 1
mkdir cache
base_phutho
parcel_center 9208 1
read -r T < <(awk -v lon="$PLON" -v lat="$PLAT" 'BEGIN {
    z = 17; n = 2 ^ z; pi = atan2(0, -1); r = lat * pi / 180
    printf "/tiles/%d/%d/%d.png\n", z, int((lon + 180) / 360 * n), int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n) }')
start_server --cache cache || exit 1
get "$T"
check "a tile: status" "$STATUS" 200
for _ in $(seq 1 50); do
    tile=$(find cache -name '*.tile' -print -quit)
    [ -n "$tile" ] && break
    sleep 0.1
done
stop_server
[ -n "$tile" ] || { fail "no tile written to the disk cache"; finish; exit 1; }

# Leftovers of killed writers: two old ones (beside the tile, and at the
# top of the style's directory), and one written just now.
dir=$(dirname "$tile")
style_dir=$(find cache -mindepth 1 -maxdepth 1 -type d -name 's-*')
head -c 100 /dev/urandom >"$dir/9.tile.tmp.4242.0"
head -c 100 /dev/urandom >"$style_dir/state.tile.tmp.4242.1"
head -c 100 /dev/urandom >"$dir/8.tile.tmp.4243.0"
touch -d '2 hours ago' "$dir/9.tile.tmp.4242.0" "$style_dir/state.tile.tmp.4242.1"

start_server --cache cache || exit 1
contains "the start says what it removed" "$(cat "$WORK/server.log")" \
    'removed 2 stale temporary tile file\(s\) from the disk cache'
check "the old leftovers are gone" \
    "$(ls "$dir/9.tile.tmp.4242.0" "$style_dir/state.tile.tmp.4242.1" 2>/dev/null | wc -l)" 0
check "the fresh one stays" "$(ls "$dir/8.tile.tmp.4243.0" 2>/dev/null | wc -l)" 1
check "the tile stays" "$(ls "$tile" 2>/dev/null | wc -l)" 1
get "$T"
check "the tile is still served" "$STATUS" 200
stop_server
finish
