/* A target's address space from /proc/PID/maps: its executable mappings with
 * stable ids, the ELF file behind each (opened once, mapped read-only, read
 * with libelf) and the load bias of every mapping, so that code and unwind
 * tables can be read from the files instead of from the process. */
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addrspace.h"
#include "error.h"
#include "grow.h"
#include "hmap.h"

struct segment {
	uint64_t vaddr, memsz, offset, filesz;
};

struct module {
	char *path;
	unsigned dev_major, dev_minor;
	uint64_t inode;
	bool ok;                    /* an ELF file we could read */
	bool mapped;                /* data came from mmap (else malloc) */
	unsigned char *data;
	size_t size;
	Elf *elf;
	struct segment *segs;       /* PT_LOAD, in program header order */
	size_t nsegs;
	bool has_eh_frame_hdr;
	uint64_t eh_vaddr, eh_size;
	char build_id[2 * 64 + 1];
};

/* A mapping of the current maps that the address space serves: every
 * executable one, and every other one of a file a module was opened for
 * (unwind tables live in read-only, non-executable segments). */
struct region {
	uint64_t start, end, offset;
	struct module *mod;         /* NULL when there is no readable file */
	int64_t map;                /* index in maps when executable, else -1 */
};

struct map_ident {
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
	struct map_ident *idents;   /* beside maps, the rest of each one's key */
	size_t nmaps, maps_cap, idents_cap;
	struct hmap map_index;
	struct region *regions;     /* the current ones, sorted by start */
	size_t nregions;
};

static bool is_vdso(const struct proc_map *pm)
{
	return strcmp(pm->path, "[vdso]") == 0;
}

static bool is_file(const struct proc_map *pm)
{
	return pm->inode && pm->path[0] == '/';
}

/* Look for the GNU build id among the notes at OFF (LEN bytes) of the file. */
static int note_build_id(struct module *mod, uint64_t off, uint64_t len, uint64_t align)
{
	const unsigned char *p = mod->data + off;

	while (len >= 12) {
		uint32_t namesz, descsz, type;
		uint64_t name_len, desc_len;

		memcpy(&namesz, p, 4);
		memcpy(&descsz, p + 4, 4);
		memcpy(&type, p + 8, 4);
		name_len = ((uint64_t)namesz + align - 1) & ~(align - 1);
		desc_len = ((uint64_t)descsz + align - 1) & ~(align - 1);
		if (name_len > len - 12 || desc_len > len - 12 - name_len)
			break;
		if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(p + 12, "GNU", 4) == 0 &&
		    descsz > 0) {
			const unsigned char *d = p + 12 + name_len;
			size_t n = descsz < 64 ? descsz : 64;

			for (size_t i = 0; i < n; i++)
				snprintf(mod->build_id + 2 * i, 3, "%02x", d[i]);
			return 1;
		}
		p += 12 + name_len + desc_len;
		len -= 12 + name_len + desc_len;
	}
	return 0;
}

/* The PT_LOAD segments, .eh_frame_hdr and build id of the ELF image in DATA. */
static int elf_load(struct module *mod)
{
	size_t cap = 0, nph;

	mod->elf = elf_memory((char *)mod->data, mod->size);
	if (!mod->elf || elf_kind(mod->elf) != ELF_K_ELF)
		return cp_error("%s: not an ELF file", mod->path);
	if (gelf_getclass(mod->elf) != ELFCLASS64)
		return cp_error("%s: not a 64-bit ELF file", mod->path);
	if (elf_getphdrnum(mod->elf, &nph) < 0)
		return cp_error("%s: %s", mod->path, elf_errmsg(-1));
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(mod->elf, i, &ph))
			return cp_error("%s: %s", mod->path, elf_errmsg(-1));
		if (ph.p_type == PT_LOAD) {
			struct segment *s;

			if (ph.p_offset > mod->size)
				continue;
			if (CP_GROW(mod->segs, cap, mod->nsegs + 1) < 0)
				return -1;
			s = &mod->segs[mod->nsegs++];
			s->vaddr = ph.p_vaddr;
			s->memsz = ph.p_memsz;
			s->offset = ph.p_offset;
			s->filesz = ph.p_filesz < mod->size - ph.p_offset ?
					    ph.p_filesz : mod->size - ph.p_offset;
		} else if (ph.p_type == PT_GNU_EH_FRAME) {
			mod->has_eh_frame_hdr = true;
			mod->eh_vaddr = ph.p_vaddr;
			mod->eh_size = ph.p_memsz;
		} else if (ph.p_type == PT_NOTE && !mod->build_id[0] && ph.p_offset <= mod->size &&
			   ph.p_filesz <= mod->size - ph.p_offset) {
			note_build_id(mod, ph.p_offset, ph.p_filesz, ph.p_align == 8 ? 8 : 4);
		}
	}
	if (!mod->nsegs)
		return cp_error("%s: no loadable segments", mod->path);
	return 0;
}

/* Open the file of PM: by its path, unless that is gone or is another file
 * now, else through /proc/PID/map_files, which reaches deleted files and
 * files of other mount namespaces. */
static int file_open(pid_t pid, const struct proc_map *pm, struct stat *st)
{
	char alt[96];
	int fd;

	/* stat first: opening a device file can have side effects. */
	if (stat(pm->path, st) == 0 && S_ISREG(st->st_mode) && st->st_ino == pm->inode) {
		fd = open(pm->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd >= 0 && fstat(fd, st) == 0 && st->st_ino == pm->inode)
			return fd;
		if (fd >= 0)
			close(fd);
	}
	snprintf(alt, sizeof(alt), "/proc/%d/map_files/%llx-%llx", (int)pid,
		 (unsigned long long)pm->start, (unsigned long long)pm->end);
	if (stat(alt, st) < 0)
		return cp_error("cannot open %s: %s", pm->path, strerror(errno));
	if (!S_ISREG(st->st_mode))
		return cp_error("cannot open %s: not a regular file", pm->path);
	fd = open(alt, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return cp_error("cannot open %s (as %s): %s", pm->path, alt, strerror(errno));
	if (fstat(fd, st) < 0) {
		close(fd);
		return cp_error("cannot stat %s: %s", pm->path, strerror(errno));
	}
	return fd;
}

static int file_load(struct module *mod, pid_t pid, const struct proc_map *pm)
{
	struct stat st;
	void *p;
	int fd;

	fd = file_open(pid, pm, &st);
	if (fd < 0)
		return -1;
	if (st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		close(fd);
		return cp_error("%s: not an ELF file", mod->path);
	}
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return cp_error("cannot map %s: %s", mod->path, strerror(errno));
	mod->data = p;
	mod->size = st.st_size;
	mod->mapped = true;
	return elf_load(mod);
}

/* The kernel maps the same vdso image into every process of a kind, so
 * cprof's own copy stands for the target's (64-bit targets only). */
static int vdso_load(struct module *mod, const struct proc_map *pm)
{
	const unsigned char *base = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	uint64_t size = 0, maplen = pm->end - pm->start;

	if (!base)
		return cp_error("[vdso]: cprof has no vdso of its own to read");
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64)
		return cp_error("[vdso]: not a 64-bit ELF image");
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff) + i;

		if (ph->p_type == PT_LOAD && ph->p_offset + ph->p_filesz > size)
			size = ph->p_offset + ph->p_filesz;
	}
	if (eh->e_shoff + (uint64_t)eh->e_shnum * eh->e_shentsize > size)
		size = eh->e_shoff + (uint64_t)eh->e_shnum * eh->e_shentsize;
	if (size > maplen)
		size = maplen;
	if (size < sizeof(*eh))
		return cp_error("[vdso]: bad image size");
	mod->data = malloc(size);
	if (!mod->data)
		return cp_error("out of memory");
	memcpy(mod->data, base, size);
	mod->size = size;
	return elf_load(mod);
}

static uint64_t mod_hash(const char *path, unsigned major, unsigned minor, uint64_t inode)
{
	uint64_t h = hash_bytes(HASH_SEED, path, strlen(path));

	h = hash_bytes(h, &major, sizeof(major));
	h = hash_bytes(h, &minor, sizeof(minor));
	return hash_bytes(h, &inode, sizeof(inode));
}

struct mod_key {
	struct addrspace *as;
	const struct proc_map *pm;
};

static int mod_eq(void *ctx, uint32_t idx)
{
	struct mod_key *k = ctx;
	const struct module *m = k->as->mods[idx];

	return m->inode == k->pm->inode && m->dev_major == k->pm->dev_major &&
	       m->dev_minor == k->pm->dev_minor && strcmp(m->path, k->pm->path) == 0;
}

static void module_unload(struct module *mod)
{
	if (mod->elf)
		elf_end(mod->elf);
	if (mod->mapped)
		munmap(mod->data, mod->size);
	else
		free(mod->data);
	free(mod->segs);
	mod->elf = NULL;
	mod->data = NULL;
	mod->segs = NULL;
	mod->nsegs = 0;
	mod->ok = false;
}

static void module_free(struct module *mod)
{
	if (!mod)
		return;
	module_unload(mod);
	free(mod->path);
	free(mod);
}

/* The module of PM's file, opened now when OPEN is set and it is new. A file
 * that cannot be read still gets a module (not ok), so it is tried once.
 * Returns NULL only when out of memory, or when new and not OPEN. */
static struct module *module_get(struct addrspace *as, const struct proc_map *pm, bool open)
{
	struct mod_key k = { as, pm };
	uint64_t h = mod_hash(pm->path, pm->dev_major, pm->dev_minor, pm->inode);
	int64_t i = hmap_find(&as->mod_index, h, mod_eq, &k);
	struct module *mod;

	if (i >= 0)
		return as->mods[i];
	if (!open)
		return NULL;
	mod = calloc(1, sizeof(*mod));
	if (!mod || !(mod->path = strdup(pm->path))) {
		free(mod);
		cp_error("out of memory");
		return NULL;
	}
	mod->dev_major = pm->dev_major;
	mod->dev_minor = pm->dev_minor;
	mod->inode = pm->inode;
	/* An unreadable file is no error for the address space as a whole: its
	 * frames just go without unwind info and symbols. */
	if ((is_vdso(pm) ? vdso_load(mod, pm) : file_load(mod, as->pid, pm)) == 0)
		mod->ok = true;
	else
		module_unload(mod);
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
static int map_bias(const struct addrspace *as, const struct module *mod,
		    const struct proc_map *pm, uint64_t *bias)
{
	const struct segment *best = NULL;

	for (size_t i = 0; i < mod->nsegs; i++) {
		const struct segment *s = &mod->segs[i];
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

static uint64_t map_hash(const struct proc_map *pm)
{
	uint64_t h = hash_bytes(HASH_SEED, &pm->start, sizeof(pm->start));

	h = hash_bytes(h, &pm->end, sizeof(pm->end));
	h = hash_bytes(h, &pm->offset, sizeof(pm->offset));
	return hash_bytes(h, pm->path, strlen(pm->path)) ^
	       mod_hash("", pm->dev_major, pm->dev_minor, pm->inode);
}

static int map_eq(void *ctx, uint32_t idx)
{
	struct mod_key *k = ctx;
	const struct as_map *m = &k->as->maps[idx];
	const struct map_ident *id = &k->as->idents[idx];

	return m->start == k->pm->start && m->end == k->pm->end &&
	       m->offset == k->pm->offset && id->inode == k->pm->inode &&
	       id->dev_major == k->pm->dev_major && id->dev_minor == k->pm->dev_minor &&
	       strcmp(m->path, k->pm->path) == 0;
}

/* The index of executable mapping PM in as->maps, added if new. */
static int64_t map_get(struct addrspace *as, const struct proc_map *pm, struct module *mod,
		       uint64_t bias)
{
	struct mod_key k = { as, pm };
	uint64_t h = map_hash(pm);
	int64_t i = hmap_find(&as->map_index, h, map_eq, &k);
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
static int refresh_from(struct addrspace *as, struct proc_maps pm)
{
	struct region *regions = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < pm.n; i++) {
		const struct proc_map *m = &pm.maps[i];

		if (m->x && (is_file(m) || is_vdso(m)) && !module_get(as, m, true))
			goto fail;
	}
	for (size_t i = 0; i < pm.n; i++) {
		const struct proc_map *m = &pm.maps[i];
		struct module *mod = NULL;
		struct region *r;
		uint64_t bias = 0;

		if (is_file(m) || is_vdso(m))
			mod = module_get(as, m, false);
		if (mod && !mod->ok)
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
			struct module *amod = mod && map_bias(as, mod, m, &bias) == 0 ? mod : NULL;

			r->map = map_get(as, m, amod, bias);
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
	return refresh_from(as, pm);
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
	if (proc_maps_parse(&pm, text, len) < 0 || refresh_from(as, pm) < 0) {
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

static const struct region *region_find(const struct addrspace *as, uint64_t addr)
{
	size_t lo = 0, hi = as->nregions;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct region *r = &as->regions[mid];

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
	const struct region *r = region_find(as, addr);

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
	const struct region *r = region_find(as, addr);
	uint64_t off;

	/* The mapping shows the file from its offset on; reads may run past its
	 * end as long as the file goes on (libunwind reads whole aligned words). */
	if (!r || !r->mod)
		return -1;
	off = r->offset + (addr - r->start);
	if (off > r->mod->size || n > r->mod->size - off)
		return -1;
	memcpy(buf, r->mod->data + off, n);
	return 0;
}

const char *module_path(const struct module *mod)
{
	return mod->path;
}

const char *module_build_id(const struct module *mod)
{
	return mod->build_id;
}

bool elf_has_build_id(Elf *elf, const char *hex)
{
	const unsigned char *bits;
	ssize_t n = dwelf_elf_gnu_build_id(elf, (const void **)&bits);
	char two[3];

	if (n <= 0 || strlen(hex) != 2 * (size_t)(n < 64 ? n : 64))
		return false;
	for (size_t i = 0; hex[2 * i]; i++) {
		snprintf(two, sizeof(two), "%02x", bits[i]);
		if (memcmp(two, hex + 2 * i, 2) != 0)
			return false;
	}
	return true;
}

int module_eh_frame_hdr(const struct module *mod, uint64_t *vaddr, uint64_t *size)
{
	if (!mod->has_eh_frame_hdr)
		return -1;
	*vaddr = mod->eh_vaddr;
	*size = mod->eh_size;
	return 0;
}

struct Elf *module_elf(const struct module *mod)
{
	return mod->elf;
}
