/* Binary search of arrays sorted by a 64-bit address: the symbol tables of
 * modules and of the kernel, and the functions of a DWARF unit. */
#ifndef CPROF_SORTED_H
#define CPROF_SORTED_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* How many of the N elements of SIZE bytes at ARR, sorted by the uint64_t
 * at offset OFF of each, have that key at most KEY: the index just past the
 * last one at or below KEY (0 when there is none). */
static inline size_t sorted_upto(const void *arr, size_t n, size_t size, size_t off, uint64_t key)
{
	const unsigned char *base = arr;
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t k;

		memcpy(&k, base + mid * size + off, sizeof(k));
		if (k <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* sorted_upto over array ARR of N elements by their uint64_t FIELD. */
#define SORTED_UPTO(arr, n, field, key) \
	sorted_upto((arr), (n), sizeof(*(arr)), offsetof(__typeof__(*(arr)), field), (key))

#endif
