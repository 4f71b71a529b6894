/* Fuzz target: the pprof decoder (gzipped and plain), and every view and the
 * encoder over whatever it accepts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pprof.h"
#include "render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The filtered profile as --proto writes it, which must read back. */
static void fuzz_pprof_proto(const struct stackset *ss)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	struct profile *q;
	int rc;

	if (!mem)
		return;
	rc = render_proto(mem, ss);
	if (fclose(mem) == 0 && rc == 0) {
		if (!(q = pprof_decode(buf, len)))
			abort();
		profile_free(q);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile *p = pprof_decode(data, size), *q;
	static FILE *sink;
	struct stackset ss;
	void *buf;
	size_t len;

	if (!p)
		return 0;
	if (!sink)
		sink = fopen("/dev/null", "w");
	for (size_t si = 0; si < p->nsample_types && si < 4; si++) {
		struct stack_filter f = { "a", "b", .addresses = true, .hide = "c" };
		if (stackset_init(&ss, p, si, si % 2 ? &f : NULL) < 0)
			continue;
		render_top(sink, &ss, 0);
		render_tree(sink, &ss, 0);
		render_traces(sink, &ss);
		render_flame(sink, &ss, 80, 0, 0);
		render_folded(sink, &ss);
		render_svg(sink, &ss, "fuzz");
		render_speedscope(sink, &ss, 1, 0, "fuzz");
		fuzz_pprof_proto(&ss);
		stackset_release(&ss);
	}
	if (pprof_encode(p, &buf, &len) == 0) {
		q = pprof_decode(buf, len);
		if (!q)
			abort(); /* what cprof writes, it must read back */
		profile_free(q);
		free(buf);
	}
	profile_free(p);
	return 0;
}
