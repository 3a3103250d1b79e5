/*
 * national.c: provinces beyond Phu Tho, for the national-scale run
 * (issue 17): `pdb-synth --provinces N`.
 *
 * We have no official list of the country's 3,321 communes, so the
 * provinces are made up: province p (0-based) has communes numbered
 * 10000 + 500 p + 3 k (k = 0, 1, ...), above every code of Phu Tho
 * (04792-09154) and stepping by 3 as real codes do (the codes between two
 * communes are the former communes merged into the first). The code tells
 * the province and the place in it, so the layout needs nothing else.
 *
 * Each province is a block of 12 x 13 commune cells of Phu Tho's size
 * (0.07 x 0.065 deg, about 7.3 x 7.2 km: 0.84 x 0.845 deg in all), centred
 * at one of the slots below, in the VN-2000 TM-3 zone whose central
 * meridian is nearest (0.5 deg away at most, so every parcel lies within
 * 0.95 deg of it: inside the zone's area of use, 1.5 deg either side).
 * The slots follow the country from the northern mountains to Ca Mau,
 * apart from each other and from the Phu Tho layout (lon 104.80-105.78,
 * lat 20.40-21.90), so that no two communes overlap even in a store that
 * holds Phu Tho as well. A plausible map, not a gazetteer.
 */
#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAT_CODE0 10000    /* the first code of province 0 */
#define NAT_CODES_PER 500  /* codes per province */
#define NAT_COLS 12        /* commune cells per row of a province's block */
#define NAT_ROWS 13        /* rows of a block */
#define NAT_CELL_LON 0.07  /* degrees, as Phu Tho's layout (layout.c) */
#define NAT_CELL_LAT 0.065 /* degrees */
#define NAT_URBAN_PER 10   /* the first communes of a province are wards */

/* Province centres, lon and lat in degrees (blocks 0.84 x 0.845 deg). */
static const double slots[][2] = {
    {103.00, 22.50}, {103.90, 22.50}, {104.80, 22.50}, {105.70, 22.50}, {106.60, 22.50},
    {103.00, 21.55}, {103.90, 21.55}, {106.25, 21.55}, {107.15, 21.55}, {103.90, 20.65},
    {106.25, 20.65}, {104.90, 19.75}, {105.80, 19.75}, {104.70, 18.85}, {105.60, 18.85},
    {106.20, 17.60}, {107.40, 16.50}, {108.20, 15.50}, {108.00, 14.40}, {108.90, 14.40},
    {108.30, 13.30}, {108.20, 12.30}, {107.30, 12.30}, {106.80, 11.30}, {107.70, 11.30},
    {106.00, 10.40}, {105.10, 10.40}, {105.75, 9.50},  {104.85, 9.00},
};

/* The VN-2000 TM-3 zones (crs.c's registry), for the nearest meridian. */
static const int tm3_zones[] = {5896, 5897, 5898, 5899, 9205, 9206, 9207, 9208, 9209,
                                9210, 9211, 9212, 9213, 9214, 9215, 9216, 9217, 9218};

/* Syllables of made-up commune names (UTF-8, NFC). */
static const char *const syllables[] = {
    "An",    "Bình",  "Cát",  "Đông",  "Hà",    "Hòa",  "Hưng", "Lạc",   "Long",
    "Minh",  "Ngọc",  "Phú",  "Phúc",  "Quang", "Sơn",  "Tân",  "Thạch", "Thanh",
    "Thịnh", "Thuận", "Tiến", "Trung", "Văn",   "Vĩnh", "Xuân", "Yên",
};

size_t synth_national_max_provinces(void)
{
    return sizeof slots / sizeof slots[0];
}

size_t synth_national_max_communes(void)
{
    return NAT_COLS * NAT_ROWS;
}

int synth_national_cell(const char *code, double cell[4])
{
    int c = atoi(code);
    if (c < NAT_CODE0)
        return -1;
    size_t p = (size_t)(c - NAT_CODE0) / NAT_CODES_PER;
    size_t k = (size_t)((c - NAT_CODE0) % NAT_CODES_PER) / 3;
    if (p >= synth_national_max_provinces() || k >= synth_national_max_communes())
        return -1;
    double lon0 = slots[p][0] - NAT_COLS * NAT_CELL_LON / 2.0;
    double lat1 = slots[p][1] + NAT_ROWS * NAT_CELL_LAT / 2.0; /* communes run north to south */
    cell[0] = lon0 + (double)(k % NAT_COLS) * NAT_CELL_LON;
    cell[3] = lat1 - (double)(k / NAT_COLS) * NAT_CELL_LAT;
    cell[2] = cell[0] + NAT_CELL_LON;
    cell[1] = cell[3] - NAT_CELL_LAT;
    return 0;
}

int synth_national_make(pdb_ctx *ctx, size_t provinces, size_t per_province, synth_national *out,
                        char *err, size_t errlen)
{
    size_t n = provinces * per_province, nsyl = sizeof syllables / sizeof syllables[0];

    memset(out, 0, sizeof *out);
    out->refs = calloc(n, sizeof *out->refs);
    out->strings = calloc(n, SYNTH_NAT_STRING);
    out->zones = calloc(n, sizeof *out->zones);
    if (out->refs == NULL || out->strings == NULL || out->zones == NULL) {
        synth_national_free(out);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t p = 0; p < provinces; p++) {
        /* The zone whose central meridian is nearest the province's centre. */
        pdb_crs_info best = {0}, info;
        for (size_t z = 0; z < sizeof tm3_zones / sizeof tm3_zones[0]; z++) {
            if (pdb_crs_info_get(ctx, tm3_zones[z], &info) != PDB_OK) {
                snprintf(err, errlen, "%s", pdb_errmsg(ctx));
                synth_national_free(out);
                return -1;
            }
            if (best.epsg == 0 || fabs(info.central_meridian_deg - slots[p][0]) <
                                      fabs(best.central_meridian_deg - slots[p][0]))
                best = info;
        }
        for (size_t k = 0; k < per_province; k++) {
            size_t i = p * per_province + k;
            char *s = out->strings + i * SYNTH_NAT_STRING;
            /* code, name and province in one fixed-size slot each */
            char *code = s, *name = s + 8, *prov = s + 8 + 96;
            snprintf(code, 8, "%05zu", NAT_CODE0 + p * NAT_CODES_PER + 3 * k);
            size_t a = (p * 7 + k) % nsyl, b = (p * 3 + k * 5 + k / nsyl) % nsyl;
            if (b == a)
                b = (b + 1) % nsyl;
            snprintf(name, 96, "%s %s %s", k < NAT_URBAN_PER ? "Phường" : "Xã", syllables[a],
                     syllables[b]);
            snprintf(prov, SYNTH_NAT_STRING - 8 - 96, "Synthetic %02zu", p + 1);
            out->refs[i] = (pdb_commune_ref){code, name, prov, best.epsg};
            out->zones[i] = best.zone;
        }
    }
    out->count = n;
    return 0;
}

void synth_national_free(synth_national *nat)
{
    free(nat->refs);
    free(nat->strings);
    free(nat->zones);
    memset(nat, 0, sizeof *nat);
}

int synth_national_write_csv(const synth_national *nat, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        snprintf(err, errlen, "cannot write %s", path);
        return -1;
    }
    fputs("code,name,former_province,central_meridian,epsg\n", f);
    for (size_t i = 0; i < nat->count; i++)
        fprintf(f, "%s,%s,%s,%s,EPSG:%d\n", nat->refs[i].code, nat->refs[i].name,
                nat->refs[i].former_province, nat->zones[i], nat->refs[i].epsg);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %s", path);
        return -1;
    }
    return 0;
}
