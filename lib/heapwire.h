/* The messages libcprof-heap.so (in the target) sends cprof over the
 * SOCK_SEQPACKET socket whose descriptor it finds in CPROF_HEAP_FD: one
 * message per send, so threads send without a lock. Raw addresses only: cprof
 * symbolizes them from /proc/PID/maps. Both ends are the same machine, so
 * fields are in its byte order. */
#ifndef CPROF_HEAPWIRE_H
#define CPROF_HEAPWIRE_H

#include <stddef.h>
#include <stdint.h>

#define HEAPWIRE_ENV "CPROF_HEAP_FD"     /* the socket's descriptor number */
#define HEAPWIRE_RATE_ENV "CPROF_HEAP_RATE" /* mean bytes between samples */
#define HEAPWIRE_VERSION 1
#define HEAPWIRE_MAX_FRAMES 128

enum heapwire_type {
	HEAPWIRE_HELLO = 1, /* addr: HEAPWIRE_VERSION, size: the rate, tid: the pid;
			     * cprof answers one byte once it has read the maps */
	HEAPWIRE_ALLOC,     /* a sampled allocation: addr, size, tid, frames */
	HEAPWIRE_FREE,      /* a sampled address freed (sent before it is): addr */
	HEAPWIRE_SYNC,      /* the process is exiting: cprof answers one byte once it has
			     * read everything before, while the maps can still be read */
	HEAPWIRE_LOST,      /* size: sampled allocations not recorded (table full) */
};

struct heapwire_msg {
	uint32_t type;
	uint32_t nframes; /* return addresses, innermost first */
	uint64_t addr;
	uint64_t size;
	int32_t tid;
	uint32_t pad;
	uint64_t frames[HEAPWIRE_MAX_FRAMES];
};

/* Bytes of a message with N frames. */
#define HEAPWIRE_SIZE(n) (offsetof(struct heapwire_msg, frames) + (size_t)(n) * sizeof(uint64_t))

#endif
