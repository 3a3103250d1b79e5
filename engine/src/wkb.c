/* wkb.c: being written. */
