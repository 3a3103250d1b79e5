/*
 * change.c: the SQLite store's changes to single parcels between surveys
 * (pdb_change_apply) and their lineage (pdb_parcel_lineage).
 *
 * A change is one write transaction, as an import of a commune is, and
 * ends as one does: the commune gets a batch of its own (an import_batches
 * row described "change N: ..."), so that its last_batch moves and every
 * server's in-memory lookup index reloads it; its lookup BLOB and search
 * words are rewritten from its current parcels, its overviews marked stale
 * (the background builder rebuilds them), its row stamped with the data
 * version the commit makes, and meta's version bumped just before COMMIT.
 * The parcels named are read inside the transaction (BEGIN IMMEDIATE holds
 * the write lock), so a second change to the same parcel that waited for
 * the first finds it superseded: PDB_ECONFLICT, and nothing written.
 *
 * Geometry checks are in the survey's metres (the parcels' source
 * geometry), through GEOS.
 */
#include "geom.h"
#include "lookup.h"
#include "overview.h"
#include "search.h"
#include "store.h"
#include "writer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPLIT_TOLERANCE_M2 1e-4  /* 1 cm^2: a split's gap, excess or overlap */
#define RESHAPE_OVERLAP_M2 0.01  /* the QA threshold for overlaps with a neighbour */
#define TOUCH_MIN_LENGTH_M 0.001 /* a shared boundary shorter than 1 mm is a point */

/* A parcel read for a change, with its GEOS geometry in survey metres. */
typedef struct old_parcel {
    pdb_parcel p;    /* as stored, with owner and source geometry */
    GEOSGeometry *g; /* its source geometry, owned */
} old_parcel;

/* A parcel to be written. */
typedef struct new_parcel {
    pdb_parcel p;            /* attributes; strings borrowed or in own[] */
    unsigned char *wkb;      /* source geometry (owned when made here) */
    size_t wkb_len;          /* bytes */
    int wkb_owned;           /* 1 when wkb is ours to free */
    GEOSGeometry *g;         /* its geometry in survey metres, owned */
    pdb_geom_prepared *prep; /* prepared for the store, owned */
    char number[40];         /* its parcel number */
    int64_t id;              /* its row once written */
} new_parcel;

typedef struct change_state {
    pdb_ctx *ctx;
    pdb_store *s;
    const pdb_change *c;
    GEOSContextHandle_t h;
    char now[32];
    old_parcel *old; /* c->nparcels entries */
    size_t nold;     /* read so far */
    new_parcel *neu; /* nnew entries */
    size_t nnew;
    int64_t batch_id;  /* the change's batch */
    int64_t change_id; /* its changes row */
    int srid;          /* the survey CRS of every geometry */
    char commune[8];   /* the commune changed */
} change_state;

static const char *kind_name(pdb_change_kind k)
{
    switch (k) {
    case PDB_CHANGE_SPLIT:
        return "split";
    case PDB_CHANGE_MERGE:
        return "merge";
    case PDB_CHANGE_UPDATE:
        return "update";
    case PDB_CHANGE_RESHAPE:
        return "reshape";
    }
    return "?";
}

static int blank(const char *s)
{
    return s == NULL || s[strspn(s, " \t")] == '\0';
}

/* GEOS geometry from WKB; PDB_EGEOM naming what when it does not parse. */
static pdb_status geos_from_wkb(change_state *cs, const unsigned char *wkb, size_t len,
                                const char *what, GEOSGeometry **out)
{
    GEOSWKBReader *r = GEOSWKBReader_create_r(cs->h);
    *out = r ? GEOSWKBReader_read_r(cs->h, r, wkb, len) : NULL;
    if (r != NULL)
        GEOSWKBReader_destroy_r(cs->h, r);
    if (*out == NULL)
        return pdb__fail(cs->ctx, PDB_EGEOM, "%s: the geometry does not parse (%s)", what,
                         pdb__geos_said(cs->ctx));
    int type = GEOSGeomTypeId_r(cs->h, *out);
    if (type != GEOS_POLYGON && type != GEOS_MULTIPOLYGON) {
        GEOSGeom_destroy_r(cs->h, *out);
        *out = NULL;
        return pdb__fail(cs->ctx, PDB_EGEOM, "%s: not a polygon", what);
    }
    return PDB_OK;
}

static pdb_status geos_valid(change_state *cs, const GEOSGeometry *g, const char *what)
{
    char v = GEOSisValid_r(cs->h, g);
    if (v == 1)
        return PDB_OK;
    char *reason = v == 0 ? GEOSisValidReason_r(cs->h, g) : NULL;
    pdb_status st = pdb__fail(cs->ctx, PDB_EGEOM, "%s is not a valid polygon: %s", what,
                              reason ? reason : pdb__geos_said(cs->ctx));
    GEOSFree_r(cs->h, reason);
    return st;
}

/* Area of a GEOS operation's result, consuming it; NAN when GEOS failed. */
static double area_of(change_state *cs, GEOSGeometry *g)
{
    double a = NAN;
    if (g != NULL && GEOSArea_r(cs->h, g, &a) != 1)
        a = NAN;
    if (g != NULL)
        GEOSGeom_destroy_r(cs->h, g);
    return a;
}

static double overlap_m2(change_state *cs, const GEOSGeometry *a, const GEOSGeometry *b)
{
    return area_of(cs, GEOSIntersection_r(cs->h, a, b));
}

/* WKB (ISO, little-endian, 2D) of g, malloc'd. */
static pdb_status geos_to_wkb(change_state *cs, const GEOSGeometry *g, unsigned char **out,
                              size_t *len)
{
    GEOSWKBWriter *w = GEOSWKBWriter_create_r(cs->h);
    unsigned char *buf = NULL;
    *out = NULL;
    if (w != NULL) {
        GEOSWKBWriter_setOutputDimension_r(cs->h, w, 2);
        GEOSWKBWriter_setByteOrder_r(cs->h, w, GEOS_WKB_NDR);
        GEOSWKBWriter_setFlavor_r(cs->h, w, GEOS_WKB_ISO);
        buf = GEOSWKBWriter_write_r(cs->h, w, g, len);
        GEOSWKBWriter_destroy_r(cs->h, w);
    }
    if (buf == NULL)
        return pdb__fail(cs->ctx, PDB_EGEOM, "writing a geometry: %s", pdb__geos_said(cs->ctx));
    if ((*out = malloc(*len)) != NULL)
        memcpy(*out, buf, *len);
    GEOSFree_r(cs->h, buf);
    return *out ? PDB_OK : pdb__fail(cs->ctx, PDB_ENOMEM, "out of memory");
}

static pdb_status step_done(change_state *cs, sqlite3_stmt *stmt, const char *what)
{
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return pdb__sql_fail(cs->ctx, cs->s->db, rc, what);
    return PDB_OK;
}

/* Reads the one current parcel of a number into cs->old[cs->nold]. */
static pdb_status read_current(change_state *cs, const pdb_parcel_ref *ref)
{
    sqlite3_stmt *stmt = NULL;
    pdb_status st = PDB_OK;
    int rows = 0, rc;
    old_parcel *o = &cs->old[cs->nold];

    rc = sqlite3_prepare_v2(cs->s->db,
                            "SELECT " PDB_PARCEL_COLUMNS " FROM parcels p WHERE p.commune = ?1 AND "
                            "p.sheet = ?2 AND p.parcel = ?3 AND p.valid_to IS NULL ORDER BY p.id",
                            -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(cs->ctx, cs->s->db, rc, "reading the parcel");
    sqlite3_bind_text(stmt, 1, ref->commune, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, ref->sheet, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, ref->parcel, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (++rows > 1)
            break;
        cs->nold++; /* o->p is cleared at the end, however far it was filled */
        if ((st = pdb__parcel_from_row(cs->ctx, stmt, PDB_READ_PERSONAL | PDB_READ_SOURCE,
                                       &o->p)) != PDB_OK)
            goto done;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        st = pdb__sql_fail(cs->ctx, cs->s->db, rc, "reading the parcel");
        goto done;
    }
    if (rows > 1) {
        st = pdb__fail(cs->ctx, PDB_EINVAL,
                       "%s/%s/%s is a duplicate number (several current parcels): change it "
                       "after the register is corrected",
                       ref->commune, ref->sheet, ref->parcel);
        goto done;
    }
    if (rows == 0) {
        /* Never stored, or superseded: by another change that won the
         * write lock first, or by a re-import. */
        sqlite3_finalize(stmt);
        stmt = NULL;
        rc = sqlite3_prepare_v2(cs->s->db,
                                "SELECT max(valid_to) FROM parcels WHERE commune = ?1 AND "
                                "sheet = ?2 AND parcel = ?3",
                                -1, &stmt, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(stmt, 1, ref->commune, -1, SQLITE_STATIC);
            sqlite3_bind_text(stmt, 2, ref->sheet, -1, SQLITE_STATIC);
            sqlite3_bind_text(stmt, 3, ref->parcel, -1, SQLITE_STATIC);
            rc = sqlite3_step(stmt);
        }
        if (rc != SQLITE_ROW) {
            st = pdb__sql_fail(cs->ctx, cs->s->db, rc, "reading the parcel");
        } else if (sqlite3_column_type(stmt, 0) == SQLITE_NULL) {
            st = pdb__fail(cs->ctx, PDB_ENOTFOUND, "no parcel %s/%s/%s", ref->commune, ref->sheet,
                           ref->parcel);
        } else {
            st = pdb__fail(cs->ctx, PDB_ECONFLICT,
                           "parcel %s/%s/%s was superseded at %s by another change or "
                           "import: nothing changed",
                           ref->commune, ref->sheet, ref->parcel,
                           (const char *)sqlite3_column_text(stmt, 0));
        }
        goto done;
    }
    if (cs->nold == 1 && cs->c->expect_id > 0 && o->p.id != cs->c->expect_id) {
        st = pdb__fail(cs->ctx, PDB_ECONFLICT,
                       "parcel %s/%s/%s changed meanwhile (now store id %lld, not %lld): "
                       "nothing changed",
                       ref->commune, ref->sheet, ref->parcel, (long long)o->p.id,
                       (long long)cs->c->expect_id);
        goto done;
    }
    char what[120];
    snprintf(what, sizeof what, "parcel %s/%s/%s", ref->commune, ref->sheet, ref->parcel);
    st = geos_from_wkb(cs, o->p.source_wkb, o->p.source_wkb_len, what, &o->g);
done:
    sqlite3_finalize(stmt);
    return st;
}

/* Checks the land-use codes of a change: every code of a compound one
 * must be in the national list (an officer's typo is refused, not stored
 * with a flag as a survey's would be). */
static pdb_status landuse_check(change_state *cs, const char *landuse)
{
    char code[16];
    const char *p = landuse;
    if (blank(landuse))
        return pdb__fail(cs->ctx, PDB_EINVAL, "an empty land-use code");
    while (*p) {
        size_t n = strcspn(p, "+");
        if (n == 0 || n >= sizeof code)
            return pdb__fail(cs->ctx, PDB_EINVAL, "land use '%.40s' is not a list of codes",
                             landuse);
        memcpy(code, p, n);
        code[n] = '\0';
        if (pdb_landuse_ref_find(code) == NULL)
            return pdb__fail(cs->ctx, PDB_EINVAL, "land-use code '%s' is not in the national list",
                             code);
        p += n;
        if (*p == '+')
            p++;
    }
    return PDB_OK;
}

/* A number: digits, at most 9 of them (positive, as the lookups take). */
static pdb_status number_check(change_state *cs, const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 9 || strspn(n, "0123456789") != len || n[0] == '0')
        return pdb__fail(cs->ctx, PDB_EINVAL, "parcel number '%.40s' is not a positive integer", n);
    return PDB_OK;
}

/* Gives each new parcel without a number the next free one of its sheet
 * (above every number the sheet ever had, history included, so that an
 * old number is never handed out again), and checks given ones are free
 * among the current parcels once the old ones are superseded. */
static pdb_status assign_numbers(change_state *cs, const char *sheet)
{
    sqlite3_stmt *stmt = NULL;
    int64_t next = 0;
    pdb_status st = PDB_OK;
    int rc = sqlite3_prepare_v2(cs->s->db,
                                "SELECT coalesce(max(CAST(parcel AS INTEGER)), 0) FROM parcels "
                                "WHERE commune = ?1 AND sheet = ?2",
                                -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(stmt, 1, cs->commune, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, sheet, -1, SQLITE_STATIC);
        rc = sqlite3_step(stmt);
    }
    if (rc != SQLITE_ROW) {
        st = pdb__sql_fail(cs->ctx, cs->s->db, rc, "finding the next free number");
        goto done;
    }
    next = sqlite3_column_int64(stmt, 0) + 1;
    sqlite3_finalize(stmt);
    stmt = NULL;
    for (size_t i = 0; i < cs->nnew; i++) {
        new_parcel *n = &cs->neu[i];
        if (n->number[0] == '\0') {
            snprintf(n->number, sizeof n->number, "%lld", (long long)next++);
            continue;
        }
        if ((st = number_check(cs, n->number)) != PDB_OK)
            goto done;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cs->neu[j].number, n->number) == 0) {
                st = pdb__fail(cs->ctx, PDB_EINVAL, "number %s is given twice", n->number);
                goto done;
            }
        /* Free among the current parcels, not counting the ones this change
         * supersedes (they are superseded already when this runs). */
        rc = sqlite3_prepare_v2(cs->s->db,
                                "SELECT count(*) FROM parcels WHERE commune = ?1 AND sheet = ?2 "
                                "AND parcel = ?3 AND valid_to IS NULL",
                                -1, &stmt, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(stmt, 1, cs->commune, -1, SQLITE_STATIC);
            sqlite3_bind_text(stmt, 2, sheet, -1, SQLITE_STATIC);
            sqlite3_bind_text(stmt, 3, n->number, -1, SQLITE_STATIC);
            rc = sqlite3_step(stmt);
        }
        if (rc != SQLITE_ROW) {
            st = pdb__sql_fail(cs->ctx, cs->s->db, rc, "checking a number");
            goto done;
        }
        if (sqlite3_column_int64(stmt, 0) > 0) {
            st = pdb__fail(cs->ctx, PDB_EINVAL, "number %s/%s/%s belongs to a current parcel",
                           cs->commune, sheet, n->number);
            goto done;
        }
        sqlite3_finalize(stmt);
        stmt = NULL;
    }
done:
    sqlite3_finalize(stmt);
    return st;
}

/* A split: each part valid; the parts cover the parcel within 1 cm^2 (no
 * gap, nothing outside) and overlap each other by at most 1 cm^2. */
static pdb_status check_split(change_state *cs)
{
    GEOSGeometry **parts = calloc(cs->nnew, sizeof *parts);
    GEOSGeometry *coll = NULL, *u = NULL;
    const GEOSGeometry *old = cs->old[0].g;
    pdb_status st = PDB_OK;
    char what[40];

    if (parts == NULL)
        return pdb__fail(cs->ctx, PDB_ENOMEM, "out of memory");
    for (size_t i = 0; i < cs->nnew; i++) {
        snprintf(what, sizeof what, "part %zu", i + 1);
        if ((st = geos_valid(cs, cs->neu[i].g, what)) != PDB_OK)
            goto done;
        for (size_t j = 0; j < i; j++) {
            double o = overlap_m2(cs, cs->neu[i].g, cs->neu[j].g);
            if (!(o <= SPLIT_TOLERANCE_M2)) {
                st = pdb__fail(cs->ctx, PDB_EGEOM,
                               "parts %zu and %zu overlap by %.4f m2 (at most 0.0001 m2)", j + 1,
                               i + 1, o);
                goto done;
            }
        }
        parts[i] = GEOSGeom_clone_r(cs->h, cs->neu[i].g);
    }
    coll = GEOSGeom_createCollection_r(cs->h, GEOS_GEOMETRYCOLLECTION, parts, (unsigned)cs->nnew);
    if (coll == NULL || (u = GEOSUnaryUnion_r(cs->h, coll)) == NULL) {
        st = pdb__fail(cs->ctx, PDB_EGEOM, "the union of the parts: %s", pdb__geos_said(cs->ctx));
        goto done;
    }
    double gap = area_of(cs, GEOSDifference_r(cs->h, old, u));
    double out = area_of(cs, GEOSDifference_r(cs->h, u, old));
    if (!(gap <= SPLIT_TOLERANCE_M2)) {
        st = pdb__fail(cs->ctx, PDB_EGEOM,
                       "the parts leave a gap of %.4f m2 in the parcel (at most 0.0001 m2)", gap);
        goto done;
    }
    if (!(out <= SPLIT_TOLERANCE_M2)) {
        st = pdb__fail(cs->ctx, PDB_EGEOM,
                       "the parts reach %.4f m2 outside the parcel (at most 0.0001 m2)", out);
        goto done;
    }
done:
    if (coll != NULL)
        GEOSGeom_destroy_r(cs->h, coll); /* owns the clones */
    else
        for (size_t i = 0; i < cs->nnew; i++)
            if (parts[i] != NULL)
                GEOSGeom_destroy_r(cs->h, parts[i]);
    if (u != NULL)
        GEOSGeom_destroy_r(cs->h, u);
    free(parts);
    return st;
}

/* Length of the boundary two parcels share. */
static double shared_boundary_m(change_state *cs, const GEOSGeometry *a, const GEOSGeometry *b)
{
    GEOSGeometry *ba = GEOSBoundary_r(cs->h, a), *bb = GEOSBoundary_r(cs->h, b), *i = NULL;
    double len = 0;
    if (ba != NULL && bb != NULL && (i = GEOSIntersection_r(cs->h, ba, bb)) != NULL &&
        GEOSLength_r(cs->h, i, &len) != 1)
        len = 0;
    if (ba != NULL)
        GEOSGeom_destroy_r(cs->h, ba);
    if (bb != NULL)
        GEOSGeom_destroy_r(cs->h, bb);
    if (i != NULL)
        GEOSGeom_destroy_r(cs->h, i);
    return len;
}

/* A merge: one commune, one survey CRS, every parcel linked to the others
 * through shared boundaries of positive length; the new geometry is their
 * union. */
static pdb_status check_merge(change_state *cs)
{
    size_t n = cs->nold;
    unsigned char *seen = calloc(n, 1);
    size_t *queue = calloc(n, sizeof *queue), head = 0, tail = 0;
    GEOSGeometry **gs = calloc(n, sizeof *gs), *coll = NULL, *u = NULL;
    pdb_status st = PDB_OK;

    if (seen == NULL || queue == NULL || gs == NULL) {
        st = pdb__fail(cs->ctx, PDB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 1; i < n; i++) {
        const pdb_parcel *a = &cs->old[0].p, *b = &cs->old[i].p;
        if (strcmp(a->commune, b->commune) != 0) {
            st = pdb__fail(cs->ctx, PDB_EINVAL,
                           "a merge is of parcels of one commune: %s/%s/%s is in %s, %s/%s/%s "
                           "in %s",
                           a->commune, a->sheet, a->parcel, a->commune, b->commune, b->sheet,
                           b->parcel, b->commune);
            goto done;
        }
        if (a->source_srid != b->source_srid) {
            st = pdb__fail(cs->ctx, PDB_EINVAL,
                           "%s/%s/%s (EPSG:%d) and %s/%s/%s (EPSG:%d) were surveyed in different "
                           "CRSs",
                           a->commune, a->sheet, a->parcel, a->source_srid, b->commune, b->sheet,
                           b->parcel, b->source_srid);
            goto done;
        }
        for (size_t j = 0; j < i; j++)
            if (cs->old[j].p.id == b->id) {
                st = pdb__fail(cs->ctx, PDB_EINVAL, "%s/%s/%s is named twice", b->commune, b->sheet,
                               b->parcel);
                goto done;
            }
    }
    seen[0] = 1;
    queue[tail++] = 0;
    while (head < tail) {
        size_t i = queue[head++];
        for (size_t j = 0; j < n; j++)
            if (!seen[j] &&
                shared_boundary_m(cs, cs->old[i].g, cs->old[j].g) >= TOUCH_MIN_LENGTH_M) {
                seen[j] = 1;
                queue[tail++] = j;
            }
    }
    for (size_t j = 0; j < n; j++)
        if (!seen[j]) {
            const pdb_parcel *b = &cs->old[j].p;
            st = pdb__fail(cs->ctx, PDB_EGEOM,
                           "%s/%s/%s shares no boundary with the other parcels of the merge "
                           "(merged parcels must touch)",
                           b->commune, b->sheet, b->parcel);
            goto done;
        }
    for (size_t i = 0; i < n; i++)
        gs[i] = GEOSGeom_clone_r(cs->h, cs->old[i].g);
    coll = GEOSGeom_createCollection_r(cs->h, GEOS_GEOMETRYCOLLECTION, gs, (unsigned)n);
    if (coll == NULL || (u = GEOSUnaryUnion_r(cs->h, coll)) == NULL) {
        st = pdb__fail(cs->ctx, PDB_EGEOM, "the union of the parcels: %s", pdb__geos_said(cs->ctx));
        goto done;
    }
    new_parcel *np = &cs->neu[0];
    if ((st = geos_to_wkb(cs, u, &np->wkb, &np->wkb_len)) != PDB_OK)
        goto done;
    np->wkb_owned = 1;
    np->g = u;
    u = NULL;
done:
    if (coll != NULL)
        GEOSGeom_destroy_r(cs->h, coll);
    else
        for (size_t i = 0; gs != NULL && i < n; i++)
            if (gs[i] != NULL)
                GEOSGeom_destroy_r(cs->h, gs[i]);
    if (u != NULL)
        GEOSGeom_destroy_r(cs->h, u);
    free(gs);
    free(seen);
    free(queue);
    return st;
}

/* A reshape: valid, and no overlap above 0.01 m^2 with a current
 * neighbour of the same survey CRS (found through the R-tree by the new
 * geometry's WGS 84 box). */
static pdb_status check_reshape(change_state *cs)
{
    new_parcel *np = &cs->neu[0];
    sqlite3_stmt *stmt = NULL;
    pdb_status st;
    int rc;

    if ((st = geos_valid(cs, np->g, "the new geometry")) != PDB_OK)
        return st;
    rc = sqlite3_prepare_v2(cs->s->db,
                            "SELECT p.commune, p.sheet, p.parcel, p.source_geom FROM parcels p "
                            "WHERE p.valid_to IS NULL AND p.source_srid = ?5 AND p.id != ?6 AND "
                            "p.id IN (SELECT pkid FROM idx_parcels_geom WHERE xmin <= ?3 AND "
                            "xmax >= ?1 AND ymin <= ?4 AND ymax >= ?2)",
                            -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(cs->ctx, cs->s->db, rc, "finding the neighbours");
    for (int i = 0; i < 4; i++)
        sqlite3_bind_double(stmt, i + 1, np->prep->bbox[i]);
    sqlite3_bind_int(stmt, 5, cs->srid);
    sqlite3_bind_int64(stmt, 6, cs->old[0].p.id);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        GEOSGeometry *g = NULL;
        char what[120];
        snprintf(what, sizeof what, "neighbour %s/%s/%s", sqlite3_column_text(stmt, 0),
                 sqlite3_column_text(stmt, 1), sqlite3_column_text(stmt, 2));
        if ((st = geos_from_wkb(cs, sqlite3_column_blob(stmt, 3),
                                (size_t)sqlite3_column_bytes(stmt, 3), what, &g)) != PDB_OK)
            goto done;
        double o = overlap_m2(cs, np->g, g);
        GEOSGeom_destroy_r(cs->h, g);
        if (!(o <= RESHAPE_OVERLAP_M2)) {
            st = pdb__fail(cs->ctx, PDB_EGEOM,
                           "the new geometry overlaps %s by %.4f m2 (at most 0.01 m2)", what, o);
            goto done;
        }
    }
    st = rc == SQLITE_DONE ? PDB_OK : pdb__sql_fail(cs->ctx, cs->s->db, rc, "reading a neighbour");
done:
    sqlite3_finalize(stmt);
    return st;
}

/* The new parcels' attributes and geometries, before any check that needs
 * them prepared. */
static pdb_status build_new(change_state *cs)
{
    const pdb_change *c = cs->c;
    const pdb_parcel *first = &cs->old[0].p;
    pdb_status st;

    cs->nnew = c->kind == PDB_CHANGE_SPLIT ? c->nparts : 1;
    if ((cs->neu = calloc(cs->nnew, sizeof *cs->neu)) == NULL)
        return pdb__fail(cs->ctx, PDB_ENOMEM, "out of memory");
    for (size_t i = 0; i < cs->nnew; i++) {
        new_parcel *n = &cs->neu[i];
        const pdb_change_part *part = i < c->nparts ? &c->parts[i] : NULL;
        n->p.commune = first->commune;
        n->p.former_commune = first->former_commune;
        n->p.sheet = first->sheet;
        n->p.landuse = first->landuse;
        n->p.address = first->address;
        n->p.owner = first->owner;
        n->p.area_surveyed_m2 = NAN;
        if (c->kind == PDB_CHANGE_UPDATE || c->kind == PDB_CHANGE_RESHAPE) {
            /* Same parcel, same number, the legal area kept unless set. */
            n->p.area_surveyed_m2 = first->area_surveyed_m2;
            snprintf(n->number, sizeof n->number, "%s", first->parcel);
        }
        if (part != NULL) {
            n->wkb = (unsigned char *)part->wkb;
            n->wkb_len = part->wkb_len;
            if (part->landuse != NULL)
                n->p.landuse = (char *)part->landuse;
            if (part->number != NULL && c->kind == PDB_CHANGE_SPLIT)
                snprintf(n->number, sizeof n->number, "%s", part->number);
            if (!isnan(part->area_legal_m2))
                n->p.area_surveyed_m2 = part->area_legal_m2;
        } else if (c->kind == PDB_CHANGE_UPDATE) {
            n->wkb = first->source_wkb;
            n->wkb_len = first->source_wkb_len;
        }
        if (c->kind == PDB_CHANGE_MERGE && c->number != NULL)
            snprintf(n->number, sizeof n->number, "%s", c->number);
        if (c->set_landuse != NULL)
            n->p.landuse = (char *)c->set_landuse;
        if (c->set_owner != NULL)
            n->p.owner = blank(c->set_owner) ? NULL : (char *)c->set_owner;
        if (c->set_address != NULL)
            n->p.address = blank(c->set_address) ? NULL : (char *)c->set_address;
        if (!isnan(c->set_area_legal_m2)) {
            if (!(c->set_area_legal_m2 > 0 && c->set_area_legal_m2 < 1e9))
                return pdb__fail(cs->ctx, PDB_EINVAL, "area_legal %g is not a positive area",
                                 c->set_area_legal_m2);
            n->p.area_surveyed_m2 = c->set_area_legal_m2;
        }
        if (!isnan(n->p.area_surveyed_m2) && !(n->p.area_surveyed_m2 > 0))
            return pdb__fail(cs->ctx, PDB_EINVAL, "part %zu: area_legal is not a positive area",
                             i + 1);
        /* Only a code the change gives is checked: an inherited one came
         * from the survey, which may hold older codes (kept and flagged at
         * import), and an owner's update must not fail over it. */
        int given = c->set_landuse != NULL || (part != NULL && part->landuse != NULL);
        if (given && (st = landuse_check(cs, n->p.landuse)) != PDB_OK)
            return st;
        if (n->wkb != NULL) {
            char what[40];
            snprintf(what, sizeof what, c->kind == PDB_CHANGE_SPLIT ? "part %zu" : "the geometry",
                     i + 1);
            if ((st = geos_from_wkb(cs, n->wkb, n->wkb_len, what, &n->g)) != PDB_OK)
                return st;
        }
    }
    return PDB_OK;
}

static const char insert_sql[] =
    "INSERT INTO parcels (commune, former_commune, sheet, parcel, landuse, landuse_main, "
    "area_surveyed_m2, area_computed_m2, address, owner, flags, source_srid, source_geom, "
    "batch_id, valid_from, geom) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";

/* Writes the new parcels (and their R-tree boxes). */
static pdb_status insert_new(change_state *cs)
{
    sqlite3_stmt *ins = NULL, *rt = NULL;
    pdb_status st = PDB_OK;
    int rc = sqlite3_prepare_v2(cs->s->db, insert_sql, -1, &ins, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(cs->s->db,
                                "INSERT INTO idx_parcels_geom (pkid, xmin, xmax, ymin, ymax) "
                                "VALUES (?1, ?2, ?3, ?4, ?5)",
                                -1, &rt, NULL);
    if (rc != SQLITE_OK) {
        st = pdb__sql_fail(cs->ctx, cs->s->db, rc, "preparing the change");
        goto done;
    }
    for (size_t i = 0; i < cs->nnew; i++) {
        new_parcel *n = &cs->neu[i];
        const char *lu = n->p.landuse;
        size_t main_len = strcspn(lu, "+");
        unsigned flags = (n->prep->wgs84_repaired ? PDB_PARCEL_WGS84_REPAIRED : 0) |
                         (isnan(n->p.area_surveyed_m2) ? PDB_PARCEL_NO_SURVEYED_AREA : 0);
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins);
        sqlite3_bind_text(ins, 1, cs->commune, -1, SQLITE_STATIC);
        if (!blank(n->p.former_commune))
            sqlite3_bind_text(ins, 2, n->p.former_commune, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, n->p.sheet, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 4, n->number, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 5, lu, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 6, lu, (int)main_len, SQLITE_STATIC);
        if (!isnan(n->p.area_surveyed_m2))
            sqlite3_bind_double(ins, 7, n->p.area_surveyed_m2);
        sqlite3_bind_double(ins, 8, n->prep->area_m2);
        if (n->p.address != NULL)
            sqlite3_bind_text(ins, 9, n->p.address, -1, SQLITE_STATIC);
        if (n->p.owner != NULL)
            sqlite3_bind_text(ins, 10, n->p.owner, -1, SQLITE_STATIC);
        sqlite3_bind_int(ins, 11, (int)flags);
        sqlite3_bind_int(ins, 12, cs->srid);
        sqlite3_bind_blob(ins, 13, n->wkb, (int)n->wkb_len, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 14, cs->batch_id);
        sqlite3_bind_text(ins, 15, cs->now, -1, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 16, n->prep->blob, (int)n->prep->blob_len, SQLITE_STATIC);
        if ((st = step_done(cs, ins, "storing a new parcel")) != PDB_OK)
            goto done;
        n->id = sqlite3_last_insert_rowid(cs->s->db);
        sqlite3_reset(rt);
        sqlite3_bind_int64(rt, 1, n->id);
        sqlite3_bind_double(rt, 2, n->prep->bbox[0]);
        sqlite3_bind_double(rt, 3, n->prep->bbox[2]);
        sqlite3_bind_double(rt, 4, n->prep->bbox[1]);
        sqlite3_bind_double(rt, 5, n->prep->bbox[3]);
        if ((st = step_done(cs, rt, "indexing a new parcel")) != PDB_OK)
            goto done;
    }
done:
    sqlite3_finalize(ins);
    sqlite3_finalize(rt);
    return st;
}

/* One lineage edge. */
static pdb_status edge(change_state *cs, int64_t parent, int64_t child, const char *kind,
                       double overlap)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(cs->s->db,
                                "INSERT INTO lineage (parent_id, child_id, kind, overlap_m2, "
                                "change_id, batch_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                                -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(cs->ctx, cs->s->db, rc, "writing the lineage");
    sqlite3_bind_int64(stmt, 1, parent);
    sqlite3_bind_int64(stmt, 2, child);
    sqlite3_bind_text(stmt, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_double(stmt, 4, isfinite(overlap) ? overlap : 0);
    sqlite3_bind_int64(stmt, 5, cs->change_id);
    sqlite3_bind_int64(stmt, 6, cs->batch_id);
    sqlite3_bind_text(stmt, 7, cs->now, -1, SQLITE_STATIC);
    pdb_status st = step_done(cs, stmt, "writing the lineage");
    sqlite3_finalize(stmt);
    return st;
}

/* "C/S/P#id,C/S/P#id": the parcels before or after, for the changes row. */
static char *parcel_list_text(change_state *cs, int after)
{
    size_t n = after ? cs->nnew : cs->nold, cap = n * 128 + 1, len = 0;
    char *t = malloc(cap);
    if (t == NULL)
        return NULL;
    t[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *sheet = after ? cs->neu[i].p.sheet : cs->old[i].p.sheet;
        const char *num = after ? cs->neu[i].number : cs->old[i].p.parcel;
        int64_t id = after ? cs->neu[i].id : cs->old[i].p.id;
        len += (size_t)snprintf(t + len, cap - len, "%s%s/%.40s/%.40s#%lld", i ? "," : "",
                                cs->commune, sheet, num, (long long)id);
    }
    return t;
}

/* The commune's search words from its current parcels (the writer hands
 * them over from what it added; a change rebuilds them from the store). */
static pdb_status search_commune(change_state *cs)
{
    pdb__search_postings *pp = NULL;
    sqlite3_stmt *stmt = NULL;
    pdb_status st = PDB_OK;
    int rc = sqlite3_prepare_v2(cs->s->db,
                                "SELECT id, owner, address, landuse FROM parcels WHERE commune = "
                                "?1 AND valid_to IS NULL ORDER BY id",
                                -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(cs->ctx, cs->s->db, rc, "reading the commune's words");
    sqlite3_bind_text(stmt, 1, cs->commune, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        if ((st = pdb__search_postings_add(cs->ctx, &pp, sqlite3_column_int64(stmt, 0),
                                           (const char *)sqlite3_column_text(stmt, 1),
                                           (const char *)sqlite3_column_text(stmt, 2),
                                           (const char *)sqlite3_column_text(stmt, 3))) != PDB_OK)
            goto done;
    if (rc != SQLITE_DONE) {
        st = pdb__sql_fail(cs->ctx, cs->s->db, rc, "reading the commune's words");
        goto done;
    }
    st = pdb__sq_search_commune(cs->ctx, cs->s, cs->commune, pp);
done:
    sqlite3_finalize(stmt);
    pdb__search_postings_free(pp);
    return st;
}

/* The commune's row as an import leaves it: count, box, the change's
 * batch, the time, and (pdb__commune_stamp) the data version this
 * transaction commits. */
static pdb_status commune_row(change_state *cs)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(
        cs->s->db,
        "UPDATE communes SET (parcels, min_lon, max_lon, min_lat, max_lat) = (SELECT count(*), "
        "min(r.xmin), max(r.xmax), min(r.ymin), max(r.ymax) FROM parcels p JOIN idx_parcels_geom "
        "r ON r.pkid = p.id WHERE p.commune = ?1 AND p.valid_to IS NULL), last_batch = ?2, "
        "updated_at = ?3 WHERE code = ?1",
        -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(cs->ctx, cs->s->db, rc, "updating the commune");
    sqlite3_bind_text(stmt, 1, cs->commune, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, cs->batch_id);
    sqlite3_bind_text(stmt, 3, cs->now, -1, SQLITE_STATIC);
    pdb_status st = step_done(cs, stmt, "updating the commune");
    sqlite3_finalize(stmt);
    if (st == PDB_OK && sqlite3_changes(cs->s->db) != 1)
        st = pdb__fail(cs->ctx, PDB_ECORRUPT, "commune %s has parcels but no row", cs->commune);
    return st == PDB_OK ? pdb__commune_stamp(cs->ctx, cs->s, cs->commune) : st;
}

/* The change's batch and its changes row (after filled in at the end). */
static pdb_status begin_rows(change_state *cs)
{
    const pdb_change *c = cs->c;
    sqlite3_stmt *stmt = NULL;
    char desc[200], *before = parcel_list_text(cs, 0);
    pdb_status st;

    if (before == NULL)
        return pdb__fail(cs->ctx, PDB_ENOMEM, "out of memory");
    snprintf(desc, sizeof desc, "change: %s of %s/%s/%s", kind_name(c->kind), cs->commune,
             cs->old[0].p.sheet, cs->old[0].p.parcel);
    int rc = sqlite3_prepare_v2(cs->s->db,
                                "INSERT INTO import_batches (description, started_at, finished_at, "
                                "status, read, stored) VALUES (?1, ?2, ?2, 'done', ?3, ?4)",
                                -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        st = pdb__sql_fail(cs->ctx, cs->s->db, rc, "recording the change");
        goto done;
    }
    sqlite3_bind_text(stmt, 1, desc, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, cs->now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)cs->nold);
    sqlite3_bind_int64(stmt, 4, (sqlite3_int64)cs->nnew);
    if ((st = step_done(cs, stmt, "recording the change")) != PDB_OK)
        goto done;
    cs->batch_id = sqlite3_last_insert_rowid(cs->s->db);
    sqlite3_finalize(stmt);
    rc = sqlite3_prepare_v2(cs->s->db,
                            "INSERT INTO changes (kind, at, actor, reason, document, commune, "
                            "batch_id, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, '')",
                            -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        stmt = NULL;
        st = pdb__sql_fail(cs->ctx, cs->s->db, rc, "recording the change");
        goto done;
    }
    sqlite3_bind_text(stmt, 1, kind_name(c->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, cs->now, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, c->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, c->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 5, c->document, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 6, cs->commune, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 7, cs->batch_id);
    sqlite3_bind_text(stmt, 8, before, -1, SQLITE_STATIC);
    if ((st = step_done(cs, stmt, "recording the change")) != PDB_OK)
        goto done;
    cs->change_id = sqlite3_last_insert_rowid(cs->s->db);
done:
    sqlite3_finalize(stmt);
    free(before);
    return st;
}

static pdb_status supersede(change_state *cs)
{
    sqlite3_stmt *stmt = NULL;
    pdb_status st = PDB_OK;
    int rc = sqlite3_prepare_v2(
        cs->s->db, "UPDATE parcels SET valid_to = ?2 WHERE id = ?1 AND valid_to IS NULL", -1, &stmt,
        NULL);
    if (rc != SQLITE_OK)
        return pdb__sql_fail(cs->ctx, cs->s->db, rc, "superseding the parcel");
    for (size_t i = 0; i < cs->nold && st == PDB_OK; i++) {
        sqlite3_reset(stmt);
        sqlite3_bind_int64(stmt, 1, cs->old[i].p.id);
        sqlite3_bind_text(stmt, 2, cs->now, -1, SQLITE_STATIC);
        if ((st = step_done(cs, stmt, "superseding the parcel")) == PDB_OK &&
            sqlite3_changes(cs->s->db) != 1)
            st = pdb__fail(cs->ctx, PDB_ECONFLICT, "parcel %s/%s/%s changed meanwhile",
                           cs->old[i].p.commune, cs->old[i].p.sheet, cs->old[i].p.parcel);
    }
    sqlite3_finalize(stmt);
    return st;
}

static pdb_status finish_rows(change_state *cs)
{
    char *after = parcel_list_text(cs, 1);
    sqlite3_stmt *stmt = NULL;
    pdb_status st;
    if (after == NULL)
        return pdb__fail(cs->ctx, PDB_ENOMEM, "out of memory");
    int rc = sqlite3_prepare_v2(cs->s->db, "UPDATE changes SET after = ?2 WHERE id = ?1", -1, &stmt,
                                NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(stmt, 1, cs->change_id);
        sqlite3_bind_text(stmt, 2, after, -1, SQLITE_STATIC);
        st = step_done(cs, stmt, "recording the change");
    } else {
        st = pdb__sql_fail(cs->ctx, cs->s->db, rc, "recording the change");
    }
    sqlite3_finalize(stmt);
    free(after);
    return st;
}

/* The lineage edges of the change: parent to child with the area shared. */
static pdb_status write_edges(change_state *cs)
{
    pdb_status st = PDB_OK;
    const char *kind = kind_name(cs->c->kind);
    for (size_t i = 0; i < cs->nold && st == PDB_OK; i++)
        for (size_t j = 0; j < cs->nnew && st == PDB_OK; j++) {
            double o = cs->c->kind == PDB_CHANGE_UPDATE
                           ? cs->neu[j].prep->area_m2
                           : overlap_m2(cs, cs->old[i].g, cs->neu[j].g);
            st = edge(cs, cs->old[i].p.id, cs->neu[j].id, kind, o);
        }
    return st;
}

static pdb_status make_result(change_state *cs, pdb_change_result **out)
{
    pdb_change_result *r = calloc(1, sizeof *r);
    if (r == NULL || (r->before = calloc(cs->nold, sizeof *r->before)) == NULL ||
        (r->after = calloc(cs->nnew, sizeof *r->after)) == NULL) {
        pdb_change_result_free(r);
        return pdb__fail(cs->ctx, PDB_ENOMEM, "out of memory");
    }
    r->change_id = cs->change_id;
    memcpy(r->at, cs->now, sizeof r->at);
    r->nbefore = cs->nold;
    r->nafter = cs->nnew;
    for (size_t i = 0; i < cs->nold; i++) {
        r->before[i].id = cs->old[i].p.id;
        r->before[i].area_m2 = cs->old[i].p.area_computed_m2;
        snprintf(r->before[i].number, sizeof r->before[i].number, "%s/%.32s/%.32s",
                 cs->old[i].p.commune, cs->old[i].p.sheet, cs->old[i].p.parcel);
    }
    for (size_t i = 0; i < cs->nnew; i++) {
        r->after[i].id = cs->neu[i].id;
        r->after[i].area_m2 = cs->neu[i].prep->area_m2;
        snprintf(r->after[i].number, sizeof r->after[i].number, "%s/%.32s/%.32s", cs->commune,
                 cs->neu[i].p.sheet, cs->neu[i].number);
    }
    *out = r;
    return PDB_OK;
}

void pdb_change_result_free(pdb_change_result *r)
{
    if (r == NULL)
        return;
    free(r->before);
    free(r->after);
    free(r);
}

pdb_status pdb__sq_change_apply(pdb_ctx *ctx, pdb_store *s, const pdb_change *c,
                                pdb_change_result **out)
{
    change_state cs = {.ctx = ctx, .s = s, .c = c, .h = ctx->geos};
    pdb_status st;
    int in_tx = 0;

    if (out != NULL)
        *out = NULL;
    pdb__now_iso(cs.now);
    if ((cs.old = calloc(c->nparcels, sizeof *cs.old)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    /* The write lock first: what is read below cannot change until COMMIT. */
    if ((st = pdb__store_exec(ctx, s, "BEGIN IMMEDIATE")) != PDB_OK)
        goto done;
    in_tx = 1;
    for (size_t i = 0; i < c->nparcels; i++)
        if ((st = read_current(&cs, &c->parcels[i])) != PDB_OK)
            goto done;
    snprintf(cs.commune, sizeof cs.commune, "%s", cs.old[0].p.commune);
    cs.srid = cs.old[0].p.source_srid;
    if (c->srid != 0 && c->srid != cs.srid) {
        st = pdb__fail(ctx, PDB_EINVAL,
                       "the geometry is in EPSG:%d but %s/%s/%s was surveyed in EPSG:%d: give it "
                       "in the survey CRS",
                       c->srid, cs.commune, cs.old[0].p.sheet, cs.old[0].p.parcel, cs.srid);
        goto done;
    }
    pdb_crs_info info;
    if ((c->kind == PDB_CHANGE_SPLIT || c->kind == PDB_CHANGE_RESHAPE ||
         c->kind == PDB_CHANGE_MERGE) &&
        (pdb_crs_info_get(ctx, cs.srid, &info) != PDB_OK || info.kind == PDB_CRS_GEOGRAPHIC)) {
        st = pdb__fail(ctx, PDB_EINVAL,
                       "%s/%s/%s was surveyed in EPSG:%d: a change of its geometry is checked in "
                       "projected metres",
                       cs.commune, cs.old[0].p.sheet, cs.old[0].p.parcel, cs.srid);
        goto done;
    }
    if ((st = build_new(&cs)) != PDB_OK)
        goto done;
    if (c->kind == PDB_CHANGE_SPLIT && (st = check_split(&cs)) != PDB_OK)
        goto done;
    if (c->kind == PDB_CHANGE_MERGE && (st = check_merge(&cs)) != PDB_OK)
        goto done;
    for (size_t i = 0; i < cs.nnew; i++)
        if ((st = pdb_geom_prepare(ctx, cs.srid, cs.commune, cs.neu[i].wkb, cs.neu[i].wkb_len,
                                   &cs.neu[i].prep)) != PDB_OK)
            goto done;
    if (c->kind == PDB_CHANGE_RESHAPE && (st = check_reshape(&cs)) != PDB_OK)
        goto done;
    if ((st = supersede(&cs)) != PDB_OK ||
        (st = assign_numbers(&cs, cs.old[0].p.sheet)) != PDB_OK ||
        (st = begin_rows(&cs)) != PDB_OK || (st = insert_new(&cs)) != PDB_OK ||
        (st = write_edges(&cs)) != PDB_OK || (st = finish_rows(&cs)) != PDB_OK)
        goto done;
    if (c->set_owner != NULL) {
        /* Owner data written: the audit row commits with it, or neither. */
        char ids[32], what[160];
        snprintf(ids, sizeof ids, "%lld", (long long)cs.neu[0].id);
        snprintf(what, sizeof what, "%s: update owner (change %lld)", c->via ? c->via : "change",
                 (long long)cs.change_id);
        if ((st = pdb__sq_audit_record(ctx, s, c->actor, what, ids)) != PDB_OK)
            goto done;
    }
    if ((st = search_commune(&cs)) != PDB_OK ||
        (st = pdb__overview_mark_stale(ctx, s, cs.commune)) != PDB_OK ||
        (st = pdb__lookup_store_commune(ctx, s, &pdb__sq_lookup_io, cs.commune, cs.batch_id)) !=
            PDB_OK ||
        (st = commune_row(&cs)) != PDB_OK)
        goto done;
    if ((st = pdb__store_exec(ctx, s,
                              "UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                              "WHERE key = 'data_version'")) != PDB_OK ||
        (st = pdb__store_exec(ctx, s, "COMMIT")) != PDB_OK)
        goto done;
    in_tx = 0;
    if (out != NULL) {
        if ((st = make_result(&cs, out)) != PDB_OK)
            goto done;
        pdb_store_data_version(ctx, s, &(*out)->data_version);
    }
    st = pdb__ok(ctx);
done:
    if (in_tx)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    for (size_t i = 0; i < cs.nold; i++) {
        if (cs.old[i].g != NULL)
            GEOSGeom_destroy_r(cs.h, cs.old[i].g);
        pdb_parcel_clear(&cs.old[i].p);
    }
    free(cs.old);
    for (size_t i = 0; cs.neu != NULL && i < cs.nnew; i++) {
        if (cs.neu[i].g != NULL)
            GEOSGeom_destroy_r(cs.h, cs.neu[i].g);
        if (cs.neu[i].wkb_owned)
            free(cs.neu[i].wkb);
        pdb_geom_prepared_free(cs.neu[i].prep);
    }
    free(cs.neu);
    return st;
}
