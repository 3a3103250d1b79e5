#!/usr/bin/env bash
# The soak: `parceldb serve` on a mid-size synthetic province under a mixed
# load for N minutes, with re-imports in the middle, sampled every 10 s.
#
#   bench/soak/run.sh [--minutes N] [--communes N] [--parcels N] [--docs]
#
#   --minutes N   how long the load runs (default 30; fractions work: 0.5)
#   --communes N  communes of the province (default 40, by pdb-synth)
#   --parcels N   parcels per commune (default 5278, as the full province)
#   --docs        write docs/soak.png and the Soak section of docs/benchmarks.md
#
# The load, all at once on loopback:
#   - wrk (bench/soak/mix.lua): tiles at zooms 10-18 (memory cache 16 MiB, no
#     disk cache, so most tiles are rendered), lookups at a point, small bbox
#     queries, parcels by number, /communes, /tiles.json, /health, /metrics;
#   - a curl loop of bad requests (malformed paths, bad tile numbers, bad and
#     non-finite numbers, inverted boxes, unknown routes, POST, an oversized
#     body, a 10 KiB URI): each must be a 4xx, never a 5xx or a dropped
#     connection; and huge ones (the world's box, a huge limit): a 200 page;
#   - slow clients (bench/soak/slow.py): requests sent a byte at a time, idle
#     connections the server must close, half-sent requests abandoned;
#   - a re-import of one commune about every 4 minutes, alternating between
#     two communes and between two versions of each (generator seeds 1 and
#     2, so the parcels do change every time; the data version must grow).
# Every 10 s: the server's VmRSS, open descriptors (/proc/PID/fd), threads,
# and its /metrics counters. At the end: requests, errors (5xx other than
# 503, connection failures, bad requests not answered 4xx, slow clients
# mistreated), RSS and descriptor growth, a plot (gnuplot), and a table.
#
# Binaries: PARCELDB and PDB_SYNTH, or ${PDB_BINARY_DIR:-build-rel}/...; they
# are copied into the work directory first, so a rebuild during the run does
# not change what runs. Work directory: ${BENCH_WORK:-bench/work}/soak.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib.sh"
ROOT=$BENCH_ROOT

minutes=30 communes=40 parcels=5278 docs=0
while [ $# -gt 0 ]; do
    case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --communes) communes=$2; shift 2 ;;
    --parcels) parcels=$2; shift 2 ;;
    --docs) docs=1; shift ;;
    -h | --help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
secs=$(awk -v m="$minutes" 'BEGIN { s = int(m * 60 + 0.5); print (s < 20 ? 20 : s) }')

BIN=${PDB_BINARY_DIR:-$ROOT/build-rel}
PARCELDB=${PARCELDB:-$BIN/cli/parceldb}
PDB_SYNTH=${PDB_SYNTH:-$BIN/samples/pdb-synth}
for t in "$PARCELDB" "$PDB_SYNTH"; do
    [ -x "$t" ] || { echo "soak: $t is not built (set PDB_BINARY_DIR or PARCELDB/PDB_SYNTH)" >&2; exit 1; }
done
for t in wrk curl python3 sqlite3; do
    command -v "$t" >/dev/null || { echo "soak: $t is missing (bench/setup.sh installs it)" >&2; exit 1; }
done
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy='*' NO_PROXY='*' CPL_LOG=/dev/null

S=$WORK/soak
mkdir -p "$S/bin"
cp "$PARCELDB" "$S/bin/parceldb"
cp "$PDB_SYNTH" "$S/bin/pdb-synth"
P=$S/bin/parceldb
OUT=$S/run
rm -rf "$OUT"
mkdir -p "$OUT"
log() { echo "soak: $(date -u +%H:%M:%S) $*"; }

# --- the province (generated once per size) and the two re-import variants
prov=$S/prov-$communes-$parcels
if [ ! -f "$prov/.done" ]; then
    log "generating $communes communes x $parcels parcels"
    rm -rf "$prov"
    "$S/bin/pdb-synth" --out "$prov" --communes "$communes" --parcels-per-commune "$parcels" \
        --defects none --quiet
    touch "$prov/.done"
fi
mapfile -t shps < <(ls "$prov"/*.shp | sort)
codes=("$(basename "${shps[1]}" .shp)" "$(basename "${shps[$((${#shps[@]} / 2))]}" .shp)")
alt=$S/alt-$communes-$parcels
if [ ! -f "$alt/.done" ]; then
    rm -rf "$alt"
    "$S/bin/pdb-synth" --out "$alt" --communes "${codes[0]},${codes[1]}" \
        --parcels-per-commune "$parcels" --defects none --seed 2 --quiet
    touch "$alt/.done"
fi

DB=$S/soak.sqlite
rm -f "$DB" "$DB-wal" "$DB-shm"
log "importing ${#shps[@]} communes into $DB"
"$P" init --db "$DB" >/dev/null
t0=$(date +%s)
"$P" import --quiet --db "$DB" "$prov"/ >"$OUT/import0.log" 2>&1
log "imported in $(($(date +%s) - t0)) s: $(sqlite3 "$DB" "SELECT count(*) FROM parcels WHERE valid_to IS NULL") parcels"
sqlite3 "$DB" "SELECT commune || '/' || sheet || '/' || parcel FROM parcels WHERE valid_to IS NULL
               ORDER BY random() LIMIT 2000" >"$OUT/ids.txt"
bbox=$(sqlite3 "$DB" "SELECT printf('%.6f,%.6f,%.6f,%.6f', min(min_lon), min(min_lat), max(max_lon), max(max_lat)) FROM communes")
IFS=, read -r b0 b1 b2 b3 <<<"$bbox"
centre_tile=$(awk -v lon="$(awk -v a="$b0" -v b="$b2" 'BEGIN{print (a+b)/2}')" \
    -v lat="$(awk -v a="$b1" -v b="$b3" 'BEGIN{print (a+b)/2}')" 'BEGIN {
    z = 15; n = 2 ^ z; pi = atan2(0, -1); r = lat * pi / 180
    printf "/tiles/%d/%d/%d.png", z, int((lon + 180) / 360 * n), int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n) }')

# --- the server
IDLE_TIMEOUT=10
as_root=()
if [ "$(id -u)" -eq 0 ] && "$P" serve --help | grep -q -- --allow-root; then as_root=(--allow-root); fi
"$P" serve --db "$DB" --listen 127.0.0.1:0 --port-file "$OUT/port" --cache-mb 16 --threads 2 \
    --timeout "$IDLE_TIMEOUT" --quiet "${as_root[@]}" >"$OUT/server.out" 2>"$OUT/server.log" &
SERVER=$!
cleanup() {
    local pids
    pids=$(jobs -p)
    [ -n "$pids" ] && kill $pids 2>/dev/null
    wait 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 300); do [ -s "$OUT/port" ] && break; sleep 0.1; done
[ -s "$OUT/port" ] || { echo "soak: the server did not start: $(tail -3 "$OUT/server.log")" >&2; exit 1; }
PORT=$(cat "$OUT/port")
BASE=http://127.0.0.1:$PORT
log "server pid $SERVER on $BASE; load for $secs s; load average $(loadavg)"
load_start=$(loadavg)
start=$(date +%s)

# --- sampler: every 10 s, one line of samples.tsv
metrics_line() {
    curl -s --max-time 5 "$BASE/metrics" | awk '
        /^parceldb_http_requests_total/ {
            v = $2; total += v
            if ($0 ~ /status="5/) { if ($0 ~ /status="503"/) s503 += v; else s5 += v }
            else if ($0 ~ /status="4/) s4 += v }
        $1 == "parceldb_tiles_rendered_total" { rendered = $2 }
        $1 == "parceldb_tile_render_failures_total" { rfail = $2 }
        $1 == "parceldb_tile_cache_bytes" { cache = $2 }
        $1 == "parceldb_data_version" { dv = $2 }
        END { printf "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d", total, s4, s503, s5, rendered, rfail, cache, dv }'
}
sample() {
    local t=$(($(date +%s) - start)) rss fds thr
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVER/status" 2>/dev/null || echo 0)
    thr=$(awk '/^Threads:/ {print $2}' "/proc/$SERVER/status" 2>/dev/null || echo 0)
    fds=$(ls "/proc/$SERVER/fd" 2>/dev/null | wc -l)
    printf "%d\t%d\t%d\t%d\t%s\t%s\n" "$t" "$rss" "$fds" "$thr" "$(metrics_line)" \
        "$(cut -d' ' -f1 /proc/loadavg)" >>"$OUT/samples.tsv"
}
printf "t_s\trss_kib\tfds\tthreads\trequests\tstatus_4xx\tstatus_503\tstatus_5xx_other\ttiles_rendered\trender_failures\tcache_bytes\tdata_version\tload1\n" >"$OUT/samples.tsv"
sample
(while [ $(($(date +%s) - start)) -lt "$secs" ]; do sleep 10; sample; done) &
SAMPLER=$!

# --- the load
SOAK_BBOX=$bbox SOAK_IDS=$OUT/ids.txt SOAK_SEED=1 \
    wrk -t1 -c8 -d"${secs}s" --timeout 30s -s "$HERE/mix.lua" "$BASE" >"$OUT/wrk.txt" 2>&1 &
WRK=$!

bad_loop() {
    local paths=(
        "/tiles/99/1/1.png" "/tiles/3/8/1.png" "/tiles/3/-1/1.png" "/tiles/a/b/c.png"
        "/tiles/12/1/1.jpg" "/tiles/12/99999999999999999999/1.png" "/tiles//1/1.png"
        "/tiles/%00/1/1.png" "/tiles/12/1/1.png/../../etc/passwd" "/parcels/at?lon=abc&lat=21"
        "/parcels/at?lon=1e999&lat=21" "/parcels/at?lon=nan&lat=21" "/parcels/at?lon=105.3"
        "/parcels/at?lon=200&lat=100" "/parcels?bbox=1,2" "/parcels?bbox=106,22,105,21"
        "/parcels?bbox=105,21,105.1,21.1&limit=-5" "/parcels?bbox=105,21,105.1,21.1&offset=x"
        "/parcels/07894/12" "/parcels/0789%34/../../x" "/nope" "/communes/../../etc/passwd"
    )
    # Valid but extreme: the whole world's box and a huge limit are answered
    # (200), clamped to one page of at most --max-limit features.
    local edge=("/parcels?bbox=-180,-85,180,85" "/parcels?bbox=-180,-85,180,85&limit=99999999&offset=5")
    local long
    long="/tiles/12/$(head -c 10240 /dev/zero | tr '\0' 7)/1.png"
    while [ $(($(date +%s) - start)) -lt "$secs" ]; do
        for p in "${paths[@]}" "$long"; do
            code=$(curl -s --path-as-is --max-time 20 -o /dev/null -w '%{http_code}' "$BASE$p" || true)
            echo "GET 4 $code" >>"$OUT/bad.txt"
        done
        for p in "${edge[@]}"; do
            code=$(curl -s --max-time 20 -o /dev/null -w '%{http_code}' "$BASE$p" || true)
            echo "GET-edge 2 $code" >>"$OUT/bad.txt"
        done
        code=$(curl -s --max-time 20 -o /dev/null -w '%{http_code}' -X POST -d x "$BASE/health" || true)
        echo "POST 4 $code" >>"$OUT/bad.txt"
        code=$(head -c 200000 /dev/zero | curl -s --max-time 20 -o /dev/null -w '%{http_code}' \
            -X PUT --data-binary @- "$BASE/parcels/at" || true)
        echo "PUT-big 4 $code" >>"$OUT/bad.txt"
        sleep 0.5
    done
}
bad_loop &
BAD=$!

python3 "$HERE/slow.py" "$secs" "$PORT" "$centre_tile" "$IDLE_TIMEOUT" >"$OUT/slow.txt" 2>&1 &
SLOW=$!

# --- re-imports in the middle: n of them, evenly spaced
n=$(awk -v s="$secs" 'BEGIN { n = int(s / 240); print (n < 1 ? 1 : n) }')
printf "t_s\tfile\tstatus\tseconds\n" >"$OUT/imports.tsv"
for k in $(seq 1 "$n"); do
    at=$((secs * k / (n + 1)))
    while [ $(($(date +%s) - start)) -lt "$at" ]; do sleep 1; done
    code=${codes[$((k % 2))]}
    if [ $(((k - 1) / 2 % 2)) -eq 0 ]; then f=$alt/$code.shp; else f=$prov/$code.shp; fi
    t1=$(date +%s.%N)
    st=0
    # --force: the file alternates with one imported before (same checksum).
    "$P" import --quiet --force --db "$DB" "$f" >>"$OUT/imports.log" 2>&1 || st=$?
    printf "%d\t%s\t%d\t%.1f\n" "$(($(date +%s) - start))" "${f#"$S"/}" "$st" \
        "$(awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')" >>"$OUT/imports.tsv"
    log "re-import $k/$n of $code: status $st"
done

wait "$WRK" || true
wait "$BAD" "$SAMPLER" || true
wait "$SLOW" || true
sample
load_end=$(loadavg)
kill -TERM "$SERVER"
server_rc=0
wait "$SERVER" || server_rc=$?
trap - EXIT

# --- the figures
tsv=$OUT/samples.tsv
col() { awk -F'\t' -v c="$1" 'NR > 1 { print $c }' "$tsv"; }
first() { col "$1" | head -2 | tail -1; } # the sample after 10 s: warmed up
last() { col "$1" | tail -1; }
maxof() { col "$1" | sort -n | tail -1; }
rss_start=$(first 2) rss_end=$(last 2) rss_max=$(maxof 2)
fds_start=$(first 3) fds_end=$(last 3) fds_max=$(maxof 3)
thr_start=$(first 4) thr_end=$(last 4)
srv_requests=$(last 5) srv_4xx=$(last 6) srv_503=$(last 7) srv_5xx=$(last 8)
rendered=$(last 9) render_failures=$(last 10)
wrk_requests=$(awk '$1 == "requests" { print $2 }' "$OUT/wrk.txt")
wrk_5xx=$(awk '$1 == "status" && $2 >= 500 && $2 != 503 { s += $3 } END { print s + 0 }' "$OUT/wrk.txt")
wrk_503=$(awk '$1 == "status" && $2 == 503 { s += $3 } END { print s + 0 }' "$OUT/wrk.txt")
wrk_sock=$(awk '$1 == "errors" { print $3 + $5 + $7 + $9 }' "$OUT/wrk.txt")
wrk_errline=$(awk '$1 == "errors"' "$OUT/wrk.txt")
wrk_lat=$(awk '$1 ~ /^latency_p50/' "$OUT/wrk.txt")
bad_total=$(wc -l <"$OUT/bad.txt")
bad_wrong=$(awk 'substr($3, 1, 1) != $2' "$OUT/bad.txt" | wc -l)
bad_codes=$(awk '{ c[$3]++ } END { for (k in c) printf "%s:%d ", k, c[k] }' "$OUT/bad.txt")
slow_ok=$(awk '$2 == "trickle_ok" || $2 == "idle_closed" || $2 == "abandoned" { s += $3 } END { print s + 0 }' "$OUT/slow.txt")
slow_bad=$(awk '$1 == "slow" && $2 != "trickle_ok" && $2 != "idle_closed" && $2 != "abandoned" { s += $3 } END { print s + 0 }' "$OUT/slow.txt")
imports=$(($(wc -l <"$OUT/imports.tsv") - 1))
dv_start=$(first 12) dv_end=$(last 12)
wrk_4xx=$(awk '$1 == "status" && $2 >= 400 && $2 < 500 { s += $3 } END { print s + 0 }' "$OUT/wrk.txt")
imports_failed=$(awk -F'\t' 'NR > 1 && $3 != 0' "$OUT/imports.tsv" | wc -l)
errors=$((wrk_5xx + srv_5xx + wrk_sock + bad_wrong + slow_bad + imports_failed))
[ "$server_rc" -eq 0 ] || errors=$((errors + 1))
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# Growth: the median RSS of the last fifth of the run against the second fifth
# (after the caches have filled), in MiB.
growth=$(python3 - "$tsv" <<'EOF'
import statistics, sys
rss = [int(l.split("\t")[1]) for l in open(sys.argv[1]).read().splitlines()[1:]]
a = len(rss) // 5
print("n/a" if a < 1 else "%+.1f" % ((statistics.median(rss[-a:]) - statistics.median(rss[a:2 * a])) / 1024))
EOF
)

summary=$OUT/summary.txt
{
    echo "soak: $minutes min ($secs s), $(sqlite3 "$DB" "SELECT count(*) FROM communes") communes, $(sqlite3 "$DB" "SELECT count(*) FROM parcels WHERE valid_to IS NULL") current parcels"
    echo "machine: $(machine); load average at start $load_start, at end $load_end"
    echo "requests answered (server /metrics): $srv_requests; wrk: $wrk_requests ($wrk_lat)"
    echo "tiles rendered: $rendered, render failures: $render_failures"
    echo "5xx other than 503: server $srv_5xx, wrk $wrk_5xx; 503: server $srv_503, wrk $wrk_503"
    echo "wrk socket $wrk_errline"
    echo "bad requests: $bad_total sent, $bad_wrong answered other than expected (4xx; 200 for the huge boxes) ($bad_codes)"
    echo "slow clients: $slow_ok handled, $slow_bad mistreated ($(awk '{printf "%s=%s ", $2, $3}' "$OUT/slow.txt"))"
    echo "re-imports: $imports, $imports_failed failed; data version $dv_start -> $dv_end"
    echo "4xx in wrk's mix: $wrk_4xx (parcels by a number that a re-import renumbered: expected)"
    echo "RSS MiB: start $(mib "$rss_start") (at 10 s), end $(mib "$rss_end"), max $(mib "$rss_max"); growth (last fifth vs second fifth, medians) $growth MiB"
    echo "open fds: start $fds_start, end $fds_end, max $fds_max; threads $thr_start -> $thr_end"
    echo "server exit status on SIGTERM: $server_rc"
    echo "errors: $errors"
} | tee "$summary"

# --- the plot
if command -v gnuplot >/dev/null; then
    imports_at=$(awk -F'\t' 'NR > 1 { printf "set arrow from %f, graph 0 to %f, graph 1 nohead dt 2 lc rgb \"#888888\"\n", $1 / 60, $1 / 60 }' "$OUT/imports.tsv")
    gnuplot <<EOF
set terminal pngcairo size 900,600 font "DejaVu Sans,10"
set output "$OUT/soak.png"
set datafile separator "\t"
set multiplot layout 2,1 title "parceldb serve soak: $minutes min, mixed load (dashed: re-imports)"
set xlabel "minutes"
set ylabel "RSS MiB"
set y2label "open fds / threads"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key top left
$imports_at
plot "$tsv" every ::1 using (\$1/60):(\$2/1024) with lines lw 2 title "RSS (MiB)", \
     "" every ::1 using (\$1/60):3 axes x1y2 with lines title "open fds", \
     "" every ::1 using (\$1/60):4 axes x1y2 with lines title "threads"
set ylabel "requests/s"
set y2label "errors (cumulative)"
prev_t = 0; prev_r = 0
rate(t, r) = (dt = t - prev_t, dr = r - prev_r, prev_t = t, prev_r = r, dt > 0 ? dr / dt : 1/0)
plot "$tsv" every ::1 using (\$1/60):(rate(\$1, \$5)) with lines title "requests/s (server)", \
     "" every ::1 using (\$1/60):(\$8) axes x1y2 with lines lw 2 title "5xx other than 503", \
     "" every ::1 using (\$1/60):(\$7) axes x1y2 with lines title "503"
unset multiplot
EOF
    log "plot: $OUT/soak.png"
fi

# --- the docs
if [ "$docs" -eq 1 ]; then
    cp "$OUT/soak.png" "$ROOT/docs/soak.png"
    section=$OUT/section.md
    {
        echo "## Soak"
        echo
        echo "\`parceldb serve\` under a mixed load for $minutes minutes on a synthetic province"
        echo "of $communes communes x $parcels parcels, with a commune re-imported about every"
        echo "4 minutes: wrk ([bench/soak/mix.lua](../bench/soak/mix.lua): tiles z10-z18 with a"
        echo "16 MiB memory cache and no disk cache, so most tiles are rendered; lookups;"
        echo "bbox queries; parcels by number; the small routes), a curl loop of bad requests,"
        echo "and slow clients ([bench/soak/slow.py](../bench/soak/slow.py): byte-at-a-time"
        echo "requests, idle and abandoned connections). Sampled every 10 s."
        echo
        echo '```'
        echo "bench/soak/run.sh --minutes $minutes --docs"
        echo '```'
        echo
        echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(machine); load average $load_start at the"
        echo "start, $load_end at the end (the machine was shared with other builds and tests)."
        echo
        echo "| figure | value |"
        echo "|---|---|"
        echo "| requests answered (server's /metrics) | $srv_requests |"
        echo "| of which wrk's mix | $wrk_requests |"
        echo "| tiles rendered | $rendered (render failures: $render_failures) |"
        echo "| 5xx other than 503 | $srv_5xx (server), $wrk_5xx (seen by wrk) |"
        echo "| 503 | $srv_503 |"
        echo "| connection failures (wrk connect/read/write/timeout) | $wrk_sock |"
        echo "| bad requests answered other than 4xx (huge boxes: other than 200) | $bad_wrong of $bad_total |"
        echo "| slow clients mistreated | $slow_bad of $((slow_ok + slow_bad)) |"
        echo "| re-imports (failed); data version | $imports ($imports_failed); $dv_start -> $dv_end |"
        echo "| 4xx in wrk's mix (404s of parcels renumbered by a re-import) | $wrk_4xx |"
        echo "| RSS MiB: at 10 s / end / max | $(mib "$rss_start") / $(mib "$rss_end") / $(mib "$rss_max") |"
        echo "| RSS growth, last fifth vs second fifth (medians) | $growth MiB |"
        echo "| open fds: at 10 s / end / max | $fds_start / $fds_end / $fds_max |"
        echo "| exit status on SIGTERM | $server_rc |"
        echo
        echo "![RSS, descriptors, threads and request rate over the soak](soak.png)"
    } >"$section"
    python3 - "$ROOT/docs/benchmarks.md" "$section" <<'EOF'
import sys
doc, sec = sys.argv[1], open(sys.argv[2]).read()
text = open(doc).read()
i = text.find("\n## Soak\n")
text = (text[:i + 1] if i >= 0 else text.rstrip("\n") + "\n\n") + sec
open(doc + ".tmp", "w").write(text)
import os
os.replace(doc + ".tmp", doc)
EOF
    log "docs: docs/soak.png and the Soak section of docs/benchmarks.md"
fi
[ "$errors" -eq 0 ]
