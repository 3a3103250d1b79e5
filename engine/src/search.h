/*
 * search.h: the search index of owner names and addresses (search.c for
 * what both stores share and the SQLite store's postings; pg_search.c for
 * PostgreSQL's folded columns with a GIN index), and the audit table of
 * answers that showed owner names (audit.c, pg_search.c).
 *
 * Both stores index folded text (fold.h), made by the engine, so that the
 * two answer alike whatever each database's own accent handling does.
 */
#ifndef PDB_SEARCH_H
#define PDB_SEARCH_H

#include "internal.h"

/* A word longer than this is refused (PDB_ELIMIT): no name or address
 * word comes near it, and it bounds the match expressions. */
#define PDB_SEARCH_MAX_WORD 63

/* One group of folded words from the user's text. */
typedef struct pdb__search_terms {
    size_t n;                                              /* words in w */
    char w[PDB_SEARCH_MAX_TERMS][PDB_SEARCH_MAX_WORD + 1]; /* folded, non-empty */
} pdb__search_terms;

/* Folds text and splits it into words. PDB_ELIMIT (with the reason) for
 * more than PDB_SEARCH_MAX_TERMS words or a word over PDB_SEARCH_MAX_WORD
 * bytes; NULL or a text with no letters gives n = 0. Pure: the fuzz target
 * (tests/fuzz/fuzz_search_query.c) runs it on any bytes. */
pdb_status pdb__search_terms_parse(pdb_ctx *ctx, const char *text, pdb__search_terms *out);

/* What a search on a store without the index (made before it, and not
 * opened read-write since) says. */
#define PDB_SEARCH_NO_INDEX                                                                        \
    "the store has no search index yet: it is built at the store's first read-write open by "      \
    "this version (the next import, or a personal lookup, which writes the audit table)"

/* The match ranks, best first. */
enum {
    PDB_SEARCH_PHRASE, /* the words, in order, side by side */
    PDB_SEARCH_WORDS,  /* every word as a whole word, anywhere */
    PDB_SEARCH_PREFIX, /* every word as the start of a word */
    PDB_SEARCH_RANKS
};

/* The tags of the SQLite index's words (search.c): one letter in front of
 * every word of a column, so that an owner's "xa" and an address's "xã"
 * are two words. */
#define PDB_SEARCH_TAG_OWNER "o"
#define PDB_SEARCH_TAG_ADDRESS "a"
#define PDB_SEARCH_TAG_LANDUSE "l"

/* Appends to buf (NUL-terminated, cap bytes) the FTS5 expression that
 * matches t at rank in the columns whose tags are in tags ("o", "a" or
 * "oa"): "ow1" AND "ow2"*, ("ow1" OR "aw1") AND ..., or one phrase. 0 when
 * it did not fit. Words are quoted, so no user text can become FTS5
 * syntax. The SQLite store reads postings since schema 4 and no longer
 * calls it; test_search and fuzz_search_query still check it. */
size_t pdb__search_fts5_group(const pdb__search_terms *t, int rank, const char *tags, char *buf,
                              size_t cap);

/* What a search looks for once its text is parsed: shared by both stores. */
typedef struct pdb__search_plan {
    pdb__search_terms any;                 /* in the address, or the owner when personal */
    pdb__search_terms owner;               /* in the owner only */
    pdb__search_terms address;             /* in the address only */
    int personal;                          /* PDB_READ_PERSONAL: the owner may be matched */
    char commune[6];                       /* five digits or "" */
    char landuse[PDB_SEARCH_MAX_WORD + 1]; /* one folded land-use code or "" */
    size_t limit;                          /* 1..PDB_SEARCH_MAX_LIMIT */
} pdb__search_plan;

/* The ids matching plan at one rank, at most max, by id, appended to
 * ids (of room max) skipping those already there; *n counts them. One per
 * store: search.c (SQLite), pg_search.c. */
pdb_status pdb__sq_search_ids(pdb_ctx *ctx, pdb_store *s, const pdb__search_plan *plan, int rank,
                              int64_t *ids, size_t *n, size_t max);
pdb_status pdb__pg_search_ids(pdb_ctx *ctx, pdb_store *s, const pdb__search_plan *plan, int rank,
                              int64_t *ids, size_t *n, size_t max);

/* The SQLite store: once per store, drops schema 3's FTS5 table and
 * builds the postings (search_words) from the current parcels (stores
 * made before them). Called by every read-write open (store.c). */
pdb_status pdb__sq_search_backfill(pdb_ctx *ctx, pdb_store *s);

/* One commune's postings being collected by its writer (search.c): every
 * folded word of the parcels added, with their ids. */
typedef struct pdb__search_postings pdb__search_postings;

/* Adds one parcel's words (owner, address and land use, each may be
 * NULL), making *pp at the first call. Ids come best in ascending order. */
pdb_status pdb__search_postings_add(pdb_ctx *ctx, pdb__search_postings **pp, int64_t id,
                                    const char *owner, const char *address, const char *landuse);
void pdb__search_postings_free(pdb__search_postings *pp);

/* Replaces one commune's rows of the index, inside the writer's
 * transaction (writer.c at commit; pg_writer.c's from its current
 * parcels): superseded parcels leave it, new ones enter. The SQLite store
 * writes pp, the postings of every current parcel of the commune (NULL for
 * none). */
pdb_status pdb__sq_search_commune(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                  pdb__search_postings *pp);
pdb_status pdb__pg_search_commune(pdb_ctx *ctx, pdb_store *s, const char *commune);

/* The PostgreSQL store's index and audit table, made and filled from the
 * current parcels at a read-write open of a store without them
 * (pg_store.c), in one write transaction. */
pdb_status pdb__pg_search_backfill(pdb_ctx *ctx, pdb_store *s);

/* The audit table: each store's append and list (audit.c, pg_search.c). */
pdb_status pdb__sq_audit_record(pdb_ctx *ctx, pdb_store *s, const char *who, const char *what,
                                const char *parcels);
pdb_status pdb__sq_audit_list(pdb_ctx *ctx, pdb_store *s, const char *since, const char *who,
                              int (*fn)(void *arg, const pdb_audit_row *row), void *arg);
pdb_status pdb__pg_audit_record(pdb_ctx *ctx, pdb_store *s, const char *who, const char *what,
                                const char *parcels);
pdb_status pdb__pg_audit_list(pdb_ctx *ctx, pdb_store *s, const char *since, const char *who,
                              int (*fn)(void *arg, const pdb_audit_row *row), void *arg);

#endif
