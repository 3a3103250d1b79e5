#!/usr/bin/env bash
# GET /qa/{commune} (issue 16): the commune's quality report, the very JSON
# of `parceldb qa --commune C --format json`, for a bearer token of any
# role and for no one else (401 without one or with a wrong one); 404 for
# a commune the store does not hold, 400 for a malformed code; and never
# older than the data: after a re-import that plants a duplicate number
# the report names it.
source "$(dirname "$0")/lib.sh"

make_store || exit 1
READ=map-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s map-app role=read\n' "$READ" >tokens
start_server --tokens tokens || exit 1

# cli_report C: the report `parceldb qa` prints, keys sorted (jq -S).
cli_report() {
    "$PARCELDB" qa --db "$DB" --commune "$1" --format json >cli.json 2>cli.err
    jq -S . cli.json
}

get /qa/07894
check "no token: 401" "$STATUS" 401
contains "  a one-line JSON error" "$BODY" '^\{"error":"[^"]+"\}$'
get /qa/07894 -H "Authorization: Bearer not-$READ"
check "a wrong token: 401" "$STATUS" 401
get /qa/07894 -H "Authorization: Bearer $READ"
check "a read token: 200" "$STATUS" 200
check "  JSON" "$(header Content-Type)" application/json
check "  not kept by shared caches" "$(header Cache-Control)" "private, no-cache"
check "  the report of parceldb qa --commune 07894 --format json" \
    "$(jq -S . <<<"$BODY" | cmp -s - <(cli_report 07894) && echo same)" same
check "  of commune 07894, its 40 parcels" "$(jq -c '[.communes, .parcels]' <<<"$BODY")" '[["07894"],40]'
check "  no duplicate number yet" "$(jq '.checks.duplicate_number.count // 0' <<<"$BODY")" 0
get /qa/08707 -H "Authorization: Bearer $READ"
check "the other commune: its own report" "$STATUS $(jq -c .communes <<<"$BODY")" '200 ["08707"]'

get /qa/07895 -H "Authorization: Bearer $READ"
check "a commune the store does not hold: 404" "$STATUS" 404
contains "  says so" "$BODY" '^\{"error":"no commune 07895 in the store"\}$'
get /qa/0789 -H "Authorization: Bearer $READ"
check "a malformed code: 400" "$STATUS" 400
get /qa/07894/sheets -H "Authorization: Bearer $READ"
check "below a commune: 404" "$STATUS" 404

# A re-survey whose parcel 7 is numbered 5 too: the next report has it.
base_phutho
grid_csv pt2.csv 40 07894 12
awk 'NR == 8 { sub(/,12,7,/, ",12,5,") } { print }' pt2.csv >pt2dup.csv
to_gpkg pt2dup.csv pt2.gpkg 9208
"$PARCELDB" import --quiet --db "$DB" pt2.gpkg >import2.log 2>&1
check "re-import with a duplicate number" "$?" 0
for _ in $(seq 1 30); do
    get /qa/07894 -H "Authorization: Bearer $READ"
    [ "$(jq '.checks.duplicate_number.count // 0' <<<"$BODY")" != 0 ] && break
    sleep 0.05
done
check "the report after it: the duplicate found" \
    "$(jq -c '[.findings[] | select(.check == "duplicate_number") | .parcel] | unique' <<<"$BODY")" \
    '["5"]'
check "  still parceldb qa's" "$(jq -S . <<<"$BODY" | cmp -s - <(cli_report 07894) && echo same)" same
stop_server
lacks "the token is never logged" "$(cat "$WORK/server.log")" "$READ"
finish
