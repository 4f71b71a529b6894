// gperfwork DIR: writes gperftools' own profiles of a workload of known
// shape, for tests/legacy.sh to read with cprof report and go tool pprof:
//
//   DIR/heap.prof   the heap profiler's (GetHeapProfile, "@ heapprofile":
//                   every allocation): keep_big keeps 8 blocks of 1 MiB,
//                   keep_small 4000 of 256 B, churn allocates and frees
//                   20000 of 1 KiB;
//   DIR/heapz.prof  tcmalloc's sampled heap (GetHeapSample, "@ heap_v2/N"),
//                   when TCMALLOC_SAMPLE_PARAMETER is set: the same blocks;
//   DIR/cpu.prof    the CPU profiler's (binary): spin_a, spin_b and spin_c
//                   burn 6, 3 and 1 parts of about a second of CPU.
//
// Built by the test itself with -ltcmalloc -lprofiler (Debian's
// libgoogle-perftools-dev); the test skips where they are missing.
#include <gperftools/heap-profiler.h>
#include <gperftools/malloc_extension.h>
#include <gperftools/profiler.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

static void *big[8], *small[4000];
static volatile unsigned long sink;

__attribute__((noinline)) static void keep_big()
{
	for (auto &b : big)
		b = malloc(1 << 20);
}

__attribute__((noinline)) static void keep_small()
{
	for (auto &s : small)
		s = malloc(256);
}

__attribute__((noinline)) static void churn()
{
	for (int i = 0; i < 20000; i++) {
		void *p = malloc(1024);
		sink += (unsigned long)p;
		free(p);
	}
}

static double cpu_seconds()
{
	timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Burn about S seconds of CPU.
__attribute__((noinline)) static void spin(double s)
{
	double end = cpu_seconds() + s;
	unsigned long x = sink;
	while (cpu_seconds() < end)
		for (int i = 0; i < 10000; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink = x;
}

__attribute__((noinline)) static void spin_a() { spin(0.6); }
__attribute__((noinline)) static void spin_b() { spin(0.3); }
__attribute__((noinline)) static void spin_c() { spin(0.1); }

static bool write_file(const std::string &path, const std::string &text)
{
	FILE *f = fopen(path.c_str(), "w");
	bool ok = f && fwrite(text.data(), 1, text.size(), f) == text.size();
	return f && fclose(f) == 0 && ok;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gperfwork DIR\n");
		return 2;
	}
	std::string dir = argv[1];
	HeapProfilerStart((dir + "/heapprofiler").c_str());
	keep_big();
	keep_small();
	churn();
	char *heap = GetHeapProfile();
	if (!heap || !write_file(dir + "/heap.prof", heap)) {
		fprintf(stderr, "gperfwork: cannot write %s/heap.prof\n", dir.c_str());
		return 1;
	}
	free(heap);
	HeapProfilerStop();
	std::string sample;
	MallocExtension::instance()->GetHeapSample(&sample);
	if (!write_file(dir + "/heapz.prof", sample)) {
		fprintf(stderr, "gperfwork: cannot write %s/heapz.prof\n", dir.c_str());
		return 1;
	}
	if (!ProfilerStart((dir + "/cpu.prof").c_str())) {
		fprintf(stderr, "gperfwork: cannot start the CPU profiler\n");
		return 1;
	}
	spin_a();
	spin_b();
	spin_c();
	ProfilerStop();
	return 0;
}
