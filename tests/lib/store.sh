# store.sh: which store a script test makes. Sourced, not run; needs
# PDB_SOURCE_DIR.
#
# PDB_TEST_STORE=sqlite (the default): a file; PDB_TEST_STORE=pg: a new
# database of the suite's PostgreSQL cluster (tests/lib/pg.sh).
# tests/pg.cmake registers the tests that make sense on both stores a
# second time, named *_pg, with PDB_TEST_STORE=pg and the cluster's
# fixture. What a test checks through the parceldb command or HTTP is the
# same on both; what it reads from the store itself goes through
# store_sql.
PDB_TEST_STORE=${PDB_TEST_STORE:-sqlite}
case $PDB_TEST_STORE in
sqlite) ;;
pg)
    source "$PDB_SOURCE_DIR/tests/lib/pg.sh"
    pg_attach || exit 1
    ;;
*) echo "PDB_TEST_STORE=$PDB_TEST_STORE: want sqlite or pg" >&2 && exit 1 ;;
esac

# store_location DIR NAME: prints the location of a new, empty place for
# a store (not initialised): DIR/NAME.sqlite (removed first, with its WAL
# and shared memory files), or a new PostGIS database.
store_location() {
    if [ "$PDB_TEST_STORE" = pg ]; then
        pg_new_db "$2"
    else
        rm -f "$1/$2.sqlite" "$1/$2.sqlite-wal" "$1/$2.sqlite-shm"
        echo "$1/$2.sqlite"
    fi
}

# store_sql LOCATION SQL: runs SQL on a store, one row a line, columns
# separated by |: sqlite3 on a file; psql on PostgreSQL, with the store's
# schema first on the search path, so that the same unqualified SQL
# (where it is valid in both dialects) reads both stores.
store_sql() {
    case $1 in
    postgresql://* | postgres://* | *=*)
        PGOPTIONS='-c search_path=parceldb,public' psql -X -q -At -v ON_ERROR_STOP=1 "$1" -c "$2" ;;
    *) sqlite3 -batch -noheader "$1" "$2" ;;
    esac
}
