/* Unwinding a sampled user stack with libunwind: the registers and the copy of
 * the stack the kernel took with a sample, the module files for code and
 * unwind tables, and per-module tables cached across samples. */
#ifndef CPROF_UNWIND_H
#define CPROF_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addrspace.h"

/* The x86_64 user registers perf copies with sample_regs_user = UNWIND_REGS_MASK,
 * in the order they appear in a sample (the bit order of the mask). */
#define UNWIND_REGS_MASK 0xff0fffULL
enum {
	UREG_AX, UREG_BX, UREG_CX, UREG_DX, UREG_SI, UREG_DI, UREG_BP, UREG_SP, UREG_IP,
	UREG_FLAGS, UREG_CS, UREG_SS, UREG_R8, UREG_R9, UREG_R10, UREG_R11, UREG_R12,
	UREG_R13, UREG_R14, UREG_R15, UREG_COUNT
};

/* The deepest user stack cprof's profilers keep, in frames: deeper ones are
 * cut at the outermost end. */
#define UNWIND_MAX_FRAMES 256

struct unwinder;

/* An unwinder over AS (which must outlive it). NULL with an error. */
struct unwinder *unwinder_new(struct addrspace *as);
void unwinder_free(struct unwinder *u);

/* Forget cached unwind tables (after addrspace_refresh found changes, or exec).
 * A NULL unwinder is ignored. */
void unwinder_flush(struct unwinder *u);

/* Unwind from REGS (UREG_COUNT values) over STACK, the SIZE bytes copied from
 * REGS[UREG_SP] upwards. Stores up to MAX program counters into PCS, the
 * sampled IP first, then return addresses (not decremented). Returns the count
 * (>= 1 when the IP is non-zero); stops where unwinding cannot go on. */
int unwinder_unwind(struct unwinder *u, const uint64_t *regs, const void *stack, size_t size,
		    uint64_t *pcs, int max);

/* The same, and *COMPLETE says whether the unwind reached the outermost
 * frame (the one that marks its return address undefined: _start, a thread's
 * start) with every read served: false when the copy ran out, a step failed,
 * or MAX frames were not enough. */
int unwinder_walk(struct unwinder *u, const uint64_t *regs, const void *stack, size_t size,
		  uint64_t *pcs, int max, bool *complete);

#endif
