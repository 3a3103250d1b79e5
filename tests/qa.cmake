# parceldb qa (issue 16, quality checks; docs/qa.md): planted errors found
# on generated communes, clean communes clean, the GeoPackage report read by
# QGIS against Shapely's own count, bad input refused in one line.
pdb_script_test(qa_checks ${CMAKE_CURRENT_SOURCE_DIR}/qa/qa.sh)
set_property(TEST qa_checks APPEND PROPERTY ENVIRONMENT "PDB_SYNTH=$<TARGET_FILE:pdb-synth>")
# The same on the PostgreSQL store (tests/pg.cmake): the checks read
# through the store's public calls, so they must answer the same there.
if(COMMAND pdb_on_pg)
    pdb_script_test(qa_checks_pg ${CMAKE_CURRENT_SOURCE_DIR}/qa/qa.sh)
    set_property(TEST qa_checks_pg APPEND PROPERTY ENVIRONMENT "PDB_SYNTH=$<TARGET_FILE:pdb-synth>")
    set_tests_properties(qa_checks_pg PROPERTIES TIMEOUT 600)
    pdb_on_pg(qa_checks_pg)
endif()
