/* An open-addressing index from 64-bit hashes to positions in a caller's array.
 * The caller owns the entries and decides equality; the map only stores
 * (hash, index) pairs, so lookups are one probe sequence and a compare. */
#ifndef CPROF_HMAP_H
#define CPROF_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap {
	struct hmap_slot {
		uint64_t hash;
		uint32_t idx; /* index + 1; 0 marks an empty slot */
	} *slots;
	size_t cap; /* a power of two, or 0 */
	size_t len;
};

/* Equality callback: does the caller's entry IDX equal the key in CTX? */
typedef int (*hmap_eq_fn)(void *ctx, uint32_t idx);

void hmap_init(struct hmap *m);
void hmap_release(struct hmap *m);

/* The index of the entry with HASH that EQ accepts, or -1 if none. */
int64_t hmap_find(const struct hmap *m, uint64_t hash, hmap_eq_fn eq, void *ctx);

/* Record that entry IDX has HASH. Returns 0, or -1 when out of memory. */
int hmap_insert(struct hmap *m, uint64_t hash, uint32_t idx);

/* A 64-bit hash of N bytes (FNV-1a, a word at a time), continuing from H
 * (start with HASH_SEED). */
#define HASH_SEED 0xcbf29ce484222325ULL
uint64_t hash_bytes(uint64_t h, const void *p, size_t n);

#endif
