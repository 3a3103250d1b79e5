#!/usr/bin/env bash
# Line-and-label survey sheets (issue 15, docs/import.md): pdb-synth draws
# one commune as DGN v7 and DXF sheets (boundary lines, number / land-use /
# area texts on their own levels, planted defects listed in
# <file>.sheets.json) and as polygons (GPKG). The sheets must import to the
# same parcels, numbers, land uses and surveyed areas as the polygons, but
# for the parcels the planted defects quarantine; every planted defect is
# reported where it was planted. Then bad input: a DGN v8 file, a truncated
# DGN, a DXF with no boundary layer, lines that make no polygon.
source "$(dirname "$0")/lib.sh"

need_synth

# 07900 was merged from three former communes: four sheets, sheet 1 in each.
gen() {
    "$SYNTH" --out "$WORK/$1" --communes 07900 --parcels-per-commune 1200 --seed 5 --quiet "${@:2}"
}
gen gpkg --format GPKG --defects none
gen dgn --format DGN --sheets lines
gen dxf --format DXF --sheets lines
T=$WORK/dgn/07900.dgn.sheets.json
# Same defects on the same parcels (the DGN's coordinates carry a 0.4 mm
# nudge, output.c, so positions differ).
same_truth() { sed -E '1,2d; s/"x": [0-9.]+, "y": [0-9.]+, //' "$1" | md5sum; }
check "generator: the DXF's defects are the DGN's" "$(same_truth "$WORK/dxf/07900.dxf.sheets.json")" \
    "$(same_truth "$T")"

# What GDAL reads in them: boundary, road and canal edges as lines on their
# levels (DGN) and layers (DXF), texts on theirs.
levels_in() { # FILE LAYER FIELD
    ogrinfo -ro -q "$1" -dialect sqlite -sql "SELECT $3 AS l, CASE WHEN GeometryType(geometry) = 'POINT'
        THEN 'text' ELSE 'lines' END AS t, count(*) AS n
        FROM $2 GROUP BY l, t ORDER BY l, t" | awk -F' = ' '/ l \(/ { l = $2 } / t \(/ { t = $2 }
        / n \(/ { printf "%s:%s ", l, t }'
}
check "DGN: levels" "$(levels_in dgn/07900.dgn elements Level)" \
    "10:lines 13:text 14:text 15:text 23:lines 28:lines 63:lines 63:text "
check "DXF: layers" "$(levels_in dxf/07900.dxf entities Layer)" \
    "DIEN_TICH:text GIAO_THONG:lines KHUNG:lines KHUNG:text LOAI_DAT:text RANH_THUA:lines SO_THUA:text THUY_HE:lines "

contains "DXF: the frame texts in Vietnamese" "$(ogrinfo -ro -q dxf/07900.dxf entities -where "Layer = 'KHUNG'" |
    grep 'Text (String)')" "Tờ số 1 xã 07906"
contains "DGN: the frame texts in TCVN3 bytes, not UTF-8" "$(ogrinfo -ro -q dgn/07900.dgn elements -where "Level = 63" |
    grep -a 'Text (String)' | iconv -f utf-8 -t utf-8 2>&1 >/dev/null || true)" "illegal input"

# The parcels of a store, one line each: former commune|sheet|parcel|land use|surveyed area.
PARCELS_SQL="SELECT coalesce(former_commune, ''), sheet, parcel, landuse,
                    CAST(round(area_surveyed_m2 * 10) AS INTEGER)
             FROM parcels WHERE valid_to IS NULL ORDER BY 1, 2, 3"
new_store ref
import gpkg/07900.gpkg
check "GPKG: imports" "$RC" 0
REF=$(sql "$PARCELS_SQL")
REF_DB=$DB
check "GPKG: 1200 parcels" "$(wc -l <<<"$REF")" 1200

# The truth: "former|sheet|parcel" of the planted defects' parcels.
truth() { # KIND INDEX
    sqlite3 :memory: "SELECT p.value ->> 'former_commune' || '|' || (p.value ->> 'sheet') || '|' ||
        (p.value ->> 'parcel') FROM json_each(readfile('$T'), '\$.defects') d,
        json_each(d.value, '\$.parcels') p WHERE d.value ->> 'kind' = '$1' AND p.key = $2"
}
truth_xy() { # KIND -> "x y"
    sqlite3 :memory: "SELECT (d.value ->> 'x') || ' ' || (d.value ->> 'y')
        FROM json_each(readfile('$T'), '\$.defects') d WHERE d.value ->> 'kind' = '$1'"
}
number_of() { cut -d'|' -f3 <<<"$1"; }
MISSING=$(truth missing-number 0)
GAP_A=$(truth gap 0)
GAP_B=$(truth gap 1)
DOUBLED=$(truth doubled-number 0)
SPLIT=$(truth split-number 0)
check "truth: five defects planted" \
    "$(sqlite3 :memory: "SELECT json_array_length(readfile('$T'), '\$.defects')")" 5

# near NAME OUTPUT PATTERN X Y MAX: the first (x, y) after PATTERN in the
# output lies within MAX metres of X Y.
near() {
    local xy
    xy=$(grep -oE "$3 [^(]*\\(([0-9.]+), ([0-9.]+)\\)" <<<"$2" | head -1 | grep -oE '\([0-9., ]+\)' |
        tr -d '(),' || true)
    if [ -z "$xy" ]; then
        fail "$1: '$3' not reported"
        return
    fi
    check "$1" "$(awk -v a="$xy" -v x="$4" -v y="$5" -v m="$6" \
        'BEGIN { split(a, p, " "); d = sqrt((p[1] - x) ^ 2 + (p[2] - y) ^ 2); print (d <= m) ? "near" : "off by " d }')" near
}

# The parcels stored from sheets are the polygons' but for EXCEPT (lines).
expect_parcels() { # NAME EXCEPT...
    local name=$1 want
    shift
    want=$(awk -F'|' -v ex="$(printf '%s\n' "$@")" '
        BEGIN { n = split(ex, e, "\n"); for (i = 1; i <= n; i++) skip[e[i]] = 1 }
        !(($1 "|" $2 "|" $3) in skip)' <<<"$REF")
    check "$name: the polygons' parcels, numbers, land uses and areas but the planted ones" \
        "$(sql "$PARCELS_SQL" | md5sum)" "$(md5sum <<<"$want")"
}

# Computed areas against the polygons': the generator writes millimetre
# coordinates, which DGN's millimetre UORs and DXF keep, so they agree to
# rounding; a --snap closure moves a corner by under a millimetre.
# Tolerance 0.01 m2: a millimetre along a 100 m edge is 0.1 m2, far more.
max_area_diff() {
    sqlite3 "$REF_DB" "ATTACH '$DB' AS s; SELECT printf('%.4f', max(abs(a.area_computed_m2 - b.area_computed_m2)))
        FROM parcels a JOIN s.parcels b USING (former_commune, sheet, parcel)
        WHERE a.valid_to IS NULL AND b.valid_to IS NULL"
}
area_ok() { awk -v d="$2" 'BEGIN { exit !(d <= 0.01) }' && ok "$1: computed areas within 0.01 m2 ($2)" ||
    fail "$1: computed areas differ by $2 m2"; }

# --- DGN, no --snap: the gap makes one polygon of two parcels. ---
new_store dgn
import --srs EPSG:9208 dgn/07900.dgn
check "DGN: imports" "$RC" 0
contains "DGN: detected as a sheet" "$OUT" "read as a line-and-label sheet \(lines and number texts"
expect_parcels "DGN" "$MISSING" "$GAP_A" "$GAP_B"
area_ok "DGN" "$(max_area_diff)"
read -r gx gy <<<"$(truth_xy gap)"
contains "DGN: the gap's width" "$OUT" "unclosed gap 0\.050 m wide"
near "DGN: the gap where planted" "$OUT" "unclosed gap" "$gx" "$gy" 0.06
read -r ox oy <<<"$(truth_xy overshoot)"
contains "DGN: the overshoot's length" "$OUT" "dangle 0\.500 m long"
near "DGN: the overshoot where planted" "$OUT" "dangle 0\.500 m long" "$ox" "$oy" 0.51
contains "DGN: the doubled number" "$OUT" "number $(number_of "$DOUBLED") written 2 times"
read -r dx dy <<<"$(truth_xy doubled-number)"
near "DGN: the doubled number where planted" "$OUT" "written 2 times at" "$dx" "$dy" 0.01
contains "DGN: the split number joined" "$OUT" "in 2 pieces at .* joined: $(number_of "$SPLIT")$"
check "DGN: quarantined: the polygon with two numbers, the one with none" \
    "$(sql "SELECT reason FROM rejects ORDER BY reason" | paste -sd,)" "no-number,two-numbers"
contains "DGN: two numbers named" "$(sql "SELECT detail FROM rejects WHERE reason = 'two-numbers'")" \
    "numbers ($(number_of "$GAP_A") and $(number_of "$GAP_B")|$(number_of "$GAP_B") and $(number_of "$GAP_A"))"

# --- DXF with --snap 0.1: the gap closes, both parcels import. ---
new_store dxf
import --srs EPSG:9208 --snap 0.1 dxf/07900.dxf
check "DXF: imports" "$RC" 0
contains "DXF: the closure reported" "$OUT" "closed a gap 0\.050 m wide at .*\(--snap 0\.1\)"
near "DXF: the closure where planted" "$OUT" "closed a gap" "$gx" "$gy" 0.06
expect_parcels "DXF --snap" "$MISSING"
area_ok "DXF --snap" "$(max_area_diff)"
check "DXF --snap: quarantined: the polygon with no number" "$(sql "SELECT reason FROM rejects" | paste -sd,)" \
    no-number

# --- A commune's sheets as a file each, as the cadastral software delivers
# them: the DXF cut in two at the middle of its extent by ogr2ogr
# -clipsrc, so that the boundary lines of the parcels across the cut end
# there in both files and each text is in one. Imported together, the two
# files are the one drawing: the same parcels, none twice, none lost. ---
mkdir -p cut
read -r X0 Y0 Y1 <<<"$(ogrinfo -ro -so -al dxf/07900.dxf |
    awk -F'[(), ]+' '/^Extent/ {printf "%.3f %.3f %.3f", ($2 + $5) / 2, $3 - 1, $6 + 1}')"
ogr2ogr -q -f DXF cut/07900_t1.dxf dxf/07900.dxf -clipsrc 0 "$Y0" "$X0" "$Y1"
ogr2ogr -q -f DXF cut/07900_t2.dxf dxf/07900.dxf -clipsrc "$X0" "$Y0" 9999999 "$Y1"
CUT_LINES=$(ogrinfo -ro -q cut/07900_t1.dxf entities -where "Layer = 'RANH_THUA'" |
    grep -c "[ (]$X0 " || true)
if [ "$CUT_LINES" -ge 3 ]; then ok "the cut at x = $X0 crosses parcels ($CUT_LINES boundary lines end there)"; else
    fail "the cut at x = $X0 crosses too few boundary lines ($CUT_LINES)"; fi
new_store cut
import --srs EPSG:9208 cut/07900_t1.dxf cut/07900_t2.dxf
check "two sheet files of a commune: imports" "$RC" 0
contains "two sheet files of a commune: read as one drawing" "$OUT" \
    "with 1 other sheet file of the same commune, as one drawing"
contains "two sheet files of a commune: the second is read with the first" "$OUT" \
    "07900_t2.dxf: read with .*07900_t1.dxf as one drawing of commune 07900"
expect_parcels "two sheet files of a commune" "$MISSING" "$GAP_A" "$GAP_B"
area_ok "two sheet files of a commune" "$(max_area_diff)"
check "two sheet files of a commune: one import file row, both files' checksum" \
    "$(sql "SELECT count(*) FROM import_files")" 1
import --srs EPSG:9208 cut/07900_t1.dxf cut/07900_t2.dxf
check "the same two files again: both skipped" \
    "$(grep -cE '^cut/07900_t[12]\.dxf .* skipped +[0-9]+$' <<<"$OUT")" 2
# A second sheet file changed (one land use re-surveyed): the pair is new,
# and imported again.
sed -i '0,/^LUC$/s//LUK/' cut/07900_t2.dxf
import --srs EPSG:9208 cut/07900_t1.dxf cut/07900_t2.dxf
check "one file of the pair changed: imported again" "$RC" 0
contains "one file of the pair changed: not skipped" "$OUT" "read 1[0-9]{3}, stored"
# A sheet file that cannot be read: the commune's sheets are stored
# together or not at all.
head -c 3000 cut/07900_t2.dxf >cut/broken.dxf
cp cut/07900_t1.dxf cut/07900_t3.dxf
mv cut/broken.dxf cut/07900_t4.dxf
new_store cutbad
import --srs EPSG:9208 cut/07900_t3.dxf cut/07900_t4.dxf
check "a broken sheet file of the pair: exit status" "$RC" 1
contains "a broken sheet file of the pair: says which" "$(grep 'FAILED: ' <<<"$OUT" | head -1)" \
    "07900_t3.dxf: FAILED: .*07900_t4.dxf, a sheet file of the same commune read with it"
contains "a broken sheet file of the pair: the other fails with it" "$OUT" \
    "07900_t4.dxf: FAILED: read with .*07900_t3.dxf as one drawing of commune 07900, which failed"
check "a broken sheet file of the pair: nothing stored" "$(sql "SELECT count(*) FROM parcels")" 0

# --- Sheet files of one commune in two formats: read together they would
# be decoded as one; the second is refused (it would supersede the first),
# the first kept. ---
new_store twice
import --srs EPSG:9208 dgn/07900.dgn dxf/07900.dxf
check "sheet files of a commune in two formats: exit status" "$RC" 1
contains "sheet files of a commune in two formats: says why" "$(grep 'FAILED: ' <<<"$OUT" | tail -1)" \
    "dxf: FAILED: commune 07900's sheets came in .*dgn/07900.dgn already.*one format"
expect_parcels "sheet files of a commune in two formats: the first's parcels" "$MISSING" "$GAP_A" "$GAP_B"

# --- A sheet on other layers, mapped with --levels. ---
sed -e 's/^RANH_THUA$/RANHGIOI/' -e 's/^SO_THUA$/SOTHUTU/' dxf/07900.dxf >other_07900.dxf
printf '# this office draws its own way\nboundary = RANHGIOI\nnumber = SOTHUTU  # parcel numbers\n' >other.levels
new_store other
import --srs EPSG:9208 --levels other.levels other_07900.dxf
check "--levels: imports" "$RC" 0
contains "--levels: detected as a sheet" "$OUT" "read as a line-and-label sheet"
expect_parcels "--levels" "$MISSING" "$GAP_A" "$GAP_B"

# --- A hand-drawn sheet: a parcel, a road beside it, a number astray. ---
# Two squares sharing an edge (three lines, the shared one once); the left
# holds number, land use and area, the right only the road code DGT; a
# number lies outside both. --sheet gives the sheet (no frame).
cat >hand.csv <<'EOF'
WKT,Layer,Label
"LINESTRING (566000 2353000,566000 2353020,566020 2353020)",RANH_THUA,
"LINESTRING (566000 2353000,566020 2353000,566020 2353020)",RANH_THUA,
"LINESTRING (566020 2353000,566030 2353000,566030 2353020,566020 2353020)",GIAO_THONG,
"POINT (566010 2353010)",SO_THUA,1
"POINT (566010 2353009)",LOAI_DAT,ONT
"POINT (566010 2353011)",DIEN_TICH,"400,0"
"POINT (566025 2353010)",LOAI_DAT,DGT
"POINT (566050 2353010)",SO_THUA,9
EOF
ogr2ogr -q -f DXF hand_07900.dxf hand.csv -dialect sqlite -sql "SELECT GeomFromText(WKT) AS geom, Layer,
    CASE WHEN Label != '' THEN 'LABEL(f:\"Arial\",t:\"' || Label || '\")' END AS OGR_STYLE FROM hand"
new_store hand
import --srs EPSG:9208 --sheet 4 hand_07900.dxf
check "hand-drawn: imports" "$RC" 0
check "hand-drawn: the parcel, on sheet 4, 400 m2" \
    "$(sql "SELECT sheet, parcel, landuse, CAST(round(area_computed_m2) AS INTEGER) FROM parcels")" "4|1|ONT|400"
check "hand-drawn: the stray number quarantined" "$(sql "SELECT reason FROM rejects")" number-without-polygon
contains "hand-drawn: the road is no parcel, and no reject" "$OUT" \
    "1 polygons without a number \(roads, water, land between blocks: 200\.0 m2\) are no parcels"

# --- Bad input: one-line errors, nothing written. ---
new_store bad
bad() { # NAME FILE PATTERN [options]
    import --srs EPSG:9208 "${@:4}" "$2"
    check "$1: exit status" "$RC" 1
    contains "$1: says why" "$(grep -E 'FAILED: ' <<<"$OUT" | tail -1)" "$3"
    check "$1: nothing stored" "$(sql "SELECT count(*) FROM parcels")" 0
}
# A DGN v8 file is an OLE compound document: its first 8 bytes say so.
printf '\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1' >v8_07900.dgn
head -c 8184 /dev/zero >>v8_07900.dgn
bad "DGN v8" v8_07900.dgn "a DGN v8 file .*ODA File Converter"
head -c "$(($(stat -c %s dgn/07900.dgn) / 2))" dgn/07900.dgn >cut_07900.dgn
bad "truncated DGN" cut_07900.dgn "a truncated DGN v7 file"
sed 's/^RANH_THUA$/GHI_CHU/' dxf/07900.dxf >noboundary_07900.dxf
bad "DXF without a boundary layer" noboundary_07900.dxf "no line on the boundary level or layer"
# Open lines only: one boundary line, a number beside it.
cat >open.csv <<'EOF'
WKT,Layer,Label
"LINESTRING (566000 2353000,566050 2353000,566050 2353040)",RANH_THUA,
"POINT (566020 2353010)",SO_THUA,17
EOF
ogr2ogr -q -f DXF open_07900.dxf open.csv -dialect sqlite -sql "SELECT GeomFromText(WKT) AS geom, Layer,
    CASE WHEN Label != '' THEN 'LABEL(f:\"Arial\",t:\"' || Label || '\")' END AS OGR_STYLE FROM open"
bad "lines that make no polygon" open_07900.dxf "boundary lines make no polygon"
import --snap 20 dgn/07900.dgn
check "--snap 20: a usage error" "$RC" 2
contains "--snap 20: says the range" "$OUT" "--snap takes metres between 0 and 10"
printf 'number = 13\nparcels = 10\n' >levels.txt
bad "levels file with an unknown role" dgn/07900.dgn "levels.txt:2: expected 'ROLE = LEVEL" --force \
    --levels levels.txt

# Texts in an encoding nobody can tell (bytes of no Vietnamese font
# encoding, read by GDAL's DXF driver as CP1252): a number that is no
# number is quarantined with its reason; a land use that is no code is
# stored and flagged, as any unknown code is; the rest of the sheet loads.
printf '%s\n' 'WKT,Layer,Label' \
    '"LINESTRING (566000 2353000,566000 2353020,566020 2353020,566040 2353020,566040 2353000,566020 2353000)",RANH_THUA,' \
    '"LINESTRING (566000 2353000,566020 2353000,566020 2353020)",RANH_THUA,' \
    '"POINT (566010 2353010)",SO_THUA,1' "\"POINT (566010 2353009)\",LOAI_DAT,$(printf '\xa9\xfe')" \
    "\"POINT (566030 2353010)\",SO_THUA,2$(printf '\x80\x81')" '"POINT (566030 2353009)",LOAI_DAT,ONT' >enc.csv
ogr2ogr -q -f DXF enc_07900.dxf enc.csv -dialect sqlite -sql "SELECT GeomFromText(WKT) AS geom, Layer,
    CASE WHEN Label != '' THEN 'LABEL(f:\"Arial\",t:\"' || Label || '\")' END AS OGR_STYLE FROM enc"
new_store enc
import --srs EPSG:9208 --sheet 4 enc_07900.dxf
check "labels in an unknown encoding: the sheet imports" "$RC" 0
check "labels in an unknown encoding: the number that is none quarantined" \
    "$(sql "SELECT reason FROM rejects")" bad-number
check "labels in an unknown encoding: the other parcel stored, flagged" \
    "$(sql "SELECT parcel, flags != 0 FROM parcels")" "1|1"
contains "labels in an unknown encoding: the summary counts both" "$(grep '^enc_07900' <<<"$OUT")" \
    " 2 +1 +0 +1 +1 ok"
finish
