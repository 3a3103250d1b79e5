#!/usr/bin/env bash
# `parceldb search` and the audit of personal answers (issue 14): owner
# names with diacritics, NFD input, the old tone placement and names
# imported from a TCVN3 DBF are each found; owners are never matched
# without --personal; the audit table holds one row per personal answer
# (search, lookup) and none for public ones, read back with sqlite3/psql.
# Runs on both stores (import_search_pg in tests/pg.cmake).
source "$(dirname "$0")/lib.sh"

new_store
base_phutho

# run ARGS...: the parceldb command; sets OUT (stdout), ERR and RC.
run() {
    set +e
    OUT=$("$PARCELDB" "$@" 2>"$WORK/err")
    RC=$?
    ERR=$(cat "$WORK/err")
    set -e
}
# numbers: the parcel numbers of the last answer, in its order.
numbers() { jq -r '[.features[].properties.parcel] | join(" ")' <<<"$OUT"; }
audits() { sql "SELECT count(*) FROM audit_log"; }

# Commune 07894, UTF-8 (ogr2ogr writes a .cpg): parcel 1 the exact name,
# 2 and 3 one name in the new and the old tone placement, 4 a longer
# first name, 5 the same words in another order.
owners=("Nguyễn Văn A" "Trần Thị Hòa" "Lê Thị Hoà" "Nguyễn Văn An" "Văn A Nguyễn" "Đặng Thị Tuyết")
addrs=("Xóm Đồng Lạc" "Khu 3, Phường Nông Trang" "Xóm Đồng Lạc" "Thôn Hạ" "Thôn Thượng" "Số 12 đường Hùng Vương")
printf 'WKT,MaXa,SoTo,SoThua,LoaiDat,DienTich,TenChu,DiaChi\n' > utf8.csv
for i in $(seq 0 5); do
    printf '"%s",07894,3,%d,%s,400,%s,"%s"\n' "$(square "$BX" "$(awk -v b="$BY" -v i="$i" 'BEGIN { printf "%.3f", b + i * 30 }')" 20)" \
        $((i + 1)) "$([ "$i" = 5 ] && echo LUA || echo ONT)" "${owners[$i]}" "${addrs[$i]}" >> utf8.csv
done
to_format utf8.csv utf8/parcels.shp "ESRI Shapefile" -a_srs EPSG:9208 -lco ENCODING=UTF-8
import utf8/parcels.shp
check "UTF-8 fixture imported" "$RC" 0

# Commune 07900, TCVN3 bytes in a DBF that declares nothing (the importer
# detects and decodes them): "Nguyễn Văn Tường", "Lê Đức Thắng".
printf 'WKT,MaXa,SoTo,SoThua,LoaiDat,DienTich,TenChu,DiaChi\n' > tcvn3.csv
tcvn3=('Nguy\xD4n V\xA8n T\xAD\xEAng' 'L\xAA \xA7\xF8c Th\xBEng')
for i in 0 1; do
    printf '"%s",07900,8,%d,ONT,400,%b,%b\n' "$(square "$(awk -v b="$BX" 'BEGIN { printf "%.3f", b + 500 }')" \
        "$(awk -v b="$BY" -v i="$i" 'BEGIN { printf "%.3f", b + i * 30 }')" 20)" $((i + 1)) "${tcvn3[$i]}" \
        'X\xE3m \xA7\xE5ng L\xB9c' >> tcvn3.csv
done
to_format tcvn3.csv tcvn3/parcels.shp "ESRI Shapefile" -a_srs EPSG:9208 --config SHAPE_ENCODING ""
import tcvn3/parcels.shp
check "TCVN3 fixture imported" "$RC" 0
contains "TCVN3 fixture: read as TCVN3" "$OUT" "text read as TCVN3"
check "no audit rows before any personal answer" "$(audits)" 0

# Ranked: the phrase, then the words in another order, then the prefix.
run search --db "$DB" --owner "nguyen van a" --personal
check "owner 'nguyen van a': exit 0" "$RC" 0
check "owner 'nguyen van a': phrase, words, prefix" "$(numbers)" "1 5 4"
check "owner 'nguyen van a': the owner shown" "$(jq -r '.features[0].properties.owner' <<<"$OUT")" "Nguyễn Văn A"
run search --db "$DB" --owner "NGUYỄN VĂN A" --personal --limit 1
check "upper case with marks, --limit 1" "$(numbers)" "1"
nfd=$(python3 -c 'import unicodedata; print(unicodedata.normalize("NFD", "Nguyễn Văn A"))')
[ "$nfd" != "Nguyễn Văn A" ] || fail "the NFD query is not NFD"
run search --db "$DB" --owner "$nfd" --personal
check "NFD query" "$(numbers)" "1 5 4"
run search --db "$DB" --owner "hoà" --personal
check "old tone placement 'hoà' finds both spellings" "$(numbers)" "2 3"
run search --db "$DB" --owner "Hòa" --personal
check "new tone placement 'Hòa' finds both spellings" "$(numbers)" "2 3"
run search --db "$DB" --owner "dang thi tuyet" --personal
check "đ folds to d" "$(numbers)" "6"
run search --db "$DB" --owner "tuong" --personal
check "TCVN3-imported 'Nguyễn Văn Tường' found as 'tuong'" "$(jq -r '.features[] | .properties.commune + "/" + .properties.owner' <<<"$OUT")" "07900/Nguyễn Văn Tường"
run search --db "$DB" --owner "Lê Đức Thắng" --personal
check "TCVN3-imported 'Lê Đức Thắng' found" "$(numbers)" "2"
run search --db "$DB" --owner "nguyen" --commune 07900 --personal
check "--commune filters" "$(jq -r '[.features[].properties.commune] | unique | join(" ")' <<<"$OUT")" "07900"
run search --db "$DB" --owner "thi" --landuse LUA --personal
check "--landuse filters" "$(numbers)" "6"
check "one audit row per personal answer so far" "$(audits)" 10

# Without --personal: no owner search, no owner matched or shown.
run search --db "$DB" --owner "nguyen"
check "--owner without --personal: usage error" "$RC" 2
run search --db "$DB" --address "nguyen"
check "address search never matches owner names" "$(numbers)" ""
run search --db "$DB" --address "dong lac"
check "address 'dong lac' (both stores' spellings, TCVN3 too)" "$(jq -r '[.features[] | .properties.commune + "/" + .properties.parcel] | join(" ")' <<<"$OUT")" "07894/1 07894/3 07900/1 07900/2"
check "public answer: no owner property" "$(jq '[.features[].properties | has("owner")] | any' <<<"$OUT")" false
run search --db "$DB" --address "hung vuong"
check "address 'hung vuong'" "$(numbers)" "6"
check "public answers write no audit row" "$(audits)" 10

# lookup --personal is recorded too, with the parcel's id; lookup without is not.
run lookup --db "$DB" --id 07894/3/1 --personal
check "lookup --personal: exit 0" "$RC" 0
check "lookup --personal: one more audit row" "$(audits)" 11
id1=$(sql "SELECT id FROM parcels WHERE commune = '07894' AND parcel = '1' AND valid_to IS NULL")
check "the lookup's row names the command and the parcel" \
    "$(sql "SELECT what || ' ' || parcels FROM audit_log ORDER BY id DESC LIMIT 1")" "parceldb lookup $id1"
run lookup --db "$DB" --id 07894/3/1
check "lookup without --personal: no audit row" "$(audits)" 11

# parceldb audit lists them; --token and --since filter.
me="user:$(id -un)"
run audit --db "$DB"
check "audit: exit 0" "$RC" 0
check "audit: one line per row" "$(wc -l <<<"$OUT")" 11
check "audit: who is the user" "$(cut -f2 <<<"$OUT" | sort -u)" "$me"
run audit --db "$DB" --token "$me" --since "$(date -u +%Y-%m-%d)"
check "audit --token --since today" "$(wc -l <<<"$OUT")" 11
run audit --db "$DB" --token nobody
check "audit --token nobody: nothing" "$OUT" ""
run audit --db "$DB" --since "$(date -u -d tomorrow +%Y-%m-%d)"
check "audit --since tomorrow: nothing" "$OUT" ""
run audit --db "$DB" --since yesterday
check "audit --since not a date: exit 1" "$RC" 1
contains "audit --since not a date: one line" "$ERR" "^parceldb: --since: 'yesterday' is not a date"
if sql "DELETE FROM audit_log" >/dev/null 2>&1; then refused=no; else refused=yes; fi
check "the audit table refuses a DELETE" "$refused" yes
check "the audit table refuses a DELETE: rows kept" "$(audits)" 11

# A backup of the store holds the audit table (docs/security.md).
if [ "$PDB_TEST_STORE" = sqlite ]; then
    run backup --db "$DB" -o "$WORK/copy.sqlite"
    check "backup: exit 0" "$RC" 0
    check "backup: the audit rows are in the copy" "$(sqlite3 "$WORK/copy.sqlite" 'SELECT count(*) FROM audit_log')" 11
fi

# Re-importing a commune supersedes: its old owners leave the index.
sed -i 's/Nguyễn Văn A,/Nguyễn Văn Bình,/' utf8.csv
rm -rf utf8
to_format utf8.csv utf8/parcels.shp "ESRI Shapefile" -a_srs EPSG:9208 -lco ENCODING=UTF-8
import utf8/parcels.shp
check "re-import" "$RC" 0
run search --db "$DB" --owner "nguyen van a" --personal
check "after re-import: the superseded name is gone" "$(numbers)" "5 4"
run search --db "$DB" --owner "binh" --personal
check "after re-import: the new name is found" "$(numbers)" "1"

# A store made before the index gets it at its first read-write open.
if [ "$PDB_TEST_STORE" = sqlite ]; then
    sql "DROP TABLE search_words"
else
    sql "DROP TABLE parcel_search"
fi
run search --db "$DB" --address "dong lac"
check "no index: exit 1" "$RC" 1
contains "no index: says so" "$ERR" "no search index yet"
run lookup --db "$DB" --id 07894/3/1 --personal
check "a read-write open (lookup --personal) builds it" "$RC" 0
run search --db "$DB" --address "dong lac"
# (07894's parcels are newer than 07900's now: by id, they come second.)
check "rebuilt index: the same parcels" "$(jq -r '[.features[] | .properties.commune + "/" + .properties.parcel] | sort | join(" ")' <<<"$OUT")" "07894/1 07894/3 07900/1 07900/2"

# Bad input: one line, non-zero.
run search --db "$DB" --address "dong" --commune 78
check "malformed commune: exit 1" "$RC" 1
contains "malformed commune: one line" "$ERR" "^parceldb: search: commune code '78' is not five digits$"
run search --db "$DB" --address "!!! ..."
check "no words: exit 1" "$RC" 1
run search --db "$DB" --address "$(seq -s ' ' 1 17)"
check "17 words: exit 1" "$RC" 1
contains "17 words: says the limit" "$ERR" "more than 16 words"

finish
