#!/usr/bin/env bash
# run-all.sh: the whole benchmark suite in one command (bench/README.md).
# On a fresh machine it installs the anchors (bench/setup.sh) and the build
# dependencies (scripts/install-deps.sh), makes a Release build, generates
# and imports the synthetic province where missing, runs the import,
# lookup (with scaling), render and server benchmarks, prints one summary
# table with every ratio, peak memory and the machine, draws the plots into
# docs/ with gnuplot, and keeps the raw results in bench/work/results/DATE/.
#
#   bench/run-all.sh [--smoke] [--only "import lookup render server ogc mvt qa sheets lineage export"]
#   --smoke  every benchmark's smoke form (a few communes, one run, seconds
#            each; nothing installed or plotted into docs/): what CTest's
#            bench_* tests run one by one
#   --only   a subset of the benchmarks (the others are not rerun)
# Environment: PDB_BINARY_DIR (default build-rel), RUNS (default 3), JOBS
# (build jobs, default 2), POINTS (lookups, default 100000), RESULTS (the
# results directory; default bench/work/results/YYYYMMDD-HHMM), LOOKUP_FLAGS
# (options of bench/lookup/run.sh: --no-scaling measures the province only,
# without the 100k-3.1M series, whose plot is then kept).
# A benchmark that fails (an unexplained disagreement, a tile over the
# tolerance, a non-2xx answer) is reported and the others still run; the
# exit status is then 1.
{ # the whole script is read before it runs, so editing it mid-run is safe
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. bench/lib.sh

smoke=0
only="import lookup render server ogc mvt qa sheets lineage export"
while [ $# -gt 0 ]; do
    case $1 in
    --smoke) smoke=1 ;;
    --only)
        only=$2
        shift
        ;;
    *)
        echo "usage: bench/run-all.sh [--smoke] [--only \"import lookup render server ogc mvt qa sheets lineage export\"]" >&2
        exit 2
        ;;
    esac
    shift
done
want() { [[ " $only " == *" $1 "* ]]; }

BUILD=${PDB_BINARY_DIR:-$ROOT/build-rel}
export PDB_BINARY_DIR=$BUILD
if [ $smoke -eq 0 ]; then
    bash bench/setup.sh
    bash scripts/install-deps.sh
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD" -j"${JOBS:-2}" --target parceldb-cli pdb-synth >/dev/null
    # RESULTS may name an earlier run's directory: a partial rerun (--only)
    # then replaces those parts and the summary shows the others as they were.
    RESULTS=${RESULTS:-$WORK/results/$(date -u +%Y%m%d-%H%M)}
else
    [ -x "$BUILD/cli/parceldb" ] || {
        cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
        cmake --build "$BUILD" -j"${JOBS:-2}" --target parceldb-cli pdb-synth >/dev/null
    }
    RESULTS=$(mktemp -d "${TMPDIR:-/tmp}/pdb-run-all.XXXXXX")
    trap 'rm -rf "$RESULTS"' EXIT
fi
mkdir -p "$RESULTS"
export RESULTS
P=$BUILD/cli/parceldb
SYNTH=$BUILD/samples/pdb-synth
started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_start=$(loadavg)
commit=$(git -C "$ROOT" log -1 --format='%h %s' 2>/dev/null || echo unknown)
echo "bench/run-all.sh: $only$([ $smoke -eq 1 ] && echo ' (smoke)'), results in $RESULTS"

# The full province with overviews (what render, server and lookup read),
# made once.
if [ $smoke -eq 0 ] && { want render || want server || want lookup || want ogc; }; then
    prov=$WORK/prov.sqlite
    src=$WORK/province-all-5278
    have=$( [ -f "$prov" ] && sqlite3 "$prov" "SELECT count(*) FROM parcels WHERE valid_to IS NULL" 2>/dev/null || echo 0)
    if [ "$have" != 781144 ]; then
        if [ ! -f "$src/.complete" ]; then
            rm -rf "$src"
            echo "generating the province (148 communes x 5278 parcels) ..."
            "$SYNTH" --out "$src" --communes all --parcels-per-commune 5278 --defects none --quiet
            touch "$src/.complete"
        fi
        echo "importing the province into $prov ..."
        rm -f "$prov" "$prov"-*
        "$P" init --db "$prov" >/dev/null
        "$P" import --quiet --db "$prov" "$src"
    fi
fi

smoke_arg=()
[ $smoke -eq 1 ] && smoke_arg=(--smoke)

failed=()
# stage NAME CMD...: runs one benchmark; a failure is noted, not fatal.
stage() {
    local name=$1
    shift
    echo "== $name ($(date -u +%H:%M) UTC, load average $(loadavg))"
    if ! "$@"; then
        echo "== $name FAILED" >&2
        failed+=("$name")
    fi
}
run_import() {
    bash bench/import/run.sh "${smoke_arg[@]}" >"$RESULTS/import.md.tmp" &&
        mv "$RESULTS/import.md.tmp" "$RESULTS/import.md" && cat "$RESULTS/import.md"
}
run_lookup() {
    # shellcheck disable=SC2086 # LOOKUP_FLAGS is a list of options
    bash bench/lookup/run.sh "${smoke_arg[@]}" ${LOOKUP_FLAGS:-} >/dev/null && cat "$RESULTS/lookup.md"
}
run_render() {
    local rc=0
    rm -rf "$RESULTS/render"
    if [ $smoke -eq 1 ]; then
        # Two small communes, one round: the script's every step, in seconds.
        local rs=$RESULTS/render-smoke
        mkdir -p "$rs"
        "$SYNTH" --out "$rs/src" --communes 2 --parcels-per-commune 300 --defects none --quiet
        "$P" init --db "$rs/s.sqlite" >/dev/null
        "$P" import --quiet --db "$rs/s.sqlite" "$rs/src"
        "$SYNTH" --out "$rs/curved" --communes 2 --parcels-per-commune 300 --curved-edges 1.5 \
            --defects none --quiet
        "$P" init --db "$rs/c.sqlite" >/dev/null
        "$P" import --quiet --db "$rs/c.sqlite" "$rs/curved"
        ROUNDS=1 TILES_PER_ZOOM=20 CURVED_STORE=$rs/c.sqlite CURVED_TILES_PER_ZOOM=10 \
            bash bench/render/run.sh "$P" "$rs/s.sqlite" 2 "$RESULTS/render" >"$RESULTS/render.md" || rc=$?
    else
        # A second province whose boundaries curve (a vertex every 1.5 m):
        # 20 communes of 3000 parcels, imported with its overviews.
        local cv=$WORK/curved-20-3000
        if [ ! -f "$cv.sqlite" ] || [ ! -f "$cv/.complete" ]; then
            rm -rf "$cv" "$cv.sqlite"*
            "$SYNTH" --out "$cv" --communes 20 --parcels-per-commune 3000 --curved-edges 1.5 \
                --seed 7 --defects none --quiet
            "$P" init --db "$cv.sqlite" >/dev/null
            "$P" import --quiet --db "$cv.sqlite" "$cv"
            touch "$cv/.complete"
        fi
        ROUNDS=${RUNS:-3} CURVED_STORE=$cv.sqlite bash bench/render/run.sh "$P" "$WORK/prov.sqlite" 40 \
            "$RESULTS/render" >"$RESULTS/render.md" || rc=$?
        # The samples show the commune middles: dense tiles, where the
        # tools' drawing differs most visibly.
        [ $rc -ne 0 ] || cp "$RESULTS/render"/communes/side-by-side-z*.png "$ROOT/bench/render/samples/"
    fi
    cat "$RESULTS/render.md"
    return $rc
}
run_server() {
    bash bench/server/run.sh "${smoke_arg[@]}" >/dev/null && cat "$RESULTS/server.md"
}
run_ogc() {
    bash bench/ogc/run.sh "${smoke_arg[@]}" >/dev/null && cat "$RESULTS/ogc.md"
}
want import && stage import run_import
want lookup && stage lookup run_lookup
want render && stage render run_render
want server && stage server run_server
run_mvt() {
    bash bench/mvt/run.sh "${smoke_arg[@]}" >/dev/null && cat "$RESULTS/mvt.md"
}
run_qa() {
    bash bench/qa/run.sh "${smoke_arg[@]}" >/dev/null && cat "$RESULTS/qa.md"
}
want ogc && stage ogc run_ogc
want mvt && stage mvt run_mvt
run_sheets() {
    bash bench/sheets/run.sh "${smoke_arg[@]}" >/dev/null && cat "$RESULTS/sheets.md"
}
want qa && stage qa run_qa
want sheets && stage sheets run_sheets
run_lineage() {
    bash bench/lineage/run.sh "${smoke_arg[@]}" >/dev/null && cat "$RESULTS/lineage.md"
}
want lineage && stage lineage run_lineage
run_export() {
    bash bench/export/run.sh "${smoke_arg[@]}" >/dev/null && cat "$RESULTS/export.md"
}
want export && stage export run_export
load_end=$(loadavg)

# ---------------------------------------------------------------------------
# One table with every ratio.
kv() { [ -f "$RESULTS/$1" ] && sed -n "s/^$2=//p" "$RESULTS/$1" || true; }
{
    echo
    echo "Summary: $started, commit $commit; $(machine); load average $load_start at the start, $load_end at the end."
    echo
    echo "| benchmark | parceldb | anchor | ratio (parceldb faster by) | peak RSS MiB parceldb / anchor |"
    echo "|---|---|---|---|---|"
    if [ -f "$RESULTS/import.md" ]; then
        awk -F'|' '/^\| parceldb import \(default/ {ps = $3; pm = $5} /^\| parceldb import --no-overviews/ {bs = $3; bm = $5}
                   /^\| ogr2ogr/ {os = $3; om = $5}
                   END {gsub(/ /, "", ps); gsub(/ /, "", bs); gsub(/ /, "", os); gsub(/ /, "", pm); gsub(/ /, "", bm); gsub(/ /, "", om)
                        printf "| import of the province, default flags (overviews rebuilt) | %s s | ogr2ogr -> SpatiaLite %s s | %.2fx | %s / %s |\n", ps, os, os / ps, pm, om
                        printf "| import of the province, --no-overviews | %s s | same | %.2fx | %s / %s |\n", bs, os / bs, bm, om}' \
            "$RESULTS/import.md"
    fi
    if [ -f "$RESULTS/lookup-summary.txt" ]; then
        s=lookup-summary.txt
        echo "| lookups, $(kv $s points) points on $(kv $s parcels) parcels | $(kv $s parceldb_per_s) /s | SpatiaLite SQL $(kv $s spatialite_per_s) /s | $(kv $s ratio_spatialite)x | $(kv $s parceldb_rss_mib) / $(kv $s spatialite_rss_mib) |"
        echo "| lookups, same | $(kv $s parceldb_per_s) /s | PostGIS $(kv $s postgis_per_s) /s | $(kv $s ratio_postgis)x | $(kv $s parceldb_rss_mib) / $(kv $s postgis_rss_mib) client + $(kv $s postgis_backend_rss_mib) backend |"
        echo "| lookup start-up (1 point) | $(kv $s parceldb_start_ms) ms | SpatiaLite $(kv $s spatialite_start_ms) ms, PostGIS $(kv $s postgis_start_ms) ms | | |"
    fi
    # The province-wide tile set is the headline; the commune middles
    # follow, labelled. "zoom tiles seconds rate bytes" per tool.
    for set in province communes curved; do
        r=$RESULTS/render/$set
        [ -f "$r/parceldb-fast.txt" ] || continue
        label="province-wide"
        [ $set = communes ] && label="commune middles"
        [ $set = curved ] && label="curved boundaries"
        join "$r/parceldb-fast.txt" "$r/mapnik.txt" | join - "$r/mapserver.txt" |
            awk -v label="$label" '{best = $8 > $12 ? $8 : $12; who = $8 > $12 ? "Mapnik" : "MapServer"
                  printf "| tiles z%d, %s (%d tiles), single thread | %.1f tiles/s | %s %.1f tiles/s (faster of Mapnik, MapServer) | %.2fx | |\n", $1, label, $2, $4, who, best, $4 / best}'
    done
    if [ -f "$RESULTS/server-summary.txt" ]; then
        s=server-summary.txt
        echo "| server: cached tiles, wrk -c64 | $(kv $s tiles_parceldb_rps | awk '{printf "%.0f", $1}') req/s | nginx static files $(kv $s tiles_nginx_rps | awk '{printf "%.0f", $1}') req/s | $(kv $s ratio_nginx)x | $(kv $s rss_peak_mib) / $(kv $s nginx_rss_mib) |"
        echo "| server: lookups /parcels/at | $(kv $s lookups_rps | awk '{printf "%.0f", $1}') req/s (p99 $(kv $s lookups_p99_ms) ms) | nginx, one static answer $(kv $s lookups_nginx_rps | awk '{printf "%.0f", $1}') req/s | $(kv $s ratio_lookups_nginx)x | |"
        echo "| server: mix 4 tiles : 1 lookup | $(kv $s mix_rps | awk '{printf "%.0f", $1}') req/s | | | |"
    fi
    if [ -f "$RESULTS/ogc-summary.txt" ]; then
        s=ogc-summary.txt
        rate() { awk -v r="$1" 'BEGIN {printf (r < 10 ? "%.2f" : "%.1f"), r}'; }
        for c in commune district province; do
            for crs in 3857 9208; do
                k=getmap_${c}_${crs}_c1
                echo "| WMS GetMap 1024x768, $c, EPSG:$crs, 1 client | $(rate "$(kv $s ${k}_parceldb_rps)") req/s | MapServer 8 FastCGI $(rate "$(kv $s ${k}_mapserver_rps)") req/s | $(awk -v a="$(kv $s ${k}_parceldb_rps)" -v b="$(kv $s ${k}_mapserver_rps)" 'BEGIN {printf "%.2f", a / b}')x | |"
            done
        done
        echo "| OGC API items, limit 1000, 1 client | $(rate "$(kv $s items_c1_parceldb_rps)") req/s (p95 $(kv $s items_c1_parceldb_p95_ms) ms) | MapServer 8 FastCGI $(rate "$(kv $s items_c1_mapserver_rps)") req/s (p95 $(kv $s items_c1_mapserver_p95_ms) ms) | $(awk -v a="$(kv $s items_c1_parceldb_rps)" -v b="$(kv $s items_c1_mapserver_rps)" 'BEGIN {printf "%.2f", a / b}')x | |"
    fi
    if [ -f "$RESULTS/mvt-summary.txt" ]; then
        for z in 12 14 16; do
            echo "| vector tiles z$z, province-wide, single thread | | PostGIS ST_AsMVT | $(kv mvt-summary.txt mvt_z${z}_ratio_postgis)x | |"
        done
    fi
    if [ -f "$RESULTS/qa-summary.txt" ]; then
        echo "| qa, overlap check only | | PostGIS GiST self-join | $(kv qa-summary.txt qa_overlap_ratio_postgis)x | |"
        echo "| qa, every check | | same | $(kv qa-summary.txt qa_all_ratio_postgis)x | |"
    fi
    if [ -f "$RESULTS/sheets-summary.txt" ]; then
        # A time ratio the other way round: the sheet's import over the
        # Shapefile's, at most 2 wanted.
        echo "| DGN sheet import / Shapefile import of the same commune | | | $(kv sheets-summary.txt sheets_dgn_over_shp)x (target <= 2) | |"
    fi
} | tee "$RESULTS/summary.md"

# ---------------------------------------------------------------------------
# Plots (into docs/ for a full run; beside the results for a smoke run).
plots=$ROOT/docs
[ $smoke -eq 1 ] && plots=$RESULTS
if command -v gnuplot >/dev/null; then
    if [ -s "$RESULTS/lookup-scaling.dat" ] && [ "$(wc -l <"$RESULTS/lookup-scaling.dat")" -ge 2 ]; then
        gnuplot <<GP
set terminal pngcairo size 800,500 font "DejaVu Sans,10" noenhanced
set output "$plots/bench-lookup-scaling.png"
set title "Point lookup: time per lookup (whole command / points) vs parcels in the store"
set xlabel "current parcels"
set ylabel "microseconds per lookup"
set logscale xy
set format x "%.0s%c"
set key top left
set grid
plot "$RESULTS/lookup-scaling.dat" using 1:2 with linespoints lw 2 pt 7 title "parceldb lookup --points", \
     "" using 1:3 with linespoints lw 2 pt 5 title "SpatiaLite SQL (SpatialIndex + ST_Contains)", \
     "" using 1:4 with linespoints lw 2 pt 9 title "PostGIS (GiST + ST_Contains)"
GP
    fi
    if [ -f "$RESULTS/render/province/parceldb-fast.txt" ]; then
        r=$RESULTS/render/province
        join "$r/parceldb-fast.txt" "$r/mapnik.txt" |
            join - "$r/mapserver.txt" | awk '{print "z" $1, $4, $8, $12}' >"$RESULTS/render-per-zoom.dat"
        gnuplot <<GP
set terminal pngcairo size 800,500 font "DejaVu Sans,10" noenhanced
set output "$plots/bench-tiles-per-zoom.png"
set title "Rendering: tiles per second, province-wide tiles, single thread, same store and style"
set ylabel "tiles/s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top left
set grid ytics
set yrange [0:*]
plot "$RESULTS/render-per-zoom.dat" using 2:xtic(1) title "parceldb", \
     "" using 3 title "Mapnik", "" using 4 title "MapServer"
GP
    fi
else
    echo "gnuplot is missing (bench/setup.sh installs gnuplot-nox): no plots" >&2
fi
echo "results in $RESULTS"
if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
exit 0
}
