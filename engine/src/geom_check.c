/* geom_check.c: being written. */
