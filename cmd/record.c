/* cprof record: continuous CPU profiling of processes into a local store,
 * window after window with no gap between them, until stopped. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "clock.h"
#include "cmd.h"
#include "cpu.h"
#include "errmsg.h"
#include "fileio.h"
#include "grow.h"
#include "heap.h"
#include "hmap.h"
#include "live.h"
#include "pprof.h"
#include "proc.h"
#include "push.h"
#include "store.h"
#include "units.h"

struct record_opts {
	struct cmd_list pids, tags, push, push_headers;
	const char *name;
	int64_t every_ns, retain_ns;
	uint64_t max_size;
	const char *store;
	unsigned frequency;
	bool fp, user_only, heap;
	uint32_t stack_size;
	long rate;
	const char *rate_given;
	int mode;               /* an index of record_kinds */
	int max_rate;
	const char *max_rate_given, *frequency_given;
};

/* --mode's words, which name the windows' kind in the store too; each
 * mode; and its windows as the first line says them. */
static const char *const record_kinds[] = { "cpu", "wall", "offcpu" };
static const enum cpu_mode record_modes[] = { CPU_MODE_CPU, CPU_MODE_WALL, CPU_MODE_OFF };
static const char *const record_windows[] = { "a window", "a wall window", "an offcpu window" };

static void cmd_record_set_size(const struct cmd_entry *cmd, const struct cmd_option *o,
				const char *value, void *field);
static void cmd_record_set_retain(const struct cmd_entry *cmd, const struct cmd_option *o,
				  const char *value, void *field);

/* The retention bounds' defaults, as --help shows them and as parsed. */
#define RECORD_RETAIN "24h"
#define RECORD_MAX_SIZE "1G"
static void cmd_record_add_url(const struct cmd_entry *cmd, const struct cmd_option *o,
				  const char *value, void *field);
static void cmd_record_add_header(const struct cmd_entry *cmd, const struct cmd_option *o,
				  const char *value, void *field);

static const struct cmd_option cmd_record_options[] = {
	{ CMD_CALLBACK(record_opts, pids, "pid", "PID", "record process PID (repeat for more)",
		       cmd_add_pid), .short_name = 'p', .complete = "pid", .repeats = true },
	{ CMD_STRING(record_opts, name, "name", "REGEX", "record every process whose name (as "
		     "ps -o comm shows it) matches the extended regex REGEX, those that start "
		     "later too, until stopped") },
	{ CMD_DURATION(record_opts, every_ns, "every", "DURATION",
		       "the length of each window", 100000000LL, 10000000000LL) },
	{ CMD_STRING(record_opts, store, "store", "DIR", "the store to write the windows into"),
	  .complete = "file",
	  .def_text = "$XDG_STATE_HOME/cprof, else ~/.local/state/cprof; /var/lib/cprof for root" },
	{ CMD_CALLBACK(record_opts, retain_ns, "retain", "DURATION",
		       "remove windows older than DURATION, 0 to keep them", cmd_record_set_retain),
	  .def_text = RECORD_RETAIN },
	{ CMD_CALLBACK(record_opts, max_size, "max-size", "SIZE",
		       "remove the oldest windows while the store holds more than SIZE bytes "
		       "(K, M, G suffixes: powers of 1024), 0 for no bound", cmd_record_set_size),
	  .def_text = RECORD_MAX_SIZE },
	{ CMD_CALLBACK(record_opts, tags, "tag", "K=V", "tag every window (repeat for more), "
		       "e.g. version=1.4.2", cmd_add_tag), .repeats = true },
	{ CMD_CHOICE(record_opts, mode, "mode", "cpu|wall|offcpu", "cpu: time on CPU, as cprof "
		     "cpu; wall: on CPU and off it, as cprof cpu --mode wall; offcpu: where threads "
		     "wait, as cprof offcpu. The windows' kind in the store", 0) },
	{ CMD_OPT_FREQUENCY(record_opts, frequency), CMD_GIVEN(record_opts, frequency_given) },
	{ CMD_OPT_MAX_RATE(record_opts, max_rate), .def_text = "10000; with --mode wall or offcpu",
	  CMD_GIVEN(record_opts, max_rate_given) },
	{ CMD_OPT_UNWIND(record_opts, fp) },
	{ CMD_OPT_STACK_SIZE(record_opts, stack_size) },
	{ CMD_OPT_USER_ONLY(record_opts, user_only) },
	{ CMD_FLAG(record_opts, heap, "heap", "sample each process's heap too, as cprof heap "
		   "does, and write a heap window (memory in use, and allocated in the window) "
		   "beside each CPU window") },
	{ CMD_INT(record_opts, rate, "rate", "BYTES", "with --heap, sample an allocation every "
		  "BYTES allocated on average", 1, 1LL << 40, HEAP_DEFAULT_RATE),
	  CMD_GIVEN(record_opts, rate_given) },
	{ CMD_CALLBACK(record_opts, push, "push", "URL", "also push each window to the Pyroscope "
		       "server at URL (repeat for more)", cmd_record_add_url), .repeats = true },
	{ CMD_CALLBACK(record_opts, push_headers, "push-header", "'NAME: VALUE'",
		       "send this header with each push, e.g. X-Scope-OrgID or Authorization "
		       "(repeat for more)", cmd_record_add_header), .repeats = true },
	{ 0 },
};

static int cmd_record_exec(int argc, char **argv);

const struct cmd_entry cmd_record = {
	.name = "record",
	.summary = "profile processes continuously into a local store, window by window",
	.trailing = "[-- CMD [ARG...]]",
	.description =
		"Samples the CPU of each --pid process, of each process whose name matches --name\n"
		"(checked every second, so processes that start later are recorded too), or of CMD,\n"
		"as cprof cpu does (or, with --mode, its wall-clock time as cpu --mode wall does, or\n"
		"where its threads wait as cprof offcpu does), without a stop: every --every, the\n"
		"window so far is written to\n"
		"the store as a gzipped pprof file while sampling goes on into the next, so no sample\n"
		"falls between windows. Each window's comments hold the process's thread count at its\n"
		"end (threads=N; go tool pprof -comments, cprof report --comments). Windows are named\n"
		"by time (UTC), process name, pid and tags, each written whole or not at all; the\n"
		"oldest are removed past --retain and --max-size. A process that exits has its last\n"
		"window written. Runs until every process has exited (never with --name), or SIGTERM\n"
		"or Ctrl-C, which end the current windows early and write them. Each hour a line on\n"
		"standard error says what was written and cprof's own CPU and memory.",
	.options = cmd_record_options,
	.exec = cmd_record_exec,
};

static void cmd_record_add_url(const struct cmd_entry *cmd, const struct cmd_option *o,
				  const char *value, void *field)
{
	struct cmd_list *l = field;
	char *v;

	if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
		cmd_usage_error(cmd, "bad --%s '%s': an http:// or https:// URL", o->name, value);
	/* A server given twice is pushed to once (its cursor is named by its URL). */
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(((char **)l->v)[i], value) == 0)
			return;
	v = xstrdup(value);
	cmd_list_append(field, &v, sizeof(v));
}

static void cmd_record_add_header(const struct cmd_entry *cmd, const struct cmd_option *o,
				  const char *value, void *field)
{
	const char *colon = strchr(value, ':');
	char *v;

	if (!colon || colon == value || strpbrk(value, "\r\n"))
		cmd_usage_error(cmd, "bad --%s '%s': give 'Name: value'", o->name, value);
	v = xstrdup(value);
	cmd_list_append(field, &v, sizeof(v));
}

static void cmd_record_set_retain(const struct cmd_entry *cmd, const struct cmd_option *o,
				  const char *value, void *field)
{
	*(int64_t *)field = strcmp(value, "0") == 0 ? 0 : cmd_parse_duration(cmd, o->name, value);
}

static void cmd_record_set_size(const struct cmd_entry *cmd, const struct cmd_option *o,
				const char *value, void *field)
{
	char *end;
	double v = strtod(value, &end);
	uint64_t mult = 1;

	switch (*end) {
	case 'k': case 'K': mult = 1ULL << 10; end++; break;
	case 'm': case 'M': mult = 1ULL << 20; end++; break;
	case 'g': case 'G': mult = 1ULL << 30; end++; break;
	case 't': case 'T': mult = 1ULL << 40; end++; break;
	default: break;
	}
	if (*end == 'i')
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (end == value || *end || !(v >= 0) || v * (double)mult > 1e18)
		cmd_usage_error(cmd, "bad --%s '%s': bytes, e.g. 500M or 1G", o->name, value);
	*(uint64_t *)field = (uint64_t)(v * (double)mult);
}

/* The default store: $XDG_STATE_HOME/cprof, ~/.local/state/cprof, or /var/lib/cprof for root. */
static char *cmd_record_default_store(void)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *path;

	if (geteuid() == 0)
		return xstrdup("/var/lib/cprof");
	if (xdg && xdg[0] == '/') {
		path = xmalloc(strlen(xdg) + sizeof("/cprof"));
		sprintf(path, "%s/cprof", xdg);
		return path;
	}
	if (!home || home[0] != '/')
		die(EXIT_USAGE, "no HOME to keep the store under: give --store DIR");
	/* ~/.local/state may not exist yet. */
	path = xmalloc(strlen(home) + sizeof("/.local/state/cprof"));
	sprintf(path, "%s/.local", home);
	mkdir(path, 0700);
	sprintf(path, "%s/.local/state", home);
	mkdir(path, 0700);
	sprintf(path, "%s/.local/state/cprof", home);
	return path;
}

/* A --push server: where it is in the store, and how it went. */
struct record_pusher {
	struct record_state *rs;
	const char *url;
	char key[17];               /* its cursor's name in the store */
	uint64_t seq;               /* the last window pushed (or passed over), */
	int64_t start_ns;           /* its start and path, for the cursor */
	char path[256];
	uint64_t pushed, dropped;   /* dropped: removed by retention before it was pushed */
	uint64_t rejected;          /* refused by the server for good */
	pthread_t thread;
	bool started;
};

/* What the recording and pushing threads share. */
struct record_state {
	const struct record_opts *o;
	struct store *store;
	pthread_mutex_t lock; /* store, pushers' cursors and the counts */
	pthread_cond_t wake;  /* a window written, or the recording over */
	uint64_t windows, bytes, removed;
	uint64_t dropped;     /* windows that could not be written */
	uint64_t samples, lost; /* taken (switches too), and lost from full rings */
	int failures;
	bool recorded;        /* every recording thread has ended */
	struct record_pusher *pushers;
	size_t npushers;
	/* The main thread's alone: */
	struct record_target **targets;
	size_t ntargets, targets_cap;
	regex_t name_re;          /* --name */
	struct record_seen {      /* --name: processes that could not be recorded */
		pid_t pid;
		uint64_t start, scan; /* start ticks; the last scan that saw it */
	} *refused;
	size_t nrefused, refused_cap;
	uint64_t scans;
	char *heap_lib;           /* --heap */
};

/* Retention removed W: a window a pusher had not reached is dropped. */
static void cmd_record_removed(const struct store_window *w, void *ctx)
{
	struct record_state *rs = ctx;

	for (size_t i = 0; i < rs->npushers; i++) {
		struct record_pusher *pu = &rs->pushers[i];

		if (w->seq > pu->seq) {
			pu->dropped++;
			pu->seq = w->seq;
			pu->start_ns = w->start_ns;
			snprintf(pu->path, sizeof(pu->path), "%s", w->path);
		}
	}
}

/* How a target's recording ended. */
enum record_end { RECORD_RUNNING, RECORD_EXITED, RECORD_STOPPED, RECORD_FAILED };

struct record_target {
	struct record_state *rs;
	struct target t;
	uint64_t start_ticks;     /* with the pid, the process's identity */
	struct cpu_opts co;
	struct live *heap;        /* with --heap */
	bool heap_failed;         /* its heap windows have ended */
	bool dropping;            /* its last window could not be written */
	char name[64];
	pthread_t thread;
	bool attached, started;
	/* Under rs->lock, for the main thread: */
	enum record_end end;      /* its thread has ended, and how */
	uint64_t began_ticks;     /* boot-time ticks once sampling ran; 0 before */
	pid_t *pids;              /* the processes its session samples (children too) */
	size_t npids;
};

/* Snapshot P's process into P's comments: its thread count, and with --heap
 * its sampled heap in use (HEAP, NULL without), as go tool pprof -comments
 * shows; and what the window lost (CS, its sampling statistics): records
 * the kernel dropped from a full ring, and waits whose switch was among them. */
static int cmd_record_comment(struct profile *p, pid_t pid, const struct profile *heap,
			      const struct cpu_stats *cs)
{
	int inuse = heap ? profile_sample_index(heap, "inuse_space") : -1;
	struct proc_stat st;
	char text[64];

	if (cs->lost) {
		snprintf(text, sizeof(text), "lost=%llu", (unsigned long long)cs->lost);
		if (profile_add_comment(p, text) < 0)
			return -1;
	}
	if (cs->waits_lost) {
		snprintf(text, sizeof(text), "waits_lost=%llu", (unsigned long long)cs->waits_lost);
		if (profile_add_comment(p, text) < 0)
			return -1;
	}
	if (proc_stat_read(pid, &st) < 0)
		return 0; /* gone: the last window has no snapshot */
	snprintf(text, sizeof(text), "threads=%ld", st.threads);
	if (profile_add_comment(p, text) < 0)
		return -1;
	if (inuse < 0)
		return 0;
	snprintf(text, sizeof(text), "heap_inuse_bytes=%lld", (long long)profile_total(heap, inuse));
	return profile_add_comment(p, text);
}

/* Write window P (of kind KIND) of RT, whole, outside the lock (which only
 * the list and retention take), and apply retention. */
static int cmd_record_write(struct record_target *rt, struct profile *p, const char *kind)
{
	struct record_state *rs = rt->rs;
	struct store_window w = { .start_ns = p->time_nanos, .duration_ns = p->duration_nanos,
				  .pid = rt->t.pid };
	void *buf;
	size_t len;
	ssize_t removed;
	int rc;

	snprintf(w.name, sizeof(w.name), "%s", rt->name);
	snprintf(w.kind, sizeof(w.kind), "%s", kind);
	if (pprof_encode(p, &buf, &len) < 0)
		return -1;
	rc = store_write(rs->store, &w, buf, len);
	free(buf);
	if (rc < 0)
		return -1;
	pthread_mutex_lock(&rs->lock);
	rc = store_commit(rs->store, &w);
	if (rc == 0) {
		rs->windows++;
		rs->bytes += len;
		removed = store_retain(rs->store, rs->o->retain_ns, rs->o->max_size,
				       clock_ns(CLOCK_REALTIME), cmd_record_removed, rs);
		/* A window that could not be removed is no reason to stop recording. */
		if (removed < 0)
			cmd_lib_error();
		else
			rs->removed += (uint64_t)removed;
	}
	pthread_cond_broadcast(&rs->wake);
	pthread_mutex_unlock(&rs->lock);
	return rc;
}

/* Write CPU window P of RT, with its snapshot, and with --heap the heap
 * window that ends with it: memory in use now, and what was allocated since
 * the last window (the session counts allocations afresh from the instant
 * it hands this one over). */
static int cmd_record_window(struct record_target *rt, struct profile *p,
			     const struct cpu_stats *cs)
{
	struct profile *heap = NULL;
	char why[512] = "";
	int rc = -1;

	if (rt->heap && !rt->heap_failed) {
		heap = live_rotate(rt->heap);
		if (heap) {
			heap->time_nanos = p->time_nanos;
			heap->duration_nanos = p->duration_nanos;
		} else {
			snprintf(why, sizeof(why), "%s", cp_errmsg());
		}
	}
	if (cmd_record_comment(p, rt->t.pid, heap, cs) < 0 ||
	    cmd_record_write(rt, p, record_kinds[rt->rs->o->mode]) < 0)
		goto out;
	/* A heap that fails ends the heap windows, not the CPU's. */
	if (why[0] || (heap && cmd_record_write(rt, heap, "heap") < 0)) {
		if (why[0])
			cp_error("%s", why);
		fprintf(stderr, "cprof: %s; process %d (%s) goes on without heap windows\n",
			cp_errmsg(), (int)rt->t.pid, rt->name);
		rt->heap_failed = true;
	}
	rc = 0;
out:
	profile_free(heap);
	return rc;
}

/* A window of RT that could not be written (DROPPED) is dropped, not the
 * recording: the store may come back (space freed, a directory remade).
 * Said once until one is written again, and counted for the exit status. */
static void cmd_record_dropped(struct record_target *rt, bool dropped)
{
	struct record_state *rs = rt->rs;

	if (dropped && !rt->dropping)
		fprintf(stderr, "cprof: %s; process %d (%s): windows dropped until one can be "
			"written\n", cp_errmsg(), (int)rt->t.pid, rt->name);
	else if (!dropped && rt->dropping)
		fprintf(stderr, "cprof: process %d (%s): writing windows again\n", (int)rt->t.pid,
			rt->name);
	rt->dropping = dropped;
	if (dropped) {
		pthread_mutex_lock(&rs->lock);
		rs->dropped++;
		pthread_mutex_unlock(&rs->lock);
	}
}

/* Clock ticks since boot now, as /proc gives processes' start times. */
static uint64_t cmd_record_ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec) /
	       (1000000000 / (uint64_t)sysconf(_SC_CLK_TCK));
}

/* cpu_start's word that sampling runs: children forked from now on are
 * sampled with the target. */
static void cmd_record_started(void *ctx)
{
	struct record_target *rt = ctx;

	pthread_mutex_lock(&rt->rs->lock);
	rt->began_ticks = cmd_record_ticks();
	pthread_mutex_unlock(&rt->rs->lock);
}

/* Tell the main thread which processes C samples (for --name to pass over),
 * when they may have changed: ROTATED, or a different count. */
static void cmd_record_publish(struct record_target *rt, const struct cpu *c, bool rotated)
{
	size_t n = cpu_pids(c, NULL, 0);
	pid_t *pids;

	if (!rt->rs->o->name || (!rotated && n == rt->npids))
		return;
	pids = malloc((n ? n : 1) * sizeof(*pids));
	if (!pids)
		return; /* the ancestry check still holds */
	cpu_pids(c, pids, n);
	pthread_mutex_lock(&rt->rs->lock);
	free(rt->pids);
	rt->pids = pids;
	rt->npids = n;
	pthread_mutex_unlock(&rt->rs->lock);
}

/* One target's windows, until it exits or cmd_stop. */
static void *cmd_record_thread(void *arg)
{
	struct record_target *rt = arg;
	struct record_state *rs = rt->rs;
	struct cpu *c = cpu_start(&rt->t, &rt->co);
	int64_t next = clock_ns(CLOCK_MONOTONIC) + rs->o->every_ns;
	enum record_end end = RECORD_RUNNING;
	struct cpu_stats st;

	if (!c)
		goto fail;
	while (end == RECORD_RUNNING) {
		int64_t left = next - clock_ns(CLOCK_MONOTONIC);
		/* Every 5 ms, as cpu_profile: the sampler's dithering must see each event soon. */
		int exited = cpu_wait(c, left <= 0 ? 0 : left > 5000000 ? 5 : (int)(left / 1000000) + 1);
		struct profile *p;

		if (exited < 0 || cpu_collect(c) < 0)
			goto fail;
		end = exited > 0 ? RECORD_EXITED : cmd_stop ? RECORD_STOPPED : RECORD_RUNNING;
		cmd_record_publish(rt, c, false);
		if (end == RECORD_RUNNING && clock_ns(CLOCK_MONOTONIC) < next)
			continue;
		p = end != RECORD_RUNNING ? cpu_finish(c) : cpu_rotate(c, &st);
		if (!p)
			goto fail;
		if (end != RECORD_RUNNING)
			st = *cpu_stats(c);
		cmd_record_dropped(rt, cmd_record_window(rt, p, &st) < 0);
		pthread_mutex_lock(&rs->lock);
		rs->samples += st.samples + st.switch_samples; /* as cprof cpu counts them */
		rs->lost += st.lost;
		pthread_mutex_unlock(&rs->lock);
		profile_free(p);
		cmd_record_publish(rt, c, true);
		next += rs->o->every_ns;
	}
	goto out;
fail:
	/* A --name process may exit while it is set up: that is no failure. A
	 * command that could not be run is. */
	end = RECORD_EXITED;
	if (rt->t.launched || (proc_start_ticks(rt->t.pid) == rt->start_ticks &&
			       proc_run_state(rt->t.pid) > PROC_ZOMBIE)) {
		cmd_lib_error();
		end = RECORD_FAILED;
	}
out:
	cpu_free(c);
	pthread_mutex_lock(&rs->lock);
	rs->failures += end == RECORD_FAILED;
	rt->end = end;
	pthread_cond_broadcast(&rs->wake);
	pthread_mutex_unlock(&rs->lock);
	return NULL;
}

#define RECORD_PUSH_TIMEOUT_NS 30000000000LL
#define RECORD_BACKOFF_MAX_NS 30000000000LL
#define RECORD_DRAIN_NS 10000000000LL /* pushing on once the recording has ended */
#define RECORD_STOP_GRACE_NS 2000000000LL /* a push in flight at a stop signal */

/* Wait on the state's condition for up to NS (under the lock). */
static void cmd_record_wait(struct record_state *rs, int64_t ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ns / 1000000000);
	ts.tv_nsec += (long)(ns % 1000000000);
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&rs->wake, &rs->lock, &ts);
}

/* Push one window W of the store to PU's server. Returns 0, 1 when the
 * window is passed over (its file gone, removed by retention meanwhile, or
 * refused by the server for good: a 4xx but 408 and 429, which no retry
 * would change), or -1 with an error (to be retried). */
static int cmd_record_push_one(struct record_pusher *pu, const struct store_window *w)
{
	const struct record_opts *o = pu->rs->o;
	char path[4096], app[64], *buf;
	long status = 0;
	size_t len, i;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", store_dir(pu->rs->store), w->path);
	if (file_read_all(path, &buf, &len) < 0)
		return cp_errno() == ENOENT ? 1 : -1;
	/* Pyroscope's application names: letters, digits, '_', '-' and '.'. */
	for (i = 0; w->name[i] && i < sizeof(app) - 1; i++)
		app[i] = w->name[i] == '+' ? '_' : w->name[i];
	app[i] = '\0';
	rc = push_send(&(struct push_request){
		.url = pu->url, .app = app, .tags = o->tags.v, .ntags = o->tags.n,
		.headers = o->push_headers.v, .nheaders = o->push_headers.n,
		.from_s = w->start_ns / 1000000000,
		.until_s = (w->start_ns + w->duration_ns + 999999999) / 1000000000,
		.profile = buf, .len = len, .sample_types = push_sample_types(w->kind),
		.timeout_ns = RECORD_PUSH_TIMEOUT_NS, .stop = &cmd_stop,
		.grace_ns = RECORD_STOP_GRACE_NS }, &status);
	free(buf);
	if (rc < 0 && status >= 400 && status < 500 && status != 408 && status != 429) {
		fprintf(stderr, "cprof: %s; window %s passed over\n", cp_errmsg(), w->path);
		pu->rejected++;
		return 1;
	}
	return rc;
}

/* Sleep (under the lock) until NS from now, or until the recording ends. */
static void cmd_record_backoff(struct record_state *rs, int64_t ns)
{
	int64_t until = clock_ns(CLOCK_MONOTONIC) + ns;

	while (!rs->recorded && clock_ns(CLOCK_MONOTONIC) < until)
		cmd_record_wait(rs, until - clock_ns(CLOCK_MONOTONIC));
}

/* A pusher: each window after its cursor, in the order written, retried
 * with backoff while the server fails; the store is the queue, bounded by
 * retention. Once the recording has ended, it goes on for RECORD_DRAIN_NS at
 * most and stops at the first failure: what is left goes at the next run. */
static void *cmd_record_pusher(void *arg)
{
	struct record_pusher *pu = arg;
	struct record_state *rs = pu->rs;
	int64_t backoff = 1000000000, drain_end = 0;
	bool failing = false;

	pthread_mutex_lock(&rs->lock);
	for (;;) {
		struct store_window w;
		int64_t start;
		char path[256];
		int rc;

		if (rs->recorded && !drain_end)
			drain_end = clock_ns(CLOCK_MONOTONIC) + RECORD_DRAIN_NS;
		if (drain_end && clock_ns(CLOCK_MONOTONIC) > drain_end)
			break;
		if (!store_next(rs->store, pu->seq, &w)) {
			if (rs->recorded)
				break;
			cmd_record_wait(rs, 1000000000);
			continue;
		}
		pthread_mutex_unlock(&rs->lock);
		rc = cmd_record_push_one(pu, &w);
		pthread_mutex_lock(&rs->lock);
		if (rc < 0) {
			if (!failing)
				fprintf(stderr, "cprof: %s; %sthe windows kept in the store\n",
					cp_errmsg(), rs->recorded ? "" : "retrying, ");
			failing = true;
			if (rs->recorded)
				break;
			cmd_record_backoff(rs, backoff);
			backoff = backoff * 2 > RECORD_BACKOFF_MAX_NS ? RECORD_BACKOFF_MAX_NS : backoff * 2;
			continue;
		}
		if (failing)
			fprintf(stderr, "cprof: pushing to %s again\n", pu->url);
		failing = false;
		backoff = 1000000000;
		/* Retention may have moved the cursor past W meanwhile. */
		if (w.seq > pu->seq) {
			pu->pushed += rc == 0;
			pu->seq = w.seq;
			pu->start_ns = w.start_ns;
			snprintf(pu->path, sizeof(pu->path), "%s", w.path);
		}
		start = pu->start_ns;
		snprintf(path, sizeof(path), "%s", pu->path);
		pthread_mutex_unlock(&rs->lock);
		if (store_cursor_save(rs->store, pu->key, start, path) < 0)
			cmd_lib_error();
		pthread_mutex_lock(&rs->lock);
	}
	pthread_mutex_unlock(&rs->lock);
	return NULL;
}

/* Start a pusher for each --push URL: where its cursor says, or at the
 * store's newest window for a server new to the store. */
static int cmd_record_start_pushers(struct record_state *rs)
{
	const struct record_opts *o = rs->o;

	rs->npushers = o->push.n;
	rs->pushers = calloc(rs->npushers ? rs->npushers : 1, sizeof(*rs->pushers));
	if (!rs->pushers)
		return cmd_error("out of memory");
	for (size_t i = 0; i < rs->npushers; i++) {
		struct record_pusher *pu = &rs->pushers[i];
		struct store_window last;
		int found;

		pu->rs = rs;
		pu->url = ((char **)o->push.v)[i];
		snprintf(pu->key, sizeof(pu->key), "%016llx",
			 (unsigned long long)hash_bytes(HASH_SEED, pu->url, strlen(pu->url)));
		found = store_cursor_load(rs->store, pu->key, &pu->start_ns, pu->path);
		if (found < 0)
			return cmd_lib_error();
		if (found) {
			pu->seq = store_seq_at(rs->store, pu->start_ns, pu->path);
		} else {
			/* A server new to the store gets what is recorded from now on, also
			 * when this run ends before it could take them. */
			if (store_last(rs->store, &last)) {
				pu->seq = last.seq;
				pu->start_ns = last.start_ns;
				snprintf(pu->path, sizeof(pu->path), "%s", last.path);
			} else {
				strcpy(pu->path, "-");
			}
			if (store_cursor_save(rs->store, pu->key, pu->start_ns, pu->path) < 0)
				return cmd_lib_error();
		}
		if (pthread_create(&pu->thread, NULL, cmd_record_pusher, pu) != 0)
			return cmd_error("cannot start a thread: %s", strerror(errno));
		pu->started = true;
	}
	return 0;
}

/* With --name: pass process PID (born at START) over until it exits, as it
 * would fail alike every time. */
static void cmd_record_refuse(struct record_state *rs, pid_t pid, uint64_t start)
{
	if (CP_GROW(rs->refused, rs->refused_cap, rs->nrefused + 1) == 0)
		rs->refused[rs->nrefused++] = (struct record_seen){ pid, start, rs->scans };
}

/* Start recording process PID (or launch CMD) into a new target, added to
 * the state's list. START, the process's start ticks as --name found it (0
 * otherwise), keeps quiet a process that exited meanwhile. Returns 0, or -1
 * with the error reported. */
static int cmd_record_start(struct record_state *rs, pid_t pid, uint64_t start, char **cmd)
{
	const struct record_opts *o = rs->o;
	struct record_target *rt = calloc(1, sizeof(*rt));

	if (!rt || CP_GROW(rs->targets, rs->targets_cap, rs->ntargets + 1) < 0) {
		free(rt);
		return cmd_error("out of memory");
	}
	rs->targets[rs->ntargets++] = rt;
	rt->rs = rs;
	if (o->heap) {
		/* The heap session attaches (or launches CMD with its library) first. */
		rt->heap = live_start(&(struct live_opts){ .pid = pid, .cmd = cmd, .heap = true,
			.rate = (uint64_t)o->rate, .heap_lib = rs->heap_lib });
		if (!rt->heap)
			goto fail;
		pid = live_pid(rt->heap);
		cmd = NULL;
	}
	if (cmd ? target_launch(&rt->t, cmd) < 0 : target_attach(&rt->t, pid) < 0)
		goto fail;
	rt->attached = true;
	if (target_check_access(&rt->t, "profile") < 0)
		goto fail;
	rt->start_ticks = proc_start_ticks(rt->t.pid);
	rt->co = (struct cpu_opts){ .mode = record_modes[o->mode], .max_rate = (unsigned)o->max_rate,
				    .frequency = o->frequency, .fp = o->fp,
				    .user_only = o->user_only, .stack_size = o->stack_size,
				    .started = cmd_record_started, .ctx = rt };
	if (!rt->co.stack_size)
		rt->co.stack_size = cpu_default_stack_size(rt->co.mode, o->frequency);
	if (cmd)
		snprintf(rt->name, sizeof(rt->name), "%s", strrchr(cmd[0], '/') ?
			 strrchr(cmd[0], '/') + 1 : cmd[0]);
	else
		proc_thread_name(rt->t.pid, rt->t.pid, rt->name, sizeof(rt->name));
	if (pthread_create(&rt->thread, NULL, cmd_record_thread, rt) != 0)
		return cmd_error("cannot start a thread: %s", strerror(errno));
	rt->started = true;
	return 0;
fail:
	if (start && proc_start_ticks(pid) != start)
		return -1;
	return cmd_lib_error();
}

/* Wait for target RT's thread, end it if launched and running on, say how
 * it ended, and free it. */
static void cmd_record_end(struct record_target *rt)
{
	struct live_status st = { 0 };

	if (rt->started)
		pthread_join(rt->thread, NULL);
	if (rt->t.launched && !target_check_exit(&rt->t))
		target_stop(&rt->t, 2000);
	/* A command that never ran (its exec failed) has said why already. */
	if (rt->t.launched && rt->t.exited && rt->began_ticks)
		cmd_print_exit_status(rt->t.status);
	/* A command launched by --heap's session: its status comes from there,
	 * which may see the exit a moment after the recording did. */
	for (int i = 0; rt->heap && live_launched(rt->heap) && i < 20; i++) {
		profile_free(live_profile(rt->heap, 0, &st));
		if (st.exited || rt->end != RECORD_EXITED)
			break;
		nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
	}
	if (st.exited)
		cmd_print_exit_status(st.status);
	if (rt->attached)
		target_release(&rt->t);
	live_end(rt->heap);
	free(rt->pids);
	free(rt);
}

/* End and forget the targets whose thread has ended: processes that exited,
 * or (with --name) failed, which are passed over until they exit. */
static void cmd_record_reap(struct record_state *rs)
{
	size_t kept = 0;

	for (size_t i = 0; i < rs->ntargets; i++) {
		struct record_target *rt = rs->targets[i];
		enum record_end end;

		pthread_mutex_lock(&rs->lock);
		end = rt->end;
		pthread_mutex_unlock(&rs->lock);
		if (end == RECORD_RUNNING || end == RECORD_STOPPED) {
			rs->targets[kept++] = rt;
			continue;
		}
		if (rs->o->name && end == RECORD_EXITED)
			fprintf(stderr, "cprof: process %d (%s) has exited; its recording is closed\n",
				(int)rt->t.pid, rt->name);
		if (rs->o->name && end == RECORD_FAILED)
			cmd_record_refuse(rs, rt->t.pid, rt->start_ticks);
		cmd_record_end(rt);
	}
	rs->ntargets = kept;
}

/* Whether process PID (born at START ticks, its parent PPID) is counted by a
 * recording already: it is one, its session samples it (the kernel's
 * inherited events follow children forked once sampling ran, also once they
 * are reparented), or the child of one on its way down was born after that
 * one's sampling began. Takes rs->lock. */
static bool cmd_record_covered(struct record_state *rs, pid_t pid, uint64_t start, pid_t ppid)
{
	uint64_t below = 0; /* the start of the process below PID on the way up */
	bool covered = false;

	pthread_mutex_lock(&rs->lock);
	for (size_t i = 0; !covered && i < rs->ntargets; i++)
		for (size_t j = 0; !covered && j < rs->targets[i]->npids; j++)
			covered = rs->targets[i]->pids[j] == pid;
	for (int depth = 0; !covered && depth < 32 && pid > 1; depth++) {
		struct proc_stat st;

		for (size_t i = 0; !covered && i < rs->ntargets; i++) {
			const struct record_target *rt = rs->targets[i];

			covered = rt->t.pid == pid && rt->start_ticks == start &&
				  (depth == 0 || (rt->began_ticks && below > rt->began_ticks));
		}
		if (ppid <= 1 || proc_stat_read(ppid, &st) < 0)
			break;
		below = start;
		pid = ppid;
		start = st.start;
		ppid = st.ppid;
	}
	pthread_mutex_unlock(&rs->lock);
	return covered;
}

/* With --name: start recording each process whose name matches and that is
 * not recorded yet. One that cannot be recorded is said once. */
static void cmd_record_scan(struct record_state *rs)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t kept = 0, n;

	if (!d)
		return;
	rs->scans++;
	while (!cmd_stop && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		struct proc_stat st;
		bool refused = false;

		if (*end || pid <= 0 || pid == getpid() || proc_stat_read((pid_t)pid, &st) < 0 ||
		    (st.flags & PROC_KTHREAD) || st.state == 'Z' || st.state == 'X' ||
		    regexec(&rs->name_re, st.comm, 0, NULL, 0) != 0 ||
		    cmd_record_covered(rs, (pid_t)pid, st.start, st.ppid))
			continue;
		for (size_t i = 0; !refused && i < rs->nrefused; i++)
			if (rs->refused[i].pid == pid && rs->refused[i].start == st.start) {
				rs->refused[i].scan = rs->scans;
				refused = true;
			}
		if (refused)
			continue;
		fprintf(stderr, "cprof: recording process %ld (%s)\n", pid, st.comm);
		n = rs->ntargets;
		if (cmd_record_start(rs, (pid_t)pid, st.start, NULL) < 0) {
			if (rs->ntargets > n)
				cmd_record_end(rs->targets[--rs->ntargets]);
			cmd_record_refuse(rs, (pid_t)pid, st.start);
		}
	}
	closedir(d);
	/* Those not seen this time have exited. */
	for (size_t i = 0; i < rs->nrefused; i++)
		if (rs->refused[i].scan == rs->scans)
			rs->refused[kept++] = rs->refused[i];
	rs->nrefused = kept;
}

#define RECORD_SCAN_NS 1000000000LL
#define RECORD_REPORT_NS 3600000000000LL

/* What the hourly line counts from. */
struct record_usage {
	int64_t at, cpu_ns;
	uint64_t windows, bytes;
};

/* The hourly line: what was written since the last one (*LAST), and cprof's
 * own CPU and memory. */
static void cmd_record_report(struct record_state *rs, struct record_usage *last)
{
	struct record_usage now = { .at = clock_ns(CLOCK_MONOTONIC) };
	struct rusage ru;
	struct proc_stat st;
	char when[32];
	time_t t = time(NULL);
	struct tm tm;

	getrusage(RUSAGE_SELF, &ru);
	now.cpu_ns = ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
		     ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
	pthread_mutex_lock(&rs->lock);
	now.windows = rs->windows;
	now.bytes = rs->bytes;
	pthread_mutex_unlock(&rs->lock);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime_r(&t, &tm));
	fprintf(stderr, "cprof: %s UTC: %llu windows (%.1f KiB) in the last %.0f s, %zu process%s "
		"recorded; cprof used %.2f%% of a core, RSS %.1f MiB (peak %.1f)\n", when,
		(unsigned long long)(now.windows - last->windows),
		(double)(now.bytes - last->bytes) / 1024, (double)(now.at - last->at) / 1e9,
		rs->ntargets, rs->ntargets == 1 ? "" : "es",
		100.0 * (double)(now.cpu_ns - last->cpu_ns) / (double)(now.at - last->at),
		proc_stat_read(getpid(), &st) < 0 ? 0.0 :
		(double)st.rss * (double)sysconf(_SC_PAGESIZE) / 1048576, (double)ru.ru_maxrss / 1024);
	*last = now;
}

/* The main thread's part: end the recordings of processes that exit, pick
 * up new ones with --name, and say how it goes each hour, until every
 * process has exited (without --name) or a stop signal. */
static void cmd_record_supervise(struct record_state *rs)
{
	const char *env = getenv("CPROF_RECORD_REPORT_SECONDS"); /* for the tests */
	int64_t every = env ? (int64_t)(atof(env) * 1e9) : RECORD_REPORT_NS;
	struct record_usage last = { .at = clock_ns(CLOCK_MONOTONIC) };
	int64_t next_scan = last.at + RECORD_SCAN_NS;

	if (every <= 0)
		every = RECORD_REPORT_NS;
	for (;;) {
		int64_t now;

		cmd_record_reap(rs);
		if (cmd_stop || (!rs->o->name && rs->ntargets == 0))
			break;
		now = clock_ns(CLOCK_MONOTONIC);
		if (rs->o->name && now >= next_scan) {
			cmd_record_scan(rs);
			next_scan = now + RECORD_SCAN_NS;
		}
		if (now - last.at >= every)
			cmd_record_report(rs, &last);
		pthread_mutex_lock(&rs->lock);
		cmd_record_wait(rs, 200000000);
		pthread_mutex_unlock(&rs->lock);
	}
}

/* Wait for the recording threads (ending launched commands that run on)
 * and then for the pushers, and say what was done (when the recording
 * BEGAN: a refused start has said its one line). */
static void cmd_record_finish(struct record_state *rs, bool began)
{
	char dropped[64] = "";

	for (size_t i = 0; i < rs->ntargets; i++)
		cmd_record_end(rs->targets[i]);
	rs->ntargets = 0;
	pthread_mutex_lock(&rs->lock);
	rs->recorded = true;
	pthread_cond_broadcast(&rs->wake);
	pthread_mutex_unlock(&rs->lock);
	if (rs->dropped)
		snprintf(dropped, sizeof(dropped), ", %llu dropped (could not be written)",
			 (unsigned long long)rs->dropped);
	if ((began && !rs->failures) || rs->windows || rs->dropped)
		fprintf(stderr, "cprof: %llu window%s written (%.1f KiB), %llu removed by "
			"retention%s\n", (unsigned long long)rs->windows, rs->windows == 1 ? "" : "s",
			(double)rs->bytes / 1024, (unsigned long long)rs->removed, dropped);
	if (rs->lost)
		fprintf(stderr, "cprof: %llu samples lost from full ring buffers (%.1f%%): lower "
			"%s; each window's comments say how many (lost=N)\n", (unsigned long long)rs->lost,
			100.0 * (double)rs->lost / (double)(rs->samples + rs->lost),
			rs->o->mode ? "--max-rate" : "--frequency");
	for (size_t i = 0; i < rs->npushers; i++) {
		struct record_pusher *pu = &rs->pushers[i];

		if (!pu->started)
			continue;
		pthread_join(pu->thread, NULL);
		fprintf(stderr, "cprof: %llu window%s pushed to %s, %llu dropped by retention "
			"before their turn, %llu refused%s\n", (unsigned long long)pu->pushed,
			pu->pushed == 1 ? "" : "s", pu->url, (unsigned long long)pu->dropped,
			(unsigned long long)pu->rejected,
			store_next(rs->store, pu->seq, &(struct store_window){ 0 }) ?
			"; the rest goes at the next record with this store" : "");
	}
}

/* Start recording what the options name: each --pid, CMD, and with --name
 * the matching processes running now. Returns 0 or -1 (reported). */
static int cmd_record_begin(struct record_state *rs, char **cmd)
{
	const struct record_opts *o = rs->o;
	char every[64];

	if (cmd_record_start_pushers(rs) < 0)
		return -1;
	for (size_t i = 0; i < (cmd ? 1 : o->pids.n); i++)
		if (cmd_record_start(rs, cmd ? 0 : ((pid_t *)o->pids.v)[i], 0, cmd) < 0)
			return -1;
	snprintf(every, sizeof(every), "%s every ", record_windows[o->mode]);
	units_format(every + strlen(every), sizeof(every) - strlen(every), o->every_ns,
		     "nanoseconds");
	if (o->name) {
		char given[48] = "";

		if (o->pids.n)
			snprintf(given, sizeof(given), "%zu process%s and those ", rs->ntargets,
				 rs->ntargets == 1 ? "" : "es");
		fprintf(stderr, "cprof: recording %s%s named /%s/ into %s, %s\n",
			given, o->pids.n ? "" : "processes", o->name, store_dir(rs->store), every);
		cmd_record_scan(rs);
	} else {
		fprintf(stderr, "cprof: recording %zu process%s into %s, %s\n",
			rs->ntargets, rs->ntargets == 1 ? "" : "es", store_dir(rs->store), every);
	}
	return 0;
}

static int cmd_record_exec(int argc, char **argv)
{
	struct record_opts o = { 0 };
	struct record_state rs = { .o = &o };
	char **cmd = NULL, *store_dir;
	int ncmd = 0, rc = EXIT_OK;

	for (const struct cmd_option *opt = cmd_record_options; opt->name; opt++)
		if (opt->set == cmd_record_set_retain || opt->set == cmd_record_set_size)
			opt->set(&cmd_record, opt, opt->def_text, (char *)&o + opt->off);
	cmd_parse(&cmd_record, &argc, argv, &o, &cmd, &ncmd);
	if (argc > 0)
		cmd_usage_error(&cmd_record, "unexpected argument '%s'", argv[0]);
	if ((o.pids.n > 0 || o.name) == (ncmd > 0))
		cmd_usage_error(&cmd_record, "give --pid PID (one or more), --name REGEX or -- CMD");
	if (o.rate_given && !o.heap)
		cmd_usage_error(&cmd_record, "--rate is for --heap");
	if (o.max_rate_given && !o.mode)
		cmd_usage_error(&cmd_record, "--max-rate is for --mode wall or offcpu");
	if (o.frequency_given && record_modes[o.mode] == CPU_MODE_OFF)
		cmd_usage_error(&cmd_record, "--frequency is the on-CPU sampling rate: --mode offcpu "
				"samples at switches (--max-rate bounds them)");
	if (o.name && cp_regcomp(&rs.name_re, o.name) < 0)
		cmd_usage_error(&cmd_record, "bad --name: %s", cp_errmsg());
	if (o.heap)
		rs.heap_lib = cmd_heap_library();
	store_dir = o.store ? xstrdup(o.store) : cmd_record_default_store();
	rs.store = store_open(store_dir);
	if (!rs.store)
		cmd_lib_die();
	if (store_set_tags(rs.store, o.tags.v, o.tags.n) < 0)
		cmd_lib_die();
	pthread_mutex_init(&rs.lock, NULL);
	pthread_cond_init(&rs.wake, NULL);
	cmd_catch_signals();
	if (cmd_record_begin(&rs, cmd) < 0) {
		rc = EXIT_ERROR;
		cmd_stop = SIGTERM;
	}
	cmd_record_supervise(&rs);
	cmd_record_finish(&rs, rc == EXIT_OK);
	if (rs.failures || rs.dropped)
		rc = EXIT_ERROR;
	store_close(rs.store);
	pthread_cond_destroy(&rs.wake);
	pthread_mutex_destroy(&rs.lock);
	if (o.name)
		regfree(&rs.name_re);
	free(rs.pushers);
	free(rs.targets);
	free(rs.refused);
	free(rs.heap_lib);
	cmd_list_free_strings(&o.push);
	cmd_list_free_strings(&o.push_headers);
	cmd_list_free_strings(&o.tags);
	free(o.pids.v);
	free(store_dir);
	return rc;
}
