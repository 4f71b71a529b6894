/* Kernel symbols and locations; see kallsyms.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "grow.h"
#include "kallsyms.h"
#include "loccache.h"
#include "sorted.h"

#define KERNEL_MAP "[kernel.kallsyms]"

struct ksym {
	uint64_t addr;
	uint32_t name; /* offset into names */
	uint8_t rank;  /* among symbols at one address the lowest is shown */
};

struct kallsyms {
	struct ksym *syms;
	size_t nsyms, cap;
	char *names;
	size_t names_len, names_cap;
};

/* At one address (aliases, section starts), prefer a global function to a
 * local one, and a name without leading underscores (_stext, __pfx_...). */
static uint8_t kallsyms_rank(char type, const char *name)
{
	uint8_t r = type == 'T' || type == 'W' ? 0 : 2;

	return r + (name[0] == '_');
}

static int kallsyms_by_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->name < y->name ? -1 : x->name > y->name;
}

static int kallsyms_add(struct kallsyms *ks, uint64_t addr, char type, const char *name)
{
	size_t len = strlen(name) + 1;

	if (CP_GROW(ks->syms, ks->cap, ks->nsyms + 1) < 0 ||
	    CP_GROW(ks->names, ks->names_cap, ks->names_len + len) < 0)
		return -1;
	ks->syms[ks->nsyms].addr = addr;
	ks->syms[ks->nsyms].name = ks->names_len;
	ks->syms[ks->nsyms++].rank = kallsyms_rank(type, name);
	memcpy(ks->names + ks->names_len, name, len);
	ks->names_len += len;
	return 0;
}

struct kallsyms *kallsyms_load(void)
{
	struct kallsyms *ks = calloc(1, sizeof(*ks));
	char line[512], name[256], type;
	unsigned long long addr;
	size_t n = 0;
	FILE *f;

	if (!ks) {
		cp_error("out of memory");
		return NULL;
	}
	/* Without /proc/kallsyms (a container may hide it) the frames stay bare,
	 * as where kptr_restrict hides the addresses. */
	f = fopen("/proc/kallsyms", "re");
	if (!f && (errno == ENOENT || errno == EACCES || errno == EPERM))
		return ks;
	if (!f) {
		cp_error("cannot read /proc/kallsyms: %s", strerror(errno));
		goto fail;
	}
	while (fgets(line, sizeof(line), f)) {
		/* "ffffffff81000000 T _stext" or "... t name\t[module]" */
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 || !addr)
			continue;
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		if (kallsyms_add(ks, addr, type, name) < 0) {
			fclose(f);
			goto fail;
		}
	}
	fclose(f);
	qsort(ks->syms, ks->nsyms, sizeof(*ks->syms), kallsyms_by_addr);
	/* One symbol per address: the first, best ranked. */
	for (size_t i = 0; i < ks->nsyms; i++)
		if (!n || ks->syms[i].addr != ks->syms[n - 1].addr)
			ks->syms[n++] = ks->syms[i];
	ks->nsyms = n;
	return ks;
fail:
	kallsyms_free(ks);
	return NULL;
}

void kallsyms_free(struct kallsyms *ks)
{
	if (!ks)
		return;
	free(ks->syms);
	free(ks->names);
	free(ks);
}

const char *kallsyms_lookup(const struct kallsyms *ks, uint64_t pc, uint64_t *start)
{
	size_t lo = SORTED_UPTO(ks->syms, ks->nsyms, addr, pc);

	if (!lo)
		return NULL;
	*start = ks->syms[lo - 1].addr;
	return ks->names + ks->syms[lo - 1].name;
}

struct kallsyms_locator {
	struct profile *p;
	const struct kallsyms *ks;
	uint64_t mapping; /* the profile's [kernel.kallsyms]; 0: not added yet */
	int64_t file;
	struct loccache pcs;
};

struct kallsyms_locator *kallsyms_locator_new(struct profile *p, const struct kallsyms *ks)
{
	struct kallsyms_locator *kl = calloc(1, sizeof(*kl));

	if (!kl) {
		cp_error("out of memory");
		return NULL;
	}
	kl->p = p;
	kl->ks = ks;
	loccache_init(&kl->pcs);
	return kl;
}

void kallsyms_locator_free(struct kallsyms_locator *kl)
{
	if (!kl)
		return;
	loccache_release(&kl->pcs);
	free(kl);
}

/* The one mapping every kernel location is in, spanning the symbols; -1 on error. */
static int64_t kallsyms_mapping(struct kallsyms_locator *kl)
{
	const struct kallsyms *ks = kl->ks;
	struct pf_mapping m = {
		.memory_start = ks->nsyms ? ks->syms[0].addr : 0xffff800000000000ULL,
		.memory_limit = ks->nsyms ? ks->syms[ks->nsyms - 1].addr + 1 : UINT64_MAX,
		.has_functions = ks->nsyms > 0,
	};
	int64_t id;

	if (kl->mapping)
		return kl->mapping;
	m.filename = kl->file = profile_intern(kl->p, KERNEL_MAP);
	if (m.filename < 0 || (id = profile_add_mapping(kl->p, &m)) < 0)
		return -1;
	return kl->mapping = id;
}

int64_t kallsyms_locator_get(struct kallsyms_locator *kl, uint64_t pc, bool caller)
{
	int64_t id = (int64_t)loccache_find(&kl->pcs, pc, caller);
	struct pf_line line = { 0, 0 };
	uint64_t start;
	int64_t mapping;
	const char *name;

	if (id)
		return id;
	mapping = kallsyms_mapping(kl);
	if (mapping < 0)
		return -1;
	name = kallsyms_lookup(kl->ks, pc - caller, &start);
	if (name) {
		int64_t s = profile_intern(kl->p, name);
		if (s < 0 || (id = profile_add_function(kl->p, s, s, kl->file, 0)) < 0)
			return -1;
		line.function_id = id;
	}
	id = profile_add_location(kl->p, mapping, pc, &line, name ? 1 : 0, false);
	if (id < 0 || loccache_add(&kl->pcs, pc, caller, true, id) < 0)
		return -1;
	return id;
}
