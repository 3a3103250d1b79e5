# Smoke runs of the benchmarks (seconds, a few communes), so that the
# benchmark scripts cannot rot. The real runs are not part of CI.
pdb_script_test(bench_import_smoke ${PROJECT_SOURCE_DIR}/bench/import/run.sh --smoke)
set_tests_properties(bench_import_smoke PROPERTIES LABELS bench TIMEOUT 300)
