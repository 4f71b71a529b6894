/* A module's function symbols sorted by address for lookups in O(log n), as
 * dwfl_module_addrinfo, which scans the whole symbol table on every call
 * (10,000 symbols for libc), would answer them; and the aliases at each
 * symbol's start, so that an inlined function named by one of them
 * (__GI___libc_read) is named as its out-of-line copy is (read). */
#ifndef CPROF_SYMTAB_H
#define CPROF_SYMTAB_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hmap.h"

/* A function symbol; names point into dwfl's symbol tables. */
struct symtab_sym {
	uint64_t start, end;
	const char *name;
	int rank, ndx; /* preference among aliases; symbol table index */
	bool sized;
};

struct symtab {
	struct symtab_sym *syms; /* one per start, sorted */
	size_t nsyms;
	struct symtab_sym *aliases; /* the other names at the starts of syms */
	size_t naliases;
	struct hmap alias_index;    /* aliases by name without "@VERSION" */
};

void symtab_init(struct symtab *st);
void symtab_release(struct symtab *st);

/* The symbols of DM, chosen as dwfl_module_addrinfo does: one name per
 * address (of aliases the public name: sized, exported, fewest leading
 * underscores, global, shortest), and a symbol without a size (an assembly
 * label) only outside sized ones, reaching to the next symbol or the end of
 * its section. Names stay dwfl's. Returns 0, or -1 when out of memory. */
int symtab_build(struct symtab *st, Dwfl_Module *dm);

/* The name of the symbol holding ADDR, or NULL. */
const char *symtab_lookup(const struct symtab *st, uint64_t addr);

/* The name of the symbol that NAME (with or without "@VERSION") is an alias
 * of, or NAME. */
const char *symtab_public_name(const struct symtab *st, const char *name);

#endif
