#!/usr/bin/env bash
# parceldb qa (docs/qa.md) as an officer runs it, on communes made by
# pdb-synth with errors planted where its manifest says (qa_ground_truth):
#   - three configurations (formats, seeds, communes, zones, curved edges,
#     a WGS 84 survey): every planted error is in the JSON report under the
#     right check and parcel (truth.py), and the exit status is 2;
#   - clean communes: no finding of severity error, exit status 0;
#   - a commune imported twice under two codes: every parcel overlaps its
#     twin across the commune boundary (overlap_commune), none within;
#   - strips overlapping by 1 mm (within a commune and across two): an
#     overlap_sliver of severity info, not an error; by 0.3 m: an error;
#     min_width_m in the rules file moves the line;
#   - the GeoPackage report opened by QGIS (offscreen): its overlap and gap
#     layers hold as many features as Shapely counts from the survey file
#     itself (independent.py), in the survey's CRS;
#   - bad input (unknown check, negative threshold, unknown commune, bad
#     format): one line on stderr, exit status 1.
# Without pdb-synth, python3-qgis or python3-shapely the test fails.
source "$PDB_SOURCE_DIR/tests/import/lib.sh"

SYNTH=${PDB_SYNTH:-${PDB_BINARY_DIR:-}/samples/pdb-synth}
HERE="$PDB_SOURCE_DIR/tests/qa"
if [ ! -x "$SYNTH" ]; then
    echo "FAIL: pdb-synth is not built ($SYNTH)" >&2
    exit 1
fi
for mod in qgis.core shapely; do
    if ! QT_QPA_PLATFORM=offscreen /usr/bin/python3 -c "import $mod" 2>/dev/null; then
        echo "FAIL: /usr/bin/python3 cannot import $mod: scripts/install-deps.sh installs it" >&2
        exit 1
    fi
done

# qa ARGS...: runs parceldb qa on $DB; sets QOUT, QERR and QRC.
qa() {
    set +e
    QOUT=$("$PARCELDB" qa --db "$DB" "$@" 2>qa.err)
    QRC=$?
    set -e
    QERR=$(cat qa.err)
}

# gen NAME COMMUNE ARGS...: a generated commune in $WORK/NAME; M its manifest.
gen() {
    local name=$1 code=$2
    shift 2
    rm -rf "$WORK/$name"
    "$SYNTH" --out "$WORK/$name" --communes "$code" --quiet "$@"
    M=$(ls "$WORK/$name"/*.manifest.json)
    FILE=${M%.manifest.json}
}

# planted NAME COMMUNE ARGS...: one configuration with planted errors.
planted() {
    local name=$1 code=$2
    gen "$@"
    new_store "$name"
    import "$FILE"
    check "$name: import" "$RC" 0
    qa --commune "$code" --format json -o "$name.json"
    check "$name: exit status with errors found" "$QRC" 2
    local out
    set +e
    out=$(python3 "$HERE/truth.py" "$M" "$name.json" 2>&1)
    local rc=$?
    set -e
    echo "$out" | sed 's/^/  /'
    check "$name: every planted error found with its check and parcel" "$rc" 0
    # Counts per check, per commune and per sheet agree with the findings.
    check "$name: counts per check, commune and sheet" "$(python3 - "$name.json" <<'PY'
import collections, json, sys
r = json.load(open(sys.argv[1]))
per = collections.Counter(f["check"] for f in r["findings"])
sheets = collections.Counter(
    (f["check"], f"{f['commune']}/{f['former'] + ':' if f['former'] else ''}{f.get('sheet') or '-'}")
    for f in r["findings"])
bad = [c for c, v in r["checks"].items()
       if v["count"] != per[c] or sum(v["by_commune"].values()) != per[c]
       or any(sheets[(c, k)] != n for k, n in v["by_sheet"].items())
       or sum(v["by_sheet"].values()) != per[c]]
print("ok" if per and not bad and r["errors"] == sum(
    1 for f in r["findings"] if f["severity"] == "error") else f"differ: {bad}")
PY
)" ok
}

planted gpkg 07900 --format GPKG --parcels-per-commune 1500 --seed 11 --defects 3-per-kind \
    --qa-defects 4
planted shp_curved 07894 --format "ESRI Shapefile" --parcels-per-commune 1200 --seed 23 \
    --defects 2-per-kind --qa-defects 3 --curved-edges 3
planted geojson_wgs84 08707 --format GeoJSON --parcels-per-commune 1000 --seed 7 \
    --defects 2-per-kind --qa-defects 3

# The text summary names each check and the commune.
new_store gpkg_text
gen gpkg 07900 --format GPKG --parcels-per-commune 1500 --seed 11 --defects 3-per-kind \
    --qa-defects 4
import "$FILE"
qa
check "text: exit status" "$QRC" 2
contains "text: summary line" "$QOUT" "^qa: 1 communes, [0-9]+ parcels: [0-9]+ errors"
contains "text: overlap row" "$QOUT" "^overlap +error +[1-9]"
contains "text: skipped check says why" "$QOUT" "^outside_commune +error +skipped: the store keeps no commune boundary"
contains "text: per commune" "$QOUT" "^commune 07900: [0-9]+ findings"

# Clean communes: nothing of severity error, exit 0.
new_store clean
gen c1 07900 --format GPKG --parcels-per-commune 1500 --seed 11 --defects none
C1=$FILE
import "$C1"
gen c2 07894 --parcels-per-commune 1200 --seed 23 --defects none --curved-edges 3
import "$FILE"
gen c3 08707 --format GeoJSON --parcels-per-commune 800 --seed 7 --defects none
import "$FILE"
qa --format json -o clean.json
check "clean: exit status" "$QRC" 0
check "clean: errors" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["errors"])' clean.json)" 0
check "clean: communes checked" "$(python3 -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["communes"]))' clean.json)" "07894,07900,08707"

# Across communes: the same survey imported as 07900 and as 07909 (same
# zone): each parcel overlaps its twin, once, from either side.
new_store twins
import "$C1"
import --force --commune 07909 "$C1"
stored=$(sql "SELECT count(*) FROM parcels WHERE commune = '07900' AND valid_to IS NULL")
qa --format json -o twins.json
check "twins: exit status" "$QRC" 2
count() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["checks"].get(sys.argv[2], {}).get("count", 0))' "$@"; }
check "twins: overlap_commune, one per parcel" "$(count twins.json overlap_commune)" "$stored"
check "twins: no overlap within a commune" "$(count twins.json overlap)" 0
qa --commune 07909 --format json -o twin.json
check "twins: 07909 alone against its neighbour" "$(count twin.json overlap_commune)" "$stored"
# Across zones: the same survey as 04792 too (Hoa Binh, EPSG:9211; the
# importer told to keep the survey's CRS): checked from 04792, the lower
# code, in its own zone, the 07900 parcels transformed into it (07900's
# own findings against 07909, in EPSG:9208, go to a layer of their own).
import --force --force-srs --commune 04792 "$C1"
qa --commune 04792 --commune 07900 --format gpkg -o twins.gpkg
check "twins across zones: exit status" "$QRC" 2
info=$(ogrinfo -so twins.gpkg overlap_commune_9211 2>&1)
contains "twins across zones: one per parcel and twin" "$info" "Feature Count: $((2 * stored))\$"
contains "twins across zones: in 04792's CRS" "$info" "ID\\[\"EPSG\",9211\\]\\]\$"
check "twins across zones: reported from 04792 against 07900 and 07909 (not checked itself)" \
    "$(ogrinfo -q twins.gpkg -sql "SELECT DISTINCT commune || '>' || other_commune AS pair FROM overlap_commune_9211" | sed -n 's/.*pair (String) = //p' | sort | tr '\n' ' ')" \
    "04792>07900 04792>07909 "
check "twins across zones: 07900 against 07909 in EPSG:9208" \
    "$(ogrinfo -q twins.gpkg -sql "SELECT DISTINCT commune || '>' || other_commune AS pair FROM overlap_commune_9208" | sed -n 's/.*pair (String) = //p')" \
    "07900>07909"

# Overlaps judged by width too (overlap.min_width_m, overlap_commune.min_width_m,
# 3 mm by default): 40 x 10 m strips in Phu Tho (cs2cs's point), overlapping
# along their 40 m edge by 1 mm (0.04 m2: four times the area threshold,
# what two surveys' millimetre rounding leaves) or by 0.3 m (12 m2), within
# 07900 and between 07900 and 07909: the 1 mm ones are overlap_sliver (info),
# the 0.3 m ones errors; the rules file moves the line.
new_store widths
base_phutho
# strip SHEET NUMBER DX DY: the 40 x 10 m strip at (BX + DX, BY + DY), a CSV row.
strip() {
    awk -v x="$BX" -v y="$BY" -v dx="$3" -v dy="$4" -v s="$1" -v n="$2" 'BEGIN {
        x0 = x + dx; y0 = y + dy; x1 = x0 + 40; y1 = y0 + 10
        printf "%s,%s,LUC,\"\",\"POLYGON ((%.3f %.3f, %.3f %.3f, %.3f %.3f, %.3f %.3f, %.3f %.3f))\"\n",
            s, n, x0, y0, x1, y0, x1, y1, x0, y1, x0, y0 }'
}
for code in 07900 07909; do
    echo "MaXa,SoHieuToBanDo,SoThuTuThua,KyHieuMucDichSuDung,TenChu,WKT" >"$WORK/widths_$code.csv"
    {
        if [ "$code" = 07900 ]; then
            strip 1 1 0 0                      # 1 mm under 07909's 1/1
            strip 1 2 100 0                    # 0.3 m under 07909's 1/2
            strip 1 3 200 0
            strip 1 4 200 9.999                # 1 mm over 1/3: 0.04 m2
            strip 1 5 300 0
            strip 1 6 300 9.7                  # 0.3 m over 1/5: 12 m2
        else
            strip 1 1 0 9.999
            strip 1 2 100 9.7
        fi
    } | sed "s/^/$code,/" >>"$WORK/widths_$code.csv"
    to_format "$WORK/widths_$code.csv" "$WORK/widths_$code.gpkg" GPKG -a_srs EPSG:9208 \
        -oo AUTODETECT_TYPE=NO -nlt PROMOTE_TO_MULTI
    import "$WORK/widths_$code.gpkg"
    check "widths: import $code" "$RC" 0
done
# widths_report RULES: qa's JSON report (under RULES, "" for the
# defaults); W its overlap findings as "CHECK:SEVERITY:COMMUNE/PARCEL>
# OTHER/PARCEL:AREA" words, sorted; QRC its exit status.
widths_report() {
    qa ${1:+--rules "$1"} --format json -o widths.json
    W=$(python3 - widths.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(" ".join(sorted("%s:%s:%s/%s>%s/%s:%.3f" % (
    f["check"], f["severity"], f["commune"], f["parcel"], f["other"]["commune"],
    f["other"]["parcel"], f["measure"]) for f in r["findings"]
    if f["check"].startswith("overlap"))))
PY
)
}
widths_report
check "widths: 1 mm overlaps are slivers (info), 0.3 m ones errors" "$W" \
    "overlap:error:07900/5>07900/6:12.000 overlap_commune:error:07900/2>07909/2:12.000 overlap_sliver:info:07900/1>07909/1:0.040 overlap_sliver:info:07900/3>07900/4:0.040"
check "widths: exit status (the 0.3 m overlaps)" "$QRC" 2
printf 'overlap.min_width_m = 0\noverlap_commune.min_width_m = 0\n' >nowidth.rules
widths_report nowidth.rules
check "widths: min_width_m 0, every overlap an error" "$W" \
    "overlap:error:07900/3>07900/4:0.040 overlap:error:07900/5>07900/6:12.000 overlap_commune:error:07900/1>07909/1:0.040 overlap_commune:error:07900/2>07909/2:12.000"
printf 'overlap.min_width_m = 0.5\noverlap_commune.min_width_m = 0.5\noverlap_sliver.severity = warning\n' >wide.rules
widths_report wide.rules
check "widths: min_width_m 0.5 m, every overlap a sliver (here a warning)" "$W" \
    "overlap_sliver:warning:07900/1>07909/1:0.040 overlap_sliver:warning:07900/2>07909/2:12.000 overlap_sliver:warning:07900/3>07900/4:0.040 overlap_sliver:warning:07900/5>07900/6:12.000"
check "widths: exit status without errors" "$QRC" 0
printf 'overlap_sliver.severity = off\n' >nosliver.rules
widths_report nosliver.rules
check "widths: slivers dropped with their check off" "$W" \
    "overlap:error:07900/5>07900/6:12.000 overlap_commune:error:07900/2>07909/2:12.000"
qa
contains "widths: text row of the slivers" "$QOUT" "^overlap_sliver +info +2\$"
contains "widths: text lists the errors, not the slivers" "$QOUT" "^  error overlap 1/5: "
check "widths: text lists no sliver" "$(printf '%s\n' "$QOUT" | grep -c 'overlap_sliver 1/' || true)" 0
qa --format gpkg -o widths.gpkg
check "widths: GeoPackage layer of the slivers, with their severity" \
    "$(ogrinfo -q widths.gpkg -sql "SELECT count(*) AS n, min(severity) AS s FROM overlap_sliver" | sed -n 's/.* = //p' | tr '\n' ' ')" \
    "2 info "

# QGIS opens the GeoPackage report; Shapely counts on its own.
new_store gpkg_report
gen report 07900 --format GPKG --parcels-per-commune 1500 --seed 5 --defects none --qa-defects 4
import "$FILE"
qa --format gpkg -o report.gpkg
check "gpkg: exit status" "$QRC" 2
set +e
out=$(/usr/bin/python3 "$HERE/independent.py" "$FILE" report.gpkg 2>&1)
rc=$?
set -e
echo "$out" | grep -v XDG_RUNTIME | sed 's/^/  /'
check "gpkg: QGIS's overlap and gap counts are Shapely's" "$rc" 0
contains "gpkg: layers in the survey CRS" "$out" "layer overlap valid, [0-9]+ features, CRS EPSG:9208"
check "gpkg: one layer per check with findings" \
    "$(ogrinfo -q -so report.gpkg | sed 's/^[0-9]*: //; s/ (.*//' | sort | tr '\n' ' ')" \
    "$(python3 -c 'import json,sys; print(" ".join(sorted(json.load(open(sys.argv[1]))["checks"])))' <("$PARCELDB" qa --db "$DB" --format json) | tr ' ' '\n' | sort | tr '\n' ' ')"

# Communes in two TM-3 zones: one layer per check and zone, each in its
# zone's CRS (read by ogrinfo), holding that commune's findings.
new_store zones
gen z1 07900 --format GPKG --parcels-per-commune 600 --seed 3 --defects none --qa-defects 2
import "$FILE"
gen z2 09154 --format GPKG --parcels-per-commune 600 --seed 3 --defects none --qa-defects 2
import "$FILE"
qa --format gpkg -o zones.gpkg
check "zones: exit status" "$QRC" 2
for lz in overlap:9208:07900 overlap:5897:09154 gap:9208:07900 gap:5897:09154; do
    IFS=: read -r chk epsg code <<<"$lz"
    info=$(ogrinfo -so zones.gpkg "${chk}_$epsg" 2>&1)
    contains "zones: layer ${chk}_$epsg in EPSG:$epsg" "$info" "ID\\[\"EPSG\",$epsg\\]\\]\$"
    check "zones: layer ${chk}_$epsg holds commune $code only" \
        "$(ogrinfo -q zones.gpkg -sql "SELECT DISTINCT commune FROM ${chk}_$epsg" | sed -n 's/.*commune (String) = //p')" \
        "$code"
done

# Bad input: one line, exit 1.
bad() {
    local name=$1
    shift
    qa "$@"
    check "$name: exit status" "$QRC" 1
    check "$name: one line" "$(printf '%s\n' "$QERR" | wc -l)" 1
    contains "$name: says what" "$QERR" "$EXPECT"
}
printf 'overlap.min_area_m2 = 0.05\nslivers.max_width_m = 0.2\n' >unknown.rules
EXPECT="unknown.rules:2: unknown check 'slivers'" bad "unknown check" --rules unknown.rules
printf '# widths in metres\ngap.max_width_m = -0.2\n' >negative.rules
EXPECT="negative.rules:2: gap.max_width_m: -0.2 is negative" bad "negative threshold" --rules negative.rules
printf 'needle.severity = fatal\n' >severity.rules
EXPECT="needle.severity: 'fatal' is not error, warning, info or off" bad "unknown severity" --rules severity.rules
EXPECT="commune 07909 .* has no parcels in the store" bad "commune not in the store" --commune 07909
EXPECT="99999" bad "commune that does not exist" --commune 99999
EXPECT="--format pdf: text, json or gpkg" bad "unknown format" --format pdf
EXPECT="missing.rules" bad "missing rules file" --rules missing.rules

# A rules file changes what is an error: overlaps as warnings, gaps off.
printf 'overlap.severity = warning\ngap.severity = off\n' >lenient.rules
qa --rules lenient.rules --format json -o lenient.json
check "rules: no gap check" "$(count lenient.json gap)" 0
check "rules: overlaps still found, as warnings" \
    "$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["checks"]["overlap"]; print(c["severity"], c["count"] > 0)' lenient.json)" \
    "warning True"
check "rules: exit status without errors" "$QRC" 0

# import --qa: strict refuses a commune with errors and stores nothing of
# it (the commune imported before stays current); warn stores it and says
# the counts; a clean commune passes strict.
new_store import_qa
import --qa strict "$C1"
check "import --qa strict, clean commune: exit status" "$RC" 0
contains "import --qa strict, clean commune: counts said" "$OUT" "commune 07900: qa: 0 errors"
current="SELECT count(*) || ' parcels, ids ' || min(id) || '-' || max(id) FROM parcels WHERE valid_to IS NULL"
before=$(sql "$current")
gen strict 07900 --format GPKG --parcels-per-commune 1500 --seed 11 --defects 3-per-kind \
    --qa-defects 4
import --qa strict "$FILE"
check "import --qa strict, planted errors: exit status" "$RC" 1
contains "import --qa strict: refused, nothing stored" "$OUT" \
    "commune 07900: refused by --qa strict: [0-9]+ errors \(overlap [0-9]+, gap [0-9]+, duplicate_number [0-9]+.*nothing stored"
check "import --qa strict: the commune's parcels unchanged" \
    "$(sql "$current")" "$before"
import --qa warn "$FILE"
check "import --qa warn: exit status" "$RC" 0
contains "import --qa warn: counts said" "$OUT" "commune 07900: qa: [1-9][0-9]* errors"
check "import --qa warn: stored" "$(sql "SELECT count(*) FROM parcels WHERE valid_to IS NULL")" \
    "$(mf "$M" '$.expected.stored')"
printf 'overlap.severity = warning\ngap.severity = warning\nduplicate_number.severity = warning\n' >soft.rules
import --qa strict --qa-rules soft.rules --force "$FILE"
check "import --qa strict with rules that make no errors: exit status" "$RC" 0
import --qa-rules soft.rules --force "$FILE"
check "import --qa-rules without --qa: usage error" "$RC" 2

finish
