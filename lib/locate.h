/* Profile locations for a target's program counters: each counter is
 * symbolized once and becomes a location of the profile (with its inlined
 * lines and their functions), tied to the mapping that holds it. Both the cpu
 * profiler and thread snapshots build their profiles through it. */
#ifndef CPROF_LOCATE_H
#define CPROF_LOCATE_H

#include <stdbool.h>
#include <stdint.h>

#include "addrspace.h"
#include "profile.h"
#include "symbolize.h"
#include "unwind.h"

struct locator;

/* A locator adding to P, over AS and SYM; UW (may be NULL) has its tables
 * flushed when the maps are re-read. REFRESH_ON_MISS: re-read the maps when
 * a counter is in none of them (for callers that learn of new mappings in no
 * other way). All must outlive it. NULL with an error. */
struct locator *locator_new(struct profile *p, struct addrspace *as, struct symbolizer *sym,
			    struct unwinder *uw, bool refresh_on_miss);
void locator_free(struct locator *l);

/* The location id of PC (CALLER: a return address), made the first time; an
 * address in no known mapping re-reads the maps, at most every 100 ms, if the
 * locator was made to. Returns -1 with an error when out of memory. */
int64_t locator_get(struct locator *l, uint64_t pc, bool caller);

/* Re-read the maps (something new was mapped). Counters cached in a known
 * mapping keep their locations; those in none are looked up afresh. Returns
 * 0, or -1 when the maps cannot be read (the process is gone) or out of
 * memory. */
int locator_refresh(struct locator *l);

/* Forget every cached counter (the target exec'ed: same addresses, new code)
 * and re-read the maps. Returns 0, or -1 as locator_refresh (the counters are
 * forgotten either way). */
int locator_forget(struct locator *l);

/* Add the rest of the address space's mappings to the profile (those that
 * locations name are added as they are made; several locators, over several
 * address spaces, may share one profile). Returns 0 or -1. */
int locator_finish(struct locator *l);

#endif
