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
 * of the tests' 3 s watch, so that only its second half tells it from a leak). */
#define _GNU_SOURCE
#include <pthread.h>
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

static __attribute__((noinline)) void leak_site(void)
{
	heap_sink = malloc(8192);
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

int main(int argc, char **argv)
{
	size_t total = (argc > 1 ? strtoul(argv[1], NULL, 10) : 200) << 20, thirty;
	pthread_t t;
	pid_t pid;
	int status;

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
