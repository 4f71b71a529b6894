/* JSON output: the string writer that the JSON views share. */
#ifndef CPROF_JSON_H
#define CPROF_JSON_H

#include <stdio.h>

/* S as a JSON string (RFC 8259), quotes included, to OUT: '"' and '\\'
 * escaped, control characters as \b, \f, \n, \r, \t or \u00XX, and each
 * ill-formed UTF-8 sequence (a thread's name is bytes) as one U+FFFD, since
 * JSON text must be UTF-8. */
void json_write_string(FILE *out, const char *s);

#endif
