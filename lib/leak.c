/* The steady-growth rule of leak verdicts; see leak.h. */
#include "leak.h"

bool leak_steady(size_t n, double (*at)(const void *ctx, size_t i), const void *ctx,
		 double min_rise)
{
	size_t rises = 0;

	if (n < 3)
		return false;
	for (size_t i = 1; i < n; i++) {
		double prev = at(ctx, i - 1), cur = at(ctx, i);
		if (cur < prev)
			return false;
		rises += cur > prev;
	}
	return rises * 2 >= n - 1 && at(ctx, n - 1) >= at(ctx, 0) + min_rise;
}
