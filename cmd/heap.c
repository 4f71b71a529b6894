/* cprof heap: run a command with the sampling allocator library preloaded,
 * write a Go-style heap profile of it, and print where its memory is. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cmd.h"
#include "errmsg.h"
#include "fileio.h"
#include "heap.h"
#include "pprof.h"
#include "proc.h"
#include "render.h"
#include "units.h"

struct heap_cmd_opts {
	pid_t pid;
	long rate;
	int64_t duration_ns;
	const char *duration_given;
	const char *output;
	long top;
	int64_t watch_ns, interval_ns;
	const char *watch, *interval; /* as given */
	const char *output_dir;
};

static const struct cmd_option cmd_heap_options[] = {
	{ CMD_OPT_PID(heap_cmd_opts, pid) },
	{ CMD_INT(heap_cmd_opts, rate, "rate", "BYTES",
		  "sample an allocation every BYTES allocated on average", 1, 1LL << 40, HEAP_DEFAULT_RATE) },
	{ CMD_OPT_SECONDS(heap_cmd_opts, duration_ns), CMD_GIVEN(heap_cmd_opts, duration_given) },
	{ CMD_OPT_PROFILE_OUTPUT(heap_cmd_opts, output, "heap") },
	{ CMD_OPT_TOP(heap_cmd_opts, top, "functions in the printed summary of memory in use") },
	{ CMD_DURATION(heap_cmd_opts, watch_ns, "watch", "DURATION",
		       "poll what is in use for DURATION (e.g. 60s, 5m) and report the stacks that grow", 0, 0),
	  CMD_GIVEN(heap_cmd_opts, watch) },
	{ CMD_DURATION(heap_cmd_opts, interval_ns, "interval", "DURATION",
		       "time between polls with --watch", 1, 5000000000LL),
	  CMD_GIVEN(heap_cmd_opts, interval) },
	{ CMD_STRING(heap_cmd_opts, output_dir, "output-dir", "DIR",
		     "with --watch, write each poll's profile in DIR"), .complete = "file" },
	{ 0 },
};

static int cmd_heap_exec(int argc, char **argv);

const struct cmd_entry cmd_heap = {
	.name = "heap",
	.summary = "sample a process's heap allocations and write a pprof heap profile",
	.trailing = "[-- CMD [ARG...]]",
	.description =
		"Runs CMD with cprof's allocator library preloaded, or loads it into the running\n"
		"process PID (through ptrace, one thread held for milliseconds, the others running\n"
		"on). The library samples allocations (malloc, calloc, realloc, the aligned ones,\n"
		"and C++ new through them): one every --rate bytes on average, with its stack, and\n"
		"the frees of those. Stops when the process exits, after --seconds or on Ctrl-C (a\n"
		"command is then ended with SIGTERM; a process attached to runs on, its allocator\n"
		"calls passing straight through again), and writes a pprof heap profile as Go's:\n"
		"alloc_objects, alloc_space, inuse_objects and inuse_space (the default), what is in\n"
		"use being what was not freed by the end (of a process attached to, what it\n"
		"allocated since). A program CMD execs is profiled in turn; programs it starts are\n"
		"not. With --watch, polls what is in use every --interval, and reports the\n"
		"allocation stacks whose in-use bytes grew steadily as leak suspects (exit status 3).",
	.options = cmd_heap_options,
	.exec = cmd_heap_exec,
};

#define HEAP_VERDICT_FRAMES 6

struct heap_banner {
	const struct heap_cmd_opts *o;
	const struct target *t;
	char **cmd;
	struct heap_watch *w;
};

static void heap_started(void *ctx)
{
	const struct heap_banner *b = ctx;
	char rate[32], when[32];

	if (b->o->pid) {
		char line[256];
		proc_cmdline(b->t->pid, line, sizeof(line));
		fprintf(stderr, "cprof: profiling the heap of process %d (%s), a sample every %s "
			"allocated", b->t->pid, line, units_format(rate, sizeof(rate), b->o->rate, "bytes"));
	} else {
		fprintf(stderr, "cprof: profiling the heap of %s (pid %d), a sample every %s allocated",
			b->cmd[0], b->t->pid, units_format(rate, sizeof(rate), b->o->rate, "bytes"));
	}
	if (b->o->duration_ns || b->o->watch_ns)
		fprintf(stderr, " for %s", units_format(when, sizeof(when),
							b->o->duration_ns + b->o->watch_ns, "nanoseconds"));
	fprintf(stderr, "; Ctrl-C to stop\n");
}

/* How the library went in and out of a process attached to. */
static void heap_print_attach(const struct heap_stats *st)
{
	char a[32], b[32];

	printf("Attached: only allocations made since are seen; ");
	if (st->preloaded)
		printf("the library was preloaded already");
	else
		printf("%lld allocator references rerouted through the library, passing calls on "
		       "to %s", (long long)st->rerouted, st->allocator);
	printf("\nLoad: %s, thread %d held %s, no other thread stopped\n",
	       units_format(a, sizeof(a), st->load_ns, "nanoseconds"), (int)st->held_tid,
	       units_format(b, sizeof(b), st->load_held_ns, "nanoseconds"));
	if (st->target_exited || st->detached)
		return;
	if (st->unload_error[0])
		printf("Detach: %s; the library stops sampling and puts the references back at its "
		       "next sampled allocation\n", st->unload_error);
	else
		printf("Detach: %s, a thread held %s; %lld references put back, the process runs on "
		       "as before\n", units_format(a, sizeof(a), st->unload_ns, "nanoseconds"),
		       units_format(b, sizeof(b), st->unload_held_ns, "nanoseconds"),
		       (long long)st->restored);
}

static int heap_print_summary(struct profile *p, const struct heap_stats *st, long top)
{
	char inuse[32], alloc[32], when[32];
	int64_t objs[4];
	struct stackset ss;

	for (int i = 0; i < 4; i++)
		objs[i] = profile_total(p, i);
	if (top && objs[3] > 0) {
		bool failed = stackset_init(&ss, p, 3, NULL) < 0;

		if (!failed) {
			failed = render_top(stdout, &ss, top) < 0;
			stackset_release(&ss);
		}
		if (failed)
			return cmd_lib_error();
	}
	printf("In use: %s in %lld objects; allocated: %s in %lld objects (estimated from "
	       "%llu samples, %llu of them freed)\n",
	       units_format(inuse, sizeof(inuse), objs[3], "bytes"), (long long)objs[2],
	       units_format(alloc, sizeof(alloc), objs[1], "bytes"), (long long)objs[0],
	       (unsigned long long)st->allocs, (unsigned long long)st->frees);
	printf("Threads: %llu, duration: %s%s\n", (unsigned long long)st->threads,
	       units_format(when, sizeof(when), st->elapsed_ns, "nanoseconds"),
	       st->stopped ? " (stopped by signal)" : "");
	if (st->lost)
		printf("Lost samples: %llu: the library's table of live samples was full; raise "
		       "--rate\n", (unsigned long long)st->lost);
	if (st->execs)
		printf("Exec'ed: %llu times; what is in use is the last program's, what was "
		       "allocated all of theirs\n", (unsigned long long)st->execs);
	if (st->detached)
		printf("Ended early: the %s closed cprof's socket and ran on unprofiled\n",
		       st->attached ? "process" : "command");
	if (st->attached)
		heap_print_attach(st);
	return 0;
}

/* --watch's options: as cprof threads checks them, and --output-dir a
 * writable directory, before the command runs. */
static void heap_check_watch(const struct heap_cmd_opts *o)
{
	struct stat sb;

	cmd_check_watch(&cmd_heap, o->watch_ns, o->interval_ns, o->watch, o->interval, "");
	if (o->output_dir && !o->watch_ns)
		cmd_usage_error(&cmd_heap, "--output-dir holds the profiles of --watch's polls: "
				"give --watch too, or -o FILE for one profile");
	if (o->watch_ns && o->duration_given)
		cmd_usage_error(&cmd_heap, "--seconds and --watch both set how long to run: give one");
	if (!o->output_dir)
		return;
	if (stat(o->output_dir, &sb) < 0)
		die(EXIT_ERROR, "cannot use --output-dir %s: %s", o->output_dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		die(EXIT_ERROR, "--output-dir %s is not a directory: give a directory", o->output_dir);
	if (access(o->output_dir, W_OK | X_OK) < 0)
		die(EXIT_ERROR, "cannot write in --output-dir %s: %s", o->output_dir, strerror(errno));
}

struct heap_watch {
	const struct heap_cmd_opts *o;
	const struct target *t;
	double prev;
	size_t n;
};

/* A poll's line, and its profile in --output-dir. */
static int heap_on_poll(void *ctx, struct heap *h, const struct heap_poll *s)
{
	struct heap_watch *w = ((struct heap_banner *)ctx)->w;
	char when[32], bytes[32], change[32] = "", path[PATH_MAX];
	time_t now = s->time_ns / 1000000000;
	struct profile *p;
	struct tm tm;
	int rc;

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (w->n)
		snprintf(change, sizeof(change), "%s%s", s->inuse_bytes >= w->prev ? "+" : "-",
			 units_format(bytes, sizeof(bytes), llabs(llround(s->inuse_bytes - w->prev)),
				      "bytes"));
	printf("%s  in use %10s in %8lld objects  %s\n", when,
	       units_format(bytes, sizeof(bytes), llround(s->inuse_bytes), "bytes"),
	       (long long)llround(s->inuse_objects), change);
	fflush(stdout);
	w->prev = s->inuse_bytes;
	w->n++;
	if (!w->o->output_dir)
		return 0;
	strftime(when, sizeof(when), "%Y%m%d-%H%M%S", &tm);
	snprintf(path, sizeof(path), "%s/cprof-heap-%d-%zu-%s.pb.gz", w->o->output_dir,
		 (int)w->t->pid, w->n, when);
	if (!(p = heap_snapshot(h)))
		return -1;
	rc = pprof_write(p, path);
	profile_free(p);
	return rc;
}

struct heap_verdict {
	const struct profile *p;
	size_t frames;
};

static void heap_print_frame(const char *label, void *ctx)
{
	struct heap_verdict *v = ctx;

	if (v->frames++ < HEAP_VERDICT_FRAMES)
		printf("    %s\n", label);
}

static void heap_print_suspect(const uint64_t *locs, size_t nlocs, double start, double end,
			       double per_minute, void *ctx)
{
	struct heap_verdict *v = ctx;
	char a[32], b[32], c[32];

	printf("\n%s -> %s (+%s per minute)\n", units_format(a, sizeof(a), llround(start), "bytes"),
	       units_format(b, sizeof(b), llround(end), "bytes"),
	       units_format(c, sizeof(c), llround(per_minute), "bytes"));
	v->frames = 0;
	for (size_t i = 0; i < nlocs; i++)
		render_location_frames(v->p, locs[i], heap_print_frame, v);
}

/* The verdict after --watch; whether there are suspects. */
static bool heap_print_verdict(struct heap *h, const struct profile *p)
{
	struct heap_verdict v = { p, 0 };
	size_t n = heap_polls(h);

	if (heap_suspects(h, NULL, NULL)) {
		printf("\nLeak suspects: allocation stacks whose in-use bytes grew steadily over %zu "
		       "polls (see cprof-heap(1) for the rule):\n", n);
		heap_suspects(h, heap_print_suspect, &v);
		printf("\n");
		return true;
	}
	printf("No leak suspects: no allocation stack's in-use bytes grew steadily over %zu polls%s.\n",
	       n, n < HEAP_MIN_POLLS ? " (too few to tell)" : "");
	return false;
}

/* The options and the command after "--"; exits 2 on bad usage. */
static void cmd_heap_parse(int argc, char **argv, struct heap_cmd_opts *o, char ***cmd, int *ncmd)
{
	cmd_parse(&cmd_heap, &argc, argv, o, cmd, ncmd);
	cmd_check_target(&cmd_heap, argc, argv, o->pid, *ncmd);
	/* A command runs until it exits; --watch says how long itself. */
	if (!o->duration_given && (*ncmd || o->watch_ns))
		o->duration_ns = 0;
	heap_check_watch(o);
}

/* The session: a command launched with the library, or the library loaded
 * into the running process; exits 1 when neither can be. */
static struct heap *cmd_heap_start(const struct heap_cmd_opts *o, struct target *t, char **cmd,
				   const struct heap_opts *ho, char *lib)
{
	char why[256];
	struct heap *h;

	if (!o->pid) {
		if (!(h = heap_launch(t, cmd, ho))) {
			free(lib);
			cmd_lib_die();
		}
		return h;
	}
	if (target_attach(t, o->pid) < 0 || target_check_access(t, "trace") < 0) {
		free(lib);
		cmd_lib_die();
	}
	if (target_stopped(t, why, sizeof(why))) {
		free(lib);
		die(EXIT_ERROR, "%s; cprof heap needs it running to load its library, and leaves it "
		    "stopped", why);
	}
	if (!(h = heap_attach(t, ho))) {
		if (cp_errno() == EPERM)
			target_permission_error(t, EPERM, "trace");
		free(lib);
		cmd_lib_die();
	}
	return h;
}

static int cmd_heap_exec(int argc, char **argv)
{
	struct heap_cmd_opts o = { 0 };
	struct heap_opts ho;
	struct heap_stats st;
	struct target t;
	struct heap *h;
	struct profile *p;
	char **cmd = NULL, *output = NULL, *lib;
	int ncmd = 0, rc = EXIT_ERROR;
	struct heap_watch w = { &o, &t, 0, 0 };
	bool leak = false;

	cmd_heap_parse(argc, argv, &o, &cmd, &ncmd);
	if (o.output)
		cmd_check_writable(o.output);
	lib = cmd_heap_library();
	unsetenv("DEBUGINFOD_URLS");
	ho = (struct heap_opts){
		.rate = o.rate,
		.duration_ns = o.duration_ns + o.watch_ns,
		.preload = lib,
		.stop = &cmd_stop,
		.started = heap_started,
		.ctx = &(struct heap_banner){ &o, &t, cmd, &w },
		.interval_ns = o.watch_ns ? o.interval_ns : 0,
		.poll = heap_on_poll,
	};
	/* Before a load into a process, which Ctrl-C must not cut short; after a
	 * launch, as the command must not inherit cprof's ignored SIGPIPE. */
	if (o.pid)
		cmd_catch_signals();
	h = cmd_heap_start(&o, &t, cmd, &ho, lib);
	cmd_catch_signals();
	output = cmd_output_path("heap", ".pb.gz", o.output, &t);
	if (!output)
		goto out;
	p = heap_run(h, &st);
	if (t.launched && !st.target_exited)
		target_stop(&t, 1000);
	else if (t.launched)
		target_check_exit(&t);
	if (cmd_write_profile(p, output) < 0)
		goto out_profile;
	if (heap_print_summary(p, &st, o.top) < 0)
		goto out_profile;
	if (o.watch_ns)
		leak = heap_print_verdict(h, p);
	if (t.launched && t.exited)
		cmd_print_exit_status(t.status);
	else if (st.target_exited)
		printf("Process %d exited\n", (int)t.pid);
	printf("Wrote %s\n", cmd_output_name(output));
	rc = leak ? EXIT_LEAK : EXIT_OK;
out_profile:
	profile_free(p);
out:
	heap_free(h);
	target_release(&t);
	free(output);
	free(lib);
	return cmd_finish_stdout(rc);
}
