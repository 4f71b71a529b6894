/* Fuzz target: the legacy formats' parsers (legacy_parse: Go's text
 * profiles, heap and contention profiles, gperftools' CPU profile and the
 * memory maps after them), every view over what they accept, and the
 * encoder: what cprof makes of a legacy file it must write and read back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "legacy.h"
#include "pprof.h"
#include "render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct profile *p, *q;
	struct stackset ss;
	bool known;
	void *buf;
	size_t len;

	if (!(p = legacy_parse(data, size, 0, &known)))
		return 0;
	if (!sink)
		sink = fopen("/dev/null", "w");
	for (size_t si = 0; si < p->nsample_types && si < 4; si++) {
		struct stack_filter f = { "a", "b", .addresses = true };
		if (stackset_init(&ss, p, si, si % 2 ? &f : NULL) < 0)
			continue;
		render_top(sink, &ss, 0);
		render_traces(sink, &ss);
		render_folded(sink, &ss);
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
