/* A CPU profile of a target: perf-event samples, unwound and symbolized as
 * they arrive, gathered into a pprof-shaped profile. */
#ifndef CPROF_CPU_H
#define CPROF_CPU_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "attach.h"
#include "profile.h"

struct cpu_opts {
	unsigned frequency;   /* Hz per thread */
	bool fp;              /* --unwind fp */
	uint32_t stack_size;  /* bytes copied per sample in dwarf mode */
	int64_t duration_ns;  /* stop after this long; 0: until the target exits */
	const volatile sig_atomic_t *stop; /* set by a signal handler to stop early */
	/* Called once sampling runs (and a launched command has exec'ed). */
	void (*started)(void *ctx);
	void *ctx;
};

struct cpu_stats {
	uint64_t samples, lost, unwound_frames;
	uint64_t threads;   /* distinct threads seen in samples */
	uint64_t locations; /* distinct program counters symbolized */
	int64_t elapsed_ns;
	bool target_exited;
	bool stopped;       /* by *stop */
};

/* Profile target T (attached, or launched and not yet started: it is let go
 * here once sampling is set up). Returns the profile, or NULL with an error
 * (permissions explained as target_permission_error does). */
struct profile *cpu_profile(struct target *t, const struct cpu_opts *o, struct cpu_stats *st);

#endif
