/* Unit tests of the live session: the windowing on a profile grown by hand
 * at simulated times, then real sessions on the CPU workload (launched, and
 * attached), their windows, reset, copies from two threads at once, and
 * what each kind of target is left as at the end. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "errmsg.h"
#include "live.h"
#include "test.h"

#define MS 1000000LL
#define S 1000000000LL

/* Add VALUE to the sample of the one-frame stack at ADDR. */
static void grow(struct profile *p, uint64_t addr, int64_t value)
{
	int64_t id = profile_add_location(p, 0, addr, NULL, 0, false);
	uint64_t loc = id;

	CHECK(id > 0 && profile_add_sample(p, &loc, 1, &value, NULL, 0) == 0);
}

static int64_t total(struct profile *live, const struct top_snapshot *base)
{
	struct profile *p = topview_copy(live, base);
	int64_t t = p ? profile_total(p, 0) : -1;

	profile_free(p);
	return t;
}

static void test_history_spacing(void)
{
	struct live_history h;

	live_history_init(&h, 10 * S);
	CHECK(h.every_ns == 500 * MS);
	live_history_init(&h, 60 * S);
	CHECK(h.every_ns == 1 * S);
	live_history_init(&h, 1 * S);
	CHECK(h.every_ns == 50 * MS);
	live_history_release(&h);
}

/* A profile that gains 1 every 100ms for 30s, and a second stack from 20.5s
 * on: every window's copy holds what came after its base, exactly. */
static void test_history_windows(void)
{
	struct profile *p = profile_new();
	struct live_history h;
	const int64_t step = 100 * MS, keep = 10 * S;
	int64_t added_at[301]; /* the value each step had brought by then */
	size_t most = 0;
	bool spaced = true, tight = true, exact = true, early_null = true;

	CHECK(profile_add_sample_type(p, "samples", "count") == 0);
	live_history_init(&h, keep);
	for (int i = 0; i <= 300; i++) {
		int64_t now = i * step;
		grow(p, 0x10, 1);
		if (i >= 205)
			grow(p, 0x20, 1);
		added_at[i] = profile_total(p, 0);
		CHECK(live_history_add(&h, p, now) == 0);
		most = h.n > most ? h.n : most;
		for (size_t k = 1; k < h.n; k++)
			spaced &= h.snaps[k].when_ns - h.snaps[k - 1].when_ns >= h.every_ns;
		for (int64_t w = 1 * S; w <= keep; w += 3 * S) {
			const struct top_snapshot *base = live_history_base(&h, now, w);
			if (now < w) {
				early_null &= base == NULL;
				continue;
			}
			/* The newest at least W old: older than W by less than a spacing. */
			tight &= base && base->when_ns <= now - w && base->when_ns > now - w - h.every_ns;
			if (base)
				exact &= total(p, base) == added_at[i] - added_at[base->when_ns / step];
		}
	}
	CHECK(spaced);
	CHECK(tight);
	CHECK(exact);
	CHECK(early_null);
	/* As many as the longest window needs: keep / every, and one before. */
	CHECK(most <= (size_t)(keep / h.every_ns) + 2);
	CHECK(most >= (size_t)(keep / h.every_ns));
	/* A window longer than kept is the kept one. */
	CHECK(live_history_base(&h, 300 * step, 100 * S) == live_history_base(&h, 300 * step, keep));
	/* The base is the snapshot at 20s; the second stack, newer, counts whole. */
	CHECK(live_history_base(&h, 300 * step, keep)->when_ns == 200 * step);
	CHECK(total(p, live_history_base(&h, 300 * step, keep)) == 100 + 96);
	live_history_clear(&h);
	CHECK(h.n == 0 && live_history_base(&h, 300 * step, 1 * S) == NULL);
	CHECK(live_history_add(&h, p, 301 * step) == 0 && h.n == 1);
	live_history_release(&h);
	profile_free(p);
}

static bool may_sample(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
	int paranoid = 2;

	if (f) {
		if (fscanf(f, "%d", &paranoid) != 1)
			paranoid = 2;
		fclose(f);
	}
	return getuid() == 0 || paranoid <= 2;
}

static const char *workload(void)
{
	static char path[4096];
	const char *dir = getenv("top_builddir");

	snprintf(path, sizeof(path), "%s/tests/workloads/cpuwork-fp", dir ? dir : ".");
	return path;
}

/* Copy L's profile of the last WINDOW until COND holds of its state, for up
 * to 30s; the state into *ST. */
static bool wait_for(struct live *l, int64_t window, struct live_status *st,
		     bool (*cond)(const struct live_status *))
{
	for (int i = 0; i < 300; i++) {
		struct profile *p = live_profile(l, window, st);
		profile_free(p);
		if (!p)
			return false;
		if (cond(st))
			return true;
		nanosleep(&(struct timespec){ 0, 100 * MS }, NULL);
	}
	return false;
}

static bool has_samples(const struct live_status *st)
{
	return st->samples >= 20;
}

static bool past_window(const struct live_status *st)
{
	return st->elapsed_ns >= 4 * S && st->samples >= 100;
}

static int64_t reset_before_ns; /* the elapsed time before a reset */

/* Once the sampler has collected since the reset (cpu_collect times it). */
static bool after_reset(const struct live_status *st)
{
	return st->elapsed_ns < reset_before_ns;
}

static void *copier(void *arg)
{
	struct live_status st;
	bool ok = true;

	for (int i = 0; i < 50; i++) {
		struct profile *p = live_profile(arg, 2 * S, &st);
		ok &= p != NULL;
		profile_free(p);
	}
	return ok ? arg : NULL;
}

static void test_session_launched(void)
{
	char *cmd[] = { (char *)workload(), "--seconds", "120", NULL };
	struct live_opts o = { .cmd = cmd, .quiet = true, .frequency = 199, .window_ns = 2 * S };
	struct live *l = live_start(&o);
	struct live_status st, all_st;
	struct profile *win, *all;
	pthread_t other;
	void *ok = NULL;
	pid_t pid;

	CHECK(l != NULL);
	if (!l) {
		fprintf(stderr, "live_start: %s\n", cp_errmsg());
		return;
	}
	pid = live_pid(l);
	CHECK(live_launched(l));
	CHECK(strstr(live_command(l), "cpuwork-fp --seconds 120") != NULL);

	/* Younger than the window: the window is everything. */
	CHECK(wait_for(l, 2 * S, &st, has_samples));
	if (st.elapsed_ns < 2 * S)
		CHECK(st.shown_ns == st.elapsed_ns);
	CHECK(!st.exited && st.threads_now >= 1 && st.cpu_ns > 0 && !st.stopped[0]);

	CHECK(wait_for(l, 0, &st, past_window));
	win = live_profile(l, 2 * S, &st);
	all = live_profile(l, 0, &all_st);
	CHECK(win && all);
	if (win && all) {
		int64_t n_win = profile_total(win, 0), n_all = profile_total(all, 0);
		/* Two seconds and less than a spacing more (100ms, or however late the
		 * sampler's loop comes round on a loaded machine): not everything. */
		CHECK(st.shown_ns >= 2 * S && st.shown_ns < 3 * S && st.elapsed_ns >= 4 * S);
		CHECK(win->duration_nanos == st.shown_ns);
		CHECK(all->duration_nanos == all_st.elapsed_ns && all_st.shown_ns == all_st.elapsed_ns);
		CHECK(n_win > 0 && n_win < n_all);
		CHECK((uint64_t)n_all <= all_st.samples);
	}
	profile_free(win);
	profile_free(all);

	/* Copies from two threads at once, while the sampler adds. */
	CHECK(pthread_create(&other, NULL, copier, l) == 0);
	CHECK(copier(l) == l);
	pthread_join(other, &ok);
	CHECK(ok == l);

	CHECK(live_reset(l) == 0);
	all = live_profile(l, 0, &st);
	CHECK(all && st.samples < all_st.samples);
	profile_free(all);
	reset_before_ns = all_st.elapsed_ns;
	CHECK(wait_for(l, 0, &st, after_reset));
	CHECK(st.samples < all_st.samples);

	/* A launched command is ended with the session. */
	live_end(l);
	CHECK(kill(pid, 0) < 0 && errno == ESRCH);
}

static void test_session_attached(void)
{
	struct live_opts o = { .frequency = 199, .window_ns = 2 * S };
	struct live_status st;
	struct live *l;
	pid_t child = fork();
	int status;

	if (child == 0) {
		execl(workload(), workload(), "--seconds", "120", (char *)NULL);
		_exit(127);
	}
	CHECK(child > 0);
	if (child <= 0)
		return;
	o.pid = child;
	/* Wait for the exec, so that the session names the workload. */
	for (int i = 0; i < 100; i++) {
		char path[64], exe[4096] = "";
		snprintf(path, sizeof(path), "/proc/%d/exe", (int)child);
		if (readlink(path, exe, sizeof(exe) - 1) > 0 && strstr(exe, "cpuwork-fp"))
			break;
		nanosleep(&(struct timespec){ 0, 20 * MS }, NULL);
	}
	l = live_start(&o);
	CHECK(l != NULL);
	if (l) {
		CHECK(!live_launched(l) && live_pid(l) == child);
		CHECK(wait_for(l, 0, &st, has_samples));
		live_end(l);
	}
	/* An attached process runs on: not ended, not stopped. */
	CHECK(waitpid(child, &status, WNOHANG) == 0);
	CHECK(kill(child, SIGKILL) == 0);
	waitpid(child, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void test_session_errors(void)
{
	char *missing[] = { "/nonexistent/cprof-test-command", NULL };
	struct live_opts o = { .pid = 0x7ffffff0, .frequency = 99, .window_ns = 10 * S };

	CHECK(live_start(&o) == NULL);
	CHECK(strstr(cp_errmsg(), "no such process") != NULL);
	o.pid = 0;
	o.cmd = missing;
	o.quiet = true;
	CHECK(live_start(&o) == NULL);
	CHECK(strstr(cp_errmsg(), "cprof-test-command") != NULL);
	live_end(NULL);
}

int main(void)
{
	test_history_spacing();
	test_history_windows();
	if (!may_sample()) {
		printf("SKIP: the sessions: cannot open perf events (perf_event_paranoid, not root)\n");
	} else {
		test_session_launched();
		test_session_attached();
		test_session_errors();
	}
	return test_done("test-live");
}
