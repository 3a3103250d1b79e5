# lib.sh: what the server's integration tests share. Sourced, not run.
#
# Each test makes its own store from fixtures written by real tools (cs2cs
# for the base points, ogr2ogr for the files, `parceldb import` to load
# them), starts `parceldb serve` on a free loopback port (port 0; the
# server writes the port it got), talks to it with real clients, and stops
# it with SIGTERM, expecting exit status 0. Every wait is bounded in count
# and time; only 127.0.0.1 is ever contacted.
set -uo pipefail

: "${PARCELDB:?PARCELDB must name the parceldb command}"
: "${PDB_SOURCE_DIR:?}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdb-server-test.XXXXXX")
SERVER_PID=
SERVER_PIDS=() # every server this test started, stopped or not
# kill_servers: no server of this test left running, even one whose
# SERVER_PID a later start overwrote.
kill_servers() {
    local p
    for p in "${SERVER_PIDS[@]}" $SERVER_PID; do
        if kill -0 "$p" 2>/dev/null; then
            kill -KILL "$p" 2>/dev/null
            wait "$p" 2>/dev/null
        fi
    done
    SERVER_PID=
}
# cleanup, at exit (a failure, an early exit, a signal: see the traps
# below).
cleanup() {
    kill_servers
    keep_server_logs
    rm -rf "$WORK"
    [ -z "${PUB:-}" ] || rm -rf "$PUB"
}
# The server logs of every test (every start) are kept under the build
# tree, for tests/ops/run_logs.sh, which searches them all for personal
# data and tokens after the other tests have run.
keep_server_logs() {
    [ -n "${PDB_BINARY_DIR:-}" ] && [ -d "$PDB_BINARY_DIR" ] || return 0
    [ -s "$WORK/server.log" ] && cat "$WORK/server.log" >>"$WORK/server-all.log"
    [ -s "$WORK/server-all.log" ] || return 0
    mkdir -p "$PDB_BINARY_DIR/Testing/server-logs" &&
        cp "$WORK/server-all.log" "$PDB_BINARY_DIR/Testing/server-logs/$(basename "$0" .sh)-$$.log"
}
trap cleanup EXIT
# A signal (a CTest timeout, ^C) exits through the EXIT trap too.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$WORK" || exit 1
export CPL_LOG=/dev/null
# Clients must never leave the machine, whatever the environment says.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy='*' NO_PROXY='*'

FAILS=0
PASSES=0

ok() {
    PASSES=$((PASSES + 1))
    echo "ok: $*"
}

fail() {
    FAILS=$((FAILS + 1))
    echo "FAIL: $*" >&2
}

# check NAME ACTUAL EXPECTED
check() {
    if [ "$2" = "$3" ]; then ok "$1 ($2)"; else fail "$1: got '$2', expected '$3'"; fi
}

# contains NAME TEXT PATTERN: TEXT matches the grep -E pattern
# (a here-string, not a pipe: grep -q stops reading early, and with
# pipefail the writer's SIGPIPE would turn a match into a failure)
contains() {
    if grep -Eq -- "$3" <<<"$2"; then ok "$1"; else
        fail "$1: /$3/ not in: $(printf '%s' "$2" | head -c 400)"
    fi
}

# lacks NAME TEXT PATTERN: TEXT does not match
lacks() {
    if grep -Eq -- "$3" <<<"$2"; then
        fail "$1: /$3/ found in: $(printf '%s' "$2" | grep -E -- "$3" | head -c 400)"
    else ok "$1"; fi
}

finish() {
    echo "$PASSES passed, $FAILS failed"
    [ "$FAILS" -eq 0 ]
}

# ---------------------------------------------------------------------------
# Fixtures

# base_point EPSG LON LAT: sets BX BY to the point's easting/northing (cs2cs).
base_point() {
    local out
    out=$(echo "$3 $2" | cs2cs -f "%.3f" EPSG:4326 "EPSG:$1")
    BX=$(echo "$out" | awk '{print $1}')
    BY=$(echo "$out" | awk '{print $2}')
}

# The reference points of DESIGN.md: Viet Tri (Phu Tho, 104-45) and Vinh Yen
# (Vinh Phuc, 105-00).
base_phutho() { base_point 9208 105.4020 21.3220; }
base_vinhphuc() { base_point 5897 105.5970 21.3090; }

# grid_csv FILE N COMMUNE [SHEET] [LANDUSE...]: N parcels of 20 m x 20 m in
# rows of 10, 25 m apart (5 m gaps), from (BX, BY); parcel i (from 1) is
# at column (i-1)%10, row (i-1)/10, with land use cycling through the list
# (default ONT LUA CLN BHK), the owner "Nguyen Van Chu i".
grid_csv() {
    local file=$1 n=$2 commune=$3 sheet=${4:-12}
    shift 4 2>/dev/null || shift $#
    local uses="${*:-ONT LUA CLN BHK}"
    awk -v n="$n" -v bx="$BX" -v by="$BY" -v c="$commune" -v sh="$sheet" -v uses="$uses" 'BEGIN {
        print "WKT,MaXa,SoTo,SoThua,LoaiDat,DienTich,TenChu,DiaChi"
        k = split(uses, lu, " ")
        for (i = 0; i < n; i++) {
            x = bx + (i % 10) * 25; y = by + int(i / 10) * 25
            printf "\"POLYGON ((%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f))\",%s,%s,%d,%s,%.1f,Nguyen Van Chu %d,Xom %d\n",
                x, y, x + 20, y, x + 20, y + 20, x, y + 20, x, y, c, sh, i + 1, lu[i % k + 1], 400, i + 1, i % 7
        }
    }' >"$file"
}

# parcel_center EPSG I [DX DY]: sets PLON PLAT to a point of parcel I in WGS
# 84 (cs2cs), DX DY metres from its south-west corner (default its centre,
# 10 10), and PX PY to the point in the survey's metres; for a grid made
# by grid_csv from the current BX BY.
parcel_center() {
    local i=$(($2 - 1)) dx=${3:-10} dy=${4:-10} x y out
    x=$(awk -v b="$BX" -v i="$i" -v d="$dx" 'BEGIN { printf "%.3f", b + (i % 10) * 25 + d }')
    y=$(awk -v b="$BY" -v i="$i" -v d="$dy" 'BEGIN { printf "%.3f", b + int(i / 10) * 25 + d }')
    out=$(echo "$x $y" | cs2cs -f "%.9f" "EPSG:$1" EPSG:4326)
    PLAT=$(echo "$out" | awk '{print $1}')
    PLON=$(echo "$out" | awk '{print $2}')
    PX=$x
    PY=$y
}

# tile_path LON LAT Z: "/tiles/Z/X/Y.png" of the tile holding a point.
tile_path() {
    awk -v lon="$1" -v lat="$2" -v z="$3" 'BEGIN {
        n = 2 ^ z; pi = atan2(0, -1); r = lat * pi / 180
        printf "/tiles/%d/%d/%d.png\n", z, int((lon + 180) / 360 * n), int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n) }'
}

# store_tiles Z: TILE_A and TILE_B, the paths of the zoom Z tiles holding
# parcel 1 of 07894 and of 08707 in the store of make_store.
store_tiles() {
    base_phutho
    parcel_center 9208 1
    TILE_A=$(tile_path "$PLON" "$PLAT" "$1")
    base_vinhphuc
    parcel_center 5897 1
    TILE_B=$(tile_path "$PLON" "$PLAT" "$1")
}

# to_gpkg CSV GPKG EPSG: the CSV written as a GeoPackage by ogr2ogr.
to_gpkg() {
    rm -f "$2"
    ogr2ogr -q -f GPKG "$2" "$1" -oo GEOM_POSSIBLE_NAMES=WKT -oo KEEP_GEOM_COLUMNS=NO \
        -nln parcels -a_srs "EPSG:$3"
}

# The store: a file, or with PDB_TEST_STORE=pg a PostgreSQL database.
source "$PDB_SOURCE_DIR/tests/lib/store.sh"

# new_db [NAME]: sets DB to the location of a new, empty place for a store
# (store_location: $WORK/NAME.sqlite, default parcels, or a new database).
new_db() {
    DB=$(store_location "$WORK" "${1:-parcels}") || { fail "a new store location"; return 1; }
}

# make_store: a store (new_db) with two communes: 07894 (Phu Tho, 40
# parcels from Viet Tri) and 08707 (Vinh Phuc, 30 parcels from Vinh Yen).
make_store() {
    new_db || return 1
    "$PARCELDB" init --db "$DB" >/dev/null || { fail "parceldb init"; return 1; }
    base_vinhphuc
    grid_csv vp.csv 30 08707 3
    to_gpkg vp.csv vp.gpkg 5897
    base_phutho
    grid_csv pt.csv 40 07894 12
    to_gpkg pt.csv pt.gpkg 9208
    "$PARCELDB" import --quiet --db "$DB" pt.gpkg vp.gpkg >import.log 2>&1 ||
        { fail "parceldb import: $(cat import.log)"; return 1; }
}

# national_store: a store (new_db nat) imported from a file of pdb-synth
# --national (a re-survey of 60 parcels of 07894, so that a few name their
# previous numbers; every one has a certificate serial and a record start),
# where ogrinfo gives the first parcel naming a previous number a record
# end, day first as documents write it. NAT_SHEET, NAT_PARCEL,
# NAT_PREV_SHEET, NAT_PREV_PARCEL, NAT_START, NAT_END (as the store keeps
# them: YYYY-MM-DD) and NAT_CERT are that parcel's values read back from
# the file by OGR; NAT_X NAT_Y a point inside it (EPSG:9208), NAT_X0 NAT_Y0
# one inside a parcel with neither.
national_store() {
    local synth=${PDB_SYNTH:-$PDB_BINARY_DIR/samples/pdb-synth} f=nat/07894.gpkg row
    [ -x "$synth" ] || { fail "pdb-synth is not built ($synth)"; return 1; }
    "$synth" --out nat --communes 07894 --parcels-per-commune 60 --format GPKG --defects none \
        --quiet --national --resurvey 2 || { fail "pdb-synth --national"; return 1; }
    ogrinfo -q "$f" -sql "UPDATE ThuaDat SET ThoiDiemKetThuc = '31/12/2030' WHERE fid =
        (SELECT min(fid) FROM ThuaDat WHERE SoThuTuThuaCu IS NOT NULL)" >/dev/null ||
        { fail "ogrinfo UPDATE"; return 1; }
    row=$(ogr2ogr -f CSV /vsistdout/ "$f" -dialect sqlite -sql "SELECT SoHieuToBanDo, SoThuTuThua,
        SoHieuToBanDoCu, SoThuTuThuaCu, ThoiDiemBatDau, ThoiDiemKetThuc, SoHieuGCN,
        ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM ThuaDat
        WHERE ThoiDiemKetThuc IS NOT NULL" | tail -n +2 | tr -d '"')
    # Day-first dates (DD/MM/YYYY) as the importer stores them.
    IFS=, read -r NAT_SHEET NAT_PARCEL NAT_PREV_SHEET NAT_PREV_PARCEL NAT_START NAT_END NAT_CERT \
        NAT_X NAT_Y < <(awk -F, -v OFS=, '{ for (i = 5; i <= 6; i++)
            if (split($i, d, "/") == 3) $i = d[3] "-" d[2] "-" d[1]; print }' <<<"$row")
    [ -n "$NAT_PREV_PARCEL" ] && [ "$NAT_END" = 2030-12-31 ] ||
        { fail "no parcel with a previous number and an end date in $f: $row"; return 1; }
    # A parcel without previous numbers or end date: NAT_X0 NAT_Y0 inside it.
    IFS=, read -r NAT_X0 NAT_Y0 < <(ogr2ogr -f CSV /vsistdout/ "$f" -dialect sqlite -sql "SELECT
        ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM ThuaDat
        WHERE SoThuTuThuaCu IS NULL AND ThoiDiemKetThuc IS NULL LIMIT 1" | tail -n +2 | tr -d '"')
    new_db nat || return 1
    "$PARCELDB" init --db "$DB" >/dev/null || { fail "parceldb init"; return 1; }
    "$PARCELDB" import --quiet --db "$DB" "$f" >import.log 2>&1 ||
        { fail "parceldb import: $(cat import.log)"; return 1; }
}

# ---------------------------------------------------------------------------
# Screenshots

# png_rgb FILE X Y: "R G B" of the pixel at column X, row Y of a PNG.
png_rgb() {
    gdallocationinfo -valonly "$1" "$2" "$3" 2>/dev/null | head -3 | tr '\n' ' ' | sed 's/ *$//'
}

# landuse_rgb CODE: "R G B" of the fill of land use CODE in the default
# style (styles/landuse.json).
landuse_rgb() {
    local hex
    hex=$(grep -o "\"$1\", \"#[0-9a-fA-F]\{6\}\"" "$PDB_SOURCE_DIR/styles/landuse.json" |
        head -1 | grep -o '#[0-9a-fA-F]*' | tr -d '#')
    printf '%d %d %d' "0x${hex:0:2}" "0x${hex:2:2}" "0x${hex:4:2}"
}

# rgb_near GOT WANT: "yes" when the two "R G B" colours are within 12 on
# every channel (anti-aliasing, PNG rounding), else "no".
rgb_near() {
    awk -v g="$1" -v w="$2" 'BEGIN { n = split(g, a); split(w, b); ok = n == 3
        for (i = 1; i <= 3; i++) if (a[i] - b[i] > 12 || b[i] - a[i] > 12) ok = 0; print ok ? "yes" : "no" }'
}

# ---------------------------------------------------------------------------
# The server

# start_server [OPTIONS...]: starts parceldb serve on a free loopback port;
# sets SERVER_PID, PORT, BASE; the log is $WORK/server.log.
# As root (CI), with --allow-root: the test's files are in a root-only
# temporary directory that an unprivileged user could not read; dropping
# to another user (--user) is tested in tests/ops/privileges.sh.
start_server() {
    local as_root=()
    [ "$(id -u)" -eq 0 ] && as_root=(--allow-root)
    serve_with_port_file "$WORK/port" "${as_root[@]}" "$@"
}

# serve_with_port_file FILE ARGS...: parceldb serve on a free loopback port
# with ARGS, writing its port into FILE; sets SERVER_PID PORT BASE. The
# array SERVE_WRAP (empty by default) is run before the command.
SERVE_WRAP=()
serve_with_port_file() {
    local port_file=$1
    shift
    rm -f "$port_file"
    [ -s "$WORK/server.log" ] && cat "$WORK/server.log" >>"$WORK/server-all.log"
    "${SERVE_WRAP[@]}" "$PARCELDB" serve --db "$DB" --listen 127.0.0.1:0 --port-file "$port_file" \
        "$@" >"$WORK/server.out" 2>"$WORK/server.log" &
    SERVER_PID=$!
    SERVER_PIDS+=("$SERVER_PID")
    [ -z "${PDB_TEST_PID_FILE:-}" ] || echo "$SERVER_PID" >>"$PDB_TEST_PID_FILE"
    for _ in $(seq 1 300); do
        [ -s "$port_file" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ ! -s "$port_file" ]; then
        fail "the server did not start: $(tail -5 "$WORK/server.log")"
        return 1
    fi
    PORT=$(cat "$port_file")
    BASE="http://127.0.0.1:$PORT"
}

# stop_server: SIGTERM, then the exit status must be 0 within 30 s.
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID"
    local rc=
    for _ in $(seq 1 300); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            wait "$SERVER_PID"
            rc=$?
            break
        fi
        sleep 0.1
    done
    if [ -z "$rc" ]; then
        fail "the server did not stop within 30 s of SIGTERM"
        kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    else
        check "SIGTERM: exit status" "$rc" 0
    fi
    SERVER_PID=
}

# get PATH [curl options...]: sets STATUS, BODY (file $WORK/body) and HEADERS
# (file $WORK/headers).
get() {
    local path=$1
    shift
    rm -f "$WORK/body" "$WORK/headers" # curl leaves them alone when nothing comes
    STATUS=$(curl -sS --max-time 20 --path-as-is -o "$WORK/body" -D "$WORK/headers" \
        -w '%{http_code}' "$@" "$BASE$path" 2>"$WORK/curl.err")
    touch "$WORK/body" "$WORK/headers"
    BODY=$(tr -d '\000' <"$WORK/body")
}

# header NAME: the value of a response header of the last get (no CR).
header() {
    grep -i "^$1:" "$WORK/headers" | tail -1 | sed -e 's/^[^:]*: *//' -e 's/\r$//'
}

# metric NAME: a metric's value from /metrics (0 when absent).
metric() {
    curl -s --max-time 10 "$BASE/metrics" | awk -v m="$1" '$1 == m { print $2; f = 1 } END { if (!f) print 0 }'
}

# wait_seen V: until the server has followed the store to data version V
# (at most 10 s; it looks at least once a second), checked.
wait_seen() {
    for _ in $(seq 1 100); do
        [ "$(metric parceldb_data_version)" = "$1" ] && break
        sleep 0.1
    done
    check "the server follows to data version $1" "$(metric parceldb_data_version)" "$1"
}

# hup_and_wait: SIGHUP the server, then wait (at most 30 s: a sanitizer
# build on a busy machine is slow) until the log has one more reload
# outcome, "reloaded: " or "reload failed", than before the signal.
hup_and_wait() {
    local before
    before=$(grep -cE 'reloaded: |reload failed' "$WORK/server.log")
    kill -HUP "$SERVER_PID"
    for _ in $(seq 1 300); do
        [ "$(grep -cE 'reloaded: |reload failed' "$WORK/server.log")" -gt "$before" ] && return 0
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------------------
# A server started as root that drops to another user (--user)

# needs_root_and_nobody: skips the test (77) unless it runs as root and a
# user nobody exists; sets NOBODY_UID NOBODY_GID.
needs_root_and_nobody() {
    # The reasons in scripts/test.sh's protocol, which CI checks hold.
    if [ "$(id -u)" -ne 0 ]; then
        echo "SKIP: not-root: the server must start as root to drop its privileges"
        exit 77
    fi
    if ! id nobody >/dev/null 2>&1; then
        echo "SKIP: no-user-nobody: the server runs as the user nobody"
        exit 77
    fi
    NOBODY_UID=$(id -u nobody)
    NOBODY_GID=$(id -g nobody)
}

# public_store: moves $DB where an unprivileged user can read it but not
# write it: $PUB (made here, 0755) holds
# store/parcels.sqlite (root's, 0644) and run/ (nobody's: the port file)
# $WORK itself is root's 0700, out of the user's reach. cleanup removes
# $PUB.
public_store() {
    PUB=$(mktemp -d "${TMPDIR:-/tmp}/pdb-public.XXXXXX") || return 1
    chmod 0755 "$PUB"
    mkdir -m 0755 "$PUB/store" "$PUB/run"
    chown nobody "$PUB/run"
    mv "$DB" "$PUB/store/parcels.sqlite"
    rm -f "$DB-wal" "$DB-shm"
    DB=$PUB/store/parcels.sqlite
    chmod 0644 "$DB"
    # The store of the audit table for a server that may not write $DB
    # (serve --audit-db): nobody's, in nobody's directory.
    AUDIT_DB=$PUB/run/audit.sqlite
    "$PARCELDB" init --db "$AUDIT_DB" >/dev/null && chown nobody "$AUDIT_DB"
}

# start_as ARGS...: parceldb serve as root with ARGS (--user NAME or
# --allow-root), the port file in $PUB/run; sets SERVER_PID PORT BASE.
start_as() { serve_with_port_file "$PUB/run/port" "$@"; }

# need_chromium: CHROMIUM is Debian's chromium, or the test exits (a
# missing dependency is a failure, not a skip).
need_chromium() {
    CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
    if [ -z "$CHROMIUM" ]; then
        echo "chromium is not installed (scripts/install-deps.sh installs it)" >&2
        exit 1
    fi
}

# CHROME_FLAGS: headless Chromium's flags for a machine with no network
# beyond loopback: no sandbox (root in a container), no GPU, no QUIC, no
# first-run, update or sync traffic, a profile in $WORK (chrome makes it
# fresh), no proxy, and every host name but 127.0.0.1 unresolvable.
CHROME_FLAGS=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
    --disable-background-networking --disable-component-update --disable-sync
    --disable-default-apps --disable-extensions --no-default-browser-check
    --user-data-dir="$WORK/profile" --no-proxy-server
    --host-resolver-rules="MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
    --window-size=1000,700 --force-device-scale-factor=1 --hide-scrollbars)

# chrome ARGS...: headless Chromium (CHROME_FLAGS, a fresh profile) on
# ARGS, given 20 s of virtual time for the page to load and settle.
chrome() {
    rm -rf "$WORK/profile"
    timeout 90 "$CHROMIUM" "${CHROME_FLAGS[@]}" --virtual-time-budget=20000 "$@" 2>>"$WORK/chromium.log"
}

# ---------------------------------------------------------------------------
# nginx in front of a test (tests/pg/replicas.sh, tests/pmtiles/pmtiles.sh)

# nginx_conf_head: what every test's nginx.conf starts with: one worker,
# in the foreground, its pid, logs and temporary files under $WORK/ng,
# then "http {" (the caller writes the rest, and its closing brace).
nginx_conf_head() {
    [ "$(id -u)" -eq 0 ] && echo "user root;"
    cat <<EOF
worker_processes 1;
daemon off;
pid $WORK/ng/nginx.pid;
error_log $WORK/ng/error.log;
events { worker_connections 512; }
http {
    client_body_temp_path $WORK/ng/tmp/body;
    proxy_temp_path $WORK/ng/tmp/proxy;
    fastcgi_temp_path $WORK/ng/tmp/fastcgi;
    uwsgi_temp_path $WORK/ng/tmp/uwsgi;
    scgi_temp_path $WORK/ng/tmp/scgi;
EOF
}

# nginx_start CONF_IN PROBE_PATH [CURL_ARGS...]: starts nginx ($NGINX) with
# CONF_IN, its NGINX_PORT replaced by a free port, and waits until
# PROBE_PATH answers. Sets NPORT and NGINX_PID; returns 1 after a fail
# line when nginx does not start.
nginx_start() {
    local conf_in=$1 probe=$2
    shift 2
    mkdir -p "$WORK/ng/tmp"
    # A free port: nginx says at once when the one tried is taken.
    for _ in $(seq 1 20); do
        NPORT=$((20000 + RANDOM % 30000))
        sed "s/NGINX_PORT/$NPORT/" "$conf_in" >"$WORK/ng/nginx.conf"
        "$NGINX" -p "$WORK/ng" -e "$WORK/ng/error.log" -c "$WORK/ng/nginx.conf" 2>>"$WORK/ng/start.log" &
        NGINX_PID=$!
        for _ in $(seq 1 50); do
            curl -s -o /dev/null --max-time 2 "$@" "http://127.0.0.1:$NPORT$probe" && break
            kill -0 "$NGINX_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$NGINX_PID" 2>/dev/null && return 0
        NGINX_PID=
    done
    fail "nginx did not start: $(tail -3 "$WORK/ng/error.log" "$WORK/ng/start.log")"
    return 1
}
