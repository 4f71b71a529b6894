/* A module: an ELF file of a target's as the unwinder and the symbolizer read
 * it, opened once per (path, device, inode) and mapped read-only, with its
 * PT_LOAD segments, .eh_frame_hdr and GNU build id (perf's dso). [vdso] is
 * served from cprof's own copy, which the kernel maps identically into every
 * process. The mappings of the file are the address space's (addrspace.h). */
#ifndef CPROF_MODULE_H
#define CPROF_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc.h"

struct module;
struct Elf;

/* A PT_LOAD segment, its file size clipped to the file. */
struct module_segment {
	uint64_t vaddr, memsz, offset, filesz;
};

/* The module of the file mapped by PM of process PID ([vdso]: cprof's own).
 * The file is opened by its path if that is still the mapped file (same
 * inode), else through /proc/PID/map_files (deleted files, other mount
 * namespaces; PID 0: by path only). A file that cannot be read still gets a
 * module, one that is not module_ok, so it is tried once. NULL with an error
 * only when out of memory. */
struct module *module_open(pid_t pid, const struct proc_map *pm);
void module_free(struct module *mod);

/* Whether the file could be read as an ELF file with loadable segments. */
bool module_ok(const struct module *mod);

/* Whether MOD is the file that PM maps (same path, device and inode). */
bool module_is(const struct module *mod, const struct proc_map *pm);

/* The PT_LOAD segments, in program header order. */
const struct module_segment *module_segments(const struct module *mod, size_t *n);

/* Copy N bytes at file offset OFF; -1 past the end of the file. */
int module_read(const struct module *mod, uint64_t off, void *buf, size_t n);

const char *module_path(const struct module *mod);
const char *module_build_id(const struct module *mod); /* lowercase hex, "" if none */
/* Link-time address and size of .eh_frame_hdr; -1 if the module has none. */
int module_eh_frame_hdr(const struct module *mod, uint64_t *vaddr, uint64_t *size);
/* The link-time address of the function or variable NAME the module exports (its
 * dynamic symbol table's definition, of several versions the default one).
 * Returns 0, or -1 (no error set) when it exports none. */
int module_symbol(const struct module *mod, const char *name, uint64_t *vaddr);

/* The ELF handle (libelf) of the module, for the symbolizer. */
struct Elf *module_elf(const struct module *mod);

/* The most of a build id kept: 64 bytes, as hex and a NUL. */
#define BUILD_ID_HEX_SIZE (2 * 64 + 1)

/* ELF's GNU build id in lowercase hex into HEX (at most its first 64 bytes),
 * "" when it has none. */
void elf_build_id(struct Elf *elf, char hex[BUILD_ID_HEX_SIZE]);
/* Whether ELF's build id is HEX (as elf_build_id spells it). */
bool elf_has_build_id(struct Elf *elf, const char *hex);

#endif
