/* lib/trace.c: the timeline built from switch records as the kernel gives
 * them (a thread's first record, forks, exits, lost halves, the end), its
 * totals and latency quantiles, the cap on kept intervals, the stacks waits
 * began in, and the exact JSON it writes. */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "trace.h"

/* Pids no process has: their names are never read from /proc. */
#define P 2000000001
#define Q 2000000002

/* The JSON of T (no profile), in a new string. */
static char *json(const struct trace *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(trace_write_json(t, f, NULL, "demo \"x\"") == 0);
	fclose(f);
	return buf;
}

/* One thread through every state, and the timeline's end. */
static void test_states(void)
{
	struct trace *t = trace_new(0, 100);
	const struct trace_interval *v;
	const struct trace_thread *th;
	size_t n;
	uint64_t dropped;
	static const double q[] = { 0.5, 1.0 };
	int64_t lat[2];

	trace_start(t, 1000);
	CHECK(trace_name(t, P, P, "main") == 0);
	CHECK(trace_switch(t, P, P, 1500, true, false, 1) == 0);  /* running since the start */
	CHECK(trace_switch(t, P, P, 2500, false, false, 0) == 0); /* blocked 1000 */
	CHECK(trace_switch(t, P, P, 3000, true, true, 0) == 0);   /* ran 500 on CPU 0 */
	CHECK(trace_switch(t, P, P, 3400, false, false, 1) == 0); /* runnable 400 */
	CHECK(trace_end(t, 5000) == 0);                           /* runs to the end on CPU 1 */
	v = trace_intervals(t, &n, &dropped);
	CHECK(n == 5 && dropped == 0);
	CHECK(v[0].start == 1000 && v[0].end == 1500 && v[0].state == TRACE_RUNNING &&
	      v[0].cpu == -1);
	CHECK(v[1].start == 1500 && v[1].end == 2500 && v[1].state == TRACE_BLOCKED);
	CHECK(v[2].end == 3000 && v[2].state == TRACE_RUNNING && v[2].cpu == 0);
	CHECK(v[3].end == 3400 && v[3].state == TRACE_RUNNABLE && v[3].cpu == -1);
	CHECK(v[4].start == 3400 && v[4].end == 5000 && v[4].cpu == 1);
	th = trace_threads(t, &n);
	CHECK(n == 1);
	CHECK(th[0].ns[TRACE_RUNNING] == 2600 && th[0].ns[TRACE_BLOCKED] == 1000 &&
	      th[0].ns[TRACE_RUNNABLE] == 400);
	CHECK(th[0].count[TRACE_RUNNING] == 3 && th[0].count[TRACE_BLOCKED] == 1);
	CHECK(th[0].longest[0] == 1000 && th[0].longest_at[0] == 1500);
	CHECK(th[0].longest[1] == 400 && th[0].longest_at[1] == 3000);
	CHECK(trace_latency(t, q, 2, lat) == 1 && lat[0] == 400 && lat[1] == 400);
	CHECK(trace_missed(t) == 0);
	trace_free(t);
}

/* A lost half (two switch-outs in a row) is counted, not made an interval;
 * past the cap intervals are counted as dropped, and the totals go on. */
static void test_missed_and_cap(void)
{
	struct trace *t = trace_new(100, 2);
	const struct trace_thread *th;
	size_t n;
	uint64_t dropped;

	CHECK(trace_switch(t, P, P, 200, true, false, 0) == 0);
	CHECK(trace_switch(t, P, P, 300, true, false, 0) == 0); /* the switch-in was lost */
	CHECK(trace_missed(t) == 1);
	CHECK(trace_switch(t, P, P, 400, false, false, 0) == 0);
	CHECK(trace_switch(t, P, P, 450, true, true, 0) == 0);
	CHECK(trace_end(t, 500) == 0);
	trace_intervals(t, &n, &dropped);
	CHECK(n == 2 && dropped == 2);
	th = trace_threads(t, &n);
	/* running 100-200, blocked 300-400 (the lost time unknown), 400-450 running,
	 * runnable 450-500 */
	CHECK(th[0].ns[TRACE_RUNNING] == 150 && th[0].ns[TRACE_BLOCKED] == 100 &&
	      th[0].ns[TRACE_RUNNABLE] == 50);
	trace_free(t);
}

/* A thread made during the trace is runnable until it first runs, named as
 * its creator; one that exits is closed then, and not again at the end; a
 * thread that never switched is off the CPU since before the start. */
static void test_tasks(void)
{
	struct trace *t = trace_new(1000, 100);
	const struct trace_interval *v;
	const struct trace_thread *th;
	size_t n;
	uint64_t dropped;

	CHECK(trace_name(t, P, P, "server") == 0);
	CHECK(trace_task(t, P, P + 10, P, 2000, false) == 0);
	CHECK(trace_switch(t, P, P + 10, 2100, false, false, 1) == 0);
	CHECK(trace_task(t, P, P + 10, P, 2600, true) == 0);
	CHECK(trace_idle(t, Q, Q) == 0);
	CHECK(trace_end(t, 3000) == 0);
	th = trace_threads(t, &n);
	CHECK(n == 3);
	CHECK_STR(th[1].name, "server");
	CHECK(th[1].gone && th[1].ns[TRACE_RUNNABLE] == 100 && th[1].ns[TRACE_RUNNING] == 500);
	CHECK(th[2].ns[TRACE_UNKNOWN] == 2000);
	CHECK(th[0].ns[TRACE_RUNNING] + th[0].ns[TRACE_BLOCKED] + th[0].ns[TRACE_UNKNOWN] == 0);
	v = trace_intervals(t, &n, &dropped);
	CHECK(n == 3);
	CHECK(v[0].state == TRACE_RUNNABLE && v[0].start == 2000 && v[0].end == 2100);
	CHECK(v[1].state == TRACE_RUNNING && v[1].end == 2600 && v[1].cpu == 1);
	CHECK(v[2].state == TRACE_UNKNOWN && v[2].start == 1000 && v[2].end == 3000);
	trace_free(t);
}

/* A wait's stack, sampled as it ends, marks its interval and the thread's
 * longest wait; one still open at the end is kept until the end cuts it. */
static void test_stacks(void)
{
	struct trace *t = trace_new(0, 100);
	static const uint64_t a[] = { 7, 8, 9 }, b[] = { 11 };
	const struct trace_interval *v;
	const struct trace_thread *th;
	size_t n;
	uint64_t dropped;

	trace_start(t, 1000);
	CHECK(trace_switch(t, P, P, 1100, true, false, 0) == 0);
	CHECK(trace_switch(t, P, P, 1900, false, false, 0) == 0);
	CHECK(trace_stack(t, P, 1100, 1900, a, 3) == 0);
	CHECK(trace_switch(t, P, P, 2000, true, false, 0) == 0);
	CHECK(trace_stack(t, P, 2000, 2500, b, 1) == 0); /* still blocked when cut */
	CHECK(trace_end(t, 2500) == 0);
	v = trace_intervals(t, &n, &dropped);
	CHECK(n == 4);
	CHECK(v[1].state == TRACE_BLOCKED && v[1].loc == 7);
	CHECK(v[3].state == TRACE_BLOCKED && v[3].loc == 11 && v[3].end == 2500);
	th = trace_threads(t, &n);
	CHECK(th[0].longest[0] == 800 && th[0].nstack[0] == 3 && th[0].stack[0][2] == 9);
	trace_free(t);
}

/* The file: names first, then whole microseconds from the start, each end
 * the next start. */
static void test_json(void)
{
	struct trace *t = trace_new(0, 100);
	char *s;

	trace_start(t, 1000000);
	CHECK(trace_name(t, P, P, "a\tb") == 0);
	CHECK(trace_switch(t, P, P, 1001500, true, false, 0) == 0);
	CHECK(trace_switch(t, P, P, 1003999, false, false, 1) == 0);
	CHECK(trace_idle(t, P, P + 1) == 0);
	CHECK(trace_end(t, 1010000) == 0);
	s = json(t);
	CHECK_STR(s,
		  "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n"
		  "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":2000000001,\"tid\":2000000001,"
		  "\"args\":{\"name\":\"demo \\\"x\\\"\"}},\n"
		  "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":2000000001,\"tid\":2000000001,"
		  "\"args\":{\"name\":\"a\\tb\"}},\n"
		  "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":2000000001,\"tid\":2000000002,"
		  "\"args\":{\"name\":\"thread\"}},\n"
		  "{\"ph\":\"X\",\"name\":\"running\",\"cat\":\"cpu\",\"pid\":2000000001,"
		  "\"tid\":2000000001,\"ts\":0,\"dur\":1},\n"
		  "{\"ph\":\"X\",\"name\":\"blocked\",\"cat\":\"off-cpu\",\"pid\":2000000001,"
		  "\"tid\":2000000001,\"ts\":1,\"dur\":2},\n"
		  "{\"ph\":\"X\",\"name\":\"running\",\"cat\":\"cpu\",\"pid\":2000000001,"
		  "\"tid\":2000000001,\"ts\":3,\"dur\":7,\"args\":{\"cpu\":1}},\n"
		  "{\"ph\":\"X\",\"name\":\"off-CPU (since before the start)\",\"cat\":\"off-cpu\","
		  "\"pid\":2000000001,\"tid\":2000000002,\"ts\":0,\"dur\":10}\n"
		  "],\"otherData\":{\"producer\":\"cprof trace\",\"intervals_dropped\":0,"
		  "\"switches_missed\":0}}\n");
	free(s);
	trace_free(t);
}

/* Past a million runnable intervals the quantiles come from a uniform
 * sample, the longest still exact. */
static void test_latency_reservoir(void)
{
	struct trace *t = trace_new(0, 0);
	static const double q[] = { 0.5, 0.99, 1.0 };
	int64_t lat[3];
	uint64_t now = 1;
	int rc = 0;

	/* 3,000,000 preemptions of 1..100 us, evenly; then one of 1 s. */
	for (int i = 0; i < 3000000 && !rc; i++) {
		rc |= trace_switch(t, P, P, now, true, true, 0);
		now += 1000 * (uint64_t)(1 + i % 100);
		rc |= trace_switch(t, P, P, now, false, false, 0);
		now += 10;
	}
	rc |= trace_switch(t, P, P, now, true, true, 0);
	rc |= trace_switch(t, P, P, now + 1000000000, false, false, 0);
	CHECK(rc == 0);
	CHECK(trace_latency(t, q, 3, lat) == 3000001);
	CHECK(lat[0] >= 47000 && lat[0] <= 53000);
	CHECK(lat[1] >= 98000 && lat[1] <= 100000);
	CHECK(lat[2] == 1000000000);
	trace_free(t);
}

int main(void)
{
	test_states();
	test_missed_and_cap();
	test_tasks();
	test_stacks();
	test_json();
	test_latency_reservoir();
	return test_done("test-trace");
}
