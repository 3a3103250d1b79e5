#!/usr/bin/env bash
# OGC benchmark (issue 13): `parceldb serve`'s /wms GetMap and
# /ogcapi items against MapServer 8 (Debian's mapserv) on the same store,
# same style, same requests, same run. MapServer runs as it is deployed for
# speed: two persistent FastCGI processes (spawn-fcgi) behind nginx on
# loopback, so that no process start is timed; its mapfile is generated
# from the store and styles/landuse.json (bench/ogc/ogc.py mapfile).
# Requests (bench/ogc/ogc.py requests, fixed seed): WMS 1.1.1 GetMap
# 1024x768 PNG at commune, district (~15 communes) and province extents in
# EPSG:3857 and EPSG:9208, centred on random current parcels (the province
# panned a little); items pages of 1,000 in random boxes over the province.
# Correctness first (every URL once on both): HTTP 200 PNGs of 1024x768, the
# same feature ids in every items page. Then wrk (bench/server/urls.lua)
# cycles through each list, one connection and two, alternating servers.
#
#   bench/ogc/run.sh [--smoke]
#   --smoke   2 communes of 300 parcels, 3 boxes a class, 1 s runs (CI).
# Environment: RUNS (default 1), SECONDS_PER_RUN (default 10), BOXES (boxes
# per class, default 10), PROVINCE_BOXES (default 3) and PROVINCE_SECONDS
# (default 60) for the province's maps, ITEMS (items boxes, default 50),
# SEED (default 13),
# PDB_BINARY_DIR (default build-rel), RESULTS (default bench/work/results),
# STORE (default bench/work/prov.sqlite).
# Writes RESULTS/ogc.md and RESULTS/ogc-summary.txt.
{ # the whole script is read before it runs, so editing it mid-run is safe
. "$(dirname "$0")/../lib.sh"
HERE=$BENCH_ROOT/bench/ogc
bench_args ogc "$@"
runs=${RUNS:-1}
secs=${SECONDS_PER_RUN:-10}
boxes=${BOXES:-10}
pboxes=${PROVINCE_BOXES:-3}
psecs=${PROVINCE_SECONDS:-60}
nitems=${ITEMS:-50}
bench_need "run scripts/install-deps.sh (wrk, nginx-light, spawn-fcgi, mapserver-bin, proj-bin)" \
    wrk nginx curl spawn-fcgi mapserv cs2cs sqlite3 python3
mapserv -v | grep -q 'SUPPORTS=FASTCGI' && mapserv -v | grep -q 'SUPPORTS=OGCAPI_SERVER' || {
    echo "this mapserv lacks FastCGI or OGC API support: $(mapserv -v)" >&2
    exit 1
}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy='*' NO_PROXY='*'

if [ $smoke -eq 1 ]; then
    secs=${SECONDS_PER_RUN:-1}
    psecs=${PROVINCE_SECONDS:-1}
    runs=1
    boxes=${BOXES:-3}
    nitems=${ITEMS:-5}
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdbogc.XXXXXX")
    chmod 755 "$WORK"
    RESULTS=${RESULTS:-$WORK/results}
    "$SYNTH" --out "$WORK/src" --communes 2 --parcels-per-commune 300 --defects none --quiet
    STORE=$WORK/smoke.sqlite
    "$P" init --db "$STORE" >/dev/null
    "$P" import --quiet --db "$STORE" "$WORK/src"
else
    RESULTS=${RESULTS:-$WORK/results}
    STORE=${STORE:-$WORK/prov.sqlite}
    [ -f "$STORE" ] || {
        echo "$STORE is missing: bench/run-all.sh makes it" >&2
        exit 1
    }
fi
STORE=$(cd "$(dirname "$STORE")" && pwd)/$(basename "$STORE")
# MapServer reads the whole parcels table: the comparison holds only on a
# store without superseded parcels (the synthetic province has none).
superseded=$(sqlite3 "$STORE" "SELECT count(*) FROM parcels WHERE valid_to IS NOT NULL")
[ "$superseded" -eq 0 ] || {
    echo "$STORE holds $superseded superseded parcels, which MapServer's layer would draw: use a store without re-surveys" >&2
    exit 1
}
mkdir -p "$RESULTS"
OW=$WORK/ogc
rm -rf "$OW/run"
mkdir -p "$OW/run"
chmod 755 "$OW" "$OW/run"

SERVER_PID=
NGINX_STARTED=
FCGI_PIDS=
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ -n "$NGINX_STARTED" ] && [ -f "$OW/run/nginx.pid" ]; then
        kill -QUIT "$(cat "$OW/run/nginx.pid")" 2>/dev/null || true
    fi
    # mapserv's FastCGI loop takes SIGTERM as "finish after the next
    # request", which never comes once nginx is gone: it lived on after
    # every run (its second TERM is fatal). KILL what TERM leaves.
    for p in $FCGI_PIDS; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 0.2
    for p in $FCGI_PIDS; do kill -KILL "$p" 2>/dev/null || true; done
    if [ $smoke -eq 1 ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Ports asked of the kernel, then handed over.
freeport() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
NGX_PORT=$(freeport)
MS_URL=http://127.0.0.1:$NGX_PORT

# The requests and MapServer's mapfile and configuration.
python3 "$HERE/ogc.py" requests "$STORE" "$OW/run/req" "$boxes" "$nitems" "${SEED:-13}"
# The province's boxes are few (MapServer draws every parcel of it: about
# 10 s a map on the full province), their runs longer.
for crs in 3857 9208; do
    head -n "$pboxes" "$OW/run/req/getmap-province-$crs.txt" >"$OW/run/req/p.txt"
    mv "$OW/run/req/p.txt" "$OW/run/req/getmap-province-$crs.txt"
done
python3 "$HERE/ogc.py" mapfile "$BENCH_ROOT/styles/landuse.json" "$STORE" "$MS_URL/mapserv" >"$OW/run/ogc.map"
cat >"$OW/run/mapserver.conf" <<CONF
CONFIG
  ENV
    MS_ERRORFILE "$OW/run/mapserver-error.log"
  END
  MAPS
    parcels "$OW/run/ogc.map"
  END
END
CONF
# The store's directory must be writable by the servers' user for SQLite's
# WAL files; both run as the invoking user.

# MapServer: two FastCGI processes (one per core, as parceldb's threads).
MAPSERV=$(command -v mapserv)
MAPSERVER_CONFIG_FILE=$OW/run/mapserver.conf spawn-fcgi -s "$OW/run/mapserv.sock" -M 0666 -F 2 \
    -P "$OW/run/spawn.pid" -- "$MAPSERV" >"$OW/run/spawn.log" 2>&1 ||
    { cat "$OW/run/spawn.log" >&2; exit 1; }
# spawn-fcgi -F 2 forks two children and prints their pids.
FCGI_PIDS=$(sed -n 's/.*PID: \([0-9]*\).*/\1/p' "$OW/run/spawn.log")
[ "$(echo "$FCGI_PIDS" | wc -w)" -eq 2 ] || { echo "spawn-fcgi did not start two mapserv: $(cat "$OW/run/spawn.log")" >&2; exit 1; }

cat >"$OW/run/nginx.conf" <<CONF
worker_processes 1;
pid $OW/run/nginx.pid;
error_log $OW/run/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $OW/run/ngx-body;
    proxy_temp_path $OW/run/ngx-proxy;
    fastcgi_temp_path $OW/run/ngx-fastcgi;
    uwsgi_temp_path $OW/run/ngx-uwsgi;
    scgi_temp_path $OW/run/ngx-scgi;
    fastcgi_buffers 64 64k;
    fastcgi_read_timeout 600s;
    server {
        listen 127.0.0.1:$NGX_PORT;
        # /mapserv?MAP=parcels&SERVICE=WMS... and /mapserv/parcels/ogcapi/...
        location /mapserv {
            fastcgi_split_path_info ^(/mapserv)(/.*)?\$;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_NAME \$fastcgi_script_name;
            fastcgi_param PATH_INFO \$fastcgi_path_info;
            fastcgi_pass unix:$OW/run/mapserv.sock;
        }
    }
}
CONF
"$NGINX" -p "$OW/run" -c "$OW/run/nginx.conf" -e "$OW/run/nginx-error.log" ||
    { cat "$OW/run/nginx-error.log" >&2; exit 1; }
NGINX_STARTED=1

# parceldb serve, two worker threads (the machine's two cores).
as_root=()
[ "$(id -u)" -eq 0 ] && "$P" serve --help 2>&1 | grep -q -- --allow-root && as_root=(--allow-root)
"$P" serve --db "$STORE" --listen 127.0.0.1:0 --port-file "$OW/run/port" --cache-mb 0 \
    --no-web --quiet "${as_root[@]}" >"$OW/run/serve.out" 2>"$OW/run/serve.log" &
SERVER_PID=$!
for _ in $(seq 1 300); do
    [ -s "$OW/run/port" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
[ -s "$OW/run/port" ] || { echo "parceldb serve did not start: $(tail -5 "$OW/run/serve.log")" >&2; exit 1; }
PDB_URL=http://127.0.0.1:$(cat "$OW/run/port")

# Correctness: every URL once on both servers (also warms both).
python3 "$HERE/ogc.py" check "$PDB_URL" "$MS_URL" "$OW/run/req" >"$OW/run/check.txt" || {
    echo "the servers' answers disagree or fail:" >&2
    head -20 "$OW/run/check.txt" >&2
    exit 1
}
check=$(grep '^CHECK' "$OW/run/check.txt")

# The URL lists each server gets: the same query strings.
classes=()
for c in commune district province; do
    for crs in 3857 9208; do
        classes+=("getmap-$c-$crs")
        sed 's|^|/wms?|' "$OW/run/req/getmap-$c-$crs.txt" >"$OW/run/urls-getmap-$c-$crs-parceldb.txt"
        sed 's|^|/mapserv?MAP=parcels\&|' "$OW/run/req/getmap-$c-$crs.txt" >"$OW/run/urls-getmap-$c-$crs-mapserver.txt"
    done
done
classes+=(items)
sed 's|^|/ogcapi/collections/parcels/items?|' "$OW/run/req/items.txt" >"$OW/run/urls-items-parceldb.txt"
sed 's|^|/mapserv/parcels/ogcapi/collections/parcels/items?f=json\&|' "$OW/run/req/items.txt" >"$OW/run/urls-items-mapserver.txt"

# wrk_run CLASS SERVER CONNECTIONS: appends "CLASS SERVER C rps requests p50_us p95_us" to runs.txt.
: >"$OW/run/runs.txt"
wrk_run() {
    local class=$1 who=$2 c=$3 url line d=$secs
    [[ $class == getmap-province-* ]] && d=$psecs
    url=$PDB_URL
    [ "$who" = mapserver ] && url=$MS_URL
    line=$(wrk -t"$c" -c"$c" -d"${d}s" --timeout 120s -s "$BENCH_ROOT/bench/server/urls.lua" "$url" -- \
        "$OW/run/urls-$class-$who.txt" | grep '^RESULT')
    [ -n "$line" ] || { echo "wrk gave no result for $class $who -c$c" >&2; return 1; }
    echo "$class $who c$c $line" >>"$OW/run/wrk.log"
    eval "local ${line#RESULT }"
    # shellcheck disable=SC2154 # set by the eval
    if [ "$non2xx" -ne 0 ] || [ "$errors" -ne 0 ]; then
        echo "$class $who -c$c: $non2xx non-2xx answers and $errors socket errors" >&2
        return 1
    fi
    # req/s from the count and the duration: wrk's own rps has one decimal,
    # too coarse for MapServer's province maps (a few in a minute).
    # shellcheck disable=SC2154 # requests, seconds, p50_us, p95_us: set by the eval
    rps=$(awk -v n="$requests" -v s="$seconds" 'BEGIN {printf "%.4f", n / s}')
    # shellcheck disable=SC2154 # set by the eval
    echo "$class $who $c $rps $requests $p50_us $p95_us" >>"$OW/run/runs.txt"
}
for _ in $(seq "$runs"); do
    for class in "${classes[@]}"; do
        for c in 1 2; do
            wrk_run "$class" parceldb "$c"
            wrk_run "$class" mapserver "$c"
        done
    done
done
load_end=$(loadavg)

# med CLASS SERVER C FIELD (4 rps, 5 requests, 6 p50, 7 p95): median over runs.
med() {
    awk -v k="$1" -v s="$2" -v c="$3" -v f="$4" '$1 == k && $2 == s && $3 == c {print $f}' "$OW/run/runs.txt" | sort -g |
        awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
rate() { awk -v r="$1" 'BEGIN {printf (r < 10 ? "%.2f" : "%.1f"), r}'; }
ms() { awk -v u="$1" 'BEGIN {printf "%.1f", u / 1000}'; }
parcels=$(sqlite3 "$STORE" "SELECT count(*) FROM parcels WHERE valid_to IS NULL")
ncommunes=$(sqlite3 "$STORE" "SELECT count(*) FROM communes WHERE parcels > 0")
{
    echo "OGC: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$BENCH_ROOT" log -1 --format=%h 2>/dev/null || echo unknown)," \
        "$parcels parcels in $ncommunes communes$([ $smoke -eq 1 ] && echo ' (SMOKE: not comparable)');" \
        "wrk ${secs}s a run (province maps ${psecs}s), median of $runs run(s), servers alternating; $(mapserv -v | cut -d' ' -f1-3) as 2 FastCGI processes" \
        "(spawn-fcgi) behind nginx, parceldb serve (its threads, no tile cache); wrk on the same 2 cores."
    echo "machine: $(machine); load average at the end $load_end"
    echo "boxes (ground width, m): $(tr '\n' ' ' <"$OW/run/req/sizes.txt")"
    echo
    echo "| requests | clients | parceldb req/s | MapServer req/s | parceldb / MapServer | parceldb p50 / p95 ms | MapServer p50 / p95 ms | requests done (parceldb, MapServer) |"
    echo "|---|---|---|---|---|---|---|---|"
    for class in "${classes[@]}"; do
        case $class in
        items) label="items, limit 1000, $nitems boxes" ;;
        getmap-province-*) label="GetMap province, EPSG:${class##*-}, $pboxes boxes" ;;
        *)
            set -- ${class//-/ }
            label="GetMap $2, EPSG:$3, $boxes boxes"
            ;;
        esac
        for c in 1 2; do
            a=$(med "$class" parceldb "$c" 4)
            b=$(med "$class" mapserver "$c" 4)
            echo "| $label | $c | $(rate "$a") | $(rate "$b") | $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2fx", a / b}') |" \
                "$(ms "$(med "$class" parceldb "$c" 6)") / $(ms "$(med "$class" parceldb "$c" 7)") |" \
                "$(ms "$(med "$class" mapserver "$c" 6)") / $(ms "$(med "$class" mapserver "$c" 7)") |" \
                "$(med "$class" parceldb "$c" 5), $(med "$class" mapserver "$c" 5) |"
        done
    done
    echo
    eval "${check#CHECK }"
    # shellcheck disable=SC2154 # set by the eval
    echo "Checked before timing, every URL once on both: $getmap_urls GetMap URLs, each an HTTP 200 1024x768 PNG from both;" \
        "of $items_urls items pages ($items_features_parceldb features from each), $items_same with the same feature ids from both," \
        "$items_edge differing only by a parcel that crosses the box's edge by under 1e-6 degrees, which MapServer leaves out" \
        "(and the next parcel by id in its place)."
    grep '^items?' "$OW/run/check.txt" || true
} | tee "$RESULTS/ogc.md"
{
    for class in "${classes[@]}"; do
        for c in 1 2; do
            echo "${class//-/_}_c${c}_parceldb_rps=$(med "$class" parceldb "$c" 4)"
            echo "${class//-/_}_c${c}_mapserver_rps=$(med "$class" mapserver "$c" 4)"
            echo "${class//-/_}_c${c}_parceldb_p95_ms=$(ms "$(med "$class" parceldb "$c" 7)")"
            echo "${class//-/_}_c${c}_mapserver_p95_ms=$(ms "$(med "$class" mapserver "$c" 7)")"
        done
    done
} >"$RESULTS/ogc-summary.txt"
cp "$OW/run/runs.txt" "$RESULTS/ogc-runs.txt"

kill -TERM "$SERVER_PID"
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=
[ $rc -eq 0 ] || { echo "parceldb serve exited $rc on SIGTERM" >&2; exit 1; }
exit
}
