/* geojson.c: being written. */
