/*
 * qa_json.c: a quality report as JSON (pdb_qa_report_to_json): what
 * `parceldb qa --format json` prints and GET /qa/{commune} serves, made
 * in one place so that the two never differ.
 */
#include "internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *report_json(const pdb_qa_report *rep)
{
    json_t *root = json_object(), *checks = json_object(), *list = json_array(),
           *skipped = json_array(), *communes = json_array();
    for (size_t i = 0; i < rep->ncommunes; i++)
        json_array_append_new(communes, json_string(rep->communes[i]));
    json_object_set_new(root, "communes", communes);
    json_object_set_new(root, "parcels", json_integer((json_int_t)rep->parcels));
    json_object_set_new(root, "errors", json_integer((json_int_t)rep->by_severity[PDB_QA_ERROR]));
    json_object_set_new(root, "warnings",
                        json_integer((json_int_t)rep->by_severity[PDB_QA_WARNING]));
    json_object_set_new(root, "infos", json_integer((json_int_t)rep->by_severity[PDB_QA_INFO]));
    for (size_t i = 0; i < rep->nskips; i++)
        json_array_append_new(skipped, json_pack("{s:s,s:s}", "check",
                                                 pdb_qa_check_name(rep->skips[i].check), "reason",
                                                 rep->skips[i].reason));
    json_object_set_new(root, "skipped", skipped);
    for (size_t i = 0; i < rep->count; i++) {
        const pdb_qa_finding *f = &rep->items[i];
        const char *name = pdb_qa_check_name(f->check);
        json_t *c = json_object_get(checks, name);
        if (c == NULL) {
            c = json_pack("{s:s,s:i,s:{},s:{}}", "severity", pdb_qa_severity_name(f->severity),
                          "count", 0, "by_commune", "by_sheet");
            json_object_set_new(checks, name, c);
        }
        json_object_set_new(c, "count",
                            json_integer(json_integer_value(json_object_get(c, "count")) + 1));
        char key[96];
        json_t *bc = json_object_get(c, "by_commune"), *bs = json_object_get(c, "by_sheet");
        json_object_set_new(bc, f->commune,
                            json_integer(json_integer_value(json_object_get(bc, f->commune)) + 1));
        /* Sheet numbers repeat across the former communes of a merged one. */
        snprintf(key, sizeof key, "%s/%s%s%s", f->commune, f->former, f->former[0] ? ":" : "",
                 f->sheet ? f->sheet : "-");
        json_object_set_new(bs, key,
                            json_integer(json_integer_value(json_object_get(bs, key)) + 1));
        json_t *o =
            json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:I,s:f,s:s,s:s?}", "check", name, "severity",
                      pdb_qa_severity_name(f->severity), "commune", f->commune, "former", f->former,
                      "sheet", f->sheet, "parcel", f->parcel, "id", (json_int_t)f->id, "measure",
                      f->measure, "unit", f->measure_unit, "detail", f->detail);
        if (f->other_id != 0)
            json_object_set_new(o, "other",
                                json_pack("{s:s,s:s,s:s?,s:s?,s:I}", "commune", f->other_commune,
                                          "former", f->other_former, "sheet", f->other_sheet,
                                          "parcel", f->other_parcel, "id",
                                          (json_int_t)f->other_id));
        json_array_append_new(list, o);
    }
    json_object_set_new(root, "checks", checks);
    json_object_set_new(root, "findings", list);
    return root;
}

pdb_status pdb_qa_report_to_json(pdb_ctx *ctx, const pdb_qa_report *rep, char **out)
{
    if (out == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no place for the JSON");
    *out = NULL;
    if (rep == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no report");
    json_t *j = report_json(rep);
    char *text = j != NULL ? json_dumps(j, JSON_INDENT(1)) : NULL;
    json_decref(j);
    if (text == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory writing the QA report as JSON");
    *out = text; /* malloc'd by jansson's default allocator: pdb_free frees it */
    return pdb__ok(ctx);
}
