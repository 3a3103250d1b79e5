#!/usr/bin/env bash
# Lookup benchmark (issue 6): `parceldb lookup --points` over POINTS points
# (default 100,000) on the full synthetic province, beside SpatiaLite's own
# SQL (anchor_spatialite.c: SpatialIndex + ST_Contains, one connection, one
# prepared statement) on the same store and PostGIS (anchor_postgis.c:
# libpq over a Unix socket, a prepared ST_Contains on a GiST-indexed table
# loaded with the same parcels by ogr2ogr), on the same points. Each is
# timed as the whole command a user runs (opening the store or connecting,
# reading the CSV, writing the answers), alternating, RUNS runs (default 3),
# medians, peak memory. Every answer is compared point by point
# (compare.sh); a disagreement that no class explains fails the run. Then
# the same at 100k, 400k, 800k parcels and a 4x province (scaling), with the
# start-up time of a one-point lookup.
#
#   bench/lookup/run.sh [--smoke] [--no-scaling]
#   --smoke       2 communes of 300 parcels (and 100 for the scaling), 2,000
#                 points, one run, all three tools (PostgreSQL started too);
#                 seconds. CI runs it so that this script cannot rot.
#   --no-scaling  the full province only
# Environment: RUNS, POINTS, PDB_BINARY_DIR (default build-rel: a Release
# build), RESULTS (default bench/work/results), PG_PORT, BENCH_KEEP=1 (keep
# the smoke run's temporary directory), SCALE_PPCS (the scaling's parcels
# per commune, default "676 2703 5278 21112"; "5278 21112" is the province
# and the 4x size only).
# Writes RESULTS/lookup.md (the tables), lookup-times.txt (every run),
# lookup-scaling.dat (for the plot), lookup-summary.txt (for
# bench/run-all.sh), lookup-disagreements-*.csv.
{ # the whole script is read before it runs, so editing it mid-run is safe
. "$(dirname "$0")/../lib.sh"
HERE=$BENCH_ROOT/bench/lookup
cd "$BENCH_ROOT"

smoke=0
scaling=1
for a in "$@"; do
    case $a in
    --smoke) smoke=1 ;;
    --no-scaling) scaling=0 ;;
    *)
        echo "usage: bench/lookup/run.sh [--smoke] [--no-scaling]" >&2
        exit 2
        ;;
    esac
done

runs=${RUNS:-3}
npoints=${POINTS:-100000}
communes=all
main_ppc=5278
scale_ppcs=${SCALE_PPCS:-676 2703 5278 21112}
case " $scale_ppcs " in
*" $main_ppc "*) ;;
*)
    echo "SCALE_PPCS must include the province's $main_ppc parcels per commune" >&2
    exit 2
    ;;
esac
if [ $smoke -eq 1 ]; then
    communes=2
    main_ppc=300
    scale_ppcs="100 300"
    npoints=${POINTS:-2000}
    runs=1
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdbbench.XXXXXX")
    chmod 755 "$WORK" # the postgres user works in it when run as root
    export PG_SHARED_BUFFERS=128MB
fi
[ $scaling -eq 1 ] || scale_ppcs=$main_ppc
BUILD=${PDB_BINARY_DIR:-$BENCH_ROOT/build-rel}
P=$BUILD/cli/parceldb
SYNTH=$BUILD/samples/pdb-synth
[ -x "$P" ] && [ -x "$SYNTH" ] || {
    echo "build first: cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel" >&2
    exit 1
}
RESULTS=${RESULTS:-$WORK/results}
mkdir -p "$RESULTS"
export TIMES=$RESULTS/lookup-times.txt
rm -f "$TIMES"

. "$HERE/pg.sh"
. "$HERE/compare.sh"
cleanup() {
    pg_stop
    if [ $smoke -eq 1 ] && [ -z "${BENCH_KEEP:-}" ]; then rm -rf "$WORK"; fi
    if [ $smoke -eq 1 ] && [ -n "${BENCH_KEEP:-}" ]; then echo "kept $WORK" >&2; fi
}
trap cleanup EXIT

# The generator and the two anchors, built with cc (rebuilt when a source
# is newer).
BIN=$WORK/bin
mkdir -p "$BIN"
build_tool() { # build_tool NAME CFLAGS/LIBS...
    local name=$1
    shift
    if [ ! -x "$BIN/$name" ] || [ "$HERE/$name.c" -nt "$BIN/$name" ] ||
        [ "$HERE/csvpoints.h" -nt "$BIN/$name" ]; then
        cc -O2 -Wall -Wextra -o "$BIN/$name" "$HERE/$name.c" "$@"
    fi
}
command -v pg_config >/dev/null || {
    echo "libpq-dev is not installed (no pg_config): run bench/setup.sh or scripts/install-deps.sh" >&2
    exit 1
}
build_tool gen_points -lsqlite3
build_tool anchor_spatialite -lsqlite3
build_tool anchor_postgis -I"$(pg_config --includedir)" -lpq

# store_for PPC: the store of the province made with PPC parcels per
# commune, generated and imported once (then reused).
store_for() {
    local ppc=$1 src store want have flags=--no-overviews
    src=$WORK/province-$communes-$ppc
    if [ "$communes" = all ] && [ "$ppc" = 5278 ]; then
        store=$WORK/prov.sqlite # the one bench/render and bench/server use: with overviews
        flags=
    else
        store=$WORK/store-$communes-$ppc.sqlite
    fi
    want=$(($([ "$communes" = all ] && echo 148 || echo "$communes") * ppc))
    if [ -f "$store" ]; then
        have=$(sqlite3 "$store" "SELECT count(*) FROM parcels WHERE valid_to IS NULL" 2>/dev/null || echo 0)
        if [ "$have" = "$want" ]; then
            # A store imported before the lookup index (docs/lookup.md) gets it
            # at a read-write open: a re-import of one file, skipped by its
            # checksum, is one.
            local idx
            idx=$(sqlite3 "$store" "SELECT count(*) FROM lookup_index" 2>/dev/null || echo 0)
            if [ "$idx" -lt "$(sqlite3 "$store" "SELECT count(*) FROM communes")" ] && [ -d "$src" ]; then
                "$P" import --quiet --db "$store" "$(ls "$src"/*.shp | head -1)" >/dev/null 2>&1 || true
            fi
            echo "$store"
            return 0
        fi
    fi
    if [ ! -f "$src/.complete" ]; then
        rm -rf "$src"
        echo "generating $communes communes x $ppc parcels into $src ..." >&2
        "$SYNTH" --out "$src" --communes "$communes" --parcels-per-commune "$ppc" --defects none --quiet
        touch "$src/.complete"
    fi
    echo "importing $src into $store ..." >&2
    rm -f "$store" "$store"-*
    "$P" init --db "$store" >/dev/null
    "$P" import --quiet $flags --db "$store" "$src" >&2
    have=$(sqlite3 "$store" "SELECT count(*) FROM parcels WHERE valid_to IS NULL")
    [ "$have" = "$want" ] || { echo "$store holds $have of $want parcels" >&2; return 1; }
    echo "$store"
}

# points_for NAME STORE: the points file of a store (made once; the seed is
# fixed, so the same store gives the same points).
points_for() {
    local f=$WORK/points-$1-$npoints.csv
    if [ ! -f "$f" ] || [ "$2" -nt "$f" ]; then
        "$BIN/gen_points" --db "$2" --out "$f.tmp" --count "$npoints" --seed 6 >&2
        mv "$f.tmp" "$f"
    fi
    echo "$f"
}

ms() { awk -v s="$1" 'BEGIN {printf "%.1f", s * 1000}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.0f", k / 1024}'; }

# measure NAME STORE: the three tools on the store's points, alternating;
# then the one-point start-up; then the comparison. Appends one line to
# lookup-scaling.dat and key=value lines to lookup-NAME.txt.
measure() {
    local name=$1 store=$2 pts one conn parcels r t
    pts=$(points_for "$name" "$store")
    one=$WORK/one-point.csv
    head -2 "$pts" >"$one"
    parcels=$(sqlite3 "$store" "SELECT count(*) FROM parcels WHERE valid_to IS NULL")
    echo "loading $parcels parcels into PostGIS (database $name) ..." >&2
    pg_load "$name" "$store"
    conn=$(pg_conninfo "$name")
    local out=$RESULTS/lookup-$name
    # Warm the page cache, shared_buffers and every library once, untimed.
    "$P" lookup --db "$store" --points "$pts" >/dev/null
    "$BIN/anchor_spatialite" "$store" "$pts" >/dev/null
    "$BIN/anchor_postgis" "$conn" "$pts" >/dev/null 2>&1
    echo "timing $name: $runs alternating runs of $npoints points ..." >&2
    for r in $(seq "$runs"); do
        timed "$name/parceldb" "$P" lookup --db "$store" --points "$pts" >"$out-parceldb.csv"
        timed "$name/spatialite" "$BIN/anchor_spatialite" "$store" "$pts" >"$out-spatialite.csv"
        timed "$name/postgis" "$BIN/anchor_postgis" "$conn" "$pts" >"$out-postgis.csv" 2>>"$out-postgis.err"
    done
    for r in $(seq "$((runs > 3 ? runs : 3))"); do
        timed "$name/start-parceldb" "$P" lookup --db "$store" --points "$one" >/dev/null
        timed "$name/start-spatialite" "$BIN/anchor_spatialite" "$store" "$one" >/dev/null
        timed "$name/start-postgis" "$BIN/anchor_postgis" "$conn" "$one" >/dev/null 2>&1
    done
    compare_answers "$store" "$pts" "$out-parceldb.csv" "$out-spatialite.csv" "$out-postgis.csv" \
        "$RESULTS/lookup-disagreements-$name" || return 1
    local tp ts tg
    tp=$(median "$name/parceldb" 2)
    ts=$(median "$name/spatialite" 2)
    tg=$(median "$name/postgis" 2)
    {
        echo "parcels=$parcels"
        echo "points=$npoints"
        echo "runs=$runs"
        echo "store_mib=$(mib $(($(stat -c %s "$store") / 1024)))"
        echo "pg_mib=$(pg_psql "$name" -At -c "SELECT pg_total_relation_size('parcels') / 1048576")"
        for tool in parceldb spatialite postgis; do
            t=$(median "$name/$tool" 2)
            echo "${tool}_s=$t"
            echo "${tool}_all_s=$(awk -v l="$name/$tool" '$1 == l {printf "%s%s", sep, $2; sep = ", "}' "$TIMES")"
            echo "${tool}_per_s=$(awk -v n="$npoints" -v t="$t" 'BEGIN {printf "%.0f", n / t}')"
            echo "${tool}_us=$(awk -v n="$npoints" -v t="$t" 'BEGIN {printf "%.2f", t / n * 1e6}')"
            echo "${tool}_start_ms=$(ms "$(median "$name/start-$tool" 2)")"
            echo "${tool}_marginal_us=$(awk -v n="$npoints" -v t="$t" -v s="$(median "$name/start-$tool" 2)" \
                'BEGIN {printf "%.2f", (t - s) / n * 1e6}')"
            echo "${tool}_rss_mib=$(mib "$(median "$name/$tool" 3)")"
        done
        echo "postgis_backend_rss_mib=$(awk '/backend peak RSS/ {if ($5 > m) m = $5} END {printf "%.0f", m / 1024}' "$out-postgis.err")"
        echo "ratio_spatialite=$(awk -v a="$ts" -v b="$tp" 'BEGIN {printf "%.2f", a / b}')"
        echo "ratio_postgis=$(awk -v a="$tg" -v b="$tp" 'BEGIN {printf "%.2f", a / b}')"
        echo "disagreements=$(cat "$RESULTS/lookup-disagreements-$name.total")"
    } >"$RESULTS/lookup-$name.txt"
}

get() { sed -n "s/^$2=//p" "$RESULTS/lookup-$1.txt"; }

echo "lookup benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(loadavg)" >&2
pg_start
main_name=
for ppc in $scale_ppcs; do
    store=$(store_for "$ppc")
    name=p$ppc
    [ "$ppc" = "$main_ppc" ] && main_name=$name
    measure "$name" "$store"
done
load_end=$(loadavg)

{
    m=$main_name
    echo "Lookups: $(get $m points) points ($(date -u '+%Y-%m-%d %H:%M UTC')) on $(get $m parcels) current parcels" \
        "($communes communes x $main_ppc), median of $runs alternating runs, each the whole command."
    echo "machine: $(machine); load average at the end $load_end"
    echo
    echo "| tool | seconds (runs) | median s | lookups/s | us per lookup | peak RSS MiB | parceldb speed / tool's |"
    echo "|---|---|---|---|---|---|---|"
    for tool in parceldb spatialite postgis; do
        case $tool in
        parceldb) label='`parceldb lookup --points`' ;;
        spatialite) label='SpatiaLite SQL (SpatialIndex + ST_Contains)' ;;
        postgis) label='PostGIS (GiST + ST_Contains, Unix socket)' ;;
        esac
        rss=$(get $m ${tool}_rss_mib)
        [ $tool = postgis ] && rss="$rss client + $(get $m postgis_backend_rss_mib) server backend"
        ratio=1.00
        [ $tool = parceldb ] || ratio=$(get $m ratio_$tool)
        echo "| $label | $(get $m ${tool}_all_s) | $(get $m ${tool}_s) | $(get $m ${tool}_per_s) | $(get $m ${tool}_us) | $rss | ${ratio}x |"
    done
    echo
    echo "Start-up (a one-point CSV, whole command, median): parceldb $(get $m parceldb_start_ms) ms," \
        "SpatiaLite $(get $m spatialite_start_ms) ms, PostGIS $(get $m postgis_start_ms) ms."
    echo
    echo "Answers compared point by point: $(get $m disagreements) disagreements, every one explained:"
    echo
    echo "| class | kind of point | count |"
    echo "|---|---|---|"
    awk '$1 == "kind" {print "| " $2 " | " $3 " | " $4 " |"}' "$RESULTS/lookup-disagreements-$m.txt"
    echo
    echo "(boundary: on the parcel's edge or vertex, where ST_Contains is false; parceldb gives the"
    echo "parcel just east, checked. rounding: within 1e-12 degrees of an edge, each tool rounds its"
    echo "own way. Listed in lookup-disagreements-$m.csv.)"
    if [ $scaling -eq 1 ]; then
        echo
        echo "Scaling ($(get $m points) points each; us per lookup = whole command / points; marginal = without the one-point start-up):"
        echo
        echo "| parcels | store MiB | PostGIS table MiB | parceldb lookups/s | SpatiaLite lookups/s | PostGIS lookups/s | us per lookup parceldb / SpatiaLite / PostGIS | marginal us parceldb / SpatiaLite / PostGIS | start-up ms parceldb / SpatiaLite / PostGIS | peak RSS MiB parceldb / SpatiaLite / PostGIS backend | ratio vs SpatiaLite / PostGIS |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|"
        for ppc in $scale_ppcs; do
            n=p$ppc
            echo "| $(get $n parcels) | $(get $n store_mib) | $(get $n pg_mib) | $(get $n parceldb_per_s) | $(get $n spatialite_per_s) | $(get $n postgis_per_s) | $(get $n parceldb_us) / $(get $n spatialite_us) / $(get $n postgis_us) | $(get $n parceldb_marginal_us) / $(get $n spatialite_marginal_us) / $(get $n postgis_marginal_us) | $(get $n parceldb_start_ms) / $(get $n spatialite_start_ms) / $(get $n postgis_start_ms) | $(get $n parceldb_rss_mib) / $(get $n spatialite_rss_mib) / $(get $n postgis_backend_rss_mib) | $(get $n ratio_spatialite)x / $(get $n ratio_postgis)x |"
        done
    fi
} | tee "$RESULTS/lookup.md"

# parcels, then us per lookup for parceldb, SpatiaLite, PostGIS (the plot's data).
for ppc in $scale_ppcs; do
    n=p$ppc
    echo "$(get $n parcels) $(get $n parceldb_us) $(get $n spatialite_us) $(get $n postgis_us)"
done >"$RESULTS/lookup-scaling.dat"
cp "$RESULTS/lookup-$main_name.txt" "$RESULTS/lookup-summary.txt"
exit
}
