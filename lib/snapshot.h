/* Thread snapshots with ptrace: each thread of a target is seized, stopped,
 * its registers and the top of its stack copied, and let go again, one thread
 * at a time and for as short as possible; unwinding happens afterwards, while
 * the thread runs on. The target is never left stopped or traced. */
#ifndef CPROF_SNAPSHOT_H
#define CPROF_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "unwind.h"

struct thread_snap {
	pid_t tid;
	char name[16];       /* comm */
	char state;          /* from /proc before stopping it: R, S, D, T, t, Z... */
	uint64_t regs[UREG_COUNT];
	unsigned char *stack; /* a copy from regs[UREG_SP] up */
	size_t stack_size;
	int64_t stop_ns;     /* held: from its stop until it was let go */
	int64_t wait_ns;     /* wait to stop: from the interrupt until it stopped,
				running on (or waiting for a CPU) meanwhile */
};

struct snapshot {
	pid_t pid;
	struct thread_snap *threads;
	size_t nthreads, cap;
	size_t vanished;       /* threads listed but gone before they could be copied */
	int64_t stopped_ns;    /* total time held, all threads */
	int64_t worst_stop_ns; /* the longest single hold */
	int64_t waited_ns;     /* total wait to stop, all threads */
	int64_t worst_wait_ns; /* the longest single wait to stop */
	int64_t elapsed_ns;    /* the whole snapshot, wall time */
	bool held_rt;          /* every thread was held with cprof at real-time priority */
	int64_t time_ns;       /* when it was taken (CLOCK_REALTIME) */
};

/* Take a snapshot of every thread of PID, copying up to STACK_SIZE bytes of
 * each stack. Each thread's time is split in two: the wait to stop, from
 * PTRACE_INTERRUPT until the thread stopped (it runs meanwhile, or waits for
 * a CPU to reach the stop), and the time held, from its stop until it may run
 * again. The stop is taken to start when cprof sees it (waitpid), moved back
 * by the time cprof itself waited for a CPU meanwhile (its run delay in
 * /proc/thread-self/schedstat). Where it may, cprof holds each thread at
 * real-time priority (SCHED_FIFO), its own scheduling put back after each. A signal that reaches a thread while it is held is delivered on
 * release. Returns 0, or -1 with an error whose errno (cp_errno) says why (EPERM:
 * not allowed to trace; ESRCH: the process is gone). */
int snapshot_take(struct snapshot *s, pid_t pid, size_t stack_size);
void snapshot_release(struct snapshot *s);

/* The pieces of a hold, for other users of ptrace (inject.c). */

/* Wait up to TIMEOUT_NS for the traced TID's next stop, its status into
 * *STATUS (as from waitpid). Returns 0, -1 if it exited, -2 if it did not
 * stop in time. The caller blocks SIGCHLD. */
int snapshot_wait(pid_t tid, int64_t timeout_ns, int *status);

/* The same for the seized and interrupted TID: the signal to deliver on
 * release (0 for the interrupt or a group stop), -1, or -2. */
int snapshot_wait_stop(pid_t tid, int64_t timeout_ns);

struct user_regs_struct;
/* REGS (from PTRACE_GETREGSET NT_PRSTATUS) in the unwinder's order, into U. */
void snapshot_regs_from_user(uint64_t *u, const struct user_regs_struct *regs);

/* Copy up to SIZE bytes of PID's memory from SP up into BUF; the bytes copied,
 * up to the first unmapped page. */
size_t snapshot_copy_stack(pid_t pid, uint64_t sp, unsigned char *buf, size_t size);

/* Sleep until WHEN_NS (CLOCK_MONOTONIC) or until a signal arrives, letting go
 * meanwhile, as soon as each stops, of the threads a snapshot could not stop
 * in time and left seized. */
void snapshot_wait_until(int64_t when_ns);

#endif
