/* cprof diff: compare two profiles by each function's share of its total. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "diff.h"
#include "error.h"
#include "pprof.h"
#include "units.h"

enum { OPT_TOP = 1, OPT_SAMPLE_INDEX, OPT_OUTPUT, OPT_ADDRESSES };

static const struct cmd_option options[] = {
	{ "top", 0, "N", "show the N functions whose share changed most (default 20, 0: all)", OPT_TOP, NULL },
	{ "sample-index", 0, "NAME|N", "the sample type to compare (default: each profile's default)", OPT_SAMPLE_INDEX, NULL },
	{ "output", 'o', "FILE", "write a diff profile: NEW with BASE scaled to its total and negated", OPT_OUTPUT, "file" },
	{ "addresses", 0, NULL, "frames without symbols one per address (module+offset), not one per module ([module])", OPT_ADDRESSES, NULL },
	{ 0 },
};

static int exec_diff(int argc, char **argv);

const struct cmd_entry cmd_diff = {
	.name = "diff",
	.summary = "compare two profiles by each function's share of the total",
	.args = "BASE NEW",
	.description =
		"Compares two profiles of the same sample type proportionally: for each function, its\n"
		"flat and cumulative share of its own profile's total in BASE and in NEW, and the change\n"
		"in percentage points, largest change first. Counts are never compared, so profiles\n"
		"of different lengths or sampling rates compare fairly.",
	.options = options,
	.complete_args = "file",
	.exec = exec_diff,
};

struct diff_opts {
	long top;
	const char *sample_index, *output;
	struct stack_filter names;
};

static int set_option(void *ctx, int key, const char *v)
{
	struct diff_opts *o = ctx;

	switch (key) {
	case OPT_TOP:
		o->top = cmd_parse_long(&cmd_diff, "top", v, 0, 1000000000);
		break;
	case OPT_SAMPLE_INDEX:
		o->sample_index = v;
		break;
	case OPT_OUTPUT:
		o->output = v;
		break;
	case OPT_ADDRESSES:
		o->names.addresses = true;
		break;
	}
	return 0;
}

static const char *type_name(const struct profile *p, int si, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", profile_str(p, p->sample_types[si].type),
		 profile_str(p, p->sample_types[si].unit));
	return buf;
}

static void type_list(const struct profile *p, char *buf, size_t n)
{
	size_t used = 0;
	char t[128];

	buf[0] = '\0';
	for (size_t i = 0; i < p->nsample_types && used < n; i++)
		used += snprintf(buf + used, n - used, "%s%s", i ? ", " : "",
				 type_name(p, i, t, sizeof(t)));
}

static void header(const char *label, const char *path, const struct profile *p, int si,
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

static void percent(double v, bool sign)
{
	char buf[32];

	snprintf(buf, sizeof(buf), sign ? "%+.2f" : "%.2f", fabs(v) < 0.005 ? 0.0 : v);
	printf(" %7s", buf);
}

static int exec_diff(int argc, char **argv)
{
	struct diff_opts o = { .top = 20 };
	struct profile *base = NULL, *new = NULL, *dp = NULL;
	struct stackset bs, ns;
	struct diff_row *rows = NULL;
	size_t n = 0;
	int bsi, nsi, rc = EXIT_ERROR;
	char bt[128], nt[128];

	cmd_parse(&cmd_diff, &argc, argv, set_option, &o, NULL, NULL);
	if (argc != 2)
		cmd_usage_error(&cmd_diff, argc < 2 ? "two profiles needed: BASE and NEW" :
						      "only two profiles at a time");
	if (o.output)
		cmd_check_writable(o.output);
	base = pprof_read(argv[0]);
	if (!base)
		return error("%s", cp_errmsg()), EXIT_ERROR;
	new = pprof_read(argv[1]);
	if (!new) {
		error("%s", cp_errmsg());
		goto out;
	}
	bsi = profile_sample_index(base, o.sample_index);
	if (bsi < 0) {
		error("%s: %s", argv[0], cp_errmsg());
		goto out;
	}
	nsi = profile_sample_index(new, o.sample_index);
	if (nsi < 0) {
		error("%s: %s", argv[1], cp_errmsg());
		goto out;
	}
	if (strcmp(type_name(base, bsi, bt, sizeof(bt)), type_name(new, nsi, nt, sizeof(nt)))) {
		char bl[512], nl[512];
		type_list(base, bl, sizeof(bl));
		type_list(new, nl, sizeof(nl));
		error("cannot compare %s with %s: %s has %s; %s has %s (choose one both have with "
		      "--sample-index)", bt, nt, argv[0], bl, argv[1], nl);
		goto out;
	}
	if (stackset_init(&bs, base, bsi, &o.names) < 0) {
		error("%s", cp_errmsg());
		goto out;
	}
	if (stackset_init(&ns, new, nsi, &o.names) < 0) {
		error("%s", cp_errmsg());
		goto out_base;
	}
	if (diff_rows(&bs, &ns, &rows, &n) < 0) {
		error("%s", cp_errmsg());
		goto out_new;
	}
	if (o.output) {
		dp = diff_profile(base, bsi, new, nsi);
		if (!dp || pprof_write(dp, o.output) < 0) {
			error("%s", cp_errmsg());
			goto out_rows;
		}
	}
	printf("Type: %s\n", profile_str(new, new->sample_types[nsi].type));
	header("Base", argv[0], base, bsi, bs.total_all);
	header("New ", argv[1], new, nsi, ns.total_all);
	printf("Shares of each profile's own total, in percent; change in points (new - base)\n\n");
	printf("%24s %25s\n", "flat% of total", "cum% of total");
	printf(" %7s %7s %7s  %7s %7s %7s  %s\n", "base", "new", "change", "base", "new", "change",
	       "function");
	if (o.top == 0 || (size_t)o.top > n)
		o.top = n;
	for (long i = 0; i < o.top; i++) {
		const struct diff_row *r = &rows[i];
		percent(r->base_flat, false);
		percent(r->new_flat, false);
		percent(r->new_flat - r->base_flat, true);
		putchar(' ');
		percent(r->base_cum, false);
		percent(r->new_cum, false);
		percent(r->new_cum - r->base_cum, true);
		printf("  %s", r->name);
		if (*r->file && r->start_line > 0)
			printf(" (%s:%d)", r->file, r->start_line);
		else if (*r->file)
			printf(" (%s)", r->file);
		putchar('\n');
	}
	if ((size_t)o.top < n)
		printf("(%zu more functions; --top 0 shows all)\n", n - o.top);
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
