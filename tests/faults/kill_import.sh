#!/usr/bin/env bash
# SIGKILL of the importer at random points, many runs, while the server
# answers: after each kill the store passes integrity_check and holds
# exactly the state before that run or the complete state after it (one
# transaction per commune), and the server answers; a final rerun
# completes. tests/import/kill.sh kills at 5 fixed delays; this one draws
# the delays at random over the import's measured duration, from a seed
# that is printed, so that a failing run can be replayed:
#     PDB_FAULTS_SEED=N ctest -R faults_kill_import
# Two kinds of run alternate: with --no-overviews (the kill falls in the
# reading and writing of the commune) and with the overview rebuild that
# follows the commit (its own transaction; a kill there must lose nothing
# of the commune and leave tiles that still render).
source "$(dirname "$0")/lib.sh"

SEED=${PDB_FAULTS_SEED:-$(($(date +%s) % 100000))}
RUNS=${PDB_FAULTS_KILL_RUNS:-30}
BIG=${PDB_FAULTS_BIG:-10000}
echo "seed $SEED, $RUNS runs, $BIG parcels (replay: PDB_FAULTS_SEED=$SEED)"
RANDOM=$SEED

make_fault_store || exit 1
big_gpkg big.gpkg "$BIG"
start_server --cache-mb 16 || exit 1
TILE="/tiles/16/$(awk -v lon="$LON" -v lat="$LAT" 'BEGIN { n = 2 ^ 16; pi = atan2(0, -1); r = lat * pi / 180
    printf "%d/%d", int((lon + 180) / 360 * n), int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n) }').png"

# all_rows: every parcel row (history included), the second half of state.
all_rows() { state | cut -d/ -f2; }

# run_import [OPTIONS]: one import of big.gpkg (a re-import supersedes).
run_import() {
    "$PARCELDB" import --db "$DB" --quiet --force "$@" big.gpkg >import.out 2>&1
}

# The duration of each kind of run, measured here (a loaded machine is slower).
now_ms() { date +%s%3N; }
t0=$(now_ms)
run_import --no-overviews || fail "a whole run (no overviews): $(cat import.out)"
D_NO=$(($(now_ms) - t0))
t0=$(now_ms)
run_import || fail "a whole run (with overviews): $(cat import.out)"
D_OV=$(($(now_ms) - t0))
echo "a whole run takes ${D_NO} ms without overviews, ${D_OV} ms with"

nbefore=0 nafter=0 nfinished=0
for run in $(seq 1 "$RUNS"); do
    pre=$(state)
    post="$((BIG + 30))/$(($(all_rows) + BIG))"
    if [ $((run % 5)) -eq 0 ]; then opts=() d=$D_OV kind="with overviews"; else
        opts=(--no-overviews) d=$D_NO kind="no overviews"; fi
    # Up to 110% of the duration: some runs end before their kill.
    delay_ms=$((RANDOM * RANDOM % (d * 11 / 10 + 1)))
    # The importer itself in the background (not a subshell around it), so
    # that the SIGKILL reaches it.
    "$PARCELDB" import --db "$DB" --quiet --force "${opts[@]}" big.gpkg >import.out 2>&1 &
    pid=$!
    sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
    if kill -KILL "$pid" 2>/dev/null; then how=killed; else how=finished; fi
    wait "$pid" 2>/dev/null
    rc=$?
    now=$(state)
    what="run $run ($kind, SIGKILL at ${delay_ms} ms, $how)"
    [ "$(integrity)" = ok ] || fail "$what: integrity: $(integrity)"
    if [ "$how" = finished ]; then
        nfinished=$((nfinished + 1))
        [ "$rc" -eq 0 ] || fail "$what: the import failed: $(cat import.out)"
        [ "$now" = "$post" ] || fail "$what: finished, but holds $now (want $post)"
    elif [ "$now" = "$pre" ]; then
        nbefore=$((nbefore + 1))
    elif [ "$now" = "$post" ]; then
        nafter=$((nafter + 1))
    else
        fail "$what: holds $now parcels (current/all): neither before ($pre) nor after ($post)"
    fi
    get /health
    [ "$STATUS" = 200 ] || fail "$what: /health $STATUS"
    get "/parcels/at?lon=$LON&lat=$LAT"
    grep -q '"commune":"07894"' <<<"$BODY" || fail "$what: the lookup: $STATUS $(head -c 200 <<<"$BODY")"
    get "$TILE"
    [ "$STATUS" = 200 ] && [ "$(head -c 8 "$WORK/body" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
        fail "$what: the tile: $STATUS"
    echo "$what: $now"
done
ok "$RUNS runs: $nbefore killed before the commit, $nafter after it, $nfinished finished first"
if [ $((nbefore + nafter)) -ge $((RUNS / 2)) ]; then ok "most runs were killed in flight"; else
    fail "only $((nbefore + nafter)) of $RUNS runs were killed in flight"; fi

pre_all=$(all_rows)
run_import
check "the final rerun: exit status" "$?" 0
check "the final rerun: integrity" "$(integrity)" ok
check "the final rerun: the whole import" "$(state)" "$((BIG + 30))/$((pre_all + BIG))"
# (A kill before the run's first row leaves no row at all.)
running=$(sql "SELECT count(*) FROM import_batches WHERE status = 'running'")
if [ "$running" -ge 1 ] && [ "$running" -le $((nbefore + nafter)) ]; then
    ok "killed runs are visible as such ($running left 'running')"; else
    fail "$running runs left 'running' after $((nbefore + nafter)) kills"; fi
server_answers "after $RUNS kills"
stop_server
no_sanitizer_report "kills" "$WORK/server.log"
finish
