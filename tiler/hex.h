/*
 * hex.h: the one hex-digit decoder of the renderer (colours, expr.c) and of
 * the server (percent-escapes, token hashes), which links the renderer.
 * Internal: not part of tiler.h's API.
 */
#ifndef PDB_TILER_HEX_H
#define PDB_TILER_HEX_H

/* The value of a hex digit (either case), or -1. */
int pdbt__hexval(int c);

#endif
