/* A clock's reading in nanoseconds. */
#ifndef CPROF_CLOCK_H
#define CPROF_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#endif
