/* LD_PRELOAD shim for bench/cpu.sh: measures the target from inside. Its
 * constructor notes CLOCK_MONOTONIC when the target process starts running
 * (after the profiler has exec'd it, so a profiler's own start-up is not
 * counted); its destructor, at exit(), writes
 *     wall_seconds user_seconds sys_seconds maxrss_kib
 * of this process (getrusage RUSAGE_SELF) to the file named by
 * $CPROF_BENCH_OUT. The bench injects it with
 *     /usr/bin/env LD_PRELOAD=shim.so CPROF_BENCH_OUT=FILE TARGET...
 * as the profiled command (env execs in place: same pid), so the profiler
 * itself never loads it. This separates the target's wall and CPU time from
 * the profiler's in launch mode. With $CPROF_BENCH_ONLY set, only the
 * process whose program is named so (argv[0]'s last part) writes: bench/heap.sh
 * puts the shim in the profiler's own LD_PRELOAD, whose other processes
 * (heaptrack's interpreter, cprof) load it too. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static struct timespec t0;

__attribute__((constructor)) static void bench_start(void)
{
	clock_gettime(CLOCK_MONOTONIC, &t0);
}

__attribute__((destructor)) static void bench_stop(void)
{
	struct timespec t1;
	struct rusage ru;
	const char *path = getenv("CPROF_BENCH_OUT"), *only = getenv("CPROF_BENCH_ONLY");
	FILE *f;

	if (only && strcmp(only, program_invocation_short_name) != 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru);
	if (!path || !(f = fopen(path, "w")))
		return;
	fprintf(f, "%.6f %.6f %.6f %ld\n",
		(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
		ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
		ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss);
	fclose(f);
}
