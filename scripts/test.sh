#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test:
#   scripts/test.sh              the plain build
#   scripts/test.sh --sanitize   the same tests under ASan + UBSan
#   scripts/test.sh --all        both, plus ThreadSanitizer (scripts/tsan.sh) and
#                                the fuzz targets (scripts/fuzz.sh): what CI runs
#   scripts/test.sh --ctest DIR [CTEST OPTIONS...]
#                                ctest alone in an already built tree DIR, with
#                                the report of skipped tests (no install, no build)
#
# Both stores. The tests labelled pg (tests/pg.cmake) run on a PostgreSQL +
# PostGIS cluster that the suite starts itself (initdb under /tmp, a Unix
# socket only; tests/lib/pg.sh) and stops at the end: they are part of
# the plain and the ASan run (`ctest -L pg` selects them, `-LE pg` leaves
# them out), and fail, never skip, without PostgreSQL or PostGIS.
#
# Skipped tests. A test that cannot run on this machine exits 77 (its
# SKIP_RETURN_CODE) after printing one line
#     SKIP: <reason-key>: <text for a person>
# where the key is one of those reason_holds knows, each with a check of
# this machine. After each ctest run, just before ctest's summary (which
# stays the last thing a run prints), the skipped tests are listed by name
# with their reason and whether it holds here. In CI (CI=true: root, with
# mount namespaces, where every test can run) a skip is a failure unless
# its key is known and its check says the reason holds on this machine: a
# skip with no SKIP line, an unknown key or a reason that does not hold
# fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

# reason_holds KEY JUNIT: whether the reason KEY holds on this machine
# (status 0) or not (1); 2 for a key that is not known. JUNIT is the run's
# JUnit report, for the reasons that depend on what the run selected.
reason_holds() {
    case $1 in
    not-root) # the test must start something as root (then drop privileges)
        [ "$(id -u)" -ne 0 ] ;;
    no-user-nobody) # the test runs a server as the unprivileged user nobody
        ! id nobody >/dev/null 2>&1 ;;
    no-mount-namespace) # the test mounts (read-only, small) in a private namespace
        ! unshare -m --propagation private true 2>/dev/null ;;
    no-server-test) # the test reads the logs of the run's server tests
        ! grep -Eq '<testcase name="server_[^"]*".* status="(run|fail)"' "$2" ;;
    *) return 2 ;;
    esac
}

# skipped_tests JUNIT: one line per test that did not run, from ctest's
# JUnit report: NAME<TAB>STATUS<TAB>the test's last SKIP line (or nothing).
skipped_tests() {
    awk '
        function attr(s, a,    m) {
            if (match(s, " " a "=\"[^\"]*\"") == 0)
                return ""
            m = substr(s, RSTART + length(a) + 3, RLENGTH - length(a) - 4)
            return m
        }
        function unescape(s) {
            gsub(/&lt;/, "<", s); gsub(/&gt;/, ">", s); gsub(/&quot;/, "\"", s)
            gsub(/&apos;/, "'\''", s); gsub(/&amp;/, "\\&", s)
            return s
        }
        /<testcase / { name = attr($0, "name"); status = attr($0, "status"); skip = "" }
        {
            line = $0
            sub(/^[ \t]*<system-out>/, "", line)
            if (line ~ /^SKIP: /)
                skip = unescape(line)
        }
        /<\/testcase>/ && status != "run" && status != "fail" {
            printf "%s\t%s\t%s\n", name, status, skip
        }
    ' "$1"
}

# skip_report JUNIT: lists the skipped tests with their reasons; in CI,
# fails when one of them has no reason that holds here.
skip_report() {
    local junit=$1 name status line key text verdict bad=0
    local list
    list=$(skipped_tests "$junit")
    if [ -z "$list" ]; then
        printf 'skipped tests: none\n\n'
        return 0
    fi
    echo "skipped tests (each with its reason, and whether it holds on this machine):"
    while IFS=$'\t' read -r name status line; do
        key="" text=""
        if [[ $line =~ ^SKIP:\ ([a-z0-9-]+):\ (.*)$ ]]; then
            key=${BASH_REMATCH[1]}
            text=${BASH_REMATCH[2]}
        fi
        if [ -z "$key" ]; then
            verdict="no reason given (no 'SKIP: <reason-key>: <text>' line; $status)"
            bad=1
        else
            local rc=0
            reason_holds "$key" "$junit" || rc=$?
            case $rc in
            0) verdict="$key: $text [holds here]" ;;
            1) verdict="$key: $text [DOES NOT HOLD on this machine]" bad=1 ;;
            *) verdict="$key: $text [UNKNOWN reason key]" bad=1 ;;
            esac
        fi
        echo "  $name: $verdict"
    done <<<"$list"
    if [ "$bad" -ne 0 ] && [ "${CI:-}" = true ]; then
        echo "CI: a skip above has no reason that holds on this machine: that is a failure here"
        echo
        return 1
    fi
    echo
    return 0
}

# run_ctest DIR [CTEST OPTIONS...]: ctest in DIR; its summary (from the
# "% tests passed" line on) is held back and printed after the skip
# report, so that it stays the last thing printed. Fails when ctest or the
# skip report does.
run_ctest() {
    local dir=$1
    shift
    local junit summary rc=0 report=0
    junit=$(cd "$dir" && pwd)/Testing/junit.xml
    summary=$(mktemp)
    rm -f "$junit"
    ctest --test-dir "$dir" --output-junit "$junit" "$@" 2>&1 |
        awk -v held="$summary" '/^[0-9]+% tests passed/ { h = 1 }
            h { print > held; next } { print; fflush() }' || rc=$? # pipefail: ctest's status
    if [ -s "$junit" ]; then
        skip_report "$junit" || report=$?
    else
        echo "skipped tests: unknown (ctest wrote no JUnit report)"
        [ "${CI:-}" = true ] && report=1
    fi
    cat "$summary"
    rm -f "$summary"
    [ "$rc" -eq 0 ] && [ "$report" -eq 0 ]
}

run_suite() {
    local dir=$1
    shift
    scripts/build.sh "$@"
    # Sanitizers: stop at the first report, and keep leak checking on.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        run_ctest "$dir" --output-on-failure -j "$(nproc)"
}

case "${1:-}" in
--ctest)
    [ -n "${2:-}" ] || { echo "usage: scripts/test.sh --ctest DIR [CTEST OPTIONS...]" >&2; exit 2; }
    shift
    run_ctest "$@"
    exit
    ;;
esac

scripts/install-deps.sh

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
*) echo "usage: scripts/test.sh [--sanitize|--all|--ctest DIR [CTEST OPTIONS...]]" >&2; exit 2 ;;
esac
