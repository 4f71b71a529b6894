/* cprof threads' JSON lines: an object for a snapshot's groups, one per poll
 * of a watch, and one for the leak verdict. Every string a target supplies
 * (thread names, frames) goes through json_write_string. */
#include "json.h"
#include "render.h"
#include "threads.h"

struct render_threads_json_list {
	FILE *out;
	bool first;
};

static void render_threads_json_frame(const char *label, void *ctx)
{
	struct render_threads_json_list *l = ctx;

	if (!l->first)
		fputc(',', l->out);
	l->first = false;
	json_write_string(l->out, label);
}

static bool render_threads_json_name(const char *name, size_t count, void *ctx)
{
	(void)count;
	render_threads_json_frame(name, ctx);
	return true;
}

/* A group's "names" and "stack" members. */
static void render_threads_json_group(FILE *out, struct threads_session *ts,
				      const struct thread_group *g)
{
	const struct snapshot *s = threads_last(ts);
	const struct profile *p = threads_profile(ts);
	struct render_threads_json_list l = { out, true };

	fputs(",\"names\":[", out);
	threads_group_names(s, g, render_threads_json_name, &l);
	fputs("],\"stack\":[", out);
	l.first = true;
	for (size_t i = 0; i < g->nlocs; i++)
		render_location_frames(p, g->locs[i], render_threads_json_frame, &l);
	fputc(']', out);
}

static void render_threads_json_dump(FILE *out, struct threads_session *ts, const char *cmdline,
				     bool all)
{
	const struct snapshot *s = threads_last(ts);
	size_t ng;
	const struct thread_group *g = threads_groups(ts, &ng);
	char st[256];

	(void)cmdline;
	(void)all;
	fprintf(out, "{\"type\":\"snapshot\",\"pid\":%d,\"threads\":%zu,\"groups\":[", s->pid,
		s->nthreads);
	for (size_t i = 0; i < ng; i++) {
		threads_group_states(s, &g[i], st, sizeof(st));
		fprintf(out, "%s{\"count\":%zu,\"states\":", i ? "," : "", g[i].count);
		json_write_string(out, st);
		render_threads_json_group(out, ts, &g[i]);
		fputc('}', out);
	}
	fprintf(out, "],\"stopped_us\":%.1f,\"worst_stop_us\":%.1f,\"median_stop_us\":%.1f,"
		     "\"wait_to_stop_us\":%.1f,\"worst_wait_to_stop_us\":%.1f,"
		     "\"median_wait_to_stop_us\":%.1f,\"held_at_rt_priority\":%s}\n",
		s->stopped_ns / 1e3, s->worst_stop_ns / 1e3, threads_median_stop(ts, false) / 1e3,
		s->waited_ns / 1e3, s->worst_wait_ns / 1e3, threads_median_stop(ts, true) / 1e3,
		s->held_rt ? "true" : "false");
}

static void render_threads_json_poll(FILE *out, const struct snapshot *s, size_t prev,
				     bool first, int64_t since_ns)
{
	char when[32];

	threads_time_of_day(s, when, sizeof(when));
	fprintf(out, "{\"type\":\"poll\",\"time\":\"%s\",\"elapsed_s\":%.3f,\"threads\":%zu,"
		     "\"change\":%lld,\"stopped_us\":%.1f,\"worst_stop_us\":%.1f,"
		     "\"wait_to_stop_us\":%.1f,\"worst_wait_to_stop_us\":%.1f}\n",
		when, since_ns / 1e9, s->nthreads,
		first ? 0LL : (long long)s->nthreads - (long long)prev, s->stopped_ns / 1e3,
		s->worst_stop_ns / 1e3, s->waited_ns / 1e3, s->worst_wait_ns / 1e3);
}

static void render_threads_json_exited(FILE *out)
{
	fputs("{\"type\":\"exit\"}\n", out);
}

struct render_threads_json_verdict {
	FILE *out;
	struct threads_session *ts;
	size_t shown;
};

static void render_threads_json_suspect(const struct thread_group *g, size_t start, size_t end,
					double per_minute, void *ctx)
{
	struct render_threads_json_verdict *v = ctx;

	fprintf(v->out, "%s{\"start\":%zu,\"end\":%zu,\"per_minute\":%.1f", v->shown++ ? "," : "",
		start, end, per_minute);
	render_threads_json_group(v->out, v->ts, g);
	fputc('}', v->out);
}

static void render_threads_json_verdict(FILE *out, struct threads_session *ts, int64_t span_ns)
{
	struct render_threads_json_verdict v = { out, ts, 0 };
	size_t n, npolls;

	threads_all_groups(ts, &n, &npolls);
	fprintf(out, "{\"type\":\"verdict\",\"polls\":%zu,\"span_s\":%.3f,\"suspects\":[", npolls,
		span_ns / 1e9);
	threads_suspects(ts, span_ns, render_threads_json_suspect, &v);
	fputs("]}\n", out);
}

const struct threads_render render_threads_json = {
	.dump = render_threads_json_dump,
	.poll = render_threads_json_poll,
	.exited = render_threads_json_exited,
	.verdict = render_threads_json_verdict,
};
