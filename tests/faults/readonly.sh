#!/usr/bin/env bash
# The store made read-only under a running server: the file and its
# directory lose their write bits (chmod a-w) and, because these tests run
# as root and root ignores modes, a read-only bind mount is stacked on the
# store's directory (in the test's private mount namespace; the server's
# open files stay on the mount below, as they would when an operator
# remounts a disk read-only under a running process, new opens see the
# read-only one). The server keeps answering reads, also after SIGHUP
# reopens every connection on the read-only store, and after a restart on
# it; an import fails with a clear error and changes nothing; `info`,
# `lookup` and `backup` (elsewhere) still work. Made writable again, an
# import completes and the server picks it up.
source "$(dirname "$0")/lib.sh"

make_fault_store || exit 1
mkdir st
cp "$DB" st/parcels.sqlite
DB=$WORK/st/parcels.sqlite
start_server --cache "$WORK/cache" || exit 1
server_answers "writable"
V0=$(version)

chmod a-w "$DB" st
if [ "$(id -u)" -eq 0 ]; then
    if try_mount --bind "$WORK/st" "$WORK/st" && mount -o remount,bind,ro "$WORK/st" 2>/dev/null
    then
        ok "a read-only bind mount over the store's directory"
    else
        echo "SKIP: no-mount-namespace: root ignores chmod, and a read-only bind mount needs a private mount namespace"
        stop_server
        exit 77
    fi
fi
touch st/probe 2>/dev/null && fail "the store's directory is still writable"

server_answers "read-only"
get "/tiles/15/$(awk -v lon="$LON" -v lat="$LAT" 'BEGIN { n = 2 ^ 15; pi = atan2(0, -1); r = lat * pi / 180
    printf "%d/%d", int((lon + 180) / 360 * n), int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n) }').png"
check "read-only: a tile" "$STATUS" 200

"$PARCELDB" import --db "$DB" --quiet --force pt.gpkg >import.out 2>import.err
RC=$?
exit_is_refusal "read-only: the import" "$RC"
contains "read-only: the import says why" "$(head -1 import.err)" '^parceldb: .*read-?only'
check "read-only: integrity" "$(integrity)" ok
check "read-only: the store is as before" "$(state)" "$BEFORE"
check "read-only: the data version is as before" "$(version)" "$V0"

"$PARCELDB" info --db "$DB" >info.out 2>info.err
check "read-only: parceldb info" "$?/$(grep -c '70 current' info.out)" "0/1"
"$PARCELDB" lookup --db "$DB" --lon "$LON" --lat "$LAT" >lookup.out 2>lookup.err
check "read-only: parceldb lookup" "$?" 0
contains "read-only: lookup finds parcel 1" "$(cat lookup.out)" '"parcel":"1"'
"$PARCELDB" backup --quiet --db "$DB" -o "$WORK/ro-backup.sqlite" 2>backup.err
check "read-only: a backup elsewhere" "$?/$(state "$WORK/ro-backup.sqlite")" "0/$BEFORE"

# SIGHUP: every worker reopens its connection, now on the read-only store.
kill -HUP "$SERVER_PID"
wait_for_log 'reloaded' || fail "no reload logged after SIGHUP"
sleep 1
server_answers "read-only, after SIGHUP"
# A restart on the read-only store (its -wal and -shm left by the last run).
stop_server
start_server --cache "$WORK/cache" || exit 1
server_answers "read-only, restarted"
stop_server

# Writable again: an import completes and a running server picks it up.
if [ "${#FAULT_MOUNTS[@]}" -gt 0 ]; then
    umount "$WORK/st" || fail "cannot undo the read-only mount"
fi
chmod u+w "$DB" st
start_server --cache "$WORK/cache" || exit 1
base_phutho
grid_csv pt2.csv 45 07894 12 ODT
to_gpkg pt2.csv pt2.gpkg 9208
"$PARCELDB" import --db "$DB" --quiet pt2.gpkg >import.out 2>import.err
check "writable again: the import" "$?" 0
check "writable again: integrity" "$(integrity)" ok
check "writable again: the import is in" "$(state)" "75/115"
V1=$(version)
ok=
for _ in $(seq 1 100); do
    get /health
    grep -q "\"data_version\":$V1[,}]" <<<"$BODY" && ok=1 && break
    sleep 0.1
done
check "writable again: the server serves the new data version" "${ok:-no}" 1
get /parcels/07894/12/45
check "writable again: the new parcel 45 is found" "$STATUS" 200
stop_server
no_sanitizer_report "read-only" ./*.err "$WORK/server.log"
finish
