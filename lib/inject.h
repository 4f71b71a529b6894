/* Calls into a running process through ptrace (x86_64), the way a debugger
 * calls a function of its inferior, for loading code into it (`cprof heap
 * --pid`). One thread is held, at a moment when its stack (unwound to its
 * end and symbolized) is in neither the allocator nor the dynamic loader, so
 * that the calls, which may allocate and load, cannot wait on a lock the
 * thread holds itself. Each call runs on that thread below its stack and
 * returns into the C library's signal return trampoline, above a signal
 * frame that holds the thread's state as it was held (registers, vector
 * state, signal mask, and a system call it was in, set to restart): when the
 * last call returns, the kernel's rt_sigreturn puts the thread back, and it
 * goes on as if nothing happened. Should cprof die (or give up waiting) in
 * the middle of a call, the call still returns there, and the thread is put
 * back all the same. A system call the thread was in is made again
 * (a relative sleep for what was left of it). The other threads run on
 * throughout. Calls return their
 * results through memory (see inject_call). For tests,
 * CPROF_INJECT_DIE_AT=N in the environment makes cprof kill itself in the
 * middle of its Nth call. */
#ifndef CPROF_INJECT_H
#define CPROF_INJECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addrspace.h"

struct inject;

/* Hold a thread of PID for calls, trying each (the main one first) until one
 * is found outside the allocator and the loader, for up to TIMEOUT_NS. AS
 * (PID's, which must outlive the call) serves to unwind and name its frames.
 * NULL with an error whose errno (cp_errno) says why: EPERM (may not trace),
 * ESRCH (gone), EBUSY (no thread was free of those locks in time), ENOEXEC
 * (no signal return trampoline in its C library). */
struct inject *inject_start(pid_t pid, struct addrspace *as, int64_t timeout_ns);

/* The held thread's id. */
pid_t inject_tid(const struct inject *in);

/* Copy N bytes onto the held thread's stack, below what it uses, for a
 * call's arguments or results; their address, or 0 with an error. */
uint64_t inject_push(struct inject *in, const void *data, size_t n);

/* Read N bytes of the process's memory at ADDR. Returns 0 or -1 with an error. */
int inject_read(struct inject *in, uint64_t addr, void *buf, size_t n);

/* Call the function at FN with up to six integer arguments ARGS, waiting up
 * to TIMEOUT_NS for it to return. Its return value is lost: a function whose
 * result is wanted writes it where an argument points (inject_push). A
 * signal that reaches the thread meanwhile is delivered (its handler runs on
 * top of the call). Returns 0, or -1 with an error: the process exited; the
 * call did not return in time (the thread is let go, and puts itself back
 * when it does); or it faulted (the thread is put back, but may hold a lock
 * the call took: no more calls are made). */
int inject_call(struct inject *in, uint64_t fn, const uint64_t *args, int nargs, int64_t timeout_ns);

/* Let the thread go, put back as it was held (by the last call's signal
 * return, or as it stands if no call was made); free IN. Returns how long
 * the thread was held, in ns. A NULL IN is ignored (0). */
int64_t inject_end(struct inject *in);

/* The run-time address in AS of the function or variable NAME exported by a module
 * whose file name starts with PREFIX ("libc.so"). Returns 0, or -1 (no
 * error set) when none does. */
int inject_symbol(const struct addrspace *as, const char *prefix, const char *name,
		  uint64_t *addr);

#endif
