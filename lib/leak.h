/* The steady-growth rule of the leak verdicts of cprof threads --watch and
 * cprof heap --watch, over a quantity polled at even intervals. */
#ifndef CPROF_LEAK_H
#define CPROF_LEAK_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the N values AT(CTX, 0) .. AT(CTX, N - 1) grew steadily: N >= 3,
 * no value below the one before, a rise in at least half of the N - 1
 * intervals, and the last at least MIN_RISE above the first. */
bool leak_steady(size_t n, double (*at)(const void *ctx, size_t i), const void *ctx,
		 double min_rise);

#endif
