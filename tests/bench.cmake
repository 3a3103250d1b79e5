# Smoke runs of the benchmarks (seconds, a few communes), so that the
# benchmark scripts cannot rot. The real runs are not part of CI
# (bench/run-all.sh). The lookup smoke starts its own PostgreSQL and fails,
# rather than skips, when PostgreSQL, PostGIS or libpq is missing; the
# server smoke needs wrk and nginx (scripts/install-deps.sh installs them all).
pdb_script_test(bench_import_smoke ${PROJECT_SOURCE_DIR}/bench/import/run.sh --smoke)
set_tests_properties(bench_import_smoke PROPERTIES LABELS bench TIMEOUT 300)
pdb_script_test(bench_lookup_smoke ${PROJECT_SOURCE_DIR}/bench/lookup/run.sh --smoke)
set_tests_properties(bench_lookup_smoke PROPERTIES LABELS bench TIMEOUT 600)
pdb_script_test(bench_server_smoke ${PROJECT_SOURCE_DIR}/bench/server/run.sh --smoke)
set_tests_properties(bench_server_smoke PROPERTIES LABELS bench TIMEOUT 600)
# The PostGIS store against its anchors (import vs ogr2ogr -f PostgreSQL,
# lookups vs the PostGIS SQL anchor, tiles vs the SQLite store, compared
# byte for byte): its own PostgreSQL, as the lookup smoke.
pdb_script_test(bench_pg_smoke ${PROJECT_SOURCE_DIR}/bench/pg/run.sh --smoke)
set_tests_properties(bench_pg_smoke PROPERTIES LABELS "bench;pg" TIMEOUT 600)
# The national-scale run (issue 17): two made-up provinces of three
# communes into PostGIS through `parceldb init --communes`; its own
# PostgreSQL, as the lookup smoke.
pdb_script_test(bench_national_smoke ${PROJECT_SOURCE_DIR}/bench/national/run.sh --smoke)
set_tests_properties(bench_national_smoke PROPERTIES LABELS "bench;pg" TIMEOUT 600)
# WMS GetMap and OGC API items against MapServer 8 as FastCGI behind nginx
# (issue 13): needs mapserver-bin, spawn-fcgi, nginx and wrk
# (scripts/install-deps.sh); fails, does not skip, without them.
pdb_script_test(bench_ogc_smoke ${PROJECT_SOURCE_DIR}/bench/ogc/run.sh --smoke)
set_tests_properties(bench_ogc_smoke PROPERTIES LABELS bench TIMEOUT 600)
# Vector tiles against PostGIS ST_AsMVT and ogr2ogr -f MVT (issue 18): its
# own PostgreSQL, as the lookup smoke; every tile decoded by GDAL's MVT
# driver and the z16 parcels compared with PostGIS's before timing.
pdb_script_test(bench_mvt_smoke ${PROJECT_SOURCE_DIR}/bench/mvt/run.sh --smoke)
set_tests_properties(bench_mvt_smoke PROPERTIES LABELS "bench;pg" TIMEOUT 600)
# parceldb qa against the same overlap check in PostGIS (issue 16): its own
# PostgreSQL; the overlapping pairs of both must agree before timing.
pdb_script_test(bench_qa_smoke ${PROJECT_SOURCE_DIR}/bench/qa/run.sh --smoke)
set_tests_properties(bench_qa_smoke PROPERTIES LABELS "bench;pg" TIMEOUT 600)

# Survey sheets (issue 15): a commune as DGN and DXF line-and-label sheets
# against the same commune as a Shapefile; the parcels stored must differ
# by exactly the planted label defects before timing.
pdb_script_test(bench_sheets_smoke ${PROJECT_SOURCE_DIR}/bench/sheets/run.sh --smoke)
set_tests_properties(bench_sheets_smoke PROPERTIES LABELS "bench;import" TIMEOUT 300)

# Lineage of a re-surveyed commune (issue 16): a commune of 600 parcels and
# its pdb-synth re-survey; the re-import's change summary must be the
# ground truth's before the times are written (no timed assertion).
pdb_script_test(bench_lineage_smoke ${PROJECT_SOURCE_DIR}/bench/lineage/run.sh --smoke)
set_tests_properties(bench_lineage_smoke PROPERTIES LABELS bench TIMEOUT 600)

# parceldb export --format GPKG against ogr2ogr -f GPKG from its own
# SpatiaLite store (issue 15): both must write every parcel before timing.
pdb_script_test(bench_export_smoke ${PROJECT_SOURCE_DIR}/bench/export/run.sh --smoke)
set_tests_properties(bench_export_smoke PROPERTIES LABELS "bench;export" TIMEOUT 600)
