#!/usr/bin/env bash
# scripts/test.sh's report of skipped tests (issue 12, item 6), on a small
# fake ctest tree: every skipped test is listed by name with its reason just
# before ctest's summary, which stays the last thing printed; in CI
# (CI=true) a skip fails the run unless its "SKIP: <reason-key>: <text>"
# line names a known reason that holds on this machine.
. "$(dirname "$0")/lib.sh"
: "${PDB_SOURCE_DIR:?}"
TEST_SH=$PDB_SOURCE_DIR/scripts/test.sh

mkdir "$TMP/fake"
cat >"$TMP/fake/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.16)
project(fake NONE)
enable_testing()
function(skip_test name line)
    add_test(NAME ${name} COMMAND sh -c "echo 'some output first'; ${line} exit 77")
    set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77)
endfunction()
add_test(NAME t_pass COMMAND sh -c "echo fine")
add_test(NAME t_fail COMMAND sh -c "exit 1")
add_test(NAME server_fake COMMAND sh -c "echo a server test")
skip_test(t_skip_holds "echo 'SKIP: no-server-test: no server test ran';")
skip_test(t_skip_root "echo 'SKIP: not-root: must start as root';")
skip_test(t_skip_unknown "echo 'SKIP: moon-phase: waiting for a full moon';")
skip_test(t_skip_silent "")
EOF
cmake -S "$TMP/fake" -B "$TMP/fake/build" >/dev/null 2>&1 || { fail "cmake of the fake tree"; finish; exit; }

# report [VAR=VALUE...] -- CTEST ARGS: runs test.sh --ctest on the fake tree;
# sets RC and OUT.
report() {
    local env=(env -u CI)
    while [ "$1" != -- ]; do
        env+=("$1")
        shift
    done
    shift
    OUT=$("${env[@]}" bash "$TEST_SH" --ctest "$TMP/fake/build" "$@" 2>&1)
    RC=$?
    checks=$((checks + 1))
}

# expect_rc WHAT WANT: 0 or nonzero.
expect_rc() {
    if [ "$2" = 0 ]; then
        expect_eq "$1: exit status" "$RC" 0
    elif [ "$RC" -eq 0 ]; then
        fail "$1: exit status 0, want a failure; output: $(tail -15 <<<"$OUT")"
    fi
}

# has WHAT LINE-PATTERN: a line of OUT matches the grep -E pattern.
has() {
    checks=$((checks + 1))
    grep -Eq -- "$2" <<<"$OUT" || fail "$1: /$2/ not in: $(tail -20 <<<"$OUT")"
}

# summary_last WHAT: the report comes before ctest's summary line, which is
# the last summary printed: nothing of the report follows it.
summary_last() {
    checks=$((checks + 1))
    local sum rep
    sum=$(grep -nE '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' <<<"$OUT" | tail -1 | cut -d: -f1)
    rep=$(grep -nE '^skipped tests' <<<"$OUT" | tail -1 | cut -d: -f1)
    if [ -z "$sum" ] || [ -z "$rep" ]; then
        fail "$1: the summary (${sum:-none}) or the report (${rep:-none}) is missing: $(tail -20 <<<"$OUT")"
    elif [ "$rep" -gt "$sum" ]; then
        fail "$1: the skip report (line $rep) comes after ctest's summary (line $sum)"
    else
        local after
        after=$(tail -n +"$sum" <<<"$OUT")
        if grep -Eq '^  t_|^CI: |holds here|HOLD|UNKNOWN' <<<"$after"; then
            fail "$1: part of the report follows ctest's summary: $after"
        fi
    fi
}

# Outside CI: every skip is listed with its reason; the run passes.
report -- -E 't_fail|server_fake'
expect_rc "outside CI" 0
has "outside CI: a reason that holds" '^  t_skip_holds: no-server-test: no server test ran \[holds here\]$'
has "outside CI: an unknown key" '^  t_skip_unknown: moon-phase: waiting for a full moon \[UNKNOWN reason key\]$'
has "outside CI: no SKIP line" "^  t_skip_silent: no reason given"
if [ "$(id -u)" -eq 0 ]; then
    has "outside CI, as root: not-root does not hold" '^  t_skip_root: not-root: must start as root \[DOES NOT HOLD on this machine\]$'
else
    has "outside CI, not root: not-root holds" '^  t_skip_root: not-root: must start as root \[holds here\]$'
fi
has "outside CI: ctest's summary" '^100% tests passed, 0 tests failed out of 5$'
summary_last "outside CI"

# In CI: an unknown key, or no reason at all, fails the run.
report CI=true -- -E 't_fail|server_fake'
expect_rc "CI, all the skips" 1
has "CI: says why it fails" '^CI: a skip above has no reason that holds on this machine'
summary_last "CI, all the skips"
report CI=true -- -R 't_pass|t_skip_unknown'
expect_rc "CI, an unknown reason key" 1
report CI=true -- -R 't_pass|t_skip_silent'
expect_rc "CI, a skip without a SKIP line" 1

# In CI: a reason that holds passes, one that does not hold fails.
report CI=true -- -R 't_pass|t_skip_holds'
expect_rc "CI, no-server-test with no server test run" 0
summary_last "CI, a reason that holds"
report CI=true -- -R 'server_fake|t_skip_holds'
expect_rc "CI, no-server-test when a server test ran" 1
has "CI: no-server-test when a server test ran" '^  t_skip_holds: no-server-test: .*\[DOES NOT HOLD on this machine\]$'
report CI=true -- -R 't_pass|t_skip_root'
if [ "$(id -u)" -eq 0 ]; then expect_rc "CI, not-root as root" 1; else expect_rc "CI, not-root as a user" 0; fi

# No skip: said so; a failing test still fails the run, summary last.
report CI=true -- -R 't_pass'
expect_rc "CI, nothing skipped" 0
has "nothing skipped: said so" '^skipped tests: none$'
summary_last "nothing skipped"
report -- -R 't_pass|t_fail'
expect_rc "a failing test" 1
has "a failing test: ctest's summary" '^50% tests passed, 1 tests failed out of 2$'
summary_last "a failing test"

finish
