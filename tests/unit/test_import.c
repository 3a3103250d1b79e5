/*
 * test_import.c: the importer's pure functions: numbers with decimal
 * commas, land-use codes, commune codes, field names and their DBF
 * truncations, the field-map format, CAD labels, UTF-8 checks, SHA-256.
 */
#include "imp.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static double num(const char *s)
{
    double v = -1.0;
    if (pdbi__parse_number(s, strlen(s), &v) != 0)
        return NAN;
    return v;
}

static void test_numbers(void **state)
{
    (void)state;
    assert_float_equal(num("2159.6"), 2159.6, 1e-9);
    assert_float_equal(num("2159,6"), 2159.6, 1e-9);
    assert_float_equal(num("2.159,6"), 2159.6, 1e-9);
    assert_float_equal(num("2,159.6"), 2159.6, 1e-9);
    assert_float_equal(num("2 159,6"), 2159.6, 1e-9);
    assert_float_equal(num(" 1.234.567 "), 1234567.0, 1e-9);
    assert_float_equal(num("1,234,567"), 1234567.0, 1e-9);
    assert_float_equal(num("250,5 m2"), 250.5, 1e-9);
    assert_float_equal(num("250.5m\xC2\xB2"), 250.5, 1e-9);
    assert_float_equal(num("400"), 400.0, 1e-9);
    assert_float_equal(num("0,5"), 0.5, 1e-9);
    assert_true(isnan(num("")));
    assert_true(isnan(num("abc")));
    assert_true(isnan(num("-5")));
    assert_true(isnan(num("1,2,3.4.5")));
    assert_true(isnan(num(",")));
}

static void check_landuse(const char *in, const char *want, int want_unknown)
{
    int unknown = -1;
    char *got = pdbi__landuse_normalize(in, strlen(in), &unknown);
    if (want == NULL)
        assert_null(got);
    else
        assert_string_equal(got, want);
    assert_int_equal(unknown, want_unknown);
    free(got);
}

static void test_landuse(void **state)
{
    (void)state;
    check_landuse("ONT", "ONT", 0);
    check_landuse("ONT+CLN", "ONT+CLN", 0);
    check_landuse("ont, cln", "ONT+CLN", 0);
    check_landuse("ONT/CLN", "ONT+CLN", 0);
    check_landuse("ONT; CLN", "ONT+CLN", 0);
    check_landuse(" ONT  CLN ", "ONT+CLN", 0);
    check_landuse("ONT+ONT", "ONT", 0);
    check_landuse("ONT+XYZ", "ONT+XYZ", 1);
    check_landuse("", NULL, 1);
    check_landuse(" + ", NULL, 1);
}

static void test_commune_codes(void **state)
{
    char out[6];
    (void)state;
    assert_int_equal(pdbi__commune_normalize("7894", 4, out), 0);
    assert_string_equal(out, "07894");
    assert_int_equal(pdbi__commune_normalize(" 08707 ", 7, out), 0);
    assert_string_equal(out, "08707");
    assert_int_equal(pdbi__commune_normalize("7894.0", 6, out), 0);
    assert_string_equal(out, "07894");
    assert_int_equal(pdbi__commune_normalize("007894", 6, out), 0);
    assert_string_equal(out, "07894");
    assert_int_equal(pdbi__commune_normalize("7894.5", 6, out), -1);
    assert_int_equal(pdbi__commune_normalize("123456", 6, out), -1);
    assert_int_equal(pdbi__commune_normalize("X7894", 5, out), -1);
    assert_int_equal(pdbi__commune_normalize("", 0, out), -1);
    assert_non_null(pdbi__commune_known("07894"));
    assert_null(pdbi__commune_known("99999"));
}

static void test_number_text(void **state)
{
    char *s;
    (void)state;
    s = pdbi__number_text(" 12.0 ", 6);
    assert_string_equal(s, "12");
    free(s);
    s = pdbi__number_text("12.000", 6);
    assert_string_equal(s, "12");
    free(s);
    s = pdbi__number_text("12a", 3);
    assert_string_equal(s, "12a");
    free(s);
    s = pdbi__number_text("12.5", 4);
    assert_string_equal(s, "12.5");
    free(s);
    assert_null(pdbi__number_text("  ", 2));
}

static void test_field_names(void **state)
{
    (void)state;
    assert_int_equal(pdbi__field_alias_rank(PDBI_T_SHEET, "SoHieuToBanDo"), 0);
    /* A DBF cut: after every whole name (sheet has 10). */
    assert_int_equal(pdbi__field_alias_rank(PDBI_T_SHEET, "SOHIEUTOBA"), 10);
    assert_int_equal(pdbi__field_alias_rank(PDBI_T_SHEET, "shbando"), 1);
    assert_true(pdbi__field_alias_rank(PDBI_T_SHEET, "So_To") >= 0);
    assert_int_equal(pdbi__field_alias_rank(PDBI_T_SHEET, "So"), -1); /* short, not a cut */
    assert_int_equal(pdbi__field_alias_rank(PDBI_T_PARCEL, "SoThuTuThu"), 7);
    assert_true(pdbi__field_alias_rank(PDBI_T_PARCEL, "So_Thua") >= 0);
    assert_true(pdbi__field_alias_rank(PDBI_T_PARCEL, "THUA") >= 0);
    assert_int_equal(pdbi__field_alias_rank(PDBI_T_LANDUSE, "KyHieuMucD"), 8);
    assert_true(pdbi__field_alias_rank(PDBI_T_LANDUSE, "mdsd") >= 0);
    assert_true(pdbi__field_alias_rank(PDBI_T_AREA, "Shape_Area") >
                pdbi__field_alias_rank(PDBI_T_AREA, "DienTich"));
    assert_true(pdbi__field_alias_rank(PDBI_T_OWNER, "Ho_Ten") >= 0);
    assert_true(pdbi__field_alias_rank(PDBI_T_ADDRESS, "Dia_Chi") >= 0);
    assert_true(pdbi__field_alias_rank(PDBI_T_COMMUNE, "MaXa") >= 0);
    assert_int_equal(pdbi__field_alias_rank(PDBI_T_COMMUNE, "MaXaCu"), -1);
    assert_true(pdbi__field_alias_rank(PDBI_T_FORMER, "MaXaCu") >= 0);
}

static void test_resolve(void **state)
{
    const char *names[] = {"MaXa",       "SoHieuToBa", "SoThuTuThu", "DienTich",
                           "DienTichPL", "KyHieuMucD", "TenChu",     "DiaChi"};
    int idx[PDBI_T_COUNT];
    pdbi_ctx ic;
    pdbi__ctx_init(&ic, NULL);
    pdbi_fieldmap fm = {0};
    (void)state;

    assert_int_equal(pdbi__fieldmap_resolve(&ic, NULL, names, 8, idx), PDB_OK);
    assert_int_equal(idx[PDBI_T_COMMUNE], 0);
    assert_int_equal(idx[PDBI_T_SHEET], 1);
    assert_int_equal(idx[PDBI_T_PARCEL], 2);
    assert_int_equal(idx[PDBI_T_AREA], 3); /* DienTich before DienTichPL */
    assert_int_equal(idx[PDBI_T_LANDUSE], 5);
    assert_int_equal(idx[PDBI_T_OWNER], 6);
    assert_int_equal(idx[PDBI_T_ADDRESS], 7);
    assert_int_equal(idx[PDBI_T_FORMER], -1);

    assert_int_equal(pdbi__fieldmap_parse(&ic, "area=dientichpl\n", "m", &fm), PDB_OK);
    assert_int_equal(pdbi__fieldmap_resolve(&ic, &fm, names, 8, idx), PDB_OK);
    assert_int_equal(idx[PDBI_T_AREA], 4);
    pdbi__fieldmap_clear(&fm);

    assert_int_equal(pdbi__fieldmap_parse(&ic, "sheet=Nope\n", "m", &fm), PDB_OK);
    assert_int_equal(pdbi__fieldmap_resolve(&ic, &fm, names, 8, idx), PDB_ENOTFOUND);
    assert_non_null(strstr(pdbi_errmsg(&ic), "'Nope' for sheet"));
    assert_non_null(strstr(pdbi_errmsg(&ic), "MaXa, SoHieuToBa"));
    pdbi__fieldmap_clear(&fm);
}

static void test_fieldmap_format(void **state)
{
    pdbi_fieldmap fm = {0};
    pdbi_ctx ic;
    pdbi__ctx_init(&ic, NULL);
    (void)state;

    assert_int_equal(pdbi__fieldmap_parse(&ic,
                                          "\xEF\xBB\xBF# comment\r\n\r\n sheet = To So \r\n"
                                          "PARCEL=Thua\nformer_commune=XaCu",
                                          "m", &fm),
                     PDB_OK);
    assert_string_equal(fm.source[PDBI_T_SHEET], "To So");
    assert_string_equal(fm.source[PDBI_T_PARCEL], "Thua");
    assert_string_equal(fm.source[PDBI_T_FORMER], "XaCu");
    assert_null(fm.source[PDBI_T_OWNER]);
    pdbi__fieldmap_clear(&fm);

    assert_int_equal(pdbi__fieldmap_parse(&ic, "sheet=A\nsheet=B\n", "m", &fm), PDB_EINVAL);
    assert_non_null(strstr(pdbi_errmsg(&ic), "m:2: target 'sheet' mapped twice"));
    assert_int_equal(pdbi__fieldmap_parse(&ic, "sheet A\n", "m", &fm), PDB_EINVAL);
    assert_non_null(strstr(pdbi_errmsg(&ic), "m:1: expected"));
    assert_int_equal(pdbi__fieldmap_parse(&ic, "owner=\n", "m", &fm), PDB_EINVAL);
    assert_int_equal(pdbi__fieldmap_parse(&ic, "colour=X\n", "m", &fm), PDB_EINVAL);
    assert_non_null(strstr(pdbi_errmsg(&ic), "unknown target 'colour'"));
    assert_null(fm.source[PDBI_T_SHEET]);
}

struct pairs {
    char got[512]; /* "k=v|k=v|" */
};

static void on_pair(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
    struct pairs *p = arg;
    size_t n = strlen(p->got);
    snprintf(p->got + n, sizeof p->got - n, "%.*s=%.*s|", (int)kl, k, (int)vl, v);
}

static void test_labels(void **state)
{
    struct pairs p = {""};
    (void)state;
    assert_int_equal(
        pdbi__label_pairs("SoTo=12; SoThua = 5\nLoaiDat:ONT|DienTich=2.159,6\\PTenChu=A B", on_pair,
                          &p),
        5);
    assert_string_equal(p.got, "SoTo=12|SoThua=5|LoaiDat=ONT|DienTich=2.159,6|TenChu=A B|");
    p.got[0] = '\0';
    assert_int_equal(pdbi__label_pairs("just a note", on_pair, &p), 0);
    assert_int_equal(pdbi__label_pairs("12/ 5/ONT+CLN/2.159,6", on_pair, &p), 4);
    assert_string_equal(p.got, "sheet=12|parcel=5|landuse=ONT+CLN|area=2.159,6|");
    p.got[0] = '\0';
    assert_int_equal(pdbi__label_pairs("/7/LUA", on_pair, &p), 3);
    assert_string_equal(p.got, "sheet=|parcel=7|landuse=LUA|");
}

static void test_utf8_and_area(void **state)
{
    (void)state;
    assert_true(pdbi__utf8_valid("Nguy\xE1\xBB\x85n", 8));
    assert_false(pdbi__utf8_valid("Nguy\xD4n", 6));    /* TCVN3 */
    assert_false(pdbi__utf8_valid("\xC0\x80", 2));     /* overlong */
    assert_false(pdbi__utf8_valid("\xED\xA0\x80", 3)); /* surrogate */
    assert_false(pdbi__utf8_valid("\xE1\xBB", 2));     /* cut short */
    assert_true(pdbi__is_ascii("abc", 3));
    assert_false(pdbi__is_ascii("\xC3\xA1", 2));
    assert_false(pdbi__area_mismatch(400, 400, 0.05, 1.0));
    assert_false(pdbi__area_mismatch(410, 400, 0.05, 1.0));
    assert_true(pdbi__area_mismatch(500, 400, 0.05, 1.0));
    assert_false(pdbi__area_mismatch(10.5, 10.0, 0.05, 1.0)); /* under 1 m2 */
    assert_true(pdbi__area_mismatch(12, 10.0, 0.05, 1.0));
    assert_false(pdbi__area_mismatch(NAN, 10.0, 0.05, 1.0));
}

static void test_sha256(void **state)
{
    char hex[65];
    (void)state;
    /* FIPS 180-2 test vectors. */
    pdbi__sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    pdbi__sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_encodings(void **state)
{
    pdbi_textenc enc;
    pdbi_ctx ic;
    pdbi__ctx_init(&ic, NULL);
    pdbi_enc e;
    (void)state;

    assert_int_equal(pdbi__enc_parse("TCVN3", &e), 0);
    assert_int_equal(e, PDBI_ENC_TCVN3);
    assert_int_equal(pdbi__enc_parse("cp1258", &e), 0);
    assert_int_equal(e, PDBI_ENC_CP1258);
    assert_int_equal(pdbi__enc_parse("ebcdic", &e), -1);

    /* "Nguyễn Văn Tường", "Trần Thị Hồng" in TCVN3. */
    const char *tcvn3[] = {"Nguy\xD4n V\xA8n T\xAD\xEAng", "Tr\xC7n Th\xDE H\xE5ng"};
    size_t lens[] = {strlen(tcvn3[0]), strlen(tcvn3[1])};
    assert_int_equal(pdbi__enc_choose(&ic, 0, NULL, tcvn3, lens, 2, &enc), PDB_OK);
    assert_int_equal(enc.kind, PDBI_ENC_TCVN3);
    char *u = pdbi__text_to_utf8(PDBI_ENC_TCVN3, tcvn3[0], lens[0]);
    assert_string_equal(u, "Nguy\xE1\xBB\x85n V\xC4\x83n T\xC6\xB0\xE1\xBB\x9Dng");
    free(u);
    /* Windows-1258 writes the tone as a combining mark; NFC composes it. */
    u = pdbi__text_to_utf8(PDBI_ENC_CP1258, "Nguy\xEA\xDEn", 7);
    assert_string_equal(u, "Nguy\xE1\xBB\x85n");
    free(u);
    /* A stray invalid byte is kept visibly, not dropped. */
    u = pdbi__text_to_utf8(PDBI_ENC_UTF8,
                           "a\xFF"
                           "b",
                           3);
    assert_string_equal(u, "a\xEF\xBF\xBD"
                           "b");
    free(u);
}

/* pdbi__date_parse: the forms surveys write, what each becomes, and what
 * is not a date. */
static void test_dates(void **state)
{
    (void)state;
    static const char *const good[][2] = {
        {"2015-03-01", "2015-03-01"},
        {"2015/03/01", "2015-03-01"},
        {" 01/02/2016 ", "2016-02-01"},
        {"01-02-2016", "2016-02-01"},
        {"01/02/2016 08:30", "2016-02-01T08:30:00"},
        {"2016-02-01T08:30:15.250+07:00", "2016-02-01T08:30:15"},
        {"2016/02/01 00:00:00", "2016-02-01"},
        {"2016-02-01 10:00:00Z", "2016-02-01T10:00:00"},
        {"29/02/2016", "2016-02-29"},
    };
    static const char *const bad[] = {
        "2016-31-31", "29/02/2015", "2016-02-30", "02/2016",  "2016-2-1",         "2016-02-01x",
        "mua xuan",   "",           "2016-02/01", "01/02/16", "2016-02-01 25:00", "1850-01-01",
    };
    char out[20];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(pdbi__date_parse(good[i][0], strlen(good[i][0]), out), 0);
        assert_string_equal(out, good[i][1]);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (pdbi__date_parse(bad[i], strlen(bad[i]), out) == 0)
            fail_msg("'%s' read as the date %s", bad[i], out);
}

/* The national names, whole and as a DBF and GDAL cut them, take their
 * targets beside the current numbers. */
static void test_national_names(void **state)
{
    (void)state;
    const char *names[] = {"SoHieuToBa", "SoThuTuThu", "SoHieuTo_1", "SoThuTuT_1",
                           "DienTichPh", "SoHieuGCN",  "ThoiDiemBa", "ThoiDiemKe"};
    int idx[PDBI_T_COUNT];
    pdbi_ctx ic;
    pdbi__ctx_init(&ic, NULL);
    assert_int_equal(pdbi__fieldmap_resolve(&ic, NULL, names, 8, idx), PDB_OK);
    assert_int_equal(idx[PDBI_T_SHEET], 0);
    assert_int_equal(idx[PDBI_T_PARCEL], 1);
    assert_int_equal(idx[PDBI_T_PREV_SHEET], 2);
    assert_int_equal(idx[PDBI_T_PREV_PARCEL], 3);
    assert_int_equal(idx[PDBI_T_AREA], 4);
    assert_int_equal(idx[PDBI_T_CERTIFICATE], 5);
    assert_int_equal(idx[PDBI_T_RECORD_START], 6);
    assert_int_equal(idx[PDBI_T_RECORD_END], 7);
    /* Short current names and the previous ones cut (no collision, so no
     * _1): the whole names are the current numbers. */
    const char *cut[] = {"SoHieuToBa", "SoThuTuThu", "SoTo", "SoThua"};
    assert_int_equal(pdbi__fieldmap_resolve(&ic, NULL, cut, 4, idx), PDB_OK);
    assert_int_equal(idx[PDBI_T_SHEET], 2);
    assert_int_equal(idx[PDBI_T_PARCEL], 3);
    assert_int_equal(idx[PDBI_T_PREV_SHEET], 0);
    assert_int_equal(idx[PDBI_T_PREV_PARCEL], 1);
    const char *whole[] = {"SoHieuToBanDoCu", "SoThuTuThuaCu", "SoHieuToBanDo", "SoThuTuThua"};
    assert_int_equal(pdbi__fieldmap_resolve(&ic, NULL, whole, 4, idx), PDB_OK);
    assert_int_equal(idx[PDBI_T_SHEET], 2);
    assert_int_equal(idx[PDBI_T_PARCEL], 3);
    assert_int_equal(idx[PDBI_T_PREV_SHEET], 0);
    assert_int_equal(idx[PDBI_T_PREV_PARCEL], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),         cmocka_unit_test(test_landuse),
        cmocka_unit_test(test_commune_codes),   cmocka_unit_test(test_number_text),
        cmocka_unit_test(test_field_names),     cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_fieldmap_format), cmocka_unit_test(test_labels),
        cmocka_unit_test(test_utf8_and_area),   cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_encodings),       cmocka_unit_test(test_dates),
        cmocka_unit_test(test_national_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
