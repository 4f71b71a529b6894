/* An allocation-heavy workload for bench/heap.sh. First KEEP_MB MiB (argv[3],
 * default 512) are allocated in blocks of 1 to 64 KiB and kept; then
 * THREADS threads (argv[2], default 2) each make MILLIONS million (argv[1],
 * default 20) malloc and free pairs of 16 to 271 bytes, up to 64 blocks live
 * at a time, from five sites whose shares of the calls (and of the bytes) are
 * 40, 25, 15, 12 and 8% (site_a to site_e). Nothing is freed at exit. Prints
 * the loop's wall and CPU time and the bytes it holds at exit, as asked
 * (what a heap profile's inuse_space estimates). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long pairs;
static size_t live_bytes[64];

/* Each site counts its calls in a counter of its own, after the call, so
 * that no two have the same code (the compiler would fold them into one)
 * and the call is no tail call (its frame would be gone from the stack). */
#define SITE(name)                                                      \
	static volatile long name##_calls;                               \
	static __attribute__((noinline)) void *name(size_t n)            \
	{                                                                \
		void *p = malloc(n);                                     \
		name##_calls++;                                          \
		return p;                                                \
	}
SITE(site_a)
SITE(site_b)
SITE(site_c)
SITE(site_d)
SITE(site_e)

static void *heaploop_thread(void *arg)
{
	size_t me = (size_t)arg, held = 0;
	void *live[64] = { 0 };
	size_t sizes[64] = { 0 };
	uint64_t x = 88172645463325252ULL + me * 0x9e3779b97f4a7c15ULL;

	for (long i = 0; i < pairs; i++) {
		size_t n, k, pick;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = x & 63;
		n = 16 + (x >> 8) % 256;
		pick = (x >> 20) % 100;
		free(live[k]);
		held -= sizes[k];
		live[k] = pick < 40 ? site_a(n) : pick < 65 ? site_b(n) : pick < 80 ? site_c(n) :
			  pick < 92 ? site_d(n) : site_e(n);
		sizes[k] = n;
		held += n;
	}
	live_bytes[me] = held;
	return NULL;
}

SITE(keep_site)

int main(int argc, char **argv)
{
	int threads = argc > 2 ? atoi(argv[2]) : 2;
	size_t keep = (size_t)(argc > 3 ? atol(argv[3]) : 512) << 20, kept = 0, live = 0;
	uint64_t x = 2463534242ULL;
	pthread_t t[64];
	struct timespec a, b, ca, cb;

	pairs = (argc > 1 ? atol(argv[1]) : 20) * 1000000L;
	if (threads < 1 || threads > 64)
		threads = 2;
	while (kept < keep) {
		size_t n = 1024 + (x % 64) * 1024;
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		if (!keep_site(n))
			return 1;
		kept += n;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, heaploop_thread, (void *)(size_t)i);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
	for (int i = 0; i < threads; i++)
		live += live_bytes[i];
	printf("wall %.3f cpu %.3f live %zu\n",
	       b.tv_sec - a.tv_sec + (b.tv_nsec - a.tv_nsec) / 1e9,
	       cb.tv_sec - ca.tv_sec + (cb.tv_nsec - ca.tv_nsec) / 1e9, kept + live);
	return 0;
}
