// A C++ workload for cprof's demangling test: CPU in a member function of a
// class template in a namespace, most of it in an inlined member, and a
// thread blocked in a static member function. Runs for argv[1] seconds (1).
#include <pthread.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

namespace cprof_test {

template <typename T> struct Spinner {
	T x = 1;

	__attribute__((always_inline)) inline void step()
	{
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}

	__attribute__((noinline)) T spin(unsigned long n)
	{
		for (unsigned long i = 0; i < n; i++)
			step();
		return x;
	}
};

struct Waiter {
	__attribute__((noinline)) static void *block(void *)
	{
		for (;;)
			pause();
		return nullptr;
	}
};

} // namespace cprof_test

static double now()
{
	timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1, end = now() + seconds;
	cprof_test::Spinner<unsigned long> s;
	pthread_t t;
	volatile unsigned long sink = 0;

	pthread_create(&t, nullptr, cprof_test::Waiter::block, nullptr);
	while (now() < end)
		sink = sink + s.spin(1000000);
	return 0;
}
