#!/usr/bin/env bash
# The demo page's search box in Debian's headless Chromium (issue 14): an
# address search ("#search=TEXT" types it in the box and submits it)
# lists the parcels the API finds, a COMMUNE/SHEET/PARCEL number finds
# that parcel, and the owner field is hidden (no token typed), with no
# owner name anywhere in the page. The owner search itself is tested over
# HTTP (search.sh): the page only adds owner= when its field is shown.
source "$(dirname "$0")/lib.sh"

need_chromium

make_store || exit 1
start_server || exit 1

cards() { grep -o 'class="parcel" data-parcel="[0-9]*"' <<<"$1" | grep -o '[0-9]*"$' | tr -d '"' | sort -n | tr '\n' ' '; }

# grid_csv's addresses: parcel i (1-based) is in "Xom (i-1) % 7"; Xom 3:
# parcels 4, 11, 18, 25, 32, 39 of 07894 and 4, 11, 18, 25 of 08707.
DOM=$(chrome --dump-dom "$BASE/#search=xom%203")
check "chromium ran" "$?" 0
contains "the address search found parcels" "$DOM" 'data-state="identified"'
check "the panel lists every parcel of Xom 3, both communes" "$(cards "$DOM")" "4 4 11 11 18 18 25 25 32 39 "
contains "the status counts them" "$DOM" '10 thửa'
contains "the owner field is hidden without a token" "$DOM" '<label id="owner-field" hidden=""'
lacks "no owner name without a token" "$DOM" 'Nguyen Van Chu|Chủ sử dụng</th>'
contains "the page asked /parcels/search" "$(cat "$WORK/server.log")" 'GET /parcels/search\?limit&_ 200'

DOM=$(chrome --dump-dom "$BASE/#search=07894%2F12%2F7")
check "a number in the box finds that parcel" "$(cards "$DOM")" "7 "
contains "its number and sheet" "$DOM" 'Thửa 7 · Tờ 12'

DOM=$(chrome --dump-dom "$BASE/#search=khong%20co%20dau")
contains "nothing found: said" "$DOM" 'data-state="empty"'
stop_server
finish
