#!/usr/bin/env bash
# The store file replaced under a server that runs unprivileged (--user
# nobody) in a directory it cannot write: the server cannot remove the old
# file's -wal beside the name, and must not open the new file through it
# (it would read the old file's pages as the new one's). It keeps serving
# the old file, without an error answer, says once that it needs a
# restart, keeps the old file on SIGHUP too; after the restart (with the
# stale -wal removed by the operator, as root) it serves the new file,
# whose integrity is intact. Skips (77) when not root.
source "$(dirname "$0")/lib.sh"

needs_root_and_nobody
FAULT_PIDS=()
make_fault_store || exit 1
public_store || exit 1

# start_nobody: the server as nobody.
start_nobody() { start_as --user nobody --cache-mb 16; }
start_nobody || exit 1
# An import as root while it runs: the -wal beside the name holds frames.
base_phutho
grid_csv pt1.csv 40 07894 12 LUA
to_gpkg pt1.csv pt1.gpkg 9208
"$PARCELDB" import --db "$DB" --quiet pt1.gpkg >import.out 2>&1 || fail "import: $(cat import.out)"
server_answers "as nobody"
get /parcels/08707/3/1
check "the old store: 08707 is there" "$STATUS" 200

# The new version, 07894 only with 55 parcels, moved over the live store.
"$PARCELDB" init --db "$WORK/new.sqlite" >/dev/null
grid_csv pt2.csv 55 07894 12 BHK
to_gpkg pt2.csv pt2.gpkg 9208
"$PARCELDB" import --db "$WORK/new.sqlite" --quiet pt2.gpkg >import.out 2>&1 ||
    fail "import: $(cat import.out)"
NEW_STATE=$(state "$WORK/new.sqlite")
cp "$WORK/new.sqlite" "$PUB/store/new.sqlite"
chmod 0644 "$PUB/store/new.sqlite"
mv -f "$PUB/store/new.sqlite" "$DB"
wait_for_log 'cannot be removed' 10 || fail "no warning that the old WAL stays"
contains "the warning says to restart" "$(cat "$WORK/server.log")" \
    'still serving the old file; restart the server'
sleep 2
check "warned once" "$(grep -c 'cannot be removed' "$WORK/server.log")" 1
get /parcels/08707/3/1
check "still the old file: 08707 is there" "$STATUS" 200
server_answers "still the old file"
kill -HUP "$SERVER_PID"
wait_for_log 'stores kept' 10 || fail "SIGHUP did not keep the old file's connections"
get /parcels/08707/3/1
check "after SIGHUP: still the old file" "$STATUS" 200
get /parcels/07894/12/55
check "after SIGHUP: not the new file through the old WAL" "$STATUS" 404
lacks "no damaged store reported" "$(cat "$WORK/server.log")" 'malformed|damaged|corrupt'
stop_server

# The restart, as the warning says: the operator removes the stale files.
rm -f "$DB-wal" "$DB-shm"
check "the new file is intact" "$(integrity)" ok
check "the new file's parcels" "$(state)" "$NEW_STATE"
start_nobody || exit 1
get /parcels/07894/12/55
check "restarted: the new file is served" "$STATUS" 200
get /parcels/08707/3/1
check "restarted: 08707 is gone" "$STATUS" 404
stop_server
no_sanitizer_report "replace as nobody" "$WORK/server.log"
finish
