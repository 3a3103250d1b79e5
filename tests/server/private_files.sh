#!/usr/bin/env bash
# A server started as root with --user nobody reads everything it needs to
# start (style, demo page, token file) before it drops root: files in a
# directory only root can reach (a 0700 checkout, root's home) still give
# tiles drawn with that style, the page, and the owner to a token. On
# SIGHUP, as nobody, it cannot read them again: it keeps the ones it has,
# says so in its log, and keeps serving. With no style file anywhere (the
# source tree's styles/ hidden in a mount namespace) it draws with the
# style built into the binary. Skips (77) when not root.
source "$(dirname "$0")/lib.sh"

needs_root_and_nobody

# The store lives where nobody can read it (it is opened as nobody); the
# files under test live in $WORK/private, 0700 and root's.
make_store || exit 1
public_store || exit 1

PRIV=$WORK/private
mkdir -m 0700 "$PRIV" "$PRIV/web"
chmod 0700 "$WORK"
# The private style paints ONT parcels pure green (the default: #ffd0ff).
sed 's/"ONT", "#[0-9a-fA-F]*"/"ONT", "#00ff00"/' "$PDB_SOURCE_DIR/styles/landuse.json" >"$PRIV/style.json"
echo '<!doctype html><title>the private page 4711</title>' >"$PRIV/web/index.html"
TOKEN=private-files-token-0123456789
echo "$TOKEN" >"$PRIV/tokens"
chmod 0600 "$PRIV/tokens" "$PRIV/style.json"
if setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --clear-groups cat "$PRIV/style.json" \
    >/dev/null 2>&1; then
    fail "nobody can read the private style: the test would prove nothing"
else ok "nobody cannot read the private files"; fi

start_nobody() { start_as --user nobody --audit-db "$AUDIT_DB" "$@"; }

# The middle of parcel 1 (ONT) at z17: the tile and the pixel in it.
base_phutho
parcel_center 9208 1
read -r TILE PX PY < <(awk -v lon="$PLON" -v lat="$PLAT" 'BEGIN {
    z = 17; n = 2 ^ z; pi = atan2(0, -1); r = lat * pi / 180
    fx = (lon + 180) / 360 * n; fy = (1 - log(sin(r) / cos(r) + 1 / cos(r)) / pi) / 2 * n
    x = int(fx); y = int(fy)
    printf "/tiles/%d/%d/%d.png %d %d\n", z, x, y, int((fx - x) * 256), int((fy - y) * 256) }')
# parcel_pixel: "R G B" of parcel 1 in the tile the server serves now
# (palette PNGs expanded by gdal_translate first).
parcel_pixel() {
    get "$TILE"
    [ "$STATUS" = 200 ] || { echo "status $STATUS"; return; }
    cp "$WORK/body" "$WORK/tile.png"
    gdal_translate -q -expand rgba "$WORK/tile.png" "$WORK/tile.tif" 2>/dev/null ||
        gdal_translate -q "$WORK/tile.png" "$WORK/tile.tif"
    gdallocationinfo -valonly "$WORK/tile.tif" "$PX" "$PY" | head -3 | xargs
}
# serves_private WHEN: the private style's pixels, the page, the owner.
serves_private() {
    check "$1: the tile is drawn with the private style" "$(parcel_pixel)" "0 255 0"
    get /
    contains "$1: the private demo page" "$BODY" 'the private page 4711'
    get /parcels/07894/12/1 -H "Authorization: Bearer $TOKEN"
    contains "$1: the token read from the private file unlocks the owner" "$BODY" \
        '"owner":"Nguyen Van Chu 1"'
}

start_nobody --style "$PRIV/style.json" --web "$PRIV/web" --tokens "$PRIV/tokens" || exit 1
check "runs as nobody" "$(awk '/^Uid:/ {print $2,$3,$4,$5}' "/proc/$SERVER_PID/status")" \
    "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID"
serves_private "started"

# SIGHUP, the files now unreadable even by their directory's owner's group:
# the old ones are kept, one line each says so, and serving goes on.
chmod 0000 "$PRIV/style.json" "$PRIV/tokens" "$PRIV/web"
hup_and_wait
log=$(cat "$WORK/server.log")
contains "SIGHUP: the style kept, said once" "$log" \
    "cannot read the style $PRIV/style.json \(Permission denied\): keeping the one loaded before"
contains "SIGHUP: the tokens kept, said once" "$log" \
    "cannot read the token file $PRIV/tokens \(Permission denied\): keeping the one loaded before"
contains "SIGHUP: the page kept, said once" "$log" \
    "cannot read the demo page's directory $PRIV/web \(Permission denied\): keeping the one loaded before"
contains "SIGHUP: the reload goes on" "$log" 'reloaded: style [0-9a-f]+, 1 token\(s\), 1 demo file'
serves_private "after SIGHUP"
stop_server
chmod 0600 "$PRIV/style.json" "$PRIV/tokens"
chmod 0700 "$PRIV/web"

# A store nobody cannot read: the start stops with one line that says why.
# (LeakSanitizer cannot inspect a process whose effective uid changed:
# no leak check for this one exit in sanitizer builds.)
cp "$DB" "$PRIV/parcels.sqlite"
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    "$PARCELDB" serve --db "$PRIV/parcels.sqlite" --listen 127.0.0.1:0 --user nobody \
    >/dev/null 2>"$WORK/refused.err"
check "a store nobody cannot read: exit status" "$?" 1
check "a store nobody cannot read: one line" "$(wc -l <"$WORK/refused.err")" 1
contains "a store nobody cannot read: says so" "$(cat "$WORK/refused.err")" \
    "as user nobody, the store cannot be opened: .*Permission denied \\(that user must be able to read it"

# No style file anywhere: the default style's directories hidden by empty
# ones in a private mount namespace; the built-in style draws the tiles.
EMPTY=$(mktemp -d "$PUB/empty.XXXXXX")
hide="mount --bind '$EMPTY' '$PDB_SOURCE_DIR/styles'"
for d in /usr/local/share/parceldb/styles /usr/share/parceldb/styles; do
    [ -d "$d" ] && hide="$hide && mount --bind '$EMPTY' '$d'"
done
if ! unshare -m --propagation private sh -c "$hide && ! test -e '$PDB_SOURCE_DIR/styles/landuse.json'"; then
    fail "no mount namespace to hide the styles in"
else
    SERVE_WRAP=(env -u PARCELDB_STYLE_DIR unshare -m --propagation private sh -c "$hide && exec \"\$0\" \"\$@\"")
    start_nobody || exit 1
    contains "no style file: said at start" "$(cat "$WORK/server.log")" \
        'no style file found: using the built-in default style'
    check "no style file: the built-in style's colour for ONT (#ffd0ff)" "$(parcel_pixel)" "255 208 255"
    stop_server
    # seed, in the same place, says so as well (it used to fall back silently).
    seed_out=$("${SERVE_WRAP[@]}" "$PARCELDB" seed --db "$DB" --cache "$WORK/seed-cache" --zoom 10-10 2>&1)
    check "no style file: seed exit 0" "$?" 0
    contains "no style file: seed says so" "$seed_out" \
        'parceldb seed: no style file found: using the built-in default style'
fi
finish
