#!/usr/bin/env bash
# Changes to single parcels between surveys (issue 16), one case a run:
#   cli       split into 2 and 3 parts and a merge of 2 parcels with
#             `parceldb change`, each seen by a running server's next
#             /parcels/at lookup and by a new tile of that place; lineage
#             answers (CLI and HTTP) right for each
#   http      the same through POST with a write token (curl)
#   refused   parts leaving a gap, parts overlapping, a merge of parcels that
#             do not touch, a malformed parts file, an unknown parcel, writes
#             with a read token, a personal one and none: refused with one-
#             line errors, and the data version and the parcel unchanged
#   conflict  two writers on one parcel at once (two curl, two CLI
#             processes): exactly one wins, the other gets 409 / a one-line
#             conflict error, and the lineage holds the winner's parts only
# Each case runs on both stores (PDB_TEST_STORE=pg: tests/pg.cmake).
# The survey comes from pdb-synth; the parts are cut from its geometry by
# OGR/GEOS (change_parts.py); points are moved to WGS 84 by cs2cs.
source "$(dirname "$0")/lib.sh"
: "${PDB_SYNTH:?PDB_SYNTH must name pdb-synth}"
CASE=${1:?give a case: cli, http, refused, conflict}
PY=/usr/bin/python3 # Debian's, with python3-gdal (scripts/install-deps.sh)
PARTS="$PDB_SOURCE_DIR/tests/server/change_parts.py"
C=07894
SURVEY=synth/$C.gpkg
WRITE=writer-token-0123456789abcdef
READ=reader-token-0123456789abcdef
PERSONAL=clerk-token-0123456789abcdef

new_db || exit 1
"$PARCELDB" init --db "$DB" >/dev/null || { fail "init"; exit 1; }
"$PDB_SYNTH" --out synth --communes $C --parcels-per-commune 200 --format GPKG --defects none \
    --no-verify --quiet || { fail "pdb-synth"; exit 1; }
"$PARCELDB" import --quiet --db "$DB" "$SURVEY" >import.log 2>&1 ||
    { fail "import: $(cat import.log)"; exit 1; }
printf '%s officer-hoa role=write\n%s map-app role=read\n%s clerk\n' "$WRITE" "$READ" "$PERSONAL" \
    >tokens.txt
# The http case's server keeps its audit in a store of its own (--audit-db):
# changes must still go into --db.
AUDIT=()
if [ "$CASE" = http ]; then
    "$PARCELDB" init --db "$WORK/audit.sqlite" >/dev/null || { fail "init of the audit store"; exit 1; }
    AUDIT=(--audit-db "$WORK/audit.sqlite")
fi
start_server --tokens tokens.txt "${AUDIT[@]}" || exit 1

# Two parcels of one sheet that share a boundary, and three more numbers
# that occur once in the survey (a merged commune repeats its former
# communes' numbers; a change names a parcel by number).
read -r SHEET M1 M2 < <($PY "$PARTS" pair "$SURVEY" touch) || { fail "a touching pair"; exit 1; }
read -r _ A1 A2 < <($PY "$PARTS" pair "$SURVEY" apart) || { fail "a distant pair"; exit 1; }
UNIQUE=$(store_sql "$DB" "SELECT parcel FROM parcels WHERE commune = '$C' AND sheet = '$SHEET'
    AND valid_to IS NULL AND CAST(parcel AS INTEGER) NOT IN ($M1, $M2, $A1, $A2)
    GROUP BY parcel HAVING count(*) = 1 ORDER BY CAST(parcel AS INTEGER) DESC LIMIT 3")
read -r S2 S3 S4 <<<"$(echo $UNIQUE)"
[ -n "$S4" ] || { fail "three parcels with unique numbers: '$UNIQUE'"; exit 1; }

# at_survey E N: the /parcels/at answer for a survey point (the server
# transforms it) into BODY.
at_survey() { get "/parcels/at?e=$1&n=$2&srs=EPSG:9208"; }
# number_at E N: the parcel number the server answers at a survey point.
number_at() {
    at_survey "$1" "$2"
    $PY -c 'import json, sys
f = json.load(sys.stdin)["features"]
print(",".join(x["properties"]["parcel"] for x in f))' <<<"$BODY"
}
# tile_at E N: the zoom 19 tile path of a survey point (cs2cs to WGS 84).
tile_at() {
    local out
    out=$(echo "$1 $2" | cs2cs -f "%.9f" EPSG:9208 EPSG:4326)
    tile_path "$(awk '{print $2}' <<<"$out")" "$(awk '{print $1}' <<<"$out")" 19
}
# tile_before PATH / tile_changed NAME PATH: the tile's ETag and bytes, then
# that a request with the old ETag gets 200, a new ETag and other bytes.
tile_before() {
    get "$1"
    check "tile $1 before" "$STATUS" 200
    TILE_ETAG=$(header ETag)
    cp "$WORK/body" tile_before.png
}
tile_changed() {
    get "$2" -H "If-None-Match: $TILE_ETAG"
    check "$1: the old ETag no longer matches" "$STATUS" 200
    check "$1: a new ETag" "$([ "$(header ETag)" != "$TILE_ETAG" ] && echo new)" new
    check "$1: new pixels" "$(cmp -s "$WORK/body" tile_before.png && echo same || echo different)" different
}
# lineage_check NAME JSON KIND PARENTS CHILDREN: the lineage JSON of a
# parcel has edges of KIND from the numbers PARENTS to CHILDREN (space-
# separated, as C/S/P) and their overlaps add up to the children's area.
lineage_check() {
    local got
    got=$($PY -c 'import json, sys
d = json.loads(sys.argv[1])
e = d["ancestors"] + d["descendants"]
print(" ".join(sorted(set(x["kind"] for x in e))), "|",
      " ".join(sorted(set(x["parent"] for x in e))), "|",
      " ".join(sorted(set(x["child"] for x in e))), "|",
      all(x["change"] and x["reason"] and x["document"] and x["at"] for x in e))' "$2")
    check "$1" "$got" "$3 | $(tr ' ' '\n' <<<"$4" | sort | xargs) | $(tr ' ' '\n' <<<"$5" | sort | xargs) | True"
}
new_numbers() { sed -e 's/.*-> //' -e 's/ (change.*//' <<<"$1"; }

# split_case HOW N PARCEL: split PARCEL into N parts by the CLI or HTTP.
split_case() {
    local how=$1 n=$2 p=$3 out e nn i news=()
    $PY "$PARTS" split "$SURVEY" "$SHEET" "$p" "$n" "parts$p.geojson" || { fail "parts of $p"; return; }
    read -r e nn < <($PY "$PARTS" inside "$SURVEY" "$SHEET" "$p")
    check "before: the server finds $p" "$(number_at "$e" "$nn")" "$p"
    local tile
    tile=$(tile_at "$e" "$nn")
    tile_before "$tile"
    if [ "$how" = cli ]; then
        out=$("$PARCELDB" change split --db "$DB" --id "$C/$SHEET/$p" --parts "parts$p.geojson" \
            --reason "sale of part" --document "QD-$p/2026" 2>&1)
        check "CLI split of $p into $n: exit status" "$?" 0
        contains "CLI split prints old and new numbers on one line" "$out" \
            "^split: $C/$SHEET/$p ->( $C/$SHEET/[0-9]+){$n} \\(change [0-9]+"
        read -r -a news <<<"$(new_numbers "$out")"
    else
        $PY -c 'import json, sys
d = json.load(open(sys.argv[1])); d["reason"] = "sale of part"; d["document"] = "QD-" + sys.argv[2]
json.dump(d, open(sys.argv[3], "w"))' "parts$p.geojson" "$p" "body$p.json"
        get "/parcels/$C/$SHEET/$p/split" -H "Authorization: Bearer $WRITE" --data-binary "@body$p.json"
        check "HTTP split of $p into $n" "$STATUS" 200
        read -r -a news <<<"$($PY -c 'import json, sys
print(" ".join(x["parcel"] for x in json.load(sys.stdin)["after"]))' <<<"$BODY")"
    fi
    check "$n new parcels" "${#news[@]}" "$n"
    # The next lookup at a point inside each part finds its new number.
    for i in $(seq 1 "$n"); do
        read -r e nn < <($PY "$PARTS" inside-part "parts$p.geojson" "$i")
        check "after: the server finds part $i at its point" "$C/$SHEET/$(number_at "$e" "$nn")" \
            "${news[$((i - 1))]}"
    done
    tile_changed "split of $p" "$tile"
    get "/parcels/$C/$SHEET/$p"
    check "the old number is no longer current" "$STATUS" 404
    local lin
    lin=$("$PARCELDB" lookup --db "$DB" --id "$C/$SHEET/$p" --lineage)
    lineage_check "CLI lineage of $p" "$lin" split "$C/$SHEET/$p" "${news[*]}"
    get "/parcels/${news[0]}/lineage"
    check "HTTP lineage of ${news[0]}" "$STATUS" 200
    lineage_check "HTTP lineage of ${news[0]} leads back to $p" "$BODY" split "$C/$SHEET/$p" "${news[0]}"
    # The parts' overlaps with the parcel add up to its area (within 1 cm2 a part).
    check "overlaps add up to the parcel's area" "$($PY -c 'import json, sys
d = json.loads(sys.argv[1]); s = sum(x["overlap_m2"] for x in d["descendants"])
print(abs(s - float(sys.argv[2])) < 0.0001 * len(d["descendants"]) + 0.01)' "$lin" \
        "$(store_sql "$DB" "SELECT area_computed_m2 FROM parcels WHERE commune = '$C' AND sheet = '$SHEET' AND parcel = '$p'")")" True
}

merge_case() {
    local how=$1 out e1 n1 e2 n2 new
    read -r e1 n1 < <($PY "$PARTS" inside "$SURVEY" "$SHEET" "$M1")
    read -r e2 n2 < <($PY "$PARTS" inside "$SURVEY" "$SHEET" "$M2")
    check "before: $M1 at its point" "$(number_at "$e1" "$n1")" "$M1"
    check "before: $M2 at its point" "$(number_at "$e2" "$n2")" "$M2"
    local tile
    tile=$(tile_at "$e1" "$n1")
    tile_before "$tile"
    if [ "$how" = cli ]; then
        out=$("$PARCELDB" change merge --db "$DB" --ids "$C/$SHEET/$M1,$C/$SHEET/$M2" \
            --reason "one owner" --document "QD-merge" 2>&1)
        check "CLI merge: exit status" "$?" 0
        contains "CLI merge prints old and new numbers on one line" "$out" \
            "^merge: $C/$SHEET/$M1 $C/$SHEET/$M2 -> $C/$SHEET/[0-9]+ \\(change"
        new=$(new_numbers "$out")
    else
        get /parcels/merge -H "Authorization: Bearer $WRITE" --data-binary \
            "{\"ids\": [\"$C/$SHEET/$M1\", \"$C/$SHEET/$M2\"], \"reason\": \"one owner\", \"document\": \"QD-merge\"}"
        check "HTTP merge" "$STATUS" 200
        new=$($PY -c 'import json, sys; print(json.load(sys.stdin)["after"][0]["parcel"])' <<<"$BODY")
    fi
    # python startup above is the time between the change and the lookups.
    check "after: the merged parcel at $M1's point" "$C/$SHEET/$(number_at "$e1" "$n1")" "$new"
    check "after: the merged parcel at $M2's point" "$C/$SHEET/$(number_at "$e2" "$n2")" "$new"
    tile_changed "merge" "$tile"
    get "/$(sed 's|^|parcels/|' <<<"$new")/lineage"
    lineage_check "HTTP lineage of $new" "$BODY" merge "$C/$SHEET/$M1 $C/$SHEET/$M2" "$new"
    lineage_check "CLI lineage of $M1" "$("$PARCELDB" lookup --db "$DB" --id "$C/$SHEET/$M1" --lineage)" \
        merge "$C/$SHEET/$M1" "$new"
}

# reshape_update_case: S4's boundary moved 0.5 m inwards (reshape), then its
# land use and owner set (update): same number, an audit row for the owner,
# the lineage a chain reshape -> update.
reshape_update_case() {
    local e n a0 out
    $PY "$PARTS" reshape "$SURVEY" "$SHEET" "$S4" -0.5 shrunk.geojson
    out=$("$PARCELDB" change reshape --db "$DB" --id "$C/$SHEET/$S4" --geometry shrunk.geojson \
        --reason "boundary corrected" --document "BB-7" 2>&1)
    contains "CLI reshape: the same number" "$out" "^reshape: $C/$SHEET/$S4 -> $C/$SHEET/$S4 \\(change"
    a0=$(store_sql "$DB" "SELECT count(*) FROM audit_log")
    "$PARCELDB" change update --db "$DB" --id "$C/$SHEET/$S4" --set landuse=ODT \
        --set "owner=Tran Thi Moi" --reason "sold" --document "HD-9" >/dev/null
    check "CLI update: exit status" "$?" 0
    check "an owner written is audited" "$(store_sql "$DB" "SELECT count(*) FROM audit_log")" $((a0 + 1))
    read -r e n < <($PY "$PARTS" inside "$SURVEY" "$SHEET" "$S4")
    at_survey "$e" "$n"
    contains "after: the server answers the new land use" "$BODY" "\"parcel\":\"$S4\",\"landuse\":\"ODT\""
    lineage_check "lineage of $S4: reshape then update" \
        "$("$PARCELDB" lookup --db "$DB" --id "$C/$SHEET/$S4" --lineage)" "reshape update" \
        "$C/$SHEET/$S4" "$C/$SHEET/$S4"
}

dv() { "$PARCELDB" info --db "$DB" | awk '/data version/ { print $NF }'; }

case "$CASE" in
cli | http)
    split_case "$CASE" 2 "$S2"
    split_case "$CASE" 3 "$S3"
    merge_case "$CASE"
    [ "$CASE" = cli ] && reshape_update_case
    check "every change is in the store" "$(store_sql "$DB" "SELECT count(*) FROM changes")" \
        "$([ "$CASE" = cli ] && echo 5 || echo 3)"
    [ "$CASE" = http ] && check "none in the audit store" "$(sqlite3 "$WORK/audit.sqlite" \
        "SELECT (SELECT count(*) FROM changes) + (SELECT count(*) FROM parcels)")" 0
    # Each change rebuilt the commune's overviews after its commit.
    check "the commune's overviews are fresh again" \
        "$(store_sql "$DB" "SELECT count(*) FROM overviews_stale WHERE commune = '$C'")" 0
    check "and not failed" "$(store_sql "$DB" "SELECT count(*) FROM overview_problems")" 0
    ;;
refused)
    V0=$(dv)
    get "/parcels/$C/$SHEET/$S2"
    P0=$(sha256sum <"$WORK/body")
    M0=$(store_sql "$DB" "SELECT count(*) FROM parcels")
    # refused NAME PATTERN CMD...: exit 1 and one line on stderr matching PATTERN.
    refused() {
        local name=$1 pat=$2 err rc
        shift 2
        err=$("$@" 2>&1 >/dev/null)
        rc=$?
        check "$name: exit status" "$rc" 1
        check "$name: one line" "$(wc -l <<<"$err")" 1
        contains "$name: says why" "$err" "$pat"
    }
    $PY "$PARTS" split "$SURVEY" "$SHEET" "$S2" 2 gap.geojson gap
    $PY "$PARTS" split "$SURVEY" "$SHEET" "$S2" 3 overlap.geojson overlap
    CH=("$PARCELDB" change)
    refused "CLI split with a gap" "leave a gap of [0-9.]+ m2" "${CH[@]}" split --db "$DB" \
        --id "$C/$SHEET/$S2" --parts gap.geojson --reason r --document d
    refused "CLI split with overlapping parts" "parts 1 and 2 overlap by [0-9.]+ m2" "${CH[@]}" split \
        --db "$DB" --id "$C/$SHEET/$S2" --parts overlap.geojson --reason r --document d
    refused "CLI merge of parcels that do not touch" "shares no boundary" "${CH[@]}" merge --db "$DB" \
        --ids "$C/$SHEET/$A1,$C/$SHEET/$A2" --reason r --document d
    printf 'POLYGON ((1 2, 3 4))\n' >notjson.geojson
    refused "CLI parts file that is not GeoJSON" "notjson.geojson: not GeoJSON" "${CH[@]}" split \
        --db "$DB" --id "$C/$SHEET/$S2" --parts notjson.geojson --reason r --document d
    refused "CLI unknown parcel" "no parcel $C/$SHEET/99999" "${CH[@]}" split --db "$DB" \
        --id "$C/$SHEET/99999" --parts gap.geojson --reason r --document d
    $PY "$PARTS" reshape "$SURVEY" "$SHEET" "$S2" 2 grown.geojson
    refused "CLI reshape onto a neighbour" "overlaps neighbour $C/$SHEET/[0-9]+ by [0-9.]+ m2" \
        "${CH[@]}" reshape --db "$DB" --id "$C/$SHEET/$S2" --geometry grown.geojson --reason r \
        --document d
    refused "CLI owner over the text limit" "owner is 5000 bytes, over the limit" "${CH[@]}" update \
        --db "$DB" --id "$C/$SHEET/$S2" --set "owner=$(printf 'x%.0s' $(seq 1 5000))" --reason r \
        --document d
    refused "CLI unknown land use" "not in the national list" "${CH[@]}" update --db "$DB" \
        --id "$C/$SHEET/$S2" --set landuse=QQQ --reason r --document d
    # The same over HTTP: 400 with a one-line JSON error.
    for f in gap overlap; do
        $PY -c 'import json, sys
d = json.load(open(sys.argv[1])); d["reason"] = "r"; d["document"] = "d"; json.dump(d, open(sys.argv[2], "w"))' \
            "$f.geojson" "$f.body"
        get "/parcels/$C/$SHEET/$S2/split" -H "Authorization: Bearer $WRITE" --data-binary "@$f.body"
        check "HTTP split ($f): 400" "$STATUS" 400
        contains "HTTP split ($f): a one-line JSON error" "$BODY" '^\{"error":"[^"]*(gap|overlap)[^"]*"\}$'
    done
    get /parcels/merge -H "Authorization: Bearer $WRITE" --data-binary \
        "{\"ids\": [\"$C/$SHEET/$A1\", \"$C/$SHEET/$A2\"], \"reason\": \"r\", \"document\": \"d\"}"
    check "HTTP merge of parcels that do not touch: 400" "$STATUS" 400
    get "/parcels/$C/$SHEET/$S2/split" -H "Authorization: Bearer $WRITE" --data-binary '{"type":'
    check "HTTP body that is not JSON: 400" "$STATUS" 400
    $PY "$PARTS" split "$SURVEY" "$SHEET" "$S2" 2 good.geojson
    $PY -c 'import json, sys
d = json.load(open("good.geojson")); d["reason"] = "r"; d["document"] = "d"; json.dump(d, open("good.body", "w"))'
    get "/parcels/$C/$SHEET/$S2/split" -H "Authorization: Bearer $READ" --data-binary @good.body
    check "a good split with a read token: 403" "$STATUS" 403
    get "/parcels/$C/$SHEET/$S2/split" -H "Authorization: Bearer $PERSONAL" --data-binary @good.body
    check "a good split with a personal token: 403" "$STATUS" 403
    get "/parcels/$C/$SHEET/$S2/split" --data-binary @good.body
    check "a good split without a token: 401" "$STATUS" 401
    get "/parcels/$C/$SHEET/$S2/update" -H "Authorization: Bearer $READ" --data-binary \
        '{"set": {"owner": "Nguyen Van X"}, "reason": "r", "document": "d"}'
    check "an owner update with a read token: 403" "$STATUS" 403
    # A read token is valid but shows no owner; a personal one does.
    get "/parcels/$C/$SHEET/$S2" -H "Authorization: Bearer $READ"
    lacks "a read token sees no owner" "$BODY" '"owner"'
    get "/parcels/$C/$SHEET/$S2" -H "Authorization: Bearer $PERSONAL"
    contains "a personal token sees the owner" "$BODY" '"owner"'
    # A body over the limit (8 MiB) is refused before it is read whole.
    head -c 9000000 /dev/zero | tr '\0' ' ' >big.body
    CODE=$(curl -s --max-time 30 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $WRITE" \
        --data-binary @big.body "$BASE/parcels/$C/$SHEET/$S2/split" 2>/dev/null)
    case "$CODE" in 413 | 000) ok "a 9 MB body: 413 or closed ($CODE)" ;; *) fail "a 9 MB body: $CODE" ;; esac
    check "nothing changed: the data version" "$(dv)" "$V0"
    get "/parcels/$C/$SHEET/$S2"
    check "nothing changed: the parcel" "$(sha256sum <"$WORK/body")" "$P0"
    check "nothing changed: the parcels" "$(store_sql "$DB" "SELECT count(*) FROM parcels")" "$M0"
    check "nothing changed: no change rows" "$(store_sql "$DB" "SELECT count(*) FROM changes")" 0
    ;;
conflict)
    $PY "$PARTS" split "$SURVEY" "$SHEET" "$S2" 2 a.geojson
    $PY -c 'import json, sys
d = json.load(open("a.geojson")); d["reason"] = "r"; d["document"] = "d"; json.dump(d, open("a.body", "w"))'
    URL="$BASE/parcels/$C/$SHEET/$S2/split"
    # (wait on the two clients by id: a bare wait would wait for the server)
    for i in 1 2; do
        curl -s --max-time 60 -o "w$i.json" -w '%{http_code}' -H "Authorization: Bearer $WRITE" \
            --data-binary @a.body "$URL" >"w$i.code" &
        eval "CURL$i=\$!"
    done
    wait "$CURL1" "$CURL2"
    check "two HTTP writers: one 200 and one 409" "$( (cat w1.code; echo; cat w2.code; echo) | sort | xargs)" "200 409"
    contains "the loser's error is one line of JSON" "$(cat w1.json w2.json)" \
        '\{"error":"parcel [0-9/]+ was superseded'
    check "two HTTP writers: two parts in the lineage, not four" \
        "$("$PARCELDB" lookup --db "$DB" --id "$C/$SHEET/$S2" --lineage | $PY -c 'import json, sys
print(len(json.load(sys.stdin)["descendants"]))')" 2
    # Two updates of one parcel that both read version ID: the second one's
    # expect_id no longer names the current version (409), so no update is
    # lost silently.
    ID=$(store_sql "$DB" "SELECT id FROM parcels WHERE commune = '$C' AND sheet = '$SHEET' AND parcel = '$S4' AND valid_to IS NULL")
    for lu in ODT CLN; do
        get "/parcels/$C/$SHEET/$S4/update" -H "Authorization: Bearer $WRITE" --data-binary \
            "{\"set\": {\"landuse\": \"$lu\"}, \"expect_id\": $ID, \"reason\": \"r\", \"document\": \"d\"}"
        echo "$STATUS" >>updates.codes
    done
    check "two updates from one read: 200 then 409" "$(xargs <updates.codes)" "200 409"
    contains "the 409 names the versions" "$BODY" "changed meanwhile \\(now store id [0-9]+, not $ID\\)"
    get "/parcels/$C/$SHEET/$S4"
    contains "the first update stands" "$BODY" '"landuse":"ODT"'
    $PY "$PARTS" split "$SURVEY" "$SHEET" "$S3" 3 b.geojson
    for i in 1 2; do
        "$PARCELDB" change split --db "$DB" --id "$C/$SHEET/$S3" --parts b.geojson --reason r \
            --document d >"c$i.out" 2>"c$i.err" &
        eval "PID$i=\$!"
    done
    wait "$PID1"
    R1=$?
    wait "$PID2"
    R2=$?
    check "two CLI writers: one succeeds, one fails" "$(printf '%s\n' $R1 $R2 | sort | xargs)" "0 1"
    ERR=$(cat c1.err c2.err)
    check "the loser says so in one line" "$(wc -l <<<"$ERR")" 1
    contains "the loser's error is a conflict" "$ERR" "superseded at .* nothing changed"
    check "two CLI writers: three parts in the lineage, not six" \
        "$("$PARCELDB" lookup --db "$DB" --id "$C/$SHEET/$S3" --lineage | $PY -c 'import json, sys
print(len(json.load(sys.stdin)["descendants"]))')" 3
    ;;
*)
    fail "unknown case $CASE"
    ;;
esac
stop_server
finish
