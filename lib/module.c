/* ELF files of a target's, opened once and read with libelf; see module.h. */
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"
#include "grow.h"
#include "module.h"

struct module {
	char *path;
	unsigned dev_major, dev_minor;
	uint64_t inode;
	bool ok;                    /* an ELF file we could read */
	bool mapped;                /* data came from mmap (else malloc) */
	unsigned char *data;
	size_t size;
	Elf *elf;
	struct module_segment *segs;
	size_t nsegs;
	bool has_eh_frame_hdr;
	uint64_t eh_vaddr, eh_size;
	char build_id[BUILD_ID_HEX_SIZE];
};

void elf_build_id(Elf *elf, char hex[BUILD_ID_HEX_SIZE])
{
	const unsigned char *bits;
	ssize_t n = dwelf_elf_gnu_build_id(elf, (const void **)&bits);

	hex[0] = '\0';
	for (ssize_t i = 0; i < n && i < 64; i++)
		snprintf(hex + 2 * i, 3, "%02x", bits[i]);
}

bool elf_has_build_id(Elf *elf, const char *hex)
{
	char have[BUILD_ID_HEX_SIZE];

	elf_build_id(elf, have);
	return have[0] && strcmp(have, hex) == 0;
}

/* The PT_LOAD segments, .eh_frame_hdr and build id of the ELF image in DATA. */
static int module_load_elf(struct module *mod)
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
			struct module_segment *s;

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
		}
	}
	if (!mod->nsegs)
		return cp_error("%s: no loadable segments", mod->path);
	elf_build_id(mod->elf, mod->build_id);
	return 0;
}

/* Open the file of PM: by its path, unless that is gone or is another file
 * now, else through /proc/PID/map_files, which reaches deleted files and
 * files of other mount namespaces. */
static int module_open_file(pid_t pid, const struct proc_map *pm, struct stat *st)
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

static int module_load_file(struct module *mod, pid_t pid, const struct proc_map *pm)
{
	struct stat st;
	void *p;
	int fd;

	fd = module_open_file(pid, pm, &st);
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
	return module_load_elf(mod);
}

/* The kernel maps the same vdso image into every process of a kind, so
 * cprof's own copy stands for the target's (64-bit targets only). */
static int module_load_vdso(struct module *mod, const struct proc_map *pm)
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
	return module_load_elf(mod);
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
	mod->build_id[0] = '\0';
	mod->ok = false;
}

struct module *module_open(pid_t pid, const struct proc_map *pm)
{
	struct module *mod = calloc(1, sizeof(*mod));

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
	if ((strcmp(pm->path, "[vdso]") == 0 ? module_load_vdso(mod, pm) :
					       module_load_file(mod, pid, pm)) == 0)
		mod->ok = true;
	else
		module_unload(mod);
	return mod;
}

void module_free(struct module *mod)
{
	if (!mod)
		return;
	module_unload(mod);
	free(mod->path);
	free(mod);
}

bool module_ok(const struct module *mod)
{
	return mod->ok;
}

bool module_is(const struct module *mod, const struct proc_map *pm)
{
	return mod->inode == pm->inode && mod->dev_major == pm->dev_major &&
	       mod->dev_minor == pm->dev_minor && strcmp(mod->path, pm->path) == 0;
}

const struct module_segment *module_segments(const struct module *mod, size_t *n)
{
	*n = mod->nsegs;
	return mod->segs;
}

int module_read(const struct module *mod, uint64_t off, void *buf, size_t n)
{
	if (off > mod->size || n > mod->size - off)
		return -1;
	memcpy(buf, mod->data + off, n);
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

int module_symbol(const struct module *mod, const char *name, uint64_t *vaddr)
{
	Elf_Scn *scn = NULL;
	Elf_Data *syms = NULL, *versym = NULL;
	size_t strndx = 0, n = 0;
	bool found = false;

	if (!mod->elf)
		return -1;
	while ((scn = elf_nextscn(mod->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			return -1;
		if (sh.sh_type == SHT_DYNSYM && sh.sh_entsize) {
			syms = elf_getdata(scn, NULL);
			strndx = sh.sh_link;
			n = sh.sh_size / sh.sh_entsize;
		} else if (sh.sh_type == SHT_GNU_versym) {
			versym = elf_getdata(scn, NULL);
		}
	}
	for (size_t i = 1; syms && i < n; i++) {
		GElf_Sym sym;
		GElf_Versym ver = 0;
		const char *s;

		if (!gelf_getsym(syms, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
		    (GELF_ST_TYPE(sym.st_info) != STT_FUNC && GELF_ST_TYPE(sym.st_info) != STT_OBJECT) ||
		    !(s = elf_strptr(mod->elf, strndx, sym.st_name)) || strcmp(s, name))
			continue;
		if (versym)
			gelf_getversym(versym, (int)i, &ver);
		/* A hidden version is an old one kept for old binaries. */
		if (!found || !(ver & 0x8000)) {
			*vaddr = sym.st_value;
			found = true;
		}
		if (!(ver & 0x8000))
			break;
	}
	return found ? 0 : -1;
}
