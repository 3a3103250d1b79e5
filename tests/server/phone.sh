#!/usr/bin/env bash
# The demo page in the field (issue 14), in Debian's headless Chromium: on
# a phone (390 x 844 CSS px, 2 device px each) the map takes the whole
# width and the panel is folded into a bar at the bottom; a link
# "#parcel=C/S/P" opens the page on that parcel with the panel open, and a
# new hash is followed; "where am I" uses the browser's real geolocation
# API, given a position and a permission through the DevTools protocol
# (cdp.py); on a desktop (1280 x 800) the panel stays on the right;
# printed, the page shows the map and the parcel's table and none of the
# controls.
source "$(dirname "$0")/lib.sh"

need_chromium
for tool in gdallocationinfo pdftotext pdfimages; do
    command -v "$tool" >/dev/null || { fail "$tool is not installed (scripts/install-deps.sh)"; exit 1; }
done

make_store || exit 1
start_server || exit 1

CLN=$(landuse_rgb CLN) # parcel 7's land use (grid_csv: ONT LUA CLN BHK ...)
BG="242 239 233"       # the map's plain background (styles/landuse.json)
WHITE="255 255 255"    # the panel's background (web/style.css)
# The map has settled: not moving (web/app.js: data-map), every tile
# loaded and faded in.
SETTLED="document.body.dataset.map === 'still' && document.querySelector('.leaflet-tile') &&
    Array.prototype.every.call(document.querySelectorAll('.leaflet-tile'), function (t) {
        return t.classList.contains('leaflet-tile-loaded') && t.style.opacity === '1'; })"
IDENTIFIED="document.body.dataset.state === 'identified'"
ERROR="document.getElementById('status').className === 'error'"
# cdp ARGS...: cdp.py (DevTools through a pipe) in headless Chromium.
# Screen sizes come from the DevTools protocol: with --window-size alone,
# the page's script would run in a viewport at least 500 px wide and
# about 143 px less high than the window (see cdp.py).
cdp() {
    rm -rf "$WORK/profile"
    timeout 150 /usr/bin/python3 "$PDB_SOURCE_DIR/tests/server/cdp.py" "$@" \
        -- "$CHROMIUM" "${CHROME_FLAGS[@]}" 2>>"$WORK/chromium.log"
}
# phone ARGS...: cdp on a phone, 390 x 844 CSS px, 2 device px each.
phone() { cdp --device 390,844,2 "$@"; }
# pixels FILE: for each line "X Y" read, "X Y R G B" of that pixel of FILE
# (one gdallocationinfo for them all).
pixels() {
    cat >"$WORK/points"
    gdallocationinfo -valonly "$1" <"$WORK/points" 2>/dev/null | paste -d' ' - - - | paste -d' ' "$WORK/points" -
}
# red_above_sheet FILE: the first row of the centre column of a phone
# screenshot, above the open sheet (the top 380 of 844 CSS px), where the
# identified parcel's red outline is; nothing when it is not there.
red_above_sheet() {
    seq 0 2 760 | awk '{ print 390, $1 }' | pixels "$1" | awk '$3 > 180 && $4 < 80 && $5 < 80 { print $2; exit }'
}
# whites FILE Y: how many of the pixels of row Y of FILE, one every 4
# columns, are pure white.
whites() {
    local w
    w=$(gdalinfo "$1" | awk -F'[ ,]+' '/^Size is/ { print $3 }')
    seq 0 4 $((w - 1)) | awk -v y="$2" '{ print $1, y }' | pixels "$1" |
        awk '$3 == 255 && $4 == 255 && $5 == 255 { n++ } END { print n + 0 }'
}

# --- A phone, the panel folded ----------------------------------------------
# The view is centred 58 m west of the point 4 m inside parcel 7's
# south-west corner (not on its label), so that the point is 58 m east of
# the centre, at the middle height: at z18 and this latitude, 58 m is
# 104 CSS px, so x = 195 + 104 = 299, where the old layout's panel was
# (its right 45%, from x = 215).
base_phutho
parcel_center 9208 7 -54 4
X=$(awk -v lat="$PLAT" 'BEGIN { pi = atan2(0, -1)
    printf "%d", 2 * (195 + 58 * 2^18 * 256 / (2 * pi * 6378137 * cos(lat * pi / 180))) }')
Y=$((2 * 422))
DOM=$(phone --wait "$SETTLED" --screenshot "$WORK/folded.png" "$BASE/#view=$PLON,$PLAT,18")
check "phone: the page loaded and settled (cdp.py)" "$?" 0
check "phone screenshot, 2 device px per CSS px" \
    "$(gdalinfo "$WORK/folded.png" 2>/dev/null | grep -o 'Size is .*')" "Size is 780, 1688"
GOT=$(png_rgb "$WORK/folded.png" "$X" "$Y")
check "the map reaches under the old panel: parcel 7's tile colour at x = $((X / 2)) ($GOT)" \
    "$(rgb_near "$GOT" "$CLN")" yes
# The right edge (x = 389), 194 px or 108 m east of the centre, is 4 m
# inside parcel 9 (ONT).
GOT=$(png_rgb "$WORK/folded.png" 778 "$Y")
check "the map reaches the right edge: parcel 9's tile colour ($GOT)" "$(rgb_near "$GOT" "$(landuse_rgb ONT)")" yes
check "the panel is folded: no panel white across the middle row" "$(whites "$WORK/folded.png" "$Y")" 0
check "the folded panel's bar is at the bottom" "$(png_rgb "$WORK/folded.png" 4 1680)" "$WHITE"
contains "the page says the panel is folded" "$DOM" '<body data-panel="folded"'
contains "the toggle says it would open the panel" "$DOM" 'id="toggle"[^>]*aria-expanded="false"'
DOM=$(phone --click '#toggle' --wait "document.body.dataset.panel === 'open'" --screenshot "$WORK/toggled.png" \
    "$BASE/#view=$PLON,$PLAT,18")
check "the toggle opens the panel (cdp.py)" "$?" 0
check "the panel opened over the middle row" "$(png_rgb "$WORK/toggled.png" 8 "$Y")" "$WHITE"

# --- A phone, opened on a parcel by its link -----------------------------------
DOM=$(phone --wait "$IDENTIFIED" --wait "$SETTLED" --screenshot "$WORK/open.png" "$BASE/#parcel=07894/12/7")
check "phone: #parcel= (cdp.py)" "$?" 0
contains "the link identified parcel 7" "$DOM" 'data-state="identified" data-parcel="7"'
contains "the panel is open" "$DOM" '<body data-panel="open"'
contains "the panel shows its number and sheet" "$DOM" 'Thửa 7 · Tờ 12'
contains "the parcel's own link is in the panel" "$DOM" 'class="share" href="#parcel=07894/12/7"'
contains "the page asked for the parcel by number" "$(cat "$WORK/server.log")" 'GET /parcels/07894/12/7 200'
check "the open panel covers the middle row" "$(png_rgb "$WORK/open.png" 8 "$Y")" "$WHITE"
# The parcel is fitted into the map above the sheet: its red outline
# crosses the centre column there.
RED=$(red_above_sheet "$WORK/open.png")
if [ -n "$RED" ]; then ok "parcel 7's red outline is above the sheet (y = $((RED / 2)))"; else
    fail "no red outline in the centre column above the sheet"; fi

# A tap low on the map (parcel 7 at y = 700 of 844: the view is centred
# 155 m, 278 px, north of the tapped point) opens the sheet over that
# point: the map moves the parcel up above it.
parcel_center 9208 7 4 159
VIEW="$PLON,$PLAT,18"
parcel_center 9208 7 4 4
DOM=$(phone --wait "$IDENTIFIED" --wait "$SETTLED" --screenshot "$WORK/tap.png" "$BASE/#view=$VIEW&click=$PLON,$PLAT")
check "phone: a tap low on the map (cdp.py)" "$?" 0
contains "the tap identified parcel 7" "$DOM" 'data-parcel="7"'
RED=$(red_above_sheet "$WORK/tap.png")
if [ -n "$RED" ]; then ok "a parcel tapped low is moved above the sheet (its outline at y = $((RED / 2)))"; else
    fail "the parcel tapped low is not above the sheet that opened"; fi

DOM=$(phone --wait "$ERROR" "$BASE/#parcel=07894/12")
contains "a link without a parcel number: said" "$DOM" 'class="error">Liên kết không hợp lệ.*#parcel=COMMUNE/SHEET/PARCEL'
DOM=$(phone --wait "$ERROR" "$BASE/#parcel=07894/12/999")
contains "a link to no parcel: said" "$DOM" 'class="error">Không tìm thấy thửa 07894/12/999'

# A new hash is followed; a parcel's link sets the hash.
DOM=$(phone --wait "$IDENTIFIED" --eval "location.hash = '#parcel=07894/12/8'" \
    --wait "document.body.dataset.parcel === '8'" "$BASE/#parcel=07894/12/7")
check "a new #parcel= hash is followed (cdp.py)" "$?" 0
contains "parcel 8 shown after the hash changed" "$DOM" 'Thửa 8 · Tờ 12'
parcel_center 9208 9 4 4
# The status is written once the clipboard answers (a promise), after the
# hash: both are waited for (CI once read the page between the two).
DOM=$(phone --wait "document.body.dataset.parcel === '9'" --click '.share' \
    --wait "location.hash === '#parcel=07894/12/9'" \
    --wait "/Liên kết \\(link\\)|Đã chép liên kết/.test(document.getElementById('status').textContent)" \
    "$BASE/#click=$PLON,$PLAT")
check "a click on parcel 9, then on its link, sets the hash (cdp.py)" "$?" 0
contains "the status shows the link" "$DOM" "Liên kết \(link\): $BASE/#parcel=07894/12/9|Đã chép liên kết"

# --- Where am I --------------------------------------------------------------------
# The real navigator.geolocation: Chromium is given a position in parcel 7
# with a 15 m accuracy and the page's permission, then "Tôi ở đâu?" is
# clicked with the mouse.
parcel_center 9208 7
DOM=$(phone --permission granted --geo "$PLAT,$PLON,15" --click '#locate' \
    --wait 'document.body.dataset.state' --wait "$SETTLED" --screenshot "$WORK/geo.png" "$BASE/")
check "where am I (cdp.py)" "$?" 0
contains "the parcel under the position is identified" "$DOM" 'data-state="identified" data-parcel="7"'
contains "the status gives the accuracy" "$DOM" '1 thửa · ±15 m'
contains "the accuracy circle is drawn" "$DOM" '<path class="pdb-accuracy leaflet-interactive"'
contains "the lookup went through /parcels/at, as a click" "$(cat "$WORK/server.log")" 'GET /parcels/at\?lon&lat 200'
# The circle (15 m around the centre of parcel 7, a 20 m square) and the
# position's dot are drawn in blue on the centre column, above the sheet,
# which opened.
BLUE=$(seq 0 2 1686 | awk '{ print 390, $1 }' | pixels "$WORK/geo.png" |
    awk '$5 > 150 && $3 < 80 && $4 < 140 { print $2 }' | tr '\n' ' ')
if [ -n "$BLUE" ] && [ "$(awk '{ print $NF }' <<<"$BLUE")" -lt 760 ]; then
    ok "the circle and the dot are drawn above the sheet (blue at rows ${BLUE:0:60}...)"
else fail "no blue circle on the centre column above the sheet (rows: ${BLUE:-none})"; fi
check "the sheet opened below it" "$(png_rgb "$WORK/geo.png" 8 1500)" "$WHITE"

DOM=$(phone --permission denied --click '#locate' --wait "$ERROR" "$BASE/")
check "permission refused (cdp.py)" "$?" 0
contains "a refused permission: said" "$DOM" 'class="error">Trang không được phép dùng vị trí.*\(location permission refused\)'
lacks "no circle without a position" "$DOM" 'pdb-accuracy'
DOM=$(phone --permission granted --geo-unavailable --click '#locate' --wait "$ERROR" "$BASE/")
check "no position (cdp.py)" "$?" 0
contains "no position: said" "$DOM" 'class="error">Không xác định được vị trí \(position unavailable\)'

# --- A desktop -----------------------------------------------------------------------
# The layout of before: the panel (340 px, its left border #ccc) on the
# right, the map the rest.
DOM=$(cdp --device 1280,800,1,desktop --wait "$IDENTIFIED" --wait "$SETTLED" --screenshot "$WORK/desktop.png" \
    "$BASE/#parcel=07894/12/7")
check "desktop (cdp.py)" "$?" 0
check "desktop: the panel's left border at x = 940" "$(png_rgb "$WORK/desktop.png" 940 400)" "204 204 204"
check "desktop: the panel's white right of it" "$(png_rgb "$WORK/desktop.png" 944 400)" "$WHITE"
GOT=$(png_rgb "$WORK/desktop.png" 935 400)
check "desktop: the map left of it ($GOT)" "$(rgb_near "$GOT" "$BG")" yes
check "desktop: the panel starts with its title, no toggle above it" "$(png_rgb "$WORK/desktop.png" 1200 15)" "$WHITE"
RED=$(seq 0 2 799 | awk '{ print 470, $1 }' | pixels "$WORK/desktop.png" | awk '$3 > 180 && $4 < 80 && $5 < 80 { n++ } END { print n + 0 }')
if [ "$RED" -ge 2 ]; then ok "desktop: parcel 7 outlined in the middle of the map"; else fail "desktop: no red outline on the map's centre column"; fi

# --- Print ----------------------------------------------------------------------------
# Printed once the parcel is shown and every tile has come (cdp.py --pdf):
# Chromium's own --print-to-pdf prints when its virtual time runs out,
# which a slow server (the ThreadSanitizer build) can outlast.
cdp --wait "$IDENTIFIED" --wait "$SETTLED" --pdf "$WORK/print.pdf" "$BASE/#parcel=07894/12/7" >/dev/null
check "print (cdp.py)" "$?" 0
TEXT=$(pdftotext -layout "$WORK/print.pdf" - 2>/dev/null)
contains "printed: the parcel's number" "$TEXT" 'Thửa 7 · Tờ 12'
contains "printed: its table" "$TEXT" 'Loại đất +CLN'
lacks "printed: no where-am-I button" "$TEXT" 'Tôi ở đâu'
lacks "printed: no toggle" "$TEXT" 'Thông tin thửa|Thu gọn'
lacks "printed: no forms" "$TEXT" 'Tìm thửa|Đến toạ độ|Token|Quyền xem'
lacks "printed: no link control" "$TEXT" 'Liên kết'
IMAGES=$(pdfimages -list "$WORK/print.pdf" 2>/dev/null | awk '$3 == "image" && $4 == 256 { n++ } END { print n + 0 }')
if [ "$IMAGES" -ge 4 ]; then ok "printed: the map's tiles ($IMAGES)"; else fail "printed: $IMAGES map tiles in the PDF"; fi

lacks "nothing but the server was asked (no CDN)" "$(cat "$WORK/chromium.log")" 'ERR_NAME_NOT_RESOLVED.*(unpkg|cdn|googleapis)'
stop_server
finish
