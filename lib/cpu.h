/* A CPU profile of a target: perf-event samples, unwound and symbolized as
 * they arrive, gathered into a pprof-shaped profile; or its off-CPU profile
 * (where its threads wait), or both in one (wall-clock time). */
#ifndef CPROF_CPU_H
#define CPROF_CPU_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "attach.h"
#include "offcpu.h"
#include "profile.h"
#include "sample.h"

enum cpu_mode {
	CPU_MODE_CPU,  /* on-CPU samples: samples/count, cpu/nanoseconds */
	CPU_MODE_OFF,  /* off-CPU waits: contentions/count, delay/nanoseconds (Go's block profile) */
	CPU_MODE_WALL, /* both: samples/count, wall/nanoseconds, each labelled with its state */
};

struct cpu_opts {
	enum cpu_mode mode;
	unsigned max_rate;    /* off-CPU: switch-outs sampled per second at most (0: all) */
	unsigned frequency;   /* Hz per thread */
	bool fp;              /* --unwind fp */
	uint32_t stack_size;  /* bytes copied per sample in dwarf mode (cpu_default_stack_size) */
	bool user_only;       /* --user-only: leave the kernel out even where it may be sampled */
	bool no_switch_stacks; /* off-CPU and wall: the switches recorded, none sampled */
	int64_t duration_ns;  /* stop after this long; 0: until the target exits */
	bool steady;          /* a fixed sampling period, not dithered (for benchmarks) */
	const volatile sig_atomic_t *stop; /* set by a signal handler to stop early */
	/* Called once sampling runs (and a launched command has exec'ed). */
	void (*started)(void *ctx);
	void *ctx;
	/* Watchers (NULL: none), with WATCH_CTX: each record as it is read,
	 * before it is added (a switch's CPU, a thread's name, its birth);
	 * each wait as it ends, with the stack it began in as locations of the
	 * profile (N of them, leaf first; none where not sampled). Off-CPU and
	 * wall modes. */
	void (*on_record)(void *watch_ctx, const struct sampler_record *r);
	void (*on_wait)(void *watch_ctx, const struct offcpu_wait *w, const uint64_t *locs,
			size_t n);
	void *watch_ctx;
};

struct cpu_stats {
	uint64_t samples, lost, unwound_frames;
	uint64_t dropped;   /* of processes gone before their maps could be read */
	uint64_t truncated; /* samples whose stack did not reach the outermost frame */
	bool kernel;        /* the kernel was sampled too (allowed, and not user_only) */
	uint64_t kernel_samples; /* samples taken in the kernel */
	int64_t user_ns, system_ns; /* the target's CPU time over the run, from /proc */
	uint64_t threads;   /* distinct threads seen in samples */
	uint64_t locations; /* distinct program counters symbolized */
	int64_t start_ns;   /* when sampling began (CLOCK_MONOTONIC); elapsed_ns from it */
	int64_t elapsed_ns;
	bool target_exited;
	bool stopped;       /* by *stop */
	/* Off-CPU and wall modes */
	bool switch_stacks; /* switch-outs sampled with their stacks (allowed) */
	uint64_t switch_samples; /* switch-outs sampled */
	uint64_t waits;     /* waits ended (switch-out to switch-in, or cut at the end) */
	uint64_t waits_sampled; /* of them, with a sampled switch-out */
	uint64_t waits_unsampled; /* of them, left to the sampled ones (past the rate bound) */
	uint64_t waits_lost; /* left out: a record of their switch out or in was lost */
	uint64_t switch_period; /* one switch-out in about this many sampled at the end */
	uint64_t switch_period_max; /* the most it was */
	int64_t blocked_ns, runnable_ns, before_ns; /* all threads' off-CPU time */
};

/* The user stack copied per sample by default in MODE at FREQUENCY Hz: the
 * most the kernel allows (65528) at low rates, where it costs least, down to
 * 8192; at most 16384 where switches are sampled too, and that in off-CPU
 * mode, which samples nothing else. */
uint32_t cpu_default_stack_size(enum cpu_mode mode, unsigned frequency);

/* Profile target T (attached, or launched and not yet started: it is let go
 * here once sampling is set up) until O's duration, stop flag or the target's
 * exit. Returns the profile, or NULL with an error (permissions explained as
 * target_permission_error does). */
struct profile *cpu_profile(struct target *t, const struct cpu_opts *o, struct cpu_stats *st);

/* The same in steps, for a live view: a session samples from cpu_start on. */
struct cpu;

/* Start sampling T as cpu_profile does (O must outlive the session). NULL with an error. */
struct cpu *cpu_start(struct target *t, const struct cpu_opts *o);

/* Wait up to TIMEOUT_MS for samples. Returns 1 once the target has exited.
 * It reads nothing the other calls write, so it may run while another thread
 * looks at the profile. */
int cpu_wait(struct cpu *c, int timeout_ms);

/* Unwind, symbolize and add the samples waiting in the buffers. Returns 0 or -1. */
int cpu_collect(struct cpu *c);

/* The profile so far (the session's: valid until the next collect, reset or finish). */
struct profile *cpu_profile_now(const struct cpu *c);
const struct cpu_stats *cpu_stats(const struct cpu *c);
/* The processes the session samples (the target, then the children it has
 * seen; those that exited are forgotten at each window) into PIDS, at most
 * MAX of them. Returns how many there are. */
size_t cpu_pids(const struct cpu *c, pid_t *pids, size_t max);

/* The threads' off-CPU totals so far (off-CPU and wall modes; else none). */
const struct offcpu_thread *cpu_offcpu_threads(const struct cpu *c, size_t *n);

/* Start the profile afresh; symbols and unwind tables stay cached. Returns 0 or -1. */
int cpu_reset(struct cpu *c);

/* Hand over the profile so far as a finished window (its mappings and
 * duration filled in, as cpu_finish does), its statistics into *ST, and go
 * on into a fresh one, as cpu_reset starts it: sampling never stops, so the
 * next window begins where this one ends. NULL with an error (the session
 * goes on unchanged). */
struct profile *cpu_rotate(struct cpu *c, struct cpu_stats *st);
/* Stop sampling, collect the rest and hand over the finished profile (its
 * mappings and duration filled in). NULL with an error. */
struct profile *cpu_finish(struct cpu *c);
void cpu_free(struct cpu *c);

#endif
