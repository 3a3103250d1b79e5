/*
 * fuzz_search_query: the search's query parser (engine/src/search.c,
 * fold.c) on arbitrary bytes, which reach it from the server's q=, owner=
 * and address= and the command line. The input is given without a NUL
 * past its end (copied to a buffer of its own length + 1, so an over-read
 * is an ASan report). Checks: folding is idempotent; every word is
 * non-empty, within the limit, and free of blanks and quotes; and every
 * FTS5 expression built from the words is accepted by SQLite's FTS5 (no
 * user text can turn into FTS5 syntax or an error).
 */
#include "fold.h"
#include "search.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_search_query: check failed: %s (line %d)\n", #cond, __LINE__);   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static sqlite3 *db;  /* an in-memory FTS5 table shaped as the store's */
static pdb_ctx *ctx; /* for the parser's messages */

static void setup(void)
{
    if (db != NULL)
        return;
    CHECK(sqlite3_open(":memory:", &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "CREATE VIRTUAL TABLE parcel_search USING fts5(owner, address, commune, "
                       "landuse, tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3 4');"
                       "INSERT INTO parcel_search VALUES ('onguyen ovan oa', 'axom adong alac', "
                       "'07894', 'lont lcln');",
                       NULL, NULL, NULL) == SQLITE_OK);
    CHECK(pdb_ctx_new(&ctx) == PDB_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    char *text = malloc(size + 1);
    CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';

    char *once = pdb__fold(text, size);
    CHECK(once != NULL);
    char *twice = pdb__fold(once, strlen(once));
    CHECK(twice != NULL && strcmp(once, twice) == 0);
    free(once);
    free(twice);

    pdb__search_terms t;
    if (pdb__search_terms_parse(ctx, text, &t) == PDB_OK) {
        for (size_t i = 0; i < t.n; i++) {
            size_t n = strlen(t.w[i]);
            CHECK(n > 0 && n <= PDB_SEARCH_MAX_WORD);
            CHECK(strpbrk(t.w[i], " \t\"") == NULL);
        }
        static const char *const tags[] = {"o", "a", "oa"};
        for (int rank = 0; rank < PDB_SEARCH_RANKS && t.n > 0; rank++) {
            char expr[8192] = "";
            CHECK(pdb__search_fts5_group(&t, rank, tags[rank], expr, sizeof expr) > 0);
            sqlite3_stmt *stmt = NULL;
            CHECK(sqlite3_prepare_v2(db,
                                     "SELECT rowid FROM parcel_search WHERE parcel_search "
                                     "MATCH ?1",
                                     -1, &stmt, NULL) == SQLITE_OK);
            sqlite3_bind_text(stmt, 1, expr, -1, SQLITE_STATIC);
            int rc;
            while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
                ;
            if (rc != SQLITE_DONE)
                fprintf(stderr, "FTS5 refused %s: %s\n", expr, sqlite3_errmsg(db));
            CHECK(rc == SQLITE_DONE);
            sqlite3_finalize(stmt);
        }
    }
    free(text);
    return 0;
}
