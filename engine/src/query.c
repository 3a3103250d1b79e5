/* query.c: being written. */
