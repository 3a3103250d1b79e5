/*
 * idlist.h: pdb_idlist, a table-valued function over a sorted array of
 * row ids handed in from C (sqlite3_bind_pointer), so that a statement
 * can join parcels to ids the engine already holds in order. The box
 * reads take their R-tree candidates into C, sort them there and join
 * through it: `p.id IN (SELECT pkid FROM the R-tree)` made SQLite build
 * and search a temporary B-tree of the candidates for every tile.
 */
#ifndef PDB_IDLIST_H
#define PDB_IDLIST_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* The pointer type name bound with sqlite3_bind_pointer. */
#define PDB_IDLIST_POINTER "pdb_idlist"

/* What is bound: n ids, strictly ascending (pdb__idlist_sort makes them
 * so). Borrowed: it must outlive the statement's run. */
typedef struct pdb__idlist {
    const int64_t *ids;
    size_t n;
} pdb__idlist;

/* Sorts ids ascending and drops repeats; returns the count kept. */
size_t pdb__idlist_sort(int64_t *ids, size_t n);

/* Registers pdb_idlist(list) (columns: value, and the hidden list) on a
 * connection: `SELECT value FROM pdb_idlist(?1)` yields the bound ids in
 * ascending order, and tells the planner so (no sort for ORDER BY
 * value). An SQLite result code. */
int pdb__idlist_register(sqlite3 *db);

#endif
