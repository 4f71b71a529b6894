/* cprof threads: dump every thread of a process grouped by stack, or watch
 * the groups over time and name the ones that leak. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "clock.h"
#include "cmd.h"
#include "error.h"
#include "pprof.h"
#include "proc.h"
#include "stacks.h"
#include "threads.h"
#include "units.h"

enum { OPT_PID = 1, OPT_ALL, OPT_WATCH, OPT_INTERVAL, OPT_OUTPUT, OPT_JSON };

static const struct cmd_option options[] = {
	{ "pid", 'p', "PID", "the process whose threads to dump", OPT_PID, "pid", .required = true },
	{ "all", 0, NULL, "print each thread on its own instead of grouping them", OPT_ALL, NULL },
	{ "watch", 0, "DURATION", "poll for DURATION (e.g. 60s, 5m) and report thread groups that grow", OPT_WATCH, NULL },
	{ "interval", 0, "DURATION", "time between polls with --watch (default 5s)", OPT_INTERVAL, NULL },
	{ "output", 'o', "FILE", "write the last snapshot as a pprof profile (threads/count)", OPT_OUTPUT, "file" },
	{ "json", 0, NULL, "print JSON lines: one object per poll and one for the verdict", OPT_JSON, NULL },
	{ 0 },
};

static int exec_threads(int argc, char **argv);

const struct cmd_entry cmd_threads = {
	.name = "threads",
	.summary = "dump a process's threads grouped by stack, or watch them for leaks",
	.description =
		"Takes a snapshot of every thread of --pid: each thread is stopped on its own, for as\n"
		"long as it takes to copy its registers and stack (tens of microseconds; as root, at\n"
		"real-time priority, so also on a busy machine), and unwound after it runs again.\n"
		"Threads with the same stack are grouped, most populous first, like Go's goroutine\n"
		"profile. With --watch, polls every --interval and reports the groups whose thread\n"
		"count grew steadily as leak suspects (exit status 3).",
	.options = options,
	.exec = exec_threads,
};

struct threads_opts {
	pid_t pid;
	bool all, json;
	int64_t watch_ns, interval_ns;
	const char *watch, *interval; /* as given */
	const char *output;
};

static int set_option(void *ctx, int key, const char *v)
{
	struct threads_opts *o = ctx;

	switch (key) {
	case OPT_PID:
		o->pid = cmd_parse_long(&cmd_threads, "pid", v, 1, 0x7fffffff);
		break;
	case OPT_ALL:
		o->all = true;
		break;
	case OPT_WATCH:
		o->watch_ns = cmd_parse_duration(&cmd_threads, "watch", v);
		o->watch = v;
		break;
	case OPT_INTERVAL:
		o->interval_ns = cmd_parse_duration(&cmd_threads, "interval", v);
		o->interval = v;
		break;
	case OPT_OUTPUT:
		o->output = v;
		break;
	case OPT_JSON:
		o->json = true;
		break;
	}
	return 0;
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* Each frame of location LOC as text, innermost first, through FN. */
static void location_frames(const struct profile *p, uint64_t loc, void (*fn)(const char *, void *),
			    void *ctx)
{
	const struct pf_location *l = &p->locations[loc - 1];
	char buf[1024];

	if (!l->nlines) {
		location_synth_name(p, l, buf, sizeof(buf));
		fn(buf, ctx);
		return;
	}
	for (size_t i = 0; i < l->nlines; i++) {
		const struct pf_function *f = &p->functions[l->lines[i].function_id - 1];
		const char *file = profile_str(p, f->filename);
		if (*file && l->lines[i].line)
			snprintf(buf, sizeof(buf), "%s (%s:%lld)", profile_str(p, f->name), file,
				 (long long)l->lines[i].line);
		else if (*file)
			snprintf(buf, sizeof(buf), "%s (%s)", profile_str(p, f->name), file);
		else
			snprintf(buf, sizeof(buf), "%s", profile_str(p, f->name));
		fn(buf, ctx);
	}
}

static void print_frame(const char *frame, void *ctx)
{
	printf("    %s\n", frame);
}

static void json_frame(const char *frame, void *ctx)
{
	int *first = ctx;

	if (!*first)
		putchar(',');
	*first = 0;
	json_string(frame);
}

static void print_stack(const struct profile *p, const uint64_t *locs, size_t n, bool json)
{
	int first = 1;

	if (json)
		putchar('[');
	if (!n && !json)
		printf("    (no stack: the thread was in uninterruptible sleep or its stack unreadable)\n");
	for (size_t i = 0; i < n; i++)
		location_frames(p, locs[i], json ? json_frame : print_frame, &first);
	if (json)
		putchar(']');
}

/* "S×3 R×1": the states of a group's threads. */
static void states(const struct snapshot *s, const struct thread_group *g, char *buf, size_t n)
{
	static const char order[] = "RSDTtZXIWP";
	size_t used = 0;

	buf[0] = '\0';
	for (const char *st = order; *st && used < n; st++) {
		size_t k = 0;
		for (size_t i = 0; i < g->count; i++)
			k += s->threads[g->members[i]].state == *st;
		if (k)
			used += snprintf(buf + used, n - used, "%s%c×%zu", used ? " " : "", *st, k);
	}
}

/* "pool-1, pool-2" or "worker×12": the distinct names of a group's threads. */
static void names(const struct snapshot *s, const struct thread_group *g, char *buf, size_t n,
		  bool json)
{
	size_t used = 0, shown = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < g->count && used < n; i++) {
		const char *name = s->threads[g->members[i]].name;
		size_t k = 0;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(s->threads[g->members[j]].name, name) == 0;
		if (seen)
			continue;
		for (size_t j = i; j < g->count; j++)
			k += strcmp(s->threads[g->members[j]].name, name) == 0;
		if (json)
			used += snprintf(buf + used, n - used, "%s\"%s\"", shown ? "," : "", name);
		else if (shown == 8) {
			used += snprintf(buf + used, n - used, ", ...");
			break;
		} else if (k > 1)
			used += snprintf(buf + used, n - used, "%s%s×%zu", shown ? ", " : "", name, k);
		else
			used += snprintf(buf + used, n - used, "%s%s", shown ? ", " : "", name);
		shown++;
	}
}

static const char *us(char *buf, size_t n, int64_t ns)
{
	return units_format(buf, n, ns, "nanoseconds");
}

static int by_ns(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The median of the threads' times held, or with WAIT of their waits to stop. */
static int64_t median_stop(const struct snapshot *s, bool wait)
{
	int64_t *v = xmalloc((s->nthreads + 1) * sizeof(*v)), m;

	for (size_t i = 0; i < s->nthreads; i++)
		v[i] = wait ? s->threads[i].wait_ns : s->threads[i].stop_ns;
	qsort(v, s->nthreads, sizeof(*v), by_ns);
	m = s->nthreads ? v[s->nthreads / 2] : 0;
	free(v);
	return m;
}

static void print_dump(struct threads_session *ts, const struct threads_opts *o,
		       const char *cmdline)
{
	const struct snapshot *s = threads_last(ts);
	size_t ng;
	struct thread_group *g = threads_groups(ts, &ng);
	const struct profile *p = threads_profile(ts);
	char a[32], b[32], c[32], d[32], st[256], nm[1024];

	if (o->json) {
		printf("{\"type\":\"snapshot\",\"pid\":%d,\"threads\":%zu,\"groups\":[", s->pid,
		       s->nthreads);
		for (size_t i = 0; i < ng; i++) {
			names(s, &g[i], nm, sizeof(nm), true);
			states(s, &g[i], st, sizeof(st));
			printf("%s{\"count\":%zu,\"states\":\"%s\",\"names\":[%s],\"stack\":", i ? "," : "",
			       g[i].count, st, nm);
			print_stack(p, g[i].locs, g[i].nlocs, true);
			putchar('}');
		}
		printf("],\"stopped_us\":%.1f,\"worst_stop_us\":%.1f,\"median_stop_us\":%.1f,"
		       "\"wait_to_stop_us\":%.1f,\"worst_wait_to_stop_us\":%.1f,"
		       "\"median_wait_to_stop_us\":%.1f,\"held_at_rt_priority\":%s}\n",
		       s->stopped_ns / 1e3, s->worst_stop_ns / 1e3, median_stop(s, false) / 1e3,
		       s->waited_ns / 1e3, s->worst_wait_ns / 1e3, median_stop(s, true) / 1e3,
		       s->held_rt ? "true" : "false");
		return;
	}
	printf("Process %d (%s): %zu threads in %zu groups\n", s->pid, cmdline, s->nthreads, ng);
	printf("Each thread was held stopped for %s at the median and %s at most; %s in all "
	       "(the snapshot took %s)\n",
	       us(a, sizeof(a), median_stop(s, false)), us(b, sizeof(b), s->worst_stop_ns),
	       us(c, sizeof(c), s->stopped_ns), us(d, sizeof(d), s->elapsed_ns));
	printf("Wait to stop (the thread ran on, or waited for a CPU): %s at the median and %s "
	       "at most; %s in all\n",
	       us(a, sizeof(a), median_stop(s, true)), us(b, sizeof(b), s->worst_wait_ns),
	       us(c, sizeof(c), s->waited_ns));
	if (!s->held_rt && s->worst_stop_ns > 1000000)
		printf("(cprof held the threads at normal priority, so on a busy machine a thread "
		       "stays stopped while cprof waits for a CPU; as root or with CAP_SYS_NICE it "
		       "holds them at real-time priority)\n");
	if (o->all) {
		for (size_t i = 0; i < s->nthreads; i++) {
			const struct thread_snap *t = &s->threads[i];
			size_t n;
			const uint64_t *locs = threads_stack(ts, i, &n);
			printf("\nThread %d \"%s\" %c, held %s, wait to stop %s:\n", t->tid, t->name,
			       t->state, us(a, sizeof(a), t->stop_ns), us(b, sizeof(b), t->wait_ns));
			print_stack(p, locs, n, false);
		}
		return;
	}
	for (size_t i = 0; i < ng; i++) {
		names(s, &g[i], nm, sizeof(nm), false);
		states(s, &g[i], st, sizeof(st));
		printf("\n%zu thread%s  %s  %s\n", g[i].count, g[i].count == 1 ? "" : "s", st, nm);
		print_stack(p, g[i].locs, g[i].nlocs, false);
	}
}

static void print_poll(const struct snapshot *s, size_t prev, bool first, int64_t since_ns,
		       bool json)
{
	char a[32], b[32], when[32];
	time_t now = s->time_ns / 1000000000;
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (json) {
		printf("{\"type\":\"poll\",\"time\":\"%s\",\"elapsed_s\":%.3f,\"threads\":%zu,"
		       "\"change\":%lld,\"stopped_us\":%.1f,\"worst_stop_us\":%.1f,"
		       "\"wait_to_stop_us\":%.1f,\"worst_wait_to_stop_us\":%.1f}\n",
		       when, since_ns / 1e9, s->nthreads,
		       first ? 0LL : (long long)s->nthreads - (long long)prev, s->stopped_ns / 1e3,
		       s->worst_stop_ns / 1e3, s->waited_ns / 1e3, s->worst_wait_ns / 1e3);
	} else {
		char change[32] = "";
		if (!first)
			snprintf(change, sizeof(change), "%+lld", (long long)s->nthreads - (long long)prev);
		printf("%s  %6zu threads  %5s  held %s in all, %s at most\n", when, s->nthreads,
		       change, us(a, sizeof(a), s->stopped_ns), us(b, sizeof(b), s->worst_stop_ns));
	}
	fflush(stdout);
}

/* Prints the verdict; returns the number of suspects. */
static size_t verdict(struct threads_session *ts, int64_t span_ns, bool json)
{
	size_t n, npolls, suspects = 0;
	struct thread_group *g = threads_all_groups(ts, &n, &npolls);
	const struct snapshot *s = threads_last(ts);
	const struct profile *p = threads_profile(ts);
	double minutes = span_ns / 60e9;
	char a[32], nm[1024];

	if (json)
		printf("{\"type\":\"verdict\",\"polls\":%zu,\"span_s\":%.3f,\"suspects\":[", npolls,
		       span_ns / 1e9);
	for (size_t i = 0; i < n; i++) {
		size_t start, end;
		if (!threads_leaking(&g[i], npolls))
			continue;
		start = g[i].history[0];
		end = g[i].history[npolls - 1];
		names(s, &g[i], nm, sizeof(nm), json);
		if (json) {
			printf("%s{\"start\":%zu,\"end\":%zu,\"per_minute\":%.1f,\"names\":[%s],\"stack\":",
			       suspects ? "," : "", start, end,
			       minutes > 0 ? (end - start) / minutes : 0.0, nm);
			print_stack(p, g[i].locs, g[i].nlocs, true);
			putchar('}');
		} else {
			if (!suspects)
				printf("\nLeak suspects: thread groups that grew steadily over %zu polls in %s "
				       "(see cprof-threads(1) for the rule):\n", npolls,
				       us(a, sizeof(a), span_ns));
			printf("\n%zu -> %zu threads (+%.1f per minute)  %s\n", start, end,
			       minutes > 0 ? (end - start) / minutes : 0.0, nm);
			print_stack(p, g[i].locs, g[i].nlocs, false);
		}
		suspects++;
	}
	if (json)
		printf("]}\n");
	else if (!suspects)
		printf("\nNo leak suspects: no group of threads grew steadily over %zu polls in %s.\n",
		       npolls, us(a, sizeof(a), span_ns));
	return suspects;
}

static void sleep_until(int64_t when)
{
	while (!cmd_stop) {
		int64_t left = when - clock_ns(CLOCK_MONOTONIC);
		struct timespec t;
		if (left <= 0)
			return;
		t.tv_sec = left / 1000000000;
		t.tv_nsec = left % 1000000000;
		nanosleep(&t, NULL);
	}
}

static int exec_threads(int argc, char **argv)
{
	struct threads_opts o = { .interval_ns = 5000000000LL };
	struct threads_session *ts;
	struct target t;
	char cmdline[256], why[256];
	int rc = EXIT_ERROR;
	int64_t start;
	size_t prev = 0;

	cmd_parse(&cmd_threads, &argc, argv, set_option, &o, NULL, NULL);
	if (argc > 0)
		cmd_usage_error(&cmd_threads, "unexpected argument '%s'", argv[0]);
	if (o.interval && !o.watch_ns)
		cmd_usage_error(&cmd_threads, "--interval is the time between polls of --watch: "
				"give --watch too, or no --interval for one snapshot");
	if (o.watch_ns && o.interval_ns > o.watch_ns) {
		char d[32];
		if (o.interval)
			cmd_usage_error(&cmd_threads, "--interval %s is longer than --watch %s",
					o.interval, o.watch);
		cmd_usage_error(&cmd_threads, "--watch %s is shorter than the default --interval "
				"of %s: pass a shorter --interval", o.watch,
				units_format(d, sizeof(d), o.interval_ns, "nanoseconds"));
	}
	if (o.output)
		cmd_check_writable(o.output);
	if (target_attach(&t, o.pid) < 0 || target_check_access(&t, "trace") < 0)
		die(EXIT_ERROR, "%s", cp_errmsg());
	cmd_catch_signals();
	proc_cmdline(o.pid, cmdline, sizeof(cmdline));

	ts = threads_session_new(o.pid, 8192);
	if (!ts) {
		error("%s", cp_errmsg());
		goto out;
	}
	start = clock_ns(CLOCK_MONOTONIC);
	for (int64_t k = 0;; k++) {
		const struct snapshot *s;
		if (threads_poll(ts) < 0) {
			int err = cp_errno();

			if (err == EPERM || err == EACCES)
				target_permission_error(&t, err, "trace");
			else if (k > 0 && err == ESRCH) {
				printf("The process exited.\n");
				break;
			}
			error("%s", cp_errmsg());
			goto out_session;
		}
		s = threads_last(ts);
		if (k == 0 && target_stopped(&t, why, sizeof(why)))
			fprintf(stderr, "cprof: %s; its threads are shown where they stopped, and "
				"left stopped\n", why);
		if (!o.watch_ns)
			break;
		print_poll(s, prev, k == 0, s->time_ns ? clock_ns(CLOCK_MONOTONIC) - start : 0, o.json);
		prev = s->nthreads;
		if (cmd_stop || clock_ns(CLOCK_MONOTONIC) - start + o.interval_ns > o.watch_ns + o.interval_ns / 2)
			break;
		sleep_until(start + (k + 1) * o.interval_ns);
		if (cmd_stop)
			break;
	}
	rc = EXIT_OK;
	if (!o.watch_ns)
		print_dump(ts, &o, cmdline);
	else if (verdict(ts, clock_ns(CLOCK_MONOTONIC) - start, o.json))
		rc = EXIT_LEAK;
	if (o.output) {
		struct profile *p = threads_profile(ts);
		if (!p || pprof_write(p, o.output) < 0) {
			error("%s", cp_errmsg());
			rc = EXIT_ERROR;
		} else if (!o.json) {
			printf("Wrote %s\n", cmd_output_name(o.output));
		}
	}
out_session:
	threads_session_free(ts);
out:
	target_release(&t);
	return cmd_finish_stdout(rc);
}
