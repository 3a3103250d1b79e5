#!/usr/bin/env bash
# The disk fills during an import, while the server answers: the import
# fails with a clear error that says the disk is full, the store is as it
# was (integrity ok, same parcels), the server keeps answering, and a rerun
# after space is freed completes. A backup onto a full disk fails the same
# way and leaves nothing behind.
#
# Two ways to fill a disk:
#  - a real one: a small tmpfs (mounted in the test's private mount
#    namespace) holding the store, almost filled by a filler file; freeing
#    space is deleting the filler. Skipped, with a note, where mounting is
#    not permitted.
#  - an injected one, everywhere: failwrite.so (LD_PRELOAD) makes writes
#    under the store's directory fail with ENOSPC after a budget of bytes,
#    at several budgets, so that the failure falls at different points
#    (the import run's first row, the middle of the commune, its commit).
source "$(dirname "$0")/lib.sh"

make_fault_store || exit 1
BIG=${PDB_FAULTS_BIG:-20000}
big_gpkg big.gpkg "$BIG"
AFTER="$((BIG + 30))/$((BIG + 70))"

# after_failure WHAT: the checks every failed import is followed by.
after_failure() {
    exit_is_refusal "$1: the import" "$RC"
    # The first line is the error (later ones only count what failed): the
    # disk named as df names it, and the file being imported.
    local disk
    disk=$(df --output=target "$(dirname "$DB")" | tail -1)
    contains "$1: says which disk is full: $(head -1 import.err)" "$(head -1 import.err)" \
        "^parceldb: (import: )?no space left on $disk \\(.+\\) while importing big\\.gpkg"
    lacks "$1: every line an error line" "$(cat import.err)" '^[^p]|^p[^a]'
    lacks "$1: no crash" "$(cat import.err)" 'Segmentation|Aborted|AddressSanitizer|runtime error'
    check "$1: integrity" "$(integrity)" ok
    check "$1: the store is as before" "$(state)" "$BEFORE"
    server_answers "$1"
}

# --- a real full disk: a small tmpfs -------------------------------------
mkdir small
if try_mount -t tmpfs -o size=48m tmpfs "$WORK/small"; then
    cp "$DB" small/parcels.sqlite
    DB=$WORK/small/parcels.sqlite
    start_server || exit 1
    avail=$(df -k --output=avail small | tail -1)
    # 2 MiB left: less than the commune's transaction needs.
    dd if=/dev/zero of=small/filler bs=1k count=$((avail - 2048)) 2>/dev/null
    "$PARCELDB" import --quiet --db "$DB" --no-overviews big.gpkg >import.out 2>import.err
    RC=$?
    after_failure "tmpfs full"
    contains "tmpfs full: the error names the file, the commune and what is kept" \
        "$(cat import.err)" "no space left on $(cd small && pwd -P) \\(tmpfs\\) while importing big\\.gpkg \\(commune 07894; nothing stored\\)"

    # A backup onto the full disk.
    "$PARCELDB" backup --db "$DB" -o small/backup.sqlite >backup.out 2>backup.err
    exit_is_refusal "backup onto a full disk" "$?"
    one_line "backup onto a full disk" backup.err
    contains "backup onto a full disk: says so" "$(cat backup.err)" 'disk is full|No space left'
    check "backup onto a full disk: nothing left behind" "$(ls small | grep -c backup)" 0

    rm -f small/filler
    "$PARCELDB" import --quiet --db "$DB" --no-overviews big.gpkg >import.out 2>import.err
    check "tmpfs: the rerun after freeing space" "$?" 0
    check "tmpfs: rerun: integrity" "$(integrity)" ok
    check "tmpfs: rerun: the whole import" "$(state)" "$AFTER"
    server_answers "tmpfs: rerun"
    stop_server
    # Back to the state before, on the ordinary disk, for the injected runs.
    DB=$WORK/parcels.sqlite
else
    echo "note: no tmpfs can be mounted here (no private mount namespace); only injected failures"
fi

# --- injected ENOSPC: failwrite.so ----------------------------------------
: "${PDB_FAILWRITE:?PDB_FAILWRITE must name failwrite.so}"
check "the store before the injected runs" "$(state)" "$BEFORE"
start_server || exit 1
for budget in 0 65536 1048576 4194304; do
    # The library carries no sanitizer; ASan must not insist on coming first.
    LD_PRELOAD=$PDB_FAILWRITE FAILWRITE_PATH="$WORK/parcels.sqlite" FAILWRITE_BYTES=$budget \
        ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
        "$PARCELDB" import --quiet --db "$DB" --no-overviews big.gpkg >import.out 2>import.err
    RC=$?
    after_failure "ENOSPC after $budget bytes"
done
"$PARCELDB" import --quiet --db "$DB" --no-overviews big.gpkg >import.out 2>import.err
check "injected: the rerun with space" "$?" 0
check "injected: rerun: integrity" "$(integrity)" ok
check "injected: rerun: the whole import" "$(state)" "$AFTER"
server_answers "injected: rerun"
stop_server
no_sanitizer_report "disk full" import.err backup.err "$WORK/server.log"
finish
