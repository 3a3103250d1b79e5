#!/usr/bin/env bash
# Re-imports: a new survey supersedes the commune's parcels and keeps the
# old ones as history; the same file twice is skipped unless --force.
source "$(dirname "$0")/lib.sh"

new_store
base_phutho
grid_csv v1.csv 30 07894
to_format v1.csv v1.gpkg GPKG -a_srs EPSG:9208
version() { sql "SELECT value FROM meta WHERE key = 'data_version'"; }

import v1.gpkg
check "first import" "$RC" 0
contains "first import: overviews rebuilt" "$OUT" "overviews of 1 commune rebuilt"
check "first import: current" "$(sql "SELECT count(*) FROM parcels WHERE valid_to IS NULL")" 30
v_first=$(version)

# The same file again: recognised by its checksum and skipped.
import v1.gpkg
check "same file: exit status" "$RC" 0
contains "same file: skipped" "$OUT" "skipped: already imported in batch 1 \(same SHA-256\); --force"
check "same file: nothing superseded" "$(sql "SELECT count(*) FROM parcels WHERE valid_to IS NOT NULL")" 0
check "same file: data version unchanged" "$(version)" "$v_first"
cp v1.gpkg copy.gpkg
import copy.gpkg
contains "same bytes under another name: skipped" "$OUT" "skipped"

# --force imports it again: the first version becomes history.
import --force v1.gpkg
check "--force: exit status" "$RC" 0
check "--force: current" "$(sql "SELECT count(*) FROM parcels WHERE valid_to IS NULL")" 30
check "--force: history" "$(sql "SELECT count(*) FROM parcels WHERE valid_to IS NOT NULL")" 30

# A re-survey: 25 parcels, new owners.
grid_csv v2.csv 25 07894
sed -i 's/Nguyen Van/Tran Thi/' v2.csv
to_format v2.csv v2.gpkg GPKG -a_srs EPSG:9208
import --no-overviews v2.gpkg
check "re-survey: exit status" "$RC" 0
check "re-survey, --no-overviews: none rebuilt" "$(printf '%s' "$OUT" | grep -c 'overviews of')" 0
check "re-survey: current" "$(sql "SELECT count(*) FROM parcels WHERE valid_to IS NULL")" 25
check "re-survey: history kept" "$(sql "SELECT count(*) FROM parcels WHERE valid_to IS NOT NULL")" 60
check "re-survey: parcel 1's versions" "$(sql "SELECT count(*) || '/' || sum(CASE WHEN valid_to IS NULL THEN 1 ELSE 0 END) FROM parcels WHERE commune = '07894' AND sheet = '12' AND parcel = '1'")" "3/1"
check "re-survey: current owner" "$(sql "SELECT owner FROM parcels WHERE parcel = '1' AND valid_to IS NULL")" "Tran Thi 0"
check "re-survey: old owner in history" "$(sql "SELECT count(*) FROM parcels WHERE parcel = '1' AND valid_to IS NOT NULL AND owner = 'Nguyen Van 0'")" 2
hist=$("$PARCELDB" lookup --db "$DB" --id 07894/12/1 --history 2>&1 || true)
check "re-survey: lookup --history shows the three versions" "$(printf '%s' "$hist" | grep -o '"type":"Feature"' | wc -l)" 3
check "re-survey: commune row" "$(sql "SELECT parcels FROM communes WHERE code = '07894'")" 25
check "data version moved" "$([ "$(version)" -gt "$v_first" ] && echo yes)" yes
# (SQL that both stores read: tests/pg.cmake runs this on PostgreSQL too.)
check "batches recorded" "$(sql "SELECT count(*) || ' ' || min(status) || '-' || max(status) FROM import_batches")" "5 done-done"

# Another commune in the same run leaves 07894 alone.
base_vinhphuc
grid_csv other.csv 10 08707
to_format other.csv other.gpkg GPKG -a_srs EPSG:5897
import other.gpkg v1.gpkg
check "two files, one skipped: exit status" "$RC" 0
check "other commune: current" "$(sql "SELECT count(*) FROM parcels WHERE commune = '08707' AND valid_to IS NULL")" 10
check "first commune untouched" "$(sql "SELECT count(*) FROM parcels WHERE commune = '07894' AND valid_to IS NULL")" 25

finish
