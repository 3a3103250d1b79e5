#!/usr/bin/env bash
# A password in a PostgreSQL location is never printed: not by init,
# info, import, lookup, backup or serve, on stdout, stderr or the server's
# log, whether the command succeeds or fails (docs/postgresql.md: the
# location is shown without it). The test cluster trusts its socket, so a
# password there is accepted and ignored: the commands run as they would
# with a real one.
. "$(dirname "$0")/../cli/lib.sh"
: "${PDB_BINARY_DIR:?}"
[ "$PDB_TEST_STORE" = pg ] || { echo "pg_password_hidden runs on the test cluster (PDB_TEST_STORE=pg)" >&2; exit 1; }
P=$PARCELDB
SECRET=Pw$$secret$RANDOM
export CPL_LOG=/dev/null

loc=$(pg_new_db pw) || { fail "a database"; finish; exit 1; }
loc="$loc&password=$SECRET"
missing="postgresql:///nosuchdb_$$?host=$PDB_PG_DIR&port=$PDB_PG_PORT&user=postgres&password=$SECRET"
expect_ok "$PDB_BINARY_DIR/samples/pdb-synth" --out "$TMP/src" --communes 07894 \
    --parcels-per-commune 20 --defects none --quiet || { finish; exit 1; }

# hidden WHAT CMD...: runs CMD (whatever its exit status) and checks that
# nothing it printed holds the password.
hidden() {
    local what=$1
    shift
    checks=$((checks + 1))
    "$@" >"$TMP/out" 2>"$TMP/err"
    if grep -qF -- "$SECRET" "$TMP/out" "$TMP/err"; then
        fail "$what prints the password: $(grep -hF -- "$SECRET" "$TMP/out" "$TMP/err" | head -c 300)"
    fi
}

hidden "init" "$P" init --db "$loc"
hidden "import" "$P" import --db "$loc" "$TMP/src"
hidden "info" "$P" info --db "$loc" --communes
hidden "lookup" "$P" lookup --db "$loc" --lon 105.4 --lat 21.3
hidden "backup" "$P" backup --db "$loc" -o "$TMP/pw.dump"
hidden "init on a store" "$P" init --db "$loc"
hidden "info on a missing database" "$P" info --db "$missing"
hidden "import into a missing database" "$P" import --db "$missing" "$TMP/src"

# The server: its log while it runs and stops.
checks=$((checks + 1))
"$P" serve --db "$loc" --listen 127.0.0.1:0 --port-file "$TMP/port" $([ "$(id -u)" -eq 0 ] && echo --allow-root) \
    >"$TMP/serve.out" 2>"$TMP/serve.log" &
pid=$!
for _ in $(seq 1 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
[ -s "$TMP/port" ] && curl -s --max-time 10 "http://127.0.0.1:$(cat "$TMP/port")/health" >/dev/null
kill -TERM "$pid" 2>/dev/null
wait "$pid"
if grep -qF -- "$SECRET" "$TMP/serve.out" "$TMP/serve.log"; then
    fail "serve prints the password: $(grep -hF -- "$SECRET" "$TMP/serve.out" "$TMP/serve.log" | head -c 300)"
fi

finish
