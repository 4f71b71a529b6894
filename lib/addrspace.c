/* A target's address space from /proc/PID/maps: its executable mappings with
 * stable ids, the module (module.h) behind each and the load bias of every
 * mapping, so that code and unwind tables can be read from the files instead
 * of from the process. */
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addrspace.h"
#include "errmsg.h"
#include "grow.h"
#include "hmap.h"

/* A mapping of the current maps that the address space serves: every
 * executable one, and every other one of a file a module was opened for
 * (unwind tables live in read-only, non-executable segments). */
struct as_region {
	uint64_t start, end, offset;
	struct module *mod;         /* NULL when there is no readable file */
	int64_t map;                /* index in maps when executable, else -1 */
};

/* Of a mapping's key, what as_map does not keep. */
struct as_map_ident {
	uint64_t inode;
	unsigned dev_major, dev_minor;
};

struct addrspace {
	pid_t pid;
	uint64_t page;
	struct module **mods;
	size_t nmods, mods_cap;
	struct hmap mod_index;
	struct as_map *maps;        /* every executable mapping ever seen, id - 1 */
	struct as_map_ident *idents; /* beside maps, the rest of each one's key */
	size_t nmaps, maps_cap, idents_cap;
	struct hmap map_index;
	struct as_region *regions;  /* the current ones, sorted by start */
	size_t nregions;
};

static bool addrspace_has_module(const struct proc_map *pm)
{
	return (pm->inode && pm->path[0] == '/') || strcmp(pm->path, "[vdso]") == 0;
}

static uint64_t addrspace_mod_hash(const char *path, unsigned major, unsigned minor,
				   uint64_t inode)
{
	uint64_t h = hash_bytes(HASH_SEED, path, strlen(path));

	h = hash_bytes(h, &major, sizeof(major));
	h = hash_bytes(h, &minor, sizeof(minor));
	return hash_bytes(h, &inode, sizeof(inode));
}

struct as_key {
	struct addrspace *as;
	const struct proc_map *pm;
};

static int addrspace_mod_eq(void *ctx, uint32_t idx)
{
	struct as_key *k = ctx;

	return module_is(k->as->mods[idx], k->pm);
}

/* The module of PM's file, opened now when OPEN is set and it is new (one
 * that cannot be read is kept too, so it is tried once). Returns NULL only
 * when out of memory, or when new and not OPEN. */
static struct module *addrspace_module(struct addrspace *as, const struct proc_map *pm,
				       bool open)
{
	struct as_key k = { as, pm };
	uint64_t h = addrspace_mod_hash(pm->path, pm->dev_major, pm->dev_minor, pm->inode);
	int64_t i = hmap_find(&as->mod_index, h, addrspace_mod_eq, &k);
	struct module *mod;

	if (i >= 0)
		return as->mods[i];
	if (!open)
		return NULL;
	mod = module_open(as->pid, pm);
	if (!mod)
		return NULL;
	if (CP_GROW(as->mods, as->mods_cap, as->nmods + 1) < 0 ||
	    hmap_insert(&as->mod_index, h, as->nmods) < 0) {
		module_free(mod);
		return NULL;
	}
	as->mods[as->nmods++] = mod;
	return mod;
}

/* The load bias of mapping PM of MOD, from the PT_LOAD the mapping's file
 * offset falls in. The kernel maps a segment from its offset rounded down to a
 * page, so a page can start one segment and end the one before: the segment
 * starting latest wins. */
static int addrspace_bias(const struct addrspace *as, const struct module *mod,
			  const struct proc_map *pm, uint64_t *bias)
{
	const struct module_segment *best = NULL, *segs;
	size_t n;

	segs = module_segments(mod, &n);
	for (size_t i = 0; i < n; i++) {
		const struct module_segment *s = &segs[i];
		uint64_t lo = s->offset & ~(as->page - 1);

		if (s->filesz && pm->offset >= lo && pm->offset < s->offset + s->filesz &&
		    (!best || s->offset > best->offset))
			best = s;
	}
	if (!best)
		return -1;
	*bias = pm->start - (best->vaddr + (pm->offset - best->offset));
	return 0;
}

static uint64_t addrspace_map_hash(const struct proc_map *pm)
{
	uint64_t h = hash_bytes(HASH_SEED, &pm->start, sizeof(pm->start));

	h = hash_bytes(h, &pm->end, sizeof(pm->end));
	h = hash_bytes(h, &pm->offset, sizeof(pm->offset));
	return hash_bytes(h, pm->path, strlen(pm->path)) ^
	       addrspace_mod_hash("", pm->dev_major, pm->dev_minor, pm->inode);
}

static int addrspace_map_eq(void *ctx, uint32_t idx)
{
	struct as_key *k = ctx;
	const struct as_map *m = &k->as->maps[idx];
	const struct as_map_ident *id = &k->as->idents[idx];

	return m->start == k->pm->start && m->end == k->pm->end &&
	       m->offset == k->pm->offset && id->inode == k->pm->inode &&
	       id->dev_major == k->pm->dev_major && id->dev_minor == k->pm->dev_minor &&
	       strcmp(m->path, k->pm->path) == 0;
}

/* The index of executable mapping PM in as->maps, added if new. */
static int64_t addrspace_map(struct addrspace *as, const struct proc_map *pm,
			     struct module *mod, uint64_t bias)
{
	struct as_key k = { as, pm };
	uint64_t h = addrspace_map_hash(pm);
	int64_t i = hmap_find(&as->map_index, h, addrspace_map_eq, &k);
	struct as_map *m;
	char *path;

	if (i >= 0)
		return i;
	if (CP_GROW(as->maps, as->maps_cap, as->nmaps + 1) < 0 ||
	    CP_GROW(as->idents, as->idents_cap, as->nmaps + 1) < 0)
		return -1;
	path = strdup(pm->path);
	if (!path)
		return cp_error("out of memory");
	if (hmap_insert(&as->map_index, h, as->nmaps) < 0) {
		free(path);
		return -1;
	}
	m = &as->maps[as->nmaps];
	m->start = pm->start;
	m->end = pm->end;
	m->offset = pm->offset;
	m->bias = bias;
	m->mod = mod;
	m->path = path;
	m->id = as->nmaps + 1;
	as->idents[as->nmaps].inode = pm->inode;
	as->idents[as->nmaps].dev_major = pm->dev_major;
	as->idents[as->nmaps].dev_minor = pm->dev_minor;
	return as->nmaps++;
}

/* Make the regions those of PM (released here). */
static int addrspace_refresh_from(struct addrspace *as, struct proc_maps pm)
{
	struct as_region *regions = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < pm.n; i++) {
		const struct proc_map *m = &pm.maps[i];

		if (m->x && addrspace_has_module(m) && !addrspace_module(as, m, true))
			goto fail;
	}
	for (size_t i = 0; i < pm.n; i++) {
		const struct proc_map *m = &pm.maps[i];
		struct module *mod = NULL;
		struct as_region *r;
		uint64_t bias = 0;

		if (addrspace_has_module(m))
			mod = addrspace_module(as, m, false);
		if (mod && !module_ok(mod))
			mod = NULL;
		if (!m->x && !mod)
			continue;
		if (CP_GROW(regions, cap, n + 1) < 0)
			goto fail;
		r = &regions[n++];
		r->start = m->start;
		r->end = m->end;
		r->offset = m->offset;
		r->mod = mod;
		r->map = -1;
		if (m->x) {
			/* A file mapped executable at an offset no PT_LOAD covers is
			 * no loaded module: keep the bytes, not the module. */
			struct module *amod = mod && addrspace_bias(as, mod, m, &bias) == 0 ? mod : NULL;

			r->map = addrspace_map(as, m, amod, bias);
			if (r->map < 0)
				goto fail;
		}
	}
	proc_maps_release(&pm);
	free(as->regions);
	as->regions = regions;
	as->nregions = n;
	return 0;
fail:
	free(regions);
	proc_maps_release(&pm);
	return -1;
}

int addrspace_refresh(struct addrspace *as)
{
	struct proc_maps pm;

	if (!as->pid)
		return 0;
	if (proc_maps_read(&pm, as->pid) < 0)
		return -1;
	return addrspace_refresh_from(as, pm);
}

static struct addrspace *addrspace_alloc(pid_t pid)
{
	struct addrspace *as;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		cp_error("libelf: %s", elf_errmsg(-1));
		return NULL;
	}
	as = calloc(1, sizeof(*as));
	if (!as) {
		cp_error("out of memory");
		return NULL;
	}
	as->pid = pid;
	as->page = sysconf(_SC_PAGESIZE);
	hmap_init(&as->mod_index);
	hmap_init(&as->map_index);
	return as;
}

struct addrspace *addrspace_new(pid_t pid)
{
	struct addrspace *as = addrspace_alloc(pid);

	if (as && addrspace_refresh(as) < 0) {
		addrspace_free(as);
		return NULL;
	}
	return as;
}

struct addrspace *addrspace_new_maps(const char *text, size_t len)
{
	struct addrspace *as = addrspace_alloc(0);
	struct proc_maps pm;

	if (!as)
		return NULL;
	if (proc_maps_parse(&pm, text, len) < 0 || addrspace_refresh_from(as, pm) < 0) {
		addrspace_free(as);
		return NULL;
	}
	return as;
}

void addrspace_free(struct addrspace *as)
{
	if (!as)
		return;
	for (size_t i = 0; i < as->nmods; i++)
		module_free(as->mods[i]);
	free(as->mods);
	hmap_release(&as->mod_index);
	for (size_t i = 0; i < as->nmaps; i++)
		free((char *)as->maps[i].path);
	free(as->maps);
	free(as->idents);
	hmap_release(&as->map_index);
	free(as->regions);
	free(as);
}

static const struct as_region *addrspace_region(const struct addrspace *as, uint64_t addr)
{
	size_t lo = 0, hi = as->nregions;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct as_region *r = &as->regions[mid];

		if (addr < r->start)
			hi = mid;
		else if (addr >= r->end)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

const struct as_map *addrspace_find(const struct addrspace *as, uint64_t addr)
{
	const struct as_region *r = addrspace_region(as, addr);

	return r && r->map >= 0 ? &as->maps[r->map] : NULL;
}

const struct as_map *addrspace_maps(const struct addrspace *as, size_t *n)
{
	*n = as->nmaps;
	return as->maps;
}

pid_t addrspace_pid(const struct addrspace *as)
{
	return as->pid;
}

int addrspace_read(const struct addrspace *as, uint64_t addr, void *buf, size_t n)
{
	const struct as_region *r = addrspace_region(as, addr);

	/* The mapping shows the file from its offset on; reads may run past its
	 * end as long as the file goes on (libunwind reads whole aligned words). */
	if (!r || !r->mod)
		return -1;
	return module_read(r->mod, r->offset + (addr - r->start), buf, n);
}
