/* writer.c: being written. */
