/* cprof top: its options, and the live session (lib/live.c) or the saved
 * profile it hands to the screen (tui.c), which refreshes and draws it. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "errmsg.h"
#include "heap.h"
#include "live.h"
#include "pprof.h"
#include "store.h"
#include "tui.h"

struct top_opts {
	pid_t pid;
	bool heap;
	long rate;
	const char *rate_set;
	unsigned frequency;
	bool fp, user_only;
	const char *freq_set, *unwind_set; /* as given */
	int64_t interval_ns, window_ns;
	const char *sample_index;
	struct cmd_store_sel sel;
};

static const struct cmd_option cmd_top_options[] = {
	{ CMD_OPT_PID(top_opts, pid) },
	{ CMD_OPT_FREQUENCY(top_opts, frequency), CMD_GIVEN(top_opts, freq_set) },
	{ CMD_OPT_UNWIND(top_opts, fp), CMD_GIVEN(top_opts, unwind_set) },
	{ CMD_OPT_USER_ONLY(top_opts, user_only) },
	{ CMD_FLAG(top_opts, heap, "heap", "the heap, as cprof heap samples it, not the CPU") },
	{ CMD_INT(top_opts, rate, "rate", "BYTES", "with --heap, a sample every BYTES allocated on average",
		  1, 1LL << 40, HEAP_DEFAULT_RATE), CMD_GIVEN(top_opts, rate_set) },
	{ CMD_DURATION(top_opts, interval_ns, "interval", "DURATION", "refresh the screen every DURATION, like 500ms or 2s", 100000000, 1000000000) },
	{ CMD_DURATION(top_opts, window_ns, "window", "DURATION", "start with the recent window of this length; 'a' switches to the last 10s", 1000000000, 0),
	  .def_text = "all samples" },
	{ CMD_OPT_SAMPLE_INDEX(top_opts, sample_index, "with PROFILE or --store, the sample type "
			       "to show") },
	CMD_OPT_STORE_ROWS(top_opts, sel),
	{ 0 },
};

static int cmd_top_exec(int argc, char **argv);

const struct cmd_entry cmd_top = {
	.name = "top",
	.summary = "a live full-screen view of where a process spends CPU time or memory",
	.args = "[PROFILE]",
	.trailing = "[-- CMD [ARG...]]",
	.description =
		"Samples a running process (--pid) or a command it starts (-- CMD) as cprof cpu does\n"
		"and shows, refreshed every --interval, a header (target, rate, samples, lost samples,\n"
		"threads, the target's CPU use) and a table of functions by self or total time, or a\n"
		"text flame view of the call tree (f) that zooms into a frame (Enter, Backspace).\n"
		"With --heap, samples the process's heap as cprof heap does instead, and shows\n"
		"memory in use (i: allocated, objects). Also shows a saved pprof PROFILE, or a\n"
		"range of cprof record's store (--store, selected as cprof report does): the whole\n"
		"range merged, and with ] and [ each window of it in turn, a replay.\n"
		"Keys: / filter, t thread, a window, s/c sort, i type, p pause, r reset, w write\n"
		"a profile, ? help, q quit. q and Ctrl-C leave an attached process running as\n"
		"before; a command cprof started is ended.",
	.options = cmd_top_options,
	.complete_args = "file",
	.exec = cmd_top_exec,
};

/* The usage errors no option alone can see. */
static void top_check_usage(int argc, char **argv, const struct top_opts *o, int ncmd)
{
	if (argc > 1)
		cmd_usage_error(&cmd_top, "unexpected argument '%s' (one PROFILE at most)", argv[1]);
	int saved = argc + !!o->sel.store;

	cmd_check_store_sel(&cmd_top, &o->sel);
	if (saved + !!o->pid + !!ncmd == 0)
		cmd_usage_error(&cmd_top, "nothing to show: give --pid PID, -- CMD, a PROFILE or "
					  "--store DIR");
	if (saved + !!o->pid + !!ncmd > 1)
		cmd_usage_error(&cmd_top, "give one of --pid, a command, a PROFILE or --store");
	if (saved && (o->freq_set || o->unwind_set || o->window_ns || o->user_only || o->heap))
		cmd_usage_error(&cmd_top, "--frequency, --unwind, --user-only, --window and --heap are "
					  "for a live target");
	if (o->heap && (o->freq_set || o->unwind_set || o->user_only))
		cmd_usage_error(&cmd_top, "--frequency, --unwind and --user-only are for the CPU, not "
					  "--heap");
	if (o->rate_set && !o->heap)
		cmd_usage_error(&cmd_top, "--rate is for --heap");
	if (!saved && o->sample_index)
		cmd_usage_error(&cmd_top, "--sample-index is for a PROFILE or --store");
	if (!isatty(STDOUT_FILENO))
		die(EXIT_USAGE, "top needs a terminal; use 'cprof report' for a saved profile, or "
				"'cprof cpu' to record one");
}

/* A store range's slots into SRC: from each window not yet in a slot, the
 * windows that begin before it ends (those of other processes alongside).
 * Returns 0, or -1 with an error. */
static int top_store_slots(struct tui_source *src)
{
	struct store_window *ws;
	size_t n;

	if (store_windows(src->store, &src->sel, &ws, &n) < 0)
		return -1;
	src->slots = calloc(n ? n : 1, sizeof(*src->slots));
	if (!src->slots) {
		free(ws);
		return cp_error("out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		struct tui_slot *last = src->nslots ? &src->slots[src->nslots - 1] : NULL;

		if (last && ws[i].start_ns < last->to_ns)
			continue;
		src->slots[src->nslots] = (struct tui_slot){
			ws[i].start_ns, ws[i].start_ns + (ws[i].duration_ns ? ws[i].duration_ns : 1) };
		/* Not past the range asked for, which the whole range leaves out. */
		if (src->sel.to_ns && src->slots[src->nslots].to_ns > src->sel.to_ns)
			src->slots[src->nslots].to_ns = src->sel.to_ns;
		src->nslots++;
	}
	free(ws);
	return 0;
}

/* A store range: the whole of it into SRC (its title into TITLE, N bytes),
 * and its slots. Returns 0 or -1 with an error. */
static int top_store(struct tui_source *src, const struct top_opts *o, char *title, size_t n)
{
	size_t count;

	src->store = o->sel.store;
	cmd_store_select(&o->sel, &src->sel);
	src->saved = store_read(src->store, &src->sel, &count);
	if (!src->saved || top_store_slots(src) < 0)
		return -1;
	cmd_store_desc(src->saved, count, title, n);
	src->path = title;
	src->si = profile_sample_index(src->saved, o->sample_index);
	return src->si < 0 ? -1 : 0;
}

/* What the screen shows: the saved profile PATH, or a live session on
 * O->pid or CMD. Returns 0 or -1 with an error. */
static int top_source(struct tui_source *src, const struct top_opts *o, const char *path,
		      char **cmd)
{
	struct live_opts lo = {
		.pid = o->pid,
		.cmd = cmd,
		.quiet = true,
		.frequency = o->frequency,
		.fp = o->fp,
		.user_only = o->user_only,
		.window_ns = src->window_ns,
		.heap = o->heap,
		.rate = (uint64_t)o->rate,
		.heap_lib = src->heap_lib,
	};

	static char title[160];

	if (o->sel.store)
		return top_store(src, o, title, sizeof(title));
	if (path) {
		src->path = path;
		src->saved = cmd_read_profile(path);
		if (!src->saved)
			cmd_lib_die();
		src->si = profile_sample_index(src->saved, o->sample_index);
		return src->si < 0 ? -1 : 0;
	}
	src->si = o->heap ? 3 : 1; /* inuse_space, cpu/nanoseconds */
	/* Symbolizing must not wait on the network while the screen waits. */
	unsetenv("DEBUGINFOD_URLS");
	src->live = live_start(&lo);
	return src->live ? 0 : -1;
}

static int cmd_top_exec(int argc, char **argv)
{
	struct top_opts o = { 0 };
	struct tui_source src = { 0 };
	struct tui *u = NULL;
	char **cmd = NULL;
	int ncmd = 0, rc = EXIT_ERROR;

	cmd_parse(&cmd_top, &argc, argv, &o, &cmd, &ncmd);
	top_check_usage(argc, argv, &o, ncmd);
	if (tui_check_terminal() < 0)
		cmd_lib_die();

	src.interval_ns = o.interval_ns;
	src.frequency = o.frequency;
	src.fp = o.fp;
	src.recent = o.window_ns != 0;
	src.window_ns = o.window_ns ? o.window_ns : 10000000000LL;
	src.heap = o.heap;
	src.rate = (uint64_t)o.rate;
	if (o.heap)
		src.heap_lib = cmd_heap_library();
	/* Before ncurses starts, or it installs handlers of its own that exit 1. */
	cmd_catch_signals();
	if (top_source(&src, &o, argc ? argv[0] : NULL, ncmd ? cmd : NULL) < 0) {
		cmd_lib_error();
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	u = tui_new(&src);
	src.saved = NULL; /* the screen's now */
	if (!u || tui_start() < 0) {
		cmd_lib_error();
		goto out;
	}
	if (tui_run(u) < 0) {
		/* The screen is gone: the message shows on the terminal as it was. */
		cmd_lib_error();
		goto out;
	}
	rc = EXIT_OK;
out:
	tui_end();
	tui_free(u);
	live_end(src.live);
	free(src.heap_lib);
	free(src.slots);
	cmd_store_sel_release(&o.sel);
	profile_free(src.saved);
	return cmd_finish_stdout(rc);
}
