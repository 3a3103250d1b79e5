# The WMS at /wms (issue 13, tests/server/wms.sh): real clients (GDAL's
# WMS driver, OWSLib, xmllint against the official schemas), one CTest
# test per case; those that read the store run on PostgreSQL too.
if(NOT TARGET pdb_server)
    return()
endif()
foreach(case caps getmap info errors limits national)
    server_test(server_wms_${case} wms.sh ${case})
endforeach()
# The national attribute set, on a store imported from pdb-synth --national.
set_property(TEST server_wms_national APPEND PROPERTY ENVIRONMENT "PDB_SYNTH=$<TARGET_FILE:pdb-synth>")
# GetMap in a TM-3 zone from the survey geometry, edges on pixel corners.
server_test(server_wms_tm3 wms_tm3.sh)
# Headless QGIS (Debian's python3-qgis, offscreen) adds /wms and /ogcapi.
server_test(server_qgis qgis.sh)
if(COMMAND pdb_on_pg)
    foreach(case caps getmap info national)
        server_test(server_wms_${case}_pg wms.sh ${case})
        pdb_on_pg(server_wms_${case}_pg)
    endforeach()
    set_property(TEST server_wms_national_pg APPEND PROPERTY ENVIRONMENT
                 "PDB_SYNTH=$<TARGET_FILE:pdb-synth>")
    server_test(server_wms_tm3_pg wms_tm3.sh)
    pdb_on_pg(server_wms_tm3_pg)
endif()
