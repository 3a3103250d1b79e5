#!/usr/bin/env bash
# Bad input to the parceldb command: each gets a one-line error and a
# non-zero exit, never a crash or a hang.
. "$(dirname "$0")/lib.sh"
P=$PARCELDB
DB=$TMP/parcels.sqlite

expect_ok $P init --db "$DB"
expect_error "already exists" $P init --db "$DB"

# Stores that are not stores.
expect_error "No such file" $P info --db "$TMP/missing.sqlite"
echo "just text" >"$TMP/text.sqlite"
expect_error "not a parceldb store" $P info --db "$TMP/text.sqlite"
sqlite3 "$TMP/other.sqlite" "CREATE TABLE t(x)"
expect_error "another application" $P lookup --db "$TMP/other.sqlite" --lon 105.4 --lat 21.3
expect_error "not a parceldb store" $P info --db "$TMP"
head -c 8192 /dev/urandom >"$TMP/noise.sqlite"
expect_error "not a parceldb store" $P info --db "$TMP/noise.sqlite"

# Coordinates and CRSs.
expect_error "EPSG:32648|not registered|unknown" $P lookup --db "$DB" --srs EPSG:32648 --en 567440,2358740
expect_error "EPSG|CRS|not registered|unknown" $P lookup --db "$DB" --srs EPSG:99999 --en 567440,2358740
expect_error "longitude|outside" $P lookup --db "$DB" --lon 200 --lat 21
expect_error "swapped|northing|vn-xy" $P lookup --db "$DB" --srs EPSG:9208 --en 2358740.139,567440.313
expect_error "degrees" $P lookup --db "$DB" --srs EPSG:9208 --en 105.40,21.32
expect_error "outside|Vietnam|zone" $P lookup --db "$DB" --srs EPSG:9208 --en 567440,5000000
expect_error "numbers" $P lookup --db "$DB" --lon abc --lat 21
expect_error "two numbers" $P lookup --db "$DB" --srs 104-45 --en 567440

# Identities.
expect_error "malformed --id" $P lookup --db "$DB" --id 07894/12
expect_error "malformed --id" $P lookup --db "$DB" --id 07894//5
expect_error "malformed --id" $P lookup --db "$DB" --id "07894/1/2/3"
expect_error "malformed --id" $P lookup --db "$DB" --id "$(printf 'x%.0s' $(seq 1 200))/1/2"

# Usage.
expect_error "exactly one" $P lookup --db "$DB"
expect_error "unknown or incomplete option" $P lookup --db "$DB" --bogus
expect_error "unknown command" $P frobnicate
expect_error "need --srs" $P lookup --db "$DB" --en 1,2

# Points files.
expect_error "cannot open" $P lookup --db "$DB" --points "$TMP/none.csv"
: >"$TMP/empty.csv"
expect_error "empty file" $P lookup --db "$DB" --points "$TMP/empty.csv"
printf 'a,b,c\n1,2,3\n' >"$TMP/nohdr.csv"
expect_error "columns id, lon and lat" $P lookup --db "$DB" --points "$TMP/nohdr.csv"
printf 'id,lon,lat\np1,105.4,21.3\np2,abc,21.3\n' >"$TMP/bad.csv"
expect_error "line 3" $P lookup --db "$DB" --points "$TMP/bad.csv"
printf 'id,lon,lat\np1,105.4\n' >"$TMP/short.csv"
expect_error "line 2 has 2 fields" $P lookup --db "$DB" --points "$TMP/short.csv"
printf 'id,lon,lat\n"p1,105.4,21.3\n' >"$TMP/quote.csv"
expect_error "not closed" $P lookup --db "$DB" --points "$TMP/quote.csv"
{ printf 'id,lon,lat\np1,'; head -c 100000 /dev/zero | tr '\0' '1'; printf ',21\n'; } >"$TMP/long.csv"
expect_error "longer than 65536" $P lookup --db "$DB" --points "$TMP/long.csv"
printf 'id,lon,lat\np1,105.4,95\n' >"$TMP/lat.csv"
expect_error "latitude" $P lookup --db "$DB" --points "$TMP/lat.csv"

# A good points file against an empty store: every point answered, empty.
printf '\xef\xbb\xbfname,ID,Lon,lat\nx,"a,1",105.40,21.32\r\ny,b2,105.5,21.1\r\n\r\n' >"$TMP/ok.csv"
expect_ok $P lookup --db "$DB" --points "$TMP/ok.csv"
expect_eq "answer to a points file" "$(cat "$TMP/out")" "$(printf 'id,commune,sheet,parcel\n"a,1",,,\nb2,,,')"

finish
