#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -DPDB_FUZZ=ON, in build-fuzz/) and
# runs each for FUZZ_SECONDS (default 30), two at a time, from its seeds
# and minimised corpus in git (tests/fuzz/<target>/seeds and corpus) plus
# what earlier runs here found (build-fuzz/fuzz-corpus/<target>, not in
# git). Exits non-zero when any target crashed, leaked, hung or ran out of
# memory, printing the input that did it
# (build-fuzz/fuzz-artifacts/<target>/crash-...). See docs/fuzzing.md for
# reproducing and minimising one.
#   FUZZ_SECONDS=30  seconds per target
#   FUZZ_TARGETS="fuzz_wkb fuzz_style"   a subset (default: all)
#   FUZZ_JOBS=2      targets at once
#   FUZZ_BUILD_DIR=build-fuzz
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-2}
dir=${FUZZ_BUILD_DIR:-build-fuzz}
all=(fuzz_http_request fuzz_wms fuzz_ogcapi fuzz_search_query fuzz_style fuzz_points_csv fuzz_field_map fuzz_tokens fuzz_wkb fuzz_import fuzz_change_parts fuzz_instant fuzz_dgn7 fuzz_survey_date)
read -r -a targets <<<"${FUZZ_TARGETS:-${all[*]}}"

# Warnings are not errors here: the fuzz build must not stop on a warning
# clang gives and gcc does not; scripts/build.sh keeps -Werror.
CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DPDB_FUZZ=ON -DPDB_WERROR=OFF -DPDB_WEB=OFF >/dev/null
# fuzz_dgn7's seeds are the generator's DGN files, made here (not in git).
made_seeds=()
[[ " ${targets[*]} " == *" fuzz_dgn7 "* ]] && made_seeds=(pdb-synth)
cmake --build "$dir" -j "$jobs" --target "${targets[@]}" "${made_seeds[@]}" >"$dir/fuzz-build.log" 2>&1 || {
    tail -n 40 "$dir/fuzz-build.log" >&2
    echo "fuzz: the build failed (full log: $dir/fuzz-build.log)" >&2
    exit 1
}

export CPL_LOG=/dev/null # GDAL's own messages
if [ ${#made_seeds[@]} -gt 0 ]; then
    bash tests/fuzz/dgn7-seeds.sh "$dir/samples/pdb-synth" "$dir/fuzz-seeds/fuzz_dgn7" >/dev/null
fi
run_one() {
    local t=$1 corpus=$dir/fuzz-corpus/$1 art=$dir/fuzz-artifacts/$1
    mkdir -p "$corpus" "$art"
    local rc=0 dict=()
    [ -f "tests/fuzz/$t/$t.dict" ] && dict=(-dict="tests/fuzz/$t/$t.dict")
    local extra= # the minimised corpus of earlier long runs, in git
    [ -d "tests/fuzz/$t/corpus" ] && extra=tests/fuzz/$t/corpus
    local seeds=tests/fuzz/$t/seeds # or made above
    [ -d "$seeds" ] || seeds=$dir/fuzz-seeds/$t
    "$dir/tests/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        "${dict[@]}" -print_final_stats=1 -artifact_prefix="$art/" "$corpus" "$seeds" $extra \
        >"$art/run.log" 2>&1 || rc=$?
    local execs rate
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$art/run.log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$art/run.log")
    if [ "$rc" -ne 0 ]; then
        local input
        input=$(sed -n "s/.*Test unit written to //p" "$art/run.log" | tail -n 1)
        echo "fuzz: $t FAILED (exit $rc): input ${input:-(none written)}; log $art/run.log"
        grep -m 3 -E 'ERROR:|check failed|SUMMARY' "$art/run.log" | sed 's/^/fuzz:   /'
        return 1
    fi
    echo "fuzz: $t ok: ${execs:-?} runs, ${rate:-?}/s, corpus $(ls "$corpus" | wc -l) files"
}

start=$(date +%s)
failed=0
running=0
for t in "${targets[@]}"; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n || failed=1
        running=$((running - 1))
    fi
    run_one "$t" &
    running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
    wait -n || failed=1
    running=$((running - 1))
done
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, $(($(date +%s) - start))s in all"
if [ "$failed" -ne 0 ]; then
    echo "fuzz: a target failed; reproduce with: $dir/tests/<target> <input>" >&2
    exit 1
fi
