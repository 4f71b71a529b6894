/* Renderers: the non-interactive views of a profile, and cprof threads' views
 * of its snapshots, each written to a stream the caller owns. They return 0,
 * or -1 with an error (out of memory). */
#ifndef CPROF_RENDER_H
#define CPROF_RENDER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "stacks.h"

struct graph;
struct snapshot;
struct threads_session;

/* A frame's label: "NAME (FILE:LINE)", "NAME (FILE)" when LINE is 0 or less,
 * or "NAME" when FILE is "", into BUF (N bytes). Returns BUF. */
const char *render_frame_label(char *buf, size_t n, const char *name, const char *file,
			       int64_t line);

/* Each frame of location LOC (an id) of P as a label, innermost first,
 * through FN; a location without lines as its address and mapping. */
void render_location_frames(const struct profile *p, uint64_t loc,
			    void (*fn)(const char *label, void *ctx), void *ctx);

/* pprof -top: flat, flat%, sum%, cum, cum%, name and file:line, sorted by flat;
 * N rows (0: all). */
int render_top(FILE *out, const struct stackset *ss, size_t n);
/* The same sorted by cum with CUM (pprof -top -cum). */
int render_top_by(FILE *out, const struct stackset *ss, size_t n, bool cum);

/* pprof -tree (PATTERN NULL) or -peek PATTERN (an extended regular
 * expression): the legend, then for each node of G in order whose name
 * matches, its callers, itself and its callees; shares of TOTAL. -1 with an
 * error where nothing matches. */
int render_peek(FILE *out, const struct graph *g, const char *pattern, int64_t total);

/* pprof -list PATTERN: for each function whose name matches, the source
 * lines of each file it is in, with their flat and cum values (shares of
 * TOTAL); G is of lines, apart per binary. Files are looked for as pprof
 * does: SEARCH's directories (':'-separated) and their parents, names with
 * TRIM's prefixes taken off (graph_trim_path). -1 with an error where no
 * function matches. */
int render_list(FILE *out, const struct graph *g, const char *pattern, int64_t total,
		const char *search, const char *trim);

/* The same of graph G: its first N nodes (0: all), with the nodes it
 * dropped; at function granularity each named as cprof names functions
 * (with the file and line it starts at), else as pprof names the nodes,
 * with its inline mark. Shares of TOTAL. */
int render_top_graph(FILE *out, const struct graph *g, size_t n, int64_t total);

/* pprof's legend lines of graph G: the sum shown of TOTAL, the nodes (and
 * with EDGES the edges) cut, the top shown; values from unit FROM in TO. */
void render_graph_legend_lines(FILE *out, const struct graph *g, int64_t total,
			       const char *from, const char *to, bool edges);

/* pprof -dot: G (trimmed in visual mode, with tags) as a Graphviz digraph
 * named TITLE, its legend HEADER's lines (the profile's, newline-ended)
 * then the graph's; shares of TOTAL. */
int render_dot(FILE *out, const struct graph *g, int64_t total, const char *title,
	       const char *header);

/* pprof -raw: the profile of SS (with its samples of value 0) as pprof's
 * Profile.String prints it after its merge (ids in the order of first use,
 * samples whose values are all 0 left out, samples alike one) and its
 * filters (SS's samples; the lines LINES_KEPT leaves, NULL: all; see
 * stackset_lines_kept). */
int render_raw(FILE *out, const struct stackset *ss, const bool *lines_kept);

/* pprof -callgrind: G (of addresses, apart per binary, untrimmed) as a
 * callgrind.out file, in pprof's unit for values of TOTAL's scale. */
int render_callgrind(FILE *out, const struct graph *g, int64_t total);

/* The call tree from the roots down, indented, with total and self shares;
 * nodes under MIN_PERCENT of the total are pruned. */
int render_tree(FILE *out, const struct stackset *ss, double min_percent);

/* pprof -tags: for each label key (by name), the total of the samples that
 * carry it and each value with its share of that, largest first. */
int render_tags(FILE *out, const struct stackset *ss);

/* Every sample's stack, leaf first, with its value and labels, largest first. */
int render_traces(FILE *out, const struct stackset *ss);

/* A text flame graph WIDTH columns wide: the call tree with bars proportional
 * to each node's share of the total; nodes under MIN_PERCENT are pruned. In a
 * diff, bars are as wide as the node's samples in both profiles, and its share
 * is its change in points: growth drawn solid (red with RENDER_COLOR), shrinkage
 * shaded (blue). */
#define RENDER_COLOR 1
int render_flame(FILE *out, const struct stackset *ss, int width, double min_percent, int flags);

/* The cells of a bar from column START, LEN columns long (at least an
 * eighth), in an area WIDTH wide: its first column into *FIRST and the
 * whole cells into *FULL, cut at WIDTH; returns the eighths (0 to 7) of the
 * cell after them. With WHOLE, for a terminal without block glyphs, there
 * are none: half a cell or more is a cell, and a bar is one at least. The
 * glyph of N eighths is render_eighths[N]. */
int render_flame_bar(double start, double len, int width, bool whole, int *first, int *full);
extern const char *const render_eighths[8];

/* Brendan Gregg's folded stacks: "root;...;leaf value" lines, a ';' in a
 * name written ':'. In a diff (negative values, or pprof::base samples):
 * difffolded.pl's "root;...;leaf base new" lines, both magnitudes. */
int render_folded(FILE *out, const struct stackset *ss);

/* A self-contained SVG flame graph titled TITLE (names, values and shares
 * on hover); in a profile with negative values (a diff) width is by the
 * absolute value, and frames that grew are red and those that shrank blue. */
int render_svg(FILE *out, const struct stackset *ss, const char *title);

/* A speedscope JSON file (https://www.speedscope.app/file-format-schema.json)
 * named NAME: a "sampled" profile for each of the N stack sets SETS (sample
 * types of one profile under one filter), SETS[ACTIVE] shown first, each
 * named "NAME (TYPE)" with weights in its unit. Frames are functions, by
 * name as --top counts them, with their file and first line. A difference of
 * profiles (negative values) is refused with an error. */
int render_speedscope(FILE *out, const struct stackset *sets, size_t n, size_t active,
		      const char *name);

/* The profile SS keeps, gzipped pprof, as go tool pprof -proto writes it
 * after the same filters: the samples SS kept with all their values and
 * labels (SS should be made with the filter's zero, so that a sample whose
 * value at SS's type is 0 keeps its others), each location with only the
 * lines of the frames kept. Returns 0 or -1 with an error. */
int render_proto(FILE *out, const struct stackset *ss);

/* cprof threads' views of a session, one set per format: text, and JSON
 * lines (an object per call). They read the session's profile, which the
 * caller has had threads_profile build (it may fail). */
struct threads_render {
	/* The last poll: its threads grouped by stack, or with ALL (text only)
	 * each on its own; CMDLINE names the process. */
	void (*dump)(FILE *out, struct threads_session *ts, const char *cmdline, bool all);
	/* A poll of a watch: S, and the change from PREV threads unless FIRST;
	 * SINCE_NS is the time since the watch began. */
	void (*poll)(FILE *out, const struct snapshot *s, size_t prev, bool first,
		     int64_t since_ns);
	/* The process exited during the watch. */
	void (*exited)(FILE *out);
	/* The leak suspects (threads_suspects) of a watch over SPAN_NS. */
	void (*verdict)(FILE *out, struct threads_session *ts, int64_t span_ns);
};
extern const struct threads_render render_threads_text, render_threads_json;

#endif
