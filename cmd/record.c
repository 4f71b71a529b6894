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
#include "pprof.h"
#include "proc.h"
#include "store.h"
#include "units.h"

struct record_opts {
	struct cmd_list pids, tags;
	int64_t every_ns, retain_ns;
	uint64_t max_size;
	const char *store;
	unsigned frequency;
};

static void cmd_record_add_pid(const struct cmd_entry *cmd, const struct cmd_option *o,
			       const char *value, void *field);
static void cmd_record_set_size(const struct cmd_entry *cmd, const struct cmd_option *o,
				const char *value, void *field);

static const struct cmd_option cmd_record_options[] = {
	{ CMD_CALLBACK(record_opts, pids, "pid", "PID", "record process PID (repeat for more)",
		       cmd_record_add_pid), .short_name = 'p', .complete = "pid", .repeats = true },
	{ CMD_DURATION(record_opts, every_ns, "every", "DURATION",
		       "the length of each window", 100000000LL, 10000000000LL) },
	{ CMD_STRING(record_opts, store, "store", "DIR", "the store to write the windows into"),
	  .complete = "file",
	  .def_text = "$XDG_STATE_HOME/cprof, else ~/.local/state/cprof; /var/lib/cprof for root" },
	{ CMD_DURATION(record_opts, retain_ns, "retain", "DURATION",
		       "remove windows older than DURATION, 0 to keep them", 0,
		       24 * 3600 * 1000000000LL), .def_text = "24h" },
	{ CMD_CALLBACK(record_opts, max_size, "max-size", "SIZE",
		       "remove the oldest windows while the store holds more than SIZE bytes "
		       "(K, M, G suffixes: powers of 1024), 0 for no bound", cmd_record_set_size),
	  .def_text = "1G" },
	{ CMD_CALLBACK(record_opts, tags, "tag", "K=V", "tag every window (repeat for more), "
		       "e.g. version=1.4.2", cmd_add_tag), .repeats = true },
	{ CMD_OPT_FREQUENCY(record_opts, frequency) },
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

static void cmd_record_add_pid(const struct cmd_entry *cmd, const struct cmd_option *o,
			       const char *value, void *field)
{
	pid_t pid = (pid_t)cmd_parse_long(cmd, o->name, value, 1, 0x7fffffff);

	cmd_list_append(field, &pid, sizeof(pid));
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

/* What the recording threads share. */
struct record_state {
	const struct record_opts *o;
	struct store *store;
	pthread_mutex_t lock; /* store and the counts */
	uint64_t windows, bytes, removed;
	int failures;
};

struct record_target {
	struct record_state *rs;
	struct target t;
	struct cpu_opts co;
	char name[64];
	pthread_t thread;
	bool started;
};

/* Write window P of RT, which began at START_NS (wall clock), and apply retention. */
static int cmd_record_write(struct record_target *rt, struct profile *p, int64_t start_ns)
{
	struct record_state *rs = rt->rs;
	struct store_window w = { .start_ns = start_ns, .duration_ns = p->duration_nanos,
				  .pid = rt->t.pid };
	void *buf;
	size_t len;
	ssize_t removed;
	int rc;

	snprintf(w.name, sizeof(w.name), "%s", rt->name);
	strcpy(w.kind, "cpu");
	if (pprof_encode(p, &buf, &len) < 0)
		return -1;
	pthread_mutex_lock(&rs->lock);
	rc = store_put(rs->store, &w, buf, len);
	if (rc == 0) {
		rs->windows++;
		rs->bytes += len;
		removed = store_retain(rs->store, rs->o->retain_ns, rs->o->max_size,
				       clock_ns(CLOCK_REALTIME));
		if (removed < 0)
			rc = -1;
		else
			rs->removed += (uint64_t)removed;
	}
	pthread_mutex_unlock(&rs->lock);
	free(buf);
	return rc;
}

/* One target's windows, until it exits or cmd_stop. */
static void *cmd_record_thread(void *arg)
{
	struct record_target *rt = arg;
	const struct record_opts *o = rt->rs->o;
	struct cpu *c = cpu_start(&rt->t, &rt->co);
	int64_t start_wall = clock_ns(CLOCK_REALTIME), next = clock_ns(CLOCK_MONOTONIC) + o->every_ns;
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
		if (!p || cmd_record_write(rt, p, start_wall) < 0) {
			profile_free(p);
			goto fail;
		}
		profile_free(p);
		start_wall = clock_ns(CLOCK_REALTIME);
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

static int cmd_record_start(struct record_state *rs, struct record_target *rt, pid_t pid,
			    char **cmd)
{
	if (cmd ? target_launch(&rt->t, cmd) < 0 : target_attach(&rt->t, pid) < 0 ||
	    target_check_access(&rt->t, "profile") < 0)
		return cmd_lib_error();
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

static int cmd_record_exec(int argc, char **argv)
{
	struct record_opts o = { .max_size = 1ULL << 30 };
	struct record_state rs = { .o = &o };
	struct record_target *rts;
	char **cmd = NULL, *store_dir;
	int ncmd = 0, rc = EXIT_OK;
	size_t n;

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
	n = ncmd ? 1 : o.pids.n;
	rts = calloc(n, sizeof(*rts));
	if (!rts)
		die(EXIT_ERROR, "out of memory");
	cmd_catch_signals();
	for (size_t i = 0; i < n; i++)
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
	for (size_t i = 0; i < n; i++) {
		if (rts[i].started)
			pthread_join(rts[i].thread, NULL);
		if (rts[i].t.launched && !target_check_exit(&rts[i].t))
			target_stop(&rts[i].t, 2000);
		if (rts[i].t.launched && rts[i].t.exited)
			cmd_print_exit_status(rts[i].t.status);
		target_release(&rts[i].t);
	}
	fprintf(stderr, "cprof: %llu window%s written (%.1f KiB), %llu removed by retention\n",
		(unsigned long long)rs.windows, rs.windows == 1 ? "" : "s", (double)rs.bytes / 1024,
		(unsigned long long)rs.removed);
	if (rs.failures)
		rc = EXIT_ERROR;
	store_close(rs.store);
	pthread_mutex_destroy(&rs.lock);
	free(rts);
	for (size_t i = 0; i < o.tags.n; i++)
		free(((char **)o.tags.v)[i]);
	free(o.tags.v);
	free(o.pids.v);
	free(store_dir);
	return rc;
}
