#!/usr/bin/env bash
# No request waits longer than --render-wait-ms for another request's
# render of the same tile: past it, 503 with Retry-After: 1 and a JSON
# error, counted in /metrics; the render goes on and fills the cache.
#
# Deterministic, without timing: the first request's render is held still
# by a named pipe where its tile would be in the disk cache (the thread
# that claims a tile reads the disk cache first, and opening a pipe blocks
# until a writer comes). While it is held, every other request for that
# tile must wait past the 1 ms deadline. Opening the pipe for writing
# lets the render go on (an empty pipe is no tile: it renders).
source "$(dirname "$0")/lib.sh"

make_store || exit 1
mkdir cache
base_phutho
parcel_center 9208 1
read -r Z X Y < <(awk -v lon="$PLON" -v lat="$PLAT" 'BEGIN {
    z = 14; n = 2 ^ z; pi = atan2(0, -1); r = lat * pi / 180
    printf "%d %d %d\n", z, int((lon + 180) / 360 * n), int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n) }')
T="/tiles/$Z/$X/$Y.png"

"$PARCELDB" serve --render-wait-ms x >usage.out 2>&1
check "a bad --render-wait-ms: exit status 2" "$?" 2
contains "and says what it wants" "$(cat usage.out)" 'render-wait-ms wants 0 to 3600000'

start_server --cache cache --threads 4 --drain 2 --render-wait-ms 1 || exit 1
style_dir=$(find cache -mindepth 1 -maxdepth 1 -type d -name 's-*')
[ -n "$style_dir" ] || { fail "the server made no disk cache directory"; finish; exit 1; }
mkdir -p "$style_dir/$Z/$X"
PIPE="$style_dir/$Z/$X/$Y.tile"
mkfifo "$PIPE" || { fail "mkfifo"; finish; exit 1; }
# release: lets the held render go on (bounded: the server may have died).
# shellcheck disable=SC2016 # $1 is the inner shell's argument
release() { timeout 20 bash -c ': >"$1"' _ "$PIPE"; }

# The first request claims the render and is held at the pipe.
curl -sS --max-time 60 -o first.png -D first.headers -w '%{http_code}' "$BASE$T" \
    >first.status 2>first.err &
FIRST=$!
for _ in $(seq 1 200); do
    [ "$(metric parceldb_tile_cache_misses_total)" = 1 ] && break
    sleep 0.1
done
check "the first request claimed the render" "$(metric parceldb_tile_cache_misses_total)" 1

for i in 1 2 3; do
    get "$T"
    check "waiter $i: status" "$STATUS" 503
    check "waiter $i: Retry-After" "$(header Retry-After)" 1
    check "waiter $i: a JSON error" "$(jq -r '.error | test("still being rendered")' "$WORK/body")" true
done
check "the waits past the deadline are counted" \
    "$(metric parceldb_tile_render_wait_timeouts_total)" 3
contains "the counter is described" "$(curl -s --max-time 10 "$BASE/metrics")" \
    '# TYPE parceldb_tile_render_wait_timeouts_total counter'

release || fail "the held render never opened the pipe"
wait "$FIRST"
check "the held request: curl's exit status" "$?" 0
check "the held request: status" "$(cat first.status)" 200
check "the held request: a PNG" "$(file -b --mime-type first.png)" image/png
check "one render" "$(metric parceldb_tiles_rendered_total)" 1

hits=$(metric parceldb_tile_cache_hits_total)
get "$T"
check "a later request: status" "$STATUS" 200
check "a later request: a PNG" "$(file -b --mime-type "$WORK/body")" image/png
check "a later request: from the memory cache" \
    "$(metric parceldb_tile_cache_hits_total)" "$((hits + 1))"
check "still one render" "$(metric parceldb_tiles_rendered_total)" 1
stop_server
finish
