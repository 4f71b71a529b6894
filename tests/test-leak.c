/* Unit tests of the steady-growth rule that the leak verdicts share. */
#include <stdio.h>

#include "leak.h"
#include "test.h"

static double at(const void *ctx, size_t i)
{
	return ((const double *)ctx)[i];
}

#define STEADY(min, ...) \
	leak_steady(sizeof((double[]){ __VA_ARGS__ }) / sizeof(double), at, \
		    (double[]){ __VA_ARGS__ }, min)

int main(void)
{
	/* A site that grows every poll, or every other poll. */
	CHECK(STEADY(2, 1, 2, 3, 4, 5));
	CHECK(STEADY(2, 1, 1, 2, 2, 3));
	/* Too few polls to tell. */
	CHECK(!STEADY(2, 1, 5));
	CHECK(STEADY(2, 1, 3, 5));
	/* One fall is churn, not a leak. */
	CHECK(!STEADY(2, 1, 2, 3, 2, 4, 5));
	/* Rising in under half of the intervals: a step, then flat. */
	CHECK(!STEADY(2, 0, 10, 10, 10, 10));
	/* Too little growth in all. */
	CHECK(!STEADY(2, 5, 5, 6, 6, 6));
	CHECK(!STEADY(1000, 0, 100, 200, 300, 400));
	CHECK(STEADY(1000, 0, 300, 600, 900, 1200));
	/* Flat. */
	CHECK(!STEADY(0.5, 7, 7, 7, 7));
	return test_done("test-leak");
}
