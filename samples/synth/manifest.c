/*
 * manifest.c: <file>.manifest.json, the exact description of a generated
 * file that importer tests assert against (samples/README.md explains every
 * member). Counts describe the file as a reader sees it (verify.c checked
 * them); "expected" says what a correct importer reports for it.
 */
#include "output.h"
#include "vnenc.h"

#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static json_t *jstr_or_null(const char *s)
{
    return (s && *s) ? json_string(s) : json_null();
}

static void add_sidecars(json_t *files, const char *path)
{
    static const char *const exts[] = {"shx", "dbf", "prj", "cpg", "xsd", "gfs"};
    char side[1100];
    struct stat st;
    const char *dot = strrchr(path, '.');
    size_t stem = dot ? (size_t)(dot - path) : strlen(path);
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        snprintf(side, sizeof side, "%.*s.%s", (int)stem, path, exts[i]);
        if (stat(side, &st) == 0) {
            char *copy = strdup(side);
            if (copy) {
                json_array_append_new(files, json_string(basename(copy)));
                free(copy);
            }
        }
    }
}

/* Parcels whose (sheet, parcel) number also appears in another former
 * commune of the same commune: legal after the 2025 merger, and not a
 * duplicate when the former commune code is part of the key. */
static size_t cross_former_collisions(const synth_commune *c)
{
    size_t n = 0;
    if (c->nformers < 2)
        return 0;
    /* Sheets and numbers are small: a hash of (sheet, number) per former. */
    size_t cap = 1;
    while (cap < c->nparcels * 2)
        cap <<= 1;
    uint64_t *keys = calloc(cap, sizeof *keys);
    unsigned *mask = calloc(cap, sizeof *mask);
    if (keys == NULL || mask == NULL) {
        free(keys);
        free(mask);
        return 0;
    }
    for (size_t i = 0; i < c->nparcels; i++) {
        const synth_parcel *p = &c->parcels[i];
        if (p->sheet <= 0 || p->number <= 0)
            continue;
        uint64_t k = ((uint64_t)(uint32_t)p->sheet << 32) | (uint32_t)p->number;
        size_t h = (size_t)((k * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1);
        while (keys[h] != 0 && keys[h] != k)
            h = (h + 1) & (cap - 1);
        keys[h] = k;
        mask[h] |= 1u << p->former;
    }
    for (size_t i = 0; i < c->nparcels; i++) {
        const synth_parcel *p = &c->parcels[i];
        if (p->sheet <= 0 || p->number <= 0)
            continue;
        uint64_t k = ((uint64_t)(uint32_t)p->sheet << 32) | (uint32_t)p->number;
        size_t h = (size_t)((k * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1);
        while (keys[h] != k)
            h = (h + 1) & (cap - 1);
        if ((mask[h] & ~(1u << p->former)) != 0)
            n++;
    }
    free(keys);
    free(mask);
    return n;
}

/* What `parceldb qa` must find (--qa-defects; docs/qa.md): one entry per
 * planted error with the check that must report it and the parcel's
 * number. A duplicate number is listed once, with the number both parcels
 * carry. */
static json_t *qa_ground_truth(const synth_commune *c)
{
    json_t *list = json_array();
    for (size_t i = 0; i < c->nparcels; i++) {
        const synth_parcel *p = &c->parcels[i];
        const char *check = p->qa == SYNTH_QA_OVERLAP ? "overlap"
                            : p->qa == SYNTH_QA_GAP   ? "gap"
                                                      : NULL;
        if (check == NULL) {
            switch (p->defect) {
            case DEF_DUPLICATE_NUMBER:
                check = "duplicate_number";
                break;
            case DEF_AREA_MISMATCH:
                check = "area_mismatch";
                break;
            case DEF_INVALID_REPAIRABLE:
                check = "repaired";
                break;
            case DEF_UNKNOWN_LANDUSE:
                check = "unknown_landuse";
                break;
            default:
                continue;
            }
        }
        json_array_append_new(list, json_pack("{s:s,s:s,s:i,s:i,s:I}", "check", check, "former",
                                              c->formers[p->former], "sheet", (int)p->sheet,
                                              "parcel", (int)p->number, "index", (json_int_t)i));
    }
    return list;
}

/* What `parceldb import` of the re-survey over the commune must record
 * (--resurvey; docs/changes.md): one entry per change, the numbers
 * before and after as "SHEET/PARCEL" in the commune's own former commune. */
static json_t *resurvey_ground_truth(const synth_commune *c)
{
    json_t *list = json_array();
    for (size_t i = 0; i < c->ntruth; i++) {
        const synth_truth *t = &c->truth[i];
        json_t *old = json_array(), *neu = json_array();
        char num[32];
        for (int k = 0; k < t->nold; k++) {
            snprintf(num, sizeof num, "%d/%d", (int)t->old_sheet[k], (int)t->old_number[k]);
            json_array_append_new(old, json_string(num));
        }
        for (int k = 0; k < t->nnew; k++) {
            snprintf(num, sizeof num, "%d/%d", (int)t->new_sheet[k], (int)t->new_number[k]);
            json_array_append_new(neu, json_string(num));
        }
        json_array_append_new(list, json_pack("{s:s,s:s,s:o,s:o}", "kind", t->kind, "former",
                                              c->formers[0], "old", old, "new", neu));
    }
    return list;
}

int synth_manifest_write(const output_ctx *oc, char *err, size_t errlen)
{
    const synth_commune *c = oc->c;
    const synth_variant *v = oc->v;
    const synth_options *o = oc->o;
    const synth_readback *rb = &oc->read;
    int cad = o->format == FMT_DXF || o->format == FMT_DGN;
    char path[1100], *copy = strdup(oc->path);
    json_t *m = json_object();
    int rc = -1;

    if (m == NULL || copy == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    json_object_set_new(m, "generator", json_string("pdb-synth " SYNTH_VERSION));
    json_object_set_new(m, "seed", json_integer((json_int_t)o->seed));
    if (o->curve_spacing > 0) /* absent for straight cuts, as manifests had it before */
        json_object_set_new(m, "curved_edges_m", json_real(o->curve_spacing));
    json_object_set_new(m, "file", json_string(basename(copy)));
    json_t *files = json_array();
    add_sidecars(files, oc->path);
    json_object_set_new(m, "sidecar_files", files);
    json_object_set_new(m, "format", json_string(synth_format_name(o->format)));
    json_object_set_new(m, "layer", json_string(oc->layer_name));
    json_object_set_new(m, "features", json_integer((json_int_t)rb->features));
    json_object_set_new(m, "parcels", json_integer((json_int_t)c->nparcels));

    json_t *com = json_object();
    json_object_set_new(com, "code", json_string(c->ref->code));
    json_object_set_new(com, "name", json_string(c->ref->name));
    json_object_set_new(com, "former_province", json_string(c->ref->former_province));
    json_t *formers = json_array();
    for (int i = 0; i < c->nformers; i++)
        json_array_append_new(formers, json_string(c->formers[i]));
    json_object_set_new(com, "former_communes", formers);
    json_t *bbox = json_array();
    for (int i = 0; i < 4; i++)
        json_array_append_new(bbox, json_real(c->cell[i]));
    json_object_set_new(com, "layout_cell_wgs84", bbox);
    json_object_set_new(m, "commune", com);

    json_t *crs = json_object();
    json_object_set_new(crs, "declared", json_boolean(v->has_crs));
    json_object_set_new(crs, "epsg", json_integer(v->layer_crs_epsg));
    json_object_set_new(crs, "zone_epsg", json_integer(c->epsg));
    json_object_set_new(crs, "read_back_epsg",
                        rb->crs_epsg > 0 ? json_integer(rb->crs_epsg) : json_null());
    json_object_set_new(
        crs, "coordinates",
        json_string(v->layer_crs_epsg == PDB_EPSG_WGS84
                        ? "WGS 84 degrees, lon/lat (via pdb_crs_transform, EPSG:6960)"
                        : "VN-2000 TM-3 metres, easting/northing"));
    json_object_set_new(m, "crs", crs);

    json_t *text = json_object();
    json_object_set_new(text, "encoding", json_string(vnenc_name((vnenc_kind)v->text_encoding)));
    json_object_set_new(text, "cpg", o->format == FMT_SHP ? jstr_or_null(v->cpg) : json_null());
    json_object_set_new(text, "dbf_ldid",
                        o->format == FMT_SHP ? json_integer(v->ldid) : json_null());
    json_object_set_new(text, "tcvn3_lossy_values", json_integer((json_int_t)oc->lossy_values));
    json_object_set_new(m, "text", text);

    if (!cad) {
        static const char *const roles[FIELD_COUNT] = {
            "commune", "former_commune", "sheet", "parcel", "area", "landuse", "owner", "address"};
        json_t *fields = json_object();
        for (int i = 0; i < FIELD_COUNT; i++)
            json_object_set_new(fields, roles[i], json_string(oc->field_written[i]));
        json_object_set_new(m, "fields", fields);
        if (o->national) {
            static const char *const nat[5] = {"prev_sheet", "prev_parcel", "certificate",
                                               "record_start", "record_end"};
            json_t *nf = json_object();
            for (int i = 0; i < 5; i++)
                json_object_set_new(nf, nat[i], json_string(oc->national_written[i]));
            json_object_set_new(m, "national_fields", nf);
        }
        json_t *ft = json_object();
        json_object_set_new(ft, "numbers", json_string(v->numbers_as_text ? "text" : "integer"));
        json_object_set_new(ft, "area",
                            json_string(v->area_text == 1   ? "text-decimal-comma"
                                        : v->area_text == 2 ? "text-decimal-point"
                                                            : "number"));
        json_object_set_new(m, "field_types", ft);
    } else {
        json_t *cadj = json_object();
        json_object_set_new(cadj, "label_text", json_string("sheet/parcel/landuse/area_m2"));
        json_object_set_new(cadj, "labels", json_integer((json_int_t)rb->points));
        json_object_set_new(cadj, "boundary_entities",
                            json_integer((json_int_t)(rb->features - rb->points)));
        if (o->format == FMT_DXF) {
            json_object_set_new(cadj, "boundary_layer", json_string("RANH_THUA"));
            json_object_set_new(cadj, "label_layer", json_string("NHAN_THUA"));
        } else {
            json_object_set_new(cadj, "boundary_level", json_integer(10));
            json_object_set_new(cadj, "label_level", json_integer(13));
            json_object_set_new(cadj, "join", json_string("MSLink = parcel index + 1"));
        }
        json_object_set_new(m, "cad", cadj);
    }

    json_t *geom = json_object();
    json_object_set_new(geom, "multipolygon_parcels", json_integer((json_int_t)c->multipolygons));
    json_object_set_new(geom, "parcels_with_holes", json_integer((json_int_t)c->with_holes));
    json_object_set_new(geom, "island_parcels", json_integer((json_int_t)c->islands));
    json_t *rj = json_object();
    json_object_set_new(rj, "features", json_integer((json_int_t)rb->features));
    json_object_set_new(rj, "null", json_integer((json_int_t)rb->null_geom));
    json_object_set_new(rj, "empty", json_integer((json_int_t)rb->empty_geom));
    json_object_set_new(rj, "points", json_integer((json_int_t)rb->points));
    json_object_set_new(rj, "lines", json_integer((json_int_t)rb->lines));
    json_object_set_new(rj, "polygons", json_integer((json_int_t)rb->polygons));
    json_object_set_new(rj, "multipolygons", json_integer((json_int_t)rb->multipolygons));
    if (rb->checked) {
        json_object_set_new(rj, "valid", json_integer((json_int_t)rb->valid));
        json_object_set_new(rj, "invalid_repairable",
                            json_integer((json_int_t)rb->invalid_repairable));
        json_object_set_new(rj, "invalid_unrepairable",
                            json_integer((json_int_t)rb->invalid_unrepairable));
    }
    json_object_set_new(geom, "read_back", rj);
    json_t *ext = json_array();
    json_array_append_new(ext, json_real(c->origin_e));
    json_array_append_new(ext, json_real(c->origin_n - c->height_m));
    json_array_append_new(ext, json_real(c->origin_e + c->width_m));
    json_array_append_new(ext, json_real(c->origin_n));
    json_object_set_new(geom, "extent_tm3", ext);
    json_object_set_new(m, "geometry", geom);

    /* Land use as written, sheets. */
    json_t *lu = json_object();
    for (size_t i = 0; i < c->nparcels; i++) {
        const char *code = c->parcels[i].landuse;
        json_t *cur = json_object_get(lu, code);
        json_object_set_new(lu, code, json_integer(cur ? json_integer_value(cur) + 1 : 1));
    }
    json_object_set_new(m, "landuse", lu);
    json_t *sheets = json_object();
    json_object_set_new(sheets, "count", json_integer((json_int_t)c->nsheets));
    json_object_set_new(sheets, "min_parcels", json_integer((json_int_t)c->sheet_min));
    json_object_set_new(sheets, "max_parcels", json_integer((json_int_t)c->sheet_max));
    json_object_set_new(sheets, "numbering",
                        json_string("per former commune: sheets 1..S, "
                                    "parcels 1..N per sheet"));
    json_object_set_new(sheets, "collisions_across_former_communes",
                        json_integer((json_int_t)cross_former_collisions(c)));
    json_object_set_new(m, "sheets", sheets);

    /* Defects: counts, where, and what an importer must do. */
    json_t *defects = json_object(), *where = json_object(), *unsupported = json_array();
    size_t rejected = 0, flagged_extra = 0;
    json_t *rej_by = json_object(), *flag_by = json_object();
    for (int d = DEF_NULL_GEOMETRY; d < DEF_COUNT; d++) {
        const char *name = synth_defect_name((synth_defect)d);
        json_object_set_new(defects, name, json_integer((json_int_t)c->counts[d]));
        if (!synth_format_supports(o->format, (synth_defect)d))
            json_array_append_new(unsupported, json_string(name));
        json_t *idx = json_array();
        for (size_t i = 0; i < c->nparcels; i++)
            if (c->parcels[i].defect == d)
                json_array_append_new(idx, json_integer((json_int_t)i));
        json_object_set_new(where, name, idx);
        const char *outcome = synth_defect_outcome((synth_defect)d);
        const char *reason = synth_defect_reason((synth_defect)d);
        json_t *target = strcmp(outcome, "rejected") == 0 ? rej_by : flag_by;
        size_t k = c->counts[d] * (d == DEF_DUPLICATE_NUMBER ? 2 : 1);
        if (d == DEF_INVALID_REPAIRABLE)
            reason = "repaired";
        json_t *cur = json_object_get(target, reason);
        json_object_set_new(target, reason,
                            json_integer((json_int_t)k + (cur ? json_integer_value(cur) : 0)));
        if (target == rej_by)
            rejected += c->counts[d];
        else
            flagged_extra += k;
    }
    json_object_set_new(m, "defects", defects);
    json_object_set_new(m, "defects_unsupported_by_format", unsupported);
    json_object_set_new(m, "defect_parcels", where);
    json_t *exp = json_object();
    json_object_set_new(exp, "read", json_integer((json_int_t)c->nparcels));
    json_object_set_new(exp, "stored", json_integer((json_int_t)(c->nparcels - rejected)));
    json_object_set_new(exp, "repaired",
                        json_integer((json_int_t)c->counts[DEF_INVALID_REPAIRABLE]));
    json_object_set_new(exp, "rejected", json_integer((json_int_t)rejected));
    json_object_set_new(exp, "flagged", json_integer((json_int_t)flagged_extra));
    json_object_set_new(exp, "rejected_by_reason", rej_by);
    json_object_set_new(exp, "flagged_by_reason", flag_by);
    json_object_set_new(exp, "rejects_rows",
                        json_integer((json_int_t)(rejected + c->counts[DEF_INVALID_REPAIRABLE])));
    json_object_set_new(exp, "note",
                        json_string(cad ? "per parcel (boundary entity joined to its label); "
                                          "see samples/README.md"
                                        : "per feature; see samples/README.md"));
    json_object_set_new(m, "expected", exp);
    if (o->qa_defects > 0)
        json_object_set_new(m, "qa_ground_truth", qa_ground_truth(c));
    if (o->resurvey > 0) {
        json_object_set_new(m, "resurvey_noise_m", json_real(o->resurvey_noise_m));
        json_object_set_new(m, "resurvey_ground_truth", resurvey_ground_truth(c));
    }

    snprintf(path, sizeof path, "%s.manifest.json", oc->path);
    if (json_dump_file(m, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)) !=
        0) {
        snprintf(err, errlen, "cannot write %s", path);
        goto done;
    }
    rc = 0;
done:
    json_decref(m);
    free(copy);
    return rc;
}
