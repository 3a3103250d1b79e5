#!/usr/bin/env bash
# Stateless replicas on one PostgreSQL store behind nginx (issue 17, "What
# it must show"): three `parceldb serve` on one PostGIS database, nginx on
# loopback in front of them (an upstream block that retries the next
# replica on error, timeout, 502 and 503), and a cluster of this test's own
# with max_connections 11, since the test stops and starts it:
#   - the connection budget: each replica holds threads + 1 connections
#     from its start (pg_stat_activity), and a fourth replica that would
#     pass max_connections stops at start with one line;
#   - (a) a re-import through `parceldb import`: every replica, asked
#     directly, serves the new lookup answer and a new tile (the time from
#     the import's exit to the last replica serving it is printed);
#   - (b) one replica killed under load through nginx: no request fails;
#   - (c) PostgreSQL stopped: /health says "unreachable" (503) on every
#     replica, a cached tile is still served, a lookup in a commune the
#     replica had loaded is answered from memory with the same body as
#     before (issue 17: "lookups of loaded communes keep working"), and a
#     lookup in a commune no lookup had loaded is a 503 with a JSON error;
#     started again: the same processes serve a new import, without a
#     restart.
source "$(dirname "$0")/../server/lib.sh"
source "$PDB_SOURCE_DIR/tests/lib/pg.sh"

pg_bin || exit 1
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { fail "nginx is missing: run scripts/install-deps.sh (package nginx-light)"; exit 1; }

NGINX_PID=
STATE=$WORK/pg.state
# At exit: nginx and the cluster first, then what lib.sh cleans up.
trap '[ -z "$NGINX_PID" ] || kill "$NGINX_PID" 2>/dev/null; pg_cluster_stop "$STATE"; cleanup' EXIT

# --- The cluster -------------------------------------------------------------

pg_cluster_start "$STATE" >/dev/null || exit 1
# shellcheck disable=SC1090
. "$STATE"
# Where it listens and the small limit go into postgresql.auto.conf, so
# that a plain pg_ctl start (part c) brings it back as it was.
pg_psql postgres -c "ALTER SYSTEM SET max_connections = 11" \
    -c "ALTER SYSTEM SET listen_addresses = ''" \
    -c "ALTER SYSTEM SET unix_socket_directories = '$PDB_PG_DIR'" \
    -c "ALTER SYSTEM SET port = $PDB_PG_PORT" -c "ALTER SYSTEM SET fsync = off" || exit 1
pg_stop() { pg_as "$PDB_PG_DIR" "$PDB_PG_BIN/pg_ctl" -D "$PDB_PG_DIR/data" -m fast -w stop >/dev/null; }
pg_start() {
    pg_as "$PDB_PG_DIR" "$PDB_PG_BIN/pg_ctl" -D "$PDB_PG_DIR/data" -l "$PDB_PG_DIR/server.log" \
        -w -t 60 start >/dev/null
}
pg_stop && pg_start || { fail "restarting the cluster: $(tail -3 "$PDB_PG_DIR/server.log")"; exit 1; }
check "max_connections" "$(pg_psql postgres -c 'SHOW max_connections')" 11
# connections: the parceldb connections open now.
connections() {
    pg_psql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'parceldb'"
}

# --- The store: 07894 (Phu Tho, 40 parcels) and 08707 (Vinh Phuc) ------------

DB=$(pg_new_db replicas) || exit 1
"$PARCELDB" init --db "$DB" >/dev/null || { fail "parceldb init"; exit 1; }
base_vinhphuc
grid_csv vp.csv 30 08707 3
to_gpkg vp.csv vp.gpkg 5897
base_phutho
grid_csv pt.csv 40 07894 12
to_gpkg pt.csv pt.gpkg 9208
"$PARCELDB" import --quiet --db "$DB" pt.gpkg vp.gpkg >import.log 2>&1 ||
    { fail "parceldb import: $(cat import.log)"; exit 1; }
parcel_center 9208 1
LOOKUP="/parcels/at?lon=$PLON&lat=$PLAT"
TILE=$(tile_path "$PLON" "$PLAT" 17)
parcel_center 9208 3
LOOKUP3="/parcels/at?lon=$PLON&lat=$PLAT"
# Vinh Phuc's commune: no lookup asks for it before the database stops.
base_vinhphuc
parcel_center 5897 2
LOOKUP_UNLOADED="/parcels/at?lon=$PLON&lat=$PLAT"
contains "the point of the commune not loaded is in one of its parcels" \
    "$("$PARCELDB" lookup --db "$DB" --lon "$PLON" --lat "$PLAT")" '"commune":"08707"'
base_phutho

# --- Three replicas, two threads each: 3 connections each ---------------------

THREADS=2
as_root=()
[ "$(id -u)" -eq 0 ] && as_root=(--allow-root)
# replica I: starts replica I (1-4); sets PORTS[I] and PIDS[I]; its log is
# replica-I.log. Non-zero when it did not start.
declare -a PORTS PIDS
replica() {
    local i=$1
    rm -f "port-$i"
    "$PARCELDB" serve --db "$DB" --listen 127.0.0.1:0 --port-file "$WORK/port-$i" \
        --threads "$THREADS" --cache-mb 16 "${as_root[@]}" >"replica-$i.out" 2>"replica-$i.log" &
    PIDS[$i]=$!
    SERVER_PIDS+=("${PIDS[$i]}")
    for _ in $(seq 1 300); do
        [ -s "port-$i" ] && break
        kill -0 "${PIDS[$i]}" 2>/dev/null || break
        sleep 0.1
    done
    [ -s "port-$i" ] || return 1
    PORTS[$i]=$(cat "port-$i")
}
for i in 1 2 3; do
    replica "$i" || { fail "replica $i did not start: $(tail -3 "replica-$i.log")"; exit 1; }
done
check "connections of three replicas: 3 x (threads + 1)" "$(connections)" $((3 * (THREADS + 1)))

# A fourth would need 3 more: 2 are left (11 - 9). It stops at start, in
# one line, and holds nothing afterwards.
if replica 4; then
    fail "a fourth replica started past max_connections"
else
    wait "${PIDS[4]}"
    rc=$?
    check "the fourth replica's exit status" "$rc" 1
    check "the fourth replica says it in one line" "$(wc -l <replica-4.log)" 1
    contains "the fourth replica's line" "$(cat replica-4.log)" \
        'cannot open store connection 3 of 3 .*(too many clients|connection slots)'
fi
check "connections after the fourth is gone" "$(connections)" $((3 * (THREADS + 1)))

# get_from PORT PATH: STATUS and BODY of one request (10 s at most).
get_from() {
    STATUS=$(curl -s --max-time 10 -o "$WORK/body" -w '%{http_code}' "http://127.0.0.1:$1$2")
    BODY=$(tr -d '\000' <"$WORK/body" 2>/dev/null) # a PNG's NULs dropped
}
# landuse_at PORT PATH: the land use the lookup answers, or the status.
landuse_at() {
    get_from "$1" "$2"
    if [ "$STATUS" = 200 ]; then
        sed -n 's/.*"landuse":"\([A-Z+]*\)".*/\1/p' <<<"$BODY" | head -1
    else
        echo "HTTP $STATUS"
    fi
}
for i in 1 2 3; do
    check "replica $i: lookup before the re-import" "$(landuse_at "${PORTS[$i]}" "$LOOKUP")" ONT
    get_from "${PORTS[$i]}" "$TILE"
    check "replica $i: the tile before" "$STATUS" 200
    cp body "tile-$i-before.png"
done

# reimport CSV USES...: imports 07894 again with these land uses, then
# waits until every replica (asked directly) answers the first one at
# parcel 1 and a tile that differs from the one before; prints the
# milliseconds from the import's exit to the last replica's answer.
reimport() {
    local csv=$1 want=$2 t0 i done_all
    shift
    base_phutho
    grid_csv "$csv" 41 07894 12 "$@"
    to_gpkg "$csv" "${csv%.csv}.gpkg" 9208
    "$PARCELDB" import --quiet --db "$DB" "${csv%.csv}.gpkg" >import.log 2>&1 ||
        { fail "the re-import ($csv): $(cat import.log)"; return 1; }
    t0=$(date +%s%N)
    for _ in $(seq 1 300); do
        done_all=1
        for i in "${LIVE[@]}"; do
            [ "$(landuse_at "${PORTS[$i]}" "$LOOKUP")" = "$want" ] || { done_all=0; break; }
            get_from "${PORTS[$i]}" "$TILE"
            { [ "$STATUS" = 200 ] && ! cmp -s body "tile-$i-before.png"; } || { done_all=0; break; }
        done
        [ "$done_all" = 1 ] && break
        sleep 0.05
    done
    echo "from the import's exit to every replica serving it: $((($(date +%s%N) - t0) / 1000000)) ms"
    for i in "${LIVE[@]}"; do
        check "replica $i: the lookup after the re-import ($csv)" "$(landuse_at "${PORTS[$i]}" "$LOOKUP")" "$want"
        get_from "${PORTS[$i]}" "$TILE"
        check "replica $i: the tile after the re-import ($csv)" "$STATUS" 200
        if cmp -s body "tile-$i-before.png"; then
            fail "replica $i: the tile did not change with the re-import ($csv)"
        else
            ok "replica $i: a new tile ($csv)"
        fi
        cp body "tile-$i-before.png"
    done
}

# --- (a) A re-import seen by every replica -----------------------------------

LIVE=(1 2 3)
reimport pt2.csv ODT LUA

# --- nginx in front of the three ----------------------------------------------

{
    nginx_conf_head
    cat <<EOF
    access_log off;
    upstream parceldb {
        server 127.0.0.1:${PORTS[1]};
        server 127.0.0.1:${PORTS[2]};
        server 127.0.0.1:${PORTS[3]};
        keepalive 16;
    }
    server {
        listen 127.0.0.1:NGINX_PORT;
        location / {
            proxy_pass http://parceldb;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 3;
            proxy_connect_timeout 2s;
            proxy_read_timeout 20s;
        }
    }
}
EOF
} >nginx.conf.in
nginx_start nginx.conf.in /health || exit 1
get_from "$NPORT" /health
check "/health through nginx" "$STATUS" 200

# --- (b) One replica killed under load: no request fails ----------------------

for _ in $(seq 1 10); do
    printf 'url = "http://127.0.0.1:%s%s"\noutput = "/dev/null"\n' "$NPORT" "$TILE" "$NPORT" "$LOOKUP" \
        "$NPORT" "$LOOKUP3"
done >load.cfg
: >load.txt
rm -f stop
(
    for _ in $(seq 1 400); do
        [ -e stop ] && break
        curl -s --no-progress-meter -Z --parallel-max 10 --max-time 30 -w '%{http_code}\n' \
            --config load.cfg 2>/dev/null
    done
) >load.txt &
LOAD_PID=$!
for _ in $(seq 1 100); do [ "$(wc -l <load.txt)" -ge 150 ] && break; sleep 0.05; done
kill -KILL "${PIDS[3]}"
wait "${PIDS[3]}" 2>/dev/null
BEFORE_KILL=$(wc -l <load.txt)
for _ in $(seq 1 200); do [ "$(wc -l <load.txt)" -ge $((BEFORE_KILL + 300)) ] && break; sleep 0.05; done
touch stop
wait "$LOAD_PID"
TOTAL=$(wc -l <load.txt)
FAILED=$(grep -cv '^200$' load.txt)
echo "load through nginx: $TOTAL requests, $BEFORE_KILL before the kill"
[ "$TOTAL" -gt $((BEFORE_KILL + 100)) ] && ok "requests after the kill" ||
    fail "too few requests after the kill: $TOTAL in all, $BEFORE_KILL before"
check "requests that failed with one replica killed" "$FAILED" 0
LIVE=(1 2)

# --- (c) PostgreSQL stopped and started again ----------------------------------

# wait_health PORT STATUS: asks /health until it answers STATUS (5 s at
# most); leaves STATUS and BODY of the last answer.
wait_health() {
    for _ in $(seq 1 50); do
        get_from "$1" /health
        [ "$STATUS" = "$2" ] && return 0
        sleep 0.1
    done
}
# Each worker of each replica answers the lookup (a handle loads the
# commune at its first lookup): the body each gives before the stop.
for i in "${LIVE[@]}"; do
    for _ in $(seq 1 $((4 * THREADS))); do get_from "${PORTS[$i]}" "$LOOKUP"; done
    check "replica $i: the lookup before the stop" "$STATUS" 200
    cp "$WORK/body" "lookup-$i-before.json"
done
pg_stop || fail "stopping PostgreSQL"
for i in "${LIVE[@]}"; do
    # A replica learns it at its next call to the database.
    wait_health "${PORTS[$i]}" 503
    check "replica $i: /health with the database stopped" "$STATUS" 503
    contains "replica $i: /health says unreachable" "$BODY" \
        '"database":"unreachable","error":"[^"]+","since":"[0-9]{4}-[0-9]{2}-[0-9]{2}T'
    # The tile it served last is in its memory cache: still answered.
    get_from "${PORTS[$i]}" "$TILE"
    check "replica $i: a cached tile with the database stopped" "$STATUS" 200
    cmp -s body "tile-$i-before.png" && ok "replica $i: the same tile as before" ||
        fail "replica $i: another tile with the database stopped"
    # A lookup in a commune loaded before: from memory, the same answer,
    # whichever worker takes it.
    for k in $(seq 1 $((4 * THREADS))); do
        get_from "${PORTS[$i]}" "$LOOKUP"
        check "replica $i: lookup $k of a loaded commune with the database stopped" "$STATUS" 200
        cmp -s "$WORK/body" "lookup-$i-before.json" &&
            ok "replica $i: lookup $k gives the same body as before the stop" ||
            fail "replica $i: lookup $k: another body with the database stopped: $BODY"
    done
    # A commune never loaded needs the database: a 503 with a JSON error.
    get_from "${PORTS[$i]}" "$LOOKUP_UNLOADED"
    check "replica $i: a lookup in a commune not loaded with the database stopped" "$STATUS" 503
    contains "replica $i: its JSON error" "$BODY" '^\{"error":"[^"]+'
done
# nginx retried the other replica, then answers the last 503 or, having
# marked them all failed, a 502 of its own.
for _ in $(seq 1 50); do
    get_from "$NPORT" /health
    [ "$STATUS" != 200 ] && break
    sleep 0.1
done
contains "/health through nginx with the database stopped" "$STATUS" '^50[23]$'
pg_start || { fail "starting PostgreSQL again: $(tail -3 "$PDB_PG_DIR/server.log")"; exit 1; }
for i in "${LIVE[@]}"; do
    wait_health "${PORTS[$i]}" 200
    check "replica $i: /health once the database is back" "$STATUS" 200
    contains "replica $i: the database is ok" "$BODY" '"database":"ok"'
    kill -0 "${PIDS[$i]}" 2>/dev/null && ok "replica $i: the same process" ||
        fail "replica $i exited"
done
reimport pt3.csv CLN LUA
# Workers reconnect at their next call: never more than before.
[ "$(connections)" -le $((2 * (THREADS + 1))) ] && ok "connections of the two replicas: at most 2 x (threads + 1)" ||
    fail "the two replicas hold $(connections) connections (more than 2 x (threads + 1))"

finish
