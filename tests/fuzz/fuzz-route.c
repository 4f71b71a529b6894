/* Fuzz target: cprof serve's request-target parser, and the invariants of
 * what it accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct route r;
	char why[256];
	int status = route_parse((const char *)data, size, 60, &r, why, sizeof(why));

	if (status != 200) {
		if (status < 400 || status > 414 || strlen(why) == 0)
			abort();
		return 0;
	}
	if (r.seconds < 0 || r.seconds > 60 || r.debug < 0 || r.debug > 2 || r.pid < 0 ||
	    r.frequency > ROUTE_MAX_FREQUENCY)
		abort();
	if (r.kind == ROUTE_REDIRECT && r.location[0] != '/')
		abort();
	if (r.kind != ROUTE_REDIRECT && r.kind != ROUTE_INDEX && !r.name)
		abort();
	return 0;
}
