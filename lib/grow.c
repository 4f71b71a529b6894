/* cp_grow: amortised doubling of caller-owned arrays. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "grow.h"

int cp_grow(void *arr, size_t *cap, size_t need, size_t size)
{
	void **p = arr;
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2 / size)
			return cp_error_errno(ENOMEM, "out of memory");
		n *= 2;
	}
	q = realloc(*p, n * size);
	if (!q)
		return cp_error_errno(ENOMEM, "out of memory");
	*p = q;
	*cap = n;
	return 0;
}
