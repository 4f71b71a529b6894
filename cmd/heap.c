/* cprof heap: run a command with the sampling allocator library preloaded,
 * write a Go-style heap profile of it, and print where its memory is. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cmd.h"
#include "errmsg.h"
#include "fileio.h"
#include "heap.h"
#include "pprof.h"
#include "render.h"
#include "units.h"

struct heap_cmd_opts {
	long rate;
	int64_t duration_ns;
	const char *output;
	long top;
};

static const struct cmd_option cmd_heap_options[] = {
	{ CMD_INT(heap_cmd_opts, rate, "rate", "BYTES",
		  "sample an allocation every BYTES allocated on average", 1, 1LL << 40, HEAP_DEFAULT_RATE) },
	{ CMD_DURATION(heap_cmd_opts, duration_ns, "seconds", "N",
		       "stop after N seconds or a duration like 500ms, 5m", 1, 0),
	  .def_text = "when the command exits" },
	{ CMD_OPT_PROFILE_OUTPUT(heap_cmd_opts, output, "heap") },
	{ CMD_OPT_TOP(heap_cmd_opts, top, "functions in the printed summary of memory in use") },
	{ 0 },
};

static int exec_heap(int argc, char **argv);

const struct cmd_entry cmd_heap = {
	.name = "heap",
	.summary = "sample a command's heap allocations and write a pprof heap profile",
	.trailing = "-- CMD [ARG...]",
	.description =
		"Runs CMD with cprof's allocator library preloaded, which samples its allocations\n"
		"(malloc, calloc, realloc, the aligned ones, and C++ new through them): one every\n"
		"--rate bytes on average, with its stack, and the frees of those. Stops when CMD\n"
		"exits, after --seconds or on Ctrl-C (then CMD is ended with SIGTERM), and writes a\n"
		"pprof heap profile as Go's: alloc_objects, alloc_space, inuse_objects and\n"
		"inuse_space (the default), what is in use being what was not freed by the end.\n"
		"A program CMD execs is profiled in turn; programs it starts are not.",
	.options = cmd_heap_options,
	.exec = exec_heap,
};

/* $CPROF_HEAP_LIB, else the library next to this binary (the build tree),
 * else the installed one. */
static char *heap_library(void)
{
	const char *env = getenv("CPROF_HEAP_LIB");
	char self[PATH_MAX], *path, *slash;
	ssize_t n;

	if (env && *env)
		return xstrdup(env);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			path = xmalloc(PATH_MAX);
			snprintf(path, PATH_MAX, "%.*s/libcprof-heap.so", (int)(slash - self), self);
			if (access(path, R_OK) == 0)
				return path;
			free(path);
		}
	}
	return xstrdup(CPROF_PKGLIBDIR "/libcprof-heap.so");
}

struct heap_banner {
	const struct heap_cmd_opts *o;
	const struct target *t;
	char **cmd;
};

static void heap_started(void *ctx)
{
	const struct heap_banner *b = ctx;
	char rate[32], when[32];

	fprintf(stderr, "cprof: profiling the heap of %s (pid %d), a sample every %s allocated",
		b->cmd[0], b->t->pid, units_format(rate, sizeof(rate), b->o->rate, "bytes"));
	if (b->o->duration_ns)
		fprintf(stderr, " for %s",
			units_format(when, sizeof(when), b->o->duration_ns, "nanoseconds"));
	fprintf(stderr, "; Ctrl-C to stop\n");
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
		printf("Ended early: the command closed cprof's socket and ran on unprofiled\n");
	return 0;
}

static int exec_heap(int argc, char **argv)
{
	struct heap_cmd_opts o = { 0 };
	struct heap_opts ho;
	struct heap_stats st;
	struct target t;
	struct heap *h;
	struct profile *p;
	char **cmd = NULL, *output = NULL, *lib;
	int ncmd = 0, rc = EXIT_ERROR;

	cmd_parse(&cmd_heap, &argc, argv, &o, &cmd, &ncmd);
	if (argc > 0)
		cmd_usage_error(&cmd_heap, "unexpected argument '%s' (a command goes after --)", argv[0]);
	if (!ncmd)
		cmd_usage_error(&cmd_heap, "nothing to profile: give -- CMD");
	if (o.output)
		cmd_check_writable(o.output);
	lib = heap_library();
	unsetenv("DEBUGINFOD_URLS");
	ho = (struct heap_opts){
		.rate = o.rate,
		.duration_ns = o.duration_ns,
		.preload = lib,
		.stop = &cmd_stop,
		.started = heap_started,
		.ctx = &(struct heap_banner){ &o, &t, cmd },
	};
	if (!(h = heap_launch(&t, cmd, &ho))) {
		free(lib);
		die(EXIT_ERROR, "%s", cp_errmsg());
	}
	/* After the launch: the command must not inherit cprof's ignored SIGPIPE. */
	cmd_catch_signals();
	output = cmd_output_path("heap", o.output, &t);
	if (!output)
		goto out;
	p = heap_run(h, &st);
	if (!st.target_exited)
		target_stop(&t, 1000);
	else
		target_check_exit(&t);
	if (cmd_write_profile(p, output) < 0)
		goto out_profile;
	if (heap_print_summary(p, &st, o.top) < 0)
		goto out_profile;
	if (t.exited)
		cmd_print_exit_status(t.status);
	printf("Wrote %s\n", cmd_output_name(output));
	rc = EXIT_OK;
out_profile:
	profile_free(p);
out:
	heap_free(h);
	target_release(&t);
	free(output);
	free(lib);
	return cmd_finish_stdout(rc);
}
