/* An allocation-heavy loop for cprof heap's overhead: N million (argv[1],
 * default 20) malloc and free pairs of 16 to 271 bytes, with up to 64 blocks
 * live at a time, on one thread, after 64 MiB kept in 256 KiB blocks (so that
 * under cprof heap samples stay live, as in any real program, and every free
 * is checked); prints the wall and CPU time the loop took. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	long n = (argc > 1 ? atol(argv[1]) : 20) * 1000000L;
	void *live[64] = { 0 };
	uint64_t x = 88172645463325252ULL;
	static void *kept[256];
	struct timespec a, b, ca, cb;

	for (int i = 0; i < 256; i++)
		kept[i] = malloc(256 << 10);
	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
	for (long i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		free(live[x & 63]);
		live[x & 63] = malloc(16 + (x >> 8) % 256);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
	printf("wall %.3f cpu %.3f\n", b.tv_sec - a.tv_sec + (b.tv_nsec - a.tv_nsec) / 1e9,
	       cb.tv_sec - ca.tv_sec + (cb.tv_nsec - ca.tv_nsec) / 1e9);
	for (int i = 0; i < 256; i++)
		free(kept[i]);
	return 0;
}
