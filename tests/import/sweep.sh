#!/usr/bin/env bash
# sweep.sh: the importer on data it did not make. Twelve configurations of
# the generator (samples/, pdb-synth), fixed seeds, chosen to cover between
# them: 30 to 3,000 parcels a commune; 1 to 3 communes a store, two of them
# in different TM-3 zones; defects none, default and 2-per-kind; curved
# edges 0, 1.5 and 8 m; notches 0 and 40; a made-up province (codes from
# 10000, a zone of its own, `init --communes`); Shapefile, GPKG and
# GeoJSON-legacy; UTF-8, TCVN3 and mixed text. On each, what a user checks:
#   - the counts the manifest promises (read, stored, repaired, rejected by
#     reason, flagged), per commune;
#   - overviews: none stale, each commune fresh or a fallback with a reason;
#   - a second survey (another seed) of one commune replaces it: its parcels
#     are the new file's, its overviews fresh again, the data version moved;
#   - lookups: ~30 points on surface computed by GDAL in the survey CRS,
#     answered with the source's commune, former commune, sheet and parcel;
#   - tiles at z10, z14 and z17 over each commune: valid PNGs, not empty.
# Each check's name starts with the configuration's name and seed. A
# failure of one configuration does not stop the others.
source "$(dirname "$0")/lib.sh"
trap - ERR

SYNTH=${PDB_SYNTH:-${PDB_BINARY_DIR:-}/samples/pdb-synth}
if [ ! -x "$SYNTH" ]; then
    echo "FAIL: pdb-synth is not built ($SYNTH)" >&2
    exit 1
fi
PY=(/usr/bin/python3 "$PDB_SOURCE_DIR/tests/import/sweep.py")
"${PY[0]}" -c 'from osgeo import ogr' || {
    echo "FAIL: python3-gdal is missing (scripts/install-deps.sh)" >&2
    exit 1
}
command -v pngcheck >/dev/null || {
    echo "FAIL: pngcheck is missing (scripts/install-deps.sh)" >&2
    exit 1
}

# tile LON LAT Z: the XYZ tile holding the point.
tile() {
    awk -v lon="$1" -v lat="$2" -v z="$3" 'BEGIN {
        pi = atan2(0, -1); n = 2 ^ z; r = lat * pi / 180
        printf "%d/%d/%d\n", z, int((lon + 180) / 360 * n),
            int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n) }'
}

# counts NAME MANIFEST: the commune's figures in the last batch against
# what the manifest promises (as tests/import/synth.sh compares them).
counts() {
    local name=$1 m=$2 c b
    c=$(mf "$m" '$.commune.code')
    b=$(sql "SELECT max(id) FROM import_batches")
    check "$name $c: read/stored/repaired/rejected" \
        "$(sql "SELECT read || '/' || stored || '/' || repaired || '/' || rejected FROM import_files WHERE batch_id = $b AND commune = '$c'")" \
        "$(mf "$m" '$.expected.read')/$(mf "$m" '$.expected.stored')/$(mf "$m" '$.expected.repaired')/$(mf "$m" '$.expected.rejected')"
    manifest_rejects "$name $c: rejected" "$m" "batch_id = $b AND commune = '$c'"
    check "$name $c: flagged duplicate number/unknown land use" \
        "$(sql "SELECT sum((flags & 1) <> 0) || '/' || sum((flags & 2) <> 0)
                FROM parcels WHERE batch_id = $b AND commune = '$c'")" \
        "$(mf "$m" '$.expected.flagged_by_reason."duplicate-number"')/$(mf "$m" '$.expected.flagged_by_reason."unknown-landuse"')"
    # With --notches: the notch pulls a vertex across the parcel to a
    # micrometre from the opposite edge, taking a wedge of its area;
    # pdb-synth once left DienTich and the manifest as before the notch
    # (found by this sweep: configuration "notch-area", 30 parcels, one
    # notch), and now recomputes them.
    check "$name $c: flagged area mismatch" \
        "$(sql "SELECT count(*) FROM parcels WHERE batch_id = $b AND commune = '$c' AND flags & 4")" \
        "$(mf "$m" '$.expected.flagged_by_reason."area-mismatch"')"
    check "$name $c: current parcels are the file's stored ones" \
        "$(sql "SELECT count(*) FROM parcels WHERE commune = '$c' AND valid_to IS NULL")" \
        "$(mf "$m" '$.expected.stored')"
}

# overviews NAME: nothing stale, nothing failed, every commune either has
# overview rows (fresh) or is a fallback with its reason ('parceldb info
# --check' says the same in words).
overviews() {
    local name=$1 info
    check "$name: no commune with stale overviews" "$(sql "SELECT count(*) FROM overviews_stale")" 0
    check "$name: no commune whose overviews failed" \
        "$(sql "SELECT count(*) FROM overview_problems WHERE state = 'failed'")" 0
    check "$name: every commune fresh, or a fallback with a reason" \
        "$(sql "SELECT count(*) FROM communes c WHERE NOT (
                    EXISTS (SELECT 1 FROM overviews o WHERE o.commune = c.code)
                    AND NOT EXISTS (SELECT 1 FROM overview_problems p WHERE p.commune = c.code)
                 OR EXISTS (SELECT 1 FROM overview_problems p WHERE p.commune = c.code
                            AND p.state = 'fallback' AND length(p.reason) > 0))")" 0
    info=$("$PARCELDB" info --db "$DB" --check 2>&1)
    contains "$name: info --check: overviews ok or fallbacks named" "$info" \
        "overviews: +(ok \(|[0-9]+ of [0-9]+ communes not up to date)"
    if grep -Eq "commune [0-9]+: (stale|FAILED)" <<<"$info"; then
        fail "$name: info --check names a stale or failed commune: $info"
    fi
}

# lookups NAME MANIFEST N: N points of the commune's survey looked up.
lookups() {
    local name=$1 m=$2 n=$3 c file lines idx x y want got bad=0 total=0
    c=$(mf "$m" '$.commune.code')
    file=${m%.manifest.json}
    lines=$("${PY[@]}" points "$PARCELDB" "$DB" "$file" "$m" "$n") ||
        { fail "$name $c: sweep.py points failed"; return; }
    while read -r kind idx x y want got; do
        total=$((total + 1))
        if [ "$want" != "$got" ]; then
            bad=$((bad + 1))
            fail "$name $c: lookup ($kind) of feature $idx, E,N $x,$y in EPSG:$(mf "$m" '$.crs.zone_epsg'): got '$got', expected '$want'"
        fi
    done <<<"$lines"
    check "$name $c: $total lookups of points on surface, answers not the source's parcel" "$bad" 0
}

# tiles NAME CODE...: one tile at z10, z14 and z17 over the middle of each
# commune's parcels: a valid PNG with pixels other than the background, and
# the same tile as a vector tile that GDAL's MVT driver reads, with parcels
# in it from z14 (at z10 land-use shapes or the commune's outline) and no
# invalid geometry.
tiles() {
    local name=$1 c lon lat z t f px pngs=() names=() mvts=() mnames=() n nc bad i=0
    shift
    rm -rf "$WORK/tiles"
    mkdir -p "$WORK/tiles"
    for c in "$@"; do
        read -r lon lat < <(sql "SELECT (min_lon + max_lon) / 2, (min_lat + max_lat) / 2 FROM communes WHERE code = '$c'" | tr '|' ' ')
        for z in 10 14 17; do
            t=$(tile "$lon" "$lat" "$z")
            f=$WORK/tiles/$c-$z.png
            if ! "$PARCELDB" render --db "$DB" "$t" -o "$f" 2>"$WORK/render.err"; then
                fail "$name $c: render $t: $(cat "$WORK/render.err")"
            elif ! pngcheck -q "$f" >/dev/null; then
                fail "$name $c: $t: pngcheck: $(pngcheck "$f" 2>&1)"
            else
                ok "$name $c: $t is a valid PNG"
                pngs+=("$f")
                names+=("$name $c: $t")
            fi
            f=$WORK/tiles/$c-${t//\//-}.mvt
            if ! "$PARCELDB" render --db "$DB" "$t" -o "$f" 2>"$WORK/render.err"; then
                fail "$name $c: render $t.mvt: $(cat "$WORK/render.err")"
            else
                mvts+=("$f")
                mnames+=("$name $c: $t.mvt")
            fi
        done
    done
    if [ ${#mvts[@]} -gt 0 ]; then
        i=0
        # At z10 a small commune may have no land-use shape a grid unit
        # wide: its outline is there; from z14 its parcels are.
        while read -r f z n nc bad; do
            check "${mnames[$i]}: $([ "$z" -ge 14 ] && echo parcels || echo shapes) in it, none invalid (GDAL's MVT driver)" \
                "$([ "${n:-0}" -gt 0 ] || { [ "$z" -lt 14 ] && [ "${nc:-0}" -gt 0 ]; } && echo "${bad:-?} invalid")" "0 invalid"
            i=$((i + 1))
        done < <("${PY[@]}" mvt "${mvts[@]}")
        check "$name: every vector tile read by GDAL" "$i" "${#mvts[@]}"
    fi
    [ ${#pngs[@]} -gt 0 ] || return 0
    i=0
    while read -r f px; do
        check "${names[$i]} not all background" "$([ "${px:-0}" -gt 0 ] && echo drawn)" drawn
        i=$((i + 1))
    done < <("${PY[@]}" png "${pngs[@]}")
    check "$name: every valid tile read back by GDAL" "$i" "${#pngs[@]}"
}

# qa_check NAME SYNTH-ARGS...: `parceldb qa` on the store answers (exit 0
# or 2, a JSON report GDAL-free Python reads); a survey made without
# defects (--defects none) has no error-severity finding: no false error.
qa_check() {
    local name=$1 rc out
    shift
    rc=0
    "$PARCELDB" qa --db "$DB" --format json -o "$WORK/qa.json" 2>"$WORK/qa.err" || rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 2 ]; then
        fail "$name: parceldb qa exit $rc: $(cat "$WORK/qa.err")"
        return
    fi
    out=$("${PY[@]}" qa "$WORK/qa.json")
    if [[ " $* " == *" --defects none "* ]]; then
        check "$name: qa finds no error on a survey made without defects (errors, checks)" "$out" "0 -"
        check "$name: qa exit status" "$rc" 0
    else
        ok "$name: qa reports $out (exit $rc)"
    fi
}

# sweep NAME SEED RESEED SYNTH-ARGS...: one configuration. RESEED is the
# seed of the second survey of its first commune.
sweep() {
    local name="$1 seed=$2" seed=$2 reseed=$3 dir m c v0 cv0 n
    shift 3
    dir=$WORK/c$seed
    echo "== $name: pdb-synth --seed $seed $* (at ${SECONDS}s)"
    if ! "$SYNTH" --out "$dir" --seed "$seed" --jobs 1 --quiet "$@"; then
        fail "$name: pdb-synth failed"
        return
    fi
    DB=$WORK/c$seed.sqlite
    if [ -f "$dir/communes.csv" ]; then
        "$PARCELDB" init --db "$DB" --communes "$dir/communes.csv" >/dev/null
    else
        "$PARCELDB" init --db "$DB" >/dev/null
    fi
    # The surveys, named: DIR/communes.csv is not one (a directory would
    # be imported whole, the list of communes refused as a layer).
    local files=()
    for m in "$dir"/*.manifest.json; do files+=("${m%.manifest.json}"); done
    import "${files[@]}"
    check "$name: import exit status" "$RC" 0
    [ "$RC" -eq 0 ] || { echo "$OUT"; return; }
    n=${#files[@]}
    for m in "$dir"/*.manifest.json; do
        counts "$name" "$m"
    done
    overviews "$name"
    # Owners and addresses: read in whatever encoding, stored as NFC text
    # (text already NFC skips normalisation: import/vnenc.c).
    local text
    text=$("${PY[@]}" text "$DB")
    check "$name: owners and addresses in NFC, no U+FFFD" "${text% *}" 0
    check "$name: addresses stored" "$([ "${text#* }" -gt 0 ] && echo yes)" yes
    for m in "$dir"/*.manifest.json; do
        lookups "$name" "$m" $(((30 + n - 1) / n))
    done
    # shellcheck disable=SC2046 # commune codes: five digits each
    tiles "$name" $(sql "SELECT code FROM communes ORDER BY code")
    qa_check "$name" "$@"

    # A changed survey of the first commune: another seed, same commune.
    m=${files[0]}.manifest.json
    c=$(mf "$m" '$.commune.code')
    v0=$(sql "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'data_version'")
    cv0=$(sql "SELECT data_version FROM communes WHERE code = '$c'")
    local args=() a
    while [ $# -gt 0 ]; do
        a=$1
        shift
        if [ "$a" = --communes ]; then shift; else args+=("$a"); fi
    done
    if ! "$SYNTH" --out "$dir-again" --seed "$reseed" --jobs 1 --quiet "${args[@]}" --communes "$c"; then
        fail "$name: pdb-synth of the second survey of $c failed"
        return
    fi
    m=$(ls "$dir-again"/*.manifest.json)
    import "${m%.manifest.json}"
    check "$name reseed=$reseed: second survey of $c: import exit status" "$RC" 0
    [ "$RC" -eq 0 ] || { echo "$OUT"; return; }
    counts "$name reseed=$reseed: second survey" "$dir-again/"*.manifest.json
    check "$name reseed=$reseed: second survey of $c: the old parcels are history" \
        "$(sql "SELECT count(*) > 0 FROM parcels WHERE commune = '$c' AND valid_to IS NOT NULL")" 1
    overviews "$name reseed=$reseed: second survey of $c"
    check "$name reseed=$reseed: second survey of $c: overviews rebuilt (rows, not stale, not failed)" \
        "$(sql "SELECT (SELECT count(*) > 0 FROM overviews WHERE commune = '$c') || '/' ||
                       (SELECT count(*) FROM overviews_stale WHERE commune = '$c') || '/' ||
                       (SELECT count(*) FROM overview_problems WHERE commune = '$c' AND state = 'failed')")" \
        "1/0/0"
    check "$name reseed=$reseed: second survey of $c: data version moved (store, commune)" \
        "$(sql "SELECT (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'data_version') > $v0 AND data_version > $cv0 FROM communes WHERE code = '$c'")" 1
    lookups "$name reseed=$reseed: second survey" "$dir-again/"*.manifest.json 10
    tiles "$name reseed=$reseed: second survey" "$c"
}

# NAME               SEED RESEED  generator arguments
sweep "notch-area"     113 213 --communes 07894 --parcels-per-commune 30 --defects none --notches 1
sweep "shp-tiny"       101 201 --communes 07894 --parcels-per-commune 30 --defects none
sweep "shp-tcvn3-zones" 102 202 --communes 04792,08707 --parcels-per-commune 500 --encoding tcvn3 --no-cpg --notches 40
sweep "gpkg-3-curved8" 103 203 --communes 3 --parcels-per-commune 300 --format GPKG --defects 2-per-kind --curved-edges 8
sweep "geojson-curved" 104 204 --communes 07894 --parcels-per-commune 1000 --format GeoJSON-legacy --curved-edges 1.5
sweep "shp-mixed-3000" 105 205 --communes 04795 --parcels-per-commune 3000 --encoding mixed --notches 40
sweep "gpkg-1500-none" 106 206 --communes 08707 --parcels-per-commune 1500 --format GPKG --defects none --notches 40
sweep "geojson-zones"  107 207 --communes 08707,07894 --parcels-per-commune 300 --format GeoJSON-legacy --defects 2-per-kind --curved-edges 8
sweep "shp-tcvn3-3"    108 208 --communes 3 --parcels-per-commune 100 --encoding tcvn3 --defects none --curved-edges 1.5
sweep "prov-shp"       109 209 --provinces 1 --communes-per-province 4 --communes 2 --parcels-per-commune 400
sweep "prov-gpkg"      110 210 --provinces 1 --communes-per-province 2 --communes 1 --parcels-per-commune 200 --format GPKG --defects 2-per-kind --curved-edges 1.5 --notches 40
sweep "prov-geojson"   111 211 --provinces 1 --communes-per-province 6 --communes 3 --parcels-per-commune 50 --format GeoJSON-legacy
sweep "gpkg-merged"    112 212 --communes 04831 --parcels-per-commune 800 --format GPKG --encoding utf8
finish
