#!/usr/bin/env bash
# GET /parcels/{commune}/{sheet}/{parcel}/extract.pdf and .png (issue 14):
# the PDF's table against GDAL/OGR's reading of the source file, content
# types, owner names only with a valid token, JSON errors with the right
# status, and a burst answered 200 or 503 (the concurrency limit), never
# anything else.
source "$(dirname "$0")/lib.sh"
CHECK=(/usr/bin/python3 "$PDB_SOURCE_DIR/tests/extract/check.py")
for tool in pdftotext pdfinfo; do
    command -v $tool >/dev/null || { fail "$tool is missing (scripts/install-deps.sh)"; finish; exit 1; }
done

make_store || exit 1
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s front-desk\n' "$TOKEN" >tokens
start_server --tokens tokens || exit 1

audits() { store_sql "$DB" "SELECT count(*) FROM audit_log"; }
get /parcels/07894/12/7/extract.pdf
check "extract.pdf: 200" "$STATUS" 200
check "a public extract: no audit row" "$(audits)" 0
check "extract.pdf: content type" "$(header Content-Type)" application/pdf
cp "$WORK/body" public.pdf
pdftotext -layout public.pdf public.txt
if "${CHECK[@]}" table public.txt pt.gpkg 7 >check.out 2>&1; then ok "the table is OGR's"; else
    fail "the table: $(grep FAIL check.out | head -3)"
fi
lacks "no owner without a token" "$(cat public.txt)" "Nguyen Van Chu"
lacks "no owner line without a token" "$(cat public.txt)" "Người sử dụng đất"
check "public: Cache-Control" "$(header Cache-Control)" no-cache

get /parcels/07894/12/7/extract.pdf -H "Authorization: Bearer $TOKEN"
check "with a token: 200" "$STATUS" 200
check "with a token: private" "$(header Cache-Control)" "private, no-store"
pdftotext -layout "$WORK/body" personal.txt
contains "with a token: the owner" "$(cat personal.txt)" "Người sử dụng đất: Nguyen Van Chu 7"
check "an extract with owners: one audit row, by the token's name" \
    "$(store_sql "$DB" "SELECT count(*) || ' ' || max(who) || ' ' || max(what) FROM audit_log")" \
    "1 front-desk GET /parcels/{c}/{s}/{p}/extract"

get /parcels/07894/12/7/extract.pdf -H "Authorization: Bearer ${TOKEN}x"
check "a wrong token: 401" "$STATUS" 401

get "/parcels/07894/12/7/extract.pdf?paper=A3&scale=500"
check "A3 at 1:500: 200" "$STATUS" 200
cp "$WORK/body" a3.pdf
contains "A3" "$(pdfinfo a3.pdf | grep "Page size")" "841.89 x 1190.55 pts \\(A3\\)"
contains "1:500" "$(pdftotext a3.pdf -)" "Tỷ lệ 1:500"

get "/parcels/08707/3/30/extract.png?dpi=72"
check "extract.png: 200" "$STATUS" 200
check "extract.png: content type" "$(header Content-Type)" image/png
check "extract.png: a PNG" "$(head -c 8 "$WORK/body" | od -An -tx1 | tr -d ' ')" 89504e470d0a1a0a

# error PATH STATUS REASON: a JSON error.
error() {
    get "$1"
    check "$1: $2" "$STATUS" "$2"
    check "$1: JSON" "$(header Content-Type)" application/json
    contains "$1: says why" "$BODY" "^\\{\"error\":\".*$3.*\"\\}\$"
}
error /parcels/07894/12/999/extract.pdf 404 "no parcel 07894/12/999"
error /parcels/07894/x/1/extract.pdf 400 "sheet number 'x' is not a positive integer"
error "/parcels/07894/12/7/extract.pdf?scale=300" 400 "not a standard scale"
error "/parcels/07894/12/7/extract.pdf?paper=A5" 400 "paper must be A4 or A3"
error "/parcels/07894/12/7/extract.pdf?former=1" 400 "former must be a five-digit commune code"
error "/parcels/07894/12/7/extract.pdf?at=soon" 400 "not YYYY-MM-DD"
error /parcels/at/extract.pdf 404 "no such path"
error /parcels/07894/12/7/extract.svg 404 ""

# A burst: every answer a whole PDF or a 503 JSON error with Retry-After.
# (The curls' own ids are waited for: a bare wait would wait for the server.)
pids=()
for i in $(seq 1 8); do
    curl -sS --max-time 60 -o "burst$i.body" -D "burst$i.headers" -w '%{http_code}' \
        "$BASE/parcels/07894/12/$i/extract.pdf" >"burst$i.status" &
    pids+=($!)
done
wait "${pids[@]}"
for i in $(seq 1 8); do
    s=$(cat "burst$i.status")
    case $s in
    200) pdfinfo "burst$i.body" >/dev/null 2>&1 || fail "burst $i: 200 but not a PDF" ;;
    503) grep -qi '^Retry-After:' "burst$i.headers" || fail "burst $i: 503 without Retry-After" ;;
    *) fail "burst $i: status $s" ;;
    esac
done
ok "a burst of 8 answered"

get /health
check "still answering" "$STATUS" 200
stop_server
finish
