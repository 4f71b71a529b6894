/* Module symbol tables sorted for lookups by address; see symtab.h. */
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "grow.h"
#include "sorted.h"
#include "symtab.h"

void symtab_init(struct symtab *st)
{
	*st = (struct symtab){ 0 };
	hmap_init(&st->alias_index);
}

void symtab_release(struct symtab *st)
{
	free(st->syms);
	free(st->aliases);
	hmap_release(&st->alias_index);
	symtab_init(st);
}

/* Global names before weak before local ones; 0 for a local one. */
static int symtab_bind_rank(const GElf_Sym *sym)
{
	switch (GELF_ST_BIND(sym->st_info)) {
	case STB_GLOBAL:
		return 3;
	case STB_WEAK:
		return 2;
	case STB_GNU_UNIQUE:
		return 1;
	default:
		return 0;
	}
}

/* By start; at one start the name a user would type first: sized, then
 * exported (global or weak) before local, then the fewest leading
 * underscores, then global before weak, then the shortest without "@VERSION",
 * then the first listed. glibc's public names are often the weak aliases of
 * global internal ones (getpid of __getpid, write of __write): ranking global
 * before weak first would pick 171 such internal names in its symbol table
 * where this picks none (malloc, not __libc_malloc). */
static int symtab_cmp(const void *a, const void *b)
{
	const struct symtab_sym *x = a, *y = b;
	size_t ux, uy, lx, ly;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->sized != y->sized)
		return x->sized ? -1 : 1;
	if ((x->rank > 0) != (y->rank > 0))
		return x->rank > 0 ? -1 : 1;
	ux = strspn(x->name, "_");
	uy = strspn(y->name, "_");
	if (ux != uy)
		return ux < uy ? -1 : 1;
	if (x->rank != y->rank)
		return y->rank - x->rank;
	lx = strcspn(x->name, "@");
	ly = strcspn(y->name, "@");
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return x->ndx - y->ndx;
}

/* The end of section SHNDX of ELF, at run time. */
static uint64_t symtab_section_end(Elf *elf, GElf_Word shndx, Dwarf_Addr bias)
{
	GElf_Shdr sh;
	Elf_Scn *scn = elf ? elf_getscn(elf, shndx) : NULL;

	return scn && gelf_getshdr(scn, &sh) ? bias + sh.sh_addr + sh.sh_size : 0;
}

/* The hash of NAME without "@VERSION". */
static uint64_t symtab_name_hash(const char *name)
{
	return hash_bytes(HASH_SEED, name, strcspn(name, "@"));
}

/* Keep F, an alias of a symbol kept in ST's syms, in ST's aliases. */
static int symtab_add_alias(struct symtab *st, size_t *cap, const struct symtab_sym *f)
{
	if (CP_GROW(st->aliases, *cap, st->naliases + 1) < 0)
		return -1;
	if (hmap_insert(&st->alias_index, symtab_name_hash(f->name), st->naliases) < 0)
		return cp_error("out of memory");
	st->aliases[st->naliases++] = *f;
	return 0;
}

int symtab_build(struct symtab *st, Dwfl_Module *dm)
{
	int nsym = dwfl_module_getsymtab(dm);
	size_t cap = 0, n = 0, out = 0, acap = 0;
	uint64_t reach = 0; /* the end of the sized symbols so far */

	for (int i = 1; i < nsym; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		Dwarf_Addr bias;
		Elf *elf;
		const char *name = dwfl_module_getsym_info(dm, i, &sym, &addr, &shndx, &elf, &bias);
		int type = GELF_ST_TYPE(sym.st_info);
		struct symtab_sym *f;

		if (!name || !*name || shndx == SHN_UNDEF || shndx == SHN_ABS ||
		    shndx == (GElf_Word)-1 || type == STT_SECTION || type == STT_FILE ||
		    type == STT_TLS)
			continue;
		if (CP_GROW(st->syms, cap, n + 1) < 0)
			return -1;
		f = &st->syms[n++];
		f->start = addr;
		f->sized = sym.st_size != 0;
		f->end = f->sized ? addr + sym.st_size : symtab_section_end(elf, shndx, bias);
		f->name = name;
		f->rank = symtab_bind_rank(&sym);
		f->ndx = i;
	}
	if (n)
		qsort(st->syms, n, sizeof(*st->syms), symtab_cmp);
	for (size_t i = 0; i < n; i++) {
		struct symtab_sym f = st->syms[i];
		struct symtab_sym *prev = out ? &st->syms[out - 1] : NULL;

		if (prev && prev->start == f.start && prev->sized && f.sized &&
		    symtab_add_alias(st, &acap, &f) < 0)
			return -1;
		if ((prev && prev->start == f.start) || (!f.sized && f.start < reach))
			continue;
		if (f.sized && f.end > reach)
			reach = f.end;
		if (prev && !prev->sized && prev->end > f.start)
			prev->end = f.start;
		st->syms[out++] = f;
	}
	st->nsyms = out;
	return 0;
}

/* The closest symbol that starts at or before ADDR and reaches past it
 * (symbols can nest, as entry points of hand-written assembly do). */
const char *symtab_lookup(const struct symtab *st, uint64_t addr)
{
	size_t lo = SORTED_UPTO(st->syms, st->nsyms, start, addr);

	for (size_t i = lo, k = 0; i-- > 0 && k < 8; k++)
		if (addr < st->syms[i].end)
			return st->syms[i].name;
	return NULL;
}

struct symtab_alias_key {
	const struct symtab *st;
	const char *name;
	size_t len;
};

static int symtab_alias_eq(void *ctx, uint32_t idx)
{
	const struct symtab_alias_key *k = ctx;
	const char *have = k->st->aliases[idx].name;

	return strncmp(have, k->name, k->len) == 0 && (have[k->len] == '\0' || have[k->len] == '@');
}

const char *symtab_public_name(const struct symtab *st, const char *name)
{
	struct symtab_alias_key k = { st, name, name ? strcspn(name, "@") : 0 };
	const char *public;
	int64_t i;

	if (!name || !st->naliases)
		return name;
	i = hmap_find(&st->alias_index, symtab_name_hash(name), symtab_alias_eq, &k);
	public = i < 0 ? NULL : symtab_lookup(st, st->aliases[i].start);
	return public ? public : name;
}
