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
#include "pprof.h"
#include "render.h"
#include "tagfilter.h"
#include "units.h"

struct report_opts {
	long top;
	const char *top_given;
	bool want_top, tree, traces, flame, folded, comments, tags, cum;
	const char *svg, *sample_index;
	struct stack_filter filter;
	long width;
	double min_percent;
	struct cmd_store_sel sel;
	const char *speedscope, *proto;
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
	{ CMD_FLAG(report_opts, tree, "tree", "the call tree from the roots down, with total and self values") },
	{ CMD_FLAG(report_opts, traces, "traces", "every distinct stack with its value and labels") },
	{ CMD_FLAG(report_opts, comments, "comments", "the profile's comments, one a line, as go "
		   "tool pprof -comments (with --store, each window's after its start, process and "
		   "pid: cprof record's thread count)") },
	{ CMD_FLAG(report_opts, tags, "tags", "each label key's total and its values' shares, as "
		   "go tool pprof -tags") },
	{ CMD_FLAG(report_opts, flame, "flame", "a text flame graph sized to the terminal") },
	{ CMD_FLAG(report_opts, folded, "folded", "folded stacks, \"root;...;leaf count\" lines (\"... base new\" for a diff)") },
	{ CMD_STRING(report_opts, svg, "svg", "FILE", "write an SVG flame graph to FILE"), .complete = "file" },
	{ CMD_OPT_SAMPLE_INDEX(report_opts, sample_index, "the sample type to show") },
	{ CMD_CALLBACK(report_opts, filter.focus, "focus", "REGEX", "only samples with a frame whose function or file matches REGEX", cmd_report_set_regex) },
	{ CMD_CALLBACK(report_opts, filter.ignore, "ignore", "REGEX", "drop samples with a frame whose function or file matches REGEX", cmd_report_set_regex) },
	{ CMD_CALLBACK(report_opts, filter.hide, "hide", "REGEX", "leave out the frames whose "
		       "function or file matches REGEX (their callers take their place)",
		       cmd_report_set_regex) },
	{ CMD_CALLBACK(report_opts, filter.show, "show", "REGEX", "keep only the frames whose "
		       "function or file matches REGEX", cmd_report_set_regex) },
	{ CMD_CALLBACK(report_opts, filter.tagfocus, "tagfocus", "[KEY=]VALUES",
		       "only samples with a label KEY (any, without) whose value matches one of "
		       "the comma-separated regular expressions, or is in a range of numbers "
		       "(42, 1mb:, :10ms, 1:5) for numeric labels, as go tool pprof -tagfocus",
		       cmd_report_set_tagfilter) },
	{ CMD_CALLBACK(report_opts, filter.tagignore, "tagignore", "[KEY=]VALUES",
		       "drop samples with such a label", cmd_report_set_tagfilter) },
	{ CMD_INT(report_opts, width, "width", "COLS", "width of --flame", 40, 100000, 0),
	  .def_text = "the terminal's, else 100" },
	{ CMD_DOUBLE(report_opts, min_percent, "min-percent", "PCT", "prune --flame and --tree nodes below PCT% of the total", 0, 100, 0.5) },
	{ CMD_OPT_ADDRESSES(report_opts, filter.addresses) },
	{ CMD_FLAG(report_opts, filter.noinlines, "noinlines", "count inlined functions as the "
		   "function they were inlined into, as go tool pprof -noinlines") },
	CMD_OPT_STORE_ROWS(report_opts, sel),
	{ CMD_STRING(report_opts, speedscope, "speedscope", "FILE", "write the stacks as a "
		     "speedscope JSON file to FILE: a profile per sample type, or the one "
		     "--sample-index names"), .complete = "file" },
	{ CMD_STRING(report_opts, proto, "proto", "FILE", "write the profile the filters leave "
		     "to FILE as a gzipped pprof profile, as go tool pprof -proto"),
	  .complete = "file" },
	{ 0 },
};

static int cmd_report_exec(int argc, char **argv);

const struct cmd_entry cmd_report = {
	.name = "report",
	.summary = "show a pprof profile as top functions, a tree, traces, a flame graph or folded stacks",
	.args = "[PROFILE...]",
	.description =
		"Reads any pprof profile (cprof's, Go's, or another tool's; gzipped or not; a file or\n"
		"an http(s) URL) and prints the views asked for, in the order comments, tags, top,\n"
		"tree, traces, flame, folded. Shares are of the whole profile, also with --focus and\n"
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

static void cmd_report_header(const char *path, const struct stackset *ss, const struct report_opts *o)
{
	const struct profile *p = ss->p;
	const char *file = p->nmappings ? profile_str(p, p->mappings[0].filename) : "";
	const char *build_id = p->nmappings ? profile_str(p, p->mappings[0].build_id) : "";
	const char *base;
	const char *unit = profile_str(p, p->sample_types[ss->si].unit);
	char a[32], b[32];

	if (!*file)
		file = path;
	base = strrchr(file, '/');
	printf("File: %s\n", base ? base + 1 : file);
	if (*build_id)
		printf("Build ID: %s\n", build_id);
	printf("Type: %s\n", profile_str(p, p->sample_types[ss->si].type));
	if (p->time_nanos) {
		time_t t = p->time_nanos / 1000000000;
		char when[64];
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
		printf("Time: %s\n", when);
	}
	if (p->duration_nanos) {
		printf("Duration: %s, Total samples = %s",
		       units_format(a, sizeof(a), p->duration_nanos, "nanoseconds"),
		       units_format(b, sizeof(b), ss->total_all, unit));
		if (strcmp(unit, "nanoseconds") == 0)
			printf(" (%.1f%%)", 100.0 * ss->total_all / p->duration_nanos);
		putchar('\n');
	}
	if (o->filter.focus || o->filter.ignore || o->filter.hide || o->filter.show ||
	    o->filter.tagfocus || o->filter.tagignore) {
		const char *names[] = { "focus", "ignore", "hide", "show", "tagfocus", "tagignore" };
		const char *values[] = { o->filter.focus, o->filter.ignore, o->filter.hide,
					 o->filter.show, o->filter.tagfocus, o->filter.tagignore };
		printf("Active filters:");
		for (size_t i = 0; i < 6; i++)
			if (values[i])
				printf(" %s=%s", names[i], values[i]);
		putchar('\n');
	}
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

static int cmd_report_write_svg(const char *path, const struct stackset *ss, const char *title)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	if (!mem)
		return cmd_error("out of memory");
	return cmd_report_save(path, mem, &buf, &len, render_svg(mem, ss, title));
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

/* pprof -tags: over the samples the filters keep, those of value 0 too. */
static int cmd_report_tags(const struct profile *p, int si, const struct stack_filter *filter)
{
	struct stack_filter f = *filter;
	struct stackset ss;
	int rc;

	f.zero = true;
	if (stackset_init(&ss, p, si, &f) < 0)
		return -1;
	rc = render_tags(stdout, &ss);
	stackset_release(&ss);
	return rc;
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

/* The files written, each checked now; no two the same. */
static void cmd_report_check_outputs(const struct report_opts *o)
{
	const char *names[] = { "svg", "speedscope", "proto" };
	const char *paths[] = { o->svg, o->speedscope, o->proto };

	for (size_t i = 0; i < 3; i++) {
		for (size_t j = 0; paths[i] && j < i; j++)
			if (paths[j] && strcmp(paths[i], paths[j]) == 0)
				cmd_usage_error(&cmd_report, "--%s and --%s both write to '%s'",
						names[j], names[i], paths[i]);
		if (paths[i])
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
	o->want_top = o->top_given || !(o->tree || o->traces || o->flame || o->folded || o->svg ||
					 o->comments || o->tags || o->speedscope || o->proto);
	if (!o->width)
		o->width = cmd_report_terminal_width();
	cmd_report_check_outputs(o);
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
		p = cmd_read_store(&o.sel, desc, sizeof(desc));
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
	if (o.want_top || o.tree || o.traces || o.flame)
		cmd_report_header(name, &ss, &o);
	if ((o.tags && cmd_report_tags(p, si, &o.filter) < 0) ||
	    (o.want_top && render_top_by(stdout, &ss, o.top, o.cum) < 0) ||
	    (o.tree && (putchar('\n'), render_tree(stdout, &ss, o.min_percent)) < 0) ||
	    (o.traces && render_traces(stdout, &ss) < 0) ||
	    (o.flame && (putchar('\n'), render_flame(stdout, &ss, o.width, o.min_percent,
					      isatty(STDOUT_FILENO) ? RENDER_COLOR : 0)) < 0) ||
	    (o.folded && render_folded(stdout, folded) < 0)) {
		cmd_lib_error();
		goto out_counts;
	}
	if ((o.svg && cmd_report_write_svg(o.svg, &ss, name) < 0) ||
	    (o.speedscope && cmd_report_write_speedscope(o.speedscope, p, si, o.sample_index,
							 &o.filter, name) < 0) ||
	    (o.proto && cmd_report_write_proto(o.proto, p, si, &o.filter) < 0))
		goto out_counts;
	rc = EXIT_OK;
out_counts:
	if (folded != &ss)
		stackset_release(&counts);
out_stacks:
	stackset_release(&ss);
out_profile:
	profile_free(p);
	return cmd_finish_stdout(rc);
}
