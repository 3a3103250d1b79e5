# The importer's tests (issue 3): unit tests of its pure functions, and
# scripts that make fixtures with GDAL's and PROJ's tools and run
# `parceldb import` as a user would.
pdb_unit_test(test_import SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_import.c LIBS pdb_import)

foreach(script lib_contains formats crs fields encoding defects reimport kill synth empty search sweep
        sheets lineage national lineage_national)
    pdb_script_test(import_${script} ${CMAKE_CURRENT_SOURCE_DIR}/import/${script}.sh)
endforeach()
set_tests_properties(import_kill import_synth PROPERTIES TIMEOUT 900)
# The DGN v7 reader of the sheet import (import/dgn7.c) against GDAL's
# driver on the generator's sheets, and its errors on hand-cut files.
add_executable(dgn7_dump ${CMAKE_CURRENT_SOURCE_DIR}/unit/dgn7_dump.c)
target_link_libraries(dgn7_dump PRIVATE pdb_import pdb_build_flags)
pdb_script_test(import_dgn7 ${CMAKE_CURRENT_SOURCE_DIR}/import/dgn7.sh $<TARGET_FILE:dgn7_dump>)
# The sweep: about a minute in the plain build, several under ASan.
set_tests_properties(import_sweep PROPERTIES TIMEOUT 900 LABELS import)
# The whole chain (import, lookup, qa, render, export) on a province made by
# a second, independent generator (tests/othergen/othergen.py, not
# pdb-synth), four seeds: well under two minutes in the plain build.
pdb_script_test(import_othergen ${CMAKE_CURRENT_SOURCE_DIR}/othergen/chain.sh)
set_tests_properties(import_othergen PROPERTIES TIMEOUT 900 LABELS import)
