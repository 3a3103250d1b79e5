#!/usr/bin/env bash
# overview_failure.sh: a commune whose overviews cannot be built, as the
# parceldb command shows it (issue 12, item 2). The rebuild is made to fail
# for one commune with the vertex limit, which the rebuild applies to the
# parcels it reads: commune 07894 holds a 40-vertex parcel, and a later
# import run with --max-vertices 20 rebuilds it. Then:
#  - that import exits 0 (its own data is right) with one warning line;
#  - `info --check` names 07894, FAILED, and why;
#  - another import does not retry it (nor warn about it again);
#  - `render --rebuild-overviews --commune 07894` retries it by name.
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"

# survey COMMUNE E0 WITH_CIRCLE: two parcels of one commune in Viet Tri
# (EPSG:9208), written to COMMUNE.gpkg by ogr2ogr; the second a 40-gon.
survey() {
    local code=$1 e0=$2 circle=$3 second
    if [ "$circle" = 1 ]; then
        second=$(awk -v e="$e0" 'BEGIN { pi = atan2(0, -1); s = "POLYGON (("
            for (i = 0; i <= 40; i++) { a = 2 * pi * (i % 40) / 40
                s = s sprintf("%s%.3f %.3f", i ? ", " : "", e + 250 + 50 * cos(a), 2358750 + 50 * sin(a)) }
            print s "))" }')
    else
        second="POLYGON (($((e0 + 100)) 2358700, $((e0 + 200)) 2358700, $((e0 + 200)) 2358800, $((e0 + 100)) 2358800, $((e0 + 100)) 2358700))"
    fi
    cat >"$code.csv" <<EOF
MaXa,SoHieuToBanDo,SoThuTuThua,KyHieuMucDichSuDung,WKT
$code,1,1,LUA,"POLYGON (($e0 2358700, $((e0 + 100)) 2358700, $((e0 + 100)) 2358800, $e0 2358800, $e0 2358700))"
$code,1,2,ONT,"$second"
EOF
    ogr2ogr -q -f GPKG "$code.gpkg" "$code.csv" -nln parcels -a_srs EPSG:9208 \
        -oo GEOM_POSSIBLE_NAMES=WKT -oo KEEP_GEOM_COLUMNS=NO -oo AUTODETECT_TYPE=NO \
        -nlt PROMOTE_TO_MULTI || exit 1
}
survey 07894 567400 1
survey 07909 568400 0
survey 07900 569400 0
"$PARCELDB" init --db t.sqlite >/dev/null || exit 1
"$PARCELDB" import --quiet --no-overviews --db t.sqlite 07894.gpkg >/dev/null 2>&1 ||
    { echo "the first import failed"; exit 1; }

# The import of 07909 rebuilds 07894 too (stale), which fails.
"$PARCELDB" import --db t.sqlite --max-vertices 20 07909.gpkg >out.txt 2>err.txt
check "an import whose own data is right exits 0" "$?" 0
check "one warning line on stderr" "$(grep -c 'warning: .*overviews of 1 commune could not be built' err.txt)" 1
check "its own commune's overviews were built" "$(grep -c 'overviews of 1 commune rebuilt' out.txt)" 1

"$PARCELDB" info --db t.sqlite --check >info.txt 2>&1
check "info --check exits 0 (the data is healthy)" "$?" 0
check "info --check names the commune, FAILED, and why" \
    "$(grep -c '^  commune 07894: FAILED.*: .*vertices' info.txt)" 1
check "and only it" "$(grep -c 'not up to date' info.txt) $(grep -c '^  commune' info.txt)" "1 1"

# Another import is not blocked and does not retry it.
"$PARCELDB" import --db t.sqlite 07900.gpkg >out2.txt 2>err2.txt
check "a later import exits 0" "$?" 0
check "and does not warn about 07894 again" "$(grep -c warning err2.txt)" 0
check "it rebuilt only its own commune" "$(grep -c 'overviews of 1 commune rebuilt' out2.txt)" 1
"$PARCELDB" info --db t.sqlite --check >info2.txt 2>&1
check "07894 is still named" "$(grep -c '^  commune 07894: FAILED' info2.txt)" 1

# Rebuilt by name (without the low limit), it is built.
"$PARCELDB" render --db t.sqlite --rebuild-overviews --commune 07894 >r.txt 2>&1
check "render --rebuild-overviews --commune 07894 exits 0" "$?" 0
"$PARCELDB" info --db t.sqlite --check >info3.txt 2>&1
check "then every commune's overviews are ok" "$(grep -c '^overviews: *ok (3 communes)' info3.txt)" 1

check_done
