/*
 * fieldmap.c: which source field holds the commune, sheet, parcel number,
 * area, land use, owner and address; the names cadastral software exports,
 * and the user's --field-map file.
 */
#include "imp.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The --field-map names, by target. */
static const char *const target_names[PDBI_T_COUNT] = {
    [PDBI_T_COMMUNE] = "commune",
    [PDBI_T_FORMER] = "former_commune",
    [PDBI_T_SHEET] = "sheet",
    [PDBI_T_PARCEL] = "parcel",
    [PDBI_T_AREA] = "area",
    [PDBI_T_LANDUSE] = "landuse",
    [PDBI_T_OWNER] = "owner",
    [PDBI_T_ADDRESS] = "address",
    [PDBI_T_PREV_SHEET] = "prev_sheet",
    [PDBI_T_PREV_PARCEL] = "prev_parcel",
    [PDBI_T_CERTIFICATE] = "certificate",
    [PDBI_T_RECORD_START] = "record_start",
    [PDBI_T_RECORD_END] = "record_end",
};

/* Aliases in order of preference. Compared after dropping case, '_', '-',
 * '.' and spaces, so "So_Thua" and "SOTHUA" are one name; DBF truncations
 * to 10 characters are matched by prefix (pdbi__field_alias_rank), so they
 * need not be listed. The English names come last: they are what our own
 * exports and hand-made files use. */
static const char *const aliases_commune[] = {
    "MaXa", "MaDVHC", "MaXaPhuong", "MaDonViHanhChinh", "MaXaMoi", "commune", "commune_code", NULL};
static const char *const aliases_former[] = {"MaXaCu",         "MaXaTruoc",   "MaDVHCCu", "MaXaGoc",
                                             "former_commune", "former_code", NULL};
static const char *const aliases_sheet[] = {"SoHieuToBanDo", "SHBANDO",  "SHTOBD",  "SoTo",
                                            "ToBD",          "SoBanDo",  "ToBanDo", "SoToBanDo",
                                            "sheet",         "sheet_no", NULL};
static const char *const aliases_parcel[] = {"SoThuTuThua", "SHTHUA", "SoThua",    "Thua",
                                             "SoHieuThua",  "parcel", "parcel_no", NULL};
static const char *const aliases_area[] = {"DienTich", "DienTichPL", "DTich",      "DienTichPhapLy",
                                           "Area",     "area_m2",    "Shape_Area", NULL};
static const char *const aliases_landuse[] = {
    "KyHieuMucDichSuDung", "KHLoaiDat", "MaLoaiDat", "LoaiDat", "MDSD",
    "MucDichSuDung",       "landuse",   "land_use",  NULL};
static const char *const aliases_owner[] = {"TenChu",    "HoTen", "Chu", "TenChuSuDung",
                                            "ChuSuDung", "owner", NULL};
static const char *const aliases_address[] = {"DiaChi", "DiaChiThua", "address", NULL};
/* The national attribute set. A DBF cuts SoHieuToBanDoCu to the very
 * "SoHieuToBa" of SoHieuToBanDo, and GDAL names the second field of one
 * cut name "SoHieuTo_1" (SoThuTuThuaCu: "SoThuTuT_1"): listed, as the
 * national order puts the previous number after the current one. The
 * sheet and parcel targets come first, so the plain cut name is theirs. */
static const char *const aliases_prev_sheet[] = {"SoHieuToBanDoCu", "SoHieuTo_1", "SoToCu",
                                                 "SHToCu",          "SoToBDCu",   "ToBDCu",
                                                 "SHBanDoCu",       "prev_sheet", NULL};
static const char *const aliases_prev_parcel[] = {"SoThuTuThuaCu", "SoThuTuT_1", "SoThuaCu",
                                                  "SHThuaCu",      "ThuaCu",     "SoTTThuaCu",
                                                  "prev_parcel",   NULL};
static const char *const aliases_certificate[] = {
    "SoHieuGCN", "SoGCN", "SoSerialGCN", "SoSeriGCN", "MaGCN", "certificate", NULL};
static const char *const aliases_record_start[] = {"ThoiDiemBatDau", "TDBatDau",     "NgayBatDau",
                                                   "ThoiDiemBD",     "record_start", NULL};
static const char *const aliases_record_end[] = {"ThoiDiemKetThuc", "TDKetThuc",  "NgayKetThuc",
                                                 "ThoiDiemKT",      "record_end", NULL};

static const char *const *const aliases[PDBI_T_COUNT] = {
    [PDBI_T_COMMUNE] = aliases_commune,
    [PDBI_T_FORMER] = aliases_former,
    [PDBI_T_SHEET] = aliases_sheet,
    [PDBI_T_PARCEL] = aliases_parcel,
    [PDBI_T_AREA] = aliases_area,
    [PDBI_T_LANDUSE] = aliases_landuse,
    [PDBI_T_OWNER] = aliases_owner,
    [PDBI_T_ADDRESS] = aliases_address,
    [PDBI_T_PREV_SHEET] = aliases_prev_sheet,
    [PDBI_T_PREV_PARCEL] = aliases_prev_parcel,
    [PDBI_T_CERTIFICATE] = aliases_certificate,
    [PDBI_T_RECORD_START] = aliases_record_start,
    [PDBI_T_RECORD_END] = aliases_record_end,
};

/* The DBF format's limit on field names. */
#define DBF_NAME_MAX 10

const char *pdbi__target_name(pdbi_target t)
{
    return (unsigned)t < PDBI_T_COUNT ? target_names[t] : "?";
}

int pdbi__target_parse(const char *name)
{
    for (int t = 0; t < PDBI_T_COUNT; t++)
        if (strcasecmp(name, target_names[t]) == 0)
            return t;
    return -1;
}

const char *const *pdbi__target_aliases(pdbi_target t)
{
    return aliases[t];
}

/* Lower case without '_', '-', '.' and spaces, cut to cap - 1 bytes. */
static void fold(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s != '\0' && n + 1 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '_' || c == '-' || c == '.' || c == ' ')
            continue;
        out[n++] = (char)tolower(c);
    }
    out[n] = '\0';
}

int pdbi__field_alias_rank(pdbi_target t, const char *field)
{
    char f[128], a[128];
    size_t flen = strlen(field);

    fold(field, f, sizeof f);
    if (f[0] == '\0')
        return -1;
    int n = 0;
    for (; aliases[t][n] != NULL; n++) {
        fold(aliases[t][n], a, sizeof a);
        if (strcmp(f, a) == 0)
            return n;
    }
    /* A name the DBF cut to 10 characters: "SoHieuToBa" for SoHieuToBanDo.
     * Only full-length names count, so that "So" never matches "SoTo". A
     * cut ranks after every whole name: it is a guess (SoHieuToBa is also
     * SoHieuToBanDoCu cut), a whole name is not, so a DBF with SoTo and a
     * cut SoHieuToBanDoCu keeps SoTo as its sheet. */
    if (flen == DBF_NAME_MAX) {
        for (int i = 0; aliases[t][i] != NULL; i++) {
            fold(aliases[t][i], a, sizeof a);
            if (strlen(a) > strlen(f) && strncmp(f, a, strlen(f)) == 0)
                return n + i;
        }
    }
    return -1;
}

void pdbi__fieldmap_clear(pdbi_fieldmap *fm)
{
    for (int t = 0; t < PDBI_T_COUNT; t++) {
        free(fm->source[t]);
        fm->source[t] = NULL;
    }
}

/* Trims spaces at both ends of [*s, *e). */
static void trim_span(const char **s, const char **e)
{
    while (*s < *e && isspace((unsigned char)**s))
        (*s)++;
    while (*e > *s && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

/* pdbi__fieldmap_parse without the clean-up on failure. */
static pdb_status parse_lines(pdbi_ctx *ic, const char *text, const char *name, pdbi_fieldmap *fm)
{
    int line = 0;
    const char *p = text;

    while (*p != '\0') {
        const char *eol = strchr(p, '\n');
        const char *end = eol ? eol : p + strlen(p);
        const char *s = p, *e = end;
        line++;
        p = eol ? eol + 1 : end;
        /* A UTF-8 byte-order mark at the start of the file is not a name. */
        if (line == 1 && e - s >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3;
        trim_span(&s, &e);
        if (s == e || *s == '#')
            continue;
        const char *eq = memchr(s, '=', (size_t)(e - s));
        if (eq == NULL)
            return pdbi__fail(ic, PDB_EINVAL, "%s:%d: expected 'target=SourceField'", name, line);
        const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;
        trim_span(&ks, &ke);
        trim_span(&vs, &ve);
        char key[64];
        if ((size_t)(ke - ks) >= sizeof key || ke == ks)
            return pdbi__fail(ic, PDB_EINVAL, "%s:%d: missing target before '='", name, line);
        memcpy(key, ks, (size_t)(ke - ks));
        key[ke - ks] = '\0';
        int t = pdbi__target_parse(key);
        if (t < 0)
            return pdbi__fail(ic, PDB_EINVAL,
                              "%s:%d: unknown target '%s' (targets: commune, former_commune, "
                              "sheet, parcel, area, landuse, owner, address)",
                              name, line, key);
        if (ve == vs)
            return pdbi__fail(ic, PDB_EINVAL, "%s:%d: no source field after '%s='", name, line,
                              key);
        if (fm->source[t] != NULL)
            return pdbi__fail(ic, PDB_EINVAL, "%s:%d: target '%s' mapped twice", name, line, key);
        if ((fm->source[t] = strndup(vs, (size_t)(ve - vs))) == NULL)
            return pdbi__fail(ic, PDB_ENOMEM, "out of memory");
    }
    return PDB_OK;
}

pdb_status pdbi__fieldmap_parse(pdbi_ctx *ic, const char *text, const char *name, pdbi_fieldmap *fm)
{
    pdb_status st = parse_lines(ic, text, name, fm);
    if (st != PDB_OK)
        pdbi__fieldmap_clear(fm);
    return st;
}

pdb_status pdbi__fieldmap_load(pdbi_ctx *ic, const char *path, pdbi_fieldmap *fm)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0, cap = 0;
    pdb_status st;

    if (f == NULL)
        return pdbi__fail(ic, errno == ENOENT ? PDB_ENOTFOUND : PDB_EIO,
                          "cannot open field map %s: %s", path, strerror(errno));
    for (;;) {
        if (cap - len < 4096) {
            char *bigger = realloc(text, cap + 65536);
            if (bigger == NULL) {
                st = pdbi__fail(ic, PDB_ENOMEM, "out of memory");
                goto done;
            }
            text = bigger;
            cap += 65536;
        }
        size_t got = fread(text + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
        if (len > (1u << 20)) {
            st = pdbi__fail(ic, PDB_ELIMIT, "field map %s is larger than 1 MiB", path);
            goto done;
        }
    }
    if (ferror(f)) {
        st = pdbi__fail(ic, PDB_EIO, "cannot read field map %s", path);
        goto done;
    }
    text[len] = '\0';
    /* CRLF line ends: the '\r' is trimmed as white space. */
    st = pdbi__fieldmap_parse(ic, text, path, fm);
done:
    free(text);
    fclose(f);
    return st;
}

void pdbi__field_list(const char *const *names, size_t n, char *buf, size_t len)
{
    size_t used = 0;

    if (len == 0)
        return;
    buf[0] = '\0';
    if (n == 0) {
        snprintf(buf, len, "(none)");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= len - used) {
            /* Cut at the last whole name and say so. */
            if (len > 5) {
                size_t at = used < len - 5 ? used : len - 5;
                snprintf(buf + at, len - at, ", ...");
            }
            return;
        }
        used += (size_t)w;
    }
}

pdb_status pdbi__fieldmap_resolve(pdbi_ctx *ic, const pdbi_fieldmap *fm, const char *const *names,
                                  size_t n, int idx[PDBI_T_COUNT])
{
    int taken[1024] = {0}; /* fields already serving a target (the first 1024) */

    for (int t = 0; t < PDBI_T_COUNT; t++)
        idx[t] = -1;
    /* The user's mapping first: it wins over any alias. */
    for (int t = 0; t < PDBI_T_COUNT; t++) {
        if (fm == NULL || fm->source[t] == NULL)
            continue;
        for (size_t i = 0; i < n; i++) {
            if (strcasecmp(names[i], fm->source[t]) == 0) {
                /* One field serves one target (docs/import.md): the same
                 * field for two targets (sheet=SoThua, parcel=SoThua) is
                 * a typo that would fill both with one value. */
                for (int u = 0; u < t; u++)
                    if (idx[u] == (int)i)
                        return pdbi__fail(ic, PDB_EINVAL,
                                          "the field map names '%s' for both %s and %s; one "
                                          "field serves one target",
                                          names[i], pdbi__target_name((pdbi_target)u),
                                          pdbi__target_name((pdbi_target)t));
                idx[t] = (int)i;
                if (i < 1024)
                    taken[i] = 1;
                break;
            }
        }
        if (idx[t] < 0) {
            char list[512];
            pdbi__field_list(names, n, list, sizeof list);
            return pdbi__fail(ic, PDB_ENOTFOUND,
                              "the field map names '%s' for %s, but the file has no such "
                              "field (its fields: %s)",
                              fm->source[t], pdbi__target_name((pdbi_target)t), list);
        }
    }
    /* Then the best-ranked alias for each target left. */
    for (int t = 0; t < PDBI_T_COUNT; t++) {
        int best = -1, best_rank = 1 << 30;
        if (idx[t] >= 0)
            continue;
        for (size_t i = 0; i < n && i < 1024; i++) {
            if (taken[i])
                continue;
            int r = pdbi__field_alias_rank((pdbi_target)t, names[i]);
            if (r >= 0 && r < best_rank) {
                best = (int)i;
                best_rank = r;
            }
        }
        if (best >= 0) {
            idx[t] = best;
            taken[best] = 1;
        }
    }
    return PDB_OK;
}
