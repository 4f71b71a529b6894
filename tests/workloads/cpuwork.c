/* A CPU workload of known shape for cprof's tests and benchmarks: rounds of
 * work_a, work_b (in this program) and work_c (in libcpuwork.so) in the ratio
 * given by --split (default 60:30:10), called through stage functions so the
 * stacks have depth. --threads N runs the rounds in N threads; --late S
 * starts one more thread, running late_worker, after S seconds; --seconds S
 * exits after S seconds of wall time (default: run until killed); --rounds N
 * does exactly N rounds per thread (fixed work, for benchmarks); --dlopen LIB
 * loads LIB after half a second and calls its work_c from then on (code
 * mapped while being profiled). Each call's length is drawn at random, from
 * 0.5 to 1.5 times its mean, from a generator seeded per thread (--seed N,
 * default 1), so that no fixed sampling period can lock onto the rounds;
 * --fixed-rounds makes every round the same length, as a periodic program's
 * are, and --cpu-rounds MS makes each exactly MS milliseconds of the thread's
 * CPU time, split as --split says: a sampling period of MS locks onto them.
 * SIGUSR1 swaps the shares of work_a and work_c (60:30:10 becomes 10:30:60):
 * the hot function changes at a moment a test chooses. */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "cpuwork.h"

static unsigned long split[3] = { 6, 3, 1 };
static long rounds = -1;
static bool fixed_rounds;
static unsigned long seed = 1;
static unsigned long next_seed;
static __thread unsigned long rng;
static long cpu_round_ns; /* --cpu-rounds */
static __thread long cpu_until; /* the thread CPU time the current call runs to */
static volatile unsigned long sink;
static unsigned long (*work_c_fn)(unsigned long) = work_c;

#define BARRIER(x) __asm__ volatile("" : "+r"(x))

__attribute__((noinline)) static unsigned long work_a(unsigned long units)
{
	unsigned long x = units + 1;

	for (unsigned long i = 0; i < units * 1000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	BARRIER(x);
	return x;
}

__attribute__((noinline)) static unsigned long work_b(unsigned long units)
{
	unsigned long x = units + 2;

	for (unsigned long i = 0; i < units * 1000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	BARRIER(x);
	return x;
}

/* SHARE's units of 1000 iterations for one call: 200 per unit of --split,
 * or from 100 to 300 at random. */
static unsigned long cpuwork_units(unsigned long share)
{
	if (fixed_rounds)
		return share * 200;
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return share * (100 + rng % 201);
}

static long cpuwork_thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* With --cpu-rounds: whether the current call has run its share of the
 * round in thread CPU time; the next call's end is then set. */
static int cpuwork_done(unsigned long share)
{
	if (cpuwork_thread_ns() < cpu_until)
		return 0;
	cpu_until += cpu_round_ns * share / (split[0] + split[1] + split[2]);
	return 1;
}

__attribute__((noinline)) static unsigned long stage_a(void)
{
	unsigned long x = 0;

	if (!cpu_round_ns)
		x = work_a(cpuwork_units(split[0]));
	else
		while (!cpuwork_done(split[1]))
			x += work_a(20);
	BARRIER(x);
	return x;
}

__attribute__((noinline)) static unsigned long stage_b(void)
{
	unsigned long x = 0;

	if (!cpu_round_ns)
		x = work_b(cpuwork_units(split[1]));
	else
		while (!cpuwork_done(split[2]))
			x += work_b(20);
	BARRIER(x);
	return x;
}

__attribute__((noinline)) static unsigned long stage_c(void)
{
	unsigned long (*f)(unsigned long) = __atomic_load_n(&work_c_fn, __ATOMIC_RELAXED);
	unsigned long x = 0;

	if (!cpu_round_ns)
		x = f(cpuwork_units(split[2]));
	else
		while (!cpuwork_done(split[0]))
			x += f(20);
	BARRIER(x);
	return x;
}

__attribute__((noinline)) static void run_rounds(void)
{
	/* Thread k of the run gets seed + k: threads differ, runs repeat. */
	rng = (seed + __atomic_fetch_add(&next_seed, 1, __ATOMIC_RELAXED)) * 0x9e3779b97f4a7c15UL | 1;
	cpu_until = cpuwork_thread_ns() + cpu_round_ns * split[0] / (split[0] + split[1] + split[2]);
	for (long r = 0; rounds < 0 || r < rounds; r++) {
		unsigned long x = stage_a() + stage_b() + stage_c();
		BARRIER(x);
		sink += x;
	}
}

__attribute__((noinline)) static void *worker(void *arg)
{
	prctl(PR_SET_NAME, "cpuwork-worker");
	run_rounds();
	return arg;
}

__attribute__((noinline)) static void *late_worker(void *arg)
{
	prctl(PR_SET_NAME, "cpuwork-late");
	for (;;) {
		unsigned long x = spin(1, 7);
		BARRIER(x);
		sink += x;
	}
	return arg;
}

static void *late_starter(void *arg)
{
	double delay = *(double *)arg;
	pthread_t t;

	usleep(delay * 1e6);
	pthread_create(&t, NULL, late_worker, NULL);
	return NULL;
}

static void *late_loader(void *arg)
{
	void *h;
	void *f;

	usleep(500000);
	h = dlopen(arg, RTLD_NOW | RTLD_LOCAL);
	f = h ? dlsym(h, "work_c") : NULL;
	if (!f) {
		fprintf(stderr, "cpuwork: %s\n", dlerror());
		exit(1);
	}
	__atomic_store_n(&work_c_fn, (unsigned long (*)(unsigned long))f, __ATOMIC_RELAXED);
	return NULL;
}

static void *timer(void *arg)
{
	usleep(*(double *)arg * 1e6);
	exit(0);
}

static void cpuwork_swap(int sig)
{
	unsigned long a = split[0];

	(void)sig;
	split[0] = split[2];
	split[2] = a;
}

int main(int argc, char **argv)
{
	static double seconds = -1, late = -1;
	const char *lib = NULL;
	int threads = 0;
	pthread_t t;

	for (int i = 1; i < argc; i += 2) {
		if (strcmp(argv[i], "--fixed-rounds") == 0) {
			fixed_rounds = true;
			i--;
		} else if (i + 1 == argc)
			goto usage;
		else if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--late") == 0)
			late = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--dlopen") == 0)
			lib = argv[i + 1];
		else if (strcmp(argv[i], "--cpu-rounds") == 0)
			cpu_round_ns = atof(argv[i + 1]) * 1e6;
		else if (strcmp(argv[i], "--seed") == 0)
			seed = strtoul(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--rounds") == 0)
			rounds = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--split") == 0 &&
			 sscanf(argv[i + 1], "%lu:%lu:%lu", &split[0], &split[1], &split[2]) == 3)
			;
		else {
usage:
			fprintf(stderr, "usage: cpuwork [--threads N] [--late S] [--seconds S] "
					"[--rounds N] [--split A:B:C] [--seed N] [--fixed-rounds] [--cpu-rounds MS] "
					"[--dlopen LIB]\n");
			return 2;
		}
	}
	signal(SIGUSR1, cpuwork_swap);
	if (seconds > 0)
		pthread_create(&t, NULL, timer, &seconds);
	if (late >= 0)
		pthread_create(&t, NULL, late_starter, &late);
	if (lib)
		pthread_create(&t, NULL, late_loader, (void *)lib);
	if (threads > 0) {
		pthread_t *ts = calloc(threads, sizeof(*ts));
		for (int i = 0; i < threads; i++)
			pthread_create(&ts[i], NULL, worker, NULL);
		for (int i = 0; i < threads; i++)
			pthread_join(ts[i], NULL);
		free(ts);
		return 0;
	}
	run_rounds();
	return 0;
}
