/* A string interner: one copy of each distinct string, numbered in the order
 * they came, found again by one hash probe. The profile's string table, the
 * symbolizer's names and files and the names the views make for frames
 * without symbols are each one. */
#ifndef CPROF_INTERN_H
#define CPROF_INTERN_H

#include <stddef.h>
#include <stdint.h>

#include "hmap.h"

struct intern {
	char **strs; /* by number; each owned, NUL-terminated */
	size_t n, cap;
	struct hmap index;
};

void intern_init(struct intern *in);
/* Free every string; IN is empty (as after intern_init) again. */
void intern_release(struct intern *in);

/* The number of the first LEN bytes of S (up to a NUL among them, as
 * strndup copies), added if new; S may be NULL when LEN is 0. -1 with an
 * error when out of memory or at UINT32_MAX strings. */
int64_t intern_n(struct intern *in, const char *s, size_t len);

/* As intern_n, the interned copy itself: NULL with an error. */
const char *intern_str(struct intern *in, const char *s, size_t len);

/* The number of string S, or -1 when it is not there. */
int64_t intern_find(const struct intern *in, const char *s);

#endif
