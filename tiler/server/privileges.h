/*
 * privileges.h: a server started as root keeps root only to bind its
 * port: it becomes the --user in effect before it opens the store and the
 * disk cache, and for good once the port is bound.
 */
#ifndef PDB_SRV_PRIVILEGES_H
#define PDB_SRV_PRIVILEGES_H

#include "server.h"

#include <stddef.h>
#include <sys/types.h>

/* The user the server runs as, when started as root with --user. */
typedef struct pdb_srv_run_as {
    int active;    /* 1: started as root with a user to become */
    uid_t uid;     /* the user's */
    gid_t gid;     /* its primary group */
    char name[64]; /* for messages */
} pdb_srv_run_as;

/* Decides whom the server runs as and becomes that user in effect (see
 * privileges.c). 0, or -1 with the reason in msg (root without --user or
 * --allow-root, an unknown user, root as the user). */
int pdb_srv_choose_user(const pdb_srv_options *o, pdb_srv_run_as *ra, char *msg, size_t cap);

/* After the port is bound: drops root for good and checks that it is
 * gone and that the user can read the store and write the disk cache.
 * 0, or -1 with the reason in msg. */
int pdb_srv_become_user(const pdb_srv_options *o, const pdb_srv_run_as *ra, char *msg, size_t cap);

#endif
