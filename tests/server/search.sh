#!/usr/bin/env bash
# GET /parcels/search with curl (issue 14): address words for everyone;
# owner words only with a bearer token (owner= without one is a 401, q=
# without one never matches an owner); every answer that shows owners,
# here and on the existing lookups, is one row in the store's audit table
# (read back with sqlite3/psql), with the token's name and never the
# token; public answers write none; the search words are not logged.
# Runs on both stores (server_search_pg in tests/pg.cmake).
source "$(dirname "$0")/lib.sh"

make_store || exit 1
TOKEN=officer-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '# land office\n%s front-desk\n' "$TOKEN" >tokens
start_server --tokens tokens || exit 1
AUTH=(-H "Authorization: Bearer $TOKEN")
audits() { store_sql "$DB" "SELECT count(*) FROM audit_log"; }
numbers() { jq -r '[.features[] | .properties.commune + "/" + .properties.parcel] | join(" ")' <<<"$BODY"; }

# Public: address words. grid_csv's addresses are "Xom 0" .. "Xom 6".
get "/parcels/search?q=xom+3"
check "q=xom 3: 200" "$STATUS" 200
check "q=xom 3: GeoJSON" "$(header Content-Type)" "application/geo+json"
check "q=xom 3: every parcel of Xom 3, by id" "$(jq '.features | length' <<<"$BODY")" 10
check "q=xom 3: all in Xom 3" "$(jq -r '[.features[].properties.address] | unique | join(",")' <<<"$BODY")" "Xom 3"
lacks "q=xom 3: no owner without a token" "$BODY" 'owner|Nguyen'
check "public: revalidated cache" "$(header Cache-Control)" "no-cache"
get "/parcels/search?q=xom&limit=5&commune=08707"
check "limit and commune" "$(jq -r '[.features[].properties.commune] | join(" ")' <<<"$BODY")" "08707 08707 08707 08707 08707"
check "limit: the answer says it was cut" "$(jq -r .truncated <<<"$BODY")" true
get "/parcels/search?q=nguyen"
check "q=nguyen without a token: 200" "$STATUS" 200
check "q=nguyen without a token: owners never matched" "$(jq '.features | length' <<<"$BODY")" 0
get "/parcels/search?owner=nguyen"
check "owner= without a token: 401" "$STATUS" 401
contains "owner= without a token: JSON error" "$BODY" '^\{"error":"searching owner names needs a bearer token"\}$'
get "/parcels/search?q=chu" -H "Authorization: Bearer ${TOKEN}x"
check "a wrong token: 401" "$STATUS" 401
get "/parcels/search?q=%21%21"
check "no words: 400" "$STATUS" 400
contains "no words: JSON error" "$BODY" '^\{"error":"nothing to search for'
get "/parcels/search?q=xom&commune=7"
check "bad commune: 400" "$STATUS" 400
check "public answers and errors: no audit row" "$(audits)" 0

# With the token: owners searched and shown, ranked (the phrase first).
get "/parcels/search?owner=chu+7" "${AUTH[@]}"
check "owner=chu 7: 200" "$STATUS" 200
check "owner=chu 7: parcel 7 of each commune first" "$(numbers | cut -d' ' -f1-2 | tr ' ' '\n' | sort | tr '\n' ' ')" "07894/7 08707/7 "
check "owner=chu 7: the owner shown" "$(jq -r '.features[0].properties.owner' <<<"$BODY")" "Nguyen Van Chu 7"
check "personal: private, not stored" "$(header Cache-Control)" "private, no-store"
get "/parcels/search?q=$(jq -rn --arg q 'NGUYỄN văn chu 12' '$q | @uri')&commune=07894" "${AUTH[@]}"
check "q with marks and a token: the owner's parcel" "$(numbers | cut -d' ' -f1)" "07894/12"
check "two personal searches: two audit rows" "$(audits)" 2

# The existing personal answers are recorded too.
get "/parcels/07894/12/7" "${AUTH[@]}"
check "parcel by number with a token: 200" "$STATUS" 200
base_phutho
parcel_center 9208 7
get "/parcels/at?lon=$PLON&lat=$PLAT" "${AUTH[@]}"
contains "at a point with a token: the owner" "$BODY" '"owner":"Nguyen Van Chu 7"'
get "/parcels/07894/12/7"
get "/parcels/at?lon=$PLON&lat=$PLAT"
check "four personal answers, two public: four rows" "$(audits)" 4
id7=$(store_sql "$DB" "SELECT id FROM parcels WHERE commune = '07894' AND parcel = '7' AND valid_to IS NULL")
check "the rows: token name, route, parcels" \
    "$(store_sql "$DB" "SELECT who || ' ' || what || ' ' || parcels FROM audit_log WHERE id > (SELECT min(id) + 1 FROM audit_log) ORDER BY id")" \
    "front-desk GET parcel_number $id7
front-desk GET parcels_at $id7"
check "the token itself is nowhere in the audit table" \
    "$(store_sql "$DB" "SELECT count(*) FROM audit_log WHERE who LIKE '%officer-token%' OR what LIKE '%officer-token%'")" 0
check "parceldb audit --token front-desk lists them" "$("$PARCELDB" audit --db "$DB" --token front-desk | wc -l)" 4
lacks "the search words are not in the log" "$(cat "$WORK/server.log")" 'chu|nguyen|NGUY'

stop_server

# No audit row, no owners: a server whose audit store cannot be written
# answers a personal request 503, without owners; public answers go on.
start_server --tokens tokens --audit-db "$WORK/no-such-dir/audit.sqlite" || exit 1
get "/parcels/07894/12/7" "${AUTH[@]}"
check "audit store unwritable: 503" "$STATUS" 503
contains "audit store unwritable: says why" "$BODY" '^\{"error":"the audit table cannot be written'
lacks "audit store unwritable: no owner" "$BODY" 'Nguyen'
get "/parcels/07894/12/7"
check "audit store unwritable: public answers still 200" "$STATUS" 200
stop_server
finish
