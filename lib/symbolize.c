/* Program counters to functions, files, lines and inlined frames with libdwfl;
 * see symbolize.h. Each mapping of the address space is reported to one Dwfl
 * the first time a PC falls in it, and every answer is cached per (mapping,
 * PC, caller), with its strings interned, so a warm lookup is one hash probe. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <libiberty/demangle.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debugcache.h"
#include "error.h"
#include "grow.h"
#include "hmap.h"
#include "inflate.h"
#include "intern.h"
#include "symbolize.h"

/* A function symbol; names point into dwfl's symbol tables. */
struct fsym {
	uint64_t start, end;
	const char *name;
	int rank, ndx; /* preference among aliases; symbol table index */
	bool sized;
};

/* One mapping as reported to dwfl; the Dwfl_Module's userdata for find_elf. */
struct symmod {
	struct module *mod;
	Dwfl_Module *dm; /* NULL when the mapping has no usable module */
	void *image;     /* our copy of an in-memory ELF handed to dwfl */
	int inflated_fd; /* the memfd under the Elf handed to dwfl, or -1 */
	bool debug_asked; /* dwfl asked for its debug file: a later ask is for the dwz file */
	/* dwfl_module_addrinfo scans the whole symbol table on every call
	 * (10,000 symbols for libc), so lookups go through our sorted copy. */
	struct fsym *syms;
	size_t nsyms;
	bool indexed;
	/* The other names at the start of a symbol in syms, by name, so that an
	 * inlined function named by one of them (__GI___libc_read) is named as
	 * its out-of-line copy is (read). */
	struct fsym *aliases;
	size_t naliases;
	struct hmap alias_index;
};

struct entry {
	uint64_t pc;
	unsigned id; /* mapping id */
	bool caller;
	int n;
	const struct sym_frame *frames;
};

/* One address range of a function with code, in DWARF addresses. */
struct cufn {
	Dwarf_Addr lo, hi;
	Dwarf_Die die;
};

/* The functions of one CU by address, made the first time a PC falls in it,
 * since dwarf_getscopes walks the whole CU for every address. */
struct cuindex {
	const void *cu; /* the CU DIE's place in .debug_info, as a key */
	struct cufn *fns;
	size_t n;
};

/* Frames live in chunks that never move, so answers stay put as the cache grows. */
struct chunk {
	struct chunk *next;
	size_t used, cap;
	struct sym_frame f[];
};

struct symbolizer {
	struct addrspace *as;
	Dwfl *dwfl;
	struct symmod **mods; /* by mapping id - 1; NULL until first seen */
	size_t nmods, mods_cap;
	struct entry *entries;
	size_t nentries, entries_cap;
	struct hmap index;
	struct intern strs; /* names and files of the answers */
	struct chunk *chunks;
	struct cuindex *cus;
	size_t ncus, cus_cap;
	struct hmap cuindex;
	struct sym_frame *tmp; /* the frames of the answer being built */
	size_t tmp_cap;
	Dwarf_Die *scopes;     /* the scopes holding its PC, innermost first */
	size_t scopes_cap;
};

static char *debuginfo_path; /* NULL: dwfl's default ":.debug:/usr/lib/debug" */

/* Whether ELF is the file of MOD: the same build id, when MOD has one. The
 * path may name another file by now (replaced, or in another mount namespace). */
static bool same_file(Elf *elf, const struct module *mod)
{
	const char *want = module_build_id(mod);

	return !*want || elf_has_build_id(elf, want);
}

/* In place of *ELFP, the file of SM, a copy with its compressed sections
 * inflated (see inflate.h). libdwfl keeps the file's own descriptor, since it
 * skips debug files that are the main file itself by comparing it to them. */
static void inflate_main(struct symmod *sm, Elf **elfp)
{
	int cfd = inflate_elf(*elfp);
	Elf *copy = cfd >= 0 ? elf_begin(cfd, ELF_C_READ_MMAP_PRIVATE, NULL) : NULL;

	if (!copy) {
		if (cfd >= 0)
			close(cfd);
		return;
	}
	elf_end(*elfp);
	*elfp = copy;
	sm->inflated_fd = cfd;
}

#define BUILD_ID_DIR "/usr/lib/debug/.build-id"

/* The debug file of SM in BUILD_ID_DIR, where libdwfl looks first, inflated
 * (from the cache, or into it); -1 when there is none or it has nothing to
 * inflate: then libdwfl looks as always, and loads what it finds itself. */
static int find_by_build_id(struct symmod *sm, char **name)
{
	const char *id = module_build_id(sm->mod);
	char path[sizeof(BUILD_ID_DIR) + 2 * 64 + sizeof("//.debug")];
	int fd, cfd = -1;
	Elf *elf;

	if (strlen(id) < 4)
		return -1;
	snprintf(path, sizeof(path), "%s/%.2s/%s.debug", BUILD_ID_DIR, id, id + 2);
	cfd = debugcache_open(id);
	if (cfd < 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		elf = elf_begin(fd, ELF_C_READ_MMAP_PRIVATE, NULL);
		if (elf && elf_has_build_id(elf, id))
			cfd = inflate_elf(elf);
		elf_end(elf);
		close(fd);
		if (cfd >= 0)
			debugcache_store(id, cfd);
	}
	/* Named as the file it copies, which relative .gnu_debugaltlink paths
	 * start from. */
	if (cfd >= 0 && !(*name = strdup(path))) {
		close(cfd);
		cfd = -1;
	}
	return cfd;
}

/* libdwfl's own search, but for debug files with compressed sections, which
 * it would inflate with zlib: libdwfl takes the file it finds by build id as
 * it opened it itself, whatever this returns. It asks again, through this
 * same callback, for the .gnu_debugaltlink (dwz) file of the debug file. */
static int find_debuginfo(Dwfl_Module *dm, void **userdata, const char *modname, GElf_Addr base,
			  const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	struct symmod *sm = *userdata;
	int fd = -1;

	if (sm && !sm->debug_asked) {
		sm->debug_asked = true;
		fd = find_by_build_id(sm, debuginfo_file_name);
	}
	if (fd >= 0)
		return fd;
	return dwfl_standard_find_debuginfo(dm, userdata, modname, base, file_name,
					    debuglink_file, debuglink_crc, debuginfo_file_name);
}

static int find_elf(Dwfl_Module *dm, void **userdata, const char *name, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	struct symmod *sm = *userdata;
	const char *path = module_path(sm->mod);
	Elf *elf, *src;
	char *raw;
	size_t size;
	int fd;

	if (path[0] == '/') {
		/* For .gnu_debuglink, searched next to the file. */
		*file_name = strdup(path);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			elf = elf_begin(fd, ELF_C_READ_MMAP_PRIVATE, NULL);
			if (elf && elf_kind(elf) == ELF_K_ELF && same_file(elf, sm->mod)) {
				*elfp = elf;
				inflate_main(sm, elfp);
				return fd;
			}
			elf_end(elf);
			close(fd);
		}
	}
	/* No file to open ([vdso], a deleted file): a copy of the module's bytes,
	 * because libelf may write into an elf_memory image (when decompressing
	 * sections) and the module's are mapped read-only. */
	src = module_elf(sm->mod);
	raw = src ? elf_rawfile(src, &size) : NULL;
	if (!raw || !size || !(sm->image = malloc(size))) {
		free(*file_name); /* or dwfl opens it after all */
		*file_name = NULL;
		return -1;
	}
	memcpy(sm->image, raw, size);
	*elfp = elf_memory(sm->image, size);
	return -1;
}

static const Dwfl_Callbacks callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
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
	hmap_init(&s->cuindex);
	s->dwfl = dwfl_begin(&callbacks);
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
			if (s->mods[i]->inflated_fd >= 0)
				close(s->mods[i]->inflated_fd);
			free(s->mods[i]->image);
			free(s->mods[i]->syms);
			free(s->mods[i]->aliases);
			hmap_release(&s->mods[i]->alias_index);
		}
		free(s->mods[i]);
	}
	free(s->mods);
	while (s->chunks) {
		struct chunk *c = s->chunks;
		s->chunks = c->next;
		free(c);
	}
	intern_release(&s->strs);
	free(s->entries);
	hmap_release(&s->index);
	for (size_t i = 0; i < s->ncus; i++)
		free(s->cus[i].fns);
	free(s->cus);
	hmap_release(&s->cuindex);
	free(s->tmp);
	free(s->scopes);
	free(s);
}

/* The run-time range dwfl must be told so that it derives BIAS back: it takes
 * the first PT_LOAD's aligned p_vaddr as the module's start. */
static int elf_range(Elf *elf, uint64_t bias, uint64_t *lo, uint64_t *hi)
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

static Dwfl_Module *report(struct symbolizer *s, struct symmod *sm, const struct as_map *m,
			   uint64_t lo, uint64_t hi)
{
	char name[64];
	Dwfl_Module *dm;
	void **ud;

	/* dwfl hands back a module reported before under the same name and range;
	 * that is only right when it is the same file. */
	dwfl_report_begin_add(s->dwfl);
	dm = dwfl_report_module(s->dwfl, m->path, lo, hi);
	if (dm && dwfl_module_info(dm, &ud, NULL, NULL, NULL, NULL, NULL, NULL) && *ud &&
	    ((struct symmod *)*ud)->mod != sm->mod) {
		snprintf(name, sizeof(name), "[mapping %u]", m->id);
		dm = dwfl_report_module(s->dwfl, name, lo, hi);
	}
	if (dm) {
		dwfl_module_info(dm, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
		if (!*ud)
			*ud = sm;
	}
	dwfl_report_end(s->dwfl, NULL, NULL);
	return dm;
}

/* The symmod of mapping M, its module reported to dwfl on first use (dm NULL
 * when it has none). NULL with an error when out of memory. */
static struct symmod *module_of(struct symbolizer *s, const struct as_map *m)
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
	sm->mod = m->mod;
	sm->inflated_fd = -1;
	hmap_init(&sm->alias_index);
	if (m->mod && elf_range(module_elf(m->mod), m->bias, &lo, &hi) == 0)
		sm->dm = report(s, sm, m, lo, hi);
	return sm;
}

/* Global names before weak before local ones; 0 for a local one. */
static int bind_rank(const GElf_Sym *sym)
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
static int fsym_cmp(const void *a, const void *b)
{
	const struct fsym *x = a, *y = b;
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
static uint64_t section_end(Elf *elf, GElf_Word shndx, Dwarf_Addr bias)
{
	GElf_Shdr sh;
	Elf_Scn *scn = elf ? elf_getscn(elf, shndx) : NULL;

	return scn && gelf_getshdr(scn, &sh) ? bias + sh.sh_addr + sh.sh_size : 0;
}

/* The hash of NAME without "@VERSION". */
static uint64_t symbolize_name_hash(const char *name)
{
	return hash_bytes(HASH_SEED, name, strcspn(name, "@"));
}

/* Keep F, an alias of a symbol kept in SM's syms, in SM's aliases. */
static int symbolize_add_alias(struct symmod *sm, size_t *cap, const struct fsym *f)
{
	if (CP_GROW(sm->aliases, *cap, sm->naliases + 1) < 0)
		return -1;
	if (hmap_insert(&sm->alias_index, symbolize_name_hash(f->name), sm->naliases) < 0)
		return cp_error("out of memory");
	sm->aliases[sm->naliases++] = *f;
	return 0;
}

/* Sort the symbols of SM's module, choosing as dwfl_module_addrinfo does: one
 * name per address, and a symbol without a size (an assembly label) only
 * outside sized ones, reaching to the next symbol or the end of its section. */
static int index_symbols(struct symmod *sm)
{
	int nsym = dwfl_module_getsymtab(sm->dm);
	size_t cap = 0, n = 0, out = 0, acap = 0;
	uint64_t reach = 0; /* the end of the sized symbols so far */

	sm->indexed = true;
	for (int i = 1; i < nsym; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		Dwarf_Addr bias;
		Elf *elf;
		const char *name = dwfl_module_getsym_info(sm->dm, i, &sym, &addr, &shndx, &elf,
							    &bias);
		int type = GELF_ST_TYPE(sym.st_info);
		struct fsym *f;

		if (!name || !*name || shndx == SHN_UNDEF || shndx == SHN_ABS ||
		    shndx == (GElf_Word)-1 || type == STT_SECTION || type == STT_FILE ||
		    type == STT_TLS)
			continue;
		if (CP_GROW(sm->syms, cap, n + 1) < 0)
			return -1;
		f = &sm->syms[n++];
		f->start = addr;
		f->sized = sym.st_size != 0;
		f->end = f->sized ? addr + sym.st_size : section_end(elf, shndx, bias);
		f->name = name;
		f->rank = bind_rank(&sym);
		f->ndx = i;
	}
	if (n)
		qsort(sm->syms, n, sizeof(*sm->syms), fsym_cmp);
	for (size_t i = 0; i < n; i++) {
		struct fsym f = sm->syms[i];
		struct fsym *prev = out ? &sm->syms[out - 1] : NULL;

		if (prev && prev->start == f.start && prev->sized && f.sized &&
		    symbolize_add_alias(sm, &acap, &f) < 0)
			return -1;
		if ((prev && prev->start == f.start) || (!f.sized && f.start < reach))
			continue;
		if (f.sized && f.end > reach)
			reach = f.end;
		if (prev && !prev->sized && prev->end > f.start)
			prev->end = f.start;
		sm->syms[out++] = f;
	}
	sm->nsyms = out;
	return 0;
}

/* The name of the symbol holding ADDR: the closest one that starts at or
 * before it and reaches past it (symbols can nest, as entry points of
 * hand-written assembly do). */
static const char *symbol_at(const struct symmod *sm, uint64_t addr)
{
	size_t lo = 0, hi = sm->nsyms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sm->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo, k = 0; i-- > 0 && k < 8; k++)
		if (addr < sm->syms[i].end)
			return sm->syms[i].name;
	return NULL;
}

struct alias_key {
	const struct symmod *sm;
	const char *name;
	size_t len;
};

static int symbolize_alias_eq(void *ctx, uint32_t idx)
{
	const struct alias_key *k = ctx;
	const char *have = k->sm->aliases[idx].name;

	return strncmp(have, k->name, k->len) == 0 && (have[k->len] == '\0' || have[k->len] == '@');
}

/* The name of the symbol that NAME is an alias of in SM, or NAME. */
static const char *symbolize_public_name(const struct symmod *sm, const char *name)
{
	struct alias_key k = { sm, name, name ? strcspn(name, "@") : 0 };
	const char *public;
	int64_t i;

	if (!name || !sm->naliases)
		return name;
	i = hmap_find(&sm->alias_index, symbolize_name_hash(name), symbolize_alias_eq, &k);
	public = i < 0 ? NULL : symbol_at(sm, sm->aliases[i].start);
	return public ? public : name;
}

/* The first LEN bytes of STR as a string owned by S, one copy per distinct
 * string, into *OUT. */
static int symbolize_intern_n(struct symbolizer *s, const char *str, size_t len, const char **out)
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

static int push(struct symbolizer *s, size_t *n, const char *name, const char *file, int line,
		int start_line)
{
	if (CP_GROW(s->tmp, s->tmp_cap, *n + 1) < 0)
		return -1;
	s->tmp[*n] = (struct sym_frame){ name, name, file, line, start_line };
	(*n)++;
	return 0;
}

/* The linkage name first: a C++ function's DW_AT_name lacks its class and
 * namespace ("push_back"). */
static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));

	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &a));
	return name;
}

/* *NAME demangled and interned when it is mangled (C++, Rust in both schemes,
 * the legacy one without its "::h" hash, as rustfilt and perf show it); left
 * as it is otherwise. -1 when out of memory. */
static int demangle(struct symbolizer *s, const char **name)
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

static int is_function(int tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
	       tag == DW_TAG_entry_point;
}

struct fn_collect {
	struct cuindex *ci;
	size_t cap;
	int err;
};

static int collect_fn(Dwarf_Die *die, void *arg)
{
	struct fn_collect *c = arg;
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;

	/* Declarations and abstract instances have no ranges. */
	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
		if (CP_GROW(c->ci->fns, c->cap, c->ci->n + 1) < 0) {
			c->err = -1;
			return DWARF_CB_ABORT;
		}
		c->ci->fns[c->ci->n++] = (struct cufn){ lo, hi, *die };
	}
	return DWARF_CB_OK;
}

static int cufn_cmp(const void *a, const void *b)
{
	const struct cufn *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cu_eq(void *ctx, uint32_t idx)
{
	struct symbolizer *s = ((void **)ctx)[0];

	return s->cus[idx].cu == ((void **)ctx)[1];
}

/* The function of CU that has code at ADDR into *FN: 1, or 0 when none
 * (GNU C nested functions are not indexed), or -1 when out of memory. */
static int cu_function(struct symbolizer *s, Dwarf_Die *cu, Dwarf_Addr addr, Dwarf_Die *fn)
{
	void *ctx[2] = { s, cu->addr };
	uint64_t h = hash_bytes(HASH_SEED, &cu->addr, sizeof(cu->addr));
	int64_t i = hmap_find(&s->cuindex, h, cu_eq, ctx);
	struct cuindex *ci;
	size_t lo = 0, hi;

	if (i < 0) {
		struct fn_collect c = { NULL, 0, 0 };

		if (CP_GROW(s->cus, s->cus_cap, s->ncus + 1) < 0 ||
		    hmap_insert(&s->cuindex, h, s->ncus) < 0)
			return -1;
		i = s->ncus++;
		c.ci = &s->cus[i];
		*c.ci = (struct cuindex){ cu->addr, NULL, 0 };
		dwarf_getfuncs(cu, collect_fn, &c, 0);
		if (c.err)
			return -1;
		if (c.ci->n)
			qsort(c.ci->fns, c.ci->n, sizeof(*c.ci->fns), cufn_cmp);
	}
	ci = &s->cus[i];
	hi = ci->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ci->fns[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < ci->fns[lo - 1].hi) {
		*fn = ci->fns[lo - 1].die;
		return 1;
	}
	return 0;
}

static int holds_code(int tag)
{
	return tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block ||
	       tag == DW_TAG_subprogram || tag == DW_TAG_entry_point ||
	       tag == DW_TAG_try_block || tag == DW_TAG_catch_block ||
	       tag == DW_TAG_with_stmt;
}

/* The scopes holding ADDR into s->scopes, innermost first: from the CU's
 * function index down through FN's children, else (no function found) from
 * dwarf_getscopes, which stops at the innermost inlined instance and goes on
 * with the scopes of its abstract origin, so the callers come from
 * dwarf_getscopes_die. Returns the count, or -1 when out of memory. */
static int scope_chain(struct symbolizer *s, Dwarf_Die *cu, Dwarf_Addr addr)
{
	Dwarf_Die *found = NULL, *chain = NULL, die, child;
	int n = 0, rc = cu_function(s, cu, addr, &die);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		n = dwarf_getscopes(cu, addr, &found);
		if (n > 0)
			n = dwarf_getscopes_die(&found[0], &chain);
		free(found);
		if (n > 0 && CP_GROW(s->scopes, s->scopes_cap, n) < 0) {
			free(chain);
			return -1;
		}
		if (n > 0)
			memcpy(s->scopes, chain, n * sizeof(*chain));
		free(chain);
		return n > 0 ? n : 0;
	}
	for (;;) {
		if (CP_GROW(s->scopes, s->scopes_cap, n + 1) < 0)
			return -1;
		s->scopes[n++] = die;
		if (dwarf_child(&die, &child) != 0)
			break;
		while (!holds_code(dwarf_tag(&child)) || dwarf_haspc(&child, addr) <= 0)
			if (dwarf_siblingof(&child, &child) != 0)
				goto done;
		die = child;
	}
done:
	for (int i = 0; i < n / 2; i++) {
		Dwarf_Die t = s->scopes[i];

		s->scopes[i] = s->scopes[n - 1 - i];
		s->scopes[n - 1 - i] = t;
	}
	return n;
}

/* The call site of inlined instance D: the line the next function out is on. */
static void call_site(Dwarf_Die *d, Dwarf_Die *cudie, Dwarf_Files **files, const char **file,
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

/* The frames of ADDR in DM into s->tmp, innermost first: the functions of its
 * scope chain, each on the line of its own code (the line table's for the
 * innermost, the call site of the inlined instance it holds for the others).
 * The outermost takes the symbol table's name when there is one. */
static int resolve(struct symbolizer *s, struct symmod *sm, Dwarf_Addr addr, size_t *n)
{
	const char *sym, *name, *file = NULL;
	Dwfl_Module *dm = sm->dm;
	Dwarf_Files *files = NULL;
	Dwarf_Die *cudie;
	Dwarf_Addr bias;
	Dwfl_Line *ln;
	int line = 0, nscopes = 0;
	bool outer = false; /* the chain reached the function that holds the code */

	*n = 0;
	if (!sm->indexed && index_symbols(sm) < 0)
		return -1;
	sym = symbol_at(sm, addr);
	/* Debian's separate debug files name versioned symbols "memcpy@GLIBC_2.2.5". */
	if (sym && symbolize_intern_n(s, sym, strcspn(sym, "@"), &sym) < 0)
		return -1;
	ln = dwfl_module_getsrc(dm, addr);
	if (ln)
		file = dwfl_lineinfo(ln, NULL, &line, NULL, NULL, NULL);
	cudie = dwfl_module_addrdie(dm, addr, &bias);
	if (cudie)
		nscopes = scope_chain(s, cudie, addr - bias);
	if (nscopes < 0)
		return -1;
	for (int i = 0; i < nscopes; i++) {
		Dwarf_Die *d = &s->scopes[i];
		int tag = dwarf_tag(d), decl = 0;

		if (!is_function(tag))
			continue;
		dwarf_decl_line(d, &decl);
		if (push(s, n, die_name(d), file, line, decl) < 0)
			return -1;
		if (tag != DW_TAG_inlined_subroutine) {
			outer = true;
			break;
		}
		name = symbolize_public_name(sm, s->tmp[*n - 1].name);
		if (name != s->tmp[*n - 1].name &&
		    symbolize_intern_n(s, name, strcspn(name, "@"), &s->tmp[*n - 1].name) < 0)
			return -1;
		call_site(d, cudie, &files, &file, &line);
	}
	if (outer) {
		if (sym)
			s->tmp[*n - 1].name = sym;
	} else if (sym && push(s, n, sym, file, line, 0) < 0) {
		return -1;
	}
	if (*n && !s->tmp[*n - 1].name)
		*n = 0;
	return 0;
}

struct key {
	struct symbolizer *s;
	uint64_t pc;
	unsigned id;
	bool caller;
};

static int entry_eq(void *ctx, uint32_t idx)
{
	const struct key *k = ctx;
	const struct entry *e = &k->s->entries[idx];

	return e->pc == k->pc && e->id == k->id && e->caller == k->caller;
}

static struct sym_frame *chunk_alloc(struct symbolizer *s, size_t n)
{
	struct chunk *c = s->chunks;

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
	struct key k = { s, pc, 0, caller };
	struct sym_frame *f = NULL;
	struct symmod *sm;
	struct entry *e;
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
	i = hmap_find(&s->index, h, entry_eq, &k);
	if (i >= 0) {
		*frames = s->entries[i].frames;
		return s->entries[i].n;
	}

	sm = module_of(s, m);
	if (!sm || (sm->dm && resolve(s, sm, addr, &n) < 0))
		return -1;
	if (n) {
		f = chunk_alloc(s, n);
		if (!f)
			return -1;
		for (size_t j = 0; j < n; j++) {
			f[j] = s->tmp[j];
			if (symbolize_intern(s, &f[j].name) < 0 || symbolize_intern(s, &f[j].file) < 0)
				return -1;
			f[j].system_name = f[j].name;
			if (demangle(s, &f[j].name) < 0)
				return -1;
		}
	}
	if (CP_GROW(s->entries, s->entries_cap, s->nentries + 1) < 0 ||
	    hmap_insert(&s->index, h, s->nentries) < 0)
		return -1;
	e = &s->entries[s->nentries++];
	*e = (struct entry){ pc, m->id, caller, n, f };
	*frames = f;
	return n;
}
