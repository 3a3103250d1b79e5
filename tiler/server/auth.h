/*
 * auth.h: the bearer tokens that unlock owner names. The server keeps
 * only SHA-256 hashes of the tokens (libcrypto) and compares a presented
 * token's hash with every stored hash in constant time.
 *
 * Token file: one entry per line; blank lines and lines starting with '#'
 * are skipped. An entry is either "sha256:HEX" (the hex SHA-256 of the
 * token, so that the file holds no secret: `printf %s "$TOKEN" | sha256sum`)
 * or the token itself (16 to 512 characters of [A-Za-z0-9-._~+/=]), hashed
 * at load. Anything after the first blank is a label: its first word is
 * the token's name in the audit table ("line N" without one), and a word
 * "role=read", "role=personal" or "role=write" gives the token's role
 * (anywhere in the label; another role is an error):
 *   read      public answers only: a valid token, but no owner names;
 *   personal  owner names (audited), as every token did before roles;
 *   write     owner names, and the change routes (POST /parcels/.../split,
 *             /parcels/merge, .../update, .../reshape).
 * Roles are cumulative (write can do what personal can, personal what read
 * can). A token without a role is "personal", so older files keep working.
 *
 *   sha256:9f86d0...  officer-hoa role=write
 *   Zq3w...long...    map-app role=read
 */
#ifndef PDB_SRV_AUTH_H
#define PDB_SRV_AUTH_H

#include <stddef.h>

#define PDB_SRV_SHA256_SIZE 32
#define PDB_SRV_MIN_TOKEN 16  /* characters of a plain token in the file */
#define PDB_SRV_TOKEN_NAME 64 /* bytes of a token's name, with its NUL */

typedef struct pdb_srv_tokens pdb_srv_tokens;

/* What a token may do (ordered: each includes those before it). */
typedef enum pdb_srv_role {
    PDB_SRV_ROLE_READ = 1, /* public answers */
    PDB_SRV_ROLE_PERSONAL, /* and owner names */
    PDB_SRV_ROLE_WRITE     /* and changes to parcels */
} pdb_srv_role;

/* Reads a token file. Returns 0 and a set in *out (caller frees with
 * pdb_srv_tokens_free), or -1 with "FILE:LINE: reason" in err. */
int pdb_srv_tokens_load(const char *path, pdb_srv_tokens **out, char *err, size_t errcap);

/* The same from text in memory (for tests); name stands for the file. */
int pdb_srv_tokens_parse(const char *text, size_t len, const char *name, pdb_srv_tokens **out,
                         char *err, size_t errcap);

void pdb_srv_tokens_free(pdb_srv_tokens *t);

/* Number of tokens in the set (0 for NULL). */
size_t pdb_srv_tokens_count(const pdb_srv_tokens *t);

/* 1 when token (len bytes) is in the set. The time taken depends on the
 * number of stored tokens only, not on their contents or on how much of a
 * stored token the candidate matches. A NULL set matches nothing. */
int pdb_srv_tokens_check(const pdb_srv_tokens *t, const char *token, size_t len);

/* The same check; the matching token's name (borrowed from the set), or
 * NULL when token is not in it. */
const char *pdb_srv_tokens_find(const pdb_srv_tokens *t, const char *token, size_t len);

/* pdb_srv_tokens_find, with the matching token's role in *role (left
 * alone when none matches). */
const char *pdb_srv_tokens_find_role(const pdb_srv_tokens *t, const char *token, size_t len,
                                     pdb_srv_role *role);

/* SHA-256 of data, for tests and hashing helpers. */
void pdb_srv_sha256(const void *data, size_t len, unsigned char out[PDB_SRV_SHA256_SIZE]);

#endif
