#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test:
#   scripts/test.sh              the plain build
#   scripts/test.sh --sanitize   the same tests under ASan + UBSan
#   scripts/test.sh --all        both (what CI runs)
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
    run_suite build-asan --sanitize
    run_suite build
    ;;
"") run_suite build ;;
*) echo "usage: scripts/test.sh [--sanitize|--all]" >&2; exit 2 ;;
esac
