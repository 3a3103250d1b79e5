#!/usr/bin/env bash
# The demo page in Debian's headless Chromium, on a closed network: the
# page, Leaflet and the tiles all come from the server (no CDN); a
# screenshot shows the tiles with the parcels' colours where they are; a
# scripted click on the map (a real DOM click on the parcel's pixel, see
# web/app.js "#click=") shows the parcel's number in the panel.
source "$(dirname "$0")/lib.sh"

need_chromium

make_store || exit 1
start_server || exit 1

base_phutho
parcel_center 9208 7 4 4 # 4 m inside parcel 7's south-west corner: not on its label
URL="$BASE/#click=$PLON,$PLAT"

# The scripted click and the panel.
chrome --dump-dom "$URL" >dom.html
check "chromium ran" "$?" 0
DOM=$(cat dom.html)
contains "the page loaded its script" "$DOM" 'data-ready="1"'
contains "the click identified a parcel" "$DOM" 'data-state="identified"'
contains "the panel shows parcel 7" "$DOM" 'data-parcel="7"'
contains "the panel shows its number and sheet" "$DOM" 'Thửa 7 · Tờ 12'
contains "the panel shows its commune" "$DOM" '\(07894\)'
lacks "no owner without a token" "$DOM" 'Nguyen Van Chu'

# The screenshot: the map is the left 660 px; its centre is the clicked point.
chrome --screenshot="$WORK/shot.png" "$URL" >/dev/null
check "screenshot taken" "$([ -s "$WORK/shot.png" ] && echo yes)" yes
px() { png_rgb "$WORK/shot.png" "$1" "$2"; }
WANT=$(landuse_rgb CLN)
GOT=$(px 330 350)
check "a tile shows parcel 7 (CLN, $WANT) under the click (got $GOT)" "$(rgb_near "$GOT" "$WANT")" yes
GOT=$(px 318 350)
check "the gap west of parcel 7 shows the plain background (got $GOT)" "$GOT" "242 239 233"
# The identified parcel's outline is drawn in red on its west edge, 4 m
# (about 7 px at z18) west of the centre.
RED=
for x in $(seq 316 330); do
    if px "$x" 350 | awk '{ exit !($1 > 180 && $2 < 80 && $3 < 80) }'; then RED=$x; break; fi
done
if [ -n "$RED" ] && [ "$RED" -ge 318 ] && [ "$RED" -le 326 ]; then ok "the red outline is on the parcel's edge (x = $RED)"; else
    fail "no red outline at the parcel's west edge (x 318-326; found ${RED:-none})"; fi

TILES=$(grep -c 'GET /tiles/18/' "$WORK/server.log")
if [ "$TILES" -ge 4 ]; then ok "the page fetched $TILES tiles"; else fail "the page fetched $TILES tiles"; fi
contains "Leaflet came from the server" "$(cat "$WORK/server.log")" 'GET /leaflet/leaflet.js 200'
lacks "nothing but the server was asked (no CDN)" "$(cat "$WORK/chromium.log")" 'ERR_NAME_NOT_RESOLVED.*(unpkg|cdn|googleapis)'
stop_server
finish
