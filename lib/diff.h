/* Comparing two profiles by share, never by count: each function's flat and
 * cumulative share of its own profile's total in BASE and in NEW, and a diff
 * profile (NEW, plus BASE scaled to NEW's total and negated) for any pprof
 * viewer. */
#ifndef CPROF_DIFF_H
#define CPROF_DIFF_H

#include <stddef.h>

#include "profile.h"
#include "stacks.h"

struct diff_row {
	const char *name, *file;
	int start_line;
	double base_flat, base_cum, new_flat, new_cum; /* percent of each total */
};

/* Rows for every function in either stack set, largest change (flat or
 * cumulative, in points) first. Returns 0 or -1. */
int diff_rows(const struct stackset *base, const struct stackset *new, struct diff_row **rows,
	      size_t *n);

/* NEW's samples at index NSI, and BASE's at BSI multiplied by
 * -(NEW's total / BASE's total) and labelled pprof::base, as pprof
 * -normalize -diff_base sees them. Its sample types: NEW's (the default),
 * after the count type that goes with it where both profiles have that one
 * (scaled alike), so folded stacks count. NULL with an error. */
struct profile *diff_profile(const struct profile *base, int bsi, const struct profile *new,
			     int nsi);

#endif
