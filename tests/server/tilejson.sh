#!/usr/bin/env bash
# Every TileJSON the server writes (GET /tiles.json, its only TileJSON)
# validates against the official TileJSON 3.0.0 JSON Schema (issue 12, item
# 5), a copy of which is under tests/schemas/tilejson/, with a real
# validator: Debian's python3-jsonschema. Each variant of the document is
# checked: a store with data, an empty store (world bounds), a --public-url,
# a client's Host header, a small --max-zoom.
source "$(dirname "$0")/lib.sh"

SCHEMA=$PDB_SOURCE_DIR/tests/schemas/tilejson/3.0.0/schema.json
# Debian's interpreter, where python3-jsonschema is installed (another
# python3 may come first in PATH).
PYTHON=/usr/bin/python3

# validate FILE...: prints each schema violation as "FILE: PATH: message";
# fails when there is any (or when the schema itself is not valid).
validate() {
    "$PYTHON" - "$SCHEMA" "$@" <<'EOF'
import json, sys
import jsonschema

with open(sys.argv[1]) as f:
    schema = json.load(f)
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
validator = cls(schema)
bad = 0
for path in sys.argv[2:]:
    with open(path) as f:
        doc = json.load(f)
    for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        print("%s: %s: %s" % (path, "/".join(map(str, e.absolute_path)) or "(document)", e.message))
        bad += 1
sys.exit(1 if bad else 0)
EOF
}

# tilejson NAME [curl options...]: GET /tiles.json, 200, saved as NAME.json,
# and valid.
tilejson() {
    local name=$1
    shift
    get /tiles.json "$@"
    check "$name: 200" "$STATUS" 200
    cp "$WORK/body" "$WORK/$name.json"
    local out
    if out=$(validate "$WORK/$name.json" 2>&1); then
        ok "$name: valid TileJSON 3.0.0"
    else
        fail "$name: not valid against the TileJSON 3.0.0 schema: $out"
    fi
}

[ -x "$PYTHON" ] && "$PYTHON" -c 'import jsonschema' 2>/dev/null ||
    { fail "Debian's python3-jsonschema is missing (scripts/install-deps.sh installs it)"; finish; exit; }

# The validator can fail: a document without the required vector_layers,
# and one with a wrong type, are both refused.
printf '{"tilejson":"3.0.0","tiles":["http://x/{z}/{x}/{y}.png"]}' >no_layers.json
out=$(validate no_layers.json 2>&1)
contains "the validator refuses a TileJSON without vector_layers" "$out" "'vector_layers' is a required property"
printf '{"tilejson":"3.0.0","tiles":["t"],"vector_layers":[],"minzoom":"0"}' >bad_zoom.json
out=$(validate bad_zoom.json 2>&1)
contains "the validator refuses a string minzoom" "$out" "minzoom: '0' is not of type 'integer'"

make_store || exit 1
start_server || exit 1
tilejson with-data
contains "with-data: raster tiles, an empty vector_layers" "$BODY" '"vector_layers":\[\]'
tilejson host-header -H "Host: map.example.vn:8443"
contains "host-header: the tile URL on that host" "$BODY" '"tiles":\["http://map.example.vn:8443/tiles/'
stop_server

start_server --public-url https://tiles.example.vn/ --max-zoom 5 || exit 1
tilejson public-url
contains "public-url: the tile URL under it" "$BODY" '"tiles":\["https://tiles.example.vn/tiles/\{z\}/\{x\}/\{y\}.png"\]'
contains "public-url: maxzoom 5" "$BODY" '"maxzoom":5'
stop_server

new_db empty
"$PARCELDB" init --db "$DB" >/dev/null || fail "parceldb init"
start_server || exit 1
tilejson empty-store
stop_server

finish
