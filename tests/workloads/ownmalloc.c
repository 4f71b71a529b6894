/* A program with an allocator of its own linked in, as one that links
 * jemalloc or tcmalloc statically is: it defines malloc and its kin (here
 * passing on to glibc's), so its calls to them reach no library loaded
 * beside it, and cprof heap refuses it in one line. Allocates for argv[1]
 * seconds (default 10), then exits 0. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

void *malloc(size_t n)
{
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	return __libc_realloc(p, n);
}

void free(void *p)
{
	__libc_free(p);
}

void *volatile ownmalloc_sink;

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 10;
	struct timespec step = { 0, 10000000 };

	for (double t = 0; t < seconds; t += 0.01) {
		ownmalloc_sink = malloc(1024);
		free(ownmalloc_sink);
		nanosleep(&step, NULL);
	}
	return 0;
}
