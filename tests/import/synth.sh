#!/usr/bin/env bash
# The synthetic province (samples/, pdb-synth): one commune in each format,
# encoding and field-name variant it writes, imported, with the exact
# counts and reasons its <file>.manifest.json promises. pdb-synth is part of
# every build (samples/CMakeLists.txt): without it the test fails, it does
# not skip.
source "$(dirname "$0")/lib.sh"

need_synth

# synth NAME ARGS...: generates one commune (07900, Phu Tho) into $WORK/NAME;
# sets FILE (the survey) and M (its manifest).
synth() {
    local name=$1
    shift
    rm -rf "$WORK/$name"
    "$SYNTH" --out "$WORK/$name" --communes 07900 --parcels-per-commune 500 --seed 11 \
        --defects 3 --quiet "$@"
    M=$(ls "$WORK/$name"/*.manifest.json)
    FILE=${M%.manifest.json}
}

# expect NAME [import options...]: imports FILE and compares with M. With
# CAD=1, a parcel in several parts (several boundaries, one label) is read
# as documented in docs/import.md: the labelled part is stored (its
# surveyed area then disagrees) and each other part is a record of its own,
# rejected for its missing numbers.
expect() {
    local name=$1 b extra=0
    shift
    [ "${CAD:-0}" -eq 1 ] && extra=$(mf "$M" '$.geometry.multipolygon_parcels')
    import --force "$@" "$FILE"
    check "$name: exit status" "$RC" 0
    [ "$RC" -eq 0 ] || { echo "$OUT"; return; }
    b=$(sql "SELECT max(id) FROM import_batches")
    check "$name: read/stored/repaired/rejected" \
        "$(sql "SELECT read || '/' || stored || '/' || repaired || '/' || rejected FROM import_batches WHERE id = $b")" \
        "$(($(mf "$M" '$.expected.read') + extra))/$(mf "$M" '$.expected.stored')/$(mf "$M" '$.expected.repaired')/$(($(mf "$M" '$.expected.rejected') + extra))"
    manifest_rejects "$name" "$M" "batch_id = $b" "$extra"
    check "$name: unknown land use flagged" \
        "$(sql "SELECT count(*) FROM parcels WHERE batch_id = $b AND flags & 2")" \
        "$(mf "$M" '$.expected.flagged_by_reason."unknown-landuse"')"
    check "$name: area mismatch flagged" \
        "$(sql "SELECT count(*) FROM parcels WHERE batch_id = $b AND flags & 4")" \
        "$(($(mf "$M" '$.expected.flagged_by_reason."area-mismatch"') + extra))"
    check "$name: no replacement characters" \
        "$(sql "SELECT count(*) FROM parcels WHERE batch_id = $b AND (owner LIKE '%'||char(65533)||'%' OR address LIKE '%'||char(65533)||'%')")" 0
    if [ "${CAD:-0}" -eq 0 ]; then
        check "$name: duplicate numbers flagged" \
            "$(sql "SELECT count(*) FROM parcels WHERE batch_id = $b AND flags & 1")" \
            "$(mf "$M" '$.expected.flagged_by_reason."duplicate-number"')"
    fi
}

new_store
for fmt in "ESRI Shapefile" GPKG GeoJSON GeoJSON-legacy GML KML; do
    synth "f-${fmt// /}" --format "$fmt"
    expect "$fmt"
done
synth f-csv --format CSV
expect CSV --srs "EPSG:$(mf "$M" '$.crs.zone_epsg')"
# CAD labels carry no former commune, so numbers repeat across the former
# communes of a merged commune: duplicates are not compared there.
synth f-dxf --format DXF
CAD=1 expect DXF --srs "EPSG:$(mf "$M" '$.crs.zone_epsg')"

# Encodings: TCVN3 and VNI DBFs without .cpg, detected; the owners must be
# those of the UTF-8 file of the same seed (TCVN3 has no toned capitals:
# the manifest counts the values that lose their case), duplicate numbers
# aside (they do not say which is which).
synth utf8 --format "ESRI Shapefile"
expect "UTF-8 reference"
cp "$DB" "$WORK/utf8.sqlite"
for enc in tcvn3 vni; do
    synth "$enc" --format "ESRI Shapefile" --encoding "$enc" --no-cpg
    expect "$enc"
    contains "$enc: detected" "$OUT" "text read as ${enc^^} \(detected"
    differ=$(sql "ATTACH '$WORK/utf8.sqlite' AS u;
        SELECT count(*) || '/' || coalesce(sum(length(p.owner) != length(q.owner)
                                           OR length(p.address) != length(q.address)), 0)
        FROM parcels p JOIN u.parcels q USING (commune, former_commune, sheet, parcel)
        WHERE p.batch_id = (SELECT max(id) FROM import_batches) AND q.batch_id = (SELECT max(id) FROM u.import_batches)
          AND (p.flags & 1) = 0 AND (p.owner IS NOT q.owner OR p.address IS NOT q.address)")
    lossy=$(mf "$M" '$.text.tcvn3_lossy_values')
    check "$enc: owners and addresses as in the UTF-8 file, but for case lost to TCVN3" \
        "$([ "${differ%/*}" -le "${lossy:-0}" ] && echo "${differ#*/}")" 0
done

# Field-name variants and DBF truncations.
synth variants --format "ESRI Shapefile" --field-names variants
expect "field-name variants"
synth truncated --format "ESRI Shapefile" --field-names truncated
expect "truncated field names"

# No CRS: refused with --srs named, then imported with it.
synth noprj --format "ESRI Shapefile" --no-prj
import --force "$FILE"
check "no .prj: refused" "$RC" 1
contains "no .prj: names --srs" "$OUT" "--srs EPSG:$(mf "$M" '$.crs.zone_epsg')"
expect "no .prj, --srs" --srs "EPSG:$(mf "$M" '$.crs.zone_epsg')"

# Curved boundaries (a vertex every 1.5 m, shared by the parcels on both
# sides, as surveys of hills and forest draw them): without defects, the
# file's coverage is clean (GDAL's SQLite dialect: the union of the parcels
# as large as their sum, to a square metre); with them, the same outcomes
# as straight cuts, and the overviews built from them.
synth curved-clean --format GPKG --curved-edges 1.5 --defects none
shape=$(ogrinfo -q -ro -dialect SQLite -sql "SELECT avg(ST_NPoints(geom)) > 30 AS many,
    abs(sum(ST_Area(geom)) - ST_Area(ST_Union(geom))) < 1 AS clean FROM \"$(mf "$M" '$.layer')\"" "$FILE")
contains "curved: ten times the vertices of straight cuts" "$shape" "many \(Integer\) = 1"
contains "curved: coverage without overlaps or gaps" "$shape" "clean \(Integer\) = 1"
synth curved --format GPKG --curved-edges 1.5
expect "curved edges"
contains "curved: overviews rebuilt" "$OUT" "overviews of 1 commune rebuilt"
check "curved: overview rows, no problem" \
    "$(sql "SELECT count(*) > 0 FROM overviews WHERE commune = '07900'")/$(sql "SELECT count(*) FROM overview_problems")" "1/0"

finish
