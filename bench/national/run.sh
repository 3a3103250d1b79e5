#!/usr/bin/env bash
# The national-scale run (issue 17): N made-up provinces of 148 communes
# (pdb-synth --provinces, samples/README.md) into one PostGIS store made
# with their commune list (`parceldb init --communes`), and, in the same
# run from the same files, its first province alone into another, so that
# the report says what grows with the data and what does not:
#   import   `parceldb import` of every file (default flags, overviews
#            included): seconds, parcels per second, peak RSS;
#   size     the store's tables with their indexes and TOAST
#            (pg_total_relation_size over the schema parceldb);
#   lookups  `parceldb lookup --points` of POINTS points drawn like
#            bench/lookup's (gen_points.c) over the whole store;
#   tiles    `parceldb render --tiles` of TILES_PER_ZOOM tiles at z12, 14,
#            16 and 18 drawn like bench/render's province-wide set
#            (sample_tiles.c), over the whole store;
#   serve    the RSS of one `parceldb serve` after a warm-up (every tile
#            of the set and 2000 lookups over HTTP).
# Points and tiles are drawn from a sample of the store's current parcels
# (every k-th id, at most about 800,000, exported by ogr2ogr into a
# SpatiaLite file for the two drawing tools, which read SpatiaLite): the
# tools pick parcels uniformly, so a uniform sample draws alike.
# Seconds are wall time on a machine shared with other work; CPU seconds
# (user + system of the command) are printed beside them.
#   bench/national/run.sh [--smoke]
#   --smoke: 2 provinces x 3 communes x 300 parcels (seconds).
# Environment: PROVINCES (default 20), COMMUNES_PER_PROVINCE (148),
# PARCELS_PER_COMMUNE (5278), POINTS (100000), TILES_PER_ZOOM (100),
# KEEP_SOURCES=1 keeps the generated surveys (deleted after the import
# otherwise: 20 provinces are about 6 GB), PDB_BINARY_DIR (build).
# MEASURE_ONLY=1 measures the stores an earlier run left in the cluster
# (one whose national import was stopped: the communes it committed),
# without generating or importing; their parcels are counted.
. "$(dirname "$0")/../lib.sh"
cd "$BENCH_ROOT"

# The sizes: the full run's from the environment, or the smoke's.
if [ "${1:-}" = "--smoke" ]; then
    read -r provinces per_province per_commune npoints tiles_per_zoom <<<"2 3 300 2000 5"
    smoke=1
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/pdbnational.XXXXXX")
    chmod 755 "$WORK"
else
    provinces=${PROVINCES:-20}
    per_province=${COMMUNES_PER_PROVINCE:-148}
    per_commune=${PARCELS_PER_COMMUNE:-5278}
    npoints=${POINTS:-100000}
    tiles_per_zoom=${TILES_PER_ZOOM:-100}
    smoke=
fi
# The replica started for the RSS, the cluster, and the smoke's directory
# go at exit, also when a step fails.
serve_pid=
serve_stop() {
    [ -z "$serve_pid" ] && return 0
    kill "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
    serve_pid=
}
trap 'serve_stop; pg_stop; [ -z "$smoke" ] || rm -rf "$WORK"' EXIT
export PG_PORT=${PG_PORT:-55480} # the cluster of bench/lookup/pg.sh, in $WORK/pg
. "$BENCH_ROOT/bench/lookup/pg.sh"
BUILD=${PDB_BINARY_DIR:-$BENCH_ROOT/build}
P=$BUILD/cli/parceldb
SYNTH=$BUILD/samples/pdb-synth
for exe in "$P" "$SYNTH"; do
    [ -x "$exe" ] || { echo "no $exe: build first (scripts/build.sh)" >&2; exit 1; }
done
BIN=$WORK/bin
mkdir -p "$BIN"
for tool in lookup/gen_points render/sample_tiles; do
    cc -O2 -Wall -Wextra -o "$BIN/${tool#*/}" "bench/$tool.c" -lsqlite3 -lm
done
TIMES=$WORK/national-times
rm -f "$TIMES"

# cpu_mark NAME: notes the CPU seconds of this shell's finished children
# (from the shell's own `times`: not in a subshell, where a forked shell
# counts from zero); cpu_secs NAME prints them (user + system).
cpu_mark() { times >"$WORK/.times-$1"; }
cpu_secs() {
    awk 'NR == 2 {for (i = 1; i <= 2; i++) {split($i, t, "m"); s += t[1] * 60 + t[2]}
        printf "%.2f", s}' "$WORK/.times-$1"
}
# run LABEL CMD...: times CMD with bench/lib.sh's `timed` (wall seconds,
# peak KiB in $TIMES), and adds "LABEL-cpu SECONDS" (the CPU it used).
run() {
    cpu_mark before
    timed "$@"
    cpu_mark after
    echo "$1-cpu $(awk -v a="$(cpu_secs before)" -v b="$(cpu_secs after)" \
        'BEGIN {printf "%.2f", b - a}')" >>"$TIMES"
}
# field LABEL N: field N of LABEL's line (2 wall s, 3 peak KiB).
field() { awk -v l="$1" -v f="$2" '$1 == l {print $f; exit}' "$TIMES"; }
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.0f}" 'BEGIN {printf f, a / b}'; }

echo "national run: $provinces provinces x $per_province communes x $per_commune parcels;" \
    "machine: $(machine); load $(loadavg)"
df -h "$WORK" | tail -1 | awk '{print "disk: " $4 " free on " $6}'

# The surveys, and the commune list beside them.
src=$WORK/national-$provinces-$per_province-$per_commune
measure_only=${MEASURE_ONLY:-}
if [ -z "$measure_only" ] && [ ! -f "$src/.complete" ]; then
    rm -rf "$src"
    run generate "$SYNTH" --out "$src" --provinces "$provinces" \
        --communes-per-province "$per_province" --parcels-per-commune "$per_commune" \
        --defects none --quiet
    touch "$src/.complete"
fi
# The first province's files: codes 10000 + 3 k (national.c).
province_files=()
for ((k = 0; k < per_province; k++)); do
    province_files+=("$src/$((10000 + 3 * k)).shp")
done

pg_start
fresh_db() {
    pg_psql postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1" >/dev/null
    pg_psql postgres -c "CREATE DATABASE $1" >/dev/null
    pg_psql "$1" -c "CREATE EXTENSION postgis" >/dev/null
}
declare -A STORE PARCELS_WANT
STORE[prov]=$(pg_conninfo national_prov)
STORE[nat]=$(pg_conninfo national_all)
PARCELS_WANT[prov]=$((per_province * per_commune))
PARCELS_WANT[nat]=$((provinces * per_province * per_commune))
sql() { psql -X -q -At -v ON_ERROR_STOP=1 "${STORE[$1]}" -c "$2"; }
if [ -z "$measure_only" ]; then
    fresh_db national_prov
    fresh_db national_all
    for s in prov nat; do
        "$P" init --db "${STORE[$s]}" --communes "$src/communes.csv" >/dev/null
    done
    echo "importing one province, then all $provinces ..."
    run import-prov "$P" import --quiet --db "${STORE[prov]}" "${province_files[@]}"
    run import-nat "$P" import --quiet --db "${STORE[nat]}" "$src"/*.shp
    if [ -z "$smoke" ] && [ "${KEEP_SOURCES:-0}" != 1 ]; then
        rm -rf "$src" # the surveys are rebuilt from the seed when needed
    fi
else
    # The times of the earlier run's imports, where it wrote them.
    [ -f "$WORK/national-times.import" ] && grep -E "^(generate|import)" "$WORK/national-times.import" >>"$TIMES"
    PARCELS_WANT[nat]=$(sql nat "SELECT count(*) FROM parceldb.parcels WHERE valid_to IS NULL")
    # A stopped import wrote no time: its wall seconds are from its start
    # to its last committed commune, as the store recorded them.
    if [ -z "$(field import-nat 2)" ]; then
        echo "import-nat $(sql nat "SELECT round(extract(epoch FROM max(f.committed_at::timestamptz)
            - min(b.started_at::timestamptz))::numeric, 1) FROM parceldb.import_files f
            JOIN parceldb.import_batches b ON b.id = f.batch_id")" >>"$TIMES"
    fi
fi
for s in prov nat; do
    got=$(sql "$s" "SELECT count(*) FROM parceldb.parcels WHERE valid_to IS NULL")
    [ "$got" = "${PARCELS_WANT[$s]}" ] ||
        { echo "store $s holds $got of ${PARCELS_WANT[$s]} parcels" >&2; exit 1; }
    stale=$(sql "$s" "SELECT count(*) FROM parceldb.overviews_stale")
    [ "$stale" = 0 ] || { echo "store $s: $stale communes' overviews stale" >&2; exit 1; }
    sql "$s" "ANALYZE" >/dev/null
    echo "$s-size $(sql "$s" "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'parceldb' AND c.relkind IN ('r', 'm')")" >>"$TIMES"
    echo "$s-communes $(sql "$s" "SELECT count(*) FROM parceldb.communes")" >>"$TIMES"

    # The sample the points and tiles are drawn from.
    step=$(((got + 799999) / 800000))
    sample=$WORK/sample-$s.sqlite
    rm -f "$sample"
    # (GDAL's PostgreSQL driver complains, while it lists the tables, about
    # the typmod-less source_geom column; the count below checks the sample.)
    ogr2ogr -f SQLite -dsco SPATIALITE=YES "$sample" "PG:${STORE[$s]}" -nln parcels \
        -sql "SELECT id AS pid, NULL::text AS valid_to, geom FROM parceldb.parcels
              WHERE valid_to IS NULL AND id % $step = 0" \
        -nlt MULTIPOLYGON -lco GEOMETRY_NAME=geom -lco FID=id -lco SPATIAL_INDEX=NO \
        2>"$WORK/sample-$s.log"
    n=$(sqlite3 "$sample" "SELECT count(*) FROM parcels")
    [ "$n" -ge $((got / step - 1)) ] ||
        { echo "the sample of $s holds $n parcels: $(cat "$WORK/sample-$s.log")" >&2; exit 1; }
    "$BIN/gen_points" --db "$sample" --out "$WORK/points-$s.csv" --count "$npoints" --seed 6 >&2
    "$BIN/sample_tiles" "$sample" "$tiles_per_zoom" 19 >"$WORK/tiles-$s.txt" 2>/dev/null

    # Lookups and tiles: each a new process, as a user runs them (the
    # lookup index of every commune touched is read from the store).
    run "lookup-$s" "$P" lookup --db "${STORE[$s]}" --points "$WORK/points-$s.csv" \
        >"$WORK/answers-$s.csv"
    found=$(tail -n +2 "$WORK/answers-$s.csv" | awk -F, '$2 != ""' | wc -l)
    echo "$s-found $found" >>"$TIMES"
    rm -rf "$WORK/tiles-$s"
    run "render-$s" "$P" render --db "${STORE[$s]}" --tiles "$WORK/tiles-$s.txt" \
        --out "$WORK/tiles-$s" >/dev/null
    echo "$s-ntiles $(wc -l <"$WORK/tiles-$s.txt")" >>"$TIMES"

    # One replica after a warm-up: every tile of the set and 2000 lookups.
    rm -f "$WORK/port"
    as_root=()
    [ "$(id -u)" -eq 0 ] && as_root=(--allow-root) # a benchmark run as root, as bench/server's
    "$P" serve --db "${STORE[$s]}" --listen 127.0.0.1:0 --port-file "$WORK/port" "${as_root[@]}" \
        >"$WORK/serve-$s.log" 2>&1 &
    serve_pid=$!
    for _ in $(seq 1 600); do
        kill -0 "$serve_pid" 2>/dev/null ||
            { echo "serve ($s) exited: $(cat "$WORK/serve-$s.log")" >&2; exit 1; }
        [ -s "$WORK/port" ] && curl -fs "http://127.0.0.1:$(cat "$WORK/port")/health" >/dev/null &&
            break
        sleep 0.1
    done
    port=$(cat "$WORK/port")
    {
        awk -v p="$port" '{printf "url = \"http://127.0.0.1:%s/tiles/%s/%s/%s.png\"\noutput = \"/dev/null\"\n", p, $1, $2, $3}' \
            "$WORK/tiles-$s.txt"
        # (awk, not head: head's early exit would fail the pipeline)
        awk -F, -v p="$port" 'NR > 1 && NR <= 2001 {printf "url = \"http://127.0.0.1:%s/parcels/at?lon=%s&lat=%s\"\noutput = \"/dev/null\"\n", p, $2, $3}' \
            "$WORK/points-$s.csv"
    } >"$WORK/warm-$s.cfg"
    curl -s -K "$WORK/warm-$s.cfg" || { echo "the warm-up of serve ($s) failed" >&2; exit 1; }
    echo "$s-rss $(awk '/^VmRSS/ {print $2}' "/proc/$serve_pid/status")" >>"$TIMES"
    echo "$s-hwm $(awk '/^VmHWM/ {print $2}' "/proc/$serve_pid/status")" >>"$TIMES"
    serve_stop
done

g() { awk -v l="$1" '$1 == l {print $2; exit}' "$TIMES"; }
row() { # row WHAT PROV NAT: the two values and nat / prov
    printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$(div "$3" "$2" "%.2f")"
}
pp=${PARCELS_WANT[prov]}
pn=${PARCELS_WANT[nat]}
mib() { div "$1" 1048576 "%.1f"; }
cat <<REPORT

National scale: $(g nat-communes) communes of $(sql nat "SELECT count(DISTINCT (code::integer - 10000) / 500) FROM parceldb.communes") made-up provinces ($pn parcels) against the first province ($pp parcels), one run each; machine: $(machine); load $(loadavg)
| what | one province | $(div "$(g nat-communes)" "$per_province" "%.1f") provinces | ratio (national / province; parcels $(div "$pn" "$pp" "%.2f")) |
|---|---|---|---|
$(row "communes" "$(g prov-communes)" "$(g nat-communes)")
$(row "parcels" "$pp" "$pn")
$(row "import, s (wall)" "$(field import-prov 2)" "$(field import-nat 2)")
$(row "import, CPU s of parceldb" "$(g import-prov-cpu)" "$(g import-nat-cpu)")
$(row "import, parcels/s" "$(div "$pp" "$(field import-prov 2)")" "$(div "$pn" "$(field import-nat 2)")")
$(row "import, peak RSS MiB" "$(div "$(field import-prov 3)" 1024)" "$(div "$(field import-nat 3)" 1024)")
$(row "store size MiB (tables, indexes, TOAST)" "$(mib "$(g prov-size)")" "$(mib "$(g nat-size)")")
$(row "store bytes per parcel" "$(div "$(g prov-size)" "$pp")" "$(div "$(g nat-size)" "$pn")")
$(row "$npoints lookups (one lookup --points), s (wall)" "$(field lookup-prov 2)" "$(field lookup-nat 2)")
$(row "lookups, CPU s of parceldb" "$(g lookup-prov-cpu)" "$(g lookup-nat-cpu)")
$(row "lookups/s (whole command)" "$(div "$npoints" "$(field lookup-prov 2)")" "$(div "$npoints" "$(field lookup-nat 2)")")
$(row "lookups, peak RSS MiB" "$(div "$(field lookup-prov 3)" 1024)" "$(div "$(field lookup-nat 3)" 1024)")
$(row "points in a parcel" "$(g prov-found)" "$(g nat-found)")
$(row "tiles rendered (z12-z18)" "$(g prov-ntiles)" "$(g nat-ntiles)")
$(row "tiles, s (wall)" "$(field render-prov 2)" "$(field render-nat 2)")
$(row "tiles, CPU s of parceldb" "$(g render-prov-cpu)" "$(g render-nat-cpu)")
$(row "tiles/s" "$(div "$(g prov-ntiles)" "$(field render-prov 2)" "%.1f")" "$(div "$(g nat-ntiles)" "$(field render-nat 2)" "%.1f")")
$(row "serve RSS after warm-up, MiB" "$(div "$(g prov-rss)" 1024)" "$(div "$(g nat-rss)" 1024)")
$(row "serve peak RSS, MiB" "$(div "$(g prov-hwm)" 1024)" "$(div "$(g nat-hwm)" 1024)")
generation of the surveys: $(field generate 2) s wall, $(g generate-cpu) CPU s (skipped when the surveys were kept)
REPORT
