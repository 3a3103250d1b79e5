#!/usr/bin/env bash
# The national attribute set over HTTP (issue 16; docs/lookup.md): a
# survey with previous numbers, record dates and certificate serials
# (SoHieuGCN), made by ogr2ogr. Lookups at a point and by number (curl)
# show the previous numbers and dates to everyone; the certificate only
# with a personal token, never with none or a read token, never in WMS
# GetFeatureInfo or OGC API items without one; each answer that shows it
# is a row of the audit table, as owner names are.
# Runs on both stores (server_national_pg: tests/pg.cmake).
source "$(dirname "$0")/lib.sh"

new_db || exit 1
"$PARCELDB" init --db "$DB" >/dev/null || { fail "parceldb init"; exit 1; }
base_phutho
awk -v bx="$BX" -v by="$BY" 'BEGIN {
    print "WKT,MaXa,SoHieuToBanDo,SoThuTuThua,SoHieuToBanDoCu,SoThuTuThuaCu,LoaiDat,DienTichPhapLy,TenChu,SoHieuGCN,ThoiDiemBatDau"
    for (i = 0; i < 4; i++) {
        x = bx + i * 25
        printf "\"POLYGON ((%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f,%.3f %.3f))\",07894,12,%d,3,%d,ONT,400,Nguyen Van %d,CS 0%d777,2016-02-0%d\n",
            x, by, x + 20, by, x + 20, by + 20, x, by + 20, x, by, i + 1, i + 41, i, i, i + 1
    }
}' >nat.csv
to_gpkg nat.csv nat.gpkg 9208
"$PARCELDB" import --quiet --db "$DB" nat.gpkg >import.log 2>&1 || { fail "import: $(cat import.log)"; exit 1; }

TOKEN=officer-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
READ=map-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s front-desk\n%s map-app role=read\n' "$TOKEN" "$READ" >tokens
start_server --tokens tokens || exit 1
audits() { store_sql "$DB" "SELECT count(*) FROM audit_log"; }
A0=$(audits)

get /parcels/07894/12/2
check "by number: 200" "$STATUS" 200
contains "by number: previous numbers and start date" "$BODY" \
    '"prev_sheet":"3","prev_parcel":"42","record_start":"2016-02-02"'
lacks "by number, no token: no certificate" "$BODY" 'certificate|CS 0[0-9]777'
get /parcels/07894/12/2 -H "Authorization: Bearer $READ"
lacks "by number, read token: no certificate" "$BODY" 'certificate|CS 0[0-9]777'
check "public answers are not audited" "$(audits)" "$A0"

get /parcels/07894/12/2 -H "Authorization: Bearer $TOKEN"
contains "by number, personal token: the certificate" "$BODY" '"certificate":"CS 01777"'
check "that answer is audited" "$(audits)" $((A0 + 1))

parcel_center 9208 2 # parcel 2 of the row (lib.sh: 25 m apart)
get "/parcels/at?lon=$PLON&lat=$PLAT"
contains "at a point: parcel 2 with its previous number" "$BODY" '"parcel":"2".*"prev_parcel":"42"'
lacks "at a point, no token: no certificate" "$BODY" 'certificate|CS 0[0-9]777'
get "/parcels/at?lon=$PLON&lat=$PLAT" -H "Authorization: Bearer $TOKEN"
contains "at a point, personal token: the certificate" "$BODY" '"certificate":"CS 01777"'
check "audited too" "$(audits)" $((A0 + 2))

get "/ogcapi/collections/parcels/items?limit=10"
check "OGC API items: 200" "$STATUS" 200
check "OGC API items: the four parcels" "$(jq '.features | length' <<<"$BODY")" 4
lacks "OGC API items: no certificate" "$BODY" 'certificate|CS 0[0-9]777'
get "/wms?SERVICE=WMS&VERSION=1.1.1&REQUEST=GetFeatureInfo&LAYERS=parcels&QUERY_LAYERS=parcels&SRS=EPSG:4326&BBOX=$(awk -v x="$PLON" -v y="$PLAT" 'BEGIN{printf "%.7f,%.7f,%.7f,%.7f", x-0.0005, y-0.0005, x+0.0005, y+0.0005}')&WIDTH=101&HEIGHT=101&X=50&Y=50&INFO_FORMAT=application/json&FORMAT=image/png&STYLES="
check "WMS GetFeatureInfo: 200" "$STATUS" 200
contains "WMS GetFeatureInfo: parcel 2" "$BODY" "\"parcel\":\"2\""
lacks "WMS GetFeatureInfo: no certificate" "$BODY" 'certificate|CS 0[0-9]777'
lacks "the certificate is not in the server log" "$(cat "$WORK/server.log")" 'CS 0[0-9]777'

stop_server
finish
