/* Program counters to functions, files, lines and inlined frames with libdwfl;
 * see symbolize.h. Each mapping of the address space is reported to one Dwfl
 * the first time a PC falls in it, and every answer is cached per (mapping,
 * PC, caller), with its strings interned, so a warm lookup is one hash probe. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <libiberty/demangle.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debuginfo.h"
#include "errmsg.h"
#include "grow.h"
#include "hmap.h"
#include "inlines.h"
#include "intern.h"
#include "symbolize.h"
#include "symtab.h"

/* One mapping as reported to dwfl. */
struct symmod {
	struct debuginfo di; /* the Dwfl_Module's userdata */
	Dwfl_Module *dm;     /* NULL when the mapping has no usable module */
	struct symtab symtab;
	bool indexed;        /* symtab built (or tried) */
};

/* One cached answer. */
struct symbolize_entry {
	uint64_t pc;
	unsigned id; /* mapping id */
	bool caller;
	int n;
	const struct sym_frame *frames;
};

/* Frames live in chunks that never move, so answers stay put as the cache grows. */
struct symbolize_chunk {
	struct symbolize_chunk *next;
	size_t used, cap;
	struct sym_frame f[];
};

struct symbolizer {
	struct addrspace *as;
	Dwfl *dwfl;
	struct symmod **mods; /* by mapping id - 1; NULL until first seen */
	size_t nmods, mods_cap;
	struct symbolize_entry *entries;
	size_t nentries, entries_cap;
	struct hmap index;
	struct intern strs; /* names and files of the answers */
	struct symbolize_chunk *chunks;
	struct inlines inlines;
	struct sym_frame *tmp; /* the frames of the answer being built */
	size_t tmp_cap;
};

struct symbolizer *symbolizer_new(struct addrspace *as)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s) {
		cp_error("out of memory");
		return NULL;
	}
	s->as = as;
	hmap_init(&s->index);
	intern_init(&s->strs);
	inlines_init(&s->inlines);
	s->dwfl = dwfl_begin(&debuginfo_callbacks);
	if (!s->dwfl) {
		cp_error("cannot start libdwfl: %s", dwfl_errmsg(-1));
		free(s);
		return NULL;
	}
	return s;
}

void symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return;
	dwfl_end(s->dwfl);
	for (size_t i = 0; i < s->nmods; i++) {
		if (s->mods[i]) {
			debuginfo_release(&s->mods[i]->di);
			symtab_release(&s->mods[i]->symtab);
		}
		free(s->mods[i]);
	}
	free(s->mods);
	while (s->chunks) {
		struct symbolize_chunk *c = s->chunks;
		s->chunks = c->next;
		free(c);
	}
	intern_release(&s->strs);
	free(s->entries);
	hmap_release(&s->index);
	inlines_release(&s->inlines);
	free(s->tmp);
	free(s);
}

/* The run-time range dwfl must be told so that it derives BIAS back: it takes
 * the first PT_LOAD's aligned p_vaddr as the module's start. */
static int symbolize_elf_range(Elf *elf, uint64_t bias, uint64_t *lo, uint64_t *hi)
{
	bool first = true;
	size_t n;

	if (!elf || elf_getphdrnum(elf, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (first) {
			*lo = *hi = bias + (ph.p_vaddr & -ph.p_align);
			first = false;
		}
		if (bias + ph.p_vaddr + ph.p_memsz > *hi)
			*hi = bias + ph.p_vaddr + ph.p_memsz;
	}
	return first ? -1 : 0;
}

static Dwfl_Module *symbolize_report(struct symbolizer *s, struct symmod *sm,
				     const struct as_map *m, uint64_t lo, uint64_t hi)
{
	char name[64];
	Dwfl_Module *dm;
	void **ud;

	/* dwfl hands back a module reported before under the same name and range;
	 * that is only right when it is the same file. */
	dwfl_report_begin_add(s->dwfl);
	dm = dwfl_report_module(s->dwfl, m->path, lo, hi);
	if (dm && dwfl_module_info(dm, &ud, NULL, NULL, NULL, NULL, NULL, NULL) && *ud &&
	    ((struct debuginfo *)*ud)->mod != sm->di.mod) {
		snprintf(name, sizeof(name), "[mapping %u]", m->id);
		dm = dwfl_report_module(s->dwfl, name, lo, hi);
	}
	if (dm) {
		dwfl_module_info(dm, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
		if (!*ud)
			*ud = &sm->di;
	}
	dwfl_report_end(s->dwfl, NULL, NULL);
	return dm;
}

/* The symmod of mapping M, its module reported to dwfl on first use (dm NULL
 * when it has none). NULL with an error when out of memory. */
static struct symmod *symbolize_module(struct symbolizer *s, const struct as_map *m)
{
	struct symmod *sm;
	uint64_t lo, hi;

	if (m->id > s->nmods) {
		if (CP_GROW(s->mods, s->mods_cap, m->id) < 0)
			return NULL;
		memset(s->mods + s->nmods, 0, (m->id - s->nmods) * sizeof(*s->mods));
		s->nmods = m->id;
	}
	sm = s->mods[m->id - 1];
	if (sm)
		return sm;
	sm = calloc(1, sizeof(*sm));
	if (!sm) {
		cp_error("out of memory");
		return NULL;
	}
	s->mods[m->id - 1] = sm;
	debuginfo_init(&sm->di, m->mod);
	symtab_init(&sm->symtab);
	if (m->mod && symbolize_elf_range(module_elf(m->mod), m->bias, &lo, &hi) == 0)
		sm->dm = symbolize_report(s, sm, m, lo, hi);
	return sm;
}

/* The first LEN bytes of STR as a string owned by S, one copy per distinct
 * string, into *OUT. */
static int symbolize_intern_n(struct symbolizer *s, const char *str, size_t len,
			      const char **out)
{
	const char *copy = intern_str(&s->strs, str, len);

	if (!copy)
		return -1;
	*out = copy;
	return 0;
}

static int symbolize_intern(struct symbolizer *s, const char **str)
{
	return *str ? symbolize_intern_n(s, *str, strlen(*str), str) : 0;
}

static int symbolize_push(struct symbolizer *s, size_t *n, const char *name, const char *file,
			  int line, int start_line)
{
	if (CP_GROW(s->tmp, s->tmp_cap, *n + 1) < 0)
		return -1;
	s->tmp[*n] = (struct sym_frame){ name, name, file, line, start_line };
	(*n)++;
	return 0;
}

/* *NAME demangled and interned when it is mangled (C++, Rust in both schemes,
 * the legacy one without its "::h" hash, as rustfilt and perf show it); left
 * as it is otherwise. -1 when out of memory. */
static int symbolize_demangle(struct symbolizer *s, const char **name)
{
	char *d;
	int rc;

	if (!*name || (strncmp(*name, "_Z", 2) != 0 && strncmp(*name, "_R", 2) != 0))
		return 0;
	/* cplus_demangle would try both, but it brings libiberty's xmalloc, which
	 * exits when out of memory (and clashes with cmd/'s). */
	d = rust_demangle(*name, DMGL_PARAMS | DMGL_ANSI);
	if (!d)
		d = cplus_demangle_v3(*name, DMGL_PARAMS | DMGL_ANSI);
	if (!d)
		return 0;
	rc = symbolize_intern_n(s, d, strlen(d), name);
	free(d);
	return rc;
}

/* The frames of ADDR in DM into s->tmp, innermost first: the functions of its
 * scope chain, each on the line of its own code (the line table's for the
 * innermost, the call site of the inlined instance it holds for the others).
 * The outermost takes the symbol table's name when there is one. */
static int symbolize_resolve(struct symbolizer *s, struct symmod *sm, Dwarf_Addr addr, size_t *n)
{
	const char *sym, *name, *file = NULL;
	Dwfl_Module *dm = sm->dm;
	Dwarf_Files *files = NULL;
	Dwarf_Die *cudie, *scopes = NULL;
	Dwarf_Addr bias;
	Dwfl_Line *ln;
	int line = 0, nscopes = 0;
	bool outer = false; /* the chain reached the function that holds the code */

	*n = 0;
	if (!sm->indexed) {
		sm->indexed = true;
		if (symtab_build(&sm->symtab, dm) < 0)
			return -1;
	}
	sym = symtab_lookup(&sm->symtab, addr);
	/* Debian's separate debug files name versioned symbols "memcpy@GLIBC_2.2.5". */
	if (sym && symbolize_intern_n(s, sym, strcspn(sym, "@"), &sym) < 0)
		return -1;
	ln = dwfl_module_getsrc(dm, addr);
	if (ln)
		file = dwfl_lineinfo(ln, NULL, &line, NULL, NULL, NULL);
	cudie = dwfl_module_addrdie(dm, addr, &bias);
	if (cudie)
		nscopes = inlines_scopes(&s->inlines, cudie, addr - bias, &scopes);
	if (nscopes < 0)
		return -1;
	for (int i = 0; i < nscopes; i++) {
		Dwarf_Die *d = &scopes[i];
		int tag = dwarf_tag(d), decl = 0;

		if (!inlines_is_function(tag))
			continue;
		dwarf_decl_line(d, &decl);
		if (symbolize_push(s, n, inlines_name(d), file, line, decl) < 0)
			return -1;
		if (tag != DW_TAG_inlined_subroutine) {
			outer = true;
			break;
		}
		name = symtab_public_name(&sm->symtab, s->tmp[*n - 1].name);
		if (name != s->tmp[*n - 1].name &&
		    symbolize_intern_n(s, name, strcspn(name, "@"), &s->tmp[*n - 1].name) < 0)
			return -1;
		inlines_call_site(d, cudie, &files, &file, &line);
	}
	if (outer) {
		if (sym)
			s->tmp[*n - 1].name = sym;
	} else if (sym && symbolize_push(s, n, sym, file, line, 0) < 0) {
		return -1;
	}
	if (*n && !s->tmp[*n - 1].name)
		*n = 0;
	return 0;
}

struct symbolize_key {
	struct symbolizer *s;
	uint64_t pc;
	unsigned id;
	bool caller;
};

static int symbolize_entry_eq(void *ctx, uint32_t idx)
{
	const struct symbolize_key *k = ctx;
	const struct symbolize_entry *e = &k->s->entries[idx];

	return e->pc == k->pc && e->id == k->id && e->caller == k->caller;
}

static struct sym_frame *symbolize_chunk_alloc(struct symbolizer *s, size_t n)
{
	struct symbolize_chunk *c = s->chunks;

	if (!c || c->cap - c->used < n) {
		size_t cap = n > 1024 ? n : 1024;
		c = malloc(sizeof(*c) + cap * sizeof(c->f[0]));
		if (!c) {
			cp_error("out of memory");
			return NULL;
		}
		c->next = s->chunks;
		c->used = 0;
		c->cap = cap;
		s->chunks = c;
	}
	c->used += n;
	return c->f + c->used - n;
}

int symbolizer_lookup(struct symbolizer *s, uint64_t pc, bool caller,
		      const struct sym_frame **frames)
{
	uint64_t addr = caller && pc ? pc - 1 : pc;
	const struct as_map *m = addrspace_find(s->as, addr);
	struct symbolize_key k = { s, pc, 0, caller };
	struct sym_frame *f = NULL;
	struct symmod *sm;
	struct symbolize_entry *e;
	uint64_t h, kb[2];
	int64_t i;
	size_t n = 0;

	*frames = NULL;
	if (!m)
		return 0;
	k.id = m->id;
	kb[0] = pc;
	kb[1] = (uint64_t)m->id << 1 | caller;
	h = hash_bytes(HASH_SEED, kb, sizeof(kb));
	i = hmap_find(&s->index, h, symbolize_entry_eq, &k);
	if (i >= 0) {
		*frames = s->entries[i].frames;
		return s->entries[i].n;
	}

	sm = symbolize_module(s, m);
	if (!sm || (sm->dm && symbolize_resolve(s, sm, addr, &n) < 0))
		return -1;
	if (n) {
		f = symbolize_chunk_alloc(s, n);
		if (!f)
			return -1;
		for (size_t j = 0; j < n; j++) {
			f[j] = s->tmp[j];
			if (symbolize_intern(s, &f[j].name) < 0 || symbolize_intern(s, &f[j].file) < 0)
				return -1;
			f[j].system_name = f[j].name;
			if (symbolize_demangle(s, &f[j].name) < 0)
				return -1;
		}
	}
	if (CP_GROW(s->entries, s->entries_cap, s->nentries + 1) < 0 ||
	    hmap_insert(&s->index, h, s->nentries) < 0)
		return -1;
	e = &s->entries[s->nentries++];
	*e = (struct symbolize_entry){ pc, m->id, caller, n, f };
	*frames = f;
	return n;
}
