/*
 * api.c: the public store functions of parceldb.h. Each checks what every
 * store would check and calls the handle's operation (backend.h): the
 * SQLite/SpatiaLite file or the PostgreSQL/PostGIS schema. Which one a
 * location names is decided here, once (pdb__location_is_pg).
 */
#include "backend.h"
#include "crs.h"
#include "registry.h"
#include "store.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define NEED(cond, what)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return pdb__fail(ctx, PDB_EINVAL, "%s", what);                                         \
    } while (0)

/* Every store handle handed out has registered its store's communes
 * (registry.c), so that a lookup or an import through it knows them. */
static pdb_status registered(pdb_ctx *ctx, pdb_status st, const char *path, pdb_store **out)
{
    if (st == PDB_OK && (st = pdb__registry_load_store(ctx, *out, path)) != PDB_OK) {
        pdb_store_close(*out);
        *out = NULL;
    }
    return st;
}

pdb_status pdb_store_create(pdb_ctx *ctx, const char *path, pdb_store **out)
{
    NEED(out != NULL, "no place for the store handle");
    *out = NULL;
    NEED(path != NULL && *path != '\0', "no store path given");
    return registered(ctx,
                      pdb__location_is_pg(path) ? pdb__pg_create(ctx, path, out)
                                                : pdb__sqlite_create(ctx, path, out),
                      path, out);
}

pdb_status pdb_store_open(pdb_ctx *ctx, const char *path, int flags, pdb_store **out)
{
    NEED(out != NULL, "no place for the store handle");
    *out = NULL;
    NEED(path != NULL && *path != '\0', "no store path given");
    return registered(ctx,
                      pdb__location_is_pg(path) ? pdb__pg_open(ctx, path, flags, out)
                                                : pdb__sqlite_open(ctx, path, flags, out),
                      path, out);
}

void pdb_store_close(pdb_store *s)
{
    if (s != NULL)
        s->ops->close(s);
}

pdb_status pdb_store_data_version(pdb_ctx *ctx, pdb_store *s, int64_t *out)
{
    NEED(s != NULL && out != NULL, "no store or no place for the version");
    return s->ops->data_version(ctx, s, out);
}

pdb_status pdb_store_stats_get(pdb_ctx *ctx, pdb_store *s, pdb_store_stats *out)
{
    NEED(s != NULL && out != NULL, "no store or no place for the statistics");
    return s->ops->stats_get(ctx, s, out);
}

pdb_status pdb_store_check(pdb_ctx *ctx, pdb_store *s)
{
    NEED(s != NULL, "no store");
    return s->ops->check(ctx, s);
}

pdb_status pdb_communes_list(pdb_ctx *ctx, pdb_store *s, pdb_commune_list **out)
{
    NEED(s != NULL && out != NULL, "no store or no place for the list");
    *out = NULL;
    return s->ops->communes_list(ctx, s, out);
}

pdb_status pdb_import_begin(pdb_ctx *ctx, pdb_store *s, const char *description,
                            int64_t *batch_id_out)
{
    NEED(s != NULL && batch_id_out != NULL, "no store or no place for the batch id");
    return s->ops->import_begin(ctx, s, description, batch_id_out);
}

pdb_status pdb_import_end(pdb_ctx *ctx, pdb_store *s, int64_t batch_id, const char *status,
                          const pdb_import_counts *totals)
{
    NEED(s != NULL, "no store");
    return s->ops->import_end(ctx, s, batch_id, status, totals);
}

pdb_status pdb_import_find_checksum(pdb_ctx *ctx, pdb_store *s, const char *checksum,
                                    int64_t *batch_out)
{
    NEED(s != NULL && batch_out != NULL, "no store or no place for the batch id");
    return s->ops->import_find_checksum(ctx, s, checksum, batch_out);
}

pdb_status pdb_writer_begin(pdb_ctx *ctx, pdb_store *s, const pdb_commune_load *load,
                            pdb_writer **out)
{
    NEED(s != NULL && out != NULL, "no store or no place for the writer");
    *out = NULL;
    return s->ops->writer_begin(ctx, s, load, out);
}

pdb_status pdb_writer_add_prepared(pdb_ctx *ctx, pdb_writer *w, const pdb_parcel *p,
                                   const pdb_geom_prepared *g, int64_t *id_out)
{
    if (id_out != NULL)
        *id_out = 0;
    NEED(w != NULL && p != NULL, "no writer or no parcel");
    return w->store->ops->writer_add_prepared(ctx, w, p, g, id_out);
}

pdb_status pdb_writer_add(pdb_ctx *ctx, pdb_writer *w, const pdb_parcel *p, int64_t *id_out)
{
    pdb_geom_prepared *g = NULL;
    pdb_status st;

    if (id_out != NULL)
        *id_out = 0;
    NEED(w != NULL && p != NULL, "no writer or no parcel");
    if ((st = pdb_geom_prepare(ctx, w->source_srid, w->commune, p->source_wkb, p->source_wkb_len,
                               &g)) != PDB_OK)
        return st;
    st = pdb_writer_add_prepared(ctx, w, p, g, id_out);
    pdb_geom_prepared_free(g);
    return st;
}

pdb_status pdb_writer_reject(pdb_ctx *ctx, pdb_writer *w, const pdb_reject *r)
{
    NEED(w != NULL, "no writer");
    return w->store->ops->writer_reject(ctx, w, r);
}

pdb_status pdb_writer_commit(pdb_ctx *ctx, pdb_writer *w, pdb_import_counts *counts)
{
    NEED(w != NULL, "no writer");
    return w->store->ops->writer_commit(ctx, w, counts);
}

void pdb_writer_free(pdb_writer *w)
{
    if (w != NULL)
        w->store->ops->writer_free(w);
}

void pdb_store_trust_version(pdb_store *s, int64_t version)
{
    if (s == NULL)
        return;
    s->trusted = version >= 0;
    s->trusted_version = version;
}

pdb_status pdb_parcels_at(pdb_ctx *ctx, pdb_store *s, double lon, double lat, unsigned read_flags,
                          pdb_parcel_list **out)
{
    NEED(s != NULL && out != NULL, "no store or no place for the answer");
    *out = NULL;
    return s->ops->parcels_at(ctx, s, lon, lat, read_flags, out);
}

pdb_status pdb_parcels_first_at(pdb_ctx *ctx, pdb_store *s, const double *lonlat, size_t n,
                                pdb_point_parcel *out)
{
    NEED(s != NULL && (n == 0 || (lonlat != NULL && out != NULL)), "no store or no points");
    return s->ops->parcels_first_at(ctx, s, lonlat, n, out);
}

pdb_status pdb_parcels_at_crs(pdb_ctx *ctx, pdb_store *s, int epsg, double x, double y,
                              unsigned read_flags, pdb_parcel_list **out)
{
    pdb_status st;
    double xy[2] = {x, y};

    NEED(s != NULL && out != NULL, "no store or no place for the answer");
    *out = NULL;
    if ((st = pdb_crs_check_point(ctx, epsg, x, y)) != PDB_OK)
        return st;
    if (epsg != PDB_EPSG_WGS84 &&
        (st = pdb__crs_transform_xy(ctx, epsg, PDB_EPSG_WGS84, xy, 1)) != PDB_OK)
        return st;
    return pdb_parcels_at(ctx, s, xy[0], xy[1], read_flags, out);
}

pdb_status pdb_parcels_by_number(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                 const char *former_commune, const char *sheet, const char *parcel,
                                 unsigned read_flags, pdb_parcel_list **out)
{
    NEED(s != NULL && out != NULL, "no store or no place for the answer");
    *out = NULL;
    return s->ops->parcels_by_number(ctx, s, commune, former_commune, sheet, parcel, read_flags,
                                     out);
}

pdb_status pdb_parcels_in_bbox(pdb_ctx *ctx, pdb_store *s, double min_lon, double min_lat,
                               double max_lon, double max_lat, size_t limit, size_t offset,
                               unsigned read_flags, pdb_parcel_list **out)
{
    NEED(s != NULL && out != NULL, "no store or no place for the answer");
    *out = NULL;
    return s->ops->parcels_in_bbox(ctx, s, min_lon, min_lat, max_lon, max_lat, limit, offset,
                                   read_flags, out);
}

pdb_status pdb_parcel_history(pdb_ctx *ctx, pdb_store *s, const char *commune, const char *sheet,
                              const char *parcel, unsigned read_flags, pdb_parcel_list **out)
{
    NEED(s != NULL && out != NULL, "no store or no place for the answer");
    *out = NULL;
    return s->ops->parcel_history(ctx, s, commune, sheet, parcel, read_flags, out);
}

pdb_status pdb_parcel_get(pdb_ctx *ctx, pdb_store *s, int64_t id, unsigned read_flags,
                          pdb_parcel **out)
{
    NEED(s != NULL && out != NULL, "no store or no place for the answer");
    *out = NULL;
    return s->ops->parcel_get(ctx, s, id, read_flags, out);
}

pdb_status pdb_features_in_bbox(pdb_ctx *ctx, pdb_store *s, const double bbox[4], pdb_feature_fn fn,
                                void *arg)
{
    NEED(s != NULL && bbox != NULL && fn != NULL, "no store, box or callback");
    return s->ops->features_in_bbox(ctx, s, bbox, 0, fn, arg);
}

pdb_status pdb_features_in_bbox_survey(pdb_ctx *ctx, pdb_store *s, const double bbox[4],
                                       int survey_epsg, pdb_feature_fn fn, void *arg)
{
    NEED(s != NULL && bbox != NULL && fn != NULL, "no store, box or callback");
    const pdb_crs_info *crs = pdb__crs_find(survey_epsg);
    if (crs == NULL || crs->kind == PDB_CRS_GEOGRAPHIC)
        return pdb__fail(ctx, PDB_EINVAL,
                         "EPSG:%d is not a VN-2000 TM-3 or UTM system: no parcel is surveyed in it",
                         survey_epsg);
    return s->ops->features_in_bbox(ctx, s, bbox, survey_epsg, fn, arg);
}

pdb_status pdb_overview_features(pdb_ctx *ctx, pdb_store *s, int zoom, unsigned kinds,
                                 const double bbox[4], pdb_feature_fn fn, void *arg)
{
    NEED(s != NULL && bbox != NULL && fn != NULL, "no store, box or callback");
    return s->ops->overview_features(ctx, s, zoom, kinds, bbox, fn, arg);
}

pdb_status pdb_overview_rebuild_report(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                       pdb_overview_report *rep)
{
    NEED(s != NULL && rep != NULL, "no store or no place for the report");
    memset(rep, 0, sizeof *rep);
    if (s->readonly)
        return pdb__fail(ctx, PDB_EREADONLY, "the store was opened read-only");
    if (s->writing)
        return pdb__fail(ctx, PDB_EINVAL, "a commune's load is open on this store handle");
    return pdb__overview_rebuild_report(ctx, s, commune, rep);
}

pdb_status pdb_overview_rebuild(pdb_ctx *ctx, pdb_store *s, const char *commune, size_t *rebuilt)
{
    pdb_overview_report rep = {0};
    pdb_status st = pdb_overview_rebuild_report(ctx, s, commune, &rep);
    if (rebuilt != NULL)
        *rebuilt = rep.rebuilt;
    return st;
}

pdb_status pdb_store_backup(pdb_ctx *ctx, pdb_store *s, const char *dest_path,
                            const pdb_backup_options *opt, pdb_backup_result *result)
{
    NEED(s != NULL, "no store");
    return s->ops->backup(ctx, s, dest_path, opt, result);
}

static int blank_text(const char *s)
{
    return s == NULL || s[strspn(s, " \t\r\n")] == '\0';
}

pdb_status pdb_change_apply(pdb_ctx *ctx, pdb_store *s, const pdb_change *c,
                            pdb_change_result **out)
{
    if (out != NULL)
        *out = NULL;
    NEED(s != NULL && c != NULL, "no store or no change");
    if (s->readonly)
        return pdb__fail(ctx, PDB_EREADONLY, "the store was opened read-only");
    if (s->writing)
        return pdb__fail(ctx, PDB_EINVAL, "a commune's load is open on this store handle");
    NEED(c->kind >= PDB_CHANGE_SPLIT && c->kind <= PDB_CHANGE_RESHAPE, "unknown kind of change");
    NEED(!blank_text(c->reason), "a change needs a reason");
    NEED(!blank_text(c->document), "a change needs a document reference");
    NEED(!blank_text(c->actor), "a change needs an actor (a token's name or a user)");
    NEED(c->parcels != NULL && c->nparcels >= 1, "a change names no parcel");
    /* Texts a change stores, bounded as an import's attributes are. */
    const char *texts[] = {c->reason,    c->document,    c->actor,  c->set_landuse,
                           c->set_owner, c->set_address, c->number, c->via};
    static const char *const names[] = {"reason", "document", "actor",  "landuse",
                                        "owner",  "address",  "number", "via"};
    for (size_t i = 0; i < PDB_COUNTOF(texts); i++)
        if (texts[i] != NULL && strlen(texts[i]) > ctx->limits.max_text_bytes)
            return pdb__fail(ctx, PDB_ELIMIT, "the %s is %zu bytes, over the limit of %zu",
                             names[i], strlen(texts[i]), ctx->limits.max_text_bytes);
    if (c->kind == PDB_CHANGE_MERGE)
        NEED(c->nparcels >= 2 && c->nparcels <= 100, "a merge takes 2 to 100 parcels");
    else
        NEED(c->nparcels == 1, "this change takes exactly one parcel");
    for (size_t i = 0; i < c->nparcels; i++)
        NEED(c->parcels[i].commune != NULL && c->parcels[i].sheet != NULL &&
                 c->parcels[i].parcel != NULL,
             "a parcel is named by commune, sheet and parcel number");
    switch (c->kind) {
    case PDB_CHANGE_SPLIT:
        NEED(c->nparts >= 2 && c->nparts <= 1000 && c->parts != NULL,
             "a split takes 2 to 1000 parts");
        break;
    case PDB_CHANGE_RESHAPE:
        NEED(c->nparts == 1 && c->parts != NULL, "a reshape takes exactly one geometry");
        break;
    case PDB_CHANGE_UPDATE:
        NEED(c->nparts == 0, "an update takes no geometry");
        NEED(c->set_landuse != NULL || c->set_owner != NULL || c->set_address != NULL ||
                 !isnan(c->set_area_legal_m2),
             "an update sets nothing (landuse, owner, address or area_legal)");
        break;
    case PDB_CHANGE_MERGE:
        NEED(c->nparts == 0, "a merge takes no geometry (the union of its parcels)");
        break;
    }
    for (size_t i = 0; i < c->nparts; i++)
        NEED(c->parts[i].wkb != NULL && c->parts[i].wkb_len > 0, "a part has no geometry");
    return s->ops->change_apply(ctx, s, c, out);
}

pdb_status pdb_parcel_lineage(pdb_ctx *ctx, pdb_store *s, int64_t id, pdb_lineage **out)
{
    NEED(out != NULL, "no place for the lineage");
    *out = NULL;
    NEED(s != NULL, "no store");
    NEED(id > 0, "a store id is a positive integer");
    return s->ops->parcel_lineage(ctx, s, id, out);
}
