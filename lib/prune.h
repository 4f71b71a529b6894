/* pprof's Prune: the frames a profile's drop_frames names (unless its
 * keep_frames names them too) go from its stacks with all they called, as
 * go tool pprof drops them from every profile it reads. */
#ifndef CPROF_PRUNE_H
#define CPROF_PRUNE_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "profile.h"

struct prune {
	regex_t drop, keep;
	bool keep_set;
};

/* What goes of a location: nothing, all of it and all below it, or what is
 * below it (its lines from the dropped one in are cut). */
enum prune_kind { PRUNE_NONE, PRUNE_ALL, PRUNE_BENEATH };

/* Compile DROP and KEEP (NULL or "": none) as pprof does: Go's syntax,
 * matching whole names. Returns 0, or -1 with an error (PR needs no
 * release then). */
int prune_init(struct prune *pr, const char *drop, const char *keep);
void prune_release(struct prune *pr);

/* Whether the function NAME is dropped. pprof matches a C++ name without
 * its parameters: up to the first '(' that does not begin "(anonymous
 * namespace)" or end "operator()". */
bool prune_dropped(const struct prune *pr, const char *name);

/* What goes of a location of P with LINES (*N, innermost first): its
 * outermost dropped line and those inside it are cut (PRUNE_BENEATH), or
 * all of it when that line is its outermost (PRUNE_ALL). */
enum prune_kind prune_lines(const struct prune *pr, const struct profile *p,
			    struct pf_line *lines, size_t *n);

/* A stack of N locations (leaf first) of the kinds KINDS, as pprof prunes
 * it: from the root, past the first location that stays, the first pruned
 * goes with all below it, or, cut beneath, is the leaf. The new leaf's
 * index. */
size_t prune_stack(const unsigned char *kinds, size_t n);

#endif
