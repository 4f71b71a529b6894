/* What libcprof-heap.so (in the target) and cprof say to each other. Two
 * channels:
 *  - a SOCK_SEQPACKET socket for the hello and the sync, which cprof answers,
 *    and by whose closing each side sees the other gone;
 *  - a ring in shared memory (a memfd) for the samples and frees, many
 *    producers and cprof the one consumer: a producer reserves its bytes by
 *    adding to head, writes its record, and commits it by storing its type
 *    last (release); cprof reads committed records in order every few
 *    milliseconds, zeroes them and moves tail on. Writing to memory costs the
 *    target no system call and wakes nobody, where a send per sample did both.
 * A launched command inherits both through CPROF_HEAP_FD="SOCKET,RING". A
 * running process gets the library with dlopen, called by cprof through
 * ptrace, and then cprof_heap_attach (HEAPWIRE_ATTACH), which makes both in
 * the process for cprof to take (pidfd_getfd) and says what to call next.
 * Order in the ring is the order of reservation: a free is reserved before
 * the memory is released, an allocation after it is obtained, so the free of
 * an address always comes before its next allocation. Raw addresses only:
 * cprof symbolizes them from /proc/PID/maps. Both ends are the same machine,
 * so fields are in its byte order; cprof checks every record it reads. */
#ifndef CPROF_HEAPWIRE_H
#define CPROF_HEAPWIRE_H

#include <stddef.h>
#include <stdint.h>

#define HEAPWIRE_ENV "CPROF_HEAP_FD"     /* "SOCKET,RING" descriptor numbers */
#define HEAPWIRE_RATE_ENV "CPROF_HEAP_RATE" /* mean bytes between samples */
#define HEAPWIRE_VERSION 4
/* Return addresses kept per sample: allocation stacks deeper than this are
 * marked [truncated] (a sample's record stays under 1.1 KiB of the ring). */
#define HEAPWIRE_MAX_FRAMES 128
#define HEAPWIRE_MAGIC 0x70616568666f7270ULL /* "profheap" */
#define HEAPWIRE_RING_DATA (2u << 20)      /* bytes of records, a power of two */
#define HEAPWIRE_RING_OFFSET 4096          /* where they start in the memfd */
#define HEAPWIRE_ATTACH "cprof_heap_attach" /* the entry point for a running process */

enum heapwire_type {
	/* On the socket. */
	HEAPWIRE_HELLO = 1, /* addr: HEAPWIRE_VERSION, size: the rate, tid: the pid;
			     * cprof answers one byte once it has read the maps */
	HEAPWIRE_SYNC,      /* the process is exiting: cprof answers one byte once it
			     * has read the ring, while the maps can still be read */
	/* In the ring. */
	HEAPWIRE_ALLOC,     /* a sampled allocation: addr, size, tid, name, frames */
	HEAPWIRE_FREE,      /* a sampled address freed (written before it is): addr */
	HEAPWIRE_LOST,      /* size: sampled allocations not recorded (table full) */
};

struct heapwire_ring {
	uint64_t magic, version;
	uint64_t head; /* bytes reserved, ever (atomic) */
	char pad1[40];
	uint64_t tail; /* bytes consumed, ever (atomic, written by cprof) */
	uint64_t detach; /* set by cprof: stop sampling and pass every call through */
	char pad2[48];
};

struct heapwire_msg {
	uint32_t type; /* first: a record is committed when it is nonzero */
	uint32_t nframes; /* return addresses, innermost first */
	uint64_t addr;
	uint64_t size;
	int32_t tid;
	uint32_t pad;
	char name[16]; /* the thread's name when it allocated */
	uint64_t frames[HEAPWIRE_MAX_FRAMES];
};

/* Bytes of a message with N frames, a multiple of 8. */
#define HEAPWIRE_SIZE(n) (offsetof(struct heapwire_msg, frames) + (size_t)(n) * sizeof(uint64_t))

/* What cprof_heap_attach(rate, out) writes to OUT (in the process's
 * memory, for cprof to read: a call made through ptrace returns nothing).
 * On success, SOCK and RING are descriptors of the process's that cprof
 * takes; then cprof calls COMMIT(&n), which closes them there, starts
 * sampling, routes the allocator calls of every loaded module through the
 * library and sets n to how many references it rerouted (or -errno).
 * DETACH(&n) undoes that and stops sampling, n the references put back
 * (also done by the library itself when the ring's detach flag is set or
 * cprof is gone). */
struct heapwire_attach {
	uint64_t magic, version;
	int32_t status;    /* 0, or an errno, with ERROR saying why */
	int32_t sock, ring;
	int32_t preloaded; /* the library was already preloaded: nothing to reroute */
	uint64_t commit, detach; /* addresses of void (*)(int64_t *) */
	char allocator[256]; /* the file whose malloc calls are passed on to */
	char error[256];
};

/* The library's entry point of that name: RATE is the mean bytes between
 * samples. */
void cprof_heap_attach(uint64_t rate, struct heapwire_attach *out);

#endif
