/* An off-CPU workload for cprof offcpu's tests and benchmarks. Threads:
 *   reader        waits 70% of each 10 ms cycle for a pipe in wait_pipe (a
 *                 byte from writer, sent on the cycle) and 30% in wait_sleep
 *                 (nanosleep 3 ms); it hardly runs
 *   writer        writes that byte every 10 ms, asleep in between
 *   lock-a lock-b contend on one mutex in lock_site, each holding it for
 *                 1 ms of CPU in hold_lock, then 0.2 ms away from it
 *   busy          spins in busy_loop, never waiting (--busy N: N of them;
 *                 more than the CPUs make them wait for one, runnable)
 * Options:
 *   --switches N  instead, two threads (ping, pong) passing a byte back and
 *                 forth through two pipes about N times a second in all
 *                 (0: as fast as they can), in ping_wait (benchmarks); at
 *                 the end of --seconds, "round_trips=R cpu_ns=C" on stderr:
 *                 the trips made and the CPU time the process used
 *   --trips M     the ping-pong as fast as it goes, until M round trips;
 *                 then "round_trips=M wall_ns=W cpu_ns=C" on stderr
 *   --pin         the ping-pong on the first CPU only: each switch hands
 *                 the CPU from one to the other, with no idle CPU woken
 *                 (whose cost in a VM would swamp what a profiler adds)
 *   --seconds S   exit after S seconds (default: run until killed)
 * On SIGTERM, and at the end of --seconds, it writes "reader pipe_ns=P
 * sleep_ns=S" on stderr: the time the reader measured itself in each wait;
 * and "busy wall_ns=W cpu_ns=C1,C2...": the time since it began and each
 * busy thread's CPU time (on SIGTERM it then exits). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static int pipe_fds[2], ping_fds[2], pong_fds[2];
static pthread_mutex_t contended = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long sink;
static long switches = -1;
static unsigned long round_trips;

static void waitwork_name(const char *name)
{
	prctl(PR_SET_NAME, name);
}

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Burn NS of this thread's CPU time. */
static void spin_cpu(int64_t ns)
{
	struct timespec t;
	int64_t end;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	end = (int64_t)t.tv_sec * 1000000000 + t.tv_nsec + ns;
	do {
		for (int i = 0; i < 1000; i++)
			sink += i;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	} while ((int64_t)t.tv_sec * 1000000000 + t.tv_nsec < end);
}

__attribute__((noinline)) static void wait_pipe(void)
{
	char c;

	if (read(pipe_fds[0], &c, 1) != 1)
		exit(1);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void wait_sleep(void)
{
	struct timespec t = { 0, 3000000 };

	nanosleep(&t, NULL);
	__asm__ volatile("" ::: "memory");
}

/* The reader's own measure of its waits, for the tests to hold cprof to:
 * on a loaded machine the sleep runs late and the pipe wait is shorter. */
static volatile int64_t reader_pipe_ns, reader_sleep_ns;

static void *reader(void *arg)
{
	(void)arg;
	waitwork_name("reader");
	for (;;) {
		int64_t t0 = now_ns(), t1;
		wait_sleep();
		t1 = now_ns();
		reader_sleep_ns += t1 - t0;
		wait_pipe();
		reader_pipe_ns += now_ns() - t1;
	}
	return NULL;
}

/* Async-signal-safe decimal of V at the end of BUF (N bytes); its start. */
static char *waitwork_itoa(int64_t v, char *buf, size_t n)
{
	char *p = buf + n;

	*--p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) > 0 && p > buf);
	return p;
}

/* The busy threads' CPU clocks, and when the process began, for the line
 * SIGTERM writes. */
#define WAITWORK_MAX_BUSY 16
static clockid_t busy_clocks[WAITWORK_MAX_BUSY];
static int nbusy = 1, busy_made;
static int64_t started_ns;

static void waitwork_put(const char *s)
{
	if (write(2, s, strlen(s)) < 0)
		_exit(1);
}

/* The reader's measure, "reader pipe_ns=P sleep_ns=S", and the busy
 * threads' CPU time since the start, "busy wall_ns=W cpu_ns=C1,C2..." on
 * stderr (async-signal-safe). */
static void waitwork_report(void)
{
	char a[24];
	struct timespec t;

	waitwork_put("reader pipe_ns=");
	waitwork_put(waitwork_itoa(reader_pipe_ns, a, sizeof(a)));
	waitwork_put(" sleep_ns=");
	waitwork_put(waitwork_itoa(reader_sleep_ns, a, sizeof(a)));
	waitwork_put("\nbusy wall_ns=");
	waitwork_put(waitwork_itoa(now_ns() - started_ns, a, sizeof(a)));
	waitwork_put(" cpu_ns=");
	for (int i = 0; i < __atomic_load_n(&busy_made, __ATOMIC_ACQUIRE); i++) {
		clock_gettime(busy_clocks[i], &t);
		waitwork_put(i ? "," : "");
		waitwork_put(waitwork_itoa((int64_t)t.tv_sec * 1000000000 + t.tv_nsec, a, sizeof(a)));
	}
	waitwork_put("\n");
}

/* SIGTERM (cprof ending a command it started, or a test): the report, and exit. */
static void waitwork_term(int sig)
{
	(void)sig;
	waitwork_report();
	_exit(0);
}

static void *writer(void *arg)
{
	struct timespec t;

	(void)arg;
	waitwork_name("writer");
	clock_gettime(CLOCK_MONOTONIC, &t);
	for (;;) {
		t.tv_nsec += 10000000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_nsec -= 1000000000;
			t.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
		if (write(pipe_fds[1], "x", 1) != 1)
			exit(1);
	}
	return NULL;
}

__attribute__((noinline)) static void hold_lock(void)
{
	spin_cpu(1000000);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void lock_site(void)
{
	pthread_mutex_lock(&contended);
	hold_lock();
	pthread_mutex_unlock(&contended);
	__asm__ volatile("" ::: "memory");
}

static void *locker(void *arg)
{
	waitwork_name(arg);
	for (;;) {
		lock_site();
		spin_cpu(200000);
	}
	return NULL;
}

__attribute__((noinline)) static void busy_loop(void)
{
	for (;;)
		for (int i = 0; i < 1000000; i++)
			sink += i;
}

static void *busy(void *arg)
{
	(void)arg;
	waitwork_name("busy");
	busy_loop();
	return NULL;
}

__attribute__((noinline)) static void ping_wait(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1)
		exit(1);
	__asm__ volatile("" ::: "memory");
}

/* One side of the ping-pong: wait for the byte, pass it on, and keep to
 * the rate (each round trip is two switches a side). */
static void *pinger(void *arg)
{
	int side = arg != NULL;
	int64_t gap = switches > 0 ? 2 * 1000000000LL / switches : 0, next = now_ns();

	waitwork_name(side ? "pong" : "ping");
	if (!side && write(ping_fds[1], "x", 1) != 1)
		exit(1);
	for (;;) {
		ping_wait(side ? ping_fds[0] : pong_fds[0]);
		if (gap && side) {
			next += gap;
			while (now_ns() < next)
				;
		}
		if (write(side ? pong_fds[1] : ping_fds[1], "x", 1) != 1)
			exit(1);
		if (side)
			__atomic_fetch_add(&round_trips, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	long seconds = 0, trips = 0;
	int pin = 0;
	int64_t t0 = started_ns = now_ns();

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atol(argv[++i]);
		else if (strcmp(argv[i], "--switches") == 0 && i + 1 < argc)
			switches = atol(argv[++i]);
		else if (strcmp(argv[i], "--pin") == 0)
			pin = 1;
		else if (strcmp(argv[i], "--busy") == 0 && i + 1 < argc &&
			 atoi(argv[i + 1]) >= 0 && atoi(argv[i + 1]) <= WAITWORK_MAX_BUSY)
			nbusy = atoi(argv[++i]);
		else if (strcmp(argv[i], "--trips") == 0 && i + 1 < argc)
			trips = atol(argv[++i]), switches = 0;
		else {
			fprintf(stderr, "usage: waitwork [--switches N | --trips M] [--pin] "
				"[--busy N] [--seconds S]\n");
			return 2;
		}
	}
	if (pipe(pipe_fds) < 0 || pipe(ping_fds) < 0 || pipe(pong_fds) < 0)
		return 1;
	if (switches >= 0) {
		pthread_attr_t attr;
		cpu_set_t one;
		pthread_attr_init(&attr);
		CPU_ZERO(&one);
		CPU_SET(0, &one);
		if (pin)
			pthread_attr_setaffinity_np(&attr, sizeof(one), &one);
		pthread_create(&t, &attr, pinger, NULL);
		pthread_create(&t, &attr, pinger, "");
	} else {
		signal(SIGTERM, waitwork_term);
		pthread_create(&t, NULL, reader, NULL);
		pthread_create(&t, NULL, writer, NULL);
		pthread_create(&t, NULL, locker, "lock-a");
		pthread_create(&t, NULL, locker, "lock-b");
		for (int i = 0; i < nbusy; i++) {
			pthread_create(&t, NULL, busy, NULL);
			pthread_getcpuclockid(t, &busy_clocks[i]);
			__atomic_store_n(&busy_made, i + 1, __ATOMIC_RELEASE);
		}
	}
	while (trips && __atomic_load_n(&round_trips, __ATOMIC_RELAXED) < (unsigned long)trips)
		usleep(1000);
	if (trips) {
		struct timespec cpu;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
		fprintf(stderr, "round_trips=%lu wall_ns=%lld cpu_ns=%lld\n",
			__atomic_load_n(&round_trips, __ATOMIC_RELAXED), (long long)(now_ns() - t0),
			(long long)cpu.tv_sec * 1000000000 + cpu.tv_nsec);
		return 0;
	}
	if (seconds) {
		struct timespec cpu;
		sleep(seconds);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
		if (switches >= 0)
			fprintf(stderr, "round_trips=%lu cpu_ns=%lld\n",
				__atomic_load_n(&round_trips, __ATOMIC_RELAXED),
				(long long)cpu.tv_sec * 1000000000 + cpu.tv_nsec);
		else
			waitwork_report();
		return 0;
	}
	for (;;)
		pause();
}
