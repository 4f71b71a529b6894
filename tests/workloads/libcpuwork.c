/* The part of the CPU workload that lives in a shared library: spin() is the
 * unit of work every hot function uses, and work_c is the 10% share. */
#include "cpuwork.h"

__attribute__((noinline)) unsigned long spin(unsigned long units, unsigned long seed)
{
	unsigned long x = seed;

	for (unsigned long i = 0; i < units * 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	return x;
}

/* UNITS of 1000 iterations. */
__attribute__((noinline)) unsigned long work_c(unsigned long units)
{
	unsigned long x = units + 3;

	for (unsigned long i = 0; i < units * 1000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	return x;
}
