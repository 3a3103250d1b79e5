#!/usr/bin/env bash
# `parceldb import` runs the separate parceldb-import executable (cli/
# main.c says why): parceldb itself links no GDAL, the import still works
# through it with the same messages and exit codes, and a parceldb without
# its importer says where it looked.
. "$(dirname "$0")/lib.sh"
: "${PDB_BINARY_DIR:?}"
SYNTH=$PDB_BINARY_DIR/samples/pdb-synth

checks=$((checks + 1))
if ldd "$PARCELDB" | grep -q 'libgdal'; then
    fail "parceldb links GDAL: $(ldd "$PARCELDB" | grep libgdal)"
fi

# A real survey written by GDAL (pdb-synth), imported through the helper.
expect_ok "$SYNTH" --out "$TMP/src" --communes 07894 --parcels-per-commune 60 --defects none \
    --quiet
expect_ok "$PARCELDB" init --db "$TMP/s.sqlite"
expect_ok "$PARCELDB" import --quiet --no-overviews --db "$TMP/s.sqlite" "$TMP/src"
expect_ok "$PARCELDB" info --db "$TMP/s.sqlite"
grep -qE '(^|[^0-9])60([^0-9]|$)' "$TMP/out" || fail "the store does not hold 60 parcels: $(cat "$TMP/out")"

# Its usage errors are the command's: exit 2, one line naming `parceldb import`.
expect_error "^parceldb import: .*--no-such-option" "$PARCELDB" import --no-such-option
checks=$((checks + 1))
"$PARCELDB" import --no-such-option >/dev/null 2>&1
[ $? -eq 2 ] || fail "a usage error of import does not exit 2"
expect_ok "$PARCELDB" import --help
grep -q '^usage: parceldb import' "$TMP/out" || fail "import --help: $(head -2 "$TMP/out")"

# A parceldb copied alone: a clear error naming both places, exit 1.
mkdir -p "$TMP/lonely/bin"
cp "$PARCELDB" "$TMP/lonely/bin/parceldb"
expect_error "cannot run the importer: $TMP/lonely/bin/parceldb-import: No such file.*libexec/parceldb/parceldb-import: No such file" \
    "$TMP/lonely/bin/parceldb" import --db "$TMP/s.sqlite" "$TMP/src"
checks=$((checks + 1))
"$TMP/lonely/bin/parceldb" import --db "$TMP/s.sqlite" "$TMP/src" >/dev/null 2>&1
[ $? -eq 1 ] || fail "a missing importer does not exit 1"

# The exec itself, through a stand-in helper that reports what it got: the
# same PID (the shell's, which execs parceldb), the arguments exactly, the
# environment and stdin. Found next to parceldb, then in ../libexec/parceldb.
for layout in next libexec; do
    mkdir -p "$TMP/$layout/bin"
    cp "$PARCELDB" "$TMP/$layout/bin/parceldb"
    helper=$TMP/$layout/bin/parceldb-import
    if [ $layout = libexec ]; then
        mkdir -p "$TMP/$layout/libexec/parceldb"
        helper=$TMP/$layout/bin/../libexec/parceldb/parceldb-import
    fi
    # ($0 of a script is the path exec was given, not argv[0].)
    printf '#!/bin/sh\necho "pid=$$ env=$PDB_EXEC_TEST"\nprintf "[%%s]" "$0" "$@"; echo\ncat\n' \
        >"$helper"
    chmod +x "$helper"
    checks=$((checks + 1))
    got=$(echo from-stdin | PDB_EXEC_TEST=passed sh -c 'echo "pid=$$ env=passed"; exec "$0" "$@"' \
        "$TMP/$layout/bin/parceldb" import --db 'a b.sqlite' '' x 2>&1)
    first=$(echo "$got" | head -1)
    want="$first
$first
[$helper][--db][a b.sqlite][][x]
from-stdin"
    [ "$got" = "$want" ] || fail "exec of the helper ($layout): got
$got
want
$want"
done

# Where /proc/self/exe cannot be read (no /proc), there is no safe place to
# look: a parceldb-import in the working directory (or in ../libexec/parceldb
# from it) must not be run. Needs a mount namespace (root); sanitizer
# runtimes need /proc themselves.
if unshare -m true 2>/dev/null && ! ldd "$PARCELDB" | grep -qE 'lib(a|t)san'; then
    mkdir -p "$TMP/cwd/bin" "$TMP/cwd/libexec/parceldb"
    printf '#!/bin/sh\necho ran from the working directory\n' >"$TMP/cwd/bin/parceldb-import"
    chmod +x "$TMP/cwd/bin/parceldb-import"
    cp "$TMP/cwd/bin/parceldb-import" "$TMP/cwd/libexec/parceldb/"
    expect_error "^parceldb: cannot run the importer: cannot locate this executable: /proc/self/exe" \
        unshare -m --propagation private sh -c 'umount -l /proc && cd "$1" && exec "$2" import x' \
        sh "$TMP/cwd/bin" "$PARCELDB"
fi
finish
