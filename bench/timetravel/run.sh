#!/usr/bin/env bash
# Time travel's cost against the current answers, side by side in one run
# (issue 16): two synthetic communes (pdb-synth, 5,278 parcels each),
# imported, dated 2025-06-01, then re-surveyed (another seed), so that
# 2025-12-31 is the first survey and today the second. Measures, with wrk
# over loopback (2 threads, 16 connections, 5 s each):
#   - point lookups now (the in-memory index) and at 2025-12-31 (the store);
#   - cached z16 tiles now and at 2025-12-31 (the memory cache, 304-free);
# with `parceldb render --tiles` the same 64 z16-z17 tiles drawn now and at
# 2025-12-31 (past tiles draw parcels; current z16 ones read overviews:
# z17 is the like-for-like row); and GET /qa/{commune} made and then kept.
# Usage: bench/timetravel/run.sh [BUILD_DIR] (default build). About 50 s.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
P=$BUILD/cli/parceldb
SYNTH=$BUILD/samples/pdb-synth
W=$(mktemp -d /tmp/pdb-bench-tt.XXXXXX)
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$W"' EXIT
PAST=2025-12-31

"$SYNTH" --out "$W/a" --communes 2 --format GPKG --defects none --seed 1 --quiet
"$SYNTH" --out "$W/b" --communes 2 --format GPKG --defects none --seed 2 --quiet
"$P" init --db "$W/s.sqlite" >/dev/null
"$P" import --quiet --db "$W/s.sqlite" "$W/a"
sqlite3 "$W/s.sqlite" "UPDATE parcels SET valid_from = '2025-06-01T00:00:00.000Z'"
"$P" import --quiet --db "$W/s.sqlite" "$W/b"
read -r C LON LAT < <(sqlite3 -separator ' ' "$W/s.sqlite" \
    "SELECT code, (min_lon + max_lon) / 2, (min_lat + max_lat) / 2 FROM communes ORDER BY code LIMIT 1")
echo "store: $(sqlite3 "$W/s.sqlite" 'SELECT count(*) FROM parcels') parcel versions," \
    "$(sqlite3 "$W/s.sqlite" 'SELECT count(*) FROM parcels WHERE valid_to IS NULL') current; commune $C"

# tiles Z N: N tiles of zoom Z around the commune's centre, "z x y" lines.
tiles() {
    awk -v lon="$LON" -v lat="$LAT" -v z="$1" -v k="$2" 'BEGIN { n = 2 ^ z; pi = atan2(0, -1)
        r = lat * pi / 180; x = int((lon + 180) / 360 * n)
        y = int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n); s = int(sqrt(k))
        for (i = 0; i < k; i++) print z, x + i % s - int(s / 2), y + int(i / s) - int(s / 2) }'
}
{ tiles 16 32; tiles 17 32; } >"$W/tiles.txt"
for run in now past now past; do
    args=()
    [ $run = past ] && args=(--at "$PAST")
    rm -rf "$W/out"
    printf '%-5s render 64 tiles z16-17: %s\n' "$run" \
        "$("$P" render --db "$W/s.sqlite" "${args[@]}" --tiles "$W/tiles.txt" --out "$W/out" 2>/dev/null)"
done
for z in 16 17; do
    tiles $z 16 >"$W/t$z.txt"
    for run in now past; do
        args=()
        [ $run = past ] && args=(--at "$PAST")
        rm -rf "$W/out"
        printf '%-5s render 16 tiles z%s: %s\n' "$run" "$z" \
            "$("$P" render --db "$W/s.sqlite" "${args[@]}" --tiles "$W/t$z.txt" --out "$W/out" 2>/dev/null)"
    done
done

printf 'bench-token bench role=read\n' >"$W/tokens"
as_root=()
[ "$(id -u)" -eq 0 ] && as_root=(--allow-root)
"$P" serve --db "$W/s.sqlite" --listen 127.0.0.1:0 --port-file "$W/port" --tokens "$W/tokens" \
    "${as_root[@]}" >/dev/null 2>"$W/server.log" &
SERVER=$!
for _ in $(seq 1 100); do [ -s "$W/port" ] && break; sleep 0.1; done
B=http://127.0.0.1:$(cat "$W/port")
read -r _ TX TY < <(tiles 16 1)
rate() { wrk -t2 -c16 -d5s "$B$1" | awk '/Requests\/sec/ {print $2}'; }
for q in "/parcels/at?lon=$LON&lat=$LAT" "/parcels/at?lon=$LON&lat=$LAT&at=$PAST" \
    "/tiles/16/$TX/$TY.png" "/tiles/16/$TX/$TY.png?at=$PAST"; do
    curl -s -o /dev/null "$B$q"
    printf '%-60s %s req/s\n' "$q" "$(rate "$q")"
done
for n in 1 2; do
    printf 'GET /qa/%s (%s): %s s\n' "$C" "$([ $n = 1 ] && echo made || echo kept)" \
        "$(curl -s -o /dev/null -w '%{time_total}' -H 'Authorization: Bearer bench-token' "$B/qa/$C")"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
