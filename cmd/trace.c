/* cprof trace: a timeline of every thread of a process or a command, on the
 * CPU, off it blocked and off it runnable, from its context switches; run as
 * cprof cpu is, in its wall-clock mode, and written as Chrome's trace
 * format or as the wall-time profile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "cmd.h"
#include "cpu.h"
#include "errmsg.h"
#include "fileio.h"
#include "pprof.h"
#include "trace.h"
#include "units.h"

static const struct cmd_option cmd_trace_options[] = {
	{ CMD_OPT_PID(cpu_cmd_opts, pid) },
	{ CMD_DURATION(cpu_cmd_opts, duration_ns, "seconds", "N", "stop after N seconds or a "
		       "duration like 500ms", 1, 5000000000LL), CMD_GIVEN(cpu_cmd_opts, duration_given) },
	{ CMD_CHOICE(cpu_cmd_opts, format, "format", "json|pprof", "json: Chrome's trace format, "
		     "for Perfetto, chrome://tracing or speedscope; pprof: the wall-time profile, as "
		     "cprof cpu --mode wall writes it", 0) },
	{ CMD_OPT_OUTPUT(cpu_cmd_opts, output, "where to write the trace"),
	  .def_text = "cprof-trace-PID-YYYYmmdd-HHMMSS.json (.pb.gz with --format pprof)" },
	{ CMD_INT(cpu_cmd_opts, max_events, "max-events", "N", "keep at most N intervals in the "
		  "trace file (about 100 bytes each; speedscope opens 100,000 in seconds, Perfetto "
		  "many more); the summary counts them all", 1, 100000000, 100000) },
	{ CMD_OPT_MAX_RATE(cpu_cmd_opts, max_rate) },
	{ CMD_OPT_UNWIND(cpu_cmd_opts, fp) },
	{ CMD_CALLBACK(cpu_cmd_opts, stack_size, "stack-size", "BYTES", "bytes of user stack "
		       "copied per switch-out for dwarf unwinding, a multiple of 8",
		       cmd_set_stack_size), .min = 8, .max = 65528, .def_text = "16384" },
	{ CMD_FLAG(cpu_cmd_opts, no_stacks, "no-stacks", "record the switches alone, with no "
		   "stack at a switch-out: the cheapest trace, for tens of thousands of switches "
		   "a second") },
	{ CMD_OPT_TOP(cpu_cmd_opts, top, "threads in the printed summary") },
	{ 0 },
};

/* The run's timeline, built as the records come. */
struct cmd_trace {
	struct trace *t;
	bool failed;    /* out of memory */
	char why[128];  /* the error then: later calls may set others */
};

static const struct cmd_cpu_hooks cmd_trace_hooks;

static int cmd_trace_exec(int argc, char **argv)
{
	return cmd_cpu_run(&cmd_trace, CMD_CPU_TRACE, &cmd_trace_hooks, argc, argv);
}

const struct cmd_entry cmd_trace = {
	.name = "trace",
	.summary = "record a timeline of when each thread runs, waits and waits for a CPU",
	.trailing = "[-- CMD [ARG...]]",
	.description =
		"Follows the context switches of every thread of a running process (--pid) or of a\n"
		"command that cprof starts (-- CMD) for --seconds, and writes each thread's timeline:\n"
		"its intervals on a CPU (which one), off it blocked (waiting for I/O, a lock, a\n"
		"timer), and off it runnable (preempted, waiting for a CPU), with the function\n"
		"each wait began in where its stack was sampled. The file is Chrome's trace format,\n"
		"which Perfetto (ui.perfetto.dev), chrome://tracing and speedscope open. Then it\n"
		"prints each thread's shares, its longest waits and where they began, and the\n"
		"scheduling latency. The switches are recorded for any user's own processes; their\n"
		"stacks need root or CAP_PERFMON, or kernel.perf_event_paranoid=1 or lower.\n"
		"The target is never stopped or traced.",
	.options = cmd_trace_options,
	.exec = cmd_trace_exec,
};

/* Note the failure RC < 0 of a call that built W's timeline. */
static void cmd_trace_check(struct cmd_trace *w, int rc)
{
	if (rc < 0 && !w->failed) {
		w->failed = true;
		snprintf(w->why, sizeof(w->why), "%s", cp_errmsg());
	}
}

static void cmd_trace_record(void *ctx, const struct sampler_record *r)
{
	struct cmd_trace *w = ctx;

	if (w->failed)
		return;
	if (r->type == REC_SWITCH)
		cmd_trace_check(w, trace_switch(w->t, r->pid, r->tid, r->time, r->out,
						r->preempt, r->cpu));
	else if (r->type == REC_COMM)
		cmd_trace_check(w, trace_name(w->t, r->pid, r->tid, r->comm));
	else if ((r->type == REC_FORK && r->time) || r->type == REC_EXIT)
		cmd_trace_check(w, trace_task(w->t, r->pid, r->tid, r->ptid, r->time,
					      r->type == REC_EXIT));
}

static void cmd_trace_wait(void *ctx, const struct offcpu_wait *wt, const uint64_t *locs,
			   size_t n)
{
	struct cmd_trace *w = ctx;

	if (w->failed)
		return;
	if (wt->before) /* the cut's: a thread that slept through it all */
		cmd_trace_check(w, trace_idle(w->t, wt->pid, wt->tid));
	else if (n)
		cmd_trace_check(w, trace_stack(w->t, wt->tid, wt->end - (uint64_t)wt->delay_ns,
					       wt->end, locs, n));
}

static int cmd_trace_setup(void *ctx, const struct cpu_cmd_opts *o)
{
	struct cmd_trace *w = ctx;

	w->t = trace_new(0, (size_t)o->max_events);
	return w->t ? 0 : -1;
}

static void cmd_trace_watch(void *ctx, struct cpu_opts *co)
{
	co->on_record = cmd_trace_record;
	co->on_wait = cmd_trace_wait;
	co->watch_ctx = ctx;
}

static void cmd_trace_begin(void *ctx)
{
	struct cmd_trace *w = ctx;

	trace_start(w->t, (uint64_t)clock_ns(CLOCK_MONOTONIC));
}

static void cmd_trace_release(void *ctx)
{
	struct cmd_trace *w = ctx;

	trace_free(w->t);
	w->t = NULL;
}

/* A thread's longest wait of kind K (0 blocked, 1 runnable): its length
 * and the function it began in, into BUF. */
static const char *cmd_trace_longest(const struct trace_thread *th, int k,
				     const struct profile *p, char *buf, size_t n)
{
	char len[32];
	const char *fn = NULL;

	if (!th->longest[k])
		return "-";
	for (size_t i = 0; i < th->nstack[k] && !fn; i++) {
		uint64_t id = th->stack[k][i];
		const struct pf_location *l = id && id <= p->nlocations ? &p->locations[id - 1] : NULL;
		if (l && l->nlines && l->lines[0].function_id &&
		    l->lines[0].function_id <= p->nfunctions)
			fn = profile_str(p, p->functions[l->lines[0].function_id - 1].name);
	}
	snprintf(buf, n, "%s%s%s", units_format(len, sizeof(len), th->longest[k], "nanoseconds"),
		 fn ? " in " : "", fn ? fn : "");
	return buf;
}

static int cmd_trace_by_total(const void *a, const void *b)
{
	const struct trace_thread *x = *(const struct trace_thread *const *)a;
	const struct trace_thread *y = *(const struct trace_thread *const *)b;
	int64_t tx = x->ns[0] + x->ns[1] + x->ns[2] + x->ns[3];
	int64_t ty = y->ns[0] + y->ns[1] + y->ns[2] + y->ns[3];

	return (tx < ty) - (tx > ty);
}

/* Each thread's shares of its time, running, blocked and runnable, and its
 * longest waits; the TOP threads with the most time. */
static int cmd_trace_threads(const struct trace *t, const struct profile *p, long top)
{
	size_t n;
	const struct trace_thread *all = trace_threads(t, &n);
	const struct trace_thread **th = malloc((n + 1) * sizeof(*th));
	char a[96], b[96];

	if (!th)
		return cmd_error("out of memory");
	if (!top || !n) {
		free(th);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		th[i] = &all[i];
	qsort(th, n, sizeof(*th), cmd_trace_by_total);
	printf("%8s  %-15s %8s %8s %9s  %-28s %s\n", "tid", "thread", "running", "blocked",
	       "runnable", "longest blocked", "longest runnable");
	for (size_t i = 0; i < n && (long)i < top; i++) {
		/* Off the CPU since before the start counts as blocked here. */
		int64_t off = th[i]->ns[TRACE_BLOCKED] + th[i]->ns[TRACE_UNKNOWN];
		int64_t total = th[i]->ns[TRACE_RUNNING] + off + th[i]->ns[TRACE_RUNNABLE];
		if (!total)
			continue;
		printf("%8d  %-15s %7.1f%% %7.1f%% %8.1f%%  %-28s %s\n", th[i]->tid,
		       th[i]->name[0] ? th[i]->name : "?", 100.0 * th[i]->ns[TRACE_RUNNING] / total,
		       100.0 * off / total, 100.0 * th[i]->ns[TRACE_RUNNABLE] / total,
		       cmd_trace_longest(th[i], 0, p, a, sizeof(a)),
		       cmd_trace_longest(th[i], 1, p, b, sizeof(b)));
	}
	free(th);
	return 0;
}

/* The scheduling latency, and what much runnable time means. */
static void cmd_trace_latency(const struct trace *t)
{
	static const double q[] = { 0.5, 0.99, 1.0 };
	int64_t v[3], run = 0, ready = 0;
	size_t n, nt;
	const struct trace_thread *th = trace_threads(t, &nt);
	char a[32], b[32], c[32];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!(n = trace_latency(t, q, 3, v)))
		printf("Scheduling latency: none, no thread was preempted\n");
	else
		printf("Scheduling latency (preempted, waiting for a CPU): p50 %s, p99 %s, max %s "
		       "over %zu runnable intervals\n",
		       units_format(a, sizeof(a), v[0], "nanoseconds"),
		       units_format(b, sizeof(b), v[1], "nanoseconds"),
		       units_format(c, sizeof(c), v[2], "nanoseconds"), n);
	for (size_t i = 0; i < nt; i++) {
		run += th[i].ns[TRACE_RUNNING];
		ready += th[i].ns[TRACE_RUNNABLE];
	}
	if (run + ready && ready * 10 > run + ready)
		printf("Runnable: %.0f%% of the time the threads could run they waited for a CPU: "
		       "more threads were ready to run than the %ld CPUs could take\n",
		       100.0 * ready / (run + ready), cpus);
}

/* The trace as JSON, to PATH whole or not at all. */
static int cmd_trace_write(const struct trace *t, const struct profile *p, const char *path,
			   const char *process)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	int rc;

	if (!mem)
		return cmd_error("out of memory");
	rc = trace_write_json(t, mem, p, process);
	if (fclose(mem) != 0 || rc < 0)
		rc = cmd_error("out of memory");
	else if ((rc = file_write_output(path, buf, len)) < 0)
		cmd_lib_error();
	free(buf);
	return rc;
}

/* The trace (or with --format pprof the profile P) written to OUTPUT, and
 * its summary. */
static int cmd_trace_finish(void *ctx, const struct cpu_cmd_opts *o, const struct cpu_stats *st,
			    const struct profile *p, const char *output, const char *process)
{
	struct cmd_trace *w = ctx;
	size_t n;
	uint64_t dropped;

	if (w->failed)
		return cmd_error("%s", w->why);
	if (trace_end(w->t, (uint64_t)(st->start_ns + st->elapsed_ns)) < 0)
		return cmd_lib_error();
	trace_intervals(w->t, &n, &dropped);
	if (o->format ? cmd_write_profile(p, output) < 0 :
			cmd_trace_write(w->t, p, output, process) < 0)
		return -1;
	if (cmd_trace_threads(w->t, p, o->top) < 0)
		return -1;
	cmd_trace_latency(w->t);
	if (o->no_stacks)
		printf("Stacks: none (--no-stacks), so no wait says where it began\n");
	else if (!st->switch_stacks)
		printf("Stacks: none, so no wait says where it began: sampling the switches needs "
		       "root or CAP_PERFMON, or the sysctl kernel.perf_event_paranoid=1 or lower\n");
	if (dropped && !o->format)
		printf("Left out of the file: %llu intervals past --max-events %ld (the first %zu "
		       "are in it; the summary counts all); raise --max-events for all, which "
		       "Perfetto opens, though speedscope slows past 200,000\n",
		       (unsigned long long)dropped, o->max_events, n);
	if (trace_missed(w->t) || st->lost)
		printf("Lost: %llu records when the ring buffer overflowed; %llu switches without "
		       "their other half, the time between unknown\n", (unsigned long long)st->lost,
		       (unsigned long long)trace_missed(w->t));
	if (o->format)
		printf("Wrote %s\n", cmd_output_name(output));
	else
		printf("Intervals: %zu in %s\n", n + (size_t)dropped, cmd_output_name(output));
	return 0;
}

static struct cmd_trace cmd_trace_run;

static const struct cmd_cpu_hooks cmd_trace_hooks = {
	.ctx = &cmd_trace_run,
	.setup = cmd_trace_setup,
	.watch = cmd_trace_watch,
	.begin = cmd_trace_begin,
	.finish = cmd_trace_finish,
	.release = cmd_trace_release,
};
