/*
 * fuzz_ogcapi: the OGC API - Features query parser (tiler/server/
 * ogcapi_parse.c) on arbitrary bytes, behind the server's request parser
 * as in the server. The input's first line is the request URI; the rest,
 * whole, is also given to the CRS and datetime parsers directly. Besides
 * the sanitizers it checks the parser's promises: a status of 0, 400 or
 * 404; a limit in 1..PDB_OGC_MAX_LIMIT; a box with min <= max; offered
 * CRSs only; an instant in the store's 24-character form; filters of the
 * documented characters.
 *
 * Seeds (tests/fuzz/fuzz_ogcapi/seeds): one request of each kind the tests
 * make, written by hand from tests/server/ogcapi.sh.
 */
#include "ogcapi_parse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_ogcapi: check failed: %s (line %d)\n", #cond, __LINE__);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_instant(const char *at)
{
    static const char pattern[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    CHECK(strlen(at) == sizeof pattern - 1);
    for (size_t i = 0; pattern[i]; i++)
        CHECK(pattern[i] == 'd' ? (at[i] >= '0' && at[i] <= '9') : at[i] == pattern[i]);
}

static void check_text(const char *t, size_t max, const char *allowed)
{
    if (t == NULL)
        return;
    CHECK(strlen(t) >= 1 && strlen(t) <= max && strspn(t, allowed) == strlen(t));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pdb_srv_request req; /* 4 KB: kept off the stack */
    char err[256], at[32], until[32];
    pdb_ogc_request q;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t ulen = nl ? (size_t)(nl - data) : size;
    char *uri = malloc(ulen + 1), *rest = malloc(size + 1);
    int crs;

    if (uri == NULL || rest == NULL)
        abort();
    memcpy(uri, data, ulen);
    uri[ulen] = '\0';
    memcpy(rest, data, size);
    rest[size] = '\0';

    if (pdb_srv_request_parse(uri, NULL, &req, err, sizeof err) == 0 &&
        req.route == PDB_SRV_ROUTE_OGCAPI) {
        int st = pdb_ogc_parse(&req, &q, err, sizeof err);
        CHECK(st == 0 || st == 400 || st == 404);
        CHECK(strnlen(err, sizeof err) < sizeof err);
        if (st == 0) {
            CHECK(q.limit >= 1 && q.limit <= PDB_OGC_MAX_LIMIT);
            CHECK(q.after >= 0);
            CHECK(q.html >= -1 && q.html <= 1);
            CHECK(pdb_ogc_crs_offered(q.crs) && pdb_ogc_crs_offered(q.bbox_crs));
            if (q.has_bbox)
                CHECK(q.bbox[0] <= q.bbox[2] && q.bbox[1] <= q.bbox[3]);
            if (q.at[0] != '\0')
                check_instant(q.at);
            if (q.until[0] != '\0') {
                check_instant(q.until);
                CHECK(q.at[0] != '\0' && strcmp(q.at, q.until) <= 0);
            }
            check_text(q.commune, 5, "0123456789");
            check_text(q.after_s, 5, "0123456789");
            check_text(q.sheet, PDB_SRV_MAX_ID_TEXT, "0123456789");
            check_text(q.parcel, PDB_SRV_MAX_ID_TEXT, "0123456789");
            check_text(q.landuse, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
            if (q.resource == PDB_OGC_ITEM)
                CHECK(q.feature_id != NULL);
        }
    }
    if (pdb_ogc_crs_parse(rest, &crs, err, sizeof err))
        CHECK(pdb_ogc_crs_offered(crs));
    if (pdb_ogc_datetime_parse(rest, at, until, err, sizeof err) == 0) {
        check_instant(at);
        if (until[0] != '\0') {
            check_instant(until);
            CHECK(strcmp(at, until) <= 0);
        }
    }
    free(uri);
    free(rest);
    return 0;
}
