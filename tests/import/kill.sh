#!/usr/bin/env bash
# SIGKILL at several points of a large import leaves the store intact
# (PRAGMA integrity_check ok) and as it was before; a rerun completes.
source "$(dirname "$0")/lib.sh"

new_store
base_phutho
grid_csv small.csv 100 07894
to_format small.csv small.gpkg GPKG -a_srs EPSG:9208
import small.gpkg
check "previous state: imported" "$RC" 0

BIG=${PDB_KILL_TEST_PARCELS:-15000}
grid_csv big.csv "$BIG" 07894
to_format big.csv big.gpkg GPKG -a_srs EPSG:9208

state() {
    sql "SELECT (SELECT count(*) FROM parcels WHERE valid_to IS NULL) || '/' ||
                (SELECT count(*) FROM parcels) || '/' ||
                (SELECT count(*) FROM rejects) || '/' ||
                (SELECT count(*) FROM import_files) || '/' ||
                (SELECT value FROM meta WHERE key = 'data_version')"
}
before=$(state)
# What a whole import of big.gpkg leaves: every parcel current, the first
# import's 100 kept as history, no rejects, two files, two more versions.
committed="$BIG/$((BIG + 100))/0/2/3"

for delay in 0.05 0.3 0.8 1.5 3.0; do
    "$PARCELDB" import --db "$DB" --quiet --no-overviews big.gpkg >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    if kill -KILL "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null || true
        check "killed after ${delay}s: integrity" "$(sql "PRAGMA integrity_check")" ok
        now=$(state)
        # All or nothing: the commune's transaction either had not committed
        # (the store is as before) or had (the process was killed while it
        # was finishing up; then the import is whole and later delays would
        # only kill a process that has nothing left to write).
        if [ "$now" = "$committed" ]; then
            echo "note: killed after ${delay}s, after the commune had committed: the import is whole"
            break
        fi
        check "killed after ${delay}s: previous state intact" "$now" "$before"
    else
        wait "$pid" || true
        echo "note: the import finished before ${delay}s; no kill at that point"
        break
    fi
done

import big.gpkg
check "rerun: exit status" "$RC" 0
check "rerun: current parcels" "$(sql "SELECT count(*) FROM parcels WHERE valid_to IS NULL")" "$BIG"
check "rerun: history" "$(sql "SELECT count(*) FROM parcels WHERE valid_to IS NOT NULL")" 100
check "rerun: integrity" "$(sql "PRAGMA integrity_check")" ok
check "killed runs are visible as such" "$(sql "SELECT count(*) > 0 FROM import_batches WHERE status = 'running'")" 1

finish
