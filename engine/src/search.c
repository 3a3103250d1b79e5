/*
 * search.c: pdb_parcels_search for both stores (parsing, ranking, reading
 * the parcels found), and the SQLite store's index: postings, one row
 * per (tagged word, commune) holding the ids of the commune's current
 * parcels with that word (schema.h). Each column's words carry a
 * one-letter tag ("onguyen", "axom", "lont"), so that "xa" in an owner's
 * name is not looked for among the "xã" of every address. The writer
 * collects a commune's words in memory as it adds parcels and writes them
 * at its commit (pdb__sq_search_commune): an FTS5 table filled by SQL there
 * nearly doubled the import (issue 19); the postings cost a few percent.
 * Pairs of neighbouring words are words too ("Onguyen van"). A query ORs
 * each term's rows (a prefix's range of words) and ANDs the terms as
 * bitmaps of ids; a phrase ANDs its pairs, and one of three words or
 * more is checked against the parcels' text.
 */
#include "search.h"
#include "fold.h"
#include "schema.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pdb_status pdb__search_terms_parse(pdb_ctx *ctx, const char *text, pdb__search_terms *out)
{
    out->n = 0;
    if (text == NULL)
        return PDB_OK;
    char *folded = pdb__fold(text, strlen(text));
    if (folded == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    pdb_status st = PDB_OK;
    /* Folded text is words separated by single spaces. */
    for (char *p = folded; *p != '\0';) {
        size_t len = strcspn(p, " ");
        if (out->n == PDB_SEARCH_MAX_TERMS) {
            st = pdb__fail(ctx, PDB_ELIMIT, "more than %d words to search for",
                           PDB_SEARCH_MAX_TERMS);
            break;
        }
        if (len > PDB_SEARCH_MAX_WORD) {
            st = pdb__fail(ctx, PDB_ELIMIT, "a word of %zu bytes (at most %d) to search for", len,
                           PDB_SEARCH_MAX_WORD);
            break;
        }
        memcpy(out->w[out->n], p, len);
        out->w[out->n++][len] = '\0';
        p += len;
        if (*p == ' ')
            p++;
    }
    free(folded);
    if (st != PDB_OK)
        out->n = 0;
    return st;
}

/* Appends printf-style text to buf at *len; 0 when it did not fit. */
static int append(char *buf, size_t cap, size_t *len, const char *fmt, const char *arg)
{
    int k = snprintf(buf + *len, cap - *len, fmt, arg);
    if (k < 0 || (size_t)k >= cap - *len)
        return 0;
    *len += (size_t)k;
    return 1;
}

/* One word (or, for a phrase, all words) with one column's tag, quoted. */
static int append_tagged(const pdb__search_terms *t, int rank, size_t word, char tag, char *buf,
                         size_t cap, size_t *len)
{
    char one[2] = {tag, '\0'};
    if (!append(buf, cap, len, "%s", "\""))
        return 0;
    for (size_t i = rank == PDB_SEARCH_PHRASE ? 0 : word;
         i < (rank == PDB_SEARCH_PHRASE ? t->n : word + 1); i++)
        if ((i > word && rank == PDB_SEARCH_PHRASE && !append(buf, cap, len, "%s", " ")) ||
            !append(buf, cap, len, "%s", one) || !append(buf, cap, len, "%s", t->w[i]))
            return 0;
    return append(buf, cap, len, "%s", rank == PDB_SEARCH_PREFIX ? "\"*" : "\"");
}

size_t pdb__search_fts5_group(const pdb__search_terms *t, int rank, const char *tags, char *buf,
                              size_t cap)
{
    size_t len = strlen(buf);
    size_t ntags = strlen(tags);
    /* A phrase is one unit; the other ranks AND one unit per word. Each
     * unit is the word in any of the tagged columns (OR). */
    size_t units = rank == PDB_SEARCH_PHRASE ? 1 : t->n;
    if (t->n == 0 || ntags == 0)
        return 0;
    for (size_t u = 0; u < units; u++) {
        if (u > 0 && !append(buf, cap, &len, "%s", " AND "))
            return 0;
        if (ntags > 1 && !append(buf, cap, &len, "%s", "("))
            return 0;
        for (size_t k = 0; k < ntags; k++)
            if ((k > 0 && !append(buf, cap, &len, "%s", " OR ")) ||
                !append_tagged(t, rank, u, tags[k], buf, cap, &len))
                return 0;
        if (ntags > 1 && !append(buf, cap, &len, "%s", ")"))
            return 0;
    }
    return len;
}

/* The tag of the pairs of neighbouring words of a column ("O" for owners'
 * "onguyen" "ovan": "Onguyen van"), which make a phrase a lookup. */
static char pair_tag(char tag)
{
    return (char)(tag - 'a' + 'A');
}

/* A set of parcel ids, one bit each, grown as ids come. */
typedef struct id_bits {
    uint64_t *w; /* bit id % 64 of w[id / 64] */
    size_t nw;   /* words of w */
} id_bits;

static int bits_set(id_bits *b, uint64_t id)
{
    size_t i = (size_t)(id / 64);
    if (i >= b->nw) {
        size_t nw = b->nw ? b->nw : 256;
        while (nw <= i)
            nw *= 2;
        uint64_t *w = realloc(b->w, nw * sizeof *w);
        if (w == NULL)
            return 0;
        memset(w + b->nw, 0, (nw - b->nw) * sizeof *w);
        b->w = w;
        b->nw = nw;
    }
    b->w[i] |= (uint64_t)1 << (id % 64);
    return 1;
}

/* Sets the ids of one row (ids_encode); 0 on a malformed row or no memory. */
static int bits_decode(id_bits *b, const unsigned char *p, size_t len)
{
    uint64_t id = 0;
    for (size_t i = 0; i < len;) {
        uint64_t d = 0;
        int shift = 0;
        while (i < len && (p[i] & 0x80) && shift < 63) {
            d |= (uint64_t)(p[i++] & 0x7F) << shift;
            shift += 7;
        }
        if (i == len)
            return 0;
        d |= (uint64_t)p[i++] << shift;
        id += d;
        if (id > ((uint64_t)1 << 40) || !bits_set(b, id))
            return 0; /* no store holds a trillion parcels: a damaged row */
    }
    return 1;
}

/* What one search reads with: the statement and the bits of a term. */
typedef struct id_search {
    pdb_store *s;       /* the store, borrowed */
    sqlite3_stmt *rows; /* SELECT ids FROM search_words over a word range */
    const char *lo;     /* first commune read: the one asked for, or "" for all */
    const char *hi;     /* last commune read: the same, or "\x7f" for all */
} id_search;

/* ORs into b the ids of the words tag + w (exact) or starting with it
 * (prefix), in the chosen communes. */
static pdb_status term_or(pdb_ctx *ctx, id_search *q, char tag, const char *w, int prefix,
                          id_bits *b)
{
    char lo[2 * PDB_SEARCH_MAX_WORD + 4], hi[2 * PDB_SEARCH_MAX_WORD + 4];
    size_t len = strlen(w);
    lo[0] = tag;
    memcpy(lo + 1, w, len + 1);
    memcpy(hi, lo, len + 2);
    /* Folded words hold no control characters: [w, w "\x01") is w alone;
     * a prefix's range ends at its last byte plus one ("ngu" < "ngv"). */
    if (prefix)
        hi[len]++;
    else
        memcpy(hi + len + 1, "\x01", 2);
    sqlite3_reset(q->rows);
    sqlite3_bind_text(q->rows, 1, lo, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->rows, 2, hi, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->rows, 3, q->lo, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->rows, 4, q->hi, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(q->rows)) == SQLITE_ROW)
        if (!bits_decode(b, sqlite3_column_blob(q->rows, 0),
                         (size_t)sqlite3_column_bytes(q->rows, 0)))
            return pdb__fail(ctx, PDB_ECORRUPT, "the search index has a damaged row");
    sqlite3_reset(q->rows);
    if (rc != SQLITE_DONE)
        return pdb__sql_fail(ctx, q->s->db, rc, "searching");
    return PDB_OK;
}

/* acc &= b, or acc = b for the first term (*first set). */
static void bits_and(id_bits *acc, id_bits *b, int *first)
{
    if (*first) {
        free(acc->w);
        *acc = *b;
        memset(b, 0, sizeof *b);
        *first = 0;
        return;
    }
    size_t n = acc->nw < b->nw ? acc->nw : b->nw;
    for (size_t i = 0; i < n; i++)
        acc->w[i] &= b->w[i];
    acc->nw = n;
    if (b->w != NULL) /* a term with no rows set nothing */
        memset(b->w, 0, b->nw * sizeof *b->w);
}

/* dst |= src; src emptied for its next use. 0 when out of memory. */
static int bits_or(id_bits *dst, id_bits *src)
{
    if (src->nw > dst->nw) {
        uint64_t *w = realloc(dst->w, src->nw * sizeof *w);
        if (w == NULL)
            return 0;
        memset(w + dst->nw, 0, (src->nw - dst->nw) * sizeof *w);
        dst->w = w;
        dst->nw = src->nw;
    }
    for (size_t i = 0; i < src->nw; i++)
        dst->w[i] |= src->w[i];
    if (src->w != NULL)
        memset(src->w, 0, src->nw * sizeof *src->w);
    return 1;
}

/* The search groups of a plan: each term must be in one of the tagged
 * columns ("any" is the owner too only with personal access). */
typedef struct search_group {
    const pdb__search_terms *t; /* the group's words */
    const char *tags;           /* PDB_SEARCH_TAG_* letters */
} search_group;

static size_t plan_groups(const pdb__search_plan *plan, search_group g[3])
{
    g[0] = (search_group){&plan->any, plan->personal ? PDB_SEARCH_TAG_OWNER PDB_SEARCH_TAG_ADDRESS
                                                     : PDB_SEARCH_TAG_ADDRESS};
    g[1] = (search_group){&plan->owner, PDB_SEARCH_TAG_OWNER};
    g[2] = (search_group){&plan->address, PDB_SEARCH_TAG_ADDRESS};
    return 3;
}

/* ORs into grp the parcels having, in one of g's columns, every pair of
 * neighbouring words of g's phrase (b and col: scratch). Three words or
 * more can have both pairs apart: phrase_check then reads the text. */
static pdb_status phrase_bits(pdb_ctx *ctx, id_search *q, const search_group *g, id_bits *b,
                              id_bits *col, id_bits *grp)
{
    char pair[2 * PDB_SEARCH_MAX_WORD + 2];
    pdb_status st = PDB_OK;
    for (const char *tag = g->tags; *tag && st == PDB_OK; tag++) {
        int first = 1;
        for (size_t k = 0; k + 1 < g->t->n && st == PDB_OK; k++) {
            snprintf(pair, sizeof pair, "%s %s", g->t->w[k], g->t->w[k + 1]);
            st = term_or(ctx, q, pair_tag(*tag), pair, 0, b);
            bits_and(col, b, &first);
        }
        if (st == PDB_OK && !bits_or(grp, col))
            st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    }
    return st;
}

/* Whether folded text holds t's words side by side, in order. */
static int has_phrase(const char *folded, const pdb__search_terms *t)
{
    for (const char *p = folded; p != NULL && *p != '\0';) {
        const char *q = p;
        size_t i = 0;
        for (; i < t->n; i++) {
            size_t len = strlen(t->w[i]);
            if (strncmp(q, t->w[i], len) != 0 || (q[len] != ' ' && q[len] != '\0'))
                break;
            q += len;
            if (*q == ' ')
                q++;
            else if (i + 1 < t->n)
                break;
        }
        if (i == t->n)
            return 1;
        p = strchr(p, ' ');
        if (p != NULL)
            p++;
    }
    return 0;
}

/* Whether parcel id holds every group's words as a phrase (in one of the
 * group's columns). The postings say only that the words are there. */
static pdb_status phrase_check(pdb_ctx *ctx, pdb_store *s, sqlite3_stmt **stmt,
                               const pdb__search_plan *plan, int64_t id, int *ok)
{
    search_group g[3];
    size_t ng = plan_groups(plan, g);
    int rc = SQLITE_OK;
    *ok = 0;
    if (*stmt == NULL)
        rc = sqlite3_prepare_v2(s->db, "SELECT owner, address FROM parcels WHERE id = ?1", -1, stmt,
                                NULL);
    if (rc == SQLITE_OK) {
        sqlite3_reset(*stmt);
        sqlite3_bind_int64(*stmt, 1, id);
        rc = sqlite3_step(*stmt);
    }
    if (rc == SQLITE_DONE)
        return PDB_OK; /* gone since the index was read */
    if (rc != SQLITE_ROW)
        return pdb__sql_fail(ctx, s->db, rc, "searching");
    char *folded[2];
    for (int c = 0; c < 2; c++) {
        const char *text = (const char *)sqlite3_column_text(*stmt, c);
        folded[c] = pdb__fold_fast(text ? text : "", text ? strlen(text) : 0);
    }
    pdb_status st = PDB_OK;
    if (folded[0] == NULL || folded[1] == NULL)
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    else {
        *ok = 1;
        for (size_t i = 0; i < ng && *ok; i++) {
            if (g[i].t->n == 0)
                continue;
            int found = 0;
            for (const char *tag = g[i].tags; *tag && !found; tag++)
                found = has_phrase(folded[*tag == PDB_SEARCH_TAG_OWNER[0] ? 0 : 1], g[i].t);
            *ok = found;
        }
    }
    free(folded[0]);
    free(folded[1]);
    sqlite3_reset(*stmt);
    return st;
}

static int seen(const int64_t *ids, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

pdb_status pdb__sq_search_ids(pdb_ctx *ctx, pdb_store *s, const pdb__search_plan *plan, int rank,
                              int64_t *ids, size_t *n, size_t max)
{
    id_search q = {s, NULL, plan->commune[0] ? plan->commune : "",
                   plan->commune[0] ? plan->commune : "\x7f"};
    id_bits acc = {NULL, 0}, b = {NULL, 0}, col = {NULL, 0}, grp = {NULL, 0};
    sqlite3_stmt *phrase = NULL;
    search_group g[3];
    size_t ng = plan_groups(plan, g);
    int first = 1, began = 0, verify = 0;
    pdb_status st = PDB_OK;

    /* One snapshot for every term's rows: a commune committed between
     * two of them would leave its parcels out of the intersection. */
    if (sqlite3_get_autocommit(s->db)) {
        if ((st = pdb__store_exec(ctx, s, "BEGIN")) != PDB_OK)
            return st;
        began = 1;
    }
    /* The table's key is (commune, word), so that a commune's commit
     * writes one range of it (keyed by word first, the rows of every
     * commune interleaved: the province's import took 13% longer); a
     * word's rows of every commune, or of the one asked for, are one range
     * of the index on (word, commune), named because the planner, with no
     * statistics, prefers the key's commune range. */
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT ids FROM search_words INDEXED BY search_words_word "
                                "WHERE word >= ?1 AND word < ?2 AND commune BETWEEN ?3 AND ?4",
                                -1, &q.rows, NULL);
    if (rc != SQLITE_OK) {
        /* The message first: the COMMIT below replaces SQLite's. */
        st = strstr(sqlite3_errmsg(s->db), "no such table") != NULL
                 ? pdb__fail(ctx, PDB_ENOTFOUND, PDB_SEARCH_NO_INDEX)
                 : pdb__sql_fail(ctx, s->db, rc, "searching");
        sqlite3_finalize(q.rows);
        if (began)
            sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
        return st;
    }
    /* Every term: the union over its group's columns; the terms, then the
     * land-use filter, intersected. A phrase of two words or more: in one
     * of the columns, every pair of its neighbouring words. */
    for (size_t i = 0; i < ng && st == PDB_OK; i++) {
        if (rank == PDB_SEARCH_PHRASE && g[i].t->n > 1) {
            st = phrase_bits(ctx, &q, &g[i], &b, &col, &grp);
            bits_and(&acc, &grp, &first);
            verify |= g[i].t->n > 2;
            continue;
        }
        for (size_t k = 0; k < g[i].t->n && st == PDB_OK; k++) {
            for (const char *tag = g[i].tags; *tag && st == PDB_OK; tag++)
                st = term_or(ctx, &q, *tag, g[i].t->w[k], rank == PDB_SEARCH_PREFIX, &b);
            bits_and(&acc, &b, &first);
        }
    }
    if (st == PDB_OK && plan->landuse[0]) {
        st = term_or(ctx, &q, PDB_SEARCH_TAG_LANDUSE[0], plan->landuse, 0, &b);
        bits_and(&acc, &b, &first);
    }
    /* By id, as before: the ranks order what matters to the officer. */
    for (size_t i = 0; i < acc.nw && st == PDB_OK && *n < max; i++)
        for (uint64_t w = acc.w[i]; w != 0 && st == PDB_OK && *n < max; w &= w - 1) {
            int64_t id = (int64_t)(i * 64 + (size_t)__builtin_ctzll(w));
            int ok = 1;
            if (seen(ids, *n, id))
                continue;
            if (verify)
                st = phrase_check(ctx, s, &phrase, plan, id, &ok);
            if (st == PDB_OK && ok)
                ids[(*n)++] = id;
        }
    sqlite3_finalize(q.rows);
    sqlite3_finalize(phrase);
    if (began)
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL); /* a read: nothing to lose */
    free(acc.w);
    free(b.w);
    free(col.w);
    free(grp.w);
    return st;
}

/* Checks and parses a query into a plan. */
static pdb_status plan_make(pdb_ctx *ctx, const pdb_search_query *q, unsigned read_flags,
                            pdb__search_plan *plan)
{
    pdb__search_terms use;
    pdb_status st;

    memset(plan, 0, sizeof *plan);
    plan->personal = (read_flags & PDB_READ_PERSONAL) != 0;
    if (q->owner != NULL && !plan->personal)
        return pdb__fail(ctx, PDB_EINVAL, "searching owner names needs personal access");
    if ((st = pdb__search_terms_parse(ctx, q->text, &plan->any)) != PDB_OK ||
        (st = pdb__search_terms_parse(ctx, q->owner, &plan->owner)) != PDB_OK ||
        (st = pdb__search_terms_parse(ctx, q->address, &plan->address)) != PDB_OK)
        return st;
    if (plan->any.n + plan->owner.n + plan->address.n == 0)
        return pdb__fail(ctx, PDB_EINVAL, "nothing to search for: give a name or address word");
    if (q->commune != NULL) {
        if (strlen(q->commune) != 5 || strspn(q->commune, "0123456789") != 5)
            return pdb__fail(ctx, PDB_EINVAL, "commune code '%s' is not five digits", q->commune);
        memcpy(plan->commune, q->commune, 6);
    }
    if (q->landuse != NULL) {
        if ((st = pdb__search_terms_parse(ctx, q->landuse, &use)) != PDB_OK)
            return st;
        if (use.n != 1)
            return pdb__fail(ctx, PDB_EINVAL, "land-use code '%s' is not one code", q->landuse);
        memcpy(plan->landuse, use.w[0], sizeof plan->landuse);
    }
    if (q->limit > PDB_SEARCH_MAX_LIMIT)
        return pdb__fail(ctx, PDB_ELIMIT, "limit %zu is over %d", q->limit, PDB_SEARCH_MAX_LIMIT);
    plan->limit = q->limit == 0 ? 20 : q->limit;
    return PDB_OK;
}

pdb_status pdb_parcels_search(pdb_ctx *ctx, pdb_store *s, const pdb_search_query *q,
                              unsigned read_flags, pdb_parcel_list **out)
{
    pdb__search_plan plan;
    pdb_parcel_list *list = NULL;
    int64_t *ids = NULL;
    size_t n = 0;
    pdb_status st;

    if (out == NULL || s == NULL || q == NULL)
        return pdb__fail(ctx, PDB_EINVAL, "no store, no query or no place for the answer");
    *out = NULL;
    if ((st = plan_make(ctx, q, read_flags, &plan)) != PDB_OK)
        return st;
    /* One more than the limit tells whether the answer was cut. */
    size_t max = plan.limit + 1;
    if ((ids = malloc(max * sizeof *ids)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    int one_word = plan.any.n + plan.owner.n + plan.address.n == 1;
    for (int rank = one_word ? PDB_SEARCH_WORDS : PDB_SEARCH_PHRASE;
         rank < PDB_SEARCH_RANKS && n < max; rank++) {
        st = s->pg != NULL ? pdb__pg_search_ids(ctx, s, &plan, rank, ids, &n, max)
                           : pdb__sq_search_ids(ctx, s, &plan, rank, ids, &n, max);
        if (st != PDB_OK)
            goto done;
    }
    if ((list = calloc(1, sizeof *list)) == NULL ||
        (n > 0 && (list->items = calloc(n, sizeof *list->items)) == NULL)) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        goto done;
    }
    list->truncated = n > plan.limit;
    for (size_t i = 0; i < n && i < plan.limit; i++) {
        pdb_parcel *p = NULL;
        st = s->ops->parcel_get(ctx, s, ids[i], read_flags, &p);
        if (st == PDB_ENOTFOUND)
            continue; /* removed since the index was read: not an answer */
        if (st != PDB_OK)
            goto done;
        list->items[list->count++] = *p;
        free(p); /* its fields moved into the list */
    }
    *out = list;
    list = NULL;
    st = pdb__ok(ctx);
done:
    pdb_parcel_list_free(list);
    free(ids);
    return st;
}

/* One word of a commune's postings being collected. */
typedef struct posting_word {
    char *word;    /* tag letter + folded word, NUL-terminated, owned */
    size_t len;    /* bytes of word */
    uint32_t hash; /* FNV-1a of word, for the table */
    int64_t *ids;  /* parcels holding it, in the order added, owned */
    size_t n, cap; /* used and allocated entries of ids */
} posting_word;

/* One commune's words (search.h), as the writer adds its parcels. */
struct pdb__search_postings {
    posting_word *words; /* every distinct word, owned */
    size_t nwords, cap;  /* used and allocated entries of words */
    uint32_t *slots;     /* open-addressing table: index + 1 into words, 0 free */
    size_t nslots;       /* a power of two, at least twice nwords */
    int unsorted;        /* an id came below a word's last one: sort at write */
    char *fold;          /* the fold of the text being added, owned */
    size_t fold_cap;     /* bytes of fold */
};

static uint32_t fnv1a(char tag, const char *w, size_t len)
{
    uint32_t h = 2166136261u;
    h = (h ^ (unsigned char)tag) * 16777619u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)w[i]) * 16777619u;
    return h;
}

/* Doubles the slot table (or makes it) and places every word again. */
static int postings_grow(pdb__search_postings *pp)
{
    size_t nslots = pp->nslots ? 2 * pp->nslots : 1024;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (slots == NULL)
        return 0;
    for (size_t i = 0; i < pp->nwords; i++) {
        size_t j = pp->words[i].hash & (nslots - 1);
        while (slots[j] != 0)
            j = (j + 1) & (nslots - 1);
        slots[j] = (uint32_t)(i + 1);
    }
    free(pp->slots);
    pp->slots = slots;
    pp->nslots = nslots;
    return 1;
}

/* The entry of tag + w (len bytes), made when new; NULL when out of memory. */
static posting_word *postings_word(pdb__search_postings *pp, char tag, const char *w, size_t len)
{
    if (2 * (pp->nwords + 1) > pp->nslots && !postings_grow(pp))
        return NULL;
    uint32_t h = fnv1a(tag, w, len);
    size_t j = h & (pp->nslots - 1);
    for (; pp->slots[j] != 0; j = (j + 1) & (pp->nslots - 1)) {
        posting_word *e = &pp->words[pp->slots[j] - 1];
        if (e->hash == h && e->len == len + 1 && e->word[0] == tag &&
            memcmp(e->word + 1, w, len) == 0)
            return e;
    }
    if (pp->nwords == pp->cap) {
        size_t cap = pp->cap ? 2 * pp->cap : 512;
        posting_word *words = realloc(pp->words, cap * sizeof *words);
        if (words == NULL)
            return NULL;
        pp->words = words;
        pp->cap = cap;
    }
    posting_word *e = &pp->words[pp->nwords];
    memset(e, 0, sizeof *e);
    if ((e->word = malloc(len + 2)) == NULL)
        return NULL;
    e->word[0] = tag;
    memcpy(e->word + 1, w, len);
    e->word[len + 1] = '\0';
    e->len = len + 1;
    e->hash = h;
    pp->slots[j] = (uint32_t)++pp->nwords;
    return e;
}

static int ids_push(posting_word *e, int64_t id)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 8;
        int64_t *ids = realloc(e->ids, cap * sizeof *ids);
        if (ids == NULL)
            return 0;
        e->ids = ids;
        e->cap = cap;
    }
    e->ids[e->n++] = id;
    return 1;
}

/* Adds id to every word of text's fold, tagged. */
/* Adds id to tag + w (len bytes). */
static int postings_one(pdb__search_postings *pp, int64_t id, char tag, const char *w, size_t len)
{
    posting_word *e = postings_word(pp, tag, w, len);
    if (e == NULL)
        return 0;
    if (e->n > 0 && e->ids[e->n - 1] == id)
        return 1; /* the word twice in one text */
    pp->unsorted |= e->n > 0 && e->ids[e->n - 1] > id;
    return ids_push(e, id);
}

static int postings_text(pdb__search_postings *pp, int64_t id, char tag, int pairs,
                         const char *text)
{
    if (text == NULL || *text == '\0')
        return 1;
    if (!pdb__fold_fast_into(text, strlen(text), &pp->fold, &pp->fold_cap))
        return 0;
    const char *f = pp->fold;
    int ok = 1;
    const char *prev = NULL;
    /* Folded text is words separated by single spaces: from the start of
     * one word to the end of the next is the pair, as a phrase asks it. */
    for (const char *p = f; *p != '\0' && ok;) {
        size_t len = strcspn(p, " ");
        ok = postings_one(pp, id, tag, p, len) &&
             (!pairs || prev == NULL ||
              postings_one(pp, id, pair_tag(tag), prev, (size_t)(p + len - prev)));
        prev = p;
        p += len;
        if (*p == ' ')
            p++;
    }
    return ok;
}

pdb_status pdb__search_postings_add(pdb_ctx *ctx, pdb__search_postings **pp, int64_t id,
                                    const char *owner, const char *address, const char *landuse)
{
    if (*pp == NULL && (*pp = calloc(1, sizeof **pp)) == NULL)
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    if (!postings_text(*pp, id, PDB_SEARCH_TAG_OWNER[0], 1, owner) ||
        !postings_text(*pp, id, PDB_SEARCH_TAG_ADDRESS[0], 1, address) ||
        !postings_text(*pp, id, PDB_SEARCH_TAG_LANDUSE[0], 0, landuse))
        return pdb__fail(ctx, PDB_ENOMEM, "out of memory");
    return PDB_OK;
}

void pdb__search_postings_free(pdb__search_postings *pp)
{
    if (pp == NULL)
        return;
    for (size_t i = 0; i < pp->nwords; i++) {
        free(pp->words[i].word);
        free(pp->words[i].ids);
    }
    free(pp->words);
    free(pp->slots);
    free(pp->fold);
    free(pp);
}

static int word_cmp(const void *a, const void *b)
{
    return strcmp((*(const posting_word *const *)a)->word, (*(const posting_word *const *)b)->word);
}

static int id_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Encodes ids (sorted, distinct, positive) as the gaps between them, each
 * a varint of 7 bits a byte, low first; buf holds 10 bytes an id. */
static size_t ids_encode(const int64_t *ids, size_t n, unsigned char *buf)
{
    size_t len = 0;
    int64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t d = (uint64_t)(ids[i] - prev);
        prev = ids[i];
        while (d >= 0x80) {
            buf[len++] = (unsigned char)(d | 0x80);
            d >>= 7;
        }
        buf[len++] = (unsigned char)d;
    }
    return len;
}

pdb_status pdb__sq_search_commune(pdb_ctx *ctx, pdb_store *s, const char *commune,
                                  pdb__search_postings *pp)
{
    sqlite3_stmt *del = NULL, *ins = NULL;
    posting_word **order = NULL;
    unsigned char *buf = NULL;
    size_t nwords = pp ? pp->nwords : 0, bufcap = 0;
    pdb_status st = PDB_OK;

    int rc =
        sqlite3_prepare_v2(s->db, "DELETE FROM search_words WHERE commune = ?1", -1, &del, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(del, 1, commune, -1, SQLITE_STATIC);
        rc = sqlite3_step(del) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->db);
    }
    if (rc == SQLITE_OK && nwords > 0)
        rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO search_words (word, commune, ids) VALUES (?1, ?2, ?3)",
                                -1, &ins, NULL);
    if (rc != SQLITE_OK) {
        st = pdb__sql_fail(ctx, s->db, rc, "updating the search index");
        goto done;
    }
    /* In the table's order: the B-tree is then filled from left to right. */
    if (nwords > 0 && (order = malloc(nwords * sizeof *order)) == NULL) {
        st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nwords; i++)
        order[i] = &pp->words[i];
    if (nwords > 1)
        qsort(order, nwords, sizeof *order, word_cmp);
    for (size_t i = 0; i < nwords; i++) {
        posting_word *e = order[i];
        if (pp->unsorted && e->n > 1) {
            size_t k = 0;
            qsort(e->ids, e->n, sizeof *e->ids, id_cmp);
            for (size_t j = 0; j < e->n; j++)
                if (k == 0 || e->ids[j] != e->ids[k - 1])
                    e->ids[k++] = e->ids[j];
            e->n = k;
        }
        if (10 * e->n > bufcap) {
            free(buf);
            bufcap = 10 * e->n;
            if ((buf = malloc(bufcap)) == NULL) {
                st = pdb__fail(ctx, PDB_ENOMEM, "out of memory");
                goto done;
            }
        }
        size_t len = ids_encode(e->ids, e->n, buf);
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, e->word, (int)e->len, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, commune, -1, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 3, buf, (int)len, SQLITE_STATIC);
        if ((rc = sqlite3_step(ins)) != SQLITE_DONE) {
            st = pdb__sql_fail(ctx, s->db, rc, "updating the search index");
            goto done;
        }
    }
done:
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    free(order);
    free(buf);
    return st;
}

/* Fills the index from every current parcel, a commune at a time. */
static pdb_status search_fill(pdb_ctx *ctx, pdb_store *s)
{
    sqlite3_stmt *stmt = NULL;
    pdb__search_postings *pp = NULL;
    char commune[8] = "";
    pdb_status st = PDB_OK;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT commune, id, owner, address, landuse FROM parcels "
                                "WHERE valid_to IS NULL ORDER BY commune, id",
                                -1, &stmt, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(stmt, 0);
        if (c == NULL || strlen(c) >= sizeof commune)
            continue; /* not a commune code: the writer never stores one */
        if (strcmp(c, commune) != 0) {
            if (commune[0] && (st = pdb__sq_search_commune(ctx, s, commune, pp)) != PDB_OK)
                break;
            pdb__search_postings_free(pp);
            pp = NULL;
            memcpy(commune, c, strlen(c) + 1);
        }
        if ((st = pdb__search_postings_add(ctx, &pp, sqlite3_column_int64(stmt, 1),
                                           (const char *)sqlite3_column_text(stmt, 2),
                                           (const char *)sqlite3_column_text(stmt, 3),
                                           (const char *)sqlite3_column_text(stmt, 4))) != PDB_OK)
            break;
        rc = SQLITE_OK;
    }
    if (st == PDB_OK && rc != SQLITE_DONE)
        st = pdb__sql_fail(ctx, s->db, rc, "reading the parcels to index");
    else if (st == PDB_OK && commune[0])
        st = pdb__sq_search_commune(ctx, s, commune, pp);
    sqlite3_finalize(stmt);
    pdb__search_postings_free(pp);
    return st;
}

pdb_status pdb__sq_search_backfill(pdb_ctx *ctx, pdb_store *s)
{
    int64_t has = 0, version = 0;
    sqlite3_stmt *stmt = NULL;
    pdb_status st;
    int rc;

    /* The common case, a store of schema 4 with its index, costs one read
     * and no lock; the check is made again inside the write transaction,
     * so that two processes opening an old store build its index once. */
    for (int locked = 0; locked < 2; locked++) {
        rc = sqlite3_prepare_v2(s->db,
                                "SELECT (SELECT count(*) FROM sqlite_master WHERE name = "
                                "'search_words'), (SELECT user_version FROM pragma_user_version)",
                                -1, &stmt, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            has = sqlite3_column_int64(stmt, 0);
            version = sqlite3_column_int64(stmt, 1);
        }
        sqlite3_finalize(stmt);
        if (rc != SQLITE_ROW) {
            st = pdb__sql_fail(ctx, s->db, rc, "looking for the search index");
            goto fail;
        }
        if (has && version >= PDB_SCHEMA_VERSION)
            return locked ? pdb__store_exec(ctx, s, "COMMIT") : PDB_OK;
        if (!locked && (st = pdb__store_exec(ctx, s, "BEGIN IMMEDIATE")) != PDB_OK)
            return st;
    }
    /* Schema 3's FTS5 index goes (an engine of schema 3 refuses this store
     * from now on, so nobody keeps it current). An index found in a store
     * of an older schema was kept by this engine: only the version is
     * behind, as after an upgrade test's downgrade. */
    if (!has &&
        ((st = pdb__store_exec(
              ctx, s, "DROP TABLE IF EXISTS parcel_search;" PDB_SEARCH_SCHEMA_SQL)) != PDB_OK ||
         (st = search_fill(ctx, s)) != PDB_OK))
        goto fail;
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", PDB_SCHEMA_VERSION);
    if ((st = pdb__store_exec(ctx, s, pragma)) != PDB_OK ||
        (st = pdb__store_exec(ctx, s, "COMMIT")) != PDB_OK)
        goto fail;
    return PDB_OK;
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}
