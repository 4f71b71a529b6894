/* cprof top: the data side of the live view. Options, the target (attached or
 * launched), a sampler thread that collects samples into the session's
 * profile under a lock and keeps snapshots for the recent window, and the
 * private copies the screen draws from; tui.c draws them. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "clock.h"
#include "cmd.h"
#include "cpu.h"
#include "error.h"
#include "grow.h"
#include "pprof.h"
#include "proc.h"
#include "top.h"
#include "topview.h"

struct top_opts {
	pid_t pid;
	unsigned frequency;
	bool fp, user_only;
	const char *freq_set, *unwind_set; /* as given */
	int64_t interval_ns, window_ns;
	const char *sample_index;
};

static const struct cmd_option cmd_top_options[] = {
	{ CMD_OPT_PID(top_opts, pid) },
	{ CMD_OPT_FREQUENCY(top_opts, frequency), CMD_GIVEN(top_opts, freq_set) },
	{ CMD_OPT_UNWIND(top_opts, fp), CMD_GIVEN(top_opts, unwind_set) },
	{ CMD_OPT_USER_ONLY(top_opts, user_only) },
	{ CMD_DURATION(top_opts, interval_ns, "interval", "DURATION", "refresh the screen every DURATION, like 500ms or 2s", 100000000, 1000000000) },
	{ CMD_DURATION(top_opts, window_ns, "window", "DURATION", "start with the recent window of this length; 'a' switches to the last 10s", 1000000000, 0),
	  .def_text = "all samples" },
	{ CMD_OPT_SAMPLE_INDEX(top_opts, sample_index, "with PROFILE, the sample type to show") },
	{ 0 },
};

static int exec_top(int argc, char **argv);

const struct cmd_entry cmd_top = {
	.name = "top",
	.summary = "a live full-screen view of where a process spends CPU time",
	.args = "[PROFILE]",
	.trailing = "[-- CMD [ARG...]]",
	.description =
		"Samples a running process (--pid) or a command it starts (-- CMD) as cprof cpu does\n"
		"and shows, refreshed every --interval, a header (target, rate, samples, lost samples,\n"
		"threads, the target's CPU use) and a table of functions by self or total time, or a\n"
		"text flame view of the call tree (f) that zooms into a frame (Enter, Backspace).\n"
		"Also shows a saved pprof PROFILE. Keys: / filter, t thread, a window, s/c sort,\n"
		"p pause, r reset, w write a profile, ? help, q quit. q and Ctrl-C leave an attached\n"
		"process running as before; a command cprof started is ended.",
	.options = cmd_top_options,
	.complete_args = "file",
	.exec = exec_top,
};

/* The live session, shared by the sampler thread and the screen: everything
 * below the lock is the sampler's between fetches. */
struct top_live {
	struct target t;
	struct cpu_opts co;
	struct cpu *c;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	int64_t snap_every_ns, window_ns;
	int64_t last_cpu_ns, last_cpu_at; /* the screen's: for the CPU use */

	pthread_mutex_t lock;
	struct top_snapshot *snaps; /* oldest first */
	size_t nsnaps, snaps_cap;
	bool exited, failed;
	char errmsg[512];
};

/* Under the lock: a snapshot every snap_every_ns, and only as many as the
 * window needs (the newest one at least a window old, and those after it). */
static int take_snapshot(struct top_live *l, int64_t now)
{
	if (l->nsnaps && now - l->snaps[l->nsnaps - 1].when_ns < l->snap_every_ns)
		return 0;
	if (CP_GROW(l->snaps, l->snaps_cap, l->nsnaps + 1) < 0 ||
	    topview_snapshot(&l->snaps[l->nsnaps], cpu_profile_now(l->c), now) < 0)
		return -1;
	l->nsnaps++;
	while (l->nsnaps >= 2 && l->snaps[1].when_ns <= now - l->window_ns) {
		topview_snapshot_release(&l->snaps[0]);
		memmove(l->snaps, l->snaps + 1, --l->nsnaps * sizeof(*l->snaps));
	}
	return 0;
}

static void drop_snapshots(struct top_live *l)
{
	for (size_t i = 0; i < l->nsnaps; i++)
		topview_snapshot_release(&l->snaps[i]);
	l->nsnaps = 0;
}

/* Sampling never waits on drawing: this thread holds the lock only while it
 * adds what the kernel buffered, and the screen only while it copies. */
static void *sampler_main(void *arg)
{
	struct top_live *l = arg;
	bool done = false;

	while (!done && !atomic_load(&l->stop)) {
		int exited = cpu_wait(l->c, 100);
		pthread_mutex_lock(&l->lock);
		if (cpu_collect(l->c) < 0 || take_snapshot(l, clock_ns(CLOCK_MONOTONIC)) < 0) {
			l->failed = true;
			snprintf(l->errmsg, sizeof(l->errmsg), "%s", cp_errmsg());
		}
		l->exited = exited;
		done = l->failed || l->exited;
		pthread_mutex_unlock(&l->lock);
	}
	return NULL;
}

/* The newest snapshot at least a window old, or NULL when sampling is younger. */
static const struct top_snapshot *window_base(const struct top_live *l, int64_t now)
{
	const struct top_snapshot *base = NULL;

	for (size_t i = 0; i < l->nsnaps && l->snaps[i].when_ns <= now - l->window_ns; i++)
		base = &l->snaps[i];
	return base;
}

static void count_threads(struct top *t)
{
	pid_t *tids;
	ssize_t n = t->exited ? -1 : proc_tasks(t->pid, &tids);

	if (n >= 0)
		free(tids);
	t->threads_now = n;
}

static void cpu_use(struct top *t, struct top_live *l)
{
	int64_t at = clock_ns(CLOCK_MONOTONIC), cpu;

	/* Over half an interval at least, so a key that fetches early is no sample. */
	if (at - l->last_cpu_at < t->interval_ns / 2)
		return;
	cpu = t->exited ? -1 : proc_cpu_ns(t->pid);
	if (cpu >= 0 && l->last_cpu_ns >= 0)
		t->cpu_percent = 100.0 * (cpu - l->last_cpu_ns) / (at - l->last_cpu_at);
	else
		t->cpu_percent = -1;
	l->last_cpu_ns = cpu;
	l->last_cpu_at = at;
}

int top_fetch(struct top *t)
{
	struct top_live *l = t->live;
	const struct top_snapshot *base;
	struct cpu_stats st;
	struct profile *p;
	int64_t now = clock_ns(CLOCK_MONOTONIC);

	if (!l)
		return 0;
	pthread_mutex_lock(&l->lock);
	if (l->failed) {
		pthread_mutex_unlock(&l->lock);
		return cp_error("%s", l->errmsg);
	}
	base = t->recent ? window_base(l, now) : NULL;
	p = topview_copy(cpu_profile_now(l->c), base);
	st = *cpu_stats(l->c);
	t->shown_ns = base ? now - base->when_ns : st.elapsed_ns;
	t->exited = l->exited;
	if (t->exited)
		t->status = l->t.status;
	pthread_mutex_unlock(&l->lock);
	if (!p)
		return -1;
	profile_free(t->p);
	t->p = p;
	p->duration_nanos = t->shown_ns;
	p->time_nanos = clock_ns(CLOCK_REALTIME) - t->shown_ns;
	t->samples = st.samples;
	t->lost = st.lost;
	t->threads_seen = st.threads;
	t->elapsed_ns = st.elapsed_ns;
	count_threads(t);
	cpu_use(t, l);
	if (t->exited || !target_stopped(&l->t, t->stopped, sizeof(t->stopped)))
		t->stopped[0] = '\0';
	return 0;
}

int top_reset(struct top *t)
{
	struct top_live *l = t->live;
	int rc = 0;

	if (!l)
		return cp_error("a saved profile cannot be reset");
	pthread_mutex_lock(&l->lock);
	drop_snapshots(l);
	if (cpu_reset(l->c) < 0 || take_snapshot(l, clock_ns(CLOCK_MONOTONIC)) < 0)
		rc = -1;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int top_write(struct top *t, char *path, size_t n)
{
	char name[96], stamp[32], cwd[4096];
	time_t now = time(NULL);
	struct tm tm;
	int len;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	if (t->live)
		len = snprintf(name, sizeof(name), "cprof-top-%d-%s", (int)t->pid, stamp);
	else
		len = snprintf(name, sizeof(name), "cprof-top-%s", stamp);
	/* Two writes within a second get names of their own. */
	for (int i = 1; i < 100; i++) {
		if (i == 1)
			snprintf(name + len, sizeof(name) - len, ".pb.gz");
		else
			snprintf(name + len, sizeof(name) - len, "-%d.pb.gz", i);
		if (access(name, F_OK) < 0)
			break;
	}
	if (pprof_write(t->p, name) < 0)
		return -1;
	if (getcwd(cwd, sizeof(cwd)) && (size_t)snprintf(path, n, "%s/%s", cwd, name) < n)
		return 0;
	snprintf(path, n, "%s", name);
	return 0;
}

/* Start CMD with /dev/null for its standard input, output and error: it
 * must neither draw over the screen nor read its keys. */
static int launch_quietly(struct target *t, char **cmd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), saved[3], rc;

	if (null < 0)
		return cp_error("cannot open /dev/null: %s", strerror(errno));
	for (int fd = 0; fd < 3; fd++) {
		saved[fd] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		dup2(null, fd);
	}
	rc = target_launch(t, cmd);
	for (int fd = 0; fd < 3; fd++) {
		if (saved[fd] >= 0) {
			dup2(saved[fd], fd);
			close(saved[fd]);
		}
	}
	close(null);
	return rc;
}

static int live_start(struct top *t, struct top_live *l, const struct top_opts *o, char **cmd)
{
	sigset_t all, old;
	int rc;

	l->co = (struct cpu_opts){
		.frequency = o->frequency,
		.fp = o->fp,
		.stack_size = cpu_default_stack_size(o->frequency),
		.user_only = o->user_only,
	};
	l->c = cpu_start(&l->t, &l->co);
	if (!l->c)
		return -1;
	t->pid = l->t.pid;
	if (cmd) {
		size_t used = 0;
		for (char **a = cmd; *a && used + 1 < sizeof(t->command); a++)
			used += snprintf(t->command + used, sizeof(t->command) - used, "%s%s",
					 a == cmd ? "" : " ", *a);
	} else {
		proc_cmdline(t->pid, t->command, sizeof(t->command));
	}
	l->last_cpu_ns = proc_cpu_ns(t->pid);
	l->last_cpu_at = clock_ns(CLOCK_MONOTONIC);
	if (take_snapshot(l, clock_ns(CLOCK_MONOTONIC)) < 0)
		return -1;
	/* Signals go to the screen's thread, whose key wait they cut short; but
	 * not faults, whose handler must run where they happen (blocked, the
	 * kernel would kill cprof without it, leaving the terminal raw). */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&l->thread, NULL, sampler_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return cp_error("cannot start the sampling thread: %s", strerror(rc));
	l->running = true;
	return 0;
}

static void live_end(struct top_live *l)
{
	if (l->running) {
		atomic_store(&l->stop, true);
		pthread_join(l->thread, NULL);
	}
	cpu_free(l->c);
	if (l->t.launched)
		target_stop(&l->t, 1000);
	target_release(&l->t);
	drop_snapshots(l);
	free(l->snaps);
	pthread_mutex_destroy(&l->lock);
}

static int exec_top(int argc, char **argv)
{
	struct top_opts o = { 0 };
	struct top t = { .cpu_percent = -1, .threads_now = -1 };
	struct top_live l = { .t.pid = 0 };
	char **cmd = NULL;
	int ncmd = 0, rc = EXIT_ERROR;
	bool live = false;

	cmd_parse(&cmd_top, &argc, argv, &o, &cmd, &ncmd);
	if (argc > 1)
		cmd_usage_error(&cmd_top, "unexpected argument '%s' (one PROFILE at most)", argv[1]);
	if (argc + !!o.pid + !!ncmd == 0)
		cmd_usage_error(&cmd_top, "nothing to show: give --pid PID, -- CMD or a PROFILE");
	if (argc + !!o.pid + !!ncmd > 1)
		cmd_usage_error(&cmd_top, "give one of --pid, a command or a PROFILE");
	if (argc && (o.freq_set || o.unwind_set || o.window_ns || o.user_only))
		cmd_usage_error(&cmd_top, "--frequency, --unwind, --user-only and --window are for a "
					  "live target");
	if (!argc && o.sample_index)
		cmd_usage_error(&cmd_top, "--sample-index is for a PROFILE");
	if (!isatty(STDOUT_FILENO))
		die(EXIT_USAGE, "top needs a terminal; use 'cprof report' for a saved profile, or "
				"'cprof cpu' to record one");
	if (tui_check_terminal() < 0)
		die(EXIT_ERROR, "%s", cp_errmsg());

	t.interval_ns = o.interval_ns;
	t.frequency = o.frequency;
	t.fp = o.fp;
	t.recent = o.window_ns != 0;
	t.window_ns = o.window_ns ? o.window_ns : 10000000000LL;
	/* Before ncurses starts, or it installs handlers of its own that exit 1. */
	cmd_catch_signals();
	if (argc) {
		t.path = argv[0];
		t.p = pprof_read(argv[0]);
		if (!t.p)
			die(EXIT_ERROR, "%s", cp_errmsg());
		t.si = profile_sample_index(t.p, o.sample_index);
		if (t.si < 0) {
			error("%s", cp_errmsg());
			goto out;
		}
	} else {
		t.live = &l;
		t.si = 1; /* cpu/nanoseconds */
		l.window_ns = t.window_ns;
		l.snap_every_ns = t.window_ns / 20 < 1000000000 ? t.window_ns / 20 : 1000000000;
		pthread_mutex_init(&l.lock, NULL);
		live = true;
		if (o.pid && target_attach(&l.t, o.pid) < 0) {
			error("%s", cp_errmsg());
			goto out;
		}
		/* Symbolizing must not wait on the network while the screen waits. */
		unsetenv("DEBUGINFOD_URLS");
		if (ncmd && launch_quietly(&l.t, cmd) < 0) {
			error("%s", cp_errmsg());
			goto out;
		}
		t.launched = l.t.launched;
		if (live_start(&t, &l, &o, ncmd ? cmd : NULL) < 0) {
			error("%s", cp_errmsg());
			goto out;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (top_fetch(&t) < 0 || tui_start() < 0) {
		error("%s", cp_errmsg());
		goto out;
	}
	if (tui_run(&t) < 0) {
		/* The screen is gone: the message shows on the terminal as it was. */
		error("%s", cp_errmsg());
		goto out;
	}
	rc = EXIT_OK;
out:
	tui_end();
	if (live)
		live_end(&l);
	profile_free(t.p);
	return cmd_finish_stdout(rc);
}
