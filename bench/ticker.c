/* A target for bench/threads.sh that measures, from inside, how long a
 * thread of it was kept from running while a tool dumped its threads.
 *
 *   ticker --threads N --shm FILE [--wait idle|pool] [--mode tick|spin] [--depth D]
 *          [--busy B]
 *
 * runs N threads in all: N - 1 waiting threads (--wait idle: sleeping in
 * pause() like threadwork --idle; pool: waiting on a condition variable like
 * threadwork --pool), each D calls deep in nest() before it waits (default 0:
 * 4 frames from clone3 to the wait; D = 30 gives stacks of ~34 frames, as in
 * a server), B more threads (named "busy") that run flat out all the time, for
 * a machine loaded with more runnable threads than CPUs (default 0), and the
 * main thread, named "ticker", which measures:
 *
 *   tick  wakes every 1 ms (clock_nanosleep to an absolute deadline, 1 ns
 *         timer slack) and records the longest gap between two consecutive
 *         wake-ups. A tool that stops the ticker for S (S > 1 ms) delays the
 *         wake-ups inside S to its end: the longest gap is then between S and
 *         S + 1 ms. A stop shorter than the period is seen only when it
 *         covers a wake-up (the thread is asleep, not running, otherwise).
 *   spin  reads CLOCK_MONOTONIC in a loop and records the longest gap between
 *         two consecutive reads: any stop of this running thread, however
 *         short, shows in full (plus any preemption by other work). It costs
 *         a CPU while it spins, so it spins only while the bench sets
 *         "armed" in FILE, and otherwise polls that flag every millisecond.
 *
 * FILE (created, 4096 bytes) holds a struct ticker_shm that the bench reads
 * and writes with mmap: it bumps reset_gen, waits until seen_gen follows
 * (the ticker zeroed its record), runs the tool, lets a few periods pass and
 * reads max_gap_ns. The bench never signals the target, so nothing of the
 * measurement interferes with the tools' ptrace stops. SIGTERM exits. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

struct ticker_shm {
	uint64_t magic;               /* 0x7469636b65720001 once set up */
	volatile uint64_t reset_gen;  /* written by the bench */
	volatile uint64_t seen_gen;   /* the last reset_gen the ticker applied */
	volatile uint64_t ticks;      /* ticks (or spins / 1024) since the reset */
	volatile int64_t max_gap_ns;  /* the longest gap since the reset */
	volatile int64_t max_gap_end; /* CLOCK_MONOTONIC ns at its end */
	volatile int64_t threads;     /* threads started (N when ready) */
	volatile int64_t pid;
	volatile uint64_t armed;      /* spin mode: spin only while non-zero */
};

#define PERIOD_NS 1000000LL

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int pool_wait, depth;
static volatile uint64_t burn;
static volatile int quit; /* never set: keeps the compiler from seeing no return */

__attribute__((noinline)) static void wait_forever(void)
{
	if (pool_wait) {
		pthread_mutex_lock(&lock);
		while (!quit)
			pthread_cond_wait(&never, &lock);
		pthread_mutex_unlock(&lock);
		return;
	}
	while (!quit)
		pause();
}

/* D frames of its own on the stack, then wait (not a tail call: the volatile
 * local is used after the call). */
__attribute__((noinline)) static int nest(int d)
{
	volatile int keep = d;

	if (d > 0)
		nest(d - 1);
	else
		wait_forever();
	return keep;
}

__attribute__((noinline)) static void *worker(void *arg)
{
	prctl(PR_SET_NAME, pool_wait ? "pool" : "idle");
	nest(depth);
	return arg;
}

__attribute__((noinline)) static void *busy(void *arg)
{
	prctl(PR_SET_NAME, "busy");
	for (;;)
		burn++;
	return arg;
}

static void apply_reset(struct ticker_shm *s, uint64_t gen)
{
	s->max_gap_ns = 0;
	s->max_gap_end = 0;
	s->ticks = 0;
	__atomic_store_n(&s->seen_gen, gen, __ATOMIC_RELEASE);
}

static void note_gap(struct ticker_shm *s, int64_t gap, int64_t end)
{
	if (gap > s->max_gap_ns) {
		s->max_gap_ns = gap;
		s->max_gap_end = end;
	}
}

__attribute__((noinline)) static void tick_loop(struct ticker_shm *s)
{
	int64_t prev = now_ns(), next = prev + PERIOD_NS;
	uint64_t gen = s->seen_gen;

	prctl(PR_SET_TIMERSLACK, 1UL);
	for (;;) {
		struct timespec t = { next / 1000000000LL, next % 1000000000LL };
		int64_t now;
		uint64_t g;

		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
			;
		now = now_ns();
		g = __atomic_load_n(&s->reset_gen, __ATOMIC_ACQUIRE);
		if (g != gen) {
			gen = g;
			apply_reset(s, g);
		} else {
			note_gap(s, now - prev, now);
			s->ticks++;
		}
		prev = now;
		next += PERIOD_NS;
		if (next <= now) /* fell behind (stopped): no burst of catch-up ticks */
			next = now + PERIOD_NS;
	}
}

__attribute__((noinline)) static void spin_loop(struct ticker_shm *s)
{
	int64_t prev = now_ns();
	uint64_t gen = s->seen_gen, n = 0;

	for (;;) {
		int64_t now;

		if (!__atomic_load_n(&s->armed, __ATOMIC_ACQUIRE)) {
			struct timespec t = { 0, 1000000 };
			uint64_t g = __atomic_load_n(&s->reset_gen, __ATOMIC_ACQUIRE);
			if (g != gen) {
				gen = g;
				apply_reset(s, g);
			}
			nanosleep(&t, NULL);
			prev = now_ns();
			continue;
		}
		now = now_ns();

		if ((++n & 1023) == 0) {
			uint64_t g = __atomic_load_n(&s->reset_gen, __ATOMIC_ACQUIRE);
			if (g != gen) {
				gen = g;
				apply_reset(s, g);
				prev = now_ns();
				continue;
			}
			s->ticks++;
		}
		if (now - prev > s->max_gap_ns)
			note_gap(s, now - prev, now);
		prev = now;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: ticker --threads N --shm FILE [--wait idle|pool] [--mode tick|spin] "
			"[--depth D] [--busy B]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long threads = 0, nbusy = 0;
	const char *shm = NULL, *wait = "idle", *mode = "tick";
	struct ticker_shm *s;
	pthread_attr_t a;
	int fd;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--threads") == 0)
			threads = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--shm") == 0)
			shm = argv[i + 1];
		else if (strcmp(argv[i], "--wait") == 0)
			wait = argv[i + 1];
		else if (strcmp(argv[i], "--mode") == 0)
			mode = argv[i + 1];
		else if (strcmp(argv[i], "--depth") == 0)
			depth = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--busy") == 0)
			nbusy = atol(argv[i + 1]);
		else
			usage();
	}
	if (threads < 1 || !shm || (strcmp(wait, "idle") && strcmp(wait, "pool")) ||
	    (strcmp(mode, "tick") && strcmp(mode, "spin")) || depth < 0 || depth > 1000 ||
	    nbusy < 0 || nbusy > 64)
		usage();
	pool_wait = strcmp(wait, "pool") == 0;
	fd = open(shm, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 4096) < 0) {
		perror(shm);
		return 1;
	}
	s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	close(fd);
	s->pid = getpid();
	s->threads = 1;
	prctl(PR_SET_NAME, "ticker");
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 64 * 1024);
	for (long i = 1; i < threads; i++) {
		pthread_t t;
		if (pthread_create(&t, &a, worker, NULL)) {
			fprintf(stderr, "ticker: pthread_create failed after %ld threads\n", i);
			return 1;
		}
		s->threads = i + 1;
	}
	for (long i = 0; i < nbusy; i++) {
		pthread_t t;
		if (pthread_create(&t, &a, busy, NULL)) {
			fprintf(stderr, "ticker: pthread_create failed for busy thread %ld\n", i);
			return 1;
		}
		s->threads++;
	}
	pthread_attr_destroy(&a);
	__atomic_store_n(&s->magic, 0x7469636b65720001ULL, __ATOMIC_RELEASE);
	if (strcmp(mode, "tick") == 0)
		tick_loop(s);
	else
		spin_loop(s);
	return 0;
}
