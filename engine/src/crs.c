/*
 * crs.c: the coordinate systems parceldb accepts (WGS 84 and VN-2000), the
 * resolver of the ways people write them, transformations pinned to
 * EPSG:6960, and the plausibility check of surveyed coordinates.
 * docs/coordinates.md is the long form of the rules.
 */
#include "crs.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The one datum transformation VN-2000 <-> WGS 84 may use: the 7-parameter
 * Helmert of the national standard (coordinate-frame rotations), 1 m. */
#define PINNED_CODE "6960"
#define PINNED_TEXT "EPSG:6960 (VN-2000 to WGS 84 (2), 1 m)"

/* Vietnam in WGS 84 degrees; a point outside this box is no parcel of ours. */
#define VN_MIN_LON 102.1
#define VN_MAX_LON 109.5
#define VN_MIN_LAT 8.2
#define VN_MAX_LAT 23.4

/* How far from its central meridian a zone is used, in degrees of longitude.
 * The EPSG areas of use of the TM-3 zones reach at most 1.53 deg from it
 * (zone 491), those of the UTM zones 3.0 deg; a little more is still
 * plausible, much more means the wrong zone or a lost false easting. */
#define TM3_MAX_OFFSET_DEG 1.6
#define UTM_MAX_OFFSET_DEG 3.1

/* How to write a CRS, for the messages that refuse one. */
#define CRS_SPELLINGS                                                                              \
    "write EPSG:N with N one of 4326, 4756, 5896-5899, 9205-9218, 3405, 3406; a TM-3 "             \
    "zone by its central meridian (\"104-45\" or \"104.75\"); \"UTM48N\" or \"UTM49N\"; "          \
    "\"VN-2000\"; or \"WGS84\""

/* Every CRS parceldb accepts. Names and central meridians are EPSG's (the
 * unit test compares them with projinfo). No two TM-3 zones share a central
 * meridian, so a zone name or meridian resolves to exactly one code. */
static const pdb_crs_info registry[] = {
    {4326, PDB_CRS_GEOGRAPHIC, "WGS 84", "", NAN},
    {4756, PDB_CRS_GEOGRAPHIC, "VN-2000", "", NAN},
    {5896, PDB_CRS_TM3, "VN-2000 / TM-3 zone 481", "102-00", 102.0},
    {5897, PDB_CRS_TM3, "VN-2000 / TM-3 zone 482", "105-00", 105.0},
    {5898, PDB_CRS_TM3, "VN-2000 / TM-3 zone 491", "108-00", 108.0},
    {5899, PDB_CRS_TM3, "VN-2000 / TM-3 107-45", "107-45", 107.75},
    {9205, PDB_CRS_TM3, "VN-2000 / TM-3 103-00", "103-00", 103.0},
    {9206, PDB_CRS_TM3, "VN-2000 / TM-3 104-00", "104-00", 104.0},
    {9207, PDB_CRS_TM3, "VN-2000 / TM-3 104-30", "104-30", 104.5},
    {9208, PDB_CRS_TM3, "VN-2000 / TM-3 104-45", "104-45", 104.75},
    {9209, PDB_CRS_TM3, "VN-2000 / TM-3 105-30", "105-30", 105.5},
    {9210, PDB_CRS_TM3, "VN-2000 / TM-3 105-45", "105-45", 105.75},
    {9211, PDB_CRS_TM3, "VN-2000 / TM-3 106-00", "106-00", 106.0},
    {9212, PDB_CRS_TM3, "VN-2000 / TM-3 106-15", "106-15", 106.25},
    {9213, PDB_CRS_TM3, "VN-2000 / TM-3 106-30", "106-30", 106.5},
    {9214, PDB_CRS_TM3, "VN-2000 / TM-3 107-00", "107-00", 107.0},
    {9215, PDB_CRS_TM3, "VN-2000 / TM-3 107-15", "107-15", 107.25},
    {9216, PDB_CRS_TM3, "VN-2000 / TM-3 107-30", "107-30", 107.5},
    {9217, PDB_CRS_TM3, "VN-2000 / TM-3 108-15", "108-15", 108.25},
    {9218, PDB_CRS_TM3, "VN-2000 / TM-3 108-30", "108-30", 108.5},
    {3405, PDB_CRS_UTM, "VN-2000 / UTM zone 48N", "48N", 105.0},
    {3406, PDB_CRS_UTM, "VN-2000 / UTM zone 49N", "49N", 111.0},
};

/* The first three TM-3 zones are also known by their old numbers. */
static const struct {
    int epsg;           /* registered code */
    const char *number; /* "482" as in "TM-3 zone 482" */
} legacy_zones[] = {{5896, "481"}, {5897, "482"}, {5898, "491"}};

/* EPSG deprecated these because their false easting and false northing were
 * swapped (x_0 = 0, y_0 = 500000): say which code replaces each. */
static const struct {
    int epsg;        /* deprecated code */
    int replacement; /* the code to use instead */
} deprecated_codes[] = {{6956, 5896}, {6957, 5897}, {6958, 5898}, {6959, 5899}};

/* One CRS pair's operation, created on first use and kept for the
 * context's life: creating one costs milliseconds (PROJ issue 1367). */
struct pdb__crs_op {
    int from_epsg;     /* source CRS of the pair */
    int to_epsg;       /* target CRS of the pair */
    PJ *pj;            /* lon/lat-ordered operation; NULL for the identity or a failure */
    pdb_status status; /* PDB_OK, or PDB_ECRS remembered so that PROJ is not asked again */
    char *text;        /* the operation's description, or the failure message */
};

struct pdb__crs_cache {
    struct pdb__crs_op *ops; /* one per pair asked for, in order of first use */
    size_t count;            /* entries in use */
    size_t cap;              /* entries allocated */
    size_t last;             /* index of the last hit: callers repeat the same pair */
};

/* Reads a double at index i of a strided array (stride in bytes). */
#define AT(base, stride, i) (*(double *)((char *)(base) + (i) * (stride)))

/* ------------------------------------------------------------------------ */
/* The registry                                                              */
/* ------------------------------------------------------------------------ */

const pdb_crs_info *pdb__crs_find(int epsg)
{
    for (size_t i = 0; i < PDB_COUNTOF(registry); i++)
        if (registry[i].epsg == epsg)
            return &registry[i];
    return NULL;
}

const pdb_crs_info *pdb_crs_list(size_t *count)
{
    *count = PDB_COUNTOF(registry);
    return registry;
}

/* Refuses an EPSG code that is not registered, saying what it is if PROJ
 * knows it (a user who wrote 32648 meant a UTM zone, but on WGS 84). */
static pdb_status fail_unknown_code(pdb_ctx *ctx, int epsg)
{
    char code[16];
    PJ *crs;
    pdb_status st;

    for (size_t i = 0; i < PDB_COUNTOF(deprecated_codes); i++)
        if (deprecated_codes[i].epsg == epsg)
            return pdb__fail(ctx, PDB_ECRS,
                             "EPSG:%d is deprecated (its false easting and northing are "
                             "swapped); use EPSG:%d",
                             epsg, deprecated_codes[i].replacement);
    snprintf(code, sizeof code, "%d", epsg);
    crs = epsg > 0 ? proj_create_from_database(ctx->proj, "EPSG", code, PJ_CATEGORY_CRS, 0, NULL)
                   : NULL;
    if (crs != NULL && proj_get_name(crs) != NULL && strstr(proj_get_name(crs), "UTM zone 4") &&
        (strstr(proj_get_name(crs), "48N") || strstr(proj_get_name(crs), "49N")))
        st = pdb__fail(ctx, PDB_ECRS,
                       "EPSG:%d (%s) is not a CRS parceldb accepts: surveys in UTM are on "
                       "VN-2000, EPSG:3405 (48N) or EPSG:3406 (49N)",
                       epsg, proj_get_name(crs));
    else if (crs != NULL && proj_get_name(crs) != NULL)
        st = pdb__fail(ctx, PDB_ECRS, "EPSG:%d (%s) is not a CRS parceldb accepts: %s", epsg,
                       proj_get_name(crs), CRS_SPELLINGS);
    else
        st = pdb__fail(ctx, PDB_ECRS, "EPSG:%d is not a CRS parceldb accepts: %s", epsg,
                       CRS_SPELLINGS);
    proj_destroy(crs);
    return st;
}

pdb_status pdb_crs_info_get(pdb_ctx *ctx, int epsg, pdb_crs_info *out)
{
    const pdb_crs_info *crs = pdb__crs_find(epsg);

    if (crs == NULL)
        return fail_unknown_code(ctx, epsg);
    *out = *crs;
    return pdb__ok(ctx);
}

/* ------------------------------------------------------------------------ */
/* The resolver                                                              */
/* ------------------------------------------------------------------------ */

/* Lower-cases text without its spaces into buf; 0 when empty or too long
 * (no CRS spelling is long, and the message quotes the original anyway). */
static int normalize(const char *text, char *buf, size_t cap)
{
    size_t len = 0;

    for (const char *p = text; *p != '\0'; p++) {
        if (isspace((unsigned char)*p))
            continue;
        if (len + 1 >= cap)
            return 0;
        buf[len++] = (char)tolower((unsigned char)*p);
    }
    buf[len] = '\0';
    return len > 0;
}

/* 1 and *s advanced when *s starts with prefix. */
static int strip_prefix(const char **s, const char *prefix)
{
    size_t len = strlen(prefix);

    if (strncmp(*s, prefix, len) != 0)
        return 0;
    *s += len;
    return 1;
}

/* An EPSG code: 1 to 9 digits and nothing else. */
static int parse_code(const char *s, int *code)
{
    size_t len = strspn(s, "0123456789");

    if (len == 0 || len > 9 || s[len] != '\0')
        return 0;
    *code = atoi(s);
    return 1;
}

/* A zone or datum name (normalized) to its code, or 0. */
static int resolve_name(const char *s)
{
    enum { ANY, TM3_ONLY, UTM_ONLY } only = ANY;
    int zone_word;
    char *end;
    double meridian;

    if (strcmp(s, "wgs84") == 0 || strcmp(s, "wgs-84") == 0)
        return PDB_EPSG_WGS84;
    if (strcmp(s, "vn-2000") == 0 || strcmp(s, "vn2000") == 0)
        return PDB_EPSG_VN2000_GEOG;
    /* EPSG's full names: "VN-2000 / TM-3 104-45", "VN-2000 / UTM zone 48N". */
    if (!strip_prefix(&s, "vn-2000/"))
        strip_prefix(&s, "vn2000/");
    if (strip_prefix(&s, "utm"))
        only = UTM_ONLY;
    else if (strip_prefix(&s, "tm-3") || strip_prefix(&s, "tm3"))
        only = TM3_ONLY;
    zone_word = strip_prefix(&s, "zone");
    if (*s == '\0')
        return 0;
    for (size_t i = 0; i < PDB_COUNTOF(registry); i++) {
        const pdb_crs_info *r = &registry[i];
        if (r->kind == PDB_CRS_GEOGRAPHIC || (only == TM3_ONLY && r->kind != PDB_CRS_TM3) ||
            (only == UTM_ONLY && r->kind != PDB_CRS_UTM))
            continue;
        if (strcasecmp(s, r->zone) == 0)
            return r->epsg;
    }
    if (zone_word && only != UTM_ONLY)
        for (size_t i = 0; i < PDB_COUNTOF(legacy_zones); i++)
            if (strcmp(s, legacy_zones[i].number) == 0)
                return legacy_zones[i].epsg;
    /* A central meridian in decimal degrees names a TM-3 zone only: the
     * dot keeps "105" an EPSG code, and UTM 48N shares 105.0 with 105-00. */
    if (only != UTM_ONLY && !zone_word && strchr(s, '.') != NULL) {
        meridian = strtod(s, &end);
        if (*end == '\0' && isfinite(meridian))
            for (size_t i = 0; i < PDB_COUNTOF(registry); i++)
                if (registry[i].kind == PDB_CRS_TM3 &&
                    fabs(registry[i].central_meridian_deg - meridian) < 1e-9)
                    return registry[i].epsg;
    }
    return 0;
}

pdb_status pdb_crs_resolve(pdb_ctx *ctx, const char *text, int *epsg_out)
{
    char buf[64];
    const char *s = buf;
    int code;

    *epsg_out = 0;
    if (text == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no CRS given");
    if (!normalize(text, buf, sizeof buf))
        return pdb__fail(ctx, PDB_ECRS, "unknown CRS \"%.40s\": %s", text, CRS_SPELLINGS);
    if (strip_prefix(&s, "epsg:") || parse_code(s, &code)) {
        if (!parse_code(s, &code))
            return pdb__fail(ctx, PDB_ECRS, "unknown CRS \"%.40s\": %s", text, CRS_SPELLINGS);
        if (pdb__crs_find(code) == NULL)
            return fail_unknown_code(ctx, code);
        *epsg_out = code;
        return pdb__ok(ctx);
    }
    if ((code = resolve_name(s)) == 0)
        return pdb__fail(ctx, PDB_ECRS, "unknown CRS \"%.40s\": %s", text, CRS_SPELLINGS);
    *epsg_out = code;
    return pdb__ok(ctx);
}

/* ------------------------------------------------------------------------ */
/* Choosing an operation                                                     */
/* ------------------------------------------------------------------------ */

/* 1 when obj carries the id EPSG:6960 or its inverse. */
static int is_pinned(const PJ *obj)
{
    const char *auth = proj_get_id_auth_name(obj, 0);
    const char *code = proj_get_id_code(obj, 0);

    return auth != NULL && code != NULL &&
           (strcmp(auth, "EPSG") == 0 || strcmp(auth, "INVERSE(EPSG)") == 0) &&
           strcmp(code, PINNED_CODE) == 0;
}

/* Walks an operation's steps: counts the EPSG:6960 steps, and returns 0 if
 * any other step is not a pure conversion (a different datum shift, a
 * ballpark offset, an unknown kind). Ids are checked, not names. */
static int steps_acceptable(PJ_CONTEXT *pc, const PJ *op, int *pinned)
{
    int ok = 1;

    if (proj_get_type(op) == PJ_TYPE_CONCATENATED_OPERATION) {
        int n = proj_concatoperation_get_step_count(pc, op);
        for (int i = 0; i < n && ok; i++) {
            PJ *step = proj_concatoperation_get_step(pc, op, i);
            ok = step != NULL && steps_acceptable(pc, step, pinned);
            proj_destroy(step);
        }
        return ok && n > 0;
    }
    if (is_pinned(op)) {
        (*pinned)++;
        return 1;
    }
    return proj_get_type(op) == PJ_TYPE_CONVERSION;
}

/* Adds a refused candidate's name to the list the failure message shows. */
static void note_offered(PJ_CONTEXT *pc, const PJ *op, char *buf, size_t cap)
{
    size_t len = strlen(buf);
    const char *name = proj_get_name(op);

    if (len + 1 >= cap)
        return;
    snprintf(buf + len, cap - len, "%s\"%s\"%s", len > 0 ? "; " : "", name ? name : "?",
             proj_coordoperation_has_ballpark_transformation(pc, op) == 1 ? " (ballpark)" : "");
}

static pdb_status crs_from_database(pdb_ctx *ctx, int epsg, PJ **out)
{
    char code[16];
    int err;

    snprintf(code, sizeof code, "%d", epsg);
    *out = proj_create_from_database(ctx->proj, "EPSG", code, PJ_CATEGORY_CRS, 0, NULL);
    if (*out != NULL)
        return PDB_OK;
    err = proj_context_errno(ctx->proj);
    return pdb__fail(ctx, PDB_ECRS, "PROJ cannot create EPSG:%d (%s): is its proj.db found?", epsg,
                     err ? proj_context_errno_string(ctx->proj, err) : "not in proj.db");
}

pdb_status pdb__crs_definition(pdb_ctx *ctx, int epsg, char **wkt, char **proj4)
{
    PJ *crs = NULL;
    pdb_status st;

    *wkt = *proj4 = NULL;
    if ((st = crs_from_database(ctx, epsg, &crs)) != PDB_OK)
        return st;
    const char *w = proj_as_wkt(ctx->proj, crs, PJ_WKT1_GDAL, NULL);
    const char *p = proj_as_proj_string(ctx->proj, crs, PJ_PROJ_4, NULL);
    if (w == NULL || p == NULL)
        st = pdb__fail(ctx, PDB_ECRS, "PROJ cannot write EPSG:%d as WKT and a PROJ string", epsg);
    else if ((*wkt = pdb__strdup(w)) == NULL || (*proj4 = pdb__strdup(p)) == NULL) {
        free(*wkt);
        *wkt = NULL;
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory describing EPSG:%d", epsg);
    }
    proj_destroy(crs);
    return st;
}

/* Chooses the operation from one CRS to another, in lon/lat order, and
 * describes it. A pair across the datums must go through EPSG:6960 and
 * nothing else; a pair within one datum must be pure conversions. Never
 * PROJ's first choice blindly: it may be another transformation (EPSG:5194,
 * the Mekong delta one) or a ballpark. */
static pdb_status choose_operation(pdb_ctx *ctx, int from, int to, PJ **out, char *text, size_t cap)
{
    pdb_status st = PDB_OK;
    PJ *src = NULL, *dst = NULL, *chosen = NULL;
    PJ_OPERATION_FACTORY_CONTEXT *factory = NULL;
    PJ_OBJ_LIST *candidates = NULL;
    int shift = (from == PDB_EPSG_WGS84) != (to == PDB_EPSG_WGS84);
    int count;
    char offered[256] = "";

    *out = NULL;
    if ((st = crs_from_database(ctx, from, &src)) != PDB_OK ||
        (st = crs_from_database(ctx, to, &dst)) != PDB_OK)
        goto done;
    factory = proj_create_operation_factory_context(ctx->proj, NULL);
    if (factory == NULL) {
        st = pdb__fail(ctx, PDB_ECRS, "PROJ cannot search for operations (no database?)");
        goto done;
    }
    /* Every candidate that touches the area, so that the message can show
     * what PROJ had when EPSG:6960 is not among them. */
    proj_operation_factory_context_set_spatial_criterion(
        ctx->proj, factory, PROJ_SPATIAL_CRITERION_PARTIAL_INTERSECTION);
    candidates = proj_create_operations(ctx->proj, src, dst, factory);
    count = candidates != NULL ? proj_list_get_count(candidates) : 0;
    for (int i = 0; i < count && chosen == NULL; i++) {
        PJ *cand = proj_list_get(ctx->proj, candidates, i);
        int pinned = 0;
        if (cand == NULL)
            continue;
        if (proj_coordoperation_has_ballpark_transformation(ctx->proj, cand) == 0 &&
            steps_acceptable(ctx->proj, cand, &pinned) && pinned == (shift ? 1 : 0)) {
            chosen = cand;
        } else {
            note_offered(ctx->proj, cand, offered, sizeof offered);
            proj_destroy(cand);
        }
    }
    if (chosen == NULL && shift) {
        st = pdb__fail(ctx, PDB_ECRS,
                       "no transformation from EPSG:%d to EPSG:%d through " PINNED_TEXT
                       ": PROJ offered %s; parceldb refuses any other (check PROJ's proj.db)",
                       from, to, offered[0] ? offered : "nothing");
        goto done;
    }
    if (chosen == NULL) {
        st = pdb__fail(ctx, PDB_ECRS,
                       "no exact conversion from EPSG:%d to EPSG:%d (same datum, no shift): "
                       "PROJ offered %s",
                       from, to, offered[0] ? offered : "nothing");
        goto done;
    }
    snprintf(text, cap, "%s%s", proj_get_name(chosen) ? proj_get_name(chosen) : "?",
             shift ? " (EPSG:" PINNED_CODE ")" : "");
    /* x = lon or easting, y = lat or northing, whatever EPSG's axis order. */
    if ((*out = proj_normalize_for_visualization(ctx->proj, chosen)) == NULL)
        st = pdb__fail(ctx, PDB_ECRS, "PROJ cannot put \"%s\" in lon/lat order", text);
done:
    proj_destroy(chosen);
    proj_list_destroy(candidates);
    proj_operation_factory_context_destroy(factory);
    proj_destroy(dst);
    proj_destroy(src);
    return st;
}

/* Fills op (whose pair is set) with its operation and description. The
 * identity needs no PROJ object: the same CRS on both sides. */
static pdb_status op_create(pdb_ctx *ctx, struct pdb__crs_op *op)
{
    char text[320];
    pdb_status st;

    if (op->from_epsg == op->to_epsg)
        snprintf(text, sizeof text, "none (EPSG:%d to itself)", op->from_epsg);
    else if ((st = choose_operation(ctx, op->from_epsg, op->to_epsg, &op->pj, text, sizeof text)) !=
             PDB_OK)
        return st;
    if ((op->text = pdb__strdup(text)) == NULL) {
        proj_destroy(op->pj);
        op->pj = NULL;
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    }
    return PDB_OK;
}

/* Finds (or creates and keeps) the operation of a pair. A PDB_ECRS from
 * creation is kept too and repeated: an import must not ask PROJ again for
 * each of its 10,000 parcels. *out is valid until the next call. */
static pdb_status get_op(pdb_ctx *ctx, int from, int to, struct pdb__crs_op **out)
{
    struct pdb__crs_cache *c = ctx->crs;
    struct pdb__crs_op op = {from, to, NULL, PDB_OK, NULL};
    struct pdb__crs_op *hit = NULL;
    pdb_status st;

    *out = NULL;
    if (pdb__crs_find(from) == NULL)
        return fail_unknown_code(ctx, from);
    if (pdb__crs_find(to) == NULL)
        return fail_unknown_code(ctx, to);
    if (c != NULL && c->last < c->count && c->ops[c->last].from_epsg == from &&
        c->ops[c->last].to_epsg == to)
        hit = &c->ops[c->last];
    for (size_t i = 0; c != NULL && hit == NULL && i < c->count; i++)
        if (c->ops[i].from_epsg == from && c->ops[i].to_epsg == to) {
            c->last = i;
            hit = &c->ops[i];
        }
    if (hit == NULL) {
        if (c == NULL && (c = ctx->crs = calloc(1, sizeof *c)) == NULL)
            return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        if (c->count == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 8;
            struct pdb__crs_op *ops = realloc(c->ops, cap * sizeof *ops);
            if (ops == NULL)
                return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
            c->ops = ops;
            c->cap = cap;
        }
        st = op_create(ctx, &op);
        if (st == PDB_ECRS) {
            op.status = st;
            if ((op.text = pdb__strdup(ctx->msg)) == NULL)
                return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        } else if (st != PDB_OK) {
            return st; /* out of memory: nothing to remember */
        }
        c->ops[c->count] = op;
        c->last = c->count++;
        hit = &c->ops[c->last];
    }
    if (hit->status != PDB_OK)
        return pdb__fail(ctx, hit->status, "%s", hit->text);
    *out = hit;
    return PDB_OK;
}

size_t pdb__crs_cache_count(const pdb_ctx *ctx)
{
    return ctx->crs != NULL ? ctx->crs->count : 0;
}

void pdb__crs_cache_free(pdb_ctx *ctx)
{
    struct pdb__crs_cache *c = ctx->crs;

    if (c == NULL)
        return;
    for (size_t i = 0; i < c->count; i++) {
        proj_destroy(c->ops[i].pj);
        free(c->ops[i].text);
    }
    free(c->ops);
    free(c);
    ctx->crs = NULL;
}

/* ------------------------------------------------------------------------ */
/* Transforming                                                              */
/* ------------------------------------------------------------------------ */

/* n points at strided x and y (strides in bytes), in one PROJ call. */
static pdb_status transform(pdb_ctx *ctx, int from, int to, double *x, size_t sx, double *y,
                            size_t sy, size_t n)
{
    struct pdb__crs_op *op;
    pdb_status st;

    if (n > 0 && (x == NULL || y == NULL))
        return pdb__fail(ctx, PDB_EINVAL, "no coordinates given for %zu points", n);
    if ((st = get_op(ctx, from, to, &op)) != PDB_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(AT(x, sx, i)) || !isfinite(AT(y, sy, i)))
            return pdb__fail(ctx, PDB_EINVAL, "point %zu (%g, %g) is not a pair of finite numbers",
                             i, AT(x, sx, i), AT(y, sy, i));
    if (op->pj == NULL || n == 0)
        return pdb__ok(ctx);
    proj_errno_reset(op->pj);
    proj_trans_generic(op->pj, PJ_FWD, x, sx, n, y, sy, n, NULL, 0, 0, NULL, 0, 0);
    /* PROJ marks a point it cannot transform with HUGE_VAL, and goes on. */
    for (size_t i = 0; i < n; i++)
        if (!isfinite(AT(x, sx, i)) || !isfinite(AT(y, sy, i))) {
            int err = proj_errno(op->pj);
            proj_errno_reset(op->pj);
            return pdb__fail(ctx, PDB_ECRS,
                             "point %zu does not transform from EPSG:%d to EPSG:%d (%s)", i, from,
                             to, err ? proj_context_errno_string(ctx->proj, err) : "out of range");
        }
    proj_errno_reset(op->pj);
    return pdb__ok(ctx);
}

pdb_status pdb_crs_transform(pdb_ctx *ctx, int from_epsg, int to_epsg, double *x, double *y,
                             size_t n)
{
    return transform(ctx, from_epsg, to_epsg, x, sizeof *x, y, sizeof *y, n);
}

pdb_status pdb__crs_transform_xy(pdb_ctx *ctx, int from_epsg, int to_epsg, double *xy, size_t n)
{
    return transform(ctx, from_epsg, to_epsg, xy, 2 * sizeof *xy, xy != NULL ? xy + 1 : NULL,
                     2 * sizeof *xy, n);
}

pdb_status pdb_crs_operation_name(pdb_ctx *ctx, int from_epsg, int to_epsg, const char **name_out)
{
    struct pdb__crs_op *op;
    pdb_status st;

    *name_out = NULL;
    if ((st = get_op(ctx, from_epsg, to_epsg, &op)) != PDB_OK)
        return st;
    *name_out = op->text;
    return pdb__ok(ctx);
}

/* ------------------------------------------------------------------------ */
/* Plausibility                                                              */
/* ------------------------------------------------------------------------ */

/* What a point in a CRS turns out to be, once in WGS 84. */
enum fit { FITS, NO_TRANSFORM, OUTSIDE_VIETNAM, OFF_ZONE };

static int in_vietnam(double lon, double lat)
{
    return lon >= VN_MIN_LON && lon <= VN_MAX_LON && lat >= VN_MIN_LAT && lat <= VN_MAX_LAT;
}

/* Puts (x, y) of crs into WGS 84 and judges it. *lon and *lat are the
 * location (for messages); PDB_ECRS only when the operation is missing,
 * since a point that does not transform is an answer, not a failure. */
static pdb_status locate(pdb_ctx *ctx, const pdb_crs_info *crs, double x, double y, double *lon,
                         double *lat, enum fit *fit)
{
    struct pdb__crs_op *op;
    pdb_status st;
    double offset_deg;

    if ((st = get_op(ctx, crs->epsg, PDB_EPSG_WGS84, &op)) != PDB_OK)
        return st;
    *lon = x;
    *lat = y;
    if (op->pj != NULL) {
        PJ_COORD c = proj_coord(x, y, 0.0, 0.0);
        proj_errno_reset(op->pj);
        c = proj_trans(op->pj, PJ_FWD, c);
        proj_errno_reset(op->pj);
        *lon = c.v[0];
        *lat = c.v[1];
    }
    offset_deg = fabs(*lon - crs->central_meridian_deg);
    if (!isfinite(*lon) || !isfinite(*lat))
        *fit = NO_TRANSFORM;
    else if (!in_vietnam(*lon, *lat))
        *fit = OUTSIDE_VIETNAM;
    else if ((crs->kind == PDB_CRS_TM3 && offset_deg > TM3_MAX_OFFSET_DEG) ||
             (crs->kind == PDB_CRS_UTM && offset_deg > UTM_MAX_OFFSET_DEG))
        *fit = OFF_ZONE;
    else
        *fit = FITS;
    return PDB_OK;
}

static pdb_status check_geographic(pdb_ctx *ctx, const pdb_crs_info *crs, double x, double y)
{
    pdb_status st;
    double lon, lat, lon2, lat2;
    enum fit fit, fit2 = NO_TRANSFORM;

    if ((st = locate(ctx, crs, x, y, &lon, &lat, &fit)) != PDB_OK)
        return st;
    if (fit == FITS)
        return pdb__ok(ctx);
    if (fabs(x) <= 90.0 && (st = locate(ctx, crs, y, x, &lon2, &lat2, &fit2)) != PDB_OK)
        return st;
    if (fit2 == FITS)
        return pdb__fail(ctx, PDB_EPLAUSIBLE,
                         "(%.6f, %.6f) in EPSG:%d is outside Vietnam, but inside it the other "
                         "way round: the axes are swapped (lat, lon); give x = longitude, "
                         "y = latitude (GeoJSON order)",
                         x, y, crs->epsg);
    if (fabs(x) > 180.0 || fabs(y) > 90.0)
        return pdb__fail(ctx, PDB_EPLAUSIBLE,
                         "(%.3f, %.3f) in EPSG:%d (%s) are not degrees: they look like "
                         "projected metres (easting, northing); declare the survey's projected "
                         "CRS, e.g. EPSG:9208 (VN-2000 / TM-3 104-45, Phu Tho)",
                         x, y, crs->epsg, crs->name);
    return pdb__fail(ctx, PDB_EPLAUSIBLE,
                     "lon %.6f, lat %.6f in EPSG:%d is outside Vietnam (lon %.1f to %.1f, lat "
                     "%.1f to %.1f in WGS 84): wrong numbers or wrong CRS",
                     x, y, crs->epsg, VN_MIN_LON, VN_MAX_LON, VN_MIN_LAT, VN_MAX_LAT);
}

static pdb_status check_projected(pdb_ctx *ctx, const pdb_crs_info *crs, double x, double y)
{
    pdb_status st;
    double lon, lat, lon2, lat2;
    enum fit fit, fit2;

    /* No Vietnamese easting or northing is under 180 m: these are degrees. */
    if (fabs(x) <= 180.0 && fabs(y) <= 180.0)
        return pdb__fail(ctx, PDB_EPLAUSIBLE,
                         "(%.6f, %.6f) in EPSG:%d (%s) looks like degrees (longitude, latitude), "
                         "not metres: the data is geographic; declare EPSG:4756 (VN-2000) or "
                         "EPSG:4326 (WGS 84) instead",
                         x, y, crs->epsg, crs->name);
    if ((st = locate(ctx, crs, x, y, &lon, &lat, &fit)) != PDB_OK)
        return st;
    if (fit == FITS)
        return pdb__ok(ctx);
    if ((st = locate(ctx, crs, y, x, &lon2, &lat2, &fit2)) != PDB_OK)
        return st;
    if (fit2 == FITS)
        return pdb__fail(ctx, PDB_EPLAUSIBLE,
                         "x %.3f looks like a northing and y %.3f like an easting in EPSG:%d: "
                         "the axes are swapped; Vietnamese documents write X = northing, Y = "
                         "easting: give easting, northing (x = E), or state the Vietnamese "
                         "order (--vn-xy X,Y)",
                         x, y, crs->epsg);
    switch (fit) {
    case NO_TRANSFORM:
        return pdb__fail(ctx, PDB_EPLAUSIBLE,
                         "E %.3f, N %.3f is outside what EPSG:%d (%s) can transform: these are "
                         "not coordinates of this CRS",
                         x, y, crs->epsg, crs->name);
    case OUTSIDE_VIETNAM:
        return pdb__fail(ctx, PDB_EPLAUSIBLE,
                         "E %.3f, N %.3f in EPSG:%d (%s) falls at lon %.4f, lat %.4f (WGS 84), "
                         "outside Vietnam: wrong CRS or wrong numbers",
                         x, y, crs->epsg, crs->name, lon, lat);
    default:
        return pdb__fail(ctx, PDB_EPLAUSIBLE,
                         "E %.3f, N %.3f in EPSG:%d (%s) falls %.2f deg from the zone's central "
                         "meridian (%.2f; a zone is used to about %.1f deg either side): wrong "
                         "zone, or an easting without its 500000 m false easting; Phu Tho "
                         "surveys use EPSG:9208 (104-45), Vinh Phuc EPSG:5897 (105-00), Hoa "
                         "Binh EPSG:9211 (106-00)",
                         x, y, crs->epsg, crs->name, fabs(lon - crs->central_meridian_deg),
                         crs->central_meridian_deg,
                         crs->kind == PDB_CRS_TM3 ? TM3_MAX_OFFSET_DEG : UTM_MAX_OFFSET_DEG);
    }
}

pdb_status pdb_crs_check_point(pdb_ctx *ctx, int epsg, double x, double y)
{
    const pdb_crs_info *crs = pdb__crs_find(epsg);

    if (crs == NULL)
        return fail_unknown_code(ctx, epsg);
    if (!isfinite(x) || !isfinite(y))
        return pdb__fail(ctx, PDB_EINVAL, "(%g, %g) is not a pair of finite numbers", x, y);
    if (crs->kind == PDB_CRS_GEOGRAPHIC)
        return check_geographic(ctx, crs, x, y);
    return check_projected(ctx, crs, x, y);
}
