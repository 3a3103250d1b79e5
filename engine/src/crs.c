/* crs.c: being written. */
