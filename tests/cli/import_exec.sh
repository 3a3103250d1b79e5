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
finish
