/* Growing arrays without exiting on failure, for lib/. */
#ifndef CPROF_GROW_H
#define CPROF_GROW_H

#include <stddef.h>

/* Make *ARR (of *CAP elements of SIZE bytes) hold at least NEED elements,
 * doubling as it goes. Returns 0, or -1 with an error when out of memory. */
int cp_grow(void *arr, size_t *cap, size_t need, size_t size);

#define CP_GROW(arr, cap, need) cp_grow(&(arr), &(cap), (need), sizeof(*(arr)))

#endif
