/*
 * search_audit.h: the server's writes to the store's audit table
 * (pdb_audit_record): one row per answer that shows owner names, written
 * before the answer is sent. The workers read through read-only handles;
 * this module keeps the process's one read-write handle for the audit.
 */
#ifndef PDB_SRV_SEARCH_AUDIT_H
#define PDB_SRV_SEARCH_AUDIT_H

#include "parceldb.h"

#include <stddef.h>

/* Records that the token named who was shown the owners of the parcels of
 * list through route what ("GET /parcels/at"). Thread-safe (one writer at
 * a time). Opens the read-write handle on first use, and again after a
 * failure or when the store file was replaced. 0 on success; -1 with a
 * one-line reason in err, and then the owners must not be sent. */
int pdb_srv_audit_personal(const char *db_path, const char *who, const char *what,
                           const pdb_parcel_list *list, char *err, size_t errcap);
/* The same for n parcels given by store id (an extract's). */
int pdb_srv_audit_personal_ids(const char *db_path, const char *who, const char *what,
                               const int64_t *ids, size_t n, char *err, size_t errcap);

/* Runs fn with the process's read-write handle for changes on db_path
 * (--db; opened and reopened as the audit's is), under its lock, so that
 * the server's changes (change_route.c) are written one at a time.
 * Returns fn's status; when the handle cannot be
 * opened, PDB_EIO with the reason in err. After a store failure (not a
 * refused change) the handle is reopened at the next call. */
pdb_status pdb_srv_with_write_store(const char *db_path,
                                    pdb_status (*fn)(pdb_ctx *ctx, pdb_store *s, void *arg),
                                    void *arg, char *err, size_t errcap);

#endif
