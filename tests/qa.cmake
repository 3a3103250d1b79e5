# parceldb qa (issue 16, quality checks; docs/qa.md): planted errors found
# on generated communes, clean communes clean, the GeoPackage report read by
# QGIS against Shapely's own count, bad input refused in one line.
pdb_script_test(qa_checks ${CMAKE_CURRENT_SOURCE_DIR}/qa/qa.sh)
set_property(TEST qa_checks APPEND PROPERTY ENVIRONMENT "PDB_SYNTH=$<TARGET_FILE:pdb-synth>")
