#!/usr/bin/env bash
# Vector-tile benchmark (issue 18): `parceldb render --format mvt` against
# PostGIS's ST_AsMVT (the engine behind Martin and pg_tileserv:
# bench/mvt/anchor_postgis_mvt.c) on the same parcels, and against GDAL's
# MVT writer (`ogr2ogr -f MVT`) for one commune, in the same run.
#   province  at z12, z14 and z16, TILES_PER_ZOOM distinct tiles drawn like
#             traffic over the whole store (bench/render/sample_tiles.c,
#             seeded); each tool single-threaded, ROUNDS alternating
#             rounds, the median round reported.
#   commune   every tile ogr2ogr writes for COMMUNE at each zoom (it writes
#             a whole pyramid), parceldb rendering the same tiles.
#   sizes     every tile holding a parcel at z12, z14 and z16 on the whole
#             province (not timed): the largest tile in bytes and the p99.
# Both tools end a province-wide tile the same way: written to a file in
# a directory on a tmpfs (TILE_FS, default /dev/shm; the work directory
# when that is not a writable tmpfs, said in the report), so that the disk
# is not part of either rate. Until session 30 parceldb wrote to the work
# directory and the anchor wrote nothing: on the virtual disk of session
# 30's machine that was 1014 against 1496 z16 tiles/s for parceldb to ext4
# and to tmpfs (median of 9 alternating runs), a third of its time.
# What each tool puts in a tile: parceldb its three layers (parcels,
# communes, labels; at z12 and z14 the land-use overviews, as its PNG
# tiles); PostGIS and GDAL the parcels layer only, every parcel at every
# zoom (their way: neither has overviews).
#
#   bench/mvt/run.sh [--smoke]
#   --smoke   2 communes of 300 parcels, 20 tiles a zoom, 1 round (CI).
# Environment: ROUNDS (3), TILES_PER_ZOOM (250), TILE_SEED (19), TILE_FS, COMMUNE
# (the store's first), PDB_BINARY_DIR (build-rel), RESULTS
# (bench/work/results), STORE (bench/work/prov.sqlite).
# Writes RESULTS/mvt.md and RESULTS/mvt-summary.txt.
{ # the whole script is read before it runs, so editing it mid-run is safe
. "$(dirname "$0")/../lib.sh"
. "$BENCH_ROOT/bench/lookup/pg.sh"
HERE=$BENCH_ROOT/bench/mvt
bench_args mvt "$@"
rounds=${ROUNDS:-3}
per_zoom=${TILES_PER_ZOOM:-250}
bench_need "run scripts/install-deps.sh" ogr2ogr sqlite3 python3 cc pkg-config
ogrinfo --formats | grep -q '^ *MVT' || {
    echo "this GDAL has no MVT driver: $(gdalinfo --version)" >&2
    exit 1
}

if [ $smoke -eq 1 ]; then
    rounds=1
    per_zoom=${TILES_PER_ZOOM:-20}
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdbmvt.XXXXXX")
    chmod 755 "$WORK"
    PGDATA_DIR=$WORK/pg
    PGSOCK_DIR=$WORK/pgsock
    RESULTS=${RESULTS:-$WORK/results}
    "$SYNTH" --out "$WORK/src" --communes 2 --parcels-per-commune 300 --defects none --quiet
    STORE=$WORK/smoke.sqlite
    "$P" init --db "$STORE" >/dev/null
    "$P" import --quiet --db "$STORE" "$WORK/src"
else
    RESULTS=${RESULTS:-$WORK/results}
    STORE=${STORE:-$WORK/prov.sqlite}
    [ -f "$STORE" ] || {
        echo "$STORE is missing: bench/run-all.sh makes it" >&2
        exit 1
    }
fi
STORE=$(cd "$(dirname "$STORE")" && pwd)/$(basename "$STORE")
mkdir -p "$RESULTS"
MW=$WORK/mvt
rm -rf "$MW"
mkdir -p "$MW"
OUTFS=${TILE_FS:-/dev/shm}
if [ "$(stat -f -c %T "$OUTFS" 2>/dev/null)" = tmpfs ] && [ -w "$OUTFS" ]; then
    OUTD=$(mktemp -d "$OUTFS/pdbmvt-out.XXXXXX")
    out_where="a tmpfs ($OUTFS)"
else
    OUTD=$(mktemp -d "$MW/out.XXXXXX")
    out_where="the work directory's file system ($OUTFS is not a writable tmpfs)"
fi
cleanup() {
    rm -rf "$OUTD"
    pg_stop
    if [ $smoke -eq 1 ] && [ -z "${KEEP_WORK:-}" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

cc -O2 -Wall -Wextra -o "$MW/sample_tiles" "$BENCH_ROOT/bench/render/sample_tiles.c" -lsqlite3 -lm
cc -O2 -Wall -Wextra -o "$MW/anchor" "$HERE/anchor_postgis_mvt.c" \
    $(pkg-config --cflags --libs libpq)

# PostGIS: the current parcels with what a tile carries, in EPSG:3857,
# GiST-indexed (made once per store: the database's comment is the store's
# stamp).
pg_start
db=mvt
stamp=$(sqlite3 -separator : "$STORE" "SELECT total(id), max(id), count(*) FROM parcels WHERE valid_to IS NULL")
have=$(pg_psql postgres -At -c "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$db'")
if [ "$have" != "$stamp" ]; then
    echo "loading the store's parcels into PostGIS (database $db) ..." >&2
    pg_psql postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    pg_psql "$db" -c "CREATE EXTENSION postgis"
    ogr2ogr -f PostgreSQL PG:"$(pg_conninfo "$db")" "$STORE" \
        -sql "SELECT id, commune, sheet, parcel, landuse, area_computed_m2 AS area, geom FROM parcels WHERE valid_to IS NULL" \
        -nln parcels_mvt -nlt MULTIPOLYGON -a_srs EPSG:4326 -t_srs EPSG:3857 \
        -lco GEOMETRY_NAME=geom -lco FID=fid -lco SPATIAL_INDEX=NONE --config PG_USE_COPY YES
    pg_psql "$db" -c "CREATE INDEX parcels_mvt_geom ON parcels_mvt USING gist (geom)" \
        -c "ANALYZE parcels_mvt" -c "COMMENT ON DATABASE $db IS '$stamp'"
fi
n_pg=$(pg_psql "$db" -At -c "SELECT count(*) FROM parcels_mvt")
[ "$n_pg" = "${stamp##*:}" ] || { echo "PostGIS holds $n_pg of ${stamp##*:} parcels" >&2; exit 1; }
CONN=$(pg_conninfo "$db")

# The province-wide lists.
"$MW/sample_tiles" "$STORE" "$per_zoom" "${TILE_SEED:-19}" >"$MW/tiles.txt" 2>"$MW/sample.log"
for z in 12 14 16; do awk -v z=$z '$1 == z' "$MW/tiles.txt" >"$MW/tiles-$z.txt"; done

# Correctness first: every tile of each list decodes with GDAL's MVT driver
# from both tools, and holds parcels where PostGIS's does.
/usr/bin/python3 "$HERE/check.py" "$P" "$STORE" "$CONN" "$MW" 12 14 16 || exit 1

# Warm the page cache, shared_buffers and every library once, untimed.
for z in 12 14 16; do
    head -20 "$MW/tiles-$z.txt" >"$MW/warm.txt"
    "$P" render --db "$STORE" --format mvt --tiles "$MW/warm.txt" --out "$MW/warm" >/dev/null
    "$MW/anchor" "$CONN" "$MW/warm.txt" >/dev/null
done

# Rounds, alternating tools: "tool zoom tiles seconds rate bytes".
: >"$MW/runs.txt"
for _ in $(seq "$rounds"); do
    for z in 12 14 16; do
        rm -rf "$OUTD/p" "$OUTD/g"
        "$P" render --db "$STORE" --format mvt --tiles "$MW/tiles-$z.txt" --out "$OUTD/p" |
            awk -v z=$z '{ print "parceldb", z, $1, $4, $6, $10 }' >>"$MW/runs.txt"
        mkdir -p "$OUTD/g"
        "$MW/anchor" "$CONN" "$MW/tiles-$z.txt" "$OUTD/g" |
            awk -v z=$z '{ print "postgis", z, $1, $4, $6, $10 }' >>"$MW/runs.txt"
    done
done
median_round() { # TOOL ZOOM: the median round by rate
    awk -v t="$1" -v z="$2" '$1 == t && $2 == z { print $3, $4, $5, $6 }' "$MW/runs.txt" |
        sort -k3,3g | awk 'NF { l[++n] = $0 } END { if (n) print l[int(n / 2) + 1] }'
}

# One commune through GDAL's MVT writer (a directory of tiles, no
# compression, its own tiling of the same zooms) and through parceldb on
# the tiles it wrote.
commune=${COMMUNE:-$(sqlite3 "$STORE" "SELECT code FROM communes ORDER BY code LIMIT 1")}
: >"$MW/commune.txt"
for z in 12 14 16; do
    for _ in $(seq "$rounds"); do
        rm -rf "$MW/gdal-$z"
        t0=$(date +%s.%N)
        ogr2ogr -q -f MVT "$MW/gdal-$z" "$STORE" \
            -sql "SELECT id, commune, sheet, parcel, landuse, area_computed_m2 AS area, geom FROM parcels WHERE valid_to IS NULL AND commune = '$commune'" \
            -nln parcels -dsco MINZOOM=$z -dsco MAXZOOM=$z -dsco FORMAT=DIRECTORY -dsco COMPRESS=NO \
            -dsco MAX_SIZE=100000000 -dsco MAX_FEATURES=10000000
        t1=$(date +%s.%N)
        (cd "$MW/gdal-$z" && find . -name '*.pbf' | sed 's|^\./||; s|\.pbf$||; s|/| |g') >"$MW/commune-$z.txt"
        n=$(wc -l <"$MW/commune-$z.txt")
        echo "gdal $z $n $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')" >>"$MW/commune.txt"
        rm -rf "$MW/out"
        "$P" render --db "$STORE" --format mvt --tiles "$MW/commune-$z.txt" --out "$MW/out" |
            awk -v z=$z '{ print "parceldb", z, $1, $4 }' >>"$MW/commune.txt"
    done
done
commune_median() { # TOOL ZOOM: median seconds
    awk -v t="$1" -v z="$2" '$1 == t && $2 == z { print $4 }' "$MW/commune.txt" | sort -g |
        awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# Sizes on the whole province: every tile a parcel's box touches.
/usr/bin/python3 "$HERE/check.py" --all-tiles "$STORE" "$MW" 12 14 16
for z in 12 14 16; do
    rm -rf "$MW/all"
    "$P" render --db "$STORE" --format mvt --tiles "$MW/all-$z.txt" --out "$MW/all" >"$MW/all-$z.log"
    find "$MW/all" -name '*.mvt' -printf '%s\n' | sort -n >"$MW/all-$z.sizes"
done

{
    echo "## Vector tiles: parceldb against PostGIS ST_AsMVT and GDAL's MVT writer"
    echo
    echo "Machine: $(machine); load before: $(loadavg). Store: $(basename "$STORE"), ${stamp##*:} parcels; $rounds rounds, median; commit $(git -C "$BENCH_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)."
    echo
    echo "### Province-wide, $per_zoom tiles a zoom drawn like traffic (seed ${TILE_SEED:-19}), single thread"
    echo
    echo "Each tool writes every tile to a file on $out_where."
    echo
    echo "| zoom | tiles | parceldb tiles/s | PostGIS ST_AsMVT tiles/s | ratio | parceldb mean bytes | PostGIS mean bytes |"
    echo "|---|---|---|---|---|---|---|"
    for z in 12 14 16; do
        read -r n _ rp bp <<<"$(median_round parceldb $z)"
        read -r _ _ rg bg <<<"$(median_round postgis $z)"
        echo "| z$z | $n | $rp | $rg | $(awk -v a="$rp" -v b="$rg" 'BEGIN {printf "%.2fx", a / b}') | $bp | $bg |"
    done
    echo
    echo "### Commune $commune: the tiles GDAL's MVT writer makes (ogr2ogr -f MVT, one zoom a run)"
    echo
    echo "| zoom | tiles | parceldb s | ogr2ogr s | ratio |"
    echo "|---|---|---|---|---|"
    for z in 12 14 16; do
        n=$(awk -v z=$z '$1 == "gdal" && $2 == z { print $3; exit }' "$MW/commune.txt")
        sp=$(commune_median parceldb $z)
        sg=$(commune_median gdal $z)
        echo "| z$z | $n | $sp | $sg | $(awk -v a="$sp" -v b="$sg" 'BEGIN {printf "%.2fx", b / a}') |"
    done
    echo
    echo "### Every tile holding a parcel, whole store (not timed)"
    echo
    echo "| zoom | tiles | largest bytes | p99 bytes | mean bytes |"
    echo "|---|---|---|---|---|"
    for z in 12 14 16; do
        f=$MW/all-$z.sizes
        awk -v z=$z '{ a[NR] = $1; s += $1 } END { i = int((NR - 1) * 0.99) + 1; printf "| z%s | %d | %d | %d | %.0f |\n", z, NR, a[NR], a[i], s / NR }' "$f"
    done
} >"$RESULTS/mvt.md"
{
    for z in 12 14 16; do
        read -r _ _ rp _ <<<"$(median_round parceldb $z)"
        read -r _ _ rg _ <<<"$(median_round postgis $z)"
        echo "mvt_z${z}_ratio_postgis=$(awk -v a="$rp" -v b="$rg" 'BEGIN {printf "%.2f", a / b}')"
    done
} >"$RESULTS/mvt-summary.txt"
cat "$RESULTS/mvt.md"
exit 0
}
