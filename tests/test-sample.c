/* Unit test of the sampler's period on a real child that spins on one CPU:
 * fixed, no two samples come closer than the period (the child may only be
 * preempted, which spaces them more); dithered (sampler_dither), many do, so
 * no period can lock onto the child's work; either way the samples per
 * second of the child's CPU time are the frequency. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "sample.h"
#include "test.h"

#define HZ 1000

struct times {
	uint64_t t[8192];
	size_t n;
};

static void on_record(void *ctx, const struct sampler_record *r)
{
	struct times *ts = ctx;

	if (r->type == REC_SAMPLE && ts->n < sizeof(ts->t) / sizeof(ts->t[0]))
		ts->t[ts->n++] = r->time;
}

static int64_t cpu_time(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Sample CHILD; the share of intervals shorter than 0.9 periods into
 * *SHORT and the samples per second of its CPU time into *RATE. Returns the
 * samples, or -1 if perf events cannot be opened. */
static long sample_child(pid_t child, bool steady, double *shortish, double *rate)
{
	struct sampler_opts o = { .frequency = HZ, .fp = true, .buffer_pages = 16, .steady = steady };
	struct sampler *s = sampler_new(&o);
	static struct times ts;
	clockid_t clock;
	int64_t cpu0, start;
	size_t nshort = 0;

	ts.n = 0;
	if (!s || clock_getcpuclockid(child, &clock) != 0)
		return -1;
	if (sampler_open_pid(s, child) < 0 || sampler_enable(s) < 0) {
		sampler_free(s);
		return -1;
	}
	cpu0 = cpu_time(clock);
	start = clock_ns(CLOCK_MONOTONIC);
	/* 800 samples, or what 10 s give on a machine too busy for that. */
	while (clock_ns(CLOCK_MONOTONIC) - start < 10000000000LL && ts.n < 800) {
		nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
		sampler_dither(s);
		sampler_drain(s, UINT64_MAX, on_record, &ts);
	}
	sampler_disable(s);
	*rate = ts.n / ((cpu_time(clock) - cpu0) / 1e9);
	sampler_drain(s, UINT64_MAX, on_record, &ts);
	sampler_free(s);
	for (size_t i = 1; i < ts.n; i++)
		nshort += ts.t[i] - ts.t[i - 1] < 900000000ULL / HZ;
	*shortish = ts.n > 1 ? (double)nshort / (ts.n - 1) : 0;
	return ts.n;
}

int main(void)
{
	double shortish, rate;
	cpu_set_t one;
	long n;
	pid_t child = fork();

	if (child == 0) {
		volatile unsigned long x = 0;
		CPU_ZERO(&one);
		CPU_SET(0, &one);
		sched_setaffinity(0, sizeof(one), &one);
		for (;;)
			x++;
	}
	if (child < 0)
		return 1;
	n = sample_child(child, true, &shortish, &rate);
	if (n < 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		printf("SKIP: cannot open perf events (perf_event_paranoid, or not root)\n");
		return 77;
	}
	printf("fixed period: %ld samples, %.1f%% of intervals under 0.9 periods, %.1f Hz of CPU\n",
	       n, 100 * shortish, rate);
	CHECK(n >= 30);
	CHECK(shortish < 0.02);
	CHECK(rate > 0.85 * HZ && rate < 1.15 * HZ);

	n = sample_child(child, false, &shortish, &rate);
	printf("dithered: %ld samples, %.1f%% of intervals under 0.9 periods, %.1f Hz of CPU\n", n,
	       100 * shortish, rate);
	CHECK(n >= 30);
	/* The rate is drawn from 0.5 to 1.5 times HZ: 39% of the periods are
	 * under 0.9 of the mean, fewer of the intervals when preempted. */
	CHECK(shortish > 0.10);
	/* Random spans make a run's rate vary around HZ: by a few percent
	 * mostly, but up to 28% was seen (BENCHMARKS.md), so only a rate far
	 * outside that fails here. */
	CHECK(rate > 0.7 * HZ && rate < 1.4 * HZ);

	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return test_done("test-sample");
}
