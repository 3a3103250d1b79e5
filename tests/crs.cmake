# Coordinates (engine/src/crs.c) and the GEOS geometry check (geom_check.c).
# test_crs runs cs2cs, projinfo and sqlite3: the references are PROJ's own
# tools, never numbers typed by hand.
pdb_unit_test(test_crs SOURCES unit/test_crs.c)
pdb_unit_test(test_geom_check SOURCES unit/test_geom_check.c)
set_tests_properties(test_crs test_geom_check PROPERTIES LABELS "unit;crs")
