/* A heap workload for cprof heap's tests: allocation sites of known shapes.
 * Of the bytes that site_sixty, site_thirty and site_ten allocate (MB
 * megabytes together, argv[1], default 200) they allocate 60%, 30% and 10%,
 * each block freed at once; site_thirty runs on a thread named
 * "heap-thirty". keep_forever keeps 8 MiB to the end; churn allocates and
 * frees 12.5 MiB in small blocks; realloc_chain grows a block by realloc to 4
 * MiB eight times, keeping the last; new_site allocates 5% of MB with C++
 * new (heapwork-new.cc), freed at once. Then a child is forked, which
 * allocates 64 MiB in forked_site and execs this program again as "child",
 * which allocates 64 MiB more in child_site; the parent waits for it and
 * exits with its status. Nothing is freed at exit. With argv[2], SECONDS,
 * site_loop first allocates and frees 4 KiB blocks for that long.
 * `heapwork --leak|--cache|--churn SECONDS` instead runs for SECONDS by its
 * own clock a loop of 10 ms steps, each allocating and freeing 64 blocks of
 * 1 KiB in churn_step, and with --leak also keeping 8 KiB in leak_site, with
 * --cache keeping 8 KiB in cache_site in the first 1.4 s only (about half
 * of the tests' 3 s watch, so that only its second half tells it from a leak).
 * `heapwork --serve ROUNDS` is a running service for `cprof heap --pid`: ROUNDS
 * rounds 10 ms apart (asleep in nanosleep between them), each allocating and
 * freeing 600 KiB in site_sixty, 300 KiB in site_thirty (on the heap-thirty
 * thread, in step with the main one), 100 KiB in site_ten and 50 KiB with C++
 * new, growing a block by realloc with its bytes checked, and keeping 8 KiB in
 * leak_site, filled with the round's number, and 4 KiB in pointer_site (through
 * a pointer to malloc); at the end it prints the rounds
 * and the errors found (bytes realloc or the kept blocks lost, a block smaller
 * than asked), the same whether it was profiled or not. `heapwork --serve
 * ROUNDS PLUGIN` also loads the shared library PLUGIN, calls its plug_site and
 * unloads it again every round. --serve blocks SIGUSR2 and counts as errors a
 * round whose signal mask is not that any more, or whose sleep ended early
 * (EINTR); with HEAPWORK_PPOLL=1 in the environment it sleeps in ppoll with an
 * empty mask instead (a call that swaps the mask while it waits), and with
 * HEAPWORK_SECCOMP=1 it runs under a seccomp filter that kills the process
 * for any system call number it does not know (as systemd's
 * SystemCallFilter= does). SIGTERM ends it after the round under way, with
 * the same line. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void new_site(size_t total);

/* Stores through here keep the compiler from pairing a malloc with its free
 * and dropping both. */
void *volatile heap_sink;

static __attribute__((noinline)) void release(void *p)
{
	heap_sink = p;
	free(p);
}

static __attribute__((noinline)) void site_sixty(size_t total)
{
	for (size_t done = 0; done < total; done += 4096)
		release(malloc(4096));
}

static __attribute__((noinline)) void *site_thirty(void *arg)
{
	size_t total = *(size_t *)arg;

	pthread_setname_np(pthread_self(), "heap-thirty");
	for (size_t done = 0; done < total; done += 1000)
		release(calloc(10, 100));
	return NULL;
}

static __attribute__((noinline)) void site_ten(size_t total)
{
	for (size_t done = 0; done < total; done += 2048) {
		void *p;
		if (posix_memalign(&p, 64, 2048))
			abort();
		release(p);
	}
}

static void *kept[1024];

static __attribute__((noinline)) void keep_forever(void)
{
	for (int i = 0; i < 1024; i++)
		heap_sink = kept[i] = malloc(8192);
}

static __attribute__((noinline)) void churn(void)
{
	for (int i = 0; i < 200000; i++)
		release(malloc(64));
}

static void *chain;

static __attribute__((noinline)) void realloc_chain(void)
{
	for (int round = 0; round < 8; round++) {
		free(chain);
		chain = NULL;
		for (size_t n = 16; n <= 4 << 20; n *= 2) {
			chain = realloc(chain, n);
			memset(chain, 1, 16);
		}
	}
}

static __attribute__((noinline)) void forked_site(void)
{
	for (int i = 0; i < 1024; i++)
		release(malloc(65536));
}

static __attribute__((noinline)) void child_site(void)
{
	for (int i = 0; i < 1024; i++)
		release(malloc(65536));
}

static __attribute__((noinline)) void site_loop(double seconds)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		for (int i = 0; i < 1000; i++)
			release(malloc(4096));
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec + (now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
}

static __attribute__((noinline)) void churn_step(void)
{
	void *blocks[64];

	for (int i = 0; i < 64; i++)
		blocks[i] = heap_sink = malloc(1024);
	for (int i = 0; i < 64; i++)
		release(blocks[i]);
}

static __attribute__((noinline)) void *leak_site(void)
{
	return heap_sink = malloc(8192);
}

/* Malloc taken by address in code (main): a program built without PIE
 * (heapwork-nopie) then has a canonical PLT entry for it, which cprof heap
 * --pid must see through; pointer_site allocates through the pointer. (Built
 * with PIE, the pointer is glibc's malloc itself, which no rerouting of
 * references after the fact reaches.) */
void *(*volatile heap_malloc)(size_t);

static __attribute__((noinline)) void pointer_site(void)
{
	heap_sink = heap_malloc(4096);
}

static __attribute__((noinline)) void cache_site(void)
{
	heap_sink = malloc(8192);
}

static int watched(const char *mode, double seconds)
{
	struct timespec start, now, step = { 0, 10000000 };
	double t;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		churn_step();
		clock_gettime(CLOCK_MONOTONIC, &now);
		t = now.tv_sec - start.tv_sec + (now.tv_nsec - start.tv_nsec) / 1e9;
		if (strcmp(mode, "--leak") == 0)
			leak_site();
		else if (strcmp(mode, "--cache") == 0 && t < 1.4)
			cache_site();
		nanosleep(&step, NULL);
	} while (t < seconds);
	return 0;
}

static pthread_barrier_t serve_round;
static volatile sig_atomic_t serve_stop;
static volatile int serve_done;

static void serve_on_term(int sig)
{
	(void)sig;
	serve_stop = 1;
}

/* A round's 30% on its own thread, in step with the main one, until that
 * says it is done. */
static void *serve_thirty(void *arg)
{
	size_t total = 300 << 10;

	(void)arg;
	pthread_setname_np(pthread_self(), "heap-thirty");
	for (;;) {
		pthread_barrier_wait(&serve_round);
		if (serve_done)
			return NULL;
		site_thirty(&total);
	}
}

/* A block grown by realloc from 16 bytes to 64 KiB, its bytes checked after
 * each move, and its size as the allocator's malloc_usable_size sees it (a
 * block from another allocator than the one asked gives nonsense or a
 * crash); the bytes found wrong. */
static __attribute__((noinline)) long serve_realloc(int round)
{
	unsigned char *p = NULL;
	size_t have = 0;
	long bad = 0;

	for (size_t n = 16; n <= 65536; n *= 2) {
		unsigned char *q = realloc(p, n);
		if (!q)
			abort();
		bad += malloc_usable_size(q) < n;
		for (size_t i = 0; i < have; i++)
			bad += q[i] != (unsigned char)(round + i);
		for (size_t i = have; i < n; i++)
			q[i] = (unsigned char)(round + i);
		p = q;
		have = n;
	}
	release(p);
	return bad;
}

/* Load PLUGIN, call its plug_site, unload it; 1 if it cannot be loaded. */
static int serve_plugin(const char *plugin, int round)
{
	void *h = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);
	void (*site)(int);

	if (!h)
		return 1;
	*(void **)&site = dlsym(h, "plug_site");
	if (site)
		site(round);
	dlclose(h);
	return !site;
}

/* A filter that allows system calls 0 to 459 and kills the process for any
 * other number (-1 among them). */
static void serve_seccomp(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 460, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(*f), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		abort();
}

/* A round's sleep of 10 ms; 1 if it ended early (but for SIGTERM's own
 * EINTR) or the mask changed. */
static int serve_sleep(const sigset_t *mask)
{
	struct timespec step = { 0, 10000000 }, rem;
	sigset_t now, empty;
	int bad;

	sigemptyset(&empty);
	if (getenv("HEAPWORK_PPOLL"))
		bad = ppoll(NULL, 0, &step, &empty) != 0;
	else
		bad = nanosleep(&step, &rem) != 0;
	pthread_sigmask(SIG_SETMASK, NULL, &now);
	return (bad && !serve_stop) + (sigismember(&now, SIGUSR2) != sigismember(mask, SIGUSR2) ||
		      sigismember(&now, SIGUSR1) != sigismember(mask, SIGUSR1));
}

static int serve(int rounds, const char *plugin)
{
	static unsigned char *kept_blocks[100000];
	size_t sixty = 600 << 10, ten = 100 << 10;
	sigset_t mask;
	pthread_t t;
	long bad = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	if (getenv("HEAPWORK_SECCOMP"))
		serve_seccomp();
	if (rounds > 100000)
		rounds = 100000;
	signal(SIGTERM, serve_on_term);
	pthread_barrier_init(&serve_round, NULL, 2);
	if (pthread_create(&t, NULL, serve_thirty, NULL))
		abort();
	for (int r = 0; r < rounds; r++) {
		if (serve_stop) {
			rounds = r;
			break;
		}
		pthread_barrier_wait(&serve_round);
		site_sixty(sixty);
		site_ten(ten);
		new_site(50 << 10);
		bad += serve_realloc(r);
		if (plugin)
			bad += serve_plugin(plugin, r);
		pointer_site();
		/* Not heap_sink read back: heap-thirty's release writes it too. */
		kept_blocks[r] = leak_site();
		memset(kept_blocks[r], r & 0xff, 8192);
		bad += serve_sleep(&mask);
	}
	serve_done = 1;
	pthread_barrier_wait(&serve_round);
	pthread_join(t, NULL);
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < 8192; i++)
			bad += kept_blocks[r][i] != (r & 0xff);
	printf("heapwork: %d rounds, %ld errors\n", rounds, bad);
	return bad != 0;
}

int main(int argc, char **argv)
{
	size_t total = (argc > 1 ? strtoul(argv[1], NULL, 10) : 200) << 20, thirty;
	pthread_t t;
	pid_t pid;
	int status;

	heap_malloc = malloc;
	if (argc > 2 && strcmp(argv[1], "--serve") == 0)
		return serve(atoi(argv[2]), argc > 3 ? argv[3] : NULL);
	if (argc > 2 && strncmp(argv[1], "--", 2) == 0)
		return watched(argv[1], atof(argv[2]));
	if (argc > 1 && strcmp(argv[1], "child") == 0) {
		child_site();
		return 0;
	}
	if (argc > 2)
		site_loop(atof(argv[2]));
	thirty = total * 3 / 10;
	if (pthread_create(&t, NULL, site_thirty, &thirty))
		abort();
	site_sixty(total * 6 / 10);
	site_ten(total / 10);
	pthread_join(t, NULL);
	keep_forever();
	churn();
	realloc_chain();
	new_site(total / 20);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		forked_site();
		execl("/proc/self/exe", argv[0], "child", (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		abort();
	printf("heapwork: child exited with status %d\n", WEXITSTATUS(status));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
