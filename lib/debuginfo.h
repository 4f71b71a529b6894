/* Finding the ELF file and the debug information of a module for libdwfl:
 * the file itself when its path still holds it, else a copy of the module's
 * bytes ([vdso], deleted files); its debug file by build id, its compressed
 * sections inflated ahead of libdw (debuginfo_inflate.h) and kept inflated
 * (debuginfo_cache.h); else libdwfl's own search (build id, .gnu_debuglink
 * under :.debug:/usr/lib/debug) and its .gnu_debugaltlink (dwz) file. */
#ifndef CPROF_DEBUGINFO_H
#define CPROF_DEBUGINFO_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>

#include "module.h"

/* What the callbacks know of one reported module: the Dwfl_Module's
 * userdata, which must point to it. */
struct debuginfo {
	struct module *mod;
	void *image;      /* our copy of an in-memory ELF handed to dwfl */
	int inflated_fd;  /* the memfd under the Elf handed to dwfl, or -1 */
	bool debug_asked; /* dwfl asked for its debug file: a later ask is for the dwz file */
};

/* The callbacks for dwfl_begin. */
extern const Dwfl_Callbacks debuginfo_callbacks;

void debuginfo_init(struct debuginfo *di, struct module *mod);
/* Release what the callbacks made for DI, after dwfl_end. */
void debuginfo_release(struct debuginfo *di);

#endif
