/* cprof cpu: sample a running process or a command, write a pprof profile,
 * and print its top functions; its off-CPU and wall-clock profiles too
 * (cprof offcpu, cpu --mode wall), which run the same way. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "clock.h"
#include "cmd.h"
#include "cpu.h"
#include "errmsg.h"
#include "fileio.h"
#include "pprof.h"
#include "proc.h"
#include "render.h"
#include "topview.h"
#include "units.h"

static const struct cmd_option cmd_cpu_options[] = {
	{ CMD_OPT_PID(cpu_cmd_opts, pid) },
	{ CMD_OPT_SECONDS(cpu_cmd_opts, duration_ns), CMD_GIVEN(cpu_cmd_opts, duration_given) },
	{ CMD_OPT_FREQUENCY(cpu_cmd_opts, frequency) },
	{ CMD_CHOICE(cpu_cmd_opts, mode, "mode", "cpu|wall", "cpu: time on CPU; wall: on CPU and "
		     "off it (waiting, or runnable), each sample labelled with its state", 0) },
	{ CMD_OPT_MAX_RATE(cpu_cmd_opts, max_rate), .def_text = "10000; with --mode wall" },
	{ CMD_OPT_UNWIND(cpu_cmd_opts, fp) },
	{ CMD_OPT_STACK_SIZE(cpu_cmd_opts, stack_size) },
	{ CMD_OPT_USER_ONLY(cpu_cmd_opts, user_only) },
	{ CMD_OPT_PROFILE_OUTPUT(cpu_cmd_opts, output, "cpu") },
	{ CMD_OPT_TOP(cpu_cmd_opts, top, "functions in the printed summary") },
	{ 0 },
};

static int cmd_cpu_exec(int argc, char **argv)
{
	return cmd_cpu_run(&cmd_cpu, CMD_CPU_CPU, NULL, argc, argv);
}

const struct cmd_entry cmd_cpu = {
	.name = "cpu",
	.summary = "sample where a process spends CPU time and write a pprof profile",
	.trailing = "[-- CMD [ARG...]]",
	.description =
		"Samples the call stacks (user space, and the kernel where allowed) of every thread of\n"
		"a running process (--pid), or of a command that cprof starts (-- CMD), including\n"
		"threads created later, with the\n"
		"software cpu-clock perf event. Stops after --seconds, on Ctrl-C or SIGTERM, or when\n"
		"the target exits, and writes what it collected in every case, then prints the top\n"
		"functions. A command is profiled from its first instruction; if it outlives\n"
		"--seconds, cprof ends it with SIGTERM. The target is never stopped or traced.\n"
		"--mode wall adds the time each thread spends off the CPU, as cprof offcpu sees it,\n"
		"so that a thread's whole life is accounted for (samples/count, wall/nanoseconds).",
	.options = cmd_cpu_options,
	.exec = cmd_cpu_exec,
};

/* Where the kernel was sampled, its share; where not, the share of the
 * target's CPU time the kernel spent for it unseen, and what would show it. */
static void cmd_cpu_print_kernel(const struct cpu_stats *st, bool user_only)
{
	int64_t all = st->user_ns + st->system_ns;
	char sys[32], total[32];

	if (st->kernel) {
		if (st->kernel_samples)
			/* Of the samples on CPU: in wall mode the others are waits. */
			printf("Kernel: %llu samples (%.1f%%%s) in the kernel, under "
			       "[kernel.kallsyms] frames; --user-only leaves them out\n",
			       (unsigned long long)st->kernel_samples,
			       100.0 * st->kernel_samples / st->samples,
			       st->switch_samples ? " of those on CPU" : "");
		return;
	}
	if (st->system_ns <= 0)
		return;
	units_format(sys, sizeof(sys), st->system_ns, "nanoseconds");
	units_format(total, sizeof(total), all, "nanoseconds");
	if (user_only)
		printf("Kernel: %s of the target's %s of CPU (%.1f%%) was in the kernel, left out "
		       "by --user-only\n", sys, total, 100.0 * st->system_ns / all);
	else
		printf("Kernel: %s of the target's %s of CPU (%.1f%%) was in the kernel, unseen: "
		       "sampling the kernel needs root or CAP_PERFMON, or the sysctl "
		       "kernel.perf_event_paranoid=1 or lower\n", sys, total,
		       100.0 * st->system_ns / all);
}

/* The top functions' shares again, each with one standard error of a share
 * of that many samples, sqrt(p(1 - p) / n): how far a rerun may land. */
static int cmd_cpu_print_sampling_error(const struct stackset *ss, long top)
{
	double n = ss->p->period > 0 ? (double)ss->total_all / ss->p->period : 0;
	struct func_total *rows;
	size_t nrows;

	if (n < 1 || ss->total_all <= 0)
		return 0;
	if (stackset_functions(ss, &rows, &nrows) < 0)
		return -1;
	topview_sort(ss, rows, nrows, TOP_SORT_SELF);
	printf("Shares with one standard error (of %.0f samples):", n);
	for (size_t i = 0; i < nrows && i < (size_t)top && i < 5 && rows[i].flat > 0; i++) {
		double share = (double)rows[i].flat / ss->total_all;
		printf("%s %s %.1f%% \u00b1%.1f", i ? "," : "", stackset_name(ss, rows[i].name),
		       100 * share, 100 * sqrt(share * (1 - share) / n));
	}
	printf("\n");
	free(rows);
	return 0;
}

struct cmd_cpu_banner {
	const struct cpu_cmd_opts *o;
	enum cmd_cpu_kind kind;
	enum cpu_mode mode;
	const struct target *t;
	char **cmd;
	const struct cmd_cpu_hooks *hooks; /* NULL: none */
};

static void cmd_cpu_started(void *ctx)
{
	const struct cmd_cpu_banner *b = ctx;
	char when[32] = "", what[300], line_why[256];

	if (b->o->pid) {
		char line[256];
		proc_cmdline(b->t->pid, line, sizeof(line));
		snprintf(what, sizeof(what), "process %d (%s)", b->t->pid, line);
	} else {
		snprintf(what, sizeof(what), "%s (pid %d)", b->cmd[0], b->t->pid);
	}
	if (b->o->duration_ns)
		units_format(when, sizeof(when), b->o->duration_ns, "nanoseconds");
	/* One write: the command it started may be printing on the same stderr. */
	if (b->kind == CMD_CPU_TRACE)
		fprintf(stderr, "cprof: tracing the threads of %s%s%s; Ctrl-C to stop\n", what,
			when[0] ? " for " : "", when);
	else if (b->mode == CPU_MODE_OFF)
		fprintf(stderr, "cprof: profiling where %s waits%s%s with %s unwinding; Ctrl-C "
			"to stop\n", what, when[0] ? " for " : "", when,
			b->o->fp ? "frame-pointer" : "DWARF");
	else
		fprintf(stderr, "cprof: profiling %s%s at %u Hz%s%s with %s unwinding; Ctrl-C to "
			"stop\n", b->mode == CPU_MODE_WALL ? "the wall-clock time of " : "", what,
			b->o->frequency, when[0] ? " for " : "", when,
			b->o->fp ? "frame-pointer" : "DWARF");
	if (b->o->pid && target_stopped(b->t, line_why, sizeof(line_why)))
		fprintf(stderr, "cprof: %s; it runs no code while stopped, so it leaves no samples\n",
			line_why);
}

/* The options and the command after "--"; exits 2 on bad usage. */
static void cmd_cpu_parse(const struct cmd_entry *e, enum cmd_cpu_kind kind, int argc,
			  char **argv, struct cpu_cmd_opts *o, char ***cmd, int *ncmd)
{
	cmd_parse(e, &argc, argv, o, cmd, ncmd);
	cmd_check_target(e, argc, argv, o->pid, *ncmd);
	/* A command runs to its end, unless told; a trace's file grows with time. */
	if (!o->duration_given && *ncmd && kind != CMD_CPU_TRACE)
		o->duration_ns = 0;
	if (!o->frequency)
		o->frequency = 99; /* offcpu's: the cpu-clock, unused, is still set up */
}

/* Each thread's time off the CPU, blocked and runnable, the most first. */
static int cmd_cpu_print_threads(const struct cpu_cmd_opts *o, const struct profile *p)
{
	struct top_thread *all = NULL, *blocked = NULL, *runnable = NULL;
	size_t n, nb, nr;
	int rc = -1;

	if (topview_threads(p, 1, NULL, &all, &n) < 0 ||
	    topview_threads(p, 1, "blocked", &blocked, &nb) < 0 ||
	    topview_threads(p, 1, "runnable", &runnable, &nr) < 0)
		goto out;
	printf("%9s  %-16s %12s %12s %12s\n", "tid", "thread",
	       o->mode ? "wall" : "off-CPU", "blocked", "runnable");
	for (size_t i = 0; i < n && i < (size_t)o->top; i++) {
		int64_t b = 0, r = 0;
		char v[3][32];
		for (size_t j = 0; j < nb; j++)
			b += blocked[j].tid == all[i].tid ? blocked[j].value : 0;
		for (size_t j = 0; j < nr; j++)
			r += runnable[j].tid == all[i].tid ? runnable[j].value : 0;
		printf("%9lld  %-16s %12s %12s %12s\n", (long long)all[i].tid, all[i].name,
		       units_format(v[0], sizeof(v[0]), all[i].value, "nanoseconds"),
		       units_format(v[1], sizeof(v[1]), b, "nanoseconds"),
		       units_format(v[2], sizeof(v[2]), r, "nanoseconds"));
	}
	rc = 0;
out:
	free(all);
	free(blocked);
	free(runnable);
	return rc;
}

/* What the off-CPU part of a profile holds: its waits, how they were
 * sampled, what was lost, and what it lacks without the privilege. */
static void cmd_cpu_print_waits(const struct cpu_cmd_opts *o, const struct cpu_stats *st)
{
	char v[3][32];

	printf("Waits: %llu, blocked %s, runnable %s", (unsigned long long)st->waits,
	       units_format(v[0], sizeof(v[0]), st->blocked_ns, "nanoseconds"),
	       units_format(v[1], sizeof(v[1]), st->runnable_ns, "nanoseconds"));
	if (st->before_ns)
		printf(", since before the start %s",
		       units_format(v[2], sizeof(v[2]), st->before_ns, "nanoseconds"));
	printf("\n");
	if (!st->switch_stacks)
		printf("Stacks: none, each thread's waits are under [off-CPU]: sampling the "
		       "switches needs root or CAP_PERFMON, or the sysctl "
		       "kernel.perf_event_paranoid=1 or lower\n");
	else if (st->switch_period_max > 1)
		printf("Sampled: %llu of %llu waits (past --max-rate %u: a switch-out in about "
		       "%llu at most); each thread's sampled waits are scaled to its exact "
		       "totals\n", (unsigned long long)st->waits_sampled,
		       (unsigned long long)st->waits, o->max_rate,
		       (unsigned long long)st->switch_period_max);
	if (st->waits_lost)
		printf("Lost waits: %llu, their switch in or out lost when the ring buffer "
		       "overflowed; lower --max-rate\n", (unsigned long long)st->waits_lost);
}

/* What the profile holds and what it lacks, after it is written. */
static int cmd_cpu_summary(const struct cpu_cmd_opts *o, enum cpu_mode mode,
			   const struct cpu_stats *st, const struct target *t,
			   const struct profile *p)
{
	char when[32], why[256];
	/* Switch samples count as samples; a wait's stack is located once. */
	uint64_t all = st->samples + st->switch_samples, stacks = st->samples + st->waits_sampled;

	if (o->top && (st->samples || st->waits)) {
		struct stackset ss;
		bool failed = stackset_init(&ss, p, 1, NULL) < 0;

		if (!failed) {
			failed = render_top(stdout, &ss, o->top) < 0 ||
				 (mode == CPU_MODE_CPU && cmd_cpu_print_sampling_error(&ss, o->top) < 0) ||
				 (mode != CPU_MODE_CPU && cmd_cpu_print_threads(o, p) < 0);
			stackset_release(&ss);
		}
		if (failed)
			return cmd_lib_error();
	}
	if (mode != CPU_MODE_CPU)
		cmd_cpu_print_waits(o, st);
	printf("Samples: %llu, lost: %llu, threads: %llu, duration: %s%s\n",
	       (unsigned long long)all, (unsigned long long)st->lost,
	       (unsigned long long)st->threads,
	       units_format(when, sizeof(when), st->elapsed_ns, "nanoseconds"),
	       st->target_exited && !t->launched ? " (the target exited)" :
	       st->stopped ? " (stopped by signal)" : "");
	if (st->lost)
		printf("Lost samples: %llu (%.1f%%): the ring buffer overflowed; lower %s\n",
		       (unsigned long long)st->lost, 100.0 * st->lost / (st->lost + all),
		       mode == CPU_MODE_CPU ? "--frequency" : "--max-rate");
	if (mode != CPU_MODE_OFF)
		cmd_cpu_print_kernel(st, o->user_only);
	if (st->truncated && o->stack_size < 65528)
		printf("Truncated stacks: %llu (%.1f%%) stop short of the program's entry, under a "
		       "[truncated] root: raise --stack-size (now %u, at most 65528)\n",
		       (unsigned long long)st->truncated, 100.0 * st->truncated / stacks,
		       o->stack_size);
	else if (st->truncated)
		printf("Truncated stacks: %llu (%.1f%%) stop short of the program's entry, under a "
		       "[truncated] root: deeper than the 65528 bytes the kernel copies at most; "
		       "--unwind fp follows code built with frame pointers to the end\n",
		       (unsigned long long)st->truncated, 100.0 * st->truncated / stacks);
	if (st->dropped)
		printf("Left out: %llu samples of processes that exited before cprof could read "
		       "their memory maps\n", (unsigned long long)st->dropped);
	if (!all && !st->target_exited && target_stopped(t, why, sizeof(why)))
		printf("No samples: %s\n", why);
	if (t->launched && t->exited)
		cmd_print_exit_status(t->status);
	return 0;
}

/* The banner's "started", and the hooks' begin then. */
static void cmd_cpu_begin(void *ctx)
{
	struct cmd_cpu_banner *b = ctx;

	if (b->hooks)
		b->hooks->begin(b->hooks->ctx);
	cmd_cpu_started(ctx);
}

/* What the run wrote and found: the profile (or the trace) to OUTPUT, and
 * the summary. Returns 0, or -1 after an error, reported. */
static int cmd_cpu_finish(const struct cpu_cmd_opts *o, struct cmd_cpu_banner *b,
			  const struct cpu_stats *st, const struct profile *p, const char *output)
{
	char name[256];

	if (b->hooks) {
		if (!p)
			return cmd_lib_error();
		if (b->o->pid)
			proc_cmdline(b->t->pid, name, sizeof(name));
		else
			snprintf(name, sizeof(name), "%s", b->cmd[0]);
		if (b->hooks->finish(b->hooks->ctx, o, st, p, output, name) < 0)
			return -1;
		if (b->t->launched && b->t->exited)
			cmd_print_exit_status(b->t->status);
		return 0;
	}
	if (cmd_write_profile(p, output) < 0 || cmd_cpu_summary(o, b->mode, st, b->t, p) < 0)
		return -1;
	printf("Wrote %s\n", cmd_output_name(output));
	return 0;
}

int cmd_cpu_run(const struct cmd_entry *e, enum cmd_cpu_kind kind,
		const struct cmd_cpu_hooks *hooks, int argc, char **argv)
{
	static const char *const kinds[] = { "cpu", "wall", "offcpu", "trace" };
	struct cpu_cmd_opts o = { 0 };
	struct cmd_cpu_banner b;
	enum cpu_mode mode;
	struct cpu_opts co;
	struct cpu_stats st;
	struct target t;
	struct profile *p;
	char **cmd = NULL, *output;
	int ncmd = 0, rc = EXIT_ERROR;

	cmd_cpu_parse(e, kind, argc, argv, &o, &cmd, &ncmd);
	/* A trace's timeline is the switches alone (which any user may have of
	 * their own processes); its pprof form is the wall-time profile. */
	mode = kind == CMD_CPU_OFFCPU ? CPU_MODE_OFF :
	       kind == CMD_CPU_TRACE ? (o.format ? CPU_MODE_WALL : CPU_MODE_OFF) :
	       o.mode ? CPU_MODE_WALL : CPU_MODE_CPU;
	if (!o.stack_size)
		o.stack_size = cpu_default_stack_size(mode, o.frequency);
	if (o.output)
		cmd_check_writable(o.output);
	/* The maps are read to symbolize: what cannot read them cannot profile. */
	if (o.pid && (target_attach(&t, o.pid) < 0 || target_check_access(&t, "profile") < 0))
		cmd_lib_die();
	/* Symbolizing must not wait on the network in the middle of a profile. */
	unsetenv("DEBUGINFOD_URLS");
	cmd_catch_signals();
	if (hooks && hooks->setup(hooks->ctx, &o) < 0)
		cmd_lib_die();
	if (ncmd && target_launch(&t, cmd) < 0)
		cmd_lib_die();
	output = cmd_output_path(kinds[kind == CMD_CPU_TRACE ? 3 : mode == CPU_MODE_OFF ? 2 :
				      mode == CPU_MODE_WALL ? 1 : 0],
				 kind == CMD_CPU_TRACE && !o.format ? ".json" : ".pb.gz", o.output, &t);
	if (!output)
		goto out;
	b = (struct cmd_cpu_banner){ &o, kind, mode, &t, cmd, hooks };
	co = (struct cpu_opts){
		.mode = mode,
		.max_rate = o.max_rate,
		.frequency = o.frequency,
		.fp = o.fp,
		.stack_size = o.stack_size,
		.user_only = o.user_only,
		.no_switch_stacks = o.no_stacks,
		.duration_ns = o.duration_ns,
		/* Undocumented: bench/spread.sh compares the dithered period with a fixed one. */
		.steady = getenv("CPROF_STEADY_PERIOD") != NULL,
		.stop = &cmd_stop,
		.started = cmd_cpu_begin,
		.ctx = &b,
	};
	if (hooks)
		hooks->watch(hooks->ctx, &co);
	p = cpu_profile(&t, &co, &st);
	if (t.launched) {
		if (!st.target_exited)
			target_stop(&t, 1000);
		else
			target_check_exit(&t);
	}
	if (cmd_cpu_finish(&o, &b, &st, p, output) == 0)
		rc = EXIT_OK;
	profile_free(p);
out:
	if (hooks)
		hooks->release(hooks->ctx);
	target_release(&t);
	free(output);
	return cmd_finish_stdout(rc);
}
