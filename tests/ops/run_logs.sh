#!/usr/bin/env bash
# After the other tests (a CTest fixture cleanup, tests/ops.cmake): the
# server logs of the whole run, which tests/server/lib.sh keeps under
# Testing/server-logs/ (every server started by the server, fault and ops
# tests, access log included), hold no owner name of any shared fixture and
# no bearer token; and no test's output (CTest's log of this run) holds a
# token. Owner names may appear in test output (the importer's tests check
# the stored owners, by design), not in anything the server wrote.
# Skips (77) when no server test has run.
set -uo pipefail
: "${PDB_BINARY_DIR:?}"
LOGS=$PDB_BINARY_DIR/Testing/server-logs
FAILS=0
ok() { echo "ok: $*"; }
fail() { FAILS=$((FAILS + 1)); echo "FAIL: $*" >&2; }

shopt -s nullglob
logs=("$LOGS"/*.log)
if [ ${#logs[@]} -eq 0 ]; then
    echo "SKIP: no-server-test: no server logs under $LOGS (no server test has run)"
    exit 77
fi
lines=$(cat "${logs[@]}" | wc -l)
echo "searching ${#logs[@]} server logs ($lines lines)"

# The owners of the fixtures the tests share: tests/server/lib.sh ("Nguyen
# Van Chu N"), tests/import/lib.sh ("Nguyen Van N", re-surveyed "Tran Thi
# N"), tests/ops/personal_data.sh (marker QXOWN), the names of
# tests/import/encoding.sh (in UTF-8; personal_data.sh searches the
# legacy bytes itself). Tokens: those the tests write into token files.
owners='Nguyen Van Chu [0-9]|Nguyen Van [0-9]|Tran Thi [0-9]|QXOWN|Nguyễn Văn Tường|Trần Thị Hồng|Lê Đức Thắng|Phạm Thị Thu Hà|Hoàng Văn Dũng|Đỗ Thị Lan'
# 'Bearer X' as a header writes it; a test's own words ('an overlong bearer
# token') are not a token.
tokens='officer-token-[0-9a-f]{8}|pdbops-[a-z]+-[0-9a-f]{8}|ops-privileges-token|Bearer [A-Za-z0-9]'

hits=$(grep -aEl -- "$owners" "${logs[@]}")
if [ -z "$hits" ]; then ok "no fixture owner in the server logs"; else
    fail "owner names in server logs: $hits"
    grep -aEo -- "$owners" $hits | sort | uniq -c | head
fi
hits=$(grep -aEl -- "$tokens" "${logs[@]}")
if [ -z "$hits" ]; then ok "no token in the server logs"; else fail "tokens in server logs: $hits"; fi

# CTest writes each finished test's output to LastTest.log.tmp during the
# run (LastTest.log once it ends).
ctest_log=
for f in "$PDB_BINARY_DIR/Testing/Temporary/LastTest.log.tmp" "$PDB_BINARY_DIR/Testing/Temporary/LastTest.log"; do
    [ -s "$f" ] && { ctest_log=$f; break; }
done
if [ -n "$ctest_log" ]; then
    if grep -aEq -- "$tokens" "$ctest_log"; then
        fail "a token in the tests' output ($ctest_log): $(grep -aEo -- "$tokens" "$ctest_log" | head -3)"
    else ok "no token in the tests' output ($(wc -l <"$ctest_log") lines of $ctest_log)"; fi
fi
echo "$FAILS failed"
[ "$FAILS" -eq 0 ]
