/* A timeline of a target's threads: each thread's intervals on a CPU, off it
 * blocked (waiting for I/O, a lock, a timer) and off it runnable (preempted,
 * waiting for a CPU), from the kernel's switch records (a thread's every
 * switch out and in, with the CPU and whether it was preempted); the
 * stacks where waits began, where they were sampled; each thread's totals,
 * and the scheduling latency of runnable intervals. Written as Chrome's
 * Trace Event Format (JSON), which Perfetto, chrome://tracing and
 * speedscope open. */
#ifndef CPROF_TRACE_H
#define CPROF_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "profile.h"

enum trace_state { TRACE_RUNNING, TRACE_BLOCKED, TRACE_RUNNABLE, TRACE_UNKNOWN, TRACE_NSTATES };

struct trace_interval {
	uint64_t start, end;  /* CLOCK_MONOTONIC ns */
	uint64_t loc;         /* off CPU: the leaf location (in the profile) of the stack the
			       * wait began in, where sampled; 0 else */
	uint32_t thread;      /* index in trace_threads */
	int16_t cpu;          /* running: the CPU; -1 unknown */
	uint8_t state;        /* enum trace_state */
};

struct trace_thread {
	pid_t pid, tid;
	char name[16];
	int64_t ns[TRACE_NSTATES];     /* time in each state */
	uint64_t count[TRACE_NSTATES]; /* intervals in each state */
	/* The longest blocked ([0]) and runnable ([1]) interval: its length,
	 * start and the stack it began in (locations, leaf first; none where
	 * not sampled). */
	int64_t longest[2];
	uint64_t longest_at[2];
	uint64_t *stack[2];
	size_t nstack[2];
	/* where it is now */
	uint8_t state;
	bool known;           /* seen */
	bool gone;            /* exited */
	int16_t cpu;
	uint64_t since;
};

struct trace;

/* A timeline from START (CLOCK_MONOTONIC ns): a thread's first record says
 * what it was doing since START (running, if it leaves the CPU), unless
 * trace_task saw it made. At most MAX_INTERVALS intervals are kept (the
 * totals count on). */
struct trace *trace_new(uint64_t start, size_t max_intervals);
void trace_free(struct trace *t);

/* The timeline starts at START (CLOCK_MONOTONIC ns), when recording did. */
void trace_start(struct trace *t, uint64_t start);

/* TID of PID left a CPU at TIME (OUT; PREEMPT: runnable) or came back to
 * CPU. Returns 0, or -1 with an error (out of memory). */
int trace_switch(struct trace *t, pid_t pid, pid_t tid, uint64_t time, bool out, bool preempt,
		 int cpu);

/* TID of PID was created by PTID (runnable until it first runs) or exited
 * at TIME. */
int trace_task(struct trace *t, pid_t pid, pid_t tid, pid_t ptid, uint64_t time, bool exit);

/* TID of PID, never seen switching, was off the CPU all along (a thread of
 * an attached process that slept through the trace). */
int trace_idle(struct trace *t, pid_t pid, pid_t tid);

/* TID is named NAME (its comm). */
int trace_name(struct trace *t, pid_t pid, pid_t tid, const char *name);

/* The off-CPU interval of TID from START to END (ended, or still open and
 * to be cut) began in the stack LOCS (N location ids of the profile, leaf
 * first). Returns 0 or -1. */
int trace_stack(struct trace *t, pid_t tid, uint64_t start, uint64_t end, const uint64_t *locs,
		size_t n);

/* Close every open interval at END. Returns 0 or -1. */
int trace_end(struct trace *t, uint64_t end);

/* The threads, valid until the next call that changes T. */
const struct trace_thread *trace_threads(const struct trace *t, size_t *n);

/* The intervals kept, and how many were not (past the cap). */
const struct trace_interval *trace_intervals(const struct trace *t, size_t *n, uint64_t *dropped);

/* Switch records that made no sense (a switch-out while off the CPU, or
 * in while on it): the records between them were lost. */
uint64_t trace_missed(const struct trace *t);

/* The scheduling latency: the lengths of the runnable intervals, all
 * threads', at the quantiles Q (N of them, 0 to 1; past a million
 * intervals, of a uniform sample of a million, but for 1: the longest)
 * into OUT; how many there were. */
size_t trace_latency(const struct trace *t, const double *q, size_t n, int64_t *out);

/* Write the timeline to OUT in Chrome's Trace Event Format, times in
 * whole microseconds from the start; function names for the stacks from P (the
 * profile the locations are of; NULL: none). PROCESS names the target. */
int trace_write_json(const struct trace *t, FILE *out, const struct profile *p,
		     const char *process);

#endif
