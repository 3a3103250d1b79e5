/*
 * test_registry.c: the process-wide commune registry (engine/src/registry.c):
 * a store's communes are known once it is opened, in every thread; a code
 * that two stores give to two communes is refused naming both; threads
 * that look communes up while another registers see a consistent list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "parceldb.h"
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fails, printing both, unless message holds part. */
static void expect_in(const char *message, const char *part)
{
    if (message == NULL || strstr(message, part) == NULL)
        fail_msg("the message \"%s\" lacks \"%s\"", message ? message : "(null)", part);
}

#define HEADER "code,name,former_province,central_meridian,epsg\n"

/* Makes a store with `parceldb init --communes` in another process, so
 * that this process learns its communes only by opening it. */
static void init_store(const char *dir, const char *name, const char *csv_body, char *db,
                       size_t cap)
{
    char csv[1024];
    snprintf(csv, sizeof csv, "%s/%s.csv", dir, name);
    snprintf(db, cap, "%s/%s.sqlite", dir, name);
    char *text = malloc(strlen(HEADER) + strlen(csv_body) + 1);
    assert_non_null(text);
    strcpy(text, HEADER);
    strcat(text, csv_body);
    assert_int_equal(tu_write_file(csv, text), 0);
    free(text);
    assert_int_equal(tu_run("\"$PARCELDB\" init --db '%s' --communes '%s' >/dev/null", db, csv), 0);
}

static void open_registers_and_conflicts_are_named(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("registry");
    char a[1024], b[1024];
    pdb_ctx *ctx = NULL;
    pdb_store *s = NULL;
    const pdb_commune_ref *ref = NULL;

    init_store(dir, "a", "20000,Xã Một,Synthetic 21,103-00,EPSG:9205\n", a, sizeof a);
    init_store(dir, "b", "20000,Xã Hai,Synthetic 21,104-00,EPSG:9206\n", b, sizeof b);
    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);

    size_t n0;
    pdb_commune_ref_list(&n0);
    assert_int_equal(n0, 148);
    assert_int_equal(pdb_commune_ref_find(ctx, "20000", &ref), PDB_ENOTFOUND);

    /* Opening a registers its commune, sorted into the list. */
    assert_int_equal(pdb_store_open(ctx, a, PDB_OPEN_READONLY, &s), PDB_OK);
    pdb_store_close(s);
    assert_int_equal(pdb_commune_ref_find(ctx, "20000", &ref), PDB_OK);
    assert_string_equal(ref->name, "Xã Một");
    assert_int_equal(ref->epsg, 9205);
    size_t n;
    const pdb_commune_ref *list = pdb_commune_ref_list(&n);
    assert_int_equal(n, 149);
    assert_string_equal(list[n - 1].code, "20000");
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(list[i - 1].code, list[i].code) < 0);

    /* Opening a again changes nothing; b gives 20000 to another commune. */
    assert_int_equal(pdb_store_open(ctx, a, PDB_OPEN_READWRITE, &s), PDB_OK);
    pdb_store_close(s);
    assert_int_equal(pdb_store_open(ctx, b, PDB_OPEN_READONLY, &s), PDB_EINVAL);
    assert_null(s);
    expect_in(pdb_errmsg(ctx), "commune 20000 is 'Xã Hai' (Synthetic 21, EPSG:9206)");
    expect_in(pdb_errmsg(ctx), "'Xã Một' (Synthetic 21, EPSG:9205)");
    expect_in(pdb_errmsg(ctx), a);
    pdb_commune_ref_list(&n);
    assert_int_equal(n, 149);
    pdb_ctx_free(ctx);
}

/* Threads looking communes up while the main thread registers lists. */
typedef struct reader {
    int failures;       /* lookups of a built-in commune that failed */
    int unsorted;       /* lists seen out of order */
    volatile int *stop; /* set by the main thread when done */
} reader;

static void *read_loop(void *arg)
{
    reader *r = arg;
    pdb_ctx *ctx = NULL;
    const pdb_commune_ref *ref;
    if (pdb_ctx_new(&ctx) != PDB_OK) {
        r->failures++;
        return NULL;
    }
    while (!*r->stop) {
        if (pdb_commune_ref_find(ctx, "07894", &ref) != PDB_OK || strcmp(ref->code, "07894") != 0)
            r->failures++;
        size_t n;
        const pdb_commune_ref *l = pdb_commune_ref_list(&n);
        for (size_t i = 1; i < n; i++)
            if (strcmp(l[i - 1].code, l[i].code) >= 0)
                r->unsorted++;
    }
    pdb_ctx_free(ctx);
    return NULL;
}

static void lookups_while_registering(void **state)
{
    (void)state;
    const char *dir = tu_tmpdir("registry_threads");
    pdb_ctx *ctx = NULL;
    volatile int stop = 0;
    reader r[3] = {{0, 0, &stop}, {0, 0, &stop}, {0, 0, &stop}};
    pthread_t t[3];

    assert_int_equal(pdb_ctx_new(&ctx), PDB_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, read_loop, &r[i]), 0);
    size_t before;
    pdb_commune_ref_list(&before);
    /* 40 lists of 10 communes each, each a new store opened once. */
    for (int k = 0; k < 40; k++) {
        char body[2048] = "", line[128], name[32], db[1024];
        for (int j = 0; j < 10; j++) {
            snprintf(line, sizeof line, "%05d,Xã %d,Synthetic 22,105-30,EPSG:9209\n",
                     30000 + 30 * k + 3 * j, k * 10 + j);
            strcat(body, line);
        }
        snprintf(name, sizeof name, "s%d", k);
        init_store(dir, name, body, db, sizeof db);
        pdb_store *s = NULL;
        assert_int_equal(pdb_store_open(ctx, db, PDB_OPEN_READONLY, &s), PDB_OK);
        pdb_store_close(s);
    }
    stop = 1;
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].failures, 0);
        assert_int_equal(r[i].unsorted, 0);
    }
    size_t after;
    pdb_commune_ref_list(&after);
    assert_int_equal(after, before + 400);
    pdb_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_registers_and_conflicts_are_named),
        cmocka_unit_test(lookups_while_registering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
