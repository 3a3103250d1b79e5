#!/usr/bin/env bash
# PostGIS store benchmark (issue 17): the same province and the same
# commands against a PostgreSQL/PostGIS store (`--db postgresql://...`) and
# their anchors, all in one run on one private cluster (bench/lookup/pg.sh):
#   import  `parceldb import` of the whole province into PostGIS (default
#           flags, overviews included) against `ogr2ogr -f PostgreSQL` with
#           the same reprojection and a GiST index, alternating, medians of
#           RUNS runs each;
#   lookup  `parceldb lookup --points` on the PostGIS store against the
#           PostGIS SQL anchor of bench/lookup (anchor_postgis.c: one
#           prepared ST_Contains per point) on the very same tables, and
#           against parceldb on the SQLite store;
#   tiles   `parceldb render` of the province-wide tile set
#           (bench/render/sample_tiles.c) from the PostGIS store against
#           the SQLite store made from the same files, and every tile
#           compared byte for byte.
#   bench/pg/run.sh [--smoke]
#   --smoke: 2 communes of 300 parcels, one run each (seconds).
# Environment: RUNS (default 3), POINTS (default 100000), TILES_PER_ZOOM
# (default 100), PDB_BINARY_DIR (default build).
. "$(dirname "$0")/../lib.sh"
cd "$BENCH_ROOT"

communes=all
per_commune=5278
runs=${RUNS:-3}
npoints=${POINTS:-100000}
tiles_per_zoom=${TILES_PER_ZOOM:-100}
if [ "${1:-}" = "--smoke" ]; then
    communes=2
    per_commune=300
    runs=1
    npoints=2000
    tiles_per_zoom=5
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdbbench.XXXXXX")
    chmod 755 "$WORK"
    trap 'pg_stop; rm -rf "$WORK"' EXIT
else
    trap 'pg_stop' EXIT
fi
export PG_PORT=${PG_PORT:-55480}
. "$BENCH_ROOT/bench/lookup/pg.sh"
BUILD=${PDB_BINARY_DIR:-$BENCH_ROOT/build}
P=$BUILD/cli/parceldb
SYNTH=$BUILD/samples/pdb-synth
[ -x "$P" ] && [ -x "$SYNTH" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
BIN=$WORK/bin
mkdir -p "$BIN"
cc -O2 -Wall -Wextra -o "$BIN/anchor_postgis" bench/lookup/anchor_postgis.c \
    -I"$(pg_config --includedir)" -lpq
cc -O2 -Wall -Wextra -o "$BIN/gen_points" bench/lookup/gen_points.c -lsqlite3 -lm
cc -O2 -Wall -Wextra -o "$BIN/sample_tiles" bench/render/sample_tiles.c -lsqlite3 -lm
TIMES=$WORK/pg-times
rm -f "$TIMES"

src=$WORK/province-$communes-$per_commune
if [ ! -f "$src/.complete" ]; then
    rm -rf "$src"
    echo "generating the province ($communes communes x $per_commune parcels) ..."
    "$SYNTH" --out "$src" --communes "$communes" --parcels-per-commune "$per_commune" \
        --defects none --quiet
    touch "$src/.complete"
fi
parcels=$(for f in "$src"/*.shp; do ogrinfo -so -al "$f" | awk '/Feature Count/ {print $3}'; done |
    awk '{s += $1} END {print s}')

pg_start
# fresh_db NAME: an empty database with PostGIS.
fresh_db() {
    pg_psql postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" >/dev/null
    pg_psql postgres -c "CREATE DATABASE $1" >/dev/null
    pg_psql "$1" -c "CREATE EXTENSION postgis" >/dev/null
}
PGSTORE=$(pg_conninfo pdb)

run_parceldb() {
    fresh_db pdb
    "$P" init --db "$PGSTORE" >/dev/null
    timed parceldb-pg "$P" import --quiet --db "$PGSTORE" "$src"
}
run_ogr2ogr() {
    fresh_db ogr
    # What a user would run: one ogr2ogr per file appending to one table
    # with a GiST index, reprojected to WGS 84 (the PostgreSQL driver
    # loads through COPY).
    cat >"$WORK/ogr2ogr-pg.sh" <<SH
set -e
create=(-lco GEOMETRY_NAME=geom -lco SPATIAL_INDEX=GIST -lco FID=id)
for f in "$src"/*.shp; do
    ogr2ogr -f PostgreSQL "PG:$(pg_conninfo ogr)" "\${create[@]}" -append -nln parcels \
        -nlt MULTIPOLYGON -t_srs EPSG:4326 "\$f"
    create=()
done
SH
    timed ogr2ogr-pg bash "$WORK/ogr2ogr-pg.sh"
}
for _ in $(seq 1 "$runs"); do
    run_ogr2ogr
    run_parceldb
done
got_p=$(pg_psql pdb -At -c "SELECT count(*) FROM parceldb.parcels WHERE valid_to IS NULL")
got_o=$(pg_psql ogr -At -c "SELECT count(*) FROM parcels")
[ "$got_p" = "$parcels" ] || { echo "parceldb stored $got_p of $parcels parcels" >&2; exit 1; }
[ "$got_o" = "$parcels" ] || { echo "ogr2ogr stored $got_o of $parcels parcels" >&2; exit 1; }
stale=$(pg_psql pdb -At -c "SELECT count(*) FROM parceldb.overviews_stale")
[ "$stale" = 0 ] || { echo "the import left $stale communes' overviews stale" >&2; exit 1; }

# The same province in an SQLite store, for the lookups' points and the tiles.
sq=$WORK/pg-bench-$communes-$per_commune.sqlite
if [ ! -f "$sq" ]; then
    "$P" init --db "$sq.tmp" >/dev/null
    "$P" import --quiet --db "$sq.tmp" "$src"
    mv "$sq.tmp" "$sq"
fi

# Lookups: the same points, answers compared.
pts=$WORK/pg-points-$communes-$npoints.csv
[ -f "$pts" ] || "$BIN/gen_points" --db "$sq" --out "$pts" --count "$npoints" --seed 6 >&2
anchor_conn="$(pg_conninfo pdb) options=-csearch_path=parceldb,public"
"$P" lookup --db "$PGSTORE" --points "$pts" >/dev/null # warm
"$BIN/anchor_postgis" "$anchor_conn" "$pts" >/dev/null 2>&1
for _ in $(seq 1 "$runs"); do
    timed lookup-pg "$P" lookup --db "$PGSTORE" --points "$pts" >"$WORK/pg-lookup-parceldb.csv"
    timed lookup-anchor "$BIN/anchor_postgis" "$anchor_conn" "$pts" >"$WORK/pg-lookup-anchor.csv" 2>/dev/null
    timed lookup-sqlite "$P" lookup --db "$sq" --points "$pts" >"$WORK/pg-lookup-sqlite.csv"
done
cmp -s "$WORK/pg-lookup-parceldb.csv" "$WORK/pg-lookup-sqlite.csv" ||
    { echo "lookups on the PostGIS and the SQLite store disagree" >&2; exit 1; }
# The anchor prints store ids; parceldb's ids are the same numbers when both
# stores were filled by one import of the same files.
if ! cmp -s <(cut -d, -f3- "$WORK/pg-lookup-parceldb.csv") <(cut -d, -f3- "$WORK/pg-lookup-anchor.csv"); then
    echo "note: the PostGIS anchor's answers differ on $(diff <(cut -d, -f3- "$WORK/pg-lookup-parceldb.csv") <(cut -d, -f3- "$WORK/pg-lookup-anchor.csv") | grep -c '^<') points (points on a shared edge: each takes its own first match)"
fi

# Tiles: the province-wide set from both stores, compared byte for byte.
tiles=$WORK/pg-tiles.txt
"$BIN/sample_tiles" "$sq" "$tiles_per_zoom" 19 >"$tiles" 2>/dev/null
"$P" render --db "$PGSTORE" --tiles "$tiles" --out "$WORK/pg-tiles-warm" >/dev/null
for _ in $(seq 1 "$runs"); do
    rm -rf "$WORK/pg-tiles-pg" "$WORK/pg-tiles-sq"
    timed render-pg "$P" render --db "$PGSTORE" --tiles "$tiles" --out "$WORK/pg-tiles-pg" >/dev/null
    timed render-sqlite "$P" render --db "$sq" --tiles "$tiles" --out "$WORK/pg-tiles-sq" >/dev/null
done
diff -r "$WORK/pg-tiles-pg" "$WORK/pg-tiles-sq" >/dev/null ||
    { echo "tiles from the PostGIS and the SQLite store differ" >&2; exit 1; }
ntiles=$(wc -l <"$tiles")
pg_mib=$(pg_psql pdb -At -c "SELECT pg_database_size('pdb') / 1048576")

m() { median "$1" 2; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
cat <<REPORT
PostGIS store: $parcels parcels, medians of $runs runs; machine: $(machine); load $(loadavg)
| what | parceldb on PostGIS | anchor | ratio (anchor time / parceldb time) |
|---|---|---|---|
| import, default flags | $(m parceldb-pg) s | ogr2ogr -f PostgreSQL $(m ogr2ogr-pg) s | $(ratio "$(m ogr2ogr-pg)" "$(m parceldb-pg)")x |
| $npoints lookups (lookup --points) | $(m lookup-pg) s | anchor_postgis $(m lookup-anchor) s | $(ratio "$(m lookup-anchor)" "$(m lookup-pg)")x |
| $npoints lookups, PostGIS store vs SQLite store | $(m lookup-pg) s | SQLite store $(m lookup-sqlite) s | $(ratio "$(m lookup-sqlite)" "$(m lookup-pg)")x |
| $ntiles province-wide tiles (render) | $(m render-pg) s | SQLite store $(m render-sqlite) s | $(ratio "$(m render-sqlite)" "$(m render-pg)")x |
tiles identical byte for byte: yes; lookups identical to the SQLite store's: yes
PostGIS database size: $pg_mib MiB; peak RSS of the import: $(awk -v k="$(median parceldb-pg 3)" 'BEGIN {printf "%.0f", k / 1024}') MiB
REPORT
