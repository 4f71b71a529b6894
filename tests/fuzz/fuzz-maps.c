/* Fuzz target: the /proc/PID/maps parser and lookups in what it accepts. */
#include <stdint.h>
#include <stdlib.h>

#include "proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proc_maps m;

	if (proc_maps_parse(&m, (const char *)data, size) < 0)
		return 0;
	for (size_t i = 0; i < m.n; i++) {
		if (m.maps[i].start > m.maps[i].end || !m.maps[i].path)
			abort();
		if (proc_maps_find(&m, m.maps[i].start) == NULL && m.maps[i].start < m.maps[i].end)
			abort();
	}
	proc_maps_find(&m, 0);
	proc_maps_find(&m, UINT64_MAX);
	proc_maps_release(&m);
	return 0;
}
