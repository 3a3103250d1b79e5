# lib.sh: what the fault-injection tests share. Sourced, not run.
#
# Built on tests/server/lib.sh (the work directory, ok/fail/check, the
# fixtures made with cs2cs and ogr2ogr, start_server/stop_server/get): a
# fault test needs a store, a running server and a way to look at both
# after the fault. What is added here is what every fault test checks
# afterwards: the store's integrity, its counts, and that the server still
# answers /health and a lookup.
#
# Faults that need a filesystem of their own (a full one, a read-only one)
# mount it in a private mount namespace: the script re-runs itself under
# `unshare -m` when it may, so that its mounts are invisible outside and
# vanish with it. Where that is not permitted (a container without
# CAP_SYS_ADMIN), PDB_FAULTS_NS stays empty and those tests fall back to
# injected failures (failwrite.so) or say what they could not do.
if [ -z "${PDB_FAULTS_NS:-}" ]; then
    if unshare -m --propagation private true 2>/dev/null; then
        PDB_FAULTS_NS=1 exec unshare -m --propagation private bash "$0" "$@"
    fi
    PDB_FAULTS_NS=
fi
source "$(dirname "${BASH_SOURCE[0]}")/../server/lib.sh"

# try_mount ARGS... DIR: mount, only inside the private namespace; the
# mount is undone when the test ends.
FAULT_MOUNTS=()
try_mount() {
    [ -n "$PDB_FAULTS_NS" ] || return 1
    mount "$@" 2>/dev/null || return 1
    FAULT_MOUNTS+=("${!#}")
}

# Background jobs a test starts (load loops, importers) are stopped at the
# end too; then the server library's cleanup removes the work directory.
FAULT_PIDS=()
fault_cleanup() {
    local p i
    for p in "${FAULT_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    kill_servers # before the mounts they may use go
    for ((i = ${#FAULT_MOUNTS[@]} - 1; i >= 0; i--)); do
        umount -l "${FAULT_MOUNTS[$i]}" 2>/dev/null
    done
    cleanup
}
trap fault_cleanup EXIT

# sql SQL: runs SQL on $DB (or on the store in SQL_DB when set).
sql() {
    store_sql "${SQL_DB:-$DB}" "$1"
}

# state [FILE]: "current/all" parcels of a store (all = history included).
# An import of a commune is all or nothing: the state is the one before
# it or the one after it, never one in between.
state() {
    SQL_DB=${1:-$DB} sql "SELECT (SELECT count(*) FROM parcels WHERE valid_to IS NULL) || '/' ||
        (SELECT count(*) FROM parcels)" 2>&1
}

# version [FILE]: the store's data version.
version() {
    SQL_DB=${1:-$DB} sql "SELECT value FROM meta WHERE key = 'data_version'" 2>&1
}

# integrity [STORE]: "ok" when the store is sound: PRAGMA integrity_check
# of a file; in PostgreSQL (whose own pages are not ours to check), what
# a half-written import would break: each commune's row counts exactly its
# current parcels, each current parcel's commune has a row, and no
# current parcel's geometry is invalid.
integrity() {
    if [ "$PDB_TEST_STORE" = pg ]; then
        SQL_DB=${1:-$DB} sql "SELECT CASE WHEN bad = 0 THEN 'ok' ELSE bad || ' inconsistencies' END FROM (
            SELECT (SELECT count(*) FROM communes c WHERE c.parcels <> (SELECT count(*) FROM parcels p
                        WHERE p.commune = c.code AND p.valid_to IS NULL))
                 + (SELECT count(*) FROM parcels p WHERE p.valid_to IS NULL AND NOT EXISTS
                        (SELECT 1 FROM communes c WHERE c.code = p.commune))
                 + (SELECT count(*) FROM parcels WHERE valid_to IS NULL AND NOT ST_IsValid(geom)) AS bad) t" 2>&1 | head -5
    else
        SQL_DB=${1:-$DB} sql "PRAGMA integrity_check" 2>&1 | head -5
    fi
}

# big_gpkg FILE N: a GeoPackage of N parcels of commune 07894 (Phu Tho,
# EPSG:9208, from Viet Tri), large enough that its import takes a while.
big_gpkg() {
    base_phutho
    grid_csv "$WORK/big.csv" "$2" 07894 12 ODT LUA CLN
    to_gpkg "$WORK/big.csv" "$1" 9208
}

# make_fault_store: make_store (07894 with 40 parcels, 08707 with 30), and
# sets BEFORE to its state and LON LAT to a point of parcel 1 of 07894.
make_fault_store() {
    make_store || return 1
    BEFORE=$(state)
    base_phutho
    parcel_center 9208 1
    LON=$PLON LAT=$PLAT
}

# server_answers WHAT: /health is 200 and a lookup at LON LAT finds parcel
# 1 of 07894.
server_answers() {
    get /health
    check "$1: /health" "$STATUS" 200
    get "/parcels/at?lon=$LON&lat=$LAT"
    check "$1: lookup status" "$STATUS" 200
    contains "$1: lookup finds parcel 1 of 07894" "$BODY" '"commune":"07894".*"parcel":"1"'
}

# wait_for_log PATTERN [SECONDS]: waits until the server log matches.
wait_for_log() {
    local i
    for i in $(seq 1 $((${2:-20} * 10))); do
        grep -Eq -- "$1" "$WORK/server.log" && return 0
        sleep 0.1
    done
    return 1
}

# no_sanitizer_report WHAT FILE...: no ASan/UBSan/LSan report in the files.
no_sanitizer_report() {
    local what=$1
    shift
    lacks "$what: no sanitizer report" "$(cat "$@" 2>/dev/null)" \
        'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:'
}

# exit_is_refusal WHAT RC: the exit status is a failure (1 or 2), not a
# signal (128+N) or a sanitizer's abort.
exit_is_refusal() {
    if [ "$2" -eq 1 ] || [ "$2" -eq 2 ]; then ok "$1: exit status $2"; else
        fail "$1: exit status $2 (want 1 or 2: a refusal, not a crash)"; fi
}

# one_line WHAT FILE: FILE holds exactly one line.
one_line() {
    local n
    n=$(wc -l <"$2")
    if [ "$n" -eq 1 ]; then ok "$1: one line ($(head -c 200 "$2"))"; else
        fail "$1: $n lines: $(head -c 400 "$2")"; fi
}
