#!/usr/bin/env bash
# run.sh: extracts per second (issue 14's target: 50 or more on one core),
# PDF and PNG, for N random current parcels of a store (default 1,000),
# made by `parceldb serve --threads 1` and asked for one after another
# over one keep-alive connection (curl), so that the figure is the
# extract's own cost: no process start, no PROJ set-up per extract.
# Reports wall time and the server's CPU time (utime + stime from
# /proc/PID/stat, which a shared machine does not inflate) per format.
#
# usage: [QUERY='dpi=120&paper=A3'] bench/extract/run.sh PARCELDB STORE [N]
#   STORE  e.g. a few synthetic communes:
#            pdb-synth --out syn --communes 4 --format GPKG --defects none
#            parceldb init --db syn.sqlite && parceldb import --db syn.sqlite syn/*.gpkg
# The parcels: every current parcel in a fixed pseudo-random order (by a
# multiplicative hash of its id), the first N; numbers held twice give two
# sheets, as an officer would get.
set -euo pipefail
PARCELDB=$1
STORE=$2
N=${3:-1000}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/pdb-extract-bench.XXXXXX")
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$OUT"' EXIT

sqlite3 "$STORE" "SELECT commune || '/' || sheet || '/' || parcel FROM parcels
    WHERE valid_to IS NULL ORDER BY (id * 2654435761) % 4294967291 LIMIT $N" >"$OUT/ids"
n=$(wc -l <"$OUT/ids")
[ "$n" -gt 0 ] || { echo "no parcels in $STORE" >&2; exit 1; }

"$PARCELDB" serve --db "$STORE" --listen 127.0.0.1:0 --port-file "$OUT/port" --threads 1 \
    $([ "$(id -u)" -eq 0 ] && echo --allow-root) >"$OUT/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do [ -s "$OUT/port" ] && break; sleep 0.1; done
BASE="http://127.0.0.1:$(cat "$OUT/port")"
TICK=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER/stat"; }

printf '| format | extracts | wall s | extracts/s (wall) | server CPU s | extracts/s (CPU) | bytes avg | non-200 |\n'
printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
for fmt in pdf png; do
    sed "s|^|url = \"$BASE/parcels/|; s|\$|/extract.$fmt?${QUERY:-}\"\\noutput = \"/dev/null\"|" "$OUT/ids" >"$OUT/$fmt.curl"
    # Warm: the first extract loads the fonts and the commune.
    curl -s -o /dev/null "$BASE/parcels/$(head -1 "$OUT/ids")/extract.$fmt"
    c0=$(cpu_ticks)
    t0=$(date +%s.%N)
    curl -s -K "$OUT/$fmt.curl" -w '%{http_code} %{size_download}\n' >"$OUT/$fmt.codes"
    t1=$(date +%s.%N)
    c1=$(cpu_ticks)
    awk -v n="$n" -v fmt="$fmt" -v w="$(echo "$t1 - $t0" | bc -l)" -v c="$(( c1 - c0 ))" -v tick="$TICK" '
        { if ($1 != 200) bad++; bytes += $2 }
        END { cpu = c / tick; printf "| %s | %d | %.2f | %.1f | %.2f | %.1f | %.0f | %d |\n",
              fmt, n, w, n / w, cpu, (cpu > 0 ? n / cpu : 0), bytes / n, bad }' "$OUT/$fmt.codes"
done
