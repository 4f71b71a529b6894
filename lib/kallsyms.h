/* Kernel frames: the kernel's text symbols from /proc/kallsyms, and profile
 * locations for kernel program counters, each in one [kernel.kallsyms]
 * mapping (as perf names it) with the function's name. */
#ifndef CPROF_KALLSYMS_H
#define CPROF_KALLSYMS_H

#include <stdbool.h>
#include <stdint.h>

#include "profile.h"

/* x86_64 kernel addresses are the upper half of the address space. */
static inline bool kallsyms_is_kernel(uint64_t pc)
{
	return pc >= 0xffff800000000000ULL;
}

struct kallsyms;

/* The text symbols of the running kernel and its modules, sorted. Where
 * kernel.kptr_restrict hides the addresses, or /proc/kallsyms is not there
 * or not readable, the table is empty and every lookup fails. NULL with an
 * error when out of memory or on another read error. */
struct kallsyms *kallsyms_load(void);
void kallsyms_free(struct kallsyms *ks);

/* The name of the function that holds PC, and its start in *START; NULL
 * when no symbol precedes PC. */
const char *kallsyms_lookup(const struct kallsyms *ks, uint64_t pc, uint64_t *start);

/* Profile locations for kernel counters, cached per counter, made in P with
 * the symbols of KS (both must outlive it). NULL with an error. */
struct kallsyms_locator;
struct kallsyms_locator *kallsyms_locator_new(struct profile *p, const struct kallsyms *ks);
void kallsyms_locator_free(struct kallsyms_locator *kl);

/* The location id of kernel counter PC (CALLER: a return address, looked up
 * one byte back), made the first time. -1 with an error when out of memory. */
int64_t kallsyms_locator_get(struct kallsyms_locator *kl, uint64_t pc, bool caller);

#endif
