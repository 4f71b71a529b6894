/* A thread workload for cprof threads' tests and benchmarks:
 *   --pool N      N threads (pool-0...) waiting on a condition variable forever
 *   --leak MS     a new thread every MS ms, blocked forever in leak_handler
 *   --churn MS    a new short-lived thread every MS ms, sleeping 10-300 ms in
 *                 churn_task, then exiting
 *   --ramp        short-lived threads (300 ms in ramp_task) started ever
 *                 faster: their number grows steadily, but none stays
 *   --idle N      N threads sleeping in idle_worker (for benchmarks)
 *   --spin N      N threads spinning in spin_worker
 *   --main-exit   the main thread calls pthread_exit once the others are
 *                 started; they run on (a live process whose main thread is
 *                 a zombie)
 *   --burst N     N threads started together that all exit at once, 5 ms
 *                 later, again and again (threads caught mid-exit)
 *   --odd-names   a thread for each name in odd_names (a quote, a backslash,
 *                 control characters, ill-formed UTF-8), waiting in odd_worker
 *   --grow-on-hup N  N more pool threads at each SIGHUP (a thread count
 *                 that changes on cue)
 *   --seconds S   exit after S seconds (default: run until killed)
 * SIGUSR1 and the first real-time signal (which, unlike SIGUSR1, queue rather
 * than merge while pending) are counted; on exit (or SIGUSR2) the counts are
 * printed, so a test can check that no signal was lost while cprof held a
 * thread. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int usr1, rtmin; /* handlers on two threads at once: atomic */

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&t, &t) < 0)
		;
}

__attribute__((noinline)) static void *pool_worker(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "pool-%ld", (long)arg);
	prctl(PR_SET_NAME, name);
	pthread_mutex_lock(&lock);
	for (;;)
		pthread_cond_wait(&never, &lock);
	return NULL;
}

/* Names that a JSON writer must escape or repair; tests/threads.sh holds the
 * same list. */
static const char *const odd_names[] = {
	"a\"b", "back\\slash", "new\nline", "tab\tbell\a", "\xff\xfe bad",
	"caf\xc3\xa9", "\xe2\x82\"},{", "\x1b[31mred",
};

__attribute__((noinline)) static void *odd_worker(void *arg)
{
	prctl(PR_SET_NAME, odd_names[(long)arg]);
	pthread_mutex_lock(&lock);
	for (;;)
		pthread_cond_wait(&never, &lock);
	return NULL;
}

__attribute__((noinline)) static void *leak_handler(void *arg)
{
	prctl(PR_SET_NAME, "leaker");
	pthread_mutex_lock(&lock);
	for (;;)
		pthread_cond_wait(&never, &lock);
	return arg;
}

__attribute__((noinline)) static void *churn_task(void *arg)
{
	prctl(PR_SET_NAME, "churner");
	sleep_ms(10 + (long)arg % 290);
	return NULL;
}

__attribute__((noinline)) static void *ramp_task(void *arg)
{
	prctl(PR_SET_NAME, "ramper");
	sleep_ms(300);
	return arg;
}

__attribute__((noinline)) static void *idle_worker(void *arg)
{
	prctl(PR_SET_NAME, "idle");
	for (;;)
		pause();
	return arg;
}

__attribute__((noinline)) static void *spin_worker(void *arg)
{
	volatile unsigned long x = 0;

	prctl(PR_SET_NAME, "spinner");
	for (;;)
		x++;
	return arg;
}

static void spawn(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	pthread_attr_t a;

	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 64 * 1024);
	if (pthread_create(&t, &a, fn, arg))
		fprintf(stderr, "threadwork: pthread_create failed\n");
	pthread_attr_destroy(&a);
}

static long leak_ms, churn_ms, ramp, burst;
static pthread_barrier_t burst_barrier;

static void *leak_spawner(void *arg)
{
	for (;;) {
		sleep_ms(leak_ms);
		spawn(leak_handler, NULL);
	}
	return arg;
}

static void *churn_spawner(void *arg)
{
	unsigned seed = 12345;

	for (;;) {
		sleep_ms(churn_ms);
		spawn(churn_task, (void *)(long)rand_r(&seed));
	}
	return arg;
}

__attribute__((noinline)) static void *burst_task(void *arg)
{
	pthread_barrier_wait(&burst_barrier);
	return arg;
}

static void *burst_spawner(void *arg)
{
	for (;;) {
		pthread_barrier_init(&burst_barrier, NULL, burst + 1);
		for (long i = 0; i < burst; i++)
			spawn(burst_task, NULL);
		sleep_ms(5);
		pthread_barrier_wait(&burst_barrier);
		sleep_ms(5);
		pthread_barrier_destroy(&burst_barrier);
	}
	return arg;
}

static void *ramp_spawner(void *arg)
{
	for (long round = 1;; round++) {
		for (long i = 0; i < round / 2 + 1; i++)
			spawn(ramp_task, NULL);
		sleep_ms(100);
	}
	return arg;
}

static void on_usr1(int sig)
{
	__atomic_fetch_add(sig == SIGUSR1 ? &usr1 : &rtmin, 1, __ATOMIC_RELAXED);
}

static volatile sig_atomic_t hups;

static void on_hup(int sig)
{
	(void)sig;
	hups++;
}

static void on_usr2(int sig)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "usr1 %d\nrtmin %d\n",
			 __atomic_load_n(&usr1, __ATOMIC_RELAXED),
			 __atomic_load_n(&rtmin, __ATOMIC_RELAXED));

	if (write(1, buf, n) < 0)
		_exit(1);
}

int main(int argc, char **argv)
{
	double seconds = -1;
	long pool = 0, idle = 0, spin = 0, main_exit = 0, odd = 0, grow = 0, grown = 0;
	struct sigaction sa;

	for (int i = 1; i < argc; i += 2) {
		if (strcmp(argv[i], "--ramp") == 0) {
			ramp = 1;
			i--;
		} else if (strcmp(argv[i], "--main-exit") == 0) {
			main_exit = 1;
			i--;
		} else if (strcmp(argv[i], "--odd-names") == 0) {
			odd = 1;
			i--;
		} else if (i + 1 >= argc) {
			break;
		} else if (strcmp(argv[i], "--pool") == 0)
			pool = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--leak") == 0)
			leak_ms = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--churn") == 0)
			churn_ms = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--idle") == 0)
			idle = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--spin") == 0)
			spin = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--burst") == 0)
			burst = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--grow-on-hup") == 0)
			grow = atol(argv[i + 1]);
		else {
			fprintf(stderr, "usage: threadwork [--pool N] [--leak MS] [--churn MS] "
					"[--ramp] [--idle N] [--spin N] [--main-exit] [--burst N] [--odd-names] "
					"[--grow-on-hup N] [--seconds S]\n");
			return 2;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGRTMIN, &sa, NULL);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	if (grow > 0) {
		sa.sa_handler = on_hup;
		sigaction(SIGHUP, &sa, NULL);
	}
	for (long i = 0; i < pool; i++)
		spawn(pool_worker, (void *)i);
	for (long i = 0; i < idle; i++)
		spawn(idle_worker, NULL);
	for (long i = 0; odd && i < (long)(sizeof(odd_names) / sizeof(*odd_names)); i++)
		spawn(odd_worker, (void *)i);
	if (leak_ms > 0)
		spawn(leak_spawner, NULL);
	if (churn_ms > 0)
		spawn(churn_spawner, NULL);
	if (ramp)
		spawn(ramp_spawner, NULL);
	if (burst > 0)
		spawn(burst_spawner, NULL);
	for (long i = 0; i < spin; i++)
		spawn(spin_worker, NULL);
	if (main_exit)
		pthread_exit(NULL);
	if (seconds > 0 && grow == 0) {
		sleep_ms(seconds * 1000);
		on_usr2(0);
		return 0;
	}
	for (long slept = 0; seconds <= 0 || slept < seconds * 1000; slept += 50) {
		/* Any thread may take the SIGHUP: look for it, not for pause's end. */
		if (grow > 0)
			sleep_ms(50);
		else
			pause();
		for (; grown < hups * grow; grown++)
			spawn(pool_worker, (void *)(pool + grown));
	}
	on_usr2(0);
	return 0;
}
