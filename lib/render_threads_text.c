/* cprof threads' text view: the dump of a snapshot's thread groups (or of
 * each thread), a line per poll of a watch, and the leak verdict. */
#include "render.h"
#include "threads.h"
#include "units.h"

static const char *render_threads_text_us(char *buf, size_t n, int64_t ns)
{
	return units_format(buf, n, ns, "nanoseconds");
}

static void render_threads_text_frame(const char *label, void *ctx)
{
	fprintf(ctx, "    %s\n", label);
}

static void render_threads_text_stack(FILE *out, const struct profile *p, const uint64_t *locs,
				      size_t n)
{
	if (!n)
		fprintf(out, "    (no stack: the thread was in uninterruptible sleep or its stack "
			     "unreadable)\n");
	for (size_t i = 0; i < n; i++)
		render_location_frames(p, locs[i], render_threads_text_frame, out);
}

struct render_threads_text_names {
	FILE *out;
	size_t shown;
};

/* "pool-1, pool-2" or "worker×12", and ", ..." after eight names. */
static bool render_threads_text_name(const char *name, size_t count, void *ctx)
{
	struct render_threads_text_names *c = ctx;

	if (c->shown == 8) {
		fputs(", ...", c->out);
		return false;
	}
	if (count > 1)
		fprintf(c->out, "%s%s×%zu", c->shown ? ", " : "", name, count);
	else
		fprintf(c->out, "%s%s", c->shown ? ", " : "", name);
	c->shown++;
	return true;
}

static void render_threads_text_names(FILE *out, const struct snapshot *s,
				      const struct thread_group *g)
{
	struct render_threads_text_names c = { out, 0 };

	threads_group_names(s, g, render_threads_text_name, &c);
}

static void render_threads_text_header(FILE *out, const struct threads_session *ts,
				       const char *cmdline, size_t ngroups)
{
	const struct snapshot *s = threads_last(ts);
	char a[32], b[32], c[32], d[32];

	fprintf(out, "Process %d (%s): %zu threads in %zu groups\n", s->pid, cmdline, s->nthreads,
		ngroups);
	fprintf(out, "Each thread was held stopped for %s at the median and %s at most; %s in all "
		     "(the snapshot took %s)\n",
		render_threads_text_us(a, sizeof(a), threads_median_stop(ts, false)),
		render_threads_text_us(b, sizeof(b), s->worst_stop_ns),
		render_threads_text_us(c, sizeof(c), s->stopped_ns),
		render_threads_text_us(d, sizeof(d), s->elapsed_ns));
	fprintf(out, "Wait to stop (the thread ran on, or waited for a CPU): %s at the median and "
		     "%s at most; %s in all\n",
		render_threads_text_us(a, sizeof(a), threads_median_stop(ts, true)),
		render_threads_text_us(b, sizeof(b), s->worst_wait_ns),
		render_threads_text_us(c, sizeof(c), s->waited_ns));
	if (!s->held_rt && s->worst_stop_ns > 1000000)
		fprintf(out, "(cprof held the threads at normal priority, so on a busy machine a "
			     "thread stays stopped while cprof waits for a CPU; as root or with "
			     "CAP_SYS_NICE it holds them at real-time priority)\n");
}

static void render_threads_text_dump(FILE *out, struct threads_session *ts, const char *cmdline,
				     bool all)
{
	const struct snapshot *s = threads_last(ts);
	const struct profile *p = threads_profile(ts);
	size_t ng;
	const struct thread_group *g = threads_groups(ts, &ng);
	char a[32], b[32], st[256];

	render_threads_text_header(out, ts, cmdline, ng);
	for (size_t i = 0; all && i < s->nthreads; i++) {
		const struct thread_snap *t = &s->threads[i];
		size_t n;
		const uint64_t *locs = threads_stack(ts, i, &n);
		fprintf(out, "\nThread %d \"%s\" %c, held %s, wait to stop %s:\n", t->tid, t->name,
			t->state, render_threads_text_us(a, sizeof(a), t->stop_ns),
			render_threads_text_us(b, sizeof(b), t->wait_ns));
		render_threads_text_stack(out, p, locs, n);
	}
	for (size_t i = 0; !all && i < ng; i++) {
		threads_group_states(s, &g[i], st, sizeof(st));
		fprintf(out, "\n%zu thread%s  %s  ", g[i].count, g[i].count == 1 ? "" : "s", st);
		render_threads_text_names(out, s, &g[i]);
		fputc('\n', out);
		render_threads_text_stack(out, p, g[i].locs, g[i].nlocs);
	}
}

static void render_threads_text_poll(FILE *out, const struct snapshot *s, size_t prev,
				     bool first, int64_t since_ns)
{
	char a[32], b[32], when[32], change[32] = "";

	(void)since_ns;
	threads_time_of_day(s, when, sizeof(when));
	if (!first)
		snprintf(change, sizeof(change), "%+lld", (long long)s->nthreads - (long long)prev);
	fprintf(out, "%s  %6zu threads  %5s  held %s in all, %s at most\n", when, s->nthreads,
		change, render_threads_text_us(a, sizeof(a), s->stopped_ns),
		render_threads_text_us(b, sizeof(b), s->worst_stop_ns));
}

static void render_threads_text_exited(FILE *out)
{
	fputs("The process exited.\n", out);
}

struct render_threads_text_verdict {
	FILE *out;
	struct threads_session *ts;
	size_t npolls, shown;
	int64_t span_ns;
};

static void render_threads_text_suspect(const struct thread_group *g, size_t start, size_t end,
					double per_minute, void *ctx)
{
	struct render_threads_text_verdict *v = ctx;
	char a[32];

	if (!v->shown++)
		fprintf(v->out, "\nLeak suspects: thread groups that grew steadily over %zu polls "
				"in %s (see cprof-threads(1) for the rule):\n",
			v->npolls, render_threads_text_us(a, sizeof(a), v->span_ns));
	fprintf(v->out, "\n%zu -> %zu threads (+%.1f per minute)  ", start, end, per_minute);
	render_threads_text_names(v->out, threads_last(v->ts), g);
	fputc('\n', v->out);
	render_threads_text_stack(v->out, threads_profile(v->ts), g->locs, g->nlocs);
}

static void render_threads_text_verdict(FILE *out, struct threads_session *ts, int64_t span_ns)
{
	struct render_threads_text_verdict v = { out, ts, 0, 0, span_ns };
	size_t n;
	char a[32];

	threads_all_groups(ts, &n, &v.npolls);
	if (!threads_suspects(ts, span_ns, render_threads_text_suspect, &v))
		fprintf(out, "\nNo leak suspects: no group of threads grew steadily over %zu polls "
			     "in %s.\n",
			v.npolls, render_threads_text_us(a, sizeof(a), span_ns));
}

const struct threads_render render_threads_text = {
	.dump = render_threads_text_dump,
	.poll = render_threads_text_poll,
	.exited = render_threads_text_exited,
	.verdict = render_threads_text_verdict,
};
