# The engine: codecs, store, writer, queries, GeoJSON.
pdb_unit_test(test_wkb SOURCES unit/test_wkb.c LIBS GDAL::GDAL)
pdb_unit_test(test_store SOURCES unit/test_store.c lib/fixture.c LIBS GDAL::GDAL)
find_package(Threads REQUIRED)
pdb_unit_test(test_ptree SOURCES unit/test_ptree.c)
pdb_unit_test(test_lookup SOURCES unit/test_lookup.c LIBS Threads::Threads)
set_tests_properties(test_lookup PROPERTIES TIMEOUT 600)
