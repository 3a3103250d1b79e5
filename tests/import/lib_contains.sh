#!/usr/bin/env bash
# lib.sh's `contains` on a text whose first line matches and that goes on
# for many lines: the match must be found whatever the scheduling. (Through
# `printf | grep -q` under pipefail it failed: grep exits at the first line,
# and printf, which writes line by line, died of SIGPIPE on the next; that
# is how import_fields and import_encoding failed under -j2 on a busy
# machine, on short texts; a long one makes it fail every time.)
source "$(dirname "$0")/lib.sh"

long=$(printf 'parceldb: odd.gpkg: no field for the sheet number\n'; seq 1 200000)
contains "a match on the first of 200001 lines" "$long" '^parceldb: odd\.gpkg: no field'
contains "a match on the last line" "$long" '^200000$'

# And it still fails when it should (counted apart, then undone).
before=$FAILS
contains "no match" "$long" '^no such line$' 2>/dev/null
check "a pattern that is not there fails" "$((FAILS - before))" 1
FAILS=$before

finish
