/*
 * test_lineage_match.c: pdb__lineage_match (lineage_match.c), the matching
 * of a commune's re-surveyed parcels with those they supersede, on small
 * cases whose answers can be read off the coordinates (squares in TM-3
 * metres of EPSG:9208 near Viet Tri): survey noise below the 0.1 m
 * tolerance (unchanged, and no edge to a neighbour), a move beyond it
 * (reshaped), a renumbering, a renumbering with a new shape, a split, a
 * merge, boundaries redrawn across two parcels into three, a new and a
 * retired parcel, duplicate numbers surveyed to the same bytes, the
 * old parcels surveyed in another CRS than the new ones, and previous
 * numbers as evidence (one that makes an edge the geometry alone would
 * not, one that confirms, one that names nothing, one the geometry
 * contradicts).
 */
#include "crs.h"
#include "lineage_match.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define E0 566400.0  /* easting of the cases' origin, m */
#define N0 2360900.0 /* northing */

typedef struct fixture {
    pdb_ctx *ctx;         /* the engine context */
    pdb__lm_set old, neu; /* the sets of the case */
    pdb__lm_result r;     /* its edges */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL || pdb_ctx_new(&f->ctx) != PDB_OK)
        return 1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    pdb__lm_set_free(&f->old);
    pdb__lm_set_free(&f->neu);
    pdb__lm_result_free(&f->r);
    pdb_ctx_free(f->ctx);
    free(f);
    return 0;
}

/* Adds to set the rectangle [x0, x1] x [y0, y1] (metres from the origin),
 * as parcel id numbered sheet 1 / number, in epsg (4326: the TM-3
 * coordinates transformed to WGS 84 by PROJ). */
static void add_rect_prev(fixture *f, pdb__lm_set *set, int64_t id, const char *number,
                          const char *prev, double x0, double y0, double x1, double y1, int epsg)
{
    double xy[10] = {x0, y0, x1, y0, x1, y1, x0, y1, x0, y0};
    for (int i = 0; i < 5; i++) {
        xy[2 * i] += E0;
        xy[2 * i + 1] += N0;
    }
    if (epsg != 9208)
        assert_int_equal(pdb__crs_transform_xy(f->ctx, 9208, epsg, xy, 5), PDB_OK);
    unsigned char wkb[9 + 4 + 5 * 16];
    wkb[0] = 1; /* little-endian POLYGON, one ring of 5 points */
    uint32_t type = 3, rings = 1, points = 5;
    memcpy(wkb + 1, &type, 4);
    memcpy(wkb + 5, &rings, 4);
    memcpy(wkb + 9, &points, 4);
    memcpy(wkb + 13, xy, sizeof xy);
    assert_int_equal(pdb__lm_set_add(f->ctx, set, id, NULL, "1", number, epsg, wkb, sizeof wkb,
                                     (x1 - x0) * (y1 - y0), NULL, prev),
                     PDB_OK);
}

static void add_rect(fixture *f, pdb__lm_set *set, int64_t id, const char *number, double x0,
                     double y0, double x1, double y1, int epsg)
{
    add_rect_prev(f, set, id, number, NULL, x0, y0, x1, y1, epsg);
}

static void match(fixture *f)
{
    assert_int_equal(pdb__lineage_match(f->ctx, "07894", &f->old, &f->neu, &f->r), PDB_OK);
}

/* The kind of the edge parent -> child, or NULL. */
static const char *edge(const fixture *f, int64_t parent, int64_t child, double *overlap)
{
    for (size_t i = 0; i < f->r.nedges; i++)
        if (f->r.edges[i].parent == parent && f->r.edges[i].child == child) {
            if (overlap != NULL)
                *overlap = f->r.edges[i].overlap_m2;
            return f->r.edges[i].kind;
        }
    return NULL;
}

/* 5 cm of noise on a parcel and on its neighbour: each unchanged, and
 * the slivers they now share with each other's old selves are no edge. */
static void test_noise_unchanged(void **state)
{
    fixture *f = *state;
    add_rect(f, &f->old, 1, "1", 0, 0, 20, 20, 9208);
    add_rect(f, &f->old, 2, "2", 20, 0, 40, 20, 9208);
    add_rect(f, &f->neu, 11, "1", 0.05, 0.03, 20.05, 20.03, 9208);
    add_rect(f, &f->neu, 12, "2", 20.05, -0.04, 40.04, 20, 9208);
    match(f);
    assert_int_equal(f->r.nedges, 2);
    assert_string_equal(edge(f, 1, 11, NULL), "unchanged");
    assert_string_equal(edge(f, 2, 12, NULL), "unchanged");
}

/* 0.5 m beyond the tolerance: reshaped; the same beyond it under another
 * number: reshaped too; the same shape under another number: renumbered. */
static void test_reshape_renumber(void **state)
{
    fixture *f = *state;
    double ov = 0;
    add_rect(f, &f->old, 1, "1", 0, 0, 20, 20, 9208);
    add_rect(f, &f->old, 2, "2", 100, 0, 120, 20, 9208);
    add_rect(f, &f->old, 3, "3", 200, 0, 220, 20, 9208);
    add_rect(f, &f->neu, 11, "1", 0, 0, 19.5, 20, 9208);
    add_rect(f, &f->neu, 12, "7", 100, 0, 119.5, 20, 9208);
    add_rect(f, &f->neu, 13, "8", 200, 0, 220, 20, 9208);
    match(f);
    assert_int_equal(f->r.nedges, 3);
    assert_string_equal(edge(f, 1, 11, &ov), "reshape");
    assert_true(ov > 389.99 && ov < 390.01);
    assert_string_equal(edge(f, 2, 12, NULL), "reshape");
    assert_string_equal(edge(f, 3, 13, &ov), "renumber");
    assert_true(ov > 399.99 && ov < 400.01);
}

/* One into two, two into one, and two redrawn as three strips. */
static void test_split_merge_regroup(void **state)
{
    fixture *f = *state;
    double ov = 0;
    add_rect(f, &f->old, 1, "1", 0, 0, 20, 20, 9208);
    add_rect(f, &f->neu, 11, "11", 0, 0, 10, 20, 9208);
    add_rect(f, &f->neu, 12, "12", 10, 0, 20, 20, 9208);
    add_rect(f, &f->old, 2, "2", 100, 0, 120, 20, 9208);
    add_rect(f, &f->old, 3, "3", 120, 0, 140, 20, 9208);
    add_rect(f, &f->neu, 13, "13", 100, 0, 140, 20, 9208);
    add_rect(f, &f->old, 4, "4", 200, 0, 230, 20, 9208);
    add_rect(f, &f->old, 5, "5", 230, 0, 260, 20, 9208);
    add_rect(f, &f->neu, 14, "14", 200, 0, 220, 20, 9208);
    add_rect(f, &f->neu, 15, "15", 220, 0, 240, 20, 9208);
    add_rect(f, &f->neu, 16, "16", 240, 0, 260, 20, 9208);
    match(f);
    assert_string_equal(edge(f, 1, 11, &ov), "split");
    assert_true(ov > 199.99 && ov < 200.01);
    assert_string_equal(edge(f, 1, 12, NULL), "split");
    assert_string_equal(edge(f, 2, 13, NULL), "merge");
    assert_string_equal(edge(f, 3, 13, NULL), "merge");
    assert_string_equal(edge(f, 4, 14, NULL), "merge");
    assert_string_equal(edge(f, 4, 15, NULL), "merge");
    assert_string_equal(edge(f, 5, 15, NULL), "merge");
    assert_string_equal(edge(f, 5, 16, NULL), "merge");
    assert_null(edge(f, 4, 16, NULL)); /* they only touch */
    assert_int_equal(f->r.nedges, 8);
}

/* A parcel where none was (new), one that nothing covers (retired): no
 * edge; the same number twice, each surveyed to the same bytes again:
 * each old parcel paired once. */
static void test_new_retired_duplicates(void **state)
{
    fixture *f = *state;
    add_rect(f, &f->old, 1, "1", 0, 0, 20, 20, 9208);
    add_rect(f, &f->neu, 11, "2", 500, 0, 520, 20, 9208);
    add_rect(f, &f->old, 2, "5", 100, 0, 120, 20, 9208);
    add_rect(f, &f->old, 3, "5", 200, 0, 220, 20, 9208);
    add_rect(f, &f->neu, 12, "5", 100, 0, 120, 20, 9208);
    add_rect(f, &f->neu, 13, "5", 200, 0, 220, 20, 9208);
    match(f);
    assert_int_equal(f->r.nedges, 2);
    assert_string_equal(edge(f, 2, 12, NULL), "unchanged");
    assert_string_equal(edge(f, 3, 13, NULL), "unchanged");
}

/* Old parcels surveyed in TM-3, new ones given in WGS 84: compared in the
 * commune's TM-3 metres. */
static void test_other_crs(void **state)
{
    fixture *f = *state;
    double ov = 0;
    add_rect(f, &f->old, 1, "1", 0, 0, 20, 20, 9208);
    add_rect(f, &f->old, 2, "2", 20, 0, 40, 20, 9208);
    add_rect(f, &f->neu, 11, "1", 0, 0, 20, 20, 4326);
    add_rect(f, &f->neu, 12, "2", 20, 0, 30, 20, 4326);
    match(f);
    assert_int_equal(f->r.nedges, 2);
    assert_string_equal(edge(f, 1, 11, &ov), "unchanged");
    assert_true(ov > 399.9 && ov < 400.1);
    assert_string_equal(edge(f, 2, 12, &ov), "reshape");
    assert_true(ov > 199.9 && ov < 200.1);
}

/* Previous numbers: a 2 m strip moved 1.9 m across (it shares 3 m2 with
 * its old self, under the 6.4 m2 of noise: no edge by geometry) and
 * renumbered, naming its old number: reshaped. A renumbering that names
 * its old number: renumbered, confirmed. A name nothing has, a name the
 * geometry contradicts (no overlap): reported, no edge. */
static void test_previous_numbers(void **state)
{
    fixture *f = *state;
    double ov = 0;
    add_rect(f, &f->old, 1, "1", 0, 0, 2, 30, 9208);
    add_rect_prev(f, &f->neu, 11, "7", "1", 1.9, 0, 3.9, 30, 9208);
    add_rect(f, &f->old, 2, "2", 100, 0, 120, 20, 9208);
    add_rect_prev(f, &f->neu, 12, "12", "99", 100, 0, 120, 20, 9208);
    add_rect(f, &f->old, 3, "3", 200, 0, 220, 20, 9208);
    add_rect_prev(f, &f->neu, 13, "13", "3", 500, 0, 520, 20, 9208);
    add_rect(f, &f->old, 4, "4", 300, 0, 320, 20, 9208);
    add_rect_prev(f, &f->neu, 14, "14", "4", 300, 0, 320, 20, 9208);
    match(f);
    assert_string_equal(edge(f, 1, 11, &ov), "reshape");
    assert_true(ov > 2.99 && ov < 3.01);
    assert_string_equal(edge(f, 2, 12, NULL), "renumber");
    assert_null(edge(f, 3, 13, NULL));
    assert_string_equal(edge(f, 4, 14, NULL), "renumber");
    assert_int_equal(f->r.nedges, 3);
    assert_int_equal(f->r.named, 2);
    assert_int_equal(f->r.nproblems, 2);
    for (size_t i = 0; i < f->r.nproblems; i++) {
        const pdb__lm_problem *p = &f->r.problems[i];
        if (p->child == 12) {
            assert_string_equal(p->reason, "prev-number-unknown");
            assert_non_null(strstr(p->detail, "parcel 1/12 names the previous number 1/99"));
        } else {
            assert_int_equal(p->child, 13);
            assert_string_equal(p->reason, "prev-number-contradicted");
        }
    }
}

/* Without the names, the same strip is a retired parcel and a new one. */
static void test_strip_without_numbers(void **state)
{
    fixture *f = *state;
    add_rect(f, &f->old, 1, "1", 0, 0, 2, 30, 9208);
    add_rect(f, &f->neu, 11, "7", 1.9, 0, 3.9, 30, 9208);
    match(f);
    assert_int_equal(f->r.nedges, 0);
    assert_int_equal(f->r.nproblems, 0);
}

/* A boundary moved 5 m between two neighbours, both renumbered, naming
 * their previous numbers or not. */
static void regroup(fixture *f, int with_numbers)
{
    add_rect(f, &f->old, 1, "1", 0, 0, 20, 20, 9208);
    add_rect(f, &f->old, 2, "2", 20, 0, 40, 20, 9208);
    add_rect_prev(f, &f->neu, 11, "21", with_numbers ? "1" : NULL, 0, 0, 25, 20, 9208);
    add_rect_prev(f, &f->neu, 12, "22", with_numbers ? "2" : NULL, 25, 0, 40, 20, 9208);
    match(f);
}

/* Naming them: two reshapes, and the 100 m2 the boundary moved is no
 * edge. Without: a merge of both into both, as the geometry says. */
static void test_regroup(void **state)
{
    fixture *f = *state;
    double ov = 0;
    regroup(f, 1);
    assert_int_equal(f->r.nedges, 2);
    assert_string_equal(edge(f, 1, 11, &ov), "reshape");
    assert_true(ov > 399.99 && ov < 400.01);
    assert_string_equal(edge(f, 2, 12, &ov), "reshape");
    assert_true(ov > 299.99 && ov < 300.01);
    assert_int_equal(f->r.nproblems, 0);
    pdb__lm_set_free(&f->old);
    pdb__lm_set_free(&f->neu);
    pdb__lm_result_free(&f->r);
    regroup(f, 0);
    assert_int_equal(f->r.nedges, 3);
    assert_string_equal(edge(f, 1, 11, NULL), "merge");
    assert_string_equal(edge(f, 2, 11, NULL), "merge");
    assert_string_equal(edge(f, 2, 12, NULL), "merge");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_noise_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reshape_renumber, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_merge_regroup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_retired_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_crs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_previous_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strip_without_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regroup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
