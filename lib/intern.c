/* Interned strings in an array indexed by their hash; see intern.h. */
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "grow.h"
#include "intern.h"

void intern_init(struct intern *in)
{
	in->strs = NULL;
	in->n = in->cap = 0;
	hmap_init(&in->index);
}

void intern_release(struct intern *in)
{
	for (size_t i = 0; i < in->n; i++)
		free(in->strs[i]);
	free(in->strs);
	hmap_release(&in->index);
	intern_init(in);
}

struct intern_key {
	const struct intern *in;
	const char *s;
	size_t len; /* no NUL among them */
};

static int intern_eq(void *ctx, uint32_t idx)
{
	const struct intern_key *k = ctx;
	const char *have = k->in->strs[idx];

	return strncmp(have, k->s, k->len) == 0 && have[k->len] == '\0';
}

static int64_t intern_lookup(const struct intern *in, const char *s, size_t len, uint64_t h)
{
	struct intern_key k = { in, s, len };

	return hmap_find(&in->index, h, intern_eq, &k);
}

int64_t intern_n(struct intern *in, const char *s, size_t len)
{
	uint64_t h;
	int64_t i;
	char *copy;

	if (!len)
		s = "";
	len = strnlen(s, len);
	h = hash_bytes(HASH_SEED, s, len);
	i = intern_lookup(in, s, len, h);
	if (i >= 0)
		return i;
	if (in->n >= UINT32_MAX)
		return cp_error("too many strings");
	if (CP_GROW(in->strs, in->cap, in->n + 1) < 0)
		return -1;
	copy = malloc(len + 1);
	if (!copy)
		return cp_error("out of memory");
	memcpy(copy, s, len);
	copy[len] = '\0';
	if (hmap_insert(&in->index, h, in->n) < 0) {
		free(copy);
		return -1;
	}
	in->strs[in->n] = copy;
	return in->n++;
}

const char *intern_str(struct intern *in, const char *s, size_t len)
{
	int64_t i = intern_n(in, s, len);

	return i < 0 ? NULL : in->strs[i];
}

int64_t intern_find(const struct intern *in, const char *s)
{
	size_t len = strlen(s);

	return intern_lookup(in, s, len, hash_bytes(HASH_SEED, s, len));
}
