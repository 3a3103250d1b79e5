/*
 * fuzz_wms: the WMS request parser (tiler/server/wms_parse.c) on arbitrary
 * bytes: the input is the query string of a /wms request (after "/wms?"),
 * parsed by the server's request parser and then by pdb_srv_wms_parse
 * with a size limit taken from the last byte. Besides the sanitizers it
 * checks the parser's promises: on success a size within the limit, a
 * finite, ordered box, a known CRS, known layers, STYLES entries inside the
 * request, a point inside the image; on failure a NUL-terminated code and
 * reason, and no image size outside the limit.
 */
#include "wms.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_wms: check failed: %s (line %d)\n", #cond, __LINE__);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pdb_srv_request req; /* 4 KB: kept off the stack */
    char err[256], code[PDB_SRV_WMS_CODE_MAX];
    pdb_srv_wms_req q;
    char *uri = malloc(size + 6);

    if (uri == NULL)
        abort();
    memcpy(uri, "/wms?", 5);
    memcpy(uri + 5, data, size);
    uri[size + 5] = '\0';
    if (pdb_srv_request_parse(uri, NULL, &req, err, sizeof err) != 0 ||
        req.route != PDB_SRV_ROUTE_WMS) {
        free(uri);
        return 0;
    }
    int max_px = size ? 1 + data[size - 1] * 16 : PDB_SRV_WMS_DEFAULT_PX;
    int st = pdb_srv_wms_parse(&req, max_px, &q, code, err, sizeof err);
    CHECK(strnlen(code, sizeof code) < sizeof code);
    CHECK(strnlen(err, sizeof err) < sizeof err);
    CHECK(q.width >= 0 && q.width <= max_px && q.height >= 0 && q.height <= max_px);
    if (st == 0 && q.op != PDB_SRV_WMS_GETCAPABILITIES) {
        CHECK(q.width >= 1 && q.height >= 1);
        CHECK(q.epsg > 0);
        for (int k = 0; k < 4; k++)
            CHECK(isfinite(q.bbox[k]));
        CHECK(q.bbox[0] < q.bbox[2] && q.bbox[1] < q.bbox[3]);
        CHECK(q.nlayers >= 1 && q.nlayers <= PDB_SRV_WMS_MAX_LAYERS);
        for (size_t k = 0; k < q.nlayers; k++) {
            CHECK((unsigned)q.layer[k] < PDB_SRV_WMS_LAYER_COUNT);
            CHECK(q.style[k] == NULL ||
                  (q.style[k] >= req.buf && q.style[k] < req.buf + sizeof req.buf));
        }
        if (q.op == PDB_SRV_WMS_GETFEATUREINFO) {
            CHECK(q.i >= 0 && q.i < q.width && q.j >= 0 && q.j < q.height);
            CHECK(q.feature_count >= 1 && q.feature_count <= PDB_SRV_WMS_MAX_FEATURES);
            CHECK(q.nquery >= 1 && q.nquery <= PDB_SRV_WMS_MAX_LAYERS);
        }
    }
    if (st != 0)
        CHECK(err[0] != '\0');
    free(uri);
    return 0;
}
