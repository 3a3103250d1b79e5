/*
 * storefile.h: the store file as the file system sees it: its identity
 * (a file replaced under the same name is another store), its age, and
 * the stale WAL a replaced file finds beside its name.
 */
#ifndef PDB_SRV_STOREFILE_H
#define PDB_SRV_STOREFILE_H

#include <stddef.h>
#include <stdint.h>

/* 0 when the store location names a PostgreSQL database (postgresql://...
 * or a libpq conninfo), 1 for a file: only a file has an age and a WAL. */
int pdb_srv_store_is_file(const char *location);

/* The location to print: a PostgreSQL location without its password
 * (conninfo "password=", URI "user:password@" or "?password="), written
 * into buf; a file's path as it is (returned, buf unused). */
const char *pdb_srv_store_shown(const char *location, char *buf, size_t cap);

/* A stable number for this store file (device and inode), so that ETags
 * survive restarts but not a replaced store; 1 when it cannot be read. */
uint64_t pdb_srv_store_identity(const char *path);

/* Seconds since the store (or its WAL) was last written, NAN when unknown. */
double pdb_srv_store_file_age_s(const char *db_path);

/* Removes the -wal and -shm that a replaced store file found beside its
 * name (see storefile.c). 0 when the new file may be opened, -1 when the
 * old WAL is still there (said in the log once per file). */
int pdb_srv_drop_replaced_wal(const char *db_path);

#endif
