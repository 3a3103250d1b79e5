#!/usr/bin/env bash
# OGC API - Features at /ogcapi (issue 13), with real clients. One case per
# run (the argument), so that each stays well under 30 s under ASan:
#   core     landing page, conformance, API, collections, items, one feature:
#            JSON and HTML by f= and by Accept, content types, links
#   ogr      GDAL's OAPIF driver: feature counts in a box equal SpatiaLite's
#            on the store; ogr2ogr of a commune into GeoPackage whose
#            geometries equal the store's (1e-8 degrees: the API writes 9
#            decimals, the store keeps doubles)
#   paging [LIMITS]  following next from the first page gives every
#            parcel of a 10,050-parcel commune (pdb-synth) exactly once, at
#            limits 10, 1,000 and 10,000 (or LIMITS); unless LIMITS is 10,
#            a clamped limit, and datetime gives superseded parcels back
#   schema   items pages (limits 10 and 1,000, bbox, property filters) and
#            features validate against the GeoJSON schema (tests/schemas/geojson)
#            and OGC API - Features Part 1's (tests/schemas/ogcapi-features),
#            and so do the landing page, /conformance and /collections
#   openapi  /ogcapi/api validates with @seriousme/openapi-schema-validator
#            (npm, installed at build time: tests/openapi)
#   crs      Part 2: in EPSG:9208, the survey's own CRS, the coordinates of
#            the source file bit for bit (read with ogr); EPSG:4326 in
#            lat,lon order; another zone as cs2cs says; bbox-crs; Content-Crs
#   datetime instants and intervals (A/B, ../B, A/..) over a re-surveyed
#            commune: the parcels valid at any instant of each, as the
#            store's valid_from/valid_to say; unparsable ones a 400
#   errors   limit=-1 and 0, unparsable bbox, datetime and crs, unknown
#            collection, feature, parameter: JSON errors with their status
#   personal owner names only with a valid token
#   national the national attribute set on a pdb-synth --national store:
#            previous numbers and record dates (null where absent) in items,
#            features and HTML, valid against the schemas and the OpenAPI
#            document's parcelProperties; the certificate only with a
#            personal token, audited
source "$(dirname "$0")/lib.sh"

CASE=${1:?which case}
VT_COMMUNE=07894
CRS=http://www.opengis.net/def/crs
ITEMS=/ogcapi/collections/parcels/items

# json_get EXPR: evaluates a Python expression on the last body (as d).
json_get() {
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$WORK/body" 2>&1
}

# valid SCHEMA [FILE]: "valid", or jsonschema's complaint, for FILE (default
# the last body) against a schema of tests/schemas/geojson.
valid() {
    python3 -c 'import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))
print("valid")' "${2:-$WORK/body}" "$PDB_SOURCE_DIR/tests/schemas/geojson/$1.json" 2>&1 | tail -1
}

# ogc_valid SCHEMA [FILE]: "valid", or the complaint, for FILE (default the
# last body) against a schema of OGC API - Features Part 1
# (tests/schemas/ogcapi-features, through tests/server/ogc_schema.py, in
# the system Python: Debian's python3-jsonschema and python3-yaml).
ogc_valid() {
    /usr/bin/python3 "$PDB_SOURCE_DIR/tests/server/ogc_schema.py" "$1" "${2:-$WORK/body}" 2>&1 | tail -1
}

# spatialite SQL: runs SQL on the store with SpatiaLite loaded.
spatialite() {
    sqlite3 -batch -noheader "$DB" ".load mod_spatialite" "$1" 2>&1
}

case $CASE in
core)
    make_store || exit 1
    start_server || exit 1
    get /ogcapi
    check "landing: 200" "$STATUS" 200
    check "landing: JSON" "$(header Content-Type)" application/json
    check "landing: links" "$(json_get "' '.join(sorted(l['rel'] for l in d['links']))")" \
        "alternate conformance data self service-desc service-doc"
    check "landing: service-desc is the OpenAPI type" \
        "$(json_get "[l['type'] for l in d['links'] if l['rel'] == 'service-desc'][0]")" \
        "application/vnd.oai.openapi+json;version=3.0"
    get /ogcapi -H "Accept: text/html,application/xhtml+xml,*/*;q=0.8"
    check "landing: a browser's Accept gets HTML" "$(header Content-Type)" "text/html; charset=utf-8"
    contains "landing: HTML links the collections" "$BODY" 'href="[^"]*/ogcapi/collections\?f=html"'
    get "/ogcapi?f=json" -H "Accept: text/html"
    check "landing: f=json wins over Accept" "$(header Content-Type)" application/json
    get /ogcapi/conformance
    contains "conformance: core" "$BODY" '"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"'
    contains "conformance: Part 2 crs" "$BODY" '"http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"'
    get /ogcapi/api
    check "api: OpenAPI type" "$(header Content-Type)" "application/vnd.oai.openapi+json;version=3.0"
    check "api: 3.0" "$(json_get "d['openapi'][:3]")" "3.0"
    check "api: the server's URL" "$(json_get "d['servers'][0]['url']")" "$BASE/ogcapi"
    get /ogcapi/collections
    check "collections: ids" "$(json_get "' '.join(c['id'] for c in d['collections'])")" \
        "parcels communes"
    get /ogcapi/collections/parcels
    check "parcels: storageCrs" "$(json_get "d['storageCrs']")" "$CRS/OGC/1.3/CRS84"
    check "parcels: offers EPSG:9208" "$(json_get "'$CRS/EPSG/0/9208' in d['crs']")" True
    check "parcels: offers every VN-2000 zone and 3857" "$(json_get "len(d['crs'])")" 24
    check "parcels: an items link" \
        "$(json_get "[l['type'] for l in d['links'] if l['rel'] == 'items'][0]")" application/geo+json
    get "$ITEMS?limit=3"
    check "items: 200" "$STATUS" 200
    check "items: GeoJSON" "$(header Content-Type)" application/geo+json
    check "items: Content-Crs" "$(header Content-Crs)" "<$CRS/OGC/1.3/CRS84>"
    check "items: 3 returned" "$(json_get "d['numberReturned'], len(d['features'])")" "3 3"
    check "items: numberMatched from the communes' counts" "$(json_get "d['numberMatched']")" 70
    check "items: next carries the last id" \
        "$(json_get "[l['href'] for l in d['links'] if l['rel'] == 'next'][0]")" \
        "$BASE$ITEMS?limit=3&f=json&after=3"
    check "items: a collection link" \
        "$(json_get "[l['href'] for l in d['links'] if l['rel'] == 'collection'][0]")" \
        "$BASE/ogcapi/collections/parcels?f=json"
    get "$ITEMS?limit=3&after=3"
    check "items: the second page" "$(json_get "[f['id'] for f in d['features']]")" "[4, 5, 6]"
    check "items: its prev link carries its first id" \
        "$(json_get "[l['href'] for l in d['links'] if l['rel'] == 'prev'][0]")" \
        "$BASE$ITEMS?limit=3&f=json&before=4"
    get "$ITEMS?limit=3&before=4"
    check "items: prev gives the first page back" "$(json_get "[f['id'] for f in d['features']]")" \
        "[1, 2, 3]"
    check "items: the first page has no prev" "$(json_get "[l['rel'] for l in d['links'] if l['rel'] == 'prev']")" "[]"
    get "$ITEMS?limit=3"
    check "items: the first page has no prev either" \
        "$(json_get "[l['rel'] for l in d['links'] if l['rel'] == 'prev']")" "[]"
    get "$ITEMS"
    check "items: default limit 10" "$(json_get "d['numberReturned']")" 10
    get "$ITEMS/5"
    check "feature: 200" "$STATUS" 200
    check "feature: its id and number" "$(json_get "d['id'], d['properties']['parcel']")" "5 5"
    check "feature: self link" "$(json_get "[l['href'] for l in d['links'] if l['rel'] == 'self'][0]")" \
        "$BASE$ITEMS/5?f=json"
    get "$ITEMS/5?f=html"
    check "feature HTML" "$(header Content-Type)" "text/html; charset=utf-8"
    contains "feature HTML: the Vietnamese labels" "$BODY" "Số thửa"
    get "$ITEMS?f=html&limit=2"
    contains "items HTML: a next link" "$BODY" 'rel="next" href="[^"]*after=2"'
    get "$ITEMS?commune=08707&landuse=LUA&limit=100"
    check "items: commune and landuse filters (30 parcels of 08707, every 4th LUA)" \
        "$(json_get "d['numberReturned'], sorted({f['properties']['landuse'] for f in d['features']})")" \
        "8 ['LUA']"
    get "$ITEMS?commune=07894&sheet=12&parcel=7"
    check "items: a parcel by number" "$(json_get "[f['properties']['parcel'] for f in d['features']]")" \
        "['7']"
    get /ogcapi/collections/communes/items
    check "communes: both" "$(json_get "[f['id'] for f in d['features']]")" "['07894', '08707']"
    get /ogcapi/collections/communes/items?limit=1
    check "communes: next by code" "$(json_get "[l['href'] for l in d['links'] if l['rel'] == 'next'][0]")" \
        "$BASE/ogcapi/collections/communes/items?limit=1&f=json&after=07894"
    get /ogcapi/collections/communes/items/08707
    check "commune: by code" "$(json_get "d['properties']['parcels']")" 30
    check "metrics: counted under route ogcapi" \
        "$(curl -s "$BASE/metrics" | grep -c 'parceldb_http_requests_total{route="ogcapi",status="200"}')" 1
    stop_server
    ;;
ogr)
    make_store || exit 1
    start_server || exit 1
    base_phutho
    parcel_center 9208 1
    A_LON=$PLON A_LAT=$PLAT
    parcel_center 9208 23
    B_LON=$PLON B_LAT=$PLAT
    OUT=$(timeout 60 ogrinfo -ro -so "OAPIF:$BASE/ogcapi" parcels 2>&1)
    contains "ogrinfo: the OAPIF driver" "$OUT" "using driver .OAPIF. successful"
    contains "ogrinfo: 70 parcels" "$OUT" "Feature Count: 70$"
    contains "ogrinfo: MultiPolygon" "$OUT" "Geometry: Multi Polygon"
    lacks "ogrinfo: no owner" "$OUT" "owner"
    # A box from parcel 1's centre to parcel 23's: 9 parcels, counted
    # by SpatiaLite on the store itself.
    WANT=$(spatialite "SELECT count(*) FROM parcels WHERE valid_to IS NULL AND
        ST_Intersects(geom, BuildMbr($A_LON, $A_LAT, $B_LON, $B_LAT, 4326))")
    check "SpatiaLite: 9 parcels in the box" "$WANT" 9
    OUT=$(timeout 60 ogrinfo -ro -so "OAPIF:$BASE/ogcapi" parcels -spat "$A_LON" "$A_LAT" "$B_LON" "$B_LAT" 2>&1)
    contains "ogrinfo -spat: the store's count" "$OUT" "Feature Count: $WANT$"
    WANT=$(spatialite "SELECT count(*) FROM parcels WHERE valid_to IS NULL AND
        ST_Intersects(geom, BuildMbr(105.0, 21.0, 105.5, 21.5, 4326))")
    OUT=$(timeout 60 ogrinfo -ro -so "OAPIF:$BASE/ogcapi" parcels -spat 105.0 21.0 105.5 21.5 2>&1)
    contains "ogrinfo -spat, Viet Tri: the store's count ($WANT)" "$OUT" "Feature Count: $WANT$"
    # A commune into GeoPackage, compared with the store by id.
    timeout 60 ogr2ogr -q -f GPKG commune.gpkg "OAPIF:$BASE/ogcapi" parcels -preserve_fid \
        -where "commune = '$VT_COMMUNE'" -nln got 2>ogr2ogr.err
    check "ogr2ogr: a commune" "$?" 0
    OUT=$(sqlite3 -batch -noheader commune.gpkg ".load mod_spatialite" "ATTACH '$DB' AS s;
        SELECT count(*), sum(HausdorffDistance(GeomFromGPB(g.geom), p.geom) < 1e-8),
               sum(g.sheet = p.sheet AND g.parcel = p.parcel AND g.landuse = p.landuse)
        FROM got g JOIN s.parcels p ON p.id = g.fid WHERE p.valid_to IS NULL" 2>&1)
    WANT=$(spatialite "SELECT count(*) FROM parcels WHERE commune = '$VT_COMMUNE' AND valid_to IS NULL")
    check "ogr2ogr: every parcel of $VT_COMMUNE, geometry within 1e-8 degrees, same numbers" \
        "$OUT" "$WANT|$WANT|$WANT"
    stop_server
    ;;
paging)
    : "${PDB_SYNTH:?PDB_SYNTH must name pdb-synth}"
    new_db || exit 1
    "$PARCELDB" init --db "$DB" >/dev/null || fail "init"
    "$PDB_SYNTH" --out synth --communes "$VT_COMMUNE" --parcels-per-commune 10050 \
        --format GPKG --defects none --no-verify --quiet || fail "pdb-synth"
    "$PDB_SYNTH" --out synth --communes 08707 --parcels-per-commune 100 \
        --format GPKG --defects none --no-verify --quiet || fail "pdb-synth 08707"
    "$PARCELDB" import --quiet --db "$DB" synth/*.gpkg >import.log 2>&1 || fail "import: $(cat import.log)"
    start_server || exit 1
    store_sql "$DB" "SELECT id FROM parcels WHERE commune = '$VT_COMMUNE' AND valid_to IS NULL
        ORDER BY id" >want.ids
    check "the store: 10,050 parcels in $VT_COMMUNE" "$(wc -l <want.ids)" 10050
    for limit in ${2:-10 1000 10000}; do
        # Forwards by next; then (but at limit 10, for time) back by prev
        # from the last page, which must give the same pages in reverse.
        OUT=$(python3 - "$BASE$ITEMS?commune=$VT_COMMUNE&limit=$limit" got.ids "$limit" <<'EOF'
import json, sys, urllib.request
def follow(url, rel):
    pages = []
    while url:
        with urllib.request.urlopen(url, timeout=30) as r:
            d = json.load(r)
        assert d["numberReturned"] == len(d["features"])
        pages.append([f["id"] for f in d["features"]])
        url = next((l["href"] for l in d["links"] if l["rel"] == rel), None)
    return pages, d
pages, last = follow(sys.argv[1], "next")
ids = [i for p in pages for i in p]
open(sys.argv[2], "w").write("".join("%d\n" % i for i in ids))
back = "skipped"
if sys.argv[3] != "10":
    prev = next((l["href"] for l in last["links"] if l["rel"] == "prev"), None)
    back_pages = follow(prev, "prev")[0] if prev else []
    back = "same" if back_pages[::-1] + pages[-1:] == pages else "different"
print(len(pages), len(ids), len(set(ids)), back)
EOF
)
        check "limit $limit: pages, parcels, distinct, back by prev" "$OUT" \
            "$(((10050 + limit - 1) / limit)) 10050 10050 $([ "$limit" = 10 ] && echo skipped || echo same)"
        check "limit $limit: the store's parcels in order" "$(cmp -s got.ids want.ids && echo same)" same
    done
    if [ "${2:-}" = 10 ]; then # the rest once, in the other run
        stop_server
        finish
        exit
    fi
    get "$ITEMS?commune=$VT_COMMUNE&limit=100000"
    check "limit over the maximum: clamped to 10,000" "$(json_get "d['numberReturned']")" 10000
    # A re-survey (another seed: an identical file is not imported twice)
    # supersedes 08707; datetime before it gives the old parcels.
    BEFORE=$(store_sql "$DB" "SELECT max(valid_from) FROM parcels")
    "$PDB_SYNTH" --out synth2 --communes 08707 --parcels-per-commune 100 --seed 2 \
        --format GPKG --defects none --no-verify --quiet || fail "pdb-synth --seed 2"
    "$PARCELDB" import --quiet --db "$DB" synth2/08707.gpkg >>import.log 2>&1 || fail "re-import"
    FIRST=$(store_sql "$DB" "SELECT min(id) FROM parcels WHERE commune = '08707'")
    for _ in $(seq 1 100); do # the server reads each request in a new snapshot
        get "$ITEMS?commune=08707&limit=1"
        NEW=$(json_get "d['features'][0]['id']")
        [ "$NEW" != "$FIRST" ] && break
        sleep 0.1
    done
    check "the re-import is served" "$NEW" \
        "$(store_sql "$DB" "SELECT min(id) FROM parcels WHERE commune = '08707' AND valid_to IS NULL")"
    get "$ITEMS?commune=08707&limit=1&datetime=$BEFORE"
    OLD=$(json_get "d['features'][0]['id'], d['features'][0]['properties']['valid_to'] is not None")
    check "datetime before the re-import: a superseded parcel" \
        "$OLD" "$FIRST True"
    lacks "datetime: not the current one" "$OLD" "^$NEW "
    get "$ITEMS?commune=08707&limit=1&datetime=2001-01-01"
    check "datetime before any import: nothing" "$(json_get "d['numberReturned']")" 0
    stop_server
    ;;
schema)
    make_store || exit 1
    start_server || exit 1
    # Items pages against both the GeoJSON schema and OGC API - Features
    # Part 1's featureCollectionGeoJSON (tests/schemas/ogcapi-features).
    for q in "" "?limit=7" "?limit=10" "?limit=1000" "?commune=08707&after=50" \
        "?crs=$CRS/EPSG/0/9208&limit=50" "?bbox=105.3,21.3,105.7,21.4" \
        "?crs=$CRS/EPSG/0/4326&bbox=21.3,105.3,21.4,105.7&bbox-crs=$CRS/EPSG/0/4326" \
        "?commune=07894&sheet=12&limit=1000" "?commune=07894&sheet=12&parcel=7" "?landuse=LUA&limit=10" \
        "?commune=08707&landuse=CLN&bbox=105.3,21.3,105.7,21.4&limit=1000" "?commune=99999"; do
        get "$ITEMS$q"
        check "items $q: 200" "$STATUS" 200
        check "items $q: a valid GeoJSON FeatureCollection" "$(valid FeatureCollection)" valid
        check "items $q: a valid OGC API featureCollectionGeoJSON" "$(ogc_valid featureCollectionGeoJSON)" valid
    done
    get "$ITEMS?limit=1000"
    check "items limit=1000: the whole store on one page" "$(json_get "d['numberReturned']")" 70
    for p in "$ITEMS/3" "$ITEMS/3?crs=$CRS/EPSG/0/3857" /ogcapi/collections/communes/items/07894; do
        get "$p"
        check "$p: a valid GeoJSON Feature" "$(valid Feature)" valid
        check "$p: a valid OGC API featureGeoJSON" "$(ogc_valid featureGeoJSON)" valid
    done
    get /ogcapi/collections/communes/items
    check "communes items: a valid OGC API featureCollectionGeoJSON" \
        "$(ogc_valid featureCollectionGeoJSON)" valid
    # The other resources against their OGC API schemas.
    for pair in /ogcapi:landingPage /ogcapi/conformance:confClasses /ogcapi/collections:collections \
        /ogcapi/collections/parcels:collection /ogcapi/collections/communes:collection; do
        get "${pair%%:*}"
        check "${pair%%:*}: a valid OGC API ${pair#*:}" "$(ogc_valid "${pair#*:}")" valid
    done
    # The OGC schemas can fail: a page whose link has no href, a
    # collection without id, a collection whose extent box has 5 numbers.
    get "$ITEMS?limit=2"
    json_get "json.dumps(dict(d, links=[{'rel': 'self'}]))" >nohref.json
    contains "the OGC schema refuses a link without href" "$(ogc_valid featureCollectionGeoJSON nohref.json)" \
        "'href' is a required property"
    get /ogcapi/collections/parcels
    json_get "json.dumps({k: v for k, v in d.items() if k != 'id'})" >noid.json
    contains "the OGC schema refuses a collection without id" "$(ogc_valid collection noid.json)" \
        "'id' is a required property"
    json_get "json.dumps(dict(d, extent={'spatial': {'bbox': [[1, 2, 3, 4, 5]]}}))" >box5.json
    contains "the OGC schema refuses a 5-number extent" "$(ogc_valid collection box5.json)" "is not valid|too long|too short"
    # The schema can fail: a feature without geometry is refused.
    echo '{"type": "Feature", "properties": {}}' >nogeom.json
    OUT=$(python3 -c 'import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' nogeom.json \
        "$PDB_SOURCE_DIR/tests/schemas/geojson/Feature.json" 2>&1)
    contains "the schema refuses a feature without geometry" "$OUT" "'geometry' is a required property"
    stop_server
    ;;
openapi)
    VALIDATOR=$PDB_BINARY_DIR/tests-npm/node_modules/.bin/validate-api
    [ -x "$VALIDATOR" ] || { fail "the validator was not installed at build time: $VALIDATOR"; finish; exit; }
    make_store || exit 1
    start_server || exit 1
    get /ogcapi/api
    cp "$WORK/body" api.json
    OUT=$(timeout 60 node "$VALIDATOR" api.json 2>&1)
    contains "the OpenAPI document validates" "$OUT" '"valid": ?true'
    # The validator can fail: a document without paths is refused.
    python3 -c 'import json; d = json.load(open("api.json")); del d["paths"]; json.dump(d, open("bad.json", "w"))'
    OUT=$(timeout 60 node "$VALIDATOR" bad.json 2>&1)
    contains "the validator refuses a broken document" "$OUT" '"valid": ?false'
    stop_server
    ;;
crs)
    make_store || exit 1
    start_server || exit 1
    # The source file's coordinates, read with ogr (17 significant digits).
    ogr2ogr -q -f GeoJSON src.json pt.gpkg -lco COORDINATE_PRECISION=17 -lco WRITE_BBOX=NO \
        -lco RFC7946=NO
    get "$ITEMS?commune=$VT_COMMUNE&limit=100&crs=$CRS/EPSG/0/9208"
    check "EPSG:9208: Content-Crs" "$(header Content-Crs)" "<$CRS/EPSG/0/9208>"
    cp "$WORK/body" got.json
    OUT=$(python3 - src.json got.json <<'EOF'
import json, struct, sys
src, got = (json.load(open(p)) for p in sys.argv[1:3])
def rings(g):
    polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
    return [[struct.pack("<dd", *pt[:2]) for pt in ring] for poly in polys for ring in poly]
want = {str(f["properties"]["SoThua"]): rings(f["geometry"]) for f in src["features"]}
same = sum(rings(f["geometry"]) == want[f["properties"]["parcel"]] for f in got["features"])
print(len(got["features"]), same)
EOF
)
    check "EPSG:9208: 40 parcels with the source's coordinates bit for bit" "$OUT" "40 40"
    get "$ITEMS/1?crs=$CRS/EPSG/0/4326"
    A=$(json_get "d['geometry']['coordinates'][0][0][0]")
    get "$ITEMS/1"
    B=$(json_get "d['geometry']['coordinates'][0][0][0][::-1]")
    check "EPSG:4326: lat,lon order" "$A" "$B"
    # Another zone: as cs2cs takes the surveyed corner there.
    base_phutho
    get "$ITEMS/1?crs=EPSG:5897"
    GOT=$(json_get "'%.3f %.3f' % tuple(d['geometry']['coordinates'][0][0])")
    WANT=$(echo "$BX $BY" | cs2cs -f "%.3f" EPSG:9208 EPSG:5897 | awk '{print $1, $2}')
    check "EPSG:5897: parcel 1's corner as cs2cs says (1 mm)" "$GOT" "$WANT"
    # A box in the survey's metres selects what the same box in CRS84 does.
    parcel_center 9208 1
    E1=$PX N1=$PY
    parcel_center 9208 23
    get "$ITEMS?limit=100&bbox=$E1,$N1,$PX,$PY&bbox-crs=$CRS/EPSG/0/9208"
    check "bbox-crs EPSG:9208: 9 parcels" "$(json_get "sorted(int(f['properties']['parcel']) for f in d['features'])")" \
        "[1, 2, 3, 11, 12, 13, 21, 22, 23]"
    get "$ITEMS?limit=1&crs=$CRS/EPSG/0/3857"
    check "EPSG:3857: Content-Crs" "$(header Content-Crs)" "<$CRS/EPSG/0/3857>"
    GOT=$(json_get "'%.2f %.2f' % tuple(d['features'][0]['geometry']['coordinates'][0][0][0])")
    get "$ITEMS?limit=1"
    WANT=$(json_get "'%.9f %.9f' % tuple(d['features'][0]['geometry']['coordinates'][0][0][0][::-1])" |
        cs2cs -f "%.2f" EPSG:4326 EPSG:3857 | awk '{print $1, $2}')
    check "EPSG:3857 as cs2cs says (1 cm)" "$GOT" "$WANT"
    stop_server
    ;;
errors)
    make_store || exit 1
    start_server || exit 1
    expect_error() { # NAME PATH STATUS PATTERN
        get "$2"
        check "$1: status" "$STATUS" "$3"
        check "$1: JSON" "$(header Content-Type)" application/json
        contains "$1: says why" "$BODY" "^\{\"error\":\".*$4"
    }
    expect_error "limit=-1" "$ITEMS?limit=-1" 400 limit
    expect_error "limit=0" "$ITEMS?limit=0" 400 "at least 1"
    expect_error "bbox of three numbers" "$ITEMS?bbox=1,2,3" 400 "four numbers"
    expect_error "bbox with NaN" "$ITEMS?bbox=nan,1,2,3" 400 bbox
    expect_error "bbox min above max" "$ITEMS?bbox=106,21,105,22" 400 "above its maximum"
    expect_error "bbox in 3D" "$ITEMS?bbox=1,2,3,4,5,6" 400 "two-dimensional"
    expect_error "bbox off the Earth in its CRS" "$ITEMS?bbox=100,100,200,200&bbox-crs=EPSG:4326" 400 "on Earth"
    expect_error "datetime unparsable" "$ITEMS?datetime=yesterday" 400 "not an instant"
    expect_error "datetime 30 February" "$ITEMS?datetime=2025-02-30" 400 "not an instant"
    expect_error "datetime interval open at both ends" "$ITEMS?datetime=../.." 400 "both ends"
    expect_error "datetime interval ending before it starts" "$ITEMS?datetime=2025-02-01/2025-01-01" 400 \
        "ends before it starts"
    expect_error "crs unknown" "$ITEMS?crs=$CRS/EPSG/0/2154" 400 "not offered"
    expect_error "crs garbage" "$ITEMS?crs=EPSG:x%7f" 400 "not offered"
    expect_error "bbox-crs without bbox" "$ITEMS?bbox-crs=EPSG:9208" 400 "without a bbox"
    expect_error "unknown collection" /ogcapi/collections/roads/items 404 "no collection"
    expect_error "unknown feature" "$ITEMS/999999" 404 ""
    expect_error "feature id not a number" "$ITEMS/abc" 404 "no parcel"
    expect_error "unknown commune" /ogcapi/collections/communes/items/99999 404 "no commune"
    expect_error "unknown parameter" "$ITEMS?color=red" 400 "unknown parameter"
    expect_error "f=xml" "/ogcapi?f=xml" 400 "json or html"
    expect_error "after not a number" "$ITEMS?after=x" 400 after
    expect_error "after and before" "$ITEMS?after=3&before=9" 400 "not with after"
    expect_error "landuse lower case" "$ITEMS?landuse=ont" 400 landuse
    expect_error "no such path" /ogcapi/things 404 "no such path"
    get /health
    check "the server still answers" "$STATUS" 200
    stop_server
    ;;
datetime)
    # History: a re-survey of 08707 supersedes its first 30 parcels; each
    # form of datetime gives the parcels valid at any instant of it, which
    # the store lists by its valid_from/valid_to (text in one ISO form).
    make_store || exit 1
    T1=$(store_sql "$DB" "SELECT max(valid_from) FROM parcels")
    base_vinhphuc
    grid_csv vp2.csv 30 08707 4
    to_gpkg vp2.csv vp2.gpkg 5897
    "$PARCELDB" import --quiet --db "$DB" vp2.gpkg >>import.log 2>&1 || fail "re-import: $(cat import.log)"
    T2=$(store_sql "$DB" "SELECT min(valid_from) FROM parcels WHERE valid_from > '$T1'")
    check "the re-survey superseded 08707's 30 parcels at T2" \
        "$(store_sql "$DB" "SELECT count(*) FROM parcels WHERE valid_to = '$T2'")" 30
    start_server || exit 1
    # api_ids DATETIME: the ids of every page of items at that datetime
    # (following next), one line; "status N" when not 200.
    api_ids() {
        python3 - "$BASE$ITEMS?limit=1000&datetime=$1" <<'EOF2'
import json, sys, urllib.error, urllib.parse, urllib.request
url, ids = sys.argv[1], []
while url:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            d = json.load(r)
    except urllib.error.HTTPError as e:
        print("status", e.code)
        sys.exit()
    ids += [f["id"] for f in d["features"]]
    url = next((l["href"] for l in d["links"] if l["rel"] == "next"), None)
print(" ".join(str(i) for i in sorted(ids)))
EOF2
    }
    # store_ids WHERE: the ids of the store's parcels that satisfy WHERE.
    store_ids() {
        store_sql "$DB" "SELECT id FROM parcels WHERE $1 ORDER BY id" | paste -sd' '
    }
    ALL=$(store_ids "1 = 1")
    FIRST=$(store_ids "valid_from <= '$T1'")
    NOW=$(store_ids "valid_to IS NULL")
    check "the store: 100 parcels, 70 in the first import, 70 now" \
        "$(wc -w <<<"$ALL") $(wc -w <<<"$FIRST") $(wc -w <<<"$NOW")" "100 70 70"
    # The instant of the first import: its parcels, superseded ones included.
    check "datetime=T1 (an instant): the first import's parcels" "$(api_ids "$T1")" "$FIRST"
    check "datetime=T1/T2: both surveys of 08707" "$(api_ids "$T1/$T2")" "$ALL"
    check "datetime=T1/T1: the instant's parcels" "$(api_ids "$T1/$T1")" "$FIRST"
    check "datetime=T2/..: valid_to is T2, not after it: today's parcels" "$(api_ids "$T2/..")" "$NOW"
    check "datetime=T2/ (open by nothing): the same" "$(api_ids "$T2/")" "$NOW"
    check "datetime=../T1: the first import's parcels" "$(api_ids "../$T1")" "$FIRST"
    check "datetime=2024-01-01T00:00:00Z/..: every parcel ever" \
        "$(api_ids "2024-01-01T00:00:00Z/..")" "$ALL"
    check "datetime=../2025-01-01: none (imported later)" "$(api_ids "../2025-01-01")" ""
    check "datetime=2001-01-01/2001-12-31: none" "$(api_ids "2001-01-01/2001-12-31")" ""
    # Dates alone: an interval from the first instant of its start day to
    # the last of its end day.
    D=${T1:0:10}
    check "datetime=$D/$D: the parcels valid on that day" "$(api_ids "$D/$D")" \
        "$(store_ids "valid_from <= '${D}T23:59:59.999Z' AND (valid_to IS NULL OR valid_to > '${D}T00:00:00.000Z')")"
    # The next link keeps the interval.
    get "$ITEMS?limit=2&datetime=$T1/$T2"
    contains "next keeps the interval" "$(json_get "[l['href'] for l in d['links'] if l['rel'] == 'next'][0]")" \
        "datetime=${T1//:/%3A}%2F${T2//:/%3A}&|datetime=$T1/$T2&"
    # Unparsable or impossible: the spec's 400, saying why.
    for bad in "2024-13-01/.." "../.." "/" "$T2/$T1" "yesterday/.." "2024-01-01/tomorrow" \
        "2024-01-01T00:00:00/.." "2024-01-01/2024-02-01/2024-03-01"; do
        get "$ITEMS?datetime=$bad"
        check "datetime=$bad: 400" "$STATUS" 400
        contains "datetime=$bad: says why" "$BODY" '^\{"error":"datetime'
    done
    stop_server
    ;;
personal)
    make_store || exit 1
    printf 'owner-reader-token-0001\n' >tokens
    start_server --tokens tokens || exit 1
    audit() {
        echo "$(store_sql "$DB" "SELECT count(*) FROM audit_log")" \
            "$(store_sql "$DB" "SELECT parcels FROM audit_log ORDER BY id" | paste -sd';')"
    }
    get "$ITEMS?limit=2"
    lacks "no token: no owner" "$BODY" "owner|Nguyen Van Chu"
    check "no token: no audit row" "$(audit)" "0 "
    get "$ITEMS?limit=2" -H "Authorization: Bearer owner-reader-token-0001"
    contains "a token: owners" "$BODY" '"owner":"Nguyen Van Chu 1"'
    check "a token: private" "$(header Cache-Control)" "private, no-store"
    check "a page with owners: one audit row naming its parcels" "$(audit)" "1 1,2"
    get "$ITEMS/1" -H "Authorization: Bearer owner-reader-token-0001"
    contains "a token: the feature's owner" "$BODY" '"owner":"Nguyen Van Chu 1"'
    check "a feature with its owner: one more audit row" "$(audit)" "2 1,2;1"
    get "$ITEMS?limit=2" -H "Authorization: Bearer wrong-token-000000000"
    check "a wrong token: 401" "$STATUS" 401
    stop_server
    ;;
national)
    national_store || exit 1
    TOKEN=officer-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
    READ=map-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
    printf '%s land-office\n%s map-app role=read\n' "$TOKEN" "$READ" >tokens
    start_server --tokens tokens || exit 1
    audits() { store_sql "$DB" "SELECT count(*) FROM audit_log"; }
    CERT='CS [0-9]{6}|certificate|Số GCN'
    # props_valid: every feature's properties of the last body against the
    # OpenAPI document's parcelProperties (nullable as JSON Schema's null).
    get /ogcapi/api
    python3 -c 'import json, sys
def null(s):
    if isinstance(s, dict):
        if s.pop("nullable", False):
            s["type"] = [s["type"], "null"]
        for v in s.values():
            null(v)
    return s
json.dump(null(json.load(open(sys.argv[1]))["components"]["schemas"]["parcelProperties"]),
          open("props.schema.json", "w"))' "$WORK/body"
    props_valid() {
        python3 -c 'import json, sys, jsonschema
s = json.load(open(sys.argv[2]))
for f in json.load(open(sys.argv[1]))["features"]:
    jsonschema.validate(f["properties"], s)
print("valid")' "$WORK/body" props.schema.json 2>&1 | tail -1
    }
    # The file's own counts, by OGR, for the page of all 60.
    WANT=$(ogr2ogr -f CSV /vsistdout/ nat/07894.gpkg -dialect sqlite -sql "SELECT count(SoHieuToBanDoCu),
        count(SoThuTuThuaCu), count(ThoiDiemBatDau), count(ThoiDiemKetThuc) FROM ThuaDat" | tail -1 | tr -d '"')

    get "$ITEMS?sheet=$NAT_SHEET&parcel=$NAT_PARCEL"
    check "by number: the national attributes" \
        "$(json_get "' '.join(str(d['features'][0]['properties'][k]) for k in ('parcel', 'prev_sheet', 'prev_parcel', 'record_start', 'record_end'))")" \
        "$NAT_PARCEL $NAT_PREV_SHEET $NAT_PREV_PARCEL $NAT_START $NAT_END"
    lacks "no token: no certificate" "$BODY" "$CERT"
    ID=$(json_get "d['features'][0]['id']")
    get "$ITEMS?limit=100"
    check "all 60: non-null previous sheets, numbers, starts and ends as in the file" \
        "$(json_get "','.join(str(sum(f['properties'][k] is not None for f in d['features'])) for k in ('prev_sheet', 'prev_parcel', 'record_start', 'record_end'))")" \
        "$WANT"
    check "every feature has the four members (null where absent)" \
        "$(json_get "sum(all(k in f['properties'] for k in ('prev_sheet', 'prev_parcel', 'record_start', 'record_end')) for f in d['features'])")" 60
    check "items: a valid GeoJSON FeatureCollection" "$(valid FeatureCollection)" valid
    check "items: a valid OGC API featureCollectionGeoJSON" "$(ogc_valid featureCollectionGeoJSON)" valid
    check "items: properties as the OpenAPI document's parcelProperties" "$(props_valid)" valid
    lacks "items, no token: no certificate" "$BODY" "$CERT"
    get "$ITEMS/$ID?f=html"
    contains "HTML: the national columns" "$BODY" \
        "<th>Số tờ cũ \(prev_sheet\)</th><th>Số thửa cũ \(prev_parcel\)</th><th>Thời điểm bắt đầu \(record_start\)</th><th>Thời điểm kết thúc \(record_end\)</th>"
    contains "HTML: their values" "$BODY" \
        "<td>$NAT_PREV_SHEET</td><td>$NAT_PREV_PARCEL</td><td>$NAT_START</td><td>$NAT_END</td>"
    lacks "HTML, no token: no certificate" "$BODY" "$CERT"
    get "$ITEMS?prev_parcel=$NAT_PREV_PARCEL"
    check "not a filter: prev_parcel= is a 400 (docs/ogcapi.md)" "$STATUS" 400
    get "$ITEMS?limit=100" -H "Authorization: Bearer $READ"
    lacks "a read token: no certificate" "$BODY" "$CERT"
    check "public answers: no audit row" "$(audits)" 0

    get "$ITEMS?limit=100" -H "Authorization: Bearer $TOKEN"
    check "personal token: every parcel's certificate" \
        "$(json_get "sum(f['properties']['certificate'] is not None for f in d['features'])")" 60
    check "personal token: a page with certificates is one audit row" "$(audits)" 1
    check "personal token: properties as parcelProperties" "$(props_valid)" valid
    check "personal token: private" "$(header Cache-Control)" "private, no-store"
    get "$ITEMS/$ID" -H "Authorization: Bearer $TOKEN"
    check "personal token: the feature's certificate as in the file" \
        "$(json_get "d['properties']['certificate']")" "$NAT_CERT"
    check "personal token: audited" "$(audits)" 2
    get "$ITEMS/$ID?f=html" -H "Authorization: Bearer $TOKEN"
    contains "personal token, HTML: the certificate column" "$BODY" \
        "<th>Số GCN \(certificate\)</th>"
    contains "personal token, HTML: its value" "$BODY" "<td>$NAT_CERT</td>"
    check "personal token, HTML: audited" "$(audits)" 3
    lacks "the certificate is not in the server log" "$(cat "$WORK/server.log")" 'CS [0-9]{6}'
    stop_server
    ;;
*)
    fail "unknown case $CASE"
    ;;
esac
finish
