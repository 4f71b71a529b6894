/* pprof's call graph of a stackset: a node per function (or per function and
 * file, file, line or address: the granularity) with its flat and cum values,
 * and an edge from each caller to each callee weighted by the samples through
 * it; trimmed as go tool pprof trims it (nodes under a fraction of the total,
 * the top N nodes, edges under a fraction). The views that go tool pprof
 * builds from its graph (--peek, --tree, --list, --dot, --callgrind) read it. */
#ifndef CPROF_GRAPH_H
#define CPROF_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hmap.h"
#include "intern.h"
#include "stacks.h"

enum graph_granularity {
	GRAPH_FUNCTIONS,
	GRAPH_FILEFUNCTIONS,
	GRAPH_FILES,
	GRAPH_LINES,
	GRAPH_ADDRESSES,
};

#define GRAPH_NODELETS 4 /* tags shown per node in visual mode */

struct graph_opts {
	enum graph_granularity granularity;
	double node_fraction; /* drop nodes whose cum is under this share of the total */
	double edge_fraction; /* drop edges lighter than this share */
	size_t node_count;    /* keep the first N nodes in the order; 0: all */
	bool cum_sort;        /* order nodes by cum, not flat */
	bool drop_negative;   /* drop nodes whose value fell (in a diff) */
	const char *unit;     /* the unit values are printed in; NULL: pprof's choice */
	/* pprof's visual mode (-dot): nodes in entropy order, the node count
	 * counting their tags, redundant residual edges removed */
	bool visual;
	bool tags;            /* gather each node's label tags (graph_tag) */
	bool no_edges;        /* nodes only (a top list's): no edges, less time and memory */
	bool objnames;        /* nodes apart per binary and function start (pprof's -list) */
	/* Source file names: TRIM_PATH's prefixes (':'-separated) taken off,
	 * or without it the part up to the last directory of SOURCE_PATH's
	 * found in them (pprof's -trim_path, -source_path); NULL: none. */
	const char *trim_path, *source_path;
};

struct graph_node {
	uint64_t addr;     /* the location's address (addresses granularity) */
	uint32_t name;     /* name id, 0 where the granularity has none */
	uint32_t file;     /* the source file, cleaned: labels.strs[file - 1]; 0 if none */
	int32_t line;      /* 0 where the granularity has none */
	int32_t start_line; /* the function's, for nodes of files only */
	uint32_t map;      /* string index of the mapping's file, 0 if none */
	bool synth;
	bool kept;         /* not cut: its samples count */
	bool shown;        /* kept, with a value: in the order */
	const char *label; /* pprof's printable name */
	uint32_t rep_file; /* the name id of the file of its first frame, 0 if none */
	int32_t rep_start; /* and the line that frame's function starts at */
	int64_t flat, cum;
	int64_t flat_div, cum_div; /* with --mean, the divisors' sums */
};

struct graph_edge {
	uint32_t src, dst; /* caller and callee nodes */
	int64_t weight, weight_div;
	bool residual;     /* through nodes the trimming removed */
	bool inl;          /* the callee was inlined into the caller */
	bool dropped;      /* under the edge fraction */
};

/* A node's samples with one set of string labels ("key:value" sorted,
 * joined by a backslash and n, as pprof joins them), or with a numeric
 * "bytes" label of one value under such a set: pprof's LabelTags and
 * NumericTags. */
struct graph_tag {
	uint32_t node;
	uint32_t labels;  /* the joined labels: labels.strs[labels - 1]; 0: none */
	uint32_t name;    /* a numeric tag's value as text (likewise); 0: a label tag */
	int64_t value;    /* a numeric tag's value, in UNIT */
	const char *unit;
	int64_t flat, cum, flat_div, cum_div;
	bool dropped;     /* under the node cutoff */
};

struct graph {
	const struct stackset *ss;
	struct graph_opts o;
	struct graph_node *nodes;
	size_t nnodes, cap;
	struct graph_edge *edges;
	size_t nedges, ecap;
	uint32_t *order;    /* the nodes shown, sorted (pprof's g.Nodes) */
	int64_t *score;     /* per node, in visual mode: pprof's entropy score */
	size_t norder;
	size_t orig_count;  /* nodes before the node count cut */
	size_t dropped_nodes, dropped_edges;
	/* Each node's edges in and out: in_list[in_first[n]..in_first[n + 1]) */
	uint32_t *in_first, *in_list, *out_first, *out_list;
	uint32_t *frame_node; /* per frame of ss->arena: its node */
	uint32_t *clean;      /* per name id of a file: its cleaned name's, + 1 */
	struct graph_tag *tags;
	size_t ntags, tcap;
	int64_t bytes_key;    /* the string index of "bytes", -1 if none */
	const char **num_units; /* profile_num_units */
	struct hmap node_index, edge_index, tag_index;
	struct intern labels;
};

/* A value as pprof shows it: the sum, or with --mean the sum over the
 * divisors' (pprof's FlatValue, CumValue). */
static inline int64_t graph_mean(int64_t v, int64_t div)
{
	return div ? v / div : v;
}

/* Build G from SS as O says (NULL: functions, no trimming). Returns 0, or
 * -1 with an error (out of memory). */
int graph_init(struct graph *g, const struct stackset *ss, const struct graph_opts *o);
void graph_release(struct graph *g);

/* The kept edges into (IN) or out of node N, heaviest first as pprof sorts
 * them, into a new array *OUT of *NOUT edge indices. Returns 0 or -1. */
int graph_node_edges(const struct graph *g, uint32_t n, bool in, uint32_t **out, size_t *nout);

/* Go's filepath.Clean of PATH into BUF (N bytes): no "." or empty
 * elements, no ".." after a name or at the root; "." for nothing. Returns
 * BUF, or PATH itself where BUF is too small. */
const char *graph_clean_path(const char *path, char *buf, size_t n);

/* pprof's trimPath: PATH without the prefixes TRIM (':'-separated, or
 * guessed from SEARCH's directories' names where TRIM is "") or
 * /proc/self/cwd/. Returns a pointer into PATH. */
const char *graph_trim_path(const char *path, const char *trim, const char *search);

/* The number of nodes shown whose name PATTERN (an extended regular
 * expression) matches; -1 with an error where none or it is bad. */
int64_t graph_matches(const struct graph *g, const char *pattern);

/* Sort EDGES (N edge indices) as pprof sorts edges: heaviest first, then
 * by the caller's and the callee's names. */
void graph_sort_edges(const struct graph *g, uint32_t *edges, size_t n);

/* The sum of the flat values of the nodes shown. */
int64_t graph_flat_sum(const struct graph *g);

/* pprof's output unit for G's values: the one asked for, or its "minimum"
 * choice: fit the smallest node, unless that is under a hundredth of the
 * total and WHOLE (values printed as integers, as callgrind's are) is
 * false. */
const char *graph_output_unit(const struct graph *g, int64_t total, bool whole);

#endif
