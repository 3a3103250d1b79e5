/*
 * test_qa.c: the quality checks' engine API (docs/qa.md): the rules file
 * (defaults, settings, every refusal with its file and line), the stable
 * names, and pdb_qa_run on a commune of squares written by ogr2ogr and
 * loaded through the writer (tests/lib/fixture.c), whose overlap, gap,
 * numbers, tiny, needle and land-use findings are known by construction.
 */
#include "parceldb.h"

#include "fixture.h"
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tu_assert.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define E0 567400.0 /* Viet Tri, EPSG:9208 (test_store.c's point) */
#define N0 2358700.0

/* ------------------------------------------------------------------------ */
/* Rules                                                                     */
/* ------------------------------------------------------------------------ */

/* Reads rules from text; the status, and the message on failure. */
static pdb_status rules_from(pdb_ctx *ctx, const char *text, pdb_qa_rules **out, char *path,
                             size_t cap)
{
    snprintf(path, cap, "%s/qa.rules", tu_tmpdir("qa_rules"));
    assert_int_equal(tu_write_file(path, text), 0);
    return pdb_qa_rules_read(ctx, path, out);
}

static void test_names(void **state)
{
    (void)state;
    static const char *const names[] = {"overlap",
                                        "overlap_commune",
                                        "gap",
                                        "outside_commune",
                                        "duplicate_number",
                                        "missing_number",
                                        "area_mismatch",
                                        "invalid",
                                        "repaired",
                                        "tiny",
                                        "needle",
                                        "close_vertices",
                                        "unknown_landuse",
                                        "overlap_sliver"};
    assert_int_equal(PDB_QA_CHECK_COUNT, sizeof names / sizeof names[0]);
    for (int c = 0; c < PDB_QA_CHECK_COUNT; c++)
        assert_string_equal(pdb_qa_check_name((pdb_qa_check)c), names[c]);
    assert_null(pdb_qa_check_name(PDB_QA_CHECK_COUNT));
    assert_string_equal(pdb_qa_severity_name(PDB_QA_ERROR), "error");
    assert_string_equal(pdb_qa_severity_name(PDB_QA_OFF), "off");
}

static void test_rules(void **state)
{
    (void)state;
    pdb_ctx *ctx;
    pdb_qa_rules *r = NULL;
    char path[512];
    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);

    assert_int_equal(pdb_qa_rules_default(ctx, &r), PDB_OK);
    assert_int_equal(pdb_qa_rules_severity(r, PDB_QA_OVERLAP), PDB_QA_ERROR);
    assert_int_equal(pdb_qa_rules_severity(r, PDB_QA_MISSING_NUMBER), PDB_QA_INFO);
    assert_int_equal(pdb_qa_rules_severity(r, PDB_QA_NEEDLE), PDB_QA_WARNING);
    assert_int_equal(pdb_qa_rules_severity(r, PDB_QA_OVERLAP_SLIVER), PDB_QA_INFO);
    pdb_qa_rules_free(r);

    assert_int_equal(rules_from(ctx,
                                "# comment\n\n  needle.severity = off  # not wanted\n"
                                "overlap.min_area_m2=0.5\nmissing_number.severity = error\n",
                                &r, path, sizeof path),
                     PDB_OK);
    assert_int_equal(pdb_qa_rules_severity(r, PDB_QA_NEEDLE), PDB_QA_OFF);
    assert_int_equal(pdb_qa_rules_severity(r, PDB_QA_MISSING_NUMBER), PDB_QA_ERROR);
    assert_int_equal(pdb_qa_rules_severity(r, PDB_QA_GAP), PDB_QA_ERROR);
    pdb_qa_rules_free(r);

    static const struct {
        const char *text; /* the file */
        const char *says; /* in the message, after "FILE:" */
    } bad[] = {
        {"slivers.max_width_m = 1\n", ":1: unknown check 'slivers'"},
        {"# x\ngap.max_width_m = -0.2\n", ":2: gap.max_width_m: -0.2 is negative"},
        {"gap.width = 1\n", ":1: check gap has no setting 'width'"},
        {"overlap_sliver.min_width_m = 1\n",
         ":1: check overlap_sliver has no setting 'min_width_m'"},
        {"overlap.min_width_m = -0.005\n", ":1: overlap.min_width_m: -0.005 is negative"},
        {"tiny.min_area_m2 = big\n", ":1: tiny.min_area_m2: 'big' is not a number"},
        {"tiny.min_area_m2 = nan\n", ":1: tiny.min_area_m2: 'nan' is not a number"},
        {"tiny.min_area_m2 =\n", ":1: tiny.min_area_m2: '' is not a number"},
        {"overlap.severity = fatal\n", ":1: overlap.severity: 'fatal' is not error, warning"},
        {"overlap 0.1\n", ":1: expected 'check.key = value'"},
        {"overlap = 0.1\n", ":1: expected 'check.key', got 'overlap'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = NULL;
        assert_int_equal(rules_from(ctx, bad[i].text, &r, path, sizeof path), PDB_EINVAL);
        assert_null(r);
        assert_contains(pdb_errmsg(ctx), path);
        assert_contains(pdb_errmsg(ctx), bad[i].says);
    }
    r = NULL;
    assert_int_equal(pdb_qa_rules_read(ctx, "/nonexistent/qa.rules", &r), PDB_ENOTFOUND);
    assert_null(r);
    pdb_ctx_free(ctx);
}

/* ------------------------------------------------------------------------ */
/* A commune of squares                                                      */
/* ------------------------------------------------------------------------ */

/* Findings of one check in a report. */
static size_t count(const pdb_qa_report *rep, pdb_qa_check c, const pdb_qa_finding **first)
{
    size_t n = 0;
    for (size_t i = 0; i < rep->count; i++)
        if (rep->items[i].check == c) {
            if (n++ == 0 && first != NULL)
                *first = &rep->items[i];
        }
    return n;
}

static void test_run(void **state)
{
    (void)state;
    pdb_ctx *ctx;
    pdb_store *store = NULL;
    pdb_qa_rules *rules = NULL;
    pdb_qa_report *rep = NULL;
    fx_parcel p[24];
    size_t n = 0;
    char gpkg[512], db[512];
    int64_t batch;
    const char *dir = tu_tmpdir("qa_run");
    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);

    /* A 3 x 3 block of 10 m squares numbered 1..9 row by row; the centre
     * (5) shrunk by 5 cm on every side: a closed sliver 5 cm wide around
     * it, 100 - 9.9^2 = 1.99 m2. Its land use is not in the list. */
    for (int row = 0; row < 3; row++)
        for (int col = 0; col < 3; col++) {
            fx_parcel *q = &p[n++];
            static char nums[9][4];
            snprintf(nums[n - 1], sizeof nums[0], "%zu", n);
            *q = (fx_parcel){.sheet = "1", .parcel = nums[n - 1], .landuse = "ONT", .owner = ""};
            if (row == 1 && col == 1) {
                q->landuse = "XYZ";
                fx_square_wkt(q->wkt, sizeof q->wkt, E0 + 10.05, N0 + 10.05, 9.9, 0);
            } else {
                fx_square_wkt(q->wkt, sizeof q->wkt, E0 + 10 * col, N0 + 10 * row, 10, 0);
            }
        }
    /* 11 overlaps square 3 by 0.5 m x 10 m; 10 is missing from the sheet. */
    p[n] = (fx_parcel){.sheet = "1", .parcel = "11", .landuse = "LUC", .owner = ""};
    fx_square_wkt(p[n++].wkt, sizeof p[0].wkt, E0 + 29.5, N0, 10, 0);
    /* Two parcels numbered 12: a 0.8 m square (tiny) and a 0.5 x 50 m strip
     * (a needle: 4 pi 25 / 101^2 = 0.0308), far from the block. */
    p[n] = (fx_parcel){.sheet = "1", .parcel = "12", .landuse = "CLN", .owner = ""};
    fx_square_wkt(p[n++].wkt, sizeof p[0].wkt, E0 + 100, N0, 0.8, 0);
    p[n] = (fx_parcel){.sheet = "1", .parcel = "12", .landuse = "LUC", .owner = ""};
    snprintf(p[n++].wkt, sizeof p[0].wkt,
             "POLYGON ((%.3f %.3f, %.3f %.3f, %.3f %.3f, %.3f %.3f, %.3f %.3f))", E0 + 200, N0,
             E0 + 250, N0, E0 + 250, N0 + 0.5, E0 + 200, N0 + 0.5, E0 + 200, N0);
    /* 13: a square with a vertex 0.4 mm after its first corner. */
    p[n] = (fx_parcel){.sheet = "1", .parcel = "13", .landuse = "ONT", .owner = ""};
    snprintf(p[n++].wkt, sizeof p[0].wkt,
             "POLYGON ((%.4f %.4f, %.4f %.4f, %.4f %.4f, %.4f %.4f, %.4f %.4f, %.4f %.4f))",
             E0 + 300, N0, E0 + 300.0004, N0, E0 + 310, N0, E0 + 310, N0 + 10, E0 + 300, N0 + 10,
             E0 + 300, N0);
    /* 14: the same strip as a canal (DTL): long by nature, not a needle
     * unless needle.check_linear = 1. */
    p[n] = (fx_parcel){.sheet = "1", .parcel = "14", .landuse = "DTL", .owner = ""};
    snprintf(p[n++].wkt, sizeof p[0].wkt,
             "POLYGON ((%.3f %.3f, %.3f %.3f, %.3f %.3f, %.3f %.3f, %.3f %.3f))", E0 + 200, N0 + 10,
             E0 + 250, N0 + 10, E0 + 250, N0 + 10.5, E0 + 200, N0 + 10.5, E0 + 200, N0 + 10);
    /* 15 and 16: 40 x 10 m strips overlapping by 1 mm along their 40 m
     * edge (0.04 m2, four times the area threshold): two surveys' rounding,
     * an overlap_sliver, not an error. 17 and 18: the same by 0.3 m (12 m2):
     * an overlap. */
    for (int k = 0; k < 2; k++) {
        static const char *const nums[] = {"15", "16", "17", "18"};
        double e = E0 + 400 + 100 * k, by = k == 0 ? 0.001 : 0.3;
        for (int m = 0; m < 2; m++) {
            double n0 = N0 + m * (10 - by);
            p[n] =
                (fx_parcel){.sheet = "1", .parcel = nums[2 * k + m], .landuse = "LUC", .owner = ""};
            snprintf(p[n++].wkt, sizeof p[0].wkt,
                     "POLYGON ((%.3f %.3f, %.3f %.3f, %.3f %.3f, %.3f %.3f, %.3f %.3f))", e, n0,
                     e + 40, n0, e + 40, n0 + 10, e, n0 + 10, e, n0);
        }
    }
    assert_int_equal(fx_write_gpkg(dir, "07894", "07894", 9208, p, n, gpkg, sizeof gpkg), 0);
    snprintf(db, sizeof db, "%s/qa.sqlite", dir);
    assert_int_equal(pdb_store_create(ctx, db, &store), PDB_OK);
    assert_int_equal(fx_load(ctx, store, gpkg, "07894", 9208, &batch), PDB_OK);

    assert_int_equal(pdb_qa_rules_default(ctx, &rules), PDB_OK);
    const char *communes[] = {"07894"};
    assert_int_equal(pdb_qa_run(ctx, store, rules, communes, 1, &rep), PDB_OK);
    assert_int_equal(rep->ncommunes, 1);
    assert_int_equal(rep->parcels, n);
    const pdb_qa_finding *f = NULL;

    assert_int_equal(count(rep, PDB_QA_OVERLAP, &f), 2);
    assert_near(f->measure, 5.0, 1e-6);
    assert_string_equal(f->parcel, "3");
    assert_string_equal(f->other_parcel, "11");
    assert_int_equal(f->srid, 9208);
    assert_non_null(f->wkb);
    assert_int_equal(f->severity, PDB_QA_ERROR);
    assert_near(f[1].measure, 12.0, 1e-6);
    assert_string_equal(f[1].parcel, "17");
    assert_string_equal(f[1].other_parcel, "18");

    assert_int_equal(count(rep, PDB_QA_OVERLAP_SLIVER, &f), 1);
    assert_near(f->measure, 0.04, 1e-6);
    assert_string_equal(f->parcel, "15");
    assert_string_equal(f->other_parcel, "16");
    assert_int_equal(f->severity, PDB_QA_INFO);
    assert_non_null(f->wkb);
    assert_contains(f->detail, "narrower than overlap.min_width_m 0.003 m everywhere");
    assert_contains(f->detail, "mean width 0.0010 m");

    assert_int_equal(count(rep, PDB_QA_GAP, &f), 1);
    assert_near(f->measure, 100.0 - 9.9 * 9.9, 1e-6);
    assert_contains(f->detail, "sliver");
    assert_contains(f->detail, " 1/5");

    assert_int_equal(count(rep, PDB_QA_DUPLICATE_NUMBER, &f), 2);
    assert_string_equal(f->parcel, "12");
    assert_string_equal(f->other_parcel, "12");
    assert_int_equal(count(rep, PDB_QA_MISSING_NUMBER, &f), 1);
    assert_string_equal(f->parcel, "10");
    assert_int_equal(f->severity, PDB_QA_INFO);
    assert_null(f->wkb);

    assert_int_equal(count(rep, PDB_QA_TINY, &f), 1);
    assert_near(f->measure, 0.64, 1e-6);
    assert_int_equal(count(rep, PDB_QA_NEEDLE, &f), 1);
    assert_near(f->measure, 4 * M_PI * 25.0 / (101.0 * 101.0), 1e-9);
    assert_int_equal(count(rep, PDB_QA_UNKNOWN_LANDUSE, &f), 1);
    assert_string_equal(f->parcel, "5");
    assert_contains(f->detail, "XYZ");
    assert_int_equal(count(rep, PDB_QA_CLOSE_VERTICES, &f), 1);
    assert_string_equal(f->parcel, "13");
    assert_near(f->measure, 0.0004, 1e-6);
    assert_contains(f->detail, "1 pair of consecutive vertices closer than 0.001 m");
    for (pdb_qa_check c = PDB_QA_OVERLAP_COMMUNE; c < PDB_QA_CHECK_COUNT; c++)
        if (c == PDB_QA_OVERLAP_COMMUNE || c == PDB_QA_AREA_MISMATCH || c == PDB_QA_INVALID ||
            c == PDB_QA_REPAIRED)
            assert_int_equal(count(rep, c, NULL), 0);
    assert_int_equal(rep->nskips, 1);
    assert_int_equal(rep->skips[0].check, PDB_QA_OUTSIDE_COMMUNE);
    assert_int_equal(rep->by_severity[PDB_QA_ERROR], 5); /* 2 overlaps, gap, 2 duplicates */
    assert_int_equal(rep->by_severity[PDB_QA_INFO], 2);  /* missing number, the sliver */
    pdb_qa_report_free(rep);
    pdb_qa_rules_free(rules);

    /* Rules: overlaps off, needles below 0.02 only, gaps narrower than
     * 4 cm or under 1.5 m2 (this one is 5 cm wide and 1.99 m2: not one). */
    char path[512];
    assert_int_equal(rules_from(ctx,
                                "overlap.severity = off\nneedle.min_ratio = 0.02\n"
                                "gap.max_width_m = 0.04\ngap.max_area_m2 = 1.5\n",
                                &rules, path, sizeof path),
                     PDB_OK);
    assert_int_equal(pdb_qa_run(ctx, store, rules, communes, 1, &rep), PDB_OK);
    assert_int_equal(count(rep, PDB_QA_OVERLAP, NULL), 0);
    assert_int_equal(count(rep, PDB_QA_NEEDLE, NULL), 0);
    assert_int_equal(count(rep, PDB_QA_GAP, NULL), 0);
    assert_int_equal(count(rep, PDB_QA_TINY, NULL), 1); /* the rest as before */
    pdb_qa_report_free(rep);

    pdb_qa_rules_free(rules);
    assert_int_equal(rules_from(ctx, "needle.check_linear = 1\n", &rules, path, sizeof path),
                     PDB_OK);
    assert_int_equal(pdb_qa_run(ctx, store, rules, communes, 1, &rep), PDB_OK);
    assert_int_equal(count(rep, PDB_QA_NEEDLE, NULL), 2); /* the canal too */
    pdb_qa_report_free(rep);

    /* The width rule set by the rules: off (0), every overlap above the
     * area is an error; at 0.4 m the 0.3 m one is a sliver too (the 0.5 m
     * one of 3 and 11 is not); slivers dropped with their check off. */
    static const struct {
        const char *text; /* the rules file */
        size_t overlaps;  /* overlap findings then */
        size_t slivers;   /* overlap_sliver findings then */
    } widths[] = {
        {"overlap.min_width_m = 0\n", 3, 0},
        {"overlap.min_width_m = 0.4\n", 1, 2},
        {"overlap_sliver.severity = off\n", 2, 0},
        {"overlap_sliver.severity = warning\noverlap.severity = off\n", 0, 0},
    };
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
        pdb_qa_rules_free(rules);
        assert_int_equal(rules_from(ctx, widths[i].text, &rules, path, sizeof path), PDB_OK);
        assert_int_equal(pdb_qa_run(ctx, store, rules, communes, 1, &rep), PDB_OK);
        assert_int_equal(count(rep, PDB_QA_OVERLAP, NULL), widths[i].overlaps);
        assert_int_equal(count(rep, PDB_QA_OVERLAP_SLIVER, NULL), widths[i].slivers);
        pdb_qa_report_free(rep);
    }

    /* A commune the store does not hold, one that does not exist. */
    rep = NULL;
    const char *absent[] = {"07900"}, *unknown[] = {"99999"};
    assert_int_equal(pdb_qa_run(ctx, store, rules, absent, 1, &rep), PDB_ENOTFOUND);
    assert_null(rep);
    assert_contains(pdb_errmsg(ctx), "commune 07900");
    assert_int_equal(pdb_qa_run(ctx, store, rules, unknown, 1, &rep), PDB_ENOTFOUND);
    assert_null(rep);
    pdb_qa_rules_free(rules);
    pdb_store_close(store);
    pdb_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
