/* Stacks as the views see them: a profile's samples at one sample index, after
 * --focus and --ignore, each location expanded into its inlined frames and
 * each frame named by function (or by its mapping where there are no symbols),
 * and the call tree built from them. Every renderer reads from here. */
#ifndef CPROF_STACKS_H
#define CPROF_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hmap.h"
#include "intern.h"
#include "profile.h"

#define FRAME_NO_POS UINT32_MAX

struct frame {
	uint32_t name; /* name id: see stackset_name() */
	uint32_t file; /* name id of the source file, 0 if unknown */
	int32_t line; /* 0 if unknown */
	int32_t start_line; /* the function's first line, 0 if unknown */
	uint32_t map; /* string index of its mapping's file, 0 if none */
	/* the index in the sample's locations of the location it is of;
	 * FRAME_NO_POS for --tagroot's and --tagleaf's label frames */
	uint32_t pos;
	bool synth; /* no function: named for its mapping or address */
	bool inl; /* inlined into the frame after it (not its location's last line) */
};

struct stack {
	const struct pf_sample *sample;
	struct frame *frames; /* leaf first */
	size_t nframes;
	int64_t value;
	int64_t div; /* with stack_filter.mean, the sample's first value: the divisor */
	bool base; /* labelled pprof::base: the base's part of a diff profile */
};

struct stackset {
	const struct profile *p;
	int si; /* sample index */
	struct stack *stacks;
	size_t nstacks;
	/* The total shares are of, as pprof takes it: the sum of the values'
	 * magnitudes, or in a diff profile whose base samples are labelled
	 * pprof::base, of those only (the base's size, so shares are changes in
	 * points of the base). Over the kept stacks, and over all samples
	 * before filtering. */
	int64_t total, total_all;
	/* With stack_filter.mean, the divisors' sums over the same samples
	 * (pprof's mean total is total / div); else 0. */
	int64_t div, div_all;
	bool diff; /* some values are negative: a base was subtracted */
	bool addresses; /* frames without symbols named per address, not per mapping */
	bool noinlines; /* a location is its outermost function only */
	bool mean;      /* stack_filter.mean: stacks carry divisors */
	int64_t base_key, base_true; /* string indices of "pprof::base" and "true", or -1 */
	bool *key_hidden; /* by string index: a label key --tagshow or --taghide hides; NULL: none */
	size_t nnames; /* name ids are < nnames */
	struct frame *arena;
	/* Names made for frames without symbols, ids from p->nstrings on; readers
	 * say synth[i] and nsynth (the interner's strs and n: the same layout). */
	union {
		struct intern synth_names;
		struct {
			char **synth;
			size_t nsynth, synth_cap;
			struct hmap synth_index;
		};
	};
};

struct stack_filter {
	const char *focus;  /* keep samples with a frame whose name or file matches; NULL: all */
	const char *ignore; /* drop samples with such a frame; NULL: none */
	int64_t tid;        /* keep samples whose label "tid" is this number; 0: all */
	/* keep samples with (without) a label these accept, as pprof's
	 * -tagfocus and -tagignore (tagfilter.h); NULL: all */
	const char *tagfocus, *tagignore;
	/* leave out the frames whose function or file matches (pprof's -hide),
	 * or all but those (-show); a stack left with none is dropped */
	const char *hide, *show;
	/* keep only the frames from the rootmost one that matches down to the
	 * leaf, dropping stacks with none (pprof's -show_from); cut each stack
	 * below the leafmost frame whose function matches (-prune_from) */
	const char *show_from, *prune_from;
	/* comma-separated label keys whose values become frames at the root
	 * (the first key rootmost) or at the leaf (pprof's -tagroot, -tagleaf) */
	const char *tagroot, *tagleaf;
	/* show only the label keys that match, or not those that match
	 * (pprof's -tagshow, -taghide), in the views that print labels */
	const char *tagshow, *taghide;
	bool zero;          /* keep the samples whose value is 0 too (pprof's -tags counts them) */
	/* no frames: the stacks are their samples' values and labels only (for
	 * a view of labels; the frame filters above must be unset) */
	bool no_frames;
	bool noinlines;     /* inlined frames counted as their out-of-line caller (pprof's -noinlines) */
	bool mean;          /* each stack's divisor is its first value (pprof's -mean) */
	/* Frames without symbols: one per address ("module+0xoffset"), as pprof
	 * -addresses shows them; else one per mapping ("[module]", pprof's
	 * default granularity). */
	bool addresses;
};

/* Build SS from P at sample index SI with FILTER (may be NULL). Returns 0, or
 * -1 with an error (a bad regular expression, out of memory). */
int stackset_init(struct stackset *ss, const struct profile *p, int si,
		  const struct stack_filter *filter);
void stackset_release(struct stackset *ss);

/* The name of location L, which has no symbols: "module+0xoffset" (the
 * offset in the file), or the bare address. */
void location_synth_name(const struct profile *p, const struct pf_location *l, char *buf,
			 size_t n);

/* Which lines of P's locations F's --hide and --show leave, as pprof's
 * filters leave its locations' lines: a new array of flags, location i's
 * lines after all the lines of those before it. NULL with an error. */
bool *stackset_lines_kept(const struct profile *p, const struct stack_filter *f);

/* Whether the views print labels of key KEY (a string index). */
bool stackset_key_shown(const struct stackset *ss, int64_t key);

/* The text of name id ID (a function name, a file name or a synthesized name). */
const char *stackset_name(const struct stackset *ss, uint32_t id);

/* A function's flat (leaf) and cumulative values; a function recursing in a
 * stack counts once for its cumulative value. */
struct func_total {
	uint32_t name, file; /* name ids */
	int32_t start_line;
	int64_t flat, cum;
};

/* The totals of every function in SS with a non-zero flat or cumulative
 * value, into a new array *OUT of *N. Returns 0 or -1. */
int stackset_functions(const struct stackset *ss, struct func_total **out, size_t *n);

/* The call tree: node 0 is the root (no frame); children in first-seen order. */
struct cnode {
	uint32_t name, file;
	int32_t line; /* the line of this function's first frame seen here */
	int32_t start_line;
	int64_t total; /* this node and everything it called */
	int64_t self;
	/* In a diff: the base's part of self, as a magnitude (the pprof::base
	 * samples' and the negative values'); the new part is self + base_self. */
	int64_t base_self;
	int64_t abs_total; /* as total, over the values' magnitudes (differs in diffs) */
	uint32_t parent, first_child, last_child, next_sibling; /* 0: none (the root is never a child) */
	uint32_t depth;
};

struct calltree {
	const struct stackset *ss;
	struct cnode *nodes;
	size_t nnodes, cap;
	struct hmap index;
	uint32_t max_depth;
};

/* Build the root-first call tree of SS. Returns 0 or -1. */
int calltree_init(struct calltree *t, const struct stackset *ss);
void calltree_release(struct calltree *t);

/* Sort every node's children by total, largest first (names break ties).
 * Returns 0, or -1 with an error when out of memory (the order half done). */
int calltree_sort(struct calltree *t);

#endif
