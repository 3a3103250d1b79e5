# lib.sh: helpers for the command-line tests: run parceldb as a user would
# and check exit status, stdout and the one-line error.
set -u
: "${PARCELDB:?PARCELDB must name the parceldb binary}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pdbcli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
failures=0
checks=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# expect_error PATTERN CMD...: the command fails (exit 1 or 2, not a
# signal), prints exactly one line on stderr, and that line matches PATTERN.
expect_error() {
    local pattern=$1
    shift
    checks=$((checks + 1))
    "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    local lines
    lines=$(wc -l <"$TMP/err")
    if [ "$rc" -eq 0 ] || [ "$rc" -gt 2 ]; then
        fail "'$*' exited $rc (want 1 or 2); stderr: $(head -c 300 "$TMP/err")"
    elif [ "$lines" -ne 1 ]; then
        fail "'$*' printed $lines lines on stderr (want one): $(head -c 300 "$TMP/err")"
    elif ! grep -qiE -- "$pattern" "$TMP/err"; then
        fail "'$*' error does not match /$pattern/: $(cat "$TMP/err")"
    fi
}

# expect_ok CMD...: the command succeeds; its stdout is left in $TMP/out.
expect_ok() {
    checks=$((checks + 1))
    "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    if [ "$rc" -ne 0 ]; then
        fail "'$*' exited $rc: $(head -c 300 "$TMP/err")"
        return 1
    fi
    return 0
}

# expect_eq WHAT GOT WANT
expect_eq() {
    checks=$((checks + 1))
    [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

# The store: a file, or with PDB_TEST_STORE=pg a PostgreSQL database.
source "$PDB_SOURCE_DIR/tests/lib/store.sh"

# new_db NAME: sets DB to the location of a new, empty place for a store
# (store_location: $TMP/NAME.sqlite or a new database).
new_db() {
    DB=$(store_location "$TMP" "$1") || { fail "a new store location"; return 1; }
}

finish() {
    echo "$checks checks, $failures failed"
    [ "$failures" -eq 0 ]
}
