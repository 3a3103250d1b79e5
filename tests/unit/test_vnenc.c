/*
 * test_vnenc.c: the Vietnamese legacy text codecs (import/vnenc.c).
 *
 * The expected legacy bytes for a few words are the published TCVN3 and VNI
 * codes (e.g. "Nguyễn" is "NguyÔn" in .VnTime and "Nguyeãn" in VNI-Times);
 * the whole TCVN3 table is checked against glibc's TCVN5712-1 (VN1), which
 * shares every code VN3 has.
 */
#include "vnenc.h"

#include <errno.h>
#include <iconv.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <uninorm.h>
#include <unistr.h>

#define PDB_TEST_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/* The 12 vowels and the 5 tones, as UTF-8 in NFD pieces: every Vietnamese
 * letter with diacritics is NFC(vowel + tone), plus đ. */
static const char *const vowels[12] = {"a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y"};
static const char *const tones[6] = {"",         "\xCC\x80", "\xCC\x81",
                                     "\xCC\x89", "\xCC\x83", "\xCC\xA3"};

/* Fills letters[] with the 67 lowercase letters that carry a diacritic
 * (ă â ê ô ơ ư đ and the 60 toned vowels), NFC, and returns the count. */
static size_t lowercase_letters(char letters[][8])
{
    size_t n = 0;
    for (int v = 0; v < 12; v++) {
        for (int t = 0; t < 6; t++) {
            char nfd[16];
            if (t == 0 && strlen(vowels[v]) == 1)
                continue; /* plain a e i o u y: ASCII */
            snprintf(nfd, sizeof nfd, "%s%s", vowels[v], tones[t]);
            char *nfc = vnenc_nfc(nfd, strlen(nfd));
            assert_non_null(nfc);
            snprintf(letters[n++], 8, "%s", nfc);
            free(nfc);
        }
    }
    snprintf(letters[n++], 8, "%s", "đ");
    return n;
}

/* Uppercases one NFC letter through a tiny table-free trick: the capital
 * of every Vietnamese letter is NFC(capital vowel + tone). */
static void uppercase_letters(char lower[][8], char upper[][8], size_t n)
{
    static const char *const cap[12] = {"A", "Ă", "Â", "E", "Ê", "I", "O", "Ô", "Ơ", "U", "Ư", "Y"};
    size_t k = 0;
    for (int v = 0; v < 12; v++) {
        for (int t = 0; t < 6; t++) {
            char nfd[16];
            if (t == 0 && strlen(vowels[v]) == 1)
                continue;
            snprintf(nfd, sizeof nfd, "%s%s", cap[v], tones[t]);
            char *nfc = vnenc_nfc(nfd, strlen(nfd));
            assert_non_null(nfc);
            snprintf(upper[k++], 8, "%s", nfc);
            free(nfc);
        }
    }
    snprintf(upper[k++], 8, "%s", "Đ");
    assert_int_equal(k, n);
    (void)lower;
}

static char *roundtrip(const char *utf8, vnenc_kind kind)
{
    size_t len = 0;
    char *legacy = vnenc_from_utf8(utf8, kind, &len);
    if (legacy == NULL)
        return NULL;
    char *back = vnenc_to_utf8(legacy, len, kind);
    free(legacy);
    return back;
}

static void test_all_letters_count(void **state)
{
    char lower[80][8], upper[80][8];
    (void)state;
    size_t n = lowercase_letters(lower);
    uppercase_letters(lower, upper, n);
    assert_int_equal(n, 67); /* 67 lowercase + 67 capitals = 134 */
    for (size_t i = 0; i < n; i++)
        assert_string_not_equal(lower[i], upper[i]);
}

static void test_vni_roundtrip_every_letter(void **state)
{
    char lower[80][8], upper[80][8];
    (void)state;
    size_t n = lowercase_letters(lower);
    uppercase_letters(lower, upper, n);
    for (size_t i = 0; i < n; i++) {
        char *a = roundtrip(lower[i], VNENC_VNI);
        char *b = roundtrip(upper[i], VNENC_VNI);
        assert_non_null(a);
        assert_non_null(b);
        assert_string_equal(a, lower[i]);
        assert_string_equal(b, upper[i]);
        free(a);
        free(b);
    }
}

static void test_tcvn3_roundtrip_every_letter(void **state)
{
    char lower[80][8], upper[80][8];
    int exact_capitals = 0, folded_capitals = 0;
    (void)state;
    size_t n = lowercase_letters(lower);
    uppercase_letters(lower, upper, n);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        char *a = roundtrip(lower[i], VNENC_TCVN3);
        assert_non_null(a);
        assert_string_equal(a, lower[i]);
        free(a);
        /* Every letter is one byte in TCVN3. */
        char *bytes = vnenc_from_utf8(upper[i], VNENC_TCVN3, &len);
        assert_non_null(bytes);
        assert_int_equal(len, 1);
        free(bytes);
        char *b = roundtrip(upper[i], VNENC_TCVN3);
        assert_non_null(b);
        if (strcmp(b, upper[i]) == 0) {
            exact_capitals++;
        } else {
            /* The documented loss: a toned capital comes back lowercase. */
            assert_string_equal(b, lower[i]);
            folded_capitals++;
        }
        free(b);
    }
    assert_int_equal(exact_capitals, 7); /* Ă Â Ê Ô Ơ Ư Đ */
    assert_int_equal(folded_capitals, 60);
}

/* Every code TCVN3 assigns decodes as glibc's TCVN5712-1 (VN1) decodes it. */
static void test_tcvn3_matches_glibc_vn1(void **state)
{
    (void)state;
    iconv_t cd = iconv_open("UTF-8", "TCVN5712-1");
    if (cd == (iconv_t)-1)
        skip();
    int assigned = 0;
    for (int c = 0xA1; c <= 0xFF; c++) {
        char in = (char)c;
        char *ours = vnenc_to_utf8(&in, 1, VNENC_TCVN3);
        if (ours == NULL)
            continue; /* not in VN3 */
        assigned++;
        char theirs[16] = {0}, *ip = &in, *op = theirs;
        size_t il = 1, ol = sizeof theirs - 1;
        iconv(cd, NULL, NULL, NULL, NULL);
        assert_int_not_equal(iconv(cd, &ip, &il, &op, &ol), (size_t)-1);
        iconv(cd, NULL, NULL, &op, &ol); /* flush: glibc buffers a possible base letter */
        assert_string_equal(ours, theirs);
        free(ours);
    }
    iconv_close(cd);
    assert_int_equal(assigned, 74); /* 67 lowercase + Ă Â Ê Ô Ơ Ư Đ */
}

static void check_bytes(const char *utf8, vnenc_kind kind, const char *expect)
{
    size_t len = 0;
    char *got = vnenc_from_utf8(utf8, kind, &len);
    assert_non_null(got);
    assert_int_equal(len, strlen(expect));
    assert_memory_equal(got, expect, len);
    char *back = vnenc_to_utf8(got, len, kind);
    assert_non_null(back);
    free(got);
    free(back);
}

static void test_known_bytes(void **state)
{
    (void)state;
    /* TCVN3: ễ = 0xD4, ă = 0xA8, ù = 0xEF, Đ = 0xA7, ặ = 0xC6, ư = 0xAD, ờ = 0xEA. */
    check_bytes("Nguyễn Văn Hùng", VNENC_TCVN3, "Nguy\xD4n V\xA8n H\xEFng");
    check_bytes("Đặng", VNENC_TCVN3, "\xA7\xC6ng");
    check_bytes("Phường", VNENC_TCVN3, "Ph\xAD\xEAng");
    /* VNI: "Nguyeãn Vaên Huøng", "Ñaëng", "Phöôøng", "Vónh" (ĩ = 0xF3). */
    check_bytes("Nguyễn Văn Hùng", VNENC_VNI, "Nguye\xE3n Va\xEAn Hu\xF8ng");
    check_bytes("Đặng", VNENC_VNI,
                "\xD1"
                "a\xEBng");
    check_bytes("Phường Vĩnh Phúc", VNENC_VNI,
                "Ph\xF6\xF4\xF8ng V\xF3nh Phu\xF9"
                "c");
    check_bytes("ỵ Ỵ", VNENC_VNI, "\xEE \xCE");
    check_bytes("NGUYỄN", VNENC_VNI, "NGUYE\xC3N");
    check_bytes("Trương", VNENC_VNI, "Tr\xF6\xF4ng");
    check_bytes("Phạm", VNENC_VNI, "Pha\xEFm");
}

static void test_real_names(void **state)
{
    static const char *const names[] = {
        "Nguyễn Văn Hùng", "Phường Vĩnh Phúc",  "Đặng Thị Thủy",     "Trần Đức Thắng",
        "Lê Thị Hương",    "Bùi Quang Huy",     "Thôn 3, Xã Đà Bắc", "Tổ dân phố 5, Phường Âu Cơ",
        "Hoàng Ngọc Yến",  "Phạm Thị Ngọc Ánh", "Đỗ Văn Quyết",      "Vũ Thị Thu Trang",
    };
    (void)state;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *v = roundtrip(names[i], VNENC_VNI);
        assert_non_null(v);
        assert_string_equal(v, names[i]);
        free(v);
        char *t = roundtrip(names[i], VNENC_TCVN3);
        assert_non_null(t);
        if (strstr(names[i], "Ánh") == NULL)
            assert_string_equal(t, names[i]);
        else
            assert_non_null(strstr(t, "ánh")); /* the documented TCVN3 loss */
        free(t);
        char *u = roundtrip(names[i], VNENC_UTF8);
        assert_string_equal(u, names[i]);
        free(u);
    }
}

static void test_nfc(void **state)
{
    (void)state;
    /* "Nguyễn" with e + circumflex + tilde as combining marks; "Thủy" with u + hook. */
    const char *nfd = "Nguye\xCC\x82\xCC\x83n Thu\xCC\x89y";
    char *nfc = vnenc_nfc(nfd, strlen(nfd));
    assert_non_null(nfc);
    assert_string_equal(nfc, "Nguyễn Thủy");
    free(nfc);
    /* Marks in non-canonical order (dot below after circumflex) still compose. */
    const char *odd = "a\xCC\x82\xCC\xA3";
    nfc = vnenc_nfc(odd, strlen(odd));
    assert_string_equal(nfc, "ậ");
    free(nfc);
    /* vnenc_to_utf8 from UTF-8 normalises too, and legacy output is NFC. */
    char *u = vnenc_to_utf8(nfd, strlen(nfd), VNENC_UTF8);
    assert_string_equal(u, "Nguyễn Thủy");
    free(u);
    size_t len;
    char *t = vnenc_from_utf8(nfd, VNENC_TCVN3, &len);
    assert_non_null(t);
    assert_memory_equal(t, "Nguy\xD4n Th\xF1y", len);
    free(t);
}

/* vnenc_nfc skips libunistring for text it knows is NFC (code points
 * below U+0300 or in U+1E00-U+1EFF): on random strings of those, of
 * combining marks, of the characters NFC changes (U+212B ANGSTROM SIGN,
 * U+0340) and of others, its answer is libunistring's every time. */
static void test_nfc_shortcut_agrees(void **state)
{
    (void)state;
    static const ucs4_t pool[] = {
        'a',    'E',    ' ',    0x7F,   0x80,   0xC0,   0xE2,   0x110,  0x111,
        0x1A0,  0x1AF,  0x1B0,  0x2C7,  0x2FF,  0x300,  0x301,  0x303,  0x309,
        0x323,  0x340,  0x212B, 0x1E00, 0x1EA0, 0x1EA1, 0x1EC7, 0x1EF9, 0x1EFF,
        0x1F00, 0x0CC6, 0x0CC2, 0x1100, 0x1161, 0xAC00, 0x11A8, 0x4E00, 0x1F600,
    };
    uint64_t seed = 88172645463325252u;
    for (int k = 0; k < 20000; k++) {
        uint8_t text[64];
        size_t len = 0;
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        size_t n = 1 + seed % 8;
        /* Most strings from the shortcut's ranges only, some mixed. */
        size_t span = (seed >> 8) % 3 == 0 ? PDB_TEST_COUNTOF(pool) : 14;
        for (size_t i = 0; i < n; i++) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            ucs4_t cp = pool[(seed >> 16) % span];
            if (span == 14 && (seed >> 40) % 2)
                cp = 0x1E00 + (ucs4_t)((seed >> 24) % 0x100); /* any of U+1E00-U+1EFF */
            int w = u8_uctomb(text + len, cp, (int)(sizeof text - len));
            assert_true(w > 0);
            len += (size_t)w;
        }
        size_t want_len = 0;
        uint8_t *want = u8_normalize(UNINORM_NFC, text, len, NULL, &want_len);
        assert_non_null(want);
        char *got = vnenc_nfc((const char *)text, len);
        assert_non_null(got);
        assert_int_equal(strlen(got), want_len);
        assert_memory_equal(got, want, want_len);
        free(got);
        free(want);
    }
}

static void test_invalid_utf8(void **state)
{
    static const char *const bad[] = {
        "\xC3",             /* truncated sequence */
        "\xC0\xAF",         /* overlong '/' */
        "\xED\xA0\x80",     /* surrogate */
        "\xF4\x90\x80\x80", /* beyond U+10FFFF */
        "Nguy\xD4n",        /* TCVN3 bytes are not UTF-8 */
        "abc\xFF",
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        assert_null(vnenc_nfc(bad[i], strlen(bad[i])));
        assert_int_equal(errno, EILSEQ);
        assert_null(vnenc_to_utf8(bad[i], strlen(bad[i]), VNENC_UTF8));
        assert_null(vnenc_from_utf8(bad[i], VNENC_VNI, NULL));
    }
    /* A NUL byte inside the input is refused too. */
    assert_null(vnenc_to_utf8("a\0b", 3, VNENC_UTF8));
    assert_null(vnenc_to_utf8("a\0b", 3, VNENC_TCVN3));
}

static void test_invalid_legacy(void **state)
{
    (void)state;
    /* VNI: a diacritic byte after a consonant; TCVN3: a byte VN3 leaves empty. */
    assert_null(vnenc_to_utf8("H\xF9ng", 4, VNENC_VNI));
    assert_null(vnenc_to_utf8("\x83nh", 3, VNENC_TCVN3));
    /* No code for these characters. */
    errno = 0;
    assert_null(vnenc_from_utf8("Müller", VNENC_TCVN3, NULL));
    assert_int_equal(errno, EILSEQ);
    assert_null(vnenc_from_utf8("Ç", VNENC_VNI, NULL));
    assert_null(vnenc_from_utf8("Nguyễn", VNENC_LATIN1, NULL));
    /* Latin-1 (Windows-1252) both ways. */
    char *l = vnenc_to_utf8("Ren\xE9 \x80", 6, VNENC_LATIN1);
    assert_string_equal(l, "René €");
    free(l);
    size_t len;
    char *b = vnenc_from_utf8("René €", VNENC_LATIN1, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(b, "Ren\xE9 \x80", 6);
    free(b);
}

/* A column of names as a DBF would hold them in one encoding. */
static const char *const column_utf8[] = {
    "Nguyễn Văn Hùng", "Trần Thị Lan",  "Lê Đức Thắng",      "Phạm Thị Thủy", "Hoàng Văn Nam",
    "Vũ Thị Hương",    "Đặng Văn Bình", "Bùi Thị Ngọc Ánh",  "Đỗ Quang Huy",  "Hồ Thị Yến",
    "Ngô Văn Tuấn",    "Dương Thị Mai", "Thôn 3, Xã Đà Bắc", "Kiều Văn Phúc", "Đinh Công Lực",
};
#define COLUMN_N (sizeof column_utf8 / sizeof column_utf8[0])

static vnenc_kind detect_column(vnenc_kind as, double *conf)
{
    char *enc[COLUMN_N];
    size_t lens[COLUMN_N];
    for (size_t i = 0; i < COLUMN_N; i++) {
        enc[i] = vnenc_from_utf8(column_utf8[i], as, &lens[i]);
        assert_non_null(enc[i]);
    }
    vnenc_kind k = vnenc_detect((const char *const *)enc, lens, COLUMN_N, conf);
    for (size_t i = 0; i < COLUMN_N; i++)
        free(enc[i]);
    return k;
}

static void test_detect(void **state)
{
    double conf = -1;
    (void)state;
    assert_int_equal(detect_column(VNENC_UTF8, &conf), VNENC_UTF8);
    assert_true(conf > 0.8);
    assert_int_equal(detect_column(VNENC_TCVN3, &conf), VNENC_TCVN3);
    assert_true(conf > 0.8);
    assert_int_equal(detect_column(VNENC_VNI, &conf), VNENC_VNI);
    assert_true(conf > 0.8);

    /* Plain ASCII: nothing to convert, any reading is the same. */
    const char *ascii[] = {"Nguyen Van Hung", "Tran Thi Lan", "12", ""};
    size_t alens[] = {15, 12, 2, 0};
    assert_int_equal(vnenc_detect(ascii, alens, 4, &conf), VNENC_UTF8);
    assert_true(conf == 1.0);

    /* Western names in Latin-1 are Latin-1, with a low confidence. */
    const char *west[] = {"Ren\xE9 Dupr\xE9", "J\xFCrgen M\xFCller", "Fran\xE7ois"};
    size_t wlens[] = {strlen(west[0]), strlen(west[1]), strlen(west[2])};
    assert_int_equal(vnenc_detect(west, wlens, 3, &conf), VNENC_LATIN1);
    assert_true(conf < 0.5);

    /* A single TCVN3 value among ASCII ones is still found. */
    const char *one[] = {"Xom 1", "Th\xABn 3", "Xom 2"};
    size_t olens[] = {strlen(one[0]), strlen(one[1]), strlen(one[2])};
    assert_int_equal(vnenc_detect(one, olens, 3, &conf), VNENC_TCVN3);
    /* NULL entries are skipped. */
    const char *withnull[] = {NULL, "Nguy\xD4n V\xA8n H\xEFng"};
    size_t nlens[] = {0, strlen(withnull[1])};
    assert_int_equal(vnenc_detect(withnull, nlens, 2, NULL), VNENC_TCVN3);
}

static void test_names(void **state)
{
    vnenc_kind k = VNENC_UTF8;
    (void)state;
    assert_int_equal(vnenc_parse_name("ABC", &k), 0);
    assert_int_equal(k, VNENC_TCVN3);
    assert_int_equal(vnenc_parse_name("tcvn3", &k), 0);
    assert_int_equal(k, VNENC_TCVN3);
    assert_int_equal(vnenc_parse_name("VNI-Windows", &k), 0);
    assert_int_equal(k, VNENC_VNI);
    assert_int_equal(vnenc_parse_name("UTF8", &k), 0);
    assert_int_equal(k, VNENC_UTF8);
    assert_int_equal(vnenc_parse_name("1252", &k), 0);
    assert_int_equal(k, VNENC_LATIN1);
    assert_int_equal(vnenc_parse_name("klingon", &k), -1);
    assert_int_equal(k, VNENC_LATIN1);
    for (int i = VNENC_UTF8; i <= VNENC_LATIN1; i++) {
        assert_int_equal(vnenc_parse_name(vnenc_name((vnenc_kind)i), &k), 0);
        assert_int_equal(k, i);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_letters_count),
        cmocka_unit_test(test_vni_roundtrip_every_letter),
        cmocka_unit_test(test_tcvn3_roundtrip_every_letter),
        cmocka_unit_test(test_tcvn3_matches_glibc_vn1),
        cmocka_unit_test(test_known_bytes),
        cmocka_unit_test(test_real_names),
        cmocka_unit_test(test_nfc),
        cmocka_unit_test(test_nfc_shortcut_agrees),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_invalid_legacy),
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
