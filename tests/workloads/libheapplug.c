/* A plugin that heapwork --serve PLUGIN loads and unloads every round, for
 * cprof heap --pid's tests: its malloc and free go through its GOT (so they
 * are rerouted once it is loaded), and it has 2,000 relocations into RELRO,
 * so that the loader takes a while to relocate it, while it is listed
 * already (a library that reroutes it meanwhile must wait). */
#include <stdlib.h>

#define R10(x) x, x, x, x, x, x, x, x, x, x
#define R100(x) R10(x), R10(x), R10(x), R10(x), R10(x), R10(x), R10(x), R10(x), R10(x), R10(x)
#define R1000(x) R100(x), R100(x), R100(x), R100(x), R100(x), R100(x), R100(x), R100(x), R100(x), R100(x)

void *(*const plug_table[2000])(size_t) = { R1000(malloc), R1000(malloc) };
void *volatile plug_sink;

__attribute__((noinline)) void plug_site(int round)
{
	for (int i = 0; i < 16; i++) {
		plug_sink = malloc(1024 + (size_t)round % 64);
		free(plug_sink);
	}
	plug_sink = plug_table[round % 2000](512);
	free(plug_sink);
}
