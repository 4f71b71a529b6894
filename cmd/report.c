/* cprof report: the non-interactive views of any pprof profile. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "errmsg.h"
#include "fileio.h"
#include "graph.h"
#include "pprof.h"
#include "render.h"
#include "tagfilter.h"
#include "units.h"

struct report_opts {
	long top;
	const char *top_given;
	bool want_top, tree, call_tree, traces, flame, folded, comments, tags, raw, cum;
	const char *svg, *callgrind, *dot, *speedscope, *proto, *sample_index;
	const char *peek, *list, *source_path, *trim_path, *base, *diff_base;
	long nodecount;
	const char *nodecount_given;
	double nodefraction, edgefraction;
	const char *nodefraction_given;
	bool functions, filefunctions, files, lines, drop_negative, relative;
	const char *unit;
	struct stack_filter filter;
	long width;
	double min_percent;
	struct cmd_store_sel sel;
};

static void cmd_report_set_regex(const struct cmd_entry *cmd, const struct cmd_option *o,
				 const char *value, void *field);
static void cmd_report_set_tagfilter(const struct cmd_entry *cmd, const struct cmd_option *o,
				     const char *value, void *field);

static const struct cmd_option cmd_report_options[] = {
	{ CMD_INT(report_opts, top, "top", "N", "the N functions with the most self value, the "
		  "default view; 0 for all", 0, 1000000000, 10), CMD_GIVEN(report_opts, top_given) },
	{ CMD_FLAG(report_opts, cum, "cum", "sort --top by cumulative value, as go tool pprof "
		   "-top -cum") },
	{ CMD_FLAG(report_opts, tree, "tree", "each function with its callers above it and its "
		   "callees below, with their shares of its value, as go tool pprof -tree") },
	{ CMD_CALLBACK(report_opts, peek, "peek", "REGEX", "--tree for the functions that match "
		       "REGEX only, untrimmed, as go tool pprof -peek", cmd_report_set_regex) },
	{ CMD_CALLBACK(report_opts, list, "list", "REGEX", "the source of the functions that "
		       "match REGEX, each line with its flat and cum values, as go tool pprof -list",
		       cmd_report_set_regex) },
	{ CMD_FLAG(report_opts, call_tree, "call-tree", "the call tree from the roots down, "
		   "indented, with total and self values") },
	{ CMD_FLAG(report_opts, traces, "traces", "every distinct stack with its value and labels") },
	{ CMD_FLAG(report_opts, comments, "comments", "the profile's comments, one a line, as go "
		   "tool pprof -comments (with --store, each window's after its start, process and "
		   "pid: cprof record's thread count)") },
	{ CMD_FLAG(report_opts, tags, "tags", "each label key's total and its values' shares, as "
		   "go tool pprof -tags") },
	{ CMD_FLAG(report_opts, raw, "raw", "the profile the filters leave, decoded, as go tool "
		   "pprof -raw prints it") },
	{ CMD_FLAG(report_opts, flame, "flame", "a text flame graph sized to the terminal") },
	{ CMD_FLAG(report_opts, folded, "folded", "folded stacks, \"root;...;leaf count\" lines (\"... base new\" for a diff)") },
	{ CMD_STRING(report_opts, svg, "svg", "FILE", "write an SVG flame graph to FILE"), .complete = "file" },
	{ CMD_STRING(report_opts, callgrind, "callgrind", "FILE", "write the call graph by "
		     "address to FILE for kcachegrind, as go tool pprof -callgrind"),
	  .complete = "file" },
	{ CMD_STRING(report_opts, dot, "dot", "FILE", "write the call graph to FILE for "
		     "Graphviz (dot -Tsvg), as go tool pprof -dot"), .complete = "file" },
	{ CMD_STRING(report_opts, speedscope, "speedscope", "FILE", "write the stacks as a "
		     "speedscope JSON file to FILE: a profile per sample type, or the one "
		     "--sample-index names"), .complete = "file" },
	{ CMD_STRING(report_opts, proto, "proto", "FILE", "write the profile the filters leave "
		     "to FILE as a gzipped pprof profile, as go tool pprof -proto"),
	  .complete = "file" },
	{ CMD_OPT_SAMPLE_INDEX(report_opts, sample_index, "the sample type to show") },
	{ CMD_STRING(report_opts, base, "base", "FILE", "subtract the profile FILE (the values "
		     "that fell are negative), as go tool pprof -base"), .complete = "file" },
	{ CMD_STRING(report_opts, diff_base, "diff-base", "FILE", "subtract FILE, shares of "
		     "FILE's total, as go tool pprof -diff_base"), .complete = "file" },
	{ CMD_CALLBACK(report_opts, filter.focus, "focus", "REGEX", "only samples with a frame whose function or file matches REGEX", cmd_report_set_regex) },
	{ CMD_CALLBACK(report_opts, filter.ignore, "ignore", "REGEX", "drop samples with a frame whose function or file matches REGEX", cmd_report_set_regex) },
	{ CMD_CALLBACK(report_opts, filter.hide, "hide", "REGEX", "leave out the frames whose "
		       "function or file matches REGEX (their callers take their place)",
		       cmd_report_set_regex) },
	{ CMD_CALLBACK(report_opts, filter.show, "show", "REGEX", "keep only the frames whose "
		       "function or file matches REGEX", cmd_report_set_regex) },
	{ CMD_CALLBACK(report_opts, filter.show_from, "show-from", "REGEX", "drop the frames "
		       "above the rootmost one that matches REGEX, and the stacks without one, as "
		       "go tool pprof -show_from", cmd_report_set_regex) },
	{ CMD_CALLBACK(report_opts, filter.prune_from, "prune-from", "REGEX", "drop the frames "
		       "below the leafmost function that matches REGEX, as go tool pprof "
		       "-prune_from", cmd_report_set_regex) },
	{ CMD_CALLBACK(report_opts, filter.tagfocus, "tagfocus", "[KEY=]VALUES",
		       "only samples with a label KEY (any, without) whose value matches one of "
		       "the comma-separated regular expressions, or is in a range of numbers "
		       "(42, 1mb:, :10ms, 1:5) for numeric labels, as go tool pprof -tagfocus",
		       cmd_report_set_tagfilter) },
	{ CMD_CALLBACK(report_opts, filter.tagignore, "tagignore", "[KEY=]VALUES",
		       "drop samples with such a label", cmd_report_set_tagfilter) },
	{ CMD_CALLBACK(report_opts, filter.tagshow, "tagshow", "REGEX", "show only the labels "
		       "whose key matches REGEX (--tags, --traces)", cmd_report_set_regex) },
	{ CMD_CALLBACK(report_opts, filter.taghide, "taghide", "REGEX", "do not show the labels "
		       "whose key matches REGEX", cmd_report_set_regex) },
	{ CMD_STRING(report_opts, filter.tagroot, "tagroot", "KEYS", "the values of these "
		     "comma-separated label keys as frames at the root of each stack (a flame "
		     "graph split by thread: --tagroot thread), as go tool pprof -tagroot") },
	{ CMD_STRING(report_opts, filter.tagleaf, "tagleaf", "KEYS", "the same as frames at "
		     "the leaf, as go tool pprof -tagleaf") },
	{ CMD_INT(report_opts, width, "width", "COLS", "width of --flame", 40, 100000, 0),
	  .def_text = "the terminal's, else 100" },
	{ CMD_DOUBLE(report_opts, min_percent, "min-percent", "PCT", "prune --flame and "
		     "--call-tree nodes below PCT% of the total", 0, 100, 0.5) },
	{ CMD_INT(report_opts, nodecount, "nodecount", "N", "show the first N nodes of --tree "
		  "at most", 0, 1000000000, 80), CMD_GIVEN(report_opts, nodecount_given) },
	{ CMD_DOUBLE(report_opts, nodefraction, "nodefraction", "F", "leave out of --tree (and "
		     "--top, given) the nodes whose cum is under F of the total", 0, 1, 0.005),
	  CMD_GIVEN(report_opts, nodefraction_given) },
	{ CMD_DOUBLE(report_opts, edgefraction, "edgefraction", "F", "leave out of --tree the "
		     "callers and callees under F of the total", 0, 1, 0.001) },
	{ CMD_FLAG(report_opts, functions, "functions", "a node per function in --top, --tree and "
		   "--peek, the default") },
	{ CMD_FLAG(report_opts, filefunctions, "filefunctions", "a node per function and "
		   "source file") },
	{ CMD_FLAG(report_opts, files, "files", "a node per source file") },
	{ CMD_FLAG(report_opts, lines, "lines", "a node per source line") },
	{ CMD_OPT_ADDRESSES(report_opts, filter.addresses) },
	{ CMD_STRING(report_opts, unit, "unit", "UNIT", "print the values of --top, --tree, "
		     "--peek and --list in UNIT (ms, s, MB, ...; auto: each its own), as go tool "
		     "pprof -unit") },
	{ CMD_FLAG(report_opts, filter.mean, "mean", "each value divided by the samples' count "
		   "(their first sample type): the mean per event, as go tool pprof -mean") },
	{ CMD_FLAG(report_opts, drop_negative, "drop-negative", "leave out the nodes whose value "
		   "fell, in a difference, as go tool pprof -drop_negative") },
	{ CMD_FLAG(report_opts, relative, "relative-percentages", "shares of what --focus and the "
		   "other filters keep, not of the whole profile, as go tool pprof "
		   "-relative_percentages") },
	{ CMD_STRING(report_opts, source_path, "source-path", "DIRS", "where --list looks for "
		     "source files: these ':'-separated directories and their parents"),
	  .def_text = "the current directory", .complete = "dir" },
	{ CMD_STRING(report_opts, trim_path, "trim-path", "PATHS", "take these ':'-separated "
		     "prefixes off source file names (without it, --list guesses them from "
		     "--source-path)") },
	{ CMD_FLAG(report_opts, filter.noinlines, "noinlines", "count inlined functions as the "
		   "function they were inlined into, as go tool pprof -noinlines") },
	CMD_OPT_STORE_ROWS(report_opts, sel),
	{ 0 },
};

static int cmd_report_exec(int argc, char **argv);

const struct cmd_entry cmd_report = {
	.name = "report",
	.summary = "show a pprof profile as top functions, a tree, traces, a flame graph or folded stacks",
	.args = "[PROFILE...]",
	.description =
		"Reads any pprof profile (cprof's, Go's, or another tool's; gzipped or not; a file or\n"
		"an http(s) URL) and prints the views asked for, in the order comments, tags, raw,\n"
		"top, tree, peek, list, call tree, traces, flame, folded. Shares are of the whole\n"
		"profile, also with --focus and\n"
		"--ignore. Several profiles of one kind are merged, as go tool pprof merges them.\n"
		"With --store,\n"
		"the profile is the windows of cprof record's store that --name, --from, --to and --tag\n"
		"select, merged.",
	.options = cmd_report_options,
	.complete_args = "file",
	.exec = cmd_report_exec,
};

/* A label filter's expressions checked now, so that a bad one is a usage error. */
static void cmd_report_set_tagfilter(const struct cmd_entry *cmd, const struct cmd_option *o,
				     const char *value, void *field)
{
	static const struct profile none;
	char what[64];
	struct tagfilter *f;

	snprintf(what, sizeof(what), "--%s", o->name);
	f = tagfilter_new(&none, value, what);
	if (!f)
		cmd_usage_error(cmd, "%s", cp_errmsg());
	tagfilter_free(f);
	memcpy(field, &value, sizeof(value));
}

static void cmd_report_set_regex(const struct cmd_entry *cmd, const struct cmd_option *o,
				 const char *value, void *field)
{
	regex_t re;

	if (cp_regcomp(&re, value) < 0)
		cmd_usage_error(cmd, "bad regular expression '%s' for --%s: %s", value, o->name,
				cp_errmsg());
	regfree(&re);
	memcpy(field, &value, sizeof(value));
}

static long cmd_report_terminal_width(void)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	if (cols && atol(cols) >= 40)
		return atol(cols);
	return 100;
}

/* pprof's "Time: Jan 2, 2006 at 3:04pm (MST)". */
static void cmd_report_time(FILE *out, int64_t nanos)
{
	time_t t = nanos / 1000000000;
	struct tm tm;
	char mon[16], zone[16];

	localtime_r(&t, &tm);
	strftime(mon, sizeof(mon), "%b", &tm);
	strftime(zone, sizeof(zone), "%Z", &tm);
	fprintf(out, "Time: %s %d, %d at %d:%02d%s (%s)\n", mon, tm.tm_mday, tm.tm_year + 1900,
	       tm.tm_hour % 12 ? tm.tm_hour % 12 : 12, tm.tm_min, tm.tm_hour < 12 ? "am" : "pm",
	       zone);
}

/* pprof's "Active filters:" legend, a filter a line. */
static void cmd_report_filters(FILE *out, const struct stack_filter *f)
{
	const char *names[] = { "focus", "ignore", "hide", "show", "show_from", "tagfocus",
				"tagignore", "tagshow", "taghide" };
	const char *values[] = { f->focus, f->ignore, f->hide, f->show, f->show_from,
				 f->tagfocus, f->tagignore, f->tagshow, f->taghide };
	bool any = false;

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		if (!values[i])
			continue;
		if (!any)
			fprintf(out, "Active filters:\n");
		any = true;
		fprintf(out, "   %s=%.80s%s\n", names[i], values[i], strlen(values[i]) > 80 ? "\u2026" : "");
	}
}

/* What the views share: the profile's name and stacks, the options, and
 * whether pprof's header has been printed. */
struct report_ctx {
	const char *name;
	const struct stackset *ss;
	const struct report_opts *o;
	bool header_done;
	int64_t total; /* what shares are of: pprof's total (mean, relative) */
};

/* pprof's header (its ProfileLabels and active filters), its total in
 * OUT_UNIT (NULL: the best for it); no File line for a profile without a
 * main binary. */
static void cmd_report_labels(FILE *out, const struct report_ctx *c, const char *out_unit)
{
	const struct stackset *ss = c->ss;
	const struct profile *p = ss->p;
	const char *file = p->nmappings ? profile_str(p, p->mappings[0].filename) : "";
	const char *build_id = p->nmappings ? profile_str(p, p->mappings[0].build_id) : "";
	const char *unit = profile_str(p, p->sample_types[ss->si].unit), *base;
	char a[32], b[32];
	double ns;

	base = strrchr(file, '/');
	if (*file)
		fprintf(out, "File: %s\n", base ? base + 1 : file);
	if (*build_id)
		fprintf(out, "Build ID: %s\n", build_id);
	for (size_t i = 0; i < p->ncomments; i++)
		if (profile_str(p, p->comments[i])[0] != '#')
			fprintf(out, "%s\n", profile_str(p, p->comments[i]));
	fprintf(out, "Type: %s%s\n", c->o->filter.mean ? "mean_" : "",
		profile_str(p, p->sample_types[ss->si].type));
	if (p->time_nanos)
		cmd_report_time(out, p->time_nanos);
	if (p->duration_nanos) {
		fprintf(out, "Duration: %s, Total samples = %s ",
			units_label_to(a, sizeof(a), p->duration_nanos, "nanoseconds", "auto"),
			out_unit ? units_label_to(b, sizeof(b), c->total, unit, out_unit) :
				   units_format(b, sizeof(b), c->total, unit));
		if (strcmp(units_scale(c->total, unit, "nanoseconds", &ns), "ns") == 0 && ns)
			fprintf(out, "(%s)", units_percent_padded(a, sizeof(a), (int64_t)ns,
								  p->duration_nanos));
		fputc('\n', out);
	}
	cmd_report_filters(out, &c->o->filter);
}

/* The header on standard output, once. */
static void cmd_report_header(struct report_ctx *c, const char *out_unit)
{
	if (c->header_done)
		return;
	c->header_done = true;
	cmd_report_labels(stdout, c, out_unit);
}

/* Write to PATH, whole or not at all, what a renderer that returned RC wrote
 * to MEM (an open_memstream over *BUF and *LEN), and say so; frees *BUF.
 * 0, or -1 reported. */
static int cmd_report_save(const char *path, FILE *mem, char **buf, size_t *len, int rc)
{
	if (rc < 0) {
		fclose(mem);
		cmd_lib_error();
	} else if (fclose(mem) != 0) {
		rc = cmd_error("out of memory");
	} else if (file_write_output(path, *buf, *len) < 0) {
		rc = cmd_lib_error();
	} else {
		fprintf(stderr, "cprof: wrote %s\n", cmd_output_name(path));
	}
	free(*buf);
	return rc < 0 ? -1 : 0;
}

/* Write to PATH, whole or not at all, what RENDER writes of C (the
 * stacks, or a graph), and say so. */
static int cmd_report_write(const char *path, int (*render)(FILE *, const void *),
			    const void *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	if (!mem)
		return cmd_error("out of memory");
	return cmd_report_save(path, mem, &buf, &len, render(mem, c));
}

struct report_svg {
	const struct stackset *ss;
	const char *title;
};

static int cmd_report_svg(FILE *out, const void *arg)
{
	const struct report_svg *a = arg;

	return render_svg(out, a->ss, a->title);
}

static int cmd_report_write_svg(const char *path, const struct stackset *ss, const char *title)
{
	struct report_svg a = { ss, title };

	return cmd_report_write(path, cmd_report_svg, &a);
}

static int cmd_report_callgrind_out(FILE *out, const void *g)
{
	return render_callgrind(out, g, ((const struct graph *)g)->ss->total_all);
}

/* --callgrind: pprof's graph of addresses, untrimmed, apart per binary. */
static int cmd_report_callgrind(const struct stackset *ss, const struct report_opts *o)
{
	struct graph_opts go = { .granularity = GRAPH_ADDRESSES, .objnames = true,
				 .unit = o->unit, .trim_path = o->trim_path,
				 .source_path = o->source_path };
	struct graph g;
	int rc;

	if (graph_init(&g, ss, &go) < 0)
		return cmd_lib_error();
	rc = cmd_report_write(o->callgrind, cmd_report_callgrind_out, &g);
	graph_release(&g);
	return rc;
}

/* --speedscope: a profile of each sample type, or with ONE of SI's only,
 * SI's shown first. */
static int cmd_report_write_speedscope(const char *path, const struct profile *p, int si,
				       bool one, const struct stack_filter *filter,
				       const char *name)
{
	size_t n = one ? 1 : p->nsample_types, made = 0;
	struct stackset *sets = xmalloc((n + 1) * sizeof(*sets));
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	int rc = -1;

	for (; made < n; made++)
		if (stackset_init(&sets[made], p, one ? si : (int)made, filter) < 0) {
			cmd_lib_error();
			goto out;
		}
	if (!(mem = open_memstream(&buf, &len)))
		cmd_error("out of memory");
	else
		rc = cmd_report_save(path, mem, &buf, &len,
				     render_speedscope(mem, sets, n, one ? 0 : (size_t)si, name));
out:
	while (made-- > 0)
		stackset_release(&sets[made]);
	free(sets);
	return rc;
}

/* --proto: the samples the filters keep, those of value 0 at SI too, since
 * they have the other sample types' values. */
static int cmd_report_write_proto(const char *path, const struct profile *p, int si,
				  const struct stack_filter *filter)
{
	struct stack_filter f = *filter;
	struct stackset ss;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	int rc;

	f.zero = true;
	if (stackset_init(&ss, p, si, &f) < 0)
		return cmd_lib_error();
	if (!(mem = open_memstream(&buf, &len)))
		rc = cmd_error("out of memory");
	else
		rc = cmd_report_save(path, mem, &buf, &len, render_proto(mem, &ss));
	stackset_release(&ss);
	return rc;
}

/* pprof -raw: over the samples the filters keep, those of value 0 at the
 * sample type shown too (pprof drops only those all of whose values are 0). */
static int cmd_report_raw(const struct stackset *all, const struct stack_filter *filter)
{
	struct stack_filter f = *filter;
	struct stackset ss;
	bool *lines = NULL;
	int rc;


	f.zero = true;
	f.no_frames = false;
	if ((filter->hide || filter->show) && !(lines = stackset_lines_kept(all->p, filter)))
		return -1;
	if (stackset_init(&ss, all->p, all->si, &f) < 0) {
		free(lines);
		return -1;
	}
	rc = render_raw(stdout, &ss, lines);
	stackset_release(&ss);
	free(lines);
	return rc;
}

/* pprof -tags: over the samples the filters keep, those of value 0 too. */
static int cmd_report_tags(const struct stackset *all, const struct stack_filter *filter)
{
	struct stack_filter f = *filter;
	struct stackset ss;
	int rc;

	if (filter->zero) /* the stacks are these already */
		return render_tags(stdout, all);
	f.zero = true;
	if (stackset_init(&ss, all->p, all->si, &f) < 0)
		return -1;
	rc = render_tags(stdout, &ss);
	stackset_release(&ss);
	return rc;
}

/* The graph options O asks for. */
static struct graph_opts cmd_report_graph_opts(const struct report_opts *o)
{
	struct graph_opts go = { .granularity = GRAPH_FUNCTIONS, .node_fraction = o->nodefraction,
				 .edge_fraction = o->edgefraction,
				 .node_count = (size_t)o->nodecount, .cum_sort = o->cum,
				 .drop_negative = o->drop_negative, .unit = o->unit };

	go.granularity = o->filefunctions ? GRAPH_FILEFUNCTIONS : o->files ? GRAPH_FILES :
			 o->lines ? GRAPH_LINES : o->filter.addresses ? GRAPH_ADDRESSES :
			 GRAPH_FUNCTIONS;
	go.trim_path = o->trim_path;
	go.source_path = o->source_path;
	return go;
}

/* --top: every node (pprof drops those under --nodefraction, cprof when
 * told), N of them. */
static int cmd_report_top(struct report_ctx *c)
{
	const struct report_opts *o = c->o;
	struct graph_opts go = cmd_report_graph_opts(o);
	struct graph g;
	int rc;

	go.node_fraction = o->nodefraction_given ? o->nodefraction : 0;
	go.edge_fraction = 0;
	go.node_count = 0;
	go.no_edges = go.granularity == GRAPH_FUNCTIONS; /* the inline marks need them */
	if (graph_init(&g, c->ss, &go) < 0)
		return -1;
	cmd_report_header(c, o->unit);
	rc = render_top_graph(stdout, &g, (size_t)o->top, c->total);
	graph_release(&g);
	return rc;
}

/* pprof's -tree, or -peek PATTERN (untrimmed, as pprof has it). */
static int cmd_report_graph(struct report_ctx *c, const char *pattern)
{
	const struct report_opts *o = c->o;
	struct graph_opts go = cmd_report_graph_opts(o);
	struct graph g;
	int rc;

	if (pattern)
		go.node_fraction = go.edge_fraction = go.node_count = 0;
	if (graph_init(&g, c->ss, &go) < 0)
		return -1;
	rc = pattern ? (int)(graph_matches(&g, pattern) < 0 ? -1 : 0) : 0;
	if (rc == 0) {
		cmd_report_header(c, graph_output_unit(&g, c->total, false));
		rc = render_peek(stdout, &g, pattern, c->total);
	}
	graph_release(&g);
	return rc;
}

/* pprof's -list PATTERN: a graph of lines, untrimmed, apart per binary. */
static int cmd_report_list(struct report_ctx *c)
{
	const struct report_opts *o = c->o;
	struct graph_opts go = { .granularity = GRAPH_LINES, .objnames = true,
				 .drop_negative = o->drop_negative, .unit = o->unit,
				 .trim_path = o->trim_path, .source_path = o->source_path };
	const char *search = o->source_path;
	char cwd[4096];
	struct graph g;
	int rc;

	/* pprof trims names with the path given only, and guesses from the
	 * current directory to find the files. */
	if (!search)
		search = getcwd(cwd, sizeof(cwd)) ? cwd : ".";
	if (graph_init(&g, c->ss, &go) < 0)
		return -1;
	rc = render_list(stdout, &g, o->list, c->total, search, o->trim_path);
	graph_release(&g);
	return rc;
}

/* The views of C->ss, in their order; -1 after a library error. */
static int cmd_report_views(struct report_ctx *c, const struct stackset *folded)
{
	const struct report_opts *o = c->o;
	const struct stackset *ss = c->ss;
	int color = isatty(STDOUT_FILENO) ? RENDER_COLOR : 0;

	if ((o->tags && cmd_report_tags(ss, &o->filter) < 0) ||
	    (o->raw && cmd_report_raw(ss, &o->filter) < 0))
		return -1;
	if (o->want_top && cmd_report_top(c) < 0)
		return -1;
	if ((o->tree && cmd_report_graph(c, NULL) < 0) || (o->peek && cmd_report_graph(c, o->peek) < 0))
		return -1;
	if (o->list && cmd_report_list(c) < 0)
		return -1;
	if (o->call_tree && (cmd_report_header(c, NULL), putchar('\n'),
			     render_tree(stdout, ss, o->min_percent)) < 0)
		return -1;
	if (o->traces && (cmd_report_header(c, NULL), render_traces(stdout, ss)) < 0)
		return -1;
	if (o->flame && (cmd_report_header(c, NULL), putchar('\n'),
			 render_flame(stdout, ss, o->width, o->min_percent, color)) < 0)
		return -1;
	return o->folded ? render_folded(stdout, folded) : 0;
}

struct report_dot {
	const struct graph *g;
	int64_t total;
	const char *title, *header;
};

static int cmd_report_dot_out(FILE *out, const void *arg)
{
	const struct report_dot *a = arg;

	return render_dot(out, a->g, a->total, a->title, a->header);
}

/* --dot: pprof's graph in its visual mode, with its tags, its legend the
 * header pprof writes. */
static int cmd_report_dot(const struct report_ctx *c)
{
	const struct report_opts *o = c->o;
	const struct profile *p = c->ss->p;
	struct graph_opts go = cmd_report_graph_opts(o);
	struct report_dot a = { NULL, c->total, "", NULL };
	const char *file = p->nmappings ? profile_str(p, p->mappings[0].filename) : "";
	char *header = NULL;
	size_t len = 0;
	FILE *mem;
	struct graph g;
	int rc = -1;

	go.visual = go.tags = true;
	if (graph_init(&g, c->ss, &go) < 0)
		return cmd_lib_error();
	if (!(mem = open_memstream(&header, &len))) {
		cmd_error("out of memory");
		goto out;
	}
	cmd_report_labels(mem, c, graph_output_unit(&g, c->total, false));
	if (fclose(mem) != 0) {
		cmd_error("out of memory");
		goto out;
	}
	a.g = &g;
	a.header = header;
	a.title = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	rc = cmd_report_write(o->dot, cmd_report_dot_out, &a);
out:
	free(header);
	graph_release(&g);
	return rc;
}

/* The views, then the files: 0, or -1 after an error, reported. */
static int cmd_report_outputs(struct report_ctx *c, const struct stackset *folded)
{
	const struct report_opts *o = c->o;

	if (cmd_report_views(c, folded) < 0)
		return cmd_lib_error();
	if ((o->svg && cmd_report_write_svg(o->svg, c->ss, c->name) < 0) ||
	    (o->speedscope && cmd_report_write_speedscope(o->speedscope, c->ss->p, c->ss->si,
							  o->sample_index, &o->filter, c->name) < 0) ||
	    (o->proto && cmd_report_write_proto(o->proto, c->ss->p, c->ss->si, &o->filter) < 0) ||
	    (o->callgrind && cmd_report_callgrind(c->ss, o) < 0) ||
	    (o->dot && cmd_report_dot(c) < 0))
		return -1;
	return 0;
}

/* The ARGC profiles ARGV merged (the first alone, as it is). NULL after an
 * error, reported. */
static struct profile *cmd_report_read(int argc, char **argv)
{
	struct profile *merged = NULL;

	if (argc == 1) {
		struct profile *p = cmd_read_profile(argv[0]);
		if (!p)
			cmd_lib_error();
		return p;
	}
	for (int i = 0; i < argc; i++) {
		struct profile *p = cmd_read_profile(argv[i]);
		if (!p || profile_merge(&merged, p) < 0) {
			if (p)
				cmd_error("%s: %s", argv[i], cp_errmsg());
			else
				cmd_lib_error();
			profile_free(p);
			profile_free(merged);
			return NULL;
		}
		profile_free(p);
	}
	return merged;
}

/* *P less the profile at PATH, as pprof's -base (DIFF: -diff_base, the
 * base's samples labelled pprof::base). 0, or -1 after an error, reported. */
static int cmd_report_subtract(struct profile **p, const char *path, bool diff)
{
	struct profile *base = cmd_read_profile(path), *neg = NULL;
	int si[64];
	double scale[64];
	int rc = -1;

	if (!base)
		return cmd_lib_error();
	for (size_t i = 0; i < base->nsample_types && i < 64; i++) {
		si[i] = (int)i;
		scale[i] = -1;
	}
	if (base->nsample_types > 64 || !profile_compatible(*p, base)) {
		cmd_error("%s: its sample types differ from the profile's: it cannot be its base",
			  path);
		goto out;
	}
	neg = profile_new_like(base);
	if (!neg || profile_add_values(neg, base, si, scale, diff ? "pprof::base" : NULL,
				       diff ? "true" : NULL) < 0) {
		cmd_lib_error();
		goto out;
	}
	neg->time_nanos = base->time_nanos;
	neg->duration_nanos = base->duration_nanos;
	for (size_t i = 0; i < base->ncomments; i++)
		if (profile_add_comment(neg, profile_str(base, base->comments[i])) < 0) {
			cmd_lib_error();
			goto out;
		}
	if (profile_merge(p, neg) < 0) {
		cmd_error("%s: %s", path, cp_errmsg());
		goto out;
	}
	rc = 0;
out:
	profile_free(neg);
	profile_free(base);
	return rc;
}

/* The files written, each checked now; no two the same, and none one of
 * the ARGC profiles ARGV (or a base) that are read. */
static void cmd_report_check_outputs(const struct report_opts *o, int argc, char **argv)
{
	const char *names[] = { "svg", "speedscope", "proto", "callgrind", "dot" };
	const char *paths[] = { o->svg, o->speedscope, o->proto, o->callgrind, o->dot };
	char *const bases[] = { (char *)o->base, (char *)o->diff_base };

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		for (size_t j = 0; paths[i] && j < i; j++)
			if (paths[j] && strcmp(paths[i], paths[j]) == 0)
				cmd_usage_error(&cmd_report, "--%s and --%s both write to '%s'",
						names[j], names[i], paths[i]);
		if (!paths[i])
			continue;
		cmd_check_not_input(&cmd_report, names[i], paths[i], argv, (size_t)argc);
		cmd_check_not_input(&cmd_report, names[i], paths[i], bases, 2);
		cmd_check_writable(paths[i]);
	}
}

/* The usage errors no option alone can see, and what follows from O. */
static void cmd_report_check_usage(int argc, char **argv, struct report_opts *o)
{
	cmd_check_store_sel(&cmd_report, &o->sel);
	if (o->sel.store && argc > 0)
		cmd_usage_error(&cmd_report, "a profile or --store, not both ('%s')", argv[0]);
	if (argc < 1 && !o->sel.store)
		cmd_usage_error(&cmd_report, "no profile given");
	if (o->base && o->diff_base)
		cmd_usage_error(&cmd_report, "--base or --diff-base, not both");
	if (o->raw && (o->filter.tagroot || o->filter.tagleaf))
		cmd_usage_error(&cmd_report, "--raw prints the profile's own locations: not with "
			       "--tagroot or --tagleaf");
	if (o->functions + o->filefunctions + o->files + o->lines + o->filter.addresses > 1)
		cmd_usage_error(&cmd_report, "one of --functions, --filefunctions, --files, --lines "
			       "and --addresses at most");
	o->want_top = o->top_given || !(o->tree || o->peek || o->list || o->call_tree || o->traces ||
					 o->flame || o->folded || o->svg || o->callgrind || o->dot ||
					 o->speedscope || o->proto || o->comments || o->tags ||
					 o->raw);
	/* --tags alone: one set of stacks, with the samples of value 0 it counts,
	 * without their frames where no filter reads them. */
	o->filter.zero = o->tags && !o->want_top && !(o->tree || o->peek || o->list ||
						       o->call_tree || o->traces || o->flame ||
						       o->folded || o->svg || o->callgrind || o->dot ||
						       o->speedscope || o->proto || o->raw);
	o->filter.no_frames = o->filter.zero &&
			      !(o->filter.focus || o->filter.ignore || o->filter.hide ||
				o->filter.show || o->filter.show_from || o->filter.prune_from ||
				o->filter.tagroot || o->filter.tagleaf);
	if (!o->width)
		o->width = cmd_report_terminal_width();
	cmd_report_check_outputs(o, argc, argv);
}

static int cmd_report_exec(int argc, char **argv)
{
	struct report_opts o = { 0 };
	struct profile *p = NULL;
	struct stackset ss, counts;
	const struct stackset *folded = &ss;
	int si, rc = EXIT_ERROR;
	char desc[512];
	const char *name;

	cmd_parse(&cmd_report, &argc, argv, &o, NULL, NULL);
	cmd_report_check_usage(argc, argv, &o);

	if (o.sel.store) {
		p = cmd_read_store(&o.sel, NULL, desc, sizeof(desc));
		cmd_store_sel_release(&o.sel);
		if (!p)
			return EXIT_ERROR;
		name = desc;
	} else {
		name = argv[0];
		p = cmd_report_read(argc, argv);
		if (!p)
			return EXIT_ERROR;
	}
	if ((o.base || o.diff_base) &&
	    cmd_report_subtract(&p, o.base ? o.base : o.diff_base, !o.base) < 0)
		goto out_profile;
	if (pprof_simplify_names(p) < 0) {
		cmd_lib_error();
		goto out_profile;
	}
	for (size_t i = 0; o.comments && i < p->ncomments; i++)
		printf("%s\n", p->strings[p->comments[i]]);
	si = profile_sample_index(p, o.sample_index);
	if (si < 0 && o.sample_index && p->nsample_types)
		cmd_usage_error(&cmd_report, "bad value for --sample-index: %s", cp_errmsg());
	if (si < 0) {
		cmd_error("%s: %s", name, cp_errmsg());
		goto out_profile;
	}
	if (stackset_init(&ss, p, si, &o.filter) < 0) {
		cmd_lib_error();
		goto out_profile;
	}
	/* Folded stacks count samples (flamegraph.pl's "samples"), unless told. */
	if (o.folded && !o.sample_index && profile_count_index(p, si) != si) {
		if (stackset_init(&counts, p, profile_count_index(p, si), &o.filter) < 0) {
			cmd_lib_error();
			goto out_stacks;
		}
		folded = &counts;
	}
	if (o.relative) {
		ss.total_all = ss.total;
		ss.div_all = ss.div;
	}
	if (cmd_report_outputs(&(struct report_ctx){ name, &ss, &o, false,
						     graph_mean(ss.total_all, ss.div_all) },
			       folded) == 0)
		rc = EXIT_OK;
	if (folded != &ss)
		stackset_release(&counts);
out_stacks:
	stackset_release(&ss);
out_profile:
	profile_free(p);
	return cmd_finish_stdout(rc);
}
