/*
 * people.c: owners and addresses, in Vietnamese (UTF-8, NFC).
 *
 * Family names follow their rough frequency in northern Vietnam (Nguyễn
 * about a third), with the Mường names of Hoa Binh (Bùi, Đinh, Quách, Xa)
 * more frequent there. State land (roads, canals, rivers, schools, offices)
 * belongs to the commune's People's Committee (UBND), shrines and pagodas to
 * the village community, some production forest to a state forestry company.
 */
#include "synth.h"

#include <stdio.h>
#include <string.h>

typedef struct wname {
    const char *name; /* UTF-8 */
    double weight;    /* relative frequency */
} wname;

static const wname family[] = {
    {"Nguyễn", 32}, {"Trần", 10}, {"Lê", 8},      {"Phạm", 6}, {"Hoàng", 4}, {"Vũ", 4},
    {"Đặng", 2},    {"Bùi", 2},   {"Đỗ", 2},      {"Hồ", 1},   {"Ngô", 1.5}, {"Dương", 1},
    {"Đinh", 1},    {"Hà", 1.5},  {"Đào", 1},     {"Kiều", 1}, {"Lương", 1}, {"Phan", 2},
    {"Cao", 0.7},   {"Mai", 0.5}, {"Triệu", 0.5}, {"Tạ", 0.5}, {"Lý", 0.5},  {"Quách", 0.3},
};
static const wname family_muong[] = {
    {"Bùi", 20}, {"Đinh", 12}, {"Quách", 6}, {"Xa", 3},    {"Hà", 5}, {"Nguyễn", 15},
    {"Trần", 4}, {"Lê", 3},    {"Phạm", 3},  {"Hoàng", 2}, {"Đỗ", 1}, {"Vũ", 1},
};
static const char *const middle_m[] = {"Văn",  "Văn",  "Văn",  "Đức",  "Hữu",  "Quang",
                                       "Minh", "Công", "Xuân", "Đình", "Tiến", "Ngọc"};
static const char *const middle_f[] = {"Thị",   "Thị", "Thị",  "Thị",  "Thu",   "Ngọc",
                                       "Thanh", "Kim", "Hồng", "Minh", "Phương"};
static const char *const given_m[] = {
    "Hùng",  "Dũng",  "Tuấn",  "Minh",  "Hải",  "Nam",   "Long",  "Thắng",  "Cường", "Quân",
    "Sơn",   "Toàn",  "Thành", "Trung", "Hưng", "Khánh", "Phúc",  "Lộc",    "Đạt",   "Hiếu",
    "Tùng",  "Việt",  "Huy",   "Bình",  "Đông", "Tiến",  "Thịnh", "Quý",    "Lực",   "Nghĩa",
    "Quyết", "Chiến", "Thủy",  "Ổn",    "Ân",   "Kiên",  "Vinh",  "Trường", "Điệp",  "Khoa",
};
static const char *const given_f[] = {
    "Hương",  "Lan",  "Hoa",  "Mai",  "Thủy",  "Hằng", "Ngọc", "Linh",   "Trang", "Huyền",
    "Phương", "Nga",  "Thảo", "Yến",  "Dung",  "Hạnh", "Liên", "Nhung",  "Oanh",  "Vân",
    "Ánh",    "Loan", "Xuân", "Hiền", "Tuyết", "Thơm", "Hòa",  "Nguyệt", "Quỳnh", "Duyên",
};
static const char *const companies[] = {
    "Công ty TNHH MTV Lâm nghiệp",
    "Công ty Lâm nghiệp",
    "Ban quản lý rừng phòng hộ",
};
static const char *const businesses[] = {
    "Công ty TNHH Thương mại Hùng Vương",
    "Công ty Cổ phần Xây dựng Phú Thọ",
    "Hợp tác xã Nông nghiệp",
    "Công ty TNHH Gạch ngói Sông Lô",
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *pick_weighted(synth_rng *r, const wname *w, size_t n)
{
    double weights[32];
    for (size_t i = 0; i < n; i++)
        weights[i] = w[i].weight;
    return w[synth_weighted(r, weights, n)].name;
}

const char *synth_commune_short_name(const synth_commune *c)
{
    const char *name = c->ref->name;
    const char *sp = strchr(name, ' ');
    /* "Xã Đà Bắc" -> "Đà Bắc"; "Phường Âu Cơ" -> "Âu Cơ". */
    return sp ? sp + 1 : name;
}

static int is_code(const char *landuse, const char *code)
{
    size_t n = strlen(code);
    return strncmp(landuse, code, n) == 0 && (landuse[n] == '\0' || landuse[n] == '+');
}

void synth_owner(synth_rng *r, const synth_commune *c, const synth_parcel *p, char *out, size_t cap)
{
    const char *lu = p->landuse;
    const char *kind = c->urban ? "phường" : "xã";

    if (is_code(lu, "DGT") || is_code(lu, "DTL") || is_code(lu, "SON") || is_code(lu, "DGD") ||
        is_code(lu, "DYT") || is_code(lu, "TSC") || is_code(lu, "DVH") || is_code(lu, "DCH") ||
        is_code(lu, "BCS") || is_code(lu, "DCS") || is_code(lu, "NTD")) {
        snprintf(out, cap, "UBND %s %s", kind, synth_commune_short_name(c));
        return;
    }
    if (is_code(lu, "TIN") || is_code(lu, "TON") || is_code(lu, "DSH")) {
        snprintf(out, cap, "Cộng đồng dân cư %s %d", c->urban ? "Tổ dân phố" : "thôn", p->hamlet);
        return;
    }
    if ((is_code(lu, "RSX") || is_code(lu, "RPH") || is_code(lu, "RSN")) && synth_chance(r, 0.3)) {
        snprintf(out, cap, "%s %s", companies[synth_below(r, N(companies))],
                 synth_commune_short_name(c));
        return;
    }
    if ((is_code(lu, "SKC") || is_code(lu, "TMD")) && synth_chance(r, 0.4)) {
        snprintf(out, cap, "%s", businesses[synth_below(r, N(businesses))]);
        return;
    }
    int muong = strcmp(c->ref->former_province, "Hoa Binh") == 0;
    const char *fam = muong ? pick_weighted(r, family_muong, N(family_muong))
                            : pick_weighted(r, family, N(family));
    if (synth_chance(r, 0.6)) {
        snprintf(out, cap, "%s %s %s", fam, middle_m[synth_below(r, N(middle_m))],
                 given_m[synth_below(r, N(given_m))]);
    } else {
        snprintf(out, cap, "%s %s %s", fam, middle_f[synth_below(r, N(middle_f))],
                 given_f[synth_below(r, N(given_f))]);
    }
}

void synth_address(const synth_commune *c, const synth_parcel *p, char *out, size_t cap)
{
    const char *village = c->urban                                           ? "Tổ dân phố"
                          : strcmp(c->ref->former_province, "Hoa Binh") == 0 ? "Xóm"
                                                                             : "Thôn";
    snprintf(out, cap, "%s %d, %s", village, p->hamlet ? p->hamlet : 1, c->ref->name);
}
