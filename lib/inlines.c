/* The scopes of a program counter in DWARF, through an index of each unit's
 * functions; see inlines.h. */
#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "inlines.h"
#include "sorted.h"

/* One address range of a function with code, in DWARF addresses. */
struct inlines_fn {
	Dwarf_Addr lo, hi;
	Dwarf_Die die;
};

/* The functions of one unit by address. */
struct inlines_unit {
	const void *cu; /* the unit DIE's place in .debug_info, as a key */
	struct inlines_fn *fns;
	size_t n;
};

void inlines_init(struct inlines *in)
{
	*in = (struct inlines){ 0 };
	hmap_init(&in->unit_index);
}

void inlines_release(struct inlines *in)
{
	for (size_t i = 0; i < in->nunits; i++)
		free(in->units[i].fns);
	free(in->units);
	hmap_release(&in->unit_index);
	free(in->scopes);
	inlines_init(in);
}

bool inlines_is_function(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
	       tag == DW_TAG_entry_point;
}

struct inlines_collect {
	struct inlines_unit *unit;
	size_t cap;
	int err;
};

static int inlines_collect_fn(Dwarf_Die *die, void *arg)
{
	struct inlines_collect *c = arg;
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;

	/* Declarations and abstract instances have no ranges. */
	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
		if (CP_GROW(c->unit->fns, c->cap, c->unit->n + 1) < 0) {
			c->err = -1;
			return DWARF_CB_ABORT;
		}
		c->unit->fns[c->unit->n++] = (struct inlines_fn){ lo, hi, *die };
	}
	return DWARF_CB_OK;
}

static int inlines_fn_cmp(const void *a, const void *b)
{
	const struct inlines_fn *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

struct inlines_key {
	const struct inlines *in;
	const void *cu;
};

static int inlines_unit_eq(void *ctx, uint32_t idx)
{
	const struct inlines_key *k = ctx;

	return k->in->units[idx].cu == k->cu;
}

/* The function of CU that has code at ADDR into *FN: 1, or 0 when none
 * (GNU C nested functions are not indexed), or -1 when out of memory. */
static int inlines_function(struct inlines *in, Dwarf_Die *cu, Dwarf_Addr addr, Dwarf_Die *fn)
{
	struct inlines_key k = { in, cu->addr };
	uint64_t h = hash_bytes(HASH_SEED, &cu->addr, sizeof(cu->addr));
	int64_t i = hmap_find(&in->unit_index, h, inlines_unit_eq, &k);
	struct inlines_unit *u;
	size_t lo;

	if (i < 0) {
		struct inlines_collect c = { NULL, 0, 0 };

		if (CP_GROW(in->units, in->units_cap, in->nunits + 1) < 0 ||
		    hmap_insert(&in->unit_index, h, in->nunits) < 0)
			return -1;
		i = in->nunits++;
		c.unit = &in->units[i];
		*c.unit = (struct inlines_unit){ cu->addr, NULL, 0 };
		dwarf_getfuncs(cu, inlines_collect_fn, &c, 0);
		if (c.err)
			return -1;
		if (c.unit->n)
			qsort(c.unit->fns, c.unit->n, sizeof(*c.unit->fns), inlines_fn_cmp);
	}
	u = &in->units[i];
	lo = SORTED_UPTO(u->fns, u->n, lo, addr);
	if (lo && addr < u->fns[lo - 1].hi) {
		*fn = u->fns[lo - 1].die;
		return 1;
	}
	return 0;
}

static int inlines_holds_code(int tag)
{
	return tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block ||
	       tag == DW_TAG_subprogram || tag == DW_TAG_entry_point ||
	       tag == DW_TAG_try_block || tag == DW_TAG_catch_block ||
	       tag == DW_TAG_with_stmt;
}

/* Without a function in the index, dwarf_getscopes, which stops at the
 * innermost inlined instance and goes on with the scopes of its abstract
 * origin, so the callers come from dwarf_getscopes_die. */
static int inlines_getscopes(struct inlines *in, Dwarf_Die *cu, Dwarf_Addr addr)
{
	Dwarf_Die *found = NULL, *chain = NULL;
	int n = dwarf_getscopes(cu, addr, &found);

	if (n > 0)
		n = dwarf_getscopes_die(&found[0], &chain);
	free(found);
	if (n > 0 && CP_GROW(in->scopes, in->scopes_cap, n) < 0) {
		free(chain);
		return -1;
	}
	if (n > 0)
		memcpy(in->scopes, chain, n * sizeof(*chain));
	free(chain);
	return n > 0 ? n : 0;
}

int inlines_scopes(struct inlines *in, Dwarf_Die *cu, Dwarf_Addr addr, Dwarf_Die **scopes)
{
	Dwarf_Die die, child;
	int n = 0, rc = inlines_function(in, cu, addr, &die);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		n = inlines_getscopes(in, cu, addr);
		*scopes = in->scopes;
		return n;
	}
	/* From the function down through its children that hold ADDR. */
	for (;;) {
		if (CP_GROW(in->scopes, in->scopes_cap, n + 1) < 0)
			return -1;
		in->scopes[n++] = die;
		if (dwarf_child(&die, &child) != 0)
			break;
		while (!inlines_holds_code(dwarf_tag(&child)) || dwarf_haspc(&child, addr) <= 0)
			if (dwarf_siblingof(&child, &child) != 0)
				goto done;
		die = child;
	}
done:
	for (int i = 0; i < n / 2; i++) {
		Dwarf_Die t = in->scopes[i];

		in->scopes[i] = in->scopes[n - 1 - i];
		in->scopes[n - 1 - i] = t;
	}
	*scopes = in->scopes;
	return n;
}

const char *inlines_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));

	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &a));
	return name;
}

void inlines_call_site(Dwarf_Die *d, Dwarf_Die *cudie, Dwarf_Files **files, const char **file,
		       int *line)
{
	Dwarf_Attribute a;
	Dwarf_Word w;

	*file = NULL;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(d, DW_AT_call_file, &a), &w) == 0 &&
	    (*files || dwarf_getsrcfiles(cudie, files, NULL) == 0))
		*file = dwarf_filesrc(*files, w, NULL, NULL);
	if (dwarf_formudata(dwarf_attr(d, DW_AT_call_line, &a), &w) == 0)
		*line = w;
}
