/*
 * handlers.h: each route's answer (handlers.c), from a parsed request to a
 * pdb_srv_response; no sockets.
 */
#ifndef PDB_SRV_HANDLERS_H
#define PDB_SRV_HANDLERS_H

#include "response.h"

typedef struct pdb_srv pdb_srv;

/* Answers one request into out (never fails: errors are answers). */
void pdb_srv_handle(pdb_srv *srv, const pdb_srv_in *in, pdb_srv_response *out);

#endif
