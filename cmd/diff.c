/* cprof diff: compare two profiles by each function's share of its total. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "diff.h"
#include "errmsg.h"
#include "pprof.h"
#include "units.h"

struct diff_opts {
	long top;
	const char *sample_index, *output;
	struct stack_filter names;
	struct cmd_store_sel sel, base; /* NEW's windows, and BASE's (store and name from sel) */
};

static const struct cmd_option cmd_diff_options[] = {
	{ CMD_INT(diff_opts, top, "top", "N", "show the N functions whose share changed most, 0 for all",
		  0, 1000000000, 20) },
	{ CMD_OPT_SAMPLE_INDEX(diff_opts, sample_index, "the sample type to compare, in each profile") },
	{ CMD_OPT_OUTPUT(diff_opts, output,
			 "write a diff profile: NEW with BASE scaled to its total and negated") },
	{ CMD_OPT_ADDRESSES(diff_opts, names.addresses) },
	CMD_OPT_STORE_ROWS(diff_opts, sel),
	{ CMD_STRING(diff_opts, base.from, "base-from", "TIME",
		     "with --store, BASE is the windows from TIME (NEW's are --from, --to, --tag)") },
	{ CMD_STRING(diff_opts, base.to, "base-to", "TIME", "with --store, BASE's windows up to TIME") },
	{ CMD_CALLBACK(diff_opts, base.tags, "base-tag", "K=V",
		       "with --store, BASE's windows tagged K=V (repeat for more)", cmd_add_tag),
	  .repeats = true },
	{ 0 },
};

static int cmd_diff_exec(int argc, char **argv);

const struct cmd_entry cmd_diff = {
	.name = "diff",
	.summary = "compare two profiles by each function's share of the total",
	.args = "[BASE NEW]",
	.description =
		"Compares two profiles of the same sample type proportionally: for each function, its\n"
		"flat and cumulative share of its own profile's total in BASE and in NEW, and the change\n"
		"in percentage points, largest change first. Counts are never compared, so profiles\n"
		"of different lengths or sampling rates compare fairly. With --store, BASE and NEW are\n"
		"windows of cprof record's store, merged: BASE's by --base-from, --base-to and\n"
		"--base-tag, NEW's by --from, --to and --tag, both of the processes --name matches.",
	.options = cmd_diff_options,
	.complete_args = "file",
	.exec = cmd_diff_exec,
};

static const char *cmd_diff_type_name(const struct profile *p, int si, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", profile_str(p, p->sample_types[si].type),
		 profile_str(p, p->sample_types[si].unit));
	return buf;
}

static void cmd_diff_type_list(const struct profile *p, char *buf, size_t n)
{
	size_t used = 0;
	char t[128];

	buf[0] = '\0';
	for (size_t i = 0; i < p->nsample_types && used < n; i++)
		used += snprintf(buf + used, n - used, "%s%s", i ? ", " : "",
				 cmd_diff_type_name(p, i, t, sizeof(t)));
}

static void cmd_diff_header(const char *label, const char *path, const struct profile *p, int si,
		   int64_t total)
{
	char a[32], b[32];
	const char *unit = profile_str(p, p->sample_types[si].unit);

	printf("%s %s: total %s", label, path, units_format(a, sizeof(a), total, unit));
	if (p->duration_nanos)
		printf(" in %s", units_format(b, sizeof(b), p->duration_nanos, "nanoseconds"));
	if (p->period > 0 && strcmp(profile_str(p, p->period_type.unit), "nanoseconds") == 0)
		printf(", sampled at %.0f Hz", 1e9 / p->period);
	putchar('\n');
}

static void cmd_diff_percent(double v, bool sign)
{
	char buf[32];

	snprintf(buf, sizeof(buf), sign ? "%+.2f" : "%.2f", fabs(v) < 0.005 ? 0.0 : v);
	printf(" %7s", buf);
}

/* BASE and NEW: two files, or with --store two selections, one of them
 * saying how it differs. Exits 2 otherwise. */
static void cmd_diff_check(struct diff_opts *o, int argc, char **argv)
{
	bool base_sel = o->base.from || o->base.to || o->base.tags.n;

	cmd_check_store_sel(&cmd_diff, &o->sel);
	if (!o->sel.store && base_sel)
		cmd_usage_error(&cmd_diff, "--base-from, --base-to and --base-tag select windows of "
				"a store: give --store DIR too");
	if (o->sel.store) {
		if (argc > 0)
			cmd_usage_error(&cmd_diff, "two profiles or --store, not both ('%s')", argv[0]);
		if (!base_sel)
			cmd_usage_error(&cmd_diff, "with --store, say which windows are BASE: "
					"--base-from, --base-to or --base-tag");
		o->base.store = o->sel.store;
		o->base.name = o->sel.name;
		o->base.kind = o->sel.kind;
		return;
	}
	if (argc != 2)
		cmd_usage_error(&cmd_diff, argc < 2 ? "two profiles needed: BASE and NEW" :
						      "only two profiles at a time");
}

/* PATH read (or with --store the windows SEL selects), and the index of the
 * sample type to compare in it, or NULL after saying why. */
static struct profile *cmd_diff_read(const struct diff_opts *o, const struct cmd_store_sel *sel,
				     char **path, char *desc, size_t n, int *si)
{
	struct profile *p;

	if (o->sel.store) {
		p = cmd_read_store(sel, sel == &o->base ? "BASE" : "NEW", desc, n);
		*path = desc;
	} else {
		p = cmd_read_profile(*path);
	}

	if (!p) {
		if (!o->sel.store)
			cmd_lib_error();
		return NULL;
	}
	*si = profile_sample_index(p, o->sample_index);
	if (*si < 0) {
		cmd_error("%s: %s", *path, cp_errmsg());
		profile_free(p);
		return NULL;
	}
	return p;
}

/* The table of the functions whose share changed most, ROWS of N. */
static void cmd_diff_print(const struct diff_opts *o, const struct diff_row *rows, size_t n)
{
	size_t top = o->top == 0 || (size_t)o->top > n ? n : (size_t)o->top;

	printf("Shares of each profile's own total, in percent; change in points (new - base)\n\n");
	printf("%24s %25s\n", "flat% of total", "cum% of total");
	printf(" %7s %7s %7s  %7s %7s %7s  %s\n", "base", "new", "change", "base", "new", "change",
	       "function");
	for (size_t i = 0; i < top; i++) {
		const struct diff_row *r = &rows[i];
		cmd_diff_percent(r->base_flat, false);
		cmd_diff_percent(r->new_flat, false);
		cmd_diff_percent(r->new_flat - r->base_flat, true);
		putchar(' ');
		cmd_diff_percent(r->base_cum, false);
		cmd_diff_percent(r->new_cum, false);
		cmd_diff_percent(r->new_cum - r->base_cum, true);
		printf("  %s", r->name);
		if (*r->file && r->start_line > 0)
			printf(" (%s:%d)", r->file, r->start_line);
		else if (*r->file)
			printf(" (%s)", r->file);
		putchar('\n');
	}
	if (top < n)
		printf("(%zu more functions; --top 0 shows all)\n", n - top);
}

static int cmd_diff_exec(int argc, char **argv)
{
	struct diff_opts o = { 0 };
	struct profile *base = NULL, *new = NULL, *dp = NULL;
	struct stackset bs, ns;
	struct diff_row *rows = NULL;
	size_t n = 0;
	int bsi, nsi, rc = EXIT_ERROR;
	char bt[128], nt[128], bdesc[512], ndesc[512], *bpath, *npath;

	cmd_parse(&cmd_diff, &argc, argv, &o, NULL, NULL);
	cmd_diff_check(&o, argc, argv);
	bpath = argc > 0 ? argv[0] : NULL;
	npath = argc > 1 ? argv[1] : NULL;
	if (o.output) {
		cmd_check_not_input(&cmd_diff, "output", o.output, argv, argc > 2 ? 2 : (size_t)argc);
		cmd_check_writable(o.output);
	}
	base = cmd_diff_read(&o, &o.base, &bpath, bdesc, sizeof(bdesc), &bsi);
	new = base ? cmd_diff_read(&o, &o.sel, &npath, ndesc, sizeof(ndesc), &nsi) : NULL;
	cmd_store_sel_release(&o.sel);
	cmd_store_sel_release(&o.base);
	if (!base || !new)
		goto out;
	if (strcmp(cmd_diff_type_name(base, bsi, bt, sizeof(bt)),
		   cmd_diff_type_name(new, nsi, nt, sizeof(nt)))) {
		char bl[512], nl[512];
		cmd_diff_type_list(base, bl, sizeof(bl));
		cmd_diff_type_list(new, nl, sizeof(nl));
		cmd_error("cannot compare %s with %s: %s has %s; %s has %s (choose one both have with "
		      "--sample-index)", bt, nt, bpath, bl, npath, nl);
		goto out;
	}
	if (stackset_init(&bs, base, bsi, &o.names) < 0) {
		cmd_lib_error();
		goto out;
	}
	if (stackset_init(&ns, new, nsi, &o.names) < 0) {
		cmd_lib_error();
		goto out_base;
	}
	if (diff_rows(&bs, &ns, &rows, &n) < 0) {
		cmd_lib_error();
		goto out_new;
	}
	if (o.output) {
		dp = diff_profile(base, bsi, new, nsi);
		if (!dp || pprof_write(dp, o.output) < 0) {
			cmd_lib_error();
			goto out_rows;
		}
	}
	printf("Type: %s\n", profile_str(new, new->sample_types[nsi].type));
	cmd_diff_header("Base", bpath, base, bsi, bs.total_all);
	cmd_diff_header("New ", npath, new, nsi, ns.total_all);
	cmd_diff_print(&o, rows, n);
	if (o.output)
		printf("Wrote %s\n", cmd_output_name(o.output));
	rc = EXIT_OK;
out_rows:
	free(rows);
	profile_free(dp);
out_new:
	stackset_release(&ns);
out_base:
	stackset_release(&bs);
out:
	profile_free(base);
	profile_free(new);
	return cmd_finish_stdout(rc);
}
