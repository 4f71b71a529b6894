/* Off-CPU time of a target's threads: each wait, from the switch record at a
 * thread's switch-out to the one at its switch-in, tied to the user stack
 * the switch-out's sample carried (where the kernel allows such samples),
 * and each thread's totals, blocked and runnable. */
#ifndef CPROF_OFFCPU_H
#define CPROF_OFFCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One wait, ended (at a switch-in, or at the end of the profile). */
struct offcpu_wait {
	pid_t pid, tid;
	int64_t delay_ns;
	uint64_t end;         /* when it ended (CLOCK_MONOTONIC ns) */
	bool preempt;         /* runnable: taken off the CPU, not waiting for anything */
	bool before;          /* began before the profile: its stack and state unknown */
	/* The stack at the switch-out, as program counters (innermost first),
	 * or NULL where that switch-out was not sampled; NPCS may be 0 where
	 * it was but no frame could be had. */
	const uint64_t *pcs;
	size_t npcs;
	bool whole;           /* the unwinder reached the outermost frame */
	uint64_t weight;      /* the switch-outs the sample stood for */
};

/* A thread's off-CPU time so far. */
struct offcpu_thread {
	pid_t pid, tid;
	int64_t blocked_ns, runnable_ns, before_ns;
	uint64_t waits, blocked_waits, runnable_waits;
};

typedef void (*offcpu_fn)(void *ctx, const struct offcpu_wait *w);

struct offcpu;

/* Waits from START (CLOCK_MONOTONIC ns) on. ATTACHED: the target ran before,
 * so a thread's first switch-in ends a wait that began before START. */
struct offcpu *offcpu_new(uint64_t start, bool attached);
void offcpu_free(struct offcpu *o);

/* The stack sampled at TID's switch-out at TIME (PCS, N of them, copied;
 * none where it could not be unwound), standing for WEIGHT switch-outs; it
 * goes with the switch record that follows it. Returns 0, or -1 with an
 * error when out of memory. */
int offcpu_sampled(struct offcpu *o, pid_t pid, pid_t tid, uint64_t time, const uint64_t *pcs,
		   size_t n, bool whole, uint64_t weight);

/* TID left the CPU at TIME (OUT; PREEMPT: runnable) or came back; a return
 * ends a wait, handed to FN. Returns 0, or -1 when out of memory. */
int offcpu_switch(struct offcpu *o, pid_t pid, pid_t tid, uint64_t time, bool out,
		  bool preempt, offcpu_fn fn, void *ctx);

/* TID of PID was created (a tid used before is another thread now), or
 * exited (it waits no more). Returns 0, or -1 when out of memory. */
int offcpu_task(struct offcpu *o, pid_t pid, pid_t tid, bool exit);

/* How many records went missing: a switch-out seen while a wait was open
 * (its end was lost, so the wait is dropped), or a switch-in with none. */
uint64_t offcpu_missed(const struct offcpu *o);

/* End the waits still open at END with that time, to FN, and begin them
 * afresh there (their stacks kept). The threads of TIDS (N of process PID,
 * with their one-letter states in STATES) never seen and not running have
 * waited all along: each gets one wait from the start. */
void offcpu_cut(struct offcpu *o, uint64_t end, pid_t pid, const pid_t *tids,
		const char *states, size_t n, offcpu_fn fn, void *ctx);

/* Start counting afresh at START (totals zeroed; open waits go on). */
void offcpu_restart(struct offcpu *o, uint64_t start);

/* The index of TID among offcpu_threads, or -1. */
int64_t offcpu_find(const struct offcpu *o, pid_t tid);

/* The threads' totals, valid until the next call that changes O. */
const struct offcpu_thread *offcpu_threads(const struct offcpu *o, size_t *n);

#endif
