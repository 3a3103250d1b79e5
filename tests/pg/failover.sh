#!/usr/bin/env bash
# Failover (issue 17, "the replica reconnects without a restart, also
# after a standby is promoted"): a primary of this test's own, a hot
# standby of it made by scripts/pg-replica.sh, and one `parceldb serve`
# given both in one libpq multi-host location
#   host=PRIMARY_DIR,STANDBY_DIR port=P1,P2 ... target_session_attrs=any
# which connects to the first host that answers. Then the usual failover:
#   - the primary dies (pg_ctl -m immediate): the replica, not restarted,
#     reconnects to the next host, the standby, and answers from it while
#     it is still in recovery (its first lookup and /health already: a
#     connection found closed is made again before the first statement);
#     a cached tile is served; an importer whose location asks for
#     target_session_attrs=read-write finds no server to write to and
#     fails in one line;
#   - the standby is promoted (pg_ctl promote): the replica keeps its
#     connections to it; a lookup and a tile of a commune it had not
#     loaded are answered; an import through the same multi-host location
#     (read-write: now the promoted standby) reaches the replica: its data
#     version moves, the lookup answers the new parcels;
#   - the replica's connections to the promoted server LISTEN again: they
#     were refused LISTEN while it was a standby, and notifications only
#     reach sessions that listen. No view shows another session's LISTEN,
#     so the database logs its statements (log_statement = all, set on
#     the database, which replication copies) and the server log of the
#     standby is read per backend: its LISTENs minus the ones refused
#     during recovery.
source "$(dirname "$0")/../server/lib.sh"
source "$PDB_SOURCE_DIR/tests/lib/pg.sh"

pg_own_cluster
PRIMARY_DIR=$PDB_PG_DIR PRIMARY_PORT=$PDB_PG_PORT

# The store on the primary (make_store: 07894, 40 parcels, and 08707, 30),
# every statement of its sessions logged (for the LISTEN checks).
PDB_TEST_STORE=pg
make_store || exit 1
DBNAME=$(pg_db_name "$DB")
pg_psql postgres -c "ALTER DATABASE $DBNAME SET log_statement = 'all'" ||
    { fail "setting log_statement"; exit 1; }

# The standby, made as an operator would (scripts/pg-replica.sh).
pg_standby_start || { fail "the standby"; exit 1; }
SB=$PG_SB_DIR SBPORT=$PG_SB_PORT SBLOG=$PG_SB_LOG
SBLOC="host=$SB port=$SBPORT dbname=$DBNAME user=postgres"
sb_psql() { psql -X -q -At "$SBLOC" "$@"; }
check "the standby is in recovery" "$(sb_psql -c 'SELECT pg_is_in_recovery()')" t
pg_standby_replayed "$DBNAME" || fail "the standby did not replay the import"

# The two locations of docs/scale-out.md ("Failover"): both servers, in
# order; a reader takes any that answers, an importer only one that
# accepts writes.
HOSTS="host=$PRIMARY_DIR,$SB port=$PRIMARY_PORT,$SBPORT dbname=$DBNAME user=postgres"
READER="$HOSTS target_session_attrs=any"
WRITER="$HOSTS target_session_attrs=read-write"

# listens PID LOG: how many LISTENs backend PID ran that were not refused
# (log_statement = all logs each one; a refused one logs its error too).
listens() {
    local tried refused
    tried=$(grep -c "\[$1\] LOG:  statement: LISTEN parceldb" "$2")
    refused=$(grep -c "\[$1\] ERROR:  cannot execute LISTEN during recovery" "$2")
    echo $((tried - refused))
}
# listening PSQL_FUNCTION LOG: "N of M": of the replica's M connections
# to the server PSQL_FUNCTION reaches, whose log is LOG, N LISTEN.
listening() {
    local pids pid n=0
    pids=$(replica_pids "$1")
    for pid in $pids; do
        [ "$(listens "$pid" "$2")" -gt 0 ] && n=$((n + 1))
    done
    echo "$n of $(wc -w <<<"$pids")"
}
# replica_pids PSQL_FUNCTION: the replica's backends on that server.
replica_pids() {
    "$1" -c "SELECT pid FROM pg_stat_activity WHERE datname = '$DBNAME' AND application_name = 'parceldb' ORDER BY pid"
}
# health_ok: asks /health until it answers 200 with "database":"ok"
# (10 s at most); 0 when it did.
health_ok() {
    for _ in $(seq 1 100); do
        get /health
        [ "$STATUS" = 200 ] && grep -q '"database":"ok"' <<<"$BODY" && return 0
        sleep 0.1
    done
    return 1
}
# answered PATH: asks PATH until it answers 200 (10 s at most); every
# other answer on the way must be a 503 with Retry-After and a JSON error
# (a worker's connection found lost: the next request reconnects).
answered() {
    for _ in $(seq 1 50); do
        get "$1"
        [ "$STATUS" = 200 ] && return 0
        if [ "$STATUS" != 503 ] || [ "$(header Retry-After)" != 1 ] || ! grep -q '^{"error":' <<<"$BODY"; then
            fail "$1: $STATUS (Retry-After '$(header Retry-After)'): $BODY"
            return 1
        fi
        sleep 0.2
    done
    return 1
}
data_version() { sed -n 's/.*"data_version":\([0-9]*\).*/\1/p' <<<"$BODY"; }

DB=$READER
start_server --threads 2 || exit 1
store_tiles 17
base_phutho
parcel_center 9208 1
LOOKUP_A="/parcels/at?lon=$PLON&lat=$PLAT"
base_vinhphuc
parcel_center 5897 1
LOOKUP_B="/parcels/at?lon=$PLON&lat=$PLAT"

get /health
check "/health with both servers up" "$STATUS" 200
contains "its database is ok" "$BODY" '"database":"ok"'
get "$LOOKUP_A"
check "a lookup in 07894" "$STATUS" 200
contains "the lookup finds parcel 1 of 07894" "$BODY" '"commune":"07894".*"parcel":"1"|"parcel":"1".*"commune":"07894"'
get "$TILE_A"
check "a tile of 07894" "$STATUS" 200
check "it is a PNG" "$(header Content-Type)" image/png

# The replica reads the primary, the first host, and listens there.
pg_psql_db() { pg_psql "$DBNAME" "$@"; }
check "the replica's connections to the primary (2 threads + 1) that LISTEN" \
    "$(listening pg_psql_db "$PRIMARY_DIR/server.log")" "3 of 3"

# --- The primary dies -----------------------------------------------------------
# Not an assertion: the replica's last read of the data version is made
# older than its 1 s poll, so that the next read goes to the server and
# must itself find the connection the primary closed.
sleep 1.1
pg_as "$PRIMARY_DIR" "$PDB_PG_BIN/pg_ctl" -D "$PRIMARY_DIR/data" -m immediate -w stop >/dev/null ||
    fail "stopping the primary"
# The replica, not restarted, moves to the next host at once: the
# standby, still in recovery, which serves reads. The first request is a
# lookup, so that whichever worker takes it meets a connection the
# primary closed: its snapshot finds it closed and reconnects first
# (pg_lookup.c), and the lookup is answered, not a 503.
get "$LOOKUP_A"
check "the first lookup after the primary died" "$STATUS" 200
contains "it finds parcel 1 of 07894 (on the standby)" "$BODY" '"commune":"07894".*"parcel":"1"|"parcel":"1".*"commune":"07894"'
# Its data version is read through a connection found closed, which is
# reconnected first.
get /health
check "the first /health after the primary died" "$STATUS" 200
contains "its database is ok (the standby)" "$BODY" '"database":"ok"'
get "$TILE_A"
check "a cached tile while the primary is down" "$STATUS" 200
answered "$LOOKUP_A" && ok "a lookup before the promotion" ||
    fail "a lookup before the promotion: $STATUS $BODY"
get /health
V0=$(data_version)
pre=$(replica_pids sb_psql)
[ -n "$pre" ] && ok "the replica reconnected to the standby ($(wc -w <<<"$pre") connections)" ||
    fail "no connection of the replica on the standby"
refused=0
for pid in $pre; do
    grep -q "\[$pid\] ERROR:  cannot execute LISTEN during recovery" "$SBLOG" && refused=$((refused + 1))
done
[ "$refused" -gt 0 ] && ok "the standby refused their LISTEN ($refused)" ||
    fail "no LISTEN refused by the standby: the check below would prove nothing"

# An importer that needs a primary finds none: one line, non-zero, and
# nothing written.
base_phutho
grid_csv pt2.csv 41 07894 12 ODT LUA
to_gpkg pt2.csv pt2.gpkg 9208
"$PARCELDB" import --quiet --db "$WRITER" pt2.gpkg >import.out 2>import.err
rc=$?
[ "$rc" -ne 0 ] && ok "an import before the promotion fails (exit $rc)" ||
    fail "an import with no primary succeeded"
check "its error is one line" "$(wc -l <import.err)" 1
contains "it says why for each host (the standby: read-only)" "$(cat import.err)" \
    'PGSQL\.'"$PRIMARY_PORT"'" failed: .*; .*PGSQL\.'"$SBPORT"'" failed: session is read-only$'

# --- The standby is promoted ------------------------------------------------------
pg_as / "$PDB_PG_BIN/pg_ctl" -D "$SB" -w -t 60 promote >/dev/null || fail "pg_ctl promote"
check "the standby is a primary now" "$(sb_psql -c 'SELECT pg_is_in_recovery()')" f
health_ok && ok "/health is ok after the promotion" || fail "/health after the promotion: $STATUS $BODY"
check "the data version is the one before" "$(data_version)" "$V0"
# 08707: no lookup or tile of it was asked before.
answered "$LOOKUP_B" && ok "a lookup in 08707, not loaded before" ||
    fail "a lookup in 08707: $STATUS $BODY"
contains "it finds parcel 1 of 08707" "$BODY" '"commune":"08707"'
answered "$TILE_B" && ok "a tile of 08707, not rendered before" ||
    fail "a tile of 08707: $STATUS $BODY"
check "it is a PNG" "$(header Content-Type)" image/png

# An import through the multi-host location: read-write finds the
# promoted standby.
"$PARCELDB" import --quiet --db "$WRITER" pt2.gpkg >import.out 2>import.err ||
    fail "the import through the promoted standby: $(cat import.err)"
V2=
for _ in $(seq 1 100); do
    get /health
    V2=$(data_version)
    [ "${V2:-0}" -gt "$V0" ] && break
    sleep 0.1
done
[ "${V2:-0}" -gt "$V0" ] && ok "the replica follows the import ($V0 -> $V2)" ||
    fail "the replica's data version stayed ${V2:-none} (was $V0)"
# A worker whose connection was made to the standby before the promotion
# does not LISTEN yet: it reads the version at most every
# PDB_PG_DV_POLL_MS (1 s), and the worker that answers the lookup may not
# be the one /health asked, so the answer comes within the poll.
for _ in $(seq 1 30); do
    answered "$LOOKUP_A" || fail "the lookup after the import: $STATUS $BODY"
    grep -q '"landuse":"ODT"' <<<"$BODY" && break
    sleep 0.1
done
contains "the lookup answers the import within the poll" "$BODY" '"landuse":"ODT"'
get /parcels/07894/12/41
check "parcel 41, new in the import" "$STATUS" 200

# Every connection of the replica on the promoted server listens (10 s at
# most, asking the replica meanwhile: a worker's connection checks its
# state when it next reads the data version).
for _ in $(seq 1 50); do
    got=$(listening sb_psql "$SBLOG")
    [ "${got#* of }" -gt 0 ] && [ "${got% of *}" = "${got#* of }" ] && break
    get /health
    get "$LOOKUP_B"
    sleep 0.2
done
[ "${got#* of }" -gt 0 ] || fail "no connection of the replica on the promoted server"
check "the replica's connections to the promoted server that LISTEN" "$got" \
    "${got#* of } of ${got#* of }"

stop_server
finish
