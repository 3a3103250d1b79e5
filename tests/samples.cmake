# Tests of samples/: the Vietnamese text codecs (import/vnenc.c) and the
# pdb-synth generator, whose files GDAL's own ogrinfo must read as the
# manifests describe them.
pdb_unit_test(test_vnenc SOURCES unit/test_vnenc.c LIBS pdb_vnenc)
set_tests_properties(test_vnenc PROPERTIES LABELS "unit;samples")

pdb_script_test(synth_formats ${CMAKE_CURRENT_SOURCE_DIR}/samples/synth_formats.sh)
set_property(TEST synth_formats APPEND PROPERTY ENVIRONMENT "PDB_SYNTH=$<TARGET_FILE:pdb-synth>")
set_tests_properties(synth_formats PROPERTIES LABELS "samples" TIMEOUT 300)

pdb_script_test(sample_uptodate ${CMAKE_CURRENT_SOURCE_DIR}/samples/sample_uptodate.sh)
set_property(TEST sample_uptodate APPEND PROPERTY ENVIRONMENT "PDB_SYNTH=$<TARGET_FILE:pdb-synth>")
set_tests_properties(sample_uptodate PROPERTIES LABELS "samples")
