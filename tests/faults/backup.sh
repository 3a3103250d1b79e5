#!/usr/bin/env bash
# `parceldb backup` while the server answers under load and an import of a
# large commune writes: every copy passes integrity_check, opens with
# `parceldb info`, and holds either the state before the import or the
# state after it, never one in between. A restore (the copy put back with
# the server stopped) serves the copy's data. Bad destinations are clear
# one-line errors: a missing store, an unwritable directory, an existing
# file, the store itself.
source "$(dirname "$0")/lib.sh"

make_fault_store || exit 1
BIG=${PDB_FAULTS_BIG:-30000}
big_gpkg big.gpkg "$BIG"
# 07894 re-imported with BIG parcels: the 40 old ones become history.
AFTER="$((BIG + 30))/$((BIG + 70))"
start_server --cache-mb 16 || exit 1

# Load while everything runs: health, lookups and a tile, until told to stop.
for _ in $(seq 1 10); do
    printf 'url = "%s/health"\noutput = "/dev/null"\n' "$BASE"
    printf 'url = "%s/parcels/at?lon=%s&lat=%s"\noutput = "/dev/null"\n' "$BASE" "$LON" "$LAT"
    printf 'url = "%s/tiles/15/%s.png"\noutput = "/dev/null"\n' "$BASE" \
        "$(awk -v lon="$LON" -v lat="$LAT" 'BEGIN { n = 2 ^ 15; pi = atan2(0, -1); r = lat * pi / 180
            printf "%d/%d", int((lon + 180) / 360 * n), int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n) }')"
done >load.cfg
(
    for _ in $(seq 1 2000); do
        [ -e stop ] && break
        curl -s --no-progress-meter -Z --parallel-max 8 --max-time 30 -w '%{http_code}\n' \
            --config load.cfg 2>/dev/null
    done
) >load.txt &
LOAD_PID=$!

# Backups, slow ones (a few pages a step) so that an import's commit can
# fall in the middle of one, taken one after the other while the import runs.
"$PARCELDB" import --quiet --db "$DB" big.gpkg >import.log 2>&1 &
IMPORT_PID=$!
i=0 during=0
while kill -0 "$IMPORT_PID" 2>/dev/null && [ "$i" -lt 40 ]; do
    i=$((i + 1))
    if "$PARCELDB" backup --quiet --db "$DB" -o "b$i.sqlite" --pages-per-step 16 --pause-ms 2 \
        2>"b$i.err"; then
        kill -0 "$IMPORT_PID" 2>/dev/null && during=$((during + 1))
    else
        fail "backup $i during the import: $(cat "b$i.err")"
    fi
done
wait "$IMPORT_PID"
check "the import under backups: exit status" "$?" 0
i=$((i + 1))
"$PARCELDB" backup --db "$DB" -o "b$i.sqlite" >"b$i.out" 2>"b$i.err"
check "a backup after the import: exit status" "$?" 0
contains "the summary names the copy and its data version" "$(cat "b$i.out")" \
    "backed up .* to b$i.sqlite: data version $(version)"
touch stop
wait "$LOAD_PID"

if [ "$during" -ge 1 ]; then ok "$during backup(s) finished while the import was running"; else
    fail "no backup finished while the import ran (the import took too little time?)"; fi
nbefore=0 nafter=0
for n in $(seq 1 "$i"); do
    f="b$n.sqlite"
    [ -e "$f" ] || continue
    [ "$(integrity "$f")" = ok ] || fail "backup $n: integrity: $(integrity "$f")"
    "$PARCELDB" info --db "$f" >info.out 2>&1 || fail "backup $n: parceldb info: $(cat info.out)"
    s=$(state "$f")
    case "$s" in
    "$BEFORE") nbefore=$((nbefore + 1)) ;;
    "$AFTER") nafter=$((nafter + 1)) ;;
    *) fail "backup $n holds $s parcels (current/all): neither before ($BEFORE) nor after ($AFTER)" ;;
    esac
    [ -e "$f-wal" ] && [ -s "$f-wal" ] && fail "backup $n left a WAL beside it"
done
ok "$((nbefore + nafter)) backups checked: $nbefore before the import, $nafter after it"
check "the last backup holds the whole import" "$(state "b$i.sqlite")" "$AFTER"
lacks "no temporary file is left" "$(ls)" '\.backup-[0-9]+\.tmp'
check "under load: every answer a 200" "$(sort -u load.txt | tr '\n' ' ')" "200 "
server_answers "after the backups"

# Restore: stop the server, put a copy back (the first one, which may be
# the state before the import), start again on it.
stop_server
RESTORE=b1.sqlite
cp "$RESTORE" "$DB.restoring" && rm -f "$DB-wal" "$DB-shm" && mv -f "$DB.restoring" "$DB"
check "restored: integrity" "$(integrity)" ok
check "restored: the copy's parcels" "$(state)" "$(state "$RESTORE")"
start_server || exit 1
get /health
contains "restored: the server serves the copy's data version" "$BODY" \
    "\"data_version\":$(version "$RESTORE")[,}]"
server_answers "restored"
stop_server

# Clear refusals.
berr() {
    "$PARCELDB" backup "$@" >berr.out 2>berr.err
    BRC=$?
}
berr --db missing.sqlite -o m.sqlite
exit_is_refusal "a missing store" "$BRC"
one_line "a missing store" berr.err
contains "a missing store: named" "$(cat berr.err)" 'missing\.sqlite: No such file'
check "a missing store: no copy made" "$(ls m.sqlite* 2>/dev/null)" ""

berr --db "$DB" -o b1.sqlite
exit_is_refusal "an existing file" "$BRC"
one_line "an existing file" berr.err
contains "an existing file: says so" "$(cat berr.err)" 'b1\.sqlite already exists.*--force'
check "an existing file: left as it was" "$(state b1.sqlite)" "$(state "$RESTORE")"
berr --db "$DB" -o b1.sqlite --force
check "an existing file with --force: replaced" "$BRC/$(state b1.sqlite)" "0/$(state)"

berr --db "$DB" -o "$DB" --force
exit_is_refusal "the store itself" "$BRC"
contains "the store itself: says so" "$(cat berr.err)" 'is the store itself'

berr --db "$DB" -o "$WORK/no/such/dir/b.sqlite"
exit_is_refusal "a missing directory" "$BRC"
one_line "a missing directory" berr.err
contains "a missing directory: named" "$(cat berr.err)" "no/such/dir: No such file or directory"

# An unwritable directory: root ignores modes, so a read-only mount.
mkdir -p ro
if try_mount --bind ro ro && mount -o remount,bind,ro ro 2>/dev/null; then
    berr --db "$DB" -o ro/b.sqlite
    exit_is_refusal "a read-only directory" "$BRC"
    one_line "a read-only directory" berr.err
    contains "a read-only directory: named" "$(cat berr.err)" "ro: Read-only file system"
    umount ro
elif [ "$(id -u)" -ne 0 ]; then
    chmod a-w ro
    berr --db "$DB" -o ro/b.sqlite
    exit_is_refusal "an unwritable directory" "$BRC"
    contains "an unwritable directory: named" "$(cat berr.err)" "ro: Permission denied"
    chmod u+w ro
else
    echo "note: no read-only mount here (no mount namespace); the unwritable directory is not tested"
fi

berr --db "$DB"
check "no -o: a usage error" "$BRC" 2

# A commit in the middle of one copy, for certain: a backup slowed to one
# page a step, and a small import that starts after it and ends before
# it. The copy is the state at its start (its read snapshot), whole.
base_phutho
grid_csv mid.csv 45 07894 12 ODT
to_gpkg mid.csv mid.gpkg 9208
PRE=$(state) PRE_V=$(version)
"$PARCELDB" backup --quiet --db "$DB" -o slow.sqlite --pages-per-step 1 --pause-ms 15 \
    2>slow.err &
SLOW_PID=$!
FAULT_PIDS+=("$SLOW_PID")
sleep 0.5
"$PARCELDB" import --quiet --db "$DB" mid.gpkg >mid.out 2>&1
check "an import during the slow backup" "$?" 0
if kill -0 "$SLOW_PID" 2>/dev/null; then
    ok "the import committed while the backup was copying"
    wait "$SLOW_PID"
    check "the slow backup: exit status" "$?" 0
    check "the slow backup: integrity" "$(integrity slow.sqlite)" ok
    check "the slow backup: the state at its start, not the commit in its middle" \
        "$(state slow.sqlite)/$(version slow.sqlite)" "$PRE/$PRE_V"
    check "the store has the import" "$(state)" "$((45 + 30))/$(($(cut -d/ -f2 <<<"$PRE") + 45))"
else
    wait "$SLOW_PID"
    echo "note: the slow backup ended before the import did; the mid-copy commit is not tested"
fi

no_sanitizer_report "backup" ./*.err berr.err "$WORK/server.log"
finish
