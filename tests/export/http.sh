#!/usr/bin/env bash
# GET /export (issue 15, docs/export.md) with curl: one commune as a
# GeoPackage, zipped Shapefiles or GeoJSON, which ogrinfo opens and whose
# parcels are the store's; 401 without a token or with a wrong one; a read
# token gets no owner field, a personal one gets it and its answer is one
# audit row with the token's name; 400 for bad parameters (a malformed
# sheet or srs too, which only the exporter finds), 404 for a commune the
# store does not hold or a selection without parcels, 503 when the disk
# fills under the exporter; nothing left in the server's TMPDIR.
source "$PDB_SOURCE_DIR/tests/server/lib.sh"

make_store || exit 1
PERSONAL=officer-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
READ=map-app-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s front-desk\n%s map-app role=read\n' "$PERSONAL" "$READ" >tokens
mkdir -m 0700 "$WORK/srvtmp"
export TMPDIR=$WORK/srvtmp # the server's, for its exports' temporary files
start_server --tokens tokens || exit 1
unset TMPDIR
P=(-H "Authorization: Bearer $PERSONAL")
R=(-H "Authorization: Bearer $READ")
audits() { store_sql "$DB" "SELECT count(*) FROM audit_log"; }
count() { store_sql "$DB" "SELECT count(*) FROM parcels WHERE valid_to IS NULL AND commune = '$1'"; }

get "/export?commune=07894&format=gpkg"
check "no token: 401" "$STATUS" 401
contains "no token: says so" "$BODY" '"error": *"GET /export needs a valid bearer token"'
get "/export?commune=07894&format=gpkg" -H "Authorization: Bearer not-a-token"
check "a wrong token: 401" "$STATUS" 401

A0=$(audits)
get "/export?commune=07894&format=gpkg" "${R[@]}"
check "read token, gpkg: 200" "$STATUS" 200
check "gpkg: Content-Type" "$(header Content-Type)" "application/geopackage+sqlite3"
check "gpkg: Content-Disposition" "$(header Content-Disposition)" 'attachment; filename="07894.gpkg"'
check "gpkg: not cached" "$(header Cache-Control)" "private, no-store"
cp "$WORK/body" read.gpkg
INFO=$(ogrinfo -ro -so -al read.gpkg)
check "gpkg: ogrinfo opens it: the commune's parcels" \
    "$(grep -oE '^(Layer name|Feature Count): .*' <<<"$INFO" | tr '\n' ' ')" \
    "Layer name: ThuaDat_07894 Feature Count: $(count 07894) "
contains "gpkg: in the survey CRS" "$INFO" 'ID\["EPSG",9208\]'
check "read token: no owner field" "$(grep -c ChuSuDung <<<"$INFO" || true)" 0
check "read token: no audit row" "$(audits)" "$A0"

get "/export?commune=07894&format=gpkg" "${P[@]}"
check "personal token, gpkg: 200" "$STATUS" 200
cp "$WORK/body" personal.gpkg
check "personal token: the owners, as the store has them" \
    "$(ogrinfo -ro -q personal.gpkg -sql 'SELECT ChuSuDung FROM ThuaDat_07894 ORDER BY SoThua' |
        sed -n 's/^ *ChuSuDung (String) = //p' | md5sum)" \
    "$(store_sql "$DB" "SELECT owner FROM parcels WHERE valid_to IS NULL AND commune = '07894'
        ORDER BY parcel" | md5sum)"
check "personal token: one audit row" "$(audits)" "$((A0 + 1))"
check "the audit row: the token's name, the route, the parcels" \
    "$(store_sql "$DB" "SELECT who || ' ' || what FROM audit_log ORDER BY id DESC LIMIT 1")" \
    "front-desk GET /export"
lacks "the audit table never holds the token" "$(store_sql "$DB" "SELECT * FROM audit_log")" "$PERSONAL"

get "/export?commune=08707&format=shp" "${R[@]}"
check "shp: 200" "$STATUS" 200
check "shp: a zip" "$(header Content-Type)" "application/zip"
check "shp: its name" "$(header Content-Disposition)" 'attachment; filename="08707.shp.zip"'
cp "$WORK/body" 08707.shp.zip
check "shp: the zip's file set" "$(unzip -Z1 08707.shp.zip | sort | tr '\n' ' ')" \
    "08707.cpg 08707.dbf 08707.prj 08707.shp 08707.shx "
check "shp: ogrinfo opens it" \
    "$(ogrinfo -ro -so -al /vsizip/08707.shp.zip | grep -oE '^Feature Count: [0-9]+')" \
    "Feature Count: $(count 08707)"

get "/export?commune=08707&format=geojson" "${R[@]}"
check "geojson: 200" "$STATUS" 200
check "geojson: its type" "$(header Content-Type)" "application/geo+json"
check "geojson: every parcel" "$(jq '.features | length' <<<"$BODY")" "$(count 08707)"
check "geojson: RFC 7946 WGS 84, no crs member" "$(jq 'has("crs")' <<<"$BODY")" false

get "/export?commune=07894&format=kml" "${R[@]}"
check "format=kml: 400" "$STATUS" 400
contains "format=kml: says why" "$BODY" 'format must be gpkg, shp or geojson'
get "/export?format=gpkg" "${R[@]}"
check "no commune: 400" "$STATUS" 400
get "/export?commune=7894&format=gpkg" "${R[@]}"
check "a four-digit commune: 400" "$STATUS" 400
get "/export?commune=07894&format=gpkg&at=yesterday" "${R[@]}"
check "at=yesterday: 400" "$STATUS" 400
contains "at=yesterday: says why" "$BODY" 'at yesterday'
get "/export?commune=08710&format=gpkg" "${R[@]}"
check "a commune the store does not hold: 404" "$STATUS" 404
contains "a commune the store does not hold: says why" "$BODY" 'commune 08710 is not in the store'
get "/export?commune=07894&format=gpkg&at=2001-01-01" "${R[@]}"
check "before any data: 404" "$STATUS" 404
contains "before any data: says why" "$BODY" 'no parcels to export in commune 07894 valid at 2001-01-01'
# The exporter's own refusals, by its exit status (docs/export.md): a sheet
# that is not a number is the client's (it was a 503), a sheet without
# parcels is not found.
get "/export?commune=07894&format=gpkg&sheet=12a" "${R[@]}"
check "a malformed sheet: 400" "$STATUS" 400
check "a malformed sheet: the exporter's reason, one line" "$(jq -r .error <<<"$BODY")" \
    "reading the parcels: sheet '12a' is not a number"
get "/export?commune=07894&format=geojson&sheet=999" "${R[@]}"
check "a sheet without parcels: 404" "$STATUS" 404
check "a sheet without parcels: says why" "$(jq -r .error <<<"$BODY")" \
    "no parcels to export in commune 07894 on that sheet: nothing written"
get "/export?commune=07894&format=gpkg&sheet=$(printf '1%.0s' $(seq 17))" "${R[@]}"
check "a sheet over 16 characters: 400" "$STATUS" 400
get "/export?commune=07894&format=geojson&srs=EPSG:2154" "${R[@]}"
check "an srs the engine cannot reach: 400" "$STATUS" 400
contains "an srs the engine cannot reach: the exporter's reason" "$(jq -r .error <<<"$BODY")" \
    '^--srs EPSG:2154: '
lacks "an srs: no advice meant for the command line" "$BODY" "parceldb export --help"
get "/export?commune=07894&format=gpkg&sheet=12" "${R[@]}"
check "a sheet with parcels: 200" "$STATUS" 200
check "nothing left in the server's TMPDIR" "$(ls -A "$WORK/srvtmp" | tr '\n' ' ')" ""
stop_server

# A real failure stays a 503: the disk fills under the exporter (the
# failwrite shim of tests/faults, inherited from the server by its child;
# the server itself writes nothing there).
FAILWRITE=$PDB_BINARY_DIR/tests/failwrite.so
[ -f "$FAILWRITE" ] || fail "$FAILWRITE is missing: build the pdb_failwrite target"
mkdir -m 0700 "$WORK/fulltmp"
SERVE_WRAP=(env TMPDIR="$WORK/fulltmp" LD_PRELOAD="$FAILWRITE" FAILWRITE_PATH="$WORK/fulltmp/"
    FAILWRITE_BYTES=20000 ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0")
start_server --tokens tokens || exit 1
SERVE_WRAP=()
get "/export?commune=07894&format=gpkg" "${R[@]}"
check "the disk full under the exporter: 503" "$STATUS" 503
contains "the disk full under the exporter: says why" "$(jq -r .error <<<"$BODY")" 'disk is full'
check "the disk full: nothing left in the server's TMPDIR" "$(ls -A "$WORK/fulltmp" | tr '\n' ' ')" ""
stop_server
finish
