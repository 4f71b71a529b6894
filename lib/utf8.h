/* UTF-8 well-formedness, as the JSON and SVG writers need it: names from a
 * target (thread names, symbols) are bytes, and one ill-formed sequence makes
 * a whole JSON or XML document unreadable. */
#ifndef CPROF_UTF8_H
#define CPROF_UTF8_H

#include <stddef.h>

/* The bytes of the well-formed UTF-8 character at S (1 to 4; 1 for the NUL
 * that ends S), or 0 when S starts an ill-formed sequence: then *BAD is the
 * length of its longest well-formed prefix (1 to 3), which Unicode's practice
 * for substitution (Python's and ICU's decoders follow it) replaces by one
 * U+FFFD. Overlong forms, surrogates and code points beyond U+10FFFF are
 * ill-formed. */
size_t utf8_char_len(const char *s, size_t *bad);

#endif
