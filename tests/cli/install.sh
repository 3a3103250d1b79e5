#!/usr/bin/env bash
# The library as another project uses it: installed into a prefix, found
# through pkg-config and through CMake's find_package, exporting only the
# public API (hidden visibility).
. "$(dirname "$0")/lib.sh"
: "${PDB_BINARY_DIR:?}"
PREFIX=$TMP/prefix

expect_ok cmake --install "$PDB_BINARY_DIR" --prefix "$PREFIX"
LIBDIR=$(dirname "$(find "$PREFIX" -name 'libparceldb.so' | head -1)")
[ -f "$PREFIX/include/parceldb.h" ] || fail "parceldb.h not installed"
[ -f "$LIBDIR/pkgconfig/parceldb.pc" ] || fail "parceldb.pc not installed"
[ -f "$LIBDIR/cmake/parceldb/parceldbConfig.cmake" ] || fail "CMake package not installed"

# The installed command finds its importer in libexec, wherever the prefix.
[ -x "$PREFIX/libexec/parceldb/parceldb-import" ] || fail "parceldb-import not installed in libexec"
expect_ok env LD_LIBRARY_PATH="$LIBDIR" "$PREFIX/bin/parceldb" import --help
grep -q '^usage: parceldb import' "$TMP/out" || fail "installed 'parceldb import --help': $(head -2 "$TMP/out")"

# Only pdb_* symbols are exported; internals (pdb__*) stay hidden.
exported=$(nm -D --defined-only "$LIBDIR/libparceldb.so" | awk '$2 == "T" {print $3}')
echo "$exported" | grep -q '^pdb_store_open$' || fail "pdb_store_open is not exported"
leaked=$(echo "$exported" | grep -v '^pdb_[a-z]' | grep -v '^_' | head -5)
expect_eq "symbols outside the API" "$leaked" ""

mkdir -p "$TMP/consumer"
cat >"$TMP/consumer/main.c" <<'C'
#include <parceldb.h>
#include <stdio.h>
int main(void)
{
    pdb_ctx *ctx;
    int epsg = 0;
    double x = 105.402, y = 21.322;
    if (pdb_ctx_new(&ctx) != PDB_OK || pdb_crs_resolve(ctx, "104-45", &epsg) != PDB_OK ||
        pdb_crs_transform(ctx, 4326, epsg, &x, &y, 1) != PDB_OK)
        return 1;
    printf("%d %.0f %.0f\n", epsg, x, y);
    pdb_ctx_free(ctx);
    return 0;
}
C
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
CFLAGS_EXTRA=${PDB_CONSUMER_CFLAGS:-}
# shellcheck disable=SC2046,SC2086 # word splitting is meant
expect_ok cc $CFLAGS_EXTRA -o "$TMP/consumer/pc" "$TMP/consumer/main.c" $(pkg-config --cflags --libs parceldb)
expect_ok env LD_LIBRARY_PATH="$LIBDIR" "$TMP/consumer/pc"
expect_eq "consumer via pkg-config" "$(cat "$TMP/out")" "9208 567440 2358740"

cat >"$TMP/consumer/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(parceldb REQUIRED)
add_executable(consumer main.c)
target_link_libraries(consumer PRIVATE parceldb::parceldb)
CM
expect_ok cmake -S "$TMP/consumer" -B "$TMP/consumer/build" -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DCMAKE_C_FLAGS="$CFLAGS_EXTRA" -DCMAKE_EXE_LINKER_FLAGS="$CFLAGS_EXTRA"
expect_ok cmake --build "$TMP/consumer/build"
expect_ok env LD_LIBRARY_PATH="$LIBDIR" "$TMP/consumer/build/consumer"
expect_eq "consumer via find_package" "$(cat "$TMP/out")" "9208 567440 2358740"
finish
