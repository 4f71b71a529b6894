// heapwork's C++ site: blocks of 512 bytes made with new[] and deleted at once.
#include <cstddef>

extern "C" void new_site(std::size_t total);
extern "C" void *volatile heap_sink;

extern "C" __attribute__((noinline)) void new_site(std::size_t total)
{
	for (std::size_t done = 0; done < total; done += 512) {
		char *p = new char[512];
		heap_sink = p;
		delete[] p;
	}
}
