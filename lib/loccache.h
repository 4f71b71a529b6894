/* Profile location ids cached by program counter, as both locators (user
 * code through the symbolizer, kernel code through kallsyms) keep them: one
 * entry per (counter, whether it is a return address). */
#ifndef CPROF_LOCCACHE_H
#define CPROF_LOCCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hmap.h"

struct loccache_entry {
	uint64_t pc;
	bool caller;
	bool mapped; /* in a known mapping when located */
	uint64_t location;
};

struct loccache {
	struct loccache_entry *pcs;
	size_t n, cap;
	struct hmap index;
	size_t unmapped; /* entries not mapped */
};

void loccache_init(struct loccache *c);
void loccache_release(struct loccache *c);

/* The location of (PC, CALLER), or 0 when not cached. */
uint64_t loccache_find(const struct loccache *c, uint64_t pc, bool caller);

/* Cache LOCATION for (PC, CALLER), which must not be cached yet. Returns 0,
 * or -1 with an error when out of memory. */
int loccache_add(struct loccache *c, uint64_t pc, bool caller, bool mapped, uint64_t location);

/* Forget the entries that were not mapped. Returns 0, or -1 with an error
 * when out of memory. */
int loccache_keep_mapped(struct loccache *c);

/* Forget every entry. */
void loccache_clear(struct loccache *c);

#endif
