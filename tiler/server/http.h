/*
 * http.h: the one part with sockets (http.c, libmicrohttpd): runs the
 * daemon until the server loop asks it to stop.
 */
#ifndef PDB_SRV_HTTP_H
#define PDB_SRV_HTTP_H

#include <stddef.h>

typedef struct pdb_srv pdb_srv;
typedef struct pdb_srv_http pdb_srv_http;

/* Listens on srv->opt.listen and starts the threads; *port is the port
 * bound. 0, or -1 with the reason in msg. */
int pdb_srv_http_start(pdb_srv *srv, pdb_srv_http **out, unsigned *port, char *msg, size_t cap);
/* Stops accepting connections (the listening socket closes). */
void pdb_srv_http_quiesce(pdb_srv_http *h);
/* Closes every connection and joins the threads. */
void pdb_srv_http_stop(pdb_srv_http *h);

#endif
