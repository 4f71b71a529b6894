/* Loading cprof's heap library into a running process, and letting it go
 * again (`cprof heap --pid`), through calls made with ptrace (inject.h): the
 * process's own dlopen loads the library, its cprof_heap_attach makes a
 * socket and a ring that cprof takes (pidfd_getfd), and its commit starts
 * sampling and reroutes the allocator references (GOT entries) of every
 * loaded module through it. At the end its detach puts them back. One thread
 * is held for each of the two steps; the others run on. */
#ifndef CPROF_HEAPINJECT_H
#define CPROF_HEAPINJECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct heapinject {
	int sock, ring;        /* cprof's ends: the socket, the ring's memfd */
	uint64_t detach;       /* the library's detach function */
	bool preloaded;        /* the process had the library preloaded already */
	int64_t rerouted;      /* references rerouted through the library */
	char allocator[256];   /* the file the calls are passed on to */
	pid_t tid;             /* the thread held */
	int64_t took_ns;       /* the whole load, from the first stop */
	int64_t held_ns;       /* the time that thread was held */
};

/* Load LIB (an absolute path) into PID, whose pidfd is PIDFD, sampling every
 * RATE bytes on average. Returns 0 with HI filled, or -1 with an error: the
 * program is statically linked or has its own allocator, the library cannot
 * be loaded there (dlerror's words), cprof may not trace it (errno EPERM),
 * it is gone (ESRCH), or being profiled already (EBUSY). Nothing is
 * rerouted after a failure, and no thread is left stopped. */
int heapinject_load(struct heapinject *hi, pid_t pid, int pidfd, const char *lib,
		    uint64_t rate);

/* Call the library's detach in PID: sampling stops and every rerouted
 * reference is put back. Returns how many were, or -1 with an error (the
 * process is gone, or no thread could be held in time); *TOOK_NS and
 * *HELD_NS as in struct heapinject. */
int64_t heapinject_unload(const struct heapinject *hi, pid_t pid, int64_t *took_ns,
			  int64_t *held_ns);

/* Whether PID's program can have the library loaded: not statically linked,
 * and no allocator of its own linked in (it defines malloc, or jemalloc's,
 * tcmalloc's or mimalloc's functions). Returns 0, or -1 with an error saying
 * which, naming the program as NAME. */
int heapinject_check_program(pid_t pid, const char *name);

#endif
