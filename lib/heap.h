/* Heap profiles of a launched command: it runs with libcprof-heap.so
 * preloaded, which samples its allocations (see heapwire.h for what it sends);
 * here the samples are symbolized as they arrive, their frees matched, and a
 * Go-style heap profile made of them: alloc_objects, alloc_space,
 * inuse_objects, inuse_space, each sample scaled by 1 / (1 - exp(-size/rate)). */
#ifndef CPROF_HEAP_H
#define CPROF_HEAP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "attach.h"
#include "profile.h"

#define HEAP_DEFAULT_RATE (512 * 1024)

struct heap;

/* One poll of --watch: the estimated bytes and objects in use. */
struct heap_poll {
	int64_t elapsed_ns; /* since sampling began */
	int64_t time_ns;    /* CLOCK_REALTIME */
	double inuse_bytes, inuse_objects;
};

/* Leak verdicts need this many polls. */
#define HEAP_MIN_POLLS 5

struct heap_opts {
	uint64_t rate;        /* mean bytes between samples */
	int64_t duration_ns;  /* stop after this long; 0: when the command exits */
	const char *preload;  /* the path of libcprof-heap.so */
	const volatile sig_atomic_t *stop; /* set by a signal handler to stop early */
	/* Called once the command has loaded the library and sampling runs. */
	void (*started)(void *ctx);
	void *ctx;
	/* With interval_ns, a poll of what is in use at the start and every
	 * interval_ns after, told to POLL (if set), whose -1 (with an error)
	 * ends heap_run with that error. */
	int64_t interval_ns;
	int (*poll)(void *ctx, struct heap *h, const struct heap_poll *s);
};

struct heap_stats {
	uint64_t allocs;     /* sampled allocations */
	uint64_t frees;      /* of which freed */
	uint64_t lost;       /* sampled but not recorded (the library's table was full) */
	uint64_t threads;    /* distinct threads that allocated */
	int64_t elapsed_ns;
	bool target_exited;
	bool stopped;        /* by *stop */
	uint64_t execs;      /* programs the command exec'ed, profiled in turn */
	bool detached;       /* the socket closed while the command ran on */
	/* Attached to a running process: */
	bool attached;
	bool preloaded;      /* it had the library preloaded already */
	char allocator[256]; /* the file its allocator calls are passed on to */
	int64_t rerouted, restored; /* references rerouted, and put back at the end */
	pid_t held_tid;      /* the thread held for the load */
	int64_t load_ns, load_held_ns;     /* the load, and that thread's hold */
	int64_t unload_ns, unload_held_ns; /* the same at the end */
	char unload_error[256]; /* why the end could not be through ptrace, or "" */
};

/* Start ARGV as target_launch does (held before its exec), with the library
 * preloaded and a socket to this process in its environment. O must outlive
 * the session. NULL with an error. */
struct heap *heap_launch(struct target *t, char *const argv[], const struct heap_opts *o);

/* Let the command run (or the attached process run on) and collect its
 * samples until it exits, the duration passes or *stop is set; then an
 * attached process is let go (its references put back), and the profile
 * made of what was allocated, and of what is in use at the end (sampled
 * allocations not freed). NULL with an error (the command never loaded the
 * library: statically linked, or setuid). */
struct profile *heap_run(struct heap *h, struct heap_stats *st);

/* Load the library into T, a running process (target_attach), through
 * ptrace (see heapinject.h): sampling starts at once, so only allocations
 * made from now on are seen. O must outlive the session. NULL with an error
 * (cp_errno EPERM: may not trace it). */
struct heap *heap_attach(struct target *t, const struct heap_opts *o);

void heap_free(struct heap *h);

/* The session step by step, for a client that shows it as it goes (cprof
 * top --heap); heap_run does all of it. heap_start lets a launched command go
 * (or reads an attached process's maps). heap_step waits up to WAIT_MS
 * (less once sampling runs: the library's ring is read every few
 * milliseconds) and reads what came: 1 once the process has exited, 0
 * if not, -1 with an error. heap_finish lets an attached process go and reads
 * the rest. Each returns -1 with an error. */
int heap_start(struct heap *h);
int heap_step(struct heap *h, int64_t wait_ms);
int heap_finish(struct heap *h);

/* The session's counts so far. */
const struct heap_stats *heap_stats(struct heap *h);

/* Start counting what is allocated afresh (what is in use stays). */
void heap_reset(struct heap *h);

/* What is in use and was allocated so far, as a heap profile of its own
 * (during a poll). NULL with an error. */
struct profile *heap_snapshot(struct heap *h);

typedef void heap_suspect_fn(const uint64_t *locs, size_t nlocs, double start, double end,
			     double per_minute, void *ctx);

/* The leak suspects after the polls: the stacks (on any thread) whose in-use
 * bytes grew steadily by leak_steady's rule over all polls and again over
 * their second half (so that what grew and then held steady is not one),
 * with a rise of at least two sampling periods in each; at least
 * HEAP_MIN_POLLS polls. FN (if set) is told each one's stack (location ids of
 * the profile heap_run returned, leaf first), in-use bytes at the first and
 * last poll and growth per minute. Returns how many. */
size_t heap_suspects(const struct heap *h, heap_suspect_fn *fn, void *ctx);

/* The polls made. */
size_t heap_polls(const struct heap *h);

/* The weight of one sampled allocation of SIZE bytes at RATE: the objects it
 * stands for, 1 / (1 - exp(-SIZE/RATE)). */
double heap_weight(uint64_t size, uint64_t rate);

#endif
