/* A target's address space as the unwinder and the symbolizer see it: its
 * executable mappings (perf's maps), each file-backed one tied to a module (an
 * ELF file opened once: module.h), with the load bias that turns the file's
 * link-time addresses into the process's run-time ones. Anonymous executable
 * mappings (JIT code, [vsyscall]) are listed too, without a module. */
#ifndef CPROF_ADDRSPACE_H
#define CPROF_ADDRSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "module.h"
#include "proc.h"

struct as_map {
	uint64_t start, end, offset; /* as in /proc/PID/maps */
	uint64_t bias;               /* run-time address = link-time address + bias */
	struct module *mod;          /* NULL: anonymous, or the file could not be read */
	const char *path;            /* as in /proc/PID/maps, " (deleted)" and all */
	unsigned id;                 /* dense, from 1: the pprof mapping id */
};

struct addrspace;

/* The address space of PID, read from /proc/PID/maps. NULL with an error.
 * A file is opened by its path if that is still the mapped file (same inode),
 * else through /proc/PID/map_files (deleted files, other mount namespaces).
 * Modules and the path strings of as_maps live until addrspace_free. */
struct addrspace *addrspace_new(pid_t pid);
void addrspace_free(struct addrspace *as);

/* An address space described by TEXT in /proc/PID/maps form, of no process
 * (files are opened by path and must match the inode given; refreshing does
 * nothing): for tests and fuzzing of the ELF and unwind-table readers. */
struct addrspace *addrspace_new_maps(const char *text, size_t len);

/* Re-read the maps (after a miss, a dlopen, an exec). Modules already open are
 * kept; mapping ids of mappings seen before (same start, end, offset, path,
 * device and inode) are kept. as_map pointers from before are invalid after
 * it (the array may move). Returns 0 or -1. */
int addrspace_refresh(struct addrspace *as);

/* The executable mapping holding ADDR, or NULL. */
const struct as_map *addrspace_find(const struct addrspace *as, uint64_t addr);

/* Every executable mapping ever seen, in id order (id i at index i - 1). */
const struct as_map *addrspace_maps(const struct addrspace *as, size_t *n);

/* The process whose address space it is; 0 for one made from text. */
pid_t addrspace_pid(const struct addrspace *as);

/* Read N bytes of file-backed memory at run-time address ADDR from the module
 * files (not from the process): from any mapping of a module's file, executable
 * or not, at the mapping's file offset. Returns 0, or -1 when ADDR is in no
 * module or past the file's data; on the unwinder's hot path, so a miss sets no
 * error message. */
int addrspace_read(const struct addrspace *as, uint64_t addr, void *buf, size_t n);

#endif
