/* cprof record: continuous CPU profiling of processes into a local store,
 * window after window with no gap between them, until stopped. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "clock.h"
#include "cmd.h"
#include "cpu.h"
#include "errmsg.h"
#include "fileio.h"
#include "hmap.h"
#include "pprof.h"
#include "proc.h"
#include "push.h"
#include "store.h"
#include "units.h"

struct record_opts {
	struct cmd_list pids, tags, push, push_headers;
	int64_t every_ns, retain_ns;
	uint64_t max_size;
	const char *store;
	unsigned frequency;
};

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
	{ CMD_OPT_FREQUENCY(record_opts, frequency) },
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
		"Samples the CPU of each --pid process (or of CMD) as cprof cpu does, without a\n"
		"stop: every --every, the window so far is written to the store as a gzipped pprof\n"
		"file while sampling goes on into the next, so no sample falls between windows.\n"
		"Windows are named by time (UTC), process name, pid and tags, each written whole or\n"
		"not at all; the oldest are removed past --retain and --max-size. Runs until every\n"
		"process has exited, or SIGTERM or Ctrl-C, which end the current window early and\n"
		"write it.",
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
	int failures;
	bool recorded;        /* every recording thread has ended */
	struct record_pusher *pushers;
	size_t npushers;
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

struct record_target {
	struct record_state *rs;
	struct target t;
	struct cpu_opts co;
	char name[64];
	pthread_t thread;
	bool attached, started;
};

/* Write window P of RT (written whole outside the lock, which only the
 * list and retention take), and apply retention. */
static int cmd_record_write(struct record_target *rt, struct profile *p)
{
	struct record_state *rs = rt->rs;
	struct store_window w = { .start_ns = p->time_nanos, .duration_ns = p->duration_nanos,
				  .pid = rt->t.pid };
	void *buf;
	size_t len;
	ssize_t removed;
	int rc;

	snprintf(w.name, sizeof(w.name), "%s", rt->name);
	strcpy(w.kind, "cpu");
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

/* One target's windows, until it exits or cmd_stop. */
static void *cmd_record_thread(void *arg)
{
	struct record_target *rt = arg;
	const struct record_opts *o = rt->rs->o;
	struct cpu *c = cpu_start(&rt->t, &rt->co);
	int64_t next = clock_ns(CLOCK_MONOTONIC) + o->every_ns;
	bool done = false;

	if (!c)
		goto fail;
	while (!done) {
		int64_t left = next - clock_ns(CLOCK_MONOTONIC);
		/* Every 5 ms, as cpu_profile: the sampler's dithering must see each event soon. */
		int exited = cpu_wait(c, left <= 0 ? 0 : left > 5000000 ? 5 : (int)(left / 1000000) + 1);
		struct profile *p;

		if (exited < 0 || cpu_collect(c) < 0)
			goto fail;
		done = exited > 0 || cmd_stop;
		if (!done && clock_ns(CLOCK_MONOTONIC) < next)
			continue;
		p = done ? cpu_finish(c) : cpu_rotate(c);
		if (!p || cmd_record_write(rt, p) < 0) {
			profile_free(p);
			goto fail;
		}
		profile_free(p);
		next += o->every_ns;
	}
	cpu_free(c);
	return NULL;
fail:
	cmd_lib_error();
	cpu_free(c);
	pthread_mutex_lock(&rt->rs->lock);
	rt->rs->failures++;
	pthread_mutex_unlock(&rt->rs->lock);
	return NULL;
}

#define RECORD_PUSH_TIMEOUT_NS 30000000000LL
#define RECORD_BACKOFF_MAX_NS 30000000000LL
#define RECORD_DRAIN_NS 10000000000LL /* pushing on once the recording has ended */

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
		.profile = buf, .len = len, .timeout_ns = RECORD_PUSH_TIMEOUT_NS }, &status);
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
				fprintf(stderr, "cprof: %s; retrying, the windows kept in the store\n",
					cp_errmsg());
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

static int cmd_record_start(struct record_state *rs, struct record_target *rt, pid_t pid,
			    char **cmd)
{
	if (cmd ? target_launch(&rt->t, cmd) < 0 : target_attach(&rt->t, pid) < 0 ||
	    target_check_access(&rt->t, "profile") < 0)
		return cmd_lib_error();
	rt->attached = true;
	rt->rs = rs;
	rt->co = (struct cpu_opts){ .frequency = rs->o->frequency,
				    .stack_size = cpu_default_stack_size(rs->o->frequency) };
	if (cmd)
		snprintf(rt->name, sizeof(rt->name), "%s", strrchr(cmd[0], '/') ?
			 strrchr(cmd[0], '/') + 1 : cmd[0]);
	else
		proc_thread_name(pid, pid, rt->name, sizeof(rt->name));
	if (pthread_create(&rt->thread, NULL, cmd_record_thread, rt) != 0)
		return cmd_error("cannot start a thread: %s", strerror(errno));
	rt->started = true;
	return 0;
}

/* Wait for the recording threads (ending launched commands that run on)
 * and then for the pushers, and say what was done. */
static void cmd_record_finish(struct record_state *rs, struct record_target *rts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (rts[i].started)
			pthread_join(rts[i].thread, NULL);
		if (rts[i].t.launched && !target_check_exit(&rts[i].t))
			target_stop(&rts[i].t, 2000);
		if (rts[i].t.launched && rts[i].t.exited)
			cmd_print_exit_status(rts[i].t.status);
		if (rts[i].attached)
			target_release(&rts[i].t);
	}
	pthread_mutex_lock(&rs->lock);
	rs->recorded = true;
	pthread_cond_broadcast(&rs->wake);
	pthread_mutex_unlock(&rs->lock);
	fprintf(stderr, "cprof: %llu window%s written (%.1f KiB), %llu removed by retention\n",
		(unsigned long long)rs->windows, rs->windows == 1 ? "" : "s", (double)rs->bytes / 1024,
		(unsigned long long)rs->removed);
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

static int cmd_record_exec(int argc, char **argv)
{
	struct record_opts o = { 0 };
	struct record_state rs = { .o = &o };
	struct record_target *rts;
	char **cmd = NULL, *store_dir;
	int ncmd = 0, rc = EXIT_OK;
	size_t n;

	for (const struct cmd_option *opt = cmd_record_options; opt->name; opt++)
		if (opt->set == cmd_record_set_retain || opt->set == cmd_record_set_size)
			opt->set(&cmd_record, opt, opt->def_text, (char *)&o + opt->off);
	cmd_parse(&cmd_record, &argc, argv, &o, &cmd, &ncmd);
	if (argc > 0)
		cmd_usage_error(&cmd_record, "unexpected argument '%s'", argv[0]);
	if ((o.pids.n > 0) == (ncmd > 0))
		cmd_usage_error(&cmd_record, "give --pid PID (one or more) or -- CMD");
	store_dir = o.store ? xstrdup(o.store) : cmd_record_default_store();
	rs.store = store_open(store_dir);
	if (!rs.store)
		cmd_lib_die();
	if (store_set_tags(rs.store, o.tags.v, o.tags.n) < 0)
		cmd_lib_die();
	pthread_mutex_init(&rs.lock, NULL);
	pthread_cond_init(&rs.wake, NULL);
	n = ncmd ? 1 : o.pids.n;
	rts = calloc(n, sizeof(*rts));
	if (!rts)
		die(EXIT_ERROR, "out of memory");
	cmd_catch_signals();
	if (cmd_record_start_pushers(&rs) < 0) {
		rc = EXIT_ERROR;
		cmd_stop = SIGTERM;
	}
	for (size_t i = 0; rc == EXIT_OK && i < n; i++)
		if (cmd_record_start(&rs, &rts[i], ncmd ? 0 : ((pid_t *)o.pids.v)[i], cmd) < 0) {
			rc = EXIT_ERROR;
			cmd_stop = SIGTERM;
			break;
		}
	if (rc == EXIT_OK) {
		char every[32];

		units_format(every, sizeof(every), o.every_ns, "nanoseconds");
		fprintf(stderr, "cprof: recording %zu process%s into %s, a window every %s\n", n,
			n == 1 ? "" : "es", store_dir, every);
	}
	cmd_record_finish(&rs, rts, n);
	if (rs.failures)
		rc = EXIT_ERROR;
	store_close(rs.store);
	pthread_cond_destroy(&rs.wake);
	pthread_mutex_destroy(&rs.lock);
	free(rs.pushers);
	for (size_t i = 0; i < o.push.n; i++)
		free(((char **)o.push.v)[i]);
	for (size_t i = 0; i < o.push_headers.n; i++)
		free(((char **)o.push_headers.v)[i]);
	free(o.push.v);
	free(o.push_headers.v);
	free(rts);
	for (size_t i = 0; i < o.tags.n; i++)
		free(((char **)o.tags.v)[i]);
	free(o.tags.v);
	free(o.pids.v);
	free(store_dir);
	return rc;
}
