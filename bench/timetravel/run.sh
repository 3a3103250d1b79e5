#!/usr/bin/env bash
# Time travel's cost against the current answers, side by side in one run
# (issue 16): two synthetic communes (pdb-synth, 5,278 parcels each),
# imported and re-surveyed (another seed), the first survey dated
# 2025-06-01 and the second 2026-01-15 in the store, so that 2026-06-30 is
# a settled past date whose state is the current one: the same parcels,
# read the two ways. Measures, with `parceldb render --tiles`, 32 z16 and
# 32 z17 tiles drawn now and at 2026-06-30 (both draw parcels at these
# zooms; the PNGs must be the same bytes); with wrk over loopback (2
# threads, 16 connections, 5 s each) point lookups now (the in-memory
# index) and at 2026-06-30 (the store), and a cached z16 tile now and at
# 2026-06-30 (the memory cache); and GET /qa/{commune} made, then kept.
# Usage: bench/timetravel/run.sh [BUILD_DIR] (default build). About 50 s.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
P=$BUILD/cli/parceldb
SYNTH=$BUILD/samples/pdb-synth
W=$(mktemp -d /tmp/pdb-bench-tt.XXXXXX)
SERVER=
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$W"' EXIT
PAST=2026-06-30

"$SYNTH" --out "$W/a" --communes 2 --format GPKG --defects none --seed 1 --quiet
"$SYNTH" --out "$W/b" --communes 2 --format GPKG --defects none --seed 2 --quiet
"$P" init --db "$W/s.sqlite" >/dev/null
"$P" import --quiet --db "$W/s.sqlite" "$W/a"
sqlite3 "$W/s.sqlite" "UPDATE parcels SET valid_from = '2025-06-01T00:00:00.000Z'"
"$P" import --quiet --db "$W/s.sqlite" "$W/b"
sqlite3 "$W/s.sqlite" "UPDATE parcels SET valid_to = '2026-01-15T00:00:00.000Z' WHERE valid_to IS NOT NULL;
    UPDATE parcels SET valid_from = '2026-01-15T00:00:00.000Z' WHERE valid_to IS NULL"
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
for z in 16 17; do
    tiles $z 32 >"$W/t$z.txt"
    for run in now past now past; do
        args=()
        [ $run = past ] && args=(--at "$PAST")
        rm -rf "$W/$run"
        printf '%-5s z%s: %s\n' "$run" "$z" \
            "$("$P" render --db "$W/s.sqlite" "${args[@]}" --tiles "$W/t$z.txt" --out "$W/$run" 2>/dev/null)"
    done
    if diff -r -q "$W/now" "$W/past" >/dev/null; then echo "z$z: the same PNG bytes now and at $PAST"; else
        echo "z$z: PNGs DIFFER now and at $PAST" >&2; exit 1; fi
done
TOKEN=bench-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s bench role=read\n' "$TOKEN" >"$W/tokens"
as_root=()
[ "$(id -u)" -eq 0 ] && as_root=(--allow-root)
"$P" serve --db "$W/s.sqlite" --listen 127.0.0.1:0 --port-file "$W/port" --tokens "$W/tokens" \
    "${as_root[@]}" >/dev/null 2>"$W/server.log" &
SERVER=$!
for _ in $(seq 1 100); do [ -s "$W/port" ] && break; sleep 0.1; done
[ -s "$W/port" ] || { echo "the server did not start: $(tail -3 "$W/server.log")" >&2; exit 1; }
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
        "$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $TOKEN" "$B/qa/$C")"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
