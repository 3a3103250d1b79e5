#!/usr/bin/env bash
# The HTTP API with curl: status codes, headers, CORS, ETag/304, lookups in
# every coordinate form, the bearer token on and off (owner names never
# without it, never in the log), SIGHUP reloading tokens, SIGTERM exit 0.
source "$(dirname "$0")/lib.sh"

make_store || exit 1
TOKEN=officer-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '# land office\n%s front-desk\n' "$TOKEN" >tokens
start_server --tokens tokens || exit 1

# --- health, metrics, communes, tiles.json
get /health
check "health: 200" "$STATUS" 200
contains "health: data version" "$BODY" '^\{"status":"ok","data_version":[1-9][0-9]*,'
DV=$(printf '%s' "$BODY" | sed 's/.*"data_version":\([0-9]*\).*/\1/')
check "health: JSON" "$(header Content-Type)" "application/json"
check "CORS on every answer" "$(header Access-Control-Allow-Origin)" "*"
get /communes
check "communes: 200" "$STATUS" 200
contains "communes: both, with names and boxes" "$BODY" '"code":"07894".*"bbox":\[105\.40.*"parcels":40.*"code":"08707".*"parcels":30'
# Each commune's own data version: when it last changed (its import or its
# overviews), never after the store's.
versions=$(printf '%s' "$BODY" | grep -o '"last_batch":[0-9]*,"data_version":[0-9]*' | sed 's/.*://')
check "communes: a data version each, none after the store's ($DV)" \
    "$(printf '%s\n' $versions | awk -v dv="$DV" '$1 >= 1 && $1 <= dv' | wc -l)" 2
get /tiles.json
check "tiles.json: 200" "$STATUS" 200
contains "tiles.json: TileJSON 3.0.0" "$BODY" '"tilejson":"3.0.0"'
contains "tiles.json: tile URL on this host" "$BODY" "\"tiles\":\\[\"http://127.0.0.1:$PORT/tiles/\\{z\\}/\\{x\\}/\\{y\\}.png\"\\]"
contains "tiles.json: bounds of the data" "$BODY" '"bounds":\[105\.40[0-9]*,21\.30[0-9]*,105\.59[0-9]*,21\.32[0-9]*\]'

# --- lookups: WGS 84, easting/northing, the Vietnamese X/Y order
base_phutho
parcel_center 9208 7
get "/parcels/at?lon=$PLON&lat=$PLAT"
check "at lon/lat: 200" "$STATUS" 200
check "at lon/lat: GeoJSON type" "$(header Content-Type)" "application/geo+json"
contains "at lon/lat: parcel 7 of 07894" "$BODY" '"commune":"07894".*"sheet":"12","parcel":"7"'
contains "at lon/lat: one feature" "$BODY" '^\{"query":\{[^}]*\},"type":"FeatureCollection","features":\[\{"type":"Feature","id":[0-9]+,"geometry":\{"type":"MultiPolygon"'
lacks "at lon/lat: no owner without a token" "$BODY" 'owner|Nguyen Van Chu'
get "/parcels/at?e=$PX&n=$PY&srs=EPSG:9208"
contains "at e/n/srs: parcel 7" "$BODY" '"parcel":"7"'
get "/parcels/at?x=$PY&y=$PX&zone=104-45"
check "at x/y/zone (x = northing): 200" "$STATUS" 200
contains "at x/y/zone: parcel 7, and where it is" "$BODY" "\"query\":\\{\"lon\":105\\.40[0-9]+,\"lat\":21\\.32[0-9]+\\}.*\"parcel\":\"7\""
get "/parcels/at?x=$PX&y=$PY&zone=104-45"
check "at x/y swapped: 400" "$STATUS" 400
contains "at x/y swapped: says so" "$BODY" 'swapped|X = northing'
get "/parcels/at?x=$PY&y=$PX&zone=105-00"
check "at x/y in the wrong zone: answered" "$STATUS" 200
lacks "at x/y in the wrong zone: not parcel 7" "$BODY" '"parcel":"7"'
get "/parcels/at?lon=105.0&lat=21.0"
check "at, no parcel: 200" "$STATUS" 200
contains "at, no parcel: empty collection" "$BODY" '"features":\[\]'
get "/parcels/at?lon=105.4&lat=21.3&e=1"
check "at, two forms at once: 400" "$STATUS" 400
get "/parcels/at?e=1&n=2&srs=EPSG:99999"
check "at, unknown srs: 400" "$STATUS" 400

# --- by number (every match) and the box
get /parcels/07894/12/7
check "by number: 200" "$STATUS" 200
contains "by number: parcel 7" "$BODY" '"parcel":"7"'
get /parcels/07894/12/999
check "by number, none: 404" "$STATUS" 404
contains "by number, none: JSON error" "$BODY" '^\{"error":"no parcel 07894/12/999"\}$'
get /parcels/08707/3/1
contains "by number in Vinh Phuc" "$BODY" '"commune":"08707".*"source_srid":"EPSG:5897"'
get "/parcels?bbox=105.3,21.2,105.7,21.5&limit=25"
check "bbox: 200" "$STATUS" 200
contains "bbox: paging members" "$BODY" '^\{"limit":25,"offset":0,"numberReturned":25,'
get "/parcels?bbox=105.3,21.2,105.7,21.5&limit=25&offset=60"
contains "bbox: the last page" "$BODY" '"numberReturned":10,'
get "/parcels?bbox=105.3,21.2,105.7,21.5&limit=100000"
contains "bbox: limit capped at the maximum" "$BODY" '^\{"limit":1000,'
get "/parcels?bbox=105.3,21.2,105.7,21.5&limit=0"
check "bbox: limit 0 is a 400" "$STATUS" 400

# --- the bearer token
get "/parcels/07894/12/7" -H "Authorization: Bearer $TOKEN"
check "token: 200" "$STATUS" 200
contains "token: the owner" "$BODY" '"owner":"Nguyen Van Chu 7"'
check "token: private, not stored" "$(header Cache-Control)" "private, no-store"
check "token: varies by Authorization" "$(header Vary)" "Authorization"
get "/parcels/at?lon=$PLON&lat=$PLAT" -H "Authorization: Bearer $TOKEN"
contains "token: owner at a point" "$BODY" '"owner":"Nguyen Van Chu 7"'
get "/parcels?bbox=105.3,21.2,105.7,21.5&limit=5" -H "Authorization: bearer $TOKEN"
contains "token: owners in a box (scheme case-insensitive)" "$BODY" '"owner":"Nguyen Van Chu 1"'
get "/parcels/07894/12/7" -H "Authorization: Bearer ${TOKEN}x"
check "wrong token: 401" "$STATUS" 401
contains "wrong token: WWW-Authenticate" "$(header WWW-Authenticate)" 'Bearer error="invalid_token"'
lacks "wrong token: no owner" "$BODY" 'Nguyen'
get "/parcels/07894/12/7" -H "Authorization: Basic dXNlcjpwYXNz"
check "basic auth: 401" "$STATUS" 401
get "/parcels/07894/12/7"
check "no token: public answer cacheable by revalidation" "$(header Cache-Control)" "no-cache"
lacks "no token: no owner" "$BODY" 'owner|Nguyen'
get "/tiles/17/103913/57587.png" -H "Authorization: Bearer $TOKEN"
check "token on a tile: ignored, 200" "$STATUS" 200

# --- tiles: PNG, ETag, 304, CORS, HEAD, OPTIONS
base_phutho
parcel_center 9208 1
read -r TZ TX TY < <(awk -v lon="$PLON" -v lat="$PLAT" 'BEGIN {
    z = 17; n = 2 ^ z; pi = atan2(0, -1); r = lat * pi / 180
    printf "%d %d %d\n", z, int((lon + 180) / 360 * n), int((1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n) }')
get "/tiles/$TZ/$TX/$TY.png"
check "tile: 200" "$STATUS" 200
check "tile: PNG" "$(header Content-Type)" "image/png"
check "tile: PNG signature" "$(head -c 8 "$WORK/body" | od -An -tx1 | tr -d ' \n')" "89504e470d0a1a0a"
check "tile: Cache-Control" "$(header Cache-Control)" "public, max-age=60"
ETAG=$(header ETag)
contains "tile: strong ETag" "$ETAG" '^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]{16}"$'
get "/tiles/$TZ/$TX/$TY.png" -H "If-None-Match: $ETAG"
check "tile: 304 on If-None-Match" "$STATUS" 304
check "tile: 304 has no body" "$(wc -c <"$WORK/body")" 0
check "tile: 304 keeps the ETag" "$(header ETag)" "$ETAG"
get "/tiles/$TZ/$TX/$TY.png" -H "If-None-Match: \"other\", W/$ETAG"
check "tile: 304 on a list with a weak match" "$STATUS" 304
get "/tiles/$TZ/$TX/$TY.png" -H 'If-None-Match: "stale"'
check "tile: 200 on another ETag" "$STATUS" 200
# A cached tile goes out as a response made once and kept with its bytes
# (http.c): each answer the same bytes and headers as the first.
cp "$WORK/body" "$WORK/tile-a.png"
grep -vi '^Date:' "$WORK/headers" >"$WORK/headers-a"
for i in 1 2; do
    get "/tiles/$TZ/$TX/$TY.png"
    check "tile again ($i): the same bytes" "$(cmp -s "$WORK/body" "$WORK/tile-a.png" && echo same)" same
    check "tile again ($i): the same headers" "$(grep -vi '^Date:' "$WORK/headers" | diff - "$WORK/headers-a" && echo same)" same
done
# The one empty tile shown for two places with their own ETags: the
# second answer is built for itself, with the same headers but the ETag.
get /tiles/17/0/1.png
grep -vi '^Date:\|^ETag:' "$WORK/headers" >"$WORK/headers-e1"
E1=$(header ETag)
get /tiles/17/1/1.png
check "empty tiles: the same headers but the ETag" "$(grep -vi '^Date:\|^ETag:' "$WORK/headers" | diff - "$WORK/headers-e1" && echo same)" same
contains "empty tiles: an ETag each" "$E1 $(header ETag)" '^"[0-9a-f-]+" "[0-9a-f-]+"$'
get "/tiles/$TZ/$TX/$TY@2x.png"
check "tile @2x: 200" "$STATUS" 200
contains "tile @2x: its own ETag" "$(header ETag)" '-2x"$'
cp "$WORK/body" "$WORK/tile2x.png"
check "tile @2x: 512 px" "$(gdalinfo "$WORK/tile2x.png" | grep -o 'Size is [0-9]*, [0-9]*')" "Size is 512, 512"
STATUS=$(curl -s --max-time 10 -I -o "$WORK/headers" -w '%{http_code}' "$BASE/tiles/$TZ/$TX/$TY.png")
check "HEAD tile: 200" "$STATUS" 200
contains "HEAD tile: length of the GET" "$(cat "$WORK/headers")" 'Content-Length: [1-9]'
STATUS=$(curl -s --max-time 10 -X OPTIONS -D "$WORK/headers" -o /dev/null -w '%{http_code}' \
    -H 'Origin: http://example.test' -H 'Access-Control-Request-Headers: authorization' \
    "$BASE/parcels/07894/12/7")
check "CORS preflight: 204" "$STATUS" 204
contains "CORS preflight: Authorization allowed" "$(cat "$WORK/headers")" 'Access-Control-Allow-Headers: Authorization'
get /tiles/17/0/0.png
check "tile far from the data: 200" "$STATUS" 200

# --- the demo page
get /
check "demo page: 200" "$STATUS" 200
contains "demo page: HTML" "$(header Content-Type)" "text/html"
contains "demo page: CSP" "$(header Content-Security-Policy)" "script-src 'self'"
get /leaflet/leaflet.js
check "leaflet.js served by the server itself" "$STATUS" 200
get /app.js -H "If-None-Match: $(curl -s -D - -o /dev/null "$BASE/app.js" | grep -i '^etag' | sed 's/^[^:]*: *//; s/\r$//')"
check "demo file: 304" "$STATUS" 304

# --- methods
STATUS=$(curl -s --max-time 10 -X DELETE -D "$WORK/headers" -o "$WORK/body" -w '%{http_code}' "$BASE/parcels/07894/12/7")
check "DELETE: 405" "$STATUS" 405
contains "DELETE: Allow" "$(cat "$WORK/headers")" 'Allow: GET, HEAD, OPTIONS'
contains "DELETE: JSON error" "$(cat "$WORK/body")" '^\{"error":'

# --- keep-alive: two requests, one connection
OUT=$(curl -sv --max-time 10 "$BASE/health" "$BASE/health" 2>&1 >/dev/null)
contains "keep-alive: connection reused" "$OUT" 'Re-using existing connection'

# --- metrics
get /metrics
check "metrics: 200" "$STATUS" 200
contains "metrics: Prometheus text" "$(header Content-Type)" 'text/plain; version=0.0.4'
contains "metrics: requests by route and status" "$BODY" 'parceldb_http_requests_total\{route="tile",status="200"\} [0-9]+'
contains "metrics: latency histogram" "$BODY" 'parceldb_http_request_duration_seconds_bucket\{route="parcels_at",le="\+Inf"\} [0-9]+'
contains "metrics: cache" "$BODY" 'parceldb_tile_cache_hits_total [0-9]+'
contains "metrics: tiles rendered" "$BODY" 'parceldb_tiles_rendered_total [1-9]'
contains "metrics: data version" "$BODY" "parceldb_data_version $DV"$'\n'
# The lookups above loaded their communes' index, once for all workers.
contains "metrics: lookup index communes" "$BODY" 'parceldb_lookup_index_communes [1-9]'
contains "metrics: lookup index bytes" "$BODY" 'parceldb_lookup_index_bytes [1-9][0-9]{3,}'
if [ "${PDB_TEST_STORE:-}" = pg ]; then
    contains "metrics: no file age for a database" "$BODY" 'parceldb_store_age_seconds NaN'
else
    contains "metrics: store age" "$BODY" 'parceldb_store_age_seconds [0-9]'
fi
contains "metrics: 304s counted" "$BODY" 'parceldb_http_not_modified_total [1-9]'

# --- SIGHUP: a new token file replaces the old one
NEW=officer-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'sha256:%s\n' "$(printf %s "$NEW" | sha256sum | cut -d' ' -f1)" >tokens
hup_and_wait
contains "SIGHUP: reloaded" "$(cat "$WORK/server.log")" 'reloaded: style [0-9a-f]+, 1 token'
get "/parcels/07894/12/7" -H "Authorization: Bearer $TOKEN"
check "SIGHUP: the old token is refused" "$STATUS" 401
get "/parcels/07894/12/7" -H "Authorization: Bearer $NEW"
contains "SIGHUP: the new (hashed) token works" "$BODY" '"owner":"Nguyen Van Chu 7"'
get /health
check "SIGHUP: still serving" "$STATUS" 200

stop_server
LOG=$(cat "$WORK/server.log")
contains "access log: a line per request" "$LOG" 'GET /parcels/at\?lon&lat 200 [0-9]+ [0-9.]+ms'
contains "access log: tiles" "$LOG" "GET /tiles/$TZ/$TX/$TY.png 304 0 "
contains "access log: the whole line" "$LOG" \
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z GET /tiles/$TZ/$TX/$TY\\.png 304 0 [0-9]+\\.[0-9]{3}ms\$"
lacks "access log: no owner names" "$LOG" 'Nguyen'
lacks "access log: no query values" "$LOG" "$PLON|105\\.3,21\\.2"
lacks "access log: no token" "$LOG" "$TOKEN|$NEW|Bearer"
contains "stopped cleanly" "$LOG" 'stopped cleanly'
finish
