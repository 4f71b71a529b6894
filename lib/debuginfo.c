/* Module files and their debug files for libdwfl; see debuginfo.h. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debuginfo.h"
#include "debuginfo_cache.h"
#include "debuginfo_inflate.h"

static char *debuginfo_path; /* NULL: dwfl's default ":.debug:/usr/lib/debug" */

/* Whether ELF is the file of MOD: the same build id, when MOD has one. The
 * path may name another file by now (replaced, or in another mount namespace). */
static bool debuginfo_same_file(Elf *elf, const struct module *mod)
{
	const char *want = module_build_id(mod);

	return !*want || elf_has_build_id(elf, want);
}

/* In place of *ELFP, the file of DI, a copy with its compressed sections
 * inflated (see debuginfo_inflate.h). libdwfl keeps the file's own
 * descriptor, since it skips debug files that are the main file itself by
 * comparing it to them. */
static void debuginfo_inflate_main(struct debuginfo *di, Elf **elfp)
{
	int cfd = debuginfo_inflate(*elfp);
	Elf *copy = cfd >= 0 ? elf_begin(cfd, ELF_C_READ_MMAP_PRIVATE, NULL) : NULL;

	if (!copy) {
		if (cfd >= 0)
			close(cfd);
		return;
	}
	elf_end(*elfp);
	*elfp = copy;
	di->inflated_fd = cfd;
}

#define BUILD_ID_DIR "/usr/lib/debug/.build-id"

/* The debug file of DI in BUILD_ID_DIR, where libdwfl looks first, inflated
 * (from the cache, or into it); -1 when there is none or it has nothing to
 * inflate: then libdwfl looks as always, and loads what it finds itself. */
static int debuginfo_by_build_id(struct debuginfo *di, char **name)
{
	const char *id = module_build_id(di->mod);
	char path[sizeof(BUILD_ID_DIR) + BUILD_ID_HEX_SIZE + sizeof("//.debug")];
	int fd, cfd = -1;
	Elf *elf;

	if (strlen(id) < 4)
		return -1;
	snprintf(path, sizeof(path), "%s/%.2s/%s.debug", BUILD_ID_DIR, id, id + 2);
	cfd = debuginfo_cache_open(id);
	if (cfd < 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		elf = elf_begin(fd, ELF_C_READ_MMAP_PRIVATE, NULL);
		if (elf && elf_has_build_id(elf, id))
			cfd = debuginfo_inflate(elf);
		elf_end(elf);
		close(fd);
		if (cfd >= 0)
			debuginfo_cache_store(id, cfd);
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
static int debuginfo_find_debuginfo(Dwfl_Module *dm, void **userdata, const char *modname,
				    GElf_Addr base, const char *file_name,
				    const char *debuglink_file, GElf_Word debuglink_crc,
				    char **debuginfo_file_name)
{
	struct debuginfo *di = *userdata;
	int fd = -1;

	if (di && !di->debug_asked) {
		di->debug_asked = true;
		fd = debuginfo_by_build_id(di, debuginfo_file_name);
	}
	if (fd >= 0)
		return fd;
	return dwfl_standard_find_debuginfo(dm, userdata, modname, base, file_name,
					    debuglink_file, debuglink_crc, debuginfo_file_name);
}

static int debuginfo_find_elf(Dwfl_Module *dm, void **userdata, const char *name,
			      Dwarf_Addr base, char **file_name, Elf **elfp)
{
	struct debuginfo *di = *userdata;
	const char *path = module_path(di->mod);
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
			if (elf && elf_kind(elf) == ELF_K_ELF && debuginfo_same_file(elf, di->mod)) {
				*elfp = elf;
				debuginfo_inflate_main(di, elfp);
				return fd;
			}
			elf_end(elf);
			close(fd);
		}
	}
	/* No file to open ([vdso], a deleted file): a copy of the module's bytes,
	 * because libelf may write into an elf_memory image (when decompressing
	 * sections) and the module's are mapped read-only. */
	src = module_elf(di->mod);
	raw = src ? elf_rawfile(src, &size) : NULL;
	if (!raw || !size || !(di->image = malloc(size))) {
		free(*file_name); /* or dwfl opens it after all */
		*file_name = NULL;
		return -1;
	}
	memcpy(di->image, raw, size);
	*elfp = elf_memory(di->image, size);
	return -1;
}

const Dwfl_Callbacks debuginfo_callbacks = {
	.find_elf = debuginfo_find_elf,
	.find_debuginfo = debuginfo_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

void debuginfo_init(struct debuginfo *di, struct module *mod)
{
	*di = (struct debuginfo){ .mod = mod, .inflated_fd = -1 };
}

void debuginfo_release(struct debuginfo *di)
{
	if (di->inflated_fd >= 0)
		close(di->inflated_fd);
	free(di->image);
	di->inflated_fd = -1;
	di->image = NULL;
}
