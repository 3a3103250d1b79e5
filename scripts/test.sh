#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test:
#   scripts/test.sh              the plain build
#   scripts/test.sh --sanitize   the same tests under ASan + UBSan
#   scripts/test.sh --all        both, plus ThreadSanitizer (scripts/tsan.sh) and
#                                the fuzz targets (scripts/fuzz.sh): what CI runs
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

run_suite() {
    local dir=$1
    shift
    scripts/build.sh "$@"
    # Sanitizers: stop at the first report, and keep leak checking on.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        ctest --test-dir "$dir" --output-on-failure -j "$(nproc)"
}

case "${1:-}" in
--sanitize) run_suite build-asan --sanitize ;;
--all)
    # What CI runs: every test under ASan + UBSan, the threaded ones under
    # ThreadSanitizer, each fuzz target for a bounded time, then every test
    # in the plain build, whose ctest summary is the last thing printed.
    run_suite build-asan --sanitize
    scripts/tsan.sh
    scripts/fuzz.sh
    run_suite build
    ;;
"") run_suite build ;;
*) echo "usage: scripts/test.sh [--sanitize|--all]" >&2; exit 2 ;;
esac
