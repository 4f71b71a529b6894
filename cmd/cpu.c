/* cprof cpu: sample a running process or a command, write a pprof profile,
 * and print its top functions. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cmd.h"
#include "cpu.h"
#include "errmsg.h"
#include "fileio.h"
#include "pprof.h"
#include "proc.h"
#include "render.h"
#include "topview.h"
#include "units.h"

struct cpu_cmd_opts {
	pid_t pid;
	int64_t duration_ns;
	const char *duration_given;
	unsigned frequency;
	bool fp;
	uint32_t stack_size;
	bool user_only;
	const char *output;
	long top;
};

static const struct cmd_option cmd_cpu_options[] = {
	{ CMD_OPT_PID(cpu_cmd_opts, pid) },
	{ CMD_OPT_SECONDS(cpu_cmd_opts, duration_ns), CMD_GIVEN(cpu_cmd_opts, duration_given) },
	{ CMD_OPT_FREQUENCY(cpu_cmd_opts, frequency) },
	{ CMD_OPT_UNWIND(cpu_cmd_opts, fp) },
	{ CMD_OPT_STACK_SIZE(cpu_cmd_opts, stack_size) },
	{ CMD_OPT_USER_ONLY(cpu_cmd_opts, user_only) },
	{ CMD_OPT_PROFILE_OUTPUT(cpu_cmd_opts, output, "cpu") },
	{ CMD_OPT_TOP(cpu_cmd_opts, top, "functions in the printed summary") },
	{ 0 },
};

static int cmd_cpu_exec(int argc, char **argv);

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
		"--seconds, cprof ends it with SIGTERM. The target is never stopped or traced.",
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
			printf("Kernel: %llu samples (%.1f%%) in the kernel, under [kernel.kallsyms] "
			       "frames; --user-only leaves them out\n",
			       (unsigned long long)st->kernel_samples,
			       100.0 * st->kernel_samples / st->samples);
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
	const struct target *t;
	char **cmd;
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
	fprintf(stderr, "cprof: profiling %s at %u Hz%s%s with %s unwinding; Ctrl-C to stop\n",
		what, b->o->frequency, when[0] ? " for " : "", when,
		b->o->fp ? "frame-pointer" : "DWARF");
	if (b->o->pid && target_stopped(b->t, line_why, sizeof(line_why)))
		fprintf(stderr, "cprof: %s; it runs no code while stopped, so it leaves no samples\n",
			line_why);
}

/* The options and the command after "--"; exits 2 on bad usage. */
static void cmd_cpu_parse(int argc, char **argv, struct cpu_cmd_opts *o, char ***cmd, int *ncmd)
{
	cmd_parse(&cmd_cpu, &argc, argv, o, cmd, ncmd);
	cmd_check_target(&cmd_cpu, argc, argv, o->pid, *ncmd);
	if (!o->duration_given && *ncmd)
		o->duration_ns = 0;
	if (!o->stack_size)
		o->stack_size = cpu_default_stack_size(o->frequency);
}

/* What the profile holds and what it lacks, after it is written. */
static int cmd_cpu_summary(const struct cpu_cmd_opts *o, const struct cpu_stats *st,
			   const struct target *t, const struct profile *p)
{
	char when[32], why[256];

	if (o->top && st->samples) {
		struct stackset ss;
		bool failed = stackset_init(&ss, p, 1, NULL) < 0;

		if (!failed) {
			failed = render_top(stdout, &ss, o->top) < 0 ||
				 cmd_cpu_print_sampling_error(&ss, o->top) < 0;
			stackset_release(&ss);
		}
		if (failed)
			return cmd_lib_error();
	}
	printf("Samples: %llu, lost: %llu, threads: %llu, duration: %s%s\n",
	       (unsigned long long)st->samples, (unsigned long long)st->lost,
	       (unsigned long long)st->threads,
	       units_format(when, sizeof(when), st->elapsed_ns, "nanoseconds"),
	       st->target_exited && !t->launched ? " (the target exited)" :
	       st->stopped ? " (stopped by signal)" : "");
	if (st->lost)
		printf("Lost samples: %llu (%.1f%%): the ring buffer overflowed; lower --frequency\n",
		       (unsigned long long)st->lost, 100.0 * st->lost / (st->lost + st->samples));
	cmd_cpu_print_kernel(st, o->user_only);
	if (st->truncated && o->stack_size < 65528)
		printf("Truncated stacks: %llu (%.1f%%) stop short of the program's entry, under a "
		       "[truncated] root: raise --stack-size (now %u, at most 65528)\n",
		       (unsigned long long)st->truncated, 100.0 * st->truncated / st->samples,
		       o->stack_size);
	else if (st->truncated)
		printf("Truncated stacks: %llu (%.1f%%) stop short of the program's entry, under a "
		       "[truncated] root: deeper than the 65528 bytes the kernel copies at most; "
		       "--unwind fp follows code built with frame pointers to the end\n",
		       (unsigned long long)st->truncated, 100.0 * st->truncated / st->samples);
	if (st->dropped)
		printf("Left out: %llu samples of processes that exited before cprof could read "
		       "their memory maps\n", (unsigned long long)st->dropped);
	if (!st->samples && !st->target_exited && target_stopped(t, why, sizeof(why)))
		printf("No samples: %s\n", why);
	if (t->launched && t->exited)
		cmd_print_exit_status(t->status);
	return 0;
}

static int cmd_cpu_exec(int argc, char **argv)
{
	struct cpu_cmd_opts o = { 0 };
	struct cpu_opts co;
	struct cpu_stats st;
	struct target t;
	struct profile *p;
	char **cmd = NULL, *output;
	int ncmd = 0, rc = EXIT_ERROR;

	cmd_cpu_parse(argc, argv, &o, &cmd, &ncmd);
	if (o.output)
		cmd_check_writable(o.output);
	if (o.pid && target_attach(&t, o.pid) < 0)
		cmd_lib_die();
	/* Symbolizing must not wait on the network in the middle of a profile. */
	unsetenv("DEBUGINFOD_URLS");
	cmd_catch_signals();
	if (ncmd && target_launch(&t, cmd) < 0)
		cmd_lib_die();
	output = cmd_output_path("cpu", o.output, &t);
	if (!output)
		goto out;

	co = (struct cpu_opts){
		.frequency = o.frequency,
		.fp = o.fp,
		.stack_size = o.stack_size,
		.user_only = o.user_only,
		.duration_ns = o.duration_ns,
		/* Undocumented: bench/spread.sh compares the dithered period with a fixed one. */
		.steady = getenv("CPROF_STEADY_PERIOD") != NULL,
		.stop = &cmd_stop,
		.started = cmd_cpu_started,
		.ctx = &(struct cmd_cpu_banner){ &o, &t, cmd },
	};
	p = cpu_profile(&t, &co, &st);
	if (t.launched) {
		if (!st.target_exited)
			target_stop(&t, 1000);
		else
			target_check_exit(&t);
	}
	if (cmd_write_profile(p, output) < 0)
		goto out_profile;
	if (cmd_cpu_summary(&o, &st, &t, p) < 0)
		goto out_profile;
	printf("Wrote %s\n", cmd_output_name(output));
	rc = EXIT_OK;
out_profile:
	profile_free(p);
out:
	target_release(&t);
	free(output);
	return cmd_finish_stdout(rc);
}
