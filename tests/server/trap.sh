#!/usr/bin/env bash
# Every server test stops its servers when it fails: a test that fails on
# purpose (after starting two servers, the first one's SERVER_PID
# overwritten by the second start), or that is stopped by a signal (a
# CTest timeout), leaves no server process behind; with tests/server/lib.sh
# and with tests/faults/lib.sh (which re-runs itself in a mount namespace).
source "$(dirname "$0")/lib.sh"

# The test that fails on purpose: LIB is server or faults; HOW is fail (it
# fails and exits) or signal (it waits to be stopped by SIGTERM).
cat >failing.sh <<'CHILD'
source "$PDB_SOURCE_DIR/tests/$1/lib.sh"
make_store || exit 1
start_server || exit 1
start_server || exit 1
if [ "$2" = signal ]; then
    # (a foreground sleep would hold the trap back until it ends)
    sleep 300 &
    echo $! >"$PDB_TEST_PID_FILE.sleep"
    echo ready >"$PDB_TEST_PID_FILE.ready"
    wait
fi
fail "on purpose"
exit 1
CHILD

for lib in server faults; do
    for how in fail signal; do
        pids=$WORK/pids.$lib.$how
        : >"$pids"
        PDB_TEST_PID_FILE=$pids bash failing.sh "$lib" "$how" >"child.$lib.$how.log" 2>&1 &
        child=$!
        if [ "$how" = signal ]; then
            for _ in $(seq 1 300); do
                [ -s "$pids.ready" ] && break
                sleep 0.1
            done
            # The child's own shell, wherever it re-ran itself (unshare execs).
            kill -TERM "$child"
        fi
        wait "$child"
        rc=$?
        check "$lib, $how: the test failed" "$([ "$rc" -ne 0 ] && echo failed)" failed
        check "$lib, $how: it had started two servers" "$(wc -l <"$pids")" 2
        left=0
        while read -r p; do
            kill -0 "$p" 2>/dev/null && { left=$((left + 1)); kill -KILL "$p"; }
        done <"$pids"
        check "$lib, $how: no server of it left running" "$left" 0
        [ -s "$pids.sleep" ] && kill "$(cat "$pids.sleep")" 2>/dev/null
    done
done
finish
