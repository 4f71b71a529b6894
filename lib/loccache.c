/* Location ids by program counter in an array indexed by their hash; see
 * loccache.h. */
#include <stdlib.h>

#include "grow.h"
#include "loccache.h"

void loccache_init(struct loccache *c)
{
	*c = (struct loccache){ 0 };
	hmap_init(&c->index);
}

void loccache_release(struct loccache *c)
{
	hmap_release(&c->index);
	free(c->pcs);
	loccache_init(c);
}

struct loccache_key {
	const struct loccache *c;
	uint64_t pc;
	bool caller;
};

static int loccache_eq(void *ctx, uint32_t idx)
{
	const struct loccache_key *k = ctx;
	const struct loccache_entry *e = &k->c->pcs[idx];

	return e->pc == k->pc && e->caller == k->caller;
}

static uint64_t loccache_hash(uint64_t pc, bool caller)
{
	return hash_bytes(hash_bytes(HASH_SEED, &pc, sizeof(pc)), &caller, sizeof(caller));
}

uint64_t loccache_find(const struct loccache *c, uint64_t pc, bool caller)
{
	struct loccache_key k = { c, pc, caller };
	int64_t i = hmap_find(&c->index, loccache_hash(pc, caller), loccache_eq, &k);

	return i < 0 ? 0 : c->pcs[i].location;
}

int loccache_add(struct loccache *c, uint64_t pc, bool caller, bool mapped, uint64_t location)
{
	if (CP_GROW(c->pcs, c->cap, c->n + 1) < 0 ||
	    hmap_insert(&c->index, loccache_hash(pc, caller), c->n) < 0)
		return -1;
	c->pcs[c->n++] = (struct loccache_entry){ pc, caller, mapped, location };
	c->unmapped += !mapped;
	return 0;
}

int loccache_keep_mapped(struct loccache *c)
{
	struct hmap index;
	size_t n = 0;

	hmap_init(&index);
	for (size_t i = 0; i < c->n; i++) {
		if (!c->pcs[i].mapped)
			continue;
		if (hmap_insert(&index, loccache_hash(c->pcs[i].pc, c->pcs[i].caller), n) < 0) {
			hmap_release(&index);
			return -1;
		}
		c->pcs[n++] = c->pcs[i];
	}
	hmap_release(&c->index);
	c->index = index;
	c->n = n;
	c->unmapped = 0;
	return 0;
}

void loccache_clear(struct loccache *c)
{
	hmap_release(&c->index);
	hmap_init(&c->index);
	c->n = 0;
	c->unmapped = 0;
}
