#!/usr/bin/env bash
# Builds parceldb with ThreadSanitizer in build-tsan/ and runs, under it,
# every test whose code runs threads: the server (libmicrohttpd's worker
# pool, the change log, the caches, seeding's render threads), its module
# unit tests, the overview rebuild (a builder per core), the importer (a
# reading thread and the writer, for every import test), the renderer,
# and the operations tests of tests/ops/.
#   scripts/tsan.sh            build and run (what CI runs; ~2-3 minutes)
#   scripts/tsan.sh -R REGEX   only the tests matching REGEX (still under TSan)
#
# A report stops the process that made it (halt_on_error=1, exit code 66).
# Reports are also written to a directory of their own (log_path), so that
# one in a process whose exit status a test does not look at (a client, a
# short command) still fails this script: it fails when any report file
# exists after the run, and prints the reports.
# Reports inside dependencies are suppressed in tests/ops/tsan.supp, each
# with the reason; our own code is never suppressed there.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=build-tsan

regex='^(test_server_|server_|test_import$|import_|test_render$|render_|ops_|test_lookup$|test_overview$|overview_)'
if [ "${1:-}" = "-R" ] && [ -n "${2:-}" ]; then
    regex=$2
elif [ $# -gt 0 ]; then
    echo "usage: scripts/tsan.sh [-R REGEX]" >&2
    exit 2
fi

cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DPDB_WERROR=ON -DPDB_TSAN=ON \
    -DPDB_SANITIZE=OFF >/dev/null
cmake --build "$dir" -j "${PDB_JOBS:-2}"

# The reports and the suppressions live outside the checkout, in a
# world-writable (sticky, as /tmp) directory under TMPDIR: a server that
# dropped to nobody, or started as an unprivileged user
# (tests/ops/privileges.sh), must still read the one and write the other,
# also when the checkout lies in a private (0700) directory, as in CI.
logs=$(mktemp -d "${TMPDIR:-/tmp}/pdb-tsan.XXXXXX")
trap 'rm -rf "$logs"' EXIT
chmod 1777 "$logs"
install -m 0644 "$root/tests/ops/tsan.supp" "$logs/tsan.supp"
# second_deadlock_stack: both stacks of a lock-order report.
# history_size: more of the earlier access's stack ("failed to restore").
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 history_size=4 \
suppressions=$logs/tsan.supp log_path=$logs/report"

rc=0
# The tests labelled pg (the same scripts on a PostgreSQL store, *_pg)
# are left out: their threads are the same code as on the file store,
# and libpq's are not instrumented; the plain and ASan runs have them.
ctest --test-dir "$dir" -R "$regex" -LE '^pg$' --output-on-failure -j "${PDB_JOBS:-2}" \
    --timeout 900 || rc=$?

reports=$(find "$logs" -type f -name 'report*' | sort)
if [ -n "$reports" ]; then
    echo "tsan: $(echo "$reports" | wc -l) ThreadSanitizer report(s):" >&2
    for f in $reports; do
        echo "--- $f" >&2
        cat "$f" >&2
    done
    exit 1
fi
if [ "$rc" -ne 0 ]; then
    echo "tsan: tests failed (no TSan report; see above)" >&2
    exit "$rc"
fi
echo "tsan: no data race or lock-order report in the tests matching $regex"
