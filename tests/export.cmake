# parceldb export to GIS files (issue 15, docs/export.md): import(export(store))
# equals the store for GeoPackage, Shapefile and GeoJSON, survey coordinates
# bit-exact; ogrinfo and QGIS open the files; bad input refused in one line.
pdb_script_test(export_roundtrip ${CMAKE_CURRENT_SOURCE_DIR}/export/roundtrip.sh)
set_tests_properties(export_roundtrip PROPERTIES LABELS export TIMEOUT 900)
# GET /export with curl and ogrinfo: tokens, audit, formats, bad parameters.
pdb_script_test(export_http ${CMAKE_CURRENT_SOURCE_DIR}/export/http.sh)
set_tests_properties(export_http PROPERTIES LABELS export TIMEOUT 300)
# DGN and DXF line-and-label sheets read back by the importer.
pdb_script_test(export_sheets ${CMAKE_CURRENT_SOURCE_DIR}/export/sheets.sh)
set_tests_properties(export_sheets PROPERTIES LABELS export TIMEOUT 600)
