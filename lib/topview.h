/* What cprof top shows, computed without a terminal: private copies of a
 * live profile (every sample since the start, or a recent window made by
 * subtracting an earlier snapshot), the table's rows in either order, the
 * threads in the samples, and the lines of the flame view of a call tree
 * zoomed into any of its nodes. */
#ifndef CPROF_TOPVIEW_H
#define CPROF_TOPVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "profile.h"
#include "stacks.h"

/* The values of a profile's samples at one moment. A profile only ever adds
 * samples at the end and adds to the values of those it has, so sample I of
 * the same profile later is the sample of the snapshot's I. */
struct top_snapshot {
	int64_t when_ns;
	size_t nsamples, ntypes;
	int64_t *values; /* nsamples * ntypes */
};

/* Record P's values, taken at WHEN_NS, into S. Returns 0 or -1. */
int topview_snapshot(struct top_snapshot *s, const struct profile *p, int64_t when_ns);
void topview_snapshot_release(struct top_snapshot *s);

/* A new profile holding LIVE's samples (every sample type, with its period,
 * time and duration) minus those of BASE, an earlier snapshot of LIVE (NULL:
 * none); samples left with nothing keep a value of 0. LIVE's values are
 * lowered and put back in place while it is copied, so nothing else may use
 * LIVE meanwhile. NULL with an error. */
struct profile *topview_copy(struct profile *live, const struct top_snapshot *base);

enum top_sort { TOP_SORT_SELF, TOP_SORT_TOTAL };

/* Sort the N ROWS of stackset_functions(SS) by flat (TOP_SORT_SELF) or
 * cumulative value, largest first, names breaking ties. */
void topview_sort(const struct stackset *ss, struct func_total *rows, size_t n, enum top_sort by);

struct top_thread {
	int64_t tid;
	const char *name; /* the label "thread", in the profile's strings; "" if none */
	int64_t value;
};

/* The threads that P's samples are labelled with ("tid", and "thread" for
 * the name), each with the sum of its samples' values at SI, largest first,
 * into a new array *OUT of *N; with STATE, of the samples whose label
 * "state" is that only (off-CPU and wall profiles). Returns 0 or -1. */
int topview_threads(const struct profile *p, int si, const char *state, struct top_thread **out,
		    size_t *n);

/* One line of the flame view: a node and its bar, START and LEN in columns
 * of a bar area WIDTH wide, where its box would be in a flame graph. */
struct flame_line {
	uint32_t node;
	double start, len;
};

/* The lines of the flame view of T (sorted: calltree_sort) from node ROOT
 * down: ROOT's own line first unless it is the tree's root (node 0), then its
 * callees depth-first, biggest first, leaving out nodes under MIN_PERCENT of
 * ROOT's total, with bars scaled so that ROOT spans WIDTH columns. Into a new
 * array *OUT of *N. Returns 0 or -1. */
int topview_flame(const struct calltree *t, uint32_t root, double width, double min_percent,
		  struct flame_line **out, size_t *n);

/* The node reached from the root of T by following the function names
 * NAMES[0..N) (callers first); as deep as the names lead, so 0 when the
 * first is not a child of the root. *DEPTH (if not NULL) gets how many
 * names matched. */
uint32_t topview_find_path(const struct calltree *t, char *const *names, size_t n,
			   size_t *depth);

#endif
