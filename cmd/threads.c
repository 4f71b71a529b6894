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
#include "errmsg.h"
#include "pprof.h"
#include "proc.h"
#include "render.h"
#include "stacks.h"
#include "threads.h"
#include "units.h"

struct threads_opts {
	pid_t pid;
	bool all, json;
	int64_t watch_ns, interval_ns;
	const char *watch, *interval; /* as given */
	const char *output;
};

static const struct cmd_option cmd_threads_options[] = {
	{ CMD_OPT_PID(threads_opts, pid), .required = true },
	{ CMD_FLAG(threads_opts, all, "all", "print each thread on its own instead of grouping them") },
	{ CMD_DURATION(threads_opts, watch_ns, "watch", "DURATION", "poll for DURATION (e.g. 60s, 5m) and report thread groups that grow", 0, 0),
	  CMD_GIVEN(threads_opts, watch) },
	{ CMD_DURATION(threads_opts, interval_ns, "interval", "DURATION", "time between polls with --watch", 0, 5000000000LL),
	  CMD_GIVEN(threads_opts, interval) },
	{ CMD_OPT_OUTPUT(threads_opts, output, "write the last snapshot as a pprof profile (threads/count)") },
	{ CMD_FLAG(threads_opts, json, "json", "print JSON lines: one object per poll and one for the verdict") },
	{ 0 },
};

static int cmd_threads_exec(int argc, char **argv);

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
	.options = cmd_threads_options,
	.exec = cmd_threads_exec,
};

/* The options; --watch and --interval together, or exit 2. */
static void cmd_threads_parse(int argc, char **argv, struct threads_opts *o)
{
	cmd_parse(&cmd_threads, &argc, argv, o, NULL, NULL);
	if (argc > 0)
		cmd_usage_error(&cmd_threads, "unexpected argument '%s'", argv[0]);
	cmd_check_watch(&cmd_threads, o->watch_ns, o->interval_ns, o->watch, o->interval,
			" for one snapshot");
}

static void cmd_threads_sleep_until(int64_t when)
{
	while (!cmd_stop && clock_ns(CLOCK_MONOTONIC) < when)
		snapshot_wait_until(when);
}

/* Polls once, or every --interval until --watch is over, printing each poll
 * through R; *START is when the polls began. Returns 0, or -1 when a poll
 * failed (reported). */
static int cmd_threads_watch(struct threads_session *ts, struct target *t,
			     const struct threads_opts *o, const struct threads_render *r,
			     int64_t *start)
{
	char why[256];
	size_t prev = 0;

	*start = clock_ns(CLOCK_MONOTONIC);
	for (int64_t k = 0;; k++) {
		const struct snapshot *s;
		if (threads_poll(ts) < 0) {
			int err = cp_errno();

			if (err == EPERM || err == EACCES)
				target_permission_error(t, err, "trace");
			else if (k > 0 && err == ESRCH) {
				r->exited(stdout);
				return 0;
			}
			return cmd_lib_error();
		}
		s = threads_last(ts);
		if (k == 0 && target_stopped(t, why, sizeof(why)))
			fprintf(stderr, "cprof: %s; its threads are shown where they stopped, and "
				"left stopped\n", why);
		if (!o->watch_ns)
			return 0;
		r->poll(stdout, s, prev, k == 0, s->time_ns ? clock_ns(CLOCK_MONOTONIC) - *start : 0);
		fflush(stdout);
		prev = s->nthreads;
		if (cmd_stop ||
		    clock_ns(CLOCK_MONOTONIC) - *start + o->interval_ns > o->watch_ns + o->interval_ns / 2)
			return 0;
		cmd_threads_sleep_until(*start + (k + 1) * o->interval_ns);
		if (cmd_stop)
			return 0;
	}
}

static int cmd_threads_exec(int argc, char **argv)
{
	struct threads_opts o = { 0 };
	struct threads_session *ts;
	struct target t;
	const struct threads_render *r;
	char cmdline[256];
	int rc = EXIT_ERROR;
	int64_t start;

	cmd_threads_parse(argc, argv, &o);
	if (o.output)
		cmd_check_writable(o.output);
	if (target_attach(&t, o.pid) < 0 || target_check_access(&t, "trace") < 0)
		cmd_lib_die();
	cmd_catch_signals();
	proc_cmdline(o.pid, cmdline, sizeof(cmdline));

	ts = threads_session_new(o.pid, THREADS_STACK_SIZE);
	if (!ts) {
		cmd_lib_error();
		goto out;
	}
	r = o.json ? &render_threads_json : &render_threads_text;
	if (cmd_threads_watch(ts, &t, &o, r, &start) < 0)
		goto out_session;
	if (!threads_profile(ts)) {
		cmd_lib_error();
		goto out_session;
	}
	if (o.watch_ns)
		r->verdict(stdout, ts, clock_ns(CLOCK_MONOTONIC) - start);
	else
		r->dump(stdout, ts, cmdline, o.all);
	rc = o.watch_ns && threads_suspects(ts, 0, NULL, NULL) ? EXIT_LEAK : EXIT_OK;
	if (o.output) {
		struct profile *p = threads_profile(ts);
		if (!p || pprof_write(p, o.output) < 0) {
			cmd_lib_error();
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
