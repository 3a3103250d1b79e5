#!/usr/bin/env bash
# GET /parcels/{commune}/{sheet}/{parcel} (issue 12, item 3): a malformed
# number (a commune that is not five digits of a known commune, a sheet or
# parcel that is not a positive integer, a former commune that is not five
# digits) is a 400 whose JSON error says what is wrong; a well-formed number
# that the store does not hold is a 404.
source "$(dirname "$0")/lib.sh"

make_store || exit 1
start_server || exit 1

# Found.
get /parcels/07894/12/7
check "07894/12/7: 200" "$STATUS" 200
contains "07894/12/7: the parcel" "$BODY" '"commune":"07894".*"sheet":"12","parcel":"7"'
get /parcels/08707/3/30
check "08707/3/30: 200" "$STATUS" 200

# Well-formed, not in the store: 404.
for p in /parcels/07894/12/999 /parcels/07894/13/1 /parcels/08707/12/1 /parcels/04792/1/1 \
    '/parcels/07894/12/7?former=09001'; do
    get "$p"
    check "$p (well-formed, not in the store): 404" "$STATUS" 404
    contains "$p: a JSON error" "$BODY" '^\{"error":"no parcel [^"]*"\}$'
done

# malformed PATH REASON: 400 with a JSON error matching REASON.
malformed() {
    get "$1"
    check "$1: 400" "$STATUS" 400
    check "$1: JSON" "$(header Content-Type)" application/json
    contains "$1: says why" "$BODY" "^\\{\"error\":\"$2\"\\}\$"
}
malformed /parcels/12345/12/1 'commune code 12345 is not a commune of Phu Tho nor of the commune list of this store'
malformed /parcels/00000/1/1 'commune code 00000 is not a commune of Phu Tho nor of the commune list of this store'
malformed /parcels/0789/12/1 "commune code '0789' is not five digits"
malformed /parcels/07894/x/1 "sheet number 'x' is not a positive integer"
malformed /parcels/07894/12/z "parcel number 'z' is not a positive integer"
malformed /parcels/07894/0/1 "sheet number '0' is not a positive integer"
malformed /parcels/07894/12/00 "parcel number '00' is not a positive integer"
malformed /parcels/07894/-3/1 "sheet number '-3' is not a positive integer"
malformed /parcels/07894/12/1.5 "parcel number '1.5' is not a positive integer"
malformed /parcels/07894/%2B1/2 "sheet number '\\+1' is not a positive integer"
malformed /parcels/07894/12/7a "parcel number '7a' is not a positive integer"
malformed '/parcels/07894/12/7?former=abc' 'former must be a five-digit commune code'

get /health
check "still answering" "$STATUS" 200
stop_server
finish
