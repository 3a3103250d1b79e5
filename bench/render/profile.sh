#!/usr/bin/env bash
# profile.sh: where a tile's work goes, stage by stage, for one or more
# parceldb binaries on the same tiles (issue 19's "before and after").
# Counts instructions with callgrind (valgrind), which a shared machine
# does not disturb: the split is exact and repeatable, though an
# instruction of Cairo's rasteriser and one of zlib's are not the same
# time. Prints one Markdown row per binary, in millions of instructions
# per tile.
#
# usage: bench/render/profile.sh STORE TILES STYLE NAME=PARCELDB [NAME=PARCELDB ...]
#   TILES  a tile list as `parceldb render --tiles` reads it (20 tiles take
#          about a minute per binary under callgrind)
#   STYLE  e.g. the benchmark's style (bench/render/run.sh writes style.json)
# A binary from before schema 2 (commit 7c6c8fe) cannot open a newer store:
# give both a schema 1 copy (sqlite3 COPY "ALTER TABLE communes DROP COLUMN
# data_version; PRAGMA user_version = 1"), which a newer binary reads too.
set -euo pipefail
[ $# -ge 4 ] || { sed -n 2,16p "$0" >&2; exit 2; }
STORE=$1 TILES=$2 STYLE=$3
shift 3
command -v valgrind >/dev/null || { echo "profile.sh: valgrind is not installed" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pdb-profile.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
n=$(grep -c . "$TILES")
echo "Instructions per tile, millions ($n tiles of $(basename "$TILES"); callgrind):"
echo
echo "| binary | total | fetch and decode | projection | Cairo fill | path building, labels | PNG encode | start-up, files |"
echo "|---|---|---|---|---|---|---|---|"
for spec in "$@"; do
    name=${spec%%=*} bin=${spec#*=}
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$bin" render --db "$STORE" \
        --style "$STYLE" --tiles "$TILES" --out "$tmp/out" >/dev/null 2>"$tmp/err" ||
        { cat "$tmp/err" >&2; exit 1; }
    callgrind_annotate --inclusive=yes "$tmp/cg" >"$tmp/cg.txt" 2>/dev/null
    # inclusive FUNCTION: the inclusive count of the first function so named.
    inclusive() {
        awk -v f=":$1 [" 'index($0, f) { gsub(",", "", $1); print $1; exit }' "$tmp/cg.txt"
    }
    total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$tmp/cg.txt")
    awk -v name="$name" -v n="$n" -v t="$total" -v r="$(inclusive pdbt_render_tile)" \
        -v f="$(inclusive pdb_features_in_bbox)" -v c="$(inclusive collect)" \
        -v cf="$(inclusive cairo_fill)" -v p="$(inclusive pdbt_png_encode)" 'BEGIN {
        m = 1e6 * n
        printf "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", name, t / m, (f - c) / m,
            c / m, cf / m, (r - f - cf) / m, p / m, (t - r - p) / m
    }'
done
