/* Open-addressing (hash -> index) map with linear probing; see hmap.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "hmap.h"

void hmap_init(struct hmap *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->len = 0;
}

void hmap_release(struct hmap *m)
{
	free(m->slots);
	hmap_init(m);
}

int64_t hmap_find(const struct hmap *m, uint64_t hash, hmap_eq_fn eq, void *ctx)
{
	if (!m->cap)
		return -1;
	for (size_t i = hash & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		const struct hmap_slot *s = &m->slots[i];
		if (!s->idx)
			return -1;
		if (s->hash == hash && eq(ctx, s->idx - 1))
			return s->idx - 1;
	}
}

static void hmap_place(struct hmap_slot *slots, size_t cap, uint64_t hash, uint32_t idx1)
{
	size_t i = hash & (cap - 1);

	while (slots[i].idx)
		i = (i + 1) & (cap - 1);
	slots[i].hash = hash;
	slots[i].idx = idx1;
}

int hmap_insert(struct hmap *m, uint64_t hash, uint32_t idx)
{
	if ((m->len + 1) * 4 > m->cap * 3) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct hmap_slot *slots = calloc(cap, sizeof(*slots));
		if (!slots)
			return cp_error_errno(ENOMEM, "out of memory");
		for (size_t i = 0; i < m->cap; i++)
			if (m->slots[i].idx)
				hmap_place(slots, cap, m->slots[i].hash, m->slots[i].idx);
		free(m->slots);
		m->slots = slots;
		m->cap = cap;
	}
	hmap_place(m->slots, m->cap, hash, idx + 1);
	m->len++;
	return 0;
}

uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	/* FNV-1a over 8-byte words, then bytes; a multiply only carries upward,
	 * so fold the high bits down each step for the slot index (low bits). */
	for (; n >= 8; n -= 8, b += 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 32;
	}
	for (; n; n--, b++) {
		h ^= *b;
		h *= 0x100000001b3ULL;
	}
	return h ^ (h >> 29);
}
