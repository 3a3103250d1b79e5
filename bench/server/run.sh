#!/usr/bin/env bash
# Server benchmark (issue 6): `parceldb serve` under wrk (-t2 -c64, SECONDS
# seconds a run, default 10) on the full synthetic province: cached tiles
# (pre-seeded with `parceldb seed` into the disk cache, then in the
# server's memory cache after a warm-up), lookups (/parcels/at from the
# lookup benchmark's kind of points) and a mix (4 tiles to 1 lookup). The
# anchors, measured in the same run, alternating: nginx (Debian's
# nginx-light) serving the very same tiles as static files on loopback,
# and nginx answering the same lookup URLs with one static GeoJSON answer
# (the bytes parceldb returns for the sample point of median answer size;
# issue 19). Reports req/s (median of RUNS runs, default 3), latency, the
# tile and lookup ratios parceldb / nginx, and the server's memory before
# and after. Every answer must be 2xx; sample tiles are compared byte for
# byte with nginx's, sample lookups with `parceldb lookup --points`, and
# nginx's lookup answer with the parceldb answer it was copied from.
#
#   bench/server/run.sh [--smoke]
#   --smoke   2 communes of 300 parcels, 2 s runs, one run; seconds (CI).
# Environment: RUNS, SECONDS_PER_RUN, PDB_BINARY_DIR (default build-rel),
# RESULTS (default bench/work/results), STORE (default bench/work/prov.sqlite).
# Writes RESULTS/server.md and server-summary.txt.
{ # the whole script is read before it runs, so editing it mid-run is safe
. "$(dirname "$0")/../lib.sh"
HERE=$BENCH_ROOT/bench/server
bench_args server "$@"
runs=${RUNS:-3}
secs=${SECONDS_PER_RUN:-10}
bench_need "run bench/setup.sh or scripts/install-deps.sh (wrk, nginx-light, curl)" wrk nginx curl
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy='*' NO_PROXY='*'

if [ $smoke -eq 1 ]; then
    runs=1
    secs=${SECONDS_PER_RUN:-2}
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdbbench.XXXXXX")
    chmod 755 "$WORK" # nginx's workers read the tiles as nobody when run as root
    RESULTS=${RESULTS:-$WORK/results}
    src=$WORK/province-2-300
    "$SYNTH" --out "$src" --communes 2 --parcels-per-commune 300 --defects none --quiet
    STORE=$WORK/smoke.sqlite
    "$P" init --db "$STORE" >/dev/null
    "$P" import --quiet --no-overviews --db "$STORE" "$src"
    seed_jobs=("--zoom 8-13")
else
    RESULTS=${RESULTS:-$WORK/results}
    STORE=${STORE:-$WORK/prov.sqlite}
    [ -f "$STORE" ] || {
        echo "$STORE is missing: bench/run-all.sh makes it (or bench/lookup/run.sh)" >&2
        exit 1
    }
    # The whole province to z13, and one commune down to z17.
    bbox=$(sqlite3 "$STORE" "SELECT min_lon || ',' || min_lat || ',' || max_lon || ',' || max_lat FROM communes ORDER BY code LIMIT 1")
    seed_jobs=("--zoom 8-13" "--zoom 14-17 --bbox $bbox")
fi
mkdir -p "$RESULTS"
SW=$WORK/server
rm -rf "$SW/run"
mkdir -p "$SW/run"

SERVER_PID=
NGINX_STARTED=
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ -n "$NGINX_STARTED" ] && [ -f "$SW/run/nginx.pid" ]; then
        kill -QUIT "$(cat "$SW/run/nginx.pid")" 2>/dev/null || true
    fi
    if [ $smoke -eq 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# The disk cache, seeded once per store (seeding skips current tiles, so a
# rerun is quick). Its style is the server's default.
CACHE=$SW/cache-$(basename "$STORE" .sqlite)
for job in "${seed_jobs[@]}"; do
    # shellcheck disable=SC2086 # job is a list of options
    "$P" seed --db "$STORE" --cache "$CACHE" $job --no-progress >"$SW/run/seed.log" 2>&1 ||
        { cat "$SW/run/seed.log" >&2; exit 1; }
done

# The same tiles as static files for nginx: each cache file is a 32-byte
# header and the PNG.
STATIC=$SW/run/static
(cd "$CACHE"/s-* && find . -name '*.tile' ! -name '*@2x.tile') | sed 's|^\./||; s|\.tile$||' | sort >"$SW/run/tiles.txt"
ntiles=$(wc -l <"$SW/run/tiles.txt")
[ "$ntiles" -gt 0 ] || { echo "no tiles were seeded into $CACHE" >&2; exit 1; }
while read -r t; do
    mkdir -p "$STATIC/tiles/$(dirname "$t")"
    tail -c +33 "$CACHE"/s-*/"$t.tile" >"$STATIC/tiles/$t.png"
done <"$SW/run/tiles.txt"
chmod -R a+rX "$SW/run"
sed 's|^|/tiles/|; s|$|.png|' "$SW/run/tiles.txt" | shuf --random-source=<(yes) >"$SW/run/urls-tiles.txt"

# Lookup URLs: the lookup benchmark's generator on this store.
GEN=$SW/run/gen_points
cc -O2 -Wall -Wextra -o "$GEN" "$BENCH_ROOT/bench/lookup/gen_points.c" -lsqlite3
npts=$([ $smoke -eq 1 ] && echo 2000 || echo 100000)
"$GEN" --db "$STORE" --out "$SW/run/points.csv" --count "$npts" --seed 7 2>/dev/null
tail -n +2 "$SW/run/points.csv" | awk -F, '{print "/parcels/at?lon=" $2 "&lat=" $3}' >"$SW/run/urls-lookups.txt"
# The mix: four tiles, then a lookup.
awk 'NR == FNR {l[++n] = $0; next} {print} FNR % 4 == 0 {print l[(FNR / 4 - 1) % n + 1]}' \
    "$SW/run/urls-lookups.txt" "$SW/run/urls-tiles.txt" >"$SW/run/urls-mix.txt"
# With fewer tiles than lookups, pad the mix with tile rounds to a few thousand lines.
while [ "$(wc -l <"$SW/run/urls-mix.txt")" -lt 5000 ]; do
    cat "$SW/run/urls-mix.txt" "$SW/run/urls-mix.txt" >"$SW/run/urls-mix2.txt"
    mv "$SW/run/urls-mix2.txt" "$SW/run/urls-mix.txt"
done

# parceldb serve.
as_root=()
# As root (CI), when this build asks for it: the benchmark's files are root's.
[ "$(id -u)" -eq 0 ] && "$P" serve --help 2>&1 | grep -q -- --allow-root && as_root=(--allow-root)
"$P" serve --db "$STORE" --listen 127.0.0.1:0 --port-file "$SW/run/port" --cache "$CACHE" \
    --no-web --quiet "${as_root[@]}" >"$SW/run/serve.out" 2>"$SW/run/serve.log" &
SERVER_PID=$!
for _ in $(seq 1 300); do
    [ -s "$SW/run/port" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
[ -s "$SW/run/port" ] || { echo "parceldb serve did not start: $(tail -5 "$SW/run/serve.log")" >&2; exit 1; }
PDB_URL=http://127.0.0.1:$(cat "$SW/run/port")

# nginx on a free loopback port (asked of the kernel, then handed over).
NGX_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$SW/run/nginx.conf" <<CONF
worker_processes auto;
pid $SW/run/nginx.pid;
error_log $SW/run/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    open_file_cache max=100000 inactive=60s;
    types { image/png png; }
    client_body_temp_path $SW/run/ngx-body;
    proxy_temp_path $SW/run/ngx-proxy;
    fastcgi_temp_path $SW/run/ngx-fastcgi;
    uwsgi_temp_path $SW/run/ngx-uwsgi;
    scgi_temp_path $SW/run/ngx-scgi;
    server {
        listen 127.0.0.1:$NGX_PORT;
        root $STATIC;
        # The lookup anchor: one static answer whatever the query string.
        location = /parcels/at { default_type application/geo+json; }
    }
}
CONF
"$NGINX" -p "$SW/run" -c "$SW/run/nginx.conf" -e "$SW/run/nginx-error.log" ||
    { cat "$SW/run/nginx-error.log" >&2; exit 1; }
NGINX_STARTED=1
NGX_URL=http://127.0.0.1:$NGX_PORT

rss() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
rss_start=$(rss "$SERVER_PID" VmRSS)

# Correctness first: sample tiles byte for byte, sample lookups against the CLI.
fails=0
for t in $(head -20 "$SW/run/urls-tiles.txt"); do
    curl -sf --max-time 30 -o "$SW/run/a.png" "$PDB_URL$t" || { echo "parceldb: $t failed" >&2; fails=$((fails + 1)); continue; }
    curl -sf --max-time 30 -o "$SW/run/b.png" "$NGX_URL$t" || { echo "nginx: $t failed" >&2; fails=$((fails + 1)); continue; }
    cmp -s "$SW/run/a.png" "$SW/run/b.png" || { echo "$t: parceldb and nginx served different bytes" >&2; fails=$((fails + 1)); }
done
head -201 "$SW/run/points.csv" >"$SW/run/sample.csv"
"$P" lookup --db "$STORE" --points "$SW/run/sample.csv" | tail -n +2 >"$SW/run/sample-cli.txt"
# One HTTP client process for the 200 requests (a process each is slow on a
# loaded machine). The answer of median size among those that hold a
# parcel becomes nginx's static lookup answer.
python3 - "$(cat "$SW/run/port")" "$SW/run/sample.csv" "$STATIC/parcels/at" >"$SW/run/sample-http.txt" <<'PY'
import http.client, json, os, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
found = []
for line in open(sys.argv[2]).read().splitlines()[1:]:
    pid, lon, lat = line.split(",")
    conn.request("GET", "/parcels/at?lon=%s&lat=%s" % (lon, lat))
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        sys.exit("/parcels/at?lon=%s&lat=%s: HTTP %d" % (lon, lat, r.status))
    f = json.loads(body)["features"]
    p = f[0]["properties"] if f else {}
    print(",".join([pid] + [p.get(k) or "" for k in ("commune", "sheet", "parcel")]))
    if f:
        found.append(body)
if not found:
    sys.exit("no sample point lies in a parcel")
found.sort(key=len)
os.makedirs(os.path.dirname(sys.argv[3]), exist_ok=True)
with open(sys.argv[3], "wb") as out:
    out.write(found[len(found) // 2])
PY
chmod -R a+rX "$STATIC"
lookup_bytes=$(wc -c <"$STATIC/parcels/at")
if ! diff "$SW/run/sample-cli.txt" "$SW/run/sample-http.txt" >"$SW/run/sample.diff"; then
    echo "/parcels/at and parceldb lookup disagree:" >&2
    head -20 "$SW/run/sample.diff" >&2
    fails=$((fails + 1))
fi
# nginx's lookup anchor answers every lookup URL with that answer, unchanged.
curl -sf --max-time 30 -o "$SW/run/ngx-at.json" "$NGX_URL$(head -1 "$SW/run/urls-lookups.txt")" &&
    cmp -s "$SW/run/ngx-at.json" "$STATIC/parcels/at" ||
    { echo "nginx did not serve the static lookup answer" >&2; fails=$((fails + 1)); }
[ $fails -eq 0 ] || { echo "server benchmark: $fails correctness failures" >&2; exit 1; }

# wrk_run LABEL URL LIST: one wrk run; appends "LABEL rps p50_us p99_us" to runs.txt.
: >"$SW/run/runs.txt"
wrk_run() {
    local label=$1 url=$2 list=$3 line
    line=$(wrk -t2 -c64 -d"${secs}s" --timeout 10s -s "$HERE/urls.lua" "$url" -- "$list" | grep '^RESULT')
    [ -n "$line" ] || { echo "wrk gave no result for $label" >&2; return 1; }
    echo "$label $line" >>"$SW/run/wrk.log"
    eval "local ${line#RESULT }"
    # shellcheck disable=SC2154 # set by the eval
    if [ "$non2xx" -ne 0 ] || [ "$errors" -ne 0 ]; then
        echo "$label: $non2xx non-2xx answers and $errors socket errors" >&2
        return 1
    fi
    echo "$label $rps $p50_us $p99_us" >>"$SW/run/runs.txt"
}

# Warm both servers' caches and the lookup path, untimed.
warm=$([ $smoke -eq 1 ] && echo 1 || echo 3)
secs_saved=$secs
secs=$warm
wrk_run warm-pdb "$PDB_URL" "$SW/run/urls-tiles.txt"
wrk_run warm-nginx "$NGX_URL" "$SW/run/urls-tiles.txt"
wrk_run warm-lookups "$PDB_URL" "$SW/run/urls-lookups.txt"
wrk_run warm-nginx-lookups "$NGX_URL" "$SW/run/urls-lookups.txt"
secs=$secs_saved
rss_warm=$(rss "$SERVER_PID" VmRSS)
for r in $(seq "$runs"); do
    wrk_run tiles-parceldb "$PDB_URL" "$SW/run/urls-tiles.txt"
    wrk_run tiles-nginx "$NGX_URL" "$SW/run/urls-tiles.txt"
    wrk_run lookups-parceldb "$PDB_URL" "$SW/run/urls-lookups.txt"
    wrk_run lookups-nginx "$NGX_URL" "$SW/run/urls-lookups.txt"
    wrk_run mix-parceldb "$PDB_URL" "$SW/run/urls-mix.txt"
done
rss_end=$(rss "$SERVER_PID" VmRSS)
rss_peak=$(rss "$SERVER_PID" VmHWM)
ngx_rss=$(for p in $(pgrep -P "$(cat "$SW/run/nginx.pid")") "$(cat "$SW/run/nginx.pid")"; do rss "$p" VmRSS; done |
    awk '{s += $1} END {print s}')
load_end=$(loadavg)

med() { # med LABEL FIELD (2 rps, 3 p50, 4 p99)
    awk -v l="$1" -v f="$2" '$1 == l {print $f}' "$SW/run/runs.txt" | sort -g |
        awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
all() { awk -v l="$1" '$1 == l {printf "%s%.0f", sep, $2; sep = ", "}' "$SW/run/runs.txt"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; }
ratio=$(awk -v a="$(med tiles-parceldb 2)" -v b="$(med tiles-nginx 2)" 'BEGIN {printf "%.2f", a / b}')
lratio=$(awk -v a="$(med lookups-parceldb 2)" -v b="$(med lookups-nginx 2)" 'BEGIN {printf "%.2f", a / b}')
{
    echo "Server: $(date -u '+%Y-%m-%d %H:%M UTC'), $(sqlite3 "$STORE" "SELECT count(*) FROM parcels WHERE valid_to IS NULL") parcels," \
        "wrk -t2 -c64 -d${secs}s on loopback (wrk shares the 2 cores with the server), median of $runs alternating runs;" \
        "$ntiles cached tiles (seeded: ${seed_jobs[*]}), $npts lookup points."
    echo "machine: $(machine); load average at the end $load_end"
    echo
    echo "| load | server | req/s (runs) | median req/s | p50 ms | p99 ms |"
    echo "|---|---|---|---|---|---|"
    for l in tiles-parceldb tiles-nginx lookups-parceldb lookups-nginx mix-parceldb; do
        what=${l%-*}
        who=${l#*-}
        case $l in
        tiles-nginx) who="nginx (same PNGs as static files)" ;;
        lookups-nginx) who="nginx (one $lookup_bytes-byte answer as a static file)" ;;
        mix-parceldb) what="mix (4 tiles : 1 lookup)" ;;
        esac
        echo "| $what | $who | $(all $l) | $(med $l 2 | awk '{printf "%.0f", $1}') | $(med $l 3 | awk '{printf "%.2f", $1 / 1000}') | $(med $l 4 | awk '{printf "%.2f", $1 / 1000}') |"
    done
    echo
    echo "Cached tiles, parceldb / nginx: **${ratio}x**. Lookups, parceldb / nginx serving a static answer: **${lratio}x**."
    echo "parceldb serve's RSS: $(mib "$rss_start") MiB at start," \
        "$(mib "$rss_warm") MiB warm, $(mib "$rss_end") MiB after the runs (peak $(mib "$rss_peak") MiB); nginx (master and workers) $(mib "$ngx_rss") MiB."
    echo "Every answer 2xx; 20 tiles byte-identical to nginx's; 200 lookups identical to \`parceldb lookup --points\`;" \
        "nginx's lookup answer byte-identical to the parceldb answer it copies."
} | tee "$RESULTS/server.md"
{
    echo "tiles=$ntiles"
    echo "tiles_parceldb_rps=$(med tiles-parceldb 2)"
    echo "tiles_nginx_rps=$(med tiles-nginx 2)"
    echo "ratio_nginx=$ratio"
    echo "lookups_rps=$(med lookups-parceldb 2)"
    echo "lookups_p99_ms=$(med lookups-parceldb 4 | awk '{printf "%.2f", $1 / 1000}')"
    echo "lookups_nginx_rps=$(med lookups-nginx 2)"
    echo "ratio_lookups_nginx=$lratio"
    echo "lookup_answer_bytes=$lookup_bytes"
    echo "mix_rps=$(med mix-parceldb 2)"
    echo "rss_start_mib=$(mib "$rss_start")"
    echo "rss_end_mib=$(mib "$rss_end")"
    echo "rss_peak_mib=$(mib "$rss_peak")"
    echo "nginx_rss_mib=$(mib "$ngx_rss")"
} >"$RESULTS/server-summary.txt"
cp "$SW/run/runs.txt" "$RESULTS/server-runs.txt"

kill -TERM "$SERVER_PID"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=
[ $rc -eq 0 ] || { echo "parceldb serve exited $rc on SIGTERM" >&2; exit 1; }
exit
}
